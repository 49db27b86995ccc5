/*
 * test_client_linktab.c - the hard-link table: the first path of each
 * (dev, ino) comes back for every later link, through table growth and
 * across path blocks; same inode numbers on other devices are other
 * files; paths longer than a block are kept whole.
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

#include "err.h"
#include "linktab.h"

static void
path_of(char *buf, size_t n, uint64_t dev, uint64_t ino)
{
	/* Long enough that 200k of them fill several 1 MiB blocks. */
	snprintf(buf, n, "/srv/snapshots/daily.%llu/home/user/file-%llu.dat",
	    (unsigned long long)dev, (unsigned long long)ino);
}

static void
first_path_comes_back_for_every_link(void **state)
{
	struct linktab t;
	const char *first;
	char p[128], want[128];
	struct err e;

	(void)state;
	linktab_init(&t);
	for (uint64_t ino = 1; ino <= 200000; ino++) {
		path_of(p, sizeof(p), 1, ino);
		assert_int_equal(linktab_put(&t, 1, ino, p, &first, &e), 0);
		assert_null(first);
	}
	assert_int_equal(t.n, 200000);
	for (uint64_t ino = 200000; ino >= 1; ino--) {
		/* A second link of the inode, under another name. */
		assert_int_equal(linktab_put(&t, 1, ino, "/other/name", &first,
		    &e), 0);
		assert_non_null(first);
		path_of(want, sizeof(want), 1, ino);
		assert_string_equal(first, want);
	}
	assert_int_equal(t.n, 200000);
	linktab_free(&t);
	assert_int_equal(t.n, 0);
}

static void
same_inode_on_another_device_is_another_file(void **state)
{
	struct linktab t;
	const char *first;
	struct err e;

	(void)state;
	linktab_init(&t);
	assert_int_equal(linktab_put(&t, 1, 42, "/a/x", &first, &e), 0);
	assert_null(first);
	assert_int_equal(linktab_put(&t, 2, 42, "/b/x", &first, &e), 0);
	assert_null(first);
	assert_int_equal(linktab_put(&t, 2, 42, "/b/y", &first, &e), 0);
	assert_string_equal(first, "/b/x");
	assert_int_equal(linktab_put(&t, 1, 42, "/a/y", &first, &e), 0);
	assert_string_equal(first, "/a/x");
	linktab_free(&t);
	/* Reusable after free. */
	assert_int_equal(linktab_put(&t, 1, 42, "/c", &first, &e), 0);
	assert_null(first);
	linktab_free(&t);
}

static void
path_longer_than_a_block_is_kept_whole(void **state)
{
	size_t const len = (2u << 20) + 17;
	struct linktab t;
	const char *first;
	char *big;
	struct err e;

	(void)state;
	assert_non_null(big = malloc(len + 1));
	memset(big, 'p', len);
	big[len] = '\0';
	linktab_init(&t);
	assert_int_equal(linktab_put(&t, 7, 1, "/short", &first, &e), 0);
	assert_int_equal(linktab_put(&t, 7, 2, big, &first, &e), 0);
	assert_int_equal(linktab_put(&t, 7, 3, "/after", &first, &e), 0);
	assert_int_equal(linktab_put(&t, 7, 2, "/x", &first, &e), 0);
	assert_int_equal(strlen(first), len);
	assert_int_equal(linktab_put(&t, 7, 1, "/x", &first, &e), 0);
	assert_string_equal(first, "/short");
	assert_int_equal(linktab_put(&t, 7, 3, "/x", &first, &e), 0);
	assert_string_equal(first, "/after");
	linktab_free(&t);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_path_comes_back_for_every_link),
		cmocka_unit_test(same_inode_on_another_device_is_another_file),
		cmocka_unit_test(path_longer_than_a_block_is_kept_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
