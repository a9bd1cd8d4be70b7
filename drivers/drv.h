/* SPDX-License-Identifier: MIT */
/*
 * The driver ops table. A driver gives each member of a group one region of
 * memory that it owns and may write, and read-only access to every peer's
 * region, plus a way to tell whether a peer's process is alive. The
 * dataplane lays out its send ring and status row inside the region.
 *
 * One-sided drivers (shm; verbs later) map the peers' real regions, so reads
 * are in place and no copy is made. Datagram drivers (udp, dpdk: later) will
 * keep local mirrors of the peers' regions filled from frames and add a
 * progress op; the dataplane code above does not change.
 *
 * All ops are slow path except peer_alive(), which the dataplane calls from
 * its poll loop at most every few milliseconds per peer.
 */
#ifndef GALE_DRIVERS_DRV_H
#define GALE_DRIVERS_DRV_H

#include <stddef.h>
#include <stdint.h>

struct drv;

struct drv_conf {
	const char *group; /* validated group name */
	uint32_t my_id;
	uint64_t region_bytes; /* size of each member's region, page multiple */
	uint64_t conf_hash;    /* the dataplane's configuration digest; peers must match */
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
};

/* Size of the driver's own header at the front of every region. */
#define DRV_REGION_HDR_BYTES 4096

extern const struct drv_ops drv_shm_ops;

/* Find a driver by name; NULL if unknown or not built. */
const struct drv_ops *drv_lookup(const char *name);

#endif
