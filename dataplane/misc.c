/* SPDX-License-Identifier: MIT */
/* Error texts and the small parsers shared by tools and applications. */
#include "drivers/drv.h"
#include "gale/gale.h"

#include <errno.h>
#include <string.h>

const char *
gale_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case GALE_ESTOPPED:
		return "the group stopped (a member failed or left)";
	case GALE_EVERSION:
		return "a peer speaks another protocol or layout version";
	case GALE_ECONFIG:
		return "a peer was started with another group configuration";
	case GALE_EWEDGED:
		return "the view is changing; sends are held";
	case GALE_EMINORITY:
		return "this side lost the majority and stopped";
	default:
		break;
	}
	if (err > GALE_EBASE)
		return "unknown Gale error";
	return strerror(err);
}

static const char *const mode_names[] = { "safe", "total", "fifo" };
static const char *const idle_names[] = { "backoff", "spin", "yield" };

int
gale_mode_parse(const char *s, enum gale_mode *out)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum gale_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *
gale_mode_name(enum gale_mode m)
{
	return (unsigned)m < 3 ? mode_names[m] : "?";
}

bool
gale_driver_available(const char *name)
{
	return name && drv_lookup(name) != NULL;
}

int
gale_idle_parse(const char *s, enum gale_idle *out)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, idle_names[i]) == 0) {
			*out = (enum gale_idle)i;
			return 0;
		}
	return -EINVAL;
}
