/* SPDX-License-Identifier: MIT */
/* Reading logs: mapping a file, splitting it into event lines, parsing a line. */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Decimal number no larger than max; returns the end of its digits, or NULL. */
const char *
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
const char *
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

/* Step to the next event line; comments and blank lines are skipped here, for every pass. */
bool
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

void
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
