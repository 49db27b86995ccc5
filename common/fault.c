/*
 * fault.c - fault-injection points (see fault.h); built only with
 * ./configure --enable-fault-injection.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

#define FAULT_NAME_MAX	64

static pthread_once_t	fault_once = PTHREAD_ONCE_INIT;
static char		fault_name[FAULT_NAME_MAX + 1];
static unsigned long	fault_nth;
static unsigned long	fault_seen;	/* arrivals at fault_name, atomic */
static int		fault_sig = SIGKILL;

/*
 * COFFER_FAULT=name[:N]; anything malformed arms nothing.
 * COFFER_FAULT_SIGNAL=STOP stops the process there instead of killing
 * it, so that a test can send it a signal at a known point (SIGTERM
 * during a live VM backup) and then SIGCONT.
 */
static void
fault_load(void)
{
	const char *s = getenv("COFFER_FAULT"), *colon;
	const char *sig = getenv("COFFER_FAULT_SIGNAL");
	size_t len;
	char *end;

	if (s == NULL || *s == '\0')
		return;
	if (sig != NULL && strcmp(sig, "STOP") == 0)
		fault_sig = SIGSTOP;
	colon = strchr(s, ':');
	len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (len == 0 || len > FAULT_NAME_MAX)
		return;
	fault_nth = 1;
	if (colon != NULL) {
		fault_nth = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || fault_nth == 0)
			return;
	}
	memcpy(fault_name, s, len);
	fault_name[len] = '\0';
}

void
fault_point(const char *name)
{
	char line[FAULT_NAME_MAX + 64];
	unsigned long n;
	int len;

	(void)pthread_once(&fault_once, fault_load);
	if (fault_name[0] == '\0' || strcmp(name, fault_name) != 0)
		return;
	n = __atomic_add_fetch(&fault_seen, 1, __ATOMIC_SEQ_CST);
	if (n != fault_nth)
		return;
	len = snprintf(line, sizeof(line), "fault: %s reached %lu times: "
	    "%s\n", name, n, fault_sig == SIGSTOP ? "SIGSTOP" : "SIGKILL");
	if (len > 0) {
		ssize_t const w = write(STDERR_FILENO, line, (size_t)len);

		(void)w;	/* dying either way */
	}
	raise(fault_sig);
}
