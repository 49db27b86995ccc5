/*
 * sess_sched.c - the client scheduler's frames in a node session
 * (proto.h: SCHED_QUERY, SCHED_REPORT).
 *
 * The node asks for its next window; the server answers with the
 * earliest window, of all the schedules the node is associated with,
 * that has not closed and that the node has not completed or failed: a
 * node runs one schedule at a time, in start order.  Reports are checked
 * against the catalog (association, a real window, a start inside it)
 * and recorded as the window's event, with an activity log message.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cat.h"
#include "err.h"
#include "sched_win.h"
#include "sess.h"
#include "srv.h"

#define RANDOMIZE_DEFAULT	25	/* TSM's SET RANDOMIZE default */

static void
spec_of(const struct cat_sched *s, struct sched_spec *sp)
{
	sp->first = s->first_start;
	sp->duration_s = s->duration_s;
	sp->period_s = s->period_s;
	sp->dow = s->dayofweek;
}

/*
 * The first window of s for node that is still open or to come and that
 * the node has not ended; 1 with *start, or 0.  A window with a Started
 * event is offered again: a client that died midway may start it again
 * while the window is open.
 */
static int
next_window(struct cat *c, const struct cat_sched *s, const char *node,
    int64_t now, int64_t *start)
{
	struct sched_spec sp;
	struct cat_event ev;
	int64_t t = now, w;

	spec_of(s, &sp);
	for (int i = 0; i < 64; i++) {
		if (sched_window_at(&sp, t, &w) != 1)
			return 0;
		if (cat_event_get(c, s->domain, s->name, node, w, &ev,
		    NULL) != 0 || ev.status == SCHED_ST_STARTED) {
			*start = w;
			return 1;
		}
		t = w + s->duration_s;
	}
	return 0;
}

static int
on_sched_query(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct cat *c = s->w->cat;
	struct cat_assoc *as = NULL;
	struct cat_sched *best = NULL, *cur = NULL;
	struct proto_sched_next n;
	int64_t const now = (int64_t)time(NULL);
	int64_t w, best_w = 0, qsp;
	size_t nas = 0;
	int64_t rnd;
	int rc;

	if ((rc = wire_rd_end(r, e)) != 0)
		return rc;
	if ((rc = cat_assoc_array(c, NULL, NULL, s->name, &as, &nas, e)) != 0)
		return rc;
	if ((best = calloc(1, sizeof(*best))) == NULL ||
	    (cur = calloc(1, sizeof(*cur))) == NULL) {
		rc = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nas; i++) {
		if (cat_sched_get(c, as[i].domain, as[i].schedule, cur,
		    NULL) != 0 || cur->type != CAT_SCHED_CLIENT)
			continue;
		if (!next_window(c, cur, s->name, now, &w))
			continue;
		if (best->name[0] == '\0' || w < best_w) {
			*best = *cur;
			best_w = w;
		}
	}
	memset(&n, 0, sizeof(n));
	n.now = now;
	qsp = cat_setting_int(c, "queryschedperiod", 0);
	n.poll_s = qsp > 0 && qsp <= UINT32_MAX ? (uint32_t)qsp : 0;
	rnd = cat_setting_int(c, "randomize", RANDOMIZE_DEFAULT);
	n.randomize = (uint8_t)(rnd >= 0 && rnd <= PROTO_SCHED_RANDOMIZE_MAX ?
	    rnd : RANDOMIZE_DEFAULT);
	if (best->name[0] != '\0') {
		n.has = 1;
		n.domain = best->domain;
		n.domain_len = strlen(best->domain);
		n.schedule = best->name;
		n.schedule_len = strlen(best->name);
		n.action = best->action;
		n.action_len = strlen(best->action);
		n.objects = best->objects;
		n.objects_len = strlen(best->objects);
		n.options = best->options;
		n.options_len = strlen(best->options);
		n.start = best_w;
		n.end = best_w + best->duration_s;
	}
	proto_put_sched_next(&s->out, &n);
	sess_reply(s, PT_SCHED_NEXT);
	rc = 0;
out:
	free(as);
	free(best);
	free(cur);
	return rc;
}

static void
local_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The report's schedule, checked: associated, and start a real window. */
static int
check_report(struct sess *s, const char *dom, const char *name,
    int64_t start, struct cat_sched *sc, struct err *e)
{
	struct cat_assoc *as = NULL;
	struct sched_spec sp;
	size_t nas = 0;
	int rc;

	if (cat_sched_get(s->w->cat, dom, name, sc, NULL) != 0 ||
	    sc->type != CAT_SCHED_CLIENT)
		return err_set(e, COFFER_ENOTFOUND, "ANR2504E schedule %s is "
		    "not defined in policy domain %s", name, dom);
	if ((rc = cat_assoc_array(s->w->cat, sc->domain, sc->name, s->name,
	    &as, &nas, e)) != 0)
		return rc;
	free(as);
	if (nas == 0)
		return err_set(e, COFFER_EPERM, "ANR2509E node %s is not "
		    "associated with schedule %s in policy domain %s", s->name,
		    sc->name, sc->domain);
	spec_of(sc, &sp);
	if (!sched_is_window(&sp, start))
		return err_set(e, COFFER_EINVAL, "ANR2576E schedule %s has no "
		    "startup window beginning at %" PRId64, sc->name, start);
	return 0;
}

static int
report_started(struct sess *s, const struct cat_sched *sc,
    struct cat_event *ev, int64_t now, struct err *e)
{
	char a[32], b[32];

	if (ev->status == SCHED_ST_COMPLETED || ev->status == SCHED_ST_FAILED)
		return err_set(e, COFFER_EEXIST, "ANR2576E schedule %s: the "
		    "window of %s has already run (status %s)", sc->name,
		    (local_time(ev->window_start, a, sizeof(a)), a),
		    sched_status_name((enum sched_status)ev->status));
	/* The startup window is when the schedule must start (TSM). */
	if (now < ev->window_start || now >= ev->window_start +
	    sc->duration_s) {
		local_time(ev->window_start, a, sizeof(a));
		local_time(ev->window_start + sc->duration_s, b, sizeof(b));
		return err_set(e, COFFER_EINVAL, "ANR2576E schedule %s: a "
		    "start now is outside its startup window %s to %s",
		    sc->name, a, b);
	}
	ev->actual_start = now;
	ev->completed = 0;
	ev->status = SCHED_ST_STARTED;
	ev->rc = -1;
	ev->message[0] = '\0';
	(void)cat_actlog(s->w->cat, CAT_SEV_INFO, 2507, s->name, "Schedule "
	    "%s for domain %s started for node %s.", sc->name, sc->domain,
	    s->name);
	return 0;
}

static void
report_ended(struct sess *s, const struct cat_sched *sc, struct cat_event *ev,
    const struct proto_sched_report *p, int64_t now)
{
	if (ev->actual_start == 0)
		ev->actual_start = now;
	ev->completed = now;
	ev->rc = p->rc;
	ev->status = sched_status_for_rc(p->rc);
	snprintf(ev->message, sizeof(ev->message), "%.*s",
	    (int)p->message_len, p->message != NULL ? p->message : "");
	if (ev->status == SCHED_ST_COMPLETED)
		(void)cat_actlog(s->w->cat, CAT_SEV_INFO, 2507, s->name,
		    "Schedule %s for domain %s for node %s completed "
		    "successfully (return code %u).", sc->name, sc->domain,
		    s->name, p->rc);
	else
		(void)cat_actlog(s->w->cat, CAT_SEV_ERROR, 2579, s->name,
		    "Schedule %s in domain %s for node %s failed (return code "
		    "%u)%s%s.", sc->name, sc->domain, s->name, p->rc,
		    ev->message[0] ? ": " : "", ev->message);
}

static int
on_sched_report(struct sess *s, struct wire_rd *r, struct err *e)
{
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	struct proto_sched_report p;
	struct cat_sched *sc = NULL;
	struct cat_event ev;
	int64_t const now = (int64_t)time(NULL);
	int rc;

	if ((rc = proto_get_sched_report(r, &p, e)) != 0)
		return rc;
	snprintf(dom, sizeof(dom), "%.*s", (int)p.domain_len, p.domain);
	snprintf(name, sizeof(name), "%.*s", (int)p.schedule_len, p.schedule);
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	if ((rc = check_report(s, dom, name, p.start, sc, e)) != 0)
		goto out;
	if (cat_event_get(s->w->cat, sc->domain, sc->name, s->name, p.start,
	    &ev, NULL) != 0) {
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.domain, sizeof(ev.domain), "%s", sc->domain);
		snprintf(ev.schedule, sizeof(ev.schedule), "%s", sc->name);
		snprintf(ev.node, sizeof(ev.node), "%s", s->name);
		ev.window_start = p.start;
		ev.rc = -1;
	}
	if (p.phase == PROTO_SCHED_STARTED) {
		if ((rc = report_started(s, sc, &ev, now, e)) != 0)
			goto out;
	} else
		report_ended(s, sc, &ev, &p, now);
	if ((rc = cat_event_put(s->w->cat, &ev, e)) != 0)
		goto out;
	sess_reply(s, PT_SCHED_OK);
out:
	free(sc);
	return rc;
}

int
sess_sched_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	switch (type) {
	case PT_SCHED_QUERY:	return on_sched_query(s, r, e);
	case PT_SCHED_REPORT:	return on_sched_report(s, r, e);
	}
	return err_set(e, COFFER_EPROTO, "unexpected %s frame",
	    proto_type_name(type));
}
