/* SPDX-License-Identifier: MIT */
/*
 * A peer's ring is input: a corrupt or hostile member must not crash the
 * others or get anything delivered. Each case lets member 1 publish one bad
 * record (or a bad tail) by writing its own region directly, the way a buggy
 * process could; member 0 must count it in invalid_records, deliver nothing
 * of it, and stop with a failure naming member 1.
 */
#include "tap.h"

#include "dataplane/group.h"

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
				     .n_members = 2,
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
forge(struct gale_group *g, uint64_t pos, uint32_t len_flags, uint32_t epoch, uint64_t round,
      uint64_t tail)
{
	struct dp_rec *h = (struct dp_rec *)(g->ring + (pos & g->ring_mask));
	h->len_flags = len_flags;
	h->epoch = epoch;
	h->round = round;
	atomic_store_explicit(&g->row->next_round, round + 1, memory_order_release);
	atomic_store_explicit(&g->row->tail, tail, memory_order_release);
}

/* Pump good records from b until its next record starts at `target`; a delivers them all. */
static int
advance(struct member *a, struct member *b, uint64_t target)
{
	struct gale_msg m[64];
	int sent = 0, got = 0;
	while (b->g->commit_pos < target || got < sent) {
		if (b->g->commit_pos < target && gale_send(b->g, "good one", 8) == 0)
			sent++;
		int n = gale_poll(b->g, m, 64);
		if (n > 0)
			gale_release(b->g, n);
		n = gale_poll(a->g, m, 64);
		for (int k = 0; k < n; k++)
			CHECK(m[k].len == 8 && memcmp(m[k].data, "good one", 8) == 0);
		if (n > 0) {
			got += n;
			gale_release(a->g, n);
		}
	}
	CHECK(b->g->commit_pos == target);
	return got;
}

static void
run_case(enum fault f)
{
	struct member a = { .id = 0, .mode = GALE_MODE_TOTAL }, b = { .id = 1, .mode = a.mode };
	pthread_t t;
	pthread_create(&t, NULL, join, &b);
	join(&a);
	pthread_join(t, NULL);
	CHECK(a.rc == 0 && b.rc == 0);
	if (a.rc || b.rc)
		return;
	struct gale_group *g = b.g;
	uint64_t rec = dp_rec_bytes(8);
	uint64_t pos = f == F_PAST_RING_END ? g->ring_bytes - rec : 20 * rec;
	int good = advance(&a, &b, pos);
	uint64_t big_round = 1u << 30;
	switch (f) {
	case F_LEN_ZERO:
		forge(g, pos, 0, 1, big_round, pos + rec);
		break;
	case F_LEN_TOO_BIG:
		forge(g, pos, g->max_msg + 1, 1, big_round, pos + rec);
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
		atomic_store_explicit(&g->row->next_round, big_round, memory_order_release);
		break;
	case F_TAIL_BACKWARDS:
		forge(g, pos, 8, 1, big_round, rec);
		break;
	case F_TAIL_PAST_CAPACITY:
		forge(g, pos, 8, 1, big_round, pos + g->ring_bytes * 4);
		break;
	case F_PAD_PAST_TAIL:
		forge(g, pos, DP_REC_PAD, 1, big_round, pos + rec);
		break;
	case F_COUNT:
		break;
	}
	struct gale_msg m[8];
	int got = 0, rc = 0;
	for (int i = 0; i < 2000 && (rc = gale_poll(a.g, m, 8)) >= 0; i++) {
		got += rc;
		gale_release(a.g, rc);
		usleep(100);
	}
	struct gale_counters c;
	gale_group_counters(a.g, &c);
	struct gale_group_status st;
	gale_group_status(a.g, &st);
	CHECK(rc == -GALE_ESTOPPED);
	CHECK(c.invalid_records == 1);
	CHECK(st.status == GALE_STATUS_STOPPED_FAILURE && st.failed_id == 1);
	CHECK(got == 0); /* nothing of the bad record */
	diag("%s: stopped after %d good records, invalid_records %llu", fault_name[f], good,
	     (unsigned long long)c.invalid_records);
	gale_node_destroy(a.node);
	gale_node_destroy(b.node);
}

int
main(void)
{
	snprintf(gname, sizeof(gname), "unit-corrupt-%d", (int)getpid());
	for (int f = 0; f < F_COUNT; f++)
		run_case((enum fault)f);
	return tap_done();
}
