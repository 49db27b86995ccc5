/*
 * adm_server.c - peer servers for replication: DEFINE, UPDATE, QUERY,
 * DELETE and PING SERVER, SET REPLSERVER, and QUERY REPLICATION.
 *
 *   DEFine SErver name SERVERPAssword=pw HLAddress=host LLAddress=port
 *       [CAFile=/path/ca.pem] [DESCription=text]
 *   UPDate SErver name [the same parameters]
 *   Query SErver [name]
 *   DELete SErver name
 *   PING SErver name
 *   SET REPLSERVer [name]
 *   Query REPLication [node]
 *
 * The server password is turned into the key the two servers share
 * (passwd_server_key with both server names) as soon as it is read; only
 * the key is stored, and no query shows it.  Each administrator types the
 * same password in its own DEFINE SERVER for the other.
 *
 * CAFILE names the PEM the peer's certificate must chain to (the peer's
 * DIR/tls/ca.pem).  It is read here when given, so that a wrong path is
 * found at once rather than at the night's replication.  A server defined
 * without one is never connected to: there would be nothing to verify.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "net.h"
#include "passwd.h"
#include "proto.h"
#include "tls.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* This server's name (cofferd format --name) into out. */
static int
local_name(struct adm_ctx *x, char out[CAT_NAME_MAX + 1])
{
	struct err e;

	err_clear(&e);
	if (cat_setting_get(x->env->cat, "name", out, CAT_NAME_MAX + 1,
	    &e) == 0 && out[0] != '\0')
		return 0;
	return adm_error(x, COFFER_ENOTFOUND, "ANR2033E %s: Command failed - "
	    "this server has no name (cofferd format --name sets it): %s.",
	    x->cmd->title, e.msg);
}

/* Fetch a definition; reports "not defined" or the catalog's error. */
static int
get_server(struct adm_ctx *x, const char *name, struct cat_server *s)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = cat_server_get(x->env->cat, name, s, &e)) == 0)
		return 0;
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR1710E %s: Server %s is not "
		    "defined.", x->cmd->title, name);
	return adm_failed(x, &e);
}

/* CAFILE: an absolute path to a readable PEM with a certificate. */
static int
check_cafile(struct adm_ctx *x, const char *v, char *out, size_t len)
{
	struct err e;
	SSL_CTX *ctx;

	err_clear(&e);
	if (v[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	if (v[0] != '/')
		return adm_bad(x, "CAFILE '%.200s' is not an absolute path; "
		    "the server reads it, from its own directory", v);
	if (strlen(v) >= len)
		return adm_bad(x, "CAFILE is longer than %zu characters",
		    len - 1);
	/* The very check a connection makes: the file loads as CAs. */
	if ((ctx = tls_client_ctx(v, &e)) == NULL)
		return adm_bad(x, "CAFILE %.200s cannot be used: %s", v,
		    e.msg);
	SSL_CTX_free(ctx);
	snprintf(out, len, "%s", v);
	return 0;
}

/* HLADDRESS, LLADDRESS, CAFILE, DESCRIPTION into s; counts them. */
static int
apply_params(struct adm_ctx *x, struct cat_server *s, int *changed)
{
	const char *v;
	long port;
	int r;

	if ((v = adm_arg(x, "HLADDRESS")) != NULL) {
		if (v[0] == '\0' || strlen(v) >= sizeof(s->hladdress) ||
		    strpbrk(v, " \t[]/") != NULL)
			return adm_bad_value(x, "HLADDRESS", v, "a host name "
			    "or IP address");
		snprintf(s->hladdress, sizeof(s->hladdress), "%s", v);
		(*changed)++;
	}
	if ((v = adm_arg(x, "LLADDRESS")) != NULL) {
		if (adm_parse_int(v, 1, 65535, 0, &port) != 0)
			return adm_bad_value(x, "LLADDRESS", v, "a port number "
			    "from 1 to 65535");
		s->lladdress = (int)port;
		(*changed)++;
	}
	if ((v = adm_arg(x, "CAFILE")) != NULL) {
		if ((r = check_cafile(x, v, s->cafile, sizeof(s->cafile))) != 0)
			return r;
		(*changed)++;
	}
	if ((v = adm_arg(x, "DESCRIPTION")) != NULL) {
		if (strlen(v) >= sizeof(s->description))
			return adm_bad(x, "DESCRIPTION is %zu characters long; "
			    "at most %zu are kept", strlen(v),
			    sizeof(s->description) - 1);
		snprintf(s->description, sizeof(s->description), "%s", v);
		(*changed)++;
	}
	return 0;
}

/* SERVERPASSWORD into the shared key; slow, so called last. */
static int
derive_key(struct adm_ctx *x, const char *me, struct cat_server *s)
{
	const char *pw = adm_arg(x, "SERVERPASSWORD");
	struct err e;

	err_clear(&e);
	if (passwd_check_policy(pw, &e) != 0)
		return adm_bad(x, "the server password does not meet the "
		    "policy: a password is %d to %d characters long",
		    PASSWD_LEN_MIN, PASSWD_LEN_MAX);
	if (passwd_server_key(pw, me, s->name, s->key, &e) != 0)
		return adm_failed(x, &e);
	return 0;
}

int
adm_define_server(struct adm_ctx *x)
{
	char me[CAT_NAME_MAX + 1];
	struct cat_server s;
	struct err e;
	int changed = 0, r;

	memset(&s, 0, sizeof(s));
	err_clear(&e);
	if ((r = adm_name(x, "server name", adm_pos(x, 0), s.name)) != 0 ||
	    (r = local_name(x, me)) != 0)
		return r;
	if (strcmp(me, s.name) == 0)
		return adm_bad(x, "%s is this server's own name; define the "
		    "other server", s.name);
	if (adm_arg(x, "SERVERPASSWORD") == NULL ||
	    adm_arg(x, "HLADDRESS") == NULL || adm_arg(x, "LLADDRESS") == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2020E %s: Missing "
		    "parameter: SERVERPAssword, HLAddress and LLAddress are "
		    "required.", x->cmd->title);
	if ((r = apply_params(x, &s, &changed)) != 0 ||
	    (r = derive_key(x, me, &s)) != 0)
		goto out;
	s.defined = x->now;
	if ((r = cat_server_add(x->env->cat, &s, &e)) == COFFER_EEXIST)
		r = adm_error(x, r, "ANR1711E %s: Server %s is already "
		    "defined.", x->cmd->title, s.name);
	else if (r != 0)
		r = adm_failed(x, &e);
	else
		r = adm_msg(x->res, "ANR1660I Server %s defined "
		    "successfully%s.", s.name, s.cafile[0] == '\0' ?
		    "; it has no CAFILE yet, so no connection to it will be "
		    "made" : "");
out:
	passwd_wipe(s.key, sizeof(s.key));
	return r;
}

int
adm_update_server(struct adm_ctx *x)
{
	char name[CAT_NAME_MAX + 1], me[CAT_NAME_MAX + 1];
	struct cat_server s;
	struct err e;
	int changed = 0, r;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	if ((r = adm_name(x, "server name", adm_pos(x, 0), name)) != 0 ||
	    (r = get_server(x, name, &s)) != 0 ||
	    (r = apply_params(x, &s, &changed)) != 0)
		goto out;
	if (adm_arg(x, "SERVERPASSWORD") != NULL) {
		if ((r = local_name(x, me)) != 0 ||
		    (r = derive_key(x, me, &s)) != 0)
			goto out;
		changed++;
	}
	if (changed == 0) {
		r = adm_bad(x, "nothing to update; give SERVERPAssword, "
		    "HLAddress, LLAddress, CAFile or DESCription");
		goto out;
	}
	if ((r = cat_server_update(x->env->cat, &s, &e)) != 0)
		r = adm_failed(x, &e);
	else
		r = adm_msg(x->res, "ANR1661I Server %s updated.", s.name);
out:
	passwd_wipe(s.key, sizeof(s.key));
	return r;
}

/* The REPLSERVER setting into out ("" when none). */
static void
replserver(struct adm_ctx *x, char out[CAT_NAME_MAX + 1])
{
	if (cat_setting_get(x->env->cat, "replserver", out, CAT_NAME_MAX + 1,
	    NULL) != 0)
		out[0] = '\0';
}

int
adm_delete_server(struct adm_ctx *x)
{
	char name[CAT_NAME_MAX + 1], repl[CAT_NAME_MAX + 1];
	struct err e;
	int r;

	err_clear(&e);
	if ((r = adm_name(x, "server name", adm_pos(x, 0), name)) != 0)
		return r;
	replserver(x, repl);
	if (strcmp(repl, name) == 0)
		return adm_error(x, COFFER_EBUSY, "ANR1713E %s: Server %s is "
		    "the replication server (SET REPLSERVER); set another one, "
		    "or none, first.", x->cmd->title, name);
	if ((r = cat_server_delete(x->env->cat, name, &e)) == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR1710E %s: Server %s is not "
		    "defined.", x->cmd->title, name);
	if (r != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR1662I Server %s deleted.", name);
}

/* ---- QUERY SERVER ---- */

struct srv_q {
	struct adm_ctx	*x;
	char		 pat[2 * CAT_NAME_MAX + 1];	/* "" for all */
	int		 stop;
};

static int
server_row(void *arg, const struct cat_server *s)
{
	struct srv_q *q = arg;
	char port[16], when[32];
	const char *v[6];
	int r;

	if (q->pat[0] != '\0' && !adm_wildmatch(q->pat, s->name, 1))
		return 0;
	snprintf(port, sizeof(port), "%d", s->lladdress);
	v[0] = s->name;
	v[1] = s->hladdress;
	v[2] = port;
	v[3] = s->cafile[0] != '\0' ? s->cafile : NULL;
	v[4] = s->description[0] != '\0' ? s->description : NULL;
	v[5] = adm_fmt_time(s->defined, when, sizeof(when));
	if ((r = adm_query_row(q->x, v)) == 1)
		q->stop = 1;
	return r;
}

int
adm_query_server(struct adm_ctx *x)
{
	/* Never the key: it is as good as the password to a peer. */
	static const char *const cols[] = {
		"server_name", "hladdress", "lladdress", "cafile",
		"description", "defined",
	};
	const char *pat = adm_pos(x, 0);
	struct srv_q q;
	struct err e;
	int r;

	memset(&q, 0, sizeof(q));
	err_clear(&e);
	q.x = x;
	if (pat != NULL && strcmp(pat, "*") != 0 &&
	    adm_upper(pat, q.pat, sizeof(q.pat)) != 0)
		return adm_bad(x, "the server pattern is longer than %d "
		    "characters", 2 * CAT_NAME_MAX);
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_server_list(x->env->cat, server_row, &q, &e);
	if (q.stop || r == 0)
		return adm_rows_done(x);
	if (r == COFFER_ENOMEM)
		return r;
	return adm_failed(x, &e);
}

/* ---- SET REPLSERVER ---- */

int
adm_set_replserver(struct adm_ctx *x)
{
	char name[CAT_NAME_MAX + 1];
	struct cat_server s;
	struct err e;
	int r;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	name[0] = '\0';
	if (adm_pos(x, 0) != NULL &&
	    ((r = adm_name(x, "server name", adm_pos(x, 0), name)) != 0 ||
	    (r = get_server(x, name, &s)) != 0))
		return r;
	passwd_wipe(s.key, sizeof(s.key));
	if (cat_setting_set(x->env->cat, "replserver", name, &e) != 0)
		return adm_failed(x, &e);
	if (name[0] == '\0')
		return adm_msg(x->res, "ANR2716I The replication server has "
		    "been removed: nodes are not replicated.");
	return adm_msg(x->res, "ANR2716I Replication server set to %s.",
	    name);
}

/* ---- PING SERVER ---- */

int
adm_ping_server(struct adm_ctx *x)
{
	char name[CAT_NAME_MAX + 1], me[CAT_NAME_MAX + 1], addr[300];
	struct cat_server s;
	struct net_opts o;
	struct net_conn *c;
	struct err e;
	int r;

	err_clear(&e);
	memset(&s, 0, sizeof(s));
	if ((r = adm_name(x, "server name", adm_pos(x, 0), name)) != 0 ||
	    (r = local_name(x, me)) != 0 ||
	    (r = get_server(x, name, &s)) != 0)
		goto out;
	snprintf(addr, sizeof(addr), strchr(s.hladdress, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", s.hladdress, s.lladdress);
	memset(&o, 0, sizeof(o));
	o.server = addr;
	o.ca_file = s.cafile;
	o.program = "cofferd";
	/* Blocks this worker for at most the connect and handshake timeout. */
	if ((c = net_connect_server(&o, me, s.name, s.key, &e)) == NULL) {
		size_t const n = strlen(e.msg);

		/* The peer's ANR messages end in a period; ours adds one. */
		if (n > 0 && e.msg[n - 1] == '.')
			e.msg[n - 1] = '\0';
		r = adm_error(x, e.code != 0 ? e.code : COFFER_EIO, "ANR1705W "
		    "Ping for server '%s' was not able to establish a "
		    "connection: %s.", s.name, e.msg);
		goto out;
	}
	net_close(c);
	r = adm_msg(x->res, "ANR1706I Ping for server '%s' was able to "
	    "establish a connection.", s.name);
out:
	passwd_wipe(s.key, sizeof(s.key));
	return r;
}

/* ---- QUERY REPLICATION ---- */

struct repl_q {
	struct adm_ctx	*x;
	char		 pat[2 * CAT_NAME_MAX + 1];	/* "" for all */
	int		 stop;
};

static int
repl_row(void *arg, const struct cat_repl *rp)
{
	struct repl_q *q = arg;
	char start[32], end[32], obj[24], bytes[24];
	const char *v[8];
	int r;

	if (q->pat[0] != '\0' && !adm_wildmatch(q->pat, rp->node, 1))
		return 0;
	v[0] = rp->node;
	v[1] = rp->fs_name;
	v[2] = rp->target;
	v[3] = adm_fmt_time(rp->last_start, start, sizeof(start));
	v[4] = adm_fmt_time(rp->last_end, end, sizeof(end));
	v[5] = adm_fmt_u64(rp->objects, obj, sizeof(obj));
	v[6] = adm_fmt_u64(rp->bytes, bytes, sizeof(bytes));
	v[7] = rp->status[0] != '\0' ? rp->status : NULL;
	if ((r = adm_query_row(q->x, v)) == 1)
		q->stop = 1;
	return r;
}

int
adm_query_replication(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"node_name", "filespace_name", "target", "last_start",
		"last_success", "objects", "bytes", "status",
	};
	const char *node = adm_pos(x, 0);
	char exact[CAT_NAME_MAX + 1];
	struct repl_q q;
	struct err e;
	int r;

	memset(&q, 0, sizeof(q));
	err_clear(&e);
	q.x = x;
	exact[0] = '\0';
	if (node != NULL && strcmp(node, "*") != 0) {
		if (strpbrk(node, "*?") == NULL) {
			if ((r = adm_name(x, "node name", node, exact)) != 0)
				return r;
		} else if (adm_upper(node, q.pat, sizeof(q.pat)) != 0)
			return adm_bad(x, "the node pattern is longer than %d "
			    "characters", 2 * CAT_NAME_MAX);
	}
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_repl_list(x->env->cat, exact[0] != '\0' ? exact : NULL,
	    repl_row, &q, &e);
	if (q.stop || r == 0)
		return adm_rows_done(x);
	if (r == COFFER_ENOMEM)
		return r;
	return adm_failed(x, &e);
}
