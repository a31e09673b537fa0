// The salvage decisions (format/era_salvage.h) and era_repair's library call
// (format/era_repair.h) on metadata built clean and then damaged.
#include <gtest/gtest.h>
#include <algorithm>
#include <string>
#include "era_fixture.h"

namespace {

const uint64_t MiB = 1u << 20;

/* The era array entry of block i, as the builder lays it out. */
void set_entry(Dev &d, uint32_t i, uint32_t era)
{
	d.patch(1 + i / 1018, &pd_array_validator,
		[&](uint8_t *p) { pd_put32(p + sizeof(pd_disk_array_header) + 4 * (i % 1018), era); });
}

struct Salvaged {
	int rc;
	era_salvage_stats st{};
	Walked w;
};

Salvaged salvage(Dev &d)
{
	Salvaged s;
	pd_bm *bm;
	pd_err e;
	EXPECT_EQ(pd_bm_open(&bm, d.path.c_str(), PD_OPEN_RDONLY, 64, &e), 0);
	era_visitor v = s.w.visitor();
	s.rc = era_salvage_walk(bm, 0, &v, &s.st, &e);
	pd_bm_close(bm);
	return s;
}

struct Repaired {
	int rc;
	pd_err e;
	era_repair_result res{};
};

Repaired repair(Dev &in, Dev &out)
{
	Repaired r;
	pd_bm *bm;
	era_builder *b;
	EXPECT_EQ(pd_bm_open(&bm, in.path.c_str(), PD_OPEN_RDONLY, 64, &r.e), 0);
	EXPECT_EQ(era_build_open(&b, &out.d, &r.e), 0);
	era_repair_opts o{};
	r.rc = era_repair_metadata(bm, b, &o, &r.res, &r.e);
	era_build_free(b);
	pd_bm_close(bm);
	return r;
}

/* 3000 blocks (three era array blocks), current era 6; writesets 3 {1, 2}
 * and 5 {2, 4}; every entry 0 but block 7 (2). */
Spec base()
{
	Spec s{params(3000, 6), {{3, {1, 2}}, {5, {2, 4}}}, std::vector<uint32_t>(3000, 0)};
	s.eras[7] = 2;
	return s;
}

/* A device holding base(), for a test to damage. */
struct BaseDev : Dev {
	BaseDev() : Dev(MiB)
	{
		pd_err e;
		EXPECT_EQ(build(*this, base(), &e), 0) << e.msg;
	}
};

} // namespace

TEST(Salvage, CleanMetadataPassesThrough)
{
	BaseDev d;
	Spec s = base();
	Salvaged r = salvage(d);
	ASSERT_EQ(r.rc, 0);
	EXPECT_EQ(r.st.writesets_lost, 0);
	EXPECT_EQ(r.st.writesets_folded, 0u);
	EXPECT_EQ(r.st.gaps_filled, 0u);
	EXPECT_EQ(r.st.eras_clamped, 0u);
	ASSERT_EQ(r.w.ws.size(), 2u);
	EXPECT_EQ(r.w.ws[0].set, s.ws[0].second);
	EXPECT_EQ(r.w.ws[1].set, s.ws[1].second);
	EXPECT_EQ(r.w.eras, s.eras);
	EXPECT_TRUE(r.w.problems.empty());
}

TEST(Salvage, UnsafeWritesetsFoldedIntoTheEraArray)
{
	BaseDev d;
	set_entry(d, 1, 5);  // marked only by era 3: the digest would lower it to 3
	Salvaged r = salvage(d);
	ASSERT_EQ(r.rc, 0);
	EXPECT_EQ(r.st.writesets_folded, 1u);
	EXPECT_EQ(r.st.fold_era, 3u);
	EXPECT_EQ(r.st.unsafe_blocks, 1u);
	// era 3 is gone as a writeset; its blocks got max(entry, 3)
	ASSERT_EQ(r.w.ws.size(), 1u);
	EXPECT_EQ(r.w.ws[0].info.era, 5u);
	EXPECT_EQ(r.w.ws[0].set, (std::vector<uint32_t>{2, 4}));
	EXPECT_EQ(r.w.eras[1], 5u);
	EXPECT_EQ(r.w.eras[2], 3u);
	EXPECT_EQ(r.w.eras[4], 0u);  // era 5's block stays with its writeset
	EXPECT_EQ(r.w.eras[7], 2u);
}

TEST(Salvage, FoldingTheNewestFoldsEveryOlderOne)
{
	BaseDev d;
	set_entry(d, 4, 6);  // marked by era 5 only
	Salvaged r = salvage(d);
	EXPECT_EQ(r.st.writesets_folded, 2u);
	EXPECT_EQ(r.st.fold_era, 5u);
	EXPECT_TRUE(r.w.ws.empty());
	EXPECT_EQ(r.w.eras[1], 3u);
	EXPECT_EQ(r.w.eras[2], 5u);  // the newest marking it
	EXPECT_EQ(r.w.eras[4], 6u);
}

TEST(Salvage, LostWritesetTreeGivesEveryEntryTheCurrentEra)
{
	BaseDev d;
	Walked before = walk(d.path);
	d.break_checksum(before.sb.writeset_tree_root);
	Salvaged r = salvage(d);
	ASSERT_EQ(r.rc, 0);
	EXPECT_EQ(r.st.writesets_lost, 1);
	EXPECT_TRUE(r.w.has_problem(ERA_P_WS_TREE));
	EXPECT_EQ(r.w.eras, std::vector<uint32_t>(3000, 6));
}

TEST(Salvage, WritesetFromTheFutureIsDropped)
{
	BaseDev d;
	Walked before = walk(d.path);
	// the writeset tree's leaf: the second key (era 5) becomes era 9
	d.patch(before.sb.writeset_tree_root, &pd_btree_validator, [](uint8_t *p) { pd_put64(p + 32 + 8, 9); });
	Salvaged r = salvage(d);
	EXPECT_TRUE(r.w.has_problem(ERA_P_WS_ERA_FUTURE));
	EXPECT_EQ(r.st.writesets_lost, 1);
	for (const Walked::Ws &w : r.w.ws)
		EXPECT_LE(w.info.era, 6u);
	EXPECT_EQ(r.w.eras, std::vector<uint32_t>(3000, 6));
}

TEST(Salvage, EraAfterTheCurrentEraClamped)
{
	BaseDev d;
	set_entry(d, 2000, 99);
	Salvaged r = salvage(d);
	EXPECT_EQ(r.st.eras_clamped, 1u);
	EXPECT_EQ(r.w.eras[2000], 6u);
	EXPECT_EQ(r.w.eras[1999], 0u);
}

TEST(Salvage, UnreadableEraArrayBlockFilledWithTheCurrentEra)
{
	BaseDev d;
	d.break_checksum(2);  // entries 1018 .. 2035
	Salvaged r = salvage(d);
	EXPECT_EQ(r.st.gaps_filled, 1018u);
	EXPECT_TRUE(r.w.has_problem(ERA_P_ERA_ARRAY));
	ASSERT_EQ(r.w.eras.size(), 3000u);
	EXPECT_EQ(r.w.eras[1017], 0u);
	EXPECT_EQ(r.w.eras[1018], 6u);
	EXPECT_EQ(r.w.eras[2035], 6u);
	EXPECT_EQ(r.w.eras[2036], 0u);
	EXPECT_EQ(r.w.eras[7], 2u);
}

TEST(Salvage, DamagedBitsetReadsAsWritten)
{
	BaseDev d;
	Walked before = walk(d.path);
	ASSERT_EQ(before.ws.size(), 2u);
	d.break_checksum(before.ws[0].info.root);  // era 3's bitset
	Salvaged r = salvage(d);
	EXPECT_TRUE(r.w.has_problem(ERA_P_WS_BITSET));
	// nothing written is lost: every block counts as marked by era 3 (in the
	// era array, or in a writeset)
	for (uint32_t b = 0; b < 3000; b++) {
		uint32_t logical = r.w.eras[b];
		for (const Walked::Ws &w : r.w.ws)
			if (std::binary_search(w.set.begin(), w.set.end(), b))
				logical = std::max(logical, w.info.era);
		ASSERT_GE(logical, 3u) << b;
	}
}

TEST(Repair, OutputChecksCleanAndKeepsEveryWrite)
{
	BaseDev in;
	Dev out(MiB);
	set_entry(in, 1, 5);      // unsafe
	set_entry(in, 2500, 42);  // in the future
	Repaired r = repair(in, out);
	ASSERT_EQ(r.rc, 0) << r.e.msg;
	EXPECT_EQ(r.res.salvage.writesets_folded, 1u);
	EXPECT_EQ(r.res.salvage.eras_clamped, 1u);
	era_check_result c = check(out.path);
	EXPECT_TRUE(clean(c));
	Walked w = walk(out.path);
	EXPECT_EQ(w.sb.current_era, 6u);
	EXPECT_EQ(w.sb.nr_blocks, 3000u);
	EXPECT_EQ(w.eras[1], 5u);
	EXPECT_EQ(w.eras[2], 3u);
	EXPECT_EQ(w.eras[2500], 6u);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].info.era, 5u);
}

TEST(Repair, InputWithoutSuperblockWritesNothing)
{
	BaseDev in, out;  // the output held valid metadata
	in.break_checksum(0);
	std::vector<uint8_t> b0 = out.block(0), b1 = out.block(1);
	Repaired r = repair(in, out);
	EXPECT_NE(r.rc, 0);
	EXPECT_EQ(r.e.code, PD_E_CSUM);
	EXPECT_EQ(r.e.block, 0u);
	EXPECT_NE(std::string(r.e.msg).find("superblock: checksum mismatch"), std::string::npos) << r.e.msg;
	// refused before the builder began: the output is not touched
	EXPECT_TRUE(out.block(0) == b0);
	EXPECT_TRUE(out.block(1) == b1);
}

TEST(Repair, DamageIsReportedAndCounted)
{
	BaseDev in;
	Dev out(MiB);
	in.break_checksum(2);
	Repaired r = repair(in, out);
	ASSERT_EQ(r.rc, 0) << r.e.msg;
	EXPECT_GE(r.res.nr_problems, 1u);
	EXPECT_EQ(r.res.stats.gaps_filled, 1018u);
	EXPECT_TRUE(clean(check(out.path)));
	Walked w = walk(out.path);
	EXPECT_EQ(w.eras[1500], 6u);
	EXPECT_EQ(w.eras[7], 2u);
}

TEST(Salvage, CurrentWritesetMergedWithTheArchivedOneOfItsEra)
{
	// the tree holds era 6 (the current era) and the superblock's current
	// writeset is era 6 too: one writeset comes out, with both's bits
	Dev d(MiB);
	pd_err e;
	Spec s{params(3000, 6), {{3, {1}}, {6, {5, 9}}}, std::vector<uint32_t>(3000, 0)};
	ASSERT_EQ(build(d, s, &e), 0) << e.msg;
	Walked before = walk(d.path);
	ASSERT_EQ(before.ws.size(), 2u);
	uint64_t era3_root = before.ws[0].info.root;  // the current one gets era 3's bits
	d.patch(0, &era_sb_validator, [&](uint8_t *p) {
		pd_put64(p + offsetof(era_disk_sb, current_writeset_root), era3_root);
	});
	Walked w = walk(d.path);
	ASSERT_EQ(w.ws.size(), 3u);
	EXPECT_TRUE(w.has_problem(ERA_P_WS_CURRENT_DUP));
	Salvaged r = salvage(d);
	ASSERT_EQ(r.rc, 0);
	EXPECT_EQ(r.st.writesets_merged, 1u);
	ASSERT_EQ(r.w.ws.size(), 2u);
	EXPECT_EQ(r.w.ws[1].info.era, 6u);
	EXPECT_EQ(r.w.ws[1].set, (std::vector<uint32_t>{1, 5, 9}));
	// and the repair writes that one writeset
	Dev out(MiB);
	Repaired rp = repair(d, out);
	ASSERT_EQ(rp.rc, 0) << rp.e.msg;
	EXPECT_TRUE(clean(check(out.path)));
	Walked o = walk(out.path);
	ASSERT_EQ(o.ws.size(), 2u);
	EXPECT_EQ(o.ws[1].set, (std::vector<uint32_t>{1, 5, 9}));
}
