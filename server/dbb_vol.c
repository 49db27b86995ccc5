/*
 * dbb_vol.c - BACKUP DB and restore-db through the volume layer (vol.h):
 * the snapshot file becomes a record stream on a FILE device class, and
 * back.  The record layout is dbb.h's.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cat.h"
#include "dbb.h"
#include "err.h"
#include "fault.h"
#include "util.h"
#include "vol.h"

/* ---- backup ---- */

/* The volumes the writer started, for the history and the catalog. */
struct new_vol {
	char		serial[VOL_NAME_MAX + 1];
	char		path[PATH_MAX];
	uint32_t	seq;
};

struct bk {
	const struct dbb_backup_params	*p;
	struct cat_devclass		 dc;
	struct new_vol			*vols;
	size_t				 n, cap;
	uint8_t				*buf;		/* DBB_DATA_MAX */
};

/*
 * Every volume is on record before its file exists, without a set UUID
 * until the set is complete (register_set): a server killed during the
 * backup leaves records that start-up removes with their files
 * (srv_volumes_recover), never a volume file nothing knows of.
 */
static int
on_new_volume(void *arg, const char *path, const char *serial, uint32_t seq,
    struct err *e)
{
	struct bk *b = arg;
	struct cat_volume v;
	struct new_vol *nv;
	int r;

	if (b->n == b->cap) {
		size_t const cap = b->cap ? 2 * b->cap : 8;

		if ((nv = realloc(b->vols, cap * sizeof(*nv))) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		b->vols = nv;
		b->cap = cap;
	}
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", serial);
	snprintf(v.path, sizeof(v.path), "%s", path);
	snprintf(v.devclass, sizeof(v.devclass), "%s", b->dc.name);
	v.kind = CAT_VOL_DBBACKUP;
	v.seq = seq;
	v.state = CAT_DRM_MOUNTABLE;
	v.created = v.state_changed = time(NULL);
	/* EEXIST (another directory's volume): the writer takes the next. */
	if ((r = cat_volume_add(b->p->cat, &v, e)) != 0)
		return r;
	nv = &b->vols[b->n++];
	snprintf(nv->serial, sizeof(nv->serial), "%s", serial);
	snprintf(nv->path, sizeof(nv->path), "%s", path);
	nv->seq = seq;
	return 0;
}

/* A serial registered, its file not made: forget it again. */
static void
on_drop_volume(void *arg, const char *serial)
{
	struct bk *b = arg;

	if (b->n > 0 && strcmp(b->vols[b->n - 1].serial, serial) == 0)
		b->n--;
	(void)cat_volume_delete(b->p->cat, serial, NULL);
}

/* A set that failed: its records go (the writer removed the files). */
static void
forget_set(struct bk *b)
{
	for (size_t i = 0; i < b->n; i++)
		(void)cat_volume_delete(b->p->cat, b->vols[i].serial, NULL);
	b->n = 0;
}

/* The snapshot's bytes as DATA records. */
static int
write_data(struct bk *b, struct vol_writer *w, const char *snap,
    const struct dbb_header *h, struct err *e)
{
	uint64_t left = h->db_bytes;
	size_t got;
	int fd, r = 0;

	if ((fd = open(snap, O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, COFFER_EIO, "%s: open", snap);
	while (left > 0 && r == 0) {
		size_t const want = left < DBB_DATA_MAX ? (size_t)left :
		    DBB_DATA_MAX;

		if ((r = util_read_full(fd, b->buf, want, &got, snap, e)) != 0)
			break;
		if (got != want) {
			r = err_set(e, COFFER_EIO, "%s: %" PRIu64 " bytes "
			    "short of its %" PRIu64 " pages", snap, left,
			    h->page_count);
			break;
		}
		r = vol_write_record(w, DBB_REC_DATA, b->buf, got, e);
		left -= got;
	}
	close(fd);
	return r;
}

/* The set's own volumes so far, as history lines the catalog lacks. */
static char *
this_set_lines(const struct bk *b, int64_t now)
{
	size_t const line = PATH_MAX + 256;
	char *s = malloc(b->n * line + 1), when[32];
	size_t used = 0;
	time_t tt = (time_t)now;
	struct tm tm;

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	gmtime_r(&tt, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The set UUID is the volume label's; "this-set" stands for it. */
	for (size_t i = 0; i < b->n; i++)
		used += (size_t)snprintf(s + used, line, "%s\tBACKUPFULL\t%s\t"
		    "this-set\t%" PRIu32 "\t%s\t0\tMOUNTABLE\t-\t-\t%s\n", when,
		    b->vols[i].serial, b->vols[i].seq, b->dc.name,
		    b->vols[i].path);
	return s;
}

static int
write_texts(struct bk *b, struct vol_writer *w, int64_t now, struct err *e)
{
	char *extra = NULL, *vh = NULL, *dc = NULL;
	size_t vhlen, dclen;
	int r;

	if ((extra = this_set_lines(b, now)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	if ((r = dbb_volhist_text(b->p->cat, extra, &vh, &vhlen, e)) != 0 ||
	    (r = dbb_devconfig_text(b->p->cat, &dc, &dclen, e)) != 0)
		goto out;
	if ((r = vol_write_record(w, DBB_REC_VOLHIST, vh, vhlen, e)) != 0)
		goto out;
	r = vol_write_record(w, DBB_REC_DEVCONFIG, dc, dclen, e);
out:
	free(extra);
	free(vh);
	free(dc);
	return r;
}

/* Complete the set's records (one transaction) and report them. */
static int
register_set(struct bk *b, const struct vol_set_info *info, int64_t now,
    struct dbb_backup_result *res, struct err *e)
{
	struct cat_volume v;
	struct stat sb;
	size_t used = 0;
	int r;

	if ((r = cat_begin(b->p->cat, e)) != 0)
		return r;
	for (size_t i = 0; i < b->n && r == 0; i++) {
		memset(&v, 0, sizeof(v));
		snprintf(v.name, sizeof(v.name), "%s", b->vols[i].serial);
		snprintf(v.path, sizeof(v.path), "%s", b->vols[i].path);
		snprintf(v.devclass, sizeof(v.devclass), "%s", b->dc.name);
		v.kind = CAT_VOL_DBBACKUP;
		memcpy(v.set_uuid, info->set_uuid, 16);
		v.seq = b->vols[i].seq;
		v.state = CAT_DRM_MOUNTABLE;
		v.created = v.state_changed = now;
		if (stat(v.path, &sb) == 0)
			v.bytes = (uint64_t)sb.st_size;
		res->bytes += v.bytes;
		r = cat_volume_update(b->p->cat, &v, e);
		if (used + strlen(v.path) + 2 < sizeof(res->volumes))
			used += (size_t)snprintf(res->volumes + used,
			    sizeof(res->volumes) - used, "%s%s", i ? "," : "",
			    v.path);
	}
	if (r == 0)
		r = cat_commit(b->p->cat, e);
	if (r != 0)
		cat_rollback(b->p->cat);
	res->nvols = (uint32_t)b->n;
	memcpy(res->set_uuid, info->set_uuid, 16);
	return r;
}

/* Snapshot, then the records; w is closed or aborted here. */
static int
write_set(struct bk *b, const char *snap, int64_t now,
    struct dbb_backup_result *res, struct err *e)
{
	struct vol_write_params wp;
	struct vol_set_info info;
	struct vol_writer *w = NULL;
	struct dbb_header h;
	uint8_t hb[DBB_HEADER_MAX];
	int r;

	memset(&info, 0, sizeof(info));
	if ((r = dbb_snapshot(b->p->cat, snap, &h, e)) != 0)
		return r;
	/* A snapshot left in DIR: start-up removes it (dbb_clean). */
	FAULT_POINT("dbb.after_snapshot");
	h.created = now;
	snprintf(h.server, sizeof(h.server), "%s", b->p->server);
	res->db_bytes = h.db_bytes;
	memset(&wp, 0, sizeof(wp));
	wp.dir = b->dc.directory;
	wp.maxcap = b->dc.maxcap;
	wp.kind = VOL_KIND_DBBACKUP;
	wp.server = b->p->server;
	wp.on_new = on_new_volume;
	wp.on_drop = on_drop_volume;
	wp.arg = b;
	if ((r = cat_volume_next_serial(b->p->cat, &wp.min_serial, e)) != 0)
		return r;
	if ((r = vol_writer_open(&wp, &w, e)) != 0) {
		forget_set(b);
		return r;
	}
	if ((r = vol_write_record(w, DBB_REC_HEADER, hb,
	    dbb_header_encode(&h, hb), e)) != 0 ||
	    (r = write_data(b, w, snap, &h, e)) != 0 ||
	    (r = write_texts(b, w, now, e)) != 0) {
		vol_writer_abort(w);
		forget_set(b);
		return r;
	}
	/* The volumes written, without a set UUID: not a usable set. */
	FAULT_POINT("dbb.before_close");
	if ((r = vol_writer_close(w, &info, e)) != 0) {
		forget_set(b);
		return r;
	}
	/* The set closed, its records not complete yet. */
	FAULT_POINT("dbb.before_register");
	r = register_set(b, &info, now, res, e);
	vol_set_info_free(&info);
	return r;
}

/*
 * A backup's snapshot is named by the server's PID, and removed when the
 * backup ends; a server killed during one leaves it, a catalog-sized
 * file that no later backup (another PID) would remove.  Called before
 * the server takes work (tests/crash/crash.sh, kp_dbb).
 */
void
dbb_clean(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t const len = strlen(de->d_name);

		if (strncmp(de->d_name, "dbbackup.", 9) != 0 || len < 13 ||
		    strcmp(de->d_name + len - 4, ".tmp") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) < sizeof(path))
			(void)unlink(path);
	}
	closedir(d);
}

int
dbb_backup(const struct dbb_backup_params *p, struct dbb_backup_result *res,
    struct err *e)
{
	int64_t const now = (int64_t)time(NULL);
	char snap[PATH_MAX];
	struct bk b;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	b.p = p;
	snprintf(snap, sizeof(snap), "%s/dbbackup.%ld.tmp", p->dir,
	    (long)getpid());
	(void)unlink(snap);	/* a crashed backup's leftover */
	if ((r = cat_devclass_get(p->cat, p->devclass, &b.dc, e)) != 0)
		goto out;
	if ((b.buf = malloc(DBB_DATA_MAX)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = write_set(&b, snap, now, res, e)) != 0)
		goto out;
	/* TSM writes VOLUMEHISTORY and DEVCONFIG after every backup. */
	r = dbb_write_files(p->cat, p->dir, e);
out:
	(void)unlink(snap);
	free(b.buf);
	free(b.vols);
	return r;
}

/* ---- restore ---- */

struct rs {
	const char		*dir;
	struct dbb_header	 hdr;
	int			 have_hdr, have_vh, have_dc;
	uint64_t		 got;		/* DATA bytes so far */
	int			 fd;
	const char		*tmp;
	uint8_t			*text[2];	/* VOLHIST, DEVCONFIG */
	size_t			 textlen[2];
};

/*
 * Keep a text record (i: 0 VOLHIST, 1 DEVCONFIG) until the catalog is in
 * place: a failed restore leaves the files as they were.
 */
static int
keep_text(struct rs *s, int i, const uint8_t *p, size_t n, struct err *e)
{
	if (s->text[i] != NULL)
		return err_set(e, COFFER_ECORRUPT, "database backup: a second "
		    "%s record", i ? "device configuration" : "volume history");
	if ((s->text[i] = malloc(n + 1)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	memcpy(s->text[i], p, n);
	s->textlen[i] = n;
	return 0;
}

static int
put_texts(const struct rs *s, struct err *e)
{
	static const char *const names[] = {
		DBB_VOLHIST_FILE, DBB_DEVCONFIG_FILE,
	};
	char path[PATH_MAX];
	int r = 0;

	for (int i = 0; i < 2 && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
		r = util_write_atomic(path, s->text[i], s->textlen[i], 0600, e);
	}
	return r;
}

/* One record; the order is dbb.h's: HEADER, DATA..., VOLHIST, DEVCONFIG. */
static int
take_record(struct rs *s, uint8_t type, const uint8_t *p, size_t n,
    struct err *e)
{
	if (type != DBB_REC_HEADER && !s->have_hdr)
		return err_set(e, COFFER_ECORRUPT, "database backup: record "
		    "type %u before the header", type);
	switch (type) {
	case DBB_REC_HEADER:
		if (s->have_hdr)
			return err_set(e, COFFER_ECORRUPT, "database backup: "
			    "a second header");
		s->have_hdr = 1;
		return dbb_header_decode(p, n, &s->hdr, e);
	case DBB_REC_DATA:
		if (s->have_vh || s->got + n > s->hdr.db_bytes)
			return err_set(e, COFFER_ECORRUPT, "database backup: "
			    "data past the %" PRIu64 " bytes of the header",
			    s->hdr.db_bytes);
		s->got += n;
		return util_write_full(s->fd, p, n, s->tmp, e);
	case DBB_REC_VOLHIST:
		s->have_vh = 1;
		return keep_text(s, 0, p, n, e);
	case DBB_REC_DEVCONFIG:
		s->have_dc = 1;
		return keep_text(s, 1, p, n, e);
	}
	return err_set(e, COFFER_ECORRUPT, "database backup: unknown record "
	    "type %u", type);
}

/* Read every record of r into s; checks the set's kind and ends. */
static int
read_set(struct vol_reader *rd, struct rs *s, struct err *e)
{
	const uint8_t *p;
	uint8_t type;
	size_t n;
	int r;

	if (vol_reader_kind(rd) != VOL_KIND_DBBACKUP)
		return err_set(e, COFFER_EINVAL, "the volumes hold an export "
		    "(set kind %d), not a database backup",
		    vol_reader_kind(rd));
	for (;;) {
		if ((r = vol_read_record(rd, &type, &p, &n, e)) != 0)
			return r;
		if (type == 0)
			break;
		if ((r = take_record(s, type, p, n, e)) != 0)
			return r;
	}
	if (!s->have_hdr || s->got != s->hdr.db_bytes || !s->have_vh ||
	    !s->have_dc)
		return err_set(e, COFFER_ECORRUPT, "database backup is "
		    "incomplete: %" PRIu64 " of %" PRIu64 " bytes%s",
		    s->got, s->hdr.db_bytes, s->have_dc ? "" :
		    ", no device configuration");
	return 0;
}

/* vols[i] as a path: names without '/' are files in dcdir. */
static char **
volume_paths(const char *dcdir, const char *const *vols, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t const len = strlen(vols[i]) + (dcdir ? strlen(dcdir) :
		    0) + 2;

		if ((out[i] = malloc(len)) == NULL)
			goto fail;
		if (strchr(vols[i], '/') != NULL || dcdir == NULL)
			snprintf(out[i], len, "%s", vols[i]);
		else
			snprintf(out[i], len, "%s/%s", dcdir, vols[i]);
	}
	return out;
fail:
	for (size_t i = 0; i < n; i++)
		free(out[i]);
	free(out);
	return NULL;
}

int
dbb_restore(const char *dir, const char *dcdir, const char *const *vols,
    size_t n, struct dbb_restore_result *res, struct err *e)
{
	struct vol_reader *rd = NULL;
	char tmp[PATH_MAX], **paths = NULL;
	struct rs s;
	int r = COFFER_EINTERNAL;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.dir = dir;
	snprintf(tmp, sizeof(tmp), "%s/catalog.db.restore", dir);
	s.tmp = tmp;
	if ((paths = volume_paths(dcdir, vols, n)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = vol_reader_open((const char *const *)paths, n, NULL, &rd,
	    e)) != 0)
		goto out;
	if ((s.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		r = err_sys(e, COFFER_EIO, "%s: create", tmp);
		goto out;
	}
	if ((r = read_set(rd, &s, e)) != 0)
		goto out;
	if (close(s.fd) != 0) {
		s.fd = -1;
		r = err_sys(e, COFFER_EIO, "%s: close", tmp);
		goto out;
	}
	s.fd = -1;
	if ((r = dbb_install_catalog(dir, tmp, e)) != 0 ||
	    (r = put_texts(&s, e)) != 0)
		goto out;
	res->hdr = s.hdr;
	res->nvols = (uint32_t)n;
out:
	if (s.fd >= 0)
		close(s.fd);
	if (r != 0)
		(void)unlink(tmp);
	vol_reader_close(rd);
	free(s.text[0]);
	free(s.text[1]);
	for (size_t i = 0; paths != NULL && i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}
