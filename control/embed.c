/* SPDX-License-Identifier: MIT */
/*
 * The control plane embedded as a thread (the default: no galed process to
 * configure). gale_group_join() opens the group's dataplane, binds a UDP
 * socket on 127.0.0.1 whose port it publishes in the member's region, and
 * starts one thread that runs the control loop (ctlrun.c: the membership
 * state machine with the other members' control planes over that socket,
 * exactly as galed does) against the group's control block.
 *
 * The dataplane's own detectors (a peer's pidfd, its heartbeat word, its
 * state) feed suspicions in within a millisecond or two of a crash; the
 * control plane's heartbeats catch the rest (hangs, partitions).
 */
#include "base/clock.h"
#include "ctlrun.h"
#include "drivers/drv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POLL_MS 5 /* longest sleep: heartbeats are every 10 ms by default */

struct embed {
	bool external; /* a galed process is the control side: no thread here */
	struct ctlrun run;
	struct gale_group *g;
	struct dp_ctl *ctl;
	struct gb_logger *log;
	int fd, wake_fd;
	pthread_t thread;
	_Atomic bool quit;
	uint64_t join_timeout_ns, fail_timeout_ns;
};

/*
 * The control thread must answer heartbeats even when the dataplane threads
 * keep every core busy: it may run on any core (not only where its creator
 * was pinned), and it asks for a better nice value than theirs (granted to
 * root or CAP_SYS_NICE; without it, it shares fairly).
 */
static void
control_thread_setup(struct embed *e)
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
	struct embed *e = arg;
	control_thread_setup(e);
	while (!atomic_load(&e->quit))
		ctlrun_step(&e->run, POLL_MS);
	return NULL;
}

static void
embed_free(struct embed *e)
{
	if (e->fd >= 0)
		close(e->fd);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	free(e);
}

static struct sockaddr_in
loopback(uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_port = htons(port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* Member id's control address in a datagram group: its address, port + 1. */
static int
net_ctl_addr(const struct gale_group_conf *c, uint32_t id, struct sockaddr_in *out)
{
	for (uint32_t i = 0; i < c->n_members; i++) {
		uint32_t mid = c->member_ids ? c->member_ids[i] : i;
		if (mid != id)
			continue;
		if (!c->net.addrs[i] || drv_parse_addr(c->net.addrs[i], out) != 0 ||
		    ntohs(out->sin_port) == 65535)
			return -EINVAL;
		out->sin_port = htons((uint16_t)(ntohs(out->sin_port) + 1));
		return 0;
	}
	return -EINVAL;
}

/*
 * A joiner: keep its dataplane going until the group installed a view with
 * it (taken by gale_poll(), which reports it through on_view), then until
 * the state for that view arrived (on_state_put), within join_timeout.
 */
static int
wait_joined(struct gale_group *g, struct embed *e, const struct gale_group_conf *c)
{
	uint64_t deadline = gb_now_ns() + e->join_timeout_ns;
	struct gale_view v = { 0 };
	struct gale_group_status st;
	int rc = -EAGAIN;
	while (gb_now_ns() < deadline) {
		gale_poll(g, NULL, 0); /* hands out nothing: the state comes first */
		gale_group_view(g, &v);
		gale_group_status(g, &st);
		if (st.status != GALE_STATUS_JOINING && st.status != GALE_STATUS_RUNNING)
			break;
		if (v.epoch && (rc = dp_group_fetch_state(g)) != -EAGAIN)
			break;
		gb_sleep_ns(200000);
	}
	if (rc)
		gb_log(e->log, GB_LOG_ERR, "GALE-JOIN-FAILED",
		       "member %u could not join group %s: %s", c->my_id, c->name,
		       !v.epoch	       ? "no view with it was installed in time"
		       : rc == -EAGAIN ? "its state did not arrive in time"
				       : gale_strerror(rc));
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

/* Open e's dataplane and keep what the control side needs from it. */
static int
embed_open(struct embed *e, struct gale_node *node, const struct gale_group_conf *c,
	   uint16_t ctl_port)
{
	int rc = dp_group_open(node, c, ctl_port, &e->g);
	if (rc)
		return rc;
	e->ctl = dp_group_ctl(e->g);
	e->log = dp_group_log(e->g);
	e->join_timeout_ns = dp_group_join_timeout_ns(e->g);
	e->fail_timeout_ns = dp_group_fail_timeout_ns(e->g);
	return 0;
}

/* external_control: open the dataplane, wait for galed --dataplane to attach. */
static int
join_external(struct gale_node *node, const struct gale_group_conf *c, struct gale_group **out)
{
	if (c->join_running) {
		gb_log(&gb_default_logger, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "external_control with join_running is not supported yet");
		return -EINVAL;
	}
	struct embed *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->external = true;
	e->fd = e->wake_fd = -1;
	int rc = embed_open(e, node, c, 0);
	if (rc) {
		embed_free(e);
		return rc;
	}
	struct gale_group *g = e->g;
	uint64_t deadline = gb_now_ns() + e->join_timeout_ns;
	/* A: pairs with galed's release store of ctl_pid once it serves the block. */
	while (!atomic_load_explicit(&e->ctl->ctl_pid, memory_order_acquire)) {
		if (gb_now_ns() > deadline) {
			gb_log(e->log, GB_LOG_ERR, "GALE-JOIN-TIMEOUT",
			       "group %s: no galed --dataplane attached to member %u's control "
			       "block in time",
			       c->name, c->my_id);
			dp_group_close(g);
			embed_free(e);
			return -ETIMEDOUT;
		}
		dp_group_keepalive(g);
		gb_sleep_ns(200000);
	}
	rc = dp_group_start(g);
	if (rc) {
		dp_group_close(g);
		embed_free(e);
		return rc;
	}
	dp_group_set_embed(g, e);
	*out = g;
	return 0;
}

int
gale_group_join(struct gale_node *node, const struct gale_group_conf *c, struct gale_group **out)
{
	if (!node || !c || !out)
		return -EINVAL;
	if (c->external_control)
		return join_external(node, c, out);
	struct embed *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->wake_fd = -1;
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Datagram drivers: the control plane sits next to the data socket
	 * (PORT + 1 of the member's address); shm: any port on 127.0.0.1. */
	struct sockaddr_in sa = loopback(0);
	if (c->net.addrs && net_ctl_addr(c, c->my_id, &sa) != 0) {
		gb_log(&gb_default_logger, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "net.addrs has no valid address for member %u: valid: \"A.B.C.D:PORT\" "
		       "with PORT 1 to 65534 (the control plane uses PORT + 1)",
		       c->my_id);
		embed_free(e);
		return -EINVAL;
	}
	socklen_t sl = sizeof(sa);
	if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(e->fd, (struct sockaddr *)&sa, &sl) != 0) {
		int rc = -errno;
		embed_free(e);
		return rc;
	}
	e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->wake_fd < 0) {
		int rc = -errno;
		embed_free(e);
		return rc;
	}
	int rc = embed_open(e, node, c, ntohs(sa.sin_port));
	if (rc) {
		embed_free(e);
		return rc;
	}
	struct gale_group *g = e->g;
	dp_group_set_wake_fd(g, e->wake_fd);
	atomic_store(&e->ctl->ctl_pid, (int32_t)getpid());
	struct ctlrun_conf rc_conf = { .my_id = c->my_id,
				       .group = c->name,
				       .safe = c->mode == GALE_MODE_SAFE,
				       .hb_interval_ns = c->hb_interval_ns,
				       /* 0: GALE_HB_TIMEOUT_MS (slow builds), or 100 ms */
				       .hb_timeout_ns = c->hb_timeout_ns
								? c->hb_timeout_ns
								: gb_env_ms("GALE_HB_TIMEOUT_MS"),
				       .fail_timeout_ns = e->fail_timeout_ns,
				       .join_timeout_ns = e->join_timeout_ns,
				       .log = e->log };
	uint32_t ids[MBR_MAX];
	struct mbr_view mv = { 0 };
	for (uint32_t i = 0; i < c->n_members; i++)
		ids[i] = c->member_ids ? c->member_ids[i] : i;
	if (!c->join_running) {
		struct gale_view v;
		gale_group_view(g, &v);
		mv.epoch = v.epoch;
		mv.n = v.n_members;
		for (uint32_t r = 0; r < v.n_members; r++)
			mv.ids[r] = v.members[r].id;
	}
	rc = ctlrun_start(&e->run, &rc_conf, e->fd, e->ctl, c->join_running ? NULL : &mv, ids,
			  c->n_members);
	e->run.wake_fd = e->wake_fd;
	for (uint32_t i = 0; i < c->n_members; i++) {
		struct sockaddr_in peer = loopback(dp_group_peer_port(g, ids[i]));
		if (c->net.addrs)
			net_ctl_addr(c, ids[i], &peer);
		ctlrun_set_addr(&e->run, ids[i], &peer);
	}
	if (rc == 0)
		rc = dp_group_start(g);
	if (rc == 0)
		rc = -pthread_create(&e->thread, NULL, embed_main, e);
	if (rc) {
		dp_group_close(g);
		embed_free(e);
		return rc;
	}
	dp_group_set_embed(g, e);
	if (c->join_running) {
		rc = wait_joined(g, e, c);
		if (rc) {
			gale_group_leave(g);
			return rc;
		}
	}
	*out = g;
	return 0;
}

void
gale_group_leave(struct gale_group *g)
{
	if (!g)
		return;
	struct embed *e = dp_group_embed(g);
	dp_group_linger(g);
	atomic_store(&e->ctl->leave_req, 1);
	uint64_t one = 1;
	if (e->wake_fd >= 0)
		(void)!write(e->wake_fd, &one, sizeof(one));
	/* Keep the dataplane going (run to completion needs these calls) until
	 * the others agreed on a view without this member, or give up. */
	uint64_t hb_timeout = e->external ? 100000000ull : e->run.sm.conf.hb_timeout_ns;
	uint64_t deadline = gb_now_ns() + 3 * hb_timeout + 2 * e->fail_timeout_ns;
	struct gale_group_status st;
	struct gale_msg m[64];
	for (;;) {
		gale_group_status(g, &st);
		if (st.status != GALE_STATUS_RUNNING || gb_now_ns() > deadline)
			break;
		int n = gale_poll(g, m, 64);
		if (n > 0)
			gale_release(g, n);
		else
			gb_sleep_ns(200000);
	}
	if (!e->external) {
		atomic_store(&e->quit, true);
		(void)!write(e->wake_fd, &one, sizeof(one));
		pthread_join(e->thread, NULL);
	}
	dp_group_close(g);
	embed_free(e);
}
