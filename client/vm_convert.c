/*
 * vm_convert.c - a restored guest view converted to qcow2 (vm_convert.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "vm_convert.h"

extern char **environ;

int
vm_convert_available(void)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], exe[PATH_MAX + 16];

	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path != '\0') {
		size_t const n = strcspn(path, ":");

		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, path, n);
			dir[n] = '\0';
			snprintf(exe, sizeof(exe), "%s/qemu-img", dir);
			if (access(exe, X_OK) == 0)
				return 1;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

int
vm_convert_to_qcow2(const char *raw, const char *out, struct err *e)
{
	/* No shell: the paths go to qemu-img as they are. */
	char *argv[] = { "qemu-img", "convert", "-q", "-f", "raw", "-O",
	    "qcow2", (char *)raw, (char *)out, NULL };
	pid_t pid;
	int st, rc;

	if ((rc = posix_spawnp(&pid, "qemu-img", NULL, NULL, argv,
	    environ)) != 0)
		return err_set(e, COFFER_EIO, "qemu-img (Debian qemu-utils): "
		    "%s", strerror(rc));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return err_sys(e, COFFER_EIO, "qemu-img: wait");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return err_set(e, COFFER_EIO, "qemu-img convert of %s to qcow2 "
		    "%s %d", out, WIFEXITED(st) ? "exited with" :
		    "died of signal", WIFEXITED(st) ? WEXITSTATUS(st) :
		    WTERMSIG(st));
	return util_fsync_path(out, e);
}
