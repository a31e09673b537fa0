#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../libpd/bitset.h"
#include "../libpd/grow.h"
#include "era_walk.h"

struct walk {
	struct pd_bm *bm;
	const struct era_visitor *v;
	const struct era_walk_opts *o;
	struct era_sb sb;
	enum era_problem_id phase;   /* what libpd damage is reported as */
	const struct era_writeset_info *cur_ws; /* the writeset being looked at */
	uint64_t lost_begin, lost_end;          /* era array entries just lost */
	struct pd_refs *refs;        /* the visitor's counter, or NULL */
	/* writesets collected from the tree */
	struct era_writeset_info *ws;
	size_t nr_ws, cap_ws;
	uint64_t ws_limit;
	int ws_overflow;             /* reported; later entries are not collected */
	struct pd_err *e;
};

/* Every problem goes out here, with what the walk knows of where it is. */
static int say(struct walk *w, struct pd_err *r)
{
	if (w->cur_ws) {
		r->has_key = 1;
		r->key = w->cur_ws->era;
	}
	if (w->v->problem)
		return w->v->problem(w->v->ctx, r);
	return era_problem_info(r->problem)->severity == ERA_SEV_INFO ? 0 : -PD_E_CORRUPT;
}

static int say_to(void *ctx, const struct pd_err *r)
{
	struct pd_err rep = *r;

	return say(ctx, &rep);
}

#define finding(w, ...) era_report_to(say_to, (w), __VA_ARGS__)

/* The walker's findings a repair decides on, told as such. */
static void writesets_lost(struct walk *w)
{
	if (w->v->writesets_lost)
		w->v->writesets_lost(w->v->ctx);
}

static int damage(void *ctx, const struct pd_err *d)
{
	struct walk *w = ctx;
	struct pd_err r = *d; /* the failed read's code, block and message */

	r.problem = w->phase;
	if (w->phase == ERA_P_ERA_ARRAY) {
		/* the origin blocks whose eras the damaged part held */
		r.data_begin = w->lost_begin;
		r.data_end = w->lost_end;
		w->lost_begin = w->lost_end = 0;
	}
	return say(w, &r);
}

/* Damage in the writeset tree: writesets may be lost. */
static int ws_tree_damage(void *ctx, const struct pd_err *d)
{
	int r = damage(ctx, d);

	writesets_lost(ctx);
	return r;
}

/* Damage in the bitset of the writeset being read. */
static int bitset_damage(void *ctx, const struct pd_err *d)
{
	struct walk *w = ctx;
	int r = damage(ctx, d);

	if (w->v->bitset_damaged)
		w->v->bitset_damaged(w->v->ctx, w->cur_ws);
	return r;
}

/* Writeset tree leaves: collect (era, nr_bits, root). */
static int ws_leaf(void *ctx, const struct pd_node *n)
{
	struct walk *w = ctx;

	for (uint32_t i = 0; i < n->nr_entries && !w->ws_overflow; i++) {
		uint64_t key = pd_node_key(n, i);
		int r;

		if (key > UINT32_MAX) {
			r = finding(w, ERA_P_WS_TREE, n->block, "writeset tree: era key %llu does not fit 32 bits",
				    (unsigned long long)key);
			writesets_lost(w);
			if (r)
				return r;
			continue;
		}
		if (w->nr_ws == w->cap_ws) {
			struct era_writeset_info *p;

			if (w->nr_ws >= w->ws_limit) {
				/* said like any damage; the walk goes on without them */
				w->ws_overflow = 1;
				r = finding(w, ERA_P_WS_TREE, n->block,
					    "writeset tree: more entries than the device can hold");
				writesets_lost(w);
				return r;
			}
			p = pd_grow(w->ws, &w->cap_ws, w->nr_ws, sizeof(*p), 16);
			if (!p)
				return pd_fail(w->e, PD_E_NOMEM, n->block, "out of memory");
			w->ws = p;
		}
		w->ws[w->nr_ws] = (struct era_writeset_info){ .era = (uint32_t)key };
		era_disk_writeset_decode(pd_node_value(n, i), &w->ws[w->nr_ws].nr_bits, &w->ws[w->nr_ws].root);
		w->nr_ws++;
	}
	return 0;
}

/* A bitset of nr_bits bits needs this many array blocks; more than the
 * device has means the count is garbage, not a reason to allocate. */
static int bitset_fits(struct walk *w, uint64_t nr_bits)
{
	return pd_array_blocks(pd_bitset_words(nr_bits), 8) <= pd_bm_nr_blocks(w->bm);
}

static int walk_writesets(struct walk *w, int data)
{
	struct pd_btree_walker bw = {
		.bm = w->bm, .value_size = sizeof(struct era_disk_writeset),
		.refs = w->refs,
		.leaf = ws_leaf, .damage = ws_tree_damage, .ctx = w,
	};
	uint64_t *words = NULL;
	size_t cap_words = 0;
	int r;

	w->nr_ws = 0;
	w->ws_overflow = 0;
	w->phase = ERA_P_WS_TREE;
	r = pd_btree_walk(&bw, w->sb.writeset_tree_root, w->e);
	if (r)
		return r;
	/* the current writeset comes last: it belongs to the newest era */
	if (data && w->sb.current_writeset_root && w->sb.location == ERA_SUPERBLOCK_LOCATION) {
		struct era_writeset_info *p;

		for (size_t i = 0; i < w->nr_ws; i++) {
			if (w->ws[i].era == w->sb.current_era) {
				r = finding(w, ERA_P_WS_CURRENT_DUP, w->sb.writeset_tree_root,
					    "writeset tree holds era %u, which is the current era", w->sb.current_era);
				if (r)
					return r;
			}
		}
		p = pd_grow(w->ws, &w->cap_ws, w->nr_ws, sizeof(*p), 16);
		if (!p)
			return pd_fail(w->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
		w->ws = p;
		w->ws[w->nr_ws++] = (struct era_writeset_info){
			.era = w->sb.current_era, .nr_bits = w->sb.current_writeset_nr_bits,
			.root = w->sb.current_writeset_root, .current = 1,
		};
	}
	for (size_t i = 0; i < w->nr_ws; i++) {
		struct era_writeset_info *ws = &w->ws[i];
		size_t need = pd_bitset_words(ws->nr_bits) ?: 1; /* never NULL words, even for 0 bits */

		w->cur_ws = ws;
		if (!ws->current && ws->era > w->sb.current_era) {
			r = finding(w, ERA_P_WS_ERA_FUTURE, w->sb.writeset_tree_root,
				    "archived writeset for era %u, but the current era is %u", ws->era,
				    w->sb.current_era);
			writesets_lost(w);
			if (r)
				goto out;
		}
		if (ws->nr_bits > ERA_MAX_NR_BITS) {
			r = finding(w, ERA_P_WS_TOO_LARGE, ws->root,
				    "writeset for era %u claims %u bits, more than dm-era allows (%u)", ws->era,
				    ws->nr_bits, ERA_MAX_NR_BITS);
			writesets_lost(w);
			if (r)
				goto out;
			continue;
		}
		if (!bitset_fits(w, ws->nr_bits)) {
			r = finding(w, ERA_P_WS_TOO_LARGE, ws->root,
				    "writeset for era %u claims %u bits, more than the metadata device can hold",
				    ws->era, ws->nr_bits);
			writesets_lost(w);
			if (r)
				goto out;
			continue;
		}
		if (ws->nr_bits != w->sb.nr_blocks) {
			r = finding(w, ERA_P_WS_NR_BITS, ws->root, "writeset for era %u has %u bits but the origin has %u blocks",
				    ws->era, ws->nr_bits, w->sb.nr_blocks);
			if (r)
				goto out;
		}
		if (!w->refs && w->v->want_writeset && !w->v->want_writeset(w->v->ctx, ws))
			continue;
		if (need > cap_words) {
			uint64_t *p = realloc(words, need * 8);
			if (!p) {
				r = pd_fail(w->e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory for a bitset of %u bits", ws->nr_bits);
				goto out;
			}
			words = p;
			cap_words = need;
		}
		w->phase = ERA_P_WS_BITSET;
		r = pd_bitset_load(w->bm, ws->root, ws->nr_bits, words, w->refs, bitset_damage, w,
				   (w->o->flags & ERA_WALK_LOST_WRITTEN) ? PD_BITSET_LOST_SET : 0, w->e);
		if (r)
			goto out;
		if (data && w->v->writeset) {
			r = w->v->writeset(w->v->ctx, ws, words);
			if (r)
				goto out;
		}
	}
	r = 0;
out:
	w->cur_ws = NULL;
	free(words);
	return r;
}

struct era_state {
	struct walk *w;
	int data;
};

static int era_block(void *ctx, uint64_t first, const void *values, uint32_t n, uint64_t where)
{
	struct era_state *s = ctx;
	struct walk *w = s->w;
	(void)where;

	if (!s->data || !w->v->era_block)
		return 0;
	return w->v->era_block(w->v->ctx, first, values, n);
}

static int era_damage(void *ctx, const struct pd_err *d)
{
	return damage(((struct era_state *)ctx)->w, d);
}

static void era_lost(void *ctx, uint64_t first, uint64_t n)
{
	struct walk *w = ((struct era_state *)ctx)->w;

	w->lost_begin = first;
	w->lost_end = first + n;
}

static int walk_era_array(struct walk *w, int data)
{
	struct era_state s = { w, data };
	struct pd_array_walker aw = {
		.bm = w->bm, .value_size = 4, .nr_entries = w->sb.nr_blocks,
		.refs = w->refs,
		.block = era_block, .damage = era_damage, .lost = era_lost, .ctx = &s,
	};
	int r;

	/* nr_blocks fits the device: era_sb_read refuses a superblock whose
	 * era array could not (every superblock walked comes through it) */
	w->phase = ERA_P_ERA_ARRAY;
	if (data && w->v->era_array_begin) {
		r = w->v->era_array_begin(w->v->ctx, w->sb.nr_blocks);
		if (r)
			return r;
	}
	r = pd_array_walk(&aw, w->sb.era_array_root, w->e);
	if (r)
		return r;
	if (data && w->v->era_array_end)
		return w->v->era_array_end(w->v->ctx);
	return 0;
}

/* A held metadata snapshot: its superblock and the trees it holds (shared
 * nodes are counted once more but not walked again). */
static int walk_snapshot(struct walk *w)
{
	struct era_sb live = w->sb;
	struct pd_err d;
	int r;

	r = era_sb_read(w->bm, live.metadata_snap, &w->sb, &d);
	if (r) {
		w->sb = live;
		return finding(w, ERA_P_SNAP_SB, live.metadata_snap, "metadata snapshot: %s", d.msg);
	}
	r = walk_writesets(w, 0);
	if (!r)
		r = walk_era_array(w, 0);
	w->sb = live;
	return r;
}

int era_walk(struct pd_bm *bm, const struct era_walk_opts *opts, const struct era_visitor *v,
	     struct pd_err *e)
{
	struct walk w = { .bm = bm, .v = v, .o = opts, .e = e };
	struct pd_err d;
	int r;

	pd_err_clear(e);
	w.ws_limit = pd_bm_nr_blocks(bm) * ERA_WS_TREE_LEAF_ENTRIES; /* every block a full leaf */
	r = era_sb_read(bm, opts->sb_location, &w.sb, &d);
	if (r) {
		struct pd_err rep = d;

		rep.problem = opts->sb_location ? ERA_P_SNAP_SB : ERA_P_SB;
		if (v->problem)
			v->problem(v->ctx, &rep);
		if (e)
			*e = d;
		return r;
	}
	if (v->superblock && (r = v->superblock(v->ctx, &w.sb)))
		return r;
	if (opts->flags & ERA_WALK_SB_ONLY)
		return 0;
	if (v->count_refs && (r = v->count_refs(v->ctx, &w.sb, &w.refs)))
		return r;
	r = 0;
	/* Counting needs every block the metadata reaches, whatever is skipped. */
	if (!(opts->flags & ERA_WALK_NO_WRITESETS) || w.refs)
		r = walk_writesets(&w, !(opts->flags & ERA_WALK_NO_WRITESETS));
	if (!r && (!(opts->flags & ERA_WALK_NO_ERA_ARRAY) || w.refs))
		r = walk_era_array(&w, !(opts->flags & ERA_WALK_NO_ERA_ARRAY));
	if (!r && w.refs && w.sb.metadata_snap)
		r = walk_snapshot(&w);
	if (r && r != -PD_E_NOMEM && v->stopped && e && e->code)
		v->stopped(v->ctx, w.phase, e);
	free(w.ws);
	return r;
}
