/* SPDX-License-Identifier: MIT */
/*
 * One logging sink the application can replace. Each line has a level and a
 * stable message id (GALE-VIEW-INSTALL) that operators can grep and alert on.
 * Never called on the hot path: counters are for that.
 */
#ifndef GALE_BASE_LOG_H
#define GALE_BASE_LOG_H

typedef void (*gb_log_fn)(void *arg, int level, const char *id, const char *msg);

enum { GB_LOG_ERR = 3, GB_LOG_WARN = 4, GB_LOG_INFO = 6, GB_LOG_DEBUG = 7 };

struct gb_logger {
	gb_log_fn fn; /* NULL: stderr */
	void *arg;
	int level; /* lines above this level are dropped */
};

void gb_log(const struct gb_logger *lg, int level, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The sink used where no logger is at hand (process-wide, stderr by default). */
extern struct gb_logger gb_default_logger;

#endif
