/* SPDX-License-Identifier: MIT */
/*
 * A peer's ring is input: a corrupt or hostile member must not crash the
 * others or get anything delivered. Each case lets member 1 of 3 publish one
 * bad record (or a bad tail) by writing its own region directly, the way a
 * buggy process could; members 0 and 2 must count it in invalid_records (the
 * one that reads it first; the other may wedge before it reads that far),
 * deliver nothing of it, and go on in a view without member 1.
 */
#include "tap.h"

#include "api.h"   /* api/api.h: a public group is its dataplane group, ->dp */
#include "group.h" /* dataplane/group.h: the dataplane's private state */

#include <gale/gale.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static char gname[64];

struct member {
	struct gale_node *node;
	struct gale_group *g;
	uint32_t id;
	enum gale_mode mode;
	int rc;
};

static void *
join(void *p)
{
	struct member *m = p;
	struct gale_node_conf nc = { .log_fn = tap_quiet_log };
	struct gale_group_conf c = { .name = gname,
				     .mode = m->mode,
				     .my_id = m->id,
				     .n_members = 3,
				     .ring_bytes = 1 << 16 };
	m->rc = gale_node_create(&nc, &m->node);
	if (m->rc == 0)
		m->rc = gale_group_join(m->node, &c, &m->g);
	return NULL;
}

enum fault {
	F_LEN_ZERO,
	F_LEN_TOO_BIG,
	F_PAST_RING_END,
	F_PAST_TAIL,
	F_WRONG_EPOCH,
	F_ROUND_BACKWARDS,
	F_TAIL_BACKWARDS,
	F_TAIL_PAST_CAPACITY,
	F_PAD_PAST_TAIL,
	F_COUNT
};

static const char *const fault_name[] = { "length 0",
					  "length above max_msg",
					  "record past the ring's end",
					  "record past the tail",
					  "wrong epoch",
					  "round going backwards",
					  "tail going backwards",
					  "tail past the capacity",
					  "pad past the tail" };

/* Member 1 writes a record header at ring position pos and publishes tail. */
static void
forge(struct dp_group *g, uint64_t pos, uint32_t len_flags, uint32_t epoch, uint64_t round,
      uint64_t tail)
{
	struct dp_rec *h = (struct dp_rec *)(g->fx.ring + (pos & g->fx.ring_mask));
	h->len_flags = len_flags;
	h->epoch = epoch;
	h->round = round;
	atomic_store_explicit(&g->fx.row->next_round, round + 1, memory_order_release);
	atomic_store_explicit(&g->fx.row->tail, tail, memory_order_release);
}

/* Deliver what is ready at member x; returns the count (or a negative stop code). */
static int
pump(struct member *x)
{
	struct gale_msg m[64];
	int n = gale_poll(x->g, m, 64);
	for (int k = 0; k < n; k++)
		CHECK(m[k].len == 8 && memcmp(m[k].data, "good one", 8) == 0);
	if (n > 0)
		gale_release(x->g, n);
	return n;
}

/* Pump good records from b until its next record starts at `target`; a and c deliver them. */
static int
advance(struct member *a, struct member *b, struct member *c, uint64_t target)
{
	int sent = 0, got = 0, got_c = 0;
	while (b->g->dp->app.commit_pos < target || got < sent || got_c < sent) {
		if (b->g->dp->app.commit_pos < target && gale_send(b->g, "good one", 8) == 0)
			sent++;
		struct gale_msg m[64];
		int n = gale_poll(b->g, m, 64);
		if (n > 0)
			gale_release(b->g, n);
		n = pump(a);
		got += n > 0 ? n : 0;
		n = pump(c);
		got_c += n > 0 ? n : 0;
	}
	CHECK(b->g->dp->app.commit_pos == target);
	return got;
}

static void
run_case(enum fault f)
{
	struct member a = { .id = 0, .mode = GALE_MODE_TOTAL }, b = { .id = 1, .mode = a.mode },
		      c = { .id = 2, .mode = a.mode };
	pthread_t t[2];
	pthread_create(&t[0], NULL, join, &b);
	pthread_create(&t[1], NULL, join, &c);
	join(&a);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	CHECK(a.rc == 0 && b.rc == 0 && c.rc == 0);
	if (a.rc || b.rc || c.rc)
		return;
	struct dp_group *g = b.g->dp;
	uint64_t rec = dp_rec_bytes(8);
	uint64_t pos = f == F_PAST_RING_END ? g->fx.ring_bytes - rec : 20 * rec;
	int good = advance(&a, &b, &c, pos);
	uint64_t big_round = 1u << 30;
	switch (f) {
	case F_LEN_ZERO:
		forge(g, pos, 0, 1, big_round, pos + rec);
		break;
	case F_LEN_TOO_BIG:
		forge(g, pos, g->fx.max_msg + 1, 1, big_round, pos + rec);
		break;
	case F_PAST_RING_END: /* 128 bytes where 64 remain */
		forge(g, pos, 100, 1, big_round, pos + 2 * rec);
		break;
	case F_PAST_TAIL:
		forge(g, pos, 1000, 1, big_round, pos + rec);
		break;
	case F_WRONG_EPOCH:
		forge(g, pos, 8, 7, big_round, pos + rec);
		break;
	case F_ROUND_BACKWARDS:
		forge(g, pos, 8, 1, 0, pos + rec);
		atomic_store_explicit(&g->fx.row->next_round, big_round, memory_order_release);
		break;
	case F_TAIL_BACKWARDS:
		forge(g, pos, 8, 1, big_round, rec);
		break;
	case F_TAIL_PAST_CAPACITY:
		forge(g, pos, 8, 1, big_round, pos + g->fx.ring_bytes * 4);
		break;
	case F_PAD_PAST_TAIL:
		forge(g, pos, DP_REC_PAD, 1, big_round, pos + rec);
		break;
	case F_COUNT:
		break;
	}
	/* Members 0 and 2 run (member 1 is not polled again); within 5 s both must
	 * be in view 2 without member 1, having delivered nothing more. */
	int got = 0;
	struct gale_view va, vc;
	for (int i = 0; i < 50000; i++) {
		int n = pump(&a);
		got += n > 0 ? n : 0;
		n = pump(&c);
		got += n > 0 ? n : 0;
		gale_group_view(a.g, &va);
		gale_group_view(c.g, &vc);
		if (va.epoch == 2 && vc.epoch == 2)
			break;
		usleep(100);
	}
	struct gale_counters ca, cc;
	gale_group_counters(a.g, &ca);
	gale_group_counters(c.g, &cc);
	struct gale_group_status st;
	gale_group_status(a.g, &st);
	CHECK(va.epoch == 2 && va.n_members == 2 && va.members[0].id == 0 && va.members[1].id == 2);
	CHECK(vc.epoch == 2 && vc.n_members == 2);
	CHECK(st.status == GALE_STATUS_RUNNING);
	/* Whoever read it counted it once; the other may have wedged first (the
	 * view change the first reader started stops reading) and never seen it. */
	CHECK(ca.invalid_records <= 1 && cc.invalid_records <= 1 &&
	      ca.invalid_records + cc.invalid_records >= 1);
	CHECK(got == 0); /* nothing of the bad record */
	/* The group goes on: a message from member 0 reaches member 2 in view 2. */
	CHECK(gale_send(a.g, "good one", 8) == 0);
	gale_flush(a.g);
	int c_got = 0;
	for (int i = 0; i < 20000 && c_got == 0; i++) {
		pump(&a);
		int n = pump(&c);
		c_got += n > 0 ? n : 0;
		usleep(50);
	}
	CHECK(c_got == 1);
	diag("%s: excluded after %d good records, invalid_records %llu and %llu", fault_name[f],
	     good, (unsigned long long)ca.invalid_records, (unsigned long long)cc.invalid_records);
	gale_node_destroy(b.node);
	gale_node_destroy(a.node);
	gale_node_destroy(c.node);
}

int
main(void)
{
	snprintf(gname, sizeof(gname), "unit-corrupt-%d", (int)getpid());
	for (int f = 0; f < F_COUNT; f++)
		run_case((enum fault)f);
	return tap_done();
}
