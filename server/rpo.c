/*
 * rpo.c - recovery point objective arithmetic (see rpo.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cat.h"
#include "err.h"
#include "rpo.h"

int
rpo_replicated(const struct cat_account *a, const char *replserver)
{
	if (replserver == NULL || replserver[0] == '\0' || !a->repl_state)
		return 0;
	return a->repl_mode == CAT_REPLMODE_SEND ||
	    a->repl_mode == CAT_REPLMODE_SYNCSEND;
}

/* now - t, or -1 when there is no copy (t == 0); never negative. */
static int64_t
age(int64_t t, int64_t now)
{
	if (t <= 0)
		return -1;
	return now > t ? now - t : 0;
}

/* Within rpo: no RPO, or a copy no older than it. */
static int
within(int64_t rpo_s, int64_t a)
{
	return rpo_s <= 0 || (a >= 0 && a <= rpo_s);
}

void
rpo_eval(const struct cat_account *a, int replicated, int64_t now,
    struct rpo_status *st)
{
	memset(st, 0, sizeof(*st));
	st->rpo_s = a->rpo_s > 0 ? a->rpo_s : 0;
	st->replicated = replicated != 0;
	st->local_copy = a->last_backup > 0 ? a->last_backup : 0;
	st->local_age = age(st->local_copy, now);
	st->local_met = within(st->rpo_s, st->local_age);
	st->hot_age = -1;
	st->hot_met = 1;
	if (st->replicated) {
		st->hot_copy = a->repl_backup > 0 ? a->repl_backup : 0;
		st->hot_age = age(st->hot_copy, now);
		st->hot_met = within(st->rpo_s, st->hot_age);
	}
	if (st->rpo_s == 0)
		st->state = RPO_NONE;
	else if (st->local_met && st->hot_met)
		st->state = RPO_MET;
	else
		st->state = RPO_MISSED;
}

int
rpo_node(struct cat *c, const struct cat_account *a, int64_t now,
    struct rpo_status *st, struct err *e)
{
	char repl[CAT_NAME_MAX + 1];
	int r;

	repl[0] = '\0';
	r = cat_setting_get(c, "replserver", repl, sizeof(repl), e);
	if (r != 0 && r != COFFER_ENOTFOUND)
		return r;
	rpo_eval(a, rpo_replicated(a, repl), now, st);
	return 0;
}

const char *
rpo_state_name(enum rpo_state s)
{
	switch (s) {
	case RPO_MET:
		return "met";
	case RPO_MISSED:
		return "missed";
	case RPO_NONE:
		break;
	}
	return "none";
}

const char *
rpo_fmt_age(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "none");
	else if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600 && s % 60 == 0)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else if (s < 100 * 3600)
		snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	return buf;
}

const char *
rpo_fmt_when(int64_t t, char *buf, size_t len)
{
	time_t const tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "never");
	return buf;
}

const char *
rpo_fmt_target(int64_t s, char *buf, size_t len)
{
	if (s <= 0)
		snprintf(buf, len, "none");
	else if (s % 3600 == 0)
		snprintf(buf, len, "%" PRId64 "h", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
	return buf;
}
