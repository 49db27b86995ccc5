/*
 * tls.h - TLS 1.3 contexts, blocking client connections, and the server's
 * own certificate authority.
 *
 * A server makes, once, a private CA and a server certificate signed by it
 * (tls_make_ca_and_server_cert); clients are given ca.pem and verify the
 * server against it, host name or IP address included.  Only TLS 1.3 is
 * spoken on either side.
 *
 * The blocking helpers (tls_client_connect, tls_read_full, tls_write_full)
 * serve the command-line client and tests; the server uses the contexts
 * with libevent.  Writing to a peer that has gone raises SIGPIPE, so a
 * program using them ignores SIGPIPE in main.
 *
 * Messages in struct err include the OpenSSL error queue, which these
 * functions empty.
 */
#ifndef COFFER_TLS_H
#define COFFER_TLS_H

#include <stddef.h>

#include <openssl/types.h>

struct err;

/* File names tls_make_ca_and_server_cert creates in its directory. */
#define TLS_CA_KEY		"ca.key"
#define TLS_CA_CERT		"ca.pem"
#define TLS_SERVER_KEY		"server.key"
#define TLS_SERVER_CERT		"server.pem"

/* "AB:CD:...": 32 bytes as 3 characters each, the last ':' being a NUL. */
#define TLS_FINGERPRINT_LEN	96

/*
 * Create dir (mode 0700) if missing, then in it a CA key and certificate
 * (ca.key 0600, ca.pem; CN "Coffer CA <server_name>", 10 years) and a
 * server key and certificate signed by the CA (server.key 0600,
 * server.pem; CN <server_name>, 5 years).  Keys are EC P-256.  The server
 * certificate names 127.0.0.1, ::1, localhost, this machine's host name,
 * and server_name itself when it is a host name or an IP address.
 * Refuses with COFFER_EEXIST when any of the four files exists; on failure
 * removes the files it created.
 */
int tls_make_ca_and_server_cert(const char *dir, const char *server_name,
    struct err *e);

/*
 * Server context: TLS 1.3 only, certificate chain and key from PEM files,
 * no session cache or tickets, no renegotiation, and a peer that closes
 * without close_notify reads as end of file (our protocol detects
 * truncation itself).  NULL with e set on failure; free with SSL_CTX_free.
 */
SSL_CTX *tls_server_ctx(const char *cert_pem, const char *key_pem,
    struct err *e);

/*
 * Client context: TLS 1.3 only, the peer must present a certificate that
 * chains to a CA in ca_file.  NULL with e set on failure (naming the file
 * when it is missing or holds no certificate); free with SSL_CTX_free.
 */
SSL_CTX *tls_client_ctx(const char *ca_file, struct err *e);

/*
 * Connect to host:port over TCP (each address getaddrinfo gives, in turn)
 * and run the TLS handshake, checking that the certificate names host,
 * which may be a DNS name or an IP literal.  timeout_ms bounds the TCP
 * connect and, separately, the handshake.  On success the caller owns
 * *out_ssl and *out_fd: tls_close() them, or SSL_free() and close().
 * Returns 0, COFFER_EAUTH when the certificate does not verify, COFFER_EIO
 * when the TCP connection fails, COFFER_EPROTO when the handshake fails,
 * COFFER_ENOTFOUND when host does not resolve.
 */
int tls_client_connect(SSL_CTX *ctx, const char *host, int port,
    int timeout_ms, SSL **out_ssl, int *out_fd, struct err *e);

/* Send close_notify (without waiting for the peer's), free ssl, close fd. */
void tls_close(SSL *ssl, int fd);

/*
 * Read or write exactly n bytes on a blocking connection.  A peer that
 * closes before n bytes is COFFER_EPROTO "connection closed by peer"
 * (TLS_PEER_CLOSED); one that went away with a reset or a broken pipe is
 * the same words with the errno after them, COFFER_EIO; other failures are
 * COFFER_EIO (system) or COFFER_EPROTO (TLS), with the SSL_get_error name
 * and the OpenSSL error queue in the message.
 */
#define TLS_PEER_CLOSED	"connection closed by peer"
int tls_read_full(SSL *ssl, void *p, size_t n, struct err *e);
int tls_write_full(SSL *ssl, const void *p, size_t n, struct err *e);
/* Did the tls_read_full/tls_write_full failure in e mean the peer closed? */
int tls_peer_closed(const struct err *e);

/*
 * SHA-256 of cert's DER as upper-case hex pairs joined by ':' (95
 * characters and a NUL), for pinning.  Returns 0 or COFFER_EINTERNAL.
 */
int tls_fingerprint(X509 *cert, char out[TLS_FINGERPRINT_LEN]);

/*
 * Append the OpenSSL errors queued on this thread to the string in buf
 * ("; " between them) and empty the queue.  buf stays NUL-terminated.
 */
void tls_err_drain(char *buf, size_t len);

#endif
