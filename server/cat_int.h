/*
 * cat_int.h - catalog internals shared by server/cat*.c.  Not for use
 * outside server/ (the unit test includes it to check query plans).
 *
 * Every statement has a slot in struct cat, named by enum cat_st.  The SQL
 * lives next to the code that runs it; cat_stmt() prepares it on first use
 * (SQLITE_PREPARE_PERSISTENT) and cat_close() finalizes it.  Use:
 *
 *	if ((r = cat_stmt(c, CAT_ST_X, SQL_X, &st, e)) != 0)
 *		return r;
 *	bind ...; step ...;
 *	cat_stmt_done(st);		(always: reset + clear bindings)
 */
#ifndef COFFER_CAT_INT_H
#define COFFER_CAT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cat.h"

enum cat_st {
	CAT_ST_BEGIN,
	CAT_ST_COMMIT,
	CAT_ST_ROLLBACK,
	CAT_ST_SET_GET,
	CAT_ST_SET_PUT,
	CAT_ST_DOM_INS,
	CAT_ST_DOM_UPD,
	CAT_ST_DOM_GET,
	CAT_ST_DOM_LIST,
	CAT_ST_ACC_INS,
	CAT_ST_ACC_GET,
	CAT_ST_ACC_UPD,
	CAT_ST_ACC_DEL,
	CAT_ST_ACC_LIST,
	CAT_ST_ACC_LOGON_OK,
	CAT_ST_ACC_LOGON_FAIL,
	CAT_ST_ACC_STATE,
	CAT_ST_ACC_COPY,
	CAT_ST_FS_COUNT,
	CAT_ST_FS_FIND,
	CAT_ST_FS_INS,
	CAT_ST_FS_GET,
	CAT_ST_FS_GET_ID,
	CAT_ST_FS_SET_BACKUP,
	CAT_ST_FS_SET_DR,
	CAT_ST_FS_SET_REPLRULE,
	CAT_ST_FS_COUNT_ADD,
	CAT_ST_FS_LIST,
	CAT_ST_FS_LIST_ALL,
	CAT_ST_OBJ_DEACT,
	CAT_ST_OBJ_HAS_ACTIVE,
	CAT_ST_OBJ_INS,
	CAT_ST_OBJ_META,
	CAT_ST_OBJ_INV,
	CAT_ST_OBJ_GET,
	CAT_ST_OBJ_Q_ACTIVE,	/* the six query variants, in this order */
	CAT_ST_OBJ_Q_ACTIVE_B,
	CAT_ST_OBJ_Q_ALL,
	CAT_ST_OBJ_Q_ALL_B,
	CAT_ST_OBJ_Q_PIT,
	CAT_ST_OBJ_Q_PIT_B,
	CAT_ST_OBJ_UUID_ALL,	/* by uuid: every version, then active */
	CAT_ST_OBJ_UUID_ACT,
	CAT_ST_OBJ_DIG_ALL,
	CAT_ST_OBJ_DIG_ACT,
	CAT_ST_OBJ_SIZE_ALL,	/* uuid and size, for cat_obj_uuid_marks */
	CAT_ST_OBJ_SIZE_ACT,
	CAT_ST_OBJ_UUID_GET,
	CAT_ST_OBJ_UUID_DEL,
	CAT_ST_OBJ_UUID_STATE,
	CAT_ST_EXP_FS,
	CAT_ST_EXP_SCAN,
	CAT_ST_EXP_DEL,
	CAT_ST_SRV_INS,
	CAT_ST_SRV_GET,
	CAT_ST_SRV_UPD,
	CAT_ST_SRV_DEL,
	CAT_ST_SRV_LIST,
	CAT_ST_REPL_SET,
	CAT_ST_REPL_LIST,
	CAT_ST_REPL_LIST_ALL,
	CAT_ST_DC_INS,
	CAT_ST_DC_GET,
	CAT_ST_DC_UPD,
	CAT_ST_DC_DEL,
	CAT_ST_DC_USED,
	CAT_ST_DC_LIST,
	CAT_ST_VOL_INS,
	CAT_ST_VOL_GET,
	CAT_ST_VOL_UPD,
	CAT_ST_VOL_LIST,
	CAT_ST_VOL_LIST_KIND,
	CAT_ST_VOL_BYTES,
	CAT_ST_VOL_DEL,
	CAT_ST_VOL_SERIAL,
	CAT_ST_LOG_INS,
	CAT_ST_LOG_QUERY,
	CAT_ST_SCHED_INS,
	CAT_ST_SCHED_GET,
	CAT_ST_SCHED_UPD,
	CAT_ST_SCHED_DEL,
	CAT_ST_SCHED_DEL_ASSOC,
	CAT_ST_SCHED_LIST,
	CAT_ST_ASSOC_INS,
	CAT_ST_ASSOC_DEL,
	CAT_ST_ASSOC_LIST,
	CAT_ST_EVENT_PUT,
	CAT_ST_EVENT_GET,
	CAT_ST_EVENT_LIST,
	CAT_ST_COUNT
};

struct cat {
	sqlite3		*db;
	int		 owned;		/* cat_open's: closed by cat_close */
	sqlite3_stmt	*st[CAT_ST_COUNT];
};

/*
 * The statement for id, prepared from sql on first use.  COFFER_EBUSY when
 * it is still running: a callback called back into the catalog for the
 * walk it is part of.
 */
int cat_stmt(struct cat *c, enum cat_st id, const char *sql,
    sqlite3_stmt **out, struct err *e);
void cat_stmt_done(sqlite3_stmt *st);	/* reset and clear bindings */

/*
 * Record the connection's last error as "catalog: <what>: <sqlite
 * message>"; the code is COFFER_EBUSY, COFFER_ENOSPC, COFFER_ECORRUPT or
 * COFFER_EDB from SQLite's.  Call it before resetting the statement.
 */
int cat_dberr(struct cat *c, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * What a failed step's result rc was: 1 a UNIQUE or PRIMARY KEY clash, 2 a
 * FOREIGN KEY one, 0 anything else.  Works with or without extended codes.
 */
int cat_constraint(struct cat *c, int rc);

/* Step a statement that returns no row; resets it.  what names it. */
int cat_step_done(struct cat *c, sqlite3_stmt *st, const char *what,
    struct err *e);

/*
 * A transaction for a function that writes more than one statement: BEGIN
 * IMMEDIATE only when the connection is not in one already (then the
 * caller's transaction holds it all), *began says which.  cat_tx_close
 * commits what cat_tx_open began when r is 0, else rolls it back; returns
 * the final result.
 */
int cat_tx_open(struct cat *c, int *began, struct err *e);
int cat_tx_close(struct cat *c, int began, int r, struct err *e);

/* Normalize name for the object kind what ("node", "domain", ...). */
int cat_norm(const char *what, const char *in, char out[CAT_NAME_MAX + 1],
    struct err *e);

/* Copy a text column into buf (truncated to len - 1; NULL is ""). */
void cat_col_text(sqlite3_stmt *st, int col, char *buf, size_t len);

/* Bind a blob that may be empty (never NULL: an empty key is a key). */
int cat_bind_key(sqlite3_stmt *st, int i, const uint8_t *k, size_t len);

/* Default copy group (TSM's STANDARD domain) for nodes without one. */
void cat_domain_standard(struct cat_domain *d);

/*
 * Add dversions and dbytes (negative: removed) to filespace fs_id's
 * counters; for the deletes of versions (cat.c: inserts count through a
 * trigger).
 */
int cat_fs_count_add(struct cat *c, uint64_t fs_id, int64_t dversions,
    int64_t dbytes, struct err *e);

#endif
