/*
 * restore.h - restore files, directories and links from a node's backups.
 *
 * The versions to restore are listed with OBJ_LIST pages (the active
 * ones; with --pitdate those active at that time; with --inactive and no
 * date the newest of each path, deleted files included).  Where each
 * goes is restore_path.h's business.  File data is fetched with pipelined
 * CHUNK_GET requests spanning files (RESTORE_WINDOW_* outstanding), each
 * chunk decoded and checked against its SHA-256 before it is written, into
 * a temporary file renamed into place only when complete and verified; a
 * chunk that fails the check fails its file loudly and nothing of it is
 * left behind.  Zero runs are left as holes.  Decoding, verifying,
 * writing, and creating and finalizing files run on RESTORE_THREADS
 * worker threads fed by a bounded queue (restore.c says how); counts,
 * messages and the order in which objects are reported stay those of
 * the listing.
 *
 * Safety (issue 3, item 6): every file, directory and link is created
 * with *at() calls relative to directory descriptors opened with
 * O_DIRECTORY | O_NOFOLLOW from the destination root, files with
 * O_CREAT | O_EXCL | O_NOFOLLOW, after restore_path_map refused empty,
 * "." and ".." components: a symlink restored (or planted) earlier can
 * never redirect a later entry outside the destination.
 *
 * Directories are created when first needed (mode 0700 while being
 * filled) and get their mode, owner and mtime after their contents.
 * Owners are restored only when running as root.
 */
#ifndef COFFER_CLIENT_RESTORE_H
#define COFFER_CLIENT_RESTORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "proto.h"

#define RESTORE_WINDOW_ENTRIES	1024		/* chunks requested ahead */
#define RESTORE_WINDOW_BYTES	(24u << 20)	/* their raw bytes */
#define RESTORE_GET_MAX		PROTO_GET_MAX	/* entries per CHUNK_GET */
#define RESTORE_PAGE		1024		/* objects per OBJ_LIST */

/*
 * Received chunks wait for the worker threads (which decode, verify and
 * write them, and create and finalize the files) in a queue of at most
 * this many items and stored bytes.  COFFER_RESTORE_THREADS overrides the
 * number of workers (1 to 8).
 */
#define RESTORE_THREADS		4
#define RESTORE_QUEUE_ITEMS	4096
#define RESTORE_QUEUE_BYTES	(16u << 20)

struct err;
struct net_conn;

struct restore_params {
	const char	*src;
	const char	*dest;		/* NULL: the original place */
	int		 subdir;
	int		 replace;
	int		 inactive;
	int64_t		 pit;		/* Unix seconds, 0: now */
	int		 progress;
	FILE		*log;
};

struct restore_stats {
	uint64_t	restored;	/* objects */
	uint64_t	bytes;		/* file bytes written */
	uint64_t	failed;
	uint64_t	skipped;	/* existed, no --replace */
	uint64_t	matched;	/* objects the listing selected */
	double		elapsed_s;
	uint64_t	wire_bytes;	/* frame bytes received (coffer.c) */
};

int restore_run(struct net_conn *c, const struct restore_params *p,
    struct restore_stats *st, struct err *e);

/*
 * Restore objects already listed (a VM's disks and domain XML) each to
 * its own place: dir/name, written and checked as restore_run writes
 * files (temp file renamed into place, holes kept, an existing name kept
 * unless p->replace), or, with dir NULL, into memory (mem, mem_len;
 * malloc'd, the caller frees; at most RESTORE_MEM_MAX bytes).  Each
 * item tells how it went: ok, else why.  p's src, dest, subdir,
 * inactive and pit are not used.
 */
#define RESTORE_MEM_MAX		(16u << 20)

struct restore_item {
	const struct proto_obj	*obj;	/* with its recipe, or see below */
	/*
	 * A VM disk stored in segments (vm_seg.h): the objects after obj
	 * whose bytes continue it, in order.  The file is all of them,
	 * written and checked as one.  An object here or obj may come
	 * without its recipe (recipe NULL, recipe_len its length, as
	 * listed): it is fetched by id (RECIPE_GET) when the restore gets
	 * there and dropped when its chunks have come, so memory stays
	 * bounded whatever the disk's size.
	 */
	const struct proto_obj	*const *more;
	size_t			 nmore;
	const char		*dir;	/* an existing directory, or NULL */
	const char		*name;
	int			 ok;
	char			 why[ERR_MSG_MAX];
	uint8_t			*mem;
	size_t			 mem_len;
};

int restore_objects(struct net_conn *c, const struct restore_params *p,
    struct restore_item *items, size_t n, struct restore_stats *st,
    struct err *e);

#endif
