/*
 * coffer-pool - work on a container pool offline.
 *
 * The pool engine without a server: an administrator inspects, audits and
 * compacts the pool of a stopped server with it, and tests and the
 * benchmark use it to drive the engine directly.  Objects stored by this
 * tool are kept in the pool's own index (table pool_object), named by the
 * path they were read from.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "codec.h"
#include "err.h"
#include "ingest.h"
#include "pool.h"
#include "pool_recipe.h"
#include "progress.h"
#include "util.h"

#define TXN_BYTES	(512ull << 20)	/* commit at least this often */
#define TXN_OBJECTS	8192

static const char usage_text[] =
"usage: coffer-pool [options] COMMAND POOLDIR [ARGS...]\n"
"\n"
"Work on a Coffer container pool offline (the server must be stopped).\n"
"\n"
"Commands:\n"
"  create POOLDIR            create an empty pool\n"
"  store POOLDIR PATH...     store files (directories recursively) as\n"
"                            objects named by their path\n"
"  verify POOLDIR            read every object back and check every chunk;\n"
"                            with --against, also compare with the files\n"
"  extract POOLDIR DEST      write every object below DEST\n"
"  remove POOLDIR PREFIX     remove objects whose name starts with PREFIX\n"
"                            and release their chunks\n"
"  audit POOLDIR             re-read every chunk, report damaged ones\n"
"  reclaim POOLDIR           compact containers under the live threshold\n"
"  stats POOLDIR             chunk, container and reduction figures\n"
"\n"
"Options:\n"
"  --json                    print one JSON object on stdout\n"
"  --level N                 zstd level for create (default 3)\n"
"  --container-max BYTES     container size for create (default 256 MiB)\n"
"  --reclaim-pct N           live percentage that triggers reclaim\n"
"                            (create: stored default; reclaim: this run)\n"
"  --chunk MIN,AVG,MAX       content-defined chunk sizes for store\n"
"                            (default 65536,262144,1048576)\n"
"  --fixed BYTES             fixed-size blocks for store instead (images)\n"
"  --threads N               hashing/compression threads (default: CPUs)\n"
"  --against                 verify: compare with the original files\n"
"  --db FILE                 the index file (default POOLDIR/pool.db; a\n"
"                            stopped server's pool: --db DIR/catalog.db\n"
"                            with POOLDIR = DIR/pool)\n"
"  -h, --help                this text\n"
"\n"
"Exit status: 0 success, 8 damage or mismatches found, 12 errors.\n";

/* The index: POOLDIR/pool.db, or --db (a server's DIR/catalog.db). */
static const char *db_opt;

static const char *
db_file(const char *dir, char *buf, size_t len)
{
	if (db_opt != NULL)
		return db_opt;
	snprintf(buf, len, "%s/pool.db", dir);
	return buf;
}

struct opts {
	int		json;
	int		level;
	uint64_t	container_max;
	int		reclaim_pct;
	struct ingest_params ip;
	int		against;
};

static void
die_err(const struct err *e)
{
	fprintf(stderr, "coffer-pool: %s\n", e->msg);
	exit(12);
}

static uint64_t
parse_size(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		goto bad;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: goto bad;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end != '\0')
		goto bad;
	return v;
bad:
	fprintf(stderr, "coffer-pool: %s: '%s' is not a size\n", what, s);
	exit(12);
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- store ---- */

struct obj {
	char			*name;
	uint64_t		 size;
	int64_t			 mtime;
	uint32_t		 mode;
	struct pool_recipe	 rec;
	struct obj		*next;
};

struct store {
	struct pool		*pool;
	struct pool_txn		*txn;
	struct ingest		*ig;
	struct codec		*codec;	/* for chunks released after has() */
	uint8_t			*cbuf;
	struct obj		*pending;
	uint64_t		 pending_bytes;
	size_t			 pending_n;
	struct progress		 pg;
	/* Figures for the summary. */
	uint64_t		 files, failed, skipped, bytes_read;
	uint64_t		 chunks, chunks_new, zero_chunks;
	uint64_t		 raw_new, stored_new;
};

static void
obj_free(struct obj *o)
{
	if (o == NULL)
		return;
	pool_recipe_free(&o->rec);
	free(o->name);
	free(o);
}

static int
sink_has(void *arg, const uint8_t hash[HASH_LEN])
{
	struct store *s = arg;

	return pool_has(s->pool, hash) == 1;
}

static int
put_encoded(struct store *s, const struct ingest_chunk *c, struct err *e)
{
	struct pool_chunk pc;
	size_t stored_len;
	int isnew = 0, r;

	memcpy(pc.hash, c->hash, HASH_LEN);
	pc.raw_len = c->raw_len;
	if (c->stored != NULL) {
		pc.codec = c->codec;
		pc.stored = c->stored;
		pc.stored_len = c->stored_len;
	} else {
		/* has() said yes but the chunk went away since: encode now. */
		if ((r = codec_encode(s->codec, c->raw, c->raw_len, s->cbuf,
		    codec_bound(POOL_RAW_MAX), &stored_len, &pc.codec, e)) != 0)
			return r;
		pc.stored = s->cbuf;
		pc.stored_len = (uint32_t)stored_len;
	}
	if ((r = pool_txn_put(s->txn, &pc, &isnew, e)) != 0)
		return r;
	if (isnew) {
		s->chunks_new++;
		s->raw_new += pc.raw_len;
		s->stored_new += pc.stored_len;
	}
	return 0;
}

static int
sink_put(void *arg, void *cookie, const struct ingest_chunk *c,
    struct err *e)
{
	struct store *s = arg;
	struct obj *o = cookie;
	int r;

	s->chunks++;
	if (c->zero) {
		s->zero_chunks++;
		return pool_recipe_add(&o->rec, NULL, c->raw_len, e);
	}
	if (c->known) {
		r = pool_txn_ref(s->txn, c->hash, e);
		if (r == COFFER_ENOTFOUND)
			r = put_encoded(s, c, e);
	} else {
		r = put_encoded(s, c, e);
	}
	if (r != 0)
		return r;
	return pool_recipe_add(&o->rec, c->hash, c->raw_len, e);
}

/* Insert pending objects; runs inside the pool's index transaction. */
static int
insert_objects(sqlite3 *db, void *arg, struct err *e)
{
	struct store *s = arg;
	struct pool *pool = s->pool;
	sqlite3_stmt *get = NULL, *put = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(db, "SELECT recipe FROM pool_object WHERE "
	    "name=?1", -1, &get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO pool_object(name, size, mtime,"
	    " mode, recipe) VALUES(?1,?2,?3,?4,?5) ON CONFLICT(name) DO UPDATE"
	    " SET size=excluded.size, mtime=excluded.mtime, mode=excluded.mode,"
	    " recipe=excluded.recipe", -1, &put, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_EDB, "objects: %s", sqlite3_errmsg(db));
		goto out;
	}
	for (struct obj *o = s->pending; o != NULL && r == 0; o = o->next) {
		sqlite3_bind_text(get, 1, o->name, -1, SQLITE_STATIC);
		if (sqlite3_step(get) == SQLITE_ROW)	/* replaced: release */
			r = pool_unref_recipe_locked(pool,
			    sqlite3_column_blob(get, 0),
			    (size_t)sqlite3_column_bytes(get, 0), e);
		sqlite3_reset(get);
		if (r != 0)
			break;
		sqlite3_bind_text(put, 1, o->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 2, (sqlite3_int64)o->size);
		sqlite3_bind_int64(put, 3, o->mtime);
		sqlite3_bind_int64(put, 4, o->mode);
		sqlite3_bind_blob(put, 5, o->rec.p ? (void *)o->rec.p : "",
		    (int)o->rec.len, SQLITE_STATIC);
		if (sqlite3_step(put) != SQLITE_DONE)
			r = err_set(e, COFFER_EDB, "object %s: %s", o->name,
			    sqlite3_errmsg(db));
		sqlite3_reset(put);
	}
out:
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	return r;
}

static int
store_commit(struct store *s, int reopen, struct err *e)
{
	struct pool_txn *t = s->txn;
	int r;

	s->txn = NULL;
	r = pool_txn_commit(t, insert_objects, s, e);
	while (s->pending != NULL) {
		struct obj *o = s->pending;

		s->pending = o->next;
		obj_free(o);
	}
	s->pending_bytes = 0;
	s->pending_n = 0;
	if (r == 0 && reopen)
		r = pool_txn_begin(s->pool, &s->txn, e);
	return r;
}

static int
sink_end(void *arg, void *cookie, struct err *e)
{
	struct store *s = arg;
	struct obj *o = cookie;

	o->next = s->pending;
	s->pending = o;
	s->pending_bytes += o->size;
	s->pending_n++;
	s->files++;
	progress_add(&s->pg, 1, 0);
	if (s->pending_bytes >= TXN_BYTES || s->pending_n >= TXN_OBJECTS)
		return store_commit(s, 1, e);
	return 0;
}

static void
sink_abort(void *arg, void *cookie)
{
	struct store *s = arg;
	struct obj *o = cookie;
	size_t n = 0;

	(void)pool_recipe_count(o->rec.p, o->rec.len, &n, NULL);
	for (size_t i = 0; i < n && s->txn != NULL; i++)
		if (!pool_recipe_is_zero(o->rec.p, i))
			(void)pool_txn_unref(s->txn,
			    pool_recipe_hash(o->rec.p, i), NULL);
	obj_free(o);
}

static struct store *cur_store;	/* for the nftw callback */

static void
store_file(struct store *s, const char *path, const struct stat *st)
{
	struct obj *o;
	struct err e;
	uint64_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		fprintf(stderr, "coffer-pool: %s: %s (skipped)\n", path,
		    strerror(errno));
		s->failed++;
		return;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->name = strdup(path)) ==
	    NULL) {
		fprintf(stderr, "coffer-pool: out of memory\n");
		exit(12);
	}
	o->size = (uint64_t)st->st_size;
	o->mtime = st->st_mtime;
	o->mode = st->st_mode;
	err_clear(&e);
	if (ingest_fd(s->ig, fd, o, &got, path, &e) != 0) {
		fprintf(stderr, "coffer-pool: %s (skipped)\n", e.msg);
		s->failed++;
		if (e.code == COFFER_ECANCELED || s->txn == NULL)
			die_err(&e);
	}
	s->bytes_read += got;
	progress_add(&s->pg, 0, got);
	close(fd);
}

static int
walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode))
		store_file(cur_store, path, st);
	else if (type == FTW_F || type == FTW_SL)
		cur_store->skipped++;	/* special files and symlinks */
	else if (type == FTW_DNR || type == FTW_NS) {
		fprintf(stderr, "coffer-pool: %s: cannot read (skipped)\n",
		    path);
		cur_store->failed++;
	}
	return 0;
}

static int
ensure_object_table(const char *dir, struct err *e)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	int r = 0;

	if (sqlite3_open_v2(db_file(dir, path, sizeof(path)), &db,
	    SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS pool_object("
	    " name TEXT PRIMARY KEY, size INTEGER NOT NULL,"
	    " mtime INTEGER NOT NULL, mode INTEGER NOT NULL,"
	    " recipe BLOB NOT NULL)", NULL, NULL, NULL) != SQLITE_OK)
		r = err_set(e, COFFER_EDB, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_close(db);
	return r;
}

static void
print_store_summary(const struct opts *o, const struct store *s,
    double wall, double cpu)
{
	double const mbs = wall > 0 ? s->bytes_read / wall / 1e6 : 0;
	double const ratio = s->stored_new ? (double)s->bytes_read /
	    (double)s->stored_new : 0;

	if (o->json) {
		printf("{\"objects_inspected\": %" PRIu64 ", \"objects_stored\": "
		    "%" PRIu64 ", \"objects_failed\": %" PRIu64 ", "
		    "\"bytes_inspected\": %" PRIu64 ", \"chunks\": %" PRIu64
		    ", \"chunks_new\": %" PRIu64 ", \"zero_chunks\": %" PRIu64
		    ", \"raw_new\": %" PRIu64 ", \"stored_new\": %" PRIu64
		    ", \"elapsed_s\": %.3f, \"cpu_s\": %.3f, \"mb_per_s\": "
		    "%.1f}\n", s->files + s->failed + s->skipped, s->files,
		    s->failed, s->bytes_read, s->chunks, s->chunks_new,
		    s->zero_chunks, s->raw_new, s->stored_new, wall, cpu, mbs);
		return;
	}
	printf("Objects stored:        %" PRIu64 "\n", s->files);
	printf("Objects failed:        %" PRIu64 "\n", s->failed);
	printf("Objects skipped:       %" PRIu64 " (not regular files)\n",
	    s->skipped);
	printf("Bytes read:            %" PRIu64 "\n", s->bytes_read);
	printf("Chunks:                %" PRIu64 " (%" PRIu64 " new, %" PRIu64
	    " zero)\n", s->chunks, s->chunks_new, s->zero_chunks);
	printf("Deduplication:         %.1f%% of bytes already stored\n",
	    s->bytes_read ? 100.0 * (1.0 - (double)s->raw_new /
	    (double)s->bytes_read) : 0.0);
	printf("Compression:           %" PRIu64 " new bytes stored in %" PRIu64
	    " (%.1f%%)\n", s->raw_new, s->stored_new, s->raw_new ? 100.0 *
	    (double)s->stored_new / (double)s->raw_new : 0.0);
	printf("Data reduction:        %.2fx\n", ratio);
	printf("Elapsed:               %.2f s (%.1f MB/s, %.2f s CPU)\n", wall,
	    mbs, cpu);
}

static int
cmd_store(const struct opts *o, const char *dir, char **paths, int npaths)
{
	struct ingest_sink sink = { sink_has, sink_put, sink_end, sink_abort,
	    NULL };
	struct store s;
	struct err e;
	double t0 = util_now(), c0 = cpu_seconds();
	int r;

	memset(&s, 0, sizeof(s));
	err_clear(&e);
	if (pool_open(dir, db_opt, &s.pool, &e) != 0)
		die_err(&e);
	if (ensure_object_table(dir, &e) != 0 ||
	    pool_txn_begin(s.pool, &s.txn, &e) != 0 ||
	    (s.codec = codec_new(pool_get_params(s.pool)->level, &e)) == NULL)
		die_err(&e);
	if ((s.cbuf = malloc(codec_bound(POOL_RAW_MAX))) == NULL) {
		fprintf(stderr, "coffer-pool: out of memory\n");
		return 12;
	}
	sink.arg = &s;
	{
		struct ingest_params ip = o->ip;

		ip.level = pool_get_params(s.pool)->level;
		if ((s.ig = ingest_new(&ip, &sink, &e)) == NULL)
			die_err(&e);
	}
	progress_init(&s.pg, "store", 0);
	cur_store = &s;
	for (int i = 0; i < npaths; i++) {
		if (nftw(paths[i], walk_cb, 64, FTW_PHYS) != 0) {
			fprintf(stderr, "coffer-pool: %s: %s\n", paths[i],
			    strerror(errno));
			s.failed++;
		}
	}
	if ((r = ingest_flush(s.ig, &e)) == 0)
		r = store_commit(&s, 0, &e);
	progress_done(&s.pg);
	ingest_free(s.ig);
	if (r != 0) {
		pool_txn_abort(s.txn);
		die_err(&e);
	}
	print_store_summary(o, &s, util_now() - t0, cpu_seconds() - c0);
	codec_free(s.codec);
	free(s.cbuf);
	pool_close(s.pool);
	return s.failed ? 4 : 0;
}

/* ---- reading objects back ---- */

struct walker {
	struct pool		*pool;
	struct pool_reader	*rd;
	sqlite3			*db;
	sqlite3_stmt		*st;
	uint8_t			*buf;
};

static void
walker_open(struct walker *w, const char *dir)
{
	char path[PATH_MAX];
	struct err e;

	memset(w, 0, sizeof(*w));
	err_clear(&e);
	if (pool_open(dir, db_opt, &w->pool, &e) != 0 ||
	    ensure_object_table(dir, &e) != 0 ||
	    (w->rd = pool_reader_new(w->pool, &e)) == NULL)
		die_err(&e);
	if (sqlite3_open_v2(db_file(dir, path, sizeof(path)), &w->db,
	    SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(w->db, "SELECT name, size, mtime,"
	    " mode, recipe FROM pool_object ORDER BY name", -1, &w->st, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "coffer-pool: %s: %s\n", path,
		    sqlite3_errmsg(w->db));
		exit(12);
	}
	if ((w->buf = malloc(POOL_RAW_MAX)) == NULL) {
		fprintf(stderr, "coffer-pool: out of memory\n");
		exit(12);
	}
}

static void
walker_close(struct walker *w)
{
	sqlite3_finalize(w->st);
	sqlite3_close(w->db);
	pool_reader_free(w->rd);
	pool_close(w->pool);
	free(w->buf);
}

/*
 * Read one object's chunks in order, calling fn for each piece (data NULL
 * for a zero run).  Stops at the first damaged chunk.
 */
typedef int (*piece_fn)(void *arg, uint64_t off, const uint8_t *data,
    uint32_t len, struct err *e);

static int
read_object(struct walker *w, const uint8_t *recipe, size_t rlen,
    piece_fn fn, void *arg, uint64_t *total, struct err *e)
{
	uint64_t off = 0;
	size_t n;
	int r;

	if ((r = pool_recipe_count(recipe, rlen, &n, e)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint32_t len = pool_recipe_len(recipe, i), got = 0;

		if (pool_recipe_is_zero(recipe, i)) {
			r = fn(arg, off, NULL, len, e);
		} else {
			r = pool_read(w->rd, pool_recipe_hash(recipe, i),
			    w->buf, POOL_RAW_MAX, &got, e);
			if (r == 0 && got != len)
				r = err_set(e, COFFER_ECORRUPT, "chunk length "
				    "%u, recipe says %u", got, len);
			if (r == 0)
				r = fn(arg, off, w->buf, len, e);
		}
		if (r != 0)
			return r;
		off += len;
	}
	*total = off;
	return 0;
}

struct compare {
	int	fd;
	uint8_t	*buf;
	size_t	 cap;
};

static int
compare_piece(void *arg, uint64_t off, const uint8_t *data, uint32_t len,
    struct err *e)
{
	struct compare *c = arg;
	int r;

	if (c->fd < 0)
		return 0;
	if (len > c->cap) {
		free(c->buf);
		if ((c->buf = malloc(len)) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		c->cap = len;
	}
	if ((r = util_pread_full(c->fd, c->buf, len, (off_t)off, "original",
	    e)) != 0)
		return err_set(e, COFFER_ECORRUPT, "differs from the original "
		    "(shorter at offset %" PRIu64 ")", off);
	if (data == NULL ? !util_is_zero(c->buf, len) :
	    memcmp(data, c->buf, len) != 0)
		return err_set(e, COFFER_ECORRUPT, "differs from the original "
		    "in the %u bytes at offset %" PRIu64, len, off);
	return 0;
}

static int
cmd_verify(const struct opts *o, const char *dir)
{
	struct walker w;
	struct compare cmp = { -1, NULL, 0 };
	uint64_t objects = 0, bad = 0, bytes = 0;
	struct progress pg;
	int rc;

	walker_open(&w, dir);
	progress_init(&pg, "verify", 0);
	while ((rc = sqlite3_step(w.st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(w.st, 0);
		uint64_t const size = (uint64_t)sqlite3_column_int64(w.st, 1);
		uint64_t total = 0;
		struct stat st;
		struct err e;
		int r;

		err_clear(&e);
		cmp.fd = -1;
		if (o->against && (cmp.fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
			r = err_sys(&e, COFFER_EIO, "open original");
		else
			r = read_object(&w, sqlite3_column_blob(w.st, 4),
			    (size_t)sqlite3_column_bytes(w.st, 4),
			    compare_piece, &cmp, &total, &e);
		if (r == 0 && total != size)
			r = err_set(&e, COFFER_ECORRUPT, "object holds %" PRIu64
			    " bytes, catalog says %" PRIu64, total, size);
		if (r == 0 && cmp.fd >= 0 && (fstat(cmp.fd, &st) != 0 ||
		    (uint64_t)st.st_size != size))
			r = err_set(&e, COFFER_ECORRUPT, "original is now %lld "
			    "bytes", (long long)st.st_size);
		if (cmp.fd >= 0)
			close(cmp.fd);
		objects++;
		bytes += total;
		progress_add(&pg, 1, total);
		if (r != 0) {
			bad++;
			progress_done(&pg);
			fprintf(stderr, "coffer-pool: %s: %s\n", name, e.msg);
		}
	}
	progress_done(&pg);
	free(cmp.buf);
	walker_close(&w);
	if (o->json)
		printf("{\"objects_checked\": %" PRIu64 ", \"bytes_checked\": %"
		    PRIu64 ", \"objects_failed\": %" PRIu64 "}\n", objects,
		    bytes, bad);
	else
		printf("Verified %" PRIu64 " objects, %" PRIu64 " bytes: %"
		    PRIu64 " failed\n", objects, bytes, bad);
	return bad ? 8 : 0;
}

static int
write_piece(void *arg, uint64_t off, const uint8_t *data, uint32_t len,
    struct err *e)
{
	int const fd = *(int *)arg;

	if (data == NULL)
		return 0;	/* zero run: left as a hole */
	return util_pwrite_full(fd, data, len, (off_t)off, "extract", e);
}

/* A stored name is safe under DEST only without ".." components. */
static int
safe_name(const char *name)
{
	const char *p = name;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return 0;
		while (*p != '\0' && *p != '/')
			p++;
	}
	return 1;
}

static int
cmd_extract(const struct opts *o, const char *dir, const char *dest)
{
	struct walker w;
	uint64_t objects = 0, bad = 0, bytes = 0;
	int rc;

	walker_open(&w, dir);
	while ((rc = sqlite3_step(w.st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(w.st, 0);
		uint64_t const size = (uint64_t)sqlite3_column_int64(w.st, 1);
		char path[PATH_MAX], *slash;
		struct timespec ts[2];
		uint64_t total = 0;
		struct err e;
		int fd = -1, r;

		err_clear(&e);
		objects++;
		if (!safe_name(name) || snprintf(path, sizeof(path), "%s/%s",
		    dest, name[0] == '/' ? name + 1 : name) >= (int)sizeof(path)) {
			fprintf(stderr, "coffer-pool: %s: unsafe name, not "
			    "extracted\n", name);
			bad++;
			continue;
		}
		slash = strrchr(path, '/');
		*slash = '\0';
		r = util_mkdir_p(path, 0755, &e);
		*slash = '/';
		if (r == 0 && (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			r = err_sys(&e, COFFER_EIO, "create");
		if (r == 0)
			r = read_object(&w, sqlite3_column_blob(w.st, 4),
			    (size_t)sqlite3_column_bytes(w.st, 4), write_piece,
			    &fd, &total, &e);
		if (r == 0 && ftruncate(fd, (off_t)size) != 0)
			r = err_sys(&e, COFFER_EIO, "set size");
		if (r == 0) {
			ts[0].tv_sec = ts[1].tv_sec = sqlite3_column_int64(w.st,
			    2);
			ts[0].tv_nsec = ts[1].tv_nsec = 0;
			(void)fchmod(fd, (mode_t)sqlite3_column_int64(w.st, 3) &
			    07777);
			(void)futimens(fd, ts);
		}
		if (fd >= 0)
			close(fd);
		bytes += total;
		if (r != 0) {
			bad++;
			fprintf(stderr, "coffer-pool: %s: %s\n", name, e.msg);
		}
	}
	walker_close(&w);
	if (o->json)
		printf("{\"objects_restored\": %" PRIu64 ", \"bytes_restored\": %"
		    PRIu64 ", \"objects_failed\": %" PRIu64 "}\n", objects - bad,
		    bytes, bad);
	else
		printf("Extracted %" PRIu64 " objects, %" PRIu64 " bytes: %"
		    PRIu64 " failed\n", objects - bad, bytes, bad);
	return bad ? 8 : 0;
}

/* ---- remove ---- */

struct remove_ctx {
	struct pool	*pool;
	const char	*prefix;
	uint64_t	 removed;
};

static int
remove_cb(sqlite3 *db, void *arg, struct err *e)
{
	struct remove_ctx *rc = arg;
	sqlite3_stmt *st = NULL;
	int r = 0, s;

	if (sqlite3_prepare_v2(db, "DELETE FROM pool_object WHERE "
	    "substr(name, 1, length(?1))=?1 RETURNING recipe", -1, &st,
	    NULL) != SQLITE_OK)
		return err_set(e, COFFER_EDB, "remove: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, rc->prefix, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW && r == 0) {
		r = pool_unref_recipe_locked(rc->pool, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), e);
		rc->removed++;
	}
	if (r == 0 && s != SQLITE_DONE)
		r = err_set(e, COFFER_EDB, "remove: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

static int
cmd_remove(const struct opts *o, const char *dir, const char *prefix)
{
	struct remove_ctx rc = { NULL, prefix, 0 };
	struct err e;

	err_clear(&e);
	if (pool_open(dir, db_opt, &rc.pool, &e) != 0 ||
	    ensure_object_table(dir, &e) != 0 ||
	    pool_exec(rc.pool, remove_cb, &rc, &e) != 0)
		die_err(&e);
	pool_close(rc.pool);
	if (o->json)
		printf("{\"objects_removed\": %" PRIu64 "}\n", rc.removed);
	else
		printf("Removed %" PRIu64 " objects\n", rc.removed);
	return 0;
}

/* ---- audit, reclaim, stats ---- */

static void
damage_cb(void *arg, const uint8_t hash[HASH_LEN], uint64_t container,
    uint64_t offset, const char *why)
{
	char hex[HASH_HEX_LEN + 1];

	(void)arg;
	hash_to_hex(hash, hex);
	fprintf(stderr, "coffer-pool: damaged chunk %s in container %016"
	    PRIx64 " at offset %" PRIu64 ": %s\n", hex, container, offset, why);
}

static int
cmd_audit(const struct opts *o, const char *dir)
{
	struct pool_audit_report rep;
	struct pool *p = NULL;
	struct err e;
	double t0 = util_now();

	err_clear(&e);
	if (pool_open(dir, db_opt, &p, &e) != 0 ||
	    pool_audit(p, damage_cb, NULL, &rep, &e) != 0)
		die_err(&e);
	pool_close(p);
	if (o->json)
		printf("{\"chunks_checked\": %" PRIu64 ", \"damaged\": %" PRIu64
		    ", \"repaired\": 0, \"bytes_read\": %" PRIu64
		    ", \"skipped\": %" PRIu64 ", \"elapsed_s\": %.3f}\n",
		    rep.chunks_checked, rep.damaged, rep.bytes_read,
		    rep.skipped_chunks, util_now() - t0);
	else
		printf("Audited %" PRIu64 " chunks in %" PRIu64 " containers (%"
		    PRIu64 " bytes): %" PRIu64 " damaged\n", rep.chunks_checked,
		    rep.containers, rep.bytes_read, rep.damaged);
	if (rep.skipped_chunks > 0)
		fprintf(stderr, "coffer-pool: %" PRIu64 " chunks in %" PRIu64
		    " containers of cloud pools were not checked: this tool "
		    "reads directory pools only; audit them with 'audit "
		    "container' on the server\n", rep.skipped_chunks,
		    rep.skipped_containers);
	return rep.damaged || rep.skipped_chunks ? 8 : 0;
}

static int
cmd_reclaim(const struct opts *o, const char *dir)
{
	struct pool_reclaim_report rep;
	struct pool *p = NULL;
	struct err e;

	err_clear(&e);
	if (pool_open(dir, db_opt, &p, &e) != 0 ||
	    pool_reclaim(p, o->reclaim_pct, &rep, &e) != 0)
		die_err(&e);
	pool_close(p);
	if (o->json)
		printf("{\"containers_reclaimed\": %" PRIu64 ", \"chunks_moved\": %"
		    PRIu64 ", \"chunks_freed\": %" PRIu64 ", \"bytes_freed\": %"
		    PRIu64 "}\n", rep.containers_reclaimed, rep.chunks_moved,
		    rep.chunks_freed, rep.bytes_freed);
	else
		printf("Reclaimed %" PRIu64 " containers: %" PRIu64 " chunks "
		    "moved, %" PRIu64 " unreferenced chunks dropped, %" PRIu64
		    " bytes freed\n", rep.containers_reclaimed,
		    rep.chunks_moved, rep.chunks_freed, rep.bytes_freed);
	return 0;
}

static int
cmd_stats(const struct opts *o, const char *dir)
{
	struct pool_stats s;
	struct pool *p = NULL;
	struct err e;
	char a[16], b[16], c[16];

	err_clear(&e);
	if (pool_open(dir, db_opt, &p, &e) != 0 || pool_stats(p, &s, &e) != 0)
		die_err(&e);
	pool_close(p);
	if (o->json) {
		printf("{\"containers\": %" PRIu64 ", \"chunks\": %" PRIu64
		    ", \"live_chunks\": %" PRIu64 ", \"references\": %" PRIu64
		    ", \"raw_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64
		    ", \"container_bytes\": %" PRIu64 ", \"damaged\": %" PRIu64
		    "}\n", s.containers, s.chunks, s.live_chunks, s.references,
		    s.raw_bytes, s.stored_bytes, s.container_bytes, s.damaged);
		return 0;
	}
	printf("Containers:            %" PRIu64 " (%s on disk)\n",
	    s.containers, util_human_bytes(s.container_bytes, a, sizeof(a)));
	printf("Chunks:                %" PRIu64 " (%" PRIu64 " referenced, %"
	    PRIu64 " references, %" PRIu64 " damaged)\n", s.chunks,
	    s.live_chunks, s.references, s.damaged);
	printf("Unique data:           %s, stored as %s (%.1f%%)\n",
	    util_human_bytes(s.raw_bytes, b, sizeof(b)),
	    util_human_bytes(s.stored_bytes, c, sizeof(c)),
	    s.raw_bytes ? 100.0 * (double)s.stored_bytes /
	    (double)s.raw_bytes : 0.0);
	return 0;
}

static int
cmd_create(const struct opts *o, const char *dir)
{
	struct pool_params pp;
	struct err e;

	pool_params_default(&pp);
	if (o->level)
		pp.level = o->level;
	if (o->container_max)
		pp.container_max = o->container_max;
	if (o->reclaim_pct >= 0)
		pp.reclaim_pct = o->reclaim_pct;
	err_clear(&e);
	if (pool_create(dir, db_opt, &pp, &e) != 0 ||
	    ensure_object_table(dir, &e) != 0)
		die_err(&e);
	if (!o->json)
		printf("Created pool %s (zstd level %d, containers of %" PRIu64
		    " bytes, reclaim below %d%% live)\n", dir, pp.level,
		    pp.container_max, pp.reclaim_pct);
	else
		printf("{\"pool\": \"%s\"}\n", dir);
	return 0;
}

static void
parse_chunk(struct opts *o, const char *s)
{
	char buf[128], *a, *b, *c;

	snprintf(buf, sizeof(buf), "%s", s);
	a = strtok(buf, ",");
	b = strtok(NULL, ",");
	c = strtok(NULL, ",");
	if (a == NULL || b == NULL || c == NULL) {
		fprintf(stderr, "coffer-pool: --chunk wants MIN,AVG,MAX\n");
		exit(12);
	}
	o->ip.min = (uint32_t)parse_size(a, "--chunk");
	o->ip.avg = (uint32_t)parse_size(b, "--chunk");
	o->ip.max = (uint32_t)parse_size(c, "--chunk");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "level", required_argument, NULL, 'l' },
		{ "container-max", required_argument, NULL, 'c' },
		{ "reclaim-pct", required_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "fixed", required_argument, NULL, 'f' },
		{ "threads", required_argument, NULL, 't' },
		{ "against", no_argument, NULL, 'a' },
		{ "db", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o;
	const char *cmd, *dir;
	int ch;

	memset(&o, 0, sizeof(o));
	o.reclaim_pct = -1;
	ingest_params_default(&o.ip);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': o.json = 1; break;
		case 'l': o.level = atoi(optarg); break;
		case 'c': o.container_max = parse_size(optarg,
		    "--container-max"); break;
		case 'r': o.reclaim_pct = atoi(optarg); break;
		case 'k': parse_chunk(&o, optarg); break;
		case 'f': o.ip.fixed = (uint32_t)parse_size(optarg, "--fixed");
			break;
		case 't': o.ip.threads = atoi(optarg); break;
		case 'a': o.against = 1; break;
		case 'D': db_opt = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 12;
		}
	}
	if (argc - optind < 2) {
		fputs(usage_text, stderr);
		return 12;
	}
	cmd = argv[optind];
	dir = argv[optind + 1];
	argc -= optind + 2;
	argv += optind + 2;
	if (strcmp(cmd, "create") == 0 && argc == 0)
		return cmd_create(&o, dir);
	if (strcmp(cmd, "store") == 0 && argc >= 1)
		return cmd_store(&o, dir, argv, argc);
	if (strcmp(cmd, "verify") == 0 && argc == 0)
		return cmd_verify(&o, dir);
	if (strcmp(cmd, "extract") == 0 && argc == 1)
		return cmd_extract(&o, dir, argv[0]);
	if (strcmp(cmd, "remove") == 0 && argc == 1)
		return cmd_remove(&o, dir, argv[0]);
	if (strcmp(cmd, "audit") == 0 && argc == 0)
		return cmd_audit(&o, dir);
	if (strcmp(cmd, "reclaim") == 0 && argc == 0)
		return cmd_reclaim(&o, dir);
	if (strcmp(cmd, "stats") == 0 && argc == 0)
		return cmd_stats(&o, dir);
	fprintf(stderr, "coffer-pool: unknown command or wrong arguments: "
	    "'%s' (see coffer-pool --help)\n", cmd);
	return 12;
}
