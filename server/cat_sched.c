/*
 * cat_sched.c - schedules, their node associations and their events
 * (TSM: DEFINE SCHEDULE, DEFINE ASSOCIATION, QUERY EVENT).
 *
 * The catalog stores what was defined and what happened; which windows
 * exist and what a window without an event means is sched.c's arithmetic.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define SCHED_COLS "domain, name, type, action, objects, options, cmd," \
	" first_start, duration_s, period_s, dayofweek, active, description," \
	" owner, updated"
#define EVENT_COLS "domain, schedule, node, window_start, actual_start," \
	" completed, status, rc, message"

#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

/*
 * A name normalized, or "": administrative schedules have no domain, and
 * their events no node.
 */
static int
norm_or_empty(const char *what, const char *in, char out[CAT_NAME_MAX + 1],
    struct err *e)
{
	if (in == NULL || in[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	return cat_norm(what, in, out, e);
}

#define norm_domain(in, out, e)	norm_or_empty("domain", (in), (out), (e))
#define norm_node(in, out, e)	norm_or_empty("node", (in), (out), (e))

static int
check_sched(const struct cat_sched *s, char dom[CAT_NAME_MAX + 1],
    char name[CAT_NAME_MAX + 1], struct err *e)
{
	int r;

	if ((r = norm_domain(s->domain, dom, e)) != 0 ||
	    (r = cat_norm("schedule", s->name, name, e)) != 0)
		return r;
	if (!TERMINATED(s->action) || !TERMINATED(s->objects) ||
	    !TERMINATED(s->options) || !TERMINATED(s->cmd) ||
	    !TERMINATED(s->description) || !TERMINATED(s->owner))
		return err_set(e, COFFER_EINVAL, "schedule %s: a text field "
		    "is not terminated", name);
	if (s->type != CAT_SCHED_CLIENT && s->type != CAT_SCHED_ADMIN)
		return err_set(e, COFFER_EINVAL, "schedule %s: type %d is "
		    "neither client nor administrative", name, s->type);
	if ((s->type == CAT_SCHED_ADMIN) != (dom[0] == '\0'))
		return err_set(e, COFFER_EINVAL, "schedule %s: client "
		    "schedules belong to a domain, administrative ones to "
		    "none", name);
	if (s->duration_s <= 0 || s->period_s < 0)
		return err_set(e, COFFER_EINVAL, "schedule %s: duration must "
		    "be positive and period not negative", name);
	return 0;
}

/* Bind ?3.. ?15 (everything after domain and name). */
static void
bind_sched(sqlite3_stmt *st, const struct cat_sched *s)
{
	sqlite3_bind_int(st, 3, s->type);
	sqlite3_bind_text(st, 4, s->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->objects, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, s->options, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, s->cmd, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, s->first_start);
	sqlite3_bind_int64(st, 9, s->duration_s);
	sqlite3_bind_int64(st, 10, s->period_s);
	sqlite3_bind_int(st, 11, (int)s->dayofweek);
	sqlite3_bind_int(st, 12, s->active ? 1 : 0);
	sqlite3_bind_text(st, 13, s->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, s->owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 15, s->updated != 0 ? s->updated :
	    (int64_t)time(NULL));
}

static void
sched_from_row(sqlite3_stmt *st, struct cat_sched *s)
{
	memset(s, 0, sizeof(*s));
	cat_col_text(st, 0, s->domain, sizeof(s->domain));
	cat_col_text(st, 1, s->name, sizeof(s->name));
	s->type = sqlite3_column_int(st, 2);
	cat_col_text(st, 3, s->action, sizeof(s->action));
	cat_col_text(st, 4, s->objects, sizeof(s->objects));
	cat_col_text(st, 5, s->options, sizeof(s->options));
	cat_col_text(st, 6, s->cmd, sizeof(s->cmd));
	s->first_start = sqlite3_column_int64(st, 7);
	s->duration_s = sqlite3_column_int64(st, 8);
	s->period_s = sqlite3_column_int64(st, 9);
	s->dayofweek = (unsigned)sqlite3_column_int(st, 10);
	s->active = sqlite3_column_int(st, 11);
	cat_col_text(st, 12, s->description, sizeof(s->description));
	cat_col_text(st, 13, s->owner, sizeof(s->owner));
	s->updated = sqlite3_column_int64(st, 14);
}

int
cat_sched_add(struct cat *c, const struct cat_sched *s, struct err *e)
{
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_sched(s, dom, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SCHED_INS, "INSERT INTO schedule("
	    SCHED_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	    " ?11, ?12, ?13, ?14, ?15)", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	bind_sched(st, s);
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "schedule %s%s%s: already "
		    "defined", dom, dom[0] ? " " : "", name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "schedule %s: define", name);
	cat_stmt_done(st);
	return r;
}

int
cat_sched_get(struct cat *c, const char *domain, const char *name,
    struct cat_sched *s, struct err *e)
{
	char dom[CAT_NAME_MAX + 1], n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = norm_domain(domain, dom, e)) != 0 ||
	    (r = cat_norm("schedule", name, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SCHED_GET, "SELECT " SCHED_COLS
	    " FROM schedule WHERE domain=?1 AND name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		sched_from_row(st, s);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "schedule %s%s%s: not "
		    "defined", dom, dom[0] ? " " : "", n);
	else
		r = cat_dberr(c, e, "schedule %s: get", n);
	cat_stmt_done(st);
	return r;
}

int
cat_sched_update(struct cat *c, const struct cat_sched *s, struct err *e)
{
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_sched(s, dom, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SCHED_UPD, "UPDATE schedule SET type=?3,"
	    " action=?4, objects=?5, options=?6, cmd=?7, first_start=?8,"
	    " duration_s=?9, period_s=?10, dayofweek=?11, active=?12,"
	    " description=?13, owner=?14, updated=?15"
	    " WHERE domain=?1 AND name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	bind_sched(st, s);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "schedule %s: update", name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "schedule %s: not defined",
		    name);
	cat_stmt_done(st);
	return r;
}

int
cat_sched_delete(struct cat *c, const char *domain, const char *name,
    struct err *e)
{
	char dom[CAT_NAME_MAX + 1], n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int began = 0, r;

	if ((r = norm_domain(domain, dom, e)) != 0 ||
	    (r = cat_norm("schedule", name, n, e)) != 0)
		return r;
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SCHED_DEL, "DELETE FROM schedule"
	    " WHERE domain=?1 AND name=?2", &st, e)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "schedule %s: delete", n);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "schedule %s%s%s: not "
		    "defined", dom, dom[0] ? " " : "", n);
	cat_stmt_done(st);
	if (r != 0)
		goto out;
	if ((r = cat_stmt(c, CAT_ST_SCHED_DEL_ASSOC, "DELETE FROM association"
	    " WHERE domain=?1 AND schedule=?2", &st, e)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n, -1, SQLITE_STATIC);
	r = cat_step_done(c, st, "schedule: delete its associations", e);
out:
	return cat_tx_close(c, began, r, e);
}

int
cat_sched_list(struct cat *c, int type,
    int (*cb)(void *, const struct cat_sched *), void *arg, struct err *e)
{
	struct cat_sched *s;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((s = malloc(sizeof(*s))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	if ((r = cat_stmt(c, CAT_ST_SCHED_LIST, "SELECT " SCHED_COLS
	    " FROM schedule WHERE ?1=0 OR type=?1 ORDER BY domain, name",
	    &st, e)) != 0) {
		free(s);
		return r;
	}
	sqlite3_bind_int(st, 1, type);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sched_from_row(st, s);
		if ((r = cb(arg, s)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "schedules: list");
	cat_stmt_done(st);
	free(s);
	return r;
}

struct sched_vec {
	struct cat_sched	*v;
	size_t			 n, cap;
};

static int
sched_push(void *arg, const struct cat_sched *s)
{
	struct sched_vec *l = arg;
	struct cat_sched *nv;

	if (l->n == l->cap) {
		size_t const cap = l->cap ? 2 * l->cap : 8;

		if ((nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	return 0;
}

int
cat_sched_array(struct cat *c, int type, struct cat_sched **out, size_t *n,
    struct err *e)
{
	struct sched_vec l = { NULL, 0, 0 };
	int r;

	*out = NULL;
	*n = 0;
	if ((r = cat_sched_list(c, type, sched_push, &l, e)) != 0) {
		free(l.v);
		if (r == COFFER_ENOMEM)
			err_set(e, r, "out of memory");
		return r;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ---- associations ---- */

static int
norm_assoc(const struct cat_assoc *a, struct cat_assoc *n, struct err *e)
{
	int r;

	if ((r = cat_norm("domain", a->domain, n->domain, e)) != 0 ||
	    (r = cat_norm("schedule", a->schedule, n->schedule, e)) != 0 ||
	    (r = cat_norm("node", a->node, n->node, e)) != 0)
		return r;
	return 0;
}

int
cat_assoc_add(struct cat *c, const struct cat_assoc *a, struct err *e)
{
	struct cat_assoc n;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = norm_assoc(a, &n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_ASSOC_INS, "INSERT INTO association("
	    "domain, schedule, node) VALUES(?1, ?2, ?3)", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n.domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n.schedule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n.node, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "node %s is already associated "
		    "with schedule %s %s", n.node, n.domain, n.schedule);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "association %s %s %s: define", n.domain,
		    n.schedule, n.node);
	cat_stmt_done(st);
	return r;
}

int
cat_assoc_delete(struct cat *c, const struct cat_assoc *a, struct err *e)
{
	struct cat_assoc n;
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = norm_assoc(a, &n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_ASSOC_DEL, "DELETE FROM association"
	    " WHERE domain=?1 AND schedule=?2 AND node=?3", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n.domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n.schedule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n.node, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "association: delete");
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "node %s is not associated "
		    "with schedule %s %s", n.node, n.domain, n.schedule);
	cat_stmt_done(st);
	return r;
}

/* Bind an optional normalized filter: NULL binds NULL (matches all). */
static int
bind_filter(sqlite3_stmt *st, int i, const char *what, const char *in,
    char buf[CAT_NAME_MAX + 1], struct err *e)
{
	int r;

	if (in == NULL) {
		sqlite3_bind_null(st, i);
		return 0;
	}
	if ((r = cat_norm(what, in, buf, e)) != 0)
		return r;
	sqlite3_bind_text(st, i, buf, -1, SQLITE_STATIC);
	return 0;
}

int
cat_assoc_array(struct cat *c, const char *domain, const char *schedule,
    const char *node, struct cat_assoc **out, size_t *n, struct err *e)
{
	char d[CAT_NAME_MAX + 1], s[CAT_NAME_MAX + 1], nd[CAT_NAME_MAX + 1];
	struct cat_assoc *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = NULL;
	*n = 0;
	if ((r = cat_stmt(c, CAT_ST_ASSOC_LIST, "SELECT domain, schedule, node"
	    " FROM association WHERE (?1 IS NULL OR domain=?1) AND"
	    " (?2 IS NULL OR schedule=?2) AND (?3 IS NULL OR node=?3)"
	    " ORDER BY domain, schedule, node", &st, e)) != 0)
		return r;
	if ((r = bind_filter(st, 1, "domain", domain, d, e)) != 0 ||
	    (r = bind_filter(st, 2, "schedule", schedule, s, e)) != 0 ||
	    (r = bind_filter(st, 3, "node", node, nd, e)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 8;
			if ((nv = realloc(v, cap * sizeof(*nv))) == NULL) {
				r = err_set(e, COFFER_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		cat_col_text(st, 0, v[cnt].domain, sizeof(v[cnt].domain));
		cat_col_text(st, 1, v[cnt].schedule, sizeof(v[cnt].schedule));
		cat_col_text(st, 2, v[cnt].node, sizeof(v[cnt].node));
		cnt++;
	}
	if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "associations: list");
out:
	cat_stmt_done(st);
	if (r != 0) {
		free(v);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- events ---- */

static void
event_from_row(sqlite3_stmt *st, struct cat_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	cat_col_text(st, 0, ev->domain, sizeof(ev->domain));
	cat_col_text(st, 1, ev->schedule, sizeof(ev->schedule));
	cat_col_text(st, 2, ev->node, sizeof(ev->node));
	ev->window_start = sqlite3_column_int64(st, 3);
	ev->actual_start = sqlite3_column_int64(st, 4);
	ev->completed = sqlite3_column_int64(st, 5);
	ev->status = sqlite3_column_int(st, 6);
	ev->rc = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 7);
	cat_col_text(st, 8, ev->message, sizeof(ev->message));
}

int
cat_event_put(struct cat *c, const struct cat_event *ev, struct err *e)
{
	char d[CAT_NAME_MAX + 1], s[CAT_NAME_MAX + 1], n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = norm_domain(ev->domain, d, e)) != 0 ||
	    (r = cat_norm("schedule", ev->schedule, s, e)) != 0 ||
	    (r = norm_node(ev->node, n, e)) != 0)
		return r;
	if (!TERMINATED(ev->message))
		return err_set(e, COFFER_EINVAL, "event of %s: message is not "
		    "terminated", s);
	if ((r = cat_stmt(c, CAT_ST_EVENT_PUT, "INSERT OR REPLACE INTO event("
	    EVENT_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, d, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->window_start);
	sqlite3_bind_int64(st, 5, ev->actual_start);
	sqlite3_bind_int64(st, 6, ev->completed);
	sqlite3_bind_int(st, 7, ev->status);
	if (ev->rc < 0)
		sqlite3_bind_null(st, 8);
	else
		sqlite3_bind_int(st, 8, ev->rc);
	sqlite3_bind_text(st, 9, ev->message, -1, SQLITE_STATIC);
	r = cat_step_done(c, st, "event: record", e);
	return r;
}

int
cat_event_get(struct cat *c, const char *domain, const char *schedule,
    const char *node, int64_t window_start, struct cat_event *ev,
    struct err *e)
{
	char d[CAT_NAME_MAX + 1], s[CAT_NAME_MAX + 1], n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = norm_domain(domain, d, e)) != 0 ||
	    (r = cat_norm("schedule", schedule, s, e)) != 0 ||
	    (r = norm_node(node, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_EVENT_GET, "SELECT " EVENT_COLS
	    " FROM event WHERE domain=?1 AND schedule=?2 AND node=?3"
	    " AND window_start=?4", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, d, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, window_start);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		event_from_row(st, ev);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "schedule %s: no event for "
		    "that window", s);
	else
		r = cat_dberr(c, e, "event of %s: get", s);
	cat_stmt_done(st);
	return r;
}

int
cat_event_array(struct cat *c, const char *domain, const char *schedule,
    int64_t from, int64_t to, struct cat_event **out, size_t *n,
    struct err *e)
{
	char d[CAT_NAME_MAX + 1], s[CAT_NAME_MAX + 1];
	struct cat_event *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = NULL;
	*n = 0;
	if ((r = norm_domain(domain, d, e)) != 0 ||
	    (r = cat_norm("schedule", schedule, s, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_EVENT_LIST, "SELECT " EVENT_COLS
	    " FROM event WHERE domain=?1 AND schedule=?2 AND window_start>=?3"
	    " AND window_start<?4 ORDER BY window_start, node", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, d, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, from);
	sqlite3_bind_int64(st, 4, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? 2 * cap : 8;
			if ((nv = realloc(v, cap * sizeof(*nv))) == NULL) {
				r = err_set(e, COFFER_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		event_from_row(st, &v[cnt++]);
	}
	if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "events of %s: list", s);
out:
	cat_stmt_done(st);
	if (r != 0) {
		free(v);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}
