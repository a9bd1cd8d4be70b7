/* SPDX-License-Identifier: MIT */
/*
 * The positions of a single-producer single-consumer ring. The entries are
 * the caller's: an array of `size` entries (a power of two), position p
 * being entry p & (size - 1). Positions only grow (64 bits do not wrap in
 * the life of a process), so head - tail is the number of entries in use.
 * Each position has one writer and sits on its own cache line, with the
 * writer's cached copy of the other position beside it. The struct holds
 * no pointer: it may live in shared memory (the control block).
 *
 *   producer:  n = gb_spsc_free(r, size)     entries [head, head + n) are free
 *              ... write them ...
 *              gb_spsc_publish(r, head + k)  (S1)
 *   consumer:  h = gb_spsc_head(r)           entries [tail, h) are written (A1)
 *              ... read them ...
 *              gb_spsc_release(r, tail + k)  (S2)
 *
 * S1: the release store of head orders the entries' writes before it; it
 *     pairs with A1, the consumer's acquire load of head in gb_spsc_head().
 * S2: the release store of tail orders the consumer's reads of the entries
 *     before it; it pairs with A2, the producer's acquire load of tail in
 *     gb_spsc_free(), after which it may overwrite them.
 *
 * A consumer may read entries before it releases them, in batches, and
 * release later (the delivery queue hands entries to the application and
 * releases them when the application does). One thread may be both ends
 * (a queue inside the dataplane thread): the orders cost nothing there.
 */
#ifndef GALE_BASE_SPSC_H
#define GALE_BASE_SPSC_H

#include "base/compiler.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gb_spsc {
	/* Producer's line. */
	gb_cache_aligned _Atomic uint64_t head; /* entries below are written (S1) */
	uint64_t tail_seen;			/* the producer's last read of tail */
	/* Consumer's line. */
	gb_cache_aligned _Atomic uint64_t tail; /* entries below are done with (S2) */
	uint64_t head_seen;			/* the consumer's last read of head */
};
static_assert(sizeof(struct gb_spsc) == 2 * GB_CACHE_LINE, "one line per end");

/* Producer: its own head (it is the only writer: relaxed). */
static inline uint64_t
gb_spsc_prod_pos(const struct gb_spsc *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed);
}

/* Producer: how many entries are free at head (the tail is read again only
 * when the cached one says the ring is full). */
static inline uint64_t
gb_spsc_free(struct gb_spsc *r, uint64_t size)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (head - r->tail_seen >= size)
		/* A2: pairs with S2 in gb_spsc_release(); those entries are read. */
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	return size - (head - r->tail_seen);
}

/* Producer: how many entries are free by the tail it last read (with
 * gb_spsc_tail()), without reading it again: for a producer that acts on
 * each release and so reads the tail only where it does that. */
static inline uint64_t
gb_spsc_free_seen(const struct gb_spsc *r, uint64_t size)
{
	return size - (atomic_load_explicit(&r->head, memory_order_relaxed) - r->tail_seen);
}

/* Producer: the tail now (A2, as in gb_spsc_free()): entries below it are
 * done with. For a producer that acts on each release (the dataplane turns
 * released deliveries into freed ring space). */
static inline uint64_t
gb_spsc_tail(struct gb_spsc *r)
{
	/* A2: pairs with S2 in gb_spsc_release(). */
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	return r->tail_seen;
}

/* Producer: entries below `head` are written. */
static inline void
gb_spsc_publish(struct gb_spsc *r, uint64_t head)
{
	/* S1: pairs with A1 in gb_spsc_head(). */
	atomic_store_explicit(&r->head, head, memory_order_release);
}

/* Consumer: the head; entries below it are written. */
static inline uint64_t
gb_spsc_head(struct gb_spsc *r)
{
	/* A1: pairs with S1 in gb_spsc_publish(). */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	r->head_seen = h;
	return h;
}

/* Consumer: whether entries may be waiting: a relaxed look, no order (read
 * them after gb_spsc_head()). For a consumer that looks every pass. */
static inline bool
gb_spsc_any(const struct gb_spsc *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed) !=
	       atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* Consumer: its own tail (the only writer: relaxed). */
static inline uint64_t
gb_spsc_cons_pos(const struct gb_spsc *r)
{
	return atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* Consumer: entries below `tail` are done with; the producer may reuse them. */
static inline void
gb_spsc_release(struct gb_spsc *r, uint64_t tail)
{
	/* S2: pairs with A2 in gb_spsc_free(). */
	atomic_store_explicit(&r->tail, tail, memory_order_release);
}

/* Either end, for inspection (a racy snapshot): entries in use. */
static inline uint64_t
gb_spsc_count(const struct gb_spsc *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed) -
	       atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/* Both positions back to 0 (before either end uses the ring). */
static inline void
gb_spsc_init(struct gb_spsc *r)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	r->tail_seen = r->head_seen = 0;
}

#endif
