/*
 * test_prom.c - the strict Prometheus text checker (tests/integration/
 * prom.c): what it accepts, and one rejected example per rule, so that a
 * checker accepting everything fails here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prom.h"

#define G	"# HELP m A gauge.\n# TYPE m gauge\n"
#define C	"# HELP m_total A counter.\n# TYPE m_total counter\n"

static int
parse(const char *text)
{
	struct prom_error pe;
	int const r = prom_parse(text, strlen(text), NULL, &pe);

	if (r != 0)
		print_message("    rejected (line %d): %s\n", pe.line, pe.msg);
	return r;
}

#define GOOD(text)	assert_int_equal(parse(text), 0)
#define BAD(text)	assert_int_equal(parse(text), -1)

static void
prom_exposition_like_cofferd_is_accepted(void **state)
{
	(void)state;
	GOOD("# HELP coffer_up 1 when up.\n# TYPE coffer_up gauge\n"
	    "coffer_up 1\n"
	    "# HELP coffer_sent_bytes_total Bytes, with \\\\ and \\n.\n"
	    "# TYPE coffer_sent_bytes_total counter\n"
	    "coffer_sent_bytes_total 12345 1700000000000\n"
	    "# a comment\n\n"
	    "# HELP coffer_node_rpo_met Met.\n"
	    "# TYPE coffer_node_rpo_met gauge\n"
	    "coffer_node_rpo_met{node=\"WEB01\"} 1\n"
	    "coffer_node_rpo_met{node=\"a\\\"b\\\\c\\nd\",site=\"here\",} 0\n"
	    "# HELP h A histogram.\n# TYPE h histogram\n"
	    "h_bucket{le=\"+Inf\"} 3\nh_sum 1.5\nh_count 3\n"
	    "# HELP empty No samples.\n# TYPE empty gauge\n");
	GOOD("");
}

static void
prom_go_float_spellings_are_accepted(void **state)
{
	static const char *const ok[] = { "1", "-1", "+1", "1.5", ".5", "5.",
	    "1e-5", "1E+5", "-0", "NaN", "nan", "+Inf", "-Inf", "Inf",
	    "infinity", "-Infinity", "1e-400" };
	static const char *const bad[] = { "", "1.2.3", "0x10", "1_000",
	    "+NaN", "1e999", "abc", "1e", ".", "e5", "--1", "1,5", "Infx" };
	double v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		assert_int_equal(prom_parse_float(ok[i], strlen(ok[i]), &v), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (prom_parse_float(bad[i], strlen(bad[i]), &v) == 0)
			fail_msg("'%s' accepted as a float", bad[i]);
	}
	assert_int_equal(prom_parse_float("-Inf", 4, &v), 0);
	assert_true(isinf(v) && v < 0);
	assert_int_equal(prom_parse_float("2.5e3", 5, &v), 0);
	assert_true(v == 2500.0);
}

static void
prom_bad_metric_name_is_rejected(void **state)
{
	(void)state;
	assert_false(prom_metric_name_ok("9x", 2));
	assert_false(prom_metric_name_ok("a-b", 3));
	assert_true(prom_metric_name_ok("a:b_c9", 6));
	BAD("# HELP 9x Help.\n# TYPE 9x gauge\n9x 1\n");
	BAD(G "m-x 1\n");
	BAD(G "m\xc3\xa9 1\n");
}

static void
prom_bad_label_name_is_rejected(void **state)
{
	(void)state;
	assert_false(prom_label_name_ok("a:b", 3));
	assert_false(prom_label_name_ok("__name", 6));
	BAD(G "m{9x=\"a\"} 1\n");
	BAD(G "m{__x=\"a\"} 1\n");
	BAD(G "m{a:b=\"a\"} 1\n");
	BAD(G "m{=\"a\"} 1\n");
}

static void
prom_label_twice_is_rejected(void **state)
{
	(void)state;
	BAD(G "m{a=\"1\",a=\"2\"} 1\n");
}

static void
prom_bad_escape_is_rejected(void **state)
{
	(void)state;
	BAD(G "m{a=\"\\q\"} 1\n");
	BAD("# HELP m Bad \\t escape.\n# TYPE m gauge\nm 1\n");
	BAD("# HELP m Trailing \\\n# TYPE m gauge\nm 1\n");
}

static void
prom_unquoted_label_value_is_rejected(void **state)
{
	(void)state;
	BAD(G "m{a=b} 1\n");
	BAD(G "m{a='b'} 1\n");
	BAD(G "m{a=\"b} 1\n");	/* no closing quote */
	BAD(G "m{a=\"b\\\"} 1\n");
	BAD(G "m{a=\"b\" c=\"d\"} 1\n");	/* no comma */
}

static void
prom_sample_before_type_is_rejected(void **state)
{
	(void)state;
	BAD("m 1\n");
	BAD("# HELP m Help only.\nm 1\n");
	BAD("# TYPE m gauge\nm 1\n");		/* no HELP */
	BAD("m 1\n" G);
}

static void
prom_type_or_help_twice_is_rejected(void **state)
{
	(void)state;
	BAD(G "# TYPE m gauge\nm 1\n");
	BAD(G "# HELP m Again.\nm 1\n");
	BAD(G "m 1\n# TYPE m gauge\n");
	BAD(G "m 1\n# HELP m Late.\n");
}

static void
prom_unknown_type_is_rejected(void **state)
{
	(void)state;
	BAD("# HELP m H.\n# TYPE m gaugez\nm 1\n");
	BAD("# HELP m H.\n# TYPE m\nm 1\n");
	BAD("# HELP m H.\n# TYPE m Gauge\nm 1\n");
}

static void
prom_family_split_in_two_groups_is_rejected(void **state)
{
	(void)state;
	BAD(G "m{a=\"1\"} 1\n# HELP n N.\n# TYPE n gauge\nn 1\n"
	    "m{a=\"2\"} 1\n");
}

static void
prom_bad_value_is_rejected(void **state)
{
	(void)state;
	BAD(G "m 1.2.3\n");
	BAD(G "m 0x10\n");
	BAD(G "m\n");
	BAD(G "m \n");
	BAD(G "m one\n");
	BAD(G "m 1 1.5\n");	/* a timestamp is an integer */
	BAD(G "m 1 2 3\n");
	GOOD(G "m NaN\n");
	GOOD(G "m{a=\"x\"} +Inf 1700000000000\n");
}

static void
prom_duplicate_series_is_rejected(void **state)
{
	(void)state;
	BAD(G "m 1\nm 2\n");
	BAD(G "m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 2\n");
	GOOD(G "m{a=\"1\"} 1\nm{a=\"2\"} 2\nm 3\n");
}

static void
prom_counter_naming_is_enforced(void **state)
{
	(void)state;
	GOOD(C "m_total 1\n");
	BAD("# HELP m A counter.\n# TYPE m counter\nm 1\n");
	BAD("# HELP m_total A gauge.\n# TYPE m_total gauge\nm_total 1\n");
	BAD(C "m_total -1\n");
}

static void
prom_missing_trailing_newline_is_rejected(void **state)
{
	static const char nul[] = G "m 1\n\0\n";
	struct prom_error pe;

	(void)state;
	BAD(G "m 1");
	BAD(G "m 1\nm2 2");
	/* A NUL byte, which strlen() would hide. */
	assert_int_equal(prom_parse(nul, sizeof(nul) - 1, NULL, &pe), -1);
}

static void
prom_content_type_is_checked(void **state)
{
	(void)state;
	assert_true(prom_content_type_ok("text/plain; version=0.0.4; "
	    "charset=utf-8"));
	assert_true(prom_content_type_ok("text/plain;version=0.0.4"));
	assert_false(prom_content_type_ok("text/plain"));
	assert_false(prom_content_type_ok("text/plain; charset=utf-8"));
	assert_false(prom_content_type_ok("text/plain; version=1.0.0"));
	assert_false(prom_content_type_ok("application/json; version=0.0.4"));
	assert_false(prom_content_type_ok("text/plain; version=0.0.4; "
	    "charset=latin1"));
	assert_false(prom_content_type_ok(""));
}

static void
prom_get_finds_a_series_in_any_label_order(void **state)
{
	static const char text[] = G "m{node=\"WEB01\",site=\"here\"} 42\n"
	    "m{node=\"a\\\"b\",site=\"hotsite\"} 7\nm 3\n";
	struct prom_doc *d = NULL;
	struct prom_error pe;
	double v = 0;

	(void)state;
	assert_int_equal(prom_parse(text, strlen(text), &d, &pe), 0);
	assert_int_equal(prom_doc_samples(d), 3);
	assert_int_equal(prom_get(d, "m{site=\"here\",node=\"WEB01\"}", &v,
	    &pe), 0);
	assert_true(v == 42.0);
	assert_int_equal(prom_get(d, "m{node=\"a\\\"b\",site=\"hotsite\"}", &v,
	    &pe), 0);
	assert_true(v == 7.0);
	assert_int_equal(prom_get(d, "m", &v, &pe), 0);
	assert_true(v == 3.0);
	assert_int_equal(prom_get(d, "m{node=\"WEB02\",site=\"here\"}", &v,
	    &pe), -1);
	assert_int_equal(prom_get(d, "m{node=WEB01}", &v, &pe), -1);
	prom_doc_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prom_exposition_like_cofferd_is_accepted),
		cmocka_unit_test(prom_go_float_spellings_are_accepted),
		cmocka_unit_test(prom_bad_metric_name_is_rejected),
		cmocka_unit_test(prom_bad_label_name_is_rejected),
		cmocka_unit_test(prom_label_twice_is_rejected),
		cmocka_unit_test(prom_bad_escape_is_rejected),
		cmocka_unit_test(prom_unquoted_label_value_is_rejected),
		cmocka_unit_test(prom_sample_before_type_is_rejected),
		cmocka_unit_test(prom_type_or_help_twice_is_rejected),
		cmocka_unit_test(prom_unknown_type_is_rejected),
		cmocka_unit_test(prom_family_split_in_two_groups_is_rejected),
		cmocka_unit_test(prom_bad_value_is_rejected),
		cmocka_unit_test(prom_duplicate_series_is_rejected),
		cmocka_unit_test(prom_counter_naming_is_enforced),
		cmocka_unit_test(prom_missing_trailing_newline_is_rejected),
		cmocka_unit_test(prom_content_type_is_checked),
		cmocka_unit_test(prom_get_finds_a_series_in_any_label_order),
	};

	return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
