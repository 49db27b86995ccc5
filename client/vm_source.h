/*
 * vm_source.h - feed a disk read through a struct backup_src (backup.h:
 * a running domain's NBD export) into an ingest pipeline object begun
 * with ingest_begin_fixed(BACKUP_IMAGE_BLOCK).
 *
 * Bytes [start, end) of the disk (one segment, vm_seg.h) go into the
 * object: DATA extents are read (src->pread) and written, ZERO extents
 * become ingest_zero runs, never read, and CLEAN extents name the chunks
 * of the previous version (ingest_known), so the new version is a whole
 * image although only changed blocks were read.  Both versions are cut
 * in BACKUP_IMAGE_BLOCK blocks aligned to the disk, so a clean run
 * covers whole recipe entries (zero runs may be cut); anything else is
 * COFFER_ECORRUPT.  *got counts the bytes read.  On error the object is
 * abandoned (ingest_abort); on success it is ended (ingest_end).
 *
 * The previous version is read through a struct vm_prev, one segment's
 * recipe at a time and in disk order, whatever its segments' sizes: its
 * cursor carries over from one call to the next, so the segments of
 * one disk are ingested in order with the same vm_prev.
 */
#ifndef COFFER_CLIENT_VM_SOURCE_H
#define COFFER_CLIENT_VM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct backup_src;
struct err;
struct ingest;

struct vm_prev {
	/*
	 * The recipe of the previous version's next segment (malloc'd;
	 * vm_source frees it), or *rec NULL when there is none.
	 */
	int		(*next)(void *arg, uint8_t **rec, size_t *len,
			    struct err *e);
	void		*arg;

	/* The cursor, vm_source's. */
	uint8_t		*rec;
	size_t		 n, ci;		/* entries, the current one */
	uint64_t	 co;		/* where entry ci begins in the disk */
};

/* prev NULL: the disk is read whole (no CLEAN extents). */
int vm_src_ingest(struct ingest *ig, const struct backup_src *src,
    uint64_t start, uint64_t end, struct vm_prev *prev, uint64_t *got,
    struct err *e);
/* Free the cursor's recipe; the callbacks stay. */
void vm_prev_reset(struct vm_prev *prev);

#endif
