/* SPDX-License-Identifier: MIT */
/*
 * One gale-perf member process: join the group, send (if it is one of the
 * first --senders members), deliver everything every sender sent, write the
 * delivery log, report into its slot of the shared page.
 */
#include "perf.h"
#include "cli.h"
#include "perf_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SEND_BURST 256
#define POLL_BURST 256

uint64_t
perf_now_ns(void)
{
	return cli_now_ns();
}

/* splitmix64: the sizes of random-size runs. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t
perf_msg_len(const struct perf_opts *o, uint64_t *rng)
{
	if (o->size_min == o->size_max)
		return o->size_min;
	return o->size_min + (uint32_t)(rng_next(rng) % (o->size_max - o->size_min + 1));
}

void
perf_fill(void *buf, uint32_t len, uint64_t t_ns, uint64_t seq, uint32_t sender)
{
	unsigned char *p = buf;
	if (len >= sizeof(struct perf_payload)) {
		struct perf_payload h = { .t_ns = t_ns, .seq = seq };
		memcpy(p, &h, sizeof(h));
		p += sizeof(h);
		len -= (uint32_t)sizeof(h);
	}
	/* The rest: a byte pattern of sender and seq, so digests tell messages apart. */
	if (len)
		memset(p, (int)((seq * 131 + sender) & 0xff), len);
}

static uint64_t
fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

double
perf_cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct member {
	const struct perf_opts *o;
	struct perf_shared *sh;
	struct perf_slot *me;
	uint32_t id;
	struct gale_node *node;
	struct gale_group *g;
	struct perf_log log;
	bool logging;
	uint64_t delivered_from[GALE_MAX_MEMBERS];
	uint64_t rng;
	uint64_t epoch;	    /* of the installed view */
	uint64_t epoch_seq; /* the next send's seq in it */
	uint64_t view_mask; /* its members */
	/* Len and digest of this view's latest sends (by seq & hist_mask): the
	 * ones a view change cuts are logged again as re-sent. */
	struct sent_rec {
		uint32_t len;
		uint64_t digest;
	} * hist;
	uint64_t hist_mask;
	bool got_state; /* a joiner: the state arrived */
};

static void
on_view(void *arg, const struct gale_view *v)
{
	struct member *m = arg;
	uint64_t mask = 0;
	for (uint32_t i = 0; i < v->n_members; i++)
		if (v->members[i].id < 64)
			mask |= 1ull << v->members[i].id;
	uint32_t nv = atomic_load_explicit(&m->me->n_views, memory_order_relaxed);
	if (nv < PERF_MAX_VIEWS) {
		m->me->views[nv].epoch = v->epoch;
		m->me->views[nv].mask = mask;
		m->me->views[nv].t_ns = perf_now_ns();
		atomic_store_explicit(&m->me->n_views, nv + 1, memory_order_release);
	}
	atomic_store_explicit(&m->me->view_mask, mask, memory_order_release);
	m->epoch = v->epoch;
	m->view_mask = mask;
	/* The V line and the re-sends it brings, written with one copy: the
	 * dataplane re-sent them at the switch, so a log killed in between must
	 * not show the view without them. */
	uint64_t k = v->resent_count;
	if (k > m->hist_mask + 1) {
		fprintf(stderr,
			"gale-perf: member %u: %" PRIu64
			" re-sent messages, more than it remembers\n",
			m->id, k);
		m->me->error = -EOVERFLOW;
		k = m->hist_mask + 1;
	}
	size_t cap = GALE_MAX_MEMBERS * 11 + 32 + k * PLOG_RESEND_MAX;
	char *block = malloc(cap);
	struct sent_rec *tmp = malloc((k ? k : 1) * sizeof(*tmp));
	if (!block || !tmp) {
		m->me->error = -ENOMEM;
		free(block);
		free(tmp);
		return;
	}
	size_t n = (size_t)snprintf(block, cap, "V %" PRIu64 " ", v->epoch);
	for (uint32_t i = 0; i < v->n_members; i++)
		n += (size_t)snprintf(block + n, cap - n, "%s%u", i ? "," : "", v->members[i].id);
	block[n++] = '\n';
	/* This view's seq i re-sends the last view's seq resent_first + i. */
	for (uint64_t i = 0; i < k; i++)
		tmp[i] = m->hist[(v->resent_first + i) & m->hist_mask];
	for (uint64_t i = 0; i < k; i++) {
		m->hist[i & m->hist_mask] = tmp[i];
		n += plog_fmt_resend(block + n, v->epoch, i, tmp[i].len, tmp[i].digest,
				     v->epoch - 1, v->resent_first + i);
	}
	if (m->logging)
		plog_line(&m->log, block, n);
	free(block);
	free(tmp);
	m->epoch_seq = v->resent_count;
}

static int
open_log(struct member *m)
{
	if (!m->o->log_dir)
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/member-%u.log", m->o->log_dir, m->id);
	int rc = plog_open(&m->log, path);
	if (rc) {
		fprintf(stderr, "gale-perf: member %u: cannot write %s: %s\n", m->id, path,
			strerror(-rc));
		return rc;
	}
	m->logging = true;
	char head[96];
	int n = snprintf(head, sizeof(head), "# gale-perf member %u mode %s\n", m->id,
			 gale_mode_name(m->o->mode));
	plog_line(&m->log, head, (size_t)n);
	return 0;
}

/* Everything every sender of the current view sent has been delivered here
 * (a sender the group excluded has nothing more coming). */
static bool
all_delivered(struct member *m)
{
	for (uint32_t s = 0; s < m->o->senders; s++) {
		if (!(m->view_mask & (1ull << s)) || (m->o->no_self && s == m->id))
			continue;
		uint64_t f = atomic_load_explicit(&m->sh->slot[s].sent_final, memory_order_acquire);
		if (f == UINT64_MAX || m->delivered_from[s] < f)
			return false;
	}
	return true;
}

/* Every member of the current view is done too (or stopped). */
static bool
all_done(struct member *m)
{
	for (uint32_t i = 0; i < GALE_MAX_MEMBERS; i++)
		if ((m->view_mask & (1ull << i)) &&
		    !atomic_load_explicit(&m->sh->slot[i].done, memory_order_acquire) &&
		    !atomic_load_explicit(&m->sh->slot[i].stopped, memory_order_acquire))
			return false;
	return true;
}

/* State transfer: the state of a gale-perf member is how many messages it
 * delivered from each sender; a joiner starts counting from there. */
static int64_t
state_get(void *arg, void *buf, size_t cap)
{
	struct member *m = arg;
	if (cap >= sizeof(m->delivered_from))
		memcpy(buf, m->delivered_from, sizeof(m->delivered_from));
	return (int64_t)sizeof(m->delivered_from);
}

static void
state_put(void *arg, const void *state, size_t len)
{
	struct member *m = arg;
	if (len != sizeof(m->delivered_from)) {
		fprintf(stderr, "gale-perf: member %u: a state of %zu bytes, expected %zu\n", m->id,
			len, sizeof(m->delivered_from));
		m->me->error = -EPROTO;
		return;
	}
	memcpy(m->delivered_from, state, len);
	m->got_state = true;
}

static const char *
stop_reason(enum gale_status s)
{
	switch (s) {
	case GALE_STATUS_STOPPED_EXCLUDED:
		return "excluded";
	case GALE_STATUS_STOPPED_MINORITY:
		return "minority";
	case GALE_STATUS_STOPPED_LEFT:
		return "left";
	default:
		return "fault";
	}
}

/* Deliver what is ready; returns the count, or a negative Gale code when stopped. */
static int
deliver(struct member *m)
{
	struct gale_msg msgs[POLL_BURST];
	/* Hashing big payloads for the log is slow (more so under sanitizers):
	 * smaller batches keep this member's dataplane passes frequent. */
	int n = gale_poll(m->g, msgs, m->logging ? POLL_BURST / 8 : POLL_BURST);
	if (n <= 0)
		return n;
	uint64_t now = perf_now_ns();
	for (int i = 0; i < n; i++) {
		const struct gale_msg *d = &msgs[i];
		if (d->sender < GALE_MAX_MEMBERS)
			m->delivered_from[d->sender]++;
		m->me->delivered_bytes += d->len;
		if (d->sender != m->id && d->len >= sizeof(struct perf_payload)) {
			struct perf_payload h;
			memcpy(&h, d->data, sizeof(h));
			ph_add(&m->me->lat, now > h.t_ns ? now - h.t_ns : 0, 1);
		}
		if (m->logging)
			plog_deliver(&m->log, d->epoch, d->sender, d->seq, d->len,
				     fnv1a(d->data, d->len));
	}
	m->me->delivered += (uint64_t)n;
	gale_release(m->g, n);
	return n;
}

static inline uint64_t
u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* A claim refused: why, for the caller; false when the member must stop. */
static bool
claim_refused(struct member *m, int rc, uint64_t now, bool *finished)
{
	if (rc == -GALE_EWEDGED && !atomic_load_explicit(&m->me->t_wedged_ns, memory_order_relaxed))
		atomic_store_explicit(&m->me->t_wedged_ns, now, memory_order_release);
	if (rc == -EAGAIN || rc == -GALE_EWEDGED)
		return true; /* back-pressure or a view change: deliver, then retry */
	m->me->error = rc;
	*finished = true;
	return false;
}

/* Fixed-size messages: one batch (gale_claimv / gale_commitv) of those due. */
static unsigned
send_batch(struct member *m, uint64_t t_start, uint64_t now, bool *finished)
{
	const struct perf_opts *o = m->o;
	uint64_t due = SEND_BURST;
	if (o->count)
		due = u64_min(due, o->count - u64_min(o->count, m->me->sent));
	if (o->rate > 0) {
		/* Those whose time has come (open loop). */
		double late = (double)(now - t_start) * o->rate / 1e9 - (double)m->me->sent;
		due = late < 0 ? 0 : u64_min(due, (uint64_t)late + 1);
	}
	if (!due) {
		*finished = o->count && m->me->sent >= o->count;
		return 0;
	}
	void *bufs[SEND_BURST];
	uint32_t len = o->size_min;
	int k = gale_claimv(m->g, len, bufs, (int)due);
	if (k < 0) {
		claim_refused(m, k, now, finished);
		return 0;
	}
	for (int i = 0; i < k; i++) {
		uint64_t n = m->me->sent + (uint64_t)i;
		uint64_t t_ns = o->rate > 0 ? t_start + (uint64_t)((double)n * 1e9 / o->rate) : now;
		perf_fill(bufs[i], len, t_ns, n, m->id);
		uint64_t digest = m->logging ? fnv1a(bufs[i], len) : 0;
		if (m->logging) /* before the commit, as in send_burst() */
			plog_send(&m->log, m->epoch, m->epoch_seq + (uint64_t)i, len, digest);
		m->hist[(m->epoch_seq + (uint64_t)i) & m->hist_mask] =
			(struct sent_rec){ len, digest };
	}
	uint64_t seq;
	int rc = gale_commitv(m->g, k, &seq);
	if (rc) {
		*finished = true; /* stopped since the claim: the loop sees why */
		return 0;
	}
	if (seq != m->epoch_seq) {
		fprintf(stderr,
			"gale-perf: member %u: commit returned seq %" PRIu64 ", expected %" PRIu64
			"\n",
			m->id, seq, m->epoch_seq);
		m->me->error = -EPROTO;
		*finished = true;
	}
	m->epoch_seq += (uint64_t)k;
	m->me->sent += (uint64_t)k;
	return (unsigned)k;
}

/* Send up to one burst; returns how many were sent. */
static unsigned
send_burst(struct member *m, uint64_t t_start, bool *finished)
{
	const struct perf_opts *o = m->o;
	unsigned sent = 0;
	uint64_t now = perf_now_ns();
	if (o->duration_s > 0 && now - t_start >= (uint64_t)(o->duration_s * 1e9)) {
		*finished = true;
		return 0;
	}
	if (o->size_min == o->size_max)
		return send_batch(m, t_start, now, finished);
	for (unsigned b = 0; b < SEND_BURST; b++) {
		if (o->count && m->me->sent >= o->count) {
			*finished = true;
			break;
		}
		uint64_t t_ns = now;
		if (o->rate > 0) {
			t_ns = t_start + (uint64_t)((double)m->me->sent * 1e9 / o->rate);
			if (t_ns > now)
				break; /* not due yet: open loop */
		}
		uint32_t len = perf_msg_len(o, &m->rng);
		void *buf;
		int rc = gale_claim(m->g, len, &buf);
		if (rc) {
			claim_refused(m, rc, now, finished);
			break;
		}
		perf_fill(buf, len, t_ns, m->me->sent, m->id);
		/* The digest is for the log only: the checker compares it. */
		uint64_t digest = m->logging ? fnv1a(buf, len) : 0;
		/* Logged before the commit, so no member can deliver a message whose
		 * send is missing from the log of a sender killed right after. */
		if (m->logging)
			plog_send(&m->log, m->epoch, m->epoch_seq, len, digest);
		m->hist[m->epoch_seq & m->hist_mask] = (struct sent_rec){ len, digest };
		uint64_t seq;
		rc = gale_commit(m->g, len, &seq);
		if (rc == 0 && seq != m->epoch_seq) {
			fprintf(stderr,
				"gale-perf: member %u: commit returned seq %" PRIu64
				", expected %" PRIu64 "\n",
				m->id, seq, m->epoch_seq);
			m->me->error = -EPROTO;
			*finished = true;
		}
		if (rc) {
			*finished = true; /* stopped since the claim: the loop sees why */
			break;
		}
		m->epoch_seq++;
		m->me->sent++;
		sent++;
	}
	return sent;
}

/* --eal: %m the member's number, %c its cpu, %r server (member 0) or client. */
static void
expand_eal(const char *t, uint32_t id, int cpu, char *out, size_t cap)
{
	size_t k = 0;
	for (; *t && k + 16 < cap; t++) {
		if (t[0] == '%' && (t[1] == 'm' || t[1] == 'c' || t[1] == 'r')) {
			k += (size_t)(t[1] == 'm'   ? snprintf(out + k, cap - k, "%u", id)
				      : t[1] == 'c' ? snprintf(out + k, cap - k, "%d", cpu)
						    : snprintf(out + k, cap - k, "%s",
							       id ? "client" : "server"));
			t++;
			continue;
		}
		out[k++] = *t;
	}
	out[k] = 0;
}

int
perf_member_main(const struct perf_opts *o, struct perf_shared *sh, uint32_t id, const char *group)
{
	struct member m = { .o = o, .sh = sh, .me = &sh->slot[id], .id = id };
	bool leaving = false; /* it got to the end: it leaves the group */
	m.rng = o->seed ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull);
	int rc = perf_enter_host(o, id);
	if (rc) {
		fprintf(stderr, "gale-perf: member %u: cannot enter network namespace %s: %s\n", id,
			perf_host_of(o, id)->netns, gale_strerror(rc));
		return rc;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct gale_node_conf nc = { .threading = o->threading,
				     .idle = o->idle,
				     .pin = o->pin,
				     .cpu = (int)(id % (uint32_t)(ncpu > 0 ? ncpu : 1)) };
	rc = gale_node_create(&nc, &m.node);
	if (rc) {
		fprintf(stderr, "gale-perf: member %u: cannot create node: %s\n", id,
			gale_strerror(rc));
		return rc;
	}
	rc = open_log(&m);
	if (rc)
		return rc;
	/* Room for every record a ring can hold (64-byte minimum each). */
	uint64_t ring = o->ring_bytes ? o->ring_bytes : 16u << 20;
	m.hist_mask = ring / 64 - 1;
	m.hist = calloc(m.hist_mask + 1, sizeof(*m.hist));
	if (!m.hist)
		return -ENOMEM;
	/* A member past the initial ones is the --join-at joiner: it asks them all. */
	const char *addrs[GALE_MAX_MEMBERS];
	for (uint32_t i = 0; i < o->members; i++)
		addrs[i] = o->addr[i];
	char eal[1024] = "";
	if (o->eal)
		expand_eal(o->eal, id, nc.cpu, eal, sizeof(eal));
	struct gale_group_conf gc = { .name = group,
				      .driver = o->driver,
				      .net = { .addrs =
						       strcmp(o->driver, "shm") != 0 ? addrs : NULL,
					       .mcast = o->mcast,
					       .mtu = o->mtu,
					       .rx_copybreak = o->copybreak,
					       .eal = o->eal ? eal : NULL },
				      .mode = o->mode,
				      .my_id = id,
				      .n_members = o->members,
				      .ring_bytes = o->ring_bytes,
				      .no_self_delivery = o->no_self,
				      .join_running = id >= o->members,
				      .external_control = o->galed != NULL,
				      .hb_timeout_ns = o->hb_timeout_ms * 1000000ull,
				      .on_view = on_view,
				      .on_state_get = state_get,
				      .on_state_put = state_put,
				      .cb_arg = &m };
	rc = gale_group_join(m.node, &gc, &m.g);
	if (rc) {
		fprintf(stderr, "gale-perf: member %u: cannot join group %s: %s\n", id, group,
			gale_strerror(rc));
		m.me->error = rc;
		return rc;
	}
	atomic_store_explicit(&m.me->joined, 1, memory_order_release);
	uint64_t t_start;
	while (!(t_start = atomic_load_explicit(&sh->t_start_ns, memory_order_acquire))) {
		if (atomic_load_explicit(&sh->abort_run, memory_order_relaxed))
			goto out;
		gale_poll(m.g, NULL, 0); /* keep the heartbeat going */
		usleep(200);
	}
	double cpu0 = perf_cpu_seconds();
	bool sender = id < o->senders, finished = !sender, done = false;
	for (;;) {
		unsigned work = 0;
		if (!finished) {
			work += send_burst(&m, t_start, &finished);
			if (finished)
				atomic_store_explicit(&m.me->sent_final, m.me->sent,
						      memory_order_release);
		}
		int n = deliver(&m);
		if (n < 0) {
			struct gale_group_status st;
			gale_group_status(m.g, &st);
			m.me->t_stop_ns = perf_now_ns();
			m.me->failed_id = st.failed_id;
			m.me->stop_status = st.status;
			if (m.logging) {
				char line[64];
				int k = snprintf(line, sizeof(line), "X %" PRIu64 " %s\n", st.epoch,
						 stop_reason(st.status));
				plog_line(&m.log, line, (size_t)k);
			}
			if (!done)
				m.me->error = n;
			atomic_store_explicit(&m.me->stopped, 1, memory_order_release);
			break;
		}
		work += (unsigned)n;
		if (!done && finished && all_delivered(&m)) {
			done = true;
			m.me->t_done_ns = perf_now_ns();
			atomic_store_explicit(&m.me->done, 1, memory_order_release);
		}
		if (done && all_done(&m))
			break;
		if (atomic_load_explicit(&sh->abort_run, memory_order_relaxed))
			break;
		gale_node_idle(m.node, work);
	}
	m.me->cpu_s = perf_cpu_seconds() - cpu0;
	gale_group_counters(m.g, &m.me->counters);
	leaving = !atomic_load_explicit(&m.me->stopped, memory_order_relaxed);
out:
	gale_node_destroy(m.node);
	/* After the leave: the view changes it causes are in the log too, and
	 * then the leave itself, in the last view it installed (the checker
	 * counts a member that left a view as agreeing to the next one). */
	if (m.logging && leaving) {
		char line[64];
		int k = snprintf(line, sizeof(line), "X %" PRIu64 " left\n", m.epoch);
		plog_line(&m.log, line, (size_t)k);
	}
	if (m.logging)
		plog_close(&m.log);
	free(m.hist);
	return m.me->error;
}
