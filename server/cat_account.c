/*
 * cat_account.c - administrators and client nodes: both authenticate, so
 * they share one table told apart by kind (CAT_KIND_NODE = 1,
 * CAT_KIND_ADMIN = 2; stored, pinned).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define ACC_COLS "kind, name, pwhash, locked, failed, registered," \
	" last_logon, domain, contact, rpo_s, repl_state, repl_mode," \
	" last_backup, last_repl, repl_backup"

static const char *
kind_name(int kind)
{
	return kind == CAT_KIND_ADMIN ? "admin" : "node";
}

static int
check_kind(int kind, struct err *e)
{
	if (kind == CAT_KIND_NODE || kind == CAT_KIND_ADMIN)
		return 0;
	return err_set(e, COFFER_EINVAL, "account kind %d: must be %d (node) "
	    "or %d (admin)", kind, CAT_KIND_NODE, CAT_KIND_ADMIN);
}

/* Check the kind and normalize the name of an account. */
static int
check_key(int kind, const char *in, char name[CAT_NAME_MAX + 1],
    struct err *e)
{
	int r;

	if ((r = check_kind(kind, e)) != 0)
		return r;
	return cat_norm(kind_name(kind), in, name, e);
}

/* Validate a; normalized name and domain into name and dom. */
static int
check_account(const struct cat_account *a, char name[CAT_NAME_MAX + 1],
    char dom[CAT_NAME_MAX + 1], struct err *e)
{
	const char *k = kind_name(a->kind);
	int r;

	if ((r = check_key(a->kind, a->name, name, e)) != 0)
		return r;
	dom[0] = '\0';
	if (a->domain[0] != '\0' && (r = cat_norm("domain", a->domain, dom,
	    e)) != 0) {
		err_wrap(e, "%s %s", k, name);
		return r;
	}
	if (memchr(a->pwhash, '\0', sizeof(a->pwhash)) == NULL ||
	    memchr(a->contact, '\0', sizeof(a->contact)) == NULL)
		return err_set(e, COFFER_EINVAL, "%s %s: password hash or "
		    "contact is not terminated", k, name);
	if (a->repl_state < 0 || a->repl_state > 1 || a->repl_mode < 0 ||
	    a->repl_mode > CAT_REPLMODE_SYNCRECEIVE || a->rpo_s < 0 ||
	    a->failed < 0)
		return err_set(e, COFFER_EINVAL, "%s %s: replication state %d,"
		    " mode %d, rpo %lld s or failed count %d out of range", k,
		    name, a->repl_state, a->repl_mode, (long long)a->rpo_s,
		    a->failed);
	return 0;
}

/* Bind everything but kind and name (?1, ?2) as ?3.. in ACC_COLS order. */
static void
bind_account(sqlite3_stmt *st, const struct cat_account *a, const char *dom,
    int64_t registered)
{
	sqlite3_bind_text(st, 3, a->pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, a->locked != 0);
	sqlite3_bind_int(st, 5, a->failed);
	sqlite3_bind_int64(st, 6, registered);
	sqlite3_bind_int64(st, 7, a->last_logon);
	sqlite3_bind_text(st, 8, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->contact, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, a->rpo_s);
	sqlite3_bind_int(st, 11, a->repl_state);
	sqlite3_bind_int(st, 12, a->repl_mode);
	sqlite3_bind_int64(st, 13, a->last_backup);
	sqlite3_bind_int64(st, 14, a->last_repl);
	sqlite3_bind_int64(st, 15, a->repl_backup);
}

static void
account_from_row(sqlite3_stmt *st, struct cat_account *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = sqlite3_column_int(st, 0);
	cat_col_text(st, 1, a->name, sizeof(a->name));
	cat_col_text(st, 2, a->pwhash, sizeof(a->pwhash));
	a->locked = sqlite3_column_int(st, 3);
	a->failed = sqlite3_column_int(st, 4);
	a->registered = sqlite3_column_int64(st, 5);
	a->last_logon = sqlite3_column_int64(st, 6);
	cat_col_text(st, 7, a->domain, sizeof(a->domain));
	cat_col_text(st, 8, a->contact, sizeof(a->contact));
	a->rpo_s = sqlite3_column_int64(st, 9);
	a->repl_state = sqlite3_column_int(st, 10);
	a->repl_mode = sqlite3_column_int(st, 11);
	a->last_backup = sqlite3_column_int64(st, 12);
	a->last_repl = sqlite3_column_int64(st, 13);
	a->repl_backup = sqlite3_column_int64(st, 14);
}

int
cat_account_add(struct cat *c, const struct cat_account *a, struct err *e)
{
	char name[CAT_NAME_MAX + 1], dom[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_account(a, name, dom, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_ACC_INS, "INSERT INTO account(" ACC_COLS
	    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15)",
	    &st, e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, a->kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	bind_account(st, a, dom, a->registered != 0 ? a->registered :
	    (int64_t)time(NULL));
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "%s %s: already registered",
		    kind_name(a->kind), name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "%s %s: register", kind_name(a->kind),
		    name);
	cat_stmt_done(st);
	return r;
}

int
cat_account_get(struct cat *c, int kind, const char *name,
    struct cat_account *a, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_key(kind, name, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_ACC_GET, "SELECT " ACC_COLS
	    " FROM account WHERE kind=?1 AND name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, n, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		account_from_row(st, a);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "%s %s: not registered",
		    kind_name(kind), n);
	else
		r = cat_dberr(c, e, "%s %s: get", kind_name(kind), n);
	cat_stmt_done(st);
	return r;
}

int
cat_account_update(struct cat *c, const struct cat_account *a, struct err *e)
{
	char name[CAT_NAME_MAX + 1], dom[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_account(a, name, dom, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_ACC_UPD, "UPDATE account SET pwhash=?3,"
	    " locked=?4, failed=?5, registered=?6, last_logon=?7, domain=?8,"
	    " contact=?9, rpo_s=?10, repl_state=?11, repl_mode=?12,"
	    " last_backup=?13, last_repl=?14, repl_backup=?15 WHERE kind=?1 AND name=?2", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, a->kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	bind_account(st, a, dom, a->registered);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "%s %s: update", kind_name(a->kind), name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "%s %s: not registered",
		    kind_name(a->kind), name);
	cat_stmt_done(st);
	return r;
}

/* Number of filespaces of node into *n. */
static int
count_filespaces(struct cat *c, const char *node, int64_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_stmt(c, CAT_ST_FS_COUNT,
	    "SELECT count(*) FROM filespace WHERE node=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = cat_dberr(c, e, "node %s: count filespaces", node);
	cat_stmt_done(st);
	return r;
}

static int
remove_locked(struct cat *c, int kind, const char *name, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int64_t nfs = 0;
	int r;

	if (kind == CAT_KIND_NODE) {
		if ((r = count_filespaces(c, name, &nfs, e)) != 0)
			return r;
		if (nfs > 0)
			return err_set(e, COFFER_EBUSY, "node %s still has "
			    "%lld filespaces", name, (long long)nfs);
	}
	if ((r = cat_stmt(c, CAT_ST_ACC_DEL, "DELETE FROM account"
	    " WHERE kind=?1 AND name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "%s %s: remove", kind_name(kind), name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "%s %s: not registered",
		    kind_name(kind), name);
	cat_stmt_done(st);
	return r;
}

int
cat_account_remove(struct cat *c, int kind, const char *name, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	int began, r;

	if ((r = check_key(kind, name, n, e)) != 0)
		return r;
	/* The count and the delete see the same filespaces. */
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	return cat_tx_close(c, began, remove_locked(c, kind, n, e), e);
}

/*
 * A TSM name pattern as a GLOB: upper-cased name characters and '*' (any
 * run) or '?' (one character); nothing else can reach GLOB's syntax.
 */
static int
pattern_glob(const char *pattern, char *out, size_t cap, struct err *e)
{
	size_t i;

	if (pattern == NULL || pattern[0] == '\0')
		pattern = "*";
	for (i = 0; pattern[i] != '\0'; i++) {
		unsigned char const ch = (unsigned char)pattern[i];

		if (i + 1 >= cap)
			return err_set(e, COFFER_EINVAL, "pattern \"%.*s...\": "
			    "too long", (int)cap - 1, pattern);
		if (!isascii(ch) || !(isalnum(ch) || ch == '.' || ch == '_' ||
		    ch == '-' || ch == '*' || ch == '?'))
			return err_set(e, COFFER_EINVAL, "pattern \"%s\": "
			    "character %zu is not one of A-Z 0-9 . _ - * ?",
			    pattern, i + 1);
		out[i] = (char)toupper(ch);
	}
	out[i] = '\0';
	return 0;
}

int
cat_account_list(struct cat *c, int kind, const char *pattern,
    cat_account_cb cb, void *arg, struct err *e)
{
	char glob[2 * CAT_NAME_MAX + 1];
	struct cat_account a;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_kind(kind, e)) != 0 ||
	    (r = pattern_glob(pattern, glob, sizeof(glob), e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_ACC_LIST, "SELECT " ACC_COLS " FROM account"
	    " WHERE kind=?1 AND name GLOB ?2 ORDER BY name", &st, e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, glob, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		account_from_row(st, &a);
		if ((r = cb(arg, &a)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "%ss: list", kind_name(kind));
	cat_stmt_done(st);
	return r;
}

/* Whether the account is locked: 1, 0, or < 0 (ENOTFOUND). */
static int
account_locked(struct cat *c, int kind, const char *name, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_ACC_STATE, "SELECT locked FROM account"
	    " WHERE kind=?1 AND name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = sqlite3_column_int(st, 0) != 0;
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "%s %s: not registered",
		    kind_name(kind), name);
	else
		r = cat_dberr(c, e, "%s %s: get", kind_name(kind), name);
	cat_stmt_done(st);
	return r;
}

/* A good password: reset the count, unless the account is locked. */
static int
logon_ok(struct cat *c, int kind, const char *name, int *locked,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = account_locked(c, kind, name, e)) < 0)
		return r;
	if ((*locked = r) != 0)
		return err_set(e, COFFER_ELOCKED, "%s %s: account is locked",
		    kind_name(kind), name);
	if ((r = cat_stmt(c, CAT_ST_ACC_LOGON_OK, "UPDATE account"
	    " SET failed=0, last_logon=?3 WHERE kind=?1 AND name=?2", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	if ((r = cat_step_done(c, st, "logon", e)) != 0)
		err_wrap(e, "%s %s", kind_name(kind), name);
	return r;
}

/* A bad password: count it and lock at limit (limit <= 0: never). */
static int
logon_failed(struct cat *c, int kind, const char *name, int limit,
    int *locked, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* One statement: concurrent failures cannot lose a count. */
	if ((r = cat_stmt(c, CAT_ST_ACC_LOGON_FAIL, "UPDATE account"
	    " SET failed=failed+1, locked=CASE WHEN ?3>0 AND failed+1>=?3"
	    " THEN 1 ELSE locked END WHERE kind=?1 AND name=?2"
	    " RETURNING locked", &st, e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*locked = sqlite3_column_int(st, 0) != 0;
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "%s %s: not registered",
		    kind_name(kind), name);
	else
		r = cat_dberr(c, e, "%s %s: count failed logon",
		    kind_name(kind), name);
	cat_stmt_done(st);
	return r;
}

int
cat_account_logon(struct cat *c, int kind, const char *name, int ok,
    int limit, int *locked, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	int began, dummy, r;

	if (locked == NULL)
		locked = &dummy;
	if ((r = check_key(kind, name, n, e)) != 0)
		return r;
	if (!ok)
		return logon_failed(c, kind, n, limit, locked, e);
	/* The lock check and the reset see the same row. */
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	return cat_tx_close(c, began, logon_ok(c, kind, n, locked, e), e);
}

int
cat_node_copy(struct cat *c, const struct cat_account *a, struct err *e)
{
	char name[CAT_NAME_MAX + 1], dom[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if (a->kind != CAT_KIND_NODE)
		return err_set(e, COFFER_EINVAL, "%s %s: only nodes are "
		    "replicated", kind_name(a->kind), a->name);
	if ((r = check_account(a, name, dom, e)) != 0)
		return r;
	/*
	 * One statement, so that a node logging on meanwhile cannot see half
	 * a copy; locked and failed are the target's own business.
	 */
	if ((r = cat_stmt(c, CAT_ST_ACC_COPY, "INSERT INTO account(kind, name,"
	    " pwhash, registered, domain, contact, rpo_s, repl_mode)"
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT(kind, name) DO UPDATE SET pwhash=excluded.pwhash,"
	    " domain=excluded.domain, contact=excluded.contact,"
	    " rpo_s=excluded.rpo_s, repl_mode=excluded.repl_mode", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int(st, 1, CAT_KIND_NODE);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->registered != 0 ? a->registered :
	    (int64_t)time(NULL));
	sqlite3_bind_text(st, 5, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->contact, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, a->rpo_s);
	sqlite3_bind_int(st, 8, a->repl_mode);
	if ((r = cat_step_done(c, st, "copy", e)) != 0)
		err_wrap(e, "node %s", name);
	return r;
}

struct acc_array {
	struct cat_account	*v;
	size_t			 n, cap;
};

static int
acc_add(void *arg, const struct cat_account *a)
{
	struct acc_array *l = arg;

	if (l->n == l->cap) {
		size_t const ncap = l->cap ? l->cap * 2 : 16;
		struct cat_account *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *a;
	return 0;
}

int
cat_account_array(struct cat *c, int kind, const char *pattern,
    struct cat_account **out, size_t *n, struct err *e)
{
	struct acc_array l = { NULL, 0, 0 };
	int r;

	if ((r = cat_account_list(c, kind, pattern, acc_add, &l, e)) != 0) {
		free(l.v);
		if (r == COFFER_ENOMEM)
			err_set(e, r, "out of memory");
		return r;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
