/* SPDX-License-Identifier: MIT */
/* gale-perf: what the parent and its member processes share. */
#ifndef GALE_BENCH_PERF_H
#define GALE_BENCH_PERF_H

#include "perf_hist.h"

#include <gale/gale.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PERF_MAX_FAULTS 8
#define PERF_MAX_VIEWS 64

#define PERF_CUT 0 /* perf_fault.sig of a --cut: a network cut, not a signal */

struct perf_opts {
	uint32_t members;
	uint32_t senders;
	uint32_t size_min, size_max; /* equal unless --size MIN-MAX */
	enum gale_mode mode;
	double duration_s; /* 0 with count */
	uint64_t count;	   /* per sender; 0 with duration */
	double rate;	   /* per sender, msgs/s; 0 = as fast as possible */
	enum gale_idle idle;
	bool idle_set;
	enum gale_threading threading;
	const char *driver;
	const char *log_dir;
	const char *galed; /* --galed PATH: one galed process per member, external control */
	bool json;
	bool baseline;
	bool pin;
	uint64_t ring_bytes;
	struct perf_fault {
		int sig; /* SIGKILL (--kill), SIGSTOP (--stop), SIGCONT (--cont) */
		uint32_t member;
		double at_s;
		bool at_wedge; /* --kill M@wedge */
	} faults[PERF_MAX_FAULTS];
	unsigned n_faults;
	double join_at_s; /* --join-at; < 0: none */
	uint64_t seed;
	uint32_t hb_timeout_ms; /* --hb-timeout; 0: the control plane's default */
	uint32_t copybreak;	/* --rx-copybreak; 0: the driver's default */
	bool no_self;		/* --no-self */
	/* --driver udp: where each member is (rank order) and how frames go. */
	const char *cut_cmd; /* --cut-cmd */
	const char *group;   /* --group; NULL: perf-<pid> */
	const char *eal;     /* --eal template (%m member, %c cpu, %r server|client) */
	const char *mcast;   /* --mcast A.B.C.D:PORT, or NULL: unicast fan-out */
	uint32_t mtu;	     /* --mtu; 0: the driver's default */
	uint32_t port;	     /* --port: member i uses port + 2 i (and + 1 for control) */
	uint32_t n_hosts;    /* --host NETNS@IP given this many times; 0: all on 127.0.0.1 */
	struct perf_host {
		char netns[64]; /* network namespace (/run/netns/NAME), "" for this one */
		char ip[16];
	} hosts[GALE_MAX_MEMBERS];
	char addr[GALE_MAX_MEMBERS + 1][24]; /* each member's "IP:PORT" */
};

/* The lab host member i runs on (--host, round robin), or NULL. */
const struct perf_host *perf_host_of(const struct perf_opts *o, uint32_t i);
/* Enter member i's network namespace (the calling process); 0 or -errno. */
int perf_enter_host(const struct perf_opts *o, uint32_t i);

/* One member's report; written by that member, read by the parent after it exits. */
struct perf_slot {
	_Atomic int32_t pid;
	_Atomic uint32_t joined;
	_Atomic uint64_t sent_final; /* UINT64_MAX until the sender is done */
	_Atomic uint32_t done;	     /* delivered everything */
	_Atomic uint32_t stopped;    /* saw the group stop */
	uint32_t failed_id;
	uint32_t stop_status;
	int32_t error; /* a negative Gale code that ended the run, or 0 */
	uint64_t t_stop_ns;
	uint64_t t_done_ns;
	uint64_t sent;
	uint64_t delivered;
	uint64_t delivered_bytes;
	struct gale_counters counters; /* its group's, at the end */
	double cpu_s;
	struct perf_hist lat;	      /* deliveries of others' messages, ns */
	_Atomic uint64_t t_wedged_ns; /* first claim held by a view change */
	/* The views it installed: epoch, member id mask, when (CLOCK_MONOTONIC). */
	_Atomic uint32_t n_views;
	_Atomic uint64_t view_mask; /* the current view's members (ids < 64) */
	struct {
		uint64_t epoch, mask, t_ns;
	} views[PERF_MAX_VIEWS];
};

struct perf_shared {
	_Atomic uint64_t t_start_ns; /* set by the parent once every member joined */
	_Atomic uint32_t abort_run;
	uint64_t t_fault_ns[PERF_MAX_FAULTS];
	uint64_t t_fault_real_ns[PERF_MAX_FAULTS]; /* the same, CLOCK_REALTIME */
	uint64_t t_join_ns;			   /* when the --join-at member was started */
	struct perf_slot slot[GALE_MAX_MEMBERS];
};

/* Payload prefix gale-perf writes into every message of at least 16 bytes. */
struct perf_payload {
	uint64_t t_ns; /* scheduled (with --rate) or actual send time, CLOCK_MONOTONIC */
	uint64_t seq;
};

/* Results of one run (gale or baseline). */
struct perf_result {
	double msgs_per_s;
	double deliveries_per_s;
	double mb_per_s;
	double cpu_s_per_m;
	uint64_t msgs;
	uint64_t backpressure; /* claims refused with -EAGAIN, all senders */
	uint64_t naks, retrans, dropped_frames, in_place; /* datagram drivers, all members */
	struct gale_counters counters;			  /* every counter, summed over members */
	double elapsed_s;
	struct perf_hist lat;
};

/* perf_opts.c: parse and check the flags; prints usage and exits 2 on any error. */
void perf_parse_args(int argc, char **argv, struct perf_opts *o);
int perf_member_main(const struct perf_opts *o, struct perf_shared *sh, uint32_t id,
		     const char *group);
int perf_baseline_run(const struct perf_opts *o, struct perf_result *out);
/* --baseline for udp and dpdk: the same messages as plain kernel UDP
 * datagrams between the same hosts (perf_udp_baseline.c). */
int perf_udp_baseline_run(const struct perf_opts *o, struct perf_result *out);

uint64_t perf_now_ns(void);
/* User + system CPU seconds of this process. */
double perf_cpu_seconds(void);
void perf_fill(void *buf, uint32_t len, uint64_t t_ns, uint64_t seq, uint32_t sender);
uint32_t perf_msg_len(const struct perf_opts *o, uint64_t *rng);

#endif
