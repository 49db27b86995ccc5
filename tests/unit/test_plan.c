/*
 * test_plan.c - the recovery plan (server/plan.c): VM restore order, time
 * estimates, plan names and retention on a temporary directory, and a
 * whole plan written from a real catalog, read as an administrator would.
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
#include <time.h>
#include <unistd.h>

#include "cat.h"
#include "err.h"
#include "plan.h"
#include "util.h"

#define HOUR	3600
#define MIB	(1024 * 1024)

struct fixture {
	char		 dir[64];
	char		 db[PATH_MAX];
	struct cat	*cat;
	int64_t		 now;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/coffer-plan-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/catalog.db", fx->dir);
	if (cat_open(fx->db, &fx->cat, &e) != 0)
		fail_msg("cat_open: %s", e.msg);
	fx->now = (int64_t)time(NULL);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	cat_close(fx->cat);
	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static struct plan_vm
vm(const char *node, const char *name, uint32_t prio)
{
	struct plan_vm v;

	memset(&v, 0, sizeof(v));
	snprintf(v.node, sizeof(v.node), "%s", node);
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.drpriority = prio;
	return v;
}

/* Priority 1 first ("management first"), unset last, then by name. */
static void
plan_vms_sort_by_priority_then_name(void **state)
{
	struct plan_vm v[5];

	(void)state;
	v[0] = vm("HV2", "cust02", 2);
	v[1] = vm("HV1", "web01", 0);
	v[2] = vm("HV1", "cust01", 2);
	v[3] = vm("HV2", "mgmt01", 1);
	v[4] = vm("HV1", "backup", 10);
	plan_vm_sort(v, 5);
	assert_string_equal(v[0].name, "mgmt01");
	assert_string_equal(v[1].name, "cust01");
	assert_string_equal(v[2].name, "cust02");
	assert_string_equal(v[3].name, "backup");
	assert_string_equal(v[4].name, "web01");
}

static void
plan_restore_time_rounds_up(void **state)
{
	(void)state;
	assert_int_equal(plan_restore_s(0, 100.0 * MIB), 0);
	assert_int_equal(plan_restore_s(1, 100.0 * MIB), 1);
	assert_int_equal(plan_restore_s(200 * (uint64_t)MIB, 100.0 * MIB), 2);
	assert_int_equal(plan_restore_s(201 * (uint64_t)MIB, 100.0 * MIB), 3);
	/* No rate: the default, 100 MiB/s. */
	assert_int_equal(plan_restore_s(1000 * (uint64_t)MIB, 0), 10);
}

static void
plan_file_name_is_prefix_and_stamp(void **state)
{
	char buf[64];
	struct tm tm;
	time_t t;

	(void)state;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 11;
	tm.tm_mday = 2;
	tm.tm_hour = 3;
	tm.tm_min = 4;
	tm.tm_sec = 5;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	assert_int_equal(plan_file_name("/srv/plans/", (int64_t)t, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/plans/20261202.030405");
	assert_int_equal(plan_file_name("/srv/rpf.", (int64_t)t, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/rpf.20261202.030405");
	assert_int_equal(plan_file_name("/a/very/long/prefix/", (int64_t)t,
	    buf, 20), COFFER_ETOOBIG);
}

static void
touch(const char *dir, const char *name)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
}

static int
exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

/* The oldest plans go; files that are not plans of the prefix stay. */
static void
plan_prune_keeps_the_newest_plans_only(void **state)
{
	struct fixture *fx = *state;
	char prefix[PATH_MAX];
	size_t deleted;
	struct err e;

	touch(fx->dir, "rpf.20261201.000000");
	touch(fx->dir, "rpf.20261130.235959");
	touch(fx->dir, "rpf.20261202.120000");
	touch(fx->dir, "rpf.20261202.120000.tmp");
	touch(fx->dir, "rpf.notes");
	touch(fx->dir, "other.20250101.000000");
	snprintf(prefix, sizeof(prefix), "%s/rpf.", fx->dir);
	assert_int_equal(plan_prune(prefix, 2, &deleted, &e), 0);
	assert_int_equal(deleted, 1);
	assert_false(exists(fx->dir, "rpf.20261130.235959"));
	assert_true(exists(fx->dir, "rpf.20261201.000000"));
	assert_true(exists(fx->dir, "rpf.20261202.120000"));
	assert_true(exists(fx->dir, "rpf.20261202.120000.tmp"));
	assert_true(exists(fx->dir, "rpf.notes"));
	assert_true(exists(fx->dir, "other.20250101.000000"));
	assert_int_equal(plan_prune(prefix, 2, &deleted, &e), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(plan_prune(prefix, 1, &deleted, &e), 0);
	assert_int_equal(deleted, 1);
	assert_true(exists(fx->dir, "rpf.20261202.120000"));
}

static void
add_node(struct fixture *fx, const char *name, int64_t rpo_s,
    int64_t last_backup)
{
	struct cat_account a;
	struct err e;

	memset(&a, 0, sizeof(a));
	a.kind = CAT_KIND_NODE;
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.pwhash, sizeof(a.pwhash), "x");
	snprintf(a.domain, sizeof(a.domain), "STANDARD");
	a.rpo_s = rpo_s;
	a.last_backup = last_backup;
	a.registered = fx->now - 100 * HOUR;
	if (cat_account_add(fx->cat, &a, &e) != 0)
		fail_msg("node %s: %s", name, e.msg);
}

/* A VM filespace with one disk of size bytes, DR-protected at prio. */
static void
add_vm(struct fixture *fx, const char *node, const char *name,
    uint64_t size, uint32_t prio)
{
	char fs[128], path[128];
	struct cat_obj o;
	uint64_t id;
	struct err e;

	snprintf(fs, sizeof(fs), "VM:%s", name);
	snprintf(path, sizeof(path), "/%s-root.raw", name);
	if (cat_fs_open(fx->cat, node, fs, "VM", &id, &e) != 0)
		fail_msg("filespace %s: %s", fs, e.msg);
	memset(&o, 0, sizeof(o));
	o.fs_id = id;
	o.path = path;
	o.type = CAT_OBJ_VMDISK;
	o.state = CAT_ACTIVE;
	o.inserted = fx->now - HOUR;
	o.size = size;
	o.mode = 0100600;
	if (cat_obj_insert(fx->cat, &o, &e) != 0)
		fail_msg("object %s: %s", path, e.msg);
	if (prio > 0 && cat_fs_set_dr(fx->cat, id, 1, prio, &e) != 0)
		fail_msg("dr %s: %s", fs, e.msg);
}

static void
add_volume(struct fixture *fx, const char *name, int kind, uint8_t set,
    int state)
{
	struct cat_volume v;
	struct err e;

	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.path, sizeof(v.path), "%s/vols/%s.vol", fx->dir, name);
	snprintf(v.devclass, sizeof(v.devclass), "FILEDEV");
	v.kind = kind;
	memset(v.set_uuid, set, sizeof(v.set_uuid));
	v.seq = 1;
	v.state = state;
	snprintf(v.location, sizeof(v.location), "%s",
	    state == CAT_DRM_VAULT ? "IRONMTN" : "");
	v.created = fx->now - 60;
	v.state_changed = v.created;
	if (cat_volume_add(fx->cat, &v, &e) != 0)
		fail_msg("volume %s: %s", name, e.msg);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The line of text that holds s, into line. */
static const char *
line_with(const char *text, const char *s, char *line, size_t len)
{
	const char *p = strstr(text, s), *b, *end;

	if (p == NULL)
		return NULL;
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	end = strchr(p, '\n');
	snprintf(line, len, "%.*s", (int)(end ? end - b : (long)strlen(b)),
	    b);
	return line;
}

static void
prepare(struct fixture *fx, struct plan_report *rep, char **text)
{
	char prefix[PATH_MAX];
	struct plan_params p;
	struct err e;

	snprintf(prefix, sizeof(prefix), "%s/plans/", fx->dir);
	assert_int_equal(util_mkdir_p(prefix, 0700, &e), 0);
	memset(&p, 0, sizeof(p));
	p.prefix = prefix;
	p.keep = 3;
	p.dir = fx->dir;
	p.listen = "127.0.0.1";
	p.port = 1500;
	p.now = fx->now;
	if (plan_prepare(fx->cat, &p, NULL, rep, &e) != 0)
		fail_msg("plan_prepare: %s", e.msg);
	*text = slurp(rep->file);
}

/*
 * What an administrator checks in the plan: every node, the one that
 * misses its RPO flagged, VMs in priority order with times at the
 * measured rate, the DB backup volumes with their states, both
 * runbooks, the RTO verdict; stanzas balanced; 80 columns; mode 0600.
 */
static void
plan_from_the_catalog_says_what_to_do(void **state)
{
	struct fixture *fx = *state;
	struct plan_report rep;
	char *text, line[256], *mg, *cu;
	struct stat st;
	struct err e;

	add_node(fx, "WEB01", 24 * HOUR, fx->now - 2 * HOUR);
	add_node(fx, "DB01", HOUR, fx->now - 26 * HOUR - 600);
	add_node(fx, "HV1", 0, fx->now - HOUR);
	add_vm(fx, "HV1", "cust01", 400 * (uint64_t)MIB, 2);
	add_vm(fx, "HV1", "mgmt01", 100 * (uint64_t)MIB, 1);
	add_vm(fx, "HV1", "scratch", 10 * (uint64_t)MIB, 0);
	add_volume(fx, "DBB001", CAT_VOL_DBBACKUP, 1, CAT_DRM_VAULT);
	add_volume(fx, "EXP001", CAT_VOL_EXPORT, 2, CAT_DRM_COURIER);
	/* 50 MiB/s measured: mgmt01 2 s, cust01 8 s. */
	assert_int_equal(cat_restore_add(fx->cat, fx->now, "HV1",
	    100 * (uint64_t)MIB, 2.0, &e), 0);
	assert_int_equal(cat_setting_set(fx->cat, "rto", "3600", &e), 0);
	assert_int_equal(cat_setting_set(fx->cat, "name", "PRIMARY", &e), 0);
	prepare(fx, &rep, &text);

	assert_int_equal(rep.nodes, 3);
	assert_int_equal(rep.nodes_missing_rpo, 1);
	assert_int_equal(rep.vms, 2);
	assert_int_equal(rep.volumes, 1);
	assert_true(rep.measured);
	assert_int_equal(rep.rto_s, 3600);
	/* Fixed steps alone pass an hour: the RTO is missed. */
	assert_int_equal(rep.rto_met, 0);
	assert_int_equal(stat(rep.file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_non_null(line_with(text, "DB01   ", line, sizeof(line)));
	assert_non_null(strstr(line, "*** MISSED ***"));
	assert_non_null(line_with(text, "WEB01   ", line, sizeof(line)));
	assert_non_null(strstr(line, "MET"));
	assert_null(strstr(line, "MISSED"));
	assert_non_null(strstr(text, "*** 1 MISS IT ***: DB01"));
	assert_non_null(strstr(text, "26h 10m old"));
	mg = strstr(text, " mgmt01 ");
	cu = strstr(text, " cust01 ");
	assert_non_null(mg);
	assert_non_null(cu);
	assert_true(mg < cu);
	assert_null(strstr(text, "scratch"));	/* not DR-protected */
	assert_non_null(strstr(text, "50.0 MiB/s, measured over the last 1 "
	    "restore(s)"));
	assert_non_null(line_with(text, " mgmt01 ", line, sizeof(line)));
	assert_non_null(strstr(line, "2s"));
	assert_non_null(line_with(text, "DBB001 ", line, sizeof(line)));
	assert_non_null(strstr(line, "VAULT"));
	assert_non_null(strstr(line, "IRONMTN"));
	assert_non_null(strstr(text, "--volumes DBB001.vol"));
	assert_non_null(line_with(text, "EXP001 ", line, sizeof(line)));
	assert_non_null(strstr(line, "COURIER"));
	assert_non_null(strstr(text, "RTO: 1h -> *** MISSED ***"));
	assert_non_null(strstr(text, "restore vm mgmt01"));

	{
		static const char *const stanzas[] = { "PLAN.SUMMARY",
		    "SERVERS", "RECOVERY.VOLUMES.REQUIRED", "DEVICE.CLASSES",
		    "STORAGE.POOLS", "NODES", "VM.RESTORE.ORDER", "RTO",
		    "RECOVERY.SCRIPT.FAILOVER", "RECOVERY.SCRIPT.FAILBACK",
		    "VOLUME.HISTORY" };
		const char *prev = text;

		for (size_t i = 0; i < sizeof(stanzas) / sizeof(*stanzas);
		    i++) {
			char b[64], en[64];
			const char *pb, *pe;

			snprintf(b, sizeof(b), "\nbegin %s\n", stanzas[i]);
			snprintf(en, sizeof(en), "\nend %s\n", stanzas[i]);
			pb = strstr(text, b);
			pe = strstr(text, en);
			if (pb == NULL || pe == NULL || pb > pe || pb < prev)
				fail_msg("stanza %s missing or out of order",
				    stanzas[i]);
			prev = pe;
		}
	}
	{
		int nlong = 0;

		for (const char *p = text; *p != '\0';) {
			size_t const n = strcspn(p, "\n");

			if (n > PLAN_WIDTH) {
				print_message("longer than %d: %.*s\n",
				    PLAN_WIDTH, (int)n, p);
				nlong++;
			}
			p += n + (p[n] == '\n');
		}
		assert_int_equal(nlong, 0);
	}
	/* Secrets come from the environment, never from the plan. */
	assert_non_null(strstr(text, "$COFFER_EXPORT_KEY"));
	free(text);
}

/* No DB backup, no nodes, no RTO: the plan says so loudly. */
static void
plan_of_an_empty_server_warns(void **state)
{
	struct fixture *fx = *state;
	struct plan_report rep;
	char *text;

	prepare(fx, &rep, &text);
	assert_int_equal(rep.nodes, 0);
	assert_int_equal(rep.rto_met, -1);
	assert_false(rep.measured);
	assert_non_null(strstr(text, "NO DATABASE BACKUP EXISTS"));
	assert_non_null(strstr(text, "NO REPLICATION SERVER IS SET"));
	assert_non_null(strstr(text, "default: no restore measured yet"));
	assert_non_null(strstr(text, "RTO: none set"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_vms_sort_by_priority_then_name),
		cmocka_unit_test(plan_restore_time_rounds_up),
		cmocka_unit_test(plan_file_name_is_prefix_and_stamp),
		cmocka_unit_test_setup_teardown(
		    plan_prune_keeps_the_newest_plans_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    plan_from_the_catalog_says_what_to_do, setup, teardown),
		cmocka_unit_test_setup_teardown(plan_of_an_empty_server_warns,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
