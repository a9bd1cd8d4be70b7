/* SPDX-License-Identifier: MIT */
/*
 * gale-check's shared types, globals and functions. main.c says what the
 * program checks and how; parse.c reads log lines, scan.c replays one
 * member's log, props.c runs the checks across members.
 */
#ifndef GALE_TOOLS_CHECK_CHECK_H
#define GALE_TOOLS_CHECK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* unsigned long long is at least 64 bits everywhere, and %llu is short to write. */
typedef unsigned long long u64;

#define MSG_FMT "(epoch %llu, sender %u, seq %llu)"
#define NO_INDEX UINT32_MAX
#define MAX_LOGS 65535 /* struct rec.file is 16 bits */

enum mode { MODE_FIFO, MODE_TOTAL, MODE_SAFE };

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
	u64 left_epoch; /* it stopped as "left" in this view (X ... left); 0: it did not */
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

struct cursor {
	const char *p, *end;
	uint32_t line;
};

/* main.c */
extern enum mode mode;
extern struct member *mem;
extern size_t nmem;

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void violation(enum prop p, const struct member *m, uint32_t line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
void *xrealloc(void *p, size_t n, size_t size);
void *xcalloc(size_t n, size_t size);

/* parse.c */
/* Decimal number no larger than max; returns the end of its digits, or NULL. */
const char *num(const char *p, const char *e, u64 max, u64 *out);
/* Parse the event line [p, e); returns NULL, or why the line is malformed. */
const char *parse_line(const char *p, const char *e, struct ev *ev);
/* Step to the next event line; comments and blank lines are skipped here, for every pass. */
bool next_event(struct cursor *c, const char **ls, const char **le);
/* Map m's log and drop what a writer stopped mid-line left at its end. */
void map_file(struct member *m);

/* scan.c */
extern struct stream *streams;

/* Where id is in v's member list, or NO_INDEX. */
uint32_t sender_index(const struct view *v, uint32_t id);
/* v's member list as text "1,2,3" in buf, cut short with ",..." if it does not fit. */
const char *fmt_ids(char *buf, size_t size, const struct view *v);
/* Line of the D line (sender, seq) in view v of m: only on the error path, so rescan. */
uint32_t find_delivery(const struct member *m, const struct view *v, uint32_t sender, u64 seq);
/* First pass: validate, count, and record the sends. */
void scan_syntax(struct member *m, uint16_t fi);
/*
 * Second pass: replay one member's events, checking each line in its context.
 * Inlined into main (as it was when both were in one file, or could be with
 * LTO), the replay loop runs a fifth slower (GCC 12, -O2).
 */
void scan_events(struct member *m, uint16_t fi) __attribute__((noinline));

/* props.c */
extern size_t nepochs;

/* Sort every member's views by epoch, for the checks across members. */
void index_views(void);
/* Run the across-member part of each property; exits at the first violation. */
void check_props(void);

#endif
