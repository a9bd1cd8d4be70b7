/* SPDX-License-Identifier: MIT */
/*
 * The app thread's slow path, called from dp_poll() (app_fp.c) when
 * something happens: a view change reached in the delivery stream (the new
 * view taken, the state given to joiners) and a stop to report.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The group stopped: report it once, unless deliveries are still queued or coming. */
int
dp_report_stop(struct dp_group *g, uint32_t st, int max)
{
	/* gb_spsc A1 again: the dataplane published the queue's head before it
	 * released the status (A10), so entries delivered before the stop are seen here. */
	if (gb_spsc_head(&g->dq.pos) != g->app.handed || max == 0)
		return 0;
	if (g->app.status_reported != st) {
		g->app.status_reported = st;
		if (g->fx.on_status) {
			struct gale_group_status s;
			dp_group_status(g, &s);
			g->fx.on_status(g->fx.cb_arg, &s);
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
	while (buf && g->fx.on_state_get) {
		len = g->fx.on_state_get(g->fx.cb_arg, buf, cap);
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
	int rc = !g->fx.ops->state_publish ? -ENOTSUP
		 : buf ? g->fx.ops->state_publish(g->fx.drv, v->epoch, buf, (size_t)len)
		       : -ENOMEM;
	gb_log(g->fx.log, rc ? GB_LOG_ERR : GB_LOG_INFO, "GALE-STATE-SENT",
	       "member %u %s the state (%lld bytes) for the members joining in view %llu%s%s",
	       v->members[v->my_rank].id, rc ? "could not publish" : "published", (long long)len,
	       (unsigned long long)v->epoch, rc ? ": " : "", rc ? gb_strerror(rc) : "");
	free(buf);
}

void
dp_take_view(struct dp_group *g)
{
	if (g->app.view.n_members)
		give_state(g, &g->app.view, &g->down.next_view);
	g->app.view = g->down.next_view;
	g->app.n = g->app.view.n_members;
	memcpy(g->app.rows, g->down.next_rows, g->app.n * sizeof(g->app.rows[0]));
	uint64_t first = g->down.next_resent_first;
	g->app.view.resent_first = first;
	g->app.view.resent_count = g->app.commit_msgs > first ? g->app.commit_msgs - first : 0;
	g->app.commit_msgs = g->app.view.resent_count;
	g->app.gate = g->app.view.epoch << 1;
	/* R16: pairs with A16 in dp_vc_work(); this view is taken. */
	atomic_store_explicit(&g->up.epoch_ack, g->app.view.epoch, memory_order_release);
	if (g->fx.on_view)
		g->fx.on_view(g->fx.cb_arg, &g->app.view);
}
