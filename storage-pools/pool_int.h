/*
 * pool_int.h - pool internals shared by pool.c, pool_audit.c and
 * pool_reclaim.c.  Not for use outside storage-pools/.
 */
#ifndef COFFER_POOL_INT_H
#define COFFER_POOL_INT_H

#include <pthread.h>
#include <stdint.h>

#include "hset.h"
#include "pool.h"
#include "pool_backend.h"
#include "pool_container.h"
#include "pool_index.h"

struct sqlite3;
struct sqlite3_stmt;

#define POOL_WBUF_CAP		(4u << 20)

/*
 * A store is one backend holding containers: store 0 is the pool's own
 * directory, others are attached by pool_attach_store() (a cloud pool).
 * A container id carries its store in its top bits, so every read,
 * remove and recovery finds its backend from the id alone.
 */
#define POOL_STORE_SHIFT	48
#define POOL_STORE_OF(id)	((int)((id) >> POOL_STORE_SHIFT))
#define POOL_STORE_BASE(s)	((uint64_t)(s) << POOL_STORE_SHIFT)

struct pool_store {
	struct pool_backend	*be;	/* NULL: not attached */
	uint64_t		 next_id;
	/*
	 * next_id when attached: containers from first_id on were made by
	 * this run, never leftovers of an earlier one.  recovered: the
	 * attach-time recovery ran to the end (pool_store_recover()).
	 */
	uint64_t		 first_id;
	int			 recovered;
	/* The open container: [flushed, end) sits in wbuf. */
	uint64_t		 act_id;	/* 0: none open */
	uint64_t		 act_end;
	uint64_t		 act_flushed;
	uint8_t			*wbuf;
	size_t			 wlen;
};

struct pool {
	char			*dir;
	struct pool_params	 params;
	uint8_t			 uuid[16];

	/*
	 * A second, read-only connection for pool_has(): hashing threads
	 * ask it without waiting for the writer's lock (held across
	 * fsync at commit).  WAL lets it read while the writer writes.
	 */
	pthread_mutex_t		 rlock;
	struct sqlite3		*rdb;
	struct sqlite3_stmt	*st_has;

	/* Everything below is guarded by lock. */
	pthread_mutex_t		 lock;
	struct pool_index	 ix;
	struct pool_store	 st[POOL_STORES_MAX];
	/* Chunks referenced by open transactions: never dropped by reclaim. */
	struct hset		 pinned;
	struct pool_txn		*txns;		/* open transactions */
};

/* A chunk this transaction wrote itself. */
struct txn_new {
	uint8_t		hash[HASH_LEN];
	struct pool_loc	loc;
	int		repair;	/* pool_txn_repair: replaces a damaged row */
};

struct pool_txn {
	struct pool		*p;
	struct pool_txn		*next;
	struct hset		 refs;	/* hash -> references added */
	struct hset		 news;	/* hash -> 1 + index into newv */
	struct txn_new		*newv;
	size_t			 nnew, capnew;
	/*
	 * The containers it appended to, however many: one VM version is
	 * one transaction, of any size.  synced[i]: ctrs[i] filled up and
	 * was synced then, so the commit does not sync it again.
	 */
	uint64_t		*ctrs;
	uint8_t			*synced;
	int			 nctrs, capctrs;
	uint64_t		 bytes_stored;
	int			 store;	/* where its new chunks go */
};

/*
 * Append one record to the open container, starting a new container when
 * the open one is full; lock held.  loc gets where it went; the container
 * is added to t's touched list.
 */
int pool_append_locked(struct pool *p, struct pool_txn *t,
    const struct ctr_rec_hdr *h, const uint8_t *stored,
    struct pool_loc *loc, struct err *e);

/* Write a store's open container's buffered bytes; lock held. */
int pool_flush_locked(struct pool *p, struct pool_store *s, struct err *e);

/* The backend of container id; NULL when its store is not attached. */
struct pool_backend *pool_be(struct pool *p, uint64_t id);

/* Flush and fsync every container t touched; lock held. */
int pool_sync_locked(struct pool *p, struct pool_txn *t, struct err *e);

/* Record the committed size and state of t's containers; lock held. */
int pool_record_sizes_locked(struct pool *p, struct pool_txn *t,
    struct err *e);

/* Read and check a record at loc into buf (>= 64 + stored_len bytes). */
int pool_read_record(struct pool *p, uint64_t container,
    const struct pool_loc *loc, const uint8_t hash[HASH_LEN], uint8_t *buf,
    struct ctr_rec_hdr *h, struct err *e);

/* Set up and tear down an internal transaction (no pins on its own). */
void pool_txn_init(struct pool_txn *t, struct pool *p);
void pool_txn_fini(struct pool_txn *t);

/* 1 when some open transaction touched container id; lock held. */
int pool_container_busy_locked(struct pool *p, uint64_t id);

#endif
