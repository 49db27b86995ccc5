/*
 * vm_xml.c - libvirt domain XML: parse, load by VM name, rewrite for
 * restore (vm_xml.h).
 *
 * Only elements without a namespace are read: libvirt's own elements
 * have none, and what applications keep under <metadata> has one, so a
 * <my:name> there can never be taken for the domain's <name>.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <openssl/rand.h>

#include "err.h"
#include "util.h"
#include "vm_xml.h"

#define VM_TARGET_MAX	64	/* bytes of a <target dev>, e.g. "vda" */
#define XML_WHAT	"domain XML"

/* libxml2 2.12 made the error passed to handlers const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_t;
#else
typedef xmlErrorPtr xml_error_t;
#endif

/*
 * While a document is parsed or written, libxml2's global handlers are
 * ours: errors are captured instead of printed on stderr, and entity
 * loading always fails, whatever a document asks for.
 */
struct xml_quiet {
	xmlStructuredErrorFunc	 old_serror;
	void			*old_sctx;
	xmlGenericErrorFunc	 old_gerror;
	void			*old_gctx;
	xmlExternalEntityLoader	 old_loader;
	int			 have;		/* an error is recorded */
	int			 fatal;		/* ... and it is fatal */
	int			 refused;	/* we stopped the parser */
	int			 line;
	char			 msg[200];
};

/* Copy s for a message: control characters become '?', long is cut. */
static const char *
printable(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ?
		    '?' : s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && n > 4)
		memcpy(buf + n - 4, "...", 4);
	return buf;
}

static void
quiet_note(struct xml_quiet *q, int line, int fatal, const char *msg)
{
	size_t n, i;

	/* The first fatal error explains a failure; earlier warnings don't. */
	if (q->have && (q->fatal || !fatal))
		return;
	q->have = 1;
	q->fatal = fatal;
	q->line = line;
	snprintf(q->msg, sizeof(q->msg), "%s", msg);
	n = strlen(q->msg);
	while (n > 0 && (q->msg[n - 1] == '\n' || q->msg[n - 1] == ' '))
		q->msg[--n] = '\0';	/* libxml2 ends messages with "\n" */
	for (i = 0; i < n; i++)	/* they may quote the hostile input */
		if ((unsigned char)q->msg[i] < 0x20 || q->msg[i] == 0x7f)
			q->msg[i] = '?';
}

static void
quiet_serror(void *ctx, xml_error_t x)
{
	if (x->level >= XML_ERR_ERROR)
		quiet_note(ctx, x->line, x->level == XML_ERR_FATAL,
		    x->message != NULL ? x->message : "unknown error");
}

static void
quiet_gerror(void *ctx, const char *fmt, ...)
{
	/* Old code paths print through here; the structured one has it. */
	(void)ctx;
	(void)fmt;
}

static xmlParserInputPtr
refuse_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static void
quiet_begin(struct xml_quiet *q)
{
	memset(q, 0, sizeof(*q));
	xmlInitParser();
	q->old_serror = xmlStructuredError;
	q->old_sctx = xmlStructuredErrorContext;
	q->old_gerror = xmlGenericError;
	q->old_gctx = xmlGenericErrorContext;
	q->old_loader = xmlGetExternalEntityLoader();
	xmlSetStructuredErrorFunc(q, quiet_serror);
	xmlSetGenericErrorFunc(q, quiet_gerror);
	xmlSetExternalEntityLoader(refuse_entity);
}

static void
quiet_end(struct xml_quiet *q)
{
	xmlSetStructuredErrorFunc(q->old_sctx, q->old_serror);
	xmlSetGenericErrorFunc(q->old_gctx, q->old_gerror);
	xmlSetExternalEntityLoader(q->old_loader);
}

/*
 * SAX callback for <!DOCTYPE ...>: stop before the parser reads any
 * declaration, so no entity, internal or external, is ever defined.
 */
static void
refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *eid,
    const xmlChar *sid)
{
	xmlParserCtxtPtr const p = ctx;
	struct xml_quiet *const q = p->_private;

	(void)name;
	(void)eid;
	(void)sid;
	quiet_note(q, p->input != NULL ? p->input->line : 0, 1,
	    "a DOCTYPE is not accepted (libvirt never writes one)");
	q->refused = 1;
	xmlStopParser(p);
}

static int
parse_options(void)
{
	/*
	 * Never XML_PARSE_NOENT or XML_PARSE_DTDLOAD: both load or expand
	 * entities.  NO_XXE (2.13) says the same once more where it exists.
	 */
	int opts = XML_PARSE_NONET;

#if LIBXML_VERSION >= 21300
	opts |= XML_PARSE_NO_XXE;
#endif
	return opts;
}

/* Parse len bytes into a document whose root is <domain>. */
static int
read_doc(const char *xml, size_t len, const char *what,
    struct xml_quiet *q, xmlDocPtr *docp, struct err *e)
{
	xmlParserCtxtPtr p = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int r = COFFER_ENOMEM;

	*docp = NULL;
	if (len > VM_XML_MAX) {
		r = err_set(e, COFFER_ETOOBIG, "%s: %zu bytes exceeds limit %u",
		    what, len, VM_XML_MAX);
		goto out;
	}
	if ((p = xmlCreateMemoryParserCtxt(xml, (int)len)) == NULL) {
		r = err_set(e, len == 0 ? COFFER_ECORRUPT : COFFER_ENOMEM,
		    "%s: %s", what, len == 0 ? "empty" : "out of memory");
		goto out;
	}
	xmlCtxtUseOptions(p, parse_options());
	p->_private = q;
	p->sax->internalSubset = refuse_doctype;
	(void)xmlParseDocument(p);
	doc = p->myDoc;
	p->myDoc = NULL;
	if (!p->wellFormed || q->refused || doc == NULL) {
		if (q->have)
			r = err_set(e, COFFER_ECORRUPT, "%s: line %d: %s",
			    what, q->line, q->msg);
		else
			r = err_set(e, COFFER_ECORRUPT,
			    "%s: not well-formed XML", what);
		goto out;
	}
	/*
	 * A namespace error (an undefined prefix) leaves the document well
	 * formed, and libvirt takes it too: forget it, so that only what
	 * goes wrong later counts.
	 */
	q->have = q->fatal = 0;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || root->ns != NULL ||
	    !xmlStrEqual(root->name, BAD_CAST "domain")) {
		r = err_set(e, COFFER_ECORRUPT,
		    "%s: root element is not <domain>", what);
		goto out;
	}
	*docp = doc;
	doc = NULL;
	r = 0;
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(p);
	return r;
}

static int
is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	    xmlStrEqual(n->name, BAD_CAST name);
}

/* The only child element called name: NULL if none, *dup if several. */
static xmlNodePtr
only_child(xmlNodePtr parent, const char *name, int *dup)
{
	xmlNodePtr n, found = NULL;

	*dup = 0;
	for (n = parent->children; n != NULL; n = n->next) {
		if (!is_elem(n, name))
			continue;
		if (found != NULL)
			*dup = 1;
		else
			found = n;
	}
	return found;
}

static xmlNodePtr
first_child(xmlNodePtr parent, const char *name)
{
	int dup;

	return only_child(parent, name, &dup);
}

/* An attribute as a malloc'd string; NULL when absent (or no memory). */
static char *
attr_dup(xmlNodePtr n, const char *name, int *nomem)
{
	xmlChar *v;
	char *s;

	if (n == NULL || (v = xmlGetNoNsProp(n, BAD_CAST name)) == NULL)
		return NULL;
	if ((s = strdup((const char *)v)) == NULL)
		*nomem = 1;
	xmlFree(v);
	return s;
}

static int
attr_is(xmlNodePtr n, const char *name, const char *value)
{
	xmlChar *v;
	int r;

	if (n == NULL || (v = xmlGetNoNsProp(n, BAD_CAST name)) == NULL)
		return 0;
	r = xmlStrEqual(v, BAD_CAST value);
	xmlFree(v);
	return r;
}

/* 1..max bytes, no '/', not "." or "..", no control characters. */
static int
name_ok(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || s[i] == '/' || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 0;
	}
	return 1;
}

int
vm_name_valid(const char *name)
{
	return name_ok(name, VM_NAME_MAX);
}

/* 16 bytes as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase. */
static void
uuid_format(const unsigned char b[16], char out[VM_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * libvirt's UUID syntax: 32 hex digits, '-' allowed between pairs,
 * blanks around.  Written back canonical and lowercase.
 */
static int
uuid_parse(const char *s, char out[VM_UUID_LEN + 1])
{
	unsigned char b[16];
	size_t nib = 0;
	const char *p;
	int v;

	for (p = s; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	for (; *p != '\0' && nib < 32; p++) {
		if (*p == '-' && nib % 2 == 0)
			continue;
		if ((v = hex_val(*p)) < 0)
			return -1;
		if (nib % 2 == 0)
			b[nib / 2] = (unsigned char)(v << 4);
		else
			b[nib / 2] |= (unsigned char)v;
		nib++;
	}
	for (; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	if (nib != 32 || *p != '\0')
		return -1;
	uuid_format(b, out);
	return 0;
}

int
vm_uuid_new(char out[VM_UUID_LEN + 1])
{
	unsigned char b[16];

	out[0] = '\0';
	if (RAND_bytes(b, sizeof(b)) != 1)
		return COFFER_EINTERNAL;
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4: random */
	b[8] = (b[8] & 0x3f) | 0x80;	/* variant 1: RFC 4122 */
	uuid_format(b, out);
	return 0;
}

static int
device_of(xmlNodePtr n)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST "device");
	int d = VM_DEV_OTHER;

	if (v == NULL || xmlStrEqual(v, BAD_CAST "disk"))
		d = VM_DEV_DISK;
	else if (xmlStrEqual(v, BAD_CAST "cdrom"))
		d = VM_DEV_CDROM;
	else if (xmlStrEqual(v, BAD_CAST "floppy"))
		d = VM_DEV_FLOPPY;
	else if (xmlStrEqual(v, BAD_CAST "lun"))
		d = VM_DEV_LUN;
	xmlFree(v);
	return d;
}

/* The disk type and the <source> attribute that names its media. */
static int
type_of(xmlNodePtr n, const char **src_attr)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST "type");
	int t = VM_DISK_OTHER;

	*src_attr = NULL;
	if (v == NULL || xmlStrEqual(v, BAD_CAST "file")) {
		t = VM_DISK_FILE;
		*src_attr = "file";
	} else if (xmlStrEqual(v, BAD_CAST "block")) {
		t = VM_DISK_BLOCK;
		*src_attr = "dev";
	} else if (xmlStrEqual(v, BAD_CAST "network")) {
		t = VM_DISK_NETWORK;
		*src_attr = "name";
	} else if (xmlStrEqual(v, BAD_CAST "volume")) {
		t = VM_DISK_VOLUME;
		*src_attr = "volume";
	} else if (xmlStrEqual(v, BAD_CAST "dir")) {
		*src_attr = "dir";
	}
	xmlFree(v);
	return t;
}

static void
disk_free(struct vm_disk *k)
{
	free(k->target);
	free(k->source);
	free(k->format);
	free(k->live_format);
	memset(k, 0, sizeof(*k));
}

/* Fill k from the idx'th (1-based) <disk> element n. */
static int
disk_parse(xmlNodePtr n, size_t idx, const char *what, struct vm_disk *k,
    struct err *e)
{
	xmlNodePtr const src = first_child(n, "source");
	const char *src_attr;
	char buf[80];
	int nomem = 0;

	memset(k, 0, sizeof(*k));
	k->device = device_of(n);
	k->type = type_of(n, &src_attr);
	k->target = attr_dup(first_child(n, "target"), "dev", &nomem);
	if (src_attr != NULL)
		k->source = attr_dup(src, src_attr, &nomem);
	k->format = attr_dup(first_child(n, "driver"), "type", &nomem);
	if (k->format == NULL && !nomem && (k->format = strdup("")) == NULL)
		nomem = 1;
	if (nomem)
		return err_set(e, COFFER_ENOMEM, "%s: out of memory", what);
	if (k->source != NULL && k->source[0] == '\0') {
		free(k->source);	/* file='' is how libvirt says "no media" */
		k->source = NULL;
	}
	k->readonly = first_child(n, "readonly") != NULL;
	k->shareable = first_child(n, "shareable") != NULL;
	k->optional = attr_is(src, "startupPolicy", "optional") ||
	    attr_is(src, "startupPolicy", "requisite");
	if (k->target == NULL)
		return err_set(e, COFFER_ECORRUPT, "%s: disk %zu (%s): "
		    "no <target dev>", what, idx, k->source == NULL ? "no source" :
		    printable(k->source, buf, sizeof(buf)));
	if (!name_ok(k->target, VM_TARGET_MAX))
		return err_set(e, COFFER_ECORRUPT, "%s: disk %zu: bad <target "
		    "dev='%s'>", what, idx, printable(k->target, buf,
		    sizeof(buf)));
	return 0;
}

static int
disks_count(xmlNodePtr root, size_t *n, const char *what, struct err *e)
{
	xmlNodePtr dev, k;

	*n = 0;
	for (dev = root->children; dev != NULL; dev = dev->next) {
		if (!is_elem(dev, "devices"))
			continue;
		for (k = dev->children; k != NULL; k = k->next)
			if (is_elem(k, "disk") && ++*n > VM_DISKS_MAX)
				return err_set(e, COFFER_ETOOBIG, "%s: more "
				    "than %d disks", what, VM_DISKS_MAX);
	}
	return 0;
}

static int
disks_parse(xmlNodePtr root, struct vm_dom *d, const char *what,
    struct err *e)
{
	xmlNodePtr dev, n;
	size_t count, i;
	char buf[80];
	int r;

	if ((r = disks_count(root, &count, what, e)) != 0 || count == 0)
		return r;
	if ((d->disks = calloc(count, sizeof(*d->disks))) == NULL)
		return err_set(e, COFFER_ENOMEM, "%s: out of memory", what);
	for (dev = root->children; dev != NULL; dev = dev->next) {
		if (!is_elem(dev, "devices"))
			continue;
		for (n = dev->children; n != NULL; n = n->next) {
			if (!is_elem(n, "disk"))
				continue;
			r = disk_parse(n, d->ndisks + 1, what,
			    &d->disks[d->ndisks], e);
			d->ndisks++;	/* so that vm_dom_free frees it */
			if (r != 0)
				return r;
		}
	}
	/* A restore maps images by target: each must name one disk. */
	for (i = 0; i < d->ndisks; i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (strcmp(d->disks[i].target, d->disks[j].target) == 0)
				return err_set(e, COFFER_ECORRUPT, "%s: disk "
				    "%s: target used twice", what, printable(
				    d->disks[i].target, buf, sizeof(buf)));
	}
	return 0;
}

static int
name_parse(xmlNodePtr root, struct vm_dom *d, const char *what,
    struct err *e)
{
	xmlNodePtr n;
	xmlChar *v;
	char buf[80];
	int dup;

	if ((n = only_child(root, "name", &dup)) == NULL)
		return err_set(e, COFFER_ECORRUPT, "%s: missing <name>", what);
	if (dup)
		return err_set(e, COFFER_ECORRUPT, "%s: more than one <name>",
		    what);
	if ((v = xmlNodeGetContent(n)) == NULL ||
	    (d->name = strdup((const char *)v)) == NULL) {
		xmlFree(v);
		return err_set(e, COFFER_ENOMEM, "%s: out of memory", what);
	}
	xmlFree(v);
	/* The name becomes a file name at restore: it must be a safe one. */
	if (!vm_name_valid(d->name))
		return err_set(e, COFFER_ECORRUPT, "%s: <name> '%s' is not a "
		    "valid VM name", what, printable(d->name, buf, sizeof(buf)));
	return 0;
}

static int
uuid_read(xmlNodePtr root, struct vm_dom *d, const char *what,
    struct err *e)
{
	xmlNodePtr n;
	xmlChar *v;
	char buf[80];
	int dup, r = 0;

	d->uuid[0] = '\0';
	if ((n = only_child(root, "uuid", &dup)) == NULL)
		return 0;	/* libvirt makes one up when defining */
	if (dup)
		return err_set(e, COFFER_ECORRUPT, "%s: more than one <uuid>",
		    what);
	if ((v = xmlNodeGetContent(n)) == NULL)
		return err_set(e, COFFER_ENOMEM, "%s: out of memory", what);
	if (uuid_parse((const char *)v, d->uuid) != 0)
		r = err_set(e, COFFER_ECORRUPT, "%s: bad <uuid> '%s'", what,
		    printable((const char *)v, buf, sizeof(buf)));
	xmlFree(v);
	return r;
}

/*
 * Coffer's element in libvirt's <metadata> (where libvirt keeps what
 * applications record, in their own namespace):
 *   <metadata><coffer:backup xmlns:coffer="urn:coffer:vm-backup:1">
 *     <coffer:disk target="vda" format="qcow2"/>...
 */
#define META_NS		"urn:coffer:vm-backup:1"
#define META_FORMAT_MAX	16

static int
is_meta(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    n->ns->href != NULL && xmlStrEqual(n->ns->href, BAD_CAST META_NS) &&
	    xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr
meta_find(xmlNodePtr root, xmlNodePtr *md)
{
	xmlNodePtr n;

	if ((*md = first_child(root, "metadata")) == NULL)
		return NULL;
	for (n = (*md)->children; n != NULL; n = n->next)
		if (is_meta(n, "backup"))
			return n;
	return NULL;
}

/* A format name as qemu-img spells them: [a-z0-9], 1..16 bytes. */
static int
format_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= META_FORMAT_MAX ||
		    !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i > 0;
}

/* Each disk's live_format from Coffer's <metadata>; unknown ones ignored. */
static int
meta_parse(xmlNodePtr root, struct vm_dom *d, const char *what,
    struct err *e)
{
	xmlNodePtr md, b, n;

	if ((b = meta_find(root, &md)) == NULL)
		return 0;
	for (n = b->children; n != NULL; n = n->next) {
		char *t, *f;
		int nomem = 0;

		if (!is_meta(n, "disk"))
			continue;
		t = attr_dup(n, "target", &nomem);
		f = attr_dup(n, "format", &nomem);
		if (nomem) {
			free(t);
			free(f);
			return err_set(e, COFFER_ENOMEM, "%s: out of memory",
			    what);
		}
		for (size_t i = 0; t != NULL && f != NULL && format_ok(f) &&
		    i < d->ndisks; i++)
			if (strcmp(d->disks[i].target, t) == 0 &&
			    d->disks[i].live_format == NULL) {
				d->disks[i].live_format = f;
				f = NULL;
			}
		free(t);
		free(f);
	}
	return 0;
}

static int
dom_parse(const char *xml, size_t len, const char *what, struct vm_dom *d,
    struct err *e)
{
	struct xml_quiet q;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int r;

	memset(d, 0, sizeof(*d));
	quiet_begin(&q);
	if ((r = read_doc(xml, len, what, &q, &doc, e)) != 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	if ((r = name_parse(root, d, what, e)) != 0 ||
	    (r = uuid_read(root, d, what, e)) != 0 ||
	    (r = disks_parse(root, d, what, e)) != 0 ||
	    (r = meta_parse(root, d, what, e)) != 0)
		goto out;
	if ((d->xml = malloc(len + 1)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	memcpy(d->xml, xml, len);
	d->xml[len] = '\0';
	d->xml_len = len;
	r = 0;
out:
	xmlFreeDoc(doc);
	quiet_end(&q);
	if (r != 0)
		vm_dom_free(d);
	return r;
}

int
vm_xml_parse(const char *xml, size_t len, struct vm_dom *d, struct err *e)
{
	return dom_parse(xml, len, XML_WHAT, d, e);
}

void
vm_dom_free(struct vm_dom *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ndisks; i++)
		disk_free(&d->disks[i]);
	free(d->disks);
	free(d->name);
	free(d->xml);
	memset(d, 0, sizeof(*d));
}

/*
 * Read all of path, at most VM_XML_MAX bytes.  O_NONBLOCK keeps a FIFO
 * put in place of the file from hanging the open; it is refused after.
 */
static int
file_read(const char *vm, const char *path, char **bufp, size_t *lenp,
    struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t got;
	int fd = -1, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			r = err_set(e, COFFER_ENOTFOUND, "VM %s: no domain "
			    "definition %s (%s)", vm, path, strerror(errno));
		else
			r = err_sys(e, COFFER_EIO, "VM %s: domain definition "
			    "%s: open", vm, path);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = err_sys(e, COFFER_EIO, "VM %s: %s: fstat", vm, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = err_set(e, COFFER_EINVAL, "VM %s: domain definition %s: "
		    "not a regular file", vm, path);
		goto out;
	}
	if (st.st_size > (off_t)VM_XML_MAX) {
		r = err_set(e, COFFER_ETOOBIG, "VM %s: domain definition %s: "
		    "%lld bytes exceeds limit %u", vm, path,
		    (long long)st.st_size, VM_XML_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "VM %s: out of memory", vm);
		goto out;
	}
	/* One byte more than fstat said tells a file that grew meanwhile. */
	if ((r = util_read_full(fd, buf, (size_t)st.st_size + 1, &got, path,
	    e)) != 0) {
		err_wrap(e, "VM %s", vm);
		goto out;
	}
	if (got > (size_t)st.st_size) {
		r = err_set(e, COFFER_EBUSY, "VM %s: domain definition %s "
		    "changed while being read", vm, path);
		goto out;
	}
	*bufp = buf;
	*lenp = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}

int
vm_xml_load(const char *confdir, const char *name, struct vm_dom *d,
    struct err *e)
{
	char *path = NULL, *what = NULL, *buf = NULL;
	char pname[80], dname[80];
	size_t len = 0;
	int r;

	memset(d, 0, sizeof(*d));
	if (confdir == NULL || confdir[0] == '\0') {
		r = err_set(e, COFFER_EINVAL, "VM configuration directory "
		    "not set (VMCONFDIR)");
		goto out;
	}
	if (!vm_name_valid(name)) {
		r = err_set(e, COFFER_EINVAL, "VM name '%s': not a valid name "
		    "(1 to %d bytes, no '/' or control characters, not . "
		    "or ..)", name == NULL ? "" : printable(name, pname,
		    sizeof(pname)), VM_NAME_MAX);
		goto out;
	}
	printable(name, pname, sizeof(pname));
	if (asprintf(&path, "%s/%s.xml", confdir, name) == -1) {
		path = NULL;
		r = err_set(e, COFFER_ENOMEM, "VM %s: out of memory", pname);
		goto out;
	}
	if ((r = file_read(pname, path, &buf, &len, e)) != 0)
		goto out;
	if (asprintf(&what, "VM %s: " XML_WHAT " %s", pname, path) == -1) {
		what = NULL;
		r = err_set(e, COFFER_ENOMEM, "VM %s: out of memory", pname);
		goto out;
	}
	if ((r = dom_parse(buf, len, what, d, e)) != 0)
		goto out;
	if (strcmp(d->name, name) != 0) {
		r = err_set(e, COFFER_ECORRUPT, "%s: <name> is '%s', not the "
		    "file's name", what, printable(d->name, dname,
		    sizeof(dname)));
		vm_dom_free(d);
		goto out;
	}
	r = 0;
out:
	free(buf);
	free(what);
	free(path);
	return r;
}

const char *
vm_disk_skip_reason(const struct vm_disk *k)
{
	switch (k->device) {
	case VM_DEV_DISK:	break;
	case VM_DEV_CDROM:	return "cdrom";
	case VM_DEV_FLOPPY:	return "floppy";
	case VM_DEV_LUN:	return "LUN passthrough";
	default:		return "unsupported device";
	}
	switch (k->type) {
	case VM_DISK_FILE:	break;
	case VM_DISK_BLOCK:	return "block device";
	case VM_DISK_NETWORK:	return "network disk";
	case VM_DISK_VOLUME:	return "storage pool volume";
	default:		return "unsupported disk type";
	}
	return k->source == NULL ? "no source file" : NULL;
}

/* Replace the text of element n by value (escaped when written). */
static int
text_set(xmlNodePtr n, const char *value)
{
	xmlNodePtr t = xmlNewDocText(n->doc, BAD_CAST value);

	if (t == NULL)
		return COFFER_ENOMEM;
	xmlNodeSetContent(n, NULL);
	if (xmlAddChild(n, t) == NULL) {
		xmlFreeNode(t);
		return COFFER_ENOMEM;
	}
	return 0;
}

static int
rewrite_name(xmlNodePtr root, const char *newname, struct err *e)
{
	xmlNodePtr const n = first_child(root, "name");

	if (n == NULL)
		return err_set(e, COFFER_ECORRUPT, XML_WHAT ": missing <name>");
	if (text_set(n, newname) != 0)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	return 0;
}

static int
rewrite_uuid(xmlNodePtr root, const char *uuid, struct err *e)
{
	xmlNodePtr n = first_child(root, "uuid"), name;

	if (n == NULL) {
		/* libvirt puts <uuid> right after <name>. */
		if ((name = first_child(root, "name")) == NULL)
			return err_set(e, COFFER_ECORRUPT,
			    XML_WHAT ": missing <name>");
		if ((n = xmlNewDocNode(root->doc, NULL, BAD_CAST "uuid",
		    NULL)) == NULL)
			return err_set(e, COFFER_ENOMEM,
			    XML_WHAT ": out of memory");
		if (xmlAddNextSibling(name, n) == NULL) {
			xmlFreeNode(n);
			return err_set(e, COFFER_ENOMEM,
			    XML_WHAT ": out of memory");
		}
	}
	if (text_set(n, uuid) != 0)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	return 0;
}

/* The one <disk> whose <target dev> is target; errors name it. */
static int
disk_find(xmlNodePtr root, const char *target, xmlNodePtr *found,
    struct err *e)
{
	xmlNodePtr dev, n;
	char buf[80];

	*found = NULL;
	for (dev = root->children; dev != NULL; dev = dev->next) {
		if (!is_elem(dev, "devices"))
			continue;
		for (n = dev->children; n != NULL; n = n->next) {
			if (!is_elem(n, "disk") || !attr_is(first_child(n,
			    "target"), "dev", target))
				continue;
			if (*found != NULL)
				return err_set(e, COFFER_ECORRUPT, XML_WHAT
				    ": disk %s: target used twice",
				    printable(target, buf, sizeof(buf)));
			*found = n;
		}
	}
	if (*found == NULL)
		return err_set(e, COFFER_ENOTFOUND, XML_WHAT ": disk %s: no "
		    "such target", printable(target, buf, sizeof(buf)));
	return 0;
}

static int
rewrite_source(xmlNodePtr root, const struct vm_xml_map *m, struct err *e)
{
	xmlNodePtr disk, src, drv;
	const char *src_attr;
	char buf[80];
	int r;

	if ((r = disk_find(root, m->target, &disk, e)) != 0)
		return r;
	if (type_of(disk, &src_attr) != VM_DISK_FILE)
		return err_set(e, COFFER_EINVAL, XML_WHAT ": disk %s: not a "
		    "file disk", printable(m->target, buf, sizeof(buf)));
	if ((src = first_child(disk, "source")) == NULL &&
	    (src = xmlNewChild(disk, NULL, BAD_CAST "source", NULL)) == NULL)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	/* xmlSetProp takes the raw value; it is escaped when written. */
	if (xmlSetProp(src, BAD_CAST "file", BAD_CAST m->source) == NULL)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	if (m->format == NULL)
		return 0;
	if ((drv = first_child(disk, "driver")) == NULL &&
	    (drv = xmlNewChild(disk, NULL, BAD_CAST "driver", NULL)) == NULL)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	if (xmlHasProp(drv, BAD_CAST "name") == NULL)
		(void)xmlSetProp(drv, BAD_CAST "name", BAD_CAST "qemu");
	if (xmlSetProp(drv, BAD_CAST "type", BAD_CAST m->format) == NULL)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	return 0;
}

/* Coffer's <metadata> element goes, and <metadata> if it held no other. */
static void
meta_drop(xmlNodePtr root)
{
	xmlNodePtr md, b, n;

	if ((b = meta_find(root, &md)) == NULL)
		return;
	xmlUnlinkNode(b);
	xmlFreeNode(b);
	for (n = md->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return;
	xmlUnlinkNode(md);
	xmlFreeNode(md);
}

/* Coffer's <metadata> for the map entries with a live_format. */
static int
meta_write(xmlNodePtr root, const struct vm_xml_map *map, size_t nmap,
    struct err *e)
{
	xmlNodePtr md, b, n;
	xmlNsPtr ns;
	size_t i;

	for (i = 0; i < nmap && map[i].live_format == NULL; i++)
		;
	if (i == nmap)
		return 0;
	if (((md = first_child(root, "metadata")) == NULL &&
	    (md = xmlNewChild(root, NULL, BAD_CAST "metadata", NULL)) == NULL) ||
	    (b = xmlNewChild(md, NULL, BAD_CAST "backup", NULL)) == NULL ||
	    (ns = xmlNewNs(b, BAD_CAST META_NS, BAD_CAST "coffer")) == NULL)
		return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of memory");
	xmlSetNs(b, ns);
	for (i = 0; i < nmap; i++) {
		if (map[i].live_format == NULL)
			continue;
		if (!format_ok(map[i].live_format))
			return err_set(e, COFFER_EINVAL, XML_WHAT ": disk %s: "
			    "bad format name", map[i].target);
		if ((n = xmlNewChild(b, ns, BAD_CAST "disk", NULL)) == NULL ||
		    xmlSetProp(n, BAD_CAST "target",
		    BAD_CAST map[i].target) == NULL ||
		    xmlSetProp(n, BAD_CAST "format",
		    BAD_CAST map[i].live_format) == NULL)
			return err_set(e, COFFER_ENOMEM, XML_WHAT ": out of "
			    "memory");
	}
	return 0;
}

/* Write doc out; with the XML declaration only if the input had one. */
static int
doc_write(xmlDocPtr doc, int decl, struct xml_quiet *q, char **out,
    size_t *out_len, struct err *e)
{
	const char *const enc = doc->encoding != NULL ?
	    (const char *)doc->encoding : "UTF-8";
	xmlBufferPtr b = NULL;
	xmlSaveCtxtPtr s = NULL;
	size_t n;
	int r = COFFER_ENOMEM;

	if ((b = xmlBufferCreate()) == NULL)
		goto fail;
	/* An encoding, even UTF-8, keeps non-ASCII text as it was written. */
	if ((s = xmlSaveToBuffer(b, enc, decl ? 0 : XML_SAVE_NO_DECL)) == NULL)
		goto fail;
	if (xmlSaveDoc(s, doc) < 0 || xmlSaveClose(s) < 0 || q->have) {
		s = NULL;
		r = COFFER_ECORRUPT;
		goto fail;
	}
	s = NULL;
	n = (size_t)xmlBufferLength(b);
	if ((*out = malloc(n + 1)) == NULL)
		goto fail;
	memcpy(*out, xmlBufferContent(b), n);
	(*out)[n] = '\0';
	*out_len = n;
	xmlBufferFree(b);
	return 0;
fail:
	if (s != NULL)
		xmlSaveClose(s);
	xmlBufferFree(b);
	return err_set(e, r, XML_WHAT ": writing: %s", q->have ? q->msg :
	    r == COFFER_ENOMEM ? "out of memory" : "failed");
}

static int
has_decl(const char *xml, size_t len)
{
	if (len >= 3 && memcmp(xml, "\xef\xbb\xbf", 3) == 0) {
		xml += 3;	/* a UTF-8 byte order mark */
		len -= 3;
	}
	return len >= 5 && memcmp(xml, "<?xml", 5) == 0;
}

static int
rewrite_check(const char *newname, const char *newuuid,
    const struct vm_xml_map *map, size_t nmap, struct err *e)
{
	char u[VM_UUID_LEN + 1], buf[80];
	size_t i;

	if (newname != NULL && !vm_name_valid(newname))
		return err_set(e, COFFER_EINVAL, "new VM name '%s': not a "
		    "valid name", printable(newname, buf, sizeof(buf)));
	if (newuuid != NULL && (uuid_parse(newuuid, u) != 0 ||
	    strcmp(u, newuuid) != 0))
		return err_set(e, COFFER_EINVAL, "new UUID '%s': not a "
		    "lowercase UUID", printable(newuuid, buf, sizeof(buf)));
	for (i = 0; i < nmap; i++)
		if (map[i].target == NULL || map[i].source == NULL ||
		    map[i].source[0] == '\0')
			return err_set(e, COFFER_EINVAL, "disk map entry %zu: "
			    "target and source are required", i);
	return 0;
}

/*
 * A VM restored under a new name runs beside the original: its network
 * cards must not keep the original's MAC addresses, nor its UEFI
 * variable store the original's nvram file.  Without them libvirt makes
 * new ones when the domain is defined.
 */
static void
forget_identity(xmlNodePtr root)
{
	xmlNodePtr dev = first_child(root, "devices");
	xmlNodePtr os = first_child(root, "os");
	xmlNodePtr n, next, mac;

	for (n = dev ? dev->children : NULL; n != NULL; n = n->next) {
		if (!is_elem(n, "interface"))
			continue;
		while ((mac = first_child(n, "mac")) != NULL) {
			xmlUnlinkNode(mac);
			xmlFreeNode(mac);
		}
	}
	for (n = os ? os->children : NULL; n != NULL; n = next) {
		next = n->next;
		if (is_elem(n, "nvram")) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
}

int
vm_xml_rewrite(const char *xml, size_t len, const char *newname,
    const char *newuuid, const struct vm_xml_map *map, size_t nmap,
    char **out, size_t *out_len, struct err *e)
{
	struct xml_quiet q;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	size_t i;
	int r;

	*out = NULL;
	*out_len = 0;
	if ((r = rewrite_check(newname, newuuid, map, nmap, e)) != 0)
		return r;
	quiet_begin(&q);
	if ((r = read_doc(xml, len, XML_WHAT, &q, &doc, e)) != 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (newname != NULL && (r = rewrite_name(root, newname, e)) != 0)
		goto out;
	if (newname != NULL)
		forget_identity(root);
	if (newuuid != NULL && (r = rewrite_uuid(root, newuuid, e)) != 0)
		goto out;
	for (i = 0; i < nmap; i++)
		if ((r = rewrite_source(root, &map[i], e)) != 0)
			goto out;
	meta_drop(root);
	if ((r = meta_write(root, map, nmap, e)) != 0)
		goto out;
	r = doc_write(doc, has_decl(xml, len), &q, out, out_len, e);
out:
	xmlFreeDoc(doc);
	quiet_end(&q);
	return r;
}
