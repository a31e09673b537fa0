// The space map's write side (libpd/sm_build.h) read back by its read side
// (libpd/space_map.h): counts, index entries, damage.
#include <gtest/gtest.h>
#include <string>
#include "era_fixture.h"

namespace {

struct Counts {
	std::vector<uint32_t> c;
	std::vector<uint32_t> nr_free;     // per bitmap, as the index records it
	std::vector<uint64_t> bitmaps;
	std::vector<pd_err> damage;
};

int on_counts(void *ctx, uint64_t first, const uint32_t *counts, uint32_t n, uint32_t nr_free, uint64_t bitmap)
{
	auto *k = static_cast<Counts *>(ctx);
	EXPECT_EQ(first, k->c.size());
	k->c.insert(k->c.end(), counts, counts + n);
	k->nr_free.push_back(nr_free);
	k->bitmaps.push_back(bitmap);
	return 0;
}

int on_damage(void *ctx, const pd_err *e)
{
	static_cast<Counts *>(ctx)->damage.push_back(*e);
	return 0;
}

/* Writes a space map for [0, used) on dev (the blocks themselves are left zero). */
int sm_build(Dev &dev, uint64_t used, pd_sm_root *root, pd_err *e)
{
	pd_writer w;
	int r = pd_writer_init(&w, &dev.d, dev.d.nr_blocks, used, e);
	if (r)
		return r;
	r = pd_sm_build_linear(&w, dev.d.nr_blocks < PD_SM_MAX_BLOCKS ? dev.d.nr_blocks : PD_SM_MAX_BLOCKS, root, e);
	if (!r)
		r = pd_writer_flush(&w, e);
	pd_writer_free(&w);
	return r;
}

int sm_read(Dev &dev, const pd_sm_root &root, Counts &k, pd_err *e)
{
	pd_bm *bm;
	int r = pd_bm_open(&bm, dev.path.c_str(), PD_OPEN_RDONLY, 16, e);
	if (r)
		return r;
	pd_sm_walker w{};
	w.bm = bm;
	w.counts = on_counts;
	w.damage = on_damage;
	w.ctx = &k;
	r = pd_sm_walk(&w, &root, e);
	pd_bm_close(bm);
	return r;
}

// A space map for the first 10 blocks of 64, built for each test to damage
// and read back.
class SmRead : public ::testing::Test {
protected:
	Dev dev{64 * PD_BLOCK_SIZE};
	pd_sm_root root;
	pd_err e;
	Counts k;

	void SetUp() override { ASSERT_EQ(sm_build(dev, 10, &root, &e), 0) << e.msg; }
	int read() { return sm_read(dev, root, k, &e); }
};

} // namespace

TEST(SmBuild, CountsRoundTripThroughTheReader)
{
	Dev dev(64 * PD_BLOCK_SIZE);
	pd_sm_root root;
	pd_err e;
	ASSERT_EQ(sm_build(dev, 10, &root, &e), 0) << e.msg;
	// one bitmap, the ref-count leaf, the index: after the 10 used blocks
	EXPECT_EQ(root.nr_blocks, 64u);
	EXPECT_EQ(root.nr_allocated, 10u + pd_sm_overhead(64));
	EXPECT_EQ(root.bitmap_root, 12u);
	EXPECT_EQ(root.ref_count_root, 11u);
	Counts k;
	ASSERT_EQ(sm_read(dev, root, k, &e), 0) << e.msg;
	ASSERT_EQ(k.c.size(), 64u);
	for (uint32_t b = 0; b < 64; b++)
		EXPECT_EQ(k.c[b], b < 13 ? 1u : 0u) << b;
	ASSERT_EQ(k.nr_free.size(), 1u);
	EXPECT_EQ(k.bitmaps[0], 10u);
	// the kernel's convention: entries past the device's end count free
	EXPECT_EQ(k.nr_free[0], PD_SM_ENTRIES_PER_BITMAP - 13);
	EXPECT_TRUE(pd_sm_nr_free_valid(k.nr_free[0], 64, 13));
	EXPECT_TRUE(k.damage.empty());
}

TEST(SmBuild, SeveralBitmaps)
{
	// 40000 blocks: three bitmaps, the last one partial
	uint64_t nr = 40000;
	Dev dev(nr * PD_BLOCK_SIZE);
	pd_sm_root root;
	pd_err e;
	uint64_t used = PD_SM_ENTRIES_PER_BITMAP + 100;  // spills into the second bitmap
	ASSERT_EQ(sm_build(dev, used, &root, &e), 0) << e.msg;
	EXPECT_EQ(pd_sm_nr_bitmaps(nr), 3u);
	uint64_t total = used + pd_sm_overhead(nr);
	EXPECT_EQ(root.nr_allocated, total);
	Counts k;
	ASSERT_EQ(sm_read(dev, root, k, &e), 0) << e.msg;
	ASSERT_EQ(k.c.size(), nr);
	uint64_t ones = 0;
	for (uint64_t b = 0; b < nr; b++) {
		ASSERT_EQ(k.c[b], b < total ? 1u : 0u) << b;
		ones += k.c[b];
	}
	EXPECT_EQ(ones, total);
	ASSERT_EQ(k.nr_free.size(), 3u);
	EXPECT_EQ(k.nr_free[0], 0u);
	EXPECT_EQ(k.nr_free[1], PD_SM_ENTRIES_PER_BITMAP - (total - PD_SM_ENTRIES_PER_BITMAP));
	EXPECT_EQ(k.nr_free[2], PD_SM_ENTRIES_PER_BITMAP);
	// bitmaps at used, used + 1, used + 2
	EXPECT_EQ(k.bitmaps, (std::vector<uint64_t>{used, used + 1, used + 2}));
}

TEST(SmBuild, NoSpaceWhenTheSpaceMapDoesNotFit)
{
	Dev dev(16 * PD_BLOCK_SIZE);
	pd_sm_root root;
	pd_err e;
	EXPECT_EQ(sm_build(dev, 14, &root, &e), -PD_E_NOSPC);  // 14 + 3 > 16
	EXPECT_EQ(e.code, PD_E_NOSPC);
	Dev fits(17 * PD_BLOCK_SIZE);
	EXPECT_EQ(sm_build(fits, 14, &root, &e), 0) << e.msg;
	EXPECT_EQ(root.nr_allocated, 17u);
}

TEST(SmBuild, MinDeviceBlocks)
{
	EXPECT_EQ(pd_sm_min_device_blocks(10), 13u);
	uint64_t n = PD_SM_ENTRIES_PER_BITMAP - 3;  // fills one bitmap exactly
	EXPECT_EQ(pd_sm_min_device_blocks(n), PD_SM_ENTRIES_PER_BITMAP);
	EXPECT_EQ(pd_sm_min_device_blocks(n + 1), n + 1 + 4);  // a second bitmap: 2 + leaf + index
	EXPECT_EQ(pd_sm_min_device_blocks(PD_SM_MAX_BLOCKS), UINT64_MAX);
	// the minimum is enough and one block less is not
	for (uint64_t used : {1ull, 500ull, (unsigned long long)n + 1}) {
		uint64_t m = pd_sm_min_device_blocks(used);
		EXPECT_GE(m, used + pd_sm_overhead(m)) << used;
		EXPECT_LT(m - 1, used + pd_sm_overhead(m - 1)) << used;
	}
}

TEST(SmBuild, RootEncodeDecode)
{
	pd_sm_root r{123456789012ull, 42, 7, 9}, back{};
	uint8_t raw[PD_SM_ROOT_SIZE];
	memset(raw, 0xee, sizeof(raw));
	pd_sm_root_encode(raw, &r);
	EXPECT_EQ(pd_get64(raw), 123456789012ull);
	EXPECT_EQ(pd_get64(raw + 8), 42u);
	EXPECT_EQ(pd_get64(raw + 16), 7u);
	EXPECT_EQ(pd_get64(raw + 24), 9u);
	pd_sm_root_decode(raw, &back);
	EXPECT_EQ(back.nr_blocks, r.nr_blocks);
	EXPECT_EQ(back.nr_allocated, r.nr_allocated);
	EXPECT_EQ(back.bitmap_root, r.bitmap_root);
	EXPECT_EQ(back.ref_count_root, r.ref_count_root);
}

TEST_F(SmRead, DamagedBitmapReportedWithItsBlock)
{
	dev.patch(10, nullptr, [](uint8_t *p) { p[100] ^= 1; });  // checksum now wrong
	EXPECT_EQ(read(), 0);
	ASSERT_EQ(k.damage.size(), 1u);
	EXPECT_EQ(k.damage[0].code, PD_E_CSUM);
	EXPECT_EQ(k.damage[0].block, 10u);
	EXPECT_TRUE(k.c.empty());  // the only bitmap skipped
}

TEST_F(SmRead, BadIndexStopsTheWalk)
{
	dev.patch(root.bitmap_root, nullptr, [](uint8_t *p) { p[30] ^= 1; });
	int r = read();
	EXPECT_TRUE(r != 0 || !k.damage.empty());
	const pd_err &d = r ? e : k.damage[0];
	EXPECT_EQ(d.code, PD_E_CSUM);
	EXPECT_EQ(d.block, root.bitmap_root);
}

TEST_F(SmRead, IndexEntryNrFreeIsWhatWasWritten)
{
	// a bitmap's nr_free as 0.9.0 writes it (entries inside the device only)
	dev.patch(root.bitmap_root, &pd_sm_index_validator, [](uint8_t *p) {
		pd_put32(p + 16 + 8, 64 - 13);
	});
	ASSERT_EQ(read(), 0);
	ASSERT_EQ(k.nr_free.size(), 1u);
	EXPECT_EQ(k.nr_free[0], 64u - 13);
	EXPECT_TRUE(pd_sm_nr_free_valid(k.nr_free[0], 64, 13));
	EXPECT_FALSE(pd_sm_nr_free_valid(k.nr_free[0] - 1, 64, 13));
}
