/* SPDX-License-Identifier: MIT */
/*
 * The record iterator: the one rule for walking a send ring's log
 * (layout.h), used by every loop that reads or stamps records.
 *
 *   for (p = from; p < to; p = dp_rec_next(p, lf, mask)) {
 *           lf = dp_rec_at(ring, mask, p)->len_flags;   read once
 *           if (lf & DP_REC_PAD) continue;                no message
 *           if (!dp_rec_fits(p & mask, lf, max, size))   not a record:
 *                   ...                                  stop, or fail the peer
 *   }
 *
 * A PAD runs to the end of the ring; any other record is its 16-byte
 * header and its payload, rounded up to DP_REC_ALIGN. The header word is
 * read once and that value judged: a peer's ring may change under a reader.
 */
#ifndef GALE_DATAPLANE_REC_H
#define GALE_DATAPLANE_REC_H

#include "layout.h"

#include <stdbool.h>
#include <stdint.h>

static inline const struct dp_rec *
dp_rec_at(const uint8_t *ring, uint64_t ring_mask, uint64_t pos)
{
	return (const struct dp_rec *)(ring + (pos & ring_mask));
}

/* The position after the record at pos whose header word is lf. */
static inline uint64_t
dp_rec_next(uint64_t pos, uint32_t lf, uint64_t ring_mask)
{
	return (lf & DP_REC_PAD) ? (pos | ring_mask) + 1 : pos + dp_rec_bytes(lf & DP_REC_LEN_MASK);
}

/* A message record with header word lf could be at ring offset off: a
 * length from 1 to max_msg, and the record inside the ring. */
static inline bool
dp_rec_fits(uint64_t off, uint32_t lf, uint32_t max_msg, uint64_t ring_bytes)
{
	uint32_t len = lf & DP_REC_LEN_MASK;
	return !(lf & DP_REC_PAD) && len != 0 && len <= max_msg &&
	       off + dp_rec_bytes(len) <= ring_bytes;
}

/* Stamp the own records in [from, to) of a ring with an epoch and a round
 * (PADs get the epoch only). The writer's own ring: no check needed. */
static inline void
dp_rec_stamp(uint8_t *ring, uint64_t ring_mask, uint64_t from, uint64_t to, uint32_t epoch32,
	     uint64_t round)
{
	for (uint64_t p = from; p < to;) {
		struct dp_rec *h = (struct dp_rec *)(ring + (p & ring_mask));
		uint32_t lf = h->len_flags;
		h->epoch = epoch32;
		if (!(lf & DP_REC_PAD))
			h->round = round;
		p = dp_rec_next(p, lf, ring_mask);
	}
}

#endif
