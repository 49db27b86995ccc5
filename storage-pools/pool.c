/*
 * pool.c - the container pool: open and recovery, transactions, reads.
 *
 * Durability invariants (cited in the code as "invariant (N)"):
 *
 *  (1) Container bytes are only appended; a record is never rewritten in
 *      place, and a container is removed only as a whole.
 *  (2) Container bytes are fsynced (and a new container's directory entry
 *      with them) before the index transaction that names them commits.
 *  (3) pool_container.size is a record boundary at or below the durable
 *      end of the file; at open, bytes beyond it are truncated.  Records
 *      between indexed chunks that no chunk row names are dead space.
 *  (4) A chunk row exists only for a record whose bytes are durable, and
 *      its refcount is the number of committed references to it.
 *  (5) A chunk that an open transaction has referenced is pinned: its row
 *      is not dropped even if its refcount falls to zero meanwhile.
 *  (6) A container file is removed only after the index commit that moved
 *      all its chunks elsewhere and marked it DELETED; at open, files of
 *      DELETED containers and files no row names are removed.
 *
 * One lock guards the index connection and the open container; data reads
 * and all hashing and compression happen outside it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "codec.h"
#include "crc32c.h"
#include "err.h"
#include "fault.h"
#include "pool_int.h"
#include "pool_recipe.h"
#include "s3.h"
#include "util.h"

#define POOL_FORMAT	"1"

struct pool_reader {
	struct pool	*p;
	struct codec	*codec;
	struct hash_ctx	*hash;
	uint8_t		*buf;	/* one record: header + stored bytes */
	size_t		 cap;
	/* pool_reader_readahead(): containers hinted, and bytes left to. */
	uint64_t	 ahead[POOL_READAHEAD_MAX];
	size_t		 nahead;
	uint64_t	 ahead_budget;
};

void
pool_params_default(struct pool_params *p)
{
	p->level = CODEC_LEVEL_DEFAULT;
	p->container_max = POOL_CONTAINER_MAX_DEFAULT;
	p->reclaim_pct = POOL_RECLAIM_PCT_DEFAULT;
}

const struct pool_params *
pool_get_params(const struct pool *p)
{
	return &p->params;
}

static void
db_path(const char *dir, const char *dbpath, char *buf, size_t len)
{
	if (dbpath != NULL)
		snprintf(buf, len, "%s", dbpath);
	else
		snprintf(buf, len, "%s/pool.db", dir);
}

static void
uuid_to_hex(const uint8_t u[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", u[i]);
}

static int
uuid_from_hex(const char *s, uint8_t u[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		u[i] = (uint8_t)v;
	}
	return 0;
}

int
pool_create(const char *dir, const char *dbpath, const struct pool_params *pp,
    struct err *e)
{
	struct pool_params defaults;
	struct pool_index ix;
	char path[4096], buf[64], uuid[33];
	uint8_t u[16];
	int r;

	if (pp == NULL) {
		pool_params_default(&defaults);
		pp = &defaults;
	}
	if (pp->level < 1 || pp->level > 19)
		return err_set(e, COFFER_EINVAL, "compression level %d: "
		    "must be 1..19", pp->level);
	if (pp->container_max < (1u << 20))
		return err_set(e, COFFER_EINVAL, "container size %" PRIu64
		    ": must be at least 1 MiB", pp->container_max);
	if (pp->reclaim_pct < 1 || pp->reclaim_pct > 100)
		return err_set(e, COFFER_EINVAL, "reclaim threshold %d%%: "
		    "must be 1..100", pp->reclaim_pct);
	if ((r = util_mkdir_p(dir, 0700, e)) != 0)
		return r;
	db_path(dir, dbpath, path, sizeof(path));
	if ((r = pool_index_open(&ix, path, e)) != 0)
		return r;
	if (pool_index_meta_get(&ix, "uuid", buf, sizeof(buf), NULL) == 0) {
		r = err_set(e, COFFER_EEXIST, "%s already holds a pool", path);
		goto out;
	}
	if (RAND_bytes(u, sizeof(u)) != 1) {
		r = err_set(e, COFFER_EINTERNAL, "no random bytes for pool id");
		goto out;
	}
	uuid_to_hex(u, uuid);
	if ((r = pool_index_begin(&ix, e)) != 0)
		goto out;
	if ((r = pool_index_meta_set(&ix, "uuid", uuid, e)) != 0)
		goto rollback;
	if ((r = pool_index_meta_set(&ix, "format", POOL_FORMAT, e)) != 0)
		goto rollback;
	snprintf(buf, sizeof(buf), "%d", pp->level);
	if ((r = pool_index_meta_set(&ix, "level", buf, e)) != 0)
		goto rollback;
	snprintf(buf, sizeof(buf), "%" PRIu64, pp->container_max);
	if ((r = pool_index_meta_set(&ix, "container_max", buf, e)) != 0)
		goto rollback;
	snprintf(buf, sizeof(buf), "%d", pp->reclaim_pct);
	if ((r = pool_index_meta_set(&ix, "reclaim_pct", buf, e)) != 0)
		goto rollback;
	r = pool_index_commit(&ix, e);
	goto out;
rollback:
	pool_index_rollback(&ix);
out:
	pool_index_close(&ix);
	return r;
}

static int
load_params(struct pool *p, struct err *e)
{
	char buf[64];
	int r;

	if ((r = pool_index_meta_get(&p->ix, "uuid", buf, sizeof(buf), e)) != 0)
		return err_wrap(e, "pool %s is not formatted", p->dir);
	if (uuid_from_hex(buf, p->uuid) != 0)
		return err_set(e, COFFER_ECORRUPT, "pool id '%s' is malformed",
		    buf);
	if ((r = pool_index_meta_get(&p->ix, "format", buf, sizeof(buf),
	    e)) != 0)
		return r;
	if (strcmp(buf, POOL_FORMAT) != 0)
		return err_set(e, COFFER_EVERSION, "pool format %s not "
		    "supported (this build reads %s)", buf, POOL_FORMAT);
	if ((r = pool_index_meta_get(&p->ix, "level", buf, sizeof(buf),
	    e)) != 0)
		return r;
	p->params.level = atoi(buf);
	if ((r = pool_index_meta_get(&p->ix, "container_max", buf,
	    sizeof(buf), e)) != 0)
		return r;
	p->params.container_max = strtoull(buf, NULL, 10);
	if ((r = pool_index_meta_get(&p->ix, "reclaim_pct", buf, sizeof(buf),
	    e)) != 0)
		return r;
	p->params.reclaim_pct = atoi(buf);
	return 0;
}

/* Mark every chunk of a container from offset on as damaged. */
static int
damage_from(struct pool *p, uint64_t id, uint64_t from, struct err *e)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE chunk SET damaged=1 WHERE "
	    "container=%" PRIu64 " AND offset+%d+stored_len>%" PRIu64, id,
	    CTR_REC_HDR_LEN, from);
	return pool_index_exec(&p->ix, sql, e);
}

/* Bring one listed container file in line with its index row. */
static int
recover_file(struct pool *p, struct pool_backend *be, uint64_t id,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t size, fsize;
	int state, rc, r;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT size, state FROM "
	    "pool_container WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
		return err_set(e, COFFER_EDB, "recovery: %s",
		    sqlite3_errmsg(p->ix.db));
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	rc = sqlite3_step(st);
	size = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	state = rc == SQLITE_ROW ? sqlite3_column_int(st, 1) : -1;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return err_set(e, COFFER_EDB, "recovery: %s",
		    sqlite3_errmsg(p->ix.db));
	if (state < 0 || state == CTR_STATE_DELETED) {
		/* invariant (6): no committed chunk lives here. */
		if ((r = be->ops->remove(be, id, e)) != 0)
			return r;
		if (state == CTR_STATE_DELETED) {
			char sql[128];

			snprintf(sql, sizeof(sql), "DELETE FROM pool_container"
			    " WHERE id=%" PRIu64, id);
			return pool_index_exec(&p->ix, sql, e);
		}
		return 0;
	}
	if ((r = be->ops->size(be, id, &fsize, e)) != 0)
		return r;
	if (fsize > size)	/* invariant (3): drop the unindexed tail */
		return be->ops->truncate(be, id, size, e);
	if (fsize < size)	/* lost committed bytes: say so */
		return damage_from(p, id, fsize, e);
	return 0;
}

/* Containers the index names but the backend lacks: all chunks damaged. */
static int
recover_missing(struct pool *p, int store, uint64_t below,
    const uint64_t *ids, size_t n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT id FROM pool_container "
	    "WHERE state<>2 AND id>=?1 AND id<?2", -1, &st, NULL) != SQLITE_OK)
		return err_set(e, COFFER_EDB, "recovery: %s",
		    sqlite3_errmsg(p->ix.db));
	sqlite3_bind_int64(st, 1, (sqlite3_int64)POOL_STORE_BASE(store));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)below);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t const id = (uint64_t)sqlite3_column_int64(st, 0);
		size_t i;

		for (i = 0; i < n && ids[i] != id; i++)
			;
		/* A busy one was left out of ids on purpose, not missing. */
		if (i == n && !pool_container_busy_locked(p, id) &&
		    (r = damage_from(p, id, 0, e)) != 0)
			break;
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Bring store's containers below `below` in line with the index; lock
 * held.  At attach, below is the store's end: nothing of this run exists
 * yet.  A later run (pool_store_recover()) passes first_id: sessions have
 * written since, and a container of this run whose object went up before
 * its transaction committed has no row yet; removing it would lose that
 * transaction's chunks.  Containers an open transaction touches are left
 * alone for the same reason.
 */
static int
recover(struct pool *p, int store, uint64_t below, struct err *e)
{
	struct pool_backend *be = p->st[store].be;
	uint64_t *ids = NULL;
	size_t n = 0, keep = 0;
	char sql[160];
	int r;

	if (below > POOL_STORE_BASE(store + 1))
		below = POOL_STORE_BASE(store + 1);
	if ((r = be->ops->list(be, &ids, &n, e)) != 0)
		return r;
	/* Only this store's ids; anything else there is not ours. */
	for (size_t i = 0; i < n; i++)
		if (POOL_STORE_OF(ids[i]) == store && ids[i] != 0 &&
		    ids[i] < below && !pool_container_busy_locked(p, ids[i]))
			ids[keep++] = ids[i];
	n = keep;
	if ((r = pool_index_begin(&p->ix, e)) != 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++)
		r = recover_file(p, be, ids[i], e);
	if (r == 0)
		r = recover_missing(p, store, below, ids, n, e);
	snprintf(sql, sizeof(sql), "DELETE FROM pool_container WHERE state=2"
	    " AND id>=%" PRIu64 " AND id<%" PRIu64, POOL_STORE_BASE(store),
	    below);
	if (r == 0)
		r = pool_index_exec(&p->ix, sql, e);
	if (r == 0)
		r = pool_index_commit(&p->ix, e);
	else
		pool_index_rollback(&p->ix);
out:
	free(ids);
	return r;
}

/* Continue the last open container, if it has room; else start fresh. */
static int
load_active(struct pool *p, int store, struct err *e)
{
	struct pool_store *s = &p->st[store];
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT coalesce(max(id),0) FROM "
	    "pool_container WHERE id>=?1 AND id<?2", -1, &st, NULL) !=
	    SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)POOL_STORE_BASE(store));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)POOL_STORE_BASE(store + 1));
	if (sqlite3_step(st) == SQLITE_ROW)
		s->next_id = (uint64_t)sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	/* Ids stay unique even if a file outlived its row. */
	if (s->next_id <= POOL_STORE_BASE(store))
		s->next_id = POOL_STORE_BASE(store) + 1;
	/* A sealed-on-sync store never continues a container. */
	if (s->be->ops->flags & POOL_BE_SEAL_ON_SYNC)
		return 0;
	if (sqlite3_prepare_v2(p->ix.db, "SELECT id, size FROM pool_container "
	    "WHERE state=0 AND id>=?1 AND id<?2 ORDER BY id DESC LIMIT 1", -1,
	    &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)POOL_STORE_BASE(store));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)POOL_STORE_BASE(store + 1));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		uint64_t const id = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t const size = (uint64_t)sqlite3_column_int64(st, 1);
		uint64_t fsize;

		/*
		 * Only a file that holds exactly its committed bytes is
		 * continued: one that is missing or short (recover() marked
		 * its chunks damaged) would fail or leave a hole.
		 */
		if (size < p->params.container_max &&
		    s->be->ops->size(s->be, id, &fsize, NULL) == 0 &&
		    fsize == size) {
			s->act_id = id;
			s->act_end = s->act_flushed = size;
		}
	}
	sqlite3_finalize(st);
	return 0;
dberr:
	return err_set(e, COFFER_EDB, "pool open: %s", sqlite3_errmsg(p->ix.db));
}

int
pool_open(const char *dir, const char *dbpath, struct pool **out,
    struct err *e)
{
	struct pool *p;
	char path[4096];
	struct stat st;
	int r;

	db_path(dir, dbpath, path, sizeof(path));
	if (stat(path, &st) != 0)
		return err_sys(e, COFFER_ENOTFOUND, "pool %s: index %s", dir,
		    path);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->dir = strdup(dir)) == NULL ||
	    (p->st[0].wbuf = malloc(POOL_WBUF_CAP)) == NULL) {
		if (p != NULL)
			free(p->dir);
		free(p);
		return err_set(e, COFFER_ENOMEM, "pool: out of memory");
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->rlock, NULL);
	hset_init(&p->pinned);
	if ((r = pool_index_open(&p->ix, path, e)) != 0)
		goto fail;
	if ((r = load_params(p, e)) != 0)
		goto fail;
	if ((p->st[0].be = pool_backend_dir_open(dir, e)) == NULL) {
		r = e ? e->code : COFFER_EIO;
		goto fail;
	}
	if ((r = recover(p, 0, UINT64_MAX, e)) != 0) {
		err_wrap(e, "pool %s: recovery", dir);
		goto fail;
	}
	if ((r = load_active(p, 0, e)) != 0)
		goto fail;
	if (sqlite3_open_v2(path, &p->rdb, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(p->rdb, "SELECT damaged FROM chunk WHERE hash=?1",
	    -1, SQLITE_PREPARE_PERSISTENT, &p->st_has, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_EDB, "pool %s: lookup connection: %s", dir,
		    p->rdb ? sqlite3_errmsg(p->rdb) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(p->rdb, 10000);
	*out = p;
	return 0;
fail:
	pool_close(p);
	return r;
}

int
pool_attach_store(struct pool *p, int store, struct pool_backend *be,
    struct err *e)
{
	struct pool_store *s;
	int r;

	if (store < 1 || store >= POOL_STORES_MAX || be == NULL) {
		if (be != NULL)
			be->ops->close(be);
		return err_set(e, COFFER_EINVAL, "store %d: must be 1..%d",
		    store, POOL_STORES_MAX - 1);
	}
	pthread_mutex_lock(&p->lock);
	s = &p->st[store];
	if (s->be != NULL) {
		pthread_mutex_unlock(&p->lock);
		be->ops->close(be);
		return err_set(e, COFFER_EEXIST, "store %d already attached",
		    store);
	}
	if (s->wbuf == NULL && (s->wbuf = malloc(POOL_WBUF_CAP)) == NULL) {
		pthread_mutex_unlock(&p->lock);
		be->ops->close(be);
		return err_set(e, COFFER_ENOMEM, "pool: out of memory");
	}
	s->be = be;
	s->act_id = 0;
	s->wlen = 0;
	s->recovered = 0;
	/* Ids first: even an unrecovered store must never reuse one. */
	r = load_active(p, store, e);
	s->first_id = s->next_id;
	if (r == 0 && (r = recover(p, store, UINT64_MAX, e)) != 0)
		err_wrap(e, "store %d (%s): recovery", store, be->ops->name);
	s->recovered = r == 0;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_store_recover(struct pool *p, int store, int *ran, struct err *e)
{
	struct pool_store *s;
	int r = 0;

	*ran = 0;
	if (store < 1 || store >= POOL_STORES_MAX)
		return err_set(e, COFFER_EINVAL, "store %d: must be 1..%d",
		    store, POOL_STORES_MAX - 1);
	/*
	 * Under the pool lock, as at attach: no commit uploads or indexes a
	 * container meanwhile, so the listing and the rows agree.
	 */
	pthread_mutex_lock(&p->lock);
	s = &p->st[store];
	if (s->be == NULL)
		r = err_set(e, COFFER_ENOTFOUND, "store %d: not attached",
		    store);
	else if (!s->recovered) {
		*ran = 1;
		if ((r = recover(p, store, s->first_id, e)) != 0)
			err_wrap(e, "store %d (%s): recovery", store,
			    s->be->ops->name);
		s->recovered = r == 0;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

void
pool_uuid_hex(const struct pool *p, char out[33])
{
	uuid_to_hex(p->uuid, out);
}

uint64_t
pool_store_requests(struct pool *p, int store)
{
	if (store < 0 || store >= POOL_STORES_MAX || p->st[store].be == NULL)
		return 0;
#ifdef HAVE_S3
	{
		struct s3 *s3 = pool_backend_cloud_s3(p->st[store].be);

		return s3 != NULL ? s3_requests(s3) : 0;
	}
#else
	return 0;
#endif
}

#ifdef HAVE_S3
/* *out: the S3 client of store, an attached cloud store; locked. */
static int
store_s3_locked(struct pool *p, int store, struct s3 **out, struct err *e)
{
	*out = p->st[store].be != NULL ?
	    pool_backend_cloud_s3(p->st[store].be) : NULL;
	if (*out == NULL)
		return err_set(e, COFFER_ENOTFOUND, "store %d: not an attached "
		    "cloud store", store);
	return 0;
}
#endif

/* set_endpoint or set_credentials: which of them store_s3_change does. */
struct s3_change {
	const char	*url;
	const char	*access_key, *secret_key, *cafile;
};

/*
 * Change the S3 client of a cloud store, under the pool lock: no commit
 * is uploading a container, nor a recovery listing the bucket, across the
 * switch.
 */
static int
store_s3_change(struct pool *p, int store, const struct s3_change *c,
    struct err *e)
{
	int r;

	if (store < 1 || store >= POOL_STORES_MAX)
		return err_set(e, COFFER_EINVAL, "store %d: must be 1..%d",
		    store, POOL_STORES_MAX - 1);
	pthread_mutex_lock(&p->lock);
#ifdef HAVE_S3
	{
		struct s3 *s3;

		if ((r = store_s3_locked(p, store, &s3, e)) == 0)
			r = c->url != NULL ? s3_set_endpoint(s3, c->url, e) :
			    s3_set_credentials(s3, c->access_key,
			    c->secret_key, c->cafile, e);
	}
#else
	(void)c;
	r = err_set(e, COFFER_ENOTFOUND, "store %d: not an attached cloud "
	    "store", store);
#endif
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_store_set_credentials(struct pool *p, int store, const char *access_key,
    const char *secret_key, const char *cafile, struct err *e)
{
	struct s3_change const c = { NULL, access_key, secret_key, cafile };

	return store_s3_change(p, store, &c, e);
}

int
pool_store_set_endpoint(struct pool *p, int store, const char *url,
    struct err *e)
{
	struct s3_change const c = { url, NULL, NULL, NULL };

	return store_s3_change(p, store, &c, e);
}

int
pool_store_probe(struct pool *p, int store, uint64_t ids[2],
    uint64_t sizes[2], int *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	*n = 0;
	pthread_mutex_lock(&p->lock);
	if (sqlite3_prepare_v2(p->ix.db, "SELECT id, size FROM pool_container"
	    " WHERE state=1 AND id>=?1 AND id<?2 AND id IN ((SELECT min(id)"
	    " FROM pool_container WHERE state=1 AND id>=?1 AND id<?2),"
	    " (SELECT max(id) FROM pool_container WHERE state=1 AND id>=?1"
	    " AND id<?2)) ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_EDB, "store %d: %s", store,
		    sqlite3_errmsg(p->ix.db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)POOL_STORE_BASE(store));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)POOL_STORE_BASE(store + 1));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < 2) {
		ids[*n] = (uint64_t)sqlite3_column_int64(st, 0);
		sizes[*n] = (uint64_t)sqlite3_column_int64(st, 1);
		(*n)++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = err_set(e, COFFER_EDB, "store %d: %s", store,
		    sqlite3_errmsg(p->ix.db));
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_chunk_store(struct pool *p, const uint8_t hash[HASH_LEN])
{
	struct pool_loc loc;
	int found;

	pthread_mutex_lock(&p->lock);
	found = pool_index_get(&p->ix, hash, &loc, NULL);
	pthread_mutex_unlock(&p->lock);
	return found == 1 ? POOL_STORE_OF(loc.container) : -1;
}

int
pool_store_attached(struct pool *p, int store)
{
	int a;

	if (store < 0 || store >= POOL_STORES_MAX)
		return 0;
	pthread_mutex_lock(&p->lock);
	a = p->st[store].be != NULL;
	pthread_mutex_unlock(&p->lock);
	return a;
}

/* Containers of a store not yet DELETED, and chunk rows in them; locked. */
static int
store_holds_locked(struct pool *p, int store, uint64_t *ctrs,
    uint64_t *chunks, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(p->ix.db, "SELECT (SELECT count(*) FROM"
	    " pool_container WHERE state<>2 AND id>=?1 AND id<?2), (SELECT"
	    " count(*) FROM chunk WHERE container>=?1 AND container<?2)", -1,
	    &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)POOL_STORE_BASE(store)) !=
	    SQLITE_OK || sqlite3_bind_int64(st, 2,
	    (sqlite3_int64)POOL_STORE_BASE(store + 1)) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		r = err_set(e, COFFER_EDB, "store %d: %s", store,
		    sqlite3_errmsg(p->ix.db));
	else {
		*ctrs = (uint64_t)sqlite3_column_int64(st, 0);
		*chunks = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return r;
}

int
pool_detach_store(struct pool *p, int store, struct err *e)
{
	struct pool_backend *be = NULL;
	uint64_t ctrs = 0, chunks = 0;
	struct pool_txn *t;
	int r;

	if (store < 1 || store >= POOL_STORES_MAX)
		return err_set(e, COFFER_EINVAL, "store %d: must be 1..%d",
		    store, POOL_STORES_MAX - 1);
	/*
	 * One lock for the check and the detach: no transaction can start
	 * writing to the store in between.
	 */
	pthread_mutex_lock(&p->lock);
	for (t = p->txns; t != NULL && t->store != store; t = t->next)
		;
	if (t != NULL)
		r = err_set(e, COFFER_EBUSY, "a transaction is writing to it");
	else if ((r = store_holds_locked(p, store, &ctrs, &chunks, e)) == 0 &&
	    (ctrs > 0 || chunks > 0))
		r = err_set(e, COFFER_EEXIST, "it holds %" PRIu64 " chunks in %"
		    PRIu64 " containers", chunks, ctrs);
	if (r == 0) {
		be = p->st[store].be;
		free(p->st[store].wbuf);
		memset(&p->st[store], 0, sizeof(p->st[store]));
	}
	pthread_mutex_unlock(&p->lock);
	if (be != NULL)
		be->ops->close(be);
	return r;
}

int
pool_set_reclaim_pct(struct pool *p, int pct, struct err *e)
{
	char buf[16];
	int r;

	/* 0: never (TSM's RECLAIM=100, nothing is ever that reclaimable). */
	if (pct < 0 || pct > 100)
		return err_set(e, COFFER_EINVAL, "reclaim threshold %d%%: "
		    "must be 0..100", pct);
	snprintf(buf, sizeof(buf), "%d", pct);
	pthread_mutex_lock(&p->lock);
	if ((r = pool_index_begin(&p->ix, e)) == 0) {
		if ((r = pool_index_meta_set(&p->ix, "reclaim_pct", buf,
		    e)) == 0)
			r = pool_index_commit(&p->ix, e);
		else
			pool_index_rollback(&p->ix);
	}
	if (r == 0)
		p->params.reclaim_pct = pct;
	pthread_mutex_unlock(&p->lock);
	return r;
}

void
pool_close(struct pool *p)
{
	if (p == NULL)
		return;
	while (p->txns != NULL)
		pool_txn_abort(p->txns);
	for (int i = 0; i < POOL_STORES_MAX; i++) {
		if (p->st[i].be != NULL)
			p->st[i].be->ops->close(p->st[i].be);
		free(p->st[i].wbuf);
	}
	pool_index_close(&p->ix);
	sqlite3_finalize(p->st_has);
	if (p->rdb != NULL)
		sqlite3_close(p->rdb);
	hset_free(&p->pinned);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->rlock);
	free(p->dir);
	free(p);
}

/* ---- appending ---- */

struct pool_backend *
pool_be(struct pool *p, uint64_t id)
{
	int const s = POOL_STORE_OF(id);

	return s < POOL_STORES_MAX ? p->st[s].be : NULL;
}

int
pool_flush_locked(struct pool *p, struct pool_store *s, struct err *e)
{
	int r;

	(void)p;
	if (s->wlen == 0)
		return 0;
	r = s->be->ops->write(s->be, s->act_id, s->act_flushed, s->wbuf,
	    s->wlen, e);
	if (r != 0)
		return r;
	s->act_flushed += s->wlen;
	s->wlen = 0;
	/* invariant (3): written past the recorded size, not fsynced. */
	FAULT_POINT("pool.append.after_write");
	return 0;
}

/* Add id to t's touched containers; *at gets its index. */
static int
touch(struct pool_txn *t, uint64_t id, int *at, struct err *e)
{
	/* The open container is the last one touched, almost always. */
	for (int i = t->nctrs - 1; i >= 0; i--)
		if (t->ctrs[i] == id) {
			*at = i;
			return 0;
		}
	if (t->nctrs == t->capctrs) {
		int const ncap = t->capctrs ? t->capctrs * 2 : 8;
		uint64_t *nc = realloc(t->ctrs, (size_t)ncap * sizeof(*nc));
		uint8_t *ns;

		if (nc == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		t->ctrs = nc;
		if ((ns = realloc(t->synced, (size_t)ncap)) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		t->synced = ns;
		t->capctrs = ncap;
	}
	t->synced[t->nctrs] = 0;
	t->ctrs[t->nctrs] = id;
	*at = t->nctrs++;
	return 0;
}

/* Start a new container: file header first, so a scan can identify it. */
static int
start_container(struct pool *p, struct pool_store *s, struct err *e)
{
	struct ctr_file_hdr fh;
	uint8_t hdr[CTR_FILE_HDR_LEN];
	uint64_t const id = s->next_id;
	int r;

	if ((r = s->be->ops->create(s->be, id, e)) != 0)
		return r;
	s->next_id++;
	memset(&fh, 0, sizeof(fh));
	fh.id = id;
	memcpy(fh.pool_uuid, p->uuid, 16);
	fh.created = (uint64_t)time(NULL);
	pool_container_file_hdr_encode(hdr, &fh);
	s->act_id = id;
	s->act_flushed = 0;
	s->act_end = CTR_FILE_HDR_LEN;
	memcpy(s->wbuf, hdr, CTR_FILE_HDR_LEN);
	s->wlen = CTR_FILE_HDR_LEN;
	return 0;
}

int
pool_append_locked(struct pool *p, struct pool_txn *t,
    const struct ctr_rec_hdr *h, const uint8_t *stored, struct pool_loc *loc,
    struct err *e)
{
	uint64_t const need = CTR_REC_HDR_LEN + (uint64_t)h->stored_len;
	struct pool_store *s = &p->st[t->store];
	uint8_t hdr[CTR_REC_HDR_LEN];
	int at, r;

	if (s->be == NULL)
		return err_set(e, COFFER_ENOTFOUND, "storage pool %d is not "
		    "attached", t->store);
	if (s->act_id != 0 && s->act_end + need > p->params.container_max &&
	    s->act_end > CTR_FILE_HDR_LEN) {
		/*
		 * Full, so sealed: synced (or uploaded) now rather than at
		 * the commit, which then only records it.  A transaction of
		 * hundreds of containers (a large VM version) neither syncs
		 * them all at once nor keeps a cloud pool's staged copies
		 * until it ends.  Nothing indexes its records before the
		 * commit, so a crash from here leaves dead space only (3).
		 */
		if ((r = touch(t, s->act_id, &at, e)) != 0)
			return r;
		r = pool_flush_locked(p, s, e);
		if (r == 0)
			r = s->be->ops->sync(s->be, s->act_id, e);
		if (r != 0) {
			/*
			 * After a failed write or sync its bytes are not to be
			 * trusted: nothing more goes into it.
			 */
			s->act_id = 0;
			return r;
		}
		t->synced[at] = 1;
		s->act_id = 0;
	}
	if (s->act_id == 0 && (r = start_container(p, s, e)) != 0)
		return r;
	if ((r = touch(t, s->act_id, &at, e)) != 0)
		return r;
	pool_container_rec_hdr_encode(hdr, h);
	if (s->wlen + need > POOL_WBUF_CAP &&
	    (r = pool_flush_locked(p, s, e)) != 0)
		return r;
	loc->container = s->act_id;
	loc->offset = s->act_end;
	loc->stored_len = h->stored_len;
	loc->raw_len = h->raw_len;
	loc->refcount = 0;
	loc->damaged = 0;
	if (need > POOL_WBUF_CAP) {
		/* Larger than the buffer: write it straight through. */
		if ((r = s->be->ops->write(s->be, s->act_id, s->act_flushed,
		    hdr, CTR_REC_HDR_LEN, e)) != 0 ||
		    (r = s->be->ops->write(s->be, s->act_id,
		    s->act_flushed + CTR_REC_HDR_LEN, stored, h->stored_len,
		    e)) != 0)
			return r;
		s->act_flushed += need;
	} else {
		memcpy(s->wbuf + s->wlen, hdr, CTR_REC_HDR_LEN);
		memcpy(s->wbuf + s->wlen + CTR_REC_HDR_LEN, stored,
		    h->stored_len);
		s->wlen += need;
	}
	s->act_end += need;
	t->bytes_stored += need;
	return 0;
}

int
pool_sync_locked(struct pool *p, struct pool_txn *t, struct err *e)
{
	int r;

	for (int i = 0; i < t->nctrs; i++) {
		uint64_t const id = t->ctrs[i];
		struct pool_store *s = &p->st[POOL_STORE_OF(id)];

		if (s->act_id == id && (r = pool_flush_locked(p, s, e)) != 0)
			return r;
	}
	for (int i = 0; i < t->nctrs; i++) {
		uint64_t const id = t->ctrs[i];
		struct pool_store *s = &p->st[POOL_STORE_OF(id)];

		if (t->synced[i])
			continue;	/* sealed when it filled up */
		if ((r = s->be->ops->sync(s->be, id, e)) != 0)
			return r;
		/*
		 * Sealed by its upload (an S3 object is written whole):
		 * appends from now on, this transaction's or another's, go
		 * to a new container.  Other transactions' records in it
		 * went up with it.
		 */
		if ((s->be->ops->flags & POOL_BE_SEAL_ON_SYNC) &&
		    s->act_id == id)
			s->act_id = 0;
	}
	return 0;
}

int
pool_record_sizes_locked(struct pool *p, struct pool_txn *t, struct err *e)
{
	int r;

	for (int i = 0; i < t->nctrs; i++) {
		uint64_t const id = t->ctrs[i];
		struct pool_store *s = &p->st[POOL_STORE_OF(id)];
		uint64_t size;

		if (id == s->act_id) {
			size = s->act_flushed;
		} else if ((r = s->be->ops->size(s->be, id, &size, e)) != 0) {
			return r;
		}
		if ((r = pool_index_container_set(&p->ix, id, size,
		    id == s->act_id ? CTR_STATE_OPEN : CTR_STATE_SEALED,
		    e)) != 0)
			return r;
	}
	return 0;
}

int
pool_container_busy_locked(struct pool *p, uint64_t id)
{
	if (POOL_STORE_OF(id) < POOL_STORES_MAX &&
	    id == p->st[POOL_STORE_OF(id)].act_id)
		return 1;
	for (struct pool_txn *t = p->txns; t != NULL; t = t->next)
		for (int i = 0; i < t->nctrs; i++)
			if (t->ctrs[i] == id)
				return 1;
	return 0;
}

/* ---- transactions ---- */

void
pool_txn_init(struct pool_txn *t, struct pool *p)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	hset_init(&t->refs);
	hset_init(&t->news);
}

void
pool_txn_fini(struct pool_txn *t)
{
	hset_free(&t->refs);
	hset_free(&t->news);
	free(t->newv);
	t->newv = NULL;
	free(t->ctrs);
	free(t->synced);
	t->ctrs = NULL;
	t->synced = NULL;
	t->nctrs = t->capctrs = 0;
}

void
pool_txn_set_store(struct pool_txn *t, int store)
{
	t->store = store >= 0 && store < POOL_STORES_MAX ? store : 0;
}

int
pool_txn_begin(struct pool *p, struct pool_txn **out, struct err *e)
{
	struct pool_txn *t;

	if ((t = malloc(sizeof(*t))) == NULL)
		return err_set(e, COFFER_ENOMEM, "pool txn: out of memory");
	pool_txn_init(t, p);
	pthread_mutex_lock(&p->lock);
	t->next = p->txns;
	p->txns = t;
	pthread_mutex_unlock(&p->lock);
	*out = t;
	return 0;
}

/* Count one more reference in t, pinning the chunk on the first; locked. */
static int
add_ref_locked(struct pool_txn *t, const uint8_t hash[HASH_LEN],
    struct err *e)
{
	struct hset_slot *s, *pin;
	int added;

	if ((s = hset_put(&t->refs, hash, &added)) == NULL)
		return err_set(e, COFFER_ENOMEM, "pool txn: out of memory");
	if (added) {
		/* invariant (5) */
		if ((pin = hset_put(&t->p->pinned, hash, NULL)) == NULL) {
			hset_del(&t->refs, hash);
			return err_set(e, COFFER_ENOMEM, "pool: out of memory");
		}
		pin->val++;
	}
	s->val++;
	return 0;
}

/* Remember a chunk t wrote; locked. */
static int
add_new_locked(struct pool_txn *t, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, struct err *e)
{
	struct hset_slot *s;

	if (t->nnew == t->capnew) {
		size_t const ncap = t->capnew ? t->capnew * 2 : 256;
		struct txn_new *nv = realloc(t->newv, ncap * sizeof(*nv));

		if (nv == NULL)
			return err_set(e, COFFER_ENOMEM, "pool txn: out of memory");
		t->newv = nv;
		t->capnew = ncap;
	}
	if ((s = hset_put(&t->news, hash, NULL)) == NULL)
		return err_set(e, COFFER_ENOMEM, "pool txn: out of memory");
	memcpy(t->newv[t->nnew].hash, hash, HASH_LEN);
	t->newv[t->nnew].loc = *loc;
	t->newv[t->nnew].repair = 0;
	s->val = (int64_t)++t->nnew;
	return 0;
}

/* Store c's bytes unless the pool or t holds a good copy; lock held. */
static int
store_locked(struct pool_txn *t, const struct pool_chunk *c,
    const struct ctr_rec_hdr *h, int *stored_new, struct err *e)
{
	struct pool *p = t->p;
	struct pool_loc loc;
	int found, r;

	if (hset_get(&t->news, c->hash) != NULL)
		return 0;
	if ((found = pool_index_get(&p->ix, c->hash, &loc, e)) < 0)
		return found;
	if (found && !loc.damaged)
		return 0;
	/* Absent, or only a damaged copy: store ours (it repairs). */
	if ((r = pool_append_locked(p, t, h, c->stored, &loc, e)) != 0)
		return r;
	if ((r = add_new_locked(t, c->hash, &loc, e)) != 0)
		return r;
	if (stored_new != NULL)
		*stored_new = 1;
	return 0;
}

static int
check_chunk(const struct pool_chunk *c, struct ctr_rec_hdr *h, struct err *e)
{
	if (c->raw_len == 0 || c->raw_len > POOL_RAW_MAX ||
	    c->stored_len == 0 || c->stored_len > codec_bound(c->raw_len) ||
	    (c->codec != CODEC_RAW && c->codec != CODEC_ZSTD) ||
	    (c->codec == CODEC_RAW && c->stored_len != c->raw_len))
		return err_set(e, COFFER_EINVAL, "chunk: bad lengths or codec");
	/* CRC outside the lock: it is the only pass over the bytes here. */
	memset(h, 0, sizeof(*h));
	h->codec = c->codec;
	h->raw_len = c->raw_len;
	h->stored_len = c->stored_len;
	memcpy(h->hash, c->hash, HASH_LEN);
	h->crc = crc32c(0, c->stored, c->stored_len);
	return 0;
}

int
pool_txn_put(struct pool_txn *t, const struct pool_chunk *c, int *stored_new,
    struct err *e)
{
	struct ctr_rec_hdr h;
	int r;

	if (stored_new != NULL)
		*stored_new = 0;
	if ((r = check_chunk(c, &h, e)) != 0)
		return r;
	pthread_mutex_lock(&t->p->lock);
	if ((r = store_locked(t, c, &h, stored_new, e)) == 0)
		r = add_ref_locked(t, c->hash, e);
	pthread_mutex_unlock(&t->p->lock);
	return r;
}

int
pool_txn_repair(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e)
{
	struct ctr_rec_hdr h;
	struct pool_loc loc;
	struct hset_slot *s;
	int found, r;

	if (stored_new != NULL)
		*stored_new = 0;
	if ((r = check_chunk(c, &h, e)) != 0)
		return r;
	pthread_mutex_lock(&t->p->lock);
	/* Nothing to repair: no row, or a good one. */
	if ((found = pool_index_get(&t->p->ix, c->hash, &loc, e)) <= 0 ||
	    !loc.damaged) {
		r = found < 0 ? found : 0;
		goto out;
	}
	if ((r = store_locked(t, c, &h, stored_new, e)) != 0)
		goto out;
	if ((s = hset_get(&t->news, c->hash)) != NULL)
		t->newv[s->val - 1].repair = 1;
out:
	pthread_mutex_unlock(&t->p->lock);
	return r;
}

int
pool_txn_store(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e)
{
	struct ctr_rec_hdr h;
	int r;

	if (stored_new != NULL)
		*stored_new = 0;
	if ((r = check_chunk(c, &h, e)) != 0)
		return r;
	pthread_mutex_lock(&t->p->lock);
	r = store_locked(t, c, &h, stored_new, e);
	pthread_mutex_unlock(&t->p->lock);
	return r;
}

int
pool_txn_pin(struct pool_txn *t, const uint8_t hash[HASH_LEN], struct err *e)
{
	struct pool *p = t->p;
	struct hset_slot *s, *pin;
	struct pool_loc loc;
	int found, added, r = 1;

	pthread_mutex_lock(&p->lock);
	if (hset_get(&t->news, hash) != NULL || hset_get(&t->refs, hash))
		goto out;
	if ((found = pool_index_get(&p->ix, hash, &loc, e)) < 0) {
		r = found;
		goto out;
	}
	if (!found || loc.damaged) {
		r = 0;
		goto out;
	}
	/* A zero-count entry in refs holds the pin (invariant (5)). */
	if ((s = hset_put(&t->refs, hash, &added)) == NULL ||
	    (pin = hset_put(&p->pinned, hash, NULL)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "pool: out of memory");
		goto out;
	}
	pin->val++;
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_txn_pin_or_store(struct pool_txn *t, const struct pool_chunk *c,
    int *stored_new, struct err *e)
{
	struct pool *p = t->p;
	struct hset_slot *s, *pin;
	struct ctr_rec_hdr h;
	struct pool_loc loc;
	int found, added, r = 1;

	*stored_new = 0;
	if ((r = check_chunk(c, &h, e)) != 0)
		return r;
	r = 1;
	pthread_mutex_lock(&p->lock);
	if (hset_get(&t->news, c->hash) != NULL ||
	    hset_get(&t->refs, c->hash) != NULL)
		goto out;
	/* One index lookup serves both answers (pool_txn_pin, store_locked). */
	if ((found = pool_index_get(&p->ix, c->hash, &loc, e)) < 0) {
		r = found;
		goto out;
	}
	if (!found || loc.damaged) {
		/* Absent, or only a damaged copy: store ours (it repairs). */
		if ((r = pool_append_locked(p, t, &h, c->stored, &loc, e)) == 0 &&
		    (r = add_new_locked(t, c->hash, &loc, e)) == 0)
			*stored_new = 1;
		goto out;
	}
	/* A zero-count entry in refs holds the pin (invariant (5)). */
	if ((s = hset_put(&t->refs, c->hash, &added)) == NULL ||
	    (pin = hset_put(&p->pinned, c->hash, NULL)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "pool: out of memory");
		goto out;
	}
	pin->val++;
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_txn_ref(struct pool_txn *t, const uint8_t hash[HASH_LEN], struct err *e)
{
	struct pool *p = t->p;
	struct pool_loc loc;
	char hex[HASH_HEX_LEN + 1];
	int r, found;

	pthread_mutex_lock(&p->lock);
	/*
	 * Written by t, or already pinned or referenced by it: present, and
	 * kept so by invariant (5).  The server pins every chunk a client
	 * asked about, so an object's references cost no index lookup.
	 */
	if (hset_get(&t->news, hash) != NULL ||
	    hset_get(&t->refs, hash) != NULL) {
		r = add_ref_locked(t, hash, e);
		goto out;
	}
	if ((found = pool_index_get(&p->ix, hash, &loc, e)) < 0) {
		r = found;
		goto out;
	}
	if (!found || loc.damaged) {
		hash_to_hex(hash, hex);
		r = err_set(e, COFFER_ENOTFOUND, "chunk %s %s", hex,
		    found ? "is damaged" : "is not in the pool");
		goto out;
	}
	r = add_ref_locked(t, hash, e);
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_txn_unref(struct pool_txn *t, const uint8_t hash[HASH_LEN],
    struct err *e)
{
	struct hset_slot *s;
	char hex[HASH_HEX_LEN + 1];
	int r = 0;

	pthread_mutex_lock(&t->p->lock);
	if ((s = hset_get(&t->refs, hash)) == NULL || s->val <= 0) {
		hash_to_hex(hash, hex);
		r = err_set(e, COFFER_EINVAL, "chunk %s: not referenced by this "
		    "transaction", hex);
	} else {
		s->val--;	/* the pin stays until the transaction ends */
	}
	pthread_mutex_unlock(&t->p->lock);
	return r;
}

uint64_t
pool_txn_bytes_stored(const struct pool_txn *t)
{
	return t->bytes_stored;
}

/* Adjust a container's live bytes for a chunk that became (un)referenced. */
static int
live_delta(struct pool *p, const struct pool_loc *loc, int sign,
    struct err *e)
{
	int64_t const n = (int64_t)CTR_REC_HDR_LEN + loc->stored_len;

	return pool_index_container_live(&p->ix, loc->container, sign * n, e);
}

/*
 * A commit's live-byte changes, summed per container (sorted by id) and
 * written once per container before the index commit, instead of one
 * pool_container UPDATE per chunk: same transaction, same sums.
 */
struct live_sum {
	struct live_ctr {
		uint64_t	id;
		int64_t		delta;
	}		*v;
	size_t		 n, cap;
};

static int
live_add(struct live_sum *ls, const struct pool_loc *loc, int sign,
    struct err *e)
{
	int64_t const n = (int64_t)CTR_REC_HDR_LEN + loc->stored_len;
	size_t lo = 0, hi = ls->n;

	while (lo < hi) {
		size_t const mid = lo + (hi - lo) / 2;

		if (ls->v[mid].id < loc->container)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ls->n && ls->v[lo].id == loc->container) {
		ls->v[lo].delta += sign * n;
		return 0;
	}
	if (ls->n == ls->cap) {
		size_t const cap = ls->cap ? 2 * ls->cap : 16;
		struct live_ctr *v = realloc(ls->v, cap * sizeof(*v));

		if (v == NULL)
			return err_set(e, COFFER_ENOMEM, "commit: live bytes "
			    "of %zu containers", cap);
		ls->v = v;
		ls->cap = cap;
	}
	memmove(&ls->v[lo + 1], &ls->v[lo], (ls->n - lo) * sizeof(*ls->v));
	ls->v[lo].id = loc->container;
	ls->v[lo].delta = sign * n;
	ls->n++;
	return 0;
}

static int
live_flush(struct pool *p, const struct live_sum *ls, struct err *e)
{
	int r;

	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].delta != 0 &&
		    (r = pool_index_container_live(&p->ix, ls->v[i].id,
		    ls->v[i].delta, e)) != 0)
			return r;
	return 0;
}

/* Apply one hash's references inside the index transaction; locked. */
static int
apply_ref(struct pool_txn *t, const uint8_t hash[HASH_LEN], int64_t n,
    struct live_sum *ls, struct err *e)
{
	struct pool *p = t->p;
	struct hset_slot *ns = hset_get(&t->news, hash);
	const struct pool_loc *mine = ns ? &t->newv[ns->val - 1].loc : NULL;
	struct pool_loc row, ins;
	char hex[HASH_HEX_LEN + 1];
	int found, r;

	if (mine != NULL) {
		/* Ours is usually the first copy: insert it in one step. */
		ins = *mine;
		ins.refcount = n;
		if ((r = pool_index_insert_new(&p->ix, hash, &ins, e)) < 0)
			return r;
		if (r == 1)
			return live_add(ls, &ins, 1, e);
	}
	if ((found = pool_index_inc(&p->ix, hash, n, &row, e)) < 0)
		return found;
	if (found) {
		if (mine != NULL && row.damaged) {
			/*
			 * Our good copy replaces the damaged one: its live
			 * bytes are counted where it now lives, and leave the
			 * old container if they were counted there.
			 */
			if (row.refcount > n &&
			    (r = live_add(ls, &row, -1, e)) != 0)
				return r;
			if ((r = live_add(ls, mine, 1, e)) != 0)
				return r;
			return pool_index_replace(&p->ix, hash, mine, e);
		}
		if (row.refcount == n && (r = live_add(ls, &row, 1, e)) != 0)
			return r;	/* revived from zero */
		return 0;	/* ours, if any, is dead space (3) */
	}
	/* Pinned, or found by the insert above, in this transaction. */
	hash_to_hex(hash, hex);
	return err_set(e, COFFER_EINTERNAL, "chunk %s vanished while pinned",
	    hex);
}

/*
 * A repaired chunk that t does not reference: point its damaged row at
 * the good copy, moving its live bytes there as apply_ref() does.  A row
 * that is gone (expired meanwhile) or no longer damaged keeps what it
 * has; our copy is then dead space (3).
 */
static int
apply_repair(struct pool_txn *t, const struct txn_new *nw,
    struct live_sum *ls, struct err *e)
{
	struct pool *p = t->p;
	struct pool_loc row;
	int found, r;

	if ((found = pool_index_get(&p->ix, nw->hash, &row, e)) <= 0 ||
	    !row.damaged)
		return found < 0 ? found : 0;
	if (row.refcount > 0 && ((r = live_add(ls, &row, -1, e)) != 0 ||
	    (r = live_add(ls, &nw->loc, 1, e)) != 0))
		return r;
	return pool_index_replace(&p->ix, nw->hash, &nw->loc, e);
}

static void
txn_release_locked(struct pool_txn *t)
{
	struct pool *p = t->p;
	struct pool_txn **pp;

	for (size_t i = 0; i < t->refs.cap; i++) {
		struct hset_slot *pin;

		if (!t->refs.slots[i].used)
			continue;
		pin = hset_get(&p->pinned, t->refs.slots[i].key);
		if (pin != NULL && --pin->val <= 0)
			hset_del(&p->pinned, t->refs.slots[i].key);
	}
	for (pp = &p->txns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
}

int
pool_txn_commit(struct pool_txn *t, pool_commit_cb cb, void *arg,
    struct err *e)
{
	struct pool *p = t->p;
	struct live_sum ls = { NULL, 0, 0 };
	int r;

	pthread_mutex_lock(&p->lock);
	/* invariant (3): appended, not yet durable; nothing names them. */
	FAULT_POINT("pool.commit.before_sync");
	/* invariant (2): container bytes are durable before the index commit. */
	if ((r = pool_sync_locked(p, t, e)) != 0)
		goto out;
	/* invariant (3): durable bytes that no row names are dead space. */
	FAULT_POINT("pool.commit.after_sync");
	if ((r = pool_index_begin(&p->ix, e)) != 0)
		goto out;
	/* Container rows first: apply_ref() adds live bytes to them. */
	r = pool_record_sizes_locked(p, t, e);
	for (size_t i = 0; i < t->refs.cap && r == 0; i++)
		if (t->refs.slots[i].used && t->refs.slots[i].val > 0)
			r = apply_ref(t, t->refs.slots[i].key,
			    t->refs.slots[i].val, &ls, e);
	/* Repairs that no reference above applied already. */
	for (size_t i = 0; i < t->nnew && r == 0; i++) {
		struct hset_slot *rs;

		if (!t->newv[i].repair)
			continue;
		rs = hset_get(&t->refs, t->newv[i].hash);
		if (rs == NULL || rs->val <= 0)
			r = apply_repair(t, &t->newv[i], &ls, e);
	}
	if (r == 0)
		r = live_flush(p, &ls, e);
	if (r == 0 && cb != NULL)
		r = cb(p->ix.db, arg, e);
	/* invariant (4): an uncommitted transaction leaves no chunk row. */
	FAULT_POINT("pool.commit.before_index_commit");
	if (r == 0)
		r = pool_index_commit(&p->ix, e);
	if (r != 0) {
		pool_index_rollback(&p->ix);
		goto out;
	}
	/* invariant (4): committed, not yet acknowledged: it must stay. */
	FAULT_POINT("pool.commit.after_index_commit");
out:
	txn_release_locked(t);
	pthread_mutex_unlock(&p->lock);
	free(ls.v);
	pool_txn_fini(t);
	free(t);
	return r;
}

void
pool_txn_abort(struct pool_txn *t)
{
	struct pool *p;

	if (t == NULL)
		return;
	p = t->p;
	pthread_mutex_lock(&p->lock);
	/* Bytes it appended stay as dead space (3); nothing names them. */
	txn_release_locked(t);
	pthread_mutex_unlock(&p->lock);
	pool_txn_fini(t);
	free(t);
}

int
pool_exec(struct pool *p, pool_commit_cb cb, void *arg, struct err *e)
{
	int r;

	pthread_mutex_lock(&p->lock);
	if ((r = pool_index_begin(&p->ix, e)) == 0) {
		r = cb(p->ix.db, arg, e);
		if (r == 0)
			r = pool_index_commit(&p->ix, e);
		if (r != 0)
			pool_index_rollback(&p->ix);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_set_cache(struct pool *p, int kib, struct err *e)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = pool_index_cache(&p->ix, kib, e);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/*
 * Drop n references to hash in one index update; locked.  At zero the
 * bytes are dead; reclaim drops the row later (5).
 */
static int
pool_unref_n_locked(struct pool *p, const uint8_t hash[HASH_LEN], int64_t n,
    struct err *e)
{
	struct pool_loc loc;
	char hex[HASH_HEX_LEN + 1];
	int r;

	if ((r = pool_index_dec_n(&p->ix, hash, n, &loc, e)) < 0)
		return r;
	if (r == 0) {
		hash_to_hex(hash, hex);
		return err_set(e, COFFER_ECORRUPT, "chunk %s: released more "
		    "often than referenced (%" PRId64 " at once)", hex, n);
	}
	return loc.refcount == 0 ? live_delta(p, &loc, -1, e) : 0;
}

int
pool_unref_locked(struct pool *p, const uint8_t hash[HASH_LEN], struct err *e)
{
	return pool_unref_n_locked(p, hash, 1, e);
}

int
pool_unref_recipe_locked(struct pool *p, const uint8_t *recipe, size_t len,
    struct err *e)
{
	size_t n;
	int r;

	if ((r = pool_recipe_count(recipe, len, &n, e)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (pool_recipe_is_zero(recipe, i))
			continue;
		if ((r = pool_unref_locked(p, pool_recipe_hash(recipe, i),
		    e)) != 0)
			return r;
	}
	return 0;
}

/* ---- releasing many references at once ---- */

struct pool_unrefs {
	struct hset	set;	/* hash -> references to drop */
};

struct pool_unrefs *
pool_unrefs_new(struct err *e)
{
	struct pool_unrefs *u;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		err_set(e, COFFER_ENOMEM, "chunk releases: out of memory");
		return NULL;
	}
	hset_init(&u->set);
	return u;
}

void
pool_unrefs_free(struct pool_unrefs *u)
{
	if (u == NULL)
		return;
	hset_free(&u->set);
	free(u);
}

size_t
pool_unrefs_count(const struct pool_unrefs *u)
{
	return u->set.n;
}

int
pool_unrefs_add_recipe(struct pool_unrefs *u, const uint8_t *recipe,
    size_t len, struct err *e)
{
	struct hset_slot *s;
	size_t n;
	int r;

	if ((r = pool_recipe_count(recipe, len, &n, e)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (pool_recipe_is_zero(recipe, i))
			continue;
		if ((s = hset_put(&u->set, pool_recipe_hash(recipe, i),
		    NULL)) == NULL)
			return err_set(e, COFFER_ENOMEM, "chunk releases: out "
			    "of memory");
		s->val++;
	}
	return 0;
}

/* Used slots first, in hash order: the chunk table's key order. */
static int
slot_cmp(const void *a, const void *b)
{
	const struct hset_slot *x = a, *y = b;

	if (x->used != y->used)
		return y->used - x->used;
	return x->used ? memcmp(x->key, y->key, HASH_LEN) : 0;
}

int
pool_unrefs_apply_locked(struct pool *p, struct pool_unrefs *u,
    struct err *e)
{
	size_t const n = u->set.n;
	int r = 0;

	/*
	 * The set is emptied whatever happens, so sorting its slots in
	 * place is allowed: the walk then visits the chunk table's B-tree
	 * pages in order, each page once.
	 */
	if (n > 0)
		qsort(u->set.slots, u->set.cap, sizeof(*u->set.slots),
		    slot_cmp);
	for (size_t i = 0; i < n && r == 0; i++)
		r = pool_unref_n_locked(p, u->set.slots[i].key,
		    u->set.slots[i].val, e);
	hset_free(&u->set);
	return r;
}

int
pool_has(struct pool *p, const uint8_t hash[HASH_LEN])
{
	int rc, r;

	pthread_mutex_lock(&p->rlock);
	sqlite3_bind_blob(p->st_has, 1, hash, HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(p->st_has);
	if (rc == SQLITE_ROW)
		r = sqlite3_column_int(p->st_has, 0) == 0;
	else
		r = rc == SQLITE_DONE ? 0 : COFFER_EDB;
	sqlite3_reset(p->st_has);
	pthread_mutex_unlock(&p->rlock);
	return r;
}

/* ---- reading ---- */

struct pool_reader *
pool_reader_new(struct pool *p, struct err *e)
{
	struct pool_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		err_set(e, COFFER_ENOMEM, "pool reader: out of memory");
		return NULL;
	}
	r->p = p;
	r->cap = CTR_REC_HDR_LEN + codec_bound(1u << 20);
	if ((r->buf = malloc(r->cap)) == NULL ||
	    (r->codec = codec_new(p->params.level, e)) == NULL ||
	    (r->hash = hash_ctx_new(e)) == NULL) {
		if (r->buf == NULL)
			err_set(e, COFFER_ENOMEM, "pool reader: out of memory");
		pool_reader_free(r);
		return NULL;
	}
	return r;
}

void
pool_reader_free(struct pool_reader *r)
{
	if (r == NULL)
		return;
	codec_free(r->codec);
	hash_ctx_free(r->hash);
	free(r->buf);
	free(r);
}

void
pool_reader_readahead(struct pool_reader *r)
{
	long const pages = sysconf(_SC_PHYS_PAGES);
	long const psize = sysconf(_SC_PAGESIZE);

	/*
	 * A quarter of the memory: a pool that size is read from the page
	 * cache, and a larger one does not evict the reads before we use
	 * them (past the budget, reads are cold and direct as before).
	 */
	r->ahead_budget = pages > 0 && psize > 0 ?
	    (uint64_t)pages * (uint64_t)psize / 4 : 0;
}

/* The first read of a container: hint all of it, within the budget. */
static void
reader_ahead(struct pool_reader *r, uint64_t container)
{
	struct pool_backend *be = pool_be(r->p, container);
	uint64_t size = 0;

	if (r->ahead_budget == 0 || be == NULL || be->ops->willneed == NULL)
		return;
	for (size_t i = 0; i < r->nahead; i++)
		if (r->ahead[i] == container)
			return;
	if (r->nahead == POOL_READAHEAD_MAX ||
	    be->ops->size(be, container, &size, NULL) != 0)
		return;
	r->ahead[r->nahead++] = container;
	if (size > r->ahead_budget) {
		r->ahead_budget = 0;
		return;
	}
	r->ahead_budget -= size;
	be->ops->willneed(be, container);
}

static int
reader_reserve(struct pool_reader *r, size_t n, struct err *e)
{
	uint8_t *nb;

	if (n <= r->cap)
		return 0;
	if ((nb = realloc(r->buf, n)) == NULL)
		return err_set(e, COFFER_ENOMEM, "pool reader: out of memory");
	r->buf = nb;
	r->cap = n;
	return 0;
}

int
pool_read_record(struct pool *p, uint64_t container,
    const struct pool_loc *loc, const uint8_t hash[HASH_LEN], uint8_t *buf,
    struct ctr_rec_hdr *h, struct err *e)
{
	size_t const n = CTR_REC_HDR_LEN + (size_t)loc->stored_len;
	struct pool_backend *be = pool_be(p, container);
	int r;

	if (be == NULL)
		return err_set(e, COFFER_EIO, "container %016" PRIx64 ": its "
		    "storage pool is not available", container);
	if ((r = be->ops->read(be, container, loc->offset, buf, n, e)) != 0)
		return r;
	if ((r = pool_container_rec_hdr_decode(buf, POOL_RAW_MAX, h, e)) != 0)
		return r;
	if (memcmp(h->hash, hash, HASH_LEN) != 0 ||
	    h->stored_len != loc->stored_len || h->raw_len != loc->raw_len)
		return err_set(e, COFFER_ECORRUPT,
		    "record does not match its index entry");
	if (crc32c(0, buf + CTR_REC_HDR_LEN, h->stored_len) != h->crc)
		return err_set(e, COFFER_ECORRUPT, "stored bytes fail CRC32C");
	return 0;
}

/* Lookup, then read and check the record; marks damage it finds. */
static int
read_checked(struct pool_reader *rd, const uint8_t hash[HASH_LEN],
    struct pool_loc *loc, struct ctr_rec_hdr *h, struct err *e)
{
	struct pool *p = rd->p;
	char hex[HASH_HEX_LEN + 1];
	int found, r = 0;

	hash_to_hex(hash, hex);
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_mutex_lock(&p->lock);
		found = pool_index_get(&p->ix, hash, loc, e);
		pthread_mutex_unlock(&p->lock);
		if (found < 0)
			return found;
		if (!found)
			return err_set(e, COFFER_ENOTFOUND, "chunk %s is not in "
			    "the pool", hex);
		if (loc->damaged)
			return err_set(e, COFFER_ECORRUPT, "chunk %s is marked "
			    "damaged", hex);
		if ((r = reader_reserve(rd, CTR_REC_HDR_LEN +
		    (size_t)loc->stored_len, e)) != 0)
			return r;
		reader_ahead(rd, loc->container);
		r = pool_read_record(p, loc->container, loc, hash, rd->buf, h,
		    e);
		/* Moved by reclamation between lookup and read: look again. */
		if (r != COFFER_ENOTFOUND)
			break;
	}
	return r;
}

static void
mark_damaged(struct pool *p, const uint8_t hash[HASH_LEN])
{
	pthread_mutex_lock(&p->lock);
	(void)pool_index_mark_damaged(&p->ix, hash, NULL);
	pthread_mutex_unlock(&p->lock);
}

static int
damaged(struct pool *p, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, int r, struct err *e)
{
	char hex[HASH_HEX_LEN + 1];

	if (r == COFFER_ECORRUPT || r == COFFER_ENOTFOUND) {
		mark_damaged(p, hash);
		r = COFFER_ECORRUPT;
	}
	hash_to_hex(hash, hex);
	if (e != NULL)
		e->code = r;
	return err_wrap(e, "chunk %s (container %016" PRIx64 " offset %"
	    PRIu64 ")", hex, loc->container, loc->offset);
}

int
pool_read(struct pool_reader *rd, const uint8_t hash[HASH_LEN], uint8_t *out,
    size_t cap, uint32_t *raw_len, struct err *e)
{
	struct ctr_rec_hdr h;
	struct pool_loc loc;
	uint8_t got[HASH_LEN];
	int r;

	memset(&loc, 0, sizeof(loc));
	if ((r = read_checked(rd, hash, &loc, &h, e)) != 0) {
		if (loc.container == 0)
			return r;
		return damaged(rd->p, hash, &loc, r, e);
	}
	if (h.raw_len > cap)
		return err_set(e, COFFER_ETOOBIG, "chunk of %u bytes does not "
		    "fit a %zu-byte buffer", h.raw_len, cap);
	if ((r = codec_decode(rd->codec, h.codec, rd->buf + CTR_REC_HDR_LEN,
	    h.stored_len, out, h.raw_len, e)) != 0)
		return damaged(rd->p, hash, &loc, r, e);
	if ((r = hash_sha256(rd->hash, out, h.raw_len, got)) != 0)
		return err_set(e, r, "sha256 failed");
	if (memcmp(got, hash, HASH_LEN) != 0) {
		err_set(e, COFFER_ECORRUPT, "content does not match its SHA-256");
		return damaged(rd->p, hash, &loc, COFFER_ECORRUPT, e);
	}
	*raw_len = h.raw_len;
	return 0;
}

int
pool_read_stored(struct pool_reader *rd, const uint8_t hash[HASH_LEN],
    struct pool_chunk *c, struct err *e)
{
	struct ctr_rec_hdr h;
	struct pool_loc loc;
	int r;

	memset(&loc, 0, sizeof(loc));
	if ((r = read_checked(rd, hash, &loc, &h, e)) != 0) {
		if (loc.container == 0)
			return r;
		return damaged(rd->p, hash, &loc, r, e);
	}
	memcpy(c->hash, hash, HASH_LEN);
	c->raw_len = h.raw_len;
	c->codec = h.codec;
	c->stored_len = h.stored_len;
	c->stored = rd->buf + CTR_REC_HDR_LEN;
	return 0;
}

int
pool_chunk_verify(struct pool_reader *rd, const struct pool_chunk *c,
    struct err *e)
{
	uint8_t got[HASH_LEN];
	uint8_t *out;
	int r;

	if (c->raw_len == 0 || c->raw_len > POOL_RAW_MAX)
		return err_set(e, COFFER_ECORRUPT, "chunk length %u out of "
		    "range", c->raw_len);
	if ((out = malloc(c->raw_len)) == NULL)
		return err_set(e, COFFER_ENOMEM, "verify: out of memory");
	r = codec_decode(rd->codec, c->codec, c->stored, c->stored_len, out,
	    c->raw_len, e);
	if (r == 0 && (r = hash_sha256(rd->hash, out, c->raw_len, got)) == 0 &&
	    memcmp(got, c->hash, HASH_LEN) != 0)
		r = err_set(e, COFFER_ECORRUPT, "chunk content does not match "
		    "its name");
	free(out);
	return r;
}

/* ---- statistics ---- */

/* Stats of containers with ids in [lo, hi). */
static int
stats_range(struct pool *p, uint64_t lo, uint64_t hi, struct pool_stats *s,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&p->lock);
	if (sqlite3_prepare_v2(p->ix.db, "SELECT count(*),"
	    " coalesce(sum(refcount>0),0), coalesce(sum(refcount),0),"
	    " coalesce(sum(CASE WHEN refcount>0 THEN raw_len END),0),"
	    " coalesce(sum(CASE WHEN refcount>0 THEN stored_len END),0),"
	    " coalesce(sum(damaged),0) FROM chunk WHERE container>=?1 AND"
	    " container<?2", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)lo) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)hi) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = err_set(e, COFFER_EDB, "pool stats: %s",
		    sqlite3_errmsg(p->ix.db));
		goto out;
	}
	s->chunks = (uint64_t)sqlite3_column_int64(st, 0);
	s->live_chunks = (uint64_t)sqlite3_column_int64(st, 1);
	s->references = (uint64_t)sqlite3_column_int64(st, 2);
	s->raw_bytes = (uint64_t)sqlite3_column_int64(st, 3);
	s->stored_bytes = (uint64_t)sqlite3_column_int64(st, 4);
	s->damaged = (uint64_t)sqlite3_column_int64(st, 5);
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(p->ix.db, "SELECT count(*), coalesce(sum(size),0)"
	    " FROM pool_container WHERE state<>2 AND id>=?1 AND id<?2", -1, &st,
	    NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)lo) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)hi) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = err_set(e, COFFER_EDB, "pool stats: %s",
		    sqlite3_errmsg(p->ix.db));
		goto out;
	}
	s->containers = (uint64_t)sqlite3_column_int64(st, 0);
	s->container_bytes = (uint64_t)sqlite3_column_int64(st, 1);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int
pool_stats(struct pool *p, struct pool_stats *s, struct err *e)
{
	return stats_range(p, 0, (uint64_t)INT64_MAX, s, e);
}

int
pool_store_stats(struct pool *p, int store, struct pool_stats *s,
    struct err *e)
{
	if (store < 0 || store >= POOL_STORES_MAX)
		return err_set(e, COFFER_EINVAL, "store %d: out of range",
		    store);
	return stats_range(p, POOL_STORE_BASE(store),
	    POOL_STORE_BASE(store + 1), s, e);
}
