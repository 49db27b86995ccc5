/*
 * net.c - blocking client sessions over TLS (see net.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "err.h"
#include "net.h"
#include "passwd.h"
#include "proto.h"
#include "tls.h"
#include "wire.h"

#define NET_IN_INITIAL	(64u << 10)
#define NET_OUT_CAP	(NET_OUT_FLUSH + (64u << 10))

struct net_exp {
	uint16_t	 type;
	uint32_t	 left;		/* replies still to come */
	net_handler	 fn;
	void		*arg;
};

struct net_conn {
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 fd;
	int		 broken;	/* an error ended the session */
	int		 tsm_rc;
	char		 where[NET_HOST_MAX + 16];

	uint8_t		*out;
	size_t		 out_len, out_cap;
	uint8_t		*in;
	size_t		 in_cap;

	struct net_exp	*q;		/* ring of expectations */
	size_t		 q_cap, q_head, q_n;
	size_t		 pending;	/* sum of left */

	char		 server_name[256];
	uint64_t	 features;	/* HELLO_OK's PROTO_FEAT_* bits */
	char		 user[256];
	char		 domain[256];
	uint64_t	 bytes_out, bytes_in;
};

int
net_parse_server(const char *s, char *host, size_t hostlen, int *port,
    struct err *e)
{
	const char *h = s, *colon = NULL;
	size_t hl;
	char *end;
	long p = PROTO_PORT;

	if (s == NULL || *s == '\0')
		return err_set(e, COFFER_EINVAL, "no server given (--server "
		    "HOST:PORT or SERVER in the option file)");
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			goto bad;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL;	/* a bare IPv6 address */
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= hostlen)
		goto bad;
	if (colon != NULL) {
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || *end != '\0' || p < 1 ||
		    p > 65535)
			goto bad;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
bad:
	return err_set(e, COFFER_EINVAL, "server '%s' is not HOST:PORT", s);
}

int
net_has_feature(const struct net_conn *c, uint64_t bit)
{
	return (c->features & bit) == bit;
}

const char *
net_server_name(const struct net_conn *c)
{
	return c->server_name;
}

const char *
net_user_name(const struct net_conn *c)
{
	return c->user;
}

const char *
net_domain(const struct net_conn *c)
{
	return c->domain;
}

int
net_tsm_rc(const struct net_conn *c)
{
	return c->tsm_rc;
}

uint64_t
net_bytes_out(const struct net_conn *c)
{
	return c->bytes_out;
}

uint64_t
net_bytes_in(const struct net_conn *c)
{
	return c->bytes_in;
}

/* Every error on the connection ends it: mark it and pass r through. */
static int
broken(struct net_conn *c, int r)
{
	c->broken = 1;
	return r;
}

/*
 * A TLS read or write on c failed: end the connection and say why.  A
 * server that went away (killed, shut down, its host gone) is named as
 * the one that closed the connection; a user must not have to read that
 * off "Broken pipe (SSL_ERROR_SYSCALL)".  Other failures get what we were
 * doing.
 */
static int
io_failed(struct net_conn *c, struct err *e, const char *doing)
{
	if (!tls_peer_closed(e))
		return broken(c, err_wrap(e, "%s", doing));
	if (c->server_name[0] != '\0')
		return broken(c, err_wrap(e, "the server %s at %s closed the "
		    "connection", c->server_name, c->where));
	return broken(c, err_wrap(e, "the server at %s closed the connection",
	    c->where));
}

int
net_flush(struct net_conn *c, struct err *e)
{
	char doing[NET_HOST_MAX + 32];
	int r;

	if (c->broken)
		return err_set(e, COFFER_EIO, "connection to %s: closed after "
		    "an error", c->where);
	if (c->out_len == 0)
		return 0;
	if ((r = tls_write_full(c->ssl, c->out, c->out_len, e)) != 0) {
		snprintf(doing, sizeof(doing), "send to %s", c->where);
		return io_failed(c, e, doing);
	}
	c->bytes_out += c->out_len;
	c->out_len = 0;
	return 0;
}

/* Append bytes to the output buffer, which has room for them. */
static void
out_add(struct net_conn *c, const void *p, size_t n)
{
	if (n > 0)
		memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

int
net_send_parts(struct net_conn *c, uint16_t type, const void *head,
    size_t head_len, const void *body, size_t body_len, struct err *e)
{
	uint8_t hdr[WIRE_HDR_LEN];
	struct wire_hdr h;
	size_t const total = WIRE_HDR_LEN + head_len + body_len;
	char doing[NET_HOST_MAX + 32];
	int r;

	if (c->broken)
		return err_set(e, COFFER_EIO, "connection to %s: closed after "
		    "an error", c->where);
	if (head_len > WIRE_FRAME_MAX || body_len > WIRE_FRAME_MAX - head_len)
		return err_set(e, COFFER_ETOOBIG, "frame %s: %zu bytes exceed "
		    "the limit %u", proto_type_name(type), head_len + body_len,
		    WIRE_FRAME_MAX);
	h.len = (uint32_t)(head_len + body_len);
	h.type = type;
	h.flags = 0;
	wire_hdr_encode(hdr, &h);
	if (c->out_len + total > c->out_cap && (r = net_flush(c, e)) != 0)
		return r;
	if (total > c->out_cap) {
		/* Larger than the buffer: write it through. */
		if ((r = tls_write_full(c->ssl, hdr, sizeof(hdr), e)) != 0 ||
		    (head_len > 0 && (r = tls_write_full(c->ssl, head,
		    head_len, e)) != 0) ||
		    (body_len > 0 && (r = tls_write_full(c->ssl, body,
		    body_len, e)) != 0)) {
			snprintf(doing, sizeof(doing), "send to %s", c->where);
			return io_failed(c, e, doing);
		}
		c->bytes_out += total;
		return 0;
	}
	out_add(c, hdr, sizeof(hdr));
	out_add(c, head, head_len);
	out_add(c, body, body_len);
	if (c->out_len > NET_OUT_FLUSH)
		return net_flush(c, e);
	return 0;
}

int
net_send(struct net_conn *c, uint16_t type, const struct wire_buf *payload,
    struct err *e)
{
	int r;

	if (payload == NULL)
		return net_send_parts(c, type, NULL, 0, NULL, 0, e);
	if ((r = wire_buf_ok(payload, e)) != 0)
		return err_wrap(e, "frame %s", proto_type_name(type));
	return net_send_parts(c, type, payload->p, payload->len, NULL, 0, e);
}

/* Turn an ERROR frame into an error return carrying the server's text. */
static int
server_error(struct net_conn *c, struct wire_rd *rd, struct err *e)
{
	char msg[WIRE_STR_MAX + 1];
	uint32_t code;
	uint8_t rc;
	struct err de;

	err_clear(&de);
	if (wire_get_u32(rd, &code, &de) != 0 || wire_get_u8(rd, &rc, &de) !=
	    0 || wire_get_str(rd, WIRE_STR_MAX, msg, sizeof(msg), &de) != 0)
		return err_set(e, COFFER_EPROTO, "%s sent a malformed ERROR "
		    "frame: %s", c->where, de.msg);
	c->tsm_rc = rc;
	/* Codes are negative COFFER_E* values; anything else is a bug. */
	if ((int32_t)code >= 0 || (int32_t)code < COFFER_EVERSION)
		code = (uint32_t)COFFER_EINTERNAL;
	return err_set(e, (int32_t)code, "%s", msg);
}

int
net_recv(struct net_conn *c, uint16_t *type, struct wire_rd *payload,
    struct err *e)
{
	uint8_t hdr[WIRE_HDR_LEN];
	char doing[NET_HOST_MAX + 64];
	struct wire_hdr h;
	int r;

	if ((r = net_flush(c, e)) != 0)
		return r;
	if ((r = tls_read_full(c->ssl, hdr, sizeof(hdr), e)) != 0) {
		snprintf(doing, sizeof(doing), "receive from %s", c->where);
		return io_failed(c, e, doing);
	}
	if ((r = wire_hdr_decode(hdr, WIRE_FRAME_MAX, &h, e)) != 0)
		return broken(c, err_wrap(e, "receive from %s", c->where));
	if (h.len > c->in_cap) {
		size_t ncap = c->in_cap ? c->in_cap : NET_IN_INITIAL;
		uint8_t *np;

		while (ncap < h.len)
			ncap *= 2;
		if ((np = realloc(c->in, ncap)) == NULL)
			return broken(c, err_set(e, COFFER_ENOMEM, "receive: "
			    "out of memory for %u bytes", h.len));
		c->in = np;
		c->in_cap = ncap;
	}
	if (h.len > 0 && (r = tls_read_full(c->ssl, c->in, h.len, e)) != 0) {
		snprintf(doing, sizeof(doing), "receive %s from %s",
		    proto_type_name(h.type), c->where);
		return io_failed(c, e, doing);
	}
	c->bytes_in += WIRE_HDR_LEN + h.len;
	wire_rd_init(payload, c->in, h.len);
	*type = h.type;
	if (h.type == PT_ERROR)
		return broken(c, server_error(c, payload, e));
	return 0;
}

int
net_expect(struct net_conn *c, uint16_t type, uint32_t n,
    net_handler handler, void *arg, struct err *e)
{
	struct net_exp *x;

	if (n == 0)
		return 0;
	if (c->q_n == c->q_cap) {
		size_t const ncap = c->q_cap ? c->q_cap * 2 : 16;
		struct net_exp *nq = malloc(ncap * sizeof(*nq));

		if (nq == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		for (size_t i = 0; i < c->q_n; i++)
			nq[i] = c->q[(c->q_head + i) % c->q_cap];
		free(c->q);
		c->q = nq;
		c->q_cap = ncap;
		c->q_head = 0;
	}
	x = &c->q[(c->q_head + c->q_n) % c->q_cap];
	x->type = type;
	x->left = n;
	x->fn = handler;
	x->arg = arg;
	c->q_n++;
	c->pending += n;
	return 0;
}

size_t
net_pending(const struct net_conn *c)
{
	return c->pending;
}

int
net_pump(struct net_conn *c, struct err *e)
{
	struct net_exp *head, x;
	struct wire_rd rd;
	uint16_t type;
	int r;

	if (c->q_n == 0)
		return err_set(e, COFFER_EINTERNAL, "no reply is expected");
	head = &c->q[c->q_head];
	/* Copy and consume first: the handler may add expectations. */
	x = *head;
	if (--head->left == 0) {
		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_n--;
	}
	c->pending--;
	if ((r = net_recv(c, &type, &rd, e)) != 0)
		return r;
	if (type != x.type)
		return broken(c, err_set(e, COFFER_EPROTO, "%s answered %s "
		    "where %s was expected", c->where, proto_type_name(type),
		    proto_type_name(x.type)));
	return x.fn(x.arg, type, &rd, e);
}

int
net_pump_all(struct net_conn *c, struct err *e)
{
	int r;

	while (c->pending > 0)
		if ((r = net_pump(c, e)) != 0)
			return r;
	return 0;
}

int
net_recv_type(struct net_conn *c, uint16_t want, struct wire_rd *payload,
    struct err *e)
{
	uint16_t got;
	int r;

	if ((r = net_recv(c, &got, payload, e)) != 0)
		return r;
	if (got != want)
		return broken(c, err_set(e, COFFER_EPROTO, "%s answered %s "
		    "where %s was expected", c->where, proto_type_name(got),
		    proto_type_name(want)));
	return 0;
}

int
net_call(struct net_conn *c, uint16_t type, const struct wire_buf *req,
    uint16_t reply_type, struct wire_rd *payload, struct err *e)
{
	uint16_t got;
	int r;

	if ((r = net_pump_all(c, e)) != 0 || (r = net_send(c, type, req,
	    e)) != 0 || (r = net_recv(c, &got, payload, e)) != 0)
		return r;
	if (got != reply_type)
		return broken(c, err_set(e, COFFER_EPROTO, "%s answered %s to "
		    "%s where %s was expected", c->where, proto_type_name(got),
		    proto_type_name(type), proto_type_name(reply_type)));
	return 0;
}

static int
hello(struct net_conn *c, const char *program, struct err *e)
{
	struct wire_buf b;
	struct wire_rd rd;
	uint16_t version;
	int r;

	wire_buf_init(&b, WIRE_STR_MAX + 64);
	wire_put_u32(&b, PROTO_MAGIC);
	wire_put_u16(&b, PROTO_VERSION);
	wire_put_u16(&b, PROTO_VERSION);
	wire_put_str(&b, program);
	r = net_call(c, PT_HELLO, &b, PT_HELLO_OK, &rd, e);
	wire_buf_free(&b);
	if (r != 0)
		return r;
	if ((r = wire_get_u16(&rd, &version, e)) != 0 ||
	    (r = wire_get_str(&rd, sizeof(c->server_name) - 1,
	    c->server_name, sizeof(c->server_name), e)) != 0)
		return broken(c, err_wrap(e, "HELLO_OK from %s", c->where));
	/* A server from before features ends here: it has none. */
	c->features = 0;
	if (wire_rd_left(&rd) > 0 && (r = wire_get_u64(&rd, &c->features,
	    e)) != 0)
		return broken(c, err_wrap(e, "HELLO_OK features from %s",
		    c->where));
	if (version != PROTO_VERSION)
		return broken(c, err_set(e, COFFER_EVERSION, "%s speaks "
		    "protocol version %u, this client %u", c->where, version,
		    PROTO_VERSION));
	return 0;
}

static int
auth(struct net_conn *c, int kind, const char *name, const char *password,
    struct err *e)
{
	struct wire_buf b;
	struct wire_rd rd;
	uint16_t type;
	int r;

	wire_buf_init(&b, 2 * WIRE_STR_MAX + 16);
	wire_put_u8(&b, (uint8_t)kind);
	wire_put_str(&b, name);
	wire_put_str(&b, password);
	r = net_send(c, PT_AUTH, &b, e);
	if (b.p != NULL)
		passwd_wipe(b.p, b.cap);
	wire_buf_free(&b);
	if (r == 0)
		r = net_flush(c, e);
	/* The password also passed through the output buffer. */
	passwd_wipe(c->out, c->out_cap);
	if (r != 0)
		return r;
	if ((r = net_recv(c, &type, &rd, e)) != 0)
		return r;
	if (type != PT_AUTH_OK)
		return broken(c, err_set(e, COFFER_EPROTO, "%s answered %s to "
		    "AUTH", c->where, proto_type_name(type)));
	if ((r = wire_get_str(&rd, sizeof(c->user) - 1, c->user,
	    sizeof(c->user), e)) != 0 || (r = wire_get_str(&rd,
	    sizeof(c->domain) - 1, c->domain, sizeof(c->domain), e)) != 0)
		return broken(c, err_wrap(e, "AUTH_OK from %s", c->where));
	return 0;
}

/* TCP, TLS verified against o->ca_file, then HELLO. */
static struct net_conn *
conn_open(const struct net_opts *o, struct err *e)
{
	struct net_conn *c = NULL;
	char host[NET_HOST_MAX];
	int port;

	if (net_parse_server(o->server, host, sizeof(host), &port, e) != 0)
		return NULL;
	if (o->ca_file == NULL || *o->ca_file == '\0') {
		err_set(e, COFFER_EINVAL, "no CA file given (--ca FILE or "
		    "CAFILE in the option file)");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->out = malloc(NET_OUT_CAP)) == NULL) {
		err_set(e, COFFER_ENOMEM, "out of memory");
		goto fail;
	}
	c->fd = -1;
	c->out_cap = NET_OUT_CAP;
	c->tsm_rc = RC_ERROR;
	snprintf(c->where, sizeof(c->where), strchr(host, ':') ? "[%s]:%d" :
	    "%s:%d", host, port);
	if ((c->ctx = tls_client_ctx(o->ca_file, e)) == NULL)
		goto fail;
	if (tls_client_connect(c->ctx, host, port, o->timeout_ms > 0 ?
	    o->timeout_ms : NET_TIMEOUT_MS, &c->ssl, &c->fd, e) != 0)
		goto fail;
	/*
	 * We buffer frames ourselves and flush before every wait for a
	 * reply: Nagle's algorithm would only hold a request back until the
	 * server's delayed ACK.
	 */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int));
	if (hello(c, o->program ? o->program : "coffer", e) != 0)
		goto fail;
	return c;
fail:
	net_close(c);
	return NULL;
}

struct net_conn *
net_connect(const struct net_opts *o, int kind, const char *name,
    const char *password, struct err *e)
{
	struct net_conn *c;

	if ((c = conn_open(o, e)) == NULL)
		return NULL;
	if (auth(c, kind, name, password, e) != 0) {
		net_close(c);
		return NULL;
	}
	return c;
}

/* ---- server to server (proto.h, PROTO_KIND_SERVER) ---- */

/* Upper-case a server name into out (CAT_NAME_MAX-sized names). */
static int
server_name(const char *in, char *out, size_t len, struct err *e)
{
	size_t i;

	if (in == NULL || in[0] == '\0' || strlen(in) >= len)
		return err_set(e, COFFER_EINVAL, "server name '%.64s' is "
		    "empty or too long", in != NULL ? in : "");
	for (i = 0; in[i] != '\0'; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'z') ?
		    (char)(in[i] - 'a' + 'A') : in[i];
	out[i] = '\0';
	return 0;
}

/* AUTH kind 3: our name and the nonce cn. */
static int
server_auth_send(struct net_conn *c, const char *me, const uint8_t *cn,
    struct err *e)
{
	struct wire_buf b;
	int r;

	wire_buf_init(&b, WIRE_STR_MAX + 64);
	wire_put_u8(&b, PROTO_KIND_SERVER);
	wire_put_str(&b, me);
	wire_put_bytes(&b, cn, PROTO_NONCE_LEN);
	r = net_send(c, PT_AUTH, &b, e);
	wire_buf_free(&b);
	return r;
}

/*
 * Read AUTH_CHAL: sn into sn, and whether the target's MAC is right into
 * *target_ok (0: it does not hold our key).
 */
static int
server_chal(struct net_conn *c, const char *peer, const uint8_t *key,
    const uint8_t *cn, uint8_t *sn, int *target_ok, struct err *e)
{
	uint8_t mac[PROTO_NONCE_LEN], want[PROTO_NONCE_LEN];
	struct wire_rd rd;
	uint16_t type;
	int r;

	if ((r = net_recv(c, &type, &rd, e)) != 0)
		return r;
	if (type != PT_AUTH_CHAL)
		return broken(c, err_set(e, COFFER_EPROTO, "server %s (%s) "
		    "answered %s to a server AUTH", peer, c->where,
		    proto_type_name(type)));
	if ((r = wire_get_raw(&rd, sn, PROTO_NONCE_LEN, e)) != 0 ||
	    (r = wire_get_raw(&rd, mac, sizeof(mac), e)) != 0 ||
	    (r = wire_rd_end(&rd, e)) != 0)
		return broken(c, err_wrap(e, "AUTH_CHAL from server %s", peer));
	if ((r = passwd_server_mac(key, 'T', cn, sn, peer, want, e)) != 0)
		return broken(c, r);
	*target_ok = CRYPTO_memcmp(mac, want, sizeof(mac)) == 0;
	passwd_wipe(want, sizeof(want));
	return 0;
}

/* AUTH_PROOF, then AUTH_OK (or the target's ERROR). */
static int
server_proof(struct net_conn *c, const char *me, const uint8_t *key,
    const uint8_t *cn, const uint8_t *sn, struct err *e)
{
	uint8_t proof[PROTO_NONCE_LEN];
	struct wire_rd rd;
	uint16_t type;
	int r;

	if ((r = passwd_server_mac(key, 'S', cn, sn, me, proof, e)) != 0)
		return broken(c, r);
	r = net_send_parts(c, PT_AUTH_PROOF, proof, sizeof(proof), NULL, 0,
	    e);
	passwd_wipe(proof, sizeof(proof));
	if (r != 0 || (r = net_recv(c, &type, &rd, e)) != 0)
		return r;
	if (type != PT_AUTH_OK)
		return broken(c, err_set(e, COFFER_EPROTO, "%s answered %s to "
		    "AUTH_PROOF", c->where, proto_type_name(type)));
	if ((r = wire_get_str(&rd, sizeof(c->user) - 1, c->user,
	    sizeof(c->user), e)) != 0 || (r = wire_get_str(&rd,
	    sizeof(c->domain) - 1, c->domain, sizeof(c->domain), e)) != 0)
		return broken(c, err_wrap(e, "AUTH_OK from %s", c->where));
	return 0;
}

/* The handshake after HELLO; see proto.h. */
static int
server_handshake(struct net_conn *c, const char *me, const char *peer,
    const uint8_t *key, struct err *e)
{
	uint8_t cn[PROTO_NONCE_LEN], sn[PROTO_NONCE_LEN];
	char said[256];
	struct err te;
	int target_ok = 0, r;

	if (server_name(c->server_name, said, sizeof(said), e) != 0 ||
	    strcmp(said, peer) != 0)
		return broken(c, err_set(e, COFFER_EAUTH, "the server at %s "
		    "calls itself %s, not %s: check HLADDRESS and LLADDRESS "
		    "of server %s", c->where, c->server_name, peer, peer));
	if (RAND_bytes(cn, sizeof(cn)) != 1)
		return broken(c, err_set(e, COFFER_EINTERNAL, "server %s: "
		    "RAND_bytes failed", peer));
	if ((r = server_auth_send(c, me, cn, e)) != 0 ||
	    (r = server_chal(c, peer, key, cn, sn, &target_ok, e)) != 0)
		return r;
	/*
	 * A target that failed its proof still gets ours: it can then log
	 * the mismatch on its side too.  This tells it nothing it could not
	 * learn by asking: its own AUTH_CHAL hands a MAC to any caller.
	 */
	err_clear(&te);
	r = server_proof(c, me, key, cn, sn, &te);
	if (!target_ok)
		return broken(c, err_set(e, COFFER_EAUTH, "ANR0456E Server %s "
		    "failed to prove the server password: the passwords "
		    "defined on the two servers differ%s%s", peer,
		    r != 0 ? "; it says: " : "", r != 0 ? te.msg : ""));
	if (r != 0) {
		if (e != NULL)
			*e = te;
		return r;
	}
	return 0;
}

struct net_conn *
net_connect_server(const struct net_opts *o, const char *my_name,
    const char *peer_name, const uint8_t key[32], struct err *e)
{
	char me[256], peer[256];
	struct net_conn *c;

	if (server_name(my_name, me, sizeof(me), e) != 0 ||
	    server_name(peer_name, peer, sizeof(peer), e) != 0)
		return NULL;
	if (o->ca_file == NULL || o->ca_file[0] == '\0') {
		err_set(e, COFFER_EAUTH, "server %s has no CA file defined "
		    "(UPDATE SERVER %s CAFILE=...): a peer whose certificate "
		    "cannot be verified is not connected to", peer, peer);
		return NULL;
	}
	if ((c = conn_open(o, e)) == NULL) {
		err_wrap(e, "server %s", peer);
		return NULL;
	}
	if (server_handshake(c, me, peer, key, e) != 0) {
		net_close(c);
		return NULL;
	}
	return c;
}

void
net_close(struct net_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL && !c->broken) {
		struct err e;

		err_clear(&e);
		if (net_send(c, PT_BYE, NULL, &e) == 0)
			(void)net_flush(c, &e);
	}
	if (c->ssl != NULL || c->fd >= 0)
		tls_close(c->ssl, c->fd);
	SSL_CTX_free(c->ctx);
	free(c->out);
	free(c->in);
	free(c->q);
	free(c);
}
