/* SPDX-License-Identifier: MIT */
/*
 * The dataplane over a datagram driver (udp, dpdk): loss repair and mirrors.
 *
 * Every member keeps, for each peer, a mirror of that peer's region (its
 * status row and send ring, dataplane/layout.h) in local memory, filled from
 * the peer's frames (dataplane/wire.h). The rest of the dataplane reads the
 * mirrors exactly as it reads shm peers' regions: nothing above changes.
 *
 * Sending (dp_dgram_tx, once per pass):
 *   - new records of this member's ring, from the last sent position to its
 *     published tail: small ones batched into BATCH frames up to the frame
 *     size, a record larger than a frame as raw DATA fragments. Frames point
 *     into the ring (no copy before the driver). In flight at most
 *     `window` bytes past what the slowest member has received.
 *   - the status row: when it changed (at most every DG_STATUS_MIN_NS), and
 *     every DG_KEEPALIVE_NS (a HEARTBEAT if nothing changed for a while).
 *   - repairs for NAKs received: raw DATA from the ring (or, relaying for a
 *     member that failed, from the mirror), flagged RETRANS.
 *   - NAKs for gaps in the mirrors.
 *
 * Receiving (dp_dgram_rx): every frame is decoded and validated (wire.c),
 * then checked against the view: sender, epoch, ring window. Data lands at
 * its ring position in the mirror; the received byte ranges of each mirror
 * are kept as `contig` (all bytes below it) and up to DG_MAX_RANGES ranges
 * beyond. The mirror's tail is published (release) at the last whole record
 * below contig, and its promise (next_round) only once the tail the sender
 * sent with that promise is reached: a promise must cover every record
 * before it, here as in shared memory.
 *
 * Gaps: a gap is below the sender's known tail (from its status, heartbeats
 * and data) and not received. The first NAK waits a random 0..DG_NAK_DELAY
 * (NAK implosion: members that lost the same frame do not ask at once);
 * after it, a NAK goes every `backoff` (randomised, doubled while nothing
 * arrives, back to the minimum on progress), naming up to GW_MAX_NAK gaps.
 *
 * View changes: a sender re-stamps its messages past its cut in place and
 * sends them again in the new epoch. A mirror that sees the new epoch in a
 * status drops what it had from epoch_base on and holds its row_epoch at 0
 * (the sequence lock: "being rewritten") until it has received those bytes
 * again, so the dataplane never reads a record with its old stamp as new.
 * During a view change, NAKs go to every member, and any member that has
 * the bytes of a failed sender in its mirror relays them.
 *
 * Threads: everything here runs on the dataplane thread, which alone writes
 * the mirrors. The app thread reads mirror rows (flow control) and delivered
 * payloads; the row fields it reads are stored atomically, and payload
 * bytes are written before the tail that makes them readable (release).
 */
#include "dgram.h"

#include "base/clock.h"
#include "base/fnv.h"
#include "group.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

struct dg_range {
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
};

struct dg_rq {
	uint32_t dest, idx; /* to whom; whose ring (index into peers) */
	uint16_t flags;
	uint64_t from, to;
};

struct dp_dgram {
	uint64_t group_hash, conf_hash;
	uint32_t my_id, my_idx, n, mtu, cap, max_gaps;
	uint64_t window;
	struct dg_peer peers[GALE_MAX_MEMBERS];
	/* Own sending. */
	uint64_t sent, sent_epoch, frag_end;
	uint64_t status_seq, status_ns, full_ns, nak_seq;
	uint64_t last_tail, last_nr, last_sum, last_epoch;
	uint32_t last_state;
	uint64_t rng;
	uint32_t rq_head, rq_tail;
	struct dg_rq rq[DG_RQ];
	/* The burst being built. */
	unsigned n_tx, n_ctl;
	struct drv_tx tx[DG_TX_BURST];
	uint8_t txh[DG_TX_BURST][64];
	uint8_t ctl[DG_CTL_SLOTS][DG_CTL_BYTES];
	struct drv_rx rx[DG_RX_BURST];
	struct gw_frame f; /* scratch: the frame being decoded or encoded */
	/* Counters (dataplane thread writes, anyone reads). */
	_Atomic uint64_t c_sent, c_recv, c_dropped, c_naks, c_retrans, c_txdrop;
	_Atomic uint64_t drops[DG_DROP_MAX];
};

static void
drop(struct dp_dgram *d, unsigned why)
{
	dp_cnt_add(&d->drops[why], 1);
	dp_cnt_add(&d->c_dropped, 1);
}

static uint64_t
rnd(struct dp_dgram *d, uint64_t below)
{
	/* xorshift64: spreads NAK timers; no need for more. */
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return below ? d->rng % below : 0;
}

static struct dg_peer *
peer_of(struct dp_dgram *d, uint32_t id)
{
	for (uint32_t k = 0; k < d->n; k++)
		if (d->peers[k].id == id)
			return &d->peers[k];
	return NULL;
}

/* Rank of member id in the dataplane's current view, or -1. */
static int
rank_of(const struct gale_group *g, uint32_t id)
{
	for (uint32_t r = 0; r < g->n; r++)
		if (g->peers[r].id == id)
			return (int)r;
	return -1;
}

int
dp_dgram_open(struct gale_group *g, const struct gale_group_conf *c)
{
	if (c->join_running) {
		gb_log(g->log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "join_running is not supported on the %s driver yet: valid: a static "
		       "initial view",
		       g->ops->name);
		return -ENOTSUP;
	}
	struct dp_dgram *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->group_hash = gb_fnv1a64(c->name, strlen(c->name));
	d->my_id = c->my_id;
	d->n = c->n_members;
	for (uint32_t k = 0; k < d->n; k++) {
		d->peers[k].id = c->member_ids ? c->member_ids[k] : k;
		if (d->peers[k].id == c->my_id)
			d->my_idx = k;
	}
	d->mtu = g->ops->frame_max(g->drv);
	if (d->mtu > GW_MAX_FRAME)
		d->mtu = GW_MAX_FRAME;
	d->cap = d->mtu - GW_HDR;
	size_t need = GW_HDR + gw_status_len(d->n, d->n);
	if (d->mtu < need || need > DG_CTL_BYTES) {
		gb_log(g->log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "frames of %u bytes cannot hold the status row of %u members (%zu bytes): "
		       "valid: a larger mtu",
		       d->mtu, d->n, need);
		free(d);
		return -EINVAL;
	}
	d->max_gaps = (uint32_t)GB_MIN((uint64_t)GW_MAX_NAK, (d->cap - 8) / 16);
	d->window = GB_MIN(g->ring_bytes / 2, DG_MAX_WINDOW);
	d->rng = gb_now_ns() ^ ((uint64_t)c->my_id << 32) ^ 0x9e3779b97f4a7c15ull;
	g->dgram = d;
	return 0;
}

/* The digest peers must share (as the shm driver's header carries it). */
void
dp_dgram_set_conf_hash(struct gale_group *g, uint64_t h)
{
	g->dgram->conf_hash = h;
}

int
dp_dgram_attach(struct gale_group *g, uint32_t id, const void **region)
{
	struct dp_dgram *d = g->dgram;
	struct dg_peer *q = peer_of(d, id);
	if (!q)
		return -EINVAL;
	if (id == d->my_id) {
		*region = (const uint8_t *)g->row - DP_ROW_OFFSET;
		return 0;
	}
	if (q->err)
		return q->err;
	if (!q->region || q->resync_to)
		return -EAGAIN;
	*region = q->region;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

/* Publish the mirror's tail and promises as far as the bytes allow. */
static void
publish(struct gale_group *g, struct dg_peer *q)
{
	if (q->resync_to) {
		if (q->contig < q->resync_to)
			return;
		q->resync_to = 0;
		/* Closes the sequence lock: the re-received records are in place. */
		atomic_store_explicit(&q->row->row_epoch, q->epoch, memory_order_release);
	}
	uint64_t p = q->pub;
	while (p < q->contig) {
		const struct dp_rec *h = (const struct dp_rec *)(q->ring + (p & g->ring_mask));
		uint32_t lf = h->len_flags, len = lf & DP_REC_LEN_MASK;
		uint64_t next;
		if (lf & DP_REC_PAD)
			next = (p | g->ring_mask) + 1;
		else /* a bad length: let the dataplane find it (dp_peek) and fail the peer */
			next = p + (len && len <= g->max_msg ? dp_rec_bytes(len) : DP_REC_ALIGN);
		if (next > q->contig)
			break;
		p = next;
	}
	if (p != q->pub) {
		q->pub = p;
		/* R1 for the mirror: its records are written; pairs with A1 in receive(). */
		atomic_store_explicit(&q->row->tail, p, memory_order_release);
	}
	uint64_t nr = 0;
	uint32_t k = 0;
	while (k < q->n_prom && q->prom[k].tail <= q->pub)
		nr = q->prom[k++].round;
	if (k) {
		memmove(q->prom, q->prom + k, (q->n_prom - k) * sizeof(q->prom[0]));
		q->n_prom -= k;
		/* R2 for the mirror: after the tail it covers (A2 in receive()). */
		if (nr > atomic_load_explicit(&q->row->next_round, memory_order_relaxed))
			atomic_store_explicit(&q->row->next_round, nr, memory_order_release);
	}
}

/*
 * Note bytes [from, to) of q's ring as received (from >= contig). 1 if new
 * bytes, 0 if all were here already, -1 if the range table is full.
 */
static int
range_add(struct dg_peer *q, uint64_t from, uint64_t to)
{
	if (from <= q->contig) {
		if (to <= q->contig)
			return 0;
		q->contig = to;
	} else {
		uint32_t i = 0;
		while (i < q->n_ranges && q->ranges[i].to < from)
			i++;
		if (i < q->n_ranges && q->ranges[i].from <= to) {
			/* Overlaps or touches range i: grow it, then swallow what follows. */
			if (q->ranges[i].from <= from && to <= q->ranges[i].to)
				return 0;
			q->ranges[i].from = GB_MIN(q->ranges[i].from, from);
			q->ranges[i].to = GB_MAX(q->ranges[i].to, to);
			uint32_t j = i + 1;
			while (j < q->n_ranges && q->ranges[j].from <= q->ranges[i].to) {
				q->ranges[i].to = GB_MAX(q->ranges[i].to, q->ranges[j].to);
				j++;
			}
			memmove(q->ranges + i + 1, q->ranges + j,
				(q->n_ranges - j) * sizeof(q->ranges[0]));
			q->n_ranges -= j - i - 1;
		} else {
			if (q->n_ranges == DG_MAX_RANGES)
				return -1;
			memmove(q->ranges + i + 1, q->ranges + i,
				(q->n_ranges - i) * sizeof(q->ranges[0]));
			q->ranges[i] = (struct dg_range){ from, to };
			q->n_ranges++;
		}
	}
	/* Ranges that now touch contig join it. */
	uint32_t k = 0;
	while (k < q->n_ranges && q->ranges[k].from <= q->contig) {
		q->contig = GB_MAX(q->contig, q->ranges[k].to);
		k++;
	}
	if (k) {
		memmove(q->ranges, q->ranges + k, (q->n_ranges - k) * sizeof(q->ranges[0]));
		q->n_ranges -= k;
	}
	return 1;
}

/*
 * Which bytes of a DATA or BATCH frame of epoch e, covering [from, *to) of
 * q's ring, this member takes. 0 (*to may shrink) or a drop reason.
 */
static unsigned
data_window(struct gale_group *g, struct dg_peer *q, uint64_t e, uint64_t from, uint64_t *to)
{
	if (!q->region)
		return DG_DROP_EARLY;
	if (e == 0 || e > g->view.epoch + 2)
		return DG_DROP_EPOCH;
	if (e > q->epoch)
		return DG_DROP_EARLY; /* its status for that epoch is not here yet */
	if (e < q->epoch) {
		/* Sent before its last switch: only what it did not re-stamp. */
		if (from >= q->base)
			return DG_DROP_STALE;
		*to = GB_MIN(*to, q->base);
	}
	int r = rank_of(g, q->id);
	if (r < 0)
		return DG_DROP_STALE; /* no longer in this member's view */
	/* Bytes this member released may be overwritten; beyond a ring past them
	 * would overwrite bytes it still holds. */
	if (*to > g->peers[r].freed + g->ring_bytes)
		return DG_DROP_WINDOW;
	if (*to <= q->contig)
		return DG_DROP_DUP;
	return 0;
}

static void
rx_data(struct gale_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	uint64_t from = f->h.seq, to = from + f->u.data.len;
	if ((from & g->ring_mask) + f->u.data.len > g->ring_bytes) {
		drop(d, DG_DROP_WINDOW); /* a fragment never crosses the ring's end */
		return;
	}
	unsigned why = data_window(g, q, f->h.epoch, from, &to);
	if (why) {
		drop(d, why);
		return;
	}
	uint64_t lo = GB_MAX(from, q->contig);
	int rc = range_add(q, lo, to);
	if (rc <= 0) {
		drop(d, rc ? DG_DROP_FULL : DG_DROP_DUP);
		return;
	}
	memcpy(q->ring + (lo & g->ring_mask), f->u.data.data + (lo - from), to - lo);
	q->known = GB_MAX(q->known, to);
	dp_cnt_add(&d->c_recv, 1);
	publish(g, q);
}

static void
rx_batch(struct gale_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	/* First where the records go: each inside the ring, none crossing its end. */
	const uint8_t *b = f->u.batch.recs;
	uint64_t p = f->h.seq;
	size_t off = 0;
	for (uint32_t i = 0; i < f->u.batch.count; i++) {
		uint32_t lf;
		memcpy(&lf, b + off, 4);
		uint32_t len = lf & DP_REC_LEN_MASK;
		if (lf & DP_REC_PAD) {
			p = (p | g->ring_mask) + 1;
		} else {
			if (len > g->max_msg ||
			    (p & g->ring_mask) + sizeof(struct dp_rec) + len > g->ring_bytes) {
				drop(d, DG_DROP_WINDOW);
				return;
			}
			p += dp_rec_bytes(len);
		}
		off += GW_REC_HDR + len;
	}
	uint64_t from = f->h.seq, to = p;
	unsigned why = data_window(g, q, f->h.epoch, from, &to);
	if (why) {
		drop(d, why);
		return;
	}
	uint64_t lo = GB_MAX(from, q->contig);
	int rc = range_add(q, lo, to);
	if (rc <= 0) {
		drop(d, rc ? DG_DROP_FULL : DG_DROP_DUP);
		return;
	}
	/* Then each record's bytes at or past lo (and before to). */
	p = from;
	off = 0;
	for (uint32_t i = 0; i < f->u.batch.count && p < to; i++) {
		uint32_t lf;
		memcpy(&lf, b + off, 4);
		uint32_t len = lf & DP_REC_LEN_MASK;
		uint64_t img = GW_REC_HDR + (uint64_t)len; /* the record's bytes in the ring */
		uint64_t next = (lf & DP_REC_PAD) ? (p | g->ring_mask) + 1 : p + dp_rec_bytes(len);
		if (p + img > lo) {
			uint64_t s = lo > p ? lo - p : 0;
			memcpy(q->ring + ((p + s) & g->ring_mask), b + off + s, img - s);
		}
		off += img;
		p = next;
	}
	q->known = GB_MAX(q->known, to);
	dp_cnt_add(&d->c_recv, 1);
	publish(g, q);
}

/* Its first status: check its configuration, make the mirror. */
static unsigned
mirror_create(struct gale_group *g, struct dp_dgram *d, struct dg_peer *q,
	      const struct gw_status *s)
{
	if (s->layout_version != DP_LAYOUT_VERSION)
		q->err = -GALE_EVERSION;
	else if (s->conf_hash != d->conf_hash || s->ring_bytes != g->ring_bytes)
		q->err = -GALE_ECONFIG;
	if (q->err)
		return DG_DROP_CONFIG;
	void *m = mmap(NULL, dp_region_bytes(g->ring_bytes), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return DG_DROP_FULL; /* no memory now: its next status tries again */
	q->region = m;
	q->row = (struct dp_row *)((uint8_t *)m + DP_ROW_OFFSET);
	q->ring = (uint8_t *)m + DP_RING_OFFSET;
	q->row->layout_version = s->layout_version;
	q->row->member_id = q->id;
	q->row->mode = s->mode;
	q->row->n_members = s->n_init;
	q->row->ring_bytes = s->ring_bytes;
	q->row->epoch = s->first_epoch;
	for (uint32_t i = 0; i < s->n_init; i++)
		q->row->member_ids[i] = s->init_ids[i];
	q->row->ctl_port = s->ctl_port;
	return 0;
}

static void
push_promise(struct dg_peer *q, uint64_t tail, uint64_t round)
{
	if (q->n_prom && q->prom[q->n_prom - 1].round >= round)
		return;
	if (q->n_prom == DG_PROMISES)
		q->n_prom--; /* the newest replaces the last: later, never wrong */
	q->prom[q->n_prom].tail = tail;
	q->prom[q->n_prom].round = round;
	q->n_prom++;
}

static void
rx_status(struct gale_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	const struct gw_status *s = &f->u.status;
	uint64_t e = s->row_epoch;
	if (e != f->h.epoch || e == 0 || e > g->view.epoch + 2 || s->n > GALE_MAX_MEMBERS ||
	    s->n_init > GALE_MAX_MEMBERS) {
		drop(d, DG_DROP_EPOCH);
		return;
	}
	if (!q->region) {
		unsigned why = mirror_create(g, d, q, s);
		if (why) {
			drop(d, why);
			return;
		}
	}
	if (f->h.seq <= q->status_seq || e < q->epoch) {
		drop(d, DG_DROP_STALE);
		return;
	}
	q->status_seq = f->h.seq;
	struct dp_row *row = q->row;
	if (e != q->epoch) {
		/* A new view's row: sequence lock open (R14 for the mirror). */
		atomic_exchange_explicit(&row->row_epoch, 0, memory_order_acq_rel);
		uint64_t b = s->epoch_base;
		if (q->epoch) {
			/* Its records from b on were re-stamped: take them again. */
			if (q->contig > b)
				q->contig = b;
			uint32_t k = 0;
			for (uint32_t i = 0; i < q->n_ranges; i++)
				if (q->ranges[i].from < b)
					q->ranges[k++] =
						(struct dg_range){ q->ranges[i].from,
								   GB_MIN(q->ranges[i].to, b) };
			q->n_ranges = k;
			q->n_prom = 0;
			if (q->pub > b)
				q->resync_to = q->pub;
		}
		for (uint32_t i = 0; i < GALE_MAX_MEMBERS; i++) {
			atomic_store_explicit(&row->recv_pos[i], i < s->n ? s->recv[i] : 0,
					      memory_order_relaxed);
			atomic_store_explicit(&row->freed_pos[i], i < s->n ? s->freed[i] : 0,
					      memory_order_relaxed);
		}
		atomic_store_explicit(&row->epoch_base, b, memory_order_relaxed);
		q->epoch = e;
		q->base = b;
		if (!q->resync_to)
			atomic_store_explicit(&row->row_epoch, e, memory_order_release);
	} else {
		for (uint32_t i = 0; i < s->n; i++) {
			if (s->recv[i] >
			    atomic_load_explicit(&row->recv_pos[i], memory_order_relaxed))
				atomic_store_explicit(&row->recv_pos[i], s->recv[i],
						      memory_order_relaxed);
			if (s->freed[i] >
			    atomic_load_explicit(&row->freed_pos[i], memory_order_relaxed))
				/* R7 for the mirror: the sender's flow control (A7). */
				atomic_store_explicit(&row->freed_pos[i], s->freed[i],
						      memory_order_release);
		}
	}
	atomic_store_explicit(&row->sent_msgs, s->sent_msgs, memory_order_relaxed);
	atomic_store_explicit(&row->heartbeat, s->heartbeat, memory_order_relaxed);
	atomic_store_explicit(&row->failed_id, s->failed_id, memory_order_relaxed);
	atomic_store_explicit(&row->stop_status, s->stop_status, memory_order_relaxed);
	/* R8 for the mirror: after failed_id and stop_status (A8). */
	atomic_store_explicit(&row->state, s->state, memory_order_release);
	if (e == g->view.epoch && g->my_rank < s->n)
		q->acked = GB_MAX(q->acked, s->recv[g->my_rank]);
	q->known = GB_MAX(q->known, s->tail);
	push_promise(q, s->tail, s->next_round);
	dp_cnt_add(&d->c_recv, 1);
	publish(g, q);
}

static void
rx_heartbeat(struct gale_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	uint64_t e = f->h.epoch;
	if (e == 0 || e > g->view.epoch + 2) {
		drop(d, DG_DROP_EPOCH);
		return;
	}
	if (!q->region || e != q->epoch) {
		drop(d, q->region && e < q->epoch ? DG_DROP_STALE : DG_DROP_EARLY);
		return;
	}
	if (f->h.seq <= q->status_seq) {
		drop(d, DG_DROP_STALE);
		return;
	}
	q->status_seq = f->h.seq;
	atomic_store_explicit(&q->row->heartbeat, f->u.hb.heartbeat, memory_order_relaxed);
	q->known = GB_MAX(q->known, f->u.hb.tail);
	dp_cnt_add(&d->c_recv, 1);
}

/* Queue a repair, unless one queued already covers it. */
static bool
rq_push(struct dp_dgram *d, uint32_t dest, uint32_t idx, uint16_t flags, uint64_t from, uint64_t to)
{
	for (uint32_t i = d->rq_head; i != d->rq_tail; i = (i + 1) % DG_RQ) {
		struct dg_rq *e = &d->rq[i];
		if (e->dest == dest && e->idx == idx && e->from <= from && to <= e->to)
			return true;
	}
	if ((d->rq_tail + 1) % DG_RQ == d->rq_head)
		return false;
	d->rq[d->rq_tail] = (struct dg_rq){ dest, idx, flags, from, to };
	d->rq_tail = (d->rq_tail + 1) % DG_RQ;
	return true;
}

/* Bytes of this member's own ring no claim can be overwriting. */
static uint64_t
own_floor(struct gale_group *g)
{
	uint64_t f = g->peers[g->my_rank].freed;
	for (uint32_t r = 0; r < g->n; r++) {
		if (r == g->my_rank)
			continue;
		const struct dp_row *row = g->peers[r].row;
		if (!row ||
		    atomic_load_explicit(&row->row_epoch, memory_order_acquire) != g->view.epoch)
			continue;
		uint64_t v =
			atomic_load_explicit(&row->freed_pos[g->my_rank], memory_order_relaxed);
		f = GB_MIN(f, v);
	}
	return f;
}

static void
rx_nak(struct gale_group *g, struct dp_dgram *d, struct dg_peer *from_peer,
       const struct gw_frame *f)
{
	struct dg_peer *t = peer_of(d, f->u.nak.target);
	if (!t) {
		drop(d, DG_DROP_SENDER);
		return;
	}
	uint32_t idx = (uint32_t)(t - d->peers);
	uint32_t dest = from_peer->id;
	if (idx != d->my_idx && !(f->h.flags & GW_F_ANYONE))
		return; /* another member's (a driver that gives every frame to everyone) */
	uint64_t lo, hi;
	uint16_t flags = GW_F_RETRANS;
	if (idx == d->my_idx) {
		/* Its own ring: what was sent and is still held. */
		uint64_t tail = atomic_load_explicit(&g->row->tail, memory_order_relaxed);
		lo = own_floor(g);
		if (tail > g->ring_bytes && lo < tail - g->ring_bytes)
			lo = tail - g->ring_bytes;
		hi = d->sent;
	} else {
		/* Relay from the mirror: what is here and not released. */
		int r = rank_of(g, t->id);
		if (!t->region || r < 0) {
			drop(d, DG_DROP_NAK);
			return;
		}
		lo = g->peers[r].freed;
		hi = t->contig;
		flags |= GW_F_RELAY;
	}
	bool any = false;
	for (uint32_t i = 0; i < f->u.nak.n; i++) {
		uint64_t a = GB_MAX(f->u.nak.gap[i].from, lo);
		uint64_t b = GB_MIN(f->u.nak.gap[i].to, hi);
		if (a < b && rq_push(d, dest, idx, flags, a, b))
			any = true;
	}
	if (any)
		dp_cnt_add(&d->c_recv, 1);
	else
		drop(d, DG_DROP_NAK);
}

unsigned
dp_dgram_rx(struct gale_group *g)
{
	struct dp_dgram *d = g->dgram;
	unsigned n = g->ops->rx(g->drv, d->rx, DG_RX_BURST);
	for (unsigned i = 0; i < n; i++) {
		struct gw_frame *f = &d->f;
		int rc = gw_decode(d->rx[i].data, d->rx[i].len, d->group_hash, f);
		if (rc) {
			drop(d, (unsigned)-rc);
			continue;
		}
		struct dg_peer *q = peer_of(d, f->h.sender);
		if (!q || q == &d->peers[d->my_idx]) {
			drop(d, DG_DROP_SENDER);
			continue;
		}
		switch (f->h.type) {
		case GW_DATA:
			rx_data(g, d, q, f);
			break;
		case GW_BATCH:
			rx_batch(g, d, q, f);
			break;
		case GW_STATUS:
			rx_status(g, d, q, f);
			break;
		case GW_HEARTBEAT:
			rx_heartbeat(g, d, q, f);
			break;
		case GW_NAK:
			rx_nak(g, d, q, f);
			break;
		}
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

static void
flush(struct gale_group *g, struct dp_dgram *d)
{
	if (!d->n_tx)
		return;
	unsigned ok = g->ops->tx(g->drv, d->tx, d->n_tx);
	dp_cnt_add(&d->c_sent, ok);
	if (ok < d->n_tx)
		dp_cnt_add(&d->c_txdrop, d->n_tx - ok);
	d->n_tx = 0;
	d->n_ctl = 0;
}

/* A frame encoded whole into a control slot (status, NAK, heartbeat). */
static void
queue_ctl(struct gale_group *g, struct dp_dgram *d, uint32_t dest)
{
	if (d->n_tx == DG_TX_BURST || d->n_ctl == DG_CTL_SLOTS)
		flush(g, d);
	uint8_t *buf = d->ctl[d->n_ctl];
	size_t len = gw_encode(&d->f, d->group_hash, buf, DG_CTL_BYTES);
	if (!len)
		return; /* cannot happen: the sizes were checked at open */
	d->n_ctl++;
	struct drv_tx *t = &d->tx[d->n_tx++];
	t->dest = dest;
	t->n_iov = 1;
	t->iov[0] = (struct drv_iov){ buf, (uint32_t)len };
}

static uint64_t
row_sum(const struct gale_group *g)
{
	uint64_t s = 0;
	for (uint32_t r = 0; r < g->n; r++)
		s += atomic_load_explicit(&g->row->recv_pos[r], memory_order_relaxed) +
		     atomic_load_explicit(&g->row->freed_pos[r], memory_order_relaxed) * 3;
	return s;
}

/* This member's status row, as a STATUS frame (or a HEARTBEAT if `beat`). */
static void
send_status(struct gale_group *g, struct dp_dgram *d, bool beat, uint64_t now)
{
	const struct dp_row *row = g->row;
	struct gw_frame *f = &d->f;
	memset(&f->h, 0, sizeof(f->h));
	f->h.epoch = atomic_load_explicit(&row->row_epoch, memory_order_relaxed);
	f->h.sender = d->my_id;
	f->h.seq = ++d->status_seq;
	uint64_t tail = atomic_load_explicit(&row->tail, memory_order_relaxed);
	if (beat) {
		f->h.type = GW_HEARTBEAT;
		f->u.hb.heartbeat = atomic_load_explicit(&row->heartbeat, memory_order_relaxed);
		f->u.hb.tail = GB_MIN(tail, d->sent);
		queue_ctl(g, d, DRV_DEST_ALL);
		d->status_ns = now;
		return;
	}
	struct gw_status *s = &f->u.status;
	f->h.type = GW_STATUS;
	s->conf_hash = d->conf_hash;
	s->layout_version = row->layout_version;
	s->mode = row->mode;
	s->ring_bytes = row->ring_bytes;
	s->first_epoch = row->epoch;
	s->n_init = row->n_members;
	s->ctl_port = row->ctl_port;
	for (uint32_t i = 0; i < s->n_init; i++)
		s->init_ids[i] = row->member_ids[i];
	/* The tail it says is what went out: a receiver NAKs below it. */
	s->tail = GB_MIN(tail, d->sent);
	s->next_round = atomic_load_explicit(&row->next_round, memory_order_relaxed);
	s->sent_msgs = atomic_load_explicit(&row->sent_msgs, memory_order_relaxed);
	s->heartbeat = atomic_load_explicit(&row->heartbeat, memory_order_relaxed);
	s->state = atomic_load_explicit(&row->state, memory_order_relaxed);
	s->failed_id = atomic_load_explicit(&row->failed_id, memory_order_relaxed);
	s->stop_status = atomic_load_explicit(&row->stop_status, memory_order_relaxed);
	s->row_epoch = f->h.epoch;
	s->epoch_base = atomic_load_explicit(&row->epoch_base, memory_order_relaxed);
	s->n = g->n;
	for (uint32_t r = 0; r < g->n; r++) {
		s->recv[r] = atomic_load_explicit(&row->recv_pos[r], memory_order_relaxed);
		s->freed[r] = atomic_load_explicit(&row->freed_pos[r], memory_order_relaxed);
	}
	/* A promise goes with the tail it covers: one past what went out is not
	 * covered, so a row whose records are not all out promises nothing new. */
	if (s->tail < tail)
		s->next_round = d->last_nr;
	queue_ctl(g, d, DRV_DEST_ALL);
	d->last_tail = tail;
	d->last_nr = s->next_round;
	d->last_state = s->state;
	d->last_epoch = s->row_epoch;
	d->last_sum = row_sum(g);
	d->status_ns = d->full_ns = now;
}

/* Start a DATA or BATCH frame of the burst; its header goes in txh. */
static struct drv_tx *
data_frame(struct gale_group *g, struct dp_dgram *d)
{
	if (d->n_tx == DG_TX_BURST)
		flush(g, d);
	struct drv_tx *t = &d->tx[d->n_tx];
	t->dest = DRV_DEST_ALL;
	t->n_iov = 1;
	t->iov[0] = (struct drv_iov){ d->txh[d->n_tx], GW_HDR };
	return t;
}

static void
seal(struct dp_dgram *d, struct drv_tx *t, uint8_t type, uint16_t flags, uint64_t epoch,
     uint32_t sender, uint32_t body, uint64_t seq)
{
	gw_put_hdr((uint8_t *)t->iov[0].base, type, flags, d->group_hash, epoch, sender, body, seq);
	gw_seal(t->iov, t->n_iov);
	d->n_tx++;
}

/* Raw ring bytes [*from, to) of `ring` as DATA frames, up to budget frames. */
static unsigned
send_raw(struct gale_group *g, struct dp_dgram *d, const uint8_t *ring, uint64_t *from, uint64_t to,
	 uint32_t dest, uint16_t flags, uint64_t epoch, uint32_t sender, unsigned budget)
{
	unsigned n = 0;
	while (*from < to && n < budget) {
		uint64_t off = *from & g->ring_mask;
		uint32_t len =
			(uint32_t)GB_MIN(GB_MIN((uint64_t)d->cap, to - *from), g->ring_bytes - off);
		struct drv_tx *t = data_frame(g, d);
		t->dest = dest;
		t->iov[1] = (struct drv_iov){ ring + off, len };
		t->n_iov = 2;
		seal(d, t, GW_DATA, flags, epoch, sender, len, *from);
		*from += len;
		n++;
	}
	return n;
}

/* New records of this member's ring, batched. */
static unsigned
send_new(struct gale_group *g, struct dp_dgram *d, uint64_t tail, uint64_t epoch, unsigned budget)
{
	unsigned n = 0;
	/* In flight: at most `window` bytes past the slowest member's receipt. */
	uint64_t acked = UINT64_MAX;
	for (uint32_t k = 0; k < d->n; k++)
		if (k != d->my_idx && rank_of(g, d->peers[k].id) >= 0)
			acked = GB_MIN(acked, d->peers[k].acked);
	uint64_t limit = acked == UINT64_MAX ? tail : GB_MIN(tail, acked + d->window);
	while (n < budget && d->sent < limit) {
		if (d->sent < d->frag_end) { /* the rest of a record larger than a frame */
			uint64_t end = GB_MIN(d->frag_end, limit);
			n += send_raw(g, d, g->ring, &d->sent, end, DRV_DEST_ALL, 0, epoch,
				      d->my_id, budget - n);
			continue;
		}
		struct drv_tx *t = data_frame(g, d);
		uint8_t *hdr = (uint8_t *)t->iov[0].base;
		t->iov[0].len = GW_HDR + 2;
		uint64_t start = d->sent, p = start;
		uint32_t body = 2, count = 0;
		while (p < limit && t->n_iov < DRV_TX_IOV && count < GW_MAX_BATCH) {
			const struct dp_rec *h =
				(const struct dp_rec *)(g->ring + (p & g->ring_mask));
			uint32_t lf = h->len_flags;
			uint32_t img = (lf & DP_REC_PAD) ? GW_REC_HDR
							 : GW_REC_HDR + (lf & DP_REC_LEN_MASK);
			if (body + img > d->cap) {
				if (!count) /* larger than a frame: fragments */
					d->frag_end = p + dp_rec_bytes(lf & DP_REC_LEN_MASK);
				break;
			}
			t->iov[t->n_iov++] = (struct drv_iov){ h, img };
			body += img;
			count++;
			p = (lf & DP_REC_PAD) ? (p | g->ring_mask) + 1
					      : p + dp_rec_bytes(lf & DP_REC_LEN_MASK);
		}
		if (!count)
			continue; /* fragments, next turn of the loop */
		hdr[GW_HDR] = (uint8_t)count;
		hdr[GW_HDR + 1] = (uint8_t)(count >> 8);
		seal(d, t, GW_BATCH, 0, epoch, d->my_id, body, start);
		d->sent = p;
		n++;
	}
	return n;
}

static unsigned
send_repairs(struct gale_group *g, struct dp_dgram *d, unsigned budget)
{
	unsigned n = 0;
	while (n < budget && d->rq_head != d->rq_tail) {
		struct dg_rq *e = &d->rq[d->rq_head];
		struct dg_peer *q = &d->peers[e->idx];
		bool own = e->idx == d->my_idx;
		const uint8_t *ring = own ? g->ring : q->ring;
		uint64_t epoch =
			own ? atomic_load_explicit(&g->row->row_epoch, memory_order_relaxed)
			    : q->epoch;
		unsigned k = send_raw(g, d, ring, &e->from, e->to, e->dest, e->flags, epoch, q->id,
				      budget - n);
		dp_cnt_add(&d->c_retrans, k);
		n += k;
		if (e->from >= e->to)
			d->rq_head = (d->rq_head + 1) % DG_RQ;
	}
	return n;
}

/* NAKs for the mirrors' gaps that are due. */
static unsigned
send_naks(struct gale_group *g, struct dp_dgram *d, uint64_t now)
{
	unsigned n = 0;
	for (uint32_t k = 0; k < d->n; k++) {
		struct dg_peer *q = &d->peers[k];
		if (k == d->my_idx || !q->region || q->err)
			continue;
		bool gap = q->n_ranges || q->known > q->contig || q->want;
		if (!gap) {
			q->gap = false;
			continue;
		}
		if (!q->gap) {
			q->gap = true;
			q->nak_backoff = DG_NAK_MIN_NS;
			q->nak_due = now + rnd(d, DG_NAK_DELAY_NS);
			q->nak_contig = q->contig;
			continue;
		}
		if (now < q->nak_due)
			continue;
		if (q->contig > q->nak_contig)
			q->nak_backoff = DG_NAK_MIN_NS;
		else
			q->nak_backoff = GB_MIN(q->nak_backoff * 2, DG_NAK_MAX_NS);
		q->nak_contig = q->contig;
		q->nak_due = now + q->nak_backoff + rnd(d, q->nak_backoff / 2);
		struct gw_frame *f = &d->f;
		memset(&f->h, 0, sizeof(f->h));
		f->h.type = GW_NAK;
		f->h.epoch = atomic_load_explicit(&g->row->row_epoch, memory_order_relaxed);
		f->h.sender = d->my_id;
		f->h.seq = ++d->nak_seq;
		f->u.nak.target = q->id;
		uint32_t m = 0;
		uint64_t prev = q->contig;
		for (uint32_t i = 0; i < q->n_ranges && m < d->max_gaps; i++) {
			f->u.nak.gap[m++] = (struct gw_range){ prev, q->ranges[i].from };
			prev = q->ranges[i].to;
		}
		if (m < d->max_gaps && q->known > prev)
			f->u.nak.gap[m++] = (struct gw_range){ prev, q->known };
		else if (m < d->max_gaps && q->want && q->known <= prev)
			/* Its trim wants more than anyone said it has: ask for what there is. */
			f->u.nak.gap[m++] = (struct gw_range){ prev, prev + g->ring_bytes / 4 };
		if (!m)
			continue;
		f->u.nak.n = m;
		/* During a view change anyone who has the bytes may answer. */
		uint32_t dest = g->vc != DP_VC_NONE || q->want ? DRV_DEST_ALL : q->id;
		if (dest == DRV_DEST_ALL)
			f->h.flags = GW_F_ANYONE;
		queue_ctl(g, d, dest);
		dp_cnt_add(&d->c_naks, 1);
		n++;
	}
	return n;
}

unsigned
dp_dgram_tx(struct gale_group *g)
{
	struct dp_dgram *d = g->dgram;
	const struct dp_row *row = g->row;
	uint64_t now = gb_now_ns();
	unsigned n = 0;
	uint64_t epoch = atomic_load_explicit(&row->row_epoch, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&row->tail, memory_order_relaxed);
	if (epoch != d->sent_epoch) {
		/* A new view: its records from epoch_base on were re-stamped. The row
		 * goes first, so receivers take the re-sent records as the new view's. */
		uint64_t b = atomic_load_explicit(&row->epoch_base, memory_order_relaxed);
		if (d->sent > b)
			d->sent = b;
		d->frag_end = 0;
		d->sent_epoch = epoch;
		send_status(g, d, false, now);
		n++;
	}
	if (g->vc == DP_VC_NONE)
		for (uint32_t k = 0; k < d->n; k++)
			d->peers[k].want = false;
	n += send_repairs(g, d, DG_TX_BURST / 2);
	uint64_t sent0 = d->sent;
	n += send_new(g, d, tail, epoch, DG_TX_BURST);
	n += send_naks(g, d, now);
	bool changed = d->sent != sent0 || tail != d->last_tail || epoch != d->last_epoch ||
		       atomic_load_explicit(&row->state, memory_order_relaxed) != d->last_state ||
		       atomic_load_explicit(&row->next_round, memory_order_relaxed) != d->last_nr ||
		       row_sum(g) != d->last_sum;
	uint64_t since = now - d->status_ns;
	if ((changed && since >= DG_STATUS_MIN_NS) || since >= DG_KEEPALIVE_NS) {
		bool beat = !changed && now - d->full_ns < DG_FULL_STATUS_NS;
		send_status(g, d, beat, now);
		n++;
	}
	flush(g, d);
	return n;
}

void
dp_dgram_want(struct gale_group *g, uint32_t rank)
{
	struct dg_peer *q = peer_of(g->dgram, g->peers[rank].id);
	if (q)
		q->want = true;
}

void
dp_dgram_close(struct gale_group *g)
{
	struct dp_dgram *d = g->dgram;
	if (!d)
		return;
	/* Its last state (left or stopped), a few times over: loss happens. A
	 * member whose join failed says nothing more. */
	uint64_t now = gb_now_ns();
	bool final = atomic_load_explicit(&g->row->state, memory_order_relaxed) != DP_STATE_RUNNING;
	for (int i = 0; final && i < DG_FINAL_COPIES; i++) {
		send_status(g, d, false, now);
		flush(g, d);
	}
	struct gale_counters c = { 0 };
	dp_dgram_counters(g, &c);
	char why[512];
	size_t off = 0;
	for (unsigned k = 1; k < DG_DROP_MAX && off < sizeof(why); k++) {
		uint64_t v = atomic_load_explicit(&d->drops[k], memory_order_relaxed);
		if (v)
			off += (size_t)snprintf(why + off, sizeof(why) - off, " %s=%llu",
						dp_dgram_drop_name(k), (unsigned long long)v);
	}
	why[GB_MIN(off, sizeof(why) - 1)] = 0;
	gb_log(g->log, GB_LOG_INFO, "GALE-DGRAM-STATS",
	       "member %u: frames sent %llu received %llu dropped %llu (tx refused %llu), naks "
	       "%llu, repairs %llu; drops by reason:%s",
	       d->my_id, (unsigned long long)c.frames_sent, (unsigned long long)c.frames_received,
	       (unsigned long long)c.frames_dropped, (unsigned long long)c.tx_dropped,
	       (unsigned long long)c.naks_sent, (unsigned long long)c.retrans_frames,
	       off ? why : " none");
	for (uint32_t k = 0; k < d->n; k++)
		if (d->peers[k].region)
			munmap(d->peers[k].region, dp_region_bytes(g->ring_bytes));
	free(d);
	g->dgram = NULL;
}

void
dp_dgram_counters(const struct gale_group *g, struct gale_counters *o)
{
	const struct dp_dgram *d = g->dgram;
	if (!d)
		return;
#define R(f) atomic_load_explicit(&d->f, memory_order_relaxed)
	o->frames_sent += R(c_sent);
	o->frames_received += R(c_recv);
	o->frames_dropped += R(c_dropped);
	o->naks_sent += R(c_naks);
	o->retrans_frames += R(c_retrans);
	o->tx_dropped += R(c_txdrop);
#undef R
}

uint64_t
dp_dgram_drops(const struct gale_group *g, unsigned reason)
{
	const struct dp_dgram *d = g->dgram;
	return d && reason < DG_DROP_MAX
		       ? atomic_load_explicit(&d->drops[reason], memory_order_relaxed)
		       : 0;
}

const char *
dp_dgram_drop_name(unsigned reason)
{
	static const char *const s[DG_DROP_MAX] = {
		[GW_ERR_TRUNCATED] = "truncated",   [GW_ERR_MAGIC] = "magic",
		[GW_ERR_VERSION] = "version",	    [GW_ERR_TYPE] = "type",
		[GW_ERR_GROUP] = "group",	    [GW_ERR_LENGTH] = "length",
		[GW_ERR_CHECKSUM] = "checksum",	    [GW_ERR_BODY] = "body",
		[DG_DROP_SENDER] = "sender",	    [DG_DROP_EPOCH] = "epoch",
		[DG_DROP_STALE] = "stale",	    [DG_DROP_CONFIG] = "config",
		[DG_DROP_WINDOW] = "window",	    [DG_DROP_DUP] = "duplicate",
		[DG_DROP_EARLY] = "early",	    [DG_DROP_FULL] = "gaps-full",
		[DG_DROP_NAK] = "nak-unanswerable",
	};
	return reason < DG_DROP_MAX && s[reason] ? s[reason] : "?";
}
