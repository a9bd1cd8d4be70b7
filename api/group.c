/* SPDX-License-Identifier: MIT */
/*
 * Joining and leaving a group: the dataplane (dataplane/dp.h) composed with
 * its control plane, an embedded thread (control/embed.h) or, with
 * external_control, a galed process that attaches to the control block.
 *
 * Join: bind the control socket (its port goes into the member's region),
 * open the dataplane (its region, control block, the initial view's
 * members), attach the control loop to the block with every member's
 * control address, start the dataplane, run the loop. A joiner then keeps
 * polling until a view has it and its state arrived.
 *
 * Leave: publish and linger until the peers released this member's
 * messages, ask the others for a view without it, keep the dataplane going
 * until they installed one (or give up), stop the loop, close.
 */
#include "api.h"

#include "base/clock.h"
#include "base/log.h"
#include "base/net.h"
#include "control/embed.h"
#include "dataplane/ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
		if (!c->net.addrs[i] || gb_parse_addr(c->net.addrs[i], out) != 0 ||
		    ntohs(out->sin_port) == 65535)
			return -EINVAL;
		out->sin_port = htons((uint16_t)(ntohs(out->sin_port) + 1));
		return 0;
	}
	return -EINVAL;
}

static int
node_add(struct gale_node *node, struct gale_group *g)
{
	int rc = -ENOSPC;
	pthread_mutex_lock(&node->lock);
	for (unsigned i = 0; i < API_MAX_GROUPS && rc; i++)
		if (!node->groups[i]) {
			node->groups[i] = g;
			rc = 0;
		}
	pthread_mutex_unlock(&node->lock);
	return rc;
}

static void
node_remove(struct gale_node *node, struct gale_group *g)
{
	pthread_mutex_lock(&node->lock);
	for (unsigned i = 0; i < API_MAX_GROUPS; i++)
		if (node->groups[i] == g)
			node->groups[i] = NULL;
	pthread_mutex_unlock(&node->lock);
}

/*
 * A joiner: keep its dataplane going until the group installed a view with
 * it (taken by polling, which reports it through on_view), then until the
 * state for that view arrived (on_state_put), within join_timeout.
 */
static int
wait_joined(struct gale_group *g, const struct gale_group_conf *c)
{
	struct gb_logger *log = dp_group_log(g->dp);
	uint64_t deadline = gb_now_ns() + dp_group_join_timeout_ns(g->dp);
	struct gale_view v = { 0 };
	struct gale_group_status st;
	int rc = -EAGAIN;
	while (gb_now_ns() < deadline) {
		dp_poll(g->dp, NULL, 0); /* hands out nothing: the state comes first */
		dp_group_view(g->dp, &v);
		dp_group_status(g->dp, &st);
		if (st.status != GALE_STATUS_JOINING && st.status != GALE_STATUS_RUNNING)
			break;
		if (v.epoch && (rc = dp_group_fetch_state(g->dp)) != -EAGAIN)
			break;
		gb_sleep_ns(200000);
	}
	if (rc)
		gb_log(log, GB_LOG_ERR, "GALE-JOIN-FAILED", "member %u could not join group %s: %s",
		       c->my_id, c->name,
		       !v.epoch	       ? "no view with it was installed in time"
		       : rc == -EAGAIN ? "its state did not arrive in time"
				       : gale_strerror(rc));
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

/* external_control: open the dataplane, wait for galed --dataplane to attach. */
static int
join_external(struct gale_group *g, const struct gale_group_conf *c)
{
	if (c->join_running) {
		gb_log(dp_node_log(g->node->dp), GB_LOG_ERR, "GALE-CONF-INVALID",
		       "external_control with join_running is not supported yet");
		return -EINVAL;
	}
	int rc = dp_group_open(g->node->dp, c, 0, &g->dp);
	if (rc)
		return rc;
	g->ctl = dp_group_ctl(g->dp);
	uint64_t deadline = gb_now_ns() + dp_group_join_timeout_ns(g->dp);
	/* A: pairs with galed's release store of ctl_pid once it serves the block. */
	while (!atomic_load_explicit(&g->ctl->ctl_pid, memory_order_acquire)) {
		if (gb_now_ns() > deadline) {
			gb_log(dp_group_log(g->dp), GB_LOG_ERR, "GALE-JOIN-TIMEOUT",
			       "group %s: no galed --dataplane attached to member %u's control "
			       "block in time",
			       c->name, c->my_id);
			dp_group_close(g->dp);
			return -ETIMEDOUT;
		}
		dp_group_keepalive(g->dp);
		gb_sleep_ns(200000);
	}
	rc = dp_group_start(g->dp);
	if (rc)
		dp_group_close(g->dp);
	return rc;
}

/* The embedded control plane: socket, dataplane, control loop, start. */
static int
join_embedded(struct gale_group *g, const struct gale_group_conf *c)
{
	struct gb_logger *nlog = dp_node_log(g->node->dp);
	/* Datagram drivers: the control plane sits next to the data socket
	 * (PORT + 1 of the member's address); shm: any port on 127.0.0.1. */
	struct sockaddr_in sa = loopback(0);
	if (c->net.addrs && net_ctl_addr(c, c->my_id, &sa) != 0) {
		gb_log(nlog, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "net.addrs has no valid address for member %u: valid: \"A.B.C.D:PORT\" "
		       "with PORT 1 to 65534 (the control plane uses PORT + 1)",
		       c->my_id);
		return -EINVAL;
	}
	int rc = ctl_embed_create(&sa, &g->embed);
	if (rc)
		return rc;
	rc = dp_group_open(g->node->dp, c, ctl_embed_port(g->embed), &g->dp);
	if (rc) {
		ctl_embed_destroy(g->embed);
		return rc;
	}
	g->ctl = dp_group_ctl(g->dp);
	dp_group_set_wake_fd(g->dp, ctl_embed_wake_fd(g->embed));
	struct ctl_embed_conf ec = { .my_id = c->my_id,
				     .group = c->name,
				     .safe = c->mode == GALE_MODE_SAFE,
				     .hb_interval_ns = c->hb_interval_ns,
				     /* 0: GALE_HB_TIMEOUT_MS (slow builds), or 100 ms */
				     .hb_timeout_ns = c->hb_timeout_ns
							      ? c->hb_timeout_ns
							      : gb_env_ms("GALE_HB_TIMEOUT_MS"),
				     .fail_timeout_ns = dp_group_fail_timeout_ns(g->dp),
				     .join_timeout_ns = dp_group_join_timeout_ns(g->dp),
				     .log = dp_group_log(g->dp) };
	uint32_t ids[GALE_MAX_MEMBERS];
	uint32_t n = c->n_members;
	uint64_t epoch = 0;
	for (uint32_t i = 0; i < n; i++)
		ids[i] = c->member_ids ? c->member_ids[i] : i;
	if (!c->join_running) {
		struct gale_view v;
		dp_group_view(g->dp, &v);
		epoch = v.epoch;
		n = v.n_members;
		for (uint32_t r = 0; r < n; r++)
			ids[r] = v.members[r].id;
	}
	rc = ctl_embed_attach(g->embed, &ec, g->ctl, c->join_running, epoch, ids, n);
	for (uint32_t i = 0; rc == 0 && i < c->n_members; i++) {
		uint32_t id = c->member_ids ? c->member_ids[i] : i;
		struct sockaddr_in peer = loopback(dp_group_peer_port(g->dp, id));
		if (c->net.addrs)
			net_ctl_addr(c, id, &peer);
		ctl_embed_set_addr(g->embed, id, &peer);
	}
	if (rc == 0)
		rc = dp_group_start(g->dp);
	if (rc == 0)
		rc = ctl_embed_run(g->embed);
	if (rc) {
		ctl_embed_destroy(g->embed);
		dp_group_close(g->dp);
	}
	return rc;
}

int
gale_group_join(struct gale_node *node, const struct gale_group_conf *c, struct gale_group **out)
{
	if (!node || !c || !out)
		return -EINVAL;
	struct gale_group *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->node = node;
	int rc = node_add(node, g);
	if (rc) {
		gb_log(dp_node_log(node->dp), GB_LOG_ERR, "GALE-JOIN-FAILED",
		       "this node already has %d groups, the most it can serve", API_MAX_GROUPS);
		free(g);
		return rc;
	}
	rc = c->external_control ? join_external(g, c) : join_embedded(g, c);
	if (rc) {
		node_remove(node, g);
		free(g);
		return rc;
	}
	if (c->join_running) {
		rc = wait_joined(g, c);
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
	dp_group_linger(g->dp);
	if (g->embed) {
		ctl_embed_leave(g->embed);
	} else {
		/* galed reads it at its next step (every millisecond). */
		atomic_store_explicit(&g->ctl->leave_req, 1, memory_order_release);
	}
	/* Keep the dataplane going (run to completion needs these calls) until
	 * the others agreed on a view without this member, or give up. */
	uint64_t hb_timeout = g->embed ? ctl_embed_hb_timeout_ns(g->embed) : 100000000ull;
	uint64_t deadline = gb_now_ns() + 3 * hb_timeout + 2 * dp_group_fail_timeout_ns(g->dp);
	struct gale_group_status st;
	struct gale_msg m[64];
	for (;;) {
		dp_group_status(g->dp, &st);
		if (st.status != GALE_STATUS_RUNNING || gb_now_ns() > deadline)
			break;
		int n = dp_poll(g->dp, m, 64);
		if (n > 0)
			dp_release(g->dp, n);
		else
			gb_sleep_ns(200000);
	}
	ctl_embed_destroy(g->embed);
	dp_group_close(g->dp);
	node_remove(g->node, g);
	free(g);
}

uint32_t
gale_group_max_msg(const struct gale_group *g)
{
	return dp_group_max_msg(g->dp);
}

int
gale_group_view(const struct gale_group *g, struct gale_view *out)
{
	dp_group_view(g->dp, out);
	return 0;
}

int
gale_group_status(const struct gale_group *g, struct gale_group_status *out)
{
	dp_group_status(g->dp, out);
	return 0;
}

void
gale_group_counters(const struct gale_group *g, struct gale_counters *out)
{
	dp_group_counters(g->dp, out);
}
