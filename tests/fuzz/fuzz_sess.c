/*
 * fuzz_sess.c - libFuzzer target: what an authenticated peer may send.
 *
 * A logged-on node (or a peer server) is the widest hostile surface the
 * server has: every frame handler of server/sess_node.c and
 * server/sess_repl.c decodes its payload inline and then acts on a real
 * catalog and pool.  The input is a byte that picks the session kind
 * (even: node NODE1, odd: server PEER) followed by frames in the wire
 * format (8-byte header, payload); they are fed to the handlers one after
 * another, as the session loop does, until one fails (which ends a real
 * session).  Replies are dropped by the sess_reply() stand-in, and the
 * transaction is dropped after each input, as a closed session's is.
 * Whatever the frames say, the handlers must not crash, leak or read out
 * of bounds, and sess_error() (the fatal path of sess.c) must never be
 * reached from them: they return errors instead.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat.h"
#include "err.h"
#include "pool.h"
#include "proto.h"
#include "sess.h"
#include "srv.h"
#include "util.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES	32

static struct srv *srv;

/* Stand-ins for sess.c. */
void
sess_reply(struct sess *s, uint16_t type)
{
	(void)type;
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
	(void)fmt;
	/* The handlers return errors; the session loop reports them. */
	__builtin_trap();
}

static void
die(const char *what, const struct err *e)
{
	fprintf(stderr, "fuzz_sess: %s: %s\n", what, e->msg);
	abort();
}

static char dir[] = "/tmp/coffer-fuzz-sess.XXXXXX";

static void
remove_dir(void)
{
	util_rm_rf(dir);
}

/* One catalog and pool for the whole run, with a node and a filespace. */
static void
setup_once(void)
{
	char db[64], pooldir[64];
	struct pool_params pp;
	struct cat_account a;
	uint64_t fs;
	struct err e;

	if (srv != NULL)
		return;
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	snprintf(db, sizeof(db), "%s/catalog.db", dir);
	snprintf(pooldir, sizeof(pooldir), "%s/pool", dir);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		abort();
	srv->w[0].srv = srv;
	srv->o.verify_chunks = 1;
	pool_params_default(&pp);
	if (cat_open(db, &srv->w[0].cat, &e) != 0)
		die("catalog", &e);
	if (pool_create(pooldir, db, &pp, &e) != 0 ||
	    pool_open(pooldir, db, &srv->pool, &e) != 0)
		die("pool", &e);
	if ((srv->w[0].rd = pool_reader_new(srv->pool, &e)) == NULL)
		die("reader", &e);
	memset(&a, 0, sizeof(a));
	a.kind = CAT_KIND_NODE;
	snprintf(a.name, sizeof(a.name), "NODE1");
	snprintf(a.pwhash, sizeof(a.pwhash), "x");
	snprintf(a.domain, sizeof(a.domain), "STANDARD");
	if (cat_account_add(srv->w[0].cat, &a, &e) != 0)
		die("node", &e);
	/* NODE2 is what the peer server replicates (it becomes a target). */
	snprintf(a.name, sizeof(a.name), "NODE2");
	if (cat_account_add(srv->w[0].cat, &a, &e) != 0)
		die("node", &e);
	/*
	 * Filespaces 1 (NODE1 /home) and 2 (NODE2 /data) exist, so that the
	 * seeds' frames naming them reach the deeper code.
	 */
	if (cat_fs_open(srv->w[0].cat, "NODE1", "/home", "ext4", &fs, &e) != 0 ||
	    cat_fs_open(srv->w[0].cat, "NODE2", "/data", "ext4", &fs, &e) != 0)
		die("filespace", &e);
}

static void
sess_init(struct sess *s, int server)
{
	memset(s, 0, sizeof(*s));
	s->w = &srv->w[0];
	s->state = SESS_READY;
	s->kind = server ? PROTO_KIND_SERVER : PROTO_KIND_NODE;
	s->features = PROTO_FEATURES;	/* as on_hello sets them */
	snprintf(s->name, sizeof(s->name), server ? "PEER" : "NODE1");
	s->pend_tail = &s->pend;
	wire_buf_init(&s->out, WIRE_FRAME_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sess s;
	int server;

	setup_once();
	if (size < 1)
		return 0;
	server = data[0] & 1;
	data++;
	size--;
	sess_init(&s, server);
	for (int i = 0; i < MAX_FRAMES && size >= WIRE_HDR_LEN; i++) {
		struct wire_hdr h;
		struct wire_rd r;
		struct err e;
		int rc;

		if (wire_hdr_decode(data, WIRE_FRAME_MAX, &h, &e) != 0 ||
		    h.len > size - WIRE_HDR_LEN)
			break;
		wire_rd_init(&r, data + WIRE_HDR_LEN, h.len);
		err_clear(&e);
		rc = server ? sess_repl_frame(&s, h.type, &r, &e) :
		    sess_node_frame(&s, h.type, &r, &e);
		/* FUZZ_SESS_TRACE=1: how far a seed gets (corpus upkeep). */
		if (getenv("FUZZ_SESS_TRACE") != NULL)
			fprintf(stderr, "fuzz_sess: %s -> %d %s\n",
			    proto_type_name(h.type), rc, rc ? e.msg : "");
		if (rc != 0)
			break;
		data += WIRE_HDR_LEN + h.len;
		size -= WIRE_HDR_LEN + h.len;
	}
	sess_txn_drop(&s);
	wire_buf_free(&s.out);
	return 0;
}
