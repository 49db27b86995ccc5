/*
 * pool_container.h - the container file format.
 *
 * A container is a 64-byte file header followed by records, each a 64-byte
 * header and the chunk's stored bytes, back to back.  All integers are
 * little-endian.  The format is pinned: a new layout gets a new version.
 *
 * File header (CTR_FILE_HDR_LEN bytes):
 *    0  8  magic "COFFCTR1"
 *    8  4  format version (1)
 *   12  4  header length (64)
 *   16  8  container id
 *   24 16  pool UUID
 *   40  8  creation time, seconds since the epoch
 *   48 12  zero
 *   60  4  CRC32C of bytes 0..59
 *
 * Record header (CTR_REC_HDR_LEN bytes), then stored_len bytes:
 *    0  4  magic 0x31434552 ("REC1")
 *    4  1  codec (1 raw, 2 zstd; see codec.h)
 *    5  1  flags (0)
 *    6  2  zero
 *    8  4  raw length
 *   12  4  stored length
 *   16 32  SHA-256 of the raw bytes
 *   48  4  CRC32C of the stored bytes
 *   52  8  zero
 *   60  4  CRC32C of bytes 0..59
 *
 * With these headers a container can be scanned and verified without the
 * index: audit and recovery walk records from offset 64.
 */
#ifndef COFFER_POOL_CONTAINER_H
#define COFFER_POOL_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define CTR_FILE_MAGIC		"COFFCTR1"
#define CTR_FILE_VERSION	1
#define CTR_FILE_HDR_LEN	64
#define CTR_REC_MAGIC		0x31434552u
#define CTR_REC_HDR_LEN		64

struct err;

struct ctr_file_hdr {
	uint64_t	id;
	uint8_t		pool_uuid[16];
	uint64_t	created;
};

struct ctr_rec_hdr {
	uint8_t		codec;
	uint32_t	raw_len;
	uint32_t	stored_len;
	uint8_t		hash[HASH_LEN];
	uint32_t	crc;		/* CRC32C of the stored bytes */
};

void pool_container_file_hdr_encode(uint8_t out[CTR_FILE_HDR_LEN],
    const struct ctr_file_hdr *h);
int pool_container_file_hdr_decode(const uint8_t in[CTR_FILE_HDR_LEN],
    struct ctr_file_hdr *h, struct err *e);

void pool_container_rec_hdr_encode(uint8_t out[CTR_REC_HDR_LEN],
    const struct ctr_rec_hdr *h);
/*
 * Decode and check a record header: magic, header CRC, known codec,
 * lengths within max_raw (and raw codec lengths equal).
 */
int pool_container_rec_hdr_decode(const uint8_t in[CTR_REC_HDR_LEN],
    uint32_t max_raw, struct ctr_rec_hdr *h, struct err *e);

#endif
