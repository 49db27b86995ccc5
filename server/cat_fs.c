/*
 * cat_fs.c - filespaces (one per file system or VM of a node) and the
 * occupancy figures derived from their object versions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"

/*
 * Columns of a filespace with its version count and their total size:
 * counters the catalog keeps (cat.c, add_fs_counts), not a count over the
 * filespace's versions, which at millions of versions took seconds and
 * ran on every FS_LIST, OBJ_LIST page and ownership check.
 */
#define FS_SELECT "SELECT f.id, f.node, f.name, f.type, f.created," \
	" f.last_backup_start, f.last_backup_end, f.nversions," \
	" f.nbytes, f.drprotect, f.drpriority, f.replrule" \
	" FROM filespace f"

#define FS_TYPE_MAX	32	/* sizeof(struct cat_fs.type) */

static void
fs_from_row(sqlite3_stmt *st, struct cat_fs *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->id = (uint64_t)sqlite3_column_int64(st, 0);
	cat_col_text(st, 1, fs->node, sizeof(fs->node));
	cat_col_text(st, 2, fs->name, sizeof(fs->name));
	cat_col_text(st, 3, fs->type, sizeof(fs->type));
	fs->created = sqlite3_column_int64(st, 4);
	fs->last_backup_start = sqlite3_column_int64(st, 5);
	fs->last_backup_end = sqlite3_column_int64(st, 6);
	fs->objects = (uint64_t)sqlite3_column_int64(st, 7);
	fs->bytes = (uint64_t)sqlite3_column_int64(st, 8);
	fs->drprotect = sqlite3_column_int(st, 9) != 0;
	fs->drpriority = (uint32_t)sqlite3_column_int64(st, 10);
	fs->replrule = sqlite3_column_int(st, 11);
}

static int
check_fs_name(const char *node, const char *name, struct err *e)
{
	size_t const n = name != NULL ? strlen(name) : 0;

	if (n == 0)
		return err_set(e, COFFER_EINVAL, "node %s: filespace name is "
		    "empty", node);
	if (n >= CAT_PATH_MAX)
		return err_set(e, COFFER_ETOOBIG, "node %s: filespace name of "
		    "%zu bytes exceeds %d", node, n, CAT_PATH_MAX - 1);
	return 0;
}

/* The id of node's filespace name: 1 found, 0 absent, < 0 error. */
static int
fs_find(struct cat *c, const char *node, const char *name, uint64_t *id,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_FS_FIND, "SELECT id FROM filespace"
	    " WHERE node=?1 AND name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = (uint64_t)sqlite3_column_int64(st, 0);
		r = 1;
	} else if (rc != SQLITE_DONE) {
		r = cat_dberr(c, e, "node %s: filespace %s: find", node, name);
	}
	cat_stmt_done(st);
	return r;
}

int
cat_fs_open(struct cat *c, const char *node, const char *name,
    const char *type, uint64_t *id, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r;

	if (type == NULL)
		type = "";
	if ((r = cat_norm("node", node, n, e)) != 0 ||
	    (r = check_fs_name(n, name, e)) != 0)
		return r;
	if (strlen(type) >= FS_TYPE_MAX)
		return err_set(e, COFFER_EINVAL, "node %s: filespace %s: type "
		    "\"%s\" longer than %d", n, name, type, FS_TYPE_MAX - 1);
	if ((r = fs_find(c, n, name, id, e)) != 0)
		return r < 0 ? r : 0;
	/* Two sessions may race here: the loser's insert does nothing. */
	if ((r = cat_stmt(c, CAT_ST_FS_INS, "INSERT INTO filespace(node, name,"
	    " type, created) VALUES(?1, ?2, ?3, ?4)"
	    " ON CONFLICT(node, name) DO NOTHING", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	if ((r = cat_step_done(c, st, "create filespace", e)) != 0) {
		err_wrap(e, "node %s: filespace %s", n, name);
		return r;
	}
	if ((r = fs_find(c, n, name, id, e)) < 0)
		return r;
	if (r == 0)
		return err_set(e, COFFER_EINTERNAL, "node %s: filespace %s: "
		    "vanished after its creation", n, name);
	return 0;
}

int
cat_fs_get(struct cat *c, const char *node, const char *name,
    struct cat_fs *fs, struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_norm("node", node, n, e)) != 0 ||
	    (r = check_fs_name(n, name, e)) != 0)
		return r;
	if ((r = cat_stmt(c, CAT_ST_FS_GET, FS_SELECT
	    " WHERE f.node=?1 AND f.name=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fs_from_row(st, fs);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "node %s: filespace %s: "
		    "not found", n, name);
	else
		r = cat_dberr(c, e, "node %s: filespace %s: get", n, name);
	cat_stmt_done(st);
	return r;
}

int
cat_fs_get_id(struct cat *c, uint64_t id, struct cat_fs *fs, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_FS_GET_ID, FS_SELECT
	    " WHERE f.id=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fs_from_row(st, fs);
	else if (rc == SQLITE_DONE)
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: not found",
		    (unsigned long long)id);
	else
		r = cat_dberr(c, e, "filespace %llu: get",
		    (unsigned long long)id);
	cat_stmt_done(st);
	return r;
}

int
cat_fs_set_backup(struct cat *c, uint64_t id, int64_t start, int64_t end,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* A time <= 0 keeps what is there: a backup starts, then ends. */
	if ((r = cat_stmt(c, CAT_ST_FS_SET_BACKUP, "UPDATE filespace SET"
	    " last_backup_start=CASE WHEN ?2>0 THEN ?2 ELSE last_backup_start"
	    " END, last_backup_end=CASE WHEN ?3>0 THEN ?3 ELSE last_backup_end"
	    " END WHERE id=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: set backup times",
		    (unsigned long long)id);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: not found",
		    (unsigned long long)id);
	cat_stmt_done(st);
	return r;
}

int
cat_fs_set_dr(struct cat *c, uint64_t id, int drprotect, uint32_t drpriority,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (drpriority > CAT_DRPRIORITY_MAX)
		return err_set(e, COFFER_EINVAL, "filespace %llu: DR priority "
		    "%u is not 0..%d", (unsigned long long)id, drpriority,
		    CAT_DRPRIORITY_MAX);
	if ((r = cat_stmt(c, CAT_ST_FS_SET_DR, "UPDATE filespace SET"
	    " drprotect=?2, drpriority=?3 WHERE id=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	sqlite3_bind_int(st, 2, drprotect != 0);
	sqlite3_bind_int64(st, 3, (int64_t)drpriority);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: set DR protection",
		    (unsigned long long)id);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: not found",
		    (unsigned long long)id);
	cat_stmt_done(st);
	return r;
}

int
cat_fs_count_add(struct cat *c, uint64_t fs_id, int64_t dversions,
    int64_t dbytes, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (dversions == 0 && dbytes == 0)
		return 0;
	if ((r = cat_stmt(c, CAT_ST_FS_COUNT_ADD, "UPDATE filespace SET"
	    " nversions=nversions+?2, nbytes=nbytes+?3 WHERE id=?1", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	sqlite3_bind_int64(st, 2, dversions);
	sqlite3_bind_int64(st, 3, dbytes);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: count versions",
		    (unsigned long long)fs_id);
	cat_stmt_done(st);
	return r;
}

int
cat_fs_set_replrule(struct cat *c, uint64_t id, int rule, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (rule < CAT_REPLRULE_ALL || rule > CAT_REPLRULE_NONE)
		return err_set(e, COFFER_EINVAL, "filespace %llu: replication "
		    "rule %d is not %d (all data), %d (active data) or %d "
		    "(none)", (unsigned long long)id, rule, CAT_REPLRULE_ALL,
		    CAT_REPLRULE_ACTIVE, CAT_REPLRULE_NONE);
	if ((r = cat_stmt(c, CAT_ST_FS_SET_REPLRULE, "UPDATE filespace SET"
	    " replrule=?2 WHERE id=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	sqlite3_bind_int(st, 2, rule);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: set replication rule",
		    (unsigned long long)id);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: not found",
		    (unsigned long long)id);
	cat_stmt_done(st);
	return r;
}

int
cat_fs_list(struct cat *c, const char *node, cat_fs_cb cb, void *arg,
    struct err *e)
{
	char n[CAT_NAME_MAX + 1];
	struct cat_fs *fs;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (node != NULL && (r = cat_norm("node", node, n, e)) != 0)
		return r;
	if (node != NULL)
		r = cat_stmt(c, CAT_ST_FS_LIST, FS_SELECT " WHERE f.node=?1"
		    " ORDER BY f.node, f.name", &st, e);
	else
		r = cat_stmt(c, CAT_ST_FS_LIST_ALL, FS_SELECT
		    " ORDER BY f.node, f.name", &st, e);
	if (r != 0)
		return r;
	/* struct cat_fs holds a path: too big for a worker's stack. */
	if ((fs = malloc(sizeof(*fs))) == NULL) {
		cat_stmt_done(st);
		return err_set(e, COFFER_ENOMEM, "filespaces: out of memory");
	}
	if (node != NULL)
		sqlite3_bind_text(st, 1, n, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fs_from_row(st, fs);
		if ((r = cb(arg, fs)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "filespaces: list");
	cat_stmt_done(st);
	free(fs);
	return r;
}

struct occ_walk {
	cat_occ_cb		 cb;
	void			*arg;
	struct cat_occupancy	 o;
};

static int
occ_one(void *arg, const struct cat_fs *fs)
{
	struct occ_walk *w = arg;

	snprintf(w->o.node, sizeof(w->o.node), "%s", fs->node);
	snprintf(w->o.fs, sizeof(w->o.fs), "%s", fs->name);
	w->o.objects = fs->objects;
	w->o.logical_bytes = fs->bytes;
	return w->cb(w->arg, &w->o);
}

int
cat_occupancy(struct cat *c, const char *node, cat_occ_cb cb, void *arg,
    struct err *e)
{
	struct occ_walk *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return err_set(e, COFFER_ENOMEM, "occupancy: out of memory");
	w->cb = cb;
	w->arg = arg;
	r = cat_fs_list(c, node, occ_one, w, e);
	free(w);
	return r;
}

struct fs_array {
	struct cat_fs	*v;
	size_t		 n, cap;
};

static int
fs_add(void *arg, const struct cat_fs *f)
{
	struct fs_array *l = arg;

	if (l->n == l->cap) {
		size_t const ncap = l->cap ? l->cap * 2 : 16;
		struct cat_fs *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *f;
	return 0;
}

int
cat_fs_array(struct cat *c, const char *node, struct cat_fs **out,
    size_t *n, struct err *e)
{
	struct fs_array l = { NULL, 0, 0 };
	int r;

	if ((r = cat_fs_list(c, node, fs_add, &l, e)) != 0) {
		free(l.v);
		if (r == COFFER_ENOMEM)
			err_set(e, r, "out of memory");
		return r;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
