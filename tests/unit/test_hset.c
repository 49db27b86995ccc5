/*
 * test_hset.c - the hash set of chunk names: put/get/del, growth, and
 * backward-shift deletion that must keep every other key reachable, also
 * for probe runs that collide and wrap around the end of the table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hset.h"

struct fixture {
	struct hset	s;
};

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	hset_init(&fx->s);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	hset_free(&fx->s);
	free(fx);
	return 0;
}

static uint64_t
mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* A key that looks like a SHA-256: pseudo-random from i. */
static void
key_of(uint64_t i, uint8_t key[32])
{
	for (int w = 0; w < 4; w++) {
		uint64_t const v = mix(i * 4 + (uint64_t)w);

		memcpy(key + 8 * w, &v, 8);
	}
}

/*
 * A key whose slot is slot (hset takes the first 8 bytes in host order,
 * as memcpy here writes them) and whose tail tells it apart.
 */
static void
key_at_slot(uint64_t slot, uint32_t tag, uint8_t key[32])
{
	memset(key, 0, 32);
	memcpy(key, &slot, 8);
	memcpy(key + 8, &tag, 4);
	key[31] = 0x5a;
}

static void
put_val(struct hset *s, const uint8_t key[32], int64_t val)
{
	struct hset_slot *sl = hset_put(s, key, NULL);

	assert_non_null(sl);
	sl->val = val;
}

static void
hset_put_get_del_behave_as_a_set(void **state)
{
	struct fixture *fx = *state;
	struct hset_slot *sl;
	uint8_t a[32], b[32];
	int added = -1;

	key_of(1, a);
	key_of(2, b);
	assert_null(hset_get(&fx->s, a));
	assert_int_equal(hset_del(&fx->s, a), 0);
	sl = hset_put(&fx->s, a, &added);
	assert_non_null(sl);
	assert_int_equal(added, 1);
	assert_int_equal(sl->val, 0);
	sl->val = 42;
	/* A second put finds the same slot and keeps its value. */
	sl = hset_put(&fx->s, a, &added);
	assert_int_equal(added, 0);
	assert_int_equal(sl->val, 42);
	assert_int_equal(fx->s.n, 1);
	assert_null(hset_get(&fx->s, b));
	assert_non_null(hset_put(&fx->s, b, NULL));
	assert_int_equal(fx->s.n, 2);
	assert_int_equal(hset_get(&fx->s, a)->val, 42);
	assert_int_equal(hset_del(&fx->s, a), 1);
	assert_null(hset_get(&fx->s, a));
	assert_int_equal(hset_del(&fx->s, a), 0);
	assert_non_null(hset_get(&fx->s, b));
	assert_int_equal(fx->s.n, 1);
}

static void
hset_growth_past_100k_keys_keeps_all_values(void **state)
{
	struct fixture *fx = *state;
	uint64_t const n = 150000;
	uint8_t k[32];

	for (uint64_t i = 0; i < n; i++) {
		struct hset_slot *sl;
		int added;

		key_of(i, k);
		assert_non_null(sl = hset_put(&fx->s, k, &added));
		assert_int_equal(added, 1);
		sl->val = (int64_t)i * 3;
	}
	assert_int_equal(fx->s.n, n);
	/* Grows at 50% load: the table is a power of two above 2n. */
	assert_true(fx->s.cap >= 2 * n);
	assert_int_equal(fx->s.cap & (fx->s.cap - 1), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct hset_slot *sl;

		key_of(i, k);
		assert_non_null(sl = hset_get(&fx->s, k));
		assert_int_equal(sl->val, (int64_t)i * 3);
	}
	key_of(n, k);
	assert_null(hset_get(&fx->s, k));
}

static void
hset_delete_in_random_keys_keeps_others_findable(void **state)
{
	struct fixture *fx = *state;
	uint64_t const n = 20000;
	uint8_t k[32];

	for (uint64_t i = 0; i < n; i++) {
		key_of(i, k);
		put_val(&fx->s, k, (int64_t)i);
	}
	for (uint64_t i = 0; i < n; i += 3) {
		key_of(i, k);
		assert_int_equal(hset_del(&fx->s, k), 1);
	}
	for (uint64_t i = 0; i < n; i++) {
		struct hset_slot *sl;

		key_of(i, k);
		sl = hset_get(&fx->s, k);
		if (i % 3 == 0) {
			assert_null(sl);
		} else {
			assert_non_null(sl);
			assert_int_equal(sl->val, (int64_t)i);
		}
	}
	assert_int_equal(fx->s.n, n - (n + 2) / 3);
}

static void
hset_delete_in_colliding_run_shifts_back(void **state)
{
	struct fixture *fx = *state;
	uint8_t k[8][32];

	/*
	 * The first table has 64 slots.  Keys 0-3 all want slot 10, key 4
	 * wants 11 (so it sits behind them), keys 5-7 want 13.  Deleting
	 * the head of the run must pull the rest back, or they are lost.
	 */
	for (uint32_t t = 0; t < 4; t++)
		key_at_slot(10, t, k[t]);
	key_at_slot(11, 4, k[4]);
	for (uint32_t t = 5; t < 8; t++)
		key_at_slot(13, t, k[t]);
	for (int i = 0; i < 8; i++)
		put_val(&fx->s, k[i], i + 100);
	assert_int_equal(fx->s.cap, 64);
	assert_int_equal(hset_del(&fx->s, k[0]), 1);
	assert_int_equal(hset_del(&fx->s, k[2]), 1);
	for (int i = 0; i < 8; i++) {
		struct hset_slot *sl = hset_get(&fx->s, k[i]);

		if (i == 0 || i == 2) {
			assert_null(sl);
			continue;
		}
		assert_non_null(sl);
		assert_int_equal(sl->val, i + 100);
	}
	/* Nothing sits before its home slot after the shifts. */
	for (int i = 1; i < 8; i++) {
		struct hset_slot *sl = hset_get(&fx->s, k[i]);
		size_t const at = (size_t)(sl - fx->s.slots);
		uint64_t home;

		if (i == 2)
			continue;
		memcpy(&home, k[i], 8);
		assert_true(at >= home);
	}
}

static void
hset_delete_in_wrapped_run_keeps_others_findable(void **state)
{
	struct fixture *fx = *state;
	uint8_t k[6][32];

	/* Keys 0-3 want slot 62, keys 4-5 want slot 0: the run wraps. */
	for (uint32_t t = 0; t < 4; t++)
		key_at_slot(62, t, k[t]);
	key_at_slot(0, 4, k[4]);
	key_at_slot(0, 5, k[5]);
	for (int i = 0; i < 6; i++)
		put_val(&fx->s, k[i], i);
	assert_int_equal(fx->s.cap, 64);
	for (int del = 0; del < 6; del++) {
		assert_int_equal(hset_del(&fx->s, k[del]), 1);
		for (int i = 0; i < 6; i++) {
			struct hset_slot *sl = hset_get(&fx->s, k[i]);

			if (i <= del) {
				assert_null(sl);
			} else {
				assert_non_null(sl);
				assert_int_equal(sl->val, i);
			}
		}
	}
	assert_int_equal(fx->s.n, 0);
}

static void
hset_reput_after_delete_starts_at_zero(void **state)
{
	struct fixture *fx = *state;
	uint8_t k[32];
	int added = 0;

	key_of(77, k);
	put_val(&fx->s, k, 9);
	assert_int_equal(hset_del(&fx->s, k), 1);
	assert_non_null(hset_put(&fx->s, k, &added));
	assert_int_equal(added, 1);
	assert_int_equal(hset_get(&fx->s, k)->val, 0);
	assert_int_equal(fx->s.n, 1);
	/* And after many puts and deletes, the set is still usable. */
	for (uint64_t round = 0; round < 5; round++) {
		for (uint64_t i = 0; i < 1000; i++) {
			key_of(1000 + i, k);
			assert_non_null(hset_put(&fx->s, k, NULL));
		}
		for (uint64_t i = 0; i < 1000; i++) {
			key_of(1000 + i, k);
			assert_int_equal(hset_del(&fx->s, k), 1);
		}
	}
	assert_int_equal(fx->s.n, 1);
	key_of(77, k);
	assert_non_null(hset_get(&fx->s, k));
}

static void
hset_free_leaves_set_reusable(void **state)
{
	struct fixture *fx = *state;
	uint8_t k[32];

	key_of(5, k);
	assert_non_null(hset_put(&fx->s, k, NULL));
	hset_free(&fx->s);
	assert_int_equal(fx->s.n, 0);
	assert_null(hset_get(&fx->s, k));
	assert_int_equal(hset_del(&fx->s, k), 0);
	assert_non_null(hset_put(&fx->s, k, NULL));
	assert_non_null(hset_get(&fx->s, k));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    hset_put_get_del_behave_as_a_set, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    hset_growth_past_100k_keys_keeps_all_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    hset_delete_in_random_keys_keeps_others_findable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    hset_delete_in_colliding_run_shifts_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    hset_delete_in_wrapped_run_keeps_others_findable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    hset_reput_after_delete_starts_at_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(hset_free_leaves_set_reusable,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("hset", tests, NULL, NULL);
}
