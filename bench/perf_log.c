/* SPDX-License-Identifier: MIT */
#include "perf_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WINDOW (32ull << 20)
#define PAGE 4096ull

static int
map_window(struct perf_log *l)
{
	if (l->map)
		munmap(l->map, WINDOW);
	l->map = NULL;
	l->off = l->total & ~(PAGE - 1);
	if (ftruncate(l->fd, (off_t)(l->off + WINDOW)) != 0)
		return -errno;
	void *p = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, (off_t)l->off);
	if (p == MAP_FAILED)
		return -errno;
	l->map = p;
	return 0;
}

int
plog_open(struct perf_log *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	l->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (l->fd < 0)
		return -errno;
	int rc = map_window(l);
	if (rc) {
		close(l->fd);
		l->fd = -1;
	}
	return rc;
}

void
plog_line(struct perf_log *l, const char *s, size_t n)
{
	while (n > WINDOW / 2) { /* a block larger than a window: in pieces */
		plog_line(l, s, WINDOW / 2);
		s += WINDOW / 2;
		n -= WINDOW / 2;
	}
	if (l->total + n > l->off + WINDOW && map_window(l) != 0) {
		fprintf(stderr, "gale-perf: cannot extend a delivery log: %s\n", strerror(errno));
		exit(3);
	}
	memcpy(l->map + (l->total - l->off), s, n);
	l->total += n;
}

void
plog_close(struct perf_log *l)
{
	if (l->fd < 0)
		return;
	if (l->map)
		munmap(l->map, WINDOW);
	if (ftruncate(l->fd, (off_t)l->total) != 0)
		perror("gale-perf: trimming a delivery log");
	close(l->fd);
	l->fd = -1;
}

static char *
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *
put_hex16(char *p, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--)
		*p++ = hex[(v >> (i * 4)) & 0xf];
	return p;
}

static char *
put_send(char *p, uint64_t epoch, uint64_t seq, uint32_t len, uint64_t digest)
{
	*p++ = 'S';
	*p++ = ' ';
	p = put_u64(p, epoch);
	*p++ = ' ';
	p = put_u64(p, seq);
	*p++ = ' ';
	p = put_u64(p, len);
	*p++ = ' ';
	return put_hex16(p, digest);
}

void
plog_send(struct perf_log *l, uint64_t epoch, uint64_t seq, uint32_t len, uint64_t digest)
{
	char buf[96], *p = put_send(buf, epoch, seq, len, digest);
	*p++ = '\n';
	plog_line(l, buf, (size_t)(p - buf));
}

size_t
plog_fmt_resend(char *buf, uint64_t epoch, uint64_t seq, uint32_t len, uint64_t digest,
		uint64_t old_epoch, uint64_t old_seq)
{
	char *p = put_send(buf, epoch, seq, len, digest);
	*p++ = ' ';
	p = put_u64(p, old_epoch);
	*p++ = ':';
	p = put_u64(p, old_seq);
	*p++ = '\n';
	return (size_t)(p - buf);
}

void
plog_deliver(struct perf_log *l, uint64_t epoch, uint32_t sender, uint64_t seq, uint32_t len,
	     uint64_t digest)
{
	char buf[112], *p = buf;
	*p++ = 'D';
	*p++ = ' ';
	p = put_u64(p, epoch);
	*p++ = ' ';
	p = put_u64(p, sender);
	*p++ = ' ';
	p = put_u64(p, seq);
	*p++ = ' ';
	p = put_u64(p, len);
	*p++ = ' ';
	p = put_hex16(p, digest);
	*p++ = '\n';
	plog_line(l, buf, (size_t)(p - buf));
}
