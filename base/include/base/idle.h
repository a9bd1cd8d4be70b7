/* SPDX-License-Identifier: MIT */
/*
 * Idle strategies (after Aeron's): what a poll loop does after a pass that
 * found no work. The caller reports each pass's work count; the strategy
 * resets on work and escalates on idleness.
 */
#ifndef GALE_BASE_IDLE_H
#define GALE_BASE_IDLE_H

#include <stdint.h>

enum gb_idle_kind { GB_IDLE_BACKOFF = 0, GB_IDLE_SPIN, GB_IDLE_YIELD };

struct gb_idle {
	enum gb_idle_kind kind;
	uint32_t spins;	   /* idle passes in a row */
	uint64_t sleep_ns; /* current backoff sleep */
	uint64_t max_ns;   /* longest backoff sleep */
};

void gb_idle_init(struct gb_idle *s, enum gb_idle_kind kind, uint64_t max_ns);

/* Report one pass that did `work` units of work; idles if it did none. */
void gb_idle_step(struct gb_idle *s, unsigned work);

#endif
