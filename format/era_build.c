/* The sequential builder (era_build.h): the superblock's fields, the
 * writesets one at a time, the era array, the commit. The era-array writer
 * is era_build_array.c, the writeset accumulator era_build_ws.c, the part
 * for the second thread and the join era_build_part.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../libpd/array_build.h"
#include "../libpd/btree_build.h"
#include "../libpd/grow.h"
#include "../libpd/sm_build.h"
#include "era_build_int.h"
#include "era_digest.h"
#include "era_sb.h"

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
	eaw_free(&b->ea);
	free(b->ws);
	free(b->cur.bits);
	free(b);
}

void era_build_reset(struct era_builder *b)
{
	struct pd_bdev *dev = b->dev;

	if (b->writer_ready)
		pd_writer_free(&b->w);
	eaw_free(&b->ea);
	free(b->ws);
	free(b->cur.bits);
	memset(b, 0, sizeof(*b));
	b->dev = dev;
}

int era_build_fail(struct era_builder *b, struct pd_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	b->st = S_FAILED;
	va_start(ap, fmt);
	r = pd_vfail(e, code, PD_NO_BLOCK, fmt, ap);
	va_end(ap);
	return r;
}

int era_build_bad_state(struct era_builder *b, struct pd_err *e, const char *what)
{
	return era_build_fail(b, e, PD_E_INVAL, "%s out of place", what);
}

/* Bytes of bitset blocks (values and index) a writeset of nr_bits bits
 * takes on the output. */
uint64_t era_build_bitset_bytes(uint32_t nr_bits)
{
	return pd_array_build_blocks(pd_bitset_words(nr_bits), 8) * PD_BLOCK_SIZE;
}

uint64_t era_build_min_bytes(uint32_t nr_blocks)
{
	/* superblock, writeset tree leaf, era array */
	uint64_t used = 1 + 1 + pd_array_build_blocks(nr_blocks, 4);
	uint64_t dev = pd_sm_min_device_blocks(used);

	return dev == UINT64_MAX ? UINT64_MAX : dev * PD_BLOCK_SIZE;
}

/* Does block 0 hold what looks like era metadata? Only then must its
 * zeroing reach the device before anything else is written. */
static int holds_era_superblock(struct pd_bdev *dev)
{
	void *blk;
	struct pd_err e;
	struct era_sb sb;
	int found = 1; /* when unsure, sync */

	if (posix_memalign(&blk, PD_BLOCK_SIZE, PD_BLOCK_SIZE))
		return 1;
	if (!pd_bdev_read(dev, ERA_SUPERBLOCK_LOCATION, blk, &e)) {
		era_sb_decode(blk, ERA_SUPERBLOCK_LOCATION, &sb);
		found = sb.magic == ERA_MAGIC;
	}
	free(blk);
	return found;
}

int era_build_begin(struct era_builder *b, const struct era_build_params *p, struct pd_err *e)
{
	uint64_t limit = b->dev->nr_blocks < PD_SM_MAX_BLOCKS ? b->dev->nr_blocks : PD_SM_MAX_BLOCKS;
	int r;

	if (b->st != S_NEW)
		return era_build_bad_state(b, e, "superblock");
	if (p->nr_blocks > ERA_MAX_NR_BLOCKS)
		return era_build_fail(b, e, PD_E_RANGE, "nr_blocks %u: " ERA_MAX_NR_BLOCKS_WHY, p->nr_blocks);
	/* gaps filled past the current era would be entries the kernel never wrote */
	if ((p->options & ERA_BUILD_ALLOW_GAPS) && p->gap_era > p->current_era)
		return era_build_fail(b, e, PD_E_RANGE, "gap era %u is greater than current_era %u", p->gap_era,
				      p->current_era);
	b->p = *p;
	b->needed_bytes = era_build_min_bytes(p->nr_blocks);
	/* the era array's blocks come first, at fixed places */
	r = pd_writer_init(&b->w, b->dev, limit, 1 + ea_blocks(p->nr_blocks), e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->writer_ready = 1;
	if (b->needed_bytes > b->dev->size_bytes) {
		/* too small already: count what is needed, write nothing */
		b->w.dry = 1;
	}
	r = eaw_init(&b->ea, b->dev->fd, p->nr_blocks, b->w.dry, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	if (!b->w.dry) {
		r = pd_writer_invalidate_sb(b->dev, holds_era_superblock(b->dev), e);
		if (r) {
			b->st = S_FAILED;
			return r;
		}
	}
	b->st = S_SB;
	return 0;
}

/* A bit at or past held_bits is set: hold the whole writeset. Returns 1
 * when the output is already known too small (nothing will be written, so
 * bits are not kept: the bit is dropped). */
int era_build_hold_all(struct era_builder *b, struct pd_err *e)
{
	if (b->w.dry)
		return 1;
	if (wsacc_hold_all(&b->cur))
		return era_build_fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", b->cur.nr_bits);
	return 0;
}

static int write_pending(struct era_builder *b, struct pd_err *e)
{
	struct ws_entry *ws;
	uint64_t root;
	int r;

	if (!b->pending)
		return 0;
	b->pending = 0;
	r = wsacc_write(&b->w, &b->cur, &root, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	ws = pd_grow(b->ws, &b->cap_ws, b->nr_ws, sizeof(*ws), 8);
	if (!ws)
		return era_build_fail(b, e, PD_E_NOMEM, "out of memory");
	b->ws = ws;
	if (!b->nr_ws || b->cur.era < b->ws_min_era)
		b->ws_min_era = b->cur.era;
	b->ws[b->nr_ws++] = (struct ws_entry){ b->cur.era, b->cur.nr_bits, root };
	return 0;
}

int era_build_writeset_begin(struct era_builder *b, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	int r;

	if (b->st != S_SB || b->seen_era_array)
		return era_build_bad_state(b, e, "writeset");
	if (era > b->p.current_era)
		return era_build_fail(b, e, PD_E_RANGE, "writeset era %u is greater than current_era %u", era,
			    b->p.current_era);
	if (nr_bits > ERA_MAX_NR_BITS)
		return era_build_fail(b, e, PD_E_RANGE, "writeset nr_bits %u is too large (at most %u)", nr_bits, ERA_MAX_NR_BITS);
	/* before any memory is taken for it: a bitmap the output cannot hold
	 * is refused (the exact size of a too small output that can is given
	 * at the commit) */
	if (era_build_bitset_bytes(nr_bits) > b->dev->size_bytes)
		return era_build_fail(b, e, PD_E_NOSPC,
			    "output too small: writeset era %u of %u bits needs %llu bytes of bitset blocks, the output has %llu",
			    era, nr_bits, (unsigned long long)era_build_bitset_bytes(nr_bits),
			    (unsigned long long)b->dev->size_bytes);
	if (b->pending && b->cur.era == era && (b->p.options & ERA_BUILD_MERGE_DUP)) {
		/* OR this one into the pending writeset (repair: held whole) */
		if (b->cur.held_bits < b->cur.nr_bits && (r = era_build_hold_all(b, e)) < 0)
			return r;
		if (nr_bits > b->cur.nr_bits) {
			b->cur.nr_bits = nr_bits;
			if ((r = era_build_hold_all(b, e)) < 0)
				return r;
		}
		b->stats.writesets_merged++;
		b->given_nr_bits = nr_bits;
		b->cur.next_bit = 0;
		b->st = S_WS;
		return 0;
	}
	r = write_pending(b, e);
	if (r)
		return r;
	for (uint32_t i = 0; i < b->nr_ws; i++)
		if (b->ws[i].era == era)
			return era_build_fail(b, e, PD_E_INVAL, "writeset for era %u given twice", era);
	/* a dry run (output too small) only counts blocks: it holds no bits */
	if (wsacc_start(&b->cur, era, nr_bits, b->w.dry ? 0 : held_for(nr_bits, b->p.nr_blocks)))
		return era_build_fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", nr_bits);
	b->given_nr_bits = nr_bits;
	b->pending = 1;
	b->stats.nr_writesets++;
	b->st = S_WS;
	return 0;
}

static int check_bit(struct era_builder *b, uint64_t block, int value, struct pd_err *e)
{
	switch (wsacc_check(&b->cur, block, value, b->p.nr_blocks)) {
	case PD_E_ORDER:
		return era_build_fail(b, e, PD_E_ORDER, "bit for block %llu %s", (unsigned long long)block,
			    block + 1 == b->cur.next_bit ? "given twice" : "out of order (blocks must ascend)");
	case PD_E_RANGE:
		return era_build_fail(b, e, PD_E_RANGE, "bit block %llu is out of range (writeset nr_bits %u)",
			    (unsigned long long)block, b->cur.nr_bits);
	}
	return 0;
}

int era_build_writeset_bit(struct era_builder *b, uint32_t block, int value, struct pd_err *e)
{
	if (__builtin_expect(b->st != S_WS, 0))
		return era_build_bad_state(b, e, "bit");
	if (__builtin_expect(block < b->cur.next_bit || block >= b->cur.held_bits, 0)) {
		int r = check_bit(b, block, value, e);
		if (r)
			return r;
		if (value && block >= b->cur.held_bits && (r = era_build_hold_all(b, e))) {
			if (r < 0)
				return r;
			value = 0;
		}
	}
	if (value)
		pd_bit_set(b->cur.bits, block);
	b->cur.next_bit = (uint64_t)block + 1;
	return 0;
}

int era_build_writeset_run(struct era_builder *b, uint32_t begin, uint32_t len, struct pd_err *e)
{
	uint64_t end = (uint64_t)begin + len;
	int r;

	if (b->st != S_WS)
		return era_build_bad_state(b, e, "marked");
	if (!len)
		return 0;
	if ((r = check_bit(b, begin, 1, e)) || (r = check_bit(b, end - 1, 1, e)))
		return r;
	r = end > b->cur.held_bits ? era_build_hold_all(b, e) : 0;
	if (r < 0)
		return r;
	if (!r)
		wsacc_set_range(b->cur.bits, begin, end);
	b->cur.next_bit = end;
	return 0;
}

int era_build_writeset_words(struct era_builder *b, const uint64_t *words, struct pd_err *e)
{
	/* words holds the bits of the writeset as begun, which a merge into a
	 * larger one of the same era does not make any longer */
	uint64_t n = pd_bitset_words(b->given_nr_bits);
	int r;

	if (b->st != S_WS)
		return era_build_bad_state(b, e, "writeset bits");
	if (b->cur.held_bits < b->cur.nr_bits && (r = era_build_hold_all(b, e))) {
		if (r < 0)
			return r;
		n = 0;
	}
	for (uint64_t i = 0; i + 1 < n; i++)
		b->cur.bits[i] |= words[i];
	if (n)
		b->cur.bits[n - 1] |= words[n - 1] & pd_bitset_last_mask(b->given_nr_bits);
	b->cur.next_bit = b->cur.nr_bits;
	return 0;
}

int era_build_writeset_end(struct era_builder *b, struct pd_err *e)
{
	if (b->st != S_WS)
		return era_build_bad_state(b, e, "end of writeset");
	b->st = S_SB;
	return 0;
}

int era_build_era_array_begin(struct era_builder *b, struct pd_err *e)
{
	int r;

	if (b->st != S_SB || b->seen_era_array)
		return era_build_bad_state(b, e, "era_array");
	r = write_pending(b, e);
	if (r)
		return r;
	b->seen_era_array = 1;
	b->ea.first = 0;
	b->ea.next = 0;
	b->st = S_EA;
	return 0;
}

static int fill_gap(struct era_builder *b, uint64_t upto, struct pd_err *e)
{
	uint32_t v = b->p.gap_era;
	int r;

	if (!(b->p.options & ERA_BUILD_ALLOW_GAPS))
		return era_build_fail(b, e, PD_E_INVAL, "era_array: no entry for block %llu",
			    (unsigned long long)b->ea.next);
	b->stats.gaps_filled += upto - b->ea.next;
	if (b->p.gap_era > b->ea_max)
		b->ea_max = b->p.gap_era;
	while (b->ea.next < upto)
		if ((r = eaw_push(&b->ea, v, e))) {
			b->st = S_FAILED;
			return r;
		}
	return 0;
}

int era_build_era(struct era_builder *b, uint32_t block, uint32_t era, struct pd_err *e)
{
	int r;

	if (__builtin_expect(b->st != S_EA, 0))
		return era_build_bad_state(b, e, "era");
	if (__builtin_expect(block != b->ea.next, 0)) {
		if (block < b->ea.next)
			return era_build_fail(b, e, PD_E_ORDER, "era for block %u %s", block,
				    (uint64_t)block + 1 == b->ea.next ? "given twice"
								      : "out of order (blocks must ascend)");
		if (block >= b->p.nr_blocks)
			return era_build_fail(b, e, PD_E_RANGE, "era block %u is out of range (nr_blocks %u)", block,
				    b->p.nr_blocks);
		if ((r = fill_gap(b, block, e)))
			return r;
	}
	if (__builtin_expect(block >= b->p.nr_blocks, 0))
		return era_build_fail(b, e, PD_E_RANGE, "era block %u is out of range (nr_blocks %u)", block, b->p.nr_blocks);
	if (__builtin_expect(era > b->p.current_era, 0)) {
		if (!(b->p.options & ERA_BUILD_CLAMP_ERAS))
			return era_build_fail(b, e, PD_E_RANGE, "era %u of block %u is greater than current_era %u", era, block,
				    b->p.current_era);
		b->stats.eras_clamped++;
		era = b->p.current_era;
	}
	if (era > b->ea_max)
		b->ea_max = era;
	r = eaw_push(&b->ea, era, e);
	if (__builtin_expect(r != 0, 0)) {
		b->st = S_FAILED;
		return r;
	}
	return 0;
}

int era_build_eras_le(struct era_builder *b, uint64_t first, const void *values, uint32_t n, struct pd_err *e)
{
	const unsigned char *p = values;
	int r;

	for (uint32_t i = 0; i < n; i++) {
		if (first + i > UINT32_MAX)
			return era_build_fail(b, e, PD_E_RANGE, "era block %llu is out of range", (unsigned long long)(first + i));
		r = era_build_era(b, (uint32_t)(first + i), pd_le32_at(p, i), e);
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
	if (b->nr_ws) /* qsort(NULL, 0) is undefined */
		qsort(b->ws, b->nr_ws, sizeof(*b->ws), ws_cmp);
	for (uint32_t i = 0; i < b->nr_ws; i++) {
		struct era_disk_writeset v;

		era_disk_writeset_encode(&v, b->ws[i].nr_bits, b->ws[i].root);
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
		return era_build_bad_state(b, e, "end of era_array");
	if (b->ea.next < b->p.nr_blocks && (r = fill_gap(b, b->p.nr_blocks, e)))
		return r;
	r = eaw_end(&b->ea, e);
	if (!r)
		r = build_ws_tree(b, &b->ws_root, e);
	if (!r)
		r = eaw_build_index(&b->w, b->p.nr_blocks, &b->ea_root, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->st = S_ENDED;
	return 0;
}

/* ---- the feeds (era_feed.h) ---- */

static int feed_ws_begin(void *b, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	return era_build_writeset_begin(b, era, nr_bits, e);
}

static int feed_ws_continue(void *b, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	(void)era;
	(void)nr_bits;
	return era_build_bad_state(b, e, "writeset continued");
}

static int feed_bit(void *b, uint32_t block, int value, struct pd_err *e)
{
	return era_build_writeset_bit(b, block, value, e);
}

static int feed_marked(void *b, uint32_t begin, uint32_t len, struct pd_err *e)
{
	return era_build_writeset_run(b, begin, len, e);
}

static int feed_ws_end(void *b, struct pd_err *e)
{
	return era_build_writeset_end(b, e);
}

static int feed_ea_begin(void *b, struct pd_err *e)
{
	return era_build_era_array_begin(b, e);
}

static int feed_ea_continue(void *b, struct pd_err *e)
{
	return era_build_bad_state(b, e, "era_array continued");
}

static int feed_era(void *b, uint32_t block, uint32_t era, struct pd_err *e)
{
	return era_build_era(b, block, era, e);
}

static int feed_ea_end(void *b, struct pd_err *e)
{
	return era_build_era_array_end(b, e);
}

struct era_feed era_build_feed(struct era_builder *b)
{
	return (struct era_feed){
		.ctx = b,
		.writeset_begin = feed_ws_begin,
		.writeset_continue = feed_ws_continue,
		.bit = feed_bit,
		.marked = feed_marked,
		.writeset_end = feed_ws_end,
		.era_array_begin = feed_ea_begin,
		.era_array_continue = feed_ea_continue,
		.era = feed_era,
		.era_array_end = feed_ea_end,
	};
}

/* A guard for every writer: metadata whose meaning the kernel's digest
 * would change is never committed. The cheap test needs nothing; when it
 * fails, what was written is read back from the device (the superblock is
 * not yet there) with a digest map of 4 bytes + 1 bit per block. */
static int check_digest_safe(struct era_builder *b, struct pd_err *e)
{
	struct era_writeset_info *ws;
	struct era_digest_result res;
	struct pd_bm *bm;
	int r;

	if (era_digest_cheap_safe(b->nr_ws != 0, b->ws_min_era, b->ea_max))
		return 0;
	ws = calloc(b->nr_ws, sizeof(*ws));
	if (!ws)
		return era_build_fail(b, e, PD_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < b->nr_ws; i++)
		ws[i] = (struct era_writeset_info){ .era = b->ws[i].era, .nr_bits = b->ws[i].nr_bits, .root = b->ws[i].root };
	r = pd_bm_open(&bm, b->dev->path, PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, e);
	if (!r) {
		r = era_digest_check_built(bm, b->p.nr_blocks, ws, b->nr_ws, b->ea_root, &res, e);
		pd_bm_close(bm);
	}
	free(ws);
	if (r)
		return r;
	if (res.nr_unsafe) {
		char msg[sizeof(e->msg)];

		era_digest_describe(&res, msg, sizeof(msg));
		return era_build_fail(b, e, PD_E_INVAL, "%s", msg);
	}
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
		return era_build_bad_state(b, e, b->seen_era_array ? "end of superblock" : "end of superblock without era_array");
	r = pd_sm_build_linear(&b->w, dev_blocks, &sm, e);
	if (r == -PD_E_NOSPC || (!r && b->w.dry)) {
		uint64_t need = pd_sm_min_device_blocks(pd_writer_used(&b->w) -
							pd_sm_overhead(dev_blocks));
		b->needed_bytes = need == UINT64_MAX ? UINT64_MAX : need * PD_BLOCK_SIZE;
		if (need == UINT64_MAX)
			return era_build_fail(b, e, PD_E_NOSPC, "the metadata needs more than the %llu blocks a space map can address",
				    (unsigned long long)PD_SM_MAX_BLOCKS);
		return era_build_fail(b, e, PD_E_NOSPC, "output too small: the metadata needs %llu bytes (%llu blocks of 4096), the output has %llu",
			    (unsigned long long)b->needed_bytes, (unsigned long long)need,
			    (unsigned long long)b->dev->size_bytes);
	}
	if (!r)
		r = pd_writer_flush(&b->w, e);
	if (!r)
		r = pd_bdev_sync(b->dev, e);
	if (!r)
		r = check_digest_safe(b, e);
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
		return era_build_fail(b, e, PD_E_NOMEM, "out of memory");
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
