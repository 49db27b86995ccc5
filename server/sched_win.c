/*
 * sched_win.c - schedule windows and the values DEFINE SCHEDULE takes (see
 * sched_win.h).  Pure: every time comes in as an argument.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sched_win.h"

static int
day_period(const struct sched_spec *s)
{
	return s->period_s > 0 && s->period_s % SCHED_DAY == 0;
}

int64_t
sched_window_start(const struct sched_spec *s, int64_t k)
{
	struct tm tm;
	time_t t = (time_t)s->first;

	if (k <= 0 || s->period_s <= 0)
		return s->first;
	if (!day_period(s))
		return s->first + k * s->period_s;
	/*
	 * Calendar days: the same local time of day k periods later, with
	 * mktime deciding the offset of that day (DST).
	 */
	localtime_r(&t, &tm);
	tm.tm_mday += (int)(k * (s->period_s / SCHED_DAY));
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static int
allowed(const struct sched_spec *s, int64_t start)
{
	unsigned const mask = s->dow != 0 ? s->dow : SCHED_DOW_ANY;
	time_t t = (time_t)start;
	struct tm tm;

	if ((mask & SCHED_DOW_ANY) == SCHED_DOW_ANY)
		return 1;
	localtime_r(&t, &tm);
	return (mask >> tm.tm_wday) & 1u;
}

/* A window index at or before the first one that ends after t. */
static int64_t
first_index(const struct sched_spec *s, int64_t t)
{
	int64_t k;

	if (s->period_s <= 0 || t <= s->first)
		return 0;
	/* Two periods early: DST moves calendar-day windows by an hour. */
	k = (t - s->first - s->duration_s) / s->period_s - 2;
	return k < 0 ? 0 : k;
}

int
sched_window_at(const struct sched_spec *s, int64_t t, int64_t *start)
{
	int64_t k = first_index(s, t);

	for (int n = 0; n < SCHED_SCAN_MAX; n++, k++) {
		int64_t const w = sched_window_start(s, k);

		if (w + s->duration_s > t && allowed(s, w)) {
			*start = w;
			return 1;
		}
		if (s->period_s <= 0)
			return 0;
	}
	return 0;
}

int
sched_is_window(const struct sched_spec *s, int64_t start)
{
	int64_t w;

	return sched_window_at(s, start, &w) == 1 && w == start;
}

int
sched_windows(const struct sched_spec *s, int64_t from, int64_t to,
    size_t max, int (*cb)(void *, int64_t), void *arg)
{
	int64_t k = first_index(s, from);
	size_t found = 0;
	int r;

	for (int n = 0; n < SCHED_SCAN_MAX && found < max; n++, k++) {
		int64_t const w = sched_window_start(s, k);

		if (w >= to)
			break;
		if (w + s->duration_s > from && allowed(s, w)) {
			if ((r = cb(arg, w)) != 0)
				return r;
			found++;
		}
		if (s->period_s <= 0)
			break;
	}
	return (int)found;
}

/* ---- statuses ---- */

enum sched_status
sched_status(int64_t start, int64_t duration_s, int64_t now, int stored)
{
	switch (stored) {
	case SCHED_ST_STARTED:
	case SCHED_ST_COMPLETED:
	case SCHED_ST_FAILED:
		return (enum sched_status)stored;
	}
	if (now < start)
		return SCHED_ST_FUTURE;
	if (now < start + duration_s)
		return SCHED_ST_PENDING;
	return SCHED_ST_MISSED;
}

const char *
sched_status_name(enum sched_status st)
{
	switch (st) {
	case SCHED_ST_FUTURE:		return "Future";
	case SCHED_ST_STARTED:		return "Started";
	case SCHED_ST_COMPLETED:	return "Completed";
	case SCHED_ST_FAILED:		return "Failed";
	case SCHED_ST_PENDING:		return "Pending";
	case SCHED_ST_MISSED:		return "Missed";
	}
	return "?";
}

int
sched_status_for_rc(int rc)
{
	/* TSM shows rc 4 and 8 as Completed too, with the rc beside it. */
	return rc >= 0 && rc <= 8 ? SCHED_ST_COMPLETED : SCHED_ST_FAILED;
}

/* ---- parameters ---- */

/* word abbreviates full with at least min characters, any case. */
static int
abbrev(const char *word, size_t n, const char *full, size_t min)
{
	return n >= min && n <= strlen(full) && strncasecmp(word, full, n) == 0;
}

static const struct {
	const char	*name;
	size_t		 min;
	const char	*shortname;
} days[] = {
	{ "SUNDAY", 2, "SUN" }, { "MONDAY", 1, "MON" },
	{ "TUESDAY", 2, "TUE" }, { "WEDNESDAY", 1, "WED" },
	{ "THURSDAY", 2, "THU" }, { "FRIDAY", 1, "FRI" },
	{ "SATURDAY", 2, "SAT" },
};

int
sched_parse_dow(const char *s, unsigned *mask)
{
	unsigned m = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	while (*p != '\0') {
		size_t const n = strcspn(p, ",");
		int hit = 0;

		if (abbrev(p, n, "ANY", 1)) {
			m |= SCHED_DOW_ANY;
			hit = 1;
		} else if (abbrev(p, n, "WEEKDAY", 5)) {
			m |= SCHED_DOW_WEEKDAY;
			hit = 1;
		} else if (abbrev(p, n, "WEEKEND", 5)) {
			m |= SCHED_DOW_WEEKEND;
			hit = 1;
		}
		for (int d = 0; !hit && d < 7; d++)
			if (abbrev(p, n, days[d].name, days[d].min)) {
				m |= 1u << d;
				hit = 1;
			}
		if (!hit)
			return -1;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -1;	/* a trailing comma */
	}
	*mask = m;
	return 0;
}

const char *
sched_fmt_dow(unsigned mask, char *buf, size_t len)
{
	size_t used = 0;

	mask &= SCHED_DOW_ANY;
	if (mask == 0 || mask == SCHED_DOW_ANY)
		snprintf(buf, len, "ANY");
	else if (mask == SCHED_DOW_WEEKDAY)
		snprintf(buf, len, "WEEKDAY");
	else if (mask == SCHED_DOW_WEEKEND)
		snprintf(buf, len, "WEEKEND");
	else {
		buf[0] = '\0';
		/* Monday first, as a calendar page. */
		for (int i = 1; i <= 7 && used < len; i++) {
			int const d = i % 7;

			if (!((mask >> d) & 1u))
				continue;
			snprintf(buf + used, len - used, "%s%s",
			    used ? "," : "", days[d].shortname);
			used = strlen(buf);
		}
	}
	return buf;
}

int
sched_parse_units(long n, const char *units, int onetime_ok, int64_t *out)
{
	size_t const len = units != NULL ? strlen(units) : 0;
	int64_t mul;

	if (len == 0)
		return -1;
	if (onetime_ok && abbrev(units, len, "ONETIME", 1)) {
		*out = 0;
		return 0;
	}
	if (abbrev(units, len, "MINUTES", 2))
		mul = 60;
	else if (abbrev(units, len, "HOURS", 1))
		mul = 3600;
	else if (abbrev(units, len, "DAYS", 1))
		mul = SCHED_DAY;
	else if (abbrev(units, len, "WEEKS", 1))
		mul = 7 * SCHED_DAY;
	else
		return -1;
	/* TSM's limit for both DURATION and PERIOD is 999. */
	if (n < 1 || n > 999)
		return -1;
	*out = (int64_t)n * mul;
	return 0;
}

const char *
sched_fmt_interval(int64_t s, char *buf, size_t len)
{
	static const struct { int64_t unit; const char *name; } u[] = {
		{ 7 * SCHED_DAY, "week" }, { SCHED_DAY, "day" },
		{ 3600, "hour" }, { 60, "minute" }, { 1, "second" },
	};

	if (s <= 0) {
		snprintf(buf, len, "onetime");
		return buf;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (s % u[i].unit == 0) {
			long long const n = (long long)(s / u[i].unit);

			snprintf(buf, len, "%lld %s%s", n, u[i].name,
			    n == 1 ? "" : "s");
			break;
		}
	return buf;
}

/* "H[:MM]" of NOW+/-: seconds, or -1. */
static int64_t
offset_hm(const char *s)
{
	int h, m = 0, used = 0;

	if (sscanf(s, "%3d%n", &h, &used) != 1 || h < 0)
		return -1;
	if (s[used] == ':') {
		int u2 = 0;

		if (sscanf(s + used + 1, "%2d%n", &m, &u2) != 1 || m < 0 ||
		    m > 59)
			return -1;
		used += 1 + u2;
	}
	if (s[used] != '\0')
		return -1;
	return (int64_t)h * 3600 + (int64_t)m * 60;
}

/* The local date of a STARTDATE into tm (its time of day untouched). */
static int
parse_date(const char *s, time_t now, struct tm *tm)
{
	int y, mo, d, used = 0;
	char *end;
	long n;

	localtime_r(&now, tm);
	if (s == NULL || strcasecmp(s, "TODAY") == 0)
		return 0;
	if (strncasecmp(s, "TODAY", 5) == 0 && (s[5] == '+' || s[5] == '-')) {
		errno = 0;
		n = strtol(s + 6, &end, 10);
		if (errno != 0 || end == s + 6 || *end != '\0' || n < 0 ||
		    n > 9999)
			return -1;
		tm->tm_mday += s[5] == '+' ? (int)n : -(int)n;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 ||
	    s[used] != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31)
		return -1;
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	return 0;
}

int
sched_parse_start(const char *date, const char *time_s, int64_t now,
    int64_t *out)
{
	time_t const tnow = (time_t)now;
	struct tm tm, ref;
	int h, m, sec = 0, used = 0, mday;
	int64_t off = 0, t;

	if (parse_date(date, tnow, &tm) != 0)
		return -1;
	if (time_s == NULL || strncasecmp(time_s, "NOW", 3) == 0) {
		const char *rest = time_s != NULL ? time_s + 3 : "";

		if (*rest == '+' || *rest == '-') {
			if ((off = offset_hm(rest + 1)) < 0)
				return -1;
			if (*rest == '-')
				off = -off;
		} else if (*rest != '\0')
			return -1;
		/* NOW's time of day on the STARTDATE's day. */
		localtime_r(&tnow, &ref);
		tm.tm_hour = ref.tm_hour;
		tm.tm_min = ref.tm_min;
		tm.tm_sec = ref.tm_sec;
	} else {
		if (sscanf(time_s, "%2d:%2d%n", &h, &m, &used) != 2)
			return -1;
		if (time_s[used] == ':') {
			int u2 = 0;

			if (sscanf(time_s + used + 1, "%2d%n", &sec, &u2) != 1)
				return -1;
			used += 1 + u2;
		}
		if (time_s[used] != '\0' || h < 0 || h > 23 || m < 0 ||
		    m > 59 || sec < 0 || sec > 59)
			return -1;
		tm.tm_hour = h;
		tm.tm_min = m;
		tm.tm_sec = sec;
	}
	mday = tm.tm_mday;
	tm.tm_isdst = -1;
	if ((t = (int64_t)mktime(&tm)) == -1)
		return -1;
	/* mktime normalizes 02-30 into March: refuse a date that moved. */
	if (date != NULL && strncasecmp(date, "TODAY", 5) != 0 &&
	    tm.tm_mday != mday)
		return -1;
	*out = t + off;
	return 0;
}
