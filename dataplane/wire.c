/* SPDX-License-Identifier: MIT */
/* The datagram wire format: see wire.h. */
#include "wire.h"

#include "base/fnv.h"
#include "base/le.h"

#include <stdbool.h>
#include <string.h>

#define CHECKSUM_OFF 40

/* FNV-1a 64 of the frame with its checksum field read as zeros. */
static uint64_t
frame_sum(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[8];
	uint64_t h = gb_fnv1a64_update(GB_FNV64_OFFSET, buf, CHECKSUM_OFF);
	h = gb_fnv1a64_update(h, zero, sizeof(zero));
	return gb_fnv1a64_update(h, buf + CHECKSUM_OFF + 8, len - CHECKSUM_OFF - 8);
}

/* A NAK's gaps: non-empty, ascending, apart. */
static bool
gaps_ok(const struct gw_range *g, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (g[i].from >= g[i].to || (i && g[i].from <= g[i - 1].to))
			return false;
	return true;
}

/* The body's length for f, or 0 if f is not a valid frame. */
static size_t
body_len(const struct gw_frame *f)
{
	switch (f->h.type) {
	case GW_DATA:
	case GW_RETRANS: {
		uint64_t end = (uint64_t)f->u.data.frag_off + f->u.data.len;
		if (!f->u.data.len || !f->u.data.msg_len || f->u.data.msg_len > GW_MAX_MSG ||
		    end > f->u.data.msg_len)
			return 0;
		return 8 + (size_t)f->u.data.len;
	}
	case GW_BATCH: {
		if (!f->u.batch.count || f->u.batch.count > GW_MAX_BATCH)
			return 0;
		size_t n = 2;
		for (uint32_t i = 0; i < f->u.batch.count; i++) {
			if (!f->u.batch.len[i] || f->u.batch.len[i] > GW_MAX_FRAME)
				return 0;
			n += 4 + (size_t)f->u.batch.len[i];
		}
		return n;
	}
	case GW_STATUS:
		return f->u.status.n <= GW_MAX_RANKS ? 4 + 8 * (size_t)f->u.status.n : 0;
	case GW_NAK:
		return f->u.nak.n >= 1 && f->u.nak.n <= GW_MAX_NAK &&
				       gaps_ok(f->u.nak.gap, f->u.nak.n)
			       ? 8 + 16 * (size_t)f->u.nak.n
			       : 0;
	case GW_HEARTBEAT:
		return 8;
	default:
		return 0;
	}
}

size_t
gw_encode(const struct gw_frame *f, uint64_t group, uint8_t *buf, size_t cap)
{
	size_t body = body_len(f);
	size_t len = GW_HDR + body;
	if (!body || len > cap || len > GW_MAX_FRAME)
		return 0;
	uint8_t *p = gb_put32le(buf, GW_MAGIC);
	*p++ = GW_VERSION;
	*p++ = f->h.type;
	p = gb_put16le(p, 0);
	p = gb_put64le(p, group);
	p = gb_put64le(p, f->h.epoch);
	p = gb_put32le(p, f->h.sender);
	p = gb_put32le(p, (uint32_t)body);
	p = gb_put64le(p, f->h.seq);
	p = gb_put64le(p, 0); /* checksum, below */
	switch (f->h.type) {
	case GW_DATA:
	case GW_RETRANS:
		p = gb_put32le(p, f->u.data.msg_len);
		p = gb_put32le(p, f->u.data.frag_off);
		memcpy(p, f->u.data.data, f->u.data.len);
		break;
	case GW_BATCH:
		p = gb_put16le(p, (uint16_t)f->u.batch.count);
		for (uint32_t i = 0; i < f->u.batch.count; i++) {
			p = gb_put32le(p, f->u.batch.len[i]);
			memcpy(p, f->u.batch.data[i], f->u.batch.len[i]);
			p += f->u.batch.len[i];
		}
		break;
	case GW_STATUS:
		p = gb_put32le(p, f->u.status.n);
		for (uint32_t i = 0; i < f->u.status.n; i++)
			p = gb_put64le(p, f->u.status.recv[i]);
		break;
	case GW_NAK:
		p = gb_put32le(p, f->u.nak.target);
		p = gb_put32le(p, f->u.nak.n);
		for (uint32_t i = 0; i < f->u.nak.n; i++) {
			p = gb_put64le(p, f->u.nak.gap[i].from);
			p = gb_put64le(p, f->u.nak.gap[i].to);
		}
		break;
	case GW_HEARTBEAT:
		gb_put64le(p, f->u.hb.sent_ns);
		break;
	}
	gb_put64le(buf + CHECKSUM_OFF, frame_sum(buf, len));
	return len;
}

static int
decode_body(const uint8_t *p, size_t n, struct gw_frame *f)
{
	switch (f->h.type) {
	case GW_DATA:
	case GW_RETRANS:
		if (n <= 8)
			return -GW_ERR_BODY;
		f->u.data.msg_len = gb_get32le(p);
		f->u.data.frag_off = gb_get32le(p + 4);
		f->u.data.len = (uint32_t)(n - 8);
		f->u.data.data = p + 8;
		break;
	case GW_BATCH: {
		if (n < 2)
			return -GW_ERR_BODY;
		uint32_t count = gb_get16le(p);
		if (!count || count > GW_MAX_BATCH)
			return -GW_ERR_BODY;
		size_t off = 2;
		for (uint32_t i = 0; i < count; i++) {
			if (n - off < 4)
				return -GW_ERR_BODY;
			uint32_t len = gb_get32le(p + off);
			off += 4;
			if (!len || len > n - off)
				return -GW_ERR_BODY;
			f->u.batch.len[i] = len;
			f->u.batch.data[i] = p + off;
			off += len;
		}
		if (off != n)
			return -GW_ERR_BODY;
		f->u.batch.count = count;
		break;
	}
	case GW_STATUS: {
		if (n < 4)
			return -GW_ERR_BODY;
		uint32_t k = gb_get32le(p);
		if (k > GW_MAX_RANKS || n != 4 + 8 * (size_t)k)
			return -GW_ERR_BODY;
		f->u.status.n = k;
		for (uint32_t i = 0; i < k; i++)
			f->u.status.recv[i] = gb_get64le(p + 4 + 8 * i);
		break;
	}
	case GW_NAK: {
		if (n < 8)
			return -GW_ERR_BODY;
		uint32_t k = gb_get32le(p + 4);
		if (!k || k > GW_MAX_NAK || n != 8 + 16 * (size_t)k)
			return -GW_ERR_BODY;
		f->u.nak.target = gb_get32le(p);
		f->u.nak.n = k;
		for (uint32_t i = 0; i < k; i++) {
			f->u.nak.gap[i].from = gb_get64le(p + 8 + 16 * i);
			f->u.nak.gap[i].to = gb_get64le(p + 16 + 16 * i);
		}
		break;
	}
	case GW_HEARTBEAT:
		if (n != 8)
			return -GW_ERR_BODY;
		f->u.hb.sent_ns = gb_get64le(p);
		break;
	}
	/* The same rules the encoder keeps (offsets, limits, gap order). */
	return body_len(f) == n ? 0 : -GW_ERR_BODY;
}

int
gw_decode(const uint8_t *buf, size_t len, uint64_t group, struct gw_frame *out)
{
	if (len < GW_HDR)
		return -GW_ERR_TRUNCATED;
	struct gw_hdr *h = &out->h;
	h->magic = gb_get32le(buf);
	h->version = buf[4];
	h->type = buf[5];
	h->flags = gb_get16le(buf + 6);
	h->group = gb_get64le(buf + 8);
	h->epoch = gb_get64le(buf + 16);
	h->sender = gb_get32le(buf + 24);
	h->body_len = gb_get32le(buf + 28);
	h->seq = gb_get64le(buf + 32);
	h->checksum = gb_get64le(buf + 40);
	if (h->magic != GW_MAGIC)
		return -GW_ERR_MAGIC;
	if (h->version != GW_VERSION)
		return -GW_ERR_VERSION;
	if (h->type < GW_DATA || h->type >= GW_TYPE_MAX || h->flags)
		return -GW_ERR_TYPE;
	if (len > GW_MAX_FRAME || h->body_len > GW_MAX_FRAME - GW_HDR)
		return -GW_ERR_LENGTH;
	if (len < GW_HDR + (size_t)h->body_len)
		return -GW_ERR_TRUNCATED;
	if (len > GW_HDR + (size_t)h->body_len)
		return -GW_ERR_LENGTH;
	if (h->checksum != frame_sum(buf, len))
		return -GW_ERR_CHECKSUM;
	if (h->group != group)
		return -GW_ERR_GROUP;
	return decode_body(buf + GW_HDR, h->body_len, out);
}

const char *
gw_strerror(int err)
{
	static const char *const s[GW_ERR_MAX] = {
		[GW_ERR_TRUNCATED] = "truncated",
		[GW_ERR_MAGIC] = "not a Gale frame (magic)",
		[GW_ERR_VERSION] = "another protocol version",
		[GW_ERR_TYPE] = "unknown frame type or flags",
		[GW_ERR_GROUP] = "another group",
		[GW_ERR_LENGTH] = "length beyond the frame's or the limit",
		[GW_ERR_CHECKSUM] = "bad checksum",
		[GW_ERR_BODY] = "body inconsistent with its type",
	};
	int e = err < 0 ? -err : err;
	return e > 0 && e < GW_ERR_MAX ? s[e] : "?";
}
