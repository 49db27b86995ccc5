/*
 * test_codec.c - zstd chunk codec: round trips, raw fallback for data that
 * does not compress, and decoding that refuses anything not exactly right.
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
#include "err.h"

#define LEN	(256u * 1024)

struct fixture {
	struct codec	*c;
	uint8_t		*src;
	uint8_t		*dst;
	size_t		 dstcap;
	uint8_t		*out;
};

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
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand(&seed);
}

/* Text-like data that zstd shrinks a lot. */
static void
fill_text(uint8_t *p, size_t n)
{
	static const char words[] = "the quick brown fox jumps over the lazy "
	    "dog while coffer keeps every version of every file; ";

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)words[(i * 7 / 5) % (sizeof(words) - 1)];
}

static int
setup(void **state)
{
	struct fixture *fx;
	struct err e;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	fx->dstcap = codec_bound(LEN);
	fx->src = malloc(LEN);
	fx->dst = malloc(fx->dstcap);
	fx->out = malloc(LEN);
	fx->c = codec_new(0, &e);
	if (fx->src == NULL || fx->dst == NULL || fx->out == NULL ||
	    fx->c == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	codec_free(fx->c);
	free(fx->src);
	free(fx->dst);
	free(fx->out);
	free(fx);
	return 0;
}

static void
codec_compressible_data_round_trips_as_zstd(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t stored;
	uint8_t id = 0;

	fill_text(fx->src, LEN);
	assert_int_equal(codec_encode(fx->c, fx->src, LEN, fx->dst, fx->dstcap,
	    &stored, &id, &e), 0);
	assert_int_equal(id, CODEC_ZSTD);
	assert_true(stored < LEN / 4);
	memset(fx->out, 0xAA, LEN);
	assert_int_equal(codec_decode(fx->c, id, fx->dst, stored, fx->out, LEN,
	    &e), 0);
	assert_memory_equal(fx->out, fx->src, LEN);
}

static void
codec_incompressible_data_is_stored_raw(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t stored = 0;
	uint8_t id = 0;

	fill_rand(fx->src, LEN, 7);
	assert_int_equal(codec_encode(fx->c, fx->src, LEN, fx->dst, fx->dstcap,
	    &stored, &id, &e), 0);
	assert_int_equal(id, CODEC_RAW);
	assert_int_equal(stored, LEN);
	assert_memory_equal(fx->dst, fx->src, LEN);
	assert_int_equal(codec_decode(fx->c, id, fx->dst, stored, fx->out, LEN,
	    &e), 0);
	assert_memory_equal(fx->out, fx->src, LEN);
}

static void
codec_context_reuse_round_trips_every_size(void **state)
{
	struct fixture *fx = *state;
	static const size_t sizes[] = { 1, 2, 63, 64, 4096, 65537, LEN };
	struct err e;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t const n = sizes[k];
		size_t stored;
		uint8_t id;

		if (k % 2)
			fill_text(fx->src, n);
		else
			fill_rand(fx->src, n, k);
		assert_int_equal(codec_encode(fx->c, fx->src, n, fx->dst,
		    codec_bound(n), &stored, &id, &e), 0);
		assert_true(stored <= n);
		assert_int_equal(codec_decode(fx->c, id, fx->dst, stored,
		    fx->out, n, &e), 0);
		assert_memory_equal(fx->out, fx->src, n);
	}
}

static void
codec_wrong_raw_len_is_corrupt(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t stored;
	uint8_t id;

	fill_text(fx->src, LEN);
	assert_int_equal(codec_encode(fx->c, fx->src, LEN, fx->dst, fx->dstcap,
	    &stored, &id, &e), 0);
	assert_int_equal(id, CODEC_ZSTD);
	err_clear(&e);
	assert_int_equal(codec_decode(fx->c, id, fx->dst, stored, fx->out,
	    LEN - 1, &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "raw length"));
	err_clear(&e);
	/* A raw record whose lengths disagree is just as wrong. */
	assert_int_equal(codec_decode(fx->c, CODEC_RAW, fx->src, 100, fx->out,
	    101, &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "stored length 100 != raw length 101"));
}

static void
codec_truncated_zstd_frame_is_corrupt(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t stored;
	uint8_t id;

	fill_text(fx->src, LEN);
	assert_int_equal(codec_encode(fx->c, fx->src, LEN, fx->dst, fx->dstcap,
	    &stored, &id, &e), 0);
	assert_int_equal(id, CODEC_ZSTD);
	/* Cut in the body (header intact) and inside the header. */
	err_clear(&e);
	assert_int_equal(codec_decode(fx->c, id, fx->dst, stored - 1, fx->out,
	    LEN, &e), COFFER_ECORRUPT);
	assert_true(e.msg[0] != '\0');
	err_clear(&e);
	assert_int_equal(codec_decode(fx->c, id, fx->dst, 3, fx->out, LEN, &e),
	    COFFER_ECORRUPT);
	assert_true(e.msg[0] != '\0');
}

static void
codec_bad_frame_magic_is_corrupt(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t stored;
	uint8_t id;
	int r;

	fill_text(fx->src, LEN);
	assert_int_equal(codec_encode(fx->c, fx->src, LEN, fx->dst, fx->dstcap,
	    &stored, &id, &e), 0);
	/* Garbage in place of the frame magic. */
	fx->dst[0] ^= 0xff;
	r = codec_decode(fx->c, id, fx->dst, stored, fx->out, LEN, &e);
	assert_int_equal(r, COFFER_ECORRUPT);
}

static void
codec_unknown_codec_is_corrupt(void **state)
{
	struct fixture *fx = *state;
	struct err e;

	memset(fx->src, 1, 16);
	err_clear(&e);
	assert_int_equal(codec_decode(fx->c, 0, fx->src, 16, fx->out, 16, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "unknown codec 0"));
	assert_int_equal(codec_decode(fx->c, 3, fx->src, 16, fx->out, 16, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "unknown codec 3"));
}

static void
codec_bad_level_is_rejected(void **state)
{
	struct err e;

	(void)state;
	err_clear(&e);
	assert_null(codec_new(-1, &e));
	assert_int_equal(e.code, COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "compression level -1"));
	err_clear(&e);
	assert_null(codec_new(1000, &e));
	assert_int_equal(e.code, COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "compression level 1000"));
}

static void
codec_small_output_buffer_is_rejected(void **state)
{
	struct fixture *fx = *state;
	struct err e;
	size_t stored;
	uint8_t id;

	fill_rand(fx->src, 1000, 3);
	assert_int_equal(codec_encode(fx->c, fx->src, 1000, fx->dst, 999,
	    &stored, &id, &e), COFFER_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    codec_compressible_data_round_trips_as_zstd, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    codec_incompressible_data_is_stored_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    codec_context_reuse_round_trips_every_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(codec_wrong_raw_len_is_corrupt,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    codec_truncated_zstd_frame_is_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    codec_bad_frame_magic_is_corrupt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(codec_unknown_codec_is_corrupt,
		    setup, teardown),
		cmocka_unit_test(codec_bad_level_is_rejected),
		cmocka_unit_test_setup_teardown(
		    codec_small_output_buffer_is_rejected, setup, teardown),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
