/*
 * adm.h - administrative commands: the server side of coffer-admin.
 *
 * coffer-admin sends the command line as typed (ADM_CMD); the session
 * calls adm_execute(), which parses it the TSM way and runs it against the
 * catalog, the pool and the process table, and encodes the struct
 * adm_result it gets back as ADM_RESULT (proto.h).
 *
 * Grammar (REFERENCE 1.14): VERB OBJECT [positional ...] [name=value ...],
 * keywords and parameter names case-insensitive, each abbreviable down to
 * a fixed minimum (the capitals of TSM's syntax diagrams: "Query Node",
 * "REGister Node", "UPDate DOmain", "EXPIre Inventory"), values quoted
 * with ' or " when they hold spaces.  A word that is shorter than every
 * minimum it could stand for, or that fits several keywords, is rejected
 * with the candidates listed.
 *
 * Results: rc is TSM's (0 done, 4 some items skipped, 8 warnings, 12
 * errors); msgs are "ANRnnnnX text" lines; a query fills cols and rows
 * (shape PROTO_SHAPE_ROWS), a command with counts fills one row (shape
 * PROTO_SHAPE_OBJECT).  Column names are lower_snake_case and are the JSON
 * keys coffer-admin --json prints: they are a contract, so only add new
 * ones.  Every cell is a string; NULL means null (never set, not known).
 *
 * Passwords never appear in a message, a result or the activity log: the
 * command echo that goes to the activity log (ANR2017I) shows them as
 * ?***?, as TSM does.
 */
#ifndef COFFER_ADM_H
#define COFFER_ADM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct cat;
struct pool;
struct proc_table;

#define ADM_LINE_MAX		4096	/* a command line, bytes */
#define ADM_ROWS_MAX		10000	/* rows of one result */
#define ADM_CELL_MAX		4095	/* a cell or message fits a wire str */
#define ADM_RESULT_BYTES_MAX	(8u << 20)	/* all strings of a result */
#define ADM_POOL_NAME		"CONTAINERPOOL"	/* the default pool's name */

struct adm_result {
	int	rc;		/* TSM rc: 0 ok, 4, 8 warning, 12 error */
	int	shape;		/* PROTO_SHAPE_MSGS / ROWS / OBJECT */
	char	**msgs;		/* nmsg human messages, "ANR2060I ..." */
	size_t	nmsg;
	char	**cols;		/* ncol column names (JSON keys) */
	size_t	ncol;
	char	**cells;	/* nrow * ncol strings, row-major; NULL: null */
	size_t	nrow;
	/* bookkeeping for the bounds above */
	size_t	bytes;		/* sum of string lengths so far */
	int	truncated;	/* rows were dropped at ADM_ROWS_MAX/BYTES */
	size_t	cap_msgs, cap_rows;
};

struct adm_env {
	struct cat	 *cat;		/* this session's catalog connection */
	const char	 *catpath;	/* catalog file: processes open their
					   own connection for the actlog;
					   NULL: processes log nothing */
	struct pool	 *pool;		/* the default pool; may be NULL */
	const char	 *dir;		/* the instance directory (its
					   master.key seals cloud pool
					   secrets); NULL: none */
	struct proc_table *procs;	/* server processes; may be NULL */
	const char	 *admin;	/* the administrator running it */
	/*
	 * QUERY SESSION: set the columns with adm_cols() and add a row per
	 * session with adm_row(); may be NULL (no rows, and the columns
	 * session_number, state, kind, name, peer, bytes_received,
	 * bytes_sent).  A non-zero return other than COFFER_ETOOBIG (the
	 * result is full) fails the command.
	 */
	int		(*list_sessions)(void *arg, struct adm_result *res);
	void		 *sessions_arg;
	/*
	 * PREPARE: the address and port this server listens on, which the
	 * recovery plan prints; NULL and 0 when not known.
	 */
	const char	 *listen;
	int		  port;
	/*
	 * Test hook: when non-zero, the time commands run at (unix
	 * seconds) instead of the clock, so that tests can age backups
	 * past an RPO.  The server never sets it.
	 */
	int64_t		  now;
};

/*
 * Parse and run one command line.  Returns 0 when res holds the answer,
 * whatever its rc (a bad command is rc 12 with a message saying what was
 * expected); < 0 (COFFER_ENOMEM, COFFER_EINVAL for a NULL env/cat) only
 * when no answer could be built, with res emptied.  res is initialised
 * here; free it with adm_result_free() either way.
 *
 * Commands that start a process (EXPIRE INVENTORY, RECLAIM STGPOOL, AUDIT
 * CONTAINER) with WAIT=YES block until the process ends.  Every command is
 * echoed to the activity log through env->cat (ANR2017I), and the
 * messages of commands that change something are logged after it.
 */
int adm_execute(struct adm_env *env, const char *line,
    struct adm_result *res);

void adm_result_init(struct adm_result *res);
void adm_result_free(struct adm_result *res);	/* accepts NULL */

/*
 * Builders.  They return 0, COFFER_ENOMEM, or COFFER_ETOOBIG when a row
 * would pass ADM_ROWS_MAX or ADM_RESULT_BYTES_MAX (the row is dropped and
 * res->truncated set; stop adding rows).  Strings are copied; cells and
 * messages longer than ADM_CELL_MAX are cut.
 */
/* Append a message (a whole "ANRnnnnX text" line). */
int adm_msg(struct adm_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, raising res->rc to at least rc. */
int adm_msg_rc(struct adm_result *res, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int adm_vmsg(struct adm_result *res, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Set the n column names (const char *), replacing any; rows must be 0. */
int adm_cols(struct adm_result *res, size_t n, ...);
int adm_colsv(struct adm_result *res, size_t n, const char *const *names);
/* Append one row of res->ncol values (const char *, NULL for null). */
int adm_row(struct adm_result *res, ...);
int adm_rowv(struct adm_result *res, const char *const *vals);
/* The cell at (row, col), or NULL. */
const char *adm_cell(const struct adm_result *res, size_t row, size_t col);
/* Index of column name, or -1. */
int adm_col_index(const struct adm_result *res, const char *name);

#endif
