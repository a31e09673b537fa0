/* era_histogram: how many origin blocks were last written in each era.
 * An example of era_walk() with a visitor (doc/api.md): the walker reads
 * the writesets, oldest first, then the era array; the visitor computes
 * each block's logical era (the newest writeset marking it, else its era
 * array value), as the kernel will once it has digested every writeset.
 *
 *   era_histogram METADATA
 *
 * Prints "ERA COUNT" lines in era order, only for eras with blocks.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libpd/bm.h>
#include <libpd/bitset.h>
#include <format/era_walk.h>

struct hist {
	uint32_t nr_blocks, current_era;
	uint32_t *newest;        /* per block: newest writeset era marking it, 0 if none */
	uint64_t *count;         /* per era 0..current_era */
};

static int on_sb(void *ctx, const struct era_sb *sb)
{
	struct hist *h = ctx;

	h->nr_blocks = sb->nr_blocks;
	h->current_era = sb->current_era;
	h->newest = calloc(sb->nr_blocks ? sb->nr_blocks : 1, sizeof(*h->newest));
	h->count = calloc((size_t)sb->current_era + 1, sizeof(*h->count));
	return h->newest && h->count ? 0 : -1;
}

/* Writesets come in era order, so a later one overwrites an earlier one. */
static int on_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct hist *h = ctx;
	uint32_t n = ws->nr_bits < h->nr_blocks ? ws->nr_bits : h->nr_blocks;

	for (uint32_t b = 0; b < n; b++)
		if (pd_bit_test(words, b))
			h->newest[b] = ws->era;
	return 0;
}

/* values: n little-endian 32-bit eras for blocks first .. first + n - 1. */
static int on_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct hist *h = ctx;
	const unsigned char *p = values;

	for (uint32_t i = 0; i < n; i++, p += 4) {
		uint32_t era = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		if (h->newest[first + i])
			era = h->newest[first + i];
		if (era <= h->current_era)
			h->count[era]++;
	}
	return 0;
}

/* Any damage ends this program: a histogram of damaged metadata would lie. */
static int on_problem(void *ctx, const struct pd_err *r)
{
	if (era_problem_info(r->problem)->severity == ERA_SEV_INFO)
		return 0;
	fprintf(stderr, "era_histogram: %s\n", r->msg);
	return -PD_E_CORRUPT;
}

int main(int argc, char **argv)
{
	struct hist h = { 0 };
	struct era_visitor v = {
		.ctx = &h, .superblock = on_sb, .writeset = on_writeset,
		.era_block = on_era_block, .problem = on_problem,
	};
	struct era_walk_opts wo = { .sb_location = 0 };
	struct pd_bm *bm;
	struct pd_err e;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: era_histogram METADATA\n");
		return 1;
	}
	if (pd_bm_open(&bm, argv[1], PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, &e)) {
		fprintf(stderr, "era_histogram: %s: %s\n", argv[1], e.msg);
		return 1;
	}
	r = era_walk(bm, &wo, &v, &e);
	pd_bm_close(bm);
	if (r) {
		if (e.code) /* the walk's own failure; a stop by on_problem was said there */
			fprintf(stderr, "era_histogram: %s: %s\n", argv[1], e.msg);
		free(h.newest);
		free(h.count);
		return 1;
	}
	for (uint32_t era = 0; era <= h.current_era; era++)
		if (h.count[era])
			printf("%u %llu\n", era, (unsigned long long)h.count[era]);
	free(h.newest);
	free(h.count);
	return 0;
}
