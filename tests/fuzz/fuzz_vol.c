/*
 * fuzz_vol.c - libFuzzer target: the volume reader must refuse anything
 * malformed with an error, never crash, hang or read out of bounds, and
 * never hand out a record longer than VOL_RECORD_MAX.
 *
 * The input is one volume file (the reader opens paths: it goes to a
 * temporary file, rewritten for every input).  No passphrase is given,
 * so an encrypted label stops at "passphrase needed" rather than running
 * scrypt for every input.  vol_volume_info (labels, space over the data
 * file) runs on the same bytes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "vol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_vol.XXXXXX";
static int fd = -1;

static void
remove_tmp(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *paths[1] = { path };
	struct vol_volume_info vi;
	struct vol_reader *r = NULL;
	struct err e;

	if (fd < 0) {
		if ((fd = mkstemp(path)) < 0)
			abort();
		atexit(remove_tmp);
	}
	if (ftruncate(fd, 0) != 0 ||
	    util_pwrite_full(fd, data, size, 0, "fuzz", &e) != 0)
		abort();
	(void)vol_volume_info(path, &vi, &e);
	if (vol_reader_open(paths, 1, NULL, &r, &e) != 0)
		return 0;
	for (int i = 0; i < 100000; i++) {
		const uint8_t *p;
		uint8_t type;
		size_t n;

		if (vol_read_record(r, &type, &p, &n, &e) != 0 || type == 0)
			break;
		if (n > VOL_RECORD_MAX)
			__builtin_trap();
	}
	vol_reader_close(r);
	return 0;
}
