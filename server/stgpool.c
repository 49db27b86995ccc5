/*
 * stgpool.c - cloud storage pools between the catalog and the pool.
 */
#include "config.h"

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

int
stgpool_reconfigure(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, const char *secret, struct err *e)
{
	/* A pool whose attach failed at start-up is attached now. */
	if (!pool_store_attached(pool, sp->store))
		return stgpool_attach(pool, dir, sp, e);
	if (pool_store_set_credentials(pool, sp->store, sp->identity, secret,
	    sp->cafile, e) != 0)
		return err_wrap(e, "storage pool %s", sp->name);
	return 0;
}
#else
int
stgpool_reconfigure(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, const char *secret, struct err *e)
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
