/* SPDX-License-Identifier: MIT */
/*
 * The datagram wire format (dataplane/wire.h): every frame type round-trips
 * byte for byte; every truncation, every flipped byte, another version or
 * group, a bad body (counts, offsets, gap order) is refused with its reason.
 * With an argument DIR, it also writes one frame of each type to DIR as the
 * fuzz target's seed corpus.
 */
#include "tap.h"

#include "dataplane/wire.h"

#include <stdio.h>
#include <string.h>

#define GROUP 0x5eed5eedull

static uint8_t payload[3000];

/* One valid frame of each type (t), with varied contents. */
static void
sample(struct gw_frame *f, enum gw_type t)
{
	memset(f, 0, sizeof(*f));
	f->h.type = (uint8_t)t;
	f->h.epoch = 7;
	f->h.sender = 3;
	f->h.seq = 1000 + t;
	switch (t) {
	case GW_DATA:
	case GW_RETRANS:
		f->u.data.msg_len = 100000;
		f->u.data.frag_off = 4000;
		f->u.data.len = 1400;
		f->u.data.data = payload;
		break;
	case GW_BATCH:
		f->u.batch.count = 20;
		for (uint32_t i = 0; i < 20; i++) {
			f->u.batch.len[i] = 1 + i * 7;
			f->u.batch.data[i] = payload + i;
		}
		break;
	case GW_STATUS:
		f->u.status.n = 5;
		for (uint32_t i = 0; i < 5; i++)
			f->u.status.recv[i] = 1000000ull * i + 17;
		break;
	case GW_NAK:
		f->u.nak.target = 2;
		f->u.nak.n = 3;
		f->u.nak.gap[0] = (struct gw_range){ 10, 12 };
		f->u.nak.gap[1] = (struct gw_range){ 20, 21 };
		f->u.nak.gap[2] = (struct gw_range){ 30, 99 };
		break;
	case GW_HEARTBEAT:
		f->u.hb.sent_ns = 123456789;
		break;
	default:
		break;
	}
}

static void
test_round_trips(const char *corpus)
{
	static uint8_t buf[GW_MAX_FRAME], again[GW_MAX_FRAME];
	for (int t = GW_DATA; t < GW_TYPE_MAX; t++) {
		struct gw_frame f, d;
		sample(&f, (enum gw_type)t);
		size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
		CHECK(n > GW_HDR);
		CHECK(gw_decode(buf, n, GROUP, &d) == 0);
		CHECK(d.h.type == t && d.h.epoch == 7 && d.h.sender == 3 && d.h.seq == 1000u + t);
		CHECK(gw_encode(&d, GROUP, again, sizeof(again)) == n);
		CHECK(memcmp(buf, again, n) == 0); /* one encoding per frame */
		if (corpus) {
			char path[512];
			snprintf(path, sizeof(path), "%s/type-%d", corpus, t);
			FILE *fp = fopen(path, "wb");
			if (fp) {
				fwrite(buf, 1, n, fp);
				fclose(fp);
			}
		}
		/* Every truncation is refused. */
		for (size_t k = 0; k < n; k++)
			CHECK(gw_decode(buf, k, GROUP, &d) == -GW_ERR_TRUNCATED);
		/* A byte more than body_len says. */
		buf[n] = 0;
		CHECK(gw_decode(buf, n + 1, GROUP, &d) == -GW_ERR_LENGTH);
		/* Every flipped byte is refused (the checksum catches the rest). */
		for (size_t k = 0; k < n; k++) {
			buf[k] ^= 0x20;
			int rc = gw_decode(buf, n, GROUP, &d);
			CHECK(rc < 0);
			if (k < 4)
				CHECK(rc == -GW_ERR_MAGIC);
			buf[k] ^= 0x20;
		}
		CHECK(gw_decode(buf, n, GROUP + 1, &d) == -GW_ERR_GROUP);
	}
}

/* A header field rewritten, the checksum made right again: refused for its reason. */
static int
decode_with(uint8_t *buf, size_t n, size_t off, uint8_t v)
{
	static uint8_t copy[GW_MAX_FRAME];
	memcpy(copy, buf, n);
	copy[off] = v;
	/* Re-checksum the way the encoder does, so only the field is wrong. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= i >= 40 && i < 48 ? 0 : copy[i];
		h *= 0x100000001b3ull;
	}
	for (int i = 0; i < 8; i++)
		copy[40 + i] = (uint8_t)(h >> (8 * i));
	struct gw_frame d;
	return gw_decode(copy, n, GROUP, &d);
}

static void
test_fields(void)
{
	static uint8_t buf[GW_MAX_FRAME];
	struct gw_frame f;
	sample(&f, GW_NAK);
	size_t n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(decode_with(buf, n, 4, GW_VERSION + 1) == -GW_ERR_VERSION);
	CHECK(decode_with(buf, n, 5, GW_TYPE_MAX) == -GW_ERR_TYPE);
	CHECK(decode_with(buf, n, 5, 0) == -GW_ERR_TYPE);
	CHECK(decode_with(buf, n, 6, 1) == -GW_ERR_TYPE); /* reserved flags */
	CHECK(decode_with(buf, n, 8, (uint8_t)(GROUP + 1)) == -GW_ERR_GROUP);
	/* NAK body: a gap out of order (the second gap's from byte, offset 48+8+16). */
	CHECK(decode_with(buf, n, GW_HDR + 8 + 16, 5) == -GW_ERR_BODY);
	/* NAK with 0 gaps (n field at 48+4). */
	CHECK(decode_with(buf, n, GW_HDR + 4, 0) == -GW_ERR_BODY);

	/* DATA: a fragment past its message's end. */
	sample(&f, GW_DATA);
	n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(decode_with(buf, n, GW_HDR + 4 + 3, 0x7f) == -GW_ERR_BODY); /* frag_off huge */
	CHECK(decode_with(buf, n, GW_HDR + 3, 0x7f) == -GW_ERR_BODY);	  /* msg_len > max */
	/* BATCH: a length past the body. */
	sample(&f, GW_BATCH);
	n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(decode_with(buf, n, GW_HDR + 2 + 3, 0x7f) == -GW_ERR_BODY);
	CHECK(decode_with(buf, n, GW_HDR, 0) == -GW_ERR_BODY); /* count 20 -> 0 (low byte) */
	/* STATUS: more ranks than the body holds. */
	sample(&f, GW_STATUS);
	n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(decode_with(buf, n, GW_HDR, 6) == -GW_ERR_BODY);
	/* body_len over the frame limit. */
	sample(&f, GW_HEARTBEAT);
	n = gw_encode(&f, GROUP, buf, sizeof(buf));
	CHECK(decode_with(buf, n, 31, 0x01) == -GW_ERR_LENGTH);

	/* The encoder refuses what the decoder would. */
	static uint8_t out[GW_MAX_FRAME];
	sample(&f, GW_NAK);
	f.u.nak.gap[1] = (struct gw_range){ 11, 30 }; /* overlaps gap 0 */
	CHECK(gw_encode(&f, GROUP, out, sizeof(out)) == 0);
	sample(&f, GW_DATA);
	f.u.data.frag_off = 99000; /* 99000 + 1400 > 100000 */
	CHECK(gw_encode(&f, GROUP, out, sizeof(out)) == 0);
	sample(&f, GW_DATA);
	CHECK(gw_encode(&f, GROUP, out, 100) == 0); /* no room */
	CHECK(strcmp(gw_strerror(-GW_ERR_CHECKSUM), "bad checksum") == 0);
}

int
main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 131 + 7);
	test_round_trips(argc > 1 ? argv[1] : NULL);
	test_fields();
	return tap_done();
}
