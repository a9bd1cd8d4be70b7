/* SPDX-License-Identifier: MIT */
/*
 * The datagram wire format (dataplane/wire.h): every frame type round-trips
 * byte for byte and decodes to the fields it was encoded from; every
 * truncation and every flipped byte of a valid frame is refused; each header
 * field's rule (magic, version, group, type, flags, body_len, trailing bytes)
 * and each body's rules (DATA, BATCH records, STATUS counts, NAK gaps,
 * HEARTBEAT) are refused with their reason, and the encoder refuses what the
 * decoder would; a frame gathered from iovecs and sealed with gw_seal() is
 * the one gw_encode() writes. Frames crafted to reach a body's check are
 * re-sealed (gw_seal() over one iovec), so only the field under test is wrong.
 * With an argument DIR, it also writes one frame of each type to DIR as the
 * fuzz target's seed corpus (DIR/type-N, N the frame type).
 */
#include "tap.h"

#include "base/le.h"
#include "wire.h" /* dataplane/wire.h */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define GROUP 0x5eed5eedull
#define OTHER_GROUP 0x5eed5eefull
#define EPOCH 0x1122334455667788ull
#define SENDER 0xa1b2c3d4u
#define SEQ 0xfedcba9876543210ull
#define BODY_MAX (GW_MAX_FRAME - GW_HDR)

static uint8_t payload[GW_MAX_FRAME];
/* Frames under test; one byte more than the largest frame for the trailing-byte cases. */
static uint8_t buf[GW_MAX_FRAME + 1], again[GW_MAX_FRAME + 1], body[GW_MAX_FRAME];

/* Deterministic distinct-looking values (splitmix64). */
static uint64_t rnd_state;

static uint64_t
rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Rewrite the checksum of a frame held in one buffer: gw_seal() over one iovec. */
static void
reseal(uint8_t *b, size_t n)
{
	struct drv_iov iov = { b, (uint32_t)n };
	gw_seal(&iov, 1);
}

static int
decode(const uint8_t *b, size_t n)
{
	struct gw_frame d;
	return gw_decode(b, n, GROUP, &d);
}

/* A header and a body, sealed: a frame that passes the header's checks and reaches its body's. */
static size_t
craft(uint8_t type, uint16_t flags, const uint8_t *b, size_t len)
{
	gw_put_hdr(buf, type, flags, GROUP, EPOCH, SENDER, (uint32_t)len, SEQ);
	memmove(buf + GW_HDR, b, len);
	reseal(buf, GW_HDR + len);
	return GW_HDR + len;
}

static int
decode_crafted(uint8_t type, uint16_t flags, const uint8_t *b, size_t len)
{
	return decode(buf, craft(type, flags, b, len));
}

/* ---- BATCH records ---- */

struct rec {
	uint32_t len_flags, epoch;
	uint64_t round;
	uint32_t plen; /* payload bytes written (the length field says what it says) */
};

/* Records as the ring holds them: 16-byte header, then plen payload bytes. */
static size_t
put_recs(uint8_t *out, const struct rec *r, unsigned n)
{
	uint8_t *p = out;
	for (unsigned i = 0; i < n; i++) {
		p = gb_put32le(p, r[i].len_flags);
		p = gb_put32le(p, r[i].epoch);
		p = gb_put64le(p, r[i].round);
		memcpy(p, payload + 37 * i, r[i].plen);
		p += r[i].plen;
	}
	return (size_t)(p - out);
}

#define REC(len, ep, rd)                                                                           \
	{                                                                                          \
		(len), (ep), (rd), (len)                                                           \
	}
#define PAD(ep, rd)                                                                                \
	{                                                                                          \
		GW_REC_PAD, (ep), (rd), 0                                                          \
	}

/* Several records, a pad in the middle and one at the end. */
static const struct rec sample_recs[] = {
	REC(5, 0x01020304, 0x1000000000000001ull),  PAD(0x01020304, 0x1000000000000002ull),
	REC(1, 0x01020305, 0x1000000000000003ull),  REC(300, 0x01020305, 0x1000000000000004ull),
	REC(16, 0x01020305, 0x1000000000000005ull), PAD(0xfffffffe, 0xffffffffffffffffull),
};
#define N_SAMPLE_RECS (sizeof(sample_recs) / sizeof(sample_recs[0]))
static uint8_t sample_batch[4096];

/* ---- STATUS ---- */

/* Every field its own value: a field dropped, swapped or cut short shows. */
static void
fill_status(struct gw_status *s, uint32_t n_init, uint32_t n, uint64_t seed)
{
	rnd_state = seed;
	memset(s, 0, sizeof(*s));
	s->conf_hash = rnd();
	s->layout_version = (uint32_t)rnd();
	s->mode = (uint32_t)rnd();
	s->ring_bytes = rnd();
	s->first_epoch = rnd();
	s->n_init = n_init;
	s->ctl_port = (uint16_t)rnd();
	for (uint32_t i = 0; i < GW_MAX_RANKS; i++)
		s->init_ids[i] = (uint32_t)rnd();
	s->tail = rnd();
	s->next_round = rnd();
	s->sent_msgs = rnd();
	s->heartbeat = rnd();
	s->state = (uint32_t)rnd();
	s->failed_id = (uint32_t)rnd();
	s->stop_status = (uint32_t)rnd();
	s->row_epoch = rnd();
	s->epoch_base = rnd();
	s->n = n;
	for (uint32_t i = 0; i < GW_MAX_RANKS; i++) {
		s->recv[i] = rnd();
		s->freed[i] = rnd();
	}
}

/*
 * A STATUS body written from the layout, independently of wire.c, with any
 * counts (entries past GW_MAX_RANKS filled in, at most one more) and any
 * reserved u16.
 */
static size_t
put_status_raw(uint8_t *out, const struct gw_status *s, uint32_t n_init, uint32_t n,
	       uint16_t reserved)
{
	uint32_t ids = n_init > GW_MAX_RANKS + 1 ? GW_MAX_RANKS + 1 : n_init;
	uint32_t ranks = n > GW_MAX_RANKS + 1 ? GW_MAX_RANKS + 1 : n;
	uint8_t *p = out;
	p = gb_put64le(p, s->conf_hash);
	p = gb_put32le(p, s->layout_version);
	p = gb_put32le(p, s->mode);
	p = gb_put64le(p, s->ring_bytes);
	p = gb_put64le(p, s->first_epoch);
	p = gb_put32le(p, n_init);
	p = gb_put16le(p, s->ctl_port);
	p = gb_put16le(p, reserved);
	for (uint32_t i = 0; i < ids; i++)
		p = gb_put32le(p, i < GW_MAX_RANKS ? s->init_ids[i] : 0x900d0000u + i);
	p = gb_put64le(p, s->tail);
	p = gb_put64le(p, s->next_round);
	p = gb_put64le(p, s->sent_msgs);
	p = gb_put64le(p, s->heartbeat);
	p = gb_put32le(p, s->state);
	p = gb_put32le(p, s->failed_id);
	p = gb_put32le(p, s->stop_status);
	p = gb_put32le(p, n);
	p = gb_put64le(p, s->row_epoch);
	p = gb_put64le(p, s->epoch_base);
	for (uint32_t i = 0; i < ranks; i++)
		p = gb_put64le(p, i < GW_MAX_RANKS ? s->recv[i] : 0xabcdull + i);
	for (uint32_t i = 0; i < ranks; i++)
		p = gb_put64le(p, i < GW_MAX_RANKS ? s->freed[i] : 0xdcbaull + i);
	return (size_t)(p - out);
}

static bool
status_eq(const struct gw_status *a, const struct gw_status *b)
{
	if (a->conf_hash != b->conf_hash || a->layout_version != b->layout_version ||
	    a->mode != b->mode || a->ring_bytes != b->ring_bytes ||
	    a->first_epoch != b->first_epoch || a->n_init != b->n_init ||
	    a->ctl_port != b->ctl_port || a->tail != b->tail || a->next_round != b->next_round ||
	    a->sent_msgs != b->sent_msgs || a->heartbeat != b->heartbeat || a->state != b->state ||
	    a->failed_id != b->failed_id || a->stop_status != b->stop_status ||
	    a->row_epoch != b->row_epoch || a->epoch_base != b->epoch_base || a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n_init; i++)
		if (a->init_ids[i] != b->init_ids[i])
			return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->recv[i] != b->recv[i] || a->freed[i] != b->freed[i])
			return false;
	return true;
}

/* ---- NAK ---- */

/* A NAK body: target, the count field n, then k gaps. */
static size_t
put_nak_raw(uint8_t *out, uint32_t target, uint32_t n, const struct gw_range *g, uint32_t k)
{
	uint8_t *p = gb_put32le(out, target);
	p = gb_put32le(p, n);
	for (uint32_t i = 0; i < k; i++) {
		p = gb_put64le(p, g[i].from);
		p = gb_put64le(p, g[i].to);
	}
	return (size_t)(p - out);
}

/* ---- frames ---- */

static void
frame_init(struct gw_frame *f, enum gw_type t, uint16_t flags)
{
	memset(f, 0, sizeof(*f));
	f->h.type = (uint8_t)t;
	f->h.flags = flags;
	f->h.epoch = EPOCH;
	f->h.sender = SENDER;
	f->h.seq = SEQ + (uint64_t)t;
}

/* One valid frame of each type (t), with varied contents. */
static void
sample(struct gw_frame *f, enum gw_type t)
{
	frame_init(f, t, 0);
	switch (t) {
	case GW_DATA:
		f->u.data.len = 1400;
		f->u.data.data = payload;
		break;
	case GW_BATCH:
		f->h.flags = GW_F_RELAY;
		f->u.batch.count = (uint32_t)N_SAMPLE_RECS;
		f->u.batch.len = (uint32_t)put_recs(sample_batch, sample_recs, N_SAMPLE_RECS);
		f->u.batch.recs = sample_batch;
		break;
	case GW_STATUS:
		fill_status(&f->u.status, 5, 5, 42);
		break;
	case GW_NAK:
		f->u.nak.target = 0x0badf00du;
		f->u.nak.n = 3;
		f->u.nak.gap[0] = (struct gw_range){ 10, 12 };
		f->u.nak.gap[1] = (struct gw_range){ 20, 21 };
		f->u.nak.gap[2] = (struct gw_range){ 30, 0x8000000000000099ull };
		break;
	case GW_HEARTBEAT:
		f->u.hb.heartbeat = 0x0123456789abcdefull;
		f->u.hb.tail = 0xfedcba9876543210ull;
		break;
	default:
		break;
	}
}

/* The decoded frame d carries what f was encoded from. */
static bool
frame_eq(const struct gw_frame *f, const struct gw_frame *d)
{
	if (f->h.type != d->h.type || f->h.flags != d->h.flags || f->h.epoch != d->h.epoch ||
	    f->h.sender != d->h.sender || f->h.seq != d->h.seq)
		return false;
	switch (f->h.type) {
	case GW_DATA:
		return f->u.data.len == d->u.data.len &&
		       memcmp(f->u.data.data, d->u.data.data, f->u.data.len) == 0;
	case GW_BATCH:
		return f->u.batch.count == d->u.batch.count && f->u.batch.len == d->u.batch.len &&
		       memcmp(f->u.batch.recs, d->u.batch.recs, f->u.batch.len) == 0;
	case GW_STATUS:
		return status_eq(&f->u.status, &d->u.status);
	case GW_NAK:
		if (f->u.nak.target != d->u.nak.target || f->u.nak.n != d->u.nak.n)
			return false;
		for (uint32_t i = 0; i < f->u.nak.n; i++)
			if (f->u.nak.gap[i].from != d->u.nak.gap[i].from ||
			    f->u.nak.gap[i].to != d->u.nak.gap[i].to)
				return false;
		return true;
	case GW_HEARTBEAT:
		return f->u.hb.heartbeat == d->u.hb.heartbeat && f->u.hb.tail == d->u.hb.tail;
	default:
		return false;
	}
}

/* What decoding a valid frame with the byte at k xored with 0x20 must say. */
static int
flip_err(const uint8_t *b, size_t k)
{
	if (k < 4)
		return -GW_ERR_MAGIC;
	if (k == 4)
		return -GW_ERR_VERSION; /* 1 ^ 0x20 */
	if (k < 8)
		return -GW_ERR_TYPE; /* type 0x2N, or flag bit 0x20 or 0x2000 */
	if (k >= 28 && k < 32) {     /* body_len: longer than the frame, or shorter */
		uint32_t was = gb_get32le(b + 28);
		uint32_t now = was ^ (0x20u << (8 * (k - 28)));
		return now > BODY_MAX ? -GW_ERR_LENGTH
		       : now > was    ? -GW_ERR_TRUNCATED
				      : -GW_ERR_LENGTH;
	}
	return -GW_ERR_CHECKSUM; /* group, epoch, sender, seq, checksum, body */
}

/*
 * f round-trips byte for byte; with thorough, also every truncation, a
 * trailing byte and every flipped byte of it are refused. Leaves the frame
 * in buf; returns its length.
 */
static size_t
check_frame(const struct gw_frame *f, bool thorough)
{
	struct gw_frame d;
	memset(buf, 0xa5, sizeof(buf));
	size_t n = gw_encode(f, GROUP, buf, GW_MAX_FRAME);
	CHECK(n > GW_HDR);
	if (n <= GW_HDR)
		return 0;
	memset(&d, 0x5a, sizeof(d));
	CHECK(gw_decode(buf, n, GROUP, &d) == 0);
	CHECK(frame_eq(f, &d));
	/* The header as documented: magic "GALW", version, the group, lengths, checksum. */
	CHECK(memcmp(buf, "GALW", 4) == 0 && buf[4] == GW_VERSION && buf[5] == f->h.type);
	CHECK(d.h.magic == GW_MAGIC && d.h.version == GW_VERSION && d.h.group == GROUP);
	CHECK(d.h.body_len == n - GW_HDR && gb_get32le(buf + 28) == n - GW_HDR);
	CHECK(gb_get64le(buf + 8) == GROUP && gb_get64le(buf + 16) == f->h.epoch);
	CHECK(gb_get32le(buf + 24) == f->h.sender && gb_get64le(buf + 32) == f->h.seq);
	CHECK(d.h.checksum == gb_get64le(buf + 40));
	/* One encoding per frame. */
	memset(again, 0x3c, sizeof(again));
	CHECK(gw_encode(&d, GROUP, again, sizeof(again)) == n);
	CHECK(memcmp(buf, again, n) == 0);
	/* Sealing the encoder's frame again changes nothing. */
	reseal(again, n);
	CHECK(memcmp(buf, again, n) == 0);
	/* It needs exactly its length. */
	CHECK(gw_encode(f, GROUP, again, n - 1) == 0);
	CHECK(gw_encode(f, GROUP, again, n) == n);
	/* For another group: the checksum holds, the group does not. */
	CHECK(gw_decode(buf, n, OTHER_GROUP, &d) == -GW_ERR_GROUP);
	if (!thorough)
		return n;

	/* Every truncation is refused. */
	for (size_t k = 0; k < n; k++) {
		int rc = gw_decode(buf, k, GROUP, &d);
		if (rc != -GW_ERR_TRUNCATED)
			diag("type %d: truncated to %zu: %d", f->h.type, k, rc);
		CHECK(rc == -GW_ERR_TRUNCATED);
	}
	/* A byte more than body_len says, whatever it is. */
	buf[n] = 0;
	CHECK(gw_decode(buf, n + 1, GROUP, &d) == -GW_ERR_LENGTH);
	buf[n] = 0xff;
	CHECK(gw_decode(buf, n + 1, GROUP, &d) == -GW_ERR_LENGTH);
	/* Every flipped byte is refused for its reason (the checksum catches the rest). */
	for (size_t k = 0; k < n; k++) {
		int want = flip_err(buf, k);
		buf[k] ^= 0x20;
		int rc = gw_decode(buf, n, GROUP, &d);
		buf[k] ^= 0x20;
		if (rc != want)
			diag("type %d: byte %zu flipped: %d, not %d", f->h.type, k, rc, want);
		CHECK(rc == want);
	}
	/* And every other single-bit flip, and every byte inverted: none is accepted. */
	size_t accepted = 0;
	for (size_t k = 0; k < n; k++)
		for (unsigned m = 0; m < 9; m++) {
			uint8_t mask = m < 8 ? (uint8_t)(1u << m) : 0xff;
			buf[k] ^= mask;
			if (gw_decode(buf, n, GROUP, &d) == 0) {
				diag("type %d: byte %zu ^ %#x accepted", f->h.type, k, mask);
				accepted++;
			}
			buf[k] ^= mask;
		}
	CHECK(accepted == 0);
	CHECK(gw_decode(buf, n, GROUP, &d) == 0); /* restored */
	return n;
}

/* ---- (1)-(3): round trips, truncations, flips ---- */

static void
test_round_trips(void)
{
	struct gw_frame f;
	for (int t = GW_DATA; t < GW_TYPE_MAX; t++) {
		sample(&f, (enum gw_type)t);
		check_frame(&f, true);
	}

	/* DATA: one byte; the flags it may carry; the largest frame. */
	static const uint16_t flags[] = { 0, GW_F_RETRANS, GW_F_RELAY, GW_F_RETRANS | GW_F_RELAY };
	for (unsigned i = 0; i < 4; i++) {
		frame_init(&f, GW_DATA, flags[i]);
		f.u.data.len = 1;
		f.u.data.data = payload + 99;
		CHECK(check_frame(&f, true) == GW_HDR + 1);
		f.u.data.len = 777;
		CHECK(check_frame(&f, i == 3) == GW_HDR + 777);
	}
	frame_init(&f, GW_DATA, GW_F_RETRANS);
	f.u.data.len = BODY_MAX;
	f.u.data.data = payload;
	CHECK(check_frame(&f, false) == GW_MAX_FRAME);

	/* BATCH: the flags; a lone pad; a pad first and two in a row; one record. */
	for (unsigned i = 0; i < 4; i++) {
		sample(&f, GW_BATCH);
		f.h.flags = flags[i];
		check_frame(&f, i == 0);
	}
	static uint8_t recs[GW_MAX_FRAME];
	static const struct rec pad_only[] = { PAD(1, 2) };
	static const struct rec pads_first[] = { PAD(1, 2), PAD(3, 4), REC(7, 5, 6), PAD(7, 8),
						 REC(2, 9, 10) };
	static const struct rec one[] = { REC(1, 0, 0) };
	frame_init(&f, GW_BATCH, 0);
	f.u.batch.recs = recs;
	f.u.batch.count = 1;
	f.u.batch.len = (uint32_t)put_recs(recs, pad_only, 1);
	CHECK(check_frame(&f, true) == GW_HDR + 2 + GW_REC_HDR);
	f.u.batch.count = 5;
	f.u.batch.len = (uint32_t)put_recs(recs, pads_first, 5);
	check_frame(&f, true);
	f.u.batch.count = 1;
	f.u.batch.len = (uint32_t)put_recs(recs, one, 1);
	CHECK(check_frame(&f, true) == GW_HDR + 2 + GW_REC_HDR + 1);
	/* The largest record a frame holds. */
	struct rec big = REC(BODY_MAX - 2 - GW_REC_HDR, 11, 12);
	f.u.batch.len = (uint32_t)put_recs(recs, &big, 1);
	CHECK(check_frame(&f, false) == GW_MAX_FRAME);
	/* GW_MAX_BATCH records. */
	static struct rec many[GW_MAX_BATCH];
	for (unsigned i = 0; i < GW_MAX_BATCH; i++)
		many[i] = i % 3 ? (struct rec)PAD(i, i) : (struct rec)REC(i % 7 + 1, i, i);
	f.u.batch.count = GW_MAX_BATCH;
	f.u.batch.len = (uint32_t)put_recs(recs, many, GW_MAX_BATCH);
	check_frame(&f, false);

	/* STATUS: 1, 5 and GW_MAX_RANKS entries of each array, every field its own value. */
	static const uint32_t sizes[][2] = { { 1, 1 },	{ 1, 64 }, { 5, 5 },
					     { 64, 1 }, { 5, 64 }, { 64, 64 } };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		frame_init(&f, GW_STATUS, 0);
		fill_status(&f.u.status, sizes[i][0], sizes[i][1], 1000 + i);
		size_t n = check_frame(&f, true);
		CHECK(n == GW_HDR + gw_status_len(sizes[i][0], sizes[i][1]));
		/* The body is the documented layout (written here independently). */
		size_t m = put_status_raw(body, &f.u.status, sizes[i][0], sizes[i][1], 0);
		CHECK(m == n - GW_HDR && memcmp(buf + GW_HDR, body, m) == 0);
	}

	/* NAK: one gap, GW_MAX_NAK gaps, gaps at the ends of the range. */
	frame_init(&f, GW_NAK, 0);
	f.u.nak.target = 0;
	f.u.nak.n = 1;
	f.u.nak.gap[0] = (struct gw_range){ 0, 1 };
	CHECK(check_frame(&f, true) == GW_HDR + 8 + 16);
	f.u.nak.n = 2;
	f.u.nak.gap[1] = (struct gw_range){ UINT64_MAX - 1, UINT64_MAX };
	check_frame(&f, true);
	f.u.nak.target = UINT32_MAX;
	f.u.nak.n = GW_MAX_NAK;
	for (uint32_t i = 0; i < GW_MAX_NAK; i++)
		f.u.nak.gap[i] = (struct gw_range){ 1000ull * i + 1, 1000ull * i + 2 + i };
	CHECK(check_frame(&f, true) == GW_HDR + 8 + 16 * GW_MAX_NAK);

	/* HEARTBEAT: zeroes and all ones. */
	frame_init(&f, GW_HEARTBEAT, 0);
	CHECK(check_frame(&f, true) == GW_HDR + 16);
	f.u.hb.heartbeat = f.u.hb.tail = UINT64_MAX;
	check_frame(&f, false);
}

/* ---- (4): the header's rules ---- */

static void
test_header(void)
{
	struct gw_frame f, d;
	sample(&f, GW_NAK);
	size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(n == GW_HDR + 8 + 16 * 3);
	memcpy(again, buf, n);
#define RESTORE() memcpy(buf, again, n)

	/* Magic. */
	buf[0] ^= 1;
	reseal(buf, n);
	CHECK(decode(buf, n) == -GW_ERR_MAGIC);
	RESTORE();
	gb_put32le(buf, 0);
	reseal(buf, n);
	CHECK(decode(buf, n) == -GW_ERR_MAGIC);
	RESTORE();
	memset(buf, 0xff, GW_HDR);
	CHECK(decode(buf, n) == -GW_ERR_MAGIC);
	RESTORE();

	/* Another version, checksum made right. */
	buf[4] = GW_VERSION + 1;
	reseal(buf, n);
	CHECK(decode(buf, n) == -GW_ERR_VERSION);
	buf[4] = 0;
	reseal(buf, n);
	CHECK(decode(buf, n) == -GW_ERR_VERSION);
	RESTORE();

	/* Another group: encoded for one, decoded as another; or the field rewritten. */
	CHECK(gw_encode(&f, OTHER_GROUP, buf, sizeof(buf)) == n);
	CHECK(gw_decode(buf, n, GROUP, &d) == -GW_ERR_GROUP);
	CHECK(gw_decode(buf, n, OTHER_GROUP, &d) == 0 && d.h.group == OTHER_GROUP);
	RESTORE();
	gb_put64le(buf + 8, GROUP ^ (1ull << 63));
	reseal(buf, n);
	CHECK(decode(buf, n) == -GW_ERR_GROUP);
	CHECK(gw_decode(buf, n, GROUP ^ (1ull << 63), &d) == 0);
	RESTORE();
	/* The checksum before the group: a corrupt frame for another group is corrupt. */
	buf[GW_HDR] ^= 1;
	CHECK(gw_decode(buf, n, OTHER_GROUP, &d) == -GW_ERR_CHECKSUM);
	RESTORE();

	/* The checksum: any bit of it, or none written (a bare gw_put_hdr). */
	buf[47] ^= 0x80;
	CHECK(decode(buf, n) == -GW_ERR_CHECKSUM);
	RESTORE();
	gb_put64le(buf + 40, 0);
	CHECK(decode(buf, n) == -GW_ERR_CHECKSUM);
	RESTORE();

	/* Unknown types. */
	static const uint8_t bad_types[] = { 0, GW_TYPE_MAX, GW_TYPE_MAX + 1, 0x80, 0xff };
	for (unsigned i = 0; i < sizeof(bad_types); i++) {
		buf[5] = bad_types[i];
		reseal(buf, n);
		CHECK(decode(buf, n) == -GW_ERR_TYPE);
		RESTORE();
	}

	/* Flags: only DATA and BATCH carry them, and only the known ones. */
	for (int t = GW_DATA; t < GW_TYPE_MAX; t++) {
		sample(&f, (enum gw_type)t);
		size_t m = gw_encode(&f, GROUP, buf, sizeof(buf));
		CHECK(m > GW_HDR);
		static const uint16_t known[] = { GW_F_RETRANS, GW_F_RELAY,
						  GW_F_RETRANS | GW_F_RELAY, GW_F_ANYONE,
						  GW_F_ANYONE | GW_F_RETRANS };
		for (unsigned i = 0; i < 5; i++) {
			/* RETRANS and RELAY on DATA and BATCH; ANYONE on NAK alone. */
			bool may = known[i] == GW_F_ANYONE
					   ? t == GW_NAK
					   : !(known[i] & GW_F_ANYONE) &&
						     (t == GW_DATA || t == GW_BATCH);
			gb_put16le(buf + 6, known[i]);
			reseal(buf, m);
			CHECK(decode(buf, m) == (may ? 0 : -GW_ERR_TYPE));
			struct gw_frame g = f;
			g.h.flags = known[i];
			CHECK((gw_encode(&g, GROUP, again, sizeof(again)) != 0) == may);
		}
		static const uint16_t unknown[] = { 0x8, 0x100, 0x8000, 0xf };
		for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
			gb_put16le(buf + 6, unknown[i]);
			reseal(buf, m);
			CHECK(decode(buf, m) == -GW_ERR_TYPE);
			struct gw_frame g = f;
			g.h.flags = unknown[i];
			CHECK(gw_encode(&g, GROUP, again, sizeof(again)) == 0);
		}
	}

	/* body_len: beyond the frame, short of it, over the limit. */
	sample(&f, GW_NAK);
	n = gw_encode(&f, GROUP, buf, sizeof(buf));
	memcpy(again, buf, n);
	static const struct {
		uint32_t body_len;
		int err;
	} lens[] = {
		{ 8 + 16 * 3 + 1, -GW_ERR_TRUNCATED }, /* one byte beyond the frame */
		{ 8 + 16 * 4, -GW_ERR_TRUNCATED },
		{ BODY_MAX, -GW_ERR_TRUNCATED },
		{ 8 + 16 * 3 - 1, -GW_ERR_LENGTH }, /* a trailing byte */
		{ 0, -GW_ERR_LENGTH },
		{ BODY_MAX + 1, -GW_ERR_LENGTH }, /* over the limit */
		{ 0x7fffffff, -GW_ERR_LENGTH },
		{ UINT32_MAX, -GW_ERR_LENGTH },
	};
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		gb_put32le(buf + 28, lens[i].body_len);
		reseal(buf, n);
		CHECK(decode(buf, n) == lens[i].err);
		RESTORE();
	}
	/* Trailing bytes, even sealed with them. */
	memset(buf + n, 0, 16);
	for (size_t k = 1; k <= 16; k++) {
		reseal(buf, n + k);
		CHECK(decode(buf, n + k) == -GW_ERR_LENGTH);
	}
	RESTORE();
	/* A datagram over GW_MAX_FRAME, body_len saying so. */
	gw_put_hdr(buf, GW_DATA, 0, GROUP, EPOCH, SENDER, BODY_MAX + 1, SEQ);
	reseal(buf, GW_MAX_FRAME + 1);
	CHECK(decode(buf, GW_MAX_FRAME + 1) == -GW_ERR_LENGTH);
	/* Headers only, or less. */
	CHECK(decode(buf, 0) == -GW_ERR_TRUNCATED);
	CHECK(decode(buf, GW_HDR - 1) == -GW_ERR_TRUNCATED);
#undef RESTORE
}

/* ---- (4), (5): each body's rules, in the decoder and the encoder ---- */

static void
test_data(void)
{
	struct gw_frame f;
	/* An empty body: refused both ways, with or without flags. */
	CHECK(decode_crafted(GW_DATA, 0, body, 0) == -GW_ERR_BODY);
	CHECK(decode_crafted(GW_DATA, GW_F_RETRANS | GW_F_RELAY, body, 0) == -GW_ERR_BODY);
	frame_init(&f, GW_DATA, 0);
	f.u.data.data = payload;
	CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == 0);
	/* Any bytes are a DATA body. */
	memset(body, 0, 3);
	CHECK(decode_crafted(GW_DATA, GW_F_RELAY, body, 3) == 0);
	/* Over the largest frame. */
	f.u.data.len = BODY_MAX + 1;
	CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == 0);
	f.u.data.len = UINT32_MAX;
	CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == 0);
}

/* A BATCH body (count, then len bytes of records) is refused, crafted and by the encoder. */
static void
bad_batch(const char *what, uint32_t count, const uint8_t *recs, size_t len)
{
	gb_put16le(body, (uint16_t)count);
	memcpy(body + 2, recs, len);
	int rc = decode_crafted(GW_BATCH, 0, body, 2 + len);
	if (rc != -GW_ERR_BODY)
		diag("batch %s: decoded: %d", what, rc);
	CHECK(rc == -GW_ERR_BODY);
	struct gw_frame f;
	frame_init(&f, GW_BATCH, GW_F_RETRANS);
	f.u.batch.count = count;
	f.u.batch.len = (uint32_t)len;
	f.u.batch.recs = recs;
	size_t n = gw_encode(&f, GROUP, again, sizeof(again));
	if (n)
		diag("batch %s: encoded", what);
	CHECK(n == 0);
}

static void
test_batch(void)
{
	static uint8_t recs[GW_MAX_FRAME];
	struct rec r[8];
	size_t len;

	/* The sample as crafted here decodes: the helpers write valid bodies. */
	len = put_recs(recs, sample_recs, N_SAMPLE_RECS);
	gb_put16le(body, (uint16_t)N_SAMPLE_RECS);
	memcpy(body + 2, recs, len);
	CHECK(decode_crafted(GW_BATCH, 0, body, 2 + len) == 0);

	/* A body too short for its count. */
	CHECK(decode_crafted(GW_BATCH, 0, body, 0) == -GW_ERR_BODY);
	CHECK(decode_crafted(GW_BATCH, 0, body, 1) == -GW_ERR_BODY);
	/* Count 0: with no records or some. */
	bad_batch("count 0, empty", 0, recs, 0);
	bad_batch("count 0", 0, recs, len);
	/* Count more than the records there are; fewer (trailing records). */
	bad_batch("count + 1", (uint32_t)N_SAMPLE_RECS + 1, recs, len);
	bad_batch("count - 1", (uint32_t)N_SAMPLE_RECS - 1, recs, len);
	bad_batch("count 0xffff", 0xffff, recs, len);
	/* Trailing bytes: less than a record header, a header's worth, one byte. */
	memset(recs + len, 0, GW_REC_HDR);
	bad_batch("trailing byte", (uint32_t)N_SAMPLE_RECS, recs, len + 1);
	bad_batch("trailing 15", (uint32_t)N_SAMPLE_RECS, recs, len + GW_REC_HDR - 1);
	bad_batch("trailing 16", (uint32_t)N_SAMPLE_RECS, recs, len + GW_REC_HDR);
	/* Records cut short: the last one's payload, or a header. */
	bad_batch("last payload cut", (uint32_t)N_SAMPLE_RECS, recs, len - GW_REC_HDR - 1);
	bad_batch("header cut", 1, recs, GW_REC_HDR - 1);

	/* A record whose length runs past the body: last, middle, first. */
	r[0] = (struct rec)REC(5, 1, 1);
	r[1] = (struct rec)PAD(1, 2);
	r[2] = (struct rec)REC(9, 1, 3);
	r[2].len_flags = 10; /* one past the body */
	len = put_recs(recs, r, 3);
	bad_batch("last past the body", 3, recs, len);
	r[2].len_flags = 9;
	r[0].len_flags = 5 + 2 * GW_REC_HDR + 9 + 1;
	len = put_recs(recs, r, 3);
	bad_batch("first past the body", 3, recs, len);
	r[0].len_flags = GW_REC_LEN_MASK;
	bad_batch("first huge", 3, recs, put_recs(recs, r, 3));
	r[0].len_flags = 5;
	r[1] = (struct rec)REC(GW_REC_LEN_MASK, 1, 2);
	r[1].plen = 0;
	bad_batch("middle huge", 3, recs, put_recs(recs, r, 3));
	/* A length that swallows the next record exactly: then one record short. */
	r[0] = (struct rec)REC(5, 1, 1);
	r[1] = (struct rec)REC(4, 1, 2);
	len = put_recs(recs, r, 2);
	gb_put32le(recs, 5 + GW_REC_HDR + 4);
	bad_batch("count beyond the records", 2, recs, len);
	struct gw_frame f;
	frame_init(&f, GW_BATCH, 0);
	f.u.batch.count = 1;
	f.u.batch.len = (uint32_t)len;
	f.u.batch.recs = recs;
	check_frame(&f, false); /* as one record, it is valid */

	/* A non-pad record of length 0: first, middle, last, alone. */
	for (unsigned at = 0; at < 3; at++) {
		r[0] = (struct rec)REC(5, 1, 1);
		r[1] = (struct rec)PAD(1, 2);
		r[2] = (struct rec)REC(9, 1, 3);
		r[at] = (struct rec)REC(0, 1, 4);
		bad_batch("empty record", 3, recs, put_recs(recs, r, 3));
	}
	r[0] = (struct rec)REC(0, 1, 1);
	bad_batch("empty record alone", 1, recs, put_recs(recs, r, 1));

	/* A pad with a length: with its bytes, without them, the largest. */
	r[0] = (struct rec)REC(5, 1, 1);
	r[1] = (struct rec){ GW_REC_PAD | 4, 1, 2, 4 };
	r[2] = (struct rec)REC(9, 1, 3);
	bad_batch("pad with bytes", 3, recs, put_recs(recs, r, 3));
	r[1].plen = 0;
	bad_batch("pad with a length", 3, recs, put_recs(recs, r, 3));
	r[1].len_flags = GW_REC_PAD | GW_REC_LEN_MASK;
	bad_batch("pad with the largest length", 3, recs, put_recs(recs, r, 3));
	r[0] = (struct rec){ GW_REC_PAD | 1, 1, 1, 1 };
	bad_batch("lone pad with a byte", 1, recs, put_recs(recs, r, 1));

	/* Unknown bits in len_flags, on a record or a pad. */
	static const uint32_t unknown[] = { 0x02000000u, 0x04000000u, 0x80000000u, 0xfe000000u };
	for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		r[0] = (struct rec)REC(5, 1, 1);
		r[1] = (struct rec)PAD(1, 2);
		r[2] = (struct rec)REC(9, 1, 3);
		r[2].len_flags |= unknown[i];
		bad_batch("unknown bits", 3, recs, put_recs(recs, r, 3));
		r[2].len_flags = 9;
		r[1].len_flags |= unknown[i];
		bad_batch("unknown bits on a pad", 3, recs, put_recs(recs, r, 3));
	}

	/* Count over GW_MAX_BATCH: GW_MAX_BATCH + 1 pads (GW_MAX_BATCH of them are valid). */
	static struct rec pads[GW_MAX_BATCH + 1];
	for (unsigned i = 0; i <= GW_MAX_BATCH; i++)
		pads[i] = (struct rec)PAD(i, i);
	len = put_recs(recs, pads, GW_MAX_BATCH + 1);
	bad_batch("count over the limit", GW_MAX_BATCH + 1, recs, len);
	len = put_recs(recs, pads, GW_MAX_BATCH);
	gb_put16le(body, GW_MAX_BATCH);
	memcpy(body + 2, recs, len);
	CHECK(decode_crafted(GW_BATCH, 0, body, 2 + len) == 0);

	/* A body over the largest frame. */
	frame_init(&f, GW_BATCH, 0);
	struct rec big = REC(BODY_MAX - 2 - GW_REC_HDR + 1, 1, 1);
	f.u.batch.count = 1;
	f.u.batch.len = (uint32_t)put_recs(recs, &big, 1);
	f.u.batch.recs = recs;
	CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == 0);
}

/* A STATUS body refused, crafted (len bytes of body) and (when it can say it) by the encoder. */
static void
bad_status(const char *what, size_t len, const struct gw_frame *enc)
{
	int rc = decode_crafted(GW_STATUS, 0, body, len);
	if (rc != -GW_ERR_BODY)
		diag("status %s: decoded: %d", what, rc);
	CHECK(rc == -GW_ERR_BODY);
	if (enc)
		CHECK(gw_encode(enc, GROUP, again, sizeof(again)) == 0);
}

static void
test_status(void)
{
	struct gw_frame f;
	frame_init(&f, GW_STATUS, 0);
	fill_status(&f.u.status, 5, 7, 7);
	const struct gw_status *s = &f.u.status;
	size_t len = put_status_raw(body, s, 5, 7, 0);
	CHECK(len == gw_status_len(5, 7));
	CHECK(decode_crafted(GW_STATUS, 0, body, len) == 0);

	/* n_init and n out of 1..GW_MAX_RANKS, the body as long as they say. */
	static const uint32_t bad_n[] = { 0, GW_MAX_RANKS + 1, 0x80000000u, UINT32_MAX };
	for (unsigned i = 0; i < sizeof(bad_n) / sizeof(bad_n[0]); i++) {
		struct gw_frame g = f;
		g.u.status.n_init = bad_n[i];
		bad_status("n_init", put_status_raw(body, s, bad_n[i], 7, 0), &g);
		g = f;
		g.u.status.n = bad_n[i];
		bad_status("n", put_status_raw(body, s, 5, bad_n[i], 0), &g);
		g.u.status.n_init = bad_n[i];
		bad_status("both", put_status_raw(body, s, bad_n[i], bad_n[i], 0), &g);
	}

	/* The reserved u16 after ctl_port: an encoded frame's, rewritten and re-sealed. */
	size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(n == GW_HDR + len);
	CHECK(gb_get16le(buf + GW_HDR + 36) == s->ctl_port && gb_get16le(buf + GW_HDR + 38) == 0);
	static const uint16_t reserved[] = { 1, 0x100, 0x8000, 0xffff };
	for (unsigned i = 0; i < 4; i++) {
		gw_encode(&f, GROUP, buf, sizeof(buf));
		gb_put16le(buf + GW_HDR + 38, reserved[i]);
		reseal(buf, n);
		CHECK(decode(buf, n) == -GW_ERR_BODY);
		bad_status("reserved", put_status_raw(body, s, 5, 7, reserved[i]), NULL);
	}

	/* A body whose length is not gw_status_len(n_init, n). */
	len = put_status_raw(body, s, 5, 7, 0);
	memset(body + len, 0, 64);
	static const long delta[] = { 1, 8, 16, 64, -1, -8, -16 };
	for (unsigned i = 0; i < sizeof(delta) / sizeof(delta[0]); i++)
		bad_status("length", (size_t)((long)len + delta[i]), NULL);
	/* Cut inside the fixed part, the ids, the live part. */
	static const size_t cuts[] = {
		0, 1, 39, 40, 40 + 4 * 5 - 1, 40 + 4 * 5, 40 + 4 * 5 + 63, 40 + 4 * 5 + 64
	};
	len = put_status_raw(body, s, 5, 7, 0);
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		bad_status("cut", cuts[i], NULL);
	/* The largest status, one rank id cut off. */
	len = put_status_raw(body, s, GW_MAX_RANKS, GW_MAX_RANKS, 0);
	CHECK(decode_crafted(GW_STATUS, 0, body, len) == 0);
	len = put_status_raw(body, s, GW_MAX_RANKS, GW_MAX_RANKS, 0);
	bad_status("largest, cut", len - 8, NULL);
}

/* A NAK body refused, crafted and by the encoder. */
static void
bad_nak(const char *what, uint32_t n, const struct gw_range *g, uint32_t k, bool encoder)
{
	size_t len = put_nak_raw(body, 9, n, g, k);
	int rc = decode_crafted(GW_NAK, 0, body, len);
	if (rc != -GW_ERR_BODY)
		diag("nak %s: decoded: %d", what, rc);
	CHECK(rc == -GW_ERR_BODY);
	if (!encoder)
		return;
	struct gw_frame f;
	frame_init(&f, GW_NAK, 0);
	f.u.nak.target = 9;
	f.u.nak.n = n;
	memcpy(f.u.nak.gap, g, sizeof(*g) * (k < GW_MAX_NAK ? k : GW_MAX_NAK));
	CHECK(gw_encode(&f, GROUP, again, sizeof(again)) == 0);
}

static void
test_nak(void)
{
	static struct gw_range g[GW_MAX_NAK + 1];
	for (uint32_t i = 0; i <= GW_MAX_NAK; i++)
		g[i] = (struct gw_range){ 100ull * i + 10, 100ull * i + 20 };
	CHECK(decode_crafted(GW_NAK, 0, body, put_nak_raw(body, 9, 3, g, 3)) == 0);
	CHECK(decode_crafted(GW_NAK, 0, body, put_nak_raw(body, 9, GW_MAX_NAK, g, GW_MAX_NAK)) ==
	      0);

	/* No gaps; more than GW_MAX_NAK. */
	bad_nak("n 0", 0, g, 0, true);
	bad_nak("n 0 with a gap", 0, g, 1, true);
	bad_nak("n over the limit", GW_MAX_NAK + 1, g, GW_MAX_NAK + 1, true);
	bad_nak("n huge", UINT32_MAX, g, 1, true);
	/* n and the body disagree. */
	bad_nak("n > gaps", 3, g, 2, false);
	bad_nak("n < gaps", 2, g, 3, false);
	size_t len = put_nak_raw(body, 9, 3, g, 3);
	CHECK(decode_crafted(GW_NAK, 0, body, len + 1) == -GW_ERR_BODY);
	CHECK(decode_crafted(GW_NAK, 0, body, len - 1) == -GW_ERR_BODY);
	for (size_t k = 0; k < 8; k++)
		CHECK(decode_crafted(GW_NAK, 0, body, k) == -GW_ERR_BODY);

	/* Gaps empty, reversed, touching, overlapping, out of order: at each place. */
	for (uint32_t at = 0; at < 3; at++) {
		struct gw_range h[3] = { { 10, 20 }, { 30, 40 }, { 50, 60 } };
		h[at].to = h[at].from;
		bad_nak("empty gap", 3, h, 3, true);
		h[at].to = h[at].from - 1;
		bad_nak("reversed gap", 3, h, 3, true);
	}
	struct gw_range touch[2] = { { 10, 20 }, { 20, 30 } };
	bad_nak("touching", 2, touch, 2, true);
	struct gw_range overlap[2] = { { 10, 20 }, { 15, 30 } };
	bad_nak("overlapping", 2, overlap, 2, true);
	struct gw_range inside[2] = { { 10, 40 }, { 15, 30 } };
	bad_nak("inside", 2, inside, 2, true);
	struct gw_range same[2] = { { 10, 20 }, { 10, 20 } };
	bad_nak("twice", 2, same, 2, true);
	struct gw_range desc[3] = { { 10, 20 }, { 50, 60 }, { 30, 40 } };
	bad_nak("descending", 3, desc, 3, true);
	struct gw_range apart[2] = { { 10, 20 }, { 21, 30 } }; /* one byte apart is apart */
	CHECK(decode_crafted(GW_NAK, 0, body, put_nak_raw(body, 9, 2, apart, 2)) == 0);
}

static void
test_heartbeat(void)
{
	memset(body, 0x11, 32);
	CHECK(decode_crafted(GW_HEARTBEAT, 0, body, 16) == 0);
	static const size_t lens[] = { 0, 1, 8, 15, 17, 24, 32 };
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		CHECK(decode_crafted(GW_HEARTBEAT, 0, body, lens[i]) == -GW_ERR_BODY);
	/* Flags are refused before the body. */
	CHECK(decode_crafted(GW_HEARTBEAT, GW_F_RETRANS, body, 16) == -GW_ERR_TYPE);
}

static void
test_encoder(void)
{
	struct gw_frame f;
	/* Unknown types. */
	static const uint8_t bad_types[] = { 0, GW_TYPE_MAX, 0xff };
	for (unsigned i = 0; i < sizeof(bad_types); i++) {
		sample(&f, GW_HEARTBEAT);
		f.h.type = bad_types[i];
		CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == 0);
	}
	/* No room: nothing, a header's worth, one byte short. */
	for (int t = GW_DATA; t < GW_TYPE_MAX; t++) {
		sample(&f, (enum gw_type)t);
		size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
		CHECK(n > GW_HDR);
		CHECK(gw_encode(&f, GROUP, again, 0) == 0);
		CHECK(gw_encode(&f, GROUP, again, GW_HDR) == 0);
		CHECK(gw_encode(&f, GROUP, again, n - 1) == 0);
	}
	/* The header fields the encoder fills in ignore what f says. */
	sample(&f, GW_HEARTBEAT);
	size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
	f.h.magic = 1;
	f.h.version = 99;
	f.h.group = 3;
	f.h.body_len = 1000;
	f.h.checksum = 5;
	CHECK(gw_encode(&f, GROUP, again, sizeof(again)) == n && memcmp(buf, again, n) == 0);
}

/* ---- gw_put_hdr + gw_seal: the zero-copy path ---- */

static void
test_gather(void)
{
	static uint8_t ring[4096], flat[GW_MAX_FRAME];
	struct gw_frame f, d;

	/* BATCH: header + count, then two runs of records (as if from the ring). */
	sample(&f, GW_BATCH);
	f.h.flags = GW_F_RETRANS | GW_F_RELAY;
	size_t len = put_recs(ring, sample_recs, N_SAMPLE_RECS);
	size_t cut = put_recs(ring, sample_recs, 3); /* the first three records */
	CHECK(len == f.u.batch.len && memcmp(ring, sample_batch, len) == 0);
	uint8_t hdr[GW_HDR + 2];
	memset(hdr, 0xee, sizeof(hdr));
	gw_put_hdr(hdr, GW_BATCH, f.h.flags, GROUP, f.h.epoch, f.h.sender, (uint32_t)(2 + len),
		   f.h.seq);
	CHECK(gb_get64le(hdr + 40) == 0); /* no checksum yet */
	gb_put16le(hdr + GW_HDR, (uint16_t)N_SAMPLE_RECS);
	struct drv_iov iov[3] = {
		{ hdr, sizeof(hdr) },
		{ ring, (uint32_t)cut },
		{ ring + cut, (uint32_t)(len - cut) },
	};
	gw_seal(iov, 3);
	size_t n = 0;
	for (unsigned i = 0; i < 3; i++) {
		memcpy(flat + n, iov[i].base, iov[i].len);
		n += iov[i].len;
	}
	CHECK(n == GW_HDR + 2 + len);
	CHECK(gw_decode(flat, n, GROUP, &d) == 0);
	CHECK(frame_eq(&f, &d));
	CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == n);
	CHECK(memcmp(flat, buf, n) == 0);
	/* Sealed over other cuts of the same bytes: the same checksum. */
	struct drv_iov one = { flat, (uint32_t)n };
	gw_seal(&one, 1);
	CHECK(memcmp(flat, buf, n) == 0);
	struct drv_iov hdr_only[2] = { { flat, GW_HDR },
				       { flat + GW_HDR, (uint32_t)(n - GW_HDR) } };
	gw_seal(hdr_only, 2);
	CHECK(memcmp(flat, buf, n) == 0);
	/* A ring byte changed after sealing: refused. */
	ring[cut + 20] ^= 1;
	memcpy(flat + sizeof(hdr) + cut, ring + cut, len - cut);
	CHECK(gw_decode(flat, n, GROUP, &d) == -GW_ERR_CHECKSUM);

	/* DATA: a bare header, then a slice of the ring. */
	frame_init(&f, GW_DATA, GW_F_RETRANS);
	f.u.data.len = 1000;
	f.u.data.data = payload + 5;
	uint8_t dh[GW_HDR];
	gw_put_hdr(dh, GW_DATA, GW_F_RETRANS, GROUP, f.h.epoch, f.h.sender, 1000, f.h.seq);
	struct drv_iov div[2] = { { dh, GW_HDR }, { payload + 5, 1000 } };
	gw_seal(div, 2);
	memcpy(flat, dh, GW_HDR);
	memcpy(flat + GW_HDR, payload + 5, 1000);
	CHECK(gw_decode(flat, GW_HDR + 1000, GROUP, &d) == 0 && frame_eq(&f, &d));
	CHECK(gw_encode(&f, GROUP, buf, sizeof(buf)) == GW_HDR + 1000);
	CHECK(memcmp(flat, buf, GW_HDR + 1000) == 0);
}

static void
test_strerror(void)
{
	for (int e = 1; e < GW_ERR_MAX; e++) {
		CHECK(strcmp(gw_strerror(-e), "?") != 0);
		CHECK(gw_strerror(-e) == gw_strerror(e));
		for (int o = 1; o < e; o++)
			CHECK(strcmp(gw_strerror(-e), gw_strerror(-o)) != 0);
	}
	CHECK(strcmp(gw_strerror(-GW_ERR_CHECKSUM), "bad checksum") == 0);
	CHECK(strcmp(gw_strerror(0), "?") == 0);
	CHECK(strcmp(gw_strerror(-GW_ERR_MAX), "?") == 0);
}

/* ---- (6): the fuzz target's seed corpus ---- */

static void
write_corpus(const char *dir)
{
	for (int t = GW_DATA; t < GW_TYPE_MAX; t++) {
		struct gw_frame f, d;
		sample(&f, (enum gw_type)t);
		size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
		CHECK(n > GW_HDR && gw_decode(buf, n, GROUP, &d) == 0);
		char path[512];
		snprintf(path, sizeof(path), "%s/type-%d", dir, t);
		FILE *fp = fopen(path, "wb");
		CHECK(fp != NULL);
		if (fp) {
			CHECK(fwrite(buf, 1, n, fp) == n);
			CHECK(fclose(fp) == 0);
		}
	}
}

int
main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 131 + 7 + (i >> 8));
	test_round_trips();
	test_header();
	test_data();
	test_batch();
	test_status();
	test_nak();
	test_heartbeat();
	test_encoder();
	test_gather();
	test_strerror();
	if (argc > 1)
		write_corpus(argv[1]);
	return tap_done();
}
