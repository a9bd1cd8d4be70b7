/* SPDX-License-Identifier: MIT */
/*
 * The control plane embedded as a thread (the default: no galed process to
 * configure). gale_group_join() opens the group's dataplane, binds a UDP
 * socket on 127.0.0.1 whose port it publishes in the member's region, and
 * starts one thread that runs the membership state machine
 * (membership/mbr.c) with the other members' control planes over that
 * socket, exactly as galed does between hosts. The thread and the
 * dataplane talk only through the control channel (dataplane/ctl.h):
 *
 *   mbr action            -> command            dataplane event   -> mbr input
 *   WEDGE                 -> DP_CMD_WEDGE       DP_EVT_ROW        -> mbr_row_ready()
 *   INSTALL (view, trim)  -> DP_CMD_INSTALL     DP_EVT_SUSPECT    -> mbr_suspect()
 *   EXCLUDED, MINORITY    -> DP_CMD_STOP        (app) leave       -> mbr_leave()
 *
 * The dataplane's own detectors (a peer's pidfd, its heartbeat word, its
 * state) feed suspicions in within a millisecond or two of a crash; the
 * control plane's heartbeats catch the rest (hangs, partitions). A
 * dataplane that stops beating for fail_timeout stops this member's
 * heartbeats too, so the others exclude it.
 */
#include "base/clock.h"
#include "base/fnv.h"
#include "base/log.h"
#include "dataplane/ctl.h"
#include "membership/codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define POLL_MS 5	 /* longest sleep: heartbeats are every 10 ms by default */
#define MAX_PENDING 16 /* commands waiting for room in the command ring */
#define MAX_PORTS (2 * MBR_MAX)

struct embed {
	struct gale_group *g;
	struct dp_ctl *ctl;
	struct gb_logger *log;
	struct mbr sm;
	int fd, wake_fd;
	pthread_t thread;
	_Atomic bool quit;
	_Atomic bool leave_req;
	uint32_t my_id;
	uint64_t group_hash;
	uint64_t fail_timeout_ns;
	uint64_t start_ns, join_timeout_ns;
	uint64_t heard; /* ranks of the first view heard from (start-up grace) */
	bool started;	/* every member heard, or the join timeout passed */
	uint64_t dp_hb, dp_hb_ns;
	bool dp_hung, dp_faulted;
	uint32_t n_ports;
	struct {
		uint32_t id;
		uint16_t port;
	} ports[MAX_PORTS];
	struct dp_cmd pending[MAX_PENDING];
	unsigned n_pending;
	uint64_t drops[MBR_DEC_ERR_MAX];
};

static uint16_t
port_of(const struct embed *e, uint32_t id)
{
	for (uint32_t i = 0; i < e->n_ports; i++)
		if (e->ports[i].id == id)
			return e->ports[i].port;
	return 0;
}

/* Member id's control plane is at 127.0.0.1:port (from its region or its datagrams). */
static void
set_port(struct embed *e, uint32_t id, uint16_t port)
{
	if (!port)
		return;
	for (uint32_t i = 0; i < e->n_ports; i++)
		if (e->ports[i].id == id) {
			e->ports[i].port = port;
			return;
		}
	if (e->n_ports < MAX_PORTS) {
		e->ports[e->n_ports].id = id;
		e->ports[e->n_ports++].port = port;
	}
}

static void
net_send(void *arg, uint32_t to, const struct mbr_msg *m)
{
	struct embed *e = arg;
	uint16_t port = port_of(e, to);
	if (!port)
		return;
	uint8_t buf[MBR_WIRE_MAX];
	size_t len = mbr_encode(m, e->group_hash, buf);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	(void)!sendto(e->fd, buf, len, 0, (const struct sockaddr *)&sa, sizeof(sa));
}

static void
push(struct embed *e, const struct dp_cmd *c)
{
	if (e->n_pending || !dp_ctl_push_cmd(e->ctl, c)) {
		if (e->n_pending == MAX_PENDING) {
			gb_log(e->log, GB_LOG_ERR, "GALE-CTL-FULL",
			       "member %u: the dataplane takes no commands; one is dropped",
			       e->my_id);
			return;
		}
		e->pending[e->n_pending++] = *c;
	}
}

static void
flush_pending(struct embed *e)
{
	unsigned i = 0;
	while (i < e->n_pending && dp_ctl_push_cmd(e->ctl, &e->pending[i]))
		i++;
	memmove(e->pending, e->pending + i, (e->n_pending - i) * sizeof(e->pending[0]));
	e->n_pending -= i;
}

static void
on_action(void *arg, enum mbr_action a, const struct mbr_proposal *p)
{
	struct embed *e = arg;
	struct dp_cmd c = { 0 };
	switch (a) {
	case MBR_ACT_WEDGE:
		c.type = DP_CMD_WEDGE;
		break;
	case MBR_ACT_INSTALL:
		c.type = DP_CMD_INSTALL;
		c.epoch = p->view.epoch;
		c.n = p->view.n;
		memcpy(c.ids, p->view.ids, p->view.n * sizeof(c.ids[0]));
		memcpy(c.trim, p->trim.count, sizeof(c.trim));
		break;
	case MBR_ACT_EXCLUDED:
		c.type = DP_CMD_STOP;
		c.status = atomic_load(&e->leave_req) ? GALE_STATUS_STOPPED_LEFT
						      : GALE_STATUS_STOPPED_EXCLUDED;
		gb_log(e->log, c.status == GALE_STATUS_STOPPED_LEFT ? GB_LOG_INFO : GB_LOG_WARN,
		       "GALE-EXCLUDED", "member %u is not in view %llu: it stops", e->my_id,
		       (unsigned long long)p->view.epoch);
		break;
	case MBR_ACT_MINORITY:
		c.type = DP_CMD_STOP;
		c.status = GALE_STATUS_STOPPED_MINORITY;
		gb_log(e->log, GB_LOG_WARN, "GALE-MINORITY",
		       "member %u sees no majority of view %llu alive (suspects rank mask %#llx): "
		       "it stops (primary partition)",
		       e->my_id, (unsigned long long)e->sm.view.epoch,
		       (unsigned long long)e->sm.suspects);
		break;
	}
	if (c.type)
		push(e, &c);
}

static void
receive_all(struct embed *e, uint64_t now)
{
	uint8_t buf[MBR_WIRE_MAX + 1];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(e->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fl);
		if (n < 0)
			return;
		struct mbr_msg m;
		int rc = mbr_decode(buf, (size_t)n, e->group_hash, &m);
		if (rc < 0) {
			if (e->drops[-rc]++ == 0)
				gb_log(e->log, GB_LOG_WARN, "GALE-DROP",
				       "member %u dropped a control datagram: %s (further ones "
				       "only counted)",
				       e->my_id, mbr_dec_strerror(rc));
			continue;
		}
		if (e->dp_hung || e->dp_faulted)
			continue; /* this member is as good as dead: let the others see it */
		if (from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && !port_of(e, m.from))
			set_port(e, m.from, ntohs(from.sin_port)); /* a joiner asking */
		if (!e->started && m.epoch == e->sm.view.epoch)
			for (uint32_t r = 0; r < e->sm.view.n; r++)
				if (e->sm.view.ids[r] == m.from)
					e->heard |= 1ull << r;
		mbr_on_msg(&e->sm, &m, now);
	}
}

static void
take_events(struct embed *e, uint64_t now)
{
	struct dp_evt ev;
	while (dp_ctl_pop_evt(e->ctl, &ev)) {
		switch (ev.type) {
		case DP_EVT_ROW:
			if (ev.epoch == e->sm.view.epoch) {
				struct mbr_row row;
				memcpy(row.recv, ev.recv, sizeof(row.recv));
				memcpy(row.delivered, ev.delivered, sizeof(row.delivered));
				mbr_row_ready(&e->sm, &row, now);
			}
			break;
		case DP_EVT_SUSPECT:
			if (ev.epoch == e->sm.view.epoch)
				mbr_suspect(&e->sm, ev.id, now);
			break;
		case DP_EVT_FAULT:
			e->dp_faulted = true; /* stopped: it says nothing more */
			break;
		case DP_EVT_INSTALLED:
			for (uint32_t i = 0; i < ev.n && i < GALE_MAX_MEMBERS; i++)
				set_port(e, ev.ids[i], ev.ports[i]);
			break;
		default:
			break; /* STALE: the dataplane logged it */
		}
	}
}

/* Until every member was heard once (or the join timeout), nobody is late. */
static void
startup_grace(struct embed *e, uint64_t now)
{
	if (e->started)
		return;
	uint64_t all = e->sm.view.n >= 64 ? ~0ull : (1ull << e->sm.view.n) - 1;
	all &= ~(1ull << e->sm.my_rank);
	if ((e->heard & all) == all || now - e->start_ns > e->join_timeout_ns ||
	    e->sm.view.epoch != 1) {
		e->started = true;
		return;
	}
	for (uint32_t r = 0; r < e->sm.view.n; r++)
		if (!(e->heard & (1ull << r)))
			e->sm.last_heard_ns[r] = now;
}

static void *
embed_main(void *arg)
{
	struct embed *e = arg;
	while (!atomic_load(&e->quit)) {
		struct pollfd pfd[2] = { { .fd = e->fd, .events = POLLIN },
					 { .fd = e->wake_fd, .events = POLLIN } };
		poll(pfd, 2, POLL_MS);
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			(void)!read(e->wake_fd, &v, sizeof(v));
		}
		uint64_t now = gb_now_ns();
		/* The local dataplane's heartbeat word: a hung one is this member hung. */
		uint64_t hb = atomic_load_explicit(&e->ctl->dp_heartbeat, memory_order_relaxed);
		if (hb != e->dp_hb) {
			e->dp_hb = hb;
			e->dp_hb_ns = now;
			if (e->dp_hung)
				gb_log(e->log, GB_LOG_WARN, "GALE-DATAPLANE-RESUMED",
				       "member %u: the dataplane runs again", e->my_id);
			e->dp_hung = false;
		} else if (!e->dp_hung && now - e->dp_hb_ns > e->fail_timeout_ns) {
			e->dp_hung = true;
			gb_log(e->log, GB_LOG_WARN, "GALE-DATAPLANE-HUNG",
			       "member %u: the dataplane made no pass for %.0f ms: this member "
			       "falls silent and the others will exclude it",
			       e->my_id, (double)(now - e->dp_hb_ns) / 1e6);
		}
		receive_all(e, now);
		take_events(e, now);
		if (atomic_load(&e->leave_req) && !e->sm.leaving)
			mbr_leave(&e->sm, now);
		if (!e->dp_hung && !e->dp_faulted) {
			startup_grace(e, now);
			mbr_tick(&e->sm, now);
		}
		flush_pending(e);
	}
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
		       !v.epoch ? "no view with it was installed in time"
		       : rc == -EAGAIN ? "its state did not arrive in time"
				       : gale_strerror(rc));
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

int
gale_group_join(struct gale_node *node, const struct gale_group_conf *c, struct gale_group **out)
{
	if (!node || !c || !out)
		return -EINVAL;
	struct embed *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->wake_fd = -1;
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
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
	struct gale_group *g;
	int rc = dp_group_open(node, c, ntohs(sa.sin_port), &g);
	if (rc) {
		embed_free(e);
		return rc;
	}
	e->g = g;
	e->ctl = dp_group_ctl(g);
	e->ctl->wake_fd = e->wake_fd;
	e->log = dp_group_log(g);
	e->my_id = c->my_id;
	e->group_hash = gb_fnv1a64(c->name, strlen(c->name));
	e->fail_timeout_ns = dp_group_fail_timeout_ns(g);
	e->join_timeout_ns = dp_group_join_timeout_ns(g);
	uint64_t now = gb_now_ns();
	e->start_ns = e->dp_hb_ns = now;
	struct mbr_conf mc = { .my_id = c->my_id,
			       .safe = c->mode == GALE_MODE_SAFE,
			       .hb_interval_ns = c->hb_interval_ns,
			       .hb_timeout_ns = c->hb_timeout_ns };
	struct mbr_ops ops = { .send = net_send, .action = on_action, .arg = e };
	if (c->join_running) {
		uint32_t contacts[MBR_MAX];
		for (uint32_t i = 0; i < c->n_members; i++) {
			contacts[i] = c->member_ids ? c->member_ids[i] : i;
			set_port(e, contacts[i], dp_group_peer_port(g, contacts[i]));
		}
		e->started = true; /* no start-up grace: the group runs already */
		rc = mbr_init_joiner(&e->sm, &mc, &ops, contacts, c->n_members, now);
	} else {
		struct gale_view v;
		gale_group_view(g, &v);
		struct mbr_view mv = { .epoch = v.epoch, .n = v.n_members };
		for (uint32_t r = 0; r < v.n_members; r++) {
			mv.ids[r] = v.members[r].id;
			set_port(e, v.members[r].id, dp_group_peer_port(g, v.members[r].id));
		}
		rc = mbr_init(&e->sm, &mc, &ops, &mv, now);
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
	atomic_store(&e->leave_req, true);
	uint64_t one = 1;
	(void)!write(e->wake_fd, &one, sizeof(one));
	/* Keep the dataplane going (run to completion needs these calls) until
	 * the others agreed on a view without this member, or give up. */
	uint64_t deadline = gb_now_ns() + 3 * e->sm.conf.hb_timeout_ns + 2 * e->fail_timeout_ns;
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
	atomic_store(&e->quit, true);
	(void)!write(e->wake_fd, &one, sizeof(one));
	pthread_join(e->thread, NULL);
	dp_group_close(g);
	embed_free(e);
}
