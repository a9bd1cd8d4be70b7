/* SPDX-License-Identifier: MIT */
/*
 * The membership wire codec: every message type round-trips; every
 * truncation, every flipped byte, another version or group is refused with
 * its reason and never decoded into a message.
 */
#include "tap.h"

#include "membership/codec.h"

#include <string.h>

#define GROUP 0x1234abcdull

static uint64_t rng = 42;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
random_msg(struct mbr_msg *m, enum mbr_type t)
{
	memset(m, 0, sizeof(*m));
	m->version = MBR_VERSION;
	m->type = (uint16_t)t;
	m->from = (uint32_t)rnd();
	m->epoch = rnd();
	m->ballot = rnd();
	m->suspects = rnd();
	m->accepted_ballot = t == MBR_PROMISE && rnd() % 2 ? 0 : rnd() | 1;
	if (t != MBR_PROMISE && t != MBR_ACCEPT && t != MBR_DECIDE)
		m->accepted_ballot = rnd();
	uint32_t n = 1 + (uint32_t)(rnd() % MBR_MAX);
	m->n_joiners = (uint32_t)(rnd() % 4);
	for (uint32_t i = 0; i < m->n_joiners; i++)
		m->joiners[i] = (uint32_t)rnd();
	if (t == MBR_ACCEPT || t == MBR_DECIDE || (t == MBR_PROMISE && m->accepted_ballot)) {
		m->proposal.view.epoch = rnd();
		m->proposal.view.n = n;
		for (uint32_t i = 0; i < n; i++) {
			m->proposal.view.ids[i] = (uint32_t)rnd();
			m->proposal.trim.count[i] = rnd() | 1;
		}
	}
	if (t == MBR_PROMISE)
		for (uint32_t i = 0; i < n; i++) {
			m->row.recv[i] = rnd() | 1;
			m->row.delivered[i] = rnd();
		}
}

int
main(void)
{
	static uint8_t buf[MBR_WIRE_MAX], bad[MBR_WIRE_MAX];
	struct mbr_msg m, d;
	int frames = 0;
	for (int round = 0; round < 200; round++) {
		for (int t = MBR_HEARTBEAT; t < MBR_TYPE_MAX; t++) {
			random_msg(&m, (enum mbr_type)t);
			size_t len = mbr_encode(&m, GROUP, buf);
			CHECK(len >= MBR_WIRE_HDR && len <= MBR_WIRE_MAX);
			CHECK(mbr_decode(buf, len, GROUP, &d) == 0);
			CHECK(memcmp(&m, &d, sizeof(m)) == 0);
			CHECK(mbr_decode(buf, len, GROUP + 1, &d) == -MBR_DEC_GROUP);
			for (size_t cut = 0; cut < len; cut += 1 + cut / 8)
				CHECK(mbr_decode(buf, cut, GROUP, &d) < 0);
			CHECK(mbr_decode(buf, len + 1, GROUP, &d) == -MBR_DEC_LENGTH);
			size_t at = rnd() % len;
			memcpy(bad, buf, len);
			bad[at] ^= (uint8_t)(1 + rnd() % 255);
			CHECK(mbr_decode(bad, len, GROUP, &d) < 0);
			frames++;
		}
	}
	/* Another version: refused as such, even with a valid checksum. */
	random_msg(&m, MBR_HEARTBEAT);
	m.version = MBR_VERSION + 1;
	size_t len = mbr_encode(&m, GROUP, buf);
	CHECK(mbr_decode(buf, len, GROUP, &d) == -MBR_DEC_VERSION);
	CHECK(strcmp(mbr_dec_strerror(-MBR_DEC_VERSION), "another protocol version") == 0);
	diag("%d frames round-tripped, truncated, corrupted", frames);
	return tap_done();
}
