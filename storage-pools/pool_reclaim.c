/*
 * pool_reclaim.c - compact containers whose live data fell below a threshold.
 *
 * Steps, each safe to interrupt (invariants in pool.c):
 *
 *  1. Drop chunk rows with no references that no open transaction pins
 *     (invariant (5)); their bytes become dead space.
 *  2. Pick sealed containers whose live bytes are under reclaim_pct of
 *     their size and that no open transaction touches.
 *  3. For each: copy every record it still holds, as stored (no
 *     recompression), to the open container; fsync; then in one index
 *     transaction point each chunk row that still names the old place at
 *     the new one, recount live bytes and mark the old container DELETED
 *     (invariant (2)).  Only then remove its file (invariant (6)).
 *
 * Records are read outside the pool lock and appended in batches under it,
 * so backups keep running; a row that changed meanwhile (released,
 * repaired) is simply not moved, because the move is conditional on the
 * row still naming the old container and offset.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "fault.h"
#include "pool_int.h"

struct move {
	uint8_t		hash[HASH_LEN];
	struct pool_loc	from;
	struct pool_loc	to;
	int		copied;
};

static int
db_fail(struct pool *p, struct err *e, const char *what)
{
	return err_set(e, COFFER_EDB, "reclaim: %s: %s", what,
	    sqlite3_errmsg(p->ix.db));
}

/* Step 1; lock held. */
static int
drop_unreferenced_locked(struct pool *p, struct pool_reclaim_report *rep,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	uint8_t (*drop)[HASH_LEN] = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT hash FROM chunk WHERE "
	    "refcount=0", -1, &st, NULL) != SQLITE_OK)
		return db_fail(p, e, "find unreferenced");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 0);

		if (sqlite3_column_bytes(st, 0) != HASH_LEN ||
		    hset_get(&p->pinned, h) != NULL)
			continue;
		if (n == cap) {
			void *nd;

			cap = cap ? cap * 2 : 1024;
			if ((nd = realloc(drop, cap * HASH_LEN)) == NULL) {
				r = err_set(e, COFFER_ENOMEM, "reclaim: out of "
				    "memory");
				goto out;
			}
			drop = nd;
		}
		memcpy(drop[n++], h, HASH_LEN);
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(p, e, "find unreferenced");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (n == 0)
		goto out;
	if ((r = pool_index_begin(&p->ix, e)) != 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++)
		r = pool_index_delete(&p->ix, drop[i], e);
	if (r == 0)
		r = pool_index_commit(&p->ix, e);
	if (r != 0)
		pool_index_rollback(&p->ix);
	else
		rep->chunks_freed += n;
	/* invariant (5): rows dropped, their bytes dead space. */
	FAULT_POINT("reclaim.after_drop");
out:
	sqlite3_finalize(st);
	free(drop);
	return r;
}

/* Step 2; lock held.  *ids is malloc'd. */
static int
pick_candidates_locked(struct pool *p, int pct, uint64_t **ids, size_t *n,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t *v = NULL;
	size_t len = 0, cap = 0;
	int rc, r = 0;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT id FROM pool_container WHERE"
	    " state<>2 AND live_bytes*100 < (size-?2)*?1 ORDER BY id", -1,
	    &st, NULL) != SQLITE_OK)
		return db_fail(p, e, "pick containers");
	sqlite3_bind_int(st, 1, pct);
	sqlite3_bind_int(st, 2, CTR_FILE_HDR_LEN);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t const id = (uint64_t)sqlite3_column_int64(st, 0);

		if (pool_container_busy_locked(p, id) || pool_be(p, id) == NULL)
			continue;
		if (len == cap) {
			uint64_t *nv;

			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = err_set(e, COFFER_ENOMEM, "reclaim: out of "
				    "memory");
				goto out;
			}
			v = nv;
		}
		v[len++] = id;
	}
	if (rc != SQLITE_DONE)
		r = db_fail(p, e, "pick containers");
out:
	sqlite3_finalize(st);
	if (r == 0) {
		*ids = v;
		*n = len;
	} else {
		free(v);
	}
	return r;
}

/* Every chunk row of container id, in offset order; lock held. */
static int
list_chunks_locked(struct pool *p, uint64_t id, struct move **out,
    size_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct move *v = NULL;
	size_t len = 0, cap = 0;
	int rc, r = 0;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT hash, offset, stored_len,"
	    " raw_len FROM chunk WHERE container=?1 ORDER BY offset", -1, &st,
	    NULL) != SQLITE_OK)
		return db_fail(p, e, "list chunks");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != HASH_LEN)
			continue;
		if (len == cap) {
			struct move *nv;

			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = err_set(e, COFFER_ENOMEM, "reclaim: out of "
				    "memory");
				goto out;
			}
			v = nv;
		}
		memset(&v[len], 0, sizeof(v[len]));
		memcpy(v[len].hash, sqlite3_column_blob(st, 0), HASH_LEN);
		v[len].from.container = id;
		v[len].from.offset = (uint64_t)sqlite3_column_int64(st, 1);
		v[len].from.stored_len = (uint32_t)sqlite3_column_int64(st, 2);
		v[len].from.raw_len = (uint32_t)sqlite3_column_int64(st, 3);
		len++;
	}
	if (rc != SQLITE_DONE)
		r = db_fail(p, e, "list chunks");
out:
	sqlite3_finalize(st);
	if (r == 0) {
		*out = v;
		*n = len;
	} else {
		free(v);
	}
	return r;
}

/* Recount a container's live bytes from its chunk rows; lock held. */
static int
recount_live_locked(struct pool *p, uint64_t id, struct err *e)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE pool_container SET live_bytes="
	    "(SELECT coalesce(sum(%d+stored_len),0) FROM chunk WHERE "
	    "container=%" PRIu64 " AND refcount>0) WHERE id=%" PRIu64,
	    CTR_REC_HDR_LEN, id, id);
	return pool_index_exec(&p->ix, sql, e);
}

/* Step 3's commit; lock held. */
static int
commit_moves_locked(struct pool *p, struct pool_txn *t, uint64_t old,
    struct move *mv, size_t n, int *emptied, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	*emptied = 0;
	/* invariant (3): copies written, not yet durable or named. */
	FAULT_POINT("reclaim.before_sync");
	/* invariant (2) */
	if ((r = pool_sync_locked(p, t, e)) != 0)
		return r;
	if ((r = pool_index_begin(&p->ix, e)) != 0)
		return r;
	if (sqlite3_prepare_v2(p->ix.db, "UPDATE chunk SET container=?2,"
	    " offset=?3 WHERE hash=?1 AND container=?4 AND offset=?5", -1,
	    &st, NULL) != SQLITE_OK) {
		r = db_fail(p, e, "move chunks");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!mv[i].copied)
			continue;
		sqlite3_bind_blob(st, 1, mv[i].hash, HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)mv[i].to.container);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)mv[i].to.offset);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)old);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)mv[i].from.offset);
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = db_fail(p, e, "move chunk");
			goto out;
		}
		sqlite3_reset(st);
	}
	if ((r = pool_record_sizes_locked(p, t, e)) != 0)
		goto out;
	for (int i = 0; i < t->nctrs; i++)
		if ((r = recount_live_locked(p, t->ctrs[i], e)) != 0)
			goto out;
	sqlite3_finalize(st);
	st = NULL;
	/* Only a container that nothing names any more may go (6). */
	if (sqlite3_prepare_v2(p->ix.db, "SELECT count(*) FROM chunk WHERE "
	    "container=?1", -1, &st, NULL) != SQLITE_OK) {
		r = db_fail(p, e, "count chunks");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)old);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(p, e, "count chunks");
		goto out;
	}
	if (sqlite3_column_int64(st, 0) == 0) {
		char sql[128];

		snprintf(sql, sizeof(sql), "UPDATE pool_container SET state=2,"
		    " live_bytes=0 WHERE id=%" PRIu64, old);
		if ((r = pool_index_exec(&p->ix, sql, e)) != 0)
			goto out;
		*emptied = 1;
	} else if ((r = recount_live_locked(p, old, e)) != 0) {
		goto out;
	}
	/* invariant (2): the moves are not committed; old places stay. */
	FAULT_POINT("reclaim.before_commit");
	r = pool_index_commit(&p->ix, e);
out:
	sqlite3_finalize(st);
	if (r != 0)
		pool_index_rollback(&p->ix);
	return r;
}

#define COPY_BATCH	64

/* Copy the records of one container forward, then commit and remove it. */
static int
reclaim_one(struct pool *p, uint64_t id, uint8_t *buf, size_t bufcap,
    struct pool_reclaim_report *rep, struct err *e)
{
	struct pool_txn t;
	struct move *mv = NULL;
	uint64_t size = 0;
	size_t n = 0;
	int emptied = 0, r;

	pool_txn_init(&t, p);
	/* Live chunks stay in the store (storage pool) they were in. */
	pool_txn_set_store(&t, POOL_STORE_OF(id));
	pthread_mutex_lock(&p->lock);
	r = list_chunks_locked(p, id, &mv, &n, e);
	pthread_mutex_unlock(&p->lock);
	if (r != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t const need = CTR_REC_HDR_LEN + mv[i].from.stored_len;
		struct ctr_rec_hdr h;
		struct err why;

		if (need > bufcap) {
			r = err_set(e, COFFER_ECORRUPT, "record too large");
			goto out;
		}
		/* Read outside the lock; a bad record stays where it is. */
		if (pool_read_record(p, id, &mv[i].from, mv[i].hash, buf, &h,
		    &why) != 0)
			continue;
		pthread_mutex_lock(&p->lock);
		r = pool_append_locked(p, &t, &h, buf + CTR_REC_HDR_LEN,
		    &mv[i].to, e);
		pthread_mutex_unlock(&p->lock);
		if (r != 0)
			goto out;
		mv[i].copied = 1;
		rep->chunks_moved++;
		/* invariant (1): copies appended; the old records stay. */
		FAULT_POINT("reclaim.copy");
	}
	(void)pool_be(p, id)->ops->size(pool_be(p, id), id, &size, NULL);
	pthread_mutex_lock(&p->lock);
	r = commit_moves_locked(p, &t, id, mv, n, &emptied, e);
	pthread_mutex_unlock(&p->lock);
	if (r != 0 || !emptied)
		goto out;
	/* invariant (6): DELETED and committed; open removes its file. */
	FAULT_POINT("reclaim.before_remove");
	/* invariant (6): the commit above moved everything; now remove. */
	if ((r = pool_be(p, id)->ops->remove(pool_be(p, id), id, e)) != 0)
		goto out;
	/* invariant (6): file gone, its DELETED row not yet. */
	FAULT_POINT("reclaim.after_remove");
	pthread_mutex_lock(&p->lock);
	{
		char sql[96];

		snprintf(sql, sizeof(sql), "DELETE FROM pool_container WHERE "
		    "id=%" PRIu64, id);
		r = pool_index_exec(&p->ix, sql, e);
	}
	pthread_mutex_unlock(&p->lock);
	rep->containers_reclaimed++;
	rep->bytes_freed += size;
out:
	pool_txn_fini(&t);
	free(mv);
	return r;
}

int
pool_reclaim(struct pool *p, int pct, struct pool_reclaim_report *rep,
    struct err *e)
{
	uint64_t *ids = NULL;
	uint8_t *buf = NULL;
	size_t const bufcap = CTR_REC_HDR_LEN + POOL_RAW_MAX + 65536;
	size_t n = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (pct < 0)
		pct = p->params.reclaim_pct;
	if (pct > 100)
		return err_set(e, COFFER_EINVAL, "reclaim threshold %d%% above "
		    "100", pct);
	if ((buf = malloc(bufcap)) == NULL)
		return err_set(e, COFFER_ENOMEM, "reclaim: out of memory");
	pthread_mutex_lock(&p->lock);
	r = drop_unreferenced_locked(p, rep, e);
	for (int i = 0; i < POOL_STORES_MAX && r == 0 && p->txns == NULL;
	    i++) {
		struct pool_store *s = &p->st[i];

		/*
		 * Nobody is writing: close the open container so that it can
		 * be compacted too (an idle pool would otherwise keep its
		 * last container's dead space forever).  A sealed-on-sync
		 * store's open container holds no committed chunk (the
		 * commit that named one sealed it): nothing to compact.
		 */
		if (s->be == NULL || s->act_id == 0 ||
		    (s->be->ops->flags & POOL_BE_SEAL_ON_SYNC))
			continue;
		if ((r = pool_flush_locked(p, s, e)) == 0)
			s->act_id = 0;
	}
	if (r == 0)
		r = pick_candidates_locked(p, pct, &ids, &n, e);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < n && r == 0; i++)
		r = reclaim_one(p, ids[i], buf, bufcap, rep, e);
	free(ids);
	free(buf);
	return r;
}
