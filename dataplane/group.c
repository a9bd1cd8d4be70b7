/* SPDX-License-Identifier: MIT */
/*
 * Group life cycle on the dataplane side: validate the configuration, open
 * this member's region and attach the initial view's, start serving, stop,
 * linger before a leave, close. gale_group_join() and gale_group_leave()
 * (api/group.c) wrap these with the control plane.
 */
#include "group.h"
#include "base/seqlock.h"
#include "dgram.h"

#include "base/clock.h"
#include "base/fnv.h"

#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define DEF_RING_BYTES (16ull << 20)
#define MIN_RING_BYTES (64ull << 10)
#define MAX_RING_BYTES (1ull << 30)
#define DEF_JOIN_TIMEOUT_NS 10000000000ull
#define DEF_FAIL_TIMEOUT_NS 500000000ull
#define MIN_FAIL_TIMEOUT_NS 10000000ull
#define DEF_PUBLISH_BATCH 16
#define MAX_PUBLISH_BATCH 4096

static bool
name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n >= 1 && n <= GALE_NAME_MAX;
}

/* Every field checked, each failure logged with the field and what is valid. */
static int
check_conf(struct gb_logger *lg, const struct gale_group_conf *c)
{
#define BAD(...)                                                                                   \
	do {                                                                                       \
		gb_log(lg, GB_LOG_ERR, "GALE-CONF-INVALID", __VA_ARGS__);                          \
		return -EINVAL;                                                                    \
	} while (0)
	if (!c)
		BAD("group configuration is NULL");
	if (!c->name || !name_ok(c->name))
		BAD("group name '%s' is invalid: use 1 to %d of [A-Za-z0-9_.-]",
		    c->name ? c->name : "(null)", GALE_NAME_MAX);
	if (c->driver && !drv_lookup(c->driver))
		BAD("driver '%s' is unknown or not built: valid: shm, udp", c->driver);
	if ((unsigned)c->mode > GALE_MODE_FIFO)
		BAD("mode %d is invalid: valid: GALE_MODE_SAFE, GALE_MODE_TOTAL, GALE_MODE_FIFO",
		    (int)c->mode);
	if (c->n_members < 1 || c->n_members > GALE_MAX_MEMBERS)
		BAD("n_members %u is invalid: valid: 1 to %d", c->n_members, GALE_MAX_MEMBERS);
	bool found = false;
	for (uint32_t i = 0; i < c->n_members; i++) {
		uint32_t id = c->member_ids ? c->member_ids[i] : i;
		if (id == c->my_id)
			found = true;
		for (uint32_t j = 0; j < i; j++)
			if (c->member_ids && c->member_ids[j] == id)
				BAD("member id %u appears twice in member_ids", id);
	}
	if (!found && !c->join_running)
		BAD("my_id %u is not in the view: valid: one of the %u member ids", c->my_id,
		    c->n_members);
	if (found && c->join_running)
		BAD("my_id %u is among the members to ask (join_running): a joiner needs an id "
		    "of its own",
		    c->my_id);
	if (c->ring_bytes && (!gb_is_pow2(c->ring_bytes) || c->ring_bytes < MIN_RING_BYTES ||
			      c->ring_bytes > MAX_RING_BYTES))
		BAD("ring_bytes %llu is invalid: valid: a power of two from %llu to %llu (0 = "
		    "%llu)",
		    (unsigned long long)c->ring_bytes, MIN_RING_BYTES, MAX_RING_BYTES,
		    DEF_RING_BYTES);
	if (c->fail_timeout_ns && c->fail_timeout_ns < MIN_FAIL_TIMEOUT_NS)
		BAD("fail_timeout_ns %llu is too short: valid: at least %llu (0 = %llu)",
		    (unsigned long long)c->fail_timeout_ns, MIN_FAIL_TIMEOUT_NS,
		    DEF_FAIL_TIMEOUT_NS);
	if (c->no_self_delivery && c->mode != GALE_MODE_FIFO)
		BAD("no_self_delivery is for FIFO only: valid: mode fifo (the total order "
		    "of %s puts a member's own messages among the others')",
		    dp_mode_name(c->mode));
	if (c->publish_batch > MAX_PUBLISH_BATCH)
		BAD("publish_batch %u is invalid: valid: 1 to %d (0 = %d)", c->publish_batch,
		    MAX_PUBLISH_BATCH, DEF_PUBLISH_BATCH);
	return 0;
#undef BAD
}

/* What every member must agree on; a peer with another digest is refused.
 * (The initial view is compared at attach: joiners come without one.) */
static uint64_t
conf_digest(const struct dp_group *g)
{
	uint64_t v[3] = { DP_LAYOUT_VERSION, g->fx.mode, g->fx.ring_bytes };
	return gb_fnv1a64(v, sizeof(v));
}

/* A member of the same initial view must have started with the same one. */
static bool
same_initial_view(const struct dp_group *g, const struct dp_row *row)
{
	if (row->n_members != g->w.n)
		return false;
	for (uint32_t r = 0; r < g->w.n; r++)
		if (row->member_ids[r] != g->w.view.members[r].id)
			return false;
	return true;
}

static const char *
status_name(enum gale_status s)
{
	switch (s) {
	case GALE_STATUS_JOINING:
		return "joining";
	case GALE_STATUS_RUNNING:
		return "running";
	case GALE_STATUS_STOPPED_FAILURE:
		return "stopped: fault";
	case GALE_STATUS_STOPPED_LEFT:
		return "stopped: left";
	case GALE_STATUS_STOPPED_EXCLUDED:
		return "stopped: excluded";
	case GALE_STATUS_STOPPED_MINORITY:
		return "stopped: minority";
	}
	return "?";
}

void
dp_group_stop(struct dp_group *g, enum gale_status st, uint32_t id, const char *why)
{
	if (atomic_load_explicit(&g->down.status, memory_order_relaxed) != GALE_STATUS_RUNNING)
		return;
	atomic_store_explicit(&g->down.failed_id, id, memory_order_relaxed);
	/* R10: failed_id and every queue entry delivered so far are stored first. */
	atomic_store_explicit(&g->down.status, st, memory_order_release);
	atomic_store_explicit(&g->fx.row->failed_id, id, memory_order_relaxed);
	atomic_store_explicit(&g->fx.row->stop_status, st, memory_order_relaxed);
	/* R8: failed_id and stop_status are set before peers see the state (A8). */
	atomic_store_explicit(&g->fx.row->state, DP_STATE_STOPPED, memory_order_release);
	int32_t pid = 0;
	for (uint32_t r = 0; r < g->w.n; r++)
		if (g->w.view.members[r].id == id)
			pid = g->w.view.members[r].pid;
	gb_log(g->fx.log, st == GALE_STATUS_STOPPED_FAILURE ? GB_LOG_ERR : GB_LOG_INFO,
	       "GALE-GROUP-STOPPED",
	       "member %u: group stopped in epoch %llu (%s): member %u (pid %d): %s",
	       g->w.view.members[g->w.my_rank].id, (unsigned long long)g->w.view.epoch,
	       status_name(st), id, (int)pid, why);
}

/*
 * The control block, in shared memory so that a galed process and galectl
 * can map it. Created after the region: owning the region means no live
 * process owns this id, so an old block of the same name is stale.
 */
static int
ctl_create(struct dp_group *g, const struct gale_group_conf *c)
{
	dp_ctl_path(g->fx.ctl_path, sizeof(g->fx.ctl_path), c->name, c->my_id);
	unlink(g->fx.ctl_path);
	int fd = open(g->fx.ctl_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = ftruncate(fd, sizeof(struct dp_ctl)) ? -errno : 0;
	void *p = rc ? MAP_FAILED
		     : mmap(NULL, sizeof(struct dp_ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!rc && p == MAP_FAILED)
		rc = -errno;
	close(fd);
	if (rc) {
		unlink(g->fx.ctl_path);
		g->fx.ctl_path[0] = 0;
		return rc;
	}
	struct dp_ctl *b = p;
	b->version = DP_CTL_VERSION;
	b->my_id = c->my_id;
	snprintf(b->group, sizeof(b->group), "%s", c->name);
	b->mode = c->mode;
	b->dp_pid = getpid();
	b->fail_timeout_ns = g->fx.fail_timeout_ns;
	b->joiner = c->join_running;
	b->n_init = c->n_members;
	for (uint32_t i = 0; i < c->n_members; i++)
		b->init_ids[i] = c->member_ids ? c->member_ids[i] : i;
	atomic_store_explicit(&b->magic, DP_CTL_MAGIC, memory_order_release);
	g->fx.ctl = b;
	return 0;
}

static void
group_free(struct dp_group *g)
{
	dp_dgram_close(g);
	if (g->fx.drv)
		g->fx.ops->close(g->fx.drv);
	if (g->fx.ctl) {
		munmap(g->fx.ctl, sizeof(struct dp_ctl));
		unlink(g->fx.ctl_path);
	}
	free(g);
}

/* Wait until every member of the view has published its region. */
static int
attach_all(struct dp_group *g, uint64_t timeout_ns)
{
	uint64_t t0 = gb_now_ns(), deadline = t0 + timeout_ns;
	uint32_t missing;
	int last = 0;
	for (;;) {
		/* The control plane (galed) may watch the heartbeat already; over a
		 * datagram driver, peers appear through their status rows and this
		 * member sends its own. */
		dp_group_keepalive(g);
		missing = 0;
		for (uint32_t r = 0; r < g->w.n; r++) {
			struct dp_peer *p = &g->w.peers[r];
			if (p->row)
				continue;
			const void *region;
			int rc = dp_attach(g, p->id, &region);
			if (rc == 0) {
				dp_peer_map(g, p, p->id, region);
				g->w.view.members[r].pid = dp_peer_pid(g, p->id);
				if (atomic_load_explicit(&p->row->state, memory_order_acquire) !=
				    DP_STATE_RUNNING) {
					gb_log(g->fx.log, GB_LOG_ERR, "GALE-JOIN-FAILED",
					       "member %u (pid %d) is in a group that already "
					       "stopped "
					       "or left; start every member of the view afresh",
					       p->id, (int)g->w.view.members[r].pid);
					return -GALE_ESTOPPED;
				}
				if (!g->w.joining && !same_initial_view(g, p->row)) {
					gb_log(g->fx.log, GB_LOG_ERR, "GALE-JOIN-FAILED",
					       "member %u was started with another initial view "
					       "(%u members): every member must list the same ids "
					       "in the same order",
					       p->id, p->row->n_members);
					return -GALE_ECONFIG;
				}
				continue;
			}
			if (rc != -EAGAIN) {
				gb_log(g->fx.log, GB_LOG_ERR, "GALE-JOIN-FAILED",
				       "%s member %u's region cannot be used: %s",
				       g->w.view.members[g->w.my_rank].id == p->id ? "self"
										   : "peer",
				       p->id, gb_strerror(rc));
				return rc;
			}
			missing++;
			last = (int)p->id;
		}
		if (!missing) {
			gb_log(g->fx.log, GB_LOG_DEBUG, "GALE-ATTACHED",
			       "member %u: every member of the view is there after %.1f ms",
			       g->w.view.members[g->w.my_rank].id,
			       (double)(gb_now_ns() - t0) / 1e6);
			return 0;
		}
		if (gb_now_ns() > deadline) {
			gb_log(g->fx.log, GB_LOG_ERR, "GALE-JOIN-TIMEOUT",
			       "%u member(s) did not appear in time (member %d among them)",
			       missing, last);
			return -ETIMEDOUT;
		}
		gb_sleep_ns(g->fx.dgram ? 100000 : 200000);
	}
}

int
dp_group_open(struct dp_node *node, const struct gale_group_conf *c, uint16_t ctl_port,
	      struct dp_group **out)
{
	if (!node || !out)
		return -EINVAL;
	int rc = check_conf(&node->log, c);
	if (rc)
		return rc;
	struct dp_group *g = aligned_alloc(GB_CACHE_LINE, GB_ALIGN_UP(sizeof(*g), GB_CACHE_LINE));
	if (!g)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
	g->fx.node = node;
	g->fx.log = &node->log;
	g->fx.ops = drv_lookup(c->driver ? c->driver : "shm");
	g->fx.mode = c->mode;
	g->fx.agent = node->conf.threading == GALE_THREADING_AGENT;
	g->w.n = c->n_members;
	g->fx.ring_bytes = c->ring_bytes ? c->ring_bytes : DEF_RING_BYTES;
	g->fx.ring_mask = g->fx.ring_bytes - 1;
	g->fx.max_msg = (uint32_t)GB_MIN(g->fx.ring_bytes / 4, DP_REC_LEN_MASK);
	/* 0: GALE_FAIL_TIMEOUT_MS from the environment (slow builds: sanitizers), or 500 ms. */
	uint64_t env_fail = gb_env_ms("GALE_FAIL_TIMEOUT_MS");
	g->fx.fail_timeout_ns = c->fail_timeout_ns ? c->fail_timeout_ns
				: env_fail	   ? env_fail
						   : DEF_FAIL_TIMEOUT_NS;
	g->fx.join_timeout_ns = c->join_timeout_ns ? c->join_timeout_ns : DEF_JOIN_TIMEOUT_NS;
	g->fx.on_view = c->on_view;
	g->fx.on_status = c->on_status;
	g->fx.cb_arg = c->cb_arg;
	g->app.claim_pos = UINT64_MAX;
	g->fx.publish_batch = c->publish_batch ? c->publish_batch : DEF_PUBLISH_BATCH;
	g->fx.no_self = c->no_self_delivery;
	g->fx.on_state_get = c->on_state_get;
	g->fx.on_state_put = c->on_state_put;
	g->w.joining = c->join_running;
	/* A joiner attaches the members it asks (as if they were a view, for
	 * attach_all()), keeps their control ports, then has no view until the
	 * group installs one with it. */
	g->w.view.epoch = g->w.joining ? 0 : 1;
	g->w.epoch32 = (uint32_t)g->w.view.epoch;
	g->w.view.n_members = g->w.n;
	for (uint32_t r = 0; r < g->w.n; r++) {
		uint32_t id = c->member_ids ? c->member_ids[r] : r;
		g->w.view.members[r].id = id;
		g->w.peers[r].id = id;
		if (id == c->my_id)
			g->w.my_rank = r;
	}
	g->w.view.my_rank = g->w.my_rank;
	atomic_store_explicit(&g->down.status, GALE_STATUS_JOINING, memory_order_relaxed);
	g->fx.ctl_wake_fd = -1;

	uint32_t ids[GALE_MAX_MEMBERS];
	for (uint32_t r = 0; r < g->w.n; r++)
		ids[r] = g->w.peers[r].id;
	struct drv_conf dc = { .group = c->name,
			       .my_id = c->my_id,
			       .region_bytes = dp_region_bytes(g->fx.ring_bytes),
			       .conf_hash = conf_digest(g),
			       .n_members = g->w.n,
			       .member_ids = ids,
			       .net = &c->net,
			       .log = g->fx.log };
	void *region;
	rc = g->fx.ops->open(&dc, &g->fx.drv, &region);
	if (rc) {
		gb_log(g->fx.log, GB_LOG_ERR, "GALE-JOIN-FAILED",
		       "group %s: cannot create member %u's %s region: %s", c->name, c->my_id,
		       g->fx.ops->name, gb_strerror(rc));
		free(g);
		return rc;
	}
	g->fx.row = (struct dp_row *)((uint8_t *)region + DP_ROW_OFFSET);
	g->fx.ring = (uint8_t *)region + DP_RING_OFFSET;
	if (g->fx.ops->tx) {
		rc = dp_dgram_open(g, c);
		if (rc) {
			group_free(g);
			return rc;
		}
		dp_dgram_set_conf_hash(g, dc.conf_hash);
	}
	rc = ctl_create(g, c);
	if (rc) {
		gb_log(g->fx.log, GB_LOG_ERR, "GALE-JOIN-FAILED",
		       "group %s: cannot create member %u's control block %s: %s", c->name,
		       c->my_id, g->fx.ctl_path, gb_strerror(rc));
		group_free(g);
		return rc;
	}
	g->fx.row->layout_version = DP_LAYOUT_VERSION;
	g->fx.row->member_id = c->my_id;
	g->fx.row->mode = g->fx.mode;
	g->fx.row->n_members = g->w.joining ? 0 : g->w.n;
	g->fx.row->ring_bytes = g->fx.ring_bytes;
	g->fx.row->epoch = g->w.view.epoch;
	for (uint32_t r = 0; r < g->fx.row->n_members; r++)
		g->fx.row->member_ids[r] = g->w.view.members[r].id;
	g->fx.row->ctl_port = ctl_port;
	atomic_store_explicit(&g->fx.row->row_epoch, g->w.view.epoch, memory_order_relaxed);
	atomic_store_explicit(&g->fx.row->state, DP_STATE_RUNNING, memory_order_relaxed);
	if (g->fx.ops->publish)
		g->fx.ops->publish(g->fx.drv);

	rc = attach_all(g, g->fx.join_timeout_ns);
	if (rc) {
		group_free(g);
		return rc;
	}
	if (g->w.joining) {
		g->w.n_contacts = g->w.n;
		for (uint32_t r = 0; r < g->w.n; r++) {
			g->w.contact_ids[r] = g->w.peers[r].id;
			g->w.contact_ports[r] = g->w.peers[r].row->ctl_port;
		}
		memset(g->w.peers, 0, sizeof(g->w.peers));
		memset(&g->w.view, 0, sizeof(g->w.view));
		g->w.n = 0;
		g->w.my_rank = 0;
	}
	uint64_t now = gb_now_ns();
	for (uint32_t r = 0; r < g->w.n; r++)
		g->w.peers[r].hb_change_ns = now;
	g->w.liveness_ns = now;
	g->app.view = g->w.view;
	g->app.n = g->w.n;
	for (uint32_t r = 0; r < g->w.n; r++)
		g->app.rows[r] = g->w.peers[r].row;
	g->app.gate = g->w.view.epoch << 1;
	atomic_store_explicit(&g->down.send_gate, g->app.gate, memory_order_relaxed);
	atomic_store_explicit(&g->up.epoch_ack, g->w.view.epoch, memory_order_relaxed);
	atomic_store_explicit(&g->down.view_pub, g->w.view.epoch, memory_order_relaxed);
	snprintf(g->fx.name, sizeof(g->fx.name), "%s", c->name);
	*out = g;
	return 0;
}

int
dp_group_start(struct dp_group *g)
{
	if (g->w.joining)
		return dp_node_add_group(g->fx.node, g); /* JOINING until a view has it */
	atomic_store_explicit(&g->down.status, GALE_STATUS_RUNNING, memory_order_release);
	int rc = dp_node_add_group(g->fx.node, g);
	if (rc)
		return rc;
	/* The first view upcall, on the joining (app) thread, before any send. */
	if (g->fx.on_view)
		g->fx.on_view(g->fx.cb_arg, &g->app.view);
	gb_log(g->fx.log, GB_LOG_INFO, "GALE-VIEW-INSTALL",
	       "group %s: member %u installed view %llu with %u members (%s)", g->fx.name,
	       g->w.view.members[g->w.my_rank].id, (unsigned long long)g->w.view.epoch, g->w.n,
	       dp_mode_name(g->fx.mode));
	return 0;
}

void
dp_group_keepalive(struct dp_group *g)
{
	if (g->fx.dgram) {
		dp_dgram_rx(g);
		dp_dgram_tx(g);
	}
	atomic_store_explicit(&g->fx.ctl->dp_heartbeat, ++g->w.passes, memory_order_relaxed);
}

struct dp_ctl *
dp_group_ctl(struct dp_group *g)
{
	return g->fx.ctl;
}

uint16_t
dp_group_peer_port(struct dp_group *g, uint32_t id)
{
	for (uint32_t r = 0; r < g->w.n; r++)
		if (g->w.peers[r].id == id && g->w.peers[r].row)
			return g->w.peers[r].row->ctl_port;
	for (uint32_t i = 0; i < g->w.n_contacts; i++)
		if (g->w.contact_ids[i] == id)
			return g->w.contact_ports[i];
	return 0;
}

int
dp_group_fetch_state(struct dp_group *g)
{
	void *data;
	size_t len;
	int rc = g->fx.ops->state_fetch
			 ? g->fx.ops->state_fetch(g->fx.drv, g->app.view.epoch, &data, &len)
			 : -ENOTSUP;
	if (rc)
		return rc;
	if (g->fx.on_state_put)
		g->fx.on_state_put(g->fx.cb_arg, data, len);
	gb_log(g->fx.log, GB_LOG_INFO, "GALE-STATE-RECEIVED",
	       "member %u received the group's state (%zu bytes) for view %llu",
	       g->app.view.members[g->app.view.my_rank].id, len,
	       (unsigned long long)g->app.view.epoch);
	free(data);
	return 0;
}

struct gb_logger *
dp_group_log(struct dp_group *g)
{
	return g->fx.log;
}

uint64_t
dp_group_join_timeout_ns(const struct dp_group *g)
{
	return g->fx.join_timeout_ns;
}

uint64_t
dp_group_fail_timeout_ns(const struct dp_group *g)
{
	return g->fx.fail_timeout_ns;
}

enum gale_mode
dp_group_mode(const struct dp_group *g)
{
	return g->fx.mode;
}

void
dp_group_set_wake_fd(struct dp_group *g, int fd)
{
	g->fx.ctl_wake_fd = fd;
}

/* Everyone else in the app's view has released every message this member committed. */
static bool
ring_released(struct dp_group *g)
{
	for (uint32_t j = 0; j < g->app.n; j++) {
		const struct dp_row *row = g->app.rows[j];
		if (j == g->app.view.my_rank)
			continue;
		uint32_t st = atomic_load_explicit(&row->state, memory_order_acquire);
		if (st != DP_STATE_RUNNING)
			continue; /* it stopped or left: it will not read more */
		/* A14 (sequence lock) around A7: a row of another view says nothing. */
		if (gb_seq_read_begin(&row->row_epoch) != g->app.view.epoch)
			return false;
		uint64_t v = gb_seq_load(&row->freed_pos[g->app.view.my_rank]);
		if (!gb_seq_read_valid(&row->row_epoch, g->app.view.epoch) ||
		    v < g->app.last_rec_end)
			return false;
	}
	return true;
}

/*
 * Before a leave: publish what is committed and keep serving (releasing,
 * unread, whatever is still delivered here) until every running peer has
 * delivered this member's messages, or 2 x fail_timeout.
 */
void
dp_group_linger(struct dp_group *g)
{
	if (!g->fx.agent)
		dp_flush(g);
	uint64_t deadline = gb_now_ns() + 2 * g->fx.fail_timeout_ns;
	struct gale_msg m[64];
	while (atomic_load_explicit(&g->down.status, memory_order_acquire) == GALE_STATUS_RUNNING &&
	       gb_now_ns() < deadline) {
		if (g->app.held)
			dp_release(g, (int)g->app.held);
		int n = dp_poll(g, m, 64);
		if (n > 0)
			dp_release(g, n);
		if (ring_released(g))
			break;
		if (n <= 0)
			gb_sleep_ns(50000);
	}
}

void
dp_group_close(struct dp_group *g)
{
	dp_node_remove_group(g->fx.node, g);
	/* A stopped member keeps saying why it stopped; only a running one (or
	 * one whose leave was granted) announces that it left. */
	uint32_t st = atomic_load_explicit(&g->down.status, memory_order_relaxed);
	if (st == GALE_STATUS_RUNNING || st == GALE_STATUS_STOPPED_LEFT) {
		atomic_store_explicit(&g->down.status, GALE_STATUS_STOPPED_LEFT,
				      memory_order_relaxed);
		/* R8 (as in dp_group_stop). */
		atomic_store_explicit(&g->fx.row->state, DP_STATE_LEFT, memory_order_release);
	}
	group_free(g);
}

uint32_t
dp_group_max_msg(const struct dp_group *g)
{
	return g->fx.max_msg;
}

void
dp_group_view(const struct dp_group *g, struct gale_view *out)
{
	*out = g->app.view;
}

void
dp_group_status(const struct dp_group *g, struct gale_group_status *out)
{
	out->status = atomic_load_explicit(&g->down.status, memory_order_acquire);
	out->failed_id = atomic_load_explicit(&g->down.failed_id, memory_order_relaxed);
	out->epoch = g->app.view.epoch;
}

void
dp_group_counters(const struct dp_group *g, struct gale_counters *o)
{
	/* Each counter has one writer; the other part's slot stays 0. */
#define DP_COUNTER_SUM_(name, text)                                                                \
	o->name = atomic_load_explicit(&g->ca.v[DP_C_##name], memory_order_relaxed) +              \
		  atomic_load_explicit(&g->cd.v[DP_C_##name], memory_order_relaxed);
	GALE_COUNTERS(DP_COUNTER_SUM_)
#undef DP_COUNTER_SUM_
}

int
dp_attach(struct dp_group *g, uint32_t id, const void **region)
{
	return g->fx.dgram ? dp_dgram_attach(g, id, region)
			   : g->fx.ops->attach(g->fx.drv, id, region);
}

void
dp_peer_map(struct dp_group *g, struct dp_peer *p, uint32_t id, const void *region)
{
	p->row = (const struct dp_row *)((const uint8_t *)region + DP_ROW_OFFSET);
	p->ring = (const uint8_t *)region + DP_RING_OFFSET;
	p->inplace = g->fx.dgram ? dp_dgram_inplace(g, id) : NULL;
}

int32_t
dp_peer_pid(struct dp_group *g, uint32_t id)
{
	return g->fx.ops->peer_pid ? g->fx.ops->peer_pid(g->fx.drv, id) : 0;
}
