/*
 * sched_win.h - schedule windows (TSM's classic schedules), as pure
 * arithmetic: no catalog, no clock of its own.
 *
 * A schedule has a first startup window at spec->first (unix seconds),
 * spec->duration_s long, repeated every spec->period_s (0: onetime).  The
 * startup window is when the schedule must START, not finish (TSM): a run
 * that starts at the last second of it is on time.
 *
 * Periods that are whole days step in calendar days of local time
 * (localtime/mktime), so a nightly 02:00 stays at 02:00 across a DST
 * change instead of moving by an hour; other periods step in seconds.
 * A window whose start falls on a day of the week not in spec->dow (bit
 * 0 Sunday ... bit 6 Saturday, as struct tm's tm_wday) is skipped.
 *
 * Window k (k >= 0) is the k-th repetition before any skipping; every
 * function here answers in window start times, which are what events are
 * keyed by.
 */
#ifndef COFFER_SCHED_WIN_H
#define COFFER_SCHED_WIN_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_DOW_ANY		0x7fu
#define SCHED_DOW_WEEKDAY	0x3eu	/* Monday to Friday */
#define SCHED_DOW_WEEKEND	0x41u	/* Saturday and Sunday */
#define SCHED_DAY		86400

/* Windows looked at by one call at most: bounds every loop here. */
#define SCHED_SCAN_MAX		100000

struct sched_spec {
	int64_t		first;		/* start of window 0 */
	int64_t		duration_s;	/* > 0 */
	int64_t		period_s;	/* 0: onetime */
	unsigned	dow;		/* SCHED_DOW_* mask; 0: ANY */
};

/* Start of window k, DAYOFWEEK not applied. */
int64_t sched_window_start(const struct sched_spec *s, int64_t k);

/*
 * The current-or-next window at time t: the earliest allowed window whose
 * end is after t.  1 with *start set, 0 when there is none (a onetime
 * schedule whose window has passed, or no allowed day in reach).
 */
int sched_window_at(const struct sched_spec *s, int64_t t, int64_t *start);

/* 1 when start is the start of an allowed window of s. */
int sched_is_window(const struct sched_spec *s, int64_t start);

/*
 * Call cb(arg, start) for each allowed window overlapping [from, to), in
 * order, at most max of them (and SCHED_SCAN_MAX looked at).  A non-zero
 * return from cb stops the walk and is returned; else the count.
 */
int sched_windows(const struct sched_spec *s, int64_t from, int64_t to,
    size_t max, int (*cb)(void *, int64_t), void *arg);

/*
 * Event statuses (what QUERY EVENT shows).  The stored ones are pinned
 * (the catalog's event.status): 1 started, 2 completed, 3 failed; the
 * others are derived from the window and the clock.
 */
enum sched_status {
	SCHED_ST_FUTURE = 0,	/* the window has not opened */
	SCHED_ST_STARTED = 1,	/* stored: started, no end reported */
	SCHED_ST_COMPLETED = 2,	/* stored: rc 0, 4 or 8 */
	SCHED_ST_FAILED = 3,	/* stored: rc 12 or a failure */
	SCHED_ST_PENDING = 4,	/* the window is open, nothing started */
	SCHED_ST_MISSED = 5,	/* the window closed without a start */
};

/*
 * Status of one window [start, start + duration) at now, given the stored
 * status (0: no event recorded).
 */
enum sched_status sched_status(int64_t start, int64_t duration_s,
    int64_t now, int stored);
/* "Future", "Pending", "Started", "Completed", "Failed", "Missed". */
const char *sched_status_name(enum sched_status st);
/* The stored status of a run that ended with TSM rc: 2 or 3. */
int sched_status_for_rc(int rc);

/* ---- parameters, as DEFINE SCHEDULE takes them ---- */

/*
 * DAYOFWEEK: ANY, WEEKDAY, WEEKEND, or a comma list of day names
 * (SUnday, Monday, TUesday, Wednesday, THursday, Friday, SAturday; TSM's
 * capitals are the shortest forms).  0 with *mask, or -1.
 */
int sched_parse_dow(const char *s, unsigned *mask);
/* "ANY", "WEEKDAY", "WEEKEND" or "MON,WED" into buf. */
const char *sched_fmt_dow(unsigned mask, char *buf, size_t len);

/*
 * A count and its units into seconds: units MINutes, Hours, Days, Weeks
 * (abbreviable down to one letter but M: MI); ONETIME is allowed when
 * onetime_ok and gives 0.  0 or -1.
 */
int sched_parse_units(long n, const char *units, int onetime_ok,
    int64_t *out);
/* "1 day", "12 hours", "10 minutes", "90 seconds", "onetime". */
const char *sched_fmt_interval(int64_t s, char *buf, size_t len);

/*
 * STARTDATE (YYYY-MM-DD, TODAY, TODAY+N, TODAY-N) and STARTTIME (HH:MM[:SS],
 * NOW, NOW+H[:MM], NOW-H[:MM]) at local time now into the first window's
 * start; either may be NULL (TODAY, NOW).  A time with NOW ignores the
 * date's time of day but keeps its day.  0 or -1.
 */
int sched_parse_start(const char *date, const char *time, int64_t now,
    int64_t *out);

#endif
