/*
 * test_hash.c - SHA-256 through hash_ctx: FIPS 180-2 vectors, context
 * reuse, hex encoding and decoding.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"

#define SHA256_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_MILLION_A \
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

#define MIB	(1024 * 1024)

static int
setup(void **state)
{
	struct err e;
	struct hash_ctx *h;

	err_clear(&e);
	if ((h = hash_ctx_new(&e)) == NULL) {
		print_error("hash_ctx_new: %s\n", e.msg);
		return -1;
	}
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	hash_ctx_free(*state);
	return 0;
}

static void
hash_hex_of(struct hash_ctx *h, const void *p, size_t n,
    char hex[HASH_HEX_LEN + 1])
{
	uint8_t out[HASH_LEN];

	assert_int_equal(hash_sha256(h, p, n, out), 0);
	hash_to_hex(out, hex);
}

static void
hash_empty_input_matches_known_vector(void **state)
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex_of(*state, "", 0, hex);
	assert_string_equal(hex, SHA256_EMPTY);
}

static void
hash_abc_matches_known_vector(void **state)
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex_of(*state, "abc", 3, hex);
	assert_string_equal(hex, SHA256_ABC);
}

static void
hash_million_a_matches_known_vector(void **state)
{
	char hex[HASH_HEX_LEN + 1];
	char *buf;

	buf = malloc(1000000);
	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	hash_hex_of(*state, buf, 1000000, hex);
	assert_string_equal(hex, SHA256_MILLION_A);
	free(buf);
}

static void
hash_large_buffer_matches_second_context(void **state)
{
	struct hash_ctx *h2;
	uint8_t a[HASH_LEN], b[HASH_LEN];
	uint8_t *buf;
	uint32_t x = 12345;
	size_t i;

	buf = malloc(MIB);
	assert_non_null(buf);
	for (i = 0; i < MIB; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	h2 = hash_ctx_new(NULL);
	assert_non_null(h2);
	assert_int_equal(hash_sha256(*state, buf, MIB, a), 0);
	assert_int_equal(hash_sha256(h2, buf, MIB, b), 0);
	assert_memory_equal(a, b, HASH_LEN);
	/* A one-byte change gives a different name. */
	buf[MIB / 2] ^= 1;
	assert_int_equal(hash_sha256(h2, buf, MIB, b), 0);
	assert_memory_not_equal(a, b, HASH_LEN);
	hash_ctx_free(h2);
	free(buf);
}

static void
hash_context_reuse_gives_same_result(void **state)
{
	char hex[HASH_HEX_LEN + 1];
	uint8_t first[HASH_LEN], again[HASH_LEN];
	int i;

	assert_int_equal(hash_sha256(*state, "abc", 3, first), 0);
	for (i = 0; i < 100; i++) {
		/* Interleave other inputs: no state may leak between calls. */
		hash_hex_of(*state, "", 0, hex);
		assert_string_equal(hex, SHA256_EMPTY);
		assert_int_equal(hash_sha256(*state, "abc", 3, again), 0);
		assert_memory_equal(first, again, HASH_LEN);
	}
}

static void
hash_hex_round_trip_preserves_bytes(void **state)
{
	char hex[HASH_HEX_LEN + 1], upper[HASH_HEX_LEN + 1];
	uint8_t in[HASH_LEN], out[HASH_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < HASH_LEN; i++)
		in[i] = (uint8_t)(i * 37 + 0xa5);
	hash_to_hex(in, hex);
	assert_int_equal(strlen(hex), HASH_HEX_LEN);
	for (i = 0; i < HASH_HEX_LEN; i++)
		assert_true(strchr("0123456789abcdef", hex[i]) != NULL);
	assert_int_equal(hash_from_hex(hex, out), 0);
	assert_memory_equal(in, out, HASH_LEN);

	/* Upper case is accepted too. */
	for (i = 0; i <= HASH_HEX_LEN; i++)
		upper[i] = (hex[i] >= 'a' && hex[i] <= 'f') ?
		    (char)(hex[i] - 'a' + 'A') : hex[i];
	memset(out, 0, sizeof(out));
	assert_int_equal(hash_from_hex(upper, out), 0);
	assert_memory_equal(in, out, HASH_LEN);

	assert_int_equal(hash_from_hex(SHA256_ABC, out), 0);
	assert_int_equal(out[0], 0xba);
	assert_int_equal(out[31], 0xad);
}

static void
hash_from_hex_bad_input_is_rejected(void **state)
{
	static const char *const bad_chars = "gG /:@`-xz\xff";
	char hex[HASH_HEX_LEN + 2];
	uint8_t out[HASH_LEN], before[HASH_LEN];
	size_t i, pos;

	(void)state;
	memset(out, 0x5a, sizeof(out));
	memcpy(before, out, sizeof(out));

	assert_int_equal(hash_from_hex("", out), COFFER_EINVAL);
	assert_int_equal(hash_from_hex(NULL, out), COFFER_EINVAL);
	/* One digit short and one digit long. */
	memcpy(hex, SHA256_ABC, HASH_HEX_LEN - 1);
	hex[HASH_HEX_LEN - 1] = '\0';
	assert_int_equal(hash_from_hex(hex, out), COFFER_EINVAL);
	memcpy(hex, SHA256_ABC, HASH_HEX_LEN);
	hex[HASH_HEX_LEN] = '0';
	hex[HASH_HEX_LEN + 1] = '\0';
	assert_int_equal(hash_from_hex(hex, out), COFFER_EINVAL);
	/* A non-hex character at the first, a middle and the last place. */
	for (i = 0; bad_chars[i] != '\0'; i++) {
		for (pos = 0; pos < HASH_HEX_LEN; pos += 21) {
			memcpy(hex, SHA256_ABC, HASH_HEX_LEN + 1);
			hex[pos] = bad_chars[i];
			assert_int_equal(hash_from_hex(hex, out),
			    COFFER_EINVAL);
		}
		memcpy(hex, SHA256_ABC, HASH_HEX_LEN + 1);
		hex[HASH_HEX_LEN - 1] = bad_chars[i];
		assert_int_equal(hash_from_hex(hex, out), COFFER_EINVAL);
	}
	/* A failed parse leaves out alone. */
	assert_memory_equal(out, before, HASH_LEN);
}

static void
hash_ctx_free_accepts_null(void **state)
{
	(void)state;
	hash_ctx_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    hash_empty_input_matches_known_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    hash_abc_matches_known_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    hash_million_a_matches_known_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    hash_large_buffer_matches_second_context, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    hash_context_reuse_gives_same_result, setup, teardown),
		cmocka_unit_test(hash_hex_round_trip_preserves_bytes),
		cmocka_unit_test(hash_from_hex_bad_input_is_rejected),
		cmocka_unit_test(hash_ctx_free_accepts_null),
	};

	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
