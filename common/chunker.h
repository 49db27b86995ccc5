/*
 * chunker.h - FastCDC content-defined chunking (Xia et al., USENIX ATC 2016)
 * with normalized chunking and a gear rolling hash.
 *
 * The chunker is stateless between chunks: the caller hands it the bytes
 * that start a chunk and it returns where that chunk ends.  The caller
 * guarantees that it passes min(bytes left in the stream, params.max)
 * bytes, so a cut found here is final; only at the end of the stream may
 * fewer than max bytes be passed.
 *
 * Cut points depend only on content (never on where reads fell), so the
 * same data gives the same chunks, and an insertion moves only the chunks
 * around it.
 */
#ifndef COFFER_CHUNKER_H
#define COFFER_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKER_MIN_DEFAULT	(64u * 1024)
#define CHUNKER_AVG_DEFAULT	(256u * 1024)
#define CHUNKER_MAX_DEFAULT	(1024u * 1024)
#define CHUNKER_LIMIT_MIN	64u		/* smallest min accepted */
#define CHUNKER_LIMIT_MAX	(16u * 1024 * 1024)	/* largest max accepted */

struct chunker {
	uint32_t	min;
	uint32_t	avg;
	uint32_t	max;
	uint64_t	mask_s;	/* harder mask, used before avg (normalization) */
	uint64_t	mask_l;	/* easier mask, used after avg */
};

/*
 * Set up c for the given sizes.  Requires CHUNKER_LIMIT_MIN <= min < avg <
 * max <= CHUNKER_LIMIT_MAX and avg a power of two; returns 0 or
 * COFFER_EINVAL.
 */
int chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max);

/*
 * Length of the chunk that starts at p, 1 <= result <= n.  n <= min gives n.
 * p holds min(remaining stream, max) bytes (see above).
 */
size_t chunker_next(const struct chunker *c, const uint8_t *p, size_t n);

#endif
