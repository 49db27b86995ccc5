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
#include <unistd.h>

#include "backup.h"
#include "client.h"
#include "err.h"
#include "util.h"
#include "vm_backup.h"
#include "vm_xml.h"

struct vm_prep {
	struct vm_dom		 dom;
	struct backup_vm	 vm;
	struct backup_vm_obj	*objs;
	char			**paths;
	size_t			 nobjs;
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

/* Everything one VM version holds, opened; messages for what is left out. */
static int
prepare(const struct vm_backup_params *vp, const char *name,
    struct vm_prep *p, struct err *e)
{
	struct stat st;
	char xml[PATH_MAX];
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = vm_xml_load(vp->confdir, name, &p->dom, e)) != 0)
		return r;
	if ((p->objs = calloc(p->dom.ndisks + 1, sizeof(*p->objs))) == NULL ||
	    (p->paths = calloc(p->dom.ndisks + 1, sizeof(*p->paths))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	if ((r = add_obj(p, "/domain.xml", CLIENT_OBJ_VMCONF, e)) != 0)
		return r;
	p->objs[0].data = p->dom.xml;
	p->objs[0].len = p->dom.xml_len;
	snprintf(xml, sizeof(xml), "%s/%s.xml", vp->confdir, name);
	if (stat(xml, &st) == 0)
		p->objs[0].st = st;
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
		if ((r = open_disk(p, k, e)) != 0)
			return r;
	}
	p->vm.name = p->dom.name;
	p->vm.objs = p->objs;
	p->vm.nobjs = p->nobjs;
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
	int r;

	if ((r = backup_sess_open(c, vp->bp, st, &s, e)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct backup_vm_result res;
		struct vm_prep p;
		struct err pe;

		err_clear(&pe);
		st->inspected++;
		if (prepare(vp, names[i], &p, &pe) != 0) {
			say(vp->log, "VM %s: %s; not backed up", names[i],
			    pe.msg);
			st->failed++;
			prep_free(&p);
			continue;
		}
		st->inspected--;	/* backup_vm counts its objects */
		r = backup_vm(s, &p.vm, &res, e);
		if (r == 0)
			report(vp, names[i], &res, p.nobjs - 1);
		prep_free(&p);
	}
	backup_sess_close(s);
	return r;
}
