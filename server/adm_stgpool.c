/*
 * adm_stgpool.c - DEFINE STGPOOL (cloud pools on S3) and QUERY STGPOOL.
 *
 * UPDATE STGPOOL changes a cloud pool's key, CA file and endpoint (checked
 * first, as DEFINE checks them) or CONTAINERPOOL's reclamation threshold;
 * DELETE STGPOOL removes a cloud pool that holds nothing and that no
 * domain names, and leaves its bucket alone.
 *
 * TSM's cloud-container pool: DEFINE STGPOOL NAME STGTYPE=CLOUD
 * CLOUDTYPE=S3 CLOUDURL=... IDENTITY=... PASSWORD=... (REFERENCE: the
 * cloud URL names the endpoint), plus BUCKET= (TSM derives it; we let
 * the site choose, as radosgw users share buckets by policy) and CAFILE=
 * for an https endpoint under a private CA.  The endpoint, credentials
 * and bucket are checked before anything is stored, so a wrong key or a
 * missing bucket is reported now rather than by the first night's backup.
 * The bucket is never created here: who owns it, its placement and its
 * quotas are the object-store administrator's decision.
 *
 * Backups go to a cloud pool when their node's domain names it as
 * DESTINATION (UPDATE DOMAIN NAME DESTINATION=POOL), as TSM's copy group
 * does.  CONTAINERPOOL, the directory pool, is every domain's default.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "pool.h"
#include "proto.h"
#include "secret.h"
#include "stgpool.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A required text parameter that fits len; NULL after reporting. */
static const char *
need(struct adm_ctx *x, const char *name, size_t len, int *r)
{
	const char *v = adm_arg(x, name);

	if (v == NULL || v[0] == '\0') {
		*r = adm_bad(x, "%s= is required with STGTYPE=CLOUD", name);
		return NULL;
	}
	if (strlen(v) >= len) {
		*r = adm_bad(x, "%s is longer than %zu characters", name,
		    len - 1);
		return NULL;
	}
	return v;
}

/* The lowest store number no pool uses. */
static int
free_store(const struct cat_stgpool *v, size_t n)
{
	for (int s = 1; s < POOL_STORES_MAX; s++) {
		size_t i;

		for (i = 0; i < n && v[i].store != s; i++)
			;
		if (i == n)
			return s;
	}
	return -1;
}

int
adm_define_stgpool(struct adm_ctx *x)
{
	const char *type = adm_arg(x, "STGTYPE");
	const char *ctype = adm_arg(x, "CLOUDTYPE");
	const char *url, *bucket, *ident, *pw, *cafile = adm_arg(x, "CAFILE");
	struct cat_stgpool sp, *all = NULL;
	size_t nall = 0;
	struct err e;
	int r = 0;

	err_clear(&e);
	memset(&sp, 0, sizeof(sp));
	if ((r = adm_name(x, "storage pool name", adm_pos(x, 0), sp.name)) != 0)
		return r;
	if (strcmp(sp.name, ADM_POOL_NAME) == 0)
		return adm_error(x, COFFER_EEXIST, "ANR2209E %s: Storage pool "
		    "%s is already defined (the directory pool).",
		    x->cmd->title, sp.name);
	if (type == NULL || strcasecmp(type, "CLOUD") != 0)
		return adm_bad_value(x, "STGTYPE", type ? type : "", "CLOUD "
		    "(the directory pool CONTAINERPOOL is made by format)");
	if (ctype != NULL && strcasecmp(ctype, "S3") != 0)
		return adm_bad_value(x, "CLOUDTYPE", ctype, "S3");
	if ((url = need(x, "CLOUDURL", sizeof(sp.url), &r)) == NULL ||
	    (bucket = need(x, "BUCKET", sizeof(sp.bucket), &r)) == NULL ||
	    (ident = need(x, "IDENTITY", sizeof(sp.identity), &r)) == NULL ||
	    (pw = need(x, "PASSWORD", 256, &r)) == NULL)
		return r;
	if (cafile != NULL && strlen(cafile) >= sizeof(sp.cafile))
		return adm_bad(x, "CAFILE is too long");
	if (x->env->dir == NULL || x->env->pool == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2033E %s: Command failed "
		    "- no server instance to hold the pool.", x->cmd->title);
	if (cat_stgpool_get(x->env->cat, sp.name, &sp, NULL) == 0)
		return adm_error(x, COFFER_EEXIST, "ANR2209E %s: Storage pool "
		    "%s is already defined.", x->cmd->title, sp.name);
	/* Now, not at 2 a.m.: the endpoint, the key and the bucket. */
	if ((r = stgpool_check(url, bucket, ident, pw, cafile, &e)) != 0)
		return adm_failed(x, &e);
	if ((r = cat_stgpool_array(x->env->cat, &all, &nall, &e)) != 0)
		return adm_failed(x, &e);
	sp.store = free_store(all, nall);
	free(all);
	if (sp.store < 0)
		return adm_error(x, COFFER_ETOOBIG, "ANR2033E %s: Command failed "
		    "- at most %d cloud storage pools.", x->cmd->title,
		    POOL_STORES_MAX - 1);
	snprintf(sp.url, sizeof(sp.url), "%s", url);
	snprintf(sp.bucket, sizeof(sp.bucket), "%s", bucket);
	snprintf(sp.identity, sizeof(sp.identity), "%s", ident);
	snprintf(sp.cafile, sizeof(sp.cafile), "%s", cafile ? cafile : "");
	sp.created = (int64_t)time(NULL);
	if ((r = secret_seal(x->env->dir, sp.name, pw, sp.secret,
	    sizeof(sp.secret), &sp.secret_len, &e)) != 0)
		return adm_failed(x, &e);
	r = cat_stgpool_define(x->env->cat, &sp, &e);
	if (r == COFFER_EEXIST)
		return adm_error(x, r, "ANR2209E %s: Storage pool %s is "
		    "already defined.", x->cmd->title, sp.name);
	if (r != 0)
		return adm_failed(x, &e);
	if ((r = stgpool_attach(x->env->pool, x->env->dir, &sp, &e)) != 0) {
		/* Defined; its recovery failed: the restart tries again. */
		(void)adm_msg_rc(x->res, RC_WARNING, "ANR2200W %s: Storage pool "
		    "%s defined, but: %s", x->cmd->title, sp.name, e.msg);
		return 0;
	}
	return adm_msg(x->res, "ANR2200I Storage pool %s defined (type CLOUD,"
	    " bucket %s at %s).", sp.name, sp.bucket, sp.url);
}

/* ---- UPDATE STGPOOL ---- */

/* The named cloud pool into sp; reports ANR1520E when it is not one. */
static int
get_cloud(struct adm_ctx *x, const char *name, struct cat_stgpool *sp)
{
	struct err e;
	int r;

	err_clear(&e);
	r = cat_stgpool_get(x->env->cat, name, sp, &e);
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR1520E %s: Storage pool %s is not "
		    "defined.", x->cmd->title, name);
	return r != 0 ? adm_failed(x, &e) : 0;
}

/* RECLAIM=: TSM's reclaimable share; the pool keeps the live share. */
static int
update_reclaim(struct adm_ctx *x, const char *v)
{
	struct err e;
	long n;

	err_clear(&e);
	if (adm_parse_int(v, 1, 100, 0, &n) != 0)
		return adm_bad_value(x, "RECLAIM", v, "a percentage of "
		    "reclaimable space from 1 to 100");
	if (pool_set_reclaim_pct(x->env->pool, 100 - (int)n, &e) != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2202I Storage pool %s updated (reclaim "
	    "at %ld%% reclaimable space).", ADM_POOL_NAME, n);
}

/*
 * Parameters a cloud pool keeps for life: its containers are objects in
 * that bucket.  CLOUDURL= may change (the same bucket behind another
 * gateway address), checked by update_cloud().
 */
static int
refuse_fixed(struct adm_ctx *x, const struct cat_stgpool *sp)
{
	static const char *const fixed[] = {
		"STGTYPE", "CLOUDTYPE", "BUCKET",
	};

	for (size_t i = 0; i < NELEM(fixed); i++)
		if (adm_arg(x, fixed[i]) != NULL)
			return adm_bad(x, "%s= of %s cannot be changed: its "
			    "containers are objects in bucket %s at %s; define "
			    "a new pool instead", fixed[i], sp->name,
			    sp->bucket, sp->url);
	if (adm_arg(x, "RECLAIM") != NULL)
		return adm_bad(x, "RECLAIM= is the server pool's: update "
		    "%s, whose threshold covers the containers of every "
		    "pool", ADM_POOL_NAME);
	return 0;
}

/* The parameters of UPDATE STGPOOL for a cloud pool, checked for size. */
static int
cloud_args(struct adm_ctx *x, const struct cat_stgpool *sp, size_t pwmax)
{
	const char *ident = adm_arg(x, "IDENTITY"), *pw = adm_arg(x, "PASSWORD");
	const char *cafile = adm_arg(x, "CAFILE"), *url = adm_arg(x, "CLOUDURL");
	int r;

	if ((r = refuse_fixed(x, sp)) != 0)
		return r;
	if (ident != NULL && (ident[0] == '\0' ||
	    strlen(ident) >= sizeof(sp->identity)))
		return adm_bad(x, "IDENTITY must be 1 to %zu characters",
		    sizeof(sp->identity) - 1);
	if (pw != NULL && (pw[0] == '\0' || strlen(pw) >= pwmax))
		return adm_bad(x, "PASSWORD must be 1 to %zu characters",
		    pwmax - 1);
	if (cafile != NULL && strlen(cafile) >= sizeof(sp->cafile))
		return adm_bad(x, "CAFILE is too long");
	if (url != NULL && (url[0] == '\0' || strlen(url) >= sizeof(sp->url)))
		return adm_bad(x, "CLOUDURL must be 1 to %zu characters",
		    sizeof(sp->url) - 1);
	return 0;
}

/*
 * New identity, secret, CA file or endpoint, checked against the bucket
 * before anything is stored, as DEFINE does: a wrong key or URL is refused
 * now and the pool goes on with the old.  A new endpoint must also hold
 * this pool's containers (stgpool_check_endpoint()): a gateway of another
 * cluster with a bucket of the same name is refused.
 */
static int
update_cloud(struct adm_ctx *x, struct cat_stgpool *sp)
{
	const char *ident = adm_arg(x, "IDENTITY"), *pw = adm_arg(x, "PASSWORD");
	const char *cafile = adm_arg(x, "CAFILE"), *url = adm_arg(x, "CLOUDURL");
	char secret[256], oldurl[sizeof(sp->url)];
	int r, new_url, recovered = 0;
	struct err e;

	err_clear(&e);
	if ((r = cloud_args(x, sp, sizeof(secret))) != 0)
		return r;
	if (pw != NULL)
		snprintf(secret, sizeof(secret), "%s", pw);
	else if ((r = secret_open(x->env->dir, sp->name, sp->secret,
	    sp->secret_len, secret, sizeof(secret), &e)) != 0)
		return adm_failed(x, &e);
	if (ident != NULL)
		snprintf(sp->identity, sizeof(sp->identity), "%s", ident);
	if (cafile != NULL)
		snprintf(sp->cafile, sizeof(sp->cafile), "%s", cafile);
	snprintf(oldurl, sizeof(oldurl), "%s", sp->url);
	new_url = url != NULL && strcmp(url, sp->url) != 0;
	if (new_url)
		r = stgpool_check_endpoint(x->env->pool, sp, url, secret, &e);
	else
		r = stgpool_check(sp->url, sp->bucket, sp->identity, secret,
		    sp->cafile, &e);
	if (r != 0)
		goto out;
	if (new_url)
		snprintf(sp->url, sizeof(sp->url), "%s", url);
	if (pw != NULL && (r = secret_seal(x->env->dir, sp->name, secret,
	    sp->secret, sizeof(sp->secret), &sp->secret_len, &e)) != 0)
		goto out;
	if ((r = cat_stgpool_update(x->env->cat, sp, &e)) != 0)
		goto out;
	if (stgpool_reconfigure(x->env->pool, x->env->dir, sp, secret,
	    new_url, &recovered, &e) != 0) {
		/* Stored; the running store did not take it: a restart will. */
		OPENSSL_cleanse(secret, sizeof(secret));
		return adm_msg_rc(x->res, RC_WARNING, "ANR2202W %s: Storage "
		    "pool %s updated, but: %s", x->cmd->title, sp->name, e.msg);
	}
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r != 0)
		return adm_failed(x, &e);
	if (new_url)
		(void)adm_msg(x->res, "ANR2202I Storage pool %s moved from %s "
		    "to %s (bucket %s).", sp->name, oldurl, sp->url,
		    sp->bucket);
	if (recovered)
		(void)adm_msg(x->res, "ANR2203I Storage pool %s reached: its "
		    "start-up recovery ran (leftovers of an interrupted "
		    "reclamation and unindexed objects removed).", sp->name);
	return adm_msg(x->res, "ANR2202I Storage pool %s updated (identity %s"
	    "%s%s).", sp->name, sp->identity, sp->cafile[0] != '\0' ?
	    ", cafile " : "", sp->cafile);
}

int
adm_update_stgpool(struct adm_ctx *x)
{
	const char *reclaim = adm_arg(x, "RECLAIM");
	struct cat_stgpool sp;
	char name[CAT_NAME_MAX + 1];
	int r, any = 0;

	if ((r = adm_name(x, "storage pool name", adm_pos(x, 0), name)) != 0)
		return r;
	for (size_t i = 0; i < x->cmd->nparam; i++)
		any |= x->val[i] != NULL;
	if (!any)
		return adm_bad(x, "nothing to update; give RECLaim (%s), or "
		    "IDentity, PASsword, CAFile or CLOUDUrl (a cloud pool)",
		    ADM_POOL_NAME);
	if (x->env->dir == NULL || x->env->pool == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2033E %s: Command failed "
		    "- no server instance holds the pool.", x->cmd->title);
	if (strcmp(name, ADM_POOL_NAME) == 0) {
		for (size_t i = 0; i < x->cmd->nparam; i++)
			if (x->val[i] != NULL &&
			    strcmp(x->cmd->params[i].kw.name, "RECLAIM") != 0)
				return adm_bad(x, "%s= is for cloud pools; %s "
				    "(the directory pool) takes RECLaim=",
				    x->cmd->params[i].kw.name, ADM_POOL_NAME);
		return update_reclaim(x, reclaim);
	}
	memset(&sp, 0, sizeof(sp));
	if ((r = get_cloud(x, name, &sp)) != 0)
		return r;
	r = update_cloud(x, &sp);
	OPENSSL_cleanse(sp.secret, sizeof(sp.secret));
	return r;
}

/* ---- DELETE STGPOOL ---- */

struct dest_users {
	const char	*pool;
	char		 names[256];	/* domains naming it, comma-separated */
	int		 n;
};

static int
dest_user(void *arg, const struct cat_domain *d)
{
	struct dest_users *u = arg;
	size_t const len = strlen(u->names);

	if (strcmp(d->destination, u->pool) != 0)
		return 0;
	if (len + strlen(d->name) + 6 < sizeof(u->names))
		snprintf(u->names + len, sizeof(u->names) - len, "%s%s",
		    u->n > 0 ? ", " : "", d->name);
	else if (len + 4 < sizeof(u->names) && !strstr(u->names, "..."))
		strcat(u->names, ", ...");
	u->n++;
	return 0;
}

/* Refuse while a domain sends backups there (TSM's copy group rule). */
static int
refuse_destination(struct adm_ctx *x, const char *pool)
{
	struct dest_users u;
	struct err e;

	err_clear(&e);
	memset(&u, 0, sizeof(u));
	u.pool = pool;
	if (cat_domain_list(x->env->cat, dest_user, &u, &e) != 0)
		return adm_failed(x, &e);
	if (u.n == 0)
		return 0;
	return adm_error(x, COFFER_EBUSY, "ANR2414E %s: Storage pool %s is "
	    "the destination of policy domain%s %s; UPDATE DOMAIN ... "
	    "DESTINATION= another pool first.", x->cmd->title, pool,
	    u.n > 1 ? "s" : "", u.names);
}

int
adm_delete_stgpool(struct adm_ctx *x)
{
	struct cat_stgpool sp;
	char name[CAT_NAME_MAX + 1], staging[4096];
	struct err e;
	int r;

	err_clear(&e);
	if ((r = adm_name(x, "storage pool name", adm_pos(x, 0), name)) != 0)
		return r;
	if (strcmp(name, ADM_POOL_NAME) == 0)
		return adm_error(x, COFFER_EPERM, "ANR2410E %s: Storage pool %s "
		    "is the server's directory pool, every domain's default; "
		    "it cannot be deleted.", x->cmd->title, name);
	if (x->env->dir == NULL || x->env->pool == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2033E %s: Command failed "
		    "- no server instance holds the pool.", x->cmd->title);
	memset(&sp, 0, sizeof(sp));
	if ((r = get_cloud(x, name, &sp)) != 0 ||
	    (r = refuse_destination(x, sp.name)) != 0)
		goto out;
	/* The bucket is never emptied here: only a pool with nothing goes. */
	r = pool_detach_store(x->env->pool, sp.store, &e);
	if (r == COFFER_EEXIST) {
		r = adm_error(x, r, "ANR2410E %s: Storage pool %s still holds "
		    "data: %s; expire what is stored there and RECLAIM STGPOOL "
		    "first.", x->cmd->title, sp.name, e.msg);
		goto out;
	}
	if (r == COFFER_EBUSY) {
		r = adm_error(x, r, "ANR2410E %s: Storage pool %s is in use: %s;"
		    " try again when it ends.", x->cmd->title, sp.name, e.msg);
		goto out;
	}
	if (r != 0) {
		r = adm_failed(x, &e);
		goto out;
	}
	if ((r = cat_stgpool_delete(x->env->cat, sp.name, &e)) != 0) {
		struct err e2;

		/* A domain came to name it meanwhile: keep serving it. */
		err_clear(&e2);
		(void)stgpool_attach(x->env->pool, x->env->dir, &sp, &e2);
		r = adm_failed(x, &e);
		goto out;
	}
	snprintf(staging, sizeof(staging), "%s/pool/cloud/%s", x->env->dir,
	    sp.name);
	(void)util_rm_rf(staging);
	r = adm_msg(x->res, "ANR2201I Storage pool %s deleted; bucket %s at %s "
	    "is left as it was.", sp.name, sp.bucket, sp.url);
out:
	OPENSSL_cleanse(sp.secret, sizeof(sp.secret));
	return r;
}

/* ---- QUERY STGPOOL ---- */

static int
pool_row(struct adm_ctx *x, const char *name, const char *type, int store,
    const struct cat_stgpool *sp, uint64_t *damaged, struct err *e)
{
	char b[7][24], pct[16], rec[16];
	struct pool_stats s;
	const char *v[13];

	if (pool_store_stats(x->env->pool, store, &s, e) != 0)
		return adm_failed(x, e);
	/*
	 * What compression saves on the live chunks; deduplication's saving
	 * is QUERY OCCUPANCY's logical bytes against logical_bytes here.
	 */
	snprintf(pct, sizeof(pct), "%.1f", s.raw_bytes == 0 ? 0.0 :
	    100.0 * (1.0 - (double)s.stored_bytes / (double)s.raw_bytes));
	v[0] = name;
	v[1] = type;
	v[2] = adm_fmt_u64(s.containers, b[0], sizeof(b[0]));
	v[3] = adm_fmt_u64(s.container_bytes, b[1], sizeof(b[1]));
	v[4] = adm_fmt_u64(s.raw_bytes, b[2], sizeof(b[2]));
	v[5] = adm_fmt_u64(s.stored_bytes, b[3], sizeof(b[3]));
	v[6] = adm_fmt_u64(s.chunks, b[4], sizeof(b[4]));
	v[7] = adm_fmt_u64(s.damaged, b[5], sizeof(b[5]));
	v[8] = pct;
	/* Never the secret: not even sealed. */
	v[9] = sp != NULL ? sp->url : NULL;
	v[10] = sp != NULL ? sp->bucket : NULL;
	v[11] = sp != NULL ? sp->identity : NULL;
	/*
	 * TSM's reclamation threshold (reclaimable share); one for the
	 * server's pool, so every store shows it.
	 */
	snprintf(rec, sizeof(rec), "%d", 100 -
	    pool_get_params(x->env->pool)->reclaim_pct);
	v[12] = rec;
	*damaged += s.damaged;
	return adm_query_row(x, v);
}

int
adm_query_stgpool(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"stgpool_name", "type", "containers", "capacity_used_bytes",
		"logical_bytes", "stored_bytes", "chunks", "damaged",
		"reduction_pct", "cloud_url", "bucket", "identity", "reclaim",
	};
	const char *pat = adm_pos(x, 0);
	char upat[2 * CAT_NAME_MAX + 1];
	struct cat_stgpool *sp = NULL;
	uint64_t damaged = 0;
	size_t n = 0;
	struct err e;
	int r;

	err_clear(&e);
	if (pat != NULL && adm_upper(pat, upat, sizeof(upat)) != 0)
		return adm_bad(x, "the pattern is longer than %d characters",
		    2 * CAT_NAME_MAX);
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	if (x->env->pool == NULL)
		return adm_rows_done(x);
	if (pat == NULL || adm_wildmatch(upat, ADM_POOL_NAME, 1)) {
		if ((r = pool_row(x, ADM_POOL_NAME, "DIRECTORY", 0, NULL,
		    &damaged, &e)) != 0)
			return r < 0 ? r : adm_rows_done(x);
	}
	if ((r = cat_stgpool_array(x->env->cat, &sp, &n, &e)) != 0)
		return adm_failed(x, &e);
	for (size_t i = 0; i < n && r == 0; i++)
		if (pat == NULL || adm_wildmatch(upat, sp[i].name, 1))
			r = pool_row(x, sp[i].name, "CLOUD", sp[i].store, &sp[i],
			    &damaged, &e);
	free(sp);
	if (r != 0)
		return r < 0 ? r : adm_rows_done(x);
	if (x->res->nrow == 0)
		return adm_rows_done(x);
	if (damaged > 0)
		return adm_msg_rc(x->res, RC_WARNING, "ANR4891W %s: %" PRIu64
		    " damaged chunks; see QUERY ACTLOG SEARCH=damaged.",
		    x->cmd->title, damaged);
	return 0;
}
