/* SPDX-License-Identifier: MIT */
/*
 * Delivery in the mode's order: one merge of the senders' rings into the
 * delivery queue, with two kinds of limits.
 *
 *   normal  (dp_group_work): a sender's records are delivered as they come;
 *           one with nothing readable bounds the total order by its
 *           promise (next_round: no later record of it has a smaller
 *           round); SAFE also waits until every member has seen a record.
 *   trim    (the view change, dp_vc_work): each sender's messages up to
 *           the agreed cut (peers[r].trim) and no further; a sender that
 *           has given all of them bounds nothing, one whose next kept
 *           record is not there yet stops the total order (*stuck).
 *
 * FIFO takes each sender's records in turn, DP_FIFO_BURST at a time, so a
 * busy sender cannot starve another; TOTAL and SAFE merge by (round, rank).
 * Dataplane thread only.
 */
#include "base/seqlock.h"
#include "group.h"

/* (r1, s1) < (r2, s2) in the total order. */
static inline bool
key_lt(uint64_t r1, uint32_t s1, uint64_t r2, uint32_t s2)
{
	return r1 < r2 || (r1 == r2 && s1 < s2);
}

/* Rank r's next record within the merge's limits, NULL if none now. */
static inline const struct dp_rec *
next_of(struct dp_group *g, uint32_t r, bool trim, uint32_t *len, bool *stuck)
{
	struct dp_peer *p = &g->w.peers[r];
	if (trim && p->deliv_seq >= p->trim)
		return NULL; /* all its messages of the old view are delivered */
	const struct dp_rec *h = dp_peek(g, p, len);
	if (!h && trim)
		*stuck = true;
	return h;
}

/*
 * A run of rank r's records into the queue at prod: at most max, each below
 * the key (lim_r, lim_s) in the total order (keyed), ending at or below
 * pos_lim (SAFE stability), and (trim) while deliv_seq < trim. The common
 * case, a valid record of this epoch, is judged here with the peer's
 * positions in registers, by the same rules as dp_peek(); anything else (a
 * pad, another epoch, a bad record) goes through dp_peek(), which skips it,
 * or stops the run. Returns the count queued.
 */
static unsigned
take_run(struct dp_group *g, uint32_t r, uint64_t prod, uint64_t max, bool keyed, uint64_t lim_r,
	 uint32_t lim_s, uint64_t pos_lim, bool trim)
{
	struct dp_peer *p = &g->w.peers[r];
	const uint8_t *ring = p->ring;
	const uint64_t mask = g->fx.ring_mask, ring_bytes = g->fx.ring_bytes, seen = p->seen;
	const uint64_t epoch = g->w.view.epoch, seq_lim = trim ? p->trim : UINT64_MAX;
	const uint32_t e32 = g->w.epoch32, id = p->id, max_msg = g->fx.max_msg;
	const bool ordered = g->fx.mode != GALE_MODE_FIFO;
	const struct dp_inplace *inplace = p->inplace;
	/* no_self_delivery: own records are passed over (the merge's positions
	 * advance as if delivered; none is queued) and freed at once. */
	const bool skip = r == g->w.my_rank && g->fx.no_self;
	uint64_t pos = p->deliv_pos, seq = p->deliv_seq, last = p->last_round, n = 0;
	while (n < max && seq < seq_lim && pos < seen) {
		uint64_t off = pos & mask;
		const struct dp_rec *h = (const struct dp_rec *)(ring + off);
		uint32_t lf = h->len_flags; /* read once: judge the value used */
		uint32_t len = lf & DP_REC_LEN_MASK;
		uint64_t next = pos + dp_rec_bytes(len);
		uint64_t round = h->round;
		if (gb_unlikely((lf & DP_REC_PAD) || h->epoch != e32 || len == 0 || len > max_msg ||
				off + (next - pos) > ring_bytes || next > seen ||
				(ordered && round < last))) {
			p->deliv_pos = pos;
			p->last_round = last;
			uint32_t l2;
			if (!dp_peek(g, p, &l2))
				break;	    /* nothing more, stale, or a bad record (reported) */
			pos = p->deliv_pos; /* past pads: a valid record there */
			continue;
		}
		if (keyed && !key_lt(round, r, lim_r, lim_s))
			break;
		if (next > pos_lim)
			break;
		if (skip) {
			last = round;
			pos = next;
			seq++;
			continue;
		}
		const void *data = h + 1;
		if (inplace) {
			/* Delivered in place, from the received frame (dgram.c)? */
			const struct dp_inplace *s = &inplace[off / DP_INPLACE_SLOT];
			if (s->ptr && s->pos == pos)
				data = s->ptr;
		}
		uint32_t k = (uint32_t)((prod + n) & (DP_DQ_SIZE - 1));
		g->dq.msg[k] = (struct gale_msg){
			.data = data, .len = len, .sender = id, .seq = seq, .epoch = epoch
		};
		g->dq.end[k] = next;
		g->dq.rank[k] = (uint8_t)r;
		last = round;
		pos = next;
		seq++;
		n++;
	}
	p->deliv_pos = pos;
	p->deliv_seq = seq;
	p->last_round = last;
	if (skip && p->freed != pos) {
		p->freed = pos;
		/* R7 (as in apply_releases()): this member is done with its own bytes. */
		atomic_store_explicit(&g->fx.row->freed_pos[r], pos, memory_order_release);
	}
	/* Published records ahead are read soon: ask for their lines now (never
	 * past the tail: those lines are the writer's). */
	if (pos + DP_PREFETCH_AHEAD < seen)
		gb_prefetch_r(ring + ((pos + DP_PREFETCH_AHEAD) & mask));
	return (unsigned)n;
}

static unsigned
merge_fifo(struct dp_group *g, uint64_t prod, uint64_t space, bool trim, bool *stuck)
{
	unsigned done = 0, round_done;
	unsigned burst = trim ? UINT32_MAX : DP_FIFO_BURST;
	do {
		round_done = 0;
		for (uint32_t i = 0; i < g->w.n && space; i++) {
			uint32_t r = g->w.fifo_next + i;
			if (r >= g->w.n)
				r -= g->w.n;
			uint64_t want = GB_MIN((uint64_t)burst, space);
			unsigned k = take_run(g, r, prod, want, false, 0, 0, UINT64_MAX, trim);
			struct dp_peer *p = &g->w.peers[r];
			if (trim && k < want && p->deliv_seq < p->trim)
				*stuck = true; /* a kept message is not in its ring (yet) */
			prod += k;
			space -= k;
			round_done += k;
		}
		done += round_done;
	} while (round_done && space && !trim);
	if (++g->w.fifo_next == g->w.n)
		g->w.fifo_next = 0;
	return done;
}

/* SAFE: bytes of rank r's ring that every member has seen (inside the rows'
 * sequence locks, opened by the caller). */
static uint64_t
stable_of(struct dp_group *g, uint32_t r)
{
	uint64_t m = g->w.peers[r].seen; /* this member's own view, and <= the sender's */
	for (uint32_t j = 0; j < g->w.n; j++) {
		if (j == r || j == g->w.my_rank)
			continue;
		uint64_t v = gb_seq_load(&g->w.peers[j].row->recv_pos[r]); /* R2 */
		if (v < m)
			m = v;
	}
	return m;
}

/* SAFE: stable[r] for each sender with a head; false while a row describes
 * another view (its recv_pos say nothing of this one). */
static bool
read_stable(struct dp_group *g, const struct dp_rec *const *head, uint64_t *stable)
{
	uint64_t e = g->w.view.epoch;
	for (uint32_t j = 0; j < g->w.n; j++)
		if (j != g->w.my_rank && gb_seq_read_begin(&g->w.peers[j].row->row_epoch) != e)
			return false;
	for (uint32_t r = 0; r < g->w.n; r++)
		if (head[r])
			stable[r] = stable_of(g, r);
	for (uint32_t j = 0; j < g->w.n; j++)
		if (j != g->w.my_rank && !gb_seq_read_valid(&g->w.peers[j].row->row_epoch, e))
			return false;
	return true;
}

static unsigned
merge_total(struct dp_group *g, uint64_t prod, uint64_t space, bool trim, bool *stuck)
{
	const struct dp_rec *head[GALE_MAX_MEMBERS];
	uint32_t hlen[GALE_MAX_MEMBERS];
	uint64_t stable[GALE_MAX_MEMBERS];
	bool any = false;
	for (uint32_t r = 0; r < g->w.n; r++) {
		head[r] = next_of(g, r, trim, &hlen[r], stuck);
		any |= head[r] != NULL;
	}
	if (!any || *stuck)
		return 0;
	bool safe = !trim && g->fx.mode == GALE_MODE_SAFE;
	if (safe && !read_stable(g, head, stable))
		return 0;
	unsigned done = 0;
	while (space) {
		uint32_t best = UINT32_MAX;
		for (uint32_t r = 0; r < g->w.n; r++)
			if (head[r] && (best == UINT32_MAX ||
					key_lt(head[r]->round, r, head[best]->round, best)))
				best = r;
		if (best == UINT32_MAX)
			break;
		/* The first record anyone else may still put before best's: its
		 * head, or (normal) its promise; at the trim, a sender with no
		 * head left has given everything. */
		uint64_t lim_r = UINT64_MAX;
		uint32_t lim_s = UINT32_MAX;
		for (uint32_t t = 0; t < g->w.n; t++) {
			if (t == best || (!head[t] && trim))
				continue;
			uint64_t rr = head[t] ? head[t]->round : g->w.peers[t].nr_seen;
			if (key_lt(rr, t, lim_r, lim_s)) {
				lim_r = rr;
				lim_s = t;
			}
		}
		unsigned k = take_run(g, best, prod, space, true, lim_r, lim_s,
				      safe ? stable[best] : UINT64_MAX, trim);
		if (!k)
			break;
		prod += k;
		space -= k;
		done += k;
		head[best] = next_of(g, best, trim, &hlen[best], stuck);
		if (*stuck)
			return done;
	}
	return done;
}

unsigned
dp_deliver(struct dp_group *g, uint64_t prod, uint64_t space, bool trim, bool *stuck)
{
	*stuck = false;
	if (!trim) {
		/* An idle pass: nothing published that is not delivered yet. */
		bool any = false;
		for (uint32_t r = 0; r < g->w.n; r++)
			any |= g->w.peers[r].deliv_pos < g->w.peers[r].seen;
		if (!any)
			return 0;
	}
	if (g->fx.mode == GALE_MODE_FIFO)
		return merge_fifo(g, prod, space, trim, stuck);
	return merge_total(g, prod, space, trim, stuck);
}
