/* SPDX-License-Identifier: MIT */
/*
 * gale-perf: fork N member processes on this host, let them multicast
 * through Gale, print what they did (throughput, latency percentiles, CPU
 * cost), optionally next to a plain shared-memory ring (--baseline).
 */
#include "perf.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_RUN_FAILED 1
#define CONT_AFTER_NS 5000000000ull /* a --stop without --cont: SIGCONT at the latest */

static void
cleanup_shm(const char *group)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "/dev/shm/gale.%s.*", group);
	glob_t gl;
	if (glob(pat, 0, NULL, &gl) == 0) {
		for (size_t i = 0; i < gl.gl_pathc; i++)
			unlink(gl.gl_pathv[i]);
		globfree(&gl);
	}
}

struct view_change {
	uint64_t epoch;
	double ms; /* from the fault (or the joiner's start) to the view installed everywhere */
	bool join;
};

struct run {
	struct perf_result res;
	int failed;	  /* members that ended otherwise than they should */
	uint64_t faulted; /* members killed or stopped (id mask) */
	bool minority;	  /* the faults took half of the members or more */
	uint32_t n_vc;
	struct view_change vc[PERF_MAX_VIEWS];
	uint64_t fault_real_ns[PERF_MAX_FAULTS];
};

/* Member processes in all: the initial ones, and the joiner of --join-at. */
static uint32_t
procs(const struct perf_opts *o)
{
	return o->members + (o->join_at_s >= 0 ? 1 : 0);
}

/* A member that was not faulted saw a view change run (its claim was held). */
static bool
wedge_seen(const struct perf_opts *o, struct perf_shared *sh, uint64_t faulted)
{
	for (uint32_t i = 0; i < procs(o); i++)
		if (!(faulted & (1ull << i)) && atomic_load(&sh->slot[i].t_wedged_ns))
			return true;
	return false;
}

/* A --stop member without its own --cont. */
static bool
auto_cont(const struct perf_opts *o, const struct perf_fault *f)
{
	for (unsigned j = 0; j < o->n_faults; j++)
		if (o->faults[j].sig == SIGCONT && o->faults[j].member == f->member)
			return false;
	return true;
}

/* Every member not faulted has installed a view without member `id` (or stopped). */
static bool
excluded_everywhere(const struct perf_opts *o, struct perf_shared *sh, uint64_t faulted,
		    uint32_t id)
{
	for (uint32_t i = 0; i < procs(o); i++) {
		if (faulted & (1ull << i) || atomic_load(&sh->slot[i].stopped))
			continue;
		if (atomic_load(&sh->slot[i].view_mask) & (1ull << id))
			return false;
	}
	return true;
}

/*
 * The view changes the faults caused: each epoch whose view drops a faulted
 * member, timed from that member's fault to the last survivor's install.
 */
static void
time_view_changes(const struct perf_opts *o, struct perf_shared *sh, struct run *run)
{
	for (uint64_t e = 2; e < 2 + PERF_MAX_VIEWS && run->n_vc < PERF_MAX_VIEWS; e++) {
		uint64_t prev = 0, mask = 0, last = 0;
		bool seen = false;
		for (uint32_t i = 0; i < procs(o); i++) {
			struct perf_slot *s = &sh->slot[i];
			uint32_t nv = atomic_load(&s->n_views);
			for (uint32_t k = 1; k < nv; k++) {
				if (s->views[k].epoch != e)
					continue;
				seen = true;
				prev = s->views[k - 1].mask;
				mask = s->views[k].mask;
				if (!(run->faulted & (1ull << i)) && s->views[k].t_ns > last)
					last = s->views[k].t_ns;
			}
		}
		if (!seen)
			continue;
		uint64_t gone = prev & ~mask & run->faulted, t_fault = 0;
		for (unsigned f = 0; f < o->n_faults; f++)
			if (o->faults[f].sig != SIGCONT && (gone & (1ull << o->faults[f].member)) &&
			    sh->t_fault_ns[f] && (!t_fault || sh->t_fault_ns[f] < t_fault))
				t_fault = sh->t_fault_ns[f];
		bool join = !gone && o->join_at_s >= 0 && (mask & ~prev & (1ull << o->members));
		if (join)
			t_fault = sh->t_join_ns;
		if ((!gone && !join) || !t_fault || last < t_fault)
			continue;
		run->vc[run->n_vc++] = (struct view_change){ .epoch = e,
							     .ms = (double)(last - t_fault) / 1e6,
							     .join = join };
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
view_change_median(const struct run *run)
{
	double v[PERF_MAX_VIEWS];
	for (uint32_t i = 0; i < run->n_vc; i++)
		v[i] = run->vc[i].ms;
	if (!run->n_vc)
		return 0;
	qsort(v, run->n_vc, sizeof(v[0]), cmp_double);
	return run->n_vc % 2 ? v[run->n_vc / 2] : (v[run->n_vc / 2 - 1] + v[run->n_vc / 2]) / 2;
}

/* --cut: run --cut-cmd for member m (%h its namespace, %m its number). */
static void
run_cut(const struct perf_opts *o, uint32_t m)
{
	char cmd[1024];
	size_t k = 0;
	const struct perf_host *h = perf_host_of(o, m);
	for (const char *s = o->cut_cmd; *s && k < sizeof(cmd) - 32; s++) {
		if (s[0] == '%' && (s[1] == 'h' || s[1] == 'm')) {
			k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "%s",
					      s[1] == 'm' ? ""
					      : h	  ? h->netns
							  : "");
			if (s[1] == 'm')
				k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "%u", m);
			s++;
			continue;
		}
		cmd[k++] = *s;
	}
	cmd[k] = 0;
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "gale-perf: --cut-cmd '%s' exited %d\n", cmd, rc);
}

/* --galed: one control-plane process per initial member, all on 127.0.0.1. */
static void
spawn_galeds(const struct perf_opts *o, const char *group, pid_t *gpids)
{
	int base = 30000 + (int)(getpid() % 20000);
	bool net = strcmp(o->driver, "shm") != 0; /* udp, dpdk: members have addresses */
	for (uint32_t i = 0; i < o->members; i++) {
		char *argv[10 + 2 * GALE_MAX_MEMBERS];
		char idb[16], mb[GALE_MAX_MEMBERS][48];
		int k = 0;
		argv[k++] = (char *)o->galed;
		argv[k++] = "--group";
		argv[k++] = (char *)group;
		argv[k++] = "--id";
		snprintf(idb, sizeof(idb), "%u", i);
		argv[k++] = idb;
		argv[k++] = "--dataplane";
		char hbb[16];
		if (o->hb_timeout_ms) {
			snprintf(hbb, sizeof(hbb), "%u", o->hb_timeout_ms);
			argv[k++] = "--hb-timeout-ms";
			argv[k++] = hbb;
		}
		for (uint32_t j = 0; j < o->members; j++) {
			/* udp, dpdk: each galed sits at its member's address, port + 1. */
			if (net) {
				const struct perf_host *h = perf_host_of(o, j);
				snprintf(mb[j], sizeof(mb[j]), "%u@%s:%u", j,
					 h ? h->ip : "127.0.0.1", o->port + 2 * j + 1);
			} else {
				snprintf(mb[j], sizeof(mb[j]), "%u@127.0.0.1:%d", j, base + (int)j);
			}
			argv[k++] = "--member";
			argv[k++] = mb[j];
		}
		argv[k] = NULL;
		gpids[i] = fork();
		if (gpids[i] == 0) {
			/* Its output goes to DIR/galed-<id>.log with --log-dir, else stdout
			 * is dropped and stderr kept. */
			char path[4096];
			int fd = -1;
			if (o->log_dir) {
				snprintf(path, sizeof(path), "%s/galed-%u.log", o->log_dir, i);
				fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			} else {
				fd = open("/dev/null", O_WRONLY);
			}
			if (fd >= 0) {
				dup2(fd, 1);
				if (o->log_dir)
					dup2(fd, 2);
				close(fd);
			}
			if (perf_enter_host(o, i) != 0) {
				perror("gale-perf: galed: setns");
				_exit(127);
			}
			execv(o->galed, argv);
			perror("gale-perf: exec galed");
			_exit(127);
		}
	}
}

/* The run is over: galeds still running leave (SIGTERM), or are killed after 2 s. */
static void
reap_galeds(const struct perf_opts *o, pid_t *gpids)
{
	for (uint32_t i = 0; i < o->members; i++)
		if (gpids[i] > 0)
			kill(gpids[i], SIGTERM);
	uint64_t deadline = perf_now_ns() + 2000000000ull;
	for (uint32_t i = 0; i < o->members; i++) {
		while (gpids[i] > 0 && waitpid(gpids[i], NULL, WNOHANG) == 0) {
			if (perf_now_ns() > deadline)
				kill(gpids[i], SIGKILL);
			usleep(1000);
		}
		gpids[i] = 0;
	}
}

static int
run_gale(const struct perf_opts *o, struct run *run)
{
	size_t bytes = sizeof(struct perf_shared);
	struct perf_shared *sh =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < GALE_MAX_MEMBERS; i++)
		atomic_store(&sh->slot[i].sent_final, UINT64_MAX);
	char group[64];
	if (o->group)
		snprintf(group, sizeof(group), "%s", o->group);
	else
		snprintf(group, sizeof(group), "perf-%d", (int)getpid());
	cleanup_shm(group);
	fflush(NULL);
	pid_t pids[GALE_MAX_MEMBERS] = { 0 };
	for (uint32_t i = 0; i < o->members; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("gale-perf: fork");
			return -errno;
		}
		if (pids[i] == 0)
			_exit(perf_member_main(o, sh, i, group) ? 3 : 0);
		atomic_store(&sh->slot[i].pid, pids[i]);
	}
	pid_t gpids[GALE_MAX_MEMBERS] = { 0 };
	if (o->galed)
		spawn_galeds(o, group, gpids);
	/* Start once everyone joined (or fail after 30 s). */
	uint64_t t_wait = perf_now_ns();
	for (;;) {
		uint32_t joined = 0;
		for (uint32_t i = 0; i < o->members; i++)
			joined += atomic_load(&sh->slot[i].joined);
		if (joined == o->members)
			break;
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p > 0 || perf_now_ns() - t_wait > 30000000000ull) {
			const char *who = "a member";
			for (uint32_t i = 0; p > 0 && i < o->members; i++)
				if (gpids[i] == p)
					who = "a member's galed";
			if (p > 0)
				fprintf(stderr,
					"gale-perf: %s (pid %d) ended before the run started (%s %d)\n",
					who, (int)p, WIFSIGNALED(st) ? "signal" : "exit status",
					WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			fprintf(stderr, "gale-perf: a member failed to join; stopping the run\n");
			atomic_store(&sh->abort_run, 1);
			for (uint32_t i = 0; i < o->members; i++) {
				kill(pids[i], SIGKILL);
				if (gpids[i] > 0)
					kill(gpids[i], SIGKILL);
			}
			while (wait(NULL) > 0)
				;
			cleanup_shm(group);
			return -ECHILD;
		}
		usleep(1000);
	}
	uint64_t t0 = perf_now_ns();
	atomic_store_explicit(&sh->t_start_ns, t0, memory_order_release);

	/* Wait for the members; fire the faults on time; give up if the run hangs. */
	double limit_s = (o->duration_s > 0 ? o->duration_s : 0) + 120;
	uint32_t left = procs(o);
	bool join_done = o->join_at_s < 0;
	bool fired[PERF_MAX_FAULTS] = { false }, resumed[PERF_MAX_FAULTS] = { false };
	memset(run, 0, sizeof(*run));
	uint32_t n_out = 0;
	for (unsigned f = 0; f < o->n_faults; f++)
		if (o->faults[f].sig != SIGCONT &&
		    !(run->faulted & (1ull << o->faults[f].member))) {
			run->faulted |= 1ull << o->faults[f].member;
			n_out++;
		}
	run->minority = 2 * n_out >= o->members;
	int exit_st[GALE_MAX_MEMBERS] = { 0 };
	while (left) {
		uint64_t now = perf_now_ns();
		bool pending = !join_done;
		if (!join_done && now - t0 >= (uint64_t)(o->join_at_s * 1e9)) {
			/* A new member joins the running group (--join-at). */
			uint32_t j = o->members;
			sh->t_join_ns = now;
			pids[j] = fork();
			if (pids[j] < 0) {
				perror("gale-perf: fork");
				pids[j] = 0;
				left--;
			} else if (pids[j] == 0) {
				_exit(perf_member_main(o, sh, j, group) ? 3 : 0);
			}
			join_done = true;
		}
		for (unsigned f = 0; f < o->n_faults; f++) {
			const struct perf_fault *ft = &o->faults[f];
			if (!fired[f] && (ft->at_wedge ? wedge_seen(o, sh, run->faulted)
						       : now - t0 >= (uint64_t)(ft->at_s * 1e9))) {
				sh->t_fault_ns[f] = perf_now_ns();
				struct timespec rt;
				clock_gettime(CLOCK_REALTIME, &rt);
				sh->t_fault_real_ns[f] =
					(uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
				if (ft->sig == PERF_CUT)
					run_cut(o, ft->member);
				else
					kill(pids[ft->member], ft->sig);
				fired[f] = true;
			}
			/* A hung member without its --cont resumes once the others
			 * excluded it: it must find itself out and stop. */
			if (fired[f] && !resumed[f] && ft->sig == SIGSTOP && auto_cont(o, ft) &&
			    (excluded_everywhere(o, sh, run->faulted, ft->member) ||
			     now > sh->t_fault_ns[f] + CONT_AFTER_NS)) {
				kill(pids[ft->member], SIGCONT);
				resumed[f] = true;
			}
			pending |= !fired[f] ||
				   (ft->sig == SIGSTOP && auto_cont(o, ft) && !resumed[f]);
		}
		if (now - t0 > (uint64_t)(limit_s * 1e9)) {
			fprintf(stderr,
				"gale-perf: the run did not end within %.0f s: killing it\n",
				limit_s);
			for (uint32_t i = 0; i < procs(o); i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
		}
		int st;
		pid_t p = waitpid(-1, &st, pending ? WNOHANG : 0);
		if (p < 0)
			break;
		if (p == 0) {
			usleep(1000);
			continue;
		}
		bool member = false;
		for (uint32_t i = 0; i < procs(o); i++)
			if (pids[i] == p) {
				exit_st[i] = st;
				member = true;
			}
		for (uint32_t i = 0; i < o->members; i++)
			if (gpids[i] == p)
				gpids[i] = 0; /* a galed ended (its member left or died) */
		if (member)
			left--;
	}
	reap_galeds(o, gpids);
	cleanup_shm(group);

	/* Collect. */
	struct perf_result *r = &run->res;
	memset(r, 0, sizeof(*r));
	uint64_t t_end = t0, msgs = 0, deliveries = 0, bytes_sent = 0;
	double cpu = 0;
	for (uint32_t i = 0; i < procs(o); i++) {
		struct perf_slot *s = &sh->slot[i];
		int st = exit_st[i];
		bool faulted = run->faulted & (1ull << i);
		const char *how = NULL; /* why this member's end is wrong */
		if (WIFSIGNALED(st)) {
			if (!(faulted && WTERMSIG(st) == SIGKILL))
				how = "died of a signal";
		} else if (s->stopped && !s->done) {
			/* A faulted member must find itself excluded (or in a minority);
			 * the rest stop only when the faults took a majority. (A member
			 * that delivered everything may stop as the others leave.) */
			bool ok = faulted ? s->stop_status == GALE_STATUS_STOPPED_EXCLUDED ||
						    s->stop_status == GALE_STATUS_STOPPED_MINORITY
					  : run->minority &&
						    s->stop_status == GALE_STATUS_STOPPED_MINORITY;
			if (!ok)
				how = "stopped";
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			how = "ended with an error";
		} else if (run->minority && !faulted) {
			how = "went on without a majority";
		}
		if (!o->json)
			printf("member %u: %s%s\n", i,
			       WIFSIGNALED(st)	      ? "killed"
			       : s->done && !s->error ? "done"
			       : s->stopped ? s->stop_status == GALE_STATUS_STOPPED_EXCLUDED
						      ? "stopped: excluded"
					      : s->stop_status == GALE_STATUS_STOPPED_MINORITY
						      ? "stopped: minority"
						      : "stopped"
			       : s->error   ? "error"
					    : "done",
			       how ? " (unexpected)" : "");
		if (how) {
			run->failed++;
			fprintf(stderr, "gale-perf: member %u (pid %d) %s: %s\n", i, (int)pids[i],
				how,
				WIFSIGNALED(st) ? strsignal(WTERMSIG(st))
						: gale_strerror(s->error));
		}
		if (i < o->senders)
			msgs += s->sent_final != UINT64_MAX ? s->sent_final : s->sent;
		if (s->t_done_ns > t_end)
			t_end = s->t_done_ns;
		/* A member that stopped (a minority after faults) delivered until
		 * then: the run lasted at least that long. One killed did not end. */
		if (!WIFSIGNALED(st) && s->stopped && s->t_stop_ns > t_end)
			t_end = s->t_stop_ns;
		deliveries += s->delivered;
		bytes_sent += s->delivered_bytes;
#define PERF_COUNTER_SUM_(name, text) r->counters.name += s->counters.name;
		GALE_COUNTERS(PERF_COUNTER_SUM_)
#undef PERF_COUNTER_SUM_
		cpu += s->cpu_s;
		ph_merge(&r->lat, &s->lat);
	}
	r->backpressure = r->counters.backpressure;
	r->naks = r->counters.naks_sent;
	r->retrans = r->counters.retrans_frames;
	r->dropped_frames = r->counters.frames_dropped;
	r->in_place = r->counters.rx_in_place;
	r->msgs = msgs;
	r->elapsed_s = (double)(t_end - t0) / 1e9;
	if (r->elapsed_s > 0 && !run->failed) {
		r->msgs_per_s = (double)msgs / r->elapsed_s;
		r->deliveries_per_s = (double)deliveries / r->elapsed_s;
		r->mb_per_s =
			deliveries ? r->msgs_per_s * ((double)bytes_sent / (double)deliveries) / 1e6
				   : 0;
	}
	r->cpu_s_per_m = msgs ? cpu / ((double)msgs / 1e6) : 0;
	time_view_changes(o, sh, run);
	memcpy(run->fault_real_ns, sh->t_fault_real_ns, sizeof(run->fault_real_ns));
	munmap(sh, bytes);
	return 0;
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
print_lat_json(const struct perf_hist *h)
{
	fflush(stdout);
	ph_print_json(stdout, h);
}

static void
print_counters_json(const struct gale_counters *c)
{
	printf(",\"counters\":{");
	const char *sep = "";
#define PERF_COUNTER_JSON_(name, text)                                                             \
	printf("%s\"" #name "\":%llu", sep, (unsigned long long)c->name);                          \
	sep = ",";
	GALE_COUNTERS(PERF_COUNTER_JSON_)
#undef PERF_COUNTER_JSON_
	printf("}");
}

static void
print_result_json(const struct perf_result *r)
{
	printf("\"msgs\":%llu,\"backpressure\":%llu,\"naks\":%llu,\"retrans\":%llu,"
	       "\"dropped_frames\":%llu,\"in_place\":%llu,\"elapsed_s\":%.6f,\"msgs_per_s\":%.1f,"
	       "\"deliveries_per_s\":%.1f,"
	       "\"mb_per_s\":%.3f,\"cpu_s_per_M\":%.4f,\"lat_us\":",
	       (unsigned long long)r->msgs, (unsigned long long)r->backpressure,
	       (unsigned long long)r->naks, (unsigned long long)r->retrans,
	       (unsigned long long)r->dropped_frames, (unsigned long long)r->in_place, r->elapsed_s,
	       r->msgs_per_s, r->deliveries_per_s, r->mb_per_s, r->cpu_s_per_m);
	print_lat_json(&r->lat);
}

static void
print_result_text(const char *name, const struct perf_result *r)
{
	printf("%-9s %12.0f msgs/s %10.1f MB/s  lat us p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max "
	       "%.2f  cpu %.3f s/M msgs\n",
	       name, r->msgs_per_s, r->mb_per_s, us(ph_quantile(&r->lat, 0.5)),
	       us(ph_quantile(&r->lat, 0.9)), us(ph_quantile(&r->lat, 0.99)),
	       us(ph_quantile(&r->lat, 0.999)), us(r->lat.max), r->cpu_s_per_m);
}

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

int
main(int argc, char **argv)
{
	struct perf_opts o;
	perf_parse_args(argc, argv, &o);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (o.idle == GALE_IDLE_SPIN && o.members > (uint32_t)ncpu && !o.json)
		fprintf(stderr,
			"gale-perf: warning: %u spinning members on %ld cores will share cores; "
			"figures will suffer (use --idle backoff)\n",
			o.members, ncpu);
	struct run run;
	int rc = run_gale(&o, &run);
	if (rc) {
		fprintf(stderr, "gale-perf: the run failed: %s\n", gale_strerror(rc));
		return EXIT_RUN_FAILED;
	}
	struct perf_result base = { 0 };
	if (o.baseline) {
		rc = strcmp(o.driver, "shm") == 0 ? perf_baseline_run(&o, &base)
						  : perf_udp_baseline_run(&o, &base);
		if (rc) {
			fprintf(stderr, "gale-perf: the baseline run failed: %s\n",
				gale_strerror(rc));
			return EXIT_RUN_FAILED;
		}
	}
	const struct perf_result *r = &run.res;
	struct {
		double msgs, p50, p99, cpu;
	} q = { ratio(r->msgs_per_s, base.msgs_per_s),
		ratio((double)ph_quantile(&r->lat, 0.5), (double)ph_quantile(&base.lat, 0.5)),
		ratio((double)ph_quantile(&r->lat, 0.99), (double)ph_quantile(&base.lat, 0.99)),
		ratio(r->cpu_s_per_m, base.cpu_s_per_m) };
	if (o.json) {
		printf("{\"members\":%u,\"senders\":%u,\"size_min\":%u,\"size_max\":%u,\"mode\":\"%"
		       "s\","
		       "\"driver\":\"%s\",\"rate\":%.1f,\"failed_members\":%d,",
		       o.members, o.senders, o.size_min, o.size_max, gale_mode_name(o.mode),
		       o.driver, o.rate, run.failed);
		if (o.n_faults || o.join_at_s >= 0) {
			printf("\"faults\":[");
			for (unsigned f = 0; f < o.n_faults; f++)
				printf("%s{\"signal\":\"%s\",\"member\":%u,\"at_s\":%g,"
				       "\"realtime_ns\":%llu}",
				       f ? "," : "",
				       o.faults[f].sig == SIGKILL   ? "kill"
				       : o.faults[f].sig == SIGSTOP ? "stop"
				       : o.faults[f].sig == SIGCONT ? "cont"
								    : "cut",
				       o.faults[f].member, o.faults[f].at_s,
				       (unsigned long long)run.fault_real_ns[f]);
			printf("],\"view_changes\":[");
			for (uint32_t i = 0; i < run.n_vc; i++)
				printf("%s{\"epoch\":%llu,\"ms\":%.3f,\"cause\":\"%s\"}",
				       i ? "," : "", (unsigned long long)run.vc[i].epoch,
				       run.vc[i].ms, run.vc[i].join ? "join" : "fault");
			printf("],\"view_change_ms\":%.3f,", view_change_median(&run));
		}
		print_result_json(r);
		print_counters_json(&r->counters);
		if (o.baseline) {
			printf(",\"baseline\":{");
			print_result_json(&base);
			printf("},\"ratio_msgs\":%.4f,\"ratio_lat_p50\":%.4f,", q.msgs, q.p50);
			printf("\"ratio_lat_p99\":%.4f,\"ratio_cpu\":%.4f", q.p99, q.cpu);
		}
		printf("}\n");
	} else {
		printf("gale-perf: %u members, %u sender(s), %s, size %u", o.members, o.senders,
		       gale_mode_name(o.mode), o.size_min);
		if (o.size_max != o.size_min)
			printf("-%u", o.size_max);
		printf(" B, driver %s, %llu msgs in %.3f s", o.driver, (unsigned long long)r->msgs,
		       r->elapsed_s);
		if (o.rate > 0)
			printf(", rate %.0f/s per sender", o.rate);
		printf("\n");
		for (uint32_t i = 0; i < run.n_vc; i++)
			printf("view change to epoch %llu: %.3f ms from the %s to the view "
			       "installed at every %s\n",
			       (unsigned long long)run.vc[i].epoch, run.vc[i].ms,
			       run.vc[i].join ? "joiner's start" : "fault",
			       run.vc[i].join ? "member" : "survivor");
		if (!run.failed)
			print_result_text("gale", r); /* with faults too: their cost is in it */
		if (strcmp(o.driver, "shm") != 0)
			printf("repair    %llu NAKs sent, %llu frames re-sent, %llu frames dropped "
			       "(duplicates, out of window, malformed); %llu messages received "
			       "in place\n",
			       (unsigned long long)r->naks, (unsigned long long)r->retrans,
			       (unsigned long long)r->dropped_frames,
			       (unsigned long long)r->in_place);
		if (!run.failed && !o.n_faults && o.rate == 0)
			printf("(no --rate: a flood; latency is mostly queueing behind a full "
			       "ring, "
			       "use --rate for latency)\n");
		if (o.baseline) {
			print_result_text(strcmp(o.driver, "shm") == 0 ? "baseline" : "udp-base",
					  &base);
			printf("ratio     %12.3f x msgs/s, latency p50 %.2f x, p99 %.2f x, cpu "
			       "%.2f x\n",
			       q.msgs, q.p50, q.p99, q.cpu);
		}
	}
	if (o.n_faults && !run.minority && !run.n_vc) {
		fprintf(stderr, "gale-perf: the faults caused no view change\n");
		return EXIT_RUN_FAILED;
	}
	if (run.failed) {
		fprintf(stderr, "gale-perf: %d member(s) failed\n", run.failed);
		return EXIT_RUN_FAILED;
	}
	return 0;
}
