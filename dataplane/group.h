/* SPDX-License-Identifier: MIT */
/*
 * The dataplane's private state of a node and of a group, and the functions
 * the files of this folder share.
 *
 * Threads: the "app thread" is the one that calls dp_claim/commit/poll on a
 * group (gale_claim() ...). The "dataplane thread" runs dp_group_work(): the
 * app thread itself with GALE_THREADING_APP (run to completion, inside
 * dp_poll()), the node's agent with GALE_THREADING_AGENT.
 *
 * A group's state is split by the thread that writes it, one part each, on
 * cache lines of its own (static_asserts below):
 *
 *   fx    set by dp_group_open(), read-only once the group is served
 *   app   the app thread's (send state, deliveries handed out, its view)
 *   up    app thread -> dataplane thread: commit position, view taken
 *   down  dataplane thread -> app thread: status, send gate, the next view
 *   w     the dataplane thread's (sequencing, peers, view, view change)
 *   dq    the delivery queue: entries written by the dataplane thread
 *         (producer), handed out and released by the app thread (consumer)
 *   ca/cd the counters of each writer (one table, GALE_COUNTERS)
 *
 * Functions take the part they need where that is all they touch.
 */
#ifndef GALE_DATAPLANE_GROUP_H
#define GALE_DATAPLANE_GROUP_H

#include "base/idle.h"
#include "base/log.h"
#include "base/spsc.h"
#include "dataplane/ctl.h"
#include "dataplane/dp.h"
#include "drivers/drv.h"
#include "layout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define DP_DQ_SIZE GALE_MAX_UNRELEASED /* delivery queue; power of two */
static_assert((DP_DQ_SIZE & (DP_DQ_SIZE - 1)) == 0, "delivery queue size is a power of two");
#define DP_MAX_GROUPS 16 /* groups per node */
#define DP_FIFO_BURST 64 /* records delivered from one sender before the next is served */
#define DP_LIVENESS_PERIOD_NS 1000000ull /* peer checks at most this often */
#define DP_TICK_PASSES 16      /* shm: the clock is read, and periodic work done, this often */
#define DP_PREFETCH_AHEAD 4096 /* ring bytes: lines asked for this far ahead */
#define DP_PREFETCH_MAX 2048   /* and at most this many bytes of them per claim */
#define DP_NO_RANK 0xff
/* In-place delivery's slots: one per this many ring bytes. A record kept in
 * place takes at least a slot's bytes, so no two share a slot. */
#define DP_INPLACE_SLOT 64
#define DP_INPLACE_MIN_LEN                                                                         \
	(DP_INPLACE_SLOT -                                                                         \
	 16) /* payload bytes of the smallest */ /* dq rank of a departed sender */

/* View change progress (dataplane thread). */
enum dp_vc { DP_VC_NONE = 0, DP_VC_WEDGED, DP_VC_TRIM };

/* The counters, indexed by the public table (GALE_COUNTERS, gale.h). */
enum dp_counter {
#define DP_COUNTER_ENUM_(name, text) DP_C_##name,
	GALE_COUNTERS(DP_COUNTER_ENUM_)
#undef DP_COUNTER_ENUM_
		DP_C_MAX
};

/* One writer's counters: a plain add, published relaxed for readers. */
struct dp_counters {
	gb_cache_aligned _Atomic uint64_t v[DP_C_MAX];
};

/* A counter with one writer: a plain add, published relaxed for readers. */
static inline void
dp_cnt_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void
dp_count(struct dp_counters *c, enum dp_counter k, uint64_t n)
{
	dp_cnt_add(&c->v[k], n);
}

/*
 * In-place delivery (dgram.c, dpdk): for each DP_INPLACE_SLOT bytes of a mirror
 * ring, the payload of the record that starts at ring position `pos`, in a
 * received frame the datagram layer keeps; ptr NULL or another pos: the
 * payload is in the mirror, after the record's header.
 */
struct dp_inplace {
	const uint8_t *ptr;
	uint64_t pos;
};

/* One sender's ring as this member reads it (index = rank). Dataplane thread only. */
struct dp_peer {
	const struct dp_row *row;
	const uint8_t *ring;
	const struct dp_inplace *inplace; /* NULL: every payload is in the ring */
	uint32_t id;
	bool failed;	     /* its ring is not read any more (corrupt) */
	bool suspected;	     /* reported to the control plane in this epoch */
	bool need_base;	     /* new in this view: its start is read once it switched */
	uint64_t seen;	     /* bytes of its ring published (its tail as last read) */
	uint64_t nr_seen;    /* its next_round as last read (before `seen`) */
	uint64_t deliv_pos;  /* next record to deliver */
	uint64_t deliv_seq;  /* its sequence number */
	uint64_t last_round; /* round of the last record delivered (monotone check) */
	uint64_t trim;	     /* DP_VC_TRIM: its messages to deliver in the old view */
	uint64_t freed;	     /* bytes of its ring this member has released */
	uint64_t hb_seen;    /* liveness: last heartbeat value and when it changed */
	uint64_t hb_change_ns;
};

/* fx: set by dp_group_open() before the group is served; read-only after. */
struct dp_fixed {
	struct dp_node *node;
	const struct drv_ops *ops;
	struct drv *drv;
	struct dp_dgram *dgram; /* datagram drivers: mirrors and loss repair (dgram.c) */
	struct dp_row *row;	/* own row (written by the dataplane thread) */
	uint8_t *ring;		/* own ring */
	uint64_t ring_bytes;
	uint64_t ring_mask;
	uint32_t max_msg;
	enum gale_mode mode;
	bool agent;		/* GALE_THREADING_AGENT */
	bool no_self;		/* FIFO: own messages are not queued for delivery */
	uint32_t publish_batch; /* APP: publish at once every this many commits */
	uint64_t fail_timeout_ns;
	uint64_t join_timeout_ns;
	gale_view_fn on_view;
	gale_status_fn on_status;
	gale_state_get_fn on_state_get;
	gale_state_put_fn on_state_put;
	void *cb_arg;
	struct gb_logger *log;
	char name[GALE_NAME_MAX + 1];
	/* The control channel (ctl.h): the control plane's only way in. */
	struct dp_ctl *ctl; /* a shared mapping of ctl_path */
	int ctl_wake_fd;
	char ctl_path[96];
};

/* app: the app thread's. */
struct dp_app {
	/* Sending. */
	uint64_t commit_pos; /* end of committed records (private copy) */
	uint64_t claim_pos;  /* open claim's record, UINT64_MAX if none */
	uint32_t claim_len;
	uint32_t claim_n;     /* records in the open claim (dp_claimv) */
	uint32_t unpublished; /* commits not yet published (APP mode) */
	uint64_t free_floor;  /* min over members of freed_pos[my_rank] */
	uint64_t commit_msgs;
	uint64_t last_rec_end; /* end of the last committed record (not a pad) */
	uint64_t gate;	       /* the send_gate value that lets this thread claim */
	/* Deliveries handed out: entries [dq tail, handed) are held by the app. */
	uint64_t handed;
	uint64_t held; /* handed out and not yet released */
	enum gale_status status_reported;
	/* The view the app is in, and its members' rows (flow control, linger). */
	struct gale_view view;
	uint32_t n;
	const struct dp_row *rows[GALE_MAX_MEMBERS];
};

/* up: written by the app thread, read by the dataplane thread. */
struct dp_up {
	/* AGENT mode: records below are written; R3 pairs with A3 in dp_group_work(). */
	_Atomic uint64_t commit_shared;
	/* The epoch of the last view the app took (R16 pairs with A16 in dp_vc_work()). */
	_Atomic uint64_t epoch_ack;
};

/* down: written by the dataplane thread, read by the app thread. */
struct dp_down {
	_Atomic uint32_t status; /* enum gale_status; R10 pairs with A10 */
	_Atomic uint32_t failed_id;
	/* (epoch << 1) | wedged: claims are refused unless it equals app.gate (R15/A15) */
	_Atomic uint64_t send_gate;
	_Atomic uint64_t view_pub;  /* next_view's epoch; R17 pairs with A17 */
	struct gale_view next_view; /* the view the app is told of next (R17) */
	uint64_t next_resent_first; /* and this member's first cut send of the old view */
	uint64_t marker_at;	    /* the queue index of next_view's first delivery */
	const struct dp_row *next_rows[GALE_MAX_MEMBERS];
};

/* w: the dataplane thread's. */
struct dp_work {
	uint32_t my_rank;
	uint32_t n;
	uint32_t epoch32;
	struct gale_view view;	 /* the dataplane thread's; the app's is app.view */
	uint64_t seq_pos;	 /* own records up to here published */
	uint64_t own_next_round; /* next round this member may use */
	uint64_t max_peer_round; /* highest next_round seen from anyone */
	uint64_t passes;
	uint64_t now_ns;      /* the time as last read (tick.c) */
	uint64_t liveness_ns; /* last liveness check */
	uint32_t fifo_next;   /* FIFO round-robin start */
	bool stale;	      /* a peer is in a later epoch: deliver nothing */
	/* The view change. */
	enum dp_vc vc;
	struct dp_cmd install; /* DP_VC_TRIM: the view being installed */
	uint64_t vc_start_ns;  /* wedge time, for the log */
	/* A joiner, until a view has it: the members it asks, and their ports. */
	bool joining;
	uint32_t n_contacts;
	uint32_t contact_ids[GALE_MAX_MEMBERS];
	uint16_t contact_ports[GALE_MAX_MEMBERS];
	struct dp_peer peers[GALE_MAX_MEMBERS];
};

/* The delivery queue: one entry per message handed to the app. */
struct dp_dq {
	struct gb_spsc pos; /* head: the dataplane thread publishes; tail: the app releases */
	struct gale_msg msg[DP_DQ_SIZE];
	uint64_t end[DP_DQ_SIZE]; /* ring position after the record */
	uint8_t rank[DP_DQ_SIZE]; /* its sender's rank (DP_NO_RANK: the sender left) */
};

struct dp_group {
	struct dp_fixed fx;
	gb_cache_aligned struct dp_app app;
	gb_cache_aligned struct dp_up up;
	gb_cache_aligned struct dp_down down;
	gb_cache_aligned struct dp_work w;
	struct dp_counters ca; /* written by the app thread */
	struct dp_counters cd; /* written by the dataplane thread */
	struct dp_dq dq;
};

/* The parts shared between the two threads start on lines of their own. */
static_assert(offsetof(struct dp_group, app) % GB_CACHE_LINE == 0, "app part aligned");
static_assert(offsetof(struct dp_group, up) % GB_CACHE_LINE == 0, "up part aligned");
static_assert(offsetof(struct dp_group, up) >=
		      offsetof(struct dp_group, app) + sizeof(struct dp_app),
	      "up after app");
static_assert(sizeof(struct dp_up) <= GB_CACHE_LINE, "up is one line");
static_assert(offsetof(struct dp_group, down) % GB_CACHE_LINE == 0, "down part aligned");
static_assert(offsetof(struct dp_group, down) - offsetof(struct dp_group, up) >= GB_CACHE_LINE,
	      "up and down on different lines");
static_assert(offsetof(struct dp_group, w) % GB_CACHE_LINE == 0, "work part aligned");
static_assert(offsetof(struct dp_group, ca) % GB_CACHE_LINE == 0 &&
		      offsetof(struct dp_group, cd) % GB_CACHE_LINE == 0,
	      "counters aligned");
static_assert(offsetof(struct dp_group, dq) % GB_CACHE_LINE == 0, "queue positions aligned");

struct dp_node {
	struct gale_node_conf conf;
	struct gb_logger log;
	/* Groups the agent serves; a NULL slot is free. R6 (join) pairs with A6 (agent). */
	_Atomic(struct dp_group *) groups[DP_MAX_GROUPS];
	pthread_t agent;
	bool agent_running;
	_Atomic bool stop;
	_Atomic uint64_t agent_passes; /* full passes over groups; leave waits on it */
	pthread_mutex_t lock;	       /* join/leave only, never the agent */
	struct gb_idle app_idle;       /* dp_node_idle(): the app thread's */
	_Atomic int pin_result;	       /* AGENT + pin: 1 pinned, -errno failed; R11/A11 */
};

/* The round this member's next published records get (dataplane thread). */
static inline uint64_t
dp_round_now(const struct dp_work *w)
{
	return GB_MAX(w->own_next_round, w->max_peer_round);
}

/* ---- work_fp.c: the dataplane thread's pass ---- */
unsigned dp_group_work(struct dp_group *g);
/* The record at p->deliv_pos (pads skipped), NULL if none or corrupt. */
const struct dp_rec *dp_peek(struct dp_group *g, struct dp_peer *p, uint32_t *len_out);
/* Publish own records committed up to `upto`. */
unsigned dp_sequence_own(struct dp_group *g, uint64_t upto);

/* ---- merge_fp.c: delivery in the mode's order, normal and up to a trim ---- */
/* Deliver into the queue at prod, up to space entries; `trim`: the view
 * change's limits (w.peers[r].trim) instead of the normal ones. Returns the
 * count; *stuck (trim) when a kept record is not in its sender's ring. */
unsigned dp_deliver(struct dp_group *g, uint64_t prod, uint64_t space, bool trim, bool *stuck);

/* ---- tick.c: periodic work and the clock (slow path) ---- */
/* Read the clock into w.now_ns; for the pass's periodic work. */
void dp_clock_read(struct dp_group *g);
/* Liveness of the peers and the counter snapshot, when due (w.now_ns). */
void dp_group_tick(struct dp_group *g);

/* ---- app.c: the app thread's slow path ---- */
/* A view change reached in the delivery stream: take the new view. */
void dp_take_view(struct dp_group *g);
/* The group stopped (status st): report it once (on_status), unless
 * deliveries are still queued or coming. Returns 0 or -GALE_ESTOPPED. */
int dp_report_stop(struct dp_group *g, uint32_t st, int max);

/* ---- group.c ---- */
/* Peer id's region (shm: mapped; datagram drivers: its mirror). */
int dp_attach(struct dp_group *g, uint32_t id, const void **region);
/* Point p at member id's region (from dp_attach): its row, ring, in-place slots. */
void dp_peer_map(struct dp_group *g, struct dp_peer *p, uint32_t id, const void *region);
int32_t dp_peer_pid(struct dp_group *g, uint32_t id);
/* Stop the group with a status and the member that caused it. */
void dp_group_stop(struct dp_group *g, enum gale_status st, uint32_t id, const char *why);

/* ---- viewchange.c ---- */
/* Serve the control channel (a command is there); returns the work done. */
unsigned dp_ctl_work(struct dp_group *g);
/* Post an event to the control plane (false: ring full, counted). */
bool dp_ctl_post(struct dp_group *g, const struct dp_evt *e);
/* Report a peer as failed to the control plane, once per epoch. */
void dp_suspect(struct dp_group *g, uint32_t rank, const char *why);
/* A peer left the group (its row says so): reported as dp_suspect(), as a
 * departure (INFO), not counted as a failure. */
void dp_peer_left(struct dp_group *g, uint32_t rank);
/* The installing part of a pass (DP_VC_TRIM). */
unsigned dp_vc_work(struct dp_group *g);

/* ---- node.c ---- */
int dp_node_add_group(struct dp_node *node, struct dp_group *g);
void dp_node_remove_group(struct dp_node *node, struct dp_group *g);
/* Pin the calling thread to a CPU through hwloc (0 or -errno). */
int dp_pin_thread(struct gb_logger *log, int cpu);

#endif
