/* SPDX-License-Identifier: MIT */
/* gale-perf's options: the usage text, and every flag parsed and checked (exit 2 naming the value).
 */
#include "perf.h"
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: gale-perf [options]\n"
	"  --members N           member processes, 1..64 (default 3)\n"
	"  --senders K           how many of them send, 1..N (default 1)\n"
	"  --size BYTES|MIN-MAX  message size, or a uniform random range (default 64)\n"
	"  --mode fifo|total|safe  delivery guarantee (default safe)\n"
	"  --duration SECONDS    send for this long (default 5), or\n"
	"  --count N             messages per sender\n"
	"  --rate MSGS_PER_S     per sender, open loop; 0 = as fast as possible (default 0)\n"
	"  --idle spin|yield|backoff  what an idle member does (default backoff)\n"
	"  --threading app|agent  run to completion in the app thread, or an agent thread\n"
	"  --driver shm|udp|dpdk transport (default shm); udp: kernel UDP sockets; dpdk: Ethernet\n"
	"                        frames on a DPDK port (--eal); loss is repaired by Gale (NAKs\n"
	"                        and retransmissions are printed)\n"
	"  --eal 'ARGS'          dpdk: each member's EAL arguments; %%m is replaced by the\n"
	"                        member's number, %%c by its cpu, %%r by server (member 0) or\n"
	"                        client (the others), e.g. \"--no-huge -m 128 --no-pci\n"
	"                        --no-shconf -l %%c --vdev net_memif0,role=%%r\"\n"
	"  --host NETNS@IP       udp: run the next member in network namespace NETNS with\n"
	"                        address IP (repeat, in member order; members beyond wrap\n"
	"                        around); default: every member on 127.0.0.1\n"
	"  --port N              udp: member i uses port N + 2i, and N + 2i + 1 for its\n"
	"                        control plane (default: from the process id, 30000-55000)\n"
	"  --mcast A.B.C.D:PORT  udp: send to this IP multicast group instead of to each member\n"
	"  --mtu BYTES           udp: largest frame, 256..65507 (default 1472)\n"
	"  --rx-copybreak BYTES  dpdk: messages this long or longer, received whole in one\n"
	"                        frame, are delivered in place from the mbuf (default 256;\n"
	"                        at least 48: 1 counts as 48; 16777216: none)\n"
	"  --cut MEMBER@SECONDS  cut a member off the network then, by running --cut-cmd; the\n"
	"                        others must exclude it and go on, it must stop\n"
	"  --cut-cmd CMD         shell command for --cut: %%h is replaced by the member's\n"
	"                        --host namespace, %%m by its number (e.g. the lab's\n"
	"                        'ip -n SWITCH link set sw%%m down')\n"
	"  --ring-bytes N        send ring per member, power of two (default 16777216)\n"
	"  --no-self             fifo: members do not deliver their own messages\n"
	"                        (gale_group_conf.no_self_delivery)\n"
	"  --no-pin              do not pin members to cores (default: member i on cpu i %% ncpu)\n"
	"  --kill MEMBER@SECONDS SIGKILL a member at that time into the run; the others install\n"
	"                        a view without it and go on (repeat: up to 8 faults in all)\n"
	"  --kill MEMBER@wedge   SIGKILL it as soon as another member's send is held by a view\n"
	"                        change (-GALE_EWEDGED): a kill during a view change\n"
	"  --stop MEMBER@SECONDS SIGSTOP a member (a hang): the others exclude it; it gets\n"
	"                        SIGCONT once they did (or 5 s later), and must stop\n"
	"  --cont MEMBER@SECONDS SIGCONT a stopped member at that time instead\n"
	"  --join-at SECONDS     start one more member (id = --members) that joins the running\n"
	"                        group then, gets its state, and delivers with the others\n"
	"  --group NAME          the group's name (default perf-<pid>)\n"
	"  --log-dir DIR         write DIR/member-<id>.log delivery logs\n"
	"  --seed N              random sizes seed (default 1)\n"
	"  --hb-timeout MS       a member unheard this long is suspected (default 100; the\n"
	"                        embedded control plane or each galed)\n"
	"  --json                print one JSON object instead of text\n"
	"  --drivers             list the drivers this build has, and exit\n"
	"  --baseline            also run the reference and print ratios: shm, a plain SPSC\n"
	"                        shared-memory ring; udp, the same messages as plain kernel\n"
	"                        UDP datagrams (sendmmsg/recvmmsg) between the same hosts\n"
	"  --galed PATH          control plane in separate processes: one `PATH --dataplane`\n"
	"                        per member (UDP on 127.0.0.1), instead of embedded threads\n"
	"Each view change is timed from the fault to the new view installed at every\n"
	"survivor (text: one line each; --json: view_changes, view_change_ms = median).\n"
	"If the faults take away half of the members or more, the rest must stop as a\n"
	"minority.\n"
	"exit status: 0 ok, 1 the run failed (a member failed or an error), 2 bad usage\n";

static void parse_host(struct perf_opts *o, const char *s);

#define MAX_SIZE (16u << 20)

static void
parse_size(struct perf_opts *o, const char *s)
{
	const char *dash = strchr(s, '-');
	if (dash && dash != s) {
		char lo[32];
		size_t n = (size_t)(dash - s);
		if (n >= sizeof(lo))
			cli_usage_error("--size '%s' is invalid: valid: BYTES or MIN-MAX", s);
		memcpy(lo, s, n);
		lo[n] = 0;
		o->size_min = (uint32_t)cli_u64("--size MIN", lo, 1, MAX_SIZE);
		o->size_max = (uint32_t)cli_u64("--size MAX", dash + 1, 1, MAX_SIZE);
		if (o->size_min > o->size_max)
			cli_usage_error("--size '%s' is invalid: MIN is larger than MAX", s);
	} else {
		o->size_min = o->size_max = (uint32_t)cli_u64("--size", s, 1, MAX_SIZE);
	}
}

/* MEMBER@SECONDS of --kill, --stop and --cont. */
static void
parse_fault(struct perf_opts *o, const char *flag, const char *arg, int sig)
{
	if (o->n_faults == PERF_MAX_FAULTS)
		cli_usage_error("%s: at most %d --kill, --stop, --cont and --cut in all", flag,
				PERF_MAX_FAULTS);
	struct perf_fault *f = &o->faults[o->n_faults++];
	f->sig = sig;
	const char *at = strchr(arg, '@');
	char idbuf[16];
	size_t n = at ? (size_t)(at - arg) : 0;
	if (!at || n == 0 || n >= sizeof(idbuf))
		cli_usage_error("%s '%s' is invalid: valid: MEMBER@SECONDS, e.g. 2@1.5", flag, arg);
	memcpy(idbuf, arg, n);
	idbuf[n] = 0;
	char what[32];
	snprintf(what, sizeof(what), "%s MEMBER", flag);
	f->member = (uint32_t)cli_u64(what, idbuf, 0, GALE_MAX_MEMBERS - 1);
	snprintf(what, sizeof(what), "%s SECONDS", flag);
	if (strcmp(at + 1, "wedge") == 0 && sig == SIGKILL)
		f->at_wedge = true; /* as soon as a view change is seen (the time is then) */
	else
		f->at_s = cli_double(what, at + 1, 0, 86400);
}

void
perf_parse_args(int argc, char **argv, struct perf_opts *o)
{
	enum {
		O_MEMBERS = 256,
		O_SENDERS,
		O_SIZE,
		O_MODE,
		O_DURATION,
		O_COUNT,
		O_RATE,
		O_IDLE,
		O_THREADING,
		O_DRIVER,
		O_RING,
		O_NOPIN,
		O_KILL,
		O_STOP,
		O_CONT,
		O_JOINAT,
		O_LOGDIR,
		O_SEED,
		O_JSON,
		O_BASELINE,
		O_GALED,
		O_HOST,
		O_CUT,
		O_CUTCMD,
		O_GROUP,
		O_EAL,
		O_DRIVERS,
		O_PORT,
		O_MCAST,
		O_MTU,
		O_HBTIMEOUT,
		O_COPYBREAK,
		O_NOSELF,
		O_HELP
	};
	static const struct option opts[] = {
		{ "members", required_argument, 0, O_MEMBERS },
		{ "senders", required_argument, 0, O_SENDERS },
		{ "size", required_argument, 0, O_SIZE },
		{ "mode", required_argument, 0, O_MODE },
		{ "duration", required_argument, 0, O_DURATION },
		{ "count", required_argument, 0, O_COUNT },
		{ "rate", required_argument, 0, O_RATE },
		{ "idle", required_argument, 0, O_IDLE },
		{ "threading", required_argument, 0, O_THREADING },
		{ "driver", required_argument, 0, O_DRIVER },
		{ "ring-bytes", required_argument, 0, O_RING },
		{ "no-pin", no_argument, 0, O_NOPIN },
		{ "kill", required_argument, 0, O_KILL },
		{ "stop", required_argument, 0, O_STOP },
		{ "cont", required_argument, 0, O_CONT },
		{ "join-at", required_argument, 0, O_JOINAT },
		{ "log-dir", required_argument, 0, O_LOGDIR },
		{ "seed", required_argument, 0, O_SEED },
		{ "json", no_argument, 0, O_JSON },
		{ "baseline", no_argument, 0, O_BASELINE },
		{ "galed", required_argument, 0, O_GALED },
		{ "host", required_argument, 0, O_HOST },
		{ "cut", required_argument, 0, O_CUT },
		{ "cut-cmd", required_argument, 0, O_CUTCMD },
		{ "group", required_argument, 0, O_GROUP },
		{ "eal", required_argument, 0, O_EAL },
		{ "drivers", no_argument, 0, O_DRIVERS },
		{ "port", required_argument, 0, O_PORT },
		{ "mcast", required_argument, 0, O_MCAST },
		{ "mtu", required_argument, 0, O_MTU },
		{ "hb-timeout", required_argument, 0, O_HBTIMEOUT },
		{ "rx-copybreak", required_argument, 0, O_COPYBREAK },
		{ "no-self", no_argument, 0, O_NOSELF },
		{ "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 },
	};
	*o = (struct perf_opts){ .members = 3,
				 .senders = 1,
				 .size_min = 64,
				 .size_max = 64,
				 .mode = GALE_MODE_SAFE,
				 .idle = GALE_IDLE_BACKOFF,
				 .threading = GALE_THREADING_APP,
				 .driver = "shm",
				 .pin = true,
				 .join_at_s = -1,
				 .seed = 1 };
	cli_init("gale-perf", "lists every option");
	bool senders_set = false;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_MEMBERS:
			o->members = (uint32_t)cli_u64("--members", optarg, 1, GALE_MAX_MEMBERS);
			break;
		case O_SENDERS:
			o->senders = (uint32_t)cli_u64("--senders", optarg, 1, GALE_MAX_MEMBERS);
			senders_set = true;
			break;
		case O_SIZE:
			parse_size(o, optarg);
			break;
		case O_MODE:
			if (gale_mode_parse(optarg, &o->mode))
				cli_usage_error("--mode '%s' is invalid: valid: fifo, total, safe",
						optarg);
			break;
		case O_DURATION:
			o->duration_s = cli_double("--duration", optarg, 0.001, 86400);
			break;
		case O_COUNT:
			o->count = cli_u64("--count", optarg, 1, 1ull << 40);
			break;
		case O_RATE:
			o->rate = cli_double("--rate", optarg, 0, 1e9);
			break;
		case O_IDLE:
			if (gale_idle_parse(optarg, &o->idle))
				cli_usage_error(
					"--idle '%s' is invalid: valid: spin, yield, backoff",
					optarg);
			o->idle_set = true;
			break;
		case O_THREADING:
			if (strcmp(optarg, "app") == 0)
				o->threading = GALE_THREADING_APP;
			else if (strcmp(optarg, "agent") == 0)
				o->threading = GALE_THREADING_AGENT;
			else
				cli_usage_error("--threading '%s' is invalid: valid: app, agent",
						optarg);
			break;
		case O_DRIVER:
			if (strcmp(optarg, "shm") != 0 && strcmp(optarg, "udp") != 0 &&
			    strcmp(optarg, "dpdk") != 0)
				cli_usage_error("--driver '%s' is invalid: valid: shm, udp, dpdk",
						optarg);
			if (!gale_driver_available(optarg))
				cli_usage_error(
					"--driver %s is not in this build (see meson setup's summary)",
					optarg);
			o->driver = optarg;
			break;
		case O_HOST:
			parse_host(o, optarg);
			break;
		case O_PORT:
			o->port = (uint32_t)cli_u64("--port", optarg, 1024, 65535 - 130);
			break;
		case O_MCAST: {
			struct in_addr a;
			char ip[16];
			const char *colon = strchr(optarg, ':');
			if (!colon || (size_t)(colon - optarg) >= sizeof(ip))
				cli_usage_error("--mcast '%s' is invalid: valid: A.B.C.D:PORT",
						optarg);
			memcpy(ip, optarg, (size_t)(colon - optarg));
			ip[colon - optarg] = 0;
			if (inet_pton(AF_INET, ip, &a) != 1 || (ntohl(a.s_addr) >> 28) != 14)
				cli_usage_error("--mcast '%s' is invalid: valid: a multicast group "
						"224.0.0.0-239.255.255.255 and :PORT",
						optarg);
			cli_u64("--mcast PORT", colon + 1, 1, 65535);
			o->mcast = optarg;
			break;
		}
		case O_EAL:
			o->eal = optarg;
			break;
		case O_MTU:
			o->mtu = (uint32_t)cli_u64("--mtu", optarg, 256, 65507);
			break;
		case O_RING: {
			uint64_t v = cli_u64("--ring-bytes", optarg, 65536, 1ull << 30);
			if (v & (v - 1))
				cli_usage_error(
					"--ring-bytes '%s' is invalid: valid: a power of two "
					"from 65536 to 1073741824",
					optarg);
			o->ring_bytes = v;
			break;
		}
		case O_NOPIN:
			o->pin = false;
			break;
		case O_KILL:
			parse_fault(o, "--kill", optarg, SIGKILL);
			break;
		case O_STOP:
			parse_fault(o, "--stop", optarg, SIGSTOP);
			break;
		case O_CONT:
			parse_fault(o, "--cont", optarg, SIGCONT);
			break;
		case O_CUT:
			parse_fault(o, "--cut", optarg, PERF_CUT);
			break;
		case O_CUTCMD:
			o->cut_cmd = optarg;
			break;
		case O_GROUP: {
			size_t n = strlen(optarg);
			if (n < 1 || n > 40 ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
					   "QRSTUVWXYZ0123456789_.-") != n)
				cli_usage_error("--group '%s' is invalid: valid: 1 to 40 of "
						"[A-Za-z0-9_.-]",
						optarg);
			o->group = optarg;
			break;
		}
		case O_JOINAT:
			o->join_at_s = cli_double("--join-at", optarg, 0, 86400);
			break;
		case O_LOGDIR:
			o->log_dir = optarg;
			break;
		case O_NOSELF:
			o->no_self = true;
			break;
		case O_COPYBREAK:
			o->copybreak = (uint32_t)cli_u64("--rx-copybreak", optarg, 1, 1u << 24);
			break;
		case O_HBTIMEOUT:
			o->hb_timeout_ms = (uint32_t)cli_u64("--hb-timeout", optarg, 2, 600000);
			break;
		case O_SEED:
			o->seed = cli_u64("--seed", optarg, 0, UINT64_MAX);
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_GALED:
			if (access(optarg, X_OK) != 0)
				cli_usage_error("--galed '%s' is invalid: not an executable file",
						optarg);
			o->galed = optarg;
			break;
		case O_BASELINE:
			o->baseline = true;
			break;
		case O_DRIVERS:
			for (const char *const *n =
				     (const char *const[]){ "shm", "udp", "dpdk", NULL };
			     *n; n++)
				if (gale_driver_available(*n))
					printf("%s\n", *n);
			exit(0);
		case 'h':
		case O_HELP:
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			cli_usage_error("%s needs a value", argv[optind - 1]);
		default:
			cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->join_at_s >= 0 && o->members >= GALE_MAX_MEMBERS)
		cli_usage_error("--join-at needs room for one more member: --members at most %d",
				GALE_MAX_MEMBERS - 1);
	if (o->senders > o->members)
		cli_usage_error("--senders %u is invalid with --members %u: valid: 1 to %u",
				o->senders, o->members, o->members);
	(void)senders_set;
	if (o->duration_s > 0 && o->count)
		cli_usage_error("--duration and --count exclude each other: give one");
	if (!o->duration_s && !o->count)
		o->duration_s = 5;
	for (unsigned i = 0; i < o->n_faults; i++) {
		const struct perf_fault *f = &o->faults[i];
		const char *name = f->sig == SIGKILL ? "kill" : f->sig == SIGSTOP ? "stop" : "cont";
		if (f->member >= o->members)
			cli_usage_error("--%s member %u is invalid: valid: 0 to %u", name,
					f->member, o->members - 1);
		bool stopped = false;
		for (unsigned j = 0; j < i; j++)
			stopped |= o->faults[j].member == f->member &&
				   o->faults[j].sig == SIGSTOP && o->faults[j].at_s <= f->at_s;
		if (f->sig == SIGCONT && !stopped)
			cli_usage_error("--cont %u@%g: no earlier --stop of member %u", f->member,
					f->at_s, f->member);
	}
	uint64_t ring = o->ring_bytes ? o->ring_bytes : 16u << 20;
	if (o->size_max > ring / 4)
		cli_usage_error("--size %u is larger than the largest message of a %llu-byte ring "
				"(%llu): give a larger --ring-bytes",
				o->size_max, (unsigned long long)ring,
				(unsigned long long)(ring / 4));
	bool udp = strcmp(o->driver, "udp") == 0 || strcmp(o->driver, "dpdk") == 0;
	if ((strcmp(o->driver, "dpdk") == 0) != (o->eal != NULL))
		cli_usage_error("--eal goes with --driver dpdk, and --driver dpdk needs --eal");
	bool cuts = false;
	for (unsigned i = 0; i < o->n_faults; i++)
		cuts |= o->faults[i].sig == PERF_CUT;
	if (cuts != (o->cut_cmd != NULL))
		cli_usage_error("--cut and --cut-cmd go together");
	if (!udp && (o->n_hosts || o->port || o->mcast || o->mtu))
		cli_usage_error("--host, --port, --mcast and --mtu are for --driver udp or dpdk");
	if (o->no_self && o->mode != GALE_MODE_FIFO)
		cli_usage_error("--no-self is for --mode fifo");
	if (o->no_self && o->log_dir)
		cli_usage_error("--no-self and --log-dir do not go together: the checker wants "
				"every member to deliver its own messages");
	if (o->copybreak && strcmp(o->driver, "dpdk") != 0)
		cli_usage_error("--rx-copybreak is for --driver dpdk");
	if (udp && o->join_at_s >= 0)
		cli_usage_error("--join-at is not supported with --driver %s yet", o->driver);
	if (!o->port)
		o->port = 30000 + (uint32_t)(getpid() % 195) * 128;
	for (uint32_t i = 0; i <= o->members && i < GALE_MAX_MEMBERS + 1; i++) {
		const struct perf_host *h = perf_host_of(o, i);
		snprintf(o->addr[i], sizeof(o->addr[i]), "%s:%u", h ? h->ip : "127.0.0.1",
			 o->port + 2 * i);
	}
	if (o->log_dir) {
		struct stat st;
		if (stat(o->log_dir, &st) != 0 && mkdir(o->log_dir, 0755) != 0)
			cli_usage_error("--log-dir '%s' cannot be created: %s", o->log_dir,
					strerror(errno));
		if (stat(o->log_dir, &st) == 0 && !S_ISDIR(st.st_mode))
			cli_usage_error("--log-dir '%s' is not a directory", o->log_dir);
	}
}

/* --host NETNS@IP: a lab host (a network namespace) and the member's address there. */
static void
parse_host(struct perf_opts *o, const char *s)
{
	const char *at = strchr(s, '@');
	struct in_addr a;
	if (o->n_hosts == GALE_MAX_MEMBERS)
		cli_usage_error("--host: at most %d", GALE_MAX_MEMBERS);
	struct perf_host *h = &o->hosts[o->n_hosts];
	if (!at || (size_t)(at - s) >= sizeof(h->netns) || strlen(at + 1) >= sizeof(h->ip) ||
	    inet_pton(AF_INET, at + 1, &a) != 1 || strchr(s, '/'))
		cli_usage_error("--host '%s' is invalid: valid: NETNS@A.B.C.D (NETNS may be empty "
				"for this namespace)",
				s);
	memcpy(h->netns, s, (size_t)(at - s));
	h->netns[at - s] = 0;
	snprintf(h->ip, sizeof(h->ip), "%s", at + 1);
	if (h->netns[0]) {
		char path[128];
		snprintf(path, sizeof(path), "/run/netns/%s", h->netns);
		if (access(path, F_OK) != 0)
			cli_usage_error("--host '%s': network namespace '%s' does not exist (%s)",
					s, h->netns, path);
	}
	o->n_hosts++;
}

const struct perf_host *
perf_host_of(const struct perf_opts *o, uint32_t i)
{
	return o->n_hosts ? &o->hosts[i % o->n_hosts] : NULL;
}

int
perf_enter_host(const struct perf_opts *o, uint32_t i)
{
	const struct perf_host *h = perf_host_of(o, i);
	if (!h || !h->netns[0])
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "/run/netns/%s", h->netns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}
