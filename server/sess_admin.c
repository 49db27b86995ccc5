/*
 * sess_admin.c - administrative sessions: one command per ADM_CMD frame,
 * executed by adm_execute() and sent back as ADM_RESULT.
 */
#include "config.h"

#include <string.h>

#include "adm.h"
#include "err.h"
#include "sess.h"
#include "srv.h"

static void
encode_result(struct sess *s, const struct adm_result *res)
{
	wire_put_u8(&s->out, (uint8_t)res->rc);
	wire_put_u8(&s->out, (uint8_t)res->shape);
	wire_put_u32(&s->out, (uint32_t)res->nmsg);
	for (size_t i = 0; i < res->nmsg; i++)
		wire_put_str(&s->out, res->msgs[i]);
	wire_put_u16(&s->out, (uint16_t)res->ncol);
	for (size_t i = 0; i < res->ncol; i++)
		wire_put_str(&s->out, res->cols[i]);
	wire_put_u32(&s->out, (uint32_t)res->nrow);
	for (size_t i = 0; i < res->nrow * res->ncol; i++) {
		const char *v = res->cells[i];

		wire_put_u8(&s->out, v == NULL);
		wire_put_str(&s->out, v);
	}
}

int
sess_admin_frame(struct sess *s, uint16_t type, struct wire_rd *r,
    struct err *e)
{
	struct srv *srv = s->w->srv;
	struct adm_result res;
	struct adm_env env;
	char line[ADM_LINE_MAX + 1];
	int rc;

	if (type != PT_ADM_CMD)
		return err_set(e, COFFER_EPROTO, "frame %s (%u) is not allowed "
		    "in an administrative session", proto_type_name(type),
		    type);
	if ((rc = wire_get_str(r, ADM_LINE_MAX, line, sizeof(line), e)) != 0 ||
	    (rc = wire_rd_end(r, e)) != 0)
		return rc;
	memset(&env, 0, sizeof(env));
	env.cat = s->w->cat;
	env.catpath = srv->catalog_path;
	env.pool = srv->pool;
	env.dir = srv->o.dir;
	env.procs = srv->procs;
	env.admin = s->name;
	env.list_sessions = sess_list;
	env.sessions_arg = srv;
	env.listen = srv->o.listen;
	env.port = srv->o.port;
	/* Long commands with WAIT=YES block this worker; others go on. */
	if ((rc = adm_execute(&env, line, &res)) != 0) {
		adm_result_free(&res);
		return err_set(e, rc, "command could not be run: %s",
		    err_str(rc));
	}
	encode_result(s, &res);
	adm_result_free(&res);
	sess_reply(s, PT_ADM_RESULT);
	return 0;
}
