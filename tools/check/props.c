/* SPDX-License-Identifier: MIT */
/* The checks across members, run once every log has been replayed. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static struct ref *refs; /* every installed view, by epoch then member */
static size_t nrefs;
static size_t *uniq; /* index in refs of the first member's view of each epoch */
size_t nepochs;

static int
cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	return x->mi < y->mi ? -1 : x->mi > y->mi;
}

static struct view *
view_of(const struct ref *r)
{
	return &mem[r->mi].views[r->vi];
}

static struct view *
next_view(const struct ref *r)
{
	return r->vi + 1 < mem[r->mi].nviews ? &mem[r->mi].views[r->vi + 1] : NULL;
}

static size_t
group_end(size_t g)
{
	size_t e = g + 1;

	while (e < nrefs && refs[e].epoch == refs[g].epoch)
		e++;
	return e;
}

/* Call fn on every pair of members that installed the same view. */
static void
for_each_pair(void (*fn)(const struct ref *a, const struct ref *b))
{
	for (size_t g = 0, e; g < nrefs; g = e) {
		e = group_end(g);
		for (size_t a = g; a < e; a++)
			for (size_t b = a + 1; b < e; b++)
				fn(&refs[a], &refs[b]);
	}
}

/* Property 1 across members: one member list per epoch, and no epoch skipped. */
static void
check_view_agreement(void)
{
	char la[256], lb[256];

	for (size_t g = 0, e; g < nrefs; g = e) {
		const struct ref *r = &refs[g];
		const struct view *a = view_of(r), *b;

		for (e = g + 1; e < nrefs && refs[e].epoch == r->epoch; e++) {
			b = view_of(&refs[e]);
			if (b->n != a->n || memcmp(b->ids, a->ids, a->n * sizeof(*a->ids)))
				violation(PROP_VIEW_AGREEMENT, &mem[refs[e].mi], b->line,
					  "member %u installs view %llu as [%s], "
					  "but member %u installs it as [%s] (%s:%u)",
					  mem[refs[e].mi].id, b->epoch, fmt_ids(la, sizeof(la), b),
					  mem[r->mi].id, fmt_ids(lb, sizeof(lb), a),
					  mem[r->mi].path, a->line);
		}
	}
	for (size_t mi = 0; mi < nmem; mi++) {
		const struct member *m = &mem[mi];
		size_t j = 0, first;
		bool all;

		for (size_t vi = 1; vi < m->nviews; vi++) {
			const struct view *v = &m->views[vi - 1], *w = &m->views[vi];
			const struct ref *r;

			while (refs[uniq[j]].epoch <= v->epoch)
				j++;
			for (first = j, all = true; refs[uniq[j]].epoch < w->epoch; j++)
				all = all &&
				      sender_index(view_of(&refs[uniq[j]]), m->id) != NO_INDEX;
			if (j == first || !all)
				continue;
			r = &refs[uniq[first]];
			violation(PROP_VIEW_AGREEMENT, m, w->line,
				  "member %u installs view %llu (line %u) then view %llu, "
				  "skipping view %llu [%s], which includes it "
				  "(installed by member %u at %s:%u)",
				  m->id, v->epoch, v->line, w->epoch, r->epoch,
				  fmt_ids(la, sizeof(la), view_of(r)), mem[r->mi].id,
				  mem[r->mi].path, view_of(r)->line);
		}
	}
}

/*
 * Property 3. Deliveries from each sender are a gapless prefix (checked in the
 * replay) and the member lists agree (checked just before), so two members
 * delivered the same set in a view exactly when their per-sender counts match.
 */
static void
vsync_pair(const struct ref *a, const struct ref *b)
{
	const struct view *va = view_of(a), *vb = view_of(b);
	const struct view *na = next_view(a), *nb = next_view(b);
	uint32_t k = 0;
	u64 seq;

	if (!na || !nb || na->epoch != nb->epoch)
		return;
	while (k < va->n && va->cnt[k] == vb->cnt[k])
		k++;
	if (k == va->n)
		return;
	if (va->cnt[k] < vb->cnt[k]) { /* make a the one that delivered what b lacks */
		const struct ref *t = a;

		a = b;
		b = t;
	}
	seq = view_of(b)->cnt[k];
	violation(PROP_VSYNC, &mem[a->mi], find_delivery(&mem[a->mi], view_of(a), va->ids[k], seq),
		  "member %u delivers " MSG_FMT ", but member %u does not (it delivers %llu "
		  "messages from sender %u in view %llu, then installs view %llu at %s:%u); "
		  "both install view %llu next",
		  mem[a->mi].id, va->epoch, va->ids[k], seq, mem[b->mi].id, seq, va->ids[k],
		  va->epoch, na->epoch, mem[b->mi].path, next_view(b)->line, na->epoch);
}

static void
check_vsync(void)
{
	for_each_pair(vsync_pair);
}

/*
 * Property 4 across members. A member delivered (sender, seq) of view v iff
 * seq is below its count for that sender, so the messages of v that both
 * delivered are compared in one merge-like walk.
 */
static void
order_pair(const struct ref *a, const struct ref *b)
{
	const struct member *ma = &mem[a->mi], *mb = &mem[b->mi];
	const struct view *va = view_of(a), *vb = view_of(b);
	const struct dlv *x = ma->dlv + va->d_begin, *xe = ma->dlv + va->d_end;
	const struct dlv *y = mb->dlv + vb->d_begin, *ye = mb->dlv + vb->d_end;

	for (size_t pos = 1;; x++, y++, pos++) {
		while (x < xe && x->seq >= vb->cnt[x->sidx])
			x++;
		while (y < ye && y->seq >= va->cnt[y->sidx])
			y++;
		if (x == xe || y == ye)
			return;
		if (x->sidx == y->sidx && x->seq == y->seq)
			continue;
		violation(PROP_ORDER, mb, y->line,
			  "members %u and %u deliver the messages of view %llu they both deliver "
			  "in different orders: at position %zu, member %u delivers " MSG_FMT
			  ", member %u delivers " MSG_FMT " (%s:%u)",
			  ma->id, mb->id, va->epoch, pos, mb->id, va->epoch, va->ids[y->sidx],
			  y->seq, ma->id, va->epoch, va->ids[x->sidx], x->seq, ma->path, x->line);
	}
}

/*
 * FIFO order is checked in the replay. Safe delivery adds stability to total
 * order, which delivery logs cannot show beyond the order itself.
 */
static void
check_order(void)
{
	if (mode != MODE_FIFO)
		for_each_pair(order_pair);
}

/*
 * Properties 6 to 8 look at each view v and the view w that follows it: the
 * next epoch that any member installs. The refs of v are refs[uniq[j]] to
 * refs[uniq[j + 1]] - 1, w's epoch is refs[uniq[j + 1]].epoch (the sentinel
 * for the last view), and the members that install w right after v are v's
 * survivors. Member lists agree, so a sender's list index is the same in every
 * member's copy of v; and survivors delivered the same set in v (property 3).
 */
static bool
survives(const struct ref *r, u64 w)
{
	const struct view *n = next_view(r);

	return n && n->epoch == w;
}

/* The survivor of v (refs[g] to refs[e - 1]) that delivered fewest from list index k. */
static const struct ref *
fewest_survivor(size_t g, size_t e, uint32_t k)
{
	const struct ref *lo = NULL;

	for (size_t a = g; a < e; a++)
		if (survives(&refs[a], refs[e].epoch) &&
		    (!lo || view_of(&refs[a])->cnt[k] < view_of(lo)->cnt[k]))
			lo = &refs[a];
	return lo;
}

/*
 * Property 6: in safe mode, what any member delivered in v (even one that
 * then failed or stopped) every survivor of v delivered. Deliveries from a
 * sender are a gapless prefix, so comparing per-sender counts is enough.
 */
static void
check_uniformity(void)
{
	if (mode != MODE_SAFE)
		return;
	for (size_t j = 0; j + 1 < nepochs; j++) {
		size_t g = uniq[j], e = uniq[j + 1];
		const struct view *v = view_of(&refs[g]);

		for (uint32_t k = 0; k < v->n; k++) {
			const struct ref *lo = fewest_survivor(g, e, k), *hi = &refs[g];
			const struct view *vlo, *vhi;
			uint32_t line;
			u64 seq;

			if (!lo)
				break;
			for (size_t a = g + 1; a < e; a++)
				if (view_of(&refs[a])->cnt[k] > view_of(hi)->cnt[k])
					hi = &refs[a];
			vlo = view_of(lo);
			vhi = view_of(hi);
			if (vhi->cnt[k] <= vlo->cnt[k])
				continue;
			seq = vlo->cnt[k];
			line = find_delivery(&mem[hi->mi], vhi, v->ids[k], seq);
			violation(PROP_UNIFORMITY, &mem[hi->mi], line,
				  "member %u delivers " MSG_FMT ", but member %u installs "
				  "view %llu next (%s:%u) without delivering it (it delivers "
				  "%llu messages from sender %u in view %llu); in safe mode, "
				  "what any member delivers in a view, every member that "
				  "installs the next view delivers",
				  mem[hi->mi].id, v->epoch, v->ids[k], seq, mem[lo->mi].id,
				  refs[e].epoch, mem[lo->mi].path, next_view(lo)->line, seq,
				  v->ids[k], v->epoch);
		}
	}
}

/*
 * Property 7: each send in v of a survivor of v is delivered in v by every
 * survivor, or re-sent in a later view, or reported failed to the sender.
 * Only senders that logged S lines for v are checked.
 */
static void
check_lost(void)
{
	for (size_t j = 0; j + 1 < nepochs; j++) {
		size_t g = uniq[j], e = uniq[j + 1];

		for (size_t a = g; a < e; a++) {
			const struct member *m = &mem[refs[a].mi];
			const struct view *v = view_of(&refs[a]), *vlo;
			uint32_t k = sender_index(v, m->id);
			const struct stream *st;
			const struct ref *lo;

			if (k == NO_INDEX || !survives(&refs[a], refs[e].epoch) ||
			    !streams[v->stream[k]].sent)
				continue;
			st = &streams[v->stream[k]];
			lo = fewest_survivor(g, e, k);
			vlo = view_of(lo);
			for (u64 seq = vlo->cnt[k]; seq < st->n; seq++) {
				if (st->rec[seq].fate)
					continue;
				violation(PROP_LOST, m, st->rec[seq].line,
					  "member %u sends " MSG_FMT " and installs view %llu "
					  "next (line %u), but member %u installs view %llu "
					  "(%s:%u) without delivering it, and member %u "
					  "neither re-sends it (an S line ending in %llu:%llu) "
					  "nor is told it failed (F %llu %llu)",
					  m->id, v->epoch, m->id, seq, refs[e].epoch,
					  next_view(&refs[a])->line, mem[lo->mi].id, refs[e].epoch,
					  mem[lo->mi].path, next_view(lo)->line, m->id, v->epoch,
					  seq, v->epoch, seq);
			}
		}
	}
}

/*
 * Property 8: each view keeps a strict majority of the members of the view
 * before it, counting those that left it of their own accord (X ... left in
 * that view: a leaver takes part in agreeing the view without it); members
 * may join. A minority that stops logs X and nothing after it, which the
 * replay checks.
 */
static void
check_primary(void)
{
	char la[256], lb[256];

	for (size_t j = 0; j + 1 < nepochs; j++) {
		const struct ref *rv = &refs[uniq[j]], *rw = &refs[uniq[j + 1]];
		const struct view *v = view_of(rv), *w = view_of(rw);
		u64 kept = 0;

		for (uint32_t k = 0; k < v->n; k++) {
			bool in_w = sender_index(w, v->ids[k]) != NO_INDEX;
			kept += in_w;
			for (size_t i = 0; !in_w && i < nmem; i++)
				kept += mem[i].id == v->ids[k] && mem[i].left_epoch == v->epoch;
		}
		if (kept * 2 > v->n)
			continue;
		violation(PROP_PRIMARY, &mem[rw->mi], w->line,
			  "member %u installs view %llu [%s], which keeps %llu of the %u "
			  "members of view %llu [%s] (%s:%u), counting those that left it: a "
			  "view needs a majority of the view before it",
			  mem[rw->mi].id, w->epoch, fmt_ids(la, sizeof(la), w), kept, v->n,
			  v->epoch, fmt_ids(lb, sizeof(lb), v), mem[rv->mi].path, v->line);
	}
}

/*
 * The across-member part of each property, run in enum order after every log
 * has been replayed; each exits at its first violation. The order matters:
 * later checks rely on the member lists agreeing. Properties without a
 * function are fully checked line by line in the replay (on_view, on_send,
 * on_delivery in scan.c); the replay also checks what the re-send, F and X
 * lines of properties 7 and 8 refer to. A new property needs an enum entry
 * (check.h), a name (prop_names, main.c) and, if it looks across members, a
 * function here; it can use each member's views with their per-sender
 * delivery counts, the delivery order (total and safe modes), the streams
 * (every logged send, with its fate, or the first delivery of each message),
 * and refs/uniq, which sort every installed view by epoch.
 */
static void (*const prop_checks[PROP_COUNT])(void) = {
	[PROP_VIEW_AGREEMENT] = check_view_agreement,
	[PROP_VSYNC] = check_vsync,
	[PROP_ORDER] = check_order,
	[PROP_UNIFORMITY] = check_uniformity,
	[PROP_LOST] = check_lost,
	[PROP_PRIMARY] = check_primary,
};

void
index_views(void)
{
	size_t i;

	for (i = 0; i < nmem; i++)
		nrefs += mem[i].n_v;

	/* The +1 is a sentinel epoch above all others, so scans of uniq stop without a bound. */
	refs = xcalloc(nrefs + 1, sizeof(*refs));
	uniq = xcalloc(nrefs + 1, sizeof(*uniq));
	nrefs = 0;
	for (i = 0; i < nmem; i++)
		for (uint32_t vi = 0; vi < mem[i].nviews; vi++)
			refs[nrefs++] = (struct ref){ mem[i].views[vi].epoch, (uint32_t)i, vi };
	qsort(refs, nrefs, sizeof(*refs), cmp_ref);
	for (i = 0; i < nrefs; i = group_end(i))
		uniq[nepochs++] = i;
	refs[nrefs].epoch = UINT64_MAX;
	uniq[nepochs] = nrefs;
}

void
check_props(void)
{
	for (size_t i = 0; i < PROP_COUNT; i++)
		if (prop_checks[i])
			prop_checks[i]();
}
