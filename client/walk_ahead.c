/*
 * walk_ahead.c - the walk ahead of the backup's (see walk_ahead.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "err.h"
#include "walk.h"
#include "walk_ahead.h"

struct walk_ahead {
	struct walk	*w;
	int		(*prune)(void *, const char *);
	void		*arg;
	int		 flags;
	pthread_t	 thread;
	uint64_t	 done;		/* entries walked: atomic */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	uint64_t	 taken;		/* entries the backup took: atomic */
	uint64_t	 wake_at;	/* wake the thread at this taken, or
					   0 when it is not waiting: atomic */
	int		 stop;		/* under mu */
};

/*
 * Whether the walk ahead does any good shows in the blocks its thread
 * reads from the disk (getrusage RUSAGE_THREAD, ru_inblock): none over
 * WARM windows of PROBE entries in a row, and the tree is in the caches.
 * A time per entry would say the same only on an idle machine.
 */
/* Blocks this thread has read from the disk so far. */
static long
inblocks(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return -1;
	return ru.ru_inblock;
}

/* Wait until the backup is less than half the window behind us. */
static int
pace(struct walk_ahead *a, uint64_t done)
{
	int stop;

	if (done < __atomic_load_n(&a->taken, __ATOMIC_ACQUIRE) + WALK_AHEAD)
		return 0;
	pthread_mutex_lock(&a->mu);
	__atomic_store_n(&a->wake_at, done - WALK_AHEAD / 2 + 1,
	    __ATOMIC_RELEASE);
	while (!a->stop && done >= __atomic_load_n(&a->taken,
	    __ATOMIC_ACQUIRE) + WALK_AHEAD / 2)
		pthread_cond_wait(&a->cv, &a->mu);
	__atomic_store_n(&a->wake_at, 0, __ATOMIC_RELEASE);
	stop = a->stop;
	pthread_mutex_unlock(&a->mu);
	return stop;
}

static void *
ahead_main(void *arg)
{
	struct walk_ahead *a = arg;
	const struct walk_ent *ent;
	uint64_t done = 0;
	long in0 = inblocks(), in;
	int warm = 0;

	/* walk_next reads the directories and stats the entries: the point. */
	while (pace(a, done) == 0 && walk_next(a->w, &ent, NULL) > 0) {
		__atomic_store_n(&a->done, ++done, __ATOMIC_RELEASE);
		if (ent->kind == WALK_ENTRY && ent->err == 0 &&
		    S_ISDIR(ent->st.st_mode) && a->prune(a->arg, ent->path))
			walk_prune(a->w);
		if (done % WALK_AHEAD_PROBE != 0 || (a->flags &
		    WALK_AHEAD_ALWAYS))
			continue;
		/*
		 * A tree in the caches needs no walk ahead, which then only
		 * takes CPU from the backup: stop.
		 */
		in = inblocks();
		warm = in >= 0 && in == in0 ? warm + 1 : 0;
		in0 = in;
		if (warm == WALK_AHEAD_WARM)
			break;
	}
	return NULL;
}

struct walk_ahead *
walk_ahead_start(const char *root, int (*prune)(void *, const char *),
    void *arg, int flags)
{
	struct walk_ahead *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->w = walk_open(root, NULL)) == NULL)
		goto fail;
	a->prune = prune;
	a->arg = arg;
	a->flags = flags;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (pthread_create(&a->thread, NULL, ahead_main, a) != 0) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		goto fail;
	}
	return a;
fail:
	walk_close(a->w);
	free(a);
	return NULL;
}

void
walk_ahead_step(struct walk_ahead *a)
{
	uint64_t taken, at;

	if (a == NULL)
		return;
	taken = __atomic_add_fetch(&a->taken, 1, __ATOMIC_RELEASE);
	at = __atomic_load_n(&a->wake_at, __ATOMIC_ACQUIRE);
	/*
	 * Only once the thread's wait is over: a signal per entry would
	 * cost two context switches per entry.  ">=": a step that missed
	 * the moment (wake_at stored just after it) is made up by the next.
	 */
	if (at != 0 && taken >= at) {
		pthread_mutex_lock(&a->mu);
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
}

uint64_t
walk_ahead_done(const struct walk_ahead *a)
{
	return __atomic_load_n(&a->done, __ATOMIC_ACQUIRE);
}

void
walk_ahead_stop(struct walk_ahead *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	walk_close(a->w);
	free(a);
}
