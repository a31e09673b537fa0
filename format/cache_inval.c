#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../libpd/bitset.h"
#include "cache_inval.h"
#include "cache_map.h"
#include "cache_sb.h"

struct inval_walk {
	const struct cache_inval_in *in;
	const struct cache_sb *sb;
	uint64_t *marked;
	uint64_t nr_mapped, nr_marked;
	struct pd_err *e;
};

/* Any bit set in words over [first, last]? Word at a time: a cache block
 * may span many era blocks. */
static int any_bit(const uint64_t *w, uint64_t first, uint64_t last)
{
	uint64_t fw = first >> 6, lw = last >> 6;
	uint64_t head = ~0ull << (first & 63), tail = ~0ull >> (63 - (last & 63));

	if (fw == lw)
		return (w[fw] & head & tail) != 0;
	if (w[fw] & head || w[lw] & tail)
		return 1;
	for (uint64_t i = fw + 1; i < lw; i++)
		if (w[i])
			return 1;
	return 0;
}

static int on_mapping(void *ctx, uint32_t cblock, uint64_t oblock, uint32_t flags)
{
	struct inval_walk *v = ctx;
	uint64_t cbs = v->sb->data_block_size, ebs = v->in->era_block_size, begin, last;

	(void)flags;
	v->nr_mapped++;
	/* origin sectors [oblock * cbs, (oblock + 1) * cbs) */
	if (__builtin_mul_overflow(oblock, cbs, &begin) || begin / ebs >= v->in->era_nr_blocks)
		return pd_fail(v->e, PD_E_RANGE, v->sb->mapping_root,
			       "cache block %u maps origin block %llu, beyond the era device's %llu blocks of %llu sectors "
			       "(do the two metadata devices belong together?)",
			       cblock, (unsigned long long)oblock, (unsigned long long)v->in->era_nr_blocks,
			       (unsigned long long)ebs);
	last = (begin + cbs - 1) / ebs;
	if (last >= v->in->era_nr_blocks)
		last = v->in->era_nr_blocks - 1;
	if (any_bit(v->in->era_marked, begin / ebs, last)) {
		pd_bit_set(v->marked, cblock);
		v->nr_marked++;
	}
	return 0;
}

/* Both superblocks bound the origin's size: the era's nr_blocks (rounded
 * up to era blocks) and the cache's discard bitset (rounded up to discard
 * blocks). Intervals that do not meet mean two different origins. */
static int check_sizes(const struct cache_sb *sb, const struct cache_inval_in *in, struct pd_err *e)
{
	uint64_t a, b = in->era_nr_blocks * in->era_block_size, lo, hi;

	if (!sb->discard_block_size || !sb->discard_nr_blocks)
		return 0; /* not recorded yet: the mapping checks still apply */
	if (__builtin_mul_overflow(sb->discard_block_size, sb->discard_nr_blocks, &a))
		return pd_fail(e, PD_E_CORRUPT, CACHE_SUPERBLOCK_LOCATION, "cache superblock: discard size overflows");
	lo = a - sb->discard_block_size > b - in->era_block_size ? a - sb->discard_block_size
							       : b - in->era_block_size;
	hi = a < b ? a : b;
	if (lo >= hi)
		return pd_fail(e, PD_E_CORRUPT, CACHE_SUPERBLOCK_LOCATION,
			       "size mismatch: the cache's origin is %llu sectors (%llu discard blocks of %llu), "
			       "the era device %llu sectors (%llu blocks of %u): not the same device",
			       (unsigned long long)a, (unsigned long long)sb->discard_nr_blocks,
			       (unsigned long long)sb->discard_block_size, (unsigned long long)b,
			       (unsigned long long)in->era_nr_blocks, in->era_block_size);
	return 0;
}

/* The superblock as a reader racing the kernel's write of it may see it:
 * a torn copy fails its checksum, a second look a moment later does not.
 * Three looks, then what the last one said. */
static int sb_read_settled(struct pd_bm *bm, struct cache_sb *sb, void *raw, struct pd_err *e)
{
	int r = 0;

	for (int i = 0; i < 3; i++) {
		pd_bm_invalidate(bm);
		r = cache_sb_read(bm, sb, raw, e);
		if (r != -PD_E_CSUM && r != -PD_E_CORRUPT)
			break;
	}
	return r;
}

static int one_read(struct pd_bm *bm, const struct cache_inval_in *in, struct cache_inval_out *out,
		    int *consistent, struct pd_err *e)
{
	uint8_t before[PD_BLOCK_SIZE], after[PD_BLOCK_SIZE];
	struct cache_sb sb, sb2;
	struct inval_walk v = { .in = in, .sb = &sb, .e = e };
	struct pd_err e2;
	int r;

	r = sb_read_settled(bm, &sb, before, e);
	if (r)
		return r;
	r = check_sizes(&sb, in, e);
	if (r)
		return r;
	v.marked = calloc(pd_bitset_words(sb.cache_blocks) + 1, 8);
	if (!v.marked)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	r = cache_map_walk(bm, &sb, on_mapping, &v, e);
	/* A walk that failed is damage only if the metadata held still under
	 * it: blocks the kernel rewrote mid-walk (a new superblock since) are
	 * read again like any inconsistent copy. A superblock that cannot be
	 * read again after a good walk was being written: read again too. */
	if (sb_read_settled(bm, &sb2, after, r ? &e2 : e)) {
		*consistent = 0;
		free(v.marked);
		return 0;
	}
	if (r && !memcmp(before, after, PD_BLOCK_SIZE)) {
		free(v.marked);
		return r;
	}
	*consistent = !r && !memcmp(before, after, PD_BLOCK_SIZE);
	if (!*consistent) {
		free(v.marked);
		return 0;
	}
	out->marked = v.marked;
	out->nr_cblocks = sb.cache_blocks;
	out->cache_block_size = sb.data_block_size;
	out->version = sb.version;
	out->nr_mapped = v.nr_mapped;
	out->nr_marked = v.nr_marked;
	return 0;
}

int cache_invalidation(struct pd_bm *bm, const struct cache_inval_in *in, struct cache_inval_out *out,
		       struct pd_err *e)
{
	unsigned max = in->max_attempts ? in->max_attempts : 1;

	memset(out, 0, sizeof(*out));
	if (!in->era_block_size || !in->era_nr_blocks)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "era metadata has no blocks");
	for (unsigned i = 0; i < max; i++) {
		int consistent = 0, r = one_read(bm, in, out, &consistent, e);

		if (r)
			return r;
		out->attempts = i + 1;
		if (consistent)
			return 0;
		/* a commit happened mid-walk: give the kernel a moment, read again */
		nanosleep(&(struct timespec){ 0, 20000000L * (i + 1) }, NULL);
	}
	return pd_fail(e, PD_E_BUSY, CACHE_SUPERBLOCK_LOCATION,
		       "cache metadata changed during each of %u reads: the cache is being written; "
		       "suspend it (dmsetup suspend CACHE), run again, then resume it", max);
}
