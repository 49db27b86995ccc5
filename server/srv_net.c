/*
 * srv_net.c - listener, worker threads and the server's life cycle.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "cat.h"
#include "dbb.h"
#include "err.h"
#include "exp.h"
#include "metrics.h"
#include "pool.h"
#include "proc.h"
#include "sched_run.h"
#include "sess.h"
#include "sess_verify.h"
#include "srv.h"
#include "stgpool.h"
#include "tls.h"

/* Runs on the worker: adopt queued connections, or stop. */
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv_worker *w = arg;
	int *fds, n, stop;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->qlock);
	fds = w->fds;
	n = w->nfds;
	stop = w->stop;
	w->fds = NULL;
	w->nfds = w->capfds = 0;
	pthread_mutex_unlock(&w->qlock);
	for (int i = 0; i < n; i++) {
		if (stop)
			close(fds[i]);
		else
			sess_adopt(w, fds[i]);
	}
	free(fds);
	if (stop) {
		sess_close_all(w);
		event_base_loopbreak(w->base);
	}
}

static void *
worker_main(void *arg)
{
	struct srv_worker *w = arg;

	/* The notify event has no fd: keep looping while nothing is pending. */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct srv *s = arg;
	struct srv_worker *w = &s->w[s->next_worker++ % s->nworkers];
	int one = 1;

	(void)lev;
	(void)sa;
	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_mutex_lock(&w->qlock);
	if (w->nfds == w->capfds) {
		int ncap = w->capfds ? w->capfds * 2 : 16;
		int *nf = realloc(w->fds, (size_t)ncap * sizeof(*nf));

		if (nf == NULL) {
			pthread_mutex_unlock(&w->qlock);
			close(fd);
			return;
		}
		w->fds = nf;
		w->capfds = ncap;
	}
	w->fds[w->nfds++] = fd;
	pthread_mutex_unlock(&w->qlock);
	event_active(w->notify, EV_READ, 0);
}

/* EMFILE and friends must not kill the server: log and go on. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int const err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;
	fprintf(stderr, "cofferd: accept: %s\n",
	    evutil_socket_error_to_string(err));
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct srv *s = arg;

	(void)what;
	fprintf(stderr, "cofferd: %s received, shutting down\n",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(s->base);
}

static int
start_workers(struct srv *s, struct err *e)
{
	int r;

	/* Before the workers, whose sessions use it; freed after them. */
	if (s->o.verify_chunks && (s->verify = sess_verify_new(s->pool,
	    SESS_VERIFY_THREADS, e)) == NULL)
		return e ? e->code : COFFER_EINTERNAL;
	s->nworkers = s->o.workers;
	for (int i = 0; i < s->nworkers; i++) {
		struct srv_worker *w = &s->w[i];

		w->srv = s;
		w->idx = i;
		pthread_mutex_init(&w->qlock, NULL);
		if ((w->base = event_base_new()) == NULL ||
		    (w->notify = event_new(w->base, -1, EV_PERSIST, notify_cb,
		    w)) == NULL)
			return err_set(e, COFFER_EINTERNAL, "worker %d: cannot "
			    "create its event loop", i);
		event_add(w->notify, NULL);
		if ((r = cat_open(s->catalog_path, &w->cat, e)) != 0)
			return r;
		if ((w->rd = pool_reader_new(s->pool, e)) == NULL)
			return e ? e->code : COFFER_ENOMEM;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return err_set(e, COFFER_EINTERNAL, "worker %d: cannot "
			    "start its thread", i);
	}
	return 0;
}

static void
stop_workers(struct srv *s)
{
	for (int i = 0; i < s->nworkers; i++) {
		struct srv_worker *w = &s->w[i];

		pthread_mutex_lock(&w->qlock);
		w->stop = 1;
		pthread_mutex_unlock(&w->qlock);
		event_active(w->notify, EV_READ, 0);
		pthread_join(w->thread, NULL);
		event_free(w->notify);
		event_base_free(w->base);
		pool_reader_free(w->rd);
		cat_close(w->cat);
		pthread_mutex_destroy(&w->qlock);
	}
	s->nworkers = 0;
	sess_verify_free(s->verify);
	s->verify = NULL;
}

static int
open_listener(struct srv *s, struct err *e)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)s->o.port);
	if (inet_pton(AF_INET, s->o.listen, &sin.sin_addr) != 1)
		return err_set(e, COFFER_EINVAL, "LISTEN %s: not an IPv4 "
		    "address", s->o.listen);
	s->lev = evconnlistener_new_bind(s->base, accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    128, (struct sockaddr *)&sin, sizeof(sin));
	if (s->lev == NULL)
		return err_sys(e, COFFER_EIO, "listen on %s:%d", s->o.listen,
		    s->o.port);
	evconnlistener_set_error_cb(s->lev, accept_error_cb);
	if (getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&sin,
	    &len) == 0)
		s->o.port = ntohs(sin.sin_port);
	return 0;
}

/*
 * Attach every cloud storage pool.  One that cannot be reached is logged
 * and the server starts anyway: the other pools serve, and the cloud
 * pool's reads and writes fail with the reason until it answers.
 */
static void
attach_cloud_pools(struct srv *s)
{
	struct cat_stgpool *v = NULL;
	size_t n = 0;
	struct err e;

	err_clear(&e);
	if (cat_stgpool_array(s->main_cat, &v, &n, &e) != 0) {
		(void)cat_actlog(s->main_cat, CAT_SEV_ERROR, 2201, NULL,
		    "Cloud storage pools not attached: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		err_clear(&e);
		if (stgpool_attach(s->pool, s->o.dir, &v[i], &e) != 0) {
			(void)cat_actlog(s->main_cat, CAT_SEV_WARN, 2202,
			    NULL, "Storage pool %s: %s", v[i].name, e.msg);
			fprintf(stderr, "cofferd: storage pool %s: %s\n",
			    v[i].name, e.msg);
		}
	}
	free(v);
}

static int
srv_open(struct srv *s, struct err *e)
{
	char a[2300], b[2300];
	uint32_t nstaged = 0;
	int r;

	snprintf(s->catalog_path, sizeof(s->catalog_path), "%s/catalog.db",
	    s->o.dir);
	if ((r = cat_open(s->catalog_path, &s->main_cat, e)) != 0)
		return r;
	if ((r = cat_setting_get(s->main_cat, "name", s->name,
	    sizeof(s->name), e)) != 0)
		return err_wrap(e, "%s is not a formatted instance", s->o.dir);
	snprintf(a, sizeof(a), "%s/pool", s->o.dir);
	if ((r = pool_open(a, s->catalog_path, &s->pool, e)) != 0)
		return r;
	attach_cloud_pools(s);
	/* What a server killed during a DB backup or an export left. */
	dbb_clean(s->o.dir);
	/* And the parts of VM versions it was receiving (PROTO_TXN_STAGE). */
	if ((r = sess_stage_recover(s, &nstaged, e)) != 0)
		return err_wrap(e, "staged objects of unfinished versions");
	if (nstaged > 0)
		(void)cat_actlog(s->main_cat, CAT_SEV_INFO, 1704, NULL,
		    "%u staged objects of versions a previous run did not "
		    "finish were dropped.", nstaged);
	if ((r = srv_volumes_recover(s->main_cat, e)) != 0)
		return err_wrap(e, "abandoned export volumes");
	snprintf(a, sizeof(a), "%s/tls/server.pem", s->o.dir);
	snprintf(b, sizeof(b), "%s/tls/server.key", s->o.dir);
	if ((s->ssl = tls_server_ctx(a, b, e)) == NULL)
		return e ? e->code : COFFER_EINTERNAL;
	if ((s->procs = proc_table_new()) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	return 0;
}

static void
srv_free(struct srv *s)
{
	metrics_stop(s->metrics);	/* it reads the sessions, pool, procs */
	if (s->lev != NULL)
		evconnlistener_free(s->lev);
	srv_rpo_stop(s);
	stop_workers(s);
	/* Before the process table: its commands start processes. */
	sched_run_stop(s->sched);
	proc_table_free(s->procs);	/* waits for running processes */
	cat_close(s->pool_cat);
	pool_close(s->pool);
	if (s->main_cat != NULL)
		(void)cat_actlog(s->main_cat, CAT_SEV_INFO, 7801, NULL,
		    "Server %s stopped.", s->name);
	cat_close(s->main_cat);
	SSL_CTX_free(s->ssl);
	if (s->base != NULL)
		event_base_free(s->base);
	pthread_mutex_destroy(&s->slock);
}

int
srv_run(struct srv_opts *o, struct err *e)
{
	struct event *sigterm = NULL, *sigint = NULL;
	struct srv *s;
	int lockfd = -1, r;

	/* One server per instance; restore-db takes the same lock. */
	if ((r = srv_lock(o->dir, &lockfd, e)) != 0)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(lockfd);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	s->o = *o;
	s->next_sess = 1;
	pthread_mutex_init(&s->slock, NULL);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	if ((r = srv_open(s, e)) != 0)
		goto out;
	if ((s->base = event_base_new()) == NULL) {
		r = err_set(e, COFFER_EINTERNAL, "cannot create event loop");
		goto out;
	}
	s->started = time(NULL);
	if ((r = start_workers(s, e)) != 0 || (r = open_listener(s, e)) != 0 ||
	    (r = sched_run_start(s->catalog_path, s->pool, s->procs,
	    &s->sched, e)) != 0)
		goto out;
	if ((r = srv_rpo_start(s, e)) != 0)
		goto out;
	if (s->o.metrics_port >= 0 &&
	    (r = metrics_start(s, &s->metrics, e)) != 0)
		goto out;
	sigterm = evsignal_new(s->base, SIGTERM, signal_cb, s);
	sigint = evsignal_new(s->base, SIGINT, signal_cb, s);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	(void)cat_actlog(s->main_cat, CAT_SEV_INFO, 7802, NULL, "Server %s "
	    "ready on %s:%d.", s->name, s->o.listen, s->o.port);
	printf("cofferd %s ready on %s:%d\n", s->name, s->o.listen, s->o.port);
	/* After the ready line, which scripts wait for. */
	if (s->metrics != NULL)
		printf("cofferd %s metrics on http://%s%s%s:%d/metrics\n",
		    s->name, strchr(s->o.metrics_listen, ':') ? "[" : "",
		    s->o.metrics_listen, strchr(s->o.metrics_listen, ':') ?
		    "]" : "", metrics_port(s->metrics));
	fflush(stdout);
	event_base_dispatch(s->base);
	r = 0;
out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	srv_free(s);
	free(s);
	close(lockfd);
	return r;
}
