/*
 * test_sess_node.c - a node session's backup frames (server/sess_node.c)
 * against a real catalog and pool, without the network: frames go in
 * through sess_node_frame() and replies are caught by a sess_reply()
 * stand-in.  Checked: VM filespaces open by name, TXN_ABORT keeps
 * nothing, an all-or-nothing commit keeps nothing when one object fails,
 * before the commit or inside it, and leaves the pool consistent for the
 * next transaction; OBJ_RECIPE answers for VM disks; FS_LIST carries the
 * DR settings; a VM's final commit is in the activity log; the
 * scheduler's SCHED_QUERY offers the open window and SCHED_REPORT refuses
 * starts outside it, of other nodes' schedules, or of a window that ran.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cat.h"
#include "codec.h"
#include "err.h"
#include "hash.h"
#include "pool.h"
#include "pool_recipe.h"
#include "proto.h"
#include "sess.h"
#include "srv.h"
#include "util.h"
#include "wire.h"

struct fixture {
	char			 dir[64];
	char			 db[128];
	struct srv		*srv;
	struct srv_worker	*w;
	struct sess		 s;
	/* The last reply the session sent. */
	uint16_t		 rtype;
	uint8_t			*rbuf;
	size_t			 rlen;
	int			 nreplies;
	struct hash_ctx		*h;
};

static struct fixture *current;

/* Stand-ins for sess.c: keep the reply instead of sending it. */
void
sess_reply(struct sess *s, uint16_t type)
{
	struct fixture *fx = current;

	assert_false(s->out.failed);
	free(fx->rbuf);
	fx->rbuf = malloc(s->out.len + 1);
	assert_non_null(fx->rbuf);
	/* An empty reply may have no buffer: memcpy(dst, NULL, 0) is UB. */
	if (s->out.len > 0)
		memcpy(fx->rbuf, s->out.p, s->out.len);
	fx->rlen = s->out.len;
	fx->rtype = type;
	fx->nreplies++;
	wire_buf_reset(&s->out);
}

/* No batches here: every CHUNK_PUT is verified by on_chunk_put itself. */
int
sess_pre_verified(struct sess *s, const struct pool_chunk *c, int *rc,
    struct err *e)
{
	(void)s;
	(void)c;
	(void)rc;
	(void)e;
	return 0;
}

void
sess_error(struct sess *s, int code, int rc, int fatal, const char *fmt, ...)
{
	(void)s;
	(void)code;
	(void)rc;
	(void)fatal;
	fail_msg("sess_error(%s) called: sess_node.c returns errors", fmt);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct pool_params pp;
	char pooldir[128];
	struct err e;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-sess-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/catalog.db", fx->dir);
	snprintf(pooldir, sizeof(pooldir), "%s/pool", fx->dir);
	assert_non_null(fx->srv = calloc(1, sizeof(*fx->srv)));
	fx->w = &fx->srv->w[0];
	fx->w->srv = fx->srv;
	fx->srv->o.verify_chunks = 1;
	pool_params_default(&pp);
	if (cat_open(fx->db, &fx->w->cat, &e) != 0 ||
	    pool_create(pooldir, fx->db, &pp, &e) != 0 ||
	    pool_open(pooldir, fx->db, &fx->srv->pool, &e) != 0 ||
	    (fx->w->rd = pool_reader_new(fx->srv->pool, &e)) == NULL ||
	    (fx->h = hash_ctx_new(&e)) == NULL)
		fail_msg("setup: %s", e.msg);
	fx->s.w = fx->w;
	fx->s.state = SESS_READY;
	fx->s.kind = PROTO_KIND_NODE;
	fx->s.features = PROTO_FEATURES;	/* as on_hello sets them */
	snprintf(fx->s.name, sizeof(fx->s.name), "NODE1");
	fx->s.pend_tail = &fx->s.pend;
	wire_buf_init(&fx->s.out, WIRE_FRAME_MAX);
	current = fx;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	sess_txn_drop(&fx->s);
	wire_buf_free(&fx->s.out);
	cat_close(fx->srv->pool_cat);
	pool_reader_free(fx->w->rd);
	pool_close(fx->srv->pool);
	cat_close(fx->w->cat);
	hash_ctx_free(fx->h);
	util_rm_rf(fx->dir);
	free(fx->rbuf);
	free(fx->srv);
	free(fx);
	current = NULL;
	return 0;
}

/* ---- frames ---- */

/* Run one frame; returns sess_node_frame's result, e gets the message. */
static int
frame(struct fixture *fx, uint16_t type, const struct wire_buf *b,
    struct err *e)
{
	struct wire_rd rd;

	err_clear(e);
	wire_rd_init(&rd, b != NULL ? b->p : NULL, b != NULL ? b->len : 0);
	return sess_node_frame(&fx->s, type, &rd, e);
}

static void
frame_ok(struct fixture *fx, uint16_t type, const struct wire_buf *b)
{
	struct err e;
	int r;

	if ((r = frame(fx, type, b, &e)) != 0)
		fail_msg("%s: %s (%d)", proto_type_name(type), e.msg, r);
}

static int
fs_open(struct fixture *fx, const char *name, uint64_t *id, struct err *e)
{
	struct wire_buf b;
	struct wire_rd rd;
	int r;

	wire_buf_init(&b, WIRE_FRAME_MAX);
	wire_put_str(&b, name);
	wire_put_str(&b, "VM");
	r = frame(fx, PT_FS_OPEN, &b, e);
	wire_buf_free(&b);
	if (r != 0)
		return r;
	assert_int_equal(fx->rtype, PT_FS_OK);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u64(&rd, id, NULL), 0);
	return 0;
}

/* A chunk of n bytes of value v, sent raw; its hash into h. */
static void
chunk_put(struct fixture *fx, uint8_t v, uint32_t n, uint8_t h[HASH_LEN])
{
	uint8_t *data = malloc(n);
	struct wire_buf b;

	assert_non_null(data);
	memset(data, v, n);
	assert_int_equal(hash_sha256(fx->h, data, n, h), 0);
	wire_buf_init(&b, WIRE_FRAME_MAX);
	wire_put_raw(&b, h, HASH_LEN);
	wire_put_u32(&b, n);
	wire_put_u8(&b, CODEC_RAW);
	wire_put_bytes(&b, data, n);
	frame_ok(fx, PT_CHUNK_PUT, &b);
	wire_buf_free(&b);
	free(data);
}

/* OBJ_PUT of one object whose recipe is the single chunk h of n bytes. */
static void
obj_put(struct fixture *fx, uint64_t fs, const char *path, int type,
    const uint8_t h[HASH_LEN], uint32_t n)
{
	struct pool_recipe rc;
	struct proto_obj o;
	struct wire_buf b;

	pool_recipe_init(&rc);
	assert_int_equal(pool_recipe_add(&rc, h, n, NULL), 0);
	memset(&o, 0, sizeof(o));
	o.type = (uint8_t)type;
	o.path = path;
	o.path_len = strlen(path);
	o.size = n;
	o.mode = 0100600;
	o.link = type == CAT_OBJ_VMDISK ? "/var/lib/libvirt/images/a.img" :
	    NULL;
	o.link_len = o.link != NULL ? strlen(o.link) : 0;
	o.recipe = rc.p;
	o.recipe_len = rc.len;
	wire_buf_init(&b, WIRE_FRAME_MAX);
	wire_put_u64(&b, fs);
	proto_put_obj(&b, &o, 1);
	frame_ok(fx, PT_OBJ_PUT, &b);
	wire_buf_free(&b);
	pool_recipe_free(&rc);
}

static void
obj_meta(struct fixture *fx, uint64_t fs, const char *path)
{
	struct wire_buf b;

	wire_buf_init(&b, WIRE_FRAME_MAX);
	wire_put_u64(&b, fs);
	wire_put_str(&b, path);
	wire_put_u32(&b, 0100644);
	wire_put_u32(&b, 0);
	wire_put_u32(&b, 0);
	wire_put_u64(&b, 1);
	frame_ok(fx, PT_OBJ_META, &b);
	wire_buf_free(&b);
}

struct txn_ok {
	uint32_t	objects;
	uint64_t	bytes;
	uint32_t	nfailed;
	char		path[64], reason[256];	/* the first failure */
};

static void
decode_txn_ok(struct fixture *fx, struct txn_ok *t)
{
	struct wire_rd rd;

	memset(t, 0, sizeof(*t));
	assert_int_equal(fx->rtype, PT_TXN_OK);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u32(&rd, &t->objects, NULL), 0);
	assert_int_equal(wire_get_u64(&rd, &t->bytes, NULL), 0);
	assert_int_equal(wire_get_u32(&rd, &t->nfailed, NULL), 0);
	if (t->nfailed > 0) {
		assert_int_equal(wire_get_str(&rd, 63, t->path,
		    sizeof(t->path), NULL), 0);
		assert_int_equal(wire_get_str(&rd, 255, t->reason,
		    sizeof(t->reason), NULL), 0);
	}
}

static int
commit(struct fixture *fx, uint64_t fs, uint8_t flags, struct txn_ok *t,
    struct err *e)
{
	struct wire_buf b;
	int r;

	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	wire_put_u8(&b, flags);
	r = frame(fx, PT_TXN_COMMIT, &b, e);
	wire_buf_free(&b);
	if (r == 0)
		decode_txn_ok(fx, t);
	return r;
}

static void
commit_ok(struct fixture *fx, uint64_t fs, uint8_t flags, struct txn_ok *t)
{
	struct err e;

	if (commit(fx, fs, flags, t, &e) != 0)
		fail_msg("TXN_COMMIT: %s", e.msg);
}

static uint64_t
count_objects(struct fixture *fx, uint64_t fs)
{
	struct cat_fs f;

	assert_int_equal(cat_fs_get_id(fx->w->cat, fs, &f, NULL), 0);
	return f.objects;
}

static void
pool_refs(struct fixture *fx, uint64_t *live, uint64_t *refs)
{
	struct pool_stats st;

	assert_int_equal(pool_stats(fx->srv->pool, &st, NULL), 0);
	*live = st.live_chunks;
	*refs = st.references;
}

/* ---- tests ---- */

static void
sess_fs_open_accepts_vm_names_and_refuses_others(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = 0, b = 0;
	struct cat_fs f;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:mgmt01", &a, &e), 0);
	assert_int_equal(fs_open(fx, "VM:mgmt01", &b, &e), 0);
	assert_int_equal(a, b);
	assert_int_equal(cat_fs_get(fx->w->cat, "NODE1", "VM:mgmt01", &f,
	    NULL), 0);
	assert_string_equal(f.type, "VM");
	assert_int_equal(fs_open(fx, "/home", &b, &e), 0);
	assert_int_equal(fs_open(fx, "home", &b, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "absolute path or \"VM:NAME\""));
	assert_int_equal(fs_open(fx, "VM:a/b", &b, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "cannot hold '/'"));
	assert_int_equal(fs_open(fx, "VM:..", &b, &e), COFFER_EINVAL);
	assert_int_equal(fs_open(fx, "VM:", &b, &e), COFFER_EINVAL);
}

static void
sess_txn_abort_keeps_nothing(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct wire_buf b;
	struct txn_ok t;
	uint64_t fs, live, refs;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x11, 4096, h);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h, 4096);
	assert_non_null(fx->s.txn);
	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	frame_ok(fx, PT_TXN_ABORT, &b);
	decode_txn_ok(fx, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(t.bytes, 0);
	assert_int_equal(t.nfailed, 0);
	assert_null(fx->s.txn);
	assert_int_equal(fx->s.npend, 0);
	/* Nothing open: still answered, not an error. */
	frame_ok(fx, PT_TXN_ABORT, &b);
	decode_txn_ok(fx, &t);
	wire_buf_free(&b);
	/* A commit now has nothing to commit. */
	commit_ok(fx, fs, PROTO_TXN_FINAL, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(count_objects(fx, fs), 0);
	pool_refs(fx, &live, &refs);
	assert_int_equal(live, 0);
	assert_int_equal(refs, 0);
}

/* A recipe naming a chunk the server lacks fails at OBJ_PUT. */
static void
sess_atomic_commit_with_a_failed_object_keeps_nothing(void **state)
{
	struct fixture *fx = *state;
	uint8_t good[HASH_LEN], missing[HASH_LEN];
	struct txn_ok t;
	struct cat_fs f;
	uint64_t fs, live, refs;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x22, 4096, good);
	obj_put(fx, fs, "/domain.xml", CAT_OBJ_VMCONF, good, 4096);
	memset(missing, 0xab, sizeof(missing));
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, missing, 65536);
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(t.bytes, 0);
	assert_int_equal(t.nfailed, 1);
	assert_string_equal(t.path, "/disks/vda");
	assert_non_null(strstr(t.reason, "is not in the pool"));
	assert_int_equal(count_objects(fx, fs), 0);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 0);
	/* Not a finished backup either. */
	assert_int_equal(cat_fs_get_id(fx->w->cat, fs, &f, NULL), 0);
	assert_int_equal(f.last_backup_end, 0);
	assert_null(fx->s.txn);
	assert_int_equal(fx->s.nfailed, 0);
}

/* Without ATOMIC the same transaction keeps what succeeded. */
static void
sess_plain_commit_keeps_the_good_objects(void **state)
{
	struct fixture *fx = *state;
	uint8_t good[HASH_LEN], missing[HASH_LEN];
	struct txn_ok t;
	uint64_t fs, live, refs;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x22, 4096, good);
	obj_put(fx, fs, "/domain.xml", CAT_OBJ_VMCONF, good, 4096);
	memset(missing, 0xab, sizeof(missing));
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, missing, 65536);
	commit_ok(fx, fs, PROTO_TXN_FINAL, &t);
	assert_int_equal(t.objects, 1);
	assert_int_equal(t.nfailed, 1);
	assert_int_equal(count_objects(fx, fs), 1);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 1);
}

/*
 * A failure found inside the commit (no active version to update) rolls
 * the index transaction back: no object row, no chunk reference; and the
 * pool takes the same objects in the next transaction.
 */
static void
sess_atomic_commit_failing_inside_commit_rolls_back(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct txn_ok t;
	uint64_t fs, live, refs;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x33, 8192, h);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h, 8192);
	obj_meta(fx, fs, "/domain.xml");	/* nothing active: fails */
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(t.bytes, 0);
	assert_int_equal(t.nfailed, 1);
	assert_string_equal(t.path, "/domain.xml");
	assert_non_null(strstr(t.reason, "no active version"));
	assert_int_equal(count_objects(fx, fs), 0);
	pool_refs(fx, &live, &refs);
	assert_int_equal(live, 0);
	assert_int_equal(refs, 0);

	/* The chunk's bytes are dead space: sent again, stored again. */
	chunk_put(fx, 0x33, 8192, h);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h, 8192);
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	assert_int_equal(t.objects, 1);
	assert_int_equal(t.nfailed, 0);
	assert_int_equal(count_objects(fx, fs), 1);
	pool_refs(fx, &live, &refs);
	assert_int_equal(live, 1);
	assert_int_equal(refs, 1);
}

static void
sess_unknown_commit_flags_are_a_protocol_error(void **state)
{
	struct fixture *fx = *state;
	struct txn_ok t;
	uint64_t fs;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	assert_int_equal(commit(fx, fs, 8, &t, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "unknown TXN_COMMIT flags 0x08"));
	/* A part of a version is one of an all-or-nothing version. */
	assert_int_equal(commit(fx, fs, PROTO_TXN_STAGE, &t, &e),
	    COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "STAGE needs ATOMIC"));
	/* The flags the existing client sends still work. */
	commit_ok(fx, fs, 0, &t);
	commit_ok(fx, fs, PROTO_TXN_FINAL, &t);
}

static void
sess_obj_recipe_answers_for_vm_disks(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	const uint8_t *p;
	struct wire_buf b;
	struct wire_rd rd;
	struct txn_ok t;
	uint64_t fs;
	size_t n;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x44, 4096, h);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h, 4096);
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	assert_int_equal(t.objects, 1);
	wire_buf_init(&b, 4096);
	wire_put_u64(&b, fs);
	wire_put_str(&b, "/disks/vda");
	frame_ok(fx, PT_OBJ_RECIPE, &b);
	wire_buf_free(&b);
	assert_int_equal(fx->rtype, PT_OBJ_RECIPE_OK);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_bytes(&rd, PROTO_RECIPE_MAX, &p, &n, NULL),
	    0);
	assert_int_equal(n, POOL_RECIPE_ENTRY);
	assert_memory_equal(p, h, HASH_LEN);
}

static int
first_id(void *arg, const struct cat_obj *o)
{
	*(uint64_t *)arg = o->id;
	return 1;
}

/* RECIPE_GET (a restore's segment by id): the node's own only. */
static void
sess_recipe_get_by_id_for_its_own_objects(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	const uint8_t *p;
	struct wire_buf b;
	struct wire_rd rd;
	struct txn_ok t;
	uint64_t fs, id = 0;
	size_t n;
	int more = 0;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x45, 4096, h);
	obj_put(fx, fs, "/disks/vda/000001", CAT_OBJ_VMDISK, h, 4096);
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	assert_int_equal(t.objects, 1);
	assert_true(cat_obj_query(fx->w->cat, fs, "/disks/vda/000001", 0, 0,
	    NULL, 1, first_id, &id, &more, &e) >= 0);
	assert_true(id != 0);
	wire_buf_init(&b, 64);
	wire_put_u64(&b, id);
	frame_ok(fx, PT_RECIPE_GET, &b);
	assert_int_equal(fx->rtype, PT_OBJ_RECIPE_OK);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_bytes(&rd, PROTO_RECIPE_MAX, &p, &n, NULL),
	    0);
	assert_int_equal(n, POOL_RECIPE_ENTRY);
	assert_memory_equal(p, h, HASH_LEN);
	/* No such object: an error naming it. */
	wire_buf_reset(&b);
	wire_put_u64(&b, id + 1000);
	assert_int_equal(frame(fx, PT_RECIPE_GET, &b, &e), COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "not found"));
	/* Another node's object is not this session's to read. */
	snprintf(fx->s.name, sizeof(fx->s.name), "NODE2");
	fx->s.nowned = 0;
	wire_buf_reset(&b);
	wire_put_u64(&b, id);
	assert_int_equal(frame(fx, PT_RECIPE_GET, &b, &e), COFFER_EPERM);
	assert_int_equal(fx->s.out.len, 0);
	wire_buf_free(&b);
}

/* OBJ_LIST of fs, with the options byte when opts >= 0. */
static void
obj_list(struct wire_buf *b, const char *fs, int opts)
{
	wire_buf_reset(b);
	wire_put_str(b, fs);
	wire_put_str(b, "");
	wire_put_u64(b, 0);
	wire_put_u8(b, 0);
	wire_put_str(b, "");
	wire_put_u32(b, 16);
	if (opts >= 0)
		wire_put_u8(b, (uint8_t)opts);
}

/*
 * OBJ_LIST's options byte: absent, recipes as before; NO_RECIPE, their
 * lengths only; an unknown bit refused.  A session whose features were
 * hidden (COFFER_TEST_HIDE_FEATURES) refuses the byte, RECIPE_GET and
 * STAGE as a server from before them did.
 */
static void
sess_obj_list_options_and_hidden_features(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN], more;
	struct proto_obj o;
	struct wire_buf b;
	struct wire_rd rd;
	struct txn_ok t;
	uint64_t fs;
	uint32_t n;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web02", &fs, &e), 0);
	chunk_put(fx, 0x46, 4096, h);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h, 4096);
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	wire_buf_init(&b, 256);
	obj_list(&b, "VM:web02", -1);
	frame_ok(fx, PT_OBJ_LIST, &b);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u8(&rd, &more, NULL), 0);
	assert_int_equal(wire_get_u32(&rd, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(proto_get_obj(&rd, &o, PROTO_OBJ_RECIPE, &e), 0);
	assert_int_equal(o.recipe_len, POOL_RECIPE_ENTRY);
	assert_memory_equal(o.recipe, h, HASH_LEN);

	obj_list(&b, "VM:web02", PROTO_LIST_NO_RECIPE);
	frame_ok(fx, PT_OBJ_LIST, &b);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u8(&rd, &more, NULL), 0);
	assert_int_equal(wire_get_u32(&rd, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(proto_get_obj(&rd, &o, PROTO_OBJ_RECIPE_LEN, &e), 0);
	assert_int_equal(o.recipe_len, POOL_RECIPE_ENTRY);
	assert_null(o.recipe);
	assert_int_equal(wire_rd_end(&rd, &e), 0);

	obj_list(&b, "VM:web02", 0x80);
	assert_int_equal(frame(fx, PT_OBJ_LIST, &b, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "OBJ_LIST options"));

	fx->s.features = 0;
	obj_list(&b, "VM:web02", PROTO_LIST_NO_RECIPE);
	assert_int_equal(frame(fx, PT_OBJ_LIST, &b, &e), COFFER_EPROTO);
	wire_buf_reset(&b);
	wire_put_u64(&b, 1);
	assert_int_equal(frame(fx, PT_RECIPE_GET, &b, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "not allowed"));
	wire_buf_reset(&b);
	wire_put_u64(&b, fs);
	wire_put_u8(&b, PROTO_TXN_ATOMIC | PROTO_TXN_STAGE);
	assert_int_equal(frame(fx, PT_TXN_COMMIT, &b, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "unknown TXN_COMMIT flags"));
	wire_buf_free(&b);
}

/*
 * A VM version past the server's limit for one transaction's recipes
 * (PEND_BYTES_MAX, 256 MiB: about 450 GiB of disk) is refused with an
 * error that names the limit.  The segments here are zero runs that were
 * not merged, the largest recipes a frame carries, so no chunk is needed.
 */
static void
sess_vm_version_past_the_recipe_limit_names_it(void **state)
{
	struct fixture *fx = *state;
	size_t const n = PROTO_RECIPE_MAX / POOL_RECIPE_ENTRY;
	uint8_t *rec = calloc(n, POOL_RECIPE_ENTRY);
	struct proto_obj o;
	struct wire_buf b;
	char path[64];
	uint64_t fs;
	struct err e;
	int r = 0, k;

	assert_non_null(rec);
	for (size_t i = 0; i < n; i++)
		util_put_le32(rec + i * POOL_RECIPE_ENTRY + HASH_LEN, 65536);
	assert_int_equal(fs_open(fx, "VM:huge", &fs, &e), 0);
	memset(&o, 0, sizeof(o));
	o.type = CAT_OBJ_VMDISK;
	o.size = (uint64_t)n * 65536;
	o.mode = 0100600;
	o.link = "/var/lib/libvirt/images/huge.img";
	o.link_len = strlen(o.link);
	o.recipe = rec;
	o.recipe_len = n * POOL_RECIPE_ENTRY;
	wire_buf_init(&b, WIRE_FRAME_MAX);
	for (k = 0; k < 40 && r == 0; k++) {
		snprintf(path, sizeof(path), k ? "/disks/vda/%06d" : "/disks/vda",
		    k);
		o.path = path;
		o.path_len = strlen(path);
		wire_buf_reset(&b);
		wire_put_u64(&b, fs);
		proto_put_obj(&b, &o, 1);
		r = frame(fx, PT_OBJ_PUT, &b, &e);
	}
	wire_buf_free(&b);
	free(rec);
	/* 32 recipes of 8 MiB are 256 MiB: the limit is met there. */
	assert_int_equal(r, COFFER_ETOOBIG);
	assert_int_equal(k, 32);
	assert_non_null(strstr(e.msg, "/disks/vda/000031"));
	assert_non_null(strstr(e.msg, "256 MiB"));
	assert_non_null(strstr(e.msg, "about 455 GiB"));
}

struct seen_path {
	const char	*path;
	uint64_t	 size;
	int		 found;
};

static int
exact_path(void *arg, const struct cat_obj *o)
{
	struct seen_path *sp = arg;

	if (strcmp(o->path, sp->path) == 0) {
		sp->found = 1;
		sp->size = o->size;
	}
	return 1;
}

/* The size of path's active version, or -1 when it has none. */
static int64_t
active_size(struct fixture *fx, uint64_t fs, const char *path)
{
	struct seen_path sp = { path, 0, 0 };
	struct err e;
	int more = 0;

	assert_true(cat_obj_query(fx->w->cat, fs, path, 0, 0, NULL, 1,
	    exact_path, &sp, &more, &e) >= 0);
	return sp.found ? (int64_t)sp.size : -1;
}

static void
frame_abort(struct fixture *fx, uint64_t fs)
{
	struct wire_buf b;

	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	frame_ok(fx, PT_TXN_ABORT, &b);
	wire_buf_free(&b);
}

/*
 * A VM version committed in parts (PROTO_TXN_STAGE): a part's objects
 * hold their chunks but are seen only with the version's last commit; an
 * abort, a failed part, the session's end or a restart keeps nothing of
 * them and gives their chunk references back.
 */
static void
sess_vm_version_in_parts_is_seen_only_whole(void **state)
{
	struct fixture *fx = *state;
	uint8_t const ATOMIC = PROTO_TXN_ATOMIC;
	uint8_t const PART = PROTO_TXN_ATOMIC | PROTO_TXN_STAGE;
	uint8_t h1[HASH_LEN], h2[HASH_LEN], h3[HASH_LEN], missing[HASH_LEN];
	uint64_t fs, live, refs;
	struct txn_ok t;
	uint32_t n;
	struct err e;

	assert_int_equal(fs_open(fx, "VM:web01", &fs, &e), 0);
	chunk_put(fx, 0x51, 4096, h1);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h1, 4096);
	commit_ok(fx, fs, PART, &t);
	assert_int_equal(t.objects, 1);
	assert_int_equal(t.nfailed, 0);
	/* Stored and referenced, but no version yet. */
	assert_int_equal(active_size(fx, fs, "/disks/vda"), -1);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 1);
	chunk_put(fx, 0x52, 8192, h2);
	obj_put(fx, fs, "/disks/vda/000001", CAT_OBJ_VMDISK, h2, 8192);
	commit_ok(fx, fs, PART, &t);
	assert_int_equal(active_size(fx, fs, "/disks/vda/000001"), -1);
	/* The last commit: both parts and its own object, at once. */
	chunk_put(fx, 0x53, 100, h3);
	obj_put(fx, fs, "/domain.xml", CAT_OBJ_VMCONF, h3, 100);
	commit_ok(fx, fs, ATOMIC | PROTO_TXN_FINAL, &t);
	assert_int_equal(t.objects, 3);
	assert_int_equal(active_size(fx, fs, "/disks/vda"), 4096);
	assert_int_equal(active_size(fx, fs, "/disks/vda/000001"), 8192);
	assert_int_equal(active_size(fx, fs, "/domain.xml"), 100);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 3);

	/* A part, then TXN_ABORT: the first version stays, refs go back. */
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h2, 8192);
	commit_ok(fx, fs, PART, &t);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 4);
	frame_abort(fx, fs);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 3);
	assert_int_equal(active_size(fx, fs, "/disks/vda"), 4096);

	/* A part that failed: the version's last commit fails too. */
	memset(missing, 0x77, sizeof(missing));
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h2, 8192);
	commit_ok(fx, fs, PART, &t);
	obj_put(fx, fs, "/disks/vda/000001", CAT_OBJ_VMDISK, missing, 10);
	commit_ok(fx, fs, PART, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(t.nfailed, 1);
	obj_put(fx, fs, "/domain.xml", CAT_OBJ_VMCONF, h3, 100);
	commit_ok(fx, fs, ATOMIC | PROTO_TXN_FINAL, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(t.nfailed, 1);
	assert_non_null(strstr(t.reason, "earlier part"));
	assert_int_equal(active_size(fx, fs, "/disks/vda"), 4096);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 3);
	/* And the next version is not held to that failure. */
	obj_put(fx, fs, "/domain.xml", CAT_OBJ_VMCONF, h3, 100);
	commit_ok(fx, fs, ATOMIC | PROTO_TXN_FINAL, &t);
	assert_int_equal(t.nfailed, 0);
	assert_int_equal(t.objects, 1);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 4);	/* the older XML keeps its own */

	/* A part holds new objects only: OBJ_GONE waits for the last. */
	obj_meta(fx, fs, "/domain.xml");
	assert_int_equal(commit(fx, fs, PART, &t, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "new objects only"));
	frame_abort(fx, fs);

	/* The version's last commit is of the filespace of its parts. */
	{
		uint64_t fs2;

		assert_int_equal(fs_open(fx, "VM:web02", &fs2, &e), 0);
		obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h2, 8192);
		commit_ok(fx, fs, PART, &t);
		assert_int_equal(commit(fx, fs2, ATOMIC, &t, &e),
		    COFFER_EPROTO);
		assert_non_null(strstr(e.msg, "staged"));
		frame_abort(fx, fs);
		pool_refs(fx, &live, &refs);
		assert_int_equal(refs, 4);
	}

	/* The session ends, or the server dies, with a part staged. */
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h2, 8192);
	commit_ok(fx, fs, PART, &t);
	sess_stage_drop(&fx->s);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 4);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h2, 8192);
	commit_ok(fx, fs, PART, &t);
	fx->s.stage_tag = 0;	/* as if the session had died with it */
	assert_int_equal(sess_stage_recover(fx->srv, &n, &e), 0);
	assert_int_equal(n, 1);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 4);
	assert_int_equal(active_size(fx, fs, "/disks/vda"), 4096);
	/* Gone, not only released: the next start finds nothing. */
	assert_int_equal(sess_stage_recover(fx->srv, &n, &e), 0);
	assert_int_equal(n, 0);
	pool_refs(fx, &live, &refs);
	assert_int_equal(refs, 4);
}

struct log_seen {
	int	n;
	char	msg[256];
};

static int
log_row(void *arg, const struct cat_actlog_row *r)
{
	struct log_seen *l = arg;

	if (r->msgno == 4142) {
		l->n++;
		snprintf(l->msg, sizeof(l->msg), "%s", r->message);
	}
	return 0;
}

static void
sess_fs_list_carries_dr_and_vm_backup_is_logged(void **state)
{
	struct fixture *fx = *state;
	struct log_seen l = { 0 };
	uint8_t h[HASH_LEN];
	struct proto_fs pf;
	struct wire_rd rd;
	struct txn_ok t;
	uint64_t fs, home;
	uint32_t n;
	struct err e;

	assert_int_equal(fs_open(fx, "/home", &home, &e), 0);
	assert_int_equal(fs_open(fx, "VM:mgmt01", &fs, &e), 0);
	assert_int_equal(cat_fs_set_dr(fx->w->cat, fs, 1, 2, NULL), 0);
	frame_ok(fx, PT_FS_LIST, NULL);
	assert_int_equal(fx->rtype, PT_FS_PAGE);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u32(&rd, &n, NULL), 0);
	assert_int_equal(n, 2);
	/* Sorted by name: "/home" before "VM:mgmt01". */
	assert_int_equal(proto_get_fs(&rd, &pf, &e), 0);
	assert_memory_equal(pf.name, "/home", 5);
	assert_int_equal(pf.drprotect, 0);
	assert_int_equal(pf.drpriority, 0);
	assert_int_equal(proto_get_fs(&rd, &pf, &e), 0);
	assert_int_equal(pf.name_len, 9);
	assert_memory_equal(pf.name, "VM:mgmt01", 9);
	assert_int_equal(pf.drprotect, 1);
	assert_int_equal(pf.drpriority, 2);
	assert_int_equal(wire_rd_end(&rd, &e), 0);

	/* Two transactions, the second final: one line, all objects. */
	chunk_put(fx, 0x55, 4096, h);
	obj_put(fx, fs, "/disks/vda", CAT_OBJ_VMDISK, h, 4096);
	commit_ok(fx, fs, 0, &t);
	obj_put(fx, fs, "/domain.xml", CAT_OBJ_VMCONF, h, 4096);
	commit_ok(fx, fs, PROTO_TXN_FINAL | PROTO_TXN_ATOMIC, &t);
	assert_int_equal(cat_actlog_query(fx->w->cat, 0, NULL, log_row, &l,
	    NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.msg, "Virtual machine mgmt01 of node NODE1 "
	    "backed up (2 objects).");
}

/* Set NODE1's replication mode, registering it the first time. */
static void
set_replmode(struct fixture *fx, int mode)
{
	struct cat_account a;
	struct err e;

	if (cat_account_get(fx->w->cat, CAT_KIND_NODE, "NODE1", &a,
	    NULL) != 0) {
		memset(&a, 0, sizeof(a));
		a.kind = CAT_KIND_NODE;
		snprintf(a.name, sizeof(a.name), "NODE1");
		snprintf(a.pwhash, sizeof(a.pwhash), "x");
		if (cat_account_add(fx->w->cat, &a, &e) != 0)
			fail_msg("add: %s", e.msg);
	}
	a.repl_mode = mode;
	if (cat_account_update(fx->w->cat, &a, &e) != 0)
		fail_msg("update: %s", e.msg);
}

static void
sess_replication_target_refuses_backup_but_allows_restore(void **state)
{
	struct fixture *fx = *state;
	static const uint16_t writes[] = {
		PT_CHUNK_ASK, PT_CHUNK_PUT, PT_OBJ_PUT, PT_OBJ_META,
		PT_OBJ_GONE, PT_TXN_COMMIT,
	};
	uint64_t id;
	struct err e;

	set_replmode(fx, CAT_REPLMODE_SEND);
	assert_int_equal(fs_open(fx, "VM:web", &id, &e), 0);
	set_replmode(fx, CAT_REPLMODE_RECEIVE);
	assert_int_equal(fs_open(fx, "VM:web", &id, &e), COFFER_EPERM);
	assert_non_null(strstr(e.msg, "node NODE1 is a replication target "
	    "(replmode RECEIVE); backups are refused until an administrator "
	    "changes its replmode"));
	assert_memory_equal(e.msg, "ANR", 3);
	/* Refused before the payload is even read. */
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		assert_int_equal(frame(fx, writes[i], NULL, &e), COFFER_EPERM);
	set_replmode(fx, CAT_REPLMODE_SYNCRECEIVE);
	assert_int_equal(frame(fx, PT_TXN_COMMIT, NULL, &e), COFFER_EPERM);
	assert_non_null(strstr(e.msg, "(replmode SYNCRECEIVE)"));
	/* Queries and restores go on. */
	frame_ok(fx, PT_FS_LIST, NULL);
	assert_int_equal(fx->rtype, PT_FS_PAGE);
	/* The administrator changes the mode: backups work again. */
	set_replmode(fx, CAT_REPLMODE_SYNCSEND);
	assert_int_equal(fs_open(fx, "VM:web", &id, &e), 0);
}

/*
 * The frames inside a transaction rely on its first write's catalog
 * read; a replmode change in between still refuses the commit, and
 * nothing of the transaction is kept.
 */
static void
sess_replication_target_set_mid_transaction_refuses_commit(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct txn_ok t;
	uint64_t id;
	struct err e;

	set_replmode(fx, CAT_REPLMODE_SEND);
	assert_int_equal(fs_open(fx, "VM:web", &id, &e), 0);
	chunk_put(fx, 0x31, 4096, h);
	set_replmode(fx, CAT_REPLMODE_RECEIVE);
	/* Inside the transaction: accepted, pending. */
	obj_put(fx, id, "/disk0", CAT_OBJ_VMDISK, h, 4096);
	assert_int_equal(commit(fx, id, PROTO_TXN_FINAL, &t, &e),
	    COFFER_EPERM);
	assert_non_null(strstr(e.msg, "(replmode RECEIVE)"));
	assert_int_equal(count_objects(fx, id), 0);
	/* The next transaction's first write is refused too. */
	assert_int_equal(frame(fx, PT_CHUNK_ASK, NULL, &e), COFFER_EPERM);
	set_replmode(fx, CAT_REPLMODE_SEND);
	assert_int_equal(fs_open(fx, "VM:web", &id, &e), 0);
}


/* ---- the replication target (sess_repl.c) ---- */

/* Run one frame of a server session. */
static int
rframe(struct fixture *fx, uint16_t type, const struct wire_buf *b,
    struct err *e)
{
	struct wire_rd rd;

	err_clear(e);
	fx->s.kind = PROTO_KIND_SERVER;
	snprintf(fx->s.name, sizeof(fx->s.name), "PRIMARY");
	wire_rd_init(&rd, b != NULL ? b->p : NULL, b != NULL ? b->len : 0);
	return sess_repl_frame(&fx->s, type, &rd, e);
}

static void
rframe_ok(struct fixture *fx, uint16_t type, const struct wire_buf *b)
{
	struct err e;
	int r;

	if ((r = rframe(fx, type, b, &e)) != 0)
		fail_msg("%s: %s (%d)", proto_type_name(type), e.msg, r);
}

static void
repl_node(struct fixture *fx, const char *node)
{
	struct wire_buf b;

	wire_buf_init(&b, 4096);
	wire_put_str(&b, node);
	wire_put_str(&b, "$scrypt$stand-in-hash");
	wire_put_str(&b, "STANDARD");
	wire_put_str(&b, "web team");
	wire_put_u64(&b, 86400);
	rframe_ok(fx, PT_REPL_NODE, &b);
	assert_int_equal(fx->rtype, PT_REPL_OK);
	wire_buf_free(&b);
}

/* REPL_FS: the target's fs id, version count and digest. */
static uint64_t
repl_fs(struct fixture *fx, const char *name, uint64_t *count,
    uint8_t digest[32])
{
	struct wire_buf b;
	struct wire_rd rd;
	uint64_t id;

	wire_buf_init(&b, 4096);
	wire_put_str(&b, name);
	wire_put_str(&b, "ext4");
	wire_put_u8(&b, 1);
	wire_put_u32(&b, 3);
	rframe_ok(fx, PT_REPL_FS, &b);
	wire_buf_free(&b);
	assert_int_equal(fx->rtype, PT_REPL_FS_OK);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u64(&rd, &id, NULL), 0);
	assert_int_equal(wire_get_u64(&rd, count, NULL), 0);
	assert_int_equal(wire_get_raw(&rd, digest, 32, NULL), 0);
	assert_int_equal(wire_rd_end(&rd, NULL), 0);
	return id;
}

/* REPL_OBJ of a file whose recipe is chunk h of n bytes. */
static void
repl_obj(struct fixture *fx, uint64_t fs, const char *path,
    const uint8_t uuid[16], int state, const uint8_t h[HASH_LEN], uint32_t n)
{
	struct pool_recipe rc;
	struct proto_obj o;
	struct wire_buf b;

	pool_recipe_init(&rc);
	assert_int_equal(pool_recipe_add(&rc, h, n, NULL), 0);
	memset(&o, 0, sizeof(o));
	o.type = CAT_OBJ_FILE;
	o.state = (uint8_t)state;
	o.path = path;
	o.path_len = strlen(path);
	o.size = n;
	o.mode = 0100644;
	o.inserted = 1700000000;
	o.deactivated = state == CAT_ACTIVE ? 0 : 1700000100;
	memcpy(o.uuid, uuid, 16);
	o.recipe = rc.p;
	o.recipe_len = rc.len;
	wire_buf_init(&b, WIRE_FRAME_MAX);
	wire_put_u64(&b, fs);
	proto_put_obj(&b, &o, 1);
	rframe_ok(fx, PT_REPL_OBJ, &b);
	wire_buf_free(&b);
	pool_recipe_free(&rc);
}

static void
repl_commit(struct fixture *fx, uint64_t fs, struct txn_ok *t)
{
	struct wire_buf b;

	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	wire_put_u8(&b, 0);
	rframe_ok(fx, PT_TXN_COMMIT, &b);
	wire_buf_free(&b);
	decode_txn_ok(fx, t);
}

/* REPL_LIST: the uuids the target holds, in order, with their states. */
static uint32_t
repl_list(struct fixture *fx, uint64_t fs, uint8_t uuids[][16],
    uint8_t *states)
{
	struct wire_buf b;
	struct wire_rd rd;
	uint8_t more;
	uint32_t n;

	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	wire_put_raw(&b, (const uint8_t[16]){ 0 }, 16);
	wire_put_u32(&b, 100);
	wire_put_u8(&b, 0);
	rframe_ok(fx, PT_REPL_LIST, &b);
	wire_buf_free(&b);
	assert_int_equal(fx->rtype, PT_REPL_PAGE);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	assert_int_equal(wire_get_u8(&rd, &more, NULL), 0);
	assert_int_equal(more, 0);
	assert_int_equal(wire_get_u32(&rd, &n, NULL), 0);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t d;

		assert_int_equal(wire_get_raw(&rd, uuids[i], 16, NULL), 0);
		assert_int_equal(wire_get_u8(&rd, &states[i], NULL), 0);
		assert_int_equal(wire_get_u64(&rd, &d, NULL), 0);
	}
	assert_int_equal(wire_rd_end(&rd, NULL), 0);
	return n;
}

static void
repl_change(struct fixture *fx, uint16_t type, uint64_t fs,
    const uint8_t uuid[16])
{
	struct wire_buf b;

	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	wire_put_raw(&b, uuid, 16);
	if (type == PT_REPL_STATE) {
		wire_put_u8(&b, CAT_INACTIVE);
		wire_put_u64(&b, 1700000200);
	}
	rframe_ok(fx, type, &b);
	wire_buf_free(&b);
}

static void
repl_target_stores_copies_and_applies_changes(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t u1[16] = { 1, 1 }, u2[16] = { 2, 2 };
	uint8_t h[HASH_LEN], d0[32], d1[32], d2[32], got[4][16], st[4];
	struct cat_account a;
	struct txn_ok t;
	uint64_t fs, n;

	repl_node(fx, "web01");
	assert_int_equal(cat_account_get(fx->w->cat, CAT_KIND_NODE, "WEB01",
	    &a, NULL), 0);
	assert_int_equal(a.repl_mode, CAT_REPLMODE_RECEIVE);
	assert_string_equal(a.domain, "STANDARD");
	fs = repl_fs(fx, "/srv", &n, d0);
	assert_int_equal(n, 0);
	/* The chunk travels in this transaction, then the two versions. */
	chunk_put(fx, 0x5a, 4096, h);
	repl_obj(fx, fs, "/srv/a", u1, CAT_ACTIVE, h, 4096);
	repl_obj(fx, fs, "/srv/old", u2, CAT_INACTIVE, h, 4096);
	repl_commit(fx, fs, &t);
	assert_int_equal(t.objects, 2);
	assert_int_equal(t.nfailed, 0);
	(void)repl_fs(fx, "/srv", &n, d1);
	assert_int_equal(n, 2);
	assert_memory_not_equal(d0, d1, 32);
	assert_int_equal(repl_list(fx, fs, got, st), 2);
	assert_memory_equal(got[0], u1, 16);	/* uuid order */
	assert_int_equal(st[0], CAT_ACTIVE);
	assert_memory_equal(got[1], u2, 16);
	assert_int_equal(st[1], CAT_INACTIVE);

	/* A deactivation and a deletion, in one transaction. */
	repl_change(fx, PT_REPL_STATE, fs, u1);
	repl_change(fx, PT_REPL_DEL, fs, u2);
	repl_commit(fx, fs, &t);
	assert_int_equal(t.nfailed, 0);
	assert_int_equal(repl_list(fx, fs, got, st), 1);
	assert_int_equal(st[0], CAT_INACTIVE);
	(void)repl_fs(fx, "/srv", &n, d2);
	assert_memory_not_equal(d1, d2, 32);
}

static void
repl_target_refuses_what_it_cannot_honour(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t u[16] = { 9 };
	uint8_t missing[HASH_LEN], d[32];
	struct wire_buf b;
	struct txn_ok t;
	struct err e;
	uint64_t fs, n;

	/* Nothing but REPL_NODE and REPL_DONE before a node is named. */
	wire_buf_init(&b, 64);
	wire_put_u64(&b, 1);
	assert_int_equal(rframe(fx, PT_REPL_LIST, &b, &e), COFFER_EPROTO);
	assert_int_equal(rframe(fx, PT_CHUNK_ASK, &b, &e), COFFER_EPROTO);
	assert_int_equal(rframe(fx, PT_OBJ_PUT, &b, &e), COFFER_EPROTO);
	wire_buf_free(&b);
	/* Truncated frames are errors, not crashes. */
	for (uint16_t ty = PT_REPL_NODE; ty <= PT_REPL_DONE; ty++) {
		wire_buf_init(&b, 64);
		wire_put_u8(&b, 1);
		assert_int_not_equal(rframe(fx, ty, &b, &e), 0);
		wire_buf_free(&b);
	}
	repl_node(fx, "web02");
	fs = repl_fs(fx, "/data", &n, d);
	/* A version naming a chunk the target has not got is refused. */
	memset(missing, 0x77, sizeof(missing));
	repl_obj(fx, fs, "/data/x", u, CAT_ACTIVE, missing, 100);
	repl_commit(fx, fs, &t);
	assert_int_equal(t.objects, 0);
	assert_int_equal(t.nfailed, 1);
	assert_string_equal(t.path, "/data/x");
	/* Another node's filespace is not this session's to change. */
	repl_node(fx, "web03");
	wire_buf_init(&b, 64);
	wire_put_u64(&b, fs);
	wire_put_raw(&b, u, 16);
	assert_int_equal(rframe(fx, PT_REPL_DEL, &b, &e), COFFER_EPERM);
	wire_buf_free(&b);
	/* A node that sends its own data here is not overwritten. */
	set_replmode(fx, CAT_REPLMODE_SEND);
	{
		struct cat_account a;

		assert_int_equal(cat_account_get(fx->w->cat, CAT_KIND_NODE,
		    "NODE1", &a, NULL), 0);
		a.repl_state = 1;
		assert_int_equal(cat_account_update(fx->w->cat, &a, NULL), 0);
	}
	wire_buf_init(&b, 4096);
	wire_put_str(&b, "node1");
	wire_put_str(&b, "x");
	wire_put_str(&b, "STANDARD");
	wire_put_str(&b, "");
	wire_put_u64(&b, 0);
	assert_int_equal(rframe(fx, PT_REPL_NODE, &b, &e), COFFER_EPERM);
	assert_non_null(strstr(e.msg, "replication source here"));
	wire_buf_free(&b);
}

/* ---- the client scheduler's frames (sess_sched.c) ---- */

static void
add_sched(struct fixture *fx, const char *name, int64_t first,
    int64_t dur, int assoc)
{
	struct cat_sched *sc = calloc(1, sizeof(*sc));
	struct cat_assoc as;
	struct err e;

	assert_non_null(sc);
	snprintf(sc->domain, sizeof(sc->domain), "STANDARD");
	snprintf(sc->name, sizeof(sc->name), "%s", name);
	sc->type = CAT_SCHED_CLIENT;
	snprintf(sc->action, sizeof(sc->action), "INCREMENTAL");
	snprintf(sc->objects, sizeof(sc->objects), "/data");
	sc->first_start = first;
	sc->duration_s = dur;
	sc->period_s = 86400;
	sc->active = 1;
	if (cat_sched_add(fx->w->cat, sc, &e) != 0)
		fail_msg("cat_sched_add: %s", e.msg);
	free(sc);
	if (!assoc)
		return;
	memset(&as, 0, sizeof(as));
	snprintf(as.domain, sizeof(as.domain), "STANDARD");
	snprintf(as.schedule, sizeof(as.schedule), "%s", name);
	snprintf(as.node, sizeof(as.node), "NODE1");
	assert_int_equal(cat_assoc_add(fx->w->cat, &as, &e), 0);
}

static void
sched_next(struct fixture *fx, struct proto_sched_next *n)
{
	struct wire_rd rd;
	struct err e;

	frame_ok(fx, PT_SCHED_QUERY, NULL);
	assert_int_equal(fx->rtype, PT_SCHED_NEXT);
	wire_rd_init(&rd, fx->rbuf, fx->rlen);
	if (proto_get_sched_next(&rd, n, &e) != 0)
		fail_msg("SCHED_NEXT: %s", e.msg);
}

static int
sched_report(struct fixture *fx, const char *name, int64_t start,
    int phase, int rc, struct err *e)
{
	struct proto_sched_report p;
	struct wire_buf b;
	int r;

	memset(&p, 0, sizeof(p));
	p.domain = "STANDARD";
	p.domain_len = 8;
	p.schedule = name;
	p.schedule_len = strlen(name);
	p.start = start;
	p.phase = (uint8_t)phase;
	p.rc = (uint8_t)rc;
	wire_buf_init(&b, 1u << 16);
	proto_put_sched_report(&b, &p);
	r = frame(fx, PT_SCHED_REPORT, &b, e);
	wire_buf_free(&b);
	return r;
}

static void
sess_sched_offers_the_open_window_and_checks_reports(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a;
	struct proto_sched_next n;
	struct cat_event ev;
	int64_t const now = (int64_t)time(NULL);
	struct err e;

	memset(&a, 0, sizeof(a));
	a.kind = CAT_KIND_NODE;
	snprintf(a.name, sizeof(a.name), "NODE1");
	snprintf(a.domain, sizeof(a.domain), "STANDARD");
	snprintf(a.pwhash, sizeof(a.pwhash), "x");
	assert_int_equal(cat_account_add(fx->w->cat, &a, &e), 0);
	assert_int_equal(cat_setting_set(fx->w->cat, "randomize", "10", &e),
	    0);
	add_sched(fx, "OPEN", now - 30, 600, 1);
	add_sched(fx, "CLOSED", now - 7200, 60, 1);
	add_sched(fx, "OTHERS", now - 30, 600, 0);

	sched_next(fx, &n);
	assert_int_equal(n.has, 1);
	assert_int_equal(n.randomize, 10);
	assert_memory_equal(n.schedule, "OPEN", 4);
	assert_true(n.start == now - 30 && n.end == now + 570);

	assert_int_equal(sched_report(fx, "CLOSED", now - 7200,
	    PROTO_SCHED_STARTED, 0, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "outside its startup window"));
	assert_int_equal(sched_report(fx, "OTHERS", now - 30,
	    PROTO_SCHED_STARTED, 0, &e), COFFER_EPERM);
	assert_non_null(strstr(e.msg, "not associated"));
	assert_int_equal(sched_report(fx, "OPEN", now - 29,
	    PROTO_SCHED_STARTED, 0, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "no startup window"));

	assert_int_equal(sched_report(fx, "OPEN", now - 30,
	    PROTO_SCHED_STARTED, 0, &e), 0);
	assert_int_equal(fx->rtype, PT_SCHED_OK);
	assert_int_equal(cat_event_get(fx->w->cat, "STANDARD", "OPEN",
	    "NODE1", now - 30, &ev, &e), 0);
	assert_int_equal(ev.status, 1);
	assert_int_equal(sched_report(fx, "OPEN", now - 30,
	    PROTO_SCHED_ENDED, 4, &e), 0);
	assert_int_equal(cat_event_get(fx->w->cat, "STANDARD", "OPEN",
	    "NODE1", now - 30, &ev, &e), 0);
	assert_int_equal(ev.status, 2);
	assert_int_equal(ev.rc, 4);
	assert_int_equal(sched_report(fx, "OPEN", now - 30,
	    PROTO_SCHED_STARTED, 0, &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, "already run"));

	/* Done with OPEN's window: the next is CLOSED's tomorrow. */
	sched_next(fx, &n);
	assert_int_equal(n.has, 1);
	assert_memory_equal(n.schedule, "CLOSED", 6);
	assert_true(n.start > now);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(sess_sched_offers_the_open_window_and_checks_reports),
		T(sess_fs_open_accepts_vm_names_and_refuses_others),
		T(sess_txn_abort_keeps_nothing),
		T(sess_atomic_commit_with_a_failed_object_keeps_nothing),
		T(sess_plain_commit_keeps_the_good_objects),
		T(sess_atomic_commit_failing_inside_commit_rolls_back),
		T(sess_unknown_commit_flags_are_a_protocol_error),
		T(sess_obj_recipe_answers_for_vm_disks),
		T(sess_recipe_get_by_id_for_its_own_objects),
		T(sess_obj_list_options_and_hidden_features),
		T(sess_vm_version_past_the_recipe_limit_names_it),
		T(sess_vm_version_in_parts_is_seen_only_whole),
		T(sess_fs_list_carries_dr_and_vm_backup_is_logged),
		T(sess_replication_target_refuses_backup_but_allows_restore),
		T(sess_replication_target_set_mid_transaction_refuses_commit),
		T(repl_target_stores_copies_and_applies_changes),
		T(repl_target_refuses_what_it_cannot_honour),
#undef T
	};

	return cmocka_run_group_tests_name("sess_node", tests, NULL, NULL);
}
