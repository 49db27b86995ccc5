/*
 * test_cat_vol.c - device classes, sequential volumes and the DRM state
 * machine: definitions round-trip and are checked, a class in use cannot
 * be deleted, volumes list in volume-history order, an older catalog gains
 * the new tables when opened, and every move between the seven DRM states
 * is allowed or refused exactly as drm.h draws it.
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

#include <sqlite3.h>

#include "cat.h"
#include "drm.h"
#include "err.h"
#include "util.h"

struct fixture {
	char		 dir[64];
	char		 db[128];
	struct cat	*c;
};

static int
setup(void **state)
{
	struct fixture *fx;
	struct err e;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_cat_vol.XXXXXX");
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

	cat_close(fx->c);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

#define OK(call) do {							\
	struct err e_;							\
	int r_;								\
	err_clear(&e_);							\
	if ((r_ = (call)) != 0)						\
		fail_msg("%s: %s (%d)", #call, e_.msg, r_);		\
} while (0)

static struct cat_devclass
dc(const char *name, const char *dir, uint64_t maxcap)
{
	struct cat_devclass d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.devtype, sizeof(d.devtype), "FILE");
	snprintf(d.directory, sizeof(d.directory), "%s", dir);
	d.maxcap = maxcap;
	return d;
}

static struct cat_volume
vol(const char *name, int kind, uint8_t set, uint32_t seq, int64_t created)
{
	struct cat_volume v;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.path, sizeof(v.path), "/vols/%s.vol", name);
	snprintf(v.devclass, sizeof(v.devclass), "FILEDEV");
	v.kind = kind;
	memset(v.set_uuid, set, sizeof(v.set_uuid));
	v.seq = seq;
	v.state = CAT_DRM_MOUNTABLE;
	v.created = created;
	v.state_changed = created;
	v.bytes = 1000u * seq;
	return v;
}

struct dc_rows {
	int	n;
	char	name[8][CAT_NAME_MAX + 1];
};

static int
dc_collect(void *arg, const struct cat_devclass *d)
{
	struct dc_rows *rs = arg;

	assert_true(rs->n < 8);
	snprintf(rs->name[rs->n++], sizeof(rs->name[0]), "%s", d->name);
	return 0;
}

struct vol_rows {
	int	n;
	char	name[16][65];
};

static int
vol_collect(void *arg, const struct cat_volume *v)
{
	struct vol_rows *rs = arg;

	assert_true(rs->n < 16);
	snprintf(rs->name[rs->n++], sizeof(rs->name[0]), "%s", v->name);
	return 0;
}

/* ---- device classes ---- */

static void
cat_devclass_round_trips_updates_and_lists(void **state)
{
	struct fixture *fx = *state;
	struct cat_devclass d = dc("fileDev", "/srv/vols", 2u << 30), g;
	struct dc_rows rs = { 0 };

	d.defined = 1700000000;
	OK(cat_devclass_add(fx->c, &d, &e_));
	OK(cat_devclass_get(fx->c, "filedev", &g, &e_));
	assert_string_equal(g.name, "FILEDEV");
	assert_string_equal(g.devtype, "FILE");
	assert_string_equal(g.directory, "/srv/vols");
	assert_true(g.maxcap == (2ull << 30));
	assert_int_equal(g.defined, 1700000000);

	snprintf(g.directory, sizeof(g.directory), "/srv/other");
	g.maxcap = 5u << 20;
	OK(cat_devclass_update(fx->c, &g, &e_));
	OK(cat_devclass_get(fx->c, "FILEDEV", &g, &e_));
	assert_string_equal(g.directory, "/srv/other");
	assert_true(g.maxcap == (5u << 20));
	assert_int_equal(g.defined, 1700000000);	/* kept */

	d = dc("ADEV", "/a", 1u << 20);
	OK(cat_devclass_add(fx->c, &d, &e_));
	OK(cat_devclass_list(fx->c, dc_collect, &rs, &e_));
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.name[0], "ADEV");
	assert_string_equal(rs.name[1], "FILEDEV");
}

static void
cat_devclass_refuses_duplicates_and_bad_definitions(void **state)
{
	struct fixture *fx = *state;
	struct cat_devclass d = dc("DC1", "/v", 1u << 20);
	struct err e;

	OK(cat_devclass_add(fx->c, &d, &e_));
	assert_int_equal(cat_devclass_add(fx->c, &d, &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "DC1"));

	d = dc("DC2", "relative/dir", 1u << 20);
	assert_int_equal(cat_devclass_add(fx->c, &d, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "absolute"));
	d = dc("DC2", "/v", 0);
	assert_int_equal(cat_devclass_add(fx->c, &d, &e), COFFER_EINVAL);
	d = dc("DC2", "/v", 1u << 20);
	snprintf(d.devtype, sizeof(d.devtype), "LTO");
	assert_int_equal(cat_devclass_add(fx->c, &d, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "LTO"));
	d = dc("bad name!", "/v", 1u << 20);
	assert_int_equal(cat_devclass_add(fx->c, &d, &e), COFFER_EINVAL);

	assert_int_equal(cat_devclass_get(fx->c, "NOPE", &d, &e),
	    COFFER_ENOTFOUND);
	d = dc("NOPE", "/v", 1u << 20);
	assert_int_equal(cat_devclass_update(fx->c, &d, &e), COFFER_ENOTFOUND);
	assert_int_equal(cat_devclass_delete(fx->c, "NOPE", &e),
	    COFFER_ENOTFOUND);
}

static void
cat_devclass_delete_is_busy_while_volumes_use_it(void **state)
{
	struct fixture *fx = *state;
	struct cat_devclass d = dc("FILEDEV", "/v", 1u << 20);
	struct cat_volume v = vol("V1", CAT_VOL_DBBACKUP, 1, 1, 100);
	uint64_t n = 9;
	struct err e;

	OK(cat_devclass_add(fx->c, &d, &e_));
	OK(cat_devclass_volumes(fx->c, "FILEDEV", &n, &e_));
	assert_int_equal(n, 0);
	OK(cat_volume_add(fx->c, &v, &e_));
	OK(cat_devclass_volumes(fx->c, "filedev", &n, &e_));
	assert_int_equal(n, 1);
	assert_int_equal(cat_devclass_delete(fx->c, "FILEDEV", &e),
	    COFFER_EBUSY);
	assert_non_null(strstr(e.msg, "1 volumes"));
	OK(cat_devclass_get(fx->c, "FILEDEV", &d, &e_));	/* still there */

	/* Without the volume it goes. */
	assert_int_equal(sqlite3_exec(cat_db(fx->c), "DELETE FROM volume",
	    NULL, NULL, NULL), SQLITE_OK);
	OK(cat_devclass_delete(fx->c, "filedev", &e_));
	assert_int_equal(cat_devclass_get(fx->c, "FILEDEV", &d, &e),
	    COFFER_ENOTFOUND);
}

/* ---- volumes ---- */

static void
cat_volume_round_trips_every_field(void **state)
{
	struct fixture *fx = *state;
	struct cat_volume v = vol("C00001", CAT_VOL_EXPORT, 7, 2, 1234), g;
	struct err e;

	snprintf(v.location, sizeof(v.location), "Iron Mountain");
	snprintf(v.node, sizeof(v.node), "WEB*");
	v.state = CAT_DRM_VAULT;
	v.state_changed = 5678;
	OK(cat_volume_add(fx->c, &v, &e_));
	/* Serials are looked up in any case. */
	OK(cat_volume_get(fx->c, "c00001", &g, &e_));
	assert_memory_equal(&v, &g, sizeof(v));
	assert_int_equal(cat_volume_add(fx->c, &v, &e), COFFER_EEXIST);

	g.state = CAT_DRM_VAULTRETRIEVE;
	g.state_changed = 9999;
	snprintf(g.location, sizeof(g.location), "VAULT");
	OK(cat_volume_update(fx->c, &g, &e_));
	OK(cat_volume_set_bytes(fx->c, "C00001", 77777, &e_));
	OK(cat_volume_get(fx->c, "C00001", &v, &e_));
	assert_int_equal(v.state, CAT_DRM_VAULTRETRIEVE);
	assert_int_equal(v.state_changed, 9999);
	assert_string_equal(v.location, "VAULT");
	assert_int_equal(v.bytes, 77777);
	assert_int_equal(v.created, 1234);

	assert_int_equal(cat_volume_get(fx->c, "NONE", &v, &e),
	    COFFER_ENOTFOUND);
	assert_int_equal(cat_volume_set_bytes(fx->c, "NONE", 1, &e),
	    COFFER_ENOTFOUND);
	v = vol("NONE", CAT_VOL_EXPORT, 1, 1, 1);
	assert_int_equal(cat_volume_update(fx->c, &v, &e), COFFER_ENOTFOUND);
}

static void
cat_volume_rejects_bad_kind_and_state(void **state)
{
	struct fixture *fx = *state;
	struct cat_volume v = vol("V1", 3, 1, 1, 1);
	struct err e;

	assert_int_equal(cat_volume_add(fx->c, &v, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "kind 3"));
	v = vol("V1", CAT_VOL_EXPORT, 1, 1, 1);
	v.state = CAT_DRM_NSTATES;
	assert_int_equal(cat_volume_add(fx->c, &v, &e), COFFER_EINVAL);
	v.state = -1;
	assert_int_equal(cat_volume_add(fx->c, &v, &e), COFFER_EINVAL);
	v = vol("", CAT_VOL_EXPORT, 1, 1, 1);
	assert_int_equal(cat_volume_add(fx->c, &v, &e), COFFER_EINVAL);
}

static void
cat_volume_list_is_history_order_and_filters_kind(void **state)
{
	struct fixture *fx = *state;
	struct cat_volume v;
	struct vol_rows all = { 0 }, db = { 0 }, ex = { 0 };

	/* Inserted out of order: a set's volumes come back by seq. */
	v = vol("B2", CAT_VOL_DBBACKUP, 2, 2, 200);
	OK(cat_volume_add(fx->c, &v, &e_));
	v = vol("A1", CAT_VOL_EXPORT, 1, 1, 100);
	OK(cat_volume_add(fx->c, &v, &e_));
	v = vol("B1", CAT_VOL_DBBACKUP, 2, 1, 200);
	OK(cat_volume_add(fx->c, &v, &e_));
	v = vol("C1", CAT_VOL_EXPORT, 3, 1, 300);
	OK(cat_volume_add(fx->c, &v, &e_));

	OK(cat_volume_list(fx->c, 0, vol_collect, &all, &e_));
	assert_int_equal(all.n, 4);
	assert_string_equal(all.name[0], "A1");
	assert_string_equal(all.name[1], "B1");
	assert_string_equal(all.name[2], "B2");
	assert_string_equal(all.name[3], "C1");
	OK(cat_volume_list(fx->c, CAT_VOL_DBBACKUP, vol_collect, &db, &e_));
	assert_int_equal(db.n, 2);
	assert_string_equal(db.name[0], "B1");
	OK(cat_volume_list(fx->c, CAT_VOL_EXPORT, vol_collect, &ex, &e_));
	assert_int_equal(ex.n, 2);
	assert_string_equal(ex.name[1], "C1");
}

static int
stop_at_first(void *arg, const struct cat_volume *v)
{
	(void)v;
	(*(int *)arg)++;
	return 42;
}

static void
cat_volume_list_stops_when_the_callback_says_so(void **state)
{
	struct fixture *fx = *state;
	struct cat_volume v;
	int calls = 0;

	v = vol("A1", CAT_VOL_EXPORT, 1, 1, 100);
	OK(cat_volume_add(fx->c, &v, &e_));
	v = vol("A2", CAT_VOL_EXPORT, 1, 2, 100);
	OK(cat_volume_add(fx->c, &v, &e_));
	assert_int_equal(cat_volume_list(fx->c, 0, stop_at_first, &calls,
	    NULL), 42);
	assert_int_equal(calls, 1);
}

/*
 * A catalog from before device classes and volumes (format 1 as shipped,
 * reduced to a setting and a node): it opens, keeps its rows, and takes
 * device classes and volumes; a second open changes nothing.
 */
static void
cat_open_adds_volume_tables_to_an_older_catalog(void **state)
{
	struct fixture *fx = *state;
	char path[160], val[16];
	sqlite3 *db = NULL;
	struct cat *c = NULL;
	struct cat_devclass d;
	struct cat_volume v;

	snprintf(path, sizeof(path), "%s/old.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE setting(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	    "INSERT INTO setting VALUES('catalog_format', '1');"
	    "INSERT INTO setting VALUES('name', 'OLDSRV');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	for (int pass = 0; pass < 2; pass++) {
		OK(cat_open(path, &c, &e_));
		OK(cat_setting_get(c, "name", val, sizeof(val), &e_));
		assert_string_equal(val, "OLDSRV");
		if (pass == 0) {
			d = dc("FILEDEV", "/v", 1u << 20);
			OK(cat_devclass_add(c, &d, &e_));
			v = vol("V1", CAT_VOL_DBBACKUP, 1, 1, 10);
			OK(cat_volume_add(c, &v, &e_));
		}
		OK(cat_devclass_get(c, "FILEDEV", &d, &e_));
		OK(cat_volume_get(c, "V1", &v, &e_));
		assert_int_equal(v.kind, CAT_VOL_DBBACKUP);
		cat_close(c);
		c = NULL;
	}
}

/* ---- the DRM state machine ---- */

/* The moves drm.h draws, as a matrix [from][to]. */
static const int legal[CAT_DRM_NSTATES][CAT_DRM_NSTATES] = {
	/* to:  MO NM CO VA VR CR OR */
	[CAT_DRM_MOUNTABLE] =		{ 0, 1, 1, 1, 0, 0, 0 },
	[CAT_DRM_NOTMOUNTABLE] =	{ 0, 0, 1, 1, 0, 0, 0 },
	[CAT_DRM_COURIER] =		{ 0, 0, 0, 1, 0, 0, 0 },
	[CAT_DRM_VAULT] =		{ 0, 0, 0, 0, 1, 0, 0 },
	[CAT_DRM_VAULTRETRIEVE] =	{ 0, 0, 0, 0, 0, 1, 1 },
	[CAT_DRM_COURIERRETRIEVE] =	{ 0, 0, 0, 0, 0, 0, 1 },
	[CAT_DRM_ONSITERETRIEVE] =	{ 1, 0, 0, 0, 0, 0, 0 },
};

static void
drm_every_move_is_allowed_or_refused_as_drawn(void **state)
{
	(void)state;
	for (int from = 0; from < CAT_DRM_NSTATES; from++)
		for (int to = 0; to < CAT_DRM_NSTATES; to++)
			if (drm_move_allowed(from, to) != legal[from][to])
				fail_msg("%s -> %s: allowed %d, expected %d",
				    drm_state_name(from), drm_state_name(to),
				    drm_move_allowed(from, to),
				    legal[from][to]);
	assert_false(drm_move_allowed(-1, CAT_DRM_VAULT));
	assert_false(drm_move_allowed(CAT_DRM_MOUNTABLE, CAT_DRM_NSTATES));
}

static void
drm_default_targets_are_the_next_state(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(drm_default_target(CAT_DRM_MOUNTABLE),
	    CAT_DRM_NOTMOUNTABLE);
	assert_int_equal(drm_default_target(CAT_DRM_NOTMOUNTABLE),
	    CAT_DRM_COURIER);
	assert_int_equal(drm_default_target(CAT_DRM_COURIER), CAT_DRM_VAULT);
	assert_int_equal(drm_default_target(CAT_DRM_VAULT),
	    CAT_DRM_VAULTRETRIEVE);
	assert_int_equal(drm_default_target(CAT_DRM_VAULTRETRIEVE),
	    CAT_DRM_COURIERRETRIEVE);
	assert_int_equal(drm_default_target(CAT_DRM_COURIERRETRIEVE),
	    CAT_DRM_ONSITERETRIEVE);
	assert_int_equal(drm_default_target(CAT_DRM_ONSITERETRIEVE),
	    CAT_DRM_MOUNTABLE);
	/* Every default is itself a legal move. */
	for (int s = 0; s < CAT_DRM_NSTATES; s++)
		assert_true(drm_move_allowed(s, drm_default_target(s)));
	assert_string_equal(drm_targets(CAT_DRM_MOUNTABLE, buf, sizeof(buf)),
	    "NOTMOUNTABLE, COURIER, VAULT");
	assert_string_equal(drm_targets(CAT_DRM_COURIER, buf, sizeof(buf)),
	    "VAULT");
	assert_string_equal(drm_default_location(CAT_DRM_VAULT), "VAULT");
	assert_string_equal(drm_default_location(CAT_DRM_MOUNTABLE), "");
}

static void
drm_state_parse_takes_tsm_abbreviations(void **state)
{
	(void)state;
	for (int s = 0; s < CAT_DRM_NSTATES; s++)
		assert_int_equal(drm_state_parse(drm_state_name(s)), s);
	assert_int_equal(drm_state_parse("mo"), CAT_DRM_MOUNTABLE);
	assert_int_equal(drm_state_parse("notm"), -1);	/* too short */
	assert_int_equal(drm_state_parse("NOTMO"), CAT_DRM_NOTMOUNTABLE);
	assert_int_equal(drm_state_parse("cou"), CAT_DRM_COURIER);
	assert_int_equal(drm_state_parse("courier"), CAT_DRM_COURIER);
	assert_int_equal(drm_state_parse("courierr"),
	    CAT_DRM_COURIERRETRIEVE);
	assert_int_equal(drm_state_parse("va"), CAT_DRM_VAULT);
	assert_int_equal(drm_state_parse("vault"), CAT_DRM_VAULT);
	assert_int_equal(drm_state_parse("vaultr"), CAT_DRM_VAULTRETRIEVE);
	assert_int_equal(drm_state_parse("onsiter"), CAT_DRM_ONSITERETRIEVE);
	assert_int_equal(drm_state_parse("c"), -1);
	assert_int_equal(drm_state_parse("vaulty"), -1);
	assert_int_equal(drm_state_parse(""), -1);
	assert_int_equal(drm_state_parse(NULL), -1);
	assert_string_equal(drm_state_name(99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(cat_devclass_round_trips_updates_and_lists),
		T(cat_devclass_refuses_duplicates_and_bad_definitions),
		T(cat_devclass_delete_is_busy_while_volumes_use_it),
		T(cat_volume_round_trips_every_field),
		T(cat_volume_rejects_bad_kind_and_state),
		T(cat_volume_list_is_history_order_and_filters_kind),
		T(cat_volume_list_stops_when_the_callback_says_so),
		T(cat_open_adds_volume_tables_to_an_older_catalog),
		cmocka_unit_test(drm_every_move_is_allowed_or_refused_as_drawn),
		cmocka_unit_test(drm_default_targets_are_the_next_state),
		cmocka_unit_test(drm_state_parse_takes_tsm_abbreviations),
#undef T
	};

	return cmocka_run_group_tests_name("cat_vol", tests, NULL, NULL);
}
