/*
 * adm_parse.c - the words of an administrative command: tokenizer,
 * TSM-style keyword abbreviations, and the value syntaxes (numbers with
 * NOLIMIT, durations, dates, wildcards) with their display forms.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "rpo.h"

int
adm_tokenize(const char *line, struct adm_toks *tk, struct err *e)
{
	size_t const len = strlen(line);
	const char *s = line;
	char *o = tk->buf;

	tk->n = 0;
	/* Output never outgrows the input plus one NUL (see below). */
	if (len > ADM_LINE_MAX)
		return err_set(e, COFFER_ETOOBIG, "the command is %zu bytes "
		    "long; at most %d are accepted", len, ADM_LINE_MAX);
	for (;;) {
		struct adm_tok *t;
		char *word;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (tk->n == ADM_TOK_MAX)
			return err_set(e, COFFER_ETOOBIG, "the command has "
			    "more than %d words", ADM_TOK_MAX);
		t = &tk->t[tk->n++];
		word = o;
		t->key = NULL;
		t->val = o;
		t->quoted = 0;
		while (*s != '\0' && !isspace((unsigned char)*s)) {
			if (*s == '\'' || *s == '"') {
				char const q = *s++;
				const char *end = strchr(s, q);

				if (end == NULL)
					return err_set(e, COFFER_EINVAL,
					    "Missing closing quote character "
					    "(%c)", q);
				memcpy(o, s, (size_t)(end - s));
				o += end - s;
				s = end + 1;
				t->quoted = 1;
				continue;
			}
			if (*s == '=' && t->key == NULL && !t->quoted) {
				/* The '=' becomes the name's NUL: no growth. */
				if (o == word)
					return err_set(e, COFFER_EINVAL,
					    "'=' without a parameter name");
				*o++ = '\0';
				t->key = word;
				t->val = o;
				s++;
				continue;
			}
			*o++ = *s++;
		}
		/* One NUL per word, and words are separated by a space. */
		*o++ = '\0';
	}
	return 0;
}

static const struct adm_kw *
kw_at(const void *tab, size_t stride, size_t i)
{
	return (const struct adm_kw *)(const void *)((const char *)tab +
	    i * stride);
}

void
adm_kw_spell(const struct adm_kw *kw, char *out, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; kw->name[i] != '\0' && i + 1 < len; i++)
		out[i] = (char)(i < kw->min ?
		    toupper((unsigned char)kw->name[i]) :
		    tolower((unsigned char)kw->name[i]));
	out[i] = '\0';
}

/* Append ", WORD" (or "WORD") to cands, cutting at its end. */
static void
cand_add(char *cands, size_t candlen, const struct adm_kw *kw)
{
	char sp[64];
	size_t const used = strlen(cands);

	adm_kw_spell(kw, sp, sizeof(sp));
	snprintf(cands + used, candlen - used, "%s%s", used ? ", " : "", sp);
}

int
adm_kw_find(const void *tab, size_t n, size_t stride, const char *word,
    char *cands, size_t candlen)
{
	size_t const wl = strlen(word);
	size_t i;
	int hit = -1, nhit = 0, nshort = 0;

	if (cands != NULL && candlen > 0)
		cands[0] = '\0';
	if (wl == 0)
		return ADM_KW_NONE;
	for (i = 0; i < n; i++) {
		const struct adm_kw *kw = kw_at(tab, stride, i);
		size_t const nl = strlen(kw->name);

		if (wl > nl || strncasecmp(word, kw->name, wl) != 0)
			continue;
		if (wl == nl)
			return (int)i;
		if (wl >= kw->min) {
			hit = (int)i;
			nhit++;
		} else
			nshort++;
	}
	if (nhit == 1)
		return hit;
	if (nhit == 0 && nshort == 0)
		return ADM_KW_NONE;
	/* Several fit, or the word is too short for what it starts. */
	for (i = 0; cands != NULL && candlen > 0 && i < n; i++) {
		const struct adm_kw *kw = kw_at(tab, stride, i);
		int const fits = wl >= kw->min;

		if (strncasecmp(word, kw->name, wl) == 0 &&
		    (nhit == 0 || fits))
			cand_add(cands, candlen, kw);
	}
	return ADM_KW_AMBIG;
}

static const struct adm_kw kw_nolimit = { "NOLIMIT", 3 };

int
adm_parse_int(const char *s, long lo, long hi, int nolimit, long *out)
{
	const char *p = s;
	char *end;
	long v;

	if (nolimit && adm_kw_find(&kw_nolimit, 1, sizeof(kw_nolimit), s,
	    NULL, 0) == 0) {
		*out = CAT_NOLIMIT;
		return 0;
	}
	if (*p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return COFFER_EINVAL;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return COFFER_EINVAL;
	*out = v;
	return 0;
}

/*
 * Sizes count in powers of 1024, as TSM's MAXCAPACITY does; 2^50 bytes
 * (1024 T) bounds them far below the overflow of a uint64_t.
 */
#define SIZE_MAX_BYTES	(1ULL << 50)

int
adm_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return COFFER_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v == 0)
		return COFFER_EINVAL;
	if (*end != '\0') {
		if (end[1] != '\0' ||
		    (u = strchr(units, toupper((unsigned char)*end))) == NULL)
			return COFFER_EINVAL;
		for (long i = 0; i <= u - units; i++) {
			if (v > SIZE_MAX_BYTES / 1024)
				return COFFER_EINVAL;
			v *= 1024;
		}
	}
	if (v > SIZE_MAX_BYTES)
		return COFFER_EINVAL;
	*out = (uint64_t)v;
	return 0;
}

#define DURATION_MAX	(3650LL * 86400)	/* ten years */

int
adm_parse_duration(const char *s, int64_t *out)
{
	static const struct { char unit; int64_t mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char *end;
	long long v;
	size_t i;

	if (strcasecmp(s, "NONE") == 0 || strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return COFFER_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0' || v <= 0)
		return COFFER_EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (tolower((unsigned char)end[0]) != units[i].unit)
			continue;
		if (v > DURATION_MAX / units[i].mul)
			return COFFER_EINVAL;
		*out = (int64_t)v * units[i].mul;
		return 0;
	}
	return COFFER_EINVAL;
}

int
adm_parse_yesno(const char *s, int *out)
{
	static const struct adm_kw yn[] = { { "YES", 1 }, { "NO", 1 } };
	int const i = adm_kw_find(yn, 2, sizeof(yn[0]), s, NULL, 0);

	if (i < 0)
		return COFFER_EINVAL;
	*out = i == 0;
	return 0;
}

/* Local midnight of the day holding t, moved by days. */
static int64_t
midnight(int64_t t, int days)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

int
adm_parse_date(const char *s, int64_t now, int64_t *out)
{
	struct tm tm;
	int y, m, d, used = 0;
	long back;

	if (strncasecmp(s, "TODAY", 5) == 0) {
		if (s[5] == '\0') {
			*out = midnight(now, 0);
			return 0;
		}
		if (s[5] != '-' || adm_parse_int(s + 6, 0, 9999, 0, &back))
			return COFFER_EINVAL;
		*out = midnight(now, -(int)back);
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 ||
	    s[used] != '\0' || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return COFFER_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	*out = (int64_t)mktime(&tm);
	/* mktime normalizes 02-30 into March: refuse what moved. */
	if (tm.tm_mday != d || tm.tm_mon != m - 1)
		return COFFER_EINVAL;
	return 0;
}

/* "H[:MM[:SS]]" into seconds; hours up to maxh. */
static int
parse_clock(const char *s, int maxh, int64_t *out)
{
	int h, m = 0, sec = 0, used = 0, n;

	n = sscanf(s, "%3d%n:%2d%n:%2d%n", &h, &used, &m, &used, &sec, &used);
	if (n < 1 || s[used] != '\0' || !isdigit((unsigned char)s[0]) ||
	    h < 0 || h > maxh || m < 0 || m > 59 || sec < 0 || sec > 59)
		return COFFER_EINVAL;
	*out = (int64_t)h * 3600 + m * 60 + sec;
	return 0;
}

int
adm_parse_time(const char *s, int64_t day, int64_t now, int64_t *out)
{
	int64_t off;
	time_t tt = (time_t)day;
	struct tm tm;

	if (strncasecmp(s, "NOW", 3) == 0) {
		if (s[3] == '\0') {
			*out = now;
			return 0;
		}
		if (s[3] != '-' || parse_clock(s + 4, 999, &off) != 0)
			return COFFER_EINVAL;
		*out = now - off;
		return 0;
	}
	if (parse_clock(s, 23, &off) != 0)
		return COFFER_EINVAL;
	/* Through mktime, so a DST change that day is accounted for. */
	localtime_r(&tt, &tm);
	tm.tm_hour = (int)(off / 3600);
	tm.tm_min = (int)(off / 60 % 60);
	tm.tm_sec = (int)(off % 60);
	tm.tm_isdst = -1;
	*out = (int64_t)mktime(&tm);
	return 0;
}

int
adm_wildmatch(const char *pat, const char *s, int icase)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
			continue;
		}
		if (*pat != '\0' && (*pat == '?' || *pat == *s ||
		    (icase && tolower((unsigned char)*pat) ==
		    tolower((unsigned char)*s)))) {
			pat++;
			s++;
			continue;
		}
		if (star == NULL)
			return 0;
		/* Let the last '*' swallow one more character. */
		pat = star + 1;
		s = ++resume;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

int
adm_upper(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= len)
			return COFFER_ETOOBIG;
		out[i] = (char)toupper((unsigned char)s[i]);
	}
	out[i] = '\0';
	return 0;
}

const char *
adm_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return NULL;
	return buf;
}

const char *
adm_fmt_limit(int v, char *buf, size_t len)
{
	if (v == CAT_NOLIMIT)
		snprintf(buf, len, "NOLIMIT");
	else
		snprintf(buf, len, "%d", v);
	return buf;
}

/* One spelling of objectives everywhere: the plan's, the tables'. */
const char *
adm_fmt_duration(int64_t s, char *buf, size_t len)
{
	return rpo_fmt_target(s, buf, len);
}

const char *
adm_fmt_u64(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}
