/*
 * hset.h - an open-addressing set of 32-byte hashes with an integer value.
 *
 * Keys are SHA-256 outputs, so their first 8 bytes are already uniformly
 * distributed and serve as the slot hash.  Used for per-transaction chunk
 * sets and the pool's pinned-chunk counts; the table grows at 50% load.
 */
#ifndef COFFER_HSET_H
#define COFFER_HSET_H

#include <stddef.h>
#include <stdint.h>

struct hset_slot {
	uint8_t		key[32];
	int64_t		val;
	int		used;
};

struct hset {
	struct hset_slot	*slots;
	size_t			 cap;	/* power of two */
	size_t			 n;
};

void hset_init(struct hset *s);
void hset_free(struct hset *s);		/* leaves s empty and reusable */

/* Slot for key, or NULL. */
struct hset_slot *hset_get(const struct hset *s, const uint8_t key[32]);

/*
 * Slot for key, inserted with val 0 when absent (*added = 1 then).  NULL
 * when out of memory.
 */
struct hset_slot *hset_put(struct hset *s, const uint8_t key[32], int *added);

/* Remove key if present; returns 1 when removed. */
int hset_del(struct hset *s, const uint8_t key[32]);

#endif
