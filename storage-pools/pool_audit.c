/*
 * pool_audit.c - AUDIT CONTAINER: re-read every chunk and check it.
 *
 * Chunks are visited in (container, offset) order, so each container is
 * read front to back.  Rows are fetched in batches under the pool lock and
 * checked outside it, so backups go on while an audit runs.  A chunk is
 * damaged when its record cannot be read, its header or CRC32C is wrong,
 * it does not decode to its raw length, or its SHA-256 differs from its
 * name; a damaged chunk is marked in the index and never served as good.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "codec.h"
#include "err.h"
#include "fault.h"
#include "pool_int.h"

#define AUDIT_BATCH	512

struct audit_row {
	uint8_t		hash[HASH_LEN];
	struct pool_loc	loc;
};

/* Next batch of rows after (container, offset); returns the count. */
static int
fetch_batch(struct pool *p, uint64_t ctr, uint64_t off,
    struct audit_row *rows, size_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	*n = 0;
	pthread_mutex_lock(&p->lock);
	if (sqlite3_prepare_v2(p->ix.db, "SELECT hash, container, offset,"
	    " stored_len, raw_len FROM chunk WHERE (container, offset) >"
	    " (?1, ?2) ORDER BY container, offset LIMIT ?3", -1, &st, NULL) !=
	    SQLITE_OK) {
		r = err_set(e, COFFER_EDB, "audit: %s", sqlite3_errmsg(p->ix.db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)ctr);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)off);
	sqlite3_bind_int(st, 3, AUDIT_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct audit_row *a = &rows[*n];

		if (sqlite3_column_bytes(st, 0) != HASH_LEN)
			continue;
		memcpy(a->hash, sqlite3_column_blob(st, 0), HASH_LEN);
		a->loc.container = (uint64_t)sqlite3_column_int64(st, 1);
		a->loc.offset = (uint64_t)sqlite3_column_int64(st, 2);
		a->loc.stored_len = (uint32_t)sqlite3_column_int64(st, 3);
		a->loc.raw_len = (uint32_t)sqlite3_column_int64(st, 4);
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		r = err_set(e, COFFER_EDB, "audit: %s", sqlite3_errmsg(p->ix.db));
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&p->lock);
	return r;
}

struct audit_ctx {
	struct codec	*codec;
	struct hash_ctx	*hash;
	uint8_t		*rec;
	size_t		 reccap;
	uint8_t		*raw;
};

/* Check one chunk; 0 good, COFFER_ECORRUPT with why in e, or an error. */
static int
check_one(struct pool *p, struct audit_ctx *a, const struct audit_row *row,
    struct err *e)
{
	size_t const need = CTR_REC_HDR_LEN + (size_t)row->loc.stored_len;
	struct ctr_rec_hdr h;
	uint8_t got[HASH_LEN];
	int r;

	if (row->loc.raw_len == 0 || row->loc.raw_len > POOL_RAW_MAX ||
	    row->loc.stored_len > codec_bound(row->loc.raw_len))
		return err_set(e, COFFER_ECORRUPT, "index lengths out of range");
	if (need > a->reccap) {
		uint8_t *nb = realloc(a->rec, need);

		if (nb == NULL)
			return err_set(e, COFFER_ENOMEM, "audit: out of memory");
		a->rec = nb;
		a->reccap = need;
	}
	r = pool_read_record(p, row->loc.container, &row->loc, row->hash,
	    a->rec, &h, e);
	if (r == COFFER_ENOTFOUND)
		return err_set(e, COFFER_ECORRUPT, "container file is missing");
	if (r != 0)
		return r;
	if ((r = codec_decode(a->codec, h.codec, a->rec + CTR_REC_HDR_LEN,
	    h.stored_len, a->raw, h.raw_len, e)) != 0)
		return COFFER_ECORRUPT;
	if ((r = hash_sha256(a->hash, a->raw, h.raw_len, got)) != 0)
		return err_set(e, r, "sha256 failed");
	if (memcmp(got, row->hash, HASH_LEN) != 0)
		return err_set(e, COFFER_ECORRUPT, "content does not match its "
		    "SHA-256");
	return 0;
}

static void
audit_ctx_free(struct audit_ctx *a)
{
	codec_free(a->codec);
	hash_ctx_free(a->hash);
	free(a->rec);
	free(a->raw);
}

int
pool_audit(struct pool *p, pool_damage_cb cb, void *arg,
    struct pool_audit_report *rep, struct err *e)
{
	struct audit_row *rows = NULL;
	struct audit_ctx a;
	uint64_t ctr = 0, off = 0, last_ctr = 0, last_skip = 0;
	size_t n;
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(&a, 0, sizeof(a));
	if ((rows = calloc(AUDIT_BATCH, sizeof(*rows))) == NULL ||
	    (a.raw = malloc(POOL_RAW_MAX)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "audit: out of memory");
		goto out;
	}
	if ((a.codec = codec_new(p->params.level, e)) == NULL ||
	    (a.hash = hash_ctx_new(e)) == NULL) {
		r = e ? e->code : COFFER_EINTERNAL;
		goto out;
	}
	for (;;) {
		if ((r = fetch_batch(p, ctr, off, rows, &n, e)) != 0 || n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			struct err why;

			err_clear(&why);
			if (pool_be(p, rows[i].loc.container) == NULL) {
				/* Counted, never called damaged: unread. */
				rep->skipped_chunks++;
				if (rows[i].loc.container != last_skip) {
					rep->skipped_containers++;
					last_skip = rows[i].loc.container;
				}
				continue;
			}
			r = check_one(p, &a, &rows[i], &why);
			if (r != 0 && r != COFFER_ECORRUPT) {
				if (e != NULL)
					*e = why;
				goto out;
			}
			rep->chunks_checked++;
			/* invariant (4): audit reads, marks damage only. */
			FAULT_POINT("audit.chunk");
			rep->bytes_read += CTR_REC_HDR_LEN + rows[i].loc.stored_len;
			if (rows[i].loc.container != last_ctr) {
				rep->containers++;
				last_ctr = rows[i].loc.container;
			}
			if (r == COFFER_ECORRUPT) {
				rep->damaged++;
				pthread_mutex_lock(&p->lock);
				r = pool_index_mark_damaged(&p->ix, rows[i].hash,
				    e);
				pthread_mutex_unlock(&p->lock);
				if (r != 0)
					goto out;
				if (cb != NULL)
					cb(arg, rows[i].hash,
					    rows[i].loc.container,
					    rows[i].loc.offset, why.msg);
			}
		}
		ctr = rows[n - 1].loc.container;
		off = rows[n - 1].loc.offset;
	}
out:
	audit_ctx_free(&a);
	free(rows);
	return r;
}
