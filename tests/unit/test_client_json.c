/*
 * test_client_json.c - --json output stays valid JSON whatever bytes a
 * file name holds (client/json.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void
json_awkward_names_are_escaped(void **state)
{
	static const char name[] = "a\"b\\c\nd\te\x01" "f\xc3\xa9g\xff" "h";
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(f = open_memstream(&buf, &len));
	json_write_string(f, name, sizeof(name) - 1);
	fclose(f);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\nd\\te\\u0001f\xc3\xa9g"
	    "\\ufffdh\"");
	free(buf);
}

static void
json_rows_document_has_commas_in_the_right_places(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	struct json j;
	FILE *f;

	(void)state;
	assert_non_null(f = open_memstream(&buf, &len));
	json_init(&j, f);
	json_obj_open(&j, NULL);
	json_arr_open(&j, "rows");
	for (int i = 0; i < 2; i++) {
		json_obj_open(&j, NULL);
		json_u64(&j, "size", (uint64_t)i);
		json_str(&j, "deactivated", NULL);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_double(&j, "elapsed_s", 1.5);
	json_obj_close(&j);
	fclose(f);
	assert_string_equal(buf, "{\"rows\":[{\"size\":0,\"deactivated\":null},"
	    "{\"size\":1,\"deactivated\":null}],\"elapsed_s\":1.500}\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_awkward_names_are_escaped),
		cmocka_unit_test(
		    json_rows_document_has_commas_in_the_right_places),
	};

	return cmocka_run_group_tests_name("client_json", tests, NULL, NULL);
}
