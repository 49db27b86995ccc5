/*
 * fuzz_wire.c - libFuzzer target: frame header and payload decoders must
 * never read out of bounds or crash on any input.
 *
 * The input is a frame: the header is decoded and checked, the payload is
 * decoded as object metadata and as filespace entries (proto.c), then
 * walked with a field sequence chosen by the header's type, so every
 * getter meets hostile lengths.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "proto.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_hdr h;
	struct wire_rd r;
	struct err e;
	char s[WIRE_STR_MAX + 1];
	const uint8_t *p;
	size_t n;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	if (size < WIRE_HDR_LEN)
		return 0;
	if (wire_hdr_decode(data, WIRE_FRAME_MAX, &h, &e) != 0)
		return 0;
	if (h.len > size - WIRE_HDR_LEN)
		return 0;
	/* The object metadata decoder, with and without a recipe. */
	for (int with = 0; with < 2; with++) {
		struct proto_obj o;

		wire_rd_init(&r, data + WIRE_HDR_LEN, h.len);
		if (proto_get_obj(&r, &o, with, &e) == 0 &&
		    (memchr(o.path, '\0', o.path_len) != NULL ||
		    o.path_len == 0 || wire_rd_left(&r) > h.len))
			__builtin_trap();
	}
	/* FS_PAGE entries, one after another, as the client reads them. */
	wire_rd_init(&r, data + WIRE_HDR_LEN, h.len);
	for (;;) {
		struct proto_fs f;

		if (proto_get_fs(&r, &f, &e) != 0)
			break;
		if (f.name_len == 0 || memchr(f.name, '\0', f.name_len) !=
		    NULL || f.type_len > 31 || f.drprotect > 1)
			__builtin_trap();
	}
	wire_rd_init(&r, data + WIRE_HDR_LEN, h.len);
	for (unsigned op = h.type; wire_rd_left(&r) > 0; op = op * 7 + 3) {
		int rc = 0;

		switch (op % 7) {
		case 0: rc = wire_get_u8(&r, &v8, &e); break;
		case 1: rc = wire_get_u16(&r, &v16, &e); break;
		case 2: rc = wire_get_u32(&r, &v32, &e); break;
		case 3: rc = wire_get_u64(&r, &v64, &e); break;
		case 4: rc = wire_get_bytes(&r, 1u << 20, &p, &n, &e);
			if (rc == 0 && n > 0)
				v8 ^= p[n - 1];	/* touch the last byte */
			break;
		case 5: rc = wire_get_str(&r, WIRE_STR_MAX, s, sizeof(s), &e);
			if (rc == 0 && strlen(s) > WIRE_STR_MAX)
				__builtin_trap();
			break;
		case 6: rc = wire_rd_end(&r, &e); break;
		}
		if (rc != 0)
			break;
	}
	return 0;
}
