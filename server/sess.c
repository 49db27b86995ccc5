/*
 * sess.c - session life cycle: framing, backpressure, HELLO and AUTH.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "adm.h"
#include "cat.h"
#include "codec.h"
#include "err.h"
#include "passwd.h"
#include "pool.h"
#include "sess.h"
#include "sess_verify.h"
#include "srv.h"

#define OUT_HIGH	(32u << 20)	/* stop reading above this much output */
#define OUT_LOW		(4u << 20)	/* and start again below this */
#define FRAMES_PER_CALL	64		/* then let other sessions run */

static void read_cb(struct bufferevent *bev, void *arg);

static void
sess_free(struct sess *s)
{
	struct srv *srv = s->w->srv;
	struct sess **pp;

	sess_txn_drop(s);
	/* A version left unfinished: none of its parts stays (proto.h, PROTO_TXN_STAGE). */
	sess_stage_drop(s);
	if (s->kind == PROTO_KIND_NODE)
		sess_node_end(s);
	pthread_mutex_lock(&srv->slock);
	srv->nsessions--;
	for (pp = &s->w->sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	pthread_mutex_unlock(&srv->slock);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	wire_buf_free(&s->out);
	passwd_wipe(s->peer_key, sizeof(s->peer_key));
	free(s->pre);
	free(s->pre_buf);
	free(s);
}

void
sess_reply(struct sess *s, uint16_t type)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct wire_hdr h = { 0, type, 0 };
	uint8_t hdr[WIRE_HDR_LEN];

	if (s->out.failed) {
		/* A reply we cannot encode is our bug; say so, don't crash. */
		wire_buf_reset(&s->out);
		sess_error(s, COFFER_EINTERNAL, 12, 1, "reply %s too large",
		    proto_type_name(type));
		return;
	}
	h.len = (uint32_t)s->out.len;
	wire_hdr_encode(hdr, &h);
	evbuffer_add(out, hdr, sizeof(hdr));
	evbuffer_add(out, s->out.p, s->out.len);
	s->bytes_out += sizeof(hdr) + s->out.len;
	__atomic_fetch_add(&s->w->srv->bytes_sent, sizeof(hdr) + s->out.len,
	    __ATOMIC_RELAXED);
	wire_buf_reset(&s->out);
}

/*
 * Lingering close.  A client that pipelines (CHUNK_PUTs of a backup) is
 * usually still sending when the server ends its session with an ERROR
 * frame: closing the socket with its data unread would make the kernel
 * answer with a reset, and the client would report "connection reset"
 * instead of the server's reason (a full disk, a refused object).  So a
 * closing session goes on reading and discarding for a while, until the
 * client has read the ERROR and hangs up, at most SESS_LINGER_S seconds
 * and SESS_LINGER_BYTES bytes: a peer cannot hold it open.
 */
#define SESS_LINGER_S		5
#define SESS_LINGER_BYTES	(64u << 20)

/* The peer went away (or lingered too long): nothing more to send. */
static void
close_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		sess_free(arg);
}

static void
close_when_flushed(struct bufferevent *bev, void *arg)
{
	(void)arg;
	/*
	 * Flushed: the peer has our last frame.  Stop writing; the session
	 * ends when the peer hangs up, or at the linger timeout.
	 */
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
}

static void
drain_cb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t const n = evbuffer_get_length(in);

	evbuffer_drain(in, n);
	s->lingered += n;
	/* The read timeout restarts with each read: bound the whole. */
	if (s->lingered > SESS_LINGER_BYTES ||
	    (int64_t)time(NULL) > s->linger_until)
		sess_free(s);
}

/*
 * Stop serving and free the session once its output is flushed and the
 * peer has hung up (see the lingering close above).  Never frees here:
 * the caller may still be inside process_input() with s; the deferred
 * callbacks do it.
 */
static void
sess_close(struct sess *s)
{
	struct timeval const linger = { SESS_LINGER_S, 0 };

	s->state = SESS_CLOSING;
	s->lingered = 0;
	s->linger_until = (int64_t)time(NULL) + SESS_LINGER_S;
	bufferevent_setcb(s->bev, drain_cb, close_when_flushed,
	    close_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, 0);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(s->bev, &linger, &linger);
	bufferevent_enable(s->bev, EV_READ);
	bufferevent_trigger(s->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
}

void
sess_error(struct sess *s, int code, int rc, int fatal, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wire_buf_reset(&s->out);
	wire_put_u32(&s->out, (uint32_t)code);
	wire_put_u8(&s->out, (uint8_t)rc);
	wire_put_str(&s->out, msg);
	sess_reply(s, PT_ERROR);
	if (fatal) {
		fprintf(stderr, "cofferd: session %" PRIu64 " (%s%s%s): %s\n",
		    s->id, s->peer, s->name[0] ? " " : "", s->name, msg);
		sess_close(s);
	}
}

/*
 * The features this server advertises: all of them, less those named in
 * COFFER_TEST_HIDE_FEATURES ("TXN_STAGE,RECIPE_GET,LIST_OPTS"; test
 * only): the session then refuses them as a server from before them
 * did, so that tests see how clients cope with an older server.
 */
static uint64_t
sess_features(void)
{
	const char *hide = getenv("COFFER_TEST_HIDE_FEATURES");
	uint64_t f = PROTO_FEATURES;

	if (hide == NULL)
		return f;
	for (uint64_t bit = 1; bit <= PROTO_FEATURES; bit <<= 1)
		if ((PROTO_FEATURES & bit) &&
		    strstr(hide, proto_feature_name(bit)) != NULL)
			f &= ~bit;
	return f;
}

static int
on_hello(struct sess *s, struct wire_rd *r, struct err *e)
{
	uint32_t magic;
	uint16_t vmin, vmax;
	char prog[256];
	int rc;

	if ((rc = wire_get_u32(r, &magic, e)) != 0 ||
	    (rc = wire_get_u16(r, &vmin, e)) != 0 ||
	    (rc = wire_get_u16(r, &vmax, e)) != 0 ||
	    (rc = wire_get_str(r, 255, prog, sizeof(prog), e)) != 0 ||
	    (rc = wire_rd_end(r, e)) != 0)
		return rc;
	if (magic != PROTO_MAGIC)
		return err_set(e, COFFER_EPROTO, "not a Coffer client (bad "
		    "magic)");
	if (vmin > PROTO_VERSION || vmax < PROTO_VERSION)
		return err_set(e, COFFER_EVERSION, "protocol versions %u..%u "
		    "not supported; this server speaks %u", vmin, vmax,
		    PROTO_VERSION);
	s->features = sess_features();
	wire_put_u16(&s->out, PROTO_VERSION);
	wire_put_str(&s->out, s->w->srv->name);
	wire_put_u64(&s->out, s->features);
	sess_reply(s, PT_HELLO_OK);
	s->state = SESS_AUTH;
	return 0;
}

/*
 * MAXSESSIONS (TSM's server option): a session over the limit is told so
 * and closed at AUTH, before any password is checked.  The count holds
 * every open session, logged on or not, so a flood of connections is
 * bounded as well (and each unauthenticated one lasts at most
 * LOGONTIMEOUT seconds); SRV_ADMIN_RESERVE more are left for
 * administrators, so that one can still log on to see what is going on.
 * Returns 1 when refused.
 */
static int
over_limit(struct sess *s, int kind)
{
	struct srv *srv = s->w->srv;
	int const max = srv->o.max_sessions + (kind == PROTO_KIND_ADMIN ?
	    SRV_ADMIN_RESERVE : 0);
	int n;

	pthread_mutex_lock(&srv->slock);
	n = srv->nsessions;
	pthread_mutex_unlock(&srv->slock);
	if (n <= max)
		return 0;
	sess_error(s, COFFER_EBUSY, 12, 1, "ANR0429W Session %" PRIu64 " from "
	    "%s refused: the maximum number of sessions (%d, server option "
	    "MAXSESSIONS) is reached; try again later.", s->id, s->peer,
	    srv->o.max_sessions);
	return 1;
}

/* Logged on: from now on the idle timeout applies, not the logon one. */
static void
sess_ready(struct sess *s)
{
	struct timeval const idle = { SRV_IDLE_TIMEOUT_S, 0 };

	s->state = SESS_READY;
	bufferevent_set_timeouts(s->bev, &idle, NULL);
}

static const char *
kind_word(int kind)
{
	return kind == PROTO_KIND_ADMIN ? "administrator" : "node";
}

/* Check name and password; on failure the ERROR is already sent. */
static int
account_auth(struct sess *s, int kind, const char *name, struct wire_rd *r,
    struct err *e)
{
	struct cat *c = s->w->cat;
	char norm[CAT_NAME_MAX + 1], pw[1024];
	struct cat_account a;
	struct err ve;
	int locked = 0, limit, rc;

	if ((rc = wire_get_str(r, 1023, pw, sizeof(pw), e)) != 0 ||
	    (rc = wire_rd_end(r, e)) != 0)
		goto out;
	if (cat_name_normalize(name, norm, NULL) != 0 ||
	    cat_account_get(c, kind, norm, &a, NULL) != 0) {
		sess_error(s, COFFER_EAUTH, 12, 1, "ANR0422W Session %" PRIu64
		    " for %s %s refused - %s not registered.", s->id,
		    kind_word(kind), name, kind_word(kind));
		rc = 0;
		goto out;
	}
	if (a.locked) {
		sess_error(s, COFFER_ELOCKED, 12, 1, "ANR0425W Session %" PRIu64
		    " for %s %s refused - %s is locked.", s->id,
		    kind_word(kind), norm, kind_word(kind));
		rc = 0;
		goto out;
	}
	limit = (int)cat_setting_int(c, "invalidpwlimit", 5);
	err_clear(&ve);
	if (passwd_verify(pw, a.pwhash, &ve) != 0) {
		(void)cat_account_logon(c, kind, norm, 0, limit, &locked, NULL);
		(void)cat_actlog(c, CAT_SEV_WARN, 424, kind == PROTO_KIND_NODE ?
		    norm : NULL, "Invalid password submitted by %s %s from "
		    "%s%s.", kind_word(kind), norm, s->peer, locked ?
		    "; the account is now locked" : "");
		sess_error(s, COFFER_EAUTH, 12, 1, "ANR0424W Session %" PRIu64
		    " for %s %s refused - invalid password submitted%s.",
		    s->id, kind_word(kind), norm, locked ? "; the account "
		    "is now locked" : "");
		rc = 0;
		goto out;
	}
	(void)cat_account_logon(c, kind, norm, 1, limit, &locked, NULL);
	s->kind = kind;
	snprintf(s->name, sizeof(s->name), "%s", norm);
	sess_ready(s);
	wire_put_str(&s->out, norm);
	wire_put_str(&s->out, kind == PROTO_KIND_NODE ? a.domain : "");
	sess_reply(s, PT_AUTH_OK);
	(void)cat_actlog(c, CAT_SEV_INFO, 406, kind == PROTO_KIND_NODE ? norm :
	    NULL, "Session %" PRIu64 " started for %s %s from %s.", s->id,
	    kind_word(kind), norm, s->peer);
	rc = 0;
out:
	passwd_wipe(pw, sizeof(pw));
	return rc;
}

/*
 * A peer server's AUTH (proto.h): look up its definition, and answer
 * with our nonce and our proof of the key.  Its own proof comes next, in
 * AUTH_PROOF.  On failure the ERROR is already sent.
 */
static int
server_auth(struct sess *s, const char *name, struct wire_rd *r,
    struct err *e)
{
	struct cat *c = s->w->cat;
	char norm[CAT_NAME_MAX + 1];
	uint8_t mac[PROTO_NONCE_LEN];
	struct cat_server peer;
	const uint8_t *cn;
	size_t n;
	int rc;

	if ((rc = wire_get_bytes(r, PROTO_NONCE_LEN, &cn, &n, e)) != 0 ||
	    (rc = wire_rd_end(r, e)) != 0)
		return rc;
	if (n != PROTO_NONCE_LEN)
		return err_set(e, COFFER_EPROTO, "server AUTH: nonce of %zu "
		    "bytes, expected %d", n, PROTO_NONCE_LEN);
	if (cat_name_normalize(name, norm, NULL) != 0 ||
	    cat_server_get(c, norm, &peer, NULL) != 0) {
		(void)cat_actlog(c, CAT_SEV_WARN, 453, NULL, "Session %" PRIu64
		    " for server %s from %s refused - server %s is not "
		    "defined here.", s->id, name, s->peer, name);
		sess_error(s, COFFER_EAUTH, 12, 1, "ANR0453W Session %" PRIu64
		    " for server %s refused - server %s is not defined here.",
		    s->id, name, name);
		return 0;
	}
	memcpy(s->peer_key, peer.key, sizeof(s->peer_key));
	passwd_wipe(peer.key, sizeof(peer.key));
	memcpy(s->peer_cn, cn, PROTO_NONCE_LEN);
	if (RAND_bytes(s->peer_sn, sizeof(s->peer_sn)) != 1)
		return err_set(e, COFFER_EINTERNAL, "server AUTH: RAND_bytes "
		    "failed");
	if ((rc = passwd_server_mac(s->peer_key, 'T', s->peer_cn, s->peer_sn,
	    s->w->srv->name, mac, e)) != 0)
		return rc;
	wire_put_raw(&s->out, s->peer_sn, sizeof(s->peer_sn));
	wire_put_raw(&s->out, mac, sizeof(mac));
	sess_reply(s, PT_AUTH_CHAL);
	/* The name it claims; the session is not READY before the proof. */
	snprintf(s->name, sizeof(s->name), "%s", norm);
	s->state = SESS_PROOF;
	return 0;
}

static int
on_auth(struct sess *s, struct wire_rd *r, struct err *e)
{
	char name[256];
	uint8_t kind;
	int rc;

	if ((rc = wire_get_u8(r, &kind, e)) != 0 ||
	    (rc = wire_get_str(r, 255, name, sizeof(name), e)) != 0)
		return rc;
	if (over_limit(s, kind))
		return 0;
	if (kind == PROTO_KIND_SERVER)
		return server_auth(s, name, r, e);
	if (kind != PROTO_KIND_NODE && kind != PROTO_KIND_ADMIN)
		return err_set(e, COFFER_EPROTO, "unknown session kind %u",
		    kind);
	return account_auth(s, kind, name, r, e);
}

/* A peer server's AUTH_PROOF: it holds the key, or it is refused. */
static int
on_proof(struct sess *s, struct wire_rd *r, struct err *e)
{
	struct cat *c = s->w->cat;
	uint8_t proof[PROTO_NONCE_LEN], want[PROTO_NONCE_LEN];
	int ok, rc;

	if ((rc = wire_get_raw(r, proof, sizeof(proof), e)) != 0 ||
	    (rc = wire_rd_end(r, e)) != 0 ||
	    (rc = passwd_server_mac(s->peer_key, 'S', s->peer_cn, s->peer_sn,
	    s->name, want, e)) != 0)
		goto out;
	ok = CRYPTO_memcmp(proof, want, sizeof(want)) == 0;
	if (!ok) {
		(void)cat_actlog(c, CAT_SEV_WARN, 454, NULL, "Session %" PRIu64
		    " for server %s from %s refused - server password "
		    "mismatch: the passwords defined on the two servers "
		    "differ.", s->id, s->name, s->peer);
		sess_error(s, COFFER_EAUTH, 12, 1, "ANR0454W Session %" PRIu64
		    " for server %s refused by server %s - server password "
		    "mismatch.", s->id, s->name, s->w->srv->name);
		rc = 0;
		goto out;
	}
	s->kind = PROTO_KIND_SERVER;
	sess_ready(s);
	wire_put_str(&s->out, s->name);
	wire_put_str(&s->out, "");
	sess_reply(s, PT_AUTH_OK);
	(void)cat_actlog(c, CAT_SEV_INFO, 406, NULL, "Session %" PRIu64
	    " started for server %s from %s.", s->id, s->name, s->peer);
	rc = 0;
out:
	passwd_wipe(s->peer_key, sizeof(s->peer_key));
	passwd_wipe(want, sizeof(want));
	return rc;
}

static int
dispatch(struct sess *s, uint16_t type, struct wire_rd *r, struct err *e)
{
	switch (s->state) {
	case SESS_HELLO:
		if (type != PT_HELLO)
			return err_set(e, COFFER_EPROTO, "expected HELLO, got "
			    "%s", proto_type_name(type));
		return on_hello(s, r, e);
	case SESS_AUTH:
		if (type != PT_AUTH)
			return err_set(e, COFFER_EPROTO, "expected AUTH, got "
			    "%s", proto_type_name(type));
		return on_auth(s, r, e);
	case SESS_PROOF:
		if (type != PT_AUTH_PROOF)
			return err_set(e, COFFER_EPROTO, "expected AUTH_PROOF, "
			    "got %s", proto_type_name(type));
		return on_proof(s, r, e);
	case SESS_READY:
		if (type == PT_BYE) {
			sess_close(s);
			return 0;
		}
		if (s->kind == PROTO_KIND_ADMIN)
			return sess_admin_frame(s, type, r, e);
		if (s->kind == PROTO_KIND_SERVER)
			return sess_repl_frame(s, type, r, e);
		return sess_node_frame(s, type, r, e);
	case SESS_CLOSING:
		return 0;
	}
	return err_set(e, COFFER_EINTERNAL, "bad session state");
}

/*
 * How many complete CHUNK_PUT frames are at the front of in, within one
 * batch's bounds (SESS_VERIFY_*).
 */
static size_t
count_puts(struct evbuffer *in)
{
	size_t const avail = evbuffer_get_length(in);
	size_t n = 0, off = 0, bytes = 0;

	while (n < SESS_VERIFY_BATCH && off + WIRE_HDR_LEN <= avail) {
		uint8_t hdr[WIRE_HDR_LEN];
		struct evbuffer_ptr pos;
		struct wire_hdr h;
		struct err e;

		if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(in, &pos, hdr, sizeof(hdr)) !=
		    (ev_ssize_t)sizeof(hdr) ||
		    wire_hdr_decode(hdr, WIRE_FRAME_MAX, &h, &e) != 0 ||
		    h.type != PT_CHUNK_PUT ||
		    off + WIRE_HDR_LEN + h.len > avail ||
		    bytes + h.len > SESS_VERIFY_BYTES)
			break;
		off += WIRE_HDR_LEN + (size_t)h.len;
		bytes += h.len;
		n++;
	}
	return n;
}

/* Decode a copied CHUNK_PUT payload as on_chunk_put does; 0 when it is. */
static int
parse_put(const uint8_t *p, size_t len, struct pool_chunk *c)
{
	struct wire_rd rd;
	const uint8_t *stored;
	size_t n;
	struct err e;

	wire_rd_init(&rd, p, len);
	if (wire_get_raw(&rd, c->hash, HASH_LEN, &e) != 0 ||
	    wire_get_u32(&rd, &c->raw_len, &e) != 0 ||
	    wire_get_u8(&rd, &c->codec, &e) != 0 ||
	    wire_get_bytes(&rd, codec_bound(POOL_RAW_MAX), &stored, &n,
	    &e) != 0 || wire_rd_end(&rd, &e) != 0)
		return -1;
	c->stored = stored;
	c->stored_len = (uint32_t)n;
	return 0;
}

/*
 * Verify the CHUNK_PUT frames waiting at the front of the input as one
 * batch, on the helpers and this thread (sess_verify.h), when there are
 * at least two and no results are left from the last batch.  The frames
 * stay in the input and are dispatched as usual, in order; on_chunk_put
 * takes their results through sess_pre_verified().
 */
static void
verify_ahead(struct sess *s, struct evbuffer *in)
{
	struct srv *srv = s->w->srv;
	size_t n, off = 0, boff = 0, i;

	/*
	 * A replication source's CHUNK_PUT frames (a server session that
	 * named its node) are verified the same way: a hot site checks
	 * every chunk it is sent.
	 */
	if (srv->verify == NULL || s->state != SESS_READY ||
	    (s->kind != PROTO_KIND_NODE && (s->kind != PROTO_KIND_SERVER ||
	    s->repl_node[0] == '\0')) || s->pre_i < s->pre_n)
		return;
	s->pre_i = s->pre_n = 0;
	if ((n = count_puts(in)) < 2)
		return;
	if (s->pre == NULL && (s->pre = calloc(SESS_VERIFY_BATCH,
	    sizeof(*s->pre))) == NULL)
		return;			/* verified one by one, then */
	if (s->pre_buf == NULL && (s->pre_buf = malloc(SESS_VERIFY_BYTES)) ==
	    NULL)
		return;
	for (i = 0; i < n; i++) {
		uint8_t hdr[WIRE_HDR_LEN];
		struct evbuffer_ptr pos;
		struct wire_hdr h;
		struct err e;

		/* count_puts checked these frames are whole and in bounds. */
		if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(in, &pos, hdr, sizeof(hdr)) !=
		    (ev_ssize_t)sizeof(hdr) ||
		    wire_hdr_decode(hdr, WIRE_FRAME_MAX, &h, &e) != 0 ||
		    evbuffer_ptr_set(in, &pos, off + WIRE_HDR_LEN,
		    EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(in, &pos, s->pre_buf + boff, h.len) !=
		    (ev_ssize_t)h.len)
			break;
		memset(&s->pre[i], 0, sizeof(s->pre[i]));
		/* A malformed one ends the batch; dispatch will reject it. */
		if (parse_put(s->pre_buf + boff, h.len, &s->pre[i].c) != 0)
			break;
		off += WIRE_HDR_LEN + (size_t)h.len;
		boff += h.len;
	}
	sess_verify_run(srv->verify, s->w->rd, s->pre, i);
	s->pre_n = i;
}

int
sess_pre_verified(struct sess *s, const struct pool_chunk *c, int *rc,
    struct err *e)
{
	const struct sess_verify_item *it;

	if (s->pre_i >= s->pre_n)
		return 0;
	it = &s->pre[s->pre_i++];
	/*
	 * Frames are dispatched in the order they were batched, so this is
	 * the same frame; the bytes are compared anyway, so that what was
	 * verified is what gets stored.  A difference would be our bug:
	 * drop the batch and verify here.
	 */
	if (memcmp(it->c.hash, c->hash, HASH_LEN) != 0 ||
	    it->c.raw_len != c->raw_len || it->c.codec != c->codec ||
	    it->c.stored_len != c->stored_len ||
	    memcmp(it->c.stored, c->stored, c->stored_len) != 0) {
		s->pre_i = s->pre_n = 0;
		return 0;
	}
	*rc = it->rc;
	if (it->rc != 0)
		err_set(e, it->rc, "%s", it->msg);
	return 1;
}

/* Parse and run whole frames; returns 1 when the session was freed. */
static int
process_input(struct sess *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer *out = bufferevent_get_output(s->bev);
	uint32_t const max = s->state == SESS_READY ? WIRE_FRAME_MAX :
	    SRV_PREAUTH_FRAME_MAX;

	for (int n = 0; n < FRAMES_PER_CALL; n++) {
		uint8_t hdr[WIRE_HDR_LEN], *payload;
		struct wire_hdr h;
		struct wire_rd rd;
		struct err e;
		int rc;

		if (evbuffer_get_length(out) > OUT_HIGH) {
			/* Backpressure: the peer is not reading its replies. */
			s->paused = 1;
			bufferevent_disable(s->bev, EV_READ);
			return 0;
		}
		if (evbuffer_get_length(in) < WIRE_HDR_LEN)
			return 0;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		err_clear(&e);
		if (wire_hdr_decode(hdr, max, &h, &e) != 0) {
			sess_error(s, COFFER_EPROTO, 12, 1, "malformed frame: "
			    "%s", e.msg);
			return 1;
		}
		if (evbuffer_get_length(in) < WIRE_HDR_LEN + (size_t)h.len)
			return 0;	/* the rest is on its way */
		if (h.type == PT_CHUNK_PUT)
			verify_ahead(s, in);
		evbuffer_drain(in, WIRE_HDR_LEN);
		payload = h.len ? evbuffer_pullup(in, h.len) : NULL;
		wire_rd_init(&rd, payload, h.len);
		s->bytes_in += WIRE_HDR_LEN + h.len;
		__atomic_fetch_add(&s->w->srv->bytes_received,
		    (uint64_t)WIRE_HDR_LEN + h.len, __ATOMIC_RELAXED);
		rc = dispatch(s, h.type, &rd, &e);
		if (s->state == SESS_CLOSING)
			return 1;	/* freed, or freeing once flushed */
		evbuffer_drain(in, h.len);
		if (rc != 0) {
			sess_error(s, rc, 12, 1, "%s: %s",
			    proto_type_name(h.type), e.msg);
			return 1;
		}
	}
	/* Let other sessions on this worker run, then continue. */
	bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
	return 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)process_input(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;

	if (s->paused && evbuffer_get_length(bufferevent_get_output(bev)) <
	    OUT_LOW) {
		s->paused = 0;
		bufferevent_enable(bev, EV_READ);
		(void)process_input(s);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sess *s = arg;
	char why[512] = "";
	unsigned long ssl_err;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), s->state == SESS_READY ? "idle "
		    "timeout" : "no logon within %d s", s->w->srv->o.logon_timeout);
	else if (what & BEV_EVENT_ERROR) {
		while ((ssl_err = bufferevent_get_openssl_error(bev)) != 0) {
			size_t n = strlen(why);

			ERR_error_string_n(ssl_err, why + n, sizeof(why) - n);
		}
		if (why[0] == '\0' && EVUTIL_SOCKET_ERROR() != 0)
			snprintf(why, sizeof(why), "%s",
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	/*
	 * A connection dropped before HELLO is a port probe, not news; one
	 * that sat there until the logon timeout may be part of a flood.
	 */
	if (why[0] != '\0' && (s->state != SESS_HELLO ||
	    (what & BEV_EVENT_TIMEOUT)))
		fprintf(stderr, "cofferd: session %" PRIu64 " (%s %s): %s\n",
		    s->id, s->peer, s->name, why);
	if (s->txn != NULL)
		fprintf(stderr, "cofferd: session %" PRIu64 ": connection lost "
		    "with an uncommitted transaction; it is rolled back\n",
		    s->id);
	sess_free(s);
}

void
sess_adopt(struct srv_worker *w, int fd)
{
	struct srv *srv = w->srv;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct timeval const logon = { srv->o.logon_timeout, 0 };
	struct sess *s;
	SSL *ssl;

	if ((s = calloc(1, sizeof(*s))) == NULL || (ssl = SSL_new(srv->ssl))
	    == NULL) {
		free(s);
		close(fd);
		return;
	}
	s->w = w;
	s->started = time(NULL);
	s->pend_tail = &s->pend;
	wire_buf_init(&s->out, WIRE_FRAME_MAX);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(s->peer, sizeof(s->peer), "%s:%u", a,
		    ntohs(sin->sin_port));
	}
	s->bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {	/* 2.1.12 freed ssl on this path */
		close(fd);
		wire_buf_free(&s->out);
		free(s);
		return;
	}
	pthread_mutex_lock(&srv->slock);
	s->id = srv->next_sess++;
	s->next = w->sessions;
	w->sessions = s;
	srv->nsessions++;
	pthread_mutex_unlock(&srv->slock);
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, OUT_LOW, 0);
	bufferevent_set_timeouts(s->bev, &logon, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
sess_close_all(struct srv_worker *w)
{
	while (w->sessions != NULL)
		sess_free(w->sessions);
}

static const char *
state_word(const struct sess *s)
{
	switch (s->state) {
	case SESS_HELLO:	return "Start";
	case SESS_AUTH:		return "Auth";
	case SESS_PROOF:	return "Auth";
	case SESS_READY:	return s->txn ? "Run" : "IdleW";
	case SESS_CLOSING:	return "End";
	}
	return "?";
}

/* QUERY SESSION's kind column. */
static const char *
kind_label(int kind)
{
	switch (kind) {
	case PROTO_KIND_ADMIN:	return "Admin";
	case PROTO_KIND_SERVER:	return "Server";
	}
	return "Node";
}

int
sess_list(void *arg, struct adm_result *res)
{
	struct srv *srv = arg;

	adm_cols(res, 7, "session_number", "state", "kind", "name", "peer",
	    "bytes_received", "bytes_sent");
	pthread_mutex_lock(&srv->slock);
	for (int i = 0; i < srv->nworkers; i++)
		for (struct sess *s = srv->w[i].sessions; s; s = s->next) {
			char id[24], in[24], out[24];

			snprintf(id, sizeof(id), "%" PRIu64, s->id);
			snprintf(in, sizeof(in), "%" PRIu64, s->bytes_in);
			snprintf(out, sizeof(out), "%" PRIu64, s->bytes_out);
			adm_row(res, id, state_word(s), s->state == SESS_READY ?
			    kind_label(s->kind) : "", s->name, s->peer, in,
			    out);
		}
	pthread_mutex_unlock(&srv->slock);
	return 0;
}
