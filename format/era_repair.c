#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "era_repair.h"
#include "era_salvage.h"

struct rctx {
	struct era_builder *b;
	const struct era_repair_opts *o;
	struct era_repair_result *res;
	struct era_sb sb;
	struct pd_err *e;
};

/* A builder's write and space failures are the output's. */
static int built(struct pd_err *e, int r)
{
	if (r && e && (e->code == PD_E_IO || e->code == PD_E_NOSPC))
		e->source = PD_SRC_OUTPUT;
	return r;
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
	/* the salvage filter hands on complete, clamped, merged events; these
	 * stay as a second line */
	p.options = ERA_BUILD_ALLOW_GAPS | ERA_BUILD_MERGE_DUP | ERA_BUILD_CLAMP_ERAS;
	p.gap_era = sb->current_era;
	return built(c->e, era_build_begin(c->b, &p, c->e));
}

static int v_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct rctx *c = ctx;
	int r = era_build_writeset_begin(c->b, ws->era, ws->nr_bits, c->e);

	if (!r)
		r = era_build_writeset_words(c->b, words, c->e);
	if (!r)
		r = era_build_writeset_end(c->b, c->e);
	return built(c->e, r);
}

static int v_ea_begin(void *ctx, uint32_t nr_blocks)
{
	struct rctx *c = ctx;
	(void)nr_blocks;
	return built(c->e, era_build_era_array_begin(c->b, c->e));
}

static int v_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct rctx *c = ctx;
	return built(c->e, era_build_eras_le(c->b, first, values, n, c->e));
}

static int v_ea_end(void *ctx)
{
	struct rctx *c = ctx;
	return built(c->e, era_build_era_array_end(c->b, c->e));
}

static int v_problem(void *ctx, const struct pd_err *r)
{
	struct rctx *c = ctx;

	c->res->nr_problems++;
	if (c->o->report)
		c->o->report(c->o->ctx, r);
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
	int r;

	memset(res, 0, sizeof(*res));
	r = era_salvage_walk(in, ERA_SUPERBLOCK_LOCATION, &v, &res->salvage, e);
	if (r && e && e->source == PD_SRC_NONE)
		e->source = PD_SRC_INPUT; /* not the builder's: reading the input */
	if (!r)
		r = built(e, era_build_commit(b, e));
	era_build_get_stats(b, &res->stats);
	res->stats.gaps_filled += res->salvage.gaps_filled;
	res->stats.eras_clamped += res->salvage.eras_clamped;
	res->stats.writesets_merged += res->salvage.writesets_merged;
	return r;
}
