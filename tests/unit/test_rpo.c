/*
 * test_rpo.c - recovery point objectives: which copy counts, how old it
 * is, and when a node meets or misses its RPO, with the clock moved by
 * the test (rpo_eval takes now).
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
