/*
 * adm_stgpool.c - DEFINE STGPOOL (cloud pools on S3) and QUERY STGPOOL.
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

/* ---- QUERY STGPOOL ---- */

static int
pool_row(struct adm_ctx *x, const char *name, const char *type, int store,
    const struct cat_stgpool *sp, uint64_t *damaged, struct err *e)
{
	char b[7][24], pct[16];
	struct pool_stats s;
	const char *v[12];

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
	*damaged += s.damaged;
	return adm_query_row(x, v);
}

int
adm_query_stgpool(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"stgpool_name", "type", "containers", "capacity_used_bytes",
		"logical_bytes", "stored_bytes", "chunks", "damaged",
		"reduction_pct", "cloud_url", "bucket", "identity",
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
