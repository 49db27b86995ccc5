/*
 * coffer-vol - inspect and verify sequential volumes offline (like bls).
 *
 * Reads volumes with the same vol_reader_* code as import and restore-db,
 * with no server: the labels, the set's records by type, a full
 * verification that names the damaged volume and block, and a dump of
 * the records.  The passphrase of an encrypted set comes from the
 * environment (COFFER_VOLUME_KEY) or a private file, never from argv.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "passwd.h"
#include "vol.h"

/* The export module's record names, when it is part of the tree. */
#if defined(__has_include)
#if __has_include("exp_rec.h")
#include "exp_rec.h"
#define HAVE_EXP_REC 1
#endif
#endif

#define EXIT_OK		0
#define EXIT_ERR	12
#define DUMP_DEFAULT	32

static const char usage_text[] =
"usage: coffer-vol [options] COMMAND VOLUME...\n"
"\n"
"Inspect Coffer's sequential volumes (export and database-backup sets)\n"
"offline.  Give a set's volumes in order.\n"
"\n"
"Commands:\n"
"  label VOLUME...    print each volume's labels (no key needed)\n"
"  list VOLUME...     the set: its volumes, and its records by type\n"
"  verify VOLUME...   read and check everything; OK, or exactly which\n"
"                     volume and block is damaged\n"
"  dump VOLUME...     every record: type, length, first bytes in hex\n"
"\n"
"Options:\n"
"  --json             print one JSON object on stdout\n"
"  --key-file FILE    read the passphrase from FILE (mode 0600) when\n"
"                     COFFER_VOLUME_KEY is not set\n"
"  --bytes N          dump: bytes shown per record (default 32)\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 success, 12 damage or error (the message names the\n"
"volume and, for a damaged block, its number).\n";

struct opts {
	int		 json;
	const char	*key_file;
	size_t		 dump_bytes;
};

static const char *
kind_name(int k)
{
	return k == VOL_KIND_EXPORT ? "export" :
	    k == VOL_KIND_DBBACKUP ? "dbbackup" : "unknown";
}

static const char *
type_name(uint8_t t)
{
#ifdef HAVE_EXP_REC
	return exp_rec_name(t);
#else
	(void)t;
	return NULL;
#endif
}

static void
uuid_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A JSON string: the characters a path or message may hold, escaped. */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char const c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
time_str(uint64_t t, char *out, size_t len)
{
	time_t const tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "%" PRIu64, t);
}

/* ---- label ---- */

static const char *
end_str(const struct vol_volume_info *v, char *buf, size_t len)
{
	if (v->end_kind == 1)
		snprintf(buf, len, "continues on %s", v->next_serial);
	else if (v->end_kind == 2)
		snprintf(buf, len, "last volume of the set");
	else
		snprintf(buf, len, "unreadable: %s", v->end_error);
	return buf;
}

static void
label_text(const char *path, const struct vol_volume_info *v)
{
	char u[37], t[64], end[600];

	uuid_str(v->set_uuid, u);
	time_str(v->created, t, sizeof(t));
	printf("%s\n", path);
	printf("  serial        %s\n", v->serial);
	printf("  set           %s\n", u);
	printf("  sequence      %u\n", v->seq);
	printf("  kind          %s\n", kind_name(v->kind));
	printf("  server        %s\n", v->server);
	printf("  created       %s\n", t);
	printf("  format        version %u, blocks of %u bytes\n", v->version,
	    v->block_size);
	if (v->encrypted)
		printf("  encryption    %s, key scrypt N=2^%u r=%u p=%u\n",
		    v->cipher, v->kdf_log_n, v->kdf_r, v->kdf_p);
	else
		printf("  encryption    none\n");
	printf("  data blocks   %u, from block %" PRIu64 "\n", v->blocks,
	    v->first_block);
	printf("  size          %" PRIu64 " bytes\n", v->file_bytes);
	printf("  end           %s\n", end_str(v, end, sizeof(end)));
}

static void
label_json(const char *path, const struct vol_volume_info *v)
{
	char u[37], end[600];

	uuid_str(v->set_uuid, u);
	printf("{\"path\": ");
	json_str(path);
	printf(", \"serial\": \"%s\", \"set_uuid\": \"%s\", \"seq\": %u, "
	    "\"kind\": \"%s\", \"server\": ", v->serial, u, v->seq,
	    kind_name(v->kind));
	json_str(v->server);
	printf(", \"created\": %" PRIu64 ", \"version\": %u, "
	    "\"block_size\": %u, \"encrypted\": %s, \"cipher\": \"%s\", "
	    "\"first_block\": %" PRIu64 ", \"blocks\": %u, \"bytes\": %" PRIu64
	    ", \"end\": ", v->created, v->version, v->block_size,
	    v->encrypted ? "true" : "false", v->cipher, v->first_block,
	    v->blocks, v->file_bytes);
	json_str(end_str(v, end, sizeof(end)));
	printf(", \"next_serial\": \"%s\"}", v->next_serial);
}

static int
cmd_label(const struct opts *o, char **vols, int n)
{
	int status = EXIT_OK;
	int first = 1;

	if (o->json)
		printf("{\"volumes\": [");
	for (int i = 0; i < n; i++) {
		struct vol_volume_info v;
		struct err e;

		err_clear(&e);
		if (vol_volume_info(vols[i], &v, &e) != 0) {
			fprintf(stderr, "coffer-vol: %s\n", e.msg);
			status = EXIT_ERR;
			continue;
		}
		if (v.end_kind == 0) {
			fprintf(stderr, "coffer-vol: %s\n", v.end_error);
			status = EXIT_ERR;
		}
		if (o->json) {
			printf("%s", first ? "" : ", ");
			label_json(vols[i], &v);
		} else
			label_text(vols[i], &v);
		first = 0;
	}
	if (o->json)
		printf("]}\n");
	return status;
}

/* ---- reading the set: list, verify, dump ---- */

struct type_stat {
	uint64_t	 count;
	uint64_t	 bytes;
};

struct scan {
	const struct opts *o;
	int		 dump;
	struct type_stat types[256];
	uint64_t	 records;
	uint64_t	 bytes;
	uint8_t		 digest[32];
	int		 first_dump;
};

static int
get_key(const struct opts *o, char *buf, size_t len, const char **key)
{
	struct err e;
	int r;

	*key = NULL;
	r = passwd_read("COFFER_VOLUME_KEY", o->key_file, buf, len, &e);
	if (r == COFFER_ENOTFOUND)
		return 0;
	if (r != 0) {
		fprintf(stderr, "coffer-vol: passphrase: %s\n", e.msg);
		return r;
	}
	*key = buf;
	return 0;
}

static void
dump_record(struct scan *s, uint64_t i, uint8_t type, const uint8_t *p,
    size_t n)
{
	size_t const k = n < s->o->dump_bytes ? n : s->o->dump_bytes;
	const char *name = type_name(type);
	char *h = malloc(2 * k + 1);

	if (h == NULL)
		return;
	hex(p, k, h);
	if (s->o->json) {
		printf("%s{\"record\": %" PRIu64 ", \"type\": %u, ",
		    s->first_dump ? "" : ", ", i, type);
		if (name != NULL)
			printf("\"name\": \"%s\", ", name);
		printf("\"length\": %zu, \"head\": \"%s\"}", n, h);
	} else
		printf("%8" PRIu64 "  type %3u%s%s  length %10zu  %s%s\n", i,
		    type, name ? " " : "", name ? name : "", n, h,
		    k < n ? "..." : "");
	s->first_dump = 0;
	free(h);
}

/* Read the whole set; 0, or the error printed. */
static int
scan_set(struct scan *s, char **vols, int n, struct vol_reader **rp)
{
	char keybuf[PASSWD_BUF_MAX];
	struct vol_reader *r = NULL;
	const char *key;
	struct err e;
	int rc;

	err_clear(&e);
	if ((rc = get_key(s->o, keybuf, sizeof(keybuf), &key)) != 0)
		return rc;
	rc = vol_reader_open((const char *const *)vols, (size_t)n, key, &r,
	    &e);
	passwd_wipe(keybuf, sizeof(keybuf));
	if (rc != 0)
		goto out;
	for (;;) {
		const uint8_t *p;
		uint8_t type;
		size_t len;

		if ((rc = vol_read_record(r, &type, &p, &len, &e)) != 0)
			goto out;
		if (type == 0)
			break;
		if (s->dump)
			dump_record(s, s->records, type, p, len);
		s->types[type].count++;
		s->types[type].bytes += len;
		s->records++;
		s->bytes += len;
	}
	vol_reader_trailer(r, &s->records, &s->bytes, s->digest);
	*rp = r;
	r = NULL;
out:
	if (rc != 0)
		fprintf(stderr, "coffer-vol: %s\n", e.msg);
	vol_reader_close(r);
	return rc;
}

static void
set_header(const struct opts *o, struct vol_reader *r, int n,
    const struct scan *s)
{
	char u[37], d[65];

	uuid_str(vol_reader_set_uuid(r), u);
	hex(s->digest, 32, d);
	if (o->json) {
		printf("\"set_uuid\": \"%s\", \"kind\": \"%s\", \"server\": ",
		    u, kind_name(vol_reader_kind(r)));
		json_str(vol_reader_server(r));
		printf(", \"volumes\": %d, \"records\": %" PRIu64 ", "
		    "\"bytes\": %" PRIu64 ", \"digest\": \"%s\"", n,
		    s->records, s->bytes, d);
		return;
	}
	printf("set %s: %s from %s, %d volume%s\n", u,
	    kind_name(vol_reader_kind(r)), vol_reader_server(r), n,
	    n == 1 ? "" : "s");
	printf("%" PRIu64 " records, %" PRIu64 " bytes, SHA-256 %s\n",
	    s->records, s->bytes, d);
}

static void
list_volumes(const struct opts *o, char **vols, int n)
{
	if (o->json)
		printf(", \"volume_list\": [");
	else
		printf("\n%-8s %4s %8s %12s  %s\n", "serial", "seq", "blocks",
		    "bytes", "path");
	for (int i = 0; i < n; i++) {
		struct vol_volume_info v;

		if (vol_volume_info(vols[i], &v, NULL) != 0)
			continue;
		if (o->json) {
			printf("%s{\"serial\": \"%s\", \"seq\": %u, "
			    "\"blocks\": %u, \"bytes\": %" PRIu64 ", "
			    "\"path\": ", i ? ", " : "", v.serial, v.seq,
			    v.blocks, v.file_bytes);
			json_str(vols[i]);
			printf("}");
		} else
			printf("%-8s %4u %8u %12" PRIu64 "  %s\n", v.serial,
			    v.seq, v.blocks, v.file_bytes, vols[i]);
	}
	if (o->json)
		printf("]");
}

static void
list_types(const struct opts *o, const struct scan *s)
{
	int first = 1;

	if (o->json)
		printf(", \"types\": [");
	else
		printf("\n%-6s %-16s %10s %14s\n", "type", "name", "records",
		    "bytes");
	for (int t = 1; t < 256; t++) {
		const char *name = type_name((uint8_t)t);

		if (s->types[t].count == 0)
			continue;
		if (o->json) {
			printf("%s{\"type\": %d, ", first ? "" : ", ", t);
			if (name != NULL)
				printf("\"name\": \"%s\", ", name);
			printf("\"records\": %" PRIu64 ", \"bytes\": %" PRIu64
			    "}", s->types[t].count, s->types[t].bytes);
		} else
			printf("%-6d %-16s %10" PRIu64 " %14" PRIu64 "\n", t,
			    name ? name : "-", s->types[t].count,
			    s->types[t].bytes);
		first = 0;
	}
	if (o->json)
		printf("]");
}

static int
cmd_read(const struct opts *o, const char *cmd, char **vols, int n)
{
	struct scan *s = calloc(1, sizeof(*s));
	struct vol_reader *r = NULL;
	int rc;

	if (s == NULL)
		return EXIT_ERR;
	s->o = o;
	s->dump = strcmp(cmd, "dump") == 0;
	s->first_dump = 1;
	if (o->json && s->dump)
		printf("{\"records\": [");
	rc = scan_set(s, vols, n, &r);
	if (o->json && s->dump)
		printf("]");
	if (rc != 0) {
		if (o->json)
			printf("%s\"ok\": false}\n", s->dump ? ", " : "{");
		else if (strcmp(cmd, "verify") == 0)
			printf("DAMAGED or unreadable: see the message above\n");
		free(s);
		return EXIT_ERR;
	}
	if (o->json)
		printf("%s\"ok\": true, ", s->dump ? ", " : "{");
	else if (strcmp(cmd, "verify") == 0)
		printf("OK: ");
	set_header(o, r, n, s);
	if (strcmp(cmd, "list") == 0) {
		list_volumes(o, vols, n);
		list_types(o, s);
	}
	if (o->json)
		printf("}\n");
	vol_reader_close(r);
	free(s);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .dump_bytes = DUMP_DEFAULT };
	const char *cmd;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = 1; break;
		case 'k': o.key_file = optarg; break;
		case 'b':
			o.dump_bytes = strtoul(optarg, &end, 10);
			if (*end != '\0' || o.dump_bytes > 4096) {
				fprintf(stderr, "coffer-vol: --bytes: 0..4096\n");
				return EXIT_ERR;
			}
			break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: fputs(usage_text, stderr); return EXIT_ERR;
		}
	}
	if (argc - optind < 2) {
		fputs(usage_text, stderr);
		return EXIT_ERR;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "label") == 0)
		return cmd_label(&o, argv + optind + 1, argc - optind - 1);
	if (strcmp(cmd, "list") == 0 || strcmp(cmd, "verify") == 0 ||
	    strcmp(cmd, "dump") == 0)
		return cmd_read(&o, cmd, argv + optind + 1, argc - optind - 1);
	fprintf(stderr, "coffer-vol: unknown command '%s' (label, list, "
	    "verify, dump)\n", cmd);
	return EXIT_ERR;
}
