/*
 * ingest.c - the ordered, multi-threaded chunk pipeline (see ingest.h).
 *
 * The queue is a ring of INGEST_QUEUE jobs.  Slot states:
 *
 *   FREE --fill (feeder)--> READY --take (worker)--> BUSY --> DONE
 *     ^                                                       |
 *     +------------------ deliver in order (feeder) ----------+
 *
 * The feeder fills at head and delivers at tail; workers take READY jobs
 * in ring order.  When the ring is full and the tail job is not done, the
 * feeder works on a READY job itself instead of sleeping, so on a 2-core
 * machine both cores hash and compress while the feeder also reads.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "err.h"
#include "ingest.h"
#include "util.h"

#define INGEST_MAX_THREADS	16
#define INGEST_READ		(1u << 20)

enum job_state { JOB_FREE, JOB_READY, JOB_BUSY, JOB_DONE };
enum job_kind { JOB_CHUNK, JOB_END, JOB_ABORT };

struct job {
	enum job_state		 state;
	enum job_kind		 kind;
	void			*cookie;
	struct ingest_chunk	 c;
	int			 hole;		/* a zero run given, not read */
	int			 given;		/* a chunk named, not read */
	size_t			 held;		/* raw bytes counted in flight */
	uint8_t			*raw;		/* in the ring: raw bytes, then
						   the stored form */
	size_t			 off;		/* of raw in the ring */
	int			 rc;
	struct err		 e;
};

struct worker_ctx {
	struct ingest		*ig;
	struct codec		*codec;
	struct hash_ctx		*hash;
	uint8_t			*scratch;	/* codec output, then copied */
	size_t			 scratch_cap;
};

struct ingest {
	struct ingest_params	 p;
	struct chunker		 ck;
	struct ingest_sink	 sink;

	pthread_mutex_t		 lock;
	pthread_cond_t		 work_cv;	/* a job became READY, or stop */
	pthread_cond_t		 done_cv;	/* a job became DONE */
	struct job		 jobs[INGEST_QUEUE];
	unsigned		 head, tail, next_work, count;

	/*
	 * Every byte read, in one ring that only the feeder hands out and
	 * takes back, in queue order.  The queued jobs' chunks are
	 * [rtail, rhead), or, once the head wrapped, [rtail, rend) and
	 * [0, rhead).  The current object's bytes read but not yet cut
	 * follow at [rhead, rhead + wlen): files are read straight into
	 * the ring and a chunk is cut where it lies, so no byte is copied
	 * between reading and the sink.  INGEST_INFLIGHT plus one largest
	 * chunk and one read, allocated once.
	 */
	uint8_t			*ring;
	size_t			 ring_cap, rhead, rtail, rend;
	size_t			 rlive;		/* bytes held by queued jobs */
	size_t			 wlen;		/* the window's bytes */
	int			 idle;		/* workers waiting */
	int			 stop;
	pthread_t		 thr[INGEST_MAX_THREADS];
	struct worker_ctx	 wctx[INGEST_MAX_THREADS];
	int			 nthr;
	struct worker_ctx	 self;		/* the feeder's own contexts */

	void			*cookie;
	uint32_t		 obj_fixed;	/* this object's block size */
	int			 in_object;
	int			 failed;	/* a put() failed: refuse more */
};

void
ingest_params_default(struct ingest_params *p)
{
	memset(p, 0, sizeof(*p));
	p->min = CHUNKER_MIN_DEFAULT;
	p->avg = CHUNKER_AVG_DEFAULT;
	p->max = CHUNKER_MAX_DEFAULT;
	p->level = CODEC_LEVEL_DEFAULT;
}

static int
ctx_init(struct worker_ctx *w, int level, struct err *e)
{
	if ((w->codec = codec_new(level, e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	if ((w->hash = hash_ctx_new(e)) == NULL)
		return e ? e->code : COFFER_ENOMEM;
	return 0;
}

static void
ctx_fini(struct worker_ctx *w)
{
	codec_free(w->codec);
	hash_ctx_free(w->hash);
	free(w->scratch);
	w->codec = NULL;
	w->hash = NULL;
	w->scratch = NULL;
	w->scratch_cap = 0;
}

/*
 * Compress j's raw bytes and leave the stored form in j->raw itself.
 * zstd cannot work in place, so it writes into the thread's scratch and
 * the (smaller) result is copied back: one buffer per slot instead of a
 * raw and a bound-sized stored one, which halves the pipeline's memory.
 * Incompressible data is stored as it is, without a copy.
 */
static int
job_compress(struct worker_ctx *w, struct job *j)
{
	size_t const bound = codec_bound(j->c.raw_len);
	size_t stored_len;
	uint8_t codec_id;
	int r;

	if (bound > w->scratch_cap) {
		uint8_t *ns = realloc(w->scratch, bound);

		if (ns == NULL)
			return err_set(&j->e, COFFER_ENOMEM,
			    "ingest: out of memory");
		w->scratch = ns;
		w->scratch_cap = bound;
	}
	if ((r = codec_encode(w->codec, j->raw, j->c.raw_len, w->scratch,
	    w->scratch_cap, &stored_len, &codec_id, &j->e)) != 0)
		return r;
	if (codec_id != CODEC_RAW)
		memcpy(j->raw, w->scratch, stored_len);
	j->c.stored = j->raw;
	j->c.stored_len = (uint32_t)stored_len;
	j->c.codec = codec_id;
	return 0;
}

/* Hash, check and compress one chunk.  Runs without the lock held. */
static void
job_run(struct ingest *ig, struct worker_ctx *w, struct job *j)
{
	j->rc = 0;
	if (j->kind != JOB_CHUNK)
		return;
	if (j->given) {
		/* Named by the caller, who knows the server holds it. */
		j->c.known = 1;
		return;
	}
	if (j->hole || util_is_zero(j->raw, j->c.raw_len)) {
		/* Zero chunks are holes: nothing to name or store. */
		j->c.zero = 1;
		return;
	}
	if ((j->rc = hash_sha256(w->hash, j->raw, j->c.raw_len,
	    j->c.hash)) != 0) {
		err_set(&j->e, j->rc, "sha256 failed");
		return;
	}
	if (ig->sink.has != NULL && ig->sink.has(ig->sink.arg, j->c.hash) == 1) {
		j->c.known = 1;
		return;
	}
	j->rc = job_compress(w, j);
}

/* Take the next READY job in ring order; lock held.  NULL if none. */
static struct job *
take_ready(struct ingest *ig)
{
	while (ig->next_work != ig->head) {
		struct job *j = &ig->jobs[ig->next_work % INGEST_QUEUE];

		ig->next_work++;
		if (j->state == JOB_READY) {
			j->state = JOB_BUSY;
			return j;
		}
	}
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct worker_ctx *w = arg;
	struct ingest *ig = w->ig;
	struct job *j;

	pthread_mutex_lock(&ig->lock);
	for (;;) {
		while (!ig->stop && (j = take_ready(ig)) == NULL) {
			ig->idle++;
			pthread_cond_wait(&ig->work_cv, &ig->lock);
			ig->idle--;
		}
		if (ig->stop)
			break;
		pthread_mutex_unlock(&ig->lock);
		job_run(ig, w, j);
		pthread_mutex_lock(&ig->lock);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&ig->done_cv);
	}
	pthread_mutex_unlock(&ig->lock);
	return NULL;
}

/* ---- the ring of read bytes (feeder thread only) ---- */

/* Bytes that can be appended to the window where it lies. */
static size_t
win_room(const struct ingest *ig)
{
	size_t const wend = ig->rhead + ig->wlen;

	return (ig->rend == 0 ? ig->ring_cap : ig->rtail) - wend;
}

/* Where the next bytes of the window go. */
static uint8_t *
win_end(const struct ingest *ig)
{
	return ig->ring + ig->rhead + ig->wlen;
}

static int deliver_tail(struct ingest *ig, struct err *e);

/*
 * Room for want more window bytes (want + wlen <= ring_cap - the largest
 * chunk): move the window to the front of the ring when the end is too
 * short and the front is free, or else deliver the oldest chunks.
 */
static int
win_reserve(struct ingest *ig, size_t want, struct err *e)
{
	int r;

	for (;;) {
		if (win_room(ig) >= want)
			return 0;
		if (ig->rlive == 0 || (ig->rend == 0 &&
		    ig->wlen + want <= ig->rtail)) {
			/* At most one chunk's bytes move, once a lap. */
			memmove(ig->ring, ig->ring + ig->rhead, ig->wlen);
			if (ig->rlive == 0)
				ig->rtail = ig->rend = 0;
			else
				ig->rend = ig->rhead;
			ig->rhead = 0;
			continue;
		}
		if ((r = deliver_tail(ig, e)) != 0)
			return r;
	}
}

/* The first n bytes of the window become job j's chunk. */
static void
win_cut(struct ingest *ig, struct job *j, size_t n)
{
	j->raw = ig->ring + ig->rhead;
	j->off = ig->rhead;
	ig->rhead += n;
	ig->wlen -= n;
	ig->rlive += n;
}

/* The window's bytes are dropped (the object was abandoned). */
static void
win_drop(struct ingest *ig)
{
	ig->wlen = 0;
	if (ig->rlive == 0)
		ig->rhead = ig->rtail = ig->rend = 0;
}

/* The oldest job's bytes, delivered, go back to the ring. */
static void
ring_release(struct ingest *ig, struct job *j)
{
	if (j->held == 0 || j->raw == NULL)
		return;
	ig->rlive -= j->held;
	ig->rtail = j->off + j->held;
	if (ig->rend != 0 && j->off == 0) {
		/* The tail wrapped too: one region again. */
		ig->rend = 0;
	}
	if (ig->rlive == 0) {
		/* No chunk left: the window alone, or an empty ring. */
		ig->rtail = ig->rhead;
		ig->rend = 0;
		if (ig->wlen == 0)
			ig->rhead = ig->rtail = 0;
	}
}

/* Hand the oldest job to the sink and free its slot; lock not held. */
static int
deliver_tail(struct ingest *ig, struct err *e)
{
	struct job *j = &ig->jobs[ig->tail % INGEST_QUEUE];
	int r;

	pthread_mutex_lock(&ig->lock);
	while (j->state != JOB_DONE) {
		struct job *mine = take_ready(ig);

		if (mine != NULL) {
			/* Help instead of waiting. */
			pthread_mutex_unlock(&ig->lock);
			job_run(ig, &ig->self, mine);
			pthread_mutex_lock(&ig->lock);
			mine->state = JOB_DONE;
			pthread_cond_broadcast(&ig->done_cv);
			continue;
		}
		pthread_cond_wait(&ig->done_cv, &ig->lock);
	}
	pthread_mutex_unlock(&ig->lock);

	if ((r = j->rc) != 0) {
		if (e != NULL)
			*e = j->e;
	} else if (ig->failed) {
		/*
		 * Drain after a failure; the first error was reported.  The
		 * objects still in the queue go back to the sink unfinished.
		 */
		if ((j->kind == JOB_END || j->kind == JOB_ABORT) &&
		    ig->sink.object_abort != NULL)
			ig->sink.object_abort(ig->sink.arg, j->cookie);
		r = err_set(e, COFFER_ECANCELED, "ingest: pipeline stopped by "
		    "an earlier error");
	} else if (j->kind == JOB_ABORT) {
		if (ig->sink.object_abort != NULL)
			ig->sink.object_abort(ig->sink.arg, j->cookie);
		r = 0;
	} else if (j->kind == JOB_END) {
		r = ig->sink.object_end ? ig->sink.object_end(ig->sink.arg,
		    j->cookie, e) : 0;
	} else {
		/* Compressed in place, the raw bytes are gone. */
		j->c.raw = j->hole || j->given || (j->c.stored != NULL &&
		    j->c.codec != CODEC_RAW) ? NULL : j->raw;
		r = ig->sink.put(ig->sink.arg, j->cookie, &j->c, e);
	}
	if (r != 0)
		ig->failed = 1;
	pthread_mutex_lock(&ig->lock);
	j->state = JOB_FREE;
	ig->tail++;
	ig->count--;
	pthread_mutex_unlock(&ig->lock);
	ring_release(ig, j);
	return r;
}

/*
 * A free slot at head, delivering from the tail while the queue is full.
 * Its chunk bytes, if any, come from the window (win_cut).
 */
static int
slot_get(struct ingest *ig, struct job **out, struct err *e)
{
	struct job *j;
	int r;

	while (ig->count == INGEST_QUEUE)
		if ((r = deliver_tail(ig, e)) != 0)
			return r;
	j = &ig->jobs[ig->head % INGEST_QUEUE];
	j->raw = NULL;
	j->off = 0;
	*out = j;
	return 0;
}

static void
slot_submit(struct ingest *ig, struct job *j)
{
	pthread_mutex_lock(&ig->lock);
	j->state = JOB_READY;
	ig->head++;
	ig->count++;
	if (ig->idle > 0)	/* a wake-up costs: only when someone sleeps */
		pthread_cond_signal(&ig->work_cv);
	pthread_mutex_unlock(&ig->lock);
}

/* The window's first n bytes, a chunk, go to the workers. */
static int
queue_chunk(struct ingest *ig, size_t n, struct err *e)
{
	struct job *j;
	int r;

	if ((r = slot_get(ig, &j, e)) != 0)
		return r;
	win_cut(ig, j, n);
	memset(&j->c, 0, sizeof(j->c));
	j->c.raw_len = (uint32_t)n;
	j->held = n;
	j->hole = 0;
	j->given = 0;
	j->kind = JOB_CHUNK;
	j->cookie = ig->cookie;
	slot_submit(ig, j);
	return 0;
}

static size_t
next_cut(struct ingest *ig, const uint8_t *p, size_t n)
{
	uint32_t const fixed = ig->obj_fixed ? ig->obj_fixed : ig->p.fixed;

	if (fixed != 0)
		return n < fixed ? n : fixed;
	return chunker_next(&ig->ck, p, n);
}

/* Cut chunks from the window while a final cut is possible. */
static int
cut_window(struct ingest *ig, int eof, struct err *e)
{
	size_t const max = ig->obj_fixed ? ig->obj_fixed : ig->p.fixed ?
	    ig->p.fixed : ig->p.max;
	int r;

	while (ig->wlen >= max || (eof && ig->wlen > 0)) {
		size_t avail = ig->wlen < max ? ig->wlen : max;
		size_t cut = next_cut(ig, ig->ring + ig->rhead, avail);

		if ((r = queue_chunk(ig, cut, e)) != 0)
			return r;
	}
	return 0;
}

static int
start_workers(struct ingest *ig, struct err *e)
{
	int n = ig->p.threads, r;

	if (n <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (int)cpus : 1;
	}
	if (n > INGEST_MAX_THREADS)
		n = INGEST_MAX_THREADS;
	for (int i = 0; i < n; i++) {
		ig->wctx[i].ig = ig;
		if ((r = ctx_init(&ig->wctx[i], ig->p.level, e)) != 0)
			return r;
		if (pthread_create(&ig->thr[i], NULL, worker_main,
		    &ig->wctx[i]) != 0) {
			ctx_fini(&ig->wctx[i]);
			return err_set(e, COFFER_EINTERNAL,
			    "ingest: cannot start worker thread");
		}
		ig->nthr = i + 1;
	}
	return 0;
}

struct ingest *
ingest_new(const struct ingest_params *p, const struct ingest_sink *sink,
    struct err *e)
{
	struct ingest *ig;
	size_t max;

	if ((ig = calloc(1, sizeof(*ig))) == NULL) {
		err_set(e, COFFER_ENOMEM, "ingest: out of memory");
		return NULL;
	}
	ig->p = *p;
	ig->sink = *sink;
	pthread_mutex_init(&ig->lock, NULL);
	pthread_cond_init(&ig->work_cv, NULL);
	pthread_cond_init(&ig->done_cv, NULL);
	if (p->fixed == 0 && chunker_init(&ig->ck, p->min, p->avg, p->max)) {
		err_set(e, COFFER_EINVAL, "chunk sizes %u/%u/%u are invalid",
		    p->min, p->avg, p->max);
		goto fail;
	}
	if (p->fixed > CHUNKER_LIMIT_MAX) {
		err_set(e, COFFER_EINVAL, "block size %u too large", p->fixed);
		goto fail;
	}
	max = p->fixed ? p->fixed : p->max;
	ig->ring_cap = INGEST_INFLIGHT + max + INGEST_READ;
	if ((ig->ring = malloc(ig->ring_cap)) == NULL)
		goto nomem;
	if (ctx_init(&ig->self, p->level, e) != 0)
		goto fail;
	if (start_workers(ig, e) != 0)
		goto fail;
	return ig;
nomem:
	err_set(e, COFFER_ENOMEM, "ingest: out of memory");
fail:
	ingest_free(ig);
	return NULL;
}

void
ingest_free(struct ingest *ig)
{
	if (ig == NULL)
		return;
	/* Unfinished work is abandoned: every object goes back to the sink. */
	ig->failed = 1;
	(void)ingest_abort(ig, NULL);
	while (ig->count > 0)
		(void)deliver_tail(ig, NULL);
	pthread_mutex_lock(&ig->lock);
	ig->stop = 1;
	pthread_cond_broadcast(&ig->work_cv);
	pthread_mutex_unlock(&ig->lock);
	for (int i = 0; i < ig->nthr; i++) {
		pthread_join(ig->thr[i], NULL);
		ctx_fini(&ig->wctx[i]);
	}
	ctx_fini(&ig->self);
	free(ig->ring);
	pthread_mutex_destroy(&ig->lock);
	pthread_cond_destroy(&ig->work_cv);
	pthread_cond_destroy(&ig->done_cv);
	free(ig);
}

int
ingest_begin(struct ingest *ig, void *cookie, struct err *e)
{
	if (ig->failed)
		return err_set(e, COFFER_ECANCELED, "ingest: pipeline failed");
	if (ig->in_object)
		return err_set(e, COFFER_EINVAL, "ingest: object already open");
	ig->in_object = 1;
	ig->cookie = cookie;
	ig->obj_fixed = 0;
	win_drop(ig);
	return 0;
}

int
ingest_begin_fixed(struct ingest *ig, void *cookie, uint32_t block,
    struct err *e)
{
	uint32_t const limit = ig->p.fixed ? ig->p.fixed : ig->p.max;
	int r;

	if (block == 0 || block > limit)
		return err_set(e, COFFER_EINVAL, "block size %u: must be 1..%u",
		    block, limit);
	if ((r = ingest_begin(ig, cookie, e)) != 0)
		return r;
	ig->obj_fixed = block;
	return 0;
}

int
ingest_write(struct ingest *ig, const void *p, size_t n, struct err *e)
{
	const uint8_t *src = p;
	int r;

	if (ig->failed)
		return err_set(e, COFFER_ECANCELED, "ingest: pipeline failed");
	while (n > 0) {
		size_t take = n < INGEST_READ ? n : INGEST_READ;

		if ((r = win_reserve(ig, take, e)) != 0)
			return r;
		memcpy(win_end(ig), src, take);
		ig->wlen += take;
		src += take;
		n -= take;
		if ((r = cut_window(ig, 0, e)) != 0)
			return r;
	}
	return 0;
}

static int
queue_marker(struct ingest *ig, enum job_kind kind, struct err *e)
{
	struct job *j;
	int r;

	if ((r = slot_get(ig, &j, e)) != 0)
		return r;
	memset(&j->c, 0, sizeof(j->c));
	j->held = 0;
	j->hole = 0;
	j->given = 0;
	j->kind = kind;
	j->cookie = ig->cookie;
	slot_submit(ig, j);
	return 0;
}

int
ingest_end(struct ingest *ig, struct err *e)
{
	int r;

	if (!ig->in_object)
		return err_set(e, COFFER_EINVAL, "ingest: no object open");
	if ((r = cut_window(ig, 1, e)) != 0)
		return r;
	if ((r = queue_marker(ig, JOB_END, e)) != 0)
		return r;
	ig->in_object = 0;
	return 0;
}

int
ingest_abort(struct ingest *ig, struct err *e)
{
	if (!ig->in_object)
		return 0;
	ig->in_object = 0;
	win_drop(ig);
	if (ig->failed) {
		/* Nothing more is delivered: give the object back now. */
		if (ig->sink.object_abort != NULL)
			ig->sink.object_abort(ig->sink.arg, ig->cookie);
		return 0;
	}
	return queue_marker(ig, JOB_ABORT, e);
}

int
ingest_fd(struct ingest *ig, int fd, void *cookie, uint64_t *nread,
    const char *what, struct err *e)
{
	return ingest_fd_fixed(ig, fd, cookie, 0, nread, what, e);
}

int
ingest_fd_fixed(struct ingest *ig, int fd, void *cookie, uint32_t block,
    uint64_t *nread, const char *what, struct err *e)
{
	uint64_t total = 0;
	int r;

	if (nread != NULL)
		*nread = 0;
	if ((r = block ? ingest_begin_fixed(ig, cookie, block, e) :
	    ingest_begin(ig, cookie, e)) != 0)
		return r;
	for (;;) {
		size_t got;

		if ((r = cut_window(ig, 0, e)) != 0 ||
		    (r = win_reserve(ig, INGEST_READ, e)) != 0)
			goto out;
		/* Straight into the ring, where the chunks will be cut. */
		r = util_read_full(fd, win_end(ig), INGEST_READ, &got, what, e);
		if (r != 0)
			goto out;
		ig->wlen += got;
		total += got;
		if (got < INGEST_READ)
			break;
	}
	r = ingest_end(ig, e);
out:
	if (r != 0 && ig->in_object)
		(void)ingest_abort(ig, NULL);	/* keep r and its message */
	if (nread != NULL)
		*nread = total;
	return r;
}

/*
 * Before a zero run or a known chunk enters the object: what was written
 * before ends here and is cut whole, and with fixed blocks that must
 * leave the object on a block boundary.
 */
static int
cut_before_insert(struct ingest *ig, const char *what, struct err *e)
{
	uint32_t const fixed = ig->obj_fixed ? ig->obj_fixed : ig->p.fixed;
	int r;

	if (!ig->in_object)
		return err_set(e, COFFER_EINVAL, "ingest: no object open");
	if (ig->failed)
		return err_set(e, COFFER_ECANCELED, "ingest: pipeline failed");
	if ((r = cut_window(ig, 1, e)) != 0)
		return r;
	if (fixed != 0 && ig->wlen != 0)
		return err_set(e, COFFER_EINTERNAL, "ingest: %s not on a block "
		    "boundary", what);
	return 0;
}

int
ingest_zero(struct ingest *ig, uint64_t len, struct err *e)
{
	int r;

	if ((r = cut_before_insert(ig, "zero run", e)) != 0)
		return r;
	while (len > 0) {
		uint64_t const n = len < INGEST_ZERO_RUN ? len :
		    INGEST_ZERO_RUN;
		struct job *j;

		/* Nothing is read or copied, so nothing counts in flight. */
		if ((r = slot_get(ig, &j, e)) != 0)
			return r;
		memset(&j->c, 0, sizeof(j->c));
		j->c.raw_len = (uint32_t)n;
		j->held = 0;
		j->hole = 1;
		j->given = 0;
		j->kind = JOB_CHUNK;
		j->cookie = ig->cookie;
		slot_submit(ig, j);
		len -= n;
	}
	return 0;
}

int
ingest_known(struct ingest *ig, const uint8_t hash[HASH_LEN], uint32_t len,
    struct err *e)
{
	struct job *j;
	int r;

	if ((r = cut_before_insert(ig, "known chunk", e)) != 0)
		return r;
	if ((r = slot_get(ig, &j, e)) != 0)
		return r;
	memset(&j->c, 0, sizeof(j->c));
	memcpy(j->c.hash, hash, HASH_LEN);
	j->c.raw_len = len;
	j->held = 0;
	j->hole = 0;
	j->given = 1;
	j->kind = JOB_CHUNK;
	j->cookie = ig->cookie;
	slot_submit(ig, j);
	return 0;
}

/* Read [off, end) of fd into the current object. */
static int
read_range(struct ingest *ig, int fd, uint64_t off, uint64_t end,
    uint64_t *total, const char *what, struct err *e)
{
	int r;

	if (lseek(fd, (off_t)off, SEEK_SET) < 0)
		return err_sys(e, COFFER_EIO, "%s: seek", what);
	while (off < end) {
		size_t room = INGEST_READ, got;

		if (room > end - off)
			room = (size_t)(end - off);
		if ((r = cut_window(ig, 0, e)) != 0 ||
		    (r = win_reserve(ig, room, e)) != 0)
			return r;
		r = util_read_full(fd, win_end(ig), room, &got, what, e);
		if (r != 0)
			return r;
		ig->wlen += got;
		*total += got;
		off += got;
		if (got < room)
			break;	/* it shrank: the caller's fstat will tell */
	}
	return 0;
}

/*
 * Where the next data extent at or after off begins, and where it ends,
 * both rounded out to whole blocks and clamped to size.  No more data:
 * *ds = size.  A file system without SEEK_DATA has one extent, the file.
 */
static int
next_extent(int fd, uint64_t off, uint64_t size, uint32_t block,
    uint64_t *ds, uint64_t *de, const char *what, struct err *e)
{
	off_t d, h;

	d = lseek(fd, (off_t)off, SEEK_DATA);
	if (d < 0 && errno == ENXIO) {
		*ds = *de = size;
		return 0;
	}
	if (d < 0 && errno == EINVAL) {
		*ds = off;
		*de = size;
		return 0;
	}
	if (d < 0)
		return err_sys(e, COFFER_EIO, "%s: seek data", what);
	if ((h = lseek(fd, d, SEEK_HOLE)) < 0)
		return err_sys(e, COFFER_EIO, "%s: seek hole", what);
	*ds = (uint64_t)d - (uint64_t)d % block;
	if (*ds < off)
		*ds = off;
	*de = ((uint64_t)h + block - 1) / block * block;
	if (*de > size || *de < (uint64_t)h)
		*de = size;
	if (*ds > size)
		*ds = *de = size;
	return 0;
}

int
ingest_fd_sparse(struct ingest *ig, int fd, void *cookie, uint32_t block,
    uint64_t start, uint64_t end, uint64_t *nread, const char *what,
    struct err *e)
{
	uint64_t off = start, total = 0, ds = 0, de = 0;
	int r;

	if (nread != NULL)
		*nread = 0;
	if (block == 0 || start % block != 0 || end < start)
		return err_set(e, COFFER_EINTERNAL, "%s: range [%" PRIu64
		    ", %" PRIu64 ") is not aligned to %u-byte blocks", what,
		    start, end, block);
	if ((r = ingest_begin_fixed(ig, cookie, block, e)) != 0)
		return r;
	while (off < end) {
		if ((r = next_extent(fd, off, end, block, &ds, &de, what,
		    e)) != 0)
			goto out;
		if (ds > off && (r = ingest_zero(ig, ds - off, e)) != 0)
			goto out;
		if (de > ds && (r = read_range(ig, fd, ds, de, &total, what,
		    e)) != 0)
			goto out;
		if (de <= off)
			break;	/* it shrank under us */
		off = de;
	}
	r = ingest_end(ig, e);
out:
	if (r != 0 && ig->in_object)
		(void)ingest_abort(ig, NULL);
	if (nread != NULL)
		*nread = total;
	return r;
}

int
ingest_flush(struct ingest *ig, struct err *e)
{
	int r, first = 0;

	while (ig->count > 0) {
		r = deliver_tail(ig, e);
		if (r != 0 && first == 0)
			first = r;
		if (r != 0)
			e = NULL;	/* keep the first message */
	}
	return first;
}
