/*
 * backup.h - incremental and selective backup over a node session.
 *
 * For each path: find its filespace (the mount point), FS_OPEN it, walk
 * the tree in pkey order and, for incremental, merge the walk with the
 * server's active inventory (INV_GET pages, one page read ahead), which
 * arrives in the same order (walk.h, merge.h).  Changed files go through
 * the ingest pipeline (chunk, hash, compress on every core); the chunks
 * it delivers are asked for in CHUNK_ASK batches, several outstanding,
 * and only those the server answers "need" for cross the wire.  An
 * object's OBJ_PUT is sent once every batch holding its chunks has been
 * answered, so it always follows the CHUNK_PUTs it references.  Work is
 * committed every BACKUP_TXN_BYTES or BACKUP_TXN_OBJECTS and at the end:
 * a backup killed midway loses at most one transaction, and the next run
 * finds the committed part in the inventory and does not send it again.
 *
 * Memory stays bounded whatever the number of files: two inventory
 * pages, the open and outstanding batches (BACKUP_BATCH_BYTES each), the
 * ingest queue, and the objects of one transaction's last batches.
 */
#ifndef COFFER_CLIENT_BACKUP_H
#define COFFER_CLIENT_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define BACKUP_BATCH_BYTES	(2u << 20)	/* stored bytes per CHUNK_ASK */
#define BACKUP_BATCHES_OUT	2		/* answers awaited at once */
#define BACKUP_TXN_BYTES	(256ull << 20)
#define BACKUP_TXN_OBJECTS	4096
#define BACKUP_IMAGE_BLOCK	(64u << 10)	/* disk images: fixed blocks */
#define BACKUP_LEARN_MIN	(1u << 20)	/* files that learn_previous() */
#define BACKUP_KNOWN_MAX	(1u << 20)	/* hashes remembered at once */

struct coffer_opts;
struct err;
struct net_conn;

struct backup_params {
	int				 selective;
	int				 threads;	/* 0: one per CPU */
	int				 progress;	/* bar on a terminal */
	const struct coffer_opts	*opts;		/* include/exclude */
	FILE				*log;		/* messages */
};

struct backup_stats {
	uint64_t	inspected;
	uint64_t	backed_up;	/* OBJ_PUT sent */
	uint64_t	updated;	/* OBJ_META sent */
	uint64_t	deleted;	/* OBJ_GONE sent (expired) */
	uint64_t	failed;
	uint64_t	bytes_inspected;	/* read from files */
	uint64_t	bytes_sent;	/* stored bytes in CHUNK_PUT frames */
	uint64_t	bytes_stored;	/* new bytes, as the server reported */
	uint64_t	chunks_asked;
	uint64_t	chunks_sent;
	uint64_t	wire_bytes;	/* every frame byte written */
	double		elapsed_s;
};

/*
 * Back up paths.  Objects that fail are counted in st->failed with a line
 * on p->log each; the return is non-zero only for what ends the run (the
 * session broke, out of memory).
 */
int backup_run(struct net_conn *c, const struct backup_params *p,
    char *const *paths, size_t npaths, struct backup_stats *st,
    struct err *e);

/*
 * VM versions (vm_backup.c prepares them): a VM is the filespace
 * "VM:NAME" of the node, and one backup of it is one transaction, all or
 * nothing (PROTO_TXN_ATOMIC).  The domain XML is stored every time, so
 * that each backup is a version a point-in-time restore can name; a disk
 * whose image has the size, times and path of its active version is
 * unchanged and not read (its active version stays the one at that
 * time); a changed disk is read in BACKUP_IMAGE_BLOCK blocks aligned to
 * the image, holes skipped unread, and only blocks the server lacks
 * travel.  Disks no longer in the XML are deactivated.
 */
/*
 * A disk read through something else than its image file: a running
 * domain's disk exported over NBD by a libvirt pull-mode backup
 * (vm_libvirt.c).  extent() describes the disk from off on: *len bytes
 * (whole BACKUP_IMAGE_BLOCK blocks, but for the disk's last block) of
 * one kind.  BACKUP_EXT_CLEAN blocks did not change since the version
 * the source's checkpoint belongs to (incremental set): they are not
 * read, and the new version names the previous version's chunks for
 * them, so that every version is a whole image.
 */
enum {
	BACKUP_EXT_DATA = 0,	/* read it */
	BACKUP_EXT_ZERO,	/* a hole or zeros: not read, not stored */
	BACKUP_EXT_CLEAN	/* unchanged: the previous version's chunks */
};

struct backup_src {
	uint64_t	 size;		/* the disk's size as the guest sees it */
	int		 incremental;	/* extent() may answer CLEAN */
	int		(*extent)(void *arg, uint64_t off, uint64_t *len,
			    int *kind, struct err *e);
	int		(*pread)(void *arg, void *buf, size_t n, uint64_t off,
			    struct err *e);
	void		*arg;
};

struct backup_vm_obj {
	const char	*path;		/* "/domain.xml", "/disks/vda" */
	int		 type;		/* CLIENT_OBJ_VMCONF or _VMDISK */
	const char	*link;		/* a disk: its image's path */
	const void	*data;		/* the XML */
	size_t		 len;
	int		 fd;		/* a disk: the image, open */
	struct stat	 st;		/* its (or the XML file's) stat */
	struct backup_src *src;		/* non-NULL: read through it, not fd */
};

struct backup_vm {
	const char		*name;
	struct backup_vm_obj	*objs;
	size_t			 nobjs;
	/*
	 * Optional: called once the server's active version is known and
	 * before any disk is read, with the ctime (ns) of each object's
	 * active version (0: none), indexed like objs.  A live backup
	 * starts its job here and sets the disks' src (vm_backup.c).
	 */
	int			(*before_disks)(void *arg,
				    const int64_t *prev_ctime,
				    struct err *e);
	void			*arg;
};

struct backup_vm_result {
	int		committed;	/* the version is stored */
	uint64_t	objects;	/* sent in it */
	uint64_t	unchanged;	/* disks not read */
	uint64_t	bytes_read;
	uint64_t	bytes_sent;
	double		elapsed_s;
	int		hook_failed;	/* before_disks failed: no version */
};

struct backup_sess;

int backup_sess_open(struct net_conn *c, const struct backup_params *p,
    struct backup_stats *st, struct backup_sess **out, struct err *e);
/*
 * Back up one VM version.  A disk that cannot be read, or an object the
 * server refuses, leaves res->committed 0 with a message on the log (and
 * st->failed counted); the return is non-zero only for what ends the
 * session.
 */
int backup_vm(struct backup_sess *s, const struct backup_vm *vm,
    struct backup_vm_result *res, struct err *e);
/* Fills st's elapsed_s and wire_bytes.  Accepts NULL. */
void backup_sess_close(struct backup_sess *s);

#endif
