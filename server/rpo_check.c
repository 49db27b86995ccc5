/*
 * rpo_check.c - the periodic RPO check (see rpo_check.h): rpo_eval per
 * node, compared with the catalog's record of the misses already warned
 * about.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat.h"
#include "err.h"
#include "rpo.h"
#include "rpo_check.h"

/* "its newest recoverable copy here is 26h 3m old (last backup ...)". */
static void
describe_miss(const struct rpo_status *st, const char *repl, char *buf,
    size_t len)
{
	char age[24], when[32];
	size_t used = 0;

	buf[0] = '\0';
	if (!st->local_met) {
		if (st->local_copy == 0)
			used += (size_t)snprintf(buf, len, "it has never been "
			    "backed up here");
		else
			used += (size_t)snprintf(buf, len, "its newest "
			    "recoverable copy here is %s old (last backup %s)",
			    rpo_fmt_age(st->local_age, age, sizeof(age)),
			    rpo_fmt_when(st->local_copy, when, sizeof(when)));
	}
	if (st->replicated && !st->hot_met && used < len) {
		if (st->hot_copy == 0)
			snprintf(buf + used, len - used, "%sno backup of it "
			    "has been replicated to the hot site %s yet",
			    used ? "; " : "", repl);
		else
			snprintf(buf + used, len - used, "%sits newest copy at "
			    "the hot site %s is %s old (backup of %s)",
			    used ? "; " : "", repl,
			    rpo_fmt_age(st->hot_age, age, sizeof(age)),
			    rpo_fmt_when(st->hot_copy, when, sizeof(when)));
	}
}

/* Record the transition of node a and log it, in one transaction. */
static int
transition(struct cat *c, const struct cat_account *a,
    const struct rpo_status *st, const char *repl, int64_t now,
    struct err *e)
{
	char target[24], why[600], age[24];
	int r;

	if ((r = cat_begin(c, e)) != 0)
		return r;
	rpo_fmt_target(st->rpo_s, target, sizeof(target));
	if (st->state == RPO_MISSED) {
		describe_miss(st, repl, why, sizeof(why));
		if ((r = cat_rpo_miss_set(c, a->name, now, e)) == 0)
			r = cat_actlog(c, CAT_SEV_WARN, 4970, a->name,
			    "Node %s misses its recovery point objective of "
			    "%s: %s.", a->name, target, why);
	} else {
		if ((r = cat_rpo_miss_set(c, a->name, 0, e)) == 0 &&
		    st->state == RPO_MET)
			r = cat_actlog(c, CAT_SEV_INFO, 4971, a->name,
			    "Node %s meets its recovery point objective of %s "
			    "again: its newest recoverable copy is %s old.",
			    a->name, target, rpo_fmt_age(st->replicated &&
			    st->hot_age > st->local_age ? st->hot_age :
			    st->local_age, age, sizeof(age)));
	}
	if (r != 0) {
		cat_rollback(c);
		/* cat_actlog reports no detail of its own. */
		if (e != NULL && e->code == 0)
			err_set(e, r, "activity log: %s", err_str(r));
		err_wrap(e, "RPO check of node %s", a->name);
		return r;
	}
	return cat_commit(c, e);
}

int
rpo_check_run(struct cat *c, int64_t now, struct rpo_check_report *rep,
    struct err *e)
{
	struct cat_account *v = NULL;
	char repl[CAT_NAME_MAX + 1];
	size_t n = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	repl[0] = '\0';
	r = cat_setting_get(c, "replserver", repl, sizeof(repl), e);
	if (r != 0 && r != COFFER_ENOTFOUND)
		return r;
	if ((r = cat_rpo_miss_prune(c, e)) != 0 ||
	    (r = cat_account_array(c, CAT_KIND_NODE, NULL, &v, &n, e)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct rpo_status st;
		int64_t since;

		rpo_eval(&v[i], rpo_replicated(&v[i], repl), now, &st);
		rep->nodes++;
		if (st.state == RPO_MET)
			rep->met++;
		else if (st.state == RPO_MISSED)
			rep->missed++;
		if ((r = cat_rpo_miss_get(c, v[i].name, &since, e)) != 0)
			goto out;
		/* Warn on the way in, and say so on the way out: once each. */
		if ((st.state == RPO_MISSED) == (since != 0))
			continue;
		if ((r = transition(c, &v[i], &st, repl, now, e)) != 0)
			goto out;
		if (st.state == RPO_MISSED)
			rep->warned++;
		else if (st.state == RPO_MET)
			rep->cleared++;
	}
out:
	free(v);
	return r;
}

int
rpo_check_parse_interval(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;
	int64_t unit = 1;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return COFFER_EINVAL;
	v = strtoll(s, &end, 10);
	switch (*end) {
	case '\0':
		break;
	case 's': case 'S':
		end++;
		break;
	case 'm': case 'M':
		unit = 60;
		end++;
		break;
	case 'h': case 'H':
		unit = 3600;
		end++;
		break;
	default:
		return COFFER_EINVAL;
	}
	/* A day is the longest interval that still warns the same day. */
	if (*end != '\0' || v < 0 || v > 86400 || v * unit > 86400)
		return COFFER_EINVAL;
	*out = (int64_t)v * unit;
	return 0;
}
