/*
 * walk.h - the backup walk: depth-first, siblings sorted by name, one file
 * system only; and the path helpers that go with it.
 *
 * Order.  The server sorts a filespace's objects by pkey, the path with
 * every '/' replaced by a 0x00 byte, compared with memcmp (server/cat.h).
 * A pre-order depth-first walk whose siblings are sorted by memcmp of
 * their names (strcmp, which compares unsigned bytes) yields exactly that
 * order: a directory comes before its contents, and all of "a"'s contents
 * ("a\0...") come before a sibling "a b" because 0x00 sorts below every
 * byte a name may hold.  So the client merges its walk with the server's
 * inventory in one pass, and walk_pkey_cmp() compares two paths in that
 * order without building keys.
 *
 * Memory: one sorted name list per directory on the current path, so it
 * grows with the largest directory, not with the tree.  One directory
 * descriptor is open per level.
 *
 * The walk does not cross mount points (a directory on another st_dev
 * than the root is not returned) and never follows symbolic links.
 */
#ifndef COFFER_CLIENT_WALK_H
#define COFFER_CLIENT_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct err;
struct walk;

#define WALK_ENTRY	1	/* an object: st is valid unless err != 0 */
#define WALK_DIR_ERR	2	/* the directory just returned cannot be read */

struct walk_ent {
	int		 kind;
	const char	*path;		/* absolute; valid until walk_next */
	size_t		 path_len;
	const char	*name;		/* last component, inside path */
	int		 dirfd;		/* parent directory, -1: root */
	struct stat	 st;
	int		 err;		/* errno: lstat, reading the dir */
	int		 depth;		/* 0 for the root */
};

/*
 * Start a walk at root, an absolute path without trailing slash
 * (walk_abspath); the root itself is the first entry.
 */
struct walk *walk_open(const char *root, struct err *e);
void walk_close(struct walk *w);	/* accepts NULL */

/*
 * The next entry in pkey order: 1 with *out set, 0 at the end, or a
 * negative error (out of memory).  Entries that vanish between readdir
 * and lstat are left out.  When a directory cannot be opened or read, a
 * WALK_DIR_ERR entry for it follows its WALK_ENTRY.
 */
int walk_next(struct walk *w, const struct walk_ent **out, struct err *e);

/* Do not enter the directory walk_next just returned. */
void walk_prune(struct walk *w);

/* Compare two paths in pkey order ('/' below every other byte). */
int walk_pkey_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* 1 when path is root or below it. */
int walk_under(const char *root, size_t rlen, const char *path, size_t plen);

/*
 * Make path absolute and canonical without following its last component
 * (a symlink named on the command line is backed up as a symlink): the
 * directory part goes through realpath(3).
 */
int walk_abspath(const char *path, char *out, size_t outlen, struct err *e);

/*
 * The filespace of an absolute path: its mount point, found by walking
 * up while st_dev stays the same, and the file system type from
 * /proc/mounts ("ext4"; "unknown" when it cannot be told).
 */
int walk_filespace(const char *path, char *fs, size_t fslen, char *type,
    size_t typelen, struct err *e);

#endif
