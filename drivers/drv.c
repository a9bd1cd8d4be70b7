/* SPDX-License-Identifier: MIT */
#include "drv.h"

#include <string.h>

static const struct drv_ops *const drivers[] = { &drv_shm_ops };

const struct drv_ops *
drv_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}
