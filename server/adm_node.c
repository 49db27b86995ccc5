/*
 * adm_node.c - client nodes and administrators: REGISTER, UPDATE, REMOVE,
 * LOCK, UNLOCK and QUERY of NODE and ADMIN.
 *
 * Passwords arrive as words of the command line; they are checked against
 * the policy and hashed (passwd.h) and never copied into a message.  The
 * caller wipes the command line when the command is done.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "passwd.h"
#include "proto.h"
#include "rpo.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *
kind_word(int kind)
{
	return kind == CAT_KIND_NODE ? "Node" : "Administrator";
}

/* Fetch an account; reports "not registered" or the catalog's error. */
static int
get_account(struct adm_ctx *x, int kind, const char *name,
    struct cat_account *a)
{
	struct err e;
	int r;

	err_clear(&e);
	memset(a, 0, sizeof(*a));
	if ((r = cat_account_get(x->env->cat, kind, name, a, &e)) == 0)
		return 0;
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2%dE %s: %s %s is not registered.",
		    kind == CAT_KIND_NODE ? 146 : 148, x->cmd->title,
		    kind_word(kind), name);
	return adm_failed(x, &e);
}

/* The domain must exist; reports it when it does not. */
static int
check_domain(struct adm_ctx *x, const char *name)
{
	struct cat_domain d;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = cat_domain_get(x->env->cat, name, &d, &e)) == 0)
		return 0;
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR1512E %s: Policy domain %s is not "
		    "defined.", x->cmd->title, name);
	return adm_failed(x, &e);
}

/* Check pw against the policy and hash it into out. */
static int
hash_password(struct adm_ctx *x, const char *pw, char *out, size_t len)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = passwd_check_policy(pw, &e)) != 0) {
		/* The policy's message must not carry the password itself. */
		if (pw[0] != '\0' && strstr(e.msg, pw) != NULL)
			snprintf(e.msg, sizeof(e.msg), "a password is %d to %d "
			    "characters long", PASSWD_LEN_MIN, PASSWD_LEN_MAX);
		return adm_bad(x, "the password does not meet the policy: %s",
		    e.msg);
	}
	if (passwd_hash(pw, out, len, &e) != 0)
		return adm_failed(x, &e);
	return 0;
}

static int
check_contact(struct adm_ctx *x, const char *v, char *out, size_t len)
{
	if (strlen(v) < len) {
		snprintf(out, len, "%s", v);
		return 0;
	}
	return adm_bad(x, "CONTACT is %zu characters long; at most %zu are "
	    "kept", strlen(v), len - 1);
}

/* ---- REGISTER ---- */

static int
register_account(struct adm_ctx *x, int kind)
{
	const char *dom = adm_arg(x, "DOMAIN");
	const char *contact = adm_arg(x, "CONTACT");
	struct cat_account a;
	struct err e;
	int r;

	memset(&a, 0, sizeof(a));
	err_clear(&e);
	a.kind = kind;
	if ((r = adm_name(x, kind == CAT_KIND_NODE ? "node name" :
	    "administrator name", adm_pos(x, 0), a.name)) != 0)
		return r;
	if (kind == CAT_KIND_NODE) {
		if ((r = adm_name(x, "domain name", dom != NULL ? dom :
		    "STANDARD", a.domain)) != 0 ||
		    (r = check_domain(x, a.domain)) != 0)
			return r;
		if (contact != NULL && (r = check_contact(x, contact,
		    a.contact, sizeof(a.contact))) != 0)
			return r;
	}
	if ((r = hash_password(x, adm_pos(x, 1), a.pwhash,
	    sizeof(a.pwhash))) != 0)
		return r;
	a.registered = x->now;
	r = cat_account_add(x->env->cat, &a, &e);
	passwd_wipe(a.pwhash, sizeof(a.pwhash));
	if (r == COFFER_EEXIST)
		return adm_error(x, r, "ANR2%dE %s: %s %s is already "
		    "registered.", kind == CAT_KIND_NODE ? 147 : 149,
		    x->cmd->title, kind_word(kind), a.name);
	if (r != 0)
		return adm_failed(x, &e);
	if (kind == CAT_KIND_NODE)
		return adm_msg(x->res, "ANR2060I Node %s registered in policy "
		    "domain %s.", a.name, a.domain);
	return adm_msg(x->res, "ANR2068I Administrator %s registered.",
	    a.name);
}

int
adm_register_node(struct adm_ctx *x)
{
	return register_account(x, CAT_KIND_NODE);
}

int
adm_register_admin(struct adm_ctx *x)
{
	return register_account(x, CAT_KIND_ADMIN);
}

/* ---- UPDATE ---- */

static const struct adm_kw kw_replstate[] = {
	{ "DISABLED", 1 }, { "ENABLED", 1 },	/* index = repl_state */
};
static const struct adm_kw kw_replmode[] = {	/* index = repl_mode */
	{ "SEND", 2 }, { "RECEIVE", 1 }, { "SYNCSEND", 5 },
	{ "SYNCRECEIVE", 5 },
};

/* Apply DOMAIN, CONTACT, RPO, REPLSTATE, REPLMODE of UPDATE NODE to a. */
static int
update_node_fields(struct adm_ctx *x, struct cat_account *a, int *changed)
{
	const char *v;
	int i, r;

	if ((v = adm_arg(x, "DOMAIN")) != NULL) {
		if ((r = adm_name(x, "domain name", v, a->domain)) != 0 ||
		    (r = check_domain(x, a->domain)) != 0)
			return r;
		(*changed)++;
	}
	if ((v = adm_arg(x, "CONTACT")) != NULL) {
		if ((r = check_contact(x, v, a->contact,
		    sizeof(a->contact))) != 0)
			return r;
		(*changed)++;
	}
	if ((v = adm_arg(x, "RPO")) != NULL) {
		if (adm_parse_duration(v, &a->rpo_s) != 0)
			return adm_bad_value(x, "RPO", v, "a duration such as "
			    "24h, 90m, 2d or NONE");
		(*changed)++;
	}
	if ((v = adm_arg(x, "REPLSTATE")) != NULL) {
		if ((i = adm_kw_find(kw_replstate, NELEM(kw_replstate),
		    sizeof(kw_replstate[0]), v, NULL, 0)) < 0)
			return adm_bad_value(x, "REPLSTATE", v, "ENABLED or "
			    "DISABLED");
		a->repl_state = i;
		(*changed)++;
	}
	if ((v = adm_arg(x, "REPLMODE")) != NULL) {
		if ((i = adm_kw_find(kw_replmode, NELEM(kw_replmode),
		    sizeof(kw_replmode[0]), v, NULL, 0)) < 0)
			return adm_bad_value(x, "REPLMODE", v, "SEND, RECEIVE, "
			    "SYNCSEND or SYNCRECEIVE");
		a->repl_mode = i;
		(*changed)++;
	}
	return 0;
}

/*
 * UPDATE NODE/ADMIN: read, change, write back.  A logon between the read
 * and the write could have its failure count overwritten; an update is
 * rare and that count is advisory, so no transaction spans the two.
 */
static int
update_account(struct adm_ctx *x, int kind)
{
	const char *pw = adm_arg(x, "PASSWORD");
	struct cat_account a;
	char name[CAT_NAME_MAX + 1];
	struct err e;
	int changed = 0, r;

	err_clear(&e);
	if ((r = adm_name(x, kind == CAT_KIND_NODE ? "node name" :
	    "administrator name", adm_pos(x, 0), name)) != 0)
		return r;
	if (pw != NULL && adm_pos(x, 1) != NULL)
		return adm_bad(x, "the password is given twice (as a word and "
		    "as PASSWORD=)");
	if (pw == NULL)
		pw = adm_pos(x, 1);
	if ((r = get_account(x, kind, name, &a)) != 0)
		return r;
	if (kind == CAT_KIND_NODE &&
	    (r = update_node_fields(x, &a, &changed)) != 0)
		return r;
	if (pw == NULL && changed == 0)
		return adm_bad(x, "nothing to update; give %s",
		    kind == CAT_KIND_NODE ? "PASSword, DOmain, CONtact, RPO, "
		    "REPLState or REPLMode" : "a new password");
	/* Hashing is slow: only once everything else checked out. */
	if (pw != NULL && (r = hash_password(x, pw, a.pwhash,
	    sizeof(a.pwhash))) != 0)
		return r;
	r = cat_account_update(x->env->cat, &a, &e);
	passwd_wipe(a.pwhash, sizeof(a.pwhash));
	if (r != 0)
		return adm_failed(x, &e);
	if (kind == CAT_KIND_NODE)
		return adm_msg(x->res, "ANR2063I Node %s updated.", a.name);
	return adm_msg(x->res, "ANR2071I Administrator %s updated.", a.name);
}

int
adm_update_node(struct adm_ctx *x)
{
	return update_account(x, CAT_KIND_NODE);
}

int
adm_update_admin(struct adm_ctx *x)
{
	return update_account(x, CAT_KIND_ADMIN);
}

/* ---- REMOVE, LOCK, UNLOCK ---- */

static int
count_fs(void *arg, const struct cat_fs *fs)
{
	(void)fs;
	(*(uint64_t *)arg)++;
	return 0;
}

/* The administrator running the command cannot lock or remove itself. */
static int
not_self(struct adm_ctx *x, const char *name, const char *verb)
{
	char me[CAT_NAME_MAX + 1];

	if (x->env->admin == NULL ||
	    cat_name_normalize(x->env->admin, me, NULL) != 0 ||
	    strcmp(me, name) != 0)
		return 0;
	return adm_error(x, COFFER_EPERM, "ANR2137E %s: You cannot %s your "
	    "own administrator ID %s.", x->cmd->title, verb, name);
}

static int
remove_account(struct adm_ctx *x, int kind)
{
	struct cat_account a;
	char name[CAT_NAME_MAX + 1];
	uint64_t nfs = 0;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = adm_name(x, "name", adm_pos(x, 0), name)) != 0 ||
	    (kind == CAT_KIND_ADMIN &&
	    (r = not_self(x, name, "remove")) != 0) ||
	    (r = get_account(x, kind, name, &a)) != 0)
		return r;
	r = cat_account_remove(x->env->cat, kind, name, &e);
	if (r == COFFER_EBUSY && kind == CAT_KIND_NODE) {
		(void)cat_fs_list(x->env->cat, name, count_fs, &nfs, NULL);
		return adm_error(x, r, "ANR2152E %s: Inventory references "
		    "still exist for node %s: it has %llu file spaces.",
		    x->cmd->title, name, (unsigned long long)nfs);
	}
	if (r != 0)
		return adm_failed(x, &e);
	if (kind == CAT_KIND_NODE)
		return adm_msg(x->res, "ANR2061I Node %s removed from policy "
		    "domain %s.", name, a.domain);
	return adm_msg(x->res, "ANR2069I Administrator %s removed.", name);
}

int
adm_remove_node(struct adm_ctx *x)
{
	return remove_account(x, CAT_KIND_NODE);
}

int
adm_remove_admin(struct adm_ctx *x)
{
	return remove_account(x, CAT_KIND_ADMIN);
}

/* LOCK (lock 1) or UNLOCK (lock 0, which also forgets failed logons). */
static int
lock_account(struct adm_ctx *x, int kind, int lock)
{
	struct cat_account a;
	char name[CAT_NAME_MAX + 1];
	struct err e;
	int r;

	err_clear(&e);
	if ((r = adm_name(x, "name", adm_pos(x, 0), name)) != 0 ||
	    (kind == CAT_KIND_ADMIN && lock &&
	    (r = not_self(x, name, "lock")) != 0) ||
	    (r = get_account(x, kind, name, &a)) != 0)
		return r;
	a.locked = lock;
	if (!lock)
		a.failed = 0;
	if (cat_account_update(x->env->cat, &a, &e) != 0)
		return adm_failed(x, &e);
	if (kind == CAT_KIND_NODE)
		return adm_msg(x->res, "ANR%s Node %s %s.", lock ? "2066I" :
		    "2067I", name, lock ? "locked" : "unlocked");
	return adm_msg(x->res, "ANR%s Administrator %s %s.", lock ? "2076I" :
	    "2077I", name, lock ? "locked" : "unlocked");
}

int
adm_lock_node(struct adm_ctx *x)
{
	return lock_account(x, CAT_KIND_NODE, 1);
}

int
adm_unlock_node(struct adm_ctx *x)
{
	return lock_account(x, CAT_KIND_NODE, 0);
}

int
adm_lock_admin(struct adm_ctx *x)
{
	return lock_account(x, CAT_KIND_ADMIN, 1);
}

int
adm_unlock_admin(struct adm_ctx *x)
{
	return lock_account(x, CAT_KIND_ADMIN, 0);
}

/* ---- QUERY ---- */

struct acc_list {
	struct cat_account	*v;
	size_t			 n, cap;
	const char		*domain;	/* filter, or NULL */
	int			 full;
};

/* Collect first, then count filespaces: no catalog call inside a walk. */
static int
acc_collect(void *arg, const struct cat_account *a)
{
	struct acc_list *l = arg;

	if (l->domain != NULL && strcmp(a->domain, l->domain) != 0)
		return 0;
	if (l->n == ADM_ROWS_MAX) {
		l->full = 1;
		return 1;
	}
	if (l->n == l->cap) {
		size_t const cap = l->cap ? l->cap * 2 : 16;
		struct cat_account *nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n] = *a;
	/* The hash is of no use here: do not keep it around. */
	memset(l->v[l->n].pwhash, 0, sizeof(l->v[l->n].pwhash));
	l->n++;
	return 0;
}

static const struct adm_kw kw_format[] = {
	{ "STANDARD", 1 }, { "DETAILED", 1 },
};

/* FORMAT=STANDARD|DETAILED into *detailed; reports a bad value. */
static int
get_format(struct adm_ctx *x, int *detailed)
{
	const char *v = adm_arg(x, "FORMAT");
	int i;

	*detailed = 0;
	if (v == NULL)
		return 0;
	if ((i = adm_kw_find(kw_format, NELEM(kw_format),
	    sizeof(kw_format[0]), v, NULL, 0)) < 0)
		return adm_bad_value(x, "FORMAT", v, "STANDARD or DETAILED");
	*detailed = i == 1;
	return 0;
}

static int
list_accounts(struct adm_ctx *x, int kind, struct acc_list *l)
{
	struct err e;
	int r;

	err_clear(&e);
	r = cat_account_list(x->env->cat, kind, adm_pos(x, 0), acc_collect, l,
	    &e);
	if (l->full) {
		/* acc_collect stopped the walk: report the cut. */
		x->res->truncated = 1;
		return 0;
	}
	if (r == COFFER_ENOMEM || r == 0)
		return r;
	if (r == COFFER_EINVAL)
		return adm_bad(x, "%s", e.msg);
	return adm_failed(x, &e);
}

static const char *const node_cols[] = {
	"node_name", "domain", "locked", "registered", "last_backup",
	"filespaces",
	/* FORMAT=DETAILED */
	"contact", "rpo", "failed_logons", "last_logon", "repl_state",
	"repl_mode", "last_replication",
	/* FORMAT=DETAILED: the RPO as of now (rpo.h) */
	"rpo_status", "rpo_met", "newest_copy_here", "newest_copy_here_age",
	"newest_copy_hotsite", "newest_copy_hotsite_age",
	"newest_copy_here_age_s", "newest_copy_hotsite_age_s",
};
#define NODE_COLS_STD	6

static int
node_row(struct adm_ctx *x, const struct cat_account *a)
{
	static const char *const modes[] = {
		"send", "receive", "syncsend", "syncreceive",
	};
	char reg[32], last[32], logon[32], nfs_s[24], rpo[32], failed[16];
	char repl[32], here[32], hot[32], here_age[24], hot_age[24];
	char here_s[24], hot_s[24];
	const char *v[NELEM(node_cols)];
	struct rpo_status st;
	uint64_t nfs = 0;
	struct err e;

	err_clear(&e);
	if (cat_fs_list(x->env->cat, a->name, count_fs, &nfs, &e) != 0 ||
	    rpo_node(x->env->cat, a, x->now, &st, &e) != 0)
		return adm_failed(x, &e);
	snprintf(failed, sizeof(failed), "%d", a->failed);
	v[0] = a->name;
	v[1] = a->domain;
	v[2] = a->locked ? "yes" : "no";
	v[3] = adm_fmt_time(a->registered, reg, sizeof(reg));
	v[4] = adm_fmt_time(a->last_backup, last, sizeof(last));
	v[5] = adm_fmt_u64(nfs, nfs_s, sizeof(nfs_s));
	v[6] = a->contact[0] != '\0' ? a->contact : NULL;
	v[7] = a->rpo_s > 0 ? adm_fmt_duration(a->rpo_s, rpo, sizeof(rpo)) :
	    NULL;
	v[8] = failed;
	v[9] = adm_fmt_time(a->last_logon, logon, sizeof(logon));
	v[10] = a->repl_state ? "enabled" : "disabled";
	v[11] = a->repl_mode >= 0 && a->repl_mode < 4 ? modes[a->repl_mode] :
	    NULL;
	v[12] = adm_fmt_time(a->last_repl, repl, sizeof(repl));
	v[13] = rpo_state_name(st.state);
	v[14] = st.state == RPO_NONE ? NULL : st.state == RPO_MET ? "yes" :
	    "no";
	v[15] = adm_fmt_time(st.local_copy, here, sizeof(here));
	v[16] = st.local_age < 0 ? NULL : rpo_fmt_age(st.local_age, here_age,
	    sizeof(here_age));
	/* Null when the node is not replicated or nothing got there yet. */
	v[17] = adm_fmt_time(st.hot_copy, hot, sizeof(hot));
	v[18] = st.hot_age < 0 ? NULL : rpo_fmt_age(st.hot_age, hot_age,
	    sizeof(hot_age));
	/* The same ages in seconds, for scripts and monitoring. */
	v[19] = st.local_age < 0 ? NULL : adm_fmt_u64((uint64_t)st.local_age,
	    here_s, sizeof(here_s));
	v[20] = st.hot_age < 0 ? NULL : adm_fmt_u64((uint64_t)st.hot_age,
	    hot_s, sizeof(hot_s));
	/* FORMAT=STANDARD has fewer columns: the row is read up to them. */
	return adm_query_row(x, v);
}

int
adm_query_node(struct adm_ctx *x)
{
	const char *dom = adm_arg(x, "DOMAIN");
	struct acc_list l;
	char dname[CAT_NAME_MAX + 1];
	int detailed, r;
	size_t i;

	memset(&l, 0, sizeof(l));
	if ((r = get_format(x, &detailed)) != 0)
		return r;
	if (dom != NULL) {
		if ((r = adm_name(x, "domain name", dom, dname)) != 0)
			return r;
		l.domain = dname;
	}
	if ((r = adm_query_cols(x, detailed ? NELEM(node_cols) :
	    NODE_COLS_STD, node_cols)) != 0 ||
	    (r = list_accounts(x, CAT_KIND_NODE, &l)) != 0)
		goto out;
	for (i = 0; i < l.n; i++)
		if ((r = node_row(x, &l.v[i])) != 0)
			break;
	if (r >= 0)
		r = adm_rows_done(x);
out:
	free(l.v);
	return r;
}

int
adm_query_admin(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"admin_name", "locked", "registered", "last_logon",
		"failed_logons",
	};
	char reg[32], logon[32], failed[16];
	const char *v[NELEM(cols)];
	struct acc_list l;
	int detailed, r;
	size_t i;

	memset(&l, 0, sizeof(l));
	if ((r = get_format(x, &detailed)) != 0)
		return r;
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0 ||
	    (r = list_accounts(x, CAT_KIND_ADMIN, &l)) != 0)
		goto out;
	for (i = 0; i < l.n && r == 0; i++) {
		snprintf(failed, sizeof(failed), "%d", l.v[i].failed);
		v[0] = l.v[i].name;
		v[1] = l.v[i].locked ? "yes" : "no";
		v[2] = adm_fmt_time(l.v[i].registered, reg, sizeof(reg));
		v[3] = adm_fmt_time(l.v[i].last_logon, logon, sizeof(logon));
		v[4] = failed;
		r = adm_query_row(x, v);
	}
	if (r >= 0)
		r = adm_rows_done(x);
out:
	free(l.v);
	return r;
}
