/*
 * test_adm_drm.c - device classes, the volume history and offsite media
 * as an administrator types them: DEFINE/UPDATE/QUERY/DELETE DEVCLASS
 * with their checks, QUERY VOLHISTORY, QUERY and MOVE DRMEDIA through
 * every legal and illegal move, and BACKUP DB WAIT=YES writing real
 * volumes that then show in the history and the media list.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adm.h"
#include "adm_int.h"
#include "cat.h"
#include "drm.h"
#include "err.h"
#include "proc.h"
#include "proto.h"
#include "util.h"

struct fixture {
	char			 dir[64];
	char			 db[PATH_MAX];
	char			 vols[PATH_MAX - 64];
	struct cat		*cat;
	struct proc_table	*procs;
	struct adm_env		 env;
	struct adm_result	 res;
};

static int
setup(void **state)
{
	struct fixture *fx;
	struct err e;

	err_clear(&e);
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-admdrm-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/catalog.db", fx->dir);
	snprintf(fx->vols, sizeof(fx->vols), "%s/vols", fx->dir);
	assert_int_equal(mkdir(fx->vols, 0700), 0);
	if (cat_open(fx->db, &fx->cat, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	assert_int_equal(cat_setting_set(fx->cat, "name", "PRIMARY", &e), 0);
	assert_non_null(fx->procs = proc_table_new());
	fx->env.cat = fx->cat;
	fx->env.catpath = fx->db;
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
	cat_close(fx->cat);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* Run a command line made with printf; returns the TSM rc. */
static int
run(struct fixture *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
run(struct fixture *fx, const char *fmt, ...)
{
	char line[ADM_LINE_MAX];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	adm_result_free(&fx->res);
	if ((r = adm_execute(&fx->env, line, &fx->res)) != 0)
		fail_msg("adm_execute(\"%s\"): %s", line, err_str(r));
	return fx->res.rc;
}

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

#define RUN_OK(fx, ...) do {						\
	if (run((fx), __VA_ARGS__) != RC_OK)				\
		fail_msg("rc %d: %s", (fx)->res.rc, (fx)->res.nmsg ?	\
		    (fx)->res.msgs[0] : "(no message)");		\
} while (0)

static const char *
cell(const struct adm_result *res, size_t row, const char *col)
{
	int const c = adm_col_index(res, col);

	if (c < 0)
		fail_msg("no column %s", col);
	return adm_cell(res, row, (size_t)c);
}

/* A volume straight into the catalog, in state st. */
static void
add_volume(struct fixture *fx, const char *name, int kind, int st)
{
	struct cat_volume v;
	struct err e;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.path, sizeof(v.path), "%s/%s", fx->vols, name);
	snprintf(v.devclass, sizeof(v.devclass), "FILEDEV");
	v.kind = kind;
	v.seq = 1;
	v.state = st;
	if (cat_volume_add(fx->cat, &v, &e) != 0)
		fail_msg("cat_volume_add: %s", e.msg);
}

static void
set_state(struct fixture *fx, const char *name, int st)
{
	struct cat_volume v;
	struct err e;

	assert_int_equal(cat_volume_get(fx->cat, name, &v, &e), 0);
	v.state = st;
	assert_int_equal(cat_volume_update(fx->cat, &v, &e), 0);
}

static int
state_of(struct fixture *fx, const char *name, char *loc, size_t len)
{
	struct cat_volume v;
	struct err e;

	assert_int_equal(cat_volume_get(fx->cat, name, &v, &e), 0);
	if (loc != NULL)
		snprintf(loc, len, "%s", v.location);
	return v.state;
}

/* ---- device classes ---- */

static void
adm_devclass_define_query_update_delete(void **state)
{
	struct fixture *fx = *state;

	RUN_OK(fx, "def dev filedev devt=file dir=%s maxcap=512m", fx->vols);
	assert_msg(&fx->res, "ANR2203I");
	RUN_OK(fx, "q dev");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_ROWS);
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "devclass_name"), "FILEDEV");
	assert_string_equal(cell(&fx->res, 0, "devtype"), "FILE");
	assert_string_equal(cell(&fx->res, 0, "directory"), fx->vols);
	assert_string_equal(cell(&fx->res, 0, "maxcapacity"), "536870912");
	assert_string_equal(cell(&fx->res, 0, "volumes"), "0");

	RUN_OK(fx, "UPDATE DEVCLASS FileDev MAXCAPACITY=1G");
	assert_msg(&fx->res, "ANR2205I");
	RUN_OK(fx, "query devclass file*");
	assert_string_equal(cell(&fx->res, 0, "maxcapacity"), "1073741824");
	/* The default capacity is TSM's 2G. */
	RUN_OK(fx, "define devclass other devtype=FILE directory=%s",
	    fx->vols);
	RUN_OK(fx, "q devclass other");
	assert_string_equal(cell(&fx->res, 0, "maxcapacity"), "2147483648");

	RUN_OK(fx, "del dev other");
	assert_msg(&fx->res, "ANR2204I");
	assert_int_equal(run(fx, "q dev other"), RC_OK);
	assert_msg(&fx->res, "ANR2034I");
}

static void
adm_devclass_errors_say_what_was_expected(void **state)
{
	struct fixture *fx = *state;
	char file[PATH_MAX];

	assert_int_equal(run(fx, "def dev d1 dir=%s", fx->vols), RC_ERROR);
	assert_msg(&fx->res, "ANR2020E");
	assert_int_equal(run(fx, "def dev d1 devt=lto dir=%s", fx->vols),
	    RC_ERROR);
	assert_msg(&fx->res, "FILE");
	assert_int_equal(run(fx, "def dev d1 devt=file dir=relative"),
	    RC_ERROR);
	assert_msg(&fx->res, "absolute");
	assert_int_equal(run(fx, "def dev d1 devt=file dir=%s/none",
	    fx->vols), RC_ERROR);
	assert_msg(&fx->res, "No such file");
	snprintf(file, sizeof(file), "%s/afile", fx->vols);
	assert_int_equal(util_write_atomic(file, "x", 1, 0600, NULL), 0);
	assert_int_equal(run(fx, "def dev d1 devt=file dir=%s", file),
	    RC_ERROR);
	assert_msg(&fx->res, "not a directory");
	assert_int_equal(run(fx, "def dev d1 devt=file dir=%s maxcap=1k",
	    fx->vols), RC_ERROR);
	assert_msg(&fx->res, "MAXCAPACITY");
	assert_int_equal(run(fx, "def dev d1 devt=file dir=%s maxcap=5x",
	    fx->vols), RC_ERROR);
	assert_int_equal(run(fx, "def dev 'bad name' devt=file dir=%s",
	    fx->vols), RC_ERROR);
	RUN_OK(fx, "def dev d1 devt=file dir=%s", fx->vols);
	assert_int_equal(run(fx, "def dev d1 devt=file dir=%s", fx->vols),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR2201E");
	assert_int_equal(run(fx, "upd dev nope maxcap=2g"), RC_ERROR);
	assert_msg(&fx->res, "ANR2202E");
	assert_int_equal(run(fx, "upd dev d1"), RC_ERROR);
	assert_msg(&fx->res, "nothing to update");
	assert_int_equal(run(fx, "del dev nope"), RC_ERROR);
	assert_msg(&fx->res, "ANR2202E");
}

static void
adm_delete_devclass_in_use_is_refused(void **state)
{
	struct fixture *fx = *state;

	RUN_OK(fx, "def dev filedev devt=file dir=%s", fx->vols);
	add_volume(fx, "V1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	assert_int_equal(run(fx, "del dev filedev"), RC_ERROR);
	assert_msg(&fx->res, "ANR2220E");
	assert_msg(&fx->res, "1 volumes");
	RUN_OK(fx, "q dev filedev");
	assert_string_equal(cell(&fx->res, 0, "volumes"), "1");
}

static void
adm_parse_size_takes_binary_units(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(adm_parse_size("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(adm_parse_size("2K", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(adm_parse_size("3m", &v), 0);
	assert_int_equal(v, 3u << 20);
	assert_int_equal(adm_parse_size("2G", &v), 0);
	assert_true(v == (2ULL << 30));
	assert_int_equal(adm_parse_size("1t", &v), 0);
	assert_true(v == (1ULL << 40));
	assert_int_equal(adm_parse_size("1024T", &v), 0);
	assert_int_equal(adm_parse_size("1025T", &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_size("0", &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_size("", &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_size("G", &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_size("1GB", &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_size("-1", &v), COFFER_EINVAL);
	assert_int_equal(adm_parse_size("99999999999999999999", &v),
	    COFFER_EINVAL);
}

/* ---- volume history and DRM media ---- */

static void
adm_query_volhistory_filters_by_type(void **state)
{
	struct fixture *fx = *state;

	add_volume(fx, "DB1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	add_volume(fx, "EX1", CAT_VOL_EXPORT, CAT_DRM_VAULT);
	RUN_OK(fx, "q volh");
	assert_int_equal(fx->res.nrow, 2);
	RUN_OK(fx, "query volhistory type=dbb");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "volume_name"), "DB1");
	assert_string_equal(cell(&fx->res, 0, "type"), "BACKUPFULL");
	assert_string_equal(cell(&fx->res, 0, "devclass"), "FILEDEV");
	assert_string_equal(cell(&fx->res, 0, "seq"), "1");
	assert_null(cell(&fx->res, 0, "node"));
	RUN_OK(fx, "q volh t=export");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "type"), "EXPORT");
	RUN_OK(fx, "q volh t=all");
	assert_int_equal(fx->res.nrow, 2);
	assert_int_equal(run(fx, "q volh type=tape"), RC_ERROR);
	assert_msg(&fx->res, "ANR2022E");
}

static void
adm_query_drmedia_filters_by_name_and_state(void **state)
{
	struct fixture *fx = *state;

	add_volume(fx, "DB1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	add_volume(fx, "DB2", CAT_VOL_DBBACKUP, CAT_DRM_COURIER);
	add_volume(fx, "EX1", CAT_VOL_EXPORT, CAT_DRM_VAULT);
	RUN_OK(fx, "q drm");
	assert_int_equal(fx->res.nrow, 3);
	RUN_OK(fx, "q drm * wherest=courier");
	assert_int_equal(fx->res.nrow, 1);
	assert_string_equal(cell(&fx->res, 0, "volume_name"), "DB2");
	assert_string_equal(cell(&fx->res, 0, "state"), "COURIER");
	assert_string_equal(cell(&fx->res, 0, "type"), "DBBACKUP");
	RUN_OK(fx, "q drm db*");
	assert_int_equal(fx->res.nrow, 2);
	RUN_OK(fx, "q drm ex1");
	assert_string_equal(cell(&fx->res, 0, "type"), "EXPORT");
	assert_int_equal(run(fx, "q drm wherestate=lost"), RC_ERROR);
	assert_msg(&fx->res, "WHERESTATE");
}

/* The legal moves, as drm.h draws them. */
static int
legal(int from, int to)
{
	static const int m[CAT_DRM_NSTATES][CAT_DRM_NSTATES] = {
		{ 0, 1, 1, 1, 0, 0, 0 },
		{ 0, 0, 1, 1, 0, 0, 0 },
		{ 0, 0, 0, 1, 0, 0, 0 },
		{ 0, 0, 0, 0, 1, 0, 0 },
		{ 0, 0, 0, 0, 0, 1, 1 },
		{ 0, 0, 0, 0, 0, 0, 1 },
		{ 1, 0, 0, 0, 0, 0, 0 },
	};
	return m[from][to];
}

static void
adm_move_drmedia_every_move_is_allowed_or_refused(void **state)
{
	struct fixture *fx = *state;
	char want[256], targets[128];

	add_volume(fx, "V1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	for (int from = 0; from < CAT_DRM_NSTATES; from++) {
		for (int to = 0; to < CAT_DRM_NSTATES; to++) {
			int rc;

			set_state(fx, "V1", from);
			rc = run(fx, "move drmedia v1 wherestate=%s "
			    "tostate=%s", drm_state_name(from),
			    drm_state_name(to));
			if (legal(from, to)) {
				if (rc != RC_OK)
					fail_msg("%s -> %s refused: %s",
					    drm_state_name(from),
					    drm_state_name(to),
					    fx->res.msgs[0]);
				assert_msg(&fx->res, "ANR6683I");
				assert_int_equal(state_of(fx, "V1", NULL, 0),
				    to);
				continue;
			}
			if (rc != RC_ERROR)
				fail_msg("%s -> %s allowed",
				    drm_state_name(from), drm_state_name(to));
			/* Named: the volume, its state, where it can go. */
			snprintf(want, sizeof(want), "Volume V1 is in state "
			    "%s and cannot move to %s; from %s it can move "
			    "to %s.", drm_state_name(from),
			    drm_state_name(to), drm_state_name(from),
			    drm_targets(from, targets, sizeof(targets)));
			assert_msg(&fx->res, want);
			assert_int_equal(state_of(fx, "V1", NULL, 0), from);
		}
	}
}

static void
adm_move_drmedia_takes_a_volume_around_the_cycle(void **state)
{
	struct fixture *fx = *state;
	static const int path[] = {
		CAT_DRM_NOTMOUNTABLE, CAT_DRM_COURIER, CAT_DRM_VAULT,
		CAT_DRM_VAULTRETRIEVE, CAT_DRM_COURIERRETRIEVE,
		CAT_DRM_ONSITERETRIEVE, CAT_DRM_MOUNTABLE,
	};
	char loc[256];

	add_volume(fx, "V1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	/* No TOSTATE: each step goes to the next state. */
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		RUN_OK(fx, "mov drm V1");
		assert_int_equal(state_of(fx, "V1", loc, sizeof(loc)),
		    path[i]);
		assert_string_equal(loc, drm_default_location(path[i]));
	}
	/* TOLOCATION replaces the default; QUERY DRMEDIA shows it. */
	RUN_OK(fx, "move drmedia V1 tostate=vault tolocation='Iron Mountain'");
	RUN_OK(fx, "q drmedia V1");
	assert_string_equal(cell(&fx->res, 0, "state"), "VAULT");
	assert_string_equal(cell(&fx->res, 0, "location"), "Iron Mountain");
	assert_non_null(cell(&fx->res, 0, "last_update"));
	/* A volume not in WHERESTATE is not found. */
	assert_int_equal(run(fx, "move drmedia V1 wherestate=courier"),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR6695E");
	assert_int_equal(run(fx, "move drmedia NOSUCH"), RC_ERROR);
	assert_int_equal(run(fx, "move drmedia V1 tostate=nowhere"), RC_ERROR);
	assert_msg(&fx->res, "TOSTATE");
}

static void
adm_move_drmedia_star_moves_every_volume_in_wherestate(void **state)
{
	struct fixture *fx = *state;

	add_volume(fx, "A1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	add_volume(fx, "A2", CAT_VOL_EXPORT, CAT_DRM_MOUNTABLE);
	add_volume(fx, "B1", CAT_VOL_DBBACKUP, CAT_DRM_COURIER);
	/* '*' without WHERESTATE: MOUNTABLE, TSM's default. */
	RUN_OK(fx, "move drmedia * tostate=courier");
	assert_msg(&fx->res, "2 volumes moved");
	assert_int_equal(state_of(fx, "A1", NULL, 0), CAT_DRM_COURIER);
	assert_int_equal(state_of(fx, "A2", NULL, 0), CAT_DRM_COURIER);
	RUN_OK(fx, "move drmedia * wherestate=courier tostate=vault "
	    "tolocation=offsite");
	assert_msg(&fx->res, "3 volumes moved");
	/* WHERELOCATION narrows; an illegal target refuses every one. */
	RUN_OK(fx, "move drmedia * wherest=vault wherelo=offsite");
	assert_int_equal(state_of(fx, "B1", NULL, 0), CAT_DRM_VAULTRETRIEVE);
	assert_int_equal(run(fx, "move drmedia * wherestate=vaultretrieve "
	    "tostate=mountable"), RC_ERROR);
	assert_msg(&fx->res, "Volume A1 is in state VAULTRETRIEVE");
	assert_msg(&fx->res, "Volume B1 is in state VAULTRETRIEVE");
	assert_msg(&fx->res, "0 volumes moved, 3 refused");
	assert_int_equal(run(fx, "move drmedia * wherestate=notmountable"),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR6695E");
}

static int
count_moves(void *arg, const struct cat_actlog_row *r)
{
	if (r->msgno == 6683)
		(*(int *)arg)++;
	return 0;
}

static void
adm_move_drmedia_logs_every_move(void **state)
{
	struct fixture *fx = *state;
	int n = 0;

	add_volume(fx, "A1", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	add_volume(fx, "A2", CAT_VOL_DBBACKUP, CAT_DRM_MOUNTABLE);
	RUN_OK(fx, "move drmedia * wherestate=mountable tostate=vault "
	    "wait=yes");
	assert_int_equal(cat_actlog_query(fx->cat, 0, "was moved from",
	    count_moves, &n, NULL), 0);
	assert_int_equal(n, 2);
}

/* ---- BACKUP DB ---- */

static void
wait_idle(struct fixture *fx)
{
	for (int i = 0; i < 500 && proc_count(fx->procs, NULL) > 0; i++)
		usleep(10000);
	assert_int_equal(proc_count(fx->procs, NULL), 0);
}

static void
adm_backup_db_wait_yes_writes_and_registers_volumes(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX + 32];
	struct stat sb;
	const char *vols;

	RUN_OK(fx, "def dev filedev devt=file dir=%s maxcap=1m", fx->vols);
	RUN_OK(fx, "ba db devc=filedev type=full wait=yes");
	assert_int_equal(fx->res.shape, PROTO_SHAPE_OBJECT);
	assert_msg(&fx->res, "ANR0987I");
	vols = cell(&fx->res, 0, "volumes");
	assert_non_null(vols);
	assert_non_null(strstr(vols, fx->vols));
	assert_int_not_equal(atoll(cell(&fx->res, 0, "bytes")), 0);
	assert_int_not_equal(atoll(cell(&fx->res, 0, "db_bytes")), 0);
	RUN_OK(fx, "q volh type=dbbackup");
	assert_true(fx->res.nrow >= 1);
	assert_string_equal(cell(&fx->res, 0, "seq"), "1");
	assert_string_equal(cell(&fx->res, 0, "devclass"), "FILEDEV");
	RUN_OK(fx, "q drmedia");
	assert_string_equal(cell(&fx->res, 0, "state"), "MOUNTABLE");
	snprintf(path, sizeof(path), "%s/volhist.txt", fx->dir);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/devconfig.txt", fx->dir);
	assert_int_equal(stat(path, &sb), 0);

	/* In the background: the process number, then the same result. */
	RUN_OK(fx, "backup db devclass=filedev");
	assert_msg(&fx->res, "ANR0984I");
	wait_idle(fx);
	RUN_OK(fx, "q volh");
	assert_true(fx->res.nrow >= 2);
}

static void
adm_backup_db_errors_are_named(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(run(fx, "backup db"), RC_ERROR);
	assert_msg(&fx->res, "ANR2020E");
	assert_int_equal(run(fx, "backup db devclass=nope wait=yes"),
	    RC_ERROR);
	assert_msg(&fx->res, "ANR2202E");
	RUN_OK(fx, "def dev filedev devt=file dir=%s", fx->vols);
	assert_int_equal(run(fx, "backup db devclass=filedev type=incr"),
	    RC_ERROR);
	assert_msg(&fx->res, "FULL");
	assert_int_equal(run(fx, "backup db devclass=filedev wait=maybe"),
	    RC_ERROR);
	assert_msg(&fx->res, "WAIT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adm_parse_size_takes_binary_units),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(adm_devclass_define_query_update_delete),
		T(adm_devclass_errors_say_what_was_expected),
		T(adm_delete_devclass_in_use_is_refused),
		T(adm_query_volhistory_filters_by_type),
		T(adm_query_drmedia_filters_by_name_and_state),
		T(adm_move_drmedia_every_move_is_allowed_or_refused),
		T(adm_move_drmedia_takes_a_volume_around_the_cycle),
		T(adm_move_drmedia_star_moves_every_volume_in_wherestate),
		T(adm_move_drmedia_logs_every_move),
		T(adm_backup_db_wait_yes_writes_and_registers_volumes),
		T(adm_backup_db_errors_are_named),
#undef T
	};

	return cmocka_run_group_tests_name("adm_drm", tests, NULL, NULL);
}
