/* SPDX-License-Identifier: MIT */
/*
 * The dataplane's four primitives, each on its own: the single-producer
 * ring (base/spsc.h) across two threads, the sequence lock (base/seqlock.h)
 * against a writer that never stops, the record iterator (dataplane/rec.h)
 * over a ring with pads and bad lengths, and the one ordered merge
 * (dataplane/merge_fp.c) in its two limits, normal delivery and the view
 * change's trim, on senders' rings laid out by hand.
 */
#include "tap.h"

#include "base/seqlock.h"
#include "base/spsc.h"
#include "group.h" /* dataplane/group.h */
#include "rec.h"   /* dataplane/rec.h */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- single-producer ring ---- */

#define Q_SIZE 64
#define Q_ITEMS 2000000ull

static struct gb_spsc q;
static uint64_t q_slot[Q_SIZE];

static void *
q_producer(void *arg)
{
	(void)arg;
	uint64_t next = 0, rng = 88172645463325252ull;
	while (next < Q_ITEMS) {
		uint64_t n = gb_spsc_free(&q, Q_SIZE);
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		uint64_t k = 1 + rng % Q_SIZE; /* batches of any size */
		if (k > n)
			k = n;
		if (k > Q_ITEMS - next)
			k = Q_ITEMS - next;
		uint64_t h = gb_spsc_prod_pos(&q);
		for (uint64_t i = 0; i < k; i++)
			q_slot[(h + i) & (Q_SIZE - 1)] = next + i;
		gb_spsc_publish(&q, h + k);
		next += k;
	}
	return NULL;
}

static void
test_spsc(void)
{
	gb_spsc_init(&q);
	CHECK(gb_spsc_free(&q, Q_SIZE) == Q_SIZE);
	/* One thread, both ends: full, then the cached tail says full until read. */
	gb_spsc_publish(&q, Q_SIZE);
	CHECK(gb_spsc_free(&q, Q_SIZE) == 0);
	CHECK(gb_spsc_head(&q) == Q_SIZE && gb_spsc_count(&q) == Q_SIZE);
	gb_spsc_release(&q, 10);
	CHECK(gb_spsc_free_seen(&q, Q_SIZE) == 0); /* not read again */
	CHECK(gb_spsc_free(&q, Q_SIZE) == 10);	   /* read when full */
	CHECK(gb_spsc_tail(&q) == 10 && gb_spsc_free_seen(&q, Q_SIZE) == 10);

	gb_spsc_init(&q);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, q_producer, NULL) == 0);
	uint64_t expect = 0, bad = 0, batches = 0;
	while (expect < Q_ITEMS) {
		uint64_t h = gb_spsc_head(&q), tail = gb_spsc_cons_pos(&q);
		if (h == tail)
			continue;
		bad += h - tail > Q_SIZE;
		for (uint64_t p = tail; p < h; p++)
			bad += q_slot[p & (Q_SIZE - 1)] != expect++;
		gb_spsc_release(&q, h);
		batches++;
	}
	pthread_join(t, NULL);
	CHECK(bad == 0);
	CHECK(expect == Q_ITEMS && gb_spsc_count(&q) == 0);
	diag("spsc: %llu items in %llu batches, %llu out of order or overrun",
	     (unsigned long long)Q_ITEMS, (unsigned long long)batches, (unsigned long long)bad);
}

/* ---- sequence lock ---- */

#define S_WRITES 300000ull

static _Atomic uint64_t s_lock, s_a, s_b, s_last;
static _Atomic bool s_done, s_enough;

static void *
s_writer(void *arg)
{
	(void)arg;
	/* At least S_WRITES, and on until the reader has taken enough reads (a
	 * loaded machine may not schedule it before S_WRITES are done). */
	uint64_t v = 1;
	for (; v <= S_WRITES || (!atomic_load(&s_enough) && v < 100 * S_WRITES); v++) {
		gb_seq_write_begin(&s_lock, 0); /* 0: being written */
		atomic_store_explicit(&s_a, v, memory_order_release);
		atomic_store_explicit(&s_b, v * 3, memory_order_release);
		gb_seq_write_end(&s_lock, v);
	}
	atomic_store(&s_last, v - 1);
	atomic_store(&s_done, true);
	return NULL;
}

static void
test_seqlock(void)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, s_writer, NULL) == 0);
	uint64_t ok = 0, torn = 0, refused = 0, last = 0, backwards = 0;
	while (!atomic_load(&s_done)) {
		uint64_t v = gb_seq_read_begin(&s_lock);
		if (v == 0) {
			refused++;
			continue;
		}
		uint64_t a = gb_seq_load(&s_a), b = gb_seq_load(&s_b);
		if (!gb_seq_read_valid(&s_lock, v)) {
			refused++;
			continue;
		}
		/* A read taken as consistent is the one write that the lock named. */
		torn += a != v || b != 3 * v;
		backwards += v < last;
		last = v;
		if (++ok == 1000)
			atomic_store(&s_enough, true);
	}
	pthread_join(t, NULL);
	CHECK(torn == 0 && backwards == 0);
	CHECK(ok > 0);
	uint64_t v = gb_seq_read_begin(&s_lock);
	uint64_t last_v = atomic_load(&s_last);
	CHECK(v == last_v && gb_seq_load(&s_b) == 3 * last_v && gb_seq_read_valid(&s_lock, v));
	diag("seqlock: %llu consistent reads, %llu refused, %llu torn", (unsigned long long)ok,
	     (unsigned long long)refused, (unsigned long long)torn);
}

/* ---- record iterator ---- */

#define RB 4096u

static uint8_t *
new_ring(void)
{
	uint8_t *r = aligned_alloc(4096, RB);
	memset(r, 0xee, RB);
	return r;
}

/* Append a record of len bytes at *pos (a PAD first if it would not fit). */
static void
put_rec(uint8_t *ring, uint64_t *pos, uint32_t len, uint32_t epoch32, uint64_t round)
{
	uint64_t off = *pos & (RB - 1);
	if (off + dp_rec_bytes(len) > RB) {
		struct dp_rec *pad = (struct dp_rec *)(ring + off);
		*pad = (struct dp_rec){ .len_flags = DP_REC_PAD, .epoch = epoch32 };
		*pos += RB - off;
		off = 0;
	}
	struct dp_rec *h = (struct dp_rec *)(ring + off);
	*h = (struct dp_rec){ .len_flags = len, .epoch = epoch32, .round = round };
	memset(h + 1, (int)len, len);
	*pos += dp_rec_bytes(len);
}

static void
test_rec(void)
{
	uint8_t *ring = new_ring();
	/* Less than a ring's worth, from the middle of its fourth lap: it wraps. */
	uint32_t lens[] = { 1, 48, 49, 300, 1000, 7, 1200, 5, 64 };
	const uint64_t start = 3 * RB + RB / 2;
	uint64_t pos = start, starts[16];
	unsigned n = 0;
	for (unsigned i = 0; i < 9; i++) {
		uint64_t before = pos;
		put_rec(ring, &pos, lens[i], 7, i);
		starts[n++] = pos - dp_rec_bytes(lens[i]);
		CHECK(starts[n - 1] >= before);
	}
	/* The walk finds every record where it was put, and crosses the pad. */
	unsigned found = 0, pads = 0;
	for (uint64_t p = start; p < pos;) {
		uint32_t lf = dp_rec_at(ring, RB - 1, p)->len_flags;
		if (lf & DP_REC_PAD) {
			pads++;
		} else {
			CHECK(found < n && p == starts[found]);
			CHECK(dp_rec_fits(p & (RB - 1), lf, RB / 2, RB));
			CHECK((lf & DP_REC_LEN_MASK) == lens[found]);
			found++;
		}
		p = dp_rec_next(p, lf, RB - 1);
	}
	CHECK(found == n && pads == 1 && pos - start < RB);
	CHECK(dp_rec_next(100 * RB + 128, DP_REC_PAD, RB - 1) == 101 * RB);
	CHECK(dp_rec_next(0, 1, RB - 1) == 32); /* 16-byte header, 1 byte, to 16 */
	CHECK(dp_rec_next(0, 48, RB - 1) == 64 && dp_rec_next(64, 49, RB - 1) == 144);
	/* What is not a message record. */
	CHECK(!dp_rec_fits(0, 0, 1024, RB));			      /* empty */
	CHECK(!dp_rec_fits(0, 1025, 1024, RB));			      /* over max_msg */
	CHECK(!dp_rec_fits(RB - 64, 100, 1024, RB));		      /* past the end */
	CHECK(!dp_rec_fits(0, DP_REC_PAD | 10, 1024, RB));	      /* a pad */
	CHECK(dp_rec_fits(RB - 64, 48, 1024, RB));		      /* exactly to the end */
	CHECK(!dp_rec_fits(0, DP_REC_LEN_MASK, DP_REC_LEN_MASK, RB)); /* huge */
	/* Stamping: every record gets the epoch and round, a pad the epoch only. */
	dp_rec_stamp(ring, RB - 1, start, pos, 9, 42);
	found = 0;
	for (uint64_t p = start; p < pos;) {
		const struct dp_rec *h = dp_rec_at(ring, RB - 1, p);
		CHECK(h->epoch == 9);
		if (!(h->len_flags & DP_REC_PAD))
			CHECK(h->round == 42 && ++found);
		else
			CHECK(h->round == 0);
		p = dp_rec_next(p, h->len_flags, RB - 1);
	}
	CHECK(found == n);
	free(ring);
	diag("records: %u walked over %u pad(s)", n, pads);
}

/* ---- the ordered merge ---- */

struct merge_fixture {
	struct dp_group *g;
	struct dp_row rows[GALE_MAX_MEMBERS];
	uint8_t *rings[GALE_MAX_MEMBERS];
	uint64_t pos[GALE_MAX_MEMBERS];
};

static void
mf_init(struct merge_fixture *f, enum gale_mode mode, uint32_t n, uint32_t me)
{
	memset(f, 0, sizeof(*f));
	f->g = aligned_alloc(GB_CACHE_LINE, GB_ALIGN_UP(sizeof(struct dp_group), GB_CACHE_LINE));
	memset(f->g, 0, sizeof(*f->g));
	struct dp_group *g = f->g;
	g->fx.mode = mode;
	g->fx.ring_bytes = RB;
	g->fx.ring_mask = RB - 1;
	g->fx.max_msg = RB / 4;
	g->w.n = n;
	g->w.my_rank = me;
	g->w.epoch32 = 5;
	g->w.view.epoch = 5;
	g->w.view.n_members = n;
	g->w.view.my_rank = me;
	for (uint32_t r = 0; r < n; r++) {
		f->rings[r] = new_ring();
		g->w.view.members[r].id = 100 + r;
		g->w.peers[r] =
			(struct dp_peer){ .ring = f->rings[r], .row = &f->rows[r], .id = 100 + r };
		atomic_store(&f->rows[r].row_epoch, 5);
	}
	gb_spsc_init(&g->dq.pos);
}

/* Sender r publishes a record of round `round` (its first byte: tag). */
static void
mf_send(struct merge_fixture *f, uint32_t r, uint64_t round, uint8_t tag)
{
	uint8_t *at = f->rings[r] + (f->pos[r] & (RB - 1)) + sizeof(struct dp_rec);
	put_rec(f->rings[r], &f->pos[r], 16, 5, round);
	*at = tag;
	f->g->w.peers[r].seen = f->pos[r];
	f->g->w.peers[r].nr_seen = round + 1; /* its promise, as receive() reads it */
}

/* Run the merge; the tags delivered, in order, into out. */
static unsigned
mf_deliver(struct merge_fixture *f, bool trim, bool *stuck, char *out)
{
	struct dp_group *g = f->g;
	uint64_t prod = gb_spsc_prod_pos(&g->dq.pos);
	unsigned k = dp_deliver(g, prod, DP_DQ_SIZE - (prod - g->dq.pos.tail_seen), trim, stuck);
	for (unsigned i = 0; i < k; i++)
		out[i] = (char)*(const uint8_t *)g->dq.msg[(prod + i) & (DP_DQ_SIZE - 1)].data;
	out[k] = 0;
	gb_spsc_publish(&g->dq.pos, prod + k);
	return k;
}

static void
mf_free(struct merge_fixture *f)
{
	for (uint32_t r = 0; r < f->g->w.n; r++)
		free(f->rings[r]);
	free(f->g);
}

static void
test_merge_total(void)
{
	struct merge_fixture f;
	char out[DP_DQ_SIZE + 1];
	bool stuck;
	mf_init(&f, GALE_MODE_TOTAL, 3, 0);
	mf_send(&f, 0, 1, 'a'), mf_send(&f, 0, 3, 'c'), mf_send(&f, 0, 5, 'e');
	mf_send(&f, 1, 2, 'b'), mf_send(&f, 1, 3, 'd'), mf_send(&f, 1, 6, 'f');
	f.g->w.peers[2].nr_seen = 4; /* sender 2: nothing yet, promises round 4 */
	/* Normal: by (round, rank), up to what sender 2 may still put first. */
	CHECK(mf_deliver(&f, false, &stuck, out) == 4 && !stuck);
	CHECK(strcmp(out, "abcd") == 0);
	CHECK(mf_deliver(&f, false, &stuck, out) == 0);
	/* Sender 2's record of round 4 opens the next ones. */
	mf_send(&f, 2, 4, 'X');
	f.g->w.peers[2].nr_seen = 7;
	f.g->w.peers[0].nr_seen = 7; /* and sender 0 promises past f */
	CHECK(mf_deliver(&f, false, &stuck, out) == 3 && strcmp(out, "Xef") == 0);
	mf_free(&f);

	/* Trim: each sender up to its agreed count, no promise waited for. */
	mf_init(&f, GALE_MODE_TOTAL, 3, 0);
	mf_send(&f, 0, 1, 'a'), mf_send(&f, 0, 3, 'c'), mf_send(&f, 0, 8, 'z');
	mf_send(&f, 1, 2, 'b'), mf_send(&f, 1, 9, 'y');
	f.g->w.peers[2].nr_seen = 0; /* a normal merge waits on sender 2 */
	f.g->w.peers[0].trim = 2, f.g->w.peers[1].trim = 1, f.g->w.peers[2].trim = 0;
	CHECK(mf_deliver(&f, false, &stuck, out) == 0);
	CHECK(mf_deliver(&f, true, &stuck, out) == 3 && !stuck && strcmp(out, "abc") == 0);
	CHECK(f.g->w.peers[0].deliv_seq == 2 && f.g->w.peers[1].deliv_seq == 1);
	/* A kept message that is not in its sender's ring: stuck, nothing past it. */
	f.g->w.peers[2].trim = 1;
	f.g->w.peers[0].trim = 3;
	CHECK(mf_deliver(&f, true, &stuck, out) == 0 && stuck);
	mf_send(&f, 2, 4, 'w');
	CHECK(mf_deliver(&f, true, &stuck, out) == 2 && !stuck && strcmp(out, "wz") == 0);
	mf_free(&f);
}

static void
test_merge_safe(void)
{
	struct merge_fixture f;
	char out[DP_DQ_SIZE + 1];
	bool stuck;
	mf_init(&f, GALE_MODE_SAFE, 3, 0);
	mf_send(&f, 0, 1, 'a'), mf_send(&f, 0, 2, 'b');
	mf_send(&f, 1, 3, 'c');
	f.g->w.peers[2].nr_seen = 9;
	/* Member 1 has seen sender 0's first record only; member 2 everything. */
	atomic_store(&f.rows[1].recv_pos[0], dp_rec_bytes(16));
	atomic_store(&f.rows[2].recv_pos[0], f.pos[0]);
	atomic_store(&f.rows[2].recv_pos[1], f.pos[1]);
	CHECK(mf_deliver(&f, false, &stuck, out) == 1 && strcmp(out, "a") == 0);
	atomic_store(&f.rows[1].recv_pos[0], f.pos[0]);
	/* A row being rewritten for another view gives nothing. */
	atomic_store(&f.rows[2].row_epoch, 0);
	CHECK(mf_deliver(&f, false, &stuck, out) == 0);
	atomic_store(&f.rows[2].row_epoch, 5);
	CHECK(mf_deliver(&f, false, &stuck, out) == 1 && strcmp(out, "b") == 0);
	/* Sender 1's own record: stable once member 2 has it (member 1 is its
	 * sender), and ordered once sender 0 promises past it. */
	CHECK(mf_deliver(&f, false, &stuck, out) == 0);
	f.g->w.peers[0].nr_seen = 9;
	CHECK(mf_deliver(&f, false, &stuck, out) == 1 && strcmp(out, "c") == 0);
	/* The trim needs no stability: the cut is agreed. */
	mf_send(&f, 1, 10, 'd');
	f.g->w.peers[0].trim = 2, f.g->w.peers[1].trim = 2, f.g->w.peers[2].trim = 0;
	CHECK(mf_deliver(&f, false, &stuck, out) == 0);
	CHECK(mf_deliver(&f, true, &stuck, out) == 1 && strcmp(out, "d") == 0);
	mf_free(&f);
}

static void
test_merge_fifo(void)
{
	struct merge_fixture f;
	char out[DP_DQ_SIZE + 1];
	bool stuck;
	mf_init(&f, GALE_MODE_FIFO, 2, 1);
	for (int i = 0; i < 40; i++)
		mf_send(&f, 0, 0, (uint8_t)('A' + i % 26));
	for (int i = 0; i < 40; i++)
		mf_send(&f, 1, 0, (uint8_t)('a' + i % 26));
	/* Every record, each sender's in its order, neither starving the other. */
	unsigned k = mf_deliver(&f, false, &stuck, out);
	CHECK(k == 80);
	int n0 = 0, n1 = 0, bad = 0;
	for (unsigned i = 0; i < k; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z')
			bad += out[i] != 'A' + n0++ % 26;
		else
			bad += out[i] != 'a' + n1++ % 26;
	}
	CHECK(bad == 0 && n0 == 40 && n1 == 40);
	CHECK(f.g->w.peers[0].deliv_seq == 40 && f.g->w.peers[1].deliv_seq == 40);
	mf_free(&f);

	/* Trim: up to each sender's count; a missing kept one is stuck. */
	mf_init(&f, GALE_MODE_FIFO, 2, 0);
	for (int i = 0; i < 5; i++)
		mf_send(&f, 0, 0, (uint8_t)('A' + i)), mf_send(&f, 1, 0, (uint8_t)('a' + i));
	f.g->w.peers[0].trim = 3, f.g->w.peers[1].trim = 6;
	k = mf_deliver(&f, true, &stuck, out);
	CHECK(k == 8 && stuck);
	CHECK(f.g->w.peers[0].deliv_seq == 3 && f.g->w.peers[1].deliv_seq == 5);
	mf_free(&f);
}

int
main(void)
{
	test_spsc();
	test_seqlock();
	test_rec();
	test_merge_total();
	test_merge_safe();
	test_merge_fifo();
	return tap_done();
}
