/* SPDX-License-Identifier: MIT */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

struct gb_logger gb_default_logger = { .fn = NULL, .arg = NULL, .level = GB_LOG_WARN };

static const char *
level_name(int level)
{
	switch (level) {
	case GB_LOG_ERR:
		return "error";
	case GB_LOG_WARN:
		return "warning";
	case GB_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
gb_log(const struct gb_logger *lg, int level, const char *id, const char *fmt, ...)
{
	if (!lg)
		lg = &gb_default_logger;
	if (level > lg->level)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lg->fn) {
		lg->fn(lg->arg, level, id, msg);
		return;
	}
	fprintf(stderr, "gale %s %s: %s\n", level_name(level), id, msg);
}
