/*
 * vm_source.h - feed a disk read through a struct backup_src (backup.h:
 * a running domain's NBD export) into an ingest pipeline object begun
 * with ingest_begin_fixed(BACKUP_IMAGE_BLOCK).
 *
 * DATA extents are read (src->pread) and written, ZERO extents become
 * ingest_zero runs, never read, and CLEAN extents name the chunks of the
 * previous version's recipe rec (ingest_known), so the new version is a
 * whole image although only changed blocks were read.  Both versions
 * are cut in BACKUP_IMAGE_BLOCK blocks aligned to the disk, so a clean
 * run covers whole recipe entries (zero runs may be cut); anything else
 * is COFFER_ECORRUPT.  *got counts the bytes read.  On error the object
 * is abandoned (ingest_abort); on success it is ended (ingest_end).
 */
#ifndef COFFER_CLIENT_VM_SOURCE_H
#define COFFER_CLIENT_VM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct backup_src;
struct err;
struct ingest;

int vm_src_ingest(struct ingest *ig, const struct backup_src *src,
    const uint8_t *rec, size_t rec_len, uint64_t *got, struct err *e);

#endif
