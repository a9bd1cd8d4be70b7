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
 *     6   2  flags (GW_F_*: RETRANS, RELAY on DATA and BATCH; ANYONE on NAK)
 *     8   8  group: FNV-1a 64 of the group name
 *    16   8  epoch of the sender's view (its status row's row_epoch)
 *    24   4  sender: member id (whose ring a DATA or BATCH carries)
 *    28   4  body_len: bytes after the header
 *    32   8  seq: DATA, BATCH: ring position of the first byte; STATUS,
 *              HEARTBEAT: the sender's status counter; NAK: its NAK counter
 *    40   8  checksum: XXH3-64 of header bytes 0..39 and the body
 *
 * What travels is the sender's send ring (dataplane/layout.h): positions are
 * its byte positions, records are its 16-byte record headers and payloads.
 * A receiver writes them at the same positions of its mirror of that ring.
 *
 * Bodies, by type:
 *   DATA       raw ring bytes [seq, seq + body_len): a fragment of a record
 *              larger than a frame, or a retransmission
 *   BATCH      count u16, then count records, each its 16-byte header (the
 *              ring's dp_rec: len_flags u32, epoch u32, round u64) and its
 *              payload without the ring's alignment padding; a PAD record
 *              (no payload) stands for the rest of the ring up to its end
 *   STATUS     the sender's status row: the static part (configuration
 *              digest, layout version, mode, ring size, first epoch, initial
 *              member ids, control port) and the live part (tail, promise,
 *              heartbeat, state, row epoch and base, per-rank received and
 *              released positions); see struct gw_status
 *   NAK        target u32 (whose ring), n u32, then n x (from u64, to u64):
 *              byte ranges of that ring missing here, ascending, apart,
 *              non-empty
 *   HEARTBEAT  heartbeat u64, tail u64: liveness and the tail between rows
 *
 * Flags: GW_F_RETRANS a repair (answers a NAK); GW_F_RELAY sent by a member
 * other than the ring's owner (from its mirror, during a view change);
 * GW_F_ANYONE a NAK any member holding the bytes may answer (during a view
 * change); without it only the target answers, wherever the NAK arrives.
 *
 * gw_decode() checks every field, lengths and counts before anything is
 * used, and says why it refused (enum gw_err): the caller drops and counts.
 * Whether the epoch, sender and positions fit the current view and window is
 * the caller's check (it knows the view).
 */
#ifndef GALE_DATAPLANE_WIRE_H
#define GALE_DATAPLANE_WIRE_H

#include "drivers/drv.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define GW_MAGIC 0x574c4147u /* the bytes "GALW" */
#define GW_VERSION 1
#define GW_HDR 48
#define GW_MAX_FRAME 65535 /* largest frame (a UDP datagram's payload bound) */
#define GW_MAX_BATCH 1024  /* records in one BATCH frame */
#define GW_MAX_RANKS 64	   /* entries of a STATUS row */
#define GW_MAX_NAK 64	   /* gaps in one NAK */
#define GW_REC_HDR 16	   /* a ring record's header */
#define GW_REC_PAD 0x01000000u
#define GW_REC_LEN_MASK 0x00ffffffu

/* The record image on the wire is the ring's, byte for byte. */
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	      "records go on the wire as the ring holds them: little-endian hosts only");

enum gw_type { GW_DATA = 1, GW_BATCH, GW_STATUS, GW_NAK, GW_HEARTBEAT, GW_TYPE_MAX };

#define GW_F_RETRANS 0x1
#define GW_F_RELAY 0x2
#define GW_F_ANYONE 0x4 /* NAK: any member that has the bytes answers, not only the target */

enum gw_err {
	GW_ERR_TRUNCATED = 1, /* shorter than its header, or than body_len says */
	GW_ERR_MAGIC,
	GW_ERR_VERSION, /* a peer speaking another version */
	GW_ERR_TYPE,	/* unknown type, or flags it may not carry */
	GW_ERR_GROUP,	/* for another group */
	GW_ERR_LENGTH,	/* longer than body_len says, or over GW_MAX_FRAME */
	GW_ERR_CHECKSUM,
	GW_ERR_BODY, /* a body inconsistent with its type (counts, lengths, order) */
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

/* A status row as it travels (STATUS). */
struct gw_status {
	uint64_t conf_hash;
	uint32_t layout_version, mode;
	uint64_t ring_bytes, first_epoch;
	uint32_t n_init; /* initial view: 1..GW_MAX_RANKS ids */
	uint16_t ctl_port;
	uint32_t init_ids[GW_MAX_RANKS];
	uint64_t tail, next_round, sent_msgs, heartbeat;
	uint32_t state, failed_id, stop_status;
	uint64_t row_epoch, epoch_base;
	uint32_t n; /* ranks of row_epoch's view: 1..GW_MAX_RANKS */
	uint64_t recv[GW_MAX_RANKS], freed[GW_MAX_RANKS];
};

/* A frame, decoded (payloads point into the buffer decoded) or to encode. */
struct gw_frame {
	struct gw_hdr h;
	union {
		struct { /* DATA */
			uint32_t len;
			const uint8_t *data;
		} data;
		struct { /* BATCH: count records in len bytes */
			uint32_t count, len;
			const uint8_t *recs;
		} batch;
		struct gw_status status;
		struct { /* NAK */
			uint32_t target, n;
			struct gw_range gap[GW_MAX_NAK];
		} nak;
		struct { /* HEARTBEAT */
			uint64_t heartbeat, tail;
		} hb;
	} u;
};

/* Bytes of a STATUS body for n_init and n ranks. */
static inline size_t
gw_status_len(uint32_t n_init, uint32_t n)
{
	return 40 + 4 * (size_t)n_init + 64 + 16 * (size_t)n;
}

/*
 * Encode f (type, flags, epoch, sender, seq from f->h; magic, version,
 * group, body_len and checksum are filled in) into buf of cap bytes. Returns
 * the frame's length, or 0 if it does not fit in cap or GW_MAX_FRAME, or f
 * is not a frame gw_decode() would accept.
 */
size_t gw_encode(const struct gw_frame *f, uint64_t group, uint8_t *buf, size_t cap);
/*
 * The zero-copy way, for DATA and BATCH: write a 48-byte header (checksum
 * 0) at hdr, then gw_seal() the frame gathered as iov[0..n) (iov[0] starts
 * with that header; the rest may point into the send ring). The caller
 * keeps the body valid: a BATCH body's records as gw_decode() wants them.
 */
void gw_put_hdr(uint8_t *hdr, uint8_t type, uint16_t flags, uint64_t group, uint64_t epoch,
		uint32_t sender, uint32_t body_len, uint64_t seq);
void gw_seal(const struct drv_iov *iov, unsigned n);
/* Decode and validate; 0, or -enum gw_err (out is then unspecified). */
int gw_decode(const uint8_t *buf, size_t len, uint64_t group, struct gw_frame *out);
const char *gw_strerror(int err);

#endif
