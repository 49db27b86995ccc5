/*
 * vm_restore.c - restore VMs by name, list them (vm_restore.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "fslist.h"
#include "json.h"
#include "net.h"
#include "proto.h"
#include "query.h"
#include "restore.h"
#include "util.h"
#include "vm_convert.h"
#include "vm_restore.h"
#include "vm_seg.h"
#include "vm_xml.h"
#include "wire.h"

#define VM_LIST_PAGE	256

/*
 * An object of a listing, with its own copies of what points into frames.
 * A disk's recipe is not kept (recipe NULL, recipe_len still its length):
 * the restore fetches each segment's when it gets there (restore.c), so
 * that memory does not grow with the disk: a 1 TiB disk's recipes are
 * 576 MiB.  Nor does it travel in the listing when the server can leave
 * it out (PROTO_LIST_NO_RECIPE); a server without RECIPE_GET sends every
 * recipe, and they are all kept (the restore cannot fetch them later).
 */
struct vobj {
	struct proto_obj	 o;
	char			*path, *link;
	uint8_t			*recipe;
};

struct vlist {
	struct vobj	*v;
	size_t		 n, cap;
};

static void
say(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(FILE *log, const char *fmt, ...)
{
	va_list ap;

	fputs("coffer: ", log);
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
}

static void
vlist_free(struct vlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].link);
		free(l->v[i].recipe);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
vlist_add(struct vlist *l, const struct proto_obj *o, int keep_disks,
    struct err *e)
{
	struct vobj *v;
	int keep;

	if (l->n == l->cap) {
		size_t const ncap = l->cap ? l->cap * 2 : 16;
		struct vobj *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return err_set(e, COFFER_ENOMEM, "out of memory");
		l->v = nv;
		l->cap = ncap;
	}
	v = &l->v[l->n];
	memset(v, 0, sizeof(*v));
	v->o = *o;
	keep = (keep_disks || o->type != CLIENT_OBJ_VMDISK) &&
	    o->recipe != NULL && o->recipe_len > 0;
	if ((v->path = strndup(o->path, o->path_len)) == NULL ||
	    (o->link != NULL && (v->link = strndup(o->link, o->link_len)) ==
	    NULL) || (keep && (v->recipe = malloc(o->recipe_len)) == NULL)) {
		free(v->path);
		free(v->link);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	if (keep)
		memcpy(v->recipe, o->recipe, o->recipe_len);
	v->o.path = v->path;
	v->o.link = v->link;
	v->o.recipe = v->recipe;
	l->n++;
	return 0;
}

/* What a listing is for (list). */
#define VM_LIST_QUERY	0	/* sizes and times: no recipe needed */
#define VM_LIST_RESTORE	1	/* a restore: recipes, now or later */

/*
 * OBJ_LIST of fs under prefix, every page.  Recipes travel only when
 * the restore cannot fetch them later: when the server lacks RECIPE_GET,
 * or cannot leave them out (an older server always sends them).
 */
static int
list(struct net_conn *c, const char *fs, const char *prefix, int64_t pit,
    int inactive, int why, struct vlist *out, struct err *e)
{
	int const lazy = net_has_feature(c, PROTO_FEAT_RECIPE_GET);
	int const slim = net_has_feature(c, PROTO_FEAT_LIST_OPTS) &&
	    (why == VM_LIST_QUERY || lazy);
	char after[PATH_MAX] = "";
	struct wire_buf b;
	int r = 0;

	wire_buf_init(&b, 3 * WIRE_STR_MAX + 64);
	for (;;) {
		struct wire_rd rd;
		uint8_t more;
		uint32_t n;

		wire_buf_reset(&b);
		wire_put_str(&b, fs);
		wire_put_str(&b, prefix);
		wire_put_u64(&b, (uint64_t)pit);
		wire_put_u8(&b, (uint8_t)inactive);
		wire_put_str(&b, after);
		wire_put_u32(&b, VM_LIST_PAGE);
		if (slim)
			wire_put_u8(&b, PROTO_LIST_NO_RECIPE);
		if ((r = net_call(c, PT_OBJ_LIST, &b, PT_OBJ_PAGE, &rd, e)) != 0)
			break;
		if ((r = wire_get_u8(&rd, &more, e)) != 0 ||
		    (r = wire_get_u32(&rd, &n, e)) != 0) {
			r = err_wrap(e, "OBJ_PAGE");
			break;
		}
		for (uint32_t i = 0; i < n && r == 0; i++) {
			struct proto_obj o;

			if ((r = proto_get_obj(&rd, &o, slim ?
			    PROTO_OBJ_RECIPE_LEN : PROTO_OBJ_RECIPE, e)) != 0) {
				r = err_wrap(e, "OBJ_PAGE object %u", i);
				break;
			}
			if (o.path_len >= sizeof(after))
				r = err_set(e, COFFER_EPROTO, "path too long");
			else
				r = vlist_add(out, &o, !lazy &&
				    why == VM_LIST_RESTORE, e);
			if (r == 0) {
				memcpy(after, o.path, o.path_len);
				after[o.path_len] = '\0';
			}
		}
		if (r != 0 || !more || n == 0)
			break;
	}
	wire_buf_free(&b);
	return r;
}

/* ---- where things go ---- */

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The image's new file name under a new VM name. */
static void
renamed_base(const char *base, const char *old, const char *new, char *out,
    size_t len)
{
	const char *hit = strstr(base, old);

	if (hit != NULL)
		snprintf(out, len, "%.*s%s%s", (int)(hit - base), base, new,
		    hit + strlen(old));
	else
		snprintf(out, len, "%s-%s", new, base);
}

struct vdisk {
	const struct vobj	*obj;
	const struct proto_obj	**more;		/* its further segments */
	size_t			 nmore;
	const char		*target;
	char			 dir[PATH_MAX];
	char			 name[NAME_MAX + 1];	/* restored as, in dir */
	char			 path[PATH_MAX];	/* the image, finally */
	const char		*format;	/* for the XML; NULL: keep */
	int			 to_qcow2;	/* name is a guest view */
};

static int
place_disks(const struct vm_restore_params *p, const char *vm,
    const char *newname, const char *tdir, struct vdisk *d, size_t n,
    struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		const char *orig = d[i].obj->link;
		char base[NAME_MAX + 1];

		if (orig == NULL || orig[0] != '/')
			return err_set(e, COFFER_EPROTO, "disk %s has no "
			    "original path", d[i].target);
		if (strcmp(newname, vm) != 0)
			renamed_base(base_name(orig), vm, newname, base,
			    sizeof(base));
		else
			snprintf(base, sizeof(base), "%s", base_name(orig));
		if (tdir != NULL)
			snprintf(d[i].dir, sizeof(d[i].dir), "%s", tdir);
		else
			snprintf(d[i].dir, sizeof(d[i].dir), "%.*s",
			    (int)(base_name(orig) - orig - 1), orig);
		if (d[i].dir[0] == '\0')
			snprintf(d[i].dir, sizeof(d[i].dir), "/");
		/* Two images of one name in one directory: keep both. */
		for (size_t k = 0; k < i; k++)
			if (strcmp(d[k].dir, d[i].dir) == 0 &&
			    strcmp(d[k].name, base) == 0) {
				char tmp[2 * NAME_MAX + 2];

				snprintf(tmp, sizeof(tmp), "%s-%s",
				    d[i].target, base);
				if (strlen(tmp) > NAME_MAX)
					return err_set(e, COFFER_EINVAL, "disk "
					    "%s: file name too long",
					    d[i].target);
				memcpy(base, tmp, strlen(tmp) + 1);
			}
		snprintf(d[i].name, sizeof(d[i].name), "%s", base);
		if ((size_t)snprintf(d[i].path, sizeof(d[i].path), "%s%s%s",
		    d[i].dir, strcmp(d[i].dir, "/") ? "/" : "", base) >=
		    sizeof(d[i].path))
			return err_set(e, COFFER_EINVAL, "disk %s: path too "
			    "long", d[i].target);
		if (!p->replace && access(d[i].path, F_OK) == 0)
			return err_set(e, COFFER_EEXIST, "disk %s: image %s "
			    "exists; not overwritten (use --replace)",
			    d[i].target, d[i].path);
	}
	return 0;
}

/* Write the domain XML last, whole, by rename. */
static int
write_xml(const char *path, const char *xml, size_t len, int replace,
    struct err *e)
{
	char tmp[PATH_MAX];
	int fd, r;

	if (!replace && access(path, F_OK) == 0)
		return err_set(e, COFFER_EEXIST, "domain XML %s exists; not "
		    "overwritten (use --replace)", path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.coffer-tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return err_set(e, COFFER_EINVAL, "%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return err_sys(e, COFFER_EIO, "create %s", tmp);
	r = util_write_full(fd, xml, len, tmp, e);
	if (r == 0 && fsync(fd) != 0)
		r = err_sys(e, COFFER_EIO, "fsync %s", tmp);
	if (close(fd) != 0 && r == 0)
		r = err_sys(e, COFFER_EIO, "close %s", tmp);
	if (r == 0 && (replace ? rename(tmp, path) : renameat2(AT_FDCWD, tmp,
	    AT_FDCWD, path, RENAME_NOREPLACE)) != 0)
		r = err_sys(e, COFFER_EIO, "rename %s to %s", tmp, path);
	if (r != 0)
		(void)unlink(tmp);
	return r;
}

/* ---- one VM ---- */

struct vm_run {
	struct net_conn			*c;
	const struct vm_restore_params	*p;
	struct restore_stats		*st;
};

/* "/disks/T", not one of its further segments. */
static int
is_disk(const char *path)
{
	size_t len;
	uint64_t idx;

	return vm_seg_parse(path, strlen(path), &len, &idx) == 0 && idx == 0;
}

static const struct vobj *
find(const struct vlist *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, path) == 0)
			return &l->v[i];
	return NULL;
}

static int
fetch_xml(struct vm_run *x, const struct vobj *conf, char **xml,
    size_t *len, struct err *ve, struct err *e)
{
	struct restore_params rp;
	struct restore_stats rst;
	struct restore_item it;
	int r;

	memset(&rp, 0, sizeof(rp));
	rp.log = x->p->log;
	memset(&it, 0, sizeof(it));
	it.obj = &conf->o;
	if ((r = restore_objects(x->c, &rp, &it, 1, &rst, e)) != 0)
		return r;
	if (!it.ok)
		err_set(ve, COFFER_EIO, "domain XML: %s", it.why);
	*xml = (char *)it.mem;
	*len = it.mem_len;
	return 0;
}

/* The new XML: name, UUID and every restored disk's new path. */
static int
new_xml(const char *xml, size_t len, const char *newname, int renamed,
    const struct vdisk *d, size_t n, char **out, size_t *out_len,
    struct err *e)
{
	struct vm_xml_map *map;
	char uuid[VM_UUID_LEN + 1];
	int r;

	if ((map = calloc(n + 1, sizeof(*map))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		map[i].target = d[i].target;
		map[i].source = d[i].path;
		map[i].format = d[i].format;
	}
	if (vm_uuid_new(uuid) != 0) {
		free(map);
		return err_set(e, COFFER_EINTERNAL, "no random bytes for a "
		    "UUID");
	}
	r = vm_xml_rewrite(xml, len, renamed ? newname : NULL,
	    renamed ? uuid : NULL, map, n, out, out_len, e);
	free(map);
	return r;
}

/*
 * The disks a live backup stored as the guest saw them whose file was
 * qcow2 (vm_xml.h, live_format) are restored under a temporary name and
 * converted back (vm_convert.h); without qemu-img they stay raw, said.
 */
static int
plan_qcow2(struct vm_run *x, const char *xml, size_t len, struct vdisk *d,
    size_t n, struct err *ve)
{
	struct vm_dom dom;
	int have = -1;

	if (vm_xml_parse(xml, len, &dom, ve) != 0)
		return err_wrap(ve, "stored domain XML");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < dom.ndisks; k++) {
			const struct vm_disk *dk = &dom.disks[k];

			if (strcmp(dk->target, d[i].target) != 0 ||
			    dk->live_format == NULL ||
			    strcmp(dk->live_format, "qcow2") != 0)
				continue;
			if (have < 0)
				have = vm_convert_available();
			if (!have) {
				say(x->p->log, "disk %s: restored raw, as the "
				    "guest saw it: qemu-img (Debian qemu-utils) "
				    "is not installed to make it qcow2 again",
				    d[i].target);
				continue;
			}
			snprintf(d[i].name, sizeof(d[i].name),
			    ".coffer-restore-%s.raw", d[i].target);
			d[i].format = "qcow2";
			d[i].to_qcow2 = 1;
		}
	vm_dom_free(&dom);
	return 0;
}

static void
temp_path(const struct vdisk *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", d->dir, strcmp(d->dir, "/") ? "/" : "",
	    d->name);
}

/* The restored guest views become qcow2 images; the temporaries go. */
static int
finish_qcow2(struct vm_run *x, struct vdisk *d, size_t n, struct err *ve)
{
	char tmp[PATH_MAX + NAME_MAX + 2];
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		if (!d[i].to_qcow2)
			continue;
		temp_path(&d[i], tmp, sizeof(tmp));
		if (r == 0) {
			say(x->p->log, "disk %s: making %s qcow2 again",
			    d[i].target, d[i].path);
			r = vm_convert_to_qcow2(tmp, d[i].path, ve);
		}
		(void)unlink(tmp);
	}
	return r;
}

/*
 * The segments that continue disk d's first object (vm_seg.h), in order.
 * They must fit together: none missing, all but the last as long as the
 * first, all of the same image.
 */
static int
gather_segments(const struct vlist *l, struct vdisk *d, struct err *ve)
{
	const struct vobj *first = d->obj;
	size_t const dlen = strlen(first->path);
	uint64_t count = 1, maxidx = 0;
	char path[VM_SEG_PATH_MAX];

	for (size_t i = 0; i < l->n; i++) {
		size_t len;
		uint64_t idx;

		if (vm_seg_parse(l->v[i].path, strlen(l->v[i].path), &len,
		    &idx) == 0 && len == dlen && idx > maxidx &&
		    memcmp(l->v[i].path, first->path, dlen) == 0)
			maxidx = idx;
	}
	if (maxidx == 0)
		return 0;
	if ((d->more = calloc(maxidx, sizeof(*d->more))) == NULL)
		return err_set(ve, COFFER_ENOMEM, "out of memory");
	for (; count <= maxidx; count++) {
		const struct vobj *v;

		vm_seg_path(first->path, count, path, sizeof(path));
		if ((v = find(l, path)) == NULL)
			return err_set(ve, COFFER_ECORRUPT, "disk %s: segment "
			    "%" PRIu64 " of %" PRIu64 " is not in the backup",
			    d->target, count, maxidx);
		if (v->o.type != CLIENT_OBJ_VMDISK || v->link == NULL ||
		    first->link == NULL || strcmp(v->link, first->link) != 0 ||
		    v->o.size > first->o.size || (count < maxidx &&
		    v->o.size != first->o.size))
			return err_set(ve, COFFER_ECORRUPT, "disk %s: segment "
			    "%" PRIu64 " does not continue the image", d->target,
			    count);
		d->more[d->nmore++] = &v->o;
	}
	return 0;
}

/* A restore that failed leaves no temporary guest view behind. */
static void
drop_temps(const struct vdisk *d, size_t n)
{
	char tmp[PATH_MAX + NAME_MAX + 2];

	for (size_t i = 0; i < n; i++)
		if (d[i].to_qcow2) {
			temp_path(&d[i], tmp, sizeof(tmp));
			(void)unlink(tmp);
		}
}

/* A disk that failed is ve's; the return is for a broken session. */
static int
restore_disks(struct vm_run *x, struct vdisk *d, size_t n, struct err *ve,
    struct err *e)
{
	struct restore_params rp;
	struct restore_stats rst;
	struct restore_item *it;
	int r;

	if ((it = calloc(n + 1, sizeof(*it))) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	memset(&rp, 0, sizeof(rp));
	rp.replace = x->p->replace;
	rp.progress = x->p->progress;
	rp.log = x->p->log;
	for (size_t i = 0; i < n; i++) {
		it[i].obj = &d[i].obj->o;
		it[i].more = d[i].more;
		it[i].nmore = d[i].nmore;
		it[i].dir = d[i].dir;
		it[i].name = d[i].name;
	}
	r = restore_objects(x->c, &rp, it, n, &rst, e);
	x->st->restored += rst.restored;
	x->st->bytes += rst.bytes;
	x->st->failed += rst.failed;
	for (size_t i = 0; i < n && r == 0; i++)
		if (!it[i].ok) {
			err_set(ve, COFFER_EIO, "disk %s: %s", d[i].target,
			    it[i].why);
			break;
		}
	free(it);
	return r;
}

/*
 * Restore one VM.  Problems with this VM are returned in ve (the run
 * goes on with the next); the return value is for a broken session.
 */
static int
restore_one(struct vm_run *x, const char *vm, struct err *ve, struct err *e)
{
	const struct vm_restore_params *p = x->p;
	const char *newname = p->newname ? p->newname : vm;
	char fs[8 + VM_NAME_MAX + 1], tdir[PATH_MAX], xmlpath[PATH_MAX];
	char *xml = NULL, *nxml = NULL;
	size_t xml_len = 0, nxml_len = 0, nd = 0;
	struct vdisk *d = NULL;
	struct vlist l;
	const struct vobj *conf;
	double const t0 = util_now();
	int r = 0;

	memset(&l, 0, sizeof(l));
	if (!vm_name_valid(newname)) {
		err_set(ve, COFFER_EINVAL, "'%s' is not a valid VM name",
		    newname);
		goto out;
	}
	snprintf(fs, sizeof(fs), "VM:%s", vm);
	if ((r = list(x->c, fs, "", p->pit, 0, VM_LIST_RESTORE, &l, e)) != 0)
		goto out;
	if ((conf = find(&l, "/domain.xml")) == NULL) {
		err_set(ve, COFFER_ENOTFOUND, "no backup of VM %s%s", vm,
		    p->pit ? " at or before that date" : "");
		goto out;
	}
	if ((d = calloc(l.n, sizeof(*d))) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].o.type == CLIENT_OBJ_VMDISK &&
		    is_disk(l.v[i].path)) {
			d[nd].obj = &l.v[i];
			d[nd].target = l.v[i].path + 7;
			if (gather_segments(&l, &d[nd++], ve) != 0)
				goto out;
		}
	if (p->target_dir != NULL) {
		if (util_mkdir_p(p->target_dir, 0755, ve) != 0)
			goto out;
		if (realpath(p->target_dir, tdir) == NULL) {
			err_sys(ve, COFFER_EIO, "target directory %s",
			    p->target_dir);
			goto out;
		}
	}
	if ((size_t)snprintf(xmlpath, sizeof(xmlpath), "%s/%s.xml",
	    p->target_dir ? tdir : p->confdir, newname) >= sizeof(xmlpath)) {
		err_set(ve, COFFER_EINVAL, "domain XML path too long");
		goto out;
	}
	if (place_disks(p, vm, newname, p->target_dir ? tdir : NULL, d, nd,
	    ve) != 0)
		goto out;
	if (!p->replace && access(xmlpath, F_OK) == 0) {
		err_set(ve, COFFER_EEXIST, "domain XML %s exists; not "
		    "overwritten (use --replace)", xmlpath);
		goto out;
	}
	if ((r = fetch_xml(x, conf, &xml, &xml_len, ve, e)) != 0 ||
	    ve->code != 0)
		goto out;
	if (plan_qcow2(x, xml, xml_len, d, nd, ve) != 0)
		goto out;
	drop_temps(d, nd);	/* a killed restore's, if any */
	if (new_xml(xml, xml_len, newname, strcmp(newname, vm) != 0, d, nd,
	    &nxml, &nxml_len, ve) != 0)
		goto out;
	if ((r = restore_disks(x, d, nd, ve, e)) != 0 || ve->code != 0) {
		drop_temps(d, nd);
		goto out;
	}
	if (finish_qcow2(x, d, nd, ve) != 0 ||
	    write_xml(xmlpath, nxml, nxml_len, p->replace, ve) != 0)
		goto out;
	x->st->restored++;
	x->st->bytes += nxml_len;
	fprintf(p->out, "VM %s restored%s%s: %zu disk%s, domain XML %s, "
	    "%.1f s\n", vm, strcmp(newname, vm) ? " as " : "",
	    strcmp(newname, vm) ? newname : "", nd, nd == 1 ? "" : "s",
	    xmlpath, util_now() - t0);
out:
	free(xml);
	free(nxml);
	for (size_t i = 0; d != NULL && i < nd; i++)
		free(d[i].more);
	free(d);
	vlist_free(&l);
	return r;
}

/* ---- which VMs ---- */

static int
vm_fs(const struct fslist_ent *f)
{
	return strncmp(f->name, "VM:", 3) == 0 && f->name[3] != '\0';
}

static const struct fslist *sort_list;

static int
by_dr(const void *a, const void *b)
{
	const struct fslist_ent *x = &sort_list->v[*(const size_t *)a];
	const struct fslist_ent *y = &sort_list->v[*(const size_t *)b];
	uint32_t const px = x->drpriority ? x->drpriority : UINT32_MAX;
	uint32_t const py = y->drpriority ? y->drpriority : UINT32_MAX;

	if (px != py)
		return px < py ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(sort_list->v[*(const size_t *)a].name,
	    sort_list->v[*(const size_t *)b].name);
}

/* Indexes of the VMs --all / --drorder name, in restore order. */
static size_t
select_vms(const struct vm_restore_params *p, const struct fslist *l,
    size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (vm_fs(&l->v[i]) && (!p->drorder || l->v[i].drprotect))
			idx[n++] = i;
	sort_list = l;
	qsort(idx, n, sizeof(*idx), p->drorder ? by_dr : by_name);
	return n;
}

int
vm_restore_run(struct net_conn *c, const struct vm_restore_params *p,
    char *const *names, size_t n, struct restore_stats *st, struct err *e)
{
	struct vm_run x;
	struct fslist l;
	size_t *idx = NULL, nsel = 0;
	double const t0 = util_now();
	int r;

	memset(st, 0, sizeof(*st));
	memset(&l, 0, sizeof(l));
	x.c = c;
	x.p = p;
	x.st = st;
	if ((r = fslist_get(c, &l, e)) != 0)
		return r;
	if (p->all || p->drorder) {
		if ((idx = calloc(l.n + 1, sizeof(*idx))) == NULL) {
			r = err_set(e, COFFER_ENOMEM, "out of memory");
			goto out;
		}
		nsel = select_vms(p, &l, idx);
		if (nsel == 0)
			say(p->log, "ANS1092W no %sVM of node %s has a backup",
			    p->drorder ? "DR-protected " : "",
			    net_user_name(c));
		if (p->drorder)
			for (size_t i = 0; i < nsel; i++)
				fprintf(p->out, "DR order %zu: VM %s "
				    "(priority %u)\n", i + 1,
				    l.v[idx[i]].name + 3,
				    (unsigned)l.v[idx[i]].drpriority);
	}
	for (size_t i = 0; i < (idx ? nsel : n) && r == 0; i++) {
		const char *vm = idx ? l.v[idx[i]].name + 3 : names[i];
		struct err ve;

		err_clear(&ve);
		st->matched++;
		r = restore_one(&x, vm, &ve, e);
		if (r == 0 && ve.code != 0) {
			say(p->log, "VM %s: %s; not restored", vm, ve.msg);
			st->failed++;
		}
	}
out:
	free(idx);
	fslist_free(&l);
	st->elapsed_s = util_now() - t0;
	return r;
}

/* ---- query vm ---- */

struct vrow {
	const char	*name;
	uint64_t	 versions, disks, bytes;
	int64_t		 last;
	int		 drprotect;
	uint32_t	 drpriority;
};

static int
vm_row(struct net_conn *c, const struct fslist_ent *f, struct vrow *row,
    struct err *e)
{
	struct vlist all, act;
	int r;

	memset(&all, 0, sizeof(all));
	memset(&act, 0, sizeof(act));
	memset(row, 0, sizeof(*row));
	row->name = f->name + 3;
	row->drprotect = f->drprotect;
	row->drpriority = f->drpriority;
	if ((r = list(c, f->name, "/domain.xml", 0, 1, VM_LIST_QUERY, &all,
	    e)) != 0 || (r = list(c, f->name, "", 0, 0, VM_LIST_QUERY, &act,
	    e)) != 0)
		goto out;
	for (size_t i = 0; i < all.n; i++)
		if (strcmp(all.v[i].path, "/domain.xml") == 0) {
			row->versions++;
			if (all.v[i].o.inserted > row->last)
				row->last = all.v[i].o.inserted;
		}
	for (size_t i = 0; i < act.n; i++)
		if (act.v[i].o.type == CLIENT_OBJ_VMDISK) {
			row->disks += is_disk(act.v[i].path);
			row->bytes += act.v[i].o.size;	/* every segment's */
		}
out:
	vlist_free(&all);
	vlist_free(&act);
	return r;
}

static void
print_row(const struct vm_query_params *p, struct json *j,
    const struct vrow *w)
{
	char when[32], size[24], pri[16];

	query_format_time(w->last, when, sizeof(when));
	if (p->json) {
		json_obj_open(j, NULL);
		json_str(j, "vm_name", w->name);
		json_u64(j, "versions", w->versions);
		json_str(j, "last_backup", w->last ? when : "");
		json_u64(j, "disks", w->disks);
		json_u64(j, "size_bytes", w->bytes);
		json_bool(j, "drprotect", w->drprotect);
		json_u64(j, "drpriority", w->drpriority);
		json_obj_close(j);
		return;
	}
	util_human_bytes(w->bytes, size, sizeof(size));
	snprintf(pri, sizeof(pri), "%u", (unsigned)w->drpriority);
	fprintf(p->out, "%-24s %8" PRIu64 "  %-19s %5" PRIu64 " %10s  %-3s "
	    "%8s\n", w->name, w->versions, w->last ? when : "-", w->disks,
	    size, w->drprotect ? "Yes" : "No", w->drpriority ? pri : "-");
}

int
vm_query(struct net_conn *c, const struct vm_query_params *p,
    uint64_t *rows, struct err *e)
{
	struct fslist l;
	struct json j;
	int r;

	*rows = 0;
	if ((r = fslist_get(c, &l, e)) != 0)
		return r;
	if (p->json) {
		json_init(&j, p->out);
		json_obj_open(&j, NULL);
		json_arr_open(&j, "rows");
	} else {
		fprintf(p->out, "%-24s %8s  %-19s %5s %10s  %-3s %8s\n",
		    "VM name", "Versions", "Last backup", "Disks", "Size",
		    "DR", "Priority");
	}
	for (size_t i = 0; i < l.n && r == 0; i++) {
		struct vrow w;

		if (!vm_fs(&l.v[i]) || (p->name != NULL &&
		    strcmp(l.v[i].name + 3, p->name) != 0))
			continue;
		if ((r = vm_row(c, &l.v[i], &w, e)) == 0) {
			print_row(p, &j, &w);
			(*rows)++;
		}
	}
	if (p->json) {
		json_arr_close(&j);
		json_obj_close(&j);
	}
	fslist_free(&l);
	return r;
}
