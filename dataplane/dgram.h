/* SPDX-License-Identifier: MIT */
/*
 * The dataplane over a datagram driver (udp, dpdk): mirrors of the peers'
 * regions filled from frames, with loss repair. See dgram.c.
 */
#ifndef GALE_DATAPLANE_DGRAM_H
#define GALE_DATAPLANE_DGRAM_H

#include "gale/gale.h"

#include <stdint.h>

struct dp_group;
struct dp_dgram;

/* Why a frame was dropped (after the decoder's own reasons, enum gw_err). */
enum dg_drop {
	DG_DROP_SENDER = 16, /* not a member of this group */
	DG_DROP_EPOCH,	     /* an epoch this member's view cannot have */
	DG_DROP_STALE,	     /* an older status than one already applied */
	DG_DROP_CONFIG,	     /* a peer with another configuration or layout */
	DG_DROP_WINDOW,	     /* ring bytes outside what this member can take */
	DG_DROP_DUP,	     /* ring bytes this member has already */
	DG_DROP_EARLY,	     /* data before the sender's first status, or of its next epoch */
	DG_DROP_FULL,	     /* too many gaps outstanding: it comes again */
	DG_DROP_NAK,	     /* a NAK for bytes this member cannot give */
	DG_DROP_MAX
};

/* Set up the datagram layer for g (after the driver's open()); 0 or -errno. */
int dp_dgram_open(struct dp_group *g, const struct gale_group_conf *c);
/* Announce this member's last state, log the frame counters, free. */
void dp_dgram_close(struct dp_group *g);
/* A peer's mirror region, once its first status arrived: 0, -EAGAIN, or
 * -GALE_ECONFIG / -GALE_EVERSION (it runs another configuration). */
int dp_dgram_attach(struct dp_group *g, uint32_t id, const void **region);
/* Member id's in-place slots (struct dp_inplace, group.h), or NULL. */
const struct dp_inplace *dp_dgram_inplace(struct dp_group *g, uint32_t id);
/* Receive and apply frames; returns the work done. Dataplane thread. */
unsigned dp_dgram_rx(struct dp_group *g);
/* Send what is due: own new records, status, NAKs, repairs. Dataplane thread. */
unsigned dp_dgram_tx(struct dp_group *g);
/* A view change needs more of rank's ring than this member has (its trim):
 * ask every member for it. */
void dp_dgram_want(struct dp_group *g, uint32_t rank);
/* Add the frame counters to *out. */
/* Drops by reason (enum gw_err and enum dg_drop), for tests and logs. */
uint64_t dp_dgram_drops(const struct dp_group *g, unsigned reason);
const char *dp_dgram_drop_name(unsigned reason);
/* The configuration digest every member's status carries (group.c). */
void dp_dgram_set_conf_hash(struct dp_group *g, uint64_t h);

#endif
