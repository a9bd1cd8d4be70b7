/* SPDX-License-Identifier: MIT */
/*
 * The wire format of the datagram drivers (udp, dpdk: DESIGN.md §5), in
 * one place. Every frame is a fixed 48-byte header and a body; all integers
 * little-endian, whatever the host:
 *
 *   off size field
 *     0   4  magic "GALW" (0x574c4147 read little-endian)
 *     4   1  version (GW_VERSION)
 *     5   1  type (enum gw_type)
 *     6   2  flags (0; reserved)
 *     8   8  group: FNV-1a 64 of the group name
 *    16   8  epoch of the view the frame belongs to
 *    24   4  sender: member id
 *    28   4  body_len: bytes after the header
 *    32   8  seq: the (first) message sequence number it carries, or 0
 *    40   8  checksum: FNV-1a 64 of header and body, this field taken as 0
 *
 * Bodies, by type:
 *   DATA, RETRANS  msg_len u32, frag_off u32, then the payload: bytes
 *                  [frag_off, frag_off + n) of message seq, msg_len bytes in
 *                  all (a message larger than a frame goes as fragments)
 *   BATCH          count u16, then count x (len u32, len bytes): whole
 *                  messages seq, seq + 1, ...
 *   STATUS         n u32, then n x recv u64: messages received per sender rank
 *   NAK            target u32 (whose messages are missing), n u32, then
 *                  n x (from u64, to u64): the gaps [from, to), ascending,
 *                  apart, non-empty
 *   HEARTBEAT      sent_ns u64
 *
 * gw_decode() checks every field, lengths and counts before anything is
 * used, and says why it refused (enum gw_err): the caller drops and counts.
 * Whether the epoch and sender belong to the current view is the caller's
 * check (it knows the view).
 */
#ifndef GALE_DATAPLANE_WIRE_H
#define GALE_DATAPLANE_WIRE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define GW_MAGIC 0x574c4147u /* the bytes "GALW" */
#define GW_VERSION 1
#define GW_HDR 48
#define GW_MAX_FRAME 65535     /* largest frame (a UDP datagram's payload bound) */
#define GW_MAX_MSG (16u << 20) /* largest message, in fragments */
#define GW_MAX_BATCH 512       /* messages in one BATCH frame */
#define GW_MAX_RANKS 64	       /* entries of a STATUS row */
#define GW_MAX_NAK 64	       /* gaps in one NAK */

enum gw_type { GW_DATA = 1, GW_BATCH, GW_STATUS, GW_NAK, GW_HEARTBEAT, GW_RETRANS, GW_TYPE_MAX };

enum gw_err {
	GW_ERR_TRUNCATED = 1, /* shorter than its header, or than body_len says */
	GW_ERR_MAGIC,
	GW_ERR_VERSION, /* a peer speaking another version */
	GW_ERR_TYPE,
	GW_ERR_GROUP,  /* for another group */
	GW_ERR_LENGTH, /* longer than body_len says, or over GW_MAX_FRAME */
	GW_ERR_CHECKSUM,
	GW_ERR_BODY, /* a body inconsistent with its type (counts, offsets, order) */
	GW_ERR_MAX
};

struct gw_hdr {
	uint32_t magic;
	uint8_t version, type;
	uint16_t flags;
	uint64_t group;
	uint64_t epoch;
	uint32_t sender;
	uint32_t body_len;
	uint64_t seq;
	uint64_t checksum;
};
static_assert(sizeof(struct gw_hdr) == GW_HDR, "the wire header is 48 bytes");
static_assert(offsetof(struct gw_hdr, checksum) == 40, "checksum at offset 40");

struct gw_range {
	uint64_t from, to;
};

/* A frame, decoded (payloads point into the buffer decoded) or to encode. */
struct gw_frame {
	struct gw_hdr h;
	union {
		struct { /* DATA, RETRANS */
			uint32_t msg_len, frag_off, len;
			const uint8_t *data;
		} data;
		struct { /* BATCH */
			uint32_t count;
			uint32_t len[GW_MAX_BATCH];
			const uint8_t *data[GW_MAX_BATCH];
		} batch;
		struct { /* STATUS */
			uint32_t n;
			uint64_t recv[GW_MAX_RANKS];
		} status;
		struct { /* NAK */
			uint32_t target, n;
			struct gw_range gap[GW_MAX_NAK];
		} nak;
		struct { /* HEARTBEAT */
			uint64_t sent_ns;
		} hb;
	} u;
};

/*
 * Encode f (type, epoch, sender, seq from f->h; magic, version, group,
 * body_len and checksum are filled in) into buf of cap bytes. Returns the
 * frame's length, or 0 if it does not fit in cap or GW_MAX_FRAME, or f is
 * not a frame gw_decode() would accept.
 */
size_t gw_encode(const struct gw_frame *f, uint64_t group, uint8_t *buf, size_t cap);
/* Decode and validate; 0, or -enum gw_err (out is then unspecified). */
int gw_decode(const uint8_t *buf, size_t len, uint64_t group, struct gw_frame *out);
const char *gw_strerror(int err);

#endif
