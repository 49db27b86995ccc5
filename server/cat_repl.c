/*
 * cat_repl.c - replication bookkeeping: one row per node, source
 * filespace and target server, written by the replication process after
 * each filespace and read by QUERY REPLICATION.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define REPL_COLS "node, fs_id, fs_name, target, last_start, last_end," \
	" objects, bytes, status"

static int
check_repl(const struct cat_repl *r, char node[CAT_NAME_MAX + 1],
    char target[CAT_NAME_MAX + 1], struct err *e)
{
	int rc;

	if ((rc = cat_norm("node", r->node, node, e)) != 0 ||
	    (rc = cat_norm("server", r->target, target, e)) != 0)
		return rc;
	if (memchr(r->fs_name, '\0', sizeof(r->fs_name)) == NULL ||
	    memchr(r->status, '\0', sizeof(r->status)) == NULL)
		return err_set(e, COFFER_EINVAL, "replication of node %s to "
		    "%s: filespace name or status is not terminated", node,
		    target);
	return 0;
}

int
cat_repl_set(struct cat *c, const struct cat_repl *r, struct err *e)
{
	char node[CAT_NAME_MAX + 1], target[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = check_repl(r, node, target, e)) != 0)
		return rc;
	if ((rc = cat_stmt(c, CAT_ST_REPL_SET, "INSERT OR REPLACE INTO"
	    " repl_state(" REPL_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9)", &st, e)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)r->fs_id);
	sqlite3_bind_text(st, 3, r->fs_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->last_start);
	sqlite3_bind_int64(st, 6, r->last_end);
	sqlite3_bind_int64(st, 7, (int64_t)r->objects);
	sqlite3_bind_int64(st, 8, (int64_t)r->bytes);
	sqlite3_bind_text(st, 9, r->status, -1, SQLITE_STATIC);
	if ((rc = cat_step_done(c, st, "set", e)) != 0)
		err_wrap(e, "replication of node %s filespace %llu to %s",
		    node, (unsigned long long)r->fs_id, target);
	return rc;
}

static void
repl_from_row(sqlite3_stmt *st, struct cat_repl *r)
{
	memset(r, 0, sizeof(*r));
	cat_col_text(st, 0, r->node, sizeof(r->node));
	r->fs_id = (uint64_t)sqlite3_column_int64(st, 1);
	cat_col_text(st, 2, r->fs_name, sizeof(r->fs_name));
	cat_col_text(st, 3, r->target, sizeof(r->target));
	r->last_start = sqlite3_column_int64(st, 4);
	r->last_end = sqlite3_column_int64(st, 5);
	r->objects = (uint64_t)sqlite3_column_int64(st, 6);
	r->bytes = (uint64_t)sqlite3_column_int64(st, 7);
	cat_col_text(st, 8, r->status, sizeof(r->status));
}

int
cat_repl_list(struct cat *c, const char *node,
    int (*cb)(void *, const struct cat_repl *), void *arg, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	struct cat_repl *row;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (node != NULL && (r = cat_norm("node", node, n, e)) != 0)
		return r;
	/* The primary key's order: no sort. */
	if (node != NULL)
		r = cat_stmt(c, CAT_ST_REPL_LIST, "SELECT " REPL_COLS
		    " FROM repl_state WHERE node=?1"
		    " ORDER BY node, fs_id, target", &st, e);
	else
		r = cat_stmt(c, CAT_ST_REPL_LIST_ALL, "SELECT " REPL_COLS
		    " FROM repl_state ORDER BY node, fs_id, target", &st, e);
	if (r != 0)
		return r;
	/* A filespace name is a path: too big for a worker's stack. */
	if ((row = malloc(sizeof(*row))) == NULL) {
		cat_stmt_done(st);
		return err_set(e, COFFER_ENOMEM, "replication: out of memory");
	}
	if (node != NULL)
		sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		repl_from_row(st, row);
		if ((r = cb(arg, row)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "replication: list");
	cat_stmt_done(st);
	free(row);
	return r;
}
