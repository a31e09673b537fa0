// The space map's index conventions (libpd/space_map.c).
#include <gtest/gtest.h>
#include "shim.h"

TEST(SpaceMapNrFree, KernelCountsTheWholeBitmap)
{
	EXPECT_TRUE(pd_sm_nr_free_valid(PD_SM_ENTRIES_PER_BITMAP - 11, 1024, 11));
	EXPECT_TRUE(pd_sm_nr_free_valid(PD_SM_ENTRIES_PER_BITMAP - 5, PD_SM_ENTRIES_PER_BITMAP, 5));
}

TEST(SpaceMapNrFree, Tpt090CountsOnlyEntriesInsideTheDevice)
{
	EXPECT_TRUE(pd_sm_nr_free_valid(1024 - 11, 1024, 11));
	EXPECT_TRUE(pd_sm_nr_free_valid(0, 64, 64));
}

TEST(SpaceMapNrFree, NothingElse)
{
	EXPECT_FALSE(pd_sm_nr_free_valid(1024 - 10, 1024, 11));
	EXPECT_FALSE(pd_sm_nr_free_valid(1024 - 12, 1024, 11));
	EXPECT_FALSE(pd_sm_nr_free_valid(PD_SM_ENTRIES_PER_BITMAP - 10, 1024, 11));
	EXPECT_FALSE(pd_sm_nr_free_valid(PD_SM_ENTRIES_PER_BITMAP + 1, 1024, 0));
	EXPECT_FALSE(pd_sm_nr_free_valid(0, 1024, 1025));  // more used than entries
	EXPECT_FALSE(pd_sm_nr_free_valid(0, PD_SM_ENTRIES_PER_BITMAP + 1, PD_SM_ENTRIES_PER_BITMAP + 1));
}
