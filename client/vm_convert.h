/*
 * vm_convert.h - make a restored guest-view disk the qcow2 file it was.
 *
 * A live backup reads a running guest's disks through libvirt's NBD
 * export, which gives the guest's view of the disk (raw bytes), not the
 * qcow2 file that holds it.  A restore writes that view and then, when
 * the file was qcow2, converts it with qemu-img (Debian's qemu-utils),
 * so the recovered VM has a qcow2 disk again: thin, able to carry the
 * dirty bitmaps its next incremental live backup needs.
 */
#ifndef COFFER_VM_CONVERT_H
#define COFFER_VM_CONVERT_H

struct err;

/* 1 when qemu-img is on PATH. */
int vm_convert_available(void);

/*
 * qemu-img convert -f raw -O qcow2 raw out, then fsync out; out is
 * replaced.  Errors name the disk file and qemu-img's exit status.
 */
int vm_convert_to_qcow2(const char *raw, const char *out, struct err *e);

#endif
