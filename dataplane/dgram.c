/* SPDX-License-Identifier: MIT */
/*
 * The dataplane over a datagram driver (udp, dpdk): loss repair and mirrors.
 *
 * Every member keeps, for each peer, a mirror of that peer's region (its
 * status row and send ring, dataplane/layout.h) in local memory, filled from
 * the peer's frames (dataplane/wire.h). The rest of the dataplane reads the
 * mirrors exactly as it reads shm peers' regions: nothing above changes.
 *
 * Sending (dp_dgram_tx, once per pass):
 *   - new records of this member's ring, from the last sent position to its
 *     published tail: small ones batched into BATCH frames up to the frame
 *     size, a record larger than a frame as raw DATA fragments. Frames point
 *     into the ring (no copy before the driver). In flight at most
 *     `window` bytes past what the slowest member has received.
 *   - the status row: when it changed (at most every DG_STATUS_MIN_NS), and
 *     every DG_KEEPALIVE_NS (a HEARTBEAT if nothing changed for a while).
 *   - repairs for NAKs received: raw DATA from the ring (or, relaying for a
 *     member that failed, from the mirror), flagged RETRANS.
 *   - NAKs for gaps in the mirrors.
 * Frames the driver refuses (its queue is full) are back pressure, not
 * loss: new records go again from the first refused one (dg_flush).
 *
 * Receiving (dp_dgram_rx): every frame is decoded and validated (wire.c),
 * then checked against the view: sender, epoch, ring window. Data lands at
 * its ring position in the mirror; the received byte ranges of each mirror
 * are kept as `contig` (all bytes below it) and up to DG_MAX_RANGES ranges
 * beyond. The mirror's tail is published (release) at the last whole record
 * below contig, and its promise (next_round) only once the tail the sender
 * sent with that promise is reached: a promise must cover every record
 * before it, here as in shared memory. Where the driver can keep its
 * buffers (dpdk), a record that came whole in one frame is delivered from
 * it instead of copied (dgram_keep.c).
 *
 * Gaps: a gap is below the sender's known tail (from its status, heartbeats
 * and data) and not received. The first NAK waits a random 0..DG_NAK_DELAY
 * (NAK implosion: members that lost the same frame do not ask at once);
 * after it, a NAK goes every `backoff` (randomised, doubled while nothing
 * arrives, back to the minimum on progress), naming up to GW_MAX_NAK gaps.
 *
 * View changes: a sender re-stamps its messages past its cut in place and
 * sends them again in the new epoch. A mirror that sees the new epoch in a
 * status drops what it had from epoch_base on and holds its row_epoch at 0
 * (the sequence lock: "being rewritten") until it has received those bytes
 * again, so the dataplane never reads a record with its old stamp as new.
 * During a view change, NAKs go to every member, and any member that has
 * the bytes of a failed sender in its mirror relays them.
 *
 * Threads: everything here runs on the dataplane thread, which alone writes
 * the mirrors. The app thread reads mirror rows (flow control) and delivered
 * payloads; the row fields it reads are stored atomically, and payload
 * bytes are written before the tail that makes them readable (release).
 */
#include "dgram_int.h"

#include "base/clock.h"
#include "base/fnv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int
dp_dgram_open(struct dp_group *g, const struct gale_group_conf *c)
{
	if (c->join_running) {
		gb_log(g->fx.log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "join_running is not supported on the %s driver yet: valid: a static "
		       "initial view",
		       g->fx.ops->name);
		return -ENOTSUP;
	}
	struct dp_dgram *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->group_hash = gb_fnv1a64(c->name, strlen(c->name));
	d->cnt = &g->cd;
	d->my_id = c->my_id;
	d->n = c->n_members;
	for (uint32_t k = 0; k < d->n; k++) {
		d->peers[k].id = c->member_ids ? c->member_ids[k] : k;
		if (d->peers[k].id == c->my_id)
			d->my_idx = k;
	}
	d->mtu = g->fx.ops->frame_max(g->fx.drv);
	if (d->mtu > GW_MAX_FRAME)
		d->mtu = GW_MAX_FRAME;
	d->cap = d->mtu - GW_HDR;
	size_t need = GW_HDR + gw_status_len(d->n, d->n);
	if (d->mtu < need || need > DG_CTL_BYTES) {
		gb_log(g->fx.log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "frames of %u bytes cannot hold the status row of %u members (%zu bytes): "
		       "valid: a larger mtu",
		       d->mtu, d->n, need);
		free(d);
		return -EINVAL;
	}
	d->max_gaps = (uint32_t)GB_MIN((uint64_t)GW_MAX_NAK, (d->cap - 8) / 16);
	d->window = GB_MIN(g->fx.ring_bytes / 2, DG_MAX_WINDOW);
	d->copybreak = c->net.rx_copybreak ? c->net.rx_copybreak : DG_COPYBREAK;
	if (d->copybreak < DP_INPLACE_MIN_LEN)
		d->copybreak = DP_INPLACE_MIN_LEN; /* shorter records may share a slot */
	d->rng = gb_now_ns() ^ ((uint64_t)c->my_id << 32) ^ 0x9e3779b97f4a7c15ull;
	g->fx.dgram = d;
	return 0;
}

/* The digest peers must share (as the shm driver's header carries it). */
void
dp_dgram_set_conf_hash(struct dp_group *g, uint64_t h)
{
	g->fx.dgram->conf_hash = h;
}

int
dp_dgram_attach(struct dp_group *g, uint32_t id, const void **region)
{
	struct dp_dgram *d = g->fx.dgram;
	struct dg_peer *q = peer_of(d, id);
	if (!q)
		return -EINVAL;
	if (id == d->my_id) {
		*region = (const uint8_t *)g->fx.row - DP_ROW_OFFSET;
		return 0;
	}
	if (q->err)
		return q->err;
	if (!q->region || q->resync_to)
		return -EAGAIN;
	*region = q->region;
	return 0;
}

void
dp_dgram_want(struct dp_group *g, uint32_t rank)
{
	struct dg_peer *q = peer_of(g->fx.dgram, g->w.peers[rank].id);
	if (q)
		q->want = true;
}

void
dp_dgram_close(struct dp_group *g)
{
	struct dp_dgram *d = g->fx.dgram;
	if (!d)
		return;
	/* Its last state (left or stopped), a few times over: loss happens. A
	 * member whose join failed says nothing more. */
	uint64_t now = gb_now_ns();
	bool final =
		atomic_load_explicit(&g->fx.row->state, memory_order_relaxed) != DP_STATE_RUNNING;
	for (int i = 0; final && i < DG_FINAL_COPIES; i++) {
		dg_send_status(g, d, false, now);
		dg_flush(g, d);
	}
	struct gale_counters c;
	dp_group_counters(g, &c);
	char why[512];
	size_t off = 0;
	for (unsigned k = 1; k < DG_DROP_MAX && off < sizeof(why); k++) {
		uint64_t v = atomic_load_explicit(&d->drops[k], memory_order_relaxed);
		if (v)
			off += (size_t)snprintf(why + off, sizeof(why) - off, " %s=%llu",
						dp_dgram_drop_name(k), (unsigned long long)v);
	}
	why[GB_MIN(off, sizeof(why) - 1)] = 0;
	gb_log(g->fx.log, GB_LOG_INFO, "GALE-DGRAM-STATS",
	       "member %u: frames sent %llu received %llu dropped %llu (tx refused %llu), naks "
	       "%llu, repairs %llu, messages in place %llu; drops by reason:%s",
	       d->my_id, (unsigned long long)c.frames_sent, (unsigned long long)c.frames_received,
	       (unsigned long long)c.frames_dropped, (unsigned long long)c.tx_dropped,
	       (unsigned long long)c.naks_sent, (unsigned long long)c.retrans_frames,
	       (unsigned long long)c.rx_in_place, off ? why : " none");
	dg_keep_close(g, d);
	for (uint32_t k = 0; k < d->n; k++)
		if (d->peers[k].region)
			munmap(d->peers[k].region, dp_region_bytes(g->fx.ring_bytes));
	free(d);
	g->fx.dgram = NULL;
}

uint64_t
dp_dgram_drops(const struct dp_group *g, unsigned reason)
{
	const struct dp_dgram *d = g->fx.dgram;
	return d && reason < DG_DROP_MAX
		       ? atomic_load_explicit(&d->drops[reason], memory_order_relaxed)
		       : 0;
}

const char *
dp_dgram_drop_name(unsigned reason)
{
	static const char *const s[DG_DROP_MAX] = {
		[GW_ERR_TRUNCATED] = "truncated",   [GW_ERR_MAGIC] = "magic",
		[GW_ERR_VERSION] = "version",	    [GW_ERR_TYPE] = "type",
		[GW_ERR_GROUP] = "group",	    [GW_ERR_LENGTH] = "length",
		[GW_ERR_CHECKSUM] = "checksum",	    [GW_ERR_BODY] = "body",
		[DG_DROP_SENDER] = "sender",	    [DG_DROP_EPOCH] = "epoch",
		[DG_DROP_STALE] = "stale",	    [DG_DROP_CONFIG] = "config",
		[DG_DROP_WINDOW] = "window",	    [DG_DROP_DUP] = "duplicate",
		[DG_DROP_EARLY] = "early",	    [DG_DROP_FULL] = "gaps-full",
		[DG_DROP_NAK] = "nak-unanswerable",
	};
	return reason < DG_DROP_MAX && s[reason] ? s[reason] : "?";
}
