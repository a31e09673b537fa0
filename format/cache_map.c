#include "../libpd/array.h"
#include "cache_map.h"

struct map_walk {
	cache_mapping_fn fn;
	void *ctx;
	uint64_t next;          /* entries seen so far: all must be, in order */
	struct pd_err *e;
};

static int on_block(void *ctx, uint64_t first, const void *values, uint32_t n, uint64_t where)
{
	struct map_walk *m = ctx;
	const char *p = values;
	int r;

	if (first != m->next)
		return pd_fail(m->e, PD_E_CORRUPT, where, "cache mapping array: entries %llu.. where %llu expected",
			       (unsigned long long)first, (unsigned long long)m->next);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = pd_le64_at(p, i);

		if (!(v & CACHE_MAP_VALID))
			continue;
		r = m->fn(m->ctx, (uint32_t)(first + i), v >> CACHE_MAP_FLAG_BITS,
			  (uint32_t)(v & ((1u << CACHE_MAP_FLAG_BITS) - 1)));
		if (r)
			return r;
	}
	m->next = first + n;
	return 0;
}

int cache_map_walk(struct pd_bm *bm, const struct cache_sb *sb, cache_mapping_fn fn, void *ctx,
		   struct pd_err *e)
{
	struct map_walk m = { .fn = fn, .ctx = ctx, .e = e };
	/* No damage callback: the array walker stops at the first damage. */
	struct pd_array_walker w = {
		.bm = bm, .value_size = 8, .nr_entries = sb->cache_blocks,
		.block = on_block, .ctx = &m,
	};
	int r = pd_array_walk(&w, sb->mapping_root, e);

	if (r)
		return r;
	if (m.next != sb->cache_blocks)
		return pd_fail(e, PD_E_CORRUPT, sb->mapping_root,
			       "cache mapping array: %llu of %u entries present",
			       (unsigned long long)m.next, sb->cache_blocks);
	return 0;
}
