/*
 * pool_index.c - chunk index statements (schema in pool_index.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "pool_container.h"
#include "pool_index.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS pool_meta("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS pool_container("
	" id INTEGER PRIMARY KEY, size INTEGER NOT NULL,"
	" live_bytes INTEGER NOT NULL DEFAULT 0,"
	" state INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS chunk("
	" hash BLOB PRIMARY KEY, container INTEGER NOT NULL,"
	" offset INTEGER NOT NULL, stored_len INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL, refcount INTEGER NOT NULL,"
	" damaged INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS chunk_by_container"
	" ON chunk(container, offset);";

#define LOC_COLS "container, offset, stored_len, raw_len, refcount, damaged"

static int
db_err(struct pool_index *ix, struct err *e, const char *what)
{
	return err_set(e, COFFER_EDB, "chunk index: %s: %s", what,
	    sqlite3_errmsg(ix->db));
}

static int
prep(struct pool_index *ix, const char *sql, sqlite3_stmt **st,
    struct err *e)
{
	if (sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    st, NULL) != SQLITE_OK)
		return db_err(ix, e, sql);
	return 0;
}

int
pool_index_exec(struct pool_index *ix, const char *sql, struct err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(ix->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, COFFER_EDB, "chunk index: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return COFFER_EDB;
	}
	return 0;
}

int
pool_index_open(struct pool_index *ix, const char *path, struct err *e)
{
	int r;

	memset(ix, 0, sizeof(*ix));
	if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_EDB, "chunk index %s: %s", path,
		    ix->db ? sqlite3_errmsg(ix->db) : "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(ix->db, 1);
	sqlite3_busy_timeout(ix->db, 10000);
	/* WAL + FULL: a committed transaction survives power loss. */
	if ((r = pool_index_exec(ix, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", e)) != 0 ||
	    (r = pool_index_cache(ix, 0, e)) != 0)
		goto fail;
	if ((r = pool_index_create_schema(ix, e)) != 0)
		goto fail;
	if ((r = prep(ix, "SELECT " LOC_COLS " FROM chunk WHERE hash=?1",
	    &ix->st_get, e)) != 0 ||
	    (r = prep(ix, "UPDATE chunk SET refcount=refcount+?2 WHERE hash=?1"
	    " RETURNING " LOC_COLS, &ix->st_inc, e)) != 0 ||
	    (r = prep(ix, "UPDATE chunk SET refcount=refcount-?2"
	    " WHERE hash=?1 AND refcount>=?2 RETURNING " LOC_COLS, &ix->st_dec,
	    e)) != 0 ||
	    (r = prep(ix, "INSERT INTO chunk(hash, " LOC_COLS ")"
	    " VALUES(?1,?2,?3,?4,?5,?6,0)", &ix->st_ins, e)) != 0 ||
	    (r = prep(ix, "INSERT INTO chunk(hash, " LOC_COLS ")"
	    " VALUES(?1,?2,?3,?4,?5,?6,0) ON CONFLICT(hash) DO NOTHING",
	    &ix->st_ins_new, e)) != 0 ||
	    (r = prep(ix, "UPDATE chunk SET container=?2, offset=?3,"
	    " stored_len=?4, raw_len=?5, damaged=0 WHERE hash=?1",
	    &ix->st_replace, e)) != 0 ||
	    (r = prep(ix, "INSERT INTO pool_container(id, size, state, created)"
	    " VALUES(?1,?2,?3,strftime('%s','now')) ON CONFLICT(id) DO UPDATE"
	    " SET size=excluded.size, state=excluded.state",
	    &ix->st_ctr_upsert, e)) != 0 ||
	    (r = prep(ix, "UPDATE pool_container SET live_bytes=live_bytes+?2"
	    " WHERE id=?1", &ix->st_ctr_live, e)) != 0 ||
	    (r = prep(ix, "UPDATE chunk SET damaged=1 WHERE hash=?1",
	    &ix->st_damage, e)) != 0 ||
	    (r = prep(ix, "UPDATE chunk SET container=?2, offset=?3"
	    " WHERE hash=?1", &ix->st_move, e)) != 0 ||
	    (r = prep(ix, "DELETE FROM chunk WHERE hash=?1", &ix->st_del,
	    e)) != 0)
		goto fail;
	return 0;
fail:
	pool_index_close(ix);
	return r;
}

void
pool_index_close(struct pool_index *ix)
{
	sqlite3_stmt **all[] = { &ix->st_get, &ix->st_inc, &ix->st_ins,
	    &ix->st_ins_new,
	    &ix->st_replace, &ix->st_dec, &ix->st_ctr_upsert,
	    &ix->st_ctr_live, &ix->st_damage, &ix->st_move, &ix->st_del };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		sqlite3_finalize(*all[i]);
		*all[i] = NULL;
	}
	if (ix->db != NULL)
		sqlite3_close(ix->db);
	ix->db = NULL;
}

int
pool_index_cache(struct pool_index *ix, int kib, struct err *e)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d;",
	    kib > 0 ? kib : POOL_INDEX_CACHE_KIB);
	return pool_index_exec(ix, sql, e);
}

int
pool_index_create_schema(struct pool_index *ix, struct err *e)
{
	return pool_index_exec(ix, schema_sql, e);
}

int
pool_index_begin(struct pool_index *ix, struct err *e)
{
	/* IMMEDIATE: a deferred read-then-write can fail with BUSY_SNAPSHOT. */
	return pool_index_exec(ix, "BEGIN IMMEDIATE", e);
}

int
pool_index_commit(struct pool_index *ix, struct err *e)
{
	return pool_index_exec(ix, "COMMIT", e);
}

void
pool_index_rollback(struct pool_index *ix)
{
	if (!sqlite3_get_autocommit(ix->db))
		(void)sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
row_to_loc(sqlite3_stmt *st, struct pool_loc *loc)
{
	loc->container = (uint64_t)sqlite3_column_int64(st, 0);
	loc->offset = (uint64_t)sqlite3_column_int64(st, 1);
	loc->stored_len = (uint32_t)sqlite3_column_int64(st, 2);
	loc->raw_len = (uint32_t)sqlite3_column_int64(st, 3);
	loc->refcount = sqlite3_column_int64(st, 4);
	loc->damaged = sqlite3_column_int(st, 5);
}

/* Step a statement bound to hash that returns at most one row. */
static int
step_hash_row(struct pool_index *ix, sqlite3_stmt *st,
    const uint8_t hash[HASH_LEN], struct pool_loc *loc, const char *what,
    struct err *e)
{
	int rc, r;

	sqlite3_bind_blob(st, 1, hash, HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (loc != NULL)
			row_to_loc(st, loc);
		r = 1;
		/* RETURNING statements finish their work on the next step. */
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE)
			r = db_err(ix, e, what);
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = db_err(ix, e, what);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
pool_index_get(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct pool_loc *loc, struct err *e)
{
	return step_hash_row(ix, ix->st_get, hash, loc, "lookup", e);
}

int
pool_index_inc(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    int64_t delta, struct pool_loc *loc, struct err *e)
{
	sqlite3_bind_int64(ix->st_inc, 2, delta);
	return step_hash_row(ix, ix->st_inc, hash, loc, "add reference", e);
}

int
pool_index_dec(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct pool_loc *loc, struct err *e)
{
	return pool_index_dec_n(ix, hash, 1, loc, e);
}

int
pool_index_dec_n(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    int64_t n, struct pool_loc *loc, struct err *e)
{
	sqlite3_bind_int64(ix->st_dec, 2, n);
	return step_hash_row(ix, ix->st_dec, hash, loc, "drop references", e);
}

static int
step_done(struct pool_index *ix, sqlite3_stmt *st, const char *what,
    struct err *e)
{
	int const rc = sqlite3_step(st);
	int r = 0;

	if (rc != SQLITE_DONE)
		r = db_err(ix, e, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static void
bind_loc(sqlite3_stmt *st, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc)
{
	sqlite3_bind_blob(st, 1, hash, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)loc->container);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)loc->offset);
	sqlite3_bind_int64(st, 4, loc->stored_len);
	sqlite3_bind_int64(st, 5, loc->raw_len);
}

int
pool_index_insert(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, struct err *e)
{
	bind_loc(ix->st_ins, hash, loc);
	sqlite3_bind_int64(ix->st_ins, 6, loc->refcount);
	return step_done(ix, ix->st_ins, "insert chunk", e);
}

int
pool_index_insert_new(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, struct err *e)
{
	int r;

	bind_loc(ix->st_ins_new, hash, loc);
	sqlite3_bind_int64(ix->st_ins_new, 6, loc->refcount);
	if ((r = step_done(ix, ix->st_ins_new, "insert chunk", e)) != 0)
		return r;
	return sqlite3_changes(ix->db) == 1;
}

int
pool_index_replace(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    const struct pool_loc *loc, struct err *e)
{
	bind_loc(ix->st_replace, hash, loc);
	return step_done(ix, ix->st_replace, "replace damaged chunk", e);
}

int
pool_index_move(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    uint64_t container, uint64_t offset, struct err *e)
{
	sqlite3_bind_blob(ix->st_move, 1, hash, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(ix->st_move, 2, (sqlite3_int64)container);
	sqlite3_bind_int64(ix->st_move, 3, (sqlite3_int64)offset);
	return step_done(ix, ix->st_move, "move chunk", e);
}

int
pool_index_delete(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct err *e)
{
	sqlite3_bind_blob(ix->st_del, 1, hash, HASH_LEN, SQLITE_STATIC);
	return step_done(ix, ix->st_del, "delete chunk", e);
}

int
pool_index_mark_damaged(struct pool_index *ix, const uint8_t hash[HASH_LEN],
    struct err *e)
{
	sqlite3_bind_blob(ix->st_damage, 1, hash, HASH_LEN, SQLITE_STATIC);
	return step_done(ix, ix->st_damage, "mark damaged", e);
}

int
pool_index_container_set(struct pool_index *ix, uint64_t id, uint64_t size,
    int state, struct err *e)
{
	sqlite3_bind_int64(ix->st_ctr_upsert, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(ix->st_ctr_upsert, 2, (sqlite3_int64)size);
	sqlite3_bind_int(ix->st_ctr_upsert, 3, state);
	return step_done(ix, ix->st_ctr_upsert, "update container", e);
}

int
pool_index_container_live(struct pool_index *ix, uint64_t id, int64_t delta,
    struct err *e)
{
	sqlite3_bind_int64(ix->st_ctr_live, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(ix->st_ctr_live, 2, delta);
	return step_done(ix, ix->st_ctr_live, "update live bytes", e);
}

int
pool_index_meta_get(struct pool_index *ix, const char *key, char *buf,
    size_t len, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(ix->db, "SELECT value FROM pool_meta"
	    " WHERE key=?1", -1, &st, NULL) != SQLITE_OK)
		return db_err(ix, e, "read meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
		r = 0;
	} else if (r == SQLITE_DONE) {
		r = err_set(e, COFFER_ENOTFOUND, "pool setting %s missing", key);
	} else {
		r = db_err(ix, e, "read meta");
	}
	sqlite3_finalize(st);
	return r;
}

int
pool_index_meta_set(struct pool_index *ix, const char *key, const char *value,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(ix->db, "INSERT INTO pool_meta(key, value)"
	    " VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
	    -1, &st, NULL) != SQLITE_OK)
		return db_err(ix, e, "write meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_err(ix, e, "write meta");
	sqlite3_finalize(st);
	return r;
}
