/*
 * test_sched.c - schedule windows and DEFINE SCHEDULE's values
 * (server/sched_win.c): hourly and daily periods, onetime, DAYOFWEEK, a
 * window open now and the next one, the windows of a day, calendar days
 * across a DST change, and the parsers' accepted and refused forms.
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
#include <time.h>
#include <unistd.h>

#include "sched_win.h"

/* Local time as unix seconds. */
static int64_t
lt(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static int
utc(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static int
berlin(void **state)
{
	(void)state;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	return 0;
}

static void
sched_daily_window_open_now_is_current(void **state)
{
	struct sched_spec s = { lt(2026, 3, 2, 22, 0, 0), 3600, SCHED_DAY, 0 };
	int64_t w;

	(void)state;
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 5, 22, 30, 0), &w), 1);
	assert_true(w == lt(2026, 3, 5, 22, 0, 0));
	/* The last second of the window still counts; its end does not. */
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 5, 22, 59, 59), &w),
	    1);
	assert_true(w == lt(2026, 3, 5, 22, 0, 0));
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 5, 23, 0, 0), &w), 1);
	assert_true(w == lt(2026, 3, 6, 22, 0, 0));
}

static void
sched_before_first_window_gives_the_first(void **state)
{
	struct sched_spec s = { lt(2026, 3, 2, 22, 0, 0), 3600, SCHED_DAY, 0 };
	int64_t w;

	(void)state;
	assert_int_equal(sched_window_at(&s, lt(2026, 1, 1, 0, 0, 0), &w), 1);
	assert_true(w == s.first);
}

static void
sched_hourly_period_steps_in_hours(void **state)
{
	struct sched_spec s = { lt(2026, 3, 2, 0, 15, 0), 600, 4 * 3600, 0 };
	int64_t w;

	(void)state;
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 2, 5, 0, 0), &w), 1);
	assert_true(w == lt(2026, 3, 2, 8, 15, 0));
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 2, 4, 20, 0), &w), 1);
	assert_true(w == lt(2026, 3, 2, 4, 15, 0));
	assert_int_equal(sched_is_window(&s, lt(2026, 3, 3, 4, 15, 0)), 1);
	assert_int_equal(sched_is_window(&s, lt(2026, 3, 3, 4, 16, 0)), 0);
}

static void
sched_onetime_has_one_window_then_none(void **state)
{
	struct sched_spec s = { 1000000, 60, 0, 0 };
	int64_t w;

	(void)state;
	assert_int_equal(sched_window_at(&s, 999000, &w), 1);
	assert_true(w == 1000000);
	assert_int_equal(sched_window_at(&s, 1000059, &w), 1);
	assert_int_equal(sched_window_at(&s, 1000060, &w), 0);
	assert_int_equal(sched_is_window(&s, 1000000), 1);
}

static void
sched_dayofweek_skips_excluded_days(void **state)
{
	/* 2026-03-06 is a Friday; WEEKDAY skips Saturday and Sunday. */
	struct sched_spec s = { lt(2026, 3, 2, 22, 0, 0), 3600, SCHED_DAY,
	    SCHED_DOW_WEEKDAY };
	int64_t w;

	(void)state;
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 6, 23, 30, 0), &w),
	    1);
	assert_true(w == lt(2026, 3, 9, 22, 0, 0));
	assert_int_equal(sched_is_window(&s, lt(2026, 3, 7, 22, 0, 0)), 0);
	s.dow = SCHED_DOW_WEEKEND;
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 2, 23, 30, 0), &w),
	    1);
	assert_true(w == lt(2026, 3, 7, 22, 0, 0));
}

static int
collect(void *arg, int64_t w)
{
	int64_t *v = arg;

	v[++v[0]] = w;
	return 0;
}

static void
sched_windows_lists_those_overlapping_the_range(void **state)
{
	struct sched_spec s = { lt(2026, 3, 1, 23, 30, 0), 3600, 6 * 3600, 0 };
	int64_t v[16] = { 0 };

	(void)state;
	/* 2026-03-02: the 23:30 window of the day before overlaps 00:00. */
	assert_int_equal(sched_windows(&s, lt(2026, 3, 2, 0, 0, 0),
	    lt(2026, 3, 3, 0, 0, 0), 16, collect, v), 5);
	assert_true(v[1] == lt(2026, 3, 1, 23, 30, 0));
	assert_true(v[2] == lt(2026, 3, 2, 5, 30, 0));
	assert_true(v[5] == lt(2026, 3, 2, 23, 30, 0));
	memset(v, 0, sizeof(v));
	assert_int_equal(sched_windows(&s, lt(2026, 3, 2, 0, 0, 0),
	    lt(2026, 3, 3, 0, 0, 0), 2, collect, v), 2);
}

static void
sched_daily_window_keeps_local_time_across_dst(void **state)
{
	/* Berlin moves to summer time on 2026-03-29 at 02:00. */
	struct sched_spec s = { lt(2026, 3, 27, 1, 30, 0), 3600, SCHED_DAY, 0 };
	struct tm tm;
	time_t t;
	int64_t w;

	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();	/* no tzdata: nothing to shift */
	assert_int_equal(sched_window_at(&s, lt(2026, 3, 30, 0, 0, 0), &w), 1);
	t = (time_t)w;
	localtime_r(&t, &tm);
	assert_int_equal(tm.tm_mday, 30);
	assert_int_equal(tm.tm_hour, 1);
	assert_int_equal(tm.tm_min, 30);
	/* 23 hours after the window of the day before, not 24. */
	assert_true(w - sched_window_start(&s, 2) == 23 * 3600);
}

static void
sched_status_follows_window_and_event(void **state)
{
	(void)state;
	assert_int_equal(sched_status(100, 10, 99, 0), SCHED_ST_FUTURE);
	assert_int_equal(sched_status(100, 10, 100, 0), SCHED_ST_PENDING);
	assert_int_equal(sched_status(100, 10, 110, 0), SCHED_ST_MISSED);
	assert_int_equal(sched_status(100, 10, 200, SCHED_ST_STARTED),
	    SCHED_ST_STARTED);
	assert_int_equal(sched_status(100, 10, 200, SCHED_ST_COMPLETED),
	    SCHED_ST_COMPLETED);
	assert_int_equal(sched_status_for_rc(0), SCHED_ST_COMPLETED);
	assert_int_equal(sched_status_for_rc(8), SCHED_ST_COMPLETED);
	assert_int_equal(sched_status_for_rc(12), SCHED_ST_FAILED);
	assert_string_equal(sched_status_name(SCHED_ST_MISSED), "Missed");
}

static void
sched_dow_parses_lists_and_names(void **state)
{
	char buf[64];
	unsigned m;

	(void)state;
	assert_int_equal(sched_parse_dow("any", &m), 0);
	assert_int_equal(m, SCHED_DOW_ANY);
	assert_int_equal(sched_parse_dow("WEEKDay", &m), 0);
	assert_int_equal(m, SCHED_DOW_WEEKDAY);
	assert_int_equal(sched_parse_dow("mon,WED,friday", &m), 0);
	assert_string_equal(sched_fmt_dow(m, buf, sizeof(buf)),
	    "MON,WED,FRI");
	assert_int_equal(sched_parse_dow("su,sa", &m), 0);
	assert_string_equal(sched_fmt_dow(m, buf, sizeof(buf)), "WEEKEND");
	assert_int_equal(sched_parse_dow("s", &m), -1);	/* SU or SA? */
	assert_int_equal(sched_parse_dow("t", &m), -1);
	assert_int_equal(sched_parse_dow("mon,", &m), -1);
	assert_int_equal(sched_parse_dow("funday", &m), -1);
	assert_int_equal(sched_parse_dow("", &m), -1);
}

static void
sched_units_parse_and_format(void **state)
{
	char buf[32];
	int64_t s;

	(void)state;
	assert_int_equal(sched_parse_units(10, "minutes", 0, &s), 0);
	assert_true(s == 600);
	assert_int_equal(sched_parse_units(2, "H", 0, &s), 0);
	assert_true(s == 7200);
	assert_int_equal(sched_parse_units(1, "days", 1, &s), 0);
	assert_true(s == SCHED_DAY);
	assert_int_equal(sched_parse_units(1, "onetime", 1, &s), 0);
	assert_true(s == 0);
	assert_int_equal(sched_parse_units(1, "onetime", 0, &s), -1);
	assert_int_equal(sched_parse_units(1, "m", 0, &s), -1);
	assert_int_equal(sched_parse_units(0, "hours", 0, &s), -1);
	assert_int_equal(sched_parse_units(1000, "hours", 0, &s), -1);
	assert_string_equal(sched_fmt_interval(SCHED_DAY, buf, sizeof(buf)),
	    "1 day");
	assert_string_equal(sched_fmt_interval(600, buf, sizeof(buf)),
	    "10 minutes");
	assert_string_equal(sched_fmt_interval(0, buf, sizeof(buf)),
	    "onetime");
}

static void
sched_start_parses_dates_and_times(void **state)
{
	int64_t const now = lt(2026, 3, 2, 10, 20, 30);
	int64_t t;

	(void)state;
	assert_int_equal(sched_parse_start(NULL, NULL, now, &t), 0);
	assert_true(t == now);
	assert_int_equal(sched_parse_start(NULL, "now+1:30", now, &t), 0);
	assert_true(t == now + 5400);
	assert_int_equal(sched_parse_start("today-1", "NOW", now, &t), 0);
	assert_true(t == lt(2026, 3, 1, 10, 20, 30));
	assert_int_equal(sched_parse_start("2026-04-01", "02:00", now, &t), 0);
	assert_true(t == lt(2026, 4, 1, 2, 0, 0));
	assert_int_equal(sched_parse_start("TODAY+2", "23:59:59", now, &t), 0);
	assert_true(t == lt(2026, 3, 4, 23, 59, 59));
	assert_int_equal(sched_parse_start("2026-02-30", "02:00", now, &t), -1);
	assert_int_equal(sched_parse_start(NULL, "24:00", now, &t), -1);
	assert_int_equal(sched_parse_start(NULL, "2pm", now, &t), -1);
	assert_int_equal(sched_parse_start("yesterday", NULL, now, &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(sched_daily_window_open_now_is_current,
		    utc),
		cmocka_unit_test_setup(
		    sched_before_first_window_gives_the_first, utc),
		cmocka_unit_test_setup(sched_hourly_period_steps_in_hours, utc),
		cmocka_unit_test_setup(sched_onetime_has_one_window_then_none,
		    utc),
		cmocka_unit_test_setup(sched_dayofweek_skips_excluded_days,
		    utc),
		cmocka_unit_test_setup(
		    sched_windows_lists_those_overlapping_the_range, utc),
		cmocka_unit_test_setup(
		    sched_daily_window_keeps_local_time_across_dst, berlin),
		cmocka_unit_test(sched_status_follows_window_and_event),
		cmocka_unit_test_setup(sched_dow_parses_lists_and_names, utc),
		cmocka_unit_test_setup(sched_units_parse_and_format, utc),
		cmocka_unit_test_setup(sched_start_parses_dates_and_times,
		    utc),
	};

	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
