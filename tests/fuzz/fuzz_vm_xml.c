/*
 * fuzz_vm_xml.c - libFuzzer target: a domain XML from a hostile file must
 * be parsed or refused without crashing, and one that parses must be
 * rewritten for restore into XML that parses back with the new name,
 * UUID and disk sources, and every other disk as it was.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "vm_xml.h"

#define FUZZ_UUID	"0b7e2d41-6c3f-4a58-9e21-d4f8a7c5b903"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The rewritten XML must say what was asked, and nothing else changed. */
static void
check_rewrite(const struct vm_dom *d, const struct vm_xml_map *map,
    const char *out, size_t olen)
{
	struct vm_dom r;
	struct err e;
	size_t i, m = 0;

	if (olen > VM_XML_MAX)
		return;		/* escaping can grow a document past it */
	if (vm_xml_parse(out, olen, &r, &e) != 0) {
		fprintf(stderr, "rewritten XML does not parse: %s\n", e.msg);
		__builtin_trap();
	}
	if (strcmp(r.name, "fuzz-restored") != 0 ||
	    strcmp(r.uuid, FUZZ_UUID) != 0 || r.ndisks != d->ndisks)
		__builtin_trap();
	for (i = 0; i < d->ndisks; i++) {
		const struct vm_disk *a = &d->disks[i], *b = &r.disks[i];
		const char *want = a->source;

		if (vm_disk_skip_reason(a) == NULL)
			want = map[m++].source;
		if (!same(a->target, b->target) || !same(want, b->source) ||
		    !same(a->format, b->format) || a->type != b->type ||
		    a->device != b->device)
			__builtin_trap();
	}
	vm_dom_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_xml_map *map = NULL;
	char (*src)[64] = NULL;
	struct vm_dom d;
	struct err e;
	char *out = NULL;
	size_t i, n = 0, olen;

	if (vm_xml_parse((const char *)data, size, &d, &e) != 0)
		return 0;
	map = calloc(d.ndisks + 1, sizeof(*map));
	src = calloc(d.ndisks + 1, sizeof(*src));
	if (map == NULL || src == NULL)
		goto out;
	for (i = 0; i < d.ndisks; i++) {
		if (vm_disk_skip_reason(&d.disks[i]) != NULL)
			continue;
		snprintf(src[n], sizeof(src[n]), "/restore/a & b/%zu.img", i);
		map[n].target = d.disks[i].target;
		map[n].source = src[n];
		n++;
	}
	if (vm_xml_rewrite(d.xml, d.xml_len, "fuzz-restored", FUZZ_UUID,
	    map, n, &out, &olen, &e) != 0) {
		fprintf(stderr, "parsed XML does not rewrite: %s\n", e.msg);
		__builtin_trap();
	}
	check_rewrite(&d, map, out, olen);
out:
	free(out);
	free(src);
	free(map);
	vm_dom_free(&d);
	return 0;
}
