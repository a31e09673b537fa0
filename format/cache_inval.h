/* Vendor rollback: the cache blocks that hold origin data written since an
 * era, from the era's marked blocks and a (live) dm-cache's mappings. */
#ifndef CACHE_INVAL_H
#define CACHE_INVAL_H
#include <stdint.h>
#include "../libpd/bm.h"

struct cache_inval_in {
	const uint64_t *era_marked;    /* one bit per era block (era_written_since) */
	uint64_t era_nr_blocks;
	uint32_t era_block_size;       /* sectors */
	unsigned max_attempts;         /* consistent reads tried (>= 1) */
};

struct cache_inval_out {
	uint64_t *marked;              /* malloc'd, pd_bitset_words(nr_cblocks) words */
	uint32_t nr_cblocks;
	uint32_t cache_block_size;     /* sectors */
	uint32_t version;              /* cache metadata version */
	uint64_t nr_mapped;            /* valid mappings seen */
	uint64_t nr_marked;            /* cache blocks to invalidate */
	unsigned attempts;             /* reads it took */
};

/* Reads the cache superblock, walks the mappings, re-reads the superblock
 * (O_DIRECT bm, cache dropped in between) and accepts the walk only when
 * the superblock is byte-identical before and after: the kernel rewrites
 * the superblock with new roots at every commit that changes a mapping.
 * Otherwise it tries again, up to max_attempts, then fails with -PD_E_BUSY.
 * A cache block is marked when its origin range overlaps a marked era
 * block. A mapping beyond the era device, origin sizes that disagree, the
 * needs-check flag or any damage fail the whole call: nothing is marked. */
int cache_invalidation(struct pd_bm *bm, const struct cache_inval_in *in, struct cache_inval_out *out,
		       struct pd_err *e);

#endif
