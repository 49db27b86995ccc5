/*
 * sess_verify.c - CHUNK_PUT verification on helper threads (sess_verify.h).
 *
 * Batches being run are on a list under v->mu.  Each batch hands out its
 * items by index (next); whoever claims an item (a helper or the batch's
 * own caller) verifies it without the lock and then counts it off (left).
 * The caller waits until left is 0 before it unlinks the batch and
 * returns, so no helper touches a batch after its caller returned.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sess_verify.h"

struct batch {
	struct sess_verify_item	*it;
	size_t			 n, next, left;
	pthread_cond_t		 done;
	struct batch		*nextb;
};

struct helper {
	struct sess_verify	*v;
	struct pool_reader	*rd;
	pthread_t		 th;
	int			 started;
};

struct sess_verify {
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;
	struct batch		*batches;
	int			 quit;
	int			 nhelpers;
	struct helper		 h[];
};

static void
verify_one(struct pool_reader *rd, struct sess_verify_item *it)
{
	struct err e;

	err_clear(&e);
	it->rc = pool_chunk_verify(rd, &it->c, &e);
	if (it->rc != 0)
		snprintf(it->msg, sizeof(it->msg), "%s", e.msg);
}

/* Called with v->mu held: a batch with an item left to claim, or NULL. */
static struct batch *
claimable(struct sess_verify *v)
{
	for (struct batch *b = v->batches; b != NULL; b = b->nextb)
		if (b->next < b->n)
			return b;
	return NULL;
}

/* Called with v->mu held; returns with it held. */
static void
work_on(struct sess_verify *v, struct pool_reader *rd, struct batch *b)
{
	size_t const i = b->next++;

	pthread_mutex_unlock(&v->mu);
	verify_one(rd, &b->it[i]);
	pthread_mutex_lock(&v->mu);
	if (--b->left == 0)
		pthread_cond_signal(&b->done);
}

static void *
helper_main(void *arg)
{
	struct helper *h = arg;
	struct sess_verify *v = h->v;
	struct batch *b;

	pthread_mutex_lock(&v->mu);
	for (;;) {
		while (!v->quit && (b = claimable(v)) == NULL)
			pthread_cond_wait(&v->work, &v->mu);
		if (v->quit)
			break;
		work_on(v, h->rd, b);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

struct sess_verify *
sess_verify_new(struct pool *pool, int nthreads, struct err *e)
{
	struct sess_verify *v;

	if (nthreads < 0)
		nthreads = 0;
	if ((v = calloc(1, sizeof(*v) + (size_t)nthreads *
	    sizeof(v->h[0]))) == NULL) {
		err_set(e, COFFER_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->work, NULL);
	for (int i = 0; i < nthreads; i++) {
		struct helper *h = &v->h[i];

		h->v = v;
		v->nhelpers = i + 1;
		if ((h->rd = pool_reader_new(pool, e)) == NULL)
			goto fail;
		if (pthread_create(&h->th, NULL, helper_main, h) != 0) {
			err_set(e, COFFER_EINTERNAL, "chunk verification: "
			    "cannot start helper thread %d", i);
			goto fail;
		}
		h->started = 1;
	}
	return v;
fail:
	sess_verify_free(v);
	return NULL;
}

void
sess_verify_free(struct sess_verify *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	v->quit = 1;
	pthread_cond_broadcast(&v->work);
	pthread_mutex_unlock(&v->mu);
	for (int i = 0; i < v->nhelpers; i++) {
		if (v->h[i].started)
			pthread_join(v->h[i].th, NULL);
		pool_reader_free(v->h[i].rd);
	}
	pthread_cond_destroy(&v->work);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

/* List b for the helpers. */
static void
batch_start(struct sess_verify *v, struct batch *b,
    struct sess_verify_item *it, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->it = it;
	b->n = n;
	b->left = n;
	pthread_cond_init(&b->done, NULL);
	pthread_mutex_lock(&v->mu);
	b->nextb = v->batches;
	v->batches = b;
	pthread_cond_broadcast(&v->work);
	pthread_mutex_unlock(&v->mu);
}

/* Help with b until all of it is done, then unlink it. */
static void
batch_finish(struct sess_verify *v, struct pool_reader *rd, struct batch *b)
{
	struct batch **pp;

	pthread_mutex_lock(&v->mu);
	/* The caller works too: it would have verified them all alone. */
	while (b->next < b->n)
		work_on(v, rd, b);
	while (b->left > 0)
		pthread_cond_wait(&b->done, &v->mu);
	for (pp = &v->batches; *pp != b; pp = &(*pp)->nextb)
		;
	*pp = b->nextb;
	pthread_mutex_unlock(&v->mu);
	pthread_cond_destroy(&b->done);
}

void
sess_verify_run(struct sess_verify *v, struct pool_reader *rd,
    struct sess_verify_item *it, size_t n)
{
	struct batch b;

	if (n == 0)
		return;
	/*
	 * b lives on this stack only while listed: batch_finish unlinks
	 * it, under the lock, once every item is done and no helper holds
	 * it.
	 */
	batch_start(v, &b, it, n);
	batch_finish(v, rd, &b);
}

struct sess_verify_job *
sess_verify_start(struct sess_verify *v, struct sess_verify_item *it,
    size_t n, struct err *e)
{
	struct batch *b;

	if ((b = malloc(sizeof(*b))) == NULL) {
		err_set(e, COFFER_ENOMEM, "out of memory");
		return NULL;
	}
	batch_start(v, b, it, n);
	return (struct sess_verify_job *)b;
}

void
sess_verify_finish(struct sess_verify *v, struct pool_reader *rd,
    struct sess_verify_job *j)
{
	struct batch *b = (struct batch *)j;

	if (b == NULL)
		return;
	batch_finish(v, rd, b);
	free(b);
}
