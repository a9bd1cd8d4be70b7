/* SPDX-License-Identifier: MIT */
/*
 * gale-jitter: how often this machine takes a core away from a spinning
 * thread, and for how long (the idea of sysjitter). One thread per CPU, each
 * pinned, reads the monotonic clock in a tight loop and counts every gap
 * longer than --threshold-ns. The result is the floor under any latency
 * percentile measured on the machine, Gale's and the baseline ring's alike.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct probe {
	pthread_t t;
	int cpu;
	uint64_t gaps, stolen_ns, max_ns;
};

static double seconds = 3;
static uint64_t threshold_ns = 10000;

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *
spin(void *arg)
{
	struct probe *p = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), last = start;
	for (uint64_t t = start; t < end; t = now_ns()) {
		uint64_t gap = t - last;
		if (gap > threshold_ns) {
			p->gaps++;
			p->stolen_ns += gap;
			if (gap > p->max_ns)
				p->max_ns = gap;
		}
		last = t;
	}
	return NULL;
}

static void
usage_error(const char *what, const char *value)
{
	fprintf(stderr, "gale-jitter: %s '%s' is invalid: valid: %s\n", what, value,
		strcmp(what, "--seconds") == 0 ? "a number from 0.1 to 600"
					       : "an integer from 1000 to 100000000");
	exit(2);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], &end);
			if (*end || !(seconds >= 0.1 && seconds <= 600))
				usage_error("--seconds", argv[i]);
		} else if (strcmp(argv[i], "--threshold-ns") == 0 && i + 1 < argc) {
			errno = 0;
			threshold_ns = strtoull(argv[++i], &end, 10);
			if (errno || *end || threshold_ns < 1000 || threshold_ns > 100000000)
				usage_error("--threshold-ns", argv[i]);
		} else {
			fprintf(stderr, "usage: gale-jitter [--seconds S] [--threshold-ns N]\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	struct probe *p = calloc((size_t)n, sizeof(*p));
	if (!p)
		return 1;
	for (long c = 0; c < n; c++) {
		p[c].cpu = (int)c;
		pthread_create(&p[c].t, NULL, spin, &p[c]);
	}
	printf("gale-jitter: %ld spinning threads, %.1f s, gaps longer than %llu ns\n", n, seconds,
	       (unsigned long long)threshold_ns);
	for (long c = 0; c < n; c++) {
		pthread_join(p[c].t, NULL);
		printf("cpu %d: %.0f gaps/s, %.2f %% of the time taken away, mean %.1f us, max "
		       "%.1f us\n",
		       p[c].cpu, (double)p[c].gaps / seconds,
		       100.0 * (double)p[c].stolen_ns / (seconds * 1e9),
		       p[c].gaps ? (double)p[c].stolen_ns / (double)p[c].gaps / 1e3 : 0,
		       (double)p[c].max_ns / 1e3);
	}
	free(p);
	return 0;
}
