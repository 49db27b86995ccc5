/*
 * srv_lock.c - one process per instance directory: a running cofferd, or
 * cofferd restore-db, holds an exclusive flock on DIR/cofferd.lock, which
 * also holds its pid for the message a second one prints.  The kernel
 * drops the lock when the process dies, so a crash leaves nothing stale.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "err.h"
#include "srv.h"

/* The pid the holder wrote, or 0. */
static long
holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
srv_lock(const char *dir, int *out, struct err *e)
{
	char path[2300], pid[32];
	int fd, n;

	*out = -1;
	snprintf(path, sizeof(path), "%s/cofferd.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return err_sys(e, COFFER_EIO, "%s: open", path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int const busy = errno == EWOULDBLOCK;
		long const holder = busy ? holder_pid(fd) : 0;

		close(fd);
		if (busy)
			return err_set(e, COFFER_EBUSY, "%s is in use by "
			    "another cofferd (pid %ld): stop it first", dir,
			    holder);
		return err_sys(e, COFFER_EIO, "%s: flock", path);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		close(fd);
		return err_sys(e, COFFER_EIO, "%s: write pid", path);
	}
	*out = fd;
	return 0;
}
