/*
 * prom.h - a strict checker of the Prometheus text exposition format
 * 0.0.4, for the tests of cofferd's metrics endpoint (prom_check.c) and
 * its own unit test (tests/unit/test_prom.c).
 *
 * Strict means: everything the format forbids, plus the conventions the
 * endpoint promises.  prom_parse() rejects
 *   - metric names not [a-zA-Z_:][a-zA-Z0-9_:]*, label names not
 *     [a-zA-Z_][a-zA-Z0-9_]* or starting with "__", a label twice;
 *   - label values not in double quotes, escapes other than \\ \" \n;
 *   - HELP escapes other than \\ and \n;
 *   - a sample whose family has no TYPE and HELP before it, TYPE or HELP
 *     twice or after the family's samples, a family that is not one
 *     contiguous group, a TYPE other than counter, gauge, histogram,
 *     summary, untyped;
 *   - values that are not Go ParseFloat syntax (the decimal subset:
 *     digits, point, exponent; Inf, +Inf, -Inf, Infinity, NaN in any
 *     case; hex floats and underscores are rejected), out of range, and
 *     timestamps that are not integers;
 *   - the same series (name and label set) twice;
 *   - counters whose names do not end in _total, other types whose names
 *     do (promtool's lint), negative counters;
 *   - text that does not end in a newline, NUL bytes.
 *
 * prom_content_type_ok() checks a Content-Type header value.
 */
#ifndef COFFER_PROM_H
#define COFFER_PROM_H

#include <stddef.h>

#define PROM_LABELS_MAX	32	/* labels of one sample */
#define PROM_MSG_MAX	256

struct prom_doc;

struct prom_error {
	int	line;			/* 1-based; 0: not about one line */
	char	msg[PROM_MSG_MAX];
};

/*
 * Check text (len bytes).  0 and *doc (may be NULL: not wanted) holding
 * the samples, or -1 with the first problem in pe.
 */
int prom_parse(const char *text, size_t len, struct prom_doc **doc,
    struct prom_error *pe);
void prom_doc_free(struct prom_doc *d);	/* accepts NULL */

size_t prom_doc_families(const struct prom_doc *d);
size_t prom_doc_samples(const struct prom_doc *d);

/*
 * The value of series, written as in the text (name{label="v",...}; the
 * labels in any order): 0 and *v, or -1 when the doc has no such series
 * (or series does not parse; pe says so).
 */
int prom_get(const struct prom_doc *d, const char *series, double *v,
    struct prom_error *pe);

/* The lexical pieces, for the unit test. */
int prom_metric_name_ok(const char *s, size_t n);
int prom_label_name_ok(const char *s, size_t n);
/* Go ParseFloat's decimal syntax; 0 and *v, or -1. */
int prom_parse_float(const char *s, size_t n, double *v);

/* text/plain with version=0.0.4 (charset, when given, utf-8): 1 or 0. */
int prom_content_type_ok(const char *value);

/*
 * A page fetched over plain HTTP from 127.0.0.1 (prom_http_get): the
 * status, the Content-Type and the body, which points into p (the whole
 * response, NUL-terminated).  At most PROM_PAGE_MAX bytes.
 */
#define PROM_PAGE_MAX	(64u << 20)
struct prom_page {
	char		*p;
	size_t		 len, cap;
	int		 status;
	char		 ctype[256];
	const char	*body;
	size_t		 blen;
};
/* GET path from 127.0.0.1:port; 0, or -1 with err set. */
int prom_http_get(int port, const char *path, struct prom_page *pg,
    char *err, size_t errlen);
/* Append n bytes (at most PROM_PAGE_MAX in all): 0 or -1. */
int prom_page_add(struct prom_page *pg, const char *b, size_t n);
void prom_page_free(struct prom_page *pg);

#endif
