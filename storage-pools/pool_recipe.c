/*
 * pool_recipe.c - building and reading recipes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pool_recipe.h"
#include "util.h"

static const uint8_t zero_hash[HASH_LEN];

void
pool_recipe_init(struct pool_recipe *r)
{
	memset(r, 0, sizeof(*r));
}

void
pool_recipe_free(struct pool_recipe *r)
{
	free(r->p);
	pool_recipe_init(r);
}

void
pool_recipe_reset(struct pool_recipe *r)
{
	r->len = 0;
	r->raw_size = 0;
}

int
pool_recipe_add(struct pool_recipe *r, const uint8_t *hash, uint32_t raw_len,
    struct err *e)
{
	uint8_t *ent;

	if (hash == NULL && r->len > 0) {
		uint8_t *last = r->p + r->len - POOL_RECIPE_ENTRY;
		uint32_t const have = util_get_le32(last + HASH_LEN);

		/* Merge zero runs while the length fits in 32 bits. */
		if (memcmp(last, zero_hash, HASH_LEN) == 0 &&
		    (uint64_t)have + raw_len <= UINT32_MAX) {
			util_put_le32(last + HASH_LEN, have + raw_len);
			r->raw_size += raw_len;
			return 0;
		}
	}
	if (r->len + POOL_RECIPE_ENTRY > r->cap) {
		size_t const ncap = r->cap ? r->cap * 2 : 2 * POOL_RECIPE_ENTRY;
		uint8_t *np = realloc(r->p, ncap);

		if (np == NULL)
			return err_set(e, COFFER_ENOMEM, "recipe: out of memory");
		r->p = np;
		r->cap = ncap;
	}
	ent = r->p + r->len;
	memcpy(ent, hash ? hash : zero_hash, HASH_LEN);
	util_put_le32(ent + HASH_LEN, raw_len);
	r->len += POOL_RECIPE_ENTRY;
	r->raw_size += raw_len;
	return 0;
}

int
pool_recipe_count(const uint8_t *p, size_t len, size_t *n, struct err *e)
{
	(void)p;
	if (len % POOL_RECIPE_ENTRY != 0)
		return err_set(e, COFFER_ECORRUPT,
		    "recipe length %zu is not a multiple of %d", len,
		    POOL_RECIPE_ENTRY);
	*n = len / POOL_RECIPE_ENTRY;
	return 0;
}

uint32_t
pool_recipe_len(const uint8_t *p, size_t i)
{
	return util_get_le32(p + i * POOL_RECIPE_ENTRY + HASH_LEN);
}

int
pool_recipe_is_zero(const uint8_t *p, size_t i)
{
	return memcmp(p + i * POOL_RECIPE_ENTRY, zero_hash, HASH_LEN) == 0;
}
