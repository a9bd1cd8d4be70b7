/* SPDX-License-Identifier: MIT */
/* Mode and idle names and parsers, and which drivers this build has. */
#include "dataplane/dp.h"
#include "drivers/drv.h"

#include <errno.h>
#include <string.h>

static const char *const mode_names[] = { "safe", "total", "fifo" };
static const char *const idle_names[] = { "backoff", "spin", "yield" };

int
dp_mode_parse(const char *s, enum gale_mode *out)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum gale_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *
dp_mode_name(enum gale_mode m)
{
	return (unsigned)m < 3 ? mode_names[m] : "?";
}

bool
dp_driver_available(const char *name)
{
	return name && drv_lookup(name) != NULL;
}

int
dp_idle_parse(const char *s, enum gale_idle *out)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, idle_names[i]) == 0) {
			*out = (enum gale_idle)i;
			return 0;
		}
	return -EINVAL;
}
