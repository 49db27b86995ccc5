/*
 * test_client_sched.c - coffer sched's OBJECTS word splitting
 * (client/scheduler.c): blanks separate, quotes group, a backslash
 * escapes, and an unbalanced quote is refused with a message.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "scheduler.h"

static void
split_expect(const char *in, size_t n, const char *const *want)
{
	char **w = NULL;
	size_t got = 0;
	struct err e;

	err_clear(&e);
	assert_int_equal(scheduler_split(in, &w, &got, &e), 0);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(w[i], want[i]);
	scheduler_words_free(w, got);
}

static void
scheduler_split_honours_quotes_and_escapes(void **state)
{
	static const char *const a[] = { "/home", "/etc" };
	static const char *const b[] = { "/data/My Files", "/srv/it's", "x" };
	static const char *const c[] = { "/a b", "\"q\"" };

	(void)state;
	split_expect("  /home\t/etc  ", 2, a);
	split_expect("'/data/My Files' \"/srv/it's\" x", 3, b);
	split_expect("/a\\ b '\"q\"'", 2, c);
	split_expect("", 0, NULL);
}

static void
scheduler_split_unbalanced_quote_is_refused(void **state)
{
	char **w = NULL;
	size_t n = 0;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(scheduler_split("/a '/b", &w, &n, &e),
	    COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "unbalanced"));
	assert_null(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scheduler_split_honours_quotes_and_escapes),
		cmocka_unit_test(scheduler_split_unbalanced_quote_is_refused),
	};

	return cmocka_run_group_tests_name("client_sched", tests, NULL, NULL);
}
