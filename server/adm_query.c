/*
 * adm_query.c - the informational queries (FILESPACE, OCCUPANCY, STGPOOL,
 * ACTLOG, SESSION, STATUS) and SET INVALIDPWLIMIT.
 *
 * Walk callbacks add rows directly (they make no catalog call of their
 * own) and stop the walk when the result is full.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "pool.h"
#include "proc.h"
#include "proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Node and filespace filters of QUERY FILESPACE and QUERY OCCUPANCY. */
struct fs_filter {
	struct adm_ctx	*x;
	const char	*node_pat;	/* upper-case pattern, or NULL */
	const char	*exact;		/* a node name without wildcards */
	const char	*fs_pat;	/* filespace pattern, or NULL */
	char		 ubuf[2 * CAT_NAME_MAX + 1];
	char		 nbuf[CAT_NAME_MAX + 1];
	int		 stop;		/* 1: the result is full */
};

/* Read positionals 0 (node) and 1 (filespace) into f. */
static int
fs_filter_init(struct adm_ctx *x, struct fs_filter *f)
{
	const char *node = adm_pos(x, 0);
	const char *fs = adm_pos(x, 1);
	int r;

	memset(f, 0, sizeof(*f));
	f->x = x;
	if (node != NULL && strcmp(node, "*") != 0) {
		if (strpbrk(node, "*?") == NULL) {
			/* A plain name goes to the catalog as the filter. */
			if ((r = adm_name(x, "node name", node, f->nbuf)) != 0)
				return r;
			f->exact = f->nbuf;
		} else if (adm_upper(node, f->ubuf, sizeof(f->ubuf)) == 0) {
			f->node_pat = f->ubuf;
		} else
			return adm_bad(x, "the node pattern is longer than %d "
			    "characters", 2 * CAT_NAME_MAX);
	}
	/* Filespace names are paths: matched case-sensitively. */
	if (fs != NULL && strcmp(fs, "*") != 0)
		f->fs_pat = fs;
	return 0;
}

static int
fs_filter_pass(const struct fs_filter *f, const char *node, const char *fs)
{
	return (f->node_pat == NULL || adm_wildmatch(f->node_pat, node, 1)) &&
	    (f->fs_pat == NULL || adm_wildmatch(f->fs_pat, fs, 0));
}

/* The walk's result: reports catalog errors, ignores a full stop. */
static int
walk_done(struct adm_ctx *x, int r, int stopped, const struct err *e)
{
	if (stopped || r == 0)
		return adm_rows_done(x);
	if (r == COFFER_ENOMEM)
		return r;
	return adm_failed(x, e);
}

/* ---- QUERY FILESPACE ---- */

static int
fs_row(void *arg, const struct cat_fs *fs)
{
	struct fs_filter *f = arg;
	static const char *const rules[] = {
		"all_data", "active_data", "none",	/* CAT_REPLRULE_* */
	};
	char id[24], start[32], end[32], obj[24], bytes[24], prio[16];
	const char *v[11];
	int r;

	if (!fs_filter_pass(f, fs->node, fs->name))
		return 0;
	v[0] = fs->node;
	v[1] = fs->name;
	v[2] = adm_fmt_u64(fs->id, id, sizeof(id));
	v[3] = fs->type[0] != '\0' ? fs->type : NULL;
	v[4] = adm_fmt_time(fs->last_backup_start, start, sizeof(start));
	v[5] = adm_fmt_time(fs->last_backup_end, end, sizeof(end));
	v[6] = adm_fmt_u64(fs->objects, obj, sizeof(obj));
	v[7] = adm_fmt_u64(fs->bytes, bytes, sizeof(bytes));
	/* "yes"/"no" as QUERY NODE's locked; 0 is "no priority set". */
	v[8] = fs->drprotect ? "yes" : "no";
	v[9] = adm_fmt_u64(fs->drpriority, prio, sizeof(prio));
	v[10] = fs->replrule >= 0 && fs->replrule < 3 ? rules[fs->replrule] :
	    NULL;
	if ((r = adm_query_row(f->x, v)) == 1)
		f->stop = 1;
	return r;
}

int
adm_query_filespace(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"node_name", "filespace_name", "filespace_id", "type",
		"last_backup_start", "last_backup_end", "objects",
		"logical_bytes", "drprotect", "drpriority", "replrule",
	};
	struct fs_filter f;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = fs_filter_init(x, &f)) != 0 ||
	    (r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_fs_list(x->env->cat, f.exact, fs_row, &f, &e);
	return walk_done(x, r, f.stop, &e);
}

/* ---- QUERY OCCUPANCY ---- */

static int
occ_row(void *arg, const struct cat_occupancy *o)
{
	struct fs_filter *f = arg;
	char obj[24], bytes[24];
	const char *v[4];
	int r;

	if (!fs_filter_pass(f, o->node, o->fs))
		return 0;
	v[0] = o->node;
	v[1] = o->fs;
	v[2] = adm_fmt_u64(o->objects, obj, sizeof(obj));
	v[3] = adm_fmt_u64(o->logical_bytes, bytes, sizeof(bytes));
	if ((r = adm_query_row(f->x, v)) == 1)
		f->stop = 1;
	return r;
}

int
adm_query_occupancy(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"node_name", "filespace_name", "objects", "logical_bytes",
	};
	struct fs_filter f;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = fs_filter_init(x, &f)) != 0 ||
	    (r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_occupancy(x->env->cat, f.exact, occ_row, &f, &e);
	return walk_done(x, r, f.stop, &e);
}

/* ---- QUERY ACTLOG ---- */

/* BEGINDATE and BEGINTIME into a start time (default: 24 hours ago). */
static int
actlog_since(struct adm_ctx *x, int64_t *since)
{
	const char *bd = adm_arg(x, "BEGINDATE");
	const char *bt = adm_arg(x, "BEGINTIME");
	int64_t day = 0;

	*since = x->now - 86400;
	if (bd != NULL) {
		if (adm_parse_date(bd, x->now, &day) != 0)
			return adm_bad_value(x, "BEGINDATE", bd, "a date "
			    "YYYY-MM-DD, TODAY or TODAY-days");
		*since = day;
	}
	if (bt != NULL) {
		if (bd == NULL)
			(void)adm_parse_date("TODAY", x->now, &day);
		if (adm_parse_time(bt, day, x->now, since) != 0)
			return adm_bad_value(x, "BEGINTIME", bt, "a time "
			    "HH:MM[:SS], NOW or NOW-hours[:minutes]");
	}
	return 0;
}

struct actlog_q {
	struct adm_ctx	*x;
	long		 msgno;		/* -1: any */
	const char	*node_pat;	/* upper-case, or NULL */
	int		 stop;
};

static int
actlog_row(void *arg, const struct cat_actlog_row *a)
{
	struct actlog_q *q = arg;
	char when[32], no[16], sev[2];
	const char *v[5];
	int r;

	if ((q->msgno >= 0 && a->msgno != q->msgno) || (q->node_pat != NULL &&
	    (a->node == NULL || !adm_wildmatch(q->node_pat, a->node, 1))))
		return 0;
	snprintf(no, sizeof(no), "ANR%04d%c", a->msgno, a->severity);
	sev[0] = a->severity;
	sev[1] = '\0';
	v[0] = adm_fmt_time(a->time, when, sizeof(when));
	v[1] = no;
	v[2] = sev;
	v[3] = a->node;
	v[4] = a->message;
	if ((r = adm_query_row(q->x, v)) == 1)
		q->stop = 1;
	return r;
}

int
adm_query_actlog(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"date_time", "message_number", "severity", "node", "message",
	};
	const char *msgno = adm_arg(x, "MSGNO");
	const char *node = adm_arg(x, "NODENAME");
	char upat[2 * CAT_NAME_MAX + 1];
	struct actlog_q q;
	int64_t since;
	struct err e;
	int r;

	memset(&q, 0, sizeof(q));
	err_clear(&e);
	q.x = x;
	q.msgno = -1;
	if ((r = actlog_since(x, &since)) != 0)
		return r;
	if (msgno != NULL && adm_parse_int(msgno, 0, 9999, 0, &q.msgno) != 0)
		return adm_bad_value(x, "MSGNO", msgno, "a message number "
		    "from 0 to 9999");
	if (node != NULL) {
		if (adm_upper(node, upat, sizeof(upat)) != 0)
			return adm_bad(x, "the node pattern is longer than %d "
			    "characters", 2 * CAT_NAME_MAX);
		q.node_pat = upat;
	}
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_actlog_query(x->env->cat, since, adm_arg(x, "SEARCH"),
	    actlog_row, &q, &e);
	return walk_done(x, r, q.stop, &e);
}

/* ---- QUERY SESSION ---- */

int
adm_query_session(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"session_number", "state", "kind", "name", "peer",
		"bytes_received", "bytes_sent",
	};
	int r;

	/* The session list's owner sets its columns; these when absent. */
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	if (x->env->list_sessions != NULL &&
	    (r = x->env->list_sessions(x->env->sessions_arg, x->res)) != 0 &&
	    r != COFFER_ETOOBIG)
		return r;
	return adm_rows_done(x);
}

/* ---- QUERY STATUS, SET INVALIDPWLIMIT ---- */

/* The limit sessions apply when the setting is missing (sess.c). */
#define INVALIDPWLIMIT_DEFAULT	5

static int
count_any(void *arg, const struct cat_account *a)
{
	(void)a;
	(*(uint64_t *)arg)++;
	return 0;
}

static int
count_dom(void *arg, const struct cat_domain *d)
{
	(void)d;
	(*(uint64_t *)arg)++;
	return 0;
}

int
adm_query_status(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"server_name", "version", "server_time", "invalidpwlimit",
		"nodes", "admins", "domains", "processes", "replserver",
		/* The recovery plan (adm_plan.c). */
		"rto", "drmplanprefix", "drmplanversions",
	};
	char rto[24], prefix[4096], nplans[16];
	char name[CAT_NAME_MAX + 1], repl[CAT_NAME_MAX + 1];
	char now[32], lim[24], b[4][24];
	uint64_t nodes = 0, admins = 0, doms = 0;
	const char *v[NELEM(cols)];
	struct err e;
	int r;

	err_clear(&e);
	if (cat_setting_get(x->env->cat, "name", name, sizeof(name), NULL) != 0)
		name[0] = '\0';
	if (cat_setting_get(x->env->cat, "replserver", repl, sizeof(repl),
	    NULL) != 0)
		repl[0] = '\0';
	if (cat_account_list(x->env->cat, CAT_KIND_NODE, NULL, count_any,
	    &nodes, &e) != 0 ||
	    cat_account_list(x->env->cat, CAT_KIND_ADMIN, NULL, count_any,
	    &admins, &e) != 0 ||
	    cat_domain_list(x->env->cat, count_dom, &doms, &e) != 0)
		return adm_failed(x, &e);
	snprintf(lim, sizeof(lim), "%" PRId64, cat_setting_int(x->env->cat,
	    "invalidpwlimit", INVALIDPWLIMIT_DEFAULT));
	v[0] = name[0] != '\0' ? name : NULL;
	v[1] = PACKAGE_VERSION;
	v[2] = adm_fmt_time(x->now, now, sizeof(now));
	v[3] = lim;
	v[4] = adm_fmt_u64(nodes, b[0], sizeof(b[0]));
	v[5] = adm_fmt_u64(admins, b[1], sizeof(b[1]));
	v[6] = adm_fmt_u64(doms, b[2], sizeof(b[2]));
	v[7] = adm_fmt_u64(x->env->procs != NULL ?
	    (uint64_t)proc_count(x->env->procs, NULL) : 0, b[3], sizeof(b[3]));
	v[8] = repl[0] != '\0' ? repl : NULL;
	v[9] = cat_setting_int(x->env->cat, "rto", 0) > 0 ? adm_fmt_duration(
	    cat_setting_int(x->env->cat, "rto", 0), rto, sizeof(rto)) : NULL;
	v[10] = adm_plan_prefix(x, prefix, sizeof(prefix)) == 0 ? prefix :
	    NULL;
	snprintf(nplans, sizeof(nplans), "%d", adm_plan_versions(x));
	v[11] = nplans;
	x->res->shape = PROTO_SHAPE_OBJECT;
	if ((r = adm_colsv(x->res, NELEM(cols), cols)) != 0)
		return r;
	return adm_rowv(x->res, v);
}

int
adm_set_invalidpwlimit(struct adm_ctx *x)
{
	const char *v = adm_pos(x, 0);
	struct err e;
	char buf[16];
	long n;

	err_clear(&e);
	if (adm_parse_int(v, 0, 9999, 0, &n) != 0)
		return adm_bad_value(x, "LIMIT", v, "a number from 0 to 9999 "
		    "(0: never lock)");
	snprintf(buf, sizeof(buf), "%ld", n);
	if (cat_setting_set(x->env->cat, "invalidpwlimit", buf, &e) != 0)
		return adm_failed(x, &e);
	if (n == 0)
		return adm_msg(x->res, "ANR2097I Invalid password limit set to "
		    "0: accounts are no longer locked after failed logons.");
	return adm_msg(x->res, "ANR2097I Invalid password limit set to %ld "
	    "attempts.", n);
}
