/*
 * merge.c - the incremental decision for one path (see merge.h).
 */
#include "config.h"

#include <string.h>

#include "client.h"
#include "merge.h"
#include "walk.h"

static int
link_differs(const struct merge_attr *a, const struct merge_attr *b)
{
	if (a->link_len != b->link_len)
		return 1;
	return a->link_len > 0 && memcmp(a->link, b->link, a->link_len) != 0;
}

int
merge_decide(const struct merge_attr *disk, const struct merge_attr *inv,
    int selective)
{
	if (selective || inv == NULL || disk->type != inv->type)
		return MERGE_SEND;
	switch (disk->type) {
	case CLIENT_OBJ_FILE:
		if (disk->size != inv->size || disk->mtime_ns != inv->mtime_ns)
			return MERGE_SEND;
		break;
	case CLIENT_OBJ_DIR:
		if (disk->mtime_ns != inv->mtime_ns)
			return MERGE_SEND;
		break;
	case CLIENT_OBJ_SYMLINK:
		if (disk->mtime_ns != inv->mtime_ns || link_differs(disk, inv))
			return MERGE_SEND;
		break;
	case CLIENT_OBJ_HARDLINK:
		if (link_differs(disk, inv) || disk->size != inv->size ||
		    disk->mtime_ns != inv->mtime_ns)
			return MERGE_SEND;
		break;
	default:
		return MERGE_SEND;
	}
	if (disk->mode != inv->mode || disk->uid != inv->uid ||
	    disk->gid != inv->gid || disk->ctime_ns != inv->ctime_ns)
		return MERGE_META;
	return MERGE_SKIP;
}

int
merge_next(const char *w, size_t wlen, const char *v, size_t vlen)
{
	int cmp;

	if (v == NULL)
		return MERGE_NEXT_WALK;
	if (w == NULL)
		return MERGE_NEXT_INV;
	cmp = walk_pkey_cmp(w, wlen, v, vlen);
	return cmp < 0 ? MERGE_NEXT_WALK : cmp > 0 ? MERGE_NEXT_INV :
	    MERGE_NEXT_BOTH;
}

const char *
merge_name(int action)
{
	switch (action) {
	case MERGE_SKIP:	return "skip";
	case MERGE_SEND:	return "send";
	case MERGE_META:	return "meta";
	case MERGE_GONE:	return "gone";
	}
	return "?";
}
