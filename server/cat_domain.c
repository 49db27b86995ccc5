/*
 * cat_domain.c - policy domains and their backup copy group (TSM: DEFINE
 * DOMAIN with its STANDARD management class and copy group folded in).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define DOM_COLS "name, verexists, verdeleted, retextra, retonly, description," \
	" destination"

void
cat_domain_standard(struct cat_domain *d)
{
	/* TSM's installed STANDARD copy group. */
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "STANDARD");
	d->verexists = 2;
	d->verdeleted = 1;
	d->retextra = 30;
	d->retonly = 60;
}

static int
check_value(const char *dom, const char *what, int v, int min,
    struct err *e)
{
	if (v == CAT_NOLIMIT || v >= min)
		return 0;
	return err_set(e, COFFER_EINVAL, "domain %s: %s %d: must be NOLIMIT "
	    "or at least %d", dom, what, v, min);
}

/* Validate d and normalize its name into name. */
static int
check_domain(const struct cat_domain *d, char name[CAT_NAME_MAX + 1],
    struct err *e)
{
	int r;

	if ((r = cat_norm("domain", d->name, name, e)) != 0)
		return r;
	if ((r = check_value(name, "VEREXISTS", d->verexists, 1, e)) != 0 ||
	    (r = check_value(name, "VERDELETED", d->verdeleted, 0, e)) != 0 ||
	    (r = check_value(name, "RETEXTRA", d->retextra, 0, e)) != 0 ||
	    (r = check_value(name, "RETONLY", d->retonly, 0, e)) != 0)
		return r;
	if (memchr(d->destination, '\0', sizeof(d->destination)) == NULL)
		return err_set(e, COFFER_EINVAL, "domain %s: destination is "
		    "not terminated", name);
	if (memchr(d->description, '\0', sizeof(d->description)) == NULL)
		return err_set(e, COFFER_EINVAL, "domain %s: description is "
		    "not terminated", name);
	return 0;
}

static void
bind_domain(sqlite3_stmt *st, const char *name, const struct cat_domain *d)
{
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, d->verexists);
	sqlite3_bind_int(st, 3, d->verdeleted);
	sqlite3_bind_int(st, 4, d->retextra);
	sqlite3_bind_int(st, 5, d->retonly);
	sqlite3_bind_text(st, 6, d->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, d->destination, -1, SQLITE_STATIC);
}

static void
domain_from_row(sqlite3_stmt *st, struct cat_domain *d)
{
	memset(d, 0, sizeof(*d));
	cat_col_text(st, 0, d->name, sizeof(d->name));
	d->verexists = sqlite3_column_int(st, 1);
	d->verdeleted = sqlite3_column_int(st, 2);
	d->retextra = sqlite3_column_int(st, 3);
	d->retonly = sqlite3_column_int(st, 4);
	cat_col_text(st, 5, d->description, sizeof(d->description));
	cat_col_text(st, 6, d->destination, sizeof(d->destination));
}

int
cat_domain_define(struct cat *c, const struct cat_domain *d, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_domain(d, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_DOM_INS, "INSERT INTO domain(" DOM_COLS
	    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, e)) != 0)
		return r;
	bind_domain(st, name, d);
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "domain %s: already defined",
		    name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "domain %s: define", name);
	cat_stmt_done(st);
	return r;
}

int
cat_domain_update(struct cat *c, const struct cat_domain *d, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_domain(d, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_DOM_UPD, "UPDATE domain SET verexists=?2,"
	    " verdeleted=?3, retextra=?4, retonly=?5, description=?6,"
	    " destination=?7 WHERE name=?1", &st, e)) != 0)
		return r;
	bind_domain(st, name, d);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "domain %s: update", name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "domain %s: not defined",
		    name);
	cat_stmt_done(st);
	return r;
}

int
cat_domain_get(struct cat *c, const char *name, struct cat_domain *d,
    struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_norm("domain", name, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_DOM_GET, "SELECT " DOM_COLS
	    " FROM domain WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		domain_from_row(st, d);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "domain %s: not defined", n);
	else
		r = cat_dberr(c, e, "domain %s: get", n);
	cat_stmt_done(st);
	return r;
}

int
cat_domain_list(struct cat *c, cat_domain_cb cb, void *arg, struct err *e)
{
	struct cat_domain d;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_DOM_LIST, "SELECT " DOM_COLS
	    " FROM domain ORDER BY name", &st, e)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		domain_from_row(st, &d);
		if ((r = cb(arg, &d)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "domains: list");
	cat_stmt_done(st);
	return r;
}
