#include <string.h>
#include "bitset.h"

struct load_state {
	uint64_t *words;
	uint64_t nr_words;
	int (*damage)(void *ctx, const struct pd_err *e);
	void *ctx;
};

static int load_block(void *ctx, uint64_t first, const void *values, uint32_t n, uint64_t where)
{
	struct load_state *s = ctx;
	(void)where;

	if (first + n > s->nr_words)
		n = first < s->nr_words ? (uint32_t)(s->nr_words - first) : 0;
#if __BYTE_ORDER == __LITTLE_ENDIAN
	memcpy(s->words + first, values, (size_t)n * 8);
#else
	for (uint32_t i = 0; i < n; i++)
		s->words[first + i] = pd_le64_at(values, i);
#endif
	return 0;
}

static void load_lost(void *ctx, uint64_t first, uint64_t n)
{
	struct load_state *s = ctx;

	if (first < s->nr_words)
		memset(s->words + first, 0xff, (first + n > s->nr_words ? s->nr_words - first : n) * 8);
}

static int load_damage(void *ctx, const struct pd_err *e)
{
	struct load_state *s = ctx;

	return s->damage ? s->damage(s->ctx, e) : -e->code;
}

int pd_bitset_load(struct pd_bm *bm, uint64_t root, uint64_t nr_bits, uint64_t *words,
		   struct pd_refs *refs, int (*damage)(void *ctx, const struct pd_err *e), void *ctx,
		   unsigned flags, struct pd_err *e)
{
	struct load_state s = { words, pd_bitset_words(nr_bits), damage, ctx };
	struct pd_array_walker w = {
		.bm = bm, .value_size = 8, .nr_entries = s.nr_words, .refs = refs,
		.block = load_block, .damage = damage ? load_damage : NULL,
		.lost = (flags & PD_BITSET_LOST_SET) ? load_lost : NULL, .ctx = &s,
	};

	memset(words, 0, s.nr_words * 8);
	return pd_array_walk(&w, root, e);
}
