/*
 * test_chunker.c - FastCDC: parameter checks, chunk size bounds, cut points
 * that depend on content only, resynchronisation after an insertion,
 * average size, zero runs, and pinned boundaries.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "err.h"

#define KIB		(1024u)
#define MIB		(1024u * 1024)
#define RAND_LEN	(64 * MIB)	/* shared data, see group_setup */
#define EDIT_LEN	(16 * MIB)

/* Random bytes shared by the tests that only read them. */
static uint8_t *rand_data;

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
	uint64_t v;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		v = next_rand(&seed);
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)next_rand(&seed);
}

static int
group_setup(void **state)
{
	(void)state;
	if ((rand_data = malloc(RAND_LEN)) == NULL)
		return -1;
	fill_rand(rand_data, RAND_LEN, 42);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(rand_data);
	rand_data = NULL;
	return 0;
}

struct ends {
	size_t	*v;	/* end offset of each chunk, ascending */
	size_t	n;
};

static void
ends_push(struct ends *e, size_t end)
{
	if ((e->n & (e->n - 1)) == 0) {
		e->v = realloc(e->v, (e->n ? 2 * e->n : 1) * sizeof(*e->v));
		assert_non_null(e->v);
	}
	e->v[e->n++] = end;
}

/*
 * Chunk p[0..n) the way the header asks: each call sees min(rest, max)
 * bytes.  Checks every chunk's size on the way.
 */
static struct ends
chunk_all(const struct chunker *c, const uint8_t *p, size_t n)
{
	struct ends e = { NULL, 0 };
	size_t off = 0, rest, give, len;

	while (off < n) {
		rest = n - off;
		give = rest < c->max ? rest : c->max;
		len = chunker_next(c, p + off, give);
		assert_true(len >= 1 && len <= give);
		if (off + len < n) {
			/* Only the last chunk may be shorter than min. */
			assert_true(len > c->min);
		}
		off += len;
		ends_push(&e, off);
	}
	return e;
}

/* Is x among the ascending values v[0..n)? */
static int
has_end(const struct ends *e, size_t x)
{
	size_t lo = 0, hi = e->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (e->v[mid] == x)
			return 1;
		if (e->v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void
chunker_init_defaults_succeeds(void **state)
{
	struct chunker c;

	(void)state;
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	assert_int_equal(c.min, CHUNKER_MIN_DEFAULT);
	assert_int_equal(c.avg, CHUNKER_AVG_DEFAULT);
	assert_int_equal(c.max, CHUNKER_MAX_DEFAULT);
	/* Normalization level 2 around log2(256 KiB) = 18 bits. */
	assert_int_equal(__builtin_popcountll(c.mask_s), 20);
	assert_int_equal(__builtin_popcountll(c.mask_l), 16);

	/* The extremes of the accepted range. */
	assert_int_equal(chunker_init(&c, CHUNKER_LIMIT_MIN, 128,
	    CHUNKER_LIMIT_MAX), 0);
	assert_int_equal(__builtin_popcountll(c.mask_s), 9);
	assert_int_equal(__builtin_popcountll(c.mask_l), 5);
	assert_int_equal(chunker_init(&c, CHUNKER_LIMIT_MIN,
	    CHUNKER_LIMIT_MAX / 2, CHUNKER_LIMIT_MAX), 0);
	assert_int_equal(__builtin_popcountll(c.mask_s), 25);
	assert_int_equal(__builtin_popcountll(c.mask_l), 21);
}

static void
chunker_init_bad_params_are_rejected(void **state)
{
	static const uint32_t bad[][3] = {
		{ 0, 0, 0 },
		{ CHUNKER_LIMIT_MIN - 1, 256, 1024 },	/* min too small */
		{ 256, 256, 1024 },			/* min == avg */
		{ 512, 256, 1024 },			/* min > avg */
		{ 64, 1024, 1024 },			/* avg == max */
		{ 64, 1024, 512 },			/* avg > max */
		{ 64 * KIB, 256 * KIB, CHUNKER_LIMIT_MAX + 1 },
		{ 64 * KIB, 256 * KIB, UINT32_MAX },
		{ 64 * KIB, 200 * KIB, MIB },		/* avg not 2^k */
		{ 64 * KIB, 192 * KIB, MIB },
		{ 64, 129, 1024 },
	};
	struct chunker c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chunker_init(&c, bad[i][0], bad[i][1],
		    bad[i][2]), COFFER_EINVAL);
	}
}

static void
chunker_small_input_returns_n(void **state)
{
	struct chunker c;
	size_t n;

	(void)state;
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	assert_int_equal(chunker_next(&c, rand_data, 0), 0);
	for (n = 1; n <= c.min; n = n * 2 + 1)
		assert_int_equal(chunker_next(&c, rand_data, n), n);
	assert_int_equal(chunker_next(&c, rand_data, c.min), c.min);
	/* One byte over min: a cut after it or none, both give n. */
	assert_int_equal(chunker_next(&c, rand_data, c.min + 1), c.min + 1);
}

static void
chunker_chunks_are_within_min_and_max_except_last(void **state)
{
	struct chunker c;
	struct ends e;
	size_t i, prev = 0, len;

	(void)state;
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	/* An odd length, so that the last chunk is a short one. */
	e = chunk_all(&c, rand_data, 16 * MIB + 12345);
	assert_true(e.n > 10);
	for (i = 0; i < e.n; i++) {
		len = e.v[i] - prev;
		assert_true(len <= c.max);
		if (i + 1 < e.n)
			assert_true(len > c.min);
		prev = e.v[i];
	}
	assert_int_equal(prev, 16 * MIB + 12345);

	/* Handing in more than max changes nothing: the chunker clamps. */
	for (i = 0, prev = 0; i + 1 < e.n; i++) {
		len = chunker_next(&c, rand_data + prev,
		    16 * MIB + 12345 - prev);
		assert_int_equal(prev + len, e.v[i]);
		prev = e.v[i];
	}
	free(e.v);
}

/*
 * A streaming caller: reads arrive in odd sizes into a window of max bytes,
 * and the chunker is called once the window is full or the input ended.
 */
static struct ends
chunk_streaming(const struct chunker *c, const uint8_t *src, size_t n,
    uint64_t seed)
{
	struct ends e = { NULL, 0 };
	uint8_t *win;
	size_t have = 0, pos = 0, done = 0, want, len;

	win = malloc(c->max);
	assert_non_null(win);
	for (;;) {
		while (have < c->max && pos < n) {
			want = 1 + next_rand(&seed) % (c->max / 3);
			if (want > c->max - have)
				want = c->max - have;
			if (want > n - pos)
				want = n - pos;
			memcpy(win + have, src + pos, want);
			have += want;
			pos += want;
		}
		if (have == 0)
			break;
		len = chunker_next(c, win, have);
		done += len;
		ends_push(&e, done);
		memmove(win, win + len, have - len);
		have -= len;
	}
	free(win);
	return e;
}

static void
chunker_same_data_same_boundaries_however_fed(void **state)
{
	static const uint32_t params[][3] = {
		{ CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT,
		    CHUNKER_MAX_DEFAULT },
		{ 2 * KIB, 8 * KIB, 64 * KIB },
	};
	struct chunker c;
	struct ends whole, fed;
	size_t const n = 8 * MIB + 777;
	size_t i, k;

	(void)state;
	for (k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
		assert_int_equal(chunker_init(&c, params[k][0], params[k][1],
		    params[k][2]), 0);
		whole = chunk_all(&c, rand_data, n);
		for (i = 0; i < 3; i++) {
			fed = chunk_streaming(&c, rand_data, n, 100 + i);
			assert_int_equal(fed.n, whole.n);
			assert_memory_equal(fed.v, whole.v,
			    whole.n * sizeof(whole.v[0]));
			free(fed.v);
		}
		free(whole.v);
	}
}

static void
chunker_insertion_changes_only_nearby_chunks(void **state)
{
	struct chunker c;
	struct ends a, b;
	uint8_t *edited;
	size_t const at = EDIT_LEN / 2 + 1001;
	size_t i, before = 0, after = 0, moved = 0, moved_b = 0, after_b = 0;

	(void)state;
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	edited = malloc(EDIT_LEN + 1);
	assert_non_null(edited);
	memcpy(edited, rand_data, at);
	edited[at] = (uint8_t)~rand_data[at];
	memcpy(edited + at + 1, rand_data + at, EDIT_LEN - at);

	a = chunk_all(&c, rand_data, EDIT_LEN);
	b = chunk_all(&c, edited, EDIT_LEN + 1);

	/* Every chunk that ends at or before the edit is untouched. */
	for (i = 0; i < a.n && a.v[i] <= at; i++) {
		assert_true(i < b.n);
		assert_int_equal(a.v[i], b.v[i]);
		before++;
	}
	assert_true(before > 10);

	/* After it, boundaries come back shifted by the inserted byte. */
	for (; i < a.n; i++) {
		after++;
		if (!has_end(&b, a.v[i] + 1))
			moved++;
	}
	for (i = 0; i < b.n; i++) {
		if (b.v[i] <= at)
			continue;
		after_b++;
		if (!has_end(&a, b.v[i] - 1))
			moved_b++;
	}
	assert_true(after > 10);
	/* Only the chunk holding the edit, and rarely the next, differ. */
	assert_true(moved <= 2);
	assert_true(moved_b <= 2);
	assert_true(after_b >= after - 2 && after_b <= after + 2);
	free(a.v);
	free(b.v);
	free(edited);
}

static void
check_average(uint32_t min, uint32_t avg, uint32_t max, size_t n)
{
	struct chunker c;
	struct ends e;
	double mean;

	assert_int_equal(chunker_init(&c, min, avg, max), 0);
	e = chunk_all(&c, rand_data, n);
	mean = (double)n / (double)e.n;
	print_message("avg %u: %zu chunks, mean %.0f bytes (%.2f x avg)\n",
	    avg, e.n, mean, mean / avg);
	assert_true(mean >= 0.6 * avg);
	assert_true(mean <= 1.6 * avg);
	free(e.v);
}

static void
chunker_average_default_params_is_near_avg(void **state)
{
	(void)state;
	check_average(CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT,
	    CHUNKER_MAX_DEFAULT, RAND_LEN);
}

static void
chunker_average_64k_is_near_avg(void **state)
{
	(void)state;
	check_average(16 * KIB, 64 * KIB, 256 * KIB, RAND_LEN / 2);
}

static void
chunker_average_1m_is_near_avg(void **state)
{
	(void)state;
	check_average(256 * KIB, MIB, 4 * MIB, RAND_LEN);
}

/*
 * The gear table is chosen so that zero runs never match a mask, for every
 * avg the chunker accepts: zero regions become identical max-size chunks.
 */
static void
chunker_zero_data_cuts_at_max(void **state)
{
	struct chunker c;
	uint8_t *zero;
	uint32_t avg, min, max;
	size_t const n = 2 * (size_t)CHUNKER_LIMIT_MAX;
	size_t off, len;

	(void)state;
	zero = calloc(1, n);
	assert_non_null(zero);
	for (avg = 128; avg <= CHUNKER_LIMIT_MAX / 2; avg *= 2) {
		min = avg / 4 < CHUNKER_LIMIT_MIN ? CHUNKER_LIMIT_MIN :
		    avg / 4;
		max = avg * 2;
		assert_int_equal(chunker_init(&c, min, avg, max), 0);
		for (off = 0; off + max <= n && off < 2 * (size_t)max;
		    off += len) {
			len = chunker_next(&c, zero + off, max);
			assert_int_equal(len, max);
		}
		/* A zero tail shorter than max is returned whole. */
		assert_int_equal(chunker_next(&c, zero, max - 1), max - 1);
	}
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	assert_int_equal(chunker_next(&c, zero, n), CHUNKER_MAX_DEFAULT);
	free(zero);
}

static void
chunker_custom_small_params_work(void **state)
{
	struct chunker c;
	struct ends e;
	size_t const n = 4 * MIB;
	size_t i, prev = 0, len, at_max = 0;
	double mean;

	(void)state;
	assert_int_equal(chunker_init(&c, 2 * KIB, 8 * KIB, 64 * KIB), 0);
	assert_int_equal(__builtin_popcountll(c.mask_s), 15);
	assert_int_equal(__builtin_popcountll(c.mask_l), 11);
	e = chunk_all(&c, rand_data, n);
	for (i = 0; i < e.n; i++) {
		len = e.v[i] - prev;
		assert_true(len <= 64 * KIB);
		if (i + 1 < e.n)
			assert_true(len > 2 * KIB);
		if (len == 64 * KIB)
			at_max++;
		prev = e.v[i];
	}
	mean = (double)n / (double)e.n;
	assert_true(mean >= 0.6 * 8 * KIB && mean <= 1.6 * 8 * KIB);
	/* Normalization makes forced cuts at max vanishingly rare. */
	assert_true(at_max <= e.n / 100);
	free(e.v);
}

/* A short final piece: a cut inside it or the whole piece, never more. */
static void
chunker_result_never_exceeds_n(void **state)
{
	struct chunker c;
	size_t n, len;

	(void)state;
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	for (n = c.min + 1; n <= c.max + 4096; n += 4093) {
		len = chunker_next(&c, rand_data + n, n);
		assert_true(len > c.min);
		assert_true(len <= n && len <= c.max);
	}
}

/*
 * Cut points are part of the storage format: a change in the gear table or
 * the masks would stop new backups deduplicating against old ones.  These
 * values pin them; update them only with a format version bump.
 */
static void
chunker_boundaries_match_pinned_values(void **state)
{
	static const size_t want_default[] = {
		262805, 567336, 845167, 1150853, 1288818, 1564576,
		2031233, 2402525, 2677026, 3015388, 3470009, 3753753,
		4048787,
	};
	static const size_t want_small[] = {
		9458, 18239, 25742, 33129, 49029, 57243, 66448, 74691,
		83837, 95366, 107650, 119997, 128918, 139735, 147040,
		165191, 167487, 177549, 188707, 198550, 213543, 227765,
		239018, 250825, 259288,
	};
	struct chunker c;
	struct ends e;
	size_t i;

	(void)state;
	assert_int_equal(chunker_init(&c, CHUNKER_MIN_DEFAULT,
	    CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT), 0);
	e = chunk_all(&c, rand_data, 4 * MIB);
	assert_true(e.n >= sizeof(want_default) / sizeof(want_default[0]));
	for (i = 0; i < sizeof(want_default) / sizeof(want_default[0]); i++)
		assert_int_equal(e.v[i], want_default[i]);
	free(e.v);

	assert_int_equal(chunker_init(&c, 2 * KIB, 8 * KIB, 64 * KIB), 0);
	e = chunk_all(&c, rand_data, 256 * KIB);
	assert_true(e.n >= sizeof(want_small) / sizeof(want_small[0]));
	for (i = 0; i < sizeof(want_small) / sizeof(want_small[0]); i++)
		assert_int_equal(e.v[i], want_small[i]);
	free(e.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chunker_init_defaults_succeeds),
		cmocka_unit_test(chunker_init_bad_params_are_rejected),
		cmocka_unit_test(chunker_small_input_returns_n),
		cmocka_unit_test(
		    chunker_chunks_are_within_min_and_max_except_last),
		cmocka_unit_test(chunker_same_data_same_boundaries_however_fed),
		cmocka_unit_test(chunker_insertion_changes_only_nearby_chunks),
		cmocka_unit_test(chunker_average_default_params_is_near_avg),
		cmocka_unit_test(chunker_average_64k_is_near_avg),
		cmocka_unit_test(chunker_average_1m_is_near_avg),
		cmocka_unit_test(chunker_zero_data_cuts_at_max),
		cmocka_unit_test(chunker_custom_small_params_work),
		cmocka_unit_test(chunker_result_never_exceeds_n),
		cmocka_unit_test(chunker_boundaries_match_pinned_values),
	};

	return cmocka_run_group_tests_name("chunker", tests, group_setup,
	    group_teardown);
}
