/*
 * scheduler.h - coffer sched: the client scheduler (TSM: dsmc schedule,
 * SCHEDMODE POLLING).
 *
 * It loops: connect, ask the server for the node's next startup window
 * (SCHED_QUERY), disconnect.  When a window is open it waits a random
 * delay within the window's first RANDOMIZE percent (the server's SET
 * RANDOMIZE, so that a thousand clients do not start in the same second),
 * never past the window's end, reports the start, runs the action in
 * this process with the same code as the commands (incremental and
 * selective: backup_run on the OBJECTS paths; backupvm: vm_backup_run on
 * the VM names), and reports the end with the rc the command would have
 * exited with.  Otherwise it sleeps until the window opens or the poll
 * period (QUERYSCHEDPERIOD, or the server's SET QUERYSCHEDPERIOD) passes,
 * whichever comes first.  A server that does not answer is logged and
 * asked again with a bounded back-off: the scheduler never exits for it,
 * so it outlives a server restart.
 *
 * Every step is logged with a timestamp to the schedule log and stderr.
 * SIGTERM and SIGINT end it between steps; a running backup is finished
 * and reported first, never abandoned unreported.
 */
#ifndef COFFER_CLIENT_SCHEDULER_H
#define COFFER_CLIENT_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct coffer_opts;
struct err;

#define SCHEDULER_POLL_DEFAULT	(12 * 3600)	/* TSM: 12 hours */
#define SCHEDULER_LOG_DEFAULT	"coffer-sched.log"
#define SCHEDULER_BACKOFF_MAX	300		/* seconds between retries */
#define SCHEDULER_WORDS_MAX	1024		/* OBJECTS words */

/*
 * o: server, node, CA and include/exclude rules; password: kept for the
 * reconnects; poll_s: QUERYSCHEDPERIOD in seconds; once: --once (one
 * window, then exit); log: the schedule log, or NULL.
 */
struct scheduler_params {
	const struct coffer_opts *o;
	const char		*password;
	int64_t			 poll_s;
	int			 once;
	FILE			*log;
};

/*
 * Run the scheduler.  Returns the exit status: with --once the rc of the
 * schedule it ran (RC_WARNING when no window opens within one poll
 * period, RC_ERROR when the server stayed unreachable), else 0 after a
 * SIGTERM or SIGINT.
 */
int scheduler_run(const struct scheduler_params *p);

/*
 * Split OBJECTS like a shell word list: blanks separate words, '...' and
 * "..." quote (the other quote is literal inside), a backslash escapes
 * the next character outside single quotes.  *out is a malloc'd array of
 * malloc'd words (free with scheduler_words_free).  COFFER_EINVAL for an
 * unbalanced quote or more than SCHEDULER_WORDS_MAX words.
 */
int scheduler_split(const char *s, char ***out, size_t *n, struct err *e);
void scheduler_words_free(char **w, size_t n);	/* accepts NULL */

#endif
