/*
 * test_adm_sched.c - the schedule commands as an administrator types them,
 * against a real catalog: DEFINE/UPDATE/QUERY/DELETE SCHEDULE with TSM's
 * defaults and abbreviations, values refused with what was expected,
 * associations only for registered nodes of the schedule's domain, and
 * QUERY EVENT's statuses (Future, Pending, Missed, Completed with its
 * rc) for client and administrative schedules.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adm.h"
#include "cat.h"
#include "err.h"
#include "proto.h"
#include "sched_win.h"
#include "util.h"

struct fixture {
	char			 dir[64];
	char			 db[PATH_MAX];
	struct cat		*cat;
	struct adm_env		 env;
	struct adm_result	 res;
};

static int
setup(void **state)
{
	struct fixture *fx;
	struct cat_domain d;
	struct err e;

	err_clear(&e);
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-admsched-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/catalog.db", fx->dir);
	if (cat_open(fx->db, &fx->cat, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "STANDARD");
	d.verexists = 2;
	d.verdeleted = 1;
	d.retextra = 30;
	d.retonly = 60;
	assert_int_equal(cat_domain_define(fx->cat, &d, &e), 0);
	snprintf(d.name, sizeof(d.name), "OTHER");
	assert_int_equal(cat_domain_define(fx->cat, &d, &e), 0);
	fx->env.cat = fx->cat;
	fx->env.admin = "ADMIN";
	adm_result_init(&fx->res);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	adm_result_free(&fx->res);
	cat_close(fx->cat);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static int
run(struct fixture *fx, const char *line)
{
	adm_result_free(&fx->res);
	if (adm_execute(&fx->env, line, &fx->res) != 0)
		fail_msg("adm_execute(\"%s\") failed", line);
	return fx->res.rc;
}

static void
run_ok(struct fixture *fx, const char *line)
{
	if (run(fx, line) != RC_OK)
		fail_msg("\"%s\": rc %d: %s", line, fx->res.rc,
		    fx->res.nmsg ? fx->res.msgs[0] : "(no message)");
}

static void
assert_msg(const struct adm_result *res, const char *s)
{
	for (size_t i = 0; i < res->nmsg; i++)
		if (strstr(res->msgs[i], s) != NULL)
			return;
	fail_msg("no message contains \"%s\"; first: %s", s,
	    res->nmsg ? res->msgs[0] : "(none)");
}

static const char *
cell(const struct adm_result *res, size_t row, const char *col)
{
	int const c = adm_col_index(res, col);

	if (c < 0)
		fail_msg("no column %s", col);
	return adm_cell(res, row, (size_t)c);
}

static void
run_fails(struct fixture *fx, const char *line, const char *why)
{
	assert_int_equal(run(fx, line), RC_ERROR);
	assert_msg(&fx->res, why);
}

/* ---- schedules ---- */

static void
adm_sched_define_takes_tsm_defaults(void **state)
{
	struct fixture *fx = *state;
	struct cat_sched s;
	time_t const before = time(NULL);

	run_ok(fx, "def sch standard nightly obj='/home /etc'");
	assert_msg(&fx->res, "ANR2500I Schedule NIGHTLY defined in policy "
	    "domain STANDARD");
	assert_int_equal(cat_sched_get(fx->cat, "STANDARD", "NIGHTLY", &s,
	    NULL), 0);
	assert_string_equal(s.action, "INCREMENTAL");
	assert_string_equal(s.objects, "/home /etc");
	assert_true(s.duration_s == 3600 && s.period_s == SCHED_DAY);
	assert_true(s.dayofweek == SCHED_DOW_ANY);
	assert_true(s.first_start >= before && s.first_start <= time(NULL));
	assert_string_equal(s.owner, "ADMIN");
	run_ok(fx, "q sched standard");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "duration"), "1 hour");
	assert_string_equal(cell(&fx->res, 0, "period"), "1 day");
	assert_string_equal(cell(&fx->res, 0, "dayofweek"), "ANY");
	assert_string_equal(cell(&fx->res, 0, "type"), "CLIENT");
	assert_null(cell(&fx->res, 0, "command"));
	run_fails(fx, "define schedule standard nightly objects=/x",
	    "already defined");
}

static void
adm_sched_update_changes_only_what_is_given(void **state)
{
	struct fixture *fx = *state;
	struct cat_sched s;
	int64_t first;

	run_ok(fx, "define schedule standard wk action=selective "
	    "objects=/srv startdate=2026-03-02 starttime=22:00 dur=2 "
	    "duru=hours per=1 peru=weeks dayofweek=mon,fri");
	assert_int_equal(cat_sched_get(fx->cat, "STANDARD", "WK", &s, NULL),
	    0);
	first = s.first_start;
	run_ok(fx, "upd sch standard wk starttime=23:30 desc='weekly run'");
	assert_msg(&fx->res, "ANR2502I");
	assert_int_equal(cat_sched_get(fx->cat, "STANDARD", "WK", &s, NULL),
	    0);
	assert_true(s.first_start == first + 90 * 60);
	assert_true(s.duration_s == 7200 && s.period_s == 7 * SCHED_DAY);
	assert_string_equal(s.action, "SELECTIVE");
	assert_string_equal(s.description, "weekly run");
	run_ok(fx, "query schedule standard w*");
	assert_string_equal(cell(&fx->res, 0, "dayofweek"), "MON,FRI");
	assert_string_equal(cell(&fx->res, 0, "period"), "1 week");
}

static void
adm_sched_bad_values_say_what_was_expected(void **state)
{
	struct fixture *fx = *state;

	run_fails(fx, "define schedule standard a action=archive objects=/x",
	    "INCREMENTAL, SELECTIVE or BACKUPVM");
	run_fails(fx, "define schedule standard a objects=/x durunits=years",
	    "MINUTES, HOURS, DAYS or WEEKS");
	run_fails(fx, "define schedule standard a objects=/x period=0",
	    "a number from 1 to 999");
	run_fails(fx, "define schedule standard a objects=/x dayofweek=noday",
	    "ANY, WEEKDAY, WEEKEND");
	run_fails(fx, "define schedule standard a objects=/x starttime=25:00",
	    "HH:MM");
	run_fails(fx, "define schedule standard a objects=/x duration=2 "
	    "durunits=days period=1 perunits=days", "windows would overlap");
	run_fails(fx, "define schedule standard a", "OBJECTS is required");
	run_fails(fx, "define schedule nosuch a objects=/x",
	    "Policy domain NOSUCH is not defined");
	run_fails(fx, "define schedule standard a objects=/x cmd='q node'",
	    "CMD and ACTIVE are for administrative");
	run_fails(fx, "define schedule a type=administrative",
	    "CMD is required");
	run_fails(fx, "define schedule standard", "Missing parameter "
	    "SCHEDULENAME");
	run_fails(fx, "delete schedule standard nosuch", "ANR2504E");
}

static void
adm_sched_admin_schedule_is_inactive_by_default(void **state)
{
	struct fixture *fx = *state;
	struct cat_sched s;

	run_ok(fx, "define schedule expnight type=admin "
	    "cmd='expire inventory wait=yes' starttime=02:00");
	assert_int_equal(cat_sched_get(fx->cat, "", "EXPNIGHT", &s, NULL), 0);
	assert_int_equal(s.type, CAT_SCHED_ADMIN);
	assert_int_equal(s.active, 0);
	assert_string_equal(s.cmd, "expire inventory wait=yes");
	run_ok(fx, "update schedule expnight type=administrative active=yes");
	run_ok(fx, "query schedule expnight type=administrative");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "active"), "YES");
	assert_string_equal(cell(&fx->res, 0, "command"),
	    "expire inventory wait=yes");
	assert_null(cell(&fx->res, 0, "domain_name"));
	/* Client schedule queries do not list administrative ones. */
	run(fx, "query schedule");
	assert_int_equal(fx->res.nrow, 0);
	run_ok(fx, "delete schedule expnight type=administrative");
	assert_int_equal(cat_sched_get(fx->cat, "", "EXPNIGHT", &s, NULL),
	    COFFER_ENOTFOUND);
}

/* ---- associations ---- */

static void
adm_assoc_needs_a_registered_node_of_the_domain(void **state)
{
	struct fixture *fx = *state;
	struct cat_assoc *as = NULL;
	size_t n = 0;

	run_ok(fx, "register node n1 Secret-node-1");
	run_ok(fx, "register node n2 Secret-node-2 domain=other");
	run_ok(fx, "define schedule standard nightly objects=/data");
	run_fails(fx, "define association standard nightly ghost",
	    "Node GHOST is not registered");
	run_fails(fx, "define association standard nightly n2",
	    "in policy domain OTHER, not STANDARD");
	run_ok(fx, "define assoc standard nightly n1");
	assert_msg(&fx->res, "ANR2510I Node N1 associated");
	run_ok(fx, "query association standard");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "node_name"), "N1");
	/* Deleting the schedule deletes its associations, as TSM does. */
	run_ok(fx, "delete schedule standard nightly");
	assert_int_equal(cat_assoc_array(fx->cat, NULL, NULL, NULL, &as, &n,
	    NULL), 0);
	assert_int_equal(n, 0);
	free(as);
}

/* ---- events ---- */

static void
day_string(int days, char *buf, size_t len)
{
	time_t t = time(NULL) + days * SCHED_DAY;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static void
adm_event_statuses_follow_windows_and_reports(void **state)
{
	struct fixture *fx = *state;
	struct cat_sched s;
	struct cat_event ev;
	char line[512], y[16], t[16];

	day_string(-1, y, sizeof(y));
	day_string(1, t, sizeof(t));
	run_ok(fx, "register node n1 Secret-node-1");
	run_ok(fx, "register node n2 Secret-node-2");
	run_ok(fx, "define schedule standard old objects=/x startdate=today-1 "
	    "starttime=now duration=1 durunits=minutes perunits=onetime");
	run_ok(fx, "define association standard old n1,n2");
	snprintf(line, sizeof(line), "query event standard old begindate=%s",
	    y);
	run_ok(fx, line);
	assert_int_equal(fx->res.nrow, 2);
	assert_string_equal(cell(&fx->res, 0, "status"), "Missed");
	assert_null(cell(&fx->res, 0, "result"));
	assert_non_null(cell(&fx->res, 0, "reason"));

	/* One node reported rc 4: Completed, as TSM shows it. */
	assert_int_equal(cat_sched_get(fx->cat, "STANDARD", "OLD", &s, NULL),
	    0);
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.domain, sizeof(ev.domain), "STANDARD");
	snprintf(ev.schedule, sizeof(ev.schedule), "OLD");
	snprintf(ev.node, sizeof(ev.node), "N2");
	ev.window_start = s.first_start;
	ev.actual_start = s.first_start + 5;
	ev.completed = s.first_start + 50;
	ev.status = sched_status_for_rc(4);
	ev.rc = 4;
	assert_int_equal(cat_event_put(fx->cat, &ev, NULL), 0);
	snprintf(line, sizeof(line), "q ev standard old begind=%s nodes=n2", y);
	run_ok(fx, line);
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "node_name"), "N2");
	assert_string_equal(cell(&fx->res, 0, "status"), "Completed");
	assert_string_equal(cell(&fx->res, 0, "result"), "4");

	/* A window an hour from now is Future; one open now is Pending. */
	run_ok(fx, "define schedule standard soon objects=/x "
	    "starttime=now+1:00");
	run_ok(fx, "define association standard soon n1");
	snprintf(line, sizeof(line), "query event standard soon enddate=%s",
	    t);
	run_ok(fx, line);
	assert_true(fx->res.nrow >= 1);
	assert_string_equal(cell(&fx->res, 0, "status"), "Future");
	run_ok(fx, "define schedule standard now objects=/x");
	run_ok(fx, "define association standard now n1");
	run_ok(fx, "query event standard now");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "status"), "Pending");
	run_fails(fx, "query event standard nosuch", "ANR2504E");
	run_fails(fx, "query event standard now begindate=someday",
	    "BEGINDATE");
}

static void
adm_event_of_admin_schedule_has_no_node(void **state)
{
	struct fixture *fx = *state;
	struct cat_event ev;
	struct cat_sched s;

	run_ok(fx, "define schedule rep type=administrative "
	    "cmd='query node' active=yes");
	assert_int_equal(cat_sched_get(fx->cat, "", "REP", &s, NULL), 0);
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.schedule, sizeof(ev.schedule), "REP");
	ev.window_start = s.first_start;
	ev.actual_start = s.first_start;
	ev.completed = s.first_start + 1;
	ev.status = SCHED_ST_FAILED;
	ev.rc = 12;
	snprintf(ev.message, sizeof(ev.message), "ANR2034E no match");
	assert_int_equal(cat_event_put(fx->cat, &ev, NULL), 0);
	run_ok(fx, "query event rep type=administrative");
	assert_int_equal(fx->res.nrow, 1);
	assert_null(cell(&fx->res, 0, "node_name"));
	assert_string_equal(cell(&fx->res, 0, "status"), "Failed");
	assert_string_equal(cell(&fx->res, 0, "result"), "12");
	assert_string_equal(cell(&fx->res, 0, "reason"), "ANR2034E no match");
}

static void
adm_set_randomize_and_queryschedperiod(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "set randomize 10");
	assert_true(cat_setting_int(fx->cat, "randomize", -1) == 10);
	run_fails(fx, "set randomize 51", "from 0 to 50");
	run_ok(fx, "set queryschedperiod 2");
	assert_true(cat_setting_int(fx->cat, "queryschedperiod", -1) == 7200);
	run_ok(fx, "set queryschedperiod 30s");
	assert_true(cat_setting_int(fx->cat, "queryschedperiod", -1) == 30);
	run_ok(fx, "set queryschedperiod");
	assert_true(cat_setting_int(fx->cat, "queryschedperiod", -1) == 0);
	run_fails(fx, "set queryschedperiod soon", "hours");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(adm_sched_define_takes_tsm_defaults),
		T(adm_sched_update_changes_only_what_is_given),
		T(adm_sched_bad_values_say_what_was_expected),
		T(adm_sched_admin_schedule_is_inactive_by_default),
		T(adm_assoc_needs_a_registered_node_of_the_domain),
		T(adm_event_statuses_follow_windows_and_reports),
		T(adm_event_of_admin_schedule_has_no_node),
		T(adm_set_randomize_and_queryschedperiod),
#undef T
	};

	return cmocka_run_group_tests_name("adm_sched", tests, NULL, NULL);
}
