/*
 * test_uuid.c - the UUIDv7 generator: layout (timestamp, version and
 * variant bits), memcmp order over many calls in one millisecond and
 * across a clock step back, distinct values, and the process-wide
 * uuid_v7_new.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "uuid.h"

#define MANY	100000

static void
check_layout(const uint8_t u[UUID_LEN])
{
	assert_int_equal(u[6] >> 4, 7);		/* version 7 */
	assert_int_equal(u[8] >> 6, 2);		/* variant 10 */
}

/* Deterministic "random" bytes: a counter through a small LCG. */
static void
fake_rand(uint32_t *seed, uint8_t rnd[10])
{
	for (int i = 0; i < 10; i++) {
		*seed = *seed * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(*seed >> 16);
	}
}

static void
uuid_v7_layout_has_time_version_variant(void **state)
{
	struct uuid_v7_state st;
	uint8_t const ff[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff };
	uint8_t const zero[10] = { 0 };
	uint64_t const ms = UINT64_C(0x017f22e279b0);	/* RFC 9562 A.6 */
	uint8_t u[UUID_LEN];

	(void)state;
	memset(&st, 0, sizeof(st));
	uuid_v7_next(&st, ms, ff, u);
	check_layout(u);
	assert_int_equal(uuid_v7_ms(u), ms);
	assert_int_equal(u[0], 0x01);
	assert_int_equal(u[5], 0xb0);
	assert_int_equal(u[6], 0x7f);
	assert_int_equal(u[8], 0xbf);
	memset(&st, 0, sizeof(st));
	uuid_v7_next(&st, ms, zero, u);
	check_layout(u);
	assert_int_equal(u[6], 0x70);
	assert_int_equal(u[8], 0x80);
}

static void
uuid_v7_same_ms_calls_are_increasing_and_distinct(void **state)
{
	struct uuid_v7_state st;
	uint8_t *all, rnd[10];
	uint32_t seed = 1;
	uint64_t const ms = 1764000000000ULL;

	(void)state;
	memset(&st, 0, sizeof(st));
	all = malloc((size_t)MANY * UUID_LEN);
	assert_non_null(all);
	for (size_t i = 0; i < MANY; i++) {
		uint8_t *const u = all + i * UUID_LEN;

		fake_rand(&seed, rnd);
		uuid_v7_next(&st, ms, rnd, u);
		check_layout(u);
		/* Strictly after the previous one: distinct and in order. */
		if (i > 0)
			assert_true(memcmp(u - UUID_LEN, u, UUID_LEN) < 0);
	}
	/* The timestamp stays (74 random bits take 2^43 increments). */
	assert_int_equal(uuid_v7_ms(all + (MANY - 1) * UUID_LEN), ms);
	free(all);
}

static void
uuid_v7_clock_step_back_keeps_order(void **state)
{
	struct uuid_v7_state st;
	uint8_t a[UUID_LEN], b[UUID_LEN], c[UUID_LEN], rnd[10];
	uint32_t seed = 7;

	(void)state;
	memset(&st, 0, sizeof(st));
	fake_rand(&seed, rnd);
	uuid_v7_next(&st, 5000, rnd, a);
	fake_rand(&seed, rnd);
	uuid_v7_next(&st, 4000, rnd, b);	/* NTP stepped back 1 s */
	fake_rand(&seed, rnd);
	uuid_v7_next(&st, 6000, rnd, c);
	assert_true(memcmp(a, b, UUID_LEN) < 0);
	assert_true(memcmp(b, c, UUID_LEN) < 0);
	assert_int_equal(uuid_v7_ms(b), 5000);
	assert_int_equal(uuid_v7_ms(c), 6000);
	check_layout(b);
}

static void
uuid_v7_overflow_moves_to_next_ms(void **state)
{
	struct uuid_v7_state st;
	uint8_t const ff[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff };
	uint8_t a[UUID_LEN], b[UUID_LEN];

	(void)state;
	memset(&st, 0, sizeof(st));
	/* Every random bit set: the next one in this ms cannot fit. */
	uuid_v7_next(&st, 9000, ff, a);
	uuid_v7_next(&st, 9000, ff, b);
	check_layout(b);
	assert_int_equal(uuid_v7_ms(b), 9001);
	assert_true(memcmp(a, b, UUID_LEN) < 0);
}

static void
uuid_v7_new_is_ordered_and_near_now(void **state)
{
	uint8_t prev[UUID_LEN], u[UUID_LEN];
	struct err e;
	uint64_t const t0 = (uint64_t)time(NULL) * 1000;

	(void)state;
	assert_int_equal(uuid_v7_new(prev, &e), 0);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(uuid_v7_new(u, &e), 0);
		check_layout(u);
		assert_true(memcmp(prev, u, UUID_LEN) < 0);
		memcpy(prev, u, UUID_LEN);
	}
	/* Its clock is the wall clock: within a minute of time(). */
	assert_true(uuid_v7_ms(u) + 1000 >= t0);
	assert_true(uuid_v7_ms(u) <= t0 + 60000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_v7_layout_has_time_version_variant),
		cmocka_unit_test(
		    uuid_v7_same_ms_calls_are_increasing_and_distinct),
		cmocka_unit_test(uuid_v7_clock_step_back_keeps_order),
		cmocka_unit_test(uuid_v7_overflow_moves_to_next_ms),
		cmocka_unit_test(uuid_v7_new_is_ordered_and_near_now),
	};

	return cmocka_run_group_tests_name("uuid", tests, NULL, NULL);
}
