/*
 * linktab.h - the first path seen of each multiply-linked inode.
 *
 * A backup sends a file with st_nlink > 1 once, and each later path of
 * the same (dev, ino) as a hard link to the first.  So the table holds
 * one entry per such inode for the whole run, and a tree of hard-linked
 * copies (snapshot trees made with cp -al or rsync --link-dest) puts
 * every file in it.  It is kept compact for that case: 24-byte slots in
 * an open-addressed table at most half full, and the paths packed into
 * 1 MiB blocks, where a generic 32-byte-key set and one malloc per path
 * took about 180 bytes an inode.
 */
#ifndef COFFER_CLIENT_LINKTAB_H
#define COFFER_CLIENT_LINKTAB_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct linktab_slot;
struct linktab_block;

struct linktab {
	struct linktab_slot	*slots;
	size_t			 cap;	/* power of two, or 0 */
	size_t			 n;
	struct linktab_block	*blocks;	/* newest first */
};

void linktab_init(struct linktab *t);
void linktab_free(struct linktab *t);	/* leaves t empty and reusable */

/*
 * The first path recorded for (dev, ino) in *first; or, when there is
 * none, records path and sets *first to NULL.  0 or COFFER_ENOMEM.
 */
int linktab_put(struct linktab *t, uint64_t dev, uint64_t ino,
    const char *path, const char **first, struct err *e);

#endif
