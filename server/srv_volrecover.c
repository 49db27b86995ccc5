/*
 * srv_volrecover.c - start-up: the volumes of sets that never completed.
 *
 * An export (exp_export.c) and a DB backup (dbb_vol.c) put each volume
 * in the volume history before its file exists, and give the records
 * their set's UUID only once the set is closed; a failed run removes its
 * volumes and records itself.  A server killed during one leaves records
 * without a set UUID, with a file or without one (killed between the
 * record and the file).  At start-up no export or DB backup runs, so
 * such records are an abandoned set: the files and the records are
 * removed, so that the volume history, DRM media and the recovery plan
 * never offer an incomplete set and no volume file is left that nothing
 * knows of (tests/crash/crash.sh, kp_export and kp_dbb).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cat.h"
#include "err.h"
#include "srv.h"
#include "util.h"

struct abandoned {
	struct cat_volume	*v;
	size_t			 n;
};

static int
abandoned_row(void *arg, const struct cat_volume *v)
{
	struct abandoned *ab = arg;
	void *nv;

	if (!util_is_zero(v->set_uuid, sizeof(v->set_uuid)))
		return 0;
	if ((nv = realloc(ab->v, (ab->n + 1) * sizeof(*ab->v))) == NULL)
		return COFFER_ENOMEM;
	ab->v = nv;
	ab->v[ab->n++] = *v;
	return 0;
}

static const char *
what(const struct cat_volume *v)
{
	return v->kind == CAT_VOL_DBBACKUP ? "a database backup" :
	    "an export";
}

int
srv_volumes_recover(struct cat *c, struct err *e)
{
	struct abandoned ab;
	int r;

	memset(&ab, 0, sizeof(ab));
	if ((r = cat_volume_list(c, 0, abandoned_row, &ab, e)) != 0) {
		if (r == COFFER_ENOMEM)
			err_set(e, r, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ab.n && r == 0; i++) {
		const struct cat_volume *v = &ab.v[i];

		if (unlink(v->path) != 0 && errno != ENOENT)
			(void)cat_actlog(c, CAT_SEV_WARN, 696, NULL, "Volume "
			    "%s of %s that did not complete: %s: %s.",
			    v->name, what(v), v->path, strerror(errno));
		if ((r = cat_volume_delete(c, v->name, e)) == 0)
			(void)cat_actlog(c, CAT_SEV_WARN, 695, NULL, "Volume "
			    "%s of %s that did not complete (the server "
			    "stopped during it) was removed.", v->name,
			    what(v));
	}
out:
	free(ab.v);
	return r;
}
