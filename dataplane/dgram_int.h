/* SPDX-License-Identifier: MIT */
/*
 * What the files of the datagram layer share (dgram.c: set-up, attach,
 * close, counters; dgram_rx.c: frames in, mirrors, repairs asked of this
 * member; dgram_tx.c: own records, status rows, NAKs and repairs out).
 * Dataplane thread only, like everything in them. See dgram.c for the design.
 */
#ifndef GALE_DATAPLANE_DGRAM_INT_H
#define GALE_DATAPLANE_DGRAM_INT_H

#include "dgram.h"
#include "group.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

#define DG_RX_BURST 64
#define DG_TX_BURST 32
#define DG_CTL_SLOTS 8		      /* status, NAK and heartbeat frames per burst */
#define DG_CTL_BYTES 1536	      /* largest of those (a 64-member status fits) */
#define DG_STATUS_MIN_NS 50000ull     /* a changed row goes out at most this often */
#define DG_KEEPALIVE_NS 1000000ull    /* something goes out at least this often */
#define DG_FULL_STATUS_NS 10000000ull /* a whole row at least this often */
#define DG_NAK_DELAY_NS 20000ull      /* first NAK: a random wait up to this */
#define DG_NAK_MIN_NS 100000ull	      /* then every backoff, from this ... */
#define DG_NAK_MAX_NS 5000000ull      /* ... doubling up to this without progress */
#define DG_MAX_RANGES 32	      /* received ranges past contig, per mirror */
#define DG_PROMISES 16		      /* (tail, promise) pairs waiting per mirror */
#define DG_RQ 128		      /* repairs queued */
#define DG_MAX_WINDOW (2ull << 20)    /* bytes in flight past the slowest member */
#define DG_FINAL_COPIES 3	      /* the last status row, sent this many times */
#define DG_KEEP 1024		      /* frames kept per mirror (in-place delivery) */
#define DG_COPYBREAK 256	      /* default gale_net_conf.rx_copybreak */

struct dg_range {
	uint64_t from, to;
};

/* A received frame kept for in-place delivery: ring bytes [from, to) of a peer. */
struct dg_kept {
	void *buf; /* the driver's handle (rx_free) */
	uint64_t from, to;
};

/* One peer's mirror (dataplane thread only, except the row's readers). */
struct dg_peer {
	uint32_t id;
	int err;	 /* its first status showed another configuration */
	uint8_t *region; /* NULL until its first status */
	struct dp_row *row;
	uint8_t *ring;
	uint64_t epoch;	    /* row_epoch of the last status applied */
	uint64_t base;	    /* its epoch_base */
	uint64_t resync_to; /* row_epoch held at 0 until contig reaches this */
	uint64_t contig;    /* every byte below is here */
	uint64_t hiwater;   /* the highest position written: bytes below hiwater - ring are gone */
	uint64_t pub;	    /* the mirror's tail: the last whole record below contig */
	uint64_t known;	    /* the furthest position it is known to have sent */
	uint64_t status_seq;
	uint64_t acked; /* its recv_pos of this member's ring (flow control) */
	uint32_t n_ranges;
	struct dg_range ranges[DG_MAX_RANGES];
	uint32_t n_prom;
	struct {
		uint64_t tail, round;
	} prom[DG_PROMISES];
	bool gap, want;
	uint64_t nak_due, nak_backoff, nak_contig;
	/* The top of the highest hole (below received bytes: lost, not in
	 * flight) that a NAK named; a hole above it is NAKed soon, on its own,
	 * without waiting for the older ones' backoff. */
	uint64_t nak_top;
	bool fresh;	    /* a hole above nak_top is waiting ... */
	uint64_t fresh_due; /* ... until then */
	/* In-place delivery (dgram_keep.c); NULL where frames are not kept. */
	struct dp_inplace *inplace; /* one per DP_INPLACE_SLOT of the ring */
	struct dg_kept *kept;	    /* DG_KEEP, a FIFO */
	uint32_t kept_head, kept_tail;
	uint64_t hollow;    /* below: payloads may be in freed frames only (no relay) */
	bool gone;	    /* left the view: its frames go once the app released ... */
	uint64_t gone_mark; /* ... the deliveries handed out before (dq_prod then) */
};

struct dg_rq {
	uint32_t dest, idx; /* to whom; whose ring (index into peers) */
	uint16_t flags;
	uint64_t epoch; /* that ring's epoch when the repair was queued */
	uint64_t from, to;
};

struct dp_dgram {
	uint64_t group_hash, conf_hash;
	uint32_t my_id, my_idx, n, mtu, cap, max_gaps;
	uint64_t window;
	uint32_t copybreak; /* payloads this long or longer are delivered in place */
	struct dg_peer peers[GALE_MAX_MEMBERS];
	/* Own sending. */
	uint64_t sent, sent_epoch, frag_end;
	uint64_t floor; /* own ring: no claim can be overwriting bytes above (own_floor()) */
	uint64_t status_seq, status_ns, full_ns, nak_seq;
	uint64_t last_tail, last_nr, last_sum, last_epoch;
	uint32_t last_state;
	uint64_t rng;
	uint32_t rq_head, rq_tail;
	struct dg_rq rq[DG_RQ];
	/* The burst being built. */
	unsigned n_tx, n_ctl;
	struct drv_tx tx[DG_TX_BURST];
	uint64_t tx_new[DG_TX_BURST]; /* a frame of new records: where they start */
	uint8_t txh[DG_TX_BURST][64];
	uint8_t ctl[DG_CTL_SLOTS][DG_CTL_BYTES];
	struct drv_rx rx[DG_RX_BURST];
	struct gw_frame f; /* scratch: the frame being decoded or encoded */
	/* Counters (dataplane thread writes, anyone reads). */
	struct dp_counters *cnt; /* the group's (g->cd) */
	_Atomic uint64_t drops[DG_DROP_MAX];
};

static inline void
drop(struct dp_dgram *d, unsigned why)
{
	dp_cnt_add(&d->drops[why], 1);
	dp_count(d->cnt, DP_C_frames_dropped, 1);
}

static inline uint64_t
rnd(struct dp_dgram *d, uint64_t below)
{
	/* xorshift64: spreads NAK timers; no need for more. */
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return below ? d->rng % below : 0;
}

static inline struct dg_peer *
peer_of(struct dp_dgram *d, uint32_t id)
{
	for (uint32_t k = 0; k < d->n; k++)
		if (d->peers[k].id == id)
			return &d->peers[k];
	return NULL;
}

/* Rank of member id in the dataplane's current view, or -1. */
static inline int
rank_of(const struct dp_group *g, uint32_t id)
{
	for (uint32_t r = 0; r < g->w.n; r++)
		if (g->w.peers[r].id == id)
			return (int)r;
	return -1;
}

/* dgram_keep.c: in-place delivery. Slots and FIFO for a new mirror (none if
 * the driver keeps no frames or the memory is short). */
void dg_keep_init(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q);
/* Keep rx (ring bytes [from, to) of q) for in-place records: its handle, or
 * NULL (copy them). */
void *dg_keep_frame(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q,
		    const struct drv_rx *rx, uint64_t from, uint64_t to);
/* Free the kept frames every member has released. */
void dg_keep_release(struct dp_group *g, struct dp_dgram *d);
/* Copy q's in-place payloads into its mirror (before relaying from it). */
void dg_keep_materialize(struct dp_group *g, struct dg_peer *q);
/* Free every kept frame and the slots (close). */
void dg_keep_close(struct dp_group *g, struct dp_dgram *d);

/* dgram_tx.c: hand the frames built so far to the driver. */
void dg_flush(struct dp_group *g, struct dp_dgram *d);
/* dgram_tx.c: queue this member's status row (a HEARTBEAT if `beat`). */
void dg_send_status(struct dp_group *g, struct dp_dgram *d, bool beat, uint64_t now);

#endif
