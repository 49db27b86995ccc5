/*
 * vol_dev_file.c - the FILE device class: a volume is an AWSTAPE file.
 *
 * AWSTAPE (P/390, Hercules awstape.c) puts a 6-byte header before every
 * block:
 *
 *	0  u16 LE  curblkl	length of this block (0 for a tapemark)
 *	2  u16 LE  prvblkl	curblkl of the header before (0 at the start
 *				and after a tapemark)
 *	4  u8      flags1	0x80 new record, 0x40 tapemark, 0x20 end of
 *				record
 *	5  u8      flags2	0
 *
 * A block may be split into segments (0x80 on the first, 0x20 on the
 * last); Coffer writes every block as one segment (flags1 0xA0), so the
 * reader refuses segmented blocks as not ours.  prvblkl makes the file
 * walkable backwards, which is how space-back works.  The end of the file
 * is the end of data, as Hercules sets it with ftruncate after a write.
 *
 * Never trust the file: every header is checked (flags, lengths, the
 * previous length against what was read before it, the block inside the
 * file) before its bytes are used.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "vol_dev.h"

#define AWS_NEWREC	0x80
#define AWS_TAPEMARK	0x40
#define AWS_ENDREC	0x20

struct file_dev {
	struct vol_dev	 dev;
	int		 fd;
	int		 writable;
	uint64_t	 pos;		/* offset of the next header */
	uint64_t	 size;		/* end of data */
	uint16_t	 prvlen;	/* curblkl of the header before pos */
	int		 prv_known;	/* prvlen is valid (not after a BSR) */
	uint64_t	 blockid;	/* blocks and tapemarks before pos */
	uint64_t	 maxcap;
	uint64_t	 ew_reserve;
	uint64_t	 ahead;		/* read ahead up to here (reading) */
	uint64_t	 flushed;	/* writeback started up to here */
};

/*
 * Reading, the kernel's own readahead (128 KiB on this kind of disk)
 * leaves a cold volume read latency-bound at two preads per block; a
 * window hinted well ahead of the reader keeps the device streaming
 * while the caller works on what it read.
 */
#define AHEAD_WINDOW	(32ull << 20)

/*
 * Writing, the volume's dirty pages are handed to the disk every
 * FLUSH_STEP bytes (sync_file_range, no waiting), so the disk writes
 * while the writer computes and the fsync that completes a volume
 * finds little left to do.  Durability still rests on that fsync.
 */
#define FLUSH_STEP	(8ull << 20)

struct aws_hdr {
	uint16_t	 cur;
	uint16_t	 prv;
	uint8_t		 flags1;
	uint8_t		 flags2;
};

static void
hdr_encode(uint8_t b[VOL_DEV_HDR_LEN], uint16_t cur, uint16_t prv,
    uint8_t flags1)
{
	util_put_le16(b, cur);
	util_put_le16(b + 2, prv);
	b[4] = flags1;
	b[5] = 0;
}

/*
 * Read and check the header at off.  Returns VOL_DEV_EOD at the end of
 * data, 0 with h filled, or COFFER_ECORRUPT naming the offset.
 */
static int
hdr_read(struct file_dev *f, uint64_t off, struct aws_hdr *h, struct err *e)
{
	uint8_t b[VOL_DEV_HDR_LEN];
	int r;

	if (off == f->size)
		return VOL_DEV_EOD;
	if (off + VOL_DEV_HDR_LEN > f->size)
		return err_set(e, COFFER_ECORRUPT, "volume %s: truncated block "
		    "header at offset %llu (file ends at %llu)", f->dev.name,
		    (unsigned long long)off, (unsigned long long)f->size);
	if ((r = util_pread_full(f->fd, b, sizeof(b), (off_t)off,
	    f->dev.name, e)) != 0)
		return r;
	h->cur = util_get_le16(b);
	h->prv = util_get_le16(b + 2);
	h->flags1 = b[4];
	h->flags2 = b[5];
	if (h->flags1 == AWS_TAPEMARK && h->cur == 0)
		return 0;
	if (h->flags1 != (AWS_NEWREC | AWS_ENDREC) || h->cur == 0)
		return err_set(e, COFFER_ECORRUPT, "volume %s: AWSTAPE header "
		    "at offset %llu: flags 0x%02x length %u: not a whole "
		    "block or a tapemark", f->dev.name,
		    (unsigned long long)off, h->flags1, h->cur);
	if (off + VOL_DEV_HDR_LEN + h->cur > f->size)
		return err_set(e, COFFER_ECORRUPT, "volume %s: block at offset "
		    "%llu: length %u passes the end of the file (%llu): "
		    "truncated", f->dev.name, (unsigned long long)off, h->cur,
		    (unsigned long long)f->size);
	return 0;
}

/* The previous-length chain must hold, or blocks were lost or added. */
static int
check_prev(struct file_dev *f, const struct aws_hdr *h, struct err *e)
{
	if (f->prv_known && h->prv != f->prvlen)
		return err_set(e, COFFER_ECORRUPT, "volume %s: AWSTAPE header "
		    "at offset %llu says the previous block had %u bytes, "
		    "it had %u", f->dev.name, (unsigned long long)f->pos,
		    h->prv, f->prvlen);
	return 0;
}

/* Step over the header at pos (already read into h). */
static void
advance(struct file_dev *f, const struct aws_hdr *h)
{
	f->pos += VOL_DEV_HDR_LEN + h->cur;
	f->prvlen = h->cur;
	f->prv_known = 1;
	f->blockid++;
}

/* After a backspace prvlen is unknown; a write needs it: walk from BOT. */
static int
learn_prev(struct file_dev *f, struct err *e)
{
	uint64_t const target = f->pos;
	struct aws_hdr h;
	int r;

	f->pos = 0;
	f->prvlen = 0;
	f->prv_known = 1;
	f->blockid = 0;
	while (f->pos < target) {
		if ((r = hdr_read(f, f->pos, &h, e)) != 0)
			return r == VOL_DEV_EOD ? COFFER_EINTERNAL : r;
		advance(f, &h);
	}
	return 0;
}

/* Writing in the middle erases the rest, as on a tape. */
static int
prepare_write(struct file_dev *f, uint64_t n, struct err *e)
{
	int r;

	if (!f->writable)
		return err_set(e, COFFER_EINVAL, "volume %s: opened read-only",
		    f->dev.name);
	if (f->pos + VOL_DEV_HDR_LEN + n > f->maxcap)
		return err_set(e, COFFER_ENOSPC, "volume %s: block of %llu "
		    "bytes does not fit in its capacity of %llu bytes",
		    f->dev.name, (unsigned long long)n,
		    (unsigned long long)f->maxcap);
	if (!f->prv_known && (r = learn_prev(f, e)) != 0)
		return r;
	if (f->pos < f->size) {
		if (ftruncate(f->fd, (off_t)f->pos) != 0)
			return err_sys(e, COFFER_EIO, "volume %s: ftruncate",
			    f->dev.name);
		f->size = f->pos;
	}
	return 0;
}

/* A hint: a failure here shows again at the fsync. */
static void
start_writeback(struct file_dev *f)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (f->pos < f->flushed + FLUSH_STEP)
		return;
	(void)sync_file_range(f->fd, (off_t)f->flushed,
	    (off_t)(f->pos - f->flushed), SYNC_FILE_RANGE_WRITE);
	f->flushed = f->pos;
#else
	(void)f;
#endif
}

static int
file_write_block(struct vol_dev *d, const void *p, size_t n, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;
	uint8_t hdr[VOL_DEV_HDR_LEN];
	struct iovec iov[2];
	ssize_t w;
	int r;

	if (n == 0 || n > VOL_DEV_BLOCK_MAX)
		return err_set(e, COFFER_EINVAL, "volume %s: block of %zu "
		    "bytes (1..%u)", d->name, n, VOL_DEV_BLOCK_MAX);
	if ((r = prepare_write(f, n, e)) != 0)
		return r;
	hdr_encode(hdr, (uint16_t)n, f->prvlen, AWS_NEWREC | AWS_ENDREC);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	do
		w = pwritev(f->fd, iov, 2, (off_t)f->pos);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return err_sys(e, COFFER_EIO, "volume %s: write at offset %llu",
		    d->name, (unsigned long long)f->pos);
	/* A short write (rare on a file) is finished piece by piece. */
	if ((size_t)w < sizeof(hdr) && (r = util_pwrite_full(f->fd,
	    hdr + w, sizeof(hdr) - (size_t)w, (off_t)(f->pos + (uint64_t)w),
	    d->name, e)) != 0)
		return r;
	if ((size_t)w < sizeof(hdr))
		w = sizeof(hdr);
	if ((size_t)w < sizeof(hdr) + n && (r = util_pwrite_full(f->fd,
	    (const uint8_t *)p + ((size_t)w - sizeof(hdr)),
	    sizeof(hdr) + n - (size_t)w, (off_t)(f->pos + (uint64_t)w),
	    d->name, e)) != 0)
		return r;
	f->pos += sizeof(hdr) + n;
	f->size = f->pos;
	f->prvlen = (uint16_t)n;
	f->blockid++;
	start_writeback(f);
	return f->pos + f->ew_reserve > f->maxcap ? VOL_DEV_EW : 0;
}

static int
file_write_tapemark(struct vol_dev *d, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;
	uint8_t hdr[VOL_DEV_HDR_LEN];
	int r;

	if ((r = prepare_write(f, 0, e)) != 0)
		return r;
	hdr_encode(hdr, 0, f->prvlen, AWS_TAPEMARK);
	if ((r = util_pwrite_full(f->fd, hdr, sizeof(hdr), (off_t)f->pos,
	    d->name, e)) != 0)
		return r;
	f->pos += sizeof(hdr);
	f->size = f->pos;
	f->prvlen = 0;
	f->blockid++;
	return 0;
}

/* Keep the hinted window (AHEAD_WINDOW) ahead of a reader going forward. */
static void
read_ahead(struct file_dev *f)
{
	if (f->writable || f->pos + AHEAD_WINDOW / 2 < f->ahead ||
	    f->ahead >= f->size)
		return;
	if (f->ahead < f->pos)
		f->ahead = f->pos;
	(void)posix_fadvise(f->fd, (off_t)f->ahead, (off_t)AHEAD_WINDOW,
	    POSIX_FADV_WILLNEED);
	f->ahead += AHEAD_WINDOW;
}

static int
file_read_block(struct vol_dev *d, void *p, size_t cap, size_t *n,
    struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;
	struct aws_hdr h;
	int r;

	*n = 0;
	if ((r = hdr_read(f, f->pos, &h, e)) != 0)
		return r;
	if ((r = check_prev(f, &h, e)) != 0)
		return r;
	if (h.cur == 0) {
		advance(f, &h);
		return VOL_DEV_TAPEMARK;
	}
	if (h.cur > cap)
		return err_set(e, COFFER_ETOOBIG, "volume %s: block at offset "
		    "%llu has %u bytes, more than %zu", d->name,
		    (unsigned long long)f->pos, h.cur, cap);
	read_ahead(f);
	if ((r = util_pread_full(f->fd, p, h.cur,
	    (off_t)(f->pos + VOL_DEV_HDR_LEN), d->name, e)) != 0)
		return r;
	*n = h.cur;
	advance(f, &h);
	return VOL_DEV_DATA;
}

static int
space_one_forward(struct file_dev *f, int *tapemark, struct err *e)
{
	struct aws_hdr h;
	int r;

	/*
	 * Spacing over a data file reads one 6-byte header per block, each
	 * a cold read of its own without the window (import's preflight
	 * spaces over every volume before reading it again).
	 */
	read_ahead(f);
	if ((r = hdr_read(f, f->pos, &h, e)) != 0)
		return r == VOL_DEV_EOD ? err_set(e, COFFER_ENOTFOUND,
		    "volume %s: end of data while spacing forward",
		    f->dev.name) : r;
	if ((r = check_prev(f, &h, e)) != 0)
		return r;
	*tapemark = h.cur == 0;
	advance(f, &h);
	return 0;
}

/* Back over the block or tapemark before pos, using the prvblkl chain. */
static int
space_one_back(struct file_dev *f, int *tapemark, struct err *e)
{
	uint64_t prvlen, at;
	struct aws_hdr h;
	int r;

	if (f->pos == 0)
		return err_set(e, COFFER_ENOTFOUND, "volume %s: at the "
		    "beginning while spacing back", f->dev.name);
	if (f->prv_known)
		prvlen = f->prvlen;
	else if (f->pos == f->size)
		return learn_prev(f, e) != 0 ? COFFER_ECORRUPT :
		    space_one_back(f, tapemark, e);
	else {
		if ((r = hdr_read(f, f->pos, &h, e)) != 0)
			return r;
		prvlen = h.prv;
	}
	if (prvlen + VOL_DEV_HDR_LEN > f->pos)
		return err_set(e, COFFER_ECORRUPT, "volume %s: previous-block "
		    "length %llu at offset %llu points before the start",
		    f->dev.name, (unsigned long long)prvlen,
		    (unsigned long long)f->pos);
	at = f->pos - VOL_DEV_HDR_LEN - prvlen;
	if ((r = hdr_read(f, at, &h, e)) != 0)
		return r == VOL_DEV_EOD ? COFFER_EINTERNAL : r;
	if (h.cur != prvlen)
		return err_set(e, COFFER_ECORRUPT, "volume %s: block chain "
		    "broken at offset %llu", f->dev.name,
		    (unsigned long long)at);
	f->pos = at;
	f->prv_known = 0;
	f->blockid--;
	*tapemark = h.cur == 0;
	return 0;
}

static int
file_space_blocks(struct vol_dev *d, long count, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;
	int tm = 0, r;

	for (; count != 0; count += count > 0 ? -1 : 1) {
		r = count > 0 ? space_one_forward(f, &tm, e) :
		    space_one_back(f, &tm, e);
		if (r != 0)
			return r;
		if (tm)
			return err_set(e, COFFER_ENOTFOUND, "volume %s: "
			    "tapemark met while spacing over blocks", d->name);
	}
	return 0;
}

static int
file_space_files(struct vol_dev *d, long count, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;
	int tm, r;

	while (count > 0) {
		if ((r = space_one_forward(f, &tm, e)) != 0)
			return r;
		if (tm)
			count--;
	}
	while (count < 0) {
		if ((r = space_one_back(f, &tm, e)) != 0)
			return r;
		if (tm)
			count++;
	}
	return 0;
}

static int
file_rewind(struct vol_dev *d, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;

	f->pos = 0;
	f->prvlen = 0;
	f->prv_known = 1;
	f->blockid = 0;
	return 0;
}

static int
file_position(struct vol_dev *d, uint64_t *blockid, uint64_t *bytes,
    struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;

	if (blockid != NULL)
		*blockid = f->blockid;
	if (bytes != NULL)
		*bytes = f->size;
	return 0;
}

static int
file_sync(struct vol_dev *d, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;

	if (f->writable && fsync(f->fd) != 0)
		return err_sys(e, COFFER_EIO, "volume %s: fsync", d->name);
	return 0;
}

static int
file_close(struct vol_dev *d, struct err *e)
{
	struct file_dev *f = (struct file_dev *)d;
	int r = 0;

	if (f->fd >= 0 && close(f->fd) != 0 && f->writable)
		r = err_sys(e, COFFER_EIO, "volume %s: close", d->name);
	free(f);
	return r;
}

static const struct vol_dev_ops file_ops = {
	.name = "file",
	.write_block = file_write_block,
	.write_tapemark = file_write_tapemark,
	.read_block = file_read_block,
	.space_blocks = file_space_blocks,
	.space_files = file_space_files,
	.rewind = file_rewind,
	.position = file_position,
	.sync = file_sync,
	.close = file_close,
};

static struct file_dev *
file_new(const char *path, struct err *e)
{
	struct file_dev *f;

	if (strlen(path) >= sizeof(f->dev.name)) {
		err_set(e, COFFER_EINVAL, "volume path too long: %.64s...",
		    path);
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		err_set(e, COFFER_ENOMEM, "volume %s: out of memory", path);
		return NULL;
	}
	f->dev.ops = &file_ops;
	snprintf(f->dev.name, sizeof(f->dev.name), "%s", path);
	f->fd = -1;
	f->prv_known = 1;
	return f;
}

int
vol_dev_file_create(const char *path, uint64_t maxcap, uint64_t ew_reserve,
    struct vol_dev **out, struct err *e)
{
	struct file_dev *f;

	*out = NULL;
	if ((f = file_new(path, e)) == NULL)
		return e != NULL ? e->code : COFFER_ENOMEM;
	f->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		int const code = errno == EEXIST ? COFFER_EEXIST : COFFER_EIO;

		free(f);
		return err_sys(e, code, "volume %s: create", path);
	}
	f->writable = 1;
	f->maxcap = maxcap;
	f->ew_reserve = ew_reserve;
	*out = &f->dev;
	return 0;
}

int
vol_dev_file_open(const char *path, struct vol_dev **out, struct err *e)
{
	struct file_dev *f;
	struct stat st;
	int r = COFFER_EIO;

	*out = NULL;
	if ((f = file_new(path, e)) == NULL)
		return e != NULL ? e->code : COFFER_ENOMEM;
	if ((f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = err_sys(e, errno == ENOENT ? COFFER_ENOTFOUND : COFFER_EIO,
		    "volume %s: open", path);
		goto out;
	}
	if (fstat(f->fd, &st) != 0) {
		r = err_sys(e, COFFER_EIO, "volume %s: stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = err_set(e, COFFER_EINVAL, "volume %s: not a regular file",
		    path);
		goto out;
	}
	f->size = (uint64_t)st.st_size;
	f->maxcap = f->size;
	*out = &f->dev;
	f = NULL;
	r = 0;
out:
	if (f != NULL)
		file_close(&f->dev, NULL);
	return r;
}

int
vol_dev_close(struct vol_dev *d, struct err *e)
{
	return d == NULL ? 0 : d->ops->close(d, e);
}
