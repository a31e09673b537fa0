// dm-era's limits, each defined once (format/era_disk.h).
#include <gtest/gtest.h>
#include "shim.h"

TEST(EraLimits, WritesetLeafHolds201Entries)
{
	// 8-byte keys and 12-byte values in a 4 KiB node, a multiple of 3 as
	// the kernel rounds it: the writeset walk's bound counts these, not
	// the 336 of 4-byte values.
	EXPECT_EQ(ERA_WS_TREE_LEAF_ENTRIES, 201u);
	EXPECT_EQ(pd_node_max_entries(4), 336u);
}

TEST(EraLimits, NrBitsIsTheKernelsOriginLimit)
{
	EXPECT_EQ(ERA_MAX_NR_BITS, 2147483647u);
}
