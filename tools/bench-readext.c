/*
 * bench-readext - read the data extents of files once, skipping holes.
 *
 * The yardstick of `tools/bench vm`'s unchanged-image case: backing up an
 * image that did not change should cost little more than reading its data
 * once.  This program does only that reading: for each file it walks the
 * extents with lseek(SEEK_DATA) / lseek(SEEK_HOLE) and read()s every data
 * extent from start to end, in buffers of --block bytes (default 1 MiB).
 * Holes are skipped, not read.  Nothing is dropped from the page cache and
 * no advice is given: it reads the file as it is cached, as a backup would.
 *
 * On a file system without SEEK_DATA support lseek reports the whole file
 * as one data extent, and the program reads all of it.
 *
 * Prints the bytes read, the number of data extents, and the wall time of
 * the reading (CLOCK_MONOTONIC), as text or with --json as one JSON object
 * on one line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READEXT_BLOCK_DEFAULT	(1u << 20)
#define READEXT_BLOCK_MAX	(64u << 20)

static const char usage_text[] =
"usage: bench-readext [--block BYTES] [--json] FILE...\n"
"\n"
"Read the data extents of each FILE once (lseek SEEK_DATA / SEEK_HOLE;\n"
"holes are skipped) in reads of BYTES (default 1048576), and print the\n"
"bytes read, the extents and the wall time.\n";

struct readext_tot {
	uint64_t	logical;	/* sum of the files' sizes */
	uint64_t	bytes;		/* data bytes read */
	uint64_t	extents;	/* data extents found */
	uint64_t	reads;		/* read() calls that returned data */
	uint64_t	sum;		/* keeps the reads observable */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read [off, end) of fd; returns 0, or -1 with a message printed. */
static int
read_range(int fd, const char *path, off_t off, off_t end, uint8_t *buf,
    size_t block, struct readext_tot *t)
{
	while (off < end) {
		size_t want = block;
		ssize_t n;

		if ((off_t)want > end - off)
			want = (size_t)(end - off);
		n = pread(fd, buf, want, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bench-readext: %s: read at %jd: %s\n",
			    path, (intmax_t)off, strerror(errno));
			return -1;
		}
		if (n == 0)		/* the file shrank under us */
			break;
		t->bytes += (uint64_t)n;
		t->reads++;
		t->sum += buf[0] + buf[(size_t)n - 1];
		off += n;
	}
	return 0;
}

/* Read every data extent of one file. */
static int
read_file(const char *path, uint8_t *buf, size_t block, struct readext_tot *t)
{
	struct stat st;
	off_t off = 0, data, hole;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "bench-readext: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "bench-readext: %s: not a regular file\n", path);
		close(fd);
		return -1;
	}
	t->logical += (uint64_t)st.st_size;
	while (off < st.st_size) {
		data = lseek(fd, off, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)	/* only a hole is left */
				break;
			if (errno == EINVAL) {	/* no SEEK_DATA here */
				data = off;
				hole = st.st_size;
				goto extent;
			}
			fprintf(stderr, "bench-readext: %s: SEEK_DATA: %s\n",
			    path, strerror(errno));
			rc = -1;
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			fprintf(stderr, "bench-readext: %s: SEEK_HOLE: %s\n",
			    path, strerror(errno));
			rc = -1;
			break;
		}
extent:
		t->extents++;
		if (read_range(fd, path, data, hole, buf, block, t) != 0) {
			rc = -1;
			break;
		}
		off = hole;
	}
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "block", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct readext_tot t = { 0 };
	size_t block = READEXT_BLOCK_DEFAULT;
	uint8_t *buf;
	double t0, el;
	int c, json = 0, rc = 0, i;
	char *end;
	unsigned long long v;

	while ((c = getopt_long(argc, argv, "b:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 4096 ||
			    v > READEXT_BLOCK_MAX) {
				fprintf(stderr, "bench-readext: --block: "
				    "4096 to %u bytes\n", READEXT_BLOCK_MAX);
				return 2;
			}
			block = (size_t)v;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	buf = malloc(block);
	if (buf == NULL) {
		fprintf(stderr, "bench-readext: out of memory\n");
		return 1;
	}
	t0 = now_s();
	for (i = optind; i < argc; i++)
		if (read_file(argv[i], buf, block, &t) != 0)
			rc = 1;
	el = now_s() - t0;
	free(buf);
	if (json)
		printf("{\"files\": %d, \"logical_bytes\": %" PRIu64
		    ", \"bytes_read\": %" PRIu64 ", \"extents\": %" PRIu64
		    ", \"reads\": %" PRIu64 ", \"block\": %zu"
		    ", \"elapsed_s\": %.6f, \"mb_s\": %.1f, \"check\": %" PRIu64
		    "}\n", argc - optind, t.logical, t.bytes, t.extents,
		    t.reads, block, el, el > 0 ? (double)t.bytes / el / 1e6 : 0.0,
		    t.sum);
	else
		printf("read %" PRIu64 " of %" PRIu64 " bytes in %" PRIu64
		    " data extents, %.3f s (%.1f MB/s)\n", t.bytes, t.logical,
		    t.extents, el, el > 0 ? (double)t.bytes / el / 1e6 : 0.0);
	return rc;
}
