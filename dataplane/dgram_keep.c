/* SPDX-License-Identifier: MIT */
/*
 * The datagram layer, in-place delivery (design: dgram.c). On a driver that
 * can keep its receive buffers (dpdk: mbufs), a record that arrives whole in
 * a BATCH frame with a payload of at least `copybreak` bytes is not copied:
 * its 16-byte header goes to the mirror (the dataplane reads headers there,
 * as for any record) and its payload stays in the frame, which is kept. The
 * mirror's slot for the record's position says where the payload is
 * (struct dp_inplace, tagged with the whole position, so a slot of an
 * earlier lap of the ring never matches); the merge (merge_fp.c) hands the application a
 * pointer into the frame. Shorter payloads are cheaper to copy than to keep
 * (a NIC driver's copybreak), and fragments must be joined: both are copied.
 *
 * A kept frame is freed once every member of the view has released all of
 * its records (the freed positions in the rows: then the sender may reuse
 * them, and nobody will ask for them again), or, for a sender that left the
 * view, once the application released everything delivered before this
 * member noticed. Relays (a failed sender's bytes sent from the mirror)
 * first copy the payloads into the mirror. Everything here runs on the
 * dataplane thread, which also delivers; the application reads the payloads.
 */
#include "dgram_int.h"
#include "rec.h"

#include <stdlib.h>
#include <string.h>

void
dg_keep_init(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q)
{
	if (!g->fx.ops->rx_keep || d->copybreak > g->fx.max_msg)
		return;
	q->inplace = calloc(g->fx.ring_bytes / DP_INPLACE_SLOT, sizeof(q->inplace[0]));
	q->kept = calloc(DG_KEEP, sizeof(q->kept[0]));
	if (!q->inplace || !q->kept) {
		free(q->inplace); /* no memory: this mirror copies, as on udp */
		free(q->kept);
		q->inplace = NULL;
		q->kept = NULL;
	}
}

const struct dp_inplace *
dp_dgram_inplace(struct dp_group *g, uint32_t id)
{
	struct dg_peer *q = peer_of(g->fx.dgram, id);
	return q ? q->inplace : NULL;
}

void *
dg_keep_frame(struct dp_group *g, struct dp_dgram *d, struct dg_peer *q, const struct drv_rx *rx,
	      uint64_t from, uint64_t to)
{
	(void)d;
	uint32_t next = (q->kept_tail + 1) % DG_KEEP;
	if (next == q->kept_head)
		return NULL;
	void *buf = g->fx.ops->rx_keep(g->fx.drv, rx);
	if (!buf)
		return NULL;
	q->kept[q->kept_tail] = (struct dg_kept){ buf, from, to };
	q->kept_tail = next;
	return buf;
}

/* The lowest freed position of the ring of the member at rank rq, over every
 * row of the view; false while a row is of another view. */
static bool
view_freed(struct dp_group *g, uint32_t rq, uint64_t *out)
{
	uint64_t m = UINT64_MAX;
	for (uint32_t r = 0; r < g->w.n; r++) {
		const struct dp_row *row = r == g->w.my_rank ? g->fx.row : g->w.peers[r].row;
		if (!row ||
		    atomic_load_explicit(&row->row_epoch, memory_order_acquire) != g->w.view.epoch)
			return false;
		m = GB_MIN(m, atomic_load_explicit(&row->freed_pos[rq], memory_order_relaxed));
	}
	*out = m;
	return true;
}

static void
free_head(struct dp_group *g, struct dg_peer *q)
{
	struct dg_kept *k = &q->kept[q->kept_head];
	g->fx.ops->rx_free(g->fx.drv, k->buf);
	q->hollow = GB_MAX(q->hollow, k->to);
	q->kept_head = (q->kept_head + 1) % DG_KEEP;
}

void
dg_keep_release(struct dp_group *g, struct dp_dgram *d)
{
	for (uint32_t i = 0; i < d->n; i++) {
		struct dg_peer *q = &d->peers[i];
		if (!q->kept || q->kept_head == q->kept_tail)
			continue;
		int rq = rank_of(g, q->id);
		if (rq < 0) {
			if (!q->gone) {
				q->gone = true;
				q->gone_mark = gb_spsc_prod_pos(&g->dq.pos);
			}
			if ((int64_t)(g->dq.pos.tail_seen - q->gone_mark) < 0)
				continue;
			while (q->kept_head != q->kept_tail)
				free_head(g, q);
			continue;
		}
		uint64_t t;
		if (!view_freed(g, (uint32_t)rq, &t))
			continue;
		/* In arrival order: a late repair waits behind a later frame. */
		while (q->kept_head != q->kept_tail && q->kept[q->kept_head].to <= t)
			free_head(g, q);
	}
}

void
dg_keep_materialize(struct dp_group *g, struct dg_peer *q)
{
	if (!q->kept)
		return;
	for (uint32_t i = q->kept_head; i != q->kept_tail; i = (i + 1) % DG_KEEP) {
		const struct dg_kept *k = &q->kept[i];
		uint64_t p = k->from;
		while (p < k->to) {
			uint64_t off = p & g->fx.ring_mask;
			const struct dp_rec *h = (const struct dp_rec *)(q->ring + off);
			uint32_t lf = h->len_flags, len = lf & DP_REC_LEN_MASK;
			if (lf & DP_REC_PAD) {
				p = dp_rec_next(p, lf, g->fx.ring_mask);
				continue;
			}
			if (!dp_rec_fits(off, lf, g->fx.max_msg, g->fx.ring_bytes))
				break; /* not a record (dp_peek fails the peer for it) */
			struct dp_inplace *s = &q->inplace[off / DP_INPLACE_SLOT];
			if (s->ptr && s->pos == p) {
				memcpy(q->ring + off + sizeof(*h), s->ptr, len);
				s->ptr = NULL;
			}
			p = dp_rec_next(p, lf, g->fx.ring_mask);
		}
	}
}

void
dg_keep_close(struct dp_group *g, struct dp_dgram *d)
{
	for (uint32_t i = 0; i < d->n; i++) {
		struct dg_peer *q = &d->peers[i];
		if (!q->kept)
			continue;
		while (q->kept_head != q->kept_tail)
			free_head(g, q);
		free(q->kept);
		free(q->inplace);
		q->kept = NULL;
		q->inplace = NULL;
	}
}
