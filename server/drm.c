/*
 * drm.c - DRM media states and the moves between them (see drm.h for the
 * diagram).  One table says it all: allowed[from] lists the targets,
 * the first being TOSTATE's default.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cat.h"
#include "drm.h"

struct drm_state {
	const char	*name;
	size_t		 min;		/* TSM's abbreviation */
	int		 to[4];		/* targets, -1 ended; to[0] default */
	const char	*location;	/* default location when moved here */
};

/*
 * Indexed by CAT_DRM_*.  Locations are TSM's defaults before SET
 * DRMNOTMOUNTABLENAME / DRMCOURIERNAME / DRMVAULTNAME: the state's name;
 * MOUNTABLE and ONSITERETRIEVE volumes are home, with no location.
 */
static const struct drm_state states[CAT_DRM_NSTATES] = {
	[CAT_DRM_MOUNTABLE] = { "MOUNTABLE", 2, { CAT_DRM_NOTMOUNTABLE,
	    CAT_DRM_COURIER, CAT_DRM_VAULT, -1 }, "" },
	[CAT_DRM_NOTMOUNTABLE] = { "NOTMOUNTABLE", 5, { CAT_DRM_COURIER,
	    CAT_DRM_VAULT, -1 }, "NOTMOUNTABLE" },
	[CAT_DRM_COURIER] = { "COURIER", 3, { CAT_DRM_VAULT, -1 },
	    "COURIER" },
	[CAT_DRM_VAULT] = { "VAULT", 2, { CAT_DRM_VAULTRETRIEVE, -1 },
	    "VAULT" },
	[CAT_DRM_VAULTRETRIEVE] = { "VAULTRETRIEVE", 6, {
	    CAT_DRM_COURIERRETRIEVE, CAT_DRM_ONSITERETRIEVE, -1 }, "VAULT" },
	[CAT_DRM_COURIERRETRIEVE] = { "COURIERRETRIEVE", 8, {
	    CAT_DRM_ONSITERETRIEVE, -1 }, "COURIER" },
	[CAT_DRM_ONSITERETRIEVE] = { "ONSITERETRIEVE", 7, {
	    CAT_DRM_MOUNTABLE, -1 }, "" },
};

static int
valid(int s)
{
	return s >= 0 && s < CAT_DRM_NSTATES;
}

const char *
drm_state_name(int state)
{
	return valid(state) ? states[state].name : "?";
}

/* 1 when word (any case) is an abbreviation of st's name. */
static int
abbreviates(const char *word, const struct drm_state *st)
{
	size_t const n = strlen(word);

	if (n < st->min || n > strlen(st->name))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (toupper((unsigned char)word[i]) != st->name[i])
			return 0;
	return 1;
}

int
drm_state_parse(const char *s)
{
	int found = -1;

	if (s == NULL)
		return -1;
	for (int i = 0; i < CAT_DRM_NSTATES; i++) {
		if (strcasecmp(s, states[i].name) == 0)
			return i;
		if (abbreviates(s, &states[i])) {
			if (found >= 0)
				return -1;
			found = i;
		}
	}
	return found;
}

int
drm_move_allowed(int from, int to)
{
	if (!valid(from) || !valid(to))
		return 0;
	for (int i = 0; states[from].to[i] >= 0; i++)
		if (states[from].to[i] == to)
			return 1;
	return 0;
}

int
drm_default_target(int from)
{
	return valid(from) ? states[from].to[0] : -1;
}

const char *
drm_targets(int from, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!valid(from))
		return buf;
	for (int i = 0; states[from].to[i] >= 0 && used < len; i++) {
		snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		    states[states[from].to[i]].name);
		used = strlen(buf);
	}
	return buf;
}

const char *
drm_default_location(int to)
{
	return valid(to) ? states[to].location : "";
}
