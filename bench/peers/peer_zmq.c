/* SPDX-License-Identifier: MIT */
/*
 * peer-zmq: gale-perf's workload over ZeroMQ PUB/SUB, so the two can be set
 * side by side. Process 0 (this one) publishes; N-1 forked subscribers each
 * receive every message. Pinning (process i on cpu i % ncpu), the payload
 * (send time, then sequence number), the open-loop schedule of --rate, the
 * sender's idle backoff and the figures (msgs/s, MB/s, latency percentiles,
 * CPU seconds per million messages) are defined as gale-perf defines them.
 *
 * What it does not give, and gale-perf does: PUB/SUB has one sender per
 * socket and no order across senders, no virtual synchrony (no views, no
 * agreement on who got what when a member fails) and no stability (a message
 * is gone once handed to the socket; nothing is re-sent). High-water marks
 * are off, so the publisher drops nothing but its queues grow without bound
 * in a flood; any loss is still counted and reported.
 *
 * Start: subscribers connect and subscribe, the publisher sends warm-up
 * messages every 1 ms until each has received one (ZeroMQ's slow joiner),
 * then the measured stream starts (t0). End: after its last message the
 * publisher sends end markers that carry how many it sent.
 */
#include "cli.h"
#include "perf_bl.h"
#include "perf_hist.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_MEMBERS 64
#define MIN_SIZE 16 /* send time + sequence number */
#define MAX_SIZE (16u << 20)
#define SEND_BURST 32 /* messages per clock read, as gale-perf */
#define WAIT_MS 10000 /* a subscriber gives up after this long without a message */
#define SEQ_WARMUP (UINT64_MAX - 1)
#define SEQ_END UINT64_MAX

static const char usage_text[] =
	"usage: peer-zmq [options]\n"
	"  --members N           processes, 2..64: one publisher and N-1 subscribers (default 3)\n"
	"  --size BYTES          message size, 16..16777216 (default 64)\n"
	"  --duration SECONDS    send for this long (default 5), or\n"
	"  --count N             messages to send\n"
	"  --rate MSGS_PER_S     open loop; 0 = as fast as possible (default 0)\n"
	"  --transport ipc|tcp   ipc: a socket in a fresh /tmp directory; tcp: 127.0.0.1\n"
	"                        on a free port (default ipc)\n"
	"  --json                print one JSON object instead of text\n"
	"  --help                this text\n"
	"Process i runs on cpu i %% ncpu. Figures are defined as gale-perf's.\n"
	"exit status: 0 ok, 1 the run failed or lost messages, 2 bad usage\n";

struct opts {
	uint32_t members;
	uint32_t size;
	uint64_t count;
	double duration_s;
	double rate;
	bool tcp;
	bool json;
};

/* One per process, written by that process only; the parent reads it after
 * waitpid(), except for the two atomics. */
struct slot {
	_Alignas(64) struct perf_hist lat;
	uint64_t t_done_ns; /* its last delivery */
	uint64_t bytes;
	double cpu0_s; /* its CPU time when it became ready */
	/* R1: released once cpu0_s is set; acquired by the publisher's warm-up. */
	atomic_uint ready;
	/* Progress, read by the publisher to spot a stalled run (relaxed). */
	_Atomic uint64_t received;
};
static_assert(sizeof(struct slot) % 64 == 0, "slots on their own cache lines");
static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "atomics shared across processes");

struct shared {
	char endpoint[256];
	/* E1: released once endpoint is written (or the publisher gave up);
	 * acquired by each subscriber before it connects. */
	atomic_uint endpoint_state; /* 0 not yet, 1 ready, 2 abort */
	struct slot slot[MAX_MEMBERS];
};

/* Set by ^C or SIGTERM in the publisher: the stream stops and the run ends
 * in order (a lock-free atomic may be stored from a signal handler). */
static atomic_bool interrupted;
static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "a flag the signal handler may set");

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&interrupted, true, memory_order_relaxed);
}

static bool
stopping(void)
{
	return atomic_load_explicit(&interrupted, memory_order_relaxed);
}

enum { O_MEMBERS = 256, O_SIZE, O_COUNT, O_DURATION, O_RATE, O_TRANSPORT, O_JSON, O_HELP };

static void
parse_one(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case O_MEMBERS:
		o->members = (uint32_t)cli_u64("--members", arg, 2, MAX_MEMBERS);
		break;
	case O_SIZE:
		o->size = (uint32_t)cli_u64("--size", arg, MIN_SIZE, MAX_SIZE);
		break;
	case O_COUNT:
		o->count = cli_u64("--count", arg, 1, 1ull << 40);
		break;
	case O_DURATION:
		o->duration_s = cli_double("--duration", arg, 0.001, 86400);
		break;
	case O_RATE:
		o->rate = cli_double("--rate", arg, 0, 1e9);
		break;
	case O_TRANSPORT:
		if (strcmp(arg, "ipc") && strcmp(arg, "tcp"))
			cli_usage_error("--transport '%s' is invalid: valid: ipc, tcp", arg);
		o->tcp = !strcmp(arg, "tcp");
		break;
	case O_JSON:
		o->json = true;
		break;
	default:
		fputs(usage_text, stdout);
		exit(0);
	}
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "members", required_argument, 0, O_MEMBERS },
		{ "size", required_argument, 0, O_SIZE },
		{ "count", required_argument, 0, O_COUNT },
		{ "duration", required_argument, 0, O_DURATION },
		{ "rate", required_argument, 0, O_RATE },
		{ "transport", required_argument, 0, O_TRANSPORT },
		{ "json", no_argument, 0, O_JSON },
		{ "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 },
	};
	cli_init("peer-zmq", "lists every option");
	*o = (struct opts){ .members = 3, .size = 64 };
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == ':')
			cli_usage_error("%s needs a value", argv[optind - 1]);
		if (c == '?')
			cli_usage_error("unknown option '%s'", argv[optind - 1]);
		parse_one(o, c == 'h' ? O_HELP : c, optarg);
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->duration_s > 0 && o->count)
		cli_usage_error("--duration and --count exclude each other: give one");
	if (!o->duration_s && !o->count)
		o->duration_s = 5;
}

static double
cpu_seconds(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
put_header(char *buf, uint64_t t_ns, uint64_t seq)
{
	memcpy(buf, &t_ns, 8);
	memcpy(buf + 8, &seq, 8);
}

static int
set_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

/* ---- subscriber (a forked child) ---- */

static const char *
wait_endpoint(struct shared *sh)
{
	for (int ms = 0; ms < WAIT_MS; ms++) {
		unsigned st =
			atomic_load_explicit(&sh->endpoint_state, memory_order_acquire); /* E1 */
		if (st == 1)
			return sh->endpoint;
		if (st == 2)
			return NULL;
		usleep(1000);
	}
	fprintf(stderr, "peer-zmq: no endpoint from the publisher after %d s\n", WAIT_MS / 1000);
	return NULL;
}

/* 0: the end (marker or --count reached), 1: no message for WAIT_MS, -1: error. */
static int
sub_loop(void *sock, const struct opts *o, struct slot *me, char *buf)
{
	uint64_t received = 0;
	for (;;) {
		int n = zmq_recv(sock, buf, o->size, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 1 : -1;
		uint64_t now = cli_now_ns(), t_ns, seq;
		if (n < MIN_SIZE)
			continue; /* not ours */
		memcpy(&t_ns, buf, 8);
		memcpy(&seq, buf + 8, 8);
		if (seq == SEQ_END)
			return 0;
		if (seq == SEQ_WARMUP) {
			if (!atomic_load_explicit(&me->ready, memory_order_relaxed)) {
				me->cpu0_s = cpu_seconds(RUSAGE_SELF);
				atomic_store_explicit(&me->ready, 1, memory_order_release); /* R1 */
			}
			continue;
		}
		ph_add(&me->lat, now > t_ns ? now - t_ns : 0, 1);
		me->t_done_ns = now;
		me->bytes += (uint64_t)n;
		atomic_store_explicit(&me->received, ++received, memory_order_relaxed);
		if (o->count && seq + 1 >= o->count)
			return 0; /* the last one: in order, so nothing more comes */
	}
}

static int
sub_main(const struct opts *o, struct shared *sh, uint32_t id)
{
	signal(SIGINT, SIG_IGN); /* ^C reaches the publisher, which ends the run */
	signal(SIGTERM, SIG_DFL);
	cli_pin(id); /* best effort, as gale-perf */
	const char *ep = wait_endpoint(sh);
	char *buf = malloc(o->size);
	void *ctx = zmq_ctx_new();
	void *sock = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
	int rc = -1;
	if (ep && buf && sock && !set_int(sock, ZMQ_RCVHWM, 0) && !set_int(sock, ZMQ_LINGER, 0) &&
	    !set_int(sock, ZMQ_RCVTIMEO, WAIT_MS) && !zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) &&
	    !zmq_connect(sock, ep))
		rc = sub_loop(sock, o, &sh->slot[id], buf);
	if (rc < 0 && ep)
		fprintf(stderr, "peer-zmq: subscriber %u: %s\n", id, zmq_strerror(errno));
	if (rc > 0)
		fprintf(stderr, "peer-zmq: subscriber %u: nothing for %d s; giving up\n", id,
			WAIT_MS / 1000);
	if (sock)
		zmq_close(sock);
	if (ctx)
		zmq_ctx_term(ctx);
	free(buf);
	return rc ? 1 : 0;
}

/* ---- publisher (this process) and the run ---- */

struct run {
	const struct opts *o;
	struct shared *sh;
	void *ctx, *pub;
	char *buf;
	char dir[64]; /* ipc: the socket's directory */
	pid_t pids[MAX_MEMBERS];
	int status[MAX_MEMBERS];
	bool reaped[MAX_MEMBERS];
	uint64_t sent, t0;
	double cpu0_s;
	bool failed;
};

/* Reap the children that ended; returns how many are still running. */
static unsigned
reap(struct run *r, bool block)
{
	unsigned left = 0;
	for (uint32_t i = 1; i < r->o->members; i++) {
		if (r->reaped[i] || !r->pids[i])
			continue;
		pid_t p = waitpid(r->pids[i], &r->status[i], block ? 0 : WNOHANG);
		if (p < 0 && errno != EINTR)
			r->status[i] = -1; /* not an exit status: counted as failed */
		if (p == r->pids[i] || (p < 0 && errno != EINTR))
			r->reaped[i] = true;
		else
			left++;
	}
	return left;
}

static void
kill_children(struct run *r)
{
	for (uint32_t i = 1; i < r->o->members; i++)
		if (r->pids[i] && !r->reaped[i])
			kill(r->pids[i], SIGKILL);
	while (reap(r, true))
		;
}

static int
fork_subscribers(struct run *r)
{
	for (uint32_t i = 1; i < r->o->members; i++) {
		r->pids[i] = fork();
		if (r->pids[i] < 0) {
			r->pids[i] = 0;
			perror("peer-zmq: fork");
			return -1;
		}
		if (r->pids[i] == 0)
			_exit(sub_main(r->o, r->sh, i));
	}
	return 0;
}

static int
pub_open(struct run *r)
{
	char ep[128];
	snprintf(ep, sizeof(ep), r->o->tcp ? "tcp://127.0.0.1:*" : "ipc://%s/pub", r->dir);
	r->ctx = zmq_ctx_new();
	r->pub = r->ctx ? zmq_socket(r->ctx, ZMQ_PUB) : NULL;
	size_t len = sizeof(r->sh->endpoint);
	if (!r->pub || set_int(r->pub, ZMQ_SNDHWM, 0) || set_int(r->pub, ZMQ_LINGER, 0) ||
	    zmq_bind(r->pub, ep) ||
	    zmq_getsockopt(r->pub, ZMQ_LAST_ENDPOINT, r->sh->endpoint, &len)) {
		fprintf(stderr, "peer-zmq: publisher on %s: %s\n", ep, zmq_strerror(errno));
		return -1;
	}
	atomic_store_explicit(&r->sh->endpoint_state, 1, memory_order_release); /* E1 */
	return 0;
}

static unsigned
count_ready(struct run *r)
{
	unsigned n = 0;
	for (uint32_t i = 1; i < r->o->members; i++)
		n += atomic_load_explicit(&r->sh->slot[i].ready, memory_order_acquire); /* R1 */
	return n;
}

static int
send_marker(struct run *r, uint64_t t_ns, uint64_t seq)
{
	char m[MIN_SIZE];
	put_header(m, t_ns, seq);
	return zmq_send(r->pub, m, sizeof(m), 0) < 0 && errno != EINTR ? -1 : 0;
}

/* Until every subscriber received one warm-up message (its subscription is
 * then in place at the publisher), or WAIT_MS, a child's end, or ^C. */
static int
warm_up(struct run *r)
{
	for (int ms = 0; ms < WAIT_MS && !stopping(); ms++) {
		if (count_ready(r) == r->o->members - 1)
			return 0;
		if (reap(r, false) < r->o->members - 1) {
			fprintf(stderr, "peer-zmq: a subscriber ended before the run started\n");
			return -1;
		}
		if (send_marker(r, cli_now_ns(), SEQ_WARMUP))
			return -1;
		usleep(1000);
	}
	if (!stopping())
		fprintf(stderr, "peer-zmq: subscribers not ready after %d s\n", WAIT_MS / 1000);
	return -1;
}

/* Up to SEND_BURST messages stamped with one clock read (with --rate, with
 * their scheduled time, as gale-perf); returns how many, or -1. */
static int
send_burst(struct run *r, uint64_t now)
{
	const struct opts *o = r->o;
	int b = 0;
	for (; b < SEND_BURST && (!o->count || r->sent < o->count); b++) {
		uint64_t t_ns = now;
		if (o->rate > 0) {
			t_ns = r->t0 + (uint64_t)((double)r->sent * 1e9 / o->rate);
			if (t_ns > now)
				break; /* not due yet: open loop */
		}
		put_header(r->buf, t_ns, r->sent);
		if (zmq_send(r->pub, r->buf, o->size, 0) < 0) {
			if (errno == EINTR)
				break;
			fprintf(stderr, "peer-zmq: send: %s\n", zmq_strerror(errno));
			return -1;
		}
		r->sent++;
	}
	return b;
}

static int
stream(struct run *r)
{
	const struct opts *o = r->o;
	uint64_t dur_ns = (uint64_t)(o->duration_s * 1e9);
	struct bl_idle bo = { .kind = GALE_IDLE_BACKOFF, .sleep_us = 1 }; /* gale-perf's default */
	while (!stopping()) {
		uint64_t now = cli_now_ns();
		if (o->duration_s > 0 && now - r->t0 >= dur_ns)
			return 0;
		if (o->count && r->sent >= o->count)
			return 0;
		int n = send_burst(r, now);
		if (n < 0)
			return -1;
		bl_idle(&bo, (unsigned)n);
	}
	r->failed = true;
	return 0; /* interrupted: ends in order, reports what it has, exit 1 */
}

static uint64_t
total_received(struct run *r)
{
	uint64_t n = 0;
	for (uint32_t i = 1; i < r->o->members; i++)
		n += atomic_load_explicit(&r->sh->slot[i].received, memory_order_relaxed);
	return n;
}

/* End markers every 100 ms until every subscriber ended; one that makes no
 * progress for WAIT_MS (plus a margin) is killed. */
static void
finish(struct run *r)
{
	uint64_t last = UINT64_MAX, t_progress = cli_now_ns(), t_marker = 0;
	while (reap(r, false)) {
		uint64_t now = cli_now_ns(), got = total_received(r);
		if (got != last) {
			last = got;
			t_progress = now;
		}
		if (now - t_progress > (WAIT_MS + 5000) * 1000000ull) {
			fprintf(stderr, "peer-zmq: subscribers stalled; killing them\n");
			r->failed = true;
			kill_children(r);
			return;
		}
		if (now - t_marker >= 100000000ull) {
			send_marker(r, r->sent, SEQ_END);
			t_marker = now;
		}
		usleep(1000);
	}
}

struct result {
	uint64_t lost, bytes;
	double elapsed_s, msgs_per_s, mb_per_s, cpu_s_per_m;
	struct perf_hist lat;
};

static void
collect(struct run *r, struct result *res)
{
	uint64_t t_end = r->t0, got = 0;
	double cpu = cpu_seconds(RUSAGE_SELF) - r->cpu0_s + cpu_seconds(RUSAGE_CHILDREN);
	memset(res, 0, sizeof(*res));
	for (uint32_t i = 1; i < r->o->members; i++) {
		struct slot *s = &r->sh->slot[i];
		int st = r->status[i];
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			r->failed = true;
			fprintf(stderr, "peer-zmq: subscriber %u (pid %d) %s %d\n", i,
				(int)r->pids[i], WIFSIGNALED(st) ? "died of signal" : "exited",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
		uint64_t n = atomic_load_explicit(&s->received, memory_order_relaxed);
		res->lost += r->sent > n ? r->sent - n : 0;
		got += n;
		res->bytes += s->bytes;
		if (s->t_done_ns > t_end)
			t_end = s->t_done_ns;
		cpu -= s->cpu0_s;
		ph_merge(&res->lat, &s->lat);
	}
	res->elapsed_s = (double)(t_end - r->t0) / 1e9;
	if (res->elapsed_s > 0 && got && !r->failed) { /* as gale-perf: none for a failed run */
		res->msgs_per_s = (double)r->sent / res->elapsed_s;
		res->mb_per_s = res->msgs_per_s * ((double)res->bytes / (double)got) / 1e6;
	}
	res->cpu_s_per_m = r->sent ? cpu / ((double)r->sent / 1e6) : 0;
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
print_result(const struct run *r, const struct result *res)
{
	const struct opts *o = r->o;
	const char *sys = o->tcp ? "zmq-tcp" : "zmq-ipc";
	if (!o->json) {
		printf("%-9s %12.0f msgs/s %10.1f MB/s  lat us p50 %.2f p99 %.2f p99.9 %.2f max "
		       "%.2f  cpu %.3f s/M msgs  lost %llu\n",
		       sys, res->msgs_per_s, res->mb_per_s, us(ph_quantile(&res->lat, 0.5)),
		       us(ph_quantile(&res->lat, 0.99)), us(ph_quantile(&res->lat, 0.999)),
		       us(res->lat.max), res->cpu_s_per_m, (unsigned long long)res->lost);
		return;
	}
	printf("{\"system\":\"%s\",\"members\":%u,\"senders\":1,\"size\":%u,\"rate\":%.15g,"
	       "\"msgs\":%llu,\"lost\":%llu,\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,"
	       "\"mb_per_s\":%.3f,\"cpu_s_per_M\":%.4f,\"lat_us\":",
	       sys, o->members, o->size, o->rate, (unsigned long long)r->sent,
	       (unsigned long long)res->lost, res->elapsed_s, res->msgs_per_s, res->mb_per_s,
	       res->cpu_s_per_m);
	fflush(stdout);
	ph_print_json(stdout, &res->lat);
	printf("}\n");
}

/* Publisher side of a run whose subscribers are forked: 0 if it got through. */
static int
publish(struct run *r)
{
	cli_pin(0); /* before zmq_ctx_new(), so its I/O thread shares the core */
	r->buf = calloc(1, r->o->size);
	if (!r->buf || pub_open(r)) {
		atomic_store_explicit(&r->sh->endpoint_state, 2, memory_order_release); /* E1 */
		return -1;
	}
	if (warm_up(r))
		return -1;
	r->cpu0_s = cpu_seconds(RUSAGE_SELF);
	r->t0 = cli_now_ns();
	int rc = stream(r);
	if (stopping())
		fprintf(stderr, "peer-zmq: interrupted after %llu messages\n",
			(unsigned long long)r->sent);
	finish(r);
	return rc;
}

static void
cleanup(struct run *r)
{
	if (r->pub)
		zmq_close(r->pub);
	if (r->ctx)
		zmq_ctx_term(r->ctx);
	free(r->buf);
	if (r->dir[0]) {
		char path[96];
		snprintf(path, sizeof(path), "%s/pub", r->dir);
		unlink(path); /* libzmq may have removed it already */
		if (rmdir(r->dir))
			fprintf(stderr, "peer-zmq: rmdir %s: %s\n", r->dir, strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	parse_args(argc, argv, &o);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct shared *sh =
		mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("peer-zmq: mmap");
		return 1;
	}
	struct run r = { .o = &o, .sh = sh };
	if (!o.tcp) {
		snprintf(r.dir, sizeof(r.dir), "/tmp/peer-zmq.XXXXXX");
		if (!mkdtemp(r.dir)) {
			perror("peer-zmq: mkdtemp");
			return 1;
		}
	}
	fflush(stdout);
	int rc = fork_subscribers(&r);
	if (rc == 0)
		rc = publish(&r);
	if (rc) {
		atomic_store_explicit(&sh->endpoint_state, 2, memory_order_release); /* E1 */
		kill_children(&r);
	}
	while (reap(&r, true))
		;
	struct result res;
	if (rc == 0)
		collect(&r, &res);
	cleanup(&r);
	munmap(sh, sizeof(*sh));
	if (rc)
		return 1;
	print_result(&r, &res);
	return r.failed || res.lost ? 1 : 0;
}
