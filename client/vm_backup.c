/*
 * vm_backup.c - "backup vm NAME...": find each VM by name, open what it
 * is made of, and hand it to backup_vm() as one version (vm_backup.h).
 *
 * A VM is found as libvirt keeps it: VMCONFDIR/NAME.xml, the domain
 * definition.  Its file-backed disks are its images; CD-ROMs, floppies
 * and devices that are not files are reported and left out, because a
 * recovery restores the machine, not its install media.  A disk that
 * should be there and is not fails the VM with the disk named: a VM
 * version without one of its disks would restore a machine that does not
 * boot.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "client.h"
#include "err.h"
#include "util.h"
#include "vm_backup.h"
#include "vm_libvirt.h"
#include "vm_xml.h"

struct vm_prep {
	struct vm_dom		 dom;
	struct backup_vm	 vm;
	struct backup_vm_obj	*objs;
	char			**paths;
	size_t			 nobjs;
	/* A running domain read through libvirt (vm_libvirt.h). */
	int			 live;
	char			*stored_xml;	/* the XML as stored */
	int64_t			 stamp;		/* names the checkpoint */
	struct vm_lv		*lv;
	const char		*node;
	FILE			*log;
	struct vm_lv_backup	*job;
};

static void
say(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(FILE *log, const char *fmt, ...)
{
	va_list ap;

	fputs("coffer: ", log);
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
}

static void
prep_free(struct vm_prep *p)
{
	for (size_t i = 0; i < p->nobjs; i++) {
		if (p->objs[i].fd >= 0)
			close(p->objs[i].fd);
		free(p->paths[i]);
	}
	free(p->objs);
	free(p->paths);
	free(p->stored_xml);
	vm_dom_free(&p->dom);
	memset(p, 0, sizeof(*p));
}

static int
add_obj(struct vm_prep *p, const char *path, int type, struct err *e)
{
	struct backup_vm_obj *o = &p->objs[p->nobjs];

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->type = type;
	if ((p->paths[p->nobjs] = strdup(path)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	o->path = p->paths[p->nobjs];
	p->nobjs++;
	return 0;
}

/* Open one disk image; a problem is the VM's error, naming the disk. */
static int
open_disk(struct vm_prep *p, const struct vm_disk *k, struct err *e)
{
	char path[16 + 256];
	struct backup_vm_obj *o;
	int r;

	if (strchr(k->target, '/') != NULL || k->target[0] == '.')
		return err_set(e, COFFER_EINVAL, "disk target '%s' is not a "
		    "device name", k->target);
	snprintf(path, sizeof(path), "/disks/%s", k->target);
	for (size_t i = 0; i < p->nobjs; i++)
		if (strcmp(p->objs[i].path, path) == 0)
			return err_set(e, COFFER_EINVAL, "two disks have "
			    "target %s", k->target);
	if ((r = add_obj(p, path, CLIENT_OBJ_VMDISK, e)) != 0)
		return r;
	o = &p->objs[p->nobjs - 1];
	o->link = k->source;
	o->fd = open(k->source, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (o->fd < 0 && errno == EPERM)
		o->fd = open(k->source, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return err_sys(e, COFFER_ENOTFOUND, "disk %s: image %s",
		    k->target, k->source);
	if (fstat(o->fd, &o->st) != 0)
		return err_sys(e, COFFER_EIO, "disk %s: image %s", k->target,
		    k->source);
	if (!S_ISREG(o->st.st_mode))
		return err_set(e, COFFER_EINVAL, "disk %s: image %s is not a "
		    "regular file", k->target, k->source);
	(void)posix_fadvise(o->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

/* A stat for what is read live: its times are the backup's stamp. */
static void
live_stat(struct stat *st, int64_t stamp)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0600;
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = stamp / 1000000000;
	st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = stamp % 1000000000;
}

/* A live disk: no file opened; its source comes with the job. */
static int
live_disk(struct vm_prep *p, const struct vm_disk *k, struct err *e)
{
	char path[16 + 256];
	int r;

	if (strchr(k->target, '/') != NULL || k->target[0] == '.')
		return err_set(e, COFFER_EINVAL, "disk target '%s' is not a "
		    "device name", k->target);
	snprintf(path, sizeof(path), "/disks/%s", k->target);
	if ((r = add_obj(p, path, CLIENT_OBJ_VMDISK, e)) != 0)
		return r;
	p->objs[p->nobjs - 1].link = k->source;
	live_stat(&p->objs[p->nobjs - 1].st, p->stamp);
	return 0;
}

/*
 * What a live backup stores as the domain XML: libvirt's definition
 * with every disk read through NBD marked raw, since its bytes are the
 * guest's view of the disk, not the qcow2 file; the file's own format is
 * kept in Coffer's <metadata> (vm_xml.h), for the restore.
 */
static int
live_xml(struct vm_prep *p, struct err *e)
{
	struct vm_xml_map *map;
	size_t n = 0, len;
	int r;

	if ((map = calloc(p->dom.ndisks + 1, sizeof(*map))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->dom.ndisks; i++) {
		const struct vm_disk *k = &p->dom.disks[i];

		if (vm_disk_skip_reason(k) != NULL)
			continue;
		map[n].target = k->target;
		map[n].source = k->source;
		map[n].format = "raw";
		/* What the file is, so that a restore can make it that again. */
		if (k->format[0] != '\0' && strcmp(k->format, "raw") != 0)
			map[n].live_format = k->format;
		n++;
	}
	r = vm_xml_rewrite(p->dom.xml, p->dom.xml_len, NULL, NULL, map, n,
	    &p->stored_xml, &len, e);
	free(map);
	if (r == 0) {
		p->objs[0].data = p->stored_xml;
		p->objs[0].len = len;
		p->objs[0].st.st_size = (off_t)len;
	}
	return r;
}

/* backup_vm's hook: start the job, give each live disk its source. */
static int
live_begin(void *arg, const int64_t *prev_ctime, struct err *e)
{
	struct vm_prep *p = arg;
	const char **targets;
	int64_t *prev;
	size_t n = 0;
	int r;

	if ((targets = calloc(p->nobjs, sizeof(*targets))) == NULL ||
	    (prev = calloc(p->nobjs, sizeof(*prev))) == NULL) {
		free(targets);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	for (size_t i = 1; i < p->nobjs; i++) {
		targets[n] = p->objs[i].path + 7;	/* "/disks/" */
		prev[n++] = prev_ctime[i];
	}
	r = vm_lv_backup_begin(p->lv, &p->dom, p->node, targets, prev, n,
	    p->stamp, p->log, &p->job, e);
	for (size_t i = 1; r == 0 && i < p->nobjs; i++) {
		p->objs[i].src = vm_lv_backup_src(p->job, i - 1);
		p->objs[i].st.st_size = (off_t)p->objs[i].src->size;
	}
	free(targets);
	free(prev);
	return r;
}

/* Wall-clock nanoseconds: unique per backup of the VM, across reboots. */
static int64_t
stamp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The domain from libvirt: its XML, and whether it runs. */
static int
lv_load(const struct vm_backup_params *vp, struct vm_lv *lv,
    const char *name, struct vm_prep *p, struct err *e)
{
	char *xml = NULL;
	size_t len = 0;
	int running = 0, r;

	if ((r = vm_lv_domain(lv, name, &xml, &len, &running, e)) != 0)
		return r;
	r = vm_xml_parse(xml, len, &p->dom, e);
	free(xml);
	if (r != 0)
		return err_wrap(e, "VM %s", name);
	if (strcmp(p->dom.name, name) != 0)
		return err_set(e, COFFER_ECORRUPT, "VM %s: libvirt answered "
		    "for %s", name, p->dom.name);
	p->live = running;
	p->lv = lv;
	p->node = vp->node;
	p->log = vp->log;
	p->stamp = stamp_now();
	if (running)
		say(vp->log, "VM %s: running: its disks are read through a "
		    "libvirt pull-mode backup", name);
	return 0;
}

/* Everything one VM version holds, opened; messages for what is left out. */
static int
prepare(const struct vm_backup_params *vp, struct vm_lv *lv,
    const char *name, struct vm_prep *p, struct err *e)
{
	struct stat st;
	char xml[PATH_MAX];
	int r;

	memset(p, 0, sizeof(*p));
	if (lv != NULL)
		r = lv_load(vp, lv, name, p, e);
	else
		r = vm_xml_load(vp->confdir, name, &p->dom, e);
	if (r != 0)
		return r;
	if ((p->objs = calloc(p->dom.ndisks + 1, sizeof(*p->objs))) == NULL ||
	    (p->paths = calloc(p->dom.ndisks + 1, sizeof(*p->paths))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	if ((r = add_obj(p, "/domain.xml", CLIENT_OBJ_VMCONF, e)) != 0)
		return r;
	p->objs[0].data = p->dom.xml;
	p->objs[0].len = p->dom.xml_len;
	snprintf(xml, sizeof(xml), "%s/%s.xml", vp->confdir, name);
	if (lv == NULL && stat(xml, &st) == 0)
		p->objs[0].st = st;
	else if (lv != NULL)
		live_stat(&p->objs[0].st, p->stamp);
	p->objs[0].st.st_size = (off_t)p->dom.xml_len;
	for (size_t i = 0; i < p->dom.ndisks; i++) {
		const struct vm_disk *k = &p->dom.disks[i];
		const char *why = vm_disk_skip_reason(k);

		if (why != NULL) {
			say(vp->log, "VM %s: %s %s%s%s not backed up: %s", name,
			    k->device == VM_DEV_DISK ? "disk" : "device",
			    k->target ? k->target : "?", k->source ? " " : "",
			    k->source ? k->source : "", why);
			continue;
		}
		if ((r = p->live ? live_disk(p, k, e) : open_disk(p, k, e)) != 0)
			return r;
	}
	if (p->live && (r = live_xml(p, e)) != 0)
		return r;
	p->vm.name = p->dom.name;
	p->vm.objs = p->objs;
	p->vm.nobjs = p->nobjs;
	if (p->live) {
		p->vm.before_disks = live_begin;
		p->vm.arg = p;
	}
	return 0;
}

static void
report(const struct vm_backup_params *vp, const char *name,
    const struct backup_vm_result *res, size_t ndisks)
{
	char rd[24], sent[24];

	util_human_bytes(res->bytes_read, rd, sizeof(rd));
	util_human_bytes(res->bytes_sent, sent, sizeof(sent));
	if (res->committed)
		fprintf(vp->out, "VM %s: backed up, %zu disk%s (%" PRIu64
		    " unchanged), %s read, %s sent, %.1f s\n", name, ndisks,
		    ndisks == 1 ? "" : "s", res->unchanged, rd, sent,
		    res->elapsed_s);
	else
		fprintf(vp->out, "VM %s: NOT backed up; nothing of this "
		    "attempt was kept\n", name);
}

int
vm_backup_run(struct net_conn *c, const struct vm_backup_params *vp,
    char *const *names, size_t n, struct backup_stats *st, struct err *e)
{
	struct backup_sess *s = NULL;
	struct vm_lv *lv = NULL;
	int r;

	if (vp->libvirt_uri != NULL &&
	    (r = vm_lv_open(vp->libvirt_uri, &lv, e)) != 0)
		return r;
	if ((r = backup_sess_open(c, vp->bp, st, &s, e)) != 0) {
		vm_lv_close(lv);
		return r;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		struct backup_vm_result res;
		struct vm_prep p;
		struct err pe;

		err_clear(&pe);
		st->inspected++;
		if (prepare(vp, lv, names[i], &p, &pe) != 0) {
			say(vp->log, "VM %s: %s; not backed up", names[i],
			    pe.msg);
			st->failed++;
			prep_free(&p);
			continue;
		}
		st->inspected--;	/* backup_vm counts its objects */
		r = backup_vm(s, &p.vm, &res, e);
		/* The job ends whatever happened: none is left running. */
		if (p.job != NULL && vm_lv_backup_end(p.job, r == 0 &&
		    res.committed, &pe) != 0)
			say(vp->log, "VM %s: %s", names[i], pe.msg);
		p.job = NULL;
		if (r == 0)
			report(vp, names[i], &res, p.nobjs - 1);
		prep_free(&p);
	}
	backup_sess_close(s);
	vm_lv_close(lv);
	return r;
}
