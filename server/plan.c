/*
 * plan.c - PREPARE's recovery plan (see plan.h): gather the state, lay
 * it out in stanzas, write the file atomically and prune old plans.
 *
 * The text is built in memory (a plan is a few KiB per node and VM) and
 * written in one util_write_atomic(), so a reader never sees half a plan
 * and a crash leaves the previous one in place.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cat.h"
#include "drm.h"
#include "err.h"
#include "plan.h"
#include "pool.h"
#include "rpo.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define STAMP_LEN	15	/* "yyyymmdd.hhmmss" */
#define STEPS_MAX	16
/* A daily DB backup is the norm (TSM's daily DRM cycle): flag older. */
#define PLAN_DBB_OLD_S	(24 * 3600 + 3600)

/* ---- helpers with no catalog (unit-tested) ---- */

static int
vm_cmp(const void *a, const void *b)
{
	const struct plan_vm *x = a, *y = b;
	uint32_t const px = x->drpriority ? x->drpriority : UINT32_MAX;
	uint32_t const py = y->drpriority ? y->drpriority : UINT32_MAX;
	int c;

	/* The client's restore vm --drorder orders the same way. */
	if (px != py)
		return px < py ? -1 : 1;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->node, y->node);
}

void
plan_vm_sort(struct plan_vm *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), vm_cmp);
}

int64_t
plan_restore_s(uint64_t bytes, double rate)
{
	double s;

	if (bytes == 0)
		return 0;
	if (rate <= 0)
		rate = PLAN_RATE_DEFAULT;
	s = (double)bytes / rate;
	if (s > (double)INT64_MAX / 2)
		return INT64_MAX / 2;
	return s < 1 ? 1 : (int64_t)s + ((double)(int64_t)s < s);
}

int
plan_file_name(const char *prefix, int64_t now, char *buf, size_t len)
{
	time_t const t = (time_t)now;
	char stamp[32];
	struct tm tm;
	int n;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d.%H%M%S", &tm) != STAMP_LEN)
		return COFFER_EINVAL;
	n = snprintf(buf, len, "%s%s", prefix, stamp);
	return n < 0 || (size_t)n >= len ? COFFER_ETOOBIG : 0;
}

/* Split prefix into its directory and the file-name part before stamps. */
static int
split_prefix(const char *prefix, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(prefix, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(dir, dlen, ".");
		*base = prefix;
		return 0;
	}
	n = (size_t)(slash - prefix);
	if (n == 0)
		n = 1;		/* "/plan." is in "/" */
	if (n >= dlen)
		return COFFER_ETOOBIG;
	memcpy(dir, prefix, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}

/* 1 when name is base followed by exactly "dddddddd.dddddd". */
static int
is_plan_name(const char *name, const char *base)
{
	size_t const bl = strlen(base);
	const char *s = name + bl;

	if (strncmp(name, base, bl) != 0 || strlen(s) != STAMP_LEN)
		return 0;
	for (int i = 0; i < STAMP_LEN; i++)
		if (i == 8 ? s[i] != '.' : (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
plan_prune(const char *prefix, int keep, size_t *deleted, struct err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	const char *base;
	struct dirent *d;
	DIR *dp = NULL;
	int r;

	*deleted = 0;
	if (keep < 1)
		keep = 1;
	if ((r = split_prefix(prefix, dir, sizeof(dir), &base)) != 0)
		return err_set(e, r, "plan prefix %s: too long", prefix);
	if ((dp = opendir(dir)) == NULL)
		return err_sys(e, COFFER_EIO, "plan directory %s", dir);
	while ((d = readdir(dp)) != NULL) {
		if (!is_plan_name(d->d_name, base))
			continue;
		if (n == cap) {
			size_t const nc = cap ? cap * 2 : 16;
			char **nv = realloc(names, nc * sizeof(*nv));

			if (nv == NULL) {
				r = err_set(e, COFFER_ENOMEM, "out of memory");
				goto out;
			}
			names = nv;
			cap = nc;
		}
		if ((names[n] = strdup(d->d_name)) == NULL) {
			r = err_set(e, COFFER_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	/* The stamps sort as the times they name: oldest first. */
	if (n > 1)
		qsort(names, n, sizeof(*names), str_cmp);
	for (size_t i = 0; n > (size_t)keep && i < n - (size_t)keep; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]) >= sizeof(path))
			continue;	/* cannot be one we wrote */
		if (unlink(path) != 0 && errno != ENOENT) {
			r = err_sys(e, COFFER_EIO, "old plan %s", path);
			goto out;
		}
		(*deleted)++;
	}
	if (*deleted > 0)
		r = util_fsync_dir(dir, e);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dp);
	return r;
}

/*
 * snprintf for the plan's lines and commands: a value too long for its
 * buffer ends in "..." so that a cut command is never mistaken for a
 * whole one.
 */
static void
fmt_cut(char *buf, size_t len, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt_cut(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* ---- the text ---- */

struct text {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
tput(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2,
    3)));

static void
tput(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p != NULL ? t->p + t->len : NULL,
		    t->p != NULL ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = 1;
			return;
		}
		if (t->p != NULL && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t nc = t->cap ? t->cap * 2 : 16384;
			char *np;

			while (nc < t->len + (size_t)n + 1)
				nc *= 2;
			if ((np = realloc(t->p, nc)) == NULL) {
				t->oom = 1;
				return;
			}
			t->p = np;
			t->cap = nc;
		}
	}
}

/*
 * Words of s from column col on, wrapped at PLAN_WIDTH; continuation
 * lines are indented by ind spaces.
 */
static void
wrap_at(struct text *t, int col, int ind, const char *s)
{
	int start = 1;

	while (*s == ' ')
		s++;
	while (*s != '\0') {
		size_t const w = strcspn(s, " ");

		if (!start && col + 1 + (int)w > PLAN_WIDTH) {
			tput(t, "\n%*s", ind, "");
			col = ind;
			start = 1;
		}
		tput(t, "%s%.*s", start ? "" : " ", (int)w, s);
		col += (start ? 0 : 1) + (int)w;
		start = 0;
		s += w;
		while (*s == ' ')
			s++;
	}
	tput(t, "\n");
}

/* s wrapped, its first line indented by first spaces. */
static void
wrap(struct text *t, int first, int ind, const char *s)
{
	tput(t, "%*s", first, "");
	wrap_at(t, first, ind, s);
}

/* label as it is (its spaces kept), then the text wrapped under it. */
static void
wrapl(struct text *t, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
wrapl(struct text *t, const char *label, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tput(t, "%s", label);
	wrap_at(t, (int)strlen(label), (int)strlen(label), buf);
}

static void
wrapf(struct text *t, int first, int ind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
wrapf(struct text *t, int first, int ind, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	wrap(t, first, ind, buf);
}

/*
 * A shell command, indented by 6, broken at unquoted spaces with " \"
 * continuations so that every line fits and it still pastes as one.
 */
static void
command(struct text *t, const char *cmd)
{
	int const ind = 6, max = PLAN_WIDTH - 2;
	int col = ind, q = 0;
	const char *s = cmd;

	tput(t, "%*s", ind, "");
	while (*s != '\0') {
		const char *w = s;
		size_t n = 0;

		/*
		 * One word: up to a space outside single quotes.  Inside
		 * double quotes the shell drops a backslash-newline, so a
		 * long admin command may break there too (the extra spaces
		 * are only more whitespace between its words).
		 */
		while (w[n] != '\0' && (q == '\'' || w[n] != ' ')) {
			if (w[n] == '\\' && w[n + 1] != '\0') {
				n += 2;
				continue;
			}
			if (w[n] == '"' || w[n] == '\'')
				q = q == w[n] ? 0 : q == 0 ? w[n] : q;
			n++;
		}
		if (col > ind && col + 1 + (int)n > max) {
			tput(t, " \\\n%*s", ind + 4, "");
			col = ind + 4;
		} else if (col > ind) {
			tput(t, " ");
			col++;
		}
		tput(t, "%.*s", (int)n, w);
		col += (int)n;
		s = w + n;
		while (*s == ' ')
			s++;
	}
	tput(t, "\n");
}

static void
begin(struct text *t, const char *name)
{
	tput(t, "\nbegin %s\n", name);
}

static void
end(struct text *t, const char *name)
{
	tput(t, "end %s\n", name);
}

/* ---- the state ---- */

struct node {
	struct cat_account	a;
	struct rpo_status	st;
};

struct plan {
	struct cat		*c;
	const struct plan_params *p;
	char			 name[CAT_NAME_MAX + 1];
	char			 repl[CAT_NAME_MAX + 1];
	struct cat_server	 hot;		/* the replication server */
	int			 has_hot;
	struct cat_server	*srv;
	size_t			 nsrv;
	struct cat_devclass	*dc;
	size_t			 ndc;
	struct cat_volume	*vol;
	size_t			 nvol;
	struct node		*node;
	size_t			 nnode;
	struct plan_vm		*vm;
	size_t			 nvm;
	int64_t			 rto_s;
	double			 rate;
	uint64_t		 rate_runs;
	uint64_t		 data_bytes;	/* occupancy, every node */
	char			 cafile[PATH_MAX];
	char			 addr[300];
	struct text		 t;
};

/* Append one element of size sz to *v (count *n, capacity *cap). */
static int
grow(void **v, size_t *n, size_t *cap, size_t sz)
{
	if (*n == *cap) {
		size_t const nc = *cap ? *cap * 2 : 8;
		void *nv = realloc(*v, nc * sz);

		if (nv == NULL)
			return COFFER_ENOMEM;
		*v = nv;
		*cap = nc;
	}
	return 0;
}

struct collect {
	struct plan	*pl;
	size_t		 cap;
};

static int
srv_cb(void *arg, const struct cat_server *s)
{
	struct collect *k = arg;
	struct plan *pl = k->pl;

	if (grow((void **)&pl->srv, &pl->nsrv, &k->cap, sizeof(*s)) != 0)
		return COFFER_ENOMEM;
	pl->srv[pl->nsrv] = *s;
	/* The key derived from the server password stays in the catalog. */
	memset(pl->srv[pl->nsrv].key, 0, sizeof(pl->srv[pl->nsrv].key));
	pl->nsrv++;
	return 0;
}

static int
dc_cb(void *arg, const struct cat_devclass *d)
{
	struct collect *k = arg;
	struct plan *pl = k->pl;

	if (grow((void **)&pl->dc, &pl->ndc, &k->cap, sizeof(*d)) != 0)
		return COFFER_ENOMEM;
	pl->dc[pl->ndc++] = *d;
	return 0;
}

static int
vol_cb(void *arg, const struct cat_volume *v)
{
	struct collect *k = arg;
	struct plan *pl = k->pl;

	if (grow((void **)&pl->vol, &pl->nvol, &k->cap, sizeof(*v)) != 0)
		return COFFER_ENOMEM;
	pl->vol[pl->nvol++] = *v;
	return 0;
}

static int
occ_cb(void *arg, const struct cat_occupancy *o)
{
	*(uint64_t *)arg += o->logical_bytes;
	return 0;
}

static int
size_cb(void *arg, const struct cat_obj *o)
{
	*(uint64_t *)arg += o->size;
	return 0;
}

/* The DR-protected VM filespaces, with their active versions' sizes. */
static int
load_vms(struct plan *pl, struct err *e)
{
	struct cat_fs *fs = NULL;
	size_t nfs = 0, cap = 0;
	int r;

	if ((r = cat_fs_array(pl->c, NULL, &fs, &nfs, e)) != 0)
		return r;
	for (size_t i = 0; i < nfs; i++) {
		struct plan_vm *v;
		uint64_t bytes = 0;
		int more = 0;

		if (!fs[i].drprotect || strncmp(fs[i].name, "VM:", 3) != 0)
			continue;
		if ((r = cat_obj_query(pl->c, fs[i].id, "", 0, 0, NULL, 0,
		    size_cb, &bytes, &more, e)) != 0)
			goto out;
		if ((r = grow((void **)&pl->vm, &pl->nvm, &cap,
		    sizeof(*pl->vm))) != 0)
			goto out;
		v = &pl->vm[pl->nvm++];
		memset(v, 0, sizeof(*v));
		snprintf(v->node, sizeof(v->node), "%s", fs[i].node);
		snprintf(v->name, sizeof(v->name), "%s", fs[i].name + 3);
		v->drpriority = fs[i].drpriority;
		v->bytes = bytes;
		v->est_s = plan_restore_s(bytes, pl->rate);
	}
	plan_vm_sort(pl->vm, pl->nvm);
out:
	free(fs);
	return r;
}

static int
load_nodes(struct plan *pl, struct err *e)
{
	struct cat_account *a = NULL;
	size_t n = 0;
	int r;

	if ((r = cat_account_array(pl->c, CAT_KIND_NODE, NULL, &a, &n,
	    e)) != 0)
		return r;
	if (n > 0 && (pl->node = calloc(n, sizeof(*pl->node))) == NULL) {
		free(a);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		pl->node[i].a = a[i];
		memset(pl->node[i].a.pwhash, 0, sizeof(pl->node[i].a.pwhash));
		rpo_eval(&a[i], rpo_replicated(&a[i], pl->repl), pl->p->now,
		    &pl->node[i].st);
	}
	pl->nnode = n;
	free(a);
	return 0;
}

static int
load(struct plan *pl, struct err *e)
{
	struct collect k;
	uint64_t rb = 0;
	double rs = 0;
	char buf[32];
	int r;

	if (cat_setting_get(pl->c, "name", pl->name, sizeof(pl->name),
	    NULL) != 0)
		snprintf(pl->name, sizeof(pl->name), "?");
	if (cat_setting_get(pl->c, "replserver", pl->repl, sizeof(pl->repl),
	    NULL) != 0)
		pl->repl[0] = '\0';
	if (pl->repl[0] != '\0' &&
	    cat_server_get(pl->c, pl->repl, &pl->hot, NULL) == 0) {
		pl->has_hot = 1;
		memset(pl->hot.key, 0, sizeof(pl->hot.key));
	}
	pl->rto_s = 0;
	if (cat_setting_get(pl->c, "rto", buf, sizeof(buf), NULL) == 0)
		pl->rto_s = strtoll(buf, NULL, 10);
	if ((r = cat_restore_rate(pl->c, &rb, &rs, &pl->rate_runs, e)) != 0)
		return r;
	pl->rate = rb > 0 && rs > 0 ? (double)rb / rs : PLAN_RATE_DEFAULT;
	if (rb == 0 || rs <= 0)
		pl->rate_runs = 0;
	memset(&k, 0, sizeof(k));
	k.pl = pl;
	if ((r = cat_server_list(pl->c, srv_cb, &k, e)) != 0)
		return r;
	k.cap = 0;
	if ((r = cat_devclass_list(pl->c, dc_cb, &k, e)) != 0)
		return r;
	k.cap = 0;
	if ((r = cat_volume_list(pl->c, 0, vol_cb, &k, e)) != 0)
		return r;
	if ((r = cat_occupancy(pl->c, NULL, occ_cb, &pl->data_bytes, e)) != 0)
		return r;
	if ((r = load_nodes(pl, e)) != 0)
		return r;
	snprintf(pl->cafile, sizeof(pl->cafile), "%s/tls/ca.pem", pl->p->dir);
	if (pl->p->listen != NULL && pl->p->port > 0)
		snprintf(pl->addr, sizeof(pl->addr), "%s:%d", pl->p->listen,
		    pl->p->port);
	else
		snprintf(pl->addr, sizeof(pl->addr), "HOST:PORT");
	return load_vms(pl, e);
}

/* ---- runbooks ---- */

struct step {
	const char	*who;
	int64_t		 est_s;
	char		 what[1024];
	char		 cmd[12][1200];
	size_t		 ncmd;
};

struct book {
	struct step	s[STEPS_MAX];
	size_t		n;
	int64_t		total;
};

static struct step *
step_new(struct book *b, const char *who, int64_t est, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct step *
step_new(struct book *b, const char *who, int64_t est, const char *fmt, ...)
{
	static struct step spare;
	struct step *s;
	va_list ap;

	/* The books are fixed lists shorter than STEPS_MAX. */
	s = b->n < STEPS_MAX ? &b->s[b->n++] : &spare;
	memset(s, 0, sizeof(*s));
	s->who = who;
	s->est_s = est;
	b->total += est;
	va_start(ap, fmt);
	vsnprintf(s->what, sizeof(s->what), fmt, ap);
	va_end(ap);
	return s;
}

static void
step_cmd(struct step *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
step_cmd(struct step *s, const char *fmt, ...)
{
	char *const out = s->cmd[s->ncmd];
	va_list ap;
	int n;

	if (s->ncmd == NELEM(s->cmd))
		return;
	s->ncmd++;
	va_start(ap, fmt);
	n = vsnprintf(out, sizeof(s->cmd[0]), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= sizeof(s->cmd[0]))
		memcpy(out + sizeof(s->cmd[0]) - 4, "...", 4);
}

/* The admin console against a server: coffer-admin --server ... -c. */
static void
adm_cmd(struct step *s, const char *addr, const char *ca, const char *cmd)
{
	step_cmd(s, "coffer-admin --server %s --ca %s -c \"%s\"", addr, ca,
	    cmd);
}

struct hot {
	char	name[CAT_NAME_MAX + 1];
	char	addr[300];
	char	ca[PATH_MAX];
};

static void
hot_site(const struct plan *pl, struct hot *h)
{
	if (pl->has_hot) {
		snprintf(h->name, sizeof(h->name), "%s", pl->hot.name);
		snprintf(h->addr, sizeof(h->addr), "%s:%d", pl->hot.hladdress,
		    pl->hot.lladdress);
		snprintf(h->ca, sizeof(h->ca), "%s", pl->hot.cafile[0] ?
		    pl->hot.cafile : "HOTSITE_DIR/tls/ca.pem");
	} else {
		snprintf(h->name, sizeof(h->name), "HOTSITE");
		snprintf(h->addr, sizeof(h->addr), "HOTHOST:HOTPORT");
		snprintf(h->ca, sizeof(h->ca), "HOTSITE_DIR/tls/ca.pem");
	}
}

/* Nodes this server replicates: the ones that exist at the hot site. */
static size_t
replicated(const struct plan *pl, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->nnode && n < max; i++)
		if (pl->node[i].st.replicated)
			names[n++] = pl->node[i].a.name;
	return n;
}

static int64_t
vm_total(const struct plan *pl)
{
	int64_t s = 0;

	for (size_t i = 0; i < pl->nvm; i++)
		s += pl->vm[i].est_s;
	return s;
}

static void
failover(const struct plan *pl, struct book *b)
{
	const char *names[8];
	size_t const nrep = replicated(pl, names, NELEM(names));
	char cmd[600];
	struct step *s;
	struct hot h;

	hot_site(pl, &h);
	s = step_new(b, "site ops", PLAN_EST_CONFIRM, "Confirm that the "
	    "primary server %s (%s) is down or its site lost, and declare "
	    "the disaster. The command below must fail to connect.", pl->name,
	    pl->addr);
	adm_cmd(s, pl->addr, pl->cafile, "query status");
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Check that the hot "
	    "site %s (%s) answers and holds the nodes, with their newest "
	    "copies (compare with NODES below).", h.name, h.addr);
	adm_cmd(s, h.addr, h.ca, "query node format=detailed");
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Role swap, so that "
	    "backups continue at the hot site: at %s make every replicated "
	    "node a source (a RECEIVE node refuses backups).%s", h.name,
	    nrep == 0 ? " No node is replicated by this server: nothing to "
	    "swap, and nothing to restore at the hot site." : "");
	for (size_t i = 0; i < nrep; i++) {
		fmt_cut(cmd, sizeof(cmd), "update node %s replstate=enabled "
		    "replmode=send", names[i]);
		adm_cmd(s, h.addr, h.ca, cmd);
	}
	if (nrep == NELEM(names))
		step_cmd(s, "# ... and the same for every other replicated "
		    "node (NODES)");
	s = step_new(b, "backup admin", PLAN_EST_REPOINT, "Point the clients "
	    "at the hot site: in each client's coffer.opt set SERVER %s and "
	    "CAFILE %s (restores alone also fail over by themselves with "
	    "REPLSERVER %s and REPLCAFILE %s).", h.addr, h.ca, h.addr, h.ca);
	step_cmd(s, "coffer --server %s --ca %s --node NODE query filespace",
	    h.addr, h.ca);
	s = step_new(b, "backup admin", vm_total(pl), "Restore the "
	    "DR-protected VMs in DR order (VM.RESTORE.ORDER), management "
	    "first, on the hypervisors at the hot site; each command restores "
	    "one VM.%s", pl->nvm == 0 ? " No VM is DR-protected (update "
	    "filespace NODE VM:NAME drprotect=yes drpriority=N)." : "");
	for (size_t i = 0; i < pl->nvm; i++)
		step_cmd(s, "coffer --server %s --ca %s --node %s --vmconfdir "
		    "/etc/libvirt/qemu restore vm %s --target-dir "
		    "/var/lib/libvirt/images", h.addr, h.ca, pl->vm[i].node,
		    pl->vm[i].name);
	if (pl->nvm > 1)
		step_cmd(s, "# or per node: coffer ... restore vm --drorder");
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Resume nightly "
	    "backups at the hot site and check the RPOs there; then run "
	    "PREPARE at the hot site for a plan of the new state.");
	step_cmd(s, "coffer --server %s --ca %s --node NODE incremental PATH",
	    h.addr, h.ca);
	adm_cmd(s, h.addr, h.ca, "query node format=detailed");
}

static const struct cat_devclass *
first_devclass(const struct plan *pl)
{
	return pl->ndc > 0 ? &pl->dc[0] : NULL;
}

static void
failback(const struct plan *pl, struct book *b)
{
	const struct cat_devclass *dc = first_devclass(pl);
	const char *names[8];
	size_t const nrep = replicated(pl, names, NELEM(names));
	char dcdef[1100], cmd[1100], dcname[CAT_NAME_MAX + 1];
	int64_t const move_s = plan_restore_s(pl->data_bytes, pl->rate);
	struct step *s;
	struct hot h;

	hot_site(pl, &h);
	snprintf(dcname, sizeof(dcname), "%s", dc != NULL ? dc->name :
	    "TAPES");
	if (dc != NULL)
		fmt_cut(dcdef, sizeof(dcdef), "define devclass %s "
		    "devtype=%s directory=%s maxcapacity=%" PRIu64 "M",
		    dc->name, dc->devtype, dc->directory, dc->maxcap >> 20);
	else
		fmt_cut(dcdef, sizeof(dcdef), "define devclass TAPES "
		    "devtype=file directory=/srv/coffer/tapes "
		    "maxcapacity=64M");
	s = step_new(b, "site ops", PLAN_EST_REBUILD, "Rebuild the primary "
	    "host and format an empty server instance with the same name "
	    "and port (the administrator password comes from "
	    "COFFER_ADMIN_PASSWORD), then start it.");
	step_cmd(s, "cofferd format --dir %s --name %s --port %d",
	    pl->p->dir, pl->name, pl->p->port > 0 ? pl->p->port : 1500);
	step_cmd(s, "cofferd --dir %s", pl->p->dir);
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Define the device "
	    "class of the volumes at both servers (the same directory, or "
	    "the one the volumes are copied into).");
	adm_cmd(s, h.addr, h.ca, dcdef);
	adm_cmd(s, pl->addr, pl->cafile, dcdef);
	s = step_new(b, "backup admin", move_s, "Export every node at the "
	    "hot site to encrypted volumes. The passphrase is the site's "
	    "export key from its key escrow: Coffer never stores it and this "
	    "plan does not hold it; keep it for the import. Estimated from "
	    "the backup data held here at the restore rate.");
	fmt_cut(cmd, sizeof(cmd), "export node * filedata=all devclass=%s "
	    "encryptkey=\\\"$COFFER_EXPORT_KEY\\\" wait=yes", dcname);
	adm_cmd(s, h.addr, h.ca, cmd);
	adm_cmd(s, h.addr, h.ca, "query volhistory type=export");
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Hand the new "
	    "export volumes to the courier.");
	adm_cmd(s, h.addr, h.ca, "move drmedia * wherestate=mountable "
	    "tostate=courier");
	s = step_new(b, "courier", PLAN_EST_COURIER, "Carry the volumes "
	    "from the hot site to the primary site and put them in the "
	    "device class directory there.");
	s = step_new(b, "backup admin", move_s, "Import the volumes at the "
	    "primary, with the same passphrase; VOLS is the comma-separated "
	    "list of volume names from the export's query volhistory.");
	fmt_cut(cmd, sizeof(cmd), "import node * devclass=%s "
	    "volumenames=VOLS encryptkey=\\\"$COFFER_EXPORT_KEY\\\" "
	    "wait=yes", dcname);
	adm_cmd(s, pl->addr, pl->cafile, cmd);
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Let the servers "
	    "trust each other again (server password from the site's "
	    "secrets store, never written here).");
	fmt_cut(cmd, sizeof(cmd), "define server %s "
	    "serverpassword=$COFFER_SERVER_PASSWORD hladdress=%s "
	    "lladdress=%d cafile=%s", h.name, pl->has_hot ?
	    pl->hot.hladdress : "HOTHOST", pl->has_hot ? pl->hot.lladdress :
	    1500, h.ca);
	adm_cmd(s, pl->addr, pl->cafile, cmd);
	fmt_cut(cmd, sizeof(cmd), "define server %s "
	    "serverpassword=$COFFER_SERVER_PASSWORD hladdress=%s "
	    "lladdress=%d cafile=%s", pl->name, pl->p->listen != NULL ?
	    pl->p->listen : "PRIMADDR", pl->p->port > 0 ? pl->p->port : 1500,
	    pl->cafile);
	adm_cmd(s, h.addr, h.ca, cmd);
	s = step_new(b, "backup admin", PLAN_EST_CHECK * 2, "Top-off: the "
	    "primary receives, the hot site replicates what changed since "
	    "the export (backups made during the disaster).");
	for (size_t i = 0; i < nrep; i++) {
		fmt_cut(cmd, sizeof(cmd), "update node %s replmode=receive",
		    names[i]);
		adm_cmd(s, pl->addr, pl->cafile, cmd);
	}
	fmt_cut(cmd, sizeof(cmd), "set replserver %s", pl->name);
	adm_cmd(s, h.addr, h.ca, cmd);
	adm_cmd(s, h.addr, h.ca, "replicate node * wait=yes");
	s = step_new(b, "backup admin", PLAN_EST_CHECK, "Role swap back: the "
	    "primary sends again, the hot site receives.");
	for (size_t i = 0; i < nrep; i++) {
		fmt_cut(cmd, sizeof(cmd), "update node %s replstate=enabled "
		    "replmode=send", names[i]);
		adm_cmd(s, pl->addr, pl->cafile, cmd);
	}
	fmt_cut(cmd, sizeof(cmd), "set replserver %s", h.name);
	adm_cmd(s, pl->addr, pl->cafile, cmd);
	for (size_t i = 0; i < nrep; i++) {
		fmt_cut(cmd, sizeof(cmd), "update node %s replmode=receive",
		    names[i]);
		adm_cmd(s, h.addr, h.ca, cmd);
	}
	adm_cmd(s, h.addr, h.ca, "set replserver");
	s = step_new(b, "backup admin", PLAN_EST_CHECK * 2, "Check and "
	    "protect the primary: a replication that sends almost nothing, "
	    "a fresh DB backup, a new plan. Point the clients back at %s "
	    "(SERVER %s in coffer.opt).", pl->name, pl->addr);
	adm_cmd(s, pl->addr, pl->cafile, "replicate node * wait=yes");
	fmt_cut(cmd, sizeof(cmd), "backup db devclass=%s type=full wait=yes",
	    dcname);
	adm_cmd(s, pl->addr, pl->cafile, cmd);
	adm_cmd(s, pl->addr, pl->cafile, "prepare");
}

static void
put_book(struct text *t, const struct book *b)
{
	char est[24];

	for (size_t i = 0; i < b->n; i++) {
		const struct step *s = &b->s[i];

		tput(t, "\n%2zu. %-13s est. %s\n", i + 1, s->who,
		    rpo_fmt_age(s->est_s, est, sizeof(est)));
		wrap(t, 4, 4, s->what);
		for (size_t j = 0; j < s->ncmd; j++)
			command(t, s->cmd[j]);
	}
	tput(t, "\nTotal: %s\n", rpo_fmt_age(b->total, est, sizeof(est)));
}

/* ---- stanzas ---- */

static const struct cat_volume *
latest_dbb(const struct plan *pl)
{
	const struct cat_volume *v = NULL;

	/* Oldest first: the last DB-backup volume is of the newest set. */
	for (size_t i = 0; i < pl->nvol; i++)
		if (pl->vol[i].kind == CAT_VOL_DBBACKUP)
			v = &pl->vol[i];
	return v;
}

static size_t
missing(const struct plan *pl, char *names, size_t len)
{
	size_t n = 0, used = 0;

	names[0] = '\0';
	for (size_t i = 0; i < pl->nnode; i++) {
		if (pl->node[i].st.state != RPO_MISSED)
			continue;
		if (used < len)
			used += (size_t)snprintf(names + used, len - used,
			    "%s%s", n ? ", " : "", pl->node[i].a.name);
		n++;
	}
	return n;
}

static void
rate_text(const struct plan *pl, char *buf, size_t len)
{
	if (pl->rate_runs > 0)
		snprintf(buf, len, "%.1f MiB/s, measured over the last %" PRIu64
		    " restore(s) here", pl->rate / 1048576, pl->rate_runs);
	else
		snprintf(buf, len, "%.1f MiB/s (default: no restore measured "
		    "yet)", pl->rate / 1048576);
}

static void
summary(struct plan *pl, const struct book *fo, struct plan_report *rep)
{
	struct text *t = &pl->t;
	const struct cat_volume *db = latest_dbb(pl);
	char names[1024], a[24], b[24], when[32], rate[128];
	size_t withrpo = 0, miss;

	for (size_t i = 0; i < pl->nnode; i++)
		withrpo += pl->node[i].st.state != RPO_NONE;
	miss = missing(pl, names, sizeof(names));
	begin(t, "PLAN.SUMMARY");
	tput(t, "Recovery plan of server %s, written %s by PREPARE.\n",
	    pl->name, rpo_fmt_when(pl->p->now, when, sizeof(when)));
	wrapl(t, "File: ", "%s", rep->file);
	tput(t, "\n");
	if (pl->rto_s > 0)
		tput(t, "RTO:          %s; estimated recovery %s: %s\n",
		    rpo_fmt_target(pl->rto_s, a, sizeof(a)),
		    rpo_fmt_age(fo->total, b, sizeof(b)),
		    fo->total <= pl->rto_s ? "MET" : "*** MISSED ***");
	else
		tput(t, "RTO:          none set (set rto 72h); estimated "
		    "recovery %s\n", rpo_fmt_age(fo->total, b, sizeof(b)));
	if (miss > 0)
		wrapl(t, "RPO:          ", "%zu of %zu nodes with an RPO "
		    "meet it; *** %zu MISS IT ***: %s", withrpo - miss, withrpo,
		    miss, names);
	else
		tput(t, "RPO:          all %zu nodes with an RPO meet it (%zu "
		    "nodes)\n", withrpo, pl->nnode);
	if (db != NULL)
		tput(t, "DB backup:    %s (%s old)%s\n", rpo_fmt_when(
		    db->created, when, sizeof(when)), rpo_fmt_age(
		    pl->p->now > db->created ? pl->p->now - db->created : 0, a,
		    sizeof(a)), pl->p->now - db->created > PLAN_DBB_OLD_S ?
		    "  *** OLDER THAN A DAY ***" : "");
	else
		tput(t, "DB backup:    *** NONE *** (backup db devclass=DC "
		    "type=full wait=yes)\n");
	if (pl->has_hot)
		tput(t, "Hot site:     %s (%s:%d)\n", pl->hot.name,
		    pl->hot.hladdress, pl->hot.lladdress);
	else
		tput(t, "Hot site:     *** NONE *** (no SET REPLSERVER: no "
		    "hot-site copy)\n");
	rate_text(pl, rate, sizeof(rate));
	wrapl(t, "Restore rate: ", "%s", rate);
	tput(t, "\nWhat to do first:\n");
	wrapf(t, 2, 5, "1. The primary site is lost: follow "
	    "RECOVERY.SCRIPT.FAILOVER, step by step, at the hot site %s.",
	    pl->has_hot ? pl->hot.name : "(none defined!)");
	wrapf(t, 2, 5, "2. The primary is rebuilt and empty: follow "
	    "RECOVERY.SCRIPT.FAILBACK.");
	wrapf(t, 2, 5, "3. Only the catalog of this server is lost: restore "
	    "it from RECOVERY.VOLUMES.REQUIRED with cofferd restore-db.");
	if (miss > 0)
		wrapf(t, 2, 5, "4. Before anything else, know that the nodes "
		    "that miss their RPO (%s) will come back older than their "
		    "objective.", names);
	wrap(t, 0, 0, "Admin commands ask for COFFER_ADMIN_PASSWORD, client "
	    "commands for COFFER_PASSWORD.");
	end(t, "PLAN.SUMMARY");
}

static void
servers(struct plan *pl)
{
	struct text *t = &pl->t;

	begin(t, "SERVERS");
	tput(t, "This server:  %s\n", pl->name);
	wrapl(t, "  Address:    ", "%s (PORT and LISTEN in cofferd.opt)",
	    pl->addr);
	wrapl(t, "  Instance:   ", "%s", pl->p->dir);
	wrapl(t, "  CA file:    ", "%s (what clients and peers trust)",
	    pl->cafile);
	wrapl(t, "  Catalog:    ", "%s/catalog.db, pool %s/pool", pl->p->dir,
	    pl->p->dir);
	tput(t, "Defined servers (define server):\n");
	if (pl->nsrv == 0)
		tput(t, "  none\n");
	for (size_t i = 0; i < pl->nsrv; i++) {
		const struct cat_server *s = &pl->srv[i];
		int const is_repl = strcmp(s->name, pl->repl) == 0;

		tput(t, "  %-12s %s:%d%s\n", s->name, s->hladdress,
		    s->lladdress, is_repl ?
		    "  <- REPLICATION SERVER (hot site)" : "");
		wrapf(t, 4, 6, "cafile %s", s->cafile[0] ? s->cafile :
		    "(none)");
	}
	tput(t, "Replication server: %s\n", pl->repl[0] ? pl->repl :
	    "none (set replserver NAME)");
	end(t, "SERVERS");
}

static void
volume_line(struct text *t, const struct cat_volume *v, int path)
{
	char when[32];

	tput(t, "  %-14.14s %-11s %-15s %-10.10s %s\n", v->name,
	    v->kind == CAT_VOL_DBBACKUP ? "BACKUPFULL" : "EXPORT",
	    drm_state_name(v->state), v->location[0] ? v->location : "-",
	    rpo_fmt_when(v->created, when, sizeof(when)));
	if (path)
		wrapf(t, 4, 6, "%s", v->path);
}

static void
volume_head(struct text *t)
{
	tput(t, "  %-14s %-11s %-15s %-10s %s\n", "Volume", "Type",
	    "DRM state", "Location", "Created");
}

static size_t
dbbackup(struct plan *pl)
{
	const struct cat_volume *db = latest_dbb(pl);
	struct text *t = &pl->t;
	char list[2048], when[32], dcdir[PATH_MAX];
	size_t n = 0, used = 0;
	const char *base;

	begin(t, "RECOVERY.VOLUMES.REQUIRED");
	if (db == NULL) {
		tput(t, "*** WARNING: NO DATABASE BACKUP EXISTS. ***\n");
		wrap(t, 0, 0, "Without one this server's catalog cannot be "
		    "rebuilt here. Make one now, and every day:");
		command(t, "backup db devclass=DC type=full wait=yes");
		end(t, "RECOVERY.VOLUMES.REQUIRED");
		return 0;
	}
	wrapf(t, 0, 2, "Latest database backup, written %s; its volumes, in "
	    "order:", rpo_fmt_when(db->created, when, sizeof(when)));
	volume_head(t);
	list[0] = '\0';
	for (size_t i = 0; i < pl->nvol; i++) {
		const struct cat_volume *v = &pl->vol[i];

		if (v->kind != CAT_VOL_DBBACKUP ||
		    memcmp(v->set_uuid, db->set_uuid, 16) != 0)
			continue;
		volume_line(t, v, 1);
		/* restore-db reads files: the volume's file name in DCDIR. */
		base = strrchr(v->path, '/');
		base = base != NULL ? base + 1 : v->path;
		if (n == 0)
			snprintf(dcdir, sizeof(dcdir), "%.*s", base > v->path ?
			    (int)(base - v->path - 1) : 1, base > v->path ?
			    v->path : ".");
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used,
			    sizeof(list) - used, "%s%s", n ? "," : "", base);
		n++;
	}
	wrap(t, 0, 0, "To rebuild the catalog (server stopped, the volumes "
	    "back in their directory):");
	{
		char cmd[2600];

		fmt_cut(cmd, sizeof(cmd), "cofferd restore-db --dir %s "
		    "--devclass-dir %s --volumes %s", pl->p->dir, dcdir, list);
		command(t, cmd);
	}
	end(t, "RECOVERY.VOLUMES.REQUIRED");
	return n;
}

static void
devclasses(struct plan *pl)
{
	struct text *t = &pl->t;
	char sz[24];

	begin(t, "DEVICE.CLASSES");
	if (pl->ndc == 0)
		tput(t, "none defined (define devclass NAME devtype=file "
		    "directory=DIR)\n");
	for (size_t i = 0; i < pl->ndc; i++) {
		const struct cat_devclass *d = &pl->dc[i];

		tput(t, "%-16s devtype %-6s maxcapacity %s\n", d->name,
		    d->devtype, util_human_bytes(d->maxcap, sz, sizeof(sz)));
		wrapf(t, 2, 4, "directory %s", d->directory);
	}
	end(t, "DEVICE.CLASSES");
}

static void
stgpools(struct plan *pl, struct pool *pool)
{
	struct text *t = &pl->t;
	struct pool_stats s;
	char a[24], b[24];

	begin(t, "STORAGE.POOLS");
	tput(t, "CONTAINERPOOL    type DIRECTORY\n");
	wrapf(t, 2, 4, "directory %s/pool", pl->p->dir);
	if (pool != NULL && pool_stats(pool, &s, NULL) == 0)
		tput(t, "  %" PRIu64 " containers, %" PRIu64 " chunks, %s of "
		    "data stored as %s, %" PRIu64 " damaged\n", s.containers,
		    s.chunks, util_human_bytes(s.raw_bytes, a, sizeof(a)),
		    util_human_bytes(s.stored_bytes, b, sizeof(b)), s.damaged);
	tput(t, "  Backup data of all nodes (occupancy): %s\n",
	    util_human_bytes(pl->data_bytes, a, sizeof(a)));
	end(t, "STORAGE.POOLS");
}

static void
copy_line(struct text *t, const char *site, int64_t copy, int64_t age,
    int met, const char *note)
{
	char when[32], a[24];

	if (copy == 0)
		tput(t, "  %-9s none%s\n", site, met ? "" : "  <- too old");
	else
		tput(t, "  %-9s %s (%s old)%s%s\n", site, rpo_fmt_when(copy,
		    when, sizeof(when)), rpo_fmt_age(age, a, sizeof(a)), note,
		    met ? "" : "  <- too old");
}

static void
nodes(struct plan *pl)
{
	struct text *t = &pl->t;
	char tg[24], when[32];

	begin(t, "NODES");
	tput(t, "Every node, its RPO target and its newest recoverable "
	    "copies.\n");
	for (size_t i = 0; i < pl->nnode; i++) {
		const struct node *n = &pl->node[i];
		const struct rpo_status *st = &n->st;

		tput(t, "\n%-20s RPO %-8s %s\n", n->a.name,
		    rpo_fmt_target(st->rpo_s, tg, sizeof(tg)),
		    st->state == RPO_MET ? "MET" : st->state == RPO_MISSED ?
		    "*** MISSED ***" : "(no RPO)");
		copy_line(t, "here:", st->local_copy, st->local_age,
		    st->local_met, "");
		if (st->replicated)
			copy_line(t, "hot site:", st->hot_copy, st->hot_age,
			    st->hot_met, "");
		else
			tput(t, "  hot site: not replicated\n");
		tput(t, "  last backup %s, last replication %s\n",
		    rpo_fmt_when(n->a.last_backup, when, sizeof(when)),
		    n->a.last_repl > 0 ? rpo_fmt_when(n->a.last_repl, tg,
		    sizeof(tg)) : "never");
	}
	if (pl->nnode == 0)
		tput(t, "No node is registered.\n");
	end(t, "NODES");
}

static void
vms(struct plan *pl)
{
	struct text *t = &pl->t;
	char sz[24], est[24], cum[24], rate[128], pri[12];
	int64_t total = 0;

	begin(t, "VM.RESTORE.ORDER");
	rate_text(pl, rate, sizeof(rate));
	wrapf(t, 0, 0, "DR-protected VMs in restore order (DR priority, "
	    "lowest first), at %s.", rate);
	tput(t, "%3s %5s %-20s %-12s %10s %10s %10s\n", "#", "Prio", "VM",
	    "Node", "Size", "Est.", "Total");
	for (size_t i = 0; i < pl->nvm; i++) {
		const struct plan_vm *v = &pl->vm[i];

		total += v->est_s;
		snprintf(pri, sizeof(pri), "%u", (unsigned)v->drpriority);
		tput(t, "%3zu %5s %-20.20s %-12.12s %10s %10s %10s\n", i + 1,
		    v->drpriority ? pri : "-", v->name, v->node,
		    util_human_bytes(v->bytes, sz, sizeof(sz)),
		    rpo_fmt_age(v->est_s, est, sizeof(est)),
		    rpo_fmt_age(total, cum, sizeof(cum)));
	}
	if (pl->nvm == 0)
		wrap(t, 0, 0, "No VM is DR-protected (update filespace NODE "
		    "VM:NAME drprotect=yes drpriority=1).");
	end(t, "VM.RESTORE.ORDER");
}

static void
rto(struct plan *pl, const struct book *fo)
{
	struct text *t = &pl->t;
	char a[24], b[24];

	begin(t, "RTO");
	tput(t, "Estimated recovery at the hot site (RECOVERY.SCRIPT.FAILOVER)"
	    ":\n");
	for (size_t i = 0; i < fo->n; i++)
		tput(t, "  step %2zu  %-13s %10s\n", i + 1, fo->s[i].who,
		    rpo_fmt_age(fo->s[i].est_s, a, sizeof(a)));
	tput(t, "Total estimated recovery time: %s\n", rpo_fmt_age(fo->total,
	    a, sizeof(a)));
	if (pl->rto_s > 0)
		tput(t, "RTO: %s -> %s\n", rpo_fmt_target(pl->rto_s, b,
		    sizeof(b)), fo->total <= pl->rto_s ? "MET" :
		    "*** MISSED ***");
	else
		tput(t, "RTO: none set (set rto 72h)\n");
	wrap(t, 0, 0, "VM steps are estimated from their sizes at the restore "
	    "rate this server measured (VM.RESTORE.ORDER; the hot site's "
	    "hardware may differ); the other steps are fixed assumptions: "
	    "correct them from your drills.");
	end(t, "RTO");
}

static void
volhistory(struct plan *pl)
{
	struct text *t = &pl->t;

	begin(t, "VOLUME.HISTORY");
	tput(t, "Every export and database backup volume, oldest first.\n");
	volume_head(t);
	for (size_t i = 0; i < pl->nvol; i++)
		volume_line(t, &pl->vol[i], 0);
	if (pl->nvol == 0)
		tput(t, "  none\n");
	end(t, "VOLUME.HISTORY");
}

static void
plan_free(struct plan *pl)
{
	free(pl->srv);
	free(pl->dc);
	free(pl->vol);
	free(pl->node);
	free(pl->vm);
	free(pl->t.p);
}

int
plan_prepare(struct cat *c, const struct plan_params *p,
    struct pool *pool, struct plan_report *rep, struct err *e)
{
	struct book *fo = NULL, *fb = NULL;
	char stamp[32];
	struct plan pl;
	int r;

	memset(&pl, 0, sizeof(pl));
	memset(rep, 0, sizeof(*rep));
	pl.c = c;
	pl.p = p;
	if ((r = plan_file_name(p->prefix, p->now, rep->file,
	    sizeof(rep->file))) != 0) {
		r = err_set(e, r, "plan prefix %s: too long", p->prefix);
		goto out;
	}
	if ((fo = calloc(1, sizeof(*fo))) == NULL ||
	    (fb = calloc(1, sizeof(*fb))) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = load(&pl, e)) != 0)
		goto out;
	failover(&pl, fo);
	failback(&pl, fb);
	snprintf(stamp, sizeof(stamp), "%s", rep->file + strlen(p->prefix));
	tput(&pl.t, "Coffer recovery plan %s of server %s.\n", stamp, pl.name);
	tput(&pl.t, "Stanzas run from \"begin NAME\" to \"end NAME\"; "
	    "read PLAN.SUMMARY first.\n");
	summary(&pl, fo, rep);
	servers(&pl);
	rep->volumes = dbbackup(&pl);
	devclasses(&pl);
	stgpools(&pl, pool);
	nodes(&pl);
	vms(&pl);
	rto(&pl, fo);
	begin(&pl.t, "RECOVERY.SCRIPT.FAILOVER");
	wrap(&pl.t, 0, 0, "The primary site is lost: recover at the hot site. "
	    "Each step: number, who, estimated time, what, the exact "
	    "command.");
	if (!pl.has_hot)
		wrap(&pl.t, 0, 0, "*** NO REPLICATION SERVER IS SET (set "
		    "replserver NAME): there is no hot-site copy of any node "
		    "to fail over to. Recover instead by rebuilding a "
		    "server and importing the export volumes of VOLUME.HISTORY "
		    "(RECOVERY.SCRIPT.FAILBACK steps 1, 2 and 6). The steps "
		    "below show the hot-site procedure with placeholders in "
		    "capitals (HOTHOST, HOTPORT, HOTSITE_DIR). ***");
	put_book(&pl.t, fo);
	end(&pl.t, "RECOVERY.SCRIPT.FAILOVER");
	begin(&pl.t, "RECOVERY.SCRIPT.FAILBACK");
	wrap(&pl.t, 0, 0, "The primary is rebuilt: seed it from tape, top it "
	    "off by replication, swap the roles back.");
	put_book(&pl.t, fb);
	end(&pl.t, "RECOVERY.SCRIPT.FAILBACK");
	volhistory(&pl);
	if (pl.t.oom) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	/* 0600: the plan names servers and volumes (never a secret). */
	if ((r = util_write_atomic(rep->file, pl.t.p, pl.t.len, 0600, e)) != 0)
		goto out;
	if ((r = plan_prune(p->prefix, p->keep, &rep->pruned, e)) != 0)
		goto out;
	rep->nodes = pl.nnode;
	rep->nodes_missing_rpo = missing(&pl, stamp, sizeof(stamp));
	rep->vms = pl.nvm;
	rep->estimated_s = fo->total;
	rep->rto_s = pl.rto_s;
	rep->rto_met = pl.rto_s > 0 ? fo->total <= pl.rto_s : -1;
	rep->measured = pl.rate_runs > 0;
out:
	free(fo);
	free(fb);
	plan_free(&pl);
	return r;
}
