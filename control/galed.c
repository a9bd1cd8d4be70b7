/* SPDX-License-Identifier: MIT */
/*
 * galed: the control-plane process. It runs the control loop (ctlrun.c: the
 * membership state machine with the galed of every other member over UDP)
 * either alone (no dataplane: a wedge reports the empty row of a member
 * that carried no messages), or, with --dataplane, for the local
 * application that joined the group as member <id> with external_control:
 * it maps that member's control block (/dev/shm/gale.<group>.ctl.<id>),
 * installs every agreed view into its dataplane, and watches the
 * application's process through a pidfd: when it dies, galed sees it within
 * a millisecond, asks the others to exclude this member, and exits.
 *
 * Output, one line per event on stdout (flushed):
 *   VIEW <epoch> <id>,<id>,...      a view agreed (and, with --dataplane, installed)
 *   STOP <reason>                   excluded | minority | left | dataplane-died
 * and log lines with stable ids on stderr (GALE-VIEW-AGREED, GALE-DROP, ...).
 *
 * usage: galed [--config FILE] [--group NAME] [--id N] [--member ID@IP:PORT]...
 *              [--join] [--dataplane] [--mode safe|total|fifo] [--hb-interval-ms N]
 *              [--hb-timeout-ms N]
 * Exit: 0 left on SIGTERM/SIGINT, 2 bad configuration, 3 excluded, 4 minority,
 * 5 the dataplane died or could not be attached.
 */
#include "conf.h"
#include "ctlrun.h"

#include "base/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ATTACH_WAIT_NS 10000000000ull

static struct galed {
	struct galed_conf c;
	struct ctlrun run;
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
	case MBR_ACT_INSTALL:
		print_view(&p->view);
		break;
	case MBR_ACT_EXCLUDED:
		printf("STOP %s\n", G.run.dp_dead    ? "dataplane-died"
				    : stop_requested ? "left"
						     : "excluded");
		fflush(stdout);
		G.exit_code = G.run.dp_dead ? 5 : stop_requested ? 0 : 3;
		G.done = true;
		break;
	case MBR_ACT_ENDED:
		printf("STOP left\n");
		fflush(stdout);
		G.exit_code = 0;
		G.done = true;
		break;
	case MBR_ACT_MINORITY:
		printf("STOP minority\n");
		fflush(stdout);
		G.exit_code = 4;
		G.done = true;
		break;
	default:
		break;
	}
}

/* Map the local member's control block once its application created it. */
static struct dp_ctl *
attach_dataplane(int *pidfd)
{
	char path[128];
	dp_ctl_path(path, sizeof(path), G.c.group, G.c.id);
	uint64_t deadline = gb_now_ns() + ATTACH_WAIT_NS;
	for (;;) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(struct dp_ctl))) {
			close(fd); /* being created: not its full size yet (SIGBUS if mapped) */
			fd = -1;
		}
		if (fd >= 0) {
			void *p = mmap(NULL, sizeof(struct dp_ctl), PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd, 0);
			close(fd);
			struct dp_ctl *b = p == MAP_FAILED ? NULL : p;
			/* A: pairs with the release of magic when the block was filled. */
			if (b &&
			    atomic_load_explicit(&b->magic, memory_order_acquire) == DP_CTL_MAGIC) {
				if (b->version != DP_CTL_VERSION || b->my_id != G.c.id ||
				    strcmp(b->group, G.c.group) != 0 || b->joiner) {
					gb_log(&G.c.log, GB_LOG_ERR, "GALE-CONF-INVALID",
					       "%s is not a control block of version %d for member "
					       "%u of group %s with an initial view",
					       path, DP_CTL_VERSION, G.c.id, G.c.group);
					munmap(b, sizeof(*b));
					return NULL;
				}
				*pidfd = (int)syscall(SYS_pidfd_open, b->dp_pid, 0);
				if (*pidfd < 0) {
					gb_log(&G.c.log, GB_LOG_ERR, "GALE-DATAPLANE-DEAD",
					       "the dataplane's process %d is gone: %s",
					       (int)b->dp_pid, strerror(errno));
					munmap(b, sizeof(*b));
					return NULL;
				}
				return b;
			}
			if (b)
				munmap(b, sizeof(*b));
		}
		if (gb_now_ns() > deadline) {
			gb_log(&G.c.log, GB_LOG_ERR, "GALE-DATAPLANE-MISSING",
			       "no control block %s appeared in 10 s: start the application "
			       "(external_control) as member %u of group %s",
			       path, G.c.id, G.c.group);
			return NULL;
		}
		gb_sleep_ns(1000000);
	}
}

int
main(int argc, char **argv)
{
	if (galed_conf_parse(argc, argv, &G.c) != 0)
		return 2;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&G.c.listen, sizeof(G.c.listen)) != 0) {
		gb_log(&G.c.log, GB_LOG_ERR, "GALE-CONF-INVALID", "cannot bind %s:%u: %s",
		       inet_ntoa(G.c.listen.sin_addr), ntohs(G.c.listen.sin_port), strerror(errno));
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct dp_ctl *ctl = NULL;
	int pidfd = -1;
	bool safe = G.c.safe;
	uint64_t fail_timeout_ns = 500000000ull;
	if (G.c.dataplane) {
		ctl = attach_dataplane(&pidfd);
		if (!ctl)
			return 5;
		safe = ctl->mode == GALE_MODE_SAFE;
		if (G.c.mode_set && safe != G.c.safe)
			gb_log(&G.c.log, GB_LOG_WARN, "GALE-CONF-INVALID",
			       "--mode differs from the application's group: the group's is used");
		fail_timeout_ns = ctl->fail_timeout_ns;
		if (ctl->n_init != G.c.n_members) {
			gb_log(&G.c.log, GB_LOG_ERR, "GALE-CONF-INVALID",
			       "the application's initial view has %u members, the configuration "
			       "%u: they must be the same",
			       ctl->n_init, G.c.n_members);
			return 2;
		}
	}
	struct ctlrun_conf rc = { .my_id = G.c.id,
				  .group = G.c.group,
				  .safe = safe,
				  .hb_interval_ns = G.c.hb_interval_ms * 1000000ull,
				  .hb_timeout_ns = G.c.hb_timeout_ms * 1000000ull,
				  .fail_timeout_ns = fail_timeout_ns,
				  .join_timeout_ns = 10000000000ull,
				  .log = &G.c.log,
				  .on_action = on_action };
	uint32_t ids[MBR_MAX];
	struct mbr_view v = { .epoch = 1, .n = G.c.n_members };
	for (uint32_t i = 0; i < G.c.n_members; i++) {
		/* With a dataplane, its initial view's rank order is the one. */
		ids[i] = v.ids[i] = ctl ? ctl->init_ids[i] : G.c.members[i].id;
	}
	int r = ctlrun_start(&G.run, &rc, fd, ctl, G.c.join ? NULL : &v, ids, G.c.n_members);
	if (r != 0) {
		gb_log(&G.c.log, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "the membership service refused this configuration (is id %u in the "
		       "application's view?)",
		       G.c.id);
		return 2;
	}
	G.run.dp_pidfd = pidfd;
	for (uint32_t i = 0; i < G.c.n_members; i++)
		ctlrun_set_addr(&G.run, G.c.members[i].id, &G.c.members[i].sa);
	if (!G.c.join)
		print_view(&v);
	if (ctl)
		/* R: the application's join waits for this (the control side is here). */
		atomic_store_explicit(&ctl->ctl_pid, (int32_t)getpid(), memory_order_release);

	bool leaving = false;
	uint64_t leave_deadline = 0, dead_deadline = 0;
	while (!G.done) {
		ctlrun_step(&G.run, 1);
		uint64_t now = gb_now_ns();
		if (stop_requested && !leaving) {
			leaving = true;
			leave_deadline = now + 3 * G.c.hb_timeout_ms * 1000000ull;
			ctlrun_leave(&G.run);
		}
		if (leaving && now > leave_deadline) {
			printf("STOP left\n"); /* nobody confirmed in time: leave anyway */
			fflush(stdout);
			break;
		}
		if (G.run.dp_dead && !dead_deadline)
			dead_deadline = now + 3 * G.c.hb_timeout_ms * 1000000ull;
		if (dead_deadline && now > dead_deadline) {
			printf("STOP dataplane-died\n");
			fflush(stdout);
			G.exit_code = 5;
			break;
		}
	}
	ctlrun_print_stats(&G.run);
	close(fd);
	return G.exit_code;
}
