/*
 * err.c - error codes and messages.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

const char *
err_str(int code)
{
	switch (code) {
	case COFFER_OK:		return "success";
	case COFFER_EINTERNAL:	return "internal error";
	case COFFER_ENOMEM:	return "out of memory";
	case COFFER_EIO:	return "I/O error";
	case COFFER_ECORRUPT:	return "data is corrupt";
	case COFFER_ENOTFOUND:	return "not found";
	case COFFER_EINVAL:	return "invalid argument";
	case COFFER_EEXIST:	return "already exists";
	case COFFER_ENOSPC:	return "no space left on device";
	case COFFER_EPROTO:	return "protocol error";
	case COFFER_EAUTH:	return "authentication failed";
	case COFFER_EPERM:	return "permission denied";
	case COFFER_ELOCKED:	return "account locked";
	case COFFER_ECANCELED:	return "canceled";
	case COFFER_ETOOBIG:	return "too big";
	case COFFER_EDB:	return "database error";
	case COFFER_EBUSY:	return "busy";
	case COFFER_EVERSION:	return "unsupported version";
	}
	return "unknown error";
}

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
err_sys(struct err *e, int code, const char *fmt, ...)
{
	int const saved = errno;
	va_list ap;
	size_t n;

	if (saved == ENOSPC || saved == EDQUOT)
		code = COFFER_ENOSPC;
	if (e == NULL) {
		errno = saved;
		return code;
	}
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return code;
}

int
err_wrap(struct err *e, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	va_list ap;
	int n;

	if (e == NULL)
		return COFFER_EINTERNAL;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %.*s",
		    (int)(sizeof(e->msg) - (size_t)n), old);
	return e->code;
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}
