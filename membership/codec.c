/* SPDX-License-Identifier: MIT */
#include "membership/codec.h"

#include "base/fnv.h"
#include "base/le.h"

#include <string.h>

#define CHECKSUM_OFF 56

static uint8_t *
put_proposal(uint8_t *p, const struct mbr_proposal *pr, uint32_t trim_n)
{
	p = gb_put64le(p, pr->view.epoch);
	p = gb_put32le(p, pr->view.n);
	for (uint32_t i = 0; i < pr->view.n; i++)
		p = gb_put32le(p, pr->view.ids[i]);
	p = gb_put32le(p, trim_n);
	for (uint32_t i = 0; i < trim_n; i++)
		p = gb_put64le(p, pr->trim.count[i]);
	return p;
}

static bool
has_proposal(const struct mbr_msg *m)
{
	return m->type == MBR_ACCEPT || m->type == MBR_DECIDE ||
	       (m->type == MBR_PROMISE && m->accepted_ballot != 0);
}

size_t
mbr_encode(const struct mbr_msg *m, uint64_t group, uint8_t *buf)
{
	/* The trim covers the senders of the old view: as many as it has members. */
	uint32_t trim_n = MBR_MAX;
	while (trim_n && !m->proposal.trim.count[trim_n - 1])
		trim_n--;
	uint8_t *p = buf + MBR_WIRE_HDR;
	uint32_t jn = m->n_joiners <= MBR_MAX ? m->n_joiners : MBR_MAX;
	p = gb_put32le(p, jn);
	for (uint32_t i = 0; i < jn; i++)
		p = gb_put32le(p, m->joiners[i]);
	if (m->type == MBR_PROMISE) {
		uint32_t rn = MBR_MAX;
		while (rn && !m->row.recv[rn - 1] && !m->row.delivered[rn - 1])
			rn--;
		p = gb_put32le(p, rn);
		for (uint32_t i = 0; i < rn; i++) {
			p = gb_put64le(p, m->row.recv[i]);
			p = gb_put64le(p, m->row.delivered[i]);
		}
	}
	if (has_proposal(m))
		p = put_proposal(p, &m->proposal, trim_n);
	uint32_t body = (uint32_t)(p - buf - MBR_WIRE_HDR);
	uint8_t *h = buf;
	h = gb_put32le(h, MBR_WIRE_MAGIC);
	*h++ = (uint8_t)m->version;
	*h++ = (uint8_t)(m->version >> 8);
	*h++ = (uint8_t)m->type;
	*h++ = (uint8_t)(m->type >> 8);
	h = gb_put64le(h, group);
	h = gb_put32le(h, m->from);
	h = gb_put32le(h, body);
	h = gb_put64le(h, m->epoch);
	h = gb_put64le(h, m->ballot);
	h = gb_put64le(h, m->suspects);
	h = gb_put64le(h, m->accepted_ballot);
	gb_put64le(h, 0);
	size_t len = MBR_WIRE_HDR + body;
	gb_put64le(buf + CHECKSUM_OFF, gb_fnv1a64(buf, len));
	return len;
}

/* A proposal from [*pp, end); false if it does not fit or counts are out of range. */
static bool
get_proposal(const uint8_t **pp, const uint8_t *end, struct mbr_proposal *pr)
{
	const uint8_t *p = *pp;
	if (end - p < 12)
		return false;
	pr->view.epoch = gb_get64le(p);
	pr->view.n = gb_get32le(p + 8);
	p += 12;
	if (pr->view.n < 1 || pr->view.n > MBR_MAX || (size_t)(end - p) < 4u * pr->view.n + 4)
		return false;
	for (uint32_t i = 0; i < pr->view.n; i++, p += 4)
		pr->view.ids[i] = gb_get32le(p);
	uint32_t tn = gb_get32le(p);
	p += 4;
	if (tn > MBR_MAX || (size_t)(end - p) < 8u * tn)
		return false;
	for (uint32_t i = 0; i < tn; i++, p += 8)
		pr->trim.count[i] = gb_get64le(p);
	/* One encoding per message: the encoder writes no trailing zero count. */
	if (tn && !pr->trim.count[tn - 1])
		return false;
	*pp = p;
	return true;
}

int
mbr_decode(const uint8_t *buf, size_t len, uint64_t group, struct mbr_msg *out)
{
	if (len < MBR_WIRE_HDR)
		return -MBR_DEC_TRUNCATED;
	if (gb_get32le(buf) != MBR_WIRE_MAGIC)
		return -MBR_DEC_MAGIC;
	uint16_t version = (uint16_t)(buf[4] | buf[5] << 8);
	if (version != MBR_VERSION)
		return -MBR_DEC_VERSION;
	uint32_t body = gb_get32le(buf + 20);
	if (body > MBR_WIRE_MAX - MBR_WIRE_HDR)
		return -MBR_DEC_LENGTH;
	if (len < MBR_WIRE_HDR + (size_t)body)
		return -MBR_DEC_TRUNCATED;
	if (len > MBR_WIRE_HDR + (size_t)body)
		return -MBR_DEC_LENGTH;
	/* The checksum first: nothing below reads a corrupted field. */
	uint8_t hdr[MBR_WIRE_HDR];
	memcpy(hdr, buf, sizeof(hdr));
	memset(hdr + CHECKSUM_OFF, 0, 8);
	uint64_t sum = gb_fnv1a64(hdr, sizeof(hdr));
	for (size_t i = MBR_WIRE_HDR; i < len; i++) {
		sum ^= buf[i];
		sum *= GB_FNV64_PRIME;
	}
	if (sum != gb_get64le(buf + CHECKSUM_OFF))
		return -MBR_DEC_CHECKSUM;
	if (gb_get64le(buf + 8) != group)
		return -MBR_DEC_GROUP;
	memset(out, 0, sizeof(*out));
	out->version = version;
	out->type = (uint16_t)(buf[6] | buf[7] << 8);
	if (out->type < MBR_HEARTBEAT || out->type >= MBR_TYPE_MAX)
		return -MBR_DEC_TYPE;
	out->from = gb_get32le(buf + 16);
	out->epoch = gb_get64le(buf + 24);
	out->ballot = gb_get64le(buf + 32);
	out->suspects = gb_get64le(buf + 40);
	out->accepted_ballot = gb_get64le(buf + 48);
	const uint8_t *p = buf + MBR_WIRE_HDR, *end = buf + len;
	if (end - p < 4)
		return -MBR_DEC_TRUNCATED;
	out->n_joiners = gb_get32le(p);
	p += 4;
	if (out->n_joiners > MBR_MAX || (size_t)(end - p) < 4u * out->n_joiners)
		return -MBR_DEC_LENGTH;
	for (uint32_t i = 0; i < out->n_joiners; i++, p += 4)
		out->joiners[i] = gb_get32le(p);
	if (out->type == MBR_PROMISE) {
		if (end - p < 4)
			return -MBR_DEC_TRUNCATED;
		uint32_t rn = gb_get32le(p);
		p += 4;
		if (rn > MBR_MAX || (size_t)(end - p) < 16u * rn)
			return -MBR_DEC_LENGTH;
		for (uint32_t i = 0; i < rn; i++, p += 16) {
			out->row.recv[i] = gb_get64le(p);
			out->row.delivered[i] = gb_get64le(p + 8);
		}
	}
	if (has_proposal(out) && !get_proposal(&p, end, &out->proposal))
		return -MBR_DEC_LENGTH;
	if (p != end)
		return -MBR_DEC_LENGTH; /* bytes the type does not explain */
	return 0;
}

const char *
mbr_dec_strerror(int err)
{
	static const char *const why[] = {
		[MBR_DEC_TRUNCATED] = "truncated",
		[MBR_DEC_MAGIC] = "not a membership message (magic)",
		[MBR_DEC_VERSION] = "another protocol version",
		[MBR_DEC_GROUP] = "for another group",
		[MBR_DEC_TYPE] = "unknown message type",
		[MBR_DEC_LENGTH] = "lengths or counts out of range",
		[MBR_DEC_CHECKSUM] = "bad checksum",
	};
	if (err < 0)
		err = -err;
	return err > 0 && err < MBR_DEC_ERR_MAX ? why[err] : "unknown";
}
