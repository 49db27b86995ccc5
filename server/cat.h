/*
 * cat.h - the server catalog (SQLite): identity, admins, nodes, policy
 * domains, filespaces, object versions, device classes and sequential
 * volumes, and the activity log.
 *
 * One database per server (DIR/catalog.db), WAL, synchronous=FULL; the
 * container pool's chunk index lives in the same file so that object rows
 * and chunk references commit in one transaction (pool_txn_commit's
 * callback).  A struct cat is one connection with its prepared statements;
 * it belongs to one thread at a time.  cat_attach() wraps a connection
 * owned by someone else (the pool's), used only inside pool callbacks.
 *
 * Names of nodes, admins and domains are stored upper-case, as TSM does:
 * lookups are case-insensitive because callers upper-case first
 * (cat_name_normalize).
 *
 * Paths: an object's path is stored as given ("/home/a/b") and with a sort
 * key, pkey, where every '/' is replaced by a 0x00 byte.  Ordering by pkey
 * (memcmp) is the order of a depth-first walk whose siblings are sorted by
 * name, which is how the client walks: so the client can merge its walk
 * with the server's inventory in one pass (see cat_pkey()).
 *
 * Walks (the *_list, _query, _inventory and _get functions) call cb once
 * per row; the pointers in what cb gets are valid during that call only.
 * A non-zero return from cb stops the walk, which returns that value.  cb
 * may call other catalog functions on the same struct cat, but not the
 * walk it is called from (COFFER_EBUSY).
 */
#ifndef COFFER_CAT_H
#define COFFER_CAT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct sqlite3;
struct cat;
struct pool;

#define CAT_NAME_MAX	64
#define CAT_PATH_MAX	4096
#define CAT_HASH_MAX	256	/* encoded password hash */
#define CAT_NOLIMIT	(-1)	/* policy value NOLIMIT */

/* Object types (stored; pinned). */
#define CAT_OBJ_FILE	1
#define CAT_OBJ_DIR	2
#define CAT_OBJ_SYMLINK	3
#define CAT_OBJ_HARDLINK 4	/* link to another path of the same backup */
#define CAT_OBJ_VMCONF	5
#define CAT_OBJ_VMDISK	6

/* Object states (stored; pinned). */
#define CAT_INACTIVE	0
#define CAT_ACTIVE	1

int cat_open(const char *path, struct cat **out, struct err *e);
/* Wrap an open connection (not closed by cat_close); makes the schema. */
int cat_attach(struct sqlite3 *db, struct cat **out, struct err *e);
void cat_close(struct cat *c);		/* accepts NULL */
struct sqlite3 *cat_db(struct cat *c);

/* Create every table if missing (idempotent). */
int cat_schema(struct cat *c, struct err *e);

int cat_begin(struct cat *c, struct err *e);	/* BEGIN IMMEDIATE */
int cat_commit(struct cat *c, struct err *e);
void cat_rollback(struct cat *c);

/* Upper-case and validate a node/admin/domain name: 1..64 of [A-Z0-9._-]. */
int cat_name_normalize(const char *in, char out[CAT_NAME_MAX + 1],
    struct err *e);
/* pkey of path into out (same length as path); see above. */
void cat_pkey(const char *path, size_t len, uint8_t *out);

/* Server settings: name, invalidpwlimit, ... */
int cat_setting_get(struct cat *c, const char *key, char *buf, size_t len,
    struct err *e);
int cat_setting_set(struct cat *c, const char *key, const char *val,
    struct err *e);
/* Integer setting with a default when missing. */
int64_t cat_setting_int(struct cat *c, const char *key, int64_t dflt);

/* ---- policy domains ---- */
struct cat_domain {
	char	name[CAT_NAME_MAX + 1];
	int	verexists;	/* CAT_NOLIMIT or >= 1 */
	int	verdeleted;	/* CAT_NOLIMIT or >= 0 */
	int	retextra;	/* days; CAT_NOLIMIT or >= 0 */
	int	retonly;	/* days; CAT_NOLIMIT or >= 0 */
	char	description[256];
	/* The copy group's DESTINATION: a storage pool; "" the default. */
	char	destination[CAT_NAME_MAX + 1];
};
int cat_domain_define(struct cat *c, const struct cat_domain *d,
    struct err *e);			/* EEXIST if present */
int cat_domain_update(struct cat *c, const struct cat_domain *d,
    struct err *e);			/* ENOTFOUND if absent */
int cat_domain_get(struct cat *c, const char *name, struct cat_domain *d,
    struct err *e);
typedef int (*cat_domain_cb)(void *arg, const struct cat_domain *d);
int cat_domain_list(struct cat *c, cat_domain_cb cb, void *arg,
    struct err *e);

/* ---- storage pools (DEFINE STGPOOL STGTYPE=CLOUD) ---- */
/*
 * A cloud storage pool: a store of the server's container pool
 * (pool_attach_store) whose containers are objects in an S3 bucket.  The
 * default directory pool CONTAINERPOOL has no row.  secret is the S3
 * secret key sealed by secret_seal() (AES-256-GCM under the instance's
 * master key), never the key itself.
 */
#define CAT_STGPOOL_SECRET_MAX	512
struct cat_stgpool {
	char	name[CAT_NAME_MAX + 1];
	int	store;		/* 1..POOL_STORES_MAX-1 */
	char	url[320];
	char	bucket[64];
	char	identity[256];
	uint8_t	secret[CAT_STGPOOL_SECRET_MAX];
	size_t	secret_len;
	char	cafile[1024];
	int64_t	created;
};
/* EEXIST when the name or the store is taken. */
int cat_stgpool_define(struct cat *c, const struct cat_stgpool *p,
    struct err *e);
int cat_stgpool_get(struct cat *c, const char *name, struct cat_stgpool *p,
    struct err *e);			/* ENOTFOUND if absent */
/* URL, identity, secret and CA file of p->name; ENOTFOUND if absent. */
int cat_stgpool_update(struct cat *c, const struct cat_stgpool *p,
    struct err *e);
/* EBUSY when absent or a domain's DESTINATION names it. */
int cat_stgpool_delete(struct cat *c, const char *name, struct err *e);
/* All cloud pools in name order; *v is malloc'd. */
int cat_stgpool_array(struct cat *c, struct cat_stgpool **v, size_t *n,
    struct err *e);

/* ---- admins and nodes (both authenticate) ---- */
#define CAT_KIND_NODE	1
#define CAT_KIND_ADMIN	2

struct cat_account {
	int	kind;
	char	name[CAT_NAME_MAX + 1];
	char	pwhash[CAT_HASH_MAX];
	int	locked;
	int	failed;		/* consecutive failed logons */
	int64_t	registered;	/* unix seconds */
	int64_t	last_logon;
	/* nodes only */
	char	domain[CAT_NAME_MAX + 1];
	char	contact[256];
	int64_t	rpo_s;		/* 0: none */
	int	repl_state;	/* 0 disabled, 1 enabled */
	int	repl_mode;	/* CAT_REPLMODE_* */
	int64_t	last_backup;	/* end of last successful backup, 0: never */
	int64_t	last_repl;	/* start of last successful replication */
	/*
	 * The last_backup that the last successful replication carried to
	 * the replication server: the newest copy at the hot site, as this
	 * server knows it (0: none).  Replication copies what was committed
	 * when it started, so a backup that ends during or after it is not
	 * in it.
	 */
	int64_t	repl_backup;
};
/* Replication modes of a node (stored; pinned). */
#define CAT_REPLMODE_SEND	0
#define CAT_REPLMODE_RECEIVE	1
#define CAT_REPLMODE_SYNCSEND	2
#define CAT_REPLMODE_SYNCRECEIVE 3
/* 1 when a node in mode m is a replication target: read-only for itself. */
#define CAT_REPLMODE_IS_TARGET(m) \
	((m) == CAT_REPLMODE_RECEIVE || (m) == CAT_REPLMODE_SYNCRECEIVE)
int cat_account_add(struct cat *c, const struct cat_account *a,
    struct err *e);			/* EEXIST if present */
int cat_account_get(struct cat *c, int kind, const char *name,
    struct cat_account *a, struct err *e);	/* ENOTFOUND */
/* Update everything but name and kind. */
int cat_account_update(struct cat *c, const struct cat_account *a,
    struct err *e);
/* Removes a node only if it has no filespaces (EBUSY otherwise). */
int cat_account_remove(struct cat *c, int kind, const char *name,
    struct err *e);
typedef int (*cat_account_cb)(void *arg, const struct cat_account *a);
/* pattern: NULL or "*" for all, else TSM-style with '*' wildcards. */
int cat_account_list(struct cat *c, int kind, const char *pattern,
    cat_account_cb cb, void *arg, struct err *e);
/*
 * The same into a malloc'd array (*out, *n; free(*out)), for callers that
 * call the catalog again for each account (not allowed inside a walk).
 */
int cat_account_array(struct cat *c, int kind, const char *pattern,
    struct cat_account **out, size_t *n, struct err *e);
/*
 * Record a logon attempt: success resets the failure count and sets
 * last_logon; failure counts, and locks the account when the count
 * reaches limit (limit <= 0: never).  *locked tells the state after.
 * A success on a locked account changes nothing and is COFFER_ELOCKED.
 */
int cat_account_logon(struct cat *c, int kind, const char *name, int ok,
    int limit, int *locked, struct err *e);
/*
 * Replication target: create node a->name, or update it when it exists,
 * with a's password hash, domain, contact, rpo_s and repl_mode.  Nothing
 * else of an existing node changes (locked, failed, logon and backup
 * times stay); a new one gets a->registered, or now when that is 0.  The
 * domain is not checked against the domains defined here.
 */
int cat_node_copy(struct cat *c, const struct cat_account *a,
    struct err *e);

/* ---- filespaces ---- */
struct cat_fs {
	uint64_t	id;
	char		node[CAT_NAME_MAX + 1];
	char		name[CAT_PATH_MAX];
	char		type[32];	/* "ext4", "VM", ... */
	int64_t		created;
	int64_t		last_backup_start;
	int64_t		last_backup_end;	/* last successful backup */
	uint64_t	objects;	/* active + inactive versions */
	uint64_t	bytes;		/* sum of their sizes */
	int		drprotect;	/* 1: restored by a DR run */
	uint32_t	drpriority;	/* 0: none set; 1 is restored first */
	int		replrule;	/* CAT_REPLRULE_* */
};
#define CAT_DRPRIORITY_MAX	9999
/* Replication rules of a filespace (stored; pinned). */
#define CAT_REPLRULE_ALL	0	/* every version (the default) */
#define CAT_REPLRULE_ACTIVE	1	/* active versions only */
#define CAT_REPLRULE_NONE	2	/* not replicated */
/* Find or create node's filespace name; *id gets its id. */
int cat_fs_open(struct cat *c, const char *node, const char *name,
    const char *type, uint64_t *id, struct err *e);
int cat_fs_get(struct cat *c, const char *node, const char *name,
    struct cat_fs *fs, struct err *e);		/* ENOTFOUND */
int cat_fs_get_id(struct cat *c, uint64_t id, struct cat_fs *fs,
    struct err *e);
/* A time <= 0 leaves that one as it is (start at start, end at end). */
int cat_fs_set_backup(struct cat *c, uint64_t id, int64_t start,
    int64_t end, struct err *e);
/*
 * Set the DR flag and priority (TSM-style UPDATE FILESPACE ... DRPROTECT=
 * DRPRIORITY=).  drpriority above CAT_DRPRIORITY_MAX is COFFER_EINVAL, an
 * unknown id COFFER_ENOTFOUND.
 */
int cat_fs_set_dr(struct cat *c, uint64_t id, int drprotect,
    uint32_t drpriority, struct err *e);
/* Set the replication rule: CAT_REPLRULE_*, else COFFER_EINVAL. */
int cat_fs_set_replrule(struct cat *c, uint64_t id, int rule, struct err *e);
typedef int (*cat_fs_cb)(void *arg, const struct cat_fs *fs);
/* node NULL: all nodes. */
int cat_fs_list(struct cat *c, const char *node, cat_fs_cb cb, void *arg,
    struct err *e);
/* cat_fs_list into a malloc'd array (*out, *n; free(*out)). */
int cat_fs_array(struct cat *c, const char *node, struct cat_fs **out,
    size_t *n, struct err *e);

/* ---- peer servers (replication) ---- */
#define CAT_SERVER_KEY_LEN	32

/*
 * A server this one replicates to or from (TSM: DEFINE SERVER).  key is
 * passwd_server_key() of the server password and the two server names:
 * the password itself is never stored.
 */
struct cat_server {
	char	 name[CAT_NAME_MAX + 1];	/* upper-cased like nodes */
	char	 hladdress[256];
	int	 lladdress;			/* port, 1..65535 */
	char	 cafile[PATH_MAX];	/* PEM the peer's certificate must
					   chain to; "": none (refused) */
	uint8_t	 key[CAT_SERVER_KEY_LEN];
	char	 description[256];
	int64_t	 defined;			/* unix seconds */
};
int cat_server_add(struct cat *c, const struct cat_server *s,
    struct err *e);			/* EEXIST if present */
int cat_server_get(struct cat *c, const char *name, struct cat_server *s,
    struct err *e);			/* ENOTFOUND */
/* Update everything but name and defined; ENOTFOUND if absent. */
int cat_server_update(struct cat *c, const struct cat_server *s,
    struct err *e);
int cat_server_delete(struct cat *c, const char *name, struct err *e);
/* In name order. */
int cat_server_list(struct cat *c,
    int (*cb)(void *, const struct cat_server *), void *arg, struct err *e);

/* ---- replication bookkeeping, per node, filespace and target ---- */
struct cat_repl {
	char		node[CAT_NAME_MAX + 1];
	uint64_t	fs_id;		/* the source's filespace id */
	char		fs_name[CAT_PATH_MAX];
	char		target[CAT_NAME_MAX + 1];
	int64_t		last_start;
	int64_t		last_end;	/* end of the last successful run */
	uint64_t	objects, bytes;	/* sent by the last run */
	char		status[64];	/* free text: "completed", "failed" */
};
/* Insert or replace the row of (node, fs_id, target). */
int cat_repl_set(struct cat *c, const struct cat_repl *r, struct err *e);
/* node NULL: all nodes.  In node, fs_id, target order. */
int cat_repl_list(struct cat *c, const char *node,
    int (*cb)(void *, const struct cat_repl *), void *arg, struct err *e);

/* ---- object versions ---- */
struct cat_obj {
	uint64_t	 id;
	uint8_t		 uuid[16];	/* assigned once, travels unchanged */
	uint64_t	 fs_id;
	const char	*path;		/* NUL-terminated */
	int		 type;		/* CAT_OBJ_* */
	int		 state;		/* CAT_ACTIVE / CAT_INACTIVE */
	int64_t		 inserted;	/* unix seconds */
	int64_t		 deactivated;	/* 0 while active */
	uint64_t	 size;
	uint32_t	 mode;		/* st_mode, type bits included */
	uint32_t	 uid, gid;
	int64_t		 mtime_ns, ctime_ns;
	const char	*link;		/* symlink/hardlink target or NULL */
	const uint8_t	*recipe;	/* pool_recipe BLOB, may be NULL */
	size_t		 recipe_len;
};
typedef int (*cat_obj_cb)(void *arg, const struct cat_obj *o);

/*
 * Store a new version of o->path as the active one: the previous active
 * version (if any) becomes inactive at o->inserted.  o->uuid is used if
 * not all zero (import, replication), else a random one is made and
 * copied back.  Chunk references are the caller's (pool txn).  Runs in
 * the caller's transaction (the pool_txn_commit callback) and neither
 * begins nor commits one; called outside one, it makes its own.  The
 * same uuid twice is COFFER_EEXIST; an unknown fs_id COFFER_ENOTFOUND.
 */
int cat_obj_insert(struct cat *c, struct cat_obj *o, struct err *e);
/* Metadata-only change of the active version (mode, owner, ctime). */
int cat_obj_update_meta(struct cat *c, uint64_t fs_id, const char *path,
    uint32_t mode, uint32_t uid, uint32_t gid, int64_t ctime_ns,
    struct err *e);
/* The file is gone from the client: its active version becomes inactive. */
int cat_obj_deactivate(struct cat *c, uint64_t fs_id, const char *path,
    int64_t when, struct err *e);
/*
 * Active versions of a filespace in pkey order, starting after the path
 * after (NULL or "" for the start), at most limit rows; *more = 1 when
 * rows remain (limit <= 0: no limit).  Recipes are not loaded (recipe
 * NULL).
 */
int cat_obj_inventory(struct cat *c, uint64_t fs_id, const char *after,
    int limit, cat_obj_cb cb, void *arg, int *more, struct err *e);
/*
 * Versions for restore or query: under prefix (a path; "" for all; the
 * path itself and everything below it), in pkey order after 'after'.
 * pit > 0: for each path the version that was active at time pit
 * (inserted <= pit and (active or deactivated > pit)); else active only,
 * or with inactive = 1 every version (newest first per path).  Recipes
 * are loaded.  Pages as for cat_obj_inventory, except that a page never
 * splits the versions of one path: it can exceed limit by those.
 */
int cat_obj_query(struct cat *c, uint64_t fs_id, const char *prefix,
    int64_t pit, int inactive, const char *after, int limit, cat_obj_cb cb,
    void *arg, int *more, struct err *e);

/*
 * One version by object id, recipe loaded; cb is called once when it
 * exists (nothing is called when it does not).
 */
int cat_obj_get(struct cat *c, uint64_t id, cat_obj_cb cb, void *arg,
    struct err *e);

/*
 * By object UUID (replication, import).  A copy keeps the original's
 * uuid, state, insert and deactivation times; an active copy makes what
 * is active at its path inactive at its insert time, as the original did.
 * Same uuid twice: COFFER_EEXIST.
 */
int cat_obj_insert_copy(struct cat *c, struct cat_obj *o, struct err *e);
/*
 * A filespace's versions in uuid order after after (NULL: from the
 * start), at most limit (<= 0: all), recipes loaded; active_only skips
 * inactive ones.  *more as for cat_obj_inventory.
 */
int cat_obj_uuid_walk(struct cat *c, uint64_t fs_id, const uint8_t *after,
    int limit, int active_only, cat_obj_cb cb, void *arg, int *more,
    struct err *e);
/*
 * SHA-256 over (uuid, state, deactivated as u64 LE) of every version in
 * uuid order (active ones only with active_only), and their count: two
 * servers with the same digest hold the same versions in the same states.
 */
int cat_obj_digest(struct cat *c, uint64_t fs_id, int active_only,
    uint8_t digest[32], uint64_t *count, struct err *e);
/*
 * Where a filespace's versions split into parts uuid ranges of about
 * equal weight, a version weighing its size plus per_row: the last uuid
 * of each range but the last, at most max of them (fewer when a large
 * version covers several shares) into marks, *n how many; weights (may be
 * NULL, room for max + 1) gets each of the *n + 1 ranges' weight.  For
 * REPLICATE NODE MAXSESSIONS, whose sessions take a range each.
 */
int cat_obj_uuid_marks(struct cat *c, uint64_t fs_id, int active_only,
    uint64_t per_row, uint64_t parts, uint8_t (*marks)[16],
    uint64_t *weights, size_t max, size_t *n, struct err *e);
/* One version by uuid (recipe loaded); COFFER_ENOTFOUND. */
int cat_obj_get_uuid(struct cat *c, uint64_t fs_id, const uint8_t uuid[16],
    cat_obj_cb cb, void *arg, struct err *e);
/* Remove a version row (its chunks are the caller's); ENOTFOUND. */
/*
 * Staged objects (object_stage): a version committed in parts.  Put one
 * (inside the caller's pool transaction, whose chunk references it
 * holds); publish tag's as new active versions inserted at now, in the
 * order they were staged (*n: how many), and forget them; drop tag's (0:
 * every tag) after calling release for each, which gives its chunk
 * references back (o carries path, fs_id and recipe).
 */
int cat_stage_put(struct cat *c, uint64_t tag, const struct cat_obj *o,
    struct err *e);
int cat_stage_publish(struct cat *c, uint64_t tag, int64_t now, uint32_t *n,
    struct err *e);
int cat_stage_drop(struct cat *c, uint64_t tag, cat_obj_cb release,
    void *arg, uint32_t *n, struct err *e);

int cat_obj_delete_uuid(struct cat *c, uint64_t fs_id,
    const uint8_t uuid[16], struct err *e);
/* Set a version's state and deactivation time; ENOTFOUND. */
int cat_obj_set_state(struct cat *c, uint64_t fs_id, const uint8_t uuid[16],
    int state, int64_t deactivated, struct err *e);

/* ---- expiration (policy) ---- */
struct cat_expire_report {
	uint64_t	examined;	/* versions looked at */
	uint64_t	deleted;	/* versions removed */
	uint64_t	bytes;		/* their sizes */
};
/*
 * EXPIRE INVENTORY: remove every version the node's domain no longer
 * keeps (see policy.h) as of now, releasing its chunks in the pool.  Runs
 * inside pool_exec (db is the pool's connection; c = cat_attach of it);
 * outside a transaction it is COFFER_EINVAL.  A node with no domain, or
 * one not defined, gets STANDARD's copy group (2, 1, 30, 60).  pool may
 * be NULL only when no expired version has a recipe.
 */
int cat_expire(struct cat *c, struct pool *pool, int64_t now,
    struct cat_expire_report *rep, struct err *e);

/*
 * Where a batched expiration stands: the filespace it is in and the key
 * its next path starts at; done once every filespace was walked.
 */
struct cat_expire_cursor {
	uint64_t	fs_id;
	uint8_t		key[CAT_PATH_MAX + 1];
	size_t		keylen;
	int		done;
};
void cat_expire_cursor_init(struct cat_expire_cursor *cur);
/*
 * One batch of cat_expire: whole paths from cur on, until at least budget
 * versions were examined (a path is never split, so a batch can examine
 * more), the transaction's dirty pages overflowed the page cache, or the
 * catalog ends (cur->done).  Adds its counts to rep and moves
 * cur past what it did; the same rules as cat_expire otherwise (inside a
 * transaction, which should be the batch's own: committing it makes the
 * batch durable, and a batch rolled back leaves cur to be discarded).
 * Running the batches to done is one cat_expire as of now; a path that
 * changes between two batches is decided as it is when its batch comes.
 */
int cat_expire_batch(struct cat *c, struct pool *pool, int64_t now,
    size_t budget, struct cat_expire_cursor *cur,
    struct cat_expire_report *rep, struct err *e);

/* ---- device classes and sequential volumes (cat_vol.c) ---- */

/*
 * A device class (TSM: DEFINE DEVCLASS ... DEVTYPE=FILE): where the
 * volumes of exports and database backups are written and how large one
 * may grow.  Names are normalized like node names.
 */
struct cat_devclass {
	char		name[CAT_NAME_MAX + 1];
	char		devtype[16];		/* "FILE" */
	char		directory[PATH_MAX];
	uint64_t	maxcap;			/* bytes */
	int64_t		defined;		/* unix seconds; 0: now */
};
int cat_devclass_add(struct cat *c, const struct cat_devclass *d,
    struct err *e);			/* EEXIST if present */
int cat_devclass_get(struct cat *c, const char *name,
    struct cat_devclass *d, struct err *e);	/* ENOTFOUND */
/* Update devtype, directory and maxcap; ENOTFOUND if absent. */
int cat_devclass_update(struct cat *c, const struct cat_devclass *d,
    struct err *e);
/* ENOTFOUND if absent; EBUSY while a volume names it. */
int cat_devclass_delete(struct cat *c, const char *name, struct err *e);
/* In name order. */
int cat_devclass_list(struct cat *c,
    int (*cb)(void *, const struct cat_devclass *), void *arg,
    struct err *e);
/* Volumes that name devclass name (for QUERY DEVCLASS). */
int cat_devclass_volumes(struct cat *c, const char *name, uint64_t *count,
    struct err *e);

/* Volume kinds (stored; pinned; the same numbers as VOL_KIND_*). */
#define CAT_VOL_EXPORT		1
#define CAT_VOL_DBBACKUP	2

/*
 * DRM media states, TSM's (stored; pinned: never renumber).  drm.h draws
 * the moves between them and checks them; the catalog only stores.
 */
enum {
	CAT_DRM_MOUNTABLE,	/* onsite, usable */
	CAT_DRM_NOTMOUNTABLE,	/* onsite, not in the library */
	CAT_DRM_COURIER,	/* in transit to the vault */
	CAT_DRM_VAULT,		/* at the vault */
	CAT_DRM_VAULTRETRIEVE,	/* at the vault, data no longer needed */
	CAT_DRM_COURIERRETRIEVE, /* in transit back */
	CAT_DRM_ONSITERETRIEVE	/* back onsite */
};
#define CAT_DRM_NSTATES		7

/*
 * A sequential volume of an export or a database backup: the volume
 * history and the DRM media list in one row.  Volume names (serials) are
 * unique and looked up case-insensitively.
 */
struct cat_volume {
	char		name[65];		/* serial */
	char		path[PATH_MAX];
	char		devclass[CAT_NAME_MAX + 1];
	int		kind;			/* CAT_VOL_* */
	uint8_t		set_uuid[16];
	uint32_t	seq;			/* 1.. within the set */
	int		state;			/* CAT_DRM_* */
	char		location[256];
	int64_t		created, state_changed;	/* unix seconds; 0: now */
	uint64_t	bytes;
	char		node[CAT_NAME_MAX + 1];	/* export: node pattern or "" */
};
int cat_volume_add(struct cat *c, const struct cat_volume *v,
    struct err *e);			/* EEXIST if present */
int cat_volume_get(struct cat *c, const char *name, struct cat_volume *v,
    struct err *e);			/* ENOTFOUND */
/* Update everything but the name; ENOTFOUND if absent. */
int cat_volume_update(struct cat *c, const struct cat_volume *v,
    struct err *e);
/*
 * kind 0: every volume, else that CAT_VOL_* kind only; oldest first,
 * a set's volumes in sequence order.
 */
int cat_volume_list(struct cat *c, int kind,
    int (*cb)(void *, const struct cat_volume *), void *arg, struct err *e);
/* Forget a volume (its set was abandoned); ENOTFOUND. */
int cat_volume_delete(struct cat *c, const char *name, struct err *e);
int cat_volume_set_bytes(struct cat *c, const char *name, uint64_t bytes,
    struct err *e);			/* ENOTFOUND */
/*
 * One more than the highest "Cnnnnn" serial in the volume history (1 if
 * none): serials are unique per server, not per device class directory.
 */
int cat_volume_next_serial(struct cat *c, uint32_t *next, struct err *e);

/* ---- activity log ---- */
#define CAT_SEV_INFO	'I'
#define CAT_SEV_WARN	'W'
#define CAT_SEV_ERROR	'E'
int cat_actlog(struct cat *c, char severity, int msgno, const char *node,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct cat_actlog_row {
	int64_t		 time;
	char		 severity;
	int		 msgno;
	const char	*node;
	const char	*message;
};
typedef int (*cat_actlog_cb)(void *arg, const struct cat_actlog_row *r);
/* Rows with time >= since, oldest first; search: substring or NULL. */
int cat_actlog_query(struct cat *c, int64_t since, const char *search,
    cat_actlog_cb cb, void *arg, struct err *e);

/* ---- occupancy ---- */
struct cat_occupancy {
	char		node[CAT_NAME_MAX + 1];
	char		fs[CAT_PATH_MAX];
	uint64_t	objects;
	uint64_t	logical_bytes;
};
typedef int (*cat_occ_cb)(void *arg, const struct cat_occupancy *o);
int cat_occupancy(struct cat *c, const char *node, cat_occ_cb cb, void *arg,
    struct err *e);

/* ---- schedules, associations and events (cat_sched.c) ---- */

/* Schedule types (stored; pinned). */
#define CAT_SCHED_CLIENT	1
#define CAT_SCHED_ADMIN		2

#define CAT_SCHED_ACTION_MAX	31
#define CAT_SCHED_OBJECTS_MAX	2048
#define CAT_SCHED_OPTIONS_MAX	512
#define CAT_SCHED_CMD_MAX	4096
#define CAT_EVENT_MSG_MAX	1024

/*
 * A schedule (TSM: DEFINE SCHEDULE).  Client schedules belong to a policy
 * domain; administrative ones have domain "".  Names are normalized like
 * node names.  first_start, duration_s, period_s and dayofweek are the
 * window arithmetic's struct sched_spec (sched_win.h).
 */
struct cat_sched {
	char		domain[CAT_NAME_MAX + 1];	/* "" for admin */
	char		name[CAT_NAME_MAX + 1];
	int		type;			/* CAT_SCHED_* */
	char		action[CAT_SCHED_ACTION_MAX + 1];	/* "INCREMENTAL" */
	char		objects[CAT_SCHED_OBJECTS_MAX + 1];
	char		options[CAT_SCHED_OPTIONS_MAX + 1];
	char		cmd[CAT_SCHED_CMD_MAX + 1];	/* admin schedules */
	int64_t		first_start;		/* unix seconds */
	int64_t		duration_s;
	int64_t		period_s;		/* 0: onetime */
	unsigned	dayofweek;		/* SCHED_DOW_* mask */
	int		active;
	char		description[256];
	char		owner[CAT_NAME_MAX + 1];	/* defined/updated by */
	int64_t		updated;
};
int cat_sched_add(struct cat *c, const struct cat_sched *s,
    struct err *e);			/* EEXIST if present */
int cat_sched_get(struct cat *c, const char *domain, const char *name,
    struct cat_sched *s, struct err *e);	/* ENOTFOUND */
/* Everything but domain and name; ENOTFOUND if absent. */
int cat_sched_update(struct cat *c, const struct cat_sched *s,
    struct err *e);
/*
 * Delete a schedule and its associations (TSM does both); its events
 * stay, so that QUERY EVENT still shows what ran.  ENOTFOUND.
 */
int cat_sched_delete(struct cat *c, const char *domain, const char *name,
    struct err *e);
/* type 0: all; in domain, name order. */
int cat_sched_list(struct cat *c, int type,
    int (*cb)(void *, const struct cat_sched *), void *arg, struct err *e);
/* cat_sched_list into a malloc'd array (*out, *n; free(*out)). */
int cat_sched_array(struct cat *c, int type, struct cat_sched **out,
    size_t *n, struct err *e);

/* A node associated with a client schedule (DEFINE ASSOCIATION). */
struct cat_assoc {
	char	domain[CAT_NAME_MAX + 1];
	char	schedule[CAT_NAME_MAX + 1];
	char	node[CAT_NAME_MAX + 1];
};
int cat_assoc_add(struct cat *c, const struct cat_assoc *a,
    struct err *e);			/* EEXIST if present */
int cat_assoc_delete(struct cat *c, const struct cat_assoc *a,
    struct err *e);			/* ENOTFOUND */
/*
 * Associations into a malloc'd array (*out, *n; free(*out)); each of
 * domain, schedule and node NULL matches all, else exactly (normalized).
 */
int cat_assoc_array(struct cat *c, const char *domain, const char *schedule,
    const char *node, struct cat_assoc **out, size_t *n, struct err *e);

/*
 * What happened in one window of a schedule for one node (node "" for an
 * administrative schedule).  status is SCHED_ST_STARTED, _COMPLETED or
 * _FAILED (sched_win.h, pinned); rc -1 while none was reported.
 */
struct cat_event {
	char	domain[CAT_NAME_MAX + 1];
	char	schedule[CAT_NAME_MAX + 1];
	char	node[CAT_NAME_MAX + 1];
	int64_t	window_start;
	int64_t	actual_start;		/* 0: not started */
	int64_t	completed;		/* 0: not ended */
	int	status;
	int	rc;
	char	message[CAT_EVENT_MSG_MAX + 1];
};
/* Insert or replace the event of (domain, schedule, node, window). */
int cat_event_put(struct cat *c, const struct cat_event *ev, struct err *e);
int cat_event_get(struct cat *c, const char *domain, const char *schedule,
    const char *node, int64_t window_start, struct cat_event *ev,
    struct err *e);			/* ENOTFOUND */
/*
 * Events of a schedule with window_start in [from, to) into a malloc'd
 * array (*out, *n; free(*out)), in window, node order.
 */
int cat_event_array(struct cat *c, const char *domain, const char *schedule,
    int64_t from, int64_t to, struct cat_event **out, size_t *n,
    struct err *e);
/* ---- RPO misses and restore throughput (cat_rpo.c) ---- */

/*
 * A node that misses its RPO has a row with the time the miss was first
 * seen, so that the periodic check (rpo_check.c) warns once per miss and
 * says once that it is met again.  *since gets 0 when there is no row.
 */
int cat_rpo_miss_get(struct cat *c, const char *node, int64_t *since,
    struct err *e);
/* since > 0: record the miss (kept if one is there); 0: clear it. */
int cat_rpo_miss_set(struct cat *c, const char *node, int64_t since,
    struct err *e);
/* Forget the misses of nodes that are no longer registered. */
int cat_rpo_miss_prune(struct cat *c, struct err *e);

/* Restores measured by node sessions; the newest CAT_RESTORE_KEEP kept. */
#define CAT_RESTORE_KEEP	100
int cat_restore_add(struct cat *c, int64_t when, const char *node,
    uint64_t bytes, double seconds, struct err *e);
/*
 * Totals over the kept restores: bytes moved, seconds spent and how many
 * restores (all 0 when none was measured).
 */
int cat_restore_rate(struct cat *c, uint64_t *bytes, double *seconds,
    uint64_t *runs, struct err *e);

#endif
