/* SPDX-License-Identifier: MIT */
/*
 * The dataplane's private state of a node and of a group, and the functions
 * the files of this folder share. Fields are grouped by the thread that
 * writes them; each group is on its own cache lines.
 *
 * Threads: the "app thread" is the one that calls dp_claim/commit/poll on
 * a group. The "dataplane thread" runs dp_group_work(): the app thread itself
 * with GALE_THREADING_APP, the node's agent with GALE_THREADING_AGENT.
 */
#ifndef GALE_DATAPLANE_GROUP_H
#define GALE_DATAPLANE_GROUP_H

#include "base/idle.h"
#include "base/log.h"
#include "dataplane/ctl.h"
#include "dataplane/dp.h"
#include "drivers/drv.h"
#include "layout.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define DP_DQ_SIZE GALE_MAX_UNRELEASED /* delivery queue; power of two */
static_assert((DP_DQ_SIZE & (DP_DQ_SIZE - 1)) == 0, "delivery queue size is a power of two");
#define DP_MAX_GROUPS 16 /* groups per node */
#define DP_FIFO_BURST 64 /* records delivered from one sender before the next is served */
#define DP_LIVENESS_PERIOD_NS 1000000ull /* peer checks at most this often */
#define DP_NO_RANK 0xff			 /* dq_rank of a marker, or of a departed sender */

/* View change progress (dataplane thread). */
enum dp_vc { DP_VC_NONE = 0, DP_VC_WEDGED, DP_VC_TRIM };

/*
 * In-place delivery (dgram.c, dpdk): for each DP_REC_ALIGN slot of a mirror
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
	uint64_t stable;     /* SAFE: bytes of its ring that every member has seen */
	uint64_t freed;	     /* bytes of its ring this member has released */
	uint64_t hb_seen;    /* liveness: last heartbeat value and when it changed */
	uint64_t hb_change_ns;
};

struct dp_node;

struct dp_group {
	/* Set at join, read-only after. */
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
	bool agent; /* GALE_THREADING_AGENT */
	uint32_t my_rank;
	uint32_t n;
	uint32_t epoch32;
	uint64_t fail_timeout_ns;
	uint64_t join_timeout_ns;
	struct gale_view view; /* dataplane thread's; the app's is app_view */
	gale_view_fn on_view;
	gale_status_fn on_status;
	void *cb_arg;
	struct gb_logger *log;
	char name[GALE_NAME_MAX + 1];
	gale_state_get_fn on_state_get;
	gale_state_put_fn on_state_put;
	/* A joiner, until a view has it: the members it asks, and their ports. */
	bool joining;
	uint32_t n_contacts;
	uint32_t contact_ids[GALE_MAX_MEMBERS];
	uint16_t contact_ports[GALE_MAX_MEMBERS];

	/* App thread: send state. */
	gb_cache_aligned uint64_t commit_pos; /* end of committed records (private copy) */
	uint64_t claim_pos;		      /* open claim's record, UINT64_MAX if none */
	uint32_t claim_len;
	uint64_t free_floor; /* min over members of freed_pos[my_rank] */
	uint64_t commit_msgs;
	uint64_t last_rec_end;	/* end of the last committed record (not a pad) */
	uint32_t unpublished;	/* commits not yet published (APP mode) */
	uint32_t publish_batch; /* publish at once every this many commits */
	/* App thread: delivery hand-out. */
	uint64_t dq_handed;
	uint64_t dq_held; /* handed out and not yet released */
	enum gale_status status_reported;
	uint64_t app_gate; /* the send_gate value that lets this thread claim */
	struct gale_view app_view;
	uint32_t app_n;					 /* app_view's members' rows, by rank */
	const struct dp_row *app_rows[GALE_MAX_MEMBERS]; /* (flow control, linger) */
	/* Shared app -> dataplane (AGENT mode). */
	gb_cache_aligned _Atomic uint64_t commit_shared; /* R3 pairs with A3 */
	_Atomic uint64_t dq_released;			 /* R4 pairs with A4 */

	/* Dataplane thread -> app. */
	gb_cache_aligned _Atomic uint64_t dq_prod; /* R5 pairs with A5 */
	_Atomic uint32_t status;		   /* enum gale_status; R10 pairs with A10 */
	_Atomic uint32_t failed_id;
	/* (epoch << 1) | wedged: claims are refused unless it equals app_gate (R15/A15) */
	_Atomic uint64_t send_gate;
	struct gale_view next_view; /* the view the app is told of next (R17) */
	uint64_t next_resent_first; /* and this member's first cut send of the old view */
	uint64_t marker_at;	    /* the queue index of next_view's first delivery */
	const struct dp_row *next_rows[GALE_MAX_MEMBERS];
	_Atomic uint64_t view_pub; /* next_view's epoch; R17 pairs with A17 */
	/* App thread -> dataplane: the epoch of the last marker consumed (R16/A16). */
	gb_cache_aligned _Atomic uint64_t app_epoch_ack;

	/* Dataplane thread only. */
	gb_cache_aligned uint64_t seq_pos; /* own records up to here published */
	uint64_t own_next_round;	   /* next round this member may use */
	uint64_t max_peer_round;	   /* highest next_round seen from anyone */
	uint64_t dq_rel_seen;
	uint64_t passes;
	uint64_t liveness_ns; /* last liveness check */
	uint32_t fifo_next;   /* FIFO round-robin start */
	enum dp_vc vc;
	bool stale;	       /* a peer is in a later epoch: deliver nothing */
	uint64_t cmd_tail;     /* control commands consumed */
	struct dp_cmd install; /* DP_VC_TRIM: the view being installed */
	uint64_t vc_start_ns;  /* wedge time, for the log */
	struct dp_peer peers[GALE_MAX_MEMBERS];

	/* Counters: written by their owning thread, read relaxed by anyone. */
	gb_cache_aligned _Atomic uint64_t c_sent_msgs, c_sent_bytes, c_backpressure, c_deliv_msgs,
		c_deliv_bytes; /* app thread */
	gb_cache_aligned _Atomic uint64_t c_polls, c_idle_polls, c_rows, c_invalid,
		c_peer_failures; /* dataplane thread */

	/* Delivery queue: entries [dq_released, dq_prod) are in use. */
	struct gale_msg dq[DP_DQ_SIZE];
	uint64_t dq_end[DP_DQ_SIZE]; /* ring position after the record */
	uint8_t dq_rank[DP_DQ_SIZE];

	/* The control channel (ctl.h): the control plane's only way in. */
	struct dp_ctl *ctl; /* a shared mapping of ctl_path */
	int ctl_wake_fd;
	char ctl_path[96];
};

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

/* A counter with one writer: a plain add, published relaxed for readers. */
static inline void
dp_cnt_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* The round this member's next published records get (dataplane thread). */
static inline uint64_t
dp_round_now(const struct dp_group *g)
{
	return GB_MAX(g->own_next_round, g->max_peer_round);
}

/* group.c: peer id's region (shm: mapped; datagram drivers: its mirror). */
int dp_attach(struct dp_group *g, uint32_t id, const void **region);
/* Point p at member id's region (from dp_attach): its row, ring, in-place slots. */
void dp_peer_map(struct dp_group *g, struct dp_peer *p, uint32_t id, const void *region);
int32_t dp_peer_pid(struct dp_group *g, uint32_t id);
/* work_fp.c: one dataplane pass over a group; returns the work done. */
unsigned dp_group_work(struct dp_group *g);
/* work_fp.c: the record at p->deliv_pos (skipping pads), NULL if none or corrupt. */
const struct dp_rec *dp_peek(struct dp_group *g, struct dp_peer *p, uint32_t *len_out);
/* work_fp.c: queue rank's record h for delivery at queue index prod. */
void dp_emit(struct dp_group *g, uint32_t rank, const struct dp_rec *h, uint32_t len,
	     uint64_t prod);
/* work_fp.c: publish own records committed up to `upto` (dataplane thread). */
unsigned dp_sequence_own(struct dp_group *g, uint64_t upto);
/* group.c: stop the group with a status and the member that caused it. */
void dp_group_stop(struct dp_group *g, enum gale_status st, uint32_t id, const char *why);
/* viewchange.c: serve the control channel; returns the work done. */
unsigned dp_ctl_work(struct dp_group *g);
/* viewchange.c: post an event to the control plane (false: ring full, counted). */
bool dp_ctl_post(struct dp_group *g, const struct dp_evt *e);
/* viewchange.c: report a peer as failed to the control plane, once per epoch. */
void dp_suspect(struct dp_group *g, uint32_t rank, const char *why);
/* viewchange.c: the wedged or installing part of a pass. */
unsigned dp_vc_work(struct dp_group *g);
/* node.c: agent start/stop, registration. */
int dp_node_add_group(struct dp_node *node, struct dp_group *g);
void dp_node_remove_group(struct dp_node *node, struct dp_group *g);
/* node.c: pin the calling thread to a CPU through hwloc (0 or -errno). */
int dp_pin_thread(struct gb_logger *log, int cpu);

#endif
