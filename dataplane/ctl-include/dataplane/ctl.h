/* SPDX-License-Identifier: MIT */
/*
 * The control channel: the only interface the control plane (control/)
 * has to a group's dataplane (DESIGN.md §2). One block per group member:
 *
 *   command ring  control -> dataplane: wedge, install a view with its trim, stop
 *   event ring    dataplane -> control: final row, suspicion, installed, leave
 *   heartbeats    each side bumps its word; the other sees a hang or death
 *
 * Both rings are single-producer single-consumer with fixed-size entries,
 * and the block holds no pointers: it is a shared mapping,
 * /dev/shm/gale.<group>.ctl.<id>, created by the dataplane, used in place
 * by the embedded control thread or mapped by a galed process, and read by
 * galectl (status, counters) which may also ask for a leave. The dataplane
 * looks at the command ring once per pass (one load); an embedded control
 * thread is woken through an eventfd when an event is posted (view changes
 * and failures only), a galed process polls every millisecond.
 */
#ifndef GALE_DATAPLANE_CTL_H
#define GALE_DATAPLANE_CTL_H

#include "base/compiler.h"
#include "base/spsc.h"
#include "gale/gale.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DP_CTL_VERSION 2
#define DP_CTL_CMDS 8	/* command ring entries; power of two */
#define DP_CTL_EVTS 128 /* event ring entries; power of two */

enum dp_cmd_type {
	DP_CMD_WEDGE = 1, /* stop sending and delivering; report the final row */
	DP_CMD_INSTALL,	  /* deliver up to the trim, switch to the view, unwedge */
	DP_CMD_STOP,	  /* stop for good with `status` (excluded, minority) */
};

struct dp_cmd {
	uint32_t type;
	uint32_t status; /* DP_CMD_STOP: enum gale_status */
	uint64_t epoch;	 /* DP_CMD_INSTALL: the new view's epoch */
	uint32_t n;	 /* its members, in rank order */
	uint32_t ids[GALE_MAX_MEMBERS];
	uint64_t trim[GALE_MAX_MEMBERS]; /* per rank of the old view: its messages that count */
};

enum dp_evt_type {
	DP_EVT_ROW = 1,	  /* the final row after a wedge (recv, delivered) */
	DP_EVT_SUSPECT,	  /* `id` died, hung, stopped or left (seen in its region) */
	DP_EVT_INSTALLED, /* the view of `epoch` is installed in the dataplane */
	DP_EVT_LEAVE,	  /* the application asked to leave */
	DP_EVT_STALE,	  /* a peer is in a later epoch: this member lags or was excluded */
	DP_EVT_FAULT,	  /* the dataplane cannot apply a command (logged); it stopped */
};

struct dp_evt {
	uint32_t type;
	uint32_t id;
	uint64_t epoch;
	uint64_t recv[GALE_MAX_MEMBERS];      /* DP_EVT_ROW: messages received per rank */
	uint64_t delivered[GALE_MAX_MEMBERS]; /* DP_EVT_ROW: messages delivered per rank */
	uint32_t n;			      /* DP_EVT_INSTALLED: the view's members, */
	uint32_t ids[GALE_MAX_MEMBERS];
	uint16_t ports[GALE_MAX_MEMBERS]; /* and their control ports */
};

/*
 * What the control side says of the membership, under a sequence lock: seq
 * is odd while the fields are written (an acq_rel exchange opens, a release
 * store closes); a reader loads seq (acquire), the fields (acquire), seq
 * again, and keeps the copy if both reads of seq are the same even number.
 */
struct dp_ctl_status {
	_Atomic uint64_t seq;
	_Atomic uint64_t epoch;
	_Atomic uint32_t state; /* 0 running, 1 wedged (a view change runs), 2 stopped */
	_Atomic uint32_t leader_id;
	_Atomic uint32_t n;
	_Atomic uint32_t ids[GALE_MAX_MEMBERS];
	_Atomic uint64_t installs, dropped, suspects;
};

#define DP_CTL_MAGIC 0x314c54434c414700ull /* "\0GALCTL1" */

struct dp_ctl {
	/* Set by the dataplane before the block is used (magic last, release),
	 * read-only after. */
	_Atomic uint64_t magic;
	uint32_t version;
	uint32_t my_id;
	char group[GALE_NAME_MAX + 1];
	uint32_t mode;
	int32_t dp_pid; /* the dataplane's (application's) process */
	uint64_t fail_timeout_ns;
	uint32_t joiner; /* 1: init_ids are members to ask, not a view */
	uint32_t n_init;
	uint32_t init_ids[GALE_MAX_MEMBERS];
	/* Command ring (cmd[]): control produces, the dataplane consumes. */
	struct gb_spsc cmd_pos;
	/* Event ring (evt[]): the dataplane produces, control consumes. */
	struct gb_spsc evt_pos;
	gb_cache_aligned _Atomic uint64_t dp_heartbeat; /* bumped by every dataplane pass */
	_Atomic uint64_t evt_lost;			/* events dropped on a full ring */
	gb_cache_aligned _Atomic int32_t ctl_pid;	/* the control side's process */
	_Atomic uint64_t ctl_heartbeat;			/* bumped by its loop */
	_Atomic uint32_t leave_req;			/* galectl (or the app) asks to leave */
	struct dp_ctl_status status;			/* written by the control side */
	struct gale_counters counters; /* the group's, copied by the dataplane every ms */
	struct dp_cmd cmd[DP_CTL_CMDS];
	struct dp_evt evt[DP_CTL_EVTS];
};

/* The block of member `id` of `group`: /dev/shm/gale.<group>.ctl.<id>. */
static inline void
dp_ctl_path(char *buf, size_t n, const char *group, uint32_t id)
{
	snprintf(buf, n, "/dev/shm/gale.%s.ctl.%u", group, id);
}

/* Control side: queue a command; false if the ring is full (retry later). */
static inline bool
dp_ctl_push_cmd(struct dp_ctl *c, const struct dp_cmd *cmd)
{
	if (!gb_spsc_free(&c->cmd_pos, DP_CTL_CMDS))
		return false;
	uint64_t head = gb_spsc_prod_pos(&c->cmd_pos);
	c->cmd[head & (DP_CTL_CMDS - 1)] = *cmd;
	gb_spsc_publish(&c->cmd_pos, head + 1); /* S1; A1 in dp_ctl_work() */
	return true;
}

/* Control side: take the next event; false if none. */
static inline bool
dp_ctl_pop_evt(struct dp_ctl *c, struct dp_evt *out)
{
	uint64_t tail = gb_spsc_cons_pos(&c->evt_pos);
	if (tail == gb_spsc_head(&c->evt_pos)) /* A1: S1 in dp_ctl_post() */
		return false;
	*out = c->evt[tail & (DP_CTL_EVTS - 1)];
	gb_spsc_release(&c->evt_pos, tail + 1);
	return true;
}

#endif
