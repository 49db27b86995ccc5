/*
 * backup.c - incremental and selective backup (see backup.h).
 *
 * Everything runs on one thread except hashing and compression, which
 * the ingest workers do.  Objects of every kind (files, directories,
 * links, metadata updates, deletions) pass through the ingest pipeline,
 * files with their bytes and the others as empty objects, so the sink
 * sees them in walk order and the transaction cut falls between objects.
 *
 * Invariants:
 *   (1) An OBJ_PUT is sent only when every CHUNK_ASK batch that holds one
 *       of its chunks has been answered and the needed chunks sent: the
 *       server must find each referenced chunk present or pinned.
 *   (2) A hash is asked at most once per transaction: the server pins
 *       what it said it has, and what we sent is in its transaction, until
 *       TXN_COMMIT.  The asked set is emptied at each commit.
 *   (3) Objects leave the queue in the order they were finished, so the
 *       server's view follows the walk.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "chunker.h"
#include "client.h"
#include "codec.h"
#include "err.h"
#include "fault.h"
#include "hset.h"
#include "ingest.h"
#include "linktab.h"
#include "merge.h"
#include "net.h"
#include "opt.h"
#include "pool_recipe.h"
#include "progress.h"
#include "proto.h"
#include "util.h"
#include "vm_seg.h"
#include "vm_source.h"
#include "walk.h"
#include "walk_ahead.h"
#include "wire.h"

#define OP_PUT	1
#define OP_META	2
#define OP_GONE	3

/* One object on its way to the server. */
struct bobj {
	int			 op;
	uint8_t			 type;
	char			*path;
	size_t			 path_len;
	char			*link;
	size_t			 link_len;
	uint64_t		 size;
	uint32_t		 mode, uid, gid;
	int64_t			 mtime_ns, ctime_ns;
	struct pool_recipe	 rec;
	uint64_t		 need;	/* batch that must be answered first */
	const char		*fail;	/* drop it, counted failed, for this */
	int			 cont;	/* a disk's further segment: counted
					   with the disk, not as an object */
	/* A file waiting in the read-ahead queue (its data not read yet). */
	int			 fd;	/* open, or -1 */
	int			 learn;	/* learn_previous() before reading */
	uint64_t		 ahead;	/* bytes asked of the kernel */
	/* The read-ahead queue, then (after sink_end) the send queue. */
	struct bobj		*next;
};

/* One CHUNK_ASK: the hashes and the stored bytes waiting for the answer. */
struct batch {
	uint64_t	 seq;
	uint32_t	 n;
	uint8_t		 hash[PROTO_CHUNK_BATCH][HASH_LEN];
	uint32_t	 raw_len[PROTO_CHUNK_BATCH];
	uint8_t		 codec[PROTO_CHUNK_BATCH];
	size_t		 off[PROTO_CHUNK_BATCH];
	uint32_t	 len[PROTO_CHUNK_BATCH];
	uint8_t		*data;
	size_t		 data_len, data_cap;
	struct batch	*next;
};

/* A copy of one INV_PAGE, decoded. */
#define PAGE_EMPTY	0
#define PAGE_ASKED	1
#define PAGE_READY	2

struct inv_page {
	int			 state;
	int			 more;
	uint8_t			*buf;
	size_t			 cap;
	struct proto_obj	*objs;
	size_t			 n, objs_cap;
	struct err		*e;
	struct bk		*bk;
};

/*
 * Pages start small and double: a walk of a small subtree of a large
 * filespace should not fetch thousands of entries it will never use.
 */
#define INV_LIMIT_FIRST	128

struct inv {
	struct inv_page	 pg[2];
	int		 cur;
	size_t		 pos;
	int		 stop;		/* past the subtree: ask no more */
	uint32_t	 limit;		/* of the next INV_GET */
};

struct bk {
	struct net_conn			*c;
	const struct backup_params	*p;
	struct backup_stats		*st;
	struct ingest			*ig;
	uint64_t			 fs;
	int				 fatal;

	struct hset			 asked;	/* hash -> batch seq, (2) */
	uint64_t			 stage_bytes;	/* a VM version's parts;
							   0: one commit */
	/*
	 * Chunks of the previous versions of changed large files: the
	 * server holds them, so the workers hash them but do not compress
	 * them (sink_has).  Read by the workers, hence the lock.
	 */
	struct hset			 known;
	pthread_rwlock_t		 known_lock;
	struct codec			*codec;	/* late compression, on_need */
	uint8_t				*cbuf;	/* compressing late chunks */
	size_t				 cbuf_cap;
	struct batch			*open;
	struct batch			*out_head, *out_tail, *spare;
	int				 nout;
	uint64_t			 open_seq, resolved_seq;

	struct bobj			*q_head, *q_tail;	/* (3) */
	struct bobj			*ra_head, *ra_tail;	/* (3) */
	size_t				 ra_n, ra_files, ra_max;
	uint64_t			 ra_bytes;
	uint64_t			 txn_bytes, txn_objects;
	int				 atomic;	/* one txn: a VM */
	uint32_t			 ok_objects;	/* last TXN_OK */
	uint32_t			 ok_failed;

	struct linktab			 links;	/* (dev, ino) -> first path */

	char				**keep;	/* not looked at: no GONE */
	size_t				 nkeep, keep_cap;

	struct inv			 inv;
	struct walk_ahead		*wa;
	struct wire_buf			 wb;
	struct progress			 pg;
};

static void
say(struct bk *bk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct bk *bk, const char *fmt, ...)
{
	FILE *f = bk->p->log ? bk->p->log : stderr;
	va_list ap;

	progress_done(&bk->pg);
	fputs("coffer: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static int64_t
ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ---- objects ---- */

static void
bobj_free(struct bobj *o)
{
	if (o == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	pool_recipe_free(&o->rec);
	free(o->path);
	free(o->link);
	free(o);
}

static struct bobj *
bobj_new(int op, const char *path, size_t len, struct err *e)
{
	struct bobj *o;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->path = malloc(len + 1)) == NULL) {
		free(o);
		err_set(e, COFFER_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(o->path, path, len);
	o->path[len] = '\0';
	o->path_len = len;
	o->op = op;
	o->fd = -1;
	pool_recipe_init(&o->rec);
	return o;
}

static void
bobj_set_stat(struct bobj *o, int type, const struct stat *st)
{
	o->type = (uint8_t)type;
	o->size = type == CLIENT_OBJ_DIR ? 0 : (uint64_t)st->st_size;
	o->mode = st->st_mode;
	o->uid = st->st_uid;
	o->gid = st->st_gid;
	o->mtime_ns = ts_ns(&st->st_mtim);
	o->ctime_ns = ts_ns(&st->st_ctim);
}

static int
bobj_set_link(struct bobj *o, const char *link, size_t len, struct err *e)
{
	if ((o->link = malloc(len + 1)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	memcpy(o->link, link, len);
	o->link[len] = '\0';
	o->link_len = len;
	return 0;
}

static int
send_obj(struct bk *bk, struct bobj *o, struct err *e)
{
	struct wire_buf *b = &bk->wb;
	struct proto_obj po;
	int r;

	wire_buf_reset(b);
	wire_put_u64(b, bk->fs);
	if (o->op == OP_PUT) {
		memset(&po, 0, sizeof(po));
		po.type = o->type;
		po.state = CLIENT_ACTIVE;
		po.path = o->path;
		po.path_len = o->path_len;
		po.size = o->size;
		po.mode = o->mode;
		po.uid = o->uid;
		po.gid = o->gid;
		po.mtime_ns = o->mtime_ns;
		po.ctime_ns = o->ctime_ns;
		po.link = o->link;
		po.link_len = o->link_len;
		po.recipe = o->rec.p;
		po.recipe_len = o->rec.len;
		proto_put_obj(b, &po, 1);
	} else {
		wire_put_bytes(b, o->path, o->path_len);
		if (o->op == OP_META) {
			wire_put_u32(b, o->mode);
			wire_put_u32(b, o->uid);
			wire_put_u32(b, o->gid);
			wire_put_u64(b, (uint64_t)o->ctime_ns);
		}
	}
	/* Recipes over PROTO_RECIPE_MAX were failed in sink_end already. */
	if (wire_buf_ok(b, NULL) != 0) {
		say(bk, "%s: too large to describe in one object (%zu recipe "
		    "bytes); not backed up", o->path, o->rec.len);
		bk->st->failed++;
		return 0;
	}
	r = net_send(bk->c, o->op == OP_PUT ? PT_OBJ_PUT : o->op == OP_META ?
	    PT_OBJ_META : PT_OBJ_GONE, b, e);
	if (r != 0)
		return r;
	if (o->op == OP_PUT)
		bk->st->backed_up += !o->cont;
	else if (o->op == OP_META)
		bk->st->updated++;
	else
		bk->st->deleted++;
	return 0;
}

/* Send the objects whose chunks are all settled, in order (1), (3). */
static int
release(struct bk *bk, struct err *e)
{
	int r;

	while (bk->q_head != NULL && bk->q_head->need <= bk->resolved_seq) {
		struct bobj *o = bk->q_head;

		bk->q_head = o->next;
		if (bk->q_head == NULL)
			bk->q_tail = NULL;
		r = send_obj(bk, o, e);
		bobj_free(o);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- chunk batches ---- */

static struct batch *
batch_get(struct bk *bk, struct err *e)
{
	struct batch *b = bk->spare;

	if (b != NULL) {
		bk->spare = b->next;
	} else if ((b = calloc(1, sizeof(*b))) == NULL) {
		err_set(e, COFFER_ENOMEM, "out of memory");
		return NULL;
	}
	b->n = 0;
	b->data_len = 0;
	b->next = NULL;
	b->seq = ++bk->open_seq;
	return b;
}

static void
batch_put(struct bk *bk, struct batch *b)
{
	b->next = bk->spare;
	bk->spare = b;
}

static void
batch_free_list(struct batch *b)
{
	while (b != NULL) {
		struct batch *n = b->next;

		free(b->data);
		free(b);
		b = n;
	}
}

/* CHUNK_NEED for the oldest outstanding batch: send what is missing. */
/*
 * Room for n bytes in cbuf.  Grown on demand: a chunk the server was
 * expected to hold but lacks is rare, and each is at most one chunk.
 */
static int
cbuf_fit(struct bk *bk, size_t n, struct err *e)
{
	uint8_t *nb;

	if (n <= bk->cbuf_cap)
		return 0;
	if ((nb = realloc(bk->cbuf, n)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	bk->cbuf = nb;
	bk->cbuf_cap = n;
	return 0;
}

static int
on_need(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct bk *bk = arg;
	struct batch *b = bk->out_head;
	const uint8_t *bits;
	uint32_t n;
	int r;

	(void)type;
	if (b == NULL)
		return err_set(e, COFFER_EINTERNAL, "CHUNK_NEED without batch");
	if ((r = wire_get_u32(rd, &n, e)) != 0)
		return r;
	if (n != b->n || wire_rd_left(rd) != (n + 7) / 8)
		return err_set(e, COFFER_EPROTO, "CHUNK_NEED answers %u hashes "
		    "in %zu bytes, %u were asked", n, wire_rd_left(rd), b->n);
	bits = rd->p + rd->off;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t head[HASH_LEN + 4 + 1 + 4];
		const uint8_t *data = b->data + b->off[i];
		size_t len = b->len[i];
		uint8_t codec = b->codec[i];

		if (!(bits[i / 8] & (1u << (i % 8))))
			continue;
		if (codec == 0 && len == 0 && b->raw_len[i] > 0)
			return err_set(e, COFFER_ECORRUPT, "the server lacks a "
			    "block of the previous version that this "
			    "incremental VM backup names");
		if (codec == 0) {
			/* Expected on the server, but it lacks it after all. */
			if ((r = cbuf_fit(bk, codec_bound(len), e)) != 0 ||
			    (r = codec_encode(bk->codec, data, len, bk->cbuf,
			    bk->cbuf_cap, &len, &codec, e)) != 0)
				return r;
			data = bk->cbuf;
		}
		memcpy(head, b->hash[i], HASH_LEN);
		util_put_le32(head + HASH_LEN, b->raw_len[i]);
		head[HASH_LEN + 4] = codec;
		util_put_le32(head + HASH_LEN + 5, (uint32_t)len);
		if ((r = net_send_parts(bk->c, PT_CHUNK_PUT, head,
		    sizeof(head), data, len, e)) != 0)
			return r;
		bk->st->chunks_sent++;
		bk->st->bytes_sent += len;
	}
	bk->out_head = b->next;
	if (bk->out_head == NULL)
		bk->out_tail = NULL;
	bk->nout--;
	bk->resolved_seq = b->seq;
	batch_put(bk, b);
	return release(bk, e);
}

/* Ask about the open batch and start a new one. */
static int
batch_send(struct bk *bk, struct err *e)
{
	struct batch *b = bk->open;
	uint8_t n4[4];
	int r;

	if (b == NULL || b->n == 0)
		return 0;
	util_put_le32(n4, b->n);
	if ((r = net_send_parts(bk->c, PT_CHUNK_ASK, n4, sizeof(n4), b->hash,
	    (size_t)b->n * HASH_LEN, e)) != 0 ||
	    (r = net_expect(bk->c, PT_CHUNK_NEED, 1, on_need, bk, e)) != 0)
		return r;
	bk->st->chunks_asked += b->n;
	if (bk->out_tail != NULL)
		bk->out_tail->next = b;
	else
		bk->out_head = b;
	bk->out_tail = b;
	b->next = NULL;
	bk->nout++;
	bk->open = NULL;
	/*
	 * Bounded memory: wait for answers beyond the window first, so the
	 * next open batch reuses an answered one.
	 */
	while (bk->nout > BACKUP_BATCHES_OUT)
		if ((r = net_pump(bk->c, e)) != 0)
			return r;
	if ((bk->open = batch_get(bk, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	return 0;
}

static int
batch_add(struct bk *bk, const struct ingest_chunk *c, struct err *e)
{
	struct batch *b = bk->open;
	uint32_t const i = b->n;
	/*
	 * A known chunk was not compressed: keep its raw bytes (codec 0).
	 * One named from the previous version (ingest_known) has none.
	 */
	const uint8_t *data = c->stored ? c->stored : c->raw;
	uint32_t const len = c->stored ? c->stored_len : c->raw ?
	    c->raw_len : 0;

	if (b->data_len + len > b->data_cap) {
		/* One allocation per batch: the limit and one more chunk. */
		size_t ncap = BACKUP_BATCH_BYTES +
		    codec_bound(CHUNKER_MAX_DEFAULT);
		uint8_t *np;

		if (ncap < b->data_len + len)
			ncap = b->data_len + len;
		if ((np = realloc(b->data, ncap)) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		b->data = np;
		b->data_cap = ncap;
	}
	memcpy(b->hash[i], c->hash, HASH_LEN);
	b->raw_len[i] = c->raw_len;
	b->codec[i] = c->stored ? c->codec : 0;
	b->off[i] = b->data_len;
	b->len[i] = len;
	if (len > 0)
		memcpy(b->data + b->data_len, data, len);
	b->data_len += len;
	b->n++;
	if (b->n == PROTO_CHUNK_BATCH || b->data_len >= BACKUP_BATCH_BYTES)
		return batch_send(bk, e);
	return 0;
}

/* ---- transactions ---- */

static int
on_txn_ok(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct bk *bk = arg;
	char path[WIRE_STR_MAX + 1], why[WIRE_STR_MAX + 1];
	uint32_t objects, nfailed;
	uint64_t stored;
	int r;

	(void)type;
	if ((r = wire_get_u32(rd, &objects, e)) != 0 ||
	    (r = wire_get_u64(rd, &stored, e)) != 0 ||
	    (r = wire_get_u32(rd, &nfailed, e)) != 0)
		return err_wrap(e, "TXN_OK");
	bk->st->bytes_stored += stored;
	bk->ok_objects = objects;
	bk->ok_failed = nfailed;
	for (uint32_t i = 0; i < nfailed; i++) {
		if ((r = wire_get_str(rd, WIRE_STR_MAX, path, sizeof(path),
		    e)) != 0 || (r = wire_get_str(rd, WIRE_STR_MAX, why,
		    sizeof(why), e)) != 0)
			return err_wrap(e, "TXN_OK");
		say(bk, "%s: the server refused it: %s", path, why);
	}
	bk->st->failed += nfailed;
	return 0;
}

/* Wait for every batch's answer, so every object can go (1). */
static int
settle(struct bk *bk, struct err *e)
{
	int r;

	if ((r = batch_send(bk, e)) != 0)
		return r;
	while (bk->nout > 0)
		if ((r = net_pump(bk->c, e)) != 0)
			return r;
	return release(bk, e);
}

static int
commit(struct bk *bk, int final, struct err *e)
{
	struct wire_buf b;
	uint8_t const flags = (uint8_t)((final ? PROTO_TXN_FINAL : 0) |
	    (bk->atomic ? PROTO_TXN_ATOMIC : 0) |
	    (bk->atomic && !final && bk->stage_bytes > 0 ? PROTO_TXN_STAGE :
	    0));
	int r;

	if ((r = settle(bk, e)) != 0)
		return r;
	if (bk->q_head != NULL)
		return err_set(e, COFFER_EINTERNAL, "objects left unsent at "
		    "commit");
	wire_buf_init(&b, 16);
	wire_put_u64(&b, bk->fs);
	wire_put_u8(&b, flags);
	r = net_send(bk->c, PT_TXN_COMMIT, &b, e);
	wire_buf_free(&b);
	if (r != 0 || (r = net_expect(bk->c, PT_TXN_OK, 1, on_txn_ok, bk,
	    e)) != 0)
		return r;
	/* Tests kill the client here: a VM version left half sent. */
	if (flags & PROTO_TXN_STAGE) {
		(void)net_flush(bk->c, NULL);
		FAULT_POINT("client.vm.part");
	}
	/*
	 * The answer is not waited for, except at the end: the server syncs
	 * its pool while we read and compress the next files.  Frames after
	 * TXN_COMMIT belong to the next transaction, so (2) starts afresh.
	 */
	if (final && (r = net_pump_all(bk->c, e)) != 0)
		return r;
	hset_free(&bk->asked);		/* (2) */
	bk->txn_bytes = bk->txn_objects = 0;
	return 0;
}

/* ---- the ingest sink ---- */

/* On the ingest workers: skip compressing what the server surely has. */
static int
sink_has(void *arg, const uint8_t hash[HASH_LEN])
{
	struct bk *bk = arg;
	int r;

	pthread_rwlock_rdlock(&bk->known_lock);
	r = hset_get(&bk->known, hash) != NULL;
	pthread_rwlock_unlock(&bk->known_lock);
	return r;
}

/*
 * Before a changed large file is read, learn its previous version's
 * chunks: an image or a log that changed in a few places is mostly
 * chunks the server has, and compressing them again would be the
 * backup's largest cost.  A failure here only costs time.
 */
static int
learn_previous(struct bk *bk, const char *path, size_t path_len,
    uint8_t **keep, size_t *keep_len, struct err *e)
{
	struct wire_buf b;
	struct wire_rd rd;
	const uint8_t *rec;
	size_t len, n = 0;
	int r;

	wire_buf_init(&b, WIRE_STR_MAX + 64);
	wire_put_u64(&b, bk->fs);
	wire_put_bytes(&b, path, path_len);
	r = net_call(bk->c, PT_OBJ_RECIPE, &b, PT_OBJ_RECIPE_OK, &rd, e);
	wire_buf_free(&b);
	if (r != 0)
		return r;
	if (wire_get_bytes(&rd, PROTO_RECIPE_MAX, &rec, &len, NULL) != 0 ||
	    pool_recipe_count(rec, len, &n, NULL) != 0)
		return 0;
	if (keep != NULL && len > 0 && (*keep = malloc(len)) != NULL) {
		memcpy(*keep, rec, len);
		*keep_len = len;
	}
	pthread_rwlock_wrlock(&bk->known_lock);
	if (bk->known.n + n > BACKUP_KNOWN_MAX)
		hset_free(&bk->known);	/* bounded: forget older files */
	for (size_t i = 0; i < n; i++)
		if (!pool_recipe_is_zero(rec, i) &&
		    hset_put(&bk->known, pool_recipe_hash(rec, i), NULL) == NULL)
			break;
	pthread_rwlock_unlock(&bk->known_lock);
	return 0;
}

static int
sink_put(void *arg, void *cookie, const struct ingest_chunk *c,
    struct err *e)
{
	struct bk *bk = arg;
	struct bobj *o = cookie;
	struct hset_slot *s;
	int added = 0, r;

	if (c->zero)
		r = pool_recipe_add(&o->rec, NULL, c->raw_len, e);
	else
		r = pool_recipe_add(&o->rec, c->hash, c->raw_len, e);
	if (r != 0)
		goto fatal;
	if (c->zero)
		return 0;
	if ((s = hset_put(&bk->asked, c->hash, &added)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto fatal;
	}
	if (!added) {
		/* Asked before in this transaction (2). */
		if ((uint64_t)s->val > bk->resolved_seq &&
		    (uint64_t)s->val > o->need)
			o->need = (uint64_t)s->val;
		return 0;
	}
	s->val = (int64_t)bk->open->seq;
	o->need = bk->open->seq;
	if ((r = batch_add(bk, c, e)) != 0)
		goto fatal;
	return 0;
fatal:
	bk->fatal = 1;
	return r;
}

static int
sink_end(void *arg, void *cookie, struct err *e)
{
	struct bk *bk = arg;
	struct bobj *o = cookie;
	int r;

	/*
	 * Known now, not at the send: a VM version must not commit without
	 * a disk that could not be described (backup_vm then aborts it).
	 */
	if (o->fail == NULL && o->op == OP_PUT && o->rec.len > PROTO_RECIPE_MAX)
		o->fail = "too large to describe in one object (its recipe "
		    "exceeds 8 MiB)";
	if (o->fail != NULL) {
		say(bk, "%s: %s; not backed up", o->path, o->fail);
		bk->st->failed++;
		bobj_free(o);
		return 0;
	}
	if (o->op == OP_PUT && (o->type == CLIENT_OBJ_FILE ||
	    o->type == CLIENT_OBJ_VMDISK || o->type == CLIENT_OBJ_VMCONF))
		o->size = o->rec.raw_size;
	o->next = NULL;
	if (bk->q_tail != NULL)
		bk->q_tail->next = o;
	else
		bk->q_head = o;
	bk->q_tail = o;
	bk->txn_objects++;
	bk->txn_bytes += o->size;
	/*
	 * A VM version is all or nothing, whatever its size: committed in
	 * parts the server keeps unseen until the last (PROTO_TXN_STAGE),
	 * so that neither side holds a whole version's chunks and recipes.
	 */
	if ((r = release(bk, e)) == 0 && (bk->atomic ? bk->stage_bytes > 0 &&
	    bk->txn_bytes >= bk->stage_bytes : (bk->txn_bytes >=
	    BACKUP_TXN_BYTES || bk->txn_objects >= BACKUP_TXN_OBJECTS)))
		r = commit(bk, 0, e);
	if (r != 0)
		bk->fatal = 1;
	return r;
}

static void
sink_abort(void *arg, void *cookie)
{
	(void)arg;
	bobj_free(cookie);
}

/* ---- the inventory, read one page ahead ---- */

static int
on_inv_page(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct inv_page *pg = arg;
	size_t const len = wire_rd_left(rd);
	struct wire_rd r2;
	uint8_t more;
	uint32_t n;
	int r;

	(void)type;
	if (len > pg->cap) {
		uint8_t *np = realloc(pg->buf, len);

		if (np == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		pg->buf = np;
		pg->cap = len;
	}
	memcpy(pg->buf, rd->p + rd->off, len);
	wire_rd_init(&r2, pg->buf, len);
	if ((r = wire_get_u8(&r2, &more, e)) != 0 ||
	    (r = wire_get_u32(&r2, &n, e)) != 0)
		return err_wrap(e, "INV_PAGE");
	if (n > PROTO_PAGE_MAX)
		return err_set(e, COFFER_EPROTO, "INV_PAGE of %u objects", n);
	if (n > pg->objs_cap) {
		struct proto_obj *no = realloc(pg->objs, n * sizeof(*no));

		if (no == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		pg->objs = no;
		pg->objs_cap = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct proto_obj *o = &pg->objs[i];

		if ((r = proto_get_obj(&r2, &pg->objs[i], 0, e)) != 0)
			return err_wrap(e, "INV_PAGE object %u", i);
		/* The merge is only right if the order is: check it. */
		if (i > 0 && walk_pkey_cmp(pg->objs[i - 1].path,
		    pg->objs[i - 1].path_len, o->path, o->path_len) >= 0)
			return err_set(e, COFFER_EPROTO, "INV_PAGE is not in "
			    "path order at object %u (%.*s)", i,
			    (int)o->path_len, o->path);
	}
	if ((r = wire_rd_end(&r2, e)) != 0)
		return err_wrap(e, "INV_PAGE");
	pg->n = n;
	pg->more = more != 0;
	pg->state = PAGE_READY;
	return 0;
}

static int
inv_ask(struct bk *bk, struct inv_page *pg, const char *after, size_t alen,
    struct err *e)
{
	struct wire_buf *b = &bk->wb;
	int r;

	wire_buf_reset(b);
	wire_put_u64(b, bk->fs);
	wire_put_bytes(b, after, alen);
	wire_put_u32(b, bk->inv.limit);
	if (bk->inv.limit < PROTO_PAGE_MAX)
		bk->inv.limit *= 2;
	if ((r = net_send(bk->c, PT_INV_GET, b, e)) != 0 ||
	    (r = net_expect(bk->c, PT_INV_PAGE, 1, on_inv_page, pg, e)) != 0)
		return r;
	pg->state = PAGE_ASKED;
	return 0;
}

/*
 * Where to start the inventory for a walk of root: a path that sorts
 * just below root, so that little outside the subtree is sent.  Entries
 * before root are skipped anyway, so this only saves bytes.
 */
static size_t
inv_start_key(const char *root, size_t rlen, char *out, size_t outlen)
{
	unsigned char last;
	const char *slash;

	if (rlen <= 1 || rlen >= outlen)
		return 0;
	memcpy(out, root, rlen);
	last = (unsigned char)root[rlen - 1];
	if (last > 1 && last - 1 != '/') {
		out[rlen - 1] = (char)(last - 1);
		return rlen;
	}
	slash = strrchr(root, '/');
	return slash == root ? 0 : (size_t)(slash - root);
}

static int
inv_start(struct bk *bk, const char *root, size_t rlen, struct err *e)
{
	char key[PATH_MAX];
	size_t const klen = inv_start_key(root, rlen, key, sizeof(key));

	bk->inv.cur = 0;
	bk->inv.pos = 0;
	bk->inv.stop = 0;
	bk->inv.limit = INV_LIMIT_FIRST;
	bk->inv.pg[0].state = bk->inv.pg[1].state = PAGE_EMPTY;
	return inv_ask(bk, &bk->inv.pg[0], key, klen, e);
}

/* The current inventory entry, or NULL at the end. */
static int
inv_peek(struct bk *bk, const struct proto_obj **out, struct err *e)
{
	struct inv *inv = &bk->inv;
	int r;

	for (;;) {
		struct inv_page *pg = &inv->pg[inv->cur];
		struct inv_page *other = &inv->pg[inv->cur ^ 1];

		while (pg->state == PAGE_ASKED)
			if ((r = net_pump(bk->c, e)) != 0)
				return r;
		if (pg->state != PAGE_READY) {
			*out = NULL;
			return 0;
		}
		/* Read ahead as soon as this page is being used. */
		if (inv->pos == 0 && pg->more && !inv->stop && pg->n > 0 &&
		    other->state == PAGE_EMPTY) {
			const struct proto_obj *last = &pg->objs[pg->n - 1];

			if ((r = inv_ask(bk, other, last->path, last->path_len,
			    e)) != 0)
				return r;
		}
		if (inv->pos < pg->n) {
			*out = &pg->objs[inv->pos];
			return 0;
		}
		pg->state = PAGE_EMPTY;
		if (!pg->more || inv->stop || other->state == PAGE_EMPTY) {
			*out = NULL;
			return 0;
		}
		inv->cur ^= 1;
		inv->pos = 0;
	}
}

static void
inv_free(struct inv *inv)
{
	for (int i = 0; i < 2; i++) {
		free(inv->pg[i].buf);
		free(inv->pg[i].objs);
	}
	memset(inv, 0, sizeof(*inv));
}

/* ---- hard links ---- */

/*
 * The first path of this inode in this run, or NULL after recording path
 * as the first.
 */
static const char *
link_first(struct bk *bk, const struct stat *st, const char *path,
    struct err *e, int *r)
{
	const char *first;

	*r = linktab_put(&bk->links, (uint64_t)st->st_dev,
	    (uint64_t)st->st_ino, path, &first, e);
	return *r == 0 ? first : NULL;
}

/* ---- one path ---- */

/*
 * Disk images (by name) are cut into fixed blocks aligned to the image,
 * as the design says for VM disks: a guest's 64 KiB write then costs one
 * 64 KiB block, where content-defined chunks would cost several (the data
 * set's change: 1.9x the changed bytes instead of 13x at 256 KiB).
 */
static uint32_t
image_block(const char *path, size_t len)
{
	static const char *const ext[] = { ".raw", ".img", ".qcow2", ".vmdk",
	    ".vdi", ".vhd", ".vhdx" };

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t const n = strlen(ext[i]);

		if (len > n && strcasecmp(path + len - n, ext[i]) == 0)
			return BACKUP_IMAGE_BLOCK;
	}
	return 0;
}

/* ---- read-ahead: objects decided, their data not read yet ---- */

/*
 * The merge decides about each object before the pipeline takes it.  A
 * file to send is opened then, and the kernel is asked for its first
 * bytes (POSIX_FADV_WILLNEED) while the objects before it go through, so
 * that many reads are on their way to the disk at once.  Read one after
 * the other in walk order, cold small files cost a synchronous request
 * each: on the reference data set with an empty page cache, reading the
 * file tree took 8.0 s that way and 1.6 s with 64 files asked ahead.
 * Objects leave the queue in the order they entered it (3); the queue is
 * bounded in objects, files and bytes asked.
 */
#define RA_OBJECTS	256
#define RA_FILES	64
#define RA_BYTES	(32u << 20)
#define RA_FILE		(4u << 20)	/* asked of one file; the kernel's
					   own readahead follows the reads */

/*
 * Files kept open ahead: RA_FILES, or fewer under a low descriptor limit,
 * which the walk (a descriptor per directory level), the connection and
 * the program's own files share: half of what is left after RA_RESERVE.
 */
#define RA_RESERVE	32

static size_t
ra_max_files(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return RA_FILES;
	if (rl.rlim_cur <= RA_RESERVE)
		return 0;
	return (rl.rlim_cur - RA_RESERVE) / 2 < RA_FILES ?
	    (size_t)(rl.rlim_cur - RA_RESERVE) / 2 : RA_FILES;
}

/* Into the pipeline: an object without data. */
static int
pipe_obj(struct bk *bk, struct bobj *o, struct err *e)
{
	int r;

	if ((r = ingest_begin(bk->ig, o, e)) != 0) {
		bobj_free(o);
		return r;
	}
	return ingest_end(bk->ig, e);
}

/* Into the pipeline: a file's data, read now from o->fd (closed here). */
static int
pipe_file(struct bk *bk, struct bobj *o, struct err *e)
{
	int const fd = o->fd;
	uint64_t const size = o->size;
	int64_t const mtime_ns = o->mtime_ns;
	struct stat st2;
	uint64_t got = 0;
	struct err fe;
	int r;

	o->fd = -1;
	/* Tests stop the client here (COFFER_FAULT_SIGNAL=STOP), mid-backup. */
	FAULT_POINT("client.file");
	if (o->learn && (r = learn_previous(bk, o->path, o->path_len, NULL,
	    NULL, e)) != 0) {
		close(fd);
		bobj_free(o);
		return r;
	}
	err_clear(&fe);
	r = ingest_fd_fixed(bk->ig, fd, o, image_block(o->path, o->path_len),
	    &got, o->path, &fe);
	bk->st->bytes_inspected += got;
	progress_add(&bk->pg, 0, got);
	if (r != 0) {
		close(fd);
		if (bk->fatal || r == COFFER_ENOMEM) {
			if (e != NULL)
				*e = fe;
			return r;
		}
		/* A read error: ingest abandoned the object (sink_abort). */
		say(bk, "%s; not backed up", fe.msg);
		bk->st->failed++;
		return 0;
	}
	/* sink_end runs later, on a following ingest call: o is still ours. */
	if (fstat(fd, &st2) != 0 || got != size || (uint64_t)st2.st_size !=
	    size || ts_ns(&st2.st_mtim) != mtime_ns)
		o->fail = "changed while it was being read";
	close(fd);
	return 0;
}

/* The oldest object of the queue into the pipeline. */
static int
ra_next(struct bk *bk, struct err *e)
{
	struct bobj *o = bk->ra_head;

	if ((bk->ra_head = o->next) == NULL)
		bk->ra_tail = NULL;
	o->next = NULL;
	bk->ra_n--;
	if (o->fd < 0)
		return pipe_obj(bk, o, e);
	bk->ra_files--;
	bk->ra_bytes -= o->ahead;
	return pipe_file(bk, o, e);
}

/* Everything queued into the pipeline, in order. */
static int
ra_drain(struct bk *bk, struct err *e)
{
	int r;

	while (bk->ra_head != NULL)
		if ((r = ra_next(bk, e)) != 0)
			return r;
	return 0;
}

/* On an error: the queued objects are dropped, their files closed. */
static void
ra_free(struct bk *bk)
{
	while (bk->ra_head != NULL) {
		struct bobj *o = bk->ra_head;

		bk->ra_head = o->next;
		bobj_free(o);
	}
	bk->ra_tail = NULL;
	bk->ra_n = bk->ra_files = 0;
	bk->ra_bytes = 0;
}

/* Queue o (a file when o->fd >= 0), then keep the queue in its bounds. */
static int
ra_push(struct bk *bk, struct bobj *o, struct err *e)
{
	int r;

	o->next = NULL;
	if (bk->ra_tail != NULL)
		bk->ra_tail->next = o;
	else
		bk->ra_head = o;
	bk->ra_tail = o;
	bk->ra_n++;
	if (o->fd >= 0) {
		o->ahead = o->size < RA_FILE ? o->size : RA_FILE;
		/* Only a hint: a failure costs time, nothing else. */
		if (o->ahead > 0)
			(void)posix_fadvise(o->fd, 0, (off_t)o->ahead,
			    POSIX_FADV_WILLNEED);
		bk->ra_files++;
		bk->ra_bytes += o->ahead;
	}
	while (bk->ra_head != NULL && (bk->ra_n > RA_OBJECTS ||
	    bk->ra_files > bk->ra_max || bk->ra_bytes > RA_BYTES))
		if ((r = ra_next(bk, e)) != 0)
			return r;
	return 0;
}

/*
 * Hand an object without data to the pipeline, behind the files before:
 * at once when none wait (VM versions, whose disks do not queue).
 */
static int
submit(struct bk *bk, struct bobj *o, struct err *e)
{
	if (bk->ra_head != NULL)
		return ra_push(bk, o, e);
	return pipe_obj(bk, o, e);
}

/* Open a file to send and queue it; learn: its previous chunks first. */
static int
backup_file(struct bk *bk, const struct walk_ent *w, int learn,
    struct err *e)
{
	struct bobj *o = NULL;
	int const flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
	int fd, r;

	for (;;) {
		fd = w->dirfd >= 0 ? openat(w->dirfd, w->name, flags |
		    O_NOATIME) : open(w->path, flags | O_NOATIME);
		if (fd < 0 && errno == EPERM)	/* O_NOATIME needs ownership */
			fd = w->dirfd >= 0 ? openat(w->dirfd, w->name, flags) :
			    open(w->path, flags);
		/* A low descriptor limit: read queued files first. */
		if (fd >= 0 || errno != EMFILE || bk->ra_files == 0)
			break;
		while (bk->ra_head != NULL && bk->ra_files > 0)
			if ((r = ra_next(bk, e)) != 0)
				return r;
	}
	if (fd < 0) {
		say(bk, "%s: open: %s; not backed up", w->path,
		    strerror(errno));
		bk->st->failed++;
		return 0;
	}
	if ((o = bobj_new(OP_PUT, w->path, w->path_len, e)) == NULL) {
		close(fd);
		return e ? e->code : COFFER_ENOMEM;
	}
	bobj_set_stat(o, CLIENT_OBJ_FILE, &w->st);
	o->fd = fd;
	o->learn = learn;
	return ra_push(bk, o, e);
}

static int
object_type(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return CLIENT_OBJ_FILE;
	if (S_ISDIR(st->st_mode))
		return CLIENT_OBJ_DIR;
	if (S_ISLNK(st->st_mode))
		return CLIENT_OBJ_SYMLINK;
	return 0;
}

static int
send_gone(struct bk *bk, const char *path, size_t len, struct err *e)
{
	struct bobj *o = bobj_new(OP_GONE, path, len, e);

	if (o == NULL)
		return e ? e->code : COFFER_ENOMEM;
	return submit(bk, o, e);
}

static void
inv_attr(const struct proto_obj *v, struct merge_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->type = v->type;
	a->size = v->size;
	a->mtime_ns = v->mtime_ns;
	a->ctime_ns = v->ctime_ns;
	a->mode = v->mode;
	a->uid = v->uid;
	a->gid = v->gid;
	a->link = v->link;
	a->link_len = v->link ? v->link_len : 0;
}

/* One walked object against its active version v (or NULL). */
static int
process(struct bk *bk, const struct walk_ent *w, const struct proto_obj *v,
    struct err *e)
{
	struct merge_attr disk, inv;
	char target[PATH_MAX];
	const char *first = NULL;
	struct bobj *o;
	int type, action, r;

	bk->st->inspected++;
	progress_add(&bk->pg, 1, 0);
	if (w->err != 0) {
		say(bk, "%s: lstat: %s; not backed up", w->path,
		    strerror(w->err));
		bk->st->failed++;
		return 0;
	}
	if ((type = object_type(&w->st)) == 0) {
		/* Sockets, FIFOs and devices are not backed up. */
		return v != NULL ? send_gone(bk, v->path, v->path_len, e) : 0;
	}
	memset(&disk, 0, sizeof(disk));
	if (type == CLIENT_OBJ_FILE && w->st.st_nlink > 1) {
		first = link_first(bk, &w->st, w->path, e, &r);
		if (r != 0)
			return r;
		if (first != NULL) {
			type = CLIENT_OBJ_HARDLINK;
			disk.link = first;
			disk.link_len = strlen(first);
		}
	} else if (type == CLIENT_OBJ_SYMLINK) {
		ssize_t const n = w->dirfd >= 0 ? readlinkat(w->dirfd, w->name,
		    target, sizeof(target)) : readlink(w->path, target,
		    sizeof(target));

		if (n < 0 || (size_t)n >= sizeof(target)) {
			say(bk, "%s: readlink: %s; not backed up", w->path,
			    n < 0 ? strerror(errno) : "target too long");
			bk->st->failed++;
			return 0;
		}
		disk.link = target;
		disk.link_len = (size_t)n;
	}
	disk.type = type;
	disk.size = type == CLIENT_OBJ_DIR ? 0 : (uint64_t)w->st.st_size;
	disk.mtime_ns = ts_ns(&w->st.st_mtim);
	disk.ctime_ns = ts_ns(&w->st.st_ctim);
	disk.mode = w->st.st_mode;
	disk.uid = w->st.st_uid;
	disk.gid = w->st.st_gid;
	if (v != NULL)
		inv_attr(v, &inv);
	action = merge_decide(&disk, v ? &inv : NULL, bk->p->selective);
	if (action == MERGE_SKIP)
		return 0;
	if (action == MERGE_SEND && type == CLIENT_OBJ_FILE)
		return backup_file(bk, w, v != NULL && inv.type ==
		    CLIENT_OBJ_FILE && w->st.st_size >= BACKUP_LEARN_MIN, e);
	if ((o = bobj_new(action == MERGE_META ? OP_META : OP_PUT, w->path,
	    w->path_len, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	bobj_set_stat(o, type, &w->st);
	if (disk.link != NULL && (r = bobj_set_link(o, disk.link,
	    disk.link_len, e)) != 0) {
		bobj_free(o);
		return r;
	}
	return submit(bk, o, e);
}

/*
 * What the walk could not look at keeps its active versions: the server's
 * entries below w are not expired (they may well still be there).
 */
static int
keep_below(struct bk *bk, const struct walk_ent *w, struct err *e)
{
	char *p;

	if (bk->nkeep == bk->keep_cap) {
		size_t const ncap = bk->keep_cap ? bk->keep_cap * 2 : 8;
		char **nk = realloc(bk->keep, ncap * sizeof(*nk));

		if (nk == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		bk->keep = nk;
		bk->keep_cap = ncap;
	}
	if ((p = strdup(w->path)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	bk->keep[bk->nkeep++] = p;
	return 0;
}

/* 1 when path lies in something the walk could not look at. */
static int
kept(const struct bk *bk, const char *path, size_t len)
{
	for (size_t i = 0; i < bk->nkeep; i++)
		if (walk_under(bk->keep[i], strlen(bk->keep[i]), path, len))
			return 1;
	return 0;
}

static void
keep_clear(struct bk *bk)
{
	for (size_t i = 0; i < bk->nkeep; i++)
		free(bk->keep[i]);
	bk->nkeep = 0;
}

/* The next walk entry to merge, past excluded ones; NULL at the end. */
static int
walk_get(struct bk *bk, struct walk *wk, const struct walk_ent **out,
    struct err *e)
{
	const struct walk_ent *w;
	int r;

	for (;;) {
		if ((r = walk_next(wk, &w, e)) < 0)
			return r;
		if (r == 0) {
			*out = NULL;
			return 0;
		}
		walk_ahead_step(bk->wa);
		if (w->kind == WALK_DIR_ERR) {
			say(bk, "%s: cannot read directory: %s; its contents "
			    "are not backed up", w->path, strerror(w->err));
			bk->st->failed++;
			if ((r = keep_below(bk, w, e)) != 0)
				return r;
			continue;
		}
		if (w->err != 0 && (r = keep_below(bk, w, e)) != 0)
			return r;
		if (w->err == 0 && !opt_included(bk->p->opts, w->path)) {
			if (S_ISDIR(w->st.st_mode))
				walk_prune(wk);
			continue;
		}
		*out = w;
		return 0;
	}
}

/* The walk ahead's view of walk_get's pruning: excluded directories. */
static int
excluded_dir(void *arg, const char *path)
{
	const struct bk *bk = arg;

	return !opt_included(bk->p->opts, path);
}

/* Merge the walk of root with the inventory (none for selective). */
static int
merge_loop(struct bk *bk, const char *root, struct err *e)
{
	size_t const rlen = strlen(root);
	const struct walk_ent *w = NULL;
	const struct proto_obj *v = NULL;
	struct walk *wk;
	int const incr = !bk->p->selective;
	int r;

	if ((wk = walk_open(root, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	bk->wa = walk_ahead_start(root, excluded_dir, bk, 0);
	if (incr && (r = inv_start(bk, root, rlen, e)) != 0)
		goto out;
	if ((r = walk_get(bk, wk, &w, e)) != 0)
		goto out;
	for (;;) {
		int step;

		if (incr && v == NULL && !bk->inv.stop) {
			if ((r = inv_peek(bk, &v, e)) != 0)
				goto out;
			if (v == NULL)
				bk->inv.stop = 1;	/* inventory done */
			if (v != NULL && walk_pkey_cmp(v->path, v->path_len,
			    root, rlen) < 0) {
				bk->inv.pos++;	/* before the subtree */
				v = NULL;
				continue;
			}
			if (v != NULL && !walk_under(root, rlen, v->path,
			    v->path_len)) {
				bk->inv.stop = 1;	/* past it */
				v = NULL;
			}
		}
		if (w == NULL && v == NULL)
			break;
		step = merge_next(w ? w->path : NULL, w ? w->path_len : 0,
		    v ? v->path : NULL, v ? v->path_len : 0);
		if (step == MERGE_NEXT_INV) {
			/* Only on the server: gone, unless we could not see. */
			if (!kept(bk, v->path, v->path_len))
				r = send_gone(bk, v->path, v->path_len, e);
			bk->inv.pos++;
			v = NULL;
		} else {
			r = process(bk, w, step == MERGE_NEXT_BOTH ? v : NULL,
			    e);
			if (step == MERGE_NEXT_BOTH) {
				bk->inv.pos++;
				v = NULL;
			}
			if (r == 0)
				r = walk_get(bk, wk, &w, e);
		}
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	walk_ahead_stop(bk->wa);
	bk->wa = NULL;
	walk_close(wk);
	return r;
}

static int
fs_open(struct bk *bk, const char *fs, const char *type, struct err *e)
{
	struct wire_buf b;
	struct wire_rd rd;
	int r;

	wire_buf_init(&b, WIRE_STR_MAX + 64);
	wire_put_str(&b, fs);
	wire_put_str(&b, type);
	r = net_call(bk->c, PT_FS_OPEN, &b, PT_FS_OK, &rd, e);
	wire_buf_free(&b);
	if (r == 0 && ((r = wire_get_u64(&rd, &bk->fs, e)) != 0 ||
	    (r = wire_rd_end(&rd, e)) != 0))
		r = err_wrap(e, "FS_OK");
	return r;
}

static int
backup_path(struct bk *bk, const char *path, struct err *e)
{
	char abs[PATH_MAX], fs[PATH_MAX], type[32];
	struct err pe;
	int r;

	err_clear(&pe);
	if (walk_abspath(path, abs, sizeof(abs), &pe) != 0 ||
	    walk_filespace(abs, fs, sizeof(fs), type, sizeof(type), &pe) != 0) {
		say(bk, "%s; not backed up", pe.msg);
		bk->st->failed++;
		return 0;
	}
	keep_clear(bk);
	if ((r = fs_open(bk, fs, type, e)) != 0)
		return err_wrap(e, "filespace %s", fs);
	if ((r = merge_loop(bk, abs, e)) != 0 || (r = ra_drain(bk, e)) != 0)
		return r;
	if ((r = ingest_flush(bk->ig, e)) != 0)
		return r;
	return commit(bk, !bk->p->selective, e);
}

static void
bk_fini(struct bk *bk)
{
	ra_free(bk);
	ingest_free(bk->ig);
	while (bk->q_head != NULL) {
		struct bobj *o = bk->q_head;

		bk->q_head = o->next;
		bobj_free(o);
	}
	if (bk->open != NULL)
		batch_put(bk, bk->open);
	batch_free_list(bk->out_head);
	batch_free_list(bk->spare);
	hset_free(&bk->asked);
	hset_free(&bk->known);
	pthread_rwlock_destroy(&bk->known_lock);
	codec_free(bk->codec);
	free(bk->cbuf);
	linktab_free(&bk->links);
	keep_clear(bk);
	free(bk->keep);
	inv_free(&bk->inv);
	wire_buf_free(&bk->wb);
}

static int
bk_setup(struct bk *bk, struct net_conn *c, const struct backup_params *p,
    struct backup_stats *st, const char *label, struct err *e)
{
	struct ingest_params ip;
	struct ingest_sink sink;

	memset(bk, 0, sizeof(*bk));
	memset(st, 0, sizeof(*st));
	bk->c = c;
	bk->p = p;
	bk->st = st;
	hset_init(&bk->asked);
	hset_init(&bk->known);
	pthread_rwlock_init(&bk->known_lock, NULL);
	linktab_init(&bk->links);
	bk->ra_max = ra_max_files();
	wire_buf_init(&bk->wb, WIRE_FRAME_MAX);
	progress_init(&bk->pg, label, 0);
	if (!p->progress)
		bk->pg.enabled = 0;
	ingest_params_default(&ip);
	ip.threads = p->threads;
	if ((bk->codec = codec_new(ip.level, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	memset(&sink, 0, sizeof(sink));
	sink.has = sink_has;
	sink.put = sink_put;
	sink.object_end = sink_end;
	sink.object_abort = sink_abort;
	sink.arg = bk;
	if ((bk->ig = ingest_new(&ip, &sink, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	if ((bk->open = batch_get(bk, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	return 0;
}

int
backup_run(struct net_conn *c, const struct backup_params *p,
    char *const *paths, size_t npaths, struct backup_stats *st,
    struct err *e)
{
	struct bk bk;
	double const t0 = util_now();
	uint64_t const wire0 = net_bytes_out(c);
	int r;

	r = bk_setup(&bk, c, p, st, p->selective ? "Selective" : "Incremental",
	    e);
	for (size_t i = 0; i < npaths && r == 0; i++)
		r = backup_path(&bk, paths[i], e);
	progress_done(&bk.pg);
	bk_fini(&bk);
	st->wire_bytes = net_bytes_out(c) - wire0;
	st->elapsed_s = util_now() - t0;
	return r;
}

/* ---- VM versions ---- */

struct backup_sess {
	struct bk	 bk;
	double		 t0;
	uint64_t	 wire0;
};

int
backup_sess_open(struct net_conn *c, const struct backup_params *p,
    struct backup_stats *st, struct backup_sess **out, struct err *e)
{
	struct backup_sess *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	s->t0 = util_now();
	s->wire0 = net_bytes_out(c);
	if ((r = bk_setup(&s->bk, c, p, st, "Backup VM", e)) != 0) {
		bk_fini(&s->bk);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void
backup_sess_close(struct backup_sess *s)
{
	struct backup_stats *st;

	if (s == NULL)
		return;
	st = s->bk.st;
	progress_done(&s->bk.pg);
	st->wire_bytes = net_bytes_out(s->bk.c) - s->wire0;
	st->elapsed_s = util_now() - s->t0;
	bk_fini(&s->bk);
	free(s);
}

/*
 * The VM's active objects, in one page: a VM has a domain XML and a few
 * disks, so one INV_GET of PROTO_PAGE_MAX holds them all.
 */
static int
vm_inventory(struct bk *bk, struct err *e)
{
	struct inv_page *pg = &bk->inv.pg[0];
	int r;

	inv_free(&bk->inv);
	bk->inv.limit = PROTO_PAGE_MAX;
	if ((r = inv_ask(bk, pg, "", 0, e)) != 0)
		return r;
	while (pg->state == PAGE_ASKED)
		if ((r = net_pump(bk->c, e)) != 0)
			return r;
	if (pg->more)
		return err_set(e, COFFER_ETOOBIG, "the VM's filespace holds "
		    "more than %d active objects", PROTO_PAGE_MAX);
	return 0;
}

/* The active version of path, or NULL. */
static const struct proto_obj *
vm_prev(struct bk *bk, const char *path)
{
	const struct inv_page *pg = &bk->inv.pg[0];

	for (size_t i = 0; i < pg->n; i++)
		if (pg->objs[i].path_len == strlen(path) &&
		    memcmp(pg->objs[i].path, path, pg->objs[i].path_len) == 0)
			return &pg->objs[i];
	return NULL;
}

/*
 * The active segments of disk d (vm_seg.h), in order from the first: how
 * many there are, and their bytes.
 */
static uint64_t
vm_prev_segs(struct bk *bk, const char *disk, uint64_t *bytes)
{
	char path[VM_SEG_PATH_MAX];
	uint64_t k;

	*bytes = 0;
	for (k = 0;; k++) {
		const struct proto_obj *v;

		vm_seg_path(disk, k, path, sizeof(path));
		if ((v = vm_prev(bk, path)) == NULL)
			break;
		*bytes += v->size;
	}
	return k;
}

/* A segment of the active version with the image's file, times and type. */
static int
vm_seg_same(const struct proto_obj *v, const struct backup_vm_obj *d)
{
	return v->type == CLIENT_OBJ_VMDISK &&
	    v->mtime_ns == ts_ns(&d->st.st_mtim) &&
	    v->ctime_ns == ts_ns(&d->st.st_ctim) && v->link != NULL &&
	    d->link != NULL && v->link_len == strlen(d->link) &&
	    memcmp(v->link, d->link, v->link_len) == 0;
}

/*
 * Unchanged since the active version: same image file, size and times,
 * in every segment (whatever the size they were cut in).  ctime cannot
 * be set by a program, so a rewritten image whose mtime was put back is
 * still read again.  *nseg gets the active version's segments.
 */
static int
vm_disk_unchanged(struct bk *bk, const struct backup_vm_obj *d,
    uint64_t *nseg)
{
	char path[VM_SEG_PATH_MAX];
	uint64_t bytes;

	*nseg = vm_prev_segs(bk, d->path, &bytes);
	if (*nseg == 0 || bytes != (uint64_t)d->st.st_size)
		return 0;
	for (uint64_t k = 0; k < *nseg; k++) {
		vm_seg_path(d->path, k, path, sizeof(path));
		if (!vm_seg_same(vm_prev(bk, path), d))
			return 0;
	}
	return 1;
}

static int
vm_put_config(struct bk *bk, const struct backup_vm_obj *d, struct err *e)
{
	struct bobj *o;
	int r;

	if ((o = bobj_new(OP_PUT, d->path, strlen(d->path), e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	bobj_set_stat(o, CLIENT_OBJ_VMCONF, &d->st);
	if ((r = ingest_begin(bk->ig, o, e)) != 0) {
		bobj_free(o);
		return r;
	}
	if ((r = ingest_write(bk->ig, d->data, d->len, e)) != 0 ||
	    (r = ingest_end(bk->ig, e)) != 0)
		(void)ingest_abort(bk->ig, NULL);
	bk->st->bytes_inspected += d->len;
	return r;
}

/* A new object for segment path of disk d, with the image's metadata. */
static struct bobj *
vm_seg_obj(const struct backup_vm_obj *d, const char *path, uint64_t len,
    struct err *e)
{
	struct stat st = d->st;
	struct bobj *o;

	if ((o = bobj_new(OP_PUT, path, strlen(path), e)) == NULL)
		return NULL;
	st.st_size = (off_t)len;
	bobj_set_stat(o, CLIENT_OBJ_VMDISK, &st);
	o->cont = strcmp(path, d->path) != 0;
	if (bobj_set_link(o, d->link, strlen(d->link), e) != 0) {
		bobj_free(o);
		return NULL;
	}
	return o;
}

static const char *
disk_name(const char *path)
{
	return path + (strncmp(path, "/disks/", 7) == 0 ? 7 : 0);
}

/*
 * One segment [off, off + len) of an image read from its file.  A read
 * error is the VM's (*failed set), not the session's.
 */
static int
vm_put_seg(struct bk *bk, const char *vm, const struct backup_vm_obj *d,
    uint64_t idx, uint64_t off, uint64_t len, int *failed, struct err *e)
{
	char path[VM_SEG_PATH_MAX];
	struct bobj *o;
	struct stat st2;
	uint64_t got = 0;
	struct err fe;
	int r;

	vm_seg_path(d->path, idx, path, sizeof(path));
	/* What the server has of this disk need not be compressed again. */
	if ((r = learn_previous(bk, path, strlen(path), NULL, NULL, e)) != 0)
		return r;
	if ((o = vm_seg_obj(d, path, len, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	err_clear(&fe);
	r = ingest_fd_sparse(bk->ig, d->fd, o, BACKUP_IMAGE_BLOCK, off,
	    off + len, &got, d->link, &fe);
	bk->st->bytes_inspected += got;
	progress_add(&bk->pg, idx == 0, len);
	if (r != 0) {
		if (bk->fatal || r == COFFER_ENOMEM) {
			if (e != NULL)
				*e = fe;
			return r;
		}
		say(bk, "VM %s: %s; not backed up", vm, fe.msg);
		bk->st->failed++;
		*failed = 1;
		return 0;
	}
	/*
	 * A running guest writes while we read: that copy would be torn.
	 * Live VMs are read through libvirt's backup API instead.  Checked
	 * after each segment, while o is still ours (sink_end runs on a
	 * later ingest call); any segment failing aborts the version.
	 */
	if (fstat(d->fd, &st2) != 0 || st2.st_size != d->st.st_size ||
	    ts_ns(&st2.st_mtim) != ts_ns(&d->st.st_mtim)) {
		o->fail = "changed while it was being read (is the VM "
		    "running?)";
		*failed = 1;	/* no need to read the rest */
	}
	return 0;
}

/* A disk image read from its file, segment by segment (vm_seg.h). */
static int
vm_put_disk(struct bk *bk, const char *vm, const struct backup_vm_obj *d,
    uint64_t *nseg, struct err *e)
{
	uint64_t const size = (uint64_t)d->st.st_size, seg = vm_seg_size();
	char label[96];
	int failed = 0, r = 0;

	*nseg = vm_seg_count(size, seg);
	progress_done(&bk->pg);
	snprintf(label, sizeof(label), "%s %s", vm, disk_name(d->path));
	progress_init(&bk->pg, label, size);
	if (!bk->p->progress)
		bk->pg.enabled = 0;
	for (uint64_t k = 0; k < *nseg && r == 0 && !failed; k++) {
		uint64_t const off = k * seg;

		r = vm_put_seg(bk, vm, d, k, off, size - off < seg ?
		    size - off : seg, &failed, e);
	}
	return r;
}

/* The previous version's segments of a live disk, for vm_source. */
struct vm_chain {
	struct bk	*bk;
	const char	*disk;
	uint64_t	 next, count;
};

static int
vm_chain_next(void *arg, uint8_t **rec, size_t *len, struct err *e)
{
	struct vm_chain *ch = arg;
	char path[VM_SEG_PATH_MAX];

	*rec = NULL;
	*len = 0;
	if (ch->next >= ch->count)
		return 0;
	vm_seg_path(ch->disk, ch->next++, path, sizeof(path));
	return learn_previous(ch->bk, path, strlen(path), rec, len, e);
}

/*
 * One segment of a live disk through its source.  A failure reading it
 * is the VM's (in fe, *in_vm set); the rest are the session's (in e).
 */
static int
vm_src_seg(struct bk *bk, const struct backup_vm_obj *d, struct vm_prev *prev,
    uint64_t idx, uint64_t off, uint64_t len, uint64_t *got,
    int *in_vm, struct err *fe, struct err *e)
{
	char path[VM_SEG_PATH_MAX];
	struct bobj *o;
	int r;

	vm_seg_path(d->path, idx, path, sizeof(path));
	/* A full read still learns what the server has of this segment. */
	if (prev == NULL && (r = learn_previous(bk, path, strlen(path), NULL,
	    NULL, e)) != 0)
		return r;
	if ((o = vm_seg_obj(d, path, len, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	if ((r = ingest_begin_fixed(bk->ig, o, BACKUP_IMAGE_BLOCK, e)) != 0) {
		bobj_free(o);
		return r;
	}
	*in_vm = 1;
	return vm_src_ingest(bk->ig, d->src, off, off + len, prev, got, fe);
}

/*
 * A disk read through a backup_src (a running domain's NBD export),
 * segment by segment.  An incremental read takes the blocks the source
 * reports clean from the active version's recipes, fetched one segment
 * at a time as the read reaches them.
 */
static int
vm_put_src(struct bk *bk, const char *vm, const struct backup_vm_obj *d,
    uint64_t *nseg, struct err *e)
{
	const struct backup_src *src = d->src;
	uint64_t const seg = vm_seg_size();
	struct vm_chain ch = { .bk = bk, .disk = d->path };
	struct vm_prev prev = { .next = vm_chain_next, .arg = &ch };
	uint64_t got = 0, bytes = 0;
	struct err fe;
	int in_vm = 0, r = 0;

	*nseg = vm_seg_count(src->size, seg);
	ch.count = vm_prev_segs(bk, d->path, &bytes);
	err_clear(&fe);
	if (src->incremental && ch.count == 0) {
		in_vm = 1;
		r = err_set(&fe, COFFER_ECORRUPT, "the server has no previous "
		    "version to take the unchanged blocks from");
	}
	for (uint64_t k = 0; k < *nseg && r == 0; k++) {
		uint64_t const off = k * seg;

		in_vm = 0;
		r = vm_src_seg(bk, d, src->incremental ? &prev : NULL, k, off,
		    src->size - off < seg ? src->size - off : seg, &got,
		    &in_vm, &fe, e);
	}
	vm_prev_reset(&prev);
	bk->st->bytes_inspected += got;
	if (r != 0 && !in_vm)
		return r;	/* the session's */
	if (r != 0) {
		if (bk->fatal || r == COFFER_ENOMEM) {
			if (e != NULL)
				*e = fe;
			return r;
		}
		say(bk, "VM %s: %s: %s; not backed up", vm, d->path, fe.msg);
		bk->st->failed++;
		return 0;
	}
	say(bk, "VM %s: disk %s: %" PRIu64 " bytes read (%s)", vm,
	    disk_name(d->path), got, src->incremental ?
	    "changed blocks only" : "whole disk, holes skipped");
	return 0;
}

/* Forget the open transaction on both sides. */
static int
txn_abort(struct bk *bk, struct err *e)
{
	struct wire_buf b;
	int r;

	if ((r = settle(bk, e)) != 0)
		return r;
	wire_buf_init(&b, 16);
	wire_put_u64(&b, bk->fs);
	r = net_send(bk->c, PT_TXN_ABORT, &b, e);
	wire_buf_free(&b);
	if (r != 0 || (r = net_expect(bk->c, PT_TXN_OK, 1, on_txn_ok, bk,
	    e)) != 0 || (r = net_pump_all(bk->c, e)) != 0)
		return r;
	hset_free(&bk->asked);		/* (2) */
	bk->txn_bytes = bk->txn_objects = 0;
	return 0;
}

/*
 * Deactivate what the new version no longer has: a disk taken away, or
 * the segments past a disk's new end.  keep[i] is how many segments of
 * objs[i] the new version has (1 for the domain XML).
 */
static int
vm_gone(struct bk *bk, const struct backup_vm *vm, const uint64_t *keep,
    struct err *e)
{
	const struct inv_page *pg = &bk->inv.pg[0];
	int r;

	for (size_t k = 0; k < pg->n; k++) {
		const struct proto_obj *o = &pg->objs[k];
		size_t i, dlen = o->path_len;
		uint64_t idx = 0;

		if (vm_seg_parse(o->path, o->path_len, &dlen, &idx) != 0)
			dlen = o->path_len;
		for (i = 0; i < vm->nobjs; i++)
			if (dlen == strlen(vm->objs[i].path) &&
			    memcmp(o->path, vm->objs[i].path, dlen) == 0 &&
			    idx < keep[i])
				break;
		if (i == vm->nobjs && (r = send_gone(bk, o->path, o->path_len,
		    e)) != 0)
			return r;
	}
	return 0;
}

/*
 * The caller's hook before the disks: a failure there fails the VM (no
 * version), not the session.
 */
static int
vm_before(struct bk *bk, const struct backup_vm *vm,
    struct backup_vm_result *res, struct err *e)
{
	int64_t *prev;
	struct err he;
	int r;

	if ((prev = calloc(vm->nobjs + 1, sizeof(*prev))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < vm->nobjs; i++) {
		const struct proto_obj *v = vm_prev(bk, vm->objs[i].path);

		prev[i] = v != NULL ? v->ctime_ns : 0;
	}
	err_clear(&he);
	r = vm->before_disks(vm->arg, prev, &he);
	free(prev);
	if (r == 0)
		return 0;
	if (r == COFFER_ENOMEM) {
		if (e != NULL)
			*e = he;
		return r;
	}
	say(bk, "VM %s: %s; not backed up", vm->name, he.msg);
	bk->st->failed++;
	res->hook_failed = 1;
	return 0;
}

/*
 * At most what vm's objects would hold at the server in one transaction
 * (PROTO_TXN_PEND_MAX counts paths, links and recipes): a recipe entry
 * per block of every disk, as if none were a zero run, every segment
 * with its path and link, the XML as if cut in 4 KiB chunks.
 */
static uint64_t
vm_txn_estimate(const struct backup_vm *vm)
{
	uint64_t const seg = vm_seg_size();
	uint64_t total = 0;

	for (size_t i = 0; i < vm->nobjs; i++) {
		const struct backup_vm_obj *d = &vm->objs[i];
		uint64_t const size = d->type == CLIENT_OBJ_VMCONF ? d->len :
		    (uint64_t)d->st.st_size;
		uint64_t const block = d->type == CLIENT_OBJ_VMCONF ? 4096 :
		    BACKUP_IMAGE_BLOCK;
		uint64_t const nseg = d->type == CLIENT_OBJ_VMCONF ? 1 :
		    vm_seg_count(size, seg);

		total += (size / block + nseg) * POOL_RECIPE_ENTRY;
		total += nseg * (VM_SEG_PATH_MAX + (d->link ? strlen(d->link) :
		    0));
	}
	return total;
}

/*
 * A server without TXN_STAGE (older) takes a VM version in one
 * transaction only: one that may not fit is refused here, before any of
 * it is sent, rather than by the server halfway.  1: refused (said so).
 */
static int
vm_stage_refused(struct bk *bk, const struct backup_vm *vm)
{
	uint64_t const est = vm_txn_estimate(vm);

	if (net_has_feature(bk->c, PROTO_FEAT_TXN_STAGE) ||
	    est <= PROTO_TXN_PEND_MAX)
		return 0;
	say(bk, "VM %s: not backed up: server %s lacks the protocol feature "
	    "%s (a VM version committed in parts), and in one transaction "
	    "this version's recipes and metadata may need up to %" PRIu64
	    " MiB, over the %u MiB such a server takes; upgrade the server. "
	    "Nothing was sent", vm->name, net_server_name(bk->c),
	    proto_feature_name(PROTO_FEAT_TXN_STAGE), est >> 20,
	    PROTO_TXN_PEND_MAX >> 20);
	return 1;
}

int
backup_vm(struct backup_sess *s, const struct backup_vm *vm,
    struct backup_vm_result *res, struct err *e)
{
	struct bk *bk = &s->bk;
	struct backup_stats *st = bk->st;
	char fs[8 + 256];
	uint64_t const failed0 = st->failed, put0 = st->backed_up;
	uint64_t const sent0 = st->bytes_sent, read0 = st->bytes_inspected;
	double const t0 = util_now();
	uint64_t *keep;
	int r;

	memset(res, 0, sizeof(*res));
	snprintf(fs, sizeof(fs), "VM:%s", vm->name);
	if (vm_stage_refused(bk, vm)) {
		st->failed++;
		return 0;
	}
	if ((keep = calloc(vm->nobjs + 1, sizeof(*keep))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < vm->nobjs; i++)
		keep[i] = UINT64_MAX;	/* not reached: keep what it had */
	if ((r = fs_open(bk, fs, "VM", e)) != 0) {
		free(keep);
		return err_wrap(e, "filespace %s", fs);
	}
	bk->atomic = 1;
	/* Without STAGE, the old way: the whole version at once. */
	bk->stage_bytes = net_has_feature(bk->c, PROTO_FEAT_TXN_STAGE) ?
	    vm_stage_bytes() : 0;
	if ((r = vm_inventory(bk, e)) != 0)
		goto out;
	if (vm->before_disks != NULL && (r = vm_before(bk, vm, res, e)) != 0)
		goto out;
	for (size_t i = 0; i < vm->nobjs; i++) {
		const struct backup_vm_obj *d = &vm->objs[i];

		st->inspected++;
		if (res->hook_failed)
			break;
		keep[i] = 1;	/* the domain XML; a disk sets its count */
		if (d->type == CLIENT_OBJ_VMCONF)
			r = vm_put_config(bk, d, e);
		else if (d->src != NULL)
			r = vm_put_src(bk, vm->name, d, &keep[i], e);
		else if (vm_disk_unchanged(bk, d, &keep[i]))
			res->unchanged++;
		else
			r = vm_put_disk(bk, vm->name, d, &keep[i], e);
		if (r != 0)
			goto out;
	}
	/* OBJ_GONE goes with the last commit: no part after it. */
	bk->stage_bytes = 0;
	if ((r = vm_gone(bk, vm, keep, e)) != 0 ||
	    (r = ingest_flush(bk->ig, e)) != 0)
		goto out;
	/*
	 * A disk that could not be read aborts the version: no version is
	 * better than half of one.  The server keeps nothing either when it
	 * refused an object (TXN_OK lists why; on_txn_ok counted them).
	 */
	if (st->failed > failed0)
		r = txn_abort(bk, e);
	else if ((r = commit(bk, 1, e)) == 0 && bk->ok_failed == 0)
		res->committed = 1;
	if (r == 0 && !res->committed)
		st->backed_up = put0;
out:
	free(keep);
	bk->atomic = 0;
	bk->stage_bytes = 0;
	progress_done(&bk->pg);
	res->objects = st->backed_up - put0;
	res->bytes_read = st->bytes_inspected - read0;
	res->bytes_sent = st->bytes_sent - sent0;
	res->elapsed_s = util_now() - t0;
	return r;
}
