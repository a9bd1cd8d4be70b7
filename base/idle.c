/* SPDX-License-Identifier: MIT */
#include "base/idle.h"

#include "base/clock.h"
#include "base/compiler.h"

#include <sched.h>

/* Backoff: this many pause-spins, then this many yields, then sleeps that double. */
#define BACKOFF_SPINS 64
#define BACKOFF_YIELDS 16
#define BACKOFF_MIN_SLEEP_NS 1000

void
gb_idle_init(struct gb_idle *s, enum gb_idle_kind kind, uint64_t max_ns)
{
	s->kind = kind;
	s->spins = 0;
	s->sleep_ns = BACKOFF_MIN_SLEEP_NS;
	s->max_ns = max_ns ? max_ns : 100000;
}

void
gb_idle_step(struct gb_idle *s, unsigned work)
{
	if (work) {
		s->spins = 0;
		s->sleep_ns = BACKOFF_MIN_SLEEP_NS;
		return;
	}
	switch (s->kind) {
	case GB_IDLE_SPIN:
		gb_cpu_relax();
		return;
	case GB_IDLE_YIELD:
		sched_yield();
		return;
	case GB_IDLE_BACKOFF:
		break;
	}
	s->spins++;
	if (s->spins <= BACKOFF_SPINS) {
		gb_cpu_relax();
	} else if (s->spins <= BACKOFF_SPINS + BACKOFF_YIELDS) {
		sched_yield();
	} else {
		gb_sleep_ns(s->sleep_ns);
		if (s->sleep_ns < s->max_ns)
			s->sleep_ns = GB_MIN(s->sleep_ns * 2, s->max_ns);
	}
}
