/*
 * proc.c - the server process table.
 *
 * Each process is a joinable thread.  While fn runs its struct proc sits
 * on the running list; when fn returns the thread takes it off and, for a
 * background process, puts it on the done list, from which the next
 * proc_start/proc_list/proc_table_free joins and frees it (a finished
 * thread must be joined, and it cannot join itself).  A foreground
 * (PROC_WAIT) process is joined and freed by its starter instead.
 *
 *	proc_start --> running --(fn returns)--> done --(reap)--> freed
 *	                  |                                     ^
 *	                  +--(PROC_WAIT: starter joins)---------+
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "proc.h"

struct proc {
	struct proc_table *t;
	uint64_t	 id;
	char		 name[PROC_NAME_MAX];
	char		 status[PROC_STATUS_MAX];	/* under t->lock */
	int64_t		 started;
	int		 cancel;			/* under t->lock */
	int		 wait;
	pthread_t	 th;
	proc_fn		 fn;
	void		*arg;
	void		(*free_arg)(void *);
	int		 rc;
	struct err	 e;
	struct proc	*next;
};

struct proc_table {
	pthread_mutex_t	 lock;
	pthread_cond_t	 idle;		/* signalled when a process ends */
	uint64_t	 last_id;
	struct proc	*running;	/* oldest first */
	struct proc	*done;		/* ended, not joined yet */
	int		 closing;
};

struct proc_table *
proc_table_new(void)
{
	struct proc_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return NULL;
	}
	if (pthread_cond_init(&t->idle, NULL) != 0) {
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

/* Join and free the ended background processes. */
static void
reap(struct proc_table *t)
{
	struct proc *p, *next;

	pthread_mutex_lock(&t->lock);
	p = t->done;
	t->done = NULL;
	pthread_mutex_unlock(&t->lock);
	for (; p != NULL; p = next) {
		next = p->next;
		pthread_join(p->th, NULL);
		free(p);
	}
}

void
proc_table_free(struct proc_table *t)
{
	struct proc *p;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->closing = 1;
	for (p = t->running; p != NULL; p = p->next)
		p->cancel = 1;
	while (t->running != NULL)
		pthread_cond_wait(&t->idle, &t->lock);
	pthread_mutex_unlock(&t->lock);
	reap(t);
	pthread_cond_destroy(&t->idle);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void
unlink_running(struct proc_table *t, struct proc *p)
{
	struct proc **pp;

	for (pp = &t->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			p->next = NULL;
			return;
		}
	}
}

static void *
proc_main(void *v)
{
	struct proc *p = v;
	struct proc_table *t = p->t;

	p->rc = p->fn(p, p->arg, &p->e);
	if (p->free_arg != NULL)
		p->free_arg(p->arg);
	p->arg = NULL;
	pthread_mutex_lock(&t->lock);
	unlink_running(t, p);
	if (!p->wait) {
		p->next = t->done;
		t->done = p;
	}
	pthread_cond_broadcast(&t->idle);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* Under t->lock: is a process of that name running? */
static int
running_named(struct proc_table *t, const char *name)
{
	struct proc *p;
	int n = 0;

	for (p = t->running; p != NULL; p = p->next)
		if (name == NULL || strcmp(p->name, name) == 0)
			n++;
	return n;
}

int
proc_start(struct proc_table *t, const char *name, proc_fn fn, void *arg,
    void (*free_arg)(void *), int flags, uint64_t *id, struct err *e)
{
	struct proc *p = NULL, **pp;
	int r;

	reap(t);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = err_set(e, COFFER_ENOMEM, "process %s: out of memory",
		    name);
		goto fail;
	}
	p->t = t;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->started = (int64_t)time(NULL);
	p->wait = (flags & PROC_WAIT) != 0;
	p->fn = fn;
	p->arg = arg;
	p->free_arg = free_arg;
	pthread_mutex_lock(&t->lock);
	if (t->closing) {
		pthread_mutex_unlock(&t->lock);
		r = err_set(e, COFFER_ECANCELED, "process %s: the server is "
		    "shutting down", name);
		goto fail;
	}
	if ((flags & PROC_EXCLUSIVE) && running_named(t, p->name) > 0) {
		pthread_mutex_unlock(&t->lock);
		r = err_set(e, COFFER_EBUSY, "process %s: one is already "
		    "running", name);
		goto fail;
	}
	/* On the list before the thread exists, so it can take itself off. */
	p->id = ++t->last_id;
	for (pp = &t->running; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	if (pthread_create(&p->th, NULL, proc_main, p) != 0) {
		unlink_running(t, p);
		pthread_mutex_unlock(&t->lock);
		r = err_set(e, COFFER_EIO, "process %s: cannot start a thread",
		    name);
		goto fail;
	}
	if (id != NULL)
		*id = p->id;
	pthread_mutex_unlock(&t->lock);
	if (!p->wait)
		return 0;
	pthread_join(p->th, NULL);
	r = p->rc;
	if (r != 0 && e != NULL)
		*e = p->e;
	free(p);
	return r;
fail:
	if (free_arg != NULL)
		free_arg(arg);
	free(p);
	return r;
}

uint64_t
proc_id(const struct proc *p)
{
	return p->id;
}

void
proc_set_status(struct proc *p, const char *fmt, ...)
{
	char buf[PROC_STATUS_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&p->t->lock);
	memcpy(p->status, buf, sizeof(buf));
	pthread_mutex_unlock(&p->t->lock);
}

int
proc_cancelled(struct proc *p)
{
	int c;

	pthread_mutex_lock(&p->t->lock);
	c = p->cancel;
	pthread_mutex_unlock(&p->t->lock);
	return c;
}

/* Under t->lock. */
static void
fill_info(const struct proc *p, struct proc_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->id = p->id;
	memcpy(pi->name, p->name, sizeof(pi->name));
	memcpy(pi->status, p->status, sizeof(pi->status));
	pi->started = p->started;
	pi->cancelled = p->cancel;
	pi->foreground = p->wait;
}

int
proc_cancel(struct proc_table *t, uint64_t id, struct proc_info *info)
{
	struct proc *p;
	int r = COFFER_ENOTFOUND;

	pthread_mutex_lock(&t->lock);
	for (p = t->running; p != NULL; p = p->next) {
		if (p->id != id)
			continue;
		p->cancel = 1;
		if (info != NULL)
			fill_info(p, info);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

int
proc_list(struct proc_table *t, proc_list_cb cb, void *arg)
{
	struct proc_info *snap = NULL;
	struct proc *p;
	size_t n = 0, i;
	int r = 0;

	reap(t);
	pthread_mutex_lock(&t->lock);
	n = (size_t)running_named(t, NULL);
	if (n > 0 && (snap = calloc(n, sizeof(*snap))) == NULL) {
		pthread_mutex_unlock(&t->lock);
		return COFFER_ENOMEM;
	}
	for (i = 0, p = t->running; p != NULL; p = p->next, i++)
		fill_info(p, &snap[i]);
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n && r == 0; i++)
		r = cb(arg, &snap[i]);
	free(snap);
	return r;
}

int
proc_count(struct proc_table *t, const char *name)
{
	int n;

	pthread_mutex_lock(&t->lock);
	n = running_named(t, name);
	pthread_mutex_unlock(&t->lock);
	return n;
}
