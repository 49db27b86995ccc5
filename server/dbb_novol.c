/*
 * dbb_novol.c - dbb_backup and dbb_restore for a tree without the volume
 * layer (storage-pools/vol*.c, built in its own branch): they say so.
 * configure picks this file only when no vol_writer_open is defined;
 * once the volume layer is merged, dbb_vol.c is built instead and this
 * file goes.
 */
#include "config.h"

#include <string.h>

#include "dbb.h"
#include "err.h"

int
dbb_backup(const struct dbb_backup_params *p, struct dbb_backup_result *res,
    struct err *e)
{
	(void)p;
	memset(res, 0, sizeof(*res));
	return err_set(e, COFFER_EVERSION, "this build has no sequential "
	    "volumes (storage-pools/vol)");
}

int
dbb_restore(const char *dir, const char *dcdir, const char *const *vols,
    size_t n, struct dbb_restore_result *res, struct err *e)
{
	(void)dir;
	(void)dcdir;
	(void)vols;
	(void)n;
	memset(res, 0, sizeof(*res));
	return err_set(e, COFFER_EVERSION, "this build has no sequential "
	    "volumes (storage-pools/vol)");
}
