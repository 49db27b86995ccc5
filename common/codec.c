/*
 * codec.c - zstd with reused contexts; raw when compression does not help.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "codec.h"
#include "err.h"

struct codec {
	ZSTD_CCtx	*cctx;
	ZSTD_DCtx	*dctx;
	int		 level;
};

struct codec *
codec_new(int level, struct err *e)
{
	struct codec *c;

	if (level == 0)
		level = CODEC_LEVEL_DEFAULT;
	if (level < 1 || level > ZSTD_maxCLevel()) {
		err_set(e, COFFER_EINVAL, "compression level %d: must be 1..%d",
		    level, ZSTD_maxCLevel());
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		err_set(e, COFFER_ENOMEM, "codec: out of memory");
		return NULL;
	}
	c->level = level;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (c->cctx == NULL || c->dctx == NULL) {
		err_set(e, COFFER_ENOMEM, "zstd: cannot create context");
		codec_free(c);
		return NULL;
	}
	/* Sticky parameters: set once, reused by every ZSTD_compress2(). */
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
	return c;
}

void
codec_free(struct codec *c)
{
	if (c == NULL)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c);
}

size_t
codec_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

int
codec_encode(struct codec *c, const void *src, size_t n, void *dst,
    size_t dstcap, size_t *stored_len, uint8_t *codec_id, struct err *e)
{
	size_t r;

	if (dstcap < n)
		return err_set(e, COFFER_EINVAL, "codec: output buffer too small");
	r = ZSTD_compress2(c->cctx, dst, dstcap, src, n);
	if (ZSTD_isError(r))
		return err_set(e, COFFER_EINTERNAL, "zstd: %s",
		    ZSTD_getErrorName(r));
	if (r >= n) {
		/* Compression did not help: keep the plaintext. */
		memcpy(dst, src, n);
		*stored_len = n;
		*codec_id = CODEC_RAW;
		return 0;
	}
	*stored_len = r;
	*codec_id = CODEC_ZSTD;
	return 0;
}

int
codec_decode(struct codec *c, uint8_t codec_id, const void *src,
    size_t stored_len, void *dst, size_t raw_len, struct err *e)
{
	unsigned long long fcs;
	size_t r;

	switch (codec_id) {
	case CODEC_RAW:
		if (stored_len != raw_len)
			return err_set(e, COFFER_ECORRUPT,
			    "raw record: stored length %zu != raw length %zu",
			    stored_len, raw_len);
		memcpy(dst, src, raw_len);
		return 0;
	case CODEC_ZSTD:
		/* Check the frame's own size claim before trusting it. */
		fcs = ZSTD_getFrameContentSize(src, stored_len);
		if (fcs != raw_len)
			return err_set(e, COFFER_ECORRUPT,
			    "zstd record: frame content size does not match "
			    "raw length %zu", raw_len);
		r = ZSTD_decompressDCtx(c->dctx, dst, raw_len, src, stored_len);
		if (ZSTD_isError(r))
			return err_set(e, COFFER_ECORRUPT, "zstd: %s",
			    ZSTD_getErrorName(r));
		if (r != raw_len)
			return err_set(e, COFFER_ECORRUPT,
			    "zstd record: decoded %zu bytes, expected %zu",
			    r, raw_len);
		return 0;
	}
	return err_set(e, COFFER_ECORRUPT, "unknown codec %u", codec_id);
}
