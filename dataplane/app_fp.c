/* SPDX-License-Identifier: MIT */
/*
 * The app thread's hot calls: claim/commit/abort/send into this member's
 * own ring, and poll/release of deliveries. No malloc, lock, syscall or
 * log line (tests/unit/hotpath.py): a view to take and a stop to report
 * are app.c's.
 */
#include "group.h"
#include "base/seqlock.h"

#include <errno.h>
#include <string.h>

/*
 * Lowest position any member still needs in this member's ring. A member
 * whose row describes another view (sequence lock, A14) counts as needing
 * everything past the last floor: the floor never moves back.
 */
static uint64_t
free_floor(struct dp_group *g)
{
	uint64_t m = UINT64_MAX, epoch = g->app.view.epoch;
	uint32_t me = g->app.view.my_rank;
	for (uint32_t j = 0; j < g->app.n; j++) {
		const struct dp_row *row = g->app.rows[j];
		if (gb_seq_read_begin(&row->row_epoch) != epoch)
			return g->app.free_floor;
		/* A7: pairs with R7 in apply_releases(); that member is done with the bytes. */
		uint64_t v = gb_seq_load(&row->freed_pos[me]);
		if (!gb_seq_read_valid(&row->row_epoch, epoch))
			return g->app.free_floor;
		if (v < m)
			m = v;
	}
	return GB_MAX(m, g->app.free_floor);
}

/*
 * Room for up to n records of len bytes each, consecutive from the commit
 * position: a pad first where one would not fit before the end of the
 * ring, and never past it (a batch stops at the wrap). Returns how many fit
 * (at least 1) and their first position, or a negative error.
 */
static inline int
claim_room(struct dp_group *g, uint32_t len, int n, uint64_t *first)
{
	if (gb_unlikely(atomic_load_explicit(&g->down.status, memory_order_relaxed) !=
			GALE_STATUS_RUNNING))
		return -GALE_ESTOPPED;
	if (gb_unlikely(g->app.claim_pos != UINT64_MAX))
		return -EBUSY;
	if (gb_unlikely(len == 0 || len > g->fx.max_msg))
		return -EMSGSIZE;
	/* A15: pairs with R15 in the view change: wedged, or a view not seen yet. */
	if (gb_unlikely(atomic_load_explicit(&g->down.send_gate, memory_order_relaxed) !=
			g->app.gate))
		return -GALE_EWEDGED;
	uint64_t need = dp_rec_bytes(len);
	uint64_t pos = g->app.commit_pos;
	uint64_t off = pos & g->fx.ring_mask;
	uint64_t pad = off + need > g->fx.ring_bytes ? g->fx.ring_bytes - off : 0;
	if (pos + pad + need - g->app.free_floor > g->fx.ring_bytes) {
		g->app.free_floor = free_floor(g);
		if (pos + pad + need - g->app.free_floor > g->fx.ring_bytes) {
			dp_count(&g->ca, DP_C_backpressure, 1);
			return -EAGAIN;
		}
	}
	if (pad) {
		struct dp_rec *h = (struct dp_rec *)(g->fx.ring + off);
		h->len_flags = DP_REC_PAD;
		h->epoch = g->fx.agent ? 0 : g->w.epoch32; /* the agent stamps it (AGENT) */
		h->round = 0;
		pos += pad;
		off = 0;
		g->app.commit_pos = pos; /* published with the next commit */
	}
	if (n > 1) {
		uint64_t fit = (g->fx.ring_bytes - off) / need;
		uint64_t room = g->app.free_floor + g->fx.ring_bytes - pos;
		if (room / need < fit)
			fit = room / need;
		if ((uint64_t)n > fit)
			n = (int)fit;
	}
	/* The lines a few records ahead: their owner is a reader's cache, and
	 * taking them back costs a round trip that is better not waited for. */
	uint64_t span = GB_MIN((uint64_t)n * need, DP_PREFETCH_MAX) + GB_CACHE_LINE;
	for (uint64_t a = 0; a < span; a += GB_CACHE_LINE)
		gb_prefetch_w(g->fx.ring + ((pos + DP_PREFETCH_AHEAD + a) & g->fx.ring_mask));
	*first = pos;
	return n;
}

int
dp_claim(struct dp_group *g, uint32_t len, void **buf)
{
	uint64_t pos;
	int rc = claim_room(g, len, 1, &pos);
	if (gb_unlikely(rc < 0))
		return rc;
	g->app.claim_pos = pos;
	g->app.claim_len = len;
	g->app.claim_n = 1;
	*buf = g->fx.ring + (pos & g->fx.ring_mask) + sizeof(struct dp_rec);
	return 0;
}

int
dp_claimv(struct dp_group *g, uint32_t len, void **bufs, int n)
{
	if (gb_unlikely(n < 1 || !bufs))
		return -EINVAL;
	uint64_t pos;
	int k = claim_room(g, len, n, &pos);
	if (gb_unlikely(k < 0))
		return k;
	g->app.claim_pos = pos;
	g->app.claim_len = len;
	g->app.claim_n = (uint32_t)k;
	uint64_t need = dp_rec_bytes(len);
	uint8_t *at = g->fx.ring + (pos & g->fx.ring_mask) + sizeof(struct dp_rec);
	for (int i = 0; i < k; i++)
		bufs[i] = at + (uint64_t)i * need; /* no wrap inside a batch */
	return k;
}

/* Commit k records of len bytes from the open claim (each claim_len long). */
static inline int
commit_records(struct dp_group *g, uint32_t len, uint32_t k, uint64_t *seq)
{
	if (gb_unlikely(atomic_load_explicit(&g->down.status, memory_order_relaxed) !=
			GALE_STATUS_RUNNING)) {
		/* Never publish after a stop: the send is reported failed instead. */
		g->app.claim_pos = UINT64_MAX;
		return -GALE_ESTOPPED;
	}
	uint32_t epoch32 = g->fx.agent ? 0 : g->w.epoch32;
	/* APP mode runs the dataplane on this thread: stamp the round now (see
	 * dp_sequence_own()); the agent stamps it in AGENT mode. */
	uint64_t round = g->fx.agent || g->fx.mode == GALE_MODE_FIFO ? 0 : dp_round_now(&g->w);
	uint64_t need = dp_rec_bytes(len), pos = g->app.claim_pos;
	uint8_t *at = g->fx.ring + (pos & g->fx.ring_mask);
	for (uint32_t i = 0; i < k; i++) {
		struct dp_rec *h = (struct dp_rec *)(at + i * need);
		*h = (struct dp_rec){ .len_flags = len, .epoch = epoch32, .round = round };
	}
	g->app.commit_pos = pos + k * need;
	g->app.last_rec_end = g->app.commit_pos;
	g->app.claim_pos = UINT64_MAX;
	if (seq)
		*seq = g->app.commit_msgs;
	g->app.commit_msgs += k;
	dp_count(&g->ca, DP_C_sent_msgs, k);
	dp_count(&g->ca, DP_C_sent_bytes, (uint64_t)k * len);
	if (g->fx.agent)
		/* R3: the records are written; pairs with A3 in dp_group_work(). */
		atomic_store_explicit(&g->up.commit_shared, g->app.commit_pos,
				      memory_order_release);
	else if ((g->app.unpublished += k) >= g->fx.publish_batch)
		dp_flush(g);
	return 0;
}

int
dp_commit(struct dp_group *g, uint32_t len, uint64_t *seq)
{
	if (gb_unlikely(g->app.claim_pos == UINT64_MAX || len == 0 || len > g->app.claim_len))
		return -EINVAL;
	return commit_records(g, len, 1, seq);
}

int
dp_commitv(struct dp_group *g, int k, uint64_t *first_seq)
{
	if (gb_unlikely(g->app.claim_pos == UINT64_MAX || k < 1 || (uint32_t)k > g->app.claim_n))
		return -EINVAL;
	int rc = commit_records(g, g->app.claim_len, (uint32_t)k, first_seq);
	if (rc == 0 && !g->fx.agent && g->app.unpublished)
		dp_flush(g); /* a batch is published whole, at once */
	return rc;
}

int
dp_flush(struct dp_group *g)
{
	if (g->fx.agent)
		return 0; /* the agent publishes every commit it sees */
	if (atomic_load_explicit(&g->down.status, memory_order_relaxed) != GALE_STATUS_RUNNING)
		return -GALE_ESTOPPED;
	if (g->w.vc != DP_VC_NONE)
		return 0; /* wedged: published in the next view, when it is installed */
	g->app.unpublished = 0;
	dp_sequence_own(g, g->app.commit_pos);
	return 0;
}

int
dp_abort(struct dp_group *g)
{
	if (g->app.claim_pos == UINT64_MAX)
		return -EINVAL;
	g->app.claim_pos = UINT64_MAX;
	return 0;
}

int
dp_send(struct dp_group *g, const void *data, uint32_t len)
{
	void *buf;
	int rc = dp_claim(g, len, &buf);
	if (rc)
		return rc;
	memcpy(buf, data, len);
	return dp_commit(g, len, NULL);
}

int
dp_poll(struct dp_group *g, struct gale_msg *msgs, int max)
{
	if (!g->fx.agent)
		dp_group_work(g);
	if (max < 0)
		max = 0;
	/* The entries below prod are written (gb_spsc A1; S1 in deliver()). */
	uint64_t prod = gb_spsc_head(&g->dq.pos);
	/* A17: pairs with R17 in switch_view(); next_view and marker_at are written.
	 * Read after the queue's head: entries of a new view come with their view. */
	if (gb_unlikely(atomic_load_explicit(&g->down.view_pub, memory_order_acquire) !=
			g->app.view.epoch)) {
		if (g->app.handed == g->down.marker_at)
			dp_take_view(g); /* app.c */
		else
			prod = g->down.marker_at; /* the old view's deliveries first */
	}
	uint64_t avail = prod - g->app.handed;
	uint64_t n = avail < (uint64_t)max ? avail : (uint64_t)max;
	if (n == 0) {
		/* A10: pairs with R10 in dp_group_stop(). */
		uint32_t st = atomic_load_explicit(&g->down.status, memory_order_acquire);
		return gb_likely(st == GALE_STATUS_RUNNING) ? 0 : dp_report_stop(g, st, max);
	}
	uint64_t bytes = 0;
	for (uint64_t i = 0; i < n; i++) {
		msgs[i] = g->dq.msg[(g->app.handed + i) & (DP_DQ_SIZE - 1)];
		bytes += msgs[i].len;
	}
	g->app.handed += n;
	g->app.held += n;
	dp_count(&g->ca, DP_C_delivered_msgs, n);
	dp_count(&g->ca, DP_C_delivered_bytes, bytes);
	return (int)n;
}

int
dp_release(struct dp_group *g, int n)
{
	if (n < 0 || (uint64_t)n > g->app.held)
		return -EINVAL;
	g->app.held -= (uint64_t)n;
	/* The app is done with these entries (gb_spsc S2; A2 in apply_releases()). */
	gb_spsc_release(&g->dq.pos, g->app.handed - g->app.held);
	return 0;
}
