/*
 * pool_recipe.h - an object's ordered list of chunks.
 *
 * A recipe is a BLOB of POOL_RECIPE_ENTRY-byte entries: the chunk's
 * SHA-256, then its raw length as a little-endian u32.  An entry whose hash
 * is all zero stands for raw-length zero bytes that were not stored (a hole
 * or a zero block): restore writes nothing there.  This layout is stored in
 * catalogs and travels in replication and export, so it is pinned.
 */
#ifndef COFFER_POOL_RECIPE_H
#define COFFER_POOL_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define POOL_RECIPE_ENTRY	(HASH_LEN + 4)

struct err;

struct pool_recipe {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	uint64_t	 raw_size;	/* sum of entry lengths */
};

void pool_recipe_init(struct pool_recipe *r);
void pool_recipe_free(struct pool_recipe *r);	/* leaves it empty */
void pool_recipe_reset(struct pool_recipe *r);	/* keeps the memory */

/* Append an entry; hash NULL means a zero run.  Adjacent zero runs merge. */
int pool_recipe_add(struct pool_recipe *r, const uint8_t *hash,
    uint32_t raw_len, struct err *e);

/* Number of entries in a recipe BLOB; COFFER_ECORRUPT if len is ragged. */
int pool_recipe_count(const uint8_t *p, size_t len, size_t *n,
    struct err *e);

/* Entry i of a checked recipe BLOB. */
static inline const uint8_t *
pool_recipe_hash(const uint8_t *p, size_t i)
{
	return p + i * POOL_RECIPE_ENTRY;
}

uint32_t pool_recipe_len(const uint8_t *p, size_t i);
int pool_recipe_is_zero(const uint8_t *p, size_t i);

#endif
