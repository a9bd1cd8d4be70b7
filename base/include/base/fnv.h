/* SPDX-License-Identifier: MIT */
/* 64-bit FNV-1a: the delivery logs' digest, the group hash, frame checksums. */
#ifndef GALE_BASE_FNV_H
#define GALE_BASE_FNV_H

#include <stddef.h>
#include <stdint.h>

#define GB_FNV64_OFFSET 0xcbf29ce484222325ull
#define GB_FNV64_PRIME 0x100000001b3ull

/* Continue a digest h over more bytes (start from GB_FNV64_OFFSET). */
static inline uint64_t
gb_fnv1a64_update(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= GB_FNV64_PRIME;
	}
	return h;
}

static inline uint64_t
gb_fnv1a64(const void *data, size_t len)
{
	return gb_fnv1a64_update(GB_FNV64_OFFSET, data, len);
}

#endif
