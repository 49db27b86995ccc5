/*
 * sess_repl.c - the replication target's side of a server-to-server
 * session: frames from a peer server that authenticated with the server
 * password (sess.c, PROTO_KIND_SERVER).
 *
 * A stub until the replication data path lands: every frame is refused.
 */
#include "config.h"

#include "err.h"
#include "proto.h"
#include "sess.h"

int
sess_repl_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	(void)r;
	return err_set(e, COFFER_EPROTO, "unknown frame %s (%u) from server "
	    "%s", proto_type_name(type), type, s->name);
}
