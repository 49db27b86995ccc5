/*
 * adm_result.c - building a command's answer: messages, columns, rows.
 *
 * Everything is copied and bounded: a result never holds more than
 * ADM_ROWS_MAX rows or ADM_RESULT_BYTES_MAX bytes of strings, so that it
 * fits one ADM_RESULT frame, and no string is longer than a wire str.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"
#include "err.h"
#include "proto.h"

void
adm_result_init(struct adm_result *res)
{
	memset(res, 0, sizeof(*res));
	res->shape = PROTO_SHAPE_MSGS;
}

static void
free_strs(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void
adm_result_free(struct adm_result *res)
{
	if (res == NULL)
		return;
	free_strs(res->msgs, res->nmsg);
	free_strs(res->cols, res->ncol);
	free_strs(res->cells, res->nrow * res->ncol);
	adm_result_init(res);
}

/* A copy of s cut at ADM_CELL_MAX bytes. */
static char *
dup_cut(const char *s)
{
	size_t const n = strnlen(s, ADM_CELL_MAX);
	char *d;

	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int
adm_vmsg(struct adm_result *res, const char *fmt, va_list ap)
{
	char buf[ADM_CELL_MAX + 1];
	char *m;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (res->nmsg == res->cap_msgs) {
		size_t const cap = res->cap_msgs ? res->cap_msgs * 2 : 8;
		char **nv = realloc(res->msgs, cap * sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		res->msgs = nv;
		res->cap_msgs = cap;
	}
	if ((m = dup_cut(buf)) == NULL)
		return COFFER_ENOMEM;
	res->msgs[res->nmsg++] = m;
	res->bytes += strlen(m);
	return 0;
}

int
adm_msg(struct adm_result *res, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = adm_vmsg(res, fmt, ap);
	va_end(ap);
	return r;
}

int
adm_msg_rc(struct adm_result *res, int rc, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (res->rc < rc)
		res->rc = rc;
	va_start(ap, fmt);
	r = adm_vmsg(res, fmt, ap);
	va_end(ap);
	return r;
}

int
adm_colsv(struct adm_result *res, size_t n, const char *const *names)
{
	char **cols;
	size_t i;

	if (res->nrow != 0)
		return COFFER_EINVAL;
	if ((cols = calloc(n ? n : 1, sizeof(*cols))) == NULL)
		return COFFER_ENOMEM;
	for (i = 0; i < n; i++) {
		if ((cols[i] = dup_cut(names[i])) == NULL) {
			free_strs(cols, i);
			return COFFER_ENOMEM;
		}
	}
	free_strs(res->cols, res->ncol);
	/* Row storage was sized for the old width. */
	free(res->cells);
	res->cells = NULL;
	res->cap_rows = 0;
	res->cols = cols;
	res->ncol = n;
	return 0;
}

int
adm_cols(struct adm_result *res, size_t n, ...)
{
	const char *names[64];
	va_list ap;
	size_t i;

	if (n > sizeof(names) / sizeof(names[0]))
		return COFFER_ETOOBIG;
	va_start(ap, n);
	for (i = 0; i < n; i++)
		names[i] = va_arg(ap, const char *);
	va_end(ap);
	return adm_colsv(res, n, names);
}

int
adm_rowv(struct adm_result *res, const char *const *vals)
{
	size_t const nc = res->ncol;
	size_t i, add = 0;
	char **cells;

	for (i = 0; i < nc; i++)
		if (vals[i] != NULL)
			add += strnlen(vals[i], ADM_CELL_MAX);
	if (res->nrow >= ADM_ROWS_MAX ||
	    res->bytes + add > ADM_RESULT_BYTES_MAX) {
		res->truncated = 1;
		return COFFER_ETOOBIG;
	}
	if (res->nrow == res->cap_rows) {
		size_t const cap = res->cap_rows ? res->cap_rows * 2 : 16;
		char **nv = realloc(res->cells, cap * (nc ? nc : 1) *
		    sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		res->cells = nv;
		res->cap_rows = cap;
	}
	cells = res->cells + res->nrow * nc;
	for (i = 0; i < nc; i++) {
		cells[i] = NULL;
		if (vals[i] != NULL && (cells[i] = dup_cut(vals[i])) == NULL) {
			while (i-- > 0)
				free(cells[i]);
			return COFFER_ENOMEM;
		}
	}
	res->nrow++;
	res->bytes += add;
	return 0;
}

int
adm_row(struct adm_result *res, ...)
{
	const char *vals[64];
	va_list ap;
	size_t i;

	if (res->ncol > sizeof(vals) / sizeof(vals[0]))
		return COFFER_ETOOBIG;
	va_start(ap, res);
	for (i = 0; i < res->ncol; i++)
		vals[i] = va_arg(ap, const char *);
	va_end(ap);
	return adm_rowv(res, vals);
}

const char *
adm_cell(const struct adm_result *res, size_t row, size_t col)
{
	if (row >= res->nrow || col >= res->ncol)
		return NULL;
	return res->cells[row * res->ncol + col];
}

int
adm_col_index(const struct adm_result *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->ncol; i++)
		if (strcmp(res->cols[i], name) == 0)
			return (int)i;
	return -1;
}
