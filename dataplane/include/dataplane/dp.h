/* SPDX-License-Identifier: MIT */
/*
 * The dataplane's interface to the layer above it (api/, which implements
 * the public API by composing the dataplane and the control plane). The
 * control plane itself never includes this: it reaches a group only through
 * the control channel (dataplane/ctl.h).
 *
 * Objects: a node (the agent thread, if any, and the groups it serves) and
 * a group (this member's ring, row, peers and control block). Threads are
 * those of the public API: "app thread" is the thread that claims and
 * polls; the "dataplane thread" is the app thread itself (run to
 * completion) or the node's agent.
 */
#ifndef GALE_DATAPLANE_DP_H
#define GALE_DATAPLANE_DP_H

#include "gale/gale.h"

#include <stdbool.h>
#include <stdint.h>

struct dp_node;
struct dp_group;
struct dp_ctl;
struct gb_logger;

/* ---- node ---- */

/* Check conf, start the agent (THREADING_AGENT), pin. 0 or -errno (logged). */
int dp_node_create(const struct gale_node_conf *conf, struct dp_node **out);
/* Stop the agent and free the node; every group must be closed first. */
void dp_node_destroy(struct dp_node *node);
/* The app thread's idle strategy (gale_node_idle()). */
void dp_node_idle(struct dp_node *node, unsigned work);
struct gb_logger *dp_node_log(struct dp_node *node);

/* ---- group life cycle (slow path) ---- */

/*
 * Validate the configuration, create this member's region and control
 * block, wait for every member of the initial view (or, joining, of the
 * members to ask). `ctl_port` is published in the region so that peers on
 * this host find this member's control plane.
 */
int dp_group_open(struct dp_node *node, const struct gale_group_conf *conf, uint16_t ctl_port,
		  struct dp_group **out);
/* Start serving the group (add it to the node); report the first view. */
int dp_group_start(struct dp_group *g);
/* Between open and start: keep the group's presence up (datagram drivers
 * send this member's status and take the peers'; the heartbeat word moves). */
void dp_group_keepalive(struct dp_group *g);
/* The group's control block (dataplane/ctl.h), for the control plane. */
struct dp_ctl *dp_group_ctl(struct dp_group *g);
/* Control port published by member `id` of the current view or, on a
 * joiner, of a member it asks (0 unknown). Before dp_group_start() only. */
uint16_t dp_group_peer_port(struct dp_group *g, uint32_t id);
/* Joiner, app thread, after its first view was taken: fetch the state the
 * group published for that view and hand it to on_state_put. 0, or -EAGAIN
 * not yet there, or another -errno. */
int dp_group_fetch_state(struct dp_group *g);
/* Wake the embedded control thread through this eventfd on every event (-1: none). */
void dp_group_set_wake_fd(struct dp_group *g, int fd);
/* Settings the control plane needs. */
struct gb_logger *dp_group_log(struct dp_group *g);
uint64_t dp_group_join_timeout_ns(const struct dp_group *g);
uint64_t dp_group_fail_timeout_ns(const struct dp_group *g);
enum gale_mode dp_group_mode(const struct dp_group *g);
/* Publish commits and wait until peers released this member's messages (leave). */
void dp_group_linger(struct dp_group *g);
/* Stop serving and free the group (after the control plane stopped). */
void dp_group_close(struct dp_group *g);

/* ---- the app thread's calls: gale_claim() ... gale_release(), same contracts ---- */

int dp_claim(struct dp_group *g, uint32_t len, void **buf);
int dp_commit(struct dp_group *g, uint32_t len, uint64_t *seq);
int dp_claimv(struct dp_group *g, uint32_t len, void **bufs, int n);
int dp_commitv(struct dp_group *g, int k, uint64_t *first_seq);
int dp_flush(struct dp_group *g);
int dp_abort(struct dp_group *g);
int dp_send(struct dp_group *g, const void *data, uint32_t len);
int dp_poll(struct dp_group *g, struct gale_msg *msgs, int max);
int dp_release(struct dp_group *g, int n);

/* ---- inspection ---- */

uint32_t dp_group_max_msg(const struct dp_group *g);
void dp_group_view(const struct dp_group *g, struct gale_view *out);
void dp_group_status(const struct dp_group *g, struct gale_group_status *out);
void dp_group_counters(const struct dp_group *g, struct gale_counters *out);

/* ---- names ---- */

const char *dp_mode_name(enum gale_mode m);
int dp_mode_parse(const char *s, enum gale_mode *out);
int dp_idle_parse(const char *s, enum gale_idle *out);
bool dp_driver_available(const char *name);

#endif
