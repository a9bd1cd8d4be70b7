/* SPDX-License-Identifier: MIT */
/*
 * Gale: virtually synchronous group multicast.
 *
 * The whole public C API. Conventions:
 * - every call returns 0 (or a count) on success and a negative error code
 *   on failure: -errno values, or -GALE_E* codes above 4096 for protocol
 *   conditions; gale_strerror() names both;
 * - a zero-initialised configuration struct means "all defaults";
 * - "thread:" says which thread may call, "blocks:" whether it can block.
 *
 * Objects:
 * - a node (struct gale_node) is this process's presence: its dataplane
 *   agents, counters and log sink;
 * - a group (struct gale_group) is this node's membership in one group: a
 *   send ring it owns, read in place by every member, and a status row.
 */
#ifndef GALE_GALE_H
#define GALE_GALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GALE_VERSION_MAJOR 0
#define GALE_VERSION_MINOR 1

/** Most members a group can have. */
#define GALE_MAX_MEMBERS 64
/** Longest group name, without the terminating NUL. */
#define GALE_NAME_MAX 47

/* Error codes beyond errno (all returned negated). */
enum gale_error {
	GALE_EBASE = 4096,
	GALE_ESTOPPED,	/**< the group stopped: a member failed or left (see status) */
	GALE_EVERSION,	/**< a peer speaks another protocol or layout version */
	GALE_ECONFIG,	/**< peers disagree on the group's configuration */
	GALE_EWEDGED,	/**< the view is changing: sends are held until it is installed */
	GALE_EMINORITY, /**< this side lost the majority and stopped */
	GALE_ELAST,
};

/** Delivery guarantee of a group (DESIGN.md §3). */
enum gale_mode {
	GALE_MODE_SAFE = 0, /**< total order, delivered once every member has it (default) */
	GALE_MODE_TOTAL,    /**< one order across all senders */
	GALE_MODE_FIFO,	    /**< per-sender order, reliable */
};

/** What a dataplane thread does when a pass found no work. */
enum gale_idle {
	GALE_IDLE_BACKOFF = 0, /**< spin, then yield, then sleep up to idle_max_ns (default) */
	GALE_IDLE_SPIN,	       /**< never give the core away (lowest latency; needs a core) */
	GALE_IDLE_YIELD,       /**< sched_yield() */
};

/** Who drives the dataplane. */
enum gale_threading {
	GALE_THREADING_APP =
		0,	      /**< run to completion: the app's calls to gale_poll() do the work */
	GALE_THREADING_AGENT, /**< a dataplane agent thread per node does the work */
};

typedef void (*gale_log_fn)(void *arg, int level, const char *id, const char *msg);

enum gale_log_level { GALE_LOG_ERR = 3, GALE_LOG_WARN = 4, GALE_LOG_INFO = 6, GALE_LOG_DEBUG = 7 };

struct gale_node_conf {
	enum gale_threading threading;
	enum gale_idle idle;
	uint64_t idle_max_ns; /**< longest backoff sleep; 0 = 100 us */
	/** CPU to pin the agent thread (AGENT) or the calling thread (APP) to,
	 *  through hwloc; -1 or 0 with pin=false: no pinning. */
	bool pin;
	int cpu;
	gale_log_fn log_fn; /**< replaces the default sink (stderr); NULL = default */
	void *log_arg;
	int log_level; /**< 0 = GALE_LOG_WARN, or the environment's GALE_LOG_LEVEL (3..7) */
};

/** One member of a view. */
struct gale_member {
	uint32_t id; /**< the member's id, unique in the group */
	int32_t pid; /**< its process (shm driver) */
};

/** A view: an epoch and its ordered member list (rank = index). */
struct gale_view {
	uint64_t epoch;
	uint32_t n_members;
	uint32_t my_rank;
	struct gale_member members[GALE_MAX_MEMBERS];
	/** This member's sends of view epoch - 1 with seq in [resent_first,
	 *  resent_first + resent_count) were cut by the view change (not
	 *  delivered there by anyone): the dataplane re-sends them, in order,
	 *  as seq 0 .. resent_count - 1 of this view, and the next commit gets
	 *  seq resent_count. 0 and 0 in the first view. */
	uint64_t resent_first;
	uint64_t resent_count;
};

/** Why a group stopped (gale_group_status()). */
enum gale_status {
	GALE_STATUS_JOINING = 0,
	GALE_STATUS_RUNNING,
	GALE_STATUS_STOPPED_FAILURE,  /**< the dataplane cannot go on (a fault it logged) */
	GALE_STATUS_STOPPED_LEFT,     /**< gale_group_leave() was called */
	GALE_STATUS_STOPPED_EXCLUDED, /**< the others installed a view without this member
				       *   (it hung past the timeout or was cut off) */
	GALE_STATUS_STOPPED_MINORITY, /**< fewer than a majority of the view remained on this
				       *   member's side: it stopped so the group cannot split */
};

struct gale_group_status {
	enum gale_status status;
	uint32_t failed_id; /**< the member whose stop this is (this member, today) */
	uint64_t epoch;
};

typedef void (*gale_view_fn)(void *arg, const struct gale_view *view);
typedef void (*gale_status_fn)(void *arg, const struct gale_group_status *st);
/**
 * State transfer, sender side: called on one member (the lowest-ranked one
 * that was in the previous view) when a view adds members, on its app
 * thread, after it handled every delivery of the previous view and before
 * the first of the new one. Write the application's state into buf (cap
 * bytes) and return its length; if it needs more, return the length it
 * needs and it is called again with a buffer that large. < 0: no state.
 */
typedef int64_t (*gale_state_get_fn)(void *arg, void *buf, size_t cap);
/** State transfer, joiner side: the state, before the joiner's first delivery. */
typedef void (*gale_state_put_fn)(void *arg, const void *state, size_t len);

/**
 * Where the members of a group on a datagram driver ("udp", "dpdk") are.
 * The dataplane repairs loss itself (NAKs, retransmission from the send
 * ring). The control plane runs over UDP on the members' addrs (udp and
 * dpdk alike).
 */
struct gale_net_conf {
	/** n_members addresses "A.B.C.D:PORT" in rank order (as member_ids):
	 *  each member's data socket. Its control plane uses PORT + 1 on the
	 *  same address. Required by "udp". */
	const char *const *addrs;
	/** "A.B.C.D:PORT", an IPv4 multicast group (224.0.0.0/4): data and
	 *  status frames go to it once rather than to each member. NULL:
	 *  unicast fan-out. */
	const char *mcast;
	/** Interface name for multicast (sent and joined); NULL: the interface
	 *  that holds this member's address. */
	const char *iface;
	uint32_t ttl; /**< multicast TTL; 0 = 1 (the local link only) */
	/** largest frame: udp, the UDP payload, 256..65507 (0 = 1472); dpdk, the
	 *  Ethernet payload, 256..9000 (0 = 1500) */
	uint32_t mtu;
	/** dpdk: the EAL's arguments, split at blanks (drivers/README.md), unless
	 *  the application started the EAL itself; e.g. "--no-huge -m 128
	 *  --no-pci --no-shconf -l 1 --vdev net_af_packet0,iface=eth0" */
	const char *eal;
	uint16_t port; /**< dpdk: the DPDK port id (0 = the first) */
	/** dpdk: a message that arrived whole in one frame, with a payload of
	 *  at least this many bytes, is delivered in place: gale_msg.data points
	 *  into the received mbuf, kept until every member released the message.
	 *  Shorter ones (and messages sent in fragments) are copied into the
	 *  sender's mirror ring, as on udp. 0 = 256; at least 48 (smaller values
	 *  count as 48); UINT32_MAX = always copy. */
	uint32_t rx_copybreak;
};

struct gale_group_conf {
	const char *name;	  /**< group name: [A-Za-z0-9_.-]{1,47}; required */
	const char *driver;	  /**< "shm" (default: one host), "udp" or "dpdk" (need net) */
	struct gale_net_conf net; /**< datagram drivers only */
	enum gale_mode mode;
	uint32_t my_id;		    /**< this member's id (must appear in member_ids) */
	uint32_t n_members;	    /**< size of the static initial view, 1..GALE_MAX_MEMBERS */
	const uint32_t *member_ids; /**< n_members ids in rank order; NULL = 0..n-1 */
	/** Join a group that is already running instead: member_ids (n_members
	 *  of them, my_id not among them) are members to ask; the view comes
	 *  from the group, and on_state_put receives the state before the
	 *  first delivery. gale_group_join() returns once both happened. */
	bool join_running;
	/** No embedded control plane: a galed process started with --dataplane
	 *  for this group and id serves this member through its control block
	 *  (gale_group_join() waits up to join_timeout_ns for it to attach).
	 *  Not with join_running yet. */
	bool external_control;
	uint64_t ring_bytes;	  /**< send ring size, power of two, 64 KiB to 1 GiB; 0 = 16 MiB */
	uint64_t join_timeout_ns; /**< how long gale_group_join() waits for peers; 0 = 10 s */
	uint64_t fail_timeout_ns; /**< a peer whose dataplane heartbeat stalls this long is
				   *   suspected; 0 = $GALE_FAIL_TIMEOUT_MS or 500 ms */
	uint64_t hb_interval_ns;  /**< control-plane heartbeats; 0 = 10 ms */
	uint64_t hb_timeout_ns;	  /**< a member unheard this long is suspected;
				   *   0 = $GALE_HB_TIMEOUT_MS or 100 ms */
	/** With GALE_THREADING_APP, commits are published to the group in batches:
	 *  at once every publish_batch commits, and by every gale_poll() and
	 *  gale_flush(). 1 = every commit at once (lowest latency for a sender
	 *  that does not poll); 0 = 16. Up to 4096. */
	uint32_t publish_batch;
	/** FIFO only: this member's own messages are not delivered back to it
	 *  (as IP_MULTICAST_LOOP off, or a bus's "no local"): its sends are
	 *  freed as soon as the others release them, and gale_poll() hands out
	 *  only the others' messages. Views and the re-sends at a view change
	 *  are as without it. false (default): every member delivers its own. */
	bool no_self_delivery;
	gale_view_fn on_view;		/**< view upcall (on the thread that calls gale_poll()) */
	gale_status_fn on_status;	/**< stop upcall (same thread) */
	gale_state_get_fn on_state_get; /**< state for joiners (NULL: an empty state) */
	gale_state_put_fn on_state_put; /**< state received when joining (join_running) */
	void *cb_arg;
};

/** A delivered message: a pointer into the sender's ring, valid until released. */
struct gale_msg {
	const void *data;
	uint32_t len;
	uint32_t sender; /**< sender's member id */
	uint64_t seq;	 /**< sender's sequence number in this epoch, from 0 */
	uint64_t epoch;
};

/**
 * The counters, one table: X(name, text) for each, in this order. The
 * struct below, the sums over a node's groups, and the JSON and text
 * output of the tools are all made from it.
 */
#define GALE_COUNTERS(X)                                                                           \
	X(sent_msgs, "messages committed")                                                         \
	X(sent_bytes, "bytes committed")                                                           \
	X(delivered_msgs, "messages delivered")                                                    \
	X(delivered_bytes, "bytes delivered")                                                      \
	X(backpressure, "claims refused with -EAGAIN (ring full)")                                 \
	X(polls, "dataplane passes")                                                               \
	X(idle_polls, "passes that found no work")                                                 \
	X(rows_published, "status rows written")                                                   \
	X(invalid_records, "ring records that failed validation (dropped)")                        \
	X(peer_failures, "peers seen dead or hung")                                                \
	X(frames_sent, "frames handed to the driver (data, status, repair; datagram drivers)")     \
	X(frames_received, "frames that passed validation")                                        \
	X(frames_dropped, "frames refused (malformed, other group, version, epoch or sender, "     \
			  "out of window) or duplicate")                                           \
	X(naks_sent, "NAK frames (each names up to 64 gaps)")                                      \
	X(retrans_frames, "frames re-sent to repair a gap")                                        \
	X(tx_dropped, "frames the kernel or NIC would not take")                                   \
	X(rx_in_place, "messages received to be delivered in place (dpdk)")

struct gale_counters {
#define GALE_COUNTER_FIELD_(name, text) uint64_t name;
	GALE_COUNTERS(GALE_COUNTER_FIELD_)
#undef GALE_COUNTER_FIELD_
};

struct gale_node;
struct gale_group;

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

/**
 * Create this process's node.
 * thread: any. blocks: no (starts the agent thread with THREADING_AGENT).
 * @return 0; -EINVAL with a logged reason (bad enum, cpu out of range);
 *   -ENOTSUP pin requested but Gale was built without hwloc; -ENOMEM.
 */
int gale_node_create(const struct gale_node_conf *conf, struct gale_node **out);

/**
 * Stop the agent (if any), leave every group still joined, free the node.
 * thread: not a dataplane callback. blocks: until the agent thread exits.
 */
void gale_node_destroy(struct gale_node *node);

/**
 * Join a group. With an initial view (the default): create this member's
 * ring, status row and control block, wait until every member of the view
 * is attached, start the control plane (a thread, or a galed process with
 * external_control), report the first view through on_view. With
 * join_running: ask the members given to let this one in, wait for a view
 * that has it (on_view) and for the group's state (on_state_put).
 * thread: any but the agent's. blocks: up to join_timeout_ns.
 * @return 0; -EINVAL bad configuration (logged: which field, what is valid);
 *   -ETIMEDOUT a peer did not appear in time (or, joining, no view or state
 *   came); -GALE_ECONFIG a peer was created with another mode, ring size or
 *   initial view; -GALE_EVERSION a peer of another layout version;
 *   -GALE_ESTOPPED a peer's region belongs to a group that already stopped
 *   or left (start every member afresh); -EEXIST this member id is already
 *   live; -ENOMEM; other -errno from shm or the socket.
 */
int gale_group_join(struct gale_node *node, const struct gale_group_conf *conf,
		    struct gale_group **out);

/**
 * Leave the group and free it: publish what is committed, keep serving
 * until every running peer has delivered this member's messages (up to
 * 2 x fail_timeout_ns; messages still undelivered here are released
 * unread), then ask the others to install a view without this member and
 * wait for it (a few heartbeat timeouts at most). In a group of two the
 * other member is left without a majority and stops (property 8).
 * thread: the group's app thread. blocks: as said.
 */
void gale_group_leave(struct gale_group *g);

/* ------------------------------------------------------------------ */
/* Sending                                                             */

/** Largest message this group accepts: ring_bytes / 4, at most 16 MiB - 1.
 *  thread: any. */
uint32_t gale_group_max_msg(const struct gale_group *g);

/**
 * Claim space for one message of len bytes in this member's send ring.
 * Fill *buf, then gale_commit() or gale_abort(). One claim at a time.
 * thread: the group's app thread. blocks: no.
 * @return 0; -EMSGSIZE len is 0 or above gale_group_max_msg(); -EAGAIN the
 *   ring is full (some member has not released older messages yet): poll
 *   and retry; -GALE_EWEDGED a view change runs (or its view upcall is not
 *   taken yet): poll and retry; -EBUSY a claim is already open;
 *   -GALE_ESTOPPED the group stopped.
 */
int gale_claim(struct gale_group *g, uint32_t len, void **buf);

/**
 * Commit the claimed message, shrunk to len bytes (len <= claimed), and set
 * *seq (if not NULL) to its sequence number. The group sees it when it is
 * published: at once every publish_batch commits, at the next gale_poll() or
 * gale_flush() otherwise (THREADING_APP); at the agent's next pass (AGENT).
 * thread: the app thread. blocks: no.
 * @return 0; -EINVAL no claim open or len larger than claimed or 0;
 *   -GALE_ESTOPPED the group stopped since the claim (the send failed;
 *   the claim is dropped).
 */
int gale_commit(struct gale_group *g, uint32_t len, uint64_t *seq);

/**
 * Claim up to n messages of len bytes each at once (a batch: one check of
 * the group and of the ring's room for all of them): bufs[i] is the i-th
 * message's space. A batch never wraps the ring, so fewer than n may be
 * claimed. Fill them, then gale_commitv() the first k, or gale_abort().
 * thread: the app thread. blocks: no.
 * @return the number claimed (1..n); -EINVAL n < 1; the errors of gale_claim().
 */
int gale_claimv(struct gale_group *g, uint32_t len, void **bufs, int n);

/**
 * Commit the first k messages of the open gale_claimv() batch, each of the
 * claimed length, in order (the rest are dropped), and set *first_seq (if
 * not NULL) to the first one's sequence number; they are published as
 * gale_commit() says. Also commits a gale_claim() with k = 1.
 * thread: the app thread. blocks: no.
 * @return 0; -EINVAL no claim open, or k < 1 or more than claimed;
 *   -GALE_ESTOPPED as gale_commit().
 */
int gale_commitv(struct gale_group *g, int k, uint64_t *first_seq);

/**
 * Publish every committed message now (THREADING_APP; a no-op for AGENT).
 * thread: the app thread. blocks: no. @return 0; -GALE_ESTOPPED the group
 * stopped (nothing more is published).
 */
int gale_flush(struct gale_group *g);

/** Drop the open claim. @return 0; -EINVAL no claim open. */
int gale_abort(struct gale_group *g);

/**
 * Copying send: claim, memcpy, commit.
 * thread: the app thread. blocks: no.
 * @return 0 or the errors of gale_claim().
 */
int gale_send(struct gale_group *g, const void *data, uint32_t len);

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

/**
 * Make progress (THREADING_APP) and hand out up to max deliveries in order.
 * Each msgs[i].data stays valid until gale_release() covers it. At most
 * GALE_MAX_UNRELEASED messages may be held unreleased; past that, poll
 * returns 0 until some are released.
 * thread: the group's app thread. blocks: no.
 * @return number of messages (0..max); -GALE_ESTOPPED the group stopped
 *   and everything deliverable was delivered (see gale_group_status()).
 */
int gale_poll(struct gale_group *g, struct gale_msg *msgs, int max);

#define GALE_MAX_UNRELEASED 1024

/**
 * Release the n oldest messages handed out by gale_poll(), letting their
 * senders reuse the space. thread: the app thread. blocks: no.
 * @return 0; -EINVAL n is larger than the number held.
 */
int gale_release(struct gale_group *g, int n);

typedef void (*gale_deliver_fn)(void *arg, const struct gale_msg *msg);

/**
 * Callback form: deliver up to max messages to fn, releasing each after fn
 * returns. thread: the app thread. blocks: no.
 * @return as gale_poll().
 */
int gale_poll_cb(struct gale_group *g, gale_deliver_fn fn, void *arg, int max);

/**
 * For run-to-completion loops: report that one pass of the app's loop did
 * `work` units of work; when it did none, idle as the node's idle strategy
 * says (spin: a pause; yield: sched_yield; backoff: spin, yield, then sleep
 * up to idle_max_ns, doubling). thread: the app thread. blocks: may sleep.
 */
void gale_node_idle(struct gale_node *node, unsigned work);

/* ------------------------------------------------------------------ */
/* Inspection                                                          */

/** Copy the current view. thread: app thread. @return 0. */
int gale_group_view(const struct gale_group *g, struct gale_view *out);

/** Copy the group's status. thread: app thread. @return 0. */
int gale_group_status(const struct gale_group *g, struct gale_group_status *out);

/** Sum of the node's counters over its groups. thread: any (relaxed reads). */
void gale_node_counters(const struct gale_node *node, struct gale_counters *out);

/** Counters of one group. thread: any (relaxed reads). */
void gale_group_counters(const struct gale_group *g, struct gale_counters *out);

/** Text for a return code (negative or positive; errno values too). thread: any. */
const char *gale_strerror(int err);

/** Parse "safe"/"total"/"fifo". @return 0; -EINVAL. */
int gale_mode_parse(const char *s, enum gale_mode *out);
const char *gale_mode_name(enum gale_mode m);
/** Whether this build has the driver ("shm", "udp", "dpdk"). thread: any. */
bool gale_driver_available(const char *name);
/** Parse "spin"/"yield"/"backoff". @return 0; -EINVAL. */
int gale_idle_parse(const char *s, enum gale_idle *out);

#ifdef __cplusplus
}
#endif
#endif /* GALE_GALE_H */
