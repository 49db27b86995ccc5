/*
 * test_adm.c - administrative commands as an administrator types them:
 * abbreviations and quoting parse, mistakes are answered with what was
 * expected, nodes and domains land in a real catalog and come back from
 * the queries, passwords never show, and the process commands run real
 * expiration and audit against a real pool in the same database file.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "adm.h"
#include "adm_int.h"
#include "cat.h"
#include "codec.h"
#include "err.h"
#include "hash.h"
#include "passwd.h"
#include "pool.h"
#include "pool_backend.h"
#include "pool_container.h"
#include "proc.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define SECRET	"Sup3rSecretPw!"

struct fixture {
	char			 dir[64];
	char			 db[PATH_MAX];
	char			 pooldir[PATH_MAX];
	struct cat		*cat;
	struct pool		*pool;
	struct proc_table	*procs;
	struct adm_env		 env;
	struct adm_result	 res;
};

static int
setup(void **state)
{
	struct fixture *fx;
	struct pool_params pp;
	struct cat_domain d;
	struct err e;

	err_clear(&e);
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-adm-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/catalog.db", fx->dir);
	snprintf(fx->pooldir, sizeof(fx->pooldir), "%s/pool", fx->dir);
	if (cat_open(fx->db, &fx->cat, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	pool_params_default(&pp);
	if (pool_create(fx->pooldir, fx->db, &pp, &e) != 0 ||
	    pool_open(fx->pooldir, fx->db, &fx->pool, &e) != 0)
		fail_msg("pool: %s", e.msg);
	/* What cofferd format leaves: TSM's STANDARD domain, a name. */
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "STANDARD");
	d.verexists = 2;
	d.verdeleted = 1;
	d.retextra = 30;
	d.retonly = 60;
	assert_int_equal(cat_domain_define(fx->cat, &d, &e), 0);
	assert_int_equal(cat_setting_set(fx->cat, "name", "PRIMARY", &e), 0);
	assert_non_null(fx->procs = proc_table_new());
	fx->env.cat = fx->cat;
	fx->env.catpath = fx->db;
	fx->env.pool = fx->pool;
	fx->env.procs = fx->procs;
	fx->env.admin = "admin";
	adm_result_init(&fx->res);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	adm_result_free(&fx->res);
	proc_table_free(fx->procs);
	pool_close(fx->pool);
	cat_close(fx->cat);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

/* Run a command; its answer is in fx->res.  Returns the TSM rc. */
static int
run(struct fixture *fx, const char *line)
{
	int r;

	adm_result_free(&fx->res);
	if ((r = adm_execute(&fx->env, line, &fx->res)) != 0)
		fail_msg("adm_execute(\"%s\"): %s", line, err_str(r));
	return fx->res.rc;
}

static void
run_ok(struct fixture *fx, const char *line)
{
	if (run(fx, line) != RC_OK)
		fail_msg("\"%s\": rc %d: %s", line, fx->res.rc,
		    fx->res.nmsg ? fx->res.msgs[0] : "(no message)");
}

/* The message that contains s, or NULL. */
static const char *
msg_with(const struct adm_result *res, const char *s)
{
	for (size_t i = 0; i < res->nmsg; i++)
		if (strstr(res->msgs[i], s) != NULL)
			return res->msgs[i];
	return NULL;
}

static void
assert_msg(const struct adm_result *res, const char *s)
{
	if (msg_with(res, s) == NULL)
		fail_msg("no message contains \"%s\"; first: %s", s,
		    res->nmsg ? res->msgs[0] : "(none)");
}

/* Cell of row by column name; fails if there is no such column. */
static const char *
cell(const struct adm_result *res, size_t row, const char *col)
{
	int const c = adm_col_index(res, col);

	if (c < 0)
		fail_msg("no column %s", col);
	return adm_cell(res, row, (size_t)c);
}

/* Does s appear anywhere in the result? */
static int
result_has(const struct adm_result *res, const char *s)
{
	if (msg_with(res, s) != NULL)
		return 1;
	for (size_t i = 0; i < res->nrow * res->ncol; i++)
		if (res->cells[i] != NULL && strstr(res->cells[i], s) != NULL)
			return 1;
	return 0;
}

/* Wait for the process table to empty (background processes ended). */
static void
wait_idle(struct fixture *fx)
{
	for (int i = 0; i < 1000; i++) {
		if (proc_count(fx->procs, NULL) == 0)
			return;
		usleep(10000);
	}
	fail_msg("processes still running after 10 s");
}

/* ---- tokenizer and keywords ---- */

static void
adm_tokenizer_quotes_and_params_are_split(void **state)
{
	struct adm_toks tk;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(adm_tokenize("  upd  node alice contact=\"John Q. "
	    "Doe\" DESC='a \"quoted\" word' 'two words'", &tk, &e), 0);
	assert_int_equal(tk.n, 6);
	assert_null(tk.t[0].key);
	assert_string_equal(tk.t[0].val, "upd");
	assert_string_equal(tk.t[2].val, "alice");
	assert_string_equal(tk.t[3].key, "contact");
	assert_string_equal(tk.t[3].val, "John Q. Doe");
	assert_true(tk.t[3].quoted);
	assert_string_equal(tk.t[4].key, "DESC");
	assert_string_equal(tk.t[4].val, "a \"quoted\" word");
	assert_null(tk.t[5].key);
	assert_string_equal(tk.t[5].val, "two words");

	/* An '=' inside quotes is data; an empty value is allowed. */
	assert_int_equal(adm_tokenize("x 'a=b' c=", &tk, &e), 0);
	assert_int_equal(tk.n, 3);
	assert_null(tk.t[1].key);
	assert_string_equal(tk.t[1].val, "a=b");
	assert_string_equal(tk.t[2].key, "c");
	assert_string_equal(tk.t[2].val, "");

	assert_int_equal(adm_tokenize("q node \"open", &tk, &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "quote"));
	assert_int_equal(adm_tokenize("q node =x", &tk, &e), COFFER_EINVAL);
}

static void
adm_tokenizer_overlong_line_is_refused(void **state)
{
	char *line = malloc(ADM_LINE_MAX + 2);
	char words[3 * (ADM_TOK_MAX + 1) + 1];
	struct adm_toks tk;
	struct err e;

	(void)state;
	assert_non_null(line);
	memset(line, 'a', ADM_LINE_MAX + 1);
	line[ADM_LINE_MAX + 1] = '\0';
	assert_int_equal(adm_tokenize(line, &tk, &e), COFFER_ETOOBIG);
	assert_non_null(strstr(e.msg, "bytes"));
	/* The longest line is one word that fills the buffer exactly. */
	line[ADM_LINE_MAX] = '\0';
	assert_int_equal(adm_tokenize(line, &tk, &e), 0);
	assert_int_equal(tk.n, 1);
	assert_int_equal(strlen(tk.t[0].val), ADM_LINE_MAX);
	/* One word too many. */
	for (size_t i = 0; i < sizeof(words) - 1; i++)
		words[i] = i % 3 == 2 ? ' ' : 'w';
	words[sizeof(words) - 1] = '\0';
	assert_int_equal(adm_tokenize(words, &tk, &e), COFFER_ETOOBIG);
	assert_non_null(strstr(e.msg, "words"));
	free(line);
}

static void
adm_abbreviations_follow_minimums(void **state)
{
	static const struct adm_kw kw[] = {
		{ "REGISTER", 3 }, { "REMOVE", 3 }, { "RECLAIM", 4 },
		{ "QUERY", 1 }, { "SET", 3 }, { "SETX", 4 },
	};
	size_t const n = sizeof(kw) / sizeof(kw[0]);
	char cands[128];

	(void)state;
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "q", cands,
	    sizeof(cands)), 3);
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "QuEr", cands,
	    sizeof(cands)), 3);
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "reg", cands,
	    sizeof(cands)), 0);
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "recl", cands,
	    sizeof(cands)), 2);
	/* A whole keyword wins over a longer one it starts. */
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "set", cands,
	    sizeof(cands)), 4);
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "re", cands,
	    sizeof(cands)), ADM_KW_AMBIG);
	assert_string_equal(cands, "REGister, REMove, RECLaim");
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "rec", cands,
	    sizeof(cands)), ADM_KW_AMBIG);
	assert_string_equal(cands, "RECLaim");
	assert_int_equal(adm_kw_find(kw, n, sizeof(kw[0]), "queryx", cands,
	    sizeof(cands)), ADM_KW_NONE);
}

static void
adm_values_parse_or_refuse(void **state)
{
	int64_t d, t;
	long v;
	int yes;

	(void)state;
	assert_int_equal(adm_parse_int("NOLIMIT", 1, 9999, 1, &v), 0);
	assert_int_equal(v, CAT_NOLIMIT);
	assert_int_equal(adm_parse_int("nol", 1, 9999, 1, &v), 0);
	assert_int_equal(adm_parse_int("nolimit", 1, 9999, 0, &v),
	    COFFER_EINVAL);
	assert_int_equal(adm_parse_int("0", 1, 9999, 1, &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_int("12x", 0, 99, 0, &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_int("-1", -5, 99, 0, &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_duration("24h", &d), 0);
	assert_int_equal(d, 86400);
	assert_int_equal(adm_parse_duration("90M", &d), 0);
	assert_int_equal(d, 5400);
	assert_int_equal(adm_parse_duration("none", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(adm_parse_duration("24", &d), COFFER_EINVAL);
	assert_int_equal(adm_parse_duration("h", &d), COFFER_EINVAL);
	assert_int_equal(adm_parse_duration("99999d", &d), COFFER_EINVAL);
	assert_int_equal(adm_parse_yesno("y", &yes), 0);
	assert_true(yes);
	assert_int_equal(adm_parse_yesno("No", &yes), 0);
	assert_false(yes);
	assert_int_equal(adm_parse_yesno("maybe", &yes), COFFER_EINVAL);
	assert_int_equal(adm_parse_date("2024-02-30", 0, &d), COFFER_EINVAL);
	assert_int_equal(adm_parse_date("2024-02-29", 0, &d), 0);
	assert_int_equal(adm_parse_time("01:30", d, 0, &t), 0);
	assert_int_equal(t - d, 5400);
	assert_int_equal(adm_parse_time("NOW-2", 0, 100000, &t), 0);
	assert_int_equal(t, 100000 - 7200);
	assert_true(adm_wildmatch("AL*", "ALICE", 0));
	assert_true(adm_wildmatch("a?ice", "ALICE", 1));
	assert_true(adm_wildmatch("*C*", "ALICE", 0));
	assert_false(adm_wildmatch("*X*", "ALICE", 0));
	assert_false(adm_wildmatch("/home*", "/HOME/a", 0));
}

/* ---- command resolution and its messages ---- */

static void
adm_abbreviated_command_equals_full_command(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "reg n alice " SECRET);
	run_ok(fx, "QUERY NODE");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_ROWS);
	assert_int_equal(fx->res.nrow, 1);
	run_ok(fx, "q node");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "node_name"), "ALICE");
	run_ok(fx, "Q No f=d");
	assert_int_equal(fx->res.nrow, 1);
	assert_true(adm_col_index(&fx->res, "repl_mode") >= 0);
}

static void
adm_unknown_command_is_named(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "frob the widget"), RC_ERROR);
	assert_int_equal(fx->res.nmsg, 1);
	assert_string_equal(fx->res.msgs[0],
	    "ANR2000E Unknown command - FROB.");
	assert_int_equal(run(fx, "query frobs"), RC_ERROR);
	assert_msg(&fx->res, "QUERY FROBS");
	assert_msg(&fx->res, "Node");
	assert_int_equal(run(fx, "register"), RC_ERROR);
	assert_msg(&fx->res, "Incomplete command - REGISTER");
}

static void
adm_ambiguous_command_lists_candidates(void **state)
{
	struct fixture *fx = *state;
	const char *m;

	assert_int_equal(run(fx, "re node alice"), RC_ERROR);
	m = msg_with(&fx->res, "ANR2000E");
	assert_non_null(m);
	assert_non_null(strstr(m, "REGister"));
	assert_non_null(strstr(m, "REMove"));
	assert_non_null(strstr(m, "RECLaim"));
	/* "q s" could be SEssion, STGpool or STatus. */
	assert_int_equal(run(fx, "q s"), RC_ERROR);
	assert_msg(&fx->res, "SEssion");
	assert_msg(&fx->res, "STatus");
}

static void
adm_missing_parameter_is_named(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "register node alice"), RC_ERROR);
	assert_string_equal(fx->res.msgs[0],
	    "ANR2020E REGISTER NODE: Missing parameter PASSWORD.");
	assert_int_equal(run(fx, "register node"), RC_ERROR);
	assert_msg(&fx->res, "Missing parameter NODENAME");
	assert_int_equal(run(fx, "cancel process"), RC_ERROR);
	assert_msg(&fx->res, "Missing parameter PROCESSNUMBER");
}

static void
adm_bad_parameters_say_what_was_expected(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "define domain gold verexists=x"), RC_ERROR);
	assert_string_equal(fx->res.msgs[0], "ANR2022E DEFINE DOMAIN: One or "
	    "more parameters are missing or incorrect: value 'x' for "
	    "VEREXISTS is not a number from 1 to 9999 or NOLIMIT.");
	assert_int_equal(run(fx, "define domain gold frob=1"), RC_ERROR);
	assert_msg(&fx->res, "unknown parameter FROB");
	assert_msg(&fx->res, "VERExists");
	assert_int_equal(run(fx, "define domain gold ver=1"), RC_ERROR);
	assert_msg(&fx->res, "VER is ambiguous");
	assert_int_equal(run(fx, "define domain gold rete=1 retextra=2"),
	    RC_ERROR);
	assert_msg(&fx->res, "RETEXTRA is given twice");
	assert_int_equal(run(fx, "q node a b"), RC_ERROR);
	assert_msg(&fx->res, "ANR2023E QUERY NODE: Extraneous parameter - b.");
	assert_int_equal(run(fx, "q node \"open"), RC_ERROR);
	assert_msg(&fx->res, "ANR2004E");
	/* Nothing was defined on the way. */
	run_ok(fx, "q domain gold");
	assert_int_equal(fx->res.nrow, 0);
	assert_msg(&fx->res, "ANR2034I");
}

/* ---- nodes ---- */

static void
adm_registered_node_is_queried_upper_case_in_standard(void **state)
{
	struct fixture *fx = *state;
	time_t const now = time(NULL);
	struct tm tm;
	char today[16];

	run_ok(fx, "register node alice " SECRET " contact=\"Alice A.\"");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_MSGS);
	assert_string_equal(fx->res.msgs[0],
	    "ANR2060I Node ALICE registered in policy domain STANDARD.");
	run_ok(fx, "query node");
	assert_int_equal(fx->res.nrow, 1);
	assert_int_equal(fx->res.ncol, 6);
	assert_string_equal(cell(&fx->res, 0, "node_name"), "ALICE");
	assert_string_equal(cell(&fx->res, 0, "domain"), "STANDARD");
	assert_string_equal(cell(&fx->res, 0, "locked"), "no");
	assert_null(cell(&fx->res, 0, "last_backup"));
	assert_string_equal(cell(&fx->res, 0, "filespaces"), "0");
	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	assert_memory_equal(cell(&fx->res, 0, "registered"), today, 10);
	assert_int_equal(strlen(cell(&fx->res, 0, "registered")), 19);

	assert_int_equal(run(fx, "register node ALICE " SECRET), RC_ERROR);
	assert_msg(&fx->res, "Node ALICE is already registered");
	/* Patterns are case-insensitive. */
	run_ok(fx, "q n al*");
	assert_int_equal(fx->res.nrow, 1);
	run_ok(fx, "q n bob*");
	assert_int_equal(fx->res.nrow, 0);
}

static void
adm_register_in_unknown_domain_names_it(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "register node bob " SECRET " do=nosuch"),
	    RC_ERROR);
	assert_string_equal(fx->res.msgs[0], "ANR1512E REGISTER NODE: Policy "
	    "domain NOSUCH is not defined.");
	run_ok(fx, "q node");
	assert_int_equal(fx->res.nrow, 0);
	assert_int_equal(run(fx, "register node b@d " SECRET), RC_ERROR);
	assert_msg(&fx->res, "node name 'b@d' is not valid");
	assert_int_equal(run(fx, "register node bob short"), RC_ERROR);
	assert_msg(&fx->res, "password does not meet the policy");
}

/* Every activity-log message of the last day, one per row. */
static void
query_actlog(struct fixture *fx, const char *extra)
{
	char line[256];

	snprintf(line, sizeof(line), "query actlog %s", extra);
	run_ok(fx, line);
	assert_int_equal(fx->res.shape, PROTO_SHAPE_ROWS);
}

static void
adm_password_never_appears(void **state)
{
	struct fixture *fx = *state;
	static const char *const cmds[] = {
		"register node alice " SECRET,
		"update node alice password=" SECRET "2",
		"update node alice " SECRET "3",
		"register admin root '" SECRET "'",
		"update admin root pa=" SECRET "4",
		"register node carol " SECRET " extra",
		"register node dave \"" SECRET "\" do=nosuch",
		"update node alice password=" SECRET " " SECRET,
		"register node erin " SECRET " frob=1",
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		(void)run(fx, cmds[i]);
		if (result_has(&fx->res, SECRET))
			fail_msg("\"%s\" echoed the password", cmds[i]);
	}
	assert_int_equal(run(fx, "register node carol " SECRET " extra"),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR2023E");
	run_ok(fx, "q node f=d");
	assert_false(result_has(&fx->res, "scrypt"));
	query_actlog(fx, "");
	assert_false(result_has(&fx->res, SECRET));
	/* The command echo is there, with the password masked as TSM does. */
	query_actlog(fx, "msgno=2017 search=alice");
	assert_true(fx->res.nrow >= 3);
	assert_true(result_has(&fx->res, "register node alice ?***?"));
	assert_true(result_has(&fx->res, "password=?***?"));
}

static void
adm_update_node_rpo_shows_in_detailed_query(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "reg node alice " SECRET);
	run_ok(fx, "upd node alice rpo=24h replst=enabled replm=syncs "
	    "contact='ops desk'");
	assert_string_equal(fx->res.msgs[0], "ANR2063I Node ALICE updated.");
	run_ok(fx, "q node alice format=detailed");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "rpo"), "24h");
	assert_string_equal(cell(&fx->res, 0, "repl_state"), "enabled");
	assert_string_equal(cell(&fx->res, 0, "repl_mode"), "syncsend");
	assert_string_equal(cell(&fx->res, 0, "contact"), "ops desk");
	assert_string_equal(cell(&fx->res, 0, "failed_logons"), "0");
	run_ok(fx, "upd node alice rpo=none");
	run_ok(fx, "q node alice f=d");
	assert_null(cell(&fx->res, 0, "rpo"));

	assert_int_equal(run(fx, "upd node alice rpo=soon"), RC_ERROR);
	assert_msg(&fx->res, "value 'soon' for RPO is not a duration");
	assert_int_equal(run(fx, "upd node alice replmode=s"), RC_ERROR);
	assert_msg(&fx->res, "REPLMODE is not SEND, RECEIVE");
	assert_int_equal(run(fx, "upd node alice"), RC_ERROR);
	assert_msg(&fx->res, "nothing to update");
	assert_int_equal(run(fx, "upd node nobody rpo=1h"), RC_ERROR);
	assert_msg(&fx->res, "Node NOBODY is not registered");
}

static void
adm_lock_and_unlock_node_change_its_state(void **state)
{
	struct fixture *fx = *state;
	int locked;

	run_ok(fx, "reg node alice " SECRET);
	assert_int_equal(cat_account_logon(fx->cat, CAT_KIND_NODE, "ALICE", 0,
	    0, &locked, NULL), 0);
	run_ok(fx, "lock node alice");
	assert_string_equal(fx->res.msgs[0], "ANR2066I Node ALICE locked.");
	run_ok(fx, "q node alice f=d");
	assert_string_equal(cell(&fx->res, 0, "locked"), "yes");
	assert_string_equal(cell(&fx->res, 0, "failed_logons"), "1");
	run_ok(fx, "unl n alice");
	run_ok(fx, "q node alice f=d");
	assert_string_equal(cell(&fx->res, 0, "locked"), "no");
	assert_string_equal(cell(&fx->res, 0, "failed_logons"), "0");
}

static void
adm_remove_node_leaves_no_trace_in_queries(void **state)
{
	struct fixture *fx = *state;
	uint64_t fs;

	run_ok(fx, "reg node alice " SECRET);
	run_ok(fx, "reg node bob " SECRET);
	run_ok(fx, "remove node alice");
	assert_string_equal(fx->res.msgs[0],
	    "ANR2061I Node ALICE removed from policy domain STANDARD.");
	run_ok(fx, "q node");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "node_name"), "BOB");
	assert_int_equal(run(fx, "remove node alice"), RC_ERROR);
	assert_msg(&fx->res, "not registered");
	/* A node with data stays until its filespaces are gone. */
	assert_int_equal(cat_fs_open(fx->cat, "BOB", "/home", "ext4", &fs,
	    NULL), 0);
	assert_int_equal(run(fx, "remove node bob"), RC_ERROR);
	assert_msg(&fx->res, "ANR2152E");
	assert_msg(&fx->res, "1 file spaces");
	run_ok(fx, "q fi bob");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "filespace_name"), "/home");
	assert_string_equal(cell(&fx->res, 0, "type"), "ext4");
}

static void
adm_admin_cannot_lock_or_remove_itself(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "register admin admin " SECRET);
	run_ok(fx, "register admin helper " SECRET);
	assert_int_equal(run(fx, "lock admin ADMIN"), RC_ERROR);
	assert_msg(&fx->res, "cannot lock your own administrator ID ADMIN");
	assert_int_equal(run(fx, "remove admin admin"), RC_ERROR);
	run_ok(fx, "lock admin helper");
	run_ok(fx, "q admin");
	assert_int_equal(fx->res.nrow, 2);
	assert_string_equal(cell(&fx->res, 1, "admin_name"), "HELPER");
	assert_string_equal(cell(&fx->res, 1, "locked"), "yes");
	run_ok(fx, "remove admin helper");
	run_ok(fx, "q admin");
	assert_int_equal(fx->res.nrow, 1);
}

/* ---- domains and settings ---- */

static void
adm_define_domain_accepts_nolimit_and_defaults(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "def dom gold vere=nolimit retextra=90 "
	    "desc=\"Gold tier, kept long\"");
	assert_string_equal(fx->res.msgs[0],
	    "ANR1500I Policy domain GOLD defined.");
	run_ok(fx, "reg node alice " SECRET " domain=gold");
	run_ok(fx, "reg node bob " SECRET " domain=gold");
	run_ok(fx, "q domain g*");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "domain_name"), "GOLD");
	assert_string_equal(cell(&fx->res, 0, "verexists"), "NOLIMIT");
	assert_string_equal(cell(&fx->res, 0, "verdeleted"), "1");
	assert_string_equal(cell(&fx->res, 0, "retextra"), "90");
	assert_string_equal(cell(&fx->res, 0, "retonly"), "60");
	assert_string_equal(cell(&fx->res, 0, "description"),
	    "Gold tier, kept long");
	assert_string_equal(cell(&fx->res, 0, "nodes"), "2");
	run_ok(fx, "upd dom gold retonly=nol verd=3");
	run_ok(fx, "q dom");
	assert_int_equal(fx->res.nrow, 2);
	assert_string_equal(cell(&fx->res, 0, "domain_name"), "GOLD");
	assert_string_equal(cell(&fx->res, 0, "retonly"), "NOLIMIT");
	assert_string_equal(cell(&fx->res, 0, "verdeleted"), "3");
	assert_string_equal(cell(&fx->res, 1, "nodes"), "0");
	assert_int_equal(run(fx, "def dom gold"), RC_ERROR);
	assert_msg(&fx->res, "GOLD is already defined");
	assert_int_equal(run(fx, "upd dom silver vere=3"), RC_ERROR);
	assert_msg(&fx->res, "SILVER is not defined");
}

static void
adm_set_invalidpwlimit_is_stored_and_shown(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "set invalidpwlimit 3");
	assert_msg(&fx->res, "ANR2097I");
	assert_int_equal(cat_setting_int(fx->cat, "invalidpwlimit", -1), 3);
	run_ok(fx, "q status");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_OBJECT);
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "invalidpwlimit"), "3");
	assert_string_equal(cell(&fx->res, 0, "server_name"), "PRIMARY");
	assert_string_equal(cell(&fx->res, 0, "version"), PACKAGE_VERSION);
	assert_int_equal(run(fx, "set invalid 3"), RC_ERROR);
	assert_msg(&fx->res, "INVALIDPwlimit");
	assert_int_equal(run(fx, "set invalidpwlimit 10000"), RC_ERROR);
	assert_msg(&fx->res, "from 0 to 9999");
	run_ok(fx, "set invalidpwlimit 0");
	assert_int_equal(cat_setting_int(fx->cat, "invalidpwlimit", -1), 0);
}

/* ---- storage and processes ---- */

/* Store one chunk of n bytes of c, unowned; returns its hash. */
static void
put_chunk(struct fixture *fx, uint8_t c, size_t n, uint8_t hash[HASH_LEN])
{
	struct hash_ctx *h;
	struct pool_txn *txn;
	struct pool_chunk ch;
	uint8_t *buf;
	struct err e;

	err_clear(&e);
	assert_non_null(buf = malloc(n));
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(c + i * 7 + i / 251);
	assert_non_null(h = hash_ctx_new(&e));
	assert_int_equal(hash_sha256(h, buf, n, hash), 0);
	hash_ctx_free(h);
	memcpy(ch.hash, hash, HASH_LEN);
	ch.raw_len = (uint32_t)n;
	ch.codec = CODEC_RAW;
	ch.stored_len = (uint32_t)n;
	ch.stored = buf;
	assert_int_equal(pool_txn_begin(fx->pool, &txn, &e), 0);
	if (pool_txn_put(txn, &ch, NULL, &e) != 0 ||
	    pool_txn_commit(txn, NULL, NULL, &e) != 0)
		fail_msg("chunk: %s", e.msg);
	free(buf);
}

static void
adm_query_stgpool_reports_the_pool(void **state)
{
	struct fixture *fx = *state;
	uint8_t h[HASH_LEN];

	put_chunk(fx, 1, 100000, h);
	run_ok(fx, "q stg");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "stgpool_name"), "CONTAINERPOOL");
	assert_string_equal(cell(&fx->res, 0, "type"), "DIRECTORY");
	assert_string_equal(cell(&fx->res, 0, "chunks"), "1");
	assert_string_equal(cell(&fx->res, 0, "logical_bytes"), "100000");
	assert_string_equal(cell(&fx->res, 0, "damaged"), "0");
	assert_non_null(cell(&fx->res, 0, "reduction_pct"));
	run_ok(fx, "q stg other*");
	assert_int_equal(fx->res.nrow, 0);
	fx->env.pool = NULL;
	run_ok(fx, "q stg");
	assert_int_equal(fx->res.nrow, 0);
	assert_int_equal(run(fx, "audit container wait=yes"), RC_ERROR);
	assert_msg(&fx->res, "No storage pool");
}

/* Three versions of one path: VEREXISTS 2 leaves one for expiration. */
static void
store_versions(struct fixture *fx)
{
	struct cat_obj o;
	uint64_t fs;
	struct err e;

	err_clear(&e);
	assert_int_equal(cat_fs_open(fx->cat, "ALICE", "/data", "ext4", &fs,
	    &e), 0);
	for (int i = 0; i < 3; i++) {
		memset(&o, 0, sizeof(o));
		o.fs_id = fs;
		o.path = "/data/report.txt";
		o.type = CAT_OBJ_FILE;
		o.state = CAT_ACTIVE;
		o.inserted = (int64_t)time(NULL) - 3600 + i;
		o.size = 1000 + (uint64_t)i;
		o.mode = 0100644;
		if (cat_obj_insert(fx->cat, &o, &e) != 0)
			fail_msg("cat_obj_insert: %s", e.msg);
	}
}

static void
adm_expire_inventory_wait_yes_returns_counts(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "reg node alice " SECRET);
	store_versions(fx);
	run_ok(fx, "q occ");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "objects"), "3");
	run_ok(fx, "expire inventory wait=yes");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_OBJECT);
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "objects_deleted"), "1");
	assert_string_equal(cell(&fx->res, 0, "bytes_deleted"), "1000");
	assert_non_null(cell(&fx->res, 0, "objects_examined"));
	assert_string_equal(cell(&fx->res, 0, "process"), "1");
	assert_msg(&fx->res, "ANR0987I Process 1 for EXPIRE INVENTORY");
	run_ok(fx, "q occ alice");
	assert_string_equal(cell(&fx->res, 0, "objects"), "2");
	/* The process wrote its start and end itself. */
	query_actlog(fx, "msgno=984");
	assert_int_equal(fx->res.nrow, 1);
	assert_true(result_has(&fx->res, "FOREGROUND"));
	query_actlog(fx, "msgno=987");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "message_number"), "ANR0987I");
}

/* Versions left in the catalog, read on the connection db. */
static int64_t
count_objects(struct sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM object", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

struct gate {
	struct proc_table	*procs;
	int64_t			 before, after;	/* versions, first and last */
	int			 cancelled, too_late;
};

/*
 * With the pool lock held, so no batch runs meanwhile: cancel process 1
 * once a batch has committed and before the last one has.
 */
static int
gate_cb(struct sqlite3 *db, void *arg, struct err *e)
{
	struct gate *g = arg;
	int64_t const n = count_objects(db);

	(void)e;
	if (n <= g->after + 1)
		g->too_late = 1;
	else if (n < g->before)
		g->cancelled = proc_cancel(g->procs, 1, NULL) == 0;
	return 0;
}

/*
 * A cancel between batches stops the expiration there: the batches done
 * stay, the end message says how far it got, and a rerun does the rest.
 */
static void
adm_expire_cancel_stops_between_batches(void **state)
{
	struct fixture *fx = *state;
	struct gate g = { fx->procs, 3 * 200, 2 * 200, 0, 0 };
	struct cat_obj o;
	char path[32];
	uint64_t fs;
	int64_t mid;
	struct err e;

	err_clear(&e);
	run_ok(fx, "reg node alice " SECRET);
	assert_int_equal(cat_fs_open(fx->cat, "ALICE", "/data", "ext4", &fs,
	    &e), 0);
	for (int i = 0; i < 200; i++)
		for (int v = 0; v < 3; v++) {
			snprintf(path, sizeof(path), "/data/d%03d", i);
			memset(&o, 0, sizeof(o));
			o.fs_id = fs;
			o.path = path;
			o.type = CAT_OBJ_DIR;
			o.state = CAT_ACTIVE;
			o.inserted = (int64_t)time(NULL) - 3600 + v;
			o.mode = 040755;
			assert_int_equal(cat_obj_insert(fx->cat, &o, &e), 0);
		}
	/* One path a batch: 200 batches, each its own commit. */
	assert_int_equal(setenv("COFFER_EXPIRE_BATCH", "1", 1), 0);
	run_ok(fx, "expire inventory");
	while (!g.cancelled && !g.too_late)
		assert_int_equal(pool_exec(fx->pool, gate_cb, &g, &e), 0);
	wait_idle(fx);
	assert_int_equal(unsetenv("COFFER_EXPIRE_BATCH"), 0);
	assert_false(g.too_late);
	mid = count_objects(cat_db(fx->cat));
	assert_true(mid < g.before && mid > g.after);
	query_actlog(fx, "msgno=985");
	assert_int_equal(fx->res.nrow, 1);
	assert_true(result_has(&fx->res, "completion state CANCELLED"));
	assert_true(result_has(&fx->res, "it was cancelled after processing"));
	run_ok(fx, "expire inventory wait=yes");
	assert_int_equal(strtoll(cell(&fx->res, 0, "objects_deleted"), NULL,
	    10), mid - g.after);
	assert_int_equal(count_objects(cat_db(fx->cat)), g.after);
}

static void
adm_audit_container_wait_yes_reports_damage(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX], hex[HASH_HEX_LEN + 1];
	sqlite3_stmt *st;
	uint8_t h[HASH_LEN], b;
	int64_t ctr, off;
	int fd;

	put_chunk(fx, 1, 70000, h);
	put_chunk(fx, 2, 80000, h);
	run_ok(fx, "audit container wait=yes");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_OBJECT);
	assert_string_equal(cell(&fx->res, 0, "chunks_checked"), "2");
	assert_string_equal(cell(&fx->res, 0, "damaged"), "0");
	assert_string_equal(cell(&fx->res, 0, "repaired"), "0");

	/* Flip a bit in the second chunk's bytes. */
	assert_int_equal(sqlite3_prepare_v2(cat_db(fx->cat), "SELECT "
	    "container, offset FROM chunk WHERE hash=?1", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, h, HASH_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	ctr = sqlite3_column_int64(st, 0);
	off = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	pool_backend_dir_path(fx->pooldir, (uint64_t)ctr, path, sizeof(path));
	assert_true((fd = open(path, O_RDWR)) >= 0);
	off += CTR_REC_HDR_LEN + 500;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);

	assert_int_equal(run(fx, "aud cont stg=containerpool wait=y"),
	    RC_WARNING);
	assert_string_equal(cell(&fx->res, 0, "chunks_checked"), "2");
	assert_string_equal(cell(&fx->res, 0, "damaged"), "1");
	assert_msg(&fx->res, "ANR4867W");
	hash_to_hex(h, hex);
	query_actlog(fx, "msgno=4866");
	assert_int_equal(fx->res.nrow, 1);
	assert_true(result_has(&fx->res, hex));
	run(fx, "q stgpool");
	assert_string_equal(cell(&fx->res, 0, "damaged"), "1");
	assert_int_equal(run(fx, "audit container stgpool=elsewhere"),
	    RC_ERROR);
	assert_msg(&fx->res, "ELSEWHERE is not defined");
}

static void
adm_background_process_is_numbered_and_logged(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "expire inventory");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_OBJECT);
	assert_string_equal(cell(&fx->res, 0, "process"), "1");
	assert_msg(&fx->res, "ANR0984I Process 1 for EXPIRE INVENTORY started "
	    "in the BACKGROUND");
	wait_idle(fx);
	run_ok(fx, "q proc");
	assert_int_equal(fx->res.nrow, 0);
	assert_msg(&fx->res, "No active processes");
	query_actlog(fx, "msgno=987 search=\"process 1 for expire\"");
	assert_int_equal(fx->res.nrow, 1);
	assert_true(result_has(&fx->res, "BACKGROUND"));
	assert_true(result_has(&fx->res, "completion state of SUCCESS"));
	/* Numbers grow. */
	run_ok(fx, "reclaim stgpool containerpool threshold=50 wait=no");
	assert_string_equal(cell(&fx->res, 0, "process"), "2");
	wait_idle(fx);
	query_actlog(fx, "msgno=987 search=reclaim");
	assert_int_equal(fx->res.nrow, 1);
	assert_int_equal(run(fx, "reclaim stgpool containerpool thr=0"),
	    RC_ERROR);
	assert_msg(&fx->res, "THRESHOLD");
}

/* A process that runs until it is cancelled. */
static int
until_cancelled(struct proc *p, void *arg, struct err *e)
{
	int *seen = arg;

	proc_set_status(p, "Waiting for a cancel, %d polls", 0);
	for (int i = 0; i < 2000 && !proc_cancelled(p); i++)
		usleep(5000);
	*seen = proc_cancelled(p);
	return *seen ? err_set(e, COFFER_ECANCELED, "cancelled") : 0;
}

static void
adm_query_and_cancel_process(void **state)
{
	struct fixture *fx = *state;
	uint64_t id = 0;
	int seen = 0;

	assert_int_equal(proc_start(fx->procs, "TEST WAIT", until_cancelled,
	    &seen, NULL, 0, &id, NULL), 0);
	assert_int_equal(id, 1);
	run_ok(fx, "q pr");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "process_number"), "1");
	assert_string_equal(cell(&fx->res, 0, "process"), "TEST WAIT");
	assert_non_null(cell(&fx->res, 0, "started"));
	assert_int_equal(run(fx, "cancel process 7"), RC_ERROR);
	assert_msg(&fx->res, "No active process found for process number 7");
	run_ok(fx, "can pr 1");
	assert_msg(&fx->res, "ANR0940I Cancel request accepted for process 1");
	wait_idle(fx);
	assert_int_equal(seen, 1);
	assert_int_equal(run(fx, "cancel process x"), RC_ERROR);
	assert_msg(&fx->res, "PROCESSNUMBER");
}

/* Start a process named name, cancel it as process id, want its reply. */
static void
cancel_named(struct fixture *fx, const char *name, int id, const char *want)
{
	char cmd[64];
	uint64_t got = 0;
	int seen = 0;

	assert_int_equal(proc_start(fx->procs, name, until_cancelled, &seen,
	    NULL, 0, &got, NULL), 0);
	assert_int_equal(got, (uint64_t)id);
	snprintf(cmd, sizeof(cmd), "cancel process %d", id);
	run_ok(fx, cmd);
	assert_msg(&fx->res, want);
	wait_idle(fx);
	assert_int_equal(seen, 1);
}

/*
 * The reply to a cancel says what the cancel does to that kind of job:
 * replication looks before each version, reclamation not at all.
 */
static void
adm_cancel_says_what_it_does(void **state)
{
	struct fixture *fx = *state;

	cancel_named(fx, "REPLICATE NODE", 1, "ANR0940I Cancel request "
	    "accepted for process 1 (REPLICATE NODE); it stops before its "
	    "next version");
	cancel_named(fx, "RECLAIM STGPOOL", 2, "(RECLAIM STGPOOL); once under "
	    "way it cannot be interrupted");
}

static int
quick(struct proc *p, void *arg, struct err *e)
{
	(void)e;
	*(uint64_t *)arg = proc_id(p);
	return 0;
}

static int
slow(struct proc *p, void *arg, struct err *e)
{
	(void)arg;
	(void)e;
	while (!proc_cancelled(p))
		usleep(2000);
	return 0;
}

static void
adm_proc_table_numbers_and_excludes(void **state)
{
	struct proc_table *t = proc_table_new();
	uint64_t id = 0, seen = 0, id2 = 0;
	struct err e;

	(void)state;
	assert_non_null(t);
	err_clear(&e);
	assert_int_equal(proc_start(t, "A", quick, &seen, NULL, PROC_WAIT,
	    &id, &e), 0);
	assert_int_equal(id, 1);
	assert_int_equal(seen, 1);
	assert_int_equal(proc_start(t, "B", slow, NULL, NULL, PROC_EXCLUSIVE,
	    &id, &e), 0);
	assert_int_equal(id, 2);
	assert_int_equal(proc_start(t, "B", slow, NULL, NULL, PROC_EXCLUSIVE,
	    &id2, &e), COFFER_EBUSY);
	assert_int_equal(proc_count(t, "B"), 1);
	assert_int_equal(proc_cancel(t, 99, NULL), COFFER_ENOTFOUND);
	/* Freeing the table cancels and joins what still runs. */
	proc_table_free(t);
}

/* ---- UPDATE FILESPACE (DR settings of a VM) ---- */

static void
adm_update_filespace_sets_dr_and_query_shows_it(void **state)
{
	struct fixture *fx = *state;
	uint64_t fs;

	run_ok(fx, "reg node bob " SECRET);
	assert_int_equal(cat_fs_open(fx->cat, "BOB", "VM:mgmt01", "VM", &fs,
	    NULL), 0);
	run_ok(fx, "q fi bob VM:mgmt01");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "type"), "VM");
	assert_string_equal(cell(&fx->res, 0, "drprotect"), "no");
	assert_string_equal(cell(&fx->res, 0, "drpriority"), "0");

	run_ok(fx, "update filespace bob VM:mgmt01 drprotect=yes "
	    "drpriority=1");
	assert_string_equal(fx->res.msgs[0], "ANR2079I Filespace VM:mgmt01 "
	    "of node BOB updated: DRPROTECT=YES DRPRIORITY=1.");
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "drprotect"), "yes");
	assert_string_equal(cell(&fx->res, 0, "drpriority"), "1");

	/* Abbreviated, one value at a time: the other one stays. */
	run_ok(fx, "UPD FI Bob VM:mgmt01 DRPRI=3");
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "drprotect"), "yes");
	assert_string_equal(cell(&fx->res, 0, "drpriority"), "3");
	run_ok(fx, "upd fi bob VM:mgmt01 drpro=n");
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "drprotect"), "no");
	assert_string_equal(cell(&fx->res, 0, "drpriority"), "3");

	/* The change is in the activity log. */
	run_ok(fx, "q actlog search=VM:mgmt01 msgno=2079");
	assert_int_equal(fx->res.nrow, 3);
}

static void
adm_update_filespace_errors_say_what_is_wrong(void **state)
{
	struct fixture *fx = *state;
	uint64_t fs;

	run_ok(fx, "reg node bob " SECRET);
	assert_int_equal(cat_fs_open(fx->cat, "BOB", "VM:mgmt01", "VM", &fs,
	    NULL), 0);
	assert_int_equal(run(fx, "upd fi bob"), RC_ERROR);
	assert_msg(&fx->res, "ANR2020E UPDATE FILESPACE: Missing parameter "
	    "FILESPACENAME");
	assert_int_equal(run(fx, "upd fi bob VM:mgmt01"), RC_ERROR);
	assert_msg(&fx->res, "nothing to update; give DRPROTect or "
	    "DRPRIority");
	assert_int_equal(run(fx, "upd fi bob VM:mgmt01 drprotect=maybe"),
	    RC_ERROR);
	assert_msg(&fx->res, "value 'maybe' for DRPROTECT is not YES or NO");
	assert_int_equal(run(fx, "upd fi bob VM:mgmt01 drpriority=10000"),
	    RC_ERROR);
	assert_msg(&fx->res, "for DRPRIORITY is not a number from 0 (none) "
	    "to 9999");
	assert_int_equal(run(fx, "upd fi bob VM:mgmt01 drpriority=-1"),
	    RC_ERROR);
	assert_int_equal(run(fx, "upd fi bob VM:mgmt01 drpr=1"), RC_ERROR);
	assert_msg(&fx->res, "ambiguous or too short");
	assert_int_equal(run(fx, "upd fi nobody VM:mgmt01 drprotect=yes"),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR2146E UPDATE FILESPACE: Node NOBODY is not "
	    "registered.");
	assert_int_equal(run(fx, "upd fi bob VM:x drprotect=yes"), RC_ERROR);
	assert_msg(&fx->res, "ANR2081E UPDATE FILESPACE: Filespace VM:x not "
	    "found for node BOB");
	/* Matched exactly: another case is another filespace. */
	assert_int_equal(run(fx, "upd fi bob vm:MGMT01 drprotect=yes"),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR2081E");
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "drprotect"), "no");
}

/* ---- peer servers and replication ---- */

/* A CA of this fixture's own in fx->dir/tls; its ca.pem path into out. */
static void
make_ca(struct fixture *fx, char *out, size_t len)
{
	char dir[128];
	struct err e;

	snprintf(dir, sizeof(dir), "%s/tls", fx->dir);
	if (tls_make_ca_and_server_cert(dir, "PRIMARY", &e) != 0)
		fail_msg("ca: %s", e.msg);
	snprintf(out, len, "%s/ca.pem", dir);
}

static void
adm_define_server_stores_the_key_never_the_password(void **state)
{
	struct fixture *fx = *state;
	uint8_t want[PASSWD_SERVER_KEY_LEN];
	struct cat_server s;
	char ca[160], line[512];

	make_ca(fx, ca, sizeof(ca));
	snprintf(line, sizeof(line), "define server hotsite serverpassword="
	    SECRET " hladdress=127.0.0.1 lladdress=1501 cafile=%s "
	    "description='hot site'", ca);
	run_ok(fx, line);
	assert_msg(&fx->res, "ANR1660I Server HOTSITE defined");
	assert_int_equal(cat_server_get(fx->cat, "HOTSITE", &s, NULL), 0);
	assert_int_equal(passwd_server_key(SECRET, "hotsite", "primary", want,
	    NULL), 0);
	assert_memory_equal(s.key, want, sizeof(want));
	assert_string_equal(s.cafile, ca);

	run_ok(fx, "q ser");
	assert_int_equal(fx->res.nrow, 1);
	assert_int_equal(fx->res.ncol, 6);
	assert_string_equal(cell(&fx->res, 0, "server_name"), "HOTSITE");
	assert_string_equal(cell(&fx->res, 0, "hladdress"), "127.0.0.1");
	assert_string_equal(cell(&fx->res, 0, "lladdress"), "1501");
	assert_string_equal(cell(&fx->res, 0, "cafile"), ca);
	assert_string_equal(cell(&fx->res, 0, "description"), "hot site");
	assert_non_null(cell(&fx->res, 0, "defined"));
	/* "q se" is still QUERY SESSION. */
	run_ok(fx, "q se");
	assert_int_equal(adm_col_index(&fx->res, "session_number"), 0);

	/* A new password gives a new key; the other fields stay. */
	run_ok(fx, "UPD SE hotsite SERVERPA=other-pw-123 LLA=1600");
	assert_msg(&fx->res, "ANR1661I");
	assert_int_equal(cat_server_get(fx->cat, "HOTSITE", &s, NULL), 0);
	assert_memory_not_equal(s.key, want, sizeof(want));
	assert_int_equal(s.lladdress, 1600);
	assert_string_equal(s.description, "hot site");

	/* No password anywhere: messages, queries, the activity log. */
	query_actlog(fx, "");
	assert_false(result_has(&fx->res, SECRET));
	assert_false(result_has(&fx->res, "other-pw-123"));
	query_actlog(fx, "msgno=2017 search=hotsite");
	assert_true(result_has(&fx->res, "serverpassword=?***?"));
	assert_true(result_has(&fx->res, "SERVERPA=?***?"));
}

static void
adm_define_server_errors_say_what_is_wrong(void **state)
{
	struct fixture *fx = *state;
	char ca[160], line[512];

	make_ca(fx, ca, sizeof(ca));
	assert_int_equal(run(fx, "define server hot hla=h lla=1"), RC_ERROR);
	assert_msg(&fx->res, "ANR2020E DEFINE SERVER: Missing parameter");
	assert_int_equal(run(fx, "define server hot serverpassword=" SECRET
	    " hla=h lla=70000"), RC_ERROR);
	assert_msg(&fx->res, "for LLADDRESS is not a port number");
	assert_int_equal(run(fx, "define server hot serverpassword=" SECRET
	    " hla=h lla=1500 cafile=ca.pem"), RC_ERROR);
	assert_msg(&fx->res, "is not an absolute path");
	assert_int_equal(run(fx, "define server hot serverpassword=" SECRET
	    " hla=h lla=1500 cafile=/nonexistent/ca.pem"), RC_ERROR);
	assert_msg(&fx->res, "CAFILE /nonexistent/ca.pem cannot be used");
	snprintf(line, sizeof(line), "define server hot serverpassword="
	    SECRET " hla=h lla=1500 cafile=%s/catalog.db", fx->dir);
	assert_int_equal(run(fx, line), RC_ERROR);
	assert_msg(&fx->res, "cannot be used");
	assert_int_equal(run(fx, "define server primary serverpassword="
	    SECRET " hla=h lla=1500"), RC_ERROR);
	assert_msg(&fx->res, "this server's own name");
	assert_int_equal(run(fx, "define server hot serverpassword=short "
	    "hla=h lla=1500"), RC_ERROR);
	assert_msg(&fx->res, "does not meet the policy");
	assert_false(result_has(&fx->res, "short"));

	/* Without CAFILE: defined, but never connected to. */
	run_ok(fx, "define server hot serverpassword=" SECRET " hla=h "
	    "lla=1500");
	assert_msg(&fx->res, "no CAFILE yet");
	assert_int_equal(run(fx, "define server hot serverpassword=" SECRET
	    " hla=h lla=1500"), RC_ERROR);
	assert_msg(&fx->res, "ANR1711E");
	assert_int_equal(run(fx, "ping server hot"), RC_ERROR);
	assert_msg(&fx->res, "ANR1705W Ping for server 'HOT' was not able");
	assert_msg(&fx->res, "no CA file defined");
	assert_int_equal(run(fx, "ping server nosuch"), RC_ERROR);
	assert_msg(&fx->res, "ANR1710E PING SERVER: Server NOSUCH is not "
	    "defined.");
	assert_int_equal(run(fx, "update server nosuch lla=1"), RC_ERROR);
	assert_msg(&fx->res, "ANR1710E");
	assert_int_equal(run(fx, "update server hot"), RC_ERROR);
	assert_msg(&fx->res, "nothing to update");
	assert_int_equal(run(fx, "delete server nosuch"), RC_ERROR);
	assert_msg(&fx->res, "ANR1710E");
}

static void
adm_set_replserver_guards_delete_and_shows_in_status(void **state)
{
	struct fixture *fx = *state;

	run_ok(fx, "q status");
	assert_null(cell(&fx->res, 0, "replserver"));
	assert_int_equal(run(fx, "set replserver hot"), RC_ERROR);
	assert_msg(&fx->res, "ANR1710E SET REPLSERVER: Server HOT is not "
	    "defined.");
	run_ok(fx, "define server hot serverpassword=" SECRET " hla=h "
	    "lla=1500");
	run_ok(fx, "set replserver Hot");
	assert_msg(&fx->res, "ANR2716I Replication server set to HOT.");
	run_ok(fx, "q status");
	assert_string_equal(cell(&fx->res, 0, "replserver"), "HOT");
	assert_string_equal(cell(&fx->res, 0, "server_name"), "PRIMARY");
	assert_non_null(cell(&fx->res, 0, "invalidpwlimit"));
	assert_int_equal(run(fx, "delete server hot"), RC_ERROR);
	assert_msg(&fx->res, "ANR1713E DELETE SERVER: Server HOT is the "
	    "replication server");
	run_ok(fx, "set replserver");
	assert_msg(&fx->res, "has been removed");
	run_ok(fx, "q status");
	assert_null(cell(&fx->res, 0, "replserver"));
	run_ok(fx, "del se hot");
	assert_msg(&fx->res, "ANR1662I Server HOT deleted.");
	run_ok(fx, "q server");
	assert_int_equal(fx->res.nrow, 0);
}

static void
adm_replication_rules_and_query_replication(void **state)
{
	struct fixture *fx = *state;
	struct cat_account a;
	struct cat_repl rp;
	uint64_t fs;

	run_ok(fx, "reg node bob " SECRET);
	assert_int_equal(cat_fs_open(fx->cat, "BOB", "VM:web", "VM", &fs,
	    NULL), 0);
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "replrule"), "all_data");
	run_ok(fx, "upd fi bob VM:web replrule=active_data");
	assert_string_equal(fx->res.msgs[0], "ANR2079I Filespace VM:web of "
	    "node BOB updated: DRPROTECT=NO DRPRIORITY=0 "
	    "REPLRULE=ACTIVE_DATA.");
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "replrule"), "active_data");
	run_ok(fx, "upd fi bob VM:web REPLR=n drpri=2");
	run_ok(fx, "q fi bob");
	assert_string_equal(cell(&fx->res, 0, "replrule"), "none");
	assert_string_equal(cell(&fx->res, 0, "drpriority"), "2");
	assert_int_equal(run(fx, "upd fi bob VM:web replrule=a"), RC_ERROR);
	assert_msg(&fx->res, "for REPLRULE is not ALL_DATA, ACTIVE_DATA or "
	    "NONE");

	/* UPDATE NODE's replication fields, QUERY NODE's columns. */
	run_ok(fx, "upd node bob replstate=enabled replmode=syncreceive");
	run_ok(fx, "q node bob f=d");
	assert_string_equal(cell(&fx->res, 0, "repl_state"), "enabled");
	assert_string_equal(cell(&fx->res, 0, "repl_mode"), "syncreceive");
	assert_null(cell(&fx->res, 0, "last_replication"));
	assert_int_equal(cat_account_get(fx->cat, CAT_KIND_NODE, "BOB", &a,
	    NULL), 0);
	a.last_repl = 1700000000;
	assert_int_equal(cat_account_update(fx->cat, &a, NULL), 0);
	run_ok(fx, "q node bob f=d");
	assert_non_null(cell(&fx->res, 0, "last_replication"));
	assert_int_equal(run(fx, "upd node bob replmode=sideways"), RC_ERROR);

	run_ok(fx, "q replication");
	assert_int_equal(fx->res.nrow, 0);
	assert_msg(&fx->res, "ANR2034I");
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.node, sizeof(rp.node), "BOB");
	rp.fs_id = fs;
	snprintf(rp.fs_name, sizeof(rp.fs_name), "VM:web");
	snprintf(rp.target, sizeof(rp.target), "HOT");
	rp.last_start = 1700000000;
	rp.objects = 7;
	rp.bytes = 4096;
	snprintf(rp.status, sizeof(rp.status), "failed");
	assert_int_equal(cat_repl_set(fx->cat, &rp, NULL), 0);
	run_ok(fx, "q repl bob");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "node_name"), "BOB");
	assert_string_equal(cell(&fx->res, 0, "filespace_name"), "VM:web");
	assert_string_equal(cell(&fx->res, 0, "target"), "HOT");
	assert_non_null(cell(&fx->res, 0, "last_start"));
	assert_null(cell(&fx->res, 0, "last_success"));
	assert_string_equal(cell(&fx->res, 0, "objects"), "7");
	assert_string_equal(cell(&fx->res, 0, "bytes"), "4096");
	assert_string_equal(cell(&fx->res, 0, "status"), "failed");
	run_ok(fx, "q repl b*");
	assert_int_equal(fx->res.nrow, 1);
	run_ok(fx, "q repl alice");
	assert_int_equal(fx->res.nrow, 0);
}

/* ---- RPO in QUERY NODE, SET RTO, PREPARE (adm_plan.c) ---- */

/* Set node's last backup to when (the session does this on commit). */
static void
set_last_backup(struct fixture *fx, const char *node, int64_t when)
{
	struct cat_account a;
	struct err e;

	assert_int_equal(cat_account_get(fx->cat, CAT_KIND_NODE, node, &a, &e),
	    0);
	a.last_backup = when;
	assert_int_equal(cat_account_update(fx->cat, &a, &e), 0);
}

/*
 * The detailed query answers whether the RPO is met as of the command's
 * clock, which the test moves with env.now: met, then missed when the
 * backup ages past the RPO.
 */
static void
adm_query_node_detailed_shows_rpo_status_as_the_clock_moves(void **state)
{
	struct fixture *fx = *state;
	int64_t const t0 = 1700000000;

	run_ok(fx, "register node web01 " SECRET);
	run_ok(fx, "register node other " SECRET);
	run_ok(fx, "update node web01 rpo=24h");
	set_last_backup(fx, "WEB01", t0);
	fx->env.now = t0 + 2 * 3600;
	run_ok(fx, "q node web01 f=d");
	assert_string_equal(cell(&fx->res, 0, "rpo_status"), "met");
	assert_string_equal(cell(&fx->res, 0, "rpo_met"), "yes");
	assert_string_equal(cell(&fx->res, 0, "newest_copy_here_age"),
	    "2h 0m");
	assert_string_equal(cell(&fx->res, 0, "newest_copy_here_age_s"),
	    "7200");
	assert_non_null(cell(&fx->res, 0, "newest_copy_here"));
	/* Not replicated: no hot-site copy is expected, none shown. */
	assert_null(cell(&fx->res, 0, "newest_copy_hotsite"));
	assert_null(cell(&fx->res, 0, "newest_copy_hotsite_age"));
	fx->env.now = t0 + 26 * 3600 + 600;
	run_ok(fx, "q node web01 f=d");
	assert_string_equal(cell(&fx->res, 0, "rpo_status"), "missed");
	assert_string_equal(cell(&fx->res, 0, "rpo_met"), "no");
	assert_string_equal(cell(&fx->res, 0, "newest_copy_here_age"),
	    "26h 10m");
	/* No RPO: none, and rpo_met null. */
	run_ok(fx, "q node other f=d");
	assert_string_equal(cell(&fx->res, 0, "rpo_status"), "none");
	assert_null(cell(&fx->res, 0, "rpo_met"));
	assert_null(cell(&fx->res, 0, "newest_copy_here"));
	/* The standard format keeps its six columns. */
	run_ok(fx, "q node");
	assert_int_equal(fx->res.ncol, 6);
	fx->env.now = 0;
}

static void
adm_set_rto_and_plan_settings_show_in_status(void **state)
{
	struct fixture *fx = *state;
	char want[PATH_MAX];

	run_ok(fx, "q status");
	assert_null(cell(&fx->res, 0, "rto"));
	snprintf(want, sizeof(want), "%s/plans/", fx->dir);
	assert_string_equal(cell(&fx->res, 0, "drmplanprefix"), want);
	assert_string_equal(cell(&fx->res, 0, "drmplanversions"), "7");
	run_ok(fx, "set rto 72h");
	assert_non_null(msg_with(&fx->res, "set to 72h"));
	run_ok(fx, "set drmplanprefix /srv/coffer/rpf.");
	run_ok(fx, "set drmplanversions 3");
	run_ok(fx, "q status");
	assert_string_equal(cell(&fx->res, 0, "rto"), "72h");
	assert_string_equal(cell(&fx->res, 0, "drmplanprefix"),
	    "/srv/coffer/rpf.");
	assert_string_equal(cell(&fx->res, 0, "drmplanversions"), "3");
	assert_int_equal(run(fx, "set rto soon"), RC_ERROR);
	assert_non_null(msg_with(&fx->res, "DURATION"));
	assert_int_equal(run(fx, "set drmplanversions 0"), RC_ERROR);
	assert_int_equal(run(fx, "set drmplanprefix relative/"), RC_ERROR);
	assert_non_null(msg_with(&fx->res, "absolute path"));
	run_ok(fx, "set rto none");
	run_ok(fx, "set drmplanprefix");
	run_ok(fx, "q status");
	assert_null(cell(&fx->res, 0, "rto"));
	assert_string_equal(cell(&fx->res, 0, "drmplanprefix"), want);
}

/*
 * PREPARE, a verb without an object: writes the plan, answers with its
 * file and counts, warns (rc 8) when a node misses its RPO, logs
 * ANR6900I, and keeps DRMPLANVERSIONS plans.
 */
static void
adm_prepare_writes_the_plan_and_reports_it(void **state)
{
	struct fixture *fx = *state;
	char prefix[PATH_MAX], first[PATH_MAX];
	struct stat st;
	int64_t const t0 = (int64_t)time(NULL);

	run_ok(fx, "register node web01 " SECRET);
	run_ok(fx, "register node db01 " SECRET);
	run_ok(fx, "update node web01 rpo=24h");
	run_ok(fx, "update node db01 rpo=1h");
	set_last_backup(fx, "WEB01", t0 - 3600);
	set_last_backup(fx, "DB01", t0 - 3 * 3600);
	snprintf(prefix, sizeof(prefix), "%s/rpf/plan.", fx->dir);
	fx->env.now = t0;
	assert_int_equal(run(fx, "set drmplanversions 2"), RC_OK);
	{
		char line[PATH_MAX + 64];

		snprintf(line, sizeof(line), "prepare planprefix=%s", prefix);
		assert_int_equal(run(fx, line), RC_WARNING);
		assert_int_equal(fx->res.shape, PROTO_SHAPE_OBJECT);
		assert_non_null(msg_with(&fx->res, "ANR6900I"));
		assert_non_null(msg_with(&fx->res, "ANR6901W"));
		assert_string_equal(cell(&fx->res, 0, "nodes"), "2");
		assert_string_equal(cell(&fx->res, 0, "nodes_missing_rpo"),
		    "1");
		assert_null(cell(&fx->res, 0, "rto_s"));
		assert_null(cell(&fx->res, 0, "rto_met"));
		snprintf(first, sizeof(first), "%s", cell(&fx->res, 0,
		    "plan_file"));
		assert_int_equal(strncmp(first, prefix, strlen(prefix)), 0);
		assert_int_equal(stat(first, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		/* Two more plans, a second apart: the first one goes. */
		fx->env.now = t0 + 1;
		run(fx, line);
		fx->env.now = t0 + 2;
		run(fx, line);
		assert_string_equal(cell(&fx->res, 0, "plans_deleted"), "1");
		assert_non_null(msg_with(&fx->res, "ANR6903I"));
		assert_int_equal(stat(first, &st), -1);
	}
	run_ok(fx, "set rto 1000d");
	fx->env.now = t0 + 3;
	/* PREPare abbreviated; the default prefix DIR/plans/. */
	assert_int_equal(run(fx, "prep wait=yes"), RC_WARNING);
	assert_string_equal(cell(&fx->res, 0, "rto_met"), "yes");
	assert_non_null(strstr(cell(&fx->res, 0, "plan_file"), "/plans/"));
	assert_int_equal(run(fx, "prepare bogus"), RC_ERROR);
	assert_int_equal(run(fx, "prepare planprefix=relative"), RC_ERROR);
	run_ok(fx, "q actlog msgno=6900");
	assert_int_equal(fx->res.nrow, 4);
	fx->env.now = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adm_tokenizer_quotes_and_params_are_split),
		cmocka_unit_test(adm_tokenizer_overlong_line_is_refused),
		cmocka_unit_test(adm_abbreviations_follow_minimums),
		cmocka_unit_test(adm_values_parse_or_refuse),
		cmocka_unit_test(adm_proc_table_numbers_and_excludes),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(adm_abbreviated_command_equals_full_command),
		T(adm_unknown_command_is_named),
		T(adm_ambiguous_command_lists_candidates),
		T(adm_missing_parameter_is_named),
		T(adm_bad_parameters_say_what_was_expected),
		T(adm_registered_node_is_queried_upper_case_in_standard),
		T(adm_register_in_unknown_domain_names_it),
		T(adm_password_never_appears),
		T(adm_update_node_rpo_shows_in_detailed_query),
		T(adm_lock_and_unlock_node_change_its_state),
		T(adm_remove_node_leaves_no_trace_in_queries),
		T(adm_admin_cannot_lock_or_remove_itself),
		T(adm_define_domain_accepts_nolimit_and_defaults),
		T(adm_set_invalidpwlimit_is_stored_and_shown),
		T(adm_define_server_stores_the_key_never_the_password),
		T(adm_define_server_errors_say_what_is_wrong),
		T(adm_set_replserver_guards_delete_and_shows_in_status),
		T(adm_replication_rules_and_query_replication),
		T(adm_query_stgpool_reports_the_pool),
		T(adm_expire_inventory_wait_yes_returns_counts),
		T(adm_expire_cancel_stops_between_batches),
		T(adm_audit_container_wait_yes_reports_damage),
		T(adm_background_process_is_numbered_and_logged),
		T(adm_query_and_cancel_process),
		T(adm_cancel_says_what_it_does),
		T(adm_update_filespace_sets_dr_and_query_shows_it),
		T(adm_update_filespace_errors_say_what_is_wrong),
		T(adm_query_node_detailed_shows_rpo_status_as_the_clock_moves),
		T(adm_set_rto_and_plan_settings_show_in_status),
		T(adm_prepare_writes_the_plan_and_reports_it),
#undef T
	};

	return cmocka_run_group_tests_name("adm", tests, NULL, NULL);
}
