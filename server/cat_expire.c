/*
 * cat_expire.c - EXPIRE INVENTORY: delete the versions that their node's
 * policy domain no longer keeps and release their chunks.
 *
 * One pass per filespace over the paths that have inactive versions (only
 * those can lose one: the active version never expires), in key order off
 * the indexes, a read of up to EXP_READ_PATHS paths at a time: read every
 * version of those paths (active first, then newest first), let
 * policy_decide() mark the expired ones, then delete them.  Rows are read
 * before any is deleted, so no scan runs over a table it is changing.
 *
 * The work comes in batches (cat_expire_batch): whole paths until a
 * budget of versions examined is spent, from a cursor (filespace id, path
 * key) that the batch moves on.  A batch is meant to be one transaction,
 * so that the server's expiration commits as it goes: one transaction over
 * a whole catalog spilled its dirty pages into the WAL and read them back.
 * A path is never split between batches, so each path is decided on one
 * consistent view of its versions.
 *
 * A batch also ends early once its transaction's dirty pages overflow the
 * connection's page cache (SQLite begins to spill them into the WAL):
 * past that point a bigger batch only costs more writes.
 *
 * A batch's chunk releases are summed per chunk (pool_unrefs) and applied
 * before it returns, inside the caller's transaction: invariant (2) of
 * cat.c holds per batch.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"
#include "fault.h"
#include "policy.h"
#include "pool.h"

/* Paths per read: bounds the rows held to their versions. */
#define EXP_READ_PATHS	256
/* Ids per DELETE statement (the placeholders of EXP_DEL_SQL). */
#define EXP_DEL_IDS	32
/* Distinct chunks summed before they are released (bounds the set). */
#define EXP_UNREFS_MAX	65536

#define Q8		"?,?,?,?,?,?,?,?"
#define EXP_DEL_SQL	"DELETE FROM object WHERE id IN (" Q8 "," Q8 "," Q8 \
			"," Q8 ") RETURNING recipe"

struct exp_row {
	int64_t		id;
	uint64_t	size;
	int		newpath;	/* first version of its path */
};

struct exp_batch {
	struct exp_row		*row;
	struct policy_version	*pv;	/* parallel to row */
	int64_t			*del;	/* ids of the expired rows */
	size_t			 n, cap, ndel;
	size_t			 paths;
	/* The key of the last path read. */
	uint8_t			 last[CAT_PATH_MAX + 1];
	size_t			 lastlen;
	struct pool_unrefs	*unrefs;	/* releases not yet applied */
};

/* One filespace with its node's copy group. */
struct exp_fs {
	uint64_t		id;
	char			node[CAT_NAME_MAX + 1];
	struct cat_domain	d;
};

static void
batch_free(struct exp_batch *b)
{
	if (b == NULL)
		return;
	free(b->row);
	free(b->pv);
	free(b->del);
	pool_unrefs_free(b->unrefs);
	free(b);
}

static int
batch_grow(struct exp_batch *b, struct err *e)
{
	size_t const cap = b->cap != 0 ? b->cap * 2 : 1024;
	struct exp_row *row;
	struct policy_version *pv;
	int64_t *del;

	if ((row = realloc(b->row, cap * sizeof(*row))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	b->row = row;
	if ((pv = realloc(b->pv, cap * sizeof(*pv))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	b->pv = pv;
	if ((del = realloc(b->del, cap * sizeof(*del))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	b->del = del;
	b->cap = cap;
	return 0;
}

/* Append the current row of st to b. */
static int
batch_add(struct exp_batch *b, sqlite3_stmt *st, struct err *e)
{
	const uint8_t *k = sqlite3_column_blob(st, 1);
	size_t const klen = (size_t)sqlite3_column_bytes(st, 1);
	struct exp_row *x;
	int r;

	if (klen > CAT_PATH_MAX)
		return err_set(e, COFFER_ECORRUPT, "catalog: object %lld: key "
		    "of %zu bytes", (long long)sqlite3_column_int64(st, 0),
		    klen);
	if (b->n == b->cap && (r = batch_grow(b, e)) != 0)
		return r;
	x = &b->row[b->n];
	x->id = sqlite3_column_int64(st, 0);
	x->size = (uint64_t)sqlite3_column_int64(st, 4);
	x->newpath = b->n == 0 || klen != b->lastlen ||
	    (klen > 0 && memcmp(k, b->last, klen) != 0);
	b->pv[b->n].active = sqlite3_column_int(st, 2) == CAT_ACTIVE;
	b->pv[b->n].deactivated = sqlite3_column_int64(st, 3);
	b->pv[b->n].expire = 0;
	if (x->newpath) {
		if (klen > 0)
			memcpy(b->last, k, klen);
		b->lastlen = klen;
		b->paths++;
	}
	b->n++;
	return 0;
}

/*
 * The next read: every version of the first `paths` paths with an
 * inactive version whose key is >= lo.
 */
static int
batch_read(struct cat *c, uint64_t fs_id, const uint8_t *lo, size_t lolen,
    size_t paths, struct exp_batch *b, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	b->n = 0;
	b->ndel = 0;
	b->paths = 0;
	if ((r = cat_stmt(c, CAT_ST_EXP_SCAN, "SELECT id, pkey, state,"
	    " deactivated, size FROM object WHERE fs_id=?1 AND pkey IN"
	    " (SELECT DISTINCT pkey FROM object WHERE fs_id=?1 AND state=0"
	    " AND pkey>=?2 ORDER BY pkey LIMIT ?3)"
	    " ORDER BY pkey, state DESC, inserted DESC, id DESC", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, lo, lolen);
	sqlite3_bind_int64(st, 3, (int64_t)paths);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = batch_add(b, st, e)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: expire: scan",
		    (unsigned long long)fs_id);
	cat_stmt_done(st);
	return r;
}

/*
 * Delete ids[0..n) (n <= EXP_DEL_IDS) in one statement and queue their
 * chunks for release.  invariant (2): the releases are applied in the
 * same transaction, before the batch returns.
 */
static int
delete_ids(struct cat *c, struct pool *pool, struct exp_batch *b,
    const int64_t *ids, size_t n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	size_t got = 0, len;
	const void *recipe;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_EXP_DEL, EXP_DEL_SQL, &st, e)) != 0)
		return r;
	/* Unused places repeat the first id: IN () takes each id once. */
	for (size_t i = 0; i < EXP_DEL_IDS; i++)
		sqlite3_bind_int64(st, (int)i + 1, ids[i < n ? i : 0]);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		got++;
		/* Directories, links and empty files have no recipe. */
		recipe = sqlite3_column_blob(st, 0);
		len = (size_t)sqlite3_column_bytes(st, 0);
		if (len > 0 && pool == NULL) {
			r = err_set(e, COFFER_EINVAL, "expire: no pool to "
			    "release the chunks of the versions deleted "
			    "(object %lld and after) in", (long long)ids[0]);
			goto out;
		}
		if (len > 0 && (r = pool_unrefs_add_recipe(b->unrefs, recipe,
		    len, e)) != 0) {
			err_wrap(e, "expire: objects %lld and after: release "
			    "chunks", (long long)ids[0]);
			goto out;
		}
		/* invariant (2): deletes, releases commit together. */
		FAULT_POINT("expire.delete");
	}
	if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "expire: objects %lld and after: delete",
		    (long long)ids[0]);
	else if (got != n)
		r = err_set(e, COFFER_EINTERNAL, "catalog: %zu of %zu expired "
		    "versions (object %lld and after) vanished during "
		    "expiration", n - got, n, (long long)ids[0]);
out:
	cat_stmt_done(st);
	return r;
}

/* Release the queued chunks (same transaction as their deletes). */
static int
batch_release(struct pool *pool, struct exp_batch *b, struct err *e)
{
	if (pool_unrefs_count(b->unrefs) == 0)
		return 0;
	return pool_unrefs_apply_locked(pool, b->unrefs, e);
}

/* Decide each path of the read and delete what expired. */
static int
batch_expire(struct cat *c, struct pool *pool, const struct cat_domain *d,
    int64_t now, struct exp_batch *b, struct cat_expire_report *rep,
    struct err *e)
{
	size_t i, j, k;
	int r;

	for (i = 0; i < b->n; i = j) {
		for (j = i + 1; j < b->n && !b->row[j].newpath; j++)
			continue;
		policy_decide(d, b->pv + i, j - i, now);
		for (k = i; k < j; k++) {
			if (!b->pv[k].expire)
				continue;
			b->del[b->ndel++] = b->row[k].id;
			rep->bytes += b->row[k].size;
		}
	}
	for (i = 0; i < b->ndel; i += EXP_DEL_IDS) {
		size_t const n = b->ndel - i < EXP_DEL_IDS ? b->ndel - i :
		    EXP_DEL_IDS;

		if ((r = delete_ids(c, pool, b, b->del + i, n, e)) != 0)
			return r;
	}
	rep->deleted += b->ndel;
	rep->examined += b->n;
	if (pool_unrefs_count(b->unrefs) >= EXP_UNREFS_MAX)
		return batch_release(pool, b, e);
	return 0;
}

/* Dirty pages written out mid-transaction so far (cache overflow). */
static int
cache_spills(struct cat *c)
{
	int cur = 0, hi = 0;

	(void)sqlite3_db_status(c->db, SQLITE_DBSTATUS_CACHE_SPILL, &cur, &hi,
	    0);
	return cur;
}

/*
 * Expire fs from the cursor's key until the budget (versions examined,
 * counted in *examined) is spent or the filespace ends (*fs_done).  A
 * spill of the page cache since spill0 spends the budget.
 */
static int
expire_fs(struct cat *c, struct pool *pool, const struct exp_fs *fs,
    int64_t now, size_t budget, int spill0, size_t *examined, int *fs_done,
    struct cat_expire_cursor *cur, struct exp_batch *b,
    struct cat_expire_report *rep, struct err *e)
{
	int r;

	*fs_done = 0;
	for (;;) {
		uint64_t const deleted = rep->deleted, bytes = rep->bytes;
		size_t const left = budget - *examined;
		/* Each path has a version: at most `left` paths fill it. */
		size_t const paths = left < EXP_READ_PATHS ? left :
		    EXP_READ_PATHS;

		if ((r = batch_read(c, fs->id, cur->key, cur->keylen, paths, b,
		    e)) != 0 ||
		    (r = batch_expire(c, pool, &fs->d, now, b, rep, e)) != 0 ||
		    (r = cat_fs_count_add(c, fs->id,
		    -(int64_t)(rep->deleted - deleted),
		    -(int64_t)(rep->bytes - bytes), e)) != 0)
			return r;
		*examined += b->n;
		if (b->paths < paths) {
			*fs_done = 1;
			return 0;
		}
		/* Resume just above the last path read. */
		memcpy(cur->key, b->last, b->lastlen);
		cur->key[b->lastlen] = 0x00;
		cur->keylen = b->lastlen + 1;
		if (cache_spills(c) != spill0)
			*examined = budget;
		if (*examined >= budget)
			return 0;
	}
}

/* The copy group of the filespace row's node (STANDARD's when none). */
static void
row_domain(sqlite3_stmt *st, struct cat_domain *d)
{
	cat_domain_standard(d);
	if (sqlite3_column_type(st, 2) == SQLITE_NULL)
		return;
	cat_col_text(st, 2, d->name, sizeof(d->name));
	d->verexists = sqlite3_column_int(st, 3);
	d->verdeleted = sqlite3_column_int(st, 4);
	d->retextra = sqlite3_column_int(st, 5);
	d->retonly = sqlite3_column_int(st, 6);
}

/*
 * The filespace with the lowest id >= from, with its node's copy group;
 * COFFER_ENOTFOUND past the last.  One row at a time, so that no read of
 * the filespace table stays open while the counts in it change.
 */
static int
fs_next(struct cat *c, uint64_t from, struct exp_fs *fs, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_EXP_FS, "SELECT f.id, f.node, d.name,"
	    " d.verexists, d.verdeleted, d.retextra, d.retonly FROM filespace f"
	    " LEFT JOIN account a ON a.kind=1 AND a.name=f.node"
	    " LEFT JOIN domain d ON d.name=a.domain WHERE f.id>=?1"
	    " ORDER BY f.id LIMIT 1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fs->id = (uint64_t)sqlite3_column_int64(st, 0);
		cat_col_text(st, 1, fs->node, sizeof(fs->node));
		row_domain(st, &fs->d);
	} else if (rc == SQLITE_DONE) {
		r = COFFER_ENOTFOUND;
	} else {
		r = cat_dberr(c, e, "expire: filespaces");
	}
	cat_stmt_done(st);
	return r;
}

void
cat_expire_cursor_init(struct cat_expire_cursor *cur)
{
	memset(cur, 0, sizeof(*cur));
}

/* Walk the filespaces from the cursor on while the budget lasts. */
static int
batch_walk(struct cat *c, struct pool *pool, int64_t now, size_t budget,
    struct cat_expire_cursor *cur, struct exp_batch *b,
    struct cat_expire_report *rep, struct err *e)
{
	int const spill0 = cache_spills(c);
	size_t examined = 0;
	struct exp_fs fs;
	int fs_done, r;

	while (examined < budget) {
		if ((r = fs_next(c, cur->fs_id, &fs, e)) == COFFER_ENOTFOUND) {
			cur->done = 1;
			return 0;
		}
		if (r != 0)
			return r;
		if (fs.id != cur->fs_id) {	/* a filespace from its start */
			cur->fs_id = fs.id;
			cur->keylen = 0;
		}
		if ((r = expire_fs(c, pool, &fs, now, budget, spill0,
		    &examined, &fs_done, cur, b, rep, e)) != 0)
			return err_wrap(e, "expire: node %s: filespace %llu",
			    fs.node, (unsigned long long)fs.id);
		if (fs_done) {
			cur->fs_id = fs.id + 1;
			cur->keylen = 0;
		}
	}
	return 0;
}

int
cat_expire_batch(struct cat *c, struct pool *pool, int64_t now,
    size_t budget, struct cat_expire_cursor *cur,
    struct cat_expire_report *rep, struct err *e)
{
	struct exp_batch *b = NULL;
	int r;

	/* invariant (2): the deletes and the releases commit together. */
	if (sqlite3_get_autocommit(c->db))
		return err_set(e, COFFER_EINVAL, "expire: must run inside a "
		    "transaction (pool_exec)");
	if (cur->done)
		return 0;
	if (budget == 0)
		budget = 1;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	if ((b->unrefs = pool_unrefs_new(e)) == NULL) {
		r = COFFER_ENOMEM;
		goto out;
	}
	if ((r = batch_walk(c, pool, now, budget, cur, b, rep, e)) != 0)
		goto out;
	r = batch_release(pool, b, e);
out:
	batch_free(b);
	return r;
}

int
cat_expire(struct cat *c, struct pool *pool, int64_t now,
    struct cat_expire_report *rep, struct err *e)
{
	struct cat_expire_report dummy;
	struct cat_expire_cursor *cur;
	int r;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	if ((cur = malloc(sizeof(*cur))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	cat_expire_cursor_init(cur);
	/* One transaction: a batch that ends at a cache spill goes on. */
	do
		r = cat_expire_batch(c, pool, now, SIZE_MAX, cur, rep, e);
	while (r == 0 && !cur->done);
	free(cur);
	return r;
}
