/*
 * vm_seg.h - a VM disk stored as segments.
 *
 * A disk's recipe names one chunk per 64 KiB block, 36 bytes each, and a
 * recipe travels in one frame (PROTO_RECIPE_MAX): one object could hold
 * at most about 14 GiB of a disk's data.  So a disk is cut into segments
 * of VM_SEG_SIZE bytes of the image (the last one shorter), each its own
 * object of the VM's version, committed with the rest all-or-nothing:
 *
 *     /disks/vda            bytes [0, VM_SEG_SIZE) of the image
 *     /disks/vda/000001     bytes [VM_SEG_SIZE, 2 * VM_SEG_SIZE)
 *     /disks/vda/000002     ...
 *
 * Every segment carries the image's mode, owner, times and path (link);
 * its size is its own length, so the image's size is the sum.  A disk
 * that fits in one segment is one object, /disks/vda, as versions made
 * before segments were: those restore unchanged.  A target never holds
 * '/' (vm_backup.c refuses it), so a segment's name cannot be a disk's.
 *
 * COFFER_VM_SEGMENT (bytes, a multiple of 64 KiB, optionally with a K, M
 * or G suffix) overrides the size, so tests exercise segments on small
 * images; restore reads whatever layout a version was stored in.
 */
#ifndef COFFER_CLIENT_VM_SEG_H
#define COFFER_CLIENT_VM_SEG_H

#include <stddef.h>
#include <stdint.h>

#define VM_SEG_SIZE		(8ull << 30)	/* 131,072 blocks: 4.5 MiB
						   of recipe at most */
#define VM_SEG_PATH_MAX		(16 + 256 + 16)

/*
 * A VM version is committed in parts of about this many bytes of its
 * objects, kept unseen by the server until the last (PROTO_TXN_STAGE), so
 * that memory on both sides stays bounded whatever the disks' size: with
 * 8 GiB segments, a part per segment.  COFFER_VM_STAGE (bytes, K, M or
 * G) overrides it; 0 commits the version at once (a server that does
 * not know STAGE refuses it).
 */
uint64_t vm_stage_bytes(void);
/* The segment size to cut new versions in. */
uint64_t vm_seg_size(void);
/* Segments of an image of size bytes: at least one. */
uint64_t vm_seg_count(uint64_t size, uint64_t seg);
/* The object path of segment idx of the disk whose object is disk. */
void vm_seg_path(const char *disk, uint64_t idx, char *out, size_t len);
/*
 * Is path (len bytes) a disk object ("/disks/T", *idx 0) or one of its
 * segments ("/disks/T/NNNNNN", *idx > 0)?  *disk_len gets the length of
 * "/disks/T".  Returns 0 when it is either, -1 otherwise.
 */
int vm_seg_parse(const char *path, size_t len, size_t *disk_len,
    uint64_t *idx);

#endif
