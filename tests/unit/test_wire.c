/*
 * test_wire.c - frame headers and the bounded payload codec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "wire.h"

static void
wire_header_round_trip_keeps_fields(void **state)
{
	struct wire_hdr h = { 12345, 7, 0 }, g;
	uint8_t buf[WIRE_HDR_LEN];

	(void)state;
	wire_hdr_encode(buf, &h);
	assert_int_equal(wire_hdr_decode(buf, WIRE_FRAME_MAX, &g, NULL), 0);
	assert_int_equal(g.len, 12345);
	assert_int_equal(g.type, 7);
	assert_int_equal(g.flags, 0);
}

static void
wire_oversized_length_is_rejected_before_payload(void **state)
{
	struct wire_hdr h = { 0x80000000u, 9, 0 }, g;
	uint8_t buf[WIRE_HDR_LEN];
	struct err e;

	(void)state;
	wire_hdr_encode(buf, &h);
	assert_int_equal(wire_hdr_decode(buf, WIRE_FRAME_MAX, &g, &e),
	    COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "frame type 9"));
	assert_non_null(strstr(e.msg, "2147483648"));
}

static void
wire_type_zero_and_flags_are_rejected(void **state)
{
	struct wire_hdr h = { 4, 0, 0 }, g;
	uint8_t buf[WIRE_HDR_LEN];

	(void)state;
	wire_hdr_encode(buf, &h);
	assert_int_equal(wire_hdr_decode(buf, 100, &g, NULL), COFFER_EPROTO);
	h.type = 3;
	h.flags = 1;
	wire_hdr_encode(buf, &h);
	assert_int_equal(wire_hdr_decode(buf, 100, &g, NULL), COFFER_EPROTO);
}

static void
wire_payload_round_trip_reads_what_was_written(void **state)
{
	struct wire_buf b;
	struct wire_rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t n;
	char s[64];

	(void)state;
	wire_buf_init(&b, 1024);
	wire_put_u8(&b, 0xab);
	wire_put_u16(&b, 0xbeef);
	wire_put_u32(&b, 0xdeadbeef);
	wire_put_u64(&b, 0x0123456789abcdefull);
	wire_put_bytes(&b, "xyz", 3);
	wire_put_str(&b, "node one");
	wire_put_str(&b, NULL);
	assert_int_equal(wire_buf_ok(&b, NULL), 0);

	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(wire_get_u8(&r, &u8, NULL), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(wire_get_u16(&r, &u16, NULL), 0);
	assert_int_equal(u16, 0xbeef);
	assert_int_equal(wire_get_u32(&r, &u32, NULL), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(wire_get_u64(&r, &u64, NULL), 0);
	assert_true(u64 == 0x0123456789abcdefull);
	assert_int_equal(wire_get_bytes(&r, 10, &p, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "xyz", 3);
	assert_int_equal(wire_get_str(&r, 32, s, sizeof(s), NULL), 0);
	assert_string_equal(s, "node one");
	assert_int_equal(wire_get_str(&r, 32, s, sizeof(s), NULL), 0);
	assert_string_equal(s, "");
	assert_int_equal(wire_rd_end(&r, NULL), 0);
	wire_buf_free(&b);
}

static void
wire_truncated_field_fails_and_consumes_nothing(void **state)
{
	uint8_t buf[3] = { 1, 2, 3 };
	struct wire_rd r;
	uint32_t v;
	struct err e;

	(void)state;
	wire_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(wire_get_u32(&r, &v, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "truncated"));
	assert_int_equal(wire_rd_left(&r), 3);
}

static void
wire_bytes_length_beyond_payload_is_rejected(void **state)
{
	struct wire_buf b;
	struct wire_rd r;
	const uint8_t *p;
	size_t n;

	(void)state;
	wire_buf_init(&b, 64);
	wire_put_u32(&b, 1000);		/* claims 1000 bytes, has 2 */
	wire_put_u16(&b, 7);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(wire_get_bytes(&r, 4096, &p, &n, NULL), COFFER_EPROTO);
	assert_int_equal(wire_rd_left(&r), 6);
	wire_buf_free(&b);
}

static void
wire_bytes_over_field_limit_is_rejected(void **state)
{
	struct wire_buf b;
	struct wire_rd r;
	const uint8_t *p;
	size_t n;
	struct err e;

	(void)state;
	wire_buf_init(&b, 64);
	wire_put_bytes(&b, "0123456789", 10);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(wire_get_bytes(&r, 5, &p, &n, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "limit 5"));
	wire_buf_free(&b);
}

static void
wire_string_with_nul_is_rejected(void **state)
{
	struct wire_buf b;
	struct wire_rd r;
	char s[16];

	(void)state;
	wire_buf_init(&b, 64);
	wire_put_bytes(&b, "ab\0cd", 5);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(wire_get_str(&r, 8, s, sizeof(s), NULL),
	    COFFER_EPROTO);
	wire_buf_free(&b);
}

static void
wire_trailing_bytes_are_an_error(void **state)
{
	uint8_t buf[5] = { 0 };
	struct wire_rd r;
	uint32_t v;

	(void)state;
	wire_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(wire_get_u32(&r, &v, NULL), 0);
	assert_int_equal(wire_rd_end(&r, NULL), COFFER_EPROTO);
}

static void
wire_buf_over_max_fails_once_and_stays_failed(void **state)
{
	struct wire_buf b;
	struct err e;

	(void)state;
	wire_buf_init(&b, 10);
	wire_put_u64(&b, 1);
	wire_put_u32(&b, 2);		/* 12 > 10 */
	wire_put_u8(&b, 3);
	assert_int_equal(b.len, 8);
	assert_int_equal(wire_buf_ok(&b, &e), COFFER_ETOOBIG);
	wire_buf_reset(&b);
	wire_put_u8(&b, 1);
	assert_int_equal(wire_buf_ok(&b, NULL), 0);
	wire_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wire_header_round_trip_keeps_fields),
		cmocka_unit_test(wire_oversized_length_is_rejected_before_payload),
		cmocka_unit_test(wire_type_zero_and_flags_are_rejected),
		cmocka_unit_test(wire_payload_round_trip_reads_what_was_written),
		cmocka_unit_test(wire_truncated_field_fails_and_consumes_nothing),
		cmocka_unit_test(wire_bytes_length_beyond_payload_is_rejected),
		cmocka_unit_test(wire_bytes_over_field_limit_is_rejected),
		cmocka_unit_test(wire_string_with_nul_is_rejected),
		cmocka_unit_test(wire_trailing_bytes_are_an_error),
		cmocka_unit_test(wire_buf_over_max_fails_once_and_stays_failed),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
