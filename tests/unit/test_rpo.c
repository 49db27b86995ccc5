/*
 * test_rpo.c - recovery point objectives: which copy counts, how old it
 * is, and when a node meets or misses its RPO, with the clock moved by
 * the test (rpo_eval takes now); the periodic check's warnings, once per
 * miss, against a real catalog; the formats people read.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cat.h"
#include "err.h"
#include "rpo.h"
#include "rpo_check.h"

#define HOUR	3600
#define NOW	((int64_t)1700000000)

static struct cat_account
node(int64_t rpo_s, int64_t last_backup)
{
	struct cat_account a;

	memset(&a, 0, sizeof(a));
	a.kind = CAT_KIND_NODE;
	strcpy(a.name, "WEB01");
	a.rpo_s = rpo_s;
	a.last_backup = last_backup;
	return a;
}

static void
no_rpo_is_none_whatever_the_age(void **state)
{
	struct cat_account const a = node(0, NOW - 1000 * HOUR);
	struct rpo_status st;

	(void)state;
	rpo_eval(&a, 0, NOW, &st);
	assert_int_equal(st.state, RPO_NONE);
	assert_int_equal(st.local_age, 1000 * HOUR);
	assert_true(st.local_met);
	assert_string_equal(rpo_state_name(st.state), "none");
}

/* The same node meets its RPO, then misses it as the clock moves on. */
static void
ages_past_the_rpo(void **state)
{
	struct cat_account const a = node(24 * HOUR, NOW - 2 * HOUR);
	struct rpo_status st;

	(void)state;
	rpo_eval(&a, 0, NOW, &st);
	assert_int_equal(st.state, RPO_MET);
	assert_int_equal(st.local_age, 2 * HOUR);
	rpo_eval(&a, 0, NOW + 22 * HOUR, &st);
	assert_int_equal(st.state, RPO_MET);	/* exactly 24 h: met */
	rpo_eval(&a, 0, NOW + 22 * HOUR + 1, &st);
	assert_int_equal(st.state, RPO_MISSED);
	assert_false(st.local_met);
	assert_string_equal(rpo_state_name(st.state), "missed");
}

static void
never_backed_up_misses(void **state)
{
	struct cat_account const a = node(HOUR, 0);
	struct rpo_status st;

	(void)state;
	rpo_eval(&a, 0, NOW, &st);
	assert_int_equal(st.state, RPO_MISSED);
	assert_int_equal(st.local_age, -1);
	assert_int_equal(st.local_copy, 0);
}

/* A replicated node needs a young enough copy at the hot site too. */
static void
replicated_node_is_judged_at_both_sites(void **state)
{
	struct cat_account a = node(24 * HOUR, NOW - HOUR);
	struct rpo_status st;

	(void)state;
	a.repl_backup = NOW - 30 * HOUR;	/* replication stalled */
	rpo_eval(&a, 1, NOW, &st);
	assert_int_equal(st.state, RPO_MISSED);
	assert_true(st.local_met);
	assert_false(st.hot_met);
	assert_int_equal(st.hot_age, 30 * HOUR);
	/* The same node, not replicated: the hot site is not asked. */
	rpo_eval(&a, 0, NOW, &st);
	assert_int_equal(st.state, RPO_MET);
	assert_int_equal(st.hot_age, -1);
	/* Never replicated yet. */
	a.repl_backup = 0;
	rpo_eval(&a, 1, NOW, &st);
	assert_int_equal(st.state, RPO_MISSED);
	assert_int_equal(st.hot_copy, 0);
	a.repl_backup = NOW - 3 * HOUR;
	rpo_eval(&a, 1, NOW, &st);
	assert_int_equal(st.state, RPO_MET);
	assert_int_equal(st.hot_age, 3 * HOUR);
}

static void
clock_step_back_is_age_zero(void **state)
{
	struct cat_account const a = node(HOUR, NOW + 600);
	struct rpo_status st;

	(void)state;
	rpo_eval(&a, 0, NOW, &st);
	assert_int_equal(st.local_age, 0);
	assert_int_equal(st.state, RPO_MET);
}

/* Only a sending node with a replication server defined is replicated. */
static void
replicated_needs_send_mode_and_a_server(void **state)
{
	struct cat_account a = node(HOUR, NOW);

	(void)state;
	a.repl_state = 1;
	a.repl_mode = CAT_REPLMODE_SEND;
	assert_true(rpo_replicated(&a, "HOT"));
	assert_false(rpo_replicated(&a, ""));
	assert_false(rpo_replicated(&a, NULL));
	a.repl_mode = CAT_REPLMODE_SYNCSEND;
	assert_true(rpo_replicated(&a, "HOT"));
	a.repl_mode = CAT_REPLMODE_RECEIVE;
	assert_false(rpo_replicated(&a, "HOT"));
	a.repl_mode = CAT_REPLMODE_SEND;
	a.repl_state = 0;
	assert_false(rpo_replicated(&a, "HOT"));
}

/* rpo_node reads SET REPLSERVER from a real catalog; repl_backup sticks. */
static void
rpo_node_reads_the_catalog(void **state)
{
	char path[] = "/tmp/coffer-test-rpo.XXXXXX";
	char db[sizeof(path) + 16];
	struct cat *c = NULL;
	struct cat_account a = node(24 * HOUR, NOW - HOUR), got;
	struct rpo_status st;
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(db, sizeof(db), "%s/catalog.db", path);
	assert_int_equal(cat_open(db, &c, &e), 0);
	strcpy(a.pwhash, "x");
	a.repl_state = 1;
	a.repl_backup = NOW - 48 * HOUR;
	assert_int_equal(cat_account_add(c, &a, &e), 0);
	assert_int_equal(cat_account_get(c, CAT_KIND_NODE, "web01", &got, &e),
	    0);
	assert_int_equal(got.repl_backup, NOW - 48 * HOUR);
	assert_int_equal(rpo_node(c, &got, NOW, &st, &e), 0);
	assert_false(st.replicated);	/* no replication server yet */
	assert_int_equal(st.state, RPO_MET);
	assert_int_equal(cat_setting_set(c, "replserver", "HOT", &e), 0);
	assert_int_equal(rpo_node(c, &got, NOW, &st, &e), 0);
	assert_true(st.replicated);
	assert_int_equal(st.state, RPO_MISSED);
	got.repl_backup = NOW - 2 * HOUR;
	assert_int_equal(cat_account_update(c, &got, &e), 0);
	assert_int_equal(cat_account_get(c, CAT_KIND_NODE, "WEB01", &got, &e),
	    0);
	assert_int_equal(rpo_node(c, &got, NOW, &st, &e), 0);
	assert_int_equal(st.state, RPO_MET);
	cat_close(c);
	unlink(db);
	snprintf(db, sizeof(db), "%s/catalog.db-wal", path);
	unlink(db);
	snprintf(db, sizeof(db), "%s/catalog.db-shm", path);
	unlink(db);
	rmdir(path);
}

/* ---- the periodic check (rpo_check.c) ---- */

struct logcount {
	int	warn, info;
	char	last[512];
};

static int
count_log(void *arg, const struct cat_actlog_row *r)
{
	struct logcount *lc = arg;

	if (r->msgno == 4970)
		lc->warn++;
	else if (r->msgno == 4971)
		lc->info++;
	else
		return 0;
	snprintf(lc->last, sizeof(lc->last), "%s", r->message);
	return 0;
}

static struct logcount
rpo_log(struct cat *c)
{
	struct logcount lc;
	struct err e;

	memset(&lc, 0, sizeof(lc));
	assert_int_equal(cat_actlog_query(c, 0, NULL, count_log, &lc, &e), 0);
	return lc;
}

static void
remove_catalog(char *path)
{
	static const char *const f[] = { "catalog.db", "catalog.db-wal",
	    "catalog.db-shm" };
	char p[128];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, f[i]);
		unlink(p);
	}
	rmdir(path);
}

/*
 * The clock moves past a node's RPO: one warning, however many checks
 * run; a new backup: one notice, and then quiet again.  A node without
 * an RPO never warns.
 */
static void
check_warns_once_per_miss_and_clears_once(void **state)
{
	char path[] = "/tmp/coffer-test-rpo.XXXXXX";
	char db[sizeof(path) + 16];
	struct cat *c = NULL;
	struct cat_account web = node(24 * HOUR, NOW - 2 * HOUR);
	struct cat_account none = node(0, NOW - 1000 * HOUR);
	struct rpo_check_report rep;
	struct logcount lc;
	int64_t since;
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(db, sizeof(db), "%s/catalog.db", path);
	assert_int_equal(cat_open(db, &c, &e), 0);
	strcpy(web.pwhash, "x");
	strcpy(none.pwhash, "x");
	strcpy(none.name, "NORPO");
	assert_int_equal(cat_account_add(c, &web, &e), 0);
	assert_int_equal(cat_account_add(c, &none, &e), 0);

	assert_int_equal(rpo_check_run(c, NOW, &rep, &e), 0);
	assert_int_equal(rep.nodes, 2);
	assert_int_equal(rep.met, 1);
	assert_int_equal(rep.missed, 0);
	assert_int_equal(rep.warned, 0);
	assert_int_equal(rpo_log(c).warn, 0);

	/* 22 h later the backup is 24 h and 1 s old. */
	assert_int_equal(rpo_check_run(c, NOW + 22 * HOUR + 1, &rep, &e), 0);
	assert_int_equal(rep.missed, 1);
	assert_int_equal(rep.warned, 1);
	lc = rpo_log(c);
	assert_int_equal(lc.warn, 1);
	assert_non_null(strstr(lc.last, "Node WEB01 misses its recovery "
	    "point objective of 24h: its newest recoverable copy here is "
	    "24h 0m old (last backup "));
	assert_int_equal(cat_rpo_miss_get(c, "web01", &since, &e), 0);
	assert_int_equal(since, NOW + 22 * HOUR + 1);
	for (int i = 2; i < 5; i++) {
		assert_int_equal(rpo_check_run(c, NOW + i * 24 * HOUR, &rep,
		    &e), 0);
		assert_int_equal(rep.warned, 0);
	}
	assert_int_equal(rpo_log(c).warn, 1);

	/* A backup at day 5: met again, said once. */
	web.last_backup = NOW + 5 * 24 * HOUR;
	assert_int_equal(cat_account_update(c, &web, &e), 0);
	assert_int_equal(rpo_check_run(c, NOW + 5 * 24 * HOUR + 60, &rep, &e),
	    0);
	assert_int_equal(rep.cleared, 1);
	assert_int_equal(rpo_check_run(c, NOW + 5 * 24 * HOUR + 120, &rep,
	    &e), 0);
	assert_int_equal(rep.cleared, 0);
	lc = rpo_log(c);
	assert_int_equal(lc.warn, 1);
	assert_int_equal(lc.info, 1);
	assert_non_null(strstr(lc.last, "Node WEB01 meets its recovery point "
	    "objective of 24h again"));
	assert_int_equal(cat_rpo_miss_get(c, "WEB01", &since, &e), 0);
	assert_int_equal(since, 0);

	/* A second miss warns again. */
	assert_int_equal(rpo_check_run(c, NOW + 7 * 24 * HOUR, &rep, &e), 0);
	assert_int_equal(rep.warned, 1);
	assert_int_equal(rpo_log(c).warn, 2);
	cat_close(c);
	remove_catalog(path);
}

/* A replicated node whose replication stalls: the hot site is named. */
static void
check_names_the_hot_site_when_it_is_behind(void **state)
{
	char path[] = "/tmp/coffer-test-rpo.XXXXXX";
	char db[sizeof(path) + 16];
	struct cat *c = NULL;
	struct cat_account a = node(24 * HOUR, NOW - HOUR);
	struct rpo_check_report rep;
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(db, sizeof(db), "%s/catalog.db", path);
	assert_int_equal(cat_open(db, &c, &e), 0);
	strcpy(a.pwhash, "x");
	a.repl_state = 1;
	a.repl_backup = NOW - 30 * HOUR;
	assert_int_equal(cat_account_add(c, &a, &e), 0);
	assert_int_equal(cat_setting_set(c, "replserver", "HOTSITE", &e), 0);
	assert_int_equal(rpo_check_run(c, NOW, &rep, &e), 0);
	assert_int_equal(rep.warned, 1);
	assert_non_null(strstr(rpo_log(c).last, "its newest copy at the hot "
	    "site HOTSITE is 30h 0m old"));
	/* A removed node's record goes with it. */
	assert_int_equal(cat_account_remove(c, CAT_KIND_NODE, "WEB01", &e), 0);
	assert_int_equal(rpo_check_run(c, NOW, &rep, &e), 0);
	assert_int_equal(rep.nodes, 0);
	cat_close(c);
	remove_catalog(path);
}

static void
ages_and_targets_read_like_people_write_them(void **state)
{
	char b[32];
	int64_t v;

	(void)state;
	assert_string_equal(rpo_fmt_age(-1, b, sizeof(b)), "none");
	assert_string_equal(rpo_fmt_age(45, b, sizeof(b)), "45s");
	assert_string_equal(rpo_fmt_age(15 * 60, b, sizeof(b)), "15m");
	assert_string_equal(rpo_fmt_age(12 * 60 + 5, b, sizeof(b)), "12m 5s");
	assert_string_equal(rpo_fmt_age(26 * HOUR + 600, b, sizeof(b)),
	    "26h 10m");
	assert_string_equal(rpo_fmt_age(5 * 24 * HOUR + 3 * HOUR, b,
	    sizeof(b)), "5d 3h");
	assert_string_equal(rpo_fmt_target(0, b, sizeof(b)), "none");
	assert_string_equal(rpo_fmt_target(72 * HOUR, b, sizeof(b)), "72h");
	assert_string_equal(rpo_fmt_target(90 * 60, b, sizeof(b)), "90m");
	assert_string_equal(rpo_fmt_when(0, b, sizeof(b)), "never");
	assert_int_equal(rpo_check_parse_interval("1s", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(rpo_check_parse_interval("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(rpo_check_parse_interval("2H", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(rpo_check_parse_interval("30", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(rpo_check_parse_interval("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rpo_check_parse_interval("25h", &v), COFFER_EINVAL);
	assert_int_equal(rpo_check_parse_interval("5x", &v), COFFER_EINVAL);
	assert_int_equal(rpo_check_parse_interval("-1", &v), COFFER_EINVAL);
	assert_int_equal(rpo_check_parse_interval("", &v), COFFER_EINVAL);
	assert_int_equal(rpo_check_parse_interval("99999999999999999999h",
	    &v), COFFER_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_rpo_is_none_whatever_the_age),
		cmocka_unit_test(ages_past_the_rpo),
		cmocka_unit_test(never_backed_up_misses),
		cmocka_unit_test(replicated_node_is_judged_at_both_sites),
		cmocka_unit_test(clock_step_back_is_age_zero),
		cmocka_unit_test(replicated_needs_send_mode_and_a_server),
		cmocka_unit_test(rpo_node_reads_the_catalog),
		cmocka_unit_test(check_warns_once_per_miss_and_clears_once),
		cmocka_unit_test(check_names_the_hot_site_when_it_is_behind),
		cmocka_unit_test(ages_and_targets_read_like_people_write_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
