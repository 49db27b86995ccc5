/*
 * proto.h - the Coffer session protocol: frame types and message layouts.
 *
 * Every exchange is a request frame from the client and, for most, one
 * reply frame (or ERROR).  Requests may be pipelined: the server answers in
 * order.  Long listings are paged by the client (a request per page), so
 * the server keeps no cursor between frames and its memory stays bounded.
 * All integers little-endian (wire.h); "str" is u32 length + bytes;
 * "hash" is 32 raw bytes.  Numbers are pinned: never renumber a type.
 *
 * Session:
 *   HELLO      c>s  u32 magic PROTO_MAGIC, u16 min, u16 max, str program
 *   HELLO_OK   s>c  u16 version, str server name, [u64 features]
 *                   features: the PROTO_FEAT_* bits of what this server
 *                   understands beyond version 1 as first released.  A
 *                   server from before features omits the field: the
 *                   client takes that as none (clients never required the
 *                   reply to end after the name).  A client uses a
 *                   feature only when its bit is set, and says which one
 *                   is missing when it cannot do without it.
 *   AUTH       c>s  u8 kind (1 node, 2 admin, 3 server), str name,
 *                   str password (kind 3: 32 random bytes, the nonce cn)
 *   AUTH_OK    s>c  str name (normalized), str domain
 *   ERROR      s>c  i32 code (COFFER_E*), u8 tsm rc, str message
 *   BYE        c>s  (no reply; the server closes)
 *
 * Server to server (kind 3, PROTO_KIND_SERVER; replication).  TLS comes
 * first: the source verifies the target's certificate against the CA file
 * of its DEFINE SERVER.  Then both prove they hold the key derived from
 * the server password (passwd_server_key), the password never crossing:
 *   AUTH       src>tgt kind 3, name = the source's server name, cn
 *                   (unknown name: ERROR "ANR0453W ... not defined")
 *   AUTH_CHAL  tgt>src 32 raw bytes sn, 32 raw bytes
 *                   HMAC-SHA256(key, "T" || cn || sn || target name)
 *   AUTH_PROOF src>tgt 32 raw bytes HMAC-SHA256(key, "S" || cn || sn ||
 *                   source name)                 -> AUTH_OK (domain "")
 *                   or ERROR "... server password mismatch"
 *   Names are the servers' names upper-cased.  A source whose check of
 *   AUTH_CHAL fails still sends its proof, so that the target records the
 *   mismatch too, and then reports the failure itself.  After AUTH_OK the
 *   session carries replication frames (server/sess_repl.c).
 *
 * Backup (node sessions):
 *   FS_OPEN    c>s  str filespace, str type        -> FS_OK u64 fs id
 *                   A filespace is a file system, named by its mount
 *                   point ("/home"), or a virtual machine, named
 *                   "VM:NAME" (type "VM"; proto_fs_name_check() says
 *                   which names pass).  Object paths start with '/'
 *                   either way: a VM holds "/domain.xml" (VMCONF) and
 *                   "/disks/<target dev>" (VMDISK, link = image path).
 *   INV_GET    c>s  u64 fs, str after, u32 limit   -> INV_PAGE
 *   INV_PAGE   s>c  u8 more, u32 n, n x objmeta (no recipe)
 *   CHUNK_ASK  c>s  u32 n, n x hash                -> CHUNK_NEED
 *   CHUNK_NEED s>c  u32 n, ceil(n/8) bitmap bytes (bit set: send it)
 *   CHUNK_PUT  c>s  hash, u32 raw len, u8 codec, bytes stored (no reply)
 *   OBJ_PUT    c>s  u64 fs, objmeta with recipe (no reply)
 *   OBJ_META   c>s  u64 fs, str path, u32 mode, u32 uid, u32 gid,
 *                   i64 ctime_ns (no reply)
 *   OBJ_GONE   c>s  u64 fs, str path (no reply)
 *   OBJ_RECIPE c>s  u64 fs, str path            -> OBJ_RECIPE_OK
 *   OBJ_RECIPE_OK s>c bytes recipe of the path's active version (empty
 *                   when there is none): a client about to read a changed
 *                   large file learns which chunks the server already
 *                   has, and does not compress those again
 *   TXN_COMMIT c>s  u64 fs, u8 flags                -> TXN_OK
 *                   flags: PROTO_TXN_FINAL (1) the backup is done (the
 *                   filespace's last backup time is set); PROTO_TXN_ATOMIC
 *                   (2) all or nothing: when any object of the
 *                   transaction failed (a recipe naming a chunk the
 *                   server lacks, a size that does not add up, no active
 *                   version to update at commit), nothing is committed
 *                   and TXN_OK says objects 0, bytes 0 with the failures.
 *                   PROTO_TXN_STAGE (4, with ATOMIC, without FINAL): a
 *                   part of an all-or-nothing version too large for one
 *                   transaction (a VM's disks): its objects (OBJ_PUT
 *                   only) are stored, chunks referenced, but seen by no
 *                   listing until the session's next ATOMIC commit
 *                   without STAGE makes them, with that commit's own
 *                   objects, the filespace's new versions.  A part that
 *                   failed, TXN_ABORT or the session's end drops every
 *                   part, and the ATOMIC commit after a failed part
 *                   fails too, so the version is still all or nothing.
 *                   Other bits: ERROR.  (Before flags, this byte was
 *                   "u8 final", 0 or 1: the same meaning.)
 *   RECIPE_GET c>s  u64 object id                -> OBJ_RECIPE_OK
 *                   the recipe of that version (the node's own; another
 *                   node's or none: ERROR): a restore lists a segmented
 *                   VM disk without keeping its recipes and fetches each
 *                   segment's only when it reaches it, so that its memory
 *                   does not grow with the disk (client/restore.c)
 *   TXN_OK     s>c  u32 objects, u64 bytes stored, u32 nfailed,
 *                   nfailed x (str path, str reason)  (at most 64 listed)
 *   TXN_ABORT  c>s  u64 fs (0: any)                 -> TXN_OK (0, 0, 0)
 *                   drop the open transaction: its pending changes are
 *                   forgotten, pinned chunks released, and chunks it
 *                   stored stay unreferenced (dead space for reclaim).
 *                   Nothing open is not an error.
 *
 *   Chunks are referenced by the OBJ_PUT whose recipe names them, so a
 *   CHUNK_PUT must precede the OBJ_PUT that needs it.  A chunk the server
 *   answered "have it" for in CHUNK_NEED stays pinned until the
 *   transaction ends, so the reference cannot miss it.
 *
 * Restore and queries (node sessions):
 *   FS_LIST    c>s  (none)                         -> FS_PAGE
 *   FS_PAGE    s>c  u32 n, n x fsent
 *   OBJ_LIST   c>s  str filespace, str prefix, i64 pit, u8 inactive,
 *                   str after, u32 limit, [u8 options] -> OBJ_PAGE
 *                   options (PROTO_FEAT_LIST_OPTS; absent: 0):
 *                   PROTO_LIST_NO_RECIPE (1) each objmeta ends with
 *                   the recipe's u32 length only, not its bytes (a VM
 *                   restore fetches them with RECIPE_GET).  Other bits:
 *                   ERROR.  Send the byte only to a server with the bit.
 *   OBJ_PAGE   s>c  u8 more, u32 n, n x objmeta with recipe (or its
 *                   length, as the request asked)
 *   CHUNK_GET  c>s  u64 object id, u32 first entry, u32 count (<= 64)
 *                   -> count x CHUNK_DATA, in recipe order (zero runs
 *                   included, as CHUNK_DATA with codec 0 and no bytes)
 *   CHUNK_DATA s>c  hash, u32 raw len, u8 codec, bytes stored
 *
 *   Chunks are fetched by object so that a node reads only chunks of its
 *   own objects: the server checks the object's owner once per request.
 *
 * Administration (admin sessions):
 *   ADM_CMD    c>s  str command line               -> ADM_RESULT
 *   ADM_RESULT s>c  u8 tsm rc, u8 shape, u32 nmsg, nmsg x str, u16 ncol,
 *                   ncol x str, u32 nrow, nrow x ncol x (u8 null, str)
 *                   shape: 0 messages only, 1 rows (a query), 2 one
 *                   object (a command's result, e.g. audit's counts)
 *
 * Replication (server sessions: the source is the client, the target
 * the server; see server/repl_source.c and server/sess_repl.c):
 *   REPL_NODE  c>s  str node, str password hash, str domain, str contact,
 *                   i64 rpo seconds                -> REPL_OK
 *                   the node is created or updated on the target, in
 *                   replmode RECEIVE; the frames that follow are for it
 *   REPL_FS    c>s  str filespace, str type, u8 drprotect, u32 drpriority
 *                                                  -> REPL_FS_OK
 *   REPL_FS_OK s>c  u64 fs id, u64 versions, 32 bytes digest (as
 *                   cat_obj_digest: equal digests, nothing to do)
 *   REPL_LIST  c>s  u64 fs, 16 bytes after (zeros: from the start),
 *                   u32 limit, u8 content           -> REPL_PAGE
 *   REPL_PAGE  s>c  u8 more, u32 n, n x (16 bytes uuid, u8 state,
 *                   i64 deactivated, with content: 32 bytes digest of
 *                   the version's path, size and recipe), in uuid order
 *   REPL_OBJ   c>s  u64 fs, objmeta with recipe, as at the source (uuid,
 *                   state, insert and deactivation times) (no reply);
 *                   its chunks were offered with CHUNK_ASK / CHUNK_PUT
 *                   (stored form, not recompressed) in this transaction
 *   REPL_DEL   c>s  u64 fs, 16 bytes uuid           (no reply)
 *   REPL_STATE c>s  u64 fs, 16 bytes uuid, u8 state, i64 deactivated
 *                                                   (no reply)
 *   REPL_DONE  c>s  str node, i64 when, [i64 backup] -> REPL_OK
 *                   backup: the node's last backup the run carried (its
 *                   newest copy at the target); older sources omit it
 *   REPL_OK    s>c  (empty)
 *   REPL_CHUNK_GET c>s u32 n (1..PROTO_GET_MAX), n x hash
 *                   -> n x REPL_CHUNK, in the order asked (needs no
 *                   REPL_NODE: AUDIT CONTAINER FIX=YES repairs damaged
 *                   chunks of the source from this replica)
 *   REPL_CHUNK s>c  hash, u8 found; when 1: u32 raw len, u8 codec, bytes
 *                   stored (the record's CRC checked; 0: absent or
 *                   damaged here too)
 *   CHUNK_ASK, CHUNK_PUT, TXN_COMMIT and TXN_ABORT work as for a node's
 *   backup and commit REPL_OBJ/DEL/STATE in batches.
 *
 * Client scheduler (node sessions; server/sess_sched.c, client/scheduler.c):
 *   SCHED_QUERY  c>s (empty)                      -> SCHED_NEXT
 *   SCHED_NEXT   s>c i64 server now, u32 queryschedperiod override in
 *                   seconds (0: none, the client's own), u8 randomize
 *                   percent (0..50), u8 has, and when has is 1: str
 *                   domain, str schedule, str action (INCREMENTAL,
 *                   SELECTIVE, BACKUPVM), str objects, str options,
 *                   i64 window start, i64 window end.  The window is
 *                   the earliest one, of every schedule the node is
 *                   associated with, that the node has not completed
 *                   and that has not closed: one schedule at a time.
 *   SCHED_REPORT c>s str domain, str schedule, i64 window start, u8 phase
 *                   (1 started, 2 ended), u8 rc (TSM's; phase 2), str
 *                   message                        -> SCHED_OK (empty)
 *                   The server checks that the node is associated with
 *                   the schedule and that the window is one of its
 *                   windows, and refuses (ERROR) a start outside the
 *                   window or of a window already ended.
 *
 * objmeta: u64 object id (0 when sent by a client), u8 type, u8 state, str path, u64 size, u32 mode, u32 uid,
 *   u32 gid, i64 mtime_ns, i64 ctime_ns, i64 inserted, i64 deactivated,
 *   16 bytes uuid, str link, then with recipe: bytes recipe.
 *
 * fsent: u64 id, str name, str type, i64 last backup start, i64 end,
 *   u64 objects, u64 bytes, u8 drprotect (0/1), u32 drpriority (0: none
 *   set; 1 is restored first).  See proto_put_fs/proto_get_fs.
 */
#ifndef COFFER_PROTO_H
#define COFFER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define PROTO_MAGIC	0x52464f43u	/* "COFR" */
#define PROTO_VERSION	1
#define PROTO_PORT	1500

enum proto_type {
	PT_HELLO = 1,
	PT_HELLO_OK = 2,
	PT_AUTH = 3,
	PT_AUTH_OK = 4,
	PT_ERROR = 5,
	PT_BYE = 6,
	PT_AUTH_CHAL = 7,
	PT_AUTH_PROOF = 8,

	PT_FS_OPEN = 10,
	PT_FS_OK = 11,
	PT_INV_GET = 12,
	PT_INV_PAGE = 13,
	PT_CHUNK_ASK = 14,
	PT_CHUNK_NEED = 15,
	PT_CHUNK_PUT = 16,
	PT_OBJ_PUT = 17,
	PT_OBJ_META = 18,
	PT_OBJ_GONE = 19,
	PT_TXN_COMMIT = 20,
	PT_TXN_OK = 21,
	PT_OBJ_RECIPE = 22,
	PT_OBJ_RECIPE_OK = 23,
	PT_TXN_ABORT = 24,
	PT_RECIPE_GET = 25,

	PT_FS_LIST = 30,
	PT_FS_PAGE = 31,
	PT_OBJ_LIST = 32,
	PT_OBJ_PAGE = 33,
	PT_CHUNK_GET = 34,
	PT_CHUNK_DATA = 35,

	PT_REPL_NODE = 60,
	PT_REPL_FS = 61,
	PT_REPL_FS_OK = 62,
	PT_REPL_LIST = 63,
	PT_REPL_PAGE = 64,
	PT_REPL_OBJ = 65,
	PT_REPL_DEL = 66,
	PT_REPL_STATE = 67,
	PT_REPL_DONE = 68,
	PT_REPL_OK = 69,
	PT_REPL_CHUNK_GET = 70,
	PT_REPL_CHUNK = 71,

	PT_SCHED_QUERY = 40,
	PT_SCHED_NEXT = 41,
	PT_SCHED_REPORT = 42,
	PT_SCHED_OK = 43,

	PT_ADM_CMD = 50,
	PT_ADM_RESULT = 51,
};

#define PROTO_SHAPE_MSGS	0
#define PROTO_SHAPE_ROWS	1
#define PROTO_SHAPE_OBJECT	2

#define PROTO_KIND_NODE		1
#define PROTO_KIND_ADMIN	2
#define PROTO_KIND_SERVER	3	/* a peer server (replication) */
#define PROTO_NONCE_LEN		32	/* AUTH_CHAL nonces and MACs */

#define PROTO_CHUNK_BATCH	1024	/* hashes per CHUNK_ASK, entries per CHUNK_GET */
#define PROTO_FAILED_MAX	64	/* failures listed in TXN_OK */
#define PROTO_GET_MAX		64	/* entries per CHUNK_GET: bounds the reply */
#define PROTO_PAGE_MAX		4096	/* objects per page */
#define PROTO_REPL_PAGE_MAX	16384	/* versions per REPL_PAGE */
#define PROTO_RECIPE_MAX	(8u << 20)	/* 233,016 entries: a 57 GB file
						   at 256 KiB, a disk with 14 GiB
						   of data in 64 KiB blocks */

/* TXN_COMMIT flags (pinned). */
#define PROTO_TXN_FINAL		1	/* the backup is done */
#define PROTO_TXN_ATOMIC	2	/* commit all objects or none */
#define PROTO_TXN_STAGE		4	/* with ATOMIC: a part of the version */
#define PROTO_TXN_FLAGS		(PROTO_TXN_FINAL | PROTO_TXN_ATOMIC | \
				 PROTO_TXN_STAGE)
/*
 * What one transaction's pending objects (paths, links, recipes) may
 * hold at a server: a VM version committed without STAGE is bounded by
 * it, about 455 GiB of disks in 64 KiB blocks.  Servers from before
 * STAGE had the same limit.
 */
#define PROTO_TXN_PEND_MAX	(256u << 20)

/* HELLO_OK feature bits (pinned; absent field: none). */
#define PROTO_FEAT_TXN_STAGE	1	/* TXN_COMMIT flag PROTO_TXN_STAGE */
#define PROTO_FEAT_RECIPE_GET	2	/* the RECIPE_GET frame */
#define PROTO_FEAT_LIST_OPTS	4	/* OBJ_LIST's options byte */
#define PROTO_FEATURES		(PROTO_FEAT_TXN_STAGE | \
				 PROTO_FEAT_RECIPE_GET | PROTO_FEAT_LIST_OPTS)

/* OBJ_LIST options (pinned). */
#define PROTO_LIST_NO_RECIPE	1	/* recipe lengths, not recipes */
#define PROTO_LIST_OPTS		PROTO_LIST_NO_RECIPE

/* proto_put_obj / proto_get_obj: what follows the link. */
#define PROTO_OBJ_NO_RECIPE	0
#define PROTO_OBJ_RECIPE	1	/* bytes recipe */
#define PROTO_OBJ_RECIPE_LEN	2	/* u32 recipe length only */

/* A virtual machine's filespace: "VM:" and 1 to 200 bytes of name. */
#define PROTO_VM_PREFIX		"VM:"
#define PROTO_VM_PREFIX_LEN	3
#define PROTO_VM_NAME_MAX	200
#define PROTO_FS_TYPE_VM	"VM"

/* TSM return codes. */
#define RC_OK		0
#define RC_SKIPPED	4
#define RC_WARNING	8
#define RC_ERROR	12

struct wire_buf;
struct wire_rd;
struct err;

/* Object metadata as it travels (pointers into the frame when decoded). */
struct proto_obj {
	uint64_t	 id;
	uint8_t		 type;
	uint8_t		 state;
	const char	*path;
	size_t		 path_len;
	uint64_t	 size;
	uint32_t	 mode, uid, gid;
	int64_t		 mtime_ns, ctime_ns;
	int64_t		 inserted, deactivated;
	uint8_t		 uuid[16];
	const char	*link;
	size_t		 link_len;
	const uint8_t	*recipe;
	size_t		 recipe_len;
};

/*
 * with_recipe: PROTO_OBJ_*.  Decoded with PROTO_OBJ_RECIPE_LEN, recipe
 * is NULL and recipe_len the length the sender stated (at most
 * PROTO_RECIPE_MAX).
 */
void proto_put_obj(struct wire_buf *b, const struct proto_obj *o,
    int with_recipe);
int proto_get_obj(struct wire_rd *r, struct proto_obj *o, int with_recipe,
    struct err *e);

/* A filespace entry of FS_PAGE (pointers into the frame when decoded). */
struct proto_fs {
	uint64_t	 id;
	const char	*name;
	size_t		 name_len;
	const char	*type;
	size_t		 type_len;
	int64_t		 last_start, last_end;	/* Unix s, 0: never */
	uint64_t	 objects, bytes;
	uint8_t		 drprotect;	/* 0 or 1 */
	uint32_t	 drpriority;	/* 0: none set; 1 first */
};

void proto_put_fs(struct wire_buf *b, const struct proto_fs *f);
/* Names are 1..4095 bytes, types up to 31, neither with a NUL byte. */
int proto_get_fs(struct wire_rd *r, struct proto_fs *f, struct err *e);

/*
 * Is name a filespace name the server accepts?  Either an absolute path
 * ("/", "/home") or "VM:NAME" with NAME 1..PROTO_VM_NAME_MAX bytes, no
 * '/', no control characters, not "." or "..".  0 or COFFER_EINVAL with
 * e naming the rule that failed.
 */
int proto_fs_name_check(const char *name, struct err *e);
/* 1 when name is a VM filespace ("VM:..."), else 0. */
int proto_fs_is_vm(const char *name);

/* SCHED_NEXT and SCHED_REPORT (pointers into the frame when decoded). */
#define PROTO_SCHED_NAME_MAX	64
#define PROTO_SCHED_ACTION_MAX	31
#define PROTO_SCHED_OBJECTS_MAX	2048
#define PROTO_SCHED_OPTIONS_MAX	512
#define PROTO_SCHED_MSG_MAX	1024
#define PROTO_SCHED_RANDOMIZE_MAX 50
#define PROTO_SCHED_STARTED	1	/* SCHED_REPORT phases (pinned) */
#define PROTO_SCHED_ENDED	2

struct proto_sched_next {
	int64_t		 now;		/* the server's clock */
	uint32_t	 poll_s;	/* 0: the client's QUERYSCHEDPERIOD */
	uint8_t		 randomize;	/* percent */
	uint8_t		 has;		/* 1: a window follows */
	const char	*domain, *schedule, *action, *objects, *options;
	size_t		 domain_len, schedule_len, action_len, objects_len,
			 options_len;
	int64_t		 start, end;
};

struct proto_sched_report {
	const char	*domain, *schedule, *message;
	size_t		 domain_len, schedule_len, message_len;
	int64_t		 start;
	uint8_t		 phase;		/* PROTO_SCHED_STARTED / _ENDED */
	uint8_t		 rc;
};

void proto_put_sched_next(struct wire_buf *b,
    const struct proto_sched_next *n);
/* Bounded as PROTO_SCHED_*_MAX; end after start; whole payload. */
int proto_get_sched_next(struct wire_rd *r, struct proto_sched_next *n,
    struct err *e);
void proto_put_sched_report(struct wire_buf *b,
    const struct proto_sched_report *p);
/* Names 1..64 bytes, a known phase, rc <= 12; whole payload. */
int proto_get_sched_report(struct wire_rd *r, struct proto_sched_report *p,
    struct err *e);

/* The name of one PROTO_FEAT_* bit for messages ("TXN_STAGE"). */
const char *proto_feature_name(uint64_t bit);

/* Name of a frame type for messages ("CHUNK_PUT"); never NULL. */
const char *proto_type_name(uint16_t type);

#endif
