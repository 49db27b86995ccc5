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

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "prom.h"

#define PAGE_MAX	(64u << 20)
#define GETS_MAX	64
#define TIMEOUT_S	20

struct page {
	char	*p;
	size_t	 len, cap;
};

static int
page_add(struct page *pg, const char *b, size_t n)
{
	if (pg->len + n + 1 > PAGE_MAX) {
		fprintf(stderr, "prom_check: page larger than %u bytes\n",
		    PAGE_MAX);
		return -1;
	}
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

static int
read_all(int fd, struct page *pg)
{
	char b[65536];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("prom_check: read");
			return -1;
		}
		if (page_add(pg, b, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

/* http://127.0.0.1:PORT/PATH into port and path; loopback only. */
static int
parse_url(const char *url, int *port, const char **path)
{
	const char *p = url + 7, *c;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	if (strncmp(p, "127.0.0.1:", 10) == 0)
		p += 10;
	else if (strncmp(p, "localhost:", 10) == 0)
		p += 10;
	else
		return -1;
	*port = (int)strtol(p, (char **)&c, 10);
	if (c == p || *port <= 0 || *port > 65535 || (*c != '/' && *c != '\0'))
		return -1;
	*path = *c == '/' ? c : "/";
	return 0;
}

static int
fetch(int port, const char *path, struct page *pg)
{
	struct sockaddr_in sin;
	struct timeval tv = { TIMEOUT_S, 0 };
	char req[2048];
	int fd, r = -1, n;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("prom_check: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		fprintf(stderr, "prom_check: connect to 127.0.0.1:%d: %s\n",
		    port, strerror(errno));
		goto out;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: "
	    "127.0.0.1:%d\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
	    path, port);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    write(fd, req, (size_t)n) != n) {
		perror("prom_check: write");
		goto out;
	}
	r = read_all(fd, pg);
out:
	close(fd);
	return r;
}

/* The response's status, Content-Type and body (by Content-Length). */
static int
split_response(struct page *pg, int *status, char *ctype, size_t ctcap,
    const char **body, size_t *blen)
{
	char *hend = pg->p ? strstr(pg->p, "\r\n\r\n") : NULL;
	long clen = -1;

	ctype[0] = '\0';
	if (hend == NULL || sscanf(pg->p, "HTTP/1.%*c %d", status) != 1) {
		fprintf(stderr, "prom_check: not an HTTP response\n");
		return -1;
	}
	*hend = '\0';
	for (char *save = NULL, *h = strtok_r(strchr(pg->p, '\n') + 1, "\r\n",
	    &save); h != NULL; h = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(h, "Content-Type:", 13) == 0)
			snprintf(ctype, ctcap, "%s", h + 13 + strspn(h + 13,
			    " \t"));
		else if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
			fprintf(stderr, "prom_check: %s: not supported\n", h);
			return -1;
		}
	}
	*body = hend + 4;
	*blen = pg->len - (size_t)(*body - pg->p);
	if (clen >= 0 && (size_t)clen != *blen) {
		fprintf(stderr, "prom_check: Content-Length %ld, got %zu "
		    "bytes\n", clen, *blen);
		return -1;
	}
	return 0;
}

static int
load(const char *src, int expect, struct page *pg, const char **body,
    size_t *blen)
{
	char ctype[256];
	const char *path;
	int port, status;

	if (strncmp(src, "http", 4) != 0) {
		FILE *f = strcmp(src, "-") == 0 ? stdin : fopen(src, "r");
		int r;

		if (f == NULL) {
			fprintf(stderr, "prom_check: %s: %s\n", src,
			    strerror(errno));
			return 2;
		}
		r = read_all(fileno(f), pg);
		if (f != stdin)
			fclose(f);
		*body = pg->p ? pg->p : "";
		*blen = pg->len;
		return r != 0 ? 2 : 0;
	}
	if (parse_url(src, &port, &path) != 0) {
		fprintf(stderr, "prom_check: %s: expected "
		    "http://127.0.0.1:PORT/PATH\n", src);
		return 2;
	}
	if (fetch(port, path, pg) != 0 ||
	    split_response(pg, &status, ctype, sizeof(ctype), body, blen) != 0)
		return 2;
	if (status != expect) {
		fprintf(stderr, "prom_check: %s: status %d, expected %d\n",
		    src, status, expect);
		return 1;
	}
	if (status == 200 && !prom_content_type_ok(ctype)) {
		fprintf(stderr, "prom_check: %s: Content-Type '%s' is not "
		    "text/plain; version=0.0.4\n", src, ctype);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *gets[GETS_MAX], *body = NULL;
	struct page pg = { NULL, 0, 0 };
	struct prom_doc *doc = NULL;
	struct prom_error pe;
	int ngets = 0, expect = 200, i, r;
	size_t blen = 0;

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
	if ((r = load(argv[i], expect, &pg, &body, &blen)) != 0 ||
	    expect != 200)
		goto out;
	if (prom_parse(body, blen, &doc, &pe) != 0) {
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
	free(pg.p);
	return r;
}
