/*
 * scheduler.c - coffer sched, the client scheduler (see scheduler.h).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "err.h"
#include "net.h"
#include "opt.h"
#include "proto.h"
#include "scheduler.h"
#include "vm_backup.h"
#include "wire.h"

#define CONNECT_TRIES_ONCE	5	/* --once gives up after these */
#define REPORT_TRIES		10	/* an end report is retried */

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* The window the server offered, copied out of its frame. */
struct window {
	int	has;
	char	domain[PROTO_SCHED_NAME_MAX + 1];
	char	schedule[PROTO_SCHED_NAME_MAX + 1];
	char	action[PROTO_SCHED_ACTION_MAX + 1];
	char	objects[PROTO_SCHED_OBJECTS_MAX + 1];
	char	options[PROTO_SCHED_OPTIONS_MAX + 1];
	int64_t	start, end;
	int64_t	offset;		/* server clock minus ours */
	int64_t	poll_s;		/* 0: ours */
	int	randomize;
};

static void
slog(const struct scheduler_params *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One timestamped line to the schedule log and to stderr. */
static void
slog(const struct scheduler_params *p, const char *fmt, ...)
{
	char stamp[32], line[2048];
	time_t const now = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (p->log != NULL)
		fprintf(p->log, "%s %s\n", stamp, line);
	fprintf(stderr, "%s %s\n", stamp, line);
}

static void
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Sleep up to s seconds; 1 when a signal asked us to stop. */
static int
nap(int64_t s)
{
	int64_t const until = (int64_t)time(NULL) + s;

	while (!stop_signal && (int64_t)time(NULL) < until) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	return stop_signal != 0;
}

/* ---- words ---- */

void
scheduler_words_free(char **w, size_t n)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

static int
push_word(char ***v, size_t *n, const char *buf, size_t len, struct err *e)
{
	char **nv, *w;

	if (*n >= SCHEDULER_WORDS_MAX)
		return err_set(e, COFFER_EINVAL, "OBJECTS holds more than %d "
		    "words", SCHEDULER_WORDS_MAX);
	if ((w = strndup(buf, len)) == NULL ||
	    (nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(w);
		return err_set(e, COFFER_ENOMEM, "out of memory");
	}
	nv[(*n)++] = w;
	*v = nv;
	return 0;
}

int
scheduler_split(const char *s, char ***out, size_t *n, struct err *e)
{
	size_t const len = strlen(s);
	char **v = NULL, *buf;
	size_t cnt = 0, bl = 0;
	int inword = 0, r = 0;
	char q = 0;

	*out = NULL;
	*n = 0;
	if ((buf = malloc(len + 1)) == NULL)
		return err_set(e, COFFER_ENOMEM, "out of memory");
	for (size_t i = 0; i < len && r == 0; i++) {
		char const c = s[i];

		if (q != 0) {
			if (c == q)
				q = 0;
			else if (c == '\\' && q == '"' && i + 1 < len)
				buf[bl++] = s[++i];
			else
				buf[bl++] = c;
		} else if (c == ' ' || c == '\t' || c == '\n') {
			if (inword)
				r = push_word(&v, &cnt, buf, bl, e);
			inword = 0;
			bl = 0;
		} else {
			inword = 1;
			if (c == '\'' || c == '"')
				q = c;
			else if (c == '\\' && i + 1 < len)
				buf[bl++] = s[++i];
			else
				buf[bl++] = c;
		}
	}
	if (r == 0 && q != 0)
		r = err_set(e, COFFER_EINVAL, "OBJECTS '%.100s' has an "
		    "unbalanced %c quote", s, q);
	if (r == 0 && inword)
		r = push_word(&v, &cnt, buf, bl, e);
	free(buf);
	if (r != 0) {
		scheduler_words_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- the session ---- */

static struct net_conn *
connect_node(const struct scheduler_params *p, struct err *e)
{
	struct net_opts no;

	memset(&no, 0, sizeof(no));
	no.server = p->o->server;
	no.ca_file = p->o->ca_file;
	no.program = "coffer";
	return net_connect(&no, PROTO_KIND_NODE, p->o->node, p->password, e);
}

static void
copy_field(char *dst, size_t cap, const char *src, size_t len)
{
	snprintf(dst, cap, "%.*s", (int)len, src != NULL ? src : "");
}

static int
query_next(const struct scheduler_params *p, struct window *w, struct err *e)
{
	struct proto_sched_next n;
	struct net_conn *c;
	struct wire_rd rd;
	int r;

	memset(w, 0, sizeof(*w));
	if ((c = connect_node(p, e)) == NULL)
		return e->code != 0 ? e->code : COFFER_EIO;
	if ((r = net_call(c, PT_SCHED_QUERY, NULL, PT_SCHED_NEXT, &rd,
	    e)) == 0 && (r = proto_get_sched_next(&rd, &n, e)) == 0) {
		w->offset = n.now - (int64_t)time(NULL);
		w->poll_s = n.poll_s;
		w->randomize = n.randomize;
		w->has = n.has;
		copy_field(w->domain, sizeof(w->domain), n.domain,
		    n.domain_len);
		copy_field(w->schedule, sizeof(w->schedule), n.schedule,
		    n.schedule_len);
		copy_field(w->action, sizeof(w->action), n.action,
		    n.action_len);
		copy_field(w->objects, sizeof(w->objects), n.objects,
		    n.objects_len);
		copy_field(w->options, sizeof(w->options), n.options,
		    n.options_len);
		w->start = n.start;
		w->end = n.end;
	}
	net_close(c);
	return r;
}

static int
report(const struct scheduler_params *p, const struct window *w, int phase,
    int rc, const char *msg, struct err *e)
{
	struct proto_sched_report rp;
	struct net_conn *c;
	struct wire_buf b;
	struct wire_rd rd;
	int r;

	memset(&rp, 0, sizeof(rp));
	rp.domain = w->domain;
	rp.domain_len = strlen(w->domain);
	rp.schedule = w->schedule;
	rp.schedule_len = strlen(w->schedule);
	rp.start = w->start;
	rp.phase = (uint8_t)phase;
	rp.rc = (uint8_t)rc;
	rp.message = msg;
	rp.message_len = msg != NULL ? strnlen(msg, PROTO_SCHED_MSG_MAX) : 0;
	if ((c = connect_node(p, e)) == NULL)
		return e->code != 0 ? e->code : COFFER_EIO;
	wire_buf_init(&b, 4 * PROTO_SCHED_MSG_MAX);
	proto_put_sched_report(&b, &rp);
	if ((r = wire_buf_ok(&b, e)) == 0)
		r = net_call(c, PT_SCHED_REPORT, &b, PT_SCHED_OK, &rd, e);
	wire_buf_free(&b);
	net_close(c);
	return r;
}

/* ---- running the action ---- */

static int
run_action(const struct scheduler_params *p, const struct window *w,
    char *msg, size_t mlen)
{
	struct backup_params bp;
	struct vm_backup_params vp;
	struct backup_stats st;
	struct net_conn *c = NULL;
	char **words = NULL;
	size_t nw = 0;
	struct err e;
	int r, rc = RC_ERROR, vm;

	err_clear(&e);
	msg[0] = '\0';
	vm = strcasecmp(w->action, "BACKUPVM") == 0;
	if (!vm && strcasecmp(w->action, "INCREMENTAL") != 0 &&
	    strcasecmp(w->action, "SELECTIVE") != 0) {
		snprintf(msg, mlen, "action %s is not one this client runs",
		    w->action);
		return RC_ERROR;
	}
	if ((r = scheduler_split(w->objects, &words, &nw, &e)) != 0 ||
	    (c = connect_node(p, &e)) == NULL) {
		snprintf(msg, mlen, "%s", e.msg);
		goto out;
	}
	memset(&bp, 0, sizeof(bp));
	memset(&st, 0, sizeof(st));
	bp.selective = strcasecmp(w->action, "SELECTIVE") == 0;
	bp.opts = p->o;
	bp.log = p->log != NULL ? p->log : stderr;
	if (vm) {
		memset(&vp, 0, sizeof(vp));
		vp.bp = &bp;
		vp.confdir = p->o->vmconfdir ? p->o->vmconfdir :
		    VM_CONFDIR_DEFAULT;
		vp.libvirt_uri = p->o->libvirt_uri;
		vp.node = p->o->node;
		vp.out = bp.log;
		vp.log = bp.log;
		r = vm_backup_run(c, &vp, words, nw, &st, &e);
		/* As coffer backup vm exits: a VM that failed is an error. */
		rc = r != 0 || st.failed > 0 ? RC_ERROR : RC_OK;
	} else {
		r = backup_run(c, &bp, words, nw, &st, &e);
		rc = r != 0 ? RC_ERROR : st.failed > 0 ? RC_SKIPPED : RC_OK;
	}
	if (r != 0)
		snprintf(msg, mlen, "%s", e.msg);
	else if (st.failed > 0)
		snprintf(msg, mlen, "%llu of %llu objects failed",
		    (unsigned long long)st.failed,
		    (unsigned long long)st.inspected);
	slog(p, "ANS1804I %s %s: %llu objects inspected, %llu backed up, "
	    "%llu failed, %llu bytes sent; rc %d", w->action, w->objects,
	    (unsigned long long)st.inspected,
	    (unsigned long long)st.backed_up, (unsigned long long)st.failed,
	    (unsigned long long)st.bytes_sent, rc);
out:
	net_close(c);
	scheduler_words_free(words, nw);
	return rc;
}

/* Report the end, retrying while the server is away (a restart). */
static void
report_end(const struct scheduler_params *p, const struct window *w, int rc,
    const char *msg)
{
	struct err e;

	for (int i = 0, wait = 1; i < REPORT_TRIES; i++, wait *= 2) {
		err_clear(&e);
		if (report(p, w, PROTO_SCHED_ENDED, rc, msg, &e) == 0) {
			slog(p, "ANS1806I Schedule %s: result (rc %d) sent to "
			    "the server", w->schedule, rc);
			return;
		}
		slog(p, "ANS1807W Schedule %s: cannot send the result: %s; "
		    "retrying in %ds", w->schedule, e.msg, wait);
		if (nap(wait))
			break;
	}
	slog(p, "ANS1808E Schedule %s: the result (rc %d) was not sent",
	    w->schedule, rc);
}

/* A window is open: delay, start, run, report.  Returns the rc. */
static int
serve(const struct scheduler_params *p, const struct window *w)
{
	int64_t const now = (int64_t)time(NULL) + w->offset;
	int64_t const left = w->end - now;
	int64_t delay = 0, span;
	char start[32], msg[PROTO_SCHED_MSG_MAX];
	struct err e;
	int rc;

	/* A random start within the window's first RANDOMIZE percent. */
	span = (w->end - w->start) * w->randomize / 100 - (now - w->start);
	if (span > left - 1)
		span = left - 1;
	if (span > 0)
		delay = (int64_t)(random() % span);
	fmt_time(w->start, start, sizeof(start));
	slog(p, "ANS1802I Schedule %s (domain %s, window %s, action %s) "
	    "starts in %llds", w->schedule, w->domain, start, w->action,
	    (long long)delay);
	if (delay > 0 && nap(delay))
		return RC_ERROR;
	err_clear(&e);
	if (report(p, w, PROTO_SCHED_STARTED, 0, NULL, &e) != 0) {
		slog(p, "ANS1809W Schedule %s: the server refused the start: "
		    "%s", w->schedule, e.msg);
		return RC_ERROR;
	}
	slog(p, "ANS1803I Schedule %s started: %s %s", w->schedule, w->action,
	    w->objects);
	rc = run_action(p, w, msg, sizeof(msg));
	if (stop_signal)
		slog(p, "ANS1810W Schedule %s: stop requested; the running "
		    "backup was finished first", w->schedule);
	report_end(p, w, rc, msg);
	slog(p, "ANS1805I Schedule %s ended with return code %d%s%s",
	    w->schedule, rc, msg[0] ? ": " : "", msg);
	return rc;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Restart reads and writes: a backup in flight runs to its end. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

int
scheduler_run(const struct scheduler_params *p)
{
	int64_t backoff = 1;
	int fails = 0;
	struct window *w;
	struct err e;
	int rc = RC_OK;

	if ((w = malloc(sizeof(*w))) == NULL)
		return RC_ERROR;
	install_signals();
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	slog(p, "ANS1800I Scheduler started for node %s, server %s; polling "
	    "every %llds", p->o->node, p->o->server ? p->o->server :
	    "(default)", (long long)p->poll_s);
	while (!stop_signal) {
		int64_t poll, now, wait;

		err_clear(&e);
		if (query_next(p, w, &e) != 0) {
			if (p->once && ++fails >= CONNECT_TRIES_ONCE) {
				slog(p, "ANS1811E Server unreachable: %s; "
				    "giving up (--once)", e.msg);
				rc = RC_ERROR;
				break;
			}
			wait = backoff < p->poll_s ? backoff : p->poll_s;
			slog(p, "ANS1811W Server unreachable: %s; asking again "
			    "in %llds", e.msg, (long long)wait);
			if (backoff < SCHEDULER_BACKOFF_MAX)
				backoff *= 2;
			nap(wait);
			continue;
		}
		backoff = 1;
		fails = 0;
		poll = w->poll_s > 0 ? w->poll_s : p->poll_s;
		now = (int64_t)time(NULL) + w->offset;
		if (w->has && w->start <= now && now < w->end) {
			rc = serve(p, w);
			if (p->once)
				break;
			continue;
		}
		if (w->has && w->start - now <= poll) {
			wait = w->start - now;
		} else if (p->once) {
			slog(p, "ANS1812W No schedule window opens within the "
			    "poll period (%llds)", (long long)poll);
			rc = RC_WARNING;
			break;
		} else
			wait = poll;
		if (w->has) {
			char start[32];

			fmt_time(w->start - w->offset, start, sizeof(start));
			slog(p, "ANS1801I Next schedule %s opens at %s; "
			    "waiting %llds", w->schedule, start,
			    (long long)wait);
		}
		nap(wait > 0 ? wait : 1);
	}
	if (stop_signal)
		slog(p, "ANS1813I Scheduler stopped (%s)", stop_signal ==
		    SIGTERM ? "SIGTERM" : "SIGINT");
	free(w);
	return p->once ? rc : RC_OK;
}
