/*
 * vm_backup.h - back up libvirt VMs by name (coffer backup vm NAME...).
 *
 * Each NAME is looked up as CONFDIR/NAME.xml (VMCONFDIR, --vmconfdir;
 * libvirt keeps /etc/libvirt/qemu/NAME.xml), its file-backed disks are
 * opened, and the domain XML with every disk goes to the server as one
 * VM version in the filespace VM:NAME (backup.h, backup_vm).  Per VM one
 * line on out says what happened; problems go to log and count in
 * st->failed, and the next VM is tried.
 */
#ifndef COFFER_CLIENT_VM_BACKUP_H
#define COFFER_CLIENT_VM_BACKUP_H

#include <stddef.h>
#include <stdio.h>

#define VM_CONFDIR_DEFAULT	"/etc/libvirt/qemu"

struct backup_params;
struct backup_stats;
struct err;
struct net_conn;

struct vm_backup_params {
	const struct backup_params	*bp;
	const char			*confdir;
	FILE				*out;	/* one line per VM */
	FILE				*log;	/* problems */
	/*
	 * With a libvirt URI (LIBVIRTURI, --libvirt-uri) the VM is the
	 * domain libvirt knows by NAME, not CONFDIR/NAME.xml; a running
	 * one is read live through a pull-mode backup (vm_libvirt.h).
	 */
	const char			*libvirt_uri;
	const char			*node;	/* names the checkpoints */
};

/* Non-zero only for what ends the session; see backup_run. */
int vm_backup_run(struct net_conn *c, const struct vm_backup_params *vp,
    char *const *names, size_t n, struct backup_stats *st, struct err *e);

#endif
