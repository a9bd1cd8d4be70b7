/* SPDX-License-Identifier: MIT */
/*
 * The udp driver: frames over kernel UDP sockets. A datagram driver: it only
 * moves frames; dataplane/dgram.c builds each peer's region mirror from them
 * and repairs loss (a frame the kernel or the network drops is sent again
 * from above, never here).
 *
 * Sockets: each member has one unicast socket bound to its own address
 * (net.addrs[rank], "A.B.C.D:PORT"; PORT + 1 is the control plane's). It
 * sends everything, and receives frames sent to this member alone.
 *
 * Frames to every other member (DRV_DEST_ALL) go one of two ways. Without
 * net.mcast, fan-out: one copy to each other member's address, all in one
 * sendmmsg(2). With net.mcast, one datagram to the group; every member then
 * has a second socket bound to INADDR_ANY:<group port> with SO_REUSEADDR
 * (several members may share a host) and joined to the group on net.iface
 * (or the interface holding its own address). Multicast loop-back is on so
 * members on one host hear each other; it also hands a member its own
 * frames, which rx() drops by their source address (its unicast address).
 *
 * Buffers: the sockets ask for 8 MiB each way (SO_*BUFFORCE when allowed,
 * else SO_*BUF, which the kernel caps at net.core.[rw]mem_max). Received
 * frames land in 64 buffers of frame_max() bytes, one allocation made at
 * open(); tx() and rx() never allocate. A datagram longer than frame_max()
 * arrives truncated and is returned as such: the caller's decoder rejects it.
 *
 * The region is private anonymous memory: peers never map it; its driver
 * header (the first DRV_REGION_HDR_BYTES) is unused and stays zero.
 */
#include "drivers/drv.h"

#include "base/compiler.h"
#include "base/log.h"
#include "base/net.h"
#include "gale/gale.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_BATCH 64	       /* mmsghdrs per sendmmsg(2)/recvmmsg(2), receive buffers */
#define UDP_SOCKBUF (8u << 20) /* socket buffer asked for, each way */
#define UDP_MTU_DEF 1472       /* 1500-byte Ethernet frame less IPv4 and UDP headers */
#define UDP_MTU_MIN 256	       /* smallest frame_max() allowed */
#define UDP_MTU_MAX 65507      /* largest IPv4 UDP payload */
#define UDP_TTL_MAX 255
#define UDP_END_DROPPED UINT32_MAX /* tx(): a frame refused before sending */

struct drv {
	uint32_t my_id;
	uint32_t mtu;
	unsigned n_members;
	uint32_t ids[GALE_MAX_MEMBERS];		    /* rank order, as conf->member_ids */
	struct sockaddr_in addrs[GALE_MAX_MEMBERS]; /* each member's data socket */
	struct sockaddr_in peers[GALE_MAX_MEMBERS]; /* the other members': fan-out targets */
	unsigned n_peers;
	struct sockaddr_in self;
	struct sockaddr_in group; /* valid if mfd >= 0 */
	int fd;			  /* unicast: bound to self; sends everything */
	int mfd;		  /* multicast: bound to INADDR_ANY:group port; -1 without */
	void *region;
	uint64_t region_bytes;
	struct drv_dgram_stats st;

	/* tx() scratch: one iovec array per frame of a batch, copies share it. */
	struct mmsghdr tx_msg[UDP_BATCH];
	struct iovec tx_iov[UDP_BATCH][DRV_TX_IOV];
	uint32_t tx_end[UDP_BATCH]; /* per frame: the tx_msg index after its last copy */

	/* rx() buffers: UDP_BATCH of mtu bytes each, in rx_buf. */
	uint8_t *rx_buf;
	struct mmsghdr rx_msg[UDP_BATCH];
	struct iovec rx_iov[UDP_BATCH];
	struct sockaddr_in rx_src[UDP_BATCH];
};

static bool
is_multicast(const struct sockaddr_in *a)
{
	return (ntohl(a->sin_addr.s_addr) & 0xf0000000u) == 0xe0000000u; /* 224.0.0.0/4 */
}

static const char *
addr_str(const struct sockaddr_in *a, char *buf, size_t n)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
	return buf;
}

/* Every field of conf->net checked and copied into d; each refusal logged with
 * the field, its value and what is valid. */
static int
check_conf(struct drv *d, const struct drv_conf *conf, unsigned *ifindex)
{
	struct gb_logger *lg = conf->log;
#define BAD(...)                                                                                   \
	do {                                                                                       \
		gb_log(lg, GB_LOG_ERR, "GALE-CONF-INVALID", __VA_ARGS__);                          \
		return -EINVAL;                                                                    \
	} while (0)
	const struct gale_net_conf *net = conf->net;
	if (!net)
		BAD("net is NULL: the udp driver needs net.addrs (one \"A.B.C.D:PORT\" per "
		    "member)");
	if (conf->n_members < 1 || conf->n_members > GALE_MAX_MEMBERS)
		BAD("n_members %u is invalid: valid: 1 to %d", conf->n_members, GALE_MAX_MEMBERS);
	if (!net->addrs)
		BAD("net.addrs is NULL: valid: %u addresses \"A.B.C.D:PORT\" (PORT 1 to 65534), "
		    "in rank order",
		    conf->n_members);
	d->n_members = conf->n_members;
	int my_rank = -1;
	for (unsigned k = 0; k < conf->n_members; k++) {
		const char *s = net->addrs[k];
		struct sockaddr_in *a = &d->addrs[k];
		if (!s || gb_parse_addr(s, a) != 0)
			BAD("net.addrs[%u] '%s' is invalid: valid: \"A.B.C.D:PORT\", PORT 1 to 65534",
			    k, s ? s : "(null)");
		if (ntohs(a->sin_port) == 65535)
			BAD("net.addrs[%u] '%s' is invalid: its control plane uses PORT + 1: valid: "
			    "PORT 1 to 65534",
			    k, s);
		/* Same host: the data and control ports (PORT, PORT + 1) must not meet. */
		for (unsigned j = 0; j < k; j++) {
			int dp = (int)ntohs(a->sin_port) - (int)ntohs(d->addrs[j].sin_port);
			if (a->sin_addr.s_addr == d->addrs[j].sin_addr.s_addr && dp > -2 && dp < 2)
				BAD("net.addrs[%u] '%s' clashes with net.addrs[%u] '%s': members on "
				    "one address need ports at least 2 apart (PORT and PORT + 1 "
				    "each)",
				    k, s, j, net->addrs[j]);
		}
		d->ids[k] = conf->member_ids[k];
		if (conf->member_ids[k] == conf->my_id)
			my_rank = (int)k;
	}
	if (my_rank < 0)
		BAD("my_id %u is not in member_ids: valid: one of the %u member ids", conf->my_id,
		    conf->n_members);
	d->my_id = conf->my_id;
	d->self = d->addrs[my_rank];
	for (unsigned k = 0; k < conf->n_members; k++)
		if ((int)k != my_rank)
			d->peers[d->n_peers++] = d->addrs[k];

	if (net->mtu && (net->mtu < UDP_MTU_MIN || net->mtu > UDP_MTU_MAX))
		BAD("net.mtu %u is invalid: valid: %d to %d (0 = %d)", net->mtu, UDP_MTU_MIN,
		    UDP_MTU_MAX, UDP_MTU_DEF);
	d->mtu = net->mtu ? net->mtu : UDP_MTU_DEF;
	if (net->ttl > UDP_TTL_MAX)
		BAD("net.ttl %u is invalid: valid: 1 to %d (0 = 1)", net->ttl, UDP_TTL_MAX);

	*ifindex = 0;
	if (net->mcast) {
		if (gb_parse_addr(net->mcast, &d->group) != 0)
			BAD("net.mcast '%s' is invalid: valid: \"A.B.C.D:PORT\", a group in "
			    "224.0.0.0/4, PORT 1 to 65535 (NULL = unicast fan-out)",
			    net->mcast);
		if (!is_multicast(&d->group))
			BAD("net.mcast '%s' is not a multicast group: valid: 224.0.0.0 to "
			    "239.255.255.255 (NULL = unicast fan-out)",
			    net->mcast);
		in_port_t gp = ntohs(d->group.sin_port);
		for (unsigned k = 0; k < conf->n_members; k++) {
			in_port_t p = ntohs(d->addrs[k].sin_port);
			if (gp == p || gp == p + 1)
				BAD("net.mcast '%s' uses port %u, which net.addrs[%u] '%s' uses: "
				    "valid: a port no member uses (neither PORT nor PORT + 1)",
				    net->mcast, gp, k, net->addrs[k]);
		}
		if (net->iface) {
			*ifindex = if_nametoindex(net->iface);
			if (!*ifindex)
				BAD("net.iface '%s' is invalid: %s: valid: the name of a network "
				    "interface of this host (NULL = the one holding this member's "
				    "address)",
				    net->iface, strerror(errno));
		}
	}
	return 0;
#undef BAD
}

/* 8 MiB each way: forced past rmem_max/wmem_max when allowed (CAP_NET_ADMIN). */
static void
set_bufs(int fd)
{
	int v = UDP_SOCKBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* A socket bound to addr; -errno, logged, on failure. */
static int
bound_socket(const struct drv_conf *conf, const struct sockaddr_in *addr, bool reuse,
	     const char *what)
{
	char as[32];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int rc = -errno;
		gb_log(conf->log, GB_LOG_ERR, "GALE-DRV-UDP",
		       "member %u: cannot create a %s socket: %s", conf->my_id, what,
		       strerror(-rc));
		return rc;
	}
	int one = 1;
	if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	set_bufs(fd);
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0)
		goto fail;
	return fd;
fail:;
	int rc = -errno;
	gb_log(conf->log, GB_LOG_ERR, "GALE-DRV-UDP",
	       "member %u: cannot bind the %s socket to %s: %s", conf->my_id, what,
	       addr_str(addr, as, sizeof(as)), strerror(-rc));
	close(fd);
	return rc;
}

/* Join the group on mfd, and send multicast from fd on the same interface. */
static int
mcast_setup(struct drv *d, const struct drv_conf *conf, unsigned ifindex)
{
	char gs[32];
	struct ip_mreqn mr = { .imr_multiaddr = d->group.sin_addr };
	if (ifindex)
		mr.imr_ifindex = (int)ifindex;
	else
		mr.imr_address = d->self.sin_addr;
	int zero = 0, one = 1, ttl = conf->net->ttl ? (int)conf->net->ttl : 1;
	const char *op = "IP_ADD_MEMBERSHIP";
	if (setsockopt(d->mfd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
		goto fail;
	/* Only the groups this socket joined, not every group joined on the host. */
	setsockopt(d->mfd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero));
	struct ip_mreqn ifc = { .imr_address = mr.imr_address, .imr_ifindex = mr.imr_ifindex };
	op = "IP_MULTICAST_IF";
	if (setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifc, sizeof(ifc)) != 0)
		goto fail;
	op = "IP_MULTICAST_TTL";
	if (setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) != 0)
		goto fail;
	op = "IP_MULTICAST_LOOP"; /* members may share a host; own frames dropped in rx() */
	if (setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) != 0)
		goto fail;
	return 0;
fail:;
	int rc = -errno;
	gb_log(conf->log, GB_LOG_ERR, "GALE-DRV-UDP", "member %u: multicast group %s: %s: %s",
	       conf->my_id, addr_str(&d->group, gs, sizeof(gs)), op, strerror(-rc));
	return rc;
}

static void udp_close(struct drv *d);

static int
udp_open(const struct drv_conf *conf, struct drv **out, void **region)
{
	struct drv *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = d->mfd = -1;
	d->region = MAP_FAILED;
	unsigned ifindex;
	int rc = check_conf(d, conf, &ifindex);
	if (rc)
		goto fail;

	d->region_bytes = conf->region_bytes;
	d->region = mmap(NULL, conf->region_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->region == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	d->rx_buf = malloc((size_t)UDP_BATCH * d->mtu);
	if (!d->rx_buf) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned k = 0; k < UDP_BATCH; k++) {
		d->rx_iov[k] = (struct iovec){ .iov_base = d->rx_buf + (size_t)k * d->mtu,
					       .iov_len = d->mtu };
		d->rx_msg[k].msg_hdr = (struct msghdr){ .msg_iov = &d->rx_iov[k], .msg_iovlen = 1 };
	}

	rc = d->fd = bound_socket(conf, &d->self, false, "unicast");
	if (rc < 0)
		goto fail;
	if (conf->net->mcast) {
		struct sockaddr_in any = { .sin_family = AF_INET,
					   .sin_port = d->group.sin_port,
					   .sin_addr.s_addr = htonl(INADDR_ANY) };
		rc = d->mfd = bound_socket(conf, &any, true, "multicast");
		if (rc < 0)
			goto fail;
		rc = mcast_setup(d, conf, ifindex);
		if (rc)
			goto fail;
	}
	*out = d;
	*region = d->region;
	return 0;
fail:
	udp_close(d);
	return rc;
}

/* Where frame f goes: *n addresses from *to; false if it cannot be sent. */
static bool
tx_dest(const struct drv *d, const struct drv_tx *f, const struct sockaddr_in **to, unsigned *n)
{
	if (f->dest == DRV_DEST_ALL) {
		if (d->mfd >= 0) {
			*to = &d->group;
			*n = 1;
		} else {
			*to = d->peers;
			*n = d->n_peers;
		}
		return true;
	}
	for (unsigned k = 0; k < d->n_members; k++) {
		if (d->ids[k] == f->dest) {
			*to = &d->addrs[k];
			*n = 1;
			return true;
		}
	}
	return false; /* not a member */
}

static unsigned
udp_tx(struct drv *d, const struct drv_tx *frames, unsigned n)
{
	unsigned sent = 0;
	for (unsigned i = 0; i < n;) {
		/* One batch: frames from i while their copies fit in UDP_BATCH messages. */
		unsigned nm = 0, nf = 0, ns = 0;
		for (; i + nf < n && nf < UDP_BATCH; nf++) {
			const struct drv_tx *f = &frames[i + nf];
			const struct sockaddr_in *to;
			unsigned copies;
			uint64_t len = 0;
			for (unsigned j = 0; j < f->n_iov && j < DRV_TX_IOV; j++)
				len += f->iov[j].len;
			if (f->n_iov > DRV_TX_IOV || len > d->mtu || !tx_dest(d, f, &to, &copies)) {
				d->st.tx_dropped++;
				d->tx_end[nf] = UDP_END_DROPPED;
				continue;
			}
			if (nm + copies > UDP_BATCH)
				break; /* next batch (nm > 0 here: copies < GALE_MAX_MEMBERS) */
			struct iovec *iov = d->tx_iov[ns++];
			for (unsigned j = 0; j < f->n_iov; j++)
				iov[j] = (struct iovec){ .iov_base = (void *)f->iov[j].base,
							 .iov_len = f->iov[j].len };
			for (unsigned c = 0; c < copies; c++)
				d->tx_msg[nm++].msg_hdr = (struct msghdr){
					.msg_name = (void *)&to[c],
					.msg_namelen = sizeof(to[c]),
					.msg_iov = iov,
					.msg_iovlen = f->n_iov,
				};
			d->tx_end[nf] = nm; /* a fan-out to nobody (one member) is done at once */
		}
		int r = nm ? sendmmsg(d->fd, d->tx_msg, nm, MSG_DONTWAIT) : 0;
		if (r < 0)
			r = 0; /* EAGAIN, ENOBUFS, ...: the dataplane repairs the loss */
		d->st.tx_frames += (unsigned)r;
		for (int m = 0; m < r; m++)
			d->st.tx_bytes += d->tx_msg[m].msg_len;
		/* A frame counts once all its copies went. */
		for (unsigned k = 0; k < nf; k++) {
			if (d->tx_end[k] == UDP_END_DROPPED)
				continue;
			if (d->tx_end[k] <= (unsigned)r)
				sent++;
			else
				d->st.tx_dropped++;
		}
		if ((unsigned)r < nm) {
			d->st.tx_dropped += n - (i + nf);
			return sent;
		}
		i += nf;
	}
	return sent;
}

static unsigned
udp_rx(struct drv *d, struct drv_rx *out, unsigned max)
{
	unsigned got = 0, used = 0; /* used: receive buffers filled this call */
	const int fds[2] = { d->fd, d->mfd };
	for (unsigned s = 0; s < 2 && got < max && used < UDP_BATCH; s++) {
		if (fds[s] < 0)
			continue;
		unsigned want = GB_MIN(max - got, UDP_BATCH - used);
		for (unsigned k = used; k < used + want; k++) {
			d->rx_msg[k].msg_hdr.msg_name = &d->rx_src[k];
			d->rx_msg[k].msg_hdr.msg_namelen = sizeof(d->rx_src[k]);
			d->rx_msg[k].msg_hdr.msg_flags = 0;
		}
		int r = recvmmsg(fds[s], &d->rx_msg[used], want, MSG_DONTWAIT, NULL);
		if (r <= 0)
			continue; /* EAGAIN: nothing there; other errors: nothing to do here */
		for (unsigned k = used; k < used + (unsigned)r; k++) {
			const struct sockaddr_in *src = &d->rx_src[k];
			if (d->rx_msg[k].msg_hdr.msg_namelen == sizeof(*src) &&
			    src->sin_family == AF_INET &&
			    src->sin_addr.s_addr == d->self.sin_addr.s_addr &&
			    src->sin_port == d->self.sin_port)
				continue; /* our own frame, looped back by multicast */
			/* Truncated (MSG_TRUNC in msg_flags): returned as received. */
			out[got].data = d->rx_iov[k].iov_base;
			out[got].len = d->rx_msg[k].msg_len;
			out[got].buf = NULL; /* never kept: the buffers are reused */
			d->st.rx_frames++;
			d->st.rx_bytes += out[got].len;
			got++;
		}
		used += (unsigned)r;
	}
	return got;
}

static uint32_t
udp_frame_max(const struct drv *d)
{
	return d->mtu;
}

static void
udp_dgram_stats(const struct drv *d, struct drv_dgram_stats *out)
{
	*out = d->st;
}

static void
udp_close(struct drv *d)
{
	if (d->mfd >= 0)
		close(d->mfd);
	if (d->fd >= 0)
		close(d->fd);
	if (d->region != MAP_FAILED)
		munmap(d->region, d->region_bytes);
	free(d->rx_buf);
	free(d);
}

const struct drv_ops drv_udp_ops = {
	.name = "udp",
	.open = udp_open,
	.close = udp_close,
	.tx = udp_tx,
	.rx = udp_rx,
	.frame_max = udp_frame_max,
	.dgram_stats = udp_dgram_stats,
};
