/*
 * cat.c - the catalog connection: open, schema, transactions, statement
 * cache, names and path keys, server settings.
 *
 * The catalog shares its file with the container pool's chunk index
 * (tables chunk, pool_container, pool_meta), so that object rows and
 * chunk references commit together; catalog tables have names of their
 * own that cannot clash with those.
 *
 * Invariants:
 *  (1) Object versions of one path: at most one has state CAT_ACTIVE, and
 *      cat_obj_insert/cat_obj_deactivate make a version inactive and set
 *      its deactivation time in the same statement.
 *  (2) A version is deleted only in the transaction that releases its
 *      chunk references (cat_expire or cat_expire_batch inside
 *      pool_exec; a batch releases its versions' chunks before it ends).
 *  (3) pkey is cat_pkey(path): memcmp order is depth-first walk order.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

/*
 * Stored numbers (object type and state, account kind) are pinned in
 * cat.h.  catalog_format names this layout; bump it with a migration.
 */
#define CAT_FORMAT	"1"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS setting("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS domain("
	" name TEXT PRIMARY KEY, verexists INTEGER NOT NULL,"
	" verdeleted INTEGER NOT NULL, retextra INTEGER NOT NULL,"
	" retonly INTEGER NOT NULL, description TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS stgpool("
	" name TEXT PRIMARY KEY, store INTEGER NOT NULL UNIQUE,"
	" type TEXT NOT NULL, url TEXT NOT NULL, bucket TEXT NOT NULL,"
	" identity TEXT NOT NULL, secret BLOB NOT NULL,"
	" cafile TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS account("
	" kind INTEGER NOT NULL, name TEXT NOT NULL, pwhash TEXT NOT NULL,"
	" locked INTEGER NOT NULL DEFAULT 0,"
	" failed INTEGER NOT NULL DEFAULT 0,"
	" registered INTEGER NOT NULL, last_logon INTEGER NOT NULL DEFAULT 0,"
	" domain TEXT NOT NULL DEFAULT '', contact TEXT NOT NULL DEFAULT '',"
	" rpo_s INTEGER NOT NULL DEFAULT 0,"
	" repl_state INTEGER NOT NULL DEFAULT 0,"
	" repl_mode INTEGER NOT NULL DEFAULT 0,"
	" last_backup INTEGER NOT NULL DEFAULT 0,"
	" last_repl INTEGER NOT NULL DEFAULT 0,"
	" repl_backup INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(kind, name)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS filespace("
	" id INTEGER PRIMARY KEY, node TEXT NOT NULL, name TEXT NOT NULL,"
	" type TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
	" last_backup_start INTEGER NOT NULL DEFAULT 0,"
	" last_backup_end INTEGER NOT NULL DEFAULT 0,"
	" drprotect INTEGER NOT NULL DEFAULT 0,"
	" drpriority INTEGER NOT NULL DEFAULT 0,"
	" replrule INTEGER NOT NULL DEFAULT 0,"
	/* Its versions and their bytes: counted as add_fs_counts says. */
	" nversions INTEGER NOT NULL DEFAULT 0,"
	" nbytes INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE(node, name));"
	/* Peer servers: the key, never the server password (cat.h). */
	"CREATE TABLE IF NOT EXISTS server("
	" name TEXT PRIMARY KEY, hladdress TEXT NOT NULL,"
	" lladdress INTEGER NOT NULL, cafile TEXT NOT NULL DEFAULT '',"
	" key BLOB NOT NULL, description TEXT NOT NULL DEFAULT '',"
	" defined INTEGER NOT NULL) WITHOUT ROWID;"
	/*
	 * Replication per node, filespace and target.  No foreign key to
	 * filespace: the record of a run outlives a deleted filespace.
	 */
	"CREATE TABLE IF NOT EXISTS repl_state("
	" node TEXT NOT NULL, fs_id INTEGER NOT NULL,"
	" fs_name TEXT NOT NULL DEFAULT '', target TEXT NOT NULL,"
	" last_start INTEGER NOT NULL DEFAULT 0,"
	" last_end INTEGER NOT NULL DEFAULT 0,"
	" objects INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0,"
	" status TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY(node, fs_id, target)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS object("
	" id INTEGER PRIMARY KEY, uuid BLOB UNIQUE NOT NULL,"
	" fs_id INTEGER NOT NULL REFERENCES filespace(id),"
	" path TEXT NOT NULL, pkey BLOB NOT NULL, type INTEGER NOT NULL,"
	" state INTEGER NOT NULL, inserted INTEGER NOT NULL,"
	" deactivated INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER NOT NULL DEFAULT 0, mode INTEGER NOT NULL DEFAULT 0,"
	" uid INTEGER NOT NULL DEFAULT 0, gid INTEGER NOT NULL DEFAULT 0,"
	" mtime_ns INTEGER NOT NULL DEFAULT 0,"
	" ctime_ns INTEGER NOT NULL DEFAULT 0, link TEXT, recipe BLOB);"
	/*
	 * Every version of a path, newest first: restore queries, point in
	 * time, expiration.  The DESC columns let ORDER BY pkey, state DESC,
	 * inserted DESC, id DESC run off the index without a sort.
	 */
	"CREATE INDEX IF NOT EXISTS object_by_path ON object("
	" fs_id, pkey, state DESC, inserted DESC, id DESC);"
	/*
	 * Objects of an all-or-nothing version committed in parts (a VM's
	 * disks, PROTO_TXN_STAGE): their chunks are referenced, but no
	 * query of versions sees them until the version's last commit
	 * moves them into object; an unfinished version's are dropped
	 * (cat_stage_drop), at start-up too.  tag names the version.
	 */
	"CREATE TABLE IF NOT EXISTS object_stage("
	" id INTEGER PRIMARY KEY, tag INTEGER NOT NULL,"
	" fs_id INTEGER NOT NULL, path TEXT NOT NULL, type INTEGER NOT NULL,"
	" size INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" gid INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
	" ctime_ns INTEGER NOT NULL, link TEXT, recipe BLOB);"
	"CREATE INDEX IF NOT EXISTS object_stage_by_tag ON object_stage(tag);"
	/*
	 * Active versions in walk order (inventory, active lookup), and the
	 * paths that have inactive versions (expiration).
	 */
	"CREATE INDEX IF NOT EXISTS object_by_state ON object("
	" fs_id, state, pkey);"
	/*
	 * A filespace's versions by object UUID: replication compares them,
	 * and its digest reads state and deactivation from the index alone.
	 */
	"CREATE INDEX IF NOT EXISTS object_by_uuid ON object("
	" fs_id, uuid, state, deactivated);"
	/*
	 * Device classes and the sequential volumes written through them
	 * (exports, DB backups): TSM's volume history and DRM media list.
	 * Tables added after format 1 are made here by CREATE ... IF NOT
	 * EXISTS, which is the whole migration of an older catalog.  No
	 * foreign key from volume to devclass: a restored catalog may name
	 * volumes of a class defined again later, and deleting a class in
	 * use is refused by cat_devclass_delete with a message instead.
	 */
	"CREATE TABLE IF NOT EXISTS devclass("
	" name TEXT PRIMARY KEY, devtype TEXT NOT NULL,"
	" directory TEXT NOT NULL, maxcap INTEGER NOT NULL,"
	" defined INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS volume("
	" name TEXT PRIMARY KEY COLLATE NOCASE, path TEXT NOT NULL,"
	" devclass TEXT NOT NULL, kind INTEGER NOT NULL,"
	" set_uuid BLOB NOT NULL, seq INTEGER NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" location TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
	" state_changed INTEGER NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,"
	" node TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
	/* Volume history order, all kinds and one kind; devclass in use. */
	"CREATE INDEX IF NOT EXISTS volume_by_time ON volume("
	" created, set_uuid, seq);"
	"CREATE INDEX IF NOT EXISTS volume_by_kind ON volume("
	" kind, created, set_uuid, seq);"
	"CREATE INDEX IF NOT EXISTS volume_by_devclass ON volume(devclass);"
	"CREATE TABLE IF NOT EXISTS actlog("
	" id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	" severity TEXT NOT NULL, msgno INTEGER NOT NULL, node TEXT,"
	" message TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS actlog_by_time ON actlog(time);"
	/*
	 * Schedules (TSM: DEFINE SCHEDULE, DEFINE ASSOCIATION, QUERY EVENT;
	 * cat_sched.c).  domain is '' for administrative schedules, node ''
	 * in their events.  An event is a window's record, kept after its
	 * schedule is deleted; windows without one are derived (sched_win.h).
	 */
	"CREATE TABLE IF NOT EXISTS schedule("
	" domain TEXT NOT NULL, name TEXT NOT NULL, type INTEGER NOT NULL,"
	" action TEXT NOT NULL DEFAULT '', objects TEXT NOT NULL DEFAULT '',"
	" options TEXT NOT NULL DEFAULT '', cmd TEXT NOT NULL DEFAULT '',"
	" first_start INTEGER NOT NULL, duration_s INTEGER NOT NULL,"
	" period_s INTEGER NOT NULL, dayofweek INTEGER NOT NULL,"
	" active INTEGER NOT NULL, description TEXT NOT NULL DEFAULT '',"
	" owner TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL,"
	" PRIMARY KEY(domain, name)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS association("
	" domain TEXT NOT NULL, schedule TEXT NOT NULL, node TEXT NOT NULL,"
	" PRIMARY KEY(domain, schedule, node)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS association_by_node ON association(node);"
	"CREATE TABLE IF NOT EXISTS event("
	" domain TEXT NOT NULL, schedule TEXT NOT NULL, node TEXT NOT NULL,"
	" window_start INTEGER NOT NULL, actual_start INTEGER NOT NULL,"
	" completed INTEGER NOT NULL, status INTEGER NOT NULL, rc INTEGER,"
	" message TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY(domain, schedule, node, window_start)) WITHOUT ROWID;"
	/* QUERY EVENT: a schedule's windows in time order, then nodes. */
	"CREATE INDEX IF NOT EXISTS event_by_window ON event("
	" domain, schedule, window_start, node);"
	/*
	 * RPO misses being warned about, and measured restore throughput
	 * (cat_rpo.c): tables added after format 1, like devclass.
	 */
	"CREATE TABLE IF NOT EXISTS rpo_miss("
	" node TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS restore_stat("
	" id INTEGER PRIMARY KEY, time INTEGER NOT NULL, node TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, seconds REAL NOT NULL);"
	"INSERT OR IGNORE INTO setting(key, value)"
	" VALUES('catalog_format', '" CAT_FORMAT "');";

/* ---- helpers shared by cat*.c ---- */

int
cat_dberr(struct cat *c, struct err *e, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int code;

	/* Primary codes: SQLITE_BUSY_SNAPSHOT is busy too. */
	switch (sqlite3_errcode(c->db) & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = COFFER_EBUSY;
		break;
	case SQLITE_FULL:
		code = COFFER_ENOSPC;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = COFFER_ECORRUPT;
		break;
	default:
		code = COFFER_EDB;
		break;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(e, code, "catalog: %s: %s", what,
	    sqlite3_errmsg(c->db));
}

int
cat_stmt(struct cat *c, enum cat_st id, const char *sql, sqlite3_stmt **out,
    struct err *e)
{
	if (c->st[id] == NULL) {
		if (sqlite3_prepare_v3(c->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL) != SQLITE_OK) {
			c->st[id] = NULL;
			return cat_dberr(c, e, "prepare \"%.80s\"", sql);
		}
	} else if (sqlite3_stmt_busy(c->st[id])) {
		return err_set(e, COFFER_EBUSY, "catalog: statement \"%.80s\" "
		    "is in use (called back from its own walk?)", sql);
	}
	*out = c->st[id];
	return 0;
}

void
cat_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
cat_constraint(struct cat *c, int rc)
{
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		return 0;
	switch (sqlite3_extended_errcode(c->db)) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return 1;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return 2;
	}
	return 0;
}

int
cat_step_done(struct cat *c, sqlite3_stmt *st, const char *what,
    struct err *e)
{
	int r = 0;

	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "%s", what);
	cat_stmt_done(st);
	return r;
}

int
cat_tx_open(struct cat *c, int *began, struct err *e)
{
	int r;

	*began = 0;
	if (!sqlite3_get_autocommit(c->db))
		return 0;
	if ((r = cat_begin(c, e)) != 0)
		return r;
	*began = 1;
	return 0;
}

int
cat_tx_close(struct cat *c, int began, int r, struct err *e)
{
	if (!began)
		return r;
	if (r == 0)
		r = cat_commit(c, e);
	if (r != 0)
		cat_rollback(c);
	return r;
}

int
cat_norm(const char *what, const char *in, char out[CAT_NAME_MAX + 1],
    struct err *e)
{
	struct err sub;
	int r;

	if ((r = cat_name_normalize(in, out, &sub)) != 0)
		return err_set(e, r, "%s %s", what, sub.msg);
	return 0;
}

void
cat_col_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(buf, len, "%s", s != NULL ? (const char *)s : "");
}

int
cat_bind_key(sqlite3_stmt *st, int i, const uint8_t *k, size_t len)
{
	static const uint8_t empty[1];

	/* A NULL pointer would bind SQL NULL, which compares as nothing. */
	return sqlite3_bind_blob(st, i, len > 0 ? (const void *)k :
	    (const void *)empty, (int)len, SQLITE_STATIC);
}

/* ---- connection ---- */

static int
exec(struct cat *c, const char *sql, struct err *e)
{
	char *msg = NULL;
	int r;

	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	r = cat_dberr(c, e, "%.60s", sql);
	sqlite3_free(msg);
	return r;
}

static struct cat *
cat_new(struct err *e)
{
	struct cat *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		err_set(e, COFFER_ENOMEM, "catalog: out of memory");
	return c;
}

int
cat_open(const char *path, struct cat **out, struct err *e)
{
	struct cat *c = NULL;
	int r = COFFER_EINTERNAL;

	if ((c = cat_new(e)) == NULL)
		return COFFER_ENOMEM;
	c->owned = 1;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_EDB, "catalog %s: open: %s", path,
		    c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 10000);
	/* WAL + FULL: a committed transaction survives power loss. */
	if ((r = exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    " PRAGMA foreign_keys=ON;", e)) != 0 ||
	    (r = cat_schema(c, e)) != 0) {
		err_wrap(e, "catalog %s", path);
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	cat_close(c);
	return r;
}

int
cat_attach(struct sqlite3 *db, struct cat **out, struct err *e)
{
	struct cat *c = NULL;
	int r = COFFER_EINTERNAL;

	if ((c = cat_new(e)) == NULL)
		return COFFER_ENOMEM;
	c->db = db;
	/* A no-op inside a transaction; the pool's connection has it on. */
	if ((r = exec(c, "PRAGMA foreign_keys=ON;", e)) != 0 ||
	    (r = cat_schema(c, e)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	cat_close(c);
	return r;
}

void
cat_close(struct cat *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CAT_ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	if (c->owned && c->db != NULL)
		sqlite3_close(c->db);
	free(c);
}

struct sqlite3 *
cat_db(struct cat *c)
{
	return c->db;
}

/*
 * Columns added after format 1 shipped.  A catalog made by an older build
 * lacks them; they are added in place (ALTER TABLE ADD COLUMN with a
 * default changes no existing row), so the file keeps working in both
 * directions: an older build ignores columns it does not name.
 */
static const struct {
	const char	*table, *column, *decl;
} added_columns[] = {
	{ "filespace", "drprotect", "INTEGER NOT NULL DEFAULT 0" },
	{ "filespace", "drpriority", "INTEGER NOT NULL DEFAULT 0" },
	{ "filespace", "replrule", "INTEGER NOT NULL DEFAULT 0" },
	{ "account", "last_repl", "INTEGER NOT NULL DEFAULT 0" },
	{ "account", "repl_backup", "INTEGER NOT NULL DEFAULT 0" },
	{ "domain", "destination", "TEXT NOT NULL DEFAULT ''" },
};

/* 1 when table has column, 0 when not, < 0 error. */
static int
has_column(struct cat *c, const char *table, const char *column,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	int found = 0, rc;

	/* table_info cannot take a bound table name; ours are constants. */
	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "%s", sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 1);

		if (name != NULL && strcmp((const char *)name, column) == 0)
			found = 1;
	}
	if (rc != SQLITE_DONE)
		found = cat_dberr(c, e, "%s", sql);
	sqlite3_finalize(st);
	return found;
}

static int
add_missing_columns(struct cat *c, struct err *e)
{
	char sql[256];
	int r;

	for (size_t i = 0; i < sizeof(added_columns) /
	    sizeof(added_columns[0]); i++) {
		if ((r = has_column(c, added_columns[i].table,
		    added_columns[i].column, e)) < 0)
			return r;
		if (r == 1)
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s;",
		    added_columns[i].table, added_columns[i].column,
		    added_columns[i].decl);
		/* Another connection may have added it a moment ago. */
		if ((r = exec(c, sql, e)) != 0 &&
		    has_column(c, added_columns[i].table,
		    added_columns[i].column, NULL) != 1)
			return err_wrap(e, "upgrading an older catalog");
	}
	return 0;
}

/* Columns of index name (0 when there is no such index), < 0 error. */
static int
index_columns(struct cat *c, const char *name, struct err *e)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	int n = 0, rc;

	/* index_info cannot take a bound name either; ours are constants. */
	snprintf(sql, sizeof(sql), "PRAGMA index_info(%s)", name);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "%s", sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n++;
	if (rc != SQLITE_DONE)
		n = cat_dberr(c, e, "%s", sql);
	sqlite3_finalize(st);
	return n;
}

/*
 * object_by_uuid was (fs_id, uuid) before it covered state and
 * deactivated, which replication's digest reads for every version.
 * CREATE INDEX IF NOT EXISTS keeps the old one under the same name, so
 * an older catalog gets it rebuilt here, once, in one transaction (an
 * older build uses the wider index just as well).
 */
static int
widen_uuid_index(struct cat *c, struct err *e)
{
	int r;

	/*
	 * Inside someone's transaction (cat_attach on the pool's connection)
	 * it is left to the next cat_open, which every server start does.
	 */
	if (!sqlite3_get_autocommit(c->db))
		return 0;
	if ((r = index_columns(c, "object_by_uuid", e)) < 0)
		return r;
	if (r != 2)
		return 0;
	if ((r = exec(c, "BEGIN IMMEDIATE;", e)) != 0)
		return err_wrap(e, "upgrading an older catalog");
	/* Another connection may have done it while we waited. */
	if ((r = index_columns(c, "object_by_uuid", e)) == 2)
		r = exec(c, "DROP INDEX object_by_uuid;"
		    "CREATE INDEX object_by_uuid ON object("
		    " fs_id, uuid, state, deactivated);", e);
	if (r < 0) {
		cat_rollback(c);
		return err_wrap(e, "upgrading an older catalog");
	}
	if ((r = exec(c, "COMMIT;", e)) != 0) {
		cat_rollback(c);
		return err_wrap(e, "upgrading an older catalog");
	}
	return 0;
}

/*
 * Each filespace's number of versions and their total size.  Inserts
 * are counted by a trigger, so that every path that adds a version
 * (backup, replication, import) counts it without knowing; the two
 * deletes count themselves (cat_fs_count_add), expiration once per
 * batch: a delete trigger cost expiration 60% more CPU (bench scale), as
 * it ran an UPDATE of the filespace row for every version removed.
 * Filespace queries read the counters instead of counting the versions:
 * that count was a scan of the filespace's rows on every FS_LIST,
 * OBJ_LIST page and filespace lookup.  An older build that writes this
 * catalog still counts inserts (the trigger is in the file), but not the
 * versions its expiration deletes.
 */
static const char fs_count_sql[] =
	"CREATE TRIGGER IF NOT EXISTS object_count_ins AFTER INSERT ON object"
	" BEGIN UPDATE filespace SET nversions=nversions+1,"
	" nbytes=nbytes+NEW.size WHERE id=NEW.fs_id; END;";

/* The migration: columns, their values counted once, then the triggers. */
static const char fs_count_add_sql[] =
	"ALTER TABLE filespace ADD COLUMN nversions INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE filespace ADD COLUMN nbytes INTEGER NOT NULL DEFAULT 0;"
	"UPDATE filespace SET"
	" nversions=(SELECT count(*) FROM object WHERE fs_id=filespace.id),"
	" nbytes=(SELECT coalesce(sum(size), 0) FROM object"
	" WHERE fs_id=filespace.id);";

static int
add_fs_counts(struct cat *c, struct err *e)
{
	int const own_txn = sqlite3_get_autocommit(c->db);
	int r;

	if ((r = has_column(c, "filespace", "nversions", e)) < 0)
		return r;
	if (r == 1)
		return exec(c, fs_count_sql, e);
	/* One transaction: another connection waits, then finds it done. */
	if (own_txn && (r = exec(c, "BEGIN IMMEDIATE", e)) != 0)
		return r;
	if ((r = has_column(c, "filespace", "nversions", e)) == 0)
		r = exec(c, fs_count_add_sql, e);
	if (r >= 0)
		r = exec(c, fs_count_sql, e);
	if (own_txn)
		r = r == 0 ? exec(c, "COMMIT", e) :
		    (exec(c, "ROLLBACK", NULL), r);
	return r != 0 ? err_wrap(e, "counting the versions of each "
	    "filespace") : 0;
}

int
cat_schema(struct cat *c, struct err *e)
{
	int r;

	if ((r = exec(c, schema_sql, e)) != 0 ||
	    (r = add_missing_columns(c, e)) != 0 ||
	    (r = widen_uuid_index(c, e)) != 0 ||
	    (r = add_fs_counts(c, e)) != 0)
		err_wrap(e, "schema");
	return r;
}

int
cat_begin(struct cat *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* IMMEDIATE: a deferred read-then-write can fail with BUSY_SNAPSHOT. */
	if ((r = cat_stmt(c, CAT_ST_BEGIN, "BEGIN IMMEDIATE", &st, e)) != 0)
		return r;
	return cat_step_done(c, st, "begin", e);
}

int
cat_commit(struct cat *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_stmt(c, CAT_ST_COMMIT, "COMMIT", &st, e)) != 0)
		return r;
	return cat_step_done(c, st, "commit", e);
}

void
cat_rollback(struct cat *c)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_get_autocommit(c->db))
		return;
	if (cat_stmt(c, CAT_ST_ROLLBACK, "ROLLBACK", &st, NULL) == 0)
		(void)cat_step_done(c, st, "rollback", NULL);
}

/* ---- names and keys ---- */

int
cat_name_normalize(const char *in, char out[CAT_NAME_MAX + 1], struct err *e)
{
	size_t i;

	if (in == NULL || in[0] == '\0')
		return err_set(e, COFFER_EINVAL, "name: empty");
	for (i = 0; in[i] != '\0'; i++) {
		unsigned char const ch = (unsigned char)in[i];

		if (i >= CAT_NAME_MAX)
			return err_set(e, COFFER_EINVAL, "name \"%.*s...\": "
			    "longer than %d characters", CAT_NAME_MAX, in,
			    CAT_NAME_MAX);
		if (!isascii(ch) || !(isalnum(ch) || ch == '.' || ch == '_' ||
		    ch == '-'))
			return err_set(e, COFFER_EINVAL, "name \"%.*s\": "
			    "character %zu is not one of A-Z 0-9 . _ -",
			    CAT_NAME_MAX, in, i + 1);
		out[i] = (char)toupper(ch);
	}
	out[i] = '\0';
	return 0;
}

void
cat_pkey(const char *path, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++)
		out[i] = path[i] == '/' ? 0 : (uint8_t)path[i];
}

/* ---- settings ---- */

int
cat_setting_get(struct cat *c, const char *key, char *buf, size_t len,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_SET_GET,
	    "SELECT value FROM setting WHERE key=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		if (v == NULL)
			v = (const unsigned char *)"";
		if ((size_t)sqlite3_column_bytes(st, 0) >= len)
			r = err_set(e, COFFER_ETOOBIG, "setting %s: value of "
			    "%d bytes exceeds buffer of %zu", key,
			    sqlite3_column_bytes(st, 0), len);
		else
			memcpy(buf, v, (size_t)sqlite3_column_bytes(st, 0) + 1);
	} else if (rc == SQLITE_DONE) {
		r = err_set(e, COFFER_ENOTFOUND, "setting %s: not set", key);
	} else {
		r = cat_dberr(c, e, "setting %s: get", key);
	}
	cat_stmt_done(st);
	return r;
}

int
cat_setting_set(struct cat *c, const char *key, const char *val,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_stmt(c, CAT_ST_SET_PUT, "INSERT INTO setting(key, value)"
	    " VALUES(?1, ?2)"
	    " ON CONFLICT(key) DO UPDATE SET value=excluded.value", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	if ((r = cat_step_done(c, st, "set", e)) != 0)
		err_wrap(e, "setting %s", key);
	return r;
}

int64_t
cat_setting_int(struct cat *c, const char *key, int64_t dflt)
{
	char buf[64], *end;
	long long v;

	if (cat_setting_get(c, key, buf, sizeof(buf), NULL) != 0)
		return dflt;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0')
		return dflt;
	return (int64_t)v;
}
