/* SPDX-License-Identifier: MIT */
/*
 * galed: the control-plane process. Today it runs the membership state
 * machine (membership/mbr.c) with the galed of every other member over UDP:
 * failure detection, view agreement, joins and leaves. It prints each view
 * it installs. The dataplane hook-up (the shared-memory control channel
 * that wedges a dataplane, collects its final row and installs the view
 * into it) is not built yet: without a dataplane, galed reports an empty
 * final row when wedged, which is exactly the row of a member that carried
 * no messages.
 *
 * Output, one line per event on stdout (flushed):
 *   VIEW <epoch> <id>,<id>,...      a view installed
 *   STOP <reason>                   excluded | minority | left
 * and log lines with stable ids on stderr (GALE-VIEW-INSTALL, GALE-DROP, ...).
 *
 * usage: galed [--config FILE] [--group NAME] [--id N] [--member ID@IP:PORT]...
 *              [--join] [--mode safe|total|fifo] [--hb-interval-ms N]
 *              [--hb-timeout-ms N]
 * Exit: 0 left on SIGTERM/SIGINT, 2 bad configuration, 3 excluded, 4 minority.
 */
#include "conf.h"

#include "base/clock.h"
#include "base/fnv.h"
#include "membership/codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Where to reach each member id: configured, or learnt from its datagrams. */
struct peer_addr {
	uint32_t id;
	struct sockaddr_in sa;
};

static struct galed {
	struct galed_conf c;
	int fd;
	struct mbr sm;
	struct peer_addr addrs[2 * MBR_MAX];
	unsigned n_addrs;
	uint64_t group_hash;
	uint64_t sent, received, send_errors;
	uint64_t drops[MBR_DEC_ERR_MAX];
	int exit_code;
	bool done;
} G;

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static struct sockaddr_in *
addr_of(uint32_t id)
{
	for (unsigned i = 0; i < G.n_addrs; i++)
		if (G.addrs[i].id == id)
			return &G.addrs[i].sa;
	return NULL;
}

static void
learn_addr(uint32_t id, const struct sockaddr_in *sa)
{
	if (addr_of(id))
		return; /* configured (or learnt first): kept */
	if (G.n_addrs < 2 * MBR_MAX)
		G.addrs[G.n_addrs++] = (struct peer_addr){ .id = id, .sa = *sa };
}

static void
net_send(void *arg, uint32_t to, const struct mbr_msg *m)
{
	(void)arg;
	struct sockaddr_in *sa = addr_of(to);
	if (!sa)
		return; /* a member we cannot reach yet */
	static uint8_t buf[MBR_WIRE_MAX];
	size_t len = mbr_encode(m, G.group_hash, buf);
	if (sendto(G.fd, buf, len, 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		G.send_errors++;
	else
		G.sent++;
}

static void
print_view(const struct mbr_view *v)
{
	printf("VIEW %llu ", (unsigned long long)v->epoch);
	for (uint32_t i = 0; i < v->n; i++)
		printf("%s%u", i ? "," : "", v->ids[i]);
	printf("\n");
	fflush(stdout);
}

static void
on_action(void *arg, enum mbr_action a, const struct mbr_proposal *p)
{
	(void)arg;
	switch (a) {
	case MBR_ACT_WEDGE: {
		/* No dataplane attached: its final row is empty (it carried nothing). */
		static const struct mbr_row empty;
		gb_log(&G.c.log, GB_LOG_INFO, "GALE-WEDGE",
		       "member %u wedged in epoch %llu (suspects rank mask %#llx)", G.c.id,
		       (unsigned long long)G.sm.view.epoch, (unsigned long long)G.sm.suspects);
		mbr_row_ready(&G.sm, &empty, gb_now_ns());
		break;
	}
	case MBR_ACT_INSTALL:
		gb_log(&G.c.log, GB_LOG_INFO, "GALE-VIEW-INSTALL",
		       "member %u installs view %llu with %u members", G.c.id,
		       (unsigned long long)p->view.epoch, p->view.n);
		print_view(&p->view);
		break;
	case MBR_ACT_EXCLUDED:
		gb_log(&G.c.log, stop_requested ? GB_LOG_INFO : GB_LOG_WARN, "GALE-EXCLUDED",
		       "member %u is not in view %llu: it stops", G.c.id,
		       (unsigned long long)p->view.epoch);
		printf("STOP %s\n", stop_requested ? "left" : "excluded");
		fflush(stdout);
		G.exit_code = stop_requested ? 0 : 3;
		G.done = true;
		break;
	case MBR_ACT_MINORITY:
		gb_log(&G.c.log, GB_LOG_WARN, "GALE-MINORITY",
		       "member %u sees no majority of view %llu alive (suspects rank mask "
		       "%#llx): it stops (primary partition)",
		       G.c.id, (unsigned long long)G.sm.view.epoch,
		       (unsigned long long)G.sm.suspects);
		printf("STOP minority\n");
		fflush(stdout);
		G.exit_code = 4;
		G.done = true;
		break;
	}
}

static void
receive_all(uint64_t now)
{
	static uint8_t buf[MBR_WIRE_MAX + 1];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(G.fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fl);
		if (n < 0)
			return;
		G.received++;
		struct mbr_msg m;
		int rc = mbr_decode(buf, (size_t)n, G.group_hash, &m);
		if (rc < 0) {
			if (G.drops[-rc]++ == 0)
				gb_log(&G.c.log, GB_LOG_WARN, "GALE-DROP",
				       "dropped a datagram from %s:%u: %s (further ones only "
				       "counted)",
				       inet_ntoa(from.sin_addr), ntohs(from.sin_port),
				       mbr_dec_strerror(rc));
			continue;
		}
		learn_addr(m.from, &from);
		mbr_on_msg(&G.sm, &m, now);
	}
}

static void
print_stats(void)
{
	fprintf(stderr,
		"gale info GALE-STATS: member %u: sent %llu, received %llu, send errors %llu, "
		"dropped: truncated %llu, magic %llu, version %llu, group %llu, type %llu, "
		"length %llu, checksum %llu; protocol drops (epoch, stranger) %llu\n",
		G.c.id, (unsigned long long)G.sent, (unsigned long long)G.received,
		(unsigned long long)G.send_errors, (unsigned long long)G.drops[MBR_DEC_TRUNCATED],
		(unsigned long long)G.drops[MBR_DEC_MAGIC],
		(unsigned long long)G.drops[MBR_DEC_VERSION],
		(unsigned long long)G.drops[MBR_DEC_GROUP],
		(unsigned long long)G.drops[MBR_DEC_TYPE],
		(unsigned long long)G.drops[MBR_DEC_LENGTH],
		(unsigned long long)G.drops[MBR_DEC_CHECKSUM], (unsigned long long)G.sm.dropped);
}

int
main(int argc, char **argv)
{
	if (galed_conf_parse(argc, argv, &G.c) != 0)
		return 2;
	G.group_hash = gb_fnv1a64(G.c.group, strlen(G.c.group));
	for (uint32_t i = 0; i < G.c.n_members; i++)
		G.addrs[G.n_addrs++] =
			(struct peer_addr){ .id = G.c.members[i].id, .sa = G.c.members[i].sa };
	G.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (G.fd < 0 || bind(G.fd, (const struct sockaddr *)&G.c.listen, sizeof(G.c.listen)) != 0) {
		gb_log(&G.c.log, GB_LOG_ERR, "GALE-CONF-INVALID", "cannot bind %s:%u: %s",
		       inet_ntoa(G.c.listen.sin_addr), ntohs(G.c.listen.sin_port), strerror(errno));
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	uint64_t now = gb_now_ns();
	struct mbr_conf mc = { .my_id = G.c.id,
			       .safe = G.c.safe,
			       .hb_interval_ns = G.c.hb_interval_ms * 1000000ull,
			       .hb_timeout_ns = G.c.hb_timeout_ms * 1000000ull };
	struct mbr_ops ops = { .send = net_send, .action = on_action };
	int rc;
	if (G.c.join) {
		uint32_t contacts[MBR_MAX];
		for (uint32_t i = 0; i < G.c.n_members; i++)
			contacts[i] = G.c.members[i].id;
		rc = mbr_init_joiner(&G.sm, &mc, &ops, contacts, G.c.n_members, now);
	} else {
		struct mbr_view v = { .epoch = 1, .n = G.c.n_members };
		for (uint32_t i = 0; i < G.c.n_members; i++)
			v.ids[i] = G.c.members[i].id;
		rc = mbr_init(&G.sm, &mc, &ops, &v, now);
		if (rc == 0)
			print_view(&v);
	}
	if (rc != 0) {
		gb_log(&G.c.log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "the membership service refused this configuration");
		return 2;
	}
	bool leaving = false;
	uint64_t leave_deadline = 0;
	while (!G.done) {
		struct pollfd pfd = { .fd = G.fd, .events = POLLIN };
		poll(&pfd, 1, 1);
		now = gb_now_ns();
		receive_all(now);
		mbr_tick(&G.sm, now);
		if (stop_requested && !leaving) {
			leaving = true;
			leave_deadline = now + 3 * G.c.hb_timeout_ms * 1000000ull;
			mbr_leave(&G.sm, now);
		}
		if (leaving && now > leave_deadline) {
			printf("STOP left\n"); /* nobody confirmed in time: leave anyway */
			fflush(stdout);
			break;
		}
	}
	print_stats();
	close(G.fd);
	return G.exit_code;
}
