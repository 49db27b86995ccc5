/*
 * s3_sign.c - AWS Signature Version 4 for S3 requests.
 *
 * We sign ourselves rather than use CURLOPT_AWS_SIGV4: curl 7.88 (Debian
 * 12) does not put the payload's SHA-256 in x-amz-content-sha256, which
 * radosgw requires, and signing the real payload hash lets the store
 * reject a body damaged on the way.  The signed headers are host, range
 * (when present), x-amz-content-sha256 and x-amz-date; others a request
 * carries (Content-Length, Content-Type) are left unsigned, which SigV4
 * allows.  tests/unit/test_s3.c checks this against AWS's published
 * GET-object example.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3.h"

static void
to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
s3_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	to_hex(md, 32, out);
	return 0;
}

static int
hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
	    strlen(msg), out, &n) == NULL || n != 32)
		return -1;
	return 0;
}

int
s3_uri_encode(const char *s, int encode_slash, char *out, size_t len)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char const c = (unsigned char)*s;
		int const keep = (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' ||
		    (c == '/' && !encode_slash);

		if (o + (keep ? 1 : 3) >= len)
			return -1;
		if (keep) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	if (o >= len)
		return -1;
	out[o] = '\0';
	return 0;
}

int
s3_sign(const struct s3_sign_req *r, char *auth, size_t len)
{
	char creq[8192], sts[512], scope[128], hexd[65], sig[65], secret[300];
	char date8[9];
	const char *signed_hdrs = r->range != NULL ?
	    "host;range;x-amz-content-sha256;x-amz-date" :
	    "host;x-amz-content-sha256;x-amz-date";
	unsigned char k[32];
	char range_line[160] = "";
	int n;

	if (strlen(r->amz_date) != 16)
		return -1;
	memcpy(date8, r->amz_date, 8);
	date8[8] = '\0';
	if (r->range != NULL)
		snprintf(range_line, sizeof(range_line), "range:%s\n", r->range);
	n = snprintf(creq, sizeof(creq), "%s\n%s\n%s\nhost:%s\n%s"
	    "x-amz-content-sha256:%s\nx-amz-date:%s\n\n%s\n%s", r->method,
	    r->path, r->query, r->host, range_line, r->payload_sha256,
	    r->amz_date, signed_hdrs, r->payload_sha256);
	if (n < 0 || (size_t)n >= sizeof(creq))
		return -1;
	if (s3_sha256_hex(creq, (size_t)n, hexd) != 0)
		return -1;
	snprintf(scope, sizeof(scope), "%s/%s/s3/aws4_request", date8,
	    r->region);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date,
	    scope, hexd);
	n = snprintf(secret, sizeof(secret), "AWS4%s", r->secret_key);
	if (n < 0 || (size_t)n >= sizeof(secret))
		return -1;
	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), s3), req) */
	if (hmac(secret, (size_t)n, date8, k) != 0 ||
	    hmac(k, 32, r->region, k) != 0 || hmac(k, 32, "s3", k) != 0 ||
	    hmac(k, 32, "aws4_request", k) != 0 || hmac(k, 32, sts, k) != 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return -1;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	to_hex(k, 32, sig);
	OPENSSL_cleanse(k, sizeof(k));
	n = snprintf(auth, len, "AWS4-HMAC-SHA256 Credential=%s/%s,"
	    "SignedHeaders=%s,Signature=%s", r->access_key, scope, signed_hdrs,
	    sig);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}
