/*
 * query.h - "query backup" and "query filespace", as tables like dsmc's or
 * as {"rows": [...]} with --json.
 *
 * Dates are local time as "YYYY-MM-DD HH:MM:SS", the form --pitdate
 * takes, so a backup_date a script reads can be fed back to restore.
 */
#ifndef COFFER_CLIENT_QUERY_H
#define COFFER_CLIENT_QUERY_H

#include <stdint.h>
#include <stdio.h>

struct err;
struct net_conn;

struct query_params {
	const char	*path;		/* NULL: every filespace */
	int		 inactive;	/* inactive versions too */
	int64_t		 pit;		/* versions active then; 0: now */
	int		 json;
	FILE		*out;
};

/* *rows gets the number of rows printed. */
int query_backup(struct net_conn *c, const struct query_params *p,
    uint64_t *rows, struct err *e);
int query_filespace(struct net_conn *c, const struct query_params *p,
    uint64_t *rows, struct err *e);

/* "YYYY-MM-DD HH:MM:SS" in local time into buf (20 bytes at least). */
void query_format_time(int64_t t, char *buf, size_t len);

#endif
