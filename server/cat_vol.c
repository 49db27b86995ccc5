/*
 * cat_vol.c - device classes (TSM: DEFINE DEVCLASS DEVTYPE=FILE) and the
 * sequential volumes written through them: the volume history (what was
 * written, when, by which set) and the DRM media list (where the volume
 * is: MOUNTABLE ... ONSITERETRIEVE) are one row per volume.
 *
 * The catalog stores states; it does not judge moves between them: that
 * is drm.c's, so that a restore or an import may set any state it read.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

#define DC_COLS	"name, devtype, directory, maxcap, defined"
#define VOL_COLS "name, path, devclass, kind, set_uuid, seq, state," \
	" location, created, state_changed, bytes, node"

/* ---- device classes ---- */

/* A string field of a fixed-size struct member must hold its NUL. */
#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

static int
check_devclass(const struct cat_devclass *d, char name[CAT_NAME_MAX + 1],
    struct err *e)
{
	int r;

	if ((r = cat_norm("device class", d->name, name, e)) != 0)
		return r;
	if (!TERMINATED(d->devtype) || !TERMINATED(d->directory))
		return err_set(e, COFFER_EINVAL, "device class %s: device "
		    "type or directory is not terminated", name);
	/* FILE is the only device type there is today (DESIGN). */
	if (strcmp(d->devtype, "FILE") != 0)
		return err_set(e, COFFER_EINVAL, "device class %s: device "
		    "type '%s' is not FILE", name, d->devtype);
	if (d->directory[0] != '/')
		return err_set(e, COFFER_EINVAL, "device class %s: directory "
		    "'%s' is not an absolute path", name, d->directory);
	/* INTEGER is signed: larger would read back negative. */
	if (d->maxcap == 0 || d->maxcap > (uint64_t)INT64_MAX)
		return err_set(e, COFFER_EINVAL, "device class %s: maximum "
		    "capacity %llu is out of range", name,
		    (unsigned long long)d->maxcap);
	return 0;
}

/* Bind devtype, directory, maxcap as ?2..?4. */
static void
bind_devclass(sqlite3_stmt *st, const struct cat_devclass *d)
{
	sqlite3_bind_text(st, 2, d->devtype, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->directory, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)d->maxcap);
}

static void
devclass_from_row(sqlite3_stmt *st, struct cat_devclass *d)
{
	memset(d, 0, sizeof(*d));
	cat_col_text(st, 0, d->name, sizeof(d->name));
	cat_col_text(st, 1, d->devtype, sizeof(d->devtype));
	cat_col_text(st, 2, d->directory, sizeof(d->directory));
	d->maxcap = (uint64_t)sqlite3_column_int64(st, 3);
	d->defined = sqlite3_column_int64(st, 4);
}

int
cat_devclass_add(struct cat *c, const struct cat_devclass *d, struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_devclass(d, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_DC_INS, "INSERT INTO devclass(" DC_COLS
	    ") VALUES(?1, ?2, ?3, ?4, ?5)", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bind_devclass(st, d);
	sqlite3_bind_int64(st, 5, d->defined != 0 ? d->defined :
	    (int64_t)time(NULL));
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "device class %s: already "
		    "defined", name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "device class %s: define", name);
	cat_stmt_done(st);
	return r;
}

int
cat_devclass_get(struct cat *c, const char *name, struct cat_devclass *d,
    struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_norm("device class", name, n, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_DC_GET, "SELECT " DC_COLS
	    " FROM devclass WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		devclass_from_row(st, d);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "device class %s: not "
		    "defined", n);
	else
		r = cat_dberr(c, e, "device class %s: get", n);
	cat_stmt_done(st);
	return r;
}

int
cat_devclass_update(struct cat *c, const struct cat_devclass *d,
    struct err *e)
{
	char name[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_devclass(d, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_DC_UPD, "UPDATE devclass SET devtype=?2,"
	    " directory=?3, maxcap=?4 WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bind_devclass(st, d);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "device class %s: update", name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "device class %s: not "
		    "defined", name);
	cat_stmt_done(st);
	return r;
}

/* Volumes naming an already normalized class n. */
static int
count_volumes(struct cat *c, const char *n, uint64_t *count, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_stmt(c, CAT_ST_DC_USED, "SELECT count(*) FROM volume"
	    " WHERE devclass=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(st, 0);
	else
		r = cat_dberr(c, e, "device class %s: count volumes", n);
	cat_stmt_done(st);
	return r;
}

int
cat_devclass_volumes(struct cat *c, const char *name, uint64_t *count,
    struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	int r;

	*count = 0;
	if ((r = cat_norm("device class", name, n, e)) != 0)
		return r;
	return count_volumes(c, n, count, e);
}

/*
 * The count and the delete run in one transaction, so that a volume
 * registered in between cannot be left naming a deleted class.
 */
int
cat_devclass_delete(struct cat *c, const char *name, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	uint64_t used = 0;
	int began = 0, r;

	if ((r = cat_norm("device class", name, n, e)) != 0)
		return r;
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	if ((r = count_volumes(c, n, &used, e)) != 0)
		goto out;
	if (used > 0) {
		r = err_set(e, COFFER_EBUSY, "device class %s: %llu volumes "
		    "still use it", n, (unsigned long long)used);
		goto out;
	}
	if ((r = cat_stmt(c, CAT_ST_DC_DEL, "DELETE FROM devclass"
	    " WHERE name=?1", &st, e)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "device class %s: delete", n);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "device class %s: not "
		    "defined", n);
	cat_stmt_done(st);
out:
	return cat_tx_close(c, began, r, e);
}

int
cat_devclass_list(struct cat *c,
    int (*cb)(void *, const struct cat_devclass *), void *arg, struct err *e)
{
	struct cat_devclass d;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_DC_LIST, "SELECT " DC_COLS
	    " FROM devclass ORDER BY name", &st, e)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		devclass_from_row(st, &d);
		if ((r = cb(arg, &d)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "device classes: list");
	cat_stmt_done(st);
	return r;
}

/* ---- volumes ---- */

static int
check_volume(const struct cat_volume *v, struct err *e)
{
	if (!TERMINATED(v->name) || v->name[0] == '\0')
		return err_set(e, COFFER_EINVAL, "volume: empty or "
		    "unterminated name");
	if (!TERMINATED(v->path) || !TERMINATED(v->devclass) ||
	    !TERMINATED(v->location) || !TERMINATED(v->node))
		return err_set(e, COFFER_EINVAL, "volume %s: path, device "
		    "class, location or node is not terminated", v->name);
	if (v->kind != CAT_VOL_EXPORT && v->kind != CAT_VOL_DBBACKUP)
		return err_set(e, COFFER_EINVAL, "volume %s: kind %d is not "
		    "export (%d) or dbbackup (%d)", v->name, v->kind,
		    CAT_VOL_EXPORT, CAT_VOL_DBBACKUP);
	if (v->state < 0 || v->state >= CAT_DRM_NSTATES)
		return err_set(e, COFFER_EINVAL, "volume %s: DRM state %d is "
		    "not 0..%d", v->name, v->state, CAT_DRM_NSTATES - 1);
	if (v->bytes > (uint64_t)INT64_MAX)
		return err_set(e, COFFER_EINVAL, "volume %s: byte count out of "
		    "range", v->name);
	return 0;
}

/* Bind every column but the name (?1) as ?2..?12. */
static void
bind_volume(sqlite3_stmt *st, const struct cat_volume *v, int64_t now)
{
	sqlite3_bind_text(st, 2, v->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, v->devclass, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, v->kind);
	sqlite3_bind_blob(st, 5, v->set_uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, v->seq);
	sqlite3_bind_int(st, 7, v->state);
	sqlite3_bind_text(st, 8, v->location, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, v->created != 0 ? v->created : now);
	sqlite3_bind_int64(st, 10, v->state_changed != 0 ? v->state_changed :
	    now);
	sqlite3_bind_int64(st, 11, (int64_t)v->bytes);
	sqlite3_bind_text(st, 12, v->node, -1, SQLITE_STATIC);
}

static void
volume_from_row(sqlite3_stmt *st, struct cat_volume *v)
{
	const void *uuid = sqlite3_column_blob(st, 4);

	memset(v, 0, sizeof(*v));
	cat_col_text(st, 0, v->name, sizeof(v->name));
	cat_col_text(st, 1, v->path, sizeof(v->path));
	cat_col_text(st, 2, v->devclass, sizeof(v->devclass));
	v->kind = sqlite3_column_int(st, 3);
	if (uuid != NULL && sqlite3_column_bytes(st, 4) == 16)
		memcpy(v->set_uuid, uuid, 16);
	v->seq = (uint32_t)sqlite3_column_int64(st, 5);
	v->state = sqlite3_column_int(st, 6);
	cat_col_text(st, 7, v->location, sizeof(v->location));
	v->created = sqlite3_column_int64(st, 8);
	v->state_changed = sqlite3_column_int64(st, 9);
	v->bytes = (uint64_t)sqlite3_column_int64(st, 10);
	cat_col_text(st, 11, v->node, sizeof(v->node));
}

int
cat_volume_add(struct cat *c, const struct cat_volume *v, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = check_volume(v, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_VOL_INS, "INSERT INTO volume(" VOL_COLS
	    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
	bind_volume(st, v, (int64_t)time(NULL));
	rc = sqlite3_step(st);
	if (cat_constraint(c, rc) == 1)
		r = err_set(e, COFFER_EEXIST, "volume %s: already in the "
		    "volume history", v->name);
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "volume %s: add", v->name);
	cat_stmt_done(st);
	return r;
}

int
cat_volume_get(struct cat *c, const char *name, struct cat_volume *v,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_VOL_GET, "SELECT " VOL_COLS
	    " FROM volume WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		volume_from_row(st, v);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "volume %.64s: not in the "
		    "volume history", name);
	else
		r = cat_dberr(c, e, "volume %.64s: get", name);
	cat_stmt_done(st);
	return r;
}

int
cat_volume_update(struct cat *c, const struct cat_volume *v, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_volume(v, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_VOL_UPD, "UPDATE volume SET path=?2,"
	    " devclass=?3, kind=?4, set_uuid=?5, seq=?6, state=?7,"
	    " location=?8, created=?9, state_changed=?10, bytes=?11, node=?12"
	    " WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
	bind_volume(st, v, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "volume %s: update", v->name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "volume %s: not in the "
		    "volume history", v->name);
	cat_stmt_done(st);
	return r;
}

int
cat_volume_list(struct cat *c, int kind,
    int (*cb)(void *, const struct cat_volume *), void *arg, struct err *e)
{
	struct cat_volume v;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (kind == 0)
		r = cat_stmt(c, CAT_ST_VOL_LIST, "SELECT " VOL_COLS
		    " FROM volume ORDER BY created, set_uuid, seq", &st, e);
	else
		r = cat_stmt(c, CAT_ST_VOL_LIST_KIND, "SELECT " VOL_COLS
		    " FROM volume WHERE kind=?1 ORDER BY created, set_uuid,"
		    " seq", &st, e);
	if (r != 0)
		return r;
	if (kind != 0)
		sqlite3_bind_int(st, 1, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		volume_from_row(st, &v);
		if ((r = cb(arg, &v)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "volumes: list");
	cat_stmt_done(st);
	return r;
}

int
cat_volume_set_bytes(struct cat *c, const char *name, uint64_t bytes,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (bytes > (uint64_t)INT64_MAX)
		return err_set(e, COFFER_EINVAL, "volume %.64s: byte count out "
		    "of range", name);
	if ((r = cat_stmt(c, CAT_ST_VOL_BYTES, "UPDATE volume SET bytes=?2"
	    " WHERE name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)bytes);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "volume %.64s: set bytes", name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "volume %.64s: not in the "
		    "volume history", name);
	cat_stmt_done(st);
	return r;
}

int
cat_volume_delete(struct cat *c, const char *name, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_stmt(c, CAT_ST_VOL_DEL, "DELETE FROM volume WHERE"
	    " name=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "volume %.64s: delete", name);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "volume %.64s: not in the "
		    "volume history", name);
	cat_stmt_done(st);
	return r;
}

int
cat_volume_next_serial(struct cat *c, uint32_t *next, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	*next = 1;
	if ((r = cat_stmt(c, CAT_ST_VOL_SERIAL, "SELECT max(CAST(substr(name,"
	    " 2) AS INTEGER)) FROM volume WHERE name GLOB"
	    " 'C[0-9][0-9][0-9][0-9][0-9]'", &st, e)) != 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		r = cat_dberr(c, e, "volumes: highest serial");
	else if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		*next = (uint32_t)sqlite3_column_int64(st, 0) + 1;
	cat_stmt_done(st);
	return r;
}
