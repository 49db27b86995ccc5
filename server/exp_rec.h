/*
 * exp_rec.h - the names of the export set's record types (exp.h), for
 * messages and for coffer-vol, which lists a set without a server.
 */
#ifndef COFFER_EXP_REC_H
#define COFFER_EXP_REC_H

#include <stdint.h>

#include "exp.h"

/* "NODE", "CHUNK", ...; NULL for a type an export does not write. */
static inline const char *
exp_rec_name(uint8_t type)
{
	switch (type) {
	case EXP_REC_SESSION:	return "SESSION";
	case EXP_REC_NODE:	return "NODE";
	case EXP_REC_FS:	return "FILESPACE";
	case EXP_REC_CHUNK:	return "CHUNK";
	case EXP_REC_OBJ:	return "VERSION";
	case EXP_REC_END:	return "END";
	}
	return NULL;
}

#endif
