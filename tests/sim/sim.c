/* SPDX-License-Identifier: MIT */
/*
 * A seeded, deterministic simulator for the membership state machine.
 *
 * Each seed builds one schedule: 3 to 7 members, message delays of 0.1 to
 * 5 ms (so reordering), random loss, crashes (sometimes of a majority),
 * a partition that later heals, pauses (SIGSTOP-like: no ticks, datagrams
 * wait; sometimes of a majority), joins, a voluntary leave, and sometimes
 * the leader crashing in the middle of a view change. The members run mbr.c unchanged; the
 * simulator is their network and clock. On every install it checks:
 *   - agreement: every member that installs epoch e installs the same view
 *     and the same trim (so no split brain, and trims agree);
 *   - order: a member installs epochs one by one, none skipped;
 *   - majority: a new view keeps a majority of the view it replaces and
 *     adds no stranger;
 * and at the end of a schedule with only minority crashes, no partition
 * and little loss: every live member installed a view of exactly the live
 * members (liveness).
 *
 * With --partition-3-2, every seed builds the 3/2 partition instead: 5
 * members and nothing else failing (no joins, leaves, crashes or pauses),
 * delays and loss (at most 5 %) from the seed, and from 50..600 ms the
 * members {0,1,2} cut off from {3,4}, or, on half the seeds, {2,3,4} from
 * {0,1} so that the leader (rank 0) is on the 2 side. The cut heals after
 * 0..500 ms or never. Besides the checks above: the 2 side never installs a
 * view and never runs in an epoch >= 2, it ends stopped (excluded or a
 * minority), and every member of the 3 side installs a view of exactly the
 * 3 side and ends in it (liveness). These hold once each side had time to
 * suspect the other (DETECT_NS); a cut that heals sooner may legitimately
 * end in a view that keeps a member of the 2 side, so it gets the checks
 * above only (the summary counts these seeds).
 * A failing seed prints itself and the command that replays it.
 *
 * usage: gale-sim [--seeds N] [--start S] [--replay SEED] [--partition-3-2] [--verbose]
 */
#include "membership/mbr.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXN 7
#define MAXJ 2 /* joiners per schedule */
#define MS 1000000ull
#define SIM_NS (1500 * MS)
#define TICK_NS (2 * MS)
/* A cut longer than this is seen on both sides before it heals: mbr's default heartbeat
 * timeout, plus a tick for the cut to take effect and one to see the timeout. */
#define DETECT_NS (100 * MS + 2 * TICK_NS)

struct ev {
	uint64_t at;
	uint64_t order; /* ties: first scheduled first (determinism) */
	int kind;	/* 0 message, 1 row ready */
	int to;
	struct mbr_msg *msg;
};

struct node {
	struct mbr sm;
	int idx;
	bool crashed;
	int side; /* partition side */
	uint64_t last_epoch;
	struct mbr_view view; /* last installed */
	bool stopped;
	bool started; /* joiners start later */
	bool joiner;
	bool left;	       /* called mbr_leave() */
	uint64_t paused_until; /* SIGSTOP-like: no ticks, its datagrams wait in its socket */
	bool has_view;	       /* installed at least one view */
	bool three_view;       /* --partition-3-2: installed a view of exactly the 3 side */
	bool flagged;	       /* --partition-3-2: reported running in a view of the 2 side */
};

static struct sim {
	uint64_t seed, rng, now, order;
	int n, total; /* members of the first view; with the joiners */
	struct node nodes[MAXN + MAXJ];
	struct ev *heap;
	size_t len, cap;
	struct mbr_msg **pool;
	size_t pool_len, pool_cap;
	double loss;
	uint64_t dmin, dmax;
	bool partitioned;
	bool leader_crash_armed;
	bool installer_crash_armed; /* crash the first member to install a view */
	double decide_loss;	    /* extra loss of DECIDE messages */
	bool verbose;
	bool p32;	   /* --partition-3-2: every seed is the 3/2 partition */
	uint64_t two_side; /* with p32: the members of the 2 side (a mask of ids) */
	bool decisive;	   /* with p32: the cut lasts long enough for both sides to see it */
	/* agreement: per epoch, the first view and trim installed */
	bool decided[256];
	struct mbr_proposal decision[256];
	int violations;
	uint64_t installs, minority_stops, exclusions;
	uint64_t short_cuts; /* with p32: seeds whose cut healed before DETECT_NS */
} S;

static uint64_t
rnd(void)
{
	uint64_t z = (S.rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
rnd_between(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
violation(const char *fmt, ...)
{
	S.violations++;
	printf("VIOLATION seed %" PRIu64 " at %.3f ms: ", S.seed, (double)S.now / 1e6);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  replay: gale-sim --replay %" PRIu64 "%s --verbose\n", S.seed,
	       S.p32 ? " --partition-3-2" : "");
}

static bool
ev_less(const struct ev *a, const struct ev *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void
push(struct ev e)
{
	if (S.len == S.cap) {
		S.cap = S.cap ? S.cap * 2 : 1024;
		S.heap = realloc(S.heap, S.cap * sizeof(*S.heap));
	}
	e.order = S.order++;
	size_t i = S.len++;
	while (i && ev_less(&e, &S.heap[(i - 1) / 2])) {
		S.heap[i] = S.heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	S.heap[i] = e;
}

static struct ev
pop(void)
{
	struct ev top = S.heap[0], last = S.heap[--S.len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= S.len)
			break;
		if (c + 1 < S.len && ev_less(&S.heap[c + 1], &S.heap[c]))
			c++;
		if (!ev_less(&S.heap[c], &last))
			break;
		S.heap[i] = S.heap[c];
		i = c;
	}
	if (S.len)
		S.heap[i] = last;
	return top;
}

static struct mbr_msg *
msg_get(void)
{
	if (S.pool_len)
		return S.pool[--S.pool_len];
	return malloc(sizeof(struct mbr_msg));
}

static void
msg_put(struct mbr_msg *m)
{
	if (S.pool_len == S.pool_cap) {
		S.pool_cap = S.pool_cap ? S.pool_cap * 2 : 256;
		S.pool = realloc(S.pool, S.pool_cap * sizeof(*S.pool));
	}
	S.pool[S.pool_len++] = m;
}

static void
net_send(void *arg, uint32_t to, const struct mbr_msg *m)
{
	struct node *from = arg;
	if (to >= (uint32_t)S.total || from->crashed)
		return;
	if (S.loss > 0 && (double)(rnd() % 10000) / 10000.0 < S.loss)
		return;
	if (m->type == MBR_DECIDE && S.decide_loss > 0 &&
	    (double)(rnd() % 10000) / 10000.0 < S.decide_loss)
		return;
	struct mbr_msg *copy = msg_get();
	*copy = *m;
	push((struct ev){
		.at = S.now + rnd_between(S.dmin, S.dmax), .kind = 0, .to = (int)to, .msg = copy });
	(void)from;
}

static void
crash(int i)
{
	if (!S.nodes[i].crashed && S.verbose)
		printf("%9.3f ms: node %d crashes\n", (double)S.now / 1e6, i);
	S.nodes[i].crashed = true;
}

static int
leader_of(const struct mbr *m)
{
	for (uint32_t r = 0; r < m->view.n; r++)
		if (!(m->suspects & (1ull << r)))
			return (int)m->view.ids[r];
	return -1;
}

static void
check_install(struct node *nd, const struct mbr_proposal *p)
{
	uint64_t e = p->view.epoch;
	if (!nd->has_view) {
		nd->has_view = true;
		nd->last_epoch = e; /* a joiner enters at this view */
		nd->view = p->view;
		if (e < 256 && !S.decided[e]) {
			S.decided[e] = true;
			S.decision[e] = *p;
		} else if (e < 256 && memcmp(&S.decision[e].view, &p->view, sizeof(p->view)) != 0) {
			violation("joiner %d installs another view for epoch %" PRIu64, nd->idx, e);
		}
		return;
	}
	if (e != nd->last_epoch + 1)
		violation("node %d installs epoch %" PRIu64 " after %" PRIu64, nd->idx, e,
			  nd->last_epoch);
	if (e < 256) {
		if (!S.decided[e]) {
			S.decided[e] = true;
			S.decision[e] = *p;
		} else if (memcmp(&S.decision[e].view, &p->view, sizeof(p->view)) != 0) {
			violation("two different views for epoch %" PRIu64 " (node %d)", e,
				  nd->idx);
		} else if (memcmp(&S.decision[e].trim, &p->trim, sizeof(p->trim)) != 0) {
			violation("two different trims for epoch %" PRIu64 " (node %d)", e,
				  nd->idx);
		}
	}
	/* Majority of the replaced view (with the members of it that asked to
	 * leave: their consent counts, they take part in the decision as
	 * acceptors, then stop), and no stranger. */
	uint32_t kept = 0, leavers = 0;
	for (uint32_t j = 0; j < nd->view.n; j++) {
		uint32_t id = nd->view.ids[j];
		bool in_new = false;
		for (uint32_t i = 0; i < p->view.n; i++)
			in_new |= p->view.ids[i] == id;
		leavers += !in_new && id < (uint32_t)S.total && S.nodes[id].left;
	}
	for (uint32_t i = 0; i < p->view.n; i++) {
		bool in_old = false;
		for (uint32_t j = 0; j < nd->view.n; j++)
			in_old |= nd->view.ids[j] == p->view.ids[i];
		uint32_t id = p->view.ids[i];
		if (!in_old &&
		    !(id < (uint32_t)S.total && S.nodes[id].joiner && S.nodes[id].started))
			violation("epoch %" PRIu64 " adds member %u, which no join asked for", e,
				  p->view.ids[i]);
		kept += in_old;
	}
	if (2 * (kept + leavers) <= nd->view.n)
		violation("epoch %" PRIu64 " keeps %u of %u members: not a majority", e, kept,
			  nd->view.n);
	nd->view = p->view;
	nd->last_epoch = e;
}

static uint64_t
id_mask(const struct mbr_view *v)
{
	uint64_t mask = 0;
	for (uint32_t i = 0; i < v->n; i++)
		mask |= 1ull << (v->ids[i] % 64);
	return mask;
}

static bool
is_three_side(const struct mbr_view *v)
{
	return v->n == 3 && id_mask(v) == (0x1full & ~S.two_side);
}

/* --partition-3-2, on every install. */
static void
check_install_3_2(struct node *nd, const struct mbr_proposal *p)
{
	if (S.two_side & (1ull << nd->idx)) {
		if (S.decisive)
			violation("node %d of the 2 side installs epoch %" PRIu64
				  " (%u members): the 2 side installed a view of its own",
				  nd->idx, p->view.epoch, p->view.n);
	} else if (p->view.epoch >= 2 && is_three_side(&p->view)) {
		nd->three_view = true;
	}
}

/* --partition-3-2, at the end of a seed whose cut both sides saw. */
static void
check_end_3_2(void)
{
	for (int i = 0; i < S.n; i++) {
		struct node *nd = &S.nodes[i];
		if (S.two_side & (1ull << i)) {
			if (!nd->stopped || nd->sm.state != MBR_STOPPED)
				violation("node %d of the 2 side ends %s in epoch %" PRIu64
					  ": neither excluded nor stopped as a minority",
					  i, nd->sm.state == MBR_RUNNING ? "running" : "wedged",
					  nd->sm.view.epoch);
		} else if (!nd->three_view) {
			violation("node %d of the 3 side never installs a view of exactly the 3 "
				  "side (liveness; it ends in epoch %" PRIu64 ", %u members)",
				  i, nd->last_epoch, nd->view.n);
		} else if (nd->stopped || !is_three_side(&nd->view)) {
			violation("node %d of the 3 side ends %s in epoch %" PRIu64
				  " (%u members), not in the view of the 3 side (liveness)",
				  i, nd->stopped ? "stopped" : "running", nd->last_epoch,
				  nd->view.n);
		}
	}
}

static void
on_action(void *arg, enum mbr_action a, const struct mbr_proposal *p)
{
	struct node *nd = arg;
	switch (a) {
	case MBR_ACT_WEDGE: {
		if (S.verbose)
			printf("%9.3f ms: node %d wedges in epoch %" PRIu64 " (suspects %#" PRIx64
			       ")\n",
			       (double)S.now / 1e6, nd->idx, nd->sm.view.epoch, nd->sm.suspects);
		/* The dataplane reports its final row a little later. */
		push((struct ev){
			.at = S.now + rnd_between(100000, 3 * MS), .kind = 1, .to = nd->idx });
		if (S.leader_crash_armed) {
			int l = leader_of(&nd->sm);
			if (l >= 0) {
				/* Crash the leader somewhere in the middle of the change:
				 * before, during or after its prepare or accept round. */
				S.leader_crash_armed = false;
				push((struct ev){ .at = S.now + rnd_between(0, 15 * MS),
						  .kind = 2,
						  .to = l });
			}
		}
		break;
	}
	case MBR_ACT_INSTALL:
		S.installs++;
		if (S.installer_crash_armed) {
			/* It alone may know the decision: the others must recover it
			 * from what they accepted (Paxos), not decide anew. */
			S.installer_crash_armed = false;
			push((struct ev){ .at = S.now, .kind = 2, .to = nd->idx });
		}
		if (S.verbose)
			printf("%9.3f ms: node %d installs epoch %" PRIu64 " (%u members)\n",
			       (double)S.now / 1e6, nd->idx, p->view.epoch, p->view.n);
		if (S.p32)
			check_install_3_2(nd, p);
		check_install(nd, p);
		break;
	case MBR_ACT_EXCLUDED:
		S.exclusions++;
		nd->stopped = true;
		if (S.verbose)
			printf("%9.3f ms: node %d excluded from epoch %" PRIu64 "\n",
			       (double)S.now / 1e6, nd->idx, p->view.epoch);
		break;
	case MBR_ACT_ENDED:
		S.exclusions++;
		nd->stopped = true;
		if (S.verbose)
			printf("%9.3f ms: node %d ends: it left, no other member remains\n",
			       (double)S.now / 1e6, nd->idx);
		break;
	case MBR_ACT_MINORITY:
		S.minority_stops++;
		nd->stopped = true;
		if (S.verbose)
			printf("%9.3f ms: node %d stops: minority (epoch %" PRIu64
			       ", suspects %#" PRIx64 ")\n",
			       (double)S.now / 1e6, nd->idx, nd->sm.view.epoch, nd->sm.suspects);
		break;
	}
}

static bool
linked(int a, int b)
{
	return !S.partitioned || S.nodes[a].side == S.nodes[b].side;
}

static void
run_seed(uint64_t seed)
{
	for (size_t i = 0; i < S.len; i++)
		msg_put(S.heap[i].msg);
	S.len = 0;
	bool verbose = S.verbose, p32 = S.p32;
	struct mbr_msg **pool = S.pool;
	size_t pool_len = S.pool_len, pool_cap = S.pool_cap;
	struct ev *heap = S.heap;
	size_t cap = S.cap;
	int violations = S.violations;
	uint64_t inst = S.installs, mino = S.minority_stops, excl = S.exclusions,
		 short_cuts = S.short_cuts;
	memset(&S, 0, sizeof(S));
	S.verbose = verbose, S.p32 = p32;
	S.pool = pool, S.pool_len = pool_len, S.pool_cap = pool_cap;
	S.heap = heap, S.cap = cap;
	S.violations = violations;
	S.installs = inst, S.minority_stops = mino, S.exclusions = excl;
	S.short_cuts = short_cuts;
	S.seed = S.rng = seed;

	int crashes = 0, joiners = 0, pauses = 0;
	bool partition = true;
	uint64_t crash_at[MAXN], start_at[MAXN + MAXJ], leave_at[MAXN + MAXJ];
	uint64_t part_at, heal_at, pause_at = 0, pause_for = 0;
	if (S.p32) {
		/*
		 * The 3/2 partition: 5 members, nothing but the cut and the network.
		 * The initial view ranks them 0..4, so member 0 leads: the cut puts
		 * {0,1,2} on one side and {3,4} on the other, or, on half the seeds,
		 * {2,3,4} against {0,1}, the leader then in the minority. It heals
		 * after 0..500 ms or, on half the seeds, never.
		 */
		S.n = S.total = 5;
		S.loss = (double)(rnd() % 4 == 0 ? rnd_between(0, 5) : 0) / 100.0;
		S.dmin = rnd_between(100000, MS);
		S.dmax = S.dmin + rnd_between(0, 4 * MS);
		part_at = rnd_between(50 * MS, 600 * MS);
		heal_at = rnd() % 2 ? part_at + rnd_between(0, 500 * MS) : UINT64_MAX;
		S.two_side = rnd() % 2 ? 0x03 : 0x18; /* {0,1} or {3,4} */
		S.decisive = heal_at - part_at > DETECT_NS;
		S.short_cuts += !S.decisive;
		for (int i = 0; i < S.n; i++) {
			crash_at[i] = leave_at[i] = UINT64_MAX;
			start_at[i] = 0;
		}
	} else {
		S.n = (int)rnd_between(3, MAXN);
		S.loss = (double)(rnd() % 4 == 0 ? rnd_between(0, 20) : 0) / 100.0;
		S.dmin = rnd_between(100000, MS);
		S.dmax = S.dmin + rnd_between(0, 4 * MS);
		crashes = (int)(rnd() % 4 == 0 ? rnd_between(0, (uint64_t)S.n) : rnd_between(0, 2));
		partition = rnd() % 4 == 0;
		S.leader_crash_armed = rnd() % 4 == 0;
		if (rnd() % 4 == 0) {
			S.installer_crash_armed = true;
			S.decide_loss = 0.8;
		}
		for (int i = 0; i < S.n; i++)
			crash_at[i] = UINT64_MAX;
		for (int k = 0; k < crashes; k++)
			crash_at[rnd() % (uint64_t)S.n] = rnd_between(50 * MS, 700 * MS);
		part_at = rnd_between(50 * MS, 600 * MS);
		heal_at = part_at + rnd_between(0, 500 * MS);
		/* Joins (batched when close together) and a voluntary leave. */
		joiners = rnd() % 3 == 0 ? (int)rnd_between(1, MAXJ) : 0;
		S.total = S.n + joiners;
		for (int i = 0; i < S.total; i++) {
			start_at[i] = i < S.n ? 0 : rnd_between(20 * MS, 800 * MS);
			leave_at[i] = UINT64_MAX;
		}
		if (rnd() % 5 == 0)
			leave_at[rnd() % (uint64_t)S.n] = rnd_between(50 * MS, 800 * MS);
		/* Pauses (SIGSTOP, then SIGCONT): sometimes of a majority at once. */
		pauses = rnd() % 4 == 0 ? (int)rnd_between(1, (uint64_t)S.n) : 0;
		pause_at = rnd_between(50 * MS, 700 * MS);
		pause_for = rnd_between(50 * MS, 600 * MS);
	}

	struct mbr_view v = { .epoch = 1, .n = (uint32_t)S.n };
	for (int i = 0; i < S.n; i++)
		v.ids[i] = (uint32_t)i;
	bool safe = rnd() % 2;
	for (int i = 0; i < S.total; i++) {
		struct node *nd = &S.nodes[i];
		nd->idx = i;
		nd->side = S.p32 ? (int)(S.two_side >> i & 1) : (int)(rnd() % 2);
		if (i >= S.n) {
			nd->joiner = true; /* started by the loop below */
			continue;
		}
		nd->started = true;
		nd->has_view = true;
		nd->last_epoch = 1;
		nd->view = v;
		struct mbr_conf c = { .my_id = (uint32_t)i, .safe = safe };
		struct mbr_ops ops = { .send = net_send, .action = on_action, .arg = nd };
		if (mbr_init(&nd->sm, &c, &ops, &v, 0) != 0)
			violation("mbr_init failed for node %d", i);
	}
	if (S.verbose && S.p32) {
		printf("seed %" PRIu64 ": partition 3/2, %s, loss %.0f %%, delay %.1f-%.1f ms: "
		       "{%s} cut off from the others at %.3f ms, ",
		       seed, safe ? "safe" : "fifo/total", S.loss * 100, (double)S.dmin / 1e6,
		       (double)S.dmax / 1e6, S.two_side == 0x03 ? "0,1 (the leader)" : "3,4",
		       (double)part_at / 1e6);
		if (heal_at == UINT64_MAX)
			printf("never healing\n");
		else
			printf("healing at %.3f ms%s\n", (double)heal_at / 1e6,
			       S.decisive ? "" : " (too soon: no 3/2 checks)");
	} else if (S.verbose)
		printf("seed %" PRIu64
		       ": %d nodes + %d joiner(s), %s, loss %.0f %%, delay %.1f-%.1f ms, %d crash(es), "
		       "partition %s, leader crash %s, installer crash %s\n",
		       seed, S.n, joiners, safe ? "safe" : "fifo/total", S.loss * 100,
		       (double)S.dmin / 1e6, (double)S.dmax / 1e6, crashes,
		       partition ? "yes" : "no", S.leader_crash_armed ? "armed" : "no",
		       S.installer_crash_armed ? "armed" : "no");

	for (S.now = 0; S.now <= SIM_NS; S.now += TICK_NS) {
		S.partitioned = partition && S.now >= part_at && S.now < heal_at;
		for (int i = 0; i < S.n; i++)
			if (S.now >= crash_at[i])
				crash(i);
		if (pauses && S.now == pause_at - pause_at % TICK_NS) {
			for (int k = 0; k < pauses; k++)
				S.nodes[(k * 3 + (int)(seed % 7)) % S.n].paused_until =
					S.now + pause_for;
			if (S.verbose)
				printf("%9.3f ms: %d node(s) paused for %.0f ms\n",
				       (double)S.now / 1e6, pauses, (double)pause_for / 1e6);
		}
		for (int i = S.n; i < S.total; i++) {
			struct node *nd = &S.nodes[i];
			if (nd->started || S.now < start_at[i])
				continue;
			uint32_t contacts[MAXN];
			for (int k = 0; k < S.n; k++)
				contacts[k] = (uint32_t)k;
			struct mbr_conf c = { .my_id = (uint32_t)i, .safe = safe };
			struct mbr_ops ops = { .send = net_send, .action = on_action, .arg = nd };
			if (mbr_init_joiner(&nd->sm, &c, &ops, contacts, (uint32_t)S.n, S.now) != 0)
				violation("mbr_init_joiner failed for node %d", i);
			nd->started = true;
			if (S.verbose)
				printf("%9.3f ms: node %d asks to join\n", (double)S.now / 1e6, i);
		}
		for (int i = 0; i < S.n; i++) {
			if (S.now >= leave_at[i] && !S.nodes[i].left && !S.nodes[i].crashed) {
				S.nodes[i].left = true;
				mbr_leave(&S.nodes[i].sm, S.now);
				if (S.verbose)
					printf("%9.3f ms: node %d leaves\n", (double)S.now / 1e6,
					       i);
			}
		}
		while (S.len && S.heap[0].at <= S.now) {
			struct ev e = pop();
			struct node *nd = &S.nodes[e.to];
			if (e.kind != 2 && S.now < nd->paused_until) {
				e.at = nd->paused_until; /* handled when it runs again */
				push(e);
				continue;
			}
			if (e.kind == 0) {
				int from = (int)e.msg->from;
				if (!nd->crashed && nd->started && from < S.total &&
				    linked(from, e.to))
					mbr_on_msg(&nd->sm, e.msg, S.now);
				msg_put(e.msg);
			} else if (e.kind == 2) {
				crash(e.to);
			} else if (!nd->crashed) {
				struct mbr_row row;
				for (int s = 0; s < MBR_MAX; s++) {
					/* A plausible row: delivered <= received. */
					row.recv[s] = 1000 + (seed + (uint64_t)s) % 7 +
						      (uint64_t)e.to % 3;
					row.delivered[s] = row.recv[s] - (uint64_t)(e.to + s) % 2;
				}
				mbr_row_ready(&nd->sm, &row, S.now);
			}
		}
		for (int i = 0; i < S.total; i++)
			if (!S.nodes[i].crashed && S.nodes[i].started &&
			    S.now >= S.nodes[i].paused_until)
				mbr_tick(&S.nodes[i].sm, S.now);
		for (int i = 0; S.p32 && S.decisive && i < S.n; i++) {
			struct node *nd = &S.nodes[i];
			if ((S.two_side & (1ull << i)) && !nd->flagged &&
			    nd->sm.state == MBR_RUNNING && nd->sm.view.epoch >= 2) {
				nd->flagged = true;
				violation("node %d of the 2 side runs in epoch %" PRIu64, i,
					  nd->sm.view.epoch);
			}
		}
	}

	/* Liveness where it must hold: minority crashes, no partition, little loss. */
	int live = 0, live_old = 0;
	for (int i = 0; i < S.total; i++)
		if (!S.nodes[i].crashed && !S.nodes[i].left) {
			live++;
			live_old += i < S.n;
		}
	if (S.p32 && S.decisive)
		check_end_3_2();
	bool simple =
		!partition && !pauses && S.loss <= 0.05 && !S.decide_loss && 2 * live_old > S.n;
	for (int i = 0; simple && i < S.total; i++) {
		struct node *nd = &S.nodes[i];
		if (nd->crashed || nd->left)
			continue;
		if (nd->stopped || (int)nd->view.n != live)
			violation("node %d ends with a view of %u members, %d are live (liveness)",
				  i, nd->view.n, live);
	}
}

int
main(int argc, char **argv)
{
	uint64_t seeds = 1000, start = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
			seeds = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc) {
			start = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--replay") == 0 && i + 1 < argc) {
			start = strtoull(argv[++i], NULL, 10);
			seeds = 1;
		} else if (strcmp(argv[i], "--partition-3-2") == 0) {
			S.p32 = true;
		} else if (strcmp(argv[i], "--verbose") == 0) {
			S.verbose = true;
		} else {
			fprintf(stderr,
				"usage: gale-sim [--seeds N] [--start S] [--replay SEED] "
				"[--partition-3-2] [--verbose]\n(unknown or incomplete: '%s')\n",
				argv[i]);
			return 2;
		}
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t s = start; s < start + seeds; s++)
		run_seed(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("gale-sim: seeds %" PRIu64 "..%" PRIu64 "%s: %d violation(s); %" PRIu64
	       " installs, %" PRIu64 " minority stops, %" PRIu64 " exclusions",
	       start, start + seeds - 1, S.p32 ? " (partition 3/2)" : "", S.violations, S.installs,
	       S.minority_stops, S.exclusions);
	if (S.p32)
		printf("; %" PRIu64 " cut(s) healed too soon for the 3/2 checks", S.short_cuts);
	printf("; %.1f s\n", secs);
	return S.violations ? 1 : 0;
}
