// SPDX-License-Identifier: MIT
/*
 * gale-check: verify the per-member delivery logs of one Gale run against the
 * properties of the design (numbered as there).
 *
 * Each log is read twice. The first pass validates every line, so a malformed
 * line anywhere wins over any violation, counts lines so the second pass never
 * allocates per line, and records every send (S line), so a delivery can be
 * matched with a send logged later or in another member's file. The second
 * pass replays each member's events and runs the per-line checks. The checks
 * that need all members' logs then run over what the replay recorded.
 *
 * Messages are not kept in one table keyed by (epoch, sender, seq): the replay
 * checks FIFO order before content, so what one member delivers from a sender
 * in a view is always a gapless prefix 0..n-1. One dense array per (epoch,
 * sender) indexed by seq is then enough, is smaller, and is read sequentially,
 * where a per-message hash table spent most of the run time on cache misses.
 *
 * Three rarer lines account for what a view change does to a member's sends
 * and to the member itself: an S line may name the earlier send it re-sends
 * (epoch:seq), an F line reports a send failed, and an X line says the member
 * stopped. The replay checks what they refer to and marks the send's record
 * (re-sent, failed), so property 7 needs no lookup of its own.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* unsigned long long is at least 64 bits everywhere, and %llu is short to write. */
typedef unsigned long long u64;

#define MSG_FMT "(epoch %llu, sender %u, seq %llu)"
#define NO_INDEX UINT32_MAX
#define MAX_LOGS 65535 /* struct rec.file is 16 bits */

enum mode { MODE_FIFO, MODE_TOTAL, MODE_SAFE };
static const char *const mode_names[] = { "fifo", "total", "safe" };

enum prop {
	PROP_VIEW_AGREEMENT,
	PROP_SAME_VIEW,
	PROP_VSYNC,
	PROP_ORDER,
	PROP_INTEGRITY,
	PROP_UNIFORMITY,
	PROP_LOST,
	PROP_PRIMARY,
	PROP_COUNT
};

static const char *const prop_names[PROP_COUNT] = {
	[PROP_VIEW_AGREEMENT] = "view-agreement", /* 1 */
	[PROP_SAME_VIEW] = "same-view",		  /* 2 */
	[PROP_VSYNC] = "virtual-synchrony",	  /* 3 */
	[PROP_ORDER] = "order",			  /* 4 */
	[PROP_INTEGRITY] = "integrity",		  /* 5 */
	[PROP_UNIFORMITY] = "uniformity",	  /* 6, safe mode only */
	[PROP_LOST] = "nothing-lost",		  /* 7 */
	[PROP_PRIMARY] = "primary-partition",	  /* 8 */
};

/* One parsed event line. */
struct ev {
	char type;
	bool resend; /* S: names the earlier send it re-sends, (old_epoch, old_seq) */
	u64 epoch, seq, digest, old_epoch, old_seq;
	uint32_t sender, len;
	const char *list, *list_end; /* V: the member ids, F and X: the reason, still as text */
};

struct view {
	u64 epoch;
	uint32_t *ids;
	uint32_t n, line;
	size_t off;	       /* of the V line, to rescan the view on the error path */
	u64 *cnt;	       /* per list index: messages delivered from that sender */
	uint32_t *stream;      /* per list index: that sender's stream in this view */
	size_t d_begin, d_end; /* range of member.dlv (total and safe modes) */
};

/* A delivery, kept in order for the total order check only. */
struct dlv {
	u64 seq;
	uint32_t sidx, line;
};

struct member {
	char *path;
	uint32_t id;
	const char *buf;
	size_t size;
	size_t n_v, n_d, n_s, n_ids, n_r, n_f, n_x; /* counted by the first pass */
	struct view *views;
	size_t nviews, ids_used;
	uint32_t *ids, *stream;
	u64 *cnt;
	struct dlv *dlv;
	size_t ndlv;
};

/* What a message holds, and the line of member file that says so. */
struct rec {
	u64 digest;
	uint32_t len, line;
	uint16_t file;
	uint8_t fate; /* of a logged send: REC_RESENT, REC_FAILED (fits in the padding) */
};

#define REC_RESENT 1
#define REC_FAILED 2

/*
 * The messages of one sender in one view, indexed by seq: what the sender
 * logged in S lines if it logged any for the view, or else what the first
 * member to deliver each message got, for the others to be compared with.
 */
struct stream {
	u64 epoch;
	uint32_t sender;
	bool sent;
	uint32_t bad_line; /* first S line out of numbering: later S lines are not kept */
	u64 bad_seq;
	struct rec *rec;
	size_t n, cap;
};

/* A member's view, sorted by epoch for the checks across members. */
struct ref {
	u64 epoch;
	uint32_t mi, vi;
};

static enum mode mode = MODE_FIFO;
static struct member *mem;
static size_t nmem;
static struct stream *streams;
static size_t nstreams, streams_cap;
static uint32_t *smap; /* open addressing by (epoch, sender): stream index + 1, 0 if free */
static size_t smap_mask;
static struct ref *refs; /* every installed view, by epoch then member */
static size_t nrefs;
static size_t *uniq; /* index in refs of the first member's view of each epoch */
static size_t nepochs;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void violation(enum prop p, const struct member *m, uint32_t line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
static void send_violation(const struct member *m, uint32_t line, const struct stream *st, u64 seq,
			   u64 want) __attribute__((noreturn));
/* Inlined into main, the replay loop runs a fifth slower (GCC 12, -O2). */
static void scan_events(struct member *m, uint16_t fi) __attribute__((noinline));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("gale-check: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
violation(enum prop p, const struct member *m, uint32_t line, const char *fmt, ...)
{
	va_list ap;

	printf("gale-check: VIOLATION %s: %s:%u: ", prop_names[p], m->path, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

static void *
xrealloc(void *p, size_t n, size_t size)
{
	p = realloc(p, n ? n * size : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die("out of memory");
	return p;
}

/* Decimal number no larger than max; returns the end of its digits, or NULL. */
static inline const char *
num(const char *p, const char *e, u64 max, u64 *out)
{
	const char *s = p;
	u64 v = 0;

	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return NULL;
		v = v * 10 + d;
	}
	*out = v;
	return p == s ? NULL : p;
}

/* A field after at least one blank; returns the start of the field, or NULL. */
static inline const char *
sep(const char *p, const char *e)
{
	if (!p || p >= e || (*p != ' ' && *p != '\t'))
		return NULL;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static inline const char *
field(const char *p, const char *e, u64 max, u64 *out)
{
	p = sep(p, e);
	return p ? num(p, e, max, out) : NULL;
}

/* Hex digit value + 1, 0 for anything else: a lookup has no branch to mispredict. */
static const uint8_t hexval[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static inline const char *
hex16(const char *p, const char *e, u64 *out)
{
	unsigned int bad = 0;
	u64 v = 0;

	if (!p || e - p < 16)
		return NULL;
	for (int i = 0; i < 16; i++) {
		unsigned int x = hexval[(unsigned char)p[i]];

		bad |= !x;
		v = v << 4 | ((x - 1) & 15);
	}
	*out = v;
	return bad ? NULL : p + 16;
}

/* A reason: a letter, then letters, digits, '-' or '_'; returns its end, or NULL. */
static const char *
word(const char *p, const char *e)
{
	if (!p || p == e || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
		return NULL;
	while (p < e && (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9') ||
			 *p == '-' || *p == '_'))
		p++;
	return p;
}

/* The optional last field of an S line, <old-epoch>:<old-seq>; returns its end, or NULL. */
static const char *
resend_ref(const char *p, const char *e, struct ev *ev)
{
	const char *q = sep(p, e);

	ev->resend = q && q < e && *q >= '0' && *q <= '9';
	if (!ev->resend)
		return p;
	q = num(q, e, UINT64_MAX, &ev->old_epoch);
	if (!q || q == e || *q != ':')
		return NULL;
	return num(q + 1, e, UINT64_MAX, &ev->old_seq);
}

/* Parse the event line [p, e); returns NULL, or why the line is malformed. */
static const char *
parse_line(const char *p, const char *e, struct ev *ev)
{
	char t = *p++;
	u64 v;

	ev->type = t;
	if (t != 'D' && t != 'S' && t != 'V' && t != 'F' && t != 'X')
		return "not a V, D, S, F or X line";
	if (!(p = field(p, e, UINT64_MAX, &ev->epoch)))
		return "bad epoch";
	if (t == 'D' || t == 'S') {
		v = 0;
		if (t == 'D' && !(p = field(p, e, UINT32_MAX, &v)))
			return "bad sender id";
		ev->sender = (uint32_t)v;
		if (!(p = field(p, e, UINT64_MAX, &ev->seq)))
			return "bad seq";
		if (!(p = field(p, e, UINT32_MAX, &v)))
			return "bad len";
		ev->len = (uint32_t)v;
		if (!(p = hex16(sep(p, e), e, &ev->digest)))
			return "bad digest, want 16 lowercase hex digits";
		if (t == 'S' && !(p = resend_ref(p, e, ev)))
			return "bad re-sent send, want <old-epoch>:<old-seq>";
	} else if (t == 'V') {
		if (!(ev->list = p = sep(p, e)))
			return "missing member list";
		while ((p = num(p, e, UINT32_MAX, &v)) && p < e && *p == ',')
			p++;
		if (!p)
			return "bad member id in the list";
		ev->list_end = p;
	} else {
		if (t == 'F' && !(p = field(p, e, UINT64_MAX, &ev->seq)))
			return "bad seq";
		if (!(p = word(ev->list = sep(p, e), e)))
			return "bad reason, want one word";
		ev->list_end = p;
	}
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p == e ? NULL : "unexpected text after the last field";
}

struct cursor {
	const char *p, *end;
	uint32_t line;
};

/* Step to the next event line; comments and blank lines are skipped here, for every pass. */
static bool
next_event(struct cursor *c, const char **ls, const char **le)
{
	while (c->p < c->end) {
		const char *s = c->p, *q;
		const char *nl = memchr(s, '\n', (size_t)(c->end - s));
		const char *e = nl ? nl : c->end;

		c->p = nl ? nl + 1 : c->end;
		c->line++;
		for (q = s; q < e && (*q == ' ' || *q == '\t' || *q == '\r'); q++)
			;
		if (q == e || *s == '#')
			continue;
		*ls = s;
		*le = e;
		return true;
	}
	return false;
}

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

static uint32_t
sender_index(const struct view *v, uint32_t id)
{
	for (uint32_t k = 0; k < v->n; k++)
		if (v->ids[k] == id)
			return k;
	return NO_INDEX;
}

static const char *
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
static uint32_t
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
static void
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
static void
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

static struct view *
view_of(const struct ref *r)
{
	return &mem[r->mi].views[r->vi];
}

static struct view *
next_view(const struct ref *r)
{
	return r->vi + 1 < mem[r->mi].nviews ? &mem[r->mi].views[r->vi + 1] : NULL;
}

static size_t
group_end(size_t g)
{
	size_t e = g + 1;

	while (e < nrefs && refs[e].epoch == refs[g].epoch)
		e++;
	return e;
}

/* Call fn on every pair of members that installed the same view. */
static void
for_each_pair(void (*fn)(const struct ref *a, const struct ref *b))
{
	for (size_t g = 0, e; g < nrefs; g = e) {
		e = group_end(g);
		for (size_t a = g; a < e; a++)
			for (size_t b = a + 1; b < e; b++)
				fn(&refs[a], &refs[b]);
	}
}

/* Property 1 across members: one member list per epoch, and no epoch skipped. */
static void
check_view_agreement(void)
{
	char la[256], lb[256];

	for (size_t g = 0, e; g < nrefs; g = e) {
		const struct ref *r = &refs[g];
		const struct view *a = view_of(r), *b;

		for (e = g + 1; e < nrefs && refs[e].epoch == r->epoch; e++) {
			b = view_of(&refs[e]);
			if (b->n != a->n || memcmp(b->ids, a->ids, a->n * sizeof(*a->ids)))
				violation(PROP_VIEW_AGREEMENT, &mem[refs[e].mi], b->line,
					  "member %u installs view %llu as [%s], "
					  "but member %u installs it as [%s] (%s:%u)",
					  mem[refs[e].mi].id, b->epoch, fmt_ids(la, sizeof(la), b),
					  mem[r->mi].id, fmt_ids(lb, sizeof(lb), a),
					  mem[r->mi].path, a->line);
		}
	}
	for (size_t mi = 0; mi < nmem; mi++) {
		const struct member *m = &mem[mi];
		size_t j = 0, first;
		bool all;

		for (size_t vi = 1; vi < m->nviews; vi++) {
			const struct view *v = &m->views[vi - 1], *w = &m->views[vi];
			const struct ref *r;

			while (refs[uniq[j]].epoch <= v->epoch)
				j++;
			for (first = j, all = true; refs[uniq[j]].epoch < w->epoch; j++)
				all = all &&
				      sender_index(view_of(&refs[uniq[j]]), m->id) != NO_INDEX;
			if (j == first || !all)
				continue;
			r = &refs[uniq[first]];
			violation(PROP_VIEW_AGREEMENT, m, w->line,
				  "member %u installs view %llu (line %u) then view %llu, "
				  "skipping view %llu [%s], which includes it "
				  "(installed by member %u at %s:%u)",
				  m->id, v->epoch, v->line, w->epoch, r->epoch,
				  fmt_ids(la, sizeof(la), view_of(r)), mem[r->mi].id,
				  mem[r->mi].path, view_of(r)->line);
		}
	}
}

/*
 * Property 3. Deliveries from each sender are a gapless prefix (checked in the
 * replay) and the member lists agree (checked just before), so two members
 * delivered the same set in a view exactly when their per-sender counts match.
 */
static void
vsync_pair(const struct ref *a, const struct ref *b)
{
	const struct view *va = view_of(a), *vb = view_of(b);
	const struct view *na = next_view(a), *nb = next_view(b);
	uint32_t k = 0;
	u64 seq;

	if (!na || !nb || na->epoch != nb->epoch)
		return;
	while (k < va->n && va->cnt[k] == vb->cnt[k])
		k++;
	if (k == va->n)
		return;
	if (va->cnt[k] < vb->cnt[k]) { /* make a the one that delivered what b lacks */
		const struct ref *t = a;

		a = b;
		b = t;
	}
	seq = view_of(b)->cnt[k];
	violation(PROP_VSYNC, &mem[a->mi], find_delivery(&mem[a->mi], view_of(a), va->ids[k], seq),
		  "member %u delivers " MSG_FMT ", but member %u does not (it delivers %llu "
		  "messages from sender %u in view %llu, then installs view %llu at %s:%u); "
		  "both install view %llu next",
		  mem[a->mi].id, va->epoch, va->ids[k], seq, mem[b->mi].id, seq, va->ids[k],
		  va->epoch, na->epoch, mem[b->mi].path, next_view(b)->line, na->epoch);
}

static void
check_vsync(void)
{
	for_each_pair(vsync_pair);
}

/*
 * Property 4 across members. A member delivered (sender, seq) of view v iff
 * seq is below its count for that sender, so the messages of v that both
 * delivered are compared in one merge-like walk.
 */
static void
order_pair(const struct ref *a, const struct ref *b)
{
	const struct member *ma = &mem[a->mi], *mb = &mem[b->mi];
	const struct view *va = view_of(a), *vb = view_of(b);
	const struct dlv *x = ma->dlv + va->d_begin, *xe = ma->dlv + va->d_end;
	const struct dlv *y = mb->dlv + vb->d_begin, *ye = mb->dlv + vb->d_end;

	for (size_t pos = 1;; x++, y++, pos++) {
		while (x < xe && x->seq >= vb->cnt[x->sidx])
			x++;
		while (y < ye && y->seq >= va->cnt[y->sidx])
			y++;
		if (x == xe || y == ye)
			return;
		if (x->sidx == y->sidx && x->seq == y->seq)
			continue;
		violation(PROP_ORDER, mb, y->line,
			  "members %u and %u deliver the messages of view %llu they both deliver "
			  "in different orders: at position %zu, member %u delivers " MSG_FMT
			  ", member %u delivers " MSG_FMT " (%s:%u)",
			  ma->id, mb->id, va->epoch, pos, mb->id, va->epoch, va->ids[y->sidx],
			  y->seq, ma->id, va->epoch, va->ids[x->sidx], x->seq, ma->path, x->line);
	}
}

/*
 * FIFO order is checked in the replay. Safe delivery adds stability to total
 * order, which delivery logs cannot show beyond the order itself.
 */
static void
check_order(void)
{
	if (mode != MODE_FIFO)
		for_each_pair(order_pair);
}

/*
 * Properties 6 to 8 look at each view v and the view w that follows it: the
 * next epoch that any member installs. The refs of v are refs[uniq[j]] to
 * refs[uniq[j + 1]] - 1, w's epoch is refs[uniq[j + 1]].epoch (the sentinel
 * for the last view), and the members that install w right after v are v's
 * survivors. Member lists agree, so a sender's list index is the same in every
 * member's copy of v; and survivors delivered the same set in v (property 3).
 */
static bool
survives(const struct ref *r, u64 w)
{
	const struct view *n = next_view(r);

	return n && n->epoch == w;
}

/* The survivor of v (refs[g] to refs[e - 1]) that delivered fewest from list index k. */
static const struct ref *
fewest_survivor(size_t g, size_t e, uint32_t k)
{
	const struct ref *lo = NULL;

	for (size_t a = g; a < e; a++)
		if (survives(&refs[a], refs[e].epoch) &&
		    (!lo || view_of(&refs[a])->cnt[k] < view_of(lo)->cnt[k]))
			lo = &refs[a];
	return lo;
}

/*
 * Property 6: in safe mode, what any member delivered in v (even one that
 * then failed or stopped) every survivor of v delivered. Deliveries from a
 * sender are a gapless prefix, so comparing per-sender counts is enough.
 */
static void
check_uniformity(void)
{
	if (mode != MODE_SAFE)
		return;
	for (size_t j = 0; j + 1 < nepochs; j++) {
		size_t g = uniq[j], e = uniq[j + 1];
		const struct view *v = view_of(&refs[g]);

		for (uint32_t k = 0; k < v->n; k++) {
			const struct ref *lo = fewest_survivor(g, e, k), *hi = &refs[g];
			const struct view *vlo, *vhi;
			uint32_t line;
			u64 seq;

			if (!lo)
				break;
			for (size_t a = g + 1; a < e; a++)
				if (view_of(&refs[a])->cnt[k] > view_of(hi)->cnt[k])
					hi = &refs[a];
			vlo = view_of(lo);
			vhi = view_of(hi);
			if (vhi->cnt[k] <= vlo->cnt[k])
				continue;
			seq = vlo->cnt[k];
			line = find_delivery(&mem[hi->mi], vhi, v->ids[k], seq);
			violation(PROP_UNIFORMITY, &mem[hi->mi], line,
				  "member %u delivers " MSG_FMT ", but member %u installs "
				  "view %llu next (%s:%u) without delivering it (it delivers "
				  "%llu messages from sender %u in view %llu); in safe mode, "
				  "what any member delivers in a view, every member that "
				  "installs the next view delivers",
				  mem[hi->mi].id, v->epoch, v->ids[k], seq, mem[lo->mi].id,
				  refs[e].epoch, mem[lo->mi].path, next_view(lo)->line, seq,
				  v->ids[k], v->epoch);
		}
	}
}

/*
 * Property 7: each send in v of a survivor of v is delivered in v by every
 * survivor, or re-sent in a later view, or reported failed to the sender.
 * Only senders that logged S lines for v are checked.
 */
static void
check_lost(void)
{
	for (size_t j = 0; j + 1 < nepochs; j++) {
		size_t g = uniq[j], e = uniq[j + 1];

		for (size_t a = g; a < e; a++) {
			const struct member *m = &mem[refs[a].mi];
			const struct view *v = view_of(&refs[a]), *vlo;
			uint32_t k = sender_index(v, m->id);
			const struct stream *st;
			const struct ref *lo;

			if (k == NO_INDEX || !survives(&refs[a], refs[e].epoch) ||
			    !streams[v->stream[k]].sent)
				continue;
			st = &streams[v->stream[k]];
			lo = fewest_survivor(g, e, k);
			vlo = view_of(lo);
			for (u64 seq = vlo->cnt[k]; seq < st->n; seq++) {
				if (st->rec[seq].fate)
					continue;
				violation(PROP_LOST, m, st->rec[seq].line,
					  "member %u sends " MSG_FMT " and installs view %llu "
					  "next (line %u), but member %u installs view %llu "
					  "(%s:%u) without delivering it, and member %u "
					  "neither re-sends it (an S line ending in %llu:%llu) "
					  "nor is told it failed (F %llu %llu)",
					  m->id, v->epoch, m->id, seq, refs[e].epoch,
					  next_view(&refs[a])->line, mem[lo->mi].id, refs[e].epoch,
					  mem[lo->mi].path, next_view(lo)->line, m->id, v->epoch,
					  seq, v->epoch, seq);
			}
		}
	}
}

/*
 * Property 8: each view keeps a strict majority of the members of the view
 * before it; members may join. A minority that stops logs X and nothing
 * after it, which the replay checks.
 */
static void
check_primary(void)
{
	char la[256], lb[256];

	for (size_t j = 0; j + 1 < nepochs; j++) {
		const struct ref *rv = &refs[uniq[j]], *rw = &refs[uniq[j + 1]];
		const struct view *v = view_of(rv), *w = view_of(rw);
		u64 kept = 0;

		for (uint32_t k = 0; k < v->n; k++)
			kept += sender_index(w, v->ids[k]) != NO_INDEX;
		if (kept * 2 > v->n)
			continue;
		violation(PROP_PRIMARY, &mem[rw->mi], w->line,
			  "member %u installs view %llu [%s], which keeps %llu of the %u "
			  "members of view %llu [%s] (%s:%u): a view needs a majority of the "
			  "view before it",
			  mem[rw->mi].id, w->epoch, fmt_ids(la, sizeof(la), w), kept, v->n,
			  v->epoch, fmt_ids(lb, sizeof(lb), v), mem[rv->mi].path, v->line);
	}
}

/*
 * The across-member part of each property, run in enum order after every log
 * has been replayed; each exits at its first violation. The order matters:
 * later checks rely on the member lists agreeing. Properties without a
 * function are fully checked line by line in the replay (on_view, on_send,
 * on_delivery); the replay also checks what the re-send, F and X lines of
 * properties 7 and 8 refer to. A new property needs an enum entry, a name
 * and, if it looks across members, a function here; it can use each
 * member's views with their per-sender delivery counts, the delivery order
 * (total and safe modes), the streams (every logged send, with its fate, or
 * the first delivery of each message), and refs/uniq, which sort every
 * installed view by epoch.
 */
static void (*const prop_checks[PROP_COUNT])(void) = {
	[PROP_VIEW_AGREEMENT] = check_view_agreement,
	[PROP_VSYNC] = check_vsync,
	[PROP_ORDER] = check_order,
	[PROP_UNIFORMITY] = check_uniformity,
	[PROP_LOST] = check_lost,
	[PROP_PRIMARY] = check_primary,
};

static int
cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	return x->mi < y->mi ? -1 : x->mi > y->mi;
}

static int
cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static bool
member_id_of(const char *name, uint32_t *id)
{
	const char *p;
	u64 v = 0;

	if (strncmp(name, "member-", 7))
		return false;
	p = num(name + 7, name + strlen(name), UINT32_MAX, &v);
	*id = (uint32_t)v;
	return p && !strcmp(p, ".log");
}

static void
add_file(const char *dir, const char *name)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	struct member *m;

	if (nmem % 16 == 0)
		mem = xrealloc(mem, nmem + 16, sizeof(*mem));
	m = &mem[nmem++];
	*m = (struct member){ .path = xcalloc(len, 1) };
	snprintf(m->path, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	if (!member_id_of(base, &m->id))
		die("%s: cannot tell the member id: log files must be named member-<id>.log",
		    m->path);
}

static void
collect_files(int argc, char **argv)
{
	struct stat st;
	struct dirent *de;
	uint32_t id;
	DIR *d;

	if (argc != 1 || stat(argv[0], &st) || !S_ISDIR(st.st_mode)) {
		for (int i = 0; i < argc; i++)
			add_file(NULL, argv[i]);
		return;
	}
	d = opendir(argv[0]);
	if (!d)
		die("cannot open directory %s: %m", argv[0]);
	for (size_t n = strlen(argv[0]); n > 1 && argv[0][n - 1] == '/'; n--)
		argv[0][n - 1] = '\0';
	while ((de = readdir(d)))
		if (member_id_of(de->d_name, &id))
			add_file(argv[0], de->d_name);
	closedir(d);
	if (!nmem)
		die("no member-<id>.log files in %s", argv[0]);
}

static void
map_file(struct member *m)
{
	int fd = open(m->path, O_RDONLY);
	struct stat st;
	void *p;

	if (fd < 0 || fstat(fd, &st))
		die("cannot read %s: %m", m->path);
	if (!S_ISREG(st.st_mode))
		die("%s is not a regular file", m->path);
	m->size = (size_t)st.st_size;
	if (m->size) {
		p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			die("cannot map %s: %m", m->path);
		madvise(p, m->size, MADV_SEQUENTIAL);
		m->buf = p;
	}
	close(fd);
	/*
	 * A member killed while writing leaves its log as it was: gale-perf
	 * writes through a shared mapping, so what it wrote is kept, followed by
	 * zero bytes, and perhaps a line cut short. Both are the end of the log,
	 * not malformed lines; a line cut short before the zero bytes is reported
	 * and ignored (without zero bytes, a last line needs no newline).
	 */
	size_t n = m->size;
	while (n && m->buf[n - 1] == '\0')
		n--;
	if (n < m->size && n && m->buf[n - 1] != '\n') {
		size_t cut = n;
		while (cut && m->buf[cut - 1] != '\n')
			cut--;
		fprintf(stderr,
			"gale-check: note: %s ends with an incomplete line (its writer "
			"was stopped mid-line); ignored: %.*s\n",
			m->path, (int)(n - cut < 80 ? n - cut : 80), m->buf + cut);
		n = cut;
	}
	m->size = n;
}

static void
usage(FILE *f)
{
	fputs("usage: gale-check [--mode fifo|total|safe] [--expect-members N] [--quiet] DIR\n"
	      "   or: gale-check [--mode fifo|total|safe] [--expect-members N] [--quiet] FILE...\n"
	      "Check the member-<id>.log delivery logs of a Gale run (all of DIR's, or FILEs).\n"
	      "Properties (DESIGN.md section 3): 1 view-agreement, 2 same-view,\n"
	      "3 virtual-synchrony, 4 order, 5 integrity, 6 uniformity (safe mode only),\n"
	      "7 nothing-lost, 8 primary-partition.\n"
	      "Exit 0 if every property holds, 1 at the first violation, 2 on bad input.\n",
	      f);
}

/* Parse the flags; returns the expected member count, 0 for any. */
static unsigned long
parse_args(int argc, char **argv, bool *quiet)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "expect-members", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long expect = 0;
	unsigned int i;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < 3 && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == 3)
				die("invalid --mode '%s': expected fifo, total or safe", optarg);
			mode = (enum mode)i;
			break;
		case 'n':
			expect = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || !expect || expect > MAX_LOGS)
				die("invalid --expect-members '%s': want 1 to %d logs", optarg,
				    MAX_LOGS);
			break;
		case 'q':
			*quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind == argc) {
		usage(stderr);
		exit(2);
	}
	return expect;
}

int
main(int argc, char **argv)
{
	bool quiet = false;
	unsigned long expect = parse_args(argc, argv, &quiet);
	size_t n_d = 0, n_s = 0, n_r = 0, n_f = 0, n_x = 0, i;
	char more[96] = "";

	collect_files(argc - optind, argv + optind);
	qsort(mem, nmem, sizeof(*mem), cmp_member);
	for (i = 1; i < nmem; i++)
		if (mem[i].id == mem[i - 1].id)
			die("%s and %s are both logs of member %u", mem[i - 1].path, mem[i].path,
			    mem[i].id);
	if (nmem > MAX_LOGS)
		die("too many logs (%zu): at most %d", nmem, MAX_LOGS);
	if (expect && nmem != expect) {
		printf("gale-check: expected %lu member logs, found %zu\n", expect, nmem);
		return 1;
	}

	for (i = 0; i < nmem; i++) {
		map_file(&mem[i]);
		scan_syntax(&mem[i], (uint16_t)i);
		nrefs += mem[i].n_v;
		n_d += mem[i].n_d;
		n_s += mem[i].n_s;
		n_r += mem[i].n_r;
		n_f += mem[i].n_f;
		n_x += mem[i].n_x;
	}
	for (i = 0; i < nmem; i++)
		scan_events(&mem[i], (uint16_t)i);

	/* The +1 is a sentinel epoch above all others, so scans of uniq stop without a bound. */
	refs = xcalloc(nrefs + 1, sizeof(*refs));
	uniq = xcalloc(nrefs + 1, sizeof(*uniq));
	nrefs = 0;
	for (i = 0; i < nmem; i++)
		for (uint32_t vi = 0; vi < mem[i].nviews; vi++)
			refs[nrefs++] = (struct ref){ mem[i].views[vi].epoch, (uint32_t)i, vi };
	qsort(refs, nrefs, sizeof(*refs), cmp_ref);
	for (i = 0; i < nrefs; i = group_end(i))
		uniq[nepochs++] = i;
	refs[nrefs].epoch = UINT64_MAX;
	uniq[nepochs] = nrefs;

	for (i = 0; i < PROP_COUNT; i++)
		if (prop_checks[i])
			prop_checks[i]();

	if (n_r || n_f || n_x)
		snprintf(more, sizeof(more), " (%zu re-sends), %zu failed sends, %zu stops", n_r,
			 n_f, n_x);
	if (!quiet)
		printf("gale-check: %zu members, %zu views, %zu deliveries, %zu sends%s: "
		       "all properties hold (mode %s)\n",
		       nmem, nepochs, n_d, n_s, more, mode_names[mode]);
	return 0;
}
