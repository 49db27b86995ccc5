/*
 * test_vm_libvirt.c - client/vm_libvirt.c against libvirt's test driver
 * (test:///.../tests/data/libvirt/node.xml: no daemon): domains found by
 * name with their state and definition, unknown names, define and
 * start.  Built without libvirt, every call says so.
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

#include "err.h"
#include "vm_libvirt.h"
#include "vm_xml.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#define NODE_URI "test://" TEST_DATA_DIR "/libvirt/node.xml"

#ifdef HAVE_LIBVIRT

static int
setup(void **state)
{
	struct vm_lv *lv = NULL;
	struct err e;

	err_clear(&e);
	if (vm_lv_open(NODE_URI, &lv, &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	*state = lv;
	return 0;
}

static int
teardown(void **state)
{
	vm_lv_close(*state);
	return 0;
}

static void
vm_lv_running_domain_is_found_with_its_disks(void **state)
{
	struct vm_dom d;
	struct err e;
	char *xml = NULL;
	size_t len = 0;
	int running = -1;

	err_clear(&e);
	assert_int_equal(vm_lv_domain(*state, "web01", &xml, &len, &running,
	    &e), 0);
	assert_int_equal(running, 1);
	assert_int_equal(vm_xml_parse(xml, len, &d, &e), 0);
	assert_string_equal(d.name, "web01");
	assert_int_equal(d.ndisks, 3);
	assert_string_equal(d.disks[0].target, "vda");
	assert_string_equal(d.disks[0].format, "qcow2");
	assert_string_equal(d.disks[0].source, "/img/web01-os.qcow2");
	assert_null(vm_disk_skip_reason(&d.disks[1]));
	assert_string_equal(vm_disk_skip_reason(&d.disks[2]), "cdrom");
	vm_dom_free(&d);
	free(xml);
}

static void
vm_lv_shut_off_domain_is_not_running(void **state)
{
	struct err e;
	char *xml = NULL;
	size_t len = 0;
	int running = -1;

	err_clear(&e);
	assert_int_equal(vm_lv_domain(*state, "db01", &xml, &len, &running,
	    &e), 0);
	assert_int_equal(running, 0);
	assert_non_null(strstr(xml, "/img/db01.raw"));
	free(xml);
}

static void
vm_lv_unknown_domain_is_not_found(void **state)
{
	struct err e;
	char *xml = NULL;
	size_t len = 0;
	int running = -1;

	err_clear(&e);
	assert_int_equal(vm_lv_domain(*state, "nosuch", &xml, &len, &running,
	    &e), COFFER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "VM nosuch: no such domain at test://"));
	assert_null(xml);
	assert_int_equal(vm_lv_domain(*state, "../x", &xml, &len, &running,
	    &e), COFFER_EINVAL);
}

static void
vm_lv_defined_domain_starts(void **state)
{
	static const char xml[] = "<domain type='test'><name>app02</name>"
	    "<memory>65536</memory><vcpu>1</vcpu><os><type arch='x86_64'>"
	    "hvm</type></os></domain>";
	struct err e;
	char *got = NULL;
	size_t len = 0;
	int running = -1;

	err_clear(&e);
	assert_int_equal(vm_lv_define(*state, xml, 1, &e), 0);
	assert_int_equal(vm_lv_domain(*state, "app02", &got, &len, &running,
	    &e), 0);
	assert_int_equal(running, 1);
	free(got);
	assert_int_not_equal(vm_lv_define(*state, "<domain/>", 0, &e), 0);
	assert_non_null(strstr(e.msg, "libvirt define"));
}

static void
vm_lv_unreachable_uri_is_an_error(void **state)
{
	struct vm_lv *lv = NULL;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(vm_lv_open("test:///nonexistent/node.xml", &lv, &e),
	    COFFER_ENOTFOUND);
	assert_null(lv);
	assert_non_null(strstr(e.msg, "libvirt test:///nonexistent"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    vm_lv_running_domain_is_found_with_its_disks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    vm_lv_shut_off_domain_is_not_running, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    vm_lv_unknown_domain_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(vm_lv_defined_domain_starts,
		    setup, teardown),
		cmocka_unit_test(vm_lv_unreachable_uri_is_an_error),
	};
	return cmocka_run_group_tests_name("vm_libvirt", tests, NULL, NULL);
}

#else /* !HAVE_LIBVIRT */

static void
vm_lv_without_libvirt_says_so(void **state)
{
	struct vm_lv *lv = NULL;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(vm_lv_available(), 0);
	assert_int_equal(vm_lv_open(NODE_URI, &lv, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "--with-libvirt"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vm_lv_without_libvirt_says_so),
	};
	return cmocka_run_group_tests_name("vm_libvirt", tests, NULL, NULL);
}

#endif
