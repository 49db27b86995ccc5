/*
 * cofferd - the Coffer server (like dsmserv).
 *
 *   cofferd format --dir DIR --name NAME [--port PORT]
 *   cofferd restore-db --dir DIR --devclass-dir DCDIR --volumes V1,V2,...
 *   cofferd --dir DIR [--port PORT] [--listen ADDR] [--metrics-port PORT]
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "dbb.h"
#include "err.h"
#include "fault.h"
#include "passwd.h"
#include "srv.h"

static const char usage_text[] =
"usage: cofferd format --dir DIR --name NAME [--port PORT]\n"
"       cofferd restore-db --dir DIR --devclass-dir DCDIR --volumes V1,V2,...\n"
"       cofferd --dir DIR [--port PORT] [--listen ADDR] "
"[--metrics-port PORT]\n"
"\n"
"The Coffer backup server.\n"
"\n"
"  format       create a server instance in DIR: the catalog, the default\n"
"               container pool, the server's CA and certificate\n"
"               (DIR/tls/ca.pem is what clients trust), the administrator\n"
"               ADMIN with the password in COFFER_ADMIN_PASSWORD, and the\n"
"               policy domain STANDARD.\n"
"  restore-db   rebuild DIR/catalog.db from a BACKUP DB set: reads the\n"
"               volumes V1,V2,... (in order; names are looked up in\n"
"               DCDIR, the device class directory), checks them, and\n"
"               replaces the catalog atomically, with DIR/volhist.txt\n"
"               and DIR/devconfig.txt from the set.  Refused while a\n"
"               server runs on DIR.  Start the server afterwards and run\n"
"               AUDIT CONTAINER: chunks the older catalog names but the\n"
"               pool no longer holds are reported and marked damaged.\n"
"  (no command) run the instance in DIR in the foreground; prints\n"
"               \"cofferd NAME ready on HOST:PORT\" once listening, and\n"
"               shuts down cleanly on SIGTERM or SIGINT.  With a metrics\n"
"               port, a second line follows the ready line:\n"
"               \"cofferd NAME metrics on http://HOST:PORT/metrics\".\n"
"\n"
"Options:\n"
"  --dir DIR       the instance directory (required)\n"
"  --name NAME     the server's name (format)\n"
"  --port PORT     TCP port (default 1500; 0 picks a free one and the\n"
"                  ready line says which)\n"
"  --listen ADDR   address to listen on (default from DIR/cofferd.opt,\n"
"                  127.0.0.1)\n"
"  --metrics-port PORT  serve Prometheus text metrics over plain HTTP on\n"
"                  PORT (0: a free one), on METRICSLISTEN (default\n"
"                  127.0.0.1); overrides METRICSPORT; off when neither\n"
"                  is given\n"
"  --devclass-dir DCDIR  where the volumes are (restore-db)\n"
"  --volumes V1,V2,...   the volumes of the set, in order (restore-db)\n"
"      --version   the version, and whether fault injection (tests only,\n"
"                  ./configure --enable-fault-injection) is compiled in\n"
"  -h, --help      this text\n"
"\n"
"Options in DIR/cofferd.opt: NAME, PORT, LISTEN, WORKERS, VERIFYCHUNKS,\n"
"MAXSESSIONS (sessions at once, default 25; 2 more for administrators),\n"
"LOGONTIMEOUT (seconds from connect to logon, default 30),\n"
"RPOCHECKINTERVAL (how often RPO misses are looked for, default 5m),\n"
"METRICSPORT, METRICSLISTEN.\n";

#define RESTORE_VOLS_MAX	1024

/* Split the comma-separated list in place; returns the count or -1. */
static int
split_volumes(char *list, const char **out, int max)
{
	int n = 0;

	for (char *save = NULL, *v = strtok_r(list, ",", &save); v != NULL;
	    v = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		out[n++] = v;
	}
	return n;
}

static void
print_restored(const char *dir, const struct dbb_restore_result *res)
{
	char when[32];
	time_t t = (time_t)res->hdr.created;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("cofferd: restored the catalog of server %s, backed up %s "
	    "(%llu bytes, %llu pages of %u), from %u volumes into "
	    "%s/catalog.db; wrote %s/%s and %s/%s.\n"
	    "cofferd: start the server and run AUDIT CONTAINER: chunks the "
	    "catalog names that the pool lacks are reported damaged.\n",
	    res->hdr.server, when, (unsigned long long)res->hdr.db_bytes,
	    (unsigned long long)res->hdr.page_count, res->hdr.page_size,
	    res->nvols, dir, dir, DBB_VOLHIST_FILE, dir, DBB_DEVCONFIG_FILE);
}

/* cofferd restore-db: DIR's lock held for the whole restore. */
static int
restore_db(const char *dir, const char *dcdir, const char *volumes)
{
	const char *vols[RESTORE_VOLS_MAX];
	struct dbb_restore_result res;
	char *list = NULL;
	struct err e;
	int lockfd = -1, n, rc = 12;

	err_clear(&e);
	if (volumes == NULL || (list = strdup(volumes)) == NULL ||
	    (n = split_volumes(list, vols, RESTORE_VOLS_MAX)) <= 0) {
		fprintf(stderr, "cofferd: restore-db needs --volumes V1,V2,... "
		    "(at most %d)\n", RESTORE_VOLS_MAX);
		goto out;
	}
	if (srv_lock(dir, &lockfd, &e) != 0) {
		fprintf(stderr, "cofferd: restore-db: %s\n", e.msg);
		goto out;
	}
	if (dbb_restore(dir, dcdir, vols, (size_t)n, &res, &e) != 0) {
		fprintf(stderr, "cofferd: restore-db into %s: %s; the catalog "
		    "was not changed\n", dir, e.msg);
		goto out;
	}
	print_restored(dir, &res);
	rc = 0;
out:
	if (lockfd >= 0)
		close(lockfd);
	free(list);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "metrics-port", required_argument, NULL, 'm' },
		{ "devclass-dir", required_argument, NULL, 'D' },
		{ "volumes", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct srv_opts o;
	const char *dir = NULL, *name = NULL, *dcdir = NULL, *vols = NULL;
	struct err e;
	int ch, port = -1, mport = -1, r;

	memset(&o, 0, sizeof(o));
	err_clear(&e);
	/*
	 * A statement journal stays in memory up to this size (SQLite's
	 * default is 64 KiB).  An INSERT INTO object inside a larger
	 * transaction needs one (the counting trigger and the foreign key),
	 * and once a transaction's journal spilled to a temporary file every
	 * later statement wrote its pages there: an import's commits wrote
	 * more to /var/tmp than to the pool.  Before any connection opens.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 4 << 20);
	/* The catalog holds password hashes, the pool everyone's data. */
	umask(077);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'p':
			port = atoi(optarg);
			if (port < 0 || port > 65535) {
				fprintf(stderr, "cofferd: --port %s: must be "
				    "0..65535\n", optarg);
				return 12;
			}
			break;
		case 'l':
			snprintf(o.listen, sizeof(o.listen), "%s", optarg);
			o.listen_set = 1;
			break;
		case 'm':
			mport = atoi(optarg);
			if (mport < 0 || mport > 65535) {
				fprintf(stderr, "cofferd: --metrics-port %s: "
				    "must be 0..65535\n", optarg);
				return 12;
			}
			break;
		case 'D': dcdir = optarg; break;
		case 'V': vols = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'v':
			printf("cofferd %s\nfault injection: %s\n",
			    PACKAGE_VERSION, FAULT_COMPILED ? "compiled in "
			    "(COFFER_FAULT=name[:N]; tests only)" : "no");
			return 0;
		default: fputs(usage_text, stderr); return 12;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "cofferd: --dir DIR is required\n%s",
		    usage_text);
		return 12;
	}
	if (optind < argc && strcmp(argv[optind], "format") == 0) {
		const char *pw = getenv("COFFER_ADMIN_PASSWORD");

		if (name == NULL) {
			fprintf(stderr, "cofferd: format needs --name NAME\n");
			return 12;
		}
		if (pw == NULL || pw[0] == '\0') {
			fprintf(stderr, "cofferd: format: set "
			    "COFFER_ADMIN_PASSWORD to the password of the "
			    "administrator ADMIN\n");
			return 12;
		}
		if (srv_format(dir, name, port < 0 ? 1500 : port, pw, &e) != 0) {
			fprintf(stderr, "cofferd: format %s: %s\n", dir, e.msg);
			return 12;
		}
		printf("cofferd: formatted server %s in %s; clients trust "
		    "%s/tls/ca.pem\n", name, dir, dir);
		return 0;
	}
	if (optind < argc && strcmp(argv[optind], "restore-db") == 0) {
		if (optind + 1 < argc) {
			fprintf(stderr, "cofferd: restore-db: unexpected '%s'\n",
			    argv[optind + 1]);
			return 12;
		}
		return restore_db(dir, dcdir, vols);
	}
	if (optind < argc) {
		fprintf(stderr, "cofferd: unknown command '%s'\n%s",
		    argv[optind], usage_text);
		return 12;
	}
	o.port = port;
	o.port_set = port >= 0;
	o.metrics_port = mport;
	o.metrics_port_set = mport >= 0;
	{
		char listen[256];
		int listen_set = o.listen_set;

		snprintf(listen, sizeof(listen), "%s", o.listen);
		if ((r = srv_opts_load(&o, dir, &e)) == 0 && listen_set)
			snprintf(o.listen, sizeof(o.listen), "%s", listen);
	}
	if (r != 0 || (r = srv_run(&o, &e)) != 0) {
		fprintf(stderr, "cofferd: %s\n", e.msg);
		return 12;
	}
	return 0;
}
