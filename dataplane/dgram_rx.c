/* SPDX-License-Identifier: MIT */
/*
 * The datagram layer, receiving (design: dgram.c): every frame decoded and
 * checked against the view, data written at its ring position in the
 * sender's mirror, received byte ranges kept, the mirror's tail and promise
 * published as far as whole records allow, status rows applied (with the
 * re-sync at a peer's switch), NAKs turned into queued repairs.
 */
#include "dgram_int.h"
#include "rec.h"
#include "base/seqlock.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Publish the mirror's tail and promises as far as the bytes allow. */
static void
publish(struct dp_group *g, struct dg_peer *q)
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
		const struct dp_rec *h = (const struct dp_rec *)(q->ring + (p & g->fx.ring_mask));
		uint32_t lf = h->len_flags, len = lf & DP_REC_LEN_MASK;
		uint64_t next;
		if (lf & DP_REC_PAD)
			next = dp_rec_next(p, lf, g->fx.ring_mask);
		else /* a bad length: let the dataplane find it (dp_peek) and fail the peer */
			next = p + (len && len <= g->fx.max_msg ? dp_rec_bytes(len) : DP_REC_ALIGN);
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
data_window(struct dp_group *g, struct dg_peer *q, uint64_t e, uint64_t from, uint64_t *to)
{
	if (!q->region)
		return DG_DROP_EARLY;
	if (e == 0 || e > g->w.view.epoch + 2)
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
	if (*to > g->w.peers[r].freed + g->fx.ring_bytes)
		return DG_DROP_WINDOW;
	if (*to <= q->contig)
		return DG_DROP_DUP;
	return 0;
}

/*
 * Whether ring bytes [from, *to) of a frame of epoch e are taken into q's
 * mirror (the caller then writes [*lo, *to)); if not, the frame is dropped
 * and counted.
 */
static bool
take(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, uint64_t e, uint64_t from,
     uint64_t *to, uint64_t *lo)
{
	unsigned why = data_window(g, q, e, from, to);
	if (why) {
		drop(d, why);
		return false;
	}
	*lo = GB_MAX(from, q->contig);
	int rc = range_add(q, *lo, *to);
	if (rc <= 0) {
		drop(d, rc ? DG_DROP_FULL : DG_DROP_DUP);
		return false;
	}
	q->hiwater = GB_MAX(q->hiwater, *to);
	return true;
}

/* The bytes up to `to` are written: publish what they complete. */
static void
received(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, uint64_t to)
{
	q->known = GB_MAX(q->known, to);
	dp_count(d->cnt, DP_C_frames_received, 1);
	publish(g, q);
}

static void
rx_data(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	uint64_t from = f->h.seq, to = from + f->u.data.len;
	if ((from & g->fx.ring_mask) + f->u.data.len > g->fx.ring_bytes || to < from) {
		drop(d, DG_DROP_WINDOW); /* a fragment never crosses the ring's end */
		return;
	}
	uint64_t lo;
	if (!take(g, d, q, f->h.epoch, from, &to, &lo))
		return;
	memcpy(q->ring + (lo & g->fx.ring_mask), f->u.data.data + (lo - from), to - lo);
	received(g, d, q, to);
}

static void
rx_batch(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f,
	 const struct drv_rx *rx)
{
	/* First where the records go: each at an aligned position inside the
	 * ring, none crossing its end, positions never wrapping. */
	const uint8_t *b = f->u.batch.recs;
	uint64_t p = f->h.seq;
	size_t off = 0;
	if (p % DP_REC_ALIGN) {
		drop(d, DG_DROP_WINDOW);
		return;
	}
	for (uint32_t i = 0; i < f->u.batch.count; i++) {
		uint32_t lf;
		memcpy(&lf, b + off, 4);
		uint32_t len = lf & DP_REC_LEN_MASK;
		if (lf & DP_REC_PAD) {
			uint64_t next = (p | g->fx.ring_mask) + 1;
			if (next < p) {
				drop(d, DG_DROP_WINDOW);
				return;
			}
			p = next;
		} else {
			if (len > g->fx.max_msg ||
			    (p & g->fx.ring_mask) + sizeof(struct dp_rec) + len >
				    g->fx.ring_bytes) {
				drop(d, DG_DROP_WINDOW);
				return;
			}
			if (p + dp_rec_bytes(len) < p) {
				drop(d, DG_DROP_WINDOW);
				return;
			}
			p += dp_rec_bytes(len);
		}
		off += GW_REC_HDR + len;
	}
	uint64_t from = f->h.seq, to = p, lo;
	if (!take(g, d, q, f->h.epoch, from, &to, &lo))
		return;
	/* Then each record's bytes at or past lo (and before to): a whole one
	 * with a payload of copybreak bytes or more stays in the frame, kept
	 * (dgram_keep.c), and only its header is copied. */
	p = from;
	off = 0;
	bool keep = q->inplace != NULL, kept = false;
	for (uint32_t i = 0; i < f->u.batch.count && p < to; i++) {
		uint32_t lf;
		memcpy(&lf, b + off, 4);
		uint32_t len = lf & DP_REC_LEN_MASK;
		uint64_t img = GW_REC_HDR + (uint64_t)len; /* the record's bytes in the ring */
		uint64_t next = dp_rec_next(p, lf, g->fx.ring_mask);
		if (p >= lo && keep && !(lf & DP_REC_PAD) && len >= d->copybreak) {
			if (!kept && !dg_keep_frame(g, d, q, rx, from, to))
				keep = false; /* copy the rest */
			kept = keep;
		}
		if (p >= lo && kept && !(lf & DP_REC_PAD) && len >= d->copybreak) {
			uint64_t o = p & g->fx.ring_mask;
			memcpy(q->ring + o, b + off, GW_REC_HDR);
			q->inplace[o / DP_INPLACE_SLOT] =
				(struct dp_inplace){ .ptr = b + off + GW_REC_HDR, .pos = p };
			dp_count(d->cnt, DP_C_rx_in_place, 1);
		} else if (p + img > lo) {
			uint64_t s = lo > p ? lo - p : 0;
			memcpy(q->ring + ((p + s) & g->fx.ring_mask), b + off + s, img - s);
		}
		off += img;
		p = next;
	}
	received(g, d, q, to);
}

/* Its first status: check its configuration, make the mirror. */
static unsigned
mirror_create(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_status *s)
{
	if (s->layout_version != DP_LAYOUT_VERSION)
		q->err = -GALE_EVERSION;
	else if (s->conf_hash != d->conf_hash || s->ring_bytes != g->fx.ring_bytes)
		q->err = -GALE_ECONFIG;
	if (q->err)
		return DG_DROP_CONFIG;
	void *m = mmap(NULL, dp_region_bytes(g->fx.ring_bytes), PROT_READ | PROT_WRITE,
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
	dg_keep_init(g, d, q);
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
rx_status(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	const struct gw_status *s = &f->u.status;
	uint64_t e = s->row_epoch;
	if (e != f->h.epoch || e == 0 || e > g->w.view.epoch + 2 || s->n > GALE_MAX_MEMBERS ||
	    s->n_init > GALE_MAX_MEMBERS || s->epoch_base % DP_REC_ALIGN) {
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
		gb_seq_write_begin(&row->row_epoch, 0);
		uint64_t b = s->epoch_base; /* below it, the bytes kept their stamps */
		if (q->epoch) {
			/* Its records from b on were re-stamped: take them again. Past a
			 * view this member never saw it switch to, the records between
			 * that view's base (unknown here) and b were re-stamped too: take
			 * again everything this member has not delivered. */
			uint64_t again = b;
			int r = rank_of(g, q->id);
			if (e > q->epoch + 1 && r >= 0)
				again = GB_MIN(again, g->w.peers[r].deliv_pos);
			if (q->contig > again)
				q->contig = again;
			b = again; /* the bytes this mirror takes again from the new epoch */
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
		/* Release stores, as in switch_view(): a reader that sees a value of
		 * the new view also sees the row_epoch of 0 stored before it. */
		for (uint32_t i = 0; i < GALE_MAX_MEMBERS; i++) {
			atomic_store_explicit(&row->recv_pos[i], i < s->n ? s->recv[i] : 0,
					      memory_order_release);
			atomic_store_explicit(&row->freed_pos[i], i < s->n ? s->freed[i] : 0,
					      memory_order_release);
		}
		atomic_store_explicit(&row->epoch_base, s->epoch_base, memory_order_relaxed);
		q->epoch = e;
		q->base = b;
		if (!q->resync_to)
			gb_seq_write_end(&row->row_epoch, e);
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
	if (e == g->w.view.epoch && g->w.my_rank < s->n)
		q->acked = GB_MAX(q->acked, s->recv[g->w.my_rank]);
	q->known = GB_MAX(q->known, s->tail);
	push_promise(q, s->tail, s->next_round);
	dp_count(d->cnt, DP_C_frames_received, 1);
	publish(g, q);
}

static void
rx_heartbeat(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, const struct gw_frame *f)
{
	uint64_t e = f->h.epoch;
	if (e == 0 || e > g->w.view.epoch + 2) {
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
	dp_count(d->cnt, DP_C_frames_received, 1);
}

/* Queue a repair, unless one queued already covers it. */
static bool
rq_push(struct dp_dgram *d, uint32_t dest, uint32_t idx, uint16_t flags, uint64_t epoch,
	uint64_t from, uint64_t to)
{
	for (uint32_t i = d->rq_head; i != d->rq_tail; i = (i + 1) % DG_RQ) {
		struct dg_rq *e = &d->rq[i];
		if (e->dest == dest && e->idx == idx && e->from <= from && to <= e->to)
			return true;
	}
	if ((d->rq_tail + 1) % DG_RQ == d->rq_head)
		return false;
	d->rq[d->rq_tail] = (struct dg_rq){ dest, idx, flags, epoch, from, to };
	d->rq_tail = (d->rq_tail + 1) % DG_RQ;
	return true;
}

/* Bytes of this member's own ring no claim can be overwriting. */
static uint64_t
own_floor(struct dp_group *g, struct dp_dgram *d)
{
	uint64_t f = g->w.peers[g->w.my_rank].freed;
	for (uint32_t r = 0; r < g->w.n; r++) {
		if (r == g->w.my_rank)
			continue;
		const struct dp_row *row = g->w.peers[r].row;
		/* A row of another view says nothing of this member's rank: keep the
		 * floor of the last time every row could be read (freed positions
		 * only grow, so it is still below what the app thread may reuse). */
		if (!row ||
		    atomic_load_explicit(&row->row_epoch, memory_order_acquire) != g->w.view.epoch)
			return d->floor;
		uint64_t v =
			atomic_load_explicit(&row->freed_pos[g->w.my_rank], memory_order_relaxed);
		f = GB_MIN(f, v);
	}
	if (f > d->floor)
		d->floor = f;
	return d->floor;
}

static void
rx_nak(struct dp_group *g, struct dp_dgram *d, struct dg_peer *from_peer, const struct gw_frame *f)
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
		uint64_t tail = atomic_load_explicit(&g->fx.row->tail, memory_order_relaxed);
		lo = own_floor(g, d);
		if (tail > g->fx.ring_bytes && lo < tail - g->fx.ring_bytes)
			lo = tail - g->fx.ring_bytes;
		hi = d->sent;
	} else {
		/* Relay from the mirror: what is here and not yet overwritten (bytes
		 * more than a ring below the highest written are gone). */
		if (!t->region) {
			drop(d, DG_DROP_NAK);
			return;
		}
		lo = t->hiwater > g->fx.ring_bytes ? t->hiwater - g->fx.ring_bytes : 0;
		lo = GB_MAX(lo, t->hollow); /* payloads below went with their frames */
		hi = t->contig;
		flags |= GW_F_RELAY;
	}
	bool any = false;
	for (uint32_t i = 0; i < f->u.nak.n; i++) {
		uint64_t a = GB_MAX(f->u.nak.gap[i].from, lo);
		uint64_t b = GB_MIN(f->u.nak.gap[i].to, hi);
		if (a < b &&
		    rq_push(d, dest, idx, flags, idx == d->my_idx ? d->sent_epoch : t->epoch, a, b))
			any = true;
	}
	if (any)
		dp_count(d->cnt, DP_C_frames_received, 1);
	else
		drop(d, DG_DROP_NAK);
}

unsigned
dp_dgram_rx(struct dp_group *g)
{
	struct dp_dgram *d = g->fx.dgram;
	dg_keep_release(g, d);
	unsigned n = g->fx.ops->rx(g->fx.drv, d->rx, DG_RX_BURST);
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
			rx_batch(g, d, q, f, &d->rx[i]);
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
