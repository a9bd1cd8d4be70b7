/* SPDX-License-Identifier: MIT */
/*
 * The dataplane side of a view change (DESIGN.md §4), driven by commands
 * from the control plane through the control channel (ctl.h):
 *
 *   WEDGE    stop publishing own messages and delivering; report the final
 *            row: per sender, messages received and delivered in this view.
 *   INSTALL  deliver every sender's messages up to the trim, in the mode's
 *            order (on shm a failed sender's ring stays mapped, so whatever
 *            any survivor delivered can be read by all: that is the relay);
 *            then switch: new ranks, this member's cut messages re-stamped in
 *            place for the new epoch (re-sent with no copy), the row rewritten
 *            under its sequence lock, a marker for the app's view upcall.
 *   STOP     excluded or minority: stop for good.
 *
 * Peers switch at their own pace. A reader reads a sender's ring past the
 * old trim only once the sender's row says it switched (its records are
 * re-stamped by then); rounds and ring positions never go back, so promises
 * read across the switch stay true.
 */
#include "group.h"
#include "base/seqlock.h"
#include "rec.h"
#include "dgram.h"

#include "base/clock.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

bool
dp_ctl_post(struct dp_group *g, const struct dp_evt *e)
{
	struct dp_ctl *c = g->fx.ctl;
	if (!gb_spsc_free(&c->evt_pos, DP_CTL_EVTS)) {
		atomic_fetch_add_explicit(&c->evt_lost, 1, memory_order_relaxed);
		return false;
	}
	uint64_t head = gb_spsc_prod_pos(&c->evt_pos);
	c->evt[head & (DP_CTL_EVTS - 1)] = *e;
	gb_spsc_publish(&c->evt_pos, head + 1); /* S1; A1 in dp_ctl_pop_evt() */
	if (g->fx.ctl_wake_fd >= 0) {
		uint64_t one = 1;
		/* A full eventfd counter still wakes the reader: nothing to handle. */
		(void)!write(g->fx.ctl_wake_fd, &one, sizeof(one));
	}
	return true;
}

static void
suspect(struct dp_group *g, uint32_t rank, bool left, const char *why)
{
	struct dp_peer *p = &g->w.peers[rank];
	if (p->suspected || rank == g->w.my_rank)
		return;
	p->suspected = true;
	if (!left)
		dp_count(&g->cd, DP_C_peer_failures, 1);
	gb_log(g->fx.log, left ? GB_LOG_INFO : GB_LOG_WARN,
	       left ? "GALE-PEER-LEFT" : "GALE-SUSPECT",
	       "member %u: member %u (pid %d) in epoch %llu: %s",
	       g->w.view.members[g->w.my_rank].id, p->id, (int)g->w.view.members[rank].pid,
	       (unsigned long long)g->w.view.epoch, why);
	struct dp_evt e = { .type = DP_EVT_SUSPECT, .id = p->id, .epoch = g->w.view.epoch };
	dp_ctl_post(g, &e);
}

void
dp_suspect(struct dp_group *g, uint32_t rank, const char *why)
{
	suspect(g, rank, false, why);
}

void
dp_peer_left(struct dp_group *g, uint32_t rank)
{
	suspect(g, rank, true, "it left the group");
}

static int attach_new(struct dp_group *g, struct dp_peer *p, struct gale_member *m, uint32_t id,
		      uint64_t now);

/* The dataplane cannot apply what it was told: log, tell control, stop. */
static void
vc_fault(struct dp_group *g, const char *why)
{
	gb_log(g->fx.log, GB_LOG_ERR, "GALE-VIEW-FAULT", "member %u in epoch %llu: %s",
	       g->w.view.members[g->w.my_rank].id, (unsigned long long)g->w.view.epoch, why);
	struct dp_evt e = { .type = DP_EVT_FAULT, .epoch = g->w.view.epoch };
	dp_ctl_post(g, &e);
	dp_group_stop(g, GALE_STATUS_STOPPED_FAILURE, g->w.view.members[g->w.my_rank].id, why);
}

/* Messages in sender p's ring in [p->deliv_pos, upto): received, not delivered. */
static uint64_t
count_records(const struct dp_group *g, const struct dp_peer *p, uint64_t upto)
{
	uint64_t n = 0;
	for (uint64_t pos = p->deliv_pos; pos < upto;) {
		const struct dp_rec *h = dp_rec_at(p->ring, g->fx.ring_mask, pos);
		uint32_t lf = h->len_flags;
		uint64_t next = dp_rec_next(pos, lf, g->fx.ring_mask);
		if (lf & DP_REC_PAD) {
			pos = next;
			continue;
		}
		if (!dp_rec_fits(pos & g->fx.ring_mask, lf, g->fx.max_msg, g->fx.ring_bytes) ||
		    next > upto || h->epoch != g->w.epoch32)
			break; /* not a valid record of this view: count none from here */
		n++;
		pos = next;
	}
	return n;
}

static void
wedge(struct dp_group *g)
{
	if (g->w.vc != DP_VC_NONE)
		return;
	g->w.vc = DP_VC_WEDGED;
	g->w.vc_start_ns = gb_now_ns();
	/* R15: claims stop (the app reads it relaxed: a claim racing with this
	 * is committed after the wedge, and re-sent like any cut message). */
	atomic_store_explicit(&g->down.send_gate,
			      atomic_load_explicit(&g->down.send_gate, memory_order_relaxed) | 1,
			      memory_order_release);
	struct dp_evt e = { .type = DP_EVT_ROW, .epoch = g->w.view.epoch };
	for (uint32_t r = 0; r < g->w.n; r++) {
		struct dp_peer *p = &g->w.peers[r];
		e.delivered[r] = p->deliv_seq;
		e.recv[r] = p->deliv_seq + count_records(g, p, p->seen);
	}
	gb_log(g->fx.log, GB_LOG_INFO, "GALE-WEDGE", "member %u wedged in epoch %llu",
	       g->w.view.members[g->w.my_rank].id, (unsigned long long)g->w.view.epoch);
	dp_ctl_post(g, &e);
}

static void
start_install(struct dp_group *g, const struct dp_cmd *c)
{
	if (c->epoch != g->w.view.epoch + 1 || c->n < 1 || c->n > GALE_MAX_MEMBERS) {
		vc_fault(g, "told to install a view that does not follow the current one");
		return;
	}
	wedge(g); /* normally done already, by the WEDGE before */
	for (uint32_t r = 0; r < g->w.n; r++) {
		struct dp_peer *p = &g->w.peers[r];
		if (p->deliv_seq > c->trim[r]) {
			vc_fault(g, "the trim is below what this member delivered");
			return;
		}
		p->trim = c->trim[r];
	}
	g->w.install = *c;
	g->w.vc = DP_VC_TRIM;
}

/* Tell control the view is in, with every member's control port. */
static void
post_installed(struct dp_group *g)
{
	struct dp_evt e = { .type = DP_EVT_INSTALLED, .epoch = g->w.view.epoch, .n = g->w.n };
	for (uint32_t r = 0; r < g->w.n; r++) {
		e.ids[r] = g->w.peers[r].id;
		e.ports[r] = g->w.peers[r].row->ctl_port;
	}
	dp_ctl_post(g, &e);
}

/* A joiner's first view: map every member, start its own stream at 0. */
static void
join_install(struct dp_group *g, const struct dp_cmd *c)
{
	uint64_t now = gb_now_ns();
	struct gale_view v = { .epoch = c->epoch, .n_members = c->n, .my_rank = UINT32_MAX };
	if (c->n < 1 || c->n > GALE_MAX_MEMBERS || c->epoch < 2) {
		vc_fault(g, "told to install an invalid first view");
		return;
	}
	for (uint32_t k = 0; k < c->n; k++) {
		if (c->ids[k] == g->fx.ctl->my_id)
			v.my_rank = k;
		if (attach_new(g, &g->w.peers[k], &v.members[k], c->ids[k], now)) {
			vc_fault(g, "a member of the first view cannot be reached");
			return;
		}
	}
	if (v.my_rank == UINT32_MAX) {
		vc_fault(g, "told to install a first view without this member");
		return;
	}
	g->w.view = v;
	g->w.n = c->n;
	g->w.my_rank = v.my_rank;
	g->w.epoch32 = (uint32_t)c->epoch;
	g->w.joining = false;
	g->w.liveness_ns = now;
	g->w.vc_start_ns = now;
	struct dp_row *row = g->fx.row;
	atomic_store_explicit(&row->epoch_base, 0, memory_order_relaxed);
	/* R14: its (zero) arrays describe this view from here on. */
	atomic_store_explicit(&row->row_epoch, c->epoch, memory_order_release);
	for (uint32_t k = 0; k < c->n; k++)
		g->down.next_rows[k] = g->w.peers[k].row;
	g->down.next_view = v;
	g->down.next_resent_first = 0;
	g->down.marker_at = 0;
	atomic_store_explicit(&g->down.send_gate, c->epoch << 1, memory_order_release);
	atomic_store_explicit(&g->down.status, GALE_STATUS_RUNNING, memory_order_release);
	/* R17: the app takes this view in gale_group_join(). */
	atomic_store_explicit(&g->down.view_pub, c->epoch, memory_order_release);
	post_installed(g);
	gb_log(g->fx.log, GB_LOG_INFO, "GALE-VIEW-INSTALL",
	       "member %u joined: installed view %llu with %u members", g->fx.ctl->my_id,
	       (unsigned long long)c->epoch, c->n);
}

unsigned
dp_ctl_work(struct dp_group *g)
{
	struct dp_ctl *c = g->fx.ctl;
	uint64_t tail = gb_spsc_cons_pos(&c->cmd_pos);
	/* A1: the command is written (S1 in dp_ctl_push_cmd()). */
	if (gb_spsc_head(&c->cmd_pos) == tail || g->w.vc == DP_VC_TRIM)
		return 0;
	const struct dp_cmd *cmd = &c->cmd[tail & (DP_CTL_CMDS - 1)];
	switch (cmd->type) {
	case DP_CMD_WEDGE:
		if (!g->w.joining)
			wedge(g);
		break;
	case DP_CMD_INSTALL:
		if (g->w.joining)
			join_install(g, cmd);
		else
			start_install(g, cmd);
		break;
	case DP_CMD_STOP:
		dp_group_stop(g, (enum gale_status)cmd->status, g->w.view.members[g->w.my_rank].id,
			      cmd->status == GALE_STATUS_STOPPED_MINORITY
				      ? "no majority of the view on this side"
			      : cmd->status == GALE_STATUS_STOPPED_LEFT
				      ? "it left the group"
				      : "the others installed a view without it");
		break;
	default:
		vc_fault(g, "an unknown control command");
		break;
	}
	gb_spsc_release(&c->cmd_pos, tail + 1);
	return 1;
}

/* (r1, s1) < (r2, s2) in the total order. */
static inline bool
key_lt(uint64_t r1, uint32_t s1, uint64_t r2, uint32_t s2)
{
	return r1 < r2 || (r1 == r2 && s1 < s2);
}

/*
 * Deliver what the trim keeps and this member has not delivered yet. FIFO:
 * any interleaving of the senders. TOTAL and SAFE: the (round, rank) order,
 * which needs every sender's next kept record visible. Returns the count;
 * *stuck is set when a kept record is not visible in its sender's ring.
 */
/* The trim's senders: a failed sender's last tail is in its region still. */
static void
trim_refresh(struct dp_group *g)
{
	for (uint32_t r = 0; r < g->w.n; r++) {
		struct dp_peer *p = &g->w.peers[r];
		if (p->deliv_seq == p->trim || r == g->w.my_rank)
			continue;
		/* A1: pairs with R1 in dp_sequence_own(). */
		uint64_t t = atomic_load_explicit(&p->row->tail, memory_order_acquire);
		if (t > p->seen && t - p->deliv_pos <= g->fx.ring_bytes)
			p->seen = t;
	}
}

/* Map member id's region for a view that adds it; 0 or -errno (logged). */
static int
attach_new(struct dp_group *g, struct dp_peer *p, struct gale_member *m, uint32_t id, uint64_t now)
{
	const void *region;
	int rc = dp_attach(g, id, &region);
	if (rc) {
		gb_log(g->fx.log, GB_LOG_ERR, "GALE-VIEW-FAULT",
		       "member %u cannot map new member %u's region: %s", g->fx.ctl->my_id, id,
		       gb_strerror(rc));
		return rc;
	}
	memset(p, 0, sizeof(*p));
	p->id = id;
	dp_peer_map(g, p, id, region);
	p->need_base = id != g->fx.ctl->my_id;
	p->hb_change_ns = now;
	m->id = id;
	m->pid = dp_peer_pid(g, id);
	return 0;
}

/* Everything up to the trim is delivered: enter the new view. */
static void
switch_view(struct dp_group *g)
{
	const struct dp_cmd *c = &g->w.install;
	uint8_t map[GALE_MAX_MEMBERS]; /* old rank -> new rank */
	uint32_t my_new = UINT32_MAX;
	for (uint32_t r = 0; r < g->w.n; r++) {
		map[r] = DP_NO_RANK;
		for (uint32_t k = 0; k < c->n; k++)
			if (c->ids[k] == g->w.peers[r].id)
				map[r] = (uint8_t)k;
	}
	struct dp_peer np[GALE_MAX_MEMBERS];
	struct gale_view v = { .epoch = c->epoch, .n_members = c->n };
	uint64_t now = gb_now_ns();
	for (uint32_t k = 0; k < c->n; k++) {
		if (c->ids[k] == g->w.view.members[g->w.my_rank].id)
			my_new = k;
		bool known = false;
		for (uint32_t r = 0; r < g->w.n; r++)
			known |= map[r] == k;
		if (!known && attach_new(g, &np[k], &v.members[k], c->ids[k], now)) {
			vc_fault(g, "a member that joins cannot be reached");
			return;
		}
	}
	if (my_new == UINT32_MAX) {
		vc_fault(g, "told to install a view without this member");
		return;
	}
	struct dp_peer *me = &g->w.peers[g->w.my_rank];
	uint64_t cut_pos = me->deliv_pos; /* own messages up to the trim are delivered */
	uint64_t resent_first = me->deliv_seq;
	uint64_t epoch = c->epoch;
	uint32_t epoch32 = (uint32_t)epoch;
	uint64_t round = dp_round_now(&g->w);
	/* R14 opens: the row reads 0 ("changing") before any record is
	 * re-stamped, so a reader that sees a later epoch in a record knows it
	 * is not corrupt (A14 in dp_peek()). */
	struct dp_row *row = g->fx.row;
	/* gb_seq W1: the re-stamps below stay after it. */
	gb_seq_write_begin(&row->row_epoch, 0);
	/* Re-send the cut messages (and, run to completion, the committed ones
	 * not yet published) in place: same bytes, the new epoch's stamp. */
	uint64_t end = g->fx.agent ? g->w.seq_pos : g->app.commit_pos;
	if (end > cut_pos) {
		dp_rec_stamp(g->fx.ring, g->fx.ring_mask, cut_pos, end, epoch32,
			     g->fx.mode == GALE_MODE_FIFO ? 0 : round);
		if (g->fx.mode != GALE_MODE_FIFO)
			g->w.own_next_round = round + 1;
	}

	for (uint32_t r = 0; r < g->w.n; r++) {
		if (map[r] == DP_NO_RANK)
			continue;
		struct dp_peer *p = &np[map[r]];
		*p = g->w.peers[r];
		p->deliv_seq = 0;
		p->trim = 0;
		p->suspected = false;
		p->seen = p->deliv_pos; /* nothing of the new epoch seen yet */
		p->hb_change_ns = now;
	}
	/* Deliveries the app still holds: their senders' new ranks. */
	uint64_t prod = gb_spsc_prod_pos(&g->dq.pos);
	for (uint64_t i = g->dq.pos.tail_seen; i != prod; i++) {
		uint32_t k = (uint32_t)(i & (DP_DQ_SIZE - 1));
		if (g->dq.rank[k] != DP_NO_RANK)
			g->dq.rank[k] = map[g->dq.rank[k]];
	}
	v.my_rank = my_new;
	for (uint32_t r = 0; r < g->w.n; r++)
		if (map[r] != DP_NO_RANK)
			v.members[map[r]] = g->w.view.members[r];
	memcpy(g->w.peers, np, c->n * sizeof(np[0]));
	g->w.n = c->n;
	g->w.my_rank = my_new;
	g->w.epoch32 = epoch32;
	g->w.view = v;
	g->w.fifo_next = 0;
	g->w.stale = false;
	me = &g->w.peers[my_new];
	me->seen = g->w.seq_pos;
	me->nr_seen = g->w.own_next_round;

	/* R14: the row's rank-indexed arrays are rewritten under the sequence lock. */
	for (uint32_t r = 0; r < GALE_MAX_MEMBERS; r++) {
		bool in = r < g->w.n;
		/* Release: a reader that sees a new value sees row_epoch 0 or later. */
		atomic_store_explicit(&row->recv_pos[r], in ? g->w.peers[r].seen : 0,
				      memory_order_release);
		atomic_store_explicit(&row->freed_pos[r], in ? g->w.peers[r].freed : 0,
				      memory_order_release);
	}
	atomic_store_explicit(&row->epoch_base, cut_pos, memory_order_relaxed);
	gb_seq_write_end(&row->row_epoch, epoch); /* W2 */
	if (!g->fx.agent && g->app.commit_pos != g->w.seq_pos) {
		/* Run to completion: the re-stamped commits not yet published go out
		 * now, tail before promise (R1, R2), or a reader would take the
		 * promise past their round for a promise about them. */
		g->app.unpublished = 0;
		dp_sequence_own(g, g->app.commit_pos);
	} else if (g->fx.mode != GALE_MODE_FIFO) {
		/* R2 (as in dp_sequence_own()): the re-stamped records are before it. */
		atomic_store_explicit(&row->next_round, g->w.own_next_round, memory_order_release);
	}

	/* The app's view upcall, before the first delivery of the new view (R17). */
	g->down.next_view = v;
	for (uint32_t r = 0; r < g->w.n; r++)
		g->down.next_rows[r] = g->w.peers[r].row;
	g->down.next_resent_first = resent_first;
	g->down.marker_at = prod;
	atomic_store_explicit(&g->down.view_pub, epoch, memory_order_release);
	/* R15: sends open again once the app saw the view (app_gate). */
	atomic_store_explicit(&g->down.send_gate, epoch << 1, memory_order_release);
	g->w.vc = DP_VC_NONE;
	g->w.liveness_ns = now;
	post_installed(g);
	gb_log(g->fx.log, GB_LOG_INFO, "GALE-VIEW-INSTALL",
	       "member %u installed view %llu with %u members, %.3f ms after it wedged; its "
	       "sends of view %llu from seq %llu on are re-sent",
	       v.members[my_new].id, (unsigned long long)epoch, v.n_members,
	       (double)(now - g->w.vc_start_ns) / 1e6, (unsigned long long)(epoch - 1),
	       (unsigned long long)resent_first);
}

unsigned
dp_vc_work(struct dp_group *g)
{
	if (g->w.vc != DP_VC_TRIM)
		return 0;
	uint64_t prod = gb_spsc_prod_pos(&g->dq.pos);
	uint64_t space = gb_spsc_free_seen(&g->dq.pos, DP_DQ_SIZE);
	bool stuck;
	trim_refresh(g);
	uint32_t status0 = atomic_load_explicit(&g->down.status, memory_order_relaxed);
	unsigned n = dp_deliver(g, prod, space, true, &stuck);
	if (atomic_load_explicit(&g->down.status, memory_order_relaxed) != status0)
		return n; /* a peek found corruption: the group stopped */
	if (n)
		/* The queue entries are written (gb_spsc S1; A1 in dp_poll()). */
		gb_spsc_publish(&g->dq.pos, prod + n);
	if (atomic_load_explicit(&g->down.status, memory_order_relaxed) != GALE_STATUS_RUNNING)
		return n;
	bool all = true;
	for (uint32_t r = 0; r < g->w.n; r++)
		all &= g->w.peers[r].deliv_seq == g->w.peers[r].trim;
	if (!all) {
		/* Datagram drivers: what the trim keeps and is not here may be in
		 * another member's mirror; ask everyone (dgram.c relays). */
		for (uint32_t r = 0; stuck && g->fx.dgram && r < g->w.n; r++)
			if (g->w.peers[r].deliv_seq < g->w.peers[r].trim && r != g->w.my_rank)
				dp_dgram_want(g, r);
		if (stuck && !n && gb_now_ns() - g->w.vc_start_ns > 4 * g->fx.fail_timeout_ns)
			vc_fault(g, "a message the trim keeps is missing from its sender's ring");
		return n;
	}
	/* The app must have seen the previous view before it is told of this one. */
	if (atomic_load_explicit(&g->up.epoch_ack, memory_order_acquire) != g->w.view.epoch)
		return n;
	switch_view(g);
	return n + 1;
}
