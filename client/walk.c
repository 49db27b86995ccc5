/*
 * walk.c - sorted, one-file-system tree walk (see walk.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "err.h"
#include "walk.h"

struct frame {
	int		 fd;
	char		*arena;		/* the names, NUL-separated */
	char		**names;	/* sorted pointers into arena */
	size_t		 n, idx;
	size_t		 base_len;	/* length of this directory's path */
};

struct walk {
	char		*path;
	size_t		 path_cap;
	size_t		 root_len;
	dev_t		 dev;
	struct frame	*fr;
	size_t		 nfr, frcap;
	int		 started;
	int		 descend;	/* enter the directory last returned */
	struct walk_ent	 ent;
};

int
walk_pkey_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t const n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned const ca = a[i] == '/' ? 0 : (unsigned char)a[i];
		unsigned const cb = b[i] == '/' ? 0 : (unsigned char)b[i];

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int
walk_under(const char *root, size_t rlen, const char *path, size_t plen)
{
	if (rlen == 1 && root[0] == '/')
		return plen >= 1 && path[0] == '/';
	if (plen < rlen || memcmp(root, path, rlen) != 0)
		return 0;
	return plen == rlen || path[rlen] == '/';
}

static int
path_reserve(struct walk *w, size_t need, struct err *e)
{
	char *np;
	size_t ncap;

	if (need <= w->path_cap)
		return 0;
	ncap = w->path_cap ? w->path_cap : 256;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(w->path, ncap)) == NULL)
		return err_set(e, COFFER_ENOMEM, "walk: out of memory");
	w->path = np;
	w->path_cap = ncap;
	return 0;
}

struct walk *
walk_open(const char *root, struct err *e)
{
	struct walk *w;
	size_t const len = strlen(root);

	if (len == 0 || root[0] != '/') {
		err_set(e, COFFER_EINVAL, "walk: '%s' is not an absolute path",
		    root);
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		err_set(e, COFFER_ENOMEM, "walk: out of memory");
		return NULL;
	}
	if (path_reserve(w, len + 1, e) != 0) {
		free(w);
		return NULL;
	}
	memcpy(w->path, root, len + 1);
	w->root_len = len;
	return w;
}

static void
frame_free(struct frame *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->arena);
	free(f->names);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

void
walk_close(struct walk *w)
{
	if (w == NULL)
		return;
	while (w->nfr > 0)
		frame_free(&w->fr[--w->nfr]);
	free(w->fr);
	free(w->path);
	free(w);
}

void
walk_prune(struct walk *w)
{
	w->descend = 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every name of the directory open at fd into f, sorted. */
static int
read_names(struct frame *f, int *err_out, struct err *e)
{
	size_t used = 0, cap = 0, n = 0, pos;
	struct dirent *de;
	char *arena = NULL;
	DIR *d;
	int dfd;

	if ((dfd = dup(f->fd)) < 0 || (d = fdopendir(dfd)) == NULL) {
		*err_out = errno;
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	for (;;) {
		size_t len;

		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		len = strlen(de->d_name) + 1;
		if (used + len > cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *np;

			while (ncap < used + len)
				ncap *= 2;
			if ((np = realloc(arena, ncap)) == NULL)
				goto nomem;
			arena = np;
			cap = ncap;
		}
		memcpy(arena + used, de->d_name, len);
		used += len;
		n++;
	}
	if (errno != 0)
		*err_out = errno;
	closedir(d);
	d = NULL;
	if (n > 0 && (f->names = malloc(n * sizeof(*f->names))) == NULL)
		goto nomem;
	/* Pointers are taken only now: the arena no longer moves. */
	pos = 0;
	for (size_t k = 0; k < n; k++) {
		f->names[k] = arena + pos;
		pos += strlen(arena + pos) + 1;
	}
	if (n > 1)
		qsort(f->names, n, sizeof(*f->names), name_cmp);
	f->arena = arena;
	f->n = n;
	return 0;
nomem:
	if (d != NULL)
		closedir(d);
	free(arena);
	return err_set(e, COFFER_ENOMEM, "walk: out of memory");
}

/* Enter the directory last returned; *err_out gets errno if it fails. */
static int
push_dir(struct walk *w, int *err_out, struct err *e)
{
	struct frame *f;
	int fd;

	*err_out = 0;
	if (w->nfr == w->frcap) {
		size_t const ncap = w->frcap ? w->frcap * 2 : 16;
		struct frame *nf = realloc(w->fr, ncap * sizeof(*nf));

		if (nf == NULL)
			return err_set(e, COFFER_ENOMEM, "walk: out of memory");
		w->fr = nf;
		w->frcap = ncap;
	}
	if (w->nfr == 0)
		fd = open(w->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	else
		fd = openat(w->fr[w->nfr - 1].fd, w->ent.name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*err_out = errno;
		return 0;
	}
	f = &w->fr[w->nfr];
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->base_len = w->ent.path_len;
	if (read_names(f, err_out, e) != 0) {
		frame_free(f);
		return e ? e->code : COFFER_ENOMEM;
	}
	if (*err_out != 0 && f->n == 0) {
		frame_free(f);
		return 0;
	}
	w->nfr++;
	return 0;
}

static int
first_entry(struct walk *w)
{
	struct walk_ent *ent = &w->ent;
	const char *slash = strrchr(w->path, '/');

	memset(ent, 0, sizeof(*ent));
	ent->kind = WALK_ENTRY;
	ent->path = w->path;
	ent->path_len = w->root_len;
	ent->name = slash[1] != '\0' ? slash + 1 : w->path;
	ent->dirfd = -1;
	w->started = 1;
	if (lstat(w->path, &ent->st) != 0) {
		ent->err = errno;
		return 1;
	}
	w->dev = ent->st.st_dev;
	w->descend = S_ISDIR(ent->st.st_mode);
	return 1;
}

int
walk_next(struct walk *w, const struct walk_ent **out, struct err *e)
{
	struct walk_ent *ent = &w->ent;
	int r, derr;

	if (!w->started) {
		*out = ent;
		return first_entry(w);
	}
	if (w->descend) {
		w->descend = 0;
		if ((r = push_dir(w, &derr, e)) != 0)
			return r;
		if (derr != 0) {
			/* ent still describes the directory. */
			ent->kind = WALK_DIR_ERR;
			ent->err = derr;
			*out = ent;
			return 1;
		}
	}
	while (w->nfr > 0) {
		struct frame *f = &w->fr[w->nfr - 1];
		const char *name;
		size_t nlen, base;

		if (f->idx == f->n) {
			frame_free(f);
			w->nfr--;
			continue;
		}
		name = f->names[f->idx++];
		nlen = strlen(name);
		/* The root "/" has no separator of its own to add. */
		base = f->base_len == 1 ? 0 : f->base_len;
		if ((r = path_reserve(w, base + nlen + 2, e)) != 0)
			return r;
		w->path[base] = '/';
		memcpy(w->path + base + 1, name, nlen + 1);
		memset(ent, 0, sizeof(*ent));
		ent->kind = WALK_ENTRY;
		ent->path = w->path;
		ent->path_len = base + 1 + nlen;
		ent->name = name;
		ent->dirfd = f->fd;
		ent->depth = (int)w->nfr;
		if (fstatat(f->fd, name, &ent->st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;	/* gone since readdir */
			ent->err = errno;
			*out = ent;
			return 1;
		}
		if (S_ISDIR(ent->st.st_mode) && ent->st.st_dev != w->dev)
			continue;		/* a mount point: not ours */
		w->descend = S_ISDIR(ent->st.st_mode);
		*out = ent;
		return 1;
	}
	return 0;
}

int
walk_abspath(const char *path, char *out, size_t outlen, struct err *e)
{
	char abs[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
	const char *last;
	size_t len;

	if (path == NULL || *path == '\0')
		return err_set(e, COFFER_EINVAL, "empty path");
	if (path[0] == '/') {
		if ((size_t)snprintf(abs, sizeof(abs), "%s", path) >=
		    sizeof(abs))
			goto toolong;
	} else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return err_sys(e, COFFER_EIO, "getcwd");
		if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >=
		    sizeof(abs))
			goto toolong;
	}
	len = strlen(abs);
	while (len > 1 && abs[len - 1] == '/')
		abs[--len] = '\0';
	last = strrchr(abs, '/') + 1;
	if (len == 1 || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
		if (realpath(abs, real) == NULL)
			return err_sys(e, COFFER_ENOTFOUND, "%s", path);
		if ((size_t)snprintf(out, outlen, "%s", real) >= outlen)
			goto toolong;
		return 0;
	}
	memcpy(dir, abs, (size_t)(last - abs));
	dir[last - abs] = '\0';
	if (realpath(dir, real) == NULL)
		return err_sys(e, COFFER_ENOTFOUND, "%s", path);
	if ((size_t)snprintf(out, outlen, "%s/%s", strcmp(real, "/") == 0 ? "" :
	    real, last) >= outlen)
		goto toolong;
	return 0;
toolong:
	return err_set(e, COFFER_ETOOBIG, "%s: path too long", path);
}

/* Undo the octal escapes of /proc/mounts ("\040" is a space). */
static void
unescape(char *s)
{
	char *d = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static const char *
statfs_type(const char *path)
{
	static const struct {
		unsigned long	 magic;
		const char	*name;
	} types[] = {
		{ 0xEF53, "ext4" }, { 0x58465342, "xfs" },
		{ 0x9123683E, "btrfs" }, { 0x01021994, "tmpfs" },
		{ 0x794c7630, "overlay" }, { 0x2fc12fc1, "zfs" },
		{ 0x6969, "nfs" }, { 0xF2F52010, "f2fs" },
	};
	struct statfs sf;

	if (statfs(path, &sf) != 0)
		return "unknown";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((unsigned long)sf.f_type == types[i].magic)
			return types[i].name;
	return "unknown";
}

static void
mount_type(const char *fs, char *type, size_t typelen)
{
	char line[3 * PATH_MAX], found[64] = "";
	FILE *f;

	if ((f = fopen("/proc/mounts", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *sp1, *sp2, *sp3;

			if ((sp1 = strchr(line, ' ')) == NULL ||
			    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
			    (sp3 = strchr(sp2 + 1, ' ')) == NULL)
				continue;
			*sp2 = '\0';
			*sp3 = '\0';
			unescape(sp1 + 1);
			/* The last mount on a path is the visible one. */
			if (strcmp(sp1 + 1, fs) == 0)
				snprintf(found, sizeof(found), "%s", sp2 + 1);
		}
		fclose(f);
	}
	snprintf(type, typelen, "%s", found[0] ? found : statfs_type(fs));
}

int
walk_filespace(const char *path, char *fs, size_t fslen, char *type,
    size_t typelen, struct err *e)
{
	char cur[PATH_MAX];
	struct stat st;
	dev_t dev;

	if (lstat(path, &st) != 0)
		return err_sys(e, COFFER_ENOTFOUND, "%s", path);
	dev = st.st_dev;
	if ((size_t)snprintf(cur, sizeof(cur), "%s", path) >= sizeof(cur))
		return err_set(e, COFFER_ETOOBIG, "%s: path too long", path);
	while (strcmp(cur, "/") != 0) {
		char parent[PATH_MAX];
		char *slash;

		memcpy(parent, cur, strlen(cur) + 1);
		slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(parent, &st) != 0 || st.st_dev != dev)
			break;
		memcpy(cur, parent, strlen(parent) + 1);
	}
	if ((size_t)snprintf(fs, fslen, "%s", cur) >= fslen)
		return err_set(e, COFFER_ETOOBIG, "%s: path too long", path);
	mount_type(cur, type, typelen);
	return 0;
}
