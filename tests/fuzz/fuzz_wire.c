/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the datagram frame decoder (dataplane/wire.h). Whatever
 * the bytes: no crash, no sanitizer report; a frame that decodes re-encodes
 * to the same bytes (one encoding per frame, so nothing is accepted that
 * the encoder would not write).
 */
#include "dataplane/wire.h"

#include <stdlib.h>
#include <string.h>

#define GROUP 0x5eed5eedull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_frame f;
	static uint8_t again[GW_MAX_FRAME];
	if (gw_decode(data, size, GROUP, &f) != 0)
		return 0;
	size_t n = gw_encode(&f, GROUP, again, sizeof(again));
	if (n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
