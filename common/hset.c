/*
 * hset.c - open addressing with linear probing and backward-shift delete.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hset.h"

static size_t
slot_of(const uint8_t key[32], size_t cap)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (cap - 1);
}

void
hset_init(struct hset *s)
{
	s->slots = NULL;
	s->cap = 0;
	s->n = 0;
}

void
hset_free(struct hset *s)
{
	free(s->slots);
	hset_init(s);
}

struct hset_slot *
hset_get(const struct hset *s, const uint8_t key[32])
{
	size_t i;

	if (s->cap == 0)
		return NULL;
	for (i = slot_of(key, s->cap);; i = (i + 1) & (s->cap - 1)) {
		struct hset_slot *sl = &s->slots[i];

		if (!sl->used)
			return NULL;
		if (memcmp(sl->key, key, 32) == 0)
			return sl;
	}
}

static int
grow(struct hset *s)
{
	size_t const ncap = s->cap ? s->cap * 2 : 64;
	struct hset_slot *ns, *old = s->slots;
	size_t i, oldcap = s->cap;

	if ((ns = calloc(ncap, sizeof(*ns))) == NULL)
		return -1;
	s->slots = ns;
	s->cap = ncap;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].used)
			continue;
		for (j = slot_of(old[i].key, ncap); ns[j].used;
		    j = (j + 1) & (ncap - 1))
			;
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

struct hset_slot *
hset_put(struct hset *s, const uint8_t key[32], int *added)
{
	struct hset_slot *sl;
	size_t i;

	if (added != NULL)
		*added = 0;
	if ((sl = hset_get(s, key)) != NULL)
		return sl;
	if ((s->n + 1) * 2 > s->cap && grow(s) != 0)
		return NULL;
	for (i = slot_of(key, s->cap); s->slots[i].used;
	    i = (i + 1) & (s->cap - 1))
		;
	sl = &s->slots[i];
	memcpy(sl->key, key, 32);
	sl->val = 0;
	sl->used = 1;
	s->n++;
	if (added != NULL)
		*added = 1;
	return sl;
}

int
hset_del(struct hset *s, const uint8_t key[32])
{
	struct hset_slot *sl = hset_get(s, key);
	size_t i, j, k;

	if (sl == NULL)
		return 0;
	i = (size_t)(sl - s->slots);
	s->slots[i].used = 0;
	s->n--;
	/* Backward shift: move later members of the probe run into the gap. */
	for (j = (i + 1) & (s->cap - 1); s->slots[j].used;
	    j = (j + 1) & (s->cap - 1)) {
		k = slot_of(s->slots[j].key, s->cap);
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			s->slots[i] = s->slots[j];
			s->slots[j].used = 0;
			i = j;
		}
	}
	return 1;
}
