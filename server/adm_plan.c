/*
 * adm_plan.c - the recovery plan's commands: PREPARE, SET RTO, SET
 * DRMPLANPREFIX and SET DRMPLANVERSIONS (the last is ours: TSM keeps
 * plans with SET DRMRPFEXPIREDAYS, which needs a volume history of plan
 * files we do not have).
 *
 * Settings (catalog table setting): "rto" in seconds (absent or 0: none),
 * "drmplanprefix" (absent: DIR/plans/ of the instance) and
 * "drmplanversions" (absent: PLAN_VERSIONS_DEFAULT).
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "plan.h"
#include "proto.h"
#include "rpo.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The instance directory: the catalog file's. */
static int
instance_dir(const struct adm_ctx *x, char *buf, size_t len)
{
	const char *cp = x->env->catpath;
	const char *slash;

	if (cp == NULL || (slash = strrchr(cp, '/')) == NULL)
		return snprintf(buf, len, ".") < 0 ? COFFER_EINVAL : 0;
	if ((size_t)(slash - cp) >= len)
		return COFFER_ETOOBIG;
	snprintf(buf, len, "%.*s", (int)(slash - cp), cp);
	return 0;
}

int
adm_plan_prefix(const struct adm_ctx *x, char *buf, size_t len)
{
	char dir[PATH_MAX];
	int r;

	if (cat_setting_get(x->env->cat, "drmplanprefix", buf, len,
	    NULL) == 0 && buf[0] != '\0')
		return 0;
	if ((r = instance_dir(x, dir, sizeof(dir))) != 0)
		return r;
	return (size_t)snprintf(buf, len, "%s/plans/", dir) >= len ?
	    COFFER_ETOOBIG : 0;
}

int
adm_plan_versions(const struct adm_ctx *x)
{
	int64_t const n = cat_setting_int(x->env->cat, "drmplanversions",
	    PLAN_VERSIONS_DEFAULT);

	return n >= 1 && n <= PLAN_VERSIONS_MAX ? (int)n :
	    PLAN_VERSIONS_DEFAULT;
}

int
adm_set_rto(struct adm_ctx *x)
{
	const char *v = adm_pos(x, 0);
	char buf[32], tg[24];
	int64_t s;
	struct err e;

	err_clear(&e);
	if (adm_parse_duration(v, &s) != 0)
		return adm_bad_value(x, "DURATION", v, "a duration with a unit "
		    "s, m, h or d (72h), or NONE");
	snprintf(buf, sizeof(buf), "%" PRId64, s);
	if (cat_setting_set(x->env->cat, "rto", buf, &e) != 0)
		return adm_failed(x, &e);
	if (s == 0)
		return adm_msg(x->res, "ANR6700I SET RTO: No recovery time "
		    "objective is set.");
	return adm_msg(x->res, "ANR6700I SET RTO: The recovery time objective "
	    "is set to %s; PREPARE compares the plan's estimate with it.",
	    rpo_fmt_target(s, tg, sizeof(tg)));
}

int
adm_set_drmplanprefix(struct adm_ctx *x)
{
	const char *v = adm_pos(x, 0);
	char cur[PATH_MAX];
	struct err e;

	err_clear(&e);
	if (v != NULL && (v[0] != '/' || strlen(v) > PATH_MAX - 64))
		return adm_bad_value(x, "PREFIX", v, "an absolute path (end it "
		    "with / for a directory)");
	/* No prefix: back to the default, DIR/plans/. */
	if (cat_setting_set(x->env->cat, "drmplanprefix", v != NULL ? v : "",
	    &e) != 0)
		return adm_failed(x, &e);
	if (adm_plan_prefix(x, cur, sizeof(cur)) != 0)
		snprintf(cur, sizeof(cur), "%s", v != NULL ? v : "?");
	return adm_msg(x->res, "ANR6700I SET DRMPLANPREFIX: Recovery plans "
	    "are written to %syyyymmdd.hhmmss.", cur);
}

int
adm_set_drmplanversions(struct adm_ctx *x)
{
	const char *v = adm_pos(x, 0);
	struct err e;
	char buf[16];
	long n;

	err_clear(&e);
	if (adm_parse_int(v, 1, PLAN_VERSIONS_MAX, 0, &n) != 0)
		return adm_bad_value(x, "VERSIONS", v, "a number of plans "
		    "from 1 to 9999");
	snprintf(buf, sizeof(buf), "%ld", n);
	if (cat_setting_set(x->env->cat, "drmplanversions", buf, &e) != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR6700I SET DRMPLANVERSIONS: The newest %ld "
	    "recovery plans are kept.", n);
}

/* The prefix's directory exists (made 0700 when missing). */
static int
make_plan_dir(const char *prefix, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(prefix, '/');

	if (slash == NULL || slash == prefix)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - prefix), prefix);
	return util_mkdir_p(dir, 0700, e);
}

static int
prepare_result(struct adm_ctx *x, const struct plan_report *rep)
{
	static const char *const cols[] = {
		"plan_file", "nodes", "nodes_missing_rpo", "vms",
		"estimated_recovery_s", "rto_s", "rto_met", "volumes",
		"plans_deleted", "restore_rate_measured",
	};
	char b[7][24];
	const char *v[NELEM(cols)];
	int r;

	v[0] = rep->file;
	v[1] = adm_fmt_u64(rep->nodes, b[0], sizeof(b[0]));
	v[2] = adm_fmt_u64(rep->nodes_missing_rpo, b[1], sizeof(b[1]));
	v[3] = adm_fmt_u64(rep->vms, b[2], sizeof(b[2]));
	v[4] = adm_fmt_u64((uint64_t)rep->estimated_s, b[3], sizeof(b[3]));
	v[5] = rep->rto_s > 0 ? adm_fmt_u64((uint64_t)rep->rto_s, b[4],
	    sizeof(b[4])) : NULL;
	v[6] = rep->rto_met < 0 ? NULL : rep->rto_met ? "yes" : "no";
	v[7] = adm_fmt_u64(rep->volumes, b[5], sizeof(b[5]));
	v[8] = adm_fmt_u64(rep->pruned, b[6], sizeof(b[6]));
	v[9] = rep->measured ? "yes" : "no";
	x->res->shape = PROTO_SHAPE_OBJECT;
	if ((r = adm_colsv(x->res, NELEM(cols), cols)) != 0)
		return r;
	return adm_rowv(x->res, v);
}

int
adm_prepare(struct adm_ctx *x)
{
	const char *pp = adm_arg(x, "PLANPREFIX");
	const char *wait = adm_arg(x, "WAIT");
	char prefix[PATH_MAX], dir[PATH_MAX], tg[24];
	struct plan_params p;
	struct plan_report *rep = NULL;
	struct err e;
	int yes, r;

	err_clear(&e);
	if (wait != NULL && adm_parse_yesno(wait, &yes) != 0)
		return adm_bad_value(x, "WAIT", wait, "YES or NO");
	if (pp != NULL && (pp[0] != '/' || strlen(pp) > PATH_MAX - 64))
		return adm_bad_value(x, "PLANPREFIX", pp, "an absolute path "
		    "(end it with / for a directory)");
	if (pp != NULL)
		snprintf(prefix, sizeof(prefix), "%s", pp);
	else if (adm_plan_prefix(x, prefix, sizeof(prefix)) != 0)
		return adm_error(x, COFFER_EINVAL, "ANR6913E PREPARE: The plan "
		    "prefix is too long; SET DRMPLANPREFIX to a shorter one.");
	if ((r = instance_dir(x, dir, sizeof(dir))) != 0)
		return adm_error(x, r, "ANR6913E PREPARE: The instance "
		    "directory is not known.");
	if ((r = make_plan_dir(prefix, &e)) != 0)
		return adm_failed(x, &e);
	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return COFFER_ENOMEM;
	memset(&p, 0, sizeof(p));
	p.prefix = prefix;
	p.keep = adm_plan_versions(x);
	p.dir = dir;
	p.listen = x->env->listen;
	p.port = x->env->port;
	p.now = x->now;
	/*
	 * The plan is written from catalog reads in the foreground: it takes
	 * well under a second, so WAIT is accepted for TSM habit only.
	 */
	if ((r = plan_prepare(x->env->cat, &p, x->env->pool, rep, &e)) != 0) {
		r = adm_error(x, r, "ANR6913E PREPARE: The recovery plan file "
		    "could not be written: %s.", e.msg);
		goto out;
	}
	if ((r = adm_msg(x->res, "ANR6900I PREPARE: The recovery plan file %s "
	    "was created.", rep->file)) != 0)
		goto out;
	if (rep->nodes_missing_rpo > 0 &&
	    (r = adm_msg_rc(x->res, RC_WARNING, "ANR6901W PREPARE: %zu of %zu "
	    "nodes miss their recovery point objective; see NODES in the "
	    "plan.", rep->nodes_missing_rpo, rep->nodes)) != 0)
		goto out;
	if (rep->rto_met == 0 && (r = adm_msg_rc(x->res, RC_WARNING,
	    "ANR6902W PREPARE: The estimated recovery time exceeds the RTO of "
	    "%s; see RTO in the plan.", rpo_fmt_target(rep->rto_s, tg,
	    sizeof(tg)))) != 0)
		goto out;
	if (rep->pruned > 0 && (r = adm_msg(x->res, "ANR6903I PREPARE: %zu "
	    "older recovery plan files were deleted (DRMPLANVERSIONS %d).",
	    rep->pruned, p.keep)) != 0)
		goto out;
	r = prepare_result(x, rep);
out:
	free(rep);
	return r;
}
