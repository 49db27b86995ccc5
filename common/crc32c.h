/*
 * crc32c.h - CRC-32C (Castagnoli), as used by iSCSI, ext4 and SCTP.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time) and a slicing-by-8 table otherwise; both give identical results.
 */
#ifndef COFFER_CRC32C_H
#define COFFER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extend crc (0 to start) over len bytes of buf.  crc32c(0, "123456789", 9)
 * is 0xE3069283.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable implementation, exposed so tests can compare both paths. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
