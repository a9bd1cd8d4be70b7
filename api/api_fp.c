/* SPDX-License-Identifier: MIT */
/*
 * The public API's hot calls: each is the dataplane's (dataplane/dp.h), on
 * this group's dataplane. No malloc, lock or system call here.
 */
#include "api.h"

int
gale_claim(struct gale_group *g, uint32_t len, void **buf)
{
	return dp_claim(g->dp, len, buf);
}

int
gale_commit(struct gale_group *g, uint32_t len, uint64_t *seq)
{
	return dp_commit(g->dp, len, seq);
}

int
gale_claimv(struct gale_group *g, uint32_t len, void **bufs, int n)
{
	return dp_claimv(g->dp, len, bufs, n);
}

int
gale_commitv(struct gale_group *g, int k, uint64_t *first_seq)
{
	return dp_commitv(g->dp, k, first_seq);
}

int
gale_flush(struct gale_group *g)
{
	return dp_flush(g->dp);
}

int
gale_abort(struct gale_group *g)
{
	return dp_abort(g->dp);
}

int
gale_send(struct gale_group *g, const void *data, uint32_t len)
{
	return dp_send(g->dp, data, len);
}

int
gale_poll(struct gale_group *g, struct gale_msg *msgs, int max)
{
	return dp_poll(g->dp, msgs, max);
}

int
gale_release(struct gale_group *g, int n)
{
	return dp_release(g->dp, n);
}

int
gale_poll_cb(struct gale_group *g, gale_deliver_fn fn, void *arg, int max)
{
	struct gale_msg batch[64];
	int total = 0;
	while (total < max) {
		int want = max - total < 64 ? max - total : 64;
		int n = dp_poll(g->dp, batch, want);
		if (n <= 0)
			return total ? total : n;
		for (int i = 0; i < n; i++)
			fn(arg, &batch[i]);
		dp_release(g->dp, n);
		total += n;
		if (n < want)
			break;
	}
	return total;
}

void
gale_node_idle(struct gale_node *node, unsigned work)
{
	dp_node_idle(node->dp, work);
}
