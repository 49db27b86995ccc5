/*
 * fuzz_container.c - libFuzzer target: container file and record header
 * decoders must reject anything malformed without crashing, and anything
 * they accept must be within the bounds the pool relies on.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "pool.h"
#include "pool_container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctr_file_hdr fh;
	struct ctr_rec_hdr rh;
	struct err e;

	if (size >= CTR_FILE_HDR_LEN)
		(void)pool_container_file_hdr_decode(data, &fh, &e);
	if (size >= CTR_REC_HDR_LEN &&
	    pool_container_rec_hdr_decode(data, POOL_RAW_MAX, &rh, &e) == 0) {
		if (rh.raw_len == 0 || rh.raw_len > POOL_RAW_MAX ||
		    rh.stored_len > codec_bound(rh.raw_len))
			__builtin_trap();
	}
	return 0;
}
