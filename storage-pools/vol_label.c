/*
 * vol_label.c - the labels of a volume: the ANSI VOL1 record, Coffer's
 * label block (tape file 1) and the end label (tape file 3).  Offsets are
 * those of storage-pools/VOLUME-FORMAT.md; keep the two in step.
 *
 * Decoders never trust the bytes: the length, magic, version and CRC32C
 * are checked first, then every field against its range, and strings
 * must be printable and terminated inside their fields.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "err.h"
#include "util.h"
#include "vol_int.h"

void
vol_vol1_encode(uint8_t b[VOL_VOL1_LEN], const char *serial)
{
	static const char impl[] = "COFFER";

	memset(b, ' ', VOL_VOL1_LEN);
	memcpy(b, "VOL1", 4);
	memcpy(b + 4, serial, VOL_SERIAL_LEN);
	memcpy(b + 24, impl, sizeof(impl) - 1);	/* implementation id */
	b[79] = '3';				/* label standard: ANSI X3.27 */
}

/* Serial characters: ANSI "a" characters, A-Z and 0-9 here. */
static int
serial_ok(const uint8_t *s)
{
	for (size_t i = 0; i < VOL_SERIAL_LEN; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

int
vol_vol1_decode(const uint8_t *b, size_t n, char *serial, const char *what,
    struct err *e)
{
	if (n != VOL_VOL1_LEN || memcmp(b, "VOL1", 4) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: no VOL1 label "
		    "at the start: not a Coffer volume", what);
	if (!serial_ok(b + 4))
		return err_set(e, COFFER_ECORRUPT, "volume %s: VOL1 label: "
		    "bad volume serial", what);
	memcpy(serial, b + 4, VOL_SERIAL_LEN);
	serial[VOL_SERIAL_LEN] = '\0';
	return 0;
}

/* A NUL-padded string field: printable, terminated or full. */
static int
get_str(const uint8_t *p, size_t field, char *out, size_t outlen)
{
	size_t n = 0;

	while (n < field && p[n] != '\0') {
		if (p[n] < 0x20 || p[n] > 0x7e)
			return -1;
		n++;
	}
	for (size_t i = n; i < field; i++)
		if (p[i] != '\0')
			return -1;
	if (n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* s is a NUL-terminated string; only the field's first bytes are kept. */
static void
put_str(uint8_t *p, size_t field, const char *s)
{
	size_t n = strlen(s);

	if (n > field)
		n = field;

	memset(p, 0, field);
	memcpy(p, s, n);
}

void
vol_label_encode(uint8_t b[VOL_LABEL_LEN], const struct vol_label *l)
{
	memset(b, 0, VOL_LABEL_LEN);
	memcpy(b, VOL_LABEL_MAGIC, 8);
	util_put_le16(b + 8, l->version);
	util_put_le16(b + 10, VOL_LABEL_LEN);
	util_put_le32(b + 12, l->flags);
	memcpy(b + 16, l->set_uuid, 16);
	util_put_le32(b + 32, l->seq);
	util_put_le32(b + 36, l->block_size);
	util_put_le64(b + 40, l->created);
	util_put_le32(b + 48, l->kind);
	util_put_le64(b + 52, l->first_block);
	put_str(b + 60, 8, l->serial);
	put_str(b + 68, VOL_SERVER_MAX, l->server);
	b[132] = l->cipher;
	b[133] = l->kdf;
	b[134] = l->log_n;
	b[135] = l->r;
	b[136] = l->p;
	memcpy(b + 140, l->salt, VOL_SALT_LEN);
	memcpy(b + 156, l->kcv, VOL_TAG_LEN);
	memcpy(b + 172, l->tag, VOL_TAG_LEN);
	util_put_le32(b + 252, crc32c(0, b, 252));
}

static int
check_block(const uint8_t *b, size_t n, size_t len, const char *magic,
    const char *name, const char *what, struct err *e)
{
	uint32_t crc;

	if (n != len || memcmp(b, magic, 8) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: %s: missing "
		    "or unrecognised (%zu bytes)", what, name, n);
	crc = crc32c(0, b, len - 4);
	if (crc != util_get_le32(b + len - 4))
		return err_set(e, COFFER_ECORRUPT, "volume %s: %s damaged: "
		    "CRC32C 0x%08x, computed 0x%08x", what, name,
		    util_get_le32(b + len - 4), crc);
	if (util_get_le16(b + 8) != VOL_FORMAT_VERSION)
		return err_set(e, COFFER_EVERSION, "volume %s: %s: format "
		    "version %u, this program reads %u", what, name,
		    util_get_le16(b + 8), VOL_FORMAT_VERSION);
	if (util_get_le16(b + 10) != len)
		return err_set(e, COFFER_ECORRUPT, "volume %s: %s: length "
		    "field %u, expected %zu", what, name,
		    util_get_le16(b + 10), len);
	return 0;
}

static int
label_crypto_ok(const struct vol_label *l)
{
	if (!(l->flags & VOL_LABEL_F_ENCRYPTED))
		return l->cipher == VOL_CIPHER_NONE && l->kdf == VOL_KDF_NONE;
	return l->cipher == VOL_CIPHER_AES256GCM &&
	    l->kdf == VOL_KDF_SCRYPT &&
	    l->log_n >= VOL_KDF_LOG_N_MIN && l->log_n <= VOL_KDF_LOG_N_MAX &&
	    l->r >= 1 && l->r <= VOL_KDF_R_MAX &&
	    l->p >= 1 && l->p <= VOL_KDF_P_MAX;
}

int
vol_label_decode(const uint8_t *b, size_t n, struct vol_label *l,
    const char *what, struct err *e)
{
	int r;

	if ((r = check_block(b, n, VOL_LABEL_LEN, VOL_LABEL_MAGIC,
	    "label block", what, e)) != 0)
		return r;
	memset(l, 0, sizeof(*l));
	l->version = util_get_le16(b + 8);
	l->flags = util_get_le32(b + 12);
	memcpy(l->set_uuid, b + 16, 16);
	l->seq = util_get_le32(b + 32);
	l->block_size = util_get_le32(b + 36);
	l->created = util_get_le64(b + 40);
	l->kind = util_get_le32(b + 48);
	l->first_block = util_get_le64(b + 52);
	l->cipher = b[132];
	l->kdf = b[133];
	l->log_n = b[134];
	l->r = b[135];
	l->p = b[136];
	memcpy(l->salt, b + 140, VOL_SALT_LEN);
	memcpy(l->kcv, b + 156, VOL_TAG_LEN);
	memcpy(l->tag, b + 172, VOL_TAG_LEN);
	if (get_str(b + 60, 8, l->serial, sizeof(l->serial)) != 0 ||
	    strlen(l->serial) != VOL_SERIAL_LEN ||
	    get_str(b + 68, VOL_SERVER_MAX, l->server,
	    sizeof(l->server)) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: label block: "
		    "bad serial or server name", what);
	if ((l->flags & ~(uint32_t)VOL_LABEL_F_ENCRYPTED) != 0 ||
	    l->seq == 0 || l->block_size != VOL_DEV_BLOCK_MAX ||
	    (l->kind != VOL_KIND_EXPORT && l->kind != VOL_KIND_DBBACKUP) ||
	    l->first_block >= VOL_CTR_DATA_MAX || !label_crypto_ok(l))
		return err_set(e, COFFER_ECORRUPT, "volume %s: label block: "
		    "field out of range (flags 0x%x, seq %u, block size %u, "
		    "kind %u, cipher %u, kdf %u)", what, l->flags, l->seq,
		    l->block_size, l->kind, l->cipher, l->kdf);
	return 0;
}

void
vol_end_encode(uint8_t b[VOL_END_LEN], const struct vol_end *x)
{
	memset(b, 0, VOL_END_LEN);
	memcpy(b, VOL_END_MAGIC, 8);
	util_put_le16(b + 8, VOL_FORMAT_VERSION);
	util_put_le16(b + 10, VOL_END_LEN);
	util_put_le32(b + 12, x->kind);
	memcpy(b + 16, x->set_uuid, 16);
	util_put_le32(b + 32, x->seq);
	util_put_le32(b + 36, x->blocks);
	util_put_le64(b + 40, x->first_block);
	put_str(b + 48, 8, x->next_serial);
	memcpy(b + 64, x->tag, VOL_TAG_LEN);
	util_put_le32(b + 124, crc32c(0, b, 124));
}

int
vol_end_decode(const uint8_t *b, size_t n, struct vol_end *x,
    const char *what, struct err *e)
{
	int r;

	if ((r = check_block(b, n, VOL_END_LEN, VOL_END_MAGIC, "end label",
	    what, e)) != 0)
		return r;
	memset(x, 0, sizeof(*x));
	x->kind = util_get_le32(b + 12);
	memcpy(x->set_uuid, b + 16, 16);
	x->seq = util_get_le32(b + 32);
	x->blocks = util_get_le32(b + 36);
	x->first_block = util_get_le64(b + 40);
	memcpy(x->tag, b + 64, VOL_TAG_LEN);
	if (get_str(b + 48, 8, x->next_serial, sizeof(x->next_serial)) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: end label: bad "
		    "next serial", what);
	if ((x->kind != VOL_END_EOV && x->kind != VOL_END_EOS) ||
	    (x->kind == VOL_END_EOV) !=
	    (strlen(x->next_serial) == VOL_SERIAL_LEN) ||
	    (x->kind == VOL_END_EOV &&
	    !serial_ok((const uint8_t *)x->next_serial)) ||
	    x->first_block >= VOL_CTR_DATA_MAX)
		return err_set(e, COFFER_ECORRUPT, "volume %s: end label: "
		    "field out of range (kind %u)", what, x->kind);
	return 0;
}

int
vol_serial_number(const char *name)
{
	int v = 0;

	if (name[0] != VOL_SERIAL_PREFIX)
		return -1;
	for (int i = 1; i < VOL_SERIAL_LEN; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return strcmp(name + VOL_SERIAL_LEN, ".vol") == 0 ? v : -1;
}
