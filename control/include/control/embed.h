/* SPDX-License-Identifier: MIT */
/*
 * The control plane embedded as a thread of the application (the default:
 * no galed process to configure): the same loop as galed (ctlrun.c, the
 * membership state machine with the other members' control planes over
 * UDP) run against one group's control block. The layer above (api/)
 * composes it with the dataplane: it binds the socket first (the port is
 * published in the member's region), opens the dataplane, then attaches
 * the loop to the group's control block and runs it.
 *
 * The thread may run on any core and asks for nice -5, so it keeps
 * answering heartbeats when dataplane threads keep every core busy.
 */
#ifndef GALE_CONTROL_EMBED_H
#define GALE_CONTROL_EMBED_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct ctl_embed;
struct dp_ctl;
struct gb_logger;

struct ctl_embed_conf {
	uint32_t my_id;
	const char *group;
	bool safe;				/* SAFE trim rule (mode SAFE) */
	uint64_t hb_interval_ns, hb_timeout_ns; /* 0: the membership's defaults */
	uint64_t fail_timeout_ns;		/* the dataplane's heartbeat stall = hung */
	uint64_t join_timeout_ns;		/* start-up grace of the first view */
	struct gb_logger *log;
};

/*
 * Bind the control socket to `addr` (port 0: any free port) and make the
 * wake-up eventfd. 0 or -errno (nothing left behind on failure).
 */
int ctl_embed_create(const struct sockaddr_in *addr, struct ctl_embed **out);
/* The port the socket is bound to (published in the member's region). */
uint16_t ctl_embed_port(const struct ctl_embed *e);
/* The eventfd the dataplane writes on every event it posts. */
int ctl_embed_wake_fd(const struct ctl_embed *e);
/*
 * Attach to a group's control block: with its initial view (n ids in rank
 * order, epoch), or as a joiner asking the n contacts (joiner true). 0 or
 * -EINVAL.
 */
int ctl_embed_attach(struct ctl_embed *e, const struct ctl_embed_conf *c, struct dp_ctl *ctl,
		     bool joiner, uint64_t epoch, const uint32_t *ids, uint32_t n);
/* Member id's control plane is at sa (configured, or from its region). */
void ctl_embed_set_addr(struct ctl_embed *e, uint32_t id, const struct sockaddr_in *sa);
/* Start the thread. 0 or -errno. */
int ctl_embed_run(struct ctl_embed *e);
/* Ask the others to install a view without this member (the loop sees it). */
void ctl_embed_leave(struct ctl_embed *e);
/* The heartbeat timeout in use (how long a leave may take). */
uint64_t ctl_embed_hb_timeout_ns(const struct ctl_embed *e);
/* Stop the thread (if running), close the socket, free. */
void ctl_embed_destroy(struct ctl_embed *e);

#endif
