/* SPDX-License-Identifier: MIT */
/*
 * The public API's objects, as the top layer composes them: a node is the
 * dataplane's node and the groups joined through it; a group is the
 * dataplane's group and its control plane (an embedded thread, or a galed
 * process serving the control block: external_control).
 */
#ifndef GALE_API_API_H
#define GALE_API_API_H

#include "dataplane/dp.h"

#include <pthread.h>

#define API_MAX_GROUPS 16 /* groups per node (the dataplane's node serves as many) */

struct ctl_embed;

struct gale_node {
	struct dp_node *dp;
	pthread_mutex_t lock; /* groups[] (join, leave, counters), never the hot path */
	struct gale_group *groups[API_MAX_GROUPS];
};

struct gale_group {
	struct dp_group *dp; /* first: the hot calls reach it with one load */
	struct gale_node *node;
	struct ctl_embed *embed; /* NULL: a galed process is the control side */
	struct dp_ctl *ctl;
};

#endif
