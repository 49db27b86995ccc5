/*
 * vol_crypt.c - sealing of an encrypted set: AES-256-GCM under
 * key = scrypt(passphrase, salt), N = 2^15, r = 8, p = 1 (the parameters
 * travel in every label, so they can be raised later).
 *
 * Nonce (12 bytes) = SHA-256(set UUID)[0..4) || u64 LE counter.  The salt
 * is random per set, so every set has its own key; within a set each
 * counter is used once: data block n (set-wide, never reused across
 * volumes) uses n, a volume's label 2^62 | seq, its end label
 * 2^63 | seq, the key check value 2^64 - 1 (vol_int.h VOL_CTR_*).  The
 * UUID prefix is not needed for uniqueness under one key; it binds the
 * nonce to the set as well, at no cost.
 *
 * The key check value (KCV) is the GCM tag of an empty message with the
 * AAD "coffer key check" || set UUID: it tells a wrong passphrase apart
 * from a damaged block without giving away anything about the key.
 *
 * scrypt is done once per set (about 0.15-0.25 s and 32 MiB here): the
 * reader derives the key from the first volume's label and checks that
 * the others carry the same salt and parameters.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "err.h"
#include "passwd.h"
#include "util.h"
#include "vol_int.h"

#define KEY_LEN		32
#define NONCE_LEN	12

struct vol_crypt {
	EVP_CIPHER	*cipher;
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 key[KEY_LEN];
	uint8_t		 prefix[4];
	uint8_t		 set_uuid[16];
};

static int
ossl_err(struct err *e, const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	return err_set(e, COFFER_EINTERNAL, "volume crypto: %s: %s", what,
	    buf);
}

static int
derive(const char *pass, const uint8_t salt[VOL_SALT_LEN], unsigned log_n,
    unsigned r, unsigned p, uint8_t key[KEY_LEN], struct err *e)
{
	uint64_t const n = (uint64_t)1 << log_n;
	/* OpenSSL's default limit (32 MiB) is below what N = 2^15 needs. */
	uint64_t const mem = 128 * (uint64_t)r * (n + 2) +
	    128 * (uint64_t)r * p + ((uint64_t)1 << 20);

	if (EVP_PBE_scrypt(pass, strlen(pass), salt, VOL_SALT_LEN, n, r, p,
	    mem, key, KEY_LEN) != 1)
		return ossl_err(e, "scrypt");
	return 0;
}

int
vol_crypt_new(const char *passphrase, const uint8_t salt[VOL_SALT_LEN],
    unsigned log_n, unsigned r, unsigned p, const uint8_t set_uuid[16],
    struct vol_crypt **out, struct err *e)
{
	struct vol_crypt *c = NULL;
	uint8_t h[32];
	int rc = COFFER_EINTERNAL;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(e, COFFER_ENOMEM, "volume crypto: out of memory");
	if ((c->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (c->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		rc = ossl_err(e, "AES-256-GCM");
		goto out;
	}
	if (EVP_Digest(set_uuid, 16, h, NULL, EVP_sha256(), NULL) != 1) {
		rc = ossl_err(e, "SHA-256");
		goto out;
	}
	memcpy(c->prefix, h, sizeof(c->prefix));
	memcpy(c->set_uuid, set_uuid, 16);
	if ((rc = derive(passphrase, salt, log_n, r, p, c->key, e)) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	vol_crypt_free(c);
	return rc;
}

void
vol_crypt_free(struct vol_crypt *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	EVP_CIPHER_free(c->cipher);
	passwd_wipe(c->key, sizeof(c->key));
	free(c);
}

static void
nonce(const struct vol_crypt *c, uint64_t ctr, uint8_t n[NONCE_LEN])
{
	memcpy(n, c->prefix, 4);
	util_put_le64(n + 4, ctr);
}

int
vol_crypt_seal(struct vol_crypt *c, uint64_t ctr, const uint8_t *aad,
    size_t aadlen, uint8_t *buf, size_t n, uint8_t tag[VOL_TAG_LEN],
    struct err *e)
{
	uint8_t iv[NONCE_LEN], fin[VOL_TAG_LEN];
	int outl;

	nonce(c, ctr, iv);
	if (EVP_EncryptInit_ex2(c->ctx, c->cipher, c->key, iv, NULL) != 1 ||
	    (aadlen > 0 && EVP_EncryptUpdate(c->ctx, NULL, &outl, aad,
	    (int)aadlen) != 1) ||
	    (n > 0 && EVP_EncryptUpdate(c->ctx, buf, &outl, buf,
	    (int)n) != 1) ||
	    EVP_EncryptFinal_ex(c->ctx, fin, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, VOL_TAG_LEN,
	    tag) != 1)
		return ossl_err(e, "seal");
	return 0;
}

int
vol_crypt_open(struct vol_crypt *c, uint64_t ctr, const uint8_t *aad,
    size_t aadlen, uint8_t *buf, size_t n, const uint8_t tag[VOL_TAG_LEN],
    struct err *e)
{
	uint8_t iv[NONCE_LEN], t[VOL_TAG_LEN], fin[VOL_TAG_LEN];
	int outl;

	nonce(c, ctr, iv);
	memcpy(t, tag, sizeof(t));	/* SET_TAG takes a non-const pointer */
	if (EVP_DecryptInit_ex2(c->ctx, c->cipher, c->key, iv, NULL) != 1 ||
	    (aadlen > 0 && EVP_DecryptUpdate(c->ctx, NULL, &outl, aad,
	    (int)aadlen) != 1) ||
	    (n > 0 && EVP_DecryptUpdate(c->ctx, buf, &outl, buf,
	    (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, VOL_TAG_LEN,
	    t) != 1)
		return ossl_err(e, "open");
	if (EVP_DecryptFinal_ex(c->ctx, fin, &outl) <= 0) {
		ERR_clear_error();
		return err_set(e, COFFER_ECORRUPT, "failed authentication");
	}
	return 0;
}

int
vol_crypt_kcv(struct vol_crypt *c, uint8_t kcv[VOL_TAG_LEN], struct err *e)
{
	static const char what[] = "coffer key check";
	uint8_t aad[sizeof(what) - 1 + 16];

	memcpy(aad, what, sizeof(what) - 1);
	memcpy(aad + sizeof(what) - 1, c->set_uuid, 16);
	return vol_crypt_seal(c, VOL_CTR_KCV, aad, sizeof(aad), NULL, 0, kcv,
	    e);
}
