#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "era_repair.h"
#include "era_walk.h"
#include "../libpd/bitset.h"

struct rctx {
	struct era_builder *b;
	const struct era_repair_opts *o;
	struct era_repair_result *res;
	struct era_sb sb;
	int writesets_lost;       /* the writeset tree could not be read whole */
	int bitset_damaged;       /* the writeset being read had damage */
	struct pd_err *e;
};

static void report(struct rctx *c, const struct era_report *r)
{
	c->res->nr_problems++;
	if (c->o->report)
		c->o->report(c->o->ctx, r);
}

static int v_superblock(void *ctx, const struct era_sb *sb)
{
	struct rctx *c = ctx;
	struct era_build_params p;

	c->sb = *sb;
	memset(&p, 0, sizeof(p));
	p.data_block_size = sb->data_block_size;
	p.nr_blocks = sb->nr_blocks;
	p.current_era = sb->current_era;
	p.flags = 1;
	p.options = ERA_BUILD_ALLOW_GAPS | ERA_BUILD_MERGE_DUP | ERA_BUILD_CLAMP_ERAS;
	p.gap_era = sb->current_era;
	return era_build_begin(c->b, &p, c->e);
}

static int v_problem(void *ctx, const struct era_report *r);

static int v_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct rctx *c = ctx;
	int r;

	if (ws->era > c->sb.current_era) {
		struct era_report rep = { .id = ERA_P_WS_ERA_FUTURE, .block = ws->root };
		snprintf(rep.detail, sizeof(rep.detail), "writeset for era %u dropped: newer than the current era %u",
			 ws->era, c->sb.current_era);
		return v_problem(c, &rep);
	}
	if (c->bitset_damaged && ws->nr_bits < c->sb.nr_blocks) {
		/* Its size may be what was damaged: every block past the bits it
		 * still has may have been written in its era too. */
		uint64_t nw = pd_bitset_words(c->sb.nr_blocks), old = pd_bitset_words(ws->nr_bits);
		uint64_t *all = malloc(nw * 8);

		if (!all)
			return pd_fail(c->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
		memcpy(all, words, old * 8);
		memset(all + old, 0xff, (nw - old) * 8);
		if (ws->nr_bits & 63)
			all[old - 1] |= ~0ull << (ws->nr_bits & 63);
		c->bitset_damaged = 0;
		r = era_build_writeset_begin(c->b, ws->era, c->sb.nr_blocks, c->e);
		if (!r)
			r = era_build_writeset_words(c->b, all, c->e);
		free(all);
	} else {
		c->bitset_damaged = 0;
		r = era_build_writeset_begin(c->b, ws->era, ws->nr_bits, c->e);
		if (!r)
			r = era_build_writeset_words(c->b, words, c->e);
	}
	if (!r)
		r = era_build_writeset_end(c->b, c->e);
	return r;
}

static int v_ea_begin(void *ctx, uint32_t nr_blocks)
{
	struct rctx *c = ctx;
	(void)nr_blocks;
	return era_build_era_array_begin(c->b, c->e);
}

static int v_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct rctx *c = ctx;
	uint64_t nr = c->sb.nr_blocks;

	/* entries past nr_blocks (a damaged count) are not the device's */
	if (first >= nr)
		return 0;
	if (first + n > nr)
		n = (uint32_t)(nr - first);
	if (c->writesets_lost) {
		/* Writesets that could not be read held the newest writes, of
		 * blocks nobody can name now: every block may have been written
		 * in the current era. */
		for (uint32_t i = 0; i < n; i++) {
			int r = era_build_era(c->b, (uint32_t)(first + i), c->sb.current_era, c->e);
			if (r)
				return r;
		}
		return 0;
	}
	return era_build_eras_le(c->b, first, values, n, c->e);
}

static int v_ea_end(void *ctx)
{
	struct rctx *c = ctx;
	return era_build_era_array_end(c->b, c->e);
}

static int v_problem(void *ctx, const struct era_report *r)
{
	struct rctx *c = ctx;

	report(c, r);
	if (r->id == ERA_P_WS_BITSET)
		c->bitset_damaged = 1;
	if ((r->id == ERA_P_WS_TREE || r->id == ERA_P_WS_TOO_LARGE || r->id == ERA_P_WS_ERA_FUTURE) &&
	    !c->writesets_lost) {
		struct era_report rep = { .id = ERA_P_WS_TREE, .block = PD_NO_BLOCK };
		snprintf(rep.detail, sizeof(rep.detail),
			 "writesets lost: every block is given the current era %u so no write is missed",
			 c->sb.current_era);
		c->writesets_lost = 1;
		report(c, &rep);
	}
	/* an unusable superblock stops the walk by itself; everything else is skipped */
	return 0;
}

int era_repair_metadata(struct pd_bm *in, struct era_builder *b, const struct era_repair_opts *o,
			struct era_repair_result *res, struct pd_err *e)
{
	struct rctx c = { .b = b, .o = o, .res = res, .e = e };
	const struct era_visitor v = {
		.ctx = &c,
		.superblock = v_superblock,
		.writeset = v_writeset,
		.era_array_begin = v_ea_begin,
		.era_block = v_era_block,
		.era_array_end = v_ea_end,
		.problem = v_problem,
	};
	/* bits that damage hides count as written: a salvage must not lose writes */
	const struct era_walk_opts wo = { .sb_location = ERA_SUPERBLOCK_LOCATION, .flags = ERA_WALK_LOST_WRITTEN };
	int r;

	memset(res, 0, sizeof(*res));
	r = era_walk(in, &wo, &v, e);
	if (!r)
		r = era_build_commit(b, e);
	era_build_get_stats(b, &res->stats);
	return r;
}
