/*
 * proto.c - object metadata codec and frame type names (see proto.h).
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "proto.h"
#include "wire.h"

void
proto_put_obj(struct wire_buf *b, const struct proto_obj *o, int with_recipe)
{
	wire_put_u64(b, o->id);
	wire_put_u8(b, o->type);
	wire_put_u8(b, o->state);
	wire_put_bytes(b, o->path, o->path_len);
	wire_put_u64(b, o->size);
	wire_put_u32(b, o->mode);
	wire_put_u32(b, o->uid);
	wire_put_u32(b, o->gid);
	wire_put_u64(b, (uint64_t)o->mtime_ns);
	wire_put_u64(b, (uint64_t)o->ctime_ns);
	wire_put_u64(b, (uint64_t)o->inserted);
	wire_put_u64(b, (uint64_t)o->deactivated);
	wire_put_raw(b, o->uuid, 16);
	wire_put_bytes(b, o->link, o->link ? o->link_len : 0);
	if (with_recipe == PROTO_OBJ_RECIPE_LEN)
		wire_put_u32(b, (uint32_t)o->recipe_len);
	else if (with_recipe)
		wire_put_bytes(b, o->recipe, o->recipe ? o->recipe_len : 0);
}

/* Paths and link targets: not empty (paths), no NUL, bounded. */
static int
get_name(struct wire_rd *r, const char **p, size_t *n, int may_be_empty,
    const char *what, struct err *e)
{
	const uint8_t *b;
	int rc;

	if ((rc = wire_get_bytes(r, 4095, &b, n, e)) != 0)
		return err_wrap(e, "%s", what);
	if ((*n == 0 && !may_be_empty) || memchr(b, '\0', *n) != NULL)
		return err_set(e, COFFER_EPROTO, "%s is empty or holds a NUL "
		    "byte", what);
	*p = (const char *)b;
	return 0;
}

int
proto_get_obj(struct wire_rd *r, struct proto_obj *o, int with_recipe,
    struct err *e)
{
	uint64_t v[4];
	int rc;

	memset(o, 0, sizeof(*o));
	if ((rc = wire_get_u64(r, &o->id, e)) != 0 ||
	    (rc = wire_get_u8(r, &o->type, e)) != 0 ||
	    (rc = wire_get_u8(r, &o->state, e)) != 0 ||
	    (rc = get_name(r, &o->path, &o->path_len, 0, "path", e)) != 0 ||
	    (rc = wire_get_u64(r, &o->size, e)) != 0 ||
	    (rc = wire_get_u32(r, &o->mode, e)) != 0 ||
	    (rc = wire_get_u32(r, &o->uid, e)) != 0 ||
	    (rc = wire_get_u32(r, &o->gid, e)) != 0 ||
	    (rc = wire_get_u64(r, &v[0], e)) != 0 ||
	    (rc = wire_get_u64(r, &v[1], e)) != 0 ||
	    (rc = wire_get_u64(r, &v[2], e)) != 0 ||
	    (rc = wire_get_u64(r, &v[3], e)) != 0 ||
	    (rc = wire_get_raw(r, o->uuid, 16, e)) != 0 ||
	    (rc = get_name(r, &o->link, &o->link_len, 1, "link", e)) != 0)
		return rc;
	o->mtime_ns = (int64_t)v[0];
	o->ctime_ns = (int64_t)v[1];
	o->inserted = (int64_t)v[2];
	o->deactivated = (int64_t)v[3];
	if (o->link_len == 0)
		o->link = NULL;
	if (with_recipe == PROTO_OBJ_RECIPE_LEN) {
		uint32_t len;

		if ((rc = wire_get_u32(r, &len, e)) != 0)
			return err_wrap(e, "recipe length");
		if (len > PROTO_RECIPE_MAX)
			return err_set(e, COFFER_EPROTO, "recipe length %u "
			    "exceeds %u", len, PROTO_RECIPE_MAX);
		o->recipe_len = len;
	} else if (with_recipe) {
		const uint8_t *p;

		if ((rc = wire_get_bytes(r, PROTO_RECIPE_MAX, &p,
		    &o->recipe_len, e)) != 0)
			return err_wrap(e, "recipe");
		o->recipe = o->recipe_len ? p : NULL;
	}
	return 0;
}

void
proto_put_fs(struct wire_buf *b, const struct proto_fs *f)
{
	wire_put_u64(b, f->id);
	wire_put_bytes(b, f->name, f->name ? f->name_len : 0);
	wire_put_bytes(b, f->type, f->type ? f->type_len : 0);
	wire_put_u64(b, (uint64_t)f->last_start);
	wire_put_u64(b, (uint64_t)f->last_end);
	wire_put_u64(b, f->objects);
	wire_put_u64(b, f->bytes);
	wire_put_u8(b, f->drprotect ? 1 : 0);
	wire_put_u32(b, f->drpriority);
}

int
proto_get_fs(struct wire_rd *r, struct proto_fs *f, struct err *e)
{
	uint64_t s, t;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = wire_get_u64(r, &f->id, e)) != 0 ||
	    (rc = get_name(r, &f->name, &f->name_len, 0, "filespace name",
	    e)) != 0 ||
	    (rc = get_name(r, &f->type, &f->type_len, 1, "filespace type",
	    e)) != 0 ||
	    (rc = wire_get_u64(r, &s, e)) != 0 ||
	    (rc = wire_get_u64(r, &t, e)) != 0 ||
	    (rc = wire_get_u64(r, &f->objects, e)) != 0 ||
	    (rc = wire_get_u64(r, &f->bytes, e)) != 0 ||
	    (rc = wire_get_u8(r, &f->drprotect, e)) != 0 ||
	    (rc = wire_get_u32(r, &f->drpriority, e)) != 0)
		return rc;
	if (f->type_len > 31)
		return err_set(e, COFFER_EPROTO, "filespace type of %zu bytes "
		    "exceeds 31", f->type_len);
	if (f->drprotect > 1)
		return err_set(e, COFFER_EPROTO, "filespace drprotect is %u, "
		    "not 0 or 1", f->drprotect);
	f->last_start = (int64_t)s;
	f->last_end = (int64_t)t;
	return 0;
}

int
proto_fs_is_vm(const char *name)
{
	return name != NULL && strncmp(name, PROTO_VM_PREFIX,
	    PROTO_VM_PREFIX_LEN) == 0;
}

/* The NAME of "VM:NAME": what a VM is called on the command line. */
static int
vm_name_check(const char *full, const char *vm, struct err *e)
{
	size_t const n = strlen(vm);

	if (n == 0 || n > PROTO_VM_NAME_MAX)
		return err_set(e, COFFER_EINVAL, "filespace name '%.40s%s': a "
		    "VM name after \"" PROTO_VM_PREFIX "\" is 1 to %d bytes "
		    "long, not %zu", full, n > 40 ? "..." : "",
		    PROTO_VM_NAME_MAX, n);
	if (strcmp(vm, ".") == 0 || strcmp(vm, "..") == 0)
		return err_set(e, COFFER_EINVAL, "filespace name '%s': a VM "
		    "name cannot be \".\" or \"..\"", full);
	for (size_t i = 0; i < n; i++) {
		unsigned char const c = (unsigned char)vm[i];

		/* A VM name becomes a file name at restore: no '/'. */
		if (c == '/' || c < 0x20 || c == 0x7f)
			return err_set(e, COFFER_EINVAL, "filespace name "
			    "'%.40s': a VM name cannot hold '/' or control "
			    "characters (byte %zu is 0x%02x)", full,
			    PROTO_VM_PREFIX_LEN + i + 1, c);
	}
	return 0;
}

int
proto_fs_name_check(const char *name, struct err *e)
{
	if (name == NULL || name[0] == '\0')
		return err_set(e, COFFER_EINVAL, "filespace name is empty");
	if (name[0] == '/')
		return 0;
	if (proto_fs_is_vm(name))
		return vm_name_check(name, name + PROTO_VM_PREFIX_LEN, e);
	return err_set(e, COFFER_EINVAL, "filespace name '%.64s' must be an "
	    "absolute path or \"" PROTO_VM_PREFIX "NAME\" for a virtual "
	    "machine", name);
}

/* ---- scheduler frames ---- */

void
proto_put_sched_next(struct wire_buf *b, const struct proto_sched_next *n)
{
	wire_put_u64(b, (uint64_t)n->now);
	wire_put_u32(b, n->poll_s);
	wire_put_u8(b, n->randomize);
	wire_put_u8(b, n->has ? 1 : 0);
	if (!n->has)
		return;
	wire_put_bytes(b, n->domain, n->domain ? n->domain_len : 0);
	wire_put_bytes(b, n->schedule, n->schedule ? n->schedule_len : 0);
	wire_put_bytes(b, n->action, n->action ? n->action_len : 0);
	wire_put_bytes(b, n->objects, n->objects ? n->objects_len : 0);
	wire_put_bytes(b, n->options, n->options ? n->options_len : 0);
	wire_put_u64(b, (uint64_t)n->start);
	wire_put_u64(b, (uint64_t)n->end);
}

/* A text field of at most max bytes without NUL; empty when may_be_empty. */
static int
get_text(struct wire_rd *r, size_t max, int may_be_empty, const char **p,
    size_t *n, const char *what, struct err *e)
{
	const uint8_t *b;
	int rc;

	if ((rc = wire_get_bytes(r, max, &b, n, e)) != 0)
		return err_wrap(e, "%s", what);
	if ((*n == 0 && !may_be_empty) || memchr(b, '\0', *n) != NULL)
		return err_set(e, COFFER_EPROTO, "%s is empty or holds a NUL "
		    "byte", what);
	*p = (const char *)b;
	return 0;
}

int
proto_get_sched_next(struct wire_rd *r, struct proto_sched_next *n,
    struct err *e)
{
	uint64_t now, s, t;
	int rc;

	memset(n, 0, sizeof(*n));
	if ((rc = wire_get_u64(r, &now, e)) != 0 ||
	    (rc = wire_get_u32(r, &n->poll_s, e)) != 0 ||
	    (rc = wire_get_u8(r, &n->randomize, e)) != 0 ||
	    (rc = wire_get_u8(r, &n->has, e)) != 0)
		return rc;
	n->now = (int64_t)now;
	if (n->randomize > PROTO_SCHED_RANDOMIZE_MAX || n->has > 1)
		return err_set(e, COFFER_EPROTO, "SCHED_NEXT: randomize %u or "
		    "has %u out of range", n->randomize, n->has);
	if (n->has == 0)
		return wire_rd_end(r, e);
	if ((rc = get_text(r, PROTO_SCHED_NAME_MAX, 0, &n->domain,
	    &n->domain_len, "schedule domain", e)) != 0 ||
	    (rc = get_text(r, PROTO_SCHED_NAME_MAX, 0, &n->schedule,
	    &n->schedule_len, "schedule name", e)) != 0 ||
	    (rc = get_text(r, PROTO_SCHED_ACTION_MAX, 0, &n->action,
	    &n->action_len, "schedule action", e)) != 0 ||
	    (rc = get_text(r, PROTO_SCHED_OBJECTS_MAX, 1, &n->objects,
	    &n->objects_len, "schedule objects", e)) != 0 ||
	    (rc = get_text(r, PROTO_SCHED_OPTIONS_MAX, 1, &n->options,
	    &n->options_len, "schedule options", e)) != 0 ||
	    (rc = wire_get_u64(r, &s, e)) != 0 ||
	    (rc = wire_get_u64(r, &t, e)) != 0)
		return rc;
	n->start = (int64_t)s;
	n->end = (int64_t)t;
	if (n->end <= n->start)
		return err_set(e, COFFER_EPROTO, "SCHED_NEXT: window ends "
		    "before it starts");
	return wire_rd_end(r, e);
}

void
proto_put_sched_report(struct wire_buf *b, const struct proto_sched_report *p)
{
	wire_put_bytes(b, p->domain, p->domain ? p->domain_len : 0);
	wire_put_bytes(b, p->schedule, p->schedule ? p->schedule_len : 0);
	wire_put_u64(b, (uint64_t)p->start);
	wire_put_u8(b, p->phase);
	wire_put_u8(b, p->rc);
	wire_put_bytes(b, p->message, p->message ? p->message_len : 0);
}

int
proto_get_sched_report(struct wire_rd *r, struct proto_sched_report *p,
    struct err *e)
{
	uint64_t s;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = get_text(r, PROTO_SCHED_NAME_MAX, 0, &p->domain,
	    &p->domain_len, "schedule domain", e)) != 0 ||
	    (rc = get_text(r, PROTO_SCHED_NAME_MAX, 0, &p->schedule,
	    &p->schedule_len, "schedule name", e)) != 0 ||
	    (rc = wire_get_u64(r, &s, e)) != 0 ||
	    (rc = wire_get_u8(r, &p->phase, e)) != 0 ||
	    (rc = wire_get_u8(r, &p->rc, e)) != 0 ||
	    (rc = get_text(r, PROTO_SCHED_MSG_MAX, 1, &p->message,
	    &p->message_len, "schedule message", e)) != 0)
		return rc;
	p->start = (int64_t)s;
	if (p->phase != PROTO_SCHED_STARTED && p->phase != PROTO_SCHED_ENDED)
		return err_set(e, COFFER_EPROTO, "SCHED_REPORT: phase %u is "
		    "neither started (1) nor ended (2)", p->phase);
	if (p->rc > RC_ERROR)
		return err_set(e, COFFER_EPROTO, "SCHED_REPORT: return code "
		    "%u is above %d", p->rc, RC_ERROR);
	return wire_rd_end(r, e);
}

const char *
proto_feature_name(uint64_t bit)
{
	switch (bit) {
	case PROTO_FEAT_TXN_STAGE:	return "TXN_STAGE";
	case PROTO_FEAT_RECIPE_GET:	return "RECIPE_GET";
	case PROTO_FEAT_LIST_OPTS:	return "LIST_OPTS";
	}
	return "UNKNOWN";
}

const char *
proto_type_name(uint16_t type)
{
	switch (type) {
	case PT_HELLO:		return "HELLO";
	case PT_HELLO_OK:	return "HELLO_OK";
	case PT_AUTH:		return "AUTH";
	case PT_AUTH_OK:	return "AUTH_OK";
	case PT_ERROR:		return "ERROR";
	case PT_BYE:		return "BYE";
	case PT_AUTH_CHAL:	return "AUTH_CHAL";
	case PT_AUTH_PROOF:	return "AUTH_PROOF";
	case PT_SCHED_QUERY:	return "SCHED_QUERY";
	case PT_SCHED_NEXT:	return "SCHED_NEXT";
	case PT_SCHED_REPORT:	return "SCHED_REPORT";
	case PT_SCHED_OK:	return "SCHED_OK";
	case PT_FS_OPEN:	return "FS_OPEN";
	case PT_FS_OK:		return "FS_OK";
	case PT_INV_GET:	return "INV_GET";
	case PT_INV_PAGE:	return "INV_PAGE";
	case PT_CHUNK_ASK:	return "CHUNK_ASK";
	case PT_CHUNK_NEED:	return "CHUNK_NEED";
	case PT_CHUNK_PUT:	return "CHUNK_PUT";
	case PT_OBJ_PUT:	return "OBJ_PUT";
	case PT_OBJ_META:	return "OBJ_META";
	case PT_OBJ_GONE:	return "OBJ_GONE";
	case PT_TXN_COMMIT:	return "TXN_COMMIT";
	case PT_TXN_OK:		return "TXN_OK";
	case PT_OBJ_RECIPE:	return "OBJ_RECIPE";
	case PT_OBJ_RECIPE_OK:	return "OBJ_RECIPE_OK";
	case PT_TXN_ABORT:	return "TXN_ABORT";
	case PT_RECIPE_GET:	return "RECIPE_GET";
	case PT_REPL_NODE:	return "REPL_NODE";
	case PT_REPL_FS:	return "REPL_FS";
	case PT_REPL_FS_OK:	return "REPL_FS_OK";
	case PT_REPL_LIST:	return "REPL_LIST";
	case PT_REPL_PAGE:	return "REPL_PAGE";
	case PT_REPL_OBJ:	return "REPL_OBJ";
	case PT_REPL_DEL:	return "REPL_DEL";
	case PT_REPL_STATE:	return "REPL_STATE";
	case PT_REPL_DONE:	return "REPL_DONE";
	case PT_REPL_OK:	return "REPL_OK";
	case PT_REPL_CHUNK_GET: return "REPL_CHUNK_GET";
	case PT_REPL_CHUNK:	return "REPL_CHUNK";
	case PT_FS_LIST:	return "FS_LIST";
	case PT_FS_PAGE:	return "FS_PAGE";
	case PT_OBJ_LIST:	return "OBJ_LIST";
	case PT_OBJ_PAGE:	return "OBJ_PAGE";
	case PT_CHUNK_GET:	return "CHUNK_GET";
	case PT_CHUNK_DATA:	return "CHUNK_DATA";
	case PT_ADM_CMD:	return "ADM_CMD";
	case PT_ADM_RESULT:	return "ADM_RESULT";
	}
	return "UNKNOWN";
}
