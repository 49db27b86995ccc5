/*
 * srv_format.c - cofferd format: create a server instance.
 *
 *   DIR/cofferd.opt   options (NAME, PORT, LISTEN, WORKERS, VERIFYCHUNKS,
 *                     MAXSESSIONS, LOGONTIMEOUT)
 *   DIR/catalog.db    the catalog and the chunk index, one SQLite file
 *   DIR/pool/         the default directory-container pool
 *   DIR/tls/          ca.pem (what clients trust), ca.key, server.pem/.key
 *
 * The admin "admin" is registered with the password the caller read from
 * COFFER_ADMIN_PASSWORD; the default policy domain STANDARD gets TSM's
 * copy-group values 2, 1, 30, 60.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cat.h"
#include "err.h"
#include "passwd.h"
#include "pool.h"
#include "rpo_check.h"
#include "srv.h"
#include "tls.h"
#include "util.h"

static int
write_opts(const char *dir, const char *name, int port, struct err *e)
{
	char path[2300], buf[1024];
	int n;

	snprintf(path, sizeof(path), "%s/cofferd.opt", dir);
	n = snprintf(buf, sizeof(buf),
	    "# cofferd options (one NAME value per line; # starts a comment)\n"
	    "NAME %s\n"
	    "PORT %d\n"
	    "# Address to listen on; 0.0.0.0 for every interface.\n"
	    "LISTEN 127.0.0.1\n"
	    "WORKERS %d\n"
	    "# Check every chunk a client sends (decompress + SHA-256).\n"
	    "VERIFYCHUNKS yes\n", name, port, SRV_WORKERS_DEFAULT);
	return util_write_atomic(path, buf, (size_t)n, 0600, e);
}

static int
seed_catalog(const char *dbpath, const char *name, const char *admin_pw,
    struct err *e)
{
	struct cat_domain d;
	struct cat_account a;
	struct cat *c = NULL;
	int r;

	if ((r = cat_open(dbpath, &c, e)) != 0)
		return r;
	memset(&a, 0, sizeof(a));
	a.kind = CAT_KIND_ADMIN;
	snprintf(a.name, sizeof(a.name), "ADMIN");
	a.registered = time(NULL);
	if ((r = passwd_hash(admin_pw, a.pwhash, sizeof(a.pwhash), e)) != 0)
		goto out;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "STANDARD");
	d.verexists = 2;
	d.verdeleted = 1;
	d.retextra = 30;
	d.retonly = 60;
	snprintf(d.description, sizeof(d.description),
	    "Installed default policy domain");
	if ((r = cat_begin(c, e)) != 0)
		goto out;
	if ((r = cat_setting_set(c, "name", name, e)) != 0 ||
	    (r = cat_setting_set(c, "invalidpwlimit", "5", e)) != 0 ||
	    (r = cat_domain_define(c, &d, e)) != 0 ||
	    (r = cat_account_add(c, &a, e)) != 0) {
		cat_rollback(c);
		goto out;
	}
	if ((r = cat_commit(c, e)) != 0)
		goto out;
	(void)cat_actlog(c, CAT_SEV_INFO, 7800, NULL,
	    "Server %s formatted.", name);
out:
	cat_close(c);
	return r;
}

int
srv_format(const char *dir, const char *name, int port,
    const char *admin_password, struct err *e)
{
	char path[2300], dbpath[2300], norm[CAT_NAME_MAX + 1];
	struct stat st;
	int r;

	if ((r = cat_name_normalize(name, norm, e)) != 0)
		return err_wrap(e, "server name");
	if ((r = passwd_check_policy(admin_password, e)) != 0)
		return err_wrap(e, "COFFER_ADMIN_PASSWORD");
	snprintf(dbpath, sizeof(dbpath), "%s/catalog.db", dir);
	if (stat(dbpath, &st) == 0)
		return err_set(e, COFFER_EEXIST, "%s already holds a server "
		    "instance (%s exists)", dir, dbpath);
	if ((r = util_mkdir_p(dir, 0700, e)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/tls", dir);
	if ((r = tls_make_ca_and_server_cert(path, norm, e)) != 0)
		return err_wrap(e, "certificates");
	snprintf(path, sizeof(path), "%s/pool", dir);
	if ((r = pool_create(path, dbpath, NULL, e)) != 0)
		return err_wrap(e, "storage pool");
	if ((r = seed_catalog(dbpath, norm, admin_password, e)) != 0)
		return err_wrap(e, "catalog");
	return write_opts(dir, norm, port, e);
}

static void
trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

int
srv_opts_load(struct srv_opts *o, const char *dir, struct err *e)
{
	char path[2300], line[1024], key[64], val[960];
	FILE *f;
	int lineno = 0, r = 0;

	snprintf(o->dir, sizeof(o->dir), "%s", dir);
	snprintf(o->listen, sizeof(o->listen), "127.0.0.1");
	if (o->port < 0)
		o->port = 1500;
	o->workers = SRV_WORKERS_DEFAULT;
	o->verify_chunks = 1;
	o->max_sessions = SRV_MAXSESSIONS_DEFAULT;
	o->logon_timeout = SRV_AUTH_TIMEOUT_S;
	o->rpo_check_s = RPO_CHECK_INTERVAL_DEFAULT;
	if (o->metrics_port_set == 0)
		o->metrics_port = -1;
	snprintf(o->metrics_listen, sizeof(o->metrics_listen), "127.0.0.1");
	snprintf(path, sizeof(path), "%s/cofferd.opt", dir);
	if ((f = fopen(path, "r")) == NULL)
		return err_sys(e, errno == ENOENT ? COFFER_ENOTFOUND :
		    COFFER_EIO, "%s (is %s a formatted instance? run cofferd "
		    "format)", path, dir);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		trim(line);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (sscanf(line, "%63s %959[^\n]", key, val) != 2) {
			r = err_set(e, COFFER_EINVAL, "%s:%d: expected 'NAME "
			    "value'", path, lineno);
			break;
		}
		if (strcasecmp(key, "PORT") == 0) {
			if (o->port_set == 0)
				o->port = atoi(val);
		} else if (strcasecmp(key, "LISTEN") == 0) {
			if (o->listen_set == 0)
				snprintf(o->listen, sizeof(o->listen), "%.255s",
				    val);
		} else if (strcasecmp(key, "WORKERS") == 0) {
			o->workers = atoi(val);
		} else if (strcasecmp(key, "METRICSPORT") == 0) {
			char *end;
			long const v = strtol(val, &end, 10);

			/* Strictly: "abc" must not mean 0, any free port. */
			if (end == val || *end != '\0' || v < 0 || v > 65535) {
				r = err_set(e, COFFER_EINVAL, "%s:%d: METRICSPORT "
				    "%s: must be 0..65535", path, lineno, val);
				break;
			}
			if (o->metrics_port_set == 0)
				o->metrics_port = (int)v;
		} else if (strcasecmp(key, "METRICSLISTEN") == 0) {
			snprintf(o->metrics_listen, sizeof(o->metrics_listen),
			    "%.255s", val);
		} else if (strcasecmp(key, "VERIFYCHUNKS") == 0) {
			o->verify_chunks = strcasecmp(val, "no") != 0;
		} else if (strcasecmp(key, "MAXSESSIONS") == 0) {
			o->max_sessions = atoi(val);
		} else if (strcasecmp(key, "LOGONTIMEOUT") == 0) {
			o->logon_timeout = atoi(val);
		} else if (strcasecmp(key, "RPOCHECKINTERVAL") == 0) {
			if (rpo_check_parse_interval(val,
			    &o->rpo_check_s) != 0) {
				r = err_set(e, COFFER_EINVAL, "%s:%d: "
				    "RPOCHECKINTERVAL %s: expected seconds, or "
				    "a number with s, m or h, at most 24h (0: "
				    "off)", path, lineno, val);
				break;
			}
		} else if (strcasecmp(key, "NAME") != 0) {
			r = err_set(e, COFFER_EINVAL, "%s:%d: unknown option "
			    "%s", path, lineno, key);
			break;
		}
	}
	fclose(f);
	if (r == 0 && (o->workers < 1 || o->workers > SRV_WORKERS_MAX))
		r = err_set(e, COFFER_EINVAL, "WORKERS %d: must be 1..%d",
		    o->workers, SRV_WORKERS_MAX);
	if (r == 0 && (o->max_sessions < 1 ||
	    o->max_sessions > SRV_MAXSESSIONS_MAX))
		r = err_set(e, COFFER_EINVAL, "MAXSESSIONS %d: must be 1..%d",
		    o->max_sessions, SRV_MAXSESSIONS_MAX);
	if (r == 0 && (o->logon_timeout < 1 || o->logon_timeout > 3600))
		r = err_set(e, COFFER_EINVAL, "LOGONTIMEOUT %d: must be 1..3600 "
		    "seconds", o->logon_timeout);
	if (r == 0 && (o->port < 0 || o->port > 65535))
		r = err_set(e, COFFER_EINVAL, "PORT %d: must be 0..65535",
		    o->port);
	return r;
}
