/* SPDX-License-Identifier: MIT */
/*
 * peer-cpg: gale-perf's workload over Corosync's CPG (closed process
 * groups) with AGREED order, so the two can be read side by side.
 *
 * What it measures: total order through the corosync daemon. Every message
 * goes process -> daemon (libqb IPC, one request/reply per cpg_mcast_joined)
 * -> totem ring (the token orders it) -> daemon -> every member (libqb IPC
 * event, read by cpg_dispatch), the sender included.
 *
 * N member processes are forked, member i pinned to cpu i % ncpu. Each joins
 * one CPG group and waits until its configuration change lists all N, so no
 * message is sent before everyone is in; then member 0 sends. Figures as
 * gale-perf defines them (bench/README.md):
 *  - msgs_per_s: messages sent / (common start .. the last member's last
 *    delivery);
 *  - latency: send time (the scheduled one with --rate) to delivery, at each
 *    member other than the sender;
 *  - cpu_s_per_M: user+system CPU of the members during the run per million
 *    messages; daemon_cpu_s_per_M: the daemon's, from /proc/PID/stat
 *    (--daemon-pid), over the same span.
 * A message lost (a gap in the sequence numbers, or a tail missing at the
 * end marker) makes the run fail.
 */
#include "cli.h"
#include "perf_hist.h"

#include <corosync/cpg.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_FAILED 1

#define MAX_MEMBERS 64
#define MAX_SIZE (1u << 20)
#define SEND_BURST 32		     /* sends between two dispatches */
#define GIVE_UP_NS 10000000000ull    /* a member with no progress for this long gives up */
#define JOIN_LIMIT_NS 30000000000ull /* the parent waits this long for all joins */
#define WATCHDOG_NS 30000000000ull   /* no progress anywhere: the parent kills the run */
#define TRY_AGAIN_WAIT_NS 1000000ull /* flow control: wait for events this long */
#define RECV_WAIT_NS 100000000ull    /* a receiver's longest poll */
#define END_SEQ UINT64_MAX	     /* the end marker's seq; its t_ns is the total */

struct opts {
	uint32_t members;
	uint32_t size;
	uint64_t count; /* 0: --duration */
	double duration_s;
	double rate; /* msgs/s; 0: flood */
	char group[CPG_MAX_NAME_LENGTH];
	bool json;
	int daemon_pid; /* 0: unknown */
};

/* The first 16 bytes of every message (gale-perf's struct perf_payload). */
struct payload {
	uint64_t t_ns; /* scheduled (with --rate) or actual send time, CLOCK_MONOTONIC */
	uint64_t seq;
};

/* One member's report; the member writes it, the parent reads it once done is set. */
struct slot {
	atomic_int joined;	   /* its configuration change listed all members */
	atomic_int done;	   /* it delivered everything, or gave up */
	_Atomic uint64_t progress; /* sends + deliveries, for the parent's watchdog */
	int error;		   /* it failed (and said why on stderr) */
	uint64_t sent;		   /* sender: messages sent, the end marker not counted */
	uint64_t delivered;	   /* messages delivered, the end marker not counted */
	uint64_t lost;		   /* messages sent that it did not deliver */
	uint64_t try_again;	   /* sender: CS_ERR_TRY_AGAIN answers (flow control) */
	uint64_t t_done_ns;	   /* its last delivery */
	double cpu_s;		   /* user+system during the run */
	struct perf_hist lat;
};

struct shared {
	_Atomic uint64_t t_start_ns; /* set once all joined: the members start */
	atomic_int abort_run;
	struct slot slot[MAX_MEMBERS];
};

static double
cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* libcpg's cs_strerror lives in libcorosync_common, which libcpg.pc does not link. */
static const char *
cs_name(cs_error_t e)
{
	static char buf[32];
	switch (e) {
	case CS_OK:
		return "CS_OK";
	case CS_ERR_LIBRARY:
		return "CS_ERR_LIBRARY";
	case CS_ERR_TRY_AGAIN:
		return "CS_ERR_TRY_AGAIN";
	case CS_ERR_INVALID_PARAM:
		return "CS_ERR_INVALID_PARAM";
	case CS_ERR_NO_MEMORY:
		return "CS_ERR_NO_MEMORY";
	case CS_ERR_BAD_HANDLE:
		return "CS_ERR_BAD_HANDLE";
	case CS_ERR_ACCESS:
		return "CS_ERR_ACCESS";
	case CS_ERR_NOT_EXIST:
		return "CS_ERR_NOT_EXIST";
	case CS_ERR_EXIST:
		return "CS_ERR_EXIST";
	case CS_ERR_TOO_BIG:
		return "CS_ERR_TOO_BIG";
	default:
		snprintf(buf, sizeof(buf), "cs_error %d", (int)e);
		return buf;
	}
}

/* Wait until fd is readable or timeout_ns passed (ns resolution, unlike poll). */
static void
wait_fd(int fd, uint64_t timeout_ns)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000ull),
			       .tv_nsec = (long)(timeout_ns % 1000000000ull) };
	ppoll(&p, 1, &ts, NULL);
}

/* ---- one member process ---- */

struct member {
	const struct opts *o;
	struct shared *sh;
	struct slot *me;
	uint32_t id;
	cpg_handle_t h;
	int fd;
	size_t view_size;   /* members in the latest configuration change */
	uint64_t next_seq;  /* the seq expected next */
	uint64_t total;	    /* messages the sender sends: --count, or its end marker */
	bool end_seen;	    /* the end marker arrived: nothing more comes */
	uint64_t t_last_ns; /* the latest progress (a send or a delivery) */
	unsigned char *buf; /* sender: the message */
};

static struct member *
member_of(cpg_handle_t h)
{
	void *m = NULL;
	cpg_context_get(h, &m);
	return m;
}

/* This member failed (and said why on stderr): the run is over for everyone. */
static void
fail(struct member *m)
{
	m->me->error = 1;
	atomic_store_explicit(&m->sh->abort_run, 1, memory_order_relaxed);
}

static void
on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid, void *msg,
	   size_t len)
{
	(void)group;
	(void)nodeid;
	(void)pid; /* only member 0 sends; the seq checks the rest */
	struct member *m = member_of(h);
	uint64_t now = cli_now_ns();
	struct payload p;
	if (len < sizeof(p)) {
		fprintf(stderr, "peer-cpg: member %u: a message of %zu bytes, too short\n", m->id,
			len);
		fail(m);
		return;
	}
	memcpy(&p, msg, sizeof(p));
	m->t_last_ns = now;
	atomic_fetch_add_explicit(&m->me->progress, 1, memory_order_relaxed);
	if (p.seq == END_SEQ) {
		m->total = p.t_ns;
		m->end_seen = true;
		return;
	}
	if (p.seq < m->next_seq) {
		fprintf(stderr,
			"peer-cpg: member %u: seq %" PRIu64 " after %" PRIu64
			": out of order or duplicated\n",
			m->id, p.seq, m->next_seq - 1);
		fail(m);
		return;
	}
	m->me->lost += p.seq - m->next_seq;
	m->next_seq = p.seq + 1;
	m->me->delivered++;
	m->me->t_done_ns = now;
	if (m->id != 0)
		ph_add(&m->me->lat, now > p.t_ns ? now - p.t_ns : 0, 1);
}

static void
on_confchg(cpg_handle_t h, const struct cpg_name *group, const struct cpg_address *members,
	   size_t n_members, const struct cpg_address *left, size_t n_left,
	   const struct cpg_address *joined, size_t n_joined)
{
	(void)group;
	(void)members;
	(void)left;
	(void)n_left;
	(void)joined;
	(void)n_joined;
	member_of(h)->view_size = n_members;
}

/* Send up to one burst; true if it may send again at once (flood, no back-pressure). */
static bool
send_burst(struct member *m, uint64_t t_start, bool *finished)
{
	const struct opts *o = m->o;
	uint64_t now = cli_now_ns();
	if (!o->count && now - t_start >= (uint64_t)(o->duration_s * 1e9)) {
		*finished = true;
		return false;
	}
	for (unsigned b = 0; b < SEND_BURST; b++) {
		if (o->count && m->me->sent >= o->count) {
			*finished = true;
			return false;
		}
		uint64_t t_ns = now;
		if (o->rate > 0) {
			t_ns = t_start + (uint64_t)((double)m->me->sent * 1e9 / o->rate);
			if (t_ns > now)
				return false; /* not due yet: open loop */
		}
		struct payload p = { .t_ns = t_ns, .seq = m->me->sent };
		memcpy(m->buf, &p, sizeof(p));
		struct iovec iov = { .iov_base = m->buf, .iov_len = o->size };
		cs_error_t rc = cpg_mcast_joined(m->h, CPG_TYPE_AGREED, &iov, 1);
		if (rc == CS_ERR_TRY_AGAIN) {
			m->me->try_again++;
			return false; /* flow control: dispatch, wait, retry */
		}
		if (rc != CS_OK) {
			fprintf(stderr, "peer-cpg: member 0: cpg_mcast_joined: %s\n", cs_name(rc));
			fail(m);
			*finished = true;
			return false;
		}
		m->me->sent++;
		m->t_last_ns = now;
		atomic_fetch_add_explicit(&m->me->progress, 1, memory_order_relaxed);
		/* Each send is a round trip to the daemon (tens of us): a clock read
		 * per message, or the later ones of a burst would carry stale stamps. */
		now = cli_now_ns();
	}
	return true;
}

/* The end marker: seq END_SEQ, and the number of messages sent in place of a time. */
static cs_error_t
send_end(struct member *m)
{
	struct payload p = { .t_ns = m->me->sent, .seq = END_SEQ };
	memcpy(m->buf, &p, sizeof(p));
	struct iovec iov = { .iov_base = m->buf, .iov_len = m->o->size };
	return cpg_mcast_joined(m->h, CPG_TYPE_AGREED, &iov, 1);
}

static bool
all_done(const struct member *m)
{
	for (uint32_t i = 0; i < m->o->members; i++)
		if (!atomic_load_explicit(&m->sh->slot[i].done, memory_order_acquire))
			return false;
	return true;
}

/* Join the group and wait until the configuration change lists every member. */
static int
join(struct member *m)
{
	cpg_callbacks_t cb = { .cpg_deliver_fn = on_deliver, .cpg_confchg_fn = on_confchg };
	cs_error_t rc = cpg_initialize(&m->h, &cb);
	if (rc != CS_OK) {
		fprintf(stderr, "peer-cpg: member %u: cpg_initialize: %s; is corosync running?\n",
			m->id, cs_name(rc));
		return -1;
	}
	cpg_context_set(m->h, m);
	if ((rc = cpg_fd_get(m->h, &m->fd)) != CS_OK) {
		fprintf(stderr, "peer-cpg: member %u: cpg_fd_get: %s\n", m->id, cs_name(rc));
		return -1;
	}
	struct cpg_name name = { .length = (uint32_t)strlen(m->o->group) };
	memcpy(name.value, m->o->group, name.length);
	uint64_t t0 = cli_now_ns();
	while ((rc = cpg_join(m->h, &name)) == CS_ERR_TRY_AGAIN && cli_now_ns() - t0 < GIVE_UP_NS)
		usleep(1000);
	if (rc != CS_OK) {
		fprintf(stderr, "peer-cpg: member %u: cpg_join %s: %s\n", m->id, m->o->group,
			cs_name(rc));
		return -1;
	}
	while (m->view_size < m->o->members) {
		if (cli_now_ns() - t0 > GIVE_UP_NS) {
			fprintf(stderr,
				"peer-cpg: member %u: after 10 s the group lists %zu of %u members\n",
				m->id, m->view_size, m->o->members);
			return -1;
		}
		if (atomic_load_explicit(&m->sh->abort_run, memory_order_relaxed))
			return -1;
		wait_fd(m->fd, RECV_WAIT_NS);
		if ((rc = cpg_dispatch(m->h, CS_DISPATCH_ALL)) != CS_OK) {
			fprintf(stderr, "peer-cpg: member %u: cpg_dispatch: %s\n", m->id,
				cs_name(rc));
			return -1;
		}
	}
	return 0;
}

static int
run_member(const struct opts *o, struct shared *sh, uint32_t id)
{
	struct member m = { .o = o, .sh = sh, .me = &sh->slot[id], .id = id, .fd = -1 };
	m.total = o->count ? o->count : UINT64_MAX;
	int err = cli_pin(id);
	if (err)
		fprintf(stderr, "peer-cpg: member %u: cannot pin: %s\n", id, strerror(-err));
	if (id == 0 && !(m.buf = calloc(1, o->size))) {
		fprintf(stderr, "peer-cpg: member 0: out of memory\n");
		return EXIT_FAILED;
	}
	if (join(&m)) {
		fail(&m);
		return EXIT_FAILED;
	}
	/* R1: publishes the join; the parent's acquire load pairs with it. */
	atomic_store_explicit(&m.me->joined, 1, memory_order_release);
	uint64_t t_start;
	/* A1: pairs with the parent's release store of the start time (R2). */
	while (!(t_start = atomic_load_explicit(&sh->t_start_ns, memory_order_acquire))) {
		if (atomic_load_explicit(&sh->abort_run, memory_order_relaxed))
			goto out;
		wait_fd(m.fd, 1000000);
		cpg_dispatch(m.h, CS_DISPATCH_ALL);
	}
	double cpu0 = cpu_seconds();
	m.t_last_ns = cli_now_ns();
	bool sender = id == 0, finished = !sender, end_sent = !sender, done = false;
	for (;;) {
		bool again = false; /* the sender may go on without waiting */
		uint64_t wait_ns = RECV_WAIT_NS;
		if (!finished)
			again = send_burst(&m, t_start, &finished);
		if (finished && !end_sent) {
			cs_error_t rc = send_end(&m);
			if (rc == CS_OK) {
				end_sent = true;
			} else if (rc != CS_ERR_TRY_AGAIN) {
				fprintf(stderr, "peer-cpg: member 0: end marker: %s\n",
					cs_name(rc));
				fail(&m);
				end_sent = true;
			}
		}
		if (!end_sent && !again) {
			/* Flow control or not due yet: wait for events, or for the next send. */
			wait_ns = TRY_AGAIN_WAIT_NS;
			if (o->rate > 0 && !finished) {
				uint64_t due =
					t_start + (uint64_t)((double)m.me->sent * 1e9 / o->rate);
				uint64_t now = cli_now_ns();
				wait_ns = due > now ? due - now : 0;
				if (wait_ns > TRY_AGAIN_WAIT_NS)
					wait_ns = TRY_AGAIN_WAIT_NS;
			}
		}
		cs_error_t rc = cpg_dispatch(m.h, CS_DISPATCH_ALL);
		if (rc != CS_OK) {
			fprintf(stderr, "peer-cpg: member %u: cpg_dispatch: %s\n", id, cs_name(rc));
			fail(&m);
		}
		if (m.me->error)
			break;
		if (!done && (m.end_seen || m.next_seq >= m.total)) {
			if (m.end_seen && m.next_seq < m.total)
				m.me->lost += m.total - m.next_seq;
			done = true;
			/* R3: the report is complete; the parent and the others acquire it. */
			atomic_store_explicit(&m.me->done, 1, memory_order_release);
		}
		if (done && all_done(&m))
			break;
		if (atomic_load_explicit(&sh->abort_run, memory_order_relaxed))
			break;
		uint64_t now = cli_now_ns();
		if (now - m.t_last_ns > GIVE_UP_NS) {
			if (!done) {
				fprintf(stderr,
					"peer-cpg: member %u: no progress for 10 s (%" PRIu64
					" delivered); giving up\n",
					id, m.me->delivered);
				fail(&m);
			}
			break;
		}
		if (!again)
			wait_fd(m.fd, wait_ns);
	}
	m.me->cpu_s = cpu_seconds() - cpu0;
out:
	cpg_finalize(m.h);
	free(m.buf);
	return m.me->error ? EXIT_FAILED : 0;
}

/* ---- the parent ---- */

/* The daemon's user+system CPU seconds, from /proc/PID/stat; -1 if unreadable. */
static double
daemon_cpu_seconds(int pid)
{
	if (pid <= 0)
		return -1;
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = 0;
	/* Fields after the command name, which may hold spaces: it ends at the last ')'. */
	char *p = strrchr(line, ')');
	unsigned long long ut, st;
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)(hz > 0 ? hz : 100);
}

static volatile sig_atomic_t stop_signal; /* SIGINT or SIGTERM reached the parent */

static void
on_stop(int sig)
{
	stop_signal = sig;
}

/* Stopped by a signal: the members go too, then the parent dies of it. */
static void
stop_now(const pid_t *pids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	int sig = stop_signal;
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

struct result {
	uint64_t msgs, lost, try_again;
	double elapsed_s, msgs_per_s, mb_per_s, cpu_s_per_m, daemon_cpu_s_per_m;
	int failed;
	struct perf_hist lat;
};

static int
run(const struct opts *o, struct result *r)
{
	struct shared *sh =
		mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("peer-cpg: mmap");
		return -1;
	}
	/* SIGINT stays ignored where it was (a background job). */
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, NULL, &old_int);
	if (old_int.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	fflush(NULL);
	pid_t pids[MAX_MEMBERS] = { 0 };
	for (uint32_t i = 0; i < o->members; i++) {
		if (stop_signal)
			stop_now(pids, i);
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("peer-cpg: fork");
			atomic_store(&sh->abort_run, 1);
			while (wait(NULL) > 0)
				;
			return -1;
		}
		if (pids[i] == 0) {
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			_exit(run_member(o, sh, i));
		}
	}
	/* Start once every member saw all the others join. */
	uint32_t left = o->members;
	uint64_t t_wait = cli_now_ns();
	bool started = false;
	for (;;) {
		uint32_t joined = 0;
		/* A2: pairs with each member's R1. */
		for (uint32_t i = 0; i < o->members; i++)
			joined += (uint32_t)atomic_load_explicit(&sh->slot[i].joined,
								 memory_order_acquire);
		if (joined == o->members) {
			started = true;
			break;
		}
		if (waitpid(-1, NULL, WNOHANG) > 0) {
			left--;
			break;
		}
		if (cli_now_ns() - t_wait > JOIN_LIMIT_NS)
			break;
		if (stop_signal)
			stop_now(pids, o->members);
		usleep(1000);
	}
	uint64_t t0 = 0;
	double dcpu0 = -1, dcpu1 = -1;
	if (started) {
		dcpu0 = daemon_cpu_seconds(o->daemon_pid);
		t0 = cli_now_ns();
		/* R2: the start; each member's A1 pairs with it. */
		atomic_store_explicit(&sh->t_start_ns, t0, memory_order_release);
	} else {
		fprintf(stderr, "peer-cpg: a member failed to join; stopping the run\n");
		atomic_store(&sh->abort_run, 1);
		r->failed++;
	}
	/* Wait for the members; read the daemon's CPU as the last one is done; kill a hung run. */
	uint64_t last_progress = 0, t_progress = cli_now_ns();
	bool all = false, killed = false;
	while (left) {
		if (stop_signal)
			stop_now(pids, o->members);
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p < 0)
			break;
		if (p > 0) {
			left--;
			if (WIFSIGNALED(st)) {
				for (uint32_t i = 0; i < o->members; i++)
					if (pids[i] == p)
						fprintf(stderr, "peer-cpg: member %u died: %s\n", i,
							strsignal(WTERMSIG(st)));
			}
			if (started && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
				r->failed++;
				/* The others must not wait for it. */
				atomic_store(&sh->abort_run, 1);
			}
			continue;
		}
		uint64_t now = cli_now_ns(), progress = 0;
		bool every = true;
		for (uint32_t i = 0; i < o->members; i++) {
			progress +=
				atomic_load_explicit(&sh->slot[i].progress, memory_order_relaxed);
			/* A3: pairs with each member's R3. */
			every &= atomic_load_explicit(&sh->slot[i].done, memory_order_acquire) != 0;
		}
		if (every && !all) {
			all = true;
			dcpu1 = daemon_cpu_seconds(o->daemon_pid);
		}
		if (progress != last_progress) {
			last_progress = progress;
			t_progress = now;
		} else if (!killed && now - t_progress > WATCHDOG_NS) {
			fprintf(stderr, "peer-cpg: no progress for 30 s: killing the members\n");
			for (uint32_t i = 0; i < o->members; i++)
				kill(pids[i], SIGKILL);
			killed = true;
		}
		usleep(1000);
	}
	if (!started) {
		munmap(sh, sizeof(*sh));
		return -1;
	}
	if (dcpu1 < 0)
		dcpu1 = daemon_cpu_seconds(o->daemon_pid);

	uint64_t t_end = t0;
	double cpu = 0;
	r->msgs = sh->slot[0].sent;
	r->try_again = sh->slot[0].try_again;
	for (uint32_t i = 0; i < o->members; i++) {
		struct slot *s = &sh->slot[i];
		r->lost += s->lost;
		if (s->t_done_ns > t_end)
			t_end = s->t_done_ns;
		cpu += s->cpu_s;
		ph_merge(&r->lat, &s->lat);
	}
	r->elapsed_s = (double)(t_end - t0) / 1e9;
	if (r->elapsed_s > 0 && !r->failed) {
		r->msgs_per_s = (double)r->msgs / r->elapsed_s;
		r->mb_per_s = r->msgs_per_s * o->size / 1e6;
	}
	r->cpu_s_per_m = r->msgs ? cpu / ((double)r->msgs / 1e6) : 0;
	r->daemon_cpu_s_per_m = dcpu0 >= 0 && dcpu1 >= 0 && r->msgs
					? (dcpu1 - dcpu0) / ((double)r->msgs / 1e6)
					: -1;
	munmap(sh, sizeof(*sh));
	return 0;
}

/* ---- options and output ---- */

static const char usage_text[] =
	"usage: peer-cpg [options]\n"
	"Corosync CPG, AGREED order: gale-perf's workload (one sender, every member\n"
	"delivers) through a running corosync daemon (see cpg.sh to start one).\n"
	"  --members N        processes in the group, 2..64 (default 3); member 0 sends\n"
	"  --size BYTES       message size, 16..1048576 (default 64): send time, seq, padding\n"
	"  --duration SECONDS send for this long (default 5), or\n"
	"  --count N          send N messages\n"
	"  --rate MSGS_PER_S  open loop; 0 = as fast as possible (default 0)\n"
	"  --group NAME       the CPG group, 1..127 bytes (default peer-cpg-PID)\n"
	"  --daemon-pid PID   the corosync daemon: report its CPU too\n"
	"  --json             one JSON object on stdout\n"
	"  --help             this text\n"
	"exit status: 0 ok, 1 the run failed or lost messages, 2 bad usage\n";

static void
parse_args(int argc, char **argv, struct opts *o)
{
	cli_init("peer-cpg", "lists the options");
	*o = (struct opts){ .members = 3, .size = 64, .duration_s = 5 };
	snprintf(o->group, sizeof(o->group), "peer-cpg-%d", (int)getpid());
	bool have_count = false, have_duration = false;
	enum { O_MEMBERS = 256, O_SIZE, O_COUNT, O_DURATION, O_RATE, O_GROUP, O_DAEMON, O_JSON };
	static const struct option longopts[] = {
		{ "members", required_argument, NULL, O_MEMBERS },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "rate", required_argument, NULL, O_RATE },
		{ "group", required_argument, NULL, O_GROUP },
		{ "daemon-pid", required_argument, NULL, O_DAEMON },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_MEMBERS:
			o->members = (uint32_t)cli_u64("--members", optarg, 2, MAX_MEMBERS);
			break;
		case O_SIZE:
			o->size = (uint32_t)cli_u64("--size", optarg, sizeof(struct payload),
						    MAX_SIZE);
			break;
		case O_COUNT:
			o->count = cli_u64("--count", optarg, 1, UINT64_MAX - 1);
			have_count = true;
			break;
		case O_DURATION:
			o->duration_s = cli_double("--duration", optarg, 0.001, 1e6);
			have_duration = true;
			break;
		case O_RATE:
			o->rate = cli_double("--rate", optarg, 0, 1e9);
			break;
		case O_GROUP:
			if (!*optarg || strlen(optarg) >= CPG_MAX_NAME_LENGTH)
				cli_usage_error("--group '%s' is invalid: valid: 1 to %d bytes",
						optarg, CPG_MAX_NAME_LENGTH - 1);
			snprintf(o->group, sizeof(o->group), "%s", optarg);
			break;
		case O_DAEMON:
			o->daemon_pid = (int)cli_u64("--daemon-pid", optarg, 1, INT32_MAX);
			if (daemon_cpu_seconds(o->daemon_pid) < 0)
				cli_usage_error(
					"--daemon-pid '%s' is invalid: /proc/%s/stat cannot be "
					"read",
					optarg, optarg);
			break;
		case O_JSON:
			o->json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			cli_usage_error("%s needs a value", argv[optind - 1]);
		default:
			cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (have_count && have_duration)
		cli_usage_error("--count and --duration exclude each other: give one");
}

static void
print_text(const struct opts *o, const struct result *r)
{
	printf("peer-cpg: %u members, 1 sender, corosync CPG agreed, size %u B, %" PRIu64
	       " msgs in %.3f s",
	       o->members, o->size, r->msgs, r->elapsed_s);
	if (o->rate > 0)
		printf(", rate %.0f/s", o->rate);
	printf("\n");
	const struct perf_hist *h = &r->lat;
	printf("cpg       %12.0f msgs/s %10.1f MB/s  lat us p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f "
	       "max %.2f  cpu %.3f s/M msgs",
	       r->msgs_per_s, r->mb_per_s, (double)ph_quantile(h, 0.5) / 1e3,
	       (double)ph_quantile(h, 0.9) / 1e3, (double)ph_quantile(h, 0.99) / 1e3,
	       (double)ph_quantile(h, 0.999) / 1e3, (double)h->max / 1e3, r->cpu_s_per_m);
	if (r->daemon_cpu_s_per_m >= 0)
		printf(", daemon %.3f s/M msgs", r->daemon_cpu_s_per_m);
	printf("\n");
	printf("flow      %" PRIu64 " CS_ERR_TRY_AGAIN answers to the sender, %" PRIu64
	       " messages lost\n",
	       r->try_again, r->lost);
	if (o->rate == 0)
		printf("(no --rate: a flood; latency is mostly queueing in the daemon, use --rate "
		       "for latency)\n");
}

static void
print_json(const struct opts *o, const struct result *r)
{
	printf("{\"system\":\"corosync-cpg-agreed\",\"members\":%u,\"senders\":1,\"size\":%u,"
	       "\"rate\":%.1f,\"msgs\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"elapsed_s\":%.6f,"
	       "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"cpu_s_per_M\":%.4f,",
	       o->members, o->size, o->rate, r->msgs, r->lost, r->elapsed_s, r->msgs_per_s,
	       r->mb_per_s, r->cpu_s_per_m);
	if (r->daemon_cpu_s_per_m >= 0)
		printf("\"daemon_cpu_s_per_M\":%.4f,", r->daemon_cpu_s_per_m);
	else
		printf("\"daemon_cpu_s_per_M\":null,");
	printf("\"lat_us\":");
	fflush(stdout);
	ph_print_json(stdout, &r->lat);
	printf("}\n");
}

int
main(int argc, char **argv)
{
	struct opts o;
	parse_args(argc, argv, &o);
	static struct result r;
	if (run(&o, &r))
		return EXIT_FAILED;
	if (o.json)
		print_json(&o, &r);
	else
		print_text(&o, &r);
	if (r.failed || r.lost) {
		fprintf(stderr,
			"peer-cpg: the run failed: %d member(s) failed, %" PRIu64
			" message(s) lost\n",
			r.failed, r.lost);
		return EXIT_FAILED;
	}
	return 0;
}
