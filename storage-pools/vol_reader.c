/*
 * vol_reader.c - read a set's record stream back, checking everything.
 *
 * What is checked, and where a failure is reported:
 *  - every volume: VOL1 and label block (CRC32C; GCM tag when encrypted),
 *    the label's serial equals VOL1's, the set UUID is the first
 *    volume's, the sequence number is its place in the list, the first
 *    block number continues the previous volume, the salt and key check
 *    are the set's;
 *  - the key: the key check value of the first label (a wrong passphrase
 *    is COFFER_EAUTH, not "damaged");
 *  - every data block: magic, volume number, set-wide block number in
 *    order, length, CRC32C, GCM tag (AAD: header and set UUID, so a block
 *    moved, swapped or cut is caught even with a recomputed CRC);
 *  - every end label: same set and volume, the block count, and for an
 *    end-of-volume the next serial is the next volume given;
 *  - the stream: record lengths within VOL_RECORD_MAX, the trailer's
 *    count, bytes and SHA-256 digest, nothing after the trailer, no
 *    volume given after the last.
 * Messages name the volume path, and for block damage the block number.
 *
 * Memory: one block buffer and one record buffer that grows to the
 * largest record (at most VOL_RECORD_MAX).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crc32c.h"
#include "err.h"
#include "util.h"
#include "vol.h"
#include "vol_dev.h"
#include "vol_int.h"

#define PATH_LEN	4096
#define REC_MIN		(64u << 10)

struct vol_reader {
	char		 (*paths)[PATH_LEN];
	size_t		 npaths;
	size_t		 cur;		/* index of the volume being read */
	struct vol_dev	*dev;
	struct vol_label set;		/* the first volume's label */
	struct vol_label lab;		/* the current volume's */
	struct vol_crypt *crypt;
	uint8_t		*blk;		/* VOL_DEV_BLOCK_MAX bytes */
	size_t		 off;		/* next payload byte in blk */
	size_t		 end;		/* end of payload in blk */
	uint64_t	 next_block;	/* set-wide number expected next */
	uint32_t	 vol_blocks;
	uint8_t		*rec;
	size_t		 reccap;
	EVP_MD		*sha;
	EVP_MD_CTX	*md;
	uint64_t	 records;
	uint64_t	 bytes;
	uint8_t		 digest[32];
	int		 done;
	int		 broken;
};

static const char *
path(const struct vol_reader *r)
{
	return r->paths[r->cur];
}

/* A block of exactly n bytes (labels). */
static int
read_exact(struct vol_reader *r, size_t n, const char *what, struct err *e)
{
	size_t got;
	int rc;

	rc = r->dev->ops->read_block(r->dev, r->blk, VOL_DEV_BLOCK_MAX, &got,
	    e);
	if (rc < 0)
		return rc;
	if (rc != VOL_DEV_DATA || got != n)
		return err_set(e, COFFER_ECORRUPT, "volume %s: %s missing "
		    "(found %s of %zu bytes): truncated or not a Coffer volume",
		    path(r), what, rc == VOL_DEV_TAPEMARK ? "a tapemark" :
		    rc == VOL_DEV_EOD ? "the end of data" : "a block", got);
	return 0;
}

static int
expect_tapemark(struct vol_reader *r, const char *where, struct err *e)
{
	size_t got;
	int rc;

	rc = r->dev->ops->read_block(r->dev, r->blk, VOL_DEV_BLOCK_MAX, &got,
	    e);
	if (rc < 0)
		return rc;
	if (rc != VOL_DEV_TAPEMARK)
		return err_set(e, COFFER_ECORRUPT, "volume %s: no tapemark %s",
		    path(r), where);
	return 0;
}

/* First volume: the key, checked against the label's key check value. */
static int
set_key(struct vol_reader *r, const char *pass, struct err *e)
{
	uint8_t kcv[VOL_TAG_LEN];
	int rc;

	if (!(r->set.flags & VOL_LABEL_F_ENCRYPTED))
		return 0;
	if (pass == NULL || pass[0] == '\0')
		return err_set(e, COFFER_EAUTH, "volume %s: the set is "
		    "encrypted: a passphrase is needed", path(r));
	if ((rc = vol_crypt_new(pass, r->set.salt, r->set.log_n, r->set.r,
	    r->set.p, r->set.set_uuid, &r->crypt, e)) != 0 ||
	    (rc = vol_crypt_kcv(r->crypt, kcv, e)) != 0)
		return rc;
	if (CRYPTO_memcmp(kcv, r->set.kcv, sizeof(kcv)) != 0)
		return err_set(e, COFFER_EAUTH, "volume %s: wrong passphrase "
		    "(the key check value does not match)", path(r));
	return 0;
}

static int
label_tag_ok(struct vol_reader *r, const uint8_t *b, struct err *e)
{
	if (r->crypt == NULL)
		return 0;
	if (vol_crypt_open(r->crypt, VOL_CTR_LABEL | r->lab.seq, b,
	    VOL_LABEL_TAGGED, NULL, 0, r->lab.tag, e) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: label block "
		    "failed authentication: altered", path(r));
	return 0;
}

static void
uuid_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* A later volume must continue the set exactly where the last one ended. */
static int
check_continues(struct vol_reader *r, const char *expect, struct err *e)
{
	const struct vol_label *l = &r->lab;
	char a[37], b[37];

	if (memcmp(l->set_uuid, r->set.set_uuid, 16) != 0) {
		uuid_str(l->set_uuid, a);
		uuid_str(r->set.set_uuid, b);
		return err_set(e, COFFER_ECORRUPT, "volume %s (%s) belongs to "
		    "another set (%s, not %s)", path(r), l->serial, a, b);
	}
	if (strcmp(l->serial, expect) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s is %s (volume %u "
		    "of the set), but %s names %s as the next volume: volumes "
		    "given in the wrong order, or one is missing", path(r),
		    l->serial, l->seq, r->paths[r->cur - 1], expect);
	if (l->seq != r->cur + 1 || l->first_block != r->next_block)
		return err_set(e, COFFER_ECORRUPT, "volume %s: label says "
		    "volume %u starting at block %llu; expected volume %zu "
		    "at block %llu", path(r), l->seq,
		    (unsigned long long)l->first_block, r->cur + 1,
		    (unsigned long long)r->next_block);
	if (l->flags != r->set.flags || l->kind != r->set.kind ||
	    memcmp(l->salt, r->set.salt, VOL_SALT_LEN) != 0 ||
	    memcmp(l->kcv, r->set.kcv, VOL_TAG_LEN) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: label differs "
		    "from the set's (kind, encryption or key)", path(r));
	return 0;
}

static int
check_first(struct vol_reader *r, struct err *e)
{
	if (r->lab.seq != 1)
		return err_set(e, COFFER_ECORRUPT, "volume %s (%s) is volume "
		    "%u of its set, not the first: volumes given in the wrong "
		    "order, or the first is missing", path(r), r->lab.serial,
		    r->lab.seq);
	if (r->lab.first_block != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: first volume "
		    "starts at block %llu", path(r),
		    (unsigned long long)r->lab.first_block);
	return 0;
}

/* Open paths[idx] and read its tape file 1; expect: the serial the
 * previous end label named (NULL for the first volume). */
static int
open_volume(struct vol_reader *r, size_t idx, const char *expect,
    const char *pass, struct err *e)
{
	char serial[VOL_SERIAL_LEN + 1];
	int rc;

	vol_dev_close(r->dev, NULL);
	r->dev = NULL;
	r->cur = idx;
	r->vol_blocks = 0;
	if ((rc = vol_dev_file_open(path(r), &r->dev, e)) != 0 ||
	    (rc = read_exact(r, VOL_VOL1_LEN, "VOL1 label", e)) != 0 ||
	    (rc = vol_vol1_decode(r->blk, VOL_VOL1_LEN, serial, path(r),
	    e)) != 0 ||
	    (rc = read_exact(r, VOL_LABEL_LEN, "label block", e)) != 0 ||
	    (rc = vol_label_decode(r->blk, VOL_LABEL_LEN, &r->lab, path(r),
	    e)) != 0)
		return rc;
	if (strcmp(serial, r->lab.serial) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: VOL1 says %s, "
		    "the label block %s", path(r), serial, r->lab.serial);
	if (expect == NULL) {
		r->set = r->lab;
		if ((rc = check_first(r, e)) != 0 ||
		    (rc = set_key(r, pass, e)) != 0)
			return rc;
	} else if ((rc = check_continues(r, expect, e)) != 0)
		return rc;
	/* The tag is checked once the key is known to be right; r->blk
	 * still holds the label block. */
	if ((rc = label_tag_ok(r, r->blk, e)) != 0)
		return rc;
	return expect_tapemark(r, "after the label", e);
}

/* Tape file 3: the end label and the double tapemark. */
static int
read_end(struct vol_reader *r, struct vol_end *x, struct err *e)
{
	int rc;

	if ((rc = read_exact(r, VOL_END_LEN, "end label", e)) != 0 ||
	    (rc = vol_end_decode(r->blk, VOL_END_LEN, x, path(r), e)) != 0)
		return rc;
	if (memcmp(x->set_uuid, r->set.set_uuid, 16) != 0 ||
	    x->seq != r->lab.seq || x->first_block != r->lab.first_block ||
	    x->blocks != r->vol_blocks)
		return err_set(e, COFFER_ECORRUPT, "volume %s: end label does "
		    "not match the volume (volume %u, %u blocks from %llu; "
		    "read %u blocks)", path(r), x->seq, x->blocks,
		    (unsigned long long)x->first_block, r->vol_blocks);
	if (r->crypt != NULL && vol_crypt_open(r->crypt, VOL_CTR_END | x->seq,
	    r->blk, VOL_END_TAGGED, NULL, 0, x->tag, e) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: end label "
		    "failed authentication: altered", path(r));
	if ((rc = expect_tapemark(r, "after the end label", e)) != 0 ||
	    (rc = expect_tapemark(r, "at the end of data (double "
	    "tapemark)", e)) != 0)
		return rc;
	return 0;
}

/* Block damage: the message names the volume and the block. */
static int
block_err(struct vol_reader *r, const char *fmt, const char *detail,
    struct err *e)
{
	return err_set(e, COFFER_ECORRUPT, "volume %s: block %llu: %s%s",
	    path(r), (unsigned long long)r->next_block, fmt, detail);
}

static int
decode_block(struct vol_reader *r, size_t n, struct err *e)
{
	size_t const tag = r->crypt != NULL ? VOL_TAG_LEN : 0;
	uint8_t *const h = r->blk;
	uint8_t aad[20 + 16];
	uint32_t len, crc;
	char d[96];

	if (n < VOL_DATA_HDR_LEN || memcmp(h, VOL_DATA_MAGIC, 4) != 0)
		return block_err(r, "not a data block", "", e);
	len = util_get_le32(h + 16);
	if (len == 0 || len > VOL_DATA_MAX ||
	    n != VOL_DATA_HDR_LEN + len + tag) {
		snprintf(d, sizeof(d), " (payload %u, block %zu bytes)", len, n);
		return block_err(r, "bad length", d, e);
	}
	crc = crc32c(crc32c(0, h, 20), h + VOL_DATA_HDR_LEN,
	    n - VOL_DATA_HDR_LEN);
	if (crc != util_get_le32(h + 20)) {
		snprintf(d, sizeof(d), " (stored 0x%08x, computed 0x%08x)",
		    util_get_le32(h + 20), crc);
		return block_err(r, "CRC32C mismatch: damaged", d, e);
	}
	if (util_get_le32(h + 4) != r->lab.seq ||
	    util_get_le64(h + 8) != r->next_block) {
		snprintf(d, sizeof(d), " (found block %llu of volume %u)",
		    (unsigned long long)util_get_le64(h + 8),
		    util_get_le32(h + 4));
		return block_err(r, "out of sequence: blocks lost or moved", d,
		    e);
	}
	if (r->crypt != NULL) {
		memcpy(aad, h, 20);
		memcpy(aad + 20, r->set.set_uuid, 16);
		if (vol_crypt_open(r->crypt, r->next_block, aad, sizeof(aad),
		    h + VOL_DATA_HDR_LEN, len, h + VOL_DATA_HDR_LEN + len,
		    e) != 0)
			return block_err(r, "failed authentication (GCM tag): "
			    "altered", "", e);
	}
	r->off = VOL_DATA_HDR_LEN;
	r->end = VOL_DATA_HDR_LEN + len;
	r->next_block++;
	r->vol_blocks++;
	return 0;
}

/* The data file ended (tapemark): read the end label; go to the next
 * volume for an end-of-volume. */
static int
next_volume(struct vol_reader *r, struct err *e)
{
	struct vol_end x;
	int rc;

	if ((rc = read_end(r, &x, e)) != 0)
		return rc;
	if (x.kind == VOL_END_EOS)
		return err_set(e, COFFER_ECORRUPT, "volume %s: the set ends "
		    "here without a session trailer: records missing",
		    path(r));
	if (r->cur + 1 == r->npaths)
		return err_set(e, COFFER_ENOTFOUND, "volume %s: the set "
		    "continues on volume %s, which was not given: volume "
		    "missing", path(r), x.next_serial);
	return open_volume(r, r->cur + 1, x.next_serial, NULL, e);
}

static int
next_block(struct vol_reader *r, struct err *e)
{
	size_t n;
	int rc;

	for (;;) {
		rc = r->dev->ops->read_block(r->dev, r->blk,
		    VOL_DEV_BLOCK_MAX, &n, e);
		if (rc < 0)
			return err_wrap(e, "reading block %llu",
			    (unsigned long long)r->next_block);
		if (rc == VOL_DEV_DATA)
			return decode_block(r, n, e);
		if (rc == VOL_DEV_EOD)
			return err_set(e, COFFER_ECORRUPT, "volume %s: ends "
			    "after block %llu without an end label: "
			    "truncated", path(r),
			    (unsigned long long)r->next_block - 1);
		if ((rc = next_volume(r, e)) != 0)
			return rc;
	}
}

static int
stream_get(struct vol_reader *r, uint8_t *dst, size_t n, struct err *e)
{
	int rc;

	while (n > 0) {
		size_t k;

		if (r->off == r->end && (rc = next_block(r, e)) != 0)
			return rc;
		k = r->end - r->off < n ? r->end - r->off : n;
		memcpy(dst, r->blk + r->off, k);
		r->off += k;
		dst += k;
		n -= k;
	}
	return 0;
}

/* The trailer ends the stream, the block, the data file and the set. */
static int
read_trailer(struct vol_reader *r, uint32_t len, struct err *e)
{
	uint8_t t[VOL_TRAILER_LEN], d[32];
	unsigned int dlen;
	struct vol_end x;
	int rc;

	if (len != VOL_TRAILER_LEN)
		return err_set(e, COFFER_ECORRUPT, "volume %s: session "
		    "trailer of %u bytes", path(r), len);
	if ((rc = stream_get(r, t, sizeof(t), e)) != 0)
		return rc;
	if (EVP_DigestFinal_ex(r->md, d, &dlen) != 1)
		return err_set(e, COFFER_EINTERNAL, "volume reader: SHA-256");
	if (util_get_le64(t) != r->records || util_get_le64(t + 8) != r->bytes)
		return err_set(e, COFFER_ECORRUPT, "volume %s: session trailer "
		    "says %llu records of %llu bytes, %llu of %llu were read",
		    path(r), (unsigned long long)util_get_le64(t),
		    (unsigned long long)util_get_le64(t + 8),
		    (unsigned long long)r->records,
		    (unsigned long long)r->bytes);
	if (CRYPTO_memcmp(d, t + 16, 32) != 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: session trailer "
		    "digest does not match the records read", path(r));
	memcpy(r->digest, d, 32);
	if (r->off != r->end)
		return err_set(e, COFFER_ECORRUPT, "volume %s: bytes after the "
		    "session trailer in block %llu", path(r),
		    (unsigned long long)r->next_block - 1);
	if ((rc = expect_tapemark(r, "after the session trailer", e)) != 0 ||
	    (rc = read_end(r, &x, e)) != 0)
		return rc;
	if (x.kind != VOL_END_EOS)
		return err_set(e, COFFER_ECORRUPT, "volume %s: session ended "
		    "but the end label names a next volume", path(r));
	if (r->cur + 1 != r->npaths)
		return err_set(e, COFFER_EINVAL, "volume %s was given after "
		    "%s, the last volume of the set", r->paths[r->cur + 1],
		    path(r));
	r->done = 1;
	return 0;
}

static int
grow_rec(struct vol_reader *r, size_t n, struct err *e)
{
	size_t cap = r->reccap;
	void *p;

	if (n <= cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if (cap > VOL_RECORD_MAX)
		cap = VOL_RECORD_MAX;
	if ((p = realloc(r->rec, cap)) == NULL)
		return err_set(e, COFFER_ENOMEM, "volume reader: record of %zu "
		    "bytes: out of memory", n);
	r->rec = p;
	r->reccap = cap;
	return 0;
}

static int
read_record(struct vol_reader *r, uint8_t *type, const uint8_t **p,
    size_t *n, struct err *e)
{
	uint8_t h[VOL_REC_HDR_LEN];
	uint32_t len;
	int rc;

	if ((rc = stream_get(r, h, sizeof(h), e)) != 0)
		return rc;
	len = util_get_le32(h + 1);
	if (h[0] == VOL_REC_TRAILER)
		return read_trailer(r, len, e);
	if (len > VOL_RECORD_MAX)
		return err_set(e, COFFER_ECORRUPT, "volume %s: block %llu: "
		    "record type %u of %u bytes exceeds the limit %u",
		    path(r), (unsigned long long)r->next_block - 1, h[0], len,
		    VOL_RECORD_MAX);
	if (len <= r->end - r->off) {
		/* Inside the block read (most records): no copy. */
		*p = r->blk + r->off;
		r->off += len;
	} else {
		if ((rc = grow_rec(r, len, e)) != 0 ||
		    (rc = stream_get(r, r->rec, len, e)) != 0)
			return rc;
		*p = r->rec;
	}
	if (EVP_DigestUpdate(r->md, h, sizeof(h)) != 1 ||
	    (len > 0 && EVP_DigestUpdate(r->md, *p, len) != 1))
		return err_set(e, COFFER_EINTERNAL, "volume reader: SHA-256");
	r->records++;
	r->bytes += len;
	*type = h[0];
	*n = len;
	return 0;
}

int
vol_read_record(struct vol_reader *r, uint8_t *type, const uint8_t **p,
    size_t *n, struct err *e)
{
	int rc;

	*type = 0;
	*p = NULL;
	*n = 0;
	if (r->done)
		return 0;
	if (r->broken)
		return err_set(e, COFFER_EINVAL, "volume reader: an earlier "
		    "read failed");
	if ((rc = read_record(r, type, p, n, e)) != 0) {
		r->broken = 1;
		*type = 0;
		*p = NULL;
		*n = 0;
	}
	return rc;
}

int
vol_reader_open(const char *const *paths, size_t n, const char *passphrase,
    struct vol_reader **out, struct err *e)
{
	struct vol_reader *r = NULL;
	int rc = COFFER_ENOMEM;

	*out = NULL;
	if (n == 0)
		return err_set(e, COFFER_EINVAL, "volume reader: no volumes");
	for (size_t i = 0; i < n; i++)
		if (strlen(paths[i]) >= PATH_LEN)
			return err_set(e, COFFER_EINVAL, "volume path too "
			    "long: %.64s...", paths[i]);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->paths = calloc(n, PATH_LEN)) == NULL ||
	    (r->blk = malloc(VOL_DEV_BLOCK_MAX)) == NULL ||
	    (r->rec = malloc(REC_MIN)) == NULL) {
		rc = err_set(e, COFFER_ENOMEM, "volume reader: out of memory");
		goto out;
	}
	r->reccap = REC_MIN;
	r->npaths = n;
	for (size_t i = 0; i < n; i++)
		snprintf(r->paths[i], PATH_LEN, "%s", paths[i]);
	if ((r->sha = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (r->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex2(r->md, r->sha, NULL) != 1) {
		rc = err_set(e, COFFER_EINTERNAL, "volume reader: SHA-256");
		goto out;
	}
	if ((rc = open_volume(r, 0, NULL, passphrase, e)) != 0)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	vol_reader_close(r);
	return rc;
}

int
vol_reader_kind(const struct vol_reader *r)
{
	return (int)r->set.kind;
}

const uint8_t *
vol_reader_set_uuid(const struct vol_reader *r)
{
	return r->set.set_uuid;
}

const char *
vol_reader_server(const struct vol_reader *r)
{
	return r->set.server;
}

const char *
vol_reader_path(const struct vol_reader *r, size_t *index,
    uint64_t *next)
{
	if (index != NULL)
		*index = r->cur;
	if (next != NULL)
		*next = r->next_block;
	return path(r);
}

int
vol_reader_trailer(const struct vol_reader *r, uint64_t *records,
    uint64_t *bytes, uint8_t digest[32])
{
	if (!r->done)
		return COFFER_EINVAL;
	*records = r->records;
	*bytes = r->bytes;
	memcpy(digest, r->digest, 32);
	return 0;
}

void
vol_reader_close(struct vol_reader *r)
{
	if (r == NULL)
		return;
	vol_dev_close(r->dev, NULL);
	vol_crypt_free(r->crypt);
	EVP_MD_CTX_free(r->md);
	EVP_MD_free(r->sha);
	free(r->paths);
	free(r->blk);
	free(r->rec);
	free(r);
}
