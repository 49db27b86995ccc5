/*
 * stgpool.c - cloud storage pools between the catalog and the pool.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cat.h"
#include "err.h"
#include "pool.h"
#include "pool_backend.h"
#include "s3.h"
#include "secret.h"
#include "stgpool.h"

int
stgpool_node_store(struct cat *c, const char *node)
{
	struct cat_account a;
	struct cat_domain d;
	struct cat_stgpool sp;

	if (cat_account_get(c, CAT_KIND_NODE, node, &a, NULL) != 0)
		return 0;
	if (cat_domain_get(c, a.domain[0] != '\0' ? a.domain : "STANDARD", &d,
	    NULL) != 0 || d.destination[0] == '\0')
		return 0;
	if (cat_stgpool_get(c, d.destination, &sp, NULL) != 0)
		return 0;
	OPENSSL_cleanse(sp.secret, sizeof(sp.secret));
	return sp.store;
}

#ifdef HAVE_S3
static void
conf(struct s3_conf *c, const char *url, const char *bucket,
    const char *identity, const char *secret, const char *cafile)
{
	memset(c, 0, sizeof(*c));
	c->url = url;
	c->bucket = bucket;
	c->access_key = identity;
	c->secret_key = secret;
	c->cafile = cafile != NULL && cafile[0] != '\0' ? cafile : NULL;
}

int
stgpool_check(const char *url, const char *bucket, const char *identity,
    const char *secret, const char *cafile, struct err *e)
{
	struct s3_conf c;
	struct s3 *s;
	int r;

	conf(&c, url, bucket, identity, secret, cafile);
	if ((s = s3_new(&c, e)) == NULL)
		return e != NULL ? e->code : COFFER_EINVAL;
	r = s3_bucket_check(s, 0, e);
	s3_free(s);
	return r;
}

int
stgpool_attach(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, struct err *e)
{
	char secret[S3_KEY_MAX], staging[4096], prefix[40];
	struct pool_backend *be;
	struct s3_conf c;
	int r;

	if ((r = secret_open(dir, sp->name, sp->secret, sp->secret_len, secret,
	    sizeof(secret), e)) != 0)
		return err_wrap(e, "storage pool %s", sp->name);
	conf(&c, sp->url, sp->bucket, sp->identity, secret, sp->cafile);
	snprintf(staging, sizeof(staging), "%s/pool/cloud/%s", dir, sp->name);
	pool_uuid_hex(pool, prefix);
	strcat(prefix, "/");
	be = pool_backend_cloud_open(&c, staging, prefix, e);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (be == NULL)
		return err_wrap(e, "storage pool %s", sp->name);
	if ((r = pool_attach_store(pool, sp->store, be, e)) != 0)
		return err_wrap(e, "storage pool %s", sp->name);
	return 0;
}

/* The pool's object key of container id, as the cloud backend names it. */
static void
ctr_key(struct pool *pool, uint64_t id, char *buf, size_t len)
{
	char prefix[40];

	pool_uuid_hex(pool, prefix);
	snprintf(buf, len, "%s/%016" PRIx64 ".ctr", prefix, id);
}

/* Each probed container is an object of its committed size at s. */
static int
probe_containers(struct pool *pool, const struct cat_stgpool *sp,
    struct s3 *s, const char *url, struct err *e)
{
	uint64_t ids[2], sizes[2], size = 0;
	char key[128];
	int n = 0, r;

	if ((r = pool_store_probe(pool, sp->store, ids, sizes, &n, e)) != 0)
		return r;
	for (int i = 0; i < n; i++) {
		struct err why;

		err_clear(&why);
		ctr_key(pool, ids[i], key, sizeof(key));
		r = s3_head(s, key, &size, &why);
		if (r == COFFER_ENOTFOUND)
			return err_set(e, COFFER_ENOTFOUND, "CLOUDURL %s: "
			    "bucket %s there does not hold container object "
			    "%s of storage pool %s: not the bucket its "
			    "containers are in", url, sp->bucket, key,
			    sp->name);
		if (r != 0) {
			if (e != NULL)
				*e = why;
			return r;
		}
		if (size != sizes[i])
			return err_set(e, COFFER_EEXIST, "CLOUDURL %s: object "
			    "%s in bucket %s holds %" PRIu64 " bytes, storage "
			    "pool %s's container %" PRIu64 ": not the bucket "
			    "its containers are in", url, key, sp->bucket, size,
			    sp->name, sizes[i]);
	}
	return 0;
}

int
stgpool_check_endpoint(struct pool *pool, const struct cat_stgpool *sp,
    const char *url, const char *secret, struct err *e)
{
	struct s3_conf c;
	struct s3 *s;
	int r;

	conf(&c, url, sp->bucket, sp->identity, secret, sp->cafile);
	if ((s = s3_new(&c, e)) == NULL)
		return e != NULL ? e->code : COFFER_EINVAL;
	if ((r = s3_bucket_check(s, 0, e)) == 0)
		r = probe_containers(pool, sp, s, url, e);
	s3_free(s);
	return r;
}

int
stgpool_reconfigure(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, const char *secret, int new_url,
    int *recovered, struct err *e)
{
	int ran = 0;

	*recovered = 0;
	/* A pool whose attach failed at start-up is attached now. */
	if (!pool_store_attached(pool, sp->store)) {
		int const r = stgpool_attach(pool, dir, sp, e);

		*recovered = r == 0;
		return r;
	}
	if (pool_store_set_credentials(pool, sp->store, sp->identity, secret,
	    sp->cafile, e) != 0)
		return err_wrap(e, "storage pool %s", sp->name);
	if (new_url && pool_store_set_endpoint(pool, sp->store, sp->url,
	    e) != 0)
		return err_wrap(e, "storage pool %s", sp->name);
	/* Unreachable at start-up: its recovery runs now, as there. */
	if (pool_store_recover(pool, sp->store, &ran, e) != 0)
		return err_wrap(e, "storage pool %s", sp->name);
	*recovered = ran;
	return 0;
}
#else
int
stgpool_reconfigure(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, const char *secret, int new_url,
    int *recovered, struct err *e)
{
	*recovered = 0;
	return stgpool_check(NULL, NULL, NULL, NULL, NULL, e);
}

int
stgpool_check_endpoint(struct pool *pool, const struct cat_stgpool *sp,
    const char *url, const char *secret, struct err *e)
{
	return stgpool_check(NULL, NULL, NULL, NULL, NULL, e);
}

int
stgpool_check(const char *url, const char *bucket, const char *identity,
    const char *secret, const char *cafile, struct err *e)
{
	return err_set(e, COFFER_EINVAL, "this server was built without "
	    "cloud storage pools (configure --with-s3; apt-get install "
	    "libcurl4-openssl-dev)");
}

int
stgpool_attach(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, struct err *e)
{
	return stgpool_check(NULL, NULL, NULL, NULL, NULL, e);
}
#endif
