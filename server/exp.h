/*
 * exp.h - export and import of nodes through sequential volumes (TSM
 * EXPORT NODE / IMPORT NODE).
 *
 * An export set is one session of records (vol.h) in this order:
 *
 *   SESSION  u32 version, str server, i64 time, u8 active only,
 *            i64 fromdate, str node pattern
 *   NODE     str name, str password hash, str domain, str contact,
 *            i64 rpo seconds, u8 repl state, u8 repl mode,
 *            u32 verexists, u32 verdeleted, u32 retextra, u32 retonly
 *   FS       str name, str type, u8 drprotect, u32 drpriority,
 *            u8 replrule                      (of the last NODE)
 *   CHUNK    hash, u32 raw len, u8 codec, bytes stored
 *            (each chunk once per set, before the first version that
 *            names it; in its stored form: nothing is recompressed)
 *   OBJ      objmeta with recipe (proto.h), with the version's object
 *            UUID, state, insert and deactivation times (of the last FS)
 *   END      u64 nodes, u64 filespaces, u64 versions, u64 chunks,
 *            u64 chunk bytes
 *
 * Import reads a set back: nodes and filespaces are created when
 * missing, chunks the pool lacks are stored, versions whose UUID the
 * server already holds are skipped, and the rest are committed in
 * batches (EXP_BATCH_*), each a pool transaction: an import stopped
 * midway leaves whole batches, and run again it skips what it has.
 * Imported versions keep their UUIDs and dates, so a replication from
 * the server they were exported from finds them present and sends only
 * what is newer (the tape seed and top-off of failback).
 */
#ifndef COFFER_EXP_H
#define COFFER_EXP_H

#include <stdint.h>

#define EXP_VERSION		1
#define EXP_BATCH_OBJECTS	2000
#define EXP_BATCH_BYTES		(256u << 20)
#define EXP_VOLS_MAX		256	/* volumes named in one import */

enum exp_rec {
	EXP_REC_SESSION = 1,
	EXP_REC_NODE = 2,
	EXP_REC_FS = 3,
	EXP_REC_CHUNK = 4,
	EXP_REC_OBJ = 5,
	EXP_REC_END = 6,
};

struct cat;
struct err;
struct pool;
struct proc;

struct exp_params {
	const char	*catpath;
	struct pool	*pool;
	const char	*pattern;	/* nodes: name, wildcards, "*" */
	int		 active_only;	/* FILEDATA=ACTIVE */
	int64_t		 fromdate;	/* versions inserted since; 0: all */
	const char	*devclass;
	const char	*passphrase;	/* NULL: not encrypted */
};

struct exp_stats {
	uint64_t	nodes, filespaces, objects, chunks, bytes;
	uint32_t	nvols;
	char		(*vols)[4096];	/* paths, malloc'd */
};

void exp_stats_free(struct exp_stats *st);
int exp_export_run(struct proc *p, const struct exp_params *xp,
    struct exp_stats *st, struct err *e);

struct imp_params {
	const char	*catpath;
	struct pool	*pool;
	const char	*pattern;	/* which nodes of the set */
	const char	*devclass;
	const char	*volumes;	/* "V1,V2,..." serials or paths */
	const char	*passphrase;
};

struct imp_stats {
	uint64_t	nodes, filespaces;
	uint64_t	objects_imported, objects_skipped;
	uint64_t	chunks_stored;	/* new in this pool */
	uint64_t	bytes_stored;
};

int exp_import_run(struct proc *p, const struct imp_params *ip,
    struct imp_stats *st, struct err *e);

#endif
