/*
 * metrics.h - the Prometheus endpoint: GET /metrics over plain HTTP.
 *
 * When METRICSPORT (or --metrics-port) is set, cofferd serves its state in
 * the Prometheus text exposition format 0.0.4 on METRICSLISTEN (default
 * 127.0.0.1, loopback only).  The endpoint runs an evhttp server on its
 * own event_base in its own thread, with its own catalog connection that
 * only reads, so a slow scrape never stalls the listener or a session.
 * What it shares with them is taken under their own locks: the sessions
 * list (srv->slock), the process table, and the pool's lock for the
 * duration of pool_stats() (the same scan QUERY STGPOOL makes).
 *
 * What is exposed: counts, sizes, times and node names; never passwords,
 * keys or file names.  The README's "Metrics" section lists every family.
 *
 * Bounds: request headers METRICS_HEADERS_MAX bytes, a request body
 * METRICS_BODY_IN_MAX, METRICS_TIMEOUT_S per connection; per-node series
 * for the first METRICS_NODES_MAX nodes by name (coffer_nodes_omitted
 * counts the rest), and a response of at most METRICS_BODY_MAX bytes
 * (else 500).
 */
#ifndef COFFER_METRICS_H
#define COFFER_METRICS_H

struct err;
struct metrics;
struct srv;

#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_PATH		"/metrics"
#define METRICS_HEADERS_MAX	8192
#define METRICS_BODY_IN_MAX	4096
#define METRICS_TIMEOUT_S	10
#define METRICS_NODES_MAX	10000	/* like ADM_ROWS_MAX */
#define METRICS_BODY_MAX	(32u << 20)
#define METRICS_PROC_NAMES_MAX	32	/* distinct process names */

/*
 * Bind s->o.metrics_listen:s->o.metrics_port and start serving.  The
 * endpoint keeps s and reads it until metrics_stop(): start it after the
 * workers and stop it before them.  Errors: COFFER_EIO (cannot listen),
 * COFFER_ENOMEM, catalog errors.
 */
int metrics_start(struct srv *s, struct metrics **out, struct err *e);

/* The port bound (the free one picked for METRICSPORT 0). */
int metrics_port(const struct metrics *m);

/* Stop serving, join the thread, free everything.  Accepts NULL. */
void metrics_stop(struct metrics *m);

#endif
