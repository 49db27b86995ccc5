/*
 * coffer-admin - the administrative client (like dsmadmc).
 *
 *   coffer-admin --server HOST:PORT --ca FILE [--admin NAME] [--json]
 *                [-c 'COMMAND']
 *
 * Commands are parsed and run by the server (server/adm_*.c); this
 * program sends the line as typed and prints the answer: messages, then a
 * table, or with --json one JSON object last on stdout.  The password
 * comes from COFFER_ADMIN_PASSWORD, or a prompt on a terminal; never
 * from argv.  The exit status is the command's TSM return code.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "net.h"
#include "passwd.h"
#include "proto.h"
#include "wire.h"

#define CELLS_MAX	(10000u * 64)

static const char usage_text[] =
"usage: coffer-admin --server HOST:PORT --ca FILE [--admin NAME] [--json]\n"
"                    [-c 'COMMAND']\n"
"\n"
"Run TSM-style administrative commands on a Coffer server: one with -c,\n"
"or an interactive console reading commands from standard input.\n"
"Keywords are case-insensitive and may be abbreviated (q node); parameters\n"
"are name=value.\n"
"\n"
"  --server HOST:PORT  the server (default 127.0.0.1:1500)\n"
"  --ca FILE           the server's CA certificate (DIR/tls/ca.pem)\n"
"  --admin NAME        the administrator (default ADMIN)\n"
"  --json              print one JSON object per command on stdout:\n"
"                      {\"rows\": [...]} for queries, the result's fields\n"
"                      for commands such as 'audit container wait=yes'\n"
"  -c COMMAND          run one command and exit with its return code\n"
"  -h, --help          this text\n"
"\n"
"The password is read from COFFER_ADMIN_PASSWORD (or asked for on a\n"
"terminal).  Return codes: 0 done, 4 some items skipped, 8 warnings,\n"
"12 errors.\n"
"\n"
"Commands include: register/update/remove/query node, lock/unlock node,\n"
"register/query admin, query filespace, define/update/query domain,\n"
"query stgpool, query occupancy, expire inventory, reclaim stgpool,\n"
"audit container, query actlog, query session, query process, cancel\n"
"process, set invalidpwlimit, query status.\n";

struct result {
	int		 rc, shape;
	uint32_t	 nmsg, nrow;
	uint16_t	 ncol;
	char		**msgs;
	char		**cols;
	char		**cells;	/* NULL: null */
};

/*
 * The -c command is copied before this runs, so its secrets can be
 * blanked in argv itself: ps and /proc/PID/cmdline then show stars
 * instead of passwords (as the mysql client does).  It cannot close the
 * moment between exec and here, which is why the README says to feed
 * secrets on standard input; this only keeps them from lingering for the
 * whole of a long "wait=yes" command.  The server's command table knows
 * exactly which words are secret; here a word is hidden when its key
 * looks like one (PASSW..., SERVERPA..., ENCR...) or when it is the
 * password word of REGISTER/UPDATE NODE/ADMIN, so at worst too much is
 * hidden, never too little.
 */
static int
secret_key(const char *k, size_t n)
{
	char up[32];
	size_t i;

	if (n >= sizeof(up))
		return 1;
	for (i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)k[i]);
	up[n] = '\0';
	return strstr(up, "PASSW") != NULL || strncmp(up, "SERVERPA", 8) == 0
	    || strncmp(up, "ENCR", 4) == 0;
}

/* Is w (n bytes) an abbreviation of kw at least min letters long? */
static int
abbrev(const char *w, size_t n, const char *kw, size_t min)
{
	return n >= min && n <= strlen(kw) && strncasecmp(w, kw, n) == 0;
}

static void
hide_secrets(char *s)
{
	char *w[3] = { NULL };
	size_t wn[3] = { 0 }, nword = 0;

	while (*s != '\0') {
		char *start, *eq = NULL, q = 0;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		for (start = s; *s != '\0' && (q != 0 ||
		    !isspace((unsigned char)*s)); s++) {
			if (q != 0 && *s == q)
				q = 0;
			else if (q == 0 && (*s == '"' || *s == '\''))
				q = *s;
			else if (q == 0 && *s == '=' && eq == NULL)
				eq = s;
		}
		if (eq != NULL && secret_key(start, (size_t)(eq - start)))
			memset(eq + 1, '*', (size_t)(s - eq - 1));
		else if (eq == NULL && nword == 3 &&
		    (abbrev(w[0], wn[0], "REGISTER", 3) ||
		    abbrev(w[0], wn[0], "UPDATE", 3)) &&
		    (abbrev(w[1], wn[1], "NODE", 1) ||
		    abbrev(w[1], wn[1], "ADMIN", 1)))
			memset(start, '*', (size_t)(s - start));
		if (eq == NULL && nword < 3) {
			w[nword] = start;
			wn[nword] = (size_t)(s - start);
		}
		if (eq == NULL)
			nword++;
	}
}

static void
result_free(struct result *r)
{
	for (uint32_t i = 0; i < r->nmsg; i++)
		free(r->msgs[i]);
	for (uint16_t i = 0; i < r->ncol; i++)
		free(r->cols[i]);
	for (size_t i = 0; i < (size_t)r->nrow * r->ncol; i++)
		free(r->cells[i]);
	free(r->msgs);
	free(r->cols);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

static int
get_dup(struct wire_rd *rd, char **out, struct err *e)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = wire_get_bytes(rd, 1u << 20, &p, &n, e)) != 0)
		return rc;
	if ((*out = strndup((const char *)p, n)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	return 0;
}

static int
decode_result(struct wire_rd *rd, struct result *r, struct err *e)
{
	uint8_t rc8, shape, isnull;
	size_t ncell;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = wire_get_u8(rd, &rc8, e)) || (rc = wire_get_u8(rd, &shape, e))
	    || (rc = wire_get_u32(rd, &r->nmsg, e)))
		return rc;
	r->rc = rc8;
	r->shape = shape;
	if (r->nmsg > 100000)
		return err_set(e, COFFER_EPROTO, "too many messages");
	if ((r->msgs = calloc(r->nmsg + 1, sizeof(char *))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < r->nmsg; i++)
		if ((rc = get_dup(rd, &r->msgs[i], e)) != 0)
			return rc;
	if ((rc = wire_get_u16(rd, &r->ncol, e)) != 0)
		return rc;
	if ((r->cols = calloc(r->ncol + 1u, sizeof(char *))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (uint16_t i = 0; i < r->ncol; i++)
		if ((rc = get_dup(rd, &r->cols[i], e)) != 0)
			return rc;
	if ((rc = wire_get_u32(rd, &r->nrow, e)) != 0)
		return rc;
	ncell = (size_t)r->nrow * r->ncol;
	if (ncell > CELLS_MAX)
		return err_set(e, COFFER_EPROTO, "result of %u rows too large",
		    r->nrow);
	if ((r->cells = calloc(ncell + 1, sizeof(char *))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < ncell; i++) {
		char *v;

		if ((rc = wire_get_u8(rd, &isnull, e)) != 0 ||
		    (rc = get_dup(rd, &v, e)) != 0)
			return rc;
		if (isnull) {
			free(v);
			v = NULL;
		}
		r->cells[i] = v;
	}
	return wire_rd_end(rd, e);
}

/* A cell that is a plain integer is written as a JSON number. */
static int
is_integer(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
		return 0;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return strlen(s) < 19;
}

/*
 * A column named "key[]" holds a list, one item a line (export's
 * volumes): a JSON array of strings under key.
 */
static int
json_list(struct json *j, const char *key, const char *v)
{
	size_t const n = strlen(key);
	char name[128];

	if (n < 3 || n >= sizeof(name) || strcmp(key + n - 2, "[]") != 0)
		return 0;
	memcpy(name, key, n - 2);
	name[n - 2] = '\0';
	json_arr_open(j, name);
	while (v != NULL && *v != '\0') {
		const char *nl = strchr(v, '\n');
		size_t const len = nl ? (size_t)(nl - v) : strlen(v);

		json_strn(j, NULL, v, len);
		v += len + (nl != NULL);
	}
	json_arr_close(j);
	return 1;
}

static void
json_cell(struct json *j, const char *key, const char *v)
{
	if (json_list(j, key, v))
		return;
	if (v == NULL)
		json_null(j, key);
	else if (is_integer(v))
		json_i64(j, key, strtoll(v, NULL, 10));
	else
		json_str(j, key, v);
}

static void
print_json(const struct result *r)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	if (r->shape == PROTO_SHAPE_OBJECT && r->nrow >= 1) {
		for (uint16_t c = 0; c < r->ncol; c++)
			json_cell(&j, r->cols[c], r->cells[c]);
	} else if (r->shape == PROTO_SHAPE_ROWS) {
		json_arr_open(&j, "rows");
		for (uint32_t i = 0; i < r->nrow; i++) {
			json_obj_open(&j, NULL);
			for (uint16_t c = 0; c < r->ncol; c++)
				json_cell(&j, r->cols[c],
				    r->cells[(size_t)i * r->ncol + c]);
			json_obj_close(&j);
		}
		json_arr_close(&j);
	}
	json_i64(&j, "rc", r->rc);
	json_arr_open(&j, "messages");
	for (uint32_t i = 0; i < r->nmsg; i++)
		json_str(&j, NULL, r->msgs[i]);
	json_arr_close(&j);
	json_obj_close(&j);
}

/* A table for a few columns; one "name: value" block per row otherwise. */
static void
print_table(const struct result *r)
{
	size_t w[64];
	int const wide = r->ncol > 6 || r->ncol > 64;

	if (r->nrow == 0 || r->ncol == 0)
		return;
	if (wide || r->shape == PROTO_SHAPE_OBJECT) {
		size_t kw = 0;

		for (uint16_t c = 0; c < r->ncol; c++)
			if (strlen(r->cols[c]) > kw)
				kw = strlen(r->cols[c]);
		for (uint32_t i = 0; i < r->nrow; i++) {
			for (uint16_t c = 0; c < r->ncol; c++) {
				const char *v = r->cells[(size_t)i * r->ncol + c];

				int const nl = (int)strlen(r->cols[c]);
				int const list = nl > 2 &&
				    strcmp(r->cols[c] + nl - 2, "[]") == 0;

				printf("%*.*s: %s\n", (int)kw, list ? nl - 2 :
				    nl, r->cols[c], v ? v : "");
			}
			printf("\n");
		}
		return;
	}
	for (uint16_t c = 0; c < r->ncol; c++) {
		w[c] = strlen(r->cols[c]);
		for (uint32_t i = 0; i < r->nrow; i++) {
			const char *v = r->cells[(size_t)i * r->ncol + c];

			if (v != NULL && strlen(v) > w[c])
				w[c] = strlen(v);
		}
		if (w[c] > 60)
			w[c] = 60;
	}
	for (uint16_t c = 0; c < r->ncol; c++)
		printf("%-*s%s", (int)w[c], r->cols[c], c + 1 < r->ncol ?
		    "  " : "\n");
	for (uint16_t c = 0; c < r->ncol; c++) {
		for (size_t k = 0; k < w[c]; k++)
			putchar('-');
		printf("%s", c + 1 < r->ncol ? "  " : "\n");
	}
	for (uint32_t i = 0; i < r->nrow; i++)
		for (uint16_t c = 0; c < r->ncol; c++) {
			const char *v = r->cells[(size_t)i * r->ncol + c];

			if (c + 1 == r->ncol)	/* the last column is never cut */
				printf("%s\n", v ? v : "");
			else
				printf("%-*.*s  ", (int)w[c], (int)w[c],
				    v ? v : "");
		}
}

static int
run_command(struct net_conn *c, const char *line, int json)
{
	struct wire_buf req;
	struct wire_rd rd;
	struct result r;
	struct err e;
	int rc;

	err_clear(&e);
	wire_buf_init(&req, WIRE_STR_MAX + 16);
	wire_put_str(&req, line);
	if ((rc = wire_buf_ok(&req, &e)) != 0 ||
	    (rc = net_call(c, PT_ADM_CMD, &req, PT_ADM_RESULT, &rd, &e)) != 0 ||
	    (rc = decode_result(&rd, &r, &e)) != 0) {
		wire_buf_free(&req);
		fprintf(stderr, "coffer-admin: %s\n", e.msg);
		return RC_ERROR;
	}
	wire_buf_free(&req);
	if (json) {
		print_json(&r);
	} else {
		for (uint32_t i = 0; i < r.nmsg; i++)
			printf("%s\n", r.msgs[i]);
		if (r.nmsg > 0 && r.nrow > 0)
			printf("\n");
		print_table(&r);
	}
	rc = r.rc;
	result_free(&r);
	return rc;
}

static int
read_password(char *buf, size_t len)
{
	const char *env = getenv("COFFER_ADMIN_PASSWORD");
	struct termios t, saved;
	size_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	if (!isatty(STDIN_FILENO))
		return -1;
	fprintf(stderr, "Password: ");
	tcgetattr(STDIN_FILENO, &saved);
	t = saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	fprintf(stderr, "\n");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
console(struct net_conn *c, int json)
{
	char line[WIRE_STR_MAX + 2];
	int const tty = isatty(STDIN_FILENO);
	int rc = 0;

	if (tty)
		printf("Coffer administrative console, server %s. Type QUIT to "
		    "leave.\n", net_server_name(c));
	for (;;) {
		size_t n;

		if (tty) {
			printf("Coffer> ");
			fflush(stdout);
		}
		if (fgets(line, sizeof(line), stdin) == NULL)
			break;
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strcasecmp(line, "quit") == 0 || strcasecmp(line, "exit")
		    == 0)
			break;
		rc = run_command(c, line, json);
		fflush(stdout);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'a' },
		{ "admin", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct net_opts no;
	struct net_conn *c;
	const char *admin = "ADMIN";
	char *cmd = NULL;
	char pw[1024];
	struct err e;
	int ch, json = 0, rc;

	memset(&no, 0, sizeof(no));
	no.server = "127.0.0.1:1500";
	no.program = "coffer-admin";
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': no.server = optarg; break;
		case 'a': no.ca_file = optarg; break;
		case 'n': admin = optarg; break;
		case 'j': json = 1; break;
		case 'c':
			free(cmd);
			if ((cmd = strdup(optarg)) == NULL) {
				fputs("coffer-admin: out of memory\n", stderr);
				return RC_ERROR;
			}
			hide_secrets(optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			rc = 0;
			goto out;
		default:
			fputs(usage_text, stderr);
			rc = RC_ERROR;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "coffer-admin: unexpected argument '%s' (quote "
		    "the command: -c 'query node')\n", argv[optind]);
		rc = RC_ERROR;
		goto out;
	}
	if (no.ca_file == NULL) {
		fprintf(stderr, "coffer-admin: --ca FILE is required (the "
		    "server's DIR/tls/ca.pem)\n");
		rc = RC_ERROR;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (read_password(pw, sizeof(pw)) != 0) {
		fprintf(stderr, "coffer-admin: no password: set "
		    "COFFER_ADMIN_PASSWORD\n");
		rc = RC_ERROR;
		goto out;
	}
	err_clear(&e);
	c = net_connect(&no, PROTO_KIND_ADMIN, admin, pw, &e);
	passwd_wipe(pw, sizeof(pw));
	if (c == NULL) {
		fprintf(stderr, "coffer-admin: %s\n", e.msg);
		rc = RC_ERROR;
		goto out;
	}
	rc = cmd != NULL ? run_command(c, cmd, json) : console(c, json);
	net_close(c);
out:
	/* cmd is a copy of -c's text: every way out frees it. */
	free(cmd);
	return rc;
}
