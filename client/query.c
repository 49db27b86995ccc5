/*
 * query.c - backup and filespace queries (see query.h).
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "fslist.h"
#include "json.h"
#include "net.h"
#include "proto.h"
#include "query.h"
#include "restore_path.h"
#include "wire.h"

void
query_format_time(int64_t t, char *buf, size_t len)
{
	time_t const tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "-");
}

/* "1,234,567" */
static void
commas(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v), o = 0;

	for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
		buf[o++] = tmp[i];
		if ((n - i - 1) % 3 == 0 && i != n - 1)
			buf[o++] = ',';
	}
	buf[o] = '\0';
}

struct qb {
	const struct query_params	*p;
	struct json			 j;
	uint64_t			 rows;
	const char			*fs;
};

static void
backup_row(struct qb *q, const struct proto_obj *o)
{
	char ins[32], deact[32], size[40];
	FILE *f = q->p->out;

	query_format_time(o->inserted, ins, sizeof(ins));
	query_format_time(o->deactivated, deact, sizeof(deact));
	q->rows++;
	if (q->p->json) {
		json_obj_open(&q->j, NULL);
		json_strn(&q->j, "path", o->path, o->path_len);
		json_u64(&q->j, "size", o->size);
		json_str(&q->j, "type", client_type_name(o->type));
		json_str(&q->j, "state", o->state == CLIENT_ACTIVE ? "active" :
		    "inactive");
		json_str(&q->j, "backup_date", ins);
		json_str(&q->j, "deactivated", o->deactivated > 0 ? deact :
		    NULL);
		json_str(&q->j, "filespace", q->fs);
		json_u64(&q->j, "id", o->id);
		json_u64(&q->j, "mode", o->mode & 07777);
		if (o->link != NULL)
			json_strn(&q->j, "link", o->link, o->link_len);
		json_obj_close(&q->j);
		return;
	}
	commas(o->size, size, sizeof(size));
	fprintf(f, "%15s B  %-19s  %-8s  %s  ", size, ins,
	    client_type_name(o->type), o->state == CLIENT_ACTIVE ? "A" : "I");
	/* Names are bytes: print them as they are, one per line. */
	/* "VM:web01/disks/vda": a VM's paths alone look like files. */
	if (proto_fs_is_vm(q->fs))
		fputs(q->fs, f);
	fwrite(o->path, 1, o->path_len, f);
	if (o->link != NULL) {
		fputs(" -> ", f);
		fwrite(o->link, 1, o->link_len, f);
	}
	fputc('\n', f);
}

/* All pages of one filespace. */
static int
query_fs(struct net_conn *c, struct qb *q, const char *fs, const char *prefix,
    struct err *e)
{
	char after[PATH_MAX] = "";
	struct wire_buf b;
	int r = 0;

	q->fs = fs;
	wire_buf_init(&b, 3 * WIRE_STR_MAX + 64);
	for (;;) {
		struct wire_rd rd;
		uint8_t more;
		uint32_t n;

		wire_buf_reset(&b);
		wire_put_str(&b, fs);
		wire_put_str(&b, prefix);
		wire_put_u64(&b, (uint64_t)(q->p->pit > 0 ? q->p->pit : 0));
		wire_put_u8(&b, (uint8_t)(q->p->pit == 0 && q->p->inactive));
		wire_put_str(&b, after);
		wire_put_u32(&b, PROTO_PAGE_MAX);
		if ((r = net_call(c, PT_OBJ_LIST, &b, PT_OBJ_PAGE, &rd,
		    e)) != 0)
			break;
		if ((r = wire_get_u8(&rd, &more, e)) != 0 ||
		    (r = wire_get_u32(&rd, &n, e)) != 0) {
			r = err_wrap(e, "OBJ_PAGE");
			break;
		}
		for (uint32_t i = 0; i < n && r == 0; i++) {
			struct proto_obj o;

			if ((r = proto_get_obj(&rd, &o, 1, e)) != 0) {
				r = err_wrap(e, "OBJ_PAGE object %u", i);
				break;
			}
			backup_row(q, &o);
			snprintf(after, sizeof(after), "%.*s",
			    (int)o.path_len, o.path);
		}
		if (r != 0 || !more || n == 0)
			break;
	}
	wire_buf_free(&b);
	return r;
}

int
query_backup(struct net_conn *c, const struct query_params *p,
    uint64_t *rows, struct err *e)
{
	char base[PATH_MAX], cwd[PATH_MAX];
	const struct fslist_ent *f = NULL;
	struct fslist l;
	struct qb q;
	int contents, r;

	memset(&q, 0, sizeof(q));
	q.p = p;
	*rows = 0;
	if ((r = fslist_get(c, &l, e)) != 0)
		return r;
	if (p->path != NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			cwd[0] = '\0';
		if ((r = restore_path_src(p->path, cwd, base, sizeof(base),
		    &contents, e)) != 0)
			goto out;
		if ((f = fslist_match(&l, base)) == NULL) {
			r = err_set(e, COFFER_ENOTFOUND, "no filespace of node "
			    "%s holds %s", net_user_name(c), base);
			goto out;
		}
	}
	if (p->json) {
		json_init(&q.j, p->out);
		json_obj_open(&q.j, NULL);
		json_arr_open(&q.j, "rows");
	} else {
		fprintf(p->out, "%17s  %-19s  %-8s  %s  %s\n", "Size",
		    "Backup Date", "Type", "A/I", "File");
		fprintf(p->out, "%17s  %-19s  %-8s  %s  %s\n", "----",
		    "-----------", "----", "---", "----");
	}
	if (p->path != NULL)
		r = query_fs(c, &q, f->name, strcmp(base, "/") == 0 ? "" : base,
		    e);
	else
		for (size_t i = 0; i < l.n && r == 0; i++)
			r = query_fs(c, &q, l.v[i].name, "", e);
	if (p->json) {
		json_arr_close(&q.j);
		json_obj_close(&q.j);
	}
	*rows = q.rows;
out:
	fslist_free(&l);
	return r;
}

int
query_filespace(struct net_conn *c, const struct query_params *p,
    uint64_t *rows, struct err *e)
{
	struct fslist l;
	struct json j;
	int r;

	if ((r = fslist_get(c, &l, e)) != 0)
		return r;
	if (p->json) {
		json_init(&j, p->out);
		json_obj_open(&j, NULL);
		json_arr_open(&j, "rows");
	} else {
		fprintf(p->out, "%4s  %-19s  %-8s  %10s  %15s  %s\n", "#",
		    "Last Incr Date", "Type", "Objects", "Bytes",
		    "File Space Name");
		fprintf(p->out, "%4s  %-19s  %-8s  %10s  %15s  %s\n", "---",
		    "--------------", "----", "-------", "-----",
		    "---------------");
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct fslist_ent *f = &l.v[i];
		char start[32], end[32], bytes[40];

		query_format_time(f->last_start, start, sizeof(start));
		query_format_time(f->last_end, end, sizeof(end));
		if (p->json) {
			json_obj_open(&j, NULL);
			json_str(&j, "filespace_name", f->name);
			json_str(&j, "type", f->type);
			json_str(&j, "last_backup_start", f->last_start > 0 ?
			    start : NULL);
			json_str(&j, "last_backup_end", f->last_end > 0 ? end :
			    NULL);
			json_u64(&j, "objects", f->objects);
			json_u64(&j, "bytes", f->bytes);
			json_u64(&j, "id", f->id);
			/* As coffer-admin's QUERY FILESPACE shows them. */
			json_str(&j, "drprotect", f->drprotect ? "yes" : "no");
			json_u64(&j, "drpriority", f->drpriority);
			json_obj_close(&j);
		} else {
			commas(f->bytes, bytes, sizeof(bytes));
			fprintf(p->out, "%4zu  %-19s  %-8s  %10" PRIu64 "  %15s"
			    "  %s\n", i + 1, end, f->type, f->objects, bytes,
			    f->name);
		}
	}
	if (p->json) {
		json_arr_close(&j);
		json_obj_close(&j);
	}
	*rows = l.n;
	fslist_free(&l);
	return 0;
}
