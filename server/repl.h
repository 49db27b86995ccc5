/*
 * repl.h - node replication to the replication server (TSM REPLICATE
 * NODE), the source side.  The target side is sess_repl.c.
 *
 * For each node the pattern names whose replstate is ENABLED and replmode
 * SEND or SYNCSEND, and each of its filespaces whose replrule is not
 * NONE: both sides digest the versions they hold (uuid, state,
 * deactivation time; active versions only under ACTIVE_DATA), and equal
 * digests end the filespace in one round trip.  Otherwise both lists are
 * walked in uuid order and merged: versions the target lacks are sent
 * (their chunks offered first, only those the target lacks sent, in the
 * stored form), versions it holds that the source no longer keeps are
 * deleted there, and changed states (deactivations) are applied.  Work is
 * committed on the target every REPL_BATCH_* so that a replication
 * stopped midway leaves the target consistent, and the next run starts
 * from what the target holds.  While merging, a version both sides hold
 * is also compared by content (a digest of its path, size and recipe):
 * a difference, such as a bad tape seed, is reported by path.
 */
#ifndef COFFER_REPL_H
#define COFFER_REPL_H

#include <stdint.h>

#define REPL_BATCH_OBJECTS	2000		/* versions per transaction */
#define REPL_BATCH_BYTES	(256u << 20)	/* chunk bytes per transaction */
#define REPL_PAGE		4096		/* versions listed at once */
/*
 * REPLICATE NODE MAXSESSIONS: sessions to the target at once.  TSM's
 * default is 10; here each session is a thread and a worker of the target
 * (SRV_WORKERS_DEFAULT = 4 unless cofferd.opt says otherwise), and
 * sessions beyond the cores only contend for the target's pool lock, so
 * the default is this server's online cores, at most
 * REPL_SESSIONS_DEFAULT (on the 2-core bench machine 2 beat 1 and 4,
 * BENCHMARKS.md).  A filespace is cut into uuid ranges of
 * REPL_UNIT_OBJECTS versions or more, up to REPL_UNITS_PER_SESSION per
 * session.
 */
#define REPL_SESSIONS_DEFAULT	4
#define REPL_SESSIONS_MAX	99
#define REPL_UNIT_OBJECTS	1000
#define REPL_UNITS_PER_SESSION	4
#define REPL_UNIT_ROW_BYTES	4096	/* what a version weighs beyond its
					   size: listing, metadata, commit */

struct err;
struct pool;
struct proc;

struct repl_params {
	const char	*catpath;	/* this server's catalog */
	struct pool	*pool;
	const char	*pattern;	/* node name, TSM wildcards, or "*" */
	int		 verify;	/* compare contents even when the
					   digests are equal */
	int		 maxsessions;	/* 0: the default (above) */
};

struct repl_stats {
	uint64_t	nodes;		/* replicated */
	uint64_t	filespaces;
	uint64_t	consistent;	/* filespaces found equal at once */
	uint64_t	objects_sent;
	uint64_t	chunks_sent;
	uint64_t	bytes_sent;	/* stored chunk bytes sent */
	uint64_t	objects_deleted;
	uint64_t	objects_updated;	/* state changes */
	uint64_t	objects_failed;
	uint64_t	differences;	/* verify: versions whose content differs */
	uint64_t	wire_bytes;
};

/*
 * Replicate; p (may be NULL) gets status lines and is polled for
 * cancellation between batches (what was committed stays).
 */
int repl_run(struct proc *p, const struct repl_params *rp,
    struct repl_stats *st, struct err *e);

/*
 * Open a server session to the replication server (SET REPLSERVER) with
 * the key DEFINE SERVER stored in c; *out is the connection, closed with
 * net_close().  COFFER_ENOTFOUND (ANR1703E) when none is set.
 */
struct cat;
struct net_conn;
int repl_connect(struct cat *c, struct net_conn **out, struct err *e);

/*
 * AUDIT CONTAINER FIX=YES: fetch the n chunks hashes names from the
 * replication server, in their stored form, check each (it must decode to
 * its length and hash) and store it again here, which repairs the damaged
 * copy in the index (pool_txn_store).  A chunk the replica lacks, or
 * holds damaged too, stays damaged and is counted as unavailable.
 */
struct repl_repair_stats {
	uint64_t	requested;
	uint64_t	repaired;
	uint64_t	unavailable;	/* the replica lacks it or it failed */
	char		server[64];	/* the replica asked */
};
int repl_repair(struct cat *c, struct pool *pool,
    const uint8_t (*hashes)[32], size_t n, struct repl_repair_stats *st,
    struct err *e);

/* SHA-256 of a version's path, size and recipe (verify=yes). */
struct cat_obj;
void repl_content_digest(const struct cat_obj *o, uint8_t out[32]);

#endif
