/* SPDX-License-Identifier: MIT */
/*
 * galectl: look at and steer the members of a group on this host, through
 * their control blocks (/dev/shm/gale.<group>.ctl.<id>, dataplane/ctl.h).
 *
 *   galectl status GROUP [ID]   each member's view, epoch, leader, state, counters
 *   galectl leave GROUP ID      ask member ID to leave (it stops with status "left")
 *   galectl join GROUP ID --contact ID[,ID...] [--mode M] [--ring-bytes N] [--seconds S]
 *                               start a node that joins the running group as ID:
 *                               it receives the group's state, delivers until
 *                               SIGINT/SIGTERM or S seconds, then leaves
 *
 * Exit: 0 ok, 1 the operation failed (no such member, the join failed), 2 bad usage.
 */
#include "dataplane/ctl.h"

#include <gale/gale.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: galectl status GROUP [ID]\n"
	"       galectl leave GROUP ID\n"
	"       galectl join GROUP ID --contact ID[,ID...] [--mode safe|total|fifo]\n"
	"                    [--ring-bytes N] [--seconds S]\n"
	"status: each member's view, epoch, leader, state and counters (all members of\n"
	"  GROUP on this host, or member ID). leave: ask member ID to leave the group.\n"
	"join: start a node that joins the running group as ID (asking the --contact\n"
	"  members), receives its state, delivers until SIGINT/SIGTERM or S seconds, leaves.\n"
	"exit status: 0 ok, 1 the operation failed, 2 bad usage\n";

static int
usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "galectl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return 2;
}

static bool
parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Map a member's control block; NULL (and why, on stderr) if there is none. */
static struct dp_ctl *
map_block(const char *path, bool write)
{
	int fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "galectl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(struct dp_ctl)) {
		fprintf(stderr, "galectl: %s: not a whole control block (being created?)\n", path);
		close(fd);
		return NULL;
	}
	void *p = mmap(NULL, sizeof(struct dp_ctl), PROT_READ | (write ? PROT_WRITE : 0),
		       MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "galectl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct dp_ctl *b = p;
	if (atomic_load_explicit(&b->magic, memory_order_acquire) != DP_CTL_MAGIC ||
	    b->version != DP_CTL_VERSION) {
		fprintf(stderr, "galectl: %s: not a control block of version %d\n", path,
			DP_CTL_VERSION);
		munmap(p, sizeof(struct dp_ctl));
		return NULL;
	}
	return b;
}

struct status {
	uint64_t epoch, installs, dropped, suspects;
	uint32_t state, leader_id, n;
	uint32_t ids[GALE_MAX_MEMBERS];
};

/* A consistent copy of the control side's status (the sequence lock of ctl.h). */
static bool
read_status(struct dp_ctl *b, struct status *out)
{
	struct dp_ctl_status *s = &b->status;
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
#define R(f) atomic_load_explicit(&s->f, memory_order_acquire)
		out->epoch = R(epoch);
		out->state = R(state);
		out->leader_id = R(leader_id);
		out->n = GB_MIN(R(n), (uint32_t)GALE_MAX_MEMBERS);
		for (uint32_t k = 0; k < out->n; k++)
			out->ids[k] = R(ids[k]);
		out->installs = R(installs);
		out->dropped = R(dropped);
		out->suspects = R(suspects);
#undef R
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == s1)
			return s1 != 0;
	}
	return false;
}

static void
show(const char *path)
{
	struct dp_ctl *b = map_block(path, false);
	if (!b)
		return;
	bool alive = kill(b->dp_pid, 0) == 0 || errno == EPERM;
	printf("member %u of group %s: pid %d%s, mode %s, control %s (pid %d)\n", b->my_id,
	       b->group, (int)b->dp_pid, alive ? "" : " (gone: a stale block)",
	       gale_mode_name((enum gale_mode)b->mode),
	       atomic_load(&b->ctl_pid) == b->dp_pid ? "embedded" : "galed",
	       (int)atomic_load(&b->ctl_pid));
	struct status st;
	if (!read_status(b, &st)) {
		printf("  no view yet\n");
	} else {
		static const char *const states[] = { "running", "wedged (a view change runs)",
						      "stopped" };
		printf("  view: epoch %llu, %u members [", (unsigned long long)st.epoch, st.n);
		for (uint32_t i = 0; i < st.n; i++)
			printf("%s%u", i ? "," : "", st.ids[i]);
		printf("], leader %u, %s", st.leader_id, st.state < 3 ? states[st.state] : "?");
		if (st.suspects)
			printf(", suspects rank mask %#llx", (unsigned long long)st.suspects);
		printf("\n  membership: %llu views installed, %llu control messages dropped\n",
		       (unsigned long long)st.installs, (unsigned long long)st.dropped);
	}
	struct gale_counters c = b->counters;
	printf("  counters:\n");
#define GALECTL_COUNTER_(name, text)                                                               \
	printf("    %-16s %20llu  %s\n", #name, (unsigned long long)c.name, text);
	GALE_COUNTERS(GALECTL_COUNTER_)
#undef GALECTL_COUNTER_
	munmap(b, sizeof(*b));
}

static int
cmd_status(int argc, char **argv)
{
	if (argc < 1 || argc > 2)
		return usage("status needs GROUP [ID]%s", "");
	char path[128];
	if (argc == 2) {
		uint32_t id;
		if (!parse_u32(argv[1], &id))
			return usage("ID '%s' is invalid: valid: an integer", argv[1]);
		dp_ctl_path(path, sizeof(path), argv[0], id);
		if (access(path, F_OK) != 0) {
			fprintf(stderr, "galectl: no member %u of group %s on this host (%s)\n", id,
				argv[0], path);
			return 1;
		}
		show(path);
		return 0;
	}
	snprintf(path, sizeof(path), "/dev/shm/gale.%s.ctl.*", argv[0]);
	glob_t gl;
	if (glob(path, 0, NULL, &gl) != 0) {
		fprintf(stderr, "galectl: no member of group %s on this host\n", argv[0]);
		return 1;
	}
	for (size_t i = 0; i < gl.gl_pathc; i++)
		show(gl.gl_pathv[i]);
	globfree(&gl);
	return 0;
}

static int
cmd_leave(int argc, char **argv)
{
	uint32_t id;
	if (argc != 2)
		return usage("leave needs GROUP ID%s", "");
	if (!parse_u32(argv[1], &id))
		return usage("ID '%s' is invalid: valid: an integer", argv[1]);
	char path[128];
	dp_ctl_path(path, sizeof(path), argv[0], id);
	struct dp_ctl *b = map_block(path, true);
	if (!b)
		return 1;
	atomic_store(&b->leave_req, 1);
	printf("asked member %u of group %s (pid %d) to leave\n", id, argv[0], (int)b->dp_pid);
	munmap(b, sizeof(*b));
	return 0;
}

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_view(void *arg, const struct gale_view *v)
{
	(void)arg;
	printf("view %llu:", (unsigned long long)v->epoch);
	for (uint32_t i = 0; i < v->n_members; i++)
		printf(" %u", v->members[i].id);
	printf("\n");
	fflush(stdout);
}

static void
on_state(void *arg, const void *state, size_t len)
{
	(void)arg;
	(void)state;
	printf("state received: %zu bytes\n", len);
	fflush(stdout);
}

static int
cmd_join(int argc, char **argv)
{
	if (argc < 2)
		return usage("join needs GROUP ID --contact ID[,ID...]%s", "");
	struct gale_group_conf gc = {
		.name = argv[0], .join_running = true, .on_view = on_view, .on_state_put = on_state
	};
	if (!parse_u32(argv[1], &gc.my_id))
		return usage("ID '%s' is invalid: valid: an integer", argv[1]);
	uint32_t contacts[GALE_MAX_MEMBERS];
	double seconds = 0;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage("%s needs a value", argv[i]);
		if (strcmp(argv[i], "--contact") == 0) {
			char buf[512];
			snprintf(buf, sizeof(buf), "%s", v);
			for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
				if (gc.n_members == GALE_MAX_MEMBERS ||
				    !parse_u32(t, &contacts[gc.n_members]))
					return usage("--contact '%s' is invalid: valid: ID[,ID...]",
						     v);
				gc.n_members++;
			}
		} else if (strcmp(argv[i], "--mode") == 0) {
			if (gale_mode_parse(v, &gc.mode))
				return usage("--mode '%s' is invalid: valid: safe, total, fifo", v);
		} else if (strcmp(argv[i], "--ring-bytes") == 0) {
			char *end;
			gc.ring_bytes = strtoull(v, &end, 10);
			if (*end || !gc.ring_bytes)
				return usage("--ring-bytes '%s' is invalid", v);
		} else if (strcmp(argv[i], "--seconds") == 0) {
			char *end;
			seconds = strtod(v, &end);
			if (*end || !(seconds > 0))
				return usage("--seconds '%s' is invalid: valid: a number above 0",
					     v);
		} else {
			return usage("unknown option '%s'", argv[i]);
		}
		i++;
	}
	if (!gc.n_members)
		return usage("join needs --contact ID[,ID...]%s", "");
	gc.member_ids = contacts;
	struct gale_node_conf nc = { .idle = GALE_IDLE_BACKOFF };
	struct gale_node *node;
	int rc = gale_node_create(&nc, &node);
	if (rc) {
		fprintf(stderr, "galectl: cannot create a node: %s\n", gale_strerror(rc));
		return 1;
	}
	struct gale_group *g;
	rc = gale_group_join(node, &gc, &g);
	if (rc) {
		fprintf(stderr, "galectl: member %u could not join group %s: %s\n", gc.my_id,
			gc.name, gale_strerror(rc));
		gale_node_destroy(node);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t delivered = 0;
	struct gale_msg m[256];
	int n = 0;
	for (;;) {
		n = gale_poll(g, m, 256);
		if (n < 0)
			break;
		delivered += (uint64_t)n;
		gale_release(g, n);
		gale_node_idle(node, (unsigned)n);
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el =
			(double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (stop_requested || (seconds > 0 && el >= seconds))
			break;
	}
	struct gale_group_status st;
	gale_group_status(g, &st);
	printf("delivered %llu messages; %s\n", (unsigned long long)delivered,
	       n < 0 ? (st.status == GALE_STATUS_STOPPED_LEFT ? "stopped: left (asked to leave)"
							      : "stopped")
		     : "leaving");
	gale_node_destroy(node);
	return n < 0 && st.status != GALE_STATUS_STOPPED_LEFT ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage("a command is needed%s", "");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 2, argv + 2);
	if (strcmp(argv[1], "leave") == 0)
		return cmd_leave(argc - 2, argv + 2);
	if (strcmp(argv[1], "join") == 0)
		return cmd_join(argc - 2, argv + 2);
	return usage("unknown command '%s'", argv[1]);
}
