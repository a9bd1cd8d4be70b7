/* SPDX-License-Identifier: MIT */
/*
 * The public API in one process: configuration checks, the send and receive
 * contracts (claim/commit/abort, back-pressure, -EMSGSIZE, release), upcalls,
 * and a two-member group driven by two threads (one per member, each with its
 * own node) in every mode and both threading models.
 */
#include "tap.h"

#include <gale/gale.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char gname[64];

static struct gale_node *
node_new(enum gale_threading th)
{
	struct gale_node_conf nc = { .threading = th, .log_fn = tap_quiet_log };
	struct gale_node *n = NULL;
	CHECK(gale_node_create(&nc, &n) == 0);
	return n;
}

static void
test_bad_config(void)
{
	struct gale_node *n = node_new(GALE_THREADING_APP);
	struct gale_group *g = NULL;
	struct gale_group_conf c = { .name = gname, .n_members = 1 };
	uint32_t dup[2] = { 3, 3 };

	c.name = NULL;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.name = "bad name!";
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.name = gname;
	c.n_members = 0;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.n_members = GALE_MAX_MEMBERS + 1;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.n_members = 1;
	c.my_id = 5;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.my_id = 3;
	c.n_members = 2;
	c.member_ids = dup;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.member_ids = NULL;
	c.my_id = 0;
	c.n_members = 1;
	c.ring_bytes = 100000; /* not a power of two */
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.ring_bytes = 0;
	c.mode = (enum gale_mode)7;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.mode = GALE_MODE_SAFE;
	c.driver = "carrier-pigeon";
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.driver = NULL;
	c.fail_timeout_ns = 1000;
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	c.fail_timeout_ns = 0;
	c.no_self_delivery = true; /* FIFO only */
	CHECK(gale_group_join(n, &c, &g) == -EINVAL);
	CHECK(g == NULL);
	gale_node_destroy(n);

	struct gale_node_conf nc = { .threading = (enum gale_threading)9, .log_fn = tap_quiet_log };
	CHECK(gale_node_create(&nc, &n) == -EINVAL);
	nc = (struct gale_node_conf){ .idle = (enum gale_idle)9, .log_fn = tap_quiet_log };
	CHECK(gale_node_create(&nc, &n) == -EINVAL);
	nc = (struct gale_node_conf){ .pin = true, .cpu = 100000, .log_fn = tap_quiet_log };
	CHECK(gale_node_create(&nc, &n) == -EINVAL);
}

static int views_seen;
static void
on_view(void *arg, const struct gale_view *v)
{
	(void)arg;
	CHECK(v->epoch == 1);
	views_seen++;
}

static void
deliver_one(void *arg, const struct gale_msg *msg)
{
	(*(int *)arg)++;
	CHECK(msg->len == 4000);
}

static void
test_single_member(void)
{
	struct gale_node *n = node_new(GALE_THREADING_APP);
	struct gale_group *g = NULL;
	struct gale_group_conf c = {
		.name = gname, .n_members = 1, .ring_bytes = 65536, .on_view = on_view
	};
	CHECK(gale_group_join(n, &c, &g) == 0);
	CHECK(views_seen == 1); /* the first view is reported by join itself */
	CHECK(gale_group_max_msg(g) == 16384);

	void *buf, *buf2;
	CHECK(gale_claim(g, 0, &buf) == -EMSGSIZE);
	CHECK(gale_claim(g, 16385, &buf) == -EMSGSIZE);
	CHECK(gale_send(g, "x", 16385) == -EMSGSIZE);
	CHECK(gale_commit(g, 4, NULL) == -EINVAL); /* nothing claimed */
	CHECK(gale_abort(g) == -EINVAL);
	CHECK(gale_claim(g, 8, &buf) == 0);
	CHECK(gale_claim(g, 8, &buf2) == -EBUSY);
	CHECK(gale_commit(g, 9, NULL) == -EINVAL); /* longer than claimed */
	CHECK(gale_abort(g) == 0);

	/* Messages of 1..1000 bytes, shrunk at commit, delivered in order and intact. */
	uint64_t seq;
	for (uint32_t i = 0; i < 20; i++) {
		CHECK(gale_claim(g, 1000, &buf) == 0);
		memset(buf, (int)i, 1000);
		CHECK(gale_commit(g, i + 1, &seq) == 0);
		CHECK(seq == i);
	}
	struct gale_msg m[32];
	int got = gale_poll(g, m, 32);
	CHECK(got == 20);
	CHECK(views_seen == 1);
	for (int i = 0; i < got; i++) {
		CHECK(m[i].len == (uint32_t)i + 1 && m[i].seq == (uint64_t)i && m[i].sender == 0);
		CHECK(((const unsigned char *)m[i].data)[i] == (unsigned char)i);
	}
	CHECK(gale_release(g, 21) == -EINVAL);
	CHECK(gale_release(g, 20) == 0);

	/* Back-pressure: unreleased deliveries hold the ring; -EAGAIN, never a block. */
	int sent = 0, rc = 0;
	char payload[4000] = { 0 };
	while ((rc = gale_send(g, payload, sizeof(payload))) == 0)
		sent++;
	CHECK(rc == -EAGAIN);
	CHECK(sent > 0 && sent < 20);
	struct gale_counters cnt;
	gale_group_counters(g, &cnt);
	CHECK(cnt.backpressure >= 1);
	int held = 0;
	while ((got = gale_poll(g, m, 32)) > 0)
		held += got;
	CHECK(held == sent);
	CHECK(gale_send(g, payload, sizeof(payload)) == -EAGAIN); /* still held */
	CHECK(gale_release(g, held) == 0);
	gale_poll(g, m, 0); /* the pass that frees the space */
	CHECK(gale_send(g, payload, sizeof(payload)) == 0);

	/* Callback delivery releases for the app. */
	int calls = 0;
	CHECK(gale_poll_cb(g, deliver_one, &calls, 100) == 1);
	CHECK(calls == 1);

	/* Batches: gale_claimv() of up to n, gale_commitv() of the first k. */
	void *bufs[64];
	CHECK(gale_claimv(g, 100, bufs, 0) == -EINVAL);
	CHECK(gale_claimv(g, 0, bufs, 4) == -EMSGSIZE);
	CHECK(gale_commitv(g, 1, NULL) == -EINVAL); /* nothing claimed */
	int k = gale_claimv(g, 100, bufs, 8);
	CHECK(k >= 1 && k <= 8);
	CHECK(gale_claimv(g, 100, bufs, 8) == -EBUSY);
	CHECK(gale_commitv(g, k + 1, NULL) == -EINVAL); /* more than claimed */
	for (int i = 0; i < k; i++) {
		memset(bufs[i], 0xa0 + i, 100);
		CHECK(i == 0 || (char *)bufs[i] - (char *)bufs[i - 1] >= 100);
	}
	uint64_t first = 0;
	gale_group_counters(g, &cnt);
	uint64_t before = cnt.sent_msgs;
	int commit_k = k > 1 ? k - 1 : 1; /* the last one is dropped */
	CHECK(gale_commitv(g, commit_k, &first) == 0);
	CHECK(gale_commitv(g, 1, NULL) == -EINVAL); /* the batch is closed */
	gale_group_counters(g, &cnt);
	CHECK(cnt.sent_msgs == before + (uint64_t)commit_k);
	got = 0;
	int n_ok = 0;
	while (got < commit_k) {
		int nb = gale_poll(g, m, 32);
		if (nb <= 0)
			break;
		for (int i = 0; i < nb; i++, got++)
			n_ok += m[i].len == 100 && m[i].seq == first + (uint64_t)got &&
				((const unsigned char *)m[i].data)[99] ==
					(unsigned char)(0xa0 + got);
		gale_release(g, nb);
	}
	CHECK(got == commit_k && n_ok == commit_k);
	/* A batch stops where the ring would wrap, and at its free space. */
	int total = 0, batches = 0;
	while ((k = gale_claimv(g, 1000, bufs, 64)) > 0) {
		CHECK(gale_commitv(g, k, NULL) == 0);
		total += k;
		batches++;
	}
	CHECK(k == -EAGAIN && total > 0 && total < 64 && batches >= 1);
	while ((got = gale_poll(g, m, 32)) > 0) {
		total -= got;
		gale_release(g, got);
	}
	CHECK(total == 0);
	gale_poll(g, m, 0);
	gale_group_counters(g, &cnt);
	uint64_t batch_msgs = cnt.sent_msgs - before;

	gale_node_counters(n, &cnt);
	CHECK(cnt.sent_msgs == 20 + (uint64_t)sent + 1 + batch_msgs &&
	      cnt.delivered_msgs == cnt.sent_msgs);
	struct gale_group_status st;
	gale_group_status(g, &st);
	CHECK(st.status == GALE_STATUS_RUNNING && st.epoch == 1);
	gale_group_leave(g);
	gale_node_destroy(n);
}

static void
test_strerror(void)
{
	CHECK(strstr(gale_strerror(-GALE_ESTOPPED), "stopped") != NULL);
	CHECK(strstr(gale_strerror(-GALE_ECONFIG), "configuration") != NULL);
	CHECK(strcmp(gale_strerror(-EAGAIN), strerror(EAGAIN)) == 0);
	enum gale_mode m;
	CHECK(gale_mode_parse("total", &m) == 0 && m == GALE_MODE_TOTAL);
	CHECK(gale_mode_parse("bogus", &m) == -EINVAL);
}

/* Two members, one thread each; both send, both must deliver the same sequence. */
#define PAIR_MSGS 20000
struct pair_arg {
	enum gale_mode mode;
	enum gale_threading th;
	uint32_t id;
	bool no_self;	       /* FIFO: no_self_delivery, so only the other's messages come */
	uint64_t order_digest; /* over (sender, seq) in delivery order */
	uint64_t delivered;
	int rc;
};

static void *
pair_member(void *p)
{
	struct pair_arg *a = p;
	struct gale_node *n = node_new(a->th);
	struct gale_group *g = NULL;
	struct gale_group_conf c = { .name = gname,
				     .mode = a->mode,
				     .my_id = a->id,
				     .n_members = 2,
				     .ring_bytes = 1 << 16,
				     .no_self_delivery = a->no_self };
	a->rc = gale_group_join(n, &c, &g);
	if (a->rc) {
		gale_node_destroy(n);
		return NULL;
	}
	uint64_t sent = 0, expect[2] = { 0, 0 }, h = 1469598103934665603ull;
	struct gale_msg m[64];
	uint64_t want = a->no_self ? PAIR_MSGS : 2 * PAIR_MSGS;
	while (a->delivered < want || sent < PAIR_MSGS) {
		while (sent < PAIR_MSGS) {
			uint64_t v = sent * 2 + a->id;
			if (gale_send(g, &v, sizeof(v)) != 0)
				break;
			sent++;
		}
		int got = gale_poll(g, m, 64);
		if (got < 0) {
			a->rc = got;
			break;
		}
		for (int i = 0; i < got; i++) {
			uint64_t v;
			memcpy(&v, m[i].data, sizeof(v));
			if (m[i].sender > 1 || m[i].seq != expect[m[i].sender] ||
			    v != m[i].seq * 2 + m[i].sender || (a->no_self && m[i].sender == a->id))
				a->rc = -EPROTO;
			expect[m[i].sender & 1]++;
			h = (h ^ (m[i].sender * 1000003ull + m[i].seq)) * 1099511628211ull;
		}
		a->delivered += (uint64_t)got;
		gale_release(g, got);
		if (got == 0)
			usleep(10);
	}
	a->order_digest = h;
	/* Stay until the peer is done with this member's ring too. */
	for (int i = 0; i < 200; i++) {
		gale_poll(g, m, 0);
		usleep(1000);
	}
	gale_group_leave(g);
	gale_node_destroy(n);
	return NULL;
}

static void
test_pair_opt(enum gale_mode mode, enum gale_threading th, bool no_self)
{
	pthread_t t[2];
	struct pair_arg a[2] = { { .mode = mode, .th = th, .id = 0, .no_self = no_self },
				 { .mode = mode, .th = th, .id = 1, .no_self = no_self } };
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, pair_member, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK(a[0].rc == 0 && a[1].rc == 0);
	uint64_t want = no_self ? PAIR_MSGS : 2 * PAIR_MSGS;
	CHECK(a[0].delivered == want && a[1].delivered == want);
	if (no_self) {
		diag("pair fifo %s, no self-delivery: %llu deliveries each (the other's only)",
		     th == GALE_THREADING_AGENT ? "agent" : "app",
		     (unsigned long long)a[0].delivered);
		return;
	}
	if (mode != GALE_MODE_FIFO)
		CHECK(a[0].order_digest == a[1].order_digest); /* one total order */
	diag("pair %s %s: %llu deliveries each", gale_mode_name(mode),
	     th == GALE_THREADING_AGENT ? "agent" : "app", (unsigned long long)a[0].delivered);
}

static void
test_pair(enum gale_mode mode, enum gale_threading th)
{
	test_pair_opt(mode, th, false);
}

struct join_arg {
	struct gale_node *node;
	struct gale_group *g;
	uint32_t id;
	uint32_t n; /* group size; 0 = 2 */
	int rc;
};

static void *
join_thread(void *p)
{
	struct join_arg *a = p;
	struct gale_group_conf c = { .name = gname, .my_id = a->id, .n_members = a->n ? a->n : 2 };
	a->rc = gale_group_join(a->node, &c, &a->g);
	return NULL;
}

/* Join members 0 and 1 of a 2-member SAFE group from two threads. */
static void
join_pair(struct join_arg *a, struct join_arg *b)
{
	pthread_t t;
	a->node = node_new(GALE_THREADING_APP);
	b->node = node_new(GALE_THREADING_APP);
	a->id = 0;
	b->id = 1;
	a->n = b->n = 2;
	pthread_create(&t, NULL, join_thread, b);
	join_thread(a);
	pthread_join(t, NULL);
	CHECK(a->rc == 0 && b->rc == 0);
}

/* A member that polls only every 40 ms is slow, not dead: no false failure. */
static void
test_slow_poller(void)
{
	struct join_arg a, b;
	join_pair(&a, &b);
	struct gale_msg m[8];
	for (int i = 0; i < 40; i++) {
		CHECK(gale_poll(a.g, m, 8) == 0);
		for (int k = 0; k < 400; k++) {
			CHECK(gale_poll(b.g, m, 8) == 0);
			usleep(100);
		}
	}
	struct gale_group_status st;
	gale_group_status(b.g, &st);
	CHECK(st.status == GALE_STATUS_RUNNING);
	gale_node_destroy(a.node);
	gale_node_destroy(b.node);
}

struct leaver {
	struct gale_node *node;
	struct gale_group *g;
};

static void *
leave_thread(void *p)
{
	struct leaver *l = p;
	CHECK(gale_send(l->g, "last words", 11) == 0);
	gale_node_destroy(l->node); /* leaves: lingers until "last words" is delivered */
	return NULL;
}

/*
 * A voluntary leave: the others deliver what the leaver sent, install a view
 * without it, and go on in it. An id whose owner lives cannot be taken.
 */
static void
test_leave(void)
{
	struct join_arg a = { .id = 0 }, b = { .id = 1 }, c = { .id = 2 };
	struct join_arg *all[3] = { &a, &b, &c };
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		all[i]->node = node_new(GALE_THREADING_APP);
		all[i]->n = 3;
		pthread_create(&t[i], NULL, join_thread, all[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(a.rc == 0 && b.rc == 0 && c.rc == 0);
	if (a.rc || b.rc || c.rc)
		return;
	struct gale_group *dup = NULL;
	struct gale_group_conf same_id = { .name = gname, .my_id = 0, .n_members = 3 };
	struct gale_node *n3 = node_new(GALE_THREADING_APP);
	CHECK(gale_group_join(n3, &same_id, &dup) == -EEXIST);
	gale_node_destroy(n3);

	struct leaver l = { b.node, b.g };
	pthread_t lt;
	pthread_create(&lt, NULL, leave_thread, &l);
	struct join_arg *stay[2] = { &a, &c };
	int last_words[2] = { 0, 0 };
	struct gale_view v[2];
	for (int i = 0; i < 50000; i++) {
		for (int k = 0; k < 2; k++) {
			struct gale_msg m[8];
			int n = gale_poll(stay[k]->g, m, 8);
			for (int j = 0; j < n; j++)
				if (m[j].sender == 1 && m[j].epoch == 1 &&
				    strcmp(m[j].data, "last words") == 0)
					last_words[k]++;
			if (n > 0)
				gale_release(stay[k]->g, n);
			gale_group_view(stay[k]->g, &v[k]);
		}
		if (v[0].epoch == 2 && v[1].epoch == 2)
			break;
		usleep(100);
	}
	pthread_join(lt, NULL);
	CHECK(last_words[0] == 1 && last_words[1] == 1);
	CHECK(v[0].epoch == 2 && v[0].n_members == 2 && v[0].members[0].id == 0 &&
	      v[0].members[1].id == 2 && v[0].my_rank == 0);
	CHECK(v[1].epoch == 2 && v[1].n_members == 2 && v[1].my_rank == 1);
	/* View 2 works: member 2 hears member 0. */
	CHECK(gale_send(a.g, "after", 6) == 0);
	gale_flush(a.g);
	int after = 0;
	for (int i = 0; i < 20000 && !after; i++) {
		struct gale_msg m[8];
		int n = gale_poll(a.g, m, 8);
		if (n > 0)
			gale_release(a.g, n);
		n = gale_poll(c.g, m, 8);
		for (int j = 0; j < n; j++)
			after += m[j].epoch == 2 && m[j].sender == 0 &&
				 strcmp(m[j].data, "after") == 0;
		if (n > 0)
			gale_release(c.g, n);
		usleep(50);
	}
	CHECK(after == 1);
	struct gale_group_status st;
	gale_group_status(a.g, &st);
	CHECK(st.status == GALE_STATUS_RUNNING && st.epoch == 2);
	gale_node_destroy(a.node);
	gale_node_destroy(c.node);
}

int
main(void)
{
	snprintf(gname, sizeof(gname), "unit-api-%d", (int)getpid());
	test_bad_config();
	test_strerror();
	test_single_member();
	test_slow_poller();
	test_leave();
	for (int m = GALE_MODE_SAFE; m <= GALE_MODE_FIFO; m++) {
		test_pair((enum gale_mode)m, GALE_THREADING_APP);
		test_pair((enum gale_mode)m, GALE_THREADING_AGENT);
	}
	{
		test_pair_opt(GALE_MODE_FIFO, GALE_THREADING_APP, true);
		test_pair_opt(GALE_MODE_FIFO, GALE_THREADING_AGENT, true);
	}
	return tap_done();
}
