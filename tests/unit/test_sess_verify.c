/*
 * test_sess_verify.c - CHUNK_PUT verification on helper threads: every
 * item of a batch gets its own result, a bad chunk among good ones is
 * reported as that chunk's, and batches from several callers at once do
 * not mix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "pool.h"
#include "sess_verify.h"
#include "util.h"

#define NCHUNK	40
#define CHUNK	(96 * 1024)

struct fixture {
	char			 dir[64];
	struct pool		*p;
	struct pool_reader	*rd;
	struct sess_verify	*v;
	uint8_t			*stored[NCHUNK];
	struct sess_verify_item	 it[NCHUNK];
};

static int
setup(void **state)
{
	struct pool_params pp;
	struct fixture *fx;
	struct codec *c;
	struct hash_ctx *h;
	uint8_t *raw;
	struct err e;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	*state = fx;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-verify.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	pool_params_default(&pp);
	if (pool_create(fx->dir, NULL, &pp, &e) != 0 ||
	    pool_open(fx->dir, NULL, &fx->p, &e) != 0 ||
	    (fx->rd = pool_reader_new(fx->p, &e)) == NULL ||
	    (fx->v = sess_verify_new(fx->p, 2, &e)) == NULL)
		return -1;
	c = codec_new(3, &e);
	h = hash_ctx_new(&e);
	raw = malloc(CHUNK);
	if (c == NULL || h == NULL || raw == NULL)
		return -1;
	for (int i = 0; i < NCHUNK; i++) {
		struct pool_chunk *pc = &fx->it[i].c;
		size_t n;

		/* Half compressible, half not. */
		for (size_t k = 0; k < CHUNK; k++)
			raw[k] = (uint8_t)(i % 2 ? (k * 7 + (size_t)i) :
			    ((k * 2654435761u + (size_t)i) >> 13));
		if ((fx->stored[i] = malloc(codec_bound(CHUNK))) == NULL ||
		    codec_encode(c, raw, CHUNK, fx->stored[i],
		    codec_bound(CHUNK), &n, &pc->codec, &e) != 0 ||
		    hash_sha256(h, raw, CHUNK, pc->hash) != 0)
			return -1;
		pc->raw_len = CHUNK;
		pc->stored = fx->stored[i];
		pc->stored_len = (uint32_t)n;
	}
	free(raw);
	codec_free(c);
	hash_ctx_free(h);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	sess_verify_free(fx->v);
	pool_reader_free(fx->rd);
	pool_close(fx->p);
	for (int i = 0; i < NCHUNK; i++)
		free(fx->stored[i]);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static void
sess_verify_good_batch_all_pass(void **state)
{
	struct fixture *fx = *state;

	sess_verify_run(fx->v, fx->rd, fx->it, NCHUNK);
	for (int i = 0; i < NCHUNK; i++)
		assert_int_equal(fx->it[i].rc, 0);
}

static void
sess_verify_bad_chunk_is_reported_as_its_own(void **state)
{
	struct fixture *fx = *state;

	/* A wrong name for chunk 17, a flipped stored byte in chunk 30. */
	fx->it[17].c.hash[3] ^= 0x40;
	fx->stored[30][fx->it[30].c.stored_len / 2] ^= 0x01;
	sess_verify_run(fx->v, fx->rd, fx->it, NCHUNK);
	for (int i = 0; i < NCHUNK; i++) {
		if (i == 17 || i == 30) {
			assert_int_not_equal(fx->it[i].rc, 0);
			assert_true(fx->it[i].msg[0] != '\0');
		} else {
			assert_int_equal(fx->it[i].rc, 0);
		}
	}
}

static void
sess_verify_started_jobs_are_done_when_finished(void **state)
{
	struct fixture *fx = *state;
	struct sess_verify_job *j1, *j2;
	struct err e;
	size_t const half = NCHUNK / 2;

	/* Two jobs in flight at once (import's turns), a bad name in each. */
	fx->it[1].c.hash[0] ^= 0x01;
	fx->it[half + 2].c.hash[5] ^= 0x80;
	err_clear(&e);
	j1 = sess_verify_start(fx->v, fx->it, half, &e);
	j2 = sess_verify_start(fx->v, fx->it + half, NCHUNK - half, &e);
	assert_non_null(j1);
	assert_non_null(j2);
	sess_verify_finish(fx->v, fx->rd, j1);
	for (size_t i = 0; i < half; i++)
		assert_int_equal(fx->it[i].rc != 0, i == 1);
	sess_verify_finish(fx->v, fx->rd, j2);
	for (size_t i = half; i < NCHUNK; i++)
		assert_int_equal(fx->it[i].rc != 0, i == half + 2);
	sess_verify_finish(fx->v, fx->rd, NULL);	/* accepted */
}

struct caller {
	struct fixture		*fx;
	struct pool_reader	*rd;
	struct sess_verify_item	 it[NCHUNK];
	int			 bad;		/* index made bad */
};

static void *
caller_main(void *arg)
{
	struct caller *c = arg;

	for (int round = 0; round < 5; round++)
		sess_verify_run(c->fx->v, c->rd, c->it, NCHUNK);
	return NULL;
}

static void
sess_verify_concurrent_callers_keep_their_results(void **state)
{
	struct fixture *fx = *state;
	struct caller c[3];
	pthread_t th[3];
	struct err e;

	for (int k = 0; k < 3; k++) {
		c[k].fx = fx;
		assert_non_null(c[k].rd = pool_reader_new(fx->p, &e));
		memcpy(c[k].it, fx->it, sizeof(c[k].it));
		c[k].bad = 5 + k * 11;
		c[k].it[c[k].bad].c.hash[0] ^= 0x80;
		assert_int_equal(pthread_create(&th[k], NULL, caller_main,
		    &c[k]), 0);
	}
	for (int k = 0; k < 3; k++) {
		pthread_join(th[k], NULL);
		for (int i = 0; i < NCHUNK; i++)
			if (i == c[k].bad)
				assert_int_not_equal(c[k].it[i].rc, 0);
			else
				assert_int_equal(c[k].it[i].rc, 0);
		pool_reader_free(c[k].rd);
	}
}

static void
sess_verify_without_helpers_still_verifies(void **state)
{
	struct fixture *fx = *state;
	struct sess_verify *v0;
	struct err e;

	assert_non_null(v0 = sess_verify_new(fx->p, 0, &e));
	fx->it[2].c.hash[9] ^= 1;
	sess_verify_run(v0, fx->rd, fx->it, NCHUNK);
	for (int i = 0; i < NCHUNK; i++)
		assert_int_equal(fx->it[i].rc != 0, i == 2);
	sess_verify_free(v0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sess_verify_good_batch_all_pass,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    sess_verify_bad_chunk_is_reported_as_its_own, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    sess_verify_concurrent_callers_keep_their_results, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    sess_verify_without_helpers_still_verifies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    sess_verify_started_jobs_are_done_when_finished, setup,
		    teardown),
	};
	return cmocka_run_group_tests_name("sess_verify", tests, NULL, NULL);
}
