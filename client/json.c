/*
 * json.c - minimal JSON writer (see json.h).
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"

void
json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void
json_write_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char const c = p[i];
		size_t len;

		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f), i++;
		} else if (c == '\t') {
			fputs("\\t", f), i++;
		} else if (c == '\r') {
			fputs("\\r", f), i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c), i++;
		} else if ((len = utf8_len(p + i, n - i)) == 0) {
			fputs("\\ufffd", f), i++;
		} else {
			fwrite(p + i, 1, len, f);
			i += len;
		}
	}
	putc('"', f);
}

/* Comma and key before a member. */
static void
member(struct json *j, const char *key)
{
	if (j->depth > 0 && j->count[j->depth - 1]++ > 0)
		putc(',', j->f);
	if (key != NULL) {
		json_write_string(j->f, key, strlen(key));
		putc(':', j->f);
	}
}

static void
open_level(struct json *j, const char *key, int c)
{
	member(j, key);
	putc(c, j->f);
	if (j->depth < JSON_DEPTH_MAX)
		j->count[j->depth] = 0;
	j->depth++;
}

static void
close_level(struct json *j, int c)
{
	putc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		putc('\n', j->f);
}

void
json_obj_open(struct json *j, const char *key)
{
	open_level(j, key, '{');
}

void
json_obj_close(struct json *j)
{
	close_level(j, '}');
}

void
json_arr_open(struct json *j, const char *key)
{
	open_level(j, key, '[');
}

void
json_arr_close(struct json *j)
{
	close_level(j, ']');
}

void
json_u64(struct json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void
json_i64(struct json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void
json_double(struct json *j, const char *key, double v)
{
	member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.3f", v);
	else
		fputs("null", j->f);
}

void
json_bool(struct json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void
json_null(struct json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void
json_strn(struct json *j, const char *key, const char *s, size_t n)
{
	member(j, key);
	if (s == NULL)
		fputs("null", j->f);
	else
		json_write_string(j->f, s, n);
}

void
json_str(struct json *j, const char *key, const char *s)
{
	json_strn(j, key, s, s ? strlen(s) : 0);
}
