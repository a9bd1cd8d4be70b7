/* SPDX-License-Identifier: MIT */
/* Compiler and cache-line helpers shared by every layer. */
#ifndef GALE_BASE_COMPILER_H
#define GALE_BASE_COMPILER_H

#include "base/err.h"

#include <assert.h>

#define GB_CACHE_LINE 64
#define gb_cache_aligned __attribute__((aligned(GB_CACHE_LINE)))
#define gb_likely(x) __builtin_expect(!!(x), 1)
#define gb_unlikely(x) __builtin_expect(!!(x), 0)
#define gb_unused __attribute__((unused))
/* Ask for a line before it is needed: to write (an RFO ahead of the writer) or to read. */
#define gb_prefetch_w(p) __builtin_prefetch((p), 1, 3)
#define gb_prefetch_r(p) __builtin_prefetch((p), 0, 3)
#define GB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GB_MAX(a, b) ((a) > (b) ? (a) : (b))
#define GB_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))

/* Debug-only check of a programmer error. */
#ifdef NDEBUG
#define gb_assert(x) ((void)0)
#else
#define gb_assert(x) assert(x)
#endif

/*
 * Always-on check of an invariant whose violation would corrupt shared state
 * (an epoch going backwards, a ring position past its producer). Never used
 * to validate input.
 */
#define gb_verify(x)                                                                               \
	do {                                                                                       \
		if (gb_unlikely(!(x)))                                                             \
			gb_verify_failed(#x, __FILE__, __LINE__);                                  \
	} while (0)

static inline int
gb_is_pow2(unsigned long long x)
{
	return x && !(x & (x - 1));
}

static inline void
gb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

#endif
