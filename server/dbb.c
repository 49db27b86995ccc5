/*
 * dbb.c - database backup, the parts that need no volume: the online
 * snapshot, the header record, the volume history and device
 * configuration texts, and putting a restored catalog in place.
 *
 * Invariants:
 *  (1) The snapshot is copied in a single sqlite3_backup_step(-1), which
 *      holds one read transaction on the source for the whole copy: the
 *      file is the catalog as of one commit, never a mix.
 *  (2) A restored catalog replaces DIR/catalog.db only after it passed
 *      SQLite's integrity check and was fsynced; the old catalog's WAL and
 *      shared-memory files are removed first, because SQLite would replay
 *      that WAL onto the new file and corrupt it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cat.h"
#include "dbb.h"
#include "drm.h"
#include "err.h"
#include "util.h"

/* ---- the header record ---- */

size_t
dbb_header_encode(const struct dbb_header *h, uint8_t *buf)
{
	size_t const nlen = strnlen(h->server, CAT_NAME_MAX);

	memcpy(buf, DBB_MAGIC, 8);
	util_put_le32(buf + 8, h->format);
	util_put_le32(buf + 12, h->page_size);
	util_put_le64(buf + 16, h->db_bytes);
	util_put_le64(buf + 24, h->page_count);
	util_put_le64(buf + 32, (uint64_t)h->created);
	util_put_le16(buf + 40, (uint16_t)nlen);
	memcpy(buf + 42, h->server, nlen);
	return 42 + nlen;
}

int
dbb_header_decode(const uint8_t *p, size_t n, struct dbb_header *h,
    struct err *e)
{
	size_t nlen;

	memset(h, 0, sizeof(*h));
	if (n < 42 || memcmp(p, DBB_MAGIC, 8) != 0)
		return err_set(e, COFFER_ECORRUPT, "database backup header: "
		    "bad magic or %zu bytes are too few", n);
	h->format = util_get_le32(p + 8);
	if (h->format != DBB_FORMAT)
		return err_set(e, COFFER_EVERSION, "database backup header: "
		    "format %" PRIu32 " is not %d", h->format, DBB_FORMAT);
	h->page_size = util_get_le32(p + 12);
	h->db_bytes = util_get_le64(p + 16);
	h->page_count = util_get_le64(p + 24);
	h->created = (int64_t)util_get_le64(p + 32);
	nlen = util_get_le16(p + 40);
	if (nlen > CAT_NAME_MAX || 42 + nlen != n)
		return err_set(e, COFFER_ECORRUPT, "database backup header: "
		    "server name of %zu bytes in a record of %zu", nlen, n);
	memcpy(h->server, p + 42, nlen);
	h->server[nlen] = '\0';
	/* SQLite page sizes are powers of two from 512 to 65536. */
	if (h->page_size < 512 || h->page_size > 65536 ||
	    (h->page_size & (h->page_size - 1)) != 0 ||
	    h->db_bytes != h->page_count * h->page_size)
		return err_set(e, COFFER_ECORRUPT, "database backup header: "
		    "%" PRIu64 " pages of %" PRIu32 " bytes do not make %" PRIu64
		    " bytes", h->page_count, h->page_size, h->db_bytes);
	return 0;
}

/* ---- the snapshot ---- */

static int
pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* Copy src's main database into dst in one step (invariant (1)). */
static int
copy_all(sqlite3 *src, sqlite3 *dst, const char *path, struct err *e)
{
	sqlite3_backup *b;
	int rc;

	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL)
		return err_set(e, COFFER_EDB, "database backup to %s: %s",
		    path, sqlite3_errmsg(dst));
	/* BUSY/LOCKED: a writer holds the lock; wait as a reader would. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return err_set(e, rc == SQLITE_FULL ? COFFER_ENOSPC :
		    COFFER_EDB, "database backup to %s: %s", path,
		    sqlite3_errstr(rc));
	return 0;
}

int
dbb_snapshot(struct cat *c, const char *path, struct dbb_header *h,
    struct err *e)
{
	sqlite3 *dst = NULL;
	int64_t psize = 0, pages = 0;
	int r = COFFER_EINTERNAL;

	memset(h, 0, sizeof(*h));
	h->format = DBB_FORMAT;
	h->created = (int64_t)time(NULL);
	if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_EIO, "database backup to %s: open: %s",
		    path, dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	if ((r = copy_all(cat_db(c), dst, path, e)) != 0)
		goto out;
	if (pragma_int(dst, "PRAGMA page_size", &psize) != 0 ||
	    pragma_int(dst, "PRAGMA page_count", &pages) != 0) {
		r = err_set(e, COFFER_EDB, "database backup %s: page size: %s",
		    path, sqlite3_errmsg(dst));
		goto out;
	}
	h->page_size = (uint32_t)psize;
	h->page_count = (uint64_t)pages;
	h->db_bytes = (uint64_t)psize * (uint64_t)pages;
	r = 0;
out:
	sqlite3_close(dst);
	return r;
}

/* ---- volume history and device configuration ---- */

/* A growing text buffer, bounded by DBB_TEXT_MAX. */
struct text {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = COFFER_EINTERNAL;
			return;
		}
		if ((size_t)n < t->cap - t->len)
			break;
		if (t->cap * 2 > DBB_TEXT_MAX) {
			t->err = COFFER_ETOOBIG;
			return;
		}
		char *np = realloc(t->p, t->cap * 2);
		if (np == NULL) {
			t->err = COFFER_ENOMEM;
			return;
		}
		t->p = np;
		t->cap *= 2;
	}
	t->len += (size_t)n;
}

static int
text_init(struct text *t, struct err *e)
{
	memset(t, 0, sizeof(*t));
	t->cap = 4096;
	if ((t->p = malloc(t->cap)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	t->p[0] = '\0';
	return 0;
}

/* Hand the text over, or report why it failed. */
static int
text_done(struct text *t, const char *what, char **out, size_t *len,
    struct err *e)
{
	if (t->err != 0) {
		free(t->p);
		return err_set(e, t->err, "%s: %s", what, t->err ==
		    COFFER_ETOOBIG ? "longer than 16 MiB" : err_str(t->err));
	}
	*out = t->p;
	*len = t->len;
	return 0;
}

static const char *
stamp(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
	return buf;
}

static int
volhist_line(void *arg, const struct cat_volume *v)
{
	struct text *t = arg;
	char when[32];
	const uint8_t *u = v->set_uuid;

	/* A set still being written (or abandoned) is no volume to offer. */
	if (util_is_zero(u, 16))
		return 0;
	text_add(t, "%s\t%s\t%s\t%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x\t%" PRIu32 "\t%s\t%" PRIu64 "\t%s\t%s\t"
	    "%s\t%s\n", stamp(v->created, when, sizeof(when)),
	    v->kind == CAT_VOL_DBBACKUP ? "BACKUPFULL" : "EXPORT", v->name,
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
	    u[11], u[12], u[13], u[14], u[15], v->seq, v->devclass, v->bytes,
	    drm_state_name(v->state), v->location[0] ? v->location : "-",
	    v->node[0] ? v->node : "-", v->path);
	return t->err;
}

int
dbb_volhist_text(struct cat *c, const char *extra, char **out, size_t *len,
    struct err *e)
{
	struct text t;
	int r;

	if ((r = text_init(&t, e)) != 0)
		return r;
	text_add(&t, "# Coffer volume history (TSM VOLUMEHISTORY).  One volume "
	    "a line, tab-separated:\n# created type volume set seq devclass "
	    "bytes drm_state location node path\n");
	if ((r = cat_volume_list(c, 0, volhist_line, &t, e)) < 0 &&
	    t.err == 0) {
		free(t.p);
		return r;
	}
	if (extra != NULL)
		text_add(&t, "%s", extra);
	return text_done(&t, "volume history", out, len, e);
}

static int
devconfig_line(void *arg, const struct cat_devclass *d)
{
	struct text *t = arg;

	/* TSM's DEVCONFIG file holds the commands that redefine them. */
	text_add(t, "DEFINE DEVCLASS %s DEVTYPE=%s DIRECTORY=\"%s\" "
	    "MAXCAPACITY=%" PRIu64 "K\n", d->name, d->devtype, d->directory,
	    d->maxcap / 1024);
	return t->err;
}

int
dbb_devconfig_text(struct cat *c, char **out, size_t *len, struct err *e)
{
	struct text t;
	int r;

	if ((r = text_init(&t, e)) != 0)
		return r;
	text_add(&t, "/* Coffer device configuration (TSM DEVCONFIG) */\n");
	if ((r = cat_devclass_list(c, devconfig_line, &t, e)) < 0 &&
	    t.err == 0) {
		free(t.p);
		return r;
	}
	return text_done(&t, "device configuration", out, len, e);
}

int
dbb_write_files(struct cat *c, const char *dir, struct err *e)
{
	char path[PATH_MAX], *vh = NULL, *dc = NULL;
	size_t vhlen, dclen;
	int r;

	if ((r = dbb_volhist_text(c, NULL, &vh, &vhlen, e)) != 0 ||
	    (r = dbb_devconfig_text(c, &dc, &dclen, e)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", dir, DBB_VOLHIST_FILE);
	if ((r = util_write_atomic(path, vh, vhlen, 0600, e)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", dir, DBB_DEVCONFIG_FILE);
	r = util_write_atomic(path, dc, dclen, 0600, e);
out:
	free(vh);
	free(dc);
	return r;
}

/* ---- putting a restored catalog in place ---- */

/* SQLite's own check of every page and index of the file at path. */
static int
check_file(const char *path, struct err *e)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *res;
	int r = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)",
	    -1, &st, NULL) != SQLITE_OK) {
		r = err_set(e, COFFER_ECORRUPT, "restored catalog %s: %s",
		    path, db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (res = sqlite3_column_text(st, 0)) == NULL ||
	    strcmp((const char *)res, "ok") != 0)
		r = err_set(e, COFFER_ECORRUPT, "restored catalog %s fails "
		    "the integrity check: %s", path, sqlite3_column_text(st, 0)
		    != NULL ? (const char *)sqlite3_column_text(st, 0) :
		    sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

int
dbb_install_catalog(const char *dir, const char *tmp, struct err *e)
{
	char cat[PATH_MAX], side[PATH_MAX + 8];
	static const char *const sides[] = { "-wal", "-shm", "-journal" };
	int r;

	if ((r = check_file(tmp, e)) != 0 ||
	    (r = util_fsync_path(tmp, e)) != 0)
		return r;
	snprintf(cat, sizeof(cat), "%s/catalog.db", dir);
	/* invariant (2): the old WAL goes before the new file comes. */
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", cat, sides[i]);
		if (unlink(side) != 0 && errno != ENOENT)
			return err_sys(e, COFFER_EIO, "%s: unlink", side);
	}
	if (rename(tmp, cat) != 0)
		return err_sys(e, COFFER_EIO, "%s: rename to %s", tmp, cat);
	return util_fsync_dir(dir, e);
}
