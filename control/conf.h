/* SPDX-License-Identifier: MIT */
/* galed's configuration: a file of `key value` lines, then flags; both validated. */
#ifndef GALE_CONTROL_CONF_H
#define GALE_CONTROL_CONF_H

#include "base/log.h"
#include "membership/mbr.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct galed_member {
	uint32_t id;
	struct sockaddr_in sa;
};

struct galed_conf {
	char group[48];
	uint32_t id;
	bool id_set;
	struct galed_member members[MBR_MAX]; /* the initial view (or, with join, contacts) */
	uint32_t n_members;
	struct sockaddr_in listen;
	bool listen_set;
	bool join;
	bool dataplane; /* attach to the local member's dataplane (its control block) */
	bool mode_set;
	bool safe;
	uint64_t hb_interval_ms;
	uint64_t hb_timeout_ms;
	struct gb_logger log;
};

/* Fill c from --config FILE (if given) and the flags. 0, or -1 after printing why. */
int galed_conf_parse(int argc, char **argv, struct galed_conf *c);

#endif
