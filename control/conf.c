/* SPDX-License-Identifier: MIT */
#include "conf.h"

#include "base/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_HB_INTERVAL_MS 10
#define DEF_HB_TIMEOUT_MS 100

static const char usage_text[] =
	"usage: galed [--config FILE] [--group NAME] [--id N] [--member ID@IP:PORT]...\n"
	"             [--listen IP:PORT] [--join] [--dataplane] [--mode safe|total|fifo]\n"
	"             [--hb-interval-ms N] [--hb-timeout-ms N] [--log-level error|warn|info|debug]\n"
	"A config file holds the same keys, one `key value` per line (# comments):\n"
	"  group, id, member (repeated), listen, join (yes|no), dataplane (yes|no), mode,\n"
	"  hb_interval_ms, hb_timeout_ms, log_level. Flags come after the file and add to or\n"
	"  override it.\n"
	"--dataplane: serve the local application that joined the group as member <id> with\n"
	"  external_control set: map its control block /dev/shm/gale.<group>.ctl.<id> (waiting\n"
	"  up to 10 s for it), install every view into its dataplane, and leave the group at\n"
	"  once if its process dies. The mode is then the application's.\n";

static int __attribute__((format(printf, 2, 3))) bad(const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "galed: %s: ", where);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

static bool
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 47)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* One setting, from the file (where = "FILE:LINE") or a flag (where = "--flag"). */
static int
apply(struct galed_conf *c, const char *where, const char *key, const char *val)
{
	uint64_t v;
	if (strcmp(key, "group") == 0) {
		if (!name_ok(val))
			return bad(where, "group '%s' is invalid: valid: 1 to 47 of [A-Za-z0-9_.-]",
				   val);
		snprintf(c->group, sizeof(c->group), "%s", val);
	} else if (strcmp(key, "id") == 0) {
		if (!parse_u64(val, 0, UINT32_MAX - 1, &v))
			return bad(where, "id '%s' is invalid: valid: an integer from 0 to %u", val,
				   UINT32_MAX - 1);
		c->id = (uint32_t)v;
		c->id_set = true;
	} else if (strcmp(key, "member") == 0) {
		const char *at = strchr(val, '@');
		char idb[16];
		struct galed_member m;
		size_t n = at ? (size_t)(at - val) : 0;
		if (!at || n == 0 || n >= sizeof(idb))
			return bad(
				where,
				"member '%s' is invalid: valid: ID@IP:PORT, e.g. 2@127.0.0.1:7402",
				val);
		memcpy(idb, val, n);
		idb[n] = 0;
		if (!parse_u64(idb, 0, UINT32_MAX - 1, &v) || gb_parse_addr(at + 1, &m.sa) != 0)
			return bad(
				where,
				"member '%s' is invalid: valid: ID@IP:PORT, e.g. 2@127.0.0.1:7402",
				val);
		m.id = (uint32_t)v;
		for (uint32_t i = 0; i < c->n_members; i++)
			if (c->members[i].id == m.id)
				return bad(where, "member id %u is given twice", m.id);
		if (c->n_members == MBR_MAX)
			return bad(where, "more than %d members", MBR_MAX);
		c->members[c->n_members++] = m;
	} else if (strcmp(key, "listen") == 0) {
		if (gb_parse_addr(val, &c->listen) != 0)
			return bad(where, "listen '%s' is invalid: valid: IP:PORT", val);
		c->listen_set = true;
	} else if (strcmp(key, "join") == 0) {
		if (strcmp(val, "yes") && strcmp(val, "no"))
			return bad(where, "join '%s' is invalid: valid: yes, no", val);
		c->join = strcmp(val, "yes") == 0;
	} else if (strcmp(key, "dataplane") == 0) {
		if (strcmp(val, "yes") && strcmp(val, "no"))
			return bad(where, "dataplane '%s' is invalid: valid: yes, no", val);
		c->dataplane = strcmp(val, "yes") == 0;
	} else if (strcmp(key, "mode") == 0) {
		if (strcmp(val, "safe") && strcmp(val, "total") && strcmp(val, "fifo"))
			return bad(where, "mode '%s' is invalid: valid: safe, total, fifo", val);
		c->safe = strcmp(val, "safe") == 0;
		c->mode_set = true;
	} else if (strcmp(key, "hb_interval_ms") == 0) {
		if (!parse_u64(val, 1, 10000, &c->hb_interval_ms))
			return bad(where, "hb_interval_ms '%s' is invalid: valid: 1 to 10000", val);
	} else if (strcmp(key, "hb_timeout_ms") == 0) {
		if (!parse_u64(val, 2, 600000, &c->hb_timeout_ms))
			return bad(where, "hb_timeout_ms '%s' is invalid: valid: 2 to 600000", val);
	} else if (strcmp(key, "log_level") == 0) {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		static const int levels[] = { GB_LOG_ERR, GB_LOG_WARN, GB_LOG_INFO, GB_LOG_DEBUG };
		int i = 0;
		while (i < 4 && strcmp(val, names[i]))
			i++;
		if (i == 4)
			return bad(where,
				   "log_level '%s' is invalid: valid: error, warn, info, debug",
				   val);
		c->log.level = levels[i];
	} else {
		return bad(where, "unknown setting '%s'", key);
	}
	return 0;
}

static int
read_file(struct galed_conf *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return bad(path, "cannot read: %s", strerror(errno));
	char line[512], where[600];
	int n = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		n++;
		snprintf(where, sizeof(where), "%s:%d", path, n);
		if (!strchr(line, '\n') && !feof(f)) {
			rc = bad(where, "line longer than %zu characters", sizeof(line) - 2);
			break;
		}
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		char *key = strtok(p, " \t=\r\n");
		char *val = strtok(NULL, " \t=\r\n");
		char *extra = strtok(NULL, " \t\r\n");
		if (!key || !val || (extra && *extra != '#'))
			rc = bad(where, "expected `key value`");
		else
			rc = apply(c, where, key, val);
	}
	fclose(f);
	return rc;
}

int
galed_conf_parse(int argc, char **argv, struct galed_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->hb_interval_ms = DEF_HB_INTERVAL_MS;
	c->hb_timeout_ms = DEF_HB_TIMEOUT_MS;
	c->safe = true;
	c->log.level = GB_LOG_WARN;
	for (int i = 1; i < argc; i++) /* the file first, so flags override it */
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && read_file(c, argv[i + 1]))
			return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (strcmp(a, "--join") == 0) {
			c->join = true;
			continue;
		}
		if (strcmp(a, "--dataplane") == 0) {
			c->dataplane = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || i + 1 >= argc)
			return bad(a, "unknown option or missing value\n%s", usage_text);
		const char *val = argv[++i];
		if (strcmp(a, "--config") == 0)
			continue;
		char key[32];
		snprintf(key, sizeof(key), "%s", a + 2);
		for (char *k = key; *k; k++)
			if (*k == '-')
				*k = '_';
		if (apply(c, a, key, val))
			return -1;
	}
	if (!c->group[0])
		return bad("configuration", "no group: give --group NAME");
	if (!c->id_set)
		return bad("configuration", "no id: give --id N");
	if (c->n_members == 0)
		return bad("configuration", "no members: give --member ID@IP:PORT for each");
	if (c->hb_timeout_ms < 2 * c->hb_interval_ms)
		return bad(
			"configuration",
			"hb_timeout_ms %llu is too short for hb_interval_ms %llu: valid: at least "
			"twice the interval",
			(unsigned long long)c->hb_timeout_ms,
			(unsigned long long)c->hb_interval_ms);
	bool listed = false;
	for (uint32_t i = 0; i < c->n_members; i++)
		if (c->members[i].id == c->id) {
			listed = true;
			if (!c->listen_set)
				c->listen = c->members[i].sa;
		}
	if (c->join && listed)
		return bad("configuration", "--join with id %u, which is already a member", c->id);
	if (!c->join && !listed)
		return bad("configuration", "id %u is not among the members (or give --join)",
			   c->id);
	if (c->join && !c->listen_set)
		return bad("configuration", "a joiner needs --listen IP:PORT");
	if (c->join && c->dataplane)
		return bad("configuration", "--join with --dataplane is not supported yet: "
					    "a joining application embeds its control plane");
	return 0;
}
