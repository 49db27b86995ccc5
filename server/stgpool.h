/*
 * stgpool.h - cloud storage pools: check an S3 endpoint at DEFINE
 * STGPOOL time and attach a defined pool's store to the container pool.
 *
 * Cloud containers are objects POOLUUID/ID.ctr in the pool's bucket; the
 * open container is staged under DIR/pool/cloud/NAME/.
 */
#ifndef COFFER_STGPOOL_H
#define COFFER_STGPOOL_H

struct cat_stgpool;
struct err;
struct pool;

struct cat;

/*
 * The store a node's new chunks go to: its domain's DESTINATION (a cloud
 * pool), else the directory pool (store 0).  A node without a domain has
 * STANDARD's, as for expiration.  Backup, replication and import use it.
 */
int stgpool_node_store(struct cat *c, const char *node);

/* Credentials and bucket work (COFFER_EAUTH, ENOTFOUND name the cause). */
int stgpool_check(const char *url, const char *bucket, const char *identity,
    const char *secret, const char *cafile, struct err *e);

/* Open sp's backend (its secret unsealed with DIR's master key) and attach. */
int stgpool_attach(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, struct err *e);

/*
 * Before UPDATE STGPOOL CLOUDURL=: url serves sp's bucket with identity
 * and secret (as stgpool_check()), and it holds this pool's containers:
 * the oldest and the newest sealed one exist there with their committed
 * sizes.  A pool with no container yet needs only the bucket.
 */
int stgpool_check_endpoint(struct pool *pool, const struct cat_stgpool *sp,
    const char *url, const char *secret, struct err *e);

/*
 * After UPDATE STGPOOL: the running store uses sp's identity, CA file and
 * secret (in clear, not kept) from now on, and sp's URL when new_url; a
 * store not attached (its start-up failed early) is attached.  A store
 * whose start-up recovery failed (unreachable) runs it now
 * (pool_store_recover()); *recovered says it did.
 */
int stgpool_reconfigure(struct pool *pool, const char *dir,
    const struct cat_stgpool *sp, const char *secret, int new_url,
    int *recovered, struct err *e);

#endif
