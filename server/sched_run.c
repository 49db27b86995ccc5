/*
 * sched_run.c - the administrative scheduler thread (see sched_run.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adm.h"
#include "cat.h"
#include "err.h"
#include "proto.h"
#include "sched_run.h"
#include "sched_win.h"

#define TICK_S	1

struct sched_run {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
	char			*catpath;
	struct pool		*pool;
	struct proc_table	*procs;
	struct cat		*cat;
};

/* Sleep one tick, or less when told to stop; 1 when told to stop. */
static int
wait_tick(struct sched_run *r)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TICK_S;
	pthread_mutex_lock(&r->lock);
	while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock,
	    &ts) != ETIMEDOUT)
		;
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* The first error message of a result, for the event's reason. */
static const char *
first_error(const struct adm_result *res)
{
	for (size_t i = 0; i < res->nmsg; i++) {
		const char *m = res->msgs[i];

		if (strlen(m) > 8 && (m[7] == 'E' || m[7] == 'W'))
			return m;
	}
	return res->nmsg > 0 ? res->msgs[res->nmsg - 1] : "";
}

static void
run_one(struct sched_run *r, const struct cat_sched *s, int64_t w)
{
	struct adm_result res;
	struct adm_env env;
	struct cat_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.schedule, sizeof(ev.schedule), "%s", s->name);
	ev.window_start = w;
	ev.actual_start = (int64_t)time(NULL);
	ev.status = SCHED_ST_STARTED;
	ev.rc = -1;
	/* Recorded first, so that a crash midway never runs it twice. */
	if (cat_event_put(r->cat, &ev, NULL) != 0)
		return;
	(void)cat_actlog(r->cat, CAT_SEV_INFO, 2750, NULL, "Starting "
	    "administrative schedule %s: %s", s->name, s->cmd);
	memset(&env, 0, sizeof(env));
	env.cat = r->cat;
	env.catpath = r->catpath;
	env.pool = r->pool;
	env.procs = r->procs;
	env.admin = s->owner[0] ? s->owner : "ADMIN";
	if (adm_execute(&env, s->cmd, &res) == 0) {
		rc = res.rc;
		snprintf(ev.message, sizeof(ev.message), "%s",
		    rc != RC_OK ? first_error(&res) : "");
	} else {
		rc = RC_ERROR;
		snprintf(ev.message, sizeof(ev.message), "the command could "
		    "not be run: out of memory");
	}
	adm_result_free(&res);
	ev.completed = (int64_t)time(NULL);
	ev.rc = rc;
	ev.status = sched_status_for_rc(rc);
	(void)cat_event_put(r->cat, &ev, NULL);
	(void)cat_actlog(r->cat, rc <= RC_WARNING ? CAT_SEV_INFO :
	    CAT_SEV_ERROR, 2751, NULL, "Administrative schedule %s ended "
	    "with return code %d%s%s.", s->name, rc, ev.message[0] ? ": " : "",
	    ev.message);
}

/* Run every active administrative schedule whose window is open now. */
static void
tick(struct sched_run *r)
{
	struct cat_sched *v = NULL;
	struct cat_event ev;
	size_t n = 0;

	if (cat_sched_array(r->cat, CAT_SCHED_ADMIN, &v, &n, NULL) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct sched_spec const sp = { v[i].first_start,
		    v[i].duration_s, v[i].period_s, v[i].dayofweek };
		int64_t const now = (int64_t)time(NULL);
		int64_t w;

		if (!v[i].active || sched_window_at(&sp, now, &w) != 1 ||
		    w > now)
			continue;
		if (cat_event_get(r->cat, "", v[i].name, "", w, &ev,
		    NULL) == 0)
			continue;
		run_one(r, &v[i], w);
		pthread_mutex_lock(&r->lock);
		if (r->stop)
			i = n;
		pthread_mutex_unlock(&r->lock);
	}
	free(v);
}

static void *
run_main(void *arg)
{
	struct sched_run *r = arg;

	while (!wait_tick(r))
		tick(r);
	return NULL;
}

int
sched_run_start(const char *catpath, struct pool *pool,
    struct proc_table *procs, struct sched_run **out, struct err *e)
{
	struct sched_run *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->catpath = strdup(catpath)) == NULL) {
		free(r);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	r->pool = pool;
	r->procs = procs;
	if ((rc = cat_open(catpath, &r->cat, e)) != 0) {
		free(r->catpath);
		free(r);
		return err_wrap(e, "administrative scheduler");
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, run_main, r) != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		cat_close(r->cat);
		free(r->catpath);
		free(r);
		return err_set(e, COFFER_EINTERNAL, "administrative scheduler: "
		    "cannot start its thread");
	}
	*out = r;
	return 0;
}

void
sched_run_stop(struct sched_run *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	cat_close(r->cat);
	free(r->catpath);
	free(r);
}
