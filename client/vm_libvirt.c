/*
 * vm_libvirt.c - domains, live backup jobs, checkpoints and NBD reads
 * through libvirt and libnbd (vm_libvirt.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "err.h"
#include "fault.h"
#include "vm_libvirt.h"
#include "vm_xml.h"

#ifndef HAVE_LIBVIRT

#define NO_LIBVIRT	"this coffer was built without libvirt (configure " \
			"--with-libvirt); LIBVIRTURI cannot be used"

int
vm_lv_available(void)
{
	return 0;
}

int
vm_lv_open(const char *uri, struct vm_lv **out, struct err *e)
{
	*out = NULL;
	return err_set(e, COFFER_EINVAL, NO_LIBVIRT);
}

void
vm_lv_close(struct vm_lv *lv)
{
}

int
vm_lv_domain(struct vm_lv *lv, const char *name, char **xml, size_t *len,
    int *running, struct err *e)
{
	return err_set(e, COFFER_EINVAL, NO_LIBVIRT);
}

int
vm_lv_backup_begin(struct vm_lv *lv, const struct vm_dom *dom,
    const char *node, const char *const *targets, const int64_t *prev,
    size_t n, int64_t stamp, FILE *log, struct vm_lv_backup **out,
    struct err *e)
{
	*out = NULL;
	return err_set(e, COFFER_EINVAL, NO_LIBVIRT);
}

struct backup_src *
vm_lv_backup_src(struct vm_lv_backup *b, size_t i)
{
	return NULL;
}

int
vm_lv_backup_end(struct vm_lv_backup *b, int committed, struct err *e)
{
	return 0;
}

int
vm_lv_define(struct vm_lv *lv, const char *xml, int start, struct err *e)
{
	return err_set(e, COFFER_EINVAL, NO_LIBVIRT);
}

#else /* HAVE_LIBVIRT */

#include "vm_dl.h"

#define BLOCK		BACKUP_IMAGE_BLOCK
#define CKPT_PREFIX	"coffer-"
#define STATUS_MAX	(1ull << 30)	/* bytes asked per block status */

/* Per block of a disk, what the NBD export said about it. */
#define BLK_DATA	0x01	/* some byte of it is not known zero */
#define BLK_DIRTY	0x02	/* changed since the checkpoint */

struct vm_lv {
	virConnectPtr	 conn;
	char		*uri;
};

struct lv_disk {
	struct backup_src	 src;
	struct nbd_handle	*nbd;
	const char		*target;
	uint8_t			*blk;	/* BLK_* per block */
	uint64_t		 nblk;
	char			 bitmap[64 + VM_NAME_MAX];
};

struct vm_lv_backup {
	virDomainPtr	 dom;
	int		 job;		/* the pull backup runs */
	int		 sigs;		/* stop_catch() installed handlers */
	struct sigaction old[3];	/* SIGTERM, SIGINT, SIGHUP before */
	char		 ckpt[256];	/* the new checkpoint */
	char		 prefix[128];	/* "coffer-NODE-" */
	char		 dir[64];	/* socket and scratch files */
	char		 sock[128];
	struct lv_disk	*disks;
	size_t		 ndisks;
};

/*
 * A pull-mode backup job runs in libvirtd until someone ends it, holding
 * a scratch overlay that grows with every guest write: a coffer stopped
 * by SIGTERM (a scheduler's timeout, an administrator, shutdown) or ^C
 * must end it, not leave it for the next backup to find.  While a job
 * runs, the signals only set lv_stop; the next disk read fails with
 * COFFER_ECANCELED, and the backup's ordinary error path ends the job
 * (vm_lv_backup_end) and reports it.  lv_stop stays set, so the live
 * backups of any further VMs named fail at once.  A signal that came
 * after the last read lets the version commit; then, the job ended, it
 * is raised again with its old effect.
 */
static volatile sig_atomic_t lv_stop;
static const int stop_signals[3] = { SIGTERM, SIGINT, SIGHUP };

static void
on_stop_signal(int sig)
{
	lv_stop = sig;
}

static void
stop_catch(struct vm_lv_backup *bk)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;	/* reads and sends go on to a check */
	for (int i = 0; i < 3; i++)
		(void)sigaction(stop_signals[i], &sa, &bk->old[i]);
	bk->sigs = 1;
}

/* Put the handlers back: the signal that came meanwhile, or 0. */
static int
stop_release(struct vm_lv_backup *bk)
{
	if (!bk->sigs)
		return 0;
	for (int i = 0; i < 3; i++)
		(void)sigaction(stop_signals[i], &bk->old[i], NULL);
	bk->sigs = 0;
	return lv_stop;
}

static int
stop_check(const struct lv_disk *d, struct err *e)
{
	int const sig = lv_stop;

	if (sig == 0)
		return 0;
	return err_set(e, COFFER_ECANCELED, "disk %s: backup stopped by %s; "
	    "the libvirt backup job is ended and nothing of this version is "
	    "kept", d->target, sig == SIGINT ? "SIGINT" : sig == SIGHUP ?
	    "SIGHUP" : "SIGTERM");
}

/* libvirt's last error, or what, as the message. */
static int
lv_err(struct err *e, int code, const char *what)
{
	virErrorPtr v = LV(virGetLastError)();

	return err_set(e, code, "%s: %s", what, v != NULL && v->message ?
	    v->message : "failed");
}

/* libvirt prints its errors itself unless told not to. */
static void
lv_quiet(void *arg, virErrorPtr v)
{
	(void)arg;
	(void)v;
}

int
vm_lv_available(void)
{
	return 1;
}

int
vm_lv_open(const char *uri, struct vm_lv **out, struct err *e)
{
	struct vm_lv *lv;
	char what[512];
	int r;

	*out = NULL;
	if ((r = vm_dl_load(e)) != 0)
		return r;
	LV(virSetErrorFunc)(NULL, lv_quiet);
	if ((lv = calloc(1, sizeof(*lv))) == NULL ||
	    (lv->uri = strdup(uri)) == NULL) {
		free(lv);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	if ((lv->conn = LV(virConnectOpen)(uri)) == NULL) {
		snprintf(what, sizeof(what), "libvirt %s", uri);
		lv_err(e, COFFER_ENOTFOUND, what);
		vm_lv_close(lv);
		return COFFER_ENOTFOUND;
	}
	*out = lv;
	return 0;
}

void
vm_lv_close(struct vm_lv *lv)
{
	if (lv == NULL)
		return;
	if (lv->conn != NULL)
		LV(virConnectClose)(lv->conn);
	free(lv->uri);
	free(lv);
}

int
vm_lv_domain(struct vm_lv *lv, const char *name, char **xml, size_t *len,
    int *running, struct err *e)
{
	virDomainPtr dom;
	char what[512];
	int st;

	*xml = NULL;
	*len = 0;
	*running = 0;
	if (!vm_name_valid(name))
		return err_set(e, COFFER_EINVAL, "VM name is not valid");
	if ((dom = LV(virDomainLookupByName)(lv->conn, name)) == NULL)
		return err_set(e, COFFER_ENOTFOUND, "VM %s: no such domain at "
		    "%s", name, lv->uri);
	snprintf(what, sizeof(what), "VM %s", name);
	if ((st = LV(virDomainIsActive)(dom)) < 0 ||
	    (*xml = LV(virDomainGetXMLDesc)(dom, VIR_DOMAIN_XML_INACTIVE)) ==
	    NULL) {
		LV(virDomainFree)(dom);
		return lv_err(e, COFFER_EIO, what);
	}
	*running = st == 1;
	*len = strlen(*xml);
	LV(virDomainFree)(dom);
	return 0;
}

/* ---- checkpoints ---- */

/* Delete this node's checkpoints but keep (NULL: none). */
static void
ckpt_tidy(virDomainPtr dom, const char *prefix, const char *keep)
{
	virDomainCheckpointPtr *cps = NULL;
	int n;

	if ((n = LV(virDomainListAllCheckpoints)(dom, &cps, 0)) < 0)
		return;
	/* Children first: each deletion merges its bitmap into the parent. */
	for (int i = n - 1; i >= 0; i--) {
		const char *nm = LV(virDomainCheckpointGetName)(cps[i]);

		if (nm != NULL && strncmp(nm, prefix, strlen(prefix)) == 0 &&
		    (keep == NULL || strcmp(nm, keep) != 0))
			(void)LV(virDomainCheckpointDelete)(cps[i], 0);
	}
	for (int i = 0; i < n; i++)
		LV(virDomainCheckpointFree)(cps[i]);
	free(cps);
}

static void
ckpt_tidy_one(virDomainPtr dom, const char *name)
{
	virDomainCheckpointPtr cp;

	if ((cp = LV(virDomainCheckpointLookupByName)(dom, name, 0)) == NULL)
		return;
	(void)LV(virDomainCheckpointDelete)(cp, 0);
	LV(virDomainCheckpointFree)(cp);
}

static int
ckpt_exists(virDomainPtr dom, const char *name)
{
	virDomainCheckpointPtr cp;

	if ((cp = LV(virDomainCheckpointLookupByName)(dom, name, 0)) == NULL)
		return 0;
	LV(virDomainCheckpointFree)(cp);
	return 1;
}

/* ---- the job's XML ---- */

struct sbuf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap -
		    b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap + (size_t)n + 1) * 2;
		char *np = realloc(b->p, ncap);

		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/*
 * Disk targets and file paths come from libvirt's own XML: names like
 * "vda".  Anything that would need escaping is refused instead.
 */
static int
xml_safe(const char *s)
{
	return strpbrk(s, "<>&'\"") == NULL;
}

static int
is_target(const char *const *targets, size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(targets[i], t) == 0)
			return (int)i;
	return -1;
}

static int
is_qcow2(const struct vm_disk *k)
{
	return k->format != NULL && strcmp(k->format, "qcow2") == 0;
}

/* <domainbackup mode='pull'>: every target exported, qcow2 ones with a
 * per-disk incremental base when inc[i] names one. */
static void
backup_xml(struct sbuf *b, const struct vm_lv_backup *bk,
    const struct vm_dom *dom, const char *const *targets, size_t n,
    const char *const *inc)
{
	sb_add(b, "<domainbackup mode='pull'><server transport='unix' "
	    "socket='%s'/><disks>", bk->sock);
	for (size_t i = 0; i < dom->ndisks; i++) {
		const struct vm_disk *k = &dom->disks[i];
		int const t = is_target(targets, n, k->target);

		if (t < 0) {
			sb_add(b, "<disk name='%s' backup='no'/>", k->target);
			continue;
		}
		sb_add(b, "<disk name='%s' backup='yes' type='file'",
		    k->target);
		if (inc[t] != NULL)
			sb_add(b, " backupmode='incremental' incremental='%s'",
			    inc[t]);
		else
			sb_add(b, " backupmode='full'");
		sb_add(b, "><scratch file='%s/%s.scratch'/></disk>", bk->dir,
		    k->target);
	}
	sb_add(b, "</disks></domainbackup>");
}

/* The new checkpoint: a bitmap in each qcow2 disk backed up. */
static void
ckpt_xml(struct sbuf *b, const struct vm_lv_backup *bk,
    const struct vm_dom *dom, const char *const *targets, size_t n)
{
	sb_add(b, "<domaincheckpoint><name>%s</name><disks>", bk->ckpt);
	for (size_t i = 0; i < dom->ndisks; i++) {
		const struct vm_disk *k = &dom->disks[i];
		int const bitmap = is_target(targets, n, k->target) >= 0 &&
		    is_qcow2(k);

		sb_add(b, "<disk name='%s' checkpoint='%s'/>", k->target,
		    bitmap ? "bitmap" : "no");
	}
	sb_add(b, "</disks></domaincheckpoint>");
}

/* ---- NBD ---- */

struct status_arg {
	struct lv_disk	*d;
	const char	*dirty_ctx;
	uint64_t	 end_alloc, end_dirty;
};

/* Mark blocks [off, off + len) with flag (any overlap marks a block). */
static void
mark(struct lv_disk *d, uint64_t off, uint64_t len, uint8_t flag)
{
	uint64_t b = off / BLOCK;
	uint64_t const e = (off + len + BLOCK - 1) / BLOCK;

	for (; b < e && b < d->nblk; b++)
		d->blk[b] |= flag;
}

static int
status_cb(void *arg, const char *ctx, uint64_t off, uint32_t *ent,
    size_t nent, int *error)
{
	struct status_arg *a = arg;
	int const alloc = strcmp(ctx, LIBNBD_CONTEXT_BASE_ALLOCATION) == 0;

	(void)error;
	if (!alloc && (a->dirty_ctx == NULL || strcmp(ctx, a->dirty_ctx) != 0))
		return 0;
	for (size_t i = 0; i + 1 < nent; i += 2) {
		uint64_t const len = ent[i];
		uint32_t const fl = ent[i + 1];

		if (alloc && !(fl & LIBNBD_STATE_ZERO))
			mark(a->d, off, len, BLK_DATA);
		if (!alloc && (fl & 1))
			mark(a->d, off, len, BLK_DIRTY);
		off += len;
	}
	if (alloc)
		a->end_alloc = off;
	else
		a->end_dirty = off;
	return 0;
}

/* Learn every block's state: the whole disk, before anything is read. */
static int
disk_map(struct lv_disk *d, struct err *e)
{
	uint64_t const size = d->src.size;
	struct status_arg a;
	uint64_t off = 0;

	memset(&a, 0, sizeof(a));
	a.d = d;
	a.dirty_ctx = d->src.incremental ? d->bitmap : NULL;
	while (off < size) {
		uint64_t const n = size - off < STATUS_MAX ? size - off :
		    STATUS_MAX;
		uint64_t next;

		a.end_alloc = a.end_dirty = off;
		if (LV(nbd_block_status)(d->nbd, n, off, (nbd_extent_callback){
		    .callback = status_cb, .user_data = &a }, 0) != 0)
			return err_set(e, COFFER_EIO, "disk %s: NBD block "
			    "status at %" PRIu64 ": %s", d->target, off,
			    LV(nbd_get_error)());
		next = a.end_alloc;
		if (a.dirty_ctx != NULL && a.end_dirty < next)
			next = a.end_dirty;
		if (next <= off)
			return err_set(e, COFFER_EPROTO, "disk %s: NBD block "
			    "status made no progress at %" PRIu64, d->target,
			    off);
		off = next;
	}
	return 0;
}

static int
blk_kind(const struct lv_disk *d, uint64_t b)
{
	if (d->src.incremental && !(d->blk[b] & BLK_DIRTY))
		return BACKUP_EXT_CLEAN;
	return d->blk[b] & BLK_DATA ? BACKUP_EXT_DATA : BACKUP_EXT_ZERO;
}

static int
src_extent(void *arg, uint64_t off, uint64_t *len, int *kind, struct err *e)
{
	struct lv_disk *d = arg;
	uint64_t b = off / BLOCK, end;
	int r;

	if ((r = stop_check(d, e)) != 0)
		return r;
	if (off % BLOCK != 0 || b >= d->nblk)
		return err_set(e, COFFER_EINTERNAL, "disk %s: extent asked at "
		    "%" PRIu64, d->target, off);
	*kind = blk_kind(d, b);
	while (b < d->nblk && blk_kind(d, b) == *kind)
		b++;
	end = b * BLOCK;
	if (end > d->src.size)
		end = d->src.size;
	*len = end - off;
	return 0;
}

static int
src_pread(void *arg, void *buf, size_t n, uint64_t off, struct err *e)
{
	struct lv_disk *d = arg;
	int r;

	/* tests/integration/vm_libvirt.sh stops coffer here for a SIGTERM. */
	FAULT_POINT("vm.live.read");
	if ((r = stop_check(d, e)) != 0)
		return r;
	if (LV(nbd_pread)(d->nbd, buf, n, off, 0) != 0)
		return err_set(e, COFFER_EIO, "disk %s: NBD read of %zu bytes "
		    "at %" PRIu64 ": %s", d->target, n, off, LV(nbd_get_error)());
	return 0;
}

static int
disk_open(struct vm_lv_backup *bk, struct lv_disk *d, int incremental,
    struct err *e)
{
	int64_t size;

	d->src.extent = src_extent;
	d->src.pread = src_pread;
	d->src.arg = d;
	d->src.incremental = incremental;
	snprintf(d->bitmap, sizeof(d->bitmap), "qemu:dirty-bitmap:backup-%s",
	    d->target);
	if ((d->nbd = LV(nbd_create)()) == NULL ||
	    LV(nbd_add_meta_context)(d->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0 ||
	    (incremental && LV(nbd_add_meta_context)(d->nbd, d->bitmap) != 0) ||
	    LV(nbd_set_export_name)(d->nbd, d->target) != 0 ||
	    LV(nbd_connect_unix)(d->nbd, bk->sock) != 0)
		return err_set(e, COFFER_EIO, "disk %s: NBD export: %s",
		    d->target, LV(nbd_get_error)());
	if ((size = LV(nbd_get_size)(d->nbd)) < 0)
		return err_set(e, COFFER_EIO, "disk %s: NBD size: %s",
		    d->target, LV(nbd_get_error)());
	if (LV(nbd_can_meta_context)(d->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) != 1)
		return err_set(e, COFFER_EPROTO, "disk %s: the NBD export has "
		    "no base:allocation", d->target);
	if (incremental && LV(nbd_can_meta_context)(d->nbd, d->bitmap) != 1)
		return err_set(e, COFFER_EPROTO, "disk %s: the NBD export has "
		    "no %s", d->target, d->bitmap);
	d->src.size = (uint64_t)size;
	d->nblk = (d->src.size + BLOCK - 1) / BLOCK;
	if ((d->blk = calloc(d->nblk ? d->nblk : 1, 1)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	return disk_map(d, e);
}

/* ---- the job ---- */

static void
job_free(struct vm_lv_backup *bk)
{
	char p[192];

	for (size_t i = 0; i < bk->ndisks; i++) {
		struct lv_disk *d = &bk->disks[i];

		if (d->nbd != NULL) {
			(void)LV(nbd_shutdown)(d->nbd, 0);
			LV(nbd_close)(d->nbd);
		}
		free(d->blk);
		snprintf(p, sizeof(p), "%s/%s.scratch", bk->dir, d->target);
		(void)unlink(p);
	}
	free(bk->disks);
	if (bk->dir[0] != '\0') {
		snprintf(p, sizeof(p), "%s/pid", bk->dir);
		(void)unlink(p);
		(void)unlink(bk->sock);
		(void)rmdir(bk->dir);
	}
	if (bk->dom != NULL)
		LV(virDomainFree)(bk->dom);
	free(bk);
}

/*
 * Per disk, the checkpoint to read from incrementally, or NULL: a qcow2
 * disk whose active version on the server was made at a checkpoint that
 * libvirt still has.
 */
static void
choose_bases(struct vm_lv_backup *bk, const struct vm_dom *dom,
    const char *const *targets, const int64_t *prev, size_t n,
    char (*names)[256], const char **inc, FILE *log)
{
	for (size_t i = 0; i < n; i++) {
		const struct vm_disk *k = NULL;

		inc[i] = NULL;
		for (size_t j = 0; j < dom->ndisks; j++)
			if (strcmp(dom->disks[j].target, targets[i]) == 0)
				k = &dom->disks[j];
		if (k == NULL || !is_qcow2(k)) {
			fprintf(log, "coffer: VM %s: disk %s is %s: read "
			    "whole (no dirty bitmap)\n", dom->name, targets[i],
			    k && k->format[0] ? k->format : "not qcow2");
			continue;
		}
		if (prev[i] == 0) {
			fprintf(log, "coffer: VM %s: disk %s: no previous "
			    "version; full read\n", dom->name, targets[i]);
			continue;
		}
		snprintf(names[i], 256, "%s%" PRId64, bk->prefix, prev[i]);
		if (!ckpt_exists(bk->dom, names[i])) {
			fprintf(log, "coffer: VM %s: disk %s: the server's last "
			    "version has no checkpoint in libvirt (%s); full "
			    "read\n", dom->name, targets[i], names[i]);
			continue;
		}
		inc[i] = names[i];
	}
}

/*
 * A pull-mode backup that a coffer killed midway left running (its
 * socket is in a coffer-vm. directory whose pid file names a process
 * that is gone, or the directory is gone): end it, so that this backup
 * can start.  Someone else's job is left alone.  1 when one was ended.
 */
static int
stale_job(struct vm_lv_backup *bk, const char *vm, FILE *log)
{
	char *xml, *p, *q, dir[256], pidf[300];
	long pid = 0;
	FILE *f;
	int stale;

	if ((xml = LV(virDomainBackupGetXMLDesc)(bk->dom, 0)) == NULL)
		return 0;
	p = strstr(xml, "socket='");
	q = p != NULL ? strchr(p + 8, '\'') : NULL;
	if (q == NULL || (size_t)(q - p - 8) >= sizeof(dir) ||
	    strstr(p, "/coffer-vm.") == NULL || strstr(p, "/coffer-vm.") > q) {
		free(xml);
		return 0;
	}
	memcpy(dir, p + 8, (size_t)(q - p - 8));
	dir[q - p - 8] = '\0';
	free(xml);
	if ((p = strrchr(dir, '/')) != NULL)
		*p = '\0';
	snprintf(pidf, sizeof(pidf), "%s/pid", dir);
	if ((f = fopen(pidf, "re")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
		stale = pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	} else {
		stale = errno == ENOENT && access(dir, F_OK) != 0;
	}
	if (!stale || LV(virDomainAbortJob)(bk->dom) != 0)
		return 0;
	fprintf(log, "coffer: VM %s: ended a backup job left running by a "
	    "coffer that is gone (pid %ld)\n", vm, pid);
	return 1;
}

static int
job_start(struct vm_lv_backup *bk, const struct vm_dom *dom,
    const char *const *targets, size_t n, const char **inc, FILE *log,
    struct err *e)
{
	struct sbuf bx, cx;
	int r = 0;

	memset(&bx, 0, sizeof(bx));
	memset(&cx, 0, sizeof(cx));
	backup_xml(&bx, bk, dom, targets, n, inc);
	ckpt_xml(&cx, bk, dom, targets, n);
	if (bx.oom || cx.oom)
		r = err_set(e, COFFER_ENOMEM, "out of memory");
	else if (LV(virDomainBackupBegin)(bk->dom, bx.p, cx.p, 0) != 0 &&
	    (!stale_job(bk, dom->name, log) ||
	    LV(virDomainBackupBegin)(bk->dom, bx.p, cx.p, 0) != 0))
		r = lv_err(e, COFFER_EIO, "libvirt backup begin");
	else
		bk->job = 1;
	free(bx.p);
	free(cx.p);
	return r;
}

static int
job_dirs(struct vm_lv_backup *bk, struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	char pidf[96];
	FILE *f;

	/* qemu opens the scratch files and libvirt the socket: 0755. */
	snprintf(bk->dir, sizeof(bk->dir), "%s/coffer-vm.XXXXXX",
	    tmp && tmp[0] && strlen(tmp) < 40 ? tmp : "/var/tmp");
	if (mkdtemp(bk->dir) == NULL) {
		bk->dir[0] = '\0';
		return err_sys(e, COFFER_EIO, "scratch directory");
	}
	(void)chmod(bk->dir, 0755);
	snprintf(bk->sock, sizeof(bk->sock), "%s/nbd.sock", bk->dir);
	/* Whose job this is, should this process die with it (stale_job). */
	snprintf(pidf, sizeof(pidf), "%s/pid", bk->dir);
	if ((f = fopen(pidf, "we")) == NULL)
		return err_sys(e, COFFER_EIO, "%s", pidf);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0)
		return err_sys(e, COFFER_EIO, "%s", pidf);
	return 0;
}

static int
begin_check(const struct vm_dom *dom, const char *node,
    const char *const *targets, size_t n, struct err *e)
{
	if (!xml_safe(node) || strlen(node) > 64)
		return err_set(e, COFFER_EINVAL, "node name unusable in a "
		    "checkpoint name");
	for (size_t i = 0; i < dom->ndisks; i++)
		if (!xml_safe(dom->disks[i].target))
			return err_set(e, COFFER_EINVAL, "disk target '%s' "
			    "needs XML escaping", dom->disks[i].target);
	for (size_t i = 0; i < n; i++)
		if (is_target(targets, n, targets[i]) != (int)i)
			return err_set(e, COFFER_EINVAL, "disk %s twice",
			    targets[i]);
	return 0;
}

int
vm_lv_backup_begin(struct vm_lv *lv, const struct vm_dom *dom,
    const char *node, const char *const *targets, const int64_t *prev,
    size_t n, int64_t stamp, FILE *log, struct vm_lv_backup **out,
    struct err *e)
{
	struct vm_lv_backup *bk;
	char (*names)[256] = NULL;
	const char **inc = NULL;
	int r;

	*out = NULL;
	if ((r = begin_check(dom, node, targets, n, e)) != 0)
		return r;
	if ((bk = calloc(1, sizeof(*bk))) == NULL ||
	    (bk->disks = calloc(n + 1, sizeof(*bk->disks))) == NULL ||
	    (names = calloc(n + 1, sizeof(*names))) == NULL ||
	    (inc = calloc(n + 1, sizeof(*inc))) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(bk->prefix, sizeof(bk->prefix), CKPT_PREFIX "%s-", node);
	snprintf(bk->ckpt, sizeof(bk->ckpt), "%s%" PRId64, bk->prefix, stamp);
	if ((bk->dom = LV(virDomainLookupByName)(lv->conn, dom->name)) == NULL) {
		r = err_set(e, COFFER_ENOTFOUND, "VM %s: no such domain",
		    dom->name);
		goto out;
	}
	if ((r = job_dirs(bk, e)) != 0)
		goto out;
	choose_bases(bk, dom, targets, prev, n, names, inc, log);
	/* Before the job exists, so no signal can come between. */
	stop_catch(bk);
	if ((r = job_start(bk, dom, targets, n, inc, log, e)) != 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		bk->disks[i].target = targets[i];
		bk->ndisks++;
		r = disk_open(bk, &bk->disks[i], inc[i] != NULL, e);
	}
out:
	free(names);
	free(inc);
	if (r != 0 && bk != NULL) {
		struct err ee;

		err_clear(&ee);
		(void)vm_lv_backup_end(bk, 0, &ee);
		bk = NULL;
	}
	*out = bk;
	return r;
}

struct backup_src *
vm_lv_backup_src(struct vm_lv_backup *b, size_t i)
{
	return i < b->ndisks ? &b->disks[i].src : NULL;
}

int
vm_lv_backup_end(struct vm_lv_backup *bk, int committed, struct err *e)
{
	int r = 0, sig;

	if (bk == NULL)
		return 0;
	for (size_t i = 0; i < bk->ndisks; i++)
		if (bk->disks[i].nbd != NULL) {
			(void)LV(nbd_shutdown)(bk->disks[i].nbd, 0);
			LV(nbd_close)(bk->disks[i].nbd);
			bk->disks[i].nbd = NULL;
		}
	/* A pull-mode backup runs until it is aborted: never leave it. */
	if (bk->job && LV(virDomainAbortJob)(bk->dom) != 0)
		r = lv_err(e, COFFER_EIO, "libvirt: ending the backup job");
	if (bk->job && committed)
		ckpt_tidy(bk->dom, bk->prefix, bk->ckpt);
	else if (bk->job)
		ckpt_tidy_one(bk->dom, bk->ckpt);
	sig = stop_release(bk);
	job_free(bk);
	/* The version committed before the stop was seen: stop now. */
	if (committed && sig != 0)
		(void)raise(sig);
	return r;
}

int
vm_lv_define(struct vm_lv *lv, const char *xml, int start, struct err *e)
{
	virDomainPtr dom;
	int r = 0;

	if ((dom = LV(virDomainDefineXML)(lv->conn, xml)) == NULL)
		return lv_err(e, COFFER_EIO, "libvirt define");
	if (start && LV(virDomainCreate)(dom) != 0)
		r = lv_err(e, COFFER_EIO, "libvirt start");
	LV(virDomainFree)(dom);
	return r;
}

#endif /* HAVE_LIBVIRT */
