/* SPDX-License-Identifier: MIT */
#include "perf_hist.h"

static uint64_t
bucket_high(unsigned i)
{
	if (i < PH_SUB)
		return i;
	unsigned shift = i / PH_SUB - 1;
	uint64_t mant = (i % PH_SUB) | PH_SUB;
	return ((mant + 1) << shift) - 1;
}

void
ph_merge(struct perf_hist *into, const struct perf_hist *from)
{
	for (unsigned i = 0; i < PH_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t
ph_quantile(const struct perf_hist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->count + 0.5);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < PH_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = bucket_high(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
