/* SPDX-License-Identifier: MIT */
/* The smallest test harness: CHECK() counts and reports, tap_done() sums up. */
#ifndef GALE_TESTS_TAP_H
#define GALE_TESTS_TAP_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static _Atomic int tap_checks, tap_failed; /* CHECK() runs on several threads */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		tap_checks++;                                                                      \
		if (!(cond)) {                                                                     \
			tap_failed++;                                                              \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
		}                                                                                  \
	} while (0)

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void
diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputs("\n", stdout);
	va_end(ap);
}

/* A log sink for tests that provoke errors on purpose (signature of gale_log_fn). */
static inline void
tap_quiet_log(void *arg, int level, const char *id, const char *msg)
{
	(void)arg;
	(void)level;
	(void)id;
	(void)msg;
}

static inline int
tap_done(void)
{
	printf("%d checks, %d failed\n", tap_checks, tap_failed);
	return tap_failed ? 1 : 0;
}

#endif
