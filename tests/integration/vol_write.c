/*
 * vol_write.c - test helper: write a set of volumes with the library's
 * writer, for the coffer-vol scenario and the fuzz corpus.
 *
 *	vol_write DIR MAXCAP NRECORDS [SEED]
 *
 * Records of types 1..4 and pseudo-random sizes (0 to about 300 KB, every
 * seventh 1 MB) with bytes derived from SEED; the passphrase, if any,
 * from COFFER_VOLUME_KEY.  Prints the volume paths, one per line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "vol.h"

static uint32_t
next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

int
main(int argc, char **argv)
{
	struct vol_write_params p = { .kind = VOL_KIND_EXPORT,
	    .server = "TESTSRV" };
	static uint8_t buf[1 << 20];
	struct vol_set_info info;
	struct vol_writer *w;
	struct err e;
	uint32_t x;
	long n;

	if (argc < 4) {
		fprintf(stderr, "usage: vol_write DIR MAXCAP NRECORDS [SEED]\n");
		return 2;
	}
	p.dir = argv[1];
	p.maxcap = strtoull(argv[2], NULL, 10);
	p.passphrase = getenv("COFFER_VOLUME_KEY");
	n = strtol(argv[3], NULL, 10);
	x = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) | 1 : 2463534242u;
	if (vol_writer_open(&p, &w, &e) != 0)
		goto fail;
	for (long i = 0; i < n; i++) {
		size_t len = i % 7 == 6 ? sizeof(buf) : next(&x) % 300000;

		if (i % 5 == 0)
			len = 0;
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)next(&x);
		if (vol_write_record(w, (uint8_t)(1 + i % 4), buf, len, &e) != 0) {
			vol_writer_abort(w);
			goto fail;
		}
	}
	if (vol_writer_close(w, &info, &e) != 0)
		goto fail;
	for (uint32_t i = 0; i < info.nvols; i++)
		printf("%s\n", info.paths[i]);
	vol_set_info_free(&info);
	return 0;
fail:
	fprintf(stderr, "vol_write: %s\n", e.msg);
	return 1;
}
