/*
 * fault.h - fault-injection points, compiled in for tests only.
 *
 * FAULT_POINT("name") marks a place where a crash matters (between an
 * append and its fsync, before an index commit, ...).  Without
 * ./configure --enable-fault-injection it is ((void)0) and fault.c is not
 * built: a production build holds no trace of it.  With it, the
 * environment variable COFFER_FAULT=name[:N], read once, makes the Nth
 * arrival (default the first) at point "name" raise SIGKILL, after one
 * line on stderr: "fault: name reached N times: SIGKILL" (SIGSTOP instead
 * with COFFER_FAULT_SIGNAL=STOP).
 * tests/crash/crash.sh kills the server this way and checks that it
 * restarts whole.
 */
#ifndef COFFER_FAULT_H
#define COFFER_FAULT_H

#ifdef COFFER_FAULT_INJECTION
void fault_point(const char *name);
#define FAULT_POINT(name)	fault_point(name)
#define FAULT_COMPILED		1
#else
#define FAULT_POINT(name)	((void)0)
#define FAULT_COMPILED		0
#endif

#endif /* COFFER_FAULT_H */
