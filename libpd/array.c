#include "array.h"

struct array_state {
	const struct pd_array_walker *w;
	uint32_t per_block;
	uint64_t nr_blocks;     /* array blocks expected */
	uint64_t next_index;    /* next array-block index expected */
	struct pd_err *e;
};

static int damage(struct array_state *s, struct pd_err *d)
{
	return pd_walk_damage(s->w->damage, s->w->ctx, d, s->e);
}

/* Array blocks [first, last] were not delivered: tell the owner which entries. */
static void lost_blocks(struct array_state *s, uint64_t first, uint64_t last)
{
	uint64_t begin = first * s->per_block, end = (last + 1) * s->per_block;

	if (!s->w->lost || begin >= s->w->nr_entries)
		return;
	if (end > s->w->nr_entries)
		end = s->w->nr_entries;
	s->w->lost(s->w->ctx, begin, end - begin);
}

static int visit_block(struct array_state *s, uint64_t index, uint64_t where)
{
	const struct pd_array_walker *w = s->w;
	struct pd_array_hdr h;
	const void *data;
	struct pd_err d;
	uint32_t nr, want;
	int r;

	pd_err_clear(&d);
	if (w->refs && pd_refs_inc(w->refs, where) < 0) {
		pd_fail(&d, PD_E_RANGE, where, "array block pointer beyond the end of the space map");
		lost_blocks(s, index, index);
		return damage(s, &d);
	}
	r = pd_bm_get(w->bm, where, &pd_array_validator, &data, &d);
	if (r) {
		if (r == -PD_E_NOMEM)
			return r;
		lost_blocks(s, index, index);
		return damage(s, &d);
	}
	pd_array_hdr_decode(data, &h);
	nr = h.nr_entries;
	want = index + 1 < s->nr_blocks ? s->per_block
					: (uint32_t)(w->nr_entries - index * s->per_block);
	if (h.value_size != w->value_size) {
		pd_fail(&d, PD_E_CORRUPT, where, "array block: value_size %u, expected %u",
			h.value_size, w->value_size);
		pd_bm_put(w->bm, data);
		lost_blocks(s, index, index);
		return damage(s, &d);
	}
	if (nr != want) {
		pd_fail(&d, PD_E_CORRUPT, where, "array block %llu: nr_entries %u, expected %u",
			(unsigned long long)index, nr, want);
		pd_bm_put(w->bm, data);
		lost_blocks(s, index, index);
		return damage(s, &d);
	}
	r = w->block ? w->block(w->ctx, index * s->per_block, (const char *)data + sizeof(struct pd_disk_array_header), nr, where) : 0;
	pd_bm_put(w->bm, data);
	return r;
}

static int leaf(void *ctx, const struct pd_node *n)
{
	struct array_state *s = ctx;
	uint64_t where[256];
	struct pd_err d;
	int r;

	/* one preadv for each run of adjacent array blocks, not one read each */
	if (n->nr_entries <= 256) {
		for (uint32_t i = 0; i < n->nr_entries; i++)
			where[i] = pd_le64_at(n->values, i);
		pd_bm_prefetch(s->w->bm, where, n->nr_entries);
	}

	for (uint32_t i = 0; i < n->nr_entries; i++) {
		uint64_t index = pd_node_key(n, i);

		if (index >= s->nr_blocks) {
			pd_fail(&d, PD_E_RANGE, n->block, "array: block index %llu beyond the array's %llu blocks",
				(unsigned long long)index, (unsigned long long)s->nr_blocks);
			r = damage(s, &d);
			if (r)
				return r;
			continue;
		}
		if (index != s->next_index) {
			pd_fail(&d, PD_E_CORRUPT, n->block, "array: blocks %llu..%llu missing",
				(unsigned long long)s->next_index, (unsigned long long)index - 1);
			if (index > s->next_index)
				lost_blocks(s, s->next_index, index - 1);
			r = damage(s, &d);
			if (r)
				return r;
		}
		s->next_index = index + 1;
		r = visit_block(s, index, pd_le64_at(n->values, i));
		if (r)
			return r;
	}
	return 0;
}

static void shared(void *ctx, uint64_t lo, uint64_t hi)
{
	struct array_state *s = ctx;

	(void)lo;
	s->next_index = hi < s->nr_blocks ? hi : s->nr_blocks;
}

static int tree_damage(void *ctx, const struct pd_err *e)
{
	struct array_state *s = ctx;
	struct pd_err d = *e;

	return damage(s, &d);
}

int pd_array_walk(const struct pd_array_walker *w, uint64_t root, struct pd_err *e)
{
	struct array_state s = { .w = w, .e = e };
	struct pd_btree_walker bw = {
		.bm = w->bm, .value_size = 8, .refs = w->refs,
		.leaf = leaf, .damage = tree_damage, .shared = shared, .ctx = &s,
	};
	struct pd_err d;
	int r;

	s.per_block = pd_array_max_entries(w->value_size);
	if (!s.per_block)
		return pd_fail(e, PD_E_INVAL, root, "array: value size %u too large", w->value_size);
	s.nr_blocks = (w->nr_entries + s.per_block - 1) / s.per_block;
	r = pd_btree_walk(&bw, root, e);
	if (r)
		return r;
	if (s.next_index < s.nr_blocks) {
		pd_fail(&d, PD_E_CORRUPT, root, "array: blocks %llu..%llu missing (array of %llu entries)",
			(unsigned long long)s.next_index, (unsigned long long)s.nr_blocks - 1,
			(unsigned long long)w->nr_entries);
		lost_blocks(&s, s.next_index, s.nr_blocks - 1);
		return damage(&s, &d);
	}
	return 0;
}
