/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the datagram frame decoder (dataplane/wire.h). Whatever
 * the bytes: no crash, no sanitizer report; a frame that decodes re-encodes
 * to the same bytes (one encoding per frame, so nothing is accepted that
 * the encoder would not write). Each input is also tried with its checksum
 * made right, so the body checks are reached and not only the checksum's.
 */
#include "wire.h" /* dataplane/wire.h */

#include <stdlib.h>
#include <string.h>

#define GROUP 0x5eed5eedull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const uint8_t *data, size_t size)
{
	static struct gw_frame f;
	static uint8_t again[GW_MAX_FRAME];
	if (gw_decode(data, size, GROUP, &f) != 0)
		return;
	size_t n = gw_encode(&f, GROUP, again, sizeof(again));
	if (n != size || memcmp(again, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sealed[GW_MAX_FRAME];
	one(data, size);
	if (size >= GW_HDR && size <= sizeof(sealed)) {
		memcpy(sealed, data, size);
		struct drv_iov iov = { sealed, (uint32_t)size };
		gw_seal(&iov, 1);
		one(sealed, size);
	}
	return 0;
}
