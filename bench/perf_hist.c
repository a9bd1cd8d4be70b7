/* SPDX-License-Identifier: MIT */
#include "perf_hist.h"

#include <stdio.h>

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

void
ph_print_json(FILE *f, const struct perf_hist *h)
{
	static const double pct[] = { 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999 };
	fprintf(f,
		"{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,"
		"\"count\":%llu,\"spectrum\":[",
		(double)ph_quantile(h, 0.5) / 1e3, (double)ph_quantile(h, 0.9) / 1e3,
		(double)ph_quantile(h, 0.99) / 1e3, (double)ph_quantile(h, 0.999) / 1e3,
		(double)h->max / 1e3, (unsigned long long)h->count);
	for (unsigned i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
		fprintf(f, "[%g,%.3f],", pct[i], (double)ph_quantile(h, pct[i] / 100) / 1e3);
	fprintf(f, "[100,%.3f]]}", (double)h->max / 1e3);
}
