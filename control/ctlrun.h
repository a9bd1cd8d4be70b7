/* SPDX-License-Identifier: MIT */
/*
 * The control plane's loop, shared by the embedded thread (embed.c) and the
 * galed process (galed.c): the membership state machine (membership/mbr.h)
 * over a UDP socket, and a dataplane's control block (dataplane/ctl.h):
 *
 *   mbr action            -> command            dataplane event   -> mbr input
 *   WEDGE                 -> DP_CMD_WEDGE       DP_EVT_ROW        -> mbr_row_ready()
 *   INSTALL (view, trim)  -> DP_CMD_INSTALL     DP_EVT_SUSPECT    -> mbr_suspect()
 *   EXCLUDED, MINORITY    -> DP_CMD_STOP        leave_req         -> mbr_leave()
 *
 * Without a block (galed alone) a wedge reports the empty row of a member
 * that carried no messages. The dataplane's heartbeat word is watched (a
 * hung dataplane is this member hung: it falls silent, so the others
 * exclude it), and with a pidfd of the dataplane's process (galed) its
 * death is seen at once: the member then asks the others to exclude it.
 */
#ifndef GALE_CONTROL_CTLRUN_H
#define GALE_CONTROL_CTLRUN_H

#include "base/log.h"
#include "dataplane/ctl.h"
#include "membership/codec.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define CTLRUN_MAX_ADDRS (2 * MBR_MAX)
#define CTLRUN_MAX_PENDING 16

struct ctlrun_conf {
	uint32_t my_id;
	const char *group;
	bool safe;
	uint64_t hb_interval_ns, hb_timeout_ns; /* 0: mbr's defaults */
	uint64_t fail_timeout_ns;		/* dataplane heartbeat stall = hung */
	uint64_t join_timeout_ns;		/* start-up grace of the first view */
	struct gb_logger *log;
	/* Told of every action after it was applied (galed prints them); may be NULL. */
	void (*on_action)(void *arg, enum mbr_action a, const struct mbr_proposal *p);
	void *arg;
};

struct ctlrun {
	struct ctlrun_conf c;
	struct dp_ctl *ctl; /* NULL: no dataplane */
	int fd;		    /* UDP socket, bound */
	int wake_fd;	    /* eventfd the dataplane writes, or -1 */
	int dp_pidfd;	    /* the dataplane's process, or -1 */
	struct mbr sm;
	uint64_t group_hash;
	uint64_t start_ns;
	uint64_t heard; /* ranks of the first view heard from (start-up grace) */
	bool started;
	uint64_t dp_hb, dp_hb_ns;
	bool dp_hung, dp_faulted, dp_dead;
	bool leave_req;
	bool stopped; /* excluded, minority or left: nothing more to do */
	enum mbr_action stop_action;
	uint32_t n_addrs;
	struct {
		uint32_t id;
		struct sockaddr_in sa;
	} addrs[CTLRUN_MAX_ADDRS];
	struct dp_cmd pending[CTLRUN_MAX_PENDING];
	unsigned n_pending;
	uint64_t sent, received, send_errors;
	uint64_t drops[MBR_DEC_ERR_MAX];
};

/*
 * Start: with an initial view, or (initial NULL) as a joiner asking the
 * contacts. fd is a bound UDP socket; ctl may be NULL. 0 or -EINVAL.
 */
int ctlrun_start(struct ctlrun *r, const struct ctlrun_conf *c, int fd, struct dp_ctl *ctl,
		 const struct mbr_view *initial, const uint32_t *contacts, uint32_t n_contacts);
/* Member id's control plane is at sa (configured, from its region, or learnt). */
void ctlrun_set_addr(struct ctlrun *r, uint32_t id, const struct sockaddr_in *sa);
/* Wait up to timeout_ms for a datagram or an event, then do all that is due. */
void ctlrun_step(struct ctlrun *r, int timeout_ms);
/* Ask to leave (the others exclude this member; MBR_ACT_EXCLUDED follows). */
void ctlrun_leave(struct ctlrun *r);
/* The GALE-STATS line: traffic and drops by reason. */
void ctlrun_print_stats(const struct ctlrun *r);

#endif
