/*
 * test_proto.c - the protocol's shared codecs and rules (common/proto.c):
 * an FS_PAGE entry comes back with its DR fields, a short or hostile one
 * is refused, and filespace names pass only as paths or VM:NAME.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "proto.h"
#include "wire.h"

static void
fs_entry(struct proto_fs *f, const char *name, const char *type)
{
	memset(f, 0, sizeof(*f));
	f->id = 42;
	f->name = name;
	f->name_len = strlen(name);
	f->type = type;
	f->type_len = strlen(type);
	f->last_start = 1700000000;
	f->last_end = 1700000100;
	f->objects = 3;
	f->bytes = 1u << 30;
	f->drprotect = 1;
	f->drpriority = 9999;
}

static void
proto_fs_round_trip_keeps_dr_fields(void **state)
{
	struct proto_fs in, out;
	struct wire_buf b;
	struct wire_rd r;
	struct err e;

	(void)state;
	wire_buf_init(&b, WIRE_FRAME_MAX);
	fs_entry(&in, "VM:mgmt01", "VM");
	proto_put_fs(&b, &in);
	in.drprotect = 0;
	in.drpriority = 0;
	proto_put_fs(&b, &in);
	assert_int_equal(wire_buf_ok(&b, &e), 0);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_fs(&r, &out, &e), 0);
	assert_int_equal(out.id, 42);
	assert_int_equal(out.name_len, 9);
	assert_memory_equal(out.name, "VM:mgmt01", 9);
	assert_memory_equal(out.type, "VM", 2);
	assert_int_equal(out.last_start, 1700000000);
	assert_int_equal(out.last_end, 1700000100);
	assert_int_equal(out.objects, 3);
	assert_int_equal(out.bytes, 1u << 30);
	assert_int_equal(out.drprotect, 1);
	assert_int_equal(out.drpriority, 9999);
	assert_int_equal(proto_get_fs(&r, &out, &e), 0);
	assert_int_equal(out.drprotect, 0);
	assert_int_equal(out.drpriority, 0);
	assert_int_equal(wire_rd_end(&r, &e), 0);
	wire_buf_free(&b);
}

/* Every cut of an entry fails: the DR fields are required, not optional. */
static void
proto_fs_truncated_entry_is_rejected(void **state)
{
	struct proto_fs in, out;
	struct wire_buf b;
	struct wire_rd r;
	struct err e;

	(void)state;
	wire_buf_init(&b, WIRE_FRAME_MAX);
	fs_entry(&in, "/home", "ext4");
	proto_put_fs(&b, &in);
	/* 8 + (4 + 5) + (4 + 4) + 4 * 8 + 1 + 4 */
	assert_int_equal(b.len, 62);
	for (size_t cut = 0; cut < b.len; cut++) {
		wire_rd_init(&r, b.p, cut);
		if (proto_get_fs(&r, &out, &e) == 0)
			fail_msg("an entry cut to %zu bytes decoded", cut);
	}
	wire_buf_free(&b);
}

static void
proto_fs_hostile_fields_are_rejected(void **state)
{
	struct proto_fs in, out;
	struct wire_buf b;
	struct wire_rd r;
	struct err e;

	(void)state;
	wire_buf_init(&b, WIRE_FRAME_MAX);
	fs_entry(&in, "VM:x", "VM");
	proto_put_fs(&b, &in);
	b.p[b.len - 5] = 2;		/* drprotect is 0 or 1 */
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_fs(&r, &out, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "drprotect"));
	wire_buf_reset(&b);
	fs_entry(&in, "", "VM");	/* a name is never empty */
	proto_put_fs(&b, &in);
	wire_rd_init(&r, b.p, b.len);
	assert_int_not_equal(proto_get_fs(&r, &out, &e), 0);
	wire_buf_reset(&b);
	fs_entry(&in, "/x", "a-type-name-longer-than-31-bytes!");
	proto_put_fs(&b, &in);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_fs(&r, &out, &e), COFFER_EPROTO);
	wire_buf_free(&b);
}

static void
proto_fs_name_check_takes_paths_and_vm_names(void **state)
{
	char longest[PROTO_VM_PREFIX_LEN + PROTO_VM_NAME_MAX + 2];
	struct err e;

	(void)state;
	assert_int_equal(proto_fs_name_check("/", &e), 0);
	assert_int_equal(proto_fs_name_check("/home", &e), 0);
	assert_int_equal(proto_fs_name_check("VM:mgmt01", &e), 0);
	assert_int_equal(proto_fs_name_check("VM:web 01.example-com", &e), 0);
	assert_int_equal(proto_fs_name_check("VM:...", &e), 0);
	snprintf(longest, sizeof(longest), "VM:%0*d", PROTO_VM_NAME_MAX, 7);
	assert_int_equal(proto_fs_name_check(longest, &e), 0);
	assert_true(proto_fs_is_vm("VM:a"));
	assert_false(proto_fs_is_vm("/VM:a"));
	assert_false(proto_fs_is_vm("vm:a"));
}

static void
proto_fs_name_check_names_the_rule_broken(void **state)
{
	char toolong[PROTO_VM_PREFIX_LEN + PROTO_VM_NAME_MAX + 2];
	struct err e;

	(void)state;
	assert_int_equal(proto_fs_name_check("", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "empty"));
	assert_int_equal(proto_fs_name_check("home", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "absolute path or \"VM:NAME\""));
	/* The prefix is case-sensitive, as the rest of the name. */
	assert_int_equal(proto_fs_name_check("vm:mgmt01", &e), COFFER_EINVAL);
	assert_int_equal(proto_fs_name_check("VM:", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "1 to 200 bytes"));
	snprintf(toolong, sizeof(toolong), "VM:%0*d", PROTO_VM_NAME_MAX + 1,
	    7);
	assert_int_equal(proto_fs_name_check(toolong, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "not 201"));
	assert_int_equal(proto_fs_name_check("VM:a/b", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "cannot hold '/'"));
	assert_int_equal(proto_fs_name_check("VM:a\tb", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "0x09"));
	assert_int_equal(proto_fs_name_check("VM:a\x7f", &e), COFFER_EINVAL);
	assert_int_equal(proto_fs_name_check("VM:.", &e), COFFER_EINVAL);
	assert_int_equal(proto_fs_name_check("VM:..", &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "cannot be \".\" or \"..\""));
}

static void
proto_type_names_cover_new_frames(void **state)
{
	(void)state;
	assert_int_equal(PT_TXN_ABORT, 24);
	assert_string_equal(proto_type_name(PT_TXN_ABORT), "TXN_ABORT");
	assert_int_equal(PT_RECIPE_GET, 25);
	assert_string_equal(proto_type_name(PT_RECIPE_GET), "RECIPE_GET");
	assert_int_equal(PROTO_TXN_FINAL, 1);
	assert_int_equal(PROTO_TXN_ATOMIC, 2);
}

/* Feature bits and OBJ_LIST options are pinned: old peers rely on them. */
static void
proto_feature_bits_are_pinned(void **state)
{
	(void)state;
	assert_int_equal(PROTO_FEAT_TXN_STAGE, 1);
	assert_int_equal(PROTO_FEAT_RECIPE_GET, 2);
	assert_int_equal(PROTO_FEAT_LIST_OPTS, 4);
	assert_int_equal(PROTO_LIST_NO_RECIPE, 1);
	assert_string_equal(proto_feature_name(PROTO_FEAT_TXN_STAGE),
	    "TXN_STAGE");
	assert_string_equal(proto_feature_name(PROTO_FEAT_RECIPE_GET),
	    "RECIPE_GET");
	assert_string_equal(proto_feature_name(PROTO_FEAT_LIST_OPTS),
	    "LIST_OPTS");
}

static void
obj_with(struct proto_obj *o, const uint8_t *recipe, size_t len)
{
	memset(o, 0, sizeof(*o));
	o->id = 7;
	o->type = 6;
	o->path = "/disks/vda/000003";
	o->path_len = strlen(o->path);
	o->size = 3u << 16;
	o->recipe = recipe;
	o->recipe_len = len;
}

/*
 * Recipe length only (OBJ_LIST with PROTO_LIST_NO_RECIPE): 4 bytes
 * instead of the recipe, the length decoded, no recipe; a length above
 * the bound and a cut one are refused.
 */
static void
proto_obj_recipe_length_only(void **state)
{
	uint8_t rec[3 * 36];
	struct proto_obj in, out;
	struct wire_buf b, full;
	struct wire_rd r;
	struct err e;

	(void)state;
	memset(rec, 0xab, sizeof(rec));
	obj_with(&in, rec, sizeof(rec));
	wire_buf_init(&b, WIRE_FRAME_MAX);
	wire_buf_init(&full, WIRE_FRAME_MAX);
	proto_put_obj(&b, &in, PROTO_OBJ_RECIPE_LEN);
	proto_put_obj(&full, &in, PROTO_OBJ_RECIPE);
	assert_int_equal(b.len + sizeof(rec), full.len);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_obj(&r, &out, PROTO_OBJ_RECIPE_LEN, &e), 0);
	assert_int_equal(out.recipe_len, sizeof(rec));
	assert_null(out.recipe);
	assert_int_equal(out.size, 3u << 16);
	assert_int_equal(wire_rd_end(&r, &e), 0);

	wire_rd_init(&r, b.p, b.len - 1);
	assert_int_not_equal(proto_get_obj(&r, &out, PROTO_OBJ_RECIPE_LEN,
	    &e), 0);

	wire_buf_reset(&b);
	obj_with(&in, NULL, PROTO_RECIPE_MAX + 1);
	proto_put_obj(&b, &in, PROTO_OBJ_RECIPE_LEN);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_obj(&r, &out, PROTO_OBJ_RECIPE_LEN, &e),
	    COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "recipe length"));
	wire_buf_free(&b);
	wire_buf_free(&full);
}

/* ---- scheduler frames ---- */

static void
proto_sched_next_round_trip(void **state)
{
	struct proto_sched_next n, m;
	struct wire_buf b;
	struct wire_rd r;
	struct err e;

	(void)state;
	memset(&n, 0, sizeof(n));
	n.now = 1700000000;
	n.poll_s = 30;
	n.randomize = 25;
	n.has = 1;
	n.domain = "STANDARD";
	n.domain_len = 8;
	n.schedule = "NIGHTLY";
	n.schedule_len = 7;
	n.action = "INCREMENTAL";
	n.action_len = 11;
	n.objects = "/home '/a b'";
	n.objects_len = strlen(n.objects);
	n.start = 1700000100;
	n.end = 1700003700;
	wire_buf_init(&b, 1u << 16);
	proto_put_sched_next(&b, &n);
	assert_int_equal(wire_buf_ok(&b, &e), 0);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_next(&r, &m, &e), 0);
	assert_true(m.now == n.now && m.poll_s == 30 && m.randomize == 25);
	assert_int_equal(m.has, 1);
	assert_memory_equal(m.schedule, "NIGHTLY", 7);
	assert_int_equal(m.options_len, 0);
	assert_true(m.start == n.start && m.end == n.end);
	/* Every shorter prefix is refused, never read past. */
	for (size_t cut = 0; cut < b.len; cut++) {
		wire_rd_init(&r, b.p, cut);
		assert_int_not_equal(proto_get_sched_next(&r, &m, &e), 0);
	}
	/* A window that ends before it starts. */
	n.end = n.start;
	wire_buf_reset(&b);
	proto_put_sched_next(&b, &n);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_next(&r, &m, &e), COFFER_EPROTO);
	/* No window: the settings alone. */
	n.has = 0;
	wire_buf_reset(&b);
	proto_put_sched_next(&b, &n);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_next(&r, &m, &e), 0);
	assert_int_equal(m.has, 0);
	wire_buf_free(&b);
}

static void
proto_sched_report_hostile_fields_are_rejected(void **state)
{
	struct proto_sched_report p, q;
	struct wire_buf b;
	struct wire_rd r;
	struct err e;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.domain = "STANDARD";
	p.domain_len = 8;
	p.schedule = "NIGHTLY";
	p.schedule_len = 7;
	p.start = 1700000100;
	p.phase = PROTO_SCHED_ENDED;
	p.rc = 4;
	p.message = "2 of 9 objects failed";
	p.message_len = strlen(p.message);
	wire_buf_init(&b, 1u << 16);
	proto_put_sched_report(&b, &p);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_report(&r, &q, &e), 0);
	assert_int_equal(q.rc, 4);
	assert_int_equal(q.phase, PROTO_SCHED_ENDED);
	assert_true(q.start == p.start);
	p.phase = 3;
	wire_buf_reset(&b);
	proto_put_sched_report(&b, &p);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_report(&r, &q, &e), COFFER_EPROTO);
	assert_non_null(strstr(e.msg, "phase 3"));
	p.phase = PROTO_SCHED_STARTED;
	p.rc = 13;
	wire_buf_reset(&b);
	proto_put_sched_report(&b, &p);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_report(&r, &q, &e), COFFER_EPROTO);
	p.rc = 0;
	p.schedule_len = 0;
	wire_buf_reset(&b);
	proto_put_sched_report(&b, &p);
	wire_rd_init(&r, b.p, b.len);
	assert_int_equal(proto_get_sched_report(&r, &q, &e), COFFER_EPROTO);
	assert_string_equal(proto_type_name(PT_SCHED_REPORT), "SCHED_REPORT");
	wire_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proto_fs_round_trip_keeps_dr_fields),
		cmocka_unit_test(proto_fs_truncated_entry_is_rejected),
		cmocka_unit_test(proto_fs_hostile_fields_are_rejected),
		cmocka_unit_test(proto_fs_name_check_takes_paths_and_vm_names),
		cmocka_unit_test(proto_fs_name_check_names_the_rule_broken),
		cmocka_unit_test(proto_type_names_cover_new_frames),
		cmocka_unit_test(proto_feature_bits_are_pinned),
		cmocka_unit_test(proto_obj_recipe_length_only),
		cmocka_unit_test(proto_sched_next_round_trip),
		cmocka_unit_test(proto_sched_report_hostile_fields_are_rejected),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
