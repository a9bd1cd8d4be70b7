/* SPDX-License-Identifier: MIT */
/* Nodes: the dataplane's node and the groups joined through it; names and errors. */
#include "api.h"

#include "base/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
gale_node_create(const struct gale_node_conf *conf, struct gale_node **out)
{
	if (!out)
		return -EINVAL;
	struct gale_node *node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	int rc = dp_node_create(conf, &node->dp);
	if (rc) {
		free(node);
		return rc;
	}
	pthread_mutex_init(&node->lock, NULL);
	*out = node;
	return 0;
}

void
gale_node_destroy(struct gale_node *node)
{
	if (!node)
		return;
	for (unsigned i = 0; i < API_MAX_GROUPS; i++) {
		pthread_mutex_lock(&node->lock);
		struct gale_group *g = node->groups[i];
		pthread_mutex_unlock(&node->lock);
		if (g)
			gale_group_leave(g);
	}
	dp_node_destroy(node->dp);
	pthread_mutex_destroy(&node->lock);
	free(node);
}

void
gale_node_counters(const struct gale_node *node, struct gale_counters *out)
{
	struct gale_node *n = (struct gale_node *)node;
	memset(out, 0, sizeof(*out));
	/* Under the lock: a group cannot be freed by gale_group_leave() meanwhile. */
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < API_MAX_GROUPS; i++) {
		if (!n->groups[i])
			continue;
		struct gale_counters c;
		dp_group_counters(n->groups[i]->dp, &c);
#define GALE_COUNTER_SUM_(name, doc) out->name += c.name;
		GALE_COUNTERS(GALE_COUNTER_SUM_)
#undef GALE_COUNTER_SUM_
	}
	pthread_mutex_unlock(&n->lock);
}

const char *
gale_strerror(int err)
{
	return gb_strerror(err);
}

int
gale_mode_parse(const char *s, enum gale_mode *out)
{
	return dp_mode_parse(s, out);
}

const char *
gale_mode_name(enum gale_mode m)
{
	return dp_mode_name(m);
}

int
gale_idle_parse(const char *s, enum gale_idle *out)
{
	return dp_idle_parse(s, out);
}

bool
gale_driver_available(const char *name)
{
	return dp_driver_available(name);
}
