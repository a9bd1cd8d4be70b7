/* SPDX-License-Identifier: MIT */
/*
 * Replaying one member's log: the streams of messages per (epoch, sender),
 * the first pass (scan_syntax) and the second (scan_events, with one handler
 * per line type).
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stream *streams;
static size_t nstreams, streams_cap;
static uint32_t *smap; /* open addressing by (epoch, sender): stream index + 1, 0 if free */
static size_t smap_mask;

static void send_violation(const struct member *m, uint32_t line, const struct stream *st, u64 seq,
			   u64 want) __attribute__((noreturn));

static size_t
stream_hash(u64 epoch, uint32_t sender)
{
	u64 h = epoch * 0x9e3779b97f4a7c15ull ^ sender * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ h >> 29);
}

/* The index of the stream of (epoch, sender), created empty on first use. */
static uint32_t
stream_get(u64 epoch, uint32_t sender)
{
	size_t i;

	if ((nstreams + 1) * 2 > smap_mask + 1) {
		smap_mask = smap_mask ? smap_mask * 2 + 1 : 255;
		free(smap);
		smap = xcalloc(smap_mask + 1, sizeof(*smap));
		for (uint32_t k = 0; k < nstreams; k++) {
			i = stream_hash(streams[k].epoch, streams[k].sender) & smap_mask;
			while (smap[i])
				i = (i + 1) & smap_mask;
			smap[i] = k + 1;
		}
	}
	for (i = stream_hash(epoch, sender) & smap_mask; smap[i]; i = (i + 1) & smap_mask) {
		const struct stream *st = &streams[smap[i] - 1];

		if (st->epoch == epoch && st->sender == sender)
			return smap[i] - 1;
	}
	if (nstreams == streams_cap) {
		streams_cap = streams_cap ? streams_cap * 2 : 64;
		streams = xrealloc(streams, streams_cap, sizeof(*streams));
	}
	streams[nstreams] = (struct stream){ .epoch = epoch, .sender = sender };
	smap[i] = (uint32_t)++nstreams;
	return smap[i] - 1;
}

/* The index of the stream of (epoch, sender), or NO_INDEX if there is none. */
static uint32_t
stream_find(u64 epoch, uint32_t sender)
{
	if (!smap)
		return NO_INDEX;
	for (size_t i = stream_hash(epoch, sender) & smap_mask; smap[i]; i = (i + 1) & smap_mask) {
		const struct stream *st = &streams[smap[i] - 1];

		if (st->epoch == epoch && st->sender == sender)
			return smap[i] - 1;
	}
	return NO_INDEX;
}

static void
stream_push(struct stream *st, const struct ev *ev, uint32_t line, uint16_t file)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->rec = xrealloc(st->rec, st->cap, sizeof(*st->rec));
	}
	st->rec[st->n++] = (struct rec){ ev->digest, ev->len, line, file, 0 };
}

static struct member *
member_by_id(uint32_t id)
{
	for (size_t i = 0; i < nmem; i++)
		if (mem[i].id == id)
			return &mem[i];
	return NULL;
}

uint32_t
sender_index(const struct view *v, uint32_t id)
{
	for (uint32_t k = 0; k < v->n; k++)
		if (v->ids[k] == id)
			return k;
	return NO_INDEX;
}

const char *
fmt_ids(char *buf, size_t size, const struct view *v)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint32_t k = 0; k < v->n && o + 16 < size; k++)
		o += (size_t)snprintf(buf + o, size - o, "%s%u", k ? "," : "", v->ids[k]);
	if (o + 16 >= size)
		snprintf(buf + o, size - o, ",...");
	return buf;
}

/* Line of the D line (sender, seq) in view v of m: only on the error path, so rescan. */
uint32_t
find_delivery(const struct member *m, const struct view *v, uint32_t sender, u64 seq)
{
	struct cursor c = { m->buf + v->off, m->buf + m->size, v->line - 1 };
	const char *ls, *le;
	struct ev ev;

	next_event(&c, &ls, &le); /* the V line itself */
	while (next_event(&c, &ls, &le) && *ls != 'V') {
		parse_line(ls, le, &ev);
		if (ev.type == 'D' && ev.seq == seq && ev.sender == sender)
			return c.line;
	}
	return 0;
}

/* First pass: validate, count, and record the sends. */
void
scan_syntax(struct member *m, uint16_t fi)
{
	struct cursor c = { m->buf, m->buf + m->size, 0 };
	const char *ls, *le, *err;
	uint32_t si = NO_INDEX;
	struct stream *st;
	struct ev ev;

	while (next_event(&c, &ls, &le)) {
		err = parse_line(ls, le, &ev);
		if (err)
			die("%s:%u: malformed line (%s): %.*s", m->path, c.line, err,
			    (int)(le - ls > 80 ? 80 : le - ls), ls);
		if (ev.type == 'V') {
			m->n_v++;
			m->n_ids++;
			for (const char *q = ev.list; q < ev.list_end; q++)
				m->n_ids += *q == ',';
			continue;
		}
		if (ev.type == 'D') {
			m->n_d++;
			continue;
		}
		if (ev.type != 'S') {
			m->n_f += ev.type == 'F';
			m->n_x += ev.type == 'X';
			continue;
		}
		m->n_s++;
		m->n_r += ev.resend;
		if (si == NO_INDEX || streams[si].epoch != ev.epoch)
			si = stream_get(ev.epoch, m->id);
		st = &streams[si];
		st->sent = true;
		/* The replay reports a misnumbered send, unless a delivery needs it first. */
		if (!st->bad_line && ev.seq == st->n) {
			stream_push(st, &ev, c.line, fi);
		} else if (!st->bad_line) {
			st->bad_line = c.line;
			st->bad_seq = ev.seq;
		}
	}
}

static struct view *
on_view(struct member *m, struct view *cur, const struct ev *ev, size_t off, uint32_t line)
{
	const char *p = ev->list;
	struct view *v;
	u64 id = 0;

	if (cur && ev->epoch <= cur->epoch)
		violation(PROP_VIEW_AGREEMENT, m, line,
			  "member %u installs view %llu after view %llu (line %u): "
			  "epochs must strictly increase",
			  m->id, ev->epoch, cur->epoch, cur->line);
	if (cur)
		cur->d_end = m->ndlv;
	v = &m->views[m->nviews++];
	*v = (struct view){ .epoch = ev->epoch,
			    .line = line,
			    .off = off,
			    .ids = m->ids + m->ids_used,
			    .cnt = m->cnt + m->ids_used,
			    .stream = m->stream + m->ids_used,
			    .d_begin = m->ndlv };
	for (;; p++) {
		p = num(p, ev->list_end, UINT32_MAX, &id);
		if (sender_index(v, (uint32_t)id) != NO_INDEX)
			violation(PROP_VIEW_AGREEMENT, m, line, "view %llu lists member %llu twice",
				  v->epoch, id);
		v->ids[v->n++] = (uint32_t)id;
		if (p == ev->list_end)
			break;
	}
	m->ids_used += v->n;
	for (uint32_t k = 0; k < v->n; k++)
		v->stream[k] = stream_get(v->epoch, v->ids[k]);
	return v;
}

/* Member m's send at line numbered seq where want was due. */
static void
send_violation(const struct member *m, uint32_t line, const struct stream *st, u64 seq, u64 want)
{
	if (seq < want)
		violation(PROP_INTEGRITY, m, line,
			  "member %u sends seq %llu in view %llu twice (first at line %u)", m->id,
			  seq, st->epoch, seq < st->n ? st->rec[seq].line : 0);
	violation(PROP_ORDER, m, line,
		  "member %u sends seq %llu in view %llu, expected seq %llu "
		  "(sends count 0, 1, 2, ... in each view)",
		  m->id, seq, st->epoch, want);
}

/* The record of m's own send (epoch, seq) if its log has the S line before this line, or NULL. */
static struct rec *
earlier_send(const struct member *m, const struct view *cur, u64 next_send, u64 epoch, u64 seq)
{
	uint32_t si = stream_find(epoch, m->id);
	struct stream *st = si == NO_INDEX ? NULL : &streams[si];

	/* Views come in epoch order, so the S lines of an earlier view are all recorded. */
	if (!st || !st->sent || epoch > cur->epoch ||
	    seq >= (epoch == cur->epoch ? next_send : st->n))
		return NULL;
	return &st->rec[seq];
}

/* An S line that re-sends an earlier send: it must name one, with the same content. */
static void
on_resend(struct member *m, const struct view *cur, const struct ev *ev, uint32_t line)
{
	struct rec *r;

	if (ev->old_epoch >= ev->epoch)
		violation(PROP_INTEGRITY, m, line,
			  "member %u sends seq %llu in view %llu as a re-send of " MSG_FMT
			  ", which is not of an earlier view",
			  m->id, ev->seq, ev->epoch, ev->old_epoch, m->id, ev->old_seq);
	r = earlier_send(m, cur, 0, ev->old_epoch, ev->old_seq);
	if (!r)
		violation(PROP_INTEGRITY, m, line,
			  "member %u sends seq %llu in view %llu as a re-send of " MSG_FMT
			  ", but its log has no such send",
			  m->id, ev->seq, ev->epoch, ev->old_epoch, m->id, ev->old_seq);
	if (r->len != ev->len || r->digest != ev->digest)
		violation(PROP_INTEGRITY, m, line,
			  "member %u sends seq %llu in view %llu with len %u digest %016llx "
			  "as a re-send of " MSG_FMT ", which it sent with len %u digest %016llx "
			  "(%s:%u)",
			  m->id, ev->seq, ev->epoch, ev->len, ev->digest, ev->old_epoch, m->id,
			  ev->old_seq, r->len, r->digest, m->path, r->line);
	r->fate |= REC_RESENT;
}

static void
on_send(struct member *m, struct view *cur, const struct ev *ev, uint32_t line, u64 *next)
{
	uint32_t k = sender_index(cur, m->id);
	char ids[256];

	if (k == NO_INDEX)
		violation(PROP_SAME_VIEW, m, line,
			  "member %u sends in view %llu, whose members [%s] do not include it",
			  m->id, cur->epoch, fmt_ids(ids, sizeof(ids), cur));
	if (ev->seq != *next)
		send_violation(m, line, &streams[cur->stream[k]], ev->seq, *next);
	(*next)++;
	if (ev->resend)
		on_resend(m, cur, ev, line);
}

/* An F line: m was told one of its sends failed, so it must have logged that send before. */
static void
on_fail(struct member *m, const struct view *cur, const struct ev *ev, uint32_t line, u64 next_send)
{
	struct rec *r = earlier_send(m, cur, next_send, ev->epoch, ev->seq);

	if (!r)
		violation(PROP_INTEGRITY, m, line,
			  "member %u is told its send " MSG_FMT " failed (%.*s), "
			  "but its log has no such send before",
			  m->id, ev->epoch, m->id, ev->seq, (int)(ev->list_end - ev->list),
			  ev->list);
	r->fate |= REC_FAILED;
}

/* Property 5's content check: against the logged send, or else the first delivery. */
static void
check_content(struct member *m, uint16_t fi, const struct view *cur, uint32_t k,
	      const struct ev *ev, uint32_t line)
{
	struct stream *st = &streams[cur->stream[k]];
	const struct rec *r;

	/* FIFO was checked first, so seq is at most st->n. */
	if (!st->sent && ev->seq == st->n) {
		stream_push(st, ev, line, fi);
		return;
	}
	if (ev->seq >= st->n) {
		if (st->bad_line)
			send_violation(member_by_id(st->sender), st->bad_line, st, st->bad_seq,
				       st->n);
		violation(PROP_INTEGRITY, m, line,
			  "member %u delivers " MSG_FMT ", but member %u logged no such send "
			  "(its log has S lines for view %llu)",
			  m->id, ev->epoch, ev->sender, ev->seq, ev->sender, ev->epoch);
	}
	r = &st->rec[ev->seq];
	if (r->len == ev->len && r->digest == ev->digest)
		return;
	if (st->sent)
		violation(PROP_INTEGRITY, m, line,
			  "member %u delivers " MSG_FMT " with len %u digest %016llx, "
			  "but it was sent with len %u digest %016llx (%s:%u)",
			  m->id, ev->epoch, ev->sender, ev->seq, ev->len, ev->digest, r->len,
			  r->digest, mem[r->file].path, r->line);
	violation(PROP_INTEGRITY, m, line,
		  "member %u delivers " MSG_FMT " with len %u digest %016llx, "
		  "but member %u delivered it with len %u digest %016llx (%s:%u)",
		  m->id, ev->epoch, ev->sender, ev->seq, ev->len, ev->digest, mem[r->file].id,
		  r->len, r->digest, mem[r->file].path, r->line);
}

static void
on_delivery(struct member *m, uint16_t fi, struct view *cur, const struct ev *ev, uint32_t line)
{
	uint32_t k = sender_index(cur, ev->sender);
	char buf[256] = "";
	u64 want;

	if (k == NO_INDEX)
		violation(PROP_SAME_VIEW, m, line,
			  "member %u delivers " MSG_FMT ", but the sender is not in view %llu [%s]",
			  m->id, ev->epoch, ev->sender, ev->seq, cur->epoch,
			  fmt_ids(buf, sizeof(buf), cur));
	/* Deliveries from a sender are a gapless prefix, so an older seq is a duplicate. */
	want = cur->cnt[k];
	if (ev->seq < want)
		violation(PROP_INTEGRITY, m, line,
			  "member %u delivers " MSG_FMT " twice (first at line %u)", m->id,
			  ev->epoch, ev->sender, ev->seq,
			  find_delivery(m, cur, ev->sender, ev->seq));
	if (ev->seq > want) {
		if (ev->seq - 1 > want)
			snprintf(buf, sizeof(buf), "..%llu", ev->seq - 1);
		violation(PROP_ORDER, m, line,
			  "member %u delivers " MSG_FMT " but expected seq %llu from that sender "
			  "next (FIFO): seq %llu%s never delivered",
			  m->id, ev->epoch, ev->sender, ev->seq, want, want, buf);
	}
	cur->cnt[k]++;
	check_content(m, fi, cur, k, ev, line);
	if (m->dlv)
		m->dlv[m->ndlv++] = (struct dlv){ ev->seq, k, line };
}

static const char *
verb(char type)
{
	switch (type) {
	case 'V':
		return "installs a view";
	case 'D':
		return "delivers";
	case 'S':
		return "sends";
	case 'F':
		return "is told a send failed";
	default:
		return "stops";
	}
}

/* Second pass: replay one member's events, checking each line in its context. */
void
scan_events(struct member *m, uint16_t fi)
{
	struct cursor c = { m->buf, m->buf + m->size, 0 };
	struct view *cur = NULL;
	const char *ls, *le;
	u64 next_send = 0;
	uint32_t stop_line = 0;
	struct ev ev, stop;

	m->views = xcalloc(m->n_v, sizeof(*m->views));
	m->ids = xcalloc(m->n_ids, sizeof(*m->ids));
	m->cnt = xcalloc(m->n_ids, sizeof(*m->cnt));
	m->stream = xcalloc(m->n_ids, sizeof(*m->stream));
	if (mode != MODE_FIFO)
		m->dlv = xcalloc(m->n_d, sizeof(*m->dlv));
	while (next_event(&c, &ls, &le)) {
		parse_line(ls, le, &ev); /* the first pass found no error */
		if (stop_line && ev.type != 'X')
			violation(PROP_PRIMARY, m, c.line,
				  "member %u %s after it stopped in view %llu (%.*s, line %u): "
				  "a stopped member installs, delivers, sends and hears of nothing",
				  m->id, verb(ev.type), stop.epoch,
				  (int)(stop.list_end - stop.list), stop.list, stop_line);
		if (ev.type == 'V') {
			cur = on_view(m, cur, &ev, (size_t)(ls - m->buf), c.line);
			next_send = 0;
			continue;
		}
		if (!cur)
			violation(PROP_VIEW_AGREEMENT, m, c.line,
				  "member %u %s before installing any view", m->id, verb(ev.type));
		if (ev.type == 'F') {
			on_fail(m, cur, &ev, c.line, next_send);
			continue;
		}
		if (ev.type == 'X' && ev.epoch != cur->epoch)
			violation(PROP_VIEW_AGREEMENT, m, c.line,
				  "member %u stops in view %llu (%.*s), "
				  "but its current view is %llu (installed at line %u)",
				  m->id, ev.epoch, (int)(ev.list_end - ev.list), ev.list,
				  cur->epoch, cur->line);
		if (ev.type == 'X') {
			stop = ev;
			stop_line = c.line;
			if (ev.list_end - ev.list == 4 && memcmp(ev.list, "left", 4) == 0)
				m->left_epoch = ev.epoch;
			continue;
		}
		if (ev.epoch != cur->epoch && ev.type == 'D')
			violation(PROP_SAME_VIEW, m, c.line,
				  "member %u delivers " MSG_FMT ", but its current view is %llu "
				  "(installed at line %u)",
				  m->id, ev.epoch, ev.sender, ev.seq, cur->epoch, cur->line);
		if (ev.epoch != cur->epoch)
			violation(PROP_SAME_VIEW, m, c.line,
				  "member %u sends seq %llu in epoch %llu, "
				  "but its current view is %llu (installed at line %u)",
				  m->id, ev.seq, ev.epoch, cur->epoch, cur->line);
		if (ev.type == 'S')
			on_send(m, cur, &ev, c.line, &next_send);
		else
			on_delivery(m, fi, cur, &ev, c.line);
	}
	if (cur)
		cur->d_end = m->ndlv;
}
