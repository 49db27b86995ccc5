/*
 * uuid.h - time-ordered object identifiers (UUIDv7, RFC 9562 section 5.7).
 *
 * Layout, big-endian, 16 bytes:
 *   bytes 0-5   unix time in milliseconds (48 bits)
 *   byte  6     0x7_ (version 7) and the top 4 bits of rand_a
 *   byte  7     the rest of rand_a (12 bits in all)
 *   byte  8     10__ (variant) and the top 6 bits of rand_b
 *   bytes 9-15  the rest of rand_b (62 bits in all)
 *
 * Why: the catalog indexes object UUIDs (object.uuid UNIQUE and
 * object_by_uuid).  Random UUIDs land anywhere in those B-trees, so past a
 * few million versions each insert touches a page that is not cached;
 * time-ordered ones append at the right edge.  Readers treat UUIDs as 16
 * opaque bytes compared with memcmp: old random ones stay valid, and a
 * catalog holds both kinds.
 *
 * Monotonic within a process (RFC 9562 6.2, method 2): a UUID made in the
 * same millisecond as the previous one (or after the clock stepped back)
 * is the previous one plus a random increment of its 74 random bits, so
 * memcmp order is creation order.  When those bits would overflow, the
 * timestamp field moves on one millisecond.
 */
#ifndef COFFER_UUID_H
#define COFFER_UUID_H

#include <stdint.h>

struct err;

#define UUID_LEN	16

/* The generator's memory: the last UUID made; all zero before the first. */
struct uuid_v7_state {
	uint8_t		last[UUID_LEN];
};

/*
 * The next UUID after st->last for time ms (unix milliseconds) and 10
 * random bytes rnd; updates st.  Pure: the unit tests drive it.
 */
void uuid_v7_next(struct uuid_v7_state *st, uint64_t ms,
    const uint8_t rnd[10], uint8_t out[UUID_LEN]);

/*
 * A new UUIDv7 from the realtime clock and RAND_bytes, monotonic over
 * every call in this process (thread-safe).  0 or COFFER_EINTERNAL.
 */
int uuid_v7_new(uint8_t out[UUID_LEN], struct err *e);

/* The 48-bit millisecond timestamp of a UUIDv7. */
uint64_t uuid_v7_ms(const uint8_t u[UUID_LEN]);

#endif
