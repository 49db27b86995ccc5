/*
 * passwd.h - password hashing, policy, and password files.
 *
 * Node, admin and server passwords are stored as a self-describing string
 *
 *	scrypt$<log2 N>$<r>$<p>$<salt hex>$<key hex>
 *
 * e.g. "scrypt$14$8$1$<32 hex digits>$<64 hex digits>": a 16-byte random
 * salt and a 32-byte scrypt key.  The parameters travel with the hash, so
 * raising the cost later leaves old hashes verifiable.  The format is
 * stored in the catalog: never change the meaning of a field, add a new
 * scheme name instead.
 *
 * Plaintext passwords are NUL-terminated strings owned by the caller;
 * callers wipe them with passwd_wipe() when done.
 */
#ifndef COFFER_PASSWD_H
#define COFFER_PASSWD_H

#include <stddef.h>
#include <stdint.h>

struct err;

/* Size of an encoded hash including its NUL (the string is 111 bytes). */
#define PASSWD_HASH_MAX		128

/* Policy: a password is 8 to 256 bytes. */
#define PASSWD_LEN_MIN		8
#define PASSWD_LEN_MAX		256
/* Buffer for a password read by passwd_read(): the longest plus NUL. */
#define PASSWD_BUF_MAX		(PASSWD_LEN_MAX + 1)

/*
 * Hash pw with a fresh random salt into out (outlen >= PASSWD_HASH_MAX).
 * Takes tens of milliseconds by design.  Returns 0, COFFER_EINVAL for a
 * small buffer, or COFFER_EINTERNAL when OpenSSL fails.
 */
int passwd_hash(const char *pw, char *out, size_t outlen, struct err *e);

/*
 * Check pw against an encoded hash.  Returns 0 on a match, COFFER_EAUTH on
 * a mismatch, COFFER_ECORRUPT for an encoding that does not parse or whose
 * parameters are out of bounds (log2 N <= 20, r <= 32, p <= 16, at most
 * 1 GiB of memory), so a damaged catalog cannot stall a login for ever.
 */
int passwd_verify(const char *pw, const char *encoded, struct err *e);

/* 0 when pw satisfies the policy, else COFFER_EINVAL saying the rule. */
int passwd_check_policy(const char *pw, struct err *e);

/*
 * Read a password into out (outlen bytes including the NUL): from the
 * environment variable envvar when it is set and not empty, else from the
 * first line of file (trailing newline stripped).  The file must be a
 * regular file without any group or other permission bits, like an ssh
 * private key.  Either envvar or file may be NULL.  Returns 0,
 * COFFER_ENOTFOUND when neither provides one, COFFER_EINVAL for a file
 * that is too open, not regular or empty, COFFER_ETOOBIG when the password
 * does not fit, COFFER_EIO when the file cannot be read.
 */
int passwd_read(const char *envvar, const char *file, char *out,
    size_t outlen, struct err *e);

/*
 * Store pw followed by a newline in file, mode 0600, atomically replacing
 * any previous file (for a client that keeps its generated password).
 * pw must not contain a newline.
 */
int passwd_store(const char *file, const char *pw, struct err *e);

/*
 * Server-to-server authentication (proto.h, PROTO_KIND_SERVER).
 *
 * The key two servers share is scrypt(password, salt), N = 2^14, r = 8,
 * p = 1, 32 bytes, with salt = "coffer-server-key:" followed by the two
 * server names upper-cased, sorted (strcmp) and joined by ':'.  Each
 * administrator types the password in its own DEFINE SERVER for the
 * other, both servers derive the same key whichever way round, and only
 * the key is stored.  The names are in the salt so that one password
 * used with several partners still gives each pair its own key.
 * Returns 0, COFFER_EINVAL for an empty or over-long name or password,
 * COFFER_EINTERNAL when OpenSSL fails.  Slow by design (tens of ms).
 */
#define PASSWD_SERVER_KEY_LEN	32
#define PASSWD_SERVER_NONCE_LEN	32
int passwd_server_key(const char *password, const char *name_a,
    const char *name_b, uint8_t key[PASSWD_SERVER_KEY_LEN], struct err *e);

/*
 * The proofs of the server handshake: HMAC-SHA256(key, role || cn || sn
 * || name), role 'T' for the target (name: the target's own name) and
 * 'S' for the source (name: the source's name), cn and sn the nonces of
 * the source and the target.  name is used as given: callers upper-case.
 */
int passwd_server_mac(const uint8_t key[PASSWD_SERVER_KEY_LEN], char role,
    const uint8_t cn[PASSWD_SERVER_NONCE_LEN],
    const uint8_t sn[PASSWD_SERVER_NONCE_LEN], const char *name,
    uint8_t mac[PASSWD_SERVER_KEY_LEN], struct err *e);

/* Overwrite n bytes at p with zeros in a way the compiler keeps. */
void passwd_wipe(void *p, size_t n);

#endif
