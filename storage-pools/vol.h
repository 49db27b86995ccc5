/*
 * vol.h - sequential volumes: tape-format files that carry a record
 * stream (exports, database backups) across one or more volumes of a set.
 *
 * A volume is an AWSTAPE emulated tape (the Hercules format: a 6-byte
 * header before each block, tapemarks, a double tapemark at the end of
 * data) so that Debian's hercules tools (tapemap, hetmap) read its
 * structure.  Inside, Coffer's format (storage-pools/VOLUME-FORMAT.md,
 * byte by byte): tape file 1 is the label (an 80-byte VOL1 record, then
 * Coffer's label block: magic, format version, set UUID, sequence number
 * in the set, block size, creating server, creation time, set kind,
 * encryption header), a tapemark, then the data blocks of one session
 * (every block: sequence number, payload length, CRC32C; sealed with
 * AES-256-GCM when the set is encrypted, nonce from set UUID and block
 * number), then an end-of-volume label naming the next volume, or the
 * session end, and the double tapemark.
 *
 * Records: the stream is a sequence of (u8 type, u32 length, bytes)
 * records that span blocks and volumes.  Their meaning is the caller's
 * (export, import, DB backup); this layer numbers them, digests them
 * (SHA-256 over every record's type, length and bytes), and writes a
 * session trailer with the record count and the digest, which the reader
 * checks: a reordered, truncated, swapped or altered volume, a volume of
 * another set, a missing volume, or a wrong key is an error that names
 * the volume (and the block) and the problem.
 *
 * Devices: the writer and reader go through struct vol_dev (vol_dev.h):
 * write block, write tapemark, read block, space forward/back, rewind,
 * so a Linux st tape drive can stand where the FILE device class stands
 * today.  A FILE volume is a file in a directory, at most maxcap bytes;
 * the writer starts the next volume before a block would pass maxcap
 * (early end-of-volume warning) and the set spans as many as it needs.
 */
#ifndef COFFER_VOL_H
#define COFFER_VOL_H

#include <stddef.h>
#include <stdint.h>

#define VOL_BLOCK		65536u		/* bytes per tape block, header
						   included (AWSTAPE <= 65535
						   payload: see the format) */
#define VOL_RECORD_MAX		(32u << 20)	/* bytes of one record */
#define VOL_NAME_MAX		64		/* volume serial / file name */
#define VOL_KIND_EXPORT		1
#define VOL_KIND_DBBACKUP	2

struct err;
struct vol_writer;
struct vol_reader;

/*
 * Called for every volume the writer starts, to register it, before its
 * file is created.  Returning COFFER_EEXIST refuses the serial (the
 * caller's volume history holds it, from another directory): the writer
 * tries the next.  A registered serial whose file cannot be created (it
 * exists: another server's volume in a shared directory) is handed to
 * on_drop, which forgets it.
 */
typedef int (*vol_new_cb)(void *arg, const char *path, const char *serial,
    uint32_t seq, struct err *e);
typedef void (*vol_drop_cb)(void *arg, const char *serial);

struct vol_write_params {
	const char	*dir;		/* FILE device class directory */
	uint64_t	 maxcap;	/* bytes per volume (>= 1 MiB) */
	int		 kind;		/* VOL_KIND_* */
	const char	*server;	/* creating server's name */
	const char	*passphrase;	/* NULL: not encrypted */
	vol_new_cb	 on_new;	/* may be NULL */
	vol_drop_cb	 on_drop;	/* may be NULL */
	void		*arg;
	uint32_t	 min_serial;	/* no serial below this (0: any); a
					   server passes one more than the
					   highest in its volume history */
};

struct vol_set_info {
	uint8_t		 set_uuid[16];
	uint32_t	 nvols;
	char		 (*paths)[4096];	/* nvols paths, malloc'd */
	uint64_t	 records;
	uint64_t	 bytes;		/* record payload bytes */
	uint8_t		 digest[32];
};

void vol_set_info_free(struct vol_set_info *i);

/*
 * Start a new set in p->dir: its first volume is created (serials are
 * generated, unique in the directory).  Everything is fsynced at close.
 */
int vol_writer_open(const struct vol_write_params *p, struct vol_writer **out,
    struct err *e);
/* Append one record (n <= VOL_RECORD_MAX). */
int vol_write_record(struct vol_writer *w, uint8_t type, const void *p,
    size_t n, struct err *e);
/* Like vol_write_record, the record's bytes given in two parts. */
int vol_write_record2(struct vol_writer *w, uint8_t type, const void *a,
    size_t alen, const void *b, size_t blen, struct err *e);
/*
 * End the session (trailer with count and digest), label and close the
 * last volume, fsync; info (may be NULL) gets the set's description.
 * Frees w whatever happens; on failure the set's volumes are removed, as
 * by vol_writer_abort (a set without its trailer is of no use).
 */
int vol_writer_close(struct vol_writer *w, struct vol_set_info *info,
    struct err *e);
/* Give up: the volumes written so far are removed.  Accepts NULL. */
void vol_writer_abort(struct vol_writer *w);

/*
 * Read a set from its volumes, given in order (the labels are checked:
 * same set, sequence numbers 1..n, the end-of-volume labels naming the
 * next).  passphrase must be given for an encrypted set (a wrong one is
 * an error naming the volume).
 */
int vol_reader_open(const char *const *paths, size_t n,
    const char *passphrase, struct vol_reader **out, struct err *e);
/*
 * The next record: *type and its bytes (valid until the next call).
 * At the session end, after the trailer's count and digest were checked,
 * returns 0 with *type = 0.
 */
int vol_read_record(struct vol_reader *r, uint8_t *type, const uint8_t **p,
    size_t *n, struct err *e);
/* The set's label (valid after open). */
int vol_reader_kind(const struct vol_reader *r);
const uint8_t *vol_reader_set_uuid(const struct vol_reader *r);
const char *vol_reader_server(const struct vol_reader *r);
void vol_reader_close(struct vol_reader *r);	/* accepts NULL */

/*
 * Additions to the contract (coffer-vol, messages and progress):
 * where the reader is (the volume being read, its index in paths, and the
 * set-wide number of the next data block), and, after the session end,
 * the trailer's record count, payload bytes and digest.
 */
const char *vol_reader_path(const struct vol_reader *r, size_t *index,
    uint64_t *next_block);
int vol_reader_trailer(const struct vol_reader *r, uint64_t *records,
    uint64_t *bytes, uint8_t digest[32]);

/*
 * One volume's labels, read without a key and without reading its data:
 * the VOL1 serial, Coffer's label block and the end label (spacing over
 * the data file).  end_kind is 0 when the end label could not be read
 * (a truncated or damaged volume; end_error then says why).
 */
struct vol_volume_info {
	char		 serial[8];
	unsigned	 version;
	uint8_t		 set_uuid[16];
	uint32_t	 seq;
	uint32_t	 block_size;
	uint64_t	 created;	/* Unix seconds */
	int		 kind;		/* VOL_KIND_* */
	char		 server[VOL_NAME_MAX + 1];
	int		 encrypted;
	const char	*cipher;	/* "AES-256-GCM" or "none" */
	unsigned	 kdf_log_n, kdf_r, kdf_p;	/* scrypt */
	uint64_t	 first_block;
	uint64_t	 file_bytes;
	int		 end_kind;	/* 0 unreadable, 1 continues, 2 last */
	char		 next_serial[8];
	uint32_t	 blocks;	/* data blocks in this volume */
	char		 end_error[512];	/* ERR_MSG_MAX */
};
int vol_volume_info(const char *path, struct vol_volume_info *out,
    struct err *e);

#endif
