/*
 * restore.c - restore over a node session (see restore.h).
 *
 * Objects arrive in pkey order (a directory before its contents).  Each
 * is placed at once: directories are created, symlinks made; files and
 * hard links become jobs in a FIFO.  Jobs are finished in order at the
 * head of the FIFO, file data having been requested ahead for the jobs
 * behind it, so hashing, decoding and writing overlap the network.
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

struct rdir {
	int		 fd;
	int		 refs;
	struct rdir	*parent;
	char		*name;
	int		 has_meta;
	uint32_t	 mode, uid, gid;
	int64_t		 mtime_ns;
	char		*path;		/* server path, for messages */
};

#define J_FILE	1
#define J_LINK	2

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
	uint64_t	 off;		/* where the next reply's bytes go */
	int		 fd;
	char		 tmp[64];
	char		 why[ERR_MSG_MAX];
	int		 failed;
	uint8_t		*mem;		/* restore_objects into memory */
	struct restore_item *item;	/* restore_objects: report here */
	struct rs	*rs;
	struct rjob	*next;
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
	size_t				 njobs, nopen;
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
	struct codec			*codec;
	struct hash_ctx			*hash;
	uint8_t				*buf;
	size_t				 buf_cap;
	uint64_t			 tmp_seq;
	long				 pid;		/* in temp names */
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

/* Open or create directory name in parent, never through a symlink (1). */
static int
open_dir_at(int parent, const char *name, int create)
{
	int const flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd;

	if ((fd = openat(parent, name, flags)) >= 0 || errno != ENOENT ||
	    !create)
		return fd;
	if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST)
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
		fd = open_dir_at(rs->stack[rs->depth - 1]->fd, comp, 1);
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
clear_way(struct rs *rs, int dir, const char *name, int unlink_old,
    char *why, size_t wlen)
{
	int isdir = 0;

	if (!exists_at(dir, name, &isdir))
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
	int fd;

	if ((fd = open_dir_at(rs->stack[rs->depth - 1]->fd, name, 1)) < 0) {
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
	if ((r = clear_way(rs, dir, name, 1, why, wlen)) != 0)
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
	free(j->name);
	free(j->path);
	free(j->link);
	free(j->recipe);
	free(j->mem);
	free(j);
}

static int
queue_job(struct rs *rs, const struct proto_obj *o, const char *name,
    char *why, size_t wlen)
{
	struct rjob *j;
	uint64_t total = 0;
	size_t n = 0;
	int const kind = o->type == CLIENT_OBJ_HARDLINK ? J_LINK : J_FILE;
	int r;

	if (rs->stack[rs->depth - 1]->fd >= 0 && (r = clear_way(rs,
	    rs->stack[rs->depth - 1]->fd, name, 0, why, wlen)) != 0)
		return r;
	if (kind == J_FILE) {
		if (pool_recipe_count(o->recipe, o->recipe_len, &n,
		    NULL) != 0) {
			snprintf(why, wlen, "the server sent a ragged recipe");
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			total += pool_recipe_len(o->recipe, i);
		if (total != o->size) {
			snprintf(why, wlen, "recipe holds %" PRIu64 " bytes, "
			    "the file %" PRIu64, total, o->size);
			return -1;
		}
	} else if (o->link == NULL) {
		snprintf(why, wlen, "hard link without a target");
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto nomem;
	j->fd = -1;
	j->rs = rs;
	j->kind = kind;
	j->id = o->id;
	j->size = o->size;
	j->mode = o->mode;
	j->uid = o->uid;
	j->gid = o->gid;
	j->mtime_ns = o->mtime_ns;
	j->nent = n;
	if ((j->name = strdup(name)) == NULL ||
	    (j->path = strndup(o->path, o->path_len)) == NULL ||
	    (o->link != NULL && (j->link = strndup(o->link,
	    o->link_len)) == NULL) ||
	    (o->recipe_len > 0 && (j->recipe = malloc(o->recipe_len)) ==
	    NULL)) {
		job_free(j);
		goto nomem;
	}
	if (o->recipe_len > 0)
		memcpy(j->recipe, o->recipe, o->recipe_len);
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
			if ((r = queue_job(rs, o, name, why, sizeof(why))) == 0)
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

/* ---- file data ---- */

static void
job_fail(struct rjob *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
job_fail(struct rjob *j, const char *fmt, ...)
{
	va_list ap;

	if (j->failed)
		return;		/* the first cause is the one to tell */
	j->failed = 1;
	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
}

/*
 * Write a verified chunk at j->off, leaving its all-zero blocks as holes:
 * a chunk that straddles the edge of a hole is partly zero, and the file
 * was sparse there.
 */
static int
write_sparse(struct rjob *j, const uint8_t *p, uint32_t len, struct err *e)
{
	uint32_t i = 0;

	if (j->mem != NULL) {
		/* In bounds: queue_job checked that the recipe is the size. */
		memcpy(j->mem + j->off, p, len);
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
		if (n > 0 && util_pwrite_full(j->fd, p + start, n,
		    (off_t)(j->off + start), j->tmp, e) != 0)
			return e ? e->code : COFFER_EIO;
	}
	return 0;
}

/* Decode, verify (2) and write one chunk of j. */
static void
chunk_write(struct rs *rs, struct rjob *j, size_t i, uint8_t codec_id,
    const uint8_t *stored, size_t n, uint32_t len)
{
	const uint8_t *want = pool_recipe_hash(j->recipe, i);
	uint8_t got[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];
	struct err de;

	if (len > rs->buf_cap) {
		uint8_t *nb = realloc(rs->buf, len);

		if (nb == NULL) {
			job_fail(j, "out of memory for a %u-byte chunk", len);
			return;
		}
		rs->buf = nb;
		rs->buf_cap = len;
	}
	err_clear(&de);
	if (codec_decode(rs->codec, codec_id, stored, n, rs->buf, len,
	    &de) != 0) {
		hash_to_hex(want, hex);
		job_fail(j, "chunk %zu (%.16s...) does not decode: %s", i, hex,
		    de.msg);
		return;
	}
	if (hash_sha256(rs->hash, rs->buf, len, got) != 0 ||
	    memcmp(got, want, HASH_LEN) != 0) {
		hash_to_hex(want, hex);
		job_fail(j, "chunk %zu (%.16s...) failed verification: its "
		    "SHA-256 does not match", i, hex);
		return;
	}
	if (write_sparse(j, rs->buf, len, &de) != 0) {
		job_fail(j, "%s", de.msg);
		return;
	}
	rs->st->bytes += len;
	progress_add(&rs->pg, 0, len);
}

static int
on_data(void *arg, uint16_t type, struct wire_rd *rd, struct err *e)
{
	struct rjob *j = arg;
	struct rs *rs = j->rs;
	uint8_t hash[HASH_LEN], codec_id;
	const uint8_t *stored;
	uint32_t raw_len, len;
	size_t n, i = j->next_recv++;
	int zero, r;

	(void)type;
	if (i >= j->nent)
		return err_set(e, COFFER_EPROTO, "CHUNK_DATA beyond the %zu "
		    "entries of %s", j->nent, j->path);
	len = pool_recipe_len(j->recipe, i);
	zero = pool_recipe_is_zero(j->recipe, i);
	rs->win_entries--;
	rs->win_bytes -= zero ? 0 : len;
	if ((r = wire_get_raw(rd, hash, HASH_LEN, e)) != 0 ||
	    (r = wire_get_u32(rd, &raw_len, e)) != 0 ||
	    (r = wire_get_u8(rd, &codec_id, e)) != 0 ||
	    (r = wire_get_bytes(rd, WIRE_FRAME_MAX, &stored, &n, e)) != 0 ||
	    (r = wire_rd_end(rd, e)) != 0)
		return err_wrap(e, "CHUNK_DATA for %s", j->path);
	if (j->failed)
		return 0;		/* drain what was asked for */
	if (raw_len != len || memcmp(hash, pool_recipe_hash(j->recipe, i),
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
		chunk_write(rs, j, i, codec_id, stored, n, len);
	}
	j->off += len;
	return 0;
}

static int
open_tmp(struct rs *rs, struct rjob *j)
{
	int const dir = j->dir->fd;

	for (int tries = 0; tries < 100; tries++) {
		snprintf(j->tmp, sizeof(j->tmp), ".coffer-restore.%ld.%" PRIu64,
		    rs->pid, ++rs->tmp_seq);
		/* (1): never through a symlink, never an existing file. */
		j->fd = openat(dir, j->tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (j->fd >= 0 || errno != EEXIST)
			break;
	}
	if (j->fd < 0) {
		job_fail(j, "create %s: %s", j->tmp, strerror(errno));
		j->tmp[0] = '\0';
		return -1;
	}
	rs->nopen++;
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

		if (j->kind == J_FILE && j->fd < 0 && !j->failed &&
		    j->mem == NULL) {
			if (rs->nopen >= RESTORE_OPEN_MAX)
				break;
			if (open_tmp(rs, j) != 0)
				j->next_req = j->next_recv = j->nent;
		}
		while (j->kind == J_FILE && j->next_req < j->nent) {
			uint32_t count = 0;
			uint64_t bytes = 0;

			while (j->next_req + count < j->nent &&
			    count < RESTORE_GET_MAX) {
				size_t const k = j->next_req + count;
				uint64_t const l = pool_recipe_is_zero(
				    j->recipe, k) ? 0 : pool_recipe_len(
				    j->recipe, k);

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
			wire_put_u64(&b, j->id);
			wire_put_u32(&b, (uint32_t)j->next_req);
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

/* ---- finishing jobs ---- */

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

static void
finish_file(struct rs *rs, struct rjob *j)
{
	int const dir = j->dir->fd;
	struct timespec ts[2];
	int r;

	if (j->mem != NULL) {
		finish_mem(rs, j);
		return;
	}
	if (!j->failed && (ftruncate(j->fd, (off_t)j->size) != 0 ||
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
		rs->nopen--;
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
	if (j->failed) {
		if (j->tmp[0] != '\0')
			(void)unlinkat(dir, j->tmp, 0);
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
	int fd = dup(rs->root_fd), nfd;
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
		nfd = open_dir_at(fd, comp, 0);
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

/* Finish the jobs at the head whose data is all in. */
static void
finish_ready(struct rs *rs)
{
	while (rs->head != NULL) {
		struct rjob *j = rs->head;

		if (j->kind == J_FILE && (j->next_recv < j->nent ||
		    (j->fd < 0 && !j->failed && j->mem == NULL)))
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
	if ((rs->codec = codec_new(0, e)) == NULL ||
	    (rs->hash = hash_ctx_new(e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	rs->is_root = geteuid() == 0;
	rs->pid = (long)getpid();
	raise_nofile();
	return 0;
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
	free(rs->buf);
	codec_free(rs->codec);
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
	if (queue_job(rs, it->obj, it->dir ? it->name : "", it->why,
	    sizeof(it->why)) != 0) {
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
	if ((rs.codec = codec_new(0, e)) == NULL ||
	    (rs.hash = hash_ctx_new(e)) == NULL)
		r = e ? e->code : COFFER_ENOMEM;
	rs.is_root = geteuid() == 0;
	rs.pid = (long)getpid();
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
