/*
 * secret.h - secrets the server must use again (an S3 secret key), kept
 * encrypted at rest in the catalog.
 *
 * The key is DIR/master.key: 32 random bytes made on first use, mode
 * 0600, never in the catalog (a stolen catalog or DB backup alone does
 * not give the secret away).  A sealed secret is
 *   1 byte version (1) | 12 bytes nonce | ciphertext | 16 bytes GCM tag
 * with AES-256-GCM and the secret's owner (a pool name) as associated
 * data, so a blob copied to another row does not open.
 */
#ifndef COFFER_SECRET_H
#define COFFER_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define SECRET_OVERHEAD	(1 + 12 + 16)

int secret_seal(const char *dir, const char *owner, const char *plain,
    uint8_t *out, size_t cap, size_t *outlen, struct err *e);
/* plain gets the secret NUL-terminated; cap includes the NUL. */
int secret_open(const char *dir, const char *owner, const uint8_t *blob,
    size_t len, char *plain, size_t cap, struct err *e);

#endif
