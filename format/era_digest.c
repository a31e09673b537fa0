#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../libpd/bitset.h"
#include "era_digest.h"

int era_digest_map_init(struct era_digest_map *m, uint32_t nr_blocks, struct pd_err *e)
{
	m->nr_blocks = nr_blocks;
	m->newest = malloc(((size_t)nr_blocks ?: 1) * 4);
	m->marked = calloc(pd_bitset_words(nr_blocks) + 1, 8);
	if (!m->newest || !m->marked) {
		era_digest_map_free(m);
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory for the digest map of %u blocks", nr_blocks);
	}
	return 0;
}

void era_digest_map_free(struct era_digest_map *m)
{
	free(m->newest);
	free(m->marked);
	m->newest = NULL;
	m->marked = NULL;
}

void era_digest_map_add(struct era_digest_map *m, uint32_t era, uint32_t nr_bits, const uint64_t *words)
{
	uint64_t n = nr_bits < m->nr_blocks ? nr_bits : m->nr_blocks;
	uint64_t nw = pd_bitset_words(n);

	for (uint64_t i = 0; i < nw; i++) {
		uint64_t w = words[i];

		if (i + 1 == nw)
			w &= pd_bitset_last_mask(n);
		m->marked[i] |= w;
		while (w) {
			/* later (newer) writesets overwrite, as the digest does */
			m->newest[i * 64 + (uint64_t)__builtin_ctzll(w)] = era;
			w &= w - 1;
		}
	}
}

void era_digest_compare_le(const struct era_digest_map *m, uint64_t first, const void *values, uint32_t n,
			   struct era_digest_result *res)
{
	const char *p = values;

	if (first >= m->nr_blocks)
		return;
	if (first + n > m->nr_blocks)
		n = (uint32_t)(m->nr_blocks - first);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t b = first + i;
		uint32_t era, newest;

		if (!era_digest_marked(m, b))
			continue;
		era = pd_le32_at(p, i);
		newest = m->newest[b];
		if (era <= newest)
			continue;
		if (res->nr_unsafe < ERA_DIGEST_LISTED)
			res->bad[res->nr_unsafe] = (struct era_digest_bad){ b, era, newest };
		res->nr_unsafe++;
		if (newest > res->fold_era)
			res->fold_era = newest;
	}
}

void era_digest_describe(const struct era_digest_result *res, char *buf, size_t len)
{
	const struct era_digest_bad *d = &res->bad[0];
	int n = snprintf(buf, len,
			 "block %llu: era array says %u but the newest writeset marking it is era %u; the kernel "
			 "would lower it when it digests the writesets on activation",
			 (unsigned long long)d->block, d->era, d->newest);

	if (res->nr_unsafe > 1 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (%llu blocks so)", (unsigned long long)res->nr_unsafe);
}

/* ---- the test on metadata with a superblock: a walk ---- */

struct check {
	struct era_digest_map m;
	struct era_digest_result *res;
	struct pd_err *e;
	int ready;
};

static int c_sb(void *ctx, const struct era_sb *sb)
{
	struct check *c = ctx;
	int r = era_digest_map_init(&c->m, sb->nr_blocks, c->e);

	c->ready = !r;
	return r;
}

static int c_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct check *c = ctx;

	era_digest_map_add(&c->m, ws->era, ws->nr_bits, words);
	return 0;
}

static int c_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct check *c = ctx;

	era_digest_compare_le(&c->m, first, values, n, c->res);
	return 0;
}

static int c_problem(void *ctx, const struct pd_err *r)
{
	(void)ctx;
	(void)r;
	return 0; /* reported by the caller's own walk */
}

int era_digest_check(struct pd_bm *bm, uint64_t sb_location, struct era_digest_result *res, struct pd_err *e)
{
	struct check c = { .res = res, .e = e };
	const struct era_visitor v = {
		.ctx = &c, .superblock = c_sb, .writeset = c_writeset, .era_block = c_era_block,
		.problem = c_problem,
	};
	const struct era_walk_opts wo = { .sb_location = sb_location };
	int r;

	memset(res, 0, sizeof(*res));
	r = era_walk(bm, &wo, &v, e);
	if (c.ready)
		era_digest_map_free(&c.m);
	return r;
}

/* ---- the test on what a writer built ---- */

static int ws_cmp(const void *x, const void *y)
{
	const struct era_writeset_info *a = x, *b = y;
	return a->era < b->era ? -1 : a->era > b->era;
}

static int fail_damage(void *ctx, const struct pd_err *d)
{
	*(struct pd_err *)ctx = *d;
	return -PD_E_CORRUPT;
}

struct built_ea {
	struct era_digest_map *m;
	struct era_digest_result *res;
	struct pd_err d;
};

static int b_damage(void *ctx, const struct pd_err *d)
{
	((struct built_ea *)ctx)->d = *d;
	return -PD_E_CORRUPT;
}

static int b_era_block(void *ctx, uint64_t first, const void *values, uint32_t n, uint64_t where)
{
	struct built_ea *s = ctx;
	(void)where;

	era_digest_compare_le(s->m, first, values, n, s->res);
	return 0;
}

int era_digest_check_built(struct pd_bm *bm, uint32_t nr_blocks, const struct era_writeset_info *ws, size_t nr_ws,
			   uint64_t era_array_root, struct era_digest_result *res, struct pd_err *e)
{
	struct era_digest_map m;
	struct era_writeset_info *sorted = NULL;
	uint64_t *words = NULL;
	size_t cap = 0;
	struct pd_err d = { 0 };
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = era_digest_map_init(&m, nr_blocks, e)))
		return r;
	sorted = malloc((nr_ws ?: 1) * sizeof(*sorted));
	if (!sorted) {
		r = pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
		goto out;
	}
	memcpy(sorted, ws, nr_ws * sizeof(*sorted));
	if (nr_ws)
		qsort(sorted, nr_ws, sizeof(*sorted), ws_cmp);
	/* one bitset in memory at a time */
	for (size_t i = 0; i < nr_ws; i++) {
		size_t need = pd_bitset_words(sorted[i].nr_bits) ?: 1;

		if (need > cap) {
			uint64_t *p = realloc(words, need * 8);
			if (!p) {
				r = pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory for a bitset of %u bits",
					    sorted[i].nr_bits);
				goto out;
			}
			words = p;
			cap = need;
		}
		r = pd_bitset_load(bm, sorted[i].root, sorted[i].nr_bits, words, NULL, fail_damage, &d, 0, e);
		if (r) {
			if (d.code && e)
				*e = d;
			goto out;
		}
		era_digest_map_add(&m, sorted[i].era, sorted[i].nr_bits, words);
	}
	{
		struct built_ea s = { .m = &m, .res = res };
		struct pd_array_walker aw = {
			.bm = bm, .value_size = 4, .nr_entries = nr_blocks,
			.block = b_era_block, .damage = b_damage, .ctx = &s,
		};
		r = pd_array_walk(&aw, era_array_root, e);
		if (r && s.d.code && e)
			*e = s.d;
	}
out:
	free(words);
	free(sorted);
	era_digest_map_free(&m);
	return r;
}
