/* SPDX-License-Identifier: MIT */
/*
 * A log-linear latency histogram (HdrHistogram's idea): 32 sub-buckets per
 * power of two, so every recorded value is kept within 3 %. Fixed size, no
 * allocation: it lives in the shared page the members report into.
 */
#ifndef GALE_BENCH_PERF_HIST_H
#define GALE_BENCH_PERF_HIST_H

#include <stdint.h>
#include <stdio.h>

#define PH_SUB_BITS 5
#define PH_SUB (1u << PH_SUB_BITS)
#define PH_BUCKETS (64 * PH_SUB)

struct perf_hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t b[PH_BUCKETS];
};

static inline unsigned
ph_index(uint64_t v)
{
	if (v < PH_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - PH_SUB_BITS;
	return (shift + 1) * PH_SUB + (unsigned)((v >> shift) & (PH_SUB - 1));
}

static inline void
ph_add(struct perf_hist *h, uint64_t v, uint64_t n)
{
	h->b[ph_index(v)] += n;
	h->count += n;
	h->sum += v * n;
	if (v > h->max)
		h->max = v;
}

void ph_merge(struct perf_hist *into, const struct perf_hist *from);
/* Value at quantile q (0..1): the upper edge of its bucket, capped at max. */
uint64_t ph_quantile(const struct perf_hist *h, double q);
/*
 * Print h (values in ns) as the JSON object every benchmark here reports
 * (gale-perf and bench/peers): {"p50":..,"p90":..,"p99":..,"p999":..,
 * "max":..,"count":..,"spectrum":[[50,us],[75,us],...,[99.999,us],[100,max]]}
 * in microseconds; the spectrum is what the percentile plots draw.
 */
void ph_print_json(FILE *f, const struct perf_hist *h);

#endif
