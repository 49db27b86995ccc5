/*
 * prom_check - fetch a Prometheus text page and check it strictly (prom.h).
 *
 *   prom_check [--expect-status N] [--get SERIES]... URL|FILE|-
 *
 * URL is http://127.0.0.1:PORT/PATH (loopback only, plain HTTP: this is a
 * test tool, not a client).  A page fetched must come with status 200
 * (or N) and, with 200, the Content-Type of format 0.0.4.  Each --get
 * prints the value of SERIES (name{label="v",...}) on its own line.
 * Exit status: 0 valid, 1 invalid or a series missing, 2 usage or I/O.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

#define GETS_MAX	64

/* http://127.0.0.1:PORT/PATH into port and path; loopback only. */
static int
parse_url(const char *url, int *port, const char **path)
{
	const char *p = url + 7;
	char *c;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	if (strncmp(p, "127.0.0.1:", 10) == 0 ||
	    strncmp(p, "localhost:", 10) == 0)
		p += 10;
	else
		return -1;
	*port = (int)strtol(p, &c, 10);
	if (c == p || *port <= 0 || *port > 65535 || (*c != '/' && *c != '\0'))
		return -1;
	*path = *c == '/' ? c : "/";
	return 0;
}

static int
read_file(const char *src, struct prom_page *pg)
{
	FILE *f = strcmp(src, "-") == 0 ? stdin : fopen(src, "r");
	char b[65536];
	size_t n;
	int r = 0;

	if (f == NULL) {
		fprintf(stderr, "prom_check: %s: %s\n", src, strerror(errno));
		return 2;
	}
	while (r == 0 && (n = fread(b, 1, sizeof(b), f)) > 0)
		r = prom_page_add(pg, b, n);
	if (r == 0 && ferror(f)) {
		fprintf(stderr, "prom_check: %s: read error\n", src);
		r = -1;
	}
	if (f != stdin)
		fclose(f);
	pg->body = pg->p ? pg->p : "";
	pg->blen = pg->len;
	return r != 0 ? 2 : 0;
}

static int
load(const char *src, int expect, struct prom_page *pg)
{
	char err[PROM_MSG_MAX];
	const char *path;
	int port;

	if (strncmp(src, "http", 4) != 0)
		return read_file(src, pg);
	if (parse_url(src, &port, &path) != 0) {
		fprintf(stderr, "prom_check: %s: expected "
		    "http://127.0.0.1:PORT/PATH\n", src);
		return 2;
	}
	if (prom_http_get(port, path, pg, err, sizeof(err)) != 0) {
		fprintf(stderr, "prom_check: %s: %s\n", src, err);
		return 2;
	}
	if (pg->status != expect) {
		fprintf(stderr, "prom_check: %s: status %d, expected %d\n",
		    src, pg->status, expect);
		return 1;
	}
	if (pg->status == 200 && !prom_content_type_ok(pg->ctype)) {
		fprintf(stderr, "prom_check: %s: Content-Type '%s' is not "
		    "text/plain; version=0.0.4\n", src, pg->ctype);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *gets[GETS_MAX];
	struct prom_page pg;
	struct prom_doc *doc = NULL;
	struct prom_error pe;
	int ngets = 0, expect = 200, i, r;

	memset(&pg, 0, sizeof(pg));

	for (i = 1; i < argc - 1; i++) {
		if (strcmp(argv[i], "--get") == 0 && ngets < GETS_MAX)
			gets[ngets++] = argv[++i];
		else if (strcmp(argv[i], "--expect-status") == 0)
			expect = atoi(argv[++i]);
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: prom_check [--expect-status N] "
		    "[--get SERIES]... URL|FILE|-\n");
		return 2;
	}
	if ((r = load(argv[i], expect, &pg)) != 0 ||
	    expect != 200)
		goto out;
	if (prom_parse(pg.body, pg.blen, &doc, &pe) != 0) {
		fprintf(stderr, "prom_check: %s:%d: %s\n", argv[i], pe.line,
		    pe.msg);
		r = 1;
		goto out;
	}
	for (int g = 0; g < ngets; g++) {
		double v;

		if (prom_get(doc, gets[g], &v, &pe) != 0) {
			fprintf(stderr, "prom_check: %s\n", pe.msg);
			r = 1;
			continue;
		}
		printf("%.17g\n", v);
	}
	if (ngets == 0)
		printf("ok: %zu families, %zu samples\n",
		    prom_doc_families(doc), prom_doc_samples(doc));
out:
	prom_doc_free(doc);
	prom_page_free(&pg);
	return r;
}
