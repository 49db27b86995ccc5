/*
 * vol_int.h - private to vol_*.c: the on-volume structures of
 * storage-pools/VOLUME-FORMAT.md and the per-set cipher.
 *
 * On-disk numbers are pinned: never renumber or reuse a value; add new
 * ones and raise VOL_FORMAT_VERSION when the meaning of a field changes.
 */
#ifndef COFFER_VOL_INT_H
#define COFFER_VOL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "vol.h"
#include "vol_dev.h"

struct err;

#define VOL_FORMAT_VERSION	1

/* Tape file 1, block 1: the ANSI X3.27 volume label. */
#define VOL_VOL1_LEN		80
#define VOL_SERIAL_LEN		6
#define VOL_SERIAL_PREFIX	'C'

/* Tape file 1, block 2: Coffer's label. */
#define VOL_LABEL_LEN		256
#define VOL_LABEL_MAGIC		"COFFVOL1"
#define VOL_SERVER_MAX		64	/* bytes of the server name field */
#define VOL_LABEL_F_ENCRYPTED	0x1
#define VOL_CIPHER_NONE		0
#define VOL_CIPHER_AES256GCM	1
#define VOL_KDF_NONE		0
#define VOL_KDF_SCRYPT		1
#define VOL_SALT_LEN		16
#define VOL_TAG_LEN		16
#define VOL_KDF_LOG_N		15	/* scrypt N = 2^15, r = 8, p = 1 */
#define VOL_KDF_R		8
#define VOL_KDF_P		1
/* Bounds on KDF parameters read back: a hostile label must not cost
 * minutes or gigabytes. */
#define VOL_KDF_LOG_N_MIN	10
#define VOL_KDF_LOG_N_MAX	20
#define VOL_KDF_R_MAX		32
#define VOL_KDF_P_MAX		16

/* Tape file 2: data blocks. */
#define VOL_DATA_MAGIC		"CFDB"
#define VOL_DATA_HDR_LEN	24
/* Payload bytes of a data block: the same whether sealed or not. */
#define VOL_DATA_MAX		(VOL_DEV_BLOCK_MAX - VOL_DATA_HDR_LEN - \
				 VOL_TAG_LEN)

/* Tape file 3: the end label. */
#define VOL_END_LEN		128
#define VOL_END_MAGIC		"COFFEND1"
#define VOL_END_EOV		1	/* the set continues on next_serial */
#define VOL_END_EOS		2	/* the set (and its session) ends here */

/* The record stream. */
#define VOL_REC_HDR_LEN		5	/* u8 type, u32 LE length */
#define VOL_REC_TRAILER		0	/* type of the session trailer */
#define VOL_TRAILER_LEN		48	/* u64 records, u64 bytes, digest */

/*
 * GCM nonce counters (nonce = 4 bytes of SHA-256(set UUID) || u64 LE
 * counter).  Data block n uses n; labels and the key check live in
 * ranges data blocks can never reach, so no nonce repeats under a key.
 */
#define VOL_CTR_DATA_MAX	((uint64_t)1 << 62)
#define VOL_CTR_LABEL		((uint64_t)1 << 62)	/* | volume seq */
#define VOL_CTR_END		((uint64_t)1 << 63)	/* | volume seq */
#define VOL_CTR_KCV		UINT64_MAX

/* Room a volume keeps after the early warning: a data block, the
 * tapemark, the end label block and the double tapemark. */
#define VOL_EW_RESERVE		(VOL_BLOCK + 3 * VOL_DEV_HDR_LEN + \
				 VOL_DEV_HDR_LEN + VOL_END_LEN + 64)

struct vol_label {
	char		 serial[VOL_SERIAL_LEN + 1];	/* from VOL1 */
	uint16_t	 version;
	uint32_t	 flags;
	uint8_t		 set_uuid[16];
	uint32_t	 seq;		/* 1-based in the set */
	uint32_t	 block_size;	/* VOL_DEV_BLOCK_MAX */
	uint64_t	 created;	/* Unix seconds */
	uint32_t	 kind;		/* VOL_KIND_* */
	uint64_t	 first_block;	/* set-wide number of its first block */
	char		 server[VOL_SERVER_MAX + 1];
	uint8_t		 cipher;
	uint8_t		 kdf;
	uint8_t		 log_n;
	uint8_t		 r;
	uint8_t		 p;
	uint8_t		 salt[VOL_SALT_LEN];
	uint8_t		 kcv[VOL_TAG_LEN];
	uint8_t		 tag[VOL_TAG_LEN];
};

struct vol_end {
	uint32_t	 kind;		/* VOL_END_* */
	uint8_t		 set_uuid[16];
	uint32_t	 seq;
	uint32_t	 blocks;	/* data blocks in this volume */
	uint64_t	 first_block;
	char		 next_serial[VOL_SERIAL_LEN + 1];
	uint8_t		 tag[VOL_TAG_LEN];
};

/* vol_label.c: encoders fill whole fixed-size blocks; decoders check
 * magic, version, CRC and every field's range; messages name `what`. */
void vol_vol1_encode(uint8_t b[VOL_VOL1_LEN], const char *serial);
int vol_vol1_decode(const uint8_t *b, size_t n, char *serial,
    const char *what, struct err *e);
void vol_label_encode(uint8_t b[VOL_LABEL_LEN], const struct vol_label *l);
int vol_label_decode(const uint8_t *b, size_t n, struct vol_label *l,
    const char *what, struct err *e);
/* Bytes of an encoded label / end label that their GCM tag covers. */
#define VOL_LABEL_TAGGED	172
#define VOL_END_TAGGED		64
void vol_end_encode(uint8_t b[VOL_END_LEN], const struct vol_end *x);
int vol_end_decode(const uint8_t *b, size_t n, struct vol_end *x,
    const char *what, struct err *e);
/* Serial from a file name "C00012.vol" (else -1). */
int vol_serial_number(const char *name);

/* vol_crypt.c: AES-256-GCM under scrypt(passphrase, salt). */
struct vol_crypt;
int vol_crypt_new(const char *passphrase, const uint8_t salt[VOL_SALT_LEN],
    unsigned log_n, unsigned r, unsigned p, const uint8_t set_uuid[16],
    struct vol_crypt **out, struct err *e);
void vol_crypt_free(struct vol_crypt *c);
/* Encrypt n bytes in place; tag out.  COFFER_EINTERNAL on failure. */
int vol_crypt_seal(struct vol_crypt *c, uint64_t ctr, const uint8_t *aad,
    size_t aadlen, uint8_t *buf, size_t n, uint8_t tag[VOL_TAG_LEN],
    struct err *e);
/* Decrypt in place; COFFER_ECORRUPT when the tag does not match (the
 * caller names the block), and buf must then not be used. */
int vol_crypt_open(struct vol_crypt *c, uint64_t ctr, const uint8_t *aad,
    size_t aadlen, uint8_t *buf, size_t n, const uint8_t tag[VOL_TAG_LEN],
    struct err *e);
/* The key check value stored in every label of the set. */
int vol_crypt_kcv(struct vol_crypt *c, uint8_t kcv[VOL_TAG_LEN],
    struct err *e);

#endif
