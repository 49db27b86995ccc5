/*
 * pool.h - the deduplicating container pool (TSM: directory-container pool).
 *
 * A pool is a directory of append-only container files plus a chunk index
 * in SQLite.  A chunk is named by the SHA-256 of its plaintext and stored
 * once, compressed, as one record in a container; objects refer to chunks
 * by recipes (pool_recipe.h) and every reference is counted.
 *
 * Durability (the numbered invariants live in pool.c):  chunk bytes are
 * appended and fsynced before the index transaction that names them
 * commits, so a committed object never points at missing data, and bytes
 * a crash left unindexed at a container's tail are truncated at open.
 *
 * Threads: a struct pool may be shared by threads; its index connection and
 * the open container are guarded by one lock, reads use per-thread
 * struct pool_reader.  A struct pool_txn belongs to one thread.
 */
#ifndef COFFER_POOL_H
#define COFFER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct err;
struct pool;
struct pool_txn;
struct pool_reader;
struct sqlite3;

#define POOL_CONTAINER_MAX_DEFAULT	(256ull << 20)
#define POOL_RECLAIM_PCT_DEFAULT	60	/* reclaim below 60% live */
#define POOL_RAW_MAX			(16u << 20)	/* largest chunk */
#define POOL_STORES_MAX			16	/* store 0 + 15 attached */

struct pool_params {
	int		level;		/* zstd level (stored in the pool) */
	uint64_t	container_max;	/* seal a container past this size */
	int		reclaim_pct;	/* live percentage that triggers reclaim */
};

void pool_params_default(struct pool_params *p);

/*
 * Create an empty pool in dir (created if missing; must not hold a pool).
 * The index goes to dbpath, or DIR/pool.db when dbpath is NULL; a server
 * passes its catalog so that object rows and chunk references commit in
 * one transaction.
 */
int pool_create(const char *dir, const char *dbpath,
    const struct pool_params *p, struct err *e);

/*
 * Open a pool and recover it: container tails past the indexed size are
 * truncated, containers whose files are missing are reported, leftovers
 * of an interrupted reclamation are removed.
 */
int pool_open(const char *dir, const char *dbpath, struct pool **out,
    struct err *e);
void pool_close(struct pool *p);	/* accepts NULL */

const struct pool_params *pool_get_params(const struct pool *p);

/*
 * Is the chunk present (and not damaged)?  1 yes, 0 no, < 0 error.  Safe
 * from any thread and never waits for a commit: it is a hint for skipping
 * work (what was committed a moment ago may not be seen yet), so a "yes"
 * must still be confirmed with pool_txn_ref() or pool_txn_pin().
 */
int pool_has(struct pool *p, const uint8_t hash[HASH_LEN]);

/* A stored chunk as it sits in a container record. */
struct pool_chunk {
	uint8_t		 hash[HASH_LEN];
	uint32_t	 raw_len;
	uint8_t		 codec;		/* CODEC_RAW or CODEC_ZSTD */
	uint32_t	 stored_len;
	const uint8_t	*stored;
};

/*
 * Stores: a pool keeps one chunk index, and its containers live in the
 * pool's directory (store 0) or in attached stores 1..POOL_STORES_MAX-1
 * (a cloud storage pool: pool_backend_cloud_open()).  A chunk is stored
 * once whichever store holds it.  Attaching runs the store's recovery
 * (leftovers of an interrupted reclamation, objects no row names); when
 * that fails (the store is unreachable) the store is still attached, its
 * reads fail until it answers, and the error says why.  The pool owns be
 * from then on, error or not.
 */
struct pool_backend;
int pool_attach_store(struct pool *p, int store, struct pool_backend *be,
    struct err *e);
/* The store whose container holds hash's row, or -1 (no row, error). */
int pool_chunk_store(struct pool *p, const uint8_t hash[HASH_LEN]);
/* Is a backend attached to store (0 always is)? */
int pool_store_attached(struct pool *p, int store);
/*
 * Change an attached cloud store's S3 key and CA file in place (UPDATE
 * STGPOOL): requests from now on use them; ENOTFOUND when store is not
 * an attached cloud store.
 */
int pool_store_set_credentials(struct pool *p, int store,
    const char *access_key, const char *secret_key, const char *cafile,
    struct err *e);
/*
 * Point an attached cloud store at another endpoint of the same bucket
 * (UPDATE STGPOOL CLOUDURL=), under the pool lock; the caller checked that
 * url serves this store's containers (pool_store_probe()).
 */
int pool_store_set_endpoint(struct pool *p, int store, const char *url,
    struct err *e);
/*
 * Up to two sealed containers of store (the oldest and the newest) and
 * their committed sizes, for checking that an endpoint holds them; *n 0
 * when the store holds none yet.
 */
int pool_store_probe(struct pool *p, int store, uint64_t ids[2],
    uint64_t sizes[2], int *n, struct err *e);
/*
 * Run the attach-time recovery of a store whose recovery failed then (it
 * was unreachable at start-up) once it answers: the leftovers of an
 * interrupted reclamation go, as a restart would remove them.  Sessions
 * may run meanwhile: containers this run made, and those an open
 * transaction touches, are left alone (a restart recovers them).  *ran 1
 * when it ran now; 0 and nothing done when the store is recovered already.
 */
int pool_store_recover(struct pool *p, int store, int *ran, struct err *e);
/*
 * Detach an empty store and close its backend (DELETE STGPOOL): EBUSY
 * while a transaction writes to it, EEXIST (with the counts) while it
 * holds any container or chunk row.  Nothing in the store is removed.
 */
int pool_detach_store(struct pool *p, int store, struct err *e);
/* Set and keep the live percentage below which reclaim compacts (0: never). */
int pool_set_reclaim_pct(struct pool *p, int pct, struct err *e);
/* The pool's id as 32 hex digits (cloud object keys carry it). */
void pool_uuid_hex(const struct pool *p, char out[33]);
/* Stats of one store's containers and the chunks they hold. */
struct pool_stats;
int pool_store_stats(struct pool *p, int store, struct pool_stats *s,
    struct err *e);
/* Requests its S3 client made, or 0 (not a cloud store). */
uint64_t pool_store_requests(struct pool *p, int store);

/* Transactions: all or nothing. */
int pool_txn_begin(struct pool *p, struct pool_txn **out, struct err *e);

/*
 * Where t's new chunks go (default store 0); before its first put.  A
 * store not attached makes the put fail, naming it.
 */
void pool_txn_set_store(struct pool_txn *t, int store);

/*
 * Reference chunk c, storing its bytes when the pool lacks it (or holds
 * only a damaged copy).  The caller vouches that stored decodes to raw_len
 * bytes whose SHA-256 is hash (the server checks what clients send with
 * pool_chunk_verify()).  *stored_new tells whether bytes were written.
 */
int pool_txn_put(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e);

/*
 * Store chunk c's bytes without referencing it: the reference comes from a
 * later pool_txn_ref() (the server stores what a client sends, and the
 * object that names the chunk references it).  A chunk stored but never
 * referenced is dead space after commit.
 */
int pool_txn_store(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e);

/*
 * Repair: store chunk c's bytes when the pool holds only a damaged copy,
 * and at commit point the index row at the new copy whether or not t
 * references it (reference counts unchanged), so that every object that
 * names the chunk reads it again.  A chunk the pool holds good, or no
 * longer holds at all, is left alone (*stored_new 0).  The caller vouches
 * for c as for pool_txn_put.
 */
int pool_txn_repair(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e);

/*
 * Is the chunk present (and good)?  When it is, pin it until t ends, so
 * that a later pool_txn_ref() in t cannot miss it: 1 present and pinned,
 * 0 absent (or damaged: to be sent again), < 0 error.
 */
int pool_txn_pin(struct pool_txn *t, const uint8_t hash[HASH_LEN],
    struct err *e);

/*
 * pool_txn_pin() and, when that finds the chunk absent or damaged,
 * pool_txn_store(), with one index lookup: 1 present and pinned, 0 not
 * present and now stored (*stored_new 1), < 0 error.  A chunk t wrote or
 * pinned already counts as present.
 * The caller vouches for c as for pool_txn_put.
 */
int pool_txn_pin_or_store(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e);

/*
 * Reference a chunk the pool already holds (a deduplicated chunk).
 * COFFER_ENOTFOUND when it does not.
 */
int pool_txn_ref(struct pool_txn *t, const uint8_t hash[HASH_LEN],
    struct err *e);

/*
 * Take back one reference this transaction added (an object that failed
 * midway is dropped without its chunks leaking references).
 */
int pool_txn_unref(struct pool_txn *t, const uint8_t hash[HASH_LEN],
    struct err *e);

/*
 * Make the transaction durable: flush and fsync its container bytes, then
 * in one index transaction apply its references, call cb (if not NULL)
 * with the index connection so the caller can write its own rows, and
 * commit.  If cb fails, nothing is committed.  The txn is freed either way.
 * A failed commit leaves the pool as pool_txn_abort() would: pins are
 * released, and the bytes the txn appended (durable by then) are dead
 * space that no index row names; the server relies on this to roll back
 * an all-or-nothing transaction from inside cb.
 */
typedef int (*pool_commit_cb)(struct sqlite3 *db, void *arg, struct err *e);
int pool_txn_commit(struct pool_txn *t, pool_commit_cb cb, void *arg,
    struct err *e);
void pool_txn_abort(struct pool_txn *t);	/* accepts NULL */

/* Bytes and chunks written by a transaction so far. */
uint64_t pool_txn_bytes_stored(const struct pool_txn *t);

/*
 * Run cb inside one index transaction (BEGIN IMMEDIATE ... COMMIT) with
 * the pool lock held; cb may call pool_unref_locked().  Used to delete
 * objects (expiration) and release their chunks in the same commit.
 */
int pool_exec(struct pool *p, pool_commit_cb cb, void *arg, struct err *e);

/*
 * Size the index connection's page cache: kib KiB, or 0 for the pool's
 * usual size (a smaller size gives the memory back).  Work that rewrites
 * much of the index in a few transactions (expiration) raises it for its
 * run, so a transaction's pages stay in memory until its commit instead
 * of spilling into the WAL and being read back.  Not from inside
 * pool_exec()'s callback (it takes the pool lock).
 */
int pool_set_cache(struct pool *p, int kib, struct err *e);

/* Drop one reference to hash; only inside pool_exec()'s callback. */
int pool_unref_locked(struct pool *p, const uint8_t hash[HASH_LEN],
    struct err *e);
/* Drop one reference for every stored entry of a recipe (same rule). */
int pool_unref_recipe_locked(struct pool *p, const uint8_t *recipe,
    size_t len, struct err *e);

/*
 * A batch of chunk references to drop, summed per chunk, so releasing the
 * recipes of many versions costs one index update per distinct chunk
 * instead of one per recipe entry (expiration).  Fill it with
 * pool_unrefs_add_recipe(); pool_unrefs_apply_locked() drops them, only
 * inside pool_exec()'s callback (the rule of pool_unref_locked()), and
 * leaves the set empty for reuse whatever it returns.  A chunk released
 * more often than it is referenced is COFFER_ECORRUPT, as there.
 */
struct pool_unrefs;
struct pool_unrefs *pool_unrefs_new(struct err *e);
void pool_unrefs_free(struct pool_unrefs *u);	/* accepts NULL */
int pool_unrefs_add_recipe(struct pool_unrefs *u, const uint8_t *recipe,
    size_t len, struct err *e);
size_t pool_unrefs_count(const struct pool_unrefs *u);	/* distinct chunks */
int pool_unrefs_apply_locked(struct pool *p, struct pool_unrefs *u,
    struct err *e);

/* Readers: one per thread; they verify everything they return. */
struct pool_reader *pool_reader_new(struct pool *p, struct err *e);
void pool_reader_free(struct pool_reader *r);	/* accepts NULL */

/*
 * For a reader about to read most of the pool in an order unrelated to
 * where the chunks lie (export and replication walk versions by UUID):
 * the first read from a container asks the backend to read the whole
 * container ahead, for containers up to a quarter of the memory in all.
 * Random reads of a cold pool then become one sequential read each.
 */
#define POOL_READAHEAD_MAX	256	/* containers remembered */
void pool_reader_readahead(struct pool_reader *r);

/*
 * Read a chunk into out (capacity cap >= its raw length); checks the record
 * header, CRC32C, decodes and checks SHA-256.  Damage is COFFER_ECORRUPT
 * (the chunk is then marked damaged in the index) and never returns data.
 */
int pool_read(struct pool_reader *r, const uint8_t hash[HASH_LEN],
    uint8_t *out, size_t cap, uint32_t *raw_len, struct err *e);

/*
 * Read a chunk as stored (for replication and export: no recompression).
 * The pointer in c stays valid until the reader's next call.  The record's
 * CRC is checked.
 */
int pool_read_stored(struct pool_reader *r, const uint8_t hash[HASH_LEN],
    struct pool_chunk *c, struct err *e);

/* Check a received chunk: decodes to raw_len bytes with that SHA-256. */
int pool_chunk_verify(struct pool_reader *r, const struct pool_chunk *c,
    struct err *e);

/* Statistics. */
struct pool_stats {
	uint64_t	containers;
	uint64_t	chunks;		/* chunk rows, live or not */
	uint64_t	live_chunks;	/* refcount > 0 */
	uint64_t	references;	/* sum of refcounts */
	uint64_t	raw_bytes;	/* plaintext of live chunks */
	uint64_t	stored_bytes;	/* their stored size */
	uint64_t	container_bytes;/* size of all container files */
	uint64_t	damaged;
};
int pool_stats(struct pool *p, struct pool_stats *s, struct err *e);

/* Audit (TSM: AUDIT CONTAINER). */
struct pool_audit_report {
	uint64_t	chunks_checked;
	uint64_t	damaged;	/* found damaged by this audit */
	uint64_t	bytes_read;
	uint64_t	containers;
	/*
	 * Not read: their container's storage pool is not attached (a
	 * cloud pool unreachable since start-up, or any cloud pool in
	 * coffer-pool, which opens directory pools only).
	 */
	uint64_t	skipped_chunks;
	uint64_t	skipped_containers;
};
/* Called for every damaged chunk found, with a message naming it. */
typedef void (*pool_damage_cb)(void *arg, const uint8_t hash[HASH_LEN],
    uint64_t container, uint64_t offset, const char *why);
int pool_audit(struct pool *p, pool_damage_cb cb, void *arg,
    struct pool_audit_report *rep, struct err *e);

/* Reclamation (TSM: RECLAIM STGPOOL / container defragmentation). */
struct pool_reclaim_report {
	uint64_t	containers_reclaimed;
	uint64_t	chunks_moved;
	uint64_t	chunks_freed;	/* unreferenced chunks dropped */
	uint64_t	bytes_freed;	/* container bytes given back */
};
/* pct < 0: use the pool's reclaim_pct. */
int pool_reclaim(struct pool *p, int pct, struct pool_reclaim_report *rep,
    struct err *e);

#endif
