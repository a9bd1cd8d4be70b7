/* SPDX-License-Identifier: MIT */
/*
 * A sequence lock: one writer rewrites a set of fields now and then;
 * readers never block it, and tell a consistent read from a torn one by
 * reading the lock word before and after the fields.
 *
 * The lock word's values are the writer's: it stores a "being written"
 * value when it starts (an epoch lock stores 0, a counter lock an odd
 * number) and the new stable value when it is done. A reader takes a read
 * as consistent when the value it saw before is a stable one it expects and
 * the value after is the same.
 *
 *   writer:  gb_seq_write_begin(&s, busy)   (W1)
 *            ... store the fields (relaxed or release) ...
 *            gb_seq_write_end(&s, stable)  (W2)
 *   reader:  v = gb_seq_read_begin(&s)      (R1)
 *            ... load the fields with gb_seq_load() (acquire, R2) ...
 *            gb_seq_read_valid(&s, v)       (R3)
 *
 * W1: an acq_rel exchange: its acquire half keeps the field stores after
 *     it; a reader that sees a field's new value (R2, acquire) sees the
 *     busy value or a later one at R3.
 * W2: a release store: the field stores are before it; pairs with R1.
 * R1: acquire: pairs with W2; fields read after it are at least that write's.
 * R2: the fields are loaded with acquire, so that R3's re-read cannot move
 *     before them (a fence would do it too, but sanitizers see these).
 * R3: relaxed, after the acquire loads of R2.
 */
#ifndef GALE_BASE_SEQLOCK_H
#define GALE_BASE_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

static inline void
gb_seq_write_begin(_Atomic uint64_t *s, uint64_t busy)
{
	/* W1 */
	atomic_exchange_explicit(s, busy, memory_order_acq_rel);
}

static inline void
gb_seq_write_end(_Atomic uint64_t *s, uint64_t stable)
{
	/* W2: pairs with R1. */
	atomic_store_explicit(s, stable, memory_order_release);
}

static inline uint64_t
gb_seq_read_begin(const _Atomic uint64_t *s)
{
	/* R1: pairs with W2. */
	return atomic_load_explicit(s, memory_order_acquire);
}

/* A field read under the lock (R2). */
static inline uint64_t
gb_seq_load(const _Atomic uint64_t *field)
{
	return atomic_load_explicit(field, memory_order_acquire);
}

static inline bool
gb_seq_read_valid(const _Atomic uint64_t *s, uint64_t begin)
{
	/* R3: after the acquire loads of R2. */
	return atomic_load_explicit(s, memory_order_relaxed) == begin;
}

#endif
