/*
 * wire.h - frames and the bounded payload codec of the Coffer protocol.
 *
 * A frame is an 8-byte header and a payload:
 *
 *    0  4  payload length, little-endian, at most WIRE_FRAME_MAX
 *    4  2  frame type (WIRE_T_*), little-endian
 *    6  2  flags (zero; reserved)
 *
 * Payloads are built with wire_put_*() into a struct wire_buf and read
 * back with wire_get_*() from a struct wire_rd.  Every getter checks the
 * remaining length before it touches a byte and either consumes the whole
 * field or fails with COFFER_EPROTO, leaving the reader where it was:
 * decoding a hostile frame cannot read out of bounds.  Pointers returned
 * by wire_get_bytes()/wire_get_str() point into the frame and live as long
 * as it does.
 *
 * Frame types and field layouts are on-wire numbers: pinned, never reused.
 */
#ifndef COFFER_WIRE_H
#define COFFER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_HDR_LEN	8
#define WIRE_FRAME_MAX	(17u << 20)	/* a 16 MiB chunk plus headers */
#define WIRE_STR_MAX	4096		/* names, paths and messages */

struct err;

struct wire_hdr {
	uint32_t	len;
	uint16_t	type;
	uint16_t	flags;
};

/* Encode a header into out. */
void wire_hdr_encode(uint8_t out[WIRE_HDR_LEN], const struct wire_hdr *h);

/*
 * Decode and bound-check a header, before the payload is waited for:
 * length above max, unknown flags or type 0 are COFFER_EPROTO with a
 * message naming the frame type and the limit.
 */
int wire_hdr_decode(const uint8_t in[WIRE_HDR_LEN], uint32_t max,
    struct wire_hdr *h, struct err *e);

/* A growable payload buffer with a hard maximum. */
struct wire_buf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 failed;	/* an append hit max or ENOMEM */
};

void wire_buf_init(struct wire_buf *b, size_t max);
void wire_buf_free(struct wire_buf *b);
void wire_buf_reset(struct wire_buf *b);

/*
 * Appends.  A failed append marks the buffer failed and later appends do
 * nothing, so a message is built with a run of puts and one check of
 * wire_buf_ok() at the end.
 */
void wire_put_u8(struct wire_buf *b, uint8_t v);
void wire_put_u16(struct wire_buf *b, uint16_t v);
void wire_put_u32(struct wire_buf *b, uint32_t v);
void wire_put_u64(struct wire_buf *b, uint64_t v);
void wire_put_raw(struct wire_buf *b, const void *p, size_t n);
/* u32 length, then the bytes. */
void wire_put_bytes(struct wire_buf *b, const void *p, size_t n);
/* A string as bytes (without NUL); NULL is sent as the empty string. */
void wire_put_str(struct wire_buf *b, const char *s);
int wire_buf_ok(const struct wire_buf *b, struct err *e);

/* A reader over one payload. */
struct wire_rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

void wire_rd_init(struct wire_rd *r, const void *p, size_t len);
size_t wire_rd_left(const struct wire_rd *r);

int wire_get_u8(struct wire_rd *r, uint8_t *v, struct err *e);
int wire_get_u16(struct wire_rd *r, uint16_t *v, struct err *e);
int wire_get_u32(struct wire_rd *r, uint32_t *v, struct err *e);
int wire_get_u64(struct wire_rd *r, uint64_t *v, struct err *e);
int wire_get_raw(struct wire_rd *r, void *out, size_t n, struct err *e);
/* Length-prefixed bytes of at most max bytes; *p points into the frame. */
int wire_get_bytes(struct wire_rd *r, size_t max, const uint8_t **p,
    size_t *n, struct err *e);
/*
 * A string of at most max bytes copied NUL-terminated into out (cap
 * bytes, cap > max); embedded NUL bytes are refused.
 */
int wire_get_str(struct wire_rd *r, size_t max, char *out, size_t cap,
    struct err *e);
/* The payload must be fully consumed: trailing bytes are an error. */
int wire_rd_end(const struct wire_rd *r, struct err *e);

#endif
