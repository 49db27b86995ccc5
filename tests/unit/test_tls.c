/*
 * test_tls.c - the server's CA and certificate (files, modes, chain,
 * names), and real TLS 1.3 handshakes over loopback against a one-shot
 * server thread: echo, wrong CA, address not in the certificate, refused
 * port, peer closing.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "tls.h"
#include "util.h"

#define TIMEOUT_MS	5000

struct fixture {
	char	dir[64];
	char	a[PATH_MAX];	/* cert set of the server under test */
	char	b[PATH_MAX];	/* an unrelated cert set */
};

/* What the one-shot server does after a successful handshake. */
enum srv_mode {
	SRV_ECHO,		/* echo until the client closes */
	SRV_CLOSE,		/* close_notify, then close */
	SRV_CLOSE_ABRUPT,	/* close the socket without close_notify */
	SRV_RESET,		/* abort the connection: RST, as a host gone */
};

struct server {
	SSL_CTX		*ctx;
	enum srv_mode	 mode;
	int		 lfd;
	int		 port;
	pthread_t	 thr;
	int		 handshake_ok;	/* written by the thread */
};

static void
path_in(char *out, const char *dir, const char *name)
{
	int const n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static int
setup(void **state)
{
	struct fixture *fx;
	struct err e;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-tls.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	path_in(fx->a, fx->dir, "a");
	path_in(fx->b, fx->dir, "b");
	if (tls_make_ca_and_server_cert(fx->a, "coffer-test", &e) != 0 ||
	    tls_make_ca_and_server_cert(fx->b, "other", &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		util_rm_rf(fx->dir);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static X509 *
read_cert(const char *dir, const char *name)
{
	char path[PATH_MAX];
	X509 *x;
	FILE *f;

	path_in(path, dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static SSL_CTX *
server_ctx(const char *dir)
{
	char cert[PATH_MAX], key[PATH_MAX];
	SSL_CTX *ctx;
	struct err e;

	path_in(cert, dir, TLS_SERVER_CERT);
	path_in(key, dir, TLS_SERVER_KEY);
	err_clear(&e);
	ctx = tls_server_ctx(cert, key, &e);
	if (ctx == NULL)
		fail_msg("tls_server_ctx: %s", e.msg);
	return ctx;
}

static SSL_CTX *
client_ctx(const char *dir)
{
	char ca[PATH_MAX];
	SSL_CTX *ctx;
	struct err e;

	path_in(ca, dir, TLS_CA_CERT);
	err_clear(&e);
	ctx = tls_client_ctx(ca, &e);
	if (ctx == NULL)
		fail_msg("tls_client_ctx: %s", e.msg);
	return ctx;
}

/* The server thread: one connection, then exit.  No cmocka calls here. */
static void *
server_main(void *arg)
{
	struct server *s = arg;
	uint8_t buf[4096];
	size_t got, put;
	SSL *ssl;
	int fd;

	if ((fd = accept(s->lfd, NULL, NULL)) < 0)
		return NULL;
	if ((ssl = SSL_new(s->ctx)) != NULL && SSL_set_fd(ssl, fd) == 1 &&
	    SSL_accept(ssl) == 1) {
		s->handshake_ok = 1;
		switch (s->mode) {
		case SRV_ECHO:
			while (SSL_read_ex(ssl, buf, sizeof(buf), &got) == 1 &&
			    SSL_write_ex(ssl, buf, got, &put) == 1)
				;
			SSL_shutdown(ssl);
			break;
		case SRV_CLOSE:
			SSL_shutdown(ssl);
			break;
		case SRV_CLOSE_ABRUPT:
			break;
		case SRV_RESET: {
			struct linger const lg = { 1, 0 };

			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
			break;
		}
		}
	}
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

/* Listen on addr, port 0, and serve one connection in a thread. */
static void
server_start(struct server *s, SSL_CTX *ctx, const char *addr,
    enum srv_mode mode)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->mode = mode;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(s->lfd, 1), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &len),
	    0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&s->thr, NULL, server_main, s), 0);
}

static void
server_join(struct server *s)
{
	assert_int_equal(pthread_join(s->thr, NULL), 0);
	close(s->lfd);
}

static void
tls_make_creates_files_with_private_keys_0600(void **state)
{
	struct fixture *fx = *state;
	static const char *const names[] = {
		TLS_CA_KEY, TLS_CA_CERT, TLS_SERVER_KEY, TLS_SERVER_CERT
	};
	char path[PATH_MAX];
	struct stat st;
	struct err e;
	size_t i;

	assert_int_equal(stat(fx->a, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in(path, fx->a, names[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_true(st.st_size > 0);
	}
	path_in(path, fx->a, TLS_CA_KEY);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	path_in(path, fx->a, TLS_SERVER_KEY);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A directory several levels down is created, too. */
	path_in(path, fx->dir, "x/y/z");
	err_clear(&e);
	assert_int_equal(tls_make_ca_and_server_cert(path, "n", &e), 0);
}

static void
tls_make_twice_is_eexist(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], dir[PATH_MAX];
	struct err e;

	err_clear(&e);
	assert_int_equal(tls_make_ca_and_server_cert(fx->a, "coffer-test",
	    &e), COFFER_EEXIST);
	assert_non_null(strstr(e.msg, fx->a));

	/* One file in the way is enough, and nothing else is created. */
	path_in(dir, fx->dir, "c");
	assert_int_equal(util_mkdir_p(dir, 0700, &e), 0);
	path_in(path, dir, TLS_SERVER_CERT);
	assert_int_equal(util_write_atomic(path, "x", 1, 0644, &e), 0);
	err_clear(&e);
	assert_int_equal(tls_make_ca_and_server_cert(dir, "coffer-test", &e),
	    COFFER_EEXIST);
	assert_non_null(strstr(e.msg, TLS_SERVER_CERT));
	path_in(path, dir, TLS_CA_KEY);
	assert_int_equal(access(path, F_OK), -1);

	/* A name that cannot be a common name is refused up front. */
	path_in(dir, fx->dir, "d");
	assert_int_equal(tls_make_ca_and_server_cert(dir, "", &e),
	    COFFER_EINVAL);
	assert_int_equal(tls_make_ca_and_server_cert(dir,
	    "a-name-that-is-far-too-long-for-the-common-name-of-a-ca", &e),
	    COFFER_EINVAL);
}

/* X509_verify_cert of leaf against ca alone, for a TLS server. */
static int
verify_with(X509 *ca, X509 *leaf)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	int ok;

	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx,
	    X509_PURPOSE_SSL_SERVER), 1);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

static void
tls_server_cert_verifies_against_its_ca_only(void **state)
{
	struct fixture *fx = *state;
	X509 *ca, *srv, *other_ca;

	ca = read_cert(fx->a, TLS_CA_CERT);
	srv = read_cert(fx->a, TLS_SERVER_CERT);
	other_ca = read_cert(fx->b, TLS_CA_CERT);
	assert_int_equal(verify_with(ca, srv), 1);
	assert_int_not_equal(verify_with(other_ca, srv), 1);
	/* ca.pem is a CA, server.pem is not. */
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_check_ca(srv), 0);
	X509_free(other_ca);
	X509_free(srv);
	X509_free(ca);
}

static void
tls_server_cert_names_loopback_and_host(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	char host[256], cn[128];
	X509 *srv, *ca;
	int i, have_lo4 = 0;

	srv = read_cert(fx->a, TLS_SERVER_CERT);
	gens = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_IPADD && g->d.iPAddress->length == 4 &&
		    memcmp(g->d.iPAddress->data, lo4, 4) == 0)
			have_lo4 = 1;
	}
	GENERAL_NAMES_free(gens);
	assert_true(have_lo4);
	assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
	assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(srv, "coffer-test", 0, 0, NULL), 1);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_int_equal(X509_check_host(srv, host, 0, 0, NULL), 1);
	assert_int_not_equal(X509_check_ip_asc(srv, "127.0.0.2", 0), 1);
	assert_int_not_equal(X509_check_host(srv, "example.com", 0, 0, NULL),
	    1);

	X509_NAME_get_text_by_NID(X509_get_subject_name(srv), NID_commonName,
	    cn, sizeof(cn));
	assert_string_equal(cn, "coffer-test");
	ca = read_cert(fx->a, TLS_CA_CERT);
	X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName,
	    cn, sizeof(cn));
	assert_string_equal(cn, "Coffer CA coffer-test");
	/* Serials are random, so two certificates never share one. */
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
	    X509_get0_serialNumber(srv)), 0);
	X509_free(ca);
	X509_free(srv);
}

static void
tls_handshake_over_loopback_echoes_bytes(void **state)
{
	struct fixture *fx = *state;
	static const char msg[] = "hello over TLS 1.3";
	char back[sizeof(msg)], fp_peer[TLS_FINGERPRINT_LEN];
	char fp_file[TLS_FINGERPRINT_LEN];
	SSL_CTX *sctx, *cctx;
	struct server s;
	X509 *file_cert;
	struct err e;
	SSL *ssl = NULL;
	int fd = -1;

	sctx = server_ctx(fx->a);
	cctx = client_ctx(fx->a);
	server_start(&s, sctx, "127.0.0.1", SRV_ECHO);
	err_clear(&e);
	if (tls_client_connect(cctx, "127.0.0.1", s.port, TIMEOUT_MS, &ssl,
	    &fd, &e) != 0)
		fail_msg("tls_client_connect: %s", e.msg);
	assert_int_equal(SSL_version(ssl), TLS1_3_VERSION);
	assert_int_equal(tls_write_full(ssl, msg, sizeof(msg), &e), 0);
	assert_int_equal(tls_read_full(ssl, back, sizeof(back), &e), 0);
	assert_memory_equal(back, msg, sizeof(msg));

	/* The peer's fingerprint is that of server.pem. */
	file_cert = read_cert(fx->a, TLS_SERVER_CERT);
	assert_int_equal(tls_fingerprint(file_cert, fp_file), 0);
	assert_int_equal(tls_fingerprint(SSL_get0_peer_certificate(ssl),
	    fp_peer), 0);
	assert_string_equal(fp_peer, fp_file);
	assert_int_equal(strlen(fp_peer), TLS_FINGERPRINT_LEN - 1);
	assert_int_equal(fp_peer[2], ':');
	X509_free(file_cert);

	tls_close(ssl, fd);
	server_join(&s);
	assert_true(s.handshake_ok);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
tls_localhost_by_name_connects(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *sctx, *cctx;
	struct server s;
	struct err e;
	SSL *ssl = NULL;
	int fd = -1;

	sctx = server_ctx(fx->a);
	cctx = client_ctx(fx->a);
	server_start(&s, sctx, "127.0.0.1", SRV_CLOSE);
	err_clear(&e);
	/* "localhost" may resolve to ::1 first; the next address serves. */
	if (tls_client_connect(cctx, "localhost", s.port, TIMEOUT_MS, &ssl,
	    &fd, &e) != 0)
		fail_msg("tls_client_connect: %s", e.msg);
	tls_close(ssl, fd);
	server_join(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
tls_client_with_other_ca_fails_verify(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *sctx, *cctx;
	struct server s;
	struct err e;
	char want[64];
	SSL *ssl = NULL;
	int fd = -1;

	sctx = server_ctx(fx->a);
	cctx = client_ctx(fx->b);
	server_start(&s, sctx, "127.0.0.1", SRV_ECHO);
	err_clear(&e);
	assert_int_equal(tls_client_connect(cctx, "127.0.0.1", s.port,
	    TIMEOUT_MS, &ssl, &fd, &e), COFFER_EAUTH);
	assert_null(ssl);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(e.msg, "certificate verify failed"));
	snprintf(want, sizeof(want), "127.0.0.1:%d", s.port);
	assert_non_null(strstr(e.msg, want));
	server_join(&s);
	assert_false(s.handshake_ok);
	assert_int_equal(ERR_peek_error(), 0);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
tls_address_not_in_certificate_fails_verify(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *sctx, *cctx;
	struct server s;
	struct err e;
	SSL *ssl = NULL;
	int fd = -1;

	sctx = server_ctx(fx->a);
	cctx = client_ctx(fx->a);
	/* All of 127/8 is loopback on Linux, but only .1 is in the cert. */
	server_start(&s, sctx, "127.0.0.2", SRV_ECHO);
	err_clear(&e);
	assert_int_equal(tls_client_connect(cctx, "127.0.0.2", s.port,
	    TIMEOUT_MS, &ssl, &fd, &e), COFFER_EAUTH);
	assert_non_null(strstr(e.msg, "certificate verify failed"));
	assert_non_null(strstr(e.msg, "IP address mismatch"));
	server_join(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
tls_connect_to_closed_port_names_host_port(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char want[64];
	SSL_CTX *cctx;
	struct err e;
	SSL *ssl = NULL;
	int lfd, port, fd = -1;

	/* A port that was free a moment ago and has no listener. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(lfd);

	cctx = client_ctx(fx->a);
	err_clear(&e);
	assert_int_equal(tls_client_connect(cctx, "127.0.0.1", port,
	    TIMEOUT_MS, &ssl, &fd, &e), COFFER_EIO);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, "Connection refused"));
	assert_null(ssl);
	assert_int_equal(fd, -1);

	assert_int_equal(tls_client_connect(cctx, "127.0.0.1", 0, TIMEOUT_MS,
	    &ssl, &fd, &e), COFFER_EINVAL);
	SSL_CTX_free(cctx);
}

/* Read from a server that closes at once, as it does in mode. */
static void
read_after_close(const struct fixture *fx, enum srv_mode mode)
{
	SSL_CTX *sctx, *cctx;
	struct server s;
	struct err e;
	char buf[16];
	SSL *ssl = NULL;
	int fd = -1;

	sctx = server_ctx(fx->a);
	cctx = client_ctx(fx->a);
	server_start(&s, sctx, "127.0.0.1", mode);
	err_clear(&e);
	if (tls_client_connect(cctx, "127.0.0.1", s.port, TIMEOUT_MS, &ssl,
	    &fd, &e) != 0)
		fail_msg("tls_client_connect: %s", e.msg);
	assert_int_equal(tls_read_full(ssl, buf, sizeof(buf), &e),
	    mode == SRV_RESET ? COFFER_EIO : COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "connection closed by peer"));
	assert_non_null(strstr(e.msg, "0 of 16 bytes"));
	assert_true(tls_peer_closed(&e));
	tls_close(ssl, fd);
	server_join(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
tls_peer_close_before_n_bytes_is_eproto(void **state)
{
	read_after_close(*state, SRV_CLOSE);
	/* Without close_notify it reads the same (IGNORE_UNEXPECTED_EOF). */
	read_after_close(*state, SRV_CLOSE_ABRUPT);
	/* A reset (the peer's host gone) is a close too, not a TLS error. */
	read_after_close(*state, SRV_RESET);
}

static void
tls_bad_files_are_named(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	struct err e;

	path_in(path, fx->dir, "no-such-ca.pem");
	err_clear(&e);
	assert_null(tls_client_ctx(path, &e));
	assert_int_equal(e.code, COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "No such file or directory"));

	/* A file without a certificate in it. */
	path_in(path, fx->a, TLS_SERVER_KEY);
	err_clear(&e);
	assert_null(tls_client_ctx(path, &e));
	assert_int_equal(e.code, COFFER_EINVAL);
	assert_non_null(strstr(e.msg, path));

	/* A server key that does not belong to the certificate. */
	path_in(cert, fx->a, TLS_SERVER_CERT);
	path_in(key, fx->b, TLS_SERVER_KEY);
	err_clear(&e);
	assert_null(tls_server_ctx(cert, key, &e));
	assert_int_equal(e.code, COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "does not match"));
	assert_int_equal(ERR_peek_error(), 0);
}

static void
tls_err_drain_appends_and_empties_queue(void **state)
{
	char buf[256] = "";

	(void)state;
	ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED);
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
	tls_err_drain(buf, sizeof(buf));
	assert_non_null(strstr(buf, "certificate verify failed"));
	assert_non_null(strstr(buf, "; "));
	assert_int_equal(ERR_peek_error(), 0);

	/* A tiny buffer stays terminated. */
	ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
	buf[0] = '\0';
	tls_err_drain(buf, 8);
	assert_int_equal(strlen(buf), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    tls_make_creates_files_with_private_keys_0600, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(tls_make_twice_is_eexist,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    tls_server_cert_verifies_against_its_ca_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    tls_server_cert_names_loopback_and_host, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    tls_handshake_over_loopback_echoes_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(tls_localhost_by_name_connects,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    tls_client_with_other_ca_fails_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    tls_address_not_in_certificate_fails_verify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    tls_connect_to_closed_port_names_host_port, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    tls_peer_close_before_n_bytes_is_eproto, setup, teardown),
		cmocka_unit_test_setup_teardown(tls_bad_files_are_named,
		    setup, teardown),
		cmocka_unit_test(tls_err_drain_appends_and_empties_queue),
	};

	/* A peer that has gone must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
