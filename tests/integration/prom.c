/*
 * prom.c - a strict Prometheus text format 0.0.4 checker (see prom.h).
 *
 * One pass over the lines: HELP and TYPE lines open or describe a family,
 * sample lines are checked against the family they belong to, and every
 * sample is kept under a canonical key (name, labels sorted by name,
 * values escaped again) so that duplicates are found by sorting the keys
 * at the end and --get can look a series up whatever its label order.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "prom.h"

#define TEXT_LINE_MAX	(1u << 20)	/* a longer line is refused */
#define KEY_MAX		4096		/* a canonical series key */

enum prom_type { T_COUNTER, T_GAUGE, T_HISTOGRAM, T_SUMMARY, T_UNTYPED };

static const char *const type_names[] = { "counter", "gauge", "histogram",
	"summary", "untyped" };

struct fam {
	char	*name;
	int	 type;		/* -1 until TYPE */
	int	 has_help;
	int	 nsamples;
	int	 closed;	/* another family came after it */
};

struct sample {
	char	*key;
	double	 v;
	int	 line;
};

struct prom_doc {
	struct fam	*fams;
	size_t		 nfams, capfams;
	struct sample	*samples;
	size_t		 nsamples, capsamples;
	struct fam	*cur;		/* the family being written */
};

struct label {
	char	name[128];
	char	value[1024];	/* unescaped */
};

static int
fail(struct prom_error *pe, int line, const char *fmt, ...)
{
	va_list ap;

	pe->line = line;
	va_start(ap, fmt);
	vsnprintf(pe->msg, sizeof(pe->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
prom_metric_name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' ||
	    s[0] == ':'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == ':'))
			return 0;
	return 1;
}

int
prom_label_name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	if (n >= 2 && s[0] == '_' && s[1] == '_')
		return 0;	/* reserved for Prometheus itself */
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* Go's special values: [+-]inf, [+-]infinity, nan (no sign), any case. */
static int
special_float(const char *s, size_t n, double *v)
{
	int sign = 1;

	if (n == 3 && strncasecmp(s, "nan", 3) == 0) {
		*v = NAN;
		return 0;
	}
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		sign = s[0] == '-' ? -1 : 1;
		s++;
		n--;
	}
	if ((n == 3 && strncasecmp(s, "inf", 3) == 0) ||
	    (n == 8 && strncasecmp(s, "infinity", 8) == 0)) {
		*v = sign * INFINITY;
		return 0;
	}
	return -1;
}

int
prom_parse_float(const char *s, size_t n, double *v)
{
	char buf[128], *end;
	size_t i = 0, digits = 0;

	if (special_float(s, n, v) == 0)
		return 0;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	/* [+-] digits [. digits] [e [+-] digits], at least one digit. */
	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; i < n && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && isdigit((unsigned char)s[i]); i++)
			digits++;
	if (digits == 0)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < n && isdigit((unsigned char)s[i]); i++)
			ed++;
		if (ed == 0)
			return -1;
	}
	if (i != n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtod(buf, &end);
	/* Go: ErrRange past the largest double; underflow is just 0. */
	if (*end != '\0' || (errno == ERANGE && isinf(*v)))
		return -1;
	return 0;
}

static int
parse_int(const char *s, size_t n)
{
	size_t i = (n > 0 && s[0] == '-') ? 1 : 0;

	if (i == n || n - i > 19)
		return -1;
	for (; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t const a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static struct fam *
fam_find(struct prom_doc *d, const char *name, size_t n)
{
	for (size_t i = 0; i < d->nfams; i++)
		if (strlen(d->fams[i].name) == n &&
		    memcmp(d->fams[i].name, name, n) == 0)
			return &d->fams[i];
	return NULL;
}

static struct fam *
fam_add(struct prom_doc *d, const char *name, size_t n)
{
	struct fam *f;

	if (d->nfams == d->capfams) {
		size_t const ncap = d->capfams ? d->capfams * 2 : 32;
		struct fam *nf = realloc(d->fams, ncap * sizeof(*nf));

		if (nf == NULL)
			return NULL;
		/* cur points into the old array. */
		if (d->cur != NULL)
			d->cur = nf + (d->cur - d->fams);
		d->fams = nf;
		d->capfams = ncap;
	}
	f = &d->fams[d->nfams];
	memset(f, 0, sizeof(*f));
	if ((f->name = strndup(name, n)) == NULL)
		return NULL;
	f->type = -1;
	d->nfams++;
	return f;
}

/* Make f the family being written; a family left before is closed. */
static int
fam_enter(struct prom_doc *d, struct fam *f, int line, struct prom_error *pe)
{
	if (d->cur == f)
		return 0;
	if (f->closed)
		return fail(pe, line, "family %s is not one contiguous group",
		    f->name);
	if (d->cur != NULL)
		d->cur->closed = 1;
	d->cur = f;
	return 0;
}

/* The HELP text: \\ and \n are the only escapes. */
static int
help_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\\') {
			if (i + 1 == n || (s[i + 1] != '\\' && s[i + 1] != 'n'))
				return 0;
			i++;
		}
	return 1;
}

static size_t
skip_blanks(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static size_t
word_end(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	return i;
}

/* "# HELP name text" or "# TYPE name type"; other comments are ignored. */
static int
comment_line(struct prom_doc *d, const char *s, size_t n, int line,
    struct prom_error *pe)
{
	size_t i = skip_blanks(s, 1, n), kw = word_end(s, i, n), ns, ne;
	int help;
	struct fam *f;

	if (kw - i == 4 && memcmp(s + i, "HELP", 4) == 0)
		help = 1;
	else if (kw - i == 4 && memcmp(s + i, "TYPE", 4) == 0)
		help = 0;
	else
		return 0;
	ns = skip_blanks(s, kw, n);
	ne = word_end(s, ns, n);
	if (!prom_metric_name_ok(s + ns, ne - ns))
		return fail(pe, line, "%s: bad metric name '%.*s'", help ?
		    "HELP" : "TYPE", (int)(ne - ns), s + ns);
	if ((f = fam_find(d, s + ns, ne - ns)) == NULL &&
	    (f = fam_add(d, s + ns, ne - ns)) == NULL)
		return fail(pe, line, "out of memory");
	if (fam_enter(d, f, line, pe) != 0)
		return -1;
	if (f->nsamples > 0)
		return fail(pe, line, "%s for %s after its samples", help ?
		    "HELP" : "TYPE", f->name);
	i = ne < n ? ne + 1 : ne;
	if (help) {
		if (f->has_help)
			return fail(pe, line, "second HELP for %s", f->name);
		if (!help_ok(s + i, n - i))
			return fail(pe, line, "HELP for %s: bad escape",
			    f->name);
		f->has_help = 1;
		return 0;
	}
	if (f->type >= 0)
		return fail(pe, line, "second TYPE for %s", f->name);
	i = skip_blanks(s, ne, n);
	for (int t = 0; t < (int)(sizeof(type_names) / sizeof(*type_names));
	    t++)
		if (strlen(type_names[t]) == n - i &&
		    memcmp(s + i, type_names[t], n - i) == 0)
			f->type = t;
	if (f->type < 0)
		return fail(pe, line, "TYPE for %s: unknown type '%.*s'",
		    f->name, (int)(n - i), s + i);
	if (f->type == T_COUNTER && !ends_with(f->name, "_total"))
		return fail(pe, line, "counter %s: name does not end in _total",
		    f->name);
	if (f->type != T_COUNTER && ends_with(f->name, "_total"))
		return fail(pe, line, "%s %s: only counters end in _total",
		    type_names[f->type], f->name);
	return 0;
}

/* A quoted label value at s[*i] (the opening quote), unescaped into out. */
static int
label_value(const char *s, size_t n, size_t *i, char *out, size_t cap,
    int line, struct prom_error *pe)
{
	size_t j = *i, o = 0;

	if (j >= n || s[j] != '"')
		return fail(pe, line, "label value not in double quotes");
	for (j++; j < n && s[j] != '"'; j++) {
		char c = s[j];

		if (c == '\\') {
			if (j + 1 == n)
				return fail(pe, line, "label value: no closing "
				    "quote");
			c = s[++j];
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				return fail(pe, line, "label value: bad escape "
				    "'\\%c'", c);
		}
		if (o + 1 >= cap)
			return fail(pe, line, "label value longer than %zu",
			    cap - 1);
		out[o++] = c;
	}
	if (j >= n)
		return fail(pe, line, "label value: no closing quote");
	out[o] = '\0';
	*i = j + 1;
	return 0;
}

/* {name="value",...} at s[*i] (the brace); a trailing comma is allowed. */
static int
label_set(const char *s, size_t n, size_t *i, struct label *l, int *nl,
    int line, struct prom_error *pe)
{
	size_t j = *i + 1;

	*nl = 0;
	for (;;) {
		size_t ns;

		j = skip_blanks(s, j, n);
		if (j < n && s[j] == '}')
			break;
		ns = j;
		while (j < n && s[j] != '=' && s[j] != ' ' && s[j] != '\t' &&
		    s[j] != '}' && s[j] != ',')
			j++;
		if (!prom_label_name_ok(s + ns, j - ns) ||
		    j - ns >= sizeof(l->name))
			return fail(pe, line, "bad label name '%.*s'",
			    (int)(j - ns), s + ns);
		if (*nl == PROM_LABELS_MAX)
			return fail(pe, line, "more than %d labels",
			    PROM_LABELS_MAX);
		memcpy(l[*nl].name, s + ns, j - ns);
		l[*nl].name[j - ns] = '\0';
		for (int k = 0; k < *nl; k++)
			if (strcmp(l[k].name, l[*nl].name) == 0)
				return fail(pe, line, "label %s twice",
				    l[k].name);
		j = skip_blanks(s, j, n);
		if (j >= n || s[j] != '=')
			return fail(pe, line, "label %s: expected '='",
			    l[*nl].name);
		j = skip_blanks(s, j + 1, n);
		if (label_value(s, n, &j, l[*nl].value, sizeof(l->value), line,
		    pe) != 0)
			return -1;
		(*nl)++;
		j = skip_blanks(s, j, n);
		if (j < n && s[j] == ',') {
			j++;
			continue;
		}
		if (j < n && s[j] == '}')
			break;
		return fail(pe, line, "labels: expected ',' or '}'");
	}
	*i = j + 1;
	return 0;
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name,
	    ((const struct label *)b)->name);
}

/* name{a="x",b="y"} with the labels sorted and values escaped again. */
static int
canonical_key(const char *name, size_t nn, struct label *l, int nl,
    char *out, size_t cap)
{
	size_t o = 0;

	qsort(l, (size_t)nl, sizeof(*l), label_cmp);
	if (nn + 3 > cap)
		return -1;
	memcpy(out, name, nn);
	o = nn;
	out[o] = '\0';
	if (nl == 0)
		return 0;	/* m, as m{} would be written */
	out[o++] = '{';
	for (int k = 0; k < nl; k++) {
		int w = snprintf(out + o, cap - o, "%s%s=\"", k ? "," : "",
		    l[k].name);

		if (w < 0 || (size_t)w >= cap - o)
			return -1;
		o += (size_t)w;
		for (const char *p = l[k].value; *p != '\0'; p++) {
			if (o + 4 >= cap)
				return -1;
			if (*p == '\\' || *p == '"' || *p == '\n') {
				out[o++] = '\\';
				out[o++] = *p == '\n' ? 'n' : *p;
			} else
				out[o++] = *p;
		}
		out[o++] = '"';
	}
	if (o + 2 > cap)
		return -1;
	out[o++] = '}';
	out[o] = '\0';
	return 0;
}

/* The family a sample name belongs to: its own, or a histogram's part. */
static struct fam *
sample_family(struct prom_doc *d, const char *s, size_t nn)
{
	static const char *const parts[] = { "_bucket", "_sum", "_count" };
	struct fam *f;

	if ((f = fam_find(d, s, nn)) != NULL)
		return f;
	for (size_t p = 0; p < 3; p++) {
		size_t const pl = strlen(parts[p]);

		if (nn > pl && memcmp(s + nn - pl, parts[p], pl) == 0 &&
		    (f = fam_find(d, s, nn - pl)) != NULL &&
		    (f->type == T_HISTOGRAM || (f->type == T_SUMMARY && p > 0)))
			return f;
	}
	return NULL;
}

static int
add_sample(struct prom_doc *d, const char *key, double v, int line)
{
	if (d->nsamples == d->capsamples) {
		size_t const ncap = d->capsamples ? d->capsamples * 2 : 256;
		struct sample *ns = realloc(d->samples, ncap * sizeof(*ns));

		if (ns == NULL)
			return -1;
		d->samples = ns;
		d->capsamples = ncap;
	}
	if ((d->samples[d->nsamples].key = strdup(key)) == NULL)
		return -1;
	d->samples[d->nsamples].v = v;
	d->samples[d->nsamples].line = line;
	d->nsamples++;
	return 0;
}

/* name or name{labels}, from s[0]: the canonical key, *end after it. */
static int
series_key(const char *s, size_t n, size_t *end, char *key, size_t cap,
    int line, struct prom_error *pe)
{
	struct label l[PROM_LABELS_MAX];
	size_t i = 0;
	int nl = 0;

	while (i < n && s[i] != '{' && s[i] != ' ' && s[i] != '\t')
		i++;
	if (!prom_metric_name_ok(s, i))
		return fail(pe, line, "bad metric name '%.*s'", (int)i, s);
	*end = i;
	if (i < n && s[i] == '{' && label_set(s, n, end, l, &nl, line, pe) != 0)
		return -1;
	if (canonical_key(s, i, l, nl, key, cap) != 0)
		return fail(pe, line, "series longer than %zu bytes", cap);
	return 0;
}

static int
sample_line(struct prom_doc *d, const char *s, size_t n, int line,
    struct prom_error *pe)
{
	char key[KEY_MAX];
	size_t nn = 0, i, ve;
	struct fam *f;
	double v;

	while (nn < n && s[nn] != '{' && s[nn] != ' ' && s[nn] != '\t')
		nn++;
	if (series_key(s, n, &i, key, sizeof(key), line, pe) != 0)
		return -1;
	if ((f = sample_family(d, s, nn)) == NULL || f->type < 0)
		return fail(pe, line, "sample %.*s before its family's TYPE",
		    (int)nn, s);
	if (!f->has_help)
		return fail(pe, line, "sample %.*s: family %s has no HELP",
		    (int)nn, s, f->name);
	if (fam_enter(d, f, line, pe) != 0)
		return -1;
	if (i >= n || (s[i] != ' ' && s[i] != '\t'))
		return fail(pe, line, "%s: expected a blank before the value",
		    key);
	i = skip_blanks(s, i, n);
	ve = word_end(s, i, n);
	if (prom_parse_float(s + i, ve - i, &v) != 0)
		return fail(pe, line, "%s: value '%.*s' is not a float", key,
		    (int)(ve - i), s + i);
	if (f->type == T_COUNTER && v < 0)
		return fail(pe, line, "counter %s: negative value", key);
	i = skip_blanks(s, ve, n);
	if (i < n) {
		size_t const te = word_end(s, i, n);

		if (parse_int(s + i, te - i) != 0)
			return fail(pe, line, "%s: timestamp '%.*s' is not an "
			    "integer", key, (int)(te - i), s + i);
		if (skip_blanks(s, te, n) != n)
			return fail(pe, line, "%s: text after the timestamp",
			    key);
	}
	f->nsamples++;
	if (add_sample(d, key, v, line) != 0)
		return fail(pe, line, "out of memory");
	return 0;
}

static int
sample_cmp(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int const c = strcmp(x->key, y->key);

	return c != 0 ? c : x->line - y->line;
}

static int
check_duplicates(struct prom_doc *d, struct prom_error *pe)
{
	if (d->nsamples < 2)
		return 0;	/* and qsort() must not see samples NULL */
	qsort(d->samples, d->nsamples, sizeof(*d->samples), sample_cmp);
	for (size_t i = 1; i < d->nsamples; i++)
		if (strcmp(d->samples[i - 1].key, d->samples[i].key) == 0)
			return fail(pe, d->samples[i].line, "series %s twice "
			    "(first on line %d)", d->samples[i].key,
			    d->samples[i - 1].line);
	return 0;
}

static int
parse_lines(struct prom_doc *d, const char *text, size_t len,
    struct prom_error *pe)
{
	int line = 0;

	if (len > 0 && text[len - 1] != '\n')
		return fail(pe, 0, "the text does not end in a newline");
	if (memchr(text, '\0', len) != NULL)
		return fail(pe, 0, "the text holds a NUL byte");
	for (size_t at = 0; at < len; ) {
		const char *s = text + at;
		const char *nl = memchr(s, '\n', len - at);
		size_t const n = (size_t)(nl - s);
		int r;

		line++;
		at += n + 1;
		if (n > TEXT_LINE_MAX)
			return fail(pe, line, "line longer than %u bytes",
			    TEXT_LINE_MAX);
		if (skip_blanks(s, 0, n) == n)
			continue;
		r = s[0] == '#' ? comment_line(d, s, n, line, pe) :
		    sample_line(d, s, n, line, pe);
		if (r != 0)
			return r;
	}
	return check_duplicates(d, pe);
}

int
prom_parse(const char *text, size_t len, struct prom_doc **doc,
    struct prom_error *pe)
{
	struct prom_doc *d;

	memset(pe, 0, sizeof(*pe));
	if (doc != NULL)
		*doc = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return fail(pe, 0, "out of memory");
	if (parse_lines(d, text, len, pe) != 0) {
		prom_doc_free(d);
		return -1;
	}
	if (doc != NULL)
		*doc = d;
	else
		prom_doc_free(d);
	return 0;
}

void
prom_doc_free(struct prom_doc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nfams; i++)
		free(d->fams[i].name);
	for (size_t i = 0; i < d->nsamples; i++)
		free(d->samples[i].key);
	free(d->fams);
	free(d->samples);
	free(d);
}

size_t
prom_doc_families(const struct prom_doc *d)
{
	return d->nfams;
}

size_t
prom_doc_samples(const struct prom_doc *d)
{
	return d->nsamples;
}

int
prom_get(const struct prom_doc *d, const char *series, double *v,
    struct prom_error *pe)
{
	char key[KEY_MAX];
	size_t const n = strlen(series);
	size_t end;

	memset(pe, 0, sizeof(*pe));
	if (series_key(series, n, &end, key, sizeof(key), 0, pe) != 0)
		return -1;
	if (end != n)
		return fail(pe, 0, "%s: text after the series", series);
	for (size_t i = 0; i < d->nsamples; i++)
		if (strcmp(d->samples[i].key, key) == 0) {
			*v = d->samples[i].v;
			return 0;
		}
	return fail(pe, 0, "no series %s", key);
}

static const char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

int
prom_content_type_ok(const char *value)
{
	char buf[256], *save = NULL, *part;
	int first = 1, version = 0, ok = 1;

	if (strlen(value) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", value);
	for (part = strtok_r(buf, ";", &save); part != NULL;
	    part = strtok_r(NULL, ";", &save), first = 0) {
		const char *p = trim(part);

		if (first)
			ok &= strcasecmp(p, "text/plain") == 0;
		else if (strncasecmp(p, "version=", 8) == 0)
			version = strcmp(p + 8, "0.0.4") == 0 ? 1 : -1;
		else if (strncasecmp(p, "charset=", 8) == 0)
			ok &= strcasecmp(p + 8, "utf-8") == 0;
	}
	return !first && ok && version == 1;
}

/* ---- fetching a page ---- */

#define HTTP_TIMEOUT_S	20

int
prom_page_add(struct prom_page *pg, const char *b, size_t n)
{
	if (pg->len + n + 1 > PROM_PAGE_MAX)
		return -1;
	if (pg->len + n + 1 > pg->cap) {
		size_t ncap = pg->cap ? pg->cap : 65536;
		char *np;

		while (ncap < pg->len + n + 1)
			ncap *= 2;
		if ((np = realloc(pg->p, ncap)) == NULL)
			return -1;
		pg->p = np;
		pg->cap = ncap;
	}
	memcpy(pg->p + pg->len, b, n);
	pg->len += n;
	pg->p[pg->len] = '\0';
	return 0;
}

void
prom_page_free(struct prom_page *pg)
{
	free(pg->p);
	memset(pg, 0, sizeof(*pg));
}

static int
http_exchange(int fd, int port, const char *path, struct prom_page *pg,
    char *err, size_t errlen)
{
	char req[2048], b[65536];
	ssize_t n;
	int const w = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: "
	    "127.0.0.1:%d\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
	    path, port);

	if (w < 0 || (size_t)w >= sizeof(req) ||
	    write(fd, req, (size_t)w) != w) {
		snprintf(err, errlen, "write: %s", strerror(errno));
		return -1;
	}
	while ((n = read(fd, b, sizeof(b))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		if (prom_page_add(pg, b, (size_t)n) != 0) {
			snprintf(err, errlen, "response larger than %u bytes",
			    PROM_PAGE_MAX);
			return -1;
		}
	}
	return 0;
}

/* The status, Content-Type and body (checked against Content-Length). */
static int
http_split(struct prom_page *pg, char *err, size_t errlen)
{
	char *hend = pg->p ? strstr(pg->p, "\r\n\r\n") : NULL, *first;
	long clen = -1;

	if (hend == NULL || sscanf(pg->p, "HTTP/1.%*c %d", &pg->status) != 1 ||
	    (first = strchr(pg->p, '\n')) == NULL || first > hend) {
		snprintf(err, errlen, "not an HTTP response");
		return -1;
	}
	*hend = '\0';
	for (char *save = NULL, *h = strtok_r(first + 1, "\r\n", &save);
	    h != NULL; h = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(h, "Content-Type:", 13) == 0)
			snprintf(pg->ctype, sizeof(pg->ctype), "%s", h + 13 +
			    strspn(h + 13, " \t"));
		else if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
			snprintf(err, errlen, "%.200s: not supported", h);
			return -1;
		}
	}
	pg->body = hend + 4;
	pg->blen = pg->len - (size_t)(pg->body - pg->p);
	if (clen >= 0 && (size_t)clen != pg->blen) {
		snprintf(err, errlen, "Content-Length %ld, got %zu bytes",
		    clen, pg->blen);
		return -1;
	}
	return 0;
}

int
prom_http_get(int port, const char *path, struct prom_page *pg, char *err,
    size_t errlen)
{
	struct sockaddr_in sin;
	struct timeval tv = { HTTP_TIMEOUT_S, 0 };
	int fd, r = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		snprintf(err, errlen, "connect to 127.0.0.1:%d: %s", port,
		    strerror(errno));
	else if (http_exchange(fd, port, path, pg, err, errlen) == 0)
		r = http_split(pg, err, errlen);
	close(fd);
	return r;
}
