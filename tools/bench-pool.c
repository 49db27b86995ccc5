/*
 * bench-pool - single-core ceilings of the pool ingest stages.
 *
 * Loads up to N MiB of the regular files under a directory into memory (the
 * walk is in sorted name order, so the same tree gives the same bytes) and
 * runs each stage of the ingest pipeline over that one buffer, alone, on one
 * thread: the FastCDC chunker, SHA-256, zstd and CRC-32C.  Each stage is
 * repeated over the whole buffer until it has run for at least --seconds.
 *
 * Rates are MB/s (1e6 bytes) per core: bytes divided by the CPU time of
 * this thread, so that a busy machine lowers the figure less than it would
 * lower a wall-clock rate.  The wall-clock rates are in the JSON output.
 *
 * The combined ceiling 1 / (1/sha256 + 1/zstd) is what one core can hash and
 * compress per second when it does nothing else; tools/bench compares the
 * pool's measured ingest rate with it.  Nothing here asserts a target.
 *
 * SHA-256 and zstd are also run over the chunks the ingest itself would
 * make: each file cut separately with the default chunker, so a file
 * smaller than the minimum is one chunk.  Most files of a file server are
 * small, and zstd's per-frame cost then shows; the gap between the two
 * ceilings is the share of it that no pipeline can win back.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunker.h"
#include "codec.h"
#include "crc32c.h"
#include "err.h"
#include "hash.h"
#include "util.h"

#define BENCH_PIECE		(256u * 1024)	/* SHA-256, zstd unit */
#define BENCH_MIB_DEFAULT	256
#define BENCH_MIB_MAX		4096
#define BENCH_SECONDS_DEFAULT	1.0

static const char usage_text[] =
"usage: bench-pool [--mib N] [--seconds S] [--json] DIR\n"
"\n"
"Load up to N MiB (default 256) of the regular files under DIR, in sorted\n"
"order, and measure on one core, each over the same buffer, repeated for\n"
"at least S seconds (default 1): the FastCDC chunker (64K/256K/1M),\n"
"SHA-256 and zstd level 3 over 256 KiB pieces and over the chunks the\n"
"ingest makes (each file cut on its own), and CRC-32C.\n"
"Rates are MB/s (1e6 bytes) per core, from this thread's CPU time.\n";

/* The data under test and what every stage needs to run over it. */
struct bench {
	uint8_t		*buf;
	size_t		 len, cap;
	uint64_t	 files;
	size_t		*offs;		/* where each file starts in buf */
	size_t		 noffs, offs_cap;
	struct chunker	 ck;
	struct hash_ctx	*hash;
	struct codec	*codec;
	uint8_t		*cbuf;		/* codec_bound(CHUNKER_MAX_DEFAULT) */
	/* Results of the last pass, also keeping the work observable. */
	uint64_t	 chunks;
	uint64_t	 stored;
	uint64_t	 ingest_chunks;	/* per-file chunking */
	uint64_t	 ingest_stored;
	uint32_t	 crc;
	uint8_t		 digest[HASH_LEN];
};

/* One stage's figures. */
struct rate {
	uint64_t	bytes;
	double		cpu_s, wall_s;
	double		mbs;		/* per core: bytes / cpu_s */
	double		wall_mbs;
};

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "bench-pool: %s: %s\n", what, why);
	exit(1);
}

static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- loading ---- */

/* Append one regular file, or as much of it as the buffer still holds. */
static void
load_file(struct bench *b, const char *path)
{
	size_t got = 0;
	struct err e;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		fprintf(stderr, "bench-pool: %s: open: %s (skipped)\n", path,
		    strerror(errno));
		return;
	}
	if (b->noffs == b->offs_cap) {
		size_t const cap = b->offs_cap ? 2 * b->offs_cap : 4096;
		size_t *n = realloc(b->offs, cap * sizeof(*n));

		if (n == NULL)
			die("file table", "out of memory");
		b->offs = n;
		b->offs_cap = cap;
	}
	b->offs[b->noffs++] = b->len;
	err_clear(&e);
	if (util_read_full(fd, b->buf + b->len, b->cap - b->len, &got, path,
	    &e) != 0) {
		fprintf(stderr, "bench-pool: %s (skipped)\n", e.msg);
		got = 0;
	}
	close(fd);
	b->len += got;
	b->files++;
}

/* Depth-first, entries in strcmp order; stops when the buffer is full. */
static void
load_dir(struct bench *b, const char *dir)
{
	struct dirent **ents = NULL;
	char path[PATH_MAX];
	struct stat st;
	int n;

	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		fprintf(stderr, "bench-pool: %s: scandir: %s (skipped)\n", dir,
		    strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (b->len == b->cap || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path) || lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			load_dir(b, path);
		else if (S_ISREG(st.st_mode))
			load_file(b, path);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

/* ---- the stages: one pass over the whole buffer each ---- */

static void
pass_chunker(struct bench *b)
{
	size_t pos = 0;

	b->chunks = 0;
	while (pos < b->len) {
		size_t const left = b->len - pos;
		size_t const n = left < b->ck.max ? left : b->ck.max;

		pos += chunker_next(&b->ck, b->buf + pos, n);
		b->chunks++;
	}
}

static void
pass_sha256(struct bench *b)
{
	for (size_t pos = 0; pos < b->len; pos += BENCH_PIECE) {
		size_t const left = b->len - pos;

		if (hash_sha256(b->hash, b->buf + pos, left < BENCH_PIECE ?
		    left : BENCH_PIECE, b->digest) != 0)
			die("sha256", "hash_sha256 failed");
	}
}

static void
pass_zstd(struct bench *b)
{
	size_t const cap = codec_bound(BENCH_PIECE);
	struct err e;

	b->stored = 0;
	err_clear(&e);
	for (size_t pos = 0; pos < b->len; pos += BENCH_PIECE) {
		size_t const left = b->len - pos;
		size_t stored_len;
		uint8_t id;

		if (codec_encode(b->codec, b->buf + pos, left < BENCH_PIECE ?
		    left : BENCH_PIECE, b->cbuf, cap, &stored_len, &id,
		    &e) != 0)
			die("zstd", e.msg);
		b->stored += stored_len;
	}
}

/* Cut each file on its own, as the ingest does; fn sees every chunk. */
static void
for_each_ingest_chunk(struct bench *b, void (*fn)(struct bench *,
    const uint8_t *, size_t))
{
	b->ingest_chunks = 0;
	for (size_t i = 0; i < b->noffs; i++) {
		size_t const end = i + 1 < b->noffs ? b->offs[i + 1] : b->len;
		size_t pos = b->offs[i];

		while (pos < end) {
			size_t const left = end - pos;
			size_t const n = left < b->ck.max ? left : b->ck.max;
			size_t const cut = chunker_next(&b->ck, b->buf + pos,
			    n);

			fn(b, b->buf + pos, cut);
			b->ingest_chunks++;
			pos += cut;
		}
	}
}

static void
chunk_sha256(struct bench *b, const uint8_t *p, size_t n)
{
	if (hash_sha256(b->hash, p, n, b->digest) != 0)
		die("sha256", "hash_sha256 failed");
}

static void
chunk_zstd(struct bench *b, const uint8_t *p, size_t n)
{
	struct err e;
	size_t stored_len;
	uint8_t id;

	err_clear(&e);
	if (codec_encode(b->codec, p, n, b->cbuf, codec_bound(b->ck.max),
	    &stored_len, &id, &e) != 0)
		die("zstd", e.msg);
	b->ingest_stored += stored_len;
}

/*
 * The chunker runs in these two passes too, at a few percent of their
 * cost; it is left in rather than precomputing the cuts, which would
 * measure a loop the ingest does not have.
 */
static void
pass_sha256_ingest(struct bench *b)
{
	for_each_ingest_chunk(b, chunk_sha256);
}

static void
pass_zstd_ingest(struct bench *b)
{
	b->ingest_stored = 0;
	for_each_ingest_chunk(b, chunk_zstd);
}

static void
pass_crc32c(struct bench *b)
{
	b->crc = crc32c(0, b->buf, b->len);
}

/* Repeat pass over the buffer until at least secs of wall time went by. */
static void
measure(struct bench *b, void (*pass)(struct bench *), double secs,
    struct rate *out)
{
	double const w0 = util_now(), c0 = thread_cpu();
	uint64_t passes = 0;

	do {
		pass(b);
		passes++;
	} while (util_now() - w0 < secs);
	out->bytes = passes * b->len;
	out->wall_s = util_now() - w0;
	out->cpu_s = thread_cpu() - c0;
	out->mbs = out->cpu_s > 0 ? out->bytes / out->cpu_s / 1e6 : 0;
	out->wall_mbs = out->wall_s > 0 ? out->bytes / out->wall_s / 1e6 : 0;
}

/* ---- the run ---- */

enum {
	ST_CHUNKER, ST_SHA256, ST_ZSTD, ST_SHA256_INGEST, ST_ZSTD_INGEST,
	ST_CRC32C, ST_N
};

static const struct stage {
	const char	*key;	/* JSON prefix */
	const char	*label;
	void		(*pass)(struct bench *);
} stages[ST_N] = {
	{ "chunker", "chunker FastCDC 64K/256K/1M", pass_chunker },
	{ "sha256", "sha256, 256 KiB pieces", pass_sha256 },
	{ "zstd3", "zstd level 3, 256 KiB pieces", pass_zstd },
	{ "sha256_ingest", "sha256, ingest chunks", pass_sha256_ingest },
	{ "zstd3_ingest", "zstd level 3, ingest chunks", pass_zstd_ingest },
	{ "crc32c", "crc32c", pass_crc32c },
};

/* 1 / (1/a + 1/b): one core doing both, one after the other. */
static double
combined(double a, double b)
{
	return a > 0 && b > 0 ? 1.0 / (1.0 / a + 1.0 / b) : 0.0;
}

static double
pct(uint64_t part, size_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void
print_text(const struct bench *b, const char *dir, int mib,
    const struct rate *r)
{
	double const avg = b->chunks ? (double)b->len / b->chunks : 0.0;
	double const iavg = b->ingest_chunks ?
	    (double)b->len / b->ingest_chunks : 0.0;

	printf("bench-pool: %zu bytes from %" PRIu64 " files under %s "
	    "(limit %d MiB)\n", b->len, b->files, dir, mib);
	printf("MB/s = 1e6 bytes per CPU second of one core\n");
	for (int i = 0; i < ST_N; i++) {
		printf("%-32s %8.1f MB/s", stages[i].label, r[i].mbs);
		if (i == ST_CHUNKER)
			printf("  (%" PRIu64 " chunks, average %.0f bytes)",
			    b->chunks, avg);
		else if (i == ST_ZSTD)
			printf("  (stored %.1f%% of raw)", pct(b->stored,
			    b->len));
		else if (i == ST_SHA256_INGEST)
			printf("  (%" PRIu64 " chunks, average %.0f bytes)",
			    b->ingest_chunks, iavg);
		else if (i == ST_ZSTD_INGEST)
			printf("  (stored %.1f%% of raw)",
			    pct(b->ingest_stored, b->len));
		printf("\n");
	}
	printf("%-32s %8.1f MB/s  (1 / (1/sha256 + 1/zstd))\n",
	    "ceiling sha256 + zstd", combined(r[ST_SHA256].mbs,
	    r[ST_ZSTD].mbs));
	printf("%-32s %8.1f MB/s  (same, on ingest chunks)\n",
	    "ceiling, ingest chunks", combined(r[ST_SHA256_INGEST].mbs,
	    r[ST_ZSTD_INGEST].mbs));
}

static void
print_json(const struct bench *b, const struct rate *r)
{
	printf("{\"data_bytes\": %zu, \"files\": %" PRIu64 ", ", b->len,
	    b->files);
	for (int i = 0; i < ST_N; i++) {
		const char *k = stages[i].key;

		printf("\"%s_mb_s\": %.1f, \"%s_wall_mb_s\": %.1f, "
		    "\"%s_cpu_s\": %.3f, \"%s_bytes\": %" PRIu64 ", ", k,
		    r[i].mbs, k, r[i].wall_mbs, k, r[i].cpu_s, k, r[i].bytes);
	}
	printf("\"chunks\": %" PRIu64 ", \"chunk_avg_bytes\": %.0f, "
	    "\"ingest_chunks\": %" PRIu64 ", \"ingest_chunk_avg_bytes\": %.0f, "
	    "\"zstd3_stored_ratio\": %.4f, "
	    "\"zstd3_ingest_stored_ratio\": %.4f, "
	    "\"ceiling_mb_s\": %.1f, \"ceiling_ingest_mb_s\": %.1f}\n",
	    b->chunks, b->chunks ? (double)b->len / b->chunks : 0.0,
	    b->ingest_chunks, b->ingest_chunks ?
	    (double)b->len / b->ingest_chunks : 0.0,
	    pct(b->stored, b->len) / 100, pct(b->ingest_stored, b->len) / 100,
	    combined(r[ST_SHA256].mbs, r[ST_ZSTD].mbs),
	    combined(r[ST_SHA256_INGEST].mbs, r[ST_ZSTD_INGEST].mbs));
}

static void
bench_setup(struct bench *b, int mib)
{
	struct err e;

	memset(b, 0, sizeof(*b));
	err_clear(&e);
	b->cap = (size_t)mib << 20;
	if ((b->buf = malloc(b->cap)) == NULL ||
	    (b->cbuf = malloc(codec_bound(CHUNKER_MAX_DEFAULT))) == NULL)
		die("buffer", "out of memory");
	if (chunker_init(&b->ck, CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT,
	    CHUNKER_MAX_DEFAULT) != 0)
		die("chunker", "default sizes rejected");
	if ((b->hash = hash_ctx_new(&e)) == NULL ||
	    (b->codec = codec_new(CODEC_LEVEL_DEFAULT, &e)) == NULL)
		die("setup", e.msg);
}

static void
bench_free(struct bench *b)
{
	hash_ctx_free(b->hash);
	codec_free(b->codec);
	free(b->offs);
	free(b->cbuf);
	free(b->buf);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct rate r[ST_N];
	struct bench b;
	double secs = BENCH_SECONDS_DEFAULT;
	int mib = BENCH_MIB_DEFAULT, json = 0, ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': mib = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'j': json = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (argc - optind != 1 || mib < 1 || mib > BENCH_MIB_MAX ||
	    !(secs > 0)) {
		fputs(usage_text, stderr);
		return 2;
	}

	bench_setup(&b, mib);
	load_dir(&b, argv[optind]);
	if (b.len == 0)
		die(argv[optind], "no file data to measure");
	for (int i = 0; i < ST_N; i++)
		measure(&b, stages[i].pass, secs, &r[i]);
	if (json)
		print_json(&b, r);
	else
		print_text(&b, argv[optind], mib, r);
	bench_free(&b);
	return 0;
}
