/* SPDX-License-Identifier: MIT */
/*
 * What the dataplane keeps in each member's region (after the driver's
 * header): a status row and a send ring. Every byte has one writer, the
 * owning member's dataplane thread (the app thread writes record payloads
 * it claimed, before they are published). Peers only read.
 *
 *   region:  [driver header 4 KiB][dp_row][pad to page][ring: ring_bytes]
 *
 * A ring is a log of records, each a 16-byte header and its payload, padded
 * to DP_REC_ALIGN (16 bytes: a 64-byte message takes 80 bytes, not two
 * cache lines; a writer prefetches the lines ahead, app_fp.c). Positions are byte counts that only
 * grow; pos & (size - 1) is the offset. A record never wraps: the rest of the ring is filled with
 * a PAD record instead.
 */
#ifndef GALE_DATAPLANE_LAYOUT_H
#define GALE_DATAPLANE_LAYOUT_H

#include "base/compiler.h"
#include "gale/gale.h"

#include <stdatomic.h>
#include <stdint.h>

#define DP_LAYOUT_VERSION 3
#define DP_REC_ALIGN 16

/* dp_rec.len_flags: low 24 bits payload length, high bits flags. */
#define DP_REC_LEN_MASK 0x00ffffffu
#define DP_REC_PAD 0x01000000u /* filler up to the end of the ring; no message */

struct dp_rec {
	uint32_t len_flags;
	uint32_t epoch; /* low 32 bits of the epoch it was sent in */
	uint64_t round; /* total-order round (TOTAL, SAFE); 0 in FIFO */
};
static_assert(sizeof(struct dp_rec) == 16, "record header is 16 bytes");
static_assert(DP_REC_ALIGN % sizeof(struct dp_rec) == 0, "headers stay aligned");

/* Status states (dp_row.state). */
enum { DP_STATE_INIT = 0, DP_STATE_RUNNING = 1, DP_STATE_STOPPED = 2, DP_STATE_LEFT = 3 };

/*
 * The status row (Derecho's SST row): how far this member has received and
 * released every sender's ring, and how far its own ring is published.
 * Indexed by rank in the view of row_epoch. Ring positions and rounds only
 * grow, across views too: a promise (next_round) read in any epoch holds in
 * the next one.
 */
struct dp_row {
	/* Set once before the region is published. */
	uint32_t layout_version;
	uint32_t member_id;
	uint32_t mode;
	uint32_t n_members;
	uint64_t ring_bytes;
	uint64_t epoch; /* the first view's */
	uint32_t member_ids[GALE_MAX_MEMBERS];
	uint16_t ctl_port; /* UDP port of this member's control plane on 127.0.0.1 */

	/* Producer line: this member's own ring. */
	gb_cache_aligned _Atomic uint64_t tail; /* bytes published; R1 pairs with A1 */
	_Atomic uint64_t next_round; /* no future record has a smaller round; R2 pairs with A2 */
	_Atomic uint64_t sent_msgs;  /* messages published in this epoch */

	/* Heartbeat line: bumped by every dataplane pass, read by peers every
	 * ms (alone on its line: the state line below is read every pass). */
	gb_cache_aligned _Atomic uint64_t heartbeat;
	/* State line. */
	gb_cache_aligned _Atomic uint32_t state; /* DP_STATE_*; R8 pairs with A8 (liveness) */
	_Atomic uint32_t failed_id;   /* with DP_STATE_STOPPED: the member it saw fail or leave */
	_Atomic uint32_t stop_status; /* with DP_STATE_STOPPED: its enum gale_status */
	/*
	 * The epoch the rank-indexed arrays below describe, as a sequence lock:
	 * 0 while they are rewritten for a new view (R14), then the epoch
	 * (release). A reader uses recv_pos/freed_pos only if it read its own
	 * epoch here before and after (A14).
	 */
	_Atomic uint64_t row_epoch;
	_Atomic uint64_t epoch_base; /* ring position where this epoch's records start */

	/* Bytes of each sender's ring this member has seen (SAFE stability). */
	gb_cache_aligned _Atomic uint64_t recv_pos[GALE_MAX_MEMBERS];
	/* Bytes of each sender's ring this member has released (flow control). */
	gb_cache_aligned _Atomic uint64_t freed_pos[GALE_MAX_MEMBERS];
};
static_assert(offsetof(struct dp_row, tail) % GB_CACHE_LINE == 0, "producer line aligned");
static_assert(offsetof(struct dp_row, heartbeat) - offsetof(struct dp_row, tail) >= GB_CACHE_LINE,
	      "producer and heartbeat lines apart");
static_assert(offsetof(struct dp_row, state) - offsetof(struct dp_row, heartbeat) >=
			      GB_CACHE_LINE &&
		      offsetof(struct dp_row, row_epoch) / GB_CACHE_LINE ==
			      offsetof(struct dp_row, state) / GB_CACHE_LINE,
	      "the heartbeat alone on its line; row_epoch on the state line");
static_assert(offsetof(struct dp_row, recv_pos) % GB_CACHE_LINE == 0, "recv row aligned");
static_assert(offsetof(struct dp_row, freed_pos) % GB_CACHE_LINE == 0, "freed row aligned");

#define DP_PAGE 4096
#define DP_ROW_OFFSET 4096 /* after the driver's header (DRV_REGION_HDR_BYTES) */
#define DP_RING_OFFSET GB_ALIGN_UP((uint64_t)DP_ROW_OFFSET + sizeof(struct dp_row), DP_PAGE)

static inline uint64_t
dp_region_bytes(uint64_t ring_bytes)
{
	return DP_RING_OFFSET + ring_bytes;
}

static inline uint64_t
dp_rec_bytes(uint32_t len)
{
	return GB_ALIGN_UP((uint64_t)sizeof(struct dp_rec) + len, DP_REC_ALIGN);
}

#endif
