/*
 * repl_source.c - replicate nodes to the replication server (repl.h).
 *
 * Runs in a server process thread with its own catalog connection and
 * pool reader, and talks to the target through a blocking server session
 * (net.h, net_connect_server).  Per filespace:
 *
 *	REPL_FS ------------------> digest equal?  done
 *	REPL_LIST pages <---------- what the target holds, in uuid order,
 *	                            merged with our own walk in uuid order
 *	CHUNK_ASK / CHUNK_PUT ----> the chunks of new versions it lacks
 *	REPL_OBJ, REPL_DEL, REPL_STATE, TXN_COMMIT, per batch
 *
 * Invariant: a REPL_OBJ is sent only after every chunk its recipe names
 * was asked in this transaction and, where the target lacked it, sent:
 * the target pins what it said it has until the transaction ends.  One
 * CHUNK_ASK may be in flight (ask_send); every other request that wants
 * an answer first reads its CHUNK_NEED (need_recv).
 *
 * MAXSESSIONS: per node, the first session (the process's own) names the
 * node and compares every filespace's digests; what differs becomes work
 * units, one per filespace, and a filespace whose version counts differ
 * by much is cut into uuid ranges (lo, hi] of about equal bytes
 * (cat_obj_uuid_marks), heaviest first (sort_units).  Up to
 * maxsessions sessions, each a thread with its own TLS connection (so a
 * worker of its own at the target, which deals connections round robin),
 * catalog connection and pool reader, take units until none is left.  A
 * unit is a merge restricted to its range: both listings start after lo
 * and stop past hi, so the rows of a range are only ever written by the
 * session that holds it, and the merge's invariant holds per range.  The
 * first failure stops the others at their next row and names the session
 * and filespace; batches committed stay, and a rerun sends the rest.  When
 * every unit is done the first session sends REPL_DONE, as with one.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cat.h"
#include "err.h"
#include "fault.h"
#include "hset.h"
#include "net.h"
#include "pool.h"
#include "pool_recipe.h"
#include "proc.h"
#include "obj_proto.h"
#include "proto.h"
#include "repl.h"
#include "util.h"
#include "wire.h"

/* One version of a listing: ours (with its object id) or the target's. */
struct vrow {
	uint8_t		 uuid[16];
	uint8_t		 state;
	int64_t		 deact;
	uint64_t	 id;		/* ours only */
	uint8_t		 dig[32];	/* verify only */
	char		*path;		/* ours, verify only */
};

struct vpage {
	struct vrow	*v;
	size_t		 n, cap, pos;
	int		 more;
	int		 done;		/* the last page was read */
	uint8_t		 after[16];
};

/* A version on its way: its metadata and recipe, sent at the commit. */
struct pobj {
	struct cat_obj	 o;
	char		*path, *link;
	uint8_t		*recipe;
	int		 failed;
};

/*
 * A unit of work: versions of one filespace whose uuid lies in (lo, hi];
 * without has_lo from the start, without has_hi to the end.
 */
struct runit {
	const struct cat_fs	*f;
	uint64_t		 tfs;		/* the target's id */
	int			 active_only;
	int			 first;		/* the target holds none */
	int			 has_lo, has_hi;
	uint8_t			 lo[16], hi[16];
	uint64_t		 weight;	/* bytes, about (add_units) */
	size_t			 order;		/* as queued */
	/* results, written by the session that ran it */
	int			 done;
	uint64_t		 sent, bytes;
};

struct rs;

/* What the sessions of one run share; lock guards the marked fields. */
struct rrun {
	pthread_mutex_t			 lock;
	struct proc			*p;
	const struct repl_params	*rp;
	const struct cat_account	*a;	/* the node being replicated */
	struct rs			*rs;	/* maxsess sessions; [0] ours */
	int				 maxsess;
	int				 nsess;	/* running for this node */
	struct runit			*units;
	size_t				 nunits, ucap;
	size_t				 next;		/* locked */
	int				 failed;	/* locked */
	struct err			 err;		/* locked: the first */
	uint64_t			 sent, bytes;	/* locked: progress */
};

struct rs {
	struct proc			*p;
	const struct repl_params	*rp;
	struct repl_stats		*st;		/* &own */
	struct repl_stats		 own;
	struct rrun			*run;
	int				 id;		/* 1 to maxsess */
	uint64_t			 wire0;
	pthread_t			 th;
	const struct runit		*u;		/* the unit under way */
	struct cat			*c;
	struct pool_reader		*rd;
	struct net_conn			*conn;
	char				 node[CAT_NAME_MAX + 1];
	char				 fsname[CAT_PATH_MAX];
	uint64_t			 fs;		/* ours */
	uint64_t			 tfs;		/* the target's */
	int				 active_only;
	int				 ahead;		/* readahead is on */

	/* the open transaction */
	struct hset			 asked;
	uint8_t				 ask[PROTO_CHUNK_BATCH][HASH_LEN];
	uint32_t			 nask;
	/* The CHUNK_ASK sent whose CHUNK_NEED is still to be read. */
	uint8_t				 flying[PROTO_CHUNK_BATCH][HASH_LEN];
	uint32_t			 nflying;
	struct pobj			*objs;
	size_t				 nobjs, objs_cap;
	uint64_t			 txn_bytes, txn_changes;
	struct wire_buf			 wb;
	uint64_t			 fs_sent, fs_bytes;
};

static void
log_msg(struct rs *r, char sev, int no, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
log_msg(struct rs *r, char sev, int no, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)cat_actlog(r->c, sev, no, r->node[0] ? r->node : NULL, "%s",
	    buf);
}

/* What verify compares: the version's path, size and recipe. */
void
repl_content_digest(const struct cat_obj *o, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sz[8];
	unsigned int n = 0;

	memset(out, 0, 32);
	if (md == NULL)
		return;
	util_put_le64(sz, o->size);
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, o->path, strlen(o->path) + 1) == 1 &&
	    EVP_DigestUpdate(md, sz, sizeof(sz)) == 1 &&
	    (o->recipe_len == 0 || EVP_DigestUpdate(md, o->recipe,
	    o->recipe_len) == 1))
		(void)EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

/* ---- chunks ---- */

/* Read the CHUNK_NEED of the batch in flight; send what it lacks, as stored. */
static int
need_recv(struct rs *r, struct err *e)
{
	struct wire_rd rd;
	uint8_t need[PROTO_CHUNK_BATCH / 8];
	uint32_t n;
	int rc;

	if (r->nflying == 0)
		return 0;
	if ((rc = net_recv_type(r->conn, PT_CHUNK_NEED, &rd, e)) != 0)
		return rc;
	if ((rc = wire_get_u32(&rd, &n, e)) != 0)
		return rc;
	if (n != r->nflying || wire_rd_left(&rd) != (n + 7) / 8)
		return err_set(e, COFFER_EPROTO, "CHUNK_NEED answers %u of %u",
		    n, r->nflying);
	/* The bitmap lives in the connection's buffer: copy it first. */
	memcpy(need, rd.p + rd.off, (n + 7) / 8);
	for (uint32_t i = 0; i < n; i++) {
		struct pool_chunk pc;
		uint8_t head[HASH_LEN + 4 + 1 + 4];

		if (!(need[i / 8] & (1u << (i % 8))))
			continue;
		if ((rc = pool_read_stored(r->rd, r->flying[i], &pc, e)) != 0)
			return err_wrap(e, "chunk for the target");
		memcpy(head, pc.hash, HASH_LEN);
		util_put_le32(head + HASH_LEN, pc.raw_len);
		head[HASH_LEN + 4] = pc.codec;
		util_put_le32(head + HASH_LEN + 5, pc.stored_len);
		if ((rc = net_send_parts(r->conn, PT_CHUNK_PUT, head,
		    sizeof(head), pc.stored, pc.stored_len, e)) != 0)
			return rc;
		r->st->chunks_sent++;
		r->st->bytes_sent += pc.stored_len;
		r->txn_bytes += pc.stored_len;
		r->fs_bytes += pc.stored_len;
	}
	r->nflying = 0;
	return 0;
}

/*
 * CHUNK_ASK the gathered hashes, then answer the batch asked before.
 * One batch stays in flight: the target answers this ASK as soon as it
 * has stored the chunks sent before it, and meanwhile we read and send
 * the previous batch's, so that reading here and storing there overlap
 * instead of taking turns.  The target answers frames in order, so the
 * NEED read next is the earlier batch's.
 */
static int
ask_send(struct rs *r, struct err *e)
{
	uint8_t n4[4];
	int rc;

	if (r->nask == 0)
		return 0;
	util_put_le32(n4, r->nask);
	if ((rc = net_send_parts(r->conn, PT_CHUNK_ASK, n4, sizeof(n4),
	    r->ask, (size_t)r->nask * HASH_LEN, e)) != 0 ||
	    (rc = net_flush(r->conn, e)) != 0 ||
	    (rc = need_recv(r, e)) != 0)
		return rc;
	memcpy(r->flying, r->ask, (size_t)r->nask * HASH_LEN);
	r->nflying = r->nask;
	r->nask = 0;
	return 0;
}

/* Every chunk offered so far asked and, where the target lacked it, sent. */
static int
ask_flush(struct rs *r, struct err *e)
{
	int rc;

	if ((rc = ask_send(r, e)) != 0)
		return rc;
	return need_recv(r, e);
}

/* Offer every chunk of a recipe, once per transaction. */
static int
offer_recipe(struct rs *r, const uint8_t *rec, size_t len, struct err *e)
{
	size_t n = 0;
	int rc;

	if ((rc = pool_recipe_count(rec, len, &n, e)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *h;
		int added = 0;

		if (pool_recipe_is_zero(rec, i))
			continue;
		h = pool_recipe_hash(rec, i);
		if (hset_put(&r->asked, h, &added) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		if (!added)
			continue;
		memcpy(r->ask[r->nask++], h, HASH_LEN);
		if (r->nask == PROTO_CHUNK_BATCH && (rc = ask_send(r, e)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the transaction ---- */

static void
pobj_free(struct pobj *o)
{
	free(o->path);
	free(o->link);
	free(o->recipe);
}

static int
copy_obj(void *arg, const struct cat_obj *o)
{
	struct pobj *po = arg;

	po->o = *o;
	if ((po->path = strdup(o->path)) == NULL ||
	    (o->link != NULL && (po->link = strdup(o->link)) == NULL) ||
	    (o->recipe_len > 0 && (po->recipe = malloc(o->recipe_len)) ==
	    NULL))
		return COFFER_ENOMEM;
	if (o->recipe_len > 0)
		memcpy(po->recipe, o->recipe, o->recipe_len);
	po->o.path = po->path;
	po->o.link = po->link;
	po->o.recipe = po->recipe;
	return 0;
}

/* Queue version id (ours) for the target; its chunks are offered now. */
static int
send_version(struct rs *r, uint64_t id, struct err *e)
{
	struct pobj *po;
	int rc;

	if (r->nobjs == r->objs_cap) {
		size_t const ncap = r->objs_cap ? r->objs_cap * 2 : 64;
		struct pobj *np = realloc(r->objs, ncap * sizeof(*np));

		if (np == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		r->objs = np;
		r->objs_cap = ncap;
	}
	po = &r->objs[r->nobjs];
	memset(po, 0, sizeof(*po));
	if ((rc = cat_obj_get(r->c, id, copy_obj, po, e)) != 0) {
		pobj_free(po);
		return rc == COFFER_ENOMEM ? err_set(e, rc, "out of memory") :
		    rc;
	}
	if (po->path == NULL)
		return 0;	/* expired since it was listed */
	r->nobjs++;
	r->txn_changes++;
	if (po->o.recipe_len > 0)
		return offer_recipe(r, po->recipe, po->o.recipe_len, e);
	return 0;
}

static void
put_objmeta(struct wire_buf *b, const struct cat_obj *o)
{
	struct proto_obj po;

	obj_proto_from_cat(&po, o);
	po.id = 0;	/* ids are this server's own */
	proto_put_obj(b, &po, 1);
}

/* A deletion or state change, sent at once (it needs no chunks). */
static int
send_change(struct rs *r, uint16_t type, const struct vrow *v,
    struct err *e)
{
	wire_buf_reset(&r->wb);
	wire_put_u64(&r->wb, r->tfs);
	wire_put_raw(&r->wb, v->uuid, 16);
	if (type == PT_REPL_STATE) {
		wire_put_u8(&r->wb, v->state);
		wire_put_u64(&r->wb, (uint64_t)v->deact);
		r->st->objects_updated++;
	} else {
		r->st->objects_deleted++;
	}
	r->txn_changes++;
	return net_send(r->conn, type, &r->wb, e);
}

/* A batch committed: the process's status shows the run's totals. */
static void
progress(struct rs *r, uint64_t objects, uint64_t bytes)
{
	struct rrun *run = r->run;
	uint64_t sent, sbytes;
	int nsess;

	pthread_mutex_lock(&run->lock);
	run->sent += objects;
	run->bytes += bytes;
	sent = run->sent;
	sbytes = run->bytes;
	nsess = run->nsess;
	pthread_mutex_unlock(&run->lock);
	if (r->p == NULL)
		return;
	if (nsess > 1)
		proc_set_status(r->p, "Replicating node %s, filespace %s: %"
		    PRIu64 " versions and %" PRIu64 " bytes sent so far (%d "
		    "sessions)", r->node, r->fsname, sent, sbytes, nsess);
	else
		proc_set_status(r->p, "Replicating node %s, filespace %s: %"
		    PRIu64 " versions and %" PRIu64 " bytes sent so far",
		    r->node, r->fsname, sent, sbytes);
}

/*
 * Stop at the next row when the process is cancelled or another session
 * failed (that one's error is the run's; what was committed stays).
 */
static int
should_stop(struct rs *r, struct err *e)
{
	int failed;

	if (r->p != NULL && proc_cancelled(r->p))
		return err_set(e, COFFER_ECANCELED, "cancelled");
	pthread_mutex_lock(&r->run->lock);
	failed = r->run->failed;
	pthread_mutex_unlock(&r->run->lock);
	if (failed)
		return err_set(e, COFFER_ECANCELED, "stopped: another "
		    "replication session failed");
	return 0;
}

/* Send the queued versions, then commit on the target. */
static int
commit(struct rs *r, struct err *e)
{
	struct wire_rd rd;
	uint32_t objects, nfailed;
	uint64_t stored;
	int rc = 0;

	if (r->txn_changes == 0)
		return 0;
	if ((rc = ask_flush(r, e)) != 0)
		return rc;
	for (size_t i = 0; i < r->nobjs && rc == 0; i++) {
		wire_buf_reset(&r->wb);
		wire_put_u64(&r->wb, r->tfs);
		put_objmeta(&r->wb, &r->objs[i].o);
		if (wire_buf_ok(&r->wb, NULL) != 0)
			rc = err_set(e, COFFER_ETOOBIG, "%s: too large for one "
			    "frame", r->objs[i].path);
		else
			rc = net_send(r->conn, PT_REPL_OBJ, &r->wb, e);
	}
	if (rc != 0)
		return rc;
	wire_buf_reset(&r->wb);
	wire_put_u64(&r->wb, r->tfs);
	wire_put_u8(&r->wb, 0);
	if ((rc = net_send(r->conn, PT_TXN_COMMIT, &r->wb, e)) != 0 ||
	    (rc = net_recv_type(r->conn, PT_TXN_OK, &rd, e)) != 0)
		return rc;
	if ((rc = wire_get_u32(&rd, &objects, e)) != 0 ||
	    (rc = wire_get_u64(&rd, &stored, e)) != 0 ||
	    (rc = wire_get_u32(&rd, &nfailed, e)) != 0)
		return err_wrap(e, "TXN_OK");
	for (uint32_t i = 0; i < nfailed && i < PROTO_FAILED_MAX; i++) {
		char path[WIRE_STR_MAX + 1], why[WIRE_STR_MAX + 1];

		if (wire_get_str(&rd, WIRE_STR_MAX, path, sizeof(path), e) ||
		    wire_get_str(&rd, WIRE_STR_MAX, why, sizeof(why), e))
			return err_wrap(e, "TXN_OK");
		log_msg(r, CAT_SEV_WARN, 1634, "Replication of node %s "
		    "filespace %s: the target refused %s: %s.", r->node,
		    r->fsname, path, why);
	}
	r->st->objects_failed += nfailed;
	r->st->objects_sent += objects;
	r->fs_sent += objects;
	/* The target committed the batch: a rerun must not need it again. */
	FAULT_POINT("repl.source.after_batch");
	for (size_t i = 0; i < r->nobjs; i++)
		pobj_free(&r->objs[i]);
	r->nobjs = 0;
	hset_free(&r->asked);
	progress(r, objects, r->txn_bytes);
	r->txn_bytes = r->txn_changes = 0;
	return 0;
}

static int
maybe_commit(struct rs *r, struct err *e)
{
	if (r->nobjs >= REPL_BATCH_OBJECTS || r->txn_bytes >= REPL_BATCH_BYTES ||
	    r->txn_changes >= 4 * REPL_BATCH_OBJECTS)
		return commit(r, e);
	return 0;
}

/* ---- the two listings ---- */

static void
vpage_clear(struct vpage *pg)
{
	for (size_t i = 0; i < pg->n; i++)
		free(pg->v[i].path);
	pg->n = pg->pos = 0;
}

static struct vrow *
vpage_add(struct vpage *pg)
{
	if (pg->n == pg->cap) {
		size_t const ncap = pg->cap ? pg->cap * 2 : 256;
		struct vrow *nv = realloc(pg->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		pg->v = nv;
		pg->cap = ncap;
	}
	memset(&pg->v[pg->n], 0, sizeof(pg->v[0]));
	return &pg->v[pg->n++];
}

struct own_ctx {
	struct vpage	*pg;
	int		 verify;
	const uint8_t	*hi;		/* the unit's end, or NULL */
};

#define OWN_PAST	1	/* own_row: past the unit's range, stop */

static int
own_row(void *arg, const struct cat_obj *o)
{
	struct own_ctx *oc = arg;
	struct vrow *v;

	/* The rest is the next unit's: not read (with recipes) for nothing. */
	if (oc->hi != NULL && memcmp(o->uuid, oc->hi, 16) > 0)
		return OWN_PAST;
	if ((v = vpage_add(oc->pg)) == NULL)
		return COFFER_ENOMEM;
	memcpy(v->uuid, o->uuid, 16);
	v->state = (uint8_t)o->state;
	v->deact = o->deactivated;
	v->id = o->id;
	if (oc->verify) {
		repl_content_digest(o, v->dig);
		if ((v->path = strdup(o->path)) == NULL)
			return COFFER_ENOMEM;
	}
	return 0;
}

/* Our next page, when the current one is used up. */
static int
own_fill(struct rs *r, struct vpage *pg, struct err *e)
{
	struct own_ctx oc = { pg, 1, NULL };
	int rc, more = 0;

	/*
	 * Refilled only when used up, and never again once the last page
	 * was read: the next page starts after the last row seen, which is
	 * at or beyond every version this run has sent (see merge).
	 */
	if (pg->pos < pg->n || pg->done)
		return 0;
	if (pg->n > 0)
		memcpy(pg->after, pg->v[pg->n - 1].uuid, 16);
	vpage_clear(pg);
	if (r->u != NULL && r->u->has_hi)
		oc.hi = r->u->hi;
	rc = cat_obj_uuid_walk(r->c, r->fs, util_is_zero(pg->after, 16) ?
	    NULL : pg->after, REPL_PAGE, r->active_only, own_row, &oc, &more,
	    e);
	if (rc == COFFER_ENOMEM)
		return err_set(e, rc, "out of memory");
	if (rc == OWN_PAST) {
		rc = 0;
		more = 0;
	}
	pg->more = more;
	pg->done = !more;
	return rc;
}

/* The target's next page. */
static int
peer_fill(struct rs *r, struct vpage *pg, struct err *e)
{
	struct wire_rd rd;
	uint8_t more;
	uint32_t n;
	int rc;

	/*
	 * Refilled only when used up, and never again once the last page
	 * was read: the next page starts after the last row seen, which is
	 * at or beyond every version this run has sent (see merge).
	 */
	if (pg->pos < pg->n || pg->done)
		return 0;
	if (pg->n > 0)
		memcpy(pg->after, pg->v[pg->n - 1].uuid, 16);
	vpage_clear(pg);
	/* The answer read next must be the page's: finish the ASK in flight. */
	if ((rc = need_recv(r, e)) != 0)
		return rc;
	wire_buf_reset(&r->wb);
	wire_put_u64(&r->wb, r->tfs);
	wire_put_raw(&r->wb, pg->after, 16);
	wire_put_u32(&r->wb, REPL_PAGE);
	wire_put_u8(&r->wb, 1);
	if ((rc = net_send(r->conn, PT_REPL_LIST, &r->wb, e)) != 0 ||
	    (rc = net_recv_type(r->conn, PT_REPL_PAGE, &rd, e)) != 0)
		return rc;
	if ((rc = wire_get_u8(&rd, &more, e)) != 0 ||
	    (rc = wire_get_u32(&rd, &n, e)) != 0)
		return err_wrap(e, "REPL_PAGE");
	if (n > PROTO_REPL_PAGE_MAX)
		return err_set(e, COFFER_EPROTO, "REPL_PAGE of %u versions", n);
	for (uint32_t i = 0; i < n; i++) {
		struct vrow *v = vpage_add(pg);
		uint64_t d;

		if (v == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		if ((rc = wire_get_raw(&rd, v->uuid, 16, e)) != 0 ||
		    (rc = wire_get_u8(&rd, &v->state, e)) != 0 ||
		    (rc = wire_get_u64(&rd, &d, e)) != 0 ||
		    (rc = wire_get_raw(&rd, v->dig, 32, e)) != 0)
			return err_wrap(e, "REPL_PAGE");
		v->deact = (int64_t)d;
		if (i > 0 && memcmp(pg->v[pg->n - 2].uuid, v->uuid, 16) >= 0)
			return err_set(e, COFFER_EPROTO, "REPL_PAGE is not in "
			    "uuid order");
	}
	pg->more = more != 0 && n > 0;
	pg->done = !pg->more;
	return wire_rd_end(&rd, e);
}

/*
 * Both rows name one version: bring the target's state in line.  Its
 * content (path, size, recipe) must be the same on both sides; a version
 * that differs (a bad tape seed, damage) is reported by path, not resent
 * under the same UUID silently.
 */
static int
same_version(struct rs *r, const struct vrow *a, const struct vrow *b,
    struct err *e)
{
	if (memcmp(a->dig, b->dig, 32) != 0) {
		r->st->differences++;
		log_msg(r, CAT_SEV_WARN, 1650, "Replication verify: node %s "
		    "filespace %s: %s differs between the servers.", r->node,
		    r->fsname, a->path ? a->path : "?");
	}
	if (a->state != b->state || a->deact != b->deact)
		return send_change(r, PT_REPL_STATE, a, e);
	return 0;
}

/*
 * The head row of pg, or NULL at its end or past the unit's range: that
 * row and the rest belong to the next unit's session, so pg is used up.
 */
static const struct vrow *
head(const struct rs *r, struct vpage *pg)
{
	const struct vrow *v = pg->pos < pg->n ? &pg->v[pg->pos] : NULL;

	if (v != NULL && r->u != NULL && r->u->has_hi &&
	    memcmp(v->uuid, r->u->hi, 16) > 0) {
		pg->pos = pg->n;
		pg->done = 1;
		return NULL;
	}
	return v;
}

/*
 * Merge both listings in uuid order.  A page of the target's is asked for
 * only when the last one is used up, after its last uuid L: every version
 * sent so far was below the source's head, and the head only passes a
 * target row once that row has been compared, so what we sent is all at
 * or below L and a later page never lists it back to us as the target's
 * own (which would delete it).  A unit's merge sees only its range (lo,
 * hi]: no other session writes there, and rows past hi on a page are
 * another unit's (head), so the same holds within the range.
 */
static int
merge(struct rs *r, struct err *e)
{
	struct vpage own, peer;
	int rc = 0;

	memset(&own, 0, sizeof(own));
	memset(&peer, 0, sizeof(peer));
	/* Both listings start after the unit's lo (own_fill, peer_fill). */
	if (r->u != NULL && r->u->has_lo) {
		memcpy(own.after, r->u->lo, 16);
		memcpy(peer.after, r->u->lo, 16);
	}
	for (;;) {
		const struct vrow *a, *b;
		int cmp;

		if ((rc = own_fill(r, &own, e)) != 0 ||
		    (rc = peer_fill(r, &peer, e)) != 0)
			break;
		a = head(r, &own);
		b = head(r, &peer);
		if (a == NULL && b == NULL)
			break;
		cmp = a == NULL ? 1 : b == NULL ? -1 : memcmp(a->uuid,
		    b->uuid, 16);
		if (cmp < 0) {
			rc = send_version(r, a->id, e);
			own.pos++;
		} else if (cmp > 0) {
			rc = send_change(r, PT_REPL_DEL, b, e);
			peer.pos++;
		} else {
			rc = same_version(r, a, b, e);
			own.pos++;
			peer.pos++;
		}
		if (rc == 0)
			rc = maybe_commit(r, e);
		if (rc == 0)
			rc = should_stop(r, e);
		if (rc != 0)
			break;
	}
	if (rc == 0)
		rc = commit(r, e);
	vpage_clear(&own);
	vpage_clear(&peer);
	free(own.v);
	free(peer.v);
	return rc;
}

/* ---- sessions ---- */

static void
rs_init(struct rs *r, struct rrun *run, int id)
{
	memset(r, 0, sizeof(*r));
	r->p = run->p;
	r->rp = run->rp;
	r->st = &r->own;
	r->run = run;
	r->id = id;
	hset_init(&r->asked);
	wire_buf_init(&r->wb, WIRE_FRAME_MAX);
}

/* What a session needs of its own: catalog, pool reader, the target. */
static int
rs_open(struct rs *r, struct err *e)
{
	int rc;

	if ((rc = cat_open(r->rp->catpath, &r->c, e)) != 0)
		return rc;
	if ((r->rd = pool_reader_new(r->rp->pool, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	if ((rc = repl_connect(r->c, &r->conn, e)) != 0)
		return rc;
	/* Counted from here on, as the first session's always was. */
	r->wire0 = net_bytes_out(r->conn);
	return 0;
}

/* Close what rs_open opened; the counts stay for the run's totals. */
static void
rs_close(struct rs *r)
{
	if (r->conn != NULL)
		r->own.wire_bytes += net_bytes_out(r->conn) - r->wire0;
	for (size_t i = 0; i < r->nobjs; i++)
		pobj_free(&r->objs[i]);
	r->nobjs = 0;
	r->nask = r->nflying = 0;
	r->txn_bytes = r->txn_changes = 0;
	hset_free(&r->asked);
	net_close(r->conn);
	r->conn = NULL;
	pool_reader_free(r->rd);
	r->rd = NULL;
	cat_close(r->c);
	r->c = NULL;
	r->node[0] = '\0';
	r->ahead = 0;
}

static void
rs_free(struct rs *r)
{
	rs_close(r);
	free(r->objs);
	r->objs = NULL;
	r->objs_cap = 0;
	wire_buf_free(&r->wb);
}

/* REPL_NODE: the target creates or updates the node the frames are about. */
static int
send_node(struct rs *r, const struct cat_account *a, struct err *e)
{
	struct wire_rd rd;
	int rc;

	snprintf(r->node, sizeof(r->node), "%s", a->name);
	wire_buf_reset(&r->wb);
	wire_put_str(&r->wb, a->name);
	wire_put_str(&r->wb, a->pwhash);
	wire_put_str(&r->wb, a->domain);
	wire_put_str(&r->wb, a->contact);
	wire_put_u64(&r->wb, (uint64_t)a->rpo_s);
	if ((rc = net_send(r->conn, PT_REPL_NODE, &r->wb, e)) != 0 ||
	    (rc = net_recv_type(r->conn, PT_REPL_OK, &rd, e)) != 0)
		return rc;
	return 0;
}

/* ---- units ---- */

static struct runit *
unit_add(struct rrun *run, const struct cat_fs *f, uint64_t tfs, int first)
{
	struct runit *u;

	if (run->nunits == run->ucap) {
		size_t const ncap = run->ucap ? run->ucap * 2 : 16;
		struct runit *nu = realloc(run->units, ncap * sizeof(*nu));

		if (nu == NULL)
			return NULL;
		run->units = nu;
		run->ucap = ncap;
	}
	u = &run->units[run->nunits];
	memset(u, 0, sizeof(*u));
	u->order = run->nunits++;
	u->f = f;
	u->tfs = tfs;
	u->active_only = f->replrule == CAT_REPLRULE_ACTIVE;
	u->first = first;
	return u;
}

/*
 * Queue filespace f: one unit, or, with more than one session and a
 * difference in version counts of at least two units' worth (a first
 * replication, one resumed, a large backup since the last), up to
 * REPL_UNITS_PER_SESSION uuid ranges per session of about equal bytes (a
 * version weighs its size and REPL_UNIT_ROW_BYTES).  A filespace with a
 * few changes stays whole, as with one session: its ranges would each end
 * in a commit of their own at the target.  The cuts come from the
 * catalog's uuid order, not from the uuid space: UUIDv7 is time-ordered,
 * so versions crowd in a few stretches of it.  Every unit gets a weight
 * for sort_units (a whole filespace its catalog counters).
 */
static int
add_units(struct rs *r, const struct cat_fs *f, uint64_t tfs, uint64_t count,
    uint64_t tcount, struct err *e)
{
	struct rrun *run = r->run;
	uint8_t (*marks)[16] = NULL;
	uint64_t *w = NULL;
	uint64_t const diff = count > tcount ? count - tcount : tcount - count;
	uint64_t pieces = 1;
	size_t n = 0;
	int const first = tcount == 0 && count > 0;
	int rc;

	if (run->maxsess > 1 && diff >= 2 * REPL_UNIT_OBJECTS) {
		pieces = count / REPL_UNIT_OBJECTS;
		if (pieces > REPL_UNITS_PER_SESSION * (uint64_t)run->maxsess)
			pieces = REPL_UNITS_PER_SESSION *
			    (uint64_t)run->maxsess;
	}
	if (pieces > 1) {
		if ((marks = calloc((size_t)pieces, sizeof(*marks))) == NULL ||
		    (w = calloc((size_t)pieces, sizeof(*w))) == NULL) {
			rc = err_set(e, COFFER_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = cat_obj_uuid_marks(r->c, f->id, f->replrule ==
		    CAT_REPLRULE_ACTIVE, REPL_UNIT_ROW_BYTES, pieces, marks, w,
		    (size_t)pieces - 1, &n, e)) != 0)
			goto out;
	}
	for (size_t i = 0; i <= n; i++) {
		struct runit *u = unit_add(run, f, tfs, first);

		if (u == NULL) {
			rc = err_set(e, COFFER_ENOMEM, "out of memory");
			goto out;
		}
		u->weight = w != NULL ? w[i] : f->bytes + f->objects *
		    REPL_UNIT_ROW_BYTES;
		if (i > 0) {
			u->has_lo = 1;
			memcpy(u->lo, marks[i - 1], 16);
		}
		if (i < n) {
			u->has_hi = 1;
			memcpy(u->hi, marks[i], 16);
		}
	}
	rc = 0;
out:
	free(marks);
	free(w);
	return rc;
}

static int
heavier_first(const void *a, const void *b)
{
	const struct runit *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * The heaviest units first (a VM's disk, a range with a large file), so
 * that the sessions end together: what is left at the end are the small
 * ones, which the sessions free by then share.  One session keeps the
 * filespaces' order.
 */
static void
sort_units(struct rrun *run)
{
	if (run->maxsess > 1 && run->nunits > 1)
		qsort(run->units, run->nunits, sizeof(run->units[0]),
		    heavier_first);
}

/* Merge one unit's range. */
static int
run_unit(struct rs *r, struct runit *u, struct err *e)
{
	int rc;

	r->u = u;
	snprintf(r->fsname, sizeof(r->fsname), "%s", u->f->name);
	r->fs = u->f->id;
	r->tfs = u->tfs;
	r->active_only = u->active_only;
	r->fs_sent = r->fs_bytes = 0;
	/*
	 * A first replication reads nearly every chunk, in UUID order: let
	 * the containers be read ahead whole (later ones send only the new
	 * chunks, and must not read the old containers for them).
	 */
	if (u->first && !r->ahead) {
		pool_reader_readahead(r->rd);
		r->ahead = 1;
	}
	rc = merge(r, e);
	u->sent = r->fs_sent;
	u->bytes = r->fs_bytes;
	u->done = rc == 0;
	r->u = NULL;
	return rc;
}

/* The first failure is the run's, named by its filespace and session. */
static void
run_fail(struct rs *r, const struct runit *u, const struct err *e)
{
	struct rrun *run = r->run;

	pthread_mutex_lock(&run->lock);
	if (!run->failed) {
		run->failed = 1;
		run->err = *e;
		if (run->err.code == 0)
			run->err.code = COFFER_EINTERNAL;
		if (u != NULL)
			err_wrap(&run->err, "filespace %s", u->f->name);
		if (run->nsess > 1)
			err_wrap(&run->err, "replication session %d of %d",
			    r->id, run->nsess);
	}
	pthread_mutex_unlock(&run->lock);
}

/* Take units until none is left or the run stops. */
static void
work(struct rs *r, struct err *e)
{
	struct rrun *run = r->run;

	for (;;) {
		struct runit *u = NULL;

		pthread_mutex_lock(&run->lock);
		if (!run->failed && run->next < run->nunits)
			u = &run->units[run->next++];
		pthread_mutex_unlock(&run->lock);
		if (u == NULL)
			return;
		if (run_unit(r, u, e) != 0) {
			run_fail(r, u, e);
			return;
		}
	}
}

/* A further session's thread, for one node: connect, name it, work, close. */
static void *
helper_main(void *arg)
{
	struct rs *r = arg;
	struct err e;

	err_clear(&e);
	if (rs_open(r, &e) != 0 || send_node(r, r->run->a, &e) != 0)
		run_fail(r, NULL, &e);
	else
		work(r, &e);
	rs_close(r);
	return NULL;
}

/*
 * Run the node's units on up to maxsess sessions: ours, the first, in
 * this thread, the others in threads of their own that end with the node
 * (so that none sits idle past the target's IDLETIMEOUT).
 */
static int
run_units(struct rrun *run, struct err *e)
{
	struct err mine;
	int n = run->maxsess, started = 0;

	if ((size_t)n > run->nunits)
		n = (int)run->nunits;
	if (n < 1)
		return 0;
	run->next = 0;
	run->failed = 0;
	run->nsess = n;
	for (int i = 1; i < n; i++) {
		if (run->rs[i].run == NULL)
			rs_init(&run->rs[i], run, i + 1);
		if (pthread_create(&run->rs[i].th, NULL, helper_main,
		    &run->rs[i]) != 0) {
			err_set(&mine, COFFER_EINTERNAL, "cannot start "
			    "replication session %d", i + 1);
			run_fail(&run->rs[0], NULL, &mine);
			break;
		}
		started++;
	}
	err_clear(&mine);
	work(&run->rs[0], &mine);
	for (int i = 1; i <= started; i++)
		pthread_join(run->rs[i].th, NULL);
	run->nsess = 1;
	if (!run->failed)
		return 0;
	if (e != NULL)
		*e = run->err;
	return run->err.code;
}

/* ---- filespaces and nodes ---- */

/* Compare a filespace's digests: equal ends it, else its units queue. */
static int
plan_fs(struct rs *r, const struct cat_fs *f, struct err *e)
{
	struct wire_rd rd;
	uint8_t mine[32], theirs[32];
	uint64_t count, tcount, tfs;
	int rc;

	snprintf(r->fsname, sizeof(r->fsname), "%s", f->name);
	if ((rc = cat_obj_digest(r->c, f->id, f->replrule ==
	    CAT_REPLRULE_ACTIVE, mine, &count, e)) != 0)
		return rc;
	wire_buf_reset(&r->wb);
	wire_put_str(&r->wb, f->name);
	wire_put_str(&r->wb, f->type);
	wire_put_u8(&r->wb, (uint8_t)f->drprotect);
	wire_put_u32(&r->wb, f->drpriority);
	if ((rc = net_send(r->conn, PT_REPL_FS, &r->wb, e)) != 0 ||
	    (rc = net_recv_type(r->conn, PT_REPL_FS_OK, &rd, e)) != 0)
		return rc;
	if ((rc = wire_get_u64(&rd, &tfs, e)) != 0 ||
	    (rc = wire_get_u64(&rd, &tcount, e)) != 0 ||
	    (rc = wire_get_raw(&rd, theirs, 32, e)) != 0 ||
	    (rc = wire_rd_end(&rd, e)) != 0)
		return err_wrap(e, "REPL_FS_OK");
	r->st->filespaces++;
	if (count == tcount && memcmp(mine, theirs, 32) == 0 &&
	    !r->rp->verify) {
		r->st->consistent++;
		return 0;
	}
	return add_units(r, f, tfs, count, tcount, e);
}

/* QUERY REPLICATION's row: what the filespace's units sent, once all ended. */
static int
record_fs(struct rs *r, const struct cat_fs *f, int64_t t0, struct err *e)
{
	struct rrun *run = r->run;
	struct cat_repl cr;

	memset(&cr, 0, sizeof(cr));
	for (size_t i = 0; i < run->nunits; i++) {
		const struct runit *u = &run->units[i];

		if (u->f != f)
			continue;
		if (!u->done)
			return 0;
		cr.objects += u->sent;
		cr.bytes += u->bytes;
	}
	snprintf(cr.node, sizeof(cr.node), "%s", r->node);
	cr.fs_id = f->id;
	snprintf(cr.fs_name, sizeof(cr.fs_name), "%s", f->name);
	snprintf(cr.target, sizeof(cr.target), "%s", net_server_name(r->conn));
	cr.last_start = t0;
	cr.last_end = time(NULL);
	snprintf(cr.status, sizeof(cr.status), "%s", "Completed");
	return cat_repl_set(r->c, &cr, e);
}

/* Digests first, then the units on the sessions, then the rows. */
static int
repl_filespaces(struct rs *r, struct cat_fs *fs, size_t nfs, struct err *e)
{
	int64_t *t0 = NULL;
	size_t planned = 0;
	int rc = 0;

	if (nfs > 0 && (t0 = calloc(nfs, sizeof(*t0))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	r->run->nunits = 0;
	for (; planned < nfs && rc == 0; planned++) {
		t0[planned] = time(NULL);
		if (fs[planned].replrule != CAT_REPLRULE_NONE)
			rc = plan_fs(r, &fs[planned], e);
	}
	if (rc == 0) {
		sort_units(r->run);
		rc = run_units(r->run, e);
	}
	/* Filespaces done are recorded even when another one failed. */
	for (size_t i = 0; i < planned; i++) {
		struct err scratch;
		int r2;

		if (fs[i].replrule == CAT_REPLRULE_NONE)
			continue;
		r2 = record_fs(r, &fs[i], t0[i], rc == 0 ? e : &scratch);
		if (rc == 0)
			rc = r2;
	}
	free(t0);
	return rc;
}

static int
repl_node(struct rs *r, const struct cat_account *a, struct err *e)
{
	struct cat_fs *fs = NULL;
	size_t nfs = 0;
	struct cat_account now;
	struct wire_rd rd;
	int64_t const when = time(NULL);
	int rc;

	r->run->a = a;
	if ((rc = send_node(r, a, e)) != 0)
		return rc;
	if ((rc = cat_fs_array(r->c, a->name, &fs, &nfs, e)) != 0 ||
	    (rc = repl_filespaces(r, fs, nfs, e)) != 0)
		goto out;
	wire_buf_reset(&r->wb);
	wire_put_str(&r->wb, a->name);
	wire_put_u64(&r->wb, (uint64_t)when);
	/* a was read before this node's run began: what it carried. */
	wire_put_u64(&r->wb, (uint64_t)a->last_backup);
	/* Every batch committed at the target, the node not yet done. */
	FAULT_POINT("repl.source.before_done");
	if ((rc = net_send(r->conn, PT_REPL_DONE, &r->wb, e)) != 0 ||
	    (rc = net_recv_type(r->conn, PT_REPL_OK, &rd, e)) != 0)
		goto out;
	if ((rc = cat_account_get(r->c, CAT_KIND_NODE, a->name, &now,
	    e)) == 0) {
		now.last_repl = when;
		now.repl_backup = a->last_backup;
		rc = cat_account_update(r->c, &now, e);
	}
	/* Done at both ends; the process has not reported it yet. */
	FAULT_POINT("repl.source.after_done");
	r->st->nodes++;
out:
	free(fs);
	return rc;
}

static int
sends(const struct cat_account *a)
{
	return a->repl_state && (a->repl_mode == CAT_REPLMODE_SEND ||
	    a->repl_mode == CAT_REPLMODE_SYNCSEND);
}

int
repl_connect(struct cat *c, struct net_conn **out, struct err *e)
{
	struct cat_server sv;
	struct net_opts o;
	char me[CAT_NAME_MAX + 1], target[CAT_NAME_MAX + 1], addr[300];
	int rc;

	*out = NULL;
	if (cat_setting_get(c, "name", me, sizeof(me), NULL) != 0)
		return err_set(e, COFFER_EINTERNAL, "this server has no name");
	if (cat_setting_get(c, "replserver", target, sizeof(target),
	    NULL) != 0 || target[0] == '\0')
		return err_set(e, COFFER_ENOTFOUND, "ANR1703E no replication "
		    "server is set: define server, then set replserver");
	if ((rc = cat_server_get(c, target, &sv, e)) != 0)
		return err_wrap(e, "replication server %s", target);
	snprintf(addr, sizeof(addr), strchr(sv.hladdress, ':') ? "[%s]:%d" :
	    "%s:%d", sv.hladdress, sv.lladdress);
	memset(&o, 0, sizeof(o));
	o.server = addr;
	o.ca_file = sv.cafile;
	o.program = "cofferd";
	*out = net_connect_server(&o, me, sv.name, sv.key, e);
	return *out == NULL ? (e ? e->code : COFFER_EIO) : 0;
}

/* MAXSESSIONS not given: a session per core, up to the default (repl.h). */
static int
default_sessions(void)
{
	long const n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > REPL_SESSIONS_DEFAULT ? REPL_SESSIONS_DEFAULT : (int)n;
}

/* Every session's counts, added up. */
static void
stats_sum(const struct rrun *run, struct repl_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < run->maxsess; i++) {
		const struct repl_stats *s = &run->rs[i].own;

		st->nodes += s->nodes;
		st->filespaces += s->filespaces;
		st->consistent += s->consistent;
		st->objects_sent += s->objects_sent;
		st->chunks_sent += s->chunks_sent;
		st->bytes_sent += s->bytes_sent;
		st->objects_deleted += s->objects_deleted;
		st->objects_updated += s->objects_updated;
		st->objects_failed += s->objects_failed;
		st->differences += s->differences;
		st->wire_bytes += s->wire_bytes;
	}
}

int
repl_run(struct proc *p, const struct repl_params *rp, struct repl_stats *st,
    struct err *e)
{
	struct cat_account *nodes = NULL;
	size_t nnodes = 0;
	struct rrun run;
	struct rs *r;
	int rc, named = 0;

	memset(st, 0, sizeof(*st));
	memset(&run, 0, sizeof(run));
	pthread_mutex_init(&run.lock, NULL);
	run.p = p;
	run.rp = rp;
	run.maxsess = rp->maxsessions > 0 ? rp->maxsessions :
	    default_sessions();
	if (run.maxsess > REPL_SESSIONS_MAX)
		run.maxsess = REPL_SESSIONS_MAX;
	run.nsess = 1;
	if ((run.rs = calloc((size_t)run.maxsess, sizeof(*run.rs))) == NULL) {
		pthread_mutex_destroy(&run.lock);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	r = &run.rs[0];
	rs_init(r, &run, 1);
	if ((rc = cat_open(rp->catpath, &r->c, e)) != 0)
		goto out;
	if ((r->rd = pool_reader_new(rp->pool, e)) == NULL) {
		rc = e ? e->code : COFFER_ENOMEM;
		goto out;
	}
	if ((rc = cat_account_array(r->c, CAT_KIND_NODE, rp->pattern, &nodes,
	    &nnodes, e)) != 0)
		goto out;
	named = rp->pattern != NULL && strchr(rp->pattern, '*') == NULL;
	if (nnodes == 0) {
		rc = err_set(e, COFFER_ENOTFOUND, "ANR2034E no node matches "
		    "%s", rp->pattern ? rp->pattern : "*");
		goto out;
	}
	if (named && !sends(&nodes[0])) {
		rc = err_set(e, COFFER_EINVAL, "ANR1626E node %s is not set to "
		    "replicate: it needs replstate=enabled and replmode=send "
		    "(update node)", nodes[0].name);
		goto out;
	}
	if (p != NULL)
		proc_set_status(p, "Connecting to the replication server");
	if ((rc = repl_connect(r->c, &r->conn, e)) != 0)
		goto out;
	r->wire0 = net_bytes_out(r->conn);
	for (size_t i = 0; i < nnodes && rc == 0; i++)
		if (sends(&nodes[i]))
			rc = repl_node(r, &nodes[i], e);
	if (rc != 0 && r->node[0] != '\0')
		err_wrap(e, "node %s", r->node);
out:
	free(nodes);
	for (int i = 0; i < run.maxsess; i++)
		if (run.rs[i].run != NULL)
			rs_free(&run.rs[i]);
	stats_sum(&run, st);
	free(run.rs);
	free(run.units);
	pthread_mutex_destroy(&run.lock);
	return rc;
}
