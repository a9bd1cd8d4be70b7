/* SPDX-License-Identifier: MIT */
/* Clocks: CLOCK_MONOTONIC nanoseconds and a calibrated fast counter. */
#ifndef GALE_BASE_CLOCK_H
#define GALE_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
gb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep for ns nanoseconds (restarts on EINTR). */
void gb_sleep_ns(uint64_t ns);

/* Environment variable `name` as milliseconds (1 to 600000), in ns; 0 if unset or invalid. */
uint64_t gb_env_ms(const char *name);

#endif
