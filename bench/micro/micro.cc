// SPDX-License-Identifier: MIT
// Micro-benchmarks of Gale's hot calls through Google Benchmark, calling the
// C API through extern "C" (gale.h has its own guards). One process, one
// member: the costs measured are Gale's own, with no peer on another core.
#include <benchmark/benchmark.h>
#include <gale/gale.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace
{

struct Member {
	gale_node *node = nullptr;
	gale_group *group = nullptr;
	explicit Member(gale_mode mode, uint32_t batch = 0)
	{
		char name[64];
		std::snprintf(name, sizeof(name), "micro-%d", static_cast<int>(getpid()));
		gale_group_conf c{};
		c.name = name;
		c.mode = mode;
		c.n_members = 1;
		c.publish_batch = batch;
		if (gale_node_create(nullptr, &node) != 0 || gale_group_join(node, &c, &group) != 0)
			std::abort();
	}
	~Member()
	{
		gale_node_destroy(node);
	}
};

// Claim, fill, commit; deliver and release in bursts of 64.
void
BM_claim_commit_poll(benchmark::State &state)
{
	Member m(static_cast<gale_mode>(state.range(1)));
	const uint32_t len = static_cast<uint32_t>(state.range(0));
	gale_msg msgs[64];
	int pending = 0;
	for (auto _ : state) {
		void *buf;
		while (gale_claim(m.group, len, &buf) == -EAGAIN) {
			int n = gale_poll(m.group, msgs, 64);
			gale_release(m.group, n > 0 ? n : 0);
		}
		std::memset(buf, 0x5a, len);
		gale_commit(m.group, len, nullptr);
		if (++pending == 64) {
			int n = gale_poll(m.group, msgs, 64);
			benchmark::DoNotOptimize(msgs[0].data);
			gale_release(m.group, n > 0 ? n : 0);
			pending = 0;
		}
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * len);
}
BENCHMARK(BM_claim_commit_poll)
	->ArgsProduct({ { 64, 1024, 16384 }, { GALE_MODE_FIFO, GALE_MODE_TOTAL, GALE_MODE_SAFE } })
	->ArgNames({ "bytes", "mode" });

// The cost of one dataplane pass that finds nothing to do.
void
BM_idle_poll(benchmark::State &state)
{
	Member m(GALE_MODE_SAFE);
	gale_msg msgs[16];
	for (auto _ : state)
		benchmark::DoNotOptimize(gale_poll(m.group, msgs, 16));
}
BENCHMARK(BM_idle_poll);

} // namespace

BENCHMARK_MAIN();
