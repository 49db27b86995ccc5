/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Two implementations give identical results: the SSE4.2 crc32 instruction
 * on x86_64 CPUs that have it, and a portable slicing-by-8 table walk.  The
 * choice is made once, on first use, under pthread_once; the tables for the
 * software path are built in the same step, so neither path ever sees a
 * half-built table.
 *
 * Both paths take the previous crc (0 to start) and do the pre- and
 * post-inversion themselves, so crc32c(crc32c(0, a, n), b, m) equals
 * crc32c(0, a || b, n + m).
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "crc32c.h"

#define CRC32C_POLY	0x82F63B78u

typedef uint32_t (*crc32c_fn)(uint32_t, const void *, size_t);

/* Written only inside crc32c_init(), which pthread_once serialises. */
static uint32_t crc32c_table[8][256];
static crc32c_fn crc32c_impl;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static uint32_t
load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/*
 * Table k maps a byte to its crc contribution k bytes further on, which is
 * what lets the loop below fold eight bytes per step.
 */
static void
crc32c_build_tables(void)
{
	uint32_t c;
	int i, j, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc32c_table[0][i];
		for (k = 1; k < 8; k++) {
			c = (c >> 8) ^ crc32c_table[0][c & 0xff];
			crc32c_table[k][i] = c;
		}
	}
}

/* The slicing-by-8 body; the tables must already be built. */
static uint32_t
crc32c_slice8(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;
	uint32_t lo, hi;

	while (len >= 8) {
		/* Byte loads keep this correct on big-endian hosts too. */
		lo = c ^ load_le32(p);
		hi = load_le32(p + 4);
		c = crc32c_table[7][lo & 0xff] ^
		    crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^
		    crc32c_table[4][lo >> 24] ^
		    crc32c_table[3][hi & 0xff] ^
		    crc32c_table[2][(hi >> 8) & 0xff] ^
		    crc32c_table[1][(hi >> 16) & 0xff] ^
		    crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
	return ~c;
}

#if defined(__x86_64__)
/*
 * One crc32 instruction per 8 bytes.  A single dependency chain runs at
 * several GB/s, far above what the disks and the network deliver, so the
 * three-stream interleave with a carry-less-multiply merge is not worth its
 * complexity here.
 */
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = (uint32_t)~crc;
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, sizeof(w));	/* unaligned load */
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

static void
crc32c_init(void)
{
	crc32c_build_tables();
	crc32c_impl = crc32c_slice8;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		crc32c_impl = crc32c_hw;
#endif
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_impl(crc, buf, len);
}

uint32_t
crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_slice8(crc, buf, len);
}
