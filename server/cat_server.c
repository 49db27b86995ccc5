/*
 * cat_server.c - peer servers (TSM: DEFINE SERVER): where a replication
 * partner listens, which CA its certificate must chain to, and the key
 * both servers derived from the server password (passwd_server_key).
 *
 * The key is a secret like a password hash: it is stored here and read by
 * the session code, and never shown by a query.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define SRV_COLS "name, hladdress, lladdress, cafile, key, description," \
	" defined"

/* Validate s and normalize its name into name. */
static int
check_server(const struct cat_server *s, char name[CAT_NAME_MAX + 1],
    struct err *e)
{
	int r;

	if ((r = cat_norm("server", s->name, name, e)) != 0)
		return r;
	if (memchr(s->hladdress, '\0', sizeof(s->hladdress)) == NULL ||
	    memchr(s->cafile, '\0', sizeof(s->cafile)) == NULL ||
	    memchr(s->description, '\0', sizeof(s->description)) == NULL)
		return err_set(e, COFFER_EINVAL, "server %s: address, CA file "
		    "or description is not terminated", name);
	if (s->hladdress[0] == '\0')
		return err_set(e, COFFER_EINVAL, "server %s: no address "
		    "(HLADDRESS)", name);
	if (s->lladdress < 1 || s->lladdress > 65535)
		return err_set(e, COFFER_EINVAL, "server %s: port %d is not "
		    "1..65535", name, s->lladdress);
	return 0;
}

/* Bind everything but name (?1) and defined (?7) as ?2..?6. */
static void
bind_server(sqlite3_stmt *st, const struct cat_server *s)
{
	sqlite3_bind_text(st, 2, s->hladdress, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, s->lladdress);
	sqlite3_bind_text(st, 4, s->cafile, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, s->key, CAT_SERVER_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, s->description, -1, SQLITE_STATIC);
}

static void
server_from_row(sqlite3_stmt *st, struct cat_server *s)
{
	const void *key = sqlite3_column_blob(st, 4);

	memset(s, 0, sizeof(*s));
	cat_col_text(st, 0, s->name, sizeof(s->name));
	cat_col_text(st, 1, s->hladdress, sizeof(s->hladdress));
	s->lladdress = sqlite3_column_int(st, 2);
	cat_col_text(st, 3, s->cafile, sizeof(s->cafile));
	/* A key of another length is no key: every MAC will fail. */
	if (key != NULL && sqlite3_column_bytes(st, 4) == CAT_SERVER_KEY_LEN)
		memcpy(s->key, key, CAT_SERVER_KEY_LEN);
	cat_col_text(st, 5, s->description, sizeof(s->description));
	s->defined = sqlite3_column_int64(st, 6);
}

int
cat_server_add(struct cat *c, const struct cat_server *s, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_server(s, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SRV_INS, "INSERT INTO server(" SRV_COLS
	    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bind_server(st, s);
	sqlite3_bind_int64(st, 7, s->defined != 0 ? s->defined :
	    (int64_t)time(NULL));
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "server %s: already defined",
		    name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "server %s: define", name);
	cat_stmt_done(st);
	return r;
}

int
cat_server_get(struct cat *c, const char *name, struct cat_server *s,
    struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_norm("server", name, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SRV_GET, "SELECT " SRV_COLS
	    " FROM server WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		server_from_row(st, s);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "server %s: not defined", n);
	else
		r = cat_dberr(c, e, "server %s: get", n);
	cat_stmt_done(st);
	return r;
}

int
cat_server_update(struct cat *c, const struct cat_server *s, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_server(s, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SRV_UPD, "UPDATE server SET hladdress=?2,"
	    " lladdress=?3, cafile=?4, key=?5, description=?6"
	    " WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bind_server(st, s);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "server %s: update", name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "server %s: not defined",
		    name);
	cat_stmt_done(st);
	return r;
}

int
cat_server_delete(struct cat *c, const char *name, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_norm("server", name, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_SRV_DEL, "DELETE FROM server"
	    " WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "server %s: delete", n);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "server %s: not defined", n);
	cat_stmt_done(st);
	return r;
}

int
cat_server_list(struct cat *c, int (*cb)(void *, const struct cat_server *),
    void *arg, struct err *e)
{
	struct cat_server s;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_SRV_LIST, "SELECT " SRV_COLS
	    " FROM server ORDER BY name", &st, e)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		server_from_row(st, &s);
		if ((r = cb(arg, &s)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "servers: list");
	cat_stmt_done(st);
	/* The walk handed out keys: leave none on the stack. */
	memset(s.key, 0, sizeof(s.key));
	return r;
}
