/*
 * policy.c - TSM backup copy-group arithmetic (see policy.h).
 *
 * Worked through for one path, versions newest first:
 *
 *  - The count limit is VEREXISTS while an active version exists (it
 *    counts too), VERDELETED once the file is gone; versions past it go.
 *  - Of the versions within the count, an inactive one goes when it has
 *    been inactive more than RETEXTRA days; for a deleted file the newest
 *    one is the last copy of the file and RETONLY applies to it instead.
 *  - Days are (now - deactivated) / 86400 as a real number compared with
 *    '>': a version exactly RETEXTRA days old is still kept.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "cat.h"
#include "policy.h"

/* Has v been inactive longer than days?  CAT_NOLIMIT: never. */
static int
older_than(const struct policy_version *v, int days, int64_t now)
{
	if (days < 0)		/* CAT_NOLIMIT */
		return 0;
	if (days == 0)		/* TSM: 0 days means at the next expiration */
		return 1;
	return (double)(now - v->deactivated) / 86400.0 > (double)days;
}

void
policy_decide(const struct cat_domain *d, struct policy_version *v,
    size_t n, int64_t now)
{
	int const exists = n > 0 && v[0].active;
	int const limit = exists ? d->verexists : d->verdeleted;
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		int days;

		v[i].expire = 0;
		if (v[i].active) {	/* never expires; counts as a version */
			kept++;
			continue;
		}
		if (limit >= 0 && kept >= (size_t)limit) {
			v[i].expire = 1;
			continue;
		}
		days = !exists && i == 0 ? d->retonly : d->retextra;
		if (older_than(&v[i], days, now)) {
			v[i].expire = 1;
			continue;
		}
		kept++;
	}
}
