/* SPDX-License-Identifier: MIT */
/*
 * gale-check: verify the per-member delivery logs of one Gale run against the
 * properties of the design (numbered as there).
 *
 * Each log is read twice. The first pass validates every line, so a malformed
 * line anywhere wins over any violation, counts lines so the second pass never
 * allocates per line, and records every send (S line), so a delivery can be
 * matched with a send logged later or in another member's file. The second
 * pass replays each member's events and runs the per-line checks. The checks
 * that need all members' logs then run over what the replay recorded.
 *
 * Messages are not kept in one table keyed by (epoch, sender, seq): the replay
 * checks FIFO order before content, so what one member delivers from a sender
 * in a view is always a gapless prefix 0..n-1. One dense array per (epoch,
 * sender) indexed by seq is then enough, is smaller, and is read sequentially,
 * where a per-message hash table spent most of the run time on cache misses.
 *
 * Three rarer lines account for what a view change does to a member's sends
 * and to the member itself: an S line may name the earlier send it re-sends
 * (epoch:seq), an F line reports a send failed, and an X line says the member
 * stopped. The replay checks what they refer to and marks the send's record
 * (re-sent, failed), so property 7 needs no lookup of its own.
 *
 * The code: check.h holds the types shared by the files below; parse.c maps a
 * log and parses its lines; scan.c keeps the streams and runs both passes over
 * one member's log; props.c runs the checks across members; this file reports
 * errors and violations, finds the logs, parses the flags and runs it all.
 */
#include "check.h"

#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const mode_names[] = { "fifo", "total", "safe" };

static const char *const prop_names[PROP_COUNT] = {
	[PROP_VIEW_AGREEMENT] = "view-agreement", /* 1 */
	[PROP_SAME_VIEW] = "same-view",		  /* 2 */
	[PROP_VSYNC] = "virtual-synchrony",	  /* 3 */
	[PROP_ORDER] = "order",			  /* 4 */
	[PROP_INTEGRITY] = "integrity",		  /* 5 */
	[PROP_UNIFORMITY] = "uniformity",	  /* 6, safe mode only */
	[PROP_LOST] = "nothing-lost",		  /* 7 */
	[PROP_PRIMARY] = "primary-partition",	  /* 8 */
};

enum mode mode = MODE_FIFO;
struct member *mem;
size_t nmem;

void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("gale-check: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void
violation(enum prop p, const struct member *m, uint32_t line, const char *fmt, ...)
{
	va_list ap;

	printf("gale-check: VIOLATION %s: %s:%u: ", prop_names[p], m->path, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

void *
xrealloc(void *p, size_t n, size_t size)
{
	p = realloc(p, n ? n * size : 1);
	if (!p)
		die("out of memory");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die("out of memory");
	return p;
}

static int
cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static bool
member_id_of(const char *name, uint32_t *id)
{
	const char *p;
	u64 v = 0;

	if (strncmp(name, "member-", 7))
		return false;
	p = num(name + 7, name + strlen(name), UINT32_MAX, &v);
	*id = (uint32_t)v;
	return p && !strcmp(p, ".log");
}

static void
add_file(const char *dir, const char *name)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	struct member *m;

	if (nmem % 16 == 0)
		mem = xrealloc(mem, nmem + 16, sizeof(*mem));
	m = &mem[nmem++];
	*m = (struct member){ .path = xcalloc(len, 1) };
	snprintf(m->path, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	if (!member_id_of(base, &m->id))
		die("%s: cannot tell the member id: log files must be named member-<id>.log",
		    m->path);
}

static void
collect_files(int argc, char **argv)
{
	struct stat st;
	struct dirent *de;
	uint32_t id;
	DIR *d;

	if (argc != 1 || stat(argv[0], &st) || !S_ISDIR(st.st_mode)) {
		for (int i = 0; i < argc; i++)
			add_file(NULL, argv[i]);
		return;
	}
	d = opendir(argv[0]);
	if (!d)
		die("cannot open directory %s: %m", argv[0]);
	for (size_t n = strlen(argv[0]); n > 1 && argv[0][n - 1] == '/'; n--)
		argv[0][n - 1] = '\0';
	while ((de = readdir(d)))
		if (member_id_of(de->d_name, &id))
			add_file(argv[0], de->d_name);
	closedir(d);
	if (!nmem)
		die("no member-<id>.log files in %s", argv[0]);
}

static void
usage(FILE *f)
{
	fputs("usage: gale-check [--mode fifo|total|safe] [--expect-members N] [--quiet] DIR\n"
	      "   or: gale-check [--mode fifo|total|safe] [--expect-members N] [--quiet] FILE...\n"
	      "Check the member-<id>.log delivery logs of a Gale run (all of DIR's, or FILEs).\n"
	      "Properties (DESIGN.md section 3): 1 view-agreement, 2 same-view,\n"
	      "3 virtual-synchrony, 4 order, 5 integrity, 6 uniformity (safe mode only),\n"
	      "7 nothing-lost, 8 primary-partition.\n"
	      "Exit 0 if every property holds, 1 at the first violation, 2 on bad input.\n",
	      f);
}

/* Parse the flags; returns the expected member count, 0 for any. */
static unsigned long
parse_args(int argc, char **argv, bool *quiet)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "expect-members", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long expect = 0;
	unsigned int i;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < 3 && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == 3)
				die("invalid --mode '%s': expected fifo, total or safe", optarg);
			mode = (enum mode)i;
			break;
		case 'n':
			expect = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || !expect || expect > MAX_LOGS)
				die("invalid --expect-members '%s': want 1 to %d logs", optarg,
				    MAX_LOGS);
			break;
		case 'q':
			*quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind == argc) {
		usage(stderr);
		exit(2);
	}
	return expect;
}

int
main(int argc, char **argv)
{
	bool quiet = false;
	unsigned long expect = parse_args(argc, argv, &quiet);
	size_t n_d = 0, n_s = 0, n_r = 0, n_f = 0, n_x = 0, i;
	char more[96] = "";

	collect_files(argc - optind, argv + optind);
	qsort(mem, nmem, sizeof(*mem), cmp_member);
	for (i = 1; i < nmem; i++)
		if (mem[i].id == mem[i - 1].id)
			die("%s and %s are both logs of member %u", mem[i - 1].path, mem[i].path,
			    mem[i].id);
	if (nmem > MAX_LOGS)
		die("too many logs (%zu): at most %d", nmem, MAX_LOGS);
	if (expect && nmem != expect) {
		printf("gale-check: expected %lu member logs, found %zu\n", expect, nmem);
		return 1;
	}

	for (i = 0; i < nmem; i++) {
		map_file(&mem[i]);
		scan_syntax(&mem[i], (uint16_t)i);
		n_d += mem[i].n_d;
		n_s += mem[i].n_s;
		n_r += mem[i].n_r;
		n_f += mem[i].n_f;
		n_x += mem[i].n_x;
	}
	for (i = 0; i < nmem; i++)
		scan_events(&mem[i], (uint16_t)i);

	index_views();
	check_props();

	if (n_r || n_f || n_x)
		snprintf(more, sizeof(more), " (%zu re-sends), %zu failed sends, %zu stops", n_r,
			 n_f, n_x);
	if (!quiet)
		printf("gale-check: %zu members, %zu views, %zu deliveries, %zu sends%s: "
		       "all properties hold (mode %s)\n",
		       nmem, nepochs, n_d, n_s, more, mode_names[mode]);
	return 0;
}
