/*
 * codec.h - chunk compression with zstd and per-thread reusable contexts.
 *
 * Record codecs are on-disk and on-wire numbers: they are pinned here and
 * never renumbered.  A chunk is stored raw when compression does not make
 * it smaller, so incompressible data costs one memcpy, not an expansion.
 */
#ifndef COFFER_CODEC_H
#define COFFER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_RAW	1	/* pinned: stored bytes are the plaintext */
#define CODEC_ZSTD	2	/* pinned: one zstd frame with content size */

#define CODEC_LEVEL_DEFAULT	3

struct codec;
struct err;

/* One per thread.  level: zstd level 1..19 (0 means default). */
struct codec *codec_new(int level, struct err *e);
void codec_free(struct codec *c);	/* accepts NULL */

/* Worst-case stored size for n raw bytes (what dst must hold). */
size_t codec_bound(size_t n);

/*
 * Compress src[0..n) into dst (capacity dstcap >= codec_bound(n)).  Sets
 * *codec_id to CODEC_ZSTD, or CODEC_RAW with a copy of src when zstd did
 * not help.
 */
int codec_encode(struct codec *c, const void *src, size_t n, void *dst,
    size_t dstcap, size_t *stored_len, uint8_t *codec_id, struct err *e);

/*
 * Decode stored bytes into exactly raw_len bytes at dst.  Anything that
 * does not decode to exactly raw_len bytes is COFFER_ECORRUPT.
 */
int codec_decode(struct codec *c, uint8_t codec_id, const void *src,
    size_t stored_len, void *dst, size_t raw_len, struct err *e);

#endif
