/*
 * restore_path.c - destination mapping and path safety (see
 * restore_path.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "restore_path.h"

int
restore_path_check(const char *rel, size_t len, struct err *e)
{
	size_t i = 0;

	if (len == 0)
		return err_set(e, COFFER_EINVAL, "empty restore path");
	if (rel[0] == '/')
		return err_set(e, COFFER_EINVAL, "restore path '%.*s' is "
		    "absolute", (int)len, rel);
	while (i <= len) {
		size_t j = i;

		while (j < len && rel[j] != '/') {
			if (rel[j] == '\0')
				return err_set(e, COFFER_EINVAL, "restore path "
				    "holds a NUL byte");
			j++;
		}
		if (j == i || (j - i == 1 && rel[i] == '.') ||
		    (j - i == 2 && rel[i] == '.' && rel[i + 1] == '.'))
			return err_set(e, COFFER_EINVAL, "restore path '%.*s' "
			    "has an empty, '.' or '..' component: refused",
			    (int)len, rel);
		i = j + 1;
	}
	return 0;
}

int
restore_path_src(const char *src, const char *cwd, char *base, size_t len,
    int *contents, struct err *e)
{
	char tmp[PATH_MAX];
	size_t n, out = 0;
	const char *p;

	if (src == NULL || *src == '\0')
		return err_set(e, COFFER_EINVAL, "no source path given");
	n = strlen(src);
	*contents = 0;
	if (n >= 2 && strcmp(src + n - 2, "/*") == 0) {
		*contents = 1;
		n -= 1;			/* keep the slash */
	}
	if (src[n - 1] == '/')
		*contents = 1;
	if (memchr(src, '*', n) != NULL || memchr(src, '?', n) != NULL ||
	    memchr(src, '[', n) != NULL)
		return err_set(e, COFFER_EINVAL, "%s: wildcards other than a "
		    "trailing /* are not supported", src);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s%.*s",
	    src[0] == '/' ? "" : cwd, src[0] == '/' ? "" : "/", (int)n,
	    src) >= sizeof(tmp))
		return err_set(e, COFFER_ETOOBIG, "%s: path too long", src);
	if (tmp[0] != '/')
		return err_set(e, COFFER_EINVAL, "%s: not an absolute path",
		    src);
	/* Lexical normalization, component by component. */
	p = tmp;
	while (*p != '\0') {
		const char *q;
		size_t cl;

		while (*p == '/')
			p++;
		for (q = p; *q != '\0' && *q != '/'; q++)
			;
		cl = (size_t)(q - p);
		if (cl == 0 || (cl == 1 && p[0] == '.')) {
			p = q;
			continue;
		}
		if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (out > 0 && base[out - 1] != '/')
				out--;
			if (out > 0)
				out--;	/* the slash */
			p = q;
			continue;
		}
		if (out + 1 + cl + 1 > len)
			return err_set(e, COFFER_ETOOBIG, "%s: path too long",
			    src);
		base[out++] = '/';
		memcpy(base + out, p, cl);
		out += cl;
		p = q;
	}
	if (out == 0)
		base[out++] = '/';
	base[out] = '\0';
	return 0;
}

static int
set_root(struct restore_plan *p, const char *dir, size_t n, struct err *e)
{
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0)
		dir = ".", n = 1;
	if (n >= sizeof(p->root))
		return err_set(e, COFFER_ETOOBIG, "destination too long");
	memcpy(p->root, dir, n);
	p->root[n] = '\0';
	return 0;
}

int
restore_plan_make(const char *src, const char *cwd, const char *dest,
    int dest_kind, int subdir, struct restore_plan *p, struct err *e)
{
	const char *slash;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = restore_path_src(src, cwd, p->base, sizeof(p->base),
	    &p->contents, e)) != 0)
		return r;
	p->base_len = strlen(p->base);
	p->subdir = subdir;
	slash = strrchr(p->base, '/');
	snprintf(p->name, sizeof(p->name), "%s", slash + 1);
	if (dest_kind != RESTORE_DEST_NONE && (dest == NULL || *dest == '\0'))
		return err_set(e, COFFER_EINVAL, "empty destination");
	if (dest_kind == RESTORE_DEST_NAME) {
		const char *ds = strrchr(dest, '/');
		const char *dn = ds ? ds + 1 : dest;

		if (p->contents || p->name[0] == '\0' || *dn == '\0' ||
		    strcmp(dn, ".") == 0 || strcmp(dn, "..") == 0)
			dest_kind = RESTORE_DEST_DIR;
		else {
			if (strlen(dn) >= sizeof(p->rename))
				return err_set(e, COFFER_ETOOBIG, "%s: name "
				    "too long", dest);
			snprintf(p->rename, sizeof(p->rename), "%s", dn);
			if (ds == NULL)
				return set_root(p, ".", 1, e);
			return set_root(p, dest, ds == dest ? 1 :
			    (size_t)(ds - dest), e);
		}
	}
	if (dest_kind == RESTORE_DEST_DIR)
		return set_root(p, dest, strlen(dest), e);
	/* The original place. */
	if (p->contents || p->name[0] == '\0')
		return set_root(p, p->base, p->base_len, e);
	return set_root(p, p->base, slash == p->base ? 1 :
	    (size_t)(slash - p->base), e);
}

int
restore_path_map(const struct restore_plan *p, const char *path, size_t len,
    char *rel, size_t rellen, struct err *e)
{
	const char *rest;
	size_t rest_len, depth = 0, n;
	int is_root = p->base_len == 1;

	/* The server must answer inside the prefix it was asked for. */
	if (len == 0 || path[0] != '/' || len < p->base_len ||
	    memcmp(path, p->base, p->base_len) != 0 ||
	    (!is_root && len > p->base_len && path[p->base_len] != '/'))
		return err_set(e, COFFER_EINVAL, "server path '%.*s' is "
		    "outside the restored path %s: refused", (int)len, path,
		    p->base);
	rest = path + (is_root ? 0 : p->base_len);
	rest_len = len - (is_root ? 0 : p->base_len);
	if (is_root && rest_len == 1)
		rest_len = 0;		/* "/" itself */
	for (size_t i = 0; i < rest_len; i++)
		if (rest[i] == '/')
			depth++;
	if (rest_len == 0 && (p->contents || p->name[0] == '\0'))
		return RESTORE_SKIP;	/* the destination root itself */
	if (!p->subdir && depth > 1)
		return RESTORE_SKIP;
	if (p->rename[0] != '\0')
		n = (size_t)snprintf(rel, rellen, "%s%.*s", p->rename,
		    (int)rest_len, rest);
	else if (p->contents || p->name[0] == '\0')
		n = (size_t)snprintf(rel, rellen, "%.*s", (int)rest_len - 1,
		    rest + 1);
	else
		n = (size_t)snprintf(rel, rellen, "%s%.*s", p->name,
		    (int)rest_len, rest);
	if (n >= rellen)
		return err_set(e, COFFER_ETOOBIG, "%.*s: path too long",
		    (int)len, path);
	return restore_path_check(rel, n, e);
}
