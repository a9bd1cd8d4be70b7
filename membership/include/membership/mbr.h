/* SPDX-License-Identifier: MIT */
/*
 * The group membership service (DESIGN.md §4) as a pure state machine: no
 * I/O, no threads, no clock of its own. Events go in (a message, a tick with
 * now_ns, a local suspicion, the dataplane's final row); messages and
 * actions come out through the callbacks given at init. One instance per
 * member.
 *
 * The view change is single-decree Paxos per epoch, run by the members of
 * the current view: the leader (lowest rank not suspected) collects promises
 * carrying each survivor's final receive row, adopts the proposal of the
 * highest ballot any survivor accepted (so a successor never commits a view
 * other than one its predecessor may have committed), or else proposes the
 * view minus the suspects with a ragged trim computed from the rows, and
 * decides once a majority of the current view accepted. Without a majority
 * of the current view alive, nothing is decided: the side stops (primary
 * partition).
 *
 * Failure detection is included (heartbeats every hb_interval_ns, suspicion
 * after hb_timeout_ns); the embedding may also call mbr_suspect() directly
 * (galed seeing its dataplane die).
 */
#ifndef GALE_MEMBERSHIP_MBR_H
#define GALE_MEMBERSHIP_MBR_H

#include <stdbool.h>
#include <stdint.h>

#define MBR_MAX 64
#define MBR_VERSION 1

struct mbr_view {
	uint64_t epoch;
	uint32_t n;
	uint32_t ids[MBR_MAX];
};

/* How far a member got in the current view, per sender rank (its SST row). */
struct mbr_row {
	uint64_t recv[MBR_MAX];	     /* messages received from each sender */
	uint64_t delivered[MBR_MAX]; /* messages delivered from each sender */
};

/* Per sender rank of the old view: how many of its messages count in it. */
struct mbr_trim {
	uint64_t count[MBR_MAX];
};

struct mbr_proposal {
	struct mbr_view view; /* the next view: epoch = old epoch + 1 */
	struct mbr_trim trim; /* applies to the old view */
};

enum mbr_type {
	MBR_HEARTBEAT = 1,
	MBR_SUSPECT,  /* suspects: a rank mask of the sender's epoch */
	MBR_PREPARE,  /* ballot */
	MBR_PROMISE,  /* ballot, accepted_ballot (+ proposal), row */
	MBR_ACCEPT,   /* ballot, proposal */
	MBR_ACCEPTED, /* ballot */
	MBR_DECIDE,   /* proposal (epoch = its view's epoch - 1) */
	MBR_NACK,     /* ballot: the higher one already promised */
	MBR_JOIN,     /* from a process outside the view that asks to join */
	MBR_TYPE_MAX
};

/* One protocol message. Fixed layout; the wire codec lives with the transport. */
struct mbr_msg {
	uint16_t version;
	uint16_t type;
	uint32_t from;	   /* sender's member id */
	uint64_t epoch;	   /* the sender's current view */
	uint64_t ballot;   /* (round << 8) | leader rank */
	uint64_t suspects; /* rank mask in `epoch` */
	uint64_t accepted_ballot;
	struct mbr_proposal proposal;
	struct mbr_row row;
	uint32_t n_joiners; /* joiners the sender knows of (they spread like suspicions) */
	uint32_t joiners[MBR_MAX];
};

enum mbr_action {
	MBR_ACT_WEDGE = 1, /* stop sending, report the final row with mbr_row_ready() */
	MBR_ACT_INSTALL,   /* install proposal->view after applying proposal->trim */
	MBR_ACT_EXCLUDED,  /* a view without this member was decided: stop */
	MBR_ACT_MINORITY,  /* fewer than a majority of the view remain: stop */
	MBR_ACT_ENDED,	   /* this member leaves and no other one remains to go on: stop */
};

struct mbr_ops {
	void (*send)(void *arg, uint32_t to, const struct mbr_msg *m);
	void (*action)(void *arg, enum mbr_action a, const struct mbr_proposal *p);
	void *arg;
};

struct mbr_conf {
	uint32_t my_id;
	bool safe;		 /* SAFE trim (min received) vs FIFO/TOTAL (max delivered) */
	uint64_t hb_interval_ns; /* 0 = 10 ms */
	uint64_t hb_timeout_ns;	 /* 0 = 100 ms */
	uint64_t resend_ns;	 /* protocol retransmission; 0 = 20 ms */
};

enum mbr_state { MBR_RUNNING = 0, MBR_WEDGED, MBR_STOPPED };

struct mbr {
	struct mbr_conf conf;
	struct mbr_ops ops;
	struct mbr_view view;
	struct mbr_view prev_view; /* with have_last: the view `last` replaced */
	uint32_t my_rank;
	enum mbr_state state;
	bool excluded;
	bool joining; /* started by mbr_init_joiner(): no view until one includes it */
	bool leaving; /* mbr_leave() was called */
	uint32_t n_contacts;
	uint32_t contacts[MBR_MAX];
	uint32_t n_joiners; /* processes asking to join, for the next view */
	uint32_t joiners[MBR_MAX];
	uint64_t suspects;
	/* Suspects that asked to leave themselves and still answer: until a view
	 * without them is decided they are acceptors, and count for a majority
	 * (their consent to the change), not for the next view. */
	uint64_t leavers;
	uint64_t last_heard_ns[MBR_MAX];
	uint64_t next_hb_ns, next_resend_ns;
	uint64_t last_tick_ns;
	/* The final row, once the dataplane reported it (after WEDGE). */
	bool row_ready;
	struct mbr_row row;
	bool pending; /* a PREPARE waits for the row */
	uint32_t pending_from;
	/* Acceptor, for the decision of epoch view.epoch + 1. */
	uint64_t promised;
	uint64_t accepted_ballot; /* 0: nothing accepted */
	struct mbr_proposal accepted;
	uint64_t max_round_seen;
	/* Leader. */
	uint64_t ballot;      /* 0: not leading */
	bool accepting;	      /* phase 2 started */
	uint64_t promised_by; /* rank masks */
	uint64_t accepted_by;
	uint64_t best_accepted_ballot;
	struct mbr_proposal value;
	struct mbr_row rows[MBR_MAX];
	/* The last decision, repeated to anyone still in the old view. */
	bool have_last;
	struct mbr_proposal last;
	/* Counters. */
	uint64_t dropped; /* malformed, other version, other epoch, unknown member */
	uint64_t installs;
};

/* Start with an initial view (epoch >= 1) that contains conf->my_id. 0 or -EINVAL. */
int mbr_init(struct mbr *m, const struct mbr_conf *conf, const struct mbr_ops *ops,
	     const struct mbr_view *initial, uint64_t now_ns);
/*
 * Start as a process outside the group that asks to join it: JOIN goes to
 * the contacts every resend_ns until a decided view includes this member
 * (MBR_ACT_INSTALL; its state is then transferred by the embedding).
 */
int mbr_init_joiner(struct mbr *m, const struct mbr_conf *conf, const struct mbr_ops *ops,
		    const uint32_t *contacts, uint32_t n_contacts, uint64_t now_ns);
/* Leave voluntarily: the others exclude this member (MBR_ACT_EXCLUDED follows). */
void mbr_leave(struct mbr *m, uint64_t now_ns);
/* A message arrived (already decoded). */
void mbr_on_msg(struct mbr *m, const struct mbr_msg *msg, uint64_t now_ns);
/* Time passed: heartbeats, failure detection, retransmission. */
void mbr_tick(struct mbr *m, uint64_t now_ns);
/* A local detector saw member `id` fail. */
void mbr_suspect(struct mbr *m, uint32_t id, uint64_t now_ns);
/* The dataplane is wedged and reports its final row for the current view. */
void mbr_row_ready(struct mbr *m, const struct mbr_row *row, uint64_t now_ns);
/* Ragged trim (DESIGN.md §4.3) from the rows of the survivors in `mask`. */
void mbr_trim_compute(bool safe, uint32_t n, uint64_t mask, const struct mbr_row *rows,
		      struct mbr_trim *out);

#endif
