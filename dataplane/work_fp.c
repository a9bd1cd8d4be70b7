/* SPDX-License-Identifier: MIT */
/*
 * The hot path of the dataplane thread: one pass over a group.
 *
 *   1. releases: turn the app's released deliveries into freed positions;
 *   2. sequence: publish this member's committed records (tail, next_round);
 *   3. receive: read every sender's next_round and tail, publish recv_pos;
 *   4. order and deliver (FIFO, TOTAL, SAFE) into the delivery queue;
 *   5. every DP_TICK_PASSES passes: the clock, and liveness of every peer
 *      (tick.c, off the hot path).
 *
 * Each pass also looks at the control channel (one load); while a view
 * change runs (viewchange.c), steps 2 to 4 make way for it.
 *
 * Total order: every record carries a round; the order is (round, sender
 * rank, sequence). A member's next_round promises that none of its future
 * records has a smaller round, so a record (r, s) is deliverable once every
 * other member t has either a visible record after it or a promise past it
 * ((r, s) < (next_round_t, t)). Idle members advance their promise to the
 * highest round they have seen: Derecho's null messages, as a row field.
 *
 * No malloc, lock, syscall, clock read or log line here: those are in the
 * functions of other files it calls when something happens (a command, a
 * view change, a bad record) and in the tick (tests/unit/hotpath.py checks).
 */
#include "group.h"
#include "base/seqlock.h"
#include "rec.h"
#include "dgram.h"

#include <string.h>

static inline uint64_t
ld_acq(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

static inline void
st_rel(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_release);
}

/* 1. Released deliveries become freed positions in the senders' rings. */
static unsigned
apply_releases(struct dp_group *g)
{
	uint64_t seen = g->dq.pos.tail_seen;
	/* The app is done with the entries below rel (gb_spsc A2). */
	uint64_t rel = gb_spsc_tail(&g->dq.pos);
	if (rel == seen)
		return 0;
	uint64_t touched = 0;
	for (uint64_t i = seen; i != rel; i++) {
		uint32_t k = (uint32_t)(i & (DP_DQ_SIZE - 1));
		if (g->dq.rank[k] == DP_NO_RANK)
			continue; /* its sender left the view: its ring is not written again */
		g->w.peers[g->dq.rank[k]].freed = g->dq.end[k];
		touched |= 1ull << g->dq.rank[k];
	}
	while (touched) {
		unsigned r = (unsigned)__builtin_ctzll(touched);
		touched &= touched - 1;
		/* R7: the released bytes may be overwritten once the sender reads this (A7). */
		st_rel(&g->fx.row->freed_pos[r], g->w.peers[r].freed);
	}
	return 1;
}

unsigned
dp_sequence_own(struct dp_group *g, uint64_t upto)
{
	if (upto == g->w.seq_pos)
		return 0;
	uint64_t round = g->fx.mode == GALE_MODE_FIFO ? 0 : dp_round_now(&g->w);
	/* APP mode: dp_commit() stamped this same epoch and round (nothing
	 * that changes them runs between a commit and this publish). AGENT mode:
	 * stamp every record since the last publish here; the app thread wrote
	 * them before R3. */
	if (g->fx.agent)
		dp_rec_stamp(g->fx.ring, g->fx.ring_mask, g->w.seq_pos, upto, g->w.epoch32, round);
	if (g->fx.mode != GALE_MODE_FIFO)
		g->w.own_next_round = round + 1;
	g->w.seq_pos = upto;
	g->w.peers[g->w.my_rank].seen = upto;
	atomic_store_explicit(&g->fx.row->recv_pos[g->w.my_rank], upto, memory_order_relaxed);
	/* R1: records up to `upto` are written; pairs with A1 in receive(). */
	st_rel(&g->fx.row->tail, upto);
	if (g->fx.mode != GALE_MODE_FIFO)
		/* R2: after R1, so a reader that sees this promise sees those records (A2). */
		st_rel(&g->fx.row->next_round, g->w.own_next_round);
	return 1;
}

/* 3. Read every sender's promise and tail; publish what this member has seen. */
static unsigned
receive(struct dp_group *g)
{
	unsigned work = 0;
	uint64_t maxr = g->w.max_peer_round;
	for (uint32_t r = 0; r < g->w.n; r++) {
		struct dp_peer *p = &g->w.peers[r];
		if (r == g->w.my_rank) {
			p->nr_seen = g->w.own_next_round;
			continue;
		}
		/* A2 then A1: a promise read first covers every record of the tail read after.
		 * Promises only grow, across views too: one read in any epoch holds. */
		uint64_t nr = ld_acq(&p->row->next_round);
		if (nr > maxr)
			maxr = nr;
		p->nr_seen = nr;
		/* A14: its records of this view are stamped once its row says so. */
		uint64_t pe = ld_acq(&p->row->row_epoch);
		if (gb_unlikely(pe != g->w.view.epoch)) {
			if (pe > g->w.view.epoch && !g->w.stale) {
				g->w.stale = true; /* it moved on: this member lags or is out */
				struct dp_evt e = { .type = DP_EVT_STALE,
						    .id = p->id,
						    .epoch = g->w.view.epoch };
				dp_ctl_post(g, &e);
			}
			continue; /* or it has not switched to this view yet */
		}
		if (gb_unlikely(p->need_base)) {
			/* New to this view: its records start where its row says. */
			uint64_t base =
				atomic_load_explicit(&p->row->epoch_base, memory_order_relaxed);
			p->deliv_pos = p->seen = p->freed = base;
			p->need_base = false;
			atomic_store_explicit(&g->fx.row->recv_pos[r], base, memory_order_relaxed);
			/* R7 (as in apply_releases()). */
			st_rel(&g->fx.row->freed_pos[r], base);
		}
		uint64_t t = ld_acq(&p->row->tail);
		if (t == p->seen || p->failed)
			continue;
		if (gb_unlikely(t < p->seen || t - p->deliv_pos > g->fx.ring_bytes)) {
			dp_count(&g->cd, DP_C_invalid_records, 1);
			p->failed = true;
			dp_suspect(g, r, "its ring tail moved backwards or past its capacity");
			continue;
		}
		p->seen = t;
		/* Relaxed is enough: nothing else is published with it. */
		atomic_store_explicit(&g->fx.row->recv_pos[r], t, memory_order_relaxed);
		work++;
	}
	g->w.max_peer_round = maxr;
	if (g->fx.mode != GALE_MODE_FIFO && g->w.own_next_round < maxr) {
		/* Null message: promise not to send below the highest round seen.
		 * Safe with records still unsequenced: dp_sequence_own() gives them
		 * a round of at least own_next_round. */
		g->w.own_next_round = maxr;
		g->w.peers[g->w.my_rank].nr_seen = maxr;
		st_rel(&g->fx.row->next_round, maxr);
		work++;
	}
	if (work)
		dp_count(&g->cd, DP_C_rows_published, 1);
	return work;
}

const struct dp_rec *
dp_peek(struct dp_group *g, struct dp_peer *p, uint32_t *len_out)
{
	while (p->deliv_pos < p->seen) {
		uint64_t off = p->deliv_pos & g->fx.ring_mask;
		const struct dp_rec *h = (const struct dp_rec *)(p->ring + off);
		uint32_t lf = h->len_flags; /* read once: validate the value used */
		uint64_t next = dp_rec_next(p->deliv_pos, lf, g->fx.ring_mask);
		if (lf & DP_REC_PAD) {
			if (gb_unlikely(next > p->seen))
				goto bad;
			p->deliv_pos = next;
			continue;
		}
		uint32_t len = lf & DP_REC_LEN_MASK;
		if (gb_unlikely(h->epoch != g->w.epoch32)) {
			/* Re-stamped for a later view? Then (R14 comes before any
			 * re-stamp) its row reads 0 or that later epoch: this member
			 * lags (see receive()). Any other epoch is a corrupt record. */
			/* Read again with acquire: the row's epoch is read after it. */
			if ((int32_t)(__atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE) - g->w.epoch32) >
			    0) {
				uint64_t pe = atomic_load_explicit(&p->row->row_epoch,
								   memory_order_relaxed);
				if (pe == 0 || pe > g->w.view.epoch) {
					g->w.stale = true;
					return NULL;
				}
			}
			goto bad;
		}
		if (gb_unlikely(!dp_rec_fits(off, lf, g->fx.max_msg, g->fx.ring_bytes) ||
				next > p->seen ||
				(g->fx.mode != GALE_MODE_FIFO && h->round < p->last_round)))
			goto bad;
		*len_out = len;
		return h;
	}
	return NULL;
bad:
	if (p->failed)
		return NULL; /* counted and reported already */
	p->failed = true;
	dp_count(&g->cd, DP_C_invalid_records, 1);
	for (uint32_t r = 0; r < g->w.n; r++)
		if (&g->w.peers[r] == p)
			dp_suspect(g, r, "a malformed record in its ring");
	return NULL;
}

/* 4. Move deliverable records into the delivery queue. */
static unsigned
deliver(struct dp_group *g)
{
	uint64_t prod = gb_spsc_prod_pos(&g->dq.pos);
	uint64_t space = gb_spsc_free_seen(&g->dq.pos, DP_DQ_SIZE);
	if (!space || g->w.stale)
		return 0;
	bool stuck;
	unsigned n = dp_deliver(g, prod, space, false, &stuck);
	if (n)
		/* The queue entries are written (gb_spsc S1; A1 in dp_poll()). */
		gb_spsc_publish(&g->dq.pos, prod + n);
	return n;
}

unsigned
dp_group_work(struct dp_group *g)
{
	uint32_t st = atomic_load_explicit(&g->down.status, memory_order_relaxed);
	unsigned dgw = 0;
	if (g->fx.dgram) {
		/* Frames in first: the mirrors are what the steps below read. A
		 * stopped member still answers and says it stopped. */
		dgw = dp_dgram_rx(g);
		if (gb_unlikely(st != GALE_STATUS_RUNNING && st != GALE_STATUS_JOINING))
			return dgw + dp_dgram_tx(g);
	}
	if (gb_unlikely(st != GALE_STATUS_RUNNING)) {
		if (st != GALE_STATUS_JOINING)
			return 0;
		/* A joiner waits for the view that has it. */
		atomic_store_explicit(&g->fx.ctl->dp_heartbeat, ++g->w.passes,
				      memory_order_relaxed);
		return dp_ctl_work(g);
	}
	unsigned work = dgw + apply_releases(g);
	/* A command from the control plane (viewchange.c reads it: A12). */
	if (gb_unlikely(gb_spsc_any(&g->fx.ctl->cmd_pos)))
		work += dp_ctl_work(g);
	if (gb_likely(g->w.vc == DP_VC_NONE)) {
		if (g->fx.agent)
			/* A3: pairs with R3 in dp_commit(); the records are written. */
			work += dp_sequence_own(g, ld_acq(&g->up.commit_shared));
		else if (g->app.commit_pos != g->w.seq_pos) {
			/* APP mode: this is the app thread; publish what dp_commit() batched. */
			g->app.unpublished = 0;
			work += dp_sequence_own(g, g->app.commit_pos);
		}
		work += receive(g);
		work += deliver(g);
	} else {
		work += dp_vc_work(g);
	}
	g->w.passes++;
	/* Every pass: a member is alive as long as its dataplane runs. Each
	 * word is on a line of its own, which its reader looks at every ms. */
	atomic_store_explicit(&g->fx.row->heartbeat, g->w.passes, memory_order_relaxed);
	atomic_store_explicit(&g->fx.ctl->dp_heartbeat, g->w.passes, memory_order_relaxed);
	if (g->fx.dgram)
		work += dp_dgram_tx(g);
	dp_count(&g->cd, DP_C_polls, 1);
	if (!work)
		dp_count(&g->cd, DP_C_idle_polls, 1);
	if ((g->w.passes & (DP_TICK_PASSES - 1)) == 0)
		dp_group_tick(g); /* 5. (tick.c) */
	return work;
}
