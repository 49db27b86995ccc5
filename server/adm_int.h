/*
 * adm_int.h - private to the adm_*.c files: tokens, keyword tables, the
 * command table's shape, and the helpers the command files share.
 */
#ifndef COFFER_ADM_INT_H
#define COFFER_ADM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "adm.h"

struct err;

/* ---- tokens (adm_parse.c) ---- */

#define ADM_TOK_MAX	64

/*
 * One word of a command line: a positional word (key NULL) or name=value.
 * Quotes are removed; quoted tells whether the value was quoted (so that
 * the activity-log echo can put them back).
 */
struct adm_tok {
	char	*key;
	char	*val;
	int	 quoted;
};

struct adm_toks {
	size_t		n;
	struct adm_tok	t[ADM_TOK_MAX];
	char		buf[ADM_LINE_MAX + 1];	/* the words, NUL-separated */
};

/*
 * Split line into tokens.  Whitespace separates words; ' or " quote (the
 * other quote character is literal inside); the first unquoted '=' of a
 * word splits it into name and value.  Errors: COFFER_EINVAL (unbalanced
 * quote, empty parameter name), COFFER_ETOOBIG (line or word count over
 * the bounds), with e saying which.
 */
int adm_tokenize(const char *line, struct adm_toks *tk, struct err *e);

/* ---- keywords (adm_parse.c) ---- */

/*
 * A keyword and its minimum abbreviation (TSM's capitals): "QUERY", 1
 * accepts Q, QU, ... QUERY.  Tables of any struct whose first member is a
 * struct adm_kw are searched with adm_kw_find.
 */
struct adm_kw {
	const char	*name;
	size_t		 min;
};

#define ADM_KW_NONE	(-1)	/* no keyword starts with the word */
#define ADM_KW_AMBIG	(-2)	/* several fit, or the word is too short */

/*
 * Index of the entry word stands for.  A word equal to a whole keyword
 * wins; else it must be at least that keyword's minimum long and fit one
 * keyword only.  On ADM_KW_AMBIG, cands (may be NULL) lists the keywords
 * it could start, spelled with their minimum in capitals ("REGister,
 * REMove").
 */
int adm_kw_find(const void *tab, size_t n, size_t stride, const char *word,
    char *cands, size_t candlen);
/* "REGister": name with its first min letters upper-case, rest lower. */
void adm_kw_spell(const struct adm_kw *kw, char *out, size_t len);

/* ---- values (adm_parse.c) ---- */

/* Integer in [lo, hi]; NOLIMIT (-> CAT_NOLIMIT) when nolimit is set. */
int adm_parse_int(const char *s, long lo, long hi, int nolimit, long *out);
/* Duration: "NONE" or 0 -> 0, else digits with a unit s, m, h or d. */
int adm_parse_duration(const char *s, int64_t *out);
/*
 * Size: digits with an optional unit K, M, G or T (powers of 1024, any
 * case), 1 byte to 1024 T.
 */
int adm_parse_size(const char *s, uint64_t *out);
/* YES or NO (abbreviable). */
int adm_parse_yesno(const char *s, int *out);
/*
 * BEGINDATE: YYYY-MM-DD, TODAY, TODAY-N (days): midnight local time.
 * BEGINTIME: HH:MM[:SS] added to the date; NOW, NOW-H[:MM] from now
 * (the date then ignored).
 */
int adm_parse_date(const char *s, int64_t now, int64_t *out);
int adm_parse_time(const char *s, int64_t day, int64_t now, int64_t *out);
/* TSM wildcard match: '*' any run, '?' one character. */
int adm_wildmatch(const char *pat, const char *s, int icase);
/* Upper-case copy of s (a name pattern) into out; 0 or COFFER_ETOOBIG. */
int adm_upper(const char *s, char *out, size_t len);

/* Local time "YYYY-MM-DD HH:MM:SS" into buf (>= 20 bytes); NULL for 0. */
const char *adm_fmt_time(int64_t t, char *buf, size_t len);
/* Count as text; CAT_NOLIMIT as "NOLIMIT". */
const char *adm_fmt_limit(int v, char *buf, size_t len);
/* Duration as "24h", "90m", "45s" (the largest exact unit up to hours;
 * "none" for 0). */
const char *adm_fmt_duration(int64_t s, char *buf, size_t len);
const char *adm_fmt_u64(uint64_t v, char *buf, size_t len);

/* ---- the command table (adm_cmd.c) ---- */

#define ADM_P_SECRET	1	/* never echoed: passwords */

struct adm_param {
	struct adm_kw	kw;
	unsigned	flags;
};

#define ADM_POS_MAX	4
#define ADM_PARAM_MAX	16	/* DEFINE SCHEDULE takes 14 */

struct adm_ctx;
typedef int (*adm_fn)(struct adm_ctx *x);

struct adm_cmd {
	struct adm_kw		 kw;		/* the object: NODE */
	const char		*title;		/* "REGISTER NODE" */
	adm_fn			 fn;
	const char		*pos[ADM_POS_MAX];	/* names for messages */
	size_t			 pos_min;
	int			 pos_secret;	/* index of a password, or -1 */
	const struct adm_param	*params;
	size_t			 nparam;
	/*
	 * Its messages are not copied to the activity log: queries, which
	 * change nothing, and commands whose process logs for itself.
	 */
	int			 nolog;
};

struct adm_verb {
	struct adm_kw		 kw;
	const struct adm_cmd	*cmds;
	size_t			 ncmd;
};

/*
 * A command being run.  A handler fills x->res and returns 0, or returns
 * a COFFER_E* code: COFFER_ENOMEM aborts adm_execute(); any other code
 * after the handler reported the problem (rc 12) is the normal way out of
 * a failed step, and one it did not report becomes ANR2033E.
 */
struct adm_ctx {
	struct adm_env		*env;
	const struct adm_cmd	*cmd;
	struct adm_result	*res;
	const char		*pos[ADM_POS_MAX];
	size_t			 npos;
	const char		*val[ADM_PARAM_MAX];	/* by params index */
	int64_t			 now;
};

/* Value of parameter name (its full name) or NULL when not given. */
const char *adm_arg(const struct adm_ctx *x, const char *name);
/* Positional i or NULL. */
const char *adm_pos(const struct adm_ctx *x, size_t i);

/*
 * Report a failure: append the message, raise rc to 12, and return code
 * (COFFER_ENOMEM if the message could not be added), so that a handler
 * can "return adm_error(x, COFFER_ENOTFOUND, ...)".
 */
int adm_error(struct adm_ctx *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ANR2022E TITLE: One or more parameters are missing or incorrect: ... */
int adm_bad(struct adm_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ... value 'v' for NAME is not <expected> (secret values not shown). */
int adm_bad_value(struct adm_ctx *x, const char *name, const char *v,
    const char *expected);
/* ANR2033E TITLE: Command failed - <e->msg>.  Returns e->code. */
int adm_failed(struct adm_ctx *x, const struct err *e);

/*
 * Normalize a node/admin/domain name into out (CAT_NAME_MAX + 1 bytes);
 * COFFER_EINVAL after reporting a bad one.
 */
int adm_name(struct adm_ctx *x, const char *what, const char *in,
    char *out);

/* Start a query's rows: shape ROWS and the n column names. */
int adm_query_cols(struct adm_ctx *x, size_t n, const char *const *cols);
/*
 * Add a query row; returns 0, COFFER_ENOMEM, or 1 when the result is
 * full (stop; adm_rows_done says so).
 */
int adm_query_row(struct adm_ctx *x, const char *const *vals);
/* After the rows: ANR2034I when there were none, ANR2035W when cut. */
int adm_rows_done(struct adm_ctx *x);

/* ---- handlers ---- */
/* adm_node.c */
int adm_register_node(struct adm_ctx *x);
int adm_update_node(struct adm_ctx *x);
int adm_remove_node(struct adm_ctx *x);
int adm_lock_node(struct adm_ctx *x);
int adm_unlock_node(struct adm_ctx *x);
int adm_query_node(struct adm_ctx *x);
int adm_register_admin(struct adm_ctx *x);
int adm_update_admin(struct adm_ctx *x);
int adm_remove_admin(struct adm_ctx *x);
int adm_lock_admin(struct adm_ctx *x);
int adm_unlock_admin(struct adm_ctx *x);
int adm_query_admin(struct adm_ctx *x);
/* adm_domain.c */
int adm_define_domain(struct adm_ctx *x);
int adm_update_domain(struct adm_ctx *x);
int adm_query_domain(struct adm_ctx *x);
/* adm_fs.c */
int adm_update_filespace(struct adm_ctx *x);
/* adm_query.c */
int adm_query_filespace(struct adm_ctx *x);
int adm_query_occupancy(struct adm_ctx *x);
int adm_query_stgpool(struct adm_ctx *x);
int adm_query_actlog(struct adm_ctx *x);
int adm_query_session(struct adm_ctx *x);
int adm_query_status(struct adm_ctx *x);
int adm_set_invalidpwlimit(struct adm_ctx *x);
/* adm_server.c */
int adm_define_server(struct adm_ctx *x);
int adm_update_server(struct adm_ctx *x);
int adm_delete_server(struct adm_ctx *x);
int adm_query_server(struct adm_ctx *x);
int adm_ping_server(struct adm_ctx *x);
int adm_set_replserver(struct adm_ctx *x);
int adm_query_replication(struct adm_ctx *x);
/* adm_devclass.c */
int adm_define_devclass(struct adm_ctx *x);
int adm_update_devclass(struct adm_ctx *x);
int adm_delete_devclass(struct adm_ctx *x);
int adm_query_devclass(struct adm_ctx *x);
/* adm_drm.c */
int adm_query_volhistory(struct adm_ctx *x);
int adm_query_drmedia(struct adm_ctx *x);
int adm_move_drmedia(struct adm_ctx *x);
/* adm_proc.c */
int adm_expire_inventory(struct adm_ctx *x);
int adm_reclaim_stgpool(struct adm_ctx *x);
/* adm_stgpool.c */
int adm_define_stgpool(struct adm_ctx *x);
int adm_update_stgpool(struct adm_ctx *x);
int adm_delete_stgpool(struct adm_ctx *x);
int adm_audit_container(struct adm_ctx *x);
int adm_replicate_node(struct adm_ctx *x);
int adm_export_node(struct adm_ctx *x);
int adm_import_node(struct adm_ctx *x);
int adm_backup_db(struct adm_ctx *x);
int adm_query_process(struct adm_ctx *x);
int adm_cancel_process(struct adm_ctx *x);
/* adm_sched.c */
int adm_define_schedule(struct adm_ctx *x);
int adm_update_schedule(struct adm_ctx *x);
int adm_delete_schedule(struct adm_ctx *x);
int adm_query_schedule(struct adm_ctx *x);
int adm_define_association(struct adm_ctx *x);
int adm_delete_association(struct adm_ctx *x);
int adm_query_association(struct adm_ctx *x);
int adm_query_event(struct adm_ctx *x);
int adm_set_randomize(struct adm_ctx *x);
int adm_set_queryschedperiod(struct adm_ctx *x);
/* adm_plan.c */
int adm_set_rto(struct adm_ctx *x);
int adm_set_drmplanprefix(struct adm_ctx *x);
int adm_set_drmplanversions(struct adm_ctx *x);
int adm_prepare(struct adm_ctx *x);
/* Where PREPARE writes (DRMPLANPREFIX or DIR/plans/), how many it keeps. */
int adm_plan_prefix(const struct adm_ctx *x, char *buf, size_t len);
int adm_plan_versions(const struct adm_ctx *x);

#endif
