/*
 * hash.h - SHA-256 chunk names through OpenSSL EVP.
 *
 * A chunk is named by the SHA-256 of its plaintext: the same data has the
 * same name on every server, which is what lets backup, replication and
 * import deduplicate.  struct hash_ctx holds a fetched EVP_MD and an
 * EVP_MD_CTX; make one per thread and reuse it (fetching per call costs a
 * provider lookup).
 */
#ifndef COFFER_HASH_H
#define COFFER_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN	32
#define HASH_HEX_LEN	64

struct hash_ctx;
struct err;

/* New context; NULL with e set when OpenSSL fails.  Not thread-safe. */
struct hash_ctx *hash_ctx_new(struct err *e);
void hash_ctx_free(struct hash_ctx *h);	/* accepts NULL */

/* out = SHA-256(p[0..n)).  Returns 0 or COFFER_EINTERNAL. */
int hash_sha256(struct hash_ctx *h, const void *p, size_t n,
    uint8_t out[HASH_LEN]);

/* Lower-case hex of a hash into out (HASH_HEX_LEN + 1 bytes). */
void hash_to_hex(const uint8_t h[HASH_LEN], char out[HASH_HEX_LEN + 1]);

/* Parse HASH_HEX_LEN hex digits; returns 0 or COFFER_EINVAL. */
int hash_from_hex(const char *hex, uint8_t out[HASH_LEN]);

#endif
