/* SPDX-License-Identifier: MIT */
/*
 * The command-line helpers gale-perf and the peers (bench/peers) share: a
 * bad flag or value ends the program with exit status 2 and a message that
 * names it and what would be valid; pinning a process to a core; the clock.
 * The parsing is for main(): one thread, before any other starts.
 */
#ifndef GALE_BENCH_CLI_H
#define GALE_BENCH_CLI_H

#include <stdint.h>
#include <time.h>

/* The program's name and what its --help gives, for cli_usage_error()'s
 * "PROG: message\n(PROG --help HELP)\n", e.g. ("peer-zmq", "lists every
 * option"). Call it first: the strings are kept, not copied. */
void cli_init(const char *prog, const char *help);

/* Prints the message as above to stderr and exits with status 2. */
void cli_usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* The decimal integer s, lo..hi (no sign), or cli_usage_error() naming flag,
 * s and the range. */
uint64_t cli_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi);

/* The number s (strtod's forms), lo..hi, or cli_usage_error() as cli_u64(). */
double cli_double(const char *flag, const char *s, double lo, double hi);

/* Pins the calling process to cpu i % (cpus online). Returns 0, or -errno of
 * sched_setaffinity() (the process then runs where it did). */
int cli_pin(uint32_t i);

/* CLOCK_MONOTONIC in ns: the clock every benchmark here stamps and reads. */
static inline uint64_t
cli_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
