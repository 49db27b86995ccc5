/*
 * fuzz_opt.c - libFuzzer target: the client's option parsers (client/
 * opt.c) on hostile option files and command lines.
 *
 * An option file comes from whoever can write /etc/coffer or the current
 * directory, and a command line from scripts that paste in names: neither
 * may crash the client.  The first input byte picks the parser: even, the
 * rest is option file text (opt_parse_text); odd, it is split at NUL bytes
 * into argv (opt_parse_argv).  What was parsed is then used as the client
 * uses it: INCLUDE/EXCLUDE rules matched against a path, a --pitdate
 * parsed, the password file path built.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "opt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARGV_MAX	64

static void
use(const struct coffer_opts *o)
{
	char path[4096];
	int64_t pit;
	struct err e;

	(void)opt_included(o, "/home/web/data/file.txt");
	(void)opt_included(o, "/");
	if (o->pitdate != NULL)
		(void)opt_parse_pitdate(o->pitdate, &pit, &e);
	(void)opt_password_path(o, path, sizeof(path), &e);
}

static void
parse_argv(struct coffer_opts *o, const uint8_t *p, size_t n)
{
	char *buf = malloc(n + 1), *argv[ARGV_MAX + 1];
	int argc = 0;
	struct err e;

	if (buf == NULL)
		return;
	memcpy(buf, p, n);
	buf[n] = '\0';
	argv[argc++] = "coffer";
	for (size_t i = 0; i < n && argc < ARGV_MAX; ) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	if (opt_parse_argv(o, argc, argv, &e) == 0)
		use(o);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coffer_opts o;
	struct err e;

	if (size < 1)
		return 0;
	opt_init(&o);
	if (data[0] & 1)
		parse_argv(&o, data + 1, size - 1);
	else if (opt_parse_text(&o, (const char *)data + 1, size - 1,
	    "fuzz.opt", &e) == 0)
		use(&o);
	opt_free(&o);
	return 0;
}
