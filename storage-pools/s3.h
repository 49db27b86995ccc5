/*
 * s3.h - a small S3 client (Ceph RADOS Gateway, or any S3 store).
 *
 * libcurl does HTTP and TLS; requests are signed with AWS Signature
 * Version 4 by s3_sign(), with the payload's SHA-256 in
 * x-amz-content-sha256 (radosgw checks it).  Path-style addressing
 * (http(s)://HOST:PORT/BUCKET/KEY): radosgw and most private stores
 * expect it.  A struct s3 may be shared by threads; each request borrows
 * an easy handle from a small pool, so connections are kept alive and
 * reused.  5xx answers and connection errors are retried with
 * exponential backoff, a bounded number of times.
 *
 * Errors name the problem: COFFER_EAUTH "wrong access key or secret",
 * COFFER_ENOTFOUND for a missing bucket (naming it) or object.
 */
#ifndef COFFER_S3_H
#define COFFER_S3_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct s3;

#define S3_HOST_MAX	256
#define S3_BUCKET_MAX	64	/* S3's limit is 63 */
#define S3_KEY_MAX	256	/* access key id or secret */

/* A parsed endpoint: http(s)://HOST[:PORT][/] and nothing more. */
struct s3_url {
	int	tls;
	char	host[S3_HOST_MAX];
	int	port;
};
int s3_url_parse(const char *url, struct s3_url *u, struct err *e);

/* A bucket name S3 accepts: 3..63 of [a-z0-9.-], starting alphanumeric. */
int s3_bucket_name_check(const char *name, struct err *e);

struct s3_conf {
	const char	*url;		/* http(s)://HOST:PORT */
	const char	*bucket;
	const char	*access_key;
	const char	*secret_key;
	const char	*cafile;	/* NULL: the system's CA store */
	const char	*region;	/* NULL: us-east-1 (radosgw's default) */
	int		 retries;	/* 0: the default (5) */
};

struct s3 *s3_new(const struct s3_conf *c, struct err *e);
void s3_free(struct s3 *s);		/* accepts NULL */

/*
 * Replace the key and the CA file (NULL or "": the system's store) of a
 * client in use: requests signed from now on use them (UPDATE STGPOOL).
 */
int s3_set_credentials(struct s3 *s, const char *access_key,
    const char *secret_key, const char *cafile, struct err *e);

/*
 * Send requests from now on to url (http(s)://HOST:PORT), the same bucket
 * behind another address (UPDATE STGPOOL CLOUDURL=).  A request already
 * built goes on to the old endpoint; its retries, and every request after,
 * go to the new one: each attempt is built from one endpoint, never half
 * of each.  The caller checks first that url serves this bucket.
 */
int s3_set_endpoint(struct s3 *s, const char *url, struct err *e);

/*
 * The endpoint and bucket, for messages: "http://h:p/bucket"; valid until
 * s3_free().
 */
const char *s3_where(struct s3 *s);

/*
 * Check that the credentials work and the bucket exists (a one-key
 * listing, which also proves the right to read it).  With create, a
 * missing bucket is created.
 */
int s3_bucket_check(struct s3 *s, int create, struct err *e);

/* PUT an object from memory (single request). */
int s3_put(struct s3 *s, const char *key, const void *p, size_t n,
    struct err *e);

/*
 * PUT an object of size bytes read from fd at offset 0: one request up
 * to S3_SINGLE_MAX, a multipart upload of S3_PART_SIZE parts above.
 */
#define S3_SINGLE_MAX	(64u << 20)
#define S3_PART_SIZE	(16u << 20)
int s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t size,
    struct err *e);

/* Multipart upload, step by step (s3_put_fd uses these). */
int s3_mpu_start(struct s3 *s, const char *key, char *upload_id,
    size_t len, struct err *e);
/* part: 1..10000; etag (quoted, as S3 returns it) goes to etag. */
int s3_mpu_part(struct s3 *s, const char *key, const char *upload_id,
    int part, const void *p, size_t n, char *etag, size_t etag_len,
    struct err *e);
int s3_mpu_complete(struct s3 *s, const char *key, const char *upload_id,
    char (*etags)[80], int nparts, struct err *e);
void s3_mpu_abort(struct s3 *s, const char *key, const char *upload_id);

/*
 * Ranged GET of [off, off+n): *got gets the bytes returned, fewer than n
 * only at the object's end.  COFFER_ENOTFOUND when the object is absent.
 */
int s3_get(struct s3 *s, const char *key, uint64_t off, void *p, size_t n,
    size_t *got, struct err *e);

/* Object size; COFFER_ENOTFOUND when absent. */
int s3_head(struct s3 *s, const char *key, uint64_t *size, struct err *e);

/* DELETE; an absent object is not an error. */
int s3_delete(struct s3 *s, const char *key, struct err *e);

/* ListObjectsV2 of keys under prefix, following continuation tokens. */
typedef int (*s3_list_cb)(void *arg, const char *key, uint64_t size,
    struct err *e);
int s3_list(struct s3 *s, const char *prefix, s3_list_cb cb, void *arg,
    struct err *e);

/* Requests made so far (all kinds, retries included): for tests, bench. */
uint64_t s3_requests(const struct s3 *s);

/* ---- helpers (s3_sign.c, s3_xml.c), public for unit tests ---- */

/*
 * URI-encode s as SigV4 wants: unreserved characters kept, every other
 * byte %XX (upper case); '/' kept unless encode_slash.  0, or -1 when out
 * is too small.
 */
int s3_uri_encode(const char *s, int encode_slash, char *out, size_t len);

struct s3_sign_req {
	const char	*method;	/* GET, PUT, ... */
	const char	*host;		/* Host header value (with :port) */
	const char	*path;		/* canonical URI, already encoded */
	const char	*query;		/* canonical query string, or "" */
	const char	*range;		/* Range header value, or NULL */
	const char	*payload_sha256;	/* lower-case hex */
	const char	*amz_date;	/* YYYYMMDDTHHMMSSZ */
	const char	*region;
	const char	*access_key;
	const char	*secret_key;
};

/* The Authorization header's value; 0, or -1 on a crypto failure. */
int s3_sign(const struct s3_sign_req *r, char *auth, size_t len);

/* SHA-256 of p as lower-case hex (65 bytes with the NUL). */
int s3_sha256_hex(const void *p, size_t n, char out[65]);

/*
 * The text of the first <tag>...</tag> at or after *pos in xml (entities
 * decoded), *pos moved past it.  1 found, 0 not found, -1 too long for
 * out.
 */
int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag,
    char *out, size_t outlen);

#endif
