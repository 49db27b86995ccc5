/*
 * test_client_net.c - the client session layer (client/net.c) against a
 * scripted TLS server on 127.0.0.1: handshake, a refused logon carrying
 * the server's message, pipelined replies in order, and hostile frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "err.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

#define SCRIPT_REFUSE	1	/* ERROR on AUTH */
#define SCRIPT_PIPE	2	/* answer FS_LISTs in order, then ERROR */
#define SCRIPT_HUGE	3	/* a frame header beyond WIRE_FRAME_MAX */

struct fx {
	char		 dir[PATH_MAX];
	char		 ca[PATH_MAX + 16];
	SSL_CTX		*sctx;
	int		 lfd, port, script;
	pthread_t	 thr;
	char		 got_password[64];
	int		 got_kind;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/coffer-test-net-XXXXXX", cert[PATH_MAX + 16],
	    key[PATH_MAX + 16];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if (fx == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/tls", tmpl);
	if (tls_make_ca_and_server_cert(fx->dir, "coffer-test", NULL) != 0)
		return -1;
	snprintf(fx->ca, sizeof(fx->ca), "%s/ca.pem", fx->dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", fx->dir);
	snprintf(key, sizeof(key), "%s/server.key", fx->dir);
	if ((fx->sctx = tls_server_ctx(cert, key, NULL)) == NULL)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fx->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(fx->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fx->lfd, 4) != 0 ||
	    getsockname(fx->lfd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	fx->port = ntohs(sa.sin_port);
	signal(SIGPIPE, SIG_IGN);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char top[PATH_MAX];

	close(fx->lfd);
	SSL_CTX_free(fx->sctx);
	snprintf(top, sizeof(top), "%s", fx->dir);
	*strrchr(top, '/') = '\0';
	util_rm_rf(top);
	free(fx);
	return 0;
}

static int
srv_send(SSL *ssl, uint16_t type, const struct wire_buf *b)
{
	uint8_t hdr[WIRE_HDR_LEN];
	struct wire_hdr h = { b ? (uint32_t)b->len : 0, type, 0 };

	wire_hdr_encode(hdr, &h);
	if (tls_write_full(ssl, hdr, sizeof(hdr), NULL) != 0)
		return -1;
	return b && b->len ? tls_write_full(ssl, b->p, b->len, NULL) : 0;
}

/* Read one frame into buf (cap bytes); -1 on error. */
static int
srv_recv(SSL *ssl, uint16_t *type, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t hdr[WIRE_HDR_LEN];
	struct wire_hdr h;

	if (tls_read_full(ssl, hdr, sizeof(hdr), NULL) != 0 ||
	    wire_hdr_decode(hdr, (uint32_t)cap, &h, NULL) != 0 ||
	    (h.len > 0 && tls_read_full(ssl, buf, h.len, NULL) != 0))
		return -1;
	*type = h.type;
	*len = h.len;
	return 0;
}

static void
srv_error(SSL *ssl, int code, const char *msg)
{
	struct wire_buf b;

	wire_buf_init(&b, 4096);
	wire_put_u32(&b, (uint32_t)code);
	wire_put_u8(&b, 12);
	wire_put_str(&b, msg);
	(void)srv_send(ssl, PT_ERROR, &b);
	wire_buf_free(&b);
}

/* The handshake up to AUTH; 0 when AUTH was read. */
static int
srv_hello(struct fx *fx, SSL *ssl)
{
	uint8_t buf[8192];
	struct wire_buf b;
	struct wire_rd rd;
	uint16_t type;
	uint8_t kind;
	size_t len;
	char name[256];

	if (srv_recv(ssl, &type, buf, sizeof(buf), &len) != 0 ||
	    type != PT_HELLO)
		return -1;
	wire_buf_init(&b, 4096);
	wire_put_u16(&b, PROTO_VERSION);
	wire_put_str(&b, "FAKESRV");
	(void)srv_send(ssl, PT_HELLO_OK, &b);
	wire_buf_free(&b);
	if (srv_recv(ssl, &type, buf, sizeof(buf), &len) != 0 ||
	    type != PT_AUTH)
		return -1;
	wire_rd_init(&rd, buf, len);
	if (wire_get_u8(&rd, &kind, NULL) != 0 ||
	    wire_get_str(&rd, 255, name, sizeof(name), NULL) != 0 ||
	    wire_get_str(&rd, 63, fx->got_password, sizeof(fx->got_password),
	    NULL) != 0)
		return -1;
	fx->got_kind = kind;
	return 0;
}

static void
srv_pipe(SSL *ssl)
{
	uint8_t buf[8192];
	struct wire_buf b;
	uint16_t type;
	size_t len;

	wire_buf_init(&b, 4096);
	wire_put_str(&b, "WEB01");
	wire_put_str(&b, "STANDARD");
	(void)srv_send(ssl, PT_AUTH_OK, &b);
	for (uint32_t i = 0; i < 3; i++) {
		if (srv_recv(ssl, &type, buf, sizeof(buf), &len) != 0)
			break;
		wire_buf_reset(&b);
		wire_put_u32(&b, i);
		(void)srv_send(ssl, PT_FS_PAGE, &b);
	}
	if (srv_recv(ssl, &type, buf, sizeof(buf), &len) == 0)
		srv_error(ssl, COFFER_ENOTFOUND, "ANR2034E QUERY: No match "
		    "found using this criteria.");
	wire_buf_free(&b);
}

static void *
server_main(void *arg)
{
	struct fx *fx = arg;
	SSL *ssl = NULL;
	int fd;

	if ((fd = accept(fx->lfd, NULL, NULL)) < 0)
		return NULL;
	if ((ssl = SSL_new(fx->sctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_accept(ssl) != 1 || srv_hello(fx, ssl) != 0)
		goto out;
	if (fx->script == SCRIPT_REFUSE) {
		srv_error(ssl, COFFER_EAUTH, "ANR0424W Session 1 for node "
		    "WEB01 refused - invalid password submitted.");
	} else if (fx->script == SCRIPT_PIPE) {
		srv_pipe(ssl);
	} else {
		uint8_t hdr[WIRE_HDR_LEN];
		struct wire_hdr h = { WIRE_FRAME_MAX + 1, PT_AUTH_OK, 0 };

		wire_hdr_encode(hdr, &h);
		(void)tls_write_full(ssl, hdr, sizeof(hdr), NULL);
	}
out:
	tls_close(ssl, fd);
	return NULL;
}

static void
start(struct fx *fx, int script)
{
	fx->script = script;
	assert_int_equal(pthread_create(&fx->thr, NULL, server_main, fx), 0);
}

static struct net_conn *
connect_as(struct fx *fx, const char *pw, struct err *e)
{
	struct net_opts o;
	char server[64];

	snprintf(server, sizeof(server), "127.0.0.1:%d", fx->port);
	memset(&o, 0, sizeof(o));
	o.server = server;
	o.ca_file = fx->ca;
	err_clear(e);
	return net_connect(&o, PROTO_KIND_NODE, "web01", pw, e);
}

static void
net_refused_logon_carries_the_server_message(void **state)
{
	struct fx *fx = *state;
	struct err e;

	start(fx, SCRIPT_REFUSE);
	assert_null(connect_as(fx, "wrong-password", &e));
	assert_int_equal(pthread_join(fx->thr, NULL), 0);
	assert_int_equal(e.code, COFFER_EAUTH);
	assert_string_equal(e.msg, "ANR0424W Session 1 for node WEB01 "
	    "refused - invalid password submitted.");
	assert_string_equal(fx->got_password, "wrong-password");
	assert_int_equal(fx->got_kind, PROTO_KIND_NODE);
}

struct seen {
	uint32_t	 v[8];
	int		 n;
};

static int
on_page(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct seen *s = arg;

	assert_int_equal(type, PT_FS_PAGE);
	return wire_get_u32(rd, &s->v[s->n++], e);
}

static void
net_pipelined_replies_reach_their_handlers_in_order(void **state)
{
	struct fx *fx = *state;
	struct net_conn *c;
	struct wire_rd rd;
	struct seen s = { { 0 }, 0 };
	struct err e;

	start(fx, SCRIPT_PIPE);
	assert_non_null(c = connect_as(fx, "right-password", &e));
	assert_string_equal(net_server_name(c), "FAKESRV");
	assert_string_equal(net_user_name(c), "WEB01");
	assert_string_equal(net_domain(c), "STANDARD");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(net_send(c, PT_FS_LIST, NULL, &e), 0);
		assert_int_equal(net_expect(c, PT_FS_PAGE, 1, on_page, &s, &e),
		    0);
	}
	assert_int_equal(net_pending(c), 3);
	assert_int_equal(net_pump_all(c, &e), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.v[i], (uint32_t)i);
	/* An ERROR reply is an error return with the server's words. */
	assert_int_equal(net_call(c, PT_FS_LIST, NULL, PT_FS_PAGE, &rd, &e),
	    COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "ANR2034E"));
	assert_int_equal(net_tsm_rc(c), 12);
	net_close(c);
	assert_int_equal(pthread_join(fx->thr, NULL), 0);
}

static void
net_frame_beyond_the_limit_is_refused_before_reading_it(void **state)
{
	struct fx *fx = *state;
	struct err e;

	start(fx, SCRIPT_HUGE);
	assert_null(connect_as(fx, "right-password", &e));
	assert_int_equal(pthread_join(fx->thr, NULL), 0);
	assert_int_equal(e.code, COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "exceeds limit"));
}

static void
net_server_addresses_parse(void **state)
{
	char host[NET_HOST_MAX];
	int port;

	(void)state;
	assert_int_equal(net_parse_server("backup.example.com:1600", host,
	    sizeof(host), &port, NULL), 0);
	assert_string_equal(host, "backup.example.com");
	assert_int_equal(port, 1600);
	assert_int_equal(net_parse_server("10.0.0.1", host, sizeof(host),
	    &port, NULL), 0);
	assert_int_equal(port, PROTO_PORT);
	assert_int_equal(net_parse_server("[::1]:1501", host, sizeof(host),
	    &port, NULL), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1501);
	assert_int_equal(net_parse_server("::1", host, sizeof(host), &port,
	    NULL), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(net_parse_server("h:0", host, sizeof(host), &port,
	    NULL), COFFER_EINVAL);
	assert_int_equal(net_parse_server("h:65536", host, sizeof(host),
	    &port, NULL), COFFER_EINVAL);
	assert_int_equal(net_parse_server(":1500", host, sizeof(host), &port,
	    NULL), COFFER_EINVAL);
	assert_int_equal(net_parse_server("h:x", host, sizeof(host), &port,
	    NULL), COFFER_EINVAL);
	assert_int_equal(net_parse_server("", host, sizeof(host), &port,
	    NULL), COFFER_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    net_refused_logon_carries_the_server_message, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    net_pipelined_replies_reach_their_handlers_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    net_frame_beyond_the_limit_is_refused_before_reading_it,
		    setup, teardown),
		cmocka_unit_test(net_server_addresses_parse),
	};

	return cmocka_run_group_tests_name("client_net", tests, NULL, NULL);
}
