/*
 * bench-scale - the generator of tools/bench scale: a node with many files
 * and a catalog of many versions, built through the real protocol.
 *
 *   bench-scale tree DIR FILES [PER_DIR]
 *   bench-scale gen --server H:P --ca FILE --node NAME --fs /NAME
 *                   --paths P --versions V [--chunks N] [--chunk-kib K]
 *                   [--txn N]
 *
 * tree makes DIR/dNNNNN/fNNNNNNN, FILES empty regular files, PER_DIR
 * (default 1000) a directory: the real tree that the real client backs up
 * and then backs up again unchanged.  Empty files keep the tree's cost on
 * disk to its inodes; the incremental only compares what lstat says.
 *
 * gen logs on as the node (net_connect: TLS, HELLO, AUTH, as coffer does)
 * and sends, on filespace --fs, V object versions over P paths
 * (/NAME/dNNNNN/fNNNNNNN, 1000 a directory): generation g sends one
 * OBJ_PUT for every path, so each path ends with about V/P versions, the
 * newest active and the others inactive, exactly as V/P real backups of a
 * changing file would leave them.  The frames are the client's: FS_OPEN,
 * CHUNK_ASK (and CHUNK_PUT for the chunks the server says it needs),
 * OBJ_PUT with a recipe, TXN_COMMIT every --txn objects (default 4096, as
 * the client's BACKUP_TXN_OBJECTS), TXN_COMMIT FINAL at the end.  The pool
 * stays small: the first transaction holds --chunks distinct chunks
 * (default 1024, of --chunk-kib KiB each, default 16, pseudo-random and so
 * stored raw), and every version's recipe names one of them (generation
 * g of path p: chunk (p + g) mod N), so the server references, verifies
 * and counts every recipe as it would a real one, and audit container has
 * N chunks to read.  Each chunk is offered (CHUNK_ASK, then CHUNK_PUT if
 * needed) in the transaction of the first version that names it: as for
 * the client, a chunk is stored by the transaction that references it.
 *
 * The password comes from COFFER_PASSWORD.  It prints one JSON line:
 * versions and chunks sent, objects the server committed, failures, wall.
 * Exit 0 when every version was committed, 1 otherwise.
 */
#include "config.h"

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

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "net.h"
#include "proto.h"
#include "util.h"
#include "wire.h"

#define SCALE_PER_DIR		1000
#define SCALE_CHUNKS_DEFAULT	1024
#define SCALE_CHUNK_KIB_DEFAULT	16
#define SCALE_TXN_DEFAULT	4096
#define SCALE_OBJ_FILE		1	/* CAT_OBJ_FILE / CLIENT_OBJ_FILE */
#define SCALE_ACTIVE		1
#define SCALE_RECIPE_ENTRY	(HASH_LEN + 4)

static const char usage_text[] =
"usage: bench-scale tree DIR FILES [PER_DIR]\n"
"       bench-scale gen --server H:P --ca FILE --node NAME --fs /NAME\n"
"                       --paths P --versions V [--chunks N] [--chunk-kib K]\n"
"                       [--txn N]\n"
"(the password of gen in COFFER_PASSWORD; see the comment in bench-scale.c)\n";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tree ---- */

static int
make_tree(const char *dir, uint64_t files, uint64_t per_dir)
{
	char path[PATH_MAX];
	uint64_t i;
	int fd;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench-scale: mkdir %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	for (i = 0; i < files; i++) {
		if (i % per_dir == 0) {
			snprintf(path, sizeof(path), "%s/d%05" PRIu64, dir,
			    i / per_dir);
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				fprintf(stderr, "bench-scale: mkdir %s: %s\n",
				    path, strerror(errno));
				return 1;
			}
		}
		snprintf(path, sizeof(path), "%s/d%05" PRIu64 "/f%07" PRIu64,
		    dir, i / per_dir, i);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
			fprintf(stderr, "bench-scale: %s: %s\n", path,
			    strerror(errno));
			return 1;
		}
		close(fd);
	}
	printf("{\"files\": %" PRIu64 ", \"dirs\": %" PRIu64 "}\n", files,
	    (files + per_dir - 1) / per_dir + 1);
	return 0;
}

/* ---- gen ---- */

struct gen {
	struct net_conn	*c;
	uint64_t	 fs;
	uint32_t	 nchunks;
	size_t		 chunk_len;
	uint8_t		(*hash)[HASH_LEN];	/* of every chunk */
	uint8_t		*sent;			/* chunk i offered: bit i */
	uint32_t	*todo;			/* chunks for this transaction */
	uint64_t	 committed;		/* TXN_OK objects */
	uint64_t	 failed;
	uint64_t	 chunks_sent;
	uint64_t	 bytes_stored;
	char		 first_fail[8200];
};

/* Chunk i's bytes: xorshift64 from a seed of i, never compressible. */
static void
chunk_fill(uint8_t *p, size_t n, uint32_t i)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1) ^ 0x5ca1ab1eull;

	for (size_t k = 0; k < n; k += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (size_t j = 0; j < 8 && k + j < n; j++)
			p[k + j] = (uint8_t)(x >> (8 * j));
	}
}

static int
fs_open(struct gen *g, const char *fs, struct err *e)
{
	struct wire_buf b;
	struct wire_rd rd;
	int r;

	wire_buf_init(&b, WIRE_STR_MAX + 64);
	wire_put_str(&b, fs);
	wire_put_str(&b, "ext4");
	r = net_call(g->c, PT_FS_OPEN, &b, PT_FS_OK, &rd, e);
	wire_buf_free(&b);
	if (r == 0 && ((r = wire_get_u64(&rd, &g->fs, e)) != 0 ||
	    (r = wire_rd_end(&rd, e)) != 0))
		r = err_wrap(e, "FS_OK");
	return r;
}

/* TXN_OK: u32 objects, u64 bytes, u32 nfailed, the failures listed. */
static int
on_txn_ok(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct gen *g = arg;
	uint32_t objects, nfailed, i;
	uint64_t bytes;
	char path[4096], why[4096];
	int r;

	(void)type;
	if ((r = wire_get_u32(rd, &objects, e)) != 0 ||
	    (r = wire_get_u64(rd, &bytes, e)) != 0 ||
	    (r = wire_get_u32(rd, &nfailed, e)) != 0)
		return err_wrap(e, "TXN_OK");
	g->committed += objects;
	g->bytes_stored += bytes;
	g->failed += nfailed;
	for (i = 0; i < nfailed && i < PROTO_FAILED_MAX; i++) {
		if ((r = wire_get_str(rd, sizeof(path) - 1, path, sizeof(path), e)) != 0 ||
		    (r = wire_get_str(rd, sizeof(why) - 1, why, sizeof(why), e)) != 0)
			return err_wrap(e, "TXN_OK failure %u", i);
		if (g->first_fail[0] == '\0')
			snprintf(g->first_fail, sizeof(g->first_fail),
			    "%s: %s", path, why);
	}
	return 0;
}

static int
commit(struct gen *g, int final, struct err *e)
{
	struct wire_buf b;
	int r;

	wire_buf_init(&b, 16);
	wire_put_u64(&b, g->fs);
	wire_put_u8(&b, final ? PROTO_TXN_FINAL : 0);
	r = net_send(g->c, PT_TXN_COMMIT, &b, e);
	wire_buf_free(&b);
	if (r != 0 || (r = net_expect(g->c, PT_TXN_OK, 1, on_txn_ok, g, e)) != 0)
		return r;
	/* One commit in flight, as the client: the next one waits for it. */
	while (net_pending(g->c) > 1)
		if ((r = net_pump(g->c, e)) != 0)
			return r;
	return final ? net_pump_all(g->c, e) : 0;
}

static int
chunk_hashes(struct gen *g, struct err *e)
{
	struct hash_ctx *h;
	uint8_t *data;
	int r = 0;

	if ((h = hash_ctx_new(e)) == NULL)
		return e->code;
	if ((data = malloc(g->chunk_len)) == NULL) {
		hash_ctx_free(h);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < g->nchunks && r == 0; i++) {
		chunk_fill(data, g->chunk_len, i);
		if (hash_sha256(h, data, g->chunk_len, g->hash[i]) != 0)
			r = err_set(e, COFFER_EINTERNAL, "SHA-256 failed");
	}
	free(data);
	hash_ctx_free(h);
	return r;
}

/*
 * Offer chunks todo[0..n) (CHUNK_ASK in PROTO_CHUNK_BATCH batches) and
 * send, raw, those the server needs.  A chunk must be referenced in the
 * transaction that stores it, as the client's are: each transaction
 * offers the chunks its objects are the first to name (put_txn_chunks).
 */
static int
put_chunks(struct gen *g, const uint32_t *todo, uint32_t total,
    struct err *e)
{
	uint8_t *data = NULL, n4[4], head[HASH_LEN + 4 + 1 + 4];
	uint8_t bits[(PROTO_CHUNK_BATCH + 7) / 8];
	uint8_t (*ask)[HASH_LEN] = NULL;
	struct wire_rd rd;
	uint32_t n, got, i, k;
	int r;

	if ((data = malloc(g->chunk_len)) == NULL ||
	    (ask = malloc(PROTO_CHUNK_BATCH * sizeof(*ask))) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < total; i += n) {
		n = total - i < PROTO_CHUNK_BATCH ? total - i :
		    PROTO_CHUNK_BATCH;
		for (k = 0; k < n; k++)
			memcpy(ask[k], g->hash[todo[i + k]], HASH_LEN);
		util_put_le32(n4, n);
		if ((r = net_send_parts(g->c, PT_CHUNK_ASK, n4, sizeof(n4),
		    ask, (size_t)n * HASH_LEN, e)) != 0 ||
		    (r = net_pump_all(g->c, e)) != 0 ||
		    (r = net_recv_type(g->c, PT_CHUNK_NEED, &rd, e)) != 0 ||
		    (r = wire_get_u32(&rd, &got, e)) != 0)
			goto out;
		if (got != n || wire_rd_left(&rd) != (n + 7) / 8) {
			r = err_set(e, COFFER_EPROTO, "CHUNK_NEED answers %u "
			    "of %u hashes", got, n);
			goto out;
		}
		if ((r = wire_get_raw(&rd, bits, (n + 7) / 8, e)) != 0)
			goto out;
		for (k = 0; k < n; k++) {
			if (!(bits[k / 8] & (1u << (k % 8))))
				continue;
			chunk_fill(data, g->chunk_len, todo[i + k]);
			memcpy(head, ask[k], HASH_LEN);
			util_put_le32(head + HASH_LEN, (uint32_t)g->chunk_len);
			head[HASH_LEN + 4] = CODEC_RAW;
			util_put_le32(head + HASH_LEN + 5,
			    (uint32_t)g->chunk_len);
			if ((r = net_send_parts(g->c, PT_CHUNK_PUT, head,
			    sizeof(head), data, g->chunk_len, e)) != 0)
				goto out;
			g->chunks_sent++;
		}
	}
	r = 0;
out:
	free(ask);
	free(data);
	return r;
}

/* The chunk of path p in generation gen. */
static uint32_t
chunk_of(const struct gen *g, uint64_t p, uint64_t gen)
{
	return (uint32_t)((p + gen) % g->nchunks);
}

/*
 * Before the transaction whose first version is (p, gen) and which holds
 * n versions: offer the chunks they name that no earlier one did.
 */
static int
put_txn_chunks(struct gen *g, uint64_t p, uint64_t gen, uint64_t paths,
    uint64_t n, struct err *e)
{
	uint32_t nt = 0;

	for (uint64_t k = 0; k < n; k++) {
		uint32_t const ci = chunk_of(g, p, gen);

		if (!(g->sent[ci / 8] & (1u << (ci % 8)))) {
			g->sent[ci / 8] |= (uint8_t)(1u << (ci % 8));
			g->todo[nt++] = ci;
			if (nt == g->nchunks)
				break;
		}
		if (++p == paths) {
			p = 0;
			gen++;
		}
	}
	return nt > 0 ? put_chunks(g, g->todo, nt, e) : 0;
}

static int
put_version(struct gen *g, struct wire_buf *b, const char *fsname,
    uint64_t p, uint64_t gen, int64_t base_ns, struct err *e)
{
	uint8_t rec[SCALE_RECIPE_ENTRY];
	char path[PATH_MAX];
	struct proto_obj po;
	uint32_t const ci = chunk_of(g, p, gen);
	int n;

	n = snprintf(path, sizeof(path), "%s/d%05" PRIu64 "/f%07" PRIu64,
	    strcmp(fsname, "/") == 0 ? "" : fsname, p / SCALE_PER_DIR, p);
	memcpy(rec, g->hash[ci], HASH_LEN);
	util_put_le32(rec + HASH_LEN, (uint32_t)g->chunk_len);
	memset(&po, 0, sizeof(po));
	po.type = SCALE_OBJ_FILE;
	po.state = SCALE_ACTIVE;
	po.path = path;
	po.path_len = (size_t)n;
	po.size = g->chunk_len;
	po.mode = 0100644;
	po.uid = 1000;
	po.gid = 1000;
	/* Each generation a later mtime: what made a real client send it. */
	po.mtime_ns = base_ns + (int64_t)gen * 1000000000;
	po.ctime_ns = po.mtime_ns;
	po.recipe = rec;
	po.recipe_len = sizeof(rec);
	wire_buf_reset(b);
	wire_put_u64(b, g->fs);
	proto_put_obj(b, &po, 1);
	return net_send(g->c, PT_OBJ_PUT, b, e);
}

struct gen_args {
	const char	*server, *ca, *node, *fs;
	uint64_t	 paths, versions, txn;
	uint32_t	 chunks, chunk_kib;
};

static int
gen_run(const struct gen_args *a)
{
	struct net_opts no = { a->server, a->ca, "bench-scale", 0 };
	const char *pw = getenv("COFFER_PASSWORD");
	struct gen g;
	struct wire_buf b;
	struct err e;
	uint64_t sent = 0, intxn = 0, gen, p;
	int64_t const base_ns = (int64_t)1700000000 * 1000000000;
	double t0 = now_s(), t_chunks;
	int r = 0;

	err_clear(&e);
	memset(&g, 0, sizeof(g));
	wire_buf_init(&b, WIRE_STR_MAX + 1024);
	if (pw == NULL || *pw == '\0') {
		fprintf(stderr, "bench-scale: set COFFER_PASSWORD to the "
		    "node's password\n");
		return 1;
	}
	g.nchunks = a->chunks;
	g.chunk_len = (size_t)a->chunk_kib << 10;
	if ((g.hash = calloc(g.nchunks, sizeof(*g.hash))) == NULL ||
	    (g.sent = calloc((g.nchunks + 7) / 8, 1)) == NULL ||
	    (g.todo = calloc(g.nchunks, sizeof(*g.todo))) == NULL) {
		fprintf(stderr, "bench-scale: out of memory\n");
		return 1;
	}
	if ((g.c = net_connect(&no, PROTO_KIND_NODE, a->node, pw, &e)) == NULL ||
	    (r = fs_open(&g, a->fs, &e)) != 0 || (r = chunk_hashes(&g, &e)) != 0)
		goto fail;
	t_chunks = now_s() - t0;
	for (gen = 0; sent < a->versions; gen++) {
		for (p = 0; p < a->paths && sent < a->versions; p++) {
			if (intxn == 0 && (r = put_txn_chunks(&g, p, gen,
			    a->paths, a->versions - sent < a->txn ?
			    a->versions - sent : a->txn, &e)) != 0)
				goto fail;
			if ((r = put_version(&g, &b, a->fs, p, gen, base_ns,
			    &e)) != 0)
				goto fail;
			sent++;
			if (++intxn == a->txn) {
				if ((r = commit(&g, 0, &e)) != 0)
					goto fail;
				intxn = 0;
			}
		}
	}
	if ((r = commit(&g, 1, &e)) != 0)
		goto fail;
	printf("{\"paths\": %" PRIu64 ", \"versions_sent\": %" PRIu64
	    ", \"generations\": %" PRIu64 ", \"committed\": %" PRIu64
	    ", \"failed\": %" PRIu64 ", \"chunks\": %u, \"chunks_sent\": %"
	    PRIu64 ", \"bytes_stored\": %" PRIu64 ", \"hash_s\": %.3f"
	    ", \"wall_s\": %.3f, \"wire_bytes\": %" PRIu64 "}\n", a->paths,
	    sent, gen, g.committed, g.failed, g.nchunks, g.chunks_sent,
	    g.bytes_stored, t_chunks, now_s() - t0, net_bytes_out(g.c));
	if (g.failed > 0)
		fprintf(stderr, "bench-scale: %" PRIu64 " versions failed, "
		    "the first: %s\n", g.failed, g.first_fail);
	net_close(g.c);
	wire_buf_free(&b);
	free(g.todo);
	free(g.sent);
	free(g.hash);
	return g.failed == 0 && g.committed == sent ? 0 : 1;
fail:
	fprintf(stderr, "bench-scale: %s\n", e.msg);
	net_close(g.c);
	wire_buf_free(&b);
	free(g.todo);
	free(g.sent);
	free(g.hash);
	return 1;
}

static int
num(const char *s, const char *what, uint64_t lo, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo) {
		fprintf(stderr, "bench-scale: %s: '%s' is not a number of at "
		    "least %" PRIu64 "\n", what, s, lo);
		return -1;
	}
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'a' },
		{ "node", required_argument, NULL, 'n' },
		{ "fs", required_argument, NULL, 'f' },
		{ "paths", required_argument, NULL, 'p' },
		{ "versions", required_argument, NULL, 'v' },
		{ "chunks", required_argument, NULL, 'c' },
		{ "chunk-kib", required_argument, NULL, 'k' },
		{ "txn", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct gen_args a = { NULL, NULL, NULL, NULL, 0, 0, SCALE_TXN_DEFAULT,
	    SCALE_CHUNKS_DEFAULT, SCALE_CHUNK_KIB_DEFAULT };
	uint64_t v, files, per_dir = SCALE_PER_DIR;
	int ch;

	if (argc >= 2 && strcmp(argv[1], "tree") == 0) {
		if ((argc != 4 && argc != 5) ||
		    num(argv[3], "FILES", 1, &files) != 0 ||
		    (argc == 5 && num(argv[4], "PER_DIR", 1, &per_dir) != 0)) {
			fputs(usage_text, stderr);
			return 2;
		}
		return make_tree(argv[2], files, per_dir);
	}
	if (argc < 2 || strcmp(argv[1], "gen") != 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': a.server = optarg; break;
		case 'a': a.ca = optarg; break;
		case 'n': a.node = optarg; break;
		case 'f': a.fs = optarg; break;
		case 'p':
			if (num(optarg, "--paths", 1, &a.paths) != 0)
				return 2;
			break;
		case 'v':
			if (num(optarg, "--versions", 1, &a.versions) != 0)
				return 2;
			break;
		case 'c':
			if (num(optarg, "--chunks", 1, &v) != 0 || v > 1u << 24)
				return 2;
			a.chunks = (uint32_t)v;
			break;
		case 'k':
			if (num(optarg, "--chunk-kib", 1, &v) != 0 || v > 1024)
				return 2;
			a.chunk_kib = (uint32_t)v;
			break;
		case 't':
			if (num(optarg, "--txn", 1, &a.txn) != 0)
				return 2;
			break;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc || a.server == NULL || a.ca == NULL ||
	    a.node == NULL || a.fs == NULL || a.fs[0] != '/' || a.paths == 0 ||
	    a.versions == 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	return gen_run(&a);
}
