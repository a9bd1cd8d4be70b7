/* SPDX-License-Identifier: MIT */
/*
 * gale-micro's way into the dataplane's private state, for what the public
 * API cannot reach. Written in C because the dataplane's headers use C11
 * atomics, which C++ cannot include; micro.cc calls it through extern "C".
 * One group at a time, one thread: the statistics are plain globals.
 */
#ifndef GALE_BENCH_MICRO_SHIM_H
#define GALE_BENCH_MICRO_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gale_group;

/* What the discarding driver was handed since shim_discard_frames(). */
struct shim_tx_stats {
	uint64_t frames;       /* every frame: BATCH, DATA, STATUS, HEARTBEAT, NAK */
	uint64_t batch_frames; /* BATCH frames */
	uint64_t records;      /* records in those BATCH frames */
	uint64_t bytes;	       /* bytes of every frame, header included */
	bool checked;	       /* the first BATCH frame was decoded: */
	int check_rc;	       /* gw_decode()'s result (0 or -enum gw_err) */
	uint32_t check_count;  /* and the records it found */
};

/*
 * Make g, a group on a datagram driver, hand its frames to a driver that
 * counts them and drops them (and receives nothing): the datagram layer
 * (dataplane/dgram_tx.c) builds and seals its frames as it would for the
 * network, with no system call. Call it on the thread that polls g, before
 * the first gale_poll() that should count. 0, or -EINVAL if g is on shm.
 */
int shim_discard_frames(struct gale_group *g);
void shim_tx_read(struct shim_tx_stats *out);

#ifdef __cplusplus
}
#endif

#endif
