#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../libpd/bitset.h"
#include "era_digest.h"
#include "era_salvage.h"

enum pass { P_CHEAP, P_MAP, P_EMIT };

#define BUF 1024u

struct filt {
	enum pass pass;
	const struct era_visitor *out;
	struct era_salvage_stats *st;
	struct pd_err *e;
	struct era_sb sb;
	int writesets_lost;
	int bitset_damaged;       /* the writeset being read had damage */
	/* an archived writeset of the current era, held for the current one */
	uint64_t *held;
	struct era_writeset_info held_ws;
	int have_held;
	/* era array */
	uint64_t next;
	uint32_t buf[BUF];        /* le32 values handed on */
	/* P_CHEAP */
	int have_ws;
	uint32_t oldest_ws, max_entry;
	/* P_MAP: the digest of every writeset; P_EMIT: of the folded ones */
	struct era_digest_map map;
	int map_ready;
	struct era_digest_result res;
	/* the plan */
	int fold;
	uint32_t fold_era;
};

static int f_problem(void *ctx, const struct pd_err *r)
{
	struct filt *f = ctx;

	/* a salvage goes on past everything it can: the writer's answer is not asked */
	if (f->pass == P_EMIT && f->out->problem)
		f->out->problem(f->out->ctx, r);
	return 0;
}

static void f_bitset_damaged(void *ctx, const struct era_writeset_info *ws)
{
	(void)ws;
	((struct filt *)ctx)->bitset_damaged = 1;
}

/* Writesets lost: every era array entry gets the current era (era_salvage.h). */
static void f_writesets_lost(void *ctx)
{
	struct filt *f = ctx;

	if (!f->writesets_lost) {
		f->writesets_lost = 1;
		era_report_to(f_problem, f, ERA_P_WS_TREE, PD_NO_BLOCK,
			      "writesets lost: every block is given the current era %u so no write is missed",
			      f->sb.current_era);
	}
}

static int f_superblock(void *ctx, const struct era_sb *sb)
{
	struct filt *f = ctx;

	f->sb = *sb;
	if (f->pass == P_MAP || (f->pass == P_EMIT && f->fold)) {
		int r = era_digest_map_init(&f->map, sb->nr_blocks, f->e);
		if (r)
			return r;
		f->map_ready = 1;
	}
	if (f->pass == P_EMIT && f->out->superblock)
		return f->out->superblock(f->out->ctx, sb);
	return 0;
}

static int f_want_writeset(void *ctx, const struct era_writeset_info *ws)
{
	struct filt *f = ctx;

	if (ws->era <= f->sb.current_era) {
		if (!f->have_ws || ws->era < f->oldest_ws)
			f->oldest_ws = ws->era;
		f->have_ws = 1;
	}
	return 0; /* eras only: no bitset is read */
}

/* A writeset as the salvage writes it. */
static int deliver(struct filt *f, const struct era_writeset_info *ws, const uint64_t *words)
{
	if (f->pass == P_MAP) {
		era_digest_map_add(&f->map, ws->era, ws->nr_bits, words);
		return 0;
	}
	if (f->fold && ws->era <= f->fold_era) {
		era_digest_map_add(&f->map, ws->era, ws->nr_bits, words);
		f->st->writesets_folded++;
		return 0;
	}
	return f->out->writeset ? f->out->writeset(f->out->ctx, ws, words) : 0;
}

static int flush_held(struct filt *f)
{
	int r;

	if (!f->have_held)
		return 0;
	f->have_held = 0;
	r = deliver(f, &f->held_ws, f->held);
	free(f->held);
	f->held = NULL;
	return r;
}

static int f_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct filt *f = ctx;
	struct era_writeset_info w = *ws;
	uint64_t nw = pd_bitset_words(f->sb.nr_blocks), old = pd_bitset_words(ws->nr_bits);
	uint64_t *all = NULL;
	int damaged = f->bitset_damaged, r;

	f->bitset_damaged = 0;
	if (ws->era > f->sb.current_era)
		return era_report_to(f_problem, f, ERA_P_WS_ERA_FUTURE, ws->root,
				     "writeset for era %u dropped: newer than the current era %u",
				     ws->era, f->sb.current_era);
	if (damaged && ws->nr_bits < f->sb.nr_blocks) {
		/* Its size may be what was damaged: every block past the bits it
		 * still has may have been written in its era too. */
		all = malloc(nw * 8);
		if (!all)
			return pd_fail(f->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
		memcpy(all, words, old * 8);
		memset(all + old, 0xff, (nw - old) * 8);
		if (ws->nr_bits & 63)
			all[old - 1] |= ~0ull << (ws->nr_bits & 63);
		if (f->sb.nr_blocks & 63)
			all[nw - 1] &= pd_bitset_last_mask(f->sb.nr_blocks);
		w.nr_bits = f->sb.nr_blocks;
		words = all;
	}
	if (f->have_held && ws->current && ws->era == f->held_ws.era) {
		/* the tree's writeset of the current era and the current one: one */
		uint64_t n = pd_bitset_words(w.nr_bits), h = pd_bitset_words(f->held_ws.nr_bits);

		if (n > h) {
			uint64_t *p = realloc(f->held, n * 8);
			if (!p) {
				free(all);
				return pd_fail(f->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
			}
			memset(p + h, 0, (n - h) * 8);
			f->held = p;
			f->held_ws.nr_bits = w.nr_bits;
		}
		for (uint64_t i = 0; i < n; i++)
			f->held[i] |= words[i];
		if (f->pass == P_EMIT)
			f->st->writesets_merged++;
		free(all);
		return flush_held(f);
	}
	if ((r = flush_held(f))) {
		free(all);
		return r;
	}
	if (!ws->current && ws->era == f->sb.current_era && f->sb.current_writeset_root) {
		uint64_t n = pd_bitset_words(w.nr_bits) ?: 1;

		f->held = malloc(n * 8);
		if (!f->held) {
			free(all);
			return pd_fail(f->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
		}
		memcpy(f->held, words, pd_bitset_words(w.nr_bits) * 8);
		f->held_ws = w;
		f->have_held = 1;
		free(all);
		return 0;
	}
	r = deliver(f, &w, words);
	free(all);
	return r;
}

static int f_ea_begin(void *ctx, uint32_t nr_blocks)
{
	struct filt *f = ctx;
	int r = flush_held(f);

	if (r)
		return r;
	f->next = 0;
	if (f->pass == P_EMIT && f->out->era_array_begin)
		return f->out->era_array_begin(f->out->ctx, nr_blocks);
	return 0;
}

/* n (<= BUF) entries from first, le32 in f->buf, as the salvage writes them. */
static int hand_on(struct filt *f, uint64_t first, uint32_t n)
{
	switch (f->pass) {
	case P_CHEAP: {
		uint32_t m = pd_le32_max(f->buf, n);
		if (m > f->max_entry)
			f->max_entry = m;
		return 0;
	}
	case P_MAP:
		era_digest_compare_le(&f->map, first, f->buf, n, &f->res);
		return 0;
	case P_EMIT:
		break;
	}
	return f->out->era_block ? f->out->era_block(f->out->ctx, first, f->buf, n) : 0;
}

static int fill_gap(struct filt *f, uint64_t upto)
{
	uint32_t c = htole32(f->sb.current_era);

	if (f->pass == P_EMIT)
		f->st->gaps_filled += upto - f->next;
	while (f->next < upto) {
		uint32_t n = upto - f->next < BUF ? (uint32_t)(upto - f->next) : BUF;
		int r;

		for (uint32_t i = 0; i < n; i++)
			f->buf[i] = c;
		if ((r = hand_on(f, f->next, n)))
			return r;
		f->next += n;
	}
	return 0;
}

static int f_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct filt *f = ctx;
	const char *p = values;
	uint64_t nr = f->sb.nr_blocks;
	uint32_t cur = f->sb.current_era;
	int r;

	/* entries past nr_blocks (a damaged count) are not the device's */
	if (first >= nr)
		return 0;
	if (first + n > nr)
		n = (uint32_t)(nr - first);
	if (first < f->next) { /* never expected: the walker ascends */
		uint64_t skip = f->next - first;
		if (skip >= n)
			return 0;
		p += 4 * skip;
		first = f->next;
		n -= (uint32_t)skip;
	}
	if (first > f->next && (r = fill_gap(f, first)))
		return r;
	for (uint32_t off = 0; off < n; off += BUF) {
		uint32_t m = n - off < BUF ? n - off : BUF;

		for (uint32_t i = 0; i < m; i++) {
			uint64_t b = first + off + i;
			uint32_t v = pd_le32_at(p, off + i);

			if (f->writesets_lost) {
				v = cur;
			} else if (v > cur) {
				v = cur;
				if (f->pass == P_EMIT)
					f->st->eras_clamped++;
			}
			if (f->pass == P_EMIT && f->fold && era_digest_marked(&f->map, b) && f->map.newest[b] > v)
				v = f->map.newest[b];
			f->buf[i] = htole32(v);
		}
		if ((r = hand_on(f, first + off, m)))
			return r;
	}
	f->next = first + n;
	return 0;
}

static int f_ea_end(void *ctx)
{
	struct filt *f = ctx;
	int r;

	if (f->next < f->sb.nr_blocks && (r = fill_gap(f, f->sb.nr_blocks)))
		return r;
	if (f->pass == P_EMIT && f->out->era_array_end)
		return f->out->era_array_end(f->out->ctx);
	return 0;
}

static int run(struct filt *f, struct pd_bm *bm, uint64_t sb_location)
{
	const struct era_visitor v = {
		.ctx = f,
		.superblock = f_superblock,
		.writeset = f_writeset,
		.want_writeset = f->pass == P_CHEAP ? f_want_writeset : NULL,
		.era_array_begin = f_ea_begin,
		.era_block = f_era_block,
		.era_array_end = f_ea_end,
		.problem = f_problem,
		.writesets_lost = f_writesets_lost,
		.bitset_damaged = f_bitset_damaged,
	};
	/* bits that damage hides count as written: a salvage must not lose writes */
	const struct era_walk_opts wo = { .sb_location = sb_location, .flags = ERA_WALK_LOST_WRITTEN };
	int r;

	f->writesets_lost = 0;
	f->bitset_damaged = 0;
	f->have_ws = 0;
	f->max_entry = 0;
	memset(&f->res, 0, sizeof(f->res));
	r = era_walk(bm, &wo, &v, f->e);
	free(f->held);
	f->held = NULL;
	f->have_held = 0;
	if (f->map_ready)
		era_digest_map_free(&f->map);
	f->map_ready = 0;
	return r;
}

int era_salvage_walk(struct pd_bm *bm, uint64_t sb_location, const struct era_visitor *out,
		     struct era_salvage_stats *st, struct pd_err *e)
{
	struct filt *f = calloc(1, sizeof(*f));
	int r;

	memset(st, 0, sizeof(*st));
	if (!f)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	f->out = out;
	f->st = st;
	f->e = e;
	/* plan: a failed plan walk fails the same way below, where it is reported */
	f->pass = P_CHEAP;
	if (!run(f, bm, sb_location) && !era_digest_cheap_safe(f->have_ws, f->oldest_ws, f->max_entry)) {
		f->pass = P_MAP;
		if (!run(f, bm, sb_location) && f->res.nr_unsafe) {
			f->fold = 1;
			f->fold_era = f->res.fold_era;
			st->unsafe_blocks = f->res.nr_unsafe;
			st->fold_era = f->fold_era;
		}
	}
	f->pass = P_EMIT;
	r = run(f, bm, sb_location);
	st->writesets_lost = f->writesets_lost;
	free(f);
	return r;
}
