/*
 * vm_source.c - a VM disk read through a backup_src into the ingest
 * pipeline (vm_source.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "backup.h"
#include "err.h"
#include "ingest.h"
#include "pool_recipe.h"
#include "vm_source.h"

/*
 * Name the previous version's chunks for the clean run [off, off + len)
 * of a disk read incrementally; *ci and *co are the cursor in rec (entry
 * index and its offset).  Zero runs may be cut, data blocks not: both
 * versions are cut in BACKUP_IMAGE_BLOCK blocks aligned to the image.
 */
static int
src_reuse(struct ingest *ig, const uint8_t *rec, size_t n, size_t *ci,
    uint64_t *co, uint64_t off, uint64_t len, struct err *e)
{
	uint64_t const end = off + len;
	int r;

	while (off < end) {
		uint64_t es, ee, a, b;

		if (*ci >= n)
			return err_set(e, COFFER_ECORRUPT, "the previous "
			    "version is shorter than the disk");
		es = *co;
		ee = es + pool_recipe_len(rec, *ci);
		if (ee <= off) {
			*co = ee;
			(*ci)++;
			continue;
		}
		a = off > es ? off : es;
		b = end < ee ? end : ee;
		if (pool_recipe_is_zero(rec, *ci)) {
			r = ingest_zero(ig, b - a, e);
		} else if (a != es || b != ee) {
			return err_set(e, COFFER_ECORRUPT, "the previous "
			    "version's blocks are not aligned to the disk's");
		} else {
			r = ingest_known(ig, pool_recipe_hash(rec, *ci),
			    (uint32_t)(ee - es), e);
		}
		if (r != 0)
			return r;
		off = b;
	}
	return 0;
}

/* Read [off, off + len) of the source into the open object. */
static int
src_read(struct ingest *ig, const struct backup_src *src, uint8_t *buf,
    size_t cap, uint64_t off, uint64_t len, uint64_t *got, struct err *e)
{
	int r;

	while (len > 0) {
		size_t const n = len < cap ? (size_t)len : cap;

		if ((r = src->pread(src->arg, buf, n, off, e)) != 0 ||
		    (r = ingest_write(ig, buf, n, e)) != 0)
			return r;
		*got += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * The disk through its source into the object just begun: data read,
 * zeros skipped, clean blocks reused.  On error the object is abandoned.
 */
int
vm_src_ingest(struct ingest *ig, const struct backup_src *src, const uint8_t *rec,
    size_t rec_len, uint64_t *got, struct err *e)
{
	size_t const cap = 1u << 20;
	size_t n = 0, ci = 0;
	uint64_t off = 0, co = 0;
	uint8_t *buf = NULL;
	int r;

	if (rec != NULL && pool_recipe_count(rec, rec_len, &n, e) != 0) {
		r = COFFER_ECORRUPT;
		goto out;
	}
	if ((buf = malloc(cap)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	while (off < src->size) {
		uint64_t len = 0;
		int kind = BACKUP_EXT_DATA;

		if ((r = src->extent(src->arg, off, &len, &kind, e)) != 0)
			goto out;
		if (len == 0 || len > src->size - off) {
			r = err_set(e, COFFER_EINTERNAL, "disk source: extent "
			    "of %" PRIu64 " bytes at %" PRIu64, len, off);
			goto out;
		}
		if (kind == BACKUP_EXT_CLEAN && rec == NULL) {
			r = err_set(e, COFFER_ECORRUPT, "no previous version "
			    "to take unchanged blocks from");
			goto out;
		}
		if (kind == BACKUP_EXT_ZERO)
			r = ingest_zero(ig, len, e);
		else if (kind == BACKUP_EXT_CLEAN)
			r = src_reuse(ig, rec, n, &ci, &co, off, len, e);
		else
			r = src_read(ig, src, buf, cap, off, len, got, e);
		if (r != 0)
			goto out;
		off += len;
	}
	r = ingest_end(ig, e);
out:
	free(buf);
	if (r != 0)
		(void)ingest_abort(ig, NULL);
	return r;
}
