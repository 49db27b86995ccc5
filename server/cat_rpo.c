/*
 * cat_rpo.c - the catalog's memory for RPO warnings (table rpo_miss) and
 * the restore throughput node sessions measure (table restore_stat).
 *
 * These statements run a few times per RPO check or once per restore
 * session, so they are prepared per call (sqlite3_prepare_v2) rather than
 * given persistent slots in struct cat: the cost is a parse per call,
 * which is nothing next to the fsync of the write they make.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

/* Prepare sql into *st; the error names what. */
static int
prep(struct cat *c, const char *sql, const char *what, sqlite3_stmt **st,
    struct err *e)
{
	*st = NULL;
	if (sqlite3_prepare_v2(cat_db(c), sql, -1, st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "%s", what);
	return 0;
}

/* Step a statement that returns no row, then finalize it. */
static int
run_done(struct cat *c, sqlite3_stmt *st, const char *what, struct err *e)
{
	int r = 0;

	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "%s", what);
	sqlite3_finalize(st);
	return r;
}

int
cat_rpo_miss_get(struct cat *c, const char *node, int64_t *since,
    struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	*since = 0;
	if ((r = cat_norm("node", node, name, e)) != 0 ||
	    (r = prep(c, "SELECT since FROM rpo_miss WHERE node = ?1",
	    "RPO miss of a node", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*since = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "RPO miss of node %s", name);
	sqlite3_finalize(st);
	return r;
}

int
cat_rpo_miss_set(struct cat *c, const char *node, int64_t since,
    struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_norm("node", node, name, e)) != 0)
		return r;
	/* OR IGNORE: the first time a miss was seen is the one kept. */
	if ((r = prep(c, since > 0 ?
	    "INSERT OR IGNORE INTO rpo_miss(node, since) VALUES(?1, ?2)" :
	    "DELETE FROM rpo_miss WHERE node = ?1", "RPO miss", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (since > 0)
		sqlite3_bind_int64(st, 2, since);
	return run_done(c, st, "RPO miss", e);
}

int
cat_rpo_miss_prune(struct cat *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = prep(c, "DELETE FROM rpo_miss WHERE node NOT IN"
	    " (SELECT name FROM account WHERE kind = 1)", "RPO misses", &st,
	    e)) != 0)
		return r;
	return run_done(c, st, "RPO misses of removed nodes", e);
}

int
cat_restore_add(struct cat *c, int64_t when, const char *node,
    uint64_t bytes, double seconds, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int began = 0, r;

	if ((r = cat_norm("node", node, name, e)) != 0)
		return r;
	if (seconds <= 0 || bytes > INT64_MAX)
		return err_set(e, COFFER_EINVAL, "restore of node %s: %llu "
		    "bytes in %.3f s is no measurement", name,
		    (unsigned long long)bytes, seconds);
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	if ((r = prep(c, "INSERT INTO restore_stat(time, node, bytes,"
	    " seconds) VALUES(?1, ?2, ?3, ?4)", "restore throughput", &st,
	    e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)bytes);
	sqlite3_bind_double(st, 4, seconds);
	if ((r = run_done(c, st, "restore throughput", e)) != 0)
		goto out;
	/* Recent restores say what the hardware does now: drop the old. */
	if ((r = prep(c, "DELETE FROM restore_stat WHERE id <="
	    " (SELECT MAX(id) FROM restore_stat) - ?1", "restore throughput",
	    &st, e)) != 0)
		goto out;
	sqlite3_bind_int(st, 1, CAT_RESTORE_KEEP);
	r = run_done(c, st, "old restore measurements", e);
out:
	return cat_tx_close(c, began, r, e);
}

int
cat_restore_rate(struct cat *c, uint64_t *bytes, double *seconds,
    uint64_t *runs, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	*bytes = *runs = 0;
	*seconds = 0;
	if ((r = prep(c, "SELECT COALESCE(SUM(bytes), 0),"
	    " COALESCE(SUM(seconds), 0), COUNT(*) FROM restore_stat",
	    "restore throughput", &st, e)) != 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*bytes = (uint64_t)sqlite3_column_int64(st, 0);
		*seconds = sqlite3_column_double(st, 1);
		*runs = (uint64_t)sqlite3_column_int64(st, 2);
	} else
		r = cat_dberr(c, e, "restore throughput");
	sqlite3_finalize(st);
	return r;
}
