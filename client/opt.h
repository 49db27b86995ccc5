/*
 * opt.h - the client's options: command line, option file, include and
 * exclude rules, and point-in-time dates.
 *
 * Options come from the command line and from the option file; the
 * command line wins.  The option file is --optfile F, else ./coffer.opt
 * when it exists, else /etc/coffer/coffer.opt when it exists.  Its lines
 * are "NAME value" with case-insensitive names, '#' starting a comment
 * line, and values optionally in double quotes:
 *
 *	SERVER		host:port	(or TCPSERVERADDRESS + TCPPORT)
 *	CAFILE		/etc/coffer/ca.pem
 *	NODENAME	web01
 *	PASSWORDFILE	/root/.coffer/WEB01.pw
 *	VMCONFDIR	/etc/libvirt/qemu	(also --vmconfdir DIR)
 *	REPLSERVER	host:port	the hot site, for failover restores
 *	REPLCAFILE	/etc/coffer/hotsite-ca.pem
 *	QUERYSCHEDPERIOD 12h	coffer sched: how often to ask (s, m, h;
 *			a bare number is hours)
 *	SCHEDLOGNAME	/var/log/coffer-sched.log	coffer sched's log
 *	INCLUDE		pattern
 *	EXCLUDE		pattern
 *
 * On the command line, options may stand before, between or after the
 * command words ("--opt value" or "--opt=value"; "--" ends options), as
 * with dsmc.  Single-dash forms of the long options ("-subdir=yes") are
 * accepted for dsmc habits.
 *
 * INCLUDE and EXCLUDE: fnmatch(3) patterns without flags, so '*' also
 * matches '/', matched against the whole absolute path.  The last rule
 * that matches decides; a path no rule matches is included.  An excluded
 * directory is neither backed up nor entered: nothing below it is backed
 * up, whatever later rules say (an EXCLUDE of "/data/tmp/" followed by a
 * star keeps the directory and drops its contents).
 */
#ifndef COFFER_CLIENT_OPT_H
#define COFFER_CLIENT_OPT_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define OPT_INCLUDE	1
#define OPT_EXCLUDE	2

#define OPT_DEFAULT_FILE	"coffer.opt"
#define OPT_SYSTEM_FILE		"/etc/coffer/coffer.opt"

struct opt_rule {
	int	 kind;		/* OPT_INCLUDE or OPT_EXCLUDE */
	char	*pattern;
};

struct coffer_opts {
	char		*server;	/* host:port */
	char		*ca_file;
	char		*node;
	char		*optfile;	/* the file read, or NULL */
	char		*vmconfdir;
	char		*password_file;
	struct opt_rule	*rules;
	size_t		 nrules;

	int		 json;
	int		 subdir;
	int		 replace;
	int		 inactive;
	int		 help;
	int		 version;
	int		 optfile_given;	/* --optfile was on the command line */
	char		*pitdate;	/* as typed */
	char		*replserver;	/* hot site: restores, queries */
	char		*repl_ca_file;	/* its CA (default: CAFILE) */
	char		*newname;	/* restore vm --newname */
	char		*target_dir;	/* restore vm --target-dir */
	int		 all;		/* restore vm --all */
	int		 drorder;	/* restore vm --all --drorder */
	char		*queryschedperiod;	/* sched: as typed */
	char		*schedlogname;	/* sched: the schedule log */
	int		 once;		/* sched --once */
	char		*libvirt_uri;	/* LIBVIRTURI, --libvirt-uri */
	int		 define;	/* restore vm --define */
	int		 start;		/* restore vm --start */

	char		**words;	/* command words, in order */
	size_t		 nwords;
};

void opt_init(struct coffer_opts *o);
void opt_free(struct coffer_opts *o);

/*
 * Separate options from words in argv[1..argc).  Unknown options and
 * missing values are COFFER_EINVAL with a message naming the option.
 */
int opt_parse_argv(struct coffer_opts *o, int argc, char **argv,
    struct err *e);

/*
 * Parse option file text (name is used in messages: "name:line: ...").
 * Values fill only what the command line left unset; INCLUDE/EXCLUDE
 * rules are appended in file order.
 */
int opt_parse_text(struct coffer_opts *o, const char *text, size_t len,
    const char *name, struct err *e);

/* Read and parse one option file. */
int opt_read_file(struct coffer_opts *o, const char *path, struct err *e);

/* argv, then the option file chosen as described above. */
int opt_load(struct coffer_opts *o, int argc, char **argv, struct err *e);

/* Append a rule (for callers and tests). */
int opt_add_rule(struct coffer_opts *o, int kind, const char *pattern,
    struct err *e);

/* 1 when path is to be backed up, 0 when a rule excludes it. */
int opt_included(const struct coffer_opts *o, const char *path);

/*
 * "YYYY-MM-DD[ HH:MM[:SS]]" (or 'T' between date and time), local time,
 * into Unix seconds.  Without a time of day, the end of that day
 * (23:59:59), as TSM's -pitdate alone means.  COFFER_EINVAL otherwise.
 */
int opt_parse_pitdate(const char *s, int64_t *out, struct err *e);

/*
 * The password file: PASSWORDFILE, else ~/.coffer/<NODENAME>.pw.
 */
int opt_password_path(const struct coffer_opts *o, char *buf, size_t len,
    struct err *e);

/* Parse "yes"/"no" (and 1/0, true/false, on/off); -1 when neither. */
int opt_yesno(const char *s);

#endif
