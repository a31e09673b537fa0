#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../libpd/array_build.h"
#include "../libpd/bitset.h"
#include "../libpd/btree_build.h"
#include "../libpd/disk.h"
#include "../libpd/sm_build.h"
#include "../libpd/writer.h"
#include "era_build.h"
#include "era_digest.h"
#include "era_sb.h"

#define EA_PER 1018u                /* era array entries per block */
#define EA_BATCH 32u                /* era array blocks per write */
/* What the second part of a parallel build may hold in writeset bitmaps
 * beyond two whole ones (of nr_blocks bits): more and it fails, and the
 * build is redone in one thread, which holds one at a time. */
#define PART_SLACK_BYTES (32ull << 20)
_Static_assert((PD_BLOCK_SIZE - sizeof(struct pd_disk_array_header)) / 4 == EA_PER, "era array block");

/* Writes era array blocks straight to their fixed places, block 1 + index,
 * EA_BATCH at a time. Entries come consecutively from `first`; when that is
 * not the start of a block (the second part of a parallel build) the block
 * is kept apart as the head, for the join to complete. */
struct eaw {
	int fd;
	int dry;                  /* write nothing (output too small) */
	uint64_t nr;              /* entries in the array */
	uint64_t first;           /* first entry given here; UINT64_MAX: none yet */
	uint64_t next;            /* the next entry */
	uint32_t *cur;            /* values of the block being filled; NULL: none */
	uint32_t cur_n, cur_cap;  /* entries in it so far / in all */
	uint64_t cur_blk;
	int cur_is_head;
	unsigned char *head;      /* one block */
	uint64_t head_blk;
	int have_head;
	unsigned char *batch;     /* EA_BATCH blocks */
	uint64_t batch_first;     /* array block of batch slot 0 */
	unsigned nb;              /* complete blocks in the batch */
};

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
	uint32_t given_nr_bits;      /* nr_bits of the latest writeset_begin (a merge keeps the larger cur) */
	uint64_t *bits;
	uint64_t cap_words;
	uint64_t held_bits;       /* bits [0, held_bits) are in bits; the rest are clear */
	uint64_t next_bit;        /* bits must ascend */
	int seen_era_array;
	/* era array */
	struct eaw ea;
	int ea_ready;
	uint64_t ws_root, ea_root;
	uint64_t used;            /* blocks used, after commit */
	uint64_t needed_bytes;
	struct era_build_stats stats;
	/* the digest rule's cheap test (era_digest.h), checked at commit */
	uint32_t ws_min_era, ea_max;
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
	free(b->ea.head);
	free(b->ea.batch);
	free(b->ws);
	free(b->bits);
	free(b);
}

void era_build_reset(struct era_builder *b)
{
	struct pd_bdev *dev = b->dev;

	if (b->writer_ready)
		pd_writer_free(&b->w);
	free(b->ea.head);
	free(b->ea.batch);
	free(b->ws);
	free(b->bits);
	memset(b, 0, sizeof(*b));
	b->dev = dev;
}

static uint64_t ea_blocks(uint64_t nr)
{
	return (nr + EA_PER - 1) / EA_PER;
}

static uint32_t ea_entries_in(const struct eaw *w, uint64_t blk)
{
	uint64_t left = w->nr - blk * EA_PER;
	return left < EA_PER ? (uint32_t)left : EA_PER;
}

static int eaw_init(struct eaw *w, int fd, uint64_t nr, int dry, struct pd_err *e)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->dry = dry;
	w->nr = nr;
	w->first = UINT64_MAX;
	if (posix_memalign((void **)&w->batch, PD_BLOCK_SIZE, (size_t)EA_BATCH * PD_BLOCK_SIZE) ||
	    posix_memalign((void **)&w->head, PD_BLOCK_SIZE, PD_BLOCK_SIZE)) {
		free(w->batch);
		w->batch = NULL;
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	}
	memset(w->head, 0, PD_BLOCK_SIZE);
	return 0;
}

static void eaw_seal(const struct eaw *w, unsigned char *blk, uint64_t idx)
{
	struct pd_disk_array_header *h = (struct pd_disk_array_header *)blk;
	uint32_t n = ea_entries_in(w, idx);

	h->max_entries = htole32(EA_PER);
	h->nr_entries = htole32(n);
	h->value_size = htole32(4);
	h->blocknr = htole64(1 + idx);
	memset(blk + sizeof(*h) + 4u * n, 0, (size_t)(EA_PER - n) * 4u + (PD_BLOCK_SIZE - sizeof(*h) - 4u * EA_PER));
	pd_array_validator.prepare(&pd_array_validator, blk, 1 + idx);
}

static int eaw_write(const struct eaw *w, const unsigned char *buf, uint64_t idx, unsigned n, struct pd_err *e)
{
	size_t len = (size_t)n * PD_BLOCK_SIZE, done = 0;
	off_t off = (off_t)((1 + idx) << PD_BLOCK_SHIFT);

	if (w->dry)
		return 0;
	while (done < len) {
		ssize_t r = pwrite(w->fd, buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return pd_fail(e, PD_E_IO, 1 + idx + done / PD_BLOCK_SIZE, "write failed: %s",
				       r < 0 ? strerror(errno) : "no progress");
		done += (size_t)r;
	}
	return 0;
}

static int eaw_flush(struct eaw *w, struct pd_err *e)
{
	int r;

	if (!w->nb)
		return 0;
	if (!w->dry)
		for (unsigned i = 0; i < w->nb; i++)
			eaw_seal(w, w->batch + (size_t)i * PD_BLOCK_SIZE, w->batch_first + i);
	r = eaw_write(w, w->batch, w->batch_first, w->nb, e);
	w->nb = 0;
	return r;
}

/* The block being filled is full (or there is none): move on to the block
 * of entry `next`. */
static int eaw_advance(struct eaw *w, struct pd_err *e)
{
	uint64_t blk = w->next / EA_PER;
	uint32_t off = (uint32_t)(w->next % EA_PER);

	if (w->cur && !w->cur_is_head && ++w->nb == EA_BATCH) {
		int r = eaw_flush(w, e);
		if (r)
			return r;
	}
	if (w->next >= w->nr)
		return pd_fail(e, PD_E_RANGE, PD_NO_BLOCK, "era block %llu is out of range", (unsigned long long)w->next);
	if (off) {
		/* only the first block of a part can start inside */
		w->cur = (uint32_t *)(void *)(w->head + sizeof(struct pd_disk_array_header));
		w->cur_is_head = 1;
		w->head_blk = blk;
		w->have_head = 1;
	} else {
		if (!w->nb)
			w->batch_first = blk;
		w->cur = (uint32_t *)(void *)(w->batch + (size_t)w->nb * PD_BLOCK_SIZE + sizeof(struct pd_disk_array_header));
		w->cur_is_head = 0;
	}
	w->cur_blk = blk;
	w->cur_n = off;
	w->cur_cap = ea_entries_in(w, blk);
	return 0;
}

static inline int eaw_push(struct eaw *w, uint32_t le_value, struct pd_err *e)
{
	if (__builtin_expect(w->cur_n == w->cur_cap, 0)) {
		int r = eaw_advance(w, e);
		if (r)
			return r;
	}
	w->cur[w->cur_n++] = le_value;
	w->next++;
	return 0;
}

/* Writes every complete block; an incomplete last one stays (a part's end
 * that is not the array's). */
static int eaw_end(struct eaw *w, struct pd_err *e)
{
	if (w->cur && !w->cur_is_head && w->cur_n == w->cur_cap) {
		w->nb++;
		w->cur = NULL;
		w->cur_n = w->cur_cap = 0;
	}
	return eaw_flush(w, e);
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

/* Bytes of bitset blocks (values and index) a writeset of nr_bits bits
 * takes on the output. */
static uint64_t bitset_bytes(uint32_t nr_bits)
{
	return array_blocks(pd_bitset_words(nr_bits), 8) * PD_BLOCK_SIZE;
}

uint64_t era_build_min_bytes(uint32_t nr_blocks)
{
	/* superblock, writeset tree leaf, era array */
	uint64_t used = 1 + 1 + array_blocks(nr_blocks, 4);
	uint64_t dev = pd_sm_min_device_blocks(used);

	return dev == UINT64_MAX ? UINT64_MAX : dev * PD_BLOCK_SIZE;
}


/* Does block 0 hold what looks like era metadata? Only then must its
 * zeroing reach the device before anything else is written. */
static int holds_era_superblock(struct pd_bdev *dev)
{
	void *blk;
	struct pd_err e;
	int found = 1; /* when unsure, sync */

	if (posix_memalign(&blk, PD_BLOCK_SIZE, PD_BLOCK_SIZE))
		return 1;
	if (!pd_bdev_read(dev, ERA_SUPERBLOCK_LOCATION, blk, &e))
		found = pd_get64((const char *)blk + offsetof(struct era_disk_sb, magic)) == ERA_MAGIC;
	free(blk);
	return found;
}

int era_build_begin(struct era_builder *b, const struct era_build_params *p, struct pd_err *e)
{
	uint64_t limit = b->dev->nr_blocks < PD_SM_MAX_BLOCKS ? b->dev->nr_blocks : PD_SM_MAX_BLOCKS;
	int r;

	if (b->st != S_NEW)
		return bad_state(b, e, "superblock");
	if (p->nr_blocks > ERA_MAX_NR_BLOCKS)
		return fail(b, e, PD_E_RANGE, "nr_blocks %u: " ERA_MAX_NR_BLOCKS_WHY, p->nr_blocks);
	/* gaps filled past the current era would be entries the kernel never wrote */
	if ((p->options & ERA_BUILD_ALLOW_GAPS) && p->gap_era > p->current_era)
		return fail(b, e, PD_E_RANGE, "gap era %u is greater than current_era %u", p->gap_era, p->current_era);
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
	b->ea_ready = 1;
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

/* Bits [begin, end) set in w. */
static void set_range(uint64_t *w, uint64_t begin, uint64_t end)
{
	uint64_t i = begin;

	for (; i < end && (i & 63); i++)
		pd_bit_set(w, i);
	for (; i + 64 <= end; i += 64)
		w[i >> 6] = ~0ull;
	for (; i < end; i++)
		pd_bit_set(w, i);
}

/* The bitmap of a writeset of nr_bits bits, of which the first `held` are
 * in memory (words) and the rest are clear: only the origin's blocks are
 * held unless a bit past them is set (a writeset from before a shrink). */
static uint64_t held_for(uint32_t nr_bits, uint32_t nr_blocks)
{
	return nr_bits < nr_blocks ? nr_bits : nr_blocks;
}

/* Writes the bitset: the held words, then zero words up to nr_bits. */
static int build_bitset(struct pd_writer *w, const uint64_t *words, uint64_t held, uint64_t nr_bits,
			uint64_t *root, struct pd_err *e)
{
	static const uint64_t zero;
	struct pd_array_builder a;
	uint64_t n_held = pd_bitset_words(held), n = pd_bitset_words(nr_bits);
	uint64_t buf[509];
	int r;

	if (held == nr_bits)
		return pd_bitset_build(w, words, nr_bits, root, e);
	r = pd_array_builder_init(&a, w, 8, e);
	for (uint64_t i = 0; !r && i < n_held;) {
		uint64_t k = n_held - i < 509 ? n_held - i : 509;
		for (uint64_t j = 0; j < k; j++)
			buf[j] = htole64(words[i + j]);
		r = pd_array_builder_push(&a, buf, k, e);
		i += k;
	}
	if (!r && n > n_held)
		r = pd_array_builder_fill(&a, &zero, n - n_held, e);
	if (r) {
		pd_array_builder_free(&a);
		return r;
	}
	return pd_array_builder_finish(&a, root, e);
}

/* A bit at or past held_bits is set: hold the whole writeset. Returns 1
 * when the output is already known too small (nothing will be written, so
 * bits are not kept: the bit is dropped). */
static int hold_all(struct era_builder *b, struct pd_err *e)
{
	uint64_t have = pd_bitset_words(b->held_bits), words = pd_bitset_words(b->cur_nr_bits);

	if (b->w.dry)
		return 1;
	if (words > b->cap_words) {
		uint64_t *q = realloc(b->bits, words * 8);
		if (!q)
			return fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", b->cur_nr_bits);
		b->bits = q;
		b->cap_words = words;
	}
	memset(b->bits + have, 0, (words - have) * 8);
	b->held_bits = b->cur_nr_bits;
	return 0;
}

static int write_pending(struct era_builder *b, struct pd_err *e)
{
	uint64_t root;
	int r;

	if (!b->pending)
		return 0;
	b->pending = 0;
	r = build_bitset(&b->w, b->bits, b->held_bits, b->cur_nr_bits, &root, e);
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
	if (!b->nr_ws || b->cur_era < b->ws_min_era)
		b->ws_min_era = b->cur_era;
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
	if (nr_bits > ERA_MAX_NR_BITS)
		return fail(b, e, PD_E_RANGE, "writeset nr_bits %u is too large (at most %u)", nr_bits, ERA_MAX_NR_BITS);
	/* before any memory is taken for it: a bitmap the output cannot hold
	 * is refused (the exact size of a too small output that can is given
	 * at the commit) */
	if (bitset_bytes(nr_bits) > b->dev->size_bytes)
		return fail(b, e, PD_E_NOSPC,
			    "output too small: writeset era %u of %u bits needs %llu bytes of bitset blocks, the output has %llu",
			    era, nr_bits, (unsigned long long)bitset_bytes(nr_bits),
			    (unsigned long long)b->dev->size_bytes);
	if (b->pending && b->cur_era == era && (b->p.options & ERA_BUILD_MERGE_DUP)) {
		/* OR this one into the pending writeset (repair: held whole) */
		if (b->held_bits < b->cur_nr_bits && (r = hold_all(b, e)) < 0)
			return r;
		if (nr_bits > b->cur_nr_bits && b->w.dry) {
			b->cur_nr_bits = nr_bits;
		} else if (nr_bits > b->cur_nr_bits) {
			uint64_t *q = realloc(b->bits, words * 8);
			if (!q)
				return fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", nr_bits);
			memset(q + pd_bitset_words(b->cur_nr_bits), 0, (words - pd_bitset_words(b->cur_nr_bits)) * 8);
			b->bits = q;
			b->cap_words = words;
			b->cur_nr_bits = nr_bits;
			b->held_bits = nr_bits;
		}
		b->stats.writesets_merged++;
		b->given_nr_bits = nr_bits;
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
	/* a dry run (output too small) only counts blocks: it holds no bits */
	b->held_bits = b->w.dry ? 0 : held_for(nr_bits, b->p.nr_blocks);
	words = pd_bitset_words(b->held_bits);
	if (words > b->cap_words || !b->bits) {
		free(b->bits);
		b->bits = malloc(words ? words * 8 : 8);
		if (!b->bits) {
			b->cap_words = 0;
			return fail(b, e, PD_E_NOMEM, "out of memory for a writeset of %u bits", nr_bits);
		}
		b->cap_words = words ? words : 1;
	}
	memset(b->bits, 0, words * 8);
	b->cur_era = era;
	b->cur_nr_bits = nr_bits;
	b->given_nr_bits = nr_bits;
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
	if (__builtin_expect(block < b->next_bit || block >= b->held_bits, 0)) {
		int r = check_bit(b, block, value, e);
		if (r)
			return r;
		if (value && block >= b->held_bits && (r = hold_all(b, e))) {
			if (r < 0)
				return r;
			value = 0;
		}
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
	r = end > b->held_bits ? hold_all(b, e) : 0;
	if (r < 0)
		return r;
	if (!r)
		set_range(b->bits, begin, end);
	b->next_bit = end;
	return 0;
}

int era_build_writeset_words(struct era_builder *b, const uint64_t *words, struct pd_err *e)
{
	/* words holds the bits of the writeset as begun, which a merge into a
	 * larger one of the same era does not make any longer */
	uint64_t n = pd_bitset_words(b->given_nr_bits);
	int r;

	if (b->st != S_WS)
		return bad_state(b, e, "writeset bits");
	if (b->held_bits < b->cur_nr_bits && (r = hold_all(b, e))) {
		if (r < 0)
			return r;
		n = 0;
	}
	for (uint64_t i = 0; i + 1 < n; i++)
		b->bits[i] |= words[i];
	if (n)
		b->bits[n - 1] |= words[n - 1] & (b->given_nr_bits & 63 ? (1ull << (b->given_nr_bits & 63)) - 1
									 : ~0ull);
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
	b->seen_era_array = 1;
	b->ea.first = 0;
	b->ea.next = 0;
	b->st = S_EA;
	return 0;
}

static int fill_gap(struct era_builder *b, uint64_t upto, struct pd_err *e)
{
	uint32_t v = htole32(b->p.gap_era);
	int r;

	if (!(b->p.options & ERA_BUILD_ALLOW_GAPS))
		return fail(b, e, PD_E_INVAL, "era_array: no entry for block %llu",
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
		return bad_state(b, e, "era");
	if (__builtin_expect(block != b->ea.next, 0)) {
		if (block < b->ea.next)
			return fail(b, e, PD_E_ORDER, "era for block %u %s", block,
				    (uint64_t)block + 1 == b->ea.next ? "given twice"
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
	if (era > b->ea_max)
		b->ea_max = era;
	r = eaw_push(&b->ea, htole32(era), e);
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
	if (b->nr_ws) /* qsort(NULL, 0) is undefined */
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

/* The era array's index: array block i is at block 1 + i. */
static int build_ea_index(struct era_builder *b, uint64_t *root, struct pd_err *e)
{
	struct pd_btree_builder bt;
	uint64_t n = ea_blocks(b->p.nr_blocks);
	int r = pd_btree_builder_init(&bt, &b->w, 8, e);

	if (r)
		return r;
	for (uint64_t i = 0; i < n; i++) {
		unsigned char v[8];
		pd_put64(v, 1 + i);
		r = pd_btree_builder_push(&bt, i, v, e);
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
	if (b->ea.next < b->p.nr_blocks && (r = fill_gap(b, b->p.nr_blocks, e)))
		return r;
	r = eaw_end(&b->ea, e);
	if (!r)
		r = build_ws_tree(b, &b->ws_root, e);
	if (!r)
		r = build_ea_index(b, &b->ea_root, e);
	if (r) {
		b->st = S_FAILED;
		return r;
	}
	b->st = S_ENDED;
	return 0;
}

/* ---- parallel building: a part takes the events of the document's second
 * half in a thread of its own ---- */

struct part_ws {
	uint32_t era, nr_bits;
	uint64_t *bits;
	uint64_t held_bits;       /* as the builder's */
	uint64_t first_bit;       /* UINT64_MAX: no bit given */
	uint64_t next_bit;
	int continued;            /* began before the part did */
};

struct era_build_part {
	struct era_builder *b;
	enum state st;
	struct era_build_params p;
	struct part_ws *ws;       /* in document order */
	uint32_t nr_ws, cap_ws;
	struct part_ws *cur;
	int started_in_ea;
	struct eaw ea;
	uint32_t ea_max;
	uint64_t held_bytes, max_held_bytes;  /* bitmaps held (until the join) */
};

/* Takes bytes more of bitmap memory, within the part's bound. */
static int part_take(struct era_build_part *q, uint64_t bytes, struct pd_err *e);

int era_build_part_new(struct era_builder *b, struct era_build_part **out, struct pd_err *e)
{
	struct era_build_part *q;
	int r;

	if (b->st != S_SB && b->st != S_WS && b->st != S_EA)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "part out of place");
	if (b->p.options)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "no parallel build with repair options");
	q = calloc(1, sizeof(*q));
	if (!q)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	q->b = b;
	q->p = b->p;
	r = eaw_init(&q->ea, b->ea.fd, b->ea.nr, b->ea.dry, e);
	if (r) {
		free(q);
		return r;
	}
	q->max_held_bytes = 2 * 8 * pd_bitset_words(b->p.nr_blocks) + PART_SLACK_BYTES;
	q->st = S_SB;
	*out = q;
	return 0;
}

void era_build_part_free(struct era_build_part *q)
{
	if (!q)
		return;
	for (uint32_t i = 0; i < q->nr_ws; i++)
		free(q->ws[i].bits);
	free(q->ws);
	free(q->ea.head);
	free(q->ea.batch);
	free(q);
}

static int part_fail(struct era_build_part *q, struct pd_err *e, int code, const char *msg)
{
	q->st = S_FAILED;
	return pd_fail(e, code, PD_NO_BLOCK, "%s", msg);
}

static int part_take(struct era_build_part *q, uint64_t bytes, struct pd_err *e)
{
	if (bytes > q->max_held_bytes - q->held_bytes)
		return part_fail(q, e, PD_E_NOMEM, "the second part would hold too many writeset bitmaps");
	q->held_bytes += bytes;
	return 0;
}

/* As hold_all() of the builder. */
static int part_hold_all(struct era_build_part *q, struct part_ws *w, struct pd_err *e)
{
	uint64_t have = pd_bitset_words(w->held_bits), words = pd_bitset_words(w->nr_bits);
	uint64_t *n;
	int r;

	if (q->ea.dry)
		return 1;
	if ((r = part_take(q, (words - have) * 8, e)))
		return r;
	n = realloc(w->bits, words * 8);
	if (!n)
		return part_fail(q, e, PD_E_NOMEM, "out of memory");
	memset(n + have, 0, (words - have) * 8);
	w->bits = n;
	w->held_bits = w->nr_bits;
	return 0;
}

static int part_ws_add(struct era_build_part *q, uint32_t era, uint32_t nr_bits, int continued, struct pd_err *e)
{
	struct part_ws *w;
	uint64_t words;
	int r;

	if (q->st != S_SB || q->started_in_ea)
		return part_fail(q, e, PD_E_INVAL, "writeset out of place");
	if (era > q->p.current_era || nr_bits > ERA_MAX_NR_BITS)
		return part_fail(q, e, PD_E_RANGE, "writeset out of range");
	if (bitset_bytes(nr_bits) > q->b->dev->size_bytes)
		return part_fail(q, e, PD_E_NOSPC, "output too small");
	for (uint32_t i = 0; i < q->nr_ws; i++)
		if (q->ws[i].era == era)
			return part_fail(q, e, PD_E_INVAL, "writeset given twice");
	if (q->nr_ws == q->cap_ws) {
		uint32_t cap = q->cap_ws ? 2 * q->cap_ws : 4;
		struct part_ws *n = realloc(q->ws, cap * sizeof(*n));
		if (!n)
			return part_fail(q, e, PD_E_NOMEM, "out of memory");
		q->ws = n;
		q->cap_ws = cap;
	}
	w = &q->ws[q->nr_ws];
	memset(w, 0, sizeof(*w));
	w->held_bits = q->ea.dry ? 0 : held_for(nr_bits, q->p.nr_blocks);
	words = pd_bitset_words(w->held_bits);
	if ((r = part_take(q, words * 8, e)))
		return r;
	w->bits = calloc(words ? words : 1, 8);
	if (!w->bits)
		return part_fail(q, e, PD_E_NOMEM, "out of memory");
	q->nr_ws++;
	w->era = era;
	w->nr_bits = nr_bits;
	w->first_bit = UINT64_MAX;
	w->continued = continued;
	q->cur = w;
	q->st = S_WS;
	return 0;
}

int era_build_part_writeset_continue(struct era_build_part *q, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	if (q->nr_ws)
		return part_fail(q, e, PD_E_INVAL, "writeset continued out of place");
	return part_ws_add(q, era, nr_bits, 1, e);
}

int era_build_part_writeset_begin(struct era_build_part *q, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	return part_ws_add(q, era, nr_bits, 0, e);
}

static int part_check_bit(struct era_build_part *q, uint64_t block, int value, struct pd_err *e)
{
	if (block < q->cur->next_bit)
		return part_fail(q, e, PD_E_ORDER, "bit out of order");
	if (block >= q->cur->nr_bits && (value || block >= q->p.nr_blocks))
		return part_fail(q, e, PD_E_RANGE, "bit out of range");
	return 0;
}

int era_build_part_bit(struct era_build_part *q, uint32_t block, int value, struct pd_err *e)
{
	struct part_ws *w = q->cur;

	if (__builtin_expect(q->st != S_WS, 0))
		return part_fail(q, e, PD_E_INVAL, "bit out of place");
	if (__builtin_expect(block < w->next_bit || block >= w->held_bits || w->first_bit == UINT64_MAX, 0)) {
		int r = part_check_bit(q, block, value, e);
		if (r)
			return r;
		if (value && block >= w->held_bits && (r = part_hold_all(q, w, e))) {
			if (r < 0)
				return r;
			value = 0;
		}
		if (w->first_bit == UINT64_MAX)
			w->first_bit = block;
	}
	if (value)
		pd_bit_set(w->bits, block);
	w->next_bit = (uint64_t)block + 1;
	return 0;
}

int era_build_part_run(struct era_build_part *q, uint32_t begin, uint32_t len, struct pd_err *e)
{
	struct part_ws *w = q->cur;
	uint64_t end = (uint64_t)begin + len;
	int r;

	if (q->st != S_WS)
		return part_fail(q, e, PD_E_INVAL, "marked out of place");
	if (!len)
		return 0;
	if ((r = part_check_bit(q, begin, 1, e)) || (r = part_check_bit(q, end - 1, 1, e)))
		return r;
	r = end > w->held_bits ? part_hold_all(q, w, e) : 0;
	if (r < 0)
		return r;
	if (w->first_bit == UINT64_MAX)
		w->first_bit = begin;
	if (!r)
		set_range(w->bits, begin, end);
	w->next_bit = end;
	return 0;
}

int era_build_part_writeset_end(struct era_build_part *q, struct pd_err *e)
{
	if (q->st != S_WS)
		return part_fail(q, e, PD_E_INVAL, "end of writeset out of place");
	q->st = S_SB;
	return 0;
}

int era_build_part_era_array_begin(struct era_build_part *q, struct pd_err *e)
{
	if (q->st != S_SB || q->started_in_ea)
		return part_fail(q, e, PD_E_INVAL, "era_array out of place");
	q->ea.first = 0;
	q->ea.next = 0;
	q->st = S_EA;
	return 0;
}

int era_build_part_era_array_continue(struct era_build_part *q, struct pd_err *e)
{
	if (q->st != S_SB || q->nr_ws)
		return part_fail(q, e, PD_E_INVAL, "era_array continued out of place");
	q->started_in_ea = 1;
	q->ea.next = UINT64_MAX; /* no block is that: the first entry takes the slow path */
	q->st = S_EA;
	return 0;
}

int era_build_part_era(struct era_build_part *q, uint32_t block, uint32_t era, struct pd_err *e)
{
	if (__builtin_expect(q->st != S_EA, 0))
		return part_fail(q, e, PD_E_INVAL, "era out of place");
	if (__builtin_expect(block != q->ea.next, 0)) {
		if (q->ea.first != UINT64_MAX)
			return part_fail(q, e, PD_E_ORDER, "era entries not consecutive");
		q->ea.first = q->ea.next = block;
	}
	if (__builtin_expect(block >= q->p.nr_blocks || era > q->p.current_era, 0))
		return part_fail(q, e, PD_E_RANGE, "era entry out of range");
	if (era > q->ea_max)
		q->ea_max = era;
	if (__builtin_expect(eaw_push(&q->ea, htole32(era), e) != 0, 0)) {
		q->st = S_FAILED;
		return -PD_E_IO;
	}
	return 0;
}

int era_build_part_era_array_end(struct era_build_part *q, struct pd_err *e)
{
	int r;

	if (q->st != S_EA)
		return part_fail(q, e, PD_E_INVAL, "end of era_array out of place");
	r = eaw_end(&q->ea, e);
	if (r) {
		q->st = S_FAILED;
		return r;
	}
	q->st = S_ENDED;
	return 0;
}

static int join_fail(struct era_builder *b, struct pd_err *e, const char *what)
{
	return fail(b, e, PD_E_INVAL, "parallel build: %s", what);
}

int era_build_join(struct era_builder *b, struct era_build_part *q, struct pd_err *e)
{
	struct eaw *a = &b->ea, *c = &q->ea;
	uint32_t i = 0;
	int r;

	if (q->st != S_ENDED)
		return join_fail(b, e, "the second part did not end");
	if (q->started_in_ea) {
		if (b->st != S_EA)
			return join_fail(b, e, "the first part did not end in the era array");
	} else {
		struct part_ws *w = q->nr_ws ? &q->ws[0] : NULL;
		uint64_t n;

		if (!w || !w->continued || b->st != S_WS || !b->pending || b->cur_era != w->era ||
		    b->cur_nr_bits != w->nr_bits || (w->first_bit != UINT64_MAX && w->first_bit < b->next_bit))
			return join_fail(b, e, "the parts do not meet in a writeset");
		if (w->held_bits > b->held_bits && (r = hold_all(b, e)))
			return r < 0 ? r : join_fail(b, e, "a dry run holds no bits");
		n = pd_bitset_words(w->held_bits);
		for (uint64_t k = 0; k < n; k++)
			b->bits[k] |= w->bits[k];
		if (w->first_bit != UINT64_MAX)
			b->next_bit = w->next_bit;
		if ((r = era_build_writeset_end(b, e)))
			return r;
		for (i = 1; i < q->nr_ws; i++) {
			w = &q->ws[i];
			if ((r = era_build_writeset_begin(b, w->era, w->nr_bits, e)))
				return r;
			if (w->held_bits > b->held_bits && (r = hold_all(b, e)))
				return r < 0 ? r : join_fail(b, e, "a dry run holds no bits");
			n = pd_bitset_words(w->held_bits);
			memcpy(b->bits, w->bits, n * 8);
			b->next_bit = w->next_bit;
			if ((r = era_build_writeset_end(b, e)))
				return r;
		}
		if ((r = era_build_era_array_begin(b, e)))
			return r;
	}
	/* the era array: the first part's last block and the second's first */
	if (c->first != UINT64_MAX) {
		if (c->first != a->next)
			return join_fail(b, e, "the era array's parts do not meet");
		if (a->cur && a->cur_n < a->cur_cap) {
			if (!c->have_head || c->head_blk != a->cur_blk || c->next < a->cur_blk * EA_PER + a->cur_cap)
				return join_fail(b, e, "the era array's parts do not meet");
			memcpy(a->cur + a->cur_n, (uint32_t *)(void *)(c->head + sizeof(struct pd_disk_array_header)) + a->cur_n,
			       (size_t)(a->cur_cap - a->cur_n) * 4);
			a->cur_n = a->cur_cap;
		} else if (c->have_head) {
			return join_fail(b, e, "the era array's parts do not meet");
		}
		a->next = c->next;
	}
	if (q->ea_max > b->ea_max)
		b->ea_max = q->ea_max;
	return era_build_era_array_end(b, e);
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
		return fail(b, e, PD_E_NOMEM, "out of memory");
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
		return fail(b, e, PD_E_INVAL, "%s", msg);
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
