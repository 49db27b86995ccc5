/*
 * srv.h - the running server: listener, workers and sessions.
 *
 * One listener thread accepts connections and hands each to a worker,
 * round-robin; a worker is a thread with its own event_base (the memcached
 * model), its own catalog connection and pool reader, and owns its
 * sessions for their lifetime.  Long work (expiration, reclamation,
 * audit) runs as numbered server processes in their own threads
 * (proc.h).  The pool is shared: it serializes its own index writes.
 */
#ifndef COFFER_SRV_H
#define COFFER_SRV_H

#include <pthread.h>
#include <stdint.h>

#include "cat.h"

#define SRV_WORKERS_DEFAULT	4
#define SRV_WORKERS_MAX		64
#define SRV_IDLE_TIMEOUT_S	900	/* TSM IDLETIMEOUT default: 15 min */
/*
 * From accept to a completed logon: a peer that connects and then says
 * nothing (or trickles bytes) frees its slot after this, not after the
 * idle timeout, so that a flood of silent connections cannot keep
 * sessions from the clients that log on.
 */
#define SRV_AUTH_TIMEOUT_S	30	/* LOGONTIMEOUT default */
#define SRV_MAXSESSIONS_DEFAULT	25	/* TSM MAXSESSIONS default */
#define SRV_MAXSESSIONS_MAX	10000
/* Sessions above MAXSESSIONS an administrator may still open. */
#define SRV_ADMIN_RESERVE	2
#define SRV_PREAUTH_FRAME_MAX	(64u << 10)

struct event_base;
struct event;
struct evconnlistener;
struct ssl_ctx_st;
struct pool;
struct pool_reader;
struct sess_verify;
struct proc_table;
struct sess;
struct sched_run;
struct metrics;

struct srv_worker {
	struct srv		*srv;
	int			 idx;
	pthread_t		 thread;
	struct event_base	*base;
	struct event		*notify;	/* new fds queued, or stop */
	pthread_mutex_t		 qlock;
	int			*fds;		/* accepted, not yet adopted */
	int			 nfds, capfds;
	int			 stop;
	struct cat		*cat;		/* this worker's connection */
	struct pool_reader	*rd;
	struct sess		*sessions;
};

struct srv_opts {
	char		dir[2048];
	char		listen[256];	/* address to bind */
	int		port;		/* 0: any free port */
	int		workers;
	int		verify_chunks;	/* check what clients send */
	int		max_sessions;	/* MAXSESSIONS */
	int		logon_timeout;	/* LOGONTIMEOUT, seconds */
	int		port_set;	/* given on the command line */
	int		listen_set;
	int64_t		rpo_check_s;	/* RPOCHECKINTERVAL; 0: off */
	/* The Prometheus endpoint (metrics.h): METRICSPORT, METRICSLISTEN. */
	int		metrics_port;	/* -1: off; 0: any free port */
	int		metrics_port_set;	/* --metrics-port given */
	char		metrics_listen[256];
};

struct srv {
	struct srv_opts		 o;
	char			 name[CAT_NAME_MAX + 1];
	char			 catalog_path[2100];
	struct ssl_ctx_st	*ssl;
	struct pool		*pool;
	struct cat		*pool_cat;	/* on the pool's connection */
	struct proc_table	*procs;
	struct event_base	*base;
	struct evconnlistener	*lev;
	struct srv_worker	 w[SRV_WORKERS_MAX];
	struct sess_verify	*verify;	/* CHUNK_PUT helpers, or NULL */
	int			 nworkers, next_worker;
	pthread_mutex_t		 slock;		/* sessions list, ids */
	uint64_t		 next_sess;
	int			 nsessions;	/* open, any state */
	struct cat		*main_cat;	/* main thread: actlog */
	struct sched_run	*sched;		/* administrative schedules */
	struct event		*rpo_timer;	/* srv_rpo.c, on base */

	/*
	 * Since start, for the metrics endpoint.  The byte counters are
	 * bumped with __atomic builtins by every worker (relaxed: they are
	 * statistics and order nothing); sessions started is next_sess - 1.
	 */
	int64_t			 started;	/* unix seconds */
	uint64_t		 bytes_received, bytes_sent;
	struct metrics		*metrics;	/* NULL: METRICSPORT not set */
};

/* cofferd format: create a new instance in dir (see srv_format.c). */
int srv_format(const char *dir, const char *name, int port,
    const char *admin_password, struct err *e);

/*
 * Take DIR's instance lock (srv_lock.c): *fd holds it until closed.
 * COFFER_EBUSY, naming the holder's pid, while another cofferd (server or
 * restore-db) has it.
 */
int srv_lock(const char *dir, int *fd, struct err *e);

/* Read DIR/cofferd.opt into o (defaults first). */
int srv_opts_load(struct srv_opts *o, const char *dir, struct err *e);

/* Run until SIGTERM/SIGINT; prints the ready line on stdout. */
int srv_run(struct srv_opts *o, struct err *e);

/*
 * The periodic RPO check (srv_rpo.c): a timer on s->base every
 * o.rpo_check_s seconds that runs rpo_check_run() on s->main_cat.
 */
int srv_rpo_start(struct srv *s, struct err *e);
/*
 * Start-up: remove the volumes (files and history records) of exports
 * and DB backups that never closed their set (srv_volrecover.c).
 */
int srv_volumes_recover(struct cat *c, struct err *e);
void srv_rpo_stop(struct srv *s);	/* before s->base is freed */

/* Sessions (sess.c). */
void sess_adopt(struct srv_worker *w, int fd);
void sess_close_all(struct srv_worker *w);
/* Rows for QUERY SESSION across all workers. */
struct adm_result;
int sess_list(void *arg, struct adm_result *res);

#endif
