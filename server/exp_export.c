/*
 * exp_export.c - EXPORT NODE: nodes, filespaces, versions and their
 * chunks onto a set of sequential volumes (exp.h, vol.h).
 *
 * Runs in a server process with its own catalog connection and pool
 * reader.  Versions are walked per filespace in UUID order; for each,
 * the chunks its recipe names that this set does not carry yet are
 * written first, as stored, then the version itself, so that an import
 * reading the stream in order always has a version's chunks before the
 * version.  The chunks already written are remembered in a hash set:
 * 48 bytes a chunk, 50 MB for a million chunks.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cat.h"
#include "cat_int.h"
#include "err.h"
#include "exp.h"
#include "fault.h"
#include "hset.h"
#include "pool.h"
#include "pool_recipe.h"
#include "proc.h"
#include "obj_proto.h"
#include "proto.h"
#include "util.h"
#include "vol.h"
#include "wire.h"

#define EXP_PAGE	1024	/* versions per catalog walk */

struct ex {
	struct proc		*p;
	const struct exp_params	*xp;
	struct exp_stats	*st;
	struct cat		*c;
	struct pool_reader	*rd;
	struct vol_writer	*w;
	struct hset		 sent;		/* chunks in this set */
	struct wire_buf		 wb;
	char			 devclass[CAT_NAME_MAX + 1];
	char			 node[CAT_NAME_MAX + 1];
	char			 (*serials)[VOL_NAME_MAX + 1];
	size_t			 nserials;	/* volumes started */
	uint8_t			 after[16];	/* walk position */
	int			 err;
	struct err		*e;
};

void
exp_stats_free(struct exp_stats *st)
{
	free(st->vols);
	st->vols = NULL;
	st->nvols = 0;
}

/* Every volume the writer starts is on record at once (volume history). */
static int
on_new_volume(void *arg, const char *path, const char *serial, uint32_t seq,
    struct err *e)
{
	struct ex *x = arg;
	struct cat_volume v;
	void *ns;
	int r;

	if ((ns = realloc(x->serials, (x->nserials + 1) *
	    sizeof(*x->serials))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	x->serials = ns;
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "%s", serial);
	snprintf(v.path, sizeof(v.path), "%s", path);
	snprintf(v.devclass, sizeof(v.devclass), "%s", x->devclass);
	snprintf(v.node, sizeof(v.node), "%s", x->xp->pattern);
	v.kind = CAT_VOL_EXPORT;
	v.seq = seq;
	v.state = CAT_DRM_MOUNTABLE;
	v.created = v.state_changed = time(NULL);
	/* EEXIST (another directory's volume): the writer takes the next. */
	if ((r = cat_volume_add(x->c, &v, e)) != 0)
		return r;
	/* On record without a set, its file not made yet: start-up drops it. */
	FAULT_POINT("export.volume");
	/* Remembered, so that an abandoned set leaves no history behind. */
	snprintf(x->serials[x->nserials++], VOL_NAME_MAX + 1, "%s", serial);
	return 0;
}

/* A serial registered, its file not made: forget it again. */
static void
on_drop_volume(void *arg, const char *serial)
{
	struct ex *x = arg;

	if (x->nserials > 0 && strcmp(x->serials[x->nserials - 1],
	    serial) == 0)
		x->nserials--;
	(void)cat_volume_delete(x->c, serial, NULL);
}

static int
rec(struct ex *x, uint8_t type)
{
	if (wire_buf_ok(&x->wb, NULL) != 0)
		return err_set(x->e, COFFER_ETOOBIG, "export record too large");
	/* No set UUID yet: start-up removes it (srv_volumes_recover). */
	FAULT_POINT("export.record");
	return vol_write_record(x->w, type, x->wb.p, x->wb.len, x->e);
}

static int
put_session(struct ex *x)
{
	char me[CAT_NAME_MAX + 1] = "";

	(void)cat_setting_get(x->c, "name", me, sizeof(me), NULL);
	wire_buf_reset(&x->wb);
	wire_put_u32(&x->wb, EXP_VERSION);
	wire_put_str(&x->wb, me);
	wire_put_u64(&x->wb, (uint64_t)time(NULL));
	wire_put_u8(&x->wb, (uint8_t)x->xp->active_only);
	wire_put_u64(&x->wb, (uint64_t)x->xp->fromdate);
	wire_put_str(&x->wb, x->xp->pattern);
	return rec(x, EXP_REC_SESSION);
}

static int
put_node(struct ex *x, const struct cat_account *a)
{
	struct cat_domain d;

	if (cat_domain_get(x->c, a->domain, &d, NULL) != 0)
		cat_domain_standard(&d);
	wire_buf_reset(&x->wb);
	wire_put_str(&x->wb, a->name);
	wire_put_str(&x->wb, a->pwhash);
	wire_put_str(&x->wb, a->domain);
	wire_put_str(&x->wb, a->contact);
	wire_put_u64(&x->wb, (uint64_t)a->rpo_s);
	wire_put_u8(&x->wb, (uint8_t)a->repl_state);
	wire_put_u8(&x->wb, (uint8_t)a->repl_mode);
	wire_put_u32(&x->wb, (uint32_t)d.verexists);
	wire_put_u32(&x->wb, (uint32_t)d.verdeleted);
	wire_put_u32(&x->wb, (uint32_t)d.retextra);
	wire_put_u32(&x->wb, (uint32_t)d.retonly);
	x->st->nodes++;
	return rec(x, EXP_REC_NODE);
}

static int
put_fs(struct ex *x, const struct cat_fs *f)
{
	wire_buf_reset(&x->wb);
	wire_put_str(&x->wb, f->name);
	wire_put_str(&x->wb, f->type);
	wire_put_u8(&x->wb, (uint8_t)f->drprotect);
	wire_put_u32(&x->wb, f->drpriority);
	wire_put_u8(&x->wb, (uint8_t)f->replrule);
	x->st->filespaces++;
	return rec(x, EXP_REC_FS);
}

/* The chunks of a recipe this set lacks, as stored. */
static int
put_chunks(struct ex *x, const uint8_t *recipe, size_t len)
{
	size_t n = 0;
	int r;

	if ((r = pool_recipe_count(recipe, len, &n, x->e)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *h;
		struct pool_chunk pc;
		uint8_t head[HASH_LEN + 4 + 1];
		int added = 0;

		if (pool_recipe_is_zero(recipe, i))
			continue;
		h = pool_recipe_hash(recipe, i);
		if (hset_put(&x->sent, h, &added) == NULL)
			return err_set(x->e, COFFER_ENOMEM, "out of memory");
		if (!added)
			continue;
		if ((r = pool_read_stored(x->rd, h, &pc, x->e)) != 0)
			return r;
		memcpy(head, pc.hash, HASH_LEN);
		util_put_le32(head + HASH_LEN, pc.raw_len);
		head[HASH_LEN + 4] = pc.codec;
		if ((r = vol_write_record2(x->w, EXP_REC_CHUNK, head,
		    sizeof(head), pc.stored, pc.stored_len, x->e)) != 0)
			return r;
		x->st->chunks++;
		x->st->bytes += pc.stored_len;
	}
	return 0;
}

static int
put_obj(void *arg, const struct cat_obj *o)
{
	struct ex *x = arg;
	struct proto_obj po;
	int r;

	memcpy(x->after, o->uuid, 16);
	if (x->xp->fromdate > 0 && o->inserted < x->xp->fromdate)
		return 0;
	if (o->recipe_len > 0 && (r = put_chunks(x, o->recipe,
	    o->recipe_len)) != 0)
		return x->err = r;
	obj_proto_from_cat(&po, o);
	po.id = 0;	/* ids are this server's own */
	wire_buf_reset(&x->wb);
	proto_put_obj(&x->wb, &po, 1);
	if ((r = rec(x, EXP_REC_OBJ)) != 0)
		return x->err = r;
	x->st->objects++;
	return 0;
}

static int
export_fs(struct ex *x, const struct cat_fs *f)
{
	int more = 1, r;

	if ((r = put_fs(x, f)) != 0)
		return r;
	memset(x->after, 0, sizeof(x->after));
	while (more) {
		x->err = 0;
		r = cat_obj_uuid_walk(x->c, f->id, util_is_zero(x->after, 16) ?
		    NULL : x->after, EXP_PAGE, x->xp->active_only, put_obj, x,
		    &more, x->e);
		if (r != 0)
			return x->err ? x->err : r;
		if (x->p != NULL) {
			proc_set_status(x->p, "Exporting node %s, filespace "
			    "%s: %" PRIu64 " versions, %" PRIu64 " bytes",
			    x->node, f->name, x->st->objects, x->st->bytes);
			if (proc_cancelled(x->p))
				return err_set(x->e, COFFER_ECANCELED,
				    "cancelled");
		}
	}
	return 0;
}

static int
export_node(struct ex *x, const struct cat_account *a)
{
	struct cat_fs *fs = NULL;
	size_t nfs = 0;
	int r;

	snprintf(x->node, sizeof(x->node), "%s", a->name);
	if ((r = put_node(x, a)) != 0)
		return r;
	if ((r = cat_fs_array(x->c, a->name, &fs, &nfs, x->e)) != 0)
		return r;
	for (size_t i = 0; i < nfs && r == 0; i++)
		r = export_fs(x, &fs[i]);
	free(fs);
	return r;
}

static int
put_end(struct ex *x)
{
	wire_buf_reset(&x->wb);
	wire_put_u64(&x->wb, x->st->nodes);
	wire_put_u64(&x->wb, x->st->filespaces);
	wire_put_u64(&x->wb, x->st->objects);
	wire_put_u64(&x->wb, x->st->chunks);
	wire_put_u64(&x->wb, x->st->bytes);
	return rec(x, EXP_REC_END);
}

/* The volumes learn their set and size once the set is closed. */
static void
record_set(struct ex *x, const struct vol_set_info *info)
{
	for (uint32_t i = 0; i < info->nvols; i++) {
		struct cat_volume v;
		const char *slash = strrchr(info->paths[i], '/');
		char serial[VOL_NAME_MAX + 1];
		char *dot;

		snprintf(serial, sizeof(serial), "%s", slash ? slash + 1 :
		    info->paths[i]);
		if ((dot = strrchr(serial, '.')) != NULL)
			*dot = '\0';
		if (cat_volume_get(x->c, serial, &v, NULL) != 0)
			continue;
		memcpy(v.set_uuid, info->set_uuid, 16);
		(void)cat_volume_update(x->c, &v, NULL);
	}
}

static int
open_writer(struct ex *x)
{
	struct cat_devclass dc;
	struct vol_write_params wp;
	char me[CAT_NAME_MAX + 1] = "";
	int r;

	if ((r = cat_devclass_get(x->c, x->xp->devclass, &dc, x->e)) != 0)
		return err_wrap(x->e, "device class %s", x->xp->devclass);
	snprintf(x->devclass, sizeof(x->devclass), "%s", dc.name);
	(void)cat_setting_get(x->c, "name", me, sizeof(me), NULL);
	memset(&wp, 0, sizeof(wp));
	if ((r = cat_volume_next_serial(x->c, &wp.min_serial, x->e)) != 0)
		return r;
	wp.dir = dc.directory;
	wp.maxcap = dc.maxcap;
	wp.kind = VOL_KIND_EXPORT;
	wp.server = me;
	wp.passphrase = x->xp->passphrase;
	wp.on_new = on_new_volume;
	wp.on_drop = on_drop_volume;
	wp.arg = x;
	return vol_writer_open(&wp, &x->w, x->e);
}

int
exp_export_run(struct proc *p, const struct exp_params *xp,
    struct exp_stats *st, struct err *e)
{
	struct cat_account *nodes = NULL;
	size_t nnodes = 0;
	struct vol_set_info info;
	struct ex x;
	int r;

	memset(&x, 0, sizeof(x));
	memset(st, 0, sizeof(*st));
	memset(&info, 0, sizeof(info));
	x.p = p;
	x.xp = xp;
	x.st = st;
	x.e = e;
	hset_init(&x.sent);
	wire_buf_init(&x.wb, WIRE_FRAME_MAX);
	if ((r = cat_open(xp->catpath, &x.c, e)) != 0)
		goto out;
	if ((x.rd = pool_reader_new(xp->pool, e)) == NULL) {
		r = e ? e->code : COFFER_ENOMEM;
		goto out;
	}
	/* Versions go out by UUID, the chunks in no order of the pool's. */
	if (xp->fromdate == 0)
		pool_reader_readahead(x.rd);
	if ((r = cat_account_array(x.c, CAT_KIND_NODE, xp->pattern, &nodes,
	    &nnodes, e)) != 0)
		goto out;
	if (nnodes == 0) {
		r = err_set(e, COFFER_ENOTFOUND, "ANR0623E no node matches %s",
		    xp->pattern);
		goto out;
	}
	if ((r = open_writer(&x)) != 0 || (r = put_session(&x)) != 0)
		goto out;
	for (size_t i = 0; i < nnodes && r == 0; i++)
		r = export_node(&x, &nodes[i]);
	/* Every version written, the end record not yet. */
	FAULT_POINT("export.before_end");
	if (r == 0 && (r = put_end(&x)) == 0) {
		/* The end record written, the set not closed. */
		FAULT_POINT("export.before_close");
		r = vol_writer_close(x.w, &info, e);
		x.w = NULL;
		if (r == 0) {
			record_set(&x, &info);
			st->nvols = info.nvols;
			st->vols = info.paths;
			info.paths = NULL;
		}
	}
out:
	if (r != 0 && r != COFFER_ECANCELED && x.node[0] != '\0')
		err_wrap(e, "node %s", x.node);
	/* A failed set's files are removed below: so are its records. */
	for (size_t i = 0; r != 0 && i < x.nserials; i++)
		(void)cat_volume_delete(x.c, x.serials[i], NULL);
	free(x.serials);
	vol_writer_abort(x.w);
	vol_set_info_free(&info);
	free(nodes);
	hset_free(&x.sent);
	wire_buf_free(&x.wb);
	pool_reader_free(x.rd);
	cat_close(x.c);
	return r;
}
