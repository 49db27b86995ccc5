/*
 * adm_domain.c - policy domains: DEFINE, UPDATE and QUERY DOMAIN.
 *
 * The copy-group values live on the domain itself (DESIGN "Catalog"): one
 * domain stands for TSM's domain, its ACTIVE policy set, default
 * management class and backup copy group STANDARD.  Defaults are TSM's:
 * VEREXISTS 2, VERDELETED 1, RETEXTRA 30, RETONLY 60 (REFERENCE 1.2).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define POLICY_MAX	9999	/* TSM's upper bound for the four values */

/* One of the four values: NOLIMIT or lo..9999. */
static int
get_limit(struct adm_ctx *x, const char *name, long lo, int *out)
{
	const char *v = adm_arg(x, name);
	char expect[64];
	long n;

	if (v == NULL)
		return 0;
	if (adm_parse_int(v, lo, POLICY_MAX, 1, &n) != 0) {
		snprintf(expect, sizeof(expect), "a number from %ld to %d or "
		    "NOLIMIT", lo, POLICY_MAX);
		return adm_bad_value(x, name, v, expect);
	}
	*out = (int)n;
	return 0;
}

/* Apply the parameters given to d. */
static int
apply_params(struct adm_ctx *x, struct cat_domain *d)
{
	const char *desc = adm_arg(x, "DESCRIPTION");
	const char *dest = adm_arg(x, "DESTINATION");
	struct cat_stgpool sp;
	char pool[CAT_NAME_MAX + 1];
	struct err e;
	int r;

	if ((r = get_limit(x, "VEREXISTS", 1, &d->verexists)) != 0 ||
	    (r = get_limit(x, "VERDELETED", 0, &d->verdeleted)) != 0 ||
	    (r = get_limit(x, "RETEXTRA", 0, &d->retextra)) != 0 ||
	    (r = get_limit(x, "RETONLY", 0, &d->retonly)) != 0)
		return r;
	if (desc != NULL) {
		if (strlen(desc) >= sizeof(d->description))
			return adm_bad(x, "DESCRIPTION is %zu characters long; "
			    "at most %zu are kept", strlen(desc),
			    sizeof(d->description) - 1);
		snprintf(d->description, sizeof(d->description), "%s", desc);
	}
	if (dest != NULL) {
		/* The copy group's DESTINATION: where new backups go. */
		if ((r = adm_name(x, "storage pool name", dest, pool)) != 0)
			return r;
		err_clear(&e);
		if (strcmp(pool, ADM_POOL_NAME) == 0)
			pool[0] = '\0';
		else if ((r = cat_stgpool_get(x->env->cat, pool, &sp, &e)) ==
		    COFFER_ENOTFOUND)
			return adm_error(x, r, "ANR1520E %s: Storage pool %s is "
			    "not defined.", x->cmd->title, pool);
		else if (r != 0)
			return adm_failed(x, &e);
		snprintf(d->destination, sizeof(d->destination), "%s", pool);
	}
	return 0;
}

int
adm_define_domain(struct adm_ctx *x)
{
	struct cat_domain d;
	struct err e;
	int r;

	memset(&d, 0, sizeof(d));
	err_clear(&e);
	if ((r = adm_name(x, "domain name", adm_pos(x, 0), d.name)) != 0)
		return r;
	d.verexists = 2;
	d.verdeleted = 1;
	d.retextra = 30;
	d.retonly = 60;
	if ((r = apply_params(x, &d)) != 0)
		return r;
	r = cat_domain_define(x->env->cat, &d, &e);
	if (r == COFFER_EEXIST)
		return adm_error(x, r, "ANR1501E %s: Policy domain %s is "
		    "already defined.", x->cmd->title, d.name);
	if (r != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR1500I Policy domain %s defined.", d.name);
}

int
adm_update_domain(struct adm_ctx *x)
{
	struct cat_domain d;
	char name[CAT_NAME_MAX + 1];
	struct err e;
	size_t i;
	int r, any = 0;

	err_clear(&e);
	if ((r = adm_name(x, "domain name", adm_pos(x, 0), name)) != 0)
		return r;
	for (i = 0; i < x->cmd->nparam; i++)
		any |= x->val[i] != NULL;
	if (!any)
		return adm_bad(x, "nothing to update; give VERExists, "
		    "VERDeleted, RETExtra, RETOnly, DESCription or "
		    "DESTination");
	r = cat_domain_get(x->env->cat, name, &d, &e);
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR1512E %s: Policy domain %s is not "
		    "defined.", x->cmd->title, name);
	if (r != 0)
		return adm_failed(x, &e);
	if ((r = apply_params(x, &d)) != 0)
		return r;
	if (cat_domain_update(x->env->cat, &d, &e) != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR1502I Policy domain %s updated.", d.name);
}

/* ---- QUERY DOMAIN ---- */

struct dom_list {
	struct cat_domain	*v;
	uint64_t		*nodes;
	size_t			 n, cap;
	const char		*pattern;	/* upper-case, or NULL */
	int			 full;
};

static int
dom_collect(void *arg, const struct cat_domain *d)
{
	struct dom_list *l = arg;

	if (l->pattern != NULL && !adm_wildmatch(l->pattern, d->name, 1))
		return 0;
	if (l->n == ADM_ROWS_MAX) {
		l->full = 1;
		return 1;
	}
	if (l->n == l->cap) {
		size_t const cap = l->cap ? l->cap * 2 : 8;
		struct cat_domain *nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
	return 0;
}

/* Nodes per domain, counted off one walk of the nodes. */
static int
count_node(void *arg, const struct cat_account *a)
{
	struct dom_list *l = arg;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, a->domain) == 0) {
			l->nodes[i]++;
			break;
		}
	}
	return 0;
}

static int
domain_rows(struct adm_ctx *x, const struct dom_list *l)
{
	char ve[16], vd[16], re[16], ro[16], nn[24];
	const char *v[8];
	size_t i;
	int r = 0;

	for (i = 0; i < l->n && r == 0; i++) {
		const struct cat_domain *d = &l->v[i];

		v[0] = d->name;
		v[1] = adm_fmt_limit(d->verexists, ve, sizeof(ve));
		v[2] = adm_fmt_limit(d->verdeleted, vd, sizeof(vd));
		v[3] = adm_fmt_limit(d->retextra, re, sizeof(re));
		v[4] = adm_fmt_limit(d->retonly, ro, sizeof(ro));
		v[5] = d->description[0] != '\0' ? d->description : NULL;
		v[6] = adm_fmt_u64(l->nodes[i], nn, sizeof(nn));
		v[7] = d->destination[0] != '\0' ? d->destination :
		    ADM_POOL_NAME;
		r = adm_query_row(x, v);
	}
	return r;
}

int
adm_query_domain(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"domain_name", "verexists", "verdeleted", "retextra",
		"retonly", "description", "nodes", "destination",
	};
	const char *pat = adm_pos(x, 0);
	char upat[2 * CAT_NAME_MAX + 1];
	struct dom_list l;
	struct err e;
	int r;

	memset(&l, 0, sizeof(l));
	err_clear(&e);
	if (pat != NULL) {
		if (adm_upper(pat, upat, sizeof(upat)) != 0)
			return adm_bad(x, "the pattern is longer than %d "
			    "characters", 2 * CAT_NAME_MAX);
		l.pattern = upat;
	}
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		goto out;
	r = cat_domain_list(x->env->cat, dom_collect, &l, &e);
	if (l.full)
		x->res->truncated = 1;
	else if (r == COFFER_ENOMEM)
		goto out;
	else if (r != 0) {
		r = adm_failed(x, &e);
		goto out;
	}
	if (l.n > 0 && (l.nodes = calloc(l.n, sizeof(*l.nodes))) == NULL) {
		r = COFFER_ENOMEM;
		goto out;
	}
	if (l.n > 0 && (r = cat_account_list(x->env->cat, CAT_KIND_NODE,
	    NULL, count_node, &l, &e)) != 0) {
		r = adm_failed(x, &e);
		goto out;
	}
	if ((r = domain_rows(x, &l)) >= 0)
		r = adm_rows_done(x);
out:
	free(l.v);
	free(l.nodes);
	return r;
}
