/*
 * srv_rpo.c - cofferd's periodic RPO check: a persistent timer on the
 * main event loop, so the pass runs on the main thread with its own
 * catalog connection (srv->main_cat) and never on a worker that serves
 * sessions.  A pass reads one row per node and writes only on a change
 * (rpo_check.h), so running it every few minutes costs nothing.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "cat.h"
#include "err.h"
#include "rpo_check.h"
#include "srv.h"

static void
rpo_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	struct rpo_check_report rep;
	struct err e;

	(void)fd;
	(void)what;
	err_clear(&e);
	/* A failed pass is retried at the next tick; say why meanwhile. */
	if (rpo_check_run(s->main_cat, (int64_t)time(NULL), &rep, &e) != 0)
		fprintf(stderr, "cofferd: RPO check: %s\n", e.msg);
}

int
srv_rpo_start(struct srv *s, struct err *e)
{
	struct timeval tv;

	if (s->o.rpo_check_s <= 0)
		return 0;
	tv.tv_sec = (time_t)s->o.rpo_check_s;
	tv.tv_usec = 0;
	if ((s->rpo_timer = event_new(s->base, -1, EV_PERSIST, rpo_timer_cb,
	    s)) == NULL || event_add(s->rpo_timer, &tv) != 0)
		return err_set(e, COFFER_EINTERNAL, "cannot start the RPO "
		    "check timer");
	return 0;
}

void
srv_rpo_stop(struct srv *s)
{
	if (s->rpo_timer != NULL)
		event_free(s->rpo_timer);
	s->rpo_timer = NULL;
}
