/*
 * uuid.c - UUIDv7 generation (see uuid.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "err.h"
#include "util.h"
#include "uuid.h"

/* Bits of u that are neither timestamp, version nor variant. */
static const uint8_t rand_mask[UUID_LEN] = {
	0, 0, 0, 0, 0, 0, 0x0f, 0xff, 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff
};

static void
put_ms(uint8_t u[UUID_LEN], uint64_t ms)
{
	for (int i = 0; i < 6; i++)
		u[i] = (uint8_t)(ms >> (8 * (5 - i)));
}

uint64_t
uuid_v7_ms(const uint8_t u[UUID_LEN])
{
	uint64_t ms = 0;

	for (int i = 0; i < 6; i++)
		ms = ms << 8 | u[i];
	return ms;
}

static void
set_version(uint8_t u[UUID_LEN])
{
	u[6] = (uint8_t)(0x70 | (u[6] & 0x0f));
	u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
}

/*
 * Add inc to the 74 random bits of u (bytes 6-15 under rand_mask), as one
 * big-endian number that skips the version and variant bits.  1 when it
 * overflowed (u's random bits are then meaningless).
 */
static int
add_random(uint8_t u[UUID_LEN], uint32_t inc)
{
	uint64_t carry = inc;

	for (int i = UUID_LEN - 1; i >= 6 && carry != 0; i--) {
		unsigned const width = rand_mask[i] == 0xff ? 8 :
		    rand_mask[i] == 0x3f ? 6 : 4;
		uint64_t const v = (uint64_t)(u[i] & rand_mask[i]) +
		    (carry & rand_mask[i]);

		carry >>= width;
		carry += v >> width;
		u[i] = (uint8_t)((u[i] & ~rand_mask[i]) | (v & rand_mask[i]));
	}
	return carry != 0;
}

void
uuid_v7_next(struct uuid_v7_state *st, uint64_t ms, const uint8_t rnd[10],
    uint8_t out[UUID_LEN])
{
	uint64_t const last_ms = uuid_v7_ms(st->last);
	uint8_t u[UUID_LEN];

	ms &= (UINT64_C(1) << 48) - 1;
	if (ms > last_ms || util_is_zero(st->last, UUID_LEN)) {
		put_ms(u, ms);
		memcpy(u + 6, rnd, 10);
		set_version(u);
	} else {
		/*
		 * Same millisecond, or the clock went back: after the last
		 * one, by 1 to 2^31 (rnd's first bytes), so that the next
		 * UUID is not the last one plus one.
		 */
		uint32_t const inc = 1 + ((uint32_t)rnd[0] << 23 |
		    (uint32_t)rnd[1] << 15 | (uint32_t)rnd[2] << 7 |
		    (uint32_t)(rnd[3] >> 1));

		memcpy(u, st->last, UUID_LEN);
		if (add_random(u, inc)) {
			put_ms(u, last_ms + 1);
			memcpy(u + 6, rnd, 10);
			/* Room for the increments of this millisecond. */
			u[6] &= 0x07;
			set_version(u);
		}
	}
	memcpy(st->last, u, UUID_LEN);
	memcpy(out, u, UUID_LEN);
}

static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uuid_v7_state gen_state;

int
uuid_v7_new(uint8_t out[UUID_LEN], struct err *e)
{
	struct timespec ts;
	uint8_t rnd[10];
	uint64_t ms;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set(e, COFFER_EINTERNAL, "object id: RAND_bytes "
		    "failed");
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	pthread_mutex_lock(&gen_lock);
	uuid_v7_next(&gen_state, ms, rnd, out);
	pthread_mutex_unlock(&gen_lock);
	return 0;
}
