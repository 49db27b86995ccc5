/*
 * test_recipe.c - object recipes: entries read back as written, zero runs
 * merge (and only with each other), the pinned byte layout, and ragged
 * BLOBs rejected.
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
#include "pool_recipe.h"
#include "util.h"

struct fixture {
	struct pool_recipe	r;
};

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	pool_recipe_init(&fx->r);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	pool_recipe_free(&fx->r);
	free(fx);
	return 0;
}

static void
hash_of(int i, uint8_t h[HASH_LEN])
{
	for (int k = 0; k < HASH_LEN; k++)
		h[k] = (uint8_t)(i * 31 + k + 1);
}

static void
recipe_entries_round_trip(void **state)
{
	struct fixture *fx = *state;
	int const n = 1000;	/* several reallocations */
	uint64_t total = 0;
	struct err e;
	size_t count;

	for (int i = 0; i < n; i++) {
		uint8_t h[HASH_LEN];

		hash_of(i, h);
		assert_int_equal(pool_recipe_add(&fx->r, h,
		    (uint32_t)(65536 + i), &e), 0);
		total += (uint64_t)(65536 + i);
	}
	assert_int_equal(fx->r.len, (size_t)n * POOL_RECIPE_ENTRY);
	assert_int_equal(fx->r.raw_size, total);
	assert_int_equal(pool_recipe_count(fx->r.p, fx->r.len, &count, &e), 0);
	assert_int_equal(count, n);
	for (int i = 0; i < n; i++) {
		uint8_t h[HASH_LEN];

		hash_of(i, h);
		assert_memory_equal(pool_recipe_hash(fx->r.p, (size_t)i), h,
		    HASH_LEN);
		assert_int_equal(pool_recipe_len(fx->r.p, (size_t)i),
		    65536 + i);
		assert_false(pool_recipe_is_zero(fx->r.p, (size_t)i));
	}
}

static void
recipe_layout_is_hash_then_le32_length(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct err e;

	hash_of(3, h);
	assert_int_equal(pool_recipe_add(&fx->r, h, 0x01020304u, &e), 0);
	assert_int_equal(POOL_RECIPE_ENTRY, 36);
	assert_int_equal(fx->r.len, 36);
	assert_memory_equal(fx->r.p, h, HASH_LEN);
	assert_int_equal(fx->r.p[32], 0x04);
	assert_int_equal(fx->r.p[33], 0x03);
	assert_int_equal(fx->r.p[34], 0x02);
	assert_int_equal(fx->r.p[35], 0x01);
}

static void
recipe_adjacent_zero_runs_merge(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct err e;
	size_t n;

	hash_of(1, h);
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 4096, &e), 0);
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 8192, &e), 0);
	assert_int_equal(pool_recipe_add(&fx->r, h, 100, &e), 0);
	/* A zero run after a stored chunk starts a new entry ... */
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 1, &e), 0);
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 2, &e), 0);
	assert_int_equal(pool_recipe_count(fx->r.p, fx->r.len, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_true(pool_recipe_is_zero(fx->r.p, 0));
	assert_int_equal(pool_recipe_len(fx->r.p, 0), 4096 + 8192);
	assert_false(pool_recipe_is_zero(fx->r.p, 1));
	assert_int_equal(pool_recipe_len(fx->r.p, 1), 100);
	assert_true(pool_recipe_is_zero(fx->r.p, 2));
	assert_int_equal(pool_recipe_len(fx->r.p, 2), 3);
	assert_int_equal(fx->r.raw_size, 4096 + 8192 + 100 + 3);
}

static void
recipe_zero_run_past_u32_starts_new_entry(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t n;

	assert_int_equal(pool_recipe_add(&fx->r, NULL, UINT32_MAX - 10, &e), 0);
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 10, &e), 0);
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 1, &e), 0);
	assert_int_equal(pool_recipe_count(fx->r.p, fx->r.len, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pool_recipe_len(fx->r.p, 0), UINT32_MAX);
	assert_int_equal(pool_recipe_len(fx->r.p, 1), 1);
	assert_int_equal(fx->r.raw_size, (uint64_t)UINT32_MAX + 1);
}

static void
recipe_ragged_length_is_rejected(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct err e;
	size_t n = 12345;

	hash_of(1, h);
	assert_int_equal(pool_recipe_add(&fx->r, h, 1, &e), 0);
	assert_int_equal(pool_recipe_add(&fx->r, h, 2, &e), 0);
	err_clear(&e);
	assert_int_equal(pool_recipe_count(fx->r.p, fx->r.len - 1, &n, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "recipe length 71"));
	assert_int_equal(n, 12345);
	assert_int_equal(pool_recipe_count(fx->r.p, 0, &n, &e), 0);
	assert_int_equal(n, 0);
}

static void
recipe_reset_keeps_memory_and_empties(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];
	struct err e;
	uint8_t *mem;

	hash_of(9, h);
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 7, &e), 0);
	mem = fx->r.p;
	pool_recipe_reset(&fx->r);
	assert_int_equal(fx->r.len, 0);
	assert_int_equal(fx->r.raw_size, 0);
	assert_ptr_equal(fx->r.p, mem);
	/* A zero run after a reset does not merge with the forgotten one. */
	assert_int_equal(pool_recipe_add(&fx->r, NULL, 3, &e), 0);
	assert_int_equal(fx->r.len, POOL_RECIPE_ENTRY);
	assert_int_equal(pool_recipe_len(fx->r.p, 0), 3);
	assert_int_equal(pool_recipe_add(&fx->r, h, 5, &e), 0);
	assert_int_equal(fx->r.len, 2 * POOL_RECIPE_ENTRY);
	assert_memory_equal(pool_recipe_hash(fx->r.p, 1), h, HASH_LEN);
	assert_int_equal(fx->r.raw_size, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(recipe_entries_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    recipe_layout_is_hash_then_le32_length, setup, teardown),
		cmocka_unit_test_setup_teardown(recipe_adjacent_zero_runs_merge,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    recipe_zero_run_past_u32_starts_new_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    recipe_ragged_length_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    recipe_reset_keeps_memory_and_empties, setup, teardown),
	};

	return cmocka_run_group_tests_name("recipe", tests, NULL, NULL);
}
