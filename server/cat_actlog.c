/*
 * cat_actlog.c - the activity log (TSM: QUERY ACTLOG): one row per server
 * message, kept in the catalog so that it survives restarts and travels
 * with a database backup.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

/* Longest stored message; longer ones are cut. */
#define ACTLOG_MSG_MAX	1024

/*
 * One autocommit statement when called outside a transaction; inside
 * one, the message commits (or not) with it.
 */
int
cat_actlog(struct cat *c, char severity, int msgno, const char *node,
    const char *fmt, ...)
{
	char msg[ACTLOG_MSG_MAX];
	char const sev[2] = { severity, '\0' };
	sqlite3_stmt *st = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((r = cat_stmt(c, CAT_ST_LOG_INS, "INSERT INTO actlog(time,"
	    " severity, msgno, node, message) VALUES(?1, ?2, ?3, ?4, ?5)", &st,
	    NULL)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_text(st, 2, sev, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, msgno);
	if (node != NULL)
		sqlite3_bind_text(st, 4, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, msg, -1, SQLITE_STATIC);
	return cat_step_done(c, st, "activity log", NULL);
}

/* Search is case-insensitive for ASCII, as QUERY ACTLOG SEARCH= is. */
int
cat_actlog_query(struct cat *c, int64_t since, const char *search,
    cat_actlog_cb cb, void *arg, struct err *e)
{
	struct cat_actlog_row row;
	const unsigned char *sev;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_LOG_QUERY, "SELECT time, severity, msgno,"
	    " node, message FROM actlog WHERE time>=?1"
	    " AND (?2 IS NULL OR instr(lower(message), lower(?2))>0)"
	    " ORDER BY time, id", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, since);
	if (search != NULL && search[0] != '\0')
		sqlite3_bind_text(st, 2, search, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.time = sqlite3_column_int64(st, 0);
		sev = sqlite3_column_text(st, 1);
		row.severity = sev != NULL && sev[0] != '\0' ? (char)sev[0] :
		    CAT_SEV_INFO;
		row.msgno = sqlite3_column_int(st, 2);
		row.node = (const char *)sqlite3_column_text(st, 3);
		row.message = (const char *)sqlite3_column_text(st, 4);
		if (row.message == NULL)
			row.message = "";
		if ((r = cb(arg, &row)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "activity log: query");
	cat_stmt_done(st);
	return r;
}
