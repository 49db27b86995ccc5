/*
 * cat_expire.c - EXPIRE INVENTORY: delete the versions that their node's
 * policy domain no longer keeps and release their chunks.
 *
 * One pass per filespace over the paths that have inactive versions (only
 * those can lose one: the active version never expires), in key order off
 * the indexes, a batch of paths at a time: read every version of the
 * batch's paths (active first, then newest first), let policy_decide()
 * mark the expired ones, then delete them.  Rows are read before any is
 * deleted, so no scan runs over a table it is changing.
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

/* Paths per batch: bounds the rows held to their versions. */
#define EXP_BATCH_PATHS	256

struct exp_row {
	int64_t		id;
	uint64_t	size;
	int		newpath;	/* first version of its path */
};

struct exp_batch {
	struct exp_row		*row;
	struct policy_version	*pv;	/* parallel to row */
	size_t			 n, cap;
	size_t			 paths;
	/* The key of the batch's last path. */
	uint8_t			 last[CAT_PATH_MAX + 1];
	size_t			 lastlen;
};

static int
batch_grow(struct exp_batch *b, struct err *e)
{
	size_t const cap = b->cap != 0 ? b->cap * 2 : 1024;
	struct exp_row *row;
	struct policy_version *pv;

	if ((row = realloc(b->row, cap * sizeof(*row))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	b->row = row;
	if ((pv = realloc(b->pv, cap * sizeof(*pv))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	b->pv = pv;
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
 * The next batch: every version of the first EXP_BATCH_PATHS paths with
 * an inactive version whose key is >= lo.
 */
static int
batch_read(struct cat *c, uint64_t fs_id, const uint8_t *lo, size_t lolen,
    struct exp_batch *b, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	b->n = 0;
	b->paths = 0;
	if ((r = cat_stmt(c, CAT_ST_EXP_SCAN, "SELECT id, pkey, state,"
	    " deactivated, size FROM object WHERE fs_id=?1 AND pkey IN"
	    " (SELECT DISTINCT pkey FROM object WHERE fs_id=?1 AND state=0"
	    " AND pkey>=?2 ORDER BY pkey LIMIT ?3)"
	    " ORDER BY pkey, state DESC, inserted DESC, id DESC", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, lo, lolen);
	sqlite3_bind_int(st, 3, EXP_BATCH_PATHS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = batch_add(b, st, e)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: expire: scan",
		    (unsigned long long)fs_id);
	cat_stmt_done(st);
	return r;
}

/* invariant (2): delete one version and release its chunks together. */
static int
delete_version(struct cat *c, struct pool *pool, int64_t id, struct err *e)
{
	sqlite3_stmt *st = NULL;
	const void *recipe;
	size_t len;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_EXP_DEL, "DELETE FROM object WHERE id=?1"
	    " RETURNING recipe", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			r = err_set(e, COFFER_EINTERNAL, "catalog: object "
			    "%lld: vanished during expiration", (long long)id);
		else
			r = cat_dberr(c, e, "object %lld: delete",
			    (long long)id);
		goto out;
	}
	/* Directories, links and empty files have no recipe. */
	recipe = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	if (len > 0 && pool == NULL) {
		r = err_set(e, COFFER_EINVAL, "object %lld: expire: no pool "
		    "to release its chunks in", (long long)id);
		goto out;
	}
	if (len > 0 && (r = pool_unref_recipe_locked(pool, recipe, len,
	    e)) != 0) {
		err_wrap(e, "object %lld: release chunks", (long long)id);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "object %lld: delete", (long long)id);
out:
	cat_stmt_done(st);
	return r;
}

/* Decide each path of the batch and delete what expired. */
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
			if ((r = delete_version(c, pool, b->row[k].id, e)) != 0)
				return r;
			rep->deleted++;
			rep->bytes += b->row[k].size;
			/* invariant (2): deletes, releases commit together. */
			FAULT_POINT("expire.delete");
		}
	}
	rep->examined += b->n;
	return 0;
}

static int
expire_fs(struct cat *c, struct pool *pool, uint64_t fs_id,
    const struct cat_domain *d, int64_t now, struct exp_batch *b,
    struct cat_expire_report *rep, struct err *e)
{
	uint8_t lo[CAT_PATH_MAX + 1];
	size_t lolen = 0;
	int r;

	for (;;) {
		uint64_t const deleted = rep->deleted, bytes = rep->bytes;

		if ((r = batch_read(c, fs_id, lo, lolen, b, e)) != 0 ||
		    (r = batch_expire(c, pool, d, now, b, rep, e)) != 0 ||
		    (r = cat_fs_count_add(c, fs_id,
		    -(int64_t)(rep->deleted - deleted),
		    -(int64_t)(rep->bytes - bytes), e)) != 0)
			return r;
		if (b->paths < EXP_BATCH_PATHS)
			return 0;
		/* Resume just above the batch's last path. */
		memcpy(lo, b->last, b->lastlen);
		lo[b->lastlen] = 0x00;
		lolen = b->lastlen + 1;
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

int
cat_expire(struct cat *c, struct pool *pool, int64_t now,
    struct cat_expire_report *rep, struct err *e)
{
	struct cat_expire_report dummy;
	struct exp_batch *b = NULL;
	struct cat_domain d;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	/* invariant (2): the deletes and the releases commit together. */
	if (sqlite3_get_autocommit(c->db))
		return err_set(e, COFFER_EINVAL, "expire: must run inside a "
		    "transaction (pool_exec)");
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return err_set(e, COFFER_ENOMEM, "expire: out of memory");
	/* Filespaces with their node's copy group; none: STANDARD's. */
	if ((r = cat_stmt(c, CAT_ST_EXP_FS, "SELECT f.id, f.node, d.name,"
	    " d.verexists, d.verdeleted, d.retextra, d.retonly FROM filespace f"
	    " LEFT JOIN account a ON a.kind=1 AND a.name=f.node"
	    " LEFT JOIN domain d ON d.name=a.domain ORDER BY f.id", &st,
	    e)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t const fs_id = (uint64_t)sqlite3_column_int64(st, 0);

		row_domain(st, &d);
		if ((r = expire_fs(c, pool, fs_id, &d, now, b, rep, e)) != 0) {
			err_wrap(e, "expire: node %s: filespace %llu",
			    (const char *)sqlite3_column_text(st, 1),
			    (unsigned long long)fs_id);
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "expire: filespaces");
out:
	cat_stmt_done(st);
	if (b != NULL) {
		free(b->row);
		free(b->pv);
		free(b);
	}
	return r;
}
