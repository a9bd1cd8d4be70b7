// SPDX-License-Identifier: MIT
// Micro-benchmarks of Gale's hot pieces through Google Benchmark: the ring's
// claim/commit and the delivery path through the C API (gale.h has its own
// extern "C" guards), the wire format's encoder and decoder and the view
// change's trim through their internal headers (plain C, included below in
// extern "C"), batching into frames through shim.c (the dataplane's headers
// use C11 atomics, which C++ cannot include). Everything runs in this one
// process on shm (or a datagram driver whose frames are dropped): the costs
// measured are Gale's own, with no peer on another core.
//
// Run them all and keep the figures as JSON:
//
//   build/bench/gale-micro --benchmark_out=micro.json --benchmark_out_format=json
//
// (--benchmark_filter=REGEX runs some; --benchmark_min_time=S shortens the
// benchmarks that do not set their own.) Modes in the names: 0 SAFE,
// 1 TOTAL, 2 FIFO (enum gale_mode); each such line is labelled with its name.
#include "shim.h"

#include <benchmark/benchmark.h>
#include <gale/gale.h>

extern "C" {
#include "wire.h" /* dataplane/wire.h */
#include "membership/mbr.h"
}

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>
#include <vector>
#include <unistd.h>

namespace
{

[[noreturn]] void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::fputs("gale-micro: ", stderr);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
	std::abort();
}

// Errors only: idle cached members (below) are seen as hung by their control
// plane between benchmarks, and groups torn down at once lose their majority;
// both are warnings that say nothing about the figures.
void
quiet_log(void *, int level, const char *id, const char *msg)
{
	if (level <= GALE_LOG_ERR)
		std::fprintf(stderr, "%s %s\n", id, msg);
}

void
name_group(char *buf, size_t cap)
{
	static unsigned next;
	std::snprintf(buf, cap, "micro-%d-%u", static_cast<int>(getpid()), next++);
}

int
join(const gale_group_conf &c, gale_node **node, gale_group **group)
{
	gale_node_conf nc{};
	nc.log_fn = quiet_log;
	int rc = gale_node_create(&nc, node);
	if (rc == 0 && (rc = gale_group_join(*node, &c, group)) != 0) {
		gale_node_destroy(*node);
		*node = nullptr;
	}
	return rc;
}

// gale_node_destroy() waits for the others to agree on a view without the
// member (up to 3 x hb_timeout + 2 x fail_timeout): destroy many at once.
void
destroy_all(const std::vector<gale_node *> &nodes)
{
	std::vector<std::thread> t;
	for (gale_node *n : nodes)
		t.emplace_back([n] { gale_node_destroy(n); });
	for (auto &th : t)
		th.join();
}

// Poll once and release what came; returns how many.
int
poll_release(gale_group *g)
{
	gale_msg msgs[256];
	int n = gale_poll(g, msgs, 256);
	if (n < 0)
		die("gale_poll: %s", gale_strerror(n));
	if (n > 0) {
		benchmark::DoNotOptimize(msgs[n - 1].data);
		gale_release(g, n);
	}
	return n;
}

// Deliver whatever is still to come (a few empty passes in a row: nothing).
uint64_t
drain(gale_group *g)
{
	uint64_t got = 0;
	for (int empty = 0, i = 0; empty < 3 && i < 100000; i++) {
		int n = poll_release(g);
		got += static_cast<uint64_t>(n);
		empty = n ? 0 : empty + 1;
	}
	return got;
}

// One-member groups, kept from their first use to the end of the run, so
// that no benchmark pays for a join (and a leave) in each of Google
// Benchmark's runs. The shortest timeouts make the final teardown quick.
// Each benchmark leaves its member drained.
struct Member {
	gale_node *node = nullptr;
	gale_group *group = nullptr;
};
std::map<std::tuple<int, uint32_t, bool>, Member> members;

// The member for (mode, publish_batch, driver); nullptr if the driver is
// missing. udp: on 127.0.0.1, its frames dropped by shim.c.
gale_group *
member(gale_mode mode, uint32_t publish_batch = 0, bool udp = false)
{
	auto key = std::make_tuple(static_cast<int>(mode), publish_batch, udp);
	auto it = members.find(key);
	if (it != members.end())
		return it->second.group;
	if (udp && !gale_driver_available("udp"))
		return nullptr;
	char name[64];
	name_group(name, sizeof(name));
	gale_group_conf c{};
	c.name = name;
	c.mode = mode;
	c.n_members = 1;
	c.publish_batch = publish_batch;
	c.fail_timeout_ns = 10000000;
	c.hb_timeout_ns = 10000000;
	Member m;
	int rc = 0;
	if (!udp) {
		rc = join(c, &m.node, &m.group);
	} else {
		// A port of its own (and the next, for the control plane).
		char addr[32];
		const char *addrs[1] = { addr };
		c.driver = "udp";
		c.net.addrs = addrs;
		unsigned base = 20000 + static_cast<unsigned>(getpid() % 2000) * 16;
		for (unsigned i = 0; i < 8; i++) {
			std::snprintf(addr, sizeof(addr), "127.0.0.1:%u", base + 2 * i);
			if ((rc = join(c, &m.node, &m.group)) == 0)
				break;
		}
		if (rc == 0 && shim_discard_frames(m.group) != 0)
			die("shim_discard_frames: not a datagram group");
	}
	if (rc != 0)
		die("joining a one-member %s group (%s): %s", gale_mode_name(mode),
		    udp ? "udp" : "shm", gale_strerror(rc));
	members[key] = m;
	return m.group;
}

void
destroy_members()
{
	std::vector<gale_node *> nodes;
	for (auto &kv : members)
		nodes.push_back(kv.second.node);
	destroy_all(nodes);
	members.clear();
}

// Claim, fill and commit len bytes per iteration; every 64 commits (or when
// the ring is full) one poll delivers and releases what is there. Checks that
// every message committed was delivered.
void
claim_commit_poll(benchmark::State &state, gale_group *g, uint32_t len)
{
	uint64_t got = 0;
	int pending = 0;
	for (auto _ : state) {
		void *buf;
		int rc;
		while ((rc = gale_claim(g, len, &buf)) == -EAGAIN)
			got += static_cast<uint64_t>(poll_release(g));
		if (rc != 0)
			die("gale_claim: %s", gale_strerror(rc));
		std::memset(buf, 0x5a, len);
		gale_commit(g, len, nullptr);
		if (++pending == 64) {
			got += static_cast<uint64_t>(poll_release(g));
			pending = 0;
		}
	}
	got += drain(g);
	if (got != static_cast<uint64_t>(state.iterations()))
		die("%llu messages committed, %llu delivered",
		    static_cast<unsigned long long>(state.iterations()),
		    static_cast<unsigned long long>(got));
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * len);
}

// ---------------------------------------------------------------------------
// The ring and the delivery path (one member, shm, through the public API).

// Claim, fill, commit; deliver and release in bursts of 64: gale_claim(),
// gale_commit() (publishing every 16 commits, the default publish_batch),
// gale_poll() (one dataplane pass: dp_group_work()) and gale_release().
void
BM_claim_commit_poll(benchmark::State &state)
{
	gale_mode mode = static_cast<gale_mode>(state.range(1));
	claim_commit_poll(state, member(mode), static_cast<uint32_t>(state.range(0)));
	state.SetLabel(gale_mode_name(mode));
}
BENCHMARK(BM_claim_commit_poll)
	->ArgsProduct({ { 64, 1024, 16384 }, { GALE_MODE_FIFO, GALE_MODE_TOTAL, GALE_MODE_SAFE } })
	->ArgNames({ "bytes", "mode" });

// The same in batches: gale_claimv() of up to 32 messages, fill, one
// gale_commitv() (one publish); deliver and release every 64 as above.
// Per message: items_per_second.
void
BM_claimv_commitv(benchmark::State &state)
{
	gale_mode mode = static_cast<gale_mode>(state.range(1));
	gale_group *g = member(mode);
	uint32_t len = static_cast<uint32_t>(state.range(0));
	const int batch = 32;
	uint64_t got = 0, sent = 0;
	int pending = 0;
	void *bufs[batch];
	for (auto _ : state) {
		int k;
		while ((k = gale_claimv(g, len, bufs, batch)) == -EAGAIN)
			got += static_cast<uint64_t>(poll_release(g));
		if (k < 0)
			die("gale_claimv: %s", gale_strerror(k));
		for (int i = 0; i < k; i++)
			std::memset(bufs[i], 0x5a, len);
		if (gale_commitv(g, k, nullptr) != 0)
			die("gale_commitv failed");
		sent += static_cast<uint64_t>(k);
		if ((pending += k) >= 64) {
			got += static_cast<uint64_t>(poll_release(g));
			pending = 0;
		}
	}
	got += drain(g);
	if (got != sent)
		die("%llu messages committed, %llu delivered",
		    static_cast<unsigned long long>(sent), static_cast<unsigned long long>(got));
	state.SetItemsProcessed(static_cast<int64_t>(sent));
	state.SetBytesProcessed(static_cast<int64_t>(sent * len));
	state.SetLabel(gale_mode_name(mode));
}
BENCHMARK(BM_claimv_commitv)
	->ArgsProduct({ { 64, 1024 }, { GALE_MODE_FIFO, GALE_MODE_SAFE } })
	->ArgNames({ "bytes", "mode" });

// The two halves of BM_claim_commit_poll apart, 1024 messages a round: the
// timed half runs with the clock on, the other with it paused (its
// overhead, ~2 us, spread over the 1024). BM_claim_commit: gale_claim(), fill,
// gale_commit() (publishing every 16, the default); BM_poll_release: the
// gale_poll() passes that deliver them (256 at most each), gale_release().
constexpr int kHalfBatch = 1024;

void
commit_round(gale_group *g, uint32_t len)
{
	for (int i = 0; i < kHalfBatch; i++) {
		void *buf;
		int rc = gale_claim(g, len, &buf);
		if (rc != 0)
			die("gale_claim: %s", gale_strerror(rc));
		std::memset(buf, 0x5a, len);
		gale_commit(g, len, nullptr);
	}
}

uint64_t
deliver_round(gale_group *g)
{
	uint64_t got = 0;
	while (got < kHalfBatch) {
		int n = poll_release(g);
		if (n == 0)
			die("a round's messages did not come");
		got += static_cast<uint64_t>(n);
	}
	return got;
}

void
BM_claim_commit(benchmark::State &state)
{
	gale_group *g = member(GALE_MODE_FIFO);
	uint32_t len = static_cast<uint32_t>(state.range(0));
	uint64_t got = 0;
	for (auto _ : state) {
		commit_round(g, len);
		state.PauseTiming();
		got += deliver_round(g);
		state.ResumeTiming();
	}
	if (got != static_cast<uint64_t>(state.iterations()) * kHalfBatch)
		die("claim_commit: %llu delivered", static_cast<unsigned long long>(got));
	state.SetItemsProcessed(state.iterations() * kHalfBatch);
}
BENCHMARK(BM_claim_commit)->Arg(64)->ArgName("bytes");

void
BM_poll_release(benchmark::State &state)
{
	gale_group *g = member(GALE_MODE_FIFO);
	uint32_t len = static_cast<uint32_t>(state.range(0));
	uint64_t got = 0;
	for (auto _ : state) {
		state.PauseTiming();
		commit_round(g, len);
		gale_flush(g);
		state.ResumeTiming();
		got += deliver_round(g);
	}
	if (got != static_cast<uint64_t>(state.iterations()) * kHalfBatch)
		die("poll_release: %llu delivered", static_cast<unsigned long long>(got));
	state.SetItemsProcessed(state.iterations() * kHalfBatch);
}
BENCHMARK(BM_poll_release)->Arg(64)->ArgName("bytes");

// The cost of one dataplane pass that finds nothing to do (gale_poll()).
// Checks that it found nothing.
void
BM_idle_poll(benchmark::State &state)
{
	gale_group *g = member(GALE_MODE_SAFE);
	gale_msg msgs[16];
	int any = 0;
	for (auto _ : state) {
		int n = gale_poll(g, msgs, 16);
		benchmark::DoNotOptimize(n);
		any |= n;
	}
	if (any)
		die("an idle pass delivered something or failed");
}
BENCHMARK(BM_idle_poll);

// Ring-level batching of commits (gale_group_conf.publish_batch): the loop
// of BM_claim_commit_poll with 64-byte messages, publishing every commit
// (dp_sequence_own(): the release stores of tail and next_round) against
// once every 64 (at the 64th commit, just before the poll). One member: no
// reader on another core pulls the ring's producer line away between
// publishes, so the difference is the publishing work alone.
void
BM_publish_batch(benchmark::State &state)
{
	gale_mode mode = static_cast<gale_mode>(state.range(1));
	claim_commit_poll(state, member(mode, static_cast<uint32_t>(state.range(0))), 64);
	state.SetLabel(gale_mode_name(mode));
}
BENCHMARK(BM_publish_batch)
	->ArgsProduct({ { 1, 64 }, { GALE_MODE_FIFO, GALE_MODE_SAFE } })
	->ArgNames({ "publish_batch", "mode" })
	->MinTime(0.2);

// ---------------------------------------------------------------------------
// Stability (SAFE) and the total order with N members in this process.
//
// N members of one shm group (joined on N threads: a join waits for every
// member's region), then driven by this thread. One iteration is a round:
// each member in turn sends one 64-byte message (gale_send(), published at
// once: publish_batch 1) and makes one pass (gale_poll() -> dp_group_work():
// receive() reads every row and publishes recv_pos, deliver_total() orders).
// In SAFE, deliver_total() also computes, for every sender with a record
// waiting, stable_of() (work_fp.c, static): the min of recv_pos[sender]
// over the N status rows, inside the rows' row_epoch sequence lock. TOTAL
// does everything else the same way: SAFE minus TOTAL at the same N is
// mostly the stability computation (O(N) per sender, O(N^2) per pass here,
// where all N send), and a little of SAFE delivering about a round later. items = deliveries (N^2
// per round); turn_time = round time / N, a member's turn (its send and its pass). Checks that
// every member delivered every message.
void
BM_group_round(benchmark::State &state)
{
	const uint32_t n = static_cast<uint32_t>(state.range(0));
	const gale_mode mode = static_cast<gale_mode>(state.range(1));
	char name[64];
	name_group(name, sizeof(name));
	std::vector<gale_node *> nodes(n);
	std::vector<gale_group *> groups(n);
	std::vector<int> rc(n);
	{
		std::vector<std::thread> t;
		for (uint32_t i = 0; i < n; i++)
			t.emplace_back([&, i] {
				gale_group_conf c{};
				c.name = name;
				c.mode = mode;
				c.my_id = i;
				c.n_members = n;
				c.ring_bytes = 1 << 20;
				c.publish_batch = 1;
				// Generous: one thread serves all N, and N control
				// planes heartbeat each other on 2 cores.
				c.fail_timeout_ns = 1000000000;
				c.hb_interval_ns = 500000000;
				c.hb_timeout_ns = 3000000000;
				rc[i] = join(c, &nodes[i], &groups[i]);
			});
		for (auto &th : t)
			th.join();
	}
	for (uint32_t i = 0; i < n; i++)
		if (rc[i] != 0)
			die("member %u of %u joining: %s", i, n, gale_strerror(rc[i]));

	std::vector<uint64_t> got(n, 0);
	char payload[64];
	std::memset(payload, 0x5a, sizeof(payload));
	for (auto _ : state) {
		for (uint32_t i = 0; i < n; i++) {
			int r;
			while ((r = gale_send(groups[i], payload, sizeof(payload))) == -EAGAIN)
				got[i] += static_cast<uint64_t>(poll_release(groups[i]));
			if (r != 0)
				die("gale_send: %s", gale_strerror(r));
			got[i] += static_cast<uint64_t>(poll_release(groups[i]));
		}
	}
	uint64_t in_loop = 0;
	for (uint64_t v : got)
		in_loop += v;
	// The last rounds' messages: every member must deliver all N x rounds.
	const uint64_t want = n * static_cast<uint64_t>(state.iterations());
	for (int pass = 0, done = 0; !done && pass < 100000; pass++) {
		done = 1;
		for (uint32_t i = 0; i < n; i++) {
			if (got[i] < want)
				got[i] += static_cast<uint64_t>(poll_release(groups[i]));
			done &= got[i] == want;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (got[i] != want)
			die("%s, %u members: member %u delivered %llu of %llu",
			    gale_mode_name(mode), n, i, static_cast<unsigned long long>(got[i]),
			    static_cast<unsigned long long>(want));
	destroy_all(nodes);
	state.SetItemsProcessed(static_cast<int64_t>(in_loop));
	state.counters["turn_time"] =
		benchmark::Counter(static_cast<double>(want),
				   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	state.SetLabel(gale_mode_name(mode));
}
// A fixed number of rounds: one run each, so one join and one teardown.
BENCHMARK(BM_group_round)
	->ArgsProduct({ { 3 }, { GALE_MODE_TOTAL, GALE_MODE_SAFE } })
	->ArgNames({ "members", "mode" })
	->Iterations(200000);
BENCHMARK(BM_group_round)
	->ArgsProduct({ { 16 }, { GALE_MODE_TOTAL, GALE_MODE_SAFE } })
	->ArgNames({ "members", "mode" })
	->Iterations(5000);
BENCHMARK(BM_group_round)
	->ArgsProduct({ { 64 }, { GALE_MODE_TOTAL, GALE_MODE_SAFE } })
	->ArgNames({ "members", "mode" })
	->Iterations(150);

// ---------------------------------------------------------------------------
// The view change's ragged trim.

// mbr_trim_compute() (membership/mbr.c): the leader's trim from the final
// rows of the survivors (here all N but rank 1): per sender, the min over
// them of messages received (SAFE) or the max of messages delivered
// (FIFO/TOTAL), O(N^2). The dataplane then delivers up to it
// (viewchange.c, deliver_trim(): a walk of the records, not timed here).
void
BM_trim_compute(benchmark::State &state)
{
	const uint32_t n = static_cast<uint32_t>(state.range(0));
	const bool safe = state.range(1) != 0;
	std::vector<mbr_row> rows(n);
	for (uint32_t r = 0; r < n; r++)
		for (uint32_t s = 0; s < n; s++) {
			rows[r].recv[s] = 100000 + (r * 7 + s * 13) % 97;
			rows[r].delivered[s] = rows[r].recv[s] - (r + s) % 5;
		}
	const uint64_t all = n == 64 ? ~0ull : (1ull << n) - 1;
	const uint64_t mask = all & ~2ull;
	mbr_trim out;
	mbr_trim_compute(safe, n, mask, rows.data(), &out);
	for (uint32_t s = 0; s < n; s++) {
		uint64_t want = safe ? UINT64_MAX : 0;
		for (uint32_t r = 0; r < n; r++)
			if (mask & (1ull << r))
				want = safe ? std::min(want, rows[r].recv[s])
					    : std::max(want, rows[r].delivered[s]);
		if (out.count[s] != want)
			die("mbr_trim_compute: sender %u: %llu, not %llu", s,
			    static_cast<unsigned long long>(out.count[s]),
			    static_cast<unsigned long long>(want));
	}
	for (auto _ : state) {
		mbr_trim_compute(safe, n, mask, rows.data(), &out);
		benchmark::DoNotOptimize(out);
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed(state.iterations());
	state.SetLabel(safe ? "SAFE: min received" : "FIFO/TOTAL: max delivered");
}
BENCHMARK(BM_trim_compute)
	->ArgsProduct({ { 3, 16, 64 }, { 0, 1 } })
	->ArgNames({ "members", "safe" })
	->MinTime(0.1);

// ---------------------------------------------------------------------------
// The wire format (dataplane/wire.h): frames as the datagram drivers carry
// them, with an XXH3-64 checksum over header and body.

// The group field (FNV-1a 64 of the group name in Gale): any value does here.
constexpr uint64_t kGroupHash = 0x6a09e667f3bcc908ull;

enum FrameKind { kStatus3, kStatus16, kNak16, kData1400 };
const char *const frame_label[] = { "STATUS, 3 members", "STATUS, 16 members", "NAK, 16 gaps",
				    "DATA, 1400-byte body" };
uint8_t data_body[1400];

void
make_frame(int kind, gw_frame *f)
{
	std::memset(f, 0, sizeof(*f));
	f->h.epoch = 7;
	f->h.sender = 2;
	f->h.seq = 123456;
	switch (kind) {
	case kStatus3:
	case kStatus16: {
		uint32_t n = kind == kStatus3 ? 3 : 16;
		gw_status *s = &f->u.status;
		f->h.type = GW_STATUS;
		s->conf_hash = 0x1234567890abcdefull;
		s->layout_version = 2;
		s->ring_bytes = 16 << 20;
		s->first_epoch = 1;
		s->n_init = n;
		s->ctl_port = 40001;
		for (uint32_t i = 0; i < n; i++)
			s->init_ids[i] = i;
		s->tail = 1 << 30;
		s->next_round = 99999;
		s->sent_msgs = 1 << 24;
		s->heartbeat = 424242;
		s->state = 1;
		s->row_epoch = 7;
		s->epoch_base = 1 << 20;
		s->n = n;
		for (uint32_t i = 0; i < n; i++) {
			s->recv[i] = (1ull << 30) + i * 4096;
			s->freed[i] = (1ull << 30) - i * 4096;
		}
		break;
	}
	case kNak16:
		f->h.type = GW_NAK;
		f->u.nak.target = 1;
		f->u.nak.n = 16;
		for (uint32_t i = 0; i < 16; i++)
			f->u.nak.gap[i] = gw_range{ 65536ull * i, 65536ull * i + 1500 };
		break;
	case kData1400:
		f->h.type = GW_DATA;
		for (size_t i = 0; i < sizeof(data_body); i++)
			data_body[i] = static_cast<uint8_t>(i * 31);
		f->u.data.len = sizeof(data_body);
		f->u.data.data = data_body;
		break;
	}
}

// Encode f into buf, decode it back and compare what matters; dies if not.
size_t
encode_checked(int kind, const gw_frame &f, uint8_t *buf, size_t cap)
{
	size_t len = gw_encode(&f, kGroupHash, buf, cap);
	if (!len)
		die("gw_encode refused the %s frame", frame_label[kind]);
	static gw_frame back;
	int rc = gw_decode(buf, len, kGroupHash, &back);
	if (rc != 0)
		die("gw_decode of the %s frame: %s", frame_label[kind], gw_strerror(rc));
	bool same = back.h.type == f.h.type && back.h.seq == f.h.seq;
	if (f.h.type == GW_STATUS)
		same = same && back.u.status.n == f.u.status.n &&
		       std::memcmp(back.u.status.recv, f.u.status.recv, 8 * f.u.status.n) == 0 &&
		       std::memcmp(back.u.status.freed, f.u.status.freed, 8 * f.u.status.n) == 0;
	else if (f.h.type == GW_NAK)
		same = same && back.u.nak.n == f.u.nak.n &&
		       back.u.nak.gap[15].to == f.u.nak.gap[15].to;
	else
		same = same && back.u.data.len == f.u.data.len &&
		       std::memcmp(back.u.data.data, f.u.data.data, f.u.data.len) == 0;
	if (!same)
		die("the %s frame decoded differs from the one encoded", frame_label[kind]);
	return len;
}

// gw_encode(): a control frame (STATUS, NAK) or a DATA frame encoded whole
// into one buffer, the checksum included (dgram_tx.c's queue_ctl() does this
// for status rows and NAKs; DATA goes by gw_put_hdr + gw_seal there, from the
// ring, but gw_encode copies its body: the same checksum plus a memcpy).
void
BM_wire_encode(benchmark::State &state)
{
	const int kind = static_cast<int>(state.range(0));
	static gw_frame f;
	make_frame(kind, &f);
	uint8_t buf[2048];
	size_t len = encode_checked(kind, f, buf, sizeof(buf));
	for (auto _ : state) {
		size_t l = gw_encode(&f, kGroupHash, buf, sizeof(buf));
		benchmark::DoNotOptimize(l);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(len));
	state.SetLabel(frame_label[kind]);
}
BENCHMARK(BM_wire_encode)->DenseRange(kStatus3, kData1400)->ArgName("frame")->MinTime(0.1);

// gw_decode() of the same frames: every field checked, the checksum verified.
void
BM_wire_decode(benchmark::State &state)
{
	const int kind = static_cast<int>(state.range(0));
	static gw_frame f, out;
	make_frame(kind, &f);
	uint8_t buf[2048];
	size_t len = encode_checked(kind, f, buf, sizeof(buf));
	int rc = 0;
	for (auto _ : state) {
		rc |= gw_decode(buf, len, kGroupHash, &out);
		benchmark::DoNotOptimize(out);
	}
	if (rc != 0)
		die("gw_decode of the %s frame failed in the loop", frame_label[kind]);
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(len));
	state.SetLabel(frame_label[kind]);
}
BENCHMARK(BM_wire_decode)->DenseRange(kStatus3, kData1400)->ArgName("frame")->MinTime(0.1);

// A BATCH frame of N records of 64-byte messages as the datagram layer
// gathers it (dgram_tx.c, send_new()): iov[0] the 48-byte header and the
// record count, then each record's 16-byte header and payload pointing into
// the ring (records 128 bytes apart there). 17 is the most that fits a
// 1472-byte UDP payload (a 1410-byte frame); send_new() stops at 63 records
// (DRV_TX_IOV), so 64 is one more than it ever gathers.
struct Batch {
	std::vector<uint8_t> ring, frame;
	std::vector<drv_iov> iov;
	uint8_t hdr[GW_HDR + 2];
	uint32_t body = 2;
	explicit Batch(uint32_t n) : ring(128 * n), iov(n + 1)
	{
		iov[0] = drv_iov{ hdr, GW_HDR + 2 };
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *rec = &ring[128 * i];
			uint32_t len_flags = 64, epoch = 7;
			uint64_t round = 1000 + i;
			std::memcpy(rec, &len_flags, 4); // the ring's record header,
			std::memcpy(rec + 4, &epoch, 4); // little-endian (wire.h)
			std::memcpy(rec + 8, &round, 8);
			std::memset(rec + GW_REC_HDR, static_cast<int>(i), 64);
			iov[i + 1] = drv_iov{ rec, GW_REC_HDR + 64 };
			body += GW_REC_HDR + 64;
		}
		seal(0);
		for (const drv_iov &v : iov) // gathered, as it arrives
			frame.insert(frame.end(), static_cast<const uint8_t *>(v.base),
				     static_cast<const uint8_t *>(v.base) + v.len);
		gw_frame f;
		int rc = gw_decode(frame.data(), frame.size(), kGroupHash, &f);
		if (rc != 0 || f.h.type != GW_BATCH || f.u.batch.count != n)
			die("gw_decode of a BATCH of %u records: %s", n,
			    rc ? gw_strerror(rc) : "wrong type or count");
	}
	void seal(uint64_t seq)
	{
		uint32_t n = static_cast<uint32_t>(iov.size() - 1);
		gw_put_hdr(hdr, GW_BATCH, 0, kGroupHash, 7, 2, body, seq);
		hdr[GW_HDR] = static_cast<uint8_t>(n);
		hdr[GW_HDR + 1] = static_cast<uint8_t>(n >> 8);
		gw_seal(iov.data(), static_cast<unsigned>(iov.size()));
	}
};

// gw_put_hdr() + gw_seal() of that frame: the header, then XXH3-64 over the
// iovec. bytes/s: of the whole frame.
void
BM_batch_seal(benchmark::State &state)
{
	Batch b(static_cast<uint32_t>(state.range(0)));
	uint64_t seq = 0;
	for (auto _ : state) {
		b.seal(seq += 4096);
		benchmark::DoNotOptimize(b.hdr);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(b.frame.size()));
	state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_batch_seal)->Arg(1)->Arg(17)->Arg(64)->ArgName("records")->MinTime(0.1);

// gw_decode() of that frame, gathered: header, checksum and the walk of the
// record headers (the receiver's copy into its mirror is not included).
void
BM_batch_decode(benchmark::State &state)
{
	Batch b(static_cast<uint32_t>(state.range(0)));
	static gw_frame out;
	int rc = 0;
	for (auto _ : state) {
		rc |= gw_decode(b.frame.data(), b.frame.size(), kGroupHash, &out);
		benchmark::DoNotOptimize(out);
	}
	if (rc != 0)
		die("gw_decode of a BATCH failed in the loop");
	state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(b.frame.size()));
	state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_batch_decode)->Arg(1)->Arg(17)->Arg(64)->ArgName("records")->MinTime(0.1);

// ---------------------------------------------------------------------------
// Batching into frames, as the datagram layer does it.
//
// One member, FIFO. Per iteration: claim, fill and commit N 64-byte
// messages, then poll (and release) until all N are delivered. On udp
// (driver:1) each pass of gale_poll() also runs dp_dgram_rx() (shim.c's
// driver receives nothing: no system call) and dp_dgram_tx(): send_new()
// gathers the new records into BATCH frames (17 to a frame at the default
// 1472-byte mtu) and seals them, and its status row goes every 50 us; the
// frames go to shim.c's driver, which counts and drops them. driver:0 is
// the same loop on shm: the difference is the datagram layer's cost.
// frames = frames per iteration; wire_bytes = frame bytes per second.
// Checks that every message was delivered, and that the first BATCH frame
// decodes, with its records.
void
BM_dgram_batch(benchmark::State &state)
{
	const uint32_t burst = static_cast<uint32_t>(state.range(0));
	const bool udp = state.range(1) != 0;
	gale_group *g = member(GALE_MODE_FIFO, 0, udp);
	if (!g) {
		state.SkipWithError("no udp driver in this build");
		return;
	}
	shim_tx_stats s0;
	shim_tx_read(&s0);
	uint64_t got = 0;
	for (auto _ : state) {
		for (uint32_t i = 0; i < burst; i++) {
			void *buf;
			int rc = gale_claim(g, 64, &buf);
			if (rc != 0)
				die("gale_claim: %s", gale_strerror(rc));
			std::memset(buf, static_cast<int>(i), 64);
			gale_commit(g, 64, nullptr);
		}
		for (uint64_t want = got + burst; got < want;)
			got += static_cast<uint64_t>(poll_release(g));
	}
	shim_tx_stats s1;
	shim_tx_read(&s1);
	const uint64_t msgs = burst * static_cast<uint64_t>(state.iterations());
	if (got != msgs)
		die("%llu messages committed, %llu delivered",
		    static_cast<unsigned long long>(msgs), static_cast<unsigned long long>(got));
	if (udp && (!s1.checked || s1.check_rc != 0 || s1.check_count == 0 ||
		    s1.records - s0.records < msgs))
		die("udp: BATCH frames: %s, %llu records for %llu messages",
		    !s1.checked	  ? "none"
		    : s1.check_rc ? gw_strerror(s1.check_rc)
				  : "empty",
		    static_cast<unsigned long long>(s1.records - s0.records),
		    static_cast<unsigned long long>(msgs));
	state.SetItemsProcessed(static_cast<int64_t>(msgs));
	state.SetBytesProcessed(static_cast<int64_t>(msgs) * 64);
	state.counters["frames"] = benchmark::Counter(static_cast<double>(s1.frames - s0.frames),
						      benchmark::Counter::kAvgIterations);
	state.counters["wire_bytes"] = benchmark::Counter(static_cast<double>(s1.bytes - s0.bytes),
							  benchmark::Counter::kIsRate);
	state.SetLabel(udp ? "udp, frames dropped" : "shm");
}
BENCHMARK(BM_dgram_batch)
	->ArgsProduct({ { 1, 17, 64 }, { 0, 1 } })
	->ArgNames({ "messages", "driver" })
	->MinTime(0.2);

} // namespace

int
main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	destroy_members();
	benchmark::Shutdown();
	return 0;
}
