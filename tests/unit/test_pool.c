/*
 * test_pool.c - the container pool, checked the way a user would: bytes
 * read back equal bytes stored, duplicates are stored once and counted
 * twice, released chunks are reclaimed and live ones survive it, damage is
 * found and named, a damaged chunk is repaired by storing it again, and a
 * crash or an I/O error at any step of the commit protocol leaves a pool
 * that opens clean with every committed chunk and none of the failed ones.
 *
 * Failure injection: this program is linked with
 * -Wl,--wrap=pwrite,--wrap=fdatasync,--wrap=fsync (tests/unit/include.am),
 * so the pool's own calls (not SQLite's, which lives in a shared library)
 * go through the __wrap_ functions below.  io_arm() makes the Nth counted
 * call fail with a chosen errno.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "pool.h"
#include "pool_backend.h"
#include "pool_container.h"
#include "pool_int.h"
#include "pool_recipe.h"
#include "util.h"

#define KIB		1024u
#define MIB		(1024u * 1024)
#define CHUNK_CAP	(1 * MIB)

/* ---- failure injection ---- */

#define IO_PWRITE	1u
#define IO_FDATASYNC	2u
#define IO_FSYNC	4u
#define IO_ALL		(IO_PWRITE | IO_FDATASYNC | IO_FSYNC)

static unsigned io_mask;	/* which calls count; 0: injection off */
static int io_fail_at;		/* the counted call that fails (1-based) */
static int io_errno;
static int io_calls;		/* counted calls since io_arm() */
static unsigned io_failed_kind;	/* which call failed */

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

static void
io_arm(unsigned mask, int nth, int errnum)
{
	io_mask = mask;
	io_fail_at = nth;
	io_errno = errnum;
	io_calls = 0;
	io_failed_kind = 0;
}

static void
io_disarm(void)
{
	io_mask = 0;
	io_fail_at = 0;
}

/* 1 when this call is to fail. */
static int
io_hit(unsigned kind)
{
	if ((io_mask & kind) == 0)
		return 0;
	if (++io_calls != io_fail_at)
		return 0;
	io_failed_kind = kind;
	errno = io_errno;
	return 1;
}

ssize_t
__wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (io_hit(IO_PWRITE))
		return -1;
	return __real_pwrite(fd, buf, n, off);
}

int
__wrap_fdatasync(int fd)
{
	if (io_hit(IO_FDATASYNC))
		return -1;
	return __real_fdatasync(fd);
}

int
__wrap_fsync(int fd)
{
	if (io_hit(IO_FSYNC))
		return -1;
	return __real_fsync(fd);
}

/* ---- test data ---- */

enum kind { RANDOM, TEXT };

/* A chunk the test stored: enough to regenerate and check it. */
struct tc {
	uint64_t	seed;
	uint32_t	len;
	enum kind	kind;
	uint8_t		hash[HASH_LEN];
	uint8_t		codec;
	uint32_t	stored_len;
};

struct fixture {
	char			 dir[64];
	struct pool		*p;
	struct pool_reader	*rd;
	struct hash_ctx		*hash;
	struct codec		*codec;
	uint8_t			*raw;
	uint8_t			*stored;
	uint8_t			*out;
};

static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
gen(uint8_t *p, uint32_t n, uint64_t seed, enum kind kind)
{
	static const char *const words[] = { "coffer ", "backup ", "chunk ",
	    "container ", "pool ", "restore ", "tape ", "volume\n" };
	uint64_t s = seed;
	uint32_t i = 0;

	if (kind == RANDOM) {
		for (; i + 8 <= n; i += 8) {
			uint64_t const v = next_rand(&s);

			memcpy(p + i, &v, 8);
		}
		for (; i < n; i++)
			p[i] = (uint8_t)next_rand(&s);
		return;
	}
	while (i < n) {
		const char *w = words[next_rand(&s) % 8];

		for (; *w != '\0' && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

/* Describe a chunk: its bytes in fx->raw, its stored form in fx->stored. */
static void
make(struct fixture *fx, struct tc *t, uint64_t seed, uint32_t len,
    enum kind kind, struct pool_chunk *c)
{
	struct err e;
	size_t stored_len;
	uint8_t id;

	assert_true(len <= CHUNK_CAP);
	t->seed = seed;
	t->len = len;
	t->kind = kind;
	gen(fx->raw, len, seed, kind);
	assert_int_equal(hash_sha256(fx->hash, fx->raw, len, t->hash), 0);
	assert_int_equal(codec_encode(fx->codec, fx->raw, len, fx->stored,
	    codec_bound(CHUNK_CAP), &stored_len, &id, &e), 0);
	t->codec = id;
	t->stored_len = (uint32_t)stored_len;
	memcpy(c->hash, t->hash, HASH_LEN);
	c->raw_len = len;
	c->codec = id;
	c->stored_len = (uint32_t)stored_len;
	c->stored = fx->stored;
}

/* Put a fresh chunk; returns pool_txn_put's result. */
static int
put(struct fixture *fx, struct pool_txn *txn, struct tc *t, uint64_t seed,
    uint32_t len, enum kind kind, int *stored_new, struct err *e)
{
	struct pool_chunk c;

	make(fx, t, seed, len, kind, &c);
	return pool_txn_put(txn, &c, stored_new, e);
}

static void
put_ok(struct fixture *fx, struct pool_txn *txn, struct tc *t, uint64_t seed,
    uint32_t len, enum kind kind)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = put(fx, txn, t, seed, len, kind, NULL, &e)) != 0)
		fail_msg("pool_txn_put: %s (%d)", e.msg, r);
}

static void
commit_ok(struct pool_txn *txn)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = pool_txn_commit(txn, NULL, NULL, &e)) != 0)
		fail_msg("pool_txn_commit: %s (%d)", e.msg, r);
}

static struct pool_txn *
begin(struct fixture *fx)
{
	struct pool_txn *txn = NULL;
	struct err e;

	assert_int_equal(pool_txn_begin(fx->p, &txn, &e), 0);
	return txn;
}

/* Store n chunks in one transaction, seeds seed0.., sizes lo..hi. */
static void
store_many(struct fixture *fx, struct tc *v, int n, uint64_t seed0,
    uint32_t lo, uint32_t hi)
{
	struct pool_txn *txn = begin(fx);
	uint64_t s = seed0 * 7919;

	for (int i = 0; i < n; i++) {
		uint32_t const len = lo + (uint32_t)(next_rand(&s) %
		    (hi - lo + 1));

		put_ok(fx, txn, &v[i], seed0 + (uint64_t)i, len,
		    i % 3 == 2 ? TEXT : RANDOM);
	}
	commit_ok(txn);
}

/* The chunk reads back with exactly its bytes. */
static void
assert_reads_back(struct fixture *fx, const struct tc *t)
{
	struct err e;
	uint32_t got = 0;
	int r;

	gen(fx->raw, t->len, t->seed, t->kind);
	memset(fx->out, 0xEE, t->len);
	err_clear(&e);
	if ((r = pool_read(fx->rd, t->hash, fx->out, CHUNK_CAP, &got,
	    &e)) != 0)
		fail_msg("pool_read: %s (%d)", e.msg, r);
	assert_int_equal(got, t->len);
	assert_memory_equal(fx->out, fx->raw, t->len);
}

static void
assert_absent(struct fixture *fx, const struct tc *t)
{
	struct err e;
	uint32_t got;

	assert_int_equal(pool_has(fx->p, t->hash), 0);
	assert_int_equal(pool_read(fx->rd, t->hash, fx->out, CHUNK_CAP, &got,
	    &e), COFFER_ENOTFOUND);
}

static void
open_pool(struct fixture *fx)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = pool_open(fx->dir, NULL, &fx->p, &e)) != 0)
		fail_msg("pool_open: %s (%d)", e.msg, r);
	assert_non_null(fx->rd = pool_reader_new(fx->p, &e));
}

static void
close_pool(struct fixture *fx)
{
	pool_reader_free(fx->rd);
	fx->rd = NULL;
	pool_close(fx->p);
	fx->p = NULL;
}

static void
reopen(struct fixture *fx)
{
	close_pool(fx);
	open_pool(fx);
}

static struct pool_stats
stats(struct fixture *fx)
{
	struct pool_stats s;
	struct err e;

	assert_int_equal(pool_stats(fx->p, &s, &e), 0);
	return s;
}

/* Audit must find nothing wrong. */
static void
assert_audit_clean(struct fixture *fx, uint64_t chunks)
{
	struct pool_audit_report rep;
	struct err e;

	err_clear(&e);
	if (pool_audit(fx->p, NULL, NULL, &rep, &e) != 0)
		fail_msg("pool_audit: %s", e.msg);
	assert_int_equal(rep.damaged, 0);
	assert_int_equal(rep.chunks_checked, chunks);
}

static char *
ctr_path(struct fixture *fx, uint64_t id)
{
	static char path[PATH_MAX];

	pool_backend_dir_path(fx->dir, id, path, sizeof(path));
	return path;
}

static int64_t
file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_size;
}

/* ---- reading the index the way an operator would, with sqlite3 ---- */

static sqlite3 *
db_open(struct fixture *fx)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/pool.db", fx->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	return db;
}

/* Where the index says a chunk's record is. */
static void
chunk_loc(struct fixture *fx, const uint8_t hash[HASH_LEN], uint64_t *ctr,
    uint64_t *off, uint32_t *stored_len)
{
	sqlite3 *db = db_open(fx);
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT container, offset,"
	    " stored_len FROM chunk WHERE hash=?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, hash, HASH_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*ctr = (uint64_t)sqlite3_column_int64(st, 0);
	*off = (uint64_t)sqlite3_column_int64(st, 1);
	if (stored_len != NULL)
		*stored_len = (uint32_t)sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int64_t
db_count(struct fixture *fx, const char *sql)
{
	sqlite3 *db = db_open(fx);
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Container ids the index lists (not DELETED), ascending. */
static size_t
indexed_containers(struct fixture *fx, uint64_t *ids, uint64_t *sizes,
    size_t cap)
{
	sqlite3 *db = db_open(fx);
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, size FROM "
	    "pool_container WHERE state<>2 ORDER BY id", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_true(n < cap);
		ids[n] = (uint64_t)sqlite3_column_int64(st, 0);
		if (sizes != NULL)
			sizes[n] = (uint64_t)sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Container files present in DIR/containers. */
static size_t
container_files(struct fixture *fx)
{
	char path[PATH_MAX];
	size_t n = 0;

	for (unsigned sub = 0; sub < 256; sub++) {
		struct dirent *de;
		DIR *dp;

		snprintf(path, sizeof(path), "%s/containers/%02x", fx->dir,
		    sub);
		if ((dp = opendir(path)) == NULL)
			continue;
		while ((de = readdir(dp)) != NULL)
			if (strstr(de->d_name, ".ctr") != NULL)
				n++;
		closedir(dp);
	}
	return n;
}

/* Invariant (3) and (6) as seen from outside: files match the index. */
static void
assert_files_match_index(struct fixture *fx)
{
	uint64_t ids[256], sizes[256];
	size_t const n = indexed_containers(fx, ids, sizes, 256);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(file_size(ctr_path(fx, ids[i])),
		    (int64_t)sizes[i]);
	assert_int_equal(container_files(fx), n);
}

static void
flip_byte(const char *path, uint64_t off, uint8_t mask)
{
	uint8_t b;
	int fd;

	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

/* ---- fixtures ---- */

static int
setup_with(void **state, uint64_t container_max)
{
	struct pool_params pp;
	struct fixture *fx;
	struct err e;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	*state = fx;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-pool.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	fx->raw = malloc(CHUNK_CAP);
	fx->out = malloc(CHUNK_CAP);
	fx->stored = malloc(codec_bound(CHUNK_CAP));
	fx->hash = hash_ctx_new(&e);
	fx->codec = codec_new(3, &e);
	if (fx->raw == NULL || fx->out == NULL || fx->stored == NULL ||
	    fx->hash == NULL || fx->codec == NULL)
		return -1;
	pool_params_default(&pp);
	pp.container_max = container_max;
	if (pool_create(fx->dir, NULL, &pp, &e) != 0) {
		fprintf(stderr, "pool_create: %s\n", e.msg);
		return -1;
	}
	if (pool_open(fx->dir, NULL, &fx->p, &e) != 0) {
		fprintf(stderr, "pool_open: %s\n", e.msg);
		return -1;
	}
	if ((fx->rd = pool_reader_new(fx->p, &e)) == NULL)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, POOL_CONTAINER_MAX_DEFAULT);
}

/* 1 MiB containers, so that a few hundred KiB chunks fill several. */
static int
setup_small(void **state)
{
	return setup_with(state, 1 * MIB);
}

/* Just the scratch directory, for the create/open tests. */
static int
setup_empty(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	*state = fx;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-pool.XXXXXX");
	return mkdtemp(fx->dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	io_disarm();
	if (fx == NULL)
		return 0;
	close_pool(fx);
	hash_ctx_free(fx->hash);
	codec_free(fx->codec);
	free(fx->raw);
	free(fx->out);
	free(fx->stored);
	if (fx->dir[0] != '\0')
		util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* ---- create and open ---- */

static void
pool_create_then_open_keeps_params(void **state)
{
	struct fixture *fx = *state;
	struct pool_params pp;
	const struct pool_params *got;
	struct pool *p = NULL;
	struct err e;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pool", fx->dir);
	pool_params_default(&pp);
	pp.level = 7;
	pp.container_max = 8 * MIB;
	pp.reclaim_pct = 35;
	err_clear(&e);
	assert_int_equal(pool_create(path, NULL, &pp, &e), 0);
	assert_int_equal(pool_open(path, NULL, &p, &e), 0);
	got = pool_get_params(p);
	assert_int_equal(got->level, 7);
	assert_int_equal(got->container_max, 8 * MIB);
	assert_int_equal(got->reclaim_pct, 35);
	pool_close(p);
}

static void
pool_create_twice_fails_with_eexist(void **state)
{
	struct fixture *fx = *state;
	struct err e;

	assert_int_equal(pool_create(fx->dir, NULL, NULL, &e), 0);
	err_clear(&e);
	assert_int_equal(pool_create(fx->dir, NULL, NULL, &e), COFFER_EEXIST);
	assert_int_equal(e.code, COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "already holds a pool"));
	assert_non_null(strstr(e.msg, fx->dir));
}

static void
pool_create_bad_params_are_rejected(void **state)
{
	struct fixture *fx = *state;
	struct pool_params pp;
	struct err e;

	pool_params_default(&pp);
	pp.level = 0;
	err_clear(&e);
	assert_int_equal(pool_create(fx->dir, NULL, &pp, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "compression level 0"));
	pool_params_default(&pp);
	pp.container_max = 4096;
	assert_int_equal(pool_create(fx->dir, NULL, &pp, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "container size 4096"));
	pool_params_default(&pp);
	pp.reclaim_pct = 101;
	assert_int_equal(pool_create(fx->dir, NULL, &pp, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "reclaim threshold 101%"));
}

static void
pool_open_missing_pool_fails_with_message(void **state)
{
	struct fixture *fx = *state;
	struct pool *p = NULL;
	char path[PATH_MAX];
	struct err e;
	int r;

	snprintf(path, sizeof(path), "%s/nope", fx->dir);
	err_clear(&e);
	r = pool_open(path, NULL, &p, &e);
	assert_int_equal(r, COFFER_ENOTFOUND);
	assert_null(p);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "No such file or directory"));
	/* Nothing was created on the way. */
	assert_int_equal(file_size(path), -1);
}

/* ---- storing and reading ---- */

/*
 * One transaction over far more containers than it used to allow (64):
 * a VM version is one transaction whatever its size.  The containers
 * that fill up on the way are synced then; every chunk reads back.
 */
static void
pool_txn_spans_hundreds_of_containers(void **state)
{
	struct fixture *fx = *state;
	int const n = 150;
	struct tc *v = calloc((size_t)n, sizeof(*v));
	struct pool_stats st;
	struct err e;

	assert_non_null(v);
	/* 1 MiB containers (setup_small), random 700-900 KiB chunks. */
	store_many(fx, v, n, 4242, 700 * KIB, 900 * KIB);
	assert_int_equal(pool_stats(fx->p, &st, &e), 0);
	assert_true(st.containers > 64);
	for (int i = 0; i < n; i++)
		if (v[i].kind == RANDOM)
			assert_reads_back(fx, &v[i]);
	free(v);
}

static void
pool_many_chunks_read_back_identical(void **state)
{
	struct fixture *fx = *state;
	int const n = 120;
	struct tc v[120], absent;
	struct pool_stats s;
	struct pool_chunk c;
	uint64_t raw = 0, stored = 0;
	int codecs[3] = { 0 };

	store_many(fx, v, n / 2, 1000, 1, 200 * KIB);
	store_many(fx, v + n / 2, n / 2, 2000, 32 * KIB, 300 * KIB);
	for (int i = 0; i < n; i++) {
		assert_int_equal(pool_has(fx->p, v[i].hash), 1);
		assert_reads_back(fx, &v[i]);
		codecs[v[i].codec]++;
		raw += v[i].len;
		stored += v[i].stored_len;
	}
	/* Both codecs are in the pool, and stored as the sender chose. */
	assert_true(codecs[CODEC_RAW] > 10);
	assert_true(codecs[CODEC_ZSTD] > 10);
	for (int i = 0; i < n; i++) {
		struct err e;

		assert_int_equal(pool_read_stored(fx->rd, v[i].hash, &c, &e),
		    0);
		assert_int_equal(c.codec, v[i].codec);
		assert_int_equal(c.stored_len, v[i].stored_len);
		assert_int_equal(pool_chunk_verify(fx->rd, &c, &e), 0);
	}
	s = stats(fx);
	assert_int_equal(s.chunks, n);
	assert_int_equal(s.live_chunks, n);
	assert_int_equal(s.references, n);
	assert_int_equal(s.raw_bytes, raw);
	assert_int_equal(s.stored_bytes, stored);
	assert_int_equal(s.damaged, 0);
	assert_int_equal(s.container_bytes, CTR_FILE_HDR_LEN +
	    n * CTR_REC_HDR_LEN + stored);
	/* Durable across close and open. */
	reopen(fx);
	for (int i = 0; i < n; i++)
		assert_reads_back(fx, &v[i]);
	assert_files_match_index(fx);
	/* A chunk never stored is absent. */
	gen(fx->raw, 1000, 424242, RANDOM);
	absent.len = 1000;
	assert_int_equal(hash_sha256(fx->hash, fx->raw, 1000, absent.hash), 0);
	assert_absent(fx, &absent);
}

static void
pool_read_absent_chunk_names_it(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	struct err e;
	uint32_t got;

	memset(h, 0xAB, sizeof(h));
	hash_to_hex(h, hex);
	err_clear(&e);
	assert_int_equal(pool_read(fx->rd, h, fx->out, CHUNK_CAP, &got, &e),
	    COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, hex));
}

static void
pool_read_into_small_buffer_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *txn = begin(fx);
	struct tc t;
	struct err e;
	uint32_t got;

	put_ok(fx, txn, &t, 5, 100 * KIB, RANDOM);
	commit_ok(txn);
	err_clear(&e);
	assert_int_equal(pool_read(fx->rd, t.hash, fx->out, 100 * KIB - 1,
	    &got, &e), COFFER_ETOOBIG);
	assert_non_null(strstr(e.msg, "102400"));
	/* Not damage: the chunk still reads into a buffer that fits. */
	assert_reads_back(fx, &t);
	assert_int_equal(stats(fx).damaged, 0);
}

static void
pool_bad_chunk_lengths_are_rejected(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *txn = begin(fx);
	struct pool_chunk c;
	struct tc t;
	struct err e;

	make(fx, &t, 1, 1000, RANDOM, &c);
	c.raw_len = 0;
	assert_int_equal(pool_txn_put(txn, &c, NULL, &e), COFFER_EINVAL);
	make(fx, &t, 1, 1000, RANDOM, &c);
	c.codec = 9;
	assert_int_equal(pool_txn_put(txn, &c, NULL, &e), COFFER_EINVAL);
	make(fx, &t, 1, 1000, RANDOM, &c);
	c.stored_len = (uint32_t)codec_bound(1000) + 1;
	assert_int_equal(pool_txn_put(txn, &c, NULL, &e), COFFER_EINVAL);
	commit_ok(txn);
	assert_int_equal(stats(fx).chunks, 0);
}

/* ---- deduplication and references ---- */

static void
pool_same_chunk_twice_is_stored_once_and_counted_twice(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *txn;
	struct pool_stats s;
	struct tc a, b;
	struct err e;
	int nw = -1;
	uint64_t after_first;

	txn = begin(fx);
	assert_int_equal(put(fx, txn, &a, 11, 150 * KIB, RANDOM, &nw, &e), 0);
	assert_int_equal(nw, 1);
	after_first = pool_txn_bytes_stored(txn);
	assert_int_equal(after_first, CTR_REC_HDR_LEN + a.stored_len);
	assert_int_equal(put(fx, txn, &a, 11, 150 * KIB, RANDOM, &nw, &e), 0);
	assert_int_equal(nw, 0);
	assert_int_equal(pool_txn_bytes_stored(txn), after_first);
	commit_ok(txn);

	/* A second transaction: found in the index, not written again. */
	txn = begin(fx);
	assert_int_equal(put(fx, txn, &b, 11, 150 * KIB, RANDOM, &nw, &e), 0);
	assert_int_equal(nw, 0);
	assert_int_equal(pool_txn_bytes_stored(txn), 0);
	assert_int_equal(pool_txn_ref(txn, a.hash, &e), 0);
	commit_ok(txn);

	s = stats(fx);
	assert_int_equal(s.chunks, 1);
	assert_int_equal(s.live_chunks, 1);
	assert_int_equal(s.references, 4);
	assert_int_equal(s.stored_bytes, a.stored_len);
	assert_int_equal(s.container_bytes, CTR_FILE_HDR_LEN +
	    CTR_REC_HDR_LEN + a.stored_len);
	assert_int_equal(db_count(fx, "SELECT count(*) FROM chunk"), 1);
	assert_reads_back(fx, &a);
}

/*
 * Two open transactions store the same new chunk: the first commit
 * inserts its row, the second finds it and adds its references; the
 * live bytes (summed per container at commit) count the one copy.
 */
static void
pool_same_new_chunk_in_two_open_transactions(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *t1 = begin(fx), *t2 = begin(fx);
	struct pool_stats s;
	struct tc a, b, c;
	struct err e;

	put_ok(fx, t1, &a, 21, 100 * KIB, RANDOM);
	put_ok(fx, t1, &c, 22, 50 * KIB, TEXT);
	put_ok(fx, t2, &b, 21, 100 * KIB, RANDOM);
	/* t1's copy is not committed: t2 writes its own. */
	assert_int_equal(pool_txn_bytes_stored(t2), CTR_REC_HDR_LEN +
	    b.stored_len);
	assert_int_equal(pool_txn_ref(t2, b.hash, &e), 0);
	commit_ok(t1);
	commit_ok(t2);

	s = stats(fx);
	assert_int_equal(s.chunks, 2);
	assert_int_equal(s.live_chunks, 2);
	assert_int_equal(s.references, 4);
	assert_int_equal(db_count(fx, "SELECT refcount FROM chunk ORDER BY"
	    " refcount DESC LIMIT 1"), 3);
	assert_int_equal(db_count(fx, "SELECT sum(live_bytes) FROM"
	    " pool_container"), 2 * CTR_REC_HDR_LEN + a.stored_len +
	    c.stored_len);
	assert_reads_back(fx, &a);
	assert_reads_back(fx, &c);
}

static void
pool_ref_of_absent_chunk_is_enotfound(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *txn = begin(fx);
	char hex[HASH_HEX_LEN + 1];
	uint8_t h[HASH_LEN];
	struct err e;

	memset(h, 0x11, sizeof(h));
	hash_to_hex(h, hex);
	err_clear(&e);
	assert_int_equal(pool_txn_ref(txn, h, &e), COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, hex));
	assert_non_null(strstr(e.msg, "not in the pool"));
	/* Unref of what this txn never referenced is refused too. */
	err_clear(&e);
	assert_int_equal(pool_txn_unref(txn, h, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, hex));
	commit_ok(txn);
	assert_int_equal(stats(fx).references, 0);
}

static void
pool_abort_leaves_nothing_referenced(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *txn;
	struct tc kept, v[5];
	struct pool_stats s;
	struct err e;

	txn = begin(fx);
	put_ok(fx, txn, &kept, 1, 50 * KIB, TEXT);
	commit_ok(txn);

	txn = begin(fx);
	for (int i = 0; i < 5; i++)
		put_ok(fx, txn, &v[i], 100 + (uint64_t)i, 70 * KIB, RANDOM);
	assert_int_equal(pool_txn_ref(txn, kept.hash, &e), 0);
	pool_txn_abort(txn);

	s = stats(fx);
	assert_int_equal(s.chunks, 1);
	assert_int_equal(s.references, 1);
	for (int i = 0; i < 5; i++)
		assert_absent(fx, &v[i]);
	assert_reads_back(fx, &kept);
	/* Their bytes are dead space that the next open drops. */
	reopen(fx);
	assert_files_match_index(fx);
	for (int i = 0; i < 5; i++)
		assert_absent(fx, &v[i]);
	assert_audit_clean(fx, 1);
}

static void
pool_txn_unref_takes_back_a_reference(void **state)
{
	struct fixture *fx = *state;
	struct pool_txn *txn;
	struct tc a, b;
	struct err e;

	txn = begin(fx);
	put_ok(fx, txn, &a, 1, 10 * KIB, RANDOM);
	put_ok(fx, txn, &b, 2, 10 * KIB, RANDOM);
	put_ok(fx, txn, &b, 2, 10 * KIB, RANDOM);
	assert_int_equal(pool_txn_unref(txn, a.hash, &e), 0);
	assert_int_equal(pool_txn_unref(txn, b.hash, &e), 0);
	commit_ok(txn);
	/* a was taken back entirely: never indexed; b counted once. */
	assert_absent(fx, &a);
	assert_int_equal(stats(fx).references, 1);
	assert_reads_back(fx, &b);
}

struct release {
	struct pool		*p;
	const struct tc		*v;
	int			 n;
	int			 times;
};

static int
release_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct release *rl = arg;
	int r;

	(void)db;
	for (int k = 0; k < rl->times; k++)
		for (int i = 0; i < rl->n; i++)
			if ((r = pool_unref_locked(rl->p, rl->v[i].hash,
			    e)) != 0)
				return r;
	return 0;
}

static int
release(struct fixture *fx, const struct tc *v, int n, int times,
    struct err *e)
{
	struct release rl = { fx->p, v, n, times };

	return pool_exec(fx->p, release_cb, &rl, e);
}

static void
pool_unref_releases_and_reclaim_drops_chunk(void **state)
{
	struct fixture *fx = *state;
	struct pool_reclaim_report rep;
	struct pool_txn *txn;
	char hex[HASH_HEX_LEN + 1];
	struct tc a, b;
	struct err e;

	txn = begin(fx);
	put_ok(fx, txn, &a, 1, 64 * KIB, RANDOM);
	put_ok(fx, txn, &a, 1, 64 * KIB, RANDOM);
	put_ok(fx, txn, &b, 2, 64 * KIB, RANDOM);
	commit_ok(txn);
	assert_int_equal(stats(fx).references, 3);

	assert_int_equal(release(fx, &a, 1, 1, &e), 0);
	assert_int_equal(stats(fx).references, 2);
	/* Releasing more than referenced fails and changes nothing. */
	err_clear(&e);
	assert_int_equal(release(fx, &a, 1, 2, &e), COFFER_ECORRUPT);
	hash_to_hex(a.hash, hex);
	assert_non_null(strstr(e.msg, hex));
	assert_non_null(strstr(e.msg, "released more often than referenced"));
	assert_int_equal(stats(fx).references, 2);

	assert_int_equal(release(fx, &a, 1, 1, &e), 0);
	assert_int_equal(stats(fx).references, 1);
	assert_int_equal(stats(fx).live_chunks, 1);
	assert_int_equal(stats(fx).chunks, 2);
	/* At zero it is still readable until reclamation drops it. */
	assert_reads_back(fx, &a);
	assert_int_equal(pool_reclaim(fx->p, -1, &rep, &e), 0);
	assert_int_equal(rep.chunks_freed, 1);
	assert_absent(fx, &a);
	assert_int_equal(stats(fx).chunks, 1);
	assert_reads_back(fx, &b);
	/* A released chunk that is gone cannot be released again. */
	err_clear(&e);
	assert_int_equal(release(fx, &a, 1, 1, &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, hex));
}

struct unrefs_ctx {
	struct pool		*p;
	struct pool_unrefs	*u;
};

static int
unrefs_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct unrefs_ctx *x = arg;

	(void)db;
	return pool_unrefs_apply_locked(x->p, x->u, e);
}

/* Summed releases: one update per distinct chunk, the same counts. */
static void
pool_unrefs_sums_per_chunk(void **state)
{
	struct fixture *fx = *state;
	struct pool_recipe rc;
	struct pool_txn *txn;
	struct unrefs_ctx x;
	char hex[HASH_HEX_LEN + 1];
	struct tc a, b;
	struct err e;

	txn = begin(fx);
	for (int i = 0; i < 3; i++)
		put_ok(fx, txn, &a, 1, 64 * KIB, RANDOM);
	put_ok(fx, txn, &b, 2, 64 * KIB, RANDOM);
	commit_ok(txn);
	assert_int_equal(stats(fx).references, 4);
	/* A recipe naming a twice around a zero run, then b. */
	pool_recipe_init(&rc);
	assert_int_equal(pool_recipe_add(&rc, a.hash, a.len, &e), 0);
	assert_int_equal(pool_recipe_add(&rc, NULL, 4096, &e), 0);
	assert_int_equal(pool_recipe_add(&rc, a.hash, a.len, &e), 0);
	assert_int_equal(pool_recipe_add(&rc, b.hash, b.len, &e), 0);
	assert_non_null(x.u = pool_unrefs_new(&e));
	x.p = fx->p;
	assert_int_equal(pool_unrefs_add_recipe(x.u, rc.p, rc.len, &e), 0);
	assert_int_equal(pool_unrefs_count(x.u), 2);
	assert_int_equal(pool_exec(fx->p, unrefs_cb, &x, &e), 0);
	assert_int_equal(pool_unrefs_count(x.u), 0);
	assert_int_equal(stats(fx).references, 1);
	assert_int_equal(stats(fx).live_chunks, 1);	/* b fell to zero */
	assert_reads_back(fx, &a);
	/* Two more of a than it has: refused whole, nothing changes. */
	assert_int_equal(pool_unrefs_add_recipe(x.u, rc.p,
	    rc.len - POOL_RECIPE_ENTRY, &e), 0);
	err_clear(&e);
	assert_int_equal(pool_exec(fx->p, unrefs_cb, &x, &e), COFFER_ECORRUPT);
	hash_to_hex(a.hash, hex);
	assert_non_null(strstr(e.msg, hex));
	assert_int_equal(stats(fx).references, 1);
	assert_int_equal(pool_unrefs_count(x.u), 0);
	pool_unrefs_free(x.u);
	pool_recipe_free(&rc);
}

/* ---- reclamation ---- */

static int
kept_in_reclaim_test(int i, uint64_t ctr, uint64_t active)
{
	return i % 4 == 0 || ctr == active;
}

static void
pool_reclaim_compacts_containers_and_keeps_live_chunks(void **state)
{
	struct fixture *fx = *state;
	enum { N = 48 };
	struct tc v[N], gone[N];
	uint64_t ids[64], sizes[64], live[64], ctr_of[N], active;
	struct pool_reclaim_report rep;
	struct pool_stats before, after;
	struct err e;
	size_t nctr, below = 0;
	int ngone = 0, nkept = 0;

	/* About 6 MiB in 64-200 KiB chunks: 6 or more 1 MiB containers. */
	store_many(fx, v, N / 2, 10, 64 * KIB, 200 * KIB);
	store_many(fx, v + N / 2, N / 2, 20, 64 * KIB, 200 * KIB);
	nctr = indexed_containers(fx, ids, sizes, 64);
	assert_true(nctr >= 5);
	active = ids[nctr - 1];
	memset(live, 0, sizeof(live));
	/* Keep every fourth chunk and everything in the open container. */
	for (int i = 0; i < N; i++) {
		uint64_t off;
		uint32_t slen;

		chunk_loc(fx, v[i].hash, &ctr_of[i], &off, &slen);
		if (!kept_in_reclaim_test(i, ctr_of[i], active)) {
			gone[ngone++] = v[i];
			continue;
		}
		for (size_t k = 0; k < nctr; k++)
			if (ids[k] == ctr_of[i])
				live[k] += CTR_REC_HDR_LEN + slen;
	}
	/* Sealed containers under 60% live go; the others stay. */
	for (size_t k = 0; k + 1 < nctr; k++)
		below += live[k] * 100 < (sizes[k] - CTR_FILE_HDR_LEN) * 60;
	assert_true(below >= 3);
	assert_int_equal(release(fx, gone, ngone, 1, &e), 0);
	before = stats(fx);

	err_clear(&e);
	if (pool_reclaim(fx->p, 60, &rep, &e) != 0)
		fail_msg("pool_reclaim: %s", e.msg);
	after = stats(fx);
	assert_int_equal(rep.chunks_freed, ngone);
	assert_int_equal(rep.containers_reclaimed, below);
	assert_true(rep.bytes_freed > 0);
	assert_true(after.container_bytes < before.container_bytes);
	assert_int_equal(after.chunks, N - ngone);
	assert_int_equal(after.references, N - ngone);
	for (size_t k = 0; k + 1 < nctr; k++) {
		int const reclaimed = live[k] * 100 <
		    (sizes[k] - CTR_FILE_HDR_LEN) * 60;

		assert_int_equal(file_size(ctr_path(fx, ids[k])) == -1,
		    reclaimed);
	}
	assert_true(file_size(ctr_path(fx, active)) > 0);
	for (int i = 0; i < N; i++) {
		if (!kept_in_reclaim_test(i, ctr_of[i], active)) {
			assert_absent(fx, &v[i]);
			continue;
		}
		assert_reads_back(fx, &v[i]);
		nkept++;
	}
	assert_int_equal(nkept, N - ngone);
	assert_files_match_index(fx);
	assert_audit_clean(fx, (uint64_t)nkept);
	reopen(fx);
	for (int i = 0; i < N; i++)
		if (kept_in_reclaim_test(i, ctr_of[i], active))
			assert_reads_back(fx, &v[i]);
	assert_files_match_index(fx);
}

static void
pool_reclaim_keeps_chunk_pinned_by_open_txn(void **state)
{
	struct fixture *fx = *state;
	enum { N = 12 };
	struct tc v[N];
	uint64_t x_ctr, x_off, ids[16], first;
	struct pool_reclaim_report rep;
	struct pool_txn *txn;
	struct err e;
	size_t nctr;

	store_many(fx, v, N, 50, 150 * KIB, 200 * KIB);
	nctr = indexed_containers(fx, ids, NULL, 16);
	assert_true(nctr >= 2);
	first = ids[0];
	chunk_loc(fx, v[0].hash, &x_ctr, &x_off, NULL);
	assert_int_equal(x_ctr, first);

	/* A backup session sees v[0] present and references it ... */
	txn = begin(fx);
	assert_int_equal(pool_has(fx->p, v[0].hash), 1);
	assert_int_equal(pool_txn_ref(txn, v[0].hash, &e), 0);
	/* ... while expiration releases everything in the first container. */
	{
		struct tc rel[N];
		int nrel = 0;

		for (int i = 0; i < N; i++) {
			uint64_t c, o;

			chunk_loc(fx, v[i].hash, &c, &o, NULL);
			if (c == first)
				rel[nrel++] = v[i];
		}
		assert_true(nrel >= 2);
		assert_int_equal(release(fx, rel, nrel, 1, &e), 0);
		err_clear(&e);
		if (pool_reclaim(fx->p, 60, &rep, &e) != 0)
			fail_msg("pool_reclaim: %s", e.msg);
		/* Everything released was dropped except the pinned chunk. */
		assert_int_equal(rep.chunks_freed, nrel - 1);
	}
	assert_true(rep.containers_reclaimed >= 1);
	assert_int_equal(file_size(ctr_path(fx, first)), -1);
	/* The pinned chunk moved forward and the session commits. */
	commit_ok(txn);
	assert_int_equal(pool_has(fx->p, v[0].hash), 1);
	assert_reads_back(fx, &v[0]);
	chunk_loc(fx, v[0].hash, &x_ctr, &x_off, NULL);
	assert_true(x_ctr != first);
	reopen(fx);
	assert_reads_back(fx, &v[0]);
	assert_files_match_index(fx);
	assert_int_equal(stats(fx).damaged, 0);
}

/* ---- audit and repair ---- */

struct damage_log {
	int		n;
	uint8_t		hash[8][HASH_LEN];
	uint64_t	ctr[8];
	char		why[8][ERR_MSG_MAX];
};

static void
damage_cb(void *arg, const uint8_t hash[HASH_LEN], uint64_t container,
    uint64_t offset, const char *why)
{
	struct damage_log *d = arg;

	(void)offset;
	if (d->n < 8) {
		memcpy(d->hash[d->n], hash, HASH_LEN);
		d->ctr[d->n] = container;
		snprintf(d->why[d->n], ERR_MSG_MAX, "%s", why);
	}
	d->n++;
}

static void
audit(struct fixture *fx, struct damage_log *d,
    struct pool_audit_report *rep)
{
	struct err e;

	memset(d, 0, sizeof(*d));
	err_clear(&e);
	if (pool_audit(fx->p, damage_cb, d, rep, &e) != 0)
		fail_msg("pool_audit: %s", e.msg);
}

static void
pool_flipped_bit_in_chunk_is_reported_by_audit(void **state)
{
	struct fixture *fx = *state;
	enum { N = 10 };
	struct pool_audit_report rep;
	struct damage_log d;
	struct tc v[N];
	char hex[HASH_HEX_LEN + 1];
	uint64_t ctr, off;
	uint32_t slen, got;
	struct err e;

	store_many(fx, v, N, 70, 20 * KIB, 90 * KIB);
	chunk_loc(fx, v[4].hash, &ctr, &off, &slen);
	flip_byte(ctr_path(fx, ctr), off + CTR_REC_HDR_LEN + slen / 2, 0x08);

	audit(fx, &d, &rep);
	assert_int_equal(rep.chunks_checked, N);
	assert_int_equal(rep.damaged, 1);
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.hash[0], v[4].hash, HASH_LEN);
	assert_int_equal(d.ctr[0], ctr);
	assert_non_null(strstr(d.why[0], "CRC32C"));
	assert_int_equal(stats(fx).damaged, 1);
	assert_int_equal(pool_has(fx->p, v[4].hash), 0);

	hash_to_hex(v[4].hash, hex);
	err_clear(&e);
	assert_int_equal(pool_read(fx->rd, v[4].hash, fx->out, CHUNK_CAP, &got,
	    &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, hex));
	for (int i = 0; i < N; i++)
		if (i != 4)
			assert_reads_back(fx, &v[i]);
	/* A damaged chunk cannot be deduplicated against. */
	{
		struct pool_txn *txn = begin(fx);

		err_clear(&e);
		assert_int_equal(pool_txn_ref(txn, v[4].hash, &e),
		    COFFER_ENOTFOUND);
		assert_non_null(strstr(e.msg, "damaged"));
		pool_txn_abort(txn);
	}
}

/*
 * Repair from a replica: the good copy of a damaged chunk is stored again
 * in a transaction that references nothing, and every reader sees it;
 * reference counts stay as they were, and a good chunk is left alone.
 */
static void
pool_repair_replaces_damaged_chunk_without_a_reference(void **state)
{
	struct fixture *fx = *state;
	enum { N = 6 };
	struct pool_audit_report rep;
	struct damage_log d;
	struct pool_stats before;
	struct pool_chunk c;
	struct pool_txn *txn;
	struct tc v[N], again;
	uint64_t ctr, off;
	uint32_t slen;
	struct err e;
	int stored = -1;

	store_many(fx, v, N, 90, 20 * KIB, 90 * KIB);
	before = stats(fx);
	chunk_loc(fx, v[2].hash, &ctr, &off, &slen);
	flip_byte(ctr_path(fx, ctr), off + CTR_REC_HDR_LEN + slen / 3, 0x20);
	audit(fx, &d, &rep);
	assert_int_equal(rep.damaged, 1);

	txn = begin(fx);
	make(fx, &again, v[2].seed, v[2].len, v[2].kind, &c);
	err_clear(&e);
	assert_int_equal(pool_txn_repair(txn, &c, &stored, &e), 0);
	assert_int_equal(stored, 1);
	make(fx, &again, v[3].seed, v[3].len, v[3].kind, &c);
	assert_int_equal(pool_txn_repair(txn, &c, &stored, &e), 0);
	assert_int_equal(stored, 0);	/* good already: nothing written */
	commit_ok(txn);

	assert_int_equal(stats(fx).damaged, 0);
	assert_int_equal(stats(fx).references, before.references);
	assert_int_equal(stats(fx).live_chunks, before.live_chunks);
	assert_int_equal(pool_has(fx->p, v[2].hash), 1);
	for (int i = 0; i < N; i++)
		assert_reads_back(fx, &v[i]);
	assert_audit_clean(fx, N);
	/* Durable: the repaired row survives a restart. */
	reopen(fx);
	assert_reads_back(fx, &v[2]);
	assert_audit_clean(fx, N);
}

static void
pool_flipped_bit_is_refused_by_read_without_audit(void **state)
{
	struct fixture *fx = *state;
	struct tc v[3];
	char hex[HASH_HEX_LEN + 1];
	uint64_t ctr, off;
	uint32_t slen, got;
	struct err e;

	store_many(fx, v, 3, 80, 40 * KIB, 60 * KIB);
	chunk_loc(fx, v[1].hash, &ctr, &off, &slen);
	flip_byte(ctr_path(fx, ctr), off + CTR_REC_HDR_LEN + slen - 1, 0x80);
	hash_to_hex(v[1].hash, hex);
	err_clear(&e);
	assert_int_equal(pool_read(fx->rd, v[1].hash, fx->out, CHUNK_CAP, &got,
	    &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, hex));
	/* The read marked it, so the next session will send it again. */
	assert_int_equal(pool_has(fx->p, v[1].hash), 0);
	assert_int_equal(stats(fx).damaged, 1);
	assert_reads_back(fx, &v[0]);
	assert_reads_back(fx, &v[2]);
}

static void
pool_flipped_header_byte_is_reported_by_audit(void **state)
{
	struct fixture *fx = *state;
	enum { N = 6 };
	struct pool_audit_report rep;
	struct damage_log d;
	struct tc v[N];
	uint64_t ctr, off;
	uint32_t got;
	struct err e;

	store_many(fx, v, N, 90, 10 * KIB, 30 * KIB);
	chunk_loc(fx, v[2].hash, &ctr, &off, NULL);
	flip_byte(ctr_path(fx, ctr), off + 9, 0x01);	/* raw length */
	audit(fx, &d, &rep);
	assert_int_equal(rep.damaged, 1);
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.hash[0], v[2].hash, HASH_LEN);
	assert_non_null(strstr(d.why[0], "header CRC"));
	assert_int_equal(pool_read(fx->rd, v[2].hash, fx->out, CHUNK_CAP, &got,
	    &e), COFFER_ECORRUPT);
	for (int i = 0; i < N; i++)
		if (i != 2)
			assert_reads_back(fx, &v[i]);
}

static void
pool_truncated_container_is_reported_by_audit(void **state)
{
	struct fixture *fx = *state;
	enum { N = 8 };
	struct pool_audit_report rep;
	struct damage_log d;
	struct tc v[N];
	uint64_t ctr, off;
	uint32_t slen, got;
	struct err e;

	store_many(fx, v, N, 110, 10 * KIB, 30 * KIB);
	/* Cut the file in the middle of the sixth record: 6, 7, 8 are lost. */
	chunk_loc(fx, v[5].hash, &ctr, &off, &slen);
	assert_int_equal(truncate(ctr_path(fx, ctr),
	    (off_t)(off + CTR_REC_HDR_LEN + slen / 2)), 0);
	audit(fx, &d, &rep);
	assert_int_equal(rep.chunks_checked, N);
	assert_int_equal(rep.damaged, 3);
	for (int k = 0; k < 3; k++)
		assert_memory_equal(d.hash[k], v[5 + k].hash, HASH_LEN);
	assert_non_null(strstr(d.why[0], "end of file"));
	for (int i = 0; i < 5; i++)
		assert_reads_back(fx, &v[i]);
	for (int i = 5; i < N; i++)
		assert_int_equal(pool_read(fx->rd, v[i].hash, fx->out,
		    CHUNK_CAP, &got, &e), COFFER_ECORRUPT);
}

static void
pool_truncated_container_is_marked_damaged_at_open(void **state)
{
	struct fixture *fx = *state;
	enum { N = 6 };
	struct tc v[N];
	uint64_t ctr, off;
	uint32_t got;
	struct err e;

	store_many(fx, v, N, 120, 10 * KIB, 30 * KIB);
	chunk_loc(fx, v[4].hash, &ctr, &off, NULL);
	close_pool(fx);
	assert_int_equal(truncate(ctr_path(fx, ctr), (off_t)off + 10), 0);
	open_pool(fx);
	assert_int_equal(stats(fx).damaged, 2);
	assert_int_equal(pool_has(fx->p, v[4].hash), 0);
	assert_int_equal(pool_has(fx->p, v[5].hash), 0);
	err_clear(&e);
	assert_int_equal(pool_read(fx->rd, v[5].hash, fx->out, CHUNK_CAP, &got,
	    &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "damaged"));
	for (int i = 0; i < 4; i++)
		assert_reads_back(fx, &v[i]);
	/* New backups land in good storage; the loss stays reported. */
	{
		struct pool_audit_report rep;
		struct damage_log d;
		struct tc more[3];

		store_many(fx, more, 3, 125, 10 * KIB, 30 * KIB);
		reopen(fx);
		for (int i = 0; i < 3; i++)
			assert_reads_back(fx, &more[i]);
		audit(fx, &d, &rep);
		assert_int_equal(rep.chunks_checked, N + 3);
		assert_int_equal(rep.damaged, 2);
	}
}

static void
pool_damaged_chunk_is_repaired_by_storing_it_again(void **state)
{
	struct fixture *fx = *state;
	enum { N = 5 };
	struct pool_audit_report rep;
	struct damage_log d;
	struct pool_txn *txn;
	struct tc v[N], again;
	uint64_t ctr, off, ctr2, off2;
	uint32_t slen;
	struct err e;
	int nw = 0;

	store_many(fx, v, N, 130, 30 * KIB, 60 * KIB);
	chunk_loc(fx, v[3].hash, &ctr, &off, &slen);
	flip_byte(ctr_path(fx, ctr), off + CTR_REC_HDR_LEN + 7, 0x40);
	audit(fx, &d, &rep);
	assert_int_equal(rep.damaged, 1);

	txn = begin(fx);
	err_clear(&e);
	assert_int_equal(put(fx, txn, &again, v[3].seed, v[3].len, v[3].kind,
	    &nw, &e), 0);
	assert_int_equal(nw, 1);
	commit_ok(txn);

	assert_int_equal(pool_has(fx->p, v[3].hash), 1);
	assert_reads_back(fx, &v[3]);
	chunk_loc(fx, v[3].hash, &ctr2, &off2, NULL);
	assert_true(ctr2 != ctr || off2 != off);
	assert_int_equal(stats(fx).damaged, 0);
	assert_int_equal(stats(fx).references, N + 1);
	assert_int_equal(stats(fx).chunks, N);
	audit(fx, &d, &rep);
	assert_int_equal(rep.damaged, 0);
	reopen(fx);
	for (int i = 0; i < N; i++)
		assert_reads_back(fx, &v[i]);
}

/*
 * A chunk that was damaged while unreferenced and is then stored again
 * lives in its new container: the old one must not go on counting it as
 * live, or it is never reclaimed.
 */
static void
pool_repaired_released_chunk_frees_old_container(void **state)
{
	struct fixture *fx = *state;
	struct pool_reclaim_report rep;
	struct pool_audit_report arep;
	struct damage_log d;
	struct pool_txn *txn;
	struct tc x, w, fill, again;
	uint64_t xc, xo, wc, wo, fc, fo;
	uint32_t slen;
	struct err e;

	txn = begin(fx);
	put_ok(fx, txn, &x, 1, 600 * KIB, RANDOM);
	put_ok(fx, txn, &w, 2, 300 * KIB, RANDOM);
	put_ok(fx, txn, &fill, 3, 300 * KIB, RANDOM);	/* seals the first */
	commit_ok(txn);
	chunk_loc(fx, x.hash, &xc, &xo, &slen);
	chunk_loc(fx, w.hash, &wc, &wo, NULL);
	chunk_loc(fx, fill.hash, &fc, &fo, NULL);
	assert_int_equal(xc, wc);
	assert_true(fc != xc);

	assert_int_equal(release(fx, &x, 1, 1, &e), 0);
	flip_byte(ctr_path(fx, xc), xo + CTR_REC_HDR_LEN + 100, 0x02);
	audit(fx, &d, &arep);
	assert_int_equal(arep.damaged, 1);

	txn = begin(fx);
	put_ok(fx, txn, &again, 1, 600 * KIB, RANDOM);
	commit_ok(txn);
	assert_reads_back(fx, &x);

	assert_int_equal(release(fx, &w, 1, 1, &e), 0);
	err_clear(&e);
	if (pool_reclaim(fx->p, 50, &rep, &e) != 0)
		fail_msg("pool_reclaim: %s", e.msg);
	assert_int_equal(rep.chunks_freed, 1);
	assert_int_equal(file_size(ctr_path(fx, xc)), -1);
	assert_reads_back(fx, &x);
	assert_reads_back(fx, &fill);
	assert_files_match_index(fx);
}

/* ---- recovery at open ---- */

static void
pool_garbage_tail_is_truncated_at_open(void **state)
{
	struct fixture *fx = *state;
	enum { N = 6 };
	struct tc v[N];
	uint64_t ctr, off;
	int64_t size;
	char junk[5000];
	int fd;

	store_many(fx, v, N, 140, 10 * KIB, 50 * KIB);
	chunk_loc(fx, v[0].hash, &ctr, &off, NULL);
	close_pool(fx);
	size = file_size(ctr_path(fx, ctr));
	memset(junk, 0x5C, sizeof(junk));
	assert_true((fd = open(ctr_path(fx, ctr), O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(file_size(ctr_path(fx, ctr)), size + 5000);

	open_pool(fx);
	assert_int_equal(file_size(ctr_path(fx, ctr)), size);
	for (int i = 0; i < N; i++)
		assert_reads_back(fx, &v[i]);
	assert_audit_clean(fx, N);
	/* New chunks go after the last good record and read back too. */
	{
		struct tc more[3];

		store_many(fx, more, 3, 150, 10 * KIB, 20 * KIB);
		reopen(fx);
		for (int i = 0; i < 3; i++)
			assert_reads_back(fx, &more[i]);
		assert_audit_clean(fx, N + 3);
	}
}

static void
pool_orphan_container_file_is_removed_at_open(void **state)
{
	struct fixture *fx = *state;
	struct tc v[3];
	char dir[PATH_MAX];
	uint8_t junk[300];
	struct err e;

	store_many(fx, v, 3, 160, 10 * KIB, 20 * KIB);
	close_pool(fx);
	snprintf(dir, sizeof(dir), "%s/containers/%02x", fx->dir, 0x92);
	assert_int_equal(util_mkdir_p(dir, 0700, &e), 0);
	memset(junk, 1, sizeof(junk));
	assert_int_equal(util_write_atomic(ctr_path(fx, 0x4292), junk,
	    sizeof(junk), 0600, &e), 0);
	assert_int_equal(container_files(fx), 2);

	open_pool(fx);
	assert_int_equal(file_size(ctr_path(fx, 0x4292)), -1);
	assert_int_equal(container_files(fx), 1);
	for (int i = 0; i < 3; i++)
		assert_reads_back(fx, &v[i]);
	assert_files_match_index(fx);
}

static void
pool_missing_container_is_reported_and_writes_go_on(void **state)
{
	struct fixture *fx = *state;
	struct pool_audit_report rep;
	struct damage_log d;
	struct tc v[3], more[3];
	uint64_t ctr, off;
	uint32_t got;
	struct err e;

	store_many(fx, v, 3, 170, 10 * KIB, 20 * KIB);
	chunk_loc(fx, v[0].hash, &ctr, &off, NULL);
	close_pool(fx);
	assert_int_equal(unlink(ctr_path(fx, ctr)), 0);
	open_pool(fx);
	assert_int_equal(stats(fx).damaged, 3);
	err_clear(&e);
	assert_int_equal(pool_read(fx->rd, v[0].hash, fx->out, CHUNK_CAP, &got,
	    &e), COFFER_ECORRUPT);
	audit(fx, &d, &rep);
	assert_int_equal(rep.damaged, 3);
	assert_non_null(strstr(d.why[0], "missing"));
	/* Backups go on, and resending the lost chunks repairs them. */
	store_many(fx, more, 3, 180, 10 * KIB, 20 * KIB);
	store_many(fx, v, 3, 170, 10 * KIB, 20 * KIB);
	reopen(fx);
	for (int i = 0; i < 3; i++) {
		assert_reads_back(fx, &v[i]);
		assert_reads_back(fx, &more[i]);
	}
	assert_int_equal(stats(fx).damaged, 0);
}

/* ---- the commit protocol under failure ---- */

/*
 * After a failed commit: it said why, the pool reopens, audit is clean,
 * files match the index, earlier chunks read back and the failed ones are
 * absent (not half-present).
 */
static void
assert_recovered(struct fixture *fx, const struct tc *kept, int nkept,
    const struct tc *lost, int nlost)
{
	reopen(fx);
	assert_files_match_index(fx);
	assert_audit_clean(fx, (uint64_t)nkept);
	for (int i = 0; i < nkept; i++)
		assert_reads_back(fx, &kept[i]);
	for (int i = 0; i < nlost; i++)
		assert_absent(fx, &lost[i]);
	assert_int_equal(stats(fx).references, (uint64_t)nkept);
}

/*
 * Fail the Nth write or sync of a transaction, its puts and its commit,
 * for every N it makes, then check recovery.  big: the transaction fills
 * the open container and two new ones, so new files' directory entries
 * are synced too, and the full containers are synced by the puts that
 * fill them.
 */
static void
crash_each_step(struct fixture *fx, int big)
{
	enum { K = 4, F = 16 };
	struct tc kept[K + F + 64], lost[F];
	int nkept = K, step, failures = 0;
	unsigned kinds = 0;

	store_many(fx, kept, K, 1, 100 * KIB, 200 * KIB);
	for (step = 1; step < 64; step++) {
		struct pool_txn *txn = begin(fx);
		int const nf = big ? F : 3;
		struct err e;
		int r;

		io_arm(IO_ALL, step, EIO);
		err_clear(&e);
		r = 0;
		for (int i = 0; i < nf && r == 0; i++)
			r = put(fx, txn, &lost[i], (uint64_t)(1000 * step + i),
			    big ? 160 * KIB : 20 * KIB, RANDOM, NULL, &e);
		if (r == 0)
			r = pool_txn_commit(txn, NULL, NULL, &e);
		else
			pool_txn_abort(txn);
		io_disarm();
		if (r == 0) {
			/* Past the last step: this commit is whole. */
			memcpy(&kept[nkept], lost, (size_t)nf * sizeof(*lost));
			nkept += nf;
			assert_recovered(fx, kept, nkept, NULL, 0);
			break;
		}
		failures++;
		kinds |= io_failed_kind;
		assert_int_equal(r, COFFER_EIO);
		assert_non_null(strstr(e.msg, "Input/output error"));
		assert_true(strstr(e.msg, "container") != NULL ||
		    strstr(e.msg, "directory") != NULL);
		/* The same process goes on storing before the "restart". */
		store_many(fx, &kept[nkept], 1, (uint64_t)(500000 + step),
		    big ? 150 * KIB : 10 * KIB, big ? 250 * KIB : 20 * KIB);
		assert_reads_back(fx, &kept[nkept]);
		nkept++;
		assert_recovered(fx, kept, nkept, lost, nf);
	}
	assert_true(step < 64);
	assert_int_equal(kinds, big ? IO_ALL : (IO_PWRITE | IO_FDATASYNC));
	assert_true(failures >= (big ? 6 : 2));
}

static void
pool_commit_failing_at_each_io_step_recovers(void **state)
{
	crash_each_step(*state, 0);
}

static void
pool_commit_failing_each_step_in_new_containers_recovers(
    void **state)
{
	crash_each_step(*state, 1);
}

static void
pool_reclaim_failing_at_each_io_step_recovers(void **state)
{
	struct fixture *fx = *state;
	enum { N = 24 };
	struct tc v[N], kept[N], gone[N];
	struct pool_reclaim_report rep;
	uint64_t ids[64], active, bytes0;
	int nkept = 0, ngone = 0, step, failures = 0;
	unsigned kinds = 0;
	size_t nctr;
	struct err e;

	store_many(fx, v, N, 600, 100 * KIB, 200 * KIB);
	nctr = indexed_containers(fx, ids, NULL, 64);
	assert_true(nctr >= 3);
	active = ids[nctr - 1];
	for (int i = 0; i < N; i++) {
		uint64_t c, o;

		chunk_loc(fx, v[i].hash, &c, &o, NULL);
		if (i % 4 == 0 || c == active)
			kept[nkept++] = v[i];
		else
			gone[ngone++] = v[i];
	}
	assert_int_equal(release(fx, gone, ngone, 1, &e), 0);
	bytes0 = stats(fx).container_bytes;
	for (step = 1; step < 64; step++) {
		int r;

		io_arm(IO_ALL, step, EIO);
		err_clear(&e);
		r = pool_reclaim(fx->p, 60, &rep, &e);
		io_disarm();
		if (r == 0)
			break;
		failures++;
		kinds |= io_failed_kind;
		assert_int_equal(r, COFFER_EIO);
		assert_non_null(strstr(e.msg, "Input/output error"));
		/* Released chunks were dropped; live ones never lost. */
		assert_recovered(fx, kept, nkept, gone, ngone);
	}
	assert_true(step < 64);
	assert_true(failures >= 3);
	assert_int_equal(kinds, IO_ALL);
	assert_recovered(fx, kept, nkept, gone, ngone);
	assert_true(stats(fx).container_bytes < bytes0);
}

static void
pool_commit_failing_container_write_recovers(void **state)
{
	struct fixture *fx = *state;
	struct tc kept[3], lost[3];
	struct pool_txn *txn;
	struct err e;

	store_many(fx, kept, 3, 1, 10 * KIB, 20 * KIB);
	txn = begin(fx);
	for (int i = 0; i < 3; i++)
		put_ok(fx, txn, &lost[i], 50 + (uint64_t)i, 20 * KIB, TEXT);
	io_arm(IO_PWRITE, 1, EIO);
	err_clear(&e);
	assert_int_equal(pool_txn_commit(txn, NULL, NULL, &e), COFFER_EIO);
	io_disarm();
	assert_non_null(strstr(e.msg, "write"));
	assert_non_null(strstr(e.msg, "Input/output error"));
	assert_recovered(fx, kept, 3, lost, 3);
}

static void
pool_commit_failing_container_fsync_recovers(void **state)
{
	struct fixture *fx = *state;
	struct tc kept[3], lost[3];
	struct pool_txn *txn;
	struct err e;
	uint64_t ctr, off;
	int64_t size;

	store_many(fx, kept, 3, 1, 10 * KIB, 20 * KIB);
	chunk_loc(fx, kept[0].hash, &ctr, &off, NULL);
	size = file_size(ctr_path(fx, ctr));
	txn = begin(fx);
	for (int i = 0; i < 3; i++)
		put_ok(fx, txn, &lost[i], 60 + (uint64_t)i, 20 * KIB, RANDOM);
	io_arm(IO_FDATASYNC, 1, EIO);
	err_clear(&e);
	assert_int_equal(pool_txn_commit(txn, NULL, NULL, &e), COFFER_EIO);
	io_disarm();
	assert_non_null(strstr(e.msg, "fsync"));
	/* The bytes reached the file but no index names them. */
	assert_true(file_size(ctr_path(fx, ctr)) > size);
	assert_recovered(fx, kept, 3, lost, 3);
	assert_int_equal(file_size(ctr_path(fx, ctr)), size);
}

struct cb_state {
	int	fail;
};

/* The caller's own rows, written in the same index transaction. */
static int
object_rows_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct cb_state *cs = arg;

	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS obj(name TEXT);"
	    "INSERT INTO obj VALUES('file')", NULL, NULL, NULL) != SQLITE_OK)
		return err_set(e, COFFER_EDB, "obj: %s", sqlite3_errmsg(db));
	if (cs->fail)
		return err_set(e, COFFER_EDB, "catalog: object row refused");
	return 0;
}

static void
pool_commit_callback_rows_commit_with_references(void **state)
{
	struct fixture *fx = *state;
	struct cb_state cs = { 0 };
	struct pool_txn *txn;
	struct tc a;
	struct err e;

	txn = begin(fx);
	put_ok(fx, txn, &a, 1, 10 * KIB, TEXT);
	assert_int_equal(pool_txn_commit(txn, object_rows_cb, &cs, &e), 0);
	assert_int_equal(db_count(fx, "SELECT count(*) FROM obj"), 1);
	assert_reads_back(fx, &a);
}

static void
pool_commit_failing_index_commit_recovers(void **state)
{
	struct fixture *fx = *state;
	struct cb_state cs = { 0 };
	struct tc kept[3], lost[3];
	struct pool_txn *txn;
	struct err e;

	txn = begin(fx);
	for (int i = 0; i < 3; i++)
		put_ok(fx, txn, &kept[i], 1 + (uint64_t)i, 10 * KIB, RANDOM);
	assert_int_equal(pool_txn_commit(txn, object_rows_cb, &cs, &e), 0);

	txn = begin(fx);
	for (int i = 0; i < 3; i++)
		put_ok(fx, txn, &lost[i], 70 + (uint64_t)i, 30 * KIB, RANDOM);
	/* The reference to kept[0] must not survive the failure either. */
	assert_int_equal(pool_txn_ref(txn, kept[0].hash, &e), 0);
	cs.fail = 1;
	err_clear(&e);
	assert_int_equal(pool_txn_commit(txn, object_rows_cb, &cs, &e),
	    COFFER_EDB);
	assert_non_null(strstr(e.msg, "object row refused"));
	/* Neither the caller's row nor the chunk references committed. */
	assert_int_equal(db_count(fx, "SELECT count(*) FROM obj"), 1);
	assert_int_equal(stats(fx).references, 3);
	for (int i = 0; i < 3; i++)
		assert_absent(fx, &lost[i]);
	assert_recovered(fx, kept, 3, lost, 3);
	assert_int_equal(db_count(fx, "SELECT count(*) FROM obj"), 1);
}

static void
pool_crash_after_fsync_before_index_commit_indexes_nothing(void **state)
{
	struct fixture *fx = *state;
	struct tc kept[3], lost[8];
	struct pool_txn *txn;
	uint64_t ctr, off, ids[8];
	int64_t size;
	struct err e;
	int r;

	store_many(fx, kept, 3, 1, 10 * KIB, 20 * KIB);
	chunk_loc(fx, kept[0].hash, &ctr, &off, NULL);
	size = file_size(ctr_path(fx, ctr));
	for (int round = 0; round < 2; round++) {
		txn = begin(fx);
		for (int i = 0; i < 8; i++)
			put_ok(fx, txn, &lost[i],
			    (uint64_t)(90 + 10 * round + i), 600 * KIB, RANDOM);
		/* Step 1 of the commit (invariant (2)), then the crash. */
		pthread_mutex_lock(&fx->p->lock);
		r = pool_sync_locked(fx->p, txn, &e);
		pthread_mutex_unlock(&fx->p->lock);
		assert_int_equal(r, 0);
		assert_true(file_size(ctr_path(fx, ctr)) > size);
		if (round == 1)
			pool_txn_abort(txn);
		/* round 0: pool_close() finds the txn still open. */
		assert_recovered(fx, kept, 3, lost, 8);
		assert_int_equal(file_size(ctr_path(fx, ctr)), size);
		assert_int_equal(indexed_containers(fx, ids, NULL, 8), 1);
	}
}

static void
pool_full_disk_is_enospc_with_message(void **state)
{
	struct fixture *fx = *state;
	struct tc kept[3], lost[3], lost2[12], more[3];
	struct pool_txn *txn;
	struct err e;
	int r = 0, i, nlost2;

	store_many(fx, kept, 3, 1, 10 * KIB, 20 * KIB);

	/* At commit: the buffered records cannot be written. */
	txn = begin(fx);
	for (i = 0; i < 3; i++)
		put_ok(fx, txn, &lost[i], 200 + (uint64_t)i, 20 * KIB, RANDOM);
	io_arm(IO_PWRITE, 1, ENOSPC);
	err_clear(&e);
	assert_int_equal(pool_txn_commit(txn, NULL, NULL, &e), COFFER_ENOSPC);
	io_disarm();
	assert_non_null(strstr(e.msg, "No space left on device"));
	assert_non_null(strstr(e.msg, "container"));
	for (i = 0; i < 3; i++)
		assert_absent(fx, &lost[i]);

	/* During put: more than the write buffer holds must be flushed. */
	txn = begin(fx);
	io_arm(IO_PWRITE, 1, ENOSPC);
	err_clear(&e);
	for (i = 0; i < 12 && r == 0; i++)
		r = put(fx, txn, &lost2[i], 300 + (uint64_t)i, 600 * KIB,
		    RANDOM, NULL, &e);
	io_disarm();
	nlost2 = i;
	assert_int_equal(r, COFFER_ENOSPC);
	assert_non_null(strstr(e.msg, "No space left on device"));
	pool_txn_abort(txn);

	/* Space came back: the pool works, without reopening. */
	store_many(fx, more, 3, 400, 10 * KIB, 20 * KIB);
	for (i = 0; i < 3; i++) {
		assert_reads_back(fx, &kept[i]);
		assert_reads_back(fx, &more[i]);
	}
	{
		struct tc all[6];

		memcpy(all, kept, sizeof(kept));
		memcpy(all + 3, more, sizeof(more));
		assert_recovered(fx, all, 6, lost, 3);
		for (i = 0; i < nlost2; i++)
			assert_absent(fx, &lost2[i]);
	}
}

/* ---- a sealed-on-sync store (what the cloud backend is to the pool) ---- */

/*
 * Containers in memory, written whole by sync() as S3 objects are: after
 * sync() a container takes no writes.  sync_fail makes sync() fail (the
 * upload did not happen); syncs counts the uploads.
 */
#define MEM_CTRS	16
struct mem_ctr {
	uint64_t	 id;
	uint8_t		*buf;
	size_t		 len, cap;
	int		 sealed;
};
struct mem_backend {
	struct pool_backend	 base;
	struct mem_ctr		 c[MEM_CTRS];
	int			 n;
	int			 sync_fail;
	int			 syncs;
	int			 list_fail;	/* unreachable: listing fails */
};

static struct mem_ctr *
mem_find(struct mem_backend *m, uint64_t id)
{
	for (int i = 0; i < m->n; i++)
		if (m->c[i].id == id && m->c[i].buf != NULL)
			return &m->c[i];
	return NULL;
}

static int
mem_create(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct mem_backend *m = (struct mem_backend *)b;

	if (m->n == MEM_CTRS)
		return err_set(e, COFFER_ENOSPC, "mem: full");
	m->c[m->n].id = id;
	m->c[m->n].cap = 2 * MIB;
	m->c[m->n].len = 0;
	m->c[m->n].sealed = 0;
	assert_non_null(m->c[m->n].buf = malloc(m->c[m->n].cap));
	m->n++;
	return 0;
}

static int
mem_write(struct pool_backend *b, uint64_t id, uint64_t off, const void *p,
    size_t n, struct err *e)
{
	struct mem_ctr *c = mem_find((struct mem_backend *)b, id);

	/*
	 * The pool must never write to a sealed container (an error, not an
	 * assert: cmocka must not jump out while the pool lock is held).
	 */
	if (c == NULL || c->sealed || off != c->len)
		return err_set(e, COFFER_EINTERNAL, "mem: write to a sealed "
		    "or missing container, or not at its end");
	if (off + n > c->cap)
		return err_set(e, COFFER_ENOSPC, "mem: container full");
	memcpy(c->buf + off, p, n);
	c->len = off + n;
	return 0;
}

static int
mem_sync(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct mem_backend *m = (struct mem_backend *)b;
	struct mem_ctr *c = mem_find(m, id);

	if (c == NULL)
		return err_set(e, COFFER_ENOTFOUND, "mem: no container");
	if (c->sealed)
		return 0;
	if (m->sync_fail)
		return err_set(e, COFFER_EIO, "mem: upload refused");
	c->sealed = 1;
	m->syncs++;
	return 0;
}

static int
mem_read(struct pool_backend *b, uint64_t id, uint64_t off, void *p,
    size_t n, struct err *e)
{
	struct mem_ctr *c = mem_find((struct mem_backend *)b, id);

	if (c == NULL)
		return err_set(e, COFFER_ENOTFOUND, "mem: no container");
	if (off + n > c->len)
		return err_set(e, COFFER_ECORRUPT, "mem: short read");
	memcpy(p, c->buf + off, n);
	return 0;
}

static int
mem_size(struct pool_backend *b, uint64_t id, uint64_t *size, struct err *e)
{
	struct mem_ctr *c = mem_find((struct mem_backend *)b, id);

	if (c == NULL)
		return err_set(e, COFFER_ENOTFOUND, "mem: no container");
	*size = c->len;
	return 0;
}

static int
mem_truncate(struct pool_backend *b, uint64_t id, uint64_t size,
    struct err *e)
{
	struct mem_ctr *c = mem_find((struct mem_backend *)b, id);

	if (c == NULL || size > c->len)
		return err_set(e, COFFER_EINVAL, "mem: truncate");
	c->len = size;
	return 0;
}

static int
mem_remove(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct mem_ctr *c = mem_find((struct mem_backend *)b, id);

	(void)e;
	if (c != NULL) {
		free(c->buf);
		c->buf = NULL;
	}
	return 0;
}

static int
mem_list(struct pool_backend *b, uint64_t **ids, size_t *n, struct err *e)
{
	struct mem_backend *m = (struct mem_backend *)b;
	uint64_t *v = calloc(MEM_CTRS, sizeof(*v));
	size_t k = 0;

	assert_non_null(v);
	if (m->list_fail) {
		free(v);
		return err_set(e, COFFER_EIO, "mem: store unreachable");
	}
	for (int i = 0; i < m->n; i++)
		if (m->c[i].buf != NULL)
			v[k++] = m->c[i].id;
	*ids = v;
	*n = k;
	return 0;
}

/* The pool owns the backend; the test keeps looking at it: nothing here. */
static void
mem_close(struct pool_backend *b)
{
	(void)b;
}

static const struct pool_backend_ops mem_ops = {
	.name = "mem", .flags = POOL_BE_SEAL_ON_SYNC, .create = mem_create,
	.write = mem_write, .sync = mem_sync, .read = mem_read,
	.size = mem_size, .truncate = mem_truncate, .remove = mem_remove,
	.list = mem_list, .close = mem_close,
};

static void
mem_free(struct mem_backend *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->c[i].buf);
}

/*
 * The commit protocol on a store whose containers are sealed by their
 * upload: a chunk is indexed only after its container's sync (upload)
 * succeeded; a failed upload indexes nothing and the next commit sends
 * the container again; a commit seals the open container, so another open
 * transaction's later chunks go to a new container while its earlier ones
 * went up with the first; store 0 (the directory) is not touched.
 */
static void
pool_sealed_store_indexes_only_uploaded_chunks(void **state)
{
	struct fixture *fx = *state;
	static struct mem_backend m;
	struct pool_txn *t1, *t2;
	struct tc a, b, c, d;
	struct pool_stats st0, st1;
	struct err e;

	memset(&m, 0, sizeof(m));
	m.base.ops = &mem_ops;
	err_clear(&e);
	assert_int_equal(pool_attach_store(fx->p, 1, &m.base, &e), 0);

	/* Upload refused: the commit fails and nothing is indexed. */
	t1 = begin(fx);
	pool_txn_set_store(t1, 1);
	put_ok(fx, t1, &a, 501, 200 * KIB, RANDOM);
	m.sync_fail = 1;
	assert_int_not_equal(pool_txn_commit(t1, NULL, NULL, &e), 0);
	assert_non_null(strstr(e.msg, "upload refused"));
	assert_absent(fx, &a);
	assert_int_equal(m.syncs, 0);

	/* Two open transactions share the open container. */
	m.sync_fail = 0;
	t1 = begin(fx);
	pool_txn_set_store(t1, 1);
	t2 = begin(fx);
	pool_txn_set_store(t2, 1);
	put_ok(fx, t1, &a, 501, 200 * KIB, RANDOM);
	put_ok(fx, t2, &b, 502, 100 * KIB, TEXT);
	commit_ok(t1);
	assert_int_equal(m.syncs, 1);	/* sealed, with b's bytes in it */
	assert_reads_back(fx, &a);
	assert_int_equal(pool_has(fx->p, b.hash), 0);	/* not committed */
	/* t2's next chunk cannot go to the sealed container. */
	put_ok(fx, t2, &c, 503, 150 * KIB, RANDOM);
	commit_ok(t2);
	assert_int_equal(m.syncs, 2);
	assert_reads_back(fx, &b);
	assert_reads_back(fx, &c);
	assert_true(m.n >= 2);
	for (int i = 0; i < m.n; i++)
		if (m.c[i].buf != NULL)
			assert_true(m.c[i].sealed);

	/* Store 0 works as before, and the stats tell the stores apart. */
	t1 = begin(fx);
	put_ok(fx, t1, &d, 504, 64 * KIB, TEXT);
	commit_ok(t1);
	assert_reads_back(fx, &d);
	assert_int_equal(pool_store_stats(fx->p, 0, &st0, &e), 0);
	assert_int_equal(pool_store_stats(fx->p, 1, &st1, &e), 0);
	assert_int_equal(st0.live_chunks, 1);
	assert_int_equal(st1.live_chunks, 3);
	assert_int_equal(st1.containers, 2);

	/* Audit reads the sealed store's chunks back. */
	{
		struct pool_audit_report rep;

		assert_int_equal(pool_audit(fx->p, NULL, NULL, &rep, &e), 0);
		assert_int_equal(rep.chunks_checked, 4);
		assert_int_equal(rep.damaged, 0);
	}
	close_pool(fx);
	mem_free(&m);
}

/*
 * DELETE STGPOOL's seam: a store is detached only while no transaction
 * writes to it and no container or chunk row names it; an empty one goes
 * and its number can be attached again.
 */
static void
pool_detach_store_refuses_a_store_in_use(void **state)
{
	struct fixture *fx = *state;
	static struct mem_backend m2, m3, m3b;
	struct pool_txn *t;
	struct tc a;
	struct err e;

	memset(&m2, 0, sizeof(m2));
	memset(&m3, 0, sizeof(m3));
	memset(&m3b, 0, sizeof(m3b));
	m2.base.ops = m3.base.ops = m3b.base.ops = &mem_ops;
	err_clear(&e);
	assert_int_equal(pool_attach_store(fx->p, 2, &m2.base, &e), 0);
	assert_int_equal(pool_attach_store(fx->p, 3, &m3.base, &e), 0);

	t = begin(fx);
	pool_txn_set_store(t, 2);
	assert_int_equal(pool_detach_store(fx->p, 2, &e), COFFER_EBUSY);
	assert_non_null(strstr(e.msg, "transaction"));
	put_ok(fx, t, &a, 601, 100 * KIB, RANDOM);
	commit_ok(t);
	err_clear(&e);
	assert_int_equal(pool_detach_store(fx->p, 2, &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "holds 1 chunks in 1 containers"));
	assert_true(pool_store_attached(fx->p, 2));
	assert_reads_back(fx, &a);

	assert_int_equal(pool_detach_store(fx->p, 3, &e), 0);
	assert_false(pool_store_attached(fx->p, 3));
	assert_int_equal(pool_attach_store(fx->p, 3, &m3b.base, &e), 0);
	assert_int_equal(pool_detach_store(fx->p, 0, &e), COFFER_EINVAL);
	close_pool(fx);
	mem_free(&m2);
	mem_free(&m3);
	mem_free(&m3b);
}

static int
leave_deleted_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	char sql[200];

	/* What a reclamation killed before removing the object leaves. */
	snprintf(sql, sizeof(sql), "UPDATE pool_container SET state=2 WHERE "
	    "id=%" PRIu64 "; DELETE FROM chunk WHERE container=%" PRIu64,
	    *(uint64_t *)arg, *(uint64_t *)arg);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return err_set(e, COFFER_EDB, "%s", sqlite3_errmsg(db));
	return 0;
}

/*
 * UPDATE STGPOOL reaching a store that was unreachable when attached: its
 * recovery runs then, removing an interrupted reclamation's leftover, and
 * leaves alone the containers this run wrote meanwhile, among them one
 * uploaded (filled) by a transaction not yet committed.  It runs once.
 */
static void
pool_store_recover_after_an_unreachable_attach(void **state)
{
	struct fixture *fx = *state;
	static struct mem_backend m;
	uint64_t const c1 = POOL_STORE_BASE(1) + 1;
	struct pool_txn *t;
	struct tc a, b, n[4];
	struct err e;
	int ran = -1, sealed = 0;

	memset(&m, 0, sizeof(m));
	m.base.ops = &mem_ops;
	err_clear(&e);
	assert_int_equal(pool_attach_store(fx->p, 1, &m.base, &e), 0);
	t = begin(fx);
	pool_txn_set_store(t, 1);
	put_ok(fx, t, &a, 701, 200 * KIB, RANDOM);
	commit_ok(t);
	t = begin(fx);
	pool_txn_set_store(t, 1);
	put_ok(fx, t, &b, 702, 200 * KIB, RANDOM);
	commit_ok(t);
	assert_int_equal(pool_exec(fx->p, leave_deleted_cb, (void *)&c1, &e), 0);

	/* The next start: the store does not answer; attached all the same. */
	reopen(fx);
	m.list_fail = 1;
	assert_int_not_equal(pool_attach_store(fx->p, 1, &m.base, &e), 0);
	assert_non_null(strstr(e.msg, "unreachable"));
	assert_true(pool_store_attached(fx->p, 1));
	assert_non_null(mem_find(&m, c1));
	m.list_fail = 0;

	/* A backup meanwhile fills (and so uploads) a container. */
	t = begin(fx);
	pool_txn_set_store(t, 1);
	for (int i = 0; i < 4; i++)
		put_ok(fx, t, &n[i], 710 + (uint64_t)i, 300 * KIB, RANDOM);
	for (int i = 0; i < m.n; i++)
		sealed += m.c[i].buf != NULL && m.c[i].sealed &&
		    m.c[i].id > POOL_STORE_BASE(1) + 2;
	assert_true(sealed >= 1);

	err_clear(&e);
	assert_int_equal(pool_store_recover(fx->p, 1, &ran, &e), 0);
	assert_int_equal(ran, 1);
	assert_null(mem_find(&m, c1));		/* the leftover went */
	commit_ok(t);
	for (int i = 0; i < 4; i++)
		assert_reads_back(fx, &n[i]);
	assert_reads_back(fx, &b);
	assert_int_equal(pool_store_recover(fx->p, 1, &ran, &e), 0);
	assert_int_equal(ran, 0);
	{
		struct pool_audit_report rep;

		assert_int_equal(pool_audit(fx->p, NULL, NULL, &rep, &e), 0);
		assert_int_equal(rep.damaged, 0);
	}
	close_pool(fx);
	mem_free(&m);
}

/* UPDATE STGPOOL RECLAIM=: the threshold set is the one reopened. */
static void
pool_set_reclaim_pct_is_kept(void **state)
{
	struct fixture *fx = *state;
	struct err e;

	err_clear(&e);
	assert_int_equal(pool_set_reclaim_pct(fx->p, 0, &e), 0);
	assert_int_equal(pool_get_params(fx->p)->reclaim_pct, 0);
	assert_int_equal(pool_set_reclaim_pct(fx->p, 101, &e), COFFER_EINVAL);
	assert_int_equal(pool_set_reclaim_pct(fx->p, 25, &e), 0);
	reopen(fx);
	assert_int_equal(pool_get_params(fx->p)->reclaim_pct, 25);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    pool_create_then_open_keeps_params, setup_empty, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_create_twice_fails_with_eexist, setup_empty, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_create_bad_params_are_rejected, setup_empty, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_open_missing_pool_fails_with_message, setup_empty,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_many_chunks_read_back_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_read_absent_chunk_names_it, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_read_into_small_buffer_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_bad_chunk_lengths_are_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_same_chunk_twice_is_stored_once_and_counted_twice,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_same_new_chunk_in_two_open_transactions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_ref_of_absent_chunk_is_enotfound, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_abort_leaves_nothing_referenced, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_txn_unref_takes_back_a_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_unref_releases_and_reclaim_drops_chunk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_unrefs_sums_per_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_commit_callback_rows_commit_with_references, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_reclaim_compacts_containers_and_keeps_live_chunks,
		    setup_small, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_txn_spans_hundreds_of_containers, setup_small,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_reclaim_keeps_chunk_pinned_by_open_txn, setup_small,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_flipped_bit_in_chunk_is_reported_by_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_flipped_bit_is_refused_by_read_without_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_repair_replaces_damaged_chunk_without_a_reference,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_flipped_header_byte_is_reported_by_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_truncated_container_is_reported_by_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_truncated_container_is_marked_damaged_at_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_damaged_chunk_is_repaired_by_storing_it_again, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_repaired_released_chunk_frees_old_container,
		    setup_small, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_garbage_tail_is_truncated_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_orphan_container_file_is_removed_at_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_missing_container_is_reported_and_writes_go_on,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_commit_failing_at_each_io_step_recovers, setup_small,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_commit_failing_each_step_in_new_containers_recovers,
		    setup_small, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_reclaim_failing_at_each_io_step_recovers, setup_small,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_commit_failing_container_write_recovers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_commit_failing_container_fsync_recovers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_commit_failing_index_commit_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_crash_after_fsync_before_index_commit_indexes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_full_disk_is_enospc_with_message, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_sealed_store_indexes_only_uploaded_chunks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    pool_detach_store_refuses_a_store_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_set_reclaim_pct_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pool_store_recover_after_an_unreachable_attach,
		    setup_small, teardown),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
