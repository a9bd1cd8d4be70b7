/* SPDX-License-Identifier: MIT */
/*
 * gale-perf --baseline: the same-host limit. A plain single-producer
 * single-consumer ring of fixed slots in shared memory, between two processes
 * pinned to the cores Gale's members 0 and 1 use, carrying the same messages
 * (sizes, payload writes, send schedule) with the same idle strategy, timed
 * the same way. Deliberately independent of libgale: it is the reference.
 */
#include "perf.h"
#include "perf_bl.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CL 64

struct bl_ring {
	_Alignas(CL) _Atomic uint64_t tail; /* producer; R pairs with A in the consumer */
	_Alignas(CL) _Atomic uint64_t head; /* consumer; R pairs with A in the producer */
	_Alignas(CL) _Atomic uint64_t t_start_ns;
	_Atomic uint64_t final; /* messages the producer sent, UINT64_MAX until done */
	_Atomic uint32_t ready;
	uint64_t t_done_ns;
	double cpu_s[2];
	struct perf_hist lat;
	_Alignas(CL) unsigned char slots[];
};

static void
producer(const struct perf_opts *o, struct bl_ring *r, uint64_t nslots, uint64_t slot_bytes)
{
	struct bl_idle idle = { .kind = o->idle, .sleep_us = 1 };
	uint64_t rng = o->seed;
	uint64_t t_start;
	while (!(t_start = atomic_load_explicit(&r->t_start_ns, memory_order_acquire)))
		usleep(100);
	double cpu0 = perf_cpu_seconds();
	uint64_t sent = 0, head = 0;
	for (;;) {
		uint64_t now = perf_now_ns();
		if (o->duration_s > 0 && now - t_start >= (uint64_t)(o->duration_s * 1e9))
			break;
		if (o->count && sent >= o->count)
			break;
		unsigned work = 0;
		for (unsigned b = 0; b < 32; b++) {
			if (o->count && sent >= o->count)
				break;
			uint64_t t_ns = now;
			if (o->rate > 0) {
				t_ns = t_start + (uint64_t)((double)sent * 1e9 / o->rate);
				if (t_ns > now)
					break;
			}
			if (sent - head >= nslots) {
				/* A: pairs with the consumer's release of head. */
				head = atomic_load_explicit(&r->head, memory_order_acquire);
				if (sent - head >= nslots)
					break;
			}
			unsigned char *slot = r->slots + (sent & (nslots - 1)) * slot_bytes;
			uint32_t len = perf_msg_len(o, &rng);
			memcpy(slot, &len, sizeof(len));
			perf_fill(slot + 16, len, t_ns, sent, 0);
			sent++;
			/* R: the slot is written; pairs with the consumer's acquire of tail. */
			atomic_store_explicit(&r->tail, sent, memory_order_release);
			work++;
		}
		bl_idle(&idle, work);
	}
	r->cpu_s[0] = perf_cpu_seconds() - cpu0;
	atomic_store_explicit(&r->final, sent, memory_order_release);
}

static void
consumer(const struct perf_opts *o, struct bl_ring *r, uint64_t nslots, uint64_t slot_bytes)
{
	struct bl_idle idle = { .kind = o->idle, .sleep_us = 1 };
	while (!atomic_load_explicit(&r->t_start_ns, memory_order_acquire))
		usleep(100);
	double cpu0 = perf_cpu_seconds();
	uint64_t head = 0;
	for (;;) {
		/* A: pairs with the producer's release of tail. */
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (tail == head) {
			uint64_t f = atomic_load_explicit(&r->final, memory_order_acquire);
			if (f != UINT64_MAX && head == f)
				break;
			bl_idle(&idle, 0);
			continue;
		}
		uint64_t now = perf_now_ns();
		for (; head < tail; head++) {
			const unsigned char *slot = r->slots + (head & (nslots - 1)) * slot_bytes;
			uint32_t len;
			memcpy(&len, slot, sizeof(len));
			if (len >= sizeof(struct perf_payload)) {
				struct perf_payload h;
				memcpy(&h, slot + 16, sizeof(h));
				ph_add(&r->lat, now > h.t_ns ? now - h.t_ns : 0, 1);
			}
		}
		/* R: the slots are read; pairs with the producer's acquire of head. */
		atomic_store_explicit(&r->head, head, memory_order_release);
		bl_idle(&idle, 1);
	}
	r->t_done_ns = perf_now_ns();
	r->cpu_s[1] = perf_cpu_seconds() - cpu0;
}

int
perf_baseline_run(const struct perf_opts *o, struct perf_result *out)
{
	uint64_t slot_bytes = ((uint64_t)o->size_max + 16 + CL - 1) & ~(uint64_t)(CL - 1);
	uint64_t nslots = 64;
	while (nslots * slot_bytes < (4ull << 20) || nslots < 1024) {
		if (nslots * slot_bytes >= (256ull << 20))
			break;
		nslots *= 2;
	}
	size_t bytes = sizeof(struct bl_ring) + nslots * slot_bytes;
	struct bl_ring *r =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return -errno;
	atomic_store(&r->final, UINT64_MAX);
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return -errno;
		if (pids[i] == 0) {
			if (o->pin)
				(void)cli_pin((uint32_t)i);
			if (i == 0)
				producer(o, r, nslots, slot_bytes);
			else
				consumer(o, r, nslots, slot_bytes);
			_exit(0);
		}
	}
	usleep(20000);
	uint64_t t0 = perf_now_ns();
	atomic_store_explicit(&r->t_start_ns, t0, memory_order_release);
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	memset(out, 0, sizeof(*out));
	if (!bad) {
		out->msgs = atomic_load(&r->final);
		out->elapsed_s = (double)(r->t_done_ns - t0) / 1e9;
		out->msgs_per_s = (double)out->msgs / out->elapsed_s;
		out->deliveries_per_s = out->msgs_per_s;
		double avg = o->size_min == o->size_max ? o->size_min
							: (o->size_min + o->size_max) / 2.0;
		out->mb_per_s = out->msgs_per_s * avg / 1e6;
		out->cpu_s_per_m =
			out->msgs ? (r->cpu_s[0] + r->cpu_s[1]) / ((double)out->msgs / 1e6) : 0;
		out->lat = r->lat;
	}
	munmap(r, bytes);
	return bad ? -ECHILD : 0;
}
