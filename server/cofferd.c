/*
 * cofferd - the Coffer server (like dsmserv).
 *
 *   cofferd format --dir DIR --name NAME [--port PORT]
 *   cofferd --dir DIR [--port PORT] [--listen ADDR]
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "passwd.h"
#include "srv.h"

static const char usage_text[] =
"usage: cofferd format --dir DIR --name NAME [--port PORT]\n"
"       cofferd --dir DIR [--port PORT] [--listen ADDR]\n"
"\n"
"The Coffer backup server.\n"
"\n"
"  format       create a server instance in DIR: the catalog, the default\n"
"               container pool, the server's CA and certificate\n"
"               (DIR/tls/ca.pem is what clients trust), the administrator\n"
"               ADMIN with the password in COFFER_ADMIN_PASSWORD, and the\n"
"               policy domain STANDARD.\n"
"  (no command) run the instance in DIR in the foreground; prints\n"
"               \"cofferd NAME ready on HOST:PORT\" once listening, and\n"
"               shuts down cleanly on SIGTERM or SIGINT.\n"
"\n"
"Options:\n"
"  --dir DIR       the instance directory (required)\n"
"  --name NAME     the server's name (format)\n"
"  --port PORT     TCP port (default 1500; 0 picks a free one and the\n"
"                  ready line says which)\n"
"  --listen ADDR   address to listen on (default from DIR/cofferd.opt,\n"
"                  127.0.0.1)\n"
"  -h, --help      this text\n"
"\n"
"Options in DIR/cofferd.opt: NAME, PORT, LISTEN, WORKERS, VERIFYCHUNKS.\n";

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct srv_opts o;
	const char *dir = NULL, *name = NULL;
	struct err e;
	int ch, port = -1, r;

	memset(&o, 0, sizeof(o));
	err_clear(&e);
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
		case 'h': fputs(usage_text, stdout); return 0;
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
	if (optind < argc) {
		fprintf(stderr, "cofferd: unknown command '%s'\n%s",
		    argv[optind], usage_text);
		return 12;
	}
	o.port = port;
	o.port_set = port >= 0;
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
