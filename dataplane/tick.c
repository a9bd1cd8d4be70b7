/* SPDX-License-Identifier: MIT */
/*
 * The dataplane thread's periodic work, off the hot path: it reads the
 * clock and runs every DP_TICK_PASSES passes of dp_group_work().
 *
 *   - liveness of every peer (at most every DP_LIVENESS_PERIOD_NS): its
 *     state, its process (pidfd, /proc), its heartbeat;
 *   - a copy of the counters in the control block, for galectl.
 */
#include "group.h"

#include "base/clock.h"
#include "base/proc.h"

#define DP_STILL_NS 2000000ull /* a heartbeat this still: ask the kernel about the process */

void
dp_clock_read(struct dp_group *g)
{
	g->w.now_ns = gb_now_ns();
}

/*
 * 5. Whether every peer is still there, from its region: its process (pidfd),
 * its heartbeat, its state. A peer that died, hung, stopped or left is
 * reported to the control plane, which runs the view change.
 */
static void
liveness(struct dp_group *g, uint64_t now)
{
	for (uint32_t r = 0; r < g->w.n; r++) {
		struct dp_peer *p = &g->w.peers[r];
		if (r == g->w.my_rank || p->suspected)
			continue;
		/* A8: pairs with R8 in dp_group_stop() and gale_group_leave(). */
		uint32_t st = atomic_load_explicit(&p->row->state, memory_order_acquire);
		if (st == DP_STATE_LEFT ||
		    (st == DP_STATE_STOPPED &&
		     atomic_load_explicit(&p->row->stop_status, memory_order_relaxed) ==
			     GALE_STATUS_STOPPED_LEFT)) {
			dp_peer_left(g, r);
			continue;
		}
		if (st == DP_STATE_STOPPED) {
			dp_suspect(g, r, "it stopped");
			continue;
		}
		uint64_t hb = atomic_load_explicit(&p->row->heartbeat, memory_order_relaxed);
		/* Its dataplane ran since the last look: alive, no need to ask the
		 * kernel (a system call every ms is a tail in a spinning member's
		 * latency). Still since then: ask (its pidfd, at most a ms late). */
		if (hb == p->hb_seen && g->fx.ops->peer_alive &&
		    g->fx.ops->peer_alive(g->fx.drv, p->id) == 0) {
			dp_suspect(g, r, "its process exited");
			continue;
		}
		/* A peer still finishing its join has not beaten yet: give it the
		 * join timeout rather than the failure timeout. */
		uint64_t limit = hb ? g->fx.fail_timeout_ns
				    : GB_MAX(g->fx.fail_timeout_ns, g->fx.join_timeout_ns);
		if (hb != p->hb_seen) {
			p->hb_seen = hb;
			p->hb_change_ns = now;
		} else if (now - p->hb_change_ns > limit) {
			dp_suspect(g, r, "its heartbeat stalled past fail_timeout");
		} else if (now - p->hb_change_ns > DP_STILL_NS && g->w.view.members[r].pid > 0 &&
			   gb_process_exiting(g->w.view.members[r].pid)) {
			/* Still for 2 ms: a process being killed says so long before its
			 * pidfd does (base/proc.h). */
			dp_suspect(g, r, "its process is exiting");
		}
	}
}

void
dp_group_tick(struct dp_group *g)
{
	dp_clock_read(g);
	uint64_t now = g->w.now_ns;
	if (now - g->w.liveness_ns < DP_LIVENESS_PERIOD_NS)
		return;
	g->w.liveness_ns = now;
	liveness(g, now);
	/* For galectl: a copy of the counters, at most 1 ms old. */
	dp_group_counters(g, &g->fx.ctl->counters);
}
