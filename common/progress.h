/*
 * progress.h - a one-line progress bar on a terminal.
 *
 * Draws on stderr only when stderr is a terminal (never in logs, scripts
 * or CI), at most five times a second: objects, bytes, rate and, when the
 * total is known, a bar and percentage.
 */
#ifndef COFFER_PROGRESS_H
#define COFFER_PROGRESS_H

#include <stdint.h>

struct progress {
	const char	*label;
	uint64_t	 total_bytes;	/* 0: unknown */
	uint64_t	 objects;
	uint64_t	 bytes;
	double		 start;
	double		 last;
	int		 enabled;
	int		 drawn;
};

void progress_init(struct progress *pg, const char *label,
    uint64_t total_bytes);
/* Add to the counters; redraws when due. */
void progress_add(struct progress *pg, uint64_t objects, uint64_t bytes);
/* Erase the bar (before printing a summary). */
void progress_done(struct progress *pg);

#endif
