/*
 * proc.h - the server process table (TSM: QUERY PROCESS, CANCEL PROCESS).
 *
 * Long work (expiration, reclamation, audit, replication, export, import,
 * DB backup) runs as a numbered process in its own thread.  Numbers start
 * at 1 and only grow for the table's lifetime.  A process is listed from
 * proc_start() until its function returns; then it leaves the table, so
 * its result must be written down by the function itself (activity log).
 *
 * Cancellation is cooperative: proc_cancel() sets a flag that the function
 * polls with proc_cancelled() between batches; work that cannot stop
 * midway ignores it until its end.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the table.  proc_table_free() cancels what runs and waits for it,
 * so free the table before what the processes use (pool, catalog) and
 * after the sessions that could start new ones have ended.
 */
#ifndef COFFER_PROC_H
#define COFFER_PROC_H

#include <stdint.h>

struct err;
struct proc;
struct proc_table;

#define PROC_NAME_MAX	64
#define PROC_STATUS_MAX	256

/* proc_start() flags. */
#define PROC_WAIT	1	/* foreground: join, return fn's rc */
#define PROC_EXCLUSIVE	2	/* COFFER_EBUSY if one of this name runs */

/*
 * A process body: runs in its own thread; returns 0 or a COFFER_E* code
 * with detail in e (only seen by a PROC_WAIT caller).
 */
typedef int (*proc_fn)(struct proc *p, void *arg, struct err *e);

struct proc_info {
	uint64_t	id;
	char		name[PROC_NAME_MAX];	/* "EXPIRE INVENTORY" */
	char		status[PROC_STATUS_MAX];
	int64_t		started;		/* unix seconds */
	int		cancelled;		/* cancel was requested */
	int		foreground;		/* started with PROC_WAIT */
};

struct proc_table *proc_table_new(void);	/* NULL when out of memory */
void proc_table_free(struct proc_table *t);	/* accepts NULL */

/*
 * Start fn(p, arg) as a new process named name; *id (may be NULL) gets its
 * number.  Ownership of arg passes here: free_arg(arg) (free_arg may be
 * NULL) is called once fn has returned, in the process's thread, or here
 * when the process cannot be started.  With PROC_WAIT the call returns
 * fn's rc and e once the process ended, so the caller may keep arg on its
 * stack with free_arg NULL and read fn's results from it afterwards.
 * Without it, the call returns 0 as soon as the thread runs.  Errors:
 * COFFER_EBUSY (PROC_EXCLUSIVE and one runs), COFFER_ECANCELED (the table
 * is being freed), COFFER_ENOMEM, COFFER_EIO (no thread).
 */
int proc_start(struct proc_table *t, const char *name, proc_fn fn,
    void *arg, void (*free_arg)(void *), int flags, uint64_t *id,
    struct err *e);

/* For the process itself: its number, its status line, the cancel flag. */
uint64_t proc_id(const struct proc *p);
void proc_set_status(struct proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int proc_cancelled(struct proc *p);

/*
 * Request cancellation of process id; info (may be NULL) gets what it is.
 * Returns 0 or COFFER_ENOTFOUND when no such process runs.
 */
int proc_cancel(struct proc_table *t, uint64_t id, struct proc_info *info);

/*
 * Call cb for each running process, oldest first, with a snapshot taken
 * under the lock (cb runs unlocked and may call into the table).  A
 * non-zero return from cb stops the walk and is returned; else 0, or
 * COFFER_ENOMEM.
 */
typedef int (*proc_list_cb)(void *arg, const struct proc_info *pi);
int proc_list(struct proc_table *t, proc_list_cb cb, void *arg);

/* Number of running processes (of that name, or all when name is NULL). */
int proc_count(struct proc_table *t, const char *name);

#endif
