/*
 * net.h - a blocking client session with a Coffer server: TLS, the HELLO
 * and AUTH handshake, buffered frame output and a queue of expected
 * replies, so that requests can be pipelined.
 *
 * Used by coffer (node sessions), coffer-admin (admin sessions) and
 * cofferd (server-to-server sessions: replication).
 *
 * Sending is buffered: net_send() appends a frame to the connection's
 * output buffer, which is written when it holds more than NET_OUT_FLUSH
 * bytes, by net_flush(), and before every receive, so a request is never
 * waited for while it still sits in the buffer.
 *
 * Receiving: net_recv() reads one whole frame into the connection's input
 * buffer, bounded by WIRE_FRAME_MAX; the struct wire_rd it fills points
 * into that buffer and is valid until the next receive on the connection.
 * An ERROR frame from the server becomes an error return: the code is the
 * frame's COFFER_E* code, the message of e is the server's text (for
 * example "ANR0424W Session 7 for node X refused - invalid password
 * submitted."), and net_tsm_rc() tells the TSM return code it carried.
 * The server ends the session after an ERROR; so does every other error
 * here: after a failed receive or send the connection is only good for
 * net_close().
 *
 * Pipelining: after sending a request, register what it is answered by
 * with net_expect() (n replies of one type for requests answered by
 * several frames, like CHUNK_GET).  The server answers in order, so
 * net_pump() reads one reply and hands it to the oldest expectation's
 * handler.  Handlers may send frames and add expectations.
 *
 * Ownership: the connection owns its TLS objects and buffers; every
 * pointer passed in is used during the call only, except handler args,
 * which are kept until their replies have arrived.
 */
#ifndef COFFER_NET_H
#define COFFER_NET_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define NET_OUT_FLUSH		(1u << 20)	/* write when buffered beyond */
#define NET_TIMEOUT_MS		10000		/* connect and handshake */
#define NET_HOST_MAX		256

struct err;
struct net_conn;

struct net_opts {
	const char	*server;	/* "host:port", "host", "[v6]:port" */
	const char	*ca_file;	/* PEM with the server's CA */
	const char	*program;	/* sent in HELLO; NULL: "coffer" */
	int		 timeout_ms;	/* 0: NET_TIMEOUT_MS */
};

/*
 * Reply handler: type is the frame type (the expected one), payload the
 * frame's payload (valid during the call).  Non-zero stops net_pump()
 * with that error.
 */
typedef int (*net_handler)(void *arg, uint16_t type, struct wire_rd *payload,
    struct err *e);

/*
 * Split "host:port", "[v6addr]:port" or "host" (port PROTO_PORT) into
 * host (hostlen bytes) and *port.  COFFER_EINVAL with a message when it
 * does not parse.
 */
int net_parse_server(const char *s, char *host, size_t hostlen, int *port,
    struct err *e);

/*
 * Connect over TLS, verify the server against o->ca_file, then HELLO and
 * AUTH as kind (PROTO_KIND_NODE or PROTO_KIND_ADMIN) name with password.
 * NULL with e set on failure; a rejected logon carries the server's
 * message (COFFER_EAUTH, COFFER_ELOCKED).
 */
struct net_conn *net_connect(const struct net_opts *o, int kind,
    const char *name, const char *password, struct err *e);

/*
 * A server-to-server session (proto.h, PROTO_KIND_SERVER): connect to the
 * peer at o->server, verify its certificate against o->ca_file, check
 * that it calls itself peer_name, then prove both ways that the two
 * servers hold the same key (passwd_server_key of the server password
 * and the two names).  Names are upper-cased here.  NULL with e set on
 * failure, naming the peer and the reason: COFFER_EAUTH for a certificate
 * that does not verify, a peer of another name, or a password that
 * differs; the target's ERROR (e.g. "ANR0453W ... not defined") as it
 * said it.
 */
struct net_conn *net_connect_server(const struct net_opts *o,
    const char *my_name, const char *peer_name, const uint8_t key[32],
    struct err *e);

/* Send BYE if the session is still good, close and free.  Accepts NULL. */
void net_close(struct net_conn *c);

/* What the server said in the handshake. */
const char *net_server_name(const struct net_conn *c);
/*
 * Did the server advertise the PROTO_FEAT_* bit (every bit of it) in
 * HELLO_OK?  A server that sent no features has none.
 */
int net_has_feature(const struct net_conn *c, uint64_t bit);
const char *net_user_name(const struct net_conn *c);	/* normalized */
const char *net_domain(const struct net_conn *c);

/* TSM rc of the last ERROR frame (RC_ERROR when none was received). */
int net_tsm_rc(const struct net_conn *c);

/* Frame bytes (headers included) written and read so far. */
uint64_t net_bytes_out(const struct net_conn *c);
uint64_t net_bytes_in(const struct net_conn *c);

/* Queue one frame; payload NULL is an empty payload. */
int net_send(struct net_conn *c, uint16_t type, const struct wire_buf *payload,
    struct err *e);
/* Queue one frame whose payload is head followed by body (no copy first). */
int net_send_parts(struct net_conn *c, uint16_t type, const void *head,
    size_t head_len, const void *body, size_t body_len, struct err *e);
/* Write everything buffered. */
int net_flush(struct net_conn *c, struct err *e);

/*
 * Flush, then read one frame.  Must not be mixed with outstanding
 * expectations (use net_pump then).
 */
int net_recv(struct net_conn *c, uint16_t *type, struct wire_rd *payload,
    struct err *e);

/* net_recv of a frame that must be of type want (else COFFER_EPROTO). */
int net_recv_type(struct net_conn *c, uint16_t want, struct wire_rd *payload,
    struct err *e);

/* Expect n replies of type to the request just sent, for handler(arg). */
int net_expect(struct net_conn *c, uint16_t type, uint32_t n,
    net_handler handler, void *arg, struct err *e);
/* Number of replies still expected. */
size_t net_pending(const struct net_conn *c);
/* Read one reply and dispatch it to the oldest expectation. */
int net_pump(struct net_conn *c, struct err *e);
/* Pump until nothing is expected. */
int net_pump_all(struct net_conn *c, struct err *e);

/*
 * A synchronous request: pump what is pending, send, and read the reply,
 * which must be of type reply_type.  *payload as for net_recv.
 */
int net_call(struct net_conn *c, uint16_t type, const struct wire_buf *req,
    uint16_t reply_type, struct wire_rd *payload, struct err *e);

#endif
