/*
 * progress.c - terminal progress bar.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

void
progress_init(struct progress *pg, const char *label, uint64_t total_bytes)
{
	pg->label = label;
	pg->total_bytes = total_bytes;
	pg->objects = 0;
	pg->bytes = 0;
	pg->start = pg->last = util_now();
	pg->enabled = isatty(STDERR_FILENO);
	pg->drawn = 0;
}

static void
draw(struct progress *pg, double now)
{
	char done[16], rate[16];
	double const el = now - pg->start;
	uint64_t const bps = el > 0 ? (uint64_t)(pg->bytes / el) : 0;

	util_human_bytes(pg->bytes, done, sizeof(done));
	util_human_bytes(bps, rate, sizeof(rate));
	if (pg->total_bytes > 0) {
		int const width = 30;
		double frac = (double)pg->bytes / (double)pg->total_bytes;
		char bar[31];
		int i, fill;

		if (frac > 1)
			frac = 1;
		fill = (int)(frac * width);
		for (i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = '\0';
		fprintf(stderr, "\r%s [%s] %3d%% %" PRIu64 " objects, %s, %s/s ",
		    pg->label, bar, (int)(frac * 100), pg->objects, done, rate);
	} else {
		fprintf(stderr, "\r%s %" PRIu64 " objects, %s, %s/s ",
		    pg->label, pg->objects, done, rate);
	}
	pg->drawn = 1;
}

void
progress_add(struct progress *pg, uint64_t objects, uint64_t bytes)
{
	double now;

	pg->objects += objects;
	pg->bytes += bytes;
	if (!pg->enabled)
		return;
	now = util_now();
	if (now - pg->last < 0.2)
		return;
	pg->last = now;
	draw(pg, now);
}

void
progress_done(struct progress *pg)
{
	if (pg->enabled && pg->drawn)
		fprintf(stderr, "\r\033[K");
	pg->drawn = 0;
}
