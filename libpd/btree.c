#include <string.h>
#include "btree.h"

void pd_node_decode(const void *data, uint64_t block, struct pd_node *n)
{
	const struct pd_disk_node_header *h = data;

	n->block = block;
	n->flags = le32toh(h->flags);
	n->nr_entries = le32toh(h->nr_entries);
	n->max_entries = le32toh(h->max_entries);
	n->value_size = le32toh(h->value_size);
	n->keys = (const unsigned char *)data + sizeof(*h);
	n->values = n->keys + 8ull * n->max_entries;
}

struct walk_state {
	const struct pd_btree_walker *w;
	struct pd_seen seen;
	struct pd_err *e;
};

static int report(struct walk_state *s, struct pd_err *d)
{
	return pd_walk_damage(s->w->damage, s->w->ctx, d, s->e);
}

/* Checks keys of n lie in [lo, hi) and increase strictly. */
static int check_keys(const struct pd_node *n, uint64_t lo, uint64_t hi, int has_hi, struct pd_err *d)
{
	for (uint32_t i = 0; i < n->nr_entries; i++) {
		uint64_t k = pd_node_key(n, i);

		if (k < lo || (has_hi && k >= hi))
			return pd_fail(d, PD_E_ORDER, n->block,
				       "btree node: key %llu at index %u outside its parent's range",
				       (unsigned long long)k, i);
		if (i && k <= pd_node_key(n, i - 1))
			return pd_fail(d, PD_E_ORDER, n->block,
				       "btree node: keys out of order at index %u (%llu after %llu)", i,
				       (unsigned long long)k, (unsigned long long)pd_node_key(n, i - 1));
	}
	return 0;
}

static int walk_node(struct walk_state *s, uint64_t b, unsigned depth, uint64_t lo, uint64_t hi,
		     int has_hi)
{
	const struct pd_btree_walker *w = s->w;
	struct pd_err d;
	const void *data;
	struct pd_node n;
	int r;

	pd_err_clear(&d);
	if (depth >= PD_BTREE_MAX_DEPTH) {
		pd_fail(&d, PD_E_DEPTH, b, "btree deeper than %u levels", PD_BTREE_MAX_DEPTH);
		return report(s, &d);
	}
	if (pd_seen_test_set(&s->seen, b)) {
		if (b >= s->seen.nr_blocks)
			pd_fail(&d, PD_E_RANGE, b, "btree node pointer beyond the end of the device");
		else
			pd_fail(&d, PD_E_CYCLE, b, "btree node referenced twice in one tree (cycle or shared child)");
		return report(s, &d);
	}
	if (w->refs) {
		int64_t before = pd_refs_inc(w->refs, b);
		if (before < 0) {
			/* the space map cannot describe it: damage, as in arrays */
			pd_fail(&d, PD_E_RANGE, b, "btree node pointer beyond the end of the space map");
			return report(s, &d);
		}
		if (before > 0) {
			/* shared with a tree walked earlier: counted, already checked */
			if (w->shared)
				w->shared(w->ctx, lo, has_hi ? hi : UINT64_MAX);
			return 0;
		}
	}
	r = pd_bm_get(w->bm, b, &pd_btree_validator, &data, &d);
	if (r) {
		if (r == -PD_E_NOMEM) {
			if (s->e)
				*s->e = d;
			return r;
		}
		return report(s, &d);
	}
	pd_node_decode(data, b, &n);
	if (n.flags == PD_NODE_INTERNAL ? n.value_size != 8 : n.value_size != w->value_size) {
		pd_fail(&d, PD_E_CORRUPT, b, "btree node: value_size %u, expected %u", n.value_size,
			n.flags == PD_NODE_INTERNAL ? 8u : w->value_size);
		pd_bm_put(w->bm, data);
		return report(s, &d);
	}
	if (n.flags == PD_NODE_INTERNAL && n.nr_entries == 0) {
		pd_fail(&d, PD_E_CORRUPT, b, "btree node: internal node with no entries");
		pd_bm_put(w->bm, data);
		return report(s, &d);
	}
	r = check_keys(&n, lo, hi, has_hi, &d);
	if (r) {
		pd_bm_put(w->bm, data);
		return report(s, &d);
	}
	if (n.flags == PD_NODE_LEAF) {
		r = w->leaf ? w->leaf(w->ctx, &n) : 0;
		pd_bm_put(w->bm, data);
		return r;
	}
	/* Copy the children out so the node need not stay pinned while we
	 * descend: the cache can then be small. */
	{
		uint32_t nr = n.nr_entries;
		uint64_t keys[nr + 1], kids[nr];

		for (uint32_t i = 0; i < nr; i++) {
			keys[i] = pd_node_key(&n, i);
			kids[i] = pd_le64_at(n.values, i);
		}
		pd_bm_put(w->bm, data);
		for (uint32_t i = 0; i < nr; i++) {
			int last = i + 1 == nr;
			r = walk_node(s, kids[i], depth + 1, keys[i], last ? hi : keys[i + 1],
				      last ? has_hi : 1);
			if (r)
				return r;
		}
	}
	return 0;
}

int pd_btree_walk(const struct pd_btree_walker *w, uint64_t root, struct pd_err *e)
{
	struct walk_state s = { .w = w, .e = e };
	int r = pd_seen_init(&s.seen, pd_bm_nr_blocks(w->bm), e);

	if (r)
		return r;
	r = walk_node(&s, root, 0, 0, 0, 0);
	pd_seen_free(&s.seen);
	return r;
}

int pd_btree_lookup(struct pd_bm *bm, uint64_t root, uint64_t key, uint32_t value_size,
		    void *value, struct pd_err *e)
{
	uint64_t b = root;

	for (unsigned depth = 0; depth < PD_BTREE_MAX_DEPTH; depth++) {
		const void *data;
		struct pd_node n;
		uint32_t lo = 0, hi;
		int r = pd_bm_get(bm, b, &pd_btree_validator, &data, e);

		if (r)
			return r;
		pd_node_decode(data, b, &n);
		if (n.value_size != (n.flags == PD_NODE_INTERNAL ? 8u : value_size)) {
			pd_bm_put(bm, data);
			return pd_fail(e, PD_E_CORRUPT, b, "btree node: unexpected value_size %u", n.value_size);
		}
		/* last index with key <= wanted */
		hi = n.nr_entries;
		if (!hi || pd_node_key(&n, 0) > key) {
			pd_bm_put(bm, data);
			return 0;
		}
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (pd_node_key(&n, mid) <= key)
				lo = mid;
			else
				hi = mid;
		}
		if (n.flags == PD_NODE_LEAF) {
			int found = pd_node_key(&n, lo) == key;
			if (found)
				memcpy(value, pd_node_value(&n, lo), value_size);
			pd_bm_put(bm, data);
			return found;
		}
		b = pd_le64_at(n.values, lo);
		pd_bm_put(bm, data);
	}
	return pd_fail(e, PD_E_DEPTH, b, "btree deeper than %u levels", PD_BTREE_MAX_DEPTH);
}
