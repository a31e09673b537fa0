/* Writes a fresh metadata space map for a device whose used blocks are
 * exactly [0, used), each referenced once (what a restore writes). The
 * space map's own blocks (bitmaps, an empty ref-count btree leaf, the index
 * block, in that order) are allocated after them and counted in it too. */
#ifndef PD_SM_BUILD_H
#define PD_SM_BUILD_H
#include <stdint.h>
#include "space_map.h"
#include "writer.h"

/* Bitmap blocks a space map of nr_blocks blocks needs. */
static inline uint64_t pd_sm_nr_bitmaps(uint64_t nr_blocks)
{
	return (nr_blocks + PD_SM_ENTRIES_PER_BITMAP - 1) / PD_SM_ENTRIES_PER_BITMAP;
}

/* Blocks the space map adds for a device of dev_blocks (capped at
 * PD_SM_MAX_BLOCKS): its bitmaps, the ref-count leaf and the index. */
static inline uint64_t pd_sm_overhead(uint64_t dev_blocks)
{
	if (dev_blocks > PD_SM_MAX_BLOCKS)
		dev_blocks = PD_SM_MAX_BLOCKS;
	return pd_sm_nr_bitmaps(dev_blocks) + 2;
}

/* The smallest device (in blocks) that holds `used` blocks of metadata plus
 * its space map; UINT64_MAX if none can. */
uint64_t pd_sm_min_device_blocks(uint64_t used);

/* sm_nr_blocks: the size the space map covers (the device size, capped at
 * PD_SM_MAX_BLOCKS). Allocates and writes the space map blocks and fills
 * *root. Fails with PD_E_NOSPC if the result does not fit sm_nr_blocks. */
int pd_sm_build_linear(struct pd_writer *w, uint64_t sm_nr_blocks, struct pd_sm_root *root, struct pd_err *e);

#endif
