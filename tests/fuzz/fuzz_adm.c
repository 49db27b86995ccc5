/*
 * fuzz_adm.c - libFuzzer target: the administrative command parser and
 * every command handler it reaches (server/adm_*.c), on hostile lines.
 *
 * An administrator's line is parsed on the server the TSM way (words,
 * quotes, abbreviations, name=value) and run against a real catalog; a
 * line must never crash the server, whatever its quoting, lengths or
 * values.  The input is one command line.  The catalog lives in a
 * temporary directory for the run; the pool and the process table are
 * absent, so commands that need them (replication, export, audit...)
 * are refused the way a server without them refuses them.  Lines that
 * would write outside that directory or reach the network by design are
 * skipped (see unsafe()).
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm.h"
#include "cat.h"
#include "err.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/coffer-fuzz-adm.XXXXXX";
static struct cat *cat;

static void
remove_dir(void)
{
	cat_close(cat);
	util_rm_rf(dir);
}

static void
setup_once(void)
{
	char db[64];
	struct err e;

	if (cat != NULL)
		return;
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	snprintf(db, sizeof(db), "%s/catalog.db", dir);
	if (cat_open(db, &cat, &e) != 0) {
		fprintf(stderr, "fuzz_adm: %s\n", e.msg);
		abort();
	}
}

/*
 * PREPare writes its plan where PLANPREFIX says, and PING SERVER connects
 * to whatever address DEFINE SERVER gave: a fuzzer must do neither (no
 * traffic leaves this machine's loopback, no file outside dir).
 */
static int
unsafe(const char *line)
{
	for (const char *p = line; *p != '\0'; p++)
		if (strncasecmp(p, "prep", 4) == 0 ||
		    strncasecmp(p, "ping", 4) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adm_result res;
	struct adm_env env;
	char line[ADM_LINE_MAX + 2];

	setup_once();
	if (size > ADM_LINE_MAX + 1)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (unsafe(line))
		return 0;
	memset(&env, 0, sizeof(env));
	env.cat = cat;
	env.admin = "ADMIN";
	if (adm_execute(&env, line, &res) == 0 && res.rc > 12)
		__builtin_trap();	/* rc is TSM's: 0, 4, 8 or 12 */
	adm_result_free(&res);
	return 0;
}
