/* SPDX-License-Identifier: MIT */
#include "drivers/drv.h"

#include "gale/gale.h"

#include <string.h>

static const struct drv_ops *const drivers[] = {
	&drv_shm_ops,
	&drv_udp_ops,
#ifdef GALE_HAVE_DPDK
	&drv_dpdk_ops,
#endif
};

const struct drv_ops *
drv_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}
