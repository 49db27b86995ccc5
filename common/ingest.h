/*
 * ingest.h - the chunk pipeline: chunk, hash, check, compress, in order.
 *
 * The feeding thread hands in objects (files, disk images) as byte streams.
 * It cuts them into chunks (FastCDC, or fixed blocks for disk images) and
 * queues them; worker threads hash each chunk, ask the sink whether it
 * already holds it (then compression is skipped) and compress the rest.
 * The sink's put() sees the chunks on the feeding thread, in stream order,
 * followed by object_end() once an object's last chunk has been put, so
 * recipes come out in order while hashing and compression use every core.
 *
 * Memory is bounded: at most INGEST_QUEUE chunks and INGEST_INFLIGHT
 * bytes are in flight, in one ring of INGEST_INFLIGHT plus one largest
 * chunk allocated once; each chunk is compressed in place there (small
 * files make small chunks, and a deep queue of them keeps the workers
 * busy without more memory).
 *
 * Zero chunks are not hashed or compressed: put() sees them with zero = 1,
 * and the sink records them as holes.
 */
#ifndef COFFER_INGEST_H
#define COFFER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "chunker.h"
#include "hash.h"

#define INGEST_QUEUE	64		/* chunks in flight */
#define INGEST_INFLIGHT	(8u << 20)	/* raw bytes in flight */
#define INGEST_ZERO_RUN	(1u << 30)	/* largest zero chunk of a hole */

struct err;
struct ingest;

struct ingest_chunk {
	uint8_t		 hash[HASH_LEN];
	uint32_t	 raw_len;
	const uint8_t	*raw;		/* raw_len bytes, valid during put();
					   NULL for a zero run never read,
					   and once compressed (codec not
					   CODEC_RAW): stored took its place */
	int		 zero;		/* all zero: no hash, nothing stored */
	int		 known;		/* sink->has() said it holds it */
	uint8_t		 codec;		/* CODEC_* when stored is set, else 0 */
	uint32_t	 stored_len;
	const uint8_t	*stored;	/* encoded bytes, NULL when known/zero */
};

struct ingest_sink {
	/*
	 * Optional; called on worker threads, so it must be thread-safe.
	 * Returns 1 when the sink already holds hash (compression is then
	 * skipped), 0 otherwise.  A wrong "0" costs only time.
	 */
	int	(*has)(void *arg, const uint8_t hash[HASH_LEN]);
	/* On the feeding thread, in order; non-zero stops the pipeline. */
	int	(*put)(void *arg, void *cookie, const struct ingest_chunk *c,
		    struct err *e);
	/* After the last put() of the object begun with cookie. */
	int	(*object_end)(void *arg, void *cookie, struct err *e);
	/*
	 * Optional: the object begun with cookie was abandoned (its source
	 * failed to read); chunks already put for it are to be forgotten.
	 */
	void	(*object_abort)(void *arg, void *cookie);
	void	 *arg;
};

struct ingest_params {
	uint32_t	min, avg, max;	/* CDC sizes, see chunker.h */
	uint32_t	fixed;		/* non-zero: fixed blocks of this size */
	int		level;		/* zstd level, 0 = default */
	int		threads;	/* workers; 0 = number of CPUs */
};

void ingest_params_default(struct ingest_params *p);

struct ingest *ingest_new(const struct ingest_params *p,
    const struct ingest_sink *sink, struct err *e);
/*
 * Abandons what is still queued (object_abort() for each unfinished
 * object), then waits for the workers.  Flush first to finish the work.
 * Accepts NULL.
 */
void ingest_free(struct ingest *ig);

/* Start an object; cookie is passed back to put() and object_end(). */
int ingest_begin(struct ingest *ig, void *cookie, struct err *e);
/*
 * Start an object cut into fixed blocks of block bytes (a disk image: a
 * guest's small write must cost one small block), whatever the pipeline's
 * chunking; block is at most the pipeline's largest chunk.
 */
int ingest_begin_fixed(struct ingest *ig, void *cookie, uint32_t block,
    struct err *e);
/* Feed the current object's bytes, any amount at a time. */
int ingest_write(struct ingest *ig, const void *p, size_t n, struct err *e);
/* End the current object (its chunks may still be in flight). */
int ingest_end(struct ingest *ig, struct err *e);
/* Abandon the current object; the sink's object_abort() will be called. */
int ingest_abort(struct ingest *ig, struct err *e);
/*
 * begin + read fd to EOF + end; *nread gets the bytes read.  A read error
 * abandons this object only: the pipeline stays usable.
 */
int ingest_fd(struct ingest *ig, int fd, void *cookie, uint64_t *nread,
    const char *what, struct err *e);
/* The same in fixed blocks (block 0: the pipeline's chunking). */
int ingest_fd_fixed(struct ingest *ig, int fd, void *cookie, uint32_t block,
    uint64_t *nread, const char *what, struct err *e);
/*
 * A run of len zero bytes in the current object that nobody read (a hole
 * of a sparse file): delivered as zero chunks of at most INGEST_ZERO_RUN
 * bytes, after every byte written before it.  In a fixed-block object
 * what was written before must end on a block boundary.
 */
int ingest_zero(struct ingest *ig, uint64_t len, struct err *e);
/*
 * A chunk of len bytes that the caller names by its hash without reading
 * it (a block of a disk image unchanged since the previous version,
 * whose recipe names it): put() sees it with known = 1 and raw and
 * stored NULL.  Like ingest_zero, it comes after every byte written
 * before it, which in a fixed-block object must end on a block boundary.
 */
int ingest_known(struct ingest *ig, const uint8_t hash[HASH_LEN],
    uint32_t len, struct err *e);
/*
 * Bytes [start, end) of a disk image as one object in fixed blocks,
 * holes skipped: the data extents (SEEK_DATA/SEEK_HOLE), rounded out to
 * whole blocks so that blocks stay aligned to the image (start is a
 * multiple of block), are read; the blocks between them are ingest_zero
 * runs, never read.  *nread gets the bytes read.  A read error abandons
 * this object only.
 */
int ingest_fd_sparse(struct ingest *ig, int fd, void *cookie, uint32_t block,
    uint64_t start, uint64_t end, uint64_t *nread, const char *what,
    struct err *e);
/* Wait until every queued chunk and object end has been delivered. */
int ingest_flush(struct ingest *ig, struct err *e);

#endif
