/*
 * adm_sched.c - schedules: DEFINE, UPDATE, QUERY and DELETE SCHEDULE,
 * DEFINE, DELETE and QUERY ASSOCIATION, QUERY EVENT, SET RANDOMIZE and
 * SET QUERYSCHEDPERIOD.
 *
 *   DEFine SCHedule domain name [Type=Client] [ACTion=Incremental|
 *       Selective|Backupvm] OBJects='...' [OPTions='...'] [STARTDate=d]
 *       [STARTTime=t] [DURation=n] [DURUnits=Minutes|Hours|Days]
 *       [PERiod=n] [PERUnits=Hours|Days|Weeks|Onetime] [DAYofweek=...]
 *       [DESCription=text]
 *   DEFine SCHedule name Type=Administrative CMD='command' [ACTIVE=No]
 *       (and the same timing parameters)
 *   UPDate SCHedule / DELete SCHedule / Query SCHedule [domain [name]]
 *   DEFine ASSOCiation domain schedule node[,node...]
 *   Query EVent domain schedule [NODEs=n,...] [BEGINDate=] [ENDDate=]
 *   Query EVent name Type=Administrative
 *
 * TSM's defaults: DURATION=1 DURUNITS=HOURS PERIOD=1 PERUNITS=DAYS
 * DAYOFWEEK=ANY STARTDATE=today STARTTIME=now, and ACTIVE=NO for an
 * administrative schedule, so that a schedule someone is still writing
 * cannot run a command in the middle of the night.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "proto.h"
#include "sched_win.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define RANDOMIZE_DEFAULT	25	/* TSM's SET RANDOMIZE default */
#define RANDOMIZE_MAX		50

static const struct adm_kw actions[] = {
	{ "INCREMENTAL", 1 }, { "SELECTIVE", 1 }, { "BACKUPVM", 1 },
};

/* TYPE=: 1 client, 2 administrative, 0 when not given, -1 bad. */
static int
sched_type(struct adm_ctx *x)
{
	static const struct adm_kw types[] = {
		{ "CLIENT", 1 }, { "ADMINISTRATIVE", 1 },
	};
	const char *v = adm_arg(x, "TYPE");
	int i;

	if (v == NULL)
		return 0;
	if ((i = adm_kw_find(types, NELEM(types), sizeof(types[0]), v, NULL,
	    0)) < 0) {
		adm_bad_value(x, "TYPE", v, "CLIENT or ADMINISTRATIVE");
		return -1;
	}
	return i == 0 ? CAT_SCHED_CLIENT : CAT_SCHED_ADMIN;
}

/*
 * The schedule's key from the positionals: DOMAIN NAME for client
 * schedules, NAME alone for administrative ones.
 */
static int
sched_key(struct adm_ctx *x, int type, char *dom, char *name)
{
	const char *n;
	int r;

	if (type == CAT_SCHED_ADMIN) {
		if (adm_pos(x, 1) != NULL)
			return adm_bad(x, "an administrative schedule has no "
			    "domain: give its name alone");
		dom[0] = '\0';
		return adm_name(x, "schedule name", adm_pos(x, 0), name);
	}
	if ((n = adm_pos(x, 1)) == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2020E %s: Missing "
		    "parameter SCHEDULENAME (a client schedule is named by "
		    "DOMAIN NAME; an administrative one needs "
		    "Type=Administrative).", x->cmd->title);
	if ((r = adm_name(x, "domain name", adm_pos(x, 0), dom)) != 0)
		return r;
	return adm_name(x, "schedule name", n, name);
}

/* A count of 1..999 for DURATION or PERIOD, with its units. */
static int
interval(struct adm_ctx *x, const char *num, const char *units,
    int onetime_ok, long dflt_n, const char *dflt_units, int64_t *out)
{
	const char *const uname = onetime_ok ? "PERUNITS" : "DURUNITS";
	const char *const nname = onetime_ok ? "PERIOD" : "DURATION";
	long n = dflt_n;

	if (num != NULL && adm_parse_int(num, 1, 999, 0, &n) != 0)
		return adm_bad_value(x, nname, num, "a number from 1 to 999");
	if (sched_parse_units(n, units != NULL ? units : dflt_units,
	    onetime_ok, out) != 0)
		return adm_bad_value(x, uname, units, onetime_ok ?
		    "HOURS, DAYS, WEEKS or ONETIME" :
		    "MINUTES, HOURS, DAYS or WEEKS");
	return 0;
}

/* Current DURATION/PERIOD as a count and units, for a partial update. */
static void
split_interval(int64_t s, long *n, const char **units)
{
	if (s <= 0) {
		*n = 1;
		*units = "ONETIME";
	} else if (s % (7 * SCHED_DAY) == 0) {
		*n = (long)(s / (7 * SCHED_DAY));
		*units = "WEEKS";
	} else if (s % SCHED_DAY == 0) {
		*n = (long)(s / SCHED_DAY);
		*units = "DAYS";
	} else if (s % 3600 == 0) {
		*n = (long)(s / 3600);
		*units = "HOURS";
	} else {
		*n = (long)(s / 60);
		*units = "MINUTES";
	}
}

static int
copy_text(struct adm_ctx *x, const char *name, const char *v, char *out,
    size_t len)
{
	if (strlen(v) >= len)
		return adm_bad(x, "%s is longer than %zu characters", name,
		    len - 1);
	snprintf(out, len, "%s", v);
	return 0;
}

/* STARTDATE and STARTTIME; the one not given keeps s's (update). */
static int
apply_start(struct adm_ctx *x, struct cat_sched *s, int update)
{
	const char *d = adm_arg(x, "STARTDATE"), *t = adm_arg(x, "STARTTIME");
	char dbuf[16], tbuf[16];
	time_t old = (time_t)s->first_start;
	struct tm tm;

	if (update && d == NULL && t == NULL)
		return 0;
	if (update) {
		localtime_r(&old, &tm);
		if (d == NULL) {
			strftime(dbuf, sizeof(dbuf), "%Y-%m-%d", &tm);
			d = dbuf;
		}
		if (t == NULL) {
			strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
			t = tbuf;
		}
	}
	if (sched_parse_start(d, t, x->now, &s->first_start) == 0)
		return 0;
	if (d != NULL && sched_parse_start(d, NULL, x->now,
	    &s->first_start) != 0)
		return adm_bad_value(x, "STARTDATE", d, "a date YYYY-MM-DD, "
		    "TODAY, TODAY+N or TODAY-N");
	return adm_bad_value(x, "STARTTIME", t, "a time HH:MM[:SS], NOW, "
	    "NOW+H:MM or NOW-H:MM");
}

static int
apply_timing(struct adm_ctx *x, struct cat_sched *s, int update)
{
	const char *v;
	const char *du = "HOURS", *pu = "DAYS";
	long dn = 1, pn = 1;
	int r;

	if ((r = apply_start(x, s, update)) != 0)
		return r;
	if (update) {
		split_interval(s->duration_s, &dn, &du);
		split_interval(s->period_s, &pn, &pu);
	}
	if ((r = interval(x, adm_arg(x, "DURATION"), adm_arg(x, "DURUNITS"),
	    0, dn, du, &s->duration_s)) != 0 ||
	    (r = interval(x, adm_arg(x, "PERIOD"), adm_arg(x, "PERUNITS"), 1,
	    pn, pu, &s->period_s)) != 0)
		return r;
	if (s->period_s > 0 && s->duration_s > s->period_s)
		return adm_bad(x, "the startup window (DURATION) is longer "
		    "than the PERIOD between windows: windows would overlap");
	if ((v = adm_arg(x, "DAYOFWEEK")) != NULL &&
	    sched_parse_dow(v, &s->dayofweek) != 0)
		return adm_bad_value(x, "DAYOFWEEK", v, "ANY, WEEKDAY, WEEKEND "
		    "or a list of days (MONDAY,WEDNESDAY or MON,WED)");
	return 0;
}

/* ACTION, OBJECTS, OPTIONS of a client schedule. */
static int
apply_client(struct adm_ctx *x, struct cat_sched *s)
{
	const char *v;
	int i, r;

	if (adm_arg(x, "CMD") != NULL || adm_arg(x, "ACTIVE") != NULL)
		return adm_bad(x, "CMD and ACTIVE are for administrative "
		    "schedules (Type=Administrative)");
	if ((v = adm_arg(x, "ACTION")) != NULL) {
		if ((i = adm_kw_find(actions, NELEM(actions),
		    sizeof(actions[0]), v, NULL, 0)) < 0)
			return adm_bad_value(x, "ACTION", v, "INCREMENTAL, "
			    "SELECTIVE or BACKUPVM");
		snprintf(s->action, sizeof(s->action), "%s",
		    actions[i].name);
	}
	if ((v = adm_arg(x, "OBJECTS")) != NULL &&
	    (r = copy_text(x, "OBJECTS", v, s->objects,
	    sizeof(s->objects))) != 0)
		return r;
	if ((v = adm_arg(x, "OPTIONS")) != NULL &&
	    (r = copy_text(x, "OPTIONS", v, s->options,
	    sizeof(s->options))) != 0)
		return r;
	/*
	 * The client has no DOMAIN option to fall back on, so a schedule
	 * without objects would back up nothing: say so now.
	 */
	if (s->objects[0] == '\0')
		return adm_bad(x, "OBJECTS is required: the paths to back up "
		    "(ACTION=INCREMENTAL or SELECTIVE) or the VM names "
		    "(ACTION=BACKUPVM)");
	return 0;
}

static int
apply_admin(struct adm_ctx *x, struct cat_sched *s)
{
	const char *v;
	int r;

	if (adm_arg(x, "ACTION") != NULL || adm_arg(x, "OBJECTS") != NULL ||
	    adm_arg(x, "OPTIONS") != NULL)
		return adm_bad(x, "ACTION, OBJECTS and OPTIONS are for client "
		    "schedules; an administrative schedule runs CMD");
	if ((v = adm_arg(x, "CMD")) != NULL) {
		if ((r = copy_text(x, "CMD", v, s->cmd, sizeof(s->cmd))) != 0)
			return r;
	}
	if (s->cmd[0] == '\0')
		return adm_bad(x, "CMD is required: the command to run, "
		    "quoted (CMD='expire inventory wait=yes')");
	if ((v = adm_arg(x, "ACTIVE")) != NULL &&
	    adm_parse_yesno(v, &s->active) != 0)
		return adm_bad_value(x, "ACTIVE", v, "YES or NO");
	return 0;
}

static int
apply_params(struct adm_ctx *x, struct cat_sched *s, int update)
{
	const char *v;
	int r;

	if ((r = s->type == CAT_SCHED_ADMIN ? apply_admin(x, s) :
	    apply_client(x, s)) != 0)
		return r;
	if ((v = adm_arg(x, "DESCRIPTION")) != NULL &&
	    (r = copy_text(x, "DESCRIPTION", v, s->description,
	    sizeof(s->description))) != 0)
		return r;
	if ((r = apply_timing(x, s, update)) != 0)
		return r;
	/* TSM's rule: the schedule runs with the authority of its owner. */
	snprintf(s->owner, sizeof(s->owner), "%s", x->env->admin != NULL ?
	    x->env->admin : "");
	s->updated = x->now;
	return 0;
}

static void
where(const struct cat_sched *s, char *buf, size_t len)
{
	if (s->domain[0] == '\0')
		snprintf(buf, len, "administrative schedule %s", s->name);
	else
		snprintf(buf, len, "schedule %s in policy domain %s", s->name,
		    s->domain);
}

static int
get_sched(struct adm_ctx *x, const char *dom, const char *name,
    struct cat_sched *s)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = cat_sched_get(x->env->cat, dom, name, s, &e)) == 0)
		return 0;
	if (r == COFFER_ENOTFOUND) {
		if (dom[0] == '\0')
			return adm_error(x, r, "ANR2504E %s: Administrative "
			    "schedule %s is not defined.", x->cmd->title,
			    name);
		return adm_error(x, r, "ANR2504E %s: Schedule %s is not "
		    "defined in policy domain %s.", x->cmd->title, name, dom);
	}
	return adm_failed(x, &e);
}

int
adm_define_schedule(struct adm_ctx *x)
{
	struct cat_sched *s;
	struct cat_domain d;
	char what[200];
	struct err e;
	int type, r;

	err_clear(&e);
	if ((type = sched_type(x)) < 0)
		return COFFER_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ENOMEM;
	s->type = type == 0 ? CAT_SCHED_CLIENT : type;
	s->dayofweek = SCHED_DOW_ANY;
	s->active = s->type == CAT_SCHED_CLIENT;
	snprintf(s->action, sizeof(s->action), "%s",
	    s->type == CAT_SCHED_CLIENT ? "INCREMENTAL" : "");
	if ((r = sched_key(x, s->type, s->domain, s->name)) != 0)
		goto out;
	if (s->domain[0] != '\0' &&
	    cat_domain_get(x->env->cat, s->domain, &d, NULL) != 0) {
		r = adm_error(x, COFFER_ENOTFOUND, "ANR2550E %s: Policy domain "
		    "%s is not defined.", x->cmd->title, s->domain);
		goto out;
	}
	if ((r = apply_params(x, s, 0)) != 0)
		goto out;
	where(s, what, sizeof(what));
	if ((r = cat_sched_add(x->env->cat, s, &e)) == COFFER_EEXIST)
		r = adm_error(x, r, "ANR2503E %s: The %s is already defined.",
		    x->cmd->title, what);
	else if (r != 0)
		r = adm_failed(x, &e);
	else
		r = adm_msg(x->res, "ANR2500I Schedule %s defined%s%s.",
		    s->name, s->domain[0] ? " in policy domain " :
		    " (administrative)", s->domain);
out:
	free(s);
	return r;
}

int
adm_update_schedule(struct adm_ctx *x)
{
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	struct cat_sched *s;
	struct err e;
	int type, r;

	err_clear(&e);
	if ((type = sched_type(x)) < 0)
		return COFFER_EINVAL;
	if (type == 0)
		type = CAT_SCHED_CLIENT;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ENOMEM;
	if ((r = sched_key(x, type, dom, name)) != 0 ||
	    (r = get_sched(x, dom, name, s)) != 0 ||
	    (r = apply_params(x, s, 1)) != 0)
		goto out;
	if ((r = cat_sched_update(x->env->cat, s, &e)) != 0)
		r = adm_failed(x, &e);
	else
		r = adm_msg(x->res, "ANR2502I Schedule %s updated%s%s.",
		    s->name, s->domain[0] ? " in policy domain " :
		    " (administrative)", s->domain);
out:
	free(s);
	return r;
}

int
adm_delete_schedule(struct adm_ctx *x)
{
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	struct err e;
	int type, r;

	err_clear(&e);
	if ((type = sched_type(x)) < 0)
		return COFFER_EINVAL;
	if ((r = sched_key(x, type == 0 ? CAT_SCHED_CLIENT : type, dom,
	    name)) != 0)
		return r;
	r = cat_sched_delete(x->env->cat, dom, name, &e);
	if (r == COFFER_ENOTFOUND) {
		struct cat_sched s;

		return get_sched(x, dom, name, &s);
	}
	if (r != 0)
		return adm_failed(x, &e);
	if (dom[0] == '\0')
		return adm_msg(x->res, "ANR2501I Administrative schedule %s "
		    "deleted.", name);
	return adm_msg(x->res, "ANR2501I Schedule %s deleted from policy "
	    "domain %s (with its associations; its events are kept).", name,
	    dom);
}

/* ---- QUERY SCHEDULE ---- */

struct sq {
	struct adm_ctx	*x;
	const char	*dpat, *npat;	/* upper-case patterns or NULL */
	int		 type;
};

static const char *
pattern(const char *v, char *buf, size_t len)
{
	if (v == NULL || strcmp(v, "*") == 0 || adm_upper(v, buf, len) != 0)
		return NULL;
	return buf;
}

static int
sq_row(void *arg, const struct cat_sched *s)
{
	struct sq *q = arg;
	char start[32], dur[32], per[32], dow[40], upd[32];
	const char *v[15];

	if (s->type != q->type ||
	    (q->dpat != NULL && !adm_wildmatch(q->dpat, s->domain, 1)) ||
	    (q->npat != NULL && !adm_wildmatch(q->npat, s->name, 1)))
		return 0;
	v[0] = s->domain[0] ? s->domain : NULL;
	v[1] = s->name;
	v[2] = s->type == CAT_SCHED_ADMIN ? "ADMINISTRATIVE" : "CLIENT";
	v[3] = s->type == CAT_SCHED_CLIENT ? s->action : NULL;
	v[4] = s->type == CAT_SCHED_CLIENT ? s->objects : NULL;
	v[5] = s->type == CAT_SCHED_CLIENT ? s->options : NULL;
	v[6] = s->type == CAT_SCHED_ADMIN ? s->cmd : NULL;
	v[7] = adm_fmt_time(s->first_start, start, sizeof(start));
	v[8] = sched_fmt_interval(s->duration_s, dur, sizeof(dur));
	v[9] = sched_fmt_interval(s->period_s, per, sizeof(per));
	v[10] = sched_fmt_dow(s->dayofweek, dow, sizeof(dow));
	v[11] = s->active ? "YES" : "NO";
	v[12] = s->description;
	v[13] = s->owner;
	v[14] = adm_fmt_time(s->updated, upd, sizeof(upd));
	return adm_query_row(q->x, v);
}

int
adm_query_schedule(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"domain_name", "schedule_name", "type", "action", "objects",
		"options", "command", "start_date_time", "duration",
		"period", "dayofweek", "active", "description",
		"last_update_by", "last_update_date_time",
	};
	char dbuf[2 * CAT_NAME_MAX + 1], nbuf[2 * CAT_NAME_MAX + 1];
	struct sq q;
	struct err e;
	int r;

	err_clear(&e);
	memset(&q, 0, sizeof(q));
	q.x = x;
	if ((q.type = sched_type(x)) < 0)
		return COFFER_EINVAL;
	if (q.type == 0)
		q.type = CAT_SCHED_CLIENT;
	if (q.type == CAT_SCHED_ADMIN)
		q.npat = pattern(adm_pos(x, 0), nbuf, sizeof(nbuf));
	else {
		q.dpat = pattern(adm_pos(x, 0), dbuf, sizeof(dbuf));
		q.npat = pattern(adm_pos(x, 1), nbuf, sizeof(nbuf));
	}
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_sched_list(x->env->cat, q.type, sq_row, &q, &e);
	if (r < 0 && r != COFFER_ENOMEM)
		return adm_failed(x, &e);
	if (r < 0)
		return r;
	return adm_rows_done(x);
}

/* ---- associations ---- */

/* Each node of "A,B,C": fn(x, s, node); stops at the first error. */
static int
each_node(struct adm_ctx *x, const struct cat_sched *s, const char *list,
    int (*fn)(struct adm_ctx *, const struct cat_sched *, const char *))
{
	char node[CAT_NAME_MAX + 1], word[2 * CAT_NAME_MAX];
	const char *p = list;
	int r, done = 0;

	while (*p != '\0') {
		size_t const n = strcspn(p, ",");

		if (n == 0 || n >= sizeof(word))
			return adm_bad_value(x, "NODENAME", list, "a comma "
			    "list of node names");
		memcpy(word, p, n);
		word[n] = '\0';
		if ((r = adm_name(x, "node name", word, node)) != 0 ||
		    (r = fn(x, s, node)) != 0)
			return r;
		done++;
		p += n;
		if (*p == ',')
			p++;
	}
	return done > 0 ? 0 : adm_bad_value(x, "NODENAME", list, "a comma "
	    "list of node names");
}

static int
assoc_one(struct adm_ctx *x, const struct cat_sched *s, const char *node)
{
	struct cat_account a;
	struct cat_assoc as;
	struct err e;
	int r;

	err_clear(&e);
	if (cat_account_get(x->env->cat, CAT_KIND_NODE, node, &a, NULL) != 0)
		return adm_error(x, COFFER_ENOTFOUND, "ANR2121E %s: Node %s is "
		    "not registered.", x->cmd->title, node);
	/* TSM's rule: a node runs the schedules of its own domain. */
	if (strcmp(a.domain, s->domain) != 0)
		return adm_error(x, COFFER_EINVAL, "ANR2120E %s: Node %s is "
		    "in policy domain %s, not %s: it can only be associated "
		    "with schedules of its own domain.", x->cmd->title, node,
		    a.domain[0] ? a.domain : "(none)", s->domain);
	memset(&as, 0, sizeof(as));
	snprintf(as.domain, sizeof(as.domain), "%s", s->domain);
	snprintf(as.schedule, sizeof(as.schedule), "%s", s->name);
	snprintf(as.node, sizeof(as.node), "%s", node);
	if ((r = cat_assoc_add(x->env->cat, &as, &e)) == COFFER_EEXIST)
		return adm_msg_rc(x->res, RC_SKIPPED, "ANR2505W %s: Node %s "
		    "is already associated with schedule %s.", x->cmd->title,
		    node, s->name);
	if (r != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2510I Node %s associated with schedule %s "
	    "in policy domain %s.", node, s->name, s->domain);
}

static int
unassoc_one(struct adm_ctx *x, const struct cat_sched *s, const char *node)
{
	struct cat_assoc as;
	struct err e;
	int r;

	err_clear(&e);
	memset(&as, 0, sizeof(as));
	snprintf(as.domain, sizeof(as.domain), "%s", s->domain);
	snprintf(as.schedule, sizeof(as.schedule), "%s", s->name);
	snprintf(as.node, sizeof(as.node), "%s", node);
	if ((r = cat_assoc_delete(x->env->cat, &as, &e)) == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2509E %s: Node %s is not "
		    "associated with schedule %s.", x->cmd->title, node,
		    s->name);
	if (r != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2511I Node %s disassociated from schedule "
	    "%s in policy domain %s.", node, s->name, s->domain);
}

static int
association(struct adm_ctx *x, int define)
{
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	struct cat_sched *s;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ENOMEM;
	if ((r = sched_key(x, CAT_SCHED_CLIENT, dom, name)) == 0 &&
	    (r = get_sched(x, dom, name, s)) == 0)
		r = each_node(x, s, adm_pos(x, 2), define ? assoc_one :
		    unassoc_one);
	free(s);
	return r;
}

int
adm_define_association(struct adm_ctx *x)
{
	return association(x, 1);
}

int
adm_delete_association(struct adm_ctx *x)
{
	return association(x, 0);
}

int
adm_query_association(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"domain_name", "schedule_name", "node_name",
	};
	char dbuf[2 * CAT_NAME_MAX + 1], nbuf[2 * CAT_NAME_MAX + 1];
	const char *dpat, *npat;
	struct cat_assoc *as = NULL;
	size_t n = 0;
	struct err e;
	int r;

	err_clear(&e);
	dpat = pattern(adm_pos(x, 0), dbuf, sizeof(dbuf));
	npat = pattern(adm_pos(x, 1), nbuf, sizeof(nbuf));
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	if (cat_assoc_array(x->env->cat, NULL, NULL, NULL, &as, &n, &e) != 0)
		return adm_failed(x, &e);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *v[3] = { as[i].domain, as[i].schedule, as[i].node };

		if ((dpat != NULL && !adm_wildmatch(dpat, as[i].domain, 1)) ||
		    (npat != NULL && !adm_wildmatch(npat, as[i].schedule, 1)))
			continue;
		r = adm_query_row(x, v);
	}
	free(as);
	if (r < 0)
		return r;
	return adm_rows_done(x);
}

/* ---- QUERY EVENT ---- */

struct eq {
	struct adm_ctx		*x;
	const struct cat_sched	*s;
	struct cat_assoc	*as;	/* associated nodes (client) */
	size_t			 nas;
	struct cat_event	*ev;
	size_t			 nev;
	char			*used;	/* ev[i] shown */
	const char		*nodes;	/* NODES=, upper-cased; or NULL */
};

/* node is in the NODES= list (patterns allowed), or there is no list. */
static int
node_wanted(const struct eq *q, const char *node)
{
	char pat[2 * CAT_NAME_MAX + 1];
	const char *p = q->nodes;

	if (p == NULL || node[0] == '\0')
		return 1;
	while (*p != '\0') {
		size_t const n = strcspn(p, ",");

		if (n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = '\0';
			if (adm_wildmatch(pat, node, 1))
				return 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int
event_row(struct eq *q, int64_t w, const char *node,
    const struct cat_event *ev)
{
	char sched[32], actual[32], rc[16];
	enum sched_status const st = sched_status(w, q->s->duration_s,
	    q->x->now, ev != NULL ? ev->status : 0);
	const char *v[8];

	v[0] = adm_fmt_time(w, sched, sizeof(sched));
	v[1] = ev != NULL && ev->actual_start != 0 ? adm_fmt_time(
	    ev->actual_start, actual, sizeof(actual)) : NULL;
	v[2] = q->s->name;
	v[3] = q->s->domain[0] ? q->s->domain : NULL;
	v[4] = node[0] ? node : NULL;
	v[5] = sched_status_name(st);
	v[6] = NULL;
	if (ev != NULL && ev->rc >= 0) {
		snprintf(rc, sizeof(rc), "%d", ev->rc);
		v[6] = rc;
	}
	v[7] = ev != NULL && ev->message[0] ? ev->message : NULL;
	if (st == SCHED_ST_MISSED)
		v[7] = "the startup window ended before the schedule started";
	return adm_query_row(q->x, v);
}

static const struct cat_event *
find_event(struct eq *q, int64_t w, const char *node)
{
	for (size_t i = 0; i < q->nev; i++)
		if (q->ev[i].window_start == w &&
		    strcmp(q->ev[i].node, node) == 0) {
			q->used[i] = 1;
			return &q->ev[i];
		}
	return NULL;
}

static int
eq_window(void *arg, int64_t w)
{
	struct eq *q = arg;
	int r;

	if (q->s->type == CAT_SCHED_ADMIN)
		return event_row(q, w, "", find_event(q, w, ""));
	for (size_t i = 0; i < q->nas; i++) {
		if (!node_wanted(q, q->as[i].node))
			continue;
		if ((r = event_row(q, w, q->as[i].node, find_event(q, w,
		    q->as[i].node))) != 0)
			return r;
	}
	return 0;
}

/* BEGINDATE/BEGINTIME and ENDDATE/ENDTIME: [*from, *to). */
static int
event_range(struct adm_ctx *x, int64_t *from, int64_t *to)
{
	const char *bd = adm_arg(x, "BEGINDATE"), *bt = adm_arg(x, "BEGINTIME");
	const char *ed = adm_arg(x, "ENDDATE"), *et = adm_arg(x, "ENDTIME");
	int64_t day;

	if (adm_parse_date(bd != NULL ? bd : "TODAY", x->now, &day) != 0)
		return adm_bad_value(x, "BEGINDATE", bd, "a date YYYY-MM-DD, "
		    "TODAY or TODAY-N");
	if (adm_parse_time(bt != NULL ? bt : "00:00", day, x->now,
	    from) != 0)
		return adm_bad_value(x, "BEGINTIME", bt, "a time HH:MM[:SS]");
	if (adm_parse_date(ed != NULL ? ed : "TODAY", x->now, &day) != 0)
		return adm_bad_value(x, "ENDDATE", ed, "a date YYYY-MM-DD, "
		    "TODAY or TODAY-N");
	if (adm_parse_time(et != NULL ? et : "23:59:59", day, x->now,
	    to) != 0)
		return adm_bad_value(x, "ENDTIME", et, "a time HH:MM[:SS]");
	(*to)++;
	if (*to <= *from)
		return adm_bad(x, "the end of the range is before its "
		    "beginning");
	return 0;
}

static int
query_events(struct adm_ctx *x, struct eq *q, int64_t from, int64_t to)
{
	struct err e;
	int r;

	err_clear(&e);
	if (q->s->type == CAT_SCHED_CLIENT &&
	    cat_assoc_array(x->env->cat, q->s->domain, q->s->name, NULL,
	    &q->as, &q->nas, &e) != 0)
		return adm_failed(x, &e);
	if (cat_event_array(x->env->cat, q->s->domain, q->s->name, from, to,
	    &q->ev, &q->nev, &e) != 0)
		return adm_failed(x, &e);
	if ((q->used = calloc(q->nev + 1, 1)) == NULL)
		return COFFER_ENOMEM;
	r = sched_windows(&(struct sched_spec){ q->s->first_start,
	    q->s->duration_s, q->s->period_s, q->s->dayofweek }, from, to,
	    ADM_ROWS_MAX, eq_window, q);
	if (r < 0)
		return r;
	/*
	 * Events of windows that are no longer the schedule's (it was
	 * updated) or of nodes no longer associated: what ran still shows.
	 */
	for (size_t i = 0; i < q->nev && !x->res->truncated; i++) {
		if (q->used[i] || !node_wanted(q, q->ev[i].node))
			continue;
		if ((r = event_row(q, q->ev[i].window_start, q->ev[i].node,
		    &q->ev[i])) < 0)
			return r;
	}
	return 0;
}

int
adm_query_event(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"scheduled_start", "actual_start", "schedule_name",
		"domain_name", "node_name", "status", "result", "reason",
	};
	char dom[CAT_NAME_MAX + 1], name[CAT_NAME_MAX + 1];
	char nodes[ADM_CELL_MAX + 1];
	struct cat_sched *s;
	struct eq q;
	int64_t from, to;
	int type, r;

	memset(&q, 0, sizeof(q));
	if ((type = sched_type(x)) < 0)
		return COFFER_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return COFFER_ENOMEM;
	if ((r = sched_key(x, type == 0 ? CAT_SCHED_CLIENT : type, dom,
	    name)) != 0 || (r = get_sched(x, dom, name, s)) != 0 ||
	    (r = event_range(x, &from, &to)) != 0)
		goto out;
	if (adm_arg(x, "NODES") != NULL) {
		if (adm_upper(adm_arg(x, "NODES"), nodes, sizeof(nodes)) != 0) {
			r = adm_bad(x, "NODES is too long");
			goto out;
		}
		q.nodes = nodes;
	}
	q.x = x;
	q.s = s;
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0 ||
	    (r = query_events(x, &q, from, to)) != 0)
		goto out;
	r = adm_rows_done(x);
out:
	free(q.as);
	free(q.ev);
	free(q.used);
	free(s);
	return r < 0 || r == 0 ? r : 0;
}

/* ---- server settings ---- */

int
adm_set_randomize(struct adm_ctx *x)
{
	const char *v = adm_pos(x, 0);
	struct err e;
	char buf[16];
	long n;

	err_clear(&e);
	if (adm_parse_int(v, 0, RANDOMIZE_MAX, 0, &n) != 0)
		return adm_bad_value(x, "PERCENT", v, "a percentage from 0 to "
		    "50");
	snprintf(buf, sizeof(buf), "%ld", n);
	if (cat_setting_set(x->env->cat, "randomize", buf, &e) != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2568I Randomization set to %ld percent of "
	    "the startup window.", n);
}

int
adm_set_queryschedperiod(struct adm_ctx *x)
{
	const char *v = adm_pos(x, 0);
	int64_t s = 0;
	struct err e;
	char buf[24];

	err_clear(&e);
	if (v != NULL && strcmp(v, "0") != 0 && util_parse_hours(v, &s) != 0)
		return adm_bad_value(x, "HOURS", v, "hours (a number), or a "
		    "number with s, m or h, up to 31 days; none or 0 leaves "
		    "it to each client");
	snprintf(buf, sizeof(buf), "%lld", (long long)s);
	if (cat_setting_set(x->env->cat, "queryschedperiod", buf, &e) != 0)
		return adm_failed(x, &e);
	if (s == 0)
		return adm_msg(x->res, "ANR2566I Query schedule period reset: "
		    "each client uses its own QUERYSCHEDPERIOD.");
	return adm_msg(x->res, "ANR2566I Query schedule period set to %lld "
	    "seconds.", (long long)s);
}
