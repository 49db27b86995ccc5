/*
 * fslist.c - FS_LIST and filespace matching (see fslist.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fslist.h"
#include "net.h"
#include "proto.h"
#include "walk.h"
#include "wire.h"

/* An fsent with a one-byte name and no type (proto.h). */
#define FS_ENT_MIN	(8 + 4 + 1 + 4 + 4 * 8 + 1 + 4)

void
fslist_free(struct fslist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].type);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
get_ent(struct wire_rd *rd, struct fslist_ent *f, struct err *e)
{
	struct proto_fs pf;
	int r;

	if ((r = proto_get_fs(rd, &pf, e)) != 0)
		return r;
	f->id = pf.id;
	f->last_start = pf.last_start;
	f->last_end = pf.last_end;
	f->objects = pf.objects;
	f->bytes = pf.bytes;
	f->drprotect = pf.drprotect;
	f->drpriority = pf.drpriority;
	if ((f->name = strndup(pf.name, pf.name_len)) == NULL ||
	    (f->type = strndup(pf.type, pf.type_len)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	return 0;
}

int
fslist_get(struct net_conn *c, struct fslist *l, struct err *e)
{
	struct wire_rd rd;
	uint32_t n;
	int r;

	memset(l, 0, sizeof(*l));
	if ((r = net_call(c, PT_FS_LIST, NULL, PT_FS_PAGE, &rd, e)) != 0)
		return r;
	if ((r = wire_get_u32(&rd, &n, e)) != 0)
		return err_wrap(e, "FS_PAGE");
	/* Each entry takes at least 54 bytes: n is bounded by the frame. */
	if ((size_t)n > wire_rd_left(&rd) / FS_ENT_MIN)
		return err_set(e, COFFER_EPROTO, "FS_PAGE claims %u filespaces "
		    "in %zu bytes", n, wire_rd_left(&rd));
	if (n > 0 && (l->v = calloc(n, sizeof(*l->v))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		l->n = i + 1;
		if ((r = get_ent(&rd, &l->v[i], e)) != 0) {
			fslist_free(l);
			return err_wrap(e, "FS_PAGE");
		}
	}
	if ((r = wire_rd_end(&rd, e)) != 0) {
		fslist_free(l);
		return err_wrap(e, "FS_PAGE");
	}
	return 0;
}

const struct fslist_ent *
fslist_match(const struct fslist *l, const char *path)
{
	const struct fslist_ent *best = NULL;
	size_t best_len = 0;
	size_t const plen = strlen(path);

	for (size_t i = 0; i < l->n; i++) {
		size_t const n = strlen(l->v[i].name);

		if (proto_fs_is_vm(l->v[i].name))
			continue;
		if (walk_under(l->v[i].name, n, path, plen) &&
		    (best == NULL || n > best_len)) {
			best = &l->v[i];
			best_len = n;
		}
	}
	return best;
}
