/*
 * cat_stgpool.c - cloud storage pool definitions (DEFINE STGPOOL
 * STGTYPE=CLOUD).  The secret column holds the sealed S3 secret key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define SP_COLS "name, store, url, bucket, identity, secret, cafile, created"

static void
sp_from_row(sqlite3_stmt *st, struct cat_stgpool *p)
{
	int n;

	memset(p, 0, sizeof(*p));
	cat_col_text(st, 0, p->name, sizeof(p->name));
	p->store = sqlite3_column_int(st, 1);
	cat_col_text(st, 2, p->url, sizeof(p->url));
	cat_col_text(st, 3, p->bucket, sizeof(p->bucket));
	cat_col_text(st, 4, p->identity, sizeof(p->identity));
	n = sqlite3_column_bytes(st, 5);
	if (n > 0 && (size_t)n <= sizeof(p->secret)) {
		memcpy(p->secret, sqlite3_column_blob(st, 5), (size_t)n);
		p->secret_len = (size_t)n;
	}
	cat_col_text(st, 6, p->cafile, sizeof(p->cafile));
	p->created = sqlite3_column_int64(st, 7);
}

int
cat_stgpool_define(struct cat *c, const struct cat_stgpool *p, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if ((r = cat_norm("storage pool", p->name, name, e)) != 0)
		return r;
	if (sqlite3_prepare_v2(cat_db(c), "INSERT INTO stgpool(name, store,"
	    " type, url, bucket, identity, secret, cafile, created) VALUES(?1,"
	    " ?2, 'CLOUD', ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st, NULL) !=
	    SQLITE_OK)
		return cat_dberr(c, e, "storage pool %s: define", name);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, p->store);
	sqlite3_bind_text(st, 3, p->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->identity, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, p->secret, (int)p->secret_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, p->cafile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, p->created);
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "storage pool %s: already "
		    "defined", name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "storage pool %s: define", name);
	sqlite3_finalize(st);
	return r;
}

int
cat_stgpool_get(struct cat *c, const char *name, struct cat_stgpool *p,
    struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if ((r = cat_norm("storage pool", name, n, e)) != 0)
		return r;
	if (sqlite3_prepare_v2(cat_db(c), "SELECT " SP_COLS " FROM stgpool"
	    " WHERE name=?1", -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "storage pool %s: get", n);
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		sp_from_row(st, p);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "storage pool %s: not "
		    "defined", n);
	else
		r = cat_dberr(c, e, "storage pool %s: get", n);
	sqlite3_finalize(st);
	return r;
}

int
cat_stgpool_array(struct cat *c, struct cat_stgpool **out, size_t *nout,
    struct err *e)
{
	struct cat_stgpool *v = NULL, *nv;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if (sqlite3_prepare_v2(cat_db(c), "SELECT " SP_COLS " FROM stgpool"
	    " ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "storage pools: list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = err_set(e, COFFER_ENOMEM, "storage pools: "
				    "out of memory");
				goto out;
			}
			v = nv;
		}
		sp_from_row(st, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "storage pools: list");
out:
	sqlite3_finalize(st);
	if (r != 0) {
		free(v);
		return r;
	}
	*out = v;
	*nout = n;
	return 0;
}

int
cat_stgpool_update(struct cat *c, const struct cat_stgpool *p, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r = 0;

	if ((r = cat_norm("storage pool", p->name, name, e)) != 0)
		return r;
	if (sqlite3_prepare_v2(cat_db(c), "UPDATE stgpool SET url=?2,"
	    " identity=?3, secret=?4, cafile=?5 WHERE name=?1", -1, &st,
	    NULL) != SQLITE_OK)
		return cat_dberr(c, e, "storage pool %s: update", name);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->identity, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, p->secret, (int)p->secret_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->cafile, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "storage pool %s: update", name);
	else if (sqlite3_changes(cat_db(c)) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "storage pool %s: not "
		    "defined", name);
	sqlite3_finalize(st);
	return r;
}

int
cat_stgpool_delete(struct cat *c, const char *pool, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r = 0;

	if ((r = cat_norm("storage pool", pool, name, e)) != 0)
		return r;
	/*
	 * The check and the delete in one statement: no domain can come to
	 * name the pool in between.
	 */
	if (sqlite3_prepare_v2(cat_db(c), "DELETE FROM stgpool WHERE name=?1"
	    " AND NOT EXISTS(SELECT 1 FROM domain WHERE destination=?1)", -1,
	    &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "storage pool %s: delete", name);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "storage pool %s: delete", name);
	else if (sqlite3_changes(cat_db(c)) == 0)
		r = err_set(e, COFFER_EBUSY, "storage pool %s: not defined, or "
		    "a policy domain names it as its destination", name);
	sqlite3_finalize(st);
	return r;
}
