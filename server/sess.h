/*
 * sess.h - one client connection on a worker.
 *
 *   HELLO --HELLO ok--> AUTH --AUTH ok--> READY --BYE/error--> CLOSING
 *                        |                 ^
 *                 server |                 | proof ok
 *                        +--AUTH_CHAL--> PROOF
 *
 * In HELLO and AUTH only those frames are accepted, each at most
 * SRV_PREAUTH_FRAME_MAX bytes; a peer server (AUTH kind 3) is sent a
 * challenge and must answer it with AUTH_PROOF (proto.h); in READY the
 * frames of the session's kind (node, admin or server).  A malformed
 * frame gets an ERROR naming the problem and the session closes once the
 * ERROR is flushed: nothing a peer sends can crash the server.
 */
#ifndef COFFER_SESS_H
#define COFFER_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "cat.h"
#include "proto.h"
#include "wire.h"

struct pool_chunk;
struct srv;
struct sess_verify_item;

enum sess_state {
	SESS_HELLO,	/* waiting for HELLO */
	SESS_AUTH,	/* waiting for AUTH */
	SESS_PROOF,	/* a peer server: waiting for AUTH_PROOF */
	SESS_READY,	/* authenticated */
	SESS_CLOSING,	/* flushing the last frames, then freed */
};

struct bufferevent;
struct srv_worker;
struct pool_txn;

/* An object change waiting for its transaction's commit. */
struct sess_pend {
	int			 op;	/* PT_OBJ_PUT, PT_OBJ_META, PT_OBJ_GONE */
	uint64_t		 fs;
	struct cat_obj		 obj;	/* path, link, recipe owned here */
	struct sess_pend	*next;
};

struct sess_failure {
	char	path[512];
	char	reason[256];
};

struct sess {
	struct srv_worker	*w;
	struct bufferevent	*bev;
	struct sess		*next;
	uint64_t		 id;
	char			 peer[64];
	enum sess_state		 state;
	int			 kind;		/* PROTO_KIND_* */
	uint64_t		 features;	/* PROTO_FEAT_* of HELLO_OK */
	char			 name[CAT_NAME_MAX + 1];
	char			 repl_node[CAT_NAME_MAX + 1];	/* server
						   sessions: the node being
						   replicated */
	int64_t			 started;
	int			 paused;	/* reading stopped: output full */
	uint64_t		 bytes_in, bytes_out;
	uint64_t		 lingered;	/* discarded while closing */
	int64_t			 linger_until;	/* closing: free by then */
	struct wire_buf		 out;		/* reply being built */

	/* The open backup transaction, created by the first write. */
	struct pool_txn		*txn;
	struct sess_pend	*pend, **pend_tail;
	size_t			 npend, pend_bytes;
	uint64_t		 txn_bytes;
	struct sess_failure	 failed[PROTO_FAILED_MAX];
	uint32_t		 nfailed;
	uint64_t		 owned_fs[16];	/* filespaces checked as ours */
	int			 nowned;
	int64_t			 backup_start;
	uint64_t		 backup_objects;	/* since the last final */
	/* An all-or-nothing version committed in parts (PROTO_TXN_STAGE). */
	uint64_t		 stage_tag;	/* 0: none staged */
	uint64_t		 stage_fs;
	int			 stage_failed;	/* a part failed: the rest must */
	/* Not a replication target as of this transaction's first write. */
	int			 not_target;

	/*
	 * Restore throughput (sess_node.c): bytes served by CHUNK_GET and
	 * the monotonic times of the first and the last such request.
	 */
	uint64_t		 restore_bytes;
	double			 restore_t0, restore_t1;

	/*
	 * CHUNK_PUT frames at the front of the input, verified ahead as one
	 * batch (sess_verify.h): pre[pre_i..pre_n) are the results for the
	 * next CHUNK_PUT frames in order; their bytes are copies in pre_buf.
	 */
	struct sess_verify_item	*pre;
	size_t			 pre_i, pre_n;
	uint8_t			*pre_buf;

	/* A peer server between AUTH and AUTH_PROOF; wiped after. */
	uint8_t			 peer_key[CAT_SERVER_KEY_LEN];
	uint8_t			 peer_cn[PROTO_NONCE_LEN];
	uint8_t			 peer_sn[PROTO_NONCE_LEN];
};

/*
 * The result verified ahead for the CHUNK_PUT being dispatched, if its
 * frame was part of a batch: 1 with *rc (and e set when it failed), 0
 * when the chunk must be verified here.
 */
int sess_pre_verified(struct sess *s, const struct pool_chunk *c, int *rc,
    struct err *e);

/* Send a reply frame built in s->out. */
void sess_reply(struct sess *s, uint16_t type);
/* Send ERROR (code, rc, message); close after it when fatal. */
void sess_error(struct sess *s, int code, int rc, int fatal,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Frame handlers by session kind (sess_node.c, sess_admin.c). */
int sess_node_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e);
int sess_admin_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e);
/*
 * Frames of a peer server's session (kind PROTO_KIND_SERVER, s->name the
 * peer's server name): the replication target's side (sess_repl.c).
 */
int sess_repl_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e);
/* SCHED_QUERY and SCHED_REPORT of a node session (sess_sched.c). */
int sess_sched_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e);
/* Drop an open transaction and its pending changes. */
void sess_txn_drop(struct sess *s);
/* Drop the parts of a version never finished (PROTO_TXN_STAGE). */
void sess_stage_drop(struct sess *s);
/* Drop what any unfinished version staged (start-up; *n rows). */
int sess_stage_recover(struct srv *srv, uint32_t *n, struct err *e);

/*
 * For sess_repl.c, a replication target: the backup transaction
 * machinery of sess_node.c, for the node s->repl_node.
 */
const char *sess_node(const struct sess *s);	/* whose data this is */
int sess_own_fs(struct sess *s, uint64_t fs, struct err *e);
int sess_txn_get(struct sess *s, struct err *e);
void sess_fail_object(struct sess *s, const char *path, size_t plen,
    const char *why);
int sess_pend_add(struct sess *s, int op, uint64_t fs,
    const struct proto_obj *o, struct err *e);
/* 0, or -1 with why set (nothing referenced then). */
int sess_ref_recipe(struct sess *s, const struct proto_obj *o, char *why,
    size_t wlen);
/*
 * At the end of a node session: record the restore throughput when the
 * session restored at least SESS_RESTORE_MEASURE_MIN bytes (smaller
 * restores measure latency, not throughput).
 */
#define SESS_RESTORE_MEASURE_MIN	(1u << 20)
void sess_node_end(struct sess *s);
/* CHUNK_ASK, CHUNK_PUT, TXN_COMMIT, TXN_ABORT. */
int sess_node_txn_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e);


#endif
