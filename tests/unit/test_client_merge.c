/*
 * test_client_merge.c - the progressive incremental decision for one path
 * (client/merge.c): what is re-read, what is a metadata update only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <string.h>

#include "client.h"
#include "merge.h"

static struct merge_attr
file(void)
{
	struct merge_attr a;

	memset(&a, 0, sizeof(a));
	a.type = CLIENT_OBJ_FILE;
	a.size = 4096;
	a.mtime_ns = 1700000000123456789;
	a.ctime_ns = 1700000000223456789;
	a.mode = 0100644;
	a.uid = 1000;
	a.gid = 1000;
	return a;
}

static void
merge_new_file_is_sent(void **state)
{
	struct merge_attr d = file();

	(void)state;
	assert_int_equal(merge_decide(&d, NULL, 0), MERGE_SEND);
}

static void
merge_unchanged_file_is_skipped(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SKIP);
}

static void
merge_size_or_mtime_change_resends_data(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	d.size++;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
	d = file();
	d.mtime_ns++;		/* nanoseconds count */
	d.ctime_ns++;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
}

static void
merge_mode_owner_or_ctime_alone_is_metadata_only(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	d.mode = 0100600;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_META);
	d = file();
	d.uid = 0;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_META);
	d = file();
	d.gid = 4;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_META);
	d = file();
	d.ctime_ns += 1000000000;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_META);
}

static void
merge_type_change_is_sent(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	d.type = CLIENT_OBJ_SYMLINK;
	d.link = "target";
	d.link_len = 6;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
	d = file();
	d.type = CLIENT_OBJ_HARDLINK;
	d.link = "/data/first";
	d.link_len = 11;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
}

static void
merge_directory_size_is_ignored_and_mtime_counts(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	d.type = v.type = CLIENT_OBJ_DIR;
	d.size = 0;
	v.size = 0;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SKIP);
	d.mtime_ns += 5;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
	d = v;
	d.mode = 040700;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_META);
}

static void
merge_symlink_retarget_is_sent(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	d.type = v.type = CLIENT_OBJ_SYMLINK;
	d.link = "a.txt";
	v.link = "a.txt";
	d.link_len = v.link_len = 5;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SKIP);
	d.link = "b.txt";
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
	d.link = "a.txt.old";
	d.link_len = 9;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
}

static void
merge_hardlink_to_another_first_path_is_sent(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	d.type = v.type = CLIENT_OBJ_HARDLINK;
	d.link = v.link = "/data/a";
	d.link_len = v.link_len = 7;
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SKIP);
	d.link = "/data/b";
	assert_int_equal(merge_decide(&d, &v, 0), MERGE_SEND);
}

/* A whole merge of a walk with an inventory, both in pkey order. */
static void
merge_of_walk_and_inventory_finds_new_unchanged_and_gone(void **state)
{
	static const char *const walk[] = {
		"/d", "/d/a", "/d/a/x", "/d/a b", "/d/new", "/d/z",
	};
	static const char *const inv[] = {
		"/d", "/d/a", "/d/a/gone", "/d/a/x", "/d/a-", "/d/z",
	};
	static const int want[] = {
		MERGE_NEXT_BOTH, MERGE_NEXT_BOTH, MERGE_NEXT_INV,
		MERGE_NEXT_BOTH, MERGE_NEXT_WALK, MERGE_NEXT_INV,
		MERGE_NEXT_WALK, MERGE_NEXT_BOTH,
	};
	size_t i = 0, k = 0, n = 0;

	(void)state;
	while (i < 6 || k < 6) {
		const char *w = i < 6 ? walk[i] : NULL;
		const char *v = k < 6 ? inv[k] : NULL;
		int const step = merge_next(w, w ? strlen(w) : 0, v,
		    v ? strlen(v) : 0);

		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(step, want[n]);
		n++;
		if (step != MERGE_NEXT_INV)
			i++;
		if (step != MERGE_NEXT_WALK)
			k++;
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
}

static void
merge_selective_always_sends(void **state)
{
	struct merge_attr d = file(), v = file();

	(void)state;
	assert_int_equal(merge_decide(&d, &v, 1), MERGE_SEND);
	assert_string_equal(merge_name(MERGE_GONE), "gone");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_new_file_is_sent),
		cmocka_unit_test(merge_unchanged_file_is_skipped),
		cmocka_unit_test(merge_size_or_mtime_change_resends_data),
		cmocka_unit_test(
		    merge_mode_owner_or_ctime_alone_is_metadata_only),
		cmocka_unit_test(merge_type_change_is_sent),
		cmocka_unit_test(
		    merge_directory_size_is_ignored_and_mtime_counts),
		cmocka_unit_test(merge_symlink_retarget_is_sent),
		cmocka_unit_test(merge_hardlink_to_another_first_path_is_sent),
		cmocka_unit_test(
		    merge_of_walk_and_inventory_finds_new_unchanged_and_gone),
		cmocka_unit_test(merge_selective_always_sends),
	};

	return cmocka_run_group_tests_name("client_merge", tests, NULL, NULL);
}
