/*
 * vm_dl.c - libvirt and libnbd loaded with dlopen() (vm_dl.h).
 */
#include "config.h"

#ifdef HAVE_LIBVIRT

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include "err.h"
#include "vm_dl.h"

struct vm_dl vm_dl;

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;
static int dl_loaded;

static void *
dl_open(const char *soname, const char *pkg, struct err *e)
{
	void *h;

	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		err_set(e, COFFER_EINVAL, "live VM backup needs %s, which "
		    "cannot be loaded (%s): apt-get install %s", soname,
		    dlerror(), pkg);
	return h;
}

/* Resolve the table; a missing symbol means a too old library. */
static int
dl_resolve(void *virt, void *nbd, struct err *e)
{
	struct vm_dl t;
	const char *missing = NULL, *lib = NULL;

	/*
	 * POSIX guarantees dlsym()'s object pointer converts to a function
	 * pointer; ISO C does not, hence the cast through the table's type.
	 */
#define VM_DL_SYM(f)							\
	if (missing == NULL &&						\
	    (t.f = (__typeof__(t.f))dlsym(h, #f)) == NULL) {		\
		missing = #f;						\
		lib = soname;						\
	}
	{
		void *h = virt;
		const char *soname = VM_DL_SONAME_VIRT;

		VM_DL_VIRT(VM_DL_SYM)
	}
	{
		void *h = nbd;
		const char *soname = VM_DL_SONAME_NBD;

		VM_DL_NBD(VM_DL_SYM)
	}
#undef VM_DL_SYM
	if (missing != NULL)
		return err_set(e, COFFER_EINVAL, "%s has no %s: live VM "
		    "backup needs libvirt 7.6 and libnbd 1.4 or later", lib,
		    missing);
	vm_dl = t;
	return 0;
}

int
vm_dl_load(struct err *e)
{
	void *virt = NULL, *nbd = NULL;
	int r = 0;

	pthread_mutex_lock(&dl_lock);
	if (dl_loaded)
		goto out;
	if ((virt = dl_open(VM_DL_SONAME_VIRT, "libvirt0", e)) == NULL ||
	    (nbd = dl_open(VM_DL_SONAME_NBD, "libnbd0", e)) == NULL) {
		r = e != NULL ? e->code : COFFER_EINVAL;
		goto fail;
	}
	if ((r = dl_resolve(virt, nbd, e)) != 0)
		goto fail;
	/* Never closed: libvirt keeps threads and handlers of its own. */
	dl_loaded = 1;
	goto out;
fail:
	if (nbd != NULL)
		dlclose(nbd);
	if (virt != NULL)
		dlclose(virt);
out:
	pthread_mutex_unlock(&dl_lock);
	return r;
}

#endif /* HAVE_LIBVIRT */
