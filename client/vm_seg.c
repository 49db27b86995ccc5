/*
 * vm_seg.c - the segment layout of a VM disk's objects (vm_seg.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "vm_seg.h"

/* A size in bytes with an optional K, M or G; *ok 0 when it is not one. */
static unsigned long long
env_size(const char *env, int *ok)
{
	unsigned long long v;
	char *end;

	v = strtoull(env, &end, 10);
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	*ok = end != env && *end == '\0';
	return v;
}

uint64_t
vm_stage_bytes(void)
{
	const char *env = getenv("COFFER_VM_STAGE");
	unsigned long long v;
	int ok;

	if (env == NULL || *env == '\0')
		return BACKUP_TXN_BYTES;
	v = env_size(env, &ok);
	return ok ? v : BACKUP_TXN_BYTES;
}

uint64_t
vm_seg_size(void)
{
	const char *env = getenv("COFFER_VM_SEGMENT");
	unsigned long long v;
	int ok;

	if (env == NULL || *env == '\0')
		return VM_SEG_SIZE;
	v = env_size(env, &ok);
	/* A size that would misalign the blocks is not taken. */
	if (!ok || v == 0 || v % BACKUP_IMAGE_BLOCK != 0 ||
	    v > VM_SEG_SIZE)
		return VM_SEG_SIZE;
	return v;
}

uint64_t
vm_seg_count(uint64_t size, uint64_t seg)
{
	return size <= seg ? 1 : (size + seg - 1) / seg;
}

void
vm_seg_path(const char *disk, uint64_t idx, char *out, size_t len)
{
	if (idx == 0)
		snprintf(out, len, "%s", disk);
	else
		snprintf(out, len, "%s/%06" PRIu64, disk, idx);
}

int
vm_seg_parse(const char *path, size_t len, size_t *disk_len, uint64_t *idx)
{
	const char *t, *slash;
	uint64_t v = 0;

	if (len <= 7 || memcmp(path, "/disks/", 7) != 0)
		return -1;
	t = path + 7;
	slash = memchr(t, '/', len - 7);
	if (slash == NULL) {
		*disk_len = len;
		*idx = 0;
		return 0;
	}
	if (slash == t || slash + 1 == path + len)
		return -1;
	for (const char *p = slash + 1; p < path + len; p++) {
		if (*p < '0' || *p > '9' || v > UINT64_MAX / 10 - 1)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v == 0)
		return -1;
	*disk_len = (size_t)(slash - path);
	*idx = v;
	return 0;
}
