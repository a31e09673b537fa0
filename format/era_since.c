#include <stdlib.h>
#include <string.h>
#include "../libpd/bitset.h"
#include "era_since.h"

struct inval {
	const struct era_invalidate_opts *o;
	struct pd_err *e;
	uint64_t *marked;
	uint32_t nr_blocks;
};

static int on_problem(void *ctx, const struct pd_err *r)
{
	struct inval *v = ctx;

	if (v->o->report)
		v->o->report(v->o->ctx, r);
	if (era_problem_info(r->problem)->severity == ERA_SEV_INFO)
		return 0;
	return era_finding_stops(r, v->e);
}

static int on_sb(void *ctx, const struct era_sb *sb)
{
	struct inval *v = ctx;

	v->nr_blocks = sb->nr_blocks;
	v->marked = calloc(pd_bitset_words(sb->nr_blocks) + 1, 8);
	return v->marked ? 0 : pd_fail(v->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
}

static int on_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct inval *v = ctx;
	uint64_t n = ws->nr_bits < v->nr_blocks ? ws->nr_bits : v->nr_blocks;
	uint64_t nw = n / 64;

	/* older writesets never come: want_writeset skips them (nothing is
	 * counted here, so the walker always asks it) */
	for (uint64_t i = 0; i < nw; i++)
		v->marked[i] |= words[i];
	if (n & 63)
		v->marked[nw] |= words[nw] & pd_bitset_last_mask(n);
	return 0;
}

static int want_writeset(void *ctx, const struct era_writeset_info *ws)
{
	return ws->era >= ((struct inval *)ctx)->o->written_since;
}

static int on_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct inval *v = ctx;
	uint32_t t = v->o->written_since;

	/* Most blocks hold only older eras: one vectorised pass rules them out. */
	if (pd_le32_max(values, n) < t)
		return 0;
	/* Build whole 64-bit words without branches, then OR them in: the
	 * partial words at both ends bit by bit, the aligned middle 64 at a time. */
	{
		const char *p = values;
		uint32_t i = 0;

		for (; i < n && ((first + i) & 63); i++)
			if (pd_le32_at(p, i) >= t)
				pd_bit_set(v->marked, first + i);
		for (; i + 64 <= n; i += 64) {
			uint64_t word = 0;

			for (unsigned j = 0; j < 64; j++)
				word |= (uint64_t)(pd_le32_at(p, i + j) >= t) << j;
			v->marked[(first + i) >> 6] |= word;
		}
		for (; i < n; i++)
			if (pd_le32_at(p, i) >= t)
				pd_bit_set(v->marked, first + i);
	}
	return 0;
}

int era_written_since(struct pd_bm *bm, const struct era_invalidate_opts *o, uint64_t **marked,
		      uint32_t *nr_blocks, struct pd_err *e)
{
	struct inval v = { .o = o, .e = e };
	struct era_visitor vis = {
		/* The era array is always read: skipping it is right only when no
		 * entry is newer than the oldest archived writeset, which kernel-made
		 * metadata keeps but this image has not been shown to (metadata an
		 * activated restore or repair wrote need not). Its per-block max
		 * pre-scan makes reading it cheap. */
		.ctx = &v, .superblock = on_sb, .writeset = on_writeset, .want_writeset = want_writeset,
		.era_block = on_era_block,
		.problem = on_problem,
	};
	struct era_walk_opts wo = { .sb_location = o->sb_location };
	int r = era_walk(bm, &wo, &vis, e);

	if (r) {
		free(v.marked);
		return r;
	}
	*marked = v.marked;
	*nr_blocks = v.nr_blocks;
	return 0;
}

int era_bit_runs(const uint64_t *words, uint64_t nr_bits,
		 int (*fn)(void *ctx, uint64_t begin, uint64_t end), void *ctx)
{
	uint64_t nw = pd_bitset_words(nr_bits), begin = 0;
	int in_run = 0, r;

	for (uint64_t i = 0; i < nw; i++) {
		uint64_t w = words[i];
		uint64_t base = i * 64;

		if (i + 1 == nw)
			w &= pd_bitset_last_mask(nr_bits);
		/* whole words of ones or zeros are common: skip them fast */
		if (in_run && w == ~0ull)
			continue;
		if (!in_run && w == 0)
			continue;
		for (unsigned b = 0; b < 64;) {
			if (in_run) {
				uint64_t zeros = ~w >> b;
				unsigned k;
				if (!zeros)
					break;
				k = (unsigned)__builtin_ctzll(zeros);
				b += k;
				if ((r = fn(ctx, begin, base + b)))
					return r;
				in_run = 0;
			} else {
				uint64_t ones = w >> b;
				unsigned k;
				if (!ones)
					break;
				k = (unsigned)__builtin_ctzll(ones);
				b += k;
				begin = base + b;
				in_run = 1;
			}
		}
	}
	if (in_run) {
		uint64_t end = nw * 64 < nr_bits ? nw * 64 : nr_bits;
		if ((r = fn(ctx, begin, end)))
			return r;
	}
	return 0;
}
