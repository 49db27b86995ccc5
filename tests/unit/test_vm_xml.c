/*
 * test_vm_xml.c - libvirt domain XML (client/vm_xml.c): the fixtures in
 * tests/data/vm, hostile and broken documents, load by name, rewrite for
 * restore, UUIDs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "vm_xml.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#define VM_DATA TEST_DATA_DIR "/vm"

/* Read a fixture; the test fails if it cannot. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int
parse_fixture(const char *name, struct vm_dom *d, struct err *e)
{
	char path[512];
	size_t len;
	char *xml;
	int r;

	snprintf(path, sizeof(path), "%s/%s", VM_DATA, name);
	xml = slurp(path, &len);
	err_clear(e);
	r = vm_xml_parse(xml, len, d, e);
	free(xml);
	return r;
}

static int
parse_str(const char *xml, struct vm_dom *d, struct err *e)
{
	err_clear(e);
	return vm_xml_parse(xml, strlen(xml), d, e);
}

static const struct vm_disk *
disk(const struct vm_dom *d, const char *target)
{
	size_t i;

	for (i = 0; i < d->ndisks; i++)
		if (strcmp(d->disks[i].target, target) == 0)
			return &d->disks[i];
	fail_msg("no disk %s", target);
	return NULL;
}

static void
vm_xml_two_disks_are_raw_and_qcow2(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("two_disks.xml", &d, &e), 0);
	assert_string_equal(d.name, "mgmt01");
	assert_string_equal(d.uuid, "5f1a3c7e-9b2d-4e8f-a1c3-7d9e0b2f4a61");
	assert_int_equal(d.ndisks, 2);
	assert_string_equal(d.disks[0].target, "vda");
	assert_string_equal(d.disks[0].source,
	    "/var/lib/libvirt/images/mgmt01.img");
	assert_string_equal(d.disks[0].format, "raw");
	assert_int_equal(d.disks[0].device, VM_DEV_DISK);
	assert_int_equal(d.disks[0].type, VM_DISK_FILE);
	assert_int_equal(d.disks[0].readonly, 0);
	assert_int_equal(d.disks[0].optional, 0);
	assert_null(vm_disk_skip_reason(&d.disks[0]));
	assert_string_equal(d.disks[1].target, "vdb");
	assert_string_equal(d.disks[1].source,
	    "/var/lib/libvirt/images/mgmt01-data.qcow2");
	assert_string_equal(d.disks[1].format, "qcow2");
	assert_null(vm_disk_skip_reason(&d.disks[1]));
	vm_dom_free(&d);
}

static void
vm_xml_iso_and_empty_cdrom_are_skipped(void **state)
{
	const struct vm_disk *k;
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("cdrom.xml", &d, &e), 0);
	assert_string_equal(d.name, "web01");
	assert_int_equal(d.ndisks, 3);
	assert_null(vm_disk_skip_reason(disk(&d, "vda")));
	k = disk(&d, "sda");
	assert_int_equal(k->device, VM_DEV_CDROM);
	assert_string_equal(k->source,
	    "/var/lib/libvirt/iso/debian-12.5.0-amd64-netinst.iso");
	assert_int_equal(k->readonly, 1);
	assert_string_equal(vm_disk_skip_reason(k), "cdrom");
	k = disk(&d, "sdb");
	assert_int_equal(k->device, VM_DEV_CDROM);
	assert_null(k->source);
	assert_string_equal(vm_disk_skip_reason(k), "cdrom");
	vm_dom_free(&d);
}

static void
vm_xml_path_with_spaces_is_kept(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("path_spaces.xml", &d, &e), 0);
	assert_string_equal(d.name, "web server 2");
	assert_int_equal(d.ndisks, 1);
	assert_string_equal(d.disks[0].source,
	    "/srv/vm images/web server 2/disk 0.qcow2");
	vm_dom_free(&d);
}

static void
vm_xml_optional_media_is_flagged(void **state)
{
	const struct vm_disk *k;
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("optional_media.xml", &d, &e), 0);
	assert_int_equal(d.ndisks, 3);
	k = disk(&d, "sda");
	assert_int_equal(k->optional, 1);
	assert_string_equal(k->source, "/var/lib/libvirt/iso/tools.iso");
	assert_string_equal(vm_disk_skip_reason(k), "cdrom");
	assert_int_equal(disk(&d, "vda")->optional, 0);
	k = disk(&d, "vdb");
	assert_int_equal(k->shareable, 1);
	assert_null(vm_disk_skip_reason(k));
	vm_dom_free(&d);
}

static void
vm_xml_block_disk_is_skipped(void **state)
{
	const struct vm_disk *k;
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("block_disk.xml", &d, &e), 0);
	assert_int_equal(d.ndisks, 2);
	assert_null(vm_disk_skip_reason(disk(&d, "vda")));
	k = disk(&d, "vdb");
	assert_int_equal(k->type, VM_DISK_BLOCK);
	assert_int_equal(k->device, VM_DEV_DISK);
	assert_string_equal(k->source, "/dev/vg0/db01-data");
	assert_string_equal(vm_disk_skip_reason(k), "block device");
	vm_dom_free(&d);
}

static void
vm_xml_network_disk_is_skipped(void **state)
{
	const struct vm_disk *k;
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("network_disk.xml", &d, &e), 0);
	assert_int_equal(d.ndisks, 2);
	k = disk(&d, "vdb");
	assert_int_equal(k->type, VM_DISK_NETWORK);
	assert_string_equal(k->source, "rbd/ceph01-data");
	assert_string_equal(vm_disk_skip_reason(k), "network disk");
	vm_dom_free(&d);
}

static void
vm_xml_raw_bytes_are_kept(void **state)
{
	struct vm_dom d;
	struct err e;
	size_t len;
	char *xml;

	(void)state;
	xml = slurp(VM_DATA "/two_disks.xml", &len);
	assert_int_equal(vm_xml_parse(xml, len, &d, &e), 0);
	assert_int_equal(d.xml_len, len);
	assert_memory_equal(d.xml, xml, len);
	assert_int_equal(d.xml[len], '\0');
	vm_dom_free(&d);
	vm_dom_free(&d);	/* emptied: a second free is harmless */
	vm_dom_free(NULL);
	free(xml);
}

static void
vm_xml_defaults_follow_libvirt(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	/* No type, device or driver: a file disk of unknown format. */
	assert_int_equal(parse_str("<domain><name>a</name><devices><disk>"
	    "<source file='/a.img'/><target dev='hda'/></disk><disk "
	    "device='floppy'><target dev='fda'/></disk><disk type='dir'>"
	    "<source dir='/x'/><target dev='hdb'/></disk><disk device="
	    "'tape'><target dev='st0'/></disk></devices></domain>", &d, &e),
	    0);
	assert_string_equal(d.uuid, "");
	assert_int_equal(d.ndisks, 4);
	assert_int_equal(d.disks[0].type, VM_DISK_FILE);
	assert_int_equal(d.disks[0].device, VM_DEV_DISK);
	assert_string_equal(d.disks[0].format, "");
	assert_null(vm_disk_skip_reason(&d.disks[0]));
	assert_string_equal(vm_disk_skip_reason(&d.disks[1]), "floppy");
	assert_string_equal(d.disks[2].source, "/x");
	assert_string_equal(vm_disk_skip_reason(&d.disks[2]),
	    "unsupported disk type");
	assert_int_equal(d.disks[3].device, VM_DEV_OTHER);
	assert_string_equal(vm_disk_skip_reason(&d.disks[3]),
	    "unsupported device");
	vm_dom_free(&d);
	/* file='' is libvirt's empty drive. */
	assert_int_equal(parse_str("<domain><name>a</name><devices><disk>"
	    "<source file=''/><target dev='vda'/></disk></devices></domain>",
	    &d, &e), 0);
	assert_null(d.disks[0].source);
	assert_string_equal(vm_disk_skip_reason(&d.disks[0]),
	    "no source file");
	vm_dom_free(&d);
}

static void
vm_xml_uuid_forms_are_normalized(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_str("<domain><name>a</name><uuid> "
	    "5F1A3C7E9B2D4E8FA1C37D9E0B2F4A61\n</uuid></domain>", &d, &e), 0);
	assert_string_equal(d.uuid, "5f1a3c7e-9b2d-4e8f-a1c3-7d9e0b2f4a61");
	vm_dom_free(&d);
	assert_int_equal(parse_str("<domain><name>a</name><uuid>5f1a3c7e-"
	    "9b2d-4e8f-a1c3-7d9e0b2f4a6</uuid></domain>", &d, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "bad <uuid>"));
	assert_int_equal(parse_str("<domain><name>a</name><uuid>5f1a3c7e-"
	    "9b2d-4e8f-a1c3-7d9e0b2f4a61x</uuid></domain>", &d, &e),
	    COFFER_ECORRUPT);
	assert_null(d.name);
}

static void
vm_xml_malformed_is_rejected_with_line(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_str("<domain type='kvm'>\n  <name>a</name>\n"
	    "  <uuid>x</uid>\n</domain>\n", &d, &e), COFFER_ECORRUPT);
	assert_true(strncmp(e.msg, "domain XML: line 3: ", 20) == 0);
	assert_null(strchr(e.msg, '\n'));
	assert_null(d.name);
	assert_int_equal(parse_str("", &d, &e), COFFER_ECORRUPT);
	assert_int_equal(vm_xml_parse("<domain>\0</domain>", 18, &d, &e),
	    COFFER_ECORRUPT);
	assert_int_equal(parse_str("<domain><name>a</name></domain><x/>", &d,
	    &e), COFFER_ECORRUPT);
	assert_int_equal(parse_str("<domain><name>&nope;</name></domain>",
	    &d, &e), COFFER_ECORRUPT);
}

static void
vm_xml_errors_are_not_printed(void **state)
{
	char path[] = "/tmp/coffer-vmxml-stderr.XXXXXX";
	struct vm_dom d;
	struct err e;
	struct stat st;
	int fd, saved;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	(void)parse_str("<domain><name>a</nam></domain>", &d, &e);
	(void)parse_str("<domain xmlns:x='y'><x:q/><name>a</name><z:q/>"
	    "</domain>", &d, &e);
	vm_dom_free(&d);
	(void)parse_fixture("bad/xxe_file_entity.xml", &d, &e);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(st.st_size, 0);
}

static void
vm_xml_wrong_root_is_rejected(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("bad/not_domain.xml", &d, &e),
	    COFFER_ECORRUPT);
	assert_string_equal(e.msg, "domain XML: root element is not <domain>");
	assert_int_equal(parse_str("<x:domain xmlns:x='urn:x'><x:name>a"
	    "</x:name></x:domain>", &d, &e), COFFER_ECORRUPT);
}

static void
vm_xml_missing_or_bad_name_is_rejected(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_str("<domain type='kvm'><uuid>5f1a3c7e-9b2d-"
	    "4e8f-a1c3-7d9e0b2f4a61</uuid></domain>", &d, &e),
	    COFFER_ECORRUPT);
	assert_string_equal(e.msg, "domain XML: missing <name>");
	/* A <name> in another namespace is metadata, not the name. */
	assert_int_equal(parse_str("<domain><metadata/><m:name xmlns:m='urn:m'"
	    ">a</m:name></domain>", &d, &e), COFFER_ECORRUPT);
	assert_string_equal(e.msg, "domain XML: missing <name>");
	assert_int_equal(parse_str("<domain><name>../../etc/x</name>"
	    "</domain>", &d, &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "not a valid VM name"));
	assert_int_equal(parse_str("<domain><name></name></domain>", &d, &e),
	    COFFER_ECORRUPT);
	assert_int_equal(parse_str("<domain><name>a&#10;b</name></domain>",
	    &d, &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "'a?b'"));
	assert_int_equal(parse_str("<domain><name>a</name><name>b</name>"
	    "</domain>", &d, &e), COFFER_ECORRUPT);
}

static void
vm_xml_disk_without_target_is_rejected(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_str("<domain><name>a</name><devices><disk "
	    "type='file'><target dev='vda'/></disk><disk type='file'><source "
	    "file='/b.img'/></disk></devices></domain>", &d, &e),
	    COFFER_ECORRUPT);
	assert_string_equal(e.msg,
	    "domain XML: disk 2 (/b.img): no <target dev>");
	assert_null(d.disks);
	assert_int_equal(parse_str("<domain><name>a</name><devices><disk>"
	    "<target dev='../x'/></disk></devices></domain>", &d, &e),
	    COFFER_ECORRUPT);
	assert_int_equal(parse_str("<domain><name>a</name><devices><disk>"
	    "<target dev='vda'/></disk><disk><target dev='vda'/></disk>"
	    "</devices></domain>", &d, &e), COFFER_ECORRUPT);
	assert_string_equal(e.msg, "domain XML: disk vda: target used twice");
}

static void
vm_xml_too_many_disks_are_refused(void **state)
{
	size_t const one = strlen("<disk><target dev='vd00000'/></disk>");
	size_t cap = (VM_DISKS_MAX + 1) * one + 100, n = 0, i;
	struct vm_dom d;
	struct err e;
	char *xml = malloc(cap);

	(void)state;
	assert_non_null(xml);
	n += (size_t)sprintf(xml, "<domain><name>a</name><devices>");
	for (i = 0; i <= VM_DISKS_MAX; i++)
		n += (size_t)sprintf(xml + n,
		    "<disk><target dev='vd%05zu'/></disk>", i);
	n += (size_t)sprintf(xml + n, "</devices></domain>");
	assert_true(n < cap);
	assert_int_equal(vm_xml_parse(xml, n, &d, &e), COFFER_ETOOBIG);
	free(xml);
}

static void
vm_xml_xxe_is_not_expanded(void **state)
{
	char path[512], *out = NULL;
	size_t len, olen;
	struct vm_dom d;
	struct err e;
	char *xml;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad/xxe_file_entity.xml", VM_DATA);
	xml = slurp(path, &len);
	err_clear(&e);
	assert_int_equal(vm_xml_parse(xml, len, &d, &e), COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "DOCTYPE"));
	assert_null(strstr(e.msg, "root:"));
	assert_null(d.name);
	assert_int_equal(vm_xml_rewrite(xml, len, "b", NULL, NULL, 0, &out,
	    &olen, &e), COFFER_ECORRUPT);
	assert_null(out);
	free(xml);
	/* The same entity without a DOCTYPE is simply undefined. */
	assert_int_equal(parse_str("<domain><name>a</name><devices><disk>"
	    "<source file='&x;'/><target dev='vda'/></disk></devices>"
	    "</domain>", &d, &e), COFFER_ECORRUPT);
	assert_null(strstr(e.msg, "root:"));
}

static void
vm_xml_entity_expansion_is_refused(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("bad/entity_expansion.xml", &d, &e),
	    COFFER_ECORRUPT);
	assert_non_null(strstr(e.msg, "line 2: a DOCTYPE is not accepted"));
}

static void
vm_xml_oversized_buffer_is_refused(void **state)
{
	struct vm_dom d;
	struct err e;

	(void)state;
	assert_int_equal(vm_xml_parse("<domain/>", (size_t)VM_XML_MAX + 1, &d,
	    &e), COFFER_ETOOBIG);
	assert_non_null(strstr(e.msg, "exceeds limit 4194304"));
}

/* A scratch VMCONFDIR. */
struct fx {
	char	dir[64];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	strcpy(fx->dir, "/tmp/coffer-vmxml.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	util_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static void
put(const struct fx *fx, const char *fixture, const char *name)
{
	char path[512];
	size_t len;
	char *xml;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", VM_DATA, fixture);
	xml = slurp(path, &len);
	snprintf(path, sizeof(path), "%s/%s.xml", fx->dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(xml, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(xml);
}

static void
vm_xml_load_reads_name_xml(void **state)
{
	struct fx *fx = *state;
	struct vm_dom d;
	struct err e;

	put(fx, "two_disks.xml", "mgmt01");
	put(fx, "path_spaces.xml", "web server 2");
	assert_int_equal(vm_xml_load(fx->dir, "mgmt01", &d, &e), 0);
	assert_string_equal(d.name, "mgmt01");
	assert_int_equal(d.ndisks, 2);
	assert_non_null(d.xml);
	vm_dom_free(&d);
	assert_int_equal(vm_xml_load(fx->dir, "web server 2", &d, &e), 0);
	assert_string_equal(d.disks[0].source,
	    "/srv/vm images/web server 2/disk 0.qcow2");
	vm_dom_free(&d);
}

static void
vm_xml_load_missing_file_names_it(void **state)
{
	struct fx *fx = *state;
	struct vm_dom d;
	struct err e;
	char want[256];

	assert_int_equal(vm_xml_load(fx->dir, "mgmt01", &d, &e),
	    COFFER_ENOTFOUND);
	snprintf(want, sizeof(want), "VM mgmt01: no domain definition "
	    "%s/mgmt01.xml (No such file or directory)", fx->dir);
	assert_string_equal(e.msg, want);
	assert_null(d.name);
}

static void
vm_xml_load_name_mismatch_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct vm_dom d;
	struct err e;
	char want[256];

	put(fx, "two_disks.xml", "web01");
	assert_int_equal(vm_xml_load(fx->dir, "web01", &d, &e),
	    COFFER_ECORRUPT);
	snprintf(want, sizeof(want), "VM web01: domain XML %s/web01.xml: "
	    "<name> is 'mgmt01', not the file's name", fx->dir);
	assert_string_equal(e.msg, want);
	assert_null(d.name);
	assert_null(d.disks);
}

static void
vm_xml_load_parse_error_names_file(void **state)
{
	struct fx *fx = *state;
	struct vm_dom d;
	struct err e;
	char want[256];

	put(fx, "bad/not_domain.xml", "default");
	assert_int_equal(vm_xml_load(fx->dir, "default", &d, &e),
	    COFFER_ECORRUPT);
	snprintf(want, sizeof(want), "VM default: domain XML %s/default.xml: "
	    "root element is not <domain>", fx->dir);
	assert_string_equal(e.msg, want);
}

static void
vm_xml_load_invalid_names_are_refused(void **state)
{
	static const char *const bad[] = { "", ".", "..", "/", "a/b",
	    "../mgmt01", "a\nb", "a\x7f" };
	struct fx *fx = *state;
	char longname[VM_NAME_MAX + 2];
	struct vm_dom d;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vm_name_valid(bad[i]), 0);
		assert_int_equal(vm_xml_load(fx->dir, bad[i], &d, &e),
		    COFFER_EINVAL);
		assert_null(strchr(e.msg, '\n'));
	}
	assert_int_equal(vm_name_valid(NULL), 0);
	assert_int_equal(vm_xml_load(NULL, "mgmt01", &d, &e), COFFER_EINVAL);
	memset(longname, 'a', sizeof(longname));
	longname[VM_NAME_MAX] = '\0';
	assert_int_equal(vm_name_valid(longname), 1);
	longname[VM_NAME_MAX] = 'a';
	longname[VM_NAME_MAX + 1] = '\0';
	assert_int_equal(vm_name_valid(longname), 0);
	assert_int_equal(vm_xml_load(fx->dir, longname, &d, &e),
	    COFFER_EINVAL);
	assert_int_equal(vm_name_valid("web server 2"), 1);
	assert_int_equal(vm_name_valid("vm-\xc3\xbc.prod_1"), 1);
}

static void
vm_xml_load_oversized_or_odd_file_is_refused(void **state)
{
	struct fx *fx = *state;
	char path[512];
	struct vm_dom d;
	struct err e;
	int fd;

	snprintf(path, sizeof(path), "%s/big.xml", fx->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)VM_XML_MAX + 1), 0);
	close(fd);
	assert_int_equal(vm_xml_load(fx->dir, "big", &d, &e), COFFER_ETOOBIG);
	assert_non_null(strstr(e.msg, "big.xml: 4194305 bytes exceeds "
	    "limit 4194304"));
	/* A FIFO must neither hang the open nor be read. */
	snprintf(path, sizeof(path), "%s/fifo.xml", fx->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(vm_xml_load(fx->dir, "fifo", &d, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "not a regular file"));
	snprintf(path, sizeof(path), "%s/dir.xml", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(vm_xml_load(fx->dir, "dir", &d, &e), COFFER_EINVAL);
}

/*
 * A live backup keeps each disk's file format in Coffer's <metadata>
 * while the XML says raw; a restore's rewrite drops it (and only it), so
 * libvirt never sees it; a bad format name is refused or ignored.
 */
static void
vm_xml_live_format_metadata(void **state)
{
	static const char src[] = "<domain><name>a</name><metadata>"
	    "<app:x xmlns:app='urn:example:other'>kept</app:x></metadata>"
	    "<devices><disk type='file' device='disk'><driver name='qemu' "
	    "type='qcow2'/><source file='/i/a.qcow2'/><target dev='vda'/>"
	    "</disk><disk type='file' device='disk'><source file='/i/b.raw'/>"
	    "<target dev='vdb'/></disk></devices></domain>";
	struct vm_xml_map live[] = {
		{ "vda", "/i/a.qcow2", "raw", "qcow2" },
		{ "vdb", "/i/b.raw", "raw", NULL },
	};
	struct vm_xml_map restore[] = { { "vda", "/r/a.qcow2", "qcow2", NULL } };
	struct vm_xml_map bad[] = { { "vda", "/i/a.qcow2", "raw", "../x" } };
	struct vm_dom d;
	struct err e;
	char *stored = NULL, *out = NULL;
	size_t slen, olen;

	(void)state;
	assert_int_equal(parse_str(src, &d, &e), 0);
	assert_null(d.disks[0].live_format);
	vm_dom_free(&d);
	assert_int_equal(vm_xml_rewrite(src, strlen(src), NULL, NULL, live, 2,
	    &stored, &slen, &e), 0);
	assert_non_null(strstr(stored, "urn:coffer:vm-backup:1"));
	assert_int_equal(parse_str(stored, &d, &e), 0);
	assert_string_equal(disk(&d, "vda")->format, "raw");
	assert_string_equal(disk(&d, "vda")->live_format, "qcow2");
	assert_null(disk(&d, "vdb")->live_format);
	vm_dom_free(&d);
	/* The restore's XML: qcow2 again, no Coffer metadata, the rest kept. */
	assert_int_equal(vm_xml_rewrite(stored, slen, NULL, NULL, restore, 1,
	    &out, &olen, &e), 0);
	assert_null(strstr(out, "urn:coffer:vm-backup"));
	assert_non_null(strstr(out, "urn:example:other"));
	assert_int_equal(parse_str(out, &d, &e), 0);
	assert_string_equal(disk(&d, "vda")->format, "qcow2");
	assert_null(disk(&d, "vda")->live_format);
	vm_dom_free(&d);
	free(out);
	out = NULL;
	assert_int_equal(vm_xml_rewrite(src, strlen(src), NULL, NULL, bad, 1,
	    &out, &olen, &e), COFFER_EINVAL);
	assert_non_null(strstr(e.msg, "vda"));
	assert_null(out);
	free(stored);
	/* A hostile stored XML naming an odd format is not believed. */
	assert_int_equal(parse_str("<domain><name>a</name><metadata>"
	    "<c:backup xmlns:c='urn:coffer:vm-backup:1'><c:disk target='vda' "
	    "format='-o x'/></c:backup></metadata><devices><disk type='file' "
	    "device='disk'><source file='/a'/><target dev='vda'/></disk>"
	    "</devices></domain>", &d, &e), 0);
	assert_null(d.disks[0].live_format);
	vm_dom_free(&d);
}

static void
vm_xml_rewrite_round_trip(void **state)
{
	static const char src[] = "/restore/new & 'improved'/<mgmt02> "
	    "\"data\".qcow2";
	struct vm_xml_map map[] = { { "vdb", src, NULL, NULL } };
	struct vm_dom d;
	struct err e;
	char uuid[VM_UUID_LEN + 1], *xml, *out = NULL;
	size_t len, olen;

	(void)state;
	xml = slurp(VM_DATA "/two_disks.xml", &len);
	assert_int_equal(vm_uuid_new(uuid), 0);
	assert_int_equal(vm_xml_rewrite(xml, len, "mgmt01-restored", uuid,
	    map, 1, &out, &olen, &e), 0);
	assert_int_equal(strlen(out), olen);
	assert_int_equal(vm_xml_parse(out, olen, &d, &e), 0);
	assert_string_equal(d.name, "mgmt01-restored");
	assert_string_equal(d.uuid, uuid);
	assert_int_equal(d.ndisks, 2);
	assert_string_equal(d.disks[0].source,
	    "/var/lib/libvirt/images/mgmt01.img");
	assert_string_equal(d.disks[0].format, "raw");
	assert_string_equal(d.disks[1].source, src);
	assert_string_equal(d.disks[1].format, "qcow2");
	vm_dom_free(&d);
	/* The rest is as it was: libvirt's comment, no declaration added. */
	assert_true(strncmp(out, "<!--\nWARNING: THIS IS AN AUTO-GENERATED",
	    39) == 0);
	assert_non_null(strstr(out, "<driver name=\"qemu\" type=\"raw\" "
	    "cache=\"none\" io=\"native\" discard=\"unmap\"/>"));
	assert_non_null(strstr(out, "<libosinfo:os id="));
	assert_non_null(strstr(out, "<backend model=\"random\">/dev/urandom"
	    "</backend>"));
	assert_null(strstr(out, "5f1a3c7e-9b2d-4e8f-a1c3-7d9e0b2f4a61"));
	/* A copy beside the original gets its own MAC from libvirt. */
	assert_null(strstr(out, "<mac "));
	assert_non_null(strstr(out, "<interface "));
	free(out);
	free(xml);
}

static void
vm_xml_rewrite_with_nothing_keeps_everything(void **state)
{
	struct vm_dom a, b;
	struct err e;
	char *xml, *out = NULL;
	size_t len, olen, i;

	(void)state;
	xml = slurp(VM_DATA "/cdrom.xml", &len);
	assert_int_equal(vm_xml_rewrite(xml, len, NULL, NULL, NULL, 0, &out,
	    &olen, &e), 0);
	assert_int_equal(vm_xml_parse(xml, len, &a, &e), 0);
	assert_int_equal(vm_xml_parse(out, olen, &b, &e), 0);
	assert_string_equal(a.name, b.name);
	assert_string_equal(a.uuid, b.uuid);
	assert_int_equal(a.ndisks, b.ndisks);
	for (i = 0; i < a.ndisks; i++) {
		assert_string_equal(a.disks[i].target, b.disks[i].target);
		if (a.disks[i].source == NULL)
			assert_null(b.disks[i].source);
		else
			assert_string_equal(a.disks[i].source,
			    b.disks[i].source);
		assert_int_equal(a.disks[i].device, b.disks[i].device);
		assert_int_equal(a.disks[i].readonly, b.disks[i].readonly);
	}
	vm_dom_free(&a);
	vm_dom_free(&b);
	free(out);
	free(xml);
}

static void
vm_xml_rewrite_keeps_declaration_and_utf8(void **state)
{
	static const char xml[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<domain type='kvm'>\n  <name>vm-\xc3\xbc</name>\n  <devices>\n"
	    "    <disk type='file' device='disk'>\n      <source file="
	    "'/img/\xc3\xbc.raw'/>\n      <target dev='vda' bus='virtio'/>\n"
	    "    </disk>\n  </devices>\n</domain>\n";
	struct vm_xml_map map[] = { { "vda", "/new/\xc3\xa9.raw", NULL, NULL } };
	struct vm_dom d;
	struct err e;
	char *out = NULL;
	size_t olen;

	(void)state;
	assert_int_equal(vm_xml_rewrite(xml, strlen(xml), NULL,
	    "5f1a3c7e-9b2d-4e8f-a1c3-7d9e0b2f4a61", map, 1, &out, &olen,
	    &e), 0);
	assert_true(strncmp(out, "<?xml", 5) == 0);
	assert_non_null(strstr(out, "<name>vm-\xc3\xbc</name>"));
	assert_non_null(strstr(out, "/new/\xc3\xa9.raw"));
	assert_int_equal(vm_xml_parse(out, olen, &d, &e), 0);
	/* Without a <uuid>, the new one goes right after <name>. */
	assert_string_equal(d.uuid, "5f1a3c7e-9b2d-4e8f-a1c3-7d9e0b2f4a61");
	assert_non_null(strstr(out, "</name><uuid>5f1a3c7e-"));
	vm_dom_free(&d);
	free(out);
}

static void
vm_xml_rewrite_accepts_an_undefined_prefix(void **state)
{
	static const char xml[] = "<domain><name>a</name><metadata><x:os/>"
	    "</metadata></domain>";
	struct vm_dom d;
	struct err e;
	char *out = NULL;
	size_t olen;

	(void)state;
	/* Found by fuzz_vm_xml: parse took it, rewrite refused it. */
	assert_int_equal(parse_str(xml, &d, &e), 0);
	vm_dom_free(&d);
	assert_int_equal(vm_xml_rewrite(xml, strlen(xml), "b", NULL, NULL, 0,
	    &out, &olen, &e), 0);
	assert_non_null(strstr(out, "<name>b</name>"));
	free(out);
}

static void
vm_xml_rewrite_refuses_what_it_cannot_do(void **state)
{
	struct vm_xml_map none[] = { { "vdz", "/x.img", NULL, NULL } };
	struct vm_xml_map block[] = { { "vdb", "/x.img", NULL, NULL } };
	struct vm_xml_map empty[] = { { "vda", "", NULL, NULL } };
	struct err e;
	char *xml, *out = NULL;
	size_t len, olen;

	(void)state;
	xml = slurp(VM_DATA "/block_disk.xml", &len);
	assert_int_equal(vm_xml_rewrite(xml, len, NULL, NULL, none, 1, &out,
	    &olen, &e), COFFER_ENOTFOUND);
	assert_string_equal(e.msg, "domain XML: disk vdz: no such target");
	assert_int_equal(vm_xml_rewrite(xml, len, NULL, NULL, block, 1, &out,
	    &olen, &e), COFFER_EINVAL);
	assert_string_equal(e.msg, "domain XML: disk vdb: not a file disk");
	assert_int_equal(vm_xml_rewrite(xml, len, NULL, NULL, empty, 1, &out,
	    &olen, &e), COFFER_EINVAL);
	assert_int_equal(vm_xml_rewrite(xml, len, "a/b", NULL, NULL, 0, &out,
	    &olen, &e), COFFER_EINVAL);
	assert_int_equal(vm_xml_rewrite(xml, len, NULL, "not-a-uuid", NULL,
	    0, &out, &olen, &e), COFFER_EINVAL);
	assert_int_equal(vm_xml_rewrite(xml, len, NULL,
	    "5F1A3C7E-9B2D-4E8F-A1C3-7D9E0B2F4A61", NULL, 0, &out, &olen, &e),
	    COFFER_EINVAL);
	assert_int_equal(vm_xml_rewrite("<domain>", 8, NULL, NULL, NULL, 0,
	    &out, &olen, &e), COFFER_ECORRUPT);
	assert_null(out);
	free(xml);
}

static int
cmp_uuid(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
vm_uuid_new_is_v4_lowercase_and_unique(void **state)
{
	enum { N = 2000 };
	char (*u)[VM_UUID_LEN + 1] = calloc(N, sizeof(*u));
	struct vm_dom d;
	struct err e;
	char xml[128];
	size_t i, j;

	(void)state;
	assert_non_null(u);
	for (i = 0; i < N; i++) {
		assert_int_equal(vm_uuid_new(u[i]), 0);
		assert_int_equal(strlen(u[i]), VM_UUID_LEN);
		for (j = 0; j < VM_UUID_LEN; j++) {
			if (j == 8 || j == 13 || j == 18 || j == 23)
				assert_int_equal(u[i][j], '-');
			else
				assert_non_null(strchr("0123456789abcdef",
				    u[i][j]));
		}
		assert_int_equal(u[i][14], '4');
		assert_non_null(strchr("89ab", u[i][19]));
	}
	qsort(u, N, sizeof(*u), cmp_uuid);
	for (i = 1; i < N; i++)
		assert_string_not_equal(u[i - 1], u[i]);
	/* And the parser reads it back as it is. */
	snprintf(xml, sizeof(xml), "<domain><name>a</name><uuid>%s</uuid>"
	    "</domain>", u[0]);
	assert_int_equal(parse_str(xml, &d, &e), 0);
	assert_string_equal(d.uuid, u[0]);
	vm_dom_free(&d);
	free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vm_xml_two_disks_are_raw_and_qcow2),
		cmocka_unit_test(vm_xml_iso_and_empty_cdrom_are_skipped),
		cmocka_unit_test(vm_xml_path_with_spaces_is_kept),
		cmocka_unit_test(vm_xml_optional_media_is_flagged),
		cmocka_unit_test(vm_xml_block_disk_is_skipped),
		cmocka_unit_test(vm_xml_network_disk_is_skipped),
		cmocka_unit_test(vm_xml_raw_bytes_are_kept),
		cmocka_unit_test(vm_xml_defaults_follow_libvirt),
		cmocka_unit_test(vm_xml_uuid_forms_are_normalized),
		cmocka_unit_test(vm_xml_malformed_is_rejected_with_line),
		cmocka_unit_test(vm_xml_errors_are_not_printed),
		cmocka_unit_test(vm_xml_wrong_root_is_rejected),
		cmocka_unit_test(vm_xml_missing_or_bad_name_is_rejected),
		cmocka_unit_test(vm_xml_disk_without_target_is_rejected),
		cmocka_unit_test(vm_xml_too_many_disks_are_refused),
		cmocka_unit_test(vm_xml_xxe_is_not_expanded),
		cmocka_unit_test(vm_xml_entity_expansion_is_refused),
		cmocka_unit_test(vm_xml_oversized_buffer_is_refused),
		cmocka_unit_test_setup_teardown(vm_xml_load_reads_name_xml,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    vm_xml_load_missing_file_names_it, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    vm_xml_load_name_mismatch_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    vm_xml_load_parse_error_names_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    vm_xml_load_invalid_names_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    vm_xml_load_oversized_or_odd_file_is_refused, setup,
		    teardown),
		cmocka_unit_test(vm_xml_rewrite_round_trip),
		cmocka_unit_test(vm_xml_live_format_metadata),
		cmocka_unit_test(vm_xml_rewrite_with_nothing_keeps_everything),
		cmocka_unit_test(vm_xml_rewrite_keeps_declaration_and_utf8),
		cmocka_unit_test(vm_xml_rewrite_accepts_an_undefined_prefix),
		cmocka_unit_test(vm_xml_rewrite_refuses_what_it_cannot_do),
		cmocka_unit_test(vm_uuid_new_is_v4_lowercase_and_unique),
	};
	return cmocka_run_group_tests_name("vm_xml", tests, NULL, NULL);
}
