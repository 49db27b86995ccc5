/*
 * test_metrics.c - the metrics endpoint against a real catalog, pool and
 * process table, without the rest of the server: nodes with and without
 * RPOs, backed up or not, replicated or not, must show the series the
 * README promises, and every page must pass the strict checker (prom.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/thread.h>

#include "cat.h"
#include "err.h"
#include "metrics.h"
#include "pool.h"
#include "proc.h"
#include "prom.h"
#include "srv.h"
#include "util.h"

struct fixture {
	char		 dir[64];
	struct srv	*srv;
	struct cat	*cat;		/* the test's own connection */
	struct metrics	*m;
	struct prom_doc	*doc;		/* the last page */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct pool_params pp;
	char pooldir[128];
	struct err e;
	struct srv *s;

	err_clear(&e);
	assert_non_null(fx);
	assert_non_null(s = calloc(1, sizeof(*s)));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-metrics-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(s->catalog_path, sizeof(s->catalog_path), "%s/catalog.db",
	    fx->dir);
	snprintf(pooldir, sizeof(pooldir), "%s/pool", fx->dir);
	if (cat_open(s->catalog_path, &fx->cat, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	pool_params_default(&pp);
	if (pool_create(pooldir, s->catalog_path, &pp, &e) != 0 ||
	    pool_open(pooldir, s->catalog_path, &s->pool, &e) != 0)
		fail_msg("pool: %s", e.msg);
	assert_non_null(s->procs = proc_table_new());
	snprintf(s->name, sizeof(s->name), "PRIMARY");
	snprintf(s->o.metrics_listen, sizeof(s->o.metrics_listen),
	    "127.0.0.1");
	s->o.metrics_port = 0;
	s->started = time(NULL);
	s->next_sess = 1;
	pthread_mutex_init(&s->slock, NULL);
	if (metrics_start(s, &fx->m, &e) != 0)
		fail_msg("metrics_start: %s", e.msg);
	fx->srv = s;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	metrics_stop(fx->m);
	proc_table_free(fx->srv->procs);
	pool_close(fx->srv->pool);
	cat_close(fx->cat);
	pthread_mutex_destroy(&fx->srv->slock);
	prom_doc_free(fx->doc);
	util_rm_rf(fx->dir);
	free(fx->srv);
	free(fx);
	return 0;
}

/* GET path; the status, and for 200 the page checked into fx->doc. */
static int
fetch(struct fixture *fx, const char *path)
{
	struct prom_page pg;
	struct prom_error pe;
	char err[PROM_MSG_MAX];
	int status;

	memset(&pg, 0, sizeof(pg));
	if (prom_http_get(metrics_port(fx->m), path, &pg, err, sizeof(err)))
		fail_msg("GET %s: %s", path, err);
	status = pg.status;
	if (status == 200) {
		if (!prom_content_type_ok(pg.ctype))
			fail_msg("Content-Type '%s'", pg.ctype);
		prom_doc_free(fx->doc);
		fx->doc = NULL;
		if (prom_parse(pg.body, pg.blen, &fx->doc, &pe) != 0)
			fail_msg("line %d: %s\n%s", pe.line, pe.msg, pg.body);
	}
	prom_page_free(&pg);
	return status;
}

static double
value(struct fixture *fx, const char *series)
{
	struct prom_error pe;
	double v;

	if (prom_get(fx->doc, series, &v, &pe) != 0)
		fail_msg("%s", pe.msg);
	return v;
}

static int
absent(struct fixture *fx, const char *series)
{
	struct prom_error pe;
	double v;

	return prom_get(fx->doc, series, &v, &pe) != 0;
}

static void
add_node(struct fixture *fx, const char *name, int64_t rpo_s,
    int64_t last_backup)
{
	struct cat_account a;
	struct err e;

	memset(&a, 0, sizeof(a));
	a.kind = CAT_KIND_NODE;
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.pwhash, sizeof(a.pwhash), "$scrypt$secret-hash");
	a.rpo_s = rpo_s;
	a.last_backup = last_backup;
	if (cat_account_add(fx->cat, &a, &e) != 0)
		fail_msg("add %s: %s", name, e.msg);
}

static void
metrics_empty_server_is_valid_and_up(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_up") == 1);
	assert_true(value(fx, "coffer_info{server=\"PRIMARY\",version=\""
	    PACKAGE_VERSION "\"}") == 1);
	assert_true(value(fx, "coffer_nodes") == 0);
	assert_true(value(fx, "coffer_sessions{kind=\"node\"}") == 0);
	assert_true(value(fx, "coffer_sessions_started_total") == 0);
	assert_true(isnan(value(fx,
	    "coffer_pool_dedup_ratio{pool=\"CONTAINERPOOL\"}")));
	assert_true(value(fx, "coffer_start_time_seconds") ==
	    (double)fx->srv->started);
}

static void
metrics_byte_counters_are_the_servers(void **state)
{
	struct fixture *fx = *state;

	__atomic_store_n(&fx->srv->bytes_received, 123456789012ull,
	    __ATOMIC_RELAXED);
	__atomic_store_n(&fx->srv->bytes_sent, 42, __ATOMIC_RELAXED);
	fx->srv->next_sess = 8;		/* seven sessions started */
	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_received_bytes_total") == 123456789012.0);
	assert_true(value(fx, "coffer_sent_bytes_total") == 42);
	assert_true(value(fx, "coffer_sessions_started_total") == 7);
}

static void
metrics_nodes_show_their_rpo_status(void **state)
{
	struct fixture *fx = *state;
	int64_t const now = time(NULL);
	double age;

	add_node(fx, "MET", 3600, now - 60);		/* within 1h */
	add_node(fx, "LATE", 60, now - 3600);		/* 1h old, RPO 1m */
	add_node(fx, "NORPO", 0, now - 86400);
	add_node(fx, "NEVER", 3600, 0);
	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_nodes") == 4);
	assert_true(value(fx, "coffer_nodes_omitted") == 0);
	assert_true(value(fx, "coffer_node_rpo_met{node=\"MET\"}") == 1);
	assert_true(value(fx, "coffer_node_rpo_met{node=\"LATE\"}") == 0);
	assert_true(value(fx, "coffer_node_rpo_met{node=\"NEVER\"}") == 0);
	assert_true(absent(fx, "coffer_node_rpo_met{node=\"NORPO\"}"));
	assert_true(value(fx, "coffer_node_rpo_seconds{node=\"NORPO\"}") == 0);
	assert_true(value(fx, "coffer_node_rpo_seconds{node=\"LATE\"}") == 60);
	age = value(fx, "coffer_node_last_backup_age_seconds{node=\"MET\"}");
	assert_true(age >= 60 && age < 120);
	assert_true(value(fx, "coffer_node_last_backup_timestamp_seconds"
	    "{node=\"MET\"}") == (double)(now - 60));
	assert_true(value(fx, "coffer_node_newest_copy_age_seconds"
	    "{node=\"MET\",site=\"here\"}") == age);
	assert_true(absent(fx, "coffer_node_last_backup_age_seconds"
	    "{node=\"NEVER\"}"));
	assert_true(absent(fx, "coffer_node_newest_copy_age_seconds"
	    "{node=\"NEVER\",site=\"here\"}"));
	assert_true(absent(fx, "coffer_node_last_replication_age_seconds"
	    "{node=\"MET\"}"));
	assert_true(value(fx, "coffer_node_replicated{node=\"MET\"}") == 0);
	assert_true(absent(fx, "coffer_node_newest_copy_age_seconds"
	    "{node=\"MET\",site=\"hotsite\"}"));
}

static void
metrics_replicated_node_has_a_hot_site_copy(void **state)
{
	struct fixture *fx = *state;
	int64_t const now = time(NULL);
	struct cat_account a;
	struct err e;
	double hot;

	add_node(fx, "WEB01", 7200, now - 600);
	assert_int_equal(cat_account_get(fx->cat, CAT_KIND_NODE, "WEB01", &a,
	    &e), 0);
	a.repl_state = 1;
	a.repl_mode = CAT_REPLMODE_SEND;
	a.last_repl = now - 3000;
	a.repl_backup = now - 3600;
	assert_int_equal(cat_account_update(fx->cat, &a, &e), 0);
	assert_int_equal(cat_setting_set(fx->cat, "replserver", "HOTSITE",
	    &e), 0);
	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_node_replicated{node=\"WEB01\"}") == 1);
	hot = value(fx, "coffer_node_newest_copy_age_seconds"
	    "{site=\"hotsite\",node=\"WEB01\"}");
	assert_true(hot >= 3600 && hot < 3660);
	assert_true(value(fx, "coffer_node_last_replication_timestamp_seconds"
	    "{node=\"WEB01\"}") == (double)(now - 3000));
	assert_true(value(fx, "coffer_node_rpo_met{node=\"WEB01\"}") == 1);
	/* The hot-site copy ages past the RPO: the node misses it. */
	a.repl_backup = now - 9000;
	assert_int_equal(cat_account_update(fx->cat, &a, &e), 0);
	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_node_rpo_met{node=\"WEB01\"}") == 0);
}

/* A process body that runs until the test lets it go. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

static int
wait_at_gate(struct proc *p, void *arg, struct err *e)
{
	(void)p;
	(void)arg;
	(void)e;
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	return 0;
}

static void
metrics_running_processes_are_counted_by_name(void **state)
{
	struct fixture *fx = *state;
	struct err e;

	gate_open = 0;
	assert_int_equal(proc_start(fx->srv->procs, "EXPIRE INVENTORY",
	    wait_at_gate, NULL, NULL, 0, NULL, &e), 0);
	assert_int_equal(proc_start(fx->srv->procs, "EXPIRE INVENTORY",
	    wait_at_gate, NULL, NULL, 0, NULL, &e), 0);
	assert_int_equal(proc_start(fx->srv->procs, "AUDIT CONTAINER",
	    wait_at_gate, NULL, NULL, 0, NULL, &e), 0);
	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_processes{name=\"EXPIRE INVENTORY\"}") ==
	    2);
	assert_true(value(fx, "coffer_processes{name=\"AUDIT CONTAINER\"}") ==
	    1);
	assert_true(value(fx, "coffer_processes_running") == 3);
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* Names are normalized today; the format's escaping must hold anyway. */
static void
metrics_label_values_are_escaped(void **state)
{
	struct fixture *fx = *state;

	snprintf(fx->srv->name, sizeof(fx->srv->name), "A\"B\\C\nD");
	assert_int_equal(fetch(fx, "/metrics"), 200);
	assert_true(value(fx, "coffer_info{server=\"A\\\"B\\\\C\\nD\","
	    "version=\"" PACKAGE_VERSION "\"}") == 1);
}

static void
metrics_other_paths_and_methods_are_refused(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fetch(fx, "/"), 404);
	assert_int_equal(fetch(fx, "/metricsx"), 404);
	assert_int_equal(fetch(fx, "/metrics?x=1"), 200);	/* a query */
}

static void
metrics_cannot_bind_a_bad_address(void **state)
{
	struct srv s;
	struct metrics *m = NULL;
	struct err e;

	(void)state;
	memset(&s, 0, sizeof(s));
	err_clear(&e);
	snprintf(s.catalog_path, sizeof(s.catalog_path), "%s/catalog.db",
	    ((struct fixture *)*state)->dir);
	snprintf(s.o.metrics_listen, sizeof(s.o.metrics_listen), "256.1.1.1");
	assert_int_equal(metrics_start(&s, &m, &e), COFFER_EIO);
	assert_null(m);
	assert_non_null(strstr(e.msg, "256.1.1.1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(metrics_empty_server_is_valid_and_up),
		T(metrics_byte_counters_are_the_servers),
		T(metrics_nodes_show_their_rpo_status),
		T(metrics_replicated_node_has_a_hot_site_copy),
		T(metrics_running_processes_are_counted_by_name),
		T(metrics_label_values_are_escaped),
		T(metrics_other_paths_and_methods_are_refused),
		T(metrics_cannot_bind_a_bad_address),
#undef T
	};

	/* metrics_stop() wakes the endpoint's loop from this thread. */
	evthread_use_pthreads();
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
