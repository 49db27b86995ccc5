/*
 * coffer - the backup client (like dsmc).
 *
 * A thin main: options (opt.h), one node session (net.h), and one
 * command: incremental, selective (backup.h), restore (restore.h), query
 * backup / filespace (query.h).  Exit status follows TSM: 0 all done,
 * 4 some objects skipped or failed, 8 warnings (nothing matched), 12
 * errors.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backup.h"
#include "err.h"
#include "json.h"
#include "net.h"
#include "opt.h"
#include "passwd.h"
#include "proto.h"
#include "query.h"
#include "restore.h"
#include "scheduler.h"
#include "util.h"
#include "vm_backup.h"
#include "vm_libvirt.h"
#include "vm_restore.h"
#include "vm_xml.h"

static const char usage_text[] =
"NAME\n"
"    coffer - back up and restore files with a Coffer server\n"
"\n"
"SYNOPSIS\n"
"    coffer [--server HOST:PORT] [--ca FILE] [--node NAME] [--optfile F]\n"
"           [--json] COMMAND ARGS... [OPTIONS]\n"
"\n"
"COMMANDS\n"
"    incremental PATH...     progressive incremental backup (abbrev. i):\n"
"                            new and changed files are sent, a change of\n"
"                            mode, owner or ctime alone is sent as a\n"
"                            metadata update, deleted files become\n"
"                            inactive on the server\n"
"    selective PATH...       back up the files and directories named\n"
"                            (recursively) whether changed or not (sel)\n"
"    restore SRC [DEST]      restore (rest); SRC \"/d/f\" is that object,\n"
"                            \"/d/\" or \"/d/*\" what lies below /d:\n"
"        --subdir[=yes]      include subdirectories\n"
"        --pitdate \"YYYY-MM-DD[ HH:MM[:SS]]\"\n"
"                            the versions active at that local time (a\n"
"                            date alone means 23:59:59 of that day)\n"
"        --inactive          the newest version, active or not: this\n"
"                            restores deleted files\n"
"        --replace[=yes]     overwrite existing files (else they are\n"
"                            skipped, exit status 4)\n"
"                            Without DEST objects go back where they were;\n"
"                            \"restore SRC/ DEST/ --subdir\" puts what lies\n"
"                            under SRC into DEST; a single file restores\n"
"                            into DEST by its name (DEST/name), or as DEST\n"
"                            when DEST does not exist\n"
"    query backup [PATH]     list backup versions (q ba); --inactive adds\n"
"                            inactive ones, --pitdate as above\n"
"    query filespace         list the node's filespaces (q fi)\n"
"    backup vm NAME...       back up libvirt VMs by name (b vm): the domain\n"
"                            XML VMCONFDIR/NAME.xml and every file-backed\n"
"                            disk as one version, all or nothing, in the\n"
"                            filespace VM:NAME; disks in 64 KiB blocks,\n"
"                            holes skipped, only changed blocks sent, an\n"
"                            image whose size and times are unchanged not\n"
"                            read; CD-ROMs and non-file devices are noted\n"
"                            and left out\n"
"        --vmconfdir DIR     where the domain XMLs are (VMCONFDIR;\n"
"                            default /etc/libvirt/qemu)\n"
"        --libvirt-uri URI   ask libvirt for the domain instead (LIBVIRTURI,\n"
"                            e.g. qemu:///system; needs a coffer built\n"
"                            --with-libvirt): a shut-off domain is read\n"
"                            from its files; a running one through a\n"
"                            pull-mode backup job over NBD, consistent,\n"
"                            with a checkpoint coffer-NODE-STAMP: the next\n"
"                            backup reads only the blocks of its qcow2\n"
"                            disks that the dirty bitmap reports changed\n"
"                            (raw disks are read whole, holes skipped; a\n"
"                            missing checkpoint means a full read, said)\n"
"    restore vm NAME...      restore VMs by name (rest vm):\n"
"        --pitdate D         the version a backup at or before D made\n"
"        --target-dir DIR    images into DIR by file name, XML as\n"
"                            DIR/NAME.xml (else: the original image paths\n"
"                            and VMCONFDIR/NAME.xml)\n"
"        --newname NEW       restore as NEW: new name, new UUID, disk\n"
"                            paths where the images went\n"
"        --replace           overwrite existing images and XML (else the\n"
"                            VM is refused before anything is written)\n"
"        --all               every VM of the node\n"
"        --drorder           the DR-protected VMs, lowest DR priority\n"
"                            first, each with its restore time\n"
"        --define            with --libvirt-uri: define the restored\n"
"                            domain in libvirt (with --newname: a new\n"
"                            UUID, no MAC addresses, its own disk paths)\n"
"        --start             with --libvirt-uri: define and start it\n"
"    query vm [NAME]         VMs with versions, size, DR flag and priority\n"
"    sched                   the client scheduler (also schedule; TSM's\n"
"                            dsmc schedule): asks the server every poll\n"
"                            period for the node's next startup window,\n"
"                            starts inside it after a random delay within\n"
"                            its first RANDOMIZE percent (the server's SET\n"
"                            RANDOMIZE), runs the action (incremental,\n"
"                            selective, backup vm) of OBJECTS, reports the\n"
"                            return code, and keeps going: a server that\n"
"                            does not answer is asked again later.\n"
"                            SIGTERM/SIGINT stop it, after a running\n"
"                            backup has finished and been reported\n"
"        --queryschedperiod P how often to ask (QUERYSCHEDPERIOD): a number\n"
"                            of hours, or with a unit s, m or h (\"10m\");\n"
"                            default 12h; the server's SET\n"
"                            QUERYSCHEDPERIOD wins when set\n"
"        --schedlogname F    the schedule log, appended to (SCHEDLOGNAME;\n"
"                            default ./coffer-sched.log); steps are also\n"
"                            written to stderr\n"
"        --once              (extension, for scripts and tests) serve the\n"
"                            next window that is open or opens within one\n"
"                            poll period, then exit with its return code\n"
"                            (8 when none does, 12 when the server stays\n"
"                            unreachable)\n"
"\n"
"OPTIONS\n"
"    --server HOST:PORT      the server (option file: SERVER)\n"
"    --ca FILE               CA certificate the server must chain to\n"
"                            (CAFILE; the server's DIR/tls/ca.pem)\n"
"    --node NAME             node name (NODENAME)\n"
"    --optfile F             option file (default ./coffer.opt, else\n"
"                            /etc/coffer/coffer.opt)\n"
"    --replserver HOST:PORT  the replication (hot-site) server: when the\n"
"                            server does not answer, restores and queries\n"
"                            go there, with a message (REPLSERVER)\n"
"    --replca FILE           its CA certificate (REPLCAFILE; default the\n"
"                            CAFILE)\n"
"    --password-file F       password file (PASSWORDFILE; default\n"
"                            ~/.coffer/NODENAME.pw, mode 0600)\n"
"    --json                  print one JSON object last on stdout\n"
"    -h, --help              this text\n"
"    Options may come before or after the command words; \"--\" ends\n"
"    them.\n"
"\n"
"OPTION FILE\n"
"    Lines \"NAME value\", names case-insensitive, '#' comments:\n"
"    SERVER, CAFILE, NODENAME, PASSWORDFILE, VMCONFDIR, LIBVIRTURI,\n"
"    REPLSERVER, REPLCAFILE, QUERYSCHEDPERIOD, SCHEDLOGNAME, INCLUDE\n"
"    pattern,\n"
"    EXCLUDE pattern.  Patterns are shell patterns matched against the\n"
"    whole path ('*' also matches '/'); the last matching rule wins; an\n"
"    excluded directory is not entered.  The command line wins over the\n"
"    file.\n"
"\n"
"ENVIRONMENT\n"
"    COFFER_PASSWORD         the node's password (else the password\n"
"                            file; never on the command line)\n"
"\n"
"EXIT STATUS\n"
"    0 all done, 4 some objects skipped or failed, 8 warnings (nothing\n"
"    matched), 12 errors.\n";

enum cmd { CMD_NONE, CMD_INCR, CMD_SEL, CMD_RESTORE, CMD_QBACKUP, CMD_QFS,
	CMD_BVM, CMD_RVM, CMD_QVM, CMD_SCHED };

/* word abbreviates full with at least min characters. */
static int
abbrev(const char *word, const char *full, size_t min)
{
	size_t const n = strlen(word);

	return n >= min && n <= strlen(full) && strncasecmp(word, full, n) == 0;
}

static enum cmd
parse_cmd(const struct coffer_opts *o, size_t *nargs, struct err *e)
{
	const char *w = o->words[0];

	*nargs = 1;
	if (abbrev(w, "backup", 1) && o->nwords >= 2 &&
	    strcasecmp(o->words[1], "vm") == 0) {
		*nargs = 2;
		return CMD_BVM;
	}
	if (abbrev(w, "restore", 3) && o->nwords >= 2 &&
	    strcasecmp(o->words[1], "vm") == 0) {
		*nargs = 2;
		return CMD_RVM;
	}
	if (abbrev(w, "incremental", 1))
		return CMD_INCR;
	if (abbrev(w, "schedule", 3))
		return CMD_SCHED;
	if (abbrev(w, "selective", 3))
		return CMD_SEL;
	if (abbrev(w, "restore", 3))
		return CMD_RESTORE;
	if (abbrev(w, "query", 1)) {
		*nargs = 2;
		if (o->nwords < 2) {
			err_set(e, COFFER_EINVAL, "query what? expected "
			    "'query backup [PATH]' or 'query filespace'");
			return CMD_NONE;
		}
		if (abbrev(o->words[1], "backup", 2))
			return CMD_QBACKUP;
		if (abbrev(o->words[1], "filespace", 2))
			return CMD_QFS;
		if (strcasecmp(o->words[1], "vm") == 0)
			return CMD_QVM;
		err_set(e, COFFER_EINVAL, "unknown query '%s': expected "
		    "'query backup [PATH]', 'query filespace' or 'query vm'",
		    o->words[1]);
		return CMD_NONE;
	}
	err_set(e, COFFER_EINVAL, "unknown command '%s': expected incremental, "
	    "selective, restore, backup vm, restore vm, query backup, query "
	    "filespace, query vm or sched (see coffer --help)", w);
	return CMD_NONE;
}

static int
check_args(const struct coffer_opts *o, enum cmd cmd, size_t n,
    struct err *e)
{
	switch (cmd) {
	case CMD_INCR:
	case CMD_SEL:
		if (n == 0)
			return err_set(e, COFFER_EINVAL, "%s needs at least "
			    "one PATH", cmd == CMD_INCR ? "incremental" :
			    "selective");
		return 0;
	case CMD_RESTORE:
		if (n < 1 || n > 2)
			return err_set(e, COFFER_EINVAL, "restore takes SRC "
			    "[DEST], got %zu argument%s", n, n == 1 ? "" : "s");
		return 0;
	case CMD_QBACKUP:
		if (n > 1)
			return err_set(e, COFFER_EINVAL, "query backup takes "
			    "at most one PATH");
		return 0;
	case CMD_QFS:
		if (n > 0)
			return err_set(e, COFFER_EINVAL, "query filespace "
			    "takes no arguments");
		return 0;
	case CMD_BVM:
		if (n == 0)
			return err_set(e, COFFER_EINVAL, "backup vm needs at "
			    "least one VM NAME");
		return 0;
	case CMD_RVM:
		if (n == 0 && !o->all && !o->drorder)
			return err_set(e, COFFER_EINVAL, "restore vm needs a "
			    "VM NAME, --all or --drorder");
		if (n > 0 && (o->all || o->drorder))
			return err_set(e, COFFER_EINVAL, "restore vm: give VM "
			    "names or --all/--drorder, not both");
		if (o->newname != NULL && n != 1)
			return err_set(e, COFFER_EINVAL, "restore vm "
			    "--newname restores exactly one VM");
		if ((o->define || o->start) && (n != 1 ||
		    o->libvirt_uri == NULL))
			return err_set(e, COFFER_EINVAL, "restore vm --define "
			    "and --start take one VM NAME and --libvirt-uri "
			    "(LIBVIRTURI)");
		return 0;
	case CMD_QVM:
		if (n > 1)
			return err_set(e, COFFER_EINVAL, "query vm takes at "
			    "most one NAME");
		return 0;
	case CMD_SCHED:
		if (n > 0)
			return err_set(e, COFFER_EINVAL, "sched takes no "
			    "arguments: the server says what to back up");
		return 0;
	case CMD_NONE:
		break;
	}
	return err_set(e, COFFER_EINVAL, "no command");
}

/* Password: COFFER_PASSWORD, else the password file; never argv. */
static int
get_password(const struct coffer_opts *o, char *pw, size_t len,
    struct err *e)
{
	char file[PATH_MAX];
	int r;

	if ((r = opt_password_path(o, file, sizeof(file), e)) != 0)
		return r;
	r = passwd_read("COFFER_PASSWORD", file, pw, len, e);
	if (r == COFFER_ENOTFOUND)
		return err_set(e, r, "no password for node %s: set "
		    "COFFER_PASSWORD or store it in %s (mode 0600)", o->node,
		    file);
	return r;
}

static void
hms(double s, char *buf, size_t len)
{
	uint64_t const t = (uint64_t)(s + 0.5);

	snprintf(buf, len, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, t / 3600,
	    t / 60 % 60, t % 60);
}

static void
print_backup(const struct coffer_opts *o, const struct backup_stats *st,
    int rc, const char *error)
{
	double const ratio = st->bytes_inspected > 0 ? 100.0 * (1.0 -
	    (double)st->bytes_sent / (double)st->bytes_inspected) : 0.0;
	char in[24], sent[24], el[24];

	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_u64(&j, "objects_inspected", st->inspected);
		json_u64(&j, "objects_backed_up", st->backed_up);
		json_u64(&j, "objects_updated", st->updated);
		json_u64(&j, "objects_deleted", st->deleted);
		json_u64(&j, "objects_failed", st->failed);
		json_u64(&j, "bytes_inspected", st->bytes_inspected);
		json_u64(&j, "bytes_sent", st->bytes_sent);
		json_u64(&j, "bytes_stored", st->bytes_stored);
		json_u64(&j, "chunks_asked", st->chunks_asked);
		json_u64(&j, "chunks_sent", st->chunks_sent);
		json_u64(&j, "wire_bytes", st->wire_bytes);
		json_double(&j, "elapsed_s", st->elapsed_s);
		json_i64(&j, "rc", rc);
		if (error != NULL)
			json_str(&j, "error", error);
		json_obj_close(&j);
		return;
	}
	util_human_bytes(st->bytes_inspected, in, sizeof(in));
	util_human_bytes(st->bytes_sent, sent, sizeof(sent));
	hms(st->elapsed_s, el, sizeof(el));
	printf("Total number of objects inspected: %12" PRIu64 "\n"
	    "Total number of objects backed up: %12" PRIu64 "\n"
	    "Total number of objects updated:   %12" PRIu64 "\n"
	    "Total number of objects deleted:   %12" PRIu64 "\n"
	    "Total number of objects failed:    %12" PRIu64 "\n"
	    "Total number of bytes inspected:   %12s\n"
	    "Total number of bytes transferred: %12s\n"
	    "Data reduction ratio:              %11.2f%%\n"
	    "Elapsed processing time:           %12s\n",
	    st->inspected, st->backed_up, st->updated, st->deleted,
	    st->failed, in, sent, ratio, el);
}

static void
print_restore(const struct coffer_opts *o, const struct restore_stats *st,
    int rc, const char *error)
{
	char bytes[24], el[24];

	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_u64(&j, "objects_restored", st->restored);
		json_u64(&j, "bytes_restored", st->bytes);
		json_u64(&j, "objects_failed", st->failed);
		json_u64(&j, "objects_skipped", st->skipped);
		json_double(&j, "elapsed_s", st->elapsed_s);
		json_u64(&j, "wire_bytes", st->wire_bytes);
		json_i64(&j, "rc", rc);
		if (error != NULL)
			json_str(&j, "error", error);
		json_obj_close(&j);
		return;
	}
	util_human_bytes(st->bytes, bytes, sizeof(bytes));
	hms(st->elapsed_s, el, sizeof(el));
	printf("Total number of objects restored:  %12" PRIu64 "\n"
	    "Total number of objects failed:    %12" PRIu64 "\n"
	    "Total number of objects skipped:   %12" PRIu64 "\n"
	    "Total number of bytes transferred: %12s\n"
	    "Elapsed processing time:           %12s\n",
	    st->restored, st->failed, st->skipped, bytes, el);
}

/*
 * An error before the command ran (options, password, logon): with
 * --json there is still one object, with the command's keys at zero.
 */
static int
fail(const struct coffer_opts *o, enum cmd cmd, const struct err *e, int rc)
{
	struct json j;

	fprintf(stderr, "coffer: %s\n", e->msg);
	if (!o->json)
		return rc;
	if (cmd == CMD_INCR || cmd == CMD_SEL || cmd == CMD_BVM) {
		struct backup_stats st;

		memset(&st, 0, sizeof(st));
		print_backup(o, &st, rc, e->msg);
		return rc;
	}
	if (cmd == CMD_RESTORE || cmd == CMD_RVM) {
		struct restore_stats st;

		memset(&st, 0, sizeof(st));
		print_restore(o, &st, rc, e->msg);
		return rc;
	}
	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	if (cmd == CMD_QBACKUP || cmd == CMD_QFS || cmd == CMD_QVM) {
		json_arr_open(&j, "rows");
		json_arr_close(&j);
	}
	json_i64(&j, "rc", rc);
	json_str(&j, "error", e->msg);
	json_obj_close(&j);
	return rc;
}

static int
run_backup(struct net_conn *c, const struct coffer_opts *o, enum cmd cmd,
    size_t first)
{
	struct backup_params bp;
	struct backup_stats st;
	struct err e;
	int r, rc;

	memset(&bp, 0, sizeof(bp));
	bp.selective = cmd == CMD_SEL;
	bp.progress = 1;
	bp.opts = o;
	bp.log = stderr;
	err_clear(&e);
	r = backup_run(c, &bp, o->words + first, o->nwords - first, &st, &e);
	if (r != 0)
		fprintf(stderr, "coffer: %s\n", e.msg);
	rc = r != 0 ? RC_ERROR : st.failed > 0 ? RC_SKIPPED : RC_OK;
	print_backup(o, &st, rc, r != 0 ? e.msg : NULL);
	return rc;
}

static int
run_restore(struct net_conn *c, const struct coffer_opts *o, size_t first,
    int64_t pit)
{
	struct restore_params rp;
	struct restore_stats st;
	struct err e;
	uint64_t wire0;
	int r, rc;

	memset(&rp, 0, sizeof(rp));
	rp.src = o->words[first];
	rp.dest = o->nwords > first + 1 ? o->words[first + 1] : NULL;
	rp.subdir = o->subdir;
	rp.replace = o->replace;
	rp.inactive = o->inactive;
	rp.pit = pit;
	rp.progress = 1;
	rp.log = stderr;
	err_clear(&e);
	wire0 = net_bytes_in(c);
	r = restore_run(c, &rp, &st, &e);
	st.wire_bytes = net_bytes_in(c) - wire0;
	if (r != 0)
		fprintf(stderr, "coffer: %s\n", e.msg);
	else if (st.matched == 0)
		fprintf(stderr, "coffer: ANS1092W No files matching search "
		    "criteria were found: %s\n", rp.src);
	rc = r != 0 ? RC_ERROR : st.failed > 0 || st.skipped > 0 ? RC_SKIPPED :
	    st.matched == 0 ? RC_WARNING : RC_OK;
	print_restore(o, &st, rc, r != 0 ? e.msg : NULL);
	return rc;
}

static int
run_query(struct net_conn *c, const struct coffer_opts *o, enum cmd cmd,
    size_t first, int64_t pit)
{
	struct query_params qp;
	uint64_t rows = 0;
	struct err e;
	int r;

	memset(&qp, 0, sizeof(qp));
	qp.path = o->nwords > first ? o->words[first] : NULL;
	qp.inactive = o->inactive;
	qp.pit = pit;
	qp.json = o->json;
	qp.out = stdout;
	err_clear(&e);
	if (cmd == CMD_QFS)
		r = query_filespace(c, &qp, &rows, &e);
	else
		r = query_backup(c, &qp, &rows, &e);
	if (r != 0) {
		fprintf(stderr, "coffer: %s\n", e.msg);
		return RC_ERROR;
	}
	if (cmd == CMD_QBACKUP && rows == 0) {
		fprintf(stderr, "coffer: ANS1092W No files matching search "
		    "criteria were found\n");
		return RC_WARNING;
	}
	return RC_OK;
}

static int
run_backup_vm(struct net_conn *c, const struct coffer_opts *o, size_t first)
{
	struct backup_params bp;
	struct vm_backup_params vp;
	struct backup_stats st;
	struct err e;
	int r, rc;

	memset(&bp, 0, sizeof(bp));
	bp.progress = 1;
	bp.opts = o;
	bp.log = stderr;
	memset(&vp, 0, sizeof(vp));
	vp.bp = &bp;
	vp.confdir = o->vmconfdir ? o->vmconfdir : VM_CONFDIR_DEFAULT;
	vp.libvirt_uri = o->libvirt_uri;
	vp.node = o->node;
	/* With --json stdout holds the one object only. */
	vp.out = o->json ? stderr : stdout;
	vp.log = stderr;
	err_clear(&e);
	r = vm_backup_run(c, &vp, o->words + first, o->nwords - first, &st,
	    &e);
	if (r != 0)
		fprintf(stderr, "coffer: %s\n", e.msg);
	rc = r != 0 ? RC_ERROR : st.failed > 0 ? RC_ERROR : RC_OK;
	print_backup(o, &st, rc, r != 0 ? e.msg : NULL);
	return rc;
}

static int
read_xml(const char *path, char **out, size_t *len, struct err *e)
{
	FILE *f;
	char *b;
	size_t n;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return err_sys(e, COFFER_ENOTFOUND, "%s", path);
	if ((b = malloc(VM_XML_MAX + 1)) == NULL) {
		fclose(f);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	n = fread(b, 1, VM_XML_MAX + 1, f);
	fclose(f);
	if (n > VM_XML_MAX) {
		free(b);
		return err_set(e, COFFER_ETOOBIG, "%s: too large", path);
	}
	b[n] = '\0';
	*out = b;
	*len = n;
	return 0;
}

/*
 * restore vm --define/--start: the XML just written (DIR/NAME.xml or
 * VMCONFDIR/NAME.xml, NAME the new name if any) is defined in libvirt
 * and, with --start, started.
 */
static int
restore_vm_define(const struct coffer_opts *o, const char *vm)
{
	const char *const name = o->newname ? o->newname : vm;
	char path[PATH_MAX];
	struct vm_lv *lv = NULL;
	char *xml = NULL;
	size_t len = 0;
	struct err e;
	int r;

	err_clear(&e);
	snprintf(path, sizeof(path), "%s/%s.xml", o->target_dir ?
	    o->target_dir : o->vmconfdir ? o->vmconfdir : VM_CONFDIR_DEFAULT,
	    name);
	if ((r = read_xml(path, &xml, &len, &e)) == 0 &&
	    (r = vm_lv_open(o->libvirt_uri, &lv, &e)) == 0)
		r = vm_lv_define(lv, xml, o->start, &e);
	vm_lv_close(lv);
	free(xml);
	if (r != 0)
		fprintf(stderr, "coffer: VM %s: %s\n", name, e.msg);
	else
		fprintf(o->json ? stderr : stdout, "VM %s: defined in libvirt"
		    "%s\n", name, o->start ? " and started" : "");
	return r;
}

static int
run_restore_vm(struct net_conn *c, const struct coffer_opts *o, size_t first,
    int64_t pit)
{
	struct vm_restore_params vp;
	struct restore_stats st;
	struct err e;
	uint64_t wire0;
	int r, rc;

	memset(&vp, 0, sizeof(vp));
	vp.confdir = o->vmconfdir ? o->vmconfdir : VM_CONFDIR_DEFAULT;
	vp.newname = o->newname;
	vp.target_dir = o->target_dir;
	vp.replace = o->replace;
	vp.pit = pit;
	vp.all = o->all;
	vp.drorder = o->drorder;
	vp.progress = 1;
	vp.out = o->json ? stderr : stdout;
	vp.log = stderr;
	err_clear(&e);
	wire0 = net_bytes_in(c);
	r = vm_restore_run(c, &vp, o->words + first, o->nwords - first, &st,
	    &e);
	st.wire_bytes = net_bytes_in(c) - wire0;
	if (r != 0)
		fprintf(stderr, "coffer: %s\n", e.msg);
	rc = r != 0 ? RC_ERROR : st.failed > 0 ? RC_ERROR : st.matched == 0 ?
	    RC_WARNING : RC_OK;
	if (rc == RC_OK && (o->define || o->start) &&
	    restore_vm_define(o, o->words[first]) != 0) {
		st.failed++;
		rc = RC_ERROR;
	}
	print_restore(o, &st, rc, r != 0 ? e.msg : NULL);
	return rc;
}

static int
run_query_vm(struct net_conn *c, const struct coffer_opts *o, size_t first)
{
	struct vm_query_params qp;
	uint64_t rows = 0;
	struct err e;

	memset(&qp, 0, sizeof(qp));
	qp.name = o->nwords > first ? o->words[first] : NULL;
	qp.json = o->json;
	qp.out = stdout;
	err_clear(&e);
	if (vm_query(c, &qp, &rows, &e) != 0) {
		fprintf(stderr, "coffer: %s\n", e.msg);
		return RC_ERROR;
	}
	if (rows == 0) {
		fprintf(stderr, "coffer: ANS1092W No VM %s%swas found\n",
		    qp.name ? qp.name : "", qp.name ? " " : "");
		return RC_WARNING;
	}
	return RC_OK;
}

/*
 * coffer sched: the password stays in memory for the reconnects (never
 * on argv), and is wiped by the caller.
 */
static int
run_sched(const struct coffer_opts *o, const char *pw)
{
	struct scheduler_params sp;
	const char *logname = o->schedlogname != NULL ? o->schedlogname :
	    SCHEDULER_LOG_DEFAULT;
	struct err e;
	int rc;

	memset(&sp, 0, sizeof(sp));
	err_clear(&e);
	sp.o = o;
	sp.password = pw;
	sp.once = o->once;
	sp.poll_s = SCHEDULER_POLL_DEFAULT;
	if (o->queryschedperiod != NULL &&
	    util_parse_hours(o->queryschedperiod, &sp.poll_s) != 0) {
		fprintf(stderr, "coffer: QUERYSCHEDPERIOD '%s' is not a number "
		    "of hours or a number with s, m or h (1s to 31 days)\n",
		    o->queryschedperiod);
		return RC_ERROR;
	}
	if ((sp.log = fopen(logname, "a")) == NULL) {
		fprintf(stderr, "coffer: schedule log %s: %s\n", logname,
		    strerror(errno));
		return RC_ERROR;
	}
	setvbuf(sp.log, NULL, _IOLBF, 0);
	rc = scheduler_run(&sp);
	fclose(sp.log);
	return rc;
}

/* Restores and queries may use the hot site; backups never silently. */
static int
reads_only(enum cmd cmd)
{
	return cmd == CMD_RESTORE || cmd == CMD_QBACKUP || cmd == CMD_QFS ||
	    cmd == CMD_RVM || cmd == CMD_QVM;
}

/*
 * The primary did not answer: restore from the replication server
 * (REPLSERVER), saying so, with the same node name and password.
 */
static struct net_conn *
failover(const struct coffer_opts *o, struct net_opts *no, const char *pw,
    struct err *e)
{
	struct net_conn *c;

	fprintf(stderr, "coffer: ANS2106I the server %s is unreachable (%s); "
	    "using the replication server %s\n", no->server ? no->server :
	    "(default)", e->msg, o->replserver);
	no->server = o->replserver;
	if (o->repl_ca_file != NULL)
		no->ca_file = o->repl_ca_file;
	err_clear(e);
	c = net_connect(no, PROTO_KIND_NODE, o->node, pw, e);
	if (c == NULL)
		err_wrap(e, "replication server %s", o->replserver);
	return c;
}

int
main(int argc, char **argv)
{
	struct coffer_opts o;
	struct net_opts no;
	struct net_conn *c = NULL;
	char pw[PASSWD_BUF_MAX];
	size_t first;
	int64_t pit = 0;
	struct err e;
	enum cmd cmd = CMD_NONE;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	opt_init(&o);
	err_clear(&e);
	if (opt_load(&o, argc, argv, &e) != 0) {
		rc = fail(&o, cmd, &e, RC_ERROR);
		goto out;
	}
	if (o.help) {
		fputs(usage_text, stdout);
		rc = RC_OK;
		goto out;
	}
	if (o.version) {
		printf("coffer %s (protocol %d)\n", PACKAGE_VERSION,
		    PROTO_VERSION);
		rc = RC_OK;
		goto out;
	}
	if (o.nwords == 0) {
		fputs(usage_text, stderr);
		rc = RC_ERROR;
		goto out;
	}
	if ((cmd = parse_cmd(&o, &first, &e)) == CMD_NONE ||
	    check_args(&o, cmd, o.nwords - first, &e) != 0 ||
	    (o.pitdate != NULL && opt_parse_pitdate(o.pitdate, &pit,
	    &e) != 0)) {
		rc = fail(&o, cmd, &e, RC_ERROR);
		goto out;
	}
	if (o.node == NULL) {
		err_set(&e, COFFER_EINVAL, "no node name given (--node NAME or "
		    "NODENAME in the option file)");
		rc = fail(&o, cmd, &e, RC_ERROR);
		goto out;
	}
	if (get_password(&o, pw, sizeof(pw), &e) != 0) {
		rc = fail(&o, cmd, &e, RC_ERROR);
		goto out;
	}
	if (cmd == CMD_SCHED) {
		rc = run_sched(&o, pw);
		passwd_wipe(pw, sizeof(pw));
		goto out;
	}
	memset(&no, 0, sizeof(no));
	no.server = o.server;
	no.ca_file = o.ca_file;
	no.program = "coffer";
	c = net_connect(&no, PROTO_KIND_NODE, o.node, pw, &e);
	if (c == NULL && e.code == COFFER_EIO && o.replserver != NULL &&
	    reads_only(cmd))
		c = failover(&o, &no, pw, &e);
	passwd_wipe(pw, sizeof(pw));
	if (c == NULL) {
		rc = fail(&o, cmd, &e, RC_ERROR);
		goto out;
	}
	switch (cmd) {
	case CMD_INCR:
	case CMD_SEL:
		rc = run_backup(c, &o, cmd, first);
		break;
	case CMD_RESTORE:
		rc = run_restore(c, &o, first, pit);
		break;
	case CMD_BVM:
		rc = run_backup_vm(c, &o, first);
		break;
	case CMD_RVM:
		rc = run_restore_vm(c, &o, first, pit);
		break;
	case CMD_QVM:
		rc = run_query_vm(c, &o, first);
		break;
	default:
		rc = run_query(c, &o, cmd, first, pit);
		break;
	}
out:
	net_close(c);
	opt_free(&o);
	fflush(stdout);
	return rc;
}
