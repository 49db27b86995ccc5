/*
 * tls.c - TLS 1.3 contexts, blocking client connections, and the server's
 * private CA, all through the OpenSSL 3 C API.
 *
 * Every public function starts with an empty OpenSSL error queue and
 * leaves it empty: what it finds there goes into the struct err message,
 * and a queue left behind would be blamed on the next caller.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "tls.h"
#include "util.h"

/* Validity in calendar years. */
#define CA_YEARS	10
#define SERVER_YEARS	5
/*
 * notBefore lies an hour in the past, so that a client whose clock lags
 * the server's a little still accepts a certificate made a moment ago.
 */
#define BACKDATE_SECS	3600
#define SERIAL_BITS	128
/* X.509 bounds a common name at 64 characters; "Coffer CA " takes 10. */
#define CN_MAX		64
#define SERVER_NAME_MAX	(CN_MAX - 10)
#define SAN_MAX		1024

struct ext {
	int		 nid;
	const char	*value;
};

static void
err_append(char *buf, size_t len, size_t *used, const char *s)
{
	int const n = snprintf(buf + *used, len - *used, "%s", s);

	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

void
tls_err_drain(char *buf, size_t len)
{
	char one[256];
	const char *data = NULL;
	unsigned long l;
	size_t used;
	int flags = 0, first = 1;

	if (len == 0) {
		ERR_clear_error();
		return;
	}
	used = strnlen(buf, len);
	if (used == len)
		buf[--used] = '\0';
	while ((l = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(l, one, sizeof(one));
		if (!first)
			err_append(buf, len, &used, "; ");
		first = 0;
		err_append(buf, len, &used, one);
		/* Extra data such as "calling fopen(ca.pem, r)". */
		if ((flags & ERR_TXT_STRING) && data != NULL &&
		    data[0] != '\0') {
			err_append(buf, len, &used, " (");
			err_append(buf, len, &used, data);
			err_append(buf, len, &used, ")");
		}
	}
}

/* err_set with ": <the OpenSSL error queue>" appended; empties the queue. */
static int __attribute__((format(printf, 3, 4)))
ssl_err(struct err *e, int code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX], q[ERR_MSG_MAX];
	va_list ap;

	q[0] = '\0';
	tls_err_drain(q, sizeof(q));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, code, "%s: %s", msg,
	    q[0] != '\0' ? q : "no OpenSSL error queued");
}

/*
 * Opening the file ourselves first gives "No such file or directory" with
 * the file's name, where OpenSSL would only say "system library".
 */
static int
check_readable(const char *path, const char *what, struct err *e)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, errno == ENOENT ? COFFER_ENOTFOUND :
		    COFFER_EIO, "%s %s: open", what, path);
	close(fd);
	return 0;
}

/* 1 for a host name in preferred syntax: letters, digits, '-', dots. */
static int
is_dns_name(const char *s)
{
	size_t const len = strlen(s);
	size_t i, label = 0;
	char c;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

static int
is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

/* "host:port", or "[v6]:port" so that the port stays readable. */
static void
format_where(char *buf, size_t len, const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", host, port);
	else
		snprintf(buf, len, "%s:%d", host, port);
}

/* --- Certificates. --- */

static EVP_PKEY *
make_key(const char *what, struct err *e)
{
	EVP_PKEY *k;

	if ((k = EVP_EC_gen("P-256")) == NULL)
		ssl_err(e, COFFER_EINTERNAL, "%s: EC P-256 key generation",
		    what);
	return k;
}

/*
 * Random serial; the top bit set keeps it positive, non-zero and always
 * 17 bytes of DER (RFC 5280 allows up to 20).
 */
static int
set_random_serial(X509 *x)
{
	BIGNUM *bn;
	int ok;

	if ((bn = BN_new()) == NULL)
		return 0;
	ok = BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ==
	    1 && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

/* Valid from an hour ago until the same date and time years from now. */
static int
set_validity(X509 *x, int years)
{
	time_t const now = time(NULL);
	struct tm tm;
	time_t end;

	if (gmtime_r(&now, &tm) == NULL)
		return 0;
	tm.tm_year += years;
	if ((end = timegm(&tm)) == (time_t)-1)
		return 0;
	return X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECS) !=
	    NULL && ASN1_TIME_set(X509_getm_notAfter(x), end) != NULL;
}

/*
 * A certificate for key with subject CN=cn, issued by issuer (NULL: by
 * itself), valid for years; no extensions, not signed.
 */
static X509 *
cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, int years,
    struct err *e)
{
	X509 *x = NULL, *ret = NULL;
	X509_NAME *name = NULL;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL) {
		ssl_err(e, COFFER_ENOMEM, "certificate %s: allocate", cn);
		goto out;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    !set_random_serial(x) ||
	    !set_validity(x, years) ||
	    X509_set_pubkey(x, key) != 1) {
		ssl_err(e, COFFER_EINTERNAL, "certificate %s: build", cn);
		goto out;
	}
	ret = x;
	x = NULL;
 out:
	X509_NAME_free(name);
	X509_free(x);
	return ret;
}

/* Add extensions in order; issuer is x itself for a self-signed one. */
static int
cert_add_exts(X509 *x, X509 *issuer, const struct ext *exts, size_t n,
    const char *cn, struct err *e)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	size_t i;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	for (i = 0; i < n; i++) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid,
		    exts[i].value);
		if (ext == NULL)
			return ssl_err(e, COFFER_EINTERNAL, "certificate %s: "
			    "extension %s = %s", cn, OBJ_nid2sn(exts[i].nid),
			    exts[i].value);
		ok = X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		if (ok != 1)
			return ssl_err(e, COFFER_EINTERNAL, "certificate %s: "
			    "add extension %s", cn, OBJ_nid2sn(exts[i].nid));
	}
	return 0;
}

static X509 *
make_ca_cert(const char *server_name, EVP_PKEY *key, struct err *e)
{
	/* pathlen:0 - this CA signs server certificates, never other CAs. */
	static const struct ext exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
	};
	char cn[CN_MAX + 1];
	X509 *x = NULL, *ret = NULL;

	snprintf(cn, sizeof(cn), "Coffer CA %s", server_name);
	if ((x = cert_new(cn, key, NULL, CA_YEARS, e)) == NULL)
		goto out;
	if (cert_add_exts(x, x, exts, sizeof(exts) / sizeof(exts[0]), cn,
	    e) != 0)
		goto out;
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		ssl_err(e, COFFER_EINTERNAL, "certificate %s: sign", cn);
		goto out;
	}
	ret = x;
	x = NULL;
 out:
	X509_free(x);
	return ret;
}

/* Append ",TYPE:name" unless san already has that entry (any case). */
static void
san_add(char *san, size_t len, const char *type, const char *name)
{
	char item[300];
	size_t const used = strlen(san);
	size_t il, n;
	const char *p;

	snprintf(item, sizeof(item), "%s:%s", type, name);
	il = strlen(item);
	for (p = san; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (n == il && strncasecmp(p, item, il) == 0)
			return;
	}
	snprintf(san + used, len - used, ",%s", item);
}

/*
 * subjectAltName: the loopback addresses, localhost, this machine's host
 * name, and server_name when it is usable as a host name or an address.
 * A host name outside preferred syntax cannot go into a dNSName, so it is
 * left out rather than failing the whole setup.
 */
static void
build_san(const char *server_name, char *san, size_t len)
{
	char host[256];

	snprintf(san, len, "IP:127.0.0.1,IP:::1,DNS:localhost");
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (is_dns_name(host))
			san_add(san, len, "DNS", host);
	}
	if (is_ip_literal(server_name))
		san_add(san, len, "IP", server_name);
	else if (is_dns_name(server_name))
		san_add(san, len, "DNS", server_name);
}

static X509 *
make_server_cert(const char *server_name, EVP_PKEY *key, X509 *ca,
    EVP_PKEY *ca_key, struct err *e)
{
	char san[SAN_MAX];
	struct ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth,clientAuth" },
		{ NID_subject_alt_name, san },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	X509 *x = NULL, *ret = NULL;

	build_san(server_name, san, sizeof(san));
	if ((x = cert_new(server_name, key, ca, SERVER_YEARS, e)) == NULL)
		goto out;
	if (cert_add_exts(x, ca, exts, sizeof(exts) / sizeof(exts[0]),
	    server_name, e) != 0)
		goto out;
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		ssl_err(e, COFFER_EINTERNAL, "certificate %s: sign",
		    server_name);
		goto out;
	}
	ret = x;
	x = NULL;
 out:
	X509_free(x);
	return ret;
}

/*
 * PEM of key (mode 0600) or of cert (0644) into path, atomically.  A key
 * is encoded in a secure-memory BIO, which is wiped when freed.
 */
static int
write_pem(const char *path, EVP_PKEY *key, X509 *cert, struct err *e)
{
	BIO *b = NULL;
	char *data = NULL;
	long len;
	int ok, r = COFFER_EINTERNAL;

	if ((b = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem())) ==
	    NULL) {
		r = ssl_err(e, COFFER_ENOMEM, "%s: BIO_new", path);
		goto out;
	}
	if (key != NULL)
		ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
		    NULL);
	else
		ok = PEM_write_bio_X509(b, cert);
	if (ok != 1 || (len = BIO_get_mem_data(b, &data)) <= 0) {
		r = ssl_err(e, COFFER_EINTERNAL, "%s: PEM encoding", path);
		goto out;
	}
	r = util_write_atomic(path, data, (size_t)len, key != NULL ? 0600 :
	    0644, e);
 out:
	BIO_free(b);
	return r;
}

/*
 * Refuse before generating anything if a file is already there.  The
 * check is not atomic with the later rename, which would replace a file
 * created in between; this runs once, at setup, by one administrator.
 */
static int
check_absent(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return err_set(e, COFFER_EEXIST, "%s: already exists; "
		    "refusing to overwrite it", path);
	if (errno != ENOENT)
		return err_sys(e, COFFER_EIO, "%s: lstat", path);
	return 0;
}

static int
check_server_name(const char *name, struct err *e)
{
	size_t const len = strlen(name);
	size_t i;

	if (len == 0 || len > SERVER_NAME_MAX)
		return err_set(e, COFFER_EINVAL, "server name \"%.80s\": must "
		    "be 1 to %d characters", name, SERVER_NAME_MAX);
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return err_set(e, COFFER_EINVAL, "server name: "
			    "contains a control character");
	}
	return 0;
}

int
tls_make_ca_and_server_cert(const char *dir, const char *server_name,
    struct err *e)
{
	enum { CA_KEY, CA_CERT, SRV_KEY, SRV_CERT, NFILES };
	static const char *const names[NFILES] = {
		TLS_CA_KEY, TLS_CA_CERT, TLS_SERVER_KEY, TLS_SERVER_CERT
	};
	char path[NFILES][PATH_MAX];
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca = NULL, *srv = NULL;
	int i, n, written = 0, r = COFFER_EINTERNAL;

	ERR_clear_error();
	if ((r = check_server_name(server_name, e)) != 0)
		goto out;
	for (i = 0; i < NFILES; i++) {
		n = snprintf(path[i], PATH_MAX, "%s/%s", dir, names[i]);
		if (n < 0 || n >= PATH_MAX) {
			r = err_set(e, COFFER_ETOOBIG, "%s: path too long",
			    dir);
			goto out;
		}
		if ((r = check_absent(path[i], e)) != 0)
			goto out;
	}
	if ((r = util_mkdir_p(dir, 0700, e)) != 0)
		goto out;
	r = COFFER_EINTERNAL;
	if ((ca_key = make_key(path[CA_KEY], e)) == NULL ||
	    (srv_key = make_key(path[SRV_KEY], e)) == NULL ||
	    (ca = make_ca_cert(server_name, ca_key, e)) == NULL ||
	    (srv = make_server_cert(server_name, srv_key, ca, ca_key,
	    e)) == NULL)
		goto out;
	/* The CA first: a server certificate without its CA is useless. */
	if ((r = write_pem(path[CA_KEY], ca_key, NULL, e)) != 0)
		goto out;
	written++;
	if ((r = write_pem(path[CA_CERT], NULL, ca, e)) != 0)
		goto out;
	written++;
	if ((r = write_pem(path[SRV_KEY], srv_key, NULL, e)) != 0)
		goto out;
	written++;
	if ((r = write_pem(path[SRV_CERT], NULL, srv, e)) != 0)
		goto out;
	r = 0;
 out:
	/* All four or none, so that a retry does not trip over EEXIST. */
	for (i = 0; r != 0 && i < written; i++)
		unlink(path[i]);
	X509_free(srv);
	X509_free(ca);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(ca_key);
	ERR_clear_error();
	return r;
}

/* --- Contexts. --- */

static SSL_CTX *
ctx_new(const SSL_METHOD *method, const char *what, struct err *e)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		ssl_err(e, COFFER_ENOMEM, "%s: SSL_CTX_new", what);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		ssl_err(e, COFFER_EINTERNAL, "%s: restrict to TLS 1.3", what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * Our protocol ends with a session-end frame, so truncation is found
	 * above TLS; without this, OpenSSL 3 turns a peer closing without
	 * close_notify into an error (and libevent 2.1 never sends one).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *cert_pem, const char *key_pem, struct err *e)
{
	SSL_CTX *ctx = NULL, *ret = NULL;

	ERR_clear_error();
	if (check_readable(cert_pem, "server certificate", e) != 0 ||
	    check_readable(key_pem, "server key", e) != 0)
		goto out;
	if ((ctx = ctx_new(TLS_server_method(), "TLS server", e)) == NULL)
		goto out;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_pem) != 1) {
		ssl_err(e, COFFER_EINVAL, "server certificate %s: load",
		    cert_pem);
		goto out;
	}
	/* Loading the key already compares it with the certificate. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key_pem, SSL_FILETYPE_PEM) !=
	    1 || SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long const l = ERR_peek_last_error();

		if (ERR_GET_LIB(l) == ERR_LIB_X509 &&
		    ERR_GET_REASON(l) == X509_R_KEY_VALUES_MISMATCH)
			ssl_err(e, COFFER_EINVAL, "server key %s does not "
			    "match certificate %s", key_pem, cert_pem);
		else
			ssl_err(e, COFFER_EINVAL, "server key %s: load",
			    key_pem);
		goto out;
	}
	/* No client resumes a session: tickets would be wasted bytes. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	ret = ctx;
	ctx = NULL;
 out:
	SSL_CTX_free(ctx);
	return ret;
}

SSL_CTX *
tls_client_ctx(const char *ca_file, struct err *e)
{
	SSL_CTX *ctx = NULL, *ret = NULL;

	ERR_clear_error();
	if (check_readable(ca_file, "CA file", e) != 0)
		goto out;
	if ((ctx = ctx_new(TLS_client_method(), "TLS client", e)) == NULL)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		ssl_err(e, COFFER_EINVAL, "CA file %s: no usable certificate",
		    ca_file);
		goto out;
	}
	ret = ctx;
	ctx = NULL;
 out:
	SSL_CTX_free(ctx);
	return ret;
}

/* --- Connections. --- */

/*
 * One non-blocking connect to ai, waiting up to timeout_ms (< 0: no
 * limit); the socket is blocking again on return.  -1 with errno set.
 */
static int
connect_one(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, flags, soerr = 0, n, saved, ret = -1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		goto out;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS)
			goto out;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		/* A signal restarts the wait; fine for a bounded timeout. */
		while ((n = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
			;
		if (n < 0)
			goto out;
		if (n == 0) {
			errno = ETIMEDOUT;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
			goto out;
		if (soerr != 0) {
			errno = soerr;
			goto out;
		}
	}
	if (fcntl(fd, F_SETFL, flags) < 0)
		goto out;
	ret = fd;
	fd = -1;
 out:
	if (fd >= 0) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return ret;
}

static int
tcp_connect(const char *host, int port, const char *where, int timeout_ms,
    int *out_fd, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	double const start = util_now();
	int fd = -1, gai, left, one = 1, saved = 0, r = COFFER_EINTERNAL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((gai = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		r = err_set(e, gai == EAI_NONAME ? COFFER_ENOTFOUND :
		    COFFER_EIO, "connect to %s: %s", where, gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(gai));
		goto out;
	}
	/* Each address in turn ("localhost" may be ::1, then 127.0.0.1). */
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		left = -1;
		if (timeout_ms > 0) {
			left = timeout_ms - (int)((util_now() - start) * 1000);
			if (left <= 0) {
				saved = ETIMEDOUT;
				break;
			}
		}
		if ((fd = connect_one(ai, left)) < 0)
			saved = errno;
	}
	if (fd < 0) {
		if (saved == ETIMEDOUT)
			r = err_set(e, COFFER_EIO, "connect to %s: timed out "
			    "after %d ms", where, timeout_ms);
		else {
			errno = saved;
			r = err_sys(e, COFFER_EIO, "connect to %s", where);
		}
		goto out;
	}
	/* Requests are small frames waiting for an answer: no Nagle. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		r = err_sys(e, COFFER_EIO, "connect to %s: TCP_NODELAY",
		    where);
		goto out;
	}
	*out_fd = fd;
	fd = -1;
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return r;
}

/* Bound blocking reads and writes on fd; 0 removes the bound. */
static int
set_io_timeout(int fd, int timeout_ms, const char *where, struct err *e)
{
	struct timeval tv;

	tv.tv_sec = timeout_ms > 0 ? timeout_ms / 1000 : 0;
	tv.tv_usec = timeout_ms > 0 ? (timeout_ms % 1000) * 1000 : 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return err_sys(e, COFFER_EIO, "connection to %s: set timeout",
		    where);
	return 0;
}

static const char *
ssl_error_name(int se)
{
	switch (se) {
	case SSL_ERROR_NONE:		return "SSL_ERROR_NONE";
	case SSL_ERROR_SSL:		return "SSL_ERROR_SSL";
	case SSL_ERROR_WANT_READ:	return "SSL_ERROR_WANT_READ";
	case SSL_ERROR_WANT_WRITE:	return "SSL_ERROR_WANT_WRITE";
	case SSL_ERROR_SYSCALL:		return "SSL_ERROR_SYSCALL";
	case SSL_ERROR_ZERO_RETURN:	return "SSL_ERROR_ZERO_RETURN";
	}
	return "SSL_ERROR_OTHER";
}

/*
 * Why an SSL_* call on ssl returned rc, as "<what>: <cause>" in e.  Call
 * right after the failing call: SSL_get_error reads errno and the queue.
 */
static int
io_err(SSL *ssl, int rc, const char *what, struct err *e)
{
	int const saved = errno;
	int const se = SSL_get_error(ssl, rc);
	char q[ERR_MSG_MAX];

	q[0] = '\0';
	tls_err_drain(q, sizeof(q));
	switch (se) {
	case SSL_ERROR_ZERO_RETURN:
		return err_set(e, COFFER_EPROTO, "%s: " TLS_PEER_CLOSED, what);
	case SSL_ERROR_SYSCALL:
		if (q[0] != '\0')
			break;
		if (saved == 0)
			return err_set(e, COFFER_EPROTO, "%s: " TLS_PEER_CLOSED,
			    what);
		/*
		 * A peer that died (killed, its host rebooted) shows as a
		 * reset or, when writing, a broken pipe: it closed the
		 * connection as much as one that said so.  EIO still, so
		 * that a failover that waits for an I/O error takes it.
		 */
		if (saved == EPIPE || saved == ECONNRESET)
			return err_set(e, COFFER_EIO, "%s: " TLS_PEER_CLOSED
			    " (%s)", what, strerror(saved));
		return err_set(e, COFFER_EIO, "%s: %s (SSL_ERROR_SYSCALL)",
		    what, strerror(saved));
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* Blocking sockets only say this when a timeout expired. */
		return err_set(e, COFFER_EIO, "%s: timed out (%s)", what,
		    ssl_error_name(se));
	}
	return err_set(e, COFFER_EPROTO, "%s: %s: %s", what,
	    ssl_error_name(se), q[0] != '\0' ? q : "no OpenSSL error queued");
}

/* 1 when the failed call only met a signal and should be repeated. */
static int
interrupted(SSL *ssl, int rc)
{
	int const saved = errno;
	int const se = SSL_get_error(ssl, rc);

	if ((se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) &&
	    saved == EINTR) {
		ERR_clear_error();
		return 1;
	}
	errno = saved;
	return 0;
}

static int
handshake_err(SSL *ssl, int rc, const char *where, int timeout_ms,
    struct err *e)
{
	int const saved = errno;
	int const se = SSL_get_error(ssl, rc);
	long const vr = SSL_get_verify_result(ssl);
	char what[ERR_MSG_MAX];

	if (vr != X509_V_OK) {
		ERR_clear_error();
		return err_set(e, COFFER_EAUTH, "TLS handshake with %s "
		    "failed: certificate verify failed: %s", where,
		    X509_verify_cert_error_string(vr));
	}
	/* Our SO_RCVTIMEO/SO_SNDTIMEO expired. */
	if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return err_set(e, COFFER_EIO, "TLS handshake with %s failed: "
		    "timed out after %d ms", where, timeout_ms);
	}
	snprintf(what, sizeof(what), "TLS handshake with %s failed", where);
	errno = saved;
	return io_err(ssl, rc, what, e);
}

static int
tls_handshake(SSL_CTX *ctx, const char *host, int fd, const char *where,
    int timeout_ms, SSL **out, struct err *e)
{
	SSL *ssl = NULL;
	int rc, r = COFFER_EINTERNAL;

	if ((ssl = SSL_new(ctx)) == NULL) {
		r = ssl_err(e, COFFER_ENOMEM, "TLS connection to %s: SSL_new",
		    where);
		goto out;
	}
	/*
	 * SSL_set1_host takes an IP literal as an address to match against
	 * the IP SANs (OpenSSL 3.0); SNI carries DNS names only (RFC 6066).
	 */
	if (SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, host) != 1 ||
	    (!is_ip_literal(host) &&
	    SSL_set_tlsext_host_name(ssl, host) != 1)) {
		r = ssl_err(e, COFFER_EINVAL, "TLS connection to %s: set up",
		    where);
		goto out;
	}
	if ((r = set_io_timeout(fd, timeout_ms, where, e)) != 0)
		goto out;
	do {
		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(ssl);
	} while (rc != 1 && interrupted(ssl, rc));
	if (rc != 1) {
		r = handshake_err(ssl, rc, where, timeout_ms, e);
		goto out;
	}
	if ((r = set_io_timeout(fd, 0, where, e)) != 0)
		goto out;
	*out = ssl;
	ssl = NULL;
	r = 0;
 out:
	SSL_free(ssl);
	return r;
}

int
tls_client_connect(SSL_CTX *ctx, const char *host, int port, int timeout_ms,
    SSL **out_ssl, int *out_fd, struct err *e)
{
	char where[300];
	SSL *ssl = NULL;
	int fd = -1, r = COFFER_EINTERNAL;

	*out_ssl = NULL;
	*out_fd = -1;
	ERR_clear_error();
	format_where(where, sizeof(where), host, port);
	if (port < 1 || port > 65535) {
		r = err_set(e, COFFER_EINVAL, "connect to %s: port out of "
		    "range", where);
		goto out;
	}
	if ((r = tcp_connect(host, port, where, timeout_ms, &fd, e)) != 0)
		goto out;
	if ((r = tls_handshake(ctx, host, fd, where, timeout_ms, &ssl,
	    e)) != 0)
		goto out;
	*out_ssl = ssl;
	ssl = NULL;
	*out_fd = fd;
	fd = -1;
	r = 0;
 out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	return r;
}

void
tls_close(SSL *ssl, int fd)
{
	if (ssl != NULL) {
		/* One call sends close_notify; we do not wait for the reply. */
		if (SSL_is_init_finished(ssl))
			SSL_shutdown(ssl);
		SSL_free(ssl);
		ERR_clear_error();
	}
	if (fd >= 0)
		close(fd);
}

int
tls_peer_closed(const struct err *e)
{
	return e != NULL && strstr(e->msg, TLS_PEER_CLOSED) != NULL;
}

int
tls_read_full(SSL *ssl, void *p, size_t n, struct err *e)
{
	uint8_t *b = p;
	size_t done = 0, got = 0;
	char what[96];
	int rc;

	while (done < n) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_read_ex(ssl, b + done, n - done, &got);
		if (rc == 1) {
			done += got;
			continue;
		}
		if (interrupted(ssl, rc))
			continue;
		snprintf(what, sizeof(what), "TLS read after %zu of %zu bytes",
		    done, n);
		return io_err(ssl, rc, what, e);
	}
	return 0;
}

int
tls_write_full(SSL *ssl, const void *p, size_t n, struct err *e)
{
	const uint8_t *b = p;
	size_t done = 0, put = 0;
	char what[96];
	int rc;

	while (done < n) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_write_ex(ssl, b + done, n - done, &put);
		if (rc == 1) {
			done += put;
			continue;
		}
		if (interrupted(ssl, rc))
			continue;
		snprintf(what, sizeof(what), "TLS write after %zu of %zu "
		    "bytes", done, n);
		return io_err(ssl, rc, what, e);
	}
	return 0;
}

int
tls_fingerprint(X509 *cert, char out[TLS_FINGERPRINT_LEN])
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = '\0';
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &len) != 1 ||
	    len * 3 != TLS_FINGERPRINT_LEN) {
		ERR_clear_error();
		return COFFER_EINTERNAL;
	}
	for (i = 0; i < len; i++) {
		out[3 * i] = digits[md[i] >> 4];
		out[3 * i + 1] = digits[md[i] & 0x0f];
		out[3 * i + 2] = ':';
	}
	out[3 * len - 1] = '\0';
	return 0;
}
