/*
 * vm_restore.h - restore VMs by name, and list them (coffer restore vm,
 * coffer query vm).
 *
 * A VM's version at a time is what its filespace VM:NAME held active
 * then (backup.h: the domain XML is stored with every backup, unchanged
 * disks keep their version), so --pitdate picks the version a backup at
 * or before that time made.  Restore fetches the domain XML, then writes
 * each disk image, checked chunk by chunk and sparse where the image
 * had holes, and writes the domain XML last, once every disk is in
 * place, so a half-restored VM is never defined.
 *
 * Where things go:
 *   --target-dir DIR   the images into DIR by their file names, the XML
 *                      as DIR/NAME.xml;
 *   otherwise          the images to their original paths, the XML into
 *                      VMCONFDIR; existing images are never overwritten
 *                      without --replace, checked before anything is
 *                      written.
 *   --newname NEW      the VM becomes NEW: the XML gets the name, a new
 *                      UUID, and disk paths that match where the images
 *                      went (a file name holding the old name gets the
 *                      new one instead; others are prefixed "NEW-"), so
 *                      it can be defined beside the original.
 *
 * --all restores every VM of the node by name; --drorder restores the
 * VMs an administrator marked DR-protected (update filespace ...
 * drprotect=yes drpriority=N), lowest priority number first, those
 * without a number last, and reports each VM's restore time.
 */
#ifndef COFFER_CLIENT_VM_RESTORE_H
#define COFFER_CLIENT_VM_RESTORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct err;
struct net_conn;
struct restore_stats;

struct vm_restore_params {
	const char	*confdir;	/* VMCONFDIR */
	const char	*newname;	/* NULL: keep */
	const char	*target_dir;	/* NULL: original places */
	int		 replace;
	int64_t		 pit;		/* 0: latest */
	int		 all, drorder;
	int		 progress;
	FILE		*out;		/* one line per VM */
	FILE		*log;
};

/* names may be empty with all or drorder. */
int vm_restore_run(struct net_conn *c, const struct vm_restore_params *p,
    char *const *names, size_t n, struct restore_stats *st, struct err *e);

struct vm_query_params {
	const char	*name;		/* NULL: every VM */
	int		 json;
	FILE		*out;
};

int vm_query(struct net_conn *c, const struct vm_query_params *p,
    uint64_t *rows, struct err *e);

#endif
