/*
 * hash.c - SHA-256 chunk names through OpenSSL 3 EVP.
 *
 * The digest is fetched explicitly once per context: the implicit
 * EVP_sha256() path repeats a provider lookup on every init, which shows up
 * when hashing many small chunks.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "err.h"
#include "hash.h"

struct hash_ctx {
	EVP_MD		*md;	/* fetched SHA-256, owned */
	EVP_MD_CTX	*ctx;	/* reused for every digest, owned */
};

/* Set e from the newest OpenSSL error and empty OpenSSL's error queue. */
static int
ssl_err(struct err *e, int code, const char *what)
{
	char buf[256];
	unsigned long const l = ERR_peek_last_error();

	if (l == 0)
		snprintf(buf, sizeof(buf), "unknown OpenSSL error");
	else
		ERR_error_string_n(l, buf, sizeof(buf));
	ERR_clear_error();
	return err_set(e, code, "sha256: %s: %s", what, buf);
}

struct hash_ctx *
hash_ctx_new(struct err *e)
{
	struct hash_ctx *h = NULL, *ret = NULL;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		err_set(e, COFFER_ENOMEM, "sha256: context: out of memory");
		goto out;
	}
	if ((h->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		ssl_err(e, COFFER_EINTERNAL, "EVP_MD_fetch");
		goto out;
	}
	if ((h->ctx = EVP_MD_CTX_new()) == NULL) {
		ssl_err(e, COFFER_ENOMEM, "EVP_MD_CTX_new");
		goto out;
	}
	ret = h;
	h = NULL;
 out:
	hash_ctx_free(h);
	return ret;
}

void
hash_ctx_free(struct hash_ctx *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

int
hash_sha256(struct hash_ctx *h, const void *p, size_t n,
    uint8_t out[HASH_LEN])
{
	unsigned int len = 0;

	if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &len) != 1 ||
	    len != HASH_LEN) {
		/* Nobody reads the queue here; keep it from growing. */
		ERR_clear_error();
		return COFFER_EINTERNAL;
	}
	return 0;
}

void
hash_to_hex(const uint8_t h[HASH_LEN], char out[HASH_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 0x0f];
	}
	out[HASH_HEX_LEN] = '\0';
}

/* Value of one hex digit, either case, or -1. */
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

/* out is written only when the whole string is valid. */
int
hash_from_hex(const char *hex, uint8_t out[HASH_LEN])
{
	uint8_t tmp[HASH_LEN];
	int hi, lo;
	size_t i;

	if (hex == NULL || strnlen(hex, HASH_HEX_LEN + 1) != HASH_HEX_LEN)
		return COFFER_EINVAL;
	for (i = 0; i < HASH_LEN; i++) {
		if ((hi = hex_digit(hex[2 * i])) < 0 ||
		    (lo = hex_digit(hex[2 * i + 1])) < 0)
			return COFFER_EINVAL;
		tmp[i] = (uint8_t)((hi << 4) | lo);
	}
	memcpy(out, tmp, HASH_LEN);
	return 0;
}
