/* SPDX-License-Identifier: MIT */
/* 64-bit FNV-1a, the digest of the delivery logs. */
#ifndef GALE_BASE_FNV_H
#define GALE_BASE_FNV_H

#include <stddef.h>
#include <stdint.h>

#define GB_FNV64_OFFSET 0xcbf29ce484222325ull
#define GB_FNV64_PRIME 0x100000001b3ull

static inline uint64_t
gb_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = GB_FNV64_OFFSET;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= GB_FNV64_PRIME;
	}
	return h;
}

#endif
