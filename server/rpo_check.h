/*
 * rpo_check.h - the server's periodic RPO check: one pass over the nodes
 * that writes an activity-log warning when a node starts to miss its
 * recovery point objective and a notice when it meets it again.
 *
 *            rpo_eval says MISSED
 *   met/none ----------------------> missed   ANR4970W, rpo_miss row
 *      ^                                |
 *      +--------------------------------+
 *            rpo_eval says MET/NONE           ANR4971I (MET), row gone
 *
 * The state between passes is the catalog's rpo_miss table, so a restart
 * of the server neither repeats a warning nor forgets one.  Passes are
 * cheap (one catalog read per node); cofferd runs one every
 * RPOCHECKINTERVAL (cofferd.opt, default 5 minutes) on its main thread.
 */
#ifndef COFFER_RPO_CHECK_H
#define COFFER_RPO_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct cat;
struct err;

#define RPO_CHECK_INTERVAL_DEFAULT	300	/* seconds */

struct rpo_check_report {
	size_t	nodes;		/* nodes looked at */
	size_t	met, missed;	/* with an RPO, as of now */
	size_t	warned;		/* ANR4970W written by this pass */
	size_t	cleared;	/* ANR4971I written by this pass */
};

/*
 * One pass at time now (a parameter, so that tests move the clock).
 * Returns 0 or the first catalog error; nodes before it are done.
 */
int rpo_check_run(struct cat *c, int64_t now, struct rpo_check_report *rep,
    struct err *e);

/*
 * RPOCHECKINTERVAL's value: digits with an optional unit s, m or h
 * (seconds without one); 0 turns the check off.  COFFER_EINVAL otherwise.
 */
int rpo_check_parse_interval(const char *s, int64_t *out);

#endif
