/* SPDX-License-Identifier: MIT */
/*
 * What both references of gale-perf --baseline share (perf_baseline.c, the
 * shared-memory ring; perf_udp_baseline.c, plain kernel UDP): the idle
 * strategy, the same as Gale's (spin, yield, or spin-yield-sleep backoff);
 * peer-zmq uses it too. Independent of libgale on purpose (pinning: cli_pin).
 */
#ifndef GALE_BENCH_PERF_BL_H
#define GALE_BENCH_PERF_BL_H

#include "cli.h"
#include "gale/gale.h"

#include <sched.h>
#include <unistd.h>

struct bl_idle {
	enum gale_idle kind;
	unsigned spins;
	unsigned sleep_us;
};

static inline void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void
bl_idle(struct bl_idle *s, unsigned work)
{
	if (work) {
		s->spins = 0;
		s->sleep_us = 1;
		return;
	}
	if (s->kind == GALE_IDLE_SPIN) {
		relax();
	} else if (s->kind == GALE_IDLE_YIELD) {
		sched_yield();
	} else if (++s->spins <= 64) {
		relax();
	} else if (s->spins <= 80) {
		sched_yield();
	} else {
		usleep(s->sleep_us);
		if (s->sleep_us < 100)
			s->sleep_us *= 2;
	}
}

#endif
