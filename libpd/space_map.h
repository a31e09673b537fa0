/* The metadata space map: reference counts of every metadata block, kept in
 * bitmap blocks (2 bits a block) listed by an index block, with counts above
 * 2 in a btree. This is the read side. */
#ifndef PD_SPACE_MAP_H
#define PD_SPACE_MAP_H
#include <stdint.h>
#include "btree.h"

struct pd_sm_root {
	uint64_t nr_blocks;
	uint64_t nr_allocated;
	uint64_t bitmap_root;     /* index block */
	uint64_t ref_count_root;  /* btree: block -> le32 count */
};

void pd_sm_root_decode(const void *raw, struct pd_sm_root *r);
void pd_sm_root_encode(void *raw, const struct pd_sm_root *r);

struct pd_sm_walker {
	struct pd_bm *bm;
	struct pd_refs *refs;     /* optional: the space map's own blocks are counted */
	/* Counts of blocks [first, first + n), one call per bitmap block.
	 * nr_free_recorded is what the index says of that bitmap. */
	int (*counts)(void *ctx, uint64_t first, const uint32_t *counts, uint32_t n,
		      uint32_t nr_free_recorded, uint64_t bitmap_block);
	int (*damage)(void *ctx, const struct pd_err *e);
	void *ctx;
};

/* Whether an index entry's nr_free fits its bitmap of n entries (n is below
 * PD_SM_ENTRIES_PER_BITMAP only in the last bitmap) of which `used` have a
 * nonzero count. Writers differ on the entries past the device's end: the
 * kernel and thin-provisioning-tools 1.1.0 count them free (and so do we),
 * 0.9.0 counts only the entries inside the device. Both, nothing else. */
int pd_sm_nr_free_valid(uint32_t nr_free_recorded, uint32_t n, uint32_t used);

/* Walks the space map. Bitmaps that cannot be read are reported to damage()
 * and, if it says go on, skipped. */
int pd_sm_walk(const struct pd_sm_walker *w, const struct pd_sm_root *root, struct pd_err *e);

#endif
