/*
 * vm_libvirt.h - VMs found through libvirt (LIBVIRTURI, --libvirt-uri):
 * domain lookup, live backup of a running domain through a pull-mode
 * backup job with checkpoints, and defining a restored domain.
 *
 * A shut-off domain is backed up from its image files (the existing
 * path, vm_backup.c): only its definition comes from libvirt.  A running
 * domain is read consistently: vm_lv_backup_begin() starts a pull-mode
 * backup (virDomainBackupBegin) that exports every file disk over NBD on
 * a private unix socket, frozen at that instant, and creates the
 * checkpoint "coffer-NODE-STAMP".  Each disk is then a struct backup_src
 * (backup.h) that backup_vm() reads through libnbd: base:allocation
 * tells holes and zeros, which are not read, and for a qcow2 disk whose
 * previous version (on the server) was made at the checkpoint still
 * present in libvirt, the "qemu:dirty-bitmap:" context tells which
 * blocks changed since: only those are read.  Raw disks cannot carry a
 * bitmap and are read whole (holes skipped).  A checkpoint that is
 * missing, or a previous version that is not the checkpoint's, makes a
 * full read, and a line on the log says why.
 *
 * Which checkpoint a version belongs to is kept in the version itself:
 * the domain XML and every disk read live carry STAMP (nanoseconds) as
 * their ctime and mtime, so the server's active version names its
 * checkpoint, and a backup that failed (no new version) leaves the last
 * good checkpoint in use.  vm_lv_backup_end() always ends the job; after
 * a committed version it deletes every other coffer-NODE- checkpoint,
 * after a failed one the new checkpoint.
 *
 * Built without libvirt (configure without --with-libvirt), every
 * function returns COFFER_EINVAL saying so.
 */
#ifndef COFFER_CLIENT_VM_LIBVIRT_H
#define COFFER_CLIENT_VM_LIBVIRT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct backup_src;
struct err;
struct vm_dom;
struct vm_lv;
struct vm_lv_backup;

/* 1 when this coffer was built with libvirt. */
int vm_lv_available(void);

int vm_lv_open(const char *uri, struct vm_lv **out, struct err *e);
void vm_lv_close(struct vm_lv *lv);	/* accepts NULL */

/*
 * The domain NAME: its persistent definition (inactive XML; a transient
 * domain's live one), malloc'd into *xml, and whether it runs.
 * COFFER_ENOTFOUND "VM NAME: no such domain at URI".
 */
int vm_lv_domain(struct vm_lv *lv, const char *name, char **xml,
    size_t *len, int *running, struct err *e);

/*
 * Start the live backup of the running domain dom->name.  targets[i] are
 * the disks to read (file disks, in dom), prev[i] the ctime of the
 * server's active version of each (0: none).  stamp names the new
 * checkpoint.  On success *out holds one backup_src per target
 * (vm_lv_backup_src) and the job runs until vm_lv_backup_end.  Lines on
 * log say which disks are read incrementally and why others are not.
 */
int vm_lv_backup_begin(struct vm_lv *lv, const struct vm_dom *dom,
    const char *node, const char *const *targets, const int64_t *prev,
    size_t n, int64_t stamp, FILE *log, struct vm_lv_backup **out,
    struct err *e);
struct backup_src *vm_lv_backup_src(struct vm_lv_backup *b, size_t i);
/*
 * End the job (always), then tidy checkpoints: committed, the others of
 * this node go; not committed, the new one goes.  Frees b; accepts NULL.
 */
int vm_lv_backup_end(struct vm_lv_backup *b, int committed, struct err *e);

/* Define the domain from xml and, with start, start it. */
int vm_lv_define(struct vm_lv *lv, const char *xml, int start,
    struct err *e);

#endif
