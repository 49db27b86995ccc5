/*
 * adm_proc.c - commands that run as server processes (EXPIRE INVENTORY,
 * RECLAIM STGPOOL, AUDIT CONTAINER, REPLICATE NODE, BACKUP DB) and the
 * process commands (QUERY PROCESS, CANCEL PROCESS).
 *
 * A process runs in its own thread (proc.h), so it cannot use the
 * session's catalog connection: it opens its own (env->catpath) for the
 * activity log, where it writes its start (ANR0984I), what it found, and
 * its end (ANR0987I with its counts, or ANR0985E/W).  Expiration works
 * through the pool's connection inside pool_exec(), the only way its
 * deletions and chunk releases commit together.
 *
 * Without WAIT=YES the command answers with the process number at once;
 * with it, the session waits and gets the counts (DESIGN "Command
 * contract").  One process of each kind runs at a time, as in TSM.
 *
 * AUDIT CONTAINER FIX=YES then fetches the chunks it found damaged from
 * the replication server and stores them again (repl_repair.c).
 *
 * Expiration commits in batches of whole paths (EXPIRE_BATCH versions
 * examined, COFFER_EXPIRE_BATCH in the environment for tests), each batch
 * one pool_exec() transaction with its deletions and chunk releases: a
 * kill between batches loses no committed batch, and a rerun finishes the
 * rest (it walks again from the start; what is done expires no further).
 *
 * Cancellation: expiration stops between two batches; what the batches
 * before committed stays, and the end message says how far it got.
 * Reclamation and audit run in the pool without a cancel hook, so there
 * a cancel takes effect only if it arrives before the work starts; after
 * that the process runs to its end and its end message says the cancel
 * came too late.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "adm_int.h"
#include "cat.h"
#include "dbb.h"
#include "err.h"
#include "fault.h"
#include "hash.h"
#include "pool.h"
#include "proc.h"
#include "proto.h"
#include "repl.h"
#include "exp.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define AUDIT_FIX_MAX	(1u << 20)	/* damaged chunks repaired per run */
/*
 * Versions examined per expiration transaction at most, and the index's
 * page cache meanwhile (KiB).  The object table's UUID indexes are in
 * random order against the path walk, so a batch dirties pages all over
 * them: bigger batches rewrite each page fewer times, as long as the
 * cache holds a batch's dirty pages (a batch ends early when they spill;
 * cat_expire_batch).  256 MiB holds the UUID indexes of a 3M-version
 * catalog; 262144 versions take some 10 s, the longest a backup's commit
 * waits for the pool meanwhile.
 */
#define EXPIRE_BATCH		262144
#define EXPIRE_CACHE_KIB	(256 * 1024)
#define EXPIRE_BATCH_MAX	(1u << 24)

enum job_kind {
	JOB_EXPIRE, JOB_RECLAIM, JOB_AUDIT, JOB_REPLICATE, JOB_EXPORT,
	JOB_IMPORT, JOB_BACKUPDB
};

static const char *const job_names[] = {
	"EXPIRE INVENTORY", "RECLAIM STGPOOL", "AUDIT CONTAINER",
	"REPLICATE NODE", "EXPORT NODE", "IMPORT NODE", "BACKUP DB",
};

/* What a cancel does to each kind of job, for ANR0940I: where it looks. */
static const char *const cancel_notes[] = {
	[JOB_EXPIRE] = "it stops when the batch it is in has committed, and "
	    "what it did stays",
	[JOB_RECLAIM] = "once under way it cannot be interrupted and stops "
	    "when its pass ends",
	[JOB_AUDIT] = "once under way it cannot be interrupted and stops "
	    "when its pass ends",
	[JOB_REPLICATE] = "it stops before its next version; what reached "
	    "the target stays, and a rerun sends only what the target lacks",
	[JOB_EXPORT] = "it stops after the filespace it is exporting",
	[JOB_IMPORT] = "it stops after the record it is reading; what it "
	    "committed stays, and a rerun skips it",
	[JOB_BACKUPDB] = "once under way it cannot be interrupted and stops "
	    "when its pass ends",
};

struct job {
	enum job_kind	 kind;
	struct pool	*pool;
	char		*catpath;	/* NULL: no activity log */
	int		 foreground;
	int		 pct;		/* reclaim: live % below which */
	int64_t		 now;		/* expire: the policy's "now" */
	char		*pattern;	/* replicate, export, import: nodes */
	char		*devclass;	/* export, import */
	char		*volumes;	/* import: "V1,V2" */
	char		*passphrase;	/* export, import: ENCRYPTKEY */
	int		 active_only;	/* export: FILEDATA=ACTIVE */
	int64_t		 fromdate;	/* export: FROMDATE */
	int		 verify;	/* replicate: compare contents */
	int		 maxsess;	/* replicate: MAXSESSIONS, 0 default */
	int		 fix;		/* audit: repair from the replica */
	uint8_t		(*damaged)[HASH_LEN];	/* audit: found damaged */
	size_t		 ndamaged, damaged_cap;
	char		 server[CAT_NAME_MAX + 1];	/* backup db */
	uint64_t	 id;
	struct cat	*log;		/* the process's own connection */
	/* results */
	uint64_t	 items;
	int		 late_cancel;	/* cancel arrived once under way */
	int		 stopped;	/* cancelled midway; counts hold */
	struct cat_expire_report	exp;
	/* expire: the committed cursor, the batch's, the batch's counts */
	struct cat_expire_cursor	exp_cur, exp_next;
	struct cat_expire_report	exp_step;
	size_t				exp_batch;
	struct pool_reclaim_report	rec;
	struct pool_audit_report	aud;
	struct repl_repair_stats	fixed;
	int				fix_failed;	/* could not reach it */
	struct repl_stats		repl;
	struct exp_stats		exp_out;
	struct imp_stats		imp;
	struct dbb_backup_result	dbb;
};

static void
job_free(void *arg)
{
	struct job *j = arg;

	if (j == NULL)
		return;
	cat_close(j->log);
	free(j->catpath);
	free(j->pattern);
	free(j->devclass);
	free(j->volumes);
	if (j->passphrase != NULL) {
		/* Not left in freed memory either. */
		OPENSSL_cleanse(j->passphrase, strlen(j->passphrase));
		free(j->passphrase);
	}
	exp_stats_free(&j->exp_out);
	free(j->damaged);
	free(j);
}

static const char *
ground(const struct job *j)
{
	return j->foreground ? "FOREGROUND" : "BACKGROUND";
}

static const char *
clock_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
	return buf;
}

/* ---- the process bodies ---- */

/* One expiration batch, inside its pool_exec() transaction. */
static int
expire_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct job *j = arg;
	struct cat *c = NULL;
	int r;

	if ((r = cat_attach(db, &c, e)) != 0)
		return r;
	r = cat_expire_batch(c, j->pool, j->now, j->exp_batch, &j->exp_next,
	    &j->exp_step, e);
	cat_close(c);
	/* invariant (2): a batch expired, not committed: it rolls back whole. */
	FAULT_POINT("expire.before_commit");
	return r;
}

/* Versions per batch: EXPIRE_BATCH, or COFFER_EXPIRE_BATCH (tests). */
static size_t
expire_batch_size(void)
{
	const char *v = getenv("COFFER_EXPIRE_BATCH");
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return EXPIRE_BATCH;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n == 0 || n > EXPIRE_BATCH_MAX)
		return EXPIRE_BATCH;
	return (size_t)n;
}

/*
 * The batches, each committed on its own.  j->exp counts only committed
 * batches, and the cursor moves on only with a commit.
 */
static int
expire_batches(struct proc *p, struct job *j, struct err *e)
{
	int r;

	cat_expire_cursor_init(&j->exp_cur);
	for (;;) {
		j->exp_next = j->exp_cur;
		memset(&j->exp_step, 0, sizeof(j->exp_step));
		if ((r = pool_exec(j->pool, expire_cb, j, e)) != 0)
			return r;
		j->exp_cur = j->exp_next;
		j->exp.examined += j->exp_step.examined;
		j->exp.deleted += j->exp_step.deleted;
		j->exp.bytes += j->exp_step.bytes;
		/* invariant (2): a committed batch stands, whatever follows. */
		FAULT_POINT("expire.after_batch");
		if (j->exp_cur.done)
			return 0;
		proc_set_status(p, "Expiring inventory of all nodes: %" PRIu64
		    " versions examined, %" PRIu64 " deleted", j->exp.examined,
		    j->exp.deleted);
		if (proc_cancelled(p)) {
			j->stopped = 1;
			return err_set(e, COFFER_ECANCELED, "cancelled");
		}
	}
}

/* EXPIRE INVENTORY, with the index cache raised for the run. */
static int
expire_run(struct proc *p, struct job *j, struct err *e)
{
	struct err e2;
	int r;

	j->exp_batch = expire_batch_size();
	/* A cache that stays small only makes the batches slower. */
	err_clear(&e2);
	(void)pool_set_cache(j->pool, EXPIRE_CACHE_KIB, &e2);
	r = expire_batches(p, j, e);
	(void)pool_set_cache(j->pool, 0, &e2);
	return r;
}

static void
damage_cb(void *arg, const uint8_t hash[HASH_LEN], uint64_t container,
    uint64_t offset, const char *why)
{
	struct job *j = arg;
	char hex[HASH_HEX_LEN + 1];

	/*
	 * FIX=YES repairs what this pass found; past the bound (32 MiB of
	 * hashes) the rest waits for the next audit.
	 */
	if (j->fix && j->ndamaged < AUDIT_FIX_MAX) {
		if (j->ndamaged == j->damaged_cap) {
			size_t const cap = j->damaged_cap ? j->damaged_cap * 2 :
			    64;
			void *nd = realloc(j->damaged, cap * HASH_LEN);

			if (nd != NULL) {
				j->damaged = nd;
				j->damaged_cap = cap;
			}
		}
		if (j->ndamaged < j->damaged_cap)
			memcpy(j->damaged[j->ndamaged++], hash, HASH_LEN);
	}
	if (j->log == NULL)
		return;
	hash_to_hex(hash, hex);
	(void)cat_actlog(j->log, CAT_SEV_WARN, 4866, NULL, "AUDIT CONTAINER: "
	    "chunk %s in container %08" PRIx64 " at offset %" PRIu64 " is "
	    "damaged: %s.", hex, container, offset, why);
}

/* One activity-log line per volume written (ANR4554I, TSM's). */
static void
log_volumes(struct job *j)
{
	char *save = NULL, *list;

	if ((list = strdup(j->dbb.volumes)) == NULL)
		return;
	for (char *v = strtok_r(list, ",", &save); v != NULL;
	    v = strtok_r(NULL, ",", &save))
		(void)cat_actlog(j->log, CAT_SEV_INFO, 4554, NULL, "BACKUP DB: "
		    "process %" PRIu64 " wrote volume %s (device class %s).",
		    j->id, v, j->devclass);
	free(list);
}

/*
 * BACKUP DB: the snapshot and the volume registration go through the
 * process's own connection (j->log), never a session's.
 */
static int
backup_db(struct proc *p, struct job *j, struct err *e)
{
	struct dbb_backup_params bp;
	char dir[PATH_MAX], *slash;
	int r;

	if (j->log == NULL)
		return err_set(e, COFFER_EINVAL, "database backup needs its "
		    "own connection to the catalog");
	/* The instance directory is the catalog's: DIR/catalog.db. */
	snprintf(dir, sizeof(dir), "%s", j->catpath);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	proc_set_status(p, "Backing up the database to device class %s",
	    j->devclass);
	memset(&bp, 0, sizeof(bp));
	bp.cat = j->log;
	bp.dir = dir;
	bp.server = j->server;
	bp.devclass = j->devclass;
	r = dbb_backup(&bp, &j->dbb, e);
	/* The set is registered; the process has not reported it yet. */
	FAULT_POINT("dbb.after_backup");
	j->items = j->dbb.nvols;
	if (r == 0)
		log_volumes(j);
	return r;
}

/*
 * FIX=YES: fetch what the audit found damaged from the replication
 * server.  The audit's findings stand whatever happens here: a replica
 * that cannot be reached is reported, not a failed audit.
 */
static void
audit_fix(struct proc *p, struct job *j)
{
	struct err e;

	if (j->ndamaged == 0)
		return;
	if (j->log == NULL) {
		j->fix_failed = 1;
		return;
	}
	proc_set_status(p, "Repairing %zu damaged chunks from the "
	    "replication server", j->ndamaged);
	err_clear(&e);
	if (repl_repair(j->log, j->pool, (const uint8_t (*)[32])j->damaged,
	    j->ndamaged, &j->fixed, &e) != 0) {
		j->fix_failed = 1;
		(void)cat_actlog(j->log, CAT_SEV_ERROR, 4868, NULL, "AUDIT "
		    "CONTAINER: damaged chunks could not be repaired from the "
		    "replication server %s: %s.", j->fixed.server, e.msg);
		return;
	}
	(void)cat_actlog(j->log, CAT_SEV_INFO, 4870, NULL, "AUDIT CONTAINER: "
	    "%" PRIu64 " of %" PRIu64 " damaged chunks repaired from the "
	    "replication server %s.", j->fixed.repaired, j->fixed.requested,
	    j->fixed.server);
}

/* The work itself; counts into j, the item count into j->items. */
static int
job_work(struct proc *p, struct job *j, struct err *e)
{
	int r;

	switch (j->kind) {
	case JOB_EXPIRE:
		proc_set_status(p, "Expiring inventory of all nodes");
		r = expire_run(p, j, e);
		/* invariant (4): expiration committed, not yet reported. */
		if (r == 0)
			FAULT_POINT("expire.after_commit");
		j->items = j->exp.examined;
		return r;
	case JOB_RECLAIM:
		proc_set_status(p, "Reclaiming containers of %s",
		    ADM_POOL_NAME);
		r = pool_reclaim(j->pool, j->pct, &j->rec, e);
		j->items = j->rec.chunks_moved;
		return r;
	case JOB_AUDIT:
		proc_set_status(p, "Auditing containers of %s", ADM_POOL_NAME);
		r = pool_audit(j->pool, damage_cb, j, &j->aud, e);
		j->items = j->aud.chunks_checked;
		if (r == 0 && j->fix)
			audit_fix(p, j);
		return r;
	case JOB_REPLICATE: {
		struct repl_params rp;

		if (j->catpath == NULL)
			return err_set(e, COFFER_EINVAL, "replication needs "
			    "the catalog file");
		memset(&rp, 0, sizeof(rp));
		rp.catpath = j->catpath;
		rp.pool = j->pool;
		rp.pattern = j->pattern;
		rp.verify = j->verify;
		rp.maxsessions = j->maxsess;
		r = repl_run(p, &rp, &j->repl, e);
		j->items = j->repl.objects_sent + j->repl.objects_deleted +
		    j->repl.objects_updated;
		return r;
	}
	case JOB_EXPORT: {
		struct exp_params xp;

		memset(&xp, 0, sizeof(xp));
		xp.catpath = j->catpath;
		xp.pool = j->pool;
		xp.pattern = j->pattern;
		xp.active_only = j->active_only;
		xp.fromdate = j->fromdate;
		xp.devclass = j->devclass;
		xp.passphrase = j->passphrase;
		proc_set_status(p, "Exporting %s to device class %s",
		    j->pattern, j->devclass);
		r = j->catpath ? exp_export_run(p, &xp, &j->exp_out, e) :
		    err_set(e, COFFER_EINVAL, "export needs the catalog file");
		j->items = j->exp_out.objects;
		return r;
	}
	case JOB_IMPORT: {
		struct imp_params ipm;

		memset(&ipm, 0, sizeof(ipm));
		ipm.catpath = j->catpath;
		ipm.pool = j->pool;
		ipm.pattern = j->pattern;
		ipm.devclass = j->devclass;
		ipm.volumes = j->volumes;
		ipm.passphrase = j->passphrase;
		proc_set_status(p, "Importing %s from %s", j->pattern,
		    j->volumes);
		r = j->catpath ? exp_import_run(p, &ipm, &j->imp, e) :
		    err_set(e, COFFER_EINVAL, "import needs the catalog file");
		j->items = j->imp.objects_imported + j->imp.objects_skipped;
		return r;
	}
	case JOB_BACKUPDB:
		return backup_db(p, j, e);
	}
	return err_set(e, COFFER_EINTERNAL, "process kind %d", (int)j->kind);
}

/* "examined 10, deleted 2 (4096 bytes)": the counts of a finished job. */
static void
job_counts(const struct job *j, char *buf, size_t len)
{
	switch (j->kind) {
	case JOB_EXPIRE:
		snprintf(buf, len, "%" PRIu64 " objects examined, %" PRIu64
		    " deleted, %" PRIu64 " bytes deleted", j->exp.examined,
		    j->exp.deleted, j->exp.bytes);
		break;
	case JOB_RECLAIM:
		snprintf(buf, len, "%" PRIu64 " containers reclaimed, %"
		    PRIu64 " chunks moved, %" PRIu64 " chunks freed, %" PRIu64
		    " bytes freed", j->rec.containers_reclaimed,
		    j->rec.chunks_moved, j->rec.chunks_freed,
		    j->rec.bytes_freed);
		break;
	case JOB_AUDIT:
		snprintf(buf, len, "%" PRIu64 " chunks checked in %" PRIu64
		    " containers, %" PRIu64 " damaged, %" PRIu64 " repaired%s",
		    j->aud.chunks_checked, j->aud.containers, j->aud.damaged,
		    j->fixed.repaired, j->aud.skipped_chunks > 0 ?
		    ", some not checked: their storage pool is not available" :
		    "");
		break;
	case JOB_EXPORT:
		snprintf(buf, len, "%" PRIu64 " nodes, %" PRIu64 " filespaces, "
		    "%" PRIu64 " versions, %" PRIu64 " chunks (%" PRIu64
		    " bytes) on %u volumes", j->exp_out.nodes,
		    j->exp_out.filespaces, j->exp_out.objects,
		    j->exp_out.chunks, j->exp_out.bytes, j->exp_out.nvols);
		break;
	case JOB_IMPORT:
		snprintf(buf, len, "%" PRIu64 " nodes and %" PRIu64
		    " filespaces defined, %" PRIu64 " versions imported, %"
		    PRIu64 " skipped (already here), %" PRIu64 " chunks (%"
		    PRIu64 " bytes) stored", j->imp.nodes, j->imp.filespaces,
		    j->imp.objects_imported, j->imp.objects_skipped,
		    j->imp.chunks_stored, j->imp.bytes_stored);
		break;
	case JOB_REPLICATE:
		snprintf(buf, len, "%" PRIu64 " nodes, %" PRIu64 " filespaces "
		    "(%" PRIu64 " already consistent), %" PRIu64 " versions "
		    "sent, %" PRIu64 " chunks (%" PRIu64 " bytes) sent, %"
		    PRIu64 " versions deleted, %" PRIu64 " updated, %" PRIu64
		    " refused%s", j->repl.nodes, j->repl.filespaces,
		    j->repl.consistent, j->repl.objects_sent,
		    j->repl.chunks_sent, j->repl.bytes_sent,
		    j->repl.objects_deleted, j->repl.objects_updated,
		    j->repl.objects_failed, j->verify ? (j->repl.differences ?
		    "; verify found differences" : "; verify found none") : "");
		break;
	case JOB_BACKUPDB:
		snprintf(buf, len, "catalog snapshot of %" PRIu64 " bytes "
		    "written to %" PRIu32 " volumes (%" PRIu64 " bytes) of "
		    "device class %s", j->dbb.db_bytes, j->dbb.nvols,
		    j->dbb.bytes, j->devclass);
		break;
	}
}

static void
job_log_end(struct job *j, int r, const struct err *e)
{
	const char *name = job_names[j->kind];
	char counts[256], at[16];

	if (j->log == NULL)
		return;
	clock_now(at, sizeof(at));
	if (r == COFFER_ECANCELED && j->stopped) {
		job_counts(j, counts, sizeof(counts));
		(void)cat_actlog(j->log, CAT_SEV_WARN, 985, NULL, "Process %"
		    PRIu64 " for %s running in the %s completed with "
		    "completion state CANCELLED at %s: it was cancelled after "
		    "processing %" PRIu64 " items: %s; what it did stays, and "
		    "a rerun does the rest.", j->id, name, ground(j), at,
		    j->items, counts);
		return;
	}
	if (r == COFFER_ECANCELED) {
		(void)cat_actlog(j->log, CAT_SEV_WARN, 985, NULL, "Process %"
		    PRIu64 " for %s running in the %s completed with "
		    "completion state CANCELLED at %s: it was cancelled "
		    "before it began.", j->id, name, ground(j), at);
		return;
	}
	if (r != 0) {
		(void)cat_actlog(j->log, CAT_SEV_ERROR, 985, NULL, "Process %"
		    PRIu64 " for %s running in the %s completed with "
		    "completion state FAILURE at %s: %s.", j->id, name,
		    ground(j), at, e->msg[0] != '\0' ? e->msg : err_str(r));
		return;
	}
	job_counts(j, counts, sizeof(counts));
	(void)cat_actlog(j->log, CAT_SEV_INFO, 987, NULL, "Process %" PRIu64
	    " for %s running in the %s processed %" PRIu64 " items with a "
	    "completion state of SUCCESS at %s: %s%s.", j->id, name,
	    ground(j), j->items, at, counts, j->late_cancel ? "; the cancel "
	    "request came after the work had begun" : "");
}

static int
job_run(struct proc *p, void *arg, struct err *e)
{
	struct job *j = arg;
	char at[16];
	int r;

	j->id = proc_id(p);
	/* The activity log is best effort: the work goes on without it. */
	if (j->catpath != NULL && cat_open(j->catpath, &j->log, NULL) != 0)
		j->log = NULL;
	if (j->log != NULL)
		(void)cat_actlog(j->log, CAT_SEV_INFO, 984, NULL, "Process %"
		    PRIu64 " for %s started in the %s at %s.", j->id,
		    job_names[j->kind], ground(j), clock_now(at, sizeof(at)));
	if (proc_cancelled(p))
		r = err_set(e, COFFER_ECANCELED, "cancelled");
	else {
		r = job_work(p, j, e);
		j->late_cancel = proc_cancelled(p);
	}
	job_log_end(j, r, e);
	cat_close(j->log);
	j->log = NULL;
	return r;
}

/* ---- starting one ---- */

static const char *const expire_cols[] = {
	"process", "objects_examined", "objects_deleted", "bytes_deleted",
};
static const char *const reclaim_cols[] = {
	"process", "containers_reclaimed", "chunks_moved", "chunks_freed",
	"bytes_freed",
};
static const char *const audit_cols[] = {
	"process", "chunks_checked", "damaged", "repaired", "skipped",
};
static const char *const export_cols[] = {
	"process", "volumes[]", "objects", "bytes", "nodes", "filespaces",
	"chunks",
};
static const char *const import_cols[] = {
	"process", "objects_imported", "objects_skipped", "chunks_stored",
	"bytes_stored", "nodes", "filespaces",
};
/* volumes: the paths, comma-separated (a cell is a string). */
static const char *const backupdb_cols[] = {
	"process", "volumes", "bytes", "db_bytes", "volume_count",
};
static const char *const repl_cols[] = {
	"process", "objects_sent", "chunks_sent", "bytes_sent",
	"objects_deleted", "objects_updated", "objects_failed", "nodes",
	"filespaces", "filespaces_consistent", "differences", "wire_bytes",
};

/* Export's volumes, one path a line (the "volumes[]" list). */
static char *
job_volume_list(const struct job *j)
{
	size_t len = 1;
	char *out;

	for (uint32_t i = 0; i < j->exp_out.nvols; i++)
		len += strlen(j->exp_out.vols[i]) + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	out[0] = '\0';
	for (uint32_t i = 0; i < j->exp_out.nvols; i++) {
		strcat(out, j->exp_out.vols[i]);
		if (i + 1 < j->exp_out.nvols)
			strcat(out, "\n");
	}
	return out;
}

/* The object of a WAIT=YES run: the contract's counts. */
static int
job_object(struct adm_ctx *x, const struct job *j)
{
	char b[12][24];
	const char *v[12];
	size_t n;
	int r;

	adm_fmt_u64(j->id, b[0], sizeof(b[0]));
	v[0] = b[0];
	switch (j->kind) {
	case JOB_EXPIRE:
		n = NELEM(expire_cols);
		v[1] = adm_fmt_u64(j->exp.examined, b[1], sizeof(b[1]));
		v[2] = adm_fmt_u64(j->exp.deleted, b[2], sizeof(b[2]));
		v[3] = adm_fmt_u64(j->exp.bytes, b[3], sizeof(b[3]));
		r = adm_colsv(x->res, n, expire_cols);
		break;
	case JOB_RECLAIM:
		n = NELEM(reclaim_cols);
		v[1] = adm_fmt_u64(j->rec.containers_reclaimed, b[1],
		    sizeof(b[1]));
		v[2] = adm_fmt_u64(j->rec.chunks_moved, b[2], sizeof(b[2]));
		v[3] = adm_fmt_u64(j->rec.chunks_freed, b[3], sizeof(b[3]));
		v[4] = adm_fmt_u64(j->rec.bytes_freed, b[4], sizeof(b[4]));
		r = adm_colsv(x->res, n, reclaim_cols);
		break;
	case JOB_REPLICATE: {
		uint64_t const u[] = { j->repl.objects_sent,
		    j->repl.chunks_sent, j->repl.bytes_sent,
		    j->repl.objects_deleted, j->repl.objects_updated,
		    j->repl.objects_failed, j->repl.nodes,
		    j->repl.filespaces, j->repl.consistent,
		    j->repl.differences, j->repl.wire_bytes };

		n = NELEM(repl_cols);
		for (size_t i = 1; i < n; i++)
			v[i] = adm_fmt_u64(u[i - 1], b[i], sizeof(b[i]));
		r = adm_colsv(x->res, n, repl_cols);
		break;
	}
	case JOB_EXPORT: {
		char *vl = job_volume_list(j);

		n = NELEM(export_cols);
		v[1] = vl != NULL ? vl : "";
		v[2] = adm_fmt_u64(j->exp_out.objects, b[2], sizeof(b[2]));
		v[3] = adm_fmt_u64(j->exp_out.bytes, b[3], sizeof(b[3]));
		v[4] = adm_fmt_u64(j->exp_out.nodes, b[4], sizeof(b[4]));
		v[5] = adm_fmt_u64(j->exp_out.filespaces, b[5], sizeof(b[5]));
		v[6] = adm_fmt_u64(j->exp_out.chunks, b[6], sizeof(b[6]));
		r = adm_colsv(x->res, n, export_cols);
		x->res->shape = PROTO_SHAPE_OBJECT;
		if (r == 0)
			r = adm_rowv(x->res, v);
		free(vl);
		return r;
	}
	case JOB_IMPORT: {
		uint64_t const u[] = { j->imp.objects_imported,
		    j->imp.objects_skipped, j->imp.chunks_stored,
		    j->imp.bytes_stored, j->imp.nodes, j->imp.filespaces };

		n = NELEM(import_cols);
		for (size_t i = 1; i < n; i++)
			v[i] = adm_fmt_u64(u[i - 1], b[i], sizeof(b[i]));
		r = adm_colsv(x->res, n, import_cols);
		break;
	}
	case JOB_BACKUPDB:
		n = NELEM(backupdb_cols);
		v[1] = j->dbb.volumes;
		v[2] = adm_fmt_u64(j->dbb.bytes, b[2], sizeof(b[2]));
		v[3] = adm_fmt_u64(j->dbb.db_bytes, b[3], sizeof(b[3]));
		v[4] = adm_fmt_u64(j->dbb.nvols, b[4], sizeof(b[4]));
		r = adm_colsv(x->res, n, backupdb_cols);
		break;
	default:
		n = NELEM(audit_cols);
		v[1] = adm_fmt_u64(j->aud.chunks_checked, b[1], sizeof(b[1]));
		v[2] = adm_fmt_u64(j->aud.damaged, b[2], sizeof(b[2]));
		v[3] = adm_fmt_u64(j->fixed.repaired, b[3], sizeof(b[3]));
		v[4] = adm_fmt_u64(j->aud.skipped_chunks, b[4], sizeof(b[4]));
		r = adm_colsv(x->res, n, audit_cols);
		break;
	}
	x->res->shape = PROTO_SHAPE_OBJECT;
	return r != 0 ? r : adm_rowv(x->res, v);
}

/* What AUDIT CONTAINER WAIT=YES found and, with FIX=YES, mended. */
static int
audit_answer(struct adm_ctx *x, const struct job *j)
{
	const char *name = job_names[j->kind];
	uint64_t const left = j->aud.damaged - (j->aud.damaged >=
	    j->fixed.repaired ? j->fixed.repaired : j->aud.damaged);
	int r;

	if (j->aud.skipped_chunks > 0 && (r = adm_msg_rc(x->res, RC_WARNING,
	    "ANR4871W %s: %" PRIu64 " chunks in %" PRIu64 " containers "
	    "were not checked: their storage pool is not available (see "
	    "QUERY STGPOOL and the server's start-up messages).", name, j->aud.skipped_chunks,
	    j->aud.skipped_containers)) != 0)
		return r;

	if (j->fix && j->fix_failed && j->aud.damaged > 0)
		return adm_msg_rc(x->res, RC_WARNING, "ANR4868W %s: %" PRIu64
		    " damaged chunks found and none repaired: the "
		    "replication server could not be used (see the activity "
		    "log).", name, j->aud.damaged);
	if (j->fix && j->aud.damaged > 0 && left == 0)
		return adm_msg(x->res, "ANR4870I %s: %" PRIu64 " damaged "
		    "chunks found, all repaired from the replication server "
		    "%s.", name, j->aud.damaged, j->fixed.server);
	if (j->fix && j->aud.damaged > 0)
		return adm_msg_rc(x->res, RC_WARNING, "ANR4867W %s: %" PRIu64
		    " damaged chunks found, %" PRIu64 " repaired and %" PRIu64
		    " not (the replica lacks them); they are listed in the "
		    "activity log (ANR4866W, ANR4869W).", name,
		    j->aud.damaged, j->fixed.repaired, left);
	if (j->aud.damaged > 0)
		return adm_msg_rc(x->res, RC_WARNING, "ANR4867W %s: %" PRIu64
		    " damaged chunks found; they are listed in the activity "
		    "log (ANR4866W); FIX=YES repairs them from the replication "
		    "server.", name, j->aud.damaged);
	return 0;
}

/* Report how a WAIT=YES run went. */
static int
job_answer(struct adm_ctx *x, const struct job *j, int r,
    const struct err *e)
{
	const char *name = job_names[j->kind];
	char counts[256];

	if (r == COFFER_ECANCELED && j->stopped) {
		job_counts(j, counts, sizeof(counts));
		return adm_error(x, r, "ANR0985W Process %" PRIu64 " for %s "
		    "was cancelled after processing %" PRIu64 " items: %s; "
		    "what it did stays, and a rerun does the rest.", j->id,
		    name, j->items, counts);
	}
	if (r == COFFER_ECANCELED)
		return adm_error(x, r, "ANR0985W Process %" PRIu64 " for %s "
		    "was cancelled before it began.", j->id, name);
	if (r != 0)
		return adm_error(x, r, "ANR0985E Process %" PRIu64 " for %s "
		    "running in the FOREGROUND completed with completion "
		    "state FAILURE: %s.", j->id, name, e->msg[0] != '\0' ?
		    e->msg : err_str(r));
	job_counts(j, counts, sizeof(counts));
	if ((r = adm_msg(x->res, "ANR0987I Process %" PRIu64 " for %s "
	    "running in the FOREGROUND processed %" PRIu64 " items with a "
	    "completion state of SUCCESS: %s.", j->id, name, j->items,
	    counts)) != 0)
		return r;
	if (j->kind == JOB_REPLICATE && (j->repl.objects_failed > 0 ||
	    j->repl.differences > 0) && (r = adm_msg_rc(x->res, RC_WARNING,
	    "ANR1635W %s: %" PRIu64 " versions refused by the target, %"
	    PRIu64 " differing; see the activity log.", name,
	    j->repl.objects_failed, j->repl.differences)) != 0)
		return r;
	if (j->kind == JOB_AUDIT && (r = audit_answer(x, j)) != 0)
		return r;
	return job_object(x, j);
}

/* Start j (ownership passes); answers the command either way. */
static int
job_start(struct adm_ctx *x, struct job *j)
{
	const char *name = job_names[j->kind];
	uint64_t id = 0;
	char at[16];
	struct err e;
	int r;

	err_clear(&e);
	if (j->foreground) {
		r = proc_start(x->env->procs, name, job_run, j, NULL,
		    PROC_WAIT | PROC_EXCLUSIVE, &id, &e);
		j->id = id;
		if (id != 0)
			r = job_answer(x, j, r, &e);
		job_free(j);
		if (id != 0)
			return r;
	} else {
		/* From here j belongs to the process, which frees it. */
		r = proc_start(x->env->procs, name, job_run, j, job_free,
		    PROC_EXCLUSIVE, &id, &e);
	}
	if (r == COFFER_EBUSY)
		return adm_error(x, r, "ANR0943E %s: A %s process is already "
		    "running; see QUERY PROCESS.", name, name);
	if (r != 0)
		return adm_failed(x, &e);
	if ((r = adm_msg(x->res, "ANR0984I Process %" PRIu64 " for %s "
	    "started in the BACKGROUND at %s.", id, name,
	    clock_now(at, sizeof(at)))) != 0)
		return r;
	x->res->shape = PROTO_SHAPE_OBJECT;
	if ((r = adm_cols(x->res, 1, "process")) != 0)
		return r;
	return adm_row(x->res, adm_fmt_u64(id, at, sizeof(at)));
}

/* A job for the command: WAIT, pool and process table checked. */
static int
job_new(struct adm_ctx *x, enum job_kind kind, struct job **out)
{
	const char *w = adm_arg(x, "WAIT");
	struct job *j;
	int wait = 0;

	*out = NULL;
	if (w != NULL && adm_parse_yesno(w, &wait) != 0)
		return adm_bad_value(x, "WAIT", w, "YES or NO");
	if (x->env->pool == NULL && kind != JOB_BACKUPDB)
		return adm_error(x, COFFER_ENOTFOUND, "ANR2010E %s: No storage "
		    "pool is configured on this server.", x->cmd->title);
	if (x->env->procs == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2010E %s: This server "
		    "cannot run processes.", x->cmd->title);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return COFFER_ENOMEM;
	j->kind = kind;
	j->pool = x->env->pool;
	j->foreground = wait;
	j->now = x->now;
	j->pct = -1;
	if (x->env->catpath != NULL &&
	    (j->catpath = strdup(x->env->catpath)) == NULL) {
		free(j);
		return COFFER_ENOMEM;
	}
	*out = j;
	return 0;
}

/*
 * A pool name given to the command must be a pool this server has: the
 * directory pool or a cloud pool.  The pools share one chunk index, so
 * reclamation and audit walk all of them (each container is compacted
 * into its own pool).
 */
static int
check_pool_name(struct adm_ctx *x, const char *name)
{
	char up[CAT_NAME_MAX + 1];
	struct cat_stgpool sp;

	if (name == NULL || strcasecmp(name, ADM_POOL_NAME) == 0)
		return 0;
	if (cat_stgpool_get(x->env->cat, name, &sp, NULL) == 0)
		return 0;
	if (adm_upper(name, up, sizeof(up)) != 0)
		snprintf(up + sizeof(up) - 4, 4, "...");
	return adm_error(x, COFFER_ENOTFOUND, "ANR2032E %s: Storage pool %s "
	    "is not defined; this server has %s.", x->cmd->title, up,
	    ADM_POOL_NAME);
}

int
adm_expire_inventory(struct adm_ctx *x)
{
	struct job *j;
	int r;

	if ((r = job_new(x, JOB_EXPIRE, &j)) != 0)
		return r;
	return job_start(x, j);
}

int
adm_reclaim_stgpool(struct adm_ctx *x)
{
	const char *th = adm_arg(x, "THRESHOLD");
	struct job *j;
	long n = 0;
	int r;

	if ((r = check_pool_name(x, adm_pos(x, 0))) != 0)
		return r;
	if (th != NULL && adm_parse_int(th, 1, 100, 0, &n) != 0)
		return adm_bad_value(x, "THRESHOLD", th, "a percentage of "
		    "reclaimable space from 1 to 100");
	if ((r = job_new(x, JOB_RECLAIM, &j)) != 0)
		return r;
	/*
	 * TSM's THRESHOLD is the reclaimable share that makes a container
	 * eligible; the pool takes the live share below which it is.
	 */
	if (th != NULL)
		j->pct = 100 - (int)n;
	return job_start(x, j);
}

int
adm_audit_container(struct adm_ctx *x)
{
	struct job *j;
	int r;

	const char *fix = adm_arg(x, "FIX");
	int yes = 0;

	if (fix != NULL && adm_parse_yesno(fix, &yes) != 0)
		return adm_bad_value(x, "FIX", fix, "YES or NO");
	if ((r = check_pool_name(x, adm_arg(x, "STGPOOL"))) != 0 ||
	    (r = job_new(x, JOB_AUDIT, &j)) != 0)
		return r;
	j->fix = yes;
	return job_start(x, j);
}

int
adm_replicate_node(struct adm_ctx *x)
{
	const char *node = adm_pos(x, 0), *v = adm_arg(x, "VERIFY");
	const char *ms = adm_arg(x, "MAXSESSIONS");
	struct job *j;
	long n = 0;
	int verify = 0, r;

	if (v != NULL && adm_parse_yesno(v, &verify) != 0)
		return adm_bad_value(x, "VERIFY", v, "YES or NO");
	/* Sessions to the target at once (repl.h REPL_SESSIONS_DEFAULT). */
	if (ms != NULL && adm_parse_int(ms, 1, REPL_SESSIONS_MAX, 0, &n) != 0)
		return adm_bad_value(x, "MAXSESSIONS", ms, "a number from 1 "
		    "to 99");
	if ((r = job_new(x, JOB_REPLICATE, &j)) != 0)
		return r;
	j->verify = verify;
	j->maxsess = (int)n;
	if ((j->pattern = strdup(node)) == NULL) {
		job_free(j);
		return COFFER_ENOMEM;
	}
	return job_start(x, j);
}

/* The ENCRYPTKEY of export and import, copied for the process. */
static int
job_passphrase(struct adm_ctx *x, struct job *j)
{
	const char *k = adm_arg(x, "ENCRYPTKEY");

	if (k == NULL)
		return 0;
	if (strlen(k) < 8)
		return adm_bad(x, "ENCRYPTKEY must have at least 8 characters");
	if ((j->passphrase = strdup(k)) == NULL)
		return COFFER_ENOMEM;
	return 0;
}

int
adm_export_node(struct adm_ctx *x)
{
	const char *fd = adm_arg(x, "FILEDATA"), *dc = adm_arg(x, "DEVCLASS");
	const char *from = adm_arg(x, "FROMDATE");
	struct job *j;
	int64_t day = 0;
	int r;

	if (dc == NULL)
		return adm_bad(x, "DEVCLASS is required");
	if (fd != NULL && strcasecmp(fd, "ALL") != 0 &&
	    strcasecmp(fd, "ACTIVE") != 0)
		return adm_bad_value(x, "FILEDATA", fd, "ALL or ACTIVE");
	if (from != NULL && adm_parse_date(from, x->now, &day) != 0)
		return adm_bad_value(x, "FROMDATE", from, "a date (YYYY-MM-DD, "
		    "TODAY or TODAY-N)");
	if ((r = job_new(x, JOB_EXPORT, &j)) != 0)
		return r;
	j->active_only = fd != NULL && strcasecmp(fd, "ACTIVE") == 0;
	j->fromdate = day;
	if ((r = job_passphrase(x, j)) != 0 ||
	    (j->pattern = strdup(adm_pos(x, 0))) == NULL ||
	    (j->devclass = strdup(dc)) == NULL) {
		job_free(j);
		return r != 0 ? r : COFFER_ENOMEM;
	}
	return job_start(x, j);
}

int
adm_import_node(struct adm_ctx *x)
{
	const char *dc = adm_arg(x, "DEVCLASS"), *vn = adm_arg(x, "VOLUMENAMES");
	const char *mf = adm_arg(x, "MERGEFILESPACES");
	struct job *j;
	int merge = 1, r;

	if (dc == NULL || vn == NULL)
		return adm_bad(x, "DEVCLASS and VOLUMENAMES are required");
	/* Filespaces are always merged: versions are matched by UUID. */
	if (mf != NULL && adm_parse_yesno(mf, &merge) != 0)
		return adm_bad_value(x, "MERGEFILESPACES", mf, "YES or NO");
	if ((r = job_new(x, JOB_IMPORT, &j)) != 0)
		return r;
	if ((r = job_passphrase(x, j)) != 0 ||
	    (j->pattern = strdup(adm_pos(x, 0))) == NULL ||
	    (j->devclass = strdup(dc)) == NULL ||
	    (j->volumes = strdup(vn)) == NULL) {
		job_free(j);
		return r != 0 ? r : COFFER_ENOMEM;
	}
	return job_start(x, j);
}

/*
 * BAckup DB DEVclass=dc [Type=Full] [Wait=Yes]: TYPE=FULL is the only
 * type (no incremental or snapshot series yet), and the default, since a
 * TSM default of INCREMENTAL would have nothing to add to.
 */
int
adm_backup_db(struct adm_ctx *x)
{
	const char *dc = adm_arg(x, "DEVCLASS"), *type = adm_arg(x, "TYPE");
	static const struct adm_kw full = { "FULL", 1 };
	struct cat_devclass d;
	struct job *j;
	struct err e;
	int r;

	err_clear(&e);
	if (dc == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2020E %s: Missing "
		    "parameter: DEVclass is required.", x->cmd->title);
	if (type != NULL && adm_kw_find(&full, 1, sizeof(full), type, NULL,
	    0) != 0)
		return adm_bad_value(x, "TYPE", type, "FULL (the only type of "
		    "database backup this server makes)");
	if ((r = cat_devclass_get(x->env->cat, dc, &d, &e)) == COFFER_EINVAL)
		return adm_bad_value(x, "DEVCLASS", dc, "a device class name");
	if (r == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2202E %s: Device class %.64s is not "
		    "defined.", x->cmd->title, dc);
	if (r != 0)
		return adm_failed(x, &e);
	if (x->env->catpath == NULL)
		return adm_error(x, COFFER_EINVAL, "ANR2010E %s: This server "
		    "cannot run a database backup: its catalog file is not "
		    "known.", x->cmd->title);
	if ((r = job_new(x, JOB_BACKUPDB, &j)) != 0)
		return r;
	if ((j->devclass = strdup(d.name)) == NULL) {
		job_free(j);
		return COFFER_ENOMEM;
	}
	if (cat_setting_get(x->env->cat, "name", j->server,
	    sizeof(j->server), NULL) != 0)
		snprintf(j->server, sizeof(j->server), "COFFER");
	return job_start(x, j);
}

/* ---- QUERY PROCESS, CANCEL PROCESS ---- */

struct proc_q {
	struct adm_ctx	*x;
	long		 only;		/* -1: all */
};

static int
proc_row(void *arg, const struct proc_info *pi)
{
	struct proc_q *q = arg;
	char id[24], when[32], status[PROC_STATUS_MAX + 32];
	const char *v[4];

	if (q->only >= 0 && pi->id != (uint64_t)q->only)
		return 0;
	snprintf(status, sizeof(status), "%s%s", pi->status[0] != '\0' ?
	    pi->status : "Starting", pi->cancelled ? " (cancel requested)" :
	    "");
	v[0] = adm_fmt_u64(pi->id, id, sizeof(id));
	v[1] = pi->name;
	v[2] = status;
	v[3] = adm_fmt_time(pi->started, when, sizeof(when));
	return adm_query_row(q->x, v);
}

int
adm_query_process(struct adm_ctx *x)
{
	static const char *const cols[] = {
		"process_number", "process", "status", "started",
	};
	const char *n = adm_pos(x, 0);
	struct proc_q q;
	int r;

	q.x = x;
	q.only = -1;
	if (n != NULL && adm_parse_int(n, 1, 2147483647L, 0, &q.only) != 0)
		return adm_bad_value(x, "PROCESSNUMBER", n, "a process number");
	if ((r = adm_query_cols(x, NELEM(cols), cols)) != 0)
		return r;
	if (x->env->procs != NULL &&
	    (r = proc_list(x->env->procs, proc_row, &q)) < 0)
		return r;
	if (x->res->nrow == 0 && !x->res->truncated)
		return adm_msg(x->res, "ANR0944I QUERY PROCESS: No active "
		    "processes found.");
	return adm_rows_done(x);
}

int
adm_cancel_process(struct adm_ctx *x)
{
	const char *n = adm_pos(x, 0);
	struct proc_info pi;
	long id;
	size_t i;

	if (adm_parse_int(n, 1, 2147483647L, 0, &id) != 0)
		return adm_bad_value(x, "PROCESSNUMBER", n, "a process number");
	if (x->env->procs == NULL ||
	    proc_cancel(x->env->procs, (uint64_t)id, &pi) != 0)
		return adm_error(x, COFFER_ENOTFOUND, "ANR0941E CANCEL "
		    "PROCESS: No active process found for process number "
		    "%ld.", id);
	for (i = 0; i < NELEM(job_names); i++)
		if (strcmp(pi.name, job_names[i]) == 0)
			return adm_msg(x->res, "ANR0940I Cancel request "
			    "accepted for process %ld (%s); %s.", id, pi.name,
			    cancel_notes[i]);
	return adm_msg(x->res, "ANR0940I Cancel request accepted for process "
	    "%ld (%s).", id, pi.name);
}
