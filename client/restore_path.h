/*
 * restore_path.h - where a restored object goes, and the checks that keep
 * a restore inside its destination.
 *
 * SRC names a server path B: "/data/dir" is B itself (and, with --subdir,
 * everything below it); "/data/dir/" (or "/data/dir/" followed by a
 * star) is what lies below B (its contents).  Each object path P the
 * server returns (P is B or below it) becomes a path relative to a local
 * root directory:
 *
 *   no DEST:            the original place: root is B's parent (or B for
 *                       contents), rel is P below it.
 *   DEST a directory    (it ends in '/' or exists as a directory):
 *                       root is DEST; B goes in as DEST/basename(B), or
 *                       for contents what lies below B goes into DEST.
 *                       "restore SRC/ DEST/ --subdir" keeps the structure
 *                       below SRC; a single file lands as DEST/name.
 *   DEST a new name     (not existing, no trailing '/'): B is restored
 *                       as DEST itself (file or directory), like cp.
 *
 * Without --subdir only B and its direct children are restored (for
 * contents: the direct children).
 *
 * Safety: rel comes from server data, so it is checked component by
 * component: no empty, "." or ".." component, no leading '/'.  The
 * restore code then creates every component with *at() calls relative to
 * directory descriptors opened O_NOFOLLOW, so no symlink can redirect it.
 */
#ifndef COFFER_CLIENT_RESTORE_PATH_H
#define COFFER_CLIENT_RESTORE_PATH_H

#include <limits.h>
#include <stddef.h>

struct err;

#define RESTORE_DEST_NONE	0	/* the original place */
#define RESTORE_DEST_DIR	1	/* into the directory DEST */
#define RESTORE_DEST_NAME	2	/* as DEST */

#define RESTORE_SKIP		1	/* restore_path_map: not selected */

struct restore_plan {
	char	base[PATH_MAX];	/* B: absolute, normalized, no trailing / */
	size_t	base_len;
	int	contents;	/* SRC meant what lies below B */
	int	subdir;
	char	root[PATH_MAX];	/* local directory everything goes under */
	char	rename[NAME_MAX + 1];	/* B restored as this name, or "" */
	char	name[NAME_MAX + 1];	/* basename(B) ("" for "/") */
};

/*
 * Normalize SRC lexically (server paths need not exist here): make it
 * absolute against cwd, collapse "//", drop ".", resolve ".."; a trailing
 * "/" (or "/" and a star) sets *contents.  Other wildcards are COFFER_EINVAL.
 */
int restore_path_src(const char *src, const char *cwd, char *base,
    size_t len, int *contents, struct err *e);

/* Build the plan; dest_kind is RESTORE_DEST_* (NAME becomes DIR for
 * contents or when DEST's last component is "." or ".."). */
int restore_plan_make(const char *src, const char *cwd, const char *dest,
    int dest_kind, int subdir, struct restore_plan *p, struct err *e);

/*
 * Map the server path (len bytes, no NUL needed) to rel (NUL-terminated,
 * relative to p->root).  Returns 0, RESTORE_SKIP when the plan does not
 * select it, or COFFER_EINVAL when the path is outside B or unsafe.
 */
int restore_path_map(const struct restore_plan *p, const char *path,
    size_t len, char *rel, size_t rellen, struct err *e);

/* 0 when every component of rel is a plain name; else COFFER_EINVAL. */
int restore_path_check(const char *rel, size_t len, struct err *e);

#endif
