/* SPDX-License-Identifier: MIT */
/*
 * The hot path of the dataplane thread: one pass over a group.
 *
 *   1. releases: turn the app's released deliveries into freed positions;
 *   2. sequence: publish this member's committed records (tail, next_round);
 *   3. receive: read every sender's next_round and tail, publish recv_pos;
 *   4. order and deliver (FIFO, TOTAL, SAFE) into the delivery queue;
 *   5. every few passes: heartbeat, and liveness of every peer.
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
 * No malloc, lock, syscall or log line here except in the liveness check,
 * which runs every DP_LIVENESS_PASSES passes (one poll(2) per peer).
 */
#include "group.h"
#include "dgram.h"

#include "base/clock.h"
#include "base/proc.h"

#include <string.h>

#define DP_LIVENESS_PASSES 16
#define DP_STILL_NS 2000000ull /* a heartbeat this still: ask the kernel about the process */

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
	/* A4: pairs with R4 in dp_release(); the app is done with those entries. */
	uint64_t rel = ld_acq(&g->dq_released);
	if (rel == g->dq_rel_seen)
		return 0;
	uint64_t touched = 0;
	for (uint64_t i = g->dq_rel_seen; i != rel; i++) {
		uint32_t k = (uint32_t)(i & (DP_DQ_SIZE - 1));
		if (g->dq_rank[k] == DP_NO_RANK)
			continue; /* its sender left the view: its ring is not written again */
		g->peers[g->dq_rank[k]].freed = g->dq_end[k];
		touched |= 1ull << g->dq_rank[k];
	}
	g->dq_rel_seen = rel;
	while (touched) {
		unsigned r = (unsigned)__builtin_ctzll(touched);
		touched &= touched - 1;
		/* R7: the released bytes may be overwritten once the sender reads this (A7). */
		st_rel(&g->row->freed_pos[r], g->peers[r].freed);
	}
	return 1;
}

unsigned
dp_sequence_own(struct dp_group *g, uint64_t upto)
{
	if (upto == g->seq_pos)
		return 0;
	uint64_t round = g->mode == GALE_MODE_FIFO ? 0 : dp_round_now(g);
	/* APP mode: dp_commit() stamped this same epoch and round (nothing
	 * that changes them runs between a commit and this publish). AGENT mode:
	 * stamp every record since the last publish here; the app thread wrote
	 * them before R3. */
	for (uint64_t p = g->seq_pos; g->agent && p < upto;) {
		struct dp_rec *h = (struct dp_rec *)(g->ring + (p & g->ring_mask));
		uint32_t lf = h->len_flags;
		h->epoch = g->epoch32;
		if (lf & DP_REC_PAD) {
			p = (p | g->ring_mask) + 1;
			continue;
		}
		h->round = round;
		p += dp_rec_bytes(lf & DP_REC_LEN_MASK);
	}
	if (g->mode != GALE_MODE_FIFO)
		g->own_next_round = round + 1;
	g->seq_pos = upto;
	g->peers[g->my_rank].seen = upto;
	atomic_store_explicit(&g->row->recv_pos[g->my_rank], upto, memory_order_relaxed);
	/* R1: records up to `upto` are written; pairs with A1 in receive(). */
	st_rel(&g->row->tail, upto);
	if (g->mode != GALE_MODE_FIFO)
		/* R2: after R1, so a reader that sees this promise sees those records (A2). */
		st_rel(&g->row->next_round, g->own_next_round);
	return 1;
}

/* 3. Read every sender's promise and tail; publish what this member has seen. */
static unsigned
receive(struct dp_group *g)
{
	unsigned work = 0;
	uint64_t maxr = g->max_peer_round;
	for (uint32_t r = 0; r < g->n; r++) {
		struct dp_peer *p = &g->peers[r];
		if (r == g->my_rank) {
			p->nr_seen = g->own_next_round;
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
		if (gb_unlikely(pe != g->view.epoch)) {
			if (pe > g->view.epoch && !g->stale) {
				g->stale = true; /* it moved on: this member lags or is out */
				struct dp_evt e = { .type = DP_EVT_STALE,
						    .id = p->id,
						    .epoch = g->view.epoch };
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
			atomic_store_explicit(&g->row->recv_pos[r], base, memory_order_relaxed);
			/* R7 (as in apply_releases()). */
			st_rel(&g->row->freed_pos[r], base);
		}
		uint64_t t = ld_acq(&p->row->tail);
		if (t == p->seen || p->failed)
			continue;
		if (gb_unlikely(t < p->seen || t - p->deliv_pos > g->ring_bytes)) {
			dp_cnt_add(&g->c_invalid, 1);
			p->failed = true;
			dp_suspect(g, r, "its ring tail moved backwards or past its capacity");
			continue;
		}
		p->seen = t;
		/* Relaxed is enough: nothing else is published with it. */
		atomic_store_explicit(&g->row->recv_pos[r], t, memory_order_relaxed);
		work++;
	}
	g->max_peer_round = maxr;
	if (g->mode != GALE_MODE_FIFO && g->own_next_round < maxr) {
		/* Null message: promise not to send below the highest round seen.
		 * Safe with records still unsequenced: dp_sequence_own() gives them
		 * a round of at least own_next_round. */
		g->own_next_round = maxr;
		g->peers[g->my_rank].nr_seen = maxr;
		st_rel(&g->row->next_round, maxr);
		work++;
	}
	if (work)
		dp_cnt_add(&g->c_rows, 1);
	return work;
}

const struct dp_rec *
dp_peek(struct dp_group *g, struct dp_peer *p, uint32_t *len_out)
{
	while (p->deliv_pos < p->seen) {
		uint64_t off = p->deliv_pos & g->ring_mask;
		const struct dp_rec *h = (const struct dp_rec *)(p->ring + off);
		uint32_t lf = h->len_flags; /* read once: validate the value used */
		if (lf & DP_REC_PAD) {
			uint64_t next = (p->deliv_pos | g->ring_mask) + 1;
			if (gb_unlikely(next > p->seen))
				goto bad;
			p->deliv_pos = next;
			continue;
		}
		uint32_t len = lf & DP_REC_LEN_MASK;
		uint64_t bytes = dp_rec_bytes(len);
		if (gb_unlikely(h->epoch != g->epoch32)) {
			/* Re-stamped for a later view? Then (R14 comes before any
			 * re-stamp) its row reads 0 or that later epoch: this member
			 * lags (see receive()). Any other epoch is a corrupt record. */
			/* Read again with acquire: the row's epoch is read after it. */
			if ((int32_t)(__atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE) - g->epoch32) >
			    0) {
				uint64_t pe = atomic_load_explicit(&p->row->row_epoch,
								   memory_order_relaxed);
				if (pe == 0 || pe > g->view.epoch) {
					g->stale = true;
					return NULL;
				}
			}
			goto bad;
		}
		if (gb_unlikely(len == 0 || len > g->max_msg || off + bytes > g->ring_bytes ||
				p->deliv_pos + bytes > p->seen ||
				(g->mode != GALE_MODE_FIFO && h->round < p->last_round)))
			goto bad;
		*len_out = len;
		return h;
	}
	return NULL;
bad:
	if (p->failed)
		return NULL; /* counted and reported already */
	p->failed = true;
	dp_cnt_add(&g->c_invalid, 1);
	for (uint32_t r = 0; r < g->n; r++)
		if (&g->peers[r] == p)
			dp_suspect(g, r, "a malformed record in its ring");
	return NULL;
}

void
dp_emit(struct dp_group *g, uint32_t rank, const struct dp_rec *h, uint32_t len, uint64_t prod)
{
	struct dp_peer *p = &g->peers[rank];
	uint32_t k = (uint32_t)(prod & (DP_DQ_SIZE - 1));
	const void *data = h + 1;
	if (p->inplace) {
		/* Delivered in place, from the received frame (dgram.c)? */
		const struct dp_inplace *s =
			&p->inplace[(p->deliv_pos & g->ring_mask) / DP_REC_ALIGN];
		if (s->ptr && s->pos == p->deliv_pos)
			data = s->ptr;
	}
	g->dq[k] = (struct gale_msg){ .data = data,
				      .len = len,
				      .sender = p->id,
				      .seq = p->deliv_seq,
				      .epoch = g->view.epoch };
	p->deliv_pos += dp_rec_bytes(len);
	p->deliv_seq++;
	p->last_round = h->round;
	g->dq_end[k] = p->deliv_pos;
	g->dq_rank[k] = (uint8_t)rank;
}

static unsigned
deliver_fifo(struct dp_group *g, uint64_t prod, uint64_t space)
{
	unsigned done = 0, round_done;
	/* Rounds of at most DP_FIFO_BURST per sender, so one busy sender cannot starve another. */
	do {
		round_done = 0;
		for (uint32_t i = 0; i < g->n && space; i++) {
			uint32_t r = g->fifo_next + i;
			if (r >= g->n)
				r -= g->n;
			struct dp_peer *p = &g->peers[r];
			for (unsigned b = 0; b < DP_FIFO_BURST && space; b++) {
				uint32_t len;
				const struct dp_rec *h = dp_peek(g, p, &len);
				if (!h)
					break;
				dp_emit(g, r, h, len, prod++);
				space--;
				round_done++;
			}
		}
		done += round_done;
	} while (round_done && space);
	if (++g->fifo_next == g->n)
		g->fifo_next = 0;
	return done;
}

/* (r1, s1) < (r2, s2) in the total order. */
static inline bool
key_lt(uint64_t r1, uint32_t s1, uint64_t r2, uint32_t s2)
{
	return r1 < r2 || (r1 == r2 && s1 < s2);
}

/* SAFE: bytes of rank r's ring that every member has seen. */
static uint64_t
stable_of(struct dp_group *g, uint32_t r)
{
	uint64_t m = g->peers[r].seen; /* this member's own view, and <= the sender's */
	for (uint32_t j = 0; j < g->n; j++) {
		if (j == r || j == g->my_rank)
			continue;
		/* Acquire: the sequence lock's re-read of row_epoch stays after it. */
		uint64_t v =
			atomic_load_explicit(&g->peers[j].row->recv_pos[r], memory_order_acquire);
		if (v < m)
			m = v;
	}
	return m;
}

static unsigned
deliver_total(struct dp_group *g, uint64_t prod, uint64_t space, bool safe)
{
	const struct dp_rec *head[GALE_MAX_MEMBERS];
	uint32_t hlen[GALE_MAX_MEMBERS];
	uint64_t stable[GALE_MAX_MEMBERS];
	bool any = false;
	for (uint32_t r = 0; r < g->n; r++) {
		head[r] = dp_peek(g, &g->peers[r], &hlen[r]);
		any |= head[r] != NULL;
	}
	if (!any)
		return 0;
	if (safe) {
		/* The rows' recv_pos count only while their sequence lock reads
		 * this view before (A14) and after (a re-read): a
		 * member rewriting its row for a later view gives nothing. */
		for (uint32_t j = 0; j < g->n; j++)
			if (j != g->my_rank && ld_acq(&g->peers[j].row->row_epoch) != g->view.epoch)
				return 0;
		for (uint32_t r = 0; r < g->n; r++)
			if (head[r])
				stable[r] = stable_of(g, r);
		/* stable_of()'s acquire loads keep these re-reads after them. */
		for (uint32_t j = 0; j < g->n; j++)
			if (j != g->my_rank &&
			    atomic_load_explicit(&g->peers[j].row->row_epoch,
						 memory_order_relaxed) != g->view.epoch)
				return 0;
	}
	unsigned done = 0;
	while (space) {
		uint32_t best = UINT32_MAX;
		for (uint32_t r = 0; r < g->n; r++)
			if (head[r] && (best == UINT32_MAX ||
					key_lt(head[r]->round, r, head[best]->round, best)))
				best = r;
		if (best == UINT32_MAX)
			break;
		/* The first record anyone else may still put before best's. */
		uint64_t lim_r = UINT64_MAX;
		uint32_t lim_s = UINT32_MAX;
		for (uint32_t t = 0; t < g->n; t++) {
			if (t == best)
				continue;
			uint64_t rr = head[t] ? head[t]->round : g->peers[t].nr_seen;
			if (key_lt(rr, t, lim_r, lim_s)) {
				lim_r = rr;
				lim_s = t;
			}
		}
		struct dp_peer *p = &g->peers[best];
		unsigned n0 = done;
		while (head[best] && space && key_lt(head[best]->round, best, lim_r, lim_s)) {
			if (safe && p->deliv_pos + dp_rec_bytes(hlen[best]) > stable[best])
				break;
			dp_emit(g, best, head[best], hlen[best], prod++);
			space--;
			done++;
			head[best] = dp_peek(g, p, &hlen[best]);
		}
		if (done == n0)
			break;
	}
	return done;
}

/* 4. Move deliverable records into the delivery queue. */
static unsigned
deliver(struct dp_group *g)
{
	uint64_t prod = atomic_load_explicit(&g->dq_prod, memory_order_relaxed);
	uint64_t space = DP_DQ_SIZE - (prod - g->dq_rel_seen);
	if (!space || g->stale)
		return 0;
	unsigned n;
	if (g->mode == GALE_MODE_FIFO)
		n = deliver_fifo(g, prod, space);
	else
		n = deliver_total(g, prod, space, g->mode == GALE_MODE_SAFE);
	if (n)
		/* R5: the queue entries are written; pairs with A5 in dp_poll(). */
		st_rel(&g->dq_prod, prod + n);
	return n;
}

/*
 * 5. Whether every peer is still there, from its region: its process (pidfd),
 * its heartbeat, its state. A peer that died, hung, stopped or left is
 * reported to the control plane, which runs the view change.
 */
static void
liveness(struct dp_group *g, uint64_t now)
{
	for (uint32_t r = 0; r < g->n; r++) {
		struct dp_peer *p = &g->peers[r];
		if (r == g->my_rank || p->suspected)
			continue;
		/* A8: pairs with R8 in dp_group_stop() and gale_group_leave(). */
		uint32_t st = atomic_load_explicit(&p->row->state, memory_order_acquire);
		if (st == DP_STATE_LEFT) {
			dp_suspect(g, r, "it left the group");
			continue;
		}
		if (st == DP_STATE_STOPPED) {
			dp_suspect(g, r, "it stopped");
			continue;
		}
		if (g->ops->peer_alive && g->ops->peer_alive(g->drv, p->id) == 0) {
			dp_suspect(g, r, "its process exited");
			continue;
		}
		uint64_t hb = atomic_load_explicit(&p->row->heartbeat, memory_order_relaxed);
		/* A peer still finishing its join has not beaten yet: give it the
		 * join timeout rather than the failure timeout. */
		uint64_t limit =
			hb ? g->fail_timeout_ns : GB_MAX(g->fail_timeout_ns, g->join_timeout_ns);
		if (hb != p->hb_seen) {
			p->hb_seen = hb;
			p->hb_change_ns = now;
		} else if (now - p->hb_change_ns > limit) {
			dp_suspect(g, r, "its heartbeat stalled past fail_timeout");
		} else if (now - p->hb_change_ns > DP_STILL_NS && g->view.members[r].pid > 0 &&
			   gb_process_exiting(g->view.members[r].pid)) {
			/* Still for 2 ms: a process being killed says so long before its
			 * pidfd does (base/proc.h). */
			dp_suspect(g, r, "its process is exiting");
		}
	}
}

unsigned
dp_group_work(struct dp_group *g)
{
	uint32_t st = atomic_load_explicit(&g->status, memory_order_relaxed);
	unsigned dgw = 0;
	if (g->dgram) {
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
		atomic_store_explicit(&g->ctl->dp_heartbeat, ++g->passes, memory_order_relaxed);
		return dp_ctl_work(g);
	}
	unsigned work = dgw + dp_ctl_work(g) + apply_releases(g);
	if (gb_likely(g->vc == DP_VC_NONE)) {
		if (g->agent)
			/* A3: pairs with R3 in dp_commit(); the records are written. */
			work += dp_sequence_own(g, ld_acq(&g->commit_shared));
		else if (g->commit_pos != g->seq_pos) {
			/* APP mode: this is the app thread; publish what dp_commit() batched. */
			g->unpublished = 0;
			work += dp_sequence_own(g, g->commit_pos);
		}
		work += receive(g);
		work += deliver(g);
	} else {
		work += dp_vc_work(g);
	}
	g->passes++;
	/* Every pass: a member is alive as long as its dataplane runs. */
	atomic_store_explicit(&g->row->heartbeat, g->passes, memory_order_relaxed);
	atomic_store_explicit(&g->ctl->dp_heartbeat, g->passes, memory_order_relaxed);
	if (g->dgram)
		work += dp_dgram_tx(g);
	dp_cnt_add(&g->c_polls, 1);
	if (!work)
		dp_cnt_add(&g->c_idle_polls, 1);
	if ((g->passes & (DP_LIVENESS_PASSES - 1)) == 0) {
		uint64_t now = gb_now_ns();
		if (now - g->liveness_ns >= DP_LIVENESS_PERIOD_NS) {
			g->liveness_ns = now;
			liveness(g, now);
			/* For galectl: a copy of the counters, at most 1 ms old. */
			dp_group_counters(g, &g->ctl->counters);
		}
	}
	return work;
}
