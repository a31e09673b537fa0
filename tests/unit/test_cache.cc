// dm-cache metadata (format/cache_*): superblock layout, the mapping walk
// and the era-to-cache block translation, on images built block by block.
#include <gtest/gtest.h>
#include <cstdlib>
#include <map>
#include "image.h"

namespace {

// Superblock at 0, mapping leaf at 1, array blocks from 2.
struct CacheImage : Image {
	explicit CacheImage(uint32_t cbs, uint32_t nr_cblocks, const std::map<uint32_t, uint64_t> &maps,
			    uint32_t version = 1, uint32_t flags = 0)
		: Image(16)
	{
		uint32_t per = pd_array_max_entries(8), nr_ab = (nr_cblocks + per - 1) / per;
		std::vector<uint64_t> keys;
		std::vector<std::vector<uint8_t>> vals;
		for (uint32_t i = 0; i < nr_ab; i++) {
			uint8_t *a = at(2 + i);
			uint32_t n = nr_cblocks - i * per < per ? nr_cblocks - i * per : per;
			pd_put32(a + 4, per);
			pd_put32(a + 8, n);
			pd_put32(a + 12, 8);
			pd_put64(a + 16, 2 + i);
			for (auto &m : maps)
				if (m.first / per == i)
					pd_put64(a + 24 + 8 * (m.first % per), m.second << 16 | 1);
			seal(2 + i, &pd_array_validator);
			keys.push_back(i);
			vals.push_back(u64(2 + i));
		}
		node(1, PD_NODE_LEAF, keys, vals, 8);
		uint8_t *s = at(0);
		pd_put32(s + 4, flags);
		pd_put64(s + 32, CACHE_MAGIC);
		pd_put32(s + 40, version);
		pd_put64(s + 64, 16);          // sm nr_blocks
		pd_put64(s + 192, 1);          // mapping root
		pd_put32(s + 232, cbs);
		pd_put32(s + 236, 8);
		pd_put32(s + 240, nr_cblocks);
		seal(0, &cache_sb_validator);
		write();
	}
};

std::vector<uint32_t> run_inval(CacheImage &img, const std::vector<uint64_t> &era_marked_blocks,
				uint64_t era_nr, uint32_t ebs, int *rc = nullptr)
{
	std::vector<uint64_t> words(pd_bitset_words(era_nr) + 1, 0);
	for (auto b : era_marked_blocks)
		pd_bit_set(words.data(), b);
	pd_bm *bm;
	pd_err e;
	EXPECT_EQ(0, pd_bm_open(&bm, img.path.c_str(), PD_OPEN_RDONLY, 16, &e));
	cache_inval_in in = { words.data(), era_nr, ebs, 3 };
	cache_inval_out out;
	int r = cache_invalidation(bm, &in, &out, &e);
	pd_bm_close(bm);
	if (rc)
		*rc = r;
	std::vector<uint32_t> got;
	if (r)
		return got;
	for (uint32_t c = 0; c < out.nr_cblocks; c++)
		if (pd_bit_test(out.marked, c))
			got.push_back(c);
	EXPECT_EQ(got.size(), out.nr_marked);
	EXPECT_EQ(1u, out.attempts);
	free(out.marked);
	return got;
}

} // namespace

TEST(CacheSb, DecodesTheKernelLayout)
{
	CacheImage img(192, 10, {}, 2);
	pd_put64(img.at(0) + 216, 192);
	pd_put64(img.at(0) + 224, 77);
	pd_put64(img.at(0) + 284, 5);
	cache_sb sb;
	cache_sb_decode(img.at(0), &sb);
	EXPECT_EQ(CACHE_MAGIC, sb.magic);
	EXPECT_EQ(2u, sb.version);
	EXPECT_EQ(192u, sb.data_block_size);
	EXPECT_EQ(10u, sb.cache_blocks);
	EXPECT_EQ(1u, sb.mapping_root);
	EXPECT_EQ(192u, sb.discard_block_size);
	EXPECT_EQ(77u, sb.discard_nr_blocks);
	EXPECT_EQ(5u, sb.dirty_root);
	pd_put32(img.at(0) + 40, 1);
	cache_sb_decode(img.at(0), &sb);
	EXPECT_EQ(0u, sb.dirty_root); // v1: not a field
}

TEST(CacheInval, EdgesOfTheOverlap)
{
	// cache blocks of 192 sectors over era blocks of 128: cache block for
	// oblock 1 covers sectors 192..383 = era blocks 1 and 2
	CacheImage img(192, 8, { { 0, 0 }, { 1, 1 }, { 2, 2 }, { 5, 3 } });
	EXPECT_EQ((std::vector<uint32_t>{ 1 }), run_inval(img, { 2 }, 8, 128));
	EXPECT_EQ((std::vector<uint32_t>{ 0, 1 }), run_inval(img, { 1 }, 8, 128));
	EXPECT_EQ((std::vector<uint32_t>{ 2 }), run_inval(img, { 3 }, 8, 128));
	EXPECT_EQ((std::vector<uint32_t>{ 2, 5 }), run_inval(img, { 4 }, 8, 128));
	EXPECT_EQ((std::vector<uint32_t>{ 5 }), run_inval(img, { 5 }, 8, 128));
	EXPECT_EQ((std::vector<uint32_t>{}), run_inval(img, { 6, 7 }, 8, 128));
	// era blocks much larger: all four origin blocks in era block 0
	EXPECT_EQ((std::vector<uint32_t>{ 0, 1, 2, 5 }), run_inval(img, { 0 }, 2, 1024));
	// era blocks tiny (8 sectors): a cache block spans 24 of them, a word boundary inside
	EXPECT_EQ((std::vector<uint32_t>{ 2 }), run_inval(img, { 2 * 24 + 23 }, 200, 8));
	EXPECT_EQ((std::vector<uint32_t>{ 5 }), run_inval(img, { 3 * 24 }, 200, 8));
}

TEST(CacheInval, RefusesWhatItCannotTrust)
{
	int rc;
	CacheImage beyond(128, 4, { { 0, 0 }, { 3, 9 } });
	EXPECT_TRUE(run_inval(beyond, { 0 }, 8, 128, &rc).empty());
	EXPECT_EQ(-PD_E_RANGE, rc);
	CacheImage check(128, 4, { { 0, 0 } }, 1, CACHE_SB_FLAG_NEEDS_CHECK);
	run_inval(check, { 0 }, 8, 128, &rc);
	EXPECT_EQ(-PD_E_CORRUPT, rc);
	CacheImage bad(128, 4, { { 0, 0 } });
	bad.at(2)[30] ^= 1;
	bad.write();
	run_inval(bad, { 0 }, 8, 128, &rc);
	EXPECT_EQ(-PD_E_CSUM, rc);
}
