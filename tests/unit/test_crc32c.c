/*
 * test_crc32c.c - CRC-32C: check value, RFC 3720 vectors, hardware and
 * software paths agree, incremental use, empty input, bit flips.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#define RAND_BUF_LEN	(64 * 1024 + 64)

/* Deterministic test data: splitmix64. */
static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
fill_rand(uint8_t *p, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand(&seed);
}

/* Bit-at-a-time reference, independent of both implementations. */
static uint32_t
crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	int k;

	crc = ~crc;
	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
	}
	return ~crc;
}

static void
crc32c_check_value_matches_standard(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c_bitwise(0, (const uint8_t *)"123456789", 9),
	    0xE3069283u);
}

/* The iSCSI test vectors of RFC 3720, appendix B.4. */
static void
crc32c_rfc3720_vectors_match(void **state)
{
	uint8_t buf[32];
	int i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(crc32c(0, buf, 32), 0x8A9136AAu);
	assert_int_equal(crc32c_sw(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(crc32c(0, buf, 32), 0x62A8AB43u);
	assert_int_equal(crc32c_sw(0, buf, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(crc32c(0, buf, 32), 0x46DD794Eu);
	assert_int_equal(crc32c_sw(0, buf, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(crc32c(0, buf, 32), 0x113FDB5Cu);
	assert_int_equal(crc32c_sw(0, buf, 32), 0x113FDB5Cu);
}

/*
 * crc32c() takes the hardware path on any x86_64 CPU made since 2008, so
 * comparing it with crc32c_sw() compares the two implementations.
 */
static void
crc32c_hw_and_sw_agree_on_random_buffers(void **state)
{
	uint8_t *buf;
	size_t len, off;
	uint32_t hw, sw;

	(void)state;
	buf = malloc(RAND_BUF_LEN);
	assert_non_null(buf);
	fill_rand(buf, RAND_BUF_LEN, 1);
	for (off = 0; off < 16; off++) {
		for (len = 0; len <= 300; len++) {
			hw = crc32c(0, buf + off, len);
			sw = crc32c_sw(0, buf + off, len);
			assert_int_equal(hw, sw);
			assert_int_equal(sw, crc32c_bitwise(0, buf + off, len));
		}
		for (len = 1000; len + off <= RAND_BUF_LEN; len = len * 3 + 7) {
			hw = crc32c(0x12345678u, buf + off, len);
			sw = crc32c_sw(0x12345678u, buf + off, len);
			assert_int_equal(hw, sw);
		}
	}
	free(buf);
}

static void
crc32c_incremental_equals_one_shot(void **state)
{
	uint8_t buf[1024];
	uint32_t whole, whole_sw, part;
	size_t cut, cut2;

	(void)state;
	fill_rand(buf, sizeof(buf), 2);
	whole = crc32c(0, buf, sizeof(buf));
	whole_sw = crc32c_sw(0, buf, sizeof(buf));
	assert_int_equal(whole, whole_sw);
	for (cut = 0; cut <= sizeof(buf); cut++) {
		part = crc32c(crc32c(0, buf, cut), buf + cut,
		    sizeof(buf) - cut);
		assert_int_equal(part, whole);
		part = crc32c_sw(crc32c_sw(0, buf, cut), buf + cut,
		    sizeof(buf) - cut);
		assert_int_equal(part, whole);
	}
	/* Three pieces, mixing the two paths. */
	for (cut = 0; cut <= sizeof(buf); cut += 37) {
		for (cut2 = cut; cut2 <= sizeof(buf); cut2 += 53) {
			part = crc32c(0, buf, cut);
			part = crc32c_sw(part, buf + cut, cut2 - cut);
			part = crc32c(part, buf + cut2, sizeof(buf) - cut2);
			assert_int_equal(part, whole);
		}
	}
}

static void
crc32c_empty_input_returns_previous_crc(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "", 0), 0);
	assert_int_equal(crc32c_sw(0, "", 0), 0);
	assert_int_equal(crc32c(0, NULL, 0), 0);
	assert_int_equal(crc32c(0xE3069283u, "x", 0), 0xE3069283u);
	assert_int_equal(crc32c_sw(0xdeadbeefu, "x", 0), 0xdeadbeefu);
}

static void
crc32c_flipped_bit_changes_crc(void **state)
{
	uint8_t buf[256];
	uint32_t good;
	size_t bit;

	(void)state;
	fill_rand(buf, sizeof(buf), 3);
	good = crc32c(0, buf, sizeof(buf));
	for (bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(crc32c(0, buf, sizeof(buf)), good);
		assert_int_not_equal(crc32c_sw(0, buf, sizeof(buf)), good);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(crc32c(0, buf, sizeof(buf)), good);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32c_check_value_matches_standard),
		cmocka_unit_test(crc32c_rfc3720_vectors_match),
		cmocka_unit_test(crc32c_hw_and_sw_agree_on_random_buffers),
		cmocka_unit_test(crc32c_incremental_equals_one_shot),
		cmocka_unit_test(crc32c_empty_input_returns_previous_crc),
		cmocka_unit_test(crc32c_flipped_bit_changes_crc),
	};

	return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
