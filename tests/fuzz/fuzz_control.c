/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the membership message decoder, and the state machine
 * fed with whatever decodes. Whatever the bytes: no crash, no sanitizer
 * report; a frame that decodes re-encodes to the same bytes (one encoding
 * per message, so nothing is accepted that the encoder would not write).
 */
#include "membership/codec.h"

#include <stdlib.h>
#include <string.h>

#define GROUP 0x1234abcdull

static void
no_send(void *arg, uint32_t to, const struct mbr_msg *m)
{
	(void)arg, (void)to, (void)m;
}

static void
no_action(void *arg, enum mbr_action a, const struct mbr_proposal *p)
{
	(void)arg, (void)a, (void)p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mbr_msg m;
	static uint8_t again[MBR_WIRE_MAX];
	if (mbr_decode(data, size, GROUP, &m) != 0)
		return 0;
	size_t len = mbr_encode(&m, GROUP, again);
	if (len != size || memcmp(again, data, size) != 0)
		abort();
	static struct mbr sm;
	struct mbr_view v = { .epoch = 1, .n = 3, .ids = { 0, 1, 2 } };
	struct mbr_conf c = { .my_id = 0 };
	struct mbr_ops ops = { .send = no_send, .action = no_action };
	mbr_init(&sm, &c, &ops, &v, 0);
	m.epoch = 1; /* let it reach the protocol, not only the epoch filter */
	mbr_on_msg(&sm, &m, 1000);
	mbr_tick(&sm, 2000000000ull);
	return 0;
}
