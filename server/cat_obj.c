/*
 * cat_obj.c - object versions: store, deactivate, inventory and queries.
 *
 * A row is one version of one path of a filespace.  Walks run in pkey
 * order (cat.h) straight off an index, never through a sort, so the first
 * page of a million-file filespace costs what the last one does:
 *
 *  - object_by_state (fs_id, state, pkey): active versions in walk order
 *    (inventory, active-only queries, "the active version of this path");
 *  - object_by_path (fs_id, pkey, state DESC, inserted DESC, id DESC):
 *    every version of each path, the active one first, then newest first
 *    (inactive and point-in-time queries, expiration).
 *
 * "Under prefix P" is the key range [pkey(P), pkey(P) || 0x01): P itself
 * and every key that continues P with 0x00, i.e. with '/'.  A key X is in
 * the range iff X = P or X starts with P || 0x00, because any X > P that
 * does not start with P differs from P at a byte greater than P's, and
 * is then above P || 0x01 as well.  "After A" is pkey >= pkey(A) || 0x00,
 * the smallest key above pkey(A).
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"
#include "util.h"
#include "uuid.h"

/* Selected columns; the walk reads them by these numbers. */
#define OBJ_COLS "id, uuid, fs_id, path, type, state, inserted, deactivated," \
	" size, mode, uid, gid, mtime_ns, ctime_ns, link, pkey"
enum {
	COL_ID, COL_UUID, COL_FS, COL_PATH, COL_TYPE, COL_STATE, COL_INSERTED,
	COL_DEACTIVATED, COL_SIZE, COL_MODE, COL_UID, COL_GID, COL_MTIME,
	COL_CTIME, COL_LINK, COL_PKEY, COL_RECIPE
};

#define BY_VERSION " ORDER BY pkey, state DESC, inserted DESC, id DESC"

/*
 * The query variants, indexed by mode * 2 + bounded (CAT_ST_OBJ_Q_* are in
 * this order).  ?1 fs_id, ?2 lowest key, ?3 key bound, ?4 point in time.
 */
static const char *const query_sql[] = {
	"SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1 AND state=1"
	" AND pkey>=?2 ORDER BY pkey",
	"SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1 AND state=1"
	" AND pkey>=?2 AND pkey<?3 ORDER BY pkey",
	"SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1"
	" AND pkey>=?2" BY_VERSION,
	"SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1"
	" AND pkey>=?2 AND pkey<?3" BY_VERSION,
	"SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1"
	" AND pkey>=?2 AND inserted<=?4 AND (state=1 OR deactivated>?4)"
	BY_VERSION,
	"SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1"
	" AND pkey>=?2 AND pkey<?3 AND inserted<=?4"
	" AND (state=1 OR deactivated>?4)" BY_VERSION,
};

enum walk_mode {
	WALK_ACTIVE,	/* the active version of each path */
	WALK_ALL,	/* every version, active first, then newest first */
	WALK_PIT	/* the first version per path that passes the filter */
};

/* Keys bounding a walk: [lo, hi), or [lo, end) when !bounded. */
struct range {
	uint8_t	lo[CAT_PATH_MAX + 1];
	size_t	lolen;
	uint8_t	hi[CAT_PATH_MAX + 1];
	size_t	hilen;
	int	bounded;
};

static int
key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int const d = memcmp(a, b, alen < blen ? alen : blen);

	if (d != 0)
		return d;
	return alen < blen ? -1 : alen > blen;
}

/* Path length, checked: 1..CAT_PATH_MAX - 1 bytes. */
static int
path_len(uint64_t fs_id, const char *path, size_t *len, struct err *e)
{
	size_t const n = path != NULL ? strlen(path) : 0;

	if (n == 0)
		return err_set(e, COFFER_EINVAL, "filespace %llu: empty path",
		    (unsigned long long)fs_id);
	if (n >= CAT_PATH_MAX)
		return err_set(e, COFFER_ETOOBIG, "filespace %llu: path of %zu "
		    "bytes exceeds %d", (unsigned long long)fs_id, n,
		    CAT_PATH_MAX - 1);
	*len = n;
	return 0;
}

static void
uuid_hex(const uint8_t u[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", u[i]);
}

/*
 * Whether (fs_id, key) has an active version: a read of object_by_state
 * alone (it covers the columns), cheaper than an UPDATE that matches
 * nothing, which opens the table and its indexes for writing.
 */
static int
has_active(struct cat *c, uint64_t fs_id, const uint8_t *key, size_t klen,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_OBJ_HAS_ACTIVE, "SELECT 1 FROM object"
	    " WHERE fs_id=?1 AND state=1 AND pkey=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, key, klen);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = 1;
	else if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "look up the active version");
	cat_stmt_done(st);
	return r;
}

/*
 * Make the active version of (fs_id, key) inactive at when.  *changed is
 * how many rows changed (0 or 1).  Most keys of a backup are new: those
 * cost the lookup only.
 */
static int
deactivate_key(struct cat *c, uint64_t fs_id, const uint8_t *key,
    size_t klen, int64_t when, int *changed, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	*changed = 0;
	if ((r = has_active(c, fs_id, key, klen, e)) <= 0)
		return r;
	r = 0;
	/* invariant (1): state and deactivation time change together. */
	if ((r = cat_stmt(c, CAT_ST_OBJ_DEACT, "UPDATE object SET state=0,"
	    " deactivated=?3 WHERE fs_id=?1 AND pkey=?2 AND state=1", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, key, klen);
	sqlite3_bind_int64(st, 3, when);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "deactivate");
	else
		*changed = sqlite3_changes(c->db);
	cat_stmt_done(st);
	return r;
}

static int
insert_row(struct cat *c, const struct cat_obj *o, const uint8_t *key,
    size_t klen, struct err *e)
{
	char hex[33];
	sqlite3_stmt *st = NULL;
	int r, rc, kind;

	if ((r = cat_stmt(c, CAT_ST_OBJ_INS, "INSERT INTO object(uuid, fs_id,"
	    " path, pkey, type, state, inserted, deactivated, size, mode, uid,"
	    " gid, mtime_ns, ctime_ns, link, recipe) VALUES(?1, ?2, ?3, ?4,"
	    " ?5, ?15, ?6, ?16, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int(st, 15, o->state == CAT_ACTIVE);
	sqlite3_bind_int64(st, 16, o->state == CAT_ACTIVE ? 0 : o->deactivated);
	sqlite3_bind_blob(st, 1, o->uuid, sizeof(o->uuid), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)o->fs_id);
	sqlite3_bind_text(st, 3, o->path, (int)klen, SQLITE_STATIC);
	cat_bind_key(st, 4, key, klen);
	sqlite3_bind_int(st, 5, o->type);
	sqlite3_bind_int64(st, 6, o->inserted);
	sqlite3_bind_int64(st, 7, (int64_t)o->size);
	sqlite3_bind_int64(st, 8, o->mode);
	sqlite3_bind_int64(st, 9, o->uid);
	sqlite3_bind_int64(st, 10, o->gid);
	sqlite3_bind_int64(st, 11, o->mtime_ns);
	sqlite3_bind_int64(st, 12, o->ctime_ns);
	if (o->link != NULL)
		sqlite3_bind_text(st, 13, o->link, -1, SQLITE_STATIC);
	if (o->recipe != NULL && o->recipe_len > 0)
		sqlite3_bind_blob(st, 14, o->recipe, (int)o->recipe_len,
		    SQLITE_STATIC);
	rc = sqlite3_step(st);
	if ((kind = cat_constraint(c, rc)) == 1) {
		uuid_hex(o->uuid, hex);
		r = err_set(e, COFFER_EEXIST, "object %s: already stored", hex);
	} else if (kind == 2) {
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: not found",
		    (unsigned long long)o->fs_id);
	} else if (rc != SQLITE_DONE) {
		r = cat_dberr(c, e, "filespace %llu: %s: insert",
		    (unsigned long long)o->fs_id, o->path);
	}
	cat_stmt_done(st);
	return r;
}

static int
check_obj(const struct cat_obj *o, size_t *len, struct err *e)
{
	int r;

	if ((r = path_len(o->fs_id, o->path, len, e)) != 0)
		return r;
	if (o->type < CAT_OBJ_FILE || o->type > CAT_OBJ_VMDISK)
		return err_set(e, COFFER_EINVAL, "filespace %llu: %s: object "
		    "type %d unknown", (unsigned long long)o->fs_id, o->path,
		    o->type);
	if (o->recipe == NULL && o->recipe_len > 0)
		return err_set(e, COFFER_EINVAL, "filespace %llu: %s: recipe "
		    "of %zu bytes missing", (unsigned long long)o->fs_id,
		    o->path, o->recipe_len);
	if (o->recipe_len > INT_MAX || o->size > INT64_MAX)
		return err_set(e, COFFER_ETOOBIG, "filespace %llu: %s: recipe "
		    "of %zu bytes or size %llu too big",
		    (unsigned long long)o->fs_id, o->path, o->recipe_len,
		    (unsigned long long)o->size);
	if (o->link != NULL && strlen(o->link) >= CAT_PATH_MAX)
		return err_set(e, COFFER_ETOOBIG, "filespace %llu: %s: link "
		    "target exceeds %d bytes", (unsigned long long)o->fs_id,
		    o->path, CAT_PATH_MAX - 1);
	return 0;
}

/*
 * Normally part of the caller's transaction (the pool_txn_commit callback
 * that also commits the chunk references): nothing is begun or committed
 * here then.  Called outside one, it makes its own, so that the old
 * version's deactivation and the new row are never seen apart.
 */
int
cat_obj_insert(struct cat *c, struct cat_obj *o, struct err *e)
{
	uint8_t key[CAT_PATH_MAX];
	uint64_t id = 0;
	size_t klen;
	int began, changed, r;

	if ((r = check_obj(o, &klen, e)) != 0)
		return r;
	/*
	 * A new version gets a time-ordered UUID (uuid.h), so that the
	 * uuid indexes grow at their right edge; replicated and imported
	 * versions keep theirs, random or not.
	 */
	if (util_is_zero(o->uuid, sizeof(o->uuid)) &&
	    (r = uuid_v7_new(o->uuid, e)) != 0)
		return err_wrap(e, "filespace %llu: %s",
		    (unsigned long long)o->fs_id, o->path);
	if (o->inserted == 0)
		o->inserted = (int64_t)time(NULL);
	o->state = CAT_ACTIVE;
	cat_pkey(o->path, klen, key);
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	if ((r = deactivate_key(c, o->fs_id, key, klen, o->inserted, &changed,
	    e)) != 0)
		err_wrap(e, "filespace %llu: %s", (unsigned long long)o->fs_id,
		    o->path);
	else if ((r = insert_row(c, o, key, klen, e)) == 0)
		id = (uint64_t)sqlite3_last_insert_rowid(c->db);
	if ((r = cat_tx_close(c, began, r, e)) != 0)
		return r;
	o->id = id;
	o->state = CAT_ACTIVE;
	o->deactivated = 0;
	return 0;
}

int
cat_obj_update_meta(struct cat *c, uint64_t fs_id, const char *path,
    uint32_t mode, uint32_t uid, uint32_t gid, int64_t ctime_ns,
    struct err *e)
{
	uint8_t key[CAT_PATH_MAX];
	sqlite3_stmt *st = NULL;
	size_t klen;
	int r;

	if ((r = path_len(fs_id, path, &klen, e)) != 0)
		return r;
	cat_pkey(path, klen, key);
	if ((r = cat_stmt(c, CAT_ST_OBJ_META, "UPDATE object SET mode=?3,"
	    " uid=?4, gid=?5, ctime_ns=?6"
	    " WHERE fs_id=?1 AND pkey=?2 AND state=1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, key, klen);
	sqlite3_bind_int64(st, 3, mode);
	sqlite3_bind_int64(st, 4, uid);
	sqlite3_bind_int64(st, 5, gid);
	sqlite3_bind_int64(st, 6, ctime_ns);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: %s: update attributes",
		    (unsigned long long)fs_id, path);
	else if (sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: %s: no "
		    "active version", (unsigned long long)fs_id, path);
	cat_stmt_done(st);
	return r;
}

int
cat_obj_deactivate(struct cat *c, uint64_t fs_id, const char *path,
    int64_t when, struct err *e)
{
	uint8_t key[CAT_PATH_MAX];
	size_t klen;
	int changed = 0, r;

	if ((r = path_len(fs_id, path, &klen, e)) != 0)
		return r;
	cat_pkey(path, klen, key);
	if (when == 0)
		when = (int64_t)time(NULL);
	if ((r = deactivate_key(c, fs_id, key, klen, when, &changed, e)) != 0) {
		err_wrap(e, "filespace %llu: %s", (unsigned long long)fs_id,
		    path);
		return r;
	}
	if (changed == 0)
		return err_set(e, COFFER_ENOTFOUND, "filespace %llu: %s: no "
		    "active version", (unsigned long long)fs_id, path);
	return 0;
}

/* ---- walks ---- */

/*
 * The range of a query: prefix ("" or NULL: everything; trailing '/'
 * ignored, so "/" is everything too) and after (exclusive).
 */
static int
make_range(uint64_t fs_id, const char *prefix, const char *after,
    struct range *rg, struct err *e)
{
	uint8_t a[CAT_PATH_MAX + 1];
	size_t plen = prefix != NULL ? strlen(prefix) : 0;
	size_t alen;
	int r;

	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen >= CAT_PATH_MAX)
		return err_set(e, COFFER_ETOOBIG, "filespace %llu: prefix of "
		    "%zu bytes exceeds %d", (unsigned long long)fs_id, plen,
		    CAT_PATH_MAX - 1);
	cat_pkey(prefix != NULL ? prefix : "", plen, rg->lo);
	rg->lolen = plen;
	rg->bounded = plen > 0;
	if (rg->bounded) {
		memcpy(rg->hi, rg->lo, plen);
		rg->hi[plen] = 0x01;
		rg->hilen = plen + 1;
	}
	if (after == NULL || after[0] == '\0')
		return 0;
	if ((r = path_len(fs_id, after, &alen, e)) != 0)
		return r;
	cat_pkey(after, alen, a);
	a[alen++] = 0x00;
	if (key_cmp(a, alen, rg->lo, rg->lolen) > 0) {
		memcpy(rg->lo, a, alen);
		rg->lolen = alen;
	}
	return 0;
}

static void
obj_from_row(sqlite3_stmt *st, struct cat_obj *o)
{
	const void *p;

	memset(o, 0, sizeof(*o));
	o->id = (uint64_t)sqlite3_column_int64(st, COL_ID);
	p = sqlite3_column_blob(st, COL_UUID);
	if (p != NULL && sqlite3_column_bytes(st, COL_UUID) ==
	    (int)sizeof(o->uuid))
		memcpy(o->uuid, p, sizeof(o->uuid));
	o->fs_id = (uint64_t)sqlite3_column_int64(st, COL_FS);
	o->path = (const char *)sqlite3_column_text(st, COL_PATH);
	o->type = sqlite3_column_int(st, COL_TYPE);
	o->state = sqlite3_column_int(st, COL_STATE);
	o->inserted = sqlite3_column_int64(st, COL_INSERTED);
	o->deactivated = sqlite3_column_int64(st, COL_DEACTIVATED);
	o->size = (uint64_t)sqlite3_column_int64(st, COL_SIZE);
	o->mode = (uint32_t)sqlite3_column_int64(st, COL_MODE);
	o->uid = (uint32_t)sqlite3_column_int64(st, COL_UID);
	o->gid = (uint32_t)sqlite3_column_int64(st, COL_GID);
	o->mtime_ns = sqlite3_column_int64(st, COL_MTIME);
	o->ctime_ns = sqlite3_column_int64(st, COL_CTIME);
	if (sqlite3_column_type(st, COL_LINK) != SQLITE_NULL)
		o->link = (const char *)sqlite3_column_text(st, COL_LINK);
	if (sqlite3_column_type(st, COL_RECIPE) == SQLITE_BLOB) {
		o->recipe = sqlite3_column_blob(st, COL_RECIPE);
		o->recipe_len = (size_t)sqlite3_column_bytes(st, COL_RECIPE);
	}
}

struct walk {
	enum walk_mode	 mode;
	int		 limit;		/* <= 0: no limit */
	cat_obj_cb	 cb;
	void		*arg;
	uint8_t		 prev[CAT_PATH_MAX + 1];	/* last path's key */
	size_t		 prevlen;
};

/*
 * Run a bound statement to the end of its page: rows in key order, the
 * versions of one path together.  A page holds at most limit rows but
 * never splits one path's versions (the next page starts after the last
 * path), so it can exceed limit by a path's versions less one.
 */
static int
walk(struct cat *c, sqlite3_stmt *st, struct walk *w, int *more,
    struct err *e)
{
	struct cat_obj o;
	int emitted = 0, first = 1, r = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *k = sqlite3_column_blob(st, COL_PKEY);
		size_t const klen = (size_t)sqlite3_column_bytes(st, COL_PKEY);
		int const newpath = first || klen != w->prevlen ||
		    (klen > 0 && memcmp(k, w->prev, klen) != 0);

		if (!newpath && w->mode == WALK_PIT)
			continue;
		if (newpath && w->limit > 0 && emitted >= w->limit) {
			*more = 1;
			break;
		}
		if (klen > CAT_PATH_MAX) {
			r = err_set(e, COFFER_ECORRUPT, "catalog: object %lld: "
			    "key of %zu bytes", (long long)sqlite3_column_int64(
			    st, COL_ID), klen);
			break;
		}
		if (newpath) {
			if (klen > 0)
				memcpy(w->prev, k, klen);
			w->prevlen = klen;
			first = 0;
		}
		obj_from_row(st, &o);
		if (o.path == NULL) {
			r = err_set(e, COFFER_ENOMEM, "catalog: object %llu: "
			    "path: out of memory", (unsigned long long)o.id);
			break;
		}
		if ((r = w->cb(w->arg, &o)) != 0)
			break;
		emitted++;
	}
	if (r == 0 && *more == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "objects: walk");
	cat_stmt_done(st);
	return r;
}

int
cat_obj_inventory(struct cat *c, uint64_t fs_id, const char *after,
    int limit, cat_obj_cb cb, void *arg, int *more, struct err *e)
{
	struct range rg;
	struct walk w;
	sqlite3_stmt *st = NULL;
	int dummy, r;

	if (more == NULL)
		more = &dummy;
	*more = 0;
	if ((r = make_range(fs_id, NULL, after, &rg, e)) != 0)
		return r;
	/* Same order as the active query, without loading recipes. */
	if ((r = cat_stmt(c, CAT_ST_OBJ_INV, "SELECT " OBJ_COLS ", NULL"
	    " FROM object WHERE fs_id=?1 AND state=1 AND pkey>=?2"
	    " ORDER BY pkey", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, rg.lo, rg.lolen);
	w.mode = WALK_ACTIVE;
	w.limit = limit;
	w.cb = cb;
	w.arg = arg;
	w.prevlen = 0;
	return walk(c, st, &w, more, e);
}

int
cat_obj_query(struct cat *c, uint64_t fs_id, const char *prefix,
    int64_t pit, int inactive, const char *after, int limit, cat_obj_cb cb,
    void *arg, int *more, struct err *e)
{
	struct range rg;
	struct walk w;
	sqlite3_stmt *st = NULL;
	int dummy, r, v;

	if (more == NULL)
		more = &dummy;
	*more = 0;
	if ((r = make_range(fs_id, prefix, after, &rg, e)) != 0)
		return r;
	if (pit > 0)
		w.mode = WALK_PIT;
	else
		w.mode = inactive ? WALK_ALL : WALK_ACTIVE;
	v = (int)w.mode * 2 + rg.bounded;
	if ((r = cat_stmt(c, (enum cat_st)(CAT_ST_OBJ_Q_ACTIVE + v),
	    query_sql[v], &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	cat_bind_key(st, 2, rg.lo, rg.lolen);
	if (rg.bounded)
		cat_bind_key(st, 3, rg.hi, rg.hilen);
	if (w.mode == WALK_PIT)
		sqlite3_bind_int64(st, 4, pit);
	w.limit = limit;
	w.cb = cb;
	w.arg = arg;
	w.prevlen = 0;
	return walk(c, st, &w, more, e);
}

int
cat_obj_get(struct cat *c, uint64_t id, cat_obj_cb cb, void *arg,
    struct err *e)
{
	struct cat_obj o;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_OBJ_GET, "SELECT " OBJ_COLS ", recipe"
	    " FROM object WHERE id=?1", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		obj_from_row(st, &o);
		if (o.path == NULL)
			r = err_set(e, COFFER_ENOMEM, "catalog: object %llu: "
			    "path: out of memory", (unsigned long long)id);
		else
			r = cb(arg, &o);
	} else if (rc != SQLITE_DONE) {
		r = cat_dberr(c, e, "object %llu: get", (unsigned long long)id);
	}
	cat_stmt_done(st);
	return r;
}

/* ---- by object UUID: replication and import ---- */

int
cat_obj_insert_copy(struct cat *c, struct cat_obj *o, struct err *e)
{
	uint8_t key[CAT_PATH_MAX];
	size_t klen;
	int began, changed = 0, r;

	if ((r = check_obj(o, &klen, e)) != 0)
		return r;
	if (util_is_zero(o->uuid, sizeof(o->uuid)))
		return err_set(e, COFFER_EINVAL, "filespace %llu: %s: a copy "
		    "needs the original's object id",
		    (unsigned long long)o->fs_id, o->path);
	cat_pkey(o->path, klen, key);
	if ((r = cat_tx_open(c, &began, e)) != 0)
		return r;
	/* An active copy replaces what is active here, as at the source. */
	if (o->state == CAT_ACTIVE)
		r = deactivate_key(c, o->fs_id, key, klen, o->inserted,
		    &changed, e);
	if (r == 0)
		r = insert_row(c, o, key, klen, e);
	if (r == 0)
		o->id = (uint64_t)sqlite3_last_insert_rowid(c->db);
	return cat_tx_close(c, began, r, e);
}

int
cat_obj_uuid_walk(struct cat *c, uint64_t fs_id, const uint8_t *after,
    int limit, int active_only, cat_obj_cb cb, void *arg, int *more,
    struct err *e)
{
	static const uint8_t none[1];
	sqlite3_stmt *st = NULL;
	struct cat_obj o;
	int n = 0, r, rc;

	*more = 0;
	if ((r = cat_stmt(c, active_only ? CAT_ST_OBJ_UUID_ACT :
	    CAT_ST_OBJ_UUID_ALL, active_only ? "SELECT " OBJ_COLS ", recipe"
	    " FROM object WHERE fs_id=?1 AND uuid>?2 AND state=1 ORDER BY uuid"
	    : "SELECT " OBJ_COLS ", recipe FROM object WHERE fs_id=?1 AND"
	    " uuid>?2 ORDER BY uuid", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	/* Any blob sorts after the empty one: NULL after starts at the top. */
	sqlite3_bind_blob(st, 2, after ? after : none, after ? 16 : 0,
	    SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (limit > 0 && n >= limit) {
			*more = 1;
			break;
		}
		obj_from_row(st, &o);
		n++;
		if ((r = cb(arg, &o)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: objects by id",
		    (unsigned long long)fs_id);
	cat_stmt_done(st);
	return r;
}

/* The digest's walk. */
#define OBJ_DIG_ALL_SQL	"SELECT uuid, state, deactivated FROM object" \
	" WHERE fs_id=?1 ORDER BY uuid"
#define OBJ_DIG_ACT_SQL	"SELECT uuid, state, deactivated FROM object" \
	" WHERE fs_id=?1 AND state=1 ORDER BY uuid"

int
cat_obj_digest(struct cat *c, uint64_t fs_id, int active_only,
    uint8_t digest[32], uint64_t *count, struct err *e)
{
	sqlite3_stmt *st = NULL;
	EVP_MD_CTX *md;
	unsigned int dlen = 0;
	uint64_t n = 0;
	int r, rc;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(e, COFFER_EINTERNAL, "sha256 unavailable");
	}
	if ((r = cat_stmt(c, active_only ? CAT_ST_OBJ_DIG_ACT :
	    CAT_ST_OBJ_DIG_ALL, active_only ? OBJ_DIG_ACT_SQL : OBJ_DIG_ALL_SQL,
	    &st, e)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t rec[16 + 1 + 8];
		const void *u = sqlite3_column_blob(st, 0);

		memset(rec, 0, sizeof(rec));
		if (u != NULL && sqlite3_column_bytes(st, 0) == 16)
			memcpy(rec, u, 16);
		rec[16] = (uint8_t)sqlite3_column_int(st, 1);
		util_put_le64(rec + 17,
		    (uint64_t)sqlite3_column_int64(st, 2));
		EVP_DigestUpdate(md, rec, sizeof(rec));
		n++;
	}
	if (rc != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: digest",
		    (unsigned long long)fs_id);
	cat_stmt_done(st);
	if (r == 0 && EVP_DigestFinal_ex(md, digest, &dlen) != 1)
		r = err_set(e, COFFER_EINTERNAL, "sha256 failed");
	*count = n;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
cat_obj_get_uuid(struct cat *c, uint64_t fs_id, const uint8_t uuid[16],
    cat_obj_cb cb, void *arg, struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct cat_obj o;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_OBJ_UUID_GET, "SELECT " OBJ_COLS
	    ", recipe FROM object WHERE fs_id=?1 AND uuid=?2", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	sqlite3_bind_blob(st, 2, uuid, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		obj_from_row(st, &o);
		r = cb(arg, &o);
	} else if (rc == SQLITE_DONE) {
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: no such "
		    "object", (unsigned long long)fs_id);
	} else {
		r = cat_dberr(c, e, "filespace %llu: object by id",
		    (unsigned long long)fs_id);
	}
	cat_stmt_done(st);
	return r;
}

int
cat_obj_delete_uuid(struct cat *c, uint64_t fs_id, const uint8_t uuid[16],
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int64_t size;
	int r, rc;

	if ((r = cat_stmt(c, CAT_ST_OBJ_UUID_DEL, "DELETE FROM object WHERE"
	    " fs_id=?1 AND uuid=?2 RETURNING size", &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	sqlite3_bind_blob(st, 2, uuid, 16, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		cat_stmt_done(st);
		return err_set(e, COFFER_ENOTFOUND, "filespace %llu: no such "
		    "object", (unsigned long long)fs_id);
	}
	size = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW || sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "delete object");
	cat_stmt_done(st);
	/* The filespace's counters (cat.c): deletes count themselves. */
	return r != 0 ? r : cat_fs_count_add(c, fs_id, -1, -size, e);
}

int
cat_obj_set_state(struct cat *c, uint64_t fs_id, const uint8_t uuid[16],
    int state, int64_t deactivated, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = cat_stmt(c, CAT_ST_OBJ_UUID_STATE, "UPDATE object SET"
	    " state=?3, deactivated=?4 WHERE fs_id=?1 AND uuid=?2", &st,
	    e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	sqlite3_bind_blob(st, 2, uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, state == CAT_ACTIVE);
	sqlite3_bind_int64(st, 4, state == CAT_ACTIVE ? 0 : deactivated);
	if ((r = cat_step_done(c, st, "object state", e)) == 0 &&
	    sqlite3_changes(c->db) == 0)
		r = err_set(e, COFFER_ENOTFOUND, "filespace %llu: no such "
		    "object", (unsigned long long)fs_id);
	return r;
}

/* ---- staged objects (cat.h) ---- */

int
cat_stage_put(struct cat *c, uint64_t tag, const struct cat_obj *o,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	size_t klen;
	int r;

	if ((r = check_obj(o, &klen, e)) != 0)
		return r;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO object_stage(tag, fs_id,"
	    " path, type, size, mode, uid, gid, mtime_ns, ctime_ns, link,"
	    " recipe) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12)", -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "stage %s: prepare", o->path);
	sqlite3_bind_int64(st, 1, (int64_t)tag);
	sqlite3_bind_int64(st, 2, (int64_t)o->fs_id);
	sqlite3_bind_text(st, 3, o->path, (int)klen, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, o->type);
	sqlite3_bind_int64(st, 5, (int64_t)o->size);
	sqlite3_bind_int64(st, 6, o->mode);
	sqlite3_bind_int64(st, 7, o->uid);
	sqlite3_bind_int64(st, 8, o->gid);
	sqlite3_bind_int64(st, 9, o->mtime_ns);
	sqlite3_bind_int64(st, 10, o->ctime_ns);
	if (o->link != NULL)
		sqlite3_bind_text(st, 11, o->link, -1, SQLITE_STATIC);
	if (o->recipe != NULL && o->recipe_len > 0)
		sqlite3_bind_blob(st, 12, o->recipe, (int)o->recipe_len,
		    SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = cat_dberr(c, e, "stage %s", o->path);
	sqlite3_finalize(st);
	return r;
}

/* Staged row columns into o; its pointers live until the next step. */
static void
stage_row(sqlite3_stmt *st, struct cat_obj *o)
{
	memset(o, 0, sizeof(*o));
	o->fs_id = (uint64_t)sqlite3_column_int64(st, 0);
	o->path = (const char *)sqlite3_column_text(st, 1);
	o->type = sqlite3_column_int(st, 2);
	o->size = (uint64_t)sqlite3_column_int64(st, 3);
	o->mode = (uint32_t)sqlite3_column_int64(st, 4);
	o->uid = (uint32_t)sqlite3_column_int64(st, 5);
	o->gid = (uint32_t)sqlite3_column_int64(st, 6);
	o->mtime_ns = sqlite3_column_int64(st, 7);
	o->ctime_ns = sqlite3_column_int64(st, 8);
	o->link = (const char *)sqlite3_column_text(st, 9);
	o->recipe = sqlite3_column_blob(st, 10);
	o->recipe_len = (size_t)sqlite3_column_bytes(st, 10);
}

#define STAGE_COLS "fs_id, path, type, size, mode, uid, gid, mtime_ns," \
	" ctime_ns, link, recipe"

static int
stage_delete(struct cat *c, uint64_t tag, struct err *e)
{
	char *msg = NULL;
	char sql[96];
	int r = 0;

	if (tag != 0)
		snprintf(sql, sizeof(sql), "DELETE FROM object_stage WHERE "
		    "tag=%" PRIu64, tag);
	else
		snprintf(sql, sizeof(sql), "DELETE FROM object_stage");
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		r = err_set(e, COFFER_EIO, "catalog: staged objects: delete: "
		    "%s", msg ? msg : "?");
	sqlite3_free(msg);
	return r;
}

int
cat_stage_publish(struct cat *c, uint64_t tag, int64_t now, uint32_t *n,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct cat_obj o;
	int r = 0, rc;

	*n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT " STAGE_COLS " FROM object_stage"
	    " WHERE tag=?1 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "staged objects: prepare");
	sqlite3_bind_int64(st, 1, (int64_t)tag);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		stage_row(st, &o);
		if (o.path == NULL) {
			r = err_set(e, COFFER_ENOMEM, "catalog: staged object: "
			    "out of memory");
			break;
		}
		o.inserted = now;
		if ((r = cat_obj_insert(c, &o, e)) == 0)
			(*n)++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "staged objects");
	sqlite3_finalize(st);
	return r != 0 ? r : stage_delete(c, tag, e);
}

int
cat_stage_drop(struct cat *c, uint64_t tag, cat_obj_cb release, void *arg,
    uint32_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct cat_obj o;
	int r = 0, rc;

	*n = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT " STAGE_COLS " FROM object_stage"
	    " WHERE ?1=0 OR tag=?1", -1, &st, NULL) != SQLITE_OK)
		return cat_dberr(c, e, "staged objects: prepare");
	sqlite3_bind_int64(st, 1, (int64_t)tag);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		stage_row(st, &o);
		if ((r = release(arg, &o)) == 0)
			(*n)++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "staged objects");
	sqlite3_finalize(st);
	return r != 0 ? r : stage_delete(c, tag, e);
}

/* The marks' walk: each version's size, in uuid order. */
#define OBJ_SIZE_ALL_SQL "SELECT uuid, size FROM object WHERE fs_id=?1" \
	" ORDER BY uuid"
#define OBJ_SIZE_ACT_SQL "SELECT uuid, size FROM object WHERE fs_id=?1" \
	" AND state=1 ORDER BY uuid"

/*
 * One walk of the sizes: with marks NULL, *total gets the sum of the
 * weights; else a mark is the first row at which the running sum reaches
 * the next of parts equal shares of total, and at[k] the sum there.
 */
static int
marks_walk(struct cat *c, uint64_t fs_id, int active_only, uint64_t per_row,
    uint64_t *total, uint64_t parts, uint8_t (*marks)[16], uint64_t *at,
    size_t max, size_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t sum = 0, next = 1;
	int r, rc = SQLITE_DONE;

	if ((r = cat_stmt(c, active_only ? CAT_ST_OBJ_SIZE_ACT :
	    CAT_ST_OBJ_SIZE_ALL, active_only ? OBJ_SIZE_ACT_SQL :
	    OBJ_SIZE_ALL_SQL, &st, e)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)fs_id);
	while ((marks == NULL || *n < max) &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *u = sqlite3_column_blob(st, 0);
		int64_t const size = sqlite3_column_int64(st, 1);

		sum += (size > 0 ? (uint64_t)size : 0) + per_row;
		if (marks == NULL || sum < next * (*total / parts))
			continue;
		memset(marks[*n], 0, 16);
		if (u != NULL && sqlite3_column_bytes(st, 0) == 16)
			memcpy(marks[*n], u, 16);
		at[*n] = sum;
		(*n)++;
		/* A large version may cover several shares: one mark. */
		while (next < parts && sum >= next * (*total / parts))
			next++;
		if (next >= parts)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = cat_dberr(c, e, "filespace %llu: uuid marks",
		    (unsigned long long)fs_id);
	cat_stmt_done(st);
	if (marks == NULL)
		*total = sum;
	return r;
}

int
cat_obj_uuid_marks(struct cat *c, uint64_t fs_id, int active_only,
    uint64_t per_row, uint64_t parts, uint8_t (*marks)[16],
    uint64_t *weights, size_t max, size_t *n, struct err *e)
{
	uint64_t total = 0, prev = 0;
	uint64_t *at = NULL;
	int r;

	*n = 0;
	if ((r = marks_walk(c, fs_id, active_only, per_row, &total, 1, NULL,
	    NULL, 0, n, e)) != 0)
		return r;
	if (parts >= 2 && max > 0 && total >= parts) {
		if ((at = calloc(max, sizeof(*at))) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		r = marks_walk(c, fs_id, active_only, per_row, &total, parts,
		    marks, at, max, n, e);
	}
	/* Each range's weight; the last one's is what the marks left. */
	for (size_t k = 0; r == 0 && weights != NULL && k <= *n; k++) {
		uint64_t const end = k < *n ? at[k] : total > prev ? total :
		    prev;

		weights[k] = end - prev;
		prev = end;
	}
	free(at);
	return r;
}
