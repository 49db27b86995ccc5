/*
 * adm_fs.c - UPDATE FILESPACE: the DR and replication settings of a
 * node's filespace.
 *
 *   UPDate FIlespace node fsname [DRPROTect=Yes|No] [DRPRIority=0..9999]
 *       [REPLRule=ALl_data|ACtive_data|None]
 *
 * The customer picks which VMs need disaster recovery and in which order
 * they come back (management VMs first); restore vm --all --drorder
 * reads these two values.  They apply to any filespace, VM:NAME or not.
 * The filespace name is matched exactly, case included: it is a path or
 * a VM name, and TSM matches unicode filespace names the same way.
 * REPLRULE picks what replication sends (all versions, the active ones,
 * nothing), so that only the VMs that need DR travel to the hot site.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"

/* Find node's filespace name; reports the node or filespace missing. */
static int
get_fs(struct adm_ctx *x, const char *node, const char *name,
    struct cat_fs *fs)
{
	struct cat_account a;
	struct err e;
	int r;

	err_clear(&e);
	if ((r = cat_account_get(x->env->cat, CAT_KIND_NODE, node, &a,
	    &e)) == COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2146E %s: Node %s is not "
		    "registered.", x->cmd->title, node);
	if (r != 0)
		return adm_failed(x, &e);
	if ((r = cat_fs_get(x->env->cat, node, name, fs, &e)) ==
	    COFFER_ENOTFOUND)
		return adm_error(x, r, "ANR2081E %s: Filespace %s not found "
		    "for node %s (names are matched exactly, case included).",
		    x->cmd->title, name, node);
	if (r != 0)
		return adm_failed(x, &e);
	return 0;
}

static const struct adm_kw kw_replrule[] = {	/* index = CAT_REPLRULE_* */
	{ "ALL_DATA", 2 }, { "ACTIVE_DATA", 2 }, { "NONE", 1 },
};
static const char *const replrule_word[] = {
	"ALL_DATA", "ACTIVE_DATA", "NONE",
};

/* Apply DRPROTECT, DRPRIORITY, REPLRULE to fs; *changed counts them. */
static int
dr_fields(struct adm_ctx *x, struct cat_fs *fs, int *changed)
{
	const char *v;
	long prio;
	int i;

	if ((v = adm_arg(x, "DRPROTECT")) != NULL) {
		if (adm_parse_yesno(v, &fs->drprotect) != 0)
			return adm_bad_value(x, "DRPROTECT", v, "YES or NO");
		(*changed)++;
	}
	if ((v = adm_arg(x, "DRPRIORITY")) != NULL) {
		if (adm_parse_int(v, 0, CAT_DRPRIORITY_MAX, 0, &prio) != 0)
			return adm_bad_value(x, "DRPRIORITY", v, "a number "
			    "from 0 (none) to 9999; 1 is restored first");
		fs->drpriority = (uint32_t)prio;
		(*changed)++;
	}
	if ((v = adm_arg(x, "REPLRULE")) != NULL) {
		if ((i = adm_kw_find(kw_replrule, sizeof(kw_replrule) /
		    sizeof(kw_replrule[0]), sizeof(kw_replrule[0]), v, NULL,
		    0)) < 0)
			return adm_bad_value(x, "REPLRULE", v, "ALL_DATA, "
			    "ACTIVE_DATA or NONE");
		fs->replrule = i;
		(*changed)++;
	}
	if (*changed == 0)
		return adm_bad(x, "nothing to update; give DRPROTect or "
		    "DRPRIority, or REPLRule");
	return 0;
}

int
adm_update_filespace(struct adm_ctx *x)
{
	const char *fsname = adm_pos(x, 1);
	char node[CAT_NAME_MAX + 1];
	struct cat_fs *fs;
	struct err e;
	int changed = 0, r;

	err_clear(&e);
	if ((r = adm_name(x, "node name", adm_pos(x, 0), node)) != 0)
		return r;
	/* Checked before the lookups: a bad value is reported as such. */
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return COFFER_ENOMEM;
	if ((r = dr_fields(x, fs, &changed)) != 0)
		goto out;
	changed = 0;
	if ((r = get_fs(x, node, fsname, fs)) != 0 ||
	    (r = dr_fields(x, fs, &changed)) != 0)
		goto out;
	if ((r = cat_fs_set_dr(x->env->cat, fs->id, fs->drprotect,
	    fs->drpriority, &e)) != 0 ||
	    (adm_arg(x, "REPLRULE") != NULL &&
	    (r = cat_fs_set_replrule(x->env->cat, fs->id, fs->replrule,
	    &e)) != 0)) {
		r = adm_failed(x, &e);
		goto out;
	}
	/* REPLRULE only when given: the message existing scripts match. */
	r = adm_msg(x->res, "ANR2079I Filespace %s of node %s updated: "
	    "DRPROTECT=%s DRPRIORITY=%" PRIu32 "%s%s.", fs->name, node,
	    fs->drprotect ? "YES" : "NO", fs->drpriority,
	    adm_arg(x, "REPLRULE") != NULL ? " REPLRULE=" : "",
	    adm_arg(x, "REPLRULE") != NULL ? replrule_word[fs->replrule] :
	    "");
out:
	free(fs);
	return r;
}
