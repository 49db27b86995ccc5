/*
 * pool_index.h - the chunk index in SQLite.
 *
 *   chunk(hash PRIMARY KEY, container, offset, stored_len, raw_len,
 *         refcount, damaged)
 *   pool_container(id PRIMARY KEY, size, live_bytes, state, created)
 *   pool_meta(key PRIMARY KEY, value)
 *
 * chunk.offset is the offset of the record header; stored_len excludes it.
 * pool_container.size is the committed length of the container: a record
 * boundary, and every byte below it is durable.  live_bytes counts record
 * bytes (header included) of chunks whose refcount is above zero.
 *
 * Statements are prepared once at open and reused.  None of these
 * functions begins or ends a transaction: the caller does.
 */
#ifndef COFFER_POOL_INDEX_H
#define COFFER_POOL_INDEX_H

#include <stdint.h>

#include "hash.h"

struct err;
struct sqlite3;
struct sqlite3_stmt;

#define CTR_STATE_OPEN		0	/* receiving appends */
#define CTR_STATE_SEALED	1	/* full; read-only */
#define CTR_STATE_DELETED	2	/* reclaimed; file to be removed */

struct pool_loc {
	uint64_t	container;
	uint64_t	offset;
	uint32_t	stored_len;
	uint32_t	raw_len;
	int64_t		refcount;
	int		damaged;
};

struct pool_index {
	struct sqlite3		*db;
	struct sqlite3_stmt	*st_get;
	struct sqlite3_stmt	*st_inc;
	struct sqlite3_stmt	*st_ins;
	struct sqlite3_stmt	*st_ins_new;	/* ON CONFLICT DO NOTHING */
	struct sqlite3_stmt	*st_replace;
	struct sqlite3_stmt	*st_dec;
	struct sqlite3_stmt	*st_ctr_upsert;
	struct sqlite3_stmt	*st_ctr_live;
	struct sqlite3_stmt	*st_damage;
	struct sqlite3_stmt	*st_move;
	struct sqlite3_stmt	*st_del;
};

/* The index connection's page cache unless told otherwise (KiB). */
#define POOL_INDEX_CACHE_KIB	16384

int pool_index_open(struct pool_index *ix, const char *path, struct err *e);
/* Page cache of kib KiB (PRAGMA cache_size); 0: POOL_INDEX_CACHE_KIB. */
int pool_index_cache(struct pool_index *ix, int kib, struct err *e);
void pool_index_close(struct pool_index *ix);

int pool_index_create_schema(struct pool_index *ix, struct err *e);
int pool_index_exec(struct pool_index *ix, const char *sql, struct err *e);
int pool_index_begin(struct pool_index *ix, struct err *e);
int pool_index_commit(struct pool_index *ix, struct err *e);
void pool_index_rollback(struct pool_index *ix);

/* 1 found (loc filled), 0 not found, < 0 error. */
int pool_index_get(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct pool_loc *loc, struct err *e);
/*
 * refcount += delta.  1 when the row exists (loc gets the row after the
 * change), 0 when it does not.
 */
int pool_index_inc(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    int64_t delta, struct pool_loc *loc, struct err *e);
/*
 * refcount -= 1.  1 with loc after the change; 0 when the row is missing
 * or its refcount is already zero.
 */
int pool_index_dec(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct pool_loc *loc, struct err *e);
/*
 * refcount -= n (n >= 1) in one statement.  1 with loc after the change;
 * 0 when the row is missing or holds fewer than n references (nothing
 * changes then).
 */
int pool_index_dec_n(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    int64_t n, struct pool_loc *loc, struct err *e);
int pool_index_insert(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, struct err *e);
/*
 * Insert hash's row unless one exists: 1 inserted, 0 a row exists (left
 * as it is), < 0 an error.  One statement for a chunk that is new, where
 * an increment that misses and then an insert would take two.
 */
int pool_index_insert_new(struct pool_index *ix,
    const uint8_t hash[HASH_LEN], const struct pool_loc *loc, struct err *e);
/* Point an existing (damaged) row at a new good copy. */
int pool_index_replace(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, struct err *e);
int pool_index_move(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    uint64_t container, uint64_t offset, struct err *e);
int pool_index_delete(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct err *e);
int pool_index_mark_damaged(struct pool_index *ix,
    const uint8_t hash[HASH_LEN], struct err *e);

/* Insert or update a container's committed size and state. */
int pool_index_container_set(struct pool_index *ix, uint64_t id,
    uint64_t size, int state, struct err *e);
int pool_index_container_live(struct pool_index *ix, uint64_t id,
    int64_t delta, struct err *e);

int pool_index_meta_get(struct pool_index *ix, const char *key, char *buf,
    size_t len, struct err *e);
int pool_index_meta_set(struct pool_index *ix, const char *key,
    const char *value, struct err *e);

#endif
