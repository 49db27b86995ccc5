/*
 * metrics.c - the Prometheus endpoint (see metrics.h).
 *
 * A scrape builds the whole response in one evbuffer, family by family:
 * each family's # HELP and # TYPE lines come first, then its samples, so
 * the text is valid exposition format 0.0.4 whatever the catalog holds.
 * A catalog error fails the scrape with 500 rather than serving a partial
 * picture that would look like nodes had vanished.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "adm.h"
#include "cat.h"
#include "err.h"
#include "metrics.h"
#include "pool.h"
#include "proc.h"
#include "rpo.h"
#include "sess.h"
#include "srv.h"

#define LABELS_MAX	512	/* escaped names are at most 2 * 64 bytes */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct metrics {
	struct srv		*srv;
	struct event_base	*base;
	struct event		*stop;	/* activated by metrics_stop() */
	struct evhttp		*http;
	struct cat		*cat;	/* this thread's connection, reads */
	pthread_t		 thread;
	int			 running;
	int			 port;
};

/* A node and its RPO picture, as of the scrape. */
struct node_row {
	struct cat_account	a;
	struct rpo_status	st;
};

struct node_walk {
	struct node_row	*v;
	size_t		 n, cap;
	uint64_t	 total;		/* registered, listed or not */
};

struct proc_walk {
	struct {
		char		name[PROC_NAME_MAX];
		uint64_t	n;
	}		 v[METRICS_PROC_NAMES_MAX];
	size_t		 n;
	uint64_t	 total;
};

/* ---- the exposition format ---- */

static void
family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/*
 * {k1="v1"} or {k1="v1",k2="v2"} into out, values escaped as the format
 * wants: backslash, double quote and newline.  Names are ours and valid.
 */
static const char *
labels(char *out, size_t cap, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
	const char *k[2] = { k1, k2 }, *v[2] = { v1, v2 };
	size_t n = 0;

	out[n++] = '{';
	for (int i = 0; i < 2 && k[i] != NULL; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%s%s=\"", i ? "," : "",
		    k[i]);
		for (const char *p = v[i]; *p != '\0' && n + 4 < cap; p++) {
			if (*p == '\\' || *p == '"' || *p == '\n') {
				out[n++] = '\\';
				out[n++] = *p == '\n' ? 'n' : *p;
			} else
				out[n++] = *p;
		}
		out[n++] = '"';
	}
	out[n++] = '}';
	out[n] = '\0';
	return out;
}

static void
put_u64(struct evbuffer *b, const char *name, const char *lab, uint64_t v)
{
	evbuffer_add_printf(b, "%s%s %" PRIu64 "\n", name, lab, v);
}

static void
put_i64(struct evbuffer *b, const char *name, const char *lab, int64_t v)
{
	evbuffer_add_printf(b, "%s%s %" PRId64 "\n", name, lab, v);
}

/* Go's ParseFloat spellings for the special values. */
static void
put_f(struct evbuffer *b, const char *name, const char *lab, double v)
{
	if (isnan(v))
		evbuffer_add_printf(b, "%s%s NaN\n", name, lab);
	else if (isinf(v))
		evbuffer_add_printf(b, "%s%s %sInf\n", name, lab, v > 0 ? "+" :
		    "-");
	else
		evbuffer_add_printf(b, "%s%s %.9g\n", name, lab, v);
}

/* ---- what the server knows ---- */

static void
put_server(struct metrics *m, struct evbuffer *b)
{
	char l[LABELS_MAX];

	family(b, "coffer_up", "gauge", "1 when the server answers.");
	put_u64(b, "coffer_up", "", 1);
	family(b, "coffer_info", "gauge", "The server's name and version, "
	    "as labels; the value is 1.");
	put_u64(b, "coffer_info", labels(l, sizeof(l), "server", m->srv->name,
	    "version", PACKAGE_VERSION), 1);
	family(b, "coffer_start_time_seconds", "gauge", "When the server "
	    "started, in seconds since the epoch.");
	put_i64(b, "coffer_start_time_seconds", "", m->srv->started);
}

/*
 * Sessions by kind, under the lock that guards the lists.  A session's
 * state and kind are written by its worker without that lock, as
 * QUERY SESSION reads them: a scrape may see one a moment late.
 */
static void
put_sessions(struct metrics *m, struct evbuffer *b)
{
	static const char *const kinds[] = { "pending", "node", "admin",
	    "server" };
	struct srv *s = m->srv;
	uint64_t n[4] = { 0, 0, 0, 0 }, started;
	char l[LABELS_MAX];

	pthread_mutex_lock(&s->slock);
	for (int i = 0; i < s->nworkers; i++)
		for (struct sess *x = s->w[i].sessions; x; x = x->next) {
			/* kind is set by a successful AUTH (0 before). */
			if (x->state != SESS_READY &&
			    x->state != SESS_CLOSING)
				n[0]++;
			else if (x->kind == PROTO_KIND_NODE)
				n[1]++;
			else if (x->kind == PROTO_KIND_ADMIN)
				n[2]++;
			else if (x->kind == PROTO_KIND_SERVER)
				n[3]++;
			else
				n[0]++;	/* refused before it was one */
		}
	started = s->next_sess - 1;
	pthread_mutex_unlock(&s->slock);
	family(b, "coffer_sessions", "gauge", "Current sessions by kind; "
	    "pending: not authenticated yet.");
	for (size_t i = 0; i < NELEM(kinds); i++)
		put_u64(b, "coffer_sessions", labels(l, sizeof(l), "kind",
		    kinds[i], NULL, NULL), n[i]);
	family(b, "coffer_sessions_started_total", "counter", "Connections "
	    "accepted since the server started.");
	put_u64(b, "coffer_sessions_started_total", "", started);
	family(b, "coffer_received_bytes_total", "counter", "Frame bytes "
	    "received from all sessions since start (QUERY SESSION's "
	    "bytes_received, summed).");
	put_u64(b, "coffer_received_bytes_total", "",
	    __atomic_load_n(&s->bytes_received, __ATOMIC_RELAXED));
	family(b, "coffer_sent_bytes_total", "counter", "Frame bytes sent "
	    "to all sessions since start.");
	put_u64(b, "coffer_sent_bytes_total", "",
	    __atomic_load_n(&s->bytes_sent, __ATOMIC_RELAXED));
}

static int
occ_add(void *arg, const struct cat_occupancy *o)
{
	uint64_t *sum = arg;

	sum[0] += o->objects;
	sum[1] += o->logical_bytes;
	return 0;
}

/* NaN when there is nothing to divide by: no ratio, not a ratio of 0. */
static double
ratio(uint64_t a, uint64_t b)
{
	return b == 0 ? NAN : (double)a / (double)b;
}

/* QUERY STGPOOL's numbers (pool_stats) and QUERY OCCUPANCY's sums. */
static int
put_pool(struct metrics *m, struct evbuffer *b, struct err *e)
{
	struct pool_stats ps;
	uint64_t occ[2] = { 0, 0 };
	char l[LABELS_MAX];
	int r;

	if ((r = pool_stats(m->srv->pool, &ps, e)) != 0 ||
	    (r = cat_occupancy(m->cat, NULL, occ_add, occ, e)) != 0)
		return r;
	labels(l, sizeof(l), "pool", ADM_POOL_NAME, NULL, NULL);
	family(b, "coffer_pool_containers", "gauge", "Container files.");
	put_u64(b, "coffer_pool_containers", l, ps.containers);
	family(b, "coffer_pool_capacity_used_bytes", "gauge", "Size of all "
	    "container files, dead space included.");
	put_u64(b, "coffer_pool_capacity_used_bytes", l, ps.container_bytes);
	family(b, "coffer_pool_logical_bytes", "gauge", "Plaintext bytes of "
	    "the live chunks: after deduplication, before compression.");
	put_u64(b, "coffer_pool_logical_bytes", l, ps.raw_bytes);
	family(b, "coffer_pool_stored_bytes", "gauge", "Stored (compressed) "
	    "bytes of the live chunks.");
	put_u64(b, "coffer_pool_stored_bytes", l, ps.stored_bytes);
	family(b, "coffer_pool_chunks", "gauge", "Chunks in the index, live "
	    "or not.");
	put_u64(b, "coffer_pool_chunks", l, ps.chunks);
	family(b, "coffer_pool_live_chunks", "gauge", "Chunks that objects "
	    "reference.");
	put_u64(b, "coffer_pool_live_chunks", l, ps.live_chunks);
	family(b, "coffer_pool_chunk_references", "gauge", "References to "
	    "chunks from object recipes.");
	put_u64(b, "coffer_pool_chunk_references", l, ps.references);
	family(b, "coffer_pool_damaged_chunks", "gauge", "Chunks marked "
	    "damaged (AUDIT CONTAINER, reads).");
	put_u64(b, "coffer_pool_damaged_chunks", l, ps.damaged);
	family(b, "coffer_pool_dedup_ratio", "gauge", "Occupancy logical "
	    "bytes over pool logical bytes; NaN when the pool is empty.");
	put_f(b, "coffer_pool_dedup_ratio", l, ratio(occ[1], ps.raw_bytes));
	family(b, "coffer_pool_compression_ratio", "gauge", "Pool logical "
	    "bytes over stored bytes; NaN when the pool is empty.");
	put_f(b, "coffer_pool_compression_ratio", l,
	    ratio(ps.raw_bytes, ps.stored_bytes));
	family(b, "coffer_occupancy_objects", "gauge", "Object versions "
	    "stored, all nodes (QUERY OCCUPANCY).");
	put_u64(b, "coffer_occupancy_objects", "", occ[0]);
	family(b, "coffer_occupancy_logical_bytes", "gauge", "Bytes of the "
	    "stored versions as clients sent them, before deduplication.");
	put_u64(b, "coffer_occupancy_logical_bytes", "", occ[1]);
	return 0;
}

/*
 * Keep the first METRICS_NODES_MAX nodes (by name), count the rest.  The
 * copy drops the password hash: the scrape has no use for it.
 */
static int
node_add(void *arg, const struct cat_account *a)
{
	struct node_walk *w = arg;

	w->total++;
	if (w->n == METRICS_NODES_MAX)
		return 0;
	if (w->n == w->cap) {
		size_t const ncap = w->cap ? w->cap * 2 : 64;
		struct node_row *nv = realloc(w->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		w->v = nv;
		w->cap = ncap;
	}
	w->v[w->n].a = *a;
	memset(w->v[w->n].a.pwhash, 0, sizeof(w->v[w->n].a.pwhash));
	w->n++;
	return 0;
}

/* The nodes and their RPO status (rpo_node), after the walk. */
static int
load_nodes(struct metrics *m, int64_t now, struct node_walk *w,
    struct err *e)
{
	int r;

	if ((r = cat_account_list(m->cat, CAT_KIND_NODE, NULL, node_add, w,
	    e)) != 0)
		return r == COFFER_ENOMEM ? err_set(e, r, "metrics: nodes: out "
		    "of memory") : r;
	for (size_t i = 0; i < w->n; i++)
		if ((r = rpo_node(m->cat, &w->v[i].a, now, &w->v[i].st, e)) !=
		    0)
			return r;
	return 0;
}

static const char *
node_label(char *l, size_t cap, const struct node_row *n)
{
	return labels(l, cap, "node", n->a.name, NULL, NULL);
}

/* A series per node with a time t (> 0), as a timestamp or as an age. */
static void
put_node_times(struct evbuffer *b, const struct node_walk *w, int64_t now,
    int repl)
{
	const char *const ts = repl ?
	    "coffer_node_last_replication_timestamp_seconds" :
	    "coffer_node_last_backup_timestamp_seconds";
	const char *const age = repl ?
	    "coffer_node_last_replication_age_seconds" :
	    "coffer_node_last_backup_age_seconds";
	const char *const what = repl ? "start of the node's last successful "
	    "replication" : "end of the node's last successful backup";
	char help[256], l[LABELS_MAX];

	snprintf(help, sizeof(help), "The %s, in seconds since the epoch; "
	    "absent when there was none.", what);
	family(b, ts, "gauge", help);
	for (size_t i = 0; i < w->n; i++) {
		int64_t const t = repl ? w->v[i].a.last_repl :
		    w->v[i].st.local_copy;

		if (t > 0)
			put_i64(b, ts, node_label(l, sizeof(l), &w->v[i]), t);
	}
	snprintf(help, sizeof(help), "Seconds since the %s; absent when "
	    "there was none.", what);
	family(b, age, "gauge", help);
	for (size_t i = 0; i < w->n; i++) {
		int64_t const t = repl ? w->v[i].a.last_repl :
		    w->v[i].st.local_copy;

		/* rpo_eval's local_age is this age; replication has none. */
		if (t > 0)
			put_i64(b, age, node_label(l, sizeof(l), &w->v[i]),
			    repl ? (now > t ? now - t : 0) :
			    w->v[i].st.local_age);
	}
}

static void
put_node_rpo(struct evbuffer *b, const struct node_walk *w)
{
	char l[LABELS_MAX];

	family(b, "coffer_node_replicated", "gauge", "1 when this server "
	    "replicates the node to the hot site, so a copy there is "
	    "expected.");
	for (size_t i = 0; i < w->n; i++)
		put_u64(b, "coffer_node_replicated", node_label(l, sizeof(l),
		    &w->v[i]), (uint64_t)w->v[i].st.replicated);
	family(b, "coffer_node_rpo_seconds", "gauge", "The node's recovery "
	    "point objective; 0: none.");
	for (size_t i = 0; i < w->n; i++)
		put_i64(b, "coffer_node_rpo_seconds", node_label(l, sizeof(l),
		    &w->v[i]), w->v[i].st.rpo_s);
	family(b, "coffer_node_rpo_met", "gauge", "1 when every copy that "
	    "should exist is younger than the RPO, else 0; only nodes with "
	    "an RPO.");
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].st.state != RPO_NONE)
			put_u64(b, "coffer_node_rpo_met", node_label(l,
			    sizeof(l), &w->v[i]),
			    w->v[i].st.state == RPO_MET);
	family(b, "coffer_node_newest_copy_age_seconds", "gauge", "Age of "
	    "the backup held by the newest recoverable copy, here or at the "
	    "hot site; absent when there is no such copy.");
	for (size_t i = 0; i < w->n; i++) {
		const struct rpo_status *st = &w->v[i].st;

		if (st->local_age >= 0)
			put_i64(b, "coffer_node_newest_copy_age_seconds",
			    labels(l, sizeof(l), "node", w->v[i].a.name,
			    "site", "here"), st->local_age);
		if (st->replicated && st->hot_age >= 0)
			put_i64(b, "coffer_node_newest_copy_age_seconds",
			    labels(l, sizeof(l), "node", w->v[i].a.name,
			    "site", "hotsite"), st->hot_age);
	}
}

static int
put_nodes(struct metrics *m, struct evbuffer *b, int64_t now, struct err *e)
{
	struct node_walk w;
	char help[128];
	int r;

	memset(&w, 0, sizeof(w));
	if ((r = load_nodes(m, now, &w, e)) != 0)
		goto out;
	family(b, "coffer_nodes", "gauge", "Registered nodes.");
	put_u64(b, "coffer_nodes", "", w.total);
	snprintf(help, sizeof(help), "Nodes left out of the per-node series: "
	    "past the first %d by name.", METRICS_NODES_MAX);
	family(b, "coffer_nodes_omitted", "gauge", help);
	put_u64(b, "coffer_nodes_omitted", "", w.total - w.n);
	put_node_times(b, &w, now, 0);
	put_node_times(b, &w, now, 1);
	put_node_rpo(b, &w);
	r = 0;
out:
	free(w.v);
	return r;
}

static int
proc_add(void *arg, const struct proc_info *pi)
{
	struct proc_walk *w = arg;
	size_t i;

	w->total++;
	for (i = 0; i < w->n; i++)
		if (strcmp(w->v[i].name, pi->name) == 0)
			break;
	if (i == w->n) {
		if (w->n == METRICS_PROC_NAMES_MAX)
			return 0;	/* counted in the total only */
		snprintf(w->v[i].name, sizeof(w->v[i].name), "%s", pi->name);
		w->v[i].n = 0;
		w->n++;
	}
	w->v[i].n++;
	return 0;
}

static int
put_procs(struct metrics *m, struct evbuffer *b, struct err *e)
{
	struct proc_walk *w;
	char l[LABELS_MAX];
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return err_set(e, COFFER_ENOMEM, "metrics: out of memory");
	if ((r = proc_list(m->srv->procs, proc_add, w)) != 0) {
		free(w);
		return err_set(e, r, "metrics: process table: %s", err_str(r));
	}
	family(b, "coffer_processes", "gauge", "Running server processes "
	    "(QUERY PROCESS) by name.");
	for (size_t i = 0; i < w->n; i++)
		put_u64(b, "coffer_processes", labels(l, sizeof(l), "name",
		    w->v[i].name, NULL, NULL), w->v[i].n);
	family(b, "coffer_processes_running", "gauge", "Running server "
	    "processes, all names.");
	put_u64(b, "coffer_processes_running", "", w->total);
	free(w);
	return 0;
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
scrape(struct metrics *m, struct evbuffer *b, struct err *e)
{
	int64_t const now = time(NULL);
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	put_server(m, b);
	put_sessions(m, b);
	if ((r = put_pool(m, b, e)) != 0 ||
	    (r = put_nodes(m, b, now, e)) != 0 ||
	    (r = put_procs(m, b, e)) != 0)
		return r;
	family(b, "coffer_scrape_duration_seconds", "gauge", "How long this "
	    "scrape took to build, in seconds.");
	put_f(b, "coffer_scrape_duration_seconds", "", elapsed(&t0));
	if (evbuffer_get_length(b) > METRICS_BODY_MAX)
		return err_set(e, COFFER_ETOOBIG, "metrics: response of %zu "
		    "bytes exceeds %u", evbuffer_get_length(b),
		    METRICS_BODY_MAX);
	return 0;
}

/* ---- HTTP ---- */

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	struct evbuffer *b;
	struct err e;

	if (path == NULL || strcmp(path, METRICS_PATH) != 0) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "not found: the "
		    "metrics are at " METRICS_PATH);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		reply_text(req, 405, "Method Not Allowed", METRICS_PATH
		    " answers GET only");
		return;
	}
	err_clear(&e);
	if ((b = evbuffer_new()) == NULL) {
		reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "out of memory");
		return;
	}
	if (scrape(m, b, &e) != 0) {
		fprintf(stderr, "cofferd: %s\n", e.msg);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error", e.msg);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", METRICS_CONTENT_TYPE);
		evhttp_send_reply(req, HTTP_OK, "OK", b);
	}
	evbuffer_free(b);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(m->base);
}

static void *
metrics_main(void *arg)
{
	struct metrics *m = arg;

	event_base_loop(m->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* The port the kernel gave the bound socket. */
static int
bound_port(struct evhttp_bound_socket *sock)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(evhttp_bound_socket_get_fd(sock),
	    (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Every method reaches handle(), which answers 405: evhttp says 501. */
#define ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | \
	EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | \
	EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

static int
metrics_bind(struct metrics *m, struct err *e)
{
	const struct srv_opts *o = &m->srv->o;
	struct evhttp_bound_socket *sock;

	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, METRICS_BODY_IN_MAX);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	evhttp_set_allowed_methods(m->http, ALL_METHODS);
	evhttp_set_gencb(m->http, handle, m);
	if ((sock = evhttp_bind_socket_with_handle(m->http, o->metrics_listen,
	    (uint16_t)o->metrics_port)) == NULL)
		return err_sys(e, COFFER_EIO, "metrics: listen on %s:%d",
		    o->metrics_listen, o->metrics_port);
	if ((m->port = bound_port(sock)) < 0)
		return err_sys(e, COFFER_EIO, "metrics: getsockname");
	return 0;
}

int
metrics_start(struct srv *s, struct metrics **out, struct err *e)
{
	struct metrics *m;
	int r;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return err_set(e, COFFER_ENOMEM, "metrics: out of memory");
	m->srv = s;
	r = COFFER_EINTERNAL;
	if ((m->base = event_base_new()) == NULL ||
	    (m->stop = event_new(m->base, -1, 0, stop_cb, m)) == NULL ||
	    (m->http = evhttp_new(m->base)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "metrics: cannot create the "
		    "event loop");
		goto out;
	}
	if ((r = cat_open(s->catalog_path, &m->cat, e)) != 0 ||
	    (r = metrics_bind(m, e)) != 0)
		goto out;
	if (pthread_create(&m->thread, NULL, metrics_main, m) != 0) {
		r = err_set(e, COFFER_EIO, "metrics: cannot start its thread");
		goto out;
	}
	m->running = 1;
	*out = m;
	m = NULL;
	r = 0;
out:
	metrics_stop(m);
	return r;
}

int
metrics_port(const struct metrics *m)
{
	return m->port;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->running) {
		/*
		 * An active event, not event_base_loopbreak() from here: a
		 * break before the loop starts would be forgotten by it.
		 */
		event_active(m->stop, EV_READ, 0);
		pthread_join(m->thread, NULL);
	}
	if (m->http != NULL)
		evhttp_free(m->http);	/* its socket and connections */
	if (m->stop != NULL)
		event_free(m->stop);
	if (m->base != NULL)
		event_base_free(m->base);
	cat_close(m->cat);
	free(m);
}
