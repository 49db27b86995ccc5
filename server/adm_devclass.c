/*
 * adm_devclass.c - device classes: DEFINE, UPDATE, QUERY and DELETE
 * DEVCLASS.
 *
 *   DEFine DEVclass name DEVType=FILE DIRectory=dir [MAXCAPacity=size]
 *   UPDate DEVclass name [DIRectory=dir] [MAXCAPacity=size]
 *   Query DEVclass [name]
 *   DELete DEVclass name
 *
 * A FILE device class is a directory where volumes are files of at most
 * MAXCAPACITY bytes (K, M, G, T: powers of 1024; TSM's default 2G).  The
 * directory is checked when the class is defined or changed: it must be
 * an absolute path to a directory the server can write, so that a typo
 * shows now and not in the night's database backup.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define DC_MAXCAP_DEFAULT	(2ULL << 30)	/* TSM's 2G */
#define DC_MAXCAP_MIN		(1ULL << 20)	/* vol.h: >= 1 MiB */

/* DIRECTORY: absolute, an existing directory the server may write. */
static int
check_directory(struct adm_ctx *x, const char *v, char *out, size_t len)
{
	struct stat sb;

	if (v[0] != '/')
		return adm_bad(x, "DIRECTORY '%.200s' is not an absolute path",
		    v);
	if (strlen(v) >= len)
		return adm_bad(x, "DIRECTORY is longer than %zu characters",
		    len - 1);
	if (stat(v, &sb) != 0)
		return adm_bad(x, "DIRECTORY %.200s cannot be used: %s", v,
		    strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return adm_bad(x, "DIRECTORY %.200s is not a directory", v);
	if (access(v, W_OK | X_OK) != 0)
		return adm_bad(x, "DIRECTORY %.200s is not writable by the "
		    "server: %s", v, strerror(errno));
	snprintf(out, len, "%s", v);
	return 0;
}

/* DEVTYPE, DIRECTORY, MAXCAPACITY into d. */
static int
apply_params(struct adm_ctx *x, struct cat_devclass *d)
{
	const char *v;
	uint64_t cap;
	int r;

	if ((v = adm_arg(x, "DEVTYPE")) != NULL) {
		if (strcasecmp(v, "FILE") != 0)
			return adm_bad_value(x, "DEVTYPE", v, "FILE (the only "
			    "device type of this server)");
		snprintf(d->devtype, sizeof(d->devtype), "FILE");
	}
	if ((v = adm_arg(x, "DIRECTORY")) != NULL &&
	    (r = check_directory(x, v, d->directory,
	    sizeof(d->directory))) != 0)
		return r;
	if ((v = adm_arg(x, "MAXCAPACITY")) != NULL) {
		if (adm_parse_size(v, &cap) != 0 || cap < DC_MAXCAP_MIN)
			return adm_bad_value(x, "MAXCAPACITY", v, "a size of "
			    "at least 1M (digits with K, M, G or T)");
		d->maxcap = cap;
	}
	return 0;
}

/* Fetch a class; reports "not defined" or the catalog's error. */
static int
get_devclass(struct adm_ctx *x, const char *name, struct cat_devclass *d)
{
	struct err e;
	int r;

	err_clear(&e);
	if ((r = cat_devclass_get(x->env->cat, name, d, &e)) == 0)
		return 0;
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2202E %s: Device class %s is not "
		    "defined.", x->cmd->title, name);
	return adm_failed(x, &e);
}

int
adm_define_devclass(struct adm_ctx *x)
{
	struct cat_devclass d;
	struct err e;
	int r;

	memset(&d, 0, sizeof(d));
	err_clear(&e);
	if ((r = adm_name(x, "device class name", adm_pos(x, 0), d.name)) != 0)
		return r;
	if (adm_arg(x, "DEVTYPE") == NULL || adm_arg(x, "DIRECTORY") == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2020E %s: Missing "
		    "parameter: DEVType=FILE and DIRectory are required.",
		    x->cmd->title);
	d.maxcap = DC_MAXCAP_DEFAULT;
	if ((r = apply_params(x, &d)) != 0)
		return r;
	d.defined = x->now;
	if ((r = cat_devclass_add(x->env->cat, &d, &e)) == COFFER_EEXIST)
		return adm_error(x, r, "ANR2201E %s: Device class %s is "
		    "already defined.", x->cmd->title, d.name);
	if (r != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2203I Device class %s defined: FILE "
	    "volumes of at most %" PRIu64 " bytes in %s.", d.name, d.maxcap,
	    d.directory);
}

int
adm_update_devclass(struct adm_ctx *x)
{
	char name[CAT_NAME_MAX + 1];
	struct cat_devclass d;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = adm_name(x, "device class name", adm_pos(x, 0), name)) != 0 ||
	    (r = get_devclass(x, name, &d)) != 0)
		return r;
	if (adm_arg(x, "DEVTYPE") == NULL && adm_arg(x, "DIRECTORY") == NULL &&
	    adm_arg(x, "MAXCAPACITY") == NULL)
		return adm_bad(x, "nothing to update: give DIRectory= or "
		    "MAXCAPacity=");
	if ((r = apply_params(x, &d)) != 0)
		return r;
	if ((r = cat_devclass_update(x->env->cat, &d, &e)) != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2205I Device class %s updated.", d.name);
}

int
adm_delete_devclass(struct adm_ctx *x)
{
	char name[CAT_NAME_MAX + 1];
	uint64_t used = 0;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = adm_name(x, "device class name", adm_pos(x, 0), name)) != 0)
		return r;
	r = cat_devclass_delete(x->env->cat, name, &e);
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2202E %s: Device class %s is not "
		    "defined.", x->cmd->title, name);
	if (r == COFFER_EBUSY) {
		(void)cat_devclass_volumes(x->env->cat, name, &used, NULL);
		return adm_error(x, r, "ANR2220E %s: Device class %s is still "
		    "used by %" PRIu64 " volumes in the volume history.",
		    x->cmd->title, name, used);
	}
	if (r != 0)
		return adm_failed(x, &e);
	return adm_msg(x->res, "ANR2204I Device class %s deleted.", name);
}

/* ---- QUERY DEVCLASS ---- */

struct dc_list {
	int			 n, cap;
	struct cat_devclass	*v;
	const char		*pat;	/* upper-case pattern or NULL */
};

static int
dc_collect(void *arg, const struct cat_devclass *d)
{
	struct dc_list *l = arg;
	struct cat_devclass *nv;

	if (l->pat != NULL && !adm_wildmatch(l->pat, d->name, 1))
		return 0;
	if (l->n >= ADM_ROWS_MAX)
		return 1;
	if (l->n == l->cap) {
		int const cap = l->cap ? 2 * l->cap : 8;

		if ((nv = realloc(l->v, (size_t)cap * sizeof(*nv))) == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
	return 0;
}

/* One row; the volume count is a second catalog call, so not in the walk. */
static int
dc_row(struct adm_ctx *x, const struct cat_devclass *d)
{
	char cap[24], nvol[24];
	const char *v[5];
	uint64_t used = 0;
	struct err e;

	err_clear(&e);
	if (cat_devclass_volumes(x->env->cat, d->name, &used, &e) != 0)
		return adm_failed(x, &e);
	v[0] = d->name;
	v[1] = d->devtype;
	v[2] = d->directory;
	v[3] = adm_fmt_u64(d->maxcap, cap, sizeof(cap));
	v[4] = adm_fmt_u64(used, nvol, sizeof(nvol));
	return adm_query_row(x, v);
}

int
adm_query_devclass(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"devclass_name", "devtype", "directory", "maxcapacity",
		"volumes",
	};
	const char *name = adm_pos(x, 0);
	char up[2 * CAT_NAME_MAX + 1];
	struct dc_list l;
	struct err e;
	int r;

	memset(&l, 0, sizeof(l));
	err_clear(&e);
	if (name != NULL && strcmp(name, "*") != 0) {
		if (adm_upper(name, up, sizeof(up)) != 0)
			return adm_bad(x, "the device class pattern is longer "
			    "than %d characters", 2 * CAT_NAME_MAX);
		l.pat = up;
	}
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	r = cat_devclass_list(x->env->cat, dc_collect, &l, &e);
	if (r < 0 && r != COFFER_ENOMEM)
		r = adm_failed(x, &e);
	for (int i = 0; r >= 0 && i < l.n; i++) {
		if ((r = dc_row(x, &l.v[i])) == 1)
			r = 0;	/* full: adm_rows_done says so */
		if (x->res->truncated)
			break;
	}
	free(l.v);
	if (r < 0)
		return r;
	return adm_rows_done(x);
}
