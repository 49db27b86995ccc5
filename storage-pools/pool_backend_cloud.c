/*
 * pool_backend_cloud.c - containers as S3 objects (Ceph RGW or any S3).
 *
 * S3 objects are written whole and never changed, so the open container
 * is staged in a local file (STAGING/ID.ctr) and uploaded by sync(): one
 * PUT, or a multipart upload for a large one.  After sync() the container
 * is sealed (POOL_BE_SEAL_ON_SYNC): the pool starts a new container for
 * later appends, and the pool commits the index transaction that names
 * the chunks only after the upload succeeded, so an object is indexed
 * only once its PUT did.  A staged file that was never uploaded holds
 * nothing the index names; open() removes such leftovers.
 *
 * Uploading at sync() alone would make every commit wait for the whole
 * container to cross the network.  So UPLOADERS threads send the full
 * S3_PART_SIZE parts of a staged container as multipart-upload parts while
 * the backup is still writing it; sync() then waits for the parts in
 * flight, sends the tail and completes the upload.  The object exists only
 * once the upload completes, so the commit protocol is the same.  When a
 * background part fails, sync() aborts that upload and sends the whole
 * container again (with the client's retries), so a failure costs time,
 * never data.
 *
 * Reads are ranged GETs through a small cache of CACHE_WIN windows: a
 * restore or audit reads the chunks of a container mostly in order, and
 * one 4 MiB GET then serves dozens of chunk reads instead of one request
 * each.  An entry being loaded or read is never evicted; threads that
 * want a window another thread is loading wait for it.  The first read
 * of a window asks PREFETCH_THREADS threads to load the next PREFETCH_AHEAD
 * windows, so a sequential reader finds them loaded (or loading) instead
 * of waiting a round trip per window.
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
#include "s3.h"
#include "util.h"

#define CACHE_WIN	(4u << 20)
#define CACHE_N		16		/* 64 MiB of windows at most */
#define RECENT_N	64		/* sizes of containers sealed lately */
#define PREFETCH_THREADS 2
#define PREFETCH_AHEAD	2
#define PREFETCH_Q	16
#define UPLOADERS	2		/* parts in flight at once */
#define MAX_PARTS	10000		/* S3's limit per upload */

enum { ENT_EMPTY, ENT_LOADING, ENT_READY };

struct staged {
	uint64_t	 id;
	int		 fd;
	uint64_t	 size;
	/* The background multipart upload; guarded by the backend lock. */
	char		 upload_id[512];	/* "" none started */
	char		(*etags)[80];
	int		 cap_parts;
	int		 nparts;	/* parts sent: [0, queued) */
	uint64_t	 queued;
	int		 busy;		/* sync() is finishing it */
	int		 inflight;	/* parts the uploaders are sending */
	int		 have_id;	/* upload_id is set (and stays) */
	int		 failed;	/* a part failed: sync() starts over */
	struct staged	*next;
};

struct cache_ent {
	uint64_t	 id;
	uint64_t	 win;
	uint8_t		*data;
	size_t		 len;
	int		 state;
	int		 users;
	uint64_t	 lru;
	int		 ahead;		/* the windows after it were asked for */
};

struct cloud_backend {
	struct pool_backend	 base;
	struct s3		*s3;
	char			*staging;
	char			*prefix;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cv;
	struct staged		*staged;
	struct { uint64_t id, size; } recent[RECENT_N];
	int			 nrecent;
	struct cache_ent	 cache[CACHE_N];
	uint64_t		 tick;
	/* Prefetch requests (id, window), a ring; guarded by lock. */
	struct { uint64_t id, win; } pq[PREFETCH_Q];
	int			 pq_head, pq_len;
	int			 stop;
	pthread_cond_t		 pq_cv;
	pthread_t		 pf[PREFETCH_THREADS];
	int			 npf;
	pthread_cond_t		 up_cv;	/* work for the uploaders */
	pthread_t		 up[UPLOADERS];
	int			 have_up;
};

static void
obj_key(const struct cloud_backend *c, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%016" PRIx64 ".ctr", c->prefix, id);
}

static void
staged_path(const struct cloud_backend *c, uint64_t id, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/%016" PRIx64 ".ctr", c->staging, id);
}

/* Lock held. */
static struct staged *
staged_find(struct cloud_backend *c, uint64_t id)
{
	for (struct staged *s = c->staged; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* Unlink s from the list, close and remove its file; lock held. */
static void
staged_drop(struct cloud_backend *c, struct staged *s)
{
	char path[4096], key[512];

	while (s->inflight > 0)	/* an uploader reads its file */
		pthread_cond_wait(&c->cv, &c->lock);
	if (s->upload_id[0] != '\0') {
		/* Never completed: leave no parts behind in the store. */
		obj_key(c, s->id, key, sizeof(key));
		s3_mpu_abort(c->s3, key, s->upload_id);
	}
	free(s->etags);

	for (struct staged **pp = &c->staged; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	close(s->fd);
	staged_path(c, s->id, path, sizeof(path));
	(void)unlink(path);
	free(s);
}

/* Remember a sealed container's size; lock held. */
static void
recent_put(struct cloud_backend *c, uint64_t id, uint64_t size)
{
	int const i = c->nrecent % RECENT_N;

	c->recent[i].id = id;
	c->recent[i].size = size;
	c->nrecent++;
}

/* Lock held; 1 found. */
static int
recent_get(struct cloud_backend *c, uint64_t id, uint64_t *size)
{
	int const n = c->nrecent < RECENT_N ? c->nrecent : RECENT_N;

	for (int i = 0; i < n; i++)
		if (c->recent[i].id == id) {
			*size = c->recent[i].size;
			return 1;
		}
	return 0;
}

/* Forget cached windows and sizes of id (removed); lock held. */
static void
forget_locked(struct cloud_backend *c, uint64_t id)
{
	int const n = c->nrecent < RECENT_N ? c->nrecent : RECENT_N;

	for (int i = 0; i < CACHE_N; i++)
		if (c->cache[i].id == id && c->cache[i].state == ENT_READY &&
		    c->cache[i].users == 0)
			c->cache[i].state = ENT_EMPTY;
	for (int i = 0; i < n; i++)
		if (c->recent[i].id == id)
			c->recent[i].id = 0;
}

static int
cloud_create(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct staged *s;
	char path[4096];
	int fd;

	staged_path(c, id, path, sizeof(path));
	/* ETags for every part S3 allows: never moved while uploads run. */
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->etags = calloc(MAX_PARTS, sizeof(*s->etags))) == NULL) {
		free(s);
		return err_set(e, COFFER_ENOMEM, "cloud pool: out of memory");
	}
	s->cap_parts = MAX_PARTS;
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		free(s->etags);
		free(s);
		return err_sys(e, COFFER_EIO, "container %016" PRIx64 ": "
		    "staging file %s", id, path);
	}
	s->id = id;
	s->fd = fd;
	pthread_mutex_lock(&c->lock);
	s->next = c->staged;
	c->staged = s;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int
cloud_write(struct pool_backend *b, uint64_t id, uint64_t off, const void *p,
    size_t n, struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct staged *s;
	char what[80];
	int r;

	pthread_mutex_lock(&c->lock);
	if ((s = staged_find(c, id)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return err_set(e, COFFER_EINTERNAL, "container %016" PRIx64
		    ": write to a sealed cloud container", id);
	}
	snprintf(what, sizeof(what), "container %016" PRIx64 ": staging "
	    "write", id);
	if ((r = util_pwrite_full(s->fd, p, n, (off_t)off, what, e)) == 0 &&
	    off + n > s->size)
		s->size = off + n;
	if (c->have_up && s->size - s->queued >= S3_PART_SIZE)
		pthread_cond_broadcast(&c->up_cv);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/*
 * Upload a staged container whole.  The pool calls this under its lock
 * before the index commit that names the container's chunks; a container
 * already uploaded (another transaction's commit sealed it) is done.
 */
/* Forget s's multipart upload (aborting it); lock held, s not busy. */
static void
mpu_reset_locked(struct cloud_backend *c, struct staged *s)
{
	char key[512];

	if (s->upload_id[0] != '\0') {
		obj_key(c, s->id, key, sizeof(key));
		s3_mpu_abort(c->s3, key, s->upload_id);
	}
	s->upload_id[0] = '\0';
	s->have_id = 0;
	s->nparts = 0;
	s->queued = 0;
	s->failed = 0;
}

/* Room for part n (1-based) in s's ETag list. */
static int
etag_room(const struct staged *s, int n)
{
	return n <= s->cap_parts ? 0 : -1;
}

/* Send [s->queued, s->size) as the last parts and complete; lock not held. */
static int
mpu_finish(struct cloud_backend *c, struct staged *s, const char *key,
    struct err *e)
{
	uint8_t *buf = NULL;
	char what[80];
	int r = 0;

	snprintf(what, sizeof(what), "container %016" PRIx64 ": staging read",
	    s->id);
	while (r == 0 && s->queued < s->size) {
		uint64_t const left = s->size - s->queued;
		size_t const n = left < S3_PART_SIZE ? (size_t)left :
		    S3_PART_SIZE;

		if (buf == NULL && (buf = malloc(S3_PART_SIZE)) == NULL)
			return err_set(e, COFFER_ENOMEM, "upload: out of memory");
		if (etag_room(s, s->nparts + 1) != 0) {
			r = err_set(e, COFFER_ETOOBIG, "container %016" PRIx64
			    ": more than %d parts", s->id, MAX_PARTS);
			break;
		}
		if ((r = util_pread_full(s->fd, buf, n, (off_t)s->queued, what,
		    e)) == 0 &&
		    (r = s3_mpu_part(c->s3, key, s->upload_id, s->nparts + 1,
		    buf, n, s->etags[s->nparts], sizeof(s->etags[0]), e)) == 0) {
			s->nparts++;
			s->queued += n;
		}
	}
	free(buf);
	if (r == 0)
		r = s3_mpu_complete(c->s3, key, s->upload_id, s->etags,
		    s->nparts, e);
	return r;
}

/*
 * Upload a staged container whole.  The pool calls this under its lock
 * before the index commit that names the container's chunks (so no write
 * comes meanwhile); a container already uploaded (another transaction's
 * commit sealed it) is done.
 */
static int
cloud_sync(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct staged *s;
	char key[512];
	uint64_t size;
	int r, fd, multi;

	pthread_mutex_lock(&c->lock);
	if ((s = staged_find(c, id)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	while (s->inflight > 0)
		pthread_cond_wait(&c->cv, &c->lock);
	if (s->failed)
		mpu_reset_locked(c, s);
	/* busy stays set: the uploaders leave s alone while we finish. */
	s->busy = 1;
	multi = s->have_id;
	fd = s->fd;
	size = s->size;
	pthread_mutex_unlock(&c->lock);
	obj_key(c, id, key, sizeof(key));
	if (multi)
		r = mpu_finish(c, s, key, e);
	else
		r = s3_put_fd(c->s3, key, fd, size, e);
	pthread_mutex_lock(&c->lock);
	s->busy = 0;
	if (r != 0) {
		/* The next sync starts over with a whole upload. */
		mpu_reset_locked(c, s);
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->lock);
		return err_wrap(e, "container %016" PRIx64 ": upload", id);
	}
	s->upload_id[0] = '\0';	/* completed: nothing to abort */
	s->have_id = 0;
	staged_drop(c, s);
	recent_put(c, id, size);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* A staged container with a full part not yet sent; lock held. */
static struct staged *
up_next(struct cloud_backend *c)
{
	/* Until the upload is started, one part at a time. */
	for (struct staged *s = c->staged; s != NULL; s = s->next)
		if (!s->busy && !s->failed && s->inflight < UPLOADERS &&
		    (s->have_id || s->inflight == 0) &&
		    s->size - s->queued >= S3_PART_SIZE &&
		    etag_room(s, s->nparts + 1) == 0)
			return s;
	return NULL;
}

static void *
uploader_main(void *arg)
{
	struct cloud_backend *c = arg;
	char key[512], what[80], id[512];
	uint8_t *buf;
	struct err e;

	if ((buf = malloc(S3_PART_SIZE)) == NULL)
		return NULL;	/* the others, or sync(), do the work */
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct staged *s;
		uint64_t off;
		int part, start, r = 0;

		while (!c->stop && (s = up_next(c)) == NULL)
			pthread_cond_wait(&c->up_cv, &c->lock);
		if (c->stop)
			break;
		/* Claim the next part; its ETag slot is ours alone. */
		s->inflight++;
		off = s->queued;
		part = ++s->nparts;
		s->queued += S3_PART_SIZE;
		start = !s->have_id;
		pthread_mutex_unlock(&c->lock);
		obj_key(c, s->id, key, sizeof(key));
		snprintf(what, sizeof(what), "container %016" PRIx64
		    ": staging read", s->id);
		err_clear(&e);
		if (start) {
			if ((r = s3_mpu_start(c->s3, key, id, sizeof(id),
			    &e)) == 0) {
				pthread_mutex_lock(&c->lock);
				memcpy(s->upload_id, id, sizeof(id));
				s->have_id = 1;
				pthread_cond_broadcast(&c->up_cv);
				pthread_mutex_unlock(&c->lock);
			}
		}
		if (r == 0)
			r = util_pread_full(s->fd, buf, S3_PART_SIZE, (off_t)off,
			    what, &e);
		if (r == 0)
			r = s3_mpu_part(c->s3, key, s->upload_id, part, buf,
			    S3_PART_SIZE, s->etags[part - 1],
			    sizeof(s->etags[0]), &e);
		pthread_mutex_lock(&c->lock);
		if (r != 0)
			s->failed = 1;	/* sync() sends it whole */
		s->inflight--;
		pthread_cond_broadcast(&c->cv);
		pthread_cond_broadcast(&c->up_cv);
	}
	pthread_mutex_unlock(&c->lock);
	free(buf);
	return NULL;
}

/* The entry holding (id, win) in any state but empty; lock held. */
static struct cache_ent *
ent_find(struct cloud_backend *c, uint64_t id, uint64_t win)
{
	for (int i = 0; i < CACHE_N; i++) {
		struct cache_ent *x = &c->cache[i];

		if (x->state != ENT_EMPTY && x->id == id && x->win == win)
			return x;
	}
	return NULL;
}

/* An entry that may be reused: empty, else least recently used; lock held. */
static struct cache_ent *
ent_victim(struct cloud_backend *c)
{
	struct cache_ent *v = NULL;

	for (int i = 0; i < CACHE_N; i++) {
		struct cache_ent *x = &c->cache[i];

		if (x->state == ENT_LOADING || x->users > 0)
			continue;
		if (v == NULL || x->state == ENT_EMPTY ||
		    (v->state != ENT_EMPTY && x->lru < v->lru))
			v = x;
	}
	return v;
}

/* Ask for the windows after win of id once; lock held. */
static void
ask_ahead_locked(struct cloud_backend *c, struct cache_ent *v)
{
	if (v->ahead || c->npf == 0)
		return;
	v->ahead = 1;
	for (uint64_t w = v->win + 1; w <= v->win + PREFETCH_AHEAD; w++) {
		if (c->pq_len == PREFETCH_Q || ent_find(c, v->id, w) != NULL)
			continue;
		c->pq[(c->pq_head + c->pq_len) % PREFETCH_Q].id = v->id;
		c->pq[(c->pq_head + c->pq_len) % PREFETCH_Q].win = w;
		c->pq_len++;
	}
	pthread_cond_signal(&c->pq_cv);
}

static void *
prefetch_main(void *arg)
{
	struct cloud_backend *c = arg;
	char key[512];

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct cache_ent *v;
		uint64_t id, win;
		size_t got = 0;
		int r;

		while (!c->stop && c->pq_len == 0)
			pthread_cond_wait(&c->pq_cv, &c->lock);
		if (c->stop)
			break;
		id = c->pq[c->pq_head].id;
		win = c->pq[c->pq_head].win;
		c->pq_head = (c->pq_head + 1) % PREFETCH_Q;
		c->pq_len--;
		/* Already there, or no room that nobody is using: skip. */
		if (ent_find(c, id, win) != NULL || staged_find(c, id) != NULL ||
		    (v = ent_victim(c)) == NULL)
			continue;
		if (v->data == NULL && (v->data = malloc(CACHE_WIN)) == NULL)
			continue;
		v->state = ENT_LOADING;
		v->id = id;
		v->win = win;
		v->ahead = 0;
		pthread_mutex_unlock(&c->lock);
		obj_key(c, id, key, sizeof(key));
		/* Past the end: an empty window (a reader then looks itself). */
		r = s3_get(c->s3, key, win * CACHE_WIN, v->data, CACHE_WIN, &got,
		    NULL);
		pthread_mutex_lock(&c->lock);
		v->state = r == 0 && got > 0 ? ENT_READY : ENT_EMPTY;
		v->len = got;
		v->lru = ++c->tick;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* A window with users counted, loaded if need be; lock not held. */
static int
win_acquire(struct cloud_backend *c, uint64_t id, uint64_t win,
    struct cache_ent **out, struct err *e)
{
	struct cache_ent *v = NULL;
	char key[512];
	size_t got = 0;
	int r;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		v = ent_find(c, id, win);
		if (v != NULL && v->state == ENT_READY) {
			v->users++;
			v->lru = ++c->tick;
			ask_ahead_locked(c, v);
			pthread_mutex_unlock(&c->lock);
			*out = v;
			return 0;
		}
		if (v == NULL && (v = ent_victim(c)) != NULL)
			break;
		/* Being loaded by another thread, or every entry busy. */
		pthread_cond_wait(&c->cv, &c->lock);
	}
	if (v->data == NULL && (v->data = malloc(CACHE_WIN)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return err_set(e, COFFER_ENOMEM, "cloud read cache: out of "
		    "memory");
	}
	v->state = ENT_LOADING;
	v->id = id;
	v->win = win;
	v->ahead = 0;
	ask_ahead_locked(c, v);
	pthread_mutex_unlock(&c->lock);
	obj_key(c, id, key, sizeof(key));
	r = s3_get(c->s3, key, win * CACHE_WIN, v->data, CACHE_WIN, &got, e);
	pthread_mutex_lock(&c->lock);
	if (r != 0) {
		v->state = ENT_EMPTY;
	} else {
		v->state = ENT_READY;
		v->len = got;
		v->users = 1;
		v->lru = ++c->tick;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
	*out = v;
	return r;
}

static void
win_release(struct cloud_backend *c, struct cache_ent *v)
{
	pthread_mutex_lock(&c->lock);
	v->users--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
}

static int
cloud_read(struct pool_backend *b, uint64_t id, uint64_t off, void *p,
    size_t n, struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	uint8_t *dst = p;
	struct staged *s;
	char key[512], what[80];
	int r;

	pthread_mutex_lock(&c->lock);
	if ((s = staged_find(c, id)) != NULL) {
		/* Not uploaded yet: read the staging file. */
		snprintf(what, sizeof(what), "container %016" PRIx64 ": "
		    "staging read", id);
		r = util_pread_full(s->fd, p, n, (off_t)off, what, e);
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	pthread_mutex_unlock(&c->lock);
	if (n > 2 * (size_t)CACHE_WIN) {
		size_t got;

		/* A large record: one GET of exactly it, no caching. */
		obj_key(c, id, key, sizeof(key));
		if ((r = s3_get(c->s3, key, off, p, n, &got, e)) != 0)
			return r;
		if (got != n)
			return err_set(e, COFFER_ECORRUPT, "container %016"
			    PRIx64 ": short read at %" PRIu64, id, off);
		return 0;
	}
	while (n > 0) {
		uint64_t const win = off / CACHE_WIN;
		uint64_t const in = off - win * CACHE_WIN;
		struct cache_ent *v = NULL;
		size_t take;

		if ((r = win_acquire(c, id, win, &v, e)) != 0)
			return r;
		if (in >= v->len) {
			win_release(c, v);
			return err_set(e, COFFER_ECORRUPT, "container %016"
			    PRIx64 ": read at %" PRIu64 " past its end", id,
			    off);
		}
		take = v->len - in < n ? (size_t)(v->len - in) : n;
		memcpy(dst, v->data + in, take);
		win_release(c, v);
		dst += take;
		off += take;
		n -= take;
	}
	return 0;
}

static int
cloud_size(struct pool_backend *b, uint64_t id, uint64_t *size,
    struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct staged *s;
	char key[512];
	int found;

	pthread_mutex_lock(&c->lock);
	if ((s = staged_find(c, id)) != NULL) {
		*size = s->size;
		found = 1;
	} else {
		found = recent_get(c, id, size);
	}
	pthread_mutex_unlock(&c->lock);
	if (found)
		return 0;
	obj_key(c, id, key, sizeof(key));
	return s3_head(c->s3, key, size, e);
}

static int
cloud_truncate(struct pool_backend *b, uint64_t id, uint64_t size,
    struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct staged *s;
	uint64_t cur;
	int r;

	pthread_mutex_lock(&c->lock);
	if ((s = staged_find(c, id)) != NULL) {
		r = ftruncate(s->fd, (off_t)size) == 0 ? 0 : err_sys(e,
		    COFFER_EIO, "container %016" PRIx64 ": truncate staging "
		    "file", id);
		if (r == 0)
			s->size = size;
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	pthread_mutex_unlock(&c->lock);
	/* An uploaded object never grows past its committed size. */
	if ((r = cloud_size(b, id, &cur, e)) != 0)
		return r;
	if (cur == size)
		return 0;
	return err_set(e, COFFER_ECORRUPT, "container %016" PRIx64 ": object "
	    "holds %" PRIu64 " bytes, the index %" PRIu64 " (S3 objects cannot "
	    "be truncated)", id, cur, size);
}

static int
cloud_remove(struct pool_backend *b, uint64_t id, struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct staged *s;
	char key[512];

	pthread_mutex_lock(&c->lock);
	if ((s = staged_find(c, id)) != NULL)
		staged_drop(c, s);
	forget_locked(c, id);
	pthread_mutex_unlock(&c->lock);
	obj_key(c, id, key, sizeof(key));
	return s3_delete(c->s3, key, e);
}

struct list_acc {
	const char	*prefix;
	uint64_t	*v;
	size_t		 n, cap;
};

static int
list_one(void *arg, const char *key, uint64_t size, struct err *e)
{
	struct list_acc *a = arg;
	size_t const pl = strlen(a->prefix);
	const char *name = key + pl;
	char *end;
	uint64_t id;

	(void)size;
	if (strncmp(key, a->prefix, pl) != 0 || strlen(name) != 20 ||
	    strcmp(name + 16, ".ctr") != 0)
		return 0;	/* not ours */
	errno = 0;
	id = strtoull(name, &end, 16);
	if (errno != 0 || end != name + 16)
		return 0;
	if (a->n == a->cap) {
		size_t const ncap = a->cap ? a->cap * 2 : 64;
		uint64_t *nv = realloc(a->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return err_set(e, COFFER_ENOMEM, "list containers: out "
			    "of memory");
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->n++] = id;
	return 0;
}

static int
cloud_list(struct pool_backend *b, uint64_t **ids, size_t *n, struct err *e)
{
	struct cloud_backend *c = (struct cloud_backend *)b;
	struct list_acc a = { c->prefix, NULL, 0, 0 };
	int r;

	if ((r = s3_list(c->s3, c->prefix, list_one, &a, e)) != 0) {
		free(a.v);
		return r;
	}
	*ids = a.v;
	*n = a.n;
	return 0;
}

static void
cloud_close(struct pool_backend *b)
{
	struct cloud_backend *c = (struct cloud_backend *)b;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_broadcast(&c->pq_cv);
	pthread_mutex_unlock(&c->lock);
	pthread_cond_broadcast(&c->up_cv);
	for (int i = 0; i < c->npf; i++)
		pthread_join(c->pf[i], NULL);
	for (int i = 0; i < c->have_up; i++)
		pthread_join(c->up[i], NULL);
	pthread_mutex_lock(&c->lock);
	while (c->staged != NULL)
		staged_drop(c, c->staged);
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < CACHE_N; i++)
		free(c->cache[i].data);
	s3_free(c->s3);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->pq_cv);
	pthread_cond_destroy(&c->up_cv);
	pthread_mutex_destroy(&c->lock);
	free(c->staging);
	free(c->prefix);
	free(c);
}

static const struct pool_backend_ops cloud_ops = {
	.name = "cloud",
	.flags = POOL_BE_SEAL_ON_SYNC,
	.create = cloud_create,
	.write = cloud_write,
	.sync = cloud_sync,
	.read = cloud_read,
	.size = cloud_size,
	.truncate = cloud_truncate,
	.remove = cloud_remove,
	.list = cloud_list,
	.close = cloud_close,
};

/* Staged files of an earlier run: never uploaded, so never indexed. */
static void
clean_staging(const char *dir)
{
	struct dirent *de;
	char path[4096];
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		size_t const n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, ".ctr") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			(void)unlink(path);
		}
	}
	closedir(dp);
}

struct pool_backend *
pool_backend_cloud_open(const struct s3_conf *sc, const char *staging,
    const char *prefix, struct err *e)
{
	struct cloud_backend *c;

	if (util_mkdir_p(staging, 0700, e) != 0)
		return NULL;
	clean_staging(staging);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->staging = strdup(staging)) == NULL ||
	    (c->prefix = strdup(prefix)) == NULL) {
		if (c != NULL)
			free(c->staging);
		free(c);
		err_set(e, COFFER_ENOMEM, "cloud pool: out of memory");
		return NULL;
	}
	if ((c->s3 = s3_new(sc, e)) == NULL) {
		free(c->staging);
		free(c->prefix);
		free(c);
		return NULL;
	}
	c->base.ops = &cloud_ops;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->pq_cv, NULL);
	/* Without prefetch threads reads still work, one window at a time. */
	for (int i = 0; i < PREFETCH_THREADS; i++)
		if (pthread_create(&c->pf[c->npf], NULL, prefetch_main, c) == 0)
			c->npf++;
	/* Without the uploader, sync() sends each container whole. */
	pthread_cond_init(&c->up_cv, NULL);
	for (int i = 0; i < UPLOADERS; i++)
		if (pthread_create(&c->up[c->have_up], NULL, uploader_main,
		    c) == 0)
			c->have_up++;
	return &c->base;
}

struct s3 *
pool_backend_cloud_s3(struct pool_backend *b)
{
	return b->ops == &cloud_ops ? ((struct cloud_backend *)b)->s3 : NULL;
}
