/*
 * linktab.c - the first path of each multiply-linked inode (linktab.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "linktab.h"

#define LINKTAB_BLOCK	(1u << 20)	/* bytes of packed paths a block */

struct linktab_slot {
	uint64_t	 dev, ino;
	const char	*path;		/* NULL: the slot is free */
};

struct linktab_block {
	struct linktab_block	*next;
	size_t			 used, cap;
	char			 buf[];
};

void
linktab_init(struct linktab *t)
{
	memset(t, 0, sizeof(*t));
}

void
linktab_free(struct linktab *t)
{
	struct linktab_block *b, *nb;

	for (b = t->blocks; b != NULL; b = nb) {
		nb = b->next;
		free(b);
	}
	free(t->slots);
	linktab_init(t);
}

static size_t
slot_of(uint64_t dev, uint64_t ino, size_t cap)
{
	/* Inode numbers are dense: spread them over the table. */
	uint64_t h = (ino ^ (dev << 32) ^ (dev >> 7)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 17) & (cap - 1);
}

static struct linktab_slot *
find(const struct linktab *t, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = slot_of(dev, ino, t->cap);; i = (i + 1) & (t->cap - 1)) {
		struct linktab_slot *s = &t->slots[i];

		if (s->path == NULL || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int
grow(struct linktab *t)
{
	size_t const ncap = t->cap ? t->cap * 2 : 1024;
	struct linktab_slot *old = t->slots;
	size_t const oldcap = t->cap;

	if ((t->slots = calloc(ncap, sizeof(*t->slots))) == NULL) {
		t->slots = old;
		return -1;
	}
	t->cap = ncap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].path != NULL)
			*find(t, old[i].dev, old[i].ino) = old[i];
	free(old);
	return 0;
}

/* A copy of path in the newest block, opening a block when it is full. */
static const char *
pack(struct linktab *t, const char *path)
{
	size_t const len = strlen(path) + 1;
	struct linktab_block *b = t->blocks;
	char *p;

	if (b == NULL || b->cap - b->used < len) {
		size_t const cap = len > LINKTAB_BLOCK ? len : LINKTAB_BLOCK;

		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = t->blocks;
		t->blocks = b;
	}
	p = b->buf + b->used;
	memcpy(p, path, len);
	b->used += len;
	return p;
}

int
linktab_put(struct linktab *t, uint64_t dev, uint64_t ino, const char *path,
    const char **first, struct err *e)
{
	struct linktab_slot *s;

	*first = NULL;
	if (t->cap != 0 && (s = find(t, dev, ino))->path != NULL) {
		*first = s->path;
		return 0;
	}
	if ((t->n + 1) * 2 > t->cap && grow(t) != 0)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	s = find(t, dev, ino);
	if ((s->path = pack(t, path)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	s->dev = dev;
	s->ino = ino;
	t->n++;
	return 0;
}
