/*
 * s3.c - S3 requests over libcurl (interface in s3.h).
 *
 * Every request goes through do_req(): it borrows an easy handle (each
 * keeps its connection alive, so a restore's thousands of ranged GETs
 * reuse a few TCP/TLS connections), signs the request afresh on every
 * attempt (the date is part of the signature) and retries 5xx answers and
 * transport errors with exponential backoff.  The body of an error answer
 * is kept (bounded) so that its <Code> can name the problem.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "err.h"
#include "s3.h"
#include "util.h"

#define S3_HANDLES	16		/* idle easy handles kept */
#define S3_XML_MAX	(1u << 20)	/* largest XML answer accepted */
#define S3_RETRIES	5
#define S3_BACKOFF_MS	100		/* first retry's wait, doubled */
#define S3_BACKOFF_MAX	3200

/*
 * Where requests go.  Never changed once made: s3_set_endpoint() puts a
 * new one in place and keeps the old until s3_free(), so a request that
 * took a pointer (for its URL, Host header and messages) sees one
 * endpoint throughout, and a message naming it stays valid.
 */
struct s3_ep {
	struct s3_url	 u;
	char		 base[S3_HOST_MAX + 32];	/* scheme://host:port */
	char		 hosthdr[S3_HOST_MAX + 8];	/* host:port */
	char		 where[S3_HOST_MAX + S3_BUCKET_MAX + 40];
	struct s3_ep	*older;		/* retired endpoints, freed last */
};

struct s3 {
	struct s3_ep	*ep;		/* guarded by lock; see ep_get() */
	char		 bucket[S3_BUCKET_MAX];
	char		 access[S3_KEY_MAX];
	char		 secret[S3_KEY_MAX];
	char		 region[64];
	char		*cafile;
	int		 retries;
	pthread_mutex_t	 lock;
	CURL		*idle[S3_HANDLES];
	int		 nidle;
	uint64_t	 nreq;
};

struct buf {
	char	*p;
	size_t	 len, cap;
};

struct req {
	const char	*method;
	const char	*key;		/* NULL: the bucket itself */
	const char	*query;		/* canonical query string or "" */
	const void	*body;
	size_t		 blen;
	size_t		 bpos;
	uint64_t	 roff;
	size_t		 rlen;		/* 0: no Range */
	uint8_t		*dst;		/* 2xx body goes here (GET) ... */
	size_t		 dcap, dlen;
	struct buf	 xml;		/* ... or here (and error bodies) */
	long		 status;
	char		 etag[80];
	uint64_t	 clen;
	int		 have_clen;
	int		 overflow;
	int		 once;		/* no retries (best-effort cleanup) */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void
curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* ---- endpoint and names ---- */

int
s3_url_parse(const char *url, struct s3_url *u, struct err *e)
{
	const char *h, *end, *colon;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		h = url + 8;
		u->port = 443;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		h = url + 7;
		u->port = 80;
	} else {
		return err_set(e, COFFER_EINVAL, "CLOUDURL %s: must start "
		    "with http:// or https://", url);
	}
	end = h + strcspn(h, "/?#");
	if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0'))
		return err_set(e, COFFER_EINVAL, "CLOUDURL %s: give only "
		    "http(s)://HOST:PORT (the bucket is BUCKET=)", url);
	if (memchr(h, '@', (size_t)(end - h)) != NULL)
		return err_set(e, COFFER_EINVAL, "CLOUDURL %s: no user "
		    "name in the URL (use IDENTITY= and PASSWORD=)", url);
	colon = memchr(h, ':', (size_t)(end - h));
	hl = (size_t)((colon ? colon : end) - h);
	if (hl == 0 || hl >= sizeof(u->host))
		return err_set(e, COFFER_EINVAL, "CLOUDURL %s: no host name",
		    url);
	for (size_t i = 0; i < hl; i++) {
		char const c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return err_set(e, COFFER_EINVAL, "CLOUDURL %s: bad "
			    "character in host name", url);
	}
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	if (colon != NULL) {
		char *pe;
		long p;

		errno = 0;
		p = strtol(colon + 1, &pe, 10);
		if (pe != end || colon + 1 == end || errno != 0 || p < 1 ||
		    p > 65535)
			return err_set(e, COFFER_EINVAL, "CLOUDURL %s: port "
			    "must be 1..65535", url);
		u->port = (int)p;
	}
	return 0;
}

int
s3_bucket_name_check(const char *name, struct err *e)
{
	size_t const n = strlen(name);

	if (n < 3 || n > 63)
		return err_set(e, COFFER_EINVAL, "BUCKET %s: must be 3 to 63 "
		    "characters", name);
	for (size_t i = 0; i < n; i++) {
		char const c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    ((c == '.' || c == '-') && i > 0 && i < n - 1)))
			return err_set(e, COFFER_EINVAL, "BUCKET %s: only "
			    "lower-case letters, digits, '.' and '-' (not at "
			    "either end)", name);
	}
	return 0;
}

/* ---- the client ---- */

static int
copy_str(char *dst, size_t len, const char *src, const char *what,
    struct err *e)
{
	if (src == NULL || strlen(src) >= len)
		return err_set(e, COFFER_EINVAL, "S3 %s %s", what,
		    src == NULL ? "missing" : "too long");
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* A new endpoint for url and bucket; NULL after reporting. */
static struct s3_ep *
ep_new(const char *url, const char *bucket, struct err *e)
{
	struct s3_ep *ep;

	if ((ep = calloc(1, sizeof(*ep))) == NULL) {
		err_set(e, COFFER_ENOMEM, "S3 client: out of memory");
		return NULL;
	}
	if (s3_url_parse(url, &ep->u, e) != 0) {
		free(ep);
		return NULL;
	}
	snprintf(ep->hosthdr, sizeof(ep->hosthdr), "%s:%d", ep->u.host,
	    ep->u.port);
	snprintf(ep->base, sizeof(ep->base), "%s://%s", ep->u.tls ? "https" :
	    "http", ep->hosthdr);
	snprintf(ep->where, sizeof(ep->where), "%s/%s", ep->base, bucket);
	return ep;
}

static void
ep_free_all(struct s3_ep *ep)
{
	while (ep != NULL) {
		struct s3_ep *const o = ep->older;

		free(ep);
		ep = o;
	}
}

/* The endpoint in use now; valid until s3_free(). */
static const struct s3_ep *
ep_get(struct s3 *s)
{
	const struct s3_ep *ep;

	pthread_mutex_lock(&s->lock);
	ep = s->ep;
	pthread_mutex_unlock(&s->lock);
	return ep;
}

struct s3 *
s3_new(const struct s3_conf *c, struct err *e)
{
	struct s3 *s;

	pthread_once(&curl_once, curl_init_once);
	if (!curl_ok) {
		err_set(e, COFFER_EINTERNAL, "libcurl failed to initialize");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(e, COFFER_ENOMEM, "S3 client: out of memory");
		return NULL;
	}
	if (s3_bucket_name_check(c->bucket, e) != 0 ||
	    copy_str(s->bucket, sizeof(s->bucket), c->bucket, "bucket",
	    e) != 0 ||
	    copy_str(s->access, sizeof(s->access), c->access_key,
	    "access key", e) != 0 ||
	    copy_str(s->secret, sizeof(s->secret), c->secret_key,
	    "secret key", e) != 0 ||
	    copy_str(s->region, sizeof(s->region), c->region ? c->region :
	    "us-east-1", "region", e) != 0)
		goto fail;
	if (c->cafile != NULL && c->cafile[0] != '\0' &&
	    (s->cafile = strdup(c->cafile)) == NULL) {
		err_set(e, COFFER_ENOMEM, "S3 client: out of memory");
		goto fail;
	}
	if ((s->ep = ep_new(c->url, c->bucket, e)) == NULL)
		goto fail;
	s->retries = c->retries > 0 ? c->retries : S3_RETRIES;
	pthread_mutex_init(&s->lock, NULL);
	return s;
fail:
	ep_free_all(s->ep);
	free(s->cafile);
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	free(s);
	return NULL;
}

void
s3_free(struct s3 *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nidle; i++)
		curl_easy_cleanup(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	ep_free_all(s->ep);
	free(s->cafile);
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	free(s);
}

int
s3_set_credentials(struct s3 *s, const char *access_key,
    const char *secret_key, const char *cafile, struct err *e)
{
	char *ca = NULL, *old;

	if (access_key == NULL || strlen(access_key) >= sizeof(s->access) ||
	    secret_key == NULL || strlen(secret_key) >= sizeof(s->secret))
		return err_set(e, COFFER_EINVAL, "S3 access key or secret "
		    "missing or too long");
	if (cafile != NULL && cafile[0] != '\0' &&
	    (ca = strdup(cafile)) == NULL)
		return err_set(e, COFFER_ENOMEM, "S3 client: out of memory");
	pthread_mutex_lock(&s->lock);
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	memcpy(s->access, access_key, strlen(access_key) + 1);
	memcpy(s->secret, secret_key, strlen(secret_key) + 1);
	old = s->cafile;
	s->cafile = ca;
	pthread_mutex_unlock(&s->lock);
	free(old);
	return 0;
}

int
s3_set_endpoint(struct s3 *s, const char *url, struct err *e)
{
	struct s3_ep *ep;

	if ((ep = ep_new(url, s->bucket, e)) == NULL)
		return e != NULL ? e->code : COFFER_EINVAL;
	pthread_mutex_lock(&s->lock);
	ep->older = s->ep;
	s->ep = ep;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

const char *
s3_where(struct s3 *s)
{
	return ep_get(s)->where;
}

uint64_t
s3_requests(const struct s3 *s)
{
	return __atomic_load_n(&s->nreq, __ATOMIC_RELAXED);
}

static CURL *
handle_get(struct s3 *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->nidle > 0)
		h = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->lock);
	return h != NULL ? h : curl_easy_init();
}

static void
handle_put(struct s3 *s, CURL *h)
{
	pthread_mutex_lock(&s->lock);
	if (s->nidle < S3_HANDLES) {
		s->idle[s->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* ---- one request ---- */

static int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > S3_XML_MAX)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static size_t
on_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct req *q = arg;
	size_t const n = sz * nm;

	if (q->dst != NULL && q->status >= 200 && q->status < 300) {
		if (q->dlen + n > q->dcap) {
			q->overflow = 1;
			return 0;
		}
		memcpy(q->dst + q->dlen, p, n);
		q->dlen += n;
		return n;
	}
	return buf_add(&q->xml, p, n) == 0 ? n : 0;
}

static size_t
on_read(char *p, size_t sz, size_t nm, void *arg)
{
	struct req *q = arg;
	size_t n = sz * nm;

	if (n > q->blen - q->bpos)
		n = q->blen - q->bpos;
	memcpy(p, (const uint8_t *)q->body + q->bpos, n);
	q->bpos += n;
	return n;
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct req *q = arg;
	size_t const n = sz * nm;

	if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new status line (after 100 Continue): start over. */
		const char *sp = memchr(p, ' ', n);

		q->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		q->etag[0] = '\0';
		q->have_clen = 0;
	} else if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		size_t i = 5, j;

		while (i < n && p[i] == ' ')
			i++;
		for (j = n; j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' ||
		    p[j - 1] == ' '); j--)
			;
		if (j - i < sizeof(q->etag)) {
			memcpy(q->etag, p + i, j - i);
			q->etag[j - i] = '\0';
		}
	} else if (n > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
		q->clen = strtoull(p + 15, NULL, 10);
		q->have_clen = 1;
	}
	return n;
}

static void
amz_now(char out[17])
{
	time_t const t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Set up h for one attempt of q; headers built into *hl. */
static int
prepare(struct s3 *s, CURL *h, struct req *q, const char *payload_hash,
    struct curl_slist **hl, struct err *e)
{
	char path[1024], url[1600], enc[900], date[17], auth[512],
	    range[96], line[700];
	struct s3_sign_req sr;
	struct curl_slist *l = NULL;
	const struct s3_ep *const ep = ep_get(s);
	int signed_ok;

	if (q->key != NULL) {
		if (s3_uri_encode(q->key, 0, enc, sizeof(enc)) != 0)
			return err_set(e, COFFER_EINVAL, "S3 key too long");
		snprintf(path, sizeof(path), "/%s/%s", s->bucket, enc);
	} else {
		snprintf(path, sizeof(path), "/%s", s->bucket);
	}
	snprintf(url, sizeof(url), "%s%s%s%s", ep->base, path,
	    q->query[0] ? "?" : "", q->query);
	amz_now(date);
	if (q->rlen > 0)
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
		    q->roff, q->roff + q->rlen - 1);
	memset(&sr, 0, sizeof(sr));
	sr.method = q->method;
	sr.host = ep->hosthdr;
	sr.path = path;
	sr.query = q->query;
	sr.range = q->rlen > 0 ? range : NULL;
	sr.payload_sha256 = payload_hash;
	sr.amz_date = date;
	sr.region = s->region;
	/* Under the lock: UPDATE STGPOOL may change the key meanwhile. */
	pthread_mutex_lock(&s->lock);
	sr.access_key = s->access;
	sr.secret_key = s->secret;
	signed_ok = s3_sign(&sr, auth, sizeof(auth)) == 0;
	pthread_mutex_unlock(&s->lock);
	if (!signed_ok)
		return err_set(e, COFFER_EINTERNAL, "S3: signing failed");
#define ADD(...) do {							\
	struct curl_slist *nl;						\
	snprintf(line, sizeof(line), __VA_ARGS__);			\
	if ((nl = curl_slist_append(l, line)) == NULL)			\
		goto nomem;						\
	l = nl;								\
} while (0)
	ADD("Host: %s", ep->hosthdr);
	ADD("x-amz-date: %s", date);
	ADD("x-amz-content-sha256: %s", payload_hash);
	ADD("Authorization: %s", auth);
	if (q->rlen > 0)
		ADD("Range: %s", range);
	ADD("Expect:");		/* no 100-continue round trip */
	ADD("Content-Type:");	/* not signed, not needed */
#undef ADD
	OPENSSL_cleanse(auth, sizeof(auth));
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* A store that stops answering mid-transfer is an error, not a hang. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	if (ep->u.tls) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		/* libcurl copies the string; the lock keeps it alive. */
		pthread_mutex_lock(&s->lock);
		if (s->cafile != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, s->cafile);
		pthread_mutex_unlock(&s->lock);
	}
	if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, q);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)q->blen);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)q->blen);
	} else if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "DELETE") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	*hl = l;
	return 0;
nomem:
	curl_slist_free_all(l);
	return err_set(e, COFFER_ENOMEM, "S3: out of memory");
}

static void
what_of(struct s3 *s, const struct req *q, char *out, size_t len)
{
	snprintf(out, len, "S3 %s: %s %s%s%s", ep_get(s)->where, q->method,
	    q->key ? q->key : "bucket", q->query[0] && q->key == NULL ? "?" :
	    "", q->key == NULL ? q->query : "");
}

/* Turn a final non-2xx answer into an error that names the problem. */
static int
http_error(struct s3 *s, struct req *q, struct err *e)
{
	char code[64] = "", msg[200] = "", what[600];
	size_t pos = 0;

	what_of(s, q, what, sizeof(what));
	if (q->xml.p != NULL) {
		(void)s3_xml_next(q->xml.p, q->xml.len, &pos, "Code", code,
		    sizeof(code));
		pos = 0;
		(void)s3_xml_next(q->xml.p, q->xml.len, &pos, "Message", msg,
		    sizeof(msg));
	}
	if (strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "InvalidAccessKeyId") == 0 ||
	    (q->status == 403 && code[0] == '\0'))
		return err_set(e, COFFER_EAUTH, "%s: wrong access key or "
		    "secret (HTTP %ld %s)", what, q->status,
		    code[0] ? code : "Forbidden");
	if (q->status == 403)
		return err_set(e, COFFER_EPERM, "%s: access denied (%s%s%s)",
		    what, code, msg[0] ? ": " : "", msg);
	if (strcmp(code, "NoSuchBucket") == 0 ||
	    (q->status == 404 && q->key == NULL))
		return err_set(e, COFFER_ENOTFOUND, "S3 %s: bucket %s does "
		    "not exist", ep_get(s)->base, s->bucket);
	if (q->status == 404)
		return err_set(e, COFFER_ENOTFOUND, "%s: no such object",
		    what);
	return err_set(e, COFFER_EIO, "%s: HTTP %ld%s%s%s%s", what, q->status,
	    code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}

static int
retryable_status(long st)
{
	return st >= 500 || st == 429 || st == 408;
}

/* Run q with retries; 0 on a 2xx answer (q->status says which). */
static int
do_req(struct s3 *s, struct req *q, struct err *e)
{
	char hash[65], what[600], cerr[CURL_ERROR_SIZE];
	int attempt, r = 0;
	long wait = S3_BACKOFF_MS;

	if (s3_sha256_hex(q->body ? q->body : "", q->body ? q->blen : 0,
	    hash) != 0)
		return err_set(e, COFFER_EINTERNAL, "S3: SHA-256 failed");
	for (attempt = 0; attempt <= (q->once ? 0 : s->retries); attempt++) {
		struct curl_slist *hl = NULL;
		CURL *h;
		CURLcode cc;

		if (attempt > 0) {
			usleep((useconds_t)wait * 1000);
			wait = wait * 2 > S3_BACKOFF_MAX ? S3_BACKOFF_MAX :
			    wait * 2;
		}
		if ((h = handle_get(s)) == NULL)
			return err_set(e, COFFER_ENOMEM, "S3: no curl handle");
		q->bpos = 0;
		q->dlen = 0;
		q->xml.len = 0;
		q->status = 0;
		q->overflow = 0;
		if ((r = prepare(s, h, q, hash, &hl, e)) != 0) {
			handle_put(s, h);
			return r;
		}
		cerr[0] = '\0';
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
		__atomic_add_fetch(&s->nreq, 1, __ATOMIC_RELAXED);
		cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &q->status);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
		curl_slist_free_all(hl);
		if (cc != CURLE_OK) {
			/* A broken connection: never reuse this handle's. */
			curl_easy_cleanup(h);
			what_of(s, q, what, sizeof(what));
			if (q->overflow)
				return err_set(e, COFFER_EPROTO, "%s: answer "
				    "longer than asked for", what);
			if (cc == CURLE_PEER_FAILED_VERIFICATION ||
			    cc == CURLE_SSL_CACERT_BADFILE ||
			    cc == CURLE_SSL_CERTPROBLEM)
				return err_set(e, COFFER_EAUTH, "%s: TLS: %s",
				    what, cerr[0] ? cerr :
				    curl_easy_strerror(cc));
			r = err_set(e, COFFER_EIO, "%s: %s (after %d "
			    "attempts)", what, cerr[0] ? cerr :
			    curl_easy_strerror(cc), attempt + 1);
			continue;
		}
		handle_put(s, h);
		if (q->status >= 200 && q->status < 300)
			return 0;
		if (retryable_status(q->status)) {
			r = http_error(s, q, e);
			continue;
		}
		return http_error(s, q, e);
	}
	return r;
}

static void
req_init(struct req *q, const char *method, const char *key,
    const char *query)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->query = query != NULL ? query : "";
}

static void
req_fini(struct req *q)
{
	free(q->xml.p);
	q->xml.p = NULL;
}

/* ---- operations ---- */

int
s3_bucket_check(struct s3 *s, int create, struct err *e)
{
	struct req q;
	int r;

	req_init(&q, "GET", NULL, "list-type=2&max-keys=1");
	r = do_req(s, &q, e);
	req_fini(&q);
	if (r != COFFER_ENOTFOUND || !create)
		return r;
	req_init(&q, "PUT", NULL, "");
	r = do_req(s, &q, e);
	req_fini(&q);
	return r != 0 ? err_wrap(e, "creating bucket %s", s->bucket) : 0;
}

int
s3_put(struct s3 *s, const char *key, const void *p, size_t n,
    struct err *e)
{
	struct req q;
	int r;

	req_init(&q, "PUT", key, "");
	q.body = p;
	q.blen = n;
	r = do_req(s, &q, e);
	req_fini(&q);
	return r;
}

int
s3_mpu_start(struct s3 *s, const char *key, char *upload_id, size_t len,
    struct err *e)
{
	struct req q;
	size_t pos = 0;
	int r;

	req_init(&q, "POST", key, "uploads=");
	if ((r = do_req(s, &q, e)) == 0 && (q.xml.p == NULL ||
	    s3_xml_next(q.xml.p, q.xml.len, &pos, "UploadId", upload_id,
	    len) != 1))
		r = err_set(e, COFFER_EPROTO, "S3 %s: %s: no UploadId in the "
		    "answer to starting a multipart upload", ep_get(s)->where, key);
	req_fini(&q);
	return r;
}

int
s3_mpu_part(struct s3 *s, const char *key, const char *upload_id, int part,
    const void *p, size_t n, char *etag, size_t etag_len, struct err *e)
{
	char query[600], enc[500];
	struct req q;
	int r;

	if (s3_uri_encode(upload_id, 1, enc, sizeof(enc)) != 0)
		return err_set(e, COFFER_EPROTO, "S3: upload id too long");
	snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s", part, enc);
	req_init(&q, "PUT", key, query);
	q.body = p;
	q.blen = n;
	if ((r = do_req(s, &q, e)) == 0) {
		if (q.etag[0] == '\0' || strlen(q.etag) >= etag_len)
			r = err_set(e, COFFER_EPROTO, "S3 %s: %s part %d: no "
			    "ETag in the answer", ep_get(s)->where, key, part);
		else
			memcpy(etag, q.etag, strlen(q.etag) + 1);
	}
	req_fini(&q);
	return r;
}

int
s3_mpu_complete(struct s3 *s, const char *key, const char *upload_id,
    char (*etags)[80], int nparts, struct err *e)
{
	char query[600], enc[500], line[160];
	struct buf body = { NULL, 0, 0 };
	struct req q;
	int r = 0;

	if (s3_uri_encode(upload_id, 1, enc, sizeof(enc)) != 0)
		return err_set(e, COFFER_EPROTO, "S3: upload id too long");
	snprintf(query, sizeof(query), "uploadId=%s", enc);
	if (buf_add(&body, "<CompleteMultipartUpload>", 25) != 0)
		goto nomem;
	for (int i = 0; i < nparts; i++) {
		int const n = snprintf(line, sizeof(line), "<Part><PartNumber>"
		    "%d</PartNumber><ETag>%s</ETag></Part>", i + 1, etags[i]);

		if (buf_add(&body, line, (size_t)n) != 0)
			goto nomem;
	}
	if (buf_add(&body, "</CompleteMultipartUpload>", 26) != 0)
		goto nomem;
	req_init(&q, "POST", key, query);
	q.body = body.p;
	q.blen = body.len;
	r = do_req(s, &q, e);
	/* S3 may answer 200 with an <Error> body when completing fails. */
	if (r == 0 && q.xml.p != NULL && strstr(q.xml.p, "<Error>") != NULL) {
		q.status = 500;
		r = http_error(s, &q, e);
	}
	req_fini(&q);
	free(body.p);
	return r;
nomem:
	free(body.p);
	return err_set(e, COFFER_ENOMEM, "S3: out of memory");
}

void
s3_mpu_abort(struct s3 *s, const char *key, const char *upload_id)
{
	char query[600], enc[500];
	struct req q;

	if (s3_uri_encode(upload_id, 1, enc, sizeof(enc)) != 0)
		return;
	snprintf(query, sizeof(query), "uploadId=%s", enc);
	req_init(&q, "DELETE", key, query);
	/* Best effort: the store expires abandoned uploads by its policy. */
	q.once = 1;
	(void)do_req(s, &q, NULL);
	req_fini(&q);
}

int
s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t size,
    struct err *e)
{
	char upload_id[512], what[300];
	char (*etags)[80] = NULL;
	uint8_t *buf = NULL;
	size_t const bsz = size <= S3_SINGLE_MAX ? (size_t)size : S3_PART_SIZE;
	int nparts, r;

	snprintf(what, sizeof(what), "S3 upload %s: read staged bytes", key);
	if ((buf = malloc(bsz ? bsz : 1)) == NULL)
		return err_set(e, COFFER_ENOMEM, "S3 upload: out of memory");
	if (size <= S3_SINGLE_MAX) {
		if ((r = util_pread_full(fd, buf, (size_t)size, 0, what,
		    e)) == 0)
			r = s3_put(s, key, buf, (size_t)size, e);
		free(buf);
		return r;
	}
	nparts = (int)((size + S3_PART_SIZE - 1) / S3_PART_SIZE);
	if ((etags = calloc((size_t)nparts, sizeof(*etags))) == NULL) {
		free(buf);
		return err_set(e, COFFER_ENOMEM, "S3 upload: out of memory");
	}
	if ((r = s3_mpu_start(s, key, upload_id, sizeof(upload_id), e)) != 0)
		goto out;
	for (int i = 0; i < nparts && r == 0; i++) {
		uint64_t const off = (uint64_t)i * S3_PART_SIZE;
		size_t const n = size - off < S3_PART_SIZE ?
		    (size_t)(size - off) : S3_PART_SIZE;

		if ((r = util_pread_full(fd, buf, n, (off_t)off, what,
		    e)) == 0)
			r = s3_mpu_part(s, key, upload_id, i + 1, buf, n,
			    etags[i], sizeof(etags[i]), e);
	}
	if (r == 0)
		r = s3_mpu_complete(s, key, upload_id, etags, nparts, e);
	if (r != 0)
		s3_mpu_abort(s, key, upload_id);
out:
	free(etags);
	free(buf);
	return r;
}

int
s3_get(struct s3 *s, const char *key, uint64_t off, void *p, size_t n,
    size_t *got, struct err *e)
{
	struct req q;
	int r;

	*got = 0;
	if (n == 0)
		return 0;
	req_init(&q, "GET", key, "");
	q.roff = off;
	q.rlen = n;
	q.dst = p;
	q.dcap = n;
	r = do_req(s, &q, e);
	if (r == 0 && q.status != 206 && off != 0) {
		/* A store that ignored Range sent the whole object. */
		r = err_set(e, COFFER_EPROTO, "S3 %s: GET %s: range ignored "
		    "(HTTP %ld)", ep_get(s)->where, key, q.status);
	} else if (r == 0) {
		*got = q.dlen;
	} else if (q.status == 416) {
		/* Nothing at or past the end of the object. */
		r = 0;
		err_clear(e);
	}
	req_fini(&q);
	return r;
}

int
s3_head(struct s3 *s, const char *key, uint64_t *size, struct err *e)
{
	struct req q;
	int r;

	req_init(&q, "HEAD", key, "");
	if ((r = do_req(s, &q, e)) == 0) {
		if (!q.have_clen)
			r = err_set(e, COFFER_EPROTO, "S3 %s: HEAD %s: no "
			    "Content-Length", ep_get(s)->where, key);
		else
			*size = q.clen;
	}
	req_fini(&q);
	return r;
}

int
s3_delete(struct s3 *s, const char *key, struct err *e)
{
	struct req q;
	int r;

	req_init(&q, "DELETE", key, "");
	r = do_req(s, &q, e);
	if (r == COFFER_ENOTFOUND && q.status == 404) {
		char code[64] = "";
		size_t pos = 0;

		if (q.xml.p != NULL)
			(void)s3_xml_next(q.xml.p, q.xml.len, &pos, "Code",
			    code, sizeof(code));
		if (strcmp(code, "NoSuchBucket") != 0) {
			err_clear(e);
			r = 0;
		}
	}
	req_fini(&q);
	return r;
}

/* One page's keys to cb; *token gets the next page's token or "". */
static int
list_page(struct s3 *s, const struct buf *xml, s3_list_cb cb, void *arg,
    char *token, size_t toklen, struct err *e)
{
	char key[1024], size[32], trunc[16] = "";
	size_t pos = 0, tpos = 0;
	int f, r;

	token[0] = '\0';
	while ((f = s3_xml_next(xml->p, xml->len, &pos, "Key", key,
	    sizeof(key))) == 1) {
		if (s3_xml_next(xml->p, xml->len, &pos, "Size", size,
		    sizeof(size)) != 1)
			return err_set(e, COFFER_EPROTO, "S3 %s: listing: key "
			    "%s has no Size", ep_get(s)->where, key);
		if ((r = cb(arg, key, strtoull(size, NULL, 10), e)) != 0)
			return r;
	}
	if (f < 0)
		return err_set(e, COFFER_EPROTO, "S3 %s: listing: key too long",
		    ep_get(s)->where);
	(void)s3_xml_next(xml->p, xml->len, &tpos, "IsTruncated", trunc,
	    sizeof(trunc));
	tpos = 0;
	if (strcmp(trunc, "true") == 0 &&
	    s3_xml_next(xml->p, xml->len, &tpos, "NextContinuationToken",
	    token, toklen) != 1)
		return err_set(e, COFFER_EPROTO, "S3 %s: listing truncated "
		    "without a continuation token", ep_get(s)->where);
	return 0;
}

int
s3_list(struct s3 *s, const char *prefix, s3_list_cb cb, void *arg,
    struct err *e)
{
	char token[1024] = "", etok[3100], epre[800], query[4000];
	int r;

	if (s3_uri_encode(prefix, 1, epre, sizeof(epre)) != 0)
		return err_set(e, COFFER_EINVAL, "S3 list: prefix too long");
	do {
		struct req q;

		if (token[0] != '\0') {
			if (s3_uri_encode(token, 1, etok, sizeof(etok)) != 0)
				return err_set(e, COFFER_EPROTO, "S3 list: "
				    "continuation token too long");
			/* Canonical order: parameter names sorted. */
			snprintf(query, sizeof(query), "continuation-token=%s&"
			    "list-type=2&prefix=%s", etok, epre);
		} else {
			snprintf(query, sizeof(query), "list-type=2&prefix=%s",
			    epre);
		}
		req_init(&q, "GET", NULL, query);
		if ((r = do_req(s, &q, e)) == 0) {
			struct buf const empty = { (char *)"", 0, 0 };

			r = list_page(s, q.xml.p ? &q.xml : &empty, cb, arg,
			    token, sizeof(token), e);
		}
		req_fini(&q);
	} while (r == 0 && token[0] != '\0');
	return r;
}
