/*
 * merge.h - progressive incremental: what to do with one path, given what
 * is on disk and the server's active version.
 *
 * The rules follow TSM's UNIX client (REFERENCE.md 1.1):
 *
 *   on disk, no active version          -> MERGE_SEND (a new object)
 *   object type differs                 -> MERGE_SEND
 *   file: size or mtime differs         -> MERGE_SEND (data read again)
 *   directory: mtime differs            -> MERGE_SEND (metadata only)
 *   symlink: target or mtime differs    -> MERGE_SEND
 *   hard link: target path differs      -> MERGE_SEND
 *   else mode, uid, gid or ctime differ -> MERGE_META (no re-read)
 *   else                                -> MERGE_SKIP
 *
 * An active version with no object on disk is MERGE_GONE (decided by the
 * caller's merge loop, not here).  selective always sends.
 */
#ifndef COFFER_CLIENT_MERGE_H
#define COFFER_CLIENT_MERGE_H

#include <stddef.h>
#include <stdint.h>

#define MERGE_SKIP	0
#define MERGE_SEND	1
#define MERGE_META	2
#define MERGE_GONE	3

/* What is compared, on either side. */
struct merge_attr {
	int		 type;		/* CLIENT_OBJ_* */
	uint64_t	 size;
	int64_t		 mtime_ns, ctime_ns;
	uint32_t	 mode, uid, gid;
	const char	*link;		/* symlink target / hard link path */
	size_t		 link_len;
};

/* disk: the object found by the walk; inv: the active version or NULL. */
int merge_decide(const struct merge_attr *disk, const struct merge_attr *inv,
    int selective);

/*
 * One step of the merge of the walk (w) with the inventory (v), both in
 * pkey order; NULL for a side that is exhausted (not both):
 * MERGE_NEXT_WALK (w is not on the server: new), MERGE_NEXT_INV (v is
 * not on disk: gone), MERGE_NEXT_BOTH (the same path: merge_decide).
 */
#define MERGE_NEXT_WALK	1
#define MERGE_NEXT_INV	2
#define MERGE_NEXT_BOTH	3

int merge_next(const char *w, size_t wlen, const char *v, size_t vlen);

/* "skip", "send", "meta", "gone". */
const char *merge_name(int action);

#endif
