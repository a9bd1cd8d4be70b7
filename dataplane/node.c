/* SPDX-License-Identifier: MIT */
/* The node: configuration, log sink, pinning and the agent thread. */
#include "group.h"

#include "base/clock.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef GALE_HAVE_HWLOC
#include <hwloc.h>
#endif

int
dp_pin_thread(struct gb_logger *log, int cpu)
{
#ifdef GALE_HAVE_HWLOC
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo) != 0)
		return -ENOMEM;
	int rc = 0;
	if (hwloc_topology_load(topo) != 0) {
		rc = -errno ? -errno : -EIO;
		gb_log(log, GB_LOG_ERR, "GALE-PIN-FAILED", "hwloc cannot load the topology");
		goto out;
	}
	hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)cpu);
	if (!pu) {
		int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
		gb_log(log, GB_LOG_ERR, "GALE-PIN-FAILED",
		       "cpu %d is not in this machine's topology: valid: 0 to %d", cpu, n - 1);
		rc = -EINVAL;
		goto out;
	}
	if (hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD) != 0) {
		rc = errno ? -errno : -EIO;
		gb_log(log, GB_LOG_ERR, "GALE-PIN-FAILED", "cannot bind to cpu %d: %s", cpu,
		       strerror(-rc));
		goto out;
	}
	gb_log(log, GB_LOG_INFO, "GALE-PIN", "thread pinned to cpu %d", cpu);
out:
	hwloc_topology_destroy(topo);
	return rc;
#else
	(void)cpu;
	gb_log(log, GB_LOG_ERR, "GALE-PIN-UNSUPPORTED",
	       "pinning asked for, but this libgale was built without hwloc (-Dhwloc=disabled "
	       "or libhwloc-dev missing)");
	return -ENOTSUP;
#endif
}

static void *
agent_main(void *arg)
{
	struct dp_node *node = arg;
	struct gb_idle idle;
	gb_idle_init(&idle, (enum gb_idle_kind)node->conf.idle, node->conf.idle_max_ns);
	if (node->conf.pin) {
		int rc = dp_pin_thread(&node->log, node->conf.cpu);
		/* R11: pairs with A11 in dp_node_create(), which refuses the node on failure. */
		atomic_store_explicit(&node->pin_result, rc ? rc : 1, memory_order_release);
		if (rc)
			return NULL;
	}
	while (!atomic_load_explicit(&node->stop, memory_order_acquire)) {
		unsigned work = 0;
		for (unsigned i = 0; i < DP_MAX_GROUPS; i++) {
			/* A6: pairs with R6 in dp_node_add_group(); the group is initialised. */
			struct dp_group *g =
				atomic_load_explicit(&node->groups[i], memory_order_acquire);
			if (g)
				work += dp_group_work(g);
		}
		/* R9: no group removed before this store is in use; pairs with A9.
		 * The fence orders it before the next pass's loads of groups[]
		 * (store then load: release/acquire alone would not). */
		atomic_fetch_add_explicit(&node->agent_passes, 1, memory_order_release);
		atomic_thread_fence(memory_order_seq_cst);
		gb_idle_step(&idle, work);
	}
	return NULL;
}

int
dp_node_create(const struct gale_node_conf *conf, struct dp_node **out)
{
	struct gale_node_conf def = { 0 };
	if (!out)
		return -EINVAL;
	if (!conf)
		conf = &def;
	struct gb_logger lg = { .fn = conf->log_fn,
				.arg = conf->log_arg,
				.level = conf->log_level ? conf->log_level : GB_LOG_WARN };
	/* GALE_LOG_LEVEL (3 err .. 7 debug) overrides the default, for debugging. */
	const char *env = getenv("GALE_LOG_LEVEL");
	if (!conf->log_level && env && env[0] >= '3' && env[0] <= '7' && !env[1])
		lg.level = env[0] - '0';
	if ((unsigned)conf->threading > GALE_THREADING_AGENT) {
		gb_log(&lg, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "threading %d is invalid: valid: GALE_THREADING_APP, GALE_THREADING_AGENT",
		       (int)conf->threading);
		return -EINVAL;
	}
	if ((unsigned)conf->idle > GALE_IDLE_YIELD) {
		gb_log(&lg, GB_LOG_ERR, "GALE-CONF-INVALID",
		       "idle %d is invalid: valid: GALE_IDLE_BACKOFF, GALE_IDLE_SPIN, "
		       "GALE_IDLE_YIELD",
		       (int)conf->idle);
		return -EINVAL;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (conf->pin && (conf->cpu < 0 || conf->cpu >= ncpu)) {
		gb_log(&lg, GB_LOG_ERR, "GALE-CONF-INVALID", "cpu %d is invalid: valid: 0 to %ld",
		       conf->cpu, ncpu - 1);
		return -EINVAL;
	}
	struct dp_node *node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	node->conf = *conf;
	node->log = lg;
	gb_idle_init(&node->app_idle, (enum gb_idle_kind)conf->idle, conf->idle_max_ns);
	pthread_mutex_init(&node->lock, NULL);
	int rc = 0;
	if (conf->pin && conf->threading == GALE_THREADING_APP)
		rc = dp_pin_thread(&node->log, conf->cpu);
	if (rc)
		goto fail;
	if (conf->threading == GALE_THREADING_AGENT) {
		rc = -pthread_create(&node->agent, NULL, agent_main, node);
		if (rc)
			goto fail;
		node->agent_running = true;
		int pin;
		/* A11: the agent pinned itself (1) or failed (-errno, logged). */
		while (conf->pin &&
		       !(pin = atomic_load_explicit(&node->pin_result, memory_order_acquire)))
			gb_sleep_ns(100000);
		if (conf->pin && pin < 0) {
			pthread_join(node->agent, NULL);
			rc = pin;
			goto fail;
		}
	}
	*out = node;
	return 0;
fail:
	pthread_mutex_destroy(&node->lock);
	free(node);
	return rc;
}

int
dp_node_add_group(struct dp_node *node, struct dp_group *g)
{
	int rc = -ENOSPC;
	pthread_mutex_lock(&node->lock);
	for (unsigned i = 0; i < DP_MAX_GROUPS; i++) {
		if (atomic_load_explicit(&node->groups[i], memory_order_relaxed) == NULL) {
			/* R6: the group is initialised; pairs with A6 in the agent. */
			atomic_store_explicit(&node->groups[i], g, memory_order_release);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&node->lock);
	if (rc)
		gb_log(&node->log, GB_LOG_ERR, "GALE-JOIN-FAILED",
		       "this node already has %d groups, the most it can serve", DP_MAX_GROUPS);
	return rc;
}

void
dp_node_remove_group(struct dp_node *node, struct dp_group *g)
{
	pthread_mutex_lock(&node->lock);
	for (unsigned i = 0; i < DP_MAX_GROUPS; i++)
		if (atomic_load_explicit(&node->groups[i], memory_order_relaxed) == g)
			atomic_store_explicit(&node->groups[i], NULL, memory_order_release);
	pthread_mutex_unlock(&node->lock);
	if (!node->agent_running)
		return;
	/* Two full agent passes after the removal: the agent no longer holds g.
	 * The fence orders the NULL store above before this load (as in the
	 * agent). A9: pairs with R9 in agent_main(). */
	atomic_thread_fence(memory_order_seq_cst);
	uint64_t p0 = atomic_load_explicit(&node->agent_passes, memory_order_acquire);
	while (atomic_load_explicit(&node->agent_passes, memory_order_acquire) < p0 + 2)
		gb_sleep_ns(10000);
}

void
dp_node_destroy(struct dp_node *node)
{
	if (!node)
		return;
	if (node->agent_running) {
		atomic_store_explicit(&node->stop, true, memory_order_release);
		pthread_join(node->agent, NULL);
	}
	pthread_mutex_destroy(&node->lock);
	free(node);
}

struct gb_logger *
dp_node_log(struct dp_node *node)
{
	return &node->log;
}

void
dp_node_idle(struct dp_node *node, unsigned work)
{
	gb_idle_step(&node->app_idle, work);
}
