/*
 * secret.c - AES-256-GCM sealing under the instance's master key
 * (format in secret.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "secret.h"
#include "util.h"

#define KEY_LEN		32
#define NONCE_LEN	12
#define TAG_LEN		16

/* Read DIR/master.key, making it first if create and it is missing. */
static int
master_key(const char *dir, int create, uint8_t key[KEY_LEN], struct err *e)
{
	char path[4096];
	struct stat st;
	size_t got = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
	    errno == ENOENT && create) {
		if (RAND_bytes(key, KEY_LEN) != 1)
			return err_set(e, COFFER_EINTERNAL, "master key: no "
			    "random bytes");
		if ((r = util_write_atomic(path, key, KEY_LEN, 0600, e)) != 0) {
			OPENSSL_cleanse(key, KEY_LEN);
			return err_wrap(e, "master key %s", path);
		}
		(void)chmod(path, 0600);
		return 0;
	}
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? COFFER_ENOTFOUND :
		    COFFER_EIO, "master key %s", path);
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		return err_set(e, COFFER_EPERM, "master key %s: others may "
		    "read it (chmod 600 it)", path);
	}
	r = util_read_full(fd, key, KEY_LEN, &got, "master key", e);
	close(fd);
	if (r == 0 && got != KEY_LEN)
		r = err_set(e, COFFER_ECORRUPT, "master key %s: %zu bytes, "
		    "not %d", path, got, KEY_LEN);
	return r;
}

int
secret_seal(const char *dir, const char *owner, const char *plain,
    uint8_t *out, size_t cap, size_t *outlen, struct err *e)
{
	size_t const n = strlen(plain);
	uint8_t key[KEY_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	int len, r;

	if (n + SECRET_OVERHEAD > cap)
		return err_set(e, COFFER_ETOOBIG, "secret too long");
	if ((r = master_key(dir, 1, key, e)) != 0)
		return r;
	out[0] = 1;
	if (RAND_bytes(out + 1, NONCE_LEN) != 1) {
		r = err_set(e, COFFER_EINTERNAL, "seal: no random bytes");
		goto out;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    out + 1) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, (const uint8_t *)owner,
	    (int)strlen(owner)) != 1 ||
	    EVP_EncryptUpdate(ctx, out + 1 + NONCE_LEN, &len,
	    (const uint8_t *)plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + 1 + NONCE_LEN + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	    out + 1 + NONCE_LEN + n) != 1) {
		r = err_set(e, COFFER_EINTERNAL, "seal: AES-256-GCM failed");
		goto out;
	}
	*outlen = n + SECRET_OVERHEAD;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

int
secret_open(const char *dir, const char *owner, const uint8_t *blob,
    size_t len, char *plain, size_t cap, struct err *e)
{
	uint8_t key[KEY_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	size_t n;
	int olen, r;

	if (len < SECRET_OVERHEAD || blob[0] != 1)
		return err_set(e, COFFER_ECORRUPT, "sealed secret of %s: "
		    "unknown format", owner);
	n = len - SECRET_OVERHEAD;
	if (n + 1 > cap)
		return err_set(e, COFFER_ETOOBIG, "sealed secret of %s: too "
		    "long", owner);
	if ((r = master_key(dir, 0, key, e)) != 0)
		return r;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    blob + 1) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &olen, (const uint8_t *)owner,
	    (int)strlen(owner)) != 1 ||
	    EVP_DecryptUpdate(ctx, (uint8_t *)plain, &olen,
	    blob + 1 + NONCE_LEN, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	    (void *)(blob + 1 + NONCE_LEN + n)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (uint8_t *)plain + olen, &olen) != 1) {
		OPENSSL_cleanse(plain, cap);
		r = err_set(e, COFFER_ECORRUPT, "sealed secret of %s does not "
		    "open with %s/master.key (altered, or another instance's "
		    "key)", owner, dir);
		goto out;
	}
	plain[n] = '\0';
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}
