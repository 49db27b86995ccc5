/*
 * sess_verify.h - CHUNK_PUT verification spread over helper threads.
 *
 * A session's thread that finds several complete CHUNK_PUT frames waiting
 * in its input (sess.c) copies them into a batch and hands the batch to
 * sess_verify_run(), which decodes and hashes them (pool_chunk_verify)
 * with the helper threads and the calling thread together, and returns
 * only when every chunk of the batch has been checked (fork-join).  The
 * frames are then dispatched in order as before, each CHUNK_PUT taking its
 * result instead of verifying again.  So the invariants stay as they
 * were: a chunk is verified before it is stored or referenced, and a
 * frame after it (TXN_COMMIT included) is processed only after it was
 * verified, because it is processed only after the batch returned.
 *
 * Ownership: the batch (items and the bytes they point to) belongs to the
 * caller and is used by the helpers only during sess_verify_run().
 */
#ifndef COFFER_SESS_VERIFY_H
#define COFFER_SESS_VERIFY_H

#include <stddef.h>

#include "err.h"
#include "pool.h"

#define SESS_VERIFY_THREADS	2		/* helpers, besides the caller */
#define SESS_VERIFY_BATCH	64		/* frames per batch */
#define SESS_VERIFY_BYTES	(8u << 20)	/* payload bytes per batch */

struct sess_verify;

struct sess_verify_item {
	struct pool_chunk	c;		/* into the caller's copy */
	int			rc;		/* pool_chunk_verify's */
	char			msg[ERR_MSG_MAX];
};

/* Start the helpers, each with its own reader of pool. */
struct sess_verify *sess_verify_new(struct pool *pool, int nthreads,
    struct err *e);
/* Stop and free them; accepts NULL.  No sess_verify_run() may be active. */
void sess_verify_free(struct sess_verify *v);

/*
 * Verify it[0..n) with the helpers and rd (the caller's reader); returns
 * when all are done, each with its rc and, on failure, msg.  Any thread;
 * several callers may run batches at the same time.
 */
void sess_verify_run(struct sess_verify *v, struct pool_reader *rd,
    struct sess_verify_item *it, size_t n);

/*
 * The same in two halves, for a caller with other work meanwhile (import
 * reads the next batch from the volume): start lists the batch for the
 * helpers and returns at once (NULL: out of memory, e set); finish works
 * on what is left with rd, returns when all of it is done, and frees the
 * job.  Until finish returned, it and the bytes it points to stay the
 * caller's but are in use.  Every started job must be finished.
 */
struct sess_verify_job;
struct sess_verify_job *sess_verify_start(struct sess_verify *v,
    struct sess_verify_item *it, size_t n, struct err *e);
void sess_verify_finish(struct sess_verify *v, struct pool_reader *rd,
    struct sess_verify_job *j);

#endif
