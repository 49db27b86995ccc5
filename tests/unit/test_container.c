/*
 * test_container.c - container file and record headers: the pinned layout,
 * round trips, and every check the decoders make (magic, header CRC,
 * version, codec, lengths).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crc32c.h"
#include "err.h"
#include "pool_container.h"
#include "util.h"

#define MAX_RAW	(16u << 20)

static void
sample_rec(struct ctr_rec_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->codec = CODEC_ZSTD;
	h->raw_len = 262144;
	h->stored_len = 100000;
	for (int i = 0; i < HASH_LEN; i++)
		h->hash[i] = (uint8_t)(0xA0 + i);
	h->crc = 0xDEADBEEF;
}

/* Recompute the header CRC after the test changed a field on purpose. */
static void
reseal_rec(uint8_t b[CTR_REC_HDR_LEN])
{
	util_put_le32(b + 60, crc32c(0, b, 60));
}

static void
container_record_header_round_trips(void **state)
{
	struct ctr_rec_hdr h, got;
	uint8_t b[CTR_REC_HDR_LEN];
	struct err e;

	(void)state;
	sample_rec(&h);
	pool_container_rec_hdr_encode(b, &h);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    0);
	assert_int_equal(got.codec, h.codec);
	assert_int_equal(got.raw_len, h.raw_len);
	assert_int_equal(got.stored_len, h.stored_len);
	assert_memory_equal(got.hash, h.hash, HASH_LEN);
	assert_int_equal(got.crc, h.crc);
}

static void
container_record_header_layout_is_pinned(void **state)
{
	struct ctr_rec_hdr h;
	uint8_t b[CTR_REC_HDR_LEN];
	static const uint8_t zero[12];

	(void)state;
	sample_rec(&h);
	pool_container_rec_hdr_encode(b, &h);
	assert_memory_equal(b, "REC1", 4);
	assert_int_equal(b[4], 2);
	assert_int_equal(b[5], 0);
	assert_int_equal(util_get_le32(b + 8), 262144);
	assert_int_equal(util_get_le32(b + 12), 100000);
	assert_memory_equal(b + 16, h.hash, HASH_LEN);
	assert_int_equal(util_get_le32(b + 48), 0xDEADBEEF);
	assert_memory_equal(b + 52, zero, 8);
	assert_int_equal(util_get_le32(b + 60), crc32c(0, b, 60));
}

static void
container_record_header_bad_magic_is_rejected(void **state)
{
	struct ctr_rec_hdr h;
	uint8_t b[CTR_REC_HDR_LEN];
	struct err e;

	(void)state;
	sample_rec(&h);
	pool_container_rec_hdr_encode(b, &h);
	b[0] ^= 1;
	reseal_rec(b);
	err_clear(&e);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &h, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "magic"));
}

static void
container_record_header_any_flipped_bit_is_rejected(void **state)
{
	struct ctr_rec_hdr h, got;
	uint8_t b[CTR_REC_HDR_LEN];
	struct err e;

	(void)state;
	sample_rec(&h);
	for (int bit = 0; bit < CTR_REC_HDR_LEN * 8; bit++) {
		pool_container_rec_hdr_encode(b, &h);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		err_clear(&e);
		assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW,
		    &got, &e), COFFER_ECORRUPT);
		assert_true(e.msg[0] != '\0');
	}
	/* A flip in the header's own fields is a CRC mismatch. */
	pool_container_rec_hdr_encode(b, &h);
	b[9] ^= 0x10;
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "CRC"));
}

static void
container_record_header_unknown_codec_is_rejected(void **state)
{
	struct ctr_rec_hdr h;
	uint8_t b[CTR_REC_HDR_LEN];
	struct err e;

	(void)state;
	sample_rec(&h);
	h.codec = 3;
	pool_container_rec_hdr_encode(b, &h);
	err_clear(&e);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &h, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "codec 3"));
	h.codec = 0;
	pool_container_rec_hdr_encode(b, &h);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &h, &e),
	    COFFER_ECORRUPT);
}

static void
container_record_header_bad_lengths_are_rejected(void **state)
{
	struct ctr_rec_hdr h, got;
	uint8_t b[CTR_REC_HDR_LEN];
	struct err e;

	(void)state;
	/* raw length zero */
	sample_rec(&h);
	h.raw_len = 0;
	pool_container_rec_hdr_encode(b, &h);
	err_clear(&e);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "out of range"));
	/* raw length above the caller's limit (and at it: accepted) */
	sample_rec(&h);
	h.raw_len = 4096;
	h.stored_len = 100;
	pool_container_rec_hdr_encode(b, &h);
	assert_int_equal(pool_container_rec_hdr_decode(b, 4095, &got, &e),
	    COFFER_ECORRUPT);
	assert_int_equal(pool_container_rec_hdr_decode(b, 4096, &got, &e), 0);
	/* stored length zero */
	sample_rec(&h);
	h.stored_len = 0;
	pool_container_rec_hdr_encode(b, &h);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    COFFER_ECORRUPT);
	/* stored length beyond what zstd can produce for raw_len */
	sample_rec(&h);
	h.stored_len = (uint32_t)codec_bound(h.raw_len) + 1;
	pool_container_rec_hdr_encode(b, &h);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    COFFER_ECORRUPT);
	/* a raw record whose lengths differ */
	sample_rec(&h);
	h.codec = CODEC_RAW;
	h.stored_len = h.raw_len - 1;
	pool_container_rec_hdr_encode(b, &h);
	err_clear(&e);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "raw record stored length"));
	h.stored_len = h.raw_len;
	pool_container_rec_hdr_encode(b, &h);
	assert_int_equal(pool_container_rec_hdr_decode(b, MAX_RAW, &got, &e),
	    0);
}

static void
container_file_header_round_trips_with_pinned_layout(void **state)
{
	struct ctr_file_hdr h, got;
	uint8_t b[CTR_FILE_HDR_LEN];
	struct err e;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.id = 0x2a;
	for (int i = 0; i < 16; i++)
		h.pool_uuid[i] = (uint8_t)(i * 17);
	h.created = 1700000000;
	pool_container_file_hdr_encode(b, &h);
	assert_memory_equal(b, "COFFCTR1", 8);
	assert_int_equal(util_get_le32(b + 8), 1);
	assert_int_equal(util_get_le32(b + 12), 64);
	assert_int_equal(util_get_le64(b + 16), 0x2a);
	assert_memory_equal(b + 24, h.pool_uuid, 16);
	assert_int_equal(util_get_le64(b + 40), 1700000000);
	memset(&got, 0, sizeof(got));
	assert_int_equal(pool_container_file_hdr_decode(b, &got, &e), 0);
	assert_int_equal(got.id, h.id);
	assert_memory_equal(got.pool_uuid, h.pool_uuid, 16);
	assert_int_equal(got.created, h.created);
}

static void
container_file_header_damage_is_rejected(void **state)
{
	struct ctr_file_hdr h, got;
	uint8_t b[CTR_FILE_HDR_LEN];
	struct err e;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.id = 7;
	pool_container_file_hdr_encode(b, &h);
	b[0] = 'X';
	err_clear(&e);
	assert_int_equal(pool_container_file_hdr_decode(b, &got, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "bad magic"));

	pool_container_file_hdr_encode(b, &h);
	b[20] ^= 4;	/* inside the id */
	err_clear(&e);
	assert_int_equal(pool_container_file_hdr_decode(b, &got, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "CRC"));

	pool_container_file_hdr_encode(b, &h);
	util_put_le32(b + 8, 2);
	util_put_le32(b + 60, crc32c(0, b, 60));
	err_clear(&e);
	assert_int_equal(pool_container_file_hdr_decode(b, &got, &e),
	    COFFER_EVERSION);
	assert_non_null(strstr(e.msg, "version 2"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container_record_header_round_trips),
		cmocka_unit_test(container_record_header_layout_is_pinned),
		cmocka_unit_test(container_record_header_bad_magic_is_rejected),
		cmocka_unit_test(
		    container_record_header_any_flipped_bit_is_rejected),
		cmocka_unit_test(
		    container_record_header_unknown_codec_is_rejected),
		cmocka_unit_test(
		    container_record_header_bad_lengths_are_rejected),
		cmocka_unit_test(
		    container_file_header_round_trips_with_pinned_layout),
		cmocka_unit_test(container_file_header_damage_is_rejected),
	};

	return cmocka_run_group_tests_name("container", tests, NULL, NULL);
}
