/*
 * passwd.c - salted scrypt password hashes, policy, password files.
 *
 * Cost.  A login runs one scrypt, and the server runs logins on its worker
 * threads, so a hash must stay within about 50-100 ms.  Measured on the
 * build machine (OpenSSL 3.0.19, r = 8, p = 1, 2 cores, idle to busy with
 * a parallel build):
 *
 *	N = 2^13	 30-60 ms
 *	N = 2^14	 55-80 ms	<- chosen
 *	N = 2^15	130-250 ms
 *	N = 2^16	290-455 ms
 *
 * so new hashes use N = 2^14 (16 MiB of memory) rather than 2^15, which is
 * over budget here even on an idle machine.  Old hashes keep their own
 * parameters: they are in the encoding, so the cost can be raised later
 * without breaking logins.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "passwd.h"
#include "util.h"

#define SCHEME		"scrypt$"
#define SALT_LEN	16
#define KEY_LEN		32

/* Parameters for new hashes; see the measurements above. */
#define NEW_LOG_N	14
#define NEW_R		8
#define NEW_P		1

/*
 * Bounds on parameters read back from an encoding.  A corrupt or hostile
 * catalog row must not make one verification take minutes or gigabytes.
 */
#define MAX_LOG_N	20
#define MAX_R		32
#define MAX_P		16
#define MAX_MEM		((uint64_t)1 << 30)

struct scrypt_hash {
	unsigned int	log_n;
	unsigned int	r;
	unsigned int	p;
	uint8_t		salt[SALT_LEN];
	uint8_t		key[KEY_LEN];
};

/*
 * Memory scrypt needs, as OpenSSL counts it: B is p * 128 * r bytes, V is
 * 128 * r * (N + 2) bytes.  OpenSSL's default limit is 32 MiB, which
 * N = 2^15, r = 8 already exceeds, so we always pass our own.
 */
static uint64_t
scrypt_mem(const struct scrypt_hash *h)
{
	uint64_t const n = (uint64_t)1 << h->log_n;

	return 128 * (uint64_t)h->r * (uint64_t)h->p +
	    128 * (uint64_t)h->r * (n + 2);
}

/* Run scrypt with h's parameters and salt into key. */
static int
scrypt_derive(const char *pw, const struct scrypt_hash *h,
    uint8_t key[KEY_LEN], struct err *e)
{
	char buf[256];
	/* Headroom over the exact need: OpenSSL rounds internally. */
	uint64_t const maxmem = scrypt_mem(h) + ((uint64_t)1 << 20);

	if (EVP_PBE_scrypt(pw, strlen(pw), h->salt, sizeof(h->salt),
	    (uint64_t)1 << h->log_n, h->r, h->p, maxmem, key, KEY_LEN) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		ERR_clear_error();
		return err_set(e, COFFER_EINTERNAL,
		    "password hash: scrypt N=2^%u r=%u p=%u: %s",
		    h->log_n, h->r, h->p, buf);
	}
	return 0;
}

static void
hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode exactly 2 * n hex digits at *sp, which must be followed by term;
 * advances *sp past term.  Returns 0 or -1.
 */
static int
hex_field(const char **sp, uint8_t *out, size_t n, char term)
{
	const char *s = *sp;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = hex_digit(s[2 * i])) < 0 ||
		    (lo = hex_digit(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (s[2 * n] != term)
		return -1;
	*sp = s + 2 * n + (term != '\0');
	return 0;
}

/*
 * A decimal field of 1 to 3 digits at *sp, followed by '$'; advances *sp.
 * Leading zeros are refused so that each hash has one spelling.
 */
static int
num_field(const char **sp, unsigned int *out)
{
	const char *s = *sp;
	unsigned int v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 3)
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (i == 0 || s[i] != '$' || (i > 1 && s[0] == '0'))
		return -1;
	*out = v;
	*sp = s + i + 1;
	return 0;
}

static int
decode(const char *enc, struct scrypt_hash *h, struct err *e)
{
	const char *s = enc;

	if (strncmp(s, SCHEME, strlen(SCHEME)) != 0)
		return err_set(e, COFFER_ECORRUPT,
		    "password hash: unknown scheme (expected \"%s\")",
		    SCHEME);
	s += strlen(SCHEME);
	if (num_field(&s, &h->log_n) != 0 || num_field(&s, &h->r) != 0 ||
	    num_field(&s, &h->p) != 0)
		return err_set(e, COFFER_ECORRUPT,
		    "password hash: malformed scrypt parameters");
	if (h->log_n < 1 || h->log_n > MAX_LOG_N || h->r < 1 ||
	    h->r > MAX_R || h->p < 1 || h->p > MAX_P)
		return err_set(e, COFFER_ECORRUPT, "password hash: scrypt "
		    "N=2^%u r=%u p=%u outside limits N<=2^%d r<=%d p<=%d",
		    h->log_n, h->r, h->p, MAX_LOG_N, MAX_R, MAX_P);
	if (scrypt_mem(h) > MAX_MEM)
		return err_set(e, COFFER_ECORRUPT, "password hash: scrypt "
		    "N=2^%u r=%u p=%u needs %llu MiB, limit %llu MiB",
		    h->log_n, h->r, h->p,
		    (unsigned long long)(scrypt_mem(h) >> 20),
		    (unsigned long long)(MAX_MEM >> 20));
	if (hex_field(&s, h->salt, sizeof(h->salt), '$') != 0)
		return err_set(e, COFFER_ECORRUPT,
		    "password hash: salt is not %d hex digits", 2 * SALT_LEN);
	if (hex_field(&s, h->key, sizeof(h->key), '\0') != 0)
		return err_set(e, COFFER_ECORRUPT,
		    "password hash: key is not %d hex digits", 2 * KEY_LEN);
	return 0;
}

int
passwd_hash(const char *pw, char *out, size_t outlen, struct err *e)
{
	struct scrypt_hash h;
	char salt_hex[2 * SALT_LEN + 1], key_hex[2 * KEY_LEN + 1];
	int n, r = COFFER_EINTERNAL;

	memset(&h, 0, sizeof(h));
	if (outlen < PASSWD_HASH_MAX) {
		r = err_set(e, COFFER_EINVAL, "password hash: buffer of %zu "
		    "bytes, need %d", outlen, PASSWD_HASH_MAX);
		goto out;
	}
	h.log_n = NEW_LOG_N;
	h.r = NEW_R;
	h.p = NEW_P;
	if (RAND_bytes(h.salt, sizeof(h.salt)) != 1) {
		ERR_clear_error();
		r = err_set(e, COFFER_EINTERNAL,
		    "password hash: RAND_bytes failed");
		goto out;
	}
	if ((r = scrypt_derive(pw, &h, h.key, e)) != 0)
		goto out;
	hex_encode(h.salt, sizeof(h.salt), salt_hex);
	hex_encode(h.key, sizeof(h.key), key_hex);
	n = snprintf(out, outlen, "%s%u$%u$%u$%s$%s", SCHEME, h.log_n, h.r,
	    h.p, salt_hex, key_hex);
	if (n < 0 || (size_t)n >= outlen) {
		r = err_set(e, COFFER_EINTERNAL,
		    "password hash: encoding does not fit");
		goto out;
	}
	r = 0;
 out:
	passwd_wipe(&h, sizeof(h));
	passwd_wipe(key_hex, sizeof(key_hex));
	return r;
}

int
passwd_verify(const char *pw, const char *encoded, struct err *e)
{
	struct scrypt_hash h;
	uint8_t key[KEY_LEN];
	int r = COFFER_EINTERNAL;

	memset(&h, 0, sizeof(h));
	if ((r = decode(encoded, &h, e)) != 0)
		goto out;
	if ((r = scrypt_derive(pw, &h, key, e)) != 0)
		goto out;
	/* Constant time: a timing difference would leak key bytes. */
	if (CRYPTO_memcmp(key, h.key, KEY_LEN) != 0) {
		r = err_set(e, COFFER_EAUTH, "password does not match");
		goto out;
	}
	r = 0;
 out:
	passwd_wipe(&h, sizeof(h));
	passwd_wipe(key, sizeof(key));
	return r;
}

#define SERVER_SALT_PREFIX	"coffer-server-key:"

/* name upper-cased into out; 0, or COFFER_EINVAL when empty or long. */
static int
upper_name(const char *name, char *out, size_t len, struct err *e)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) >= len)
		return err_set(e, COFFER_EINVAL, "server key: server name "
		    "'%.64s' is empty or longer than %zu", name ? name : "",
		    len - 1);
	for (i = 0; name[i] != '\0'; i++)
		out[i] = (name[i] >= 'a' && name[i] <= 'z') ?
		    (char)(name[i] - 'a' + 'A') : name[i];
	out[i] = '\0';
	return 0;
}

int
passwd_server_key(const char *password, const char *name_a,
    const char *name_b, uint8_t key[PASSWD_SERVER_KEY_LEN], struct err *e)
{
	struct scrypt_hash h;
	char a[256], b[256], salt[sizeof(SERVER_SALT_PREFIX) + 512];
	char buf[256];
	int n, r;

	if (password == NULL || password[0] == '\0' ||
	    strlen(password) > PASSWD_LEN_MAX)
		return err_set(e, COFFER_EINVAL, "server key: the server "
		    "password is empty or longer than %d", PASSWD_LEN_MAX);
	if ((r = upper_name(name_a, a, sizeof(a), e)) != 0 ||
	    (r = upper_name(name_b, b, sizeof(b), e)) != 0)
		return r;
	/* Sorted: both ends build the same salt. */
	n = strcmp(a, b) <= 0 ?
	    snprintf(salt, sizeof(salt), SERVER_SALT_PREFIX "%s:%s", a, b) :
	    snprintf(salt, sizeof(salt), SERVER_SALT_PREFIX "%s:%s", b, a);
	memset(&h, 0, sizeof(h));
	h.log_n = NEW_LOG_N;
	h.r = NEW_R;
	h.p = NEW_P;
	if (EVP_PBE_scrypt(password, strlen(password),
	    (const unsigned char *)salt, (size_t)n, (uint64_t)1 << h.log_n,
	    h.r, h.p, scrypt_mem(&h) + ((uint64_t)1 << 20), key,
	    PASSWD_SERVER_KEY_LEN) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		ERR_clear_error();
		return err_set(e, COFFER_EINTERNAL, "server key: scrypt: %s",
		    buf);
	}
	return 0;
}

int
passwd_server_mac(const uint8_t key[PASSWD_SERVER_KEY_LEN], char role,
    const uint8_t cn[PASSWD_SERVER_NONCE_LEN],
    const uint8_t sn[PASSWD_SERVER_NONCE_LEN], const char *name,
    uint8_t mac[PASSWD_SERVER_KEY_LEN], struct err *e)
{
	uint8_t msg[1 + 2 * PASSWD_SERVER_NONCE_LEN + 256];
	size_t const nlen = strlen(name);
	size_t len = 0, outl = 0;
	char buf[256];

	if (nlen > 255)
		return err_set(e, COFFER_EINVAL, "server proof: name too "
		    "long");
	msg[len++] = (uint8_t)role;
	memcpy(msg + len, cn, PASSWD_SERVER_NONCE_LEN);
	len += PASSWD_SERVER_NONCE_LEN;
	memcpy(msg + len, sn, PASSWD_SERVER_NONCE_LEN);
	len += PASSWD_SERVER_NONCE_LEN;
	memcpy(msg + len, name, nlen);
	len += nlen;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    PASSWD_SERVER_KEY_LEN, msg, len, mac, PASSWD_SERVER_KEY_LEN,
	    &outl) == NULL || outl != PASSWD_SERVER_KEY_LEN) {
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		ERR_clear_error();
		return err_set(e, COFFER_EINTERNAL, "server proof: HMAC: %s",
		    buf);
	}
	return 0;
}

int
passwd_check_policy(const char *pw, struct err *e)
{
	size_t const len = strnlen(pw, PASSWD_LEN_MAX + 1);

	if (len < PASSWD_LEN_MIN || len > PASSWD_LEN_MAX)
		return err_set(e, COFFER_EINVAL, "password: %s: must be %d "
		    "to %d bytes long", len < PASSWD_LEN_MIN ? "too short" :
		    "too long", PASSWD_LEN_MIN, PASSWD_LEN_MAX);
	return 0;
}

/*
 * Open file and check it like ssh checks a private key: a regular file
 * with no group or other permission bits.  fstat after open, so the file
 * checked is the file read.  Returns the fd, or a negative code with
 * COFFER_ENOTFOUND for a missing file.
 */
static int
open_private(const char *file, struct err *e)
{
	struct stat st;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return err_sys(e, COFFER_ENOTFOUND,
			    "password file %s: open", file);
		return err_sys(e, COFFER_EIO, "password file %s: open", file);
	}
	if (fstat(fd, &st) != 0) {
		err_sys(e, COFFER_EIO, "password file %s: fstat", file);
		close(fd);
		return COFFER_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, COFFER_EINVAL,
		    "password file %s: not a regular file", file);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return err_set(e, COFFER_EINVAL, "password file %s: mode "
		    "%04o is too open: it must not be accessible by group or "
		    "others (chmod 600 %s)", file,
		    (unsigned int)(st.st_mode & 07777), file);
	}
	return fd;
}

/* First line of file into out; see passwd_read. */
static int
read_file_line(const char *file, char *out, size_t outlen, struct err *e)
{
	char buf[PASSWD_LEN_MAX + 2];
	size_t got = 0, len;
	char *nl;
	int fd, r = COFFER_EINTERNAL;

	if ((fd = open_private(file, e)) < 0)
		return fd;
	/* A password line is bounded; reading one byte more tells. */
	if ((r = util_read_full(fd, buf, sizeof(buf) - 1, &got, file, e)) != 0)
		goto out;
	buf[got] = '\0';
	if ((nl = memchr(buf, '\n', got)) != NULL)
		*nl = '\0';
	else if (got == sizeof(buf) - 1) {
		r = err_set(e, COFFER_ETOOBIG, "password file %s: first line "
		    "is longer than %d bytes", file, PASSWD_LEN_MAX);
		goto out;
	}
	len = strlen(buf);
	/* A file edited on Windows ends its line with "\r\n". */
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0) {
		r = err_set(e, COFFER_EINVAL,
		    "password file %s: first line is empty", file);
		goto out;
	}
	if (len >= outlen) {
		r = err_set(e, COFFER_ETOOBIG, "password file %s: password "
		    "of %zu bytes does not fit in %zu", file, len, outlen);
		goto out;
	}
	memcpy(out, buf, len + 1);
	r = 0;
 out:
	passwd_wipe(buf, sizeof(buf));
	close(fd);
	return r;
}

int
passwd_read(const char *envvar, const char *file, char *out, size_t outlen,
    struct err *e)
{
	const char *v = envvar != NULL ? getenv(envvar) : NULL;
	size_t len;
	int r;

	if (v != NULL && v[0] != '\0') {
		if ((len = strlen(v)) >= outlen)
			return err_set(e, COFFER_ETOOBIG, "password in $%s: "
			    "%zu bytes does not fit in %zu", envvar, len,
			    outlen);
		memcpy(out, v, len + 1);
		return 0;
	}
	if (file != NULL) {
		r = read_file_line(file, out, outlen, e);
		if (r != COFFER_ENOTFOUND)
			return r;
	}
	if (envvar != NULL && file != NULL)
		return err_set(e, COFFER_ENOTFOUND, "no password: $%s is "
		    "not set and %s does not exist", envvar, file);
	if (envvar != NULL)
		return err_set(e, COFFER_ENOTFOUND,
		    "no password: $%s is not set", envvar);
	if (file != NULL)
		return err_set(e, COFFER_ENOTFOUND,
		    "no password: %s does not exist", file);
	return err_set(e, COFFER_EINVAL,
	    "no password: neither a variable nor a file was given");
}

int
passwd_store(const char *file, const char *pw, struct err *e)
{
	size_t const len = strlen(pw);
	char *buf = NULL;
	int r = COFFER_EINTERNAL;

	if (strchr(pw, '\n') != NULL) {
		r = err_set(e, COFFER_EINVAL, "password file %s: password "
		    "contains a newline", file);
		goto out;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "password file %s: out of "
		    "memory", file);
		goto out;
	}
	memcpy(buf, pw, len);
	buf[len] = '\n';
	if ((r = util_write_atomic(file, buf, len + 1, 0600, e)) != 0)
		goto out;
	r = 0;
 out:
	if (buf != NULL) {
		passwd_wipe(buf, len + 1);
		free(buf);
	}
	return r;
}

void
passwd_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
