/*
 * vm_dl.h - libvirt and libnbd, loaded when live VM backup first needs
 * them.
 *
 * Linking them into coffer made every client run map about 40 more
 * libraries (gnutls, glib, ICU, libstdc++, krb5, libssh, ...): about
 * 8 MiB of resident memory and start-up time for each nightly file
 * backup that never talks to libvirt.  So the client is linked without
 * them and vm_dl_load() opens them with dlopen() when LIBVIRTURI is
 * used.  Calls go through the table: LV(virConnectOpen)(uri).
 *
 * Only built with --with-libvirt (HAVE_LIBVIRT); the headers still come
 * from libvirt-dev and libnbd-dev, so the types are checked at compile
 * time.
 */
#ifndef COFFER_CLIENT_VM_DL_H
#define COFFER_CLIENT_VM_DL_H

#ifdef HAVE_LIBVIRT

#include <libnbd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define VM_DL_SONAME_VIRT	"libvirt.so.0"	/* Debian: libvirt0 */
#define VM_DL_SONAME_NBD	"libnbd.so.0"	/* Debian: libnbd0 */

/* Every libvirt and libnbd function the client calls. */
#define VM_DL_VIRT(X)							\
	X(virConnectClose)						\
	X(virConnectOpen)						\
	X(virDomainAbortJob)						\
	X(virDomainBackupBegin)						\
	X(virDomainBackupGetXMLDesc)					\
	X(virDomainCheckpointDelete)					\
	X(virDomainCheckpointFree)					\
	X(virDomainCheckpointGetName)					\
	X(virDomainCheckpointLookupByName)				\
	X(virDomainCreate)						\
	X(virDomainDefineXML)						\
	X(virDomainFree)						\
	X(virDomainGetXMLDesc)						\
	X(virDomainIsActive)						\
	X(virDomainListAllCheckpoints)					\
	X(virDomainLookupByName)					\
	X(virGetLastError)						\
	X(virSetErrorFunc)

#define VM_DL_NBD(X)							\
	X(nbd_add_meta_context)						\
	X(nbd_block_status)						\
	X(nbd_can_meta_context)						\
	X(nbd_close)							\
	X(nbd_connect_unix)						\
	X(nbd_create)							\
	X(nbd_get_error)						\
	X(nbd_get_size)							\
	X(nbd_pread)							\
	X(nbd_set_export_name)						\
	X(nbd_shutdown)

struct vm_dl {
#define VM_DL_PTR(f)	__typeof__(f) *f;
	VM_DL_VIRT(VM_DL_PTR)
	VM_DL_NBD(VM_DL_PTR)
#undef VM_DL_PTR
};

extern struct vm_dl vm_dl;

#define LV(f)	(vm_dl.f)

struct err;

/*
 * Open both libraries and resolve the table; once, later calls return 0
 * at once.  The error names the library and the package to install.
 */
int vm_dl_load(struct err *e);

#endif /* HAVE_LIBVIRT */
#endif
