// The one btree/array size model (libpd: pd_btree_nodes, pd_array_total_blocks):
// with full nodes it is what the builder allocates, block for block; with
// half-full nodes it is era_metadata_size's estimate, an upper bound of it.
#include <gtest/gtest.h>
#include "era_fixture.h"

extern "C" {
#include "format/era_size.h"
#include "libpd/array_build.h"
#include "libpd/btree_build.h"
}

namespace {

const uint64_t DEV_BLOCKS = 8192; // 32 MiB, sparse: one space-map bitmap

// Builds nr_blocks eras and nr_ws writesets (eras 1..nr_ws, each with a run
// set); returns the space map's nr_allocated as a walk reads it back.
uint64_t built_blocks(uint32_t nr_blocks, uint32_t nr_ws)
{
	Dev dev(DEV_BLOCKS * PD_BLOCK_SIZE);
	era_builder *b;
	pd_err e;
	era_build_params p = params(nr_blocks, nr_ws + 1);

	EXPECT_EQ(era_build_open(&b, &dev.d, &e), 0) << e.msg;
	int r = era_build_begin(b, &p, &e);
	for (uint32_t w = 1; !r && w <= nr_ws; w++) {
		r = era_build_writeset_begin(b, w, nr_blocks, &e);
		if (!r)
			r = era_build_writeset_run(b, 0, nr_blocks < 3 ? nr_blocks : 3, &e);
		if (!r)
			r = era_build_writeset_end(b, &e);
	}
	if (!r)
		r = era_build_era_array_begin(b, &e);
	for (uint32_t i = 0; !r && i < nr_blocks; i++)
		r = era_build_era(b, i, i < 3 ? nr_ws : i % (nr_ws + 2), &e); // marked: the newest writeset's era
	if (!r)
		r = era_build_era_array_end(b, &e);
	if (!r)
		r = era_build_commit(b, &e);
	EXPECT_EQ(r, 0) << e.msg;
	uint64_t used = r ? 0 : era_build_blocks_used(b);
	era_build_free(b);
	Walked wk = walk(dev.path);
	EXPECT_TRUE(wk.have_sb);
	EXPECT_EQ(wk.sb.sm.nr_allocated, used);
	return wk.sb.sm.nr_allocated;
}

// The writeset tree as the builder writes it: full leaves of 201, full internal nodes.
uint64_t ws_tree_built(uint64_t nr_ws)
{
	return pd_btree_nodes(nr_ws, ERA_WS_TREE_LEAF_ENTRIES, pd_node_max_entries(8));
}

// The model, full nodes: superblock, era array, writesets, writeset tree, space map.
uint64_t model_blocks(uint32_t nr_blocks, uint32_t nr_ws)
{
	return 1 + pd_array_build_blocks(nr_blocks, 4) +
	       nr_ws * pd_array_build_blocks(pd_bitset_words(nr_blocks), 8) +
	       ws_tree_built(nr_ws) + pd_sm_overhead(DEV_BLOCKS);
}

struct Case {
	uint32_t nr_blocks, nr_ws;
};

// Around one array block (1018 entries), one full index leaf (252 array
// blocks), two index leaves; writeset trees of one leaf (201) and of three nodes.
const Case cases[] = {
	{1, 0}, {1018, 0}, {1019, 1}, {252 * 1018, 0}, {252 * 1018 + 1, 3},
	{600000, 2}, {64, 201}, {64, 202}, {100, 450},
};

} // namespace

TEST(SizeModel, NodeCountsByHand)
{
	EXPECT_EQ(pd_btree_nodes(0, 255, 255), 1u);          // the empty leaf
	EXPECT_EQ(pd_btree_nodes(255, 255, 255), 1u);
	EXPECT_EQ(pd_btree_nodes(256, 255, 255), 3u);        // two leaves, a root
	EXPECT_EQ(pd_btree_nodes(255 * 255, 255, 255), 256u);
	EXPECT_EQ(pd_btree_nodes(255 * 255 + 1, 255, 255), 259u);
	EXPECT_EQ(pd_btree_nodes(202, 201, 255), 3u);        // leaves and internal nodes differ
	EXPECT_EQ(pd_btree_nodes(1000, 100, 100), 11u);
	EXPECT_EQ(pd_array_total_blocks(0, 4, 255), 1u);     // no value block, the empty index leaf
	EXPECT_EQ(pd_array_total_blocks(1019, 4, 255), 3u);
	EXPECT_EQ(pd_array_total_blocks(1u << 24, 4, 126), 16481u + 131 + 2 + 1);
}

TEST(SizeModel, BuilderAllocatesWhatTheModelSays)
{
	for (const Case &c : cases) {
		SCOPED_TRACE(testing::Message() << c.nr_blocks << " blocks, " << c.nr_ws << " writesets");
		EXPECT_EQ(built_blocks(c.nr_blocks, c.nr_ws), model_blocks(c.nr_blocks, c.nr_ws));
	}
}

TEST(SizeModel, EstimateIsTheModelHalfFullAndBoundsTheBuilder)
{
	const uint32_t half_index = pd_node_max_entries(8) / 2, half_tree = ERA_WS_TREE_LEAF_ENTRIES / 2;

	for (const Case &c : cases) {
		SCOPED_TRACE(testing::Message() << c.nr_blocks << " blocks, " << c.nr_ws << " writesets");
		era_size_opts o{};
		era_size s{};
		pd_err e;
		o.nr_blocks = c.nr_blocks;
		o.nr_writesets = c.nr_ws;
		o.no_snapshot = 1;
		ASSERT_EQ(era_metadata_size(&o, &s, &e), 0) << e.msg;
		EXPECT_EQ(s.era_array, pd_array_total_blocks(c.nr_blocks, 4, half_index));
		EXPECT_EQ(s.writeset, pd_array_total_blocks(pd_bitset_words(c.nr_blocks), 8, half_index));
		EXPECT_EQ(s.writeset_tree, pd_btree_nodes(c.nr_ws + 1, half_tree, half_tree));
		EXPECT_GE(s.era_array, pd_array_build_blocks(c.nr_blocks, 4));
		EXPECT_GE(s.writeset, pd_array_build_blocks(pd_bitset_words(c.nr_blocks), 8));
		EXPECT_GE(s.writeset_tree, ws_tree_built(c.nr_ws));
		// the live image holds what the builder writes, its space map aside
		EXPECT_GE(s.live, built_blocks(c.nr_blocks, c.nr_ws) - pd_sm_overhead(DEV_BLOCKS));
	}
}
