/* SPDX-License-Identifier: MIT */
/*
 * Delivery logs written through a shared file mapping: every line is in the
 * page cache the moment it is written, so the log of a member killed with
 * SIGKILL keeps everything up to the kill (gale-check reads the zero bytes
 * after it as the end). Lines are formatted by hand: no stdio per message.
 */
#ifndef GALE_BENCH_PERF_LOG_H
#define GALE_BENCH_PERF_LOG_H

#include <stddef.h>
#include <stdint.h>

struct perf_log {
	int fd;
	char *map;	/* current window */
	uint64_t off;	/* file offset of the window */
	uint64_t total; /* bytes written */
};

int plog_open(struct perf_log *l, const char *path);
void plog_line(struct perf_log *l, const char *s, size_t n);
/* Trim the file to what was written and close it. */
void plog_close(struct perf_log *l);

/* `S <epoch> <seq> <len> <digest>` */
void plog_send(struct perf_log *l, uint64_t epoch, uint64_t seq, uint32_t len, uint64_t digest);
/* Format `S <epoch> <seq> <len> <digest> <old-epoch>:<old-seq>\n` (a re-send of an
 * earlier send) into buf (PLOG_RESEND_MAX bytes); returns its length. */
#define PLOG_RESEND_MAX 112
size_t plog_fmt_resend(char *buf, uint64_t epoch, uint64_t seq, uint32_t len, uint64_t digest,
		       uint64_t old_epoch, uint64_t old_seq);
/* `D <epoch> <sender> <seq> <len> <digest>` */
void plog_deliver(struct perf_log *l, uint64_t epoch, uint32_t sender, uint64_t seq, uint32_t len,
		  uint64_t digest);

#endif
