/*
 * policy.h - TSM backup copy-group arithmetic (pure functions).
 *
 * For one path, given its versions newest first, decide which to keep:
 *
 *  - While the file exists (an active version is present), at most
 *    VEREXISTS versions are kept, the active one included; an inactive
 *    version also goes once it has been inactive longer than RETEXTRA days.
 *  - Once the file is deleted (no active version), at most VERDELETED
 *    versions are kept; the newest of them goes after RETONLY days
 *    inactive, the others after RETEXTRA days.
 *  - CAT_NOLIMIT (-1) for any value means no limit.
 *
 * The active version is never expired.
 */
#ifndef COFFER_POLICY_H
#define COFFER_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct cat_domain;

struct policy_version {
	int	active;
	int64_t	deactivated;	/* unix seconds; 0 while active */
	int	expire;		/* out: 1 when policy no longer keeps it */
};

/* v[0..n) newest first (the active one, if any, at v[0]). */
void policy_decide(const struct cat_domain *d, struct policy_version *v,
    size_t n, int64_t now);

#endif
