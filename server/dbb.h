/*
 * dbb.h - database backup (TSM: BACKUP DB TYPE=FULL) and its restore
 * (TSM: DSMSERV RESTORE DB; here cofferd restore-db).
 *
 * A backup is an online snapshot of the whole catalog file, taken with
 * SQLite's online backup API in one step (so under one read transaction:
 * consistent, and backups go on meanwhile), written as a record stream
 * through vol_writer (vol.h, kind VOL_KIND_DBBACKUP) to the volumes of a
 * FILE device class.  The records (types pinned; integers little-endian):
 *
 *   1 HEADER     "COFFERDB" (8), u32 format (1), u32 page size,
 *                u64 snapshot bytes, u64 page count, i64 backup time
 *                (unix seconds), u16 server-name length, the name
 *   2 DATA       the snapshot's next bytes (DBB_DATA_MAX at most), in
 *                order; their total is the header's snapshot bytes
 *   3 VOLHIST    the volume history as text (the format of volhist.txt)
 *   4 DEVCONFIG  the device configuration as text (devconfig.txt)
 *
 * in that order: one header, the data, then one of each text record.
 * After a backup the volumes are registered in the catalog (kind
 * CAT_VOL_DBBACKUP, state MOUNTABLE) and DIR/volhist.txt and
 * DIR/devconfig.txt are rewritten (TSM's VOLUMEHISTORY and DEVCONFIG
 * files): a recovery with no catalog reads them to find the volumes.
 *
 * Restore reads a set back, checks the records' order and sizes (the
 * volume layer checks blocks, labels and the set's digest), checks the
 * result with SQLite's integrity check, and puts it in place as
 * DIR/catalog.db atomically (temp, fsync, rename, fsync of DIR) after
 * removing the old catalog's WAL, which must never be replayed onto
 * another database.  The caller holds DIR's lock (srv_lock), so no server
 * runs on the catalog being replaced.
 */
#ifndef COFFER_DBB_H
#define COFFER_DBB_H

#include <stddef.h>
#include <stdint.h>

#include "cat.h"

struct err;

#define DBB_REC_HEADER		1
#define DBB_REC_DATA		2
#define DBB_REC_VOLHIST		3
#define DBB_REC_DEVCONFIG	4
#define DBB_MAGIC		"COFFERDB"
#define DBB_FORMAT		1
#define DBB_DATA_MAX		(1u << 20)	/* bytes per DATA record */
#define DBB_TEXT_MAX		(16u << 20)	/* bytes of a text record */
#define DBB_HEADER_MAX		(40 + CAT_NAME_MAX)
#define DBB_VOLHIST_FILE	"volhist.txt"
#define DBB_DEVCONFIG_FILE	"devconfig.txt"

/* ---- dbb.c: the parts that need no volume ---- */

struct dbb_header {
	uint32_t	format;
	uint32_t	page_size;
	uint64_t	db_bytes;
	uint64_t	page_count;
	int64_t		created;
	char		server[CAT_NAME_MAX + 1];
};
/* Encode h into buf (DBB_HEADER_MAX bytes); returns the length. */
size_t dbb_header_encode(const struct dbb_header *h, uint8_t *buf);
/* Decode and check a HEADER record; COFFER_ECORRUPT/EVERSION. */
int dbb_header_decode(const uint8_t *p, size_t n, struct dbb_header *h,
    struct err *e);

/*
 * Snapshot the database of c into a new file path (must not exist) with
 * the online backup API; h gets page size, count, bytes and the time.
 */
int dbb_snapshot(struct cat *c, const char *path, struct dbb_header *h,
    struct err *e);

/*
 * The volume history and device configuration as text, from c; extra
 * (may be NULL) is appended to the history (the set being written, which
 * the catalog does not hold yet).  *out is malloc'd, NUL-terminated.
 */
int dbb_volhist_text(struct cat *c, const char *extra, char **out,
    size_t *len, struct err *e);
int dbb_devconfig_text(struct cat *c, char **out, size_t *len,
    struct err *e);
/* Rewrite DIR/volhist.txt and DIR/devconfig.txt from c, atomically. */
int dbb_write_files(struct cat *c, const char *dir, struct err *e);

/*
 * Check the SQLite file tmp (integrity_check) and make it dir's catalog:
 * fsync it, remove DIR/catalog.db-wal and -shm, rename it to
 * DIR/catalog.db, fsync DIR.  tmp must be in dir.
 */
int dbb_install_catalog(const char *dir, const char *tmp, struct err *e);

/* ---- dbb_vol.c: through the volume layer ---- */

struct dbb_backup_params {
	struct cat	*cat;		/* the process's own connection */
	const char	*dir;		/* the instance: temp, text files */
	const char	*server;	/* this server's name */
	const char	*devclass;	/* where the volumes go */
};

#define DBB_VOLUMES_MAX		8192	/* the paths, comma-separated */

struct dbb_backup_result {
	uint64_t	db_bytes;	/* the snapshot */
	uint64_t	bytes;		/* on the volumes */
	uint32_t	nvols;
	uint8_t		set_uuid[16];
	char		volumes[DBB_VOLUMES_MAX];	/* "p1,p2" (cut when
							   too long: nvols
							   tells) */
};

/*
 * BACKUP DB TYPE=FULL to p->devclass; registers the volumes and writes
 * the text files.  A failed backup removes its volumes.
 */
/*
 * Start-up: remove the snapshot files (DIR/dbbackup.PID.tmp) of DB
 * backups that a dead server left behind.
 */
void dbb_clean(const char *dir);
int dbb_backup(const struct dbb_backup_params *p,
    struct dbb_backup_result *res, struct err *e);

struct dbb_restore_result {
	struct dbb_header	hdr;
	uint32_t		nvols;
};

/*
 * Restore DIR/catalog.db from the n volumes vols (paths, or names looked
 * up in dcdir), in their set's order; also rewrites DIR/volhist.txt and
 * DIR/devconfig.txt from the set.  The caller holds DIR's lock.
 */
int dbb_restore(const char *dir, const char *dcdir, const char *const *vols,
    size_t n, struct dbb_restore_result *res, struct err *e);

#endif
