/*
 * util.c - small file-system and memory helpers shared by every program.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

/* Attempts at a fresh temporary name before util_write_atomic gives up. */
#define ATOMIC_TMP_TRIES	100

int
util_pwrite_full(int fd, const void *p, size_t n, off_t off,
    const char *what, struct err *e)
{
	const uint8_t *b = p;
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pwrite(fd, b + done, n - done, off + (off_t)done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, COFFER_EIO,
			    "%s: pwrite %zu bytes at %lld", what, n,
			    (long long)off);
		}
		if (r == 0) {
			/* Not expected from a regular file; never spin. */
			return err_set(e, COFFER_EIO,
			    "%s: pwrite %zu bytes at %lld: wrote nothing "
			    "after %zu", what, n, (long long)off, done);
		}
		done += (size_t)r;
	}
	return 0;
}

/*
 * Reading past the end of the file is COFFER_ECORRUPT: callers ask for
 * bytes that their own metadata says are there, so a short file is damage.
 */
int
util_pread_full(int fd, void *p, size_t n, off_t off,
    const char *what, struct err *e)
{
	uint8_t *b = p;
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, b + done, n - done, off + (off_t)done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, COFFER_EIO,
			    "%s: pread %zu bytes at %lld", what, n,
			    (long long)off);
		}
		if (r == 0) {
			return err_set(e, COFFER_ECORRUPT,
			    "%s: pread %zu bytes at %lld: unexpected end of "
			    "file after %zu", what, n, (long long)off, done);
		}
		done += (size_t)r;
	}
	return 0;
}

int
util_read_full(int fd, void *p, size_t n, size_t *got,
    const char *what, struct err *e)
{
	uint8_t *b = p;
	size_t done = 0;
	ssize_t r;

	*got = 0;
	while (done < n) {
		if ((r = read(fd, b + done, n - done)) < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return err_sys(e, COFFER_EIO, "%s: read", what);
		}
		if (r == 0)
			break;		/* end of file */
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

int
util_write_full(int fd, const void *p, size_t n,
    const char *what, struct err *e)
{
	const uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		if ((r = write(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, COFFER_EIO, "%s: write", what);
		}
		if (r == 0) {
			return err_set(e, COFFER_EIO,
			    "%s: write: wrote nothing", what);
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int
util_fsync_dir(const char *dir, struct err *e)
{
	int fd = -1, r = COFFER_EINTERNAL;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = err_sys(e, COFFER_EIO, "directory %s: open", dir);
		goto out;
	}
	if (fsync(fd) != 0) {
		r = err_sys(e, COFFER_EIO, "directory %s: fsync", dir);
		goto out;
	}
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
util_fsync_path(const char *path, struct err *e)
{
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, COFFER_EIO, "%s: open", path);
	if (fsync(fd) != 0)
		r = err_sys(e, COFFER_EIO, "%s: fsync", path);
	close(fd);
	return r;
}

/* The directory holding path, into dir (PATH_MAX bytes). */
static int
parent_dir(const char *path, char *dir, struct err *e)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL) {
		snprintf(dir, PATH_MAX, ".");
		return 0;
	}
	/* "/x" lives in "/", not in "". */
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= PATH_MAX)
		return err_set(e, COFFER_ETOOBIG, "%s: path too long", path);
	memcpy(dir, path, len);
	dir[len] = '\0';
	return 0;
}

/*
 * Create a new temporary file next to path.  O_EXCL with our own name
 * (rather than mkstemp) lets open(2) apply mode through the umask, the same
 * as creating path directly would.
 */
static int
open_tmp(const char *path, mode_t mode, char *tmp, struct err *e)
{
	static unsigned int seq;
	unsigned int s;
	int fd, i, len;

	for (i = 0; i < ATOMIC_TMP_TRIES; i++) {
		s = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
		len = snprintf(tmp, PATH_MAX, "%s.tmp.%ld.%u", path,
		    (long)getpid(), s);
		if (len < 0 || len >= PATH_MAX)
			return err_set(e, COFFER_ETOOBIG, "%s: path too long",
			    path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		/* EEXIST: left over by a crashed process with our pid. */
		if (errno != EEXIST && errno != EINTR)
			break;
	}
	return err_sys(e, COFFER_EIO, "%s: create", tmp);
}

int
util_write_atomic(const char *path, const void *p, size_t n,
    mode_t mode, struct err *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd = -1, r = COFFER_EINTERNAL, created = 0;

	if ((r = parent_dir(path, dir, e)) != 0)
		goto out;
	if ((fd = open_tmp(path, mode, tmp, e)) < 0) {
		r = fd;
		goto out;
	}
	created = 1;
	if ((r = util_write_full(fd, p, n, tmp, e)) != 0)
		goto out;
	/* The data must be on disk before the rename can expose it. */
	if (fsync(fd) != 0) {
		r = err_sys(e, COFFER_EIO, "%s: fsync", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = err_sys(e, COFFER_EIO, "%s: close", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = err_sys(e, COFFER_EIO, "%s: rename to %s", tmp, path);
		goto out;
	}
	created = 0;
	/* ... and the rename must be on disk before we report success. */
	if ((r = util_fsync_dir(dir, e)) != 0)
		goto out;
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	return r;
}

/* mkdir one component; an existing directory is fine. */
static int
mkdir_one(const char *path, mode_t mode, struct err *e)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return err_sys(e, COFFER_EIO, "directory %s: mkdir", path);
	if (stat(path, &st) != 0)
		return err_sys(e, COFFER_EIO, "directory %s: stat", path);
	if (!S_ISDIR(st.st_mode)) {
		return err_set(e, COFFER_EEXIST,
		    "directory %s: exists and is not a directory", path);
	}
	return 0;
}

int
util_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char buf[PATH_MAX];
	size_t const len = strlen(path);
	size_t i;
	int r;

	if (len == 0)
		return err_set(e, COFFER_EINVAL, "mkdir: empty path");
	if (len >= sizeof(buf))
		return err_set(e, COFFER_ETOOBIG, "%s: path too long", path);
	memcpy(buf, path, len + 1);
	/* Create each prefix ending before a '/', skipping "" and "//". */
	for (i = 1; i < len; i++) {
		if (buf[i] != '/' || buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		r = mkdir_one(buf, mode, e);
		buf[i] = '/';
		if (r != 0)
			return r;
	}
	return mkdir_one(buf, mode, e);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
util_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : COFFER_EIO;
	/* Depth first, and never follow a symlink out of the tree. */
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
		return COFFER_EIO;
	return 0;
}

int
util_is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i, head = n < 16 ? n : 16;

	for (i = 0; i < head; i++)
		if (b[i] != 0)
			return 0;
	/*
	 * The first 16 bytes are zero; if every byte equals the one 16
	 * before it, all are.  memcmp is vectorised by the C library, which
	 * beats a hand-written word loop.
	 */
	return n <= 16 || memcmp(b, b + 16, n - 16) == 0;
}

double
util_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
util_human_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	double v = (double)n / 1024.0;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, len, "%u B", (unsigned int)n);
		return buf;
	}
	/* Move up while "%.1f" would print 1024.0 or more. */
	while (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

int
util_parse_hours(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t mul = 3600;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return COFFER_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v <= 0)
		return COFFER_EINVAL;
	if (*end != '\0') {
		switch (*end) {
		case 's': case 'S': mul = 1; break;
		case 'm': case 'M': mul = 60; break;
		case 'h': case 'H': mul = 3600; break;
		default: return COFFER_EINVAL;
		}
		if (end[1] != '\0')
			return COFFER_EINVAL;
	}
	if (v > 31LL * 86400 / mul)
		return COFFER_EINVAL;
	*out = (int64_t)v * mul;
	return 0;
}
