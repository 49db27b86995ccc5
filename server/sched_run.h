/*
 * sched_run.h - the server's administrative scheduler: a thread that
 * runs the commands of active administrative schedules (TSM: DEFINE
 * SCHEDULE ... TYPE=ADMINISTRATIVE CMD=... ACTIVE=YES) in their startup
 * windows, so that replication, expiration, reclamation and DB backup
 * follow the client backups every night without an operator.
 *
 * Once a second it reads the administrative schedules (one small query
 * on its own catalog connection), and for each whose window is open and
 * has no event yet records Started, runs the command through
 * adm_execute() as the schedule's owner (the administrator who defined or
 * last updated it: TSM's rule), and records Completed or Failed with the
 * command's rc and first error.  Commands run one at a time in start
 * order; one with WAIT=YES holds the thread until its process ends.
 *
 * Ownership: sched_run_start() keeps the pointers it is given (catalog
 * path, pool, process table) until sched_run_stop(), which must be
 * called before those are freed.
 */
#ifndef COFFER_SCHED_RUN_H
#define COFFER_SCHED_RUN_H

struct err;
struct pool;
struct proc_table;
struct sched_run;

int sched_run_start(const char *catpath, struct pool *pool,
    struct proc_table *procs, struct sched_run **out, struct err *e);
/*
 * Stop and join the thread: at once between commands, else when the
 * running command ends.  Accepts NULL.
 */
void sched_run_stop(struct sched_run *r);

#endif
