/*
 * restore.c - restore over a node session (see restore.h).
 *
 * Objects arrive in pkey order (a directory before its contents).  Each
 * is placed at once by the main thread: directories are created, symlinks
 * made; files and hard links become jobs in a FIFO.  The main thread keeps
 * CHUNK_GET requests pipelined ahead across jobs (RESTORE_WINDOW_*) and
 * hands every CHUNK_DATA reply, copied, to a bounded queue (RESTORE_QUEUE_*)
 * served by a few worker threads.  A worker creates the job's temp file on
 * its first chunk, decodes and verifies each chunk and pwrite()s it at its
 * offset; the worker that finishes a job's last chunk finalizes the file
 * (size, owner, mode, times, rename).  Jobs are then retired in FIFO order
 * by the main thread, which alone keeps the counts, the messages, the
 * directory references and the set of written files, so a hard link is
 * made only after every job before it, its target's included, is done.
 *
 * Threads: the main thread owns struct rs, the directory stack and the
 * FIFO.  Workers touch only the queue (under pool.mu), a job's mutable
 * state (under its mu: fd, tmp, failed, why, left, end) and, without a
 * lock, the disjoint byte ranges of j->mem.  A job is done when pool.mu
 * says so; main reads a job's results only after that, and frees it only
 * then, so nothing a worker uses is freed under it.  The main thread
 * never waits for anything but a worker (room in the queue, a job done),
 * and workers never wait for the main thread.
 *
 * Directories are struct rdir nodes holding an open descriptor and a
 * reference count: one reference while the directory is on the current
 * path (the stack), one per job inside it and one per child directory.
 * When the last goes, every entry below it is in place and its mode,
 * owner and mtime are set (post-order), then its descriptor is closed.
 *
 * Invariants:
 *   (1) Nothing is created except through a descriptor from the stack,
 *       which was opened O_NOFOLLOW | O_DIRECTORY from root_fd, with a
 *       name restore_path_check accepted: a restore cannot leave root.
 *   (2) A file's bytes reach its final name only by rename(2) after every
 *       chunk has been decoded and matched its SHA-256.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunker.h"
#include "client.h"
#include "codec.h"
#include "err.h"
#include "fslist.h"
#include "hash.h"
#include "hset.h"
#include "net.h"
#include "pool_recipe.h"
#include "progress.h"
#include "proto.h"
#include "restore.h"
#include "restore_path.h"
#include "util.h"
#include "wire.h"

#define DIRS_OPEN_MAX	512	/* directories held open by pending jobs */
#define JOBS_LOW	256	/* ask for the next page below this */
#define HOLE_BLOCK	4096	/* zero blocks this size stay holes */
#define THREADS_MAX	8	/* COFFER_RESTORE_THREADS is capped here */

struct rdir {
	int		 fd;
	int		 refs;
	int		 fresh;		/* made by this run: nothing else in it */
	struct rdir	*parent;
	char		*name;
	int		 has_meta;
	uint32_t	 mode, uid, gid;
	int64_t		 mtime_ns;
	char		*path;		/* server path, for messages */
};

#define J_FILE	1
#define J_LINK	2

/*
 * One object of a job restored from several (a segmented VM disk), or of
 * a job whose object came without its recipe: its entries are [first,
 * end) of the job's.  Its recipe is fetched (RECIPE_GET) only when the
 * requests reach it, and freed once its last chunk has arrived, so that
 * a job holds one or two parts' recipes whatever the disk's size
 * (part_ask).  Main thread only.
 */
struct rpart {
	uint64_t	 id, size;
	size_t		 first, end;
	uint8_t		*recipe;	/* NULL: not here (yet, or any more) */
	int		 loaded;	/* it came (or had no entries) */
};

struct rjob {
	int		 kind;
	struct rdir	*dir;
	char		*name;
	char		*path;		/* server path */
	char		*link;		/* hard link target (server path) */
	uint64_t	 id, size;
	uint32_t	 mode, uid, gid;
	int64_t		 mtime_ns;
	uint8_t		*recipe;
	size_t		 nent, next_req, next_recv;
	struct rpart	*parts;		/* NULL: the one object, recipe */
	size_t		 nparts;
	size_t		 req_part, recv_part;	/* of next_req, next_recv */
	size_t		 ask_next;	/* the next part to fetch */
	int		 asking;	/* its RECIPE_GET is on the way */
	uint64_t	 off;		/* where the next reply's bytes go */
	int		 queued;	/* main: its items are all queued */
	uint8_t		*mem;		/* restore_objects into memory */
	struct restore_item *item;	/* restore_objects: report here */
	struct rs	*rs;
	struct rjob	*next;

	/* Under mu (workers and, for failures, main). */
	pthread_mutex_t	 mu;
	int		 fd;
	char		 tmp[64];
	char		 why[ERR_MSG_MAX];
	int		 failed;
	size_t		 left;		/* queued items not yet processed */
	uint64_t	 end;		/* bytes written up to here */

	int		 done;		/* under pool.mu: finalized */
};

/*
 * One CHUNK_DATA reply for a worker: the stored bytes of chunk idx of
 * job, which go at off.  RI_SKIP carries nothing (a hole, a chunk that
 * failed on arrival, a file without chunks) but is counted like the rest,
 * so that the worker processing a job's last item knows it is the last.
 */
#define RI_DATA	1
#define RI_SKIP	2

struct ritem {
	struct rjob	*job;
	struct ritem	*next;
	uint64_t	 off;
	uint32_t	 len;		/* raw bytes */
	uint32_t	 idx;
	uint8_t		 kind;
	uint8_t		 codec_id;
	uint8_t		 corrupt;	/* fault injection: flip a bit */
	uint8_t		 want[HASH_LEN];	/* the recipe's hash of it */
	size_t		 n;
	uint8_t		 stored[];	/* n bytes */
};

/* The worker threads and their queue. */
struct rpool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* workers: an item, or quit */
	pthread_cond_t	 main;		/* main: room in the queue, a job done */
	/*
	 * Held by a worker around creating and around finalizing a file:
	 * those calls take the directory's lock in the kernel, and several
	 * threads at them at once only spin there (measured: twice the
	 * system time, and slower, with 4 workers on small files).  Decoding,
	 * verifying and writing still run in parallel.
	 */
	pthread_mutex_t	 fs_mu;
	struct ritem	*head, *tail;
	size_t		 bytes, items;	/* queued, bounded by RESTORE_QUEUE_* */
	int		 quit;
	int		 mu_ok;		/* mu and the condvars exist */
	size_t		 nthreads;
	pthread_t	 th[THREADS_MAX];
};

struct rs {
	struct net_conn			*c;
	const struct restore_params	*p;
	struct restore_stats		*st;
	struct restore_plan		 plan;
	char				 fsname[PATH_MAX];
	int				 root_fd;
	int				 is_root;

	struct rdir			**stack;
	size_t				 depth, stack_cap;
	size_t				 ndirs;

	struct rjob			*head, *tail, *req;
	size_t				 njobs;
	uint32_t			 win_entries;
	uint64_t			 win_bytes;

	int				 list_asked, list_done;
	char				 after[PATH_MAX];
	char				 prev[PATH_MAX];
	size_t				 prev_len;
	int				 have_prev;

	/*
	 * Files this run wrote (SHA-256 of their original path): a hard
	 * link is made only to one of them, never to whatever else sits
	 * at the target's name in the destination.
	 */
	struct hset			 written;
	struct hash_ctx			*hash;		/* main's */
	uint64_t			 tmp_seq;	/* atomic */
	long				 pid;		/* in temp names */
	uint64_t			 bytes_done;	/* atomic: written */
	uint64_t			 bytes_told;	/* main: to progress */
	uint64_t			 nrecv;		/* main: chunks received */
	uint64_t			 corrupt_at;	/* COFFER_FAULT_RESTORE_CORRUPT */
	struct rpool			 pool;
	struct progress			 pg;
	struct err			*e;
};

static void remember_written(struct rs *rs, const char *path);


static void
say(struct rs *rs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct rs *rs, const char *fmt, ...)
{
	FILE *f = rs->p->log ? rs->p->log : stderr;
	va_list ap;

	progress_done(&rs->pg);
	fputs("coffer: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static void
ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
}

/* ---- directories ---- */

static void
rdir_unref(struct rs *rs, struct rdir *d)
{
	while (d != NULL && --d->refs == 0) {
		struct rdir *parent = d->parent;

		if (d->has_meta) {
			struct timespec ts[2];

			ns_to_ts(d->mtime_ns, &ts[1]);
			ts[0] = ts[1];
			if ((rs->is_root && fchown(d->fd, d->uid,
			    d->gid) != 0) ||
			    fchmod(d->fd, d->mode & 07777) != 0 ||
			    futimens(d->fd, ts) != 0)
				say(rs, "%s: setting mode, owner or times: %s",
				    d->path, strerror(errno));
		}
		if (d->fd >= 0 && d->fd != rs->root_fd)
			close(d->fd);
		free(d->name);
		free(d->path);
		free(d);
		rs->ndirs--;
		d = parent;
	}
}

static struct rdir *
rdir_push(struct rs *rs, int fd, const char *name, size_t nlen,
    struct err *e)
{
	struct rdir *d;

	if (rs->depth == rs->stack_cap) {
		size_t const ncap = rs->stack_cap ? rs->stack_cap * 2 : 32;
		struct rdir **ns = realloc(rs->stack, ncap * sizeof(*ns));

		if (ns == NULL)
			goto nomem;
		rs->stack = ns;
		rs->stack_cap = ncap;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->name = strndup(name, nlen)) == NULL) {
		free(d);
		goto nomem;
	}
	d->fd = fd;
	d->refs = 1;			/* the stack's */
	if (rs->depth > 0) {
		d->parent = rs->stack[rs->depth - 1];
		d->parent->refs++;
	}
	rs->stack[rs->depth++] = d;
	rs->ndirs++;
	return d;
nomem:
	err_set(e, COFFER_ENOMEM, "out of memory");
	return NULL;
}

static void
stack_pop_to(struct rs *rs, size_t depth)
{
	while (rs->depth > depth) {
		struct rdir *d = rs->stack[--rs->depth];

		rdir_unref(rs, d);
	}
}

/*
 * Open or create directory name in parent, never through a symlink (1).
 * In a parent this run made (fresh), nothing is there yet, so mkdirat
 * comes first and the failing openat probe is saved.  *made tells
 * whether the directory is new (then it is fresh in its turn).
 */
static int
open_dir_at(int parent, const char *name, int create, int fresh, int *made)
{
	int const flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd;

	*made = 0;
	if (!create || !fresh) {
		if ((fd = openat(parent, name, flags)) >= 0 ||
		    errno != ENOENT || !create)
			return fd;
	}
	if (mkdirat(parent, name, 0700) == 0)
		*made = 1;
	else if (errno != EEXIST)
		return -1;
	return openat(parent, name, flags);
}

/*
 * Make the stack hold the directories of rel's parent (rel without its
 * last component, nparent bytes), creating missing ones.  The top of the
 * stack is then the parent of rel's last component.
 */
static int
stack_to(struct rs *rs, const char *rel, size_t nparent, char *why,
    size_t wlen)
{
	size_t level = 1, i = 0;
	int made;

	/* Keep the common prefix. */
	while (i < nparent && level < rs->depth) {
		size_t j = i;

		while (j < nparent && rel[j] != '/')
			j++;
		if (strlen(rs->stack[level]->name) != j - i ||
		    memcmp(rs->stack[level]->name, rel + i, j - i) != 0)
			break;
		level++;
		i = j + 1;
	}
	stack_pop_to(rs, level);
	while (i < nparent) {
		char comp[NAME_MAX + 1];
		size_t j = i;
		int fd;

		while (j < nparent && rel[j] != '/')
			j++;
		if (j - i > NAME_MAX) {
			snprintf(why, wlen, "name too long");
			return -1;
		}
		memcpy(comp, rel + i, j - i);
		comp[j - i] = '\0';
		fd = open_dir_at(rs->stack[rs->depth - 1]->fd, comp, 1,
		    rs->stack[rs->depth - 1]->fresh, &made);
		if (fd < 0) {
			snprintf(why, wlen, "directory %.*s: %s%s", (int)j,
			    rel, strerror(errno), errno == ELOOP ||
			    errno == ENOTDIR ? " (a symlink or file is in the "
			    "way: not followed)" : "");
			return -1;
		}
		if (rdir_push(rs, fd, comp, j - i, NULL) == NULL) {
			close(fd);
			snprintf(why, wlen, "out of memory");
			return -1;
		}
		rs->stack[rs->depth - 1]->fresh = made;
		i = j + 1;
	}
	return 0;
}

/* ---- placing objects ---- */

/* 1 when name exists in dir (without following it); *isdir tells. */
static int
exists_at(int dir, const char *name, int *isdir)
{
	struct stat st;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	*isdir = S_ISDIR(st.st_mode);
	return 1;
}

/*
 * Make room for a new entry: 0 to go ahead, 1 to skip it (exists, no
 * --replace), -1 on failure with why set.
 */
static int
clear_way(struct rs *rs, const struct rdir *d, const char *name,
    int unlink_old, char *why, size_t wlen)
{
	int const dir = d->fd;
	int isdir = 0;

	/* In a directory this run made there is nothing to probe for. */
	if (d->fresh || !exists_at(dir, name, &isdir))
		return 0;
	if (!rs->p->replace)
		return 1;
	if (isdir) {
		snprintf(why, wlen, "a directory is in the way");
		return -1;
	}
	if (unlink_old && unlinkat(dir, name, 0) != 0) {
		snprintf(why, wlen, "remove the old entry: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
place_dir(struct rs *rs, const struct proto_obj *o, const char *name,
    char *why, size_t wlen)
{
	struct rdir *d;
	int made, fd;

	if ((fd = open_dir_at(rs->stack[rs->depth - 1]->fd, name, 1,
	    rs->stack[rs->depth - 1]->fresh, &made)) < 0) {
		snprintf(why, wlen, "%s%s", strerror(errno), errno == ELOOP ||
		    errno == ENOTDIR ? " (a symlink or file is in the way: not "
		    "followed)" : "");
		return -1;
	}
	if ((d = rdir_push(rs, fd, name, strlen(name), NULL)) == NULL ||
	    (d->path = strndup(o->path, o->path_len)) == NULL) {
		if (d == NULL)
			close(fd);
		snprintf(why, wlen, "out of memory");
		return -1;
	}
	d->fresh = made;
	d->has_meta = 1;
	d->mode = o->mode;
	d->uid = o->uid;
	d->gid = o->gid;
	d->mtime_ns = o->mtime_ns;
	return 0;
}

static int
place_symlink(struct rs *rs, const struct proto_obj *o, const char *name,
    char *why, size_t wlen)
{
	int const dir = rs->stack[rs->depth - 1]->fd;
	char target[PATH_MAX];
	struct timespec ts[2];
	int r;

	if (o->link == NULL || o->link_len >= sizeof(target)) {
		snprintf(why, wlen, "symlink without a usable target");
		return -1;
	}
	memcpy(target, o->link, o->link_len);
	target[o->link_len] = '\0';
	if ((r = clear_way(rs, rs->stack[rs->depth - 1], name, 1, why,
	    wlen)) != 0)
		return r;
	/* The target is data: it is stored, never followed (1). */
	if (symlinkat(target, dir, name) != 0) {
		snprintf(why, wlen, "symlink: %s", strerror(errno));
		return -1;
	}
	ns_to_ts(o->mtime_ns, &ts[1]);
	ts[0] = ts[1];
	if ((rs->is_root && fchownat(dir, name, o->uid, o->gid,
	    AT_SYMLINK_NOFOLLOW) != 0) ||
	    utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
		say(rs, "%.*s: setting owner or times: %s", (int)o->path_len,
		    o->path, strerror(errno));
	return 0;
}

static void
job_free(struct rjob *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->mu);
	free(j->name);
	free(j->path);
	free(j->link);
	free(j->recipe);
	for (size_t k = 0; k < j->nparts; k++)
		free(j->parts[k].recipe);
	free(j->parts);
	free(j->mem);
	free(j);
}

/*
 * The entries of o's recipe, checked against its size; why says what is
 * wrong.
 */
static int
recipe_entries(const struct proto_obj *o, size_t *n, char *why, size_t wlen)
{
	uint64_t total = 0;

	if (pool_recipe_count(o->recipe, o->recipe_len, n, NULL) != 0) {
		snprintf(why, wlen, "the server sent a ragged recipe");
		return -1;
	}
	for (size_t i = 0; i < *n; i++)
		total += pool_recipe_len(o->recipe, i);
	if (total != o->size) {
		snprintf(why, wlen, "recipe holds %" PRIu64 " bytes, the file %"
		    PRIu64, total, o->size);
		return -1;
	}
	return 0;
}

/*
 * Part p of a job, starting at entry first: o's recipe is copied when o
 * came with it, else only its entries are counted (the listing told its
 * length) and it is fetched later.
 */
static int
part_init(struct rpart *p, const struct proto_obj *o, size_t first,
    char *why, size_t wlen)
{
	size_t n;

	p->id = o->id;
	p->size = o->size;
	p->first = first;
	if (o->recipe == NULL) {
		if (o->recipe_len % POOL_RECIPE_ENTRY != 0 ||
		    (o->recipe_len == 0) != (o->size == 0)) {
			snprintf(why, wlen, "the server sent a ragged recipe");
			return -1;
		}
		p->end = first + o->recipe_len / POOL_RECIPE_ENTRY;
		p->loaded = o->recipe_len == 0;
		return 0;
	}
	if (recipe_entries(o, &n, why, wlen) != 0)
		return -1;
	p->end = first + n;
	p->loaded = 1;
	if (o->recipe_len > 0 && (p->recipe = malloc(o->recipe_len)) == NULL) {
		snprintf(why, wlen, "out of memory");
		return -1;
	}
	if (o->recipe_len > 0)
		memcpy(p->recipe, o->recipe, o->recipe_len);
	return 0;
}

/*
 * j's recipe: o's, followed by those of the more objects that continue
 * it (restore_item), each a part with its object id.  One object that
 * came with its recipe is the usual case: the job keeps a copy.
 */
static int
job_recipe(struct rjob *j, const struct proto_obj *o,
    const struct proto_obj *const *more, size_t nmore, char *why,
    size_t wlen)
{
	if (nmore == 0 && (o->recipe != NULL || o->recipe_len == 0)) {
		if (recipe_entries(o, &j->nent, why, wlen) != 0)
			return -1;
		if (o->recipe_len == 0)
			return 0;
		if ((j->recipe = malloc(o->recipe_len)) == NULL) {
			snprintf(why, wlen, "out of memory");
			return -1;
		}
		memcpy(j->recipe, o->recipe, o->recipe_len);
		return 0;
	}
	if ((j->parts = calloc(nmore + 1, sizeof(*j->parts))) == NULL) {
		snprintf(why, wlen, "out of memory");
		return -1;
	}
	j->nparts = nmore + 1;
	if (part_init(&j->parts[0], o, 0, why, wlen) != 0)
		return -1;
	for (size_t k = 0; k < nmore; k++) {
		if (part_init(&j->parts[k + 1], more[k], j->parts[k].end, why,
		    wlen) != 0)
			return -1;
		j->size += more[k]->size;
	}
	j->nent = j->parts[nmore].end;
	return 0;
}

static int
queue_job(struct rs *rs, const struct proto_obj *o,
    const struct proto_obj *const *more, size_t nmore, const char *name,
    char *why, size_t wlen)
{
	struct rjob *j;
	int const kind = o->type == CLIENT_OBJ_HARDLINK ? J_LINK : J_FILE;
	int r;

	if (rs->stack[rs->depth - 1]->fd >= 0 && (r = clear_way(rs,
	    rs->stack[rs->depth - 1], name, 0, why, wlen)) != 0)
		return r;
	if (kind == J_LINK && o->link == NULL) {
		snprintf(why, wlen, "hard link without a target");
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto nomem;
	if (pthread_mutex_init(&j->mu, NULL) != 0) {
		free(j);
		goto nomem;
	}
	j->fd = -1;
	j->rs = rs;
	j->kind = kind;
	j->id = o->id;
	j->size = o->size;
	j->mode = o->mode;
	j->uid = o->uid;
	j->gid = o->gid;
	j->mtime_ns = o->mtime_ns;
	if (kind == J_FILE && job_recipe(j, o, more, nmore, why, wlen) != 0) {
		job_free(j);
		return -1;
	}
	if ((j->name = strdup(name)) == NULL ||
	    (j->path = strndup(o->path, o->path_len)) == NULL ||
	    (o->link != NULL && (j->link = strndup(o->link,
	    o->link_len)) == NULL)) {
		job_free(j);
		goto nomem;
	}
	j->dir = rs->stack[rs->depth - 1];
	j->dir->refs++;
	if (rs->tail != NULL)
		rs->tail->next = j;
	else
		rs->head = j;
	rs->tail = j;
	if (rs->req == NULL)
		rs->req = j;
	rs->njobs++;
	return 0;
nomem:
	snprintf(why, wlen, "out of memory");
	return -1;
}

/* Place one selected object at rel. */
static void
place(struct rs *rs, const struct proto_obj *o, const char *rel)
{
	char why[ERR_MSG_MAX] = "";
	const char *slash = strrchr(rel, '/');
	const char *name = slash ? slash + 1 : rel;
	size_t const nparent = slash ? (size_t)(slash - rel) : 0;
	int r = -1;

	rs->st->matched++;
	if (stack_to(rs, rel, nparent, why, sizeof(why)) == 0) {
		switch (o->type) {
		case CLIENT_OBJ_DIR:
			r = place_dir(rs, o, name, why, sizeof(why));
			break;
		case CLIENT_OBJ_SYMLINK:
			r = place_symlink(rs, o, name, why, sizeof(why));
			break;
		case CLIENT_OBJ_FILE:
		case CLIENT_OBJ_HARDLINK:
			/* Counted when the job finishes. */
			if ((r = queue_job(rs, o, NULL, 0, name, why,
			    sizeof(why))) == 0)
				return;
			break;
		default:
			snprintf(why, sizeof(why), "a %s cannot be restored "
			    "here", client_type_name(o->type));
			break;
		}
	}
	if (r == 0) {
		rs->st->restored++;
		progress_add(&rs->pg, 1, 0);
	} else if (r == 1) {
		say(rs, "%.*s: exists at the destination; skipped (use "
		    "--replace)", (int)o->path_len, o->path);
		rs->st->skipped++;
	} else {
		say(rs, "%.*s: %s; not restored", (int)o->path_len, o->path,
		    why);
		rs->st->failed++;
	}
}

/* ---- listing ---- */

static int
on_page(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct rs *rs = arg;
	char rel[PATH_MAX];
	uint8_t more;
	uint32_t n;
	int r;

	(void)type;
	rs->list_asked = 0;
	if ((r = wire_get_u8(rd, &more, e)) != 0 ||
	    (r = wire_get_u32(rd, &n, e)) != 0)
		return err_wrap(e, "OBJ_PAGE");
	for (uint32_t i = 0; i < n; i++) {
		struct proto_obj o;
		struct err me;

		if ((r = proto_get_obj(rd, &o, 1, e)) != 0)
			return err_wrap(e, "OBJ_PAGE object %u", i);
		if (o.path_len >= sizeof(rs->after))
			return err_set(e, COFFER_EPROTO, "OBJ_PAGE path too "
			    "long");
		memcpy(rs->after, o.path, o.path_len);
		rs->after[o.path_len] = '\0';
		/* Versions of a path come newest first: keep the first. */
		if (rs->have_prev && rs->prev_len == o.path_len &&
		    memcmp(rs->prev, o.path, o.path_len) == 0)
			continue;
		memcpy(rs->prev, o.path, o.path_len);
		rs->prev_len = o.path_len;
		rs->have_prev = 1;
		err_clear(&me);
		r = restore_path_map(&rs->plan, o.path, o.path_len, rel,
		    sizeof(rel), &me);
		if (r == RESTORE_SKIP)
			continue;
		if (r != 0) {
			say(rs, "%s; not restored", me.msg);
			rs->st->failed++;
			continue;
		}
		place(rs, &o, rel);
	}
	if ((r = wire_rd_end(rd, e)) != 0)
		return err_wrap(e, "OBJ_PAGE");
	if (!more || n == 0)
		rs->list_done = 1;
	return 0;
}

static int
ask_page(struct rs *rs, struct err *e)
{
	struct wire_buf b;
	int const with_pit = rs->p->pit > 0;
	int r;

	wire_buf_init(&b, 3 * WIRE_STR_MAX + 64);
	wire_put_str(&b, rs->fsname);
	/* "/" as a prefix means everything: send "". */
	wire_put_str(&b, rs->plan.base_len == 1 ? "" : rs->plan.base);
	wire_put_u64(&b, (uint64_t)(with_pit ? rs->p->pit : 0));
	wire_put_u8(&b, (uint8_t)(!with_pit && rs->p->inactive));
	wire_put_str(&b, rs->after);
	wire_put_u32(&b, RESTORE_PAGE);
	r = net_send(rs->c, PT_OBJ_LIST, &b, e);
	wire_buf_free(&b);
	if (r != 0 || (r = net_expect(rs->c, PT_OBJ_PAGE, 1, on_page, rs,
	    e)) != 0)
		return r;
	rs->list_asked = 1;
	return 0;
}

/* ---- file data: the workers ---- */

static void
job_fail(struct rjob *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fail j with the first cause given; any thread. */
static void
job_fail(struct rjob *j, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&j->mu);
	if (!j->failed) {
		j->failed = 1;
		va_start(ap, fmt);
		vsnprintf(j->why, sizeof(j->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&j->mu);
}

static int
job_failed(struct rjob *j)
{
	int f;

	pthread_mutex_lock(&j->mu);
	f = j->failed;
	pthread_mutex_unlock(&j->mu);
	return f;
}

/* Called with j->mu held: create j's temp file on its first item (1). */
static void
open_tmp_locked(struct rs *rs, struct rjob *j)
{
	int const dir = j->dir->fd;

	for (int tries = 0; tries < 100; tries++) {
		uint64_t const seq = __atomic_add_fetch(&rs->tmp_seq, 1,
		    __ATOMIC_RELAXED);

		snprintf(j->tmp, sizeof(j->tmp), ".coffer-restore.%ld.%" PRIu64,
		    rs->pid, seq);
		/* (1): never through a symlink, never an existing file. */
		j->fd = openat(dir, j->tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (j->fd >= 0 || errno != EEXIST)
			break;
	}
	if (j->fd < 0) {
		if (!j->failed) {
			j->failed = 1;
			snprintf(j->why, sizeof(j->why), "create %s: %s",
			    j->tmp, strerror(errno));
		}
		j->tmp[0] = '\0';
	}
}

/*
 * Write a verified chunk at off, leaving its all-zero blocks as holes:
 * a chunk that straddles the edge of a hole is partly zero, and the file
 * was sparse there.  *wend is where the last byte written ends (0 when
 * nothing was), so that finalize knows whether the file needs its size set.
 */
static int
write_sparse(struct rjob *j, int fd, const uint8_t *p, uint32_t len,
    uint64_t off, uint64_t *wend, struct err *e)
{
	uint32_t i = 0;

	*wend = 0;
	if (j->mem != NULL) {
		/* In bounds: queue_job checked that the recipe is the size. */
		memcpy(j->mem + off, p, len);
		return 0;
	}
	while (i < len) {
		uint32_t start, n;

		while (i < len && util_is_zero(p + i, len - i < HOLE_BLOCK ?
		    len - i : HOLE_BLOCK))
			i += len - i < HOLE_BLOCK ? len - i : HOLE_BLOCK;
		start = i;
		while (i < len && !util_is_zero(p + i, len - i < HOLE_BLOCK ?
		    len - i : HOLE_BLOCK))
			i += len - i < HOLE_BLOCK ? len - i : HOLE_BLOCK;
		n = i - start;
		if (n > 0 && util_pwrite_full(fd, p + start, n,
		    (off_t)(off + start), "restored file", e) != 0)
			return e ? e->code : COFFER_EIO;
		if (n > 0)
			*wend = off + start + n;
	}
	return 0;
}

/* A worker's own contexts (house style 18). */
struct rworker {
	struct rs	*rs;
	struct codec	*codec;
	struct hash_ctx	*hash;
	uint8_t		*buf;
	size_t		 buf_cap;
};

/*
 * Decode, verify (2) and write one chunk; fd is j's file (or -1: mem).
 * *wend as for write_sparse.
 */
static void
chunk_write(struct rworker *w, struct ritem *it, int fd, uint64_t *wend)
{
	struct rjob *j = it->job;
	const uint8_t *want = it->want;
	uint32_t const len = it->len;
	uint8_t got[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	struct err de;

	if (len > w->buf_cap) {
		uint8_t *nb = realloc(w->buf, len);

		if (nb == NULL) {
			job_fail(j, "out of memory for a %u-byte chunk", len);
			return;
		}
		w->buf = nb;
		w->buf_cap = len;
	}
	err_clear(&de);
	if (codec_decode(w->codec, it->codec_id, it->stored, it->n, w->buf,
	    len, &de) != 0) {
		hash_to_hex(want, hex);
		job_fail(j, "chunk %u (%.16s...) does not decode: %s", it->idx,
		    hex, de.msg);
		return;
	}
	if (it->corrupt && len > 0)
		w->buf[len / 2] ^= 0x01;
	/* (2): no byte of a chunk is written before its SHA-256 matched. */
	if (hash_sha256(w->hash, w->buf, len, got) != 0 ||
	    memcmp(got, want, HASH_LEN) != 0) {
		hash_to_hex(want, hex);
		job_fail(j, "chunk %u (%.16s...) failed verification: its "
		    "SHA-256 does not match", it->idx, hex);
		return;
	}
	if (write_sparse(j, fd, w->buf, len, it->off, wend, &de) != 0) {
		job_fail(j, "%s: %s", j->tmp, de.msg);
		return;
	}
	__atomic_add_fetch(&w->rs->bytes_done, len, __ATOMIC_RELAXED);
}

/*
 * After j's last item: give the file its size, owner, mode and times and
 * its name (2), or remove the temp file of a failed one.  No other thread
 * touches j now.
 */
static void
finalize(struct rs *rs, struct rjob *j)
{
	int const dir = j->dir->fd;
	struct timespec ts[2];
	int r;

	if (j->mem != NULL)
		return;
	pthread_mutex_lock(&rs->pool.fs_mu);
	if (!j->failed && ((j->end < j->size &&
	    ftruncate(j->fd, (off_t)j->size) != 0) ||
	    (rs->is_root && fchown(j->fd, j->uid, j->gid) != 0) ||
	    fchmod(j->fd, j->mode & 07777) != 0))
		job_fail(j, "set size, owner or mode: %s", strerror(errno));
	if (!j->failed) {
		ns_to_ts(j->mtime_ns, &ts[1]);
		ts[0] = ts[1];
		if (futimens(j->fd, ts) != 0)
			job_fail(j, "set times: %s", strerror(errno));
	}
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	if (!j->failed) {
		/* (2): the verified file takes its name in one step. */
		if (rs->p->replace)
			r = renameat(dir, j->tmp, dir, j->name);
		else
			r = renameat2(dir, j->tmp, dir, j->name,
			    RENAME_NOREPLACE);
		if (r != 0)
			job_fail(j, "rename into place: %s", strerror(errno));
	}
	if (j->failed && j->tmp[0] != '\0')
		(void)unlinkat(dir, j->tmp, 0);
	pthread_mutex_unlock(&rs->pool.fs_mu);
	j->tmp[0] = '\0';
}

static void
job_set_done(struct rs *rs, struct rjob *j)
{
	pthread_mutex_lock(&rs->pool.mu);
	j->done = 1;
	pthread_cond_broadcast(&rs->pool.main);
	pthread_mutex_unlock(&rs->pool.mu);
}

static void
process(struct rworker *w, struct ritem *it)
{
	struct rs *rs = w->rs;
	struct rjob *j = it->job;
	uint64_t wend = 0;
	int fd, failed, last;

	pthread_mutex_lock(&j->mu);
	if (!j->failed && j->fd < 0 && j->mem == NULL) {
		pthread_mutex_lock(&rs->pool.fs_mu);
		open_tmp_locked(rs, j);
		pthread_mutex_unlock(&rs->pool.fs_mu);
	}
	fd = j->fd;
	failed = j->failed;
	pthread_mutex_unlock(&j->mu);
	if (!failed && it->kind == RI_DATA)
		chunk_write(w, it, fd, &wend);
	pthread_mutex_lock(&j->mu);
	if (wend > j->end)
		j->end = wend;
	last = --j->left == 0;
	pthread_mutex_unlock(&j->mu);
	if (last) {
		finalize(rs, j);
		job_set_done(rs, j);
	}
}

static void *
worker_main(void *arg)
{
	struct rworker *w = arg;
	struct rpool *pl = &w->rs->pool;

	for (;;) {
		struct ritem *it;

		pthread_mutex_lock(&pl->mu);
		while (!pl->quit && pl->head == NULL)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (pl->quit) {
			pthread_mutex_unlock(&pl->mu);
			break;
		}
		it = pl->head;
		if ((pl->head = it->next) == NULL)
			pl->tail = NULL;
		pl->bytes -= it->n;
		pl->items--;
		pthread_cond_broadcast(&pl->main);
		pthread_mutex_unlock(&pl->mu);
		process(w, it);
		free(it);
	}
	codec_free(w->codec);
	hash_ctx_free(w->hash);
	free(w->buf);
	free(w);
	return NULL;
}

/*
 * Hand one item to the workers, waiting while the queue is full (an
 * empty queue always takes one, so a chunk larger than the bound passes).
 */
static void
enqueue(struct rs *rs, struct ritem *it)
{
	struct rpool *pl = &rs->pool;

	pthread_mutex_lock(&pl->mu);
	while (pl->head != NULL && (pl->items >= RESTORE_QUEUE_ITEMS ||
	    pl->bytes + it->n > RESTORE_QUEUE_BYTES))
		pthread_cond_wait(&pl->main, &pl->mu);
	it->next = NULL;
	if (pl->tail != NULL)
		pl->tail->next = it;
	else
		pl->head = it;
	pl->tail = it;
	pl->bytes += it->n;
	pl->items++;
	pthread_cond_signal(&pl->work);
	pthread_mutex_unlock(&pl->mu);
}

static int
push_item(struct rs *rs, struct rjob *j, int kind, size_t idx, uint32_t len,
    uint8_t codec_id, const uint8_t *want, const uint8_t *stored, size_t n,
    struct err *e)
{
	struct ritem *it;

	if ((it = malloc(sizeof(*it) + n)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory for a chunk "
		    "of %s", j->path);
	it->job = j;
	it->off = j->off;
	it->len = len;
	it->idx = (uint32_t)idx;
	it->kind = (uint8_t)kind;
	it->codec_id = codec_id;
	it->n = n;
	if (want != NULL)
		memcpy(it->want, want, HASH_LEN);
	it->corrupt = kind == RI_DATA && rs->corrupt_at != 0 &&
	    ++rs->nrecv == rs->corrupt_at;
	if (n > 0)
		memcpy(it->stored, stored, n);
	enqueue(rs, it);
	return 0;
}

static int
pool_start(struct rs *rs, struct err *e)
{
	struct rpool *pl = &rs->pool;
	const char *env = getenv("COFFER_RESTORE_THREADS");
	const char *fault = getenv("COFFER_FAULT_RESTORE_CORRUPT");
	size_t n = RESTORE_THREADS;

	if (env != NULL && atoi(env) > 0)
		n = (size_t)atoi(env) < THREADS_MAX ? (size_t)atoi(env) :
		    THREADS_MAX;
	/*
	 * Fault injection for the tests: flip a bit of the Nth chunk
	 * received, after decoding and before verification.
	 */
	if (fault != NULL)
		rs->corrupt_at = strtoull(fault, NULL, 10);
	if (pthread_mutex_init(&pl->mu, NULL) != 0 ||
	    pthread_mutex_init(&pl->fs_mu, NULL) != 0 ||
	    pthread_cond_init(&pl->work, NULL) != 0 ||
	    pthread_cond_init(&pl->main, NULL) != 0)
		return err_set(e, COFFER_EINTERNAL, "restore: cannot make "
		    "the worker queue's lock");
	pl->mu_ok = 1;
	for (size_t i = 0; i < n; i++) {
		struct rworker *w;
		int rc;

		if ((w = calloc(1, sizeof(*w))) == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		w->rs = rs;
		if ((w->codec = codec_new(0, e)) == NULL ||
		    (w->hash = hash_ctx_new(e)) == NULL) {
			codec_free(w->codec);
			free(w);
			return e ? e->code : COFFER_ENOMEM;
		}
		if ((rc = pthread_create(&pl->th[i], NULL, worker_main,
		    w)) != 0) {
			codec_free(w->codec);
			hash_ctx_free(w->hash);
			free(w);
			return err_set(e, COFFER_EINTERNAL, "restore: start "
			    "worker thread: %s", strerror(rc));
		}
		pl->nthreads++;
	}
	return 0;
}

/* Stop the workers (dropping what is still queued) and wait for them. */
static void
pool_stop(struct rs *rs)
{
	struct rpool *pl = &rs->pool;

	if (!pl->mu_ok)
		return;
	pthread_mutex_lock(&pl->mu);
	pl->quit = 1;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->mu);
	for (size_t i = 0; i < pl->nthreads; i++)
		pthread_join(pl->th[i], NULL);
	pl->nthreads = 0;
	while (pl->head != NULL) {
		struct ritem *it = pl->head;

		pl->head = it->next;
		free(it);
	}
	pl->tail = NULL;
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->main);
	pthread_mutex_destroy(&pl->fs_mu);
	pthread_mutex_destroy(&pl->mu);
	pl->mu_ok = 0;
}

/* Main: wait until a worker finishes something (a job, an item). */
static void
pool_wait(struct rs *rs)
{
	pthread_mutex_lock(&rs->pool.mu);
	if (rs->head != NULL && !rs->head->done)
		pthread_cond_wait(&rs->pool.main, &rs->pool.mu);
	pthread_mutex_unlock(&rs->pool.mu);
}

static int
job_is_done(struct rs *rs, struct rjob *j)
{
	int d;

	pthread_mutex_lock(&rs->pool.mu);
	d = j->done;
	pthread_mutex_unlock(&rs->pool.mu);
	return d;
}

/* ---- file data: the main thread ---- */

/*
 * The recipe that holds entry i of j, and i's index in it: j's own, or
 * the part's at *cur, which moves forward to i's part (requests and
 * replies each go through a job in order).  NULL: not fetched yet.
 */
static const uint8_t *
job_entry(struct rjob *j, size_t i, size_t *cur, size_t *local)
{
	if (j->nparts == 0) {
		*local = i;
		return j->recipe;
	}
	while (*cur + 1 < j->nparts && i >= j->parts[*cur].end)
		(*cur)++;
	*local = i - j->parts[*cur].first;
	return j->parts[*cur].recipe;
}

static int
on_data(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct rjob *j = arg;
	struct rs *rs = j->rs;
	uint8_t hash[HASH_LEN], codec_id;
	const uint8_t *stored, *rec;
	uint32_t raw_len, len;
	size_t n, k, i = j->next_recv++;
	int zero, kind = RI_SKIP, r;

	(void)type;
	if (i >= j->nent)
		return err_set(e, COFFER_EPROTO, "CHUNK_DATA beyond the %zu "
		    "entries of %s", j->nent, j->path);
	/* Asked for only once its part was here, which stays until now. */
	rec = job_entry(j, i, &j->recv_part, &k);
	len = pool_recipe_len(rec, k);
	zero = pool_recipe_is_zero(rec, k);
	rs->win_entries--;
	rs->win_bytes -= zero ? 0 : len;
	if ((r = wire_get_raw(rd, hash, HASH_LEN, e)) != 0 ||
	    (r = wire_get_u32(rd, &raw_len, e)) != 0 ||
	    (r = wire_get_u8(rd, &codec_id, e)) != 0 ||
	    (r = wire_get_bytes(rd, WIRE_FRAME_MAX, &stored, &n, e)) != 0 ||
	    (r = wire_rd_end(rd, e)) != 0)
		return err_wrap(e, "CHUNK_DATA for %s", j->path);
	if (job_failed(j)) {
		/* Drain what was asked for. */
	} else if (raw_len != len || memcmp(hash, pool_recipe_hash(rec, k),
	    HASH_LEN) != 0) {
		job_fail(j, "chunk %zu: the server sent another chunk than "
		    "the recipe names", i);
	} else if (zero) {
		if (codec_id != 0 || n != 0)
			job_fail(j, "chunk %zu: a zero run with data", i);
		/* A hole: nothing to write. */
	} else if (len > CHUNKER_LIMIT_MAX) {
		job_fail(j, "chunk %zu: %u bytes exceed the chunk limit", i,
		    len);
	} else {
		kind = RI_DATA;
	}
	r = push_item(rs, j, kind, i, len, codec_id, pool_recipe_hash(rec, k),
	    kind == RI_DATA ? stored : NULL, kind == RI_DATA ? n : 0, e);
	j->off += len;
	/* The workers have the hash: a part whose chunks all came goes. */
	if (j->nparts > 0 && i + 1 == j->parts[j->recv_part].end) {
		free(j->parts[j->recv_part].recipe);
		j->parts[j->recv_part].recipe = NULL;
	}
	return r;
}

/* RECIPE_GET's answer: the recipe of j's part ask_next. */
static int
on_recipe(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct rjob *j = arg;
	struct rpart *p = &j->parts[j->ask_next];
	struct proto_obj o;
	char why[ERR_MSG_MAX];
	const uint8_t *rec;
	size_t len, n;
	int r;

	(void)type;
	j->asking = 0;
	j->ask_next++;
	if ((r = wire_get_bytes(rd, PROTO_RECIPE_MAX, &rec, &len, e)) != 0 ||
	    (r = wire_rd_end(rd, e)) != 0)
		return err_wrap(e, "OBJ_RECIPE_OK for %s", j->path);
	memset(&o, 0, sizeof(o));
	o.recipe = rec;
	o.recipe_len = len;
	o.size = p->size;
	if (recipe_entries(&o, &n, why, sizeof(why)) != 0) {
		job_fail(j, "object %" PRIu64 ": %s", p->id, why);
	} else if (n != p->end - p->first) {
		/* The listing said how long: the version is not that one. */
		job_fail(j, "object %" PRIu64 ": the recipe has %zu entries, "
		    "the listing said %zu", p->id, n, p->end - p->first);
	} else if ((p->recipe = malloc(len)) == NULL) {
		job_fail(j, "out of memory for a recipe of %zu bytes", len);
	} else {
		memcpy(p->recipe, rec, len);
		p->loaded = 1;
	}
	return 0;
}

/*
 * Fetch j's next part's recipe ahead of the requests: one at a time, and
 * the one after the part being requested only once every chunk before
 * that part has come and its recipe is gone, so a job holds at most two
 * parts' recipes.
 */
static int
part_ask(struct rs *rs, struct rjob *j, struct err *e)
{
	struct wire_buf b;
	int r;

	while (j->ask_next < j->nparts && j->parts[j->ask_next].loaded &&
	    !j->asking)
		j->ask_next++;
	if (j->asking || j->ask_next >= j->nparts ||
	    j->ask_next > j->req_part + 1 ||
	    (j->ask_next > j->req_part && j->recv_part < j->req_part))
		return 0;
	wire_buf_init(&b, 16);
	wire_put_u64(&b, j->parts[j->ask_next].id);
	r = net_send(rs->c, PT_RECIPE_GET, &b, e);
	wire_buf_free(&b);
	if (r != 0 || (r = net_expect(rs->c, PT_OBJ_RECIPE_OK, 1, on_recipe, j,
	    e)) != 0)
		return r;
	j->asking = 1;
	return 0;
}

/*
 * A failed job asks for nothing more: its entries end at those already
 * asked for.  The worker that processes the last of them finalizes it,
 * or main does now when none is left.
 */
static void
job_cut(struct rs *rs, struct rjob *j)
{
	int last;

	pthread_mutex_lock(&j->mu);
	j->left -= j->nent - j->next_req;
	last = j->left == 0;
	pthread_mutex_unlock(&j->mu);
	j->nent = j->next_req;
	if (last) {
		finalize(rs, j);
		job_set_done(rs, j);
	}
}

/*
 * Start job j: it gets as many items as chunks (one for a file without
 * any), all counted in left before the first is queued.  A job that
 * failed before it started is done at once.
 */
static int
job_start(struct rs *rs, struct rjob *j, struct err *e)
{
	j->queued = 1;
	pthread_mutex_lock(&j->mu);
	j->left = j->nent > 0 ? j->nent : 1;
	pthread_mutex_unlock(&j->mu);
	if (job_failed(j)) {
		j->next_req = j->next_recv = j->nent;
		j->left = 0;
		job_set_done(rs, j);
		return 0;
	}
	if (j->nent == 0)
		return push_item(rs, j, RI_SKIP, 0, 0, 0, NULL, NULL, 0, e);
	return 0;
}

/* Request data ahead for the jobs after the head, within the window. */
static int
issue(struct rs *rs, struct err *e)
{
	struct wire_buf b;
	int r = 0;

	wire_buf_init(&b, 32);
	while (rs->req != NULL && r == 0) {
		struct rjob *j = rs->req;

		if (j->kind == J_FILE && !j->queued &&
		    (r = job_start(rs, j, e)) != 0)
			goto out;
		while (j->kind == J_FILE && j->next_req < j->nent) {
			size_t first = 0, end = j->nent, local;
			uint64_t id = j->id;
			const uint8_t *rec;
			uint32_t count = 0;
			uint64_t bytes = 0;

			/* A failed job's chunks would only be drained. */
			if (job_failed(j)) {
				job_cut(rs, j);
				break;
			}
			rec = job_entry(j, j->next_req, &j->req_part, &local);
			if (j->nparts > 0) {
				const struct rpart *p = &j->parts[j->req_part];

				if ((r = part_ask(rs, j, e)) != 0)
					goto out;
				if (!p->loaded)
					goto out;	/* its recipe comes */
				first = p->first;
				end = p->end;
				id = p->id;
			}

			/* One CHUNK_GET names entries of one object. */
			while (j->next_req + count < end &&
			    count < RESTORE_GET_MAX) {
				size_t const k = local + count;
				uint64_t const l = pool_recipe_is_zero(rec, k) ?
				    0 : pool_recipe_len(rec, k);

				/* An empty window always takes one. */
				if ((rs->win_entries + count > 0) &&
				    (rs->win_entries + count + 1 >
				    RESTORE_WINDOW_ENTRIES ||
				    rs->win_bytes + bytes + l >
				    RESTORE_WINDOW_BYTES))
					break;
				bytes += l;
				count++;
			}
			if (count == 0)
				goto out;	/* the window is full */
			wire_buf_reset(&b);
			wire_put_u64(&b, id);
			wire_put_u32(&b, (uint32_t)(j->next_req - first));
			wire_put_u32(&b, count);
			if ((r = net_send(rs->c, PT_CHUNK_GET, &b, e)) != 0 ||
			    (r = net_expect(rs->c, PT_CHUNK_DATA, count,
			    on_data, j, e)) != 0)
				goto out;
			j->next_req += count;
			rs->win_entries += count;
			rs->win_bytes += bytes;
		}
		rs->req = j->next;
	}
out:
	wire_buf_free(&b);
	return r;
}

/* ---- finishing jobs (main thread, FIFO order) ---- */

/* A restore_objects job into memory: the item takes the bytes. */
static void
finish_mem(struct rs *rs, struct rjob *j)
{
	if (j->failed) {
		say(rs, "%s: %s; not restored", j->path, j->why);
		snprintf(j->item->why, sizeof(j->item->why), "%s", j->why);
		rs->st->failed++;
		return;
	}
	j->item->mem = j->mem;
	j->item->mem_len = j->size;
	j->item->ok = 1;
	j->mem = NULL;
	rs->st->restored++;
}

/* Count and tell a file job its worker finalized. */
static void
finish_file(struct rs *rs, struct rjob *j)
{
	if (j->mem != NULL) {
		finish_mem(rs, j);
		return;
	}
	if (j->failed) {
		say(rs, "%s: %s; not restored", j->path, j->why);
		if (j->item != NULL)
			snprintf(j->item->why, sizeof(j->item->why), "%s",
			    j->why);
		rs->st->failed++;
		return;
	}
	if (j->item != NULL)
		j->item->ok = 1;
	remember_written(rs, j->path);
	rs->st->restored++;
	progress_add(&rs->pg, 1, 0);
}

/* Open the directory rel (relative to root) without following links. */
static int
open_rel_dir(struct rs *rs, const char *rel, size_t len)
{
	int fd = dup(rs->root_fd), nfd, made;
	size_t i = 0;

	while (fd >= 0 && i < len) {
		char comp[NAME_MAX + 1];
		size_t j = i;

		while (j < len && rel[j] != '/')
			j++;
		if (j - i > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, rel + i, j - i);
		comp[j - i] = '\0';
		nfd = open_dir_at(fd, comp, 0, 0, &made);
		close(fd);
		fd = nfd;
		i = j + 1;
	}
	return fd;
}

static void
remember_written(struct rs *rs, const char *path)
{
	uint8_t h[HASH_LEN];

	if (hash_sha256(rs->hash, path, strlen(path), h) == 0)
		(void)hset_put(&rs->written, h, NULL);
}

static int
was_written(struct rs *rs, const char *path)
{
	uint8_t h[HASH_LEN];

	return hash_sha256(rs->hash, path, strlen(path), h) == 0 &&
	    hset_get(&rs->written, h) != NULL;
}

static void
finish_link(struct rs *rs, struct rjob *j)
{
	char rel[PATH_MAX];
	const char *slash, *tname;
	struct err me;
	int tfd = -1, r;

	err_clear(&me);
	r = restore_path_map(&rs->plan, j->link, strlen(j->link), rel,
	    sizeof(rel), &me);
	if (r != 0) {
		job_fail(j, "hard link target %s is not part of this restore",
		    j->link);
		goto out;
	}
	if (!was_written(rs, j->link)) {
		job_fail(j, "hard link target %s was not restored by this run",
		    j->link);
		goto out;
	}
	slash = strrchr(rel, '/');
	tname = slash ? slash + 1 : rel;
	if ((tfd = open_rel_dir(rs, rel, slash ? (size_t)(slash - rel) : 0)) <
	    0 || linkat(tfd, tname, j->dir->fd, j->name, 0) != 0) {
		if (errno == EEXIST && rs->p->replace &&
		    unlinkat(j->dir->fd, j->name, 0) == 0 &&
		    linkat(tfd, tname, j->dir->fd, j->name, 0) == 0)
			goto out;
		job_fail(j, "hard link to %s: %s%s", j->link, strerror(errno),
		    errno == ENOENT ? " (the target was not restored)" : "");
	}
out:
	if (tfd >= 0)
		close(tfd);
	if (j->failed) {
		say(rs, "%s: %s; not restored", j->path, j->why);
		rs->st->failed++;
	} else {
		rs->st->restored++;
		progress_add(&rs->pg, 1, 0);
	}
}

/* Bring the byte counts up to what the workers wrote. */
static void
tell_bytes(struct rs *rs)
{
	uint64_t const b = __atomic_load_n(&rs->bytes_done, __ATOMIC_RELAXED);

	if (b > rs->bytes_told) {
		progress_add(&rs->pg, 0, b - rs->bytes_told);
		rs->bytes_told = b;
	}
	rs->st->bytes = b;
}

/* Retire the jobs at the head that the workers finished. */
static void
finish_ready(struct rs *rs)
{
	while (rs->head != NULL) {
		struct rjob *j = rs->head;

		/*
		 * A failed job is done early, but a RECIPE_GET it sent is
		 * still answered to it: it stays until that reply came.
		 */
		if (j->kind == J_FILE && (!job_is_done(rs, j) || j->asking))
			break;
		if (rs->req == j)
			rs->req = j->next;
		rs->head = j->next;
		if (rs->head == NULL)
			rs->tail = NULL;
		rs->njobs--;
		if (j->kind == J_FILE)
			finish_file(rs, j);
		else
			finish_link(rs, j);
		rdir_unref(rs, j->dir);
		job_free(j);
	}
	tell_bytes(rs);
}

/* ---- the run ---- */

static int
find_fs(struct rs *rs, struct err *e)
{
	const struct fslist_ent *f;
	struct fslist l;
	int r;

	if ((r = fslist_get(rs->c, &l, e)) != 0)
		return r;
	if ((f = fslist_match(&l, rs->plan.base)) == NULL)
		r = err_set(e, COFFER_ENOTFOUND, "no filespace of node %s "
		    "holds %s", net_user_name(rs->c), rs->plan.base);
	else
		snprintf(rs->fsname, sizeof(rs->fsname), "%s", f->name);
	fslist_free(&l);
	return r;
}

static int
dest_kind(const char *dest)
{
	struct stat st;
	size_t const n = dest ? strlen(dest) : 0;

	if (dest == NULL)
		return RESTORE_DEST_NONE;
	if (n > 0 && dest[n - 1] == '/')
		return RESTORE_DEST_DIR;
	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
		return RESTORE_DEST_DIR;
	return RESTORE_DEST_NAME;
}

/* More descriptors for the directories that pending jobs keep open. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
setup(struct rs *rs, struct err *e)
{
	char cwd[PATH_MAX];
	int r;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return err_sys(e, COFFER_EIO, "getcwd");
	if ((r = restore_plan_make(rs->p->src, cwd, rs->p->dest,
	    dest_kind(rs->p->dest), rs->p->subdir, &rs->plan, e)) != 0)
		return r;
	if ((r = find_fs(rs, e)) != 0)
		return r;
	if ((r = util_mkdir_p(rs->plan.root, 0755, e)) != 0)
		return err_wrap(e, "destination %s", rs->plan.root);
	if ((rs->root_fd = open(rs->plan.root, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return err_sys(e, COFFER_EIO, "destination %s", rs->plan.root);
	if (rdir_push(rs, rs->root_fd, "", 0, e) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	if ((rs->hash = hash_ctx_new(e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	rs->is_root = geteuid() == 0;
	rs->pid = (long)getpid();
	raise_nofile();
	return pool_start(rs, e);
}

static int
run(struct rs *rs, struct err *e)
{
	int r;

	if (!rs->list_done && (r = ask_page(rs, e)) != 0)
		return r;
	for (;;) {
		if ((r = issue(rs, e)) != 0)
			return r;
		finish_ready(rs);
		if (!rs->list_done && !rs->list_asked &&
		    rs->njobs < JOBS_LOW && (rs->ndirs < DIRS_OPEN_MAX ||
		    rs->head == NULL) && (r = ask_page(rs, e)) != 0)
			return r;
		if (net_pending(rs->c) == 0) {
			if (rs->list_done && rs->head == NULL)
				return 0;
			if (!rs->list_asked && rs->head == NULL)
				continue;	/* ask for the next page */
			if (rs->head != NULL && rs->head->kind == J_FILE &&
			    rs->head->queued &&
			    rs->head->next_recv == rs->head->nent) {
				pool_wait(rs);	/* the workers have it */
				continue;
			}
			return err_set(e, COFFER_EINTERNAL, "restore stalled "
			    "with %zu jobs", rs->njobs);
		}
		if ((r = net_pump(rs->c, e)) != 0)
			return r;
	}
}

static void
rs_init(struct rs *rs, struct net_conn *c, const struct restore_params *p,
    struct restore_stats *st, struct err *e)
{
	memset(rs, 0, sizeof(*rs));
	memset(st, 0, sizeof(*st));
	rs->c = c;
	rs->p = p;
	rs->st = st;
	rs->root_fd = -1;
	rs->e = e;
	progress_init(&rs->pg, "Restore", 0);
	if (!p->progress)
		rs->pg.enabled = 0;
}

static void
rs_fini(struct rs *rs)
{
	pool_stop(rs);
	tell_bytes(rs);
	progress_done(&rs->pg);
	/* Unwind: jobs left behind by an error remove their temp files. */
	while (rs->head != NULL) {
		struct rjob *j = rs->head;

		rs->head = j->next;
		if (j->fd >= 0 && j->tmp[0] != '\0')
			(void)unlinkat(j->dir->fd, j->tmp, 0);
		rdir_unref(rs, j->dir);
		job_free(j);
	}
	stack_pop_to(rs, 0);
	if (rs->root_fd >= 0)
		close(rs->root_fd);
	free(rs->stack);
	hash_ctx_free(rs->hash);
	hset_free(&rs->written);
}

int
restore_run(struct net_conn *c, const struct restore_params *p,
    struct restore_stats *st, struct err *e)
{
	struct rs rs;
	double const t0 = util_now();
	int r;

	rs_init(&rs, c, p, st, e);
	if ((r = setup(&rs, e)) == 0)
		r = run(&rs, e);
	rs_fini(&rs);
	st->elapsed_s = util_now() - t0;
	return r;
}

/* Queue one restore_objects item; a problem is the item's, not the run's. */
static void
queue_item(struct rs *rs, struct restore_item *it)
{
	struct rjob *j;
	int fd = -1;

	stack_pop_to(rs, 0);
	if (it->dir != NULL && (fd = open(it->dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		snprintf(it->why, sizeof(it->why), "directory %s: %s", it->dir,
		    strerror(errno));
		goto fail;
	}
	if (it->dir == NULL && it->obj->size > RESTORE_MEM_MAX) {
		snprintf(it->why, sizeof(it->why), "%" PRIu64 " bytes are too "
		    "many to hold in memory", it->obj->size);
		goto fail;
	}
	if (rdir_push(rs, fd, "", 0, NULL) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(it->why, sizeof(it->why), "out of memory");
		goto fail;
	}
	rs->stack[0]->path = strdup(it->dir ? it->dir : "(memory)");
	rs->st->matched++;
	if (queue_job(rs, it->obj, it->more, it->nmore, it->dir ? it->name :
	    "", it->why, sizeof(it->why)) != 0) {
		if (it->why[0] == '\0' || strcmp(it->why, "exists") == 0)
			snprintf(it->why, sizeof(it->why), "%s/%s exists "
			    "(use --replace)", it->dir, it->name);
		goto fail;
	}
	j = rs->tail;
	j->item = it;
	/* One more byte: an empty object still gets a buffer. */
	if (it->dir == NULL && (j->mem = calloc(1, j->size + 1)) == NULL)
		job_fail(j, "out of memory");
	return;
fail:
	say(rs, "%.*s: %s; not restored", (int)it->obj->path_len,
	    it->obj->path, it->why);
	rs->st->failed++;
}

int
restore_objects(struct net_conn *c, const struct restore_params *p,
    struct restore_item *items, size_t n, struct restore_stats *st,
    struct err *e)
{
	struct rs rs;
	double const t0 = util_now();
	int r = 0;

	rs_init(&rs, c, p, st, e);
	rs.is_root = geteuid() == 0;
	rs.pid = (long)getpid();
	if ((rs.hash = hash_ctx_new(e)) == NULL)
		r = e ? e->code : COFFER_ENOMEM;
	else
		r = pool_start(&rs, e);
	for (size_t i = 0; i < n && r == 0; i++) {
		items[i].ok = 0;
		items[i].why[0] = '\0';
		items[i].mem = NULL;
		items[i].mem_len = 0;
		queue_item(&rs, &items[i]);
	}
	stack_pop_to(&rs, 0);
	rs.list_done = 1;
	if (r == 0)
		r = run(&rs, e);
	rs_fini(&rs);
	st->elapsed_s = util_now() - t0;
	return r;
}
