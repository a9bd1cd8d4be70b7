/* SPDX-License-Identifier: MIT */
/* The membership state machine: see mbr.h for the protocol. */
#include "membership/mbr.h"

#include <errno.h>
#include <string.h>

#define DEF_HB_INTERVAL_NS 10000000ull
#define DEF_HB_TIMEOUT_NS 100000000ull
#define DEF_RESEND_NS 20000000ull
#define NO_RANK UINT32_MAX

static uint64_t
all_ranks(uint32_t n)
{
	return n >= 64 ? ~0ull : (1ull << n) - 1;
}

static bool
majority(uint64_t mask, uint32_t n)
{
	return 2u * (uint32_t)__builtin_popcountll(mask) > n;
}

static uint32_t
rank_of(const struct mbr_view *v, uint32_t id)
{
	for (uint32_t r = 0; r < v->n; r++)
		if (v->ids[r] == id)
			return r;
	return NO_RANK;
}

static uint64_t
alive(const struct mbr *m)
{
	return all_ranks(m->view.n) & ~m->suspects;
}

/* Who takes part in agreeing the next view: the alive, and the leavers. */
static uint64_t
voters(const struct mbr *m)
{
	return alive(m) | (m->leavers & all_ranks(m->view.n));
}

/* A leaver alone: every other member is gone or leaving too. */
static bool
left_alone(const struct mbr *m)
{
	return m->leaving && (alive(m) & ~(1ull << m->my_rank)) == 0;
}

static uint32_t
leader_rank(const struct mbr *m)
{
	uint64_t a = alive(m);
	return a ? (uint32_t)__builtin_ctzll(a) : NO_RANK;
}

static void
msg_init(const struct mbr *m, struct mbr_msg *out, enum mbr_type t)
{
	memset(out, 0, sizeof(*out));
	out->version = MBR_VERSION;
	out->type = (uint16_t)t;
	out->from = m->conf.my_id;
	out->epoch = m->view.epoch;
	out->suspects = m->suspects;
	out->n_joiners = m->n_joiners;
	memcpy(out->joiners, m->joiners, m->n_joiners * sizeof(m->joiners[0]));
}

/*
 * A decision repeated to a member still in an older epoch carries that old
 * epoch number: strip what is about this member's current epoch (suspects
 * are rank masks of a view, joiners a request for the next one), which the
 * receiver would read against its own older view.
 */
static void
clear_current(struct mbr_msg *d)
{
	d->suspects = 0;
	d->n_joiners = 0;
}

/* Remember a process that asks to join; true if it is new. */
static bool
add_joiner(struct mbr *m, uint32_t id)
{
	if (rank_of(&m->view, id) != NO_RANK || m->view.n + m->n_joiners >= MBR_MAX)
		return false;
	for (uint32_t i = 0; i < m->n_joiners; i++)
		if (m->joiners[i] == id)
			return false;
	m->joiners[m->n_joiners++] = id;
	return true;
}

static void
send_to(struct mbr *m, uint32_t rank, const struct mbr_msg *msg)
{
	if (rank != m->my_rank)
		m->ops.send(m->ops.arg, m->view.ids[rank], msg);
}

/* To every rank in mask but this member. */
static void
send_mask(struct mbr *m, uint64_t mask, const struct mbr_msg *msg)
{
	for (uint32_t r = 0; r < m->view.n; r++)
		if (mask & (1ull << r))
			send_to(m, r, msg);
}

static void
wedge(struct mbr *m)
{
	if (m->state != MBR_RUNNING)
		return;
	m->state = MBR_WEDGED;
	m->ops.action(m->ops.arg, MBR_ACT_WEDGE, NULL);
}

static void
stop(struct mbr *m, enum mbr_action why, const struct mbr_proposal *p)
{
	m->state = MBR_STOPPED;
	m->ops.action(m->ops.arg, why, p);
}

void
mbr_trim_compute(bool safe, uint32_t n, uint64_t mask, const struct mbr_row *rows,
		 struct mbr_trim *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t s = 0; s < n; s++) {
		bool first = true;
		for (uint32_t r = 0; r < n; r++) {
			if (!(mask & (1ull << r)))
				continue;
			/* SAFE: what every survivor received (nothing beyond was delivered).
			 * FIFO/TOTAL: whatever any survivor delivered (the others get it
			 * relayed), so nothing delivered anywhere is lost. */
			uint64_t v = safe ? rows[r].recv[s] : rows[r].delivered[s];
			if (first || (safe ? v < out->count[s] : v > out->count[s]))
				out->count[s] = v;
			first = false;
		}
	}
}

static void leader_step(struct mbr *m, uint64_t now_ns);

static void
start_ballot(struct mbr *m, uint64_t now_ns)
{
	uint64_t round = ++m->max_round_seen;
	m->ballot = (round << 8) | m->my_rank;
	m->accepting = false;
	m->promised_by = 0;
	m->accepted_by = 0;
	m->best_accepted_ballot = 0;
	struct mbr_msg p;
	msg_init(m, &p, MBR_PREPARE);
	p.ballot = m->ballot;
	send_mask(m, voters(m), &p);
	mbr_on_msg(m, &p, now_ns); /* this member's own promise */
}

/* A change without a new suspect (a join): wedge, spread it, let the leader run. */
static void
start_change(struct mbr *m, uint64_t now_ns)
{
	wedge(m);
	struct mbr_msg s;
	msg_init(m, &s, MBR_SUSPECT);
	send_mask(m, alive(m), &s);
	m->ballot = 0; /* a running ballot restarts to include the joiners */
	leader_step(m, now_ns);
}

/* New suspects (a rank mask): spread them, wedge, stop without a majority. */
static void
add_suspects(struct mbr *m, uint64_t mask, uint64_t now_ns)
{
	mask &= all_ranks(m->view.n) & ~(1ull << m->my_rank);
	if ((m->suspects | mask) == m->suspects || m->state == MBR_STOPPED)
		return;
	m->suspects |= mask;
	wedge(m);
	struct mbr_msg s;
	msg_init(m, &s, MBR_SUSPECT);
	send_mask(m, alive(m), &s);
	if (left_alone(m)) {
		stop(m, MBR_ACT_ENDED, NULL);
		return;
	}
	/* Leavers still answering count: they consent to a view without them. */
	if (!majority(voters(m), m->view.n)) {
		stop(m, MBR_ACT_MINORITY, NULL);
		return;
	}
	m->ballot = 0; /* a leader restarts with the survivors it now knows */
	leader_step(m, now_ns);
}

static void
leader_step(struct mbr *m, uint64_t now_ns)
{
	if (m->state != MBR_WEDGED || !m->row_ready || m->leaving || leader_rank(m) != m->my_rank)
		return;
	if (!m->ballot)
		start_ballot(m, now_ns);
}

/* Ask the others to exclude this member (again after a view that kept it). */
static void
announce_leave(struct mbr *m, uint64_t now_ns)
{
	wedge(m);
	struct mbr_msg s;
	msg_init(m, &s, MBR_SUSPECT);
	s.suspects |= 1ull << m->my_rank;
	send_mask(m, alive(m), &s);
	m->next_resend_ns = now_ns + m->conf.resend_ns;
}

static void
install(struct mbr *m, const struct mbr_proposal *p, uint64_t now_ns)
{
	if (m->state == MBR_STOPPED)
		return;
	if (m->joining) {
		if (rank_of(&p->view, m->conf.my_id) == NO_RANK)
			return; /* a view decided before this member's join */
		m->joining = false;
		m->view.epoch = p->view.epoch - 1; /* it enters at this view */
	}
	if (p->view.epoch != m->view.epoch + 1)
		return;
	m->last = *p;
	m->have_last = true;
	uint32_t r = rank_of(&p->view, m->conf.my_id);
	if (r == NO_RANK) {
		m->excluded = true;
		stop(m, MBR_ACT_EXCLUDED, p);
		return;
	}
	m->ops.action(m->ops.arg, MBR_ACT_INSTALL, p);
	m->prev_view = m->view;
	m->view = p->view;
	m->my_rank = r;
	m->state = MBR_RUNNING;
	m->suspects = 0;
	m->leavers = 0;
	m->row_ready = false;
	m->promised = 0;
	m->accepted_ballot = 0;
	m->ballot = 0;
	m->accepting = false;
	m->max_round_seen = 0;
	m->n_joiners = 0; /* those still outside ask again */
	m->installs++;
	for (uint32_t i = 0; i < MBR_MAX; i++)
		m->last_heard_ns[i] = now_ns;
	if (m->leaving)
		announce_leave(m, now_ns); /* the view decided before the leave was heard */
}

static void
decide(struct mbr *m, uint64_t now_ns)
{
	struct mbr_msg d;
	msg_init(m, &d, MBR_DECIDE);
	d.proposal = m->value;
	send_mask(m, all_ranks(m->view.n), &d);
	for (uint32_t i = 0; i < m->value.view.n; i++) /* the joiners */
		if (rank_of(&m->view, m->value.view.ids[i]) == NO_RANK)
			m->ops.send(m->ops.arg, m->value.view.ids[i], &d);
	install(m, &m->value, now_ns);
}

static void
on_promise(struct mbr *m, uint32_t from, const struct mbr_msg *msg, uint64_t now_ns)
{
	if (msg->ballot != m->ballot || m->accepting)
		return;
	m->promised_by |= 1ull << from;
	m->rows[from] = msg->row;
	if (msg->accepted_ballot > m->best_accepted_ballot) {
		/* Paxos: a value some acceptor took may have been decided; keep it. */
		m->best_accepted_ballot = msg->accepted_ballot;
		m->value = msg->proposal;
	}
	uint64_t a = alive(m);
	if ((m->promised_by & a) != a || !majority(m->promised_by & voters(m), m->view.n))
		return;
	if (!m->best_accepted_ballot) {
		memset(&m->value, 0, sizeof(m->value));
		m->value.view.epoch = m->view.epoch + 1;
		for (uint32_t r = 0; r < m->view.n; r++)
			if (a & (1ull << r))
				m->value.view.ids[m->value.view.n++] = m->view.ids[r];
		for (uint32_t j = 0; j < m->n_joiners; j++) /* joins, batched */
			m->value.view.ids[m->value.view.n++] = m->joiners[j];
		mbr_trim_compute(m->conf.safe, m->view.n, a, m->rows, &m->value.trim);
	}
	m->accepting = true;
	struct mbr_msg acc;
	msg_init(m, &acc, MBR_ACCEPT);
	acc.ballot = m->ballot;
	acc.proposal = m->value;
	send_mask(m, voters(m), &acc);
	mbr_on_msg(m, &acc, now_ns);
}

static void
on_accepted(struct mbr *m, uint32_t from, const struct mbr_msg *msg, uint64_t now_ns)
{
	if (msg->ballot != m->ballot || !m->accepting)
		return;
	m->accepted_by |= 1ull << from;
	if (majority(m->accepted_by, m->view.n))
		decide(m, now_ns);
}

static void
nack(struct mbr *m, uint32_t to_rank)
{
	struct mbr_msg n;
	msg_init(m, &n, MBR_NACK);
	n.ballot = m->promised; /* higher than asked: the asker restarts above it */
	send_to(m, to_rank, &n);
}

static void
answer_prepare(struct mbr *m, uint32_t from, uint64_t ballot, uint64_t now_ns)
{
	m->promised = ballot;
	struct mbr_msg p;
	msg_init(m, &p, MBR_PROMISE);
	p.ballot = ballot;
	p.accepted_ballot = m->accepted_ballot;
	p.proposal = m->accepted;
	p.row = m->row;
	if (from == m->my_rank)
		on_promise(m, from, &p, now_ns);
	else
		send_to(m, from, &p);
}

/* A message of this member's own epoch from a member of its view. */
static void
on_current(struct mbr *m, uint32_t from, const struct mbr_msg *msg, uint64_t now_ns)
{
	if (m->state == MBR_STOPPED)
		return;
	if (msg->type == MBR_SUSPECT && (msg->suspects & (1ull << from)))
		m->leavers |= 1ull << from; /* it asks to leave: it consents */
	if (m->suspects & (1ull << from)) {
		if (!(m->leavers & (1ull << from)))
			return; /* nothing from a member this one counts as failed */
		/* A leaver: an acceptor until the view without it is decided. */
		m->last_heard_ns[from] = now_ns;
		if (msg->type == MBR_PROMISE)
			on_promise(m, from, msg, now_ns);
		else if (msg->type == MBR_ACCEPTED)
			on_accepted(m, from, msg, now_ns);
		return;
	}
	m->last_heard_ns[from] = now_ns;
	if (msg->ballot >> 8 > m->max_round_seen)
		m->max_round_seen = msg->ballot >> 8;
	/* Suspicion spreads, but not from a member that suspects this one: the two
	 * are on opposite sides of a failure, and its view of the rest comes from
	 * the other side (after a partition it would take the majority down). */
	if (!(msg->suspects & (1ull << m->my_rank)))
		add_suspects(m, msg->suspects, now_ns);
	if (m->state == MBR_STOPPED)
		return;
	bool new_joiner = false;
	for (uint32_t j = 0; j < msg->n_joiners && j < MBR_MAX; j++)
		new_joiner |= add_joiner(m, msg->joiners[j]);
	if (new_joiner)
		start_change(m, now_ns);
	switch (msg->type) {
	case MBR_HEARTBEAT:
	case MBR_SUSPECT:
		break;
	case MBR_PREPARE:
		wedge(m);
		if (msg->ballot < m->promised) {
			nack(m, from);
		} else if (!m->row_ready) {
			m->promised = msg->ballot; /* answered by mbr_row_ready() */
			m->pending_from = from;
			m->pending = true;
		} else {
			answer_prepare(m, from, msg->ballot, now_ns);
		}
		break;
	case MBR_PROMISE:
		on_promise(m, from, msg, now_ns);
		break;
	case MBR_NACK:
		if (m->ballot && msg->ballot > m->ballot)
			m->ballot = 0; /* outbid: start again, above it, at the next resend */
		break;
	case MBR_ACCEPT:
		wedge(m);
		if (msg->ballot < m->promised) {
			nack(m, from);
			break;
		}
		m->promised = msg->ballot;
		m->accepted_ballot = msg->ballot;
		m->accepted = msg->proposal;
		struct mbr_msg a;
		msg_init(m, &a, MBR_ACCEPTED);
		a.ballot = msg->ballot;
		if (from == m->my_rank)
			mbr_on_msg(m, &a, now_ns);
		else
			send_to(m, from, &a);
		break;
	case MBR_ACCEPTED:
		on_accepted(m, from, msg, now_ns);
		break;
	case MBR_DECIDE:
		install(m, &msg->proposal, now_ns);
		break;
	default:
		break;
	}
}

void
mbr_on_msg(struct mbr *m, const struct mbr_msg *msg, uint64_t now_ns)
{
	if (msg->version != MBR_VERSION || msg->type < MBR_HEARTBEAT || msg->type >= MBR_TYPE_MAX ||
	    msg->proposal.view.n > MBR_MAX) {
		m->dropped++;
		return;
	}
	if (m->joining) {
		if (msg->type == MBR_DECIDE)
			install(m, &msg->proposal, now_ns);
		else
			m->dropped++;
		return;
	}
	if (msg->type == MBR_JOIN) {
		if (rank_of(&m->view, msg->from) != NO_RANK) {
			/* Already in: it missed the decision that let it in. */
			if (m->have_last) {
				struct mbr_msg d;
				msg_init(m, &d, MBR_DECIDE);
				d.epoch = m->last.view.epoch - 1;
				d.proposal = m->last;
				clear_current(&d);
				m->ops.send(m->ops.arg, msg->from, &d);
			}
		} else if (m->state != MBR_STOPPED && add_joiner(m, msg->from)) {
			start_change(m, now_ns);
		}
		return;
	}
	if (msg->epoch == m->view.epoch) {
		uint32_t from = rank_of(&m->view, msg->from);
		if (from == NO_RANK) {
			m->dropped++;
			return;
		}
		on_current(m, from, msg, now_ns);
	} else if (msg->epoch + 1 == m->view.epoch && m->have_last &&
		   rank_of(&m->prev_view, msg->from) != NO_RANK) {
		/* A member still in the previous view (maybe excluded from this
		 * one): tell it what was decided. */
		if (msg->type != MBR_DECIDE) {
			struct mbr_msg d;
			msg_init(m, &d, MBR_DECIDE);
			d.epoch = msg->epoch;
			d.proposal = m->last;
			clear_current(&d);
			m->ops.send(m->ops.arg, msg->from, &d);
		}
	} else {
		uint32_t from = rank_of(&m->view, msg->from);
		if (msg->epoch > m->view.epoch && from != NO_RANK) {
			/* A member of this view is already in a later one: it is alive,
			 * and this member lags (its next message to it brings the
			 * decision back). Not a reason to suspect it. */
			m->last_heard_ns[from] = now_ns;
		}
		m->dropped++; /* another epoch or a stranger: nothing to act on */
	}
}

void
mbr_row_ready(struct mbr *m, const struct mbr_row *row, uint64_t now_ns)
{
	if (m->state != MBR_WEDGED || m->row_ready)
		return;
	m->row = *row;
	m->row_ready = true;
	if (m->pending) {
		m->pending = false;
		answer_prepare(m, m->pending_from, m->promised, now_ns);
	}
	leader_step(m, now_ns);
}

void
mbr_suspect(struct mbr *m, uint32_t id, uint64_t now_ns)
{
	uint32_t r = rank_of(&m->view, id);
	if (r != NO_RANK)
		add_suspects(m, 1ull << r, now_ns);
}

void
mbr_tick(struct mbr *m, uint64_t now_ns)
{
	if (m->state == MBR_STOPPED)
		return;
	if (m->joining) {
		if (now_ns >= m->next_resend_ns) {
			m->next_resend_ns = now_ns + m->conf.resend_ns;
			struct mbr_msg j;
			msg_init(m, &j, MBR_JOIN);
			for (uint32_t i = 0; i < m->n_contacts; i++)
				m->ops.send(m->ops.arg, m->contacts[i], &j);
		}
		return;
	}
	if (now_ns >= m->next_hb_ns) {
		struct mbr_msg h;
		msg_init(m, &h, MBR_HEARTBEAT);
		send_mask(m, all_ranks(m->view.n), &h);
		m->next_hb_ns = now_ns + m->conf.hb_interval_ns;
	}
	if (m->last_tick_ns && now_ns - m->last_tick_ns > m->conf.hb_timeout_ns / 2) {
		/* This member itself was not running (stopped, paused): it cannot
		 * tell whether the others were silent. Give them a fresh timeout. */
		for (uint32_t r = 0; r < m->view.n; r++)
			m->last_heard_ns[r] = now_ns;
	}
	m->last_tick_ns = now_ns;
	uint64_t late = 0;
	for (uint32_t r = 0; r < m->view.n; r++)
		if (r != m->my_rank && now_ns - m->last_heard_ns[r] > m->conf.hb_timeout_ns)
			late |= 1ull << r;
	if (m->leavers & late) {
		/* A leaver gone silent gave no consent to anything after: failed. */
		m->leavers &= ~late;
		if (!majority(voters(m), m->view.n)) {
			stop(m, MBR_ACT_MINORITY, NULL);
			return;
		}
	}
	add_suspects(m, late, now_ns);
	if (m->state == MBR_STOPPED)
		return;
	if (m->state != MBR_WEDGED || now_ns < m->next_resend_ns)
		return;
	m->next_resend_ns = now_ns + m->conf.resend_ns;
	struct mbr_msg s;
	msg_init(m, &s, MBR_SUSPECT);
	if (m->leaving)
		s.suspects |= 1ull << m->my_rank;
	send_mask(m, alive(m), &s);
	if (leader_rank(m) != m->my_rank || !m->row_ready || m->leaving)
		return;
	if (!m->ballot) {
		start_ballot(m, now_ns);
		return;
	}
	/* Repeat this phase's request to those that have not answered. */
	struct mbr_msg q;
	msg_init(m, &q, m->accepting ? MBR_ACCEPT : MBR_PREPARE);
	q.ballot = m->ballot;
	q.proposal = m->value;
	send_mask(m, voters(m) & ~(m->accepting ? m->accepted_by : m->promised_by), &q);
}

static void
init_common(struct mbr *m, const struct mbr_conf *conf, const struct mbr_ops *ops)
{
	memset(m, 0, sizeof(*m));
	m->conf = *conf;
	if (!m->conf.hb_interval_ns)
		m->conf.hb_interval_ns = DEF_HB_INTERVAL_NS;
	if (!m->conf.hb_timeout_ns)
		m->conf.hb_timeout_ns = DEF_HB_TIMEOUT_NS;
	if (!m->conf.resend_ns)
		m->conf.resend_ns = DEF_RESEND_NS;
	m->ops = *ops;
}

int
mbr_init_joiner(struct mbr *m, const struct mbr_conf *conf, const struct mbr_ops *ops,
		const uint32_t *contacts, uint32_t n_contacts, uint64_t now_ns)
{
	if (!conf || !ops || !ops->send || !ops->action || !contacts || n_contacts < 1 ||
	    n_contacts > MBR_MAX)
		return -EINVAL;
	init_common(m, conf, ops);
	m->joining = true;
	m->n_contacts = n_contacts;
	memcpy(m->contacts, contacts, n_contacts * sizeof(contacts[0]));
	m->next_resend_ns = now_ns;
	return 0;
}

void
mbr_leave(struct mbr *m, uint64_t now_ns)
{
	if (m->state == MBR_STOPPED || m->joining || m->leaving)
		return;
	m->leaving = true;
	announce_leave(m, now_ns);
	if (left_alone(m))
		stop(m, MBR_ACT_ENDED, NULL); /* no one to agree a view without it */
}

int
mbr_init(struct mbr *m, const struct mbr_conf *conf, const struct mbr_ops *ops,
	 const struct mbr_view *initial, uint64_t now_ns)
{
	if (!conf || !ops || !ops->send || !ops->action || !initial || initial->n < 1 ||
	    initial->n > MBR_MAX || initial->epoch < 1)
		return -EINVAL;
	init_common(m, conf, ops);
	m->view = *initial;
	m->my_rank = rank_of(initial, conf->my_id);
	if (m->my_rank == NO_RANK)
		return -EINVAL;
	for (uint32_t i = 0; i < MBR_MAX; i++)
		m->last_heard_ns[i] = now_ns;
	m->next_hb_ns = now_ns;
	return 0;
}
