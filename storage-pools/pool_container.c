/*
 * pool_container.c - encode and check container headers (format in the .h).
 */
#include "config.h"

#include <string.h>

#include "codec.h"
#include "crc32c.h"
#include "err.h"
#include "pool_container.h"
#include "util.h"

void
pool_container_file_hdr_encode(uint8_t out[CTR_FILE_HDR_LEN],
    const struct ctr_file_hdr *h)
{
	memset(out, 0, CTR_FILE_HDR_LEN);
	memcpy(out, CTR_FILE_MAGIC, 8);
	util_put_le32(out + 8, CTR_FILE_VERSION);
	util_put_le32(out + 12, CTR_FILE_HDR_LEN);
	util_put_le64(out + 16, h->id);
	memcpy(out + 24, h->pool_uuid, 16);
	util_put_le64(out + 40, h->created);
	util_put_le32(out + 60, crc32c(0, out, 60));
}

int
pool_container_file_hdr_decode(const uint8_t in[CTR_FILE_HDR_LEN],
    struct ctr_file_hdr *h, struct err *e)
{
	if (memcmp(in, CTR_FILE_MAGIC, 8) != 0)
		return err_set(e, COFFER_ECORRUPT, "not a container (bad magic)");
	if (util_get_le32(in + 60) != crc32c(0, in, 60))
		return err_set(e, COFFER_ECORRUPT, "container header CRC mismatch");
	if (util_get_le32(in + 8) != CTR_FILE_VERSION ||
	    util_get_le32(in + 12) != CTR_FILE_HDR_LEN)
		return err_set(e, COFFER_EVERSION,
		    "container format version %u not supported",
		    util_get_le32(in + 8));
	h->id = util_get_le64(in + 16);
	memcpy(h->pool_uuid, in + 24, 16);
	h->created = util_get_le64(in + 40);
	return 0;
}

void
pool_container_rec_hdr_encode(uint8_t out[CTR_REC_HDR_LEN],
    const struct ctr_rec_hdr *h)
{
	memset(out, 0, CTR_REC_HDR_LEN);
	util_put_le32(out, CTR_REC_MAGIC);
	out[4] = h->codec;
	util_put_le32(out + 8, h->raw_len);
	util_put_le32(out + 12, h->stored_len);
	memcpy(out + 16, h->hash, HASH_LEN);
	util_put_le32(out + 48, h->crc);
	util_put_le32(out + 60, crc32c(0, out, 60));
}

int
pool_container_rec_hdr_decode(const uint8_t in[CTR_REC_HDR_LEN],
    uint32_t max_raw, struct ctr_rec_hdr *h, struct err *e)
{
	if (util_get_le32(in) != CTR_REC_MAGIC)
		return err_set(e, COFFER_ECORRUPT, "bad record magic");
	if (util_get_le32(in + 60) != crc32c(0, in, 60))
		return err_set(e, COFFER_ECORRUPT, "record header CRC mismatch");
	h->codec = in[4];
	h->raw_len = util_get_le32(in + 8);
	h->stored_len = util_get_le32(in + 12);
	memcpy(h->hash, in + 16, HASH_LEN);
	h->crc = util_get_le32(in + 48);
	if (h->codec != CODEC_RAW && h->codec != CODEC_ZSTD)
		return err_set(e, COFFER_ECORRUPT, "record codec %u unknown",
		    h->codec);
	if (h->raw_len == 0 || h->raw_len > max_raw ||
	    h->stored_len == 0 || h->stored_len > codec_bound(h->raw_len))
		return err_set(e, COFFER_ECORRUPT,
		    "record lengths raw %u stored %u out of range",
		    h->raw_len, h->stored_len);
	if (h->codec == CODEC_RAW && h->stored_len != h->raw_len)
		return err_set(e, COFFER_ECORRUPT,
		    "raw record stored length %u != raw length %u",
		    h->stored_len, h->raw_len);
	return 0;
}
