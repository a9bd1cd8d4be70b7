/* SPDX-License-Identifier: MIT */
/*
 * The datagram layer, sending (design: dgram.c): this member's new records
 * batched or in fragments within the flow window, its status row, NAKs for
 * the mirrors' gaps, repairs; all built into one burst of frames that point
 * into the rings, handed to the driver at once.
 */
#include "dgram_int.h"
#include "rec.h"

#include "base/clock.h"

#include <string.h>

void
dg_flush(struct dp_group *g, struct dp_dgram *d)
{
	if (!d->n_tx)
		return;
	unsigned ok = g->fx.ops->tx(g->fx.drv, d->tx, d->n_tx);
	dp_count(d->cnt, DP_C_frames_sent, ok);
	if (ok < d->n_tx) {
		dp_count(d->cnt, DP_C_tx_dropped, d->n_tx - ok);
		/* The driver's queue is full: not a loss on the network, back
		 * pressure. New records refused go again from the first of them
		 * (without a NAK's round trip); other frames are repaired as lost. */
		for (unsigned i = ok; i < d->n_tx; i++)
			if (d->tx_new[i] != UINT64_MAX) {
				d->sent = GB_MIN(d->sent, d->tx_new[i]);
				break;
			}
	}
	d->n_tx = 0;
	d->n_ctl = 0;
}

/* A frame encoded whole into a control slot (status, NAK, heartbeat). */
static void
queue_ctl(struct dp_group *g, struct dp_dgram *d, uint32_t dest)
{
	if (d->n_tx == DG_TX_BURST || d->n_ctl == DG_CTL_SLOTS)
		dg_flush(g, d);
	uint8_t *buf = d->ctl[d->n_ctl];
	size_t len = gw_encode(&d->f, d->group_hash, buf, DG_CTL_BYTES);
	if (!len)
		return; /* cannot happen: the sizes were checked at open */
	d->n_ctl++;
	d->tx_new[d->n_tx] = UINT64_MAX;
	struct drv_tx *t = &d->tx[d->n_tx++];
	t->dest = dest;
	t->n_iov = 1;
	t->iov[0] = (struct drv_iov){ buf, (uint32_t)len };
}

static uint64_t
row_sum(const struct dp_group *g)
{
	uint64_t s = 0;
	for (uint32_t r = 0; r < g->w.n; r++)
		s += atomic_load_explicit(&g->fx.row->recv_pos[r], memory_order_relaxed) +
		     atomic_load_explicit(&g->fx.row->freed_pos[r], memory_order_relaxed) * 3;
	return s;
}

/* This member's status row, as a STATUS frame (or a HEARTBEAT if `beat`). */
void
dg_send_status(struct dp_group *g, struct dp_dgram *d, bool beat, uint64_t now)
{
	const struct dp_row *row = g->fx.row;
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
	s->n = g->w.n;
	for (uint32_t r = 0; r < g->w.n; r++) {
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
data_frame(struct dp_group *g, struct dp_dgram *d)
{
	if (d->n_tx == DG_TX_BURST)
		dg_flush(g, d);
	struct drv_tx *t = &d->tx[d->n_tx];
	d->tx_new[d->n_tx] = UINT64_MAX;
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
send_raw(struct dp_group *g, struct dp_dgram *d, const uint8_t *ring, uint64_t *from, uint64_t to,
	 uint32_t dest, uint16_t flags, uint64_t epoch, uint32_t sender, unsigned budget)
{
	unsigned n = 0;
	while (*from < to && n < budget) {
		uint64_t off = *from & g->fx.ring_mask;
		uint32_t len = (uint32_t)GB_MIN(GB_MIN((uint64_t)d->cap, to - *from),
						g->fx.ring_bytes - off);
		struct drv_tx *t = data_frame(g, d);
		t->dest = dest;
		t->iov[1] = (struct drv_iov){ ring + off, len };
		t->n_iov = 2;
		if (ring == g->fx.ring && !flags)
			d->tx_new[d->n_tx] = *from; /* a fragment of a new record */
		seal(d, t, GW_DATA, flags, epoch, sender, len, *from);
		*from += len;
		n++;
	}
	return n;
}

/* New records of this member's ring, batched. */
static unsigned
send_new(struct dp_group *g, struct dp_dgram *d, uint64_t tail, uint64_t epoch, unsigned budget)
{
	unsigned n = 0;
	/* In flight: at most `window` bytes past the slowest member's receipt. */
	/* A member suspected, or a view change running, lifts the window: the
	 * survivors' trim may need every published record, and a member that
	 * is going away must not hold the others back. */
	uint64_t acked = UINT64_MAX;
	for (uint32_t k = 0; g->w.vc == DP_VC_NONE && k < d->n; k++) {
		int r = rank_of(g, d->peers[k].id);
		if (k != d->my_idx && r >= 0 && !g->w.peers[r].suspected)
			acked = GB_MIN(acked, d->peers[k].acked);
	}
	uint64_t limit = acked == UINT64_MAX ? tail : GB_MIN(tail, acked + d->window);
	while (n < budget && d->sent < limit) {
		if (d->sent < d->frag_end) { /* the rest of a record larger than a frame */
			uint64_t end = GB_MIN(d->frag_end, limit);
			n += send_raw(g, d, g->fx.ring, &d->sent, end, DRV_DEST_ALL, 0, epoch,
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
				(const struct dp_rec *)(g->fx.ring + (p & g->fx.ring_mask));
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
			p = dp_rec_next(p, lf, g->fx.ring_mask);
		}
		if (!count)
			continue; /* fragments, next turn of the loop */
		hdr[GW_HDR] = (uint8_t)count;
		hdr[GW_HDR + 1] = (uint8_t)(count >> 8);
		d->tx_new[d->n_tx] = start;
		seal(d, t, GW_BATCH, 0, epoch, d->my_id, body, start);
		d->sent = p;
		n++;
	}
	return n;
}

static unsigned
send_repairs(struct dp_group *g, struct dp_dgram *d, unsigned budget)
{
	unsigned n = 0;
	while (n < budget && d->rq_head != d->rq_tail) {
		struct dg_rq *e = &d->rq[d->rq_head];
		struct dg_peer *q = &d->peers[e->idx];
		bool own = e->idx == d->my_idx;
		const uint8_t *ring = own ? g->fx.ring : q->ring;
		/* The ring switched since: only what it did not re-stamp (below its new
		 * base) goes, labelled with the epoch it was asked in. Relays also stay
		 * within what the mirror still holds. */
		uint64_t now_epoch =
			own ? atomic_load_explicit(&g->fx.row->row_epoch, memory_order_relaxed)
			    : q->epoch;
		if (now_epoch != e->epoch)
			e->to = GB_MIN(e->to, own ? atomic_load_explicit(&g->fx.row->epoch_base,
									 memory_order_relaxed)
						  : q->base);
		if (!own) {
			uint64_t lo =
				q->hiwater > g->fx.ring_bytes ? q->hiwater - g->fx.ring_bytes : 0;
			e->from = GB_MAX(GB_MAX(e->from, lo), q->hollow);
			e->to = GB_MIN(e->to, q->contig);
			dg_keep_materialize(g, q); /* relayed from the mirror: payloads in it */
		}
		unsigned k = e->from < e->to ? send_raw(g, d, ring, &e->from, e->to, e->dest,
							e->flags, e->epoch, q->id, budget - n)
					     : 0;
		dp_count(d->cnt, DP_C_retrans_frames, k);
		n += k;
		if (e->from >= e->to)
			d->rq_head = (d->rq_head + 1) % DG_RQ;
	}
	return n;
}

/* NAKs for the mirrors' gaps that are due. */
static unsigned
send_naks(struct dp_group *g, struct dp_dgram *d, uint64_t now)
{
	unsigned n = 0;
	/* The first NAK's random wait spreads the NAKs of many receivers of one
	 * loss; with few there is nothing to spread: it shrinks with the group
	 * (20 us at 17 members or more, 1.25 us for 2). */
	uint64_t scale = GB_MIN(GB_MAX(d->n, 2u) - 1, 16u);
	uint64_t delay = DG_NAK_DELAY_NS * scale / 16;
	/* Likewise the shortest backoff: half of it for a pair, all of it from
	 * 9 members on (a repeat NAK of a small group costs a few frames). */
	uint64_t nak_min = DG_NAK_MIN_NS / 2 + DG_NAK_MIN_NS * GB_MIN(scale, 8u) / 16;
	for (uint32_t k = 0; k < d->n; k++) {
		struct dg_peer *q = &d->peers[k];
		if (k == d->my_idx || !q->region || q->err ||
		    (rank_of(g, q->id) < 0 && g->w.vc == DP_VC_NONE))
			continue;
		bool gap = q->n_ranges || q->known > q->contig || q->want;
		if (!gap) {
			q->gap = false;
			q->fresh = false;
			continue;
		}
		uint64_t top = q->n_ranges ? q->ranges[q->n_ranges - 1].from : 0;
		if (!q->gap) {
			q->gap = true;
			q->nak_backoff = nak_min;
			q->nak_due = now + rnd(d, delay);
			q->nak_contig = q->contig;
			q->nak_top = top;
			q->fresh = false;
			continue;
		}
		if (top > q->nak_top && !q->fresh) {
			q->fresh = true; /* a new hole: its NAK need not wait for the others' */
			q->fresh_due = now + rnd(d, delay);
		}
		bool early = now < q->nak_due;
		if (early && !(q->fresh && now >= q->fresh_due))
			continue;
		/* An early NAK names only the new holes (the older ones are asked
		 * already, their repairs may be on the way); one on the timer, all. */
		uint64_t floor = early ? q->nak_top : 0;
		if (!early) {
			if (q->contig > q->nak_contig)
				q->nak_backoff = nak_min;
			else
				q->nak_backoff = GB_MIN(q->nak_backoff * 2, DG_NAK_MAX_NS);
			q->nak_contig = q->contig;
			q->nak_due = now + q->nak_backoff + rnd(d, q->nak_backoff / 2);
		}
		q->nak_top = top;
		q->fresh = false;
		struct gw_frame *f = &d->f;
		memset(&f->h, 0, sizeof(f->h));
		f->h.type = GW_NAK;
		f->h.epoch = atomic_load_explicit(&g->fx.row->row_epoch, memory_order_relaxed);
		f->h.sender = d->my_id;
		f->h.seq = ++d->nak_seq;
		f->u.nak.target = q->id;
		uint32_t m = 0;
		uint64_t prev = q->contig;
		for (uint32_t i = 0; i < q->n_ranges && m < d->max_gaps; i++) {
			if (q->ranges[i].from > floor)
				f->u.nak.gap[m++] = (struct gw_range){ prev, q->ranges[i].from };
			prev = q->ranges[i].to;
		}
		if (early)
			; /* the bytes past the last received may be in flight still */
		else if (m < d->max_gaps && q->known > prev)
			f->u.nak.gap[m++] = (struct gw_range){ prev, q->known };
		else if (m < d->max_gaps && q->want && q->known <= prev)
			/* Its trim wants more than anyone said it has: ask for what there is. */
			f->u.nak.gap[m++] = (struct gw_range){ prev, prev + g->fx.ring_bytes / 4 };
		if (!m)
			continue;
		f->u.nak.n = m;
		/* During a view change anyone who has the bytes may answer. */
		uint32_t dest = g->w.vc != DP_VC_NONE || q->want ? DRV_DEST_ALL : q->id;
		if (dest == DRV_DEST_ALL)
			f->h.flags = GW_F_ANYONE;
		queue_ctl(g, d, dest);
		dp_count(d->cnt, DP_C_naks_sent, 1);
		n++;
	}
	return n;
}

unsigned
dp_dgram_tx(struct dp_group *g)
{
	struct dp_dgram *d = g->fx.dgram;
	const struct dp_row *row = g->fx.row;
	uint64_t now = gb_now_ns();
	unsigned n = 0;
	uint64_t epoch = atomic_load_explicit(&row->row_epoch, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&row->tail, memory_order_relaxed);
	if (epoch != d->sent_epoch) {
		/* A new view: its records from epoch_base on were re-stamped. The row
		 * goes first, so receivers take the re-sent records as the new view's. */
		uint64_t b = atomic_load_explicit(&row->epoch_base, memory_order_relaxed);
		if (d->sent > b) {
			d->sent = b; /* a record boundary: no fragment is under way */
			d->frag_end = 0;
		}
		d->sent_epoch = epoch;
		dg_send_status(g, d, false, now);
		n++;
	}
	if (g->w.vc == DP_VC_NONE)
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
		dg_send_status(g, d, beat, now);
		n++;
	}
	dg_flush(g, d);
	return n;
}
