/* SPDX-License-Identifier: MIT */
/* The control plane's loop: see ctlrun.h. */
#include "ctlrun.h"

#include "base/clock.h"
#include "base/fnv.h"
#include "base/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in *
addr_of(struct ctlrun *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->n_addrs; i++)
		if (r->addrs[i].id == id)
			return &r->addrs[i].sa;
	return NULL;
}

void
ctlrun_set_addr(struct ctlrun *r, uint32_t id, const struct sockaddr_in *sa)
{
	if (!sa->sin_port)
		return;
	struct sockaddr_in *have = addr_of(r, id);
	if (have)
		*have = *sa;
	else if (r->n_addrs < CTLRUN_MAX_ADDRS) {
		r->addrs[r->n_addrs].id = id;
		r->addrs[r->n_addrs++].sa = *sa;
	}
}

static void
net_send(void *arg, uint32_t to, const struct mbr_msg *m)
{
	struct ctlrun *r = arg;
	struct sockaddr_in *sa = addr_of(r, to);
	if (!sa)
		return; /* a member not reachable yet */
	uint8_t buf[MBR_WIRE_MAX];
	size_t len = mbr_encode(m, r->group_hash, buf);
	if (sendto(r->fd, buf, len, 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		r->send_errors++;
	else
		r->sent++;
}

static void
push(struct ctlrun *r, const struct dp_cmd *c)
{
	if (r->n_pending || !dp_ctl_push_cmd(r->ctl, c)) {
		if (r->n_pending == CTLRUN_MAX_PENDING) {
			gb_log(r->c.log, GB_LOG_ERR, "GALE-CTL-FULL",
			       "member %u: the dataplane takes no commands; one is dropped",
			       r->c.my_id);
			return;
		}
		r->pending[r->n_pending++] = *c;
	}
}

static void
flush_pending(struct ctlrun *r)
{
	unsigned i = 0;
	while (i < r->n_pending && dp_ctl_push_cmd(r->ctl, &r->pending[i]))
		i++;
	memmove(r->pending, r->pending + i, (r->n_pending - i) * sizeof(r->pending[0]));
	r->n_pending -= i;
}

static void
on_action(void *arg, enum mbr_action a, const struct mbr_proposal *p)
{
	struct ctlrun *r = arg;
	struct dp_cmd c = { 0 };
	switch (a) {
	case MBR_ACT_WEDGE:
		gb_log(r->c.log, GB_LOG_INFO, "GALE-WEDGE",
		       "member %u wedged in epoch %llu (suspects rank mask %#llx)", r->c.my_id,
		       (unsigned long long)r->sm.view.epoch, (unsigned long long)r->sm.suspects);
		if (!r->ctl) {
			/* No dataplane: its final row is empty (it carried nothing). */
			static const struct mbr_row empty;
			mbr_row_ready(&r->sm, &empty, gb_now_ns());
		}
		c.type = DP_CMD_WEDGE;
		break;
	case MBR_ACT_INSTALL:
		gb_log(r->c.log, GB_LOG_INFO, "GALE-VIEW-AGREED",
		       "member %u: view %llu with %u members agreed", r->c.my_id,
		       (unsigned long long)p->view.epoch, p->view.n);
		c.type = DP_CMD_INSTALL;
		c.epoch = p->view.epoch;
		c.n = p->view.n;
		memcpy(c.ids, p->view.ids, p->view.n * sizeof(c.ids[0]));
		memcpy(c.trim, p->trim.count, sizeof(c.trim));
		break;
	case MBR_ACT_EXCLUDED:
		c.type = DP_CMD_STOP;
		c.status = r->leave_req ? GALE_STATUS_STOPPED_LEFT : GALE_STATUS_STOPPED_EXCLUDED;
		gb_log(r->c.log, r->leave_req ? GB_LOG_INFO : GB_LOG_WARN, "GALE-EXCLUDED",
		       "member %u is not in view %llu: it stops", r->c.my_id,
		       (unsigned long long)p->view.epoch);
		r->stopped = true;
		r->stop_action = a;
		break;
	case MBR_ACT_MINORITY:
		c.type = DP_CMD_STOP;
		if (r->leave_req) {
			/* Leaving anyway: what is left of the view does not matter to it. */
			c.status = GALE_STATUS_STOPPED_LEFT;
			gb_log(r->c.log, GB_LOG_INFO, "GALE-LEFT",
			       "member %u left view %llu, whose other members are gone", r->c.my_id,
			       (unsigned long long)r->sm.view.epoch);
		} else {
			c.status = GALE_STATUS_STOPPED_MINORITY;
			gb_log(r->c.log, GB_LOG_WARN, "GALE-MINORITY",
			       "member %u sees no majority of view %llu alive (suspects rank mask "
			       "%#llx): it stops (primary partition)",
			       r->c.my_id, (unsigned long long)r->sm.view.epoch,
			       (unsigned long long)r->sm.suspects);
		}
		r->stopped = true;
		r->stop_action = a;
		break;
	case MBR_ACT_ENDED:
		c.type = DP_CMD_STOP;
		c.status = GALE_STATUS_STOPPED_LEFT;
		gb_log(r->c.log, GB_LOG_INFO, "GALE-LEFT",
		       "member %u left view %llu, whose other members left too: the group ends",
		       r->c.my_id, (unsigned long long)r->sm.view.epoch);
		r->stopped = true;
		r->stop_action = a;
		break;
	}
	if (r->ctl && c.type)
		push(r, &c);
	if (r->c.on_action)
		r->c.on_action(r->c.arg, a, p);
}

static void
receive_all(struct ctlrun *r, uint64_t now)
{
	uint8_t buf[MBR_WIRE_MAX + 1];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		r->received++;
		struct mbr_msg m;
		int rc = mbr_decode(buf, (size_t)n, r->group_hash, &m);
		if (rc < 0) {
			if (r->drops[-rc]++ == 0)
				gb_log(r->c.log, GB_LOG_WARN, "GALE-DROP",
				       "member %u dropped a datagram from %s:%u: %s (further ones "
				       "only counted)",
				       r->c.my_id, inet_ntoa(from.sin_addr), ntohs(from.sin_port),
				       mbr_dec_strerror(rc));
			continue;
		}
		if (r->dp_hung || r->dp_faulted)
			continue; /* this member is as good as dead: let the others see it */
		if (!addr_of(r, m.from))
			ctlrun_set_addr(r, m.from, &from); /* a joiner asking */
		if (!r->started && m.epoch == r->sm.view.epoch)
			for (uint32_t k = 0; k < r->sm.view.n; k++)
				if (r->sm.view.ids[k] == m.from)
					r->heard |= 1ull << k;
		mbr_on_msg(&r->sm, &m, now);
	}
}

static void
take_events(struct ctlrun *r, uint64_t now)
{
	struct dp_evt ev;
	while (dp_ctl_pop_evt(r->ctl, &ev)) {
		switch (ev.type) {
		case DP_EVT_ROW:
			if (ev.epoch == r->sm.view.epoch) {
				struct mbr_row row;
				memcpy(row.recv, ev.recv, sizeof(row.recv));
				memcpy(row.delivered, ev.delivered, sizeof(row.delivered));
				mbr_row_ready(&r->sm, &row, now);
			}
			break;
		case DP_EVT_SUSPECT:
			if (ev.epoch == r->sm.view.epoch)
				mbr_suspect(&r->sm, ev.id, now);
			break;
		case DP_EVT_FAULT:
			r->dp_faulted = true; /* it stopped: this member says nothing more */
			break;
		case DP_EVT_INSTALLED:
			/* Control ports the members published (one host): 127.0.0.1. */
			for (uint32_t i = 0; i < ev.n && i < GALE_MAX_MEMBERS; i++) {
				struct sockaddr_in sa = { .sin_family = AF_INET,
							  .sin_port = htons(ev.ports[i]),
							  .sin_addr.s_addr =
								  htonl(INADDR_LOOPBACK) };
				if (!addr_of(r, ev.ids[i]))
					ctlrun_set_addr(r, ev.ids[i], &sa);
			}
			break;
		default:
			break; /* STALE: the decision reaches this member through mbr */
		}
	}
}

/* Until every member was heard once (or the join timeout), nobody is late. */
static void
startup_grace(struct ctlrun *r, uint64_t now)
{
	if (r->started)
		return;
	uint64_t all = r->sm.view.n >= 64 ? ~0ull : (1ull << r->sm.view.n) - 1;
	all &= ~(1ull << r->sm.my_rank);
	if ((r->heard & all) == all || now - r->start_ns > r->c.join_timeout_ns ||
	    r->sm.view.epoch != 1) {
		r->started = true;
		return;
	}
	for (uint32_t k = 0; k < r->sm.view.n; k++)
		if (!(r->heard & (1ull << k)))
			r->sm.last_heard_ns[k] = now;
}

/* What galectl shows: a sequence-locked copy of the membership's state. */
static void
publish_status(struct ctlrun *r)
{
	struct dp_ctl_status *s = &r->ctl->status;
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	/* Opens the lock; its acquire keeps the stores below after it. */
	atomic_exchange_explicit(&s->seq, seq + 1, memory_order_acq_rel);
#define W(f, v) atomic_store_explicit(&s->f, v, memory_order_relaxed)
	W(epoch, r->sm.view.epoch);
	W(state, r->sm.state == MBR_RUNNING ? 0 : r->sm.state == MBR_WEDGED ? 1 : 2);
	uint32_t leader = UINT32_MAX;
	for (uint32_t k = 0; k < r->sm.view.n && leader == UINT32_MAX; k++)
		if (!(r->sm.suspects & (1ull << k)))
			leader = r->sm.view.ids[k];
	W(leader_id, leader);
	W(n, r->sm.view.n);
	for (uint32_t k = 0; k < r->sm.view.n; k++)
		W(ids[k], r->sm.view.ids[k]);
	W(installs, r->sm.installs);
	W(dropped, r->sm.dropped);
	W(suspects, r->sm.suspects);
#undef W
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* The dataplane's heartbeat word and process: hung, dead, or fine. */
static void
watch_dataplane(struct ctlrun *r, uint64_t now)
{
	if (r->dp_pidfd >= 0 && !r->dp_dead) {
		struct pollfd pfd = { .fd = r->dp_pidfd, .events = POLLIN };
		/* A heartbeat still for a millisecond: look closer (the pidfd
		 * fires only once the exit is over; base/proc.h). */
		bool still = now - r->dp_hb_ns > 1000000 &&
			     atomic_load_explicit(&r->ctl->dp_heartbeat, memory_order_relaxed) ==
				     r->dp_hb;
		if (poll(&pfd, 1, 0) > 0 || (still && gb_process_exiting(r->ctl->dp_pid))) {
			r->dp_dead = true;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			gb_log(r->c.log, GB_LOG_WARN, "GALE-DATAPLANE-DEAD",
			       "member %u: the dataplane's process (pid %d) exited; seen at "
			       "realtime %lld.%09ld; asking the others to exclude this member",
			       r->c.my_id, (int)r->ctl->dp_pid, (long long)ts.tv_sec, ts.tv_nsec);
			/* Dead for good: say so at once rather than let them time out. */
			mbr_leave(&r->sm, now);
			return;
		}
	}
	uint64_t hb = atomic_load_explicit(&r->ctl->dp_heartbeat, memory_order_relaxed);
	if (hb != r->dp_hb) {
		r->dp_hb = hb;
		r->dp_hb_ns = now;
		if (r->dp_hung)
			gb_log(r->c.log, GB_LOG_WARN, "GALE-DATAPLANE-RESUMED",
			       "member %u: the dataplane runs again", r->c.my_id);
		r->dp_hung = false;
	} else if (!r->dp_hung && now - r->dp_hb_ns > r->c.fail_timeout_ns) {
		r->dp_hung = true;
		gb_log(r->c.log, GB_LOG_WARN, "GALE-DATAPLANE-HUNG",
		       "member %u: the dataplane made no pass for %.0f ms: this member falls "
		       "silent and the others will exclude it",
		       r->c.my_id, (double)(now - r->dp_hb_ns) / 1e6);
	}
}

void
ctlrun_step(struct ctlrun *r, int timeout_ms)
{
	struct pollfd pfd[2] = { { .fd = r->fd, .events = POLLIN },
				 { .fd = r->wake_fd, .events = POLLIN } };
	/*
	 * Steady state (a view running, nobody suspected, nothing asked): the
	 * peers' heartbeats need no answer, so they are read at this member's
	 * own heartbeat ticks, not each as it comes; only the dataplane's wake
	 * (a suspicion, a leave) ends the sleep early. Each wake-up of this
	 * thread takes a spinning member's core for a while: a few hundred
	 * a second would be a tail in every member's latency. Anything else
	 * (a view change, a join, a leave) reads the socket as it comes.
	 */
	if (r->wake_fd >= 0 && r->ctl && r->started && !r->leave_req && !r->dp_dead &&
	    r->sm.state == MBR_RUNNING && !r->sm.suspects && !r->sm.joining && !r->sm.n_joiners) {
		uint64_t now = gb_now_ns();
		uint64_t until = r->sm.next_hb_ns > now ? r->sm.next_hb_ns - now : 0;
		int ms = (int)((until + 999999) / 1000000);
		pfd[0].fd = -1; /* poll(2) skips it */
		timeout_ms = GB_MAX(ms, 1);
	}
	poll(pfd, r->wake_fd >= 0 ? 2 : 1, timeout_ms);
	if (r->wake_fd >= 0 && (pfd[1].revents & POLLIN)) {
		uint64_t v;
		(void)!read(r->wake_fd, &v, sizeof(v));
	}
	uint64_t now = gb_now_ns();
	if (r->ctl) {
		atomic_fetch_add_explicit(&r->ctl->ctl_heartbeat, 1, memory_order_relaxed);
		watch_dataplane(r, now);
		if (r->dp_dead) {
			/* Keep announcing the leave; hear nothing else. */
			receive_all(r, now);
			mbr_tick(&r->sm, now);
			return;
		}
		if (atomic_load_explicit(&r->ctl->leave_req, memory_order_relaxed))
			ctlrun_leave(r);
	}
	receive_all(r, now);
	if (r->ctl)
		take_events(r, now);
	if (!r->dp_hung && !r->dp_faulted) {
		startup_grace(r, now);
		mbr_tick(&r->sm, now);
	}
	if (r->ctl) {
		flush_pending(r);
		publish_status(r);
	}
}

void
ctlrun_leave(struct ctlrun *r)
{
	if (r->leave_req)
		return;
	r->leave_req = true;
	mbr_leave(&r->sm, gb_now_ns());
}

int
ctlrun_start(struct ctlrun *r, const struct ctlrun_conf *c, int fd, struct dp_ctl *ctl,
	     const struct mbr_view *initial, const uint32_t *contacts, uint32_t n_contacts)
{
	memset(r, 0, sizeof(*r));
	r->c = *c;
	r->fd = fd;
	r->ctl = ctl;
	r->wake_fd = -1;
	r->dp_pidfd = -1;
	r->group_hash = gb_fnv1a64(c->group, strlen(c->group));
	uint64_t now = gb_now_ns();
	r->start_ns = r->dp_hb_ns = now;
	struct mbr_conf mc = { .my_id = c->my_id,
			       .safe = c->safe,
			       .hb_interval_ns = c->hb_interval_ns,
			       .hb_timeout_ns = c->hb_timeout_ns };
	struct mbr_ops ops = { .send = net_send, .action = on_action, .arg = r };
	if (initial)
		return mbr_init(&r->sm, &mc, &ops, initial, now);
	r->started = true; /* a joiner: the group runs already */
	return mbr_init_joiner(&r->sm, &mc, &ops, contacts, n_contacts, now);
}

void
ctlrun_print_stats(const struct ctlrun *r)
{
	fprintf(stderr,
		"gale info GALE-STATS: member %u: sent %llu, received %llu, send errors %llu, "
		"dropped: truncated %llu, magic %llu, version %llu, group %llu, type %llu, "
		"length %llu, checksum %llu; protocol drops (epoch, stranger) %llu\n",
		r->c.my_id, (unsigned long long)r->sent, (unsigned long long)r->received,
		(unsigned long long)r->send_errors, (unsigned long long)r->drops[MBR_DEC_TRUNCATED],
		(unsigned long long)r->drops[MBR_DEC_MAGIC],
		(unsigned long long)r->drops[MBR_DEC_VERSION],
		(unsigned long long)r->drops[MBR_DEC_GROUP],
		(unsigned long long)r->drops[MBR_DEC_TYPE],
		(unsigned long long)r->drops[MBR_DEC_LENGTH],
		(unsigned long long)r->drops[MBR_DEC_CHECKSUM], (unsigned long long)r->sm.dropped);
}
