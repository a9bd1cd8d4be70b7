/* SPDX-License-Identifier: MIT */
/* The datagram wire format: see wire.h. */
#include "wire.h"

#include "base/le.h"

#include <stdbool.h>
#include <string.h>
/* XXH3_state_t on the stack: no allocation per frame. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define CHECKSUM_OFF 40

/* XXH3-64 of header bytes 0..39 and the body (the checksum field left out). */
static uint64_t
frame_sum(const uint8_t *buf, size_t len)
{
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, buf, CHECKSUM_OFF);
	XXH3_64bits_update(&st, buf + GW_HDR, len - GW_HDR);
	return XXH3_64bits_digest(&st);
}

void
gw_seal(const struct drv_iov *iov, unsigned n)
{
	XXH3_state_t st;
	uint8_t *hdr = (uint8_t *)iov[0].base;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, hdr, CHECKSUM_OFF);
	XXH3_64bits_update(&st, hdr + GW_HDR, iov[0].len - GW_HDR);
	for (unsigned i = 1; i < n; i++)
		XXH3_64bits_update(&st, iov[i].base, iov[i].len);
	gb_put64le(hdr + CHECKSUM_OFF, XXH3_64bits_digest(&st));
}

void
gw_put_hdr(uint8_t *hdr, uint8_t type, uint16_t flags, uint64_t group, uint64_t epoch,
	   uint32_t sender, uint32_t body_len, uint64_t seq)
{
	uint8_t *p = gb_put32le(hdr, GW_MAGIC);
	*p++ = GW_VERSION;
	*p++ = type;
	p = gb_put16le(p, flags);
	p = gb_put64le(p, group);
	p = gb_put64le(p, epoch);
	p = gb_put32le(p, sender);
	p = gb_put32le(p, body_len);
	p = gb_put64le(p, seq);
	gb_put64le(p, 0);
}

/* The flags a frame of this type may carry. */
static bool
flags_ok(uint8_t type, uint16_t flags)
{
	if (type == GW_DATA || type == GW_BATCH)
		return !(flags & ~(GW_F_RETRANS | GW_F_RELAY));
	if (type == GW_NAK)
		return !(flags & ~GW_F_ANYONE);
	return flags == 0;
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

/* Records of a BATCH body: count of them exactly fill len bytes. */
static bool
records_ok(const uint8_t *p, size_t len, uint32_t count)
{
	if (!count || count > GW_MAX_BATCH)
		return false;
	size_t off = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (len - off < GW_REC_HDR)
			return false;
		uint32_t lf = gb_get32le(p + off);
		uint32_t rl = lf & GW_REC_LEN_MASK;
		off += GW_REC_HDR;
		if (lf & ~(GW_REC_LEN_MASK | GW_REC_PAD))
			return false;
		if ((lf & GW_REC_PAD) ? rl != 0 : (rl == 0 || rl > len - off))
			return false;
		off += rl;
	}
	return off == len;
}

static bool
status_ok(const struct gw_status *s)
{
	return s->n_init >= 1 && s->n_init <= GW_MAX_RANKS && s->n >= 1 && s->n <= GW_MAX_RANKS;
}

/* The body's length for f, or 0 if f is not a valid frame. */
static size_t
body_len(const struct gw_frame *f)
{
	if (!flags_ok(f->h.type, f->h.flags))
		return 0;
	switch (f->h.type) {
	case GW_DATA:
		return f->u.data.len;
	case GW_BATCH:
		return records_ok(f->u.batch.recs, f->u.batch.len, f->u.batch.count)
			       ? 2 + (size_t)f->u.batch.len
			       : 0;
	case GW_STATUS:
		return status_ok(&f->u.status) ? gw_status_len(f->u.status.n_init, f->u.status.n)
					       : 0;
	case GW_NAK:
		return f->u.nak.n >= 1 && f->u.nak.n <= GW_MAX_NAK &&
				       gaps_ok(f->u.nak.gap, f->u.nak.n)
			       ? 8 + 16 * (size_t)f->u.nak.n
			       : 0;
	case GW_HEARTBEAT:
		return 16;
	default:
		return 0;
	}
}

static uint8_t *
put_status(uint8_t *p, const struct gw_status *s)
{
	p = gb_put64le(p, s->conf_hash);
	p = gb_put32le(p, s->layout_version);
	p = gb_put32le(p, s->mode);
	p = gb_put64le(p, s->ring_bytes);
	p = gb_put64le(p, s->first_epoch);
	p = gb_put32le(p, s->n_init);
	p = gb_put16le(p, s->ctl_port);
	p = gb_put16le(p, 0);
	for (uint32_t i = 0; i < s->n_init; i++)
		p = gb_put32le(p, s->init_ids[i]);
	p = gb_put64le(p, s->tail);
	p = gb_put64le(p, s->next_round);
	p = gb_put64le(p, s->sent_msgs);
	p = gb_put64le(p, s->heartbeat);
	p = gb_put32le(p, s->state);
	p = gb_put32le(p, s->failed_id);
	p = gb_put32le(p, s->stop_status);
	p = gb_put32le(p, s->n);
	p = gb_put64le(p, s->row_epoch);
	p = gb_put64le(p, s->epoch_base);
	for (uint32_t i = 0; i < s->n; i++)
		p = gb_put64le(p, s->recv[i]);
	for (uint32_t i = 0; i < s->n; i++)
		p = gb_put64le(p, s->freed[i]);
	return p;
}

size_t
gw_encode(const struct gw_frame *f, uint64_t group, uint8_t *buf, size_t cap)
{
	size_t body = body_len(f);
	size_t len = GW_HDR + body;
	if (!body || len > cap || len > GW_MAX_FRAME)
		return 0;
	gw_put_hdr(buf, f->h.type, f->h.flags, group, f->h.epoch, f->h.sender, (uint32_t)body,
		   f->h.seq);
	uint8_t *p = buf + GW_HDR;
	switch (f->h.type) {
	case GW_DATA:
		memcpy(p, f->u.data.data, f->u.data.len);
		break;
	case GW_BATCH:
		p = gb_put16le(p, (uint16_t)f->u.batch.count);
		memcpy(p, f->u.batch.recs, f->u.batch.len);
		break;
	case GW_STATUS:
		put_status(p, &f->u.status);
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
		p = gb_put64le(p, f->u.hb.heartbeat);
		gb_put64le(p, f->u.hb.tail);
		break;
	}
	gb_put64le(buf + CHECKSUM_OFF, frame_sum(buf, len));
	return len;
}

static int
decode_status(const uint8_t *p, size_t n, struct gw_status *s)
{
	if (n < 40)
		return -GW_ERR_BODY;
	s->conf_hash = gb_get64le(p);
	s->layout_version = gb_get32le(p + 8);
	s->mode = gb_get32le(p + 12);
	s->ring_bytes = gb_get64le(p + 16);
	s->first_epoch = gb_get64le(p + 24);
	s->n_init = gb_get32le(p + 32);
	s->ctl_port = gb_get16le(p + 36);
	if (gb_get16le(p + 38) != 0 || s->n_init < 1 || s->n_init > GW_MAX_RANKS ||
	    n < 40 + 4 * (size_t)s->n_init + 64)
		return -GW_ERR_BODY;
	const uint8_t *q = p + 40;
	for (uint32_t i = 0; i < s->n_init; i++, q += 4)
		s->init_ids[i] = gb_get32le(q);
	s->tail = gb_get64le(q);
	s->next_round = gb_get64le(q + 8);
	s->sent_msgs = gb_get64le(q + 16);
	s->heartbeat = gb_get64le(q + 24);
	s->state = gb_get32le(q + 32);
	s->failed_id = gb_get32le(q + 36);
	s->stop_status = gb_get32le(q + 40);
	s->n = gb_get32le(q + 44);
	s->row_epoch = gb_get64le(q + 48);
	s->epoch_base = gb_get64le(q + 56);
	q += 64;
	if (s->n < 1 || s->n > GW_MAX_RANKS || n != gw_status_len(s->n_init, s->n))
		return -GW_ERR_BODY;
	for (uint32_t i = 0; i < s->n; i++)
		s->recv[i] = gb_get64le(q + 8 * i);
	q += 8 * (size_t)s->n;
	for (uint32_t i = 0; i < s->n; i++)
		s->freed[i] = gb_get64le(q + 8 * i);
	return 0;
}

static int
decode_body(const uint8_t *p, size_t n, struct gw_frame *f)
{
	switch (f->h.type) {
	case GW_DATA:
		if (n == 0)
			return -GW_ERR_BODY;
		f->u.data.len = (uint32_t)n;
		f->u.data.data = p;
		break;
	case GW_BATCH:
		if (n < 2)
			return -GW_ERR_BODY;
		f->u.batch.count = gb_get16le(p);
		f->u.batch.len = (uint32_t)(n - 2);
		f->u.batch.recs = p + 2;
		break;
	case GW_STATUS: {
		int rc = decode_status(p, n, &f->u.status);
		if (rc)
			return rc;
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
		if (n != 16)
			return -GW_ERR_BODY;
		f->u.hb.heartbeat = gb_get64le(p);
		f->u.hb.tail = gb_get64le(p + 8);
		break;
	}
	/* The same rules the encoder keeps (record walk, limits, gap order). */
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
	if (h->type < GW_DATA || h->type >= GW_TYPE_MAX || !flags_ok(h->type, h->flags))
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
