/*
 * adm_cmd.c - the command table and adm_execute(): resolve the verb and
 * object, bind positional words and name=value parameters, echo the
 * command to the activity log (passwords hidden), run the handler, and
 * log what a changing command answered.
 *
 * Minimum abbreviations follow TSM's syntax diagrams (REFERENCE 1.14):
 * Query, REGister, UPDate, REMove, LOCK, UNLock, DEFine, EXPIre, RECLaim,
 * AUDit, CANcel, SET, DELete, PING, MOVe, BAckup, PREPare (a verb with
 * no object, as in TSM); the objects Node,
 * ADmin, FIlespace, DOmain, STGpool, OCCupancy, PRocess, SEssion, ACtlog,
 * STatus, Inventory, CONTainer, SErver (SERver after Query), REPLication,
 * REPLServer, DEVclass, VOLHistory, DRMedia, DB, SCHedule, ASSOCiation,
 * EVent, RANDomize, QUERYSCHedperiod, RTO, DRMPLANPrefix,
 * DRMPLANVersions.
 *
 * Message numbers are TSM's where a TSM administrator would know them
 * (ANR2000E unknown command, ANR2017I command echo, ANR2020E missing
 * parameter, ANR2022E bad parameter, ANR2023E extraneous parameter,
 * ANR2034E no match, ANR0984I/ANR0987I processes).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adm_int.h"
#include "cat.h"
#include "err.h"
#include "passwd.h"
#include "proto.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define P(name, min)	{ { name, min }, 0 }
#define PSECRET(name, min) { { name, min }, ADM_P_SECRET }

/* ---- parameters ---- */

static const struct adm_param p_reg_node[] = {
	P("DOMAIN", 2), P("CONTACT", 3),
};
static const struct adm_param p_upd_node[] = {
	PSECRET("PASSWORD", 4), P("DOMAIN", 2), P("CONTACT", 3), P("RPO", 3),
	P("REPLSTATE", 5), P("REPLMODE", 5),
};
/* DRPRO and DRPRI: the shortest forms that tell the two apart. */
static const struct adm_param p_upd_fs[] = {
	P("DRPROTECT", 5), P("DRPRIORITY", 5), P("REPLRULE", 5),
};
/* DEFINE and UPDATE SERVER; the password is SERVERPASSWORD, secret. */
static const struct adm_param p_server[] = {
	PSECRET("SERVERPASSWORD", 8), P("HLADDRESS", 3), P("LLADDRESS", 3),
	P("CAFILE", 3), P("DESCRIPTION", 4),
};
static const struct adm_param p_q_node[] = {
	P("DOMAIN", 2), P("FORMAT", 1),
};
static const struct adm_param p_upd_admin[] = {
	PSECRET("PASSWORD", 4),
};
static const struct adm_param p_format[] = {
	P("FORMAT", 1),
};
static const struct adm_param p_domain[] = {
	P("VEREXISTS", 4), P("VERDELETED", 4), P("RETEXTRA", 4),
	P("RETONLY", 4), P("DESCRIPTION", 4), P("DESTINATION", 4),
};
/* DEFINE STGPOOL: TSM's STGType, CLOUDType, CLOUDUrl, IDentity, PASsword. */
static const struct adm_param p_stgpool[] = {
	P("STGTYPE", 4), P("CLOUDTYPE", 6), P("CLOUDURL", 6), P("BUCKET", 3),
	P("IDENTITY", 2), PSECRET("PASSWORD", 3), P("CAFILE", 3),
};
/*
 * UPDATE STGPOOL: RECLaim (TSM's) for CONTAINERPOOL; a cloud pool's key
 * and CA file.  STGType, CLOUDType, CLOUDUrl and BUCKET are accepted only
 * to be refused with the reason.
 */
static const struct adm_param p_upd_stgpool[] = {
	P("RECLAIM", 4), P("IDENTITY", 2), PSECRET("PASSWORD", 3),
	P("CAFILE", 3), P("STGTYPE", 4), P("CLOUDTYPE", 6), P("CLOUDURL", 6),
	P("BUCKET", 3),
};
static const struct adm_param p_wait[] = {
	P("WAIT", 1),
};
static const struct adm_param p_reclaim[] = {
	P("THRESHOLD", 2), P("WAIT", 1),
};
/* FIX=YES: repair damaged chunks from the replication server. */
static const struct adm_param p_audit[] = {
	P("STGPOOL", 3), P("WAIT", 1), P("FIX", 3),
};
static const struct adm_param p_replicate[] = {
	P("WAIT", 1), P("MAXSESSIONS", 4), P("VERIFY", 1),
};
static const struct adm_param p_export[] = {
	P("FILEDATA", 1), P("DEVCLASS", 3), P("FROMDATE", 5),
	PSECRET("ENCRYPTKEY", 4), P("WAIT", 1),
};
static const struct adm_param p_import[] = {
	P("DEVCLASS", 3), P("VOLUMENAMES", 3), PSECRET("ENCRYPTKEY", 4),
	P("MERGEFILESPACES", 5), P("WAIT", 1),
};
static const struct adm_param p_actlog[] = {
	P("BEGINDATE", 6), P("BEGINTIME", 6), P("SEARCH", 1), P("MSGNO", 3),
	P("NODENAME", 4),
};

/* DEVType, DIRectory, MAXCAPacity: TSM's capitals. */
static const struct adm_param p_devclass[] = {
	P("DEVTYPE", 4), P("DIRECTORY", 3), P("MAXCAPACITY", 6),
};
static const struct adm_param p_volhist[] = {
	P("TYPE", 1),
};
static const struct adm_param p_q_drmedia[] = {
	P("WHERESTATE", 6), P("WHERELOCATION", 7),
};
static const struct adm_param p_move_drmedia[] = {
	P("WHERESTATE", 6), P("TOSTATE", 4), P("WHERELOCATION", 7),
	P("TOLOCATION", 4), P("WAIT", 1),
};
static const struct adm_param p_backup_db[] = {
	P("DEVCLASS", 3), P("TYPE", 1), P("WAIT", 1),
};

/* Schedules (adm_sched.c): TSM's capitals. */
static const struct adm_param p_sched[] = {
	P("TYPE", 1), P("ACTION", 3), P("OBJECTS", 3), P("OPTIONS", 3),
	P("CMD", 3), P("STARTDATE", 6), P("STARTTIME", 6), P("DURATION", 3),
	P("DURUNITS", 4), P("PERIOD", 3), P("PERUNITS", 4),
	P("DAYOFWEEK", 3), P("DESCRIPTION", 4), P("ACTIVE", 6),
};
static const struct adm_param p_q_sched[] = {
	P("TYPE", 1), P("FORMAT", 1),
};
static const struct adm_param p_q_event[] = {
	P("TYPE", 1), P("NODES", 4), P("BEGINDATE", 6), P("BEGINTIME", 6),
	P("ENDDATE", 4), P("ENDTIME", 4), P("FORMAT", 1),
};
/* PREPARE: PLANPrefix (TSM's); WAIT is accepted, the plan is quick. */
static const struct adm_param p_prepare[] = {
	P("PLANPREFIX", 5), P("WAIT", 1),
};

#define PARAMS(p)	p, NELEM(p)
#define NOPARAMS	NULL, 0

/* ---- commands, by verb ---- */

static const struct adm_cmd c_query[] = {
	{ { "NODE", 1 }, "QUERY NODE", adm_query_node,
	    { "NODENAME" }, 0, -1, PARAMS(p_q_node), 1 },
	{ { "ADMIN", 2 }, "QUERY ADMIN", adm_query_admin,
	    { "ADMINNAME" }, 0, -1, PARAMS(p_format), 1 },
	{ { "FILESPACE", 2 }, "QUERY FILESPACE", adm_query_filespace,
	    { "NODENAME", "FILESPACENAME" }, 0, -1, NOPARAMS, 1 },
	{ { "DOMAIN", 2 }, "QUERY DOMAIN", adm_query_domain,
	    { "DOMAINNAME" }, 0, -1, PARAMS(p_format), 1 },
	{ { "STGPOOL", 3 }, "QUERY STGPOOL", adm_query_stgpool,
	    { "POOLNAME" }, 0, -1, PARAMS(p_format), 1 },
	{ { "OCCUPANCY", 3 }, "QUERY OCCUPANCY", adm_query_occupancy,
	    { "NODENAME", "FILESPACENAME" }, 0, -1, NOPARAMS, 1 },
	{ { "PROCESS", 2 }, "QUERY PROCESS", adm_query_process,
	    { "PROCESSNUMBER" }, 0, -1, NOPARAMS, 1 },
	{ { "SESSION", 2 }, "QUERY SESSION", adm_query_session,
	    { NULL }, 0, -1, PARAMS(p_format), 1 },
	{ { "ACTLOG", 2 }, "QUERY ACTLOG", adm_query_actlog,
	    { NULL }, 0, -1, PARAMS(p_actlog), 1 },
	{ { "STATUS", 2 }, "QUERY STATUS", adm_query_status,
	    { NULL }, 0, -1, NOPARAMS, 1 },
	/* SER: "q se" stays QUERY SESSION. */
	{ { "SERVER", 3 }, "QUERY SERVER", adm_query_server,
	    { "SERVERNAME" }, 0, -1, PARAMS(p_format), 1 },
	{ { "REPLICATION", 4 }, "QUERY REPLICATION", adm_query_replication,
	    { "NODENAME" }, 0, -1, NOPARAMS, 1 },
	{ { "DEVCLASS", 3 }, "QUERY DEVCLASS", adm_query_devclass,
	    { "DEVCLASSNAME" }, 0, -1, NOPARAMS, 1 },
	{ { "VOLHISTORY", 4 }, "QUERY VOLHISTORY", adm_query_volhistory,
	    { NULL }, 0, -1, PARAMS(p_volhist), 1 },
	{ { "DRMEDIA", 3 }, "QUERY DRMEDIA", adm_query_drmedia,
	    { "VOLUMENAME" }, 0, -1, PARAMS(p_q_drmedia), 1 },
	{ { "SCHEDULE", 3 }, "QUERY SCHEDULE", adm_query_schedule,
	    { "DOMAINNAME", "SCHEDULENAME" }, 0, -1, PARAMS(p_q_sched), 1 },
	{ { "ASSOCIATION", 5 }, "QUERY ASSOCIATION", adm_query_association,
	    { "DOMAINNAME", "SCHEDULENAME" }, 0, -1, NOPARAMS, 1 },
	{ { "EVENT", 2 }, "QUERY EVENT", adm_query_event,
	    { "DOMAINNAME", "SCHEDULENAME" }, 1, -1, PARAMS(p_q_event), 1 },
};

static const struct adm_cmd c_register[] = {
	{ { "NODE", 1 }, "REGISTER NODE", adm_register_node,
	    { "NODENAME", "PASSWORD" }, 2, 1, PARAMS(p_reg_node), 0 },
	{ { "ADMIN", 1 }, "REGISTER ADMIN", adm_register_admin,
	    { "ADMINNAME", "PASSWORD" }, 2, 1, NOPARAMS, 0 },
};

static const struct adm_cmd c_update[] = {
	{ { "NODE", 1 }, "UPDATE NODE", adm_update_node,
	    { "NODENAME", "PASSWORD" }, 1, 1, PARAMS(p_upd_node), 0 },
	{ { "ADMIN", 1 }, "UPDATE ADMIN", adm_update_admin,
	    { "ADMINNAME", "PASSWORD" }, 1, 1, PARAMS(p_upd_admin), 0 },
	{ { "DOMAIN", 2 }, "UPDATE DOMAIN", adm_update_domain,
	    { "DOMAINNAME" }, 1, -1, PARAMS(p_domain), 0 },
	{ { "FILESPACE", 2 }, "UPDATE FILESPACE", adm_update_filespace,
	    { "NODENAME", "FILESPACENAME" }, 2, -1, PARAMS(p_upd_fs), 0 },
	{ { "SERVER", 2 }, "UPDATE SERVER", adm_update_server,
	    { "SERVERNAME" }, 1, -1, PARAMS(p_server), 0 },
	{ { "STGPOOL", 3 }, "UPDATE STGPOOL", adm_update_stgpool,
	    { "POOLNAME" }, 1, -1, PARAMS(p_upd_stgpool), 0 },
	{ { "DEVCLASS", 3 }, "UPDATE DEVCLASS", adm_update_devclass,
	    { "DEVCLASSNAME" }, 1, -1, PARAMS(p_devclass), 0 },
	{ { "SCHEDULE", 3 }, "UPDATE SCHEDULE", adm_update_schedule,
	    { "DOMAINNAME", "SCHEDULENAME" }, 1, -1, PARAMS(p_sched), 0 },
};

static const struct adm_cmd c_remove[] = {
	{ { "NODE", 1 }, "REMOVE NODE", adm_remove_node,
	    { "NODENAME" }, 1, -1, NOPARAMS, 0 },
	{ { "ADMIN", 1 }, "REMOVE ADMIN", adm_remove_admin,
	    { "ADMINNAME" }, 1, -1, NOPARAMS, 0 },
};

static const struct adm_cmd c_lock[] = {
	{ { "NODE", 1 }, "LOCK NODE", adm_lock_node,
	    { "NODENAME" }, 1, -1, NOPARAMS, 0 },
	{ { "ADMIN", 1 }, "LOCK ADMIN", adm_lock_admin,
	    { "ADMINNAME" }, 1, -1, NOPARAMS, 0 },
};

static const struct adm_cmd c_unlock[] = {
	{ { "NODE", 1 }, "UNLOCK NODE", adm_unlock_node,
	    { "NODENAME" }, 1, -1, NOPARAMS, 0 },
	{ { "ADMIN", 1 }, "UNLOCK ADMIN", adm_unlock_admin,
	    { "ADMINNAME" }, 1, -1, NOPARAMS, 0 },
};

static const struct adm_cmd c_define[] = {
	{ { "DOMAIN", 2 }, "DEFINE DOMAIN", adm_define_domain,
	    { "DOMAINNAME" }, 1, -1, PARAMS(p_domain), 0 },
	{ { "STGPOOL", 3 }, "DEFINE STGPOOL", adm_define_stgpool,
	    { "POOLNAME" }, 1, -1, PARAMS(p_stgpool), 0 },
	{ { "SERVER", 2 }, "DEFINE SERVER", adm_define_server,
	    { "SERVERNAME" }, 1, -1, PARAMS(p_server), 0 },
	{ { "DEVCLASS", 3 }, "DEFINE DEVCLASS", adm_define_devclass,
	    { "DEVCLASSNAME" }, 1, -1, PARAMS(p_devclass), 0 },
	/* One positional for TYPE=ADMINISTRATIVE, else DOMAIN NAME. */
	{ { "SCHEDULE", 3 }, "DEFINE SCHEDULE", adm_define_schedule,
	    { "DOMAINNAME", "SCHEDULENAME" }, 1, -1, PARAMS(p_sched), 0 },
	{ { "ASSOCIATION", 5 }, "DEFINE ASSOCIATION", adm_define_association,
	    { "DOMAINNAME", "SCHEDULENAME", "NODENAME" }, 3, -1, NOPARAMS,
	    0 },
};

static const struct adm_cmd c_delete[] = {
	{ { "SERVER", 2 }, "DELETE SERVER", adm_delete_server,
	    { "SERVERNAME" }, 1, -1, NOPARAMS, 0 },
	{ { "STGPOOL", 3 }, "DELETE STGPOOL", adm_delete_stgpool,
	    { "POOLNAME" }, 1, -1, NOPARAMS, 0 },
	{ { "DEVCLASS", 3 }, "DELETE DEVCLASS", adm_delete_devclass,
	    { "DEVCLASSNAME" }, 1, -1, NOPARAMS, 0 },
	{ { "SCHEDULE", 3 }, "DELETE SCHEDULE", adm_delete_schedule,
	    { "DOMAINNAME", "SCHEDULENAME" }, 1, -1, PARAMS(p_q_sched), 0 },
	{ { "ASSOCIATION", 5 }, "DELETE ASSOCIATION", adm_delete_association,
	    { "DOMAINNAME", "SCHEDULENAME", "NODENAME" }, 3, -1, NOPARAMS,
	    0 },
};

/* MOVe DRMedia: catalog rows only, so it answers in the foreground. */
static const struct adm_cmd c_move[] = {
	{ { "DRMEDIA", 3 }, "MOVE DRMEDIA", adm_move_drmedia,
	    { "VOLUMENAME" }, 1, -1, PARAMS(p_move_drmedia), 0 },
};

/* BAckup DB: a server process that logs for itself. */
static const struct adm_cmd c_backup[] = {
	{ { "DB", 2 }, "BACKUP DB", adm_backup_db,
	    { NULL }, 0, -1, PARAMS(p_backup_db), 1 },
};

/* TSM's PING SERVER: connect to a defined server and authenticate. */
static const struct adm_cmd c_ping[] = {
	{ { "SERVER", 2 }, "PING SERVER", adm_ping_server,
	    { "SERVERNAME" }, 1, -1, NOPARAMS, 0 },
};

static const struct adm_cmd c_expire[] = {
	{ { "INVENTORY", 1 }, "EXPIRE INVENTORY", adm_expire_inventory,
	    { NULL }, 0, -1, PARAMS(p_wait), 1 },
};

static const struct adm_cmd c_reclaim[] = {
	{ { "STGPOOL", 3 }, "RECLAIM STGPOOL", adm_reclaim_stgpool,
	    { "POOLNAME" }, 0, -1, PARAMS(p_reclaim), 1 },
};

static const struct adm_cmd c_audit[] = {
	{ { "CONTAINER", 4 }, "AUDIT CONTAINER", adm_audit_container,
	    { NULL }, 0, -1, PARAMS(p_audit), 1 },
};

static const struct adm_cmd c_replicate[] = {
	{ { "NODE", 1 }, "REPLICATE NODE", adm_replicate_node,
	    { "NODENAME" }, 1, -1, PARAMS(p_replicate), 1 },
};

static const struct adm_cmd c_export[] = {
	{ { "NODE", 1 }, "EXPORT NODE", adm_export_node,
	    { "NODENAME" }, 1, -1, PARAMS(p_export), 1 },
};

static const struct adm_cmd c_import[] = {
	{ { "NODE", 1 }, "IMPORT NODE", adm_import_node,
	    { "NODENAME" }, 1, -1, PARAMS(p_import), 1 },
};

static const struct adm_cmd c_cancel[] = {
	{ { "PROCESS", 2 }, "CANCEL PROCESS", adm_cancel_process,
	    { "PROCESSNUMBER" }, 1, -1, NOPARAMS, 0 },
};

static const struct adm_cmd c_set[] = {
	{ { "INVALIDPWLIMIT", 8 }, "SET INVALIDPWLIMIT",
	    adm_set_invalidpwlimit, { "LIMIT" }, 1, -1, NOPARAMS, 0 },
	/* No name: no replication server. */
	{ { "REPLSERVER", 5 }, "SET REPLSERVER", adm_set_replserver,
	    { "SERVERNAME" }, 0, -1, NOPARAMS, 0 },
	{ { "RANDOMIZE", 4 }, "SET RANDOMIZE", adm_set_randomize,
	    { "PERCENT" }, 1, -1, NOPARAMS, 0 },
	/* No value: each client's own QUERYSCHEDPERIOD again. */
	{ { "QUERYSCHEDPERIOD", 8 }, "SET QUERYSCHEDPERIOD",
	    adm_set_queryschedperiod, { "HOURS" }, 0, -1, NOPARAMS, 0 },
	/* The recovery plan (adm_plan.c); DRMPLANVERSIONS is ours. */
	{ { "RTO", 3 }, "SET RTO", adm_set_rto,
	    { "DURATION" }, 1, -1, NOPARAMS, 0 },
	{ { "DRMPLANPREFIX", 8 }, "SET DRMPLANPREFIX", adm_set_drmplanprefix,
	    { "PREFIX" }, 0, -1, NOPARAMS, 0 },
	{ { "DRMPLANVERSIONS", 8 }, "SET DRMPLANVERSIONS",
	    adm_set_drmplanversions, { "VERSIONS" }, 1, -1, NOPARAMS, 0 },
};

/* PREPare: a verb without an object, like TSM's. */
static const struct adm_cmd c_prepare[] = {
	{ { NULL, 0 }, "PREPARE", adm_prepare,
	    { NULL }, 0, -1, PARAMS(p_prepare), 0 },
};

#define CMDS(c)	c, NELEM(c)

static const struct adm_verb verbs[] = {
	{ { "QUERY", 1 }, CMDS(c_query) },
	{ { "REGISTER", 3 }, CMDS(c_register) },
	{ { "UPDATE", 3 }, CMDS(c_update) },
	{ { "REMOVE", 3 }, CMDS(c_remove) },
	{ { "LOCK", 4 }, CMDS(c_lock) },
	{ { "UNLOCK", 3 }, CMDS(c_unlock) },
	{ { "DEFINE", 3 }, CMDS(c_define) },
	{ { "EXPIRE", 4 }, CMDS(c_expire) },
	{ { "RECLAIM", 4 }, CMDS(c_reclaim) },
	{ { "AUDIT", 3 }, CMDS(c_audit) },
	{ { "CANCEL", 3 }, CMDS(c_cancel) },
	{ { "REPLICATE", 4 }, CMDS(c_replicate) },
	{ { "EXPORT", 3 }, CMDS(c_export) },
	{ { "IMPORT", 3 }, CMDS(c_import) },
	{ { "SET", 3 }, CMDS(c_set) },
	{ { "DELETE", 3 }, CMDS(c_delete) },
	{ { "PING", 4 }, CMDS(c_ping) },
	{ { "MOVE", 3 }, CMDS(c_move) },
	{ { "BACKUP", 2 }, CMDS(c_backup) },
	{ { "PREPARE", 4 }, CMDS(c_prepare) },
};

/* ---- helpers shared by the handlers ---- */

const char *
adm_arg(const struct adm_ctx *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->cmd->nparam; i++)
		if (strcmp(x->cmd->params[i].kw.name, name) == 0)
			return x->val[i];
	return NULL;
}

const char *
adm_pos(const struct adm_ctx *x, size_t i)
{
	return i < x->npos ? x->pos[i] : NULL;
}

int
adm_error(struct adm_ctx *x, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (x->res->rc < RC_ERROR)
		x->res->rc = RC_ERROR;
	va_start(ap, fmt);
	r = adm_vmsg(x->res, fmt, ap);
	va_end(ap);
	return r != 0 ? r : code;
}

int
adm_bad(struct adm_ctx *x, const char *fmt, ...)
{
	char detail[ADM_CELL_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return adm_error(x, COFFER_EINVAL, "ANR2022E %s: One or more "
	    "parameters are missing or incorrect: %s.", x->cmd->title, detail);
}

static int
is_secret(const struct adm_ctx *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->cmd->nparam; i++)
		if (strcmp(x->cmd->params[i].kw.name, name) == 0)
			return (x->cmd->params[i].flags & ADM_P_SECRET) != 0;
	return strstr(name, "PASSWORD") != NULL;
}

int
adm_bad_value(struct adm_ctx *x, const char *name, const char *v,
    const char *expected)
{
	if (is_secret(x, name))
		return adm_bad(x, "the value for %s is not %s", name,
		    expected);
	return adm_bad(x, "value '%.64s' for %s is not %s", v, name,
	    expected);
}

int
adm_failed(struct adm_ctx *x, const struct err *e)
{
	int const code = e != NULL && e->code != 0 ? e->code :
	    COFFER_EINTERNAL;

	return adm_error(x, code, "ANR2033E %s: Command failed - %s.",
	    x->cmd->title, e != NULL && e->msg[0] != '\0' ? e->msg :
	    err_str(code));
}

int
adm_name(struct adm_ctx *x, const char *what, const char *in, char *out)
{
	if (cat_name_normalize(in, out, NULL) == 0)
		return 0;
	return adm_bad(x, "%s '%.64s' is not valid: a name is 1 to %d "
	    "letters, digits, '.', '_' or '-'", what, in, CAT_NAME_MAX);
}

int
adm_query_cols(struct adm_ctx *x, size_t n, const char *const *cols)
{
	x->res->shape = PROTO_SHAPE_ROWS;
	return adm_colsv(x->res, n, cols);
}

int
adm_query_row(struct adm_ctx *x, const char *const *vals)
{
	int const r = adm_rowv(x->res, vals);

	return r == COFFER_ETOOBIG ? 1 : r;
}

int
adm_rows_done(struct adm_ctx *x)
{
	if (x->res->truncated)
		return adm_msg_rc(x->res, RC_WARNING, "ANR2035W %s: Output "
		    "truncated after %zu rows; narrow the query.",
		    x->cmd->title, x->res->nrow);
	if (x->res->nrow == 0)
		return adm_msg(x->res, "ANR2034I %s: No match found using "
		    "this criteria.", x->cmd->title);
	return 0;
}

/* ---- resolving a command ---- */

/* "Node, ADmin" for a verb's objects. */
static void
spell_objects(const struct adm_verb *v, char *out, size_t len)
{
	char sp[64];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < v->ncmd && used < len; i++) {
		adm_kw_spell(&v->cmds[i].kw, sp, sizeof(sp));
		snprintf(out + used, len - used, "%s%s", i ? ", " : "", sp);
		used = strlen(out);
	}
}

static void
spell_params(const struct adm_cmd *c, char *out, size_t len)
{
	char sp[64];
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < c->nparam && used < len; i++) {
		adm_kw_spell(&c->params[i].kw, sp, sizeof(sp));
		snprintf(out + used, len - used, "%s%s", i ? ", " : "", sp);
		used = strlen(out);
	}
}

/* Upper-case word cut to 40 characters, for messages. */
static const char *
shout(const char *w, char *buf, size_t len)
{
	size_t n = len < 41 ? len : 41;

	if (adm_upper(w, buf, n) != 0)
		snprintf(buf + n - 4, 4, "...");
	return buf;
}

static int
unknown(struct adm_result *res, const char *what, const char *cands)
{
	if (cands[0] == '\0')
		return adm_msg_rc(res, RC_ERROR, "ANR2000E Unknown command - "
		    "%s.", what);
	return adm_msg_rc(res, RC_ERROR, "ANR2000E Unknown command - %s: "
	    "ambiguous or too short; it could be %s (capitals show the "
	    "shortest form).", what, cands);
}

/* Find the command named by the first two words; 1 found, 0 reported. */
static int
resolve(struct adm_ctx *x, const struct adm_toks *tk, int *r)
{
	char cands[512], w0[48], w1[48], what[100];
	const struct adm_verb *v;
	int i;

	*r = 0;
	shout(tk->t[0].key != NULL ? tk->t[0].key : tk->t[0].val, w0,
	    sizeof(w0));
	i = tk->t[0].key != NULL ? ADM_KW_NONE : adm_kw_find(verbs,
	    NELEM(verbs), sizeof(verbs[0]), tk->t[0].val, cands,
	    sizeof(cands));
	if (i < 0) {
		if (i == ADM_KW_NONE)
			cands[0] = '\0';
		*r = unknown(x->res, w0, cands);
		return 0;
	}
	v = &verbs[i];
	/* A verb without objects (PREPARE): its one command, words from 1. */
	if (v->cmds[0].kw.name == NULL) {
		x->cmd = &v->cmds[0];
		return 1;
	}
	if (tk->n < 2 || tk->t[1].key != NULL) {
		spell_objects(v, cands, sizeof(cands));
		*r = adm_msg_rc(x->res, RC_ERROR, "ANR2000E Incomplete command "
		    "- %s: give one of %s.", v->kw.name, cands);
		return 0;
	}
	i = adm_kw_find(v->cmds, v->ncmd, sizeof(v->cmds[0]), tk->t[1].val,
	    cands, sizeof(cands));
	if (i < 0) {
		snprintf(what, sizeof(what), "%s %s", v->kw.name,
		    shout(tk->t[1].val, w1, sizeof(w1)));
		if (i == ADM_KW_NONE) {
			spell_objects(v, cands, sizeof(cands));
			*r = adm_msg_rc(x->res, RC_ERROR, "ANR2000E Unknown "
			    "command - %s: %s takes %s.", what, v->kw.name,
			    cands);
		} else
			*r = unknown(x->res, what, cands);
		return 0;
	}
	x->cmd = &v->cmds[i];
	return 1;
}

static size_t
pos_max(const struct adm_cmd *c)
{
	size_t n = 0;

	while (n < ADM_POS_MAX && c->pos[n] != NULL)
		n++;
	return n;
}

static int
bind_param(struct adm_ctx *x, const struct adm_tok *t)
{
	const struct adm_cmd *c = x->cmd;
	char cands[512], key[48];
	int j;

	shout(t->key, key, sizeof(key));
	if (c->nparam == 0)
		return adm_bad(x, "unknown parameter %s; %s takes no "
		    "name=value parameters", key, c->title);
	j = adm_kw_find(c->params, c->nparam, sizeof(c->params[0]), t->key,
	    cands, sizeof(cands));
	if (j == ADM_KW_NONE) {
		spell_params(c, cands, sizeof(cands));
		return adm_bad(x, "unknown parameter %s; expected %s", key,
		    cands);
	}
	if (j == ADM_KW_AMBIG)
		return adm_bad(x, "parameter %s is ambiguous or too short; it "
		    "could be %s", key, cands);
	if (x->val[j] != NULL)
		return adm_bad(x, "parameter %s is given twice",
		    c->params[j].kw.name);
	x->val[j] = t->val;
	return 0;
}

/* The first word after the command: 1 after a verb without objects. */
static size_t
first_arg(const struct adm_cmd *c)
{
	return c->kw.name == NULL ? 1 : 2;
}

/*
 * Bind the words after the command to positionals and parameters; 1
 * bound, 0 reported.
 */
static int
bind_args(struct adm_ctx *x, const struct adm_toks *tk, int *r)
{
	const struct adm_cmd *c = x->cmd;
	size_t const pmax = pos_max(c);
	size_t i;

	*r = 0;
	for (i = first_arg(c); i < tk->n; i++) {
		const struct adm_tok *t = &tk->t[i];

		if (t->key != NULL) {
			if ((*r = bind_param(x, t)) != 0)
				return 0;
			continue;
		}
		if (x->npos < pmax) {
			x->pos[x->npos++] = t->val;
			continue;
		}
		/* A password with a space would land here: never echo. */
		if (c->pos_secret >= 0)
			*r = adm_msg_rc(x->res, RC_ERROR, "ANR2023E %s: "
			    "Extraneous parameter (word %zu); quote values "
			    "that hold spaces.", c->title, i + 1);
		else
			*r = adm_msg_rc(x->res, RC_ERROR, "ANR2023E %s: "
			    "Extraneous parameter - %.64s.", c->title, t->val);
		return 0;
	}
	if (x->npos < c->pos_min) {
		*r = adm_msg_rc(x->res, RC_ERROR, "ANR2020E %s: Missing "
		    "parameter %s.", c->title, c->pos[x->npos]);
		return 0;
	}
	return 1;
}

/* ---- activity log ---- */

/* Append s to buf, quoted when it needs to be. */
static void
echo_word(char *buf, size_t len, const char *s, int quoted)
{
	size_t const used = strlen(buf);
	char const q = strchr(s, '"') != NULL ? '\'' : '"';

	if (quoted || s[0] == '\0' || strpbrk(s, " \t'\"=") != NULL)
		snprintf(buf + used, len - used, "%c%s%c", q, s, q);
	else
		snprintf(buf + used, len - used, "%s", s);
}

/* A parameter name with PASSWORD in it, in any case, or abbreviated. */
static int
looks_secret(const char *key)
{
	char up[48];

	if (adm_upper(key, up, sizeof(up)) != 0)
		return 1;	/* too long to tell: hide it */
	return strstr(up, "PASSW") != NULL || strncmp(up, "SERVERPA", 8) == 0;
}

/* The command as typed, with every password shown as ?***?. */
static void
echo_line(const struct adm_ctx *x, const struct adm_toks *tk, char *buf,
    size_t len)
{
	size_t i, npos = 0;

	buf[0] = '\0';
	for (i = 0; i < tk->n; i++) {
		const struct adm_tok *t = &tk->t[i];
		int secret = 0;

		if (i > 0)
			strncat(buf, " ", len - strlen(buf) - 1);
		if (t->key == NULL && i >= first_arg(x->cmd))
			secret = (int)npos++ == x->cmd->pos_secret;
		else if (t->key != NULL) {
			int const j = adm_kw_find(x->cmd->params,
			    x->cmd->nparam, sizeof(x->cmd->params[0]), t->key,
			    NULL, 0);

			/*
			 * Unresolvable names hide their value too, and so
			 * does anything that looks like a password, whatever
			 * a command table says.
			 */
			secret = j < 0 ||
			    (x->cmd->params[j].flags & ADM_P_SECRET) != 0 ||
			    looks_secret(t->key);
			echo_word(buf, len, t->key, 0);
			strncat(buf, "=", len - strlen(buf) - 1);
		}
		if (secret)
			strncat(buf, "?***?", len - strlen(buf) - 1);
		else
			echo_word(buf, len, t->val, t->quoted);
	}
}

static void
log_command(const struct adm_ctx *x, const struct adm_toks *tk)
{
	char *buf;
	size_t const len = 2 * ADM_LINE_MAX;

	if ((buf = malloc(len)) == NULL)
		return;
	echo_line(x, tk, buf, len);
	(void)cat_actlog(x->env->cat, CAT_SEV_INFO, 2017, NULL,
	    "Administrator %s issued command: %s",
	    x->env->admin != NULL ? x->env->admin : "?", buf);
	free(buf);
}

/* Messages of a changing command go to the activity log as well. */
static void
log_messages(const struct adm_ctx *x)
{
	size_t i;

	for (i = 0; i < x->res->nmsg; i++) {
		const char *m = x->res->msgs[i];
		int no, used = 0;
		char sev;

		if (sscanf(m, "ANR%4d%c %n", &no, &sev, &used) != 2 ||
		    used == 0)
			continue;
		(void)cat_actlog(x->env->cat, sev, no, NULL, "%s", m + used);
	}
}

int
adm_execute(struct adm_env *env, const char *line, struct adm_result *res)
{
	struct adm_toks *tk = NULL;
	struct adm_ctx x;
	struct err e;
	int r;

	adm_result_init(res);
	if (env == NULL || env->cat == NULL || line == NULL)
		return COFFER_EINVAL;
	if ((tk = malloc(sizeof(*tk))) == NULL)
		return COFFER_ENOMEM;
	memset(&x, 0, sizeof(x));
	x.env = env;
	x.res = res;
	x.now = env->now != 0 ? env->now : (int64_t)time(NULL);
	err_clear(&e);
	if ((r = adm_tokenize(line, tk, &e)) != 0) {
		r = adm_msg_rc(res, RC_ERROR, "ANR%s %s.", r == COFFER_EINVAL ?
		    "2004E" : "2002E", e.msg);
		goto out;
	}
	if (tk->n == 0 || !resolve(&x, tk, &r) || !bind_args(&x, tk, &r)) {
		/* Reported in res; only running out of memory is fatal. */
		if (r != COFFER_ENOMEM)
			r = 0;
		goto out;
	}
	log_command(&x, tk);
	r = x.cmd->fn(&x);
	if (r != 0 && r != COFFER_ENOMEM) {
		/* A handler may leave through an error it already reported. */
		if (res->rc < RC_ERROR)
			adm_msg_rc(res, RC_ERROR, "ANR2033E %s: Command failed "
			    "- %s.", x.cmd->title, err_str(r));
		r = 0;
	}
	if (r == 0 && !x.cmd->nolog)
		log_messages(&x);
out:
	/* The words may hold a password. */
	if (tk != NULL)
		passwd_wipe(tk, sizeof(*tk));
	free(tk);
	if (r != 0)
		adm_result_free(res);
	return r;
}
