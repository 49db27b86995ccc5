/*
 * sess_repl.c - a replication target: what a source server may do in a
 * server session (proto.h, "Replication").
 *
 * The source names a node (REPL_NODE), which is created here the first
 * time with its password hash and policy, in replmode RECEIVE: the node
 * may restore and query here but not back up until an administrator
 * changes that (failover, role swap).  Then, per filespace, it compares
 * digests (REPL_FS), lists what this side holds when they differ
 * (REPL_LIST), and sends the difference: new versions as recipes whose
 * missing chunks come first (CHUNK_ASK / CHUNK_PUT, in their stored form),
 * deletions and state changes; each batch is one backup transaction of
 * the node (sess_node.c), so a replication stopped midway leaves this
 * side consistent, holding whole batches.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cat.h"
#include "err.h"
#include "fault.h"
#include "pool.h"
#include "pool_recipe.h"
#include "repl.h"
#include "sess.h"
#include "srv.h"
#include "util.h"

/* The node the frames are about: REPL_NODE must have named it. */
static int
need_node(struct sess *s, struct err *e)
{
	if (s->repl_node[0] == '\0')
		return err_set(e, COFFER_EPROTO, "replication frame before "
		    "REPL_NODE");
	return 0;
}

static int
on_repl_node(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct cat_account a, old;
	char node[CAT_NAME_MAX + 1];
	uint64_t rpo;
	int rc, exists;

	memset(&a, 0, sizeof(a));
	if ((rc = wire_get_str(r, CAT_NAME_MAX, node, sizeof(node), e)) ||
	    (rc = wire_get_str(r, CAT_HASH_MAX - 1, a.pwhash,
	    sizeof(a.pwhash), e)) ||
	    (rc = wire_get_str(r, CAT_NAME_MAX, a.domain, sizeof(a.domain),
	    e)) ||
	    (rc = wire_get_str(r, sizeof(a.contact) - 1, a.contact,
	    sizeof(a.contact), e)) ||
	    (rc = wire_get_u64(r, &rpo, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if (s->txn != NULL || s->pend != NULL)
		return err_set(e, COFFER_EPROTO, "REPL_NODE inside a "
		    "transaction");
	if ((rc = cat_name_normalize(node, a.name, e)) != 0)
		return rc;
	exists = cat_account_get(s->w->cat, CAT_KIND_NODE, a.name, &old,
	    NULL) == 0;
	if (exists && (old.repl_mode == CAT_REPLMODE_SEND ||
	    old.repl_mode == CAT_REPLMODE_SYNCSEND) && old.repl_state)
		return err_set(e, COFFER_EPERM, "ANR0327E node %s is a "
		    "replication source here (replmode SEND): replicating it "
		    "from %s would overwrite its data; swap the roles first "
		    "(update node %s replmode=receive)", a.name, s->name,
		    a.name);
	a.kind = CAT_KIND_NODE;
	a.rpo_s = (int64_t)rpo;
	a.repl_state = 1;
	a.repl_mode = CAT_REPLMODE_RECEIVE;
	if ((rc = cat_node_copy(s->w->cat, &a, e)) != 0)
		return err_wrap(e, "node %s", a.name);
	if (!exists)
		(void)cat_actlog(s->w->cat, CAT_SEV_INFO, 2060, a.name,
		    "Node %s registered by replication from server %s, in "
		    "replmode RECEIVE.", a.name, s->name);
	snprintf(s->repl_node, sizeof(s->repl_node), "%s", a.name);
	s->nowned = 0;		/* filespaces checked were another node's */
	sess_reply(s, PT_REPL_OK);
	return 0;
}

static int
on_repl_fs(struct sess *s, struct wire_rd *r, struct err *e)
{
	char name[CAT_PATH_MAX], type[32];
	uint8_t drprotect, digest[32];
	uint32_t drpriority;
	uint64_t id, count;
	int rc;

	if ((rc = need_node(s, e)) ||
	    (rc = wire_get_str(r, CAT_PATH_MAX - 1, name, sizeof(name), e)) ||
	    (rc = wire_get_str(r, sizeof(type) - 1, type, sizeof(type), e)) ||
	    (rc = wire_get_u8(r, &drprotect, e)) ||
	    (rc = wire_get_u32(r, &drpriority, e)) ||
	    (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = proto_fs_name_check(name, e)) != 0 ||
	    (rc = cat_fs_open(s->w->cat, s->repl_node, name, type, &id,
	    e)) != 0 ||
	    (rc = cat_fs_set_dr(s->w->cat, id, drprotect != 0, drpriority,
	    e)) != 0 ||
	    (rc = cat_obj_digest(s->w->cat, id, 0, digest, &count, e)) != 0)
		return err_wrap(e, "filespace %s of node %s", name,
		    s->repl_node);
	wire_put_u64(&s->out, id);
	wire_put_u64(&s->out, count);
	wire_put_raw(&s->out, digest, sizeof(digest));
	sess_reply(s, PT_REPL_FS_OK);
	return 0;
}

struct list_ctx {
	struct sess	*s;
	int		 content;
	uint32_t	 n;
};

static int
list_row(void *arg, const struct cat_obj *o)
{
	struct list_ctx *l = arg;
	struct wire_buf *b = &l->s->out;

	wire_put_raw(b, o->uuid, sizeof(o->uuid));
	wire_put_u8(b, (uint8_t)o->state);
	wire_put_u64(b, (uint64_t)o->deactivated);
	if (l->content) {
		uint8_t d[32];

		repl_content_digest(o, d);
		wire_put_raw(b, d, sizeof(d));
	}
	l->n++;
	return 0;
}

static int
on_repl_list(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct list_ctx l;
	uint8_t after[16], content;
	uint64_t fs;
	uint32_t limit;
	size_t at;
	int rc, more = 0;
	static const uint8_t zero[16];

	if ((rc = need_node(s, e)) || (rc = wire_get_u64(r, &fs, e)) ||
	    (rc = wire_get_raw(r, after, sizeof(after), e)) ||
	    (rc = wire_get_u32(r, &limit, e)) ||
	    (rc = wire_get_u8(r, &content, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = sess_own_fs(s, fs, e)) != 0)
		return rc;
	if (limit == 0 || limit > PROTO_REPL_PAGE_MAX)
		limit = PROTO_REPL_PAGE_MAX;
	memset(&l, 0, sizeof(l));
	l.s = s;
	l.content = content != 0;
	wire_put_u8(&s->out, 0);
	at = s->out.len;
	wire_put_u32(&s->out, 0);
	rc = cat_obj_uuid_walk(s->w->cat, fs, memcmp(after, zero, 16) ? after :
	    NULL, (int)limit, 0, list_row, &l, &more, e);
	if (rc != 0)
		return rc;
	s->out.p[at - 1] = (uint8_t)more;
	util_put_le32(s->out.p + at, l.n);
	sess_reply(s, PT_REPL_PAGE);
	return 0;
}

static int
on_repl_obj(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct proto_obj o;
	char why[256];
	uint64_t fs;
	int rc;

	if ((rc = need_node(s, e)) || (rc = wire_get_u64(r, &fs, e)) ||
	    (rc = proto_get_obj(r, &o, 1, e)) || (rc = wire_rd_end(r, e)))
		return rc;
	if ((rc = sess_own_fs(s, fs, e)) != 0 ||
	    (rc = sess_txn_get(s, e)) != 0)
		return rc;
	if (o.type < CAT_OBJ_FILE || o.type > CAT_OBJ_VMDISK ||
	    o.path_len == 0 || o.path[0] != '/' ||
	    (o.state != CAT_ACTIVE && o.state != CAT_INACTIVE))
		return err_set(e, COFFER_EPROTO, "REPL_OBJ type %u, state %u "
		    "or path invalid", o.type, o.state);
	if (o.recipe_len > 0 && sess_ref_recipe(s, &o, why, sizeof(why)) !=
	    0) {
		sess_fail_object(s, o.path, o.path_len, why);
		return 0;
	}
	return sess_pend_add(s, PT_REPL_OBJ, fs, &o, e);
}

/* REPL_DEL and REPL_STATE: a change to a version named by uuid. */
static int
on_repl_change(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	struct proto_obj o;
	uint64_t fs, deact = 0;
	uint8_t state = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = need_node(s, e)) || (rc = wire_get_u64(r, &fs, e)) ||
	    (rc = wire_get_raw(r, o.uuid, sizeof(o.uuid), e)))
		return rc;
	if (type == PT_REPL_STATE && ((rc = wire_get_u8(r, &state, e)) ||
	    (rc = wire_get_u64(r, &deact, e))))
		return rc;
	if ((rc = wire_rd_end(r, e)) != 0)
		return rc;
	if ((rc = sess_own_fs(s, fs, e)) != 0 ||
	    (rc = sess_txn_get(s, e)) != 0)
		return rc;
	o.path = "(replicated version)";
	o.path_len = strlen(o.path);
	o.state = state == CAT_ACTIVE ? CAT_ACTIVE : CAT_INACTIVE;
	o.deactivated = (int64_t)deact;
	return sess_pend_add(s, type, fs, &o, e);
}

static int
on_repl_done(struct sess *s, struct wire_rd *r, struct err *e)
{
	char node[CAT_NAME_MAX + 1], norm[CAT_NAME_MAX + 1];
	struct cat_account a;
	uint64_t when, carried = 0;
	int rc;

	if ((rc = wire_get_str(r, CAT_NAME_MAX, node, sizeof(node), e)) ||
	    (rc = wire_get_u64(r, &when, e)))
		return rc;
	/* Sources before the RPO work send no backup time. */
	if (wire_rd_left(r) > 0 && (rc = wire_get_u64(r, &carried, e)) != 0)
		return rc;
	if ((rc = wire_rd_end(r, e)) != 0)
		return rc;
	if ((rc = cat_name_normalize(node, norm, e)) != 0)
		return rc;
	if (strcmp(norm, s->repl_node) != 0)
		return err_set(e, COFFER_EPROTO, "REPL_DONE for node %s while "
		    "replicating %s", norm, s->repl_node);
	if (s->txn != NULL || s->pend != NULL)
		return err_set(e, COFFER_EPROTO, "REPL_DONE with a transaction "
		    "open");
	if ((rc = cat_account_get(s->w->cat, CAT_KIND_NODE, norm, &a,
	    e)) != 0)
		return rc;
	a.last_repl = (int64_t)when;
	/*
	 * Here the node's last backup is the newest one this server holds
	 * a copy of: RPO at this site is measured from it.
	 */
	if ((int64_t)carried > a.last_backup && carried <= (uint64_t)INT64_MAX)
		a.last_backup = (int64_t)carried;
	/* Every batch committed here; the node's times not yet updated. */
	FAULT_POINT("repl.target.before_done");
	if ((rc = cat_account_update(s->w->cat, &a, e)) != 0)
		return rc;
	/* Done here, REPL_OK not yet sent: the source must run again. */
	FAULT_POINT("repl.target.after_done");
	(void)cat_actlog(s->w->cat, CAT_SEV_INFO, 327, norm, "Replication of "
	    "node %s from server %s completed.", norm, s->name);
	sess_reply(s, PT_REPL_OK);
	return 0;
}

/*
 * REPL_CHUNK_GET: the source repairs damaged chunks from our copies.  A
 * chunk we cannot read is answered "not found" (and is marked damaged
 * here by the reader), never sent as good.
 */
static int
on_repl_chunk_get(struct sess *s, struct wire_rd *r, struct err *e)
{
	uint8_t hashes[PROTO_GET_MAX][HASH_LEN];
	uint32_t n;
	int rc;

	if ((rc = wire_get_u32(r, &n, e)) != 0)
		return rc;
	if (n == 0 || n > PROTO_GET_MAX)
		return err_set(e, COFFER_EPROTO, "REPL_CHUNK_GET of %u chunks: "
		    "1 to %d expected", n, PROTO_GET_MAX);
	for (uint32_t i = 0; i < n; i++)
		if ((rc = wire_get_raw(r, hashes[i], HASH_LEN, e)) != 0)
			return rc;
	if ((rc = wire_rd_end(r, e)) != 0)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		struct pool_chunk c;
		struct err why;

		wire_put_raw(&s->out, hashes[i], HASH_LEN);
		if (pool_read_stored(s->w->rd, hashes[i], &c, &why) != 0) {
			wire_put_u8(&s->out, 0);
		} else {
			wire_put_u8(&s->out, 1);
			wire_put_u32(&s->out, c.raw_len);
			wire_put_u8(&s->out, c.codec);
			wire_put_bytes(&s->out, c.stored, c.stored_len);
		}
		sess_reply(s, PT_REPL_CHUNK);
	}
	return 0;
}

int
sess_repl_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	int rc;

	switch (type) {
	case PT_REPL_NODE:	return on_repl_node(s, r, e);
	case PT_REPL_FS:	return on_repl_fs(s, r, e);
	case PT_REPL_LIST:	return on_repl_list(s, r, e);
	case PT_REPL_OBJ:	return on_repl_obj(s, r, e);
	case PT_REPL_DEL:
	case PT_REPL_STATE:	return on_repl_change(s, type, r, e);
	case PT_REPL_DONE:	return on_repl_done(s, r, e);
	case PT_REPL_CHUNK_GET:	return on_repl_chunk_get(s, r, e);
	case PT_CHUNK_ASK:
	case PT_CHUNK_PUT:
	case PT_TXN_COMMIT:
	case PT_TXN_ABORT:
		if (s->repl_node[0] == '\0')
			return err_set(e, COFFER_EPROTO, "%s before REPL_NODE",
			    proto_type_name(type));
		rc = sess_node_txn_frame(s, type, r, e);
		/* Pool invariant (4): a batch committed, TXN_OK unsent. */
		if (rc == 0 && type == PT_TXN_COMMIT)
			FAULT_POINT("repl.target.after_commit");
		return rc;
	}
	return err_set(e, COFFER_EPROTO, "frame %s is not for a server "
	    "session", proto_type_name(type));
}
