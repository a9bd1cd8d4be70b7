/* SPDX-License-Identifier: MIT */
#include "base/clock.h"

#include <stdlib.h>

#include <errno.h>

void
gb_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t
gb_env_ms(const char *name)
{
	const char *v = getenv(name);
	char *end;
	if (!v || *v < '1' || *v > '9')
		return 0;
	unsigned long long ms = strtoull(v, &end, 10);
	return *end || ms > 600000 ? 0 : ms * 1000000ull;
}
