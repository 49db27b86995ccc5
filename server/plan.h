/*
 * plan.h - the recovery plan (TSM DRM's PREPARE): a plain-text file,
 * written from the server's live state, that a backup administrator can
 * follow at 3 a.m. with nothing else at hand.
 *
 * Layout: TSM-style stanzas, each between "begin NAME" and "end NAME"
 * lines, so that an awk script splits them as TSM's planexpl.awk does:
 *
 *   PLAN.SUMMARY              one screen: RTO against the estimate, the
 *                             nodes that miss their RPO, what to do first
 *   SERVERS                   this server and every defined server
 *   RECOVERY.VOLUMES.REQUIRED the latest DB backup set and its volumes
 *   DEVICE.CLASSES, STORAGE.POOLS
 *   NODES                     RPO, newest copy here and at the hot site
 *   VM.RESTORE.ORDER          DR-protected VMs, DR priority first, with
 *                             their estimated restore times
 *   RTO                       the estimate, step by step, against the RTO
 *   RECOVERY.SCRIPT.FAILOVER  numbered runbooks: step, who, time, what,
 *   RECOVERY.SCRIPT.FAILBACK  and the exact command
 *   VOLUME.HISTORY            every export and DB backup volume
 *
 * The file is named PREFIX + "yyyymmdd.hhmmss" (local time, TSM's
 * naming); a PREFIX ending in '/' is a directory.  It is written
 * atomically (temp file, fsync, rename, fsync of the directory) with mode
 * 0600, and only the newest N plans of the prefix are kept.  It names
 * servers, addresses and volumes, never a password or a key.
 *
 * Times: VM restore estimates divide a VM's size by the restore
 * throughput this server measured (cat_restore_rate), or by
 * PLAN_RATE_DEFAULT when nothing was measured yet, and say which.  Steps
 * that are not restores carry the fixed estimates PLAN_EST_*: they are
 * assumptions, printed as such, for the administrator to correct.
 */
#ifndef COFFER_PLAN_H
#define COFFER_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct cat;
struct err;
struct pool;

#define PLAN_VERSIONS_DEFAULT	7		/* SET DRMPLANVERSIONS */
#define PLAN_VERSIONS_MAX	9999
/* Bytes/s for estimates until a restore was measured. */
#define PLAN_RATE_DEFAULT	(100.0 * 1048576)
#define PLAN_WIDTH		80		/* columns of the file */

/* Fixed estimates of the runbook steps that move no data (seconds). */
#define PLAN_EST_CONFIRM	(15 * 60)	/* declare the disaster */
#define PLAN_EST_CHECK		(5 * 60)	/* one admin command */
#define PLAN_EST_REPOINT	(30 * 60)	/* clients to the hot site */
#define PLAN_EST_REBUILD	(4 * 3600)	/* a new primary host */
#define PLAN_EST_COURIER	(8 * 3600)	/* volumes between sites */

/* A DR-protected VM filespace, for the restore order. */
struct plan_vm {
	char		node[65];
	char		name[256];	/* the VM's name, without "VM:" */
	uint32_t	drpriority;	/* 0: none set (after every number) */
	uint64_t	bytes;		/* the active version's size */
	int64_t		est_s;		/* estimated restore time */
};

/* Restore order: DR priority (1 first, 0 last), then name, then node. */
void plan_vm_sort(struct plan_vm *v, size_t n);

/* Seconds to restore bytes at rate bytes/s: rounded up, 1 at least. */
int64_t plan_restore_s(uint64_t bytes, double rate);

/*
 * PREFIX + "yyyymmdd.hhmmss" of now (local time) into buf; COFFER_ETOOBIG
 * when it does not fit.
 */
int plan_file_name(const char *prefix, int64_t now, char *buf, size_t len);

/*
 * Delete the oldest plans of prefix beyond keep (>= 1): files in the
 * prefix's directory named by its last component followed by exactly
 * "yyyymmdd.hhmmss"; anything else is left alone.  *deleted counts them.
 */
int plan_prune(const char *prefix, int keep, size_t *deleted, struct err *e);

/* What PREPARE needs that the catalog does not hold. */
struct plan_params {
	const char	*prefix;	/* PLANPREFIX or DRMPLANPREFIX */
	int		 keep;		/* DRMPLANVERSIONS */
	const char	*dir;		/* this instance's directory */
	const char	*listen;	/* its address, or NULL */
	int		 port;		/* 0: unknown */
	int64_t		 now;
};

/* What PREPARE reports (the JSON keys of its result). */
struct plan_report {
	char		file[4096];
	size_t		nodes, nodes_missing_rpo, vms, volumes;
	int64_t		estimated_s;	/* the failover runbook's total */
	int64_t		rto_s;		/* 0: no RTO set */
	int		rto_met;	/* -1 without an RTO */
	size_t		pruned;		/* older plans deleted */
	int		measured;	/* restore rate from measurements */
};

/*
 * Write a plan from c's state as p says, with pool's statistics (pool
 * may be NULL); r describes it.
 */
int plan_prepare(struct cat *c, const struct plan_params *p,
    struct pool *pool, struct plan_report *r, struct err *e);

#endif
