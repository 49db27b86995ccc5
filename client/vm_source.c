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

/* The next recipe of the previous version, skipping empty ones. */
static int
prev_advance(struct vm_prev *p, struct err *e)
{
	while (p->ci >= p->n) {
		uint8_t *rec = NULL;
		size_t len = 0, n = 0;
		int r;

		free(p->rec);
		p->rec = NULL;
		p->n = p->ci = 0;
		if ((r = p->next(p->arg, &rec, &len, e)) != 0)
			return r;
		if (rec == NULL)
			return err_set(e, COFFER_ECORRUPT, "the previous "
			    "version is shorter than the disk");
		if (pool_recipe_count(rec, len, &n, e) != 0) {
			free(rec);
			return COFFER_ECORRUPT;
		}
		p->rec = rec;
		p->n = n;
	}
	return 0;
}

/*
 * Name the previous version's chunks for the clean run [off, off + len)
 * of a disk read incrementally.  Zero runs may be cut, data blocks not:
 * both versions are cut in BACKUP_IMAGE_BLOCK blocks aligned to the
 * image.
 */
static int
src_reuse(struct ingest *ig, struct vm_prev *p, uint64_t off, uint64_t len,
    struct err *e)
{
	uint64_t const end = off + len;
	int r;

	while (off < end) {
		uint64_t es, ee, a, b;

		if ((r = prev_advance(p, e)) != 0)
			return r;
		es = p->co;
		ee = es + pool_recipe_len(p->rec, p->ci);
		if (ee <= off) {
			p->co = ee;
			p->ci++;
			continue;
		}
		a = off > es ? off : es;
		b = end < ee ? end : ee;
		if (pool_recipe_is_zero(p->rec, p->ci)) {
			r = ingest_zero(ig, b - a, e);
		} else if (a != es || b != ee) {
			return err_set(e, COFFER_ECORRUPT, "the previous "
			    "version's blocks are not aligned to the disk's");
		} else {
			r = ingest_known(ig, pool_recipe_hash(p->rec, p->ci),
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

void
vm_prev_reset(struct vm_prev *prev)
{
	free(prev->rec);
	prev->rec = NULL;
	prev->n = prev->ci = 0;
	prev->co = 0;
}

/*
 * [start, end) of the disk through its source into the object just
 * begun: data read, zeros skipped, clean blocks reused.  On error the
 * object is abandoned.
 */
int
vm_src_ingest(struct ingest *ig, const struct backup_src *src,
    uint64_t start, uint64_t end, struct vm_prev *prev, uint64_t *got,
    struct err *e)
{
	size_t const cap = 1u << 20;
	uint64_t off = start;
	uint8_t *buf = NULL;
	int r;

	if (end > src->size || start > end) {
		r = err_set(e, COFFER_EINTERNAL, "disk source: range [%"
		    PRIu64 ", %" PRIu64 ") of a %" PRIu64 "-byte disk", start,
		    end, src->size);
		goto out;
	}
	if ((buf = malloc(cap)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	while (off < end) {
		uint64_t len = 0;
		int kind = BACKUP_EXT_DATA;

		if ((r = src->extent(src->arg, off, &len, &kind, e)) != 0)
			goto out;
		if (len == 0 || len > src->size - off) {
			r = err_set(e, COFFER_EINTERNAL, "disk source: extent "
			    "of %" PRIu64 " bytes at %" PRIu64, len, off);
			goto out;
		}
		if (len > end - off)
			len = end - off;	/* the rest is the next segment's */
		if (kind == BACKUP_EXT_CLEAN && prev == NULL) {
			r = err_set(e, COFFER_ECORRUPT, "no previous version "
			    "to take unchanged blocks from");
			goto out;
		}
		if (kind == BACKUP_EXT_ZERO)
			r = ingest_zero(ig, len, e);
		else if (kind == BACKUP_EXT_CLEAN)
			r = src_reuse(ig, prev, off, len, e);
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
