/* SPDX-License-Identifier: MIT */
/*
 * The dpdk driver: Gale's frames as Ethernet frames on a DPDK port, any PMD
 * (a real NIC, net_memif, net_af_packet, net_af_xdp, net_ring ...).
 *
 * EAL: the process's EAL is started by the first group that opens the
 * driver, with the arguments of gale_net_conf.eal (split at blanks, as a
 * shell would without quotes), unless the application started it already.
 * Several DPDK processes on one host need --in-memory or --no-shconf (or
 * their own --file-prefix) and their own -l core; see drivers/README.md.
 *
 * Port: gale_net_conf.port (default 0), one RX and one TX queue, polled by
 * the group's dataplane thread (the agent or the app thread): one poll-mode
 * thread per port queue. The port is put in promiscuous or all-multicast
 * mode where the PMD allows, and the link must come up within 10 s.
 *
 * Frames: destination the group's MAC, a locally administered multicast
 * address derived from the group name (03:47:xx:xx:xx:xx), ether type
 * 0x88b5 (IEEE local experimental), then the Gale frame (dataplane/wire.h).
 * Every frame goes to every member: NAKs and repairs carry their target in
 * the frame. Received frames of another ether type, or sent by this port
 * itself, are not Gale's and are skipped.
 *
 * Transmit: on the virtual PMDs that copy frames out during tx_burst and
 * take mbuf chains (memif, af_packet, ring), a frame is a small header mbuf
 * (Ethernet and Gale headers) chained with external-buffer mbufs that point
 * into the send ring: no copy before the PMD. Elsewhere (af_xdp, NICs) the
 * pieces are copied into one mbuf: a NIC would DMA from the ring after
 * tx_burst returned, which needs the ring registered with
 * rte_extmem_register and kept until completion (not done yet).
 *
 * Receive: a burst of mbufs, handed to the dataplane as pointers into the
 * mbufs, freed at the next rx() call unless the dataplane keeps one
 * (rx_keep: its records are delivered in place, from the mbuf, and it is
 * freed once every member released them). At most DPDK_MAX_KEPT are kept at
 * a time, so the PMD never runs out of mbufs to receive into: past that,
 * the dataplane copies.
 */
#include "drivers/drv.h"

#include "base/log.h"
#include "gale/gale.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#define DPDK_ETHERTYPE 0x88b5
#define DPDK_BURST 64
#define DPDK_MBUFS 16383
#define DPDK_MAX_KEPT 8192 /* mbufs the dataplane may keep (in-place delivery) */
#define DPDK_RING_DESC 1024
#define DPDK_LINK_WAIT_MS 10000
#define DPDK_DEF_MTU 1500

struct drv {
	struct drv_conf conf;
	struct gb_logger *log;
	void *region;
	uint64_t region_bytes;
	uint16_t port;
	bool zero_copy, memif_server, started;
	uint16_t max_segs;  /* the PMD's longest mbuf chain */
	uint32_t frame_max; /* Gale frame bytes (after the Ethernet header) */
	struct rte_mempool *pool;
	struct rte_ether_addr mac, group_mac;
	struct rte_mbuf_ext_shared_info shinfo; /* of every external ring buffer */
	struct rte_mbuf *held[DPDK_BURST];	/* received, freed at the next rx() */
	unsigned n_held;
	unsigned n_kept; /* kept by the dataplane (rx_keep) */
	struct drv_dgram_stats st;
};

static bool eal_ready;
static bool port_busy[RTE_MAX_ETHPORTS];

/* The ring belongs to the dataplane: nothing to free when a PMD is done. */
static void
ext_free(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

static int
eal_start(struct gb_logger *log, const char *args)
{
	if (eal_ready)
		return 0;
	if (!args || !*args) {
		gb_log(log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "net.eal is empty: the dpdk driver needs EAL arguments, e.g. \"--no-huge -m "
		       "128 --no-pci --no-shconf -l 0 --vdev net_af_packet0,iface=eth0\"");
		return -EINVAL;
	}
	char *copy = strdup(args);
	char *argv[128];
	int argc = 0;
	if (!copy)
		return -ENOMEM;
	argv[argc++] = "gale";
	for (char *save = NULL, *t = strtok_r(copy, " \t\n", &save); t && argc < 127;
	     t = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	int rc = rte_eal_init(argc, argv);
	/* The EAL keeps pointers into argv: copy stays allocated for the process. */
	if (rc < 0 && rte_errno != EALREADY) {
		gb_log(log, GB_LOG_ERR, "GALE-DRV-DPDK", "rte_eal_init(\"%s\") failed: %s", args,
		       rte_strerror(rte_errno));
		free(copy);
		return -ENODEV;
	}
	eal_ready = true;
	return 0;
}

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/*
 * The mbuf pool. net_af_xdp registers the pool's memory as its UMEM, sized
 * as (objects x object size) from the pool's start: the objects must be
 * packed. A default pool without hugepages puts one 2.3 KiB mbuf per 4 KiB
 * page (no object may cross a page), so the UMEM misses the upper part of
 * the pool, and every mbuf from there that the PMD posts to the fill ring
 * is dropped by the kernel: the fill ring drains and receive stops (all the
 * sooner when the dataplane keeps mbufs, and more of the pool is in use).
 * For af_xdp the objects are packed (no IOVA contiguity needed: the kernel
 * copies on veth, and a NIC in zero-copy mode takes its pages as they are).
 */
static struct rte_mempool *
pool_create(const char *name, const char *pmd, uint32_t room, int socket)
{
	if (strcmp(pmd, "net_af_xdp") != 0)
		return rte_pktmbuf_pool_create(name, DPDK_MBUFS, 256, 0, (uint16_t)room, socket);
	struct rte_mempool *mp = rte_mempool_create_empty(
		name, DPDK_MBUFS, sizeof(struct rte_mbuf) + room, 256,
		sizeof(struct rte_pktmbuf_pool_private), socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (!mp)
		return NULL;
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = (uint16_t)room };
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) < 0 || mp->nb_mem_chunks != 1)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	return NULL;
}

static int
port_setup(struct drv *d, const struct gale_net_conf *net)
{
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(d->port, &info);
	if (rc) {
		gb_log(d->log, GB_LOG_ERR, "GALE-DRV-DPDK", "port %u: no device info: %s", d->port,
		       rte_strerror(-rc));
		return -ENODEV;
	}
	uint32_t mtu = net->mtu ? net->mtu : DPDK_DEF_MTU;
	if (mtu > info.max_mtu)
		mtu = info.max_mtu;
	d->frame_max = mtu;
	d->memif_server = strcmp(info.driver_name, "net_memif") == 0 && net->eal &&
			  !strstr(net->eal, "role=client");
	/* Virtual PMDs that copy out of the mbufs during tx_burst: the ring
	 * memory needs no DMA mapping and may change once the call returned. */
	static const char *const copying_pmds[] = { "net_memif", "net_af_packet", "net_ring" };
	bool copying = false;
	for (size_t i = 0; i < sizeof(copying_pmds) / sizeof(copying_pmds[0]); i++)
		copying |= strcmp(info.driver_name, copying_pmds[i]) == 0;
	d->zero_copy = copying && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	d->max_segs = info.tx_desc_lim.nb_seg_max ? info.tx_desc_lim.nb_seg_max : UINT16_MAX;
	struct rte_eth_conf pc;
	memset(&pc, 0, sizeof(pc));
	if (d->zero_copy)
		pc.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	char name[RTE_MEMPOOL_NAMESIZE];
	snprintf(name, sizeof(name), "gale%u_%d", d->port, (int)getpid());
	uint32_t room = RTE_PKTMBUF_HEADROOM + mtu + RTE_ETHER_HDR_LEN + 64;
	if (room < RTE_MBUF_DEFAULT_BUF_SIZE)
		room = RTE_MBUF_DEFAULT_BUF_SIZE;
	d->pool = pool_create(name, info.driver_name, room,
			      (int)rte_eth_dev_socket_id(d->port) < 0
				      ? SOCKET_ID_ANY
				      : rte_eth_dev_socket_id(d->port));
	if (!d->pool) {
		gb_log(d->log, GB_LOG_ERR, "GALE-DRV-DPDK", "port %u: no mbuf pool: %s", d->port,
		       rte_strerror(rte_errno));
		return -ENOMEM;
	}
	uint16_t nrx = DPDK_RING_DESC, ntx = DPDK_RING_DESC;
	if ((rc = rte_eth_dev_configure(d->port, 1, 1, &pc)) ||
	    (rc = rte_eth_dev_adjust_nb_rx_tx_desc(d->port, &nrx, &ntx)) ||
	    (rc = rte_eth_rx_queue_setup(d->port, 0, nrx, rte_eth_dev_socket_id(d->port), NULL,
					 d->pool)) ||
	    (rc = rte_eth_tx_queue_setup(d->port, 0, ntx, rte_eth_dev_socket_id(d->port), NULL))) {
		gb_log(d->log, GB_LOG_ERR, "GALE-DRV-DPDK", "port %u (%s): set-up failed: %s",
		       d->port, info.driver_name, rte_strerror(rc < 0 ? -rc : rc));
		return -ENODEV;
	}
	if (mtu != DPDK_DEF_MTU)
		rte_eth_dev_set_mtu(d->port, (uint16_t)mtu);
	if ((rc = rte_eth_dev_start(d->port)) != 0) {
		gb_log(d->log, GB_LOG_ERR, "GALE-DRV-DPDK", "port %u (%s): start failed: %s",
		       d->port, info.driver_name, rte_strerror(rc < 0 ? -rc : rc));
		return -ENODEV;
	}
	d->started = true;
	/* The group MAC: not every PMD filters, or can (-ENOTSUP is fine). */
	if (rte_eth_allmulticast_enable(d->port) != 0)
		rte_eth_promiscuous_enable(d->port);
	rte_eth_macaddr_get(d->port, &d->mac);
	struct rte_eth_link link;
	for (int ms = 0; ms < DPDK_LINK_WAIT_MS; ms += 10) {
		if (rte_eth_link_get_nowait(d->port, &link) == 0 && link.link_status)
			break;
		/* A memif client whose server was not there yet does not retry by
		 * itself: start it again now and then. */
		if (ms % 500 == 490 && !d->memif_server &&
		    strcmp(info.driver_name, "net_memif") == 0) {
			rte_eth_dev_stop(d->port);
			rte_eth_dev_start(d->port);
		}
		usleep(10000);
	}
	if (!link.link_status) {
		gb_log(d->log, GB_LOG_ERR, "GALE-DRV-DPDK",
		       "port %u (%s): the link did not come up in %d s", d->port, info.driver_name,
		       DPDK_LINK_WAIT_MS / 1000);
		return -ETIMEDOUT;
	}
	gb_log(d->log, GB_LOG_INFO, "GALE-DRV-DPDK",
	       "port %u (%s): link up, frames up to %u bytes, %s transmit", d->port,
	       info.driver_name, d->frame_max,
	       d->zero_copy ? "zero-copy (external mbufs into the send ring)" : "copying");
	return 0;
}

static void
dpdk_close(struct drv *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n_held; i++)
		rte_pktmbuf_free(d->held[i]);
	if (d->started) {
		/* memif (DPDK 22.11): the server waits for its client to go first. */
		struct rte_eth_link link;
		for (int ms = 0; d->memif_server && ms < 2000; ms += 10) {
			if (rte_eth_link_get_nowait(d->port, &link) == 0 && !link.link_status)
				break;
			usleep(10000);
		}
		rte_eth_dev_stop(d->port);
	}
	if (d->pool)
		rte_mempool_free(d->pool);
	port_busy[d->port] = false;
	if (d->region)
		munmap(d->region, d->region_bytes);
	free(d);
}

static int
dpdk_open(const struct drv_conf *conf, struct drv **out, void **region)
{
	const struct gale_net_conf *net = conf->net;
	struct gb_logger *log = conf->log ? conf->log : &gb_default_logger;
	if (!net) {
		gb_log(log, GB_LOG_ERR, "GALE-CONF-INVALID", "the dpdk driver needs net.eal");
		return -EINVAL;
	}
	if (net->mtu && (net->mtu < 256 || net->mtu > 9000)) {
		gb_log(log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "net.mtu %u is invalid: valid: 256 to 9000 (0 = 1500)", net->mtu);
		return -EINVAL;
	}
	int rc = eal_start(log, net->eal);
	if (rc)
		return rc;
	uint16_t nports = rte_eth_dev_count_avail();
	if (net->port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(net->port)) {
		gb_log(log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "net.port %u is invalid: valid: 0 to %d (the EAL found %u port(s): give a "
		       "--vdev or a device in net.eal)",
		       net->port, (int)nports - 1, nports);
		return -EINVAL;
	}
	if (port_busy[net->port]) {
		gb_log(log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "DPDK port %u is used by another group of this process: valid: one group "
		       "per port",
		       net->port);
		return -EBUSY;
	}
	struct drv *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->conf = *conf;
	d->log = log;
	d->port = net->port;
	port_busy[d->port] = true;
	d->region_bytes = conf->region_bytes;
	d->region = mmap(NULL, conf->region_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->region == MAP_FAILED) {
		d->region = NULL;
		dpdk_close(d);
		return -ENOMEM;
	}
	uint64_t h = name_hash(conf->group);
	uint8_t gm[RTE_ETHER_ADDR_LEN] = {
		0x03, 0x47, (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h
	};
	memcpy(d->group_mac.addr_bytes, gm, sizeof(gm));
	d->shinfo.free_cb = ext_free;
	rte_mbuf_ext_refcnt_set(&d->shinfo, 1);
	rc = port_setup(d, net);
	if (rc) {
		dpdk_close(d);
		return rc;
	}
	*out = d;
	*region = d->region;
	return 0;
}

static uint32_t
dpdk_frame_max(const struct drv *d)
{
	return d->frame_max;
}

/* One frame as an mbuf (chain); NULL when the pool is empty. */
static struct rte_mbuf *
build(struct drv *d, const struct drv_tx *f, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(d->pool);
	if (!m)
		return NULL;
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN);
	eh->dst_addr = d->group_mac;
	eh->src_addr = d->mac;
	eh->ether_type = rte_cpu_to_be_16(DPDK_ETHERTYPE);
	if (!d->zero_copy || f->n_iov > d->max_segs) {
		uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
		if (!p) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		for (uint32_t i = 0; i < f->n_iov; i++) {
			memcpy(p, f->iov[i].base, f->iov[i].len);
			p += f->iov[i].len;
		}
		return m;
	}
	/* The first piece (headers) is copied; the others stay in the ring. */
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)f->iov[0].len);
	memcpy(p, f->iov[0].base, f->iov[0].len);
	struct rte_mbuf *last = m;
	for (uint32_t i = 1; i < f->n_iov; i++) {
		struct rte_mbuf *x = rte_pktmbuf_alloc(d->pool);
		if (!x) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		void *base = (void *)(uintptr_t)f->iov[i].base;
		rte_pktmbuf_attach_extbuf(x, base, (rte_iova_t)(uintptr_t)base,
					  (uint16_t)f->iov[i].len, &d->shinfo);
		x->data_off = 0;
		x->data_len = (uint16_t)f->iov[i].len;
		x->pkt_len = x->data_len;
		last->next = x;
		last = x;
		m->nb_segs++;
		m->pkt_len += x->data_len;
	}
	return m;
}

static unsigned
dpdk_tx(struct drv *d, const struct drv_tx *frames, unsigned n)
{
	struct rte_mbuf *burst[DPDK_BURST];
	uint32_t lens[DPDK_BURST];
	unsigned done = 0;
	bool stop = false;
	while (done < n && !stop) {
		unsigned k = 0;
		while (k < DPDK_BURST && done + k < n) {
			const struct drv_tx *f = &frames[done + k];
			uint32_t len = 0;
			for (uint32_t i = 0; i < f->n_iov; i++)
				len += f->iov[i].len;
			struct rte_mbuf *m = len && len <= d->frame_max ? build(d, f, len) : NULL;
			if (!m) {
				stop = true; /* too long, or no mbuf now: it and the rest are lost
					      */
				break;
			}
			lens[k] = len;
			burst[k++] = m;
		}
		uint16_t sent = k ? rte_eth_tx_burst(d->port, 0, burst, (uint16_t)k) : 0;
		for (unsigned i = 0; i < k; i++) {
			if (i < sent) {
				d->st.tx_frames++;
				d->st.tx_bytes += lens[i];
			} else {
				rte_pktmbuf_free(burst[i]);
			}
		}
		done += sent;
		stop |= sent < k;
	}
	d->st.tx_dropped += n - done;
	return done;
}

static unsigned
dpdk_rx(struct drv *d, struct drv_rx *out, unsigned max)
{
	for (unsigned i = 0; i < d->n_held; i++)
		rte_pktmbuf_free(d->held[i]);
	d->n_held = 0;
	struct rte_mbuf *burst[DPDK_BURST];
	if (max > DPDK_BURST)
		max = DPDK_BURST;
	uint16_t n = rte_eth_rx_burst(d->port, 0, burst, (uint16_t)max);
	unsigned k = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = burst[i];
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (m->nb_segs != 1 || m->data_len < RTE_ETHER_HDR_LEN ||
		    eh->ether_type != rte_cpu_to_be_16(DPDK_ETHERTYPE) ||
		    rte_is_same_ether_addr(&eh->src_addr, &d->mac)) {
			rte_pktmbuf_free(m); /* not Gale's, or this port's own */
			continue;
		}
		d->held[d->n_held++] = m;
		out[k].data = (const uint8_t *)(eh + 1);
		out[k].len = m->data_len - RTE_ETHER_HDR_LEN;
		out[k].buf = m;
		d->st.rx_frames++;
		d->st.rx_bytes += out[k].len;
		k++;
	}
	return k;
}

/* One more reference: the free at the next rx() leaves it to rx_free(). */
static void *
dpdk_rx_keep(struct drv *d, const struct drv_rx *f)
{
	if (d->n_kept >= DPDK_MAX_KEPT)
		return NULL;
	struct rte_mbuf *m = f->buf;
	rte_mbuf_refcnt_update(m, 1);
	d->n_kept++;
	return m;
}

static void
dpdk_rx_free(struct drv *d, void *handle)
{
	rte_pktmbuf_free(handle);
	d->n_kept--;
}

static void
dpdk_stats(const struct drv *d, struct drv_dgram_stats *out)
{
	*out = d->st;
}

const struct drv_ops drv_dpdk_ops = {
	.name = "dpdk",
	.open = dpdk_open,
	.close = dpdk_close,
	.tx = dpdk_tx,
	.rx = dpdk_rx,
	.rx_keep = dpdk_rx_keep,
	.rx_free = dpdk_rx_free,
	.frame_max = dpdk_frame_max,
	.dgram_stats = dpdk_stats,
};
