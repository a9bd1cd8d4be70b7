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
#include "dgram.h"

#include "base/clock.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

bool
dp_ctl_post(struct dp_group *g, const struct dp_evt *e)
{
	struct dp_ctl *c = g->ctl;
	uint64_t head = atomic_load_explicit(&c->evt_head, memory_order_relaxed);
	if (head - atomic_load_explicit(&c->evt_tail, memory_order_acquire) >= DP_CTL_EVTS) {
		atomic_fetch_add_explicit(&c->evt_lost, 1, memory_order_relaxed);
		return false;
	}
	c->evt[head & (DP_CTL_EVTS - 1)] = *e;
	/* R13: the event is written; pairs with A13 in dp_ctl_pop_evt(). */
	atomic_store_explicit(&c->evt_head, head + 1, memory_order_release);
	if (g->ctl_wake_fd >= 0) {
		uint64_t one = 1;
		/* A full eventfd counter still wakes the reader: nothing to handle. */
		(void)!write(g->ctl_wake_fd, &one, sizeof(one));
	}
	return true;
}

void
dp_suspect(struct dp_group *g, uint32_t rank, const char *why)
{
	struct dp_peer *p = &g->peers[rank];
	if (p->suspected || rank == g->my_rank)
		return;
	p->suspected = true;
	atomic_fetch_add_explicit(&g->c_peer_failures, 1, memory_order_relaxed);
	gb_log(g->log, GB_LOG_WARN, "GALE-SUSPECT",
	       "member %u: member %u (pid %d) in epoch %llu: %s", g->view.members[g->my_rank].id,
	       p->id, (int)g->view.members[rank].pid, (unsigned long long)g->view.epoch, why);
	struct dp_evt e = { .type = DP_EVT_SUSPECT, .id = p->id, .epoch = g->view.epoch };
	dp_ctl_post(g, &e);
}

static int attach_new(struct dp_group *g, struct dp_peer *p, struct gale_member *m, uint32_t id,
		      uint64_t now);

/* The dataplane cannot apply what it was told: log, tell control, stop. */
static void
vc_fault(struct dp_group *g, const char *why)
{
	gb_log(g->log, GB_LOG_ERR, "GALE-VIEW-FAULT", "member %u in epoch %llu: %s",
	       g->view.members[g->my_rank].id, (unsigned long long)g->view.epoch, why);
	struct dp_evt e = { .type = DP_EVT_FAULT, .epoch = g->view.epoch };
	dp_ctl_post(g, &e);
	dp_group_stop(g, GALE_STATUS_STOPPED_FAILURE, g->view.members[g->my_rank].id, why);
}

/* Messages in sender p's ring in [p->deliv_pos, upto): received, not delivered. */
static uint64_t
count_records(const struct dp_group *g, const struct dp_peer *p, uint64_t upto)
{
	uint64_t n = 0;
	for (uint64_t pos = p->deliv_pos; pos < upto;) {
		const struct dp_rec *h = (const struct dp_rec *)(p->ring + (pos & g->ring_mask));
		uint32_t lf = h->len_flags;
		if (lf & DP_REC_PAD) {
			pos = (pos | g->ring_mask) + 1;
			continue;
		}
		uint32_t len = lf & DP_REC_LEN_MASK;
		uint64_t bytes = dp_rec_bytes(len);
		if (len == 0 || len > g->max_msg || pos + bytes > upto || h->epoch != g->epoch32)
			break; /* not a valid record of this view: count none from here */
		n++;
		pos += bytes;
	}
	return n;
}

static void
wedge(struct dp_group *g)
{
	if (g->vc != DP_VC_NONE)
		return;
	g->vc = DP_VC_WEDGED;
	g->vc_start_ns = gb_now_ns();
	/* R15: claims stop (the app reads it relaxed: a claim racing with this
	 * is committed after the wedge, and re-sent like any cut message). */
	atomic_store_explicit(&g->send_gate,
			      atomic_load_explicit(&g->send_gate, memory_order_relaxed) | 1,
			      memory_order_release);
	struct dp_evt e = { .type = DP_EVT_ROW, .epoch = g->view.epoch };
	for (uint32_t r = 0; r < g->n; r++) {
		struct dp_peer *p = &g->peers[r];
		e.delivered[r] = p->deliv_seq;
		e.recv[r] = p->deliv_seq + count_records(g, p, p->seen);
	}
	gb_log(g->log, GB_LOG_INFO, "GALE-WEDGE", "member %u wedged in epoch %llu",
	       g->view.members[g->my_rank].id, (unsigned long long)g->view.epoch);
	dp_ctl_post(g, &e);
}

static void
start_install(struct dp_group *g, const struct dp_cmd *c)
{
	if (c->epoch != g->view.epoch + 1 || c->n < 1 || c->n > GALE_MAX_MEMBERS) {
		vc_fault(g, "told to install a view that does not follow the current one");
		return;
	}
	wedge(g); /* normally done already, by the WEDGE before */
	for (uint32_t r = 0; r < g->n; r++) {
		struct dp_peer *p = &g->peers[r];
		if (p->deliv_seq > c->trim[r]) {
			vc_fault(g, "the trim is below what this member delivered");
			return;
		}
		p->trim = c->trim[r];
	}
	g->install = *c;
	g->vc = DP_VC_TRIM;
}

/* Tell control the view is in, with every member's control port. */
static void
post_installed(struct dp_group *g)
{
	struct dp_evt e = { .type = DP_EVT_INSTALLED, .epoch = g->view.epoch, .n = g->n };
	for (uint32_t r = 0; r < g->n; r++) {
		e.ids[r] = g->peers[r].id;
		e.ports[r] = g->peers[r].row->ctl_port;
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
		if (c->ids[k] == g->ctl->my_id)
			v.my_rank = k;
		if (attach_new(g, &g->peers[k], &v.members[k], c->ids[k], now)) {
			vc_fault(g, "a member of the first view cannot be reached");
			return;
		}
	}
	if (v.my_rank == UINT32_MAX) {
		vc_fault(g, "told to install a first view without this member");
		return;
	}
	g->view = v;
	g->n = c->n;
	g->my_rank = v.my_rank;
	g->epoch32 = (uint32_t)c->epoch;
	g->joining = false;
	g->liveness_ns = now;
	g->vc_start_ns = now;
	struct dp_row *row = g->row;
	atomic_store_explicit(&row->epoch_base, 0, memory_order_relaxed);
	/* R14: its (zero) arrays describe this view from here on. */
	atomic_store_explicit(&row->row_epoch, c->epoch, memory_order_release);
	for (uint32_t k = 0; k < c->n; k++)
		g->next_rows[k] = g->peers[k].row;
	g->next_view = v;
	g->next_resent_first = 0;
	g->marker_at = 0;
	atomic_store_explicit(&g->send_gate, c->epoch << 1, memory_order_release);
	atomic_store_explicit(&g->status, GALE_STATUS_RUNNING, memory_order_release);
	/* R17: the app takes this view in gale_group_join(). */
	atomic_store_explicit(&g->view_pub, c->epoch, memory_order_release);
	post_installed(g);
	gb_log(g->log, GB_LOG_INFO, "GALE-VIEW-INSTALL",
	       "member %u joined: installed view %llu with %u members", g->ctl->my_id,
	       (unsigned long long)c->epoch, c->n);
}

unsigned
dp_ctl_work(struct dp_group *g)
{
	struct dp_ctl *c = g->ctl;
	/* A12: pairs with R12 in dp_ctl_push_cmd(); the command is written. */
	if (atomic_load_explicit(&c->cmd_head, memory_order_acquire) == g->cmd_tail ||
	    g->vc == DP_VC_TRIM)
		return 0;
	const struct dp_cmd *cmd = &c->cmd[g->cmd_tail & (DP_CTL_CMDS - 1)];
	switch (cmd->type) {
	case DP_CMD_WEDGE:
		if (!g->joining)
			wedge(g);
		break;
	case DP_CMD_INSTALL:
		if (g->joining)
			join_install(g, cmd);
		else
			start_install(g, cmd);
		break;
	case DP_CMD_STOP:
		dp_group_stop(g, (enum gale_status)cmd->status, g->view.members[g->my_rank].id,
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
	g->cmd_tail++;
	atomic_store_explicit(&c->cmd_tail, g->cmd_tail, memory_order_release);
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
static unsigned
deliver_trim(struct dp_group *g, uint64_t prod, uint64_t space, bool *stuck)
{
	const struct dp_rec *head[GALE_MAX_MEMBERS];
	uint32_t hlen[GALE_MAX_MEMBERS];
	uint32_t status0 = atomic_load_explicit(&g->status, memory_order_relaxed);
	unsigned done = 0;
	*stuck = false;
	for (uint32_t r = 0; r < g->n; r++) {
		struct dp_peer *p = &g->peers[r];
		head[r] = NULL;
		if (p->deliv_seq == p->trim)
			continue;
		if (r != g->my_rank) {
			/* A1: a failed sender's last tail is in its region still. */
			uint64_t t = atomic_load_explicit(&p->row->tail, memory_order_acquire);
			if (t > p->seen && t - p->deliv_pos <= g->ring_bytes)
				p->seen = t;
		}
		head[r] = dp_peek(g, p, &hlen[r]);
		if (!head[r])
			*stuck = true;
	}
	if (atomic_load_explicit(&g->status, memory_order_relaxed) != status0)
		return 0; /* a peek found corruption */
	if (g->mode == GALE_MODE_FIFO) {
		for (uint32_t r = 0; r < g->n; r++) {
			struct dp_peer *p = &g->peers[r];
			while (head[r] && space) {
				dp_emit(g, r, head[r], hlen[r], prod++);
				space--;
				done++;
				head[r] = p->deliv_seq < p->trim ? dp_peek(g, p, &hlen[r]) : NULL;
				if (!head[r] && p->deliv_seq < p->trim)
					*stuck = true;
			}
		}
		return done;
	}
	while (space && !*stuck) {
		uint32_t best = UINT32_MAX;
		bool left = false;
		for (uint32_t r = 0; r < g->n; r++) {
			if (!head[r])
				continue;
			left = true;
			if (best == UINT32_MAX ||
			    key_lt(head[r]->round, r, head[best]->round, best))
				best = r;
		}
		if (!left)
			break;
		struct dp_peer *p = &g->peers[best];
		dp_emit(g, best, head[best], hlen[best], prod++);
		space--;
		done++;
		head[best] = p->deliv_seq < p->trim ? dp_peek(g, p, &hlen[best]) : NULL;
		if (!head[best] && p->deliv_seq < p->trim)
			*stuck = true;
	}
	return done;
}

/* Re-stamp this member's records in [from, to) for the new epoch and round. */
static void
restamp(struct dp_group *g, uint64_t from, uint64_t to, uint32_t epoch32, uint64_t round)
{
	for (uint64_t p = from; p < to;) {
		struct dp_rec *h = (struct dp_rec *)(g->ring + (p & g->ring_mask));
		uint32_t lf = h->len_flags;
		h->epoch = epoch32;
		if (lf & DP_REC_PAD) {
			p = (p | g->ring_mask) + 1;
			continue;
		}
		h->round = round;
		p += dp_rec_bytes(lf & DP_REC_LEN_MASK);
	}
}

/* Map member id's region for a view that adds it; 0 or -errno (logged). */
static int
attach_new(struct dp_group *g, struct dp_peer *p, struct gale_member *m, uint32_t id, uint64_t now)
{
	const void *region;
	int rc = dp_attach(g, id, &region);
	if (rc) {
		gb_log(g->log, GB_LOG_ERR, "GALE-VIEW-FAULT",
		       "member %u cannot map new member %u's region: %s", g->ctl->my_id, id,
		       gb_strerror(rc));
		return rc;
	}
	memset(p, 0, sizeof(*p));
	p->id = id;
	dp_peer_map(g, p, id, region);
	p->need_base = id != g->ctl->my_id;
	p->hb_change_ns = now;
	m->id = id;
	m->pid = dp_peer_pid(g, id);
	return 0;
}

/* Everything up to the trim is delivered: enter the new view. */
static void
switch_view(struct dp_group *g)
{
	const struct dp_cmd *c = &g->install;
	uint8_t map[GALE_MAX_MEMBERS]; /* old rank -> new rank */
	uint32_t my_new = UINT32_MAX;
	for (uint32_t r = 0; r < g->n; r++) {
		map[r] = DP_NO_RANK;
		for (uint32_t k = 0; k < c->n; k++)
			if (c->ids[k] == g->peers[r].id)
				map[r] = (uint8_t)k;
	}
	struct dp_peer np[GALE_MAX_MEMBERS];
	struct gale_view v = { .epoch = c->epoch, .n_members = c->n };
	uint64_t now = gb_now_ns();
	for (uint32_t k = 0; k < c->n; k++) {
		if (c->ids[k] == g->view.members[g->my_rank].id)
			my_new = k;
		bool known = false;
		for (uint32_t r = 0; r < g->n; r++)
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
	struct dp_peer *me = &g->peers[g->my_rank];
	uint64_t cut_pos = me->deliv_pos; /* own messages up to the trim are delivered */
	uint64_t resent_first = me->deliv_seq;
	uint64_t epoch = c->epoch;
	uint32_t epoch32 = (uint32_t)epoch;
	uint64_t round = dp_round_now(g);
	/* R14 opens: the row reads 0 ("changing") before any record is
	 * re-stamped, so a reader that sees a later epoch in a record knows it
	 * is not corrupt (A14 in dp_peek()). */
	struct dp_row *row = g->row;
	/* The exchange's acquire keeps the re-stamps below after it. */
	atomic_exchange_explicit(&row->row_epoch, 0, memory_order_acq_rel);
	/* Re-send the cut messages (and, run to completion, the committed ones
	 * not yet published) in place: same bytes, the new epoch's stamp. */
	uint64_t end = g->agent ? g->seq_pos : g->commit_pos;
	if (end > cut_pos) {
		restamp(g, cut_pos, end, epoch32, g->mode == GALE_MODE_FIFO ? 0 : round);
		if (g->mode != GALE_MODE_FIFO)
			g->own_next_round = round + 1;
	}

	for (uint32_t r = 0; r < g->n; r++) {
		if (map[r] == DP_NO_RANK)
			continue;
		struct dp_peer *p = &np[map[r]];
		*p = g->peers[r];
		p->deliv_seq = 0;
		p->trim = 0;
		p->suspected = false;
		p->seen = p->deliv_pos; /* nothing of the new epoch seen yet */
		p->hb_change_ns = now;
	}
	/* Deliveries the app still holds: their senders' new ranks. */
	uint64_t prod = atomic_load_explicit(&g->dq_prod, memory_order_relaxed);
	for (uint64_t i = g->dq_rel_seen; i != prod; i++) {
		uint32_t k = (uint32_t)(i & (DP_DQ_SIZE - 1));
		if (g->dq_rank[k] != DP_NO_RANK)
			g->dq_rank[k] = map[g->dq_rank[k]];
	}
	v.my_rank = my_new;
	for (uint32_t r = 0; r < g->n; r++)
		if (map[r] != DP_NO_RANK)
			v.members[map[r]] = g->view.members[r];
	memcpy(g->peers, np, c->n * sizeof(np[0]));
	g->n = c->n;
	g->my_rank = my_new;
	g->epoch32 = epoch32;
	g->view = v;
	g->fifo_next = 0;
	g->stale = false;
	me = &g->peers[my_new];
	me->seen = g->seq_pos;
	me->nr_seen = g->own_next_round;

	/* R14: the row's rank-indexed arrays are rewritten under the sequence lock. */
	for (uint32_t r = 0; r < GALE_MAX_MEMBERS; r++) {
		bool in = r < g->n;
		/* Release: a reader that sees a new value sees row_epoch 0 or later. */
		atomic_store_explicit(&row->recv_pos[r], in ? g->peers[r].seen : 0,
				      memory_order_release);
		atomic_store_explicit(&row->freed_pos[r], in ? g->peers[r].freed : 0,
				      memory_order_release);
	}
	atomic_store_explicit(&row->epoch_base, cut_pos, memory_order_relaxed);
	atomic_store_explicit(&row->row_epoch, epoch, memory_order_release);
	if (!g->agent && g->commit_pos != g->seq_pos) {
		/* Run to completion: the re-stamped commits not yet published go out
		 * now, tail before promise (R1, R2), or a reader would take the
		 * promise past their round for a promise about them. */
		g->unpublished = 0;
		dp_sequence_own(g, g->commit_pos);
	} else if (g->mode != GALE_MODE_FIFO) {
		/* R2 (as in dp_sequence_own()): the re-stamped records are before it. */
		atomic_store_explicit(&row->next_round, g->own_next_round, memory_order_release);
	}

	/* The app's view upcall, before the first delivery of the new view (R17). */
	g->next_view = v;
	for (uint32_t r = 0; r < g->n; r++)
		g->next_rows[r] = g->peers[r].row;
	g->next_resent_first = resent_first;
	g->marker_at = prod;
	atomic_store_explicit(&g->view_pub, epoch, memory_order_release);
	/* R15: sends open again once the app saw the view (app_gate). */
	atomic_store_explicit(&g->send_gate, epoch << 1, memory_order_release);
	g->vc = DP_VC_NONE;
	g->liveness_ns = now;
	post_installed(g);
	gb_log(g->log, GB_LOG_INFO, "GALE-VIEW-INSTALL",
	       "member %u installed view %llu with %u members, %.3f ms after it wedged; its "
	       "sends of view %llu from seq %llu on are re-sent",
	       v.members[my_new].id, (unsigned long long)epoch, v.n_members,
	       (double)(now - g->vc_start_ns) / 1e6, (unsigned long long)(epoch - 1),
	       (unsigned long long)resent_first);
}

unsigned
dp_vc_work(struct dp_group *g)
{
	if (g->vc != DP_VC_TRIM)
		return 0;
	uint64_t prod = atomic_load_explicit(&g->dq_prod, memory_order_relaxed);
	uint64_t space = DP_DQ_SIZE - (prod - g->dq_rel_seen);
	bool stuck;
	unsigned n = deliver_trim(g, prod, space, &stuck);
	if (n)
		/* R5: the queue entries are written; pairs with A5 in dp_poll(). */
		atomic_store_explicit(&g->dq_prod, prod + n, memory_order_release);
	if (atomic_load_explicit(&g->status, memory_order_relaxed) != GALE_STATUS_RUNNING)
		return n;
	bool all = true;
	for (uint32_t r = 0; r < g->n; r++)
		all &= g->peers[r].deliv_seq == g->peers[r].trim;
	if (!all) {
		/* Datagram drivers: what the trim keeps and is not here may be in
		 * another member's mirror; ask everyone (dgram.c relays). */
		for (uint32_t r = 0; stuck && g->dgram && r < g->n; r++)
			if (g->peers[r].deliv_seq < g->peers[r].trim && r != g->my_rank)
				dp_dgram_want(g, r);
		if (stuck && !n && gb_now_ns() - g->vc_start_ns > 4 * g->fail_timeout_ns)
			vc_fault(g, "a message the trim keeps is missing from its sender's ring");
		return n;
	}
	/* The app must have seen the previous view before it is told of this one. */
	if (atomic_load_explicit(&g->app_epoch_ack, memory_order_acquire) != g->view.epoch)
		return n;
	switch_view(g);
	return n + 1;
}
