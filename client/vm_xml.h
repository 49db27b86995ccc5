/*
 * vm_xml.h - libvirt domain XML: find a VM's name, UUID and disks, and
 * rewrite the XML for a restore under another name or location.
 *
 * A VM is a libvirt domain whose persistent definition libvirt keeps as
 * CONFDIR/NAME.xml (/etc/libvirt/qemu by default, the client option
 * VMCONFDIR).  vm_xml_load() reads that file and vm_xml_parse() reads
 * the same bytes from memory; both fill a struct vm_dom that owns every
 * string in it (vm_dom_free() releases them) and keeps the raw bytes, so
 * that the XML stored with a backup is exactly the file that was read.
 *
 * Which disks a backup takes: vm_disk_skip_reason() is NULL only for a
 * disk with device='disk', type='file' and a source file.  Everything
 * else (cdrom, floppy, LUN, block, network, volume, a disk without
 * media) is not an error: the caller reports it as skipped, with the
 * reason string.
 *
 * The file may be hostile.  It is parsed without network access, without
 * loading or substituting any entity, and a document with a DOCTYPE is
 * refused before its declarations are read (libvirt never writes one):
 * no external entity (XXE) and no entity expansion can happen.  libxml2
 * prints nothing; its first error goes into the struct err with the
 * line number.  Files are bounded by VM_XML_MAX, names by VM_NAME_MAX,
 * disks by VM_DISKS_MAX.
 *
 * Changes from the sketch: VM_DEV_OTHER exists (a device libvirt
 * may add later is skipped, not fatal); vm_uuid_new() returns 0 or
 * COFFER_EINTERNAL (and leaves "" in out) when the random generator
 * fails, which a caller ignoring it sees as a rewrite error, never as a
 * UUID that is not random.  Not thread safe: parsing swaps libxml2's
 * global error handler and entity loader for its duration.
 */
#ifndef COFFER_CLIENT_VM_XML_H
#define COFFER_CLIENT_VM_XML_H

#include <stddef.h>

#define VM_NAME_MAX	200		/* bytes of a VM name */
#define VM_XML_MAX	(4u << 20)	/* bytes of a domain XML */
#define VM_DISKS_MAX	1024		/* <disk> elements in one domain */
#define VM_UUID_LEN	36		/* "xxxxxxxx-xxxx-...", no NUL */

struct err;

/* <disk device=...>; a missing attribute means "disk". */
enum {
	VM_DEV_DISK = 0,
	VM_DEV_CDROM,
	VM_DEV_FLOPPY,
	VM_DEV_LUN,
	VM_DEV_OTHER
};

/* <disk type=...>; a missing attribute means "file", as in libvirt. */
enum {
	VM_DISK_FILE = 0,
	VM_DISK_BLOCK,
	VM_DISK_NETWORK,
	VM_DISK_VOLUME,
	VM_DISK_OTHER
};

struct vm_disk {
	char	*target;	/* <target dev='vda'>, never NULL */
	/*
	 * <source>: file= for file disks, dev= for block, name= for
	 * network, volume= for volume, dir= for dir; NULL when absent or
	 * empty (a cdrom without media).
	 */
	char	*source;
	char	*format;	/* <driver type='raw|qcow2'>, "" when absent */
	/*
	 * A live backup's stored XML says format raw for a disk read
	 * through NBD (the guest's view) and keeps the format of the file
	 * the disk really is in Coffer's <metadata>: that, or NULL.
	 */
	char	*live_format;
	int	 device;	/* VM_DEV_* */
	int	 type;		/* VM_DISK_* */
	int	 readonly;	/* <readonly/> */
	int	 shareable;	/* <shareable/> */
	int	 optional;	/* startupPolicy 'optional' or 'requisite' */
};

struct vm_dom {
	char		*name;		/* <name>, a valid VM name */
	char		 uuid[VM_UUID_LEN + 1];	/* lowercase; "" without */
	struct vm_disk	*disks;		/* in document order */
	size_t		 ndisks;
	char		*xml;		/* the bytes parsed, NUL added */
	size_t		 xml_len;	/* without the NUL */
};

/*
 * Parse a domain XML of len bytes.  On success d owns copies of
 * everything (free with vm_dom_free); on failure d is empty.  Errors:
 * COFFER_ECORRUPT ("domain XML: line 3: ...", "domain XML: missing
 * <name>", "domain XML: disk 2 (/img/b.raw): no <target dev>", a root
 * that is not <domain>, a DOCTYPE, a <name> that is not a valid VM name,
 * a bad <uuid>, a target used twice), COFFER_ETOOBIG (over VM_XML_MAX or
 * VM_DISKS_MAX), COFFER_ENOMEM.
 */
int vm_xml_parse(const char *xml, size_t len, struct vm_dom *d,
    struct err *e);

/*
 * Read and parse CONFDIR/NAME.xml (confdir must be set: COFFER_EINVAL).
 * Every message starts with "VM NAME: " and names the file: "VM mgmt01:
 * no domain definition /etc/libvirt/qemu/mgmt01.xml (No such file or
 * directory)" (COFFER_ENOTFOUND).  Refuses a NAME that is not
 * vm_name_valid() (COFFER_EINVAL), a file that is not regular
 * (COFFER_EINVAL) or is over VM_XML_MAX (COFFER_ETOOBIG), and an XML
 * whose <name> is not NAME (COFFER_ECORRUPT).
 */
int vm_xml_load(const char *confdir, const char *name, struct vm_dom *d,
    struct err *e);

/* Free what d owns and empty it; accepts NULL and an empty d. */
void vm_dom_free(struct vm_dom *d);

/*
 * NULL when the disk is backed up (device disk, type file, with a
 * source); otherwise a short static reason for the caller's "skipped"
 * line: "cdrom", "floppy", "LUN passthrough", "unsupported device",
 * "block device", "network disk", "storage pool volume", "unsupported
 * disk type", "no source file".
 */
const char *vm_disk_skip_reason(const struct vm_disk *k);

/*
 * Restore: the disk with this target gets <source file=source>, and with
 * format set <driver type=format> (a disk read through its NBD export
 * was stored as the guest sees it: raw).
 */
struct vm_xml_map {
	const char	*target;
	const char	*source;
	const char	*format;	/* NULL: keep */
	const char	*live_format;	/* non-NULL: kept in <metadata> */
};

/*
 * Rewrite a domain XML for a restore: newname replaces <name> (NULL
 * keeps it; a new name also drops the interfaces' <mac> and the <os>'s
 * <nvram>, so that libvirt gives the copy its own), newuuid replaces
 * <uuid> or adds one after <name> (NULL keeps it), and the file disk whose target is map[i].target gets
 * <source file=map[i].source>.  Coffer's own <metadata> element is
 * dropped, and written anew when an entry has a live_format (the file
 * format of a disk stored as the guest sees it, see struct vm_disk), so
 * that an XML restored for libvirt never carries it.  Every map entry
 * must match exactly one
 * file disk: a restore that silently left a disk pointing at the
 * original image would run two VMs on one disk.  Everything else is kept
 * as libxml2 writes it back (comments, attribute order, whitespace; an
 * XML declaration only if the input had one).  *out is malloc'd, NUL
 * terminated, *out_len without the NUL; the caller frees it.
 */
int vm_xml_rewrite(const char *xml, size_t len, const char *newname,
    const char *newuuid, const struct vm_xml_map *map, size_t nmap,
    char **out, size_t *out_len, struct err *e);

/*
 * A random RFC 4122 version 4 UUID, lowercase, from OpenSSL's RAND_bytes.
 * Returns 0, or COFFER_EINTERNAL with out set to "" when the generator
 * fails.
 */
int vm_uuid_new(char out[VM_UUID_LEN + 1]);

/*
 * 1 when name can name a VM and its file: 1 to VM_NAME_MAX bytes, no
 * '/', not "." or "..", no control characters.
 */
int vm_name_valid(const char *name);

#endif
