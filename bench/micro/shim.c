/* SPDX-License-Identifier: MIT */
/* gale-micro's way into the dataplane: see shim.h. */
#include "shim.h"

#include "api.h"       /* api/api.h: a public group is its dataplane group, ->dp */
#include "dgram_int.h" /* dataplane/dgram_int.h */

#include <errno.h>
#include <string.h>

static struct drv_ops discard_ops;
static struct shim_tx_stats stats;
static uint64_t group_hash;
static uint8_t gathered[GW_MAX_FRAME];

/* Once: gather a BATCH frame as the network would carry it, and decode it. */
static void
check_batch(const struct drv_tx *t, uint32_t len)
{
	size_t off = 0;
	for (unsigned k = 0; k < t->n_iov && off + t->iov[k].len <= sizeof(gathered); k++) {
		memcpy(gathered + off, t->iov[k].base, t->iov[k].len);
		off += t->iov[k].len;
	}
	struct gw_frame f;
	stats.check_rc = off == len ? gw_decode(gathered, len, group_hash, &f) : -GW_ERR_LENGTH;
	stats.check_count = stats.check_rc == 0 ? f.u.batch.count : 0;
	stats.checked = true;
}

static unsigned
discard_tx(struct drv *d, const struct drv_tx *frames, unsigned n)
{
	(void)d;
	for (unsigned i = 0; i < n; i++) {
		const struct drv_tx *t = &frames[i];
		const uint8_t *hdr = t->iov[0].base;
		uint32_t len = 0;
		for (unsigned k = 0; k < t->n_iov; k++)
			len += t->iov[k].len;
		stats.frames++;
		stats.bytes += len;
		if (hdr[5] != GW_BATCH) /* the type byte (wire.h) */
			continue;
		stats.batch_frames++;
		/* dgram_tx.c writes the record count after the header, in iov[0]. */
		stats.records += (uint32_t)hdr[GW_HDR] | (uint32_t)hdr[GW_HDR + 1] << 8;
		if (!stats.checked)
			check_batch(t, len);
	}
	return n;
}

static unsigned
discard_rx(struct drv *d, struct drv_rx *out, unsigned max)
{
	(void)d;
	(void)out;
	(void)max;
	return 0;
}

int
shim_discard_frames(struct gale_group *pg)
{
	struct dp_group *g = pg->dp;
	if (!g->fx.dgram)
		return -EINVAL;
	/* Everything else (close, liveness, frame_max) stays the real driver's. */
	discard_ops = *g->fx.ops;
	discard_ops.tx = discard_tx;
	discard_ops.rx = discard_rx;
	group_hash = g->fx.dgram->group_hash;
	memset(&stats, 0, sizeof(stats));
	g->fx.ops = &discard_ops;
	return 0;
}

void
shim_tx_read(struct shim_tx_stats *out)
{
	*out = stats;
}
