/* SPDX-License-Identifier: MIT */
/*
 * gale-perf --baseline for the udp and dpdk drivers: the same traffic over
 * plain kernel UDP sockets, without Gale's protocol. One process per member,
 * each in its member's lab host (network namespace) and on its member's core,
 * with one UDP socket bound to the member's address. Each sender sends every
 * message once to every other member, as one datagram each (Gale's unicast
 * fan-out); every member receives from every sender but itself.
 *
 * Why it is a fair reference: the same hosts and addresses, the same message
 * sizes, payload writes and open-loop send schedule as Gale's members, the
 * same idle strategy and pinning, timed the same way; and a competent plain
 * UDP user's system calls: sendmmsg() of up to 32 messages times the
 * receivers, recvmmsg() of 64, 8 MiB socket buffers. What it leaves out is
 * what Gale adds: ordering, repair of losses, views. A datagram the kernel
 * drops stays lost here (it is counted and reported, and the run ends
 * 200 ms after the senders finished with nothing more arriving): its
 * msgs_per_s counts what arrived, not what was sent. Deliberately
 * independent of libgale.
 */
#include "perf.h"
#include "perf_bl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define CL 64
#define UB_PORT_OFFSET (2 * GALE_MAX_MEMBERS) /* above every port a Gale run uses */
#define UB_SOCKBUF (8 << 20)
#define UB_SEND_BURST 32	   /* messages per sendmmsg() batch (times the receivers) */
#define UB_RECV_BATCH 64	   /* datagrams per recvmmsg() */
#define UB_TAIL_NS 200000000ull	   /* the senders finished and nothing arrived this long: lost */
#define UB_MAX_DGRAM 65507u	   /* the largest UDP payload over IPv4 */
#define UB_READY_NS 10000000000ull /* members have this long to bind */

/* One member's report; written by that member, read by the parent after it exits. */
struct ub_slot {
	_Alignas(CL) _Atomic uint64_t sent_final; /* messages sent; UINT64_MAX until done */
	uint64_t backpressure;			  /* sendmmsg() refused with EAGAIN/ENOBUFS */
	uint64_t received;			  /* datagrams from every sender */
	uint64_t lost;				  /* datagrams sent to it that never came */
	uint64_t late;				  /* datagrams behind a later seq (reordered) */
	uint64_t t_last_ns;			  /* its last receipt */
	double cpu_s;
	struct perf_hist lat;
};

struct ub_shared {
	_Alignas(CL) _Atomic uint64_t t_start_ns; /* set by the parent once every member is bound */
	_Atomic uint32_t ready;
	_Atomic uint32_t abort_run; /* a member failed: the rest stop waiting for it */
	struct ub_slot slot[GALE_MAX_MEMBERS];
};

/* Member i's baseline port: 128 above Gale's (which stay below port + 128), or,
 * where that passes 65535, 128 below. Ports tell the senders apart. */
static uint32_t
ub_port(const struct perf_opts *o, uint32_t i)
{
	if (o->port + UB_PORT_OFFSET + 2 * (o->members - 1) <= 65535)
		return o->port + UB_PORT_OFFSET + 2 * i;
	return o->port - UB_PORT_OFFSET - 2 * i;
}

/* The member with baseline port p, or UINT32_MAX. */
static uint32_t
ub_member_of(const struct perf_opts *o, uint32_t p)
{
	uint32_t base = ub_port(o, 0);
	uint32_t d = p >= base ? p - base : base - p;
	if (d % 2 || d / 2 >= o->members || ub_port(o, d / 2) != p)
		return UINT32_MAX;
	return d / 2;
}

/* Member i's baseline address: the IP of o->addr[i], its baseline port. */
static int
ub_addr(const struct perf_opts *o, uint32_t i, struct sockaddr_in *sa)
{
	char ip[sizeof(o->addr[i])];
	const char *colon = strchr(o->addr[i], ':');
	size_t n = colon ? (size_t)(colon - o->addr[i]) : strlen(o->addr[i]);
	memcpy(ip, o->addr[i], n);
	ip[n] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)ub_port(o, i));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/* A non-blocking UDP socket bound to member i's baseline address; fd or -errno. */
static int
ub_socket(const struct perf_opts *o, uint32_t i)
{
	struct sockaddr_in sa;
	int rc = ub_addr(o, i, &sa);
	if (rc)
		return rc;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int sz = UB_SOCKBUF;
	/* The FORCE variants pass net.core.[rw]mem_max (CAP_NET_ADMIN). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

struct ub_send {
	uint32_t nrx;		 /* receivers: every other member */
	struct sockaddr_in *dst; /* nrx */
	struct iovec *iov;	 /* one per message of the batch */
	struct mmsghdr *mh;	 /* message-major: UB_SEND_BURST x nrx */
	unsigned char *buf;	 /* UB_SEND_BURST messages of stride bytes */
	size_t stride;
	unsigned k;	  /* messages in the pending batch */
	unsigned n, done; /* its datagrams, and how many of them went */
	uint64_t sent;	  /* messages every receiver's datagram went for; the next seq */
	uint64_t backpressure;
	uint64_t rng;
	bool finished;
};

struct ub_recv {
	uint32_t n_from; /* senders other than this member */
	struct mmsghdr mh[UB_RECV_BATCH];
	struct iovec iov[UB_RECV_BATCH];
	struct sockaddr_in from[UB_RECV_BATCH];
	unsigned char *buf;
	uint64_t got[GALE_MAX_MEMBERS];	 /* datagrams from each sender */
	uint64_t next[GALE_MAX_MEMBERS]; /* the seq after the highest seen from each */
	uint64_t late;
	uint64_t t_last_ns;
	uint64_t t_quiet_ns; /* when it first saw every sender finished */
	bool finished;
};

/* Send the pending batch, or make the next one; returns the datagrams sent, or
 * -errno on an error that ends the run. */
static int
send_step(const struct perf_opts *o, struct ub_send *s, int fd, uint32_t id, uint64_t t_start)
{
	if (s->done == s->n) {
		uint64_t now = perf_now_ns();
		if ((o->duration_s > 0 && now - t_start >= (uint64_t)(o->duration_s * 1e9)) ||
		    (o->count && s->sent >= o->count)) {
			s->finished = true;
			return 0;
		}
		unsigned k = 0;
		for (; k < UB_SEND_BURST; k++) {
			if (o->count && s->sent + k >= o->count)
				break;
			uint64_t t_ns = now;
			if (o->rate > 0) {
				t_ns = t_start + (uint64_t)((double)(s->sent + k) * 1e9 / o->rate);
				if (t_ns > now)
					break; /* not due yet: open loop */
			}
			uint32_t len = perf_msg_len(o, &s->rng);
			unsigned char *p = s->buf + (size_t)k * s->stride;
			perf_fill(p, len, t_ns, s->sent + k, id);
			s->iov[k] = (struct iovec){ .iov_base = p, .iov_len = len };
			for (uint32_t r = 0; r < s->nrx; r++) {
				struct msghdr *h = &s->mh[k * s->nrx + r].msg_hdr;
				h->msg_name = &s->dst[r];
				h->msg_namelen = sizeof(s->dst[r]);
				h->msg_iov = &s->iov[k];
				h->msg_iovlen = 1;
			}
		}
		if (!k)
			return 0;
		s->k = k;
		s->n = k * s->nrx;
		s->done = 0;
	}
	int rc = sendmmsg(fd, s->mh + s->done, s->n - s->done, 0);
	if (rc < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
			s->backpressure++; /* the rest goes after the idle step */
			return 0;
		}
		return -errno;
	}
	s->done += (unsigned)rc;
	if (s->done == s->n) {
		s->sent += s->k;
		s->k = s->n = s->done = 0;
	}
	return rc;
}

/* Receive one batch, or see whether everything came; returns the datagrams
 * received, or -errno on an error that ends the run. */
static int
recv_step(const struct perf_opts *o, struct ub_shared *sh, struct ub_recv *r, int fd, uint32_t id,
	  struct perf_hist *lat)
{
	for (unsigned j = 0; j < UB_RECV_BATCH; j++)
		r->mh[j].msg_hdr.msg_namelen = sizeof(r->from[j]);
	int rc = recvmmsg(fd, r->mh, UB_RECV_BATCH, MSG_DONTWAIT, NULL);
	if (rc > 0) {
		uint64_t now = perf_now_ns();
		for (int j = 0; j < rc; j++) {
			uint32_t s = ub_member_of(o, ntohs(r->from[j].sin_port));
			if (s >= o->senders || s == id)
				continue; /* not from a sender of this run */
			r->got[s]++;
			if (r->mh[j].msg_len >= sizeof(struct perf_payload)) {
				struct perf_payload h;
				memcpy(&h, r->iov[j].iov_base, sizeof(h));
				/* Behind a later seq: reordered (a gap that filled in, not a loss).
				 */
				if (h.seq >= r->next[s])
					r->next[s] = h.seq + 1;
				else
					r->late++;
				ph_add(lat, now > h.t_ns ? now - h.t_ns : 0, 1);
			}
		}
		r->t_last_ns = now;
		return rc;
	}
	if (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -errno;
	/* Nothing came: done once every sender finished and all it sent arrived, or
	 * nothing more arrived for UB_TAIL_NS since (the kernel dropped the rest). */
	bool all_final = true, complete = true;
	for (uint32_t s = 0; s < o->senders; s++) {
		if (s == id)
			continue;
		uint64_t f = atomic_load_explicit(&sh->slot[s].sent_final, memory_order_acquire);
		if (f == UINT64_MAX)
			all_final = false;
		else if (r->got[s] < f)
			complete = false;
	}
	if (all_final && complete) {
		r->finished = true;
	} else if (all_final) {
		uint64_t now = perf_now_ns();
		if (!r->t_quiet_ns)
			r->t_quiet_ns = now;
		uint64_t since = r->t_last_ns > r->t_quiet_ns ? r->t_last_ns : r->t_quiet_ns;
		if (now - since >= UB_TAIL_NS)
			r->finished = true;
	}
	return 0;
}

static int
ub_member(const struct perf_opts *o, struct ub_shared *sh, uint32_t id)
{
	struct ub_slot *me = &sh->slot[id];
	int rc = perf_enter_host(o, id);
	if (rc) {
		fprintf(stderr,
			"gale-perf: baseline: member %u: cannot enter network namespace %s: %s\n",
			id, perf_host_of(o, id)->netns, strerror(-rc));
		return rc;
	}
	if (o->pin)
		(void)cli_pin(id);
	int fd = ub_socket(o, id);
	if (fd < 0) {
		fprintf(stderr, "gale-perf: baseline: member %u: cannot bind %.*s:%u: %s\n", id,
			(int)strcspn(o->addr[id], ":"), o->addr[id], ub_port(o, id), strerror(-fd));
		return fd;
	}
	size_t stride =
		((size_t)(o->size_max < 16 ? 16 : o->size_max) + CL - 1) & ~(size_t)(CL - 1);
	struct ub_send s = { .nrx = o->members - 1,
			     .stride = stride,
			     .rng = o->seed ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull),
			     .finished = id >= o->senders };
	struct ub_recv *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->n_from = o->senders - (id < o->senders ? 1 : 0);
	r->finished = r->n_from == 0;
	r->buf = malloc(UB_RECV_BATCH * stride);
	if (!r->buf)
		return -ENOMEM;
	for (unsigned j = 0; j < UB_RECV_BATCH; j++) {
		r->iov[j] = (struct iovec){ .iov_base = r->buf + j * stride, .iov_len = stride };
		r->mh[j].msg_hdr.msg_iov = &r->iov[j];
		r->mh[j].msg_hdr.msg_iovlen = 1;
		r->mh[j].msg_hdr.msg_name = &r->from[j];
	}
	if (!s.finished) {
		s.dst = calloc(s.nrx, sizeof(*s.dst));
		s.iov = calloc(UB_SEND_BURST, sizeof(*s.iov));
		s.mh = calloc((size_t)UB_SEND_BURST * s.nrx, sizeof(*s.mh));
		s.buf = malloc(UB_SEND_BURST * stride);
		if (!s.dst || !s.iov || !s.mh || !s.buf)
			return -ENOMEM;
		for (uint32_t i = 0, k = 0; i < o->members; i++)
			if (i != id && (rc = ub_addr(o, i, &s.dst[k++])) != 0)
				return rc;
	}
	atomic_fetch_add_explicit(&sh->ready, 1, memory_order_release);
	struct bl_idle idle = { .kind = o->idle, .sleep_us = 1 };
	uint64_t t_start;
	while (!(t_start = atomic_load_explicit(&sh->t_start_ns, memory_order_acquire))) {
		if (atomic_load_explicit(&sh->abort_run, memory_order_relaxed))
			return -ECANCELED;
		usleep(100);
	}
	double cpu0 = perf_cpu_seconds();
	while (!s.finished || !r->finished) {
		unsigned work = 0;
		if (!s.finished) {
			rc = send_step(o, &s, fd, id, t_start);
			if (rc < 0) {
				fprintf(stderr, "gale-perf: baseline: member %u: sendmmsg: %s\n",
					id, strerror(-rc));
				return rc;
			}
			work += (unsigned)rc;
			if (s.finished)
				atomic_store_explicit(&me->sent_final, s.sent,
						      memory_order_release);
		}
		if (!r->finished) {
			rc = recv_step(o, sh, r, fd, id, &me->lat);
			if (rc < 0) {
				fprintf(stderr, "gale-perf: baseline: member %u: recvmmsg: %s\n",
					id, strerror(-rc));
				return rc;
			}
			work += (unsigned)rc;
		}
		if (!work && atomic_load_explicit(&sh->abort_run, memory_order_relaxed))
			return -ECANCELED;
		bl_idle(&idle, work);
	}
	me->cpu_s = perf_cpu_seconds() - cpu0;
	me->backpressure = s.backpressure;
	me->t_last_ns = r->t_last_ns;
	me->late = r->late;
	for (uint32_t i = 0; i < o->senders; i++) {
		if (i == id)
			continue;
		uint64_t f = atomic_load_explicit(&sh->slot[i].sent_final, memory_order_acquire);
		me->received += r->got[i];
		if (f > r->got[i])
			me->lost += f - r->got[i];
	}
	close(fd);
	return 0;
}

/* Wait for the members; any that fails makes the rest stop. Returns whether all succeeded. */
static bool
reap(struct ub_shared *sh, const pid_t *pids, uint32_t n)
{
	bool ok = true;
	uint32_t left = n;
	bool gone[GALE_MAX_MEMBERS] = { false };
	while (left) {
		bool any = false;
		for (uint32_t i = 0; i < n; i++) {
			int st;
			if (gone[i] || waitpid(pids[i], &st, WNOHANG) == 0)
				continue;
			gone[i] = any = true;
			left--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				ok = false;
				atomic_store(&sh->abort_run, 1);
			}
		}
		if (!any)
			usleep(1000);
	}
	return ok;
}

int
perf_udp_baseline_run(const struct perf_opts *o, struct perf_result *out)
{
	memset(out, 0, sizeof(*out));
	if (o->members < 2 || o->members > GALE_MAX_MEMBERS || !o->senders ||
	    o->senders > o->members)
		return -EINVAL;
	if (o->size_max > UB_MAX_DGRAM) {
		fprintf(stderr,
			"gale-perf: baseline: messages of %u bytes do not fit a UDP datagram\n",
			o->size_max);
		return -EMSGSIZE;
	}
	size_t bytes = sizeof(struct ub_shared);
	struct ub_shared *sh =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < o->members; i++)
		atomic_store(&sh->slot[i].sent_final, UINT64_MAX);
	pid_t pids[GALE_MAX_MEMBERS];
	uint32_t n = 0;
	int rc = 0;
	for (; n < o->members; n++) {
		fflush(NULL);
		pids[n] = fork();
		if (pids[n] < 0) {
			rc = -errno;
			break;
		}
		if (pids[n] == 0)
			_exit(ub_member(o, sh, n) == 0 ? 0 : 1);
	}
	/* Start once every member is bound, unless one failed first. */
	uint64_t deadline = perf_now_ns() + UB_READY_NS;
	while (!rc && atomic_load_explicit(&sh->ready, memory_order_acquire) < o->members) {
		for (uint32_t i = 0; i < n && !rc; i++) {
			int st;
			if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				pids[i] = -1;
				rc = -ECHILD;
			}
		}
		if (!rc && perf_now_ns() > deadline)
			rc = -ETIMEDOUT;
		usleep(1000);
	}
	if (rc) {
		atomic_store(&sh->abort_run, 1);
		for (uint32_t i = 0; i < n; i++)
			if (pids[i] > 0)
				waitpid(pids[i], NULL, 0);
		munmap(sh, bytes);
		return rc == -ETIMEDOUT ? -ECHILD : rc;
	}
	uint64_t t0 = perf_now_ns();
	atomic_store_explicit(&sh->t_start_ns, t0, memory_order_release);
	if (!reap(sh, pids, n)) {
		munmap(sh, bytes);
		return -ECHILD;
	}
	uint64_t received = 0, lost = 0, late = 0, t_end = t0;
	double cpu = 0;
	for (uint32_t i = 0; i < o->members; i++) {
		const struct ub_slot *s = &sh->slot[i];
		if (i < o->senders)
			out->msgs += atomic_load(&s->sent_final);
		out->backpressure += s->backpressure;
		received += s->received;
		lost += s->lost;
		late += s->late;
		if (s->t_last_ns > t_end)
			t_end = s->t_last_ns;
		cpu += s->cpu_s;
		ph_merge(&out->lat, &s->lat);
	}
	out->dropped_frames = lost;
	out->elapsed_s = (double)(t_end - t0) / 1e9;
	if (out->elapsed_s > 0) {
		out->deliveries_per_s = (double)received / out->elapsed_s;
		out->msgs_per_s = (double)received / (o->members - 1) / out->elapsed_s;
	}
	double avg = o->size_min == o->size_max ? o->size_min : (o->size_min + o->size_max) / 2.0;
	out->mb_per_s = out->msgs_per_s * avg / 1e6;
	out->cpu_s_per_m = out->msgs ? cpu / ((double)out->msgs / 1e6) : 0;
	if (lost)
		fprintf(stderr,
			"gale-perf: baseline: %llu of %llu datagrams lost (plain UDP repairs nothing)\n",
			(unsigned long long)lost, (unsigned long long)(received + lost));
	if (late)
		fprintf(stderr, "gale-perf: baseline: %llu datagrams arrived out of order\n",
			(unsigned long long)late);
	munmap(sh, bytes);
	return 0;
}
