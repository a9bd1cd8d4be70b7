/* SPDX-License-Identifier: MIT */
/*
 * The control plane embedded as a thread (see control/embed.h): one thread
 * that runs the control loop (ctlrun.c) against a group's control block,
 * exactly as galed does, over a UDP socket bound before the dataplane
 * opened (its port is published in the member's region: peers on the host
 * find it there; a joiner's port is learnt from its JOIN).
 */
#include "control/embed.h"

#include "ctlrun.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POLL_MS 5 /* longest sleep: heartbeats are every 10 ms by default */

struct ctl_embed {
	struct ctlrun run;
	struct gb_logger *log;
	int fd, wake_fd;
	uint16_t port;
	bool attached, running;
	pthread_t thread;
	_Atomic bool quit;
};

/*
 * The control thread must answer heartbeats even when the dataplane threads
 * keep every core busy: it may run on any core (not only where its creator
 * was pinned), and it asks for a better nice value than theirs (granted to
 * root or CAP_SYS_NICE; without it, it shares fairly).
 */
static void
control_thread_setup(struct ctl_embed *e)
{
	cpu_set_t all;
	CPU_ZERO(&all);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET((int)i, &all);
	if (pthread_setaffinity_np(pthread_self(), sizeof(all), &all) != 0)
		gb_log(e->log, GB_LOG_DEBUG, "GALE-CTL-AFFINITY",
		       "the control thread keeps its creator's CPU affinity");
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -5) != 0)
		gb_log(e->log, GB_LOG_DEBUG, "GALE-CTL-NICE",
		       "the control thread runs at the default priority: %s", strerror(errno));
}

static void *
embed_main(void *arg)
{
	struct ctl_embed *e = arg;
	control_thread_setup(e);
	while (!atomic_load_explicit(&e->quit, memory_order_acquire))
		ctlrun_step(&e->run, POLL_MS);
	return NULL;
}

int
ctl_embed_create(const struct sockaddr_in *addr, struct ctl_embed **out)
{
	struct ctl_embed *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->wake_fd = -1;
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = *addr;
	socklen_t sl = sizeof(sa);
	if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(e->fd, (struct sockaddr *)&sa, &sl) != 0 ||
	    (e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		int rc = -errno;
		ctl_embed_destroy(e);
		return rc;
	}
	e->port = ntohs(sa.sin_port);
	*out = e;
	return 0;
}

uint16_t
ctl_embed_port(const struct ctl_embed *e)
{
	return e->port;
}

int
ctl_embed_wake_fd(const struct ctl_embed *e)
{
	return e->wake_fd;
}

int
ctl_embed_attach(struct ctl_embed *e, const struct ctl_embed_conf *c, struct dp_ctl *ctl,
		 bool joiner, uint64_t epoch, const uint32_t *ids, uint32_t n)
{
	if (n < 1 || n > MBR_MAX)
		return -EINVAL;
	e->log = c->log;
	struct ctlrun_conf rconf = { .my_id = c->my_id,
				     .group = c->group,
				     .safe = c->safe,
				     .hb_interval_ns = c->hb_interval_ns,
				     .hb_timeout_ns = c->hb_timeout_ns,
				     .fail_timeout_ns = c->fail_timeout_ns,
				     .join_timeout_ns = c->join_timeout_ns,
				     .log = c->log };
	struct mbr_view mv = { .epoch = epoch, .n = n };
	memcpy(mv.ids, ids, n * sizeof(ids[0]));
	/* R: the control side is here; the dataplane's peers and galectl read it. */
	atomic_store_explicit(&ctl->ctl_pid, (int32_t)getpid(), memory_order_release);
	int rc = ctlrun_start(&e->run, &rconf, e->fd, ctl, joiner ? NULL : &mv, ids, n);
	e->run.wake_fd = e->wake_fd;
	e->attached = rc == 0;
	return rc;
}

void
ctl_embed_set_addr(struct ctl_embed *e, uint32_t id, const struct sockaddr_in *sa)
{
	ctlrun_set_addr(&e->run, id, sa);
}

int
ctl_embed_run(struct ctl_embed *e)
{
	if (!e->attached)
		return -EINVAL;
	int rc = -pthread_create(&e->thread, NULL, embed_main, e);
	e->running = rc == 0;
	return rc;
}

void
ctl_embed_leave(struct ctl_embed *e)
{
	/* The loop reads it at its next step (ctlrun_step()); the wake makes that now. */
	atomic_store_explicit(&e->run.ctl->leave_req, 1, memory_order_release);
	uint64_t one = 1;
	(void)!write(e->wake_fd, &one, sizeof(one));
}

uint64_t
ctl_embed_hb_timeout_ns(const struct ctl_embed *e)
{
	return e->run.sm.conf.hb_timeout_ns;
}

void
ctl_embed_destroy(struct ctl_embed *e)
{
	if (!e)
		return;
	if (e->running) {
		atomic_store_explicit(&e->quit, true, memory_order_release);
		uint64_t one = 1;
		(void)!write(e->wake_fd, &one, sizeof(one));
		pthread_join(e->thread, NULL);
	}
	if (e->fd >= 0)
		close(e->fd);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	free(e);
}
