/*
 * json.h - writing one JSON document to a stream, for --json output.
 *
 * Strings are written as valid JSON whatever bytes a path holds: control
 * characters are \u-escaped and bytes that are not valid UTF-8 become
 * U+FFFD, so a file name with a newline or a Latin-1 byte cannot break the
 * document a script parses.
 */
#ifndef COFFER_CLIENT_JSON_H
#define COFFER_CLIENT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX	8

struct json {
	FILE	*f;
	int	 depth;
	int	 count[JSON_DEPTH_MAX];	/* members written at each level */
};

void json_init(struct json *j, FILE *f);

/* key NULL inside arrays and for the top level. */
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);	/* a newline after the top level */
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);

void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_double(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* s NULL writes null. */
void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t n);

/* The escaped string with its quotes. */
void json_write_string(FILE *f, const char *s, size_t n);

#endif
