/*
 * walk_ahead.h - a second walk of the same tree, on a thread, ahead of
 * the backup's own, so that the directory blocks and inodes the backup's
 * walk needs are in the kernel's caches when it gets there.
 *
 * Why: the backup's walk reads each directory and looks at each entry
 * (fstatat) one after the other.  With cold caches every miss is a
 * synchronous read, and the merge, the pipeline and the network wait for
 * it; the nightly incremental of an unchanged tree is nothing but such
 * misses.  The walk ahead takes those misses on the other core.
 *
 * Both walks visit the same entries in the same order (walk.h), so "how
 * far ahead" is a count: the thread stays at most WALK_AHEAD entries in
 * front of the entries the backup took (walk_ahead_step).  The backup
 * does not enter excluded directories; prune() tells the thread which,
 * so that the counts stay comparable.  Entries that appear or vanish
 * between the two walks only shift the count by as many.
 *
 * Only a hint: a failure to start, or any error in the walk ahead, costs
 * time and nothing else.  prune() is called on the thread.
 */
#ifndef COFFER_CLIENT_WALK_AHEAD_H
#define COFFER_CLIENT_WALK_AHEAD_H

#include <stdint.h>

#define WALK_AHEAD	4096	/* entries in front of the backup's walk */
#define WALK_AHEAD_PROBE	512	/* entries per look at the disk reads */
#define WALK_AHEAD_WARM		4	/* looks without any: stop */

#define WALK_AHEAD_ALWAYS	1	/* flag: go on in a tree in the caches
					   (for tests) */

struct walk_ahead;

/*
 * Start walking root (as walk_open) ahead; prune(arg, path) returns 1
 * for a directory the backup will not enter.  NULL when it cannot start
 * (then there is simply no walk ahead).  The thread ends by itself when
 * WALK_AHEAD_WARM looks in a row found no block read from the disk,
 * unless flags has WALK_AHEAD_ALWAYS.
 */
struct walk_ahead *walk_ahead_start(const char *root,
    int (*prune)(void *arg, const char *path), void *arg, int flags);
/* The backup's walk returned one more entry. */
void walk_ahead_step(struct walk_ahead *a);
/* Entries the walk ahead has taken so far. */
uint64_t walk_ahead_done(const struct walk_ahead *a);
/* Stop the thread and free it; accepts NULL. */
void walk_ahead_stop(struct walk_ahead *a);

#endif
