/*
 * repl_repair.c - repair damaged chunks from the replication server
 * (AUDIT CONTAINER FIX=YES; repl.h).
 *
 * A chunk is named by the SHA-256 of its plaintext on every server, so
 * the replica's copy of a damaged chunk is the same chunk.  It comes back
 * in its stored form (REPL_CHUNK_GET / REPL_CHUNK, PROTO_GET_MAX at a
 * time, so one request's replies stay bounded), is checked here exactly
 * as a client's chunk would be (pool_chunk_verify: it decodes to its
 * length and hash), and is stored again in one pool transaction per
 * batch (one per store: a chunk is repaired in the pool that held it).
 * pool_txn_repair writes it because the index holds only a damaged copy,
 * and points the row at the good one at the commit; reference counts do
 * not change, so every version that named the chunk reads it again.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cat.h"
#include "err.h"
#include "hash.h"
#include "net.h"
#include "pool.h"
#include "proto.h"
#include "repl.h"
#include "wire.h"

struct repair {
	struct cat			*c;
	struct pool			*pool;
	struct pool_reader		*rd;
	struct net_conn			*conn;
	struct repl_repair_stats	*st;
	struct wire_buf			 wb;
};

/* One REPL_CHUNK: check it and store it in t; 1 stored, 0 not. */
static int
take_chunk(struct repair *rp, struct pool_txn *t, const uint8_t *want,
    struct err *e)
{
	struct pool_chunk c;
	struct wire_rd r;
	const uint8_t *bytes;
	size_t len;
	uint8_t found, codec;
	uint32_t raw;
	char hex[HASH_HEX_LEN + 1];
	struct err why;
	int rc, stored = 0;

	memset(&c, 0, sizeof(c));
	if ((rc = net_recv_type(rp->conn, PT_REPL_CHUNK, &r, e)) != 0 ||
	    (rc = wire_get_raw(&r, c.hash, HASH_LEN, e)) != 0 ||
	    (rc = wire_get_u8(&r, &found, e)) != 0)
		return rc;
	if (memcmp(c.hash, want, HASH_LEN) != 0)
		return err_set(e, COFFER_EPROTO, "REPL_CHUNK out of order");
	hash_to_hex(want, hex);
	if (!found) {
		(void)wire_rd_end(&r, NULL);
		(void)cat_actlog(rp->c, CAT_SEV_WARN, 4869, NULL, "AUDIT "
		    "CONTAINER: chunk %s cannot be repaired: the replication "
		    "server %s lacks it or holds it damaged too.", hex,
		    rp->st->server);
		return 0;
	}
	if ((rc = wire_get_u32(&r, &raw, e)) != 0 ||
	    (rc = wire_get_u8(&r, &codec, e)) != 0 ||
	    (rc = wire_get_bytes(&r, POOL_RAW_MAX + 1024, &bytes, &len,
	    e)) != 0 || (rc = wire_rd_end(&r, e)) != 0)
		return rc;
	c.raw_len = raw;
	c.codec = codec;
	c.stored = bytes;
	c.stored_len = (uint32_t)len;
	err_clear(&why);
	if (pool_chunk_verify(rp->rd, &c, &why) != 0) {
		/* The replica's copy is bad too: never store it as good. */
		(void)cat_actlog(rp->c, CAT_SEV_ERROR, 4869, NULL, "AUDIT "
		    "CONTAINER: the copy of chunk %s from %s is damaged too "
		    "(%s); not repaired.", hex, rp->st->server, why.msg);
		return 0;
	}
	if ((rc = pool_txn_repair(t, &c, &stored, e)) != 0)
		return rc;
	return stored;
}

/*
 * The transaction for the store that holds the damaged copy of hash, begun
 * on first use: a chunk is repaired where it was (a cloud pool's chunk
 * stays in the cloud), not moved to the directory pool.
 */
static int
txn_for(struct repair *rp, struct pool_txn **t, const uint8_t *hash,
    struct pool_txn **out, struct err *e)
{
	int s = pool_chunk_store(rp->pool, hash);
	int rc;

	if (s < 0 || s >= POOL_STORES_MAX || !pool_store_attached(rp->pool, s))
		s = 0;
	if (t[s] == NULL) {
		if ((rc = pool_txn_begin(rp->pool, &t[s], e)) != 0)
			return rc;
		pool_txn_set_store(t[s], s);
	}
	*out = t[s];
	return 0;
}

/* Ask for hashes[0..n) (n <= PROTO_GET_MAX) and store what comes. */
static int
repair_batch(struct repair *rp, const uint8_t (*hashes)[32], size_t n,
    struct err *e)
{
	struct pool_txn *t[POOL_STORES_MAX] = { NULL }, *ti;
	uint64_t got = 0;
	int rc = 0;

	wire_buf_reset(&rp->wb);
	wire_put_u32(&rp->wb, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		wire_put_raw(&rp->wb, hashes[i], HASH_LEN);
	if ((rc = net_send(rp->conn, PT_REPL_CHUNK_GET, &rp->wb, e)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = txn_for(rp, t, hashes[i], &ti, e)) != 0 ||
		    (rc = take_chunk(rp, ti, hashes[i], e)) < 0)
			goto fail;
		got += (uint64_t)rc;
	}
	/* The container bytes are fsynced before the index names them. */
	for (int s = 0; s < POOL_STORES_MAX; s++) {
		if (t[s] == NULL)
			continue;
		rc = pool_txn_commit(t[s], NULL, NULL, e);
		t[s] = NULL;
		if (rc != 0)
			goto fail;
	}
	rp->st->repaired += got;
	rp->st->unavailable += n - got;
	return 0;
fail:
	for (int s = 0; s < POOL_STORES_MAX; s++)
		pool_txn_abort(t[s]);
	return rc < 0 ? rc : COFFER_EINTERNAL;
}

/* The name of the replication server, for messages. */
static void
replica_name(struct cat *c, char *out, size_t len)
{
	if (cat_setting_get(c, "replserver", out, len, NULL) != 0)
		snprintf(out, len, "(none)");
}

int
repl_repair(struct cat *c, struct pool *pool, const uint8_t (*hashes)[32],
    size_t n, struct repl_repair_stats *st, struct err *e)
{
	struct repair rp;
	int rc;

	memset(&rp, 0, sizeof(rp));
	memset(st, 0, sizeof(*st));
	rp.c = c;
	rp.pool = pool;
	rp.st = st;
	st->requested = n;
	replica_name(c, st->server, sizeof(st->server));
	wire_buf_init(&rp.wb, WIRE_FRAME_MAX);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if ((rp.rd = pool_reader_new(pool, e)) == NULL) {
		rc = e != NULL ? e->code : COFFER_ENOMEM;
		goto out;
	}
	if ((rc = repl_connect(c, &rp.conn, e)) != 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i += PROTO_GET_MAX) {
		size_t const k = n - i < PROTO_GET_MAX ? n - i : PROTO_GET_MAX;

		rc = repair_batch(&rp, hashes + i, k, e);
	}
out:
	net_close(rp.conn);
	pool_reader_free(rp.rd);
	wire_buf_free(&rp.wb);
	return rc;
}
