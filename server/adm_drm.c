/*
 * adm_drm.c - the volume history and offsite media: QUERY VOLHISTORY,
 * QUERY DRMEDIA and MOVE DRMEDIA.
 *
 *   Query VOLHistory [Type=All|EXPort|DBBackup]
 *   Query DRMedia [vol|*] [WHERESTate=state] [WHERELOcation=loc]
 *   MOVe DRMedia vol|* [WHERESTate=state] [TOSTate=state]
 *       [WHERELOcation=loc] [TOLOcation=loc] [Wait=Yes|No]
 *
 * Every export and database-backup volume is in the DRM media list (issue
 * 6 item 7; TSM lists DB backup and copy-pool volumes).  The moves are
 * drm.h's.  WHERESTATE defaults to MOUNTABLE for '*', as TSM's does, and
 * to the volume's own state for a named volume; TOSTATE defaults to the
 * next state.  A move that the state machine refuses is reported for each
 * volume with its state and where it could go, and nothing else of the
 * command is undone: the moves that were allowed are made.  TOLOCATION
 * replaces the location the target state would give (drm.h).
 *
 * MOVE DRMEDIA only changes catalog rows here (there is no library to
 * eject from), so it always runs in the foreground; WAIT= is accepted for
 * TSM scripts.  Each move is written to the activity log (ANR6683I) as a
 * message of the command.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm_int.h"
#include "cat.h"
#include "drm.h"
#include "err.h"
#include "proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The volumes a walk selected, copied out (no catalog call in a walk). */
struct vol_list {
	size_t			 n, cap;
	struct cat_volume	*v;
	const char		*pat;		/* volume pattern or NULL */
	int			 state;		/* -1: any */
	const char		*location;	/* NULL: any */
};

static int
vol_collect(void *arg, const struct cat_volume *v)
{
	struct vol_list *l = arg;
	struct cat_volume *nv;

	if ((l->pat != NULL && !adm_wildmatch(l->pat, v->name, 1)) ||
	    (l->state >= 0 && v->state != l->state) ||
	    (l->location != NULL && !adm_wildmatch(l->location, v->location,
	    1)))
		return 0;
	if (l->n >= ADM_ROWS_MAX)
		return 1;
	if (l->n == l->cap) {
		size_t const cap = l->cap ? 2 * l->cap : 16;

		if ((nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return COFFER_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *v;
	return 0;
}

/* Walk kind's volumes into l; reports a catalog error. */
static int
vol_select(struct adm_ctx *x, int kind, struct vol_list *l)
{
	struct err e;
	int r;

	err_clear(&e);
	r = cat_volume_list(x->env->cat, kind, vol_collect, l, &e);
	if (r < 0 && r != COFFER_ENOMEM)
		return adm_failed(x, &e);
	return r < 0 ? r : 0;
}

/* 8-4-4-4-12 hex of a set UUID. */
static const char *
fmt_uuid(const uint8_t u[16], char *buf, size_t len)
{
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return buf;
}

/* TSM's volume history types and DRM media types. */
static const char *
volhist_type(int kind)
{
	return kind == CAT_VOL_DBBACKUP ? "BACKUPFULL" : "EXPORT";
}

static const char *
media_type(int kind)
{
	return kind == CAT_VOL_DBBACKUP ? "DBBACKUP" : "EXPORT";
}

/* ---- QUERY VOLHISTORY ---- */

static int
volhist_kind(struct adm_ctx *x, int *kind)
{
	static const struct adm_kw types[] = {
		{ "ALL", 1 }, { "EXPORT", 3 }, { "DBBACKUP", 3 },
	};
	const char *t = adm_arg(x, "TYPE");
	int i;

	*kind = 0;
	if (t == NULL)
		return 0;
	i = adm_kw_find(types, NELEM(types), sizeof(types[0]), t, NULL, 0);
	if (i < 0)
		return adm_bad_value(x, "TYPE", t, "ALL, EXPort or DBBackup");
	*kind = i == 1 ? CAT_VOL_EXPORT : i == 2 ? CAT_VOL_DBBACKUP : 0;
	return 0;
}

static int
volhist_row(struct adm_ctx *x, const struct cat_volume *v)
{
	char set[40], seq[16], when[32], bytes[24];
	const char *vals[8];

	snprintf(seq, sizeof(seq), "%" PRIu32, v->seq);
	vals[0] = v->name;
	vals[1] = volhist_type(v->kind);
	vals[2] = v->devclass;
	vals[3] = fmt_uuid(v->set_uuid, set, sizeof(set));
	vals[4] = seq;
	vals[5] = adm_fmt_time(v->created, when, sizeof(when));
	vals[6] = adm_fmt_u64(v->bytes, bytes, sizeof(bytes));
	vals[7] = v->node[0] != '\0' ? v->node : NULL;
	return adm_query_row(x, vals);
}

int
adm_query_volhistory(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"volume_name", "type", "devclass", "set", "seq", "created",
		"bytes", "node",
	};
	struct vol_list l;
	int kind, r;

	memset(&l, 0, sizeof(l));
	l.state = -1;
	if ((r = volhist_kind(x, &kind)) != 0 ||
	    (r = adm_query_cols(x, NELEM(cols), cols)) != 0 ||
	    (r = vol_select(x, kind, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n && r == 0; i++)
		r = volhist_row(x, &l.v[i]);
	if (r >= 0)
		r = adm_rows_done(x);
out:
	free(l.v);
	return r;
}

/* ---- selecting DRM media ---- */

/* Positional volume name or pattern into l (NULL or '*': all). */
static int
media_filter(struct adm_ctx *x, struct vol_list *l, char *pat, size_t len)
{
	const char *vol = adm_pos(x, 0);
	const char *loc = adm_arg(x, "WHERELOCATION");

	l->state = -1;
	if (vol != NULL && strcmp(vol, "*") != 0) {
		if (strlen(vol) >= len)
			return adm_bad(x, "volume name '%.64s...' is longer "
			    "than %zu characters", vol, len - 1);
		snprintf(pat, len, "%s", vol);
		l->pat = pat;
	}
	l->location = loc;
	return 0;
}

/* A state parameter into *out (-1 when not given). */
static int
state_arg(struct adm_ctx *x, const char *name, int *out)
{
	const char *v = adm_arg(x, name);

	*out = -1;
	if (v == NULL)
		return 0;
	if ((*out = drm_state_parse(v)) < 0)
		return adm_bad_value(x, name, v, "one of MOuntable, "
		    "NOTMOuntable, COUrier, VAult, VAULTRetrieve, "
		    "COURIERRetrieve, ONSITERetrieve");
	return 0;
}

/* ---- QUERY DRMEDIA ---- */

static int
media_row(struct adm_ctx *x, const struct cat_volume *v)
{
	char when[32];
	const char *vals[5];

	vals[0] = v->name;
	vals[1] = drm_state_name(v->state);
	vals[2] = v->location[0] != '\0' ? v->location : NULL;
	vals[3] = adm_fmt_time(v->state_changed, when, sizeof(when));
	vals[4] = media_type(v->kind);
	return adm_query_row(x, vals);
}

int
adm_query_drmedia(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"volume_name", "state", "location", "last_update", "type",
	};
	char pat[sizeof(((struct cat_volume *)0)->name)];
	struct vol_list l;
	int r;

	memset(&l, 0, sizeof(l));
	if ((r = media_filter(x, &l, pat, sizeof(pat))) != 0 ||
	    (r = state_arg(x, "WHERESTATE", &l.state)) != 0 ||
	    (r = adm_query_cols(x, NELEM(cols), cols)) != 0 ||
	    (r = vol_select(x, 0, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n && r == 0; i++)
		r = media_row(x, &l.v[i]);
	if (r >= 0)
		r = adm_rows_done(x);
out:
	free(l.v);
	return r;
}

/* ---- MOVE DRMEDIA ---- */

struct move {
	int		 where;		/* WHERESTATE, -1: the volume's */
	int		 to;		/* TOSTATE, -1: the default */
	const char	*tolocation;	/* NULL: the state's default */
	size_t		 moved, refused;
};

/* Move one volume, or report why it cannot move. */
static int
move_one(struct adm_ctx *x, struct move *m, struct cat_volume *v)
{
	int const from = v->state;
	int const to = m->to >= 0 ? m->to : drm_default_target(from);
	const char *loc;
	char targets[128];
	struct err e;

	err_clear(&e);
	if (!drm_move_allowed(from, to)) {
		m->refused++;
		return adm_error(x, 0, "ANR6700E %s: Volume %s is in state %s "
		    "and cannot move to %s; from %s it can move to %s.",
		    x->cmd->title, v->name, drm_state_name(from),
		    drm_state_name(to), drm_state_name(from),
		    drm_targets(from, targets, sizeof(targets)));
	}
	loc = m->tolocation != NULL ? m->tolocation :
	    drm_default_location(to);
	v->state = to;
	v->state_changed = x->now;
	snprintf(v->location, sizeof(v->location), "%s", loc);
	if (cat_volume_update(x->env->cat, v, &e) != 0)
		return adm_failed(x, &e);
	m->moved++;
	return adm_msg(x->res, "ANR6683I %s: Volume %s was moved from %s "
	    "state to %s%s%s.", x->cmd->title, v->name, drm_state_name(from),
	    drm_state_name(to), loc[0] != '\0' ? " at location " : "", loc);
}

/* WHERESTATE, TOSTATE, TOLOCATION and WAIT into m; 0 or reported. */
static int
move_params(struct adm_ctx *x, struct move *m)
{
	const char *loc = adm_arg(x, "TOLOCATION");
	const char *w = adm_arg(x, "WAIT");
	int wait, r;

	memset(m, 0, sizeof(*m));
	if ((r = state_arg(x, "WHERESTATE", &m->where)) != 0 ||
	    (r = state_arg(x, "TOSTATE", &m->to)) != 0)
		return r;
	if (w != NULL && adm_parse_yesno(w, &wait) != 0)
		return adm_bad_value(x, "WAIT", w, "YES or NO");
	if (loc != NULL && strlen(loc) >= sizeof(((struct cat_volume *)0)->
	    location))
		return adm_bad(x, "TOLOCATION is longer than 255 characters");
	m->tolocation = loc;
	/* '*' takes TSM's default; a named volume its own state. */
	if (m->where < 0 && (adm_pos(x, 0) == NULL ||
	    strcmp(adm_pos(x, 0), "*") == 0))
		m->where = CAT_DRM_MOUNTABLE;
	return 0;
}

/* The moves of the selected volumes, in one transaction. */
static int
move_all(struct adm_ctx *x, struct move *m, struct vol_list *l)
{
	struct err e;
	int r = 0;

	err_clear(&e);
	if (cat_begin(x->env->cat, &e) != 0)
		return adm_failed(x, &e);
	for (size_t i = 0; i < l->n && r == 0; i++)
		r = move_one(x, m, &l->v[i]);
	if (r == 0 && cat_commit(x->env->cat, &e) != 0)
		r = adm_failed(x, &e);
	if (r != 0) {
		cat_rollback(x->env->cat);
		m->moved = 0;
	}
	return r;
}

int
adm_move_drmedia(struct adm_ctx *x)
{
	char pat[sizeof(((struct cat_volume *)0)->name)];
	struct vol_list l;
	struct move m;
	int r;

	memset(&l, 0, sizeof(l));
	if ((r = move_params(x, &m)) != 0 ||
	    (r = media_filter(x, &l, pat, sizeof(pat))) != 0)
		goto out;
	l.state = m.where;
	if ((r = vol_select(x, 0, &l)) != 0)
		goto out;
	if (l.n == 0) {
		r = adm_error(x, COFFER_ENOTFOUND, "ANR6695E %s: No volume "
		    "%s%s%s found.", x->cmd->title, l.pat != NULL ? l.pat :
		    "*", m.where >= 0 ? " in state " : "", m.where >= 0 ?
		    drm_state_name(m.where) : "");
		goto out;
	}
	if ((r = move_all(x, &m, &l)) != 0)
		goto out;
	r = adm_msg(x->res, "ANR6682I %s command ended: %zu volumes moved, "
	    "%zu refused.", x->cmd->title, m.moved, m.refused);
out:
	free(l.v);
	return r;
}
