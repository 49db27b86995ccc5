/*
 * test_ingest.c - the ordered chunk pipeline, with a sink that records
 * every call: order (chunks, then their object's end, objects in turn),
 * bytes that reassemble each object, names that are the SHA-256 of the
 * bytes, stored forms that decode, zero chunks and known chunks handled
 * without work, fixed blocks, empty objects, a failing sink, abandoned
 * objects, and reading from a file.  Each runs with 0 (one per CPU), 1 and
 * 2 worker threads.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "ingest.h"
#include "util.h"

#define KIB		1024u
#define CDC_MIN		(4 * KIB)
#define CDC_AVG		(16 * KIB)
#define CDC_MAX		(64 * KIB)
#define MAX_EVENTS	4096
#define MAX_OBJECTS	8

static const int thread_counts[] = { 0, 1, 2 };
#define NTHREADS \
	((int)(sizeof(thread_counts) / sizeof(thread_counts[0])))

enum ev_kind { EV_PUT, EV_END, EV_ABORT };

struct event {
	enum ev_kind	kind;
	int		obj;
	uint32_t	raw_len;
	int		zero;
	int		known;
	uint8_t		codec;
	int		stored_null;
	uint8_t		hash[HASH_LEN];
	int		hash_ok;	/* hash == SHA-256(raw) */
	int		decode_ok;	/* stored decodes to raw */
	size_t		off;		/* where the chunk starts */
};

/* An object fed to the pipeline; its cookie is its index. */
struct object {
	uint8_t		*in;
	size_t		 len;
	uint8_t		*got;		/* raw bytes of its put() chunks */
	size_t		 got_len;
};

struct sink_state {
	struct event	 ev[MAX_EVENTS];
	int		 nev;
	struct object	 obj[MAX_OBJECTS];
	int		 has_calls;	/* atomically updated */
	int		 has_answer;	/* what has() says */
	int		 fail_at;	/* put number that fails, 0: none */
	int		 puts;
	struct hash_ctx	*hash;
	struct codec	*codec;
	uint8_t		*scratch;
};

struct fixture {
	char		 dir[64];
	struct sink_state *s;
};

static uint64_t
next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
fill_rand(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand(&seed);
}

static void
fill_text(uint8_t *p, size_t n, uint64_t seed)
{
	static const char *const words[] = { "coffer ", "backup ", "chunk ",
	    "container ", "pool ", "restore ", "tape ", "volume\n" };

	for (size_t i = 0; i < n;) {
		const char *w = words[next_rand(&seed) % 8];

		for (; *w != '\0' && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

/* ---- the recording sink ---- */

static int
sink_has(void *arg, const uint8_t hash[HASH_LEN])
{
	struct sink_state *s = arg;

	(void)hash;
	__atomic_fetch_add(&s->has_calls, 1, __ATOMIC_RELAXED);
	return s->has_answer;
}

static struct event *
new_event(struct sink_state *s, enum ev_kind kind, void *cookie)
{
	struct event *ev;

	assert_true(s->nev < MAX_EVENTS);
	ev = &s->ev[s->nev++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->obj = (int)(intptr_t)cookie;
	return ev;
}

static int
sink_put(void *arg, void *cookie, const struct ingest_chunk *c,
    struct err *e)
{
	struct sink_state *s = arg;
	struct event *ev;
	struct object *o;
	const uint8_t *raw;
	uint8_t h[HASH_LEN];

	if (s->fail_at != 0 && ++s->puts == s->fail_at)
		return err_set(e, COFFER_ENOSPC, "sink: pool is full at put %d",
		    s->puts);
	ev = new_event(s, EV_PUT, cookie);
	ev->raw_len = c->raw_len;
	ev->zero = c->zero;
	ev->known = c->known;
	ev->codec = c->codec;
	ev->stored_null = c->stored == NULL;
	memcpy(ev->hash, c->hash, HASH_LEN);
	o = &s->obj[ev->obj];
	ev->off = o->got_len;
	if (c->raw == NULL && c->stored == NULL && !c->zero) {
		/* A chunk named by its hash, never read (ingest_known). */
		assert_true(c->known);
		o->got_len += c->raw_len;
		return 0;
	}
	if (c->raw == NULL && c->stored == NULL) {
		/* A hole nobody read (ingest_zero). */
		assert_true(c->zero);
		assert_non_null(o->got);
		memset(o->got + o->got_len, 0, c->raw_len);
		o->got_len += c->raw_len;
		return 0;
	}
	if (c->raw == NULL) {
		/* Compressed in place: only the stored form is left. */
		assert_non_null(c->stored);
		assert_int_not_equal(c->codec, CODEC_RAW);
		ev->decode_ok = codec_decode(s->codec, c->codec, c->stored,
		    c->stored_len, s->scratch, c->raw_len, NULL) == 0;
		raw = s->scratch;
	} else {
		raw = c->raw;
		if (c->stored != NULL)
			ev->decode_ok = codec_decode(s->codec, c->codec,
			    c->stored, c->stored_len, s->scratch, c->raw_len,
			    NULL) == 0 &&
			    memcmp(s->scratch, c->raw, c->raw_len) == 0;
	}
	assert_int_equal(hash_sha256(s->hash, raw, c->raw_len, h), 0);
	ev->hash_ok = memcmp(h, c->hash, HASH_LEN) == 0;
	assert_non_null(o->got);
	memcpy(o->got + o->got_len, raw, c->raw_len);
	o->got_len += c->raw_len;
	return 0;
}

static int
sink_end(void *arg, void *cookie, struct err *e)
{
	(void)e;
	new_event(arg, EV_END, cookie);
	return 0;
}

static void
sink_abort(void *arg, void *cookie)
{
	new_event(arg, EV_ABORT, cookie);
}

static void
sink_reset(struct sink_state *s)
{
	for (int i = 0; i < MAX_OBJECTS; i++) {
		free(s->obj[i].in);
		free(s->obj[i].got);
	}
	memset(s->obj, 0, sizeof(s->obj));
	s->nev = 0;
	s->has_calls = 0;
	s->has_answer = 0;
	s->fail_at = 0;
	s->puts = 0;
}

static struct object *
object_new(struct sink_state *s, int i, size_t len)
{
	struct object *o = &s->obj[i];

	o->len = len;
	o->in = malloc(len ? len : 1);
	o->got = malloc(len + 1024 * KIB);
	o->got_len = 0;
	assert_non_null(o->in);
	assert_non_null(o->got);
	return o;
}

static struct ingest *
pipeline(struct sink_state *s, int threads, uint32_t fixed)
{
	struct ingest_params p;
	struct ingest_sink sink = {
		.has = sink_has, .put = sink_put, .object_end = sink_end,
		.object_abort = sink_abort, .arg = s,
	};
	struct ingest *ig;
	struct err e;

	ingest_params_default(&p);
	p.min = CDC_MIN;
	p.avg = CDC_AVG;
	p.max = CDC_MAX;
	p.fixed = fixed;
	p.threads = threads;
	err_clear(&e);
	ig = ingest_new(&p, &sink, &e);
	if (ig == NULL)
		fail_msg("ingest_new: %s", e.msg);
	return ig;
}

/* Feed o as object i in pieces of odd sizes. */
static void
feed(struct ingest *ig, struct sink_state *s, int i, uint64_t seed)
{
	struct object *o = &s->obj[i];
	struct err e;
	size_t off = 0;

	assert_int_equal(ingest_begin(ig, (void *)(intptr_t)i, &e), 0);
	while (off < o->len) {
		size_t n = 1 + next_rand(&seed) % (3 * CDC_MAX);

		if (n > o->len - off)
			n = o->len - off;
		assert_int_equal(ingest_write(ig, o->in + off, n, &e), 0);
		off += n;
	}
	assert_int_equal(ingest_end(ig, &e), 0);
}

/* Every object's put() bytes, concatenated, are its input. */
static void
assert_reassembled(const struct sink_state *s, int nobj)
{
	for (int i = 0; i < nobj; i++) {
		const struct object *o = &s->obj[i];

		assert_int_equal(o->got_len, o->len);
		if (o->len > 0)
			assert_memory_equal(o->got, o->in, o->len);
	}
}

static int
setup(void **state)
{
	struct fixture *fx;
	struct err e;

	if ((fx = calloc(1, sizeof(*fx))) == NULL ||
	    (fx->s = calloc(1, sizeof(*fx->s))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-test-ingest.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	if ((fx->s->hash = hash_ctx_new(&e)) == NULL ||
	    (fx->s->codec = codec_new(0, &e)) == NULL ||
	    (fx->s->scratch = malloc(1024 * KIB)) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	sink_reset(fx->s);
	hash_ctx_free(fx->s->hash);
	codec_free(fx->s->codec);
	free(fx->s->scratch);
	free(fx->s);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* ---- tests ---- */

static void
ingest_objects_arrive_in_order_and_reassemble(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	static const size_t sizes[] = { 700 * KIB, 1, CDC_MIN - 1, 333 * KIB,
	    CDC_MAX, 1100 * KIB };
	int const nobj = (int)(sizeof(sizes) / sizeof(sizes[0]));
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		int cur = 0, puts = 0;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t], 0);
		for (int i = 0; i < nobj; i++) {
			struct object *o = object_new(s, i, sizes[i]);

			if (i % 2)
				fill_text(o->in, o->len, (uint64_t)i);
			else
				fill_rand(o->in, o->len, (uint64_t)i + 100);
			feed(ig, s, i, (uint64_t)(t * 10 + i));
		}
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);

		/* put()s of object i, its end, then object i + 1. */
		for (int k = 0; k < s->nev; k++) {
			const struct event *ev = &s->ev[k];

			assert_int_equal(ev->obj, cur);
			if (ev->kind == EV_END) {
				cur++;
				continue;
			}
			assert_int_equal(ev->kind, EV_PUT);
			assert_true(ev->raw_len >= 1 && ev->raw_len <= CDC_MAX);
			assert_false(ev->zero);
			assert_false(ev->known);
			assert_true(ev->hash_ok);
			assert_false(ev->stored_null);
			assert_true(ev->decode_ok);
			puts++;
		}
		assert_int_equal(cur, nobj);
		assert_int_equal(s->has_calls, puts);
		assert_reassembled(s, nobj);
	}
}

/*
 * Chunks live in one ring of INGEST_INFLIGHT plus a largest chunk: a
 * stream several times its size wraps it many times, with chunks of
 * every size ending anywhere.  A region handed out twice would show as a
 * chunk whose bytes, hash or stored form do not match its input.
 */
static void
ingest_ring_wraps_without_overwriting_queued_chunks(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	static const size_t sizes[] = { 5 * 1024 * KIB + 7, 3 * KIB,
	    6 * 1024 * KIB + 4093, 1, 4 * 1024 * KIB + 65535,
	    7 * 1024 * KIB };
	int const nobj = (int)(sizeof(sizes) / sizeof(sizes[0]));
	struct err e;

	assert_true(sizes[0] + sizes[2] + sizes[4] + sizes[5] >
	    2 * (size_t)INGEST_INFLIGHT);
	/*
	 * Small CDC chunks wrap the ring; blocks of almost 1 MiB fill it, so
	 * the feeder must wait for the oldest chunk to leave before reusing
	 * its bytes.
	 */
	for (int t = 0; t < 2 * NTHREADS; t++) {
		uint32_t const fixed = t < NTHREADS ? 0 : 1000 * KIB + 3;
		struct ingest *ig;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t % NTHREADS], fixed);
		for (int i = 0; i < nobj; i++) {
			struct object *o = object_new(s, i, sizes[i]);

			if (i % 2)
				fill_text(o->in, o->len, (uint64_t)i + 7);
			else
				fill_rand(o->in, o->len, (uint64_t)i + 70);
			feed(ig, s, i, (uint64_t)(t * 31 + i));
		}
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		for (int k = 0; k < s->nev; k++) {
			if (s->ev[k].kind != EV_PUT)
				continue;
			assert_true(s->ev[k].hash_ok);
			assert_true(s->ev[k].decode_ok);
		}
		assert_reassembled(s, nobj);
	}
}

static void
ingest_both_codecs_appear_for_mixed_data(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	struct ingest *ig;
	struct object *o;
	struct err e;
	int raw = 0, zstd = 0;

	sink_reset(s);
	ig = pipeline(s, 2, 0);
	o = object_new(s, 0, 1024 * KIB);
	fill_rand(o->in, 512 * KIB, 1);
	fill_text(o->in + 512 * KIB, 512 * KIB, 2);
	feed(ig, s, 0, 5);
	assert_int_equal(ingest_flush(ig, &e), 0);
	ingest_free(ig);
	for (int k = 0; k < s->nev; k++) {
		if (s->ev[k].kind != EV_PUT)
			continue;
		raw += s->ev[k].codec == CODEC_RAW;
		zstd += s->ev[k].codec == CODEC_ZSTD;
		assert_true(s->ev[k].decode_ok);
	}
	assert_true(raw > 0);
	assert_true(zstd > 0);
	assert_reassembled(s, 1);
}

static void
ingest_zero_chunks_are_flagged_and_not_hashed(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	static const uint8_t nohash[HASH_LEN];
	uint32_t const bs = 64 * KIB;
	int const nblocks = 16;
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		struct object *o;
		int k, blk = 0;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t], bs);
		o = object_new(s, 0, (size_t)nblocks * bs);
		/* Every third block is a hole; one with a byte set is not. */
		fill_rand(o->in, o->len, 9);
		for (int b = 0; b < nblocks; b += 3)
			memset(o->in + (size_t)b * bs, 0, bs);
		memset(o->in + 1 * (size_t)bs, 0, bs);
		o->in[1 * (size_t)bs + bs - 1] = 1;
		feed(ig, s, 0, 11);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);

		for (k = 0; k < s->nev && s->ev[k].kind == EV_PUT; k++, blk++) {
			const struct event *ev = &s->ev[k];

			assert_int_equal(ev->raw_len, bs);
			if (blk % 3 == 0) {
				assert_true(ev->zero);
				assert_memory_equal(ev->hash, nohash, HASH_LEN);
				assert_true(ev->stored_null);
				assert_int_equal(ev->codec, 0);
			} else {
				assert_false(ev->zero);
				assert_true(ev->hash_ok);
				assert_true(ev->decode_ok);
			}
		}
		assert_int_equal(blk, nblocks);
		assert_int_equal(s->ev[k].kind, EV_END);
		/* has() is only asked about chunks that have a name. */
		assert_int_equal(s->has_calls, nblocks - (nblocks + 2) / 3);
		assert_reassembled(s, 1);
	}
}

static void
ingest_known_chunks_skip_compression(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		struct object *o;
		int puts = 0;

		sink_reset(s);
		s->has_answer = 1;
		ig = pipeline(s, thread_counts[t], 0);
		o = object_new(s, 0, 600 * KIB);
		fill_text(o->in, o->len, 4);
		feed(ig, s, 0, 3);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		for (int k = 0; k < s->nev; k++) {
			const struct event *ev = &s->ev[k];

			if (ev->kind != EV_PUT)
				continue;
			puts++;
			assert_true(ev->known);
			assert_true(ev->stored_null);
			assert_int_equal(ev->codec, 0);
			assert_true(ev->hash_ok);
		}
		assert_true(puts > 1);
		assert_int_equal(s->has_calls, puts);
		assert_reassembled(s, 1);
	}
}

static void
ingest_fixed_mode_cuts_exact_block_sizes(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	uint32_t const bs = 4096;
	size_t const len = 37 * (size_t)bs + 100;
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		struct object *o;
		int n = 0;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t], bs);
		o = object_new(s, 0, len);
		fill_rand(o->in, len, 77);
		feed(ig, s, 0, (uint64_t)t);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		for (int k = 0; k < s->nev; k++) {
			if (s->ev[k].kind != EV_PUT)
				continue;
			assert_int_equal(s->ev[k].raw_len, n < 37 ? bs : 100);
			n++;
		}
		assert_int_equal(n, 38);
		assert_int_equal(s->ev[s->nev - 1].kind, EV_END);
		assert_reassembled(s, 1);
	}
}

/* A content-defined pipeline cuts one object, an image, in fixed blocks. */
static void
ingest_fixed_object_in_cdc_pipeline_cuts_blocks(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	uint32_t const bs = 65536;
	size_t const len = 9 * (size_t)bs + 7;
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		struct object *o;
		int n = 0;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t], 0);
		o = object_new(s, 0, len);
		fill_rand(o->in, len, 5);
		err_clear(&e);
		assert_int_equal(ingest_begin_fixed(ig, (void *)(intptr_t)0, bs,
		    &e), 0);
		assert_int_equal(ingest_write(ig, o->in, len, &e), 0);
		assert_int_equal(ingest_end(ig, &e), 0);
		assert_int_equal(ingest_flush(ig, &e), 0);
		/* Larger than the pipeline's largest chunk: refused. */
		assert_int_equal(ingest_begin_fixed(ig, NULL, 64u << 20, &e),
		    COFFER_EINVAL);
		ingest_free(ig);
		for (int k = 0; k < s->nev; k++) {
			if (s->ev[k].kind != EV_PUT)
				continue;
			assert_int_equal(s->ev[k].raw_len, n < 9 ? bs : 7);
			n++;
		}
		assert_int_equal(n, 10);
		assert_reassembled(s, 1);
	}
}

static void
ingest_empty_object_still_gets_object_end(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t], 0);
		object_new(s, 0, 0);
		object_new(s, 1, 10);
		memset(s->obj[1].in, 'x', 10);
		object_new(s, 2, 0);
		for (int i = 0; i < 3; i++)
			feed(ig, s, i, 1);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		assert_int_equal(s->nev, 4);
		assert_int_equal(s->ev[0].kind, EV_END);
		assert_int_equal(s->ev[0].obj, 0);
		assert_int_equal(s->ev[1].kind, EV_PUT);
		assert_int_equal(s->ev[1].raw_len, 10);
		assert_int_equal(s->ev[2].kind, EV_END);
		assert_int_equal(s->ev[2].obj, 1);
		assert_int_equal(s->ev[3].kind, EV_END);
		assert_int_equal(s->ev[3].obj, 2);
		assert_reassembled(s, 3);
	}
}

static void
ingest_failing_put_stops_pipeline_with_its_error(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		struct err e;
		int r = 0, i;

		sink_reset(s);
		s->fail_at = 5;
		ig = pipeline(s, thread_counts[t], 4096);
		err_clear(&e);
		/* 4 objects of 3 blocks: the 5th put is object 1's second. */
		for (i = 0; i < 4 && r == 0; i++) {
			struct object *o = object_new(s, i, 3 * 4096);

			fill_rand(o->in, o->len, (uint64_t)i);
			if ((r = ingest_begin(ig, (void *)(intptr_t)i,
			    &e)) == 0 &&
			    (r = ingest_write(ig, o->in, o->len, &e)) == 0)
				r = ingest_end(ig, &e);
		}
		if (r == 0)
			r = ingest_flush(ig, &e);
		assert_int_equal(r, COFFER_ENOSPC);
		assert_non_null(strstr(e.msg, "pool is full at put 5"));
		/* Once failed, it stays failed and says so. */
		err_clear(&e);
		assert_int_equal(ingest_begin(ig, (void *)(intptr_t)7, &e),
		    COFFER_ECANCELED);
		assert_true(e.msg[0] != '\0');
		(void)ingest_flush(ig, NULL);
		ingest_free(ig);
		/*
		 * Object 0 complete, one chunk of object 1, then only aborts:
		 * every object that was queued unfinished is given back once
		 * (object 1 among them), so the sink can free it.
		 */
		assert_true(s->nev >= 6);
		for (int k = 0; k < 3; k++) {
			assert_int_equal(s->ev[k].kind, EV_PUT);
			assert_int_equal(s->ev[k].obj, 0);
		}
		assert_int_equal(s->ev[3].kind, EV_END);
		assert_int_equal(s->ev[4].kind, EV_PUT);
		assert_int_equal(s->ev[4].obj, 1);
		for (int k = 5; k < s->nev; k++) {
			assert_int_equal(s->ev[k].kind, EV_ABORT);
			assert_int_equal(s->ev[k].obj, k - 4);
		}
	}
}

static void
ingest_abort_calls_object_abort_not_end(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	struct err e;

	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		struct object *a, *b;
		int k, aborted = 0;

		sink_reset(s);
		ig = pipeline(s, thread_counts[t], 0);
		a = object_new(s, 0, 500 * KIB);
		fill_rand(a->in, a->len, 21);
		b = object_new(s, 1, 200 * KIB);
		fill_rand(b->in, b->len, 22);
		assert_int_equal(ingest_begin(ig, (void *)(intptr_t)0, &e), 0);
		assert_int_equal(ingest_write(ig, a->in, a->len, &e), 0);
		assert_int_equal(ingest_abort(ig, &e), 0);
		/* Aborting with nothing open is harmless. */
		assert_int_equal(ingest_abort(ig, &e), 0);
		feed(ig, s, 1, 2);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);

		for (k = 0; k < s->nev && s->ev[k].obj == 0; k++) {
			assert_int_not_equal(s->ev[k].kind, EV_END);
			if (s->ev[k].kind == EV_ABORT)
				aborted++;
		}
		assert_int_equal(aborted, 1);
		assert_int_equal(s->ev[k - 1].kind, EV_ABORT);
		/* Chunks put for the abandoned object are a prefix of it. */
		assert_true(a->got_len < a->len);
		assert_memory_equal(a->got, a->in, a->got_len);
		for (; k < s->nev; k++) {
			assert_int_equal(s->ev[k].obj, 1);
			assert_int_not_equal(s->ev[k].kind, EV_ABORT);
		}
		assert_int_equal(s->ev[s->nev - 1].kind, EV_END);
		assert_int_equal(b->got_len, b->len);
		assert_memory_equal(b->got, b->in, b->len);
	}
}

static void
ingest_fd_reads_whole_file_and_counts_bytes(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	char path[PATH_MAX];
	struct object *o;
	struct err e;
	size_t const len = 3 * 1024 * KIB + 12345;	/* > one read window */

	snprintf(path, sizeof(path), "%s/input", fx->dir);
	sink_reset(s);
	o = object_new(s, 0, len);
	fill_rand(o->in, len, 31);
	memset(o->in + 1024 * KIB, 0, 300 * KIB);
	assert_int_equal(util_write_atomic(path, o->in, len, 0600, &e), 0);
	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		uint64_t nread = 0;
		int fd;

		o->got_len = 0;
		s->nev = 0;
		ig = pipeline(s, thread_counts[t], 0);
		assert_true((fd = open(path, O_RDONLY)) >= 0);
		assert_int_equal(ingest_fd(ig, fd, (void *)(intptr_t)0, &nread,
		    path, &e), 0);
		close(fd);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		assert_int_equal(nread, len);
		assert_int_equal(s->ev[s->nev - 1].kind, EV_END);
		assert_reassembled(s, 1);
	}
}

/* Write len bytes of data at off into fd (the rest stays a hole). */
static void
put_data(int fd, uint8_t *img, size_t off, size_t len, unsigned seed)
{
	fill_rand(img + off, len, seed);
	assert_int_equal(pwrite(fd, img + off, len, (off_t)off), (ssize_t)len);
}

static void
ingest_fd_sparse_skips_holes_keeps_blocks_aligned(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	size_t const blk = 64 * KIB, size = 5 * 1024 * KIB + 1000;
	char path[PATH_MAX];
	struct object *o;
	struct err e;
	off_t hole;
	int fd;

	snprintf(path, sizeof(path), "%s/sparse", fx->dir);
	sink_reset(s);
	o = object_new(s, 0, size);
	memset(o->in, 0, size);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	put_data(fd, o->in, 0, 100 * KIB, 41);		/* ends mid-block */
	put_data(fd, o->in, 1024 * KIB + 4 * KIB, 4 * KIB, 42); /* mid-block */
	put_data(fd, o->in, 3 * 1024 * KIB, blk, 43);
	put_data(fd, o->in, size - 10, 10, 44);		/* the ragged tail */
	hole = lseek(fd, 0, SEEK_HOLE);
	for (int t = 0; t < NTHREADS; t++) {
		struct ingest *ig;
		uint64_t nread = 0;

		o->got_len = 0;
		s->nev = 0;
		ig = pipeline(s, thread_counts[t], 0);
		assert_int_equal(ingest_fd_sparse(ig, fd, (void *)(intptr_t)0,
		    (uint32_t)blk, 0, size, &nread, path, &e), 0);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		assert_int_equal(s->ev[s->nev - 1].kind, EV_END);
		assert_reassembled(s, 1);
		/* Every chunk starts on a block of the image. */
		for (int k = 0; k < s->nev; k++)
			if (s->ev[k].kind == EV_PUT)
				assert_int_equal(s->ev[k].off % blk, 0);
		if (hole > 0 && (size_t)hole < size) {
			/* The file system has holes: only 4 blocks were read. */
			assert_int_equal(nread, 2 * blk + blk + blk +
			    (size - (size / blk) * blk));
		} else {
			assert_int_equal(nread, size);
		}
	}
	close(fd);
}

/*
 * A disk cut into segments: each range of the image is its own object,
 * read from its offset, reassembling to exactly its slice of the image,
 * its chunks on blocks of the image; an unaligned start is refused.
 */
static void
ingest_fd_sparse_ranges_cut_segments(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	size_t const blk = 64 * KIB, seg = 1024 * KIB;
	size_t const size = 2 * seg + 300 * KIB + 17;
	uint8_t *img;
	char path[PATH_MAX];
	struct ingest *ig;
	uint64_t nread = 0, total = 0;
	struct err e;
	int fd;

	snprintf(path, sizeof(path), "%s/segmented", fx->dir);
	sink_reset(s);
	assert_non_null(img = calloc(1, size));
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	put_data(fd, img, seg - 8 * KIB, 16 * KIB, 51);	/* spans a cut */
	put_data(fd, img, seg + 200 * KIB, blk, 52);
	put_data(fd, img, size - 5, 5, 53);
	ig = pipeline(s, 2, 0);
	for (int i = 0; i < 3; i++) {
		size_t const start = (size_t)i * seg;
		size_t const end = i < 2 ? start + seg : size;
		struct object *o = object_new(s, i, end - start);

		memcpy(o->in, img + start, end - start);
		assert_int_equal(ingest_fd_sparse(ig, fd, (void *)(intptr_t)i,
		    (uint32_t)blk, start, end, &nread, path, &e), 0);
		total += nread;
	}
	assert_int_equal(ingest_flush(ig, &e), 0);
	assert_reassembled(s, 3);
	for (int k = 0; k < s->nev; k++)
		if (s->ev[k].kind == EV_PUT)
			assert_int_equal(s->ev[k].off % blk, 0);
	assert_true(total <= size);
	assert_int_equal(ingest_fd_sparse(ig, fd, (void *)(intptr_t)0,
	    (uint32_t)blk, blk / 2, size, &nread, path, &e), COFFER_EINTERNAL);
	assert_non_null(strstr(e.msg, "not aligned"));
	ingest_free(ig);
	close(fd);
	free(img);
}

static void
ingest_known_chunk_is_named_not_read(void **state)
{
	struct fixture *fx = *state;
	struct sink_state *s = fx->s;
	size_t const blk = 64 * KIB;
	uint8_t h[HASH_LEN], buf[64 * KIB];
	struct ingest *ig;
	struct err e;

	memset(h, 0x5c, sizeof(h));
	fill_rand(buf, sizeof(buf), 7);
	for (int t = 0; t < NTHREADS; t++) {
		sink_reset(s);
		(void)object_new(s, 0, 4 * blk);
		ig = pipeline(s, thread_counts[t], 0);
		assert_int_equal(ingest_begin_fixed(ig, (void *)(intptr_t)0,
		    (uint32_t)blk, &e), 0);
		assert_int_equal(ingest_write(ig, buf, blk, &e), 0);
		assert_int_equal(ingest_known(ig, h, (uint32_t)blk, &e), 0);
		assert_int_equal(ingest_zero(ig, blk, &e), 0);
		assert_int_equal(ingest_write(ig, buf, blk / 2, &e), 0);
		assert_int_equal(ingest_end(ig, &e), 0);
		assert_int_equal(ingest_flush(ig, &e), 0);
		ingest_free(ig);
		assert_int_equal(s->nev, 5);
		assert_int_equal(s->ev[0].known, 0);
		assert_true(s->ev[0].hash_ok);
		assert_true(s->ev[1].known);
		assert_true(s->ev[1].stored_null);
		assert_int_equal(s->ev[1].raw_len, blk);
		assert_int_equal(s->ev[1].off, blk);
		assert_memory_equal(s->ev[1].hash, h, HASH_LEN);
		assert_true(s->ev[2].zero);
		assert_int_equal(s->ev[3].off, 3 * blk);
		assert_int_equal(s->ev[4].kind, EV_END);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    ingest_objects_arrive_in_order_and_reassemble, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_ring_wraps_without_overwriting_queued_chunks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_both_codecs_appear_for_mixed_data, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_zero_chunks_are_flagged_and_not_hashed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_known_chunks_skip_compression, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_fixed_mode_cuts_exact_block_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_fixed_object_in_cdc_pipeline_cuts_blocks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_empty_object_still_gets_object_end, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_failing_put_stops_pipeline_with_its_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_abort_calls_object_abort_not_end, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_fd_reads_whole_file_and_counts_bytes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_fd_sparse_skips_holes_keeps_blocks_aligned, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_fd_sparse_ranges_cut_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ingest_known_chunk_is_named_not_read, setup, teardown),
	};

	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
