/* The dm-cache mapping array: which origin block each cache block holds. */
#ifndef CACHE_MAP_H
#define CACHE_MAP_H
#include <stdint.h>
#include "cache_sb.h"

/* Called for each valid mapping, in cache block order; nonzero stops. */
typedef int (*cache_mapping_fn)(void *ctx, uint32_t cblock, uint64_t oblock, uint32_t flags);

/* Walks every entry [0, sb->cache_blocks) of the mapping array and calls fn
 * for those with the valid bit. Any damage (a block failing its checksum,
 * missing array blocks, wrong counts) stops the walk with -code and e
 * filled: a caller never acts on part of the mappings. */
int cache_map_walk(struct pd_bm *bm, const struct cache_sb *sb, cache_mapping_fn fn, void *ctx,
		   struct pd_err *e);

#endif
