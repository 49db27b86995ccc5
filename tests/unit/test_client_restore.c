/*
 * test_client_restore.c - where restored objects go and the checks that
 * keep them inside the destination (client/restore_path.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <limits.h>
#include <string.h>

#include "err.h"
#include "restore_path.h"

/* Map path under plan p; returns the code, rel in out. */
static int
map(const struct restore_plan *p, const char *path, char *out)
{
	return restore_path_map(p, path, strlen(path), out, PATH_MAX, NULL);
}

static void
restore_dotdot_and_empty_components_are_refused(void **state)
{
	static const char *const bad[] = {
		"..", "../x", "a/../../x", "a/..", ".", "./a", "a/./b", "a//b",
		"/etc/passwd", "a/", "",
	};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_equal(restore_path_check(bad[i], strlen(bad[i]), &e),
		    COFFER_EINVAL);
		assert_true(e.msg[0] != '\0');
	}
	assert_int_equal(restore_path_check("a/..b/c..", 9, NULL), 0);
	assert_int_equal(restore_path_check("...", 3, NULL), 0);
	assert_int_equal(restore_path_check("a\0b", 3, NULL), COFFER_EINVAL);
}

static void
restore_server_paths_outside_src_or_dotdot_are_refused(void **state)
{
	struct restore_plan p;
	char rel[PATH_MAX];
	struct err e;

	(void)state;
	assert_int_equal(restore_plan_make("/data/dir/", "/", "/tmp/out/",
	    RESTORE_DEST_DIR, 1, &p, NULL), 0);
	err_clear(&e);
	assert_int_equal(restore_path_map(&p, "/data/dir/../../etc/passwd",
	    26, rel, sizeof(rel), &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "refused"));
	assert_int_equal(map(&p, "/data/dir2/x", rel), COFFER_EINVAL);
	assert_int_equal(map(&p, "/etc/passwd", rel), COFFER_EINVAL);
	assert_int_equal(map(&p, "/data/dir//x", rel), COFFER_EINVAL);
	assert_int_equal(map(&p, "/data/dir/./x", rel), COFFER_EINVAL);
	assert_int_equal(map(&p, "relative", rel), COFFER_EINVAL);
}

static void
restore_contents_with_subdir_keep_the_structure_below_src(void **state)
{
	struct restore_plan p;
	char rel[PATH_MAX];

	(void)state;
	assert_int_equal(restore_plan_make("/data/dir/", "/", "/tmp/out/",
	    RESTORE_DEST_DIR, 1, &p, NULL), 0);
	assert_string_equal(p.base, "/data/dir");
	assert_int_equal(p.contents, 1);
	assert_string_equal(p.root, "/tmp/out");
	/* SRC itself is the destination root: not an object to place. */
	assert_int_equal(map(&p, "/data/dir", rel), RESTORE_SKIP);
	assert_int_equal(map(&p, "/data/dir/a", rel), 0);
	assert_string_equal(rel, "a");
	assert_int_equal(map(&p, "/data/dir/sub/deep/f", rel), 0);
	assert_string_equal(rel, "sub/deep/f");
	/* "/data/dir/" followed by a star means the same. */
	assert_int_equal(restore_plan_make("/data/dir/*", "/", "/tmp/out",
	    RESTORE_DEST_DIR, 1, &p, NULL), 0);
	assert_string_equal(p.base, "/data/dir");
	assert_int_equal(p.contents, 1);
	assert_int_equal(map(&p, "/data/dir/x/y", rel), 0);
	assert_string_equal(rel, "x/y");
}

static void
restore_without_subdir_takes_direct_children_only(void **state)
{
	struct restore_plan p;
	char rel[PATH_MAX];

	(void)state;
	assert_int_equal(restore_plan_make("/data/dir/", "/", "/tmp/out/",
	    RESTORE_DEST_DIR, 0, &p, NULL), 0);
	assert_int_equal(map(&p, "/data/dir/a", rel), 0);
	assert_int_equal(map(&p, "/data/dir/sub/f", rel), RESTORE_SKIP);
}

static void
restore_single_file_lands_in_dest_by_its_name(void **state)
{
	struct restore_plan p;
	char rel[PATH_MAX];

	(void)state;
	assert_int_equal(restore_plan_make("/data/dir/file.txt", "/",
	    "/tmp/out/", RESTORE_DEST_DIR, 0, &p, NULL), 0);
	assert_string_equal(p.root, "/tmp/out");
	assert_int_equal(map(&p, "/data/dir/file.txt", rel), 0);
	assert_string_equal(rel, "file.txt");
	/* A DEST that does not exist names the restored object. */
	assert_int_equal(restore_plan_make("/data/dir/file.txt", "/",
	    "/tmp/out/new.txt", RESTORE_DEST_NAME, 0, &p, NULL), 0);
	assert_string_equal(p.root, "/tmp/out");
	assert_int_equal(map(&p, "/data/dir/file.txt", rel), 0);
	assert_string_equal(rel, "new.txt");
	assert_int_equal(restore_plan_make("/data/dir", "/", "copy",
	    RESTORE_DEST_NAME, 1, &p, NULL), 0);
	assert_string_equal(p.root, ".");
	assert_int_equal(map(&p, "/data/dir/a/b", rel), 0);
	assert_string_equal(rel, "copy/a/b");
}

static void
restore_directory_without_slash_goes_in_by_its_name(void **state)
{
	struct restore_plan p;
	char rel[PATH_MAX];

	(void)state;
	assert_int_equal(restore_plan_make("/data/dir", "/", "/tmp/out",
	    RESTORE_DEST_DIR, 1, &p, NULL), 0);
	assert_int_equal(p.contents, 0);
	assert_int_equal(map(&p, "/data/dir", rel), 0);
	assert_string_equal(rel, "dir");
	assert_int_equal(map(&p, "/data/dir/x", rel), 0);
	assert_string_equal(rel, "dir/x");
	assert_int_equal(map(&p, "/data/dirx", rel), COFFER_EINVAL);
}

static void
restore_without_dest_goes_back_to_the_original_place(void **state)
{
	struct restore_plan p;
	char rel[PATH_MAX];

	(void)state;
	assert_int_equal(restore_plan_make("/data/dir/f", "/", NULL,
	    RESTORE_DEST_NONE, 0, &p, NULL), 0);
	assert_string_equal(p.root, "/data/dir");
	assert_int_equal(map(&p, "/data/dir/f", rel), 0);
	assert_string_equal(rel, "f");
	assert_int_equal(restore_plan_make("/data/", "/", NULL,
	    RESTORE_DEST_NONE, 1, &p, NULL), 0);
	assert_string_equal(p.root, "/data");
	assert_int_equal(map(&p, "/data/x/y", rel), 0);
	assert_string_equal(rel, "x/y");
	assert_int_equal(restore_plan_make("/top", "/", NULL,
	    RESTORE_DEST_NONE, 1, &p, NULL), 0);
	assert_string_equal(p.root, "/");
	assert_int_equal(map(&p, "/top/x", rel), 0);
	assert_string_equal(rel, "top/x");
	/* The whole file system. */
	assert_int_equal(restore_plan_make("/", "/", "/tmp/all/",
	    RESTORE_DEST_DIR, 1, &p, NULL), 0);
	assert_int_equal(map(&p, "/", rel), RESTORE_SKIP);
	assert_int_equal(map(&p, "/etc/hosts", rel), 0);
	assert_string_equal(rel, "etc/hosts");
}

static void
restore_src_is_normalized_lexically(void **state)
{
	char base[PATH_MAX];
	int contents;
	struct err e;

	(void)state;
	assert_int_equal(restore_path_src("//data/./a/../dir//", "/", base,
	    sizeof(base), &contents, NULL), 0);
	assert_string_equal(base, "/data/dir");
	assert_int_equal(contents, 1);
	assert_int_equal(restore_path_src("rel/x", "/home/u", base,
	    sizeof(base), &contents, NULL), 0);
	assert_string_equal(base, "/home/u/rel/x");
	assert_int_equal(contents, 0);
	assert_int_equal(restore_path_src("/../..", "/", base, sizeof(base),
	    &contents, NULL), 0);
	assert_string_equal(base, "/");
	err_clear(&e);
	assert_int_equal(restore_path_src("/data/*.txt", "/", base,
	    sizeof(base), &contents, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "wildcards"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    restore_dotdot_and_empty_components_are_refused),
		cmocka_unit_test(
		    restore_server_paths_outside_src_or_dotdot_are_refused),
		cmocka_unit_test(
		    restore_contents_with_subdir_keep_the_structure_below_src),
		cmocka_unit_test(
		    restore_without_subdir_takes_direct_children_only),
		cmocka_unit_test(restore_single_file_lands_in_dest_by_its_name),
		cmocka_unit_test(
		    restore_directory_without_slash_goes_in_by_its_name),
		cmocka_unit_test(
		    restore_without_dest_goes_back_to_the_original_place),
		cmocka_unit_test(restore_src_is_normalized_lexically),
	};

	return cmocka_run_group_tests_name("client_restore", tests, NULL,
	    NULL);
}
