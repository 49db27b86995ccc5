/*
 * fslist.h - the node's filespaces (FS_LIST), and which one holds a path.
 */
#ifndef COFFER_CLIENT_FSLIST_H
#define COFFER_CLIENT_FSLIST_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct net_conn;

struct fslist_ent {
	uint64_t	 id;
	char		*name;
	char		*type;
	int64_t		 last_start, last_end;	/* Unix seconds, 0: never */
	uint64_t	 objects, bytes;
	int		 drprotect;	/* 1: part of a DR restore */
	uint32_t	 drpriority;	/* 0: none set; 1 first */
};

struct fslist {
	struct fslist_ent	*v;
	size_t			 n;
};

int fslist_get(struct net_conn *c, struct fslist *l, struct err *e);
void fslist_free(struct fslist *l);

/*
 * The filespace whose name is the longest path prefix of path ("/data"
 * holds "/data" and "/data/x", not "/database"), or NULL.  VM filespaces
 * ("VM:NAME") hold no path: they never match.
 */
const struct fslist_ent *fslist_match(const struct fslist *l,
    const char *path);

#endif
