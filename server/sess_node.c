/*
 * sess_node.c - what a node may do: back up, restore and query its own
 * data.  Every filespace and object id a node names is checked to be its
 * own before anything is read or written.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "codec.h"
#include "err.h"
#include "obj_proto.h"
#include "pool.h"
#include "pool_recipe.h"
#include "sess.h"
#include "srv.h"
#include "stgpool.h"
#include "util.h"

#define PEND_MAX	200000		/* changes in one transaction */
/*
 * Their metadata and recipes, held until TXN_COMMIT: 36 bytes of recipe
 * per 64 KiB block is about 455 GiB of VM disks in one transaction.  A VM
 * version larger than one transaction should be is sent in parts
 * (PROTO_TXN_STAGE), each bounded by this, not the whole; past it the
 * transaction fails, saying so (pend_full).
 */
#define PEND_BYTES_MAX	PROTO_TXN_PEND_MAX
#define PEND_BLOCK	(64u << 10)	/* a VM disk's block, for the message */
#define PAGE_BYTES	(4u << 20)	/* reply page size goal */

/* ---- ownership ---- */

const char *
sess_node(const struct sess *s)
{
	return s->kind == PROTO_KIND_NODE ? s->name : s->repl_node;
}

int
sess_own_fs(struct sess *s, uint64_t fs, struct err *e)
{
	struct cat_fs f;
	int r;

	for (int i = 0; i < s->nowned; i++)
		if (s->owned_fs[i] == fs)
			return 0;
	if ((r = cat_fs_get_id(s->w->cat, fs, &f, NULL)) != 0 ||
	    strcmp(f.node, sess_node(s)) != 0)
		return err_set(e, COFFER_EPERM, "filespace %" PRIu64 " does not "
		    "belong to node %s", fs, sess_node(s));
	if (s->nowned < (int)(sizeof(s->owned_fs) / sizeof(s->owned_fs[0])))
		s->owned_fs[s->nowned++] = fs;
	return 0;
}

/* ---- transactions ---- */

static void
pend_free(struct sess_pend *p)
{
	free((char *)p->obj.path);
	free((char *)p->obj.link);
	free((uint8_t *)p->obj.recipe);
	free(p);
}

void
sess_txn_drop(struct sess *s)
{
	while (s->pend != NULL) {
		struct sess_pend *p = s->pend;

		s->pend = p->next;
		pend_free(p);
	}
	s->pend_tail = &s->pend;
	s->npend = s->pend_bytes = 0;
	s->nfailed = 0;
	s->txn_bytes = 0;
	pool_txn_abort(s->txn);
	s->txn = NULL;
	s->not_target = 0;
}

int
sess_txn_get(struct sess *s, struct err *e)
{
	int r;

	if (s->txn != NULL)
		return 0;
	if (s->backup_start == 0)
		s->backup_start = time(NULL);
	if ((r = pool_txn_begin(s->w->srv->pool, &s->txn, e)) != 0)
		return r;
	/* Where this node's backups go: its domain's destination. */
	pool_txn_set_store(s->txn, stgpool_node_store(s->w->cat,
	    sess_node(s)));
	return 0;
}

void
sess_fail_object(struct sess *s, const char *path, size_t plen, const char *why)
{
	struct sess_failure *f;

	if (s->nfailed >= PROTO_FAILED_MAX) {
		s->nfailed++;
		return;
	}
	f = &s->failed[s->nfailed++];
	snprintf(f->path, sizeof(f->path), "%.*s", (int)plen, path);
	snprintf(f->reason, sizeof(f->reason), "%s", why);
}

/*
 * The transaction's pending objects would pass PEND_BYTES_MAX.  The
 * session ends with this error and the transaction is dropped: an
 * all-or-nothing one (a VM version) leaves nothing, as a killed backup
 * does.  The message names the limit, in what a user measures it by.
 * Spilling these recipes (to a temporary table) would not be enough: the
 * pool transaction holds every chunk it references and stores in memory
 * too (pool_txn refs and news, about 80 bytes a distinct chunk).  So a
 * client sends a large VM version in parts (PROTO_TXN_STAGE), and only a
 * client that does not (COFFER_VM_STAGE=0, or an older one) meets this.
 */
static int
pend_full(struct sess *s, uint64_t fs, const struct proto_obj *o,
    struct err *e)
{
	unsigned const mib = PEND_BYTES_MAX >> 20;
	unsigned const gib = (unsigned)(((uint64_t)PEND_BYTES_MAX /
	    POOL_RECIPE_ENTRY * PEND_BLOCK) >> 30);

	(void)cat_actlog(s->w->cat, CAT_SEV_ERROR, 1702, s->name,
	    "Transaction of node %s for filespace %" PRIu64 " refused at "
	    "%.*s: its objects' recipes pass the server's limit of %u MiB "
	    "for one transaction.", s->name, fs, (int)o->path_len, o->path,
	    mib);
	return err_set(e, COFFER_ETOOBIG, "%.*s: the transaction's objects "
	    "hold more than %u MiB of recipes and metadata, the server's "
	    "limit for one transaction: about %u GiB of VM disks (64 KiB "
	    "blocks) unless the version is sent in parts (COFFER_VM_STAGE); "
	    "nothing of it is committed", (int)o->path_len, o->path, mib,
	    gib);
}

int
sess_pend_add(struct sess *s, int op, uint64_t fs, const struct proto_obj *o,
    struct err *e)
{
	struct sess_pend *p;

	if (s->npend >= PEND_MAX)
		return err_set(e, COFFER_ETOOBIG, "transaction holds more than "
		    "%d changes; commit more often", PEND_MAX);
	if (s->pend_bytes + o->path_len + o->link_len + o->recipe_len >
	    PEND_BYTES_MAX)
		return pend_full(s, fs, o, e);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	p->op = op;
	p->fs = fs;
	p->obj.fs_id = fs;
	p->obj.type = o->type;
	/* Kept for copies (REPL_OBJ); a client's OBJ_PUT gets new ones. */
	p->obj.state = o->state == CAT_ACTIVE ? CAT_ACTIVE : CAT_INACTIVE;
	p->obj.inserted = o->inserted;
	p->obj.deactivated = o->deactivated;
	memcpy(p->obj.uuid, o->uuid, sizeof(p->obj.uuid));
	p->obj.size = o->size;
	p->obj.mode = o->mode;
	p->obj.uid = o->uid;
	p->obj.gid = o->gid;
	p->obj.mtime_ns = o->mtime_ns;
	p->obj.ctime_ns = o->ctime_ns;
	if ((p->obj.path = strndup(o->path, o->path_len)) == NULL)
		goto nomem;
	if (o->link != NULL && (p->obj.link = strndup(o->link, o->link_len)) ==
	    NULL)
		goto nomem;
	if (o->recipe_len > 0) {
		uint8_t *rc = malloc(o->recipe_len);

		if (rc == NULL)
			goto nomem;
		memcpy(rc, o->recipe, o->recipe_len);
		p->obj.recipe = rc;
		p->obj.recipe_len = o->recipe_len;
	}
	*s->pend_tail = p;
	s->pend_tail = &p->next;
	s->npend++;
	s->pend_bytes += sizeof(*p) + o->path_len + o->link_len +
	    o->recipe_len;
	return 0;
nomem:
	if (p != NULL)
		pend_free(p);
	return err_set(e, COFFER_ENOMEM, "out of memory");
}

/* Version tags of staged parts: unique while this server runs. */
static uint64_t stage_seq;

static uint64_t
stage_seq_next(void)
{
	return __atomic_add_fetch(&stage_seq, 1, __ATOMIC_RELAXED);
}

/* ---- backup frames ---- */

static int
on_fs_open(struct sess *s, struct wire_rd *r, struct err *e)
{
	char name[CAT_PATH_MAX], type[32];
	uint64_t id;
	int rc;

	if ((rc = wire_get_str(r, CAT_PATH_MAX - 1, name, sizeof(name), e)) ||
	    (rc = wire_get_str(r, 31, type, sizeof(type), e)) ||
	    (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = proto_fs_name_check(name, e)) != 0)
		return rc;
	if ((rc = cat_fs_open(s->w->cat, s->name, name, type, &id, e)) != 0)
		return rc;
	wire_put_u64(&s->out, id);
	sess_reply(s, PT_FS_OK);
	return 0;
}

struct page {
	struct sess	*s;
	uint32_t	 n;
	size_t		 count_at;	/* where n goes in the reply */
	int		 recipes;
	char		 last[CAT_PATH_MAX];
	int		 full;
};

static int
page_row(void *arg, const struct cat_obj *o)
{
	struct page *pg = arg;
	struct proto_obj po;

	/* Stop at a path boundary once the page is big enough. */
	if (pg->s->out.len > PAGE_BYTES && strcmp(o->path, pg->last) != 0) {
		pg->full = 1;
		return 1;
	}
	obj_proto_from_cat(&po, o);
	proto_put_obj(&pg->s->out, &po, pg->recipes);
	snprintf(pg->last, sizeof(pg->last), "%s", o->path);
	pg->n++;
	return 0;
}

/* Reply layout: u8 more, u32 n, rows: n is patched in at the end. */
static void
page_begin(struct sess *s, struct page *pg, int recipes)
{
	memset(pg, 0, sizeof(*pg));
	pg->s = s;
	pg->recipes = recipes;
	wire_buf_reset(&s->out);
	wire_put_u8(&s->out, 0);
	pg->count_at = s->out.len;
	wire_put_u32(&s->out, 0);
}

static void
page_end(struct sess *s, struct page *pg, int more, uint16_t type)
{
	if (s->out.p != NULL && !s->out.failed) {
		s->out.p[0] = (uint8_t)(more || pg->full);
		s->out.p[pg->count_at] = (uint8_t)pg->n;
		s->out.p[pg->count_at + 1] = (uint8_t)(pg->n >> 8);
		s->out.p[pg->count_at + 2] = (uint8_t)(pg->n >> 16);
		s->out.p[pg->count_at + 3] = (uint8_t)(pg->n >> 24);
	}
	sess_reply(s, type);
}

static int
on_inv_get(struct sess *s, struct wire_rd *r, struct err *e)
{
	char after[CAT_PATH_MAX];
	struct page pg;
	uint64_t fs;
	uint32_t limit;
	int more = 0, rc;

	if ((rc = wire_get_u64(r, &fs, e)) ||
	    (rc = wire_get_str(r, CAT_PATH_MAX - 1, after, sizeof(after), e)) ||
	    (rc = wire_get_u32(r, &limit, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = sess_own_fs(s, fs, e)) != 0)
		return rc;
	if (limit == 0 || limit > PROTO_PAGE_MAX)
		limit = PROTO_PAGE_MAX;
	page_begin(s, &pg, 0);
	rc = cat_obj_inventory(s->w->cat, fs, after, (int)limit, page_row, &pg,
	    &more, e);
	if (rc < 0)
		return rc;
	page_end(s, &pg, more, PT_INV_PAGE);
	return 0;
}

static int
on_chunk_ask(struct sess *s, struct wire_rd *r, struct err *e)
{
	uint8_t bits[PROTO_CHUNK_BATCH / 8];
	uint32_t n;
	int rc;

	if ((rc = wire_get_u32(r, &n, e)) != 0)
		return rc;
	if (n > PROTO_CHUNK_BATCH || wire_rd_left(r) != (size_t)n * HASH_LEN)
		return err_set(e, COFFER_EPROTO, "CHUNK_ASK of %u hashes with "
		    "%zu bytes", n, wire_rd_left(r));
	if ((rc = sess_txn_get(s, e)) != 0)
		return rc;
	memset(bits, 0, sizeof(bits));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t h[HASH_LEN];

		(void)wire_get_raw(r, h, HASH_LEN, NULL);
		/* Present chunks are pinned until this transaction ends. */
		if ((rc = pool_txn_pin(s->txn, h, e)) < 0)
			return rc;
		if (rc == 0)
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	wire_put_u32(&s->out, n);
	wire_put_raw(&s->out, bits, (n + 7) / 8);
	sess_reply(s, PT_CHUNK_NEED);
	return 0;
}

static int
on_chunk_put(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct pool_chunk c;
	const uint8_t *p;
	size_t n;
	int isnew = 0, rc;

	if ((rc = wire_get_raw(r, c.hash, HASH_LEN, e)) ||
	    (rc = wire_get_u32(r, &c.raw_len, e)) ||
	    (rc = wire_get_u8(r, &c.codec, e)) ||
	    (rc = wire_get_bytes(r, codec_bound(POOL_RAW_MAX), &p, &n, e)) ||
	    (rc = wire_rd_end(r, e)))
		return rc;
	c.stored = p;
	c.stored_len = (uint32_t)n;
	/*
	 * A chunk is named by its content: check it before anyone dedups it,
	 * here or, for a frame of a batch, before the batch was dispatched.
	 */
	if (s->w->srv->o.verify_chunks) {
		if (!sess_pre_verified(s, &c, &rc, e))
			rc = pool_chunk_verify(s->w->rd, &c, e);
		if (rc != 0)
			return err_wrap(e, "chunk rejected");
	}
	if ((rc = sess_txn_get(s, e)) != 0 ||
	    (rc = pool_txn_store(s->txn, &c, &isnew, e)) != 0)
		return rc;
	if (isnew)
		s->txn_bytes += n;
	return 0;
}

/* Reference every chunk of a recipe; undo on failure. */
int
sess_ref_recipe(struct sess *s, const struct proto_obj *o, char *why, size_t wlen)
{
	size_t n = 0, i;
	uint64_t total = 0;
	struct err e;

	err_clear(&e);
	if (pool_recipe_count(o->recipe, o->recipe_len, &n, &e) != 0) {
		snprintf(why, wlen, "%.200s", e.msg);
		return -1;
	}
	for (i = 0; i < n; i++)
		total += pool_recipe_len(o->recipe, i);
	if (total != o->size) {
		snprintf(why, wlen, "recipe holds %" PRIu64 " bytes, object "
		    "size is %" PRIu64, total, o->size);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (pool_recipe_is_zero(o->recipe, i))
			continue;
		if (pool_txn_ref(s->txn, pool_recipe_hash(o->recipe, i),
		    &e) != 0)
			break;
	}
	if (i == n)
		return 0;
	snprintf(why, wlen, "%.200s", e.msg);
	while (i-- > 0)
		if (!pool_recipe_is_zero(o->recipe, i))
			(void)pool_txn_unref(s->txn,
			    pool_recipe_hash(o->recipe, i), NULL);
	return -1;
}

static int
on_obj_put(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct proto_obj o;
	char why[256];
	uint64_t fs;
	int rc;

	if ((rc = wire_get_u64(r, &fs, e)) ||
	    (rc = proto_get_obj(r, &o, 1, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = sess_own_fs(s, fs, e)) != 0 || (rc = sess_txn_get(s, e)) != 0)
		return rc;
	if (o.type < CAT_OBJ_FILE || o.type > CAT_OBJ_VMDISK || o.path[0] != '/')
		return err_set(e, COFFER_EPROTO, "object type %u or path "
		    "invalid", o.type);
	if (o.recipe_len > 0 && sess_ref_recipe(s, &o, why, sizeof(why)) != 0) {
		sess_fail_object(s, o.path, o.path_len, why);
		return 0;
	}
	if (o.recipe_len == 0 && o.size != 0 && o.type != CAT_OBJ_DIR &&
	    o.type != CAT_OBJ_SYMLINK && o.type != CAT_OBJ_HARDLINK) {
		sess_fail_object(s, o.path, o.path_len, "data missing");
		return 0;
	}
	return sess_pend_add(s, PT_OBJ_PUT, fs, &o, e);
}

static int
on_obj_meta(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct proto_obj o;
	const uint8_t *p;
	uint64_t fs, ct;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = wire_get_u64(r, &fs, e)) ||
	    (rc = wire_get_bytes(r, CAT_PATH_MAX - 1, &p, &o.path_len, e)) ||
	    (rc = wire_get_u32(r, &o.mode, e)) ||
	    (rc = wire_get_u32(r, &o.uid, e)) ||
	    (rc = wire_get_u32(r, &o.gid, e)) ||
	    (rc = wire_get_u64(r, &ct, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if (o.path_len == 0 || memchr(p, '\0', o.path_len) != NULL)
		return err_set(e, COFFER_EPROTO, "bad path");
	o.path = (const char *)p;
	o.ctime_ns = (int64_t)ct;
	if ((rc = sess_own_fs(s, fs, e)) != 0 || (rc = sess_txn_get(s, e)) != 0)
		return rc;
	return sess_pend_add(s, PT_OBJ_META, fs, &o, e);
}

static int
on_obj_gone(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct proto_obj o;
	const uint8_t *p;
	uint64_t fs;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = wire_get_u64(r, &fs, e)) ||
	    (rc = wire_get_bytes(r, CAT_PATH_MAX - 1, &p, &o.path_len, e)) ||
	    (rc = wire_rd_end(r, e)))
		return rc;
	if (o.path_len == 0 || memchr(p, '\0', o.path_len) != NULL)
		return err_set(e, COFFER_EPROTO, "bad path");
	o.path = (const char *)p;
	if ((rc = sess_own_fs(s, fs, e)) != 0 || (rc = sess_txn_get(s, e)) != 0)
		return rc;
	return sess_pend_add(s, PT_OBJ_GONE, fs, &o, e);
}

struct commit_ctx {
	struct sess	*s;
	uint64_t	 fs;
	int		 final;
	int		 atomic;	/* PROTO_TXN_ATOMIC */
	int		 stage;		/* PROTO_TXN_STAGE: a part, kept apart */
	int		 atomic_failed;	/* commit_cb rolled it back */
	uint32_t	 objects;
};

struct del_ctx {
	struct srv	*srv;
	struct err	*e;
};

/* A version's chunks are released with its row: we hold the pool lock. */
static int
release_row(void *arg, const struct cat_obj *o)
{
	struct del_ctx *d = arg;

	if (o->recipe == NULL || o->recipe_len == 0)
		return 0;
	return pool_unref_recipe_locked(d->srv->pool, o->recipe,
	    o->recipe_len, d->e);
}

/* REPL_DEL: the version, and its chunk references. */
static int
repl_delete(struct srv *srv, struct sess_pend *p, struct err *e)
{
	struct del_ctx d = { srv, e };
	int rc;

	if ((rc = cat_obj_get_uuid(srv->pool_cat, p->fs, p->obj.uuid,
	    release_row, &d, e)) != 0)
		return rc;
	return cat_obj_delete_uuid(srv->pool_cat, p->fs, p->obj.uuid, e);
}

/* Apply the pending changes in order; failures are listed, not fatal. */
static int
commit_pending(struct commit_ctx *cc, int64_t now, struct err *e)
{
	struct sess *s = cc->s;
	struct cat *pc = s->w->srv->pool_cat;
	int rc;

	for (struct sess_pend *p = s->pend; p != NULL; p = p->next) {
		switch (p->op) {
		case PT_OBJ_PUT:
			p->obj.inserted = now;
			memset(p->obj.uuid, 0, sizeof(p->obj.uuid));
			rc = cc->stage ? cat_stage_put(pc, s->stage_tag,
			    &p->obj, e) : cat_obj_insert(pc, &p->obj, e);
			cc->objects++;
			break;
		case PT_REPL_OBJ:
			rc = cat_obj_insert_copy(pc, &p->obj, e);
			cc->objects++;
			break;
		case PT_REPL_DEL:
			rc = repl_delete(s->w->srv, p, e);
			break;
		case PT_REPL_STATE:
			rc = cat_obj_set_state(pc, p->fs,
			    p->obj.uuid, p->obj.state, p->obj.deactivated, e);
			break;
		case PT_OBJ_META:
			rc = cat_obj_update_meta(pc, p->fs, p->obj.path,
			    p->obj.mode, p->obj.uid, p->obj.gid,
			    p->obj.ctime_ns, e);
			break;
		default:
			rc = cat_obj_deactivate(pc, p->fs, p->obj.path, now, e);
			break;
		}
		if (rc == COFFER_ENOTFOUND) {
			/* Nothing active to change: not worth failing for. */
			sess_fail_object(s, p->obj.path, strlen(p->obj.path),
			    "no active version to update");
			rc = 0;
		}
		if (rc != 0)
			return err_wrap(e, "%s", p->obj.path);
	}
	return 0;
}

/* Runs inside the pool's index transaction (pool_txn_commit). */
static int
commit_cb(sqlite3 *db, void *arg, struct err *e)
{
	struct commit_ctx *cc = arg;
	struct sess *s = cc->s;
	struct srv *srv = s->w->srv;
	int64_t const now = time(NULL);
	int rc;

	if (srv->pool_cat == NULL &&
	    (rc = cat_attach(db, &srv->pool_cat, e)) != 0)
		return rc;
	/* The version's last commit: its parts first, in their order. */
	if (cc->atomic && !cc->stage && s->stage_tag != 0) {
		uint32_t n;

		if ((rc = cat_stage_publish(srv->pool_cat, s->stage_tag, now,
		    &n, e)) != 0)
			return rc;
		cc->objects += n;
	}
	if ((rc = commit_pending(cc, now, e)) != 0)
		return rc;
	if (cc->atomic && s->nfailed > 0) {
		/*
		 * All or nothing: failing here makes pool_txn_commit roll
		 * the index transaction back, object rows and chunk
		 * references together; the caller answers TXN_OK.
		 */
		cc->atomic_failed = 1;
		return err_set(e, COFFER_ECANCELED, "%u objects failed in an "
		    "all-or-nothing transaction", s->nfailed);
	}
	if (cc->final && cc->fs != 0) {
		struct cat_account a;

		if ((rc = cat_fs_set_backup(srv->pool_cat, cc->fs,
		    s->backup_start ? s->backup_start : now, now, e)) != 0)
			return rc;
		if (cat_account_get(srv->pool_cat, CAT_KIND_NODE, s->name, &a,
		    NULL) == 0) {
			a.last_backup = now;
			if ((rc = cat_account_update(srv->pool_cat, &a, e)) != 0)
				return rc;
		}
	}
	return 0;
}

/* TXN_OK: u32 objects, u64 bytes, u32 nfailed, the failures listed. */
static void
reply_txn_ok(struct sess *s, uint32_t objects, uint64_t bytes)
{
	wire_put_u32(&s->out, objects);
	wire_put_u64(&s->out, bytes);
	wire_put_u32(&s->out, s->nfailed > PROTO_FAILED_MAX ? PROTO_FAILED_MAX
	    : s->nfailed);
	for (uint32_t i = 0; i < s->nfailed && i < PROTO_FAILED_MAX; i++) {
		wire_put_str(&s->out, s->failed[i].path);
		wire_put_str(&s->out, s->failed[i].reason);
	}
	sess_reply(s, PT_TXN_OK);
}

/*
 * An all-or-nothing transaction with failures: nothing was kept (the
 * pool transaction was aborted, or its commit rolled back, which leaves
 * the pool as an abort does: pins released, chunks it stored unnamed by
 * any row, dead space for reclaim).  The client gets the failures.
 */
static void
atomic_rejected(struct sess *s, uint64_t fs)
{
	(void)cat_actlog(s->w->cat, CAT_SEV_WARN, 1701, s->name,
	    "Transaction of node %s for filespace %" PRIu64 " not committed: "
	    "%u objects failed (first: %s: %s).", s->name, fs, s->nfailed,
	    s->failed[0].path, s->failed[0].reason);
	reply_txn_ok(s, 0, 0);
}

/* After a final commit: log it, and name the VM when it was one. */
static void
log_backup_done(struct sess *s, uint64_t fs)
{
	struct cat_fs *f;

	(void)cat_actlog(s->w->cat, CAT_SEV_INFO, 4961, s->name,
	    "Backup of node %s completed.", s->name);
	if (fs == 0 || (f = malloc(sizeof(*f))) == NULL)
		return;
	if (cat_fs_get_id(s->w->cat, fs, f, NULL) == 0 &&
	    proto_fs_is_vm(f->name))
		(void)cat_actlog(s->w->cat, CAT_SEV_INFO, 4142, s->name,
		    "Virtual machine %s of node %s backed up (%" PRIu64
		    " objects).", f->name + PROTO_VM_PREFIX_LEN, s->name,
		    s->backup_objects);
	free(f);
}

/* pool_exec: give back the staged rows' chunk references, drop them. */
struct stage_drop {
	struct srv	*srv;
	uint64_t	 tag;		/* 0: every version's */
	uint32_t	 n;		/* rows dropped */
};

static int
stage_drop_cb(sqlite3 *db, void *arg, struct err *e)
{
	struct stage_drop *sd = arg;
	struct srv *srv = sd->srv;
	struct del_ctx d = { srv, e };
	int rc;

	if (srv->pool_cat == NULL &&
	    (rc = cat_attach(db, &srv->pool_cat, e)) != 0)
		return rc;
	return cat_stage_drop(srv->pool_cat, sd->tag, release_row, &d, &sd->n,
	    e);
}

/* At start-up: every staged row is of a version that will not finish. */
int
sess_stage_recover(struct srv *srv, uint32_t *n, struct err *e)
{
	struct stage_drop sd = { srv, 0, 0 };
	int r;

	r = pool_exec(srv->pool, stage_drop_cb, &sd, e);
	*n = sd.n;
	return r;
}

void
sess_stage_drop(struct sess *s)
{
	struct stage_drop sd = { s->w->srv, s->stage_tag, 0 };
	struct err e;

	if (s->stage_tag == 0)
		return;
	s->stage_tag = 0;
	s->stage_fs = 0;
	err_clear(&e);
	/* Left behind on failure: start-up drops every staged row. */
	if (pool_exec(s->w->srv->pool, stage_drop_cb, &sd, &e) != 0)
		(void)cat_actlog(s->w->cat, CAT_SEV_ERROR, 1703, s->name,
		    "Staged objects of an unfinished version of node %s not "
		    "dropped (they are at the next start): %s", s->name,
		    e.msg);
}

/*
 * A part of an all-or-nothing version (PROTO_TXN_STAGE): of one
 * filespace, OBJ_PUTs only, so that nothing but new versions waits
 * unseen.  The first part names the version.
 */
static int
stage_check(struct sess *s, uint64_t fs, uint8_t flags, struct err *e)
{
	if (!(flags & PROTO_TXN_ATOMIC) || (flags & PROTO_TXN_FINAL) ||
	    fs == 0 || (s->stage_tag != 0 && s->stage_fs != fs))
		return err_set(e, COFFER_EPROTO, "TXN_COMMIT STAGE needs "
		    "ATOMIC, no FINAL and the version's one filespace");
	for (const struct sess_pend *p = s->pend; p != NULL; p = p->next)
		if (p->op != PT_OBJ_PUT)
			return err_set(e, COFFER_EPROTO, "TXN_COMMIT STAGE "
			    "with %s pending: a part holds new objects only",
			    proto_type_name((uint16_t)p->op));
	if (s->stage_tag == 0) {
		s->stage_tag = stage_seq_next();
		s->stage_fs = fs;
	}
	return 0;
}

static int
on_txn_commit(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct commit_ctx cc;
	uint64_t fs;
	uint8_t flags;
	int rc;

	if ((rc = wire_get_u64(r, &fs, e)) || (rc = wire_get_u8(r, &flags, e))
	    || (rc = wire_rd_end(r, e)))
		return rc;
	if ((flags & ~PROTO_TXN_FLAGS) != 0 || ((flags & PROTO_TXN_STAGE) &&
	    !(s->features & PROTO_FEAT_TXN_STAGE)))
		return err_set(e, COFFER_EPROTO, "unknown TXN_COMMIT flags "
		    "0x%02x", flags);
	if (fs != 0 && (rc = sess_own_fs(s, fs, e)) != 0)
		return rc;
	memset(&cc, 0, sizeof(cc));
	cc.s = s;
	cc.fs = fs;
	cc.final = (flags & PROTO_TXN_FINAL) != 0;
	cc.atomic = (flags & PROTO_TXN_ATOMIC) != 0;
	cc.stage = (flags & PROTO_TXN_STAGE) != 0;
	if (cc.stage && (rc = stage_check(s, fs, flags, e)) != 0)
		return rc;
	if (cc.atomic && !cc.stage && s->stage_tag != 0 && fs != s->stage_fs)
		return err_set(e, COFFER_EPROTO, "TXN_COMMIT ATOMIC of "
		    "filespace %" PRIu64 " with parts of %" PRIu64 " staged",
		    fs, s->stage_fs);
	if (cc.atomic && s->stage_failed && s->nfailed == 0)
		sess_fail_object(s, "(version)", 9, "an earlier part of this "
		    "all-or-nothing version failed");
	if (cc.atomic && s->nfailed > 0) {
		/* Failed before commit: no need to write anything. */
		atomic_rejected(s, fs);
		goto rejected;
	}
	if (s->txn == NULL && (rc = sess_txn_get(s, e)) != 0)
		return rc;
	rc = pool_txn_commit(s->txn, commit_cb, &cc, e);
	s->txn = NULL;
	if (rc != 0 && cc.atomic_failed) {
		atomic_rejected(s, fs);
		goto rejected;
	}
	if (rc != 0) {
		/* The client learns it and may retry; nothing was kept. */
		(void)cat_actlog(s->w->cat, CAT_SEV_ERROR, 1700, s->name,
		    "Transaction of node %s failed: %s", s->name, e->msg);
		sess_txn_drop(s);
		return rc;
	}
	reply_txn_ok(s, cc.objects, s->txn_bytes);
	s->backup_objects += cc.objects;
	if (cc.atomic && !cc.stage) {
		/* Published: the parts are versions now. */
		s->stage_tag = 0;
		s->stage_fs = 0;
	}
	if (cc.final)
		log_backup_done(s, fs);
	goto done;
rejected:
	/* Nothing of the version is kept; its later parts fail too. */
	sess_stage_drop(s);
	s->stage_failed = cc.stage;
done:
	if (cc.final) {
		s->backup_start = 0;
		s->backup_objects = 0;
	}
	sess_txn_drop(s);
	return 0;
}

/* Give up the open transaction: nothing of it is kept. */
static int
on_txn_abort(struct sess *s, struct wire_rd *r, struct err *e)
{
	uint64_t fs;
	int rc;

	if ((rc = wire_get_u64(r, &fs, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if (fs != 0 && (rc = sess_own_fs(s, fs, e)) != 0)
		return rc;
	/* Pins go with the pool txn; its new chunks are dead space (3). */
	sess_txn_drop(s);
	sess_stage_drop(s);
	s->stage_failed = 0;
	reply_txn_ok(s, 0, 0);
	return 0;
}

struct recipe_find {
	struct sess	*s;
	const char	*path;
	int		 found;
};

static int
recipe_row(void *arg, const struct cat_obj *o)
{
	struct recipe_find *rf = arg;

	/* The first row under prefix path is path itself, if it is there. */
	if (strcmp(o->path, rf->path) == 0 && (o->type == CAT_OBJ_FILE ||
	    o->type == CAT_OBJ_VMDISK)) {
		wire_put_bytes(&rf->s->out, o->recipe, o->recipe ? o->recipe_len :
		    0);
		rf->found = 1;
	}
	return 1;
}

static int
on_obj_recipe(struct sess *s, struct wire_rd *r, struct err *e)
{
	char path[CAT_PATH_MAX];
	struct recipe_find rf;
	uint64_t fs;
	int more = 0, rc;

	if ((rc = wire_get_u64(r, &fs, e)) ||
	    (rc = wire_get_str(r, CAT_PATH_MAX - 1, path, sizeof(path), e)) ||
	    (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = sess_own_fs(s, fs, e)) != 0)
		return rc;
	memset(&rf, 0, sizeof(rf));
	rf.s = s;
	rf.path = path;
	wire_buf_reset(&s->out);
	rc = cat_obj_query(s->w->cat, fs, path, 0, 0, NULL, 1, recipe_row, &rf,
	    &more, e);
	if (rc < 0)
		return rc;
	if (!rf.found)
		wire_put_bytes(&s->out, NULL, 0);
	sess_reply(s, PT_OBJ_RECIPE_OK);
	return 0;
}

struct recipe_get {
	struct sess	*s;
	struct err	*e;
	int		 found, rc;
};

static int
recipe_by_id(void *arg, const struct cat_obj *o)
{
	struct recipe_get *rg = arg;

	rg->found = 1;
	if ((rg->rc = sess_own_fs(rg->s, o->fs_id, rg->e)) != 0)
		return 1;
	wire_put_bytes(&rg->s->out, o->recipe, o->recipe ? o->recipe_len : 0);
	return 1;
}

/* RECIPE_GET: one version's recipe by id, for a restore that goes lazily. */
static int
on_recipe_get(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct recipe_get rg;
	uint64_t id;
	int rc;

	if ((rc = wire_get_u64(r, &id, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	memset(&rg, 0, sizeof(rg));
	rg.s = s;
	rg.e = e;
	wire_buf_reset(&s->out);
	rc = cat_obj_get(s->w->cat, id, recipe_by_id, &rg, e);
	if (rg.rc != 0) {
		wire_buf_reset(&s->out);
		return rg.rc;
	}
	if (rc < 0)
		return rc;
	if (!rg.found)
		return err_set(e, COFFER_ENOTFOUND, "object %" PRIu64 " not "
		    "found", id);
	sess_reply(s, PT_OBJ_RECIPE_OK);
	return 0;
}

/* ---- restore and query frames ---- */

static int
fs_row(void *arg, const struct cat_fs *f)
{
	struct sess *s = arg;
	struct proto_fs pf;

	memset(&pf, 0, sizeof(pf));
	pf.id = f->id;
	pf.name = f->name;
	pf.name_len = strlen(f->name);
	pf.type = f->type;
	pf.type_len = strlen(f->type);
	pf.last_start = f->last_backup_start;
	pf.last_end = f->last_backup_end;
	pf.objects = f->objects;
	pf.bytes = f->bytes;
	pf.drprotect = (uint8_t)(f->drprotect != 0);
	pf.drpriority = f->drpriority;
	proto_put_fs(&s->out, &pf);
	return 0;
}

struct fs_count {
	uint32_t n;
};

static int
fs_count_row(void *arg, const struct cat_fs *f)
{
	(void)f;
	((struct fs_count *)arg)->n++;
	return 0;
}

static int
on_fs_list(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct fs_count fc = { 0 };
	int rc;

	if ((rc = wire_rd_end(r, e)) != 0)
		return rc;
	if ((rc = cat_fs_list(s->w->cat, s->name, fs_count_row, &fc, e)) != 0)
		return rc;
	wire_put_u32(&s->out, fc.n);
	if ((rc = cat_fs_list(s->w->cat, s->name, fs_row, s, e)) != 0)
		return rc;
	sess_reply(s, PT_FS_PAGE);
	return 0;
}

static int
on_obj_list(struct sess *s, struct wire_rd *r, struct err *e)
{
	char fsname[CAT_PATH_MAX], prefix[CAT_PATH_MAX], after[CAT_PATH_MAX];
	struct cat_fs f;
	struct page pg;
	uint64_t pit;
	uint32_t limit;
	uint8_t inactive, opts = 0;
	int more = 0, rc;

	if ((rc = wire_get_str(r, CAT_PATH_MAX - 1, fsname, sizeof(fsname),
	    e)) || (rc = wire_get_str(r, CAT_PATH_MAX - 1, prefix,
	    sizeof(prefix), e)) || (rc = wire_get_u64(r, &pit, e)) ||
	    (rc = wire_get_u8(r, &inactive, e)) ||
	    (rc = wire_get_str(r, CAT_PATH_MAX - 1, after, sizeof(after), e)) ||
	    (rc = wire_get_u32(r, &limit, e)))
		return rc;
	/* The options byte is optional: older clients do not send it. */
	if ((s->features & PROTO_FEAT_LIST_OPTS) && wire_rd_left(r) > 0 &&
	    (rc = wire_get_u8(r, &opts, e)) != 0)
		return rc;
	if ((rc = wire_rd_end(r, e)) != 0)
		return rc;
	if ((opts & ~PROTO_LIST_OPTS) != 0)
		return err_set(e, COFFER_EPROTO, "unknown OBJ_LIST options "
		    "0x%02x", opts);
	if ((rc = cat_fs_get(s->w->cat, s->name, fsname, &f, e)) != 0)
		return rc;
	if (limit == 0 || limit > PROTO_PAGE_MAX)
		limit = PROTO_PAGE_MAX;
	page_begin(s, &pg, (opts & PROTO_LIST_NO_RECIPE) ?
	    PROTO_OBJ_RECIPE_LEN : PROTO_OBJ_RECIPE);
	rc = cat_obj_query(s->w->cat, f.id, prefix, (int64_t)pit, inactive,
	    after, (int)limit, page_row, &pg, &more, e);
	if (rc < 0)
		return rc;
	page_end(s, &pg, more, PT_OBJ_PAGE);
	return 0;
}

struct chunk_req {
	struct sess	*s;
	uint32_t	 first, count;
	int		 found;
	int		 rc;
	struct err	*e;
	uint64_t	 bytes;		/* raw bytes sent: restore rate */
};

/* Send the requested recipe entries of the object as CHUNK_DATA frames. */
static int
send_chunks(void *arg, const struct cat_obj *o)
{
	struct chunk_req *cr = arg;
	struct sess *s = cr->s;
	size_t n = 0;

	cr->found = 1;
	if ((cr->rc = sess_own_fs(s, o->fs_id, cr->e)) != 0)
		return 1;
	if ((cr->rc = pool_recipe_count(o->recipe, o->recipe_len, &n,
	    cr->e)) != 0)
		return 1;
	if (cr->first > n || cr->count > n - cr->first) {
		cr->rc = err_set(cr->e, COFFER_EINVAL, "entries %u..%u beyond "
		    "the object's %zu", cr->first, cr->first + cr->count, n);
		return 1;
	}
	for (uint32_t i = cr->first; i < cr->first + cr->count; i++) {
		const uint8_t *h = pool_recipe_hash(o->recipe, i);
		struct pool_chunk c;

		wire_put_raw(&s->out, h, HASH_LEN);
		if (pool_recipe_is_zero(o->recipe, i)) {
			wire_put_u32(&s->out, pool_recipe_len(o->recipe, i));
			cr->bytes += pool_recipe_len(o->recipe, i);
			wire_put_u8(&s->out, 0);
			wire_put_bytes(&s->out, NULL, 0);
		} else {
			if ((cr->rc = pool_read_stored(s->w->rd, h, &c,
			    cr->e)) != 0) {
				(void)cat_actlog(s->w->cat, CAT_SEV_ERROR, 2500,
				    s->name, "Restore of %s: %s", o->path,
				    cr->e->msg);
				wire_buf_reset(&s->out);
				return 1;
			}
			wire_put_u32(&s->out, c.raw_len);
			cr->bytes += c.raw_len;
			wire_put_u8(&s->out, c.codec);
			wire_put_bytes(&s->out, c.stored, c.stored_len);
		}
		sess_reply(s, PT_CHUNK_DATA);
	}
	return 0;
}

static int
on_chunk_get(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct chunk_req cr;
	uint64_t id;
	int rc;

	memset(&cr, 0, sizeof(cr));
	cr.s = s;
	cr.e = e;
	if ((rc = wire_get_u64(r, &id, e)) ||
	    (rc = wire_get_u32(r, &cr.first, e)) ||
	    (rc = wire_get_u32(r, &cr.count, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	/* 64 chunks of at most 16 MiB: one request's replies stay bounded. */
	if (cr.count > PROTO_GET_MAX)
		return err_set(e, COFFER_EPROTO, "CHUNK_GET of %u entries "
		    "exceeds %d", cr.count, PROTO_GET_MAX);
	if (s->restore_t0 == 0)
		s->restore_t0 = util_now();
	rc = cat_obj_get(s->w->cat, id, send_chunks, &cr, e);
	if (cr.rc != 0)
		return cr.rc;
	if (rc < 0)
		return rc;
	if (!cr.found)
		return err_set(e, COFFER_ENOTFOUND, "object %" PRIu64 " not "
		    "found", id);
	s->restore_bytes += cr.bytes;
	s->restore_t1 = util_now();
	return 0;
}

/*
 * The rate is logical bytes (zero runs included) over the time from the
 * first chunk request to the end of the session: what a VM's size divided
 * by it predicts is the time the same restore takes again, the client's
 * writing included.  Requests are pipelined, so the last one arrives
 * long before its data has left; the session's end is the better bound,
 * but a session left idle after its restore must not count the idling:
 * at most SESS_RESTORE_TAIL_S after the last request.
 */
#define SESS_RESTORE_TAIL_S	60.0

void
sess_node_end(struct sess *s)
{
	double const now = util_now();
	double const end = now < s->restore_t1 + SESS_RESTORE_TAIL_S ? now :
	    s->restore_t1 + SESS_RESTORE_TAIL_S;
	double const secs = end - s->restore_t0;

	if (s->restore_bytes < SESS_RESTORE_MEASURE_MIN || s->name[0] == '\0')
		return;
	(void)cat_restore_add(s->w->cat, (int64_t)time(NULL), s->name,
	    s->restore_bytes, secs > 0.001 ? secs : 0.001, NULL);
}

/* Frames that store or change data; the rest only read. */
static int
is_write_frame(uint16_t type)
{
	switch (type) {
	case PT_FS_OPEN:
	case PT_CHUNK_ASK:
	case PT_CHUNK_PUT:
	case PT_OBJ_PUT:
	case PT_OBJ_META:
	case PT_OBJ_GONE:
	case PT_TXN_COMMIT:
		return 1;
	}
	return 0;
}

/*
 * A node in replication mode RECEIVE or SYNCRECEIVE is a replica: its
 * data here comes from the source server only, so the node itself may
 * restore and query but not back up, until an administrator changes its
 * replmode (failover, role swap).  Read from the catalog, so that such a
 * change applies to a session already open: on every FS_OPEN and
 * TXN_COMMIT and on the first write frame of each transaction.  The
 * frames in between (a CHUNK_PUT, OBJ_PUT... per chunk and object) rely
 * on that first read, which saves a catalog read transaction per frame:
 * a change in the middle of a transaction refuses its commit, so nothing
 * of it is kept.  A node not found is left to the frame handlers.
 */
static int
refuse_if_target(struct sess *s, uint16_t type, struct err *e)
{
	static const char *const modes[] = {
		"SEND", "RECEIVE", "SYNCSEND", "SYNCRECEIVE",
	};
	struct cat_account a;

	if (s->not_target && s->txn != NULL && type != PT_FS_OPEN &&
	    type != PT_TXN_COMMIT)
		return 0;
	s->not_target = 0;
	if (cat_account_get(s->w->cat, CAT_KIND_NODE, s->name, &a,
	    NULL) != 0)
		return 0;
	if (!CAT_REPLMODE_IS_TARGET(a.repl_mode)) {
		s->not_target = 1;
		return 0;
	}
	return err_set(e, COFFER_EPERM, "ANR0457E node %s is a replication "
	    "target (replmode %s); backups are refused until an "
	    "administrator changes its replmode", s->name,
	    modes[a.repl_mode]);
}

int
sess_node_txn_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	switch (type) {
	case PT_CHUNK_ASK:	return on_chunk_ask(s, r, e);
	case PT_CHUNK_PUT:	return on_chunk_put(s, r, e);
	case PT_TXN_COMMIT:	return on_txn_commit(s, r, e);
	case PT_TXN_ABORT:	return on_txn_abort(s, r, e);
	}
	return err_set(e, COFFER_EPROTO, "unexpected %s frame",
	    proto_type_name(type));
}

int
sess_node_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	int rc;

	if (is_write_frame(type) &&
	    (rc = refuse_if_target(s, type, e)) != 0)
		return rc;
	switch (type) {
	case PT_FS_OPEN:	return on_fs_open(s, r, e);
	case PT_INV_GET:	return on_inv_get(s, r, e);
	case PT_CHUNK_ASK:	return on_chunk_ask(s, r, e);
	case PT_CHUNK_PUT:	return on_chunk_put(s, r, e);
	case PT_OBJ_PUT:	return on_obj_put(s, r, e);
	case PT_OBJ_META:	return on_obj_meta(s, r, e);
	case PT_OBJ_GONE:	return on_obj_gone(s, r, e);
	case PT_TXN_COMMIT:	return on_txn_commit(s, r, e);
	case PT_TXN_ABORT:	return on_txn_abort(s, r, e);
	case PT_OBJ_RECIPE:	return on_obj_recipe(s, r, e);
	case PT_RECIPE_GET:
		if (!(s->features & PROTO_FEAT_RECIPE_GET))
			break;	/* hidden for a test: as an older server */
		return on_recipe_get(s, r, e);
	case PT_FS_LIST:	return on_fs_list(s, r, e);
	case PT_OBJ_LIST:	return on_obj_list(s, r, e);
	case PT_CHUNK_GET:	return on_chunk_get(s, r, e);
	case PT_SCHED_QUERY:
	case PT_SCHED_REPORT:	return sess_sched_frame(s, type, r, e);
	}
	return err_set(e, COFFER_EPROTO, "frame %s (%u) is not allowed in a "
	    "node session", proto_type_name(type), type);
}
