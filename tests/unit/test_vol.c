/*
 * test_vol.c - sequential volumes: the AWSTAPE device, round trips of
 * record streams across small volumes (plain and encrypted), and every
 * kind of damage named by the reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "err.h"
#include "util.h"
#include "vol.h"
#include "vol_dev.h"
#include "vol_int.h"

#define PASS	"correct horse battery staple"
#define MIB	((uint64_t)1 << 20)

struct fx {
	char		 dir[256];
	char		 dir2[256];
	struct vol_set_info info;
	const char	*paths[64];
	int		 nnew;		/* on_new calls */
};

/* The records of a test set: sizes that hit the edges. */
static const size_t sizes[] = {
	0, 1, 5, 100, VOL_DATA_MAX, VOL_DATA_MAX - 5, 65536, 3 * MIB + 17, 0,
	12345, 1000000, VOL_DATA_MAX * 2, 7, 250000, 33, 0, 2 * MIB,
};
#define NREC	(sizeof(sizes) / sizeof(sizes[0]))

static uint8_t
rec_type(size_t i)
{
	return (uint8_t)(1 + (i * 37) % 255);
}

/* Deterministic bytes of record i: what the reader must give back. */
static void
rec_fill(size_t i, uint8_t *p, size_t n)
{
	uint32_t x = (uint32_t)(i * 2654435761u) | 1;

	for (size_t j = 0; j < n; j++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[j] = (uint8_t)x;
	}
}

static int
count_new(void *arg, const char *path, const char *serial, uint32_t seq,
    struct err *e)
{
	struct fx *f = arg;

	f->nnew++;
	assert_int_equal(seq, (uint32_t)f->nnew);
	assert_int_equal(strlen(serial), 6);
	assert_non_null(strstr(path, serial));
	return 0;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_vol.XXXXXX");
	snprintf(f->dir2, sizeof(f->dir2), "/tmp/test_vol2.XXXXXX");
	if (mkdtemp(f->dir) == NULL || mkdtemp(f->dir2) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	vol_set_info_free(&f->info);
	util_rm_rf(f->dir);
	util_rm_rf(f->dir2);
	free(f);
	return 0;
}

/* Write the NREC test records into dir; fills f->info and f->paths. */
static void
write_set(struct fx *f, const char *dir, uint64_t maxcap, const char *pass)
{
	struct vol_write_params p = {
		.dir = dir, .maxcap = maxcap, .kind = VOL_KIND_EXPORT,
		.server = "HOTSITE", .passphrase = pass, .on_new = count_new,
		.arg = f,
	};
	struct vol_writer *w = NULL;
	uint8_t *buf = malloc(3 * MIB + 64);
	struct err e;

	f->nnew = 0;
	vol_set_info_free(&f->info);
	if (vol_writer_open(&p, &w, &e) != 0)
		fail_msg("open: %s", e.msg);
	for (size_t i = 0; i < NREC; i++) {
		rec_fill(i, buf, sizes[i]);
		/* Half the records in two parts, as export writes chunks. */
		if (i % 2 == 1 && sizes[i] > 10) {
			if (vol_write_record2(w, rec_type(i), buf, 10,
			    buf + 10, sizes[i] - 10, &e) != 0)
				fail_msg("write2: %s", e.msg);
		} else if (vol_write_record(w, rec_type(i), buf, sizes[i],
		    &e) != 0)
			fail_msg("write: %s", e.msg);
	}
	free(buf);
	if (vol_writer_close(w, &f->info, &e) != 0)
		fail_msg("close: %s", e.msg);
	assert_int_equal(f->info.nvols, (uint32_t)f->nnew);
	assert_true(f->info.nvols < 64);
	for (uint32_t i = 0; i < f->info.nvols; i++)
		f->paths[i] = f->info.paths[i];
}

/* Read a set back; 0 and every record equal, or the error. */
static int
read_set(const char *const *paths, size_t n, const char *pass,
    struct err *e)
{
	struct vol_reader *r = NULL;
	uint8_t *want = malloc(3 * MIB + 64);
	uint64_t records, bytes, total = 0;
	uint8_t digest[32];
	size_t i = 0;
	int rc;

	err_clear(e);
	if ((rc = vol_reader_open(paths, n, pass, &r, e)) != 0)
		goto out;
	assert_int_equal(vol_reader_kind(r), VOL_KIND_EXPORT);
	assert_string_equal(vol_reader_server(r), "HOTSITE");
	for (;;) {
		const uint8_t *p;
		uint8_t type;
		size_t len;

		if ((rc = vol_read_record(r, &type, &p, &len, e)) != 0)
			goto out;
		if (type == 0)
			break;
		assert_true(i < NREC);
		assert_int_equal(type, rec_type(i));
		assert_int_equal(len, sizes[i]);
		rec_fill(i, want, len);
		if (len > 0)
			assert_memory_equal(p, want, len);
		total += len;
		i++;
	}
	assert_int_equal(i, NREC);
	assert_int_equal(vol_reader_trailer(r, &records, &bytes, digest), 0);
	assert_int_equal(records, NREC);
	assert_int_equal(bytes, total);
out:
	vol_reader_close(r);
	free(want);
	return rc;
}

static void
expect_error(const char *const *paths, size_t n, const char *pass,
    int code, const char *s1, const char *s2)
{
	struct err e;
	int rc = read_set(paths, n, pass, &e);

	if (rc != code || strstr(e.msg, s1) == NULL ||
	    (s2 != NULL && strstr(e.msg, s2) == NULL))
		fail_msg("expected %d with \"%s\"%s%s, got %d: %s", code, s1,
		    s2 ? " and " : "", s2 ? s2 : "", rc, e.msg);
}

static void
patch(const char *path, long off, const void *p, size_t n)
{
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

static void
flip_bit(const char *path, long off)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	fseek(fp, off, SEEK_SET);
	c = fgetc(fp);
	fseek(fp, off, SEEK_SET);
	fputc(c ^ 0x10, fp);
	fclose(fp);
}

/* Offset of data block k of a volume (full blocks before it). */
#define FIRST_DATA	(6 + 80 + 6 + VOL_LABEL_LEN + 6)
#define DATA_AT(k)	((long)FIRST_DATA + (long)(k) * \
			 (6 + VOL_DATA_HDR_LEN + VOL_DATA_MAX))
/* The same in an encrypted set, whose blocks carry a GCM tag. */
#define ENC_AT(k)	((long)FIRST_DATA + (long)(k) * \
			 (6 + VOL_DATA_HDR_LEN + VOL_DATA_MAX + VOL_TAG_LEN))

/* ---- round trips ---- */

static void
vol_plain_round_trip_spans_volumes(void **state)
{
	struct fx *f = *state;
	struct err e;

	write_set(f, f->dir, MIB, NULL);
	assert_true(f->info.nvols >= 6);
	assert_int_equal(f->info.records, NREC);
	if (read_set(f->paths, f->info.nvols, NULL, &e) != 0)
		fail_msg("read: %s", e.msg);
	for (uint32_t i = 0; i < f->info.nvols; i++) {
		struct stat st;

		assert_int_equal(stat(f->paths[i], &st), 0);
		assert_true((uint64_t)st.st_size <= MIB);
	}
}

static void
vol_encrypted_round_trip_spans_volumes(void **state)
{
	struct fx *f = *state;
	struct err e;

	write_set(f, f->dir, 2 * MIB, PASS);
	assert_true(f->info.nvols >= 4);
	if (read_set(f->paths, f->info.nvols, PASS, &e) != 0)
		fail_msg("read: %s", e.msg);
}

static void
vol_serials_are_unique_in_directory(void **state)
{
	struct fx *f = *state;
	struct vol_set_info first;
	uint32_t n1;

	write_set(f, f->dir, 2 * MIB, NULL);
	first = f->info;
	n1 = first.nvols;
	memset(&f->info, 0, sizeof(f->info));
	write_set(f, f->dir, 2 * MIB, NULL);
	for (uint32_t i = 0; i < n1; i++)
		for (uint32_t j = 0; j < f->info.nvols; j++)
			assert_string_not_equal(first.paths[i],
			    f->info.paths[j]);
	assert_non_null(strstr(first.paths[0], "/C00001.vol"));
	vol_set_info_free(&first);
}

static void
vol_abort_removes_volumes(void **state)
{
	struct fx *f = *state;
	struct vol_write_params p = {
		.dir = f->dir, .maxcap = MIB, .kind = VOL_KIND_DBBACKUP,
		.server = "S",
	};
	static uint8_t buf[1 << 20];
	struct vol_writer *w;
	struct stat st;
	char path[512];
	struct err e;

	assert_int_equal(vol_writer_open(&p, &w, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vol_write_record(w, 1, buf, sizeof(buf), &e),
		    0);
	snprintf(path, sizeof(path), "%s/C00002.vol", f->dir);
	assert_int_equal(stat(path, &st), 0);
	vol_writer_abort(w);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/C00001.vol", f->dir);
	assert_int_not_equal(stat(path, &st), 0);
}

/* A volume history for vol_serials_follow_the_history. */
struct hist {
	const char	*dir;
	char		 reg[8][8];	/* registered serials */
	int		 nreg;
	char		 dropped[8];
	int		 ndropped;
};

static int
hist_new(void *arg, const char *path, const char *serial, uint32_t seq,
    struct err *e)
{
	struct hist *h = arg;

	(void)path;
	(void)seq;
	/* C00003 is another directory's volume in this server's history. */
	if (strcmp(serial, "C00003") == 0)
		return err_set(e, COFFER_EEXIST, "volume %s: taken", serial);
	/* Another server makes C00002.vol in this shared directory now. */
	if (strcmp(serial, "C00002") == 0) {
		char other[512];
		int fd;

		snprintf(other, sizeof(other), "%s/C00002.vol", h->dir);
		assert_true((fd = open(other, O_CREAT | O_WRONLY, 0600)) >= 0);
		assert_int_equal(write(fd, "other", 5), 5);
		close(fd);
	}
	assert_true(h->nreg < 8);
	snprintf(h->reg[h->nreg++], sizeof(h->reg[0]), "%s", serial);
	return 0;
}

static void
hist_drop(void *arg, const char *serial)
{
	struct hist *h = arg;

	h->ndropped++;
	snprintf(h->dropped, sizeof(h->dropped), "%s", serial);
}

/*
 * Serials are unique in the server's history, not only in a directory:
 * none below min_serial, none the history holds, and a serial whose file
 * another server made is dropped, its file left alone.
 */
static void
vol_serials_follow_the_history(void **state)
{
	struct fx *f = *state;
	struct hist h = { .dir = f->dir };
	struct vol_write_params p = {
		.dir = f->dir, .maxcap = MIB, .kind = VOL_KIND_EXPORT,
		.server = "S", .on_new = hist_new, .on_drop = hist_drop,
		.arg = &h, .min_serial = 2,
	};
	static uint8_t buf[1 << 20];
	struct vol_set_info info;
	struct vol_writer *w;
	char path[512], got[6];
	int fd;
	struct err e;

	assert_int_equal(vol_writer_open(&p, &w, &e), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(vol_write_record(w, 1, buf, sizeof(buf), &e),
		    0);
	assert_int_equal(vol_writer_close(w, &info, &e), 0);
	assert_int_equal(h.ndropped, 1);
	assert_string_equal(h.dropped, "C00002");
	/* Registered: C00002 (then dropped), C00004, C00005, ... */
	assert_true(h.nreg >= 3);
	assert_string_equal(h.reg[0], "C00002");
	assert_string_equal(h.reg[1], "C00004");
	assert_string_equal(h.reg[2], "C00005");
	assert_int_equal(info.nvols, (uint32_t)(h.nreg - 1));
	assert_non_null(strstr(info.paths[0], "C00004.vol"));
	vol_set_info_free(&info);
	/* The other server's file is untouched; C00001 was never made. */
	snprintf(path, sizeof(path), "%s/C00002.vol", f->dir);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), 5);
	close(fd);
	assert_memory_equal(got, "other", 5);
	snprintf(path, sizeof(path), "%s/C00001.vol", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void
vol_bad_params_are_refused(void **state)
{
	struct fx *f = *state;
	struct vol_write_params p = {
		.dir = f->dir, .maxcap = MIB - 1, .kind = VOL_KIND_EXPORT,
		.server = "S",
	};
	struct vol_writer *w;
	struct err e;

	assert_int_equal(vol_writer_open(&p, &w, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "1 MiB"));
	p.maxcap = MIB;
	assert_int_equal(vol_writer_open(&p, &w, &e), 0);
	assert_int_equal(vol_write_record(w, 0, "x", 1, &e), COFFER_EINVAL);
	assert_int_equal(vol_write_record(w, 1, "x", VOL_RECORD_MAX + 1ul,
	    &e), COFFER_ETOOBIG);
	assert_int_equal(vol_writer_close(w, NULL, &e), 0);
}

/* ---- damage, each named ---- */

static void
vol_flipped_bit_names_volume_and_block(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, MIB, NULL);
	flip_bit(f->paths[0], DATA_AT(1) + 6 + VOL_DATA_HDR_LEN + 1000);
	expect_error(f->paths, f->info.nvols, NULL, COFFER_ECORRUPT,
	    f->paths[0], "block 1: CRC32C mismatch");
}

static void
vol_flipped_bit_in_encrypted_block_names_block(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, 2 * MIB, PASS);
	flip_bit(f->paths[1], ENC_AT(2) + 6 + VOL_DATA_HDR_LEN + 5);
	expect_error(f->paths, f->info.nvols, PASS, COFFER_ECORRUPT,
	    f->paths[1], "CRC32C mismatch");
}

/* A forged block (CRC recomputed) still fails GCM authentication. */
static void
vol_forged_encrypted_block_fails_authentication(void **state)
{
	struct fx *f = *state;
	uint8_t b[VOL_DATA_HDR_LEN + VOL_DATA_MAX + VOL_TAG_LEN], c[4];
	FILE *fp;

	write_set(f, f->dir, 2 * MIB, PASS);
	fp = fopen(f->paths[0], "rb");
	fseek(fp, ENC_AT(3) + 6, SEEK_SET);
	assert_int_equal(fread(b, 1, sizeof(b), fp), sizeof(b));
	fclose(fp);
	b[VOL_DATA_HDR_LEN + 100] ^= 1;
	util_put_le32(c, crc32c(crc32c(0, b, 20), b + VOL_DATA_HDR_LEN,
	    sizeof(b) - VOL_DATA_HDR_LEN));
	memcpy(b + 20, c, 4);
	patch(f->paths[0], ENC_AT(3) + 6, b, sizeof(b));
	expect_error(f->paths, f->info.nvols, PASS, COFFER_ECORRUPT,
	    f->paths[0], "block 3: failed authentication");
}

static void
vol_truncated_last_volume_is_named(void **state)
{
	struct fx *f = *state;
	const char *last;
	struct stat st;

	write_set(f, f->dir, MIB, NULL);
	last = f->paths[f->info.nvols - 1];
	assert_int_equal(stat(last, &st), 0);
	assert_int_equal(truncate(last, st.st_size - 300), 0);
	expect_error(f->paths, f->info.nvols, NULL, COFFER_ECORRUPT, last,
	    "truncated");
	/* Cut at a block boundary: no end label. */
	assert_int_equal(truncate(last, DATA_AT(1)), 0);
	expect_error(f->paths, f->info.nvols, NULL, COFFER_ECORRUPT, last,
	    "without an end label");
}

static void
vol_wrong_order_is_named(void **state)
{
	struct fx *f = *state;
	const char *p[64];

	write_set(f, f->dir, MIB, NULL);
	memcpy(p, f->paths, sizeof(p));
	p[0] = f->paths[1];
	p[1] = f->paths[0];
	expect_error(p, f->info.nvols, NULL, COFFER_ECORRUPT, f->paths[1],
	    "not the first");
	memcpy(p, f->paths, sizeof(p));
	p[1] = f->paths[2];
	p[2] = f->paths[1];
	expect_error(p, f->info.nvols, NULL, COFFER_ECORRUPT, f->paths[2],
	    "wrong order");
}

static void
vol_volume_of_another_set_is_named(void **state)
{
	struct fx *f = *state;
	struct vol_set_info a;
	const char *p[64];

	write_set(f, f->dir, MIB, NULL);
	a = f->info;
	memcpy(p, f->paths, sizeof(p));
	memset(&f->info, 0, sizeof(f->info));
	write_set(f, f->dir2, MIB, NULL);
	p[1] = f->info.paths[1];
	expect_error(p, a.nvols, NULL, COFFER_ECORRUPT, f->info.paths[1],
	    "another set");
	vol_set_info_free(&a);
}

static void
vol_missing_volume_is_named(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, MIB, NULL);
	expect_error(f->paths, 2, NULL, COFFER_ENOTFOUND, f->paths[1],
	    "C00003, which was not given");
	/* A volume left out of the middle: the next one is not the one
	 * named. */
	f->paths[2] = f->paths[3];
	expect_error(f->paths, f->info.nvols - 1, NULL, COFFER_ECORRUPT,
	    "names C00003", NULL);
}

static void
vol_extra_volume_is_named(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, MIB, NULL);
	f->paths[f->info.nvols] = f->paths[0];
	expect_error(f->paths, f->info.nvols + 1, NULL, COFFER_EINVAL,
	    "after", "last volume of the set");
}

static void
vol_wrong_passphrase_is_named(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, 2 * MIB, PASS);
	expect_error(f->paths, f->info.nvols, "not the passphrase",
	    COFFER_EAUTH, f->paths[0], "wrong passphrase");
}

static void
vol_missing_passphrase_is_named(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, 2 * MIB, PASS);
	expect_error(f->paths, f->info.nvols, NULL, COFFER_EAUTH,
	    f->paths[0], "passphrase is needed");
}

static void
vol_altered_label_is_named(void **state)
{
	struct fx *f = *state;

	write_set(f, f->dir, MIB, NULL);
	/* The server name, inside Coffer's label block of volume 2. */
	patch(f->paths[1], 6 + 80 + 6 + 68, "EVIL", 4);
	expect_error(f->paths, f->info.nvols, NULL, COFFER_ECORRUPT,
	    f->paths[1], "label block damaged");
	/* VOL1's serial. */
	write_set(f, f->dir2, MIB, NULL);
	patch(f->paths[0], 6 + 4, "X", 1);
	expect_error(f->paths, f->info.nvols, NULL, COFFER_ECORRUPT,
	    f->paths[0], "VOL1 says");
}

static void
vol_not_a_volume_is_named(void **state)
{
	struct fx *f = *state;
	char path[512];
	const char *p[1] = { path };

	FILE *fp;

	snprintf(path, sizeof(path), "%s/junk.vol", f->dir);
	assert_non_null(fp = fopen(path, "wb"));
	fputs("hello, world\n", fp);
	fclose(fp);
	expect_error(p, 1, NULL, COFFER_ECORRUPT, path, "");
	snprintf(path, sizeof(path), "%s/absent.vol", f->dir);
	expect_error(p, 1, NULL, COFFER_ENOTFOUND, path, "open");
}

/* ---- failures while writing ---- */

/* Linked with -Wl,--wrap=fsync: fail every fsync while fail_fsync is set. */
static int fail_fsync;
int __real_fsync(int fd);
int __wrap_fsync(int fd);

int
__wrap_fsync(int fd)
{
	if (fail_fsync) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

static int
count_volumes(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".vol") != NULL;
	closedir(d);
	return n;
}

/* A set that cannot be made durable is not left half there. */
static void
vol_failed_fsync_at_close_removes_set(void **state)
{
	struct fx *f = *state;
	struct vol_write_params p = {
		.dir = f->dir, .maxcap = MIB, .kind = VOL_KIND_EXPORT,
		.server = "S",
	};
	static uint8_t buf[1 << 20];
	struct vol_writer *w;
	struct err e;
	int rc;

	assert_int_equal(vol_writer_open(&p, &w, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vol_write_record(w, 1, buf, sizeof(buf), &e),
		    0);
	assert_true(count_volumes(f->dir) >= 3);
	fail_fsync = 1;
	rc = vol_writer_close(w, NULL, &e);
	fail_fsync = 0;
	assert_int_equal(rc, COFFER_EIO);
	assert_non_null(strstr(e.msg, "fsync"));
	assert_int_equal(count_volumes(f->dir), 0);
}

/* ---- the device and the labels ---- */

static void
vol_dev_spaces_over_blocks_and_files(void **state)
{
	struct fx *f = *state;
	struct vol_dev *d;
	uint8_t b[100];
	uint64_t id;
	char path[512];
	struct err e;
	size_t n;

	snprintf(path, sizeof(path), "%s/dev.aws", f->dir);
	assert_int_equal(vol_dev_file_create(path, MIB, 0, &d, &e), 0);
	for (int i = 1; i <= 3; i++) {
		memset(b, i, sizeof(b));
		assert_int_equal(d->ops->write_block(d, b, (size_t)i * 10, &e),
		    0);
	}
	assert_int_equal(d->ops->write_tapemark(d, &e), 0);
	assert_int_equal(d->ops->write_block(d, "four", 4, &e), 0);
	assert_int_equal(d->ops->write_tapemark(d, &e), 0);
	assert_int_equal(d->ops->write_tapemark(d, &e), 0);
	assert_int_equal(d->ops->sync(d, &e), 0);
	assert_int_equal(vol_dev_close(d, &e), 0);

	assert_int_equal(vol_dev_file_open(path, &d, &e), 0);
	assert_int_equal(d->ops->space_files(d, 1, &e), 0);
	assert_int_equal(d->ops->read_block(d, b, sizeof(b), &n, &e),
	    VOL_DEV_DATA);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "four", 4);
	/* Back over "four", the tapemark (stops), then two blocks. */
	assert_int_equal(d->ops->space_blocks(d, -1, &e), 0);
	assert_int_equal(d->ops->space_blocks(d, -1, &e), COFFER_ENOTFOUND);
	assert_int_equal(d->ops->space_blocks(d, -2, &e), 0);
	assert_int_equal(d->ops->read_block(d, b, sizeof(b), &n, &e),
	    VOL_DEV_DATA);
	assert_int_equal(n, 20);
	assert_int_equal(b[0], 2);
	/* No tapemark before: spacing back a file stops at the start. */
	assert_int_equal(d->ops->space_files(d, -1, &e), COFFER_ENOTFOUND);
	assert_int_equal(d->ops->position(d, &id, NULL, &e), 0);
	assert_int_equal(id, 0);
	assert_int_equal(d->ops->rewind(d, &e), 0);
	assert_int_equal(d->ops->space_blocks(d, 2, &e), 0);
	assert_int_equal(d->ops->read_block(d, b, sizeof(b), &n, &e),
	    VOL_DEV_DATA);
	assert_int_equal(n, 30);
	assert_int_equal(d->ops->read_block(d, b, sizeof(b), &n, &e),
	    VOL_DEV_TAPEMARK);
	assert_int_equal(d->ops->space_files(d, 2, &e), 0);
	assert_int_equal(d->ops->read_block(d, b, sizeof(b), &n, &e),
	    VOL_DEV_EOD);
	assert_int_equal(d->ops->space_files(d, 1, &e), COFFER_ENOTFOUND);
	vol_dev_close(d, NULL);
}

static void
vol_dev_reports_early_warning_and_full(void **state)
{
	struct fx *f = *state;
	static uint8_t b[VOL_DEV_BLOCK_MAX];
	struct vol_dev *d;
	char path[512];
	struct err e;
	int rc, ew = 0;

	snprintf(path, sizeof(path), "%s/ew.aws", f->dir);
	assert_int_equal(vol_dev_file_create(path, 5 * 65536, 65536, &d, &e),
	    0);
	/* Each block takes 64 KiB with its header: the fifth leaves less
	 * than the reserve, the sixth does not fit. */
	for (int i = 0; i < 6; i++) {
		rc = d->ops->write_block(d, b, sizeof(b), &e);
		assert_true(rc >= 0 || i == 5);
		if (rc == VOL_DEV_EW && ew == 0)
			ew = i + 1;
	}
	assert_int_equal(ew, 5);
	assert_int_equal(rc, COFFER_ENOSPC);
	vol_dev_close(d, NULL);
}

static void
vol_volume_info_reads_labels(void **state)
{
	struct fx *f = *state;
	struct vol_volume_info vi;
	struct err e;

	write_set(f, f->dir, MIB, PASS);
	assert_int_equal(vol_volume_info(f->paths[0], &vi, &e), 0);
	assert_string_equal(vi.serial, "C00001");
	assert_int_equal(vi.seq, 1);
	assert_int_equal(vi.encrypted, 1);
	assert_int_equal(vi.kdf_log_n, 15);
	assert_int_equal(vi.end_kind, 1);
	assert_string_equal(vi.next_serial, "C00002");
	assert_true(vi.blocks > 10);
	assert_memory_equal(vi.set_uuid, f->info.set_uuid, 16);
	assert_int_equal(vol_volume_info(f->paths[f->info.nvols - 1], &vi,
	    &e), 0);
	assert_int_equal(vi.end_kind, 2);
	assert_int_equal(truncate(f->paths[0], ENC_AT(3)), 0);
	assert_int_equal(vol_volume_info(f->paths[0], &vi, &e), 0);
	assert_int_equal(vi.end_kind, 0);
	assert_non_null(strstr(vi.end_error, "end of data"));
}

/* Hercules' tapemap must see the three files and their blocks. */
static void
vol_tapemap_lists_files_and_blocks(void **state)
{
	struct fx *f = *state;
	char cmd[1024], out[8192];
	size_t n;
	FILE *p;

	if (system("command -v tapemap >/dev/null 2>&1") != 0) {
		print_message("tapemap not installed (apt-get install "
		    "hercules): skipped\n");
		skip();
	}
	write_set(f, f->dir, MIB, NULL);
	snprintf(cmd, sizeof(cmd), "tapemap '%s' 2>&1", f->paths[0]);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(p)), 0);
	if (strstr(out, "File 1: Blocks=2, block size min=80, max=256") ==
	    NULL || strstr(out, "File 2: Blocks=15, block size min=65514, "
	    "max=65514") == NULL || strstr(out, "File 3: Blocks=1, block "
	    "size min=128, max=128") == NULL || strstr(out, "End of tape")
	    == NULL)
		fail_msg("tapemap output:\n%s", out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(vol_plain_round_trip_spans_volumes),
		T(vol_encrypted_round_trip_spans_volumes),
		T(vol_serials_are_unique_in_directory),
		T(vol_abort_removes_volumes),
		T(vol_serials_follow_the_history),
		T(vol_bad_params_are_refused),
		T(vol_flipped_bit_names_volume_and_block),
		T(vol_flipped_bit_in_encrypted_block_names_block),
		T(vol_forged_encrypted_block_fails_authentication),
		T(vol_truncated_last_volume_is_named),
		T(vol_wrong_order_is_named),
		T(vol_volume_of_another_set_is_named),
		T(vol_missing_volume_is_named),
		T(vol_extra_volume_is_named),
		T(vol_wrong_passphrase_is_named),
		T(vol_missing_passphrase_is_named),
		T(vol_altered_label_is_named),
		T(vol_not_a_volume_is_named),
		T(vol_failed_fsync_at_close_removes_set),
		T(vol_dev_spaces_over_blocks_and_files),
		T(vol_dev_reports_early_warning_and_full),
		T(vol_volume_info_reads_labels),
		T(vol_tapemap_lists_files_and_blocks),
#undef T
	};
	return cmocka_run_group_tests_name("vol", tests, NULL, NULL);
}
