/* SPDX-License-Identifier: MIT */
/*
 * The app thread's hot calls: claim/commit/abort/send into this member's
 * own ring, and poll/release of deliveries. No malloc, lock or syscall.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Lowest position any member still needs in this member's ring. A member
 * whose row describes another view (sequence lock, A14) counts as needing
 * everything past the last floor: the floor never moves back.
 */
static uint64_t
free_floor(struct dp_group *g)
{
	uint64_t m = UINT64_MAX, epoch = g->app_view.epoch;
	uint32_t me = g->app_view.my_rank;
	for (uint32_t j = 0; j < g->app_n; j++) {
		const struct dp_row *row = g->app_rows[j];
		if (atomic_load_explicit(&row->row_epoch, memory_order_acquire) != epoch)
			return g->free_floor;
		/* A7: pairs with R7 in apply_releases(); that member is done with the bytes. */
		uint64_t v = atomic_load_explicit(&row->freed_pos[me], memory_order_acquire);
		/* The acquire above keeps this re-read after it (sequence lock). */
		if (atomic_load_explicit(&row->row_epoch, memory_order_relaxed) != epoch)
			return g->free_floor;
		if (v < m)
			m = v;
	}
	return GB_MAX(m, g->free_floor);
}

int
dp_claim(struct dp_group *g, uint32_t len, void **buf)
{
	if (gb_unlikely(atomic_load_explicit(&g->status, memory_order_relaxed) !=
			GALE_STATUS_RUNNING))
		return -GALE_ESTOPPED;
	if (gb_unlikely(g->claim_pos != UINT64_MAX))
		return -EBUSY;
	if (gb_unlikely(len == 0 || len > g->max_msg))
		return -EMSGSIZE;
	/* A15: pairs with R15 in the view change: wedged, or a view not seen yet. */
	if (gb_unlikely(atomic_load_explicit(&g->send_gate, memory_order_relaxed) != g->app_gate))
		return -GALE_EWEDGED;
	uint64_t need = dp_rec_bytes(len);
	uint64_t pos = g->commit_pos;
	uint64_t off = pos & g->ring_mask;
	uint64_t pad = off + need > g->ring_bytes ? g->ring_bytes - off : 0;
	if (pos + pad + need - g->free_floor > g->ring_bytes) {
		g->free_floor = free_floor(g);
		if (pos + pad + need - g->free_floor > g->ring_bytes) {
			dp_cnt_add(&g->c_backpressure, 1);
			return -EAGAIN;
		}
	}
	if (pad) {
		struct dp_rec *h = (struct dp_rec *)(g->ring + off);
		h->len_flags = DP_REC_PAD;
		h->epoch = g->agent ? 0 : g->epoch32; /* the agent stamps it (AGENT) */
		h->round = 0;
		pos += pad;
		g->commit_pos = pos; /* published with the next commit */
	}
	g->claim_pos = pos;
	g->claim_len = len;
	*buf = g->ring + (pos & g->ring_mask) + sizeof(struct dp_rec);
	return 0;
}

int
dp_commit(struct dp_group *g, uint32_t len, uint64_t *seq)
{
	if (gb_unlikely(g->claim_pos == UINT64_MAX || len == 0 || len > g->claim_len))
		return -EINVAL;
	if (gb_unlikely(atomic_load_explicit(&g->status, memory_order_relaxed) !=
			GALE_STATUS_RUNNING)) {
		/* Never publish after a stop: the send is reported failed instead. */
		g->claim_pos = UINT64_MAX;
		return -GALE_ESTOPPED;
	}
	struct dp_rec *h = (struct dp_rec *)(g->ring + (g->claim_pos & g->ring_mask));
	h->len_flags = len;
	h->epoch = g->agent ? 0 : g->epoch32;
	/* APP mode runs the dataplane on this thread: stamp the round now (see
	 * dp_sequence_own()); the agent stamps it in AGENT mode. */
	h->round = g->agent || g->mode == GALE_MODE_FIFO ? 0 : dp_round_now(g);
	g->commit_pos = g->claim_pos + dp_rec_bytes(len);
	g->last_rec_end = g->commit_pos;
	g->claim_pos = UINT64_MAX;
	if (seq)
		*seq = g->commit_msgs;
	g->commit_msgs++;
	dp_cnt_add(&g->c_sent_msgs, 1);
	dp_cnt_add(&g->c_sent_bytes, len);
	if (g->agent)
		/* R3: the record is written; pairs with A3 in dp_group_work(). */
		atomic_store_explicit(&g->commit_shared, g->commit_pos, memory_order_release);
	else if (++g->unpublished >= g->publish_batch)
		dp_flush(g);
	return 0;
}

int
dp_flush(struct dp_group *g)
{
	if (g->agent)
		return 0; /* the agent publishes every commit it sees */
	if (atomic_load_explicit(&g->status, memory_order_relaxed) != GALE_STATUS_RUNNING)
		return -GALE_ESTOPPED;
	if (g->vc != DP_VC_NONE)
		return 0; /* wedged: published in the next view, when it is installed */
	g->unpublished = 0;
	dp_sequence_own(g, g->commit_pos);
	return 0;
}

int
dp_abort(struct dp_group *g)
{
	if (g->claim_pos == UINT64_MAX)
		return -EINVAL;
	g->claim_pos = UINT64_MAX;
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

/* The group stopped: report it once, unless deliveries are still queued or coming. */
static int
stopped(struct dp_group *g, uint32_t st, int max)
{
	/* A5 again: the dataplane stored dq_prod before it released the status
	 * (A10), so entries delivered before the stop are seen here. */
	if (atomic_load_explicit(&g->dq_prod, memory_order_acquire) != g->dq_handed || max == 0)
		return 0;
	if (g->status_reported != st) {
		g->status_reported = st;
		if (g->on_status) {
			struct gale_group_status s;
			dp_group_status(g, &s);
			g->on_status(g->cb_arg, &s);
		}
	}
	return -GALE_ESTOPPED;
}

/*
 * The app reaches a view change in its delivery stream: take the new view
 * (its deliveries follow), count this member's cut sends, open sends again,
 * tell the dataplane, then the upcall.
 */
/*
 * The view being taken adds members: the lowest-ranked member that was in
 * the previous view asks the app for its state and publishes it for them.
 */
static void
give_state(struct dp_group *g, const struct gale_view *old, const struct gale_view *v)
{
	bool adds = false;
	uint32_t giver = UINT32_MAX;
	for (uint32_t k = 0; k < v->n_members; k++) {
		bool was = false;
		for (uint32_t r = 0; r < old->n_members; r++)
			was |= old->members[r].id == v->members[k].id;
		adds |= !was;
		if (was && giver == UINT32_MAX)
			giver = k;
	}
	if (!adds || giver != v->my_rank)
		return;
	size_t cap = 65536;
	uint8_t *buf = malloc(cap);
	int64_t len = -1;
	while (buf && g->on_state_get) {
		len = g->on_state_get(g->cb_arg, buf, cap);
		if (len < 0 || (size_t)len <= cap)
			break;
		uint8_t *bigger = realloc(buf, (size_t)len);
		if (!bigger)
			break;
		buf = bigger;
		cap = (size_t)len;
	}
	if (len < 0 || (size_t)len > cap)
		len = 0; /* no state, or no memory for it: the joiners get an empty one */
	int rc = !g->ops->state_publish ? -ENOTSUP
		 : buf			? g->ops->state_publish(g->drv, v->epoch, buf, (size_t)len)
					: -ENOMEM;
	gb_log(g->log, rc ? GB_LOG_ERR : GB_LOG_INFO, "GALE-STATE-SENT",
	       "member %u %s the state (%lld bytes) for the members joining in view %llu%s%s",
	       v->members[v->my_rank].id, rc ? "could not publish" : "published", (long long)len,
	       (unsigned long long)v->epoch, rc ? ": " : "", rc ? gb_strerror(rc) : "");
	free(buf);
}

static void
take_view(struct dp_group *g)
{
	if (g->app_view.n_members)
		give_state(g, &g->app_view, &g->next_view);
	g->app_view = g->next_view;
	g->app_n = g->app_view.n_members;
	memcpy(g->app_rows, g->next_rows, g->app_n * sizeof(g->app_rows[0]));
	uint64_t first = g->next_resent_first;
	g->app_view.resent_first = first;
	g->app_view.resent_count = g->commit_msgs > first ? g->commit_msgs - first : 0;
	g->commit_msgs = g->app_view.resent_count;
	g->app_gate = g->app_view.epoch << 1;
	/* R16: pairs with A16 in dp_vc_work(); this view is taken. */
	atomic_store_explicit(&g->app_epoch_ack, g->app_view.epoch, memory_order_release);
	if (g->on_view)
		g->on_view(g->cb_arg, &g->app_view);
}

int
dp_poll(struct dp_group *g, struct gale_msg *msgs, int max)
{
	if (!g->agent)
		dp_group_work(g);
	if (max < 0)
		max = 0;
	/* A5: pairs with R5 in deliver(); the entries are written. */
	uint64_t prod = atomic_load_explicit(&g->dq_prod, memory_order_acquire);
	/* A17: pairs with R17 in switch_view(); next_view and marker_at are written.
	 * Read after dq_prod: entries of a new view come with their view. */
	if (gb_unlikely(atomic_load_explicit(&g->view_pub, memory_order_acquire) !=
			g->app_view.epoch)) {
		if (g->dq_handed == g->marker_at)
			take_view(g);
		else
			prod = g->marker_at; /* the old view's deliveries first */
	}
	uint64_t avail = prod - g->dq_handed;
	uint64_t n = avail < (uint64_t)max ? avail : (uint64_t)max;
	if (n == 0) {
		/* A10: pairs with R10 in dp_group_stop(). */
		uint32_t st = atomic_load_explicit(&g->status, memory_order_acquire);
		return gb_likely(st == GALE_STATUS_RUNNING) ? 0 : stopped(g, st, max);
	}
	uint64_t bytes = 0;
	for (uint64_t i = 0; i < n; i++) {
		msgs[i] = g->dq[(g->dq_handed + i) & (DP_DQ_SIZE - 1)];
		bytes += msgs[i].len;
	}
	g->dq_handed += n;
	g->dq_held += n;
	dp_cnt_add(&g->c_deliv_msgs, n);
	dp_cnt_add(&g->c_deliv_bytes, bytes);
	return (int)n;
}

int
dp_release(struct dp_group *g, int n)
{
	if (n < 0 || (uint64_t)n > g->dq_held)
		return -EINVAL;
	g->dq_held -= (uint64_t)n;
	/* R4: the app is done with these entries; pairs with A4 in apply_releases(). */
	atomic_store_explicit(&g->dq_released, g->dq_handed - g->dq_held, memory_order_release);
	return 0;
}
