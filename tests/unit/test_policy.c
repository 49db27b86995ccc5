/*
 * test_policy.c - TSM copy-group arithmetic: which versions of one path
 * VEREXISTS, VERDELETED, RETEXTRA and RETONLY keep, case by case.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cat.h"
#include "policy.h"

#define DAY	86400
#define NOW	((int64_t)1700000000)

static struct cat_domain
domain(int verexists, int verdeleted, int retextra, int retonly)
{
	struct cat_domain d;

	memset(&d, 0, sizeof(d));
	strcpy(d.name, "TEST");
	d.verexists = verexists;
	d.verdeleted = verdeleted;
	d.retextra = retextra;
	d.retonly = retonly;
	return d;
}

/* An inactive version deactivated age seconds before NOW. */
static struct policy_version
inactive(int64_t age)
{
	struct policy_version v = { 0, NOW - age, -1 };

	return v;
}

static struct policy_version
active(void)
{
	struct policy_version v = { 1, 0, -1 };

	return v;
}

static void
assert_expired(const struct policy_version *v, size_t n, const int *want)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].expire != want[i])
			fail_msg("version %zu: expire %d, want %d", i,
			    v[i].expire, want[i]);
}

static void
policy_verexists_trims_oldest_inactive(void **state)
{
	struct cat_domain const d = domain(3, 1, CAT_NOLIMIT, 60);
	struct policy_version v[] = { active(), inactive(1 * DAY),
	    inactive(2 * DAY), inactive(3 * DAY), inactive(4 * DAY) };
	static const int want[] = { 0, 0, 0, 1, 1 };

	policy_decide(&d, v, 5, NOW);
	assert_expired(v, 5, want);
}

static void
policy_retextra_expires_old_inactive(void **state)
{
	struct cat_domain const d = domain(CAT_NOLIMIT, 1, 30, 60);
	struct policy_version v[] = { active(), inactive(10 * DAY),
	    inactive(40 * DAY), inactive(400 * DAY) };
	static const int want[] = { 0, 0, 1, 1 };

	policy_decide(&d, v, 4, NOW);
	assert_expired(v, 4, want);
}

static void
policy_deleted_file_keeps_verdeleted(void **state)
{
	struct cat_domain const d = domain(5, 2, 30, 60);
	struct policy_version v[] = { inactive(1 * DAY), inactive(2 * DAY),
	    inactive(3 * DAY) };
	static const int want[] = { 0, 0, 1 };

	policy_decide(&d, v, 3, NOW);
	assert_expired(v, 3, want);
}

static void
policy_retonly_governs_last_version_of_deleted_file(void **state)
{
	struct cat_domain const d = domain(2, 1, 30, 60);
	struct policy_version young[] = { inactive(45 * DAY) };
	struct policy_version old[] = { inactive(61 * DAY) };

	/* 45 days: past RETEXTRA, but RETONLY (60) is what applies. */
	policy_decide(&d, young, 1, NOW);
	assert_int_equal(young[0].expire, 0);
	policy_decide(&d, old, 1, NOW);
	assert_int_equal(old[0].expire, 1);
}

static void
policy_deleted_file_older_versions_follow_retextra(void **state)
{
	struct cat_domain const d = domain(5, 5, 30, 60);
	struct policy_version v[] = { inactive(10 * DAY), inactive(20 * DAY),
	    inactive(40 * DAY) };
	static const int want[] = { 0, 0, 1 };

	policy_decide(&d, v, 3, NOW);
	assert_expired(v, 3, want);
}

static void
policy_nolimit_keeps_everything(void **state)
{
	struct cat_domain const d = domain(CAT_NOLIMIT, CAT_NOLIMIT,
	    CAT_NOLIMIT, CAT_NOLIMIT);
	struct policy_version v[10], w[10];
	static const int want[10] = { 0 };

	v[0] = active();
	for (int i = 1; i < 10; i++)
		v[i] = inactive((int64_t)i * 1000 * DAY);
	for (int i = 0; i < 10; i++)
		w[i] = inactive((int64_t)(i + 1) * 1000 * DAY);
	policy_decide(&d, v, 10, NOW);
	assert_expired(v, 10, want);
	policy_decide(&d, w, 10, NOW);	/* deleted file: same */
	assert_expired(w, 10, want);
}

static void
policy_verdeleted_zero_expires_all_inactive_of_deleted_file(void **state)
{
	struct cat_domain const d = domain(2, 0, CAT_NOLIMIT, CAT_NOLIMIT);
	struct policy_version v[] = { inactive(0), inactive(1 * DAY),
	    inactive(2 * DAY) };
	static const int want[] = { 1, 1, 1 };

	policy_decide(&d, v, 3, NOW);
	assert_expired(v, 3, want);
}

static void
policy_active_version_never_expires(void **state)
{
	struct cat_domain const d = domain(1, 0, 0, 0);
	struct policy_version v[] = { active(), inactive(0) };
	static const int want[] = { 0, 1 };

	/* VEREXISTS 1 leaves room for the active version only. */
	policy_decide(&d, v, 2, NOW);
	assert_expired(v, 2, want);
	/* Alone, with every limit at its smallest, it still stays. */
	policy_decide(&d, v, 1, NOW + 10000 * (int64_t)DAY);
	assert_int_equal(v[0].expire, 0);
}

static void
policy_exact_retextra_boundary_is_kept(void **state)
{
	struct cat_domain const d = domain(CAT_NOLIMIT, 1, 30, 60);
	struct policy_version v[] = { active(), inactive(30 * DAY),
	    inactive(30 * DAY + 1) };
	static const int want[] = { 0, 0, 1 };

	policy_decide(&d, v, 3, NOW);
	assert_expired(v, 3, want);
}

static void
policy_exact_retonly_boundary_is_kept(void **state)
{
	struct cat_domain const d = domain(2, 1, 30, 60);
	struct policy_version v[] = { inactive(60 * DAY) };

	policy_decide(&d, v, 1, NOW);
	assert_int_equal(v[0].expire, 0);
	policy_decide(&d, v, 1, NOW + 1);
	assert_int_equal(v[0].expire, 1);
}

static void
policy_count_and_age_both_apply(void **state)
{
	struct cat_domain const d = domain(4, 2, 14, 30);
	/* Count keeps 3 inactive; age lets only the 2 newest stay. */
	struct policy_version v[] = { active(), inactive(1 * DAY),
	    inactive(7 * DAY), inactive(20 * DAY), inactive(21 * DAY) };
	static const int want[] = { 0, 0, 0, 1, 1 };

	policy_decide(&d, v, 5, NOW);
	assert_expired(v, 5, want);
}

static void
policy_zero_days_expire_at_the_next_run(void **state)
{
	struct cat_domain const d = domain(2, 1, 0, 0);
	struct policy_version v[] = { active(), inactive(0) };
	struct policy_version g[] = { inactive(0) };	/* deleted file */
	static const int want[] = { 0, 1 }, wantg[] = { 1 };

	(void)state;
	policy_decide(&d, v, 2, NOW);
	assert_expired(v, 2, want);
	policy_decide(&d, g, 1, NOW);
	assert_expired(g, 1, wantg);
}

static void
policy_no_versions_is_a_no_op(void **state)
{
	struct cat_domain const d = domain(2, 1, 30, 60);

	policy_decide(&d, NULL, 0, NOW);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_verexists_trims_oldest_inactive),
		cmocka_unit_test(policy_retextra_expires_old_inactive),
		cmocka_unit_test(policy_deleted_file_keeps_verdeleted),
		cmocka_unit_test(
		    policy_retonly_governs_last_version_of_deleted_file),
		cmocka_unit_test(
		    policy_deleted_file_older_versions_follow_retextra),
		cmocka_unit_test(policy_nolimit_keeps_everything),
#define T(f) cmocka_unit_test(f)
		T(policy_verdeleted_zero_expires_all_inactive_of_deleted_file),
#undef T
		cmocka_unit_test(policy_active_version_never_expires),
		cmocka_unit_test(policy_exact_retextra_boundary_is_kept),
		cmocka_unit_test(policy_exact_retonly_boundary_is_kept),
		cmocka_unit_test(policy_count_and_age_both_apply),
		cmocka_unit_test(policy_zero_days_expire_at_the_next_run),
		cmocka_unit_test(policy_no_versions_is_a_no_op),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
