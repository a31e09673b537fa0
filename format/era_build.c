#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../libpd/array_build.h"
#include "../libpd/bitset.h"
#include "../libpd/btree_build.h"
#include "../libpd/sm_build.h"
#include "../libpd/writer.h"
#include "era_build.h"
#include "era_sb.h"

#define MAX_NR_BITS ((1u << 31) - 1) /* the kernel's limit on origin blocks */

enum state { S_NEW, S_SB, S_WS, S_EA, S_ENDED, S_DONE, S_FAILED };

struct ws_entry {
	uint32_t era;
	uint32_t nr_bits;
	uint64_t root;
};

struct era_builder {
	struct pd_bdev *dev;
	struct pd_writer w;
	int writer_ready;
	enum state st;
	struct era_build_params p;
	/* writesets */
	struct ws_entry *ws;
	uint32_t nr_ws, cap_ws;
	int pending;              /* bits/cur hold a writeset not yet written */
	uint32_t cur_era, cur_nr_bits;
	uint64_t *bits;
	uint64_t cap_words;
	uint64_t next_bit;        /* bits must ascend */
	int seen_era_array;
	/* era array */
	struct pd_array_builder ea;
	int ea_ready;
	uint64_t next_block;
	uint64_t ws_root, ea_root;
	uint64_t used;            /* blocks used, after commit */
	uint64_t needed_bytes;
	struct era_build_stats stats;
};

int era_build_open(struct era_builder **out, struct pd_bdev *dev, struct pd_err *e)
{
	struct era_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	b->dev = dev;
	*out = b;
	return 0;
}

void era_build_free(struct era_builder *b)
{
	if (!b)
		return;
	if (b->writer_ready)
		pd_writer_free(&b->w);
	if (b->ea_ready)
		pd_array_builder_free(&b->ea);
	free(b->ws);
	free(b->bits);
	free(b);
}

static int fail(struct era_builder *b, struct pd_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct era_builder *b, struct pd_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	b->st = S_FAILED;
	if (e) {
		e->code = code;
		e->block = PD_NO_BLOCK;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

static int bad_state(struct era_builder *b, struct pd_err *e, const char *what)
{
	return fail(b, e, PD_E_INVAL, "%s out of place", what);
}

/* Blocks of one level-by-level btree built over n entries (see btree_build.c). */
static uint64_t btree_nodes(uint64_t n, uint32_t max)
{
	uint64_t total = 0;

	for (;;) {
		uint64_t level;
		if (n <= max)
			level = 1;
		else if (n <= 2ull * max)
			level = 2;
		else
			level = (n - 2ull * max - 1) / max + 1 + 2;
		total += level;
		if (level == 1)
			return total;
		n = level;
		max = pd_node_max_entries(8);
	}
}

static uint64_t array_blocks(uint64_t n, uint32_t value_size)
{
	uint32_t per = pd_array_max_entries(value_size);
	uint64_t blocks = (n + per - 1) / per;

	return blocks + btree_nodes(blocks, pd_node_max_entries(8));
}

uint64_t era_build_min_bytes(uint32_t nr_blocks)
{
	/* superblock, writeset tree leaf, era array */
	uint64_t used = 1 + 1 + array_blocks(nr_blocks, 4);
	uint64_t dev = pd_sm_min_device_blocks(used);

	return dev == UINT64_MAX ? UINT64_MAX : dev * PD_BLOCK_SIZE;
}

int era_build_begin(struct era_builder *b, const struct era_build_params *p, struct pd_err *e)
{
	uint64_t limit = b->dev->nr_blocks < PD_SM_MAX_BLOCKS ? b->dev->nr_blocks : PD_SM_MAX_BLOCKS;
	int r;

	if (b->st != S_NEW)
		return bad_state(b, e, "superblock");
	b->p = *p;
	b->needed_bytes = era_build_min_bytes(p->nr_blocks);
	r = pd_writer_init(&b->w, b->dev, limit, 1, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->writer_ready = 1;
	if (b->needed_bytes > b->dev->size_bytes) {
		/* too small already: count what is needed, write nothing */
		b->w.dry = 1;
	} else {
		r = pd_writer_invalidate_sb(b->dev, e);
		if (r) {
			b->st = S_FAILED;
			return r;
		}
	}
	b->st = S_SB;
	return 0;
}

static int write_pending(struct era_builder *b, struct pd_err *e)
{
	uint64_t root;
	int r;

	if (!b->pending)
		return 0;
	b->pending = 0;
	r = pd_bitset_build(&b->w, b->bits, b->cur_nr_bits, &root, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	if (b->nr_ws == b->cap_ws) {
		uint32_t cap = b->cap_ws ? 2 * b->cap_ws : 8;
		struct ws_entry *q = realloc(b->ws, cap * sizeof(*q));
		if (!q)
			return fail(b, e, PD_E_NOMEM, "out of memory");
		b->ws = q;
		b->cap_ws = cap;
	}
	b->ws[b->nr_ws++] = (struct ws_entry){ b->cur_era, b->cur_nr_bits, root };
	return 0;
}

int era_build_writeset_begin(struct era_builder *b, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	uint64_t words = pd_bitset_words(nr_bits);
	int r;

	if (b->st != S_SB || b->seen_era_array)
		return bad_state(b, e, "writeset");
	if (era > b->p.current_era)
		return fail(b, e, PD_E_RANGE, "writeset era %u is greater than current_era %u", era,
			    b->p.current_era);
	if (nr_bits > MAX_NR_BITS)
		return fail(b, e, PD_E_RANGE, "writeset nr_bits %u is too large (at most %u)", nr_bits, MAX_NR_BITS);
	if (b->pending && b->cur_era == era && (b->p.options & ERA_BUILD_MERGE_DUP)) {
		/* OR this one into the pending writeset */
		if (nr_bits > b->cur_nr_bits) {
			uint64_t *q = realloc(b->bits, words * 8);
			if (!q)
				return fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", nr_bits);
			memset(q + pd_bitset_words(b->cur_nr_bits), 0, (words - pd_bitset_words(b->cur_nr_bits)) * 8);
			b->bits = q;
			b->cap_words = words;
			b->cur_nr_bits = nr_bits;
		}
		b->stats.writesets_merged++;
		b->next_bit = 0;
		b->st = S_WS;
		return 0;
	}
	r = write_pending(b, e);
	if (r)
		return r;
	for (uint32_t i = 0; i < b->nr_ws; i++)
		if (b->ws[i].era == era)
			return fail(b, e, PD_E_INVAL, "writeset for era %u given twice", era);
	if (words > b->cap_words) {
		free(b->bits);
		b->bits = malloc(words * 8);
		if (!b->bits) {
			b->cap_words = 0;
			return fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", nr_bits);
		}
		b->cap_words = words;
	}
	memset(b->bits, 0, words * 8);
	b->cur_era = era;
	b->cur_nr_bits = nr_bits;
	b->next_bit = 0;
	b->pending = 1;
	b->stats.nr_writesets++;
	b->st = S_WS;
	return 0;
}

static int check_bit(struct era_builder *b, uint64_t block, int value, struct pd_err *e)
{
	if (block < b->next_bit)
		return fail(b, e, PD_E_ORDER, "bit for block %llu %s", (unsigned long long)block,
			    block + 1 == b->next_bit ? "given twice" : "out of order (blocks must ascend)");
	if (block >= b->cur_nr_bits && (value || block >= b->p.nr_blocks))
		return fail(b, e, PD_E_RANGE, "bit block %llu is out of range (writeset nr_bits %u)",
			    (unsigned long long)block, b->cur_nr_bits);
	return 0;
}

int era_build_writeset_bit(struct era_builder *b, uint32_t block, int value, struct pd_err *e)
{
	if (__builtin_expect(b->st != S_WS, 0))
		return bad_state(b, e, "bit");
	if (__builtin_expect(block < b->next_bit || block >= b->cur_nr_bits, 0)) {
		int r = check_bit(b, block, value, e);
		if (r)
			return r;
	}
	if (value)
		pd_bit_set(b->bits, block);
	b->next_bit = (uint64_t)block + 1;
	return 0;
}

int era_build_writeset_run(struct era_builder *b, uint32_t begin, uint32_t len, struct pd_err *e)
{
	uint64_t end = (uint64_t)begin + len;
	int r;

	if (b->st != S_WS)
		return bad_state(b, e, "marked");
	if (!len)
		return 0;
	if ((r = check_bit(b, begin, 1, e)) || (r = check_bit(b, end - 1, 1, e)))
		return r;
	for (uint64_t i = begin; i < end; i++)
		pd_bit_set(b->bits, i);
	b->next_bit = end;
	return 0;
}

int era_build_writeset_words(struct era_builder *b, const uint64_t *words, struct pd_err *e)
{
	uint64_t n = pd_bitset_words(b->cur_nr_bits);

	if (b->st != S_WS)
		return bad_state(b, e, "writeset bits");
	for (uint64_t i = 0; i < n; i++)
		b->bits[i] |= words[i];
	if (b->cur_nr_bits & 63)
		b->bits[n - 1] &= (1ull << (b->cur_nr_bits & 63)) - 1;
	b->next_bit = b->cur_nr_bits;
	return 0;
}

int era_build_writeset_end(struct era_builder *b, struct pd_err *e)
{
	if (b->st != S_WS)
		return bad_state(b, e, "end of writeset");
	b->st = S_SB;
	return 0;
}

int era_build_era_array_begin(struct era_builder *b, struct pd_err *e)
{
	int r;

	if (b->st != S_SB || b->seen_era_array)
		return bad_state(b, e, "era_array");
	r = write_pending(b, e);
	if (r)
		return r;
	r = pd_array_builder_init(&b->ea, &b->w, 4, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->ea_ready = 1;
	b->seen_era_array = 1;
	b->next_block = 0;
	b->st = S_EA;
	return 0;
}

static int fill_gap(struct era_builder *b, uint64_t upto, struct pd_err *e)
{
	uint32_t v = htole32(b->p.gap_era);
	int r;

	if (!(b->p.options & ERA_BUILD_ALLOW_GAPS))
		return fail(b, e, PD_E_INVAL, "era_array: no entry for block %llu",
			    (unsigned long long)b->next_block);
	b->stats.gaps_filled += upto - b->next_block;
	r = pd_array_builder_fill(&b->ea, &v, upto - b->next_block, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->next_block = upto;
	return 0;
}

int era_build_era(struct era_builder *b, uint32_t block, uint32_t era, struct pd_err *e)
{
	uint32_t v;
	int r;

	if (__builtin_expect(b->st != S_EA, 0))
		return bad_state(b, e, "era");
	if (__builtin_expect(block != b->next_block, 0)) {
		if (block < b->next_block)
			return fail(b, e, PD_E_ORDER, "era for block %u %s", block,
				    (uint64_t)block + 1 == b->next_block ? "given twice"
									: "out of order (blocks must ascend)");
		if (block >= b->p.nr_blocks)
			return fail(b, e, PD_E_RANGE, "era block %u is out of range (nr_blocks %u)", block,
				    b->p.nr_blocks);
		if ((r = fill_gap(b, block, e)))
			return r;
	}
	if (__builtin_expect(block >= b->p.nr_blocks, 0))
		return fail(b, e, PD_E_RANGE, "era block %u is out of range (nr_blocks %u)", block, b->p.nr_blocks);
	if (__builtin_expect(era > b->p.current_era, 0)) {
		if (!(b->p.options & ERA_BUILD_CLAMP_ERAS))
			return fail(b, e, PD_E_RANGE, "era %u of block %u is greater than current_era %u", era, block,
				    b->p.current_era);
		b->stats.eras_clamped++;
		era = b->p.current_era;
	}
	v = htole32(era);
	r = pd_array_builder_push(&b->ea, &v, 1, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->next_block = (uint64_t)block + 1;
	return 0;
}

int era_build_eras_le(struct era_builder *b, uint64_t first, const void *values, uint32_t n, struct pd_err *e)
{
	const unsigned char *p = values;
	int r;

	for (uint32_t i = 0; i < n; i++) {
		if (first + i > UINT32_MAX)
			return fail(b, e, PD_E_RANGE, "era block %llu is out of range", (unsigned long long)(first + i));
		r = era_build_era(b, (uint32_t)(first + i), pd_get32(p + 4u * i), e);
		if (r)
			return r;
	}
	return 0;
}

static int ws_cmp(const void *x, const void *y)
{
	const struct ws_entry *a = x, *c = y;
	return a->era < c->era ? -1 : a->era > c->era;
}

static int build_ws_tree(struct era_builder *b, uint64_t *root, struct pd_err *e)
{
	struct pd_btree_builder bt;
	int r = pd_btree_builder_init(&bt, &b->w, sizeof(struct era_disk_writeset), e);

	if (r)
		return r;
	qsort(b->ws, b->nr_ws, sizeof(*b->ws), ws_cmp);
	for (uint32_t i = 0; i < b->nr_ws; i++) {
		struct era_disk_writeset v = { htole32(b->ws[i].nr_bits), htole64(b->ws[i].root) };
		r = pd_btree_builder_push(&bt, b->ws[i].era, &v, e);
		if (r) {
			pd_btree_builder_free(&bt);
			return r;
		}
	}
	return pd_btree_builder_finish(&bt, root, e);
}

int era_build_era_array_end(struct era_builder *b, struct pd_err *e)
{
	int r;

	if (b->st != S_EA)
		return bad_state(b, e, "end of era_array");
	if (b->next_block < b->p.nr_blocks && (r = fill_gap(b, b->p.nr_blocks, e)))
		return r;
	/* 1.1.0's order: the writeset tree, the last era array block, its index */
	r = build_ws_tree(b, &b->ws_root, e);
	if (!r)
		r = pd_array_builder_flush_partial(&b->ea, e);
	if (!r) {
		b->ea_ready = 0;
		r = pd_array_builder_finish(&b->ea, &b->ea_root, e);
	}
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->st = S_ENDED;
	return 0;
}

int era_build_commit(struct era_builder *b, struct pd_err *e)
{
	struct pd_sm_root sm;
	struct era_sb sb;
	uint64_t dev_blocks = b->dev->nr_blocks;
	void *blk;
	int r;

	if (b->st != S_ENDED)
		return bad_state(b, e, b->seen_era_array ? "end of superblock" : "end of superblock without era_array");
	r = pd_sm_build_linear(&b->w, dev_blocks, &sm, e);
	if (r == -PD_E_NOSPC || (!r && b->w.dry)) {
		uint64_t need = pd_sm_min_device_blocks(pd_writer_used(&b->w) -
							pd_sm_overhead(dev_blocks));
		b->needed_bytes = need == UINT64_MAX ? UINT64_MAX : need * PD_BLOCK_SIZE;
		if (need == UINT64_MAX)
			return fail(b, e, PD_E_NOSPC, "the metadata needs more than the %llu blocks a space map can address",
				    (unsigned long long)PD_SM_MAX_BLOCKS);
		return fail(b, e, PD_E_NOSPC, "output too small: the metadata needs %llu bytes (%llu blocks of 4096), the output has %llu",
			    (unsigned long long)b->needed_bytes, (unsigned long long)need,
			    (unsigned long long)b->dev->size_bytes);
	}
	if (!r)
		r = pd_writer_flush(&b->w, e);
	if (!r)
		r = pd_bdev_sync(b->dev, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	memset(&sb, 0, sizeof(sb));
	sb.flags = b->p.flags;
	sb.blocknr = ERA_SUPERBLOCK_LOCATION;
	memcpy(sb.uuid, b->p.uuid, ERA_UUID_LEN);
	sb.magic = ERA_MAGIC;
	sb.version = ERA_VERSION;
	sb.sm = sm;
	sb.data_block_size = b->p.data_block_size;
	sb.metadata_block_size = ERA_METADATA_BLOCK_SECTORS;
	sb.nr_blocks = b->p.nr_blocks;
	sb.current_era = b->p.current_era;
	sb.current_writeset_nr_bits = b->p.nr_blocks;
	sb.current_writeset_root = 0;
	sb.writeset_tree_root = b->ws_root;
	sb.era_array_root = b->ea_root;
	sb.metadata_snap = 0;
	if (posix_memalign(&blk, PD_BLOCK_SIZE, PD_BLOCK_SIZE))
		return fail(b, e, PD_E_NOMEM, "out of memory");
	era_sb_encode(blk, &sb);
	era_sb_validator.prepare(&era_sb_validator, blk, ERA_SUPERBLOCK_LOCATION);
	r = pd_bdev_write(b->dev, ERA_SUPERBLOCK_LOCATION, blk, e);
	free(blk);
	if (!r)
		r = pd_bdev_sync(b->dev, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->used = sm.nr_allocated;
	b->st = S_DONE;
	return 0;
}

uint64_t era_build_needed_bytes(const struct era_builder *b)
{
	return b->needed_bytes;
}

uint64_t era_build_blocks_used(const struct era_builder *b)
{
	return b->used;
}

void era_build_get_stats(const struct era_builder *b, struct era_build_stats *s)
{
	*s = b->stats;
}
