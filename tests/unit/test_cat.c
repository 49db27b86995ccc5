/*
 * test_cat.c - the catalog, checked the way the server uses it: schema
 * made once and found again, domains and accounts with TSM's rules
 * (upper-case names, failed-logon lockout, no removing a node that still
 * has data), object versions that go inactive when replaced, walks in the
 * client's depth-first order with pages that resume where they stopped,
 * point-in-time and prefix queries, and expiration against a real pool
 * in the same database file, whose chunk references must drop with the
 * versions that policy lets go.  Every statement the catalog prepares is
 * run through EXPLAIN QUERY PLAN: no table scan of object, no sort.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "cat_int.h"
#include "codec.h"
#include "err.h"
#include "hash.h"
#include "policy.h"
#include "pool.h"
#include "pool_recipe.h"
#include "util.h"

#define DAY	86400
#define T0	((int64_t)1700000000)
#define ROWS_MAX 64

struct fixture {
	char		 dir[64];
	char		 db[128];
	struct cat	*c;
	struct pool	*pool;
};

static int
setup(void **state)
{
	struct fixture *fx;
	struct err e;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_cat.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/catalog.db", fx->dir);
	if (cat_open(fx->db, &fx->c, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	pool_close(fx->pool);
	cat_close(fx->c);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

#define OK(call) do {							\
	struct err e_;							\
	int r_;								\
	err_clear(&e_);							\
	if ((r_ = (call)) != 0)						\
		fail_msg("%s: %s (%d)", #call, e_.msg, r_);		\
} while (0)

/* Rows a walk returned, copied out of the callback. */
struct rows {
	int		n;
	int		stop_after;	/* > 0: callback stops the walk */
	char		path[ROWS_MAX][64];
	uint64_t	id[ROWS_MAX];
	uint8_t		uuid[ROWS_MAX][16];
	int		state[ROWS_MAX];
	int64_t		inserted[ROWS_MAX];
	int64_t		deactivated[ROWS_MAX];
	uint64_t	size[ROWS_MAX];
	uint32_t	mode[ROWS_MAX];
	uint32_t	uid[ROWS_MAX];
	size_t		recipe_len[ROWS_MAX];
};

static int
collect(void *arg, const struct cat_obj *o)
{
	struct rows *rs = arg;
	int const i = rs->n;

	assert_true(i < ROWS_MAX);
	snprintf(rs->path[i], sizeof(rs->path[i]), "%s", o->path);
	rs->id[i] = o->id;
	memcpy(rs->uuid[i], o->uuid, 16);
	rs->state[i] = o->state;
	rs->inserted[i] = o->inserted;
	rs->deactivated[i] = o->deactivated;
	rs->size[i] = o->size;
	rs->mode[i] = o->mode;
	rs->uid[i] = o->uid;
	rs->recipe_len[i] = o->recipe != NULL ? o->recipe_len : 0;
	rs->n++;
	return rs->stop_after > 0 && rs->n >= rs->stop_after ? 7 : 0;
}

struct uuid_rows {
	uint8_t	uuid[8][16];
	int	state[8];
	int64_t	deact[8];
	int	n;
};

static int
collect_uuid(void *arg, const struct cat_obj *o)
{
	struct uuid_rows *u = arg;

	assert_true(u->n < 8);
	memcpy(u->uuid[u->n], o->uuid, 16);
	u->state[u->n] = o->state;
	u->deact[u->n] = o->deactivated;
	u->n++;
	return 0;
}


static uint64_t
make_fs(struct fixture *fx, const char *node, const char *name)
{
	uint64_t id = 0;

	OK(cat_fs_open(fx->c, node, name, "ext4", &id, &e_));
	assert_true(id > 0);
	return id;
}

static void
init_obj(struct cat_obj *o, uint64_t fs, const char *path, int type,
    int64_t when, uint64_t size)
{
	memset(o, 0, sizeof(*o));
	o->fs_id = fs;
	o->path = path;
	o->type = type;
	o->inserted = when;
	o->size = size;
	o->mode = type == CAT_OBJ_DIR ? 040755 : 0100644;
	o->uid = 1000;
	o->gid = 1000;
	o->mtime_ns = when * 1000000000;
}

/* Store a version (autocommit: cat_obj_insert makes its own txn). */
static uint64_t
put(struct fixture *fx, uint64_t fs, const char *path, int type,
    int64_t when, uint64_t size)
{
	struct cat_obj o;

	init_obj(&o, fs, path, type, when, size);
	OK(cat_obj_insert(fx->c, &o, &e_));
	assert_true(o.id > 0);
	assert_int_equal(o.state, CAT_ACTIVE);
	return o.id;
}

static struct rows *
query(struct fixture *fx, uint64_t fs, const char *prefix, int64_t pit,
    int inactive)
{
	static struct rows rs;
	int more = -1;

	memset(&rs, 0, sizeof(rs));
	OK(cat_obj_query(fx->c, fs, prefix, pit, inactive, NULL, 0, collect,
	    &rs, &more, &e_));
	assert_int_equal(more, 0);
	return &rs;
}

static void
assert_paths(const struct rows *rs, const char *const *want, int n)
{
	for (int i = 0; i < rs->n && i < n; i++)
		if (strcmp(rs->path[i], want[i]) != 0)
			fail_msg("row %d: %s, want %s", i, rs->path[i],
			    want[i]);
	assert_int_equal(rs->n, n);
}

static int64_t
db_int(struct fixture *fx, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(cat_db(fx->c), sql, -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *
db_text(struct fixture *fx, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(cat_db(fx->c), sql, -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* ---- schema, settings, names ---- */

static void
cat_open_creates_schema_and_reopens(void **state)
{
	struct fixture *fx = *state;
	char buf[16];
	static const char *const tables[] = { "setting", "domain",
	    "account", "filespace", "object", "actlog" };
	char sql[128];

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master"
		    " WHERE type='table' AND name='%s'", tables[i]);
		assert_int_equal(db_int(fx, sql), 1);
	}
	assert_string_equal(db_text(fx, "PRAGMA journal_mode", buf,
	    sizeof(buf)), "wal");
	assert_int_equal(db_int(fx, "PRAGMA foreign_keys"), 1);
	make_fs(fx, "NODE1", "/home");
	cat_close(fx->c);
	fx->c = NULL;
	OK(cat_open(fx->db, &fx->c, &e_));
	OK(cat_schema(fx->c, &e_));	/* idempotent */
	OK(cat_setting_get(fx->c, "catalog_format", buf, sizeof(buf), &e_));
	assert_string_equal(buf, "1");
	assert_int_equal(db_int(fx, "SELECT count(*) FROM filespace"), 1);
}

static void
cat_setting_set_get_and_int_default(void **state)
{
	struct fixture *fx = *state;
	char buf[32], tiny[2];
	struct err e;

	assert_int_equal(cat_setting_get(fx->c, "name", buf, sizeof(buf), &e),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_setting_int(fx->c, "invalidpwlimit", 5), 5);
	OK(cat_setting_set(fx->c, "invalidpwlimit", "3", &e_));
	OK(cat_setting_set(fx->c, "name", "COFFER1", &e_));
	OK(cat_setting_set(fx->c, "name", "COFFER2", &e_));
	OK(cat_setting_get(fx->c, "name", buf, sizeof(buf), &e_));
	assert_string_equal(buf, "COFFER2");
	assert_int_equal(cat_setting_int(fx->c, "invalidpwlimit", 5), 3);
	assert_int_equal(cat_setting_int(fx->c, "name", 9), 9);
	assert_int_equal(cat_setting_get(fx->c, "name", tiny, sizeof(tiny),
	    &e), COFFER_ETOOBIG);
}

static void
cat_name_normalize_upper_cases_and_rejects_bad_names(void **state)
{
	char out[CAT_NAME_MAX + 1], longest[CAT_NAME_MAX + 2];
	struct err e;

	OK(cat_name_normalize("node-1.a_b", out, &e_));
	assert_string_equal(out, "NODE-1.A_B");
	memset(longest, 'x', CAT_NAME_MAX);
	longest[CAT_NAME_MAX] = '\0';
	OK(cat_name_normalize(longest, out, &e_));
	assert_int_equal(strlen(out), CAT_NAME_MAX);
	longest[CAT_NAME_MAX] = 'x';
	longest[CAT_NAME_MAX + 1] = '\0';
	assert_int_equal(cat_name_normalize(longest, out, &e), COFFER_EINVAL);
	assert_int_equal(cat_name_normalize("", out, &e), COFFER_EINVAL);
	assert_int_equal(cat_name_normalize(NULL, out, &e), COFFER_EINVAL);
	assert_int_equal(cat_name_normalize("a b", out, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "\"a b\""));
	assert_int_equal(cat_name_normalize("x/y", out, &e), COFFER_EINVAL);
	assert_int_equal(cat_name_normalize("caf\xc3\xa9", out, &e),
	    COFFER_EINVAL);
}

static void
cat_pkey_maps_slash_to_zero(void **state)
{
	uint8_t k[8];

	cat_pkey("/a/b c", 6, k);
	assert_memory_equal(k, "\0a\0b c", 6);
}

/* ---- domains ---- */

static struct cat_domain
domain(const char *name, int ve, int vd, int re, int ro)
{
	struct cat_domain d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.verexists = ve;
	d.verdeleted = vd;
	d.retextra = re;
	d.retonly = ro;
	snprintf(d.description, sizeof(d.description), "%s policy", name);
	return d;
}

static int
count_domain(void *arg, const struct cat_domain *d)
{
	(*(int *)arg)++;
	return 0;
}

static void
cat_domain_define_get_update_and_duplicate(void **state)
{
	struct fixture *fx = *state;
	struct cat_domain d = domain("gold", 4, 2, CAT_NOLIMIT, 90), got;
	struct err e;
	int n = 0;

	OK(cat_domain_define(fx->c, &d, &e_));
	OK(cat_domain_get(fx->c, "Gold", &got, &e_));
	assert_string_equal(got.name, "GOLD");
	assert_int_equal(got.verexists, 4);
	assert_int_equal(got.verdeleted, 2);
	assert_int_equal(got.retextra, CAT_NOLIMIT);
	assert_int_equal(got.retonly, 90);
	assert_string_equal(got.description, "gold policy");

	assert_int_equal(cat_domain_define(fx->c, &d, &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "GOLD"));

	d.verexists = 3;
	d.retextra = 60;
	OK(cat_domain_update(fx->c, &d, &e_));
	OK(cat_domain_get(fx->c, "GOLD", &got, &e_));
	assert_int_equal(got.verexists, 3);
	assert_int_equal(got.retextra, 60);

	d = domain("silver", 2, 1, 30, 60);
	assert_int_equal(cat_domain_update(fx->c, &d, &e), COFFER_ENOTFOUND);
	assert_int_equal(cat_domain_get(fx->c, "SILVER", &got, &e),
	    COFFER_ENOTFOUND);
	d.verexists = 0;	/* VEREXISTS counts the active version */
	assert_int_equal(cat_domain_define(fx->c, &d, &e), COFFER_EINVAL);
	d.verexists = 2;
	d.retonly = -5;
	assert_int_equal(cat_domain_define(fx->c, &d, &e), COFFER_EINVAL);
	d.retonly = 60;
	OK(cat_domain_define(fx->c, &d, &e_));
	OK(cat_domain_list(fx->c, count_domain, &n, &e_));
	assert_int_equal(n, 2);
}

/* ---- accounts ---- */

static struct cat_account
account(int kind, const char *name, const char *dom)
{
	struct cat_account a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.pwhash, sizeof(a.pwhash), "$scrypt$x$y");
	snprintf(a.domain, sizeof(a.domain), "%s", dom);
	return a;
}

struct names {
	int	n;
	char	name[8][CAT_NAME_MAX + 1];
};

static int
collect_name(void *arg, const struct cat_account *a)
{
	struct names *ns = arg;

	assert_true(ns->n < 8);
	snprintf(ns->name[ns->n++], CAT_NAME_MAX + 1, "%s", a->name);
	return 0;
}

static void
cat_account_add_get_list_and_duplicate(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a = account(CAT_KIND_NODE, "web1", "standard");
	struct cat_account got;
	struct names ns = { 0 };
	struct err e;

	a.rpo_s = 86400;
	a.repl_state = 1;
	a.repl_mode = 2;
	snprintf(a.contact, sizeof(a.contact), "ops@example.com");
	OK(cat_account_add(fx->c, &a, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "WEB1", &got, &e_));
	assert_string_equal(got.name, "WEB1");
	assert_string_equal(got.domain, "STANDARD");
	assert_string_equal(got.pwhash, "$scrypt$x$y");
	assert_string_equal(got.contact, "ops@example.com");
	assert_int_equal(got.rpo_s, 86400);
	assert_int_equal(got.repl_mode, 2);
	assert_true(got.registered > 0);

	assert_int_equal(cat_account_add(fx->c, &a, &e), COFFER_EEXIST);
	assert_int_equal(cat_account_get(fx->c, CAT_KIND_ADMIN, "web1", &got,
	    &e), COFFER_ENOTFOUND);
	a = account(CAT_KIND_ADMIN, "web1", "");	/* kinds are apart */
	OK(cat_account_add(fx->c, &a, &e_));
	a = account(CAT_KIND_NODE, "web2", "STANDARD");
	OK(cat_account_add(fx->c, &a, &e_));
	a = account(CAT_KIND_NODE, "db1", "STANDARD");
	OK(cat_account_add(fx->c, &a, &e_));

	OK(cat_account_list(fx->c, CAT_KIND_NODE, "web*", collect_name, &ns,
	    &e_));
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.name[0], "WEB1");
	assert_string_equal(ns.name[1], "WEB2");
	{
		struct cat_account *arr = NULL;
		size_t na = 0;

		OK(cat_account_array(fx->c, CAT_KIND_NODE, "web*", &arr, &na,
		    &e_));
		assert_int_equal(na, 2);
		assert_string_equal(arr[0].name, "WEB1");
		assert_string_equal(arr[1].name, "WEB2");
		free(arr);
	}
	ns.n = 0;
	OK(cat_account_list(fx->c, CAT_KIND_NODE, NULL, collect_name, &ns,
	    &e_));
	assert_int_equal(ns.n, 3);
	assert_int_equal(cat_account_list(fx->c, CAT_KIND_NODE, "w[e]*",
	    collect_name, &ns, &e), COFFER_EINVAL);

	OK(cat_account_get(fx->c, CAT_KIND_NODE, "db1", &got, &e_));
	got.last_backup = T0;
	snprintf(got.domain, sizeof(got.domain), "gold");
	OK(cat_account_update(fx->c, &got, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "db1", &got, &e_));
	assert_int_equal(got.last_backup, T0);
	assert_string_equal(got.domain, "GOLD");
}

static void
cat_account_logon_counts_failures_and_locks_at_limit(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a = account(CAT_KIND_ADMIN, "admin", "");
	struct cat_account got;
	struct err e;
	int locked = -1;

	OK(cat_account_add(fx->c, &a, &e_));
	OK(cat_account_logon(fx->c, CAT_KIND_ADMIN, "admin", 0, 3, &locked,
	    &e_));
	OK(cat_account_logon(fx->c, CAT_KIND_ADMIN, "admin", 0, 3, &locked,
	    &e_));
	assert_int_equal(locked, 0);
	OK(cat_account_get(fx->c, CAT_KIND_ADMIN, "admin", &got, &e_));
	assert_int_equal(got.failed, 2);
	assert_int_equal(got.last_logon, 0);

	/* Success resets the count. */
	OK(cat_account_logon(fx->c, CAT_KIND_ADMIN, "admin", 1, 3, &locked,
	    &e_));
	assert_int_equal(locked, 0);
	OK(cat_account_get(fx->c, CAT_KIND_ADMIN, "admin", &got, &e_));
	assert_int_equal(got.failed, 0);
	assert_true(got.last_logon > 0);

	/* Three in a row lock it, at the third. */
	for (int i = 0; i < 3; i++) {
		OK(cat_account_logon(fx->c, CAT_KIND_ADMIN, "admin", 0, 3,
		    &locked, &e_));
		assert_int_equal(locked, i == 2);
	}
	OK(cat_account_get(fx->c, CAT_KIND_ADMIN, "admin", &got, &e_));
	assert_int_equal(got.locked, 1);
	assert_int_equal(got.failed, 3);
	/* A right password does not open a locked account. */
	locked = 0;
	assert_int_equal(cat_account_logon(fx->c, CAT_KIND_ADMIN, "admin", 1,
	    3, &locked, &e), COFFER_ELOCKED);
	assert_int_equal(locked, 1);
	OK(cat_account_get(fx->c, CAT_KIND_ADMIN, "admin", &got, &e_));
	assert_int_equal(got.failed, 3);

	/* limit <= 0: never locks. */
	a = account(CAT_KIND_NODE, "n1", "");
	OK(cat_account_add(fx->c, &a, &e_));
	for (int i = 0; i < 10; i++)
		OK(cat_account_logon(fx->c, CAT_KIND_NODE, "n1", 0, 0, &locked,
		    &e_));
	assert_int_equal(locked, 0);
	assert_int_equal(cat_account_logon(fx->c, CAT_KIND_NODE, "nobody", 0,
	    3, &locked, &e), COFFER_ENOTFOUND);
}

static void
cat_account_remove_node_with_filespaces_is_busy(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a = account(CAT_KIND_NODE, "web1", "STANDARD");
	struct cat_account got;
	struct err e;

	OK(cat_account_add(fx->c, &a, &e_));
	make_fs(fx, "web1", "/");
	make_fs(fx, "web1", "/home");
	err_clear(&e);
	assert_int_equal(cat_account_remove(fx->c, CAT_KIND_NODE, "web1", &e),
	    COFFER_EBUSY);
	assert_string_equal(e.msg, "node WEB1 still has 2 filespaces");
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "WEB1", &got, &e_));

	a = account(CAT_KIND_NODE, "web2", "STANDARD");
	OK(cat_account_add(fx->c, &a, &e_));
	OK(cat_account_remove(fx->c, CAT_KIND_NODE, "Web2", &e_));
	assert_int_equal(cat_account_get(fx->c, CAT_KIND_NODE, "WEB2", &got,
	    &e), COFFER_ENOTFOUND);
	assert_int_equal(cat_account_remove(fx->c, CAT_KIND_NODE, "web2", &e),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_account_remove(fx->c, 7, "web2", &e),
	    COFFER_EINVAL);
}

/* ---- filespaces ---- */

static int
count_fs(void *arg, const struct cat_fs *fs)
{
	(*(int *)arg)++;
	return 0;
}

static void
cat_fs_open_is_idempotent(void **state)
{
	struct fixture *fx = *state;
	struct cat_fs fs;
	uint64_t a, b, c;
	struct err e;
	int n = 0;

	a = make_fs(fx, "node1", "/home");
	b = make_fs(fx, "NODE1", "/home");
	c = make_fs(fx, "node1", "/var");
	assert_int_equal(a, b);
	assert_true(c != a);
	assert_int_equal(make_fs(fx, "node2", "/home") != a, 1);

	{
		struct cat_fs *arr = NULL;
		size_t na = 0;

		/* The array form holds what the walk gives: node1's two. */
		OK(cat_fs_array(fx->c, "node1", &arr, &na, &e_));
		assert_int_equal(na, 2);
		assert_true((arr[0].id == a && arr[1].id == c) ||
		    (arr[0].id == c && arr[1].id == a));
		free(arr);
	}
	OK(cat_fs_get(fx->c, "node1", "/home", &fs, &e_));
	assert_int_equal(fs.id, a);
	assert_string_equal(fs.node, "NODE1");
	assert_string_equal(fs.type, "ext4");
	assert_true(fs.created > 0);
	assert_int_equal(fs.objects, 0);
	assert_int_equal(cat_fs_get(fx->c, "node1", "/nope", &fs, &e),
	    COFFER_ENOTFOUND);

	OK(cat_fs_set_backup(fx->c, a, T0, 0, &e_));
	OK(cat_fs_get_id(fx->c, a, &fs, &e_));
	assert_int_equal(fs.last_backup_start, T0);
	assert_int_equal(fs.last_backup_end, 0);
	OK(cat_fs_set_backup(fx->c, a, 0, T0 + 60, &e_));
	OK(cat_fs_get_id(fx->c, a, &fs, &e_));
	assert_int_equal(fs.last_backup_start, T0);
	assert_int_equal(fs.last_backup_end, T0 + 60);
	assert_int_equal(cat_fs_set_backup(fx->c, 999, T0, T0, &e),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_fs_get_id(fx->c, 999, &fs, &e), COFFER_ENOTFOUND);

	OK(cat_fs_list(fx->c, "node1", count_fs, &n, &e_));
	assert_int_equal(n, 2);
	n = 0;
	OK(cat_fs_list(fx->c, NULL, count_fs, &n, &e_));
	assert_int_equal(n, 3);
}

/* DR flag and priority of a VM filespace (UPDATE FILESPACE). */
struct dr_seen {
	int		n;
	int		drprotect;
	uint32_t	drpriority;
};

static int
dr_collect(void *arg, const struct cat_fs *fs)
{
	struct dr_seen *d = arg;

	if (strcmp(fs->name, "VM:mgmt01") == 0) {
		d->n++;
		d->drprotect = fs->drprotect;
		d->drpriority = fs->drpriority;
	}
	return 0;
}

static void
cat_fs_set_dr_round_trips_through_every_getter(void **state)
{
	struct fixture *fx = *state;
	uint64_t const id = make_fs(fx, "node1", "VM:mgmt01");
	struct dr_seen d = { 0 };
	struct cat_fs fs;
	struct err e;

	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	assert_int_equal(fs.drprotect, 0);
	assert_int_equal(fs.drpriority, 0);
	OK(cat_fs_set_dr(fx->c, id, 1, 1, &e_));
	OK(cat_fs_get(fx->c, "node1", "VM:mgmt01", &fs, &e_));
	assert_int_equal(fs.drprotect, 1);
	assert_int_equal(fs.drpriority, 1);
	OK(cat_fs_set_dr(fx->c, id, 1, CAT_DRPRIORITY_MAX, &e_));
	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	assert_int_equal(fs.drpriority, CAT_DRPRIORITY_MAX);
	OK(cat_fs_list(fx->c, "node1", dr_collect, &d, &e_));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.drprotect, 1);
	assert_int_equal(d.drpriority, CAT_DRPRIORITY_MAX);
	d.n = 0;
	OK(cat_fs_list(fx->c, NULL, dr_collect, &d, &e_));
	assert_int_equal(d.n, 1);

	/* Out of range and unknown ids change nothing. */
	assert_int_equal(cat_fs_set_dr(fx->c, id, 0, CAT_DRPRIORITY_MAX + 1,
	    &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "0..9999"));
	assert_int_equal(cat_fs_set_dr(fx->c, 999, 1, 1, &e),
	    COFFER_ENOTFOUND);
	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	assert_int_equal(fs.drprotect, 1);
	assert_int_equal(fs.drpriority, CAT_DRPRIORITY_MAX);
	OK(cat_fs_set_dr(fx->c, id, 0, 0, &e_));
	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	assert_int_equal(fs.drprotect, 0);
	assert_int_equal(fs.drpriority, 0);
}

/*
 * The filespace table as builds before the DR columns made it: such a
 * catalog must open, keep its rows, and take DR settings.
 */
static void
cat_open_adds_dr_columns_to_an_older_catalog(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	sqlite3 *db = NULL;
	struct cat *c = NULL;
	struct cat_fs fs;

	snprintf(path, sizeof(path), "%s/old.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE filespace("
	    " id INTEGER PRIMARY KEY, node TEXT NOT NULL, name TEXT NOT NULL,"
	    " type TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
	    " last_backup_start INTEGER NOT NULL DEFAULT 0,"
	    " last_backup_end INTEGER NOT NULL DEFAULT 0,"
	    " UNIQUE(node, name));"
	    "INSERT INTO filespace(node, name, type, created,"
	    " last_backup_end) VALUES('OLD', '/home', 'ext4', 1, 77);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	for (int pass = 0; pass < 2; pass++) {	/* upgrade, then plain open */
		OK(cat_open(path, &c, &e_));
		OK(cat_fs_get(c, "OLD", "/home", &fs, &e_));
		assert_int_equal(fs.last_backup_end, 77);
		assert_int_equal(fs.drprotect, pass);
		assert_int_equal(fs.drpriority, pass ? 5 : 0);
		OK(cat_fs_set_dr(c, fs.id, 1, 5, &e_));
		cat_close(c);
		c = NULL;
	}
}


/*
 * A filespace's version count and bytes are counters the triggers keep:
 * they follow inserts (a new version and the one it deactivates), and
 * expiration's deletes, and equal a count of the rows.
 */
static void
cat_fs_counts_follow_inserts_and_expiration(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	uint64_t const other = make_fs(fx, "N", "/other");
	struct cat_expire_report rep;
	struct cat_obj o;
	struct cat_fs f;

	OK(cat_begin(fx->c, &e_));
	put(fx, fs, "/a", CAT_OBJ_DIR, T0, 0);
	put(fx, fs, "/a", CAT_OBJ_DIR, T0 + 1, 0);
	put(fx, fs, "/a", CAT_OBJ_DIR, T0 + 2, 0);
	put(fx, fs, "/b", CAT_OBJ_DIR, T0, 0);
	put(fx, other, "/c", CAT_OBJ_DIR, T0, 0);
	OK(cat_commit(fx->c, &e_));
	OK(cat_fs_get(fx->c, "N", "/", &f, &e_));
	assert_int_equal(f.objects, 4);
	OK(cat_fs_get_id(fx->c, other, &f, &e_));
	assert_int_equal(f.objects, 1);

	OK(cat_begin(fx->c, &e_));
	OK(cat_expire(fx->c, NULL, T0 + 3, &rep, &e_));	/* VEREXISTS 2 */
	OK(cat_commit(fx->c, &e_));
	assert_int_equal(rep.deleted, 1);
	OK(cat_fs_get(fx->c, "N", "/", &f, &e_));
	assert_int_equal(f.objects, 3);
	assert_int_equal(f.objects, db_int(fx, "SELECT count(*) FROM object"
	    " WHERE fs_id=1"));

	/* A replica's delete by UUID counts too. */
	init_obj(&o, other, "/d", CAT_OBJ_FILE, T0, 0);
	OK(cat_obj_insert(fx->c, &o, &e_));
	OK(cat_fs_get_id(fx->c, other, &f, &e_));
	assert_int_equal(f.objects, 2);
	OK(cat_obj_delete_uuid(fx->c, other, o.uuid, &e_));
	OK(cat_fs_get_id(fx->c, other, &f, &e_));
	assert_int_equal(f.objects, 1);
}

/*
 * A catalog made before the counters: opening it adds them, counted from
 * the versions it holds, and from then on the triggers keep them.
 */
static void
cat_open_counts_the_versions_of_an_older_catalog(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	sqlite3 *db = NULL;
	struct cat *c = NULL;
	struct cat_obj o;
	struct cat_fs f;

	snprintf(path, sizeof(path), "%s/old-counts.db", fx->dir);
	OK(cat_open(path, &c, &e_));
	{
		uint64_t id = 0;

		OK(cat_fs_open(c, "OLD", "/home", "ext4", &id, &e_));
		for (int i = 0; i < 3; i++) {
			init_obj(&o, id, "/home/f", CAT_OBJ_FILE, T0 + i, 0);
			OK(cat_obj_insert(c, &o, &e_));
		}
	}
	cat_close(c);
	c = NULL;
	/* Undo what a newer build added: the triggers and columns. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "DROP TRIGGER object_count_ins;"
	    " ALTER TABLE filespace DROP COLUMN nversions;"
	    " ALTER TABLE filespace DROP COLUMN nbytes;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	OK(cat_open(path, &c, &e_));
	OK(cat_fs_get(c, "OLD", "/home", &f, &e_));
	assert_int_equal(f.objects, 3);
	init_obj(&o, f.id, "/home/g", CAT_OBJ_FILE, T0 + 9, 0);
	OK(cat_obj_insert(c, &o, &e_));
	OK(cat_fs_get(c, "OLD", "/home", &f, &e_));
	assert_int_equal(f.objects, 4);
	cat_close(c);
}

/* ---- replication: peer servers, bookkeeping, node and filespace ---- */

static struct cat_server
server_def(const char *name, int port)
{
	struct cat_server s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.hladdress, sizeof(s.hladdress), "127.0.0.1");
	s.lladdress = port;
	snprintf(s.cafile, sizeof(s.cafile), "/etc/coffer/%s.pem", name);
	for (int i = 0; i < CAT_SERVER_KEY_LEN; i++)
		s.key[i] = (uint8_t)(i * 7 + port);
	snprintf(s.description, sizeof(s.description), "hot site");
	return s;
}

struct server_names {
	int	n;
	char	name[4][CAT_NAME_MAX + 1];
};

static int
collect_server(void *arg, const struct cat_server *s)
{
	struct server_names *sn = arg;

	assert_true(sn->n < 4);
	snprintf(sn->name[sn->n++], CAT_NAME_MAX + 1, "%s", s->name);
	return 0;
}

static void
cat_server_round_trips_and_refuses_duplicates(void **state)
{
	struct fixture *fx = *state;
	struct cat_server s = server_def("hotsite", 1501), g, t;
	struct server_names sn;
	struct err e;

	OK(cat_server_add(fx->c, &s, &e_));
	assert_int_equal(cat_server_add(fx->c, &s, &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "HOTSITE"));
	OK(cat_server_get(fx->c, "HotSite", &g, &e_));
	assert_string_equal(g.name, "HOTSITE");
	assert_string_equal(g.hladdress, "127.0.0.1");
	assert_int_equal(g.lladdress, 1501);
	assert_string_equal(g.cafile, s.cafile);
	assert_memory_equal(g.key, s.key, CAT_SERVER_KEY_LEN);
	assert_string_equal(g.description, "hot site");
	assert_true(g.defined > 0);

	g.lladdress = 1600;
	memset(g.key, 0xab, sizeof(g.key));
	g.cafile[0] = '\0';
	OK(cat_server_update(fx->c, &g, &e_));
	OK(cat_server_get(fx->c, "hotsite", &t, &e_));
	assert_int_equal(t.lladdress, 1600);
	assert_memory_equal(t.key, g.key, CAT_SERVER_KEY_LEN);
	assert_string_equal(t.cafile, "");
	assert_int_equal(t.defined, g.defined);

	s = server_def("another", 1502);
	OK(cat_server_add(fx->c, &s, &e_));
	memset(&sn, 0, sizeof(sn));
	OK(cat_server_list(fx->c, collect_server, &sn, &e_));
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.name[0], "ANOTHER");
	assert_string_equal(sn.name[1], "HOTSITE");

	OK(cat_server_delete(fx->c, "another", &e_));
	assert_int_equal(cat_server_delete(fx->c, "another", NULL),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_server_get(fx->c, "another", &g, NULL),
	    COFFER_ENOTFOUND);
	g = server_def("ghost", 1);
	assert_int_equal(cat_server_update(fx->c, &g, NULL),
	    COFFER_ENOTFOUND);
}

static void
cat_server_rejects_bad_definitions(void **state)
{
	struct fixture *fx = *state;
	struct cat_server s = server_def("x", 0);

	assert_int_equal(cat_server_add(fx->c, &s, NULL), COFFER_EINVAL);
	s = server_def("x", 70000);
	assert_int_equal(cat_server_add(fx->c, &s, NULL), COFFER_EINVAL);
	s = server_def("x", 1500);
	s.hladdress[0] = '\0';
	assert_int_equal(cat_server_add(fx->c, &s, NULL), COFFER_EINVAL);
	s = server_def("bad name", 1500);
	assert_int_equal(cat_server_add(fx->c, &s, NULL), COFFER_EINVAL);
}

struct repl_rows {
	int		n;
	struct cat_repl	r[4];
};

static int
collect_repl(void *arg, const struct cat_repl *r)
{
	struct repl_rows *rr = arg;

	assert_true(rr->n < 4);
	rr->r[rr->n++] = *r;
	return 0;
}

static struct cat_repl
repl_row(const char *node, uint64_t fs, const char *target, int64_t end)
{
	struct cat_repl r;

	memset(&r, 0, sizeof(r));
	snprintf(r.node, sizeof(r.node), "%s", node);
	r.fs_id = fs;
	snprintf(r.fs_name, sizeof(r.fs_name), "/fs%llu",
	    (unsigned long long)fs);
	snprintf(r.target, sizeof(r.target), "%s", target);
	r.last_start = end - 5;
	r.last_end = end;
	r.objects = 10 * fs;
	r.bytes = 1000 * fs;
	snprintf(r.status, sizeof(r.status), "completed");
	return r;
}

static void
cat_repl_set_upserts_per_node_filespace_and_target(void **state)
{
	struct fixture *fx = *state;
	struct repl_rows *rr = calloc(1, sizeof(*rr));
	struct cat_repl r;

	assert_non_null(rr);
	r = repl_row("n1", 2, "hot", T0);
	OK(cat_repl_set(fx->c, &r, &e_));
	r = repl_row("n1", 1, "hot", T0);
	OK(cat_repl_set(fx->c, &r, &e_));
	r = repl_row("n2", 3, "hot", T0);
	OK(cat_repl_set(fx->c, &r, &e_));
	/* The same key again replaces the row. */
	r = repl_row("N1", 2, "HOT", T0 + 100);
	snprintf(r.status, sizeof(r.status), "failed: connection lost");
	r.last_end = T0;
	OK(cat_repl_set(fx->c, &r, &e_));

	OK(cat_repl_list(fx->c, "n1", collect_repl, rr, &e_));
	assert_int_equal(rr->n, 2);
	assert_string_equal(rr->r[0].node, "N1");
	assert_int_equal(rr->r[0].fs_id, 1);
	assert_int_equal(rr->r[1].fs_id, 2);
	assert_string_equal(rr->r[1].fs_name, "/fs2");
	assert_string_equal(rr->r[1].target, "HOT");
	assert_int_equal(rr->r[1].last_start, T0 + 95);
	assert_int_equal(rr->r[1].last_end, T0);
	assert_int_equal(rr->r[1].objects, 20);
	assert_int_equal(rr->r[1].bytes, 2000);
	assert_string_equal(rr->r[1].status, "failed: connection lost");
	memset(rr, 0, sizeof(*rr));
	OK(cat_repl_list(fx->c, NULL, collect_repl, rr, &e_));
	assert_int_equal(rr->n, 3);
	assert_string_equal(rr->r[2].node, "N2");
	r = repl_row("bad name", 1, "hot", T0);
	assert_int_equal(cat_repl_set(fx->c, &r, NULL), COFFER_EINVAL);
	free(rr);
}

static void
cat_node_copy_creates_then_updates_without_touching_lock(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a = account(CAT_KIND_NODE, "vm1", "GOLD"), g;
	int locked;

	snprintf(a.contact, sizeof(a.contact), "ops");
	a.rpo_s = 86400;
	a.repl_mode = CAT_REPLMODE_RECEIVE;
	a.locked = 1;		/* not copied */
	a.last_repl = 42;	/* not copied */
	OK(cat_node_copy(fx->c, &a, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "VM1", &g, &e_));
	assert_string_equal(g.pwhash, a.pwhash);
	assert_string_equal(g.domain, "GOLD");
	assert_string_equal(g.contact, "ops");
	assert_int_equal(g.rpo_s, 86400);
	assert_int_equal(g.repl_mode, CAT_REPLMODE_RECEIVE);
	assert_int_equal(g.locked, 0);
	assert_int_equal(g.last_repl, 0);
	assert_true(g.registered > 0);

	/* Locked and failed at the target stay as they are. */
	OK(cat_account_logon(fx->c, CAT_KIND_NODE, "vm1", 0, 1, &locked,
	    &e_));
	assert_int_equal(locked, 1);
	snprintf(a.pwhash, sizeof(a.pwhash), "$scrypt$new");
	snprintf(a.domain, sizeof(a.domain), "SILVER");
	a.repl_mode = CAT_REPLMODE_SYNCRECEIVE;
	a.locked = 0;
	OK(cat_node_copy(fx->c, &a, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "vm1", &g, &e_));
	assert_string_equal(g.pwhash, "$scrypt$new");
	assert_string_equal(g.domain, "SILVER");
	assert_int_equal(g.repl_mode, CAT_REPLMODE_SYNCRECEIVE);
	assert_int_equal(g.locked, 1);
	assert_int_equal(g.failed, 1);

	a.kind = CAT_KIND_ADMIN;
	assert_int_equal(cat_node_copy(fx->c, &a, NULL), COFFER_EINVAL);
}

static void
cat_account_last_repl_and_fs_replrule_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a = account(CAT_KIND_NODE, "n", "D"), g;
	struct cat_fs fs;
	uint64_t id;

	OK(cat_account_add(fx->c, &a, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "n", &g, &e_));
	assert_int_equal(g.last_repl, 0);
	g.last_repl = T0;
	OK(cat_account_update(fx->c, &g, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "n", &g, &e_));
	assert_int_equal(g.last_repl, T0);

	id = make_fs(fx, "n", "VM:web");
	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	assert_int_equal(fs.replrule, CAT_REPLRULE_ALL);
	OK(cat_fs_set_replrule(fx->c, id, CAT_REPLRULE_ACTIVE, &e_));
	OK(cat_fs_get(fx->c, "n", "VM:web", &fs, &e_));
	assert_int_equal(fs.replrule, CAT_REPLRULE_ACTIVE);
	OK(cat_fs_set_replrule(fx->c, id, CAT_REPLRULE_NONE, &e_));
	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	assert_int_equal(fs.replrule, CAT_REPLRULE_NONE);
	assert_int_equal(cat_fs_set_replrule(fx->c, id, 3, NULL),
	    COFFER_EINVAL);
	assert_int_equal(cat_fs_set_replrule(fx->c, 999, 0, NULL),
	    COFFER_ENOTFOUND);
}

/*
 * An account and filespace table as builds before replication made them:
 * the catalog opens, keeps its rows, and gains last_repl, replrule and
 * the server and repl_state tables.
 */
static void
cat_open_adds_replication_columns_to_an_older_catalog(void **state)
{
	struct fixture *fx = *state;
	struct cat_server s = server_def("peer", 1500);
	char path[160];
	sqlite3 *db = NULL;
	struct cat *c = NULL;
	struct cat_account a;
	struct cat_fs fs;
	struct cat_repl r = repl_row("OLD", 1, "PEER", T0);

	snprintf(path, sizeof(path), "%s/old.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE account("
	    " kind INTEGER NOT NULL, name TEXT NOT NULL, pwhash TEXT NOT NULL,"
	    " locked INTEGER NOT NULL DEFAULT 0,"
	    " failed INTEGER NOT NULL DEFAULT 0,"
	    " registered INTEGER NOT NULL, last_logon INTEGER NOT NULL"
	    " DEFAULT 0, domain TEXT NOT NULL DEFAULT '',"
	    " contact TEXT NOT NULL DEFAULT '',"
	    " rpo_s INTEGER NOT NULL DEFAULT 0,"
	    " repl_state INTEGER NOT NULL DEFAULT 0,"
	    " repl_mode INTEGER NOT NULL DEFAULT 0,"
	    " last_backup INTEGER NOT NULL DEFAULT 0,"
	    " PRIMARY KEY(kind, name)) WITHOUT ROWID;"
	    "INSERT INTO account(kind, name, pwhash, registered, repl_mode,"
	    " last_backup) VALUES(1, 'OLD', 'h', 5, 1, 66);"
	    "CREATE TABLE filespace("
	    " id INTEGER PRIMARY KEY, node TEXT NOT NULL, name TEXT NOT NULL,"
	    " type TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
	    " last_backup_start INTEGER NOT NULL DEFAULT 0,"
	    " last_backup_end INTEGER NOT NULL DEFAULT 0,"
	    " drprotect INTEGER NOT NULL DEFAULT 0,"
	    " drpriority INTEGER NOT NULL DEFAULT 0,"
	    " UNIQUE(node, name));"
	    "INSERT INTO filespace(node, name, type, created, drpriority)"
	    " VALUES('OLD', '/home', 'ext4', 1, 3);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	for (int pass = 0; pass < 2; pass++) {	/* upgrade, then plain open */
		OK(cat_open(path, &c, &e_));
		OK(cat_account_get(c, CAT_KIND_NODE, "OLD", &a, &e_));
		assert_int_equal(a.last_backup, 66);
		assert_int_equal(a.repl_mode, CAT_REPLMODE_RECEIVE);
		assert_int_equal(a.last_repl, pass ? T0 : 0);
		a.last_repl = T0;
		OK(cat_account_update(c, &a, &e_));
		OK(cat_fs_get(c, "OLD", "/home", &fs, &e_));
		assert_int_equal(fs.drpriority, 3);
		assert_int_equal(fs.replrule, pass ? CAT_REPLRULE_NONE :
		    CAT_REPLRULE_ALL);
		OK(cat_fs_set_replrule(c, fs.id, CAT_REPLRULE_NONE, &e_));
		if (pass == 0) {
			OK(cat_server_add(c, &s, &e_));
			OK(cat_repl_set(c, &r, &e_));
		} else
			OK(cat_server_get(c, "PEER", &s, &e_));
		cat_close(c);
		c = NULL;
	}
}

/*
 * object_by_uuid as builds before 9e5a8e3 made it, on (fs_id, uuid) only:
 * the catalog opens with it widened to cover state and deactivated, so
 * that the digest of a consistent replication reads the index alone, and
 * the versions are all there.
 */
static void
cat_open_widens_an_older_uuid_index(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t before[32], after[32];
	uint64_t n = 0, fs = make_fs(fx, "N1", "/home");
	int cols;

	(void)put(fx, fs, "/home/a", CAT_OBJ_FILE, T0, 1);
	(void)put(fx, fs, "/home/a", CAT_OBJ_FILE, T0 + 1, 2);
	(void)put(fx, fs, "/home/b", CAT_OBJ_FILE, T0, 3);
	OK(cat_obj_digest(fx->c, fs, 0, before, &n, &e_));
	assert_int_equal(n, 3);
	cat_close(fx->c);
	fx->c = NULL;
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX object_by_uuid;"
	    "CREATE INDEX object_by_uuid ON object(fs_id, uuid);", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);

	for (int pass = 0; pass < 2; pass++) {	/* upgrade, then plain open */
		OK(cat_open(fx->db, &fx->c, &e_));
		assert_int_equal(sqlite3_prepare_v2(cat_db(fx->c),
		    "PRAGMA index_info(object_by_uuid)", -1, &st, NULL),
		    SQLITE_OK);
		for (cols = 0; sqlite3_step(st) == SQLITE_ROW; cols++)
			;
		sqlite3_finalize(st);
		assert_int_equal(cols, 4);
		OK(cat_obj_digest(fx->c, fs, 0, after, &n, &e_));
		assert_int_equal(n, 3);
		assert_memory_equal(before, after, 32);
		if (pass == 0) {
			cat_close(fx->c);
			fx->c = NULL;
		}
	}
}

/* ---- object versions ---- */

static void
cat_obj_insert_makes_previous_version_inactive(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	struct rows *rs;

	put(fx, fs, "/etc/passwd", CAT_OBJ_FILE, T0, 100);
	put(fx, fs, "/etc/passwd", CAT_OBJ_FILE, T0 + 10, 110);
	put(fx, fs, "/etc/passwd", CAT_OBJ_FILE, T0 + 20, 120);
	rs = query(fx, fs, "", 0, 1);
	assert_int_equal(rs->n, 3);
	/* Active first, then newest first. */
	assert_int_equal(rs->state[0], CAT_ACTIVE);
	assert_int_equal(rs->inserted[0], T0 + 20);
	assert_int_equal(rs->deactivated[0], 0);
	assert_int_equal(rs->state[1], CAT_INACTIVE);
	assert_int_equal(rs->inserted[1], T0 + 10);
	assert_int_equal(rs->deactivated[1], T0 + 20);
	assert_int_equal(rs->state[2], CAT_INACTIVE);
	assert_int_equal(rs->deactivated[2], T0 + 10);
	assert_int_equal(rs->size[2], 100);
	rs = query(fx, fs, "", 0, 0);
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->size[0], 120);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM object WHERE"
	    " state=1"), 1);
}

/*
 * In one transaction, as the commit callback runs them: a new key costs
 * only the lookup of an active version and changes nothing else; a key
 * with an active version (here, or inserted earlier in the same
 * transaction) still has it deactivated; the same path of another
 * filespace, and a key's inactive versions, are left alone.
 */
static void
cat_obj_insert_new_and_existing_keys_in_one_transaction(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	uint64_t const other = make_fs(fx, "N", "/home");
	struct cat_obj o;
	struct rows *rs;

	put(fx, fs, "/a", CAT_OBJ_FILE, T0, 1);
	put(fx, fs, "/a", CAT_OBJ_FILE, T0 + 1, 2);	/* T0's inactive */
	put(fx, other, "/a", CAT_OBJ_FILE, T0, 3);
	OK(cat_begin(fx->c, &e_));
	init_obj(&o, fs, "/a/x", CAT_OBJ_FILE, T0 + 10, 4);	/* new */
	OK(cat_obj_insert(fx->c, &o, &e_));
	init_obj(&o, fs, "/a", CAT_OBJ_FILE, T0 + 10, 5);	/* existing */
	OK(cat_obj_insert(fx->c, &o, &e_));
	init_obj(&o, fs, "/a/x", CAT_OBJ_FILE, T0 + 11, 6);	/* this txn's */
	OK(cat_obj_insert(fx->c, &o, &e_));
	/* A replicated active copy replaces the active version too. */
	init_obj(&o, fs, "/a/x", CAT_OBJ_FILE, T0 + 12, 7);
	memset(o.uuid, 0x5a, sizeof(o.uuid));
	o.state = CAT_ACTIVE;
	OK(cat_obj_insert_copy(fx->c, &o, &e_));
	OK(cat_commit(fx->c, &e_));

	rs = query(fx, fs, "/a", 0, 1);
	assert_int_equal(rs->n, 6);
	/* /a: active T0+10, then T0+1 deactivated now, T0 as it was. */
	assert_string_equal(rs->path[0], "/a");
	assert_int_equal(rs->state[0], CAT_ACTIVE);
	assert_int_equal(rs->size[0], 5);
	assert_int_equal(rs->state[1], CAT_INACTIVE);
	assert_int_equal(rs->deactivated[1], T0 + 10);
	assert_int_equal(rs->size[1], 2);
	assert_int_equal(rs->deactivated[2], T0 + 1);
	assert_int_equal(rs->size[2], 1);
	/* /a/x: the copy active, each earlier one deactivated by the next. */
	assert_string_equal(rs->path[3], "/a/x");
	assert_int_equal(rs->state[3], CAT_ACTIVE);
	assert_int_equal(rs->size[3], 7);
	assert_int_equal(rs->deactivated[4], T0 + 12);
	assert_int_equal(rs->size[4], 6);
	assert_int_equal(rs->deactivated[5], T0 + 11);
	assert_int_equal(rs->size[5], 4);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM object WHERE"
	    " state=1"), 3);
	rs = query(fx, other, "", 0, 1);
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->state[0], CAT_ACTIVE);
	assert_int_equal(rs->size[0], 3);
}

static void
cat_obj_uuid_assigned_and_preserved(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	static const uint8_t zero[16];
	uint8_t given[16];
	struct cat_obj o, p;
	struct rows *rs;
	struct err e;

	init_obj(&o, fs, "/a", CAT_OBJ_FILE, T0, 1);
	OK(cat_obj_insert(fx->c, &o, &e_));
	assert_memory_not_equal(o.uuid, zero, 16);

	for (int i = 0; i < 16; i++)
		given[i] = (uint8_t)(0xa0 + i);
	init_obj(&p, fs, "/b", CAT_OBJ_FILE, T0, 1);
	memcpy(p.uuid, given, 16);
	OK(cat_obj_insert(fx->c, &p, &e_));
	assert_memory_equal(p.uuid, given, 16);

	rs = query(fx, fs, "", 0, 0);
	assert_int_equal(rs->n, 2);
	assert_memory_equal(rs->uuid[0], o.uuid, 16);
	assert_memory_equal(rs->uuid[1], given, 16);

	/* The same object cannot arrive twice (replication, import). */
	init_obj(&p, fs, "/c", CAT_OBJ_FILE, T0, 1);
	memcpy(p.uuid, given, 16);
	assert_int_equal(cat_obj_insert(fx->c, &p, &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "a0a1a2a3"));
	/* ... and the failed insert left /b active. */
	rs = query(fx, fs, "/b", 0, 0);
	assert_int_equal(rs->n, 1);
	/* A filespace that does not exist is refused. */
	init_obj(&p, 4242, "/x", CAT_OBJ_FILE, T0, 1);
	assert_int_equal(cat_obj_insert(fx->c, &p, &e), COFFER_ENOTFOUND);
	init_obj(&p, fs, "", CAT_OBJ_FILE, T0, 1);
	assert_int_equal(cat_obj_insert(fx->c, &p, &e), COFFER_EINVAL);
	init_obj(&p, fs, "/y", 99, T0, 1);
	assert_int_equal(cat_obj_insert(fx->c, &p, &e), COFFER_EINVAL);
}

/* Paths whose walk order differs from strcmp order of the paths. */
static const char *const tricky[] = { "/ab", "/a.b", "/a b", "/a/b",
    "/a", "/b", "/a/b/c", "/a/c" };
#define NTRICKY	((int)(sizeof(tricky) / sizeof(tricky[0])))

static int
key_order(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;
	size_t const la = strlen(a), lb = strlen(b);
	uint8_t ka[64], kb[64];
	int d;

	cat_pkey(a, la, ka);
	cat_pkey(b, lb, kb);
	if ((d = memcmp(ka, kb, la < lb ? la : lb)) != 0)
		return d;
	return la < lb ? -1 : la > lb;
}

static void
cat_obj_inventory_is_walk_order_with_pages(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	static const char *const want[] = { "/a", "/a/b", "/a/b/c", "/a/c",
	    "/a b", "/a.b", "/ab", "/b" };
	const char *sorted[NTRICKY];
	struct rows rs;
	char after[64] = "";
	int more, pages = 0;

	for (int i = 0; i < NTRICKY; i++)
		put(fx, fs, tricky[i], CAT_OBJ_FILE, T0, 1);
	put(fx, fs, "/a.b", CAT_OBJ_FILE, T0 + 1, 2);	/* one inactive */
	/* The rule (memcmp of pkeys) gives the hand-worked order. */
	memcpy(sorted, tricky, sizeof(sorted));
	qsort(sorted, NTRICKY, sizeof(sorted[0]), key_order);
	for (int i = 0; i < NTRICKY; i++)
		assert_string_equal(sorted[i], want[i]);

	memset(&rs, 0, sizeof(rs));
	do {
		int const before = rs.n;

		OK(cat_obj_inventory(fx->c, fs, after, 3, collect, &rs, &more,
		    &e_));
		assert_true(rs.n - before <= 3);
		assert_int_equal(more, rs.n < NTRICKY);
		snprintf(after, sizeof(after), "%s", rs.path[rs.n - 1]);
		pages++;
	} while (more);
	assert_int_equal(pages, 3);
	assert_paths(&rs, want, NTRICKY);
	for (int i = 0; i < rs.n; i++) {
		assert_int_equal(rs.state[i], CAT_ACTIVE);
		assert_int_equal(rs.recipe_len[i], 0);
	}
	/* An exact fit says no more. */
	memset(&rs, 0, sizeof(rs));
	OK(cat_obj_inventory(fx->c, fs, NULL, NTRICKY, collect, &rs, &more,
	    &e_));
	assert_int_equal(rs.n, NTRICKY);
	assert_int_equal(more, 0);
	/* A callback's non-zero return stops the walk and is returned. */
	memset(&rs, 0, sizeof(rs));
	rs.stop_after = 2;
	assert_int_equal(cat_obj_inventory(fx->c, fs, "", 0, collect, &rs,
	    &more, NULL), 7);
	assert_int_equal(rs.n, 2);
}

static void
cat_obj_query_pit_returns_version_active_then(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	struct rows *rs;

	put(fx, fs, "/f", CAT_OBJ_FILE, T0, 1);
	put(fx, fs, "/f", CAT_OBJ_FILE, T0 + 100, 2);
	put(fx, fs, "/g", CAT_OBJ_FILE, T0 + 150, 3);
	OK(cat_obj_deactivate(fx->c, fs, "/g", T0 + 300, &e_));

	rs = query(fx, fs, "", T0 + 50, 0);
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->size[0], 1);	/* the older one */
	assert_int_equal(rs->recipe_len[0], 0);
	rs = query(fx, fs, "", T0 + 100, 0);	/* inserted <= pit */
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->size[0], 2);
	rs = query(fx, fs, "", T0 + 200, 0);
	assert_int_equal(rs->n, 2);
	assert_string_equal(rs->path[1], "/g");
	rs = query(fx, fs, "", T0 + 300, 0);	/* gone at 300 */
	assert_int_equal(rs->n, 1);
	assert_string_equal(rs->path[0], "/f");
	rs = query(fx, fs, "", T0 - 1, 0);	/* before the first backup */
	assert_int_equal(rs->n, 0);
	rs = query(fx, fs, "/f", T0 + 50, 1);	/* pit wins over inactive */
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->size[0], 1);
}

static void
cat_obj_query_prefix_is_dir_and_subtree_only(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	static const char *const all[] = { "/dat", "/data", "/data.txt",
	    "/data/x", "/data/x/y", "/data2", "/data2/z", "/data\x01" };
	static const char *const under[] = { "/data", "/data/x",
	    "/data/x/y" };
	static const char *const under_x[] = { "/data/x", "/data/x/y" };
	struct rows *rs;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		put(fx, fs, all[i], i == 1 || i == 3 ? CAT_OBJ_DIR :
		    CAT_OBJ_FILE, T0, 1);
	assert_paths(query(fx, fs, "/data", 0, 0), under, 3);
	assert_paths(query(fx, fs, "/data/", 0, 0), under, 3);
	assert_paths(query(fx, fs, "/data/x", 0, 1), under_x, 2);
	assert_int_equal(query(fx, fs, "/", 0, 0)->n, 8);
	assert_int_equal(query(fx, fs, "", 0, 0)->n, 8);
	assert_int_equal(query(fx, fs, NULL, 0, 0)->n, 8);
	assert_int_equal(query(fx, fs, "/nothing", 0, 0)->n, 0);
	rs = query(fx, fs, "/data2", 0, 0);
	assert_int_equal(rs->n, 2);
	assert_string_equal(rs->path[1], "/data2/z");
}

static void
cat_obj_query_inactive_pages_never_split_a_path(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	struct rows rs;
	char after[64] = "";
	int more, pages = 0;

	for (int v = 0; v < 3; v++)
		put(fx, fs, "/a", CAT_OBJ_FILE, T0 + v, (uint64_t)v);
	put(fx, fs, "/b", CAT_OBJ_FILE, T0, 10);
	for (int v = 0; v < 2; v++)
		put(fx, fs, "/c", CAT_OBJ_FILE, T0 + v, 20 + (uint64_t)v);

	memset(&rs, 0, sizeof(rs));
	do {
		OK(cat_obj_query(fx->c, fs, "", 0, 1, after, 2, collect, &rs,
		    &more, &e_));
		snprintf(after, sizeof(after), "%s", rs.path[rs.n - 1]);
		pages++;
	} while (more && pages < 10);
	/* Pages: a a a | b c c (a page ends only between paths). */
	assert_int_equal(pages, 2);
	assert_int_equal(rs.n, 6);
	assert_string_equal(rs.path[2], "/a");
	assert_int_equal(rs.size[0], 2);
	assert_int_equal(rs.size[2], 0);
	assert_string_equal(rs.path[3], "/b");
	assert_int_equal(rs.size[4], 21);
	assert_int_equal(rs.recipe_len[0], 0);
}

static void
cat_obj_deactivate_and_update_meta_need_active_version(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	struct rows *rs;
	struct err e;

	put(fx, fs, "/f", CAT_OBJ_FILE, T0, 5);
	OK(cat_obj_update_meta(fx->c, fs, "/f", 0100600, 42, 43, 77, &e_));
	rs = query(fx, fs, "/f", 0, 0);
	assert_int_equal(rs->mode[0], 0100600);
	assert_int_equal(rs->uid[0], 42);
	assert_int_equal(db_int(fx, "SELECT ctime_ns FROM object"), 77);

	OK(cat_obj_deactivate(fx->c, fs, "/f", T0 + 5, &e_));
	rs = query(fx, fs, "", 0, 1);
	assert_int_equal(rs->n, 1);
	assert_int_equal(rs->state[0], CAT_INACTIVE);
	assert_int_equal(rs->deactivated[0], T0 + 5);
	assert_int_equal(query(fx, fs, "", 0, 0)->n, 0);

	assert_int_equal(cat_obj_deactivate(fx->c, fs, "/f", T0 + 6, &e),
	    COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "/f"));
	assert_int_equal(cat_obj_update_meta(fx->c, fs, "/f", 0, 0, 0, 0, &e),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_obj_deactivate(fx->c, fs, "/nope", T0, &e),
	    COFFER_ENOTFOUND);
	/* Stored again, it is active again; the old one stays inactive. */
	put(fx, fs, "/f", CAT_OBJ_FILE, T0 + 10, 6);
	rs = query(fx, fs, "", 0, 1);
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->deactivated[1], T0 + 5);
}

static void
cat_obj_get_finds_by_id(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	uint8_t recipe[POOL_RECIPE_ENTRY] = { 1, 2, 3 };
	struct cat_obj o;
	struct rows rs;

	init_obj(&o, fs, "/r", CAT_OBJ_FILE, T0, 9);
	o.recipe = recipe;
	o.recipe_len = sizeof(recipe);
	OK(cat_obj_insert(fx->c, &o, &e_));
	memset(&rs, 0, sizeof(rs));
	OK(cat_obj_get(fx->c, o.id, collect, &rs, &e_));
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.path[0], "/r");
	assert_int_equal(rs.recipe_len[0], sizeof(recipe));
	OK(cat_obj_get(fx->c, o.id + 100, collect, &rs, &e_));
	assert_int_equal(rs.n, 1);
}

/* ---- expiration against a real pool ---- */

struct ins_ctx {
	struct cat_obj	*o;
};

/* pool_txn_commit callback: the object row commits with its chunks. */
static int
insert_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct ins_ctx *ic = arg;
	struct cat *c = NULL;
	int r;

	if ((r = cat_attach(db, &c, e)) != 0)
		return r;
	r = cat_obj_insert(c, ic->o, e);
	cat_close(c);
	return r;
}

struct exp_ctx {
	struct pool			*pool;
	int64_t				 now;
	struct cat_expire_report	 rep;
};

static int
expire_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct exp_ctx *xc = arg;
	struct cat *c = NULL;
	int r;

	if ((r = cat_attach(db, &c, e)) != 0)
		return r;
	r = cat_expire(c, xc->pool, xc->now, &xc->rep, e);
	cat_close(c);
	return r;
}

/* Put one raw chunk of n bytes filled with b, add it to the recipe. */
static void
put_chunk(struct pool_txn *txn, struct hash_ctx *h, uint8_t b, uint32_t n,
    struct pool_recipe *rc)
{
	uint8_t buf[4096];
	struct pool_chunk c;

	assert_true(n <= sizeof(buf));
	memset(buf, b, n);
	memset(&c, 0, sizeof(c));
	assert_int_equal(hash_sha256(h, buf, n, c.hash), 0);
	c.raw_len = n;
	c.codec = CODEC_RAW;
	c.stored_len = n;
	c.stored = buf;
	OK(pool_txn_put(txn, &c, NULL, &e_));
	OK(pool_recipe_add(rc, c.hash, n, &e_));
}

/* One backup of path: its own chunk, the shared one, a zero run. */
static void
backup_version(struct fixture *fx, struct hash_ctx *h, uint64_t fs,
    const char *path, uint8_t fill, int64_t when)
{
	struct pool_recipe rc;
	struct pool_txn *txn = NULL;
	struct ins_ctx ic;
	struct cat_obj o;

	pool_recipe_init(&rc);
	OK(pool_txn_begin(fx->pool, &txn, &e_));
	put_chunk(txn, h, fill, 1000, &rc);
	put_chunk(txn, h, 0xee, 2000, &rc);	/* the same in every one */
	OK(pool_recipe_add(&rc, NULL, 4096, &e_));
	init_obj(&o, fs, path, CAT_OBJ_FILE, when, rc.raw_size);
	o.recipe = rc.p;
	o.recipe_len = rc.len;
	ic.o = &o;
	OK(pool_txn_commit(txn, insert_cb, &ic, &e_));
	pool_recipe_free(&rc);
}

static struct cat_expire_report
expire(struct fixture *fx, int64_t now)
{
	struct exp_ctx xc;

	memset(&xc, 0, sizeof(xc));
	xc.pool = fx->pool;
	xc.now = now;
	OK(pool_exec(fx->pool, expire_cb, &xc, &e_));
	return xc.rep;
}

static uint64_t
references(struct fixture *fx)
{
	struct pool_stats s;

	OK(pool_stats(fx->pool, &s, &e_));
	return s.references;
}

/*
 * Where REPLICATE NODE MAXSESSIONS cuts a filespace: into ranges of about
 * equal weight (size plus a per-version weight) in uuid order, a large
 * version making one mark for all the shares it covers, active versions
 * only when asked.
 */
static void
cat_obj_uuid_marks_cut_equal_weights(void **state)
{
	struct fixture *fx = *state;
	struct uuid_rows all;
	uint8_t marks[4][16];
	uint64_t w[5];
	uint64_t fs = make_fs(fx, "src", "/m");
	size_t n = 9;
	int more;

	for (int i = 0; i < 6; i++) {
		char path[16];

		snprintf(path, sizeof(path), "/m/f%d", i);
		put(fx, fs, path, CAT_OBJ_FILE, T0 + i, 10);
	}
	OK(cat_obj_uuid_marks(fx->c, fs, 0, 0, 3, marks, w, 4, &n, &e_));
	memset(&all, 0, sizeof(all));
	OK(cat_obj_uuid_walk(fx->c, fs, NULL, 0, 0, collect_uuid, &all, &more,
	    &e_));
	assert_int_equal(n, 2);		/* 60 bytes: 20 and 40 */
	assert_memory_equal(marks[0], all.uuid[1], 16);
	assert_memory_equal(marks[1], all.uuid[3], 16);
	for (int k = 0; k < 3; k++)
		assert_int_equal(w[k], 20);
	OK(cat_obj_uuid_marks(fx->c, fs, 0, 0, 3, marks, NULL, 1, &n, &e_));
	assert_int_equal(n, 1);		/* at most max */
	OK(cat_obj_uuid_marks(fx->c, fs, 0, 0, 1, marks, w, 4, &n, &e_));
	assert_int_equal(n, 0);		/* one part: no cut, the whole weight */
	assert_int_equal(w[0], 60);
	put(fx, fs, "/m/big", CAT_OBJ_FILE, T0 + 10, 1000);
	put(fx, fs, "/m/f0", CAT_OBJ_FILE, T0 + 20, 10);  /* f0 v1 inactive */
	memset(&all, 0, sizeof(all));
	OK(cat_obj_uuid_walk(fx->c, fs, NULL, 0, 0, collect_uuid, &all, &more,
	    &e_));
	assert_int_equal(all.n, 8);
	OK(cat_obj_uuid_marks(fx->c, fs, 0, 0, 4, marks, w, 4, &n, &e_));
	assert_int_equal(n, 1);		/* big covers every share */
	assert_memory_equal(marks[0], all.uuid[6], 16);
	assert_int_equal(w[0], 1060);
	assert_int_equal(w[1], 10);
	/* Active only, 1 per version: f1-f5 55, big 1001, f0 11 of 1067. */
	OK(cat_obj_uuid_marks(fx->c, fs, 1, 1, 2, marks, NULL, 4, &n, &e_));
	assert_int_equal(n, 1);
	assert_memory_equal(marks[0], all.uuid[6], 16);
	/* Without big's weight the halves meet in the small versions. */
	OK(cat_obj_uuid_marks(fx->c, fs, 1, 1000, 2, marks, NULL, 4, &n,
	    &e_));
	assert_int_equal(n, 1);
	assert_memory_equal(marks[0], all.uuid[4], 16);
}

static void
cat_expire_releases_chunks_per_policy(void **state)
{
	struct fixture *fx = *state;
	struct cat_domain d = domain("KEEP2", 2, 1, 30, 60);
	struct cat_account a = account(CAT_KIND_NODE, "web1", "KEEP2");
	struct cat_expire_report rep;
	struct hash_ctx *h;
	struct pool_stats s;
	char pooldir[128];
	struct rows *rs;
	uint64_t fs, other;
	struct err e;

	snprintf(pooldir, sizeof(pooldir), "%s/pool", fx->dir);
	OK(pool_create(pooldir, fx->db, NULL, &e_));
	OK(pool_open(pooldir, fx->db, &fx->pool, &e_));
	assert_non_null(h = hash_ctx_new(&e));
	OK(cat_domain_define(fx->c, &d, &e_));
	OK(cat_account_add(fx->c, &a, &e_));
	fs = make_fs(fx, "web1", "/");
	/* A node without an account row gets STANDARD (2, 1, 30, 60). */
	other = make_fs(fx, "ghost", "/");

	for (int v = 0; v < 3; v++)
		backup_version(fx, h, fs, "/f", (uint8_t)(1 + v),
		    T0 + v * DAY);
	backup_version(fx, h, other, "/g", 9, T0);
	put(fx, fs, "/d", CAT_OBJ_DIR, T0, 0);
	put(fx, fs, "/d", CAT_OBJ_DIR, T0 + 2 * DAY, 0);
	put(fx, fs, "/only", CAT_OBJ_FILE, T0, 0);	/* no inactive one */
	/* 4 versions x 2 references; the shared chunk is stored once. */
	assert_int_equal(references(fx), 8);
	OK(pool_stats(fx->pool, &s, &e_));
	assert_int_equal(s.live_chunks, 5);

	/* A day later: VEREXISTS 2 lets the oldest /f go, nothing else. */
	rep = expire(fx, T0 + 3 * DAY);
	assert_int_equal(rep.deleted, 1);
	assert_int_equal(rep.bytes, 1000 + 2000 + 4096);
	assert_int_equal(rep.examined, 3 + 2);	/* /f and /d versions */
	assert_int_equal(references(fx), 6);
	OK(pool_stats(fx->pool, &s, &e_));
	assert_int_equal(s.live_chunks, 4);
	rs = query(fx, fs, "/f", 0, 1);
	assert_int_equal(rs->n, 2);
	assert_int_equal(rs->inserted[1], T0 + DAY);

	/* Past RETEXTRA: the inactive /f and /d go; the active ones stay. */
	rep = expire(fx, T0 + 2 * DAY + 31 * DAY);
	assert_int_equal(rep.deleted, 2);
	assert_int_equal(references(fx), 4);
	assert_int_equal(query(fx, fs, "", 0, 1)->n, 3);
	assert_int_equal(query(fx, other, "", 0, 1)->n, 1);

	/* Deleted from the client: RETONLY (60 days) keeps the last one. */
	OK(cat_obj_deactivate(fx->c, fs, "/f", T0 + 40 * DAY, &e_));
	rep = expire(fx, T0 + 100 * DAY);
	assert_int_equal(rep.deleted, 0);
	assert_int_equal(rep.examined, 1);
	rep = expire(fx, T0 + 100 * DAY + 1);
	assert_int_equal(rep.deleted, 1);
	assert_int_equal(references(fx), 2);	/* /g of the other node */
	assert_int_equal(query(fx, fs, "/f", 0, 1)->n, 0);
	assert_int_equal(query(fx, fs, "", 0, 1)->n, 2);	/* /d, /only */
	OK(pool_stats(fx->pool, &s, &e_));
	assert_int_equal(s.live_chunks, 2);

	/* Outside a transaction it refuses: releases need pool_exec. */
	assert_int_equal(cat_expire(fx->c, fx->pool, T0, &rep, &e),
	    COFFER_EINVAL);
	hash_ctx_free(h);
}

static void
cat_expire_batches_many_paths(void **state)
{
	struct fixture *fx = *state;
	uint64_t const fs = make_fs(fx, "N", "/");
	struct cat_expire_report rep;
	char path[32];
	int const n = 600;	/* more than two batches */

	OK(cat_begin(fx->c, &e_));
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/dir%04d", i);
		put(fx, fs, path, CAT_OBJ_DIR, T0, 0);
		put(fx, fs, path, CAT_OBJ_DIR, T0 + 1, 0);
		put(fx, fs, path, CAT_OBJ_DIR, T0 + 2, 0);
	}
	/* Without recipes no pool is needed. */
	OK(cat_expire(fx->c, NULL, T0 + 3, &rep, &e_));
	OK(cat_commit(fx->c, &e_));
	assert_int_equal(rep.examined, 3 * n);
	assert_int_equal(rep.deleted, n);	/* VEREXISTS 2 */
	assert_int_equal(db_int(fx, "SELECT count(*) FROM object"), 2 * n);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM object WHERE"
	    " inserted=" "1700000000"), 0);
}

/*
 * Batches of a few versions, each its own transaction, over three
 * filespaces (one with nothing to expire): whole paths per batch, the
 * cursor crosses filespaces, and together they do what one cat_expire
 * does.
 */
static void
cat_expire_batch_cursor(void **state)
{
	struct fixture *fx = *state;
	uint64_t const a = make_fs(fx, "A", "/"), b = make_fs(fx, "B", "/");
	uint64_t const empty = make_fs(fx, "C", "/");
	struct cat_expire_cursor cur;
	struct cat_expire_report rep, step;
	char path[32], split[160];
	int calls = 0;

	/* A path of B's with 3 versions: expired in part (4 -> 2 is whole). */
	snprintf(split, sizeof(split), "SELECT count(*) FROM (SELECT count(*)"
	    " n FROM object WHERE fs_id=%llu GROUP BY pkey) WHERE n=3",
	    (unsigned long long)b);
	OK(cat_begin(fx->c, &e_));
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/p%02d", i);
		for (int v = 0; v < 3; v++)
			put(fx, a, path, CAT_OBJ_DIR, T0 + v, 0);
		for (int v = 0; v < 4; v++)
			put(fx, b, path, CAT_OBJ_DIR, T0 + v, 0);
		put(fx, empty, path, CAT_OBJ_DIR, T0, 0);
	}
	OK(cat_commit(fx->c, &e_));
	memset(&rep, 0, sizeof(rep));
	cat_expire_cursor_init(&cur);
	while (!cur.done) {
		memset(&step, 0, sizeof(step));
		OK(cat_begin(fx->c, &e_));
		OK(cat_expire_batch(fx->c, NULL, T0 + 10, 5, &cur, &step,
		    &e_));
		OK(cat_commit(fx->c, &e_));
		/* At most 5 paths (the budget), never a path in part. */
		assert_true(step.examined <= 5 * 4);
		assert_int_equal(db_int(fx, split), 0);
		rep.examined += step.examined;
		rep.deleted += step.deleted;
		assert_true(++calls < 100);
	}
	assert_true(calls >= 4);	/* 5 paths a batch: 2 of A, 2 of B */
	assert_int_equal(rep.examined, 10 * 3 + 10 * 4);
	/* STANDARD: VEREXISTS 2, so 1 of A's 3 and 2 of B's 4 a path. */
	assert_int_equal(rep.deleted, 10 + 20);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM object"),
	    10 * 2 + 10 * 2 + 10);
	/* A finished cursor does nothing more. */
	memset(&step, 0, sizeof(step));
	OK(cat_begin(fx->c, &e_));
	OK(cat_expire_batch(fx->c, NULL, T0 + 10, 5, &cur, &step, &e_));
	OK(cat_commit(fx->c, &e_));
	assert_int_equal(step.examined, 0);
}

/* ---- activity log, occupancy ---- */

struct logrows {
	int	n;
	char	msg[8][128];
	char	sev[8];
	int	msgno[8];
};

static int
collect_log(void *arg, const struct cat_actlog_row *r)
{
	struct logrows *lr = arg;

	assert_true(lr->n < 8);
	snprintf(lr->msg[lr->n], sizeof(lr->msg[0]), "%s", r->message);
	lr->sev[lr->n] = r->severity;
	lr->msgno[lr->n] = r->msgno;
	lr->n++;
	return 0;
}

static void
cat_actlog_query_filters_by_time_and_search(void **state)
{
	struct fixture *fx = *state;
	struct logrows lr = { 0 };
	int64_t const now = (int64_t)time(NULL);

	assert_int_equal(cat_actlog(fx->c, CAT_SEV_INFO, 406, "WEB1",
	    "Session %d started for node %s.", 1, "WEB1"), 0);
	assert_int_equal(cat_actlog(fx->c, CAT_SEV_WARN, 424, NULL,
	    "Invalid password submitted by admin %s.", "ADMIN"), 0);
	assert_int_equal(cat_actlog(fx->c, CAT_SEV_ERROR, 2500, "WEB1",
	    "Session 2 for node WEB1 ended: %s", "I/O error"), 0);
	OK(cat_actlog_query(fx->c, 0, NULL, collect_log, &lr, &e_));
	assert_int_equal(lr.n, 3);
	assert_string_equal(lr.msg[0], "Session 1 started for node WEB1.");
	assert_int_equal(lr.sev[1], 'W');
	assert_int_equal(lr.msgno[2], 2500);

	memset(&lr, 0, sizeof(lr));
	OK(cat_actlog_query(fx->c, 0, "session", collect_log, &lr, &e_));
	assert_int_equal(lr.n, 2);
	assert_string_equal(lr.msg[1], "Session 2 for node WEB1 ended: "
	    "I/O error");
	memset(&lr, 0, sizeof(lr));
	OK(cat_actlog_query(fx->c, now + 3600, NULL, collect_log, &lr, &e_));
	assert_int_equal(lr.n, 0);
	/* Inside a transaction the message goes with it. */
	OK(cat_begin(fx->c, &e_));
	assert_int_equal(cat_actlog(fx->c, CAT_SEV_INFO, 1, NULL, "gone"), 0);
	cat_rollback(fx->c);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM actlog"), 3);
}

struct occ {
	int			n;
	struct cat_occupancy	o[4];
};

static int
collect_occ(void *arg, const struct cat_occupancy *o)
{
	struct occ *oc = arg;

	assert_true(oc->n < 4);
	oc->o[oc->n++] = *o;
	return 0;
}

static void
cat_occupancy_counts_versions_per_filespace(void **state)
{
	struct fixture *fx = *state;
	uint64_t const a = make_fs(fx, "web1", "/home");
	uint64_t const b = make_fs(fx, "web1", "/var");
	struct occ *oc;

	make_fs(fx, "db1", "/srv");
	put(fx, a, "/home/x", CAT_OBJ_FILE, T0, 100);
	put(fx, a, "/home/x", CAT_OBJ_FILE, T0 + 1, 150);	/* 2 versions */
	put(fx, a, "/home/y", CAT_OBJ_FILE, T0, 1);
	put(fx, b, "/var/z", CAT_OBJ_FILE, T0, 7);

	assert_non_null(oc = calloc(1, sizeof(*oc)));
	OK(cat_occupancy(fx->c, "web1", collect_occ, oc, &e_));
	assert_int_equal(oc->n, 2);
	assert_string_equal(oc->o[0].node, "WEB1");
	assert_string_equal(oc->o[0].fs, "/home");
	assert_int_equal(oc->o[0].objects, 3);
	assert_int_equal(oc->o[0].logical_bytes, 251);
	assert_string_equal(oc->o[1].fs, "/var");
	assert_int_equal(oc->o[1].objects, 1);
	assert_int_equal(oc->o[1].logical_bytes, 7);
	oc->n = 0;
	OK(cat_occupancy(fx->c, NULL, collect_occ, oc, &e_));
	assert_int_equal(oc->n, 3);
	assert_string_equal(oc->o[0].node, "DB1");
	assert_int_equal(oc->o[0].objects, 0);
	assert_int_equal(oc->o[0].logical_bytes, 0);
	free(oc);
}

/* ---- query plans ---- */

static int
ignore_obj(void *arg, const struct cat_obj *o)
{
	return 0;
}

static int
ignore_dom(void *arg, const struct cat_domain *d)
{
	return 0;
}

static int
ignore_acc(void *arg, const struct cat_account *a)
{
	return 0;
}

static int
ignore_log(void *arg, const struct cat_actlog_row *r)
{
	return 0;
}

static int
ignore_occ(void *arg, const struct cat_occupancy *o)
{
	return 0;
}

/* Run every catalog function once, so every statement is prepared. */
static int
ignore_srv(void *arg, const struct cat_server *s)
{
	(void)arg;
	(void)s;
	return 0;
}

static int
ignore_repl(void *arg, const struct cat_repl *r)
{
	(void)arg;
	(void)r;
	return 0;
}

/* Every statement of cat_server.c, cat_repl.c and cat_node_copy. */
static void
exercise_replication(struct fixture *fx, const struct cat_account *a)
{
	struct cat_server s = server_def("peer", 1500);
	struct cat_repl r = repl_row("n", 1, "peer", T0);

	OK(cat_node_copy(fx->c, a, &e_));
	OK(cat_server_add(fx->c, &s, &e_));
	OK(cat_server_get(fx->c, "peer", &s, &e_));
	OK(cat_server_update(fx->c, &s, &e_));
	OK(cat_server_list(fx->c, ignore_srv, NULL, &e_));
	OK(cat_server_delete(fx->c, "peer", &e_));
	OK(cat_repl_set(fx->c, &r, &e_));
	OK(cat_repl_list(fx->c, "n", ignore_repl, NULL, &e_));
	OK(cat_repl_list(fx->c, NULL, ignore_repl, NULL, &e_));
}

static int
ignore_dc(void *arg, const struct cat_devclass *d)
{
	(void)arg;
	(void)d;
	return 0;
}

static int
ignore_vol(void *arg, const struct cat_volume *v)
{
	(void)arg;
	(void)v;
	return 0;
}

/* Every statement of cat_vol.c (test_cat_vol.c checks what they do). */
static void
exercise_volumes(struct fixture *fx)
{
	struct cat_devclass d;
	struct cat_volume v;
	uint64_t n;
	uint32_t next;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "DC");
	snprintf(d.devtype, sizeof(d.devtype), "FILE");
	snprintf(d.directory, sizeof(d.directory), "/v");
	d.maxcap = 1u << 20;
	OK(cat_devclass_add(fx->c, &d, &e_));
	OK(cat_devclass_get(fx->c, "DC", &d, &e_));
	OK(cat_devclass_update(fx->c, &d, &e_));
	OK(cat_devclass_list(fx->c, ignore_dc, NULL, &e_));
	OK(cat_devclass_delete(fx->c, "DC", &e_));
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "V1");
	snprintf(v.devclass, sizeof(v.devclass), "DC");
	v.kind = CAT_VOL_EXPORT;
	OK(cat_volume_add(fx->c, &v, &e_));
	OK(cat_volume_get(fx->c, "V1", &v, &e_));
	OK(cat_volume_update(fx->c, &v, &e_));
	OK(cat_volume_set_bytes(fx->c, "V1", 1, &e_));
	assert_int_equal(cat_volume_delete(fx->c, "NO-SUCH", NULL),
	    COFFER_ENOTFOUND);
	OK(cat_volume_list(fx->c, 0, ignore_vol, NULL, &e_));
	OK(cat_volume_list(fx->c, CAT_VOL_EXPORT, ignore_vol, NULL, &e_));
	OK(cat_devclass_volumes(fx->c, "DC", &n, &e_));
	/* Serials are the server's: the next after the highest "Cnnnnn". */
	OK(cat_volume_next_serial(fx->c, &next, &e_));
	assert_int_equal(next, 1);		/* "V1" is no Cnnnnn */
	snprintf(v.name, sizeof(v.name), "C00041");
	OK(cat_volume_add(fx->c, &v, &e_));
	snprintf(v.name, sizeof(v.name), "C00007");
	OK(cat_volume_add(fx->c, &v, &e_));
	OK(cat_volume_next_serial(fx->c, &next, &e_));
	assert_int_equal(next, 42);
}

static int
ignore_sched(void *arg, const struct cat_sched *s)
{
	(void)arg;
	(void)s;
	return 0;
}

/* Every statement of cat_sched.c (test_adm_sched.c checks what they do). */
static void
exercise_schedules(struct fixture *fx)
{
	struct cat_sched *s = calloc(1, sizeof(*s)), *v = NULL;
	struct cat_assoc as, *av = NULL;
	struct cat_event ev, *evs = NULL;
	size_t n;

	assert_non_null(s);
	snprintf(s->domain, sizeof(s->domain), "D");
	snprintf(s->name, sizeof(s->name), "S");
	s->type = CAT_SCHED_CLIENT;
	s->first_start = T0;
	s->duration_s = 60;
	s->period_s = 3600;
	OK(cat_sched_add(fx->c, s, &e_));
	OK(cat_sched_get(fx->c, "D", "S", s, &e_));
	OK(cat_sched_update(fx->c, s, &e_));
	OK(cat_sched_list(fx->c, 0, ignore_sched, NULL, &e_));
	OK(cat_sched_array(fx->c, CAT_SCHED_CLIENT, &v, &n, &e_));
	assert_int_equal(n, 1);
	free(v);
	memset(&as, 0, sizeof(as));
	snprintf(as.domain, sizeof(as.domain), "D");
	snprintf(as.schedule, sizeof(as.schedule), "S");
	snprintf(as.node, sizeof(as.node), "N");
	OK(cat_assoc_add(fx->c, &as, &e_));
	OK(cat_assoc_array(fx->c, NULL, NULL, "N", &av, &n, &e_));
	assert_int_equal(n, 1);
	free(av);
	OK(cat_assoc_delete(fx->c, &as, &e_));
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.domain, sizeof(ev.domain), "D");
	snprintf(ev.schedule, sizeof(ev.schedule), "S");
	snprintf(ev.node, sizeof(ev.node), "N");
	ev.window_start = T0;
	ev.status = 1;
	ev.rc = -1;
	OK(cat_event_put(fx->c, &ev, &e_));
	OK(cat_event_get(fx->c, "D", "S", "N", T0, &ev, &e_));
	assert_int_equal(ev.rc, -1);
	OK(cat_event_array(fx->c, "D", "S", T0, T0 + 1, &evs, &n, &e_));
	assert_int_equal(n, 1);
	free(evs);
	OK(cat_sched_delete(fx->c, "D", "S", &e_));
	free(s);
}

static void
exercise_everything(struct fixture *fx)
{
	struct cat_domain d = domain("D", 1, 0, 0, 0), dg;
	struct cat_account a = account(CAT_KIND_NODE, "n", "D"), ag;
	struct cat_expire_report rep;
	struct cat_fs fs;
	char buf[16];
	uint64_t id;
	int locked, more;

	OK(cat_setting_set(fx->c, "k", "v", &e_));
	OK(cat_setting_get(fx->c, "k", buf, sizeof(buf), &e_));
	OK(cat_domain_define(fx->c, &d, &e_));
	OK(cat_domain_update(fx->c, &d, &e_));
	OK(cat_domain_get(fx->c, "D", &dg, &e_));
	OK(cat_domain_list(fx->c, ignore_dom, NULL, &e_));
	OK(cat_account_add(fx->c, &a, &e_));
	OK(cat_account_get(fx->c, CAT_KIND_NODE, "n", &ag, &e_));
	OK(cat_account_update(fx->c, &ag, &e_));
	OK(cat_account_list(fx->c, CAT_KIND_NODE, "*", ignore_acc, NULL,
	    &e_));
	OK(cat_account_logon(fx->c, CAT_KIND_NODE, "n", 0, 5, &locked, &e_));
	OK(cat_account_logon(fx->c, CAT_KIND_NODE, "n", 1, 5, &locked, &e_));
	id = make_fs(fx, "n", "/");
	OK(cat_fs_get(fx->c, "n", "/", &fs, &e_));
	OK(cat_fs_get_id(fx->c, id, &fs, &e_));
	OK(cat_fs_set_backup(fx->c, id, T0, T0, &e_));
	OK(cat_fs_set_dr(fx->c, id, 1, 2, &e_));
	OK(cat_fs_set_replrule(fx->c, id, CAT_REPLRULE_ACTIVE, &e_));
	OK(cat_fs_list(fx->c, NULL, count_fs, &more, &e_));
	OK(cat_occupancy(fx->c, "n", ignore_occ, NULL, &e_));
	put(fx, id, "/x", CAT_OBJ_DIR, T0, 0);
	put(fx, id, "/x", CAT_OBJ_DIR, T0 + 1, 0);
	OK(cat_obj_update_meta(fx->c, id, "/x", 0, 0, 0, 0, &e_));
	OK(cat_obj_get(fx->c, 1, ignore_obj, NULL, &e_));
	OK(cat_obj_inventory(fx->c, id, "", 0, ignore_obj, NULL, &more, &e_));
	for (int pit = 0; pit < 2; pit++)
		for (int in = 0; in < 2; in++)
			for (int p = 0; p < 2; p++)
				OK(cat_obj_query(fx->c, id, p ? "/x" : "",
				    pit ? T0 : 0, in, NULL, 0, ignore_obj,
				    NULL, &more, &e_));
	OK(cat_begin(fx->c, &e_));
	OK(cat_expire(fx->c, NULL, T0 + 2, &rep, &e_));
	cat_rollback(fx->c);
	OK(cat_obj_deactivate(fx->c, id, "/x", T0 + 2, &e_));
	assert_int_equal(cat_account_remove(fx->c, CAT_KIND_NODE, "n", NULL),
	    COFFER_EBUSY);
	assert_int_equal(cat_account_remove(fx->c, CAT_KIND_ADMIN, "n", NULL),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_actlog(fx->c, 'I', 1, NULL, "x"), 0);
	OK(cat_actlog_query(fx->c, 0, "x", ignore_log, NULL, &e_));
	exercise_replication(fx, &ag);
	exercise_volumes(fx);
	exercise_schedules(fx);
	{
		uint8_t dig[32], u[16];
		uint64_t cnt;
		struct uuid_rows ur;

		memset(&ur, 0, sizeof(ur));
		OK(cat_obj_digest(fx->c, id, 0, dig, &cnt, &e_));
		OK(cat_obj_digest(fx->c, id, 1, dig, &cnt, &e_));
		{
			uint8_t mk[2][16];
			size_t nm;

			OK(cat_obj_uuid_marks(fx->c, id, 0, 1, 2, mk, NULL, 2, &nm,
			    &e_));
			OK(cat_obj_uuid_marks(fx->c, id, 1, 1, 2, mk, NULL, 2, &nm,
			    &e_));
		}
		OK(cat_obj_uuid_walk(fx->c, id, NULL, 0, 1, ignore_obj, NULL,
		    &more, &e_));
		OK(cat_obj_uuid_walk(fx->c, id, NULL, 0, 0, collect_uuid, &ur,
		    &more, &e_));
		memcpy(u, ur.uuid[0], 16);
		OK(cat_obj_get_uuid(fx->c, id, u, ignore_obj, NULL, &e_));
		OK(cat_obj_set_state(fx->c, id, u, 0, T0 + 3, &e_));
		OK(cat_obj_delete_uuid(fx->c, id, u, &e_));
	}
}


/*
 * Replication's view: versions by uuid, a digest that changes with any
 * state change, and copies that keep the original's uuid and times.
 */
static void
cat_obj_by_uuid_copies_digests_and_changes(void **state)
{
	struct fixture *fx = *state;
	struct uuid_rows a, b, one;
	struct cat_obj o;
	uint8_t da[32], db[32];
	uint64_t fa, fb = 0, na, nb;
	struct cat *t = NULL;
	char tpath[192];
	int more;

	fa = make_fs(fx, "src", "/a");
	/* The target is another server: another catalog. */
	snprintf(tpath, sizeof(tpath), "%s/target.db", fx->dir);
	OK(cat_open(tpath, &t, &e_));
	OK(cat_fs_open(t, "src", "/b", "ext4", &fb, &e_));
	put(fx, fa, "/a/x", CAT_OBJ_FILE, T0, 1);
	put(fx, fa, "/a/x", CAT_OBJ_FILE, T0 + 10, 2);	/* x v1 inactive */
	put(fx, fa, "/a/y", CAT_OBJ_FILE, T0 + 5, 3);
	memset(&a, 0, sizeof(a));
	OK(cat_obj_uuid_walk(fx->c, fa, NULL, 0, 0, collect_uuid, &a, &more,
	    &e_));
	assert_int_equal(a.n, 3);
	assert_int_equal(more, 0);
	for (int i = 1; i < a.n; i++)
		assert_true(memcmp(a.uuid[i - 1], a.uuid[i], 16) < 0);
	/* Pages continue after the last uuid seen. */
	memset(&one, 0, sizeof(one));
	OK(cat_obj_uuid_walk(fx->c, fa, NULL, 1, 0, collect_uuid, &one, &more,
	    &e_));
	assert_int_equal(one.n, 1);
	assert_int_equal(more, 1);
	memset(&one, 0, sizeof(one));
	OK(cat_obj_uuid_walk(fx->c, fa, a.uuid[0], 0, 1, collect_uuid, &one,
	    &more, &e_));
	for (int i = 0; i < one.n; i++)
		assert_int_equal(one.state[i], CAT_ACTIVE);

	/* Copy every version of /a into /b, as a replication target would. */
	for (int i = 0; i < a.n; i++) {
		struct rows *rs = query(fx, fa, "", 0, 1);

		for (int k = 0; k < rs->n; k++) {
			if (memcmp(rs->uuid[k], a.uuid[i], 16) != 0)
				continue;
			init_obj(&o, fb, rs->path[k][3] == 'x' ? "/b/x" :
			    "/b/y", CAT_OBJ_FILE, rs->inserted[k],
			    rs->size[k]);
			memcpy(o.uuid, rs->uuid[k], 16);
			o.state = rs->state[k];
			o.deactivated = rs->deactivated[k];
			OK(cat_obj_insert_copy(t, &o, &e_));
		}
	}
	memset(&b, 0, sizeof(b));
	OK(cat_obj_uuid_walk(t, fb, NULL, 0, 0, collect_uuid, &b, &more,
	    &e_));
	assert_int_equal(b.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(a.uuid[i], b.uuid[i], 16);
		assert_int_equal(a.state[i], b.state[i]);
		assert_int_equal(a.deact[i], b.deact[i]);
	}
	OK(cat_obj_digest(fx->c, fa, 0, da, &na, &e_));
	OK(cat_obj_digest(t, fb, 0, db, &nb, &e_));
	assert_int_equal(na, 3);
	assert_int_equal(nb, 3);
	assert_memory_equal(da, db, 32);
	assert_int_equal(cat_obj_insert_copy(t, &o, NULL), COFFER_EEXIST);

	/* A deactivation changes the digest; mirroring it makes them equal. */
	OK(cat_obj_deactivate(fx->c, fa, "/a/y", T0 + 20, &e_));
	OK(cat_obj_digest(fx->c, fa, 0, da, &na, &e_));
	assert_memory_not_equal(da, db, 32);
	memset(&a, 0, sizeof(a));
	OK(cat_obj_uuid_walk(fx->c, fa, NULL, 0, 0, collect_uuid, &a, &more,
	    &e_));
	for (int i = 0; i < a.n; i++)
		if (a.state[i] != b.state[i])
			OK(cat_obj_set_state(t, fb, a.uuid[i], a.state[i],
			    a.deact[i], &e_));
	OK(cat_obj_digest(t, fb, 0, db, &nb, &e_));
	assert_memory_equal(da, db, 32);
	/* Active only: two versions fewer. */
	OK(cat_obj_digest(fx->c, fa, 1, da, &na, &e_));
	assert_int_equal(na, 1);

	/* Deletion by uuid, and what is not there. */
	OK(cat_obj_get_uuid(t, fb, b.uuid[0], ignore_obj, NULL, &e_));
	OK(cat_obj_delete_uuid(t, fb, b.uuid[0], &e_));
	assert_int_equal(cat_obj_delete_uuid(t, fb, b.uuid[0], NULL),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_obj_get_uuid(t, fb, b.uuid[0], ignore_obj,
	    NULL, NULL), COFFER_ENOTFOUND);
	assert_int_equal(cat_obj_set_state(t, fb, b.uuid[0], 0, 1, NULL),
	    COFFER_ENOTFOUND);
	cat_close(t);		/* teardown removes the directory */
}

static void
cat_statements_use_indexes_without_sorting(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = cat_db(fx->c);
	char *sql[CAT_ST_COUNT + 8];
	int nsql = 0, show = getenv("CAT_SHOW_PLANS") != NULL;

	exercise_everything(fx);
	for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p != NULL;
	    p = sqlite3_next_stmt(db, p)) {
		assert_true(nsql < CAT_ST_COUNT + 8);
		assert_non_null(sql[nsql++] = strdup(sqlite3_sql(p)));
	}
	/* Prepared lazily, each once, and every one of them was used. */
	assert_int_equal(nsql, CAT_ST_COUNT);
	for (int i = 0; i < nsql; i++) {
		char q[2048];
		sqlite3_stmt *st = NULL;

		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql[i]);
		assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL),
		    SQLITE_OK);
		if (show)
			printf("%s\n", sql[i]);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)
			    sqlite3_column_text(st, 3);

			if (show)
				printf("    %s\n", detail);
			if (strstr(detail, "TEMP B-TREE") != NULL ||
			    strncmp(detail, "SCAN object", 11) == 0 ||
			    strncmp(detail, "SCAN o ", 7) == 0 ||
			    strcmp(detail, "SCAN o") == 0 ||
			    strncmp(detail, "SCAN actlog", 11) == 0)
				fail_msg("%s\n  plan: %s", sql[i], detail);
		}
		sqlite3_finalize(st);
		free(sql[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(cat_open_creates_schema_and_reopens),
		T(cat_setting_set_get_and_int_default),
		T(cat_name_normalize_upper_cases_and_rejects_bad_names),
		T(cat_pkey_maps_slash_to_zero),
		T(cat_domain_define_get_update_and_duplicate),
		T(cat_account_add_get_list_and_duplicate),
		T(cat_account_logon_counts_failures_and_locks_at_limit),
		T(cat_account_remove_node_with_filespaces_is_busy),
		T(cat_fs_open_is_idempotent),
		T(cat_fs_set_dr_round_trips_through_every_getter),
		T(cat_open_adds_dr_columns_to_an_older_catalog),
		T(cat_fs_counts_follow_inserts_and_expiration),
		T(cat_open_counts_the_versions_of_an_older_catalog),
		T(cat_server_round_trips_and_refuses_duplicates),
		T(cat_server_rejects_bad_definitions),
		T(cat_repl_set_upserts_per_node_filespace_and_target),
		T(cat_node_copy_creates_then_updates_without_touching_lock),
		T(cat_account_last_repl_and_fs_replrule_round_trip),
		T(cat_open_adds_replication_columns_to_an_older_catalog),
		T(cat_open_widens_an_older_uuid_index),
		T(cat_obj_insert_makes_previous_version_inactive),
		T(cat_obj_insert_new_and_existing_keys_in_one_transaction),
		T(cat_obj_uuid_assigned_and_preserved),
		T(cat_obj_inventory_is_walk_order_with_pages),
		T(cat_obj_query_pit_returns_version_active_then),
		T(cat_obj_query_prefix_is_dir_and_subtree_only),
		T(cat_obj_query_inactive_pages_never_split_a_path),
		T(cat_obj_deactivate_and_update_meta_need_active_version),
		T(cat_obj_get_finds_by_id),
		T(cat_obj_by_uuid_copies_digests_and_changes),
		T(cat_obj_uuid_marks_cut_equal_weights),
		T(cat_expire_releases_chunks_per_policy),
		T(cat_expire_batches_many_paths),
		T(cat_expire_batch_cursor),
		T(cat_actlog_query_filters_by_time_and_search),
		T(cat_occupancy_counts_versions_per_filespace),
		T(cat_statements_use_indexes_without_sorting),
#undef T
	};

	return cmocka_run_group_tests_name("cat", tests, NULL, NULL);
}
