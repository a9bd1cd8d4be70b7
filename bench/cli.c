/* SPDX-License-Identifier: MIT */
/* The benchmarks' shared command-line helpers (cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char *prog_name = "gale-bench"; /* until cli_init() */
static const char *help_text = "lists every option";

void
cli_init(const char *prog, const char *help)
{
	prog_name = prog;
	help_text = help;
}

void
cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(%s --help %s)\n", prog_name, help_text);
	exit(EXIT_USAGE);
}

uint64_t
cli_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		cli_usage_error("%s '%s' is invalid: valid: an integer from %llu to %llu", flag,
				s ? s : "", (unsigned long long)lo, (unsigned long long)hi);
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		cli_usage_error("%s '%s' is invalid: valid: an integer from %llu to %llu", flag, s,
				(unsigned long long)lo, (unsigned long long)hi);
	return v;
}

double
cli_double(const char *flag, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = s && *s ? strtod(s, &end) : NAN;
	/* NaN fails the range test; so does ±inf while lo and hi are finite. */
	if (!s || !*s || errno || *end || !(v >= lo && v <= hi))
		cli_usage_error("%s '%s' is invalid: valid: a number from %g to %g", flag,
				s ? s : "", lo, hi);
	return v;
}

int
cli_pin(uint32_t i)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(i % (uint32_t)(n > 0 ? n : 1), &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}
