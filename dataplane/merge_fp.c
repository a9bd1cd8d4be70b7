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
			for (unsigned b = 0; b < burst && space; b++) {
				uint32_t len;
				const struct dp_rec *h = next_of(g, r, trim, &len, stuck);
				if (!h)
					break;
				dp_emit(g, r, h, len, prod++);
				space--;
				round_done++;
			}
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
		struct dp_peer *p = &g->w.peers[best];
		unsigned n0 = done;
		while (head[best] && space && key_lt(head[best]->round, best, lim_r, lim_s)) {
			if (safe && p->deliv_pos + dp_rec_bytes(hlen[best]) > stable[best])
				break;
			dp_emit(g, best, head[best], hlen[best], prod++);
			space--;
			done++;
			head[best] = next_of(g, best, trim, &hlen[best], stuck);
			if (*stuck)
				return done;
		}
		if (done == n0)
			break;
	}
	return done;
}

unsigned
dp_deliver(struct dp_group *g, uint64_t prod, uint64_t space, bool trim, bool *stuck)
{
	*stuck = false;
	if (g->fx.mode == GALE_MODE_FIFO)
		return merge_fifo(g, prod, space, trim, stuck);
	return merge_total(g, prod, space, trim, stuck);
}
