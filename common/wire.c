/*
 * wire.c - frame headers and the bounded payload codec (see wire.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"
#include "wire.h"

void
wire_hdr_encode(uint8_t out[WIRE_HDR_LEN], const struct wire_hdr *h)
{
	util_put_le32(out, h->len);
	util_put_le16(out + 4, h->type);
	util_put_le16(out + 6, h->flags);
}

int
wire_hdr_decode(const uint8_t in[WIRE_HDR_LEN], uint32_t max,
    struct wire_hdr *h, struct err *e)
{
	h->len = util_get_le32(in);
	h->type = util_get_le16(in + 4);
	h->flags = util_get_le16(in + 6);
	if (h->type == 0)
		return err_set(e, COFFER_EPROTO, "frame type 0 is invalid");
	if (h->len > max)
		return err_set(e, COFFER_EPROTO, "frame type %u: length %u "
		    "exceeds limit %u", h->type, h->len, max);
	if (h->flags != 0)
		return err_set(e, COFFER_EPROTO, "frame type %u: unknown flags "
		    "0x%04x", h->type, h->flags);
	return 0;
}

void
wire_buf_init(struct wire_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
wire_buf_free(struct wire_buf *b)
{
	free(b->p);
	wire_buf_init(b, b->max);
}

void
wire_buf_reset(struct wire_buf *b)
{
	b->len = 0;
	b->failed = 0;
}

/* Room for n more bytes, or mark the buffer failed. */
static uint8_t *
reserve(struct wire_buf *b, size_t n)
{
	size_t ncap;
	uint8_t *np;

	if (b->failed)
		return NULL;
	if (n > b->max || b->len > b->max - n) {
		b->failed = 1;
		return NULL;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n)
			ncap *= 2;
		if (ncap > b->max)
			ncap = b->max;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->failed = 1;
			return NULL;
		}
		b->p = np;
		b->cap = ncap;
	}
	np = b->p + b->len;
	b->len += n;
	return np;
}

void
wire_put_u8(struct wire_buf *b, uint8_t v)
{
	uint8_t *p = reserve(b, 1);

	if (p != NULL)
		*p = v;
}

void
wire_put_u16(struct wire_buf *b, uint16_t v)
{
	uint8_t *p = reserve(b, 2);

	if (p != NULL)
		util_put_le16(p, v);
}

void
wire_put_u32(struct wire_buf *b, uint32_t v)
{
	uint8_t *p = reserve(b, 4);

	if (p != NULL)
		util_put_le32(p, v);
}

void
wire_put_u64(struct wire_buf *b, uint64_t v)
{
	uint8_t *p = reserve(b, 8);

	if (p != NULL)
		util_put_le64(p, v);
}

void
wire_put_raw(struct wire_buf *b, const void *src, size_t n)
{
	uint8_t *p;

	if (n == 0)
		return;
	if ((p = reserve(b, n)) != NULL)
		memcpy(p, src, n);
}

void
wire_put_bytes(struct wire_buf *b, const void *src, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = 1;
		return;
	}
	wire_put_u32(b, (uint32_t)n);
	wire_put_raw(b, src, n);
}

void
wire_put_str(struct wire_buf *b, const char *s)
{
	wire_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

int
wire_buf_ok(const struct wire_buf *b, struct err *e)
{
	if (b->failed)
		return err_set(e, COFFER_ETOOBIG, "message exceeds %zu bytes "
		    "or memory ran out", b->max);
	return 0;
}

void
wire_rd_init(struct wire_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

size_t
wire_rd_left(const struct wire_rd *r)
{
	return r->len - r->off;
}

static int
need(const struct wire_rd *r, size_t n, const char *what, struct err *e)
{
	if (n > r->len - r->off)
		return err_set(e, COFFER_EPROTO, "truncated message: %s needs "
		    "%zu bytes, %zu left", what, n, r->len - r->off);
	return 0;
}

int
wire_get_u8(struct wire_rd *r, uint8_t *v, struct err *e)
{
	int rc;

	if ((rc = need(r, 1, "u8", e)) != 0)
		return rc;
	*v = r->p[r->off++];
	return 0;
}

int
wire_get_u16(struct wire_rd *r, uint16_t *v, struct err *e)
{
	int rc;

	if ((rc = need(r, 2, "u16", e)) != 0)
		return rc;
	*v = util_get_le16(r->p + r->off);
	r->off += 2;
	return 0;
}

int
wire_get_u32(struct wire_rd *r, uint32_t *v, struct err *e)
{
	int rc;

	if ((rc = need(r, 4, "u32", e)) != 0)
		return rc;
	*v = util_get_le32(r->p + r->off);
	r->off += 4;
	return 0;
}

int
wire_get_u64(struct wire_rd *r, uint64_t *v, struct err *e)
{
	int rc;

	if ((rc = need(r, 8, "u64", e)) != 0)
		return rc;
	*v = util_get_le64(r->p + r->off);
	r->off += 8;
	return 0;
}

int
wire_get_raw(struct wire_rd *r, void *out, size_t n, struct err *e)
{
	int rc;

	if ((rc = need(r, n, "field", e)) != 0)
		return rc;
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

int
wire_get_bytes(struct wire_rd *r, size_t max, const uint8_t **p, size_t *n,
    struct err *e)
{
	size_t const save = r->off;
	uint32_t len;
	int rc;

	if ((rc = wire_get_u32(r, &len, e)) != 0)
		return rc;
	if (len > max) {
		r->off = save;
		return err_set(e, COFFER_EPROTO, "field of %u bytes exceeds "
		    "limit %zu", len, max);
	}
	if ((rc = need(r, len, "bytes", e)) != 0) {
		r->off = save;
		return rc;
	}
	*p = r->p + r->off;
	*n = len;
	r->off += len;
	return 0;
}

int
wire_get_str(struct wire_rd *r, size_t max, char *out, size_t cap,
    struct err *e)
{
	size_t const save = r->off;
	const uint8_t *p;
	size_t n;
	int rc;

	if (cap == 0 || max >= cap)
		return err_set(e, COFFER_EINVAL, "string buffer too small");
	if ((rc = wire_get_bytes(r, max, &p, &n, e)) != 0)
		return rc;
	if (memchr(p, '\0', n) != NULL) {
		r->off = save;
		return err_set(e, COFFER_EPROTO, "string holds a NUL byte");
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
wire_rd_end(const struct wire_rd *r, struct err *e)
{
	if (r->off != r->len)
		return err_set(e, COFFER_EPROTO, "%zu unexpected bytes at the "
		    "end of the message", r->len - r->off);
	return 0;
}
