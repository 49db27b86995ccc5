/*
 * opt.c - command line, option file, include/exclude, pitdate (see opt.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "opt.h"

#define OPT_FILE_MAX	(1u << 20)	/* an option file is small */
#define OPT_LINE_MAX	4096

void
opt_init(struct coffer_opts *o)
{
	memset(o, 0, sizeof(*o));
}

void
opt_free(struct coffer_opts *o)
{
	free(o->server);
	free(o->ca_file);
	free(o->node);
	free(o->optfile);
	free(o->vmconfdir);
	free(o->newname);
	free(o->target_dir);
	free(o->libvirt_uri);
	free(o->replserver);
	free(o->repl_ca_file);
	free(o->password_file);
	free(o->queryschedperiod);
	free(o->schedlogname);
	free(o->pitdate);
	for (size_t i = 0; i < o->nrules; i++)
		free(o->rules[i].pattern);
	free(o->rules);
	for (size_t i = 0; i < o->nwords; i++)
		free(o->words[i]);
	free(o->words);
	memset(o, 0, sizeof(*o));
}

int
opt_yesno(const char *s)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "y") == 0 ||
	    strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "n") == 0 ||
	    strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0)
		return 0;
	return -1;
}

static int
set_str(char **dst, const char *val, struct err *e)
{
	char *p = strdup(val);

	if (p == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	free(*dst);
	*dst = p;
	return 0;
}

int
opt_add_rule(struct coffer_opts *o, int kind, const char *pattern,
    struct err *e)
{
	struct opt_rule *nr;
	char *p;

	if (*pattern == '\0')
		return err_set(e, COFFER_EINVAL, "%s needs a pattern",
		    kind == OPT_INCLUDE ? "INCLUDE" : "EXCLUDE");
	if ((p = strdup(pattern)) == NULL ||
	    (nr = realloc(o->rules, (o->nrules + 1) * sizeof(*nr))) == NULL) {
		free(p);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	o->rules = nr;
	o->rules[o->nrules].kind = kind;
	o->rules[o->nrules].pattern = p;
	o->nrules++;
	return 0;
}

int
opt_included(const struct coffer_opts *o, const char *path)
{
	/* The last matching rule decides: scan from the end. */
	for (size_t i = o->nrules; i-- > 0;)
		if (fnmatch(o->rules[i].pattern, path, 0) == 0)
			return o->rules[i].kind == OPT_INCLUDE;
	return 1;
}

/* ---- command line ---- */

enum arg_id {
	A_SERVER, A_CA, A_NODE, A_OPTFILE, A_PWFILE, A_PITDATE, A_PITTIME,
	A_JSON, A_SUBDIR, A_REPLACE, A_INACTIVE, A_HELP, A_VERSION,
	A_VMCONFDIR, A_NEWNAME, A_TARGETDIR, A_ALL, A_DRORDER, A_REPLSERVER,
	A_REPLCA, A_QSP, A_SCHEDLOG, A_ONCE, A_LIBVIRTURI, A_DEFINE, A_START
};

#define ARG_FLAG	0	/* --x, --x=yes|no */
#define ARG_VALUE	1	/* --x value, --x=value */

static const struct {
	const char	*name;
	enum arg_id	 id;
	int		 kind;
} arg_table[] = {
	{ "server",		A_SERVER,	ARG_VALUE },
	{ "ca",			A_CA,		ARG_VALUE },
	{ "cafile",		A_CA,		ARG_VALUE },
	{ "node",		A_NODE,		ARG_VALUE },
	{ "nodename",		A_NODE,		ARG_VALUE },
	{ "optfile",		A_OPTFILE,	ARG_VALUE },
	{ "password-file",	A_PWFILE,	ARG_VALUE },
	{ "passwordfile",	A_PWFILE,	ARG_VALUE },
	{ "pitdate",		A_PITDATE,	ARG_VALUE },
	{ "pittime",		A_PITTIME,	ARG_VALUE },
	{ "json",		A_JSON,		ARG_FLAG },
	{ "subdir",		A_SUBDIR,	ARG_FLAG },
	{ "replace",		A_REPLACE,	ARG_FLAG },
	{ "inactive",		A_INACTIVE,	ARG_FLAG },
	{ "help",		A_HELP,		ARG_FLAG },
	{ "version",		A_VERSION,	ARG_FLAG },
	{ "vmconfdir",		A_VMCONFDIR,	ARG_VALUE },
	{ "newname",		A_NEWNAME,	ARG_VALUE },
	{ "target-dir",		A_TARGETDIR,	ARG_VALUE },
	{ "targetdir",		A_TARGETDIR,	ARG_VALUE },
	{ "all",		A_ALL,		ARG_FLAG },
	{ "drorder",		A_DRORDER,	ARG_FLAG },
	{ "replserver",		A_REPLSERVER,	ARG_VALUE },
	{ "replca",		A_REPLCA,	ARG_VALUE },
	{ "replcafile",		A_REPLCA,	ARG_VALUE },
	{ "queryschedperiod",	A_QSP,		ARG_VALUE },
	{ "schedlogname",	A_SCHEDLOG,	ARG_VALUE },
	{ "once",		A_ONCE,		ARG_FLAG },
	{ "libvirt-uri",	A_LIBVIRTURI,	ARG_VALUE },
	{ "libvirturi",		A_LIBVIRTURI,	ARG_VALUE },
	{ "define",		A_DEFINE,	ARG_FLAG },
	{ "start",		A_START,	ARG_FLAG },
};

static int
add_word(struct coffer_opts *o, const char *w, struct err *e)
{
	char **nw, *p;

	if ((p = strdup(w)) == NULL ||
	    (nw = realloc(o->words, (o->nwords + 1) * sizeof(*nw))) == NULL) {
		free(p);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	o->words = nw;
	o->words[o->nwords++] = p;
	return 0;
}

/* "2024-05-01" + "12:00" typed as --pitdate and --pittime. */
static int
set_pittime(struct coffer_opts *o, const char *t, struct err *e)
{
	char buf[128];
	const char *d = o->pitdate ? o->pitdate : "";

	if (strchr(d, ' ') != NULL || strchr(d, 'T') != NULL)
		return err_set(e, COFFER_EINVAL, "--pittime given, but "
		    "--pitdate '%s' already has a time", d);
	if ((size_t)snprintf(buf, sizeof(buf), "%s %s", d, t) >= sizeof(buf))
		return err_set(e, COFFER_EINVAL, "--pittime '%s' is too long",
		    t);
	return set_str(&o->pitdate, buf, e);
}

static int
apply_arg(struct coffer_opts *o, enum arg_id id, const char *val,
    struct err *e)
{
	switch (id) {
	case A_SERVER:	return set_str(&o->server, val, e);
	case A_CA:	return set_str(&o->ca_file, val, e);
	case A_NODE:	return set_str(&o->node, val, e);
	case A_PWFILE:	return set_str(&o->password_file, val, e);
	case A_OPTFILE:
		o->optfile_given = 1;
		return set_str(&o->optfile, val, e);
	case A_PITDATE:
		if (o->pitdate != NULL && o->pitdate[0] == ' ') {
			/* --pittime came first. */
			char buf[128];

			snprintf(buf, sizeof(buf), "%s%s", val, o->pitdate);
			return set_str(&o->pitdate, buf, e);
		}
		return set_str(&o->pitdate, val, e);
	case A_PITTIME:	return set_pittime(o, val, e);
	case A_JSON:	o->json = val[0] == '1'; return 0;
	case A_SUBDIR:	o->subdir = val[0] == '1'; return 0;
	case A_REPLACE:	o->replace = val[0] == '1'; return 0;
	case A_INACTIVE: o->inactive = val[0] == '1'; return 0;
	case A_HELP:	o->help = val[0] == '1'; return 0;
	case A_VERSION:	o->version = val[0] == '1'; return 0;
	case A_VMCONFDIR: return set_str(&o->vmconfdir, val, e);
	case A_NEWNAME:	return set_str(&o->newname, val, e);
	case A_TARGETDIR: return set_str(&o->target_dir, val, e);
	case A_ALL:	o->all = val[0] == '1'; return 0;
	case A_DRORDER:	o->drorder = val[0] == '1'; return 0;
	case A_LIBVIRTURI: return set_str(&o->libvirt_uri, val, e);
	case A_DEFINE:	o->define = val[0] == '1'; return 0;
	case A_START:	o->start = val[0] == '1'; return 0;
	case A_REPLSERVER: return set_str(&o->replserver, val, e);
	case A_REPLCA:	return set_str(&o->repl_ca_file, val, e);
	case A_QSP:	return set_str(&o->queryschedperiod, val, e);
	case A_SCHEDLOG: return set_str(&o->schedlogname, val, e);
	case A_ONCE:	o->once = val[0] == '1'; return 0;
	}
	return err_set(e, COFFER_EINTERNAL, "bad option id");
}

/* One option at argv[*i]; may consume the next argument as its value. */
static int
parse_one(struct coffer_opts *o, int argc, char **argv, int *i,
    struct err *e)
{
	const char *arg = argv[*i], *name, *eq, *val = NULL;
	size_t nlen;

	if (strcmp(arg, "-h") == 0 || strcmp(arg, "-?") == 0)
		return apply_arg(o, A_HELP, "1", e);
	name = arg + (arg[1] == '-' ? 2 : 1);
	eq = strchr(name, '=');
	nlen = eq ? (size_t)(eq - name) : strlen(name);
	for (size_t k = 0; k < sizeof(arg_table) / sizeof(arg_table[0]); k++) {
		if (strlen(arg_table[k].name) != nlen ||
		    strncasecmp(arg_table[k].name, name, nlen) != 0)
			continue;
		if (arg_table[k].kind == ARG_FLAG) {
			int yn = 1;

			if (eq != NULL && (yn = opt_yesno(eq + 1)) < 0)
				return err_set(e, COFFER_EINVAL, "option %.*s "
				    "takes yes or no, not '%s'", (int)(eq -
				    arg), arg, eq + 1);
			return apply_arg(o, arg_table[k].id, yn ? "1" : "0",
			    e);
		}
		if (eq != NULL) {
			val = eq + 1;
		} else {
			if (*i + 1 >= argc)
				return err_set(e, COFFER_EINVAL, "option %s "
				    "needs a value", arg);
			val = argv[++*i];
		}
		return apply_arg(o, arg_table[k].id, val, e);
	}
	return err_set(e, COFFER_EINVAL, "unknown option '%s' (see coffer "
	    "--help)", arg);
}

int
opt_parse_argv(struct coffer_opts *o, int argc, char **argv, struct err *e)
{
	int only_words = 0, r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!only_words && strcmp(a, "--") == 0) {
			only_words = 1;
			continue;
		}
		if (only_words || a[0] != '-' || a[1] == '\0')
			r = add_word(o, a, e);
		else
			r = parse_one(o, argc, argv, &i, e);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- option file ---- */

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Fill *dst from the file unless the command line already did. */
static int
file_str(char **dst, const char *val, struct err *e)
{
	if (*dst != NULL)
		return 0;
	return set_str(dst, val, e);
}

static int
parse_line(struct coffer_opts *o, char *line, const char *fname, int lineno,
    char **tcphost, char **tcpport, struct err *e)
{
	char *name, *val;
	size_t vlen;

	line = trim(line);
	if (*line == '\0' || *line == '#' || *line == '*')
		return 0;
	name = line;
	for (val = line; *val != '\0' && *val != ' ' && *val != '\t'; val++)
		;
	if (*val != '\0')
		*val++ = '\0';
	val = trim(val);
	vlen = strlen(val);
	if (vlen >= 2 && ((val[0] == '"' && val[vlen - 1] == '"') ||
	    (val[0] == '\'' && val[vlen - 1] == '\''))) {
		val[vlen - 1] = '\0';
		val++;
	}
	if (*val == '\0')
		return err_set(e, COFFER_EINVAL, "%s:%d: option %s needs a "
		    "value", fname, lineno, name);
	if (strcasecmp(name, "SERVER") == 0)
		return file_str(&o->server, val, e);
	if (strcasecmp(name, "TCPSERVERADDRESS") == 0)
		return set_str(tcphost, val, e);
	if (strcasecmp(name, "TCPPORT") == 0)
		return set_str(tcpport, val, e);
	if (strcasecmp(name, "CAFILE") == 0)
		return file_str(&o->ca_file, val, e);
	if (strcasecmp(name, "NODENAME") == 0)
		return file_str(&o->node, val, e);
	if (strcasecmp(name, "PASSWORDFILE") == 0)
		return file_str(&o->password_file, val, e);
	if (strcasecmp(name, "VMCONFDIR") == 0)
		return file_str(&o->vmconfdir, val, e);
	if (strcasecmp(name, "LIBVIRTURI") == 0)
		return file_str(&o->libvirt_uri, val, e);
	if (strcasecmp(name, "REPLSERVER") == 0)
		return file_str(&o->replserver, val, e);
	if (strcasecmp(name, "REPLCAFILE") == 0)
		return file_str(&o->repl_ca_file, val, e);
	if (strcasecmp(name, "QUERYSCHEDPERIOD") == 0)
		return file_str(&o->queryschedperiod, val, e);
	if (strcasecmp(name, "SCHEDLOGNAME") == 0)
		return file_str(&o->schedlogname, val, e);
	if (strcasecmp(name, "INCLUDE") == 0)
		return opt_add_rule(o, OPT_INCLUDE, val, e);
	if (strcasecmp(name, "EXCLUDE") == 0)
		return opt_add_rule(o, OPT_EXCLUDE, val, e);
	return err_set(e, COFFER_EINVAL, "%s:%d: unknown option '%s' "
	    "(expected SERVER, CAFILE, NODENAME, PASSWORDFILE, VMCONFDIR, "
	    "LIBVIRTURI, REPLSERVER, REPLCAFILE, QUERYSCHEDPERIOD, SCHEDLOGNAME, INCLUDE "
	    "or EXCLUDE)", fname, lineno,
	    name);
}

int
opt_parse_text(struct coffer_opts *o, const char *text, size_t len,
    const char *name, struct err *e)
{
	char line[OPT_LINE_MAX], *tcphost = NULL, *tcpport = NULL;
	size_t pos = 0;
	int lineno = 0, r = 0;

	while (pos < len && r == 0) {
		size_t n = 0;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (text[pos] == '\0') {
				r = err_set(e, COFFER_EINVAL, "%s:%d: NUL byte",
				    name, lineno);
				goto out;
			}
			if (n + 1 >= sizeof(line)) {
				r = err_set(e, COFFER_EINVAL, "%s:%d: line "
				    "longer than %d bytes", name, lineno,
				    OPT_LINE_MAX - 1);
				goto out;
			}
			line[n++] = text[pos++];
		}
		pos++;			/* the newline */
		line[n] = '\0';
		r = parse_line(o, line, name, lineno, &tcphost, &tcpport, e);
	}
	if (r == 0 && tcphost != NULL && o->server == NULL) {
		char buf[512];

		snprintf(buf, sizeof(buf), strchr(tcphost, ':') ? "[%s]:%s" :
		    "%s:%s", tcphost, tcpport ? tcpport : "1500");
		r = set_str(&o->server, buf, e);
	}
out:
	free(tcphost);
	free(tcpport);
	return r;
}

int
opt_read_file(struct coffer_opts *o, const char *path, struct err *e)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, r = COFFER_EINTERNAL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_sys(e, COFFER_ENOTFOUND, "option file %s: open",
		    path);
	if (fstat(fd, &st) != 0) {
		r = err_sys(e, COFFER_EIO, "option file %s: fstat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > OPT_FILE_MAX) {
		r = err_set(e, COFFER_EINVAL, "option file %s: not a regular "
		    "file of at most %u bytes", path, OPT_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_sys(e, COFFER_EIO, "option file %s: read",
			    path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if ((r = opt_parse_text(o, buf, got, path, e)) != 0)
		goto out;
	if (o->optfile == NULL || strcmp(o->optfile, path) != 0)
		r = set_str(&o->optfile, path, e);
out:
	free(buf);
	close(fd);
	return r;
}

int
opt_load(struct coffer_opts *o, int argc, char **argv, struct err *e)
{
	int r;

	if ((r = opt_parse_argv(o, argc, argv, e)) != 0)
		return r;
	if (o->help || o->version)
		return 0;
	if (o->optfile_given)
		return opt_read_file(o, o->optfile, e);
	if (access(OPT_DEFAULT_FILE, F_OK) == 0)
		return opt_read_file(o, OPT_DEFAULT_FILE, e);
	if (access(OPT_SYSTEM_FILE, F_OK) == 0)
		return opt_read_file(o, OPT_SYSTEM_FILE, e);
	return 0;
}

/* ---- dates and files ---- */

/* Exactly n digits at *p, advancing it. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
opt_parse_pitdate(const char *s, int64_t *out, struct err *e)
{
	const char *p = s;
	struct tm tm, chk;
	int y, mo, d, h = 23, mi = 59, sec = 59;
	time_t t;

	if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 ||
	    *p++ != '-' || digits(&p, 2, &d) != 0)
		goto bad;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (digits(&p, 2, &h) != 0 || *p++ != ':' ||
		    digits(&p, 2, &mi) != 0)
			goto bad;
		sec = 0;
		if (*p == ':' && (p++, digits(&p, 2, &sec) != 0))
			goto bad;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 59 || y < 1970)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	chk = tm;
	if ((t = mktime(&tm)) == (time_t)-1)
		goto bad;
	/* mktime normalizes 2024-02-30 to March: refuse such dates. */
	if (tm.tm_mday != chk.tm_mday || tm.tm_mon != chk.tm_mon)
		goto bad;
	*out = (int64_t)t;
	return 0;
bad:
	return err_set(e, COFFER_EINVAL, "pitdate '%s' is not "
	    "\"YYYY-MM-DD[ HH:MM[:SS]]\"", s);
}

int
opt_password_path(const struct coffer_opts *o, char *buf, size_t len,
    struct err *e)
{
	const char *home;

	if (o->password_file != NULL) {
		if ((size_t)snprintf(buf, len, "%s", o->password_file) >= len)
			return err_set(e, COFFER_ETOOBIG, "password file name "
			    "too long");
		return 0;
	}
	if (o->node == NULL)
		return err_set(e, COFFER_EINVAL, "no node name given (--node "
		    "NAME or NODENAME in the option file)");
	if ((home = getenv("HOME")) == NULL || *home == '\0') {
		struct passwd *pw = getpwuid(getuid());

		if (pw == NULL || pw->pw_dir == NULL)
			return err_set(e, COFFER_ENOTFOUND, "no home directory "
			    "for the password file; set PASSWORDFILE");
		home = pw->pw_dir;
	}
	if ((size_t)snprintf(buf, len, "%s/.coffer/%s.pw", home, o->node) >=
	    len)
		return err_set(e, COFFER_ETOOBIG, "password file name too "
		    "long");
	return 0;
}
