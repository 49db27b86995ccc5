/*
 * test_client_opt.c - the client's command line, option file,
 * include/exclude rules and point-in-time dates (client/opt.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "opt.h"

static int
parse(struct coffer_opts *o, struct err *e, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "coffer";
	va_start(ap, e);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	opt_init(o);
	err_clear(e);
	return opt_parse_argv(o, argc, argv, e);
}

static void
opt_options_before_and_after_words_are_separated(void **state)
{
	struct coffer_opts o;
	struct err e;

	(void)state;
	assert_int_equal(parse(&o, &e, "--server", "h:1501", "restore",
	    "/data/", "--subdir", "/tmp/x/", "--node=WEB01", "--json", NULL),
	    0);
	assert_string_equal(o.server, "h:1501");
	assert_string_equal(o.node, "WEB01");
	assert_int_equal(o.subdir, 1);
	assert_int_equal(o.json, 1);
	assert_int_equal(o.nwords, 3);
	assert_string_equal(o.words[0], "restore");
	assert_string_equal(o.words[1], "/data/");
	assert_string_equal(o.words[2], "/tmp/x/");
	opt_free(&o);
}

static void
opt_flag_values_and_dsmc_single_dash_are_accepted(void **state)
{
	struct coffer_opts o;
	struct err e;

	(void)state;
	assert_int_equal(parse(&o, &e, "-subdir=yes", "--replace=no",
	    "--inactive", "-pitdate", "2024-05-01", "--pittime", "12:30",
	    NULL), 0);
	assert_int_equal(o.subdir, 1);
	assert_int_equal(o.replace, 0);
	assert_int_equal(o.inactive, 1);
	assert_string_equal(o.pitdate, "2024-05-01 12:30");
	opt_free(&o);
}

static void
opt_unknown_option_is_named_in_the_message(void **state)
{
	struct coffer_opts o;
	struct err e;

	(void)state;
	assert_int_equal(parse(&o, &e, "incremental", "/x", "--frobnicate",
	    NULL), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "unknown option '--frobnicate'"));
	opt_free(&o);
	assert_int_equal(parse(&o, &e, "--subdir=maybe", NULL), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "yes or no"));
	opt_free(&o);
	assert_int_equal(parse(&o, &e, "q", "ba", "--server", NULL),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "needs a value"));
	opt_free(&o);
}

static void
opt_double_dash_ends_options(void **state)
{
	struct coffer_opts o;
	struct err e;

	(void)state;
	assert_int_equal(parse(&o, &e, "sel", "--", "--leading-dash", "-",
	    NULL), 0);
	assert_int_equal(o.nwords, 3);
	assert_string_equal(o.words[1], "--leading-dash");
	assert_string_equal(o.words[2], "-");
	opt_free(&o);
}

static void
opt_file_is_parsed_and_the_command_line_wins(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "* a TSM-style comment\n"
	    "  SERVER   backup.example.com:1600\n"
	    "cafile \"/etc/coffer/ca file.pem\"\r\n"
	    "NodeName  web01\n"
	    "\n"
	    "EXCLUDE /data/tmp/*\n"
	    "include '/data/tmp/keep*'\n";
	struct coffer_opts o;
	struct err e;

	(void)state;
	assert_int_equal(parse(&o, &e, "--node", "cli", NULL), 0);
	assert_int_equal(opt_parse_text(&o, text, sizeof(text) - 1, "t.opt",
	    &e), 0);
	assert_string_equal(o.server, "backup.example.com:1600");
	assert_string_equal(o.ca_file, "/etc/coffer/ca file.pem");
	assert_string_equal(o.node, "cli");
	assert_int_equal(o.nrules, 2);
	assert_int_equal(o.rules[0].kind, OPT_EXCLUDE);
	assert_string_equal(o.rules[1].pattern, "/data/tmp/keep*");
	opt_free(&o);
}

static void
opt_file_unknown_option_names_file_and_line(void **state)
{
	static const char text[] = "SERVER h:1\nFROB x\n";
	struct coffer_opts o;
	struct err e;

	(void)state;
	opt_init(&o);
	err_clear(&e);
	assert_int_equal(opt_parse_text(&o, text, sizeof(text) - 1, "c.opt",
	    &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "c.opt:2: unknown option 'FROB'"));
	opt_free(&o);
}

static void
opt_file_tcpserveraddress_and_port_make_server(void **state)
{
	static const char text[] = "TCPPORT 1501\nTCPSERVERADDRESS ::1\n";
	struct coffer_opts o;
	struct err e;

	(void)state;
	opt_init(&o);
	assert_int_equal(opt_parse_text(&o, text, sizeof(text) - 1, "t", &e),
	    0);
	assert_string_equal(o.server, "[::1]:1501");
	opt_free(&o);
}

static void
opt_last_matching_rule_wins(void **state)
{
	struct coffer_opts o;

	(void)state;
	opt_init(&o);
	assert_int_equal(opt_included(&o, "/anything"), 1);
	assert_int_equal(opt_add_rule(&o, OPT_EXCLUDE, "*.o", NULL), 0);
	assert_int_equal(opt_add_rule(&o, OPT_EXCLUDE, "/data/tmp/*", NULL),
	    0);
	assert_int_equal(opt_add_rule(&o, OPT_INCLUDE, "/data/tmp/keep*",
	    NULL), 0);
	assert_int_equal(opt_included(&o, "/src/a.o"), 0);
	assert_int_equal(opt_included(&o, "/src/deep/er/b.o"), 0);
	assert_int_equal(opt_included(&o, "/src/a.c"), 1);
	assert_int_equal(opt_included(&o, "/data/tmp/x/y"), 0);
	assert_int_equal(opt_included(&o, "/data/tmp/keep.txt"), 1);
	assert_int_equal(opt_included(&o, "/data/tmp"), 1);
	/* A later exclude beats the earlier include. */
	assert_int_equal(opt_add_rule(&o, OPT_EXCLUDE, "*.txt", NULL), 0);
	assert_int_equal(opt_included(&o, "/data/tmp/keep.txt"), 0);
	opt_free(&o);
}

static void
opt_pitdate_forms_parse_as_local_time(void **state)
{
	struct tm tm;
	int64_t t;
	time_t tt;

	(void)state;
	assert_int_equal(opt_parse_pitdate("2024-05-01 12:30:15", &t, NULL), 0);
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	assert_int_equal(tm.tm_year, 124);
	assert_int_equal(tm.tm_mon, 4);
	assert_int_equal(tm.tm_mday, 1);
	assert_int_equal(tm.tm_hour, 12);
	assert_int_equal(tm.tm_min, 30);
	assert_int_equal(tm.tm_sec, 15);
	assert_int_equal(opt_parse_pitdate("2024-05-01T08:05", &t, NULL), 0);
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	assert_int_equal(tm.tm_hour, 8);
	assert_int_equal(tm.tm_sec, 0);
	/* A date alone is the end of that day, as TSM's -pitdate. */
	assert_int_equal(opt_parse_pitdate("2024-02-29", &t, NULL), 0);
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	assert_int_equal(tm.tm_mday, 29);
	assert_int_equal(tm.tm_hour, 23);
	assert_int_equal(tm.tm_min, 59);
	assert_int_equal(tm.tm_sec, 59);
}

static void
opt_pitdate_garbage_is_rejected(void **state)
{
	static const char *const bad[] = {
		"", "2024", "2024-5-1", "2024-02-30", "2023-02-29",
		"2024-13-01", "2024-05-01 25:00", "2024-05-01 12", "yesterday",
		"2024-05-01 12:30:15x", "2024-05-01  12:30",
	};
	struct err e;
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_equal(opt_parse_pitdate(bad[i], &t, &e),
		    COFFER_EINVAL);
		assert_non_null(strstr(e.msg, "YYYY-MM-DD"));
	}
}

static void
opt_password_file_defaults_to_home(void **state)
{
	struct coffer_opts o;
	char buf[256];

	(void)state;
	opt_init(&o);
	setenv("HOME", "/home/tester", 1);
	assert_int_equal(opt_password_path(&o, buf, sizeof(buf), NULL),
	    COFFER_EINVAL);
	o.node = strdup("WEB01");
	assert_int_equal(opt_password_path(&o, buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "/home/tester/.coffer/WEB01.pw");
	o.password_file = strdup("/etc/coffer/pw");
	assert_int_equal(opt_password_path(&o, buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "/etc/coffer/pw");
	opt_free(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    opt_options_before_and_after_words_are_separated),
		cmocka_unit_test(
		    opt_flag_values_and_dsmc_single_dash_are_accepted),
		cmocka_unit_test(opt_unknown_option_is_named_in_the_message),
		cmocka_unit_test(opt_double_dash_ends_options),
		cmocka_unit_test(opt_file_is_parsed_and_the_command_line_wins),
		cmocka_unit_test(opt_file_unknown_option_names_file_and_line),
		cmocka_unit_test(
		    opt_file_tcpserveraddress_and_port_make_server),
		cmocka_unit_test(opt_last_matching_rule_wins),
		cmocka_unit_test(opt_pitdate_forms_parse_as_local_time),
		cmocka_unit_test(opt_pitdate_garbage_is_rejected),
		cmocka_unit_test(opt_password_file_defaults_to_home),
	};

	return cmocka_run_group_tests_name("client_opt", tests, NULL, NULL);
}
