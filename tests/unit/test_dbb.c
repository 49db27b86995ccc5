/*
 * test_dbb.c - database backup and restore: the header record round
 * trips and refuses damage, a backup through real volumes restores to a
 * catalog with the same rows in another directory, and a restore from
 * the wrong set, an incomplete set or a missing volume leaves the old
 * catalog as it was.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cat.h"
#include "dbb.h"
#include "err.h"
#include "util.h"
#include "vol.h"

struct fixture {
	char		 dir[64];
	char		 src[PATH_MAX];		/* the instance backed up */
	char		 dst[PATH_MAX];		/* where it is restored */
	char		 vols[PATH_MAX];
	struct cat	*c;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char db[PATH_MAX + 32];
	struct cat_devclass d;
	struct err e;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-dbb-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->src, sizeof(fx->src), "%s/src", fx->dir);
	snprintf(fx->dst, sizeof(fx->dst), "%s/dst", fx->dir);
	snprintf(fx->vols, sizeof(fx->vols), "%s/vols", fx->dir);
	assert_int_equal(mkdir(fx->src, 0700), 0);
	assert_int_equal(mkdir(fx->dst, 0700), 0);
	assert_int_equal(mkdir(fx->vols, 0700), 0);
	snprintf(db, sizeof(db), "%s/catalog.db", fx->src);
	if (cat_open(db, &fx->c, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	assert_int_equal(cat_setting_set(fx->c, "name", "PRIMARY", &e), 0);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "FILEDEV");
	snprintf(d.devtype, sizeof(d.devtype), "FILE");
	snprintf(d.directory, sizeof(d.directory), "%s", fx->vols);
	d.maxcap = 1u << 20;	/* small: the set spans volumes */
	assert_int_equal(cat_devclass_add(fx->c, &d, &e), 0);
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

/* Enough rows that the snapshot spans several 1 MiB volumes. */
static void
fill(struct fixture *fx)
{
	char val[1024];

	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	OK(cat_begin(fx->c, &e_));
	for (int i = 0; i < 3000; i++) {
		char key[32];

		snprintf(key, sizeof(key), "k%05d", i);
		OK(cat_setting_set(fx->c, key, val, &e_));
	}
	OK(cat_commit(fx->c, &e_));
}

static void
backup(struct fixture *fx, struct dbb_backup_result *res)
{
	struct dbb_backup_params p;

	memset(&p, 0, sizeof(p));
	p.cat = fx->c;
	p.dir = fx->src;
	p.server = "PRIMARY";
	p.devclass = "filedev";
	OK(dbb_backup(&p, res, &e_));
}

/* res->volumes split into at most 64 paths. */
static size_t
split(struct dbb_backup_result *res, char *buf, size_t len,
    const char *out[64])
{
	size_t n = 0;
	char *save = NULL;

	snprintf(buf, len, "%s", res->volumes);
	for (char *v = strtok_r(buf, ",", &save); v != NULL && n < 64;
	    v = strtok_r(NULL, ",", &save))
		out[n++] = v;
	return n;
}

static void
dbb_header_round_trips_and_refuses_damage(void **state)
{
	struct dbb_header h, g;
	uint8_t b[DBB_HEADER_MAX];
	size_t n;
	struct err e;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.format = DBB_FORMAT;
	h.page_size = 4096;
	h.page_count = 10;
	h.db_bytes = 40960;
	h.created = 1700000000;
	snprintf(h.server, sizeof(h.server), "PRIMARY");
	n = dbb_header_encode(&h, b);
	OK(dbb_header_decode(b, n, &g, &e_));
	assert_memory_equal(&h, &g, sizeof(h));
	assert_int_equal(dbb_header_decode(b, n - 1, &g, &e),
	    COFFER_ECORRUPT);
	b[0] ^= 1;
	assert_int_equal(dbb_header_decode(b, n, &g, &e), COFFER_ECORRUPT);
	b[0] ^= 1;
	b[8] = 9;
	assert_int_equal(dbb_header_decode(b, n, &g, &e), COFFER_EVERSION);
	b[8] = DBB_FORMAT;
	b[12] = 1;	/* page size 4097 */
	assert_int_equal(dbb_header_decode(b, n, &g, &e), COFFER_ECORRUPT);
}

static void
dbb_backup_spans_volumes_and_restores_elsewhere(void **state)
{
	struct fixture *fx = *state;
	struct dbb_backup_result res;
	struct dbb_restore_result rr;
	const char *v[64];
	char buf[DBB_VOLUMES_MAX], db[PATH_MAX + 32], val[16], serial[80];
	struct cat_volume vol;
	struct cat *r = NULL;
	size_t n;

	fill(fx);
	backup(fx, &res);
	assert_true(res.nvols >= 2);
	assert_true(res.db_bytes > (2u << 20));
	n = split(&res, buf, sizeof(buf), v);
	assert_int_equal(n, res.nvols);
	/* The history knows them by serial, MOUNTABLE, in sequence. */
	snprintf(serial, sizeof(serial), "%s", strrchr(v[1], '/') + 1);
	if (strchr(serial, '.') != NULL)
		*strchr(serial, '.') = '\0';
	OK(cat_volume_get(fx->c, serial, &vol, &e_));
	assert_string_equal(vol.path, v[1]);
	assert_int_equal(vol.kind, CAT_VOL_DBBACKUP);
	assert_int_equal(vol.seq, 2);
	assert_int_equal(vol.state, CAT_DRM_MOUNTABLE);

	OK(dbb_restore(fx->dst, NULL, v, n, &rr, &e_));
	assert_string_equal(rr.hdr.server, "PRIMARY");
	assert_true(rr.hdr.db_bytes == res.db_bytes);
	snprintf(db, sizeof(db), "%s/catalog.db", fx->dst);
	OK(cat_open(db, &r, &e_));
	OK(cat_setting_get(r, "k02999", val, sizeof(val), NULL) ==
	    COFFER_ETOOBIG ? 0 : -1);
	OK(cat_setting_get(r, "name", val, sizeof(val), &e_));
	assert_string_equal(val, "PRIMARY");
	cat_close(r);
	snprintf(db, sizeof(db), "%s/volhist.txt", fx->dst);
	assert_int_equal(access(db, R_OK), 0);
	snprintf(db, sizeof(db), "%s/devconfig.txt", fx->dst);
	assert_int_equal(access(db, R_OK), 0);
}

static void
dbb_restore_by_name_in_the_devclass_directory(void **state)
{
	struct fixture *fx = *state;
	struct dbb_backup_result res;
	struct dbb_restore_result rr;
	const char *v[64], *names[64];
	char buf[DBB_VOLUMES_MAX];
	size_t n;

	backup(fx, &res);
	n = split(&res, buf, sizeof(buf), v);
	for (size_t i = 0; i < n; i++)
		names[i] = strrchr(v[i], '/') + 1;
	OK(dbb_restore(fx->dst, fx->vols, names, n, &rr, &e_));
	assert_int_equal(rr.nvols, n);
}

/* A failed restore must leave dst's catalog as it was. */
static void
assert_catalog_untouched(struct fixture *fx)
{
	char db[PATH_MAX + 32], val[16];
	struct cat *r = NULL;

	snprintf(db, sizeof(db), "%s/catalog.db", fx->dst);
	OK(cat_open(db, &r, &e_));
	OK(cat_setting_get(r, "name", val, sizeof(val), &e_));
	assert_string_equal(val, "OLD");
	cat_close(r);
	snprintf(db, sizeof(db), "%s/catalog.db.restore", fx->dst);
	assert_int_not_equal(access(db, F_OK), 0);
}

static void
dbb_restore_refuses_missing_volume_and_export_set(void **state)
{
	struct fixture *fx = *state;
	struct dbb_backup_result res;
	struct dbb_restore_result rr;
	struct vol_write_params wp;
	struct vol_writer *w = NULL;
	struct vol_set_info info;
	const char *v[64], *ex;
	char buf[DBB_VOLUMES_MAX], db[PATH_MAX + 32];
	struct cat *old = NULL;
	struct err e;
	size_t n;

	snprintf(db, sizeof(db), "%s/catalog.db", fx->dst);
	OK(cat_open(db, &old, &e_));
	OK(cat_setting_set(old, "name", "OLD", &e_));
	cat_close(old);

	fill(fx);
	backup(fx, &res);
	n = split(&res, buf, sizeof(buf), v);
	assert_true(n >= 2);
	/* The last volume left out: the set is incomplete. */
	assert_int_not_equal(dbb_restore(fx->dst, NULL, v, n - 1, &rr, &e),
	    0);
	assert_catalog_untouched(fx);

	/* An export set is not a database backup. */
	memset(&wp, 0, sizeof(wp));
	wp.dir = fx->vols;
	wp.maxcap = 1u << 20;
	wp.kind = VOL_KIND_EXPORT;
	wp.server = "PRIMARY";
	OK(vol_writer_open(&wp, &w, &e_));
	OK(vol_write_record(w, 7, "x", 1, &e_));
	OK(vol_writer_close(w, &info, &e_));
	ex = info.paths[0];
	assert_int_equal(dbb_restore(fx->dst, NULL, &ex, 1, &rr, &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "export"));
	vol_set_info_free(&info);
	assert_catalog_untouched(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dbb_header_round_trips_and_refuses_damage),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(dbb_backup_spans_volumes_and_restores_elsewhere),
		T(dbb_restore_by_name_in_the_devclass_directory),
		T(dbb_restore_refuses_missing_volume_and_export_set),
#undef T
	};

	return cmocka_run_group_tests_name("dbb", tests, NULL, NULL);
}
