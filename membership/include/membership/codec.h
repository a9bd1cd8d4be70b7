/* SPDX-License-Identifier: MIT */
/*
 * The wire form of membership messages: little-endian, fixed header, a body
 * that carries only the members in use, an FNV-1a checksum. mbr_decode()
 * validates every field before anything is used and says why it refused;
 * the caller drops and counts (DESIGN.md §5: never trusted).
 *
 *   header (64 bytes): magic "GMBR" u32, version u16, type u16, group u64,
 *     from u32, body_len u32, epoch u64, ballot u64, suspects u64,
 *     accepted_ballot u64, checksum u64 (FNV-1a of the frame, this field 0)
 *   body: joiners (n u32, n x id u32), then by type: PROMISE: row (n u32,
 *     n x (recv u64, delivered u64)), then a
 *     proposal if accepted_ballot != 0; ACCEPT, DECIDE: a proposal
 *     (epoch u64, n u32, n x id u32, trim n u32, n x count u64); others: empty.
 */
#ifndef GALE_MEMBERSHIP_CODEC_H
#define GALE_MEMBERSHIP_CODEC_H

#include "membership/mbr.h"

#include <stddef.h>
#include <stdint.h>

#define MBR_WIRE_MAGIC 0x52424d47u /* the bytes "GMBR" read little-endian */
#define MBR_WIRE_HDR 64
#define MBR_WIRE_MAX                                                                               \
	(MBR_WIRE_HDR + 4 + MBR_MAX * 4 + 4 + MBR_MAX * 16 + 12 + MBR_MAX * 4 + 4 + MBR_MAX * 8)

enum mbr_dec_err {
	MBR_DEC_TRUNCATED = 1, /* shorter than its header or its body says */
	MBR_DEC_MAGIC,
	MBR_DEC_VERSION, /* a peer speaking another version */
	MBR_DEC_GROUP,	 /* for another group */
	MBR_DEC_TYPE,
	MBR_DEC_LENGTH, /* body length or a count out of range */
	MBR_DEC_CHECKSUM,
	MBR_DEC_ERR_MAX
};

/* Encode m for `group` into buf (>= MBR_WIRE_MAX bytes); returns its length. */
size_t mbr_encode(const struct mbr_msg *m, uint64_t group, uint8_t *buf);
/* Decode and validate; 0, or -enum mbr_dec_err (out is then unspecified). */
int mbr_decode(const uint8_t *buf, size_t len, uint64_t group, struct mbr_msg *out);
const char *mbr_dec_strerror(int err);

#endif
