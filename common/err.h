/*
 * err.h - error values shared by every Coffer module.
 *
 * Functions return 0 on success or a negative COFFER_E* code.  Detail goes
 * into a caller-supplied struct err, whose message names the object, the
 * operation and the cause ("container 0000002a: fsync: No space left on
 * device").  A NULL struct err is allowed everywhere: the code still returns.
 */
#ifndef COFFER_ERR_H
#define COFFER_ERR_H

#include <stddef.h>

enum {
	COFFER_OK = 0,
	COFFER_EINTERNAL = -1,	/* a bug or an unexpected library failure */
	COFFER_ENOMEM = -2,
	COFFER_EIO = -3,	/* a system call failed */
	COFFER_ECORRUPT = -4,	/* stored data failed a check */
	COFFER_ENOTFOUND = -5,
	COFFER_EINVAL = -6,	/* bad argument or option */
	COFFER_EEXIST = -7,
	COFFER_ENOSPC = -8,
	COFFER_EPROTO = -9,	/* malformed frame or message */
	COFFER_EAUTH = -10,	/* wrong password or certificate */
	COFFER_EPERM = -11,	/* authenticated but not allowed */
	COFFER_ELOCKED = -12,	/* account locked */
	COFFER_ECANCELED = -13,
	COFFER_ETOOBIG = -14,	/* a length exceeds its bound */
	COFFER_EDB = -15,	/* SQLite failed */
	COFFER_EBUSY = -16,
	COFFER_EVERSION = -17,	/* unsupported format or protocol version */
};

#define ERR_MSG_MAX 512

struct err {
	int	code;
	char	msg[ERR_MSG_MAX];
};

/* Name of a COFFER_E* code ("I/O error"); never NULL. */
const char *err_str(int code);

/* Record code and a formatted message in e (if not NULL); returns code. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like err_set, appending ": strerror(errno)".  The code becomes
 * COFFER_ENOSPC for ENOSPC/EDQUOT, so callers can tell a full disk apart.
 */
int err_sys(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "what: " (context added on the way up). */
int err_wrap(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif
