/*
 * vol_dev.h - a sequential device: what the volume writer and reader need
 * from a tape drive, and nothing more.
 *
 * The model is a tape: blocks of up to VOL_DEV_BLOCK_MAX bytes, tapemarks
 * that separate tape files, and the end of data after the last thing
 * written (two tapemarks by convention; the device does not insist).
 * Writing anywhere but at the end erases what followed, as on a tape.
 *
 * Today there is one implementation, the FILE device class
 * (vol_dev_file.c): an AWSTAPE file, Hercules' emulated-tape format, which
 * Debian's hercules tools (tapemap, hetmap) read.  A Linux st drive
 * (MTIOCTOP: MTWEOF, MTFSR/MTBSR, MTFSF/MTBSF, MTREW; read(2) of one block
 * returning 0 at a tapemark) fits the same table.
 *
 * Every function returns 0 (or the positive value documented) or a
 * negative COFFER_E* code with e set; messages name the device.
 */
#ifndef COFFER_VOL_DEV_H
#define COFFER_VOL_DEV_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct vol_dev;

/*
 * Largest block: VOL_BLOCK (vol.h) minus the 6-byte AWSTAPE header, so a
 * block and its header take exactly 64 KiB of the file and the length
 * fits AWSTAPE's 16-bit field (<= 65535).
 */
#define VOL_DEV_HDR_LEN		6
#define VOL_DEV_BLOCK_MAX	(65536u - VOL_DEV_HDR_LEN)

/* What read_block found. */
#define VOL_DEV_DATA		0	/* a block, *n bytes */
#define VOL_DEV_TAPEMARK	1
#define VOL_DEV_EOD		2	/* nothing more was ever written */

/* write_block's positive return: written, and past the early warning. */
#define VOL_DEV_EW		1

struct vol_dev_ops {
	const char *name;		/* device type: "file" */
	/* Append a block of 1..VOL_DEV_BLOCK_MAX bytes: 0, VOL_DEV_EW, or
	 * COFFER_ENOSPC (nothing written) when it does not fit at all. */
	int	(*write_block)(struct vol_dev *d, const void *p, size_t n,
		    struct err *e);
	int	(*write_tapemark)(struct vol_dev *d, struct err *e);
	/* Read the next block into p (cap bytes): VOL_DEV_DATA with *n set,
	 * VOL_DEV_TAPEMARK (positioned after it) or VOL_DEV_EOD; a block
	 * longer than cap is COFFER_ETOOBIG. */
	int	(*read_block)(struct vol_dev *d, void *p, size_t cap,
		    size_t *n, struct err *e);
	/* Space over count blocks, forward (> 0) or back (< 0).  Meeting a
	 * tapemark stops there, past it in the direction of travel, and
	 * returns COFFER_ENOTFOUND (like st's MTFSR/MTBSR). */
	int	(*space_blocks)(struct vol_dev *d, long count, struct err *e);
	/* Space over count tapemarks: forward (> 0) ends after the count-th
	 * tapemark; back (< 0) ends before (on the BOT side of) it. */
	int	(*space_files)(struct vol_dev *d, long count, struct err *e);
	int	(*rewind)(struct vol_dev *d, struct err *e);
	/* Blocks and tapemarks before the position (the block id), and the
	 * bytes the medium holds so far. */
	int	(*position)(struct vol_dev *d, uint64_t *blockid,
		    uint64_t *bytes, struct err *e);
	/* Make everything written durable. */
	int	(*sync)(struct vol_dev *d, struct err *e);
	/* Close and free (accepts NULL through vol_dev_close). */
	int	(*close)(struct vol_dev *d, struct err *e);
};

/* Implementations embed this as their first member. */
struct vol_dev {
	const struct vol_dev_ops *ops;
	char	 name[4096];		/* for messages: the file's path */
};

/*
 * FILE device class.  vol_dev_file_create makes a new file (O_EXCL:
 * EEXIST is COFFER_EEXIST) of at most maxcap bytes; a write_block that
 * leaves fewer than ew_reserve bytes before maxcap returns VOL_DEV_EW,
 * so the caller can still write its end labels in what is left.
 * vol_dev_file_open opens an existing file read-only.
 */
int vol_dev_file_create(const char *path, uint64_t maxcap,
    uint64_t ew_reserve, struct vol_dev **out, struct err *e);
int vol_dev_file_open(const char *path, struct vol_dev **out,
    struct err *e);

int vol_dev_close(struct vol_dev *d, struct err *e);	/* accepts NULL */

#endif
