/*
 * test_client_walk.c - the backup walk and its order (client/walk.c): the
 * walk must come out in the server's pkey order, or the inventory merge
 * would call present files gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "walk.h"
#include "walk_ahead.h"

struct fx {
	char	dir[256];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/coffer-test-walk-XXXXXX", real[PATH_MAX];

	if (fx == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	/* The walk wants canonical paths: /tmp may be a symlink. */
	if (realpath(tmpl, real) == NULL || strlen(real) >= sizeof(fx->dir))
		return -1;
	memcpy(fx->dir, real, strlen(real) + 1);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static void
touch(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void
mkd(const char *dir, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* The server's key: '/' becomes 0x00, compared with memcmp. */
static int
pkey_qsort(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t const xl = strlen(x), yl = strlen(y);
	uint8_t kx[PATH_MAX], ky[PATH_MAX];
	int c;

	for (size_t i = 0; i < xl; i++)
		kx[i] = x[i] == '/' ? 0 : (uint8_t)x[i];
	for (size_t i = 0; i < yl; i++)
		ky[i] = y[i] == '/' ? 0 : (uint8_t)y[i];
	c = memcmp(kx, ky, xl < yl ? xl : yl);
	return c != 0 ? c : (xl < yl ? -1 : xl > yl);
}

static void
walk_pkey_cmp_puts_separator_below_every_byte(void **state)
{
	(void)state;
	assert_true(walk_pkey_cmp("/a/b", 4, "/a b", 4) < 0);
	assert_true(walk_pkey_cmp("/a/zzz", 6, "/a-", 3) < 0);
	assert_true(walk_pkey_cmp("/a", 2, "/a/b", 4) < 0);
	assert_true(walk_pkey_cmp("/a\x01", 3, "/a/x", 4) > 0);
	assert_true(walk_pkey_cmp("/\xc3\xa9", 3, "/z", 2) > 0);
	assert_int_equal(walk_pkey_cmp("/same", 5, "/same", 5), 0);
}

static void
walk_order_equals_pkey_order_on_tricky_names(void **state)
{
	struct fx *fx = *state;
	static const char *const files[] = {
		"a", "a b", "a.b", "ab", "a-", "\xc3\xa9t\xc3\xa9", "Z",
		"a/b/c", "a/b c", "a/b-", "a b/x", "ab/\x01", "-leading",
		"new\nline", "a/b/c2",
	};
	static const char *const dirs[] = { "a", "a/b", "a b", "ab" };
	char *want[64], *got[64];
	size_t nwant = 0, ngot = 0;
	const struct walk_ent *ent;
	struct walk *w;
	struct err e;
	int r;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		mkd(fx->dir, dirs[i]);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int isdir = 0;

		for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++)
			isdir |= strcmp(dirs[k], files[i]) == 0;
		if (!isdir)
			touch(fx->dir, files[i]);
	}
	want[nwant++] = strdup(fx->dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%s", fx->dir, files[i]);
		want[nwant++] = strdup(p);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char p[PATH_MAX];
		int dup = 0;

		snprintf(p, sizeof(p), "%s/%s", fx->dir, dirs[i]);
		for (size_t k = 0; k < nwant; k++)
			dup |= strcmp(want[k], p) == 0;
		if (!dup)
			want[nwant++] = strdup(p);
	}
	qsort(want, nwant, sizeof(want[0]), pkey_qsort);

	err_clear(&e);
	assert_non_null(w = walk_open(fx->dir, &e));
	while ((r = walk_next(w, &ent, &e)) == 1) {
		assert_int_equal(ent->kind, WALK_ENTRY);
		assert_int_equal(ent->err, 0);
		assert_int_equal(strlen(ent->path), ent->path_len);
		assert_true(ngot < 64);
		got[ngot++] = strdup(ent->path);
	}
	assert_int_equal(r, 0);
	walk_close(w);
	assert_int_equal(ngot, nwant);
	for (size_t i = 0; i < ngot; i++) {
		assert_string_equal(got[i], want[i]);
		if (i > 0)
			assert_true(walk_pkey_cmp(got[i - 1],
			    strlen(got[i - 1]), got[i], strlen(got[i])) < 0);
	}
	for (size_t i = 0; i < ngot; i++) {
		free(got[i]);
		free(want[i]);
	}
}

static void
walk_prune_skips_the_directory_contents(void **state)
{
	struct fx *fx = *state;
	const struct walk_ent *ent;
	struct walk *w;
	size_t n = 0;
	int r;

	mkd(fx->dir, "skip");
	touch(fx->dir, "skip/inner");
	touch(fx->dir, "z");
	assert_non_null(w = walk_open(fx->dir, NULL));
	while ((r = walk_next(w, &ent, NULL)) == 1) {
		assert_null(strstr(ent->path, "inner"));
		if (strcmp(ent->name, "skip") == 0)
			walk_prune(w);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 3);		/* root, skip, z */
	walk_close(w);
}

static void
walk_of_a_file_or_symlink_is_that_entry_alone(void **state)
{
	struct fx *fx = *state;
	const struct walk_ent *ent;
	char path[PATH_MAX], abs[PATH_MAX];
	struct walk *w;

	touch(fx->dir, "f");
	snprintf(path, sizeof(path), "%s/l", fx->dir);
	assert_int_equal(symlink(fx->dir, path), 0);
	/* A symlink named on the command line is not followed. */
	assert_int_equal(walk_abspath(path, abs, sizeof(abs), NULL), 0);
	assert_string_equal(abs, path);
	assert_non_null(w = walk_open(abs, NULL));
	assert_int_equal(walk_next(w, &ent, NULL), 1);
	assert_true(S_ISLNK(ent->st.st_mode));
	assert_int_equal(walk_next(w, &ent, NULL), 0);
	walk_close(w);
}

static void
walk_abspath_canonicalizes_the_directory_part(void **state)
{
	struct fx *fx = *state;
	char in[PATH_MAX], out[PATH_MAX];
	struct err e;

	mkd(fx->dir, "d");
	snprintf(in, sizeof(in), "%s//d/./../d/", fx->dir);
	assert_int_equal(walk_abspath(in, out, sizeof(out), NULL), 0);
	snprintf(in, sizeof(in), "%s/d", fx->dir);
	assert_string_equal(out, in);
	assert_int_equal(walk_abspath("/", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "/");
	err_clear(&e);
	snprintf(in, sizeof(in), "%s/missing/x", fx->dir);
	assert_int_equal(walk_abspath(in, out, sizeof(out), &e),
	    COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "missing"));
}

static void
walk_under_needs_a_component_boundary(void **state)
{
	(void)state;
	assert_true(walk_under("/data", 5, "/data", 5));
	assert_true(walk_under("/data", 5, "/data/x", 7));
	assert_false(walk_under("/data", 5, "/database", 9));
	assert_false(walk_under("/data", 5, "/dat", 4));
	assert_true(walk_under("/", 1, "/anything", 9));
}

static void
walk_filespace_is_a_mount_point_above_the_path(void **state)
{
	struct fx *fx = *state;
	char fs[PATH_MAX], type[32];

	assert_int_equal(walk_filespace(fx->dir, fs, sizeof(fs), type,
	    sizeof(type), NULL), 0);
	assert_true(walk_under(fs, strlen(fs), fx->dir, strlen(fx->dir)));
	assert_true(type[0] != '\0');
	assert_int_equal(walk_filespace("/", fs, sizeof(fs), type,
	    sizeof(type), NULL), 0);
	assert_string_equal(fs, "/");
}

/* ---- the walk ahead (client/walk_ahead.c) ---- */

/* dir/d/f0..f(n-1) */
static void
many_files(const char *dir, const char *d, int n)
{
	char rel[64];

	mkd(dir, d);
	for (int i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "%s/f%d", d, i);
		touch(dir, rel);
	}
}

/*
 * walk_ahead_done once it reached want (at most 10 s, the machine may be
 * busy) and then 200 ms later: a walk that went past want shows.
 */
static uint64_t
settled(const struct walk_ahead *a, uint64_t want)
{
	for (int i = 0; i < 1000 && walk_ahead_done(a) < want; i++)
		usleep(10000);
	usleep(200000);
	return walk_ahead_done(a);
}

static int
prune_a(void *arg, const char *path)
{
	size_t const n = strlen(path);

	(void)arg;
	return n >= 2 && strcmp(path + n - 2, "/a") == 0;
}

static int
prune_none(void *arg, const char *path)
{
	(void)arg;
	(void)path;
	return 0;
}

/* It keeps WALK_AHEAD entries in front of the backup's walk, no more. */
static void
walk_ahead_stays_its_window_in_front(void **state)
{
	struct fx *fx = *state;
	struct walk_ahead *a;

	many_files(fx->dir, "a", 5000);
	many_files(fx->dir, "b", 5000);
	a = walk_ahead_start(fx->dir, prune_none, NULL, WALK_AHEAD_ALWAYS);
	assert_non_null(a);
	assert_int_equal(settled(a, WALK_AHEAD), WALK_AHEAD);
	/*
	 * It waits until the backup is less than half a window behind
	 * (one wake-up per half window, not per entry), then goes on to a
	 * whole window in front again.
	 */
	for (int i = 0; i < WALK_AHEAD / 2; i++)
		walk_ahead_step(a);
	assert_int_equal(settled(a, WALK_AHEAD), WALK_AHEAD);
	walk_ahead_step(a);
	assert_int_equal(settled(a, WALK_AHEAD / 2 + 1 + WALK_AHEAD),
	    WALK_AHEAD / 2 + 1 + WALK_AHEAD);
	for (int i = 0; i < 10000; i++)
		walk_ahead_step(a);
	/* The root, two directories, their 10000 files. */
	assert_int_equal(settled(a, 10003), 10003);
	walk_ahead_stop(a);
}

/* It skips what the backup prunes, so that the counts stay in step. */
static void
walk_ahead_prunes_as_told(void **state)
{
	struct fx *fx = *state;
	struct walk_ahead *a;

	many_files(fx->dir, "a", 3000);
	many_files(fx->dir, "b", 10);
	a = walk_ahead_start(fx->dir, prune_a, NULL, WALK_AHEAD_ALWAYS);
	assert_non_null(a);
	assert_int_equal(settled(a, 13), 13);
	walk_ahead_stop(a);
}

/*
 * In a tree the caches hold (one just made), it stops by itself after
 * WALK_AHEAD_WARM looks; and a stop while it waits for the backup ends.
 */
static void
walk_ahead_gives_up_in_a_warm_tree(void **state)
{
	struct fx *fx = *state;
	struct walk_ahead *a;

	many_files(fx->dir, "a", 3000);
	many_files(fx->dir, "b", 3000);
	a = walk_ahead_start(fx->dir, prune_none, NULL, 0);
	assert_non_null(a);
	assert_int_equal(settled(a, WALK_AHEAD_PROBE * WALK_AHEAD_WARM),
	    WALK_AHEAD_PROBE * WALK_AHEAD_WARM);
	walk_ahead_stop(a);
	walk_ahead_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(walk_pkey_cmp_puts_separator_below_every_byte),
		cmocka_unit_test_setup_teardown(
		    walk_order_equals_pkey_order_on_tricky_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    walk_prune_skips_the_directory_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    walk_of_a_file_or_symlink_is_that_entry_alone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    walk_abspath_canonicalizes_the_directory_part, setup,
		    teardown),
		cmocka_unit_test(walk_under_needs_a_component_boundary),
		cmocka_unit_test_setup_teardown(
		    walk_filespace_is_a_mount_point_above_the_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    walk_ahead_stays_its_window_in_front, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_ahead_prunes_as_told,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    walk_ahead_gives_up_in_a_warm_tree, setup, teardown),
	};

	return cmocka_run_group_tests_name("client_walk", tests, NULL, NULL);
}
