/*
 * pool_backend_dir.c - containers as files in a directory.
 *
 * Open descriptors are cached (a restore reads thousands of chunks from a
 * few containers); an entry in use is never evicted, so a read never loses
 * its descriptor to another thread.  A file created since the last sync is
 * remembered, and the sync that makes its bytes durable also fsyncs the
 * directory that names it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pool_backend.h"
#include "util.h"

#define FD_CACHE	32

struct fd_entry {
	uint64_t	id;
	int		fd;
	int		users;
	int		created;	/* directory entry not yet fsynced */
	uint64_t	lru;
};

struct dir_backend {
	struct pool_backend	 base;
	char			*dir;
	pthread_mutex_t		 lock;
	struct fd_entry		 fds[FD_CACHE];
	uint64_t		 tick;
};

void
pool_backend_dir_path(const char *dir, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/containers/%02x/%016" PRIx64 ".ctr", dir,
	    (unsigned)(id & 0xff), id);
}

static void
sub_path(const struct dir_backend *d, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/containers/%02x", d->dir, (unsigned)(id & 0xff));
}

/* Find or open the descriptor for id and mark it used; lock not held. */
static int
fd_acquire(struct dir_backend *d, uint64_t id, int flags,
    struct fd_entry **out, struct err *e)
{
	struct fd_entry *victim = NULL;
	char path[4096];
	int fd, i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < FD_CACHE; i++) {
		if (d->fds[i].fd >= 0 && d->fds[i].id == id) {
			d->fds[i].users++;
			d->fds[i].lru = ++d->tick;
			*out = &d->fds[i];
			pthread_mutex_unlock(&d->lock);
			return 0;
		}
	}
	for (i = 0; i < FD_CACHE; i++) {
		struct fd_entry *f = &d->fds[i];

		if (f->users > 0 || f->created)
			continue;
		if (victim == NULL || f->fd < 0 ||
		    (victim->fd >= 0 && f->lru < victim->lru))
			victim = f;
	}
	if (victim == NULL) {
		pthread_mutex_unlock(&d->lock);
		return err_set(e, COFFER_EBUSY,
		    "container %016" PRIx64 ": too many open containers", id);
	}
	pool_backend_dir_path(d->dir, id, path, sizeof(path));
	if ((fd = open(path, flags | O_CLOEXEC, 0600)) < 0) {
		int const r = err_sys(e, errno == ENOENT ? COFFER_ENOTFOUND :
		    COFFER_EIO, "container %016" PRIx64 ": open %s", id, path);
		pthread_mutex_unlock(&d->lock);
		return r;
	}
	if (victim->fd >= 0)
		close(victim->fd);
	victim->id = id;
	victim->fd = fd;
	victim->users = 1;
	victim->created = (flags & O_CREAT) != 0;
	victim->lru = ++d->tick;
	*out = victim;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void
fd_release(struct dir_backend *d, struct fd_entry *f)
{
	pthread_mutex_lock(&d->lock);
	f->users--;
	pthread_mutex_unlock(&d->lock);
}

/* Close a cached descriptor for id (before unlink or truncate). */
static void
fd_forget(struct dir_backend *d, uint64_t id)
{
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < FD_CACHE; i++) {
		struct fd_entry *f = &d->fds[i];

		if (f->fd >= 0 && f->id == id && f->users == 0) {
			close(f->fd);
			f->fd = -1;
			f->created = 0;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static int
dir_create(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct fd_entry *f;
	char sub[4096];
	int r;

	sub_path(d, id, sub, sizeof(sub));
	if ((r = util_mkdir_p(sub, 0700, e)) != 0)
		return r;
	if ((r = fd_acquire(d, id, O_RDWR | O_CREAT | O_EXCL, &f, e)) != 0)
		return r;
	fd_release(d, f);
	return 0;
}

static int
dir_write(struct pool_backend *b, uint64_t id, uint64_t off, const void *p,
    size_t n, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct fd_entry *f;
	char what[64];
	int r;

	if ((r = fd_acquire(d, id, O_RDWR, &f, e)) != 0)
		return r;
	snprintf(what, sizeof(what), "container %016" PRIx64 ": write", id);
	r = util_pwrite_full(f->fd, p, n, (off_t)off, what, e);
	/*
	 * Start writeback now, without waiting: the fsync at commit then
	 * finds little left to write, and a session is not stalled for the
	 * seconds a whole transaction's data would take to reach the disk.
	 */
	if (r == 0)
		(void)sync_file_range(f->fd, (off_t)off, (off_t)n,
		    SYNC_FILE_RANGE_WRITE);
	fd_release(d, f);
	return r;
}

static int
dir_sync(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct fd_entry *f;
	char sub[4096];
	int r = 0;

	if ((r = fd_acquire(d, id, O_RDWR, &f, e)) != 0)
		return r;
	if (fdatasync(f->fd) != 0) {
		r = err_sys(e, COFFER_EIO, "container %016" PRIx64 ": fsync",
		    id);
		goto out;
	}
	if (f->created) {
		/* A new container is durable only once its name is. */
		sub_path(d, id, sub, sizeof(sub));
		if ((r = util_fsync_dir(sub, e)) != 0)
			goto out;
		snprintf(sub, sizeof(sub), "%s/containers", d->dir);
		if ((r = util_fsync_dir(sub, e)) != 0)
			goto out;
		f->created = 0;
	}
out:
	fd_release(d, f);
	return r;
}

static int
dir_read(struct pool_backend *b, uint64_t id, uint64_t off, void *p,
    size_t n, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct fd_entry *f;
	char what[64];
	int r;

	if ((r = fd_acquire(d, id, O_RDWR, &f, e)) != 0)
		return r;
	snprintf(what, sizeof(what), "container %016" PRIx64 ": read", id);
	r = util_pread_full(f->fd, p, n, (off_t)off, what, e);
	fd_release(d, f);
	return r;
}

static int
dir_size(struct pool_backend *b, uint64_t id, uint64_t *size, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct stat st;
	char path[4096];

	pool_backend_dir_path(d->dir, id, path, sizeof(path));
	if (stat(path, &st) != 0)
		return err_sys(e, errno == ENOENT ? COFFER_ENOTFOUND :
		    COFFER_EIO, "container %016" PRIx64 ": stat", id);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
dir_truncate(struct pool_backend *b, uint64_t id, uint64_t size,
    struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct fd_entry *f;
	int r = 0;

	if ((r = fd_acquire(d, id, O_RDWR, &f, e)) != 0)
		return r;
	if (ftruncate(f->fd, (off_t)size) != 0 || fsync(f->fd) != 0)
		r = err_sys(e, COFFER_EIO, "container %016" PRIx64
		    ": truncate to %" PRIu64, id, size);
	fd_release(d, f);
	return r;
}

static int
dir_remove(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	char path[4096], sub[4096];

	fd_forget(d, id);
	pool_backend_dir_path(d->dir, id, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		return err_sys(e, COFFER_EIO, "container %016" PRIx64
		    ": unlink", id);
	sub_path(d, id, sub, sizeof(sub));
	return util_fsync_dir(sub, e);
}

static int
parse_id(const char *name, uint64_t *id)
{
	char *end;
	size_t const n = strlen(name);

	if (n != 20 || strcmp(name + 16, ".ctr") != 0)
		return -1;
	errno = 0;
	*id = strtoull(name, &end, 16);
	return (errno != 0 || end != name + 16) ? -1 : 0;
}

static int
dir_list(struct pool_backend *b, uint64_t **ids, size_t *n, struct err *e)
{
	struct dir_backend *d = (struct dir_backend *)b;
	uint64_t *v = NULL, *nv;
	size_t len = 0, cap = 0;
	char path[4096];
	int r = 0;

	for (unsigned sub = 0; sub < 256; sub++) {
		struct dirent *de;
		DIR *dp;

		snprintf(path, sizeof(path), "%s/containers/%02x", d->dir, sub);
		if ((dp = opendir(path)) == NULL) {
			if (errno == ENOENT)
				continue;
			r = err_sys(e, COFFER_EIO, "opendir %s", path);
			goto out;
		}
		while ((de = readdir(dp)) != NULL) {
			uint64_t id;

			if (parse_id(de->d_name, &id) != 0)
				continue;
			if (len == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
					closedir(dp);
					r = err_set(e, COFFER_ENOMEM,
					    "list containers: out of memory");
					goto out;
				}
				v = nv;
			}
			v[len++] = id;
		}
		closedir(dp);
	}
	*ids = v;
	*n = len;
	v = NULL;
out:
	free(v);
	return r;
}

static void
dir_close(struct pool_backend *b)
{
	struct dir_backend *d = (struct dir_backend *)b;

	if (d == NULL)
		return;
	for (int i = 0; i < FD_CACHE; i++)
		if (d->fds[i].fd >= 0)
			close(d->fds[i].fd);
	pthread_mutex_destroy(&d->lock);
	free(d->dir);
	free(d);
}

/* The whole file: the kernel reads it ahead while we are busy elsewhere. */
static void
dir_willneed(struct pool_backend *b, uint64_t id)
{
	struct dir_backend *d = (struct dir_backend *)b;
	struct fd_entry *f;

	if (fd_acquire(d, id, O_RDWR, &f, NULL) != 0)
		return;
	(void)posix_fadvise(f->fd, 0, 0, POSIX_FADV_WILLNEED);
	fd_release(d, f);
}

static const struct pool_backend_ops dir_ops = {
	.name = "directory",
	.create = dir_create,
	.write = dir_write,
	.sync = dir_sync,
	.read = dir_read,
	.size = dir_size,
	.truncate = dir_truncate,
	.remove = dir_remove,
	.list = dir_list,
	.close = dir_close,
	.willneed = dir_willneed,
};

struct pool_backend *
pool_backend_dir_open(const char *dir, struct err *e)
{
	struct dir_backend *d;
	char path[4096];

	snprintf(path, sizeof(path), "%s/containers", dir);
	if (util_mkdir_p(path, 0700, e) != 0)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->dir = strdup(dir)) == NULL) {
		free(d);
		err_set(e, COFFER_ENOMEM, "pool backend: out of memory");
		return NULL;
	}
	d->base.ops = &dir_ops;
	pthread_mutex_init(&d->lock, NULL);
	for (int i = 0; i < FD_CACHE; i++)
		d->fds[i].fd = -1;
	return &d->base;
}
