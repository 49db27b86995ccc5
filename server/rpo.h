/*
 * rpo.h - recovery point objectives: how old is the newest copy of a
 * node's data that would survive, and does it meet the node's RPO?
 *
 * A node's RPO (UPDATE NODE ... RPO=24h; 0: none) bounds the age of its
 * newest recoverable copy.  Two copies count, each measured from the
 * backup it holds (what the client's data looked like), not from when
 * it was copied:
 *
 *   here     the node's last successful backup on this server (on a
 *            replication target: the last backup replication brought);
 *   hot site the backup the last successful replication carried to the
 *            replication server (cat_account.repl_backup), for a node
 *            this server sends (REPLSTATE=ENABLED, REPLMODE=SEND or
 *            SYNCSEND, and SET REPLSERVER names a server).
 *
 * The RPO is met when every copy that should exist is younger than the
 * RPO: the local one always, the hot-site one for a replicated node.  A
 * node that has never been backed up misses any RPO it has.
 *
 * rpo_eval() is pure (the clock is a parameter) so that tests move time;
 * rpo_node() reads what it needs from the catalog.
 */
#ifndef COFFER_RPO_H
#define COFFER_RPO_H

#include <stddef.h>
#include <stdint.h>

struct cat;
struct cat_account;
struct err;

enum rpo_state {
	RPO_NONE,	/* no RPO set */
	RPO_MET,
	RPO_MISSED
};

struct rpo_status {
	int64_t		rpo_s;		/* the target; 0: none */
	int		replicated;	/* a hot-site copy is expected */
	int64_t		local_copy;	/* backup time of the copy here; 0 */
	int64_t		hot_copy;	/* ... at the hot site; 0 none */
	int64_t		local_age;	/* now - local_copy; -1 without one */
	int64_t		hot_age;	/* -1 without one or not replicated */
	int		local_met;	/* 1 when within the RPO (or none) */
	int		hot_met;	/* 1 when within, none or not expected */
	enum rpo_state	state;
};

/*
 * Evaluate node a at time now; replicated says whether a hot-site copy
 * is expected (see rpo_replicated).  Ages are never negative: a copy
 * "from the future" (a clock step) counts as age 0.
 */
void rpo_eval(const struct cat_account *a, int replicated, int64_t now,
    struct rpo_status *st);

/* 1 when this server sends node a to a replication server. */
int rpo_replicated(const struct cat_account *a, const char *replserver);

/*
 * rpo_eval for node a with the catalog's replication server setting.
 * Returns 0 or a catalog error.
 */
int rpo_node(struct cat *c, const struct cat_account *a, int64_t now,
    struct rpo_status *st, struct err *e);

/* "met", "missed" or "none" (JSON and tables). */
const char *rpo_state_name(enum rpo_state s);

/*
 * An age for people: "45s", "12m 5s", "26h 10m", "5d 3h" (days from 100
 * hours on); "none" for a negative age (no copy).  buf >= 24 bytes.
 */
const char *rpo_fmt_age(int64_t s, char *buf, size_t len);
/* An RPO or RTO target: "24h", "90m", "45s"; "none" for 0. */
const char *rpo_fmt_target(int64_t s, char *buf, size_t len);
/* Local time "YYYY-MM-DD HH:MM:SS" (adm_fmt_time's form); "never" for 0. */
const char *rpo_fmt_when(int64_t t, char *buf, size_t len);

#endif
