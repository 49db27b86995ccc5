/*
 * exp_import.c - IMPORT NODE: read an export set back (exp.h).
 *
 * Runs in a server process.  The set is read in order; chunks go into
 * the open pool transaction (stored only when the pool lacks them),
 * versions are checked against the catalog by UUID (present: skipped)
 * and referenced in the same transaction, which commits every
 * EXP_BATCH_* with the version rows (pool_txn_commit's callback): a batch
 * is all there or not at all.  A version is only committed after the
 * chunks before it in the stream, which are all the chunks it names
 * that the set had not carried earlier; those it carried earlier were
 * committed with an earlier version, or are in this transaction.
 *
 * Every chunk is verified (it decodes to its raw length, and that has the
 * SHA-256 it is named by) before it is stored or pinned: the volume's
 * CRCs and digest only say the set is as the exporter wrote it, not that
 * the exporter's pool held good chunks.  Chunks are verified in batches
 * (copies of their records) on sess_verify helpers, two batches in turn:
 * one is verified while the next is read from the volume.  The version
 * records between the chunks go into the batch too, so a batch is not
 * cut at every version.  A batch is applied, its chunks stored and its
 * versions looked up and referenced in stream order, only once all its
 * chunks checked out; any other record first waits for the batches
 * before it, so the stream is applied in order as before.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "cat.h"
#include "err.h"
#include "exp.h"
#include "fault.h"
#include "pool.h"
#include "pool_recipe.h"
#include "proc.h"
#include "proto.h"
#include "sess_verify.h"
#include "stgpool.h"
#include "util.h"
#include "vol.h"
#include "wire.h"

/* A version waiting for its batch's commit. */
struct pver {
	struct cat_obj	 o;
	char		*path, *link;
	uint8_t		*recipe;
	struct pver	*next;
};

/*
 * A batch holds up to IMP_VERIFY_CHUNKS chunks, and the version records
 * between them, up to IMP_VERIFY_OPS records in all: the stream carries
 * a version after its chunks, mostly one or two, so a batch that ended at
 * every version would hand the helpers a chunk at a time.
 */
#define IMP_VERIFY_CHUNKS	256
#define IMP_VERIFY_OPS		1024

/* A record of the batch, in stream order (its bytes in the batch's buf). */
struct vop {
	uint8_t			 type;		/* EXP_REC_CHUNK or _OBJ */
	size_t			 off, len;
};

/* Records read, waiting to be verified (copies: the reader reuses its
 * buffer); applied in order once all its chunks checked out. */
struct vbatch {
	struct sess_verify_item	*it;		/* IMP_VERIFY_CHUNKS */
	size_t			 n;
	struct vop		*op;		/* IMP_VERIFY_OPS */
	size_t			 nop;
	uint8_t			*buf;		/* SESS_VERIFY_BYTES */
	size_t			 used;
};

struct im {
	struct proc		*p;
	const struct imp_params	*ip;
	struct imp_stats	*st;
	struct cat		*c;
	struct pool		*pool;
	struct pool_txn		*txn;
	struct pver		*head, **tail;
	uint64_t		 nbatch, batch_bytes;
	char			 node[CAT_NAME_MAX + 1];
	int			 node_selected;
	uint64_t		 fs;		/* current filespace, 0: none */
	int			 store;		/* the node's pool (stgpool.h) */
	struct cat		*pc;		/* commit callback's view */
	struct sess_verify	*ver;
	struct pool_reader	*rd;		/* the caller's share of ver */
	struct vbatch		 vb[2];		/* vb[cur] is being filled */
	int			 cur;
	struct sess_verify_job	*job;		/* vb[!cur], being verified */
	struct err		*e;
};

static int
vbatch_alloc(struct vbatch *b)
{
	b->it = calloc(IMP_VERIFY_CHUNKS, sizeof(*b->it));
	b->op = calloc(IMP_VERIFY_OPS, sizeof(*b->op));
	b->buf = malloc(SESS_VERIFY_BYTES);
	return b->it != NULL && b->op != NULL && b->buf != NULL ? 0 : -1;
}

static void
vbatch_free(struct vbatch *b)
{
	free(b->it);
	free(b->op);
	free(b->buf);
}

static void
pver_free(struct pver *v)
{
	free(v->path);
	free(v->link);
	free(v->recipe);
	free(v);
}

static void
batch_drop(struct im *m)
{
	while (m->head != NULL) {
		struct pver *v = m->head;

		m->head = v->next;
		pver_free(v);
	}
	m->tail = &m->head;
	m->nbatch = m->batch_bytes = 0;
	pool_txn_abort(m->txn);
	m->txn = NULL;
}

static int
commit_cb(sqlite3 *db, void *arg, struct err *e)
{
	struct im *m = arg;
	struct cat *c = NULL;
	int r = 0;

	if ((r = cat_attach(db, &c, e)) != 0)
		return r;
	for (struct pver *v = m->head; v != NULL && r == 0; v = v->next)
		r = cat_obj_insert_copy(c, &v->o, e);
	cat_close(c);
	return r;
}

static int
batch_commit(struct im *m)
{
	uint64_t n = 0;
	int r;

	if (m->txn == NULL)
		return 0;
	for (struct pver *v = m->head; v != NULL; v = v->next)
		n++;
	/* A batch is all there or not at all (pool invariant (4)). */
	FAULT_POINT("import.before_batch");
	r = pool_txn_commit(m->txn, commit_cb, m, m->e);
	m->txn = NULL;
	/* A batch committed: the rerun skips it by UUID. */
	FAULT_POINT("import.after_batch");
	if (r == 0)
		m->st->objects_imported += n;
	batch_drop(m);
	if (m->p != NULL)
		proc_set_status(m->p, "Importing node %s: %" PRIu64 " versions "
		    "imported, %" PRIu64 " skipped", m->node,
		    m->st->objects_imported, m->st->objects_skipped);
	return r;
}

static int
txn(struct im *m)
{
	int r;

	if (m->txn != NULL)
		return 0;
	if ((r = pool_txn_begin(m->pool, &m->txn, m->e)) != 0)
		return r;
	pool_txn_set_store(m->txn, m->store);
	return 0;
}

/* ---- records ---- */

static int
get_session(struct im *m, struct wire_rd *r)
{
	char server[CAT_NAME_MAX + 1], pattern[256];
	uint32_t version;
	uint64_t when, from;
	uint8_t active;
	int rc;

	if ((rc = wire_get_u32(r, &version, m->e)) ||
	    (rc = wire_get_str(r, CAT_NAME_MAX, server, sizeof(server),
	    m->e)) || (rc = wire_get_u64(r, &when, m->e)) ||
	    (rc = wire_get_u8(r, &active, m->e)) ||
	    (rc = wire_get_u64(r, &from, m->e)) ||
	    (rc = wire_get_str(r, sizeof(pattern) - 1, pattern,
	    sizeof(pattern), m->e)))
		return rc;
	if (version != EXP_VERSION)
		return err_set(m->e, COFFER_EVERSION, "export format %u; this "
		    "server reads %d", version, EXP_VERSION);
	(void)cat_actlog(m->c, CAT_SEV_INFO, 4653, NULL, "IMPORT NODE: the "
	    "set was exported by server %s (nodes %s%s).", server, pattern,
	    active ? ", active versions only" : "");
	return 0;
}

/* The node's domain exists here, or is made with the exported values. */
static void
ensure_domain(struct im *m, const char *name, uint32_t v[4])
{
	struct cat_domain d;

	if (name[0] == '\0' || cat_domain_get(m->c, name, &d, NULL) == 0)
		return;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.verexists = (int)v[0];
	d.verdeleted = (int)v[1];
	d.retextra = (int)v[2];
	d.retonly = (int)v[3];
	snprintf(d.description, sizeof(d.description), "imported");
	(void)cat_domain_define(m->c, &d, NULL);
}

static int
get_node(struct im *m, struct wire_rd *r)
{
	struct cat_account a, old;
	uint8_t rs, rm;
	uint64_t rpo;
	uint32_t pol[4];
	int rc;

	if ((rc = batch_commit(m)) != 0)
		return rc;
	memset(&a, 0, sizeof(a));
	if ((rc = wire_get_str(r, CAT_NAME_MAX, a.name, sizeof(a.name),
	    m->e)) || (rc = wire_get_str(r, CAT_HASH_MAX - 1, a.pwhash,
	    sizeof(a.pwhash), m->e)) || (rc = wire_get_str(r, CAT_NAME_MAX,
	    a.domain, sizeof(a.domain), m->e)) ||
	    (rc = wire_get_str(r, sizeof(a.contact) - 1, a.contact,
	    sizeof(a.contact), m->e)) || (rc = wire_get_u64(r, &rpo, m->e)) ||
	    (rc = wire_get_u8(r, &rs, m->e)) || (rc = wire_get_u8(r, &rm,
	    m->e)))
		return rc;
	for (int i = 0; i < 4; i++)
		if ((rc = wire_get_u32(r, &pol[i], m->e)) != 0)
			return rc;
	if ((rc = cat_name_normalize(a.name, m->node, m->e)) != 0)
		return rc;
	m->fs = 0;
	m->node_selected = fnmatch(m->ip->pattern, m->node, FNM_CASEFOLD) ==
	    0 || strcmp(m->ip->pattern, "*") == 0;
	if (!m->node_selected)
		return 0;
	/*
	 * Its chunks go where its backups would (TSM imports into the copy
	 * group's destination): batch_commit above ended the transaction
	 * of the node before, so the next one starts with this store.
	 */
	if (cat_account_get(m->c, CAT_KIND_NODE, m->node, &old, NULL) == 0) {
		m->store = stgpool_node_store(m->c, m->node);
		return 0;	/* it is here: keep what this server says */
	}
	ensure_domain(m, a.domain, pol);
	snprintf(a.name, sizeof(a.name), "%s", m->node);
	a.kind = CAT_KIND_NODE;
	a.rpo_s = (int64_t)rpo;
	a.repl_state = rs;
	a.repl_mode = rm <= CAT_REPLMODE_SYNCRECEIVE ? rm : 0;
	if ((rc = cat_node_copy(m->c, &a, m->e)) != 0)
		return rc;
	m->st->nodes++;
	m->store = stgpool_node_store(m->c, m->node);
	(void)cat_actlog(m->c, CAT_SEV_INFO, 2060, m->node, "Node %s "
	    "registered by IMPORT NODE.", m->node);
	return 0;
}

static int
get_fs(struct im *m, struct wire_rd *r)
{
	char name[CAT_PATH_MAX], type[32];
	uint8_t drp, rule;
	uint32_t pri;
	struct cat_fs f;
	int rc, isnew;

	if ((rc = wire_get_str(r, CAT_PATH_MAX - 1, name, sizeof(name),
	    m->e)) || (rc = wire_get_str(r, sizeof(type) - 1, type,
	    sizeof(type), m->e)) || (rc = wire_get_u8(r, &drp, m->e)) ||
	    (rc = wire_get_u32(r, &pri, m->e)) ||
	    (rc = wire_get_u8(r, &rule, m->e)))
		return rc;
	if (!m->node_selected)
		return 0;
	if ((rc = batch_commit(m)) != 0 ||
	    (rc = proto_fs_name_check(name, m->e)) != 0)
		return rc;
	isnew = cat_fs_get(m->c, m->node, name, &f, NULL) != 0;
	if ((rc = cat_fs_open(m->c, m->node, name, type, &m->fs, m->e)) != 0)
		return rc;
	if (isnew) {
		(void)cat_fs_set_dr(m->c, m->fs, drp != 0, pri, NULL);
		(void)cat_fs_set_replrule(m->c, m->fs, rule, NULL);
		m->st->filespaces++;
	}
	return 0;
}

/* A CHUNK record into c (pointing into p). */
static int
parse_chunk(const uint8_t *p, size_t n, struct pool_chunk *c, struct err *e)
{
	if (n < HASH_LEN + 5)
		return err_set(e, COFFER_ECORRUPT, "chunk record of %zu bytes",
		    n);
	memcpy(c->hash, p, HASH_LEN);
	c->raw_len = util_get_le32(p + HASH_LEN);
	c->codec = p[HASH_LEN + 4];
	c->stored = p + HASH_LEN + 5;
	c->stored_len = (uint32_t)(n - HASH_LEN - 5);
	if (c->raw_len > POOL_RAW_MAX)
		return err_set(e, COFFER_ECORRUPT, "chunk of %u bytes",
		    c->raw_len);
	return 0;
}

/* A verified chunk into the open transaction. */
static int
put_chunk(struct im *m, const struct pool_chunk *c)
{
	int isnew = 0, rc;

	if ((rc = txn(m)) != 0)
		return rc;
	/*
	 * Present already (a seed's shared data)?  Then pinned in this
	 * transaction, so that the versions naming it cannot miss it;
	 * otherwise stored.
	 */
	if ((rc = pool_txn_pin_or_store(m->txn, c, &isnew, m->e)) < 0)
		return rc;
	if (isnew) {
		m->st->chunks_stored++;
		m->st->bytes_stored += c->stored_len;
		m->batch_bytes += c->stored_len;
	}
	return 0;
}

static int get_obj(struct im *m, struct wire_rd *r);

/* A version record, after the chunks before it were put. */
static int
apply_obj(struct im *m, const uint8_t *p, size_t n)
{
	struct wire_rd r;

	wire_rd_init(&r, p, n);
	return get_obj(m, &r);
}

/* Apply a verified batch's records in stream order; it is empty after. */
static int
put_batch(struct im *m, struct vbatch *b)
{
	char hex[HASH_HEX_LEN + 1];
	size_t ci = 0;
	int rc = 0;

	for (size_t k = 0; k < b->nop && rc == 0; k++) {
		const struct vop *op = &b->op[k];
		const struct sess_verify_item *it;

		if (op->type != EXP_REC_CHUNK) {
			rc = apply_obj(m, b->buf + op->off, op->len);
			continue;
		}
		it = &b->it[ci++];
		if (it->rc != 0) {
			hash_to_hex(it->c.hash, hex);
			rc = err_set(m->e, it->rc, "chunk %s in the set: %s",
			    hex, it->msg);
			break;
		}
		rc = put_chunk(m, &it->c);
	}
	b->n = b->nop = b->used = 0;
	return rc;
}

/* The batch being verified, if any: wait for it (helping), then put it. */
static int
land(struct im *m)
{
	if (m->job == NULL)
		return 0;
	sess_verify_finish(m->ver, m->rd, m->job);
	m->job = NULL;
	return put_batch(m, &m->vb[!m->cur]);
}

/* The batch being filled goes to the helpers, after the one before it. */
static int
launch(struct im *m)
{
	struct vbatch *b = &m->vb[m->cur];
	int rc;

	if ((rc = land(m)) != 0 || b->nop == 0)
		return rc;
	if (b->n == 0)		/* versions only: nothing to verify */
		return put_batch(m, b);
	if ((m->job = sess_verify_start(m->ver, b->it, b->n, m->e)) == NULL)
		return m->e->code != 0 ? m->e->code : COFFER_ENOMEM;
	m->cur = !m->cur;
	return 0;
}

/* Every chunk read so far verified and put. */
static int
flush_chunks(struct im *m)
{
	int rc;

	if ((rc = launch(m)) != 0)
		return rc;
	return land(m);
}

/* A CHUNK record: copied into the batch, which is verified when full. */
static int
queue_chunk(struct im *m, const uint8_t *p, size_t n)
{
	struct vbatch *b;
	int rc;

	if (n > SESS_VERIFY_BYTES)
		return err_set(m->e, COFFER_ECORRUPT, "chunk record of %zu "
		    "bytes", n);
	b = &m->vb[m->cur];
	if ((b->n == IMP_VERIFY_CHUNKS || b->nop == IMP_VERIFY_OPS ||
	    b->used + n > SESS_VERIFY_BYTES) && (rc = launch(m)) != 0)
		return rc;
	b = &m->vb[m->cur];
	memcpy(b->buf + b->used, p, n);
	if ((rc = parse_chunk(b->buf + b->used, n, &b->it[b->n].c,
	    m->e)) != 0)
		return rc;
	b->op[b->nop].type = EXP_REC_CHUNK;
	b->op[b->nop].off = b->used;
	b->op[b->nop].len = n;
	b->nop++;
	b->used += n;
	b->n++;
	return 0;
}

/*
 * A version record: queued behind the chunks before it, and applied
 * (looked up, referenced, committed with its batch) only after they are
 * verified and put; one too large for a batch waits for them here.
 */
static int
queue_obj(struct im *m, const uint8_t *p, size_t n)
{
	struct vbatch *b;
	int rc;

	if (n > SESS_VERIFY_BYTES) {
		if ((rc = flush_chunks(m)) != 0)
			return rc;
		return apply_obj(m, p, n);
	}
	b = &m->vb[m->cur];
	if ((b->nop == IMP_VERIFY_OPS || b->used + n > SESS_VERIFY_BYTES) &&
	    (rc = launch(m)) != 0)
		return rc;
	b = &m->vb[m->cur];
	memcpy(b->buf + b->used, p, n);
	b->op[b->nop].type = EXP_REC_OBJ;
	b->op[b->nop].off = b->used;
	b->op[b->nop].len = n;
	b->nop++;
	b->used += n;
	return 0;
}

static int
have_uuid(void *arg, const struct cat_obj *o)
{
	(void)o;
	*(int *)arg = 1;
	return 0;
}

/* Reference every chunk of the recipe in the open transaction. */
static int
ref_all(struct im *m, const uint8_t *rec, size_t len, uint64_t size)
{
	uint64_t total = 0;
	size_t n = 0, i;
	int rc;

	if ((rc = pool_recipe_count(rec, len, &n, m->e)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		total += pool_recipe_len(rec, i);
	if (total != size)
		return err_set(m->e, COFFER_ECORRUPT, "recipe holds %" PRIu64
		    " bytes, the version %" PRIu64, total, size);
	for (i = 0; i < n; i++)
		if (!pool_recipe_is_zero(rec, i) && (rc = pool_txn_ref(m->txn,
		    pool_recipe_hash(rec, i), m->e)) != 0)
			return err_wrap(m->e, "the set lacks a chunk it names");
	return 0;
}

static int
get_obj(struct im *m, struct wire_rd *r)
{
	struct proto_obj o;
	struct pver *v;
	int here = 0, rc;

	if ((rc = proto_get_obj(r, &o, 1, m->e)) != 0)
		return rc;
	if (!m->node_selected)
		return 0;
	if (m->fs == 0)
		return err_set(m->e, COFFER_ECORRUPT, "a version outside any "
		    "filespace");
	if (o.path_len == 0 || o.path[0] != '/' || o.type < CAT_OBJ_FILE ||
	    o.type > CAT_OBJ_VMDISK)
		return err_set(m->e, COFFER_ECORRUPT, "a version with type %u "
		    "or path that is not valid", o.type);
	(void)cat_obj_get_uuid(m->c, m->fs, o.uuid, have_uuid, &here, NULL);
	if (here) {
		m->st->objects_skipped++;
		return 0;
	}
	if ((rc = txn(m)) != 0)
		return rc;
	if (o.recipe_len > 0 && (rc = ref_all(m, o.recipe, o.recipe_len,
	    o.size)) != 0)
		return err_wrap(m->e, "%.*s", (int)o.path_len, o.path);
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->path = strndup(o.path, o.path_len)) == NULL ||
	    (o.link != NULL && (v->link = strndup(o.link, o.link_len)) ==
	    NULL) || (o.recipe_len > 0 && (v->recipe = malloc(o.recipe_len)) ==
	    NULL)) {
		if (v != NULL)
			pver_free(v);
		return err_set(m->e, COFFER_ENOMEM, "out of memory");
	}
	if (o.recipe_len > 0)
		memcpy(v->recipe, o.recipe, o.recipe_len);
	v->o.fs_id = m->fs;
	memcpy(v->o.uuid, o.uuid, 16);
	v->o.path = v->path;
	v->o.type = o.type;
	v->o.state = o.state == CAT_ACTIVE ? CAT_ACTIVE : CAT_INACTIVE;
	v->o.inserted = o.inserted;
	v->o.deactivated = o.deactivated;
	v->o.size = o.size;
	v->o.mode = o.mode;
	v->o.uid = o.uid;
	v->o.gid = o.gid;
	v->o.mtime_ns = o.mtime_ns;
	v->o.ctime_ns = o.ctime_ns;
	v->o.link = v->link;
	v->o.recipe = v->recipe;
	v->o.recipe_len = o.recipe_len;
	*m->tail = v;
	m->tail = &v->next;
	m->nbatch++;
	if (m->nbatch >= EXP_BATCH_OBJECTS || m->batch_bytes >= EXP_BATCH_BYTES)
		return batch_commit(m);
	return 0;
}

static int
get_end(struct im *m, struct wire_rd *r)
{
	uint64_t v[5];
	int rc;

	for (int i = 0; i < 5; i++)
		if ((rc = wire_get_u64(r, &v[i], m->e)) != 0)
			return rc;
	return batch_commit(m);
}

static int
dispatch(struct im *m, uint8_t type, const uint8_t *p, size_t n)
{
	struct wire_rd r;
	int rc;

	wire_rd_init(&r, p, n);
	switch (type) {
	case EXP_REC_SESSION:	rc = get_session(m, &r); break;
	case EXP_REC_NODE:	rc = get_node(m, &r); break;
	case EXP_REC_FS:	rc = get_fs(m, &r); break;
	case EXP_REC_CHUNK:	return queue_chunk(m, p, n);
	case EXP_REC_OBJ:	return queue_obj(m, p, n);
	case EXP_REC_END:	rc = get_end(m, &r); break;
	default:
		return err_set(m->e, COFFER_ECORRUPT, "unknown record type %u",
		    type);
	}
	if (rc == 0 && type != EXP_REC_OBJ && type != EXP_REC_CHUNK &&
	    wire_rd_left(&r) != 0)
		return err_set(m->e, COFFER_ECORRUPT, "record type %u has %zu "
		    "bytes too many", type, wire_rd_left(&r));
	return rc;
}

/* ---- volumes ---- */

/* "V1,V2" into paths: a serial is looked up in the device class. */
static int
volume_paths(struct im *m, char (*paths)[4096], size_t *n)
{
	struct cat_devclass dc;
	char list[8192], *save = NULL, *tok;
	int rc;

	*n = 0;
	if ((rc = cat_devclass_get(m->c, m->ip->devclass, &dc, m->e)) != 0)
		return err_wrap(m->e, "device class %s", m->ip->devclass);
	if (snprintf(list, sizeof(list), "%s", m->ip->volumes) >=
	    (int)sizeof(list))
		return err_set(m->e, COFFER_ETOOBIG, "volume list too long");
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		struct cat_volume v;
		struct stat st;

		if (*n == EXP_VOLS_MAX)
			return err_set(m->e, COFFER_ETOOBIG, "more than %d "
			    "volumes", EXP_VOLS_MAX);
		/* A path; a serial the volume history knows; a file in DIR. */
		if (strchr(tok, '/') != NULL) {
			snprintf(paths[*n], 4096, "%s", tok);
		} else if (cat_volume_get(m->c, tok, &v, NULL) == 0 &&
		    stat(v.path, &st) == 0) {
			snprintf(paths[*n], 4096, "%s", v.path);
		} else if ((size_t)snprintf(paths[*n], 4096, "%s/%s",
		    dc.directory, tok) >= 4096 || (stat(paths[*n], &st) != 0 &&
		    (size_t)snprintf(paths[*n], 4096, "%s/%s.vol",
		    dc.directory, tok) >= 4096)) {
			return err_set(m->e, COFFER_ETOOBIG, "volume %s: path "
			    "too long", tok);
		}
		if (stat(paths[*n], &st) != 0)
			return err_sys(m->e, COFFER_ENOTFOUND, "volume %s (%s)",
			    tok, paths[*n]);
		(*n)++;
	}
	if (*n == 0)
		return err_set(m->e, COFFER_EINVAL, "no volume named");
	return 0;
}

/*
 * Before any data is read, the volumes' labels must form one whole set in
 * order: a missing, extra, foreign, swapped or truncated volume is refused
 * before a batch is committed.  (Damage inside a data block is found when
 * the block is read; the batches before it are good and stay.)
 */
static int
preflight(char (*paths)[4096], size_t n, struct err *e)
{
	struct vol_volume_info first, v;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if ((rc = vol_volume_info(paths[i], i == 0 ? &first : &v,
		    e)) != 0)
			return rc;
		if (i == 0)
			v = first;
		if (memcmp(v.set_uuid, first.set_uuid, 16) != 0)
			return err_set(e, COFFER_EINVAL, "volume %s belongs to "
			    "another set than %s", paths[i], paths[0]);
		if (v.seq != i + 1)
			return err_set(e, COFFER_EINVAL, "volume %s is volume "
			    "%u of its set, given as volume %zu", paths[i],
			    v.seq, i + 1);
		if (v.end_kind == 0)
			return err_set(e, COFFER_ECORRUPT, "volume %s: its end "
			    "label cannot be read (truncated or damaged): %s",
			    paths[i], v.end_error);
		if (v.end_kind == 1 && i + 1 == n)
			return err_set(e, COFFER_EINVAL, "volume %s: the set "
			    "continues on volume %s, which was not given",
			    paths[i], v.next_serial);
		if (v.end_kind == 2 && i + 1 < n)
			return err_set(e, COFFER_EINVAL, "volume %s is the "
			    "set's last; %s does not belong after it",
			    paths[i], paths[i + 1]);
	}
	return 0;
}

int
exp_import_run(struct proc *p, const struct imp_params *ip,
    struct imp_stats *st, struct err *e)
{
	char (*paths)[4096] = NULL;
	const char *pv[EXP_VOLS_MAX];
	struct vol_reader *rd = NULL;
	struct im m;
	size_t n = 0;
	int rc, ended = 0;

	memset(&m, 0, sizeof(m));
	memset(st, 0, sizeof(*st));
	m.p = p;
	m.ip = ip;
	m.st = st;
	m.pool = ip->pool;
	m.e = e;
	m.tail = &m.head;
	if ((rc = cat_open(ip->catpath, &m.c, e)) != 0)
		goto out;
	if (vbatch_alloc(&m.vb[0]) != 0 || vbatch_alloc(&m.vb[1]) != 0) {
		rc = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((m.rd = pool_reader_new(m.pool, e)) == NULL ||
	    (m.ver = sess_verify_new(m.pool, SESS_VERIFY_THREADS, e)) ==
	    NULL) {
		rc = e->code != 0 ? e->code : COFFER_ENOMEM;
		goto out;
	}
	if ((paths = calloc(EXP_VOLS_MAX, sizeof(*paths))) == NULL) {
		rc = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = volume_paths(&m, paths, &n)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		pv[i] = paths[i];
	if ((rc = preflight(paths, n, e)) != 0 ||
	    (rc = vol_reader_open(pv, n, ip->passphrase, &rd, e)) != 0)
		goto out;
	if (vol_reader_kind(rd) != VOL_KIND_EXPORT) {
		rc = err_set(e, COFFER_EINVAL, "volume %s holds a database "
		    "backup, not an export", paths[0]);
		goto out;
	}
	while (rc == 0 && !ended) {
		const uint8_t *rp;
		size_t rn;
		uint8_t type;

		if ((rc = vol_read_record(rd, &type, &rp, &rn, e)) != 0)
			break;
		/* Any other record comes after the chunks (and versions)
		 * before it. */
		if (type != EXP_REC_CHUNK && type != EXP_REC_OBJ &&
		    (rc = flush_chunks(&m)) != 0)
			break;
		if (type == 0) {
			ended = 1;
			break;
		}
		rc = dispatch(&m, type, rp, rn);
		if (rc == 0 && p != NULL && proc_cancelled(p))
			rc = err_set(e, COFFER_ECANCELED, "cancelled");
	}
	/* The set's trailer checked out: what is pending is good. */
	if (rc == 0)
		rc = batch_commit(&m);
out:
	/* A batch still being verified uses the buffers below. */
	sess_verify_finish(m.ver, m.rd, m.job);
	batch_drop(&m);
	sess_verify_free(m.ver);
	pool_reader_free(m.rd);
	vbatch_free(&m.vb[0]);
	vbatch_free(&m.vb[1]);
	vol_reader_close(rd);
	free(paths);
	cat_close(m.c);
	return rc;
}
