/* SPDX-License-Identifier: MIT */
/*
 * The driver ops table. A driver gives each member of a group one region of
 * memory that it owns and may write, and read-only access to every peer's
 * region, plus a way to tell whether a peer's process is alive. The
 * dataplane lays out its send ring and status row inside the region.
 *
 * One-sided drivers (shm; verbs later) map the peers' real regions, so reads
 * are in place and no copy is made.
 *
 * Datagram drivers (udp, dpdk) only move frames: open() gives this member's
 * region (private memory), and tx()/rx() send and receive frames. The
 * dataplane's datagram layer (dataplane/dgram.c) keeps a local mirror of
 * every peer's region filled from those frames, with loss repair; the rest of
 * the dataplane reads the mirrors as if they were the peers' regions. Such a
 * driver leaves attach, peer_alive, peer_pid, publish and the state ops NULL.
 *
 * All ops are slow path except peer_alive(), which the dataplane calls from
 * its poll loop at most every few milliseconds per peer, and tx()/rx(),
 * which it calls on every pass.
 */
#ifndef GALE_DRIVERS_DRV_H
#define GALE_DRIVERS_DRV_H

#include <stddef.h>
#include <stdint.h>

struct drv;

struct gale_net_conf;
struct gb_logger;

struct drv_conf {
	const char *group; /* validated group name */
	uint32_t my_id;
	uint64_t region_bytes; /* size of each member's region, page multiple */
	uint64_t conf_hash;    /* the dataplane's configuration digest; peers must match */
	/* Datagram drivers: the members (ids in rank order) and where they are. */
	uint32_t n_members;
	const uint32_t *member_ids;
	const struct gale_net_conf *net;
	struct gb_logger *log; /* configuration errors are logged here, with what is valid */
};

/* A frame to send: gathered from up to DRV_TX_IOV pieces (none copied by the
 * caller; the driver copies or references them until tx() returns). */
#define DRV_TX_IOV 64
#define DRV_DEST_ALL UINT32_MAX /* every other member (multicast or fan-out) */
struct drv_iov {
	const void *base;
	uint32_t len;
};
struct drv_tx {
	uint32_t dest; /* a member id, or DRV_DEST_ALL */
	uint32_t n_iov;
	struct drv_iov iov[DRV_TX_IOV];
};

/* A received frame: valid until the next rx() call (or, kept, until rx_free()). */
struct drv_rx {
	const uint8_t *data;
	uint32_t len;
	void *buf; /* the driver's buffer (rx_keep) */
};

/* Frame counters a datagram driver keeps (dataplane thread). */
struct drv_dgram_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped; /* dropped: the kernel or NIC refused */
	uint64_t rx_frames, rx_bytes;
};

struct drv_ops {
	const char *name;
	/*
	 * Create this member's region (zero-filled, read-write) and return it.
	 * thread: any. blocks: no.
	 * @return 0; -EEXIST a live process already owns this member id;
	 *   -ENOMEM; other -errno from the system.
	 */
	int (*open)(const struct drv_conf *conf, struct drv **out, void **region);
	/*
	 * Tell peers the region is initialised (release: everything written to
	 * it before this call is visible to a peer whose attach succeeds).
	 */
	void (*publish)(struct drv *d);
	/*
	 * Map peer `id`'s region read-only.
	 * thread: the dataplane's. blocks: no.
	 * @return 0; -EAGAIN not there yet (or left by a dead process): retry;
	 *   -GALE_EVERSION another layout version; -GALE_ECONFIG another
	 *   configuration; other -errno.
	 */
	int (*attach)(struct drv *d, uint32_t id, const void **region);
	/*
	 * @return 1 the peer's process is alive, 0 it is gone, -EINVAL not attached.
	 * thread: the dataplane's. blocks: no (one poll(2) with timeout 0).
	 */
	int (*peer_alive)(struct drv *d, uint32_t id);
	/* process id of an attached peer (0 unknown). */
	int32_t (*peer_pid)(struct drv *d, uint32_t id);
	/*
	 * State transfer to the members that join at view `epoch`: publish the
	 * application state (copied; whole or not at all), and, on a joiner,
	 * fetch what was published for that epoch into a malloc'd buffer the
	 * caller frees. thread: the app's. blocks: no (a copy).
	 * @return 0; fetch: -EAGAIN not there yet, -EPROTO not a valid state
	 *   object; other -errno.
	 */
	int (*state_publish)(struct drv *d, uint64_t epoch, const void *data, size_t len);
	int (*state_fetch)(struct drv *d, uint64_t epoch, void **data, size_t *len);
	/* Unmap everything, remove this member's region. thread: any. */
	void (*close)(struct drv *d);

	/* Datagram drivers only (NULL otherwise). */
	/*
	 * Send n frames, in order. Returns how many were handed to the network;
	 * the rest are lost (the dataplane repairs loss). Each frame is at most
	 * frame_max(). thread: the dataplane's. blocks: no.
	 */
	unsigned (*tx)(struct drv *d, const struct drv_tx *frames, unsigned n);
	/*
	 * Receive up to max frames into out[] (pointers into driver buffers,
	 * valid until the next rx()). Frames come from anyone: the caller
	 * validates every byte. thread: the dataplane's. blocks: no.
	 */
	unsigned (*rx)(struct drv *d, struct drv_rx *out, unsigned max);
	/*
	 * In-place delivery: keep frame f's buffer past the next rx(), until
	 * rx_free(handle). Returns the handle, or NULL when the driver keeps no
	 * more now (its buffer pool runs low): the caller copies instead. NULL
	 * op: frames are never kept (udp reuses its buffers).
	 * thread: the dataplane's. blocks: no.
	 */
	void *(*rx_keep)(struct drv *d, const struct drv_rx *f);
	void (*rx_free)(struct drv *d, void *handle);
	/* Largest frame in bytes. */
	uint32_t (*frame_max)(const struct drv *d);
	void (*dgram_stats)(const struct drv *d, struct drv_dgram_stats *out);
};

/* Size of the driver's own header at the front of every region. */
#define DRV_REGION_HDR_BYTES 4096

extern const struct drv_ops drv_shm_ops;
extern const struct drv_ops drv_udp_ops;
extern const struct drv_ops drv_dpdk_ops; /* built with DPDK (GALE_HAVE_DPDK) */

/* Find a driver by name; NULL if unknown or not built. */
const struct drv_ops *drv_lookup(const char *name);

#endif
