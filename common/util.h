/*
 * util.h - small file-system and memory helpers shared by every program.
 */
#ifndef COFFER_UTIL_H
#define COFFER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* Write or read all n bytes at off, retrying on EINTR and short counts. */
int util_pwrite_full(int fd, const void *p, size_t n, off_t off,
    const char *what, struct err *e);
int util_pread_full(int fd, void *p, size_t n, off_t off,
    const char *what, struct err *e);
/* Read up to n bytes from fd's position; *got < n only at end of file. */
int util_read_full(int fd, void *p, size_t n, size_t *got,
    const char *what, struct err *e);
int util_write_full(int fd, const void *p, size_t n,
    const char *what, struct err *e);

/* fsync a directory, so that a create, rename or unlink in it is durable. */
int util_fsync_dir(const char *dir, struct err *e);
/* fsync a file by its path (a file another program wrote). */
int util_fsync_path(const char *path, struct err *e);

/*
 * Replace path atomically with n bytes of p: temp file, fsync, rename,
 * fsync of the directory.
 */
int util_write_atomic(const char *path, const void *p, size_t n,
    mode_t mode, struct err *e);

/* mkdir -p with mode for every created component. */
int util_mkdir_p(const char *path, mode_t mode, struct err *e);

/* rm -rf; used by tests and by tools on scratch directories only. */
int util_rm_rf(const char *path);

/* 1 when all n bytes are zero. */
int util_is_zero(const void *p, size_t n);

/* Little-endian integer access for on-disk and wire formats. */
static inline void
util_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
util_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void
util_put_le64(uint8_t *p, uint64_t v)
{
	util_put_le32(p, (uint32_t)v);
	util_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
util_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
util_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t
util_get_le64(const uint8_t *p)
{
	return (uint64_t)util_get_le32(p) |
	    ((uint64_t)util_get_le32(p + 4) << 32);
}

/* Monotonic seconds, for rates and elapsed times. */
double util_now(void);

/* "1.5 GiB" style; buf of at least 16 bytes. */
const char *util_human_bytes(uint64_t n, char *buf, size_t len);

/*
 * A period as TSM's QUERYSCHEDPERIOD takes it: digits with an optional
 * unit s, m or h ("2s", "10m", "12h"); a bare number is hours, as in TSM.
 * 1 second to 31 days into *out seconds; 0 or COFFER_EINVAL.
 */
int util_parse_hours(const char *s, int64_t *out);

#endif
