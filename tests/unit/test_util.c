/*
 * test_util.c - file helpers in a scratch directory, zero detection,
 * little-endian access, human-readable sizes.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

struct fixture {
	char	dir[64];
};

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-util.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static void
join(char *out, const struct fixture *fx, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", fx->dir, name);
}

/* Read a whole small file; returns its length. */
static size_t
slurp(const char *path, uint8_t *buf, size_t cap)
{
	struct err e;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(util_read_full(fd, buf, cap, &got, "slurp", &e), 0);
	close(fd);
	return got;
}

static int
count_entries(const char *dir)
{
	struct dirent *d;
	DIR *dp;
	int n = 0;

	dp = opendir(dir);
	assert_non_null(dp);
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			n++;
	}
	closedir(dp);
	return n;
}

static void
util_write_atomic_then_read_back_matches(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];
	uint8_t data[10000], back[20000];
	struct stat st;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	join(path, fx, "state");
	assert_int_equal(util_write_atomic(path, data, sizeof(data), 0600, &e),
	    0);
	assert_int_equal(slurp(path, back, sizeof(back)), sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Replacing it with something shorter leaves only the new bytes. */
	assert_int_equal(util_write_atomic(path, "short", 5, 0600, &e), 0);
	assert_int_equal(slurp(path, back, sizeof(back)), 5);
	assert_memory_equal(back, "short", 5);
	/* Empty content is a valid file, too. */
	assert_int_equal(util_write_atomic(path, "", 0, 0600, &e), 0);
	assert_int_equal(slurp(path, back, sizeof(back)), 0);
	/* No temporary file is left behind. */
	assert_int_equal(count_entries(fx->dir), 1);
}

static void
util_write_atomic_missing_dir_fails_cleanly(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];
	struct err e;

	err_clear(&e);
	join(path, fx, "no/such/file");
	assert_int_equal(util_write_atomic(path, "x", 1, 0600, &e),
	    COFFER_EIO);
	assert_non_null(strstr(e.msg, "no/such/file"));
	assert_non_null(strstr(e.msg, "No such file or directory"));
	assert_int_equal(count_entries(fx->dir), 0);
}

static void
util_pwrite_pread_full_round_trip(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];
	uint8_t buf[64];
	struct err e;
	int fd;

	join(path, fx, "rw");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(util_pwrite_full(fd, "hello", 5, 100, "rw", &e), 0);
	assert_int_equal(util_pread_full(fd, buf, 5, 100, "rw", &e), 0);
	assert_memory_equal(buf, "hello", 5);
	/* The hole before it reads as zeros. */
	assert_int_equal(util_pread_full(fd, buf, 64, 0, "rw", &e), 0);
	assert_true(util_is_zero(buf, 64));
	/* Reading past the end is reported, naming the object. */
	err_clear(&e);
	assert_int_equal(util_pread_full(fd, buf, 10, 100, "rw", &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "rw: pread 10 bytes at 100"));
	assert_int_equal(util_write_full(fd, "abc", 3, "rw", &e), 0);
	close(fd);

	/* pread on a closed descriptor names what and the cause. */
	err_clear(&e);
	assert_int_equal(util_pread_full(fd, buf, 1, 0, "closed", &e),
	    COFFER_EIO);
	assert_non_null(strstr(e.msg, "closed: pread"));
	assert_non_null(strstr(e.msg, "Bad file descriptor"));
}

static void
util_mkdir_p_creates_nested_dirs(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], file[PATH_MAX];
	struct stat st;
	struct err e;

	join(path, fx, "a/b//c/d/");
	assert_int_equal(util_mkdir_p(path, 0700, &e), 0);
	join(path, fx, "a/b/c/d");
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Existing directories are fine. */
	assert_int_equal(util_mkdir_p(path, 0700, &e), 0);
	assert_int_equal(util_mkdir_p(fx->dir, 0700, &e), 0);

	/* A file in the way is an error naming it. */
	join(file, fx, "a/file");
	assert_int_equal(util_write_atomic(file, "x", 1, 0600, &e), 0);
	join(path, fx, "a/file/sub");
	err_clear(&e);
	assert_true(util_mkdir_p(path, 0700, &e) < 0);
	assert_non_null(strstr(e.msg, "a/file"));

	/* rm -rf takes it all away; a missing path is not an error. */
	join(path, fx, "a");
	assert_int_equal(util_rm_rf(path), 0);
	assert_int_equal(count_entries(fx->dir), 0);
	assert_int_equal(util_rm_rf(path), 0);
}

static void
util_is_zero_finds_any_nonzero_byte(void **state)
{
	uint8_t buf[200];
	size_t n, i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_true(util_is_zero(buf, 0));
	for (n = 1; n <= sizeof(buf); n++) {
		assert_true(util_is_zero(buf, n));
		for (i = 0; i < n; i++) {
			buf[i] = 0x80;
			assert_false(util_is_zero(buf, n));
			buf[i] = 0;
		}
	}
	/* Misaligned starts. */
	for (i = 1; i < 8; i++)
		assert_true(util_is_zero(buf + i, sizeof(buf) - i));
}

static void
util_le_round_trips(void **state)
{
	uint8_t b[8];

	(void)state;
	util_put_le16(b, 0xbeef);
	assert_int_equal(b[0], 0xef);
	assert_int_equal(b[1], 0xbe);
	assert_int_equal(util_get_le16(b), 0xbeef);

	util_put_le32(b, 0x01020304u);
	assert_memory_equal(b, "\x04\x03\x02\x01", 4);
	assert_int_equal(util_get_le32(b), 0x01020304u);
	util_put_le32(b, 0xffffffffu);
	assert_int_equal(util_get_le32(b), 0xffffffffu);

	util_put_le64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_true(util_get_le64(b) == 0x0102030405060708ull);
	util_put_le64(b, UINT64_MAX);
	assert_true(util_get_le64(b) == UINT64_MAX);
	util_put_le64(b, 0x8000000000000001ull);
	assert_true(util_get_le64(b) == 0x8000000000000001ull);
}

static void
util_human_bytes_picks_unit(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(util_human_bytes(0, buf, sizeof(buf)), "0 B");
	assert_string_equal(util_human_bytes(123, buf, sizeof(buf)), "123 B");
	assert_string_equal(util_human_bytes(1023, buf, sizeof(buf)),
	    "1023 B");
	assert_string_equal(util_human_bytes(1024, buf, sizeof(buf)),
	    "1.0 KiB");
	assert_string_equal(util_human_bytes(1536, buf, sizeof(buf)),
	    "1.5 KiB");
	assert_string_equal(util_human_bytes(2ull << 20, buf, sizeof(buf)),
	    "2.0 MiB");
	assert_string_equal(util_human_bytes(3328599654ull, buf, sizeof(buf)),
	    "3.1 GiB");
	assert_string_equal(util_human_bytes(1ull << 40, buf, sizeof(buf)),
	    "1.0 TiB");
	/* Just under a unit rounds up into it, not to "1024.0 KiB". */
	assert_string_equal(util_human_bytes((1ull << 20) - 1, buf,
	    sizeof(buf)), "1.0 MiB");
	assert_string_equal(util_human_bytes(UINT64_MAX, buf, sizeof(buf)),
	    "16.0 EiB");
}

static void
util_now_is_monotonic(void **state)
{
	double const a = util_now();
	double const b = util_now();

	(void)state;
	assert_true(a > 0);
	assert_true(b >= a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    util_write_atomic_then_read_back_matches, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    util_write_atomic_missing_dir_fails_cleanly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    util_pwrite_pread_full_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    util_mkdir_p_creates_nested_dirs, setup, teardown),
		cmocka_unit_test(util_is_zero_finds_any_nonzero_byte),
		cmocka_unit_test(util_le_round_trips),
		cmocka_unit_test(util_human_bytes_picks_unit),
		cmocka_unit_test(util_now_is_monotonic),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
