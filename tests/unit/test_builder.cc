// The sequential builder (format/era_build.h): what it writes and refuses.
#include <gtest/gtest.h>
#include <string>
#include "era_fixture.h"

namespace {

const uint64_t MiB = 1u << 20;

Spec simple()
{
	Spec s{params(100, 7), {{2, {0, 5, 63, 64, 99}}, {4, {5, 6}}}, std::vector<uint32_t>(100, 1)};
	s.eras[3] = 2;
	s.eras[6] = 0;
	return s;
}

std::string msg_of(const pd_err &e) { return e.msg; }

// A builder on dev, opened and begun with p: 0, or what the failing step returned.
int start(era_builder **b, Dev &dev, era_build_params *p, pd_err *e)
{
	int r = era_build_open(b, &dev.d, e);

	return r ? r : era_build_begin(*b, p, e);
}

} // namespace

TEST(Builder, SuperblockFields)
{
	Dev dev(MiB);
	pd_err e;
	ASSERT_EQ(build(dev, simple(), &e), 0) << e.msg;
	Walked w = walk(dev.path);
	ASSERT_EQ(w.rc, 0);
	ASSERT_TRUE(w.have_sb);
	EXPECT_EQ(w.sb.magic, ERA_MAGIC);
	EXPECT_EQ(w.sb.version, ERA_VERSION);
	EXPECT_EQ(w.sb.flags, 1u);
	EXPECT_EQ(w.sb.blocknr, 0u);
	EXPECT_EQ(w.sb.data_block_size, 128u);
	EXPECT_EQ(w.sb.metadata_block_size, ERA_METADATA_BLOCK_SECTORS);
	EXPECT_EQ(w.sb.nr_blocks, 100u);
	EXPECT_EQ(w.sb.current_era, 7u);
	EXPECT_EQ(w.sb.current_writeset_nr_bits, 100u);
	EXPECT_EQ(w.sb.current_writeset_root, 0u);
	EXPECT_EQ(w.sb.metadata_snap, 0u);
	EXPECT_EQ(w.sb.sm.nr_blocks, MiB / PD_BLOCK_SIZE);
	for (unsigned i = 0; i < ERA_UUID_LEN; i++)
		EXPECT_EQ(w.sb.uuid[i], 0xa0 + i);
	EXPECT_TRUE(clean(check(dev.path)));
}

TEST(Builder, WritesetsAndErasReadBack)
{
	Dev dev(MiB);
	pd_err e;
	Spec s = simple();
	ASSERT_EQ(build(dev, s, &e), 0) << e.msg;
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 2u);
	EXPECT_EQ(w.ws[0].info.era, 2u);
	EXPECT_EQ(w.ws[0].info.nr_bits, 100u);
	EXPECT_FALSE(w.ws[0].info.current);
	EXPECT_EQ(w.ws[0].set, s.ws[0].second);
	EXPECT_EQ(w.ws[1].info.era, 4u);
	EXPECT_EQ(w.ws[1].set, s.ws[1].second);
	EXPECT_EQ(w.eras, s.eras);
	EXPECT_TRUE(w.problems.empty());
}

TEST(Builder, EraArrayBlocksAtFixedPlaces)
{
	// 3000 entries: array blocks 1, 2, 3 (1018 a block), whatever the writesets
	Dev dev(MiB);
	pd_err e;
	Spec s{params(3000, 9), {{1, {0, 2999}}}, {}};
	s.eras.resize(3000);
	for (uint32_t i = 0; i < 3000; i++)
		s.eras[i] = i % 2;
	ASSERT_EQ(build(dev, s, &e), 0) << e.msg;
	for (uint64_t blk = 1; blk <= 3; blk++) {
		std::vector<uint8_t> b = dev.block(blk);
		EXPECT_EQ(pd_array_validator.check(&pd_array_validator, b.data(), blk, &e), 0) << e.msg;
		EXPECT_EQ(pd_get32(&b[12]), 4u);  // value_size: era entries
		uint32_t nr = pd_get32(&b[8]);
		EXPECT_EQ(nr, blk < 3 ? 1018u : 3000u - 2 * 1018u) << blk;
		uint64_t first = (blk - 1) * 1018;
		EXPECT_EQ(pd_get32(&b[sizeof(pd_disk_array_header)]), (uint32_t)(first % 2));
		EXPECT_EQ(pd_get32(&b[sizeof(pd_disk_array_header) + 4]), (uint32_t)((first + 1) % 2));
	}
	// block 4 is the writeset's bitset (an array of 64-bit words), after the era array
	std::vector<uint8_t> b4 = dev.block(4);
	EXPECT_EQ(pd_array_validator.check(&pd_array_validator, b4.data(), 4, &e), 0) << e.msg;
	EXPECT_EQ(pd_get32(&b4[12]), 8u);
	EXPECT_EQ(pd_get64(&b4[sizeof(pd_disk_array_header)]), 1ull);  // bit 0 set
}

TEST(Builder, BitsMustAscend)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(100, 3);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 100, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 10, 1, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 10, 1, &e), -PD_E_ORDER);
	EXPECT_EQ(e.code, PD_E_ORDER);
	EXPECT_NE(msg_of(e).find("bit for block 10 given twice"), std::string::npos) << e.msg;
	// a failed builder takes nothing more
	EXPECT_EQ(era_build_writeset_bit(b, 11, 1, &e), -PD_E_INVAL);
	EXPECT_NE(msg_of(e).find("out of place"), std::string::npos) << e.msg;
	era_build_free(b);
}

TEST(Builder, BitOutOfOrderAndRange)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(100, 3);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 50, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 20, 1, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 5, 1, &e), -PD_E_ORDER);
	EXPECT_NE(msg_of(e).find("out of order"), std::string::npos) << e.msg;
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 50, &e), 0);
	// false bits past nr_bits are fine (dumps list every block), set ones are not
	EXPECT_EQ(era_build_writeset_bit(b, 60, 0, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 61, 1, &e), -PD_E_RANGE);
	EXPECT_NE(msg_of(e).find("bit block 61 is out of range (writeset nr_bits 50)"), std::string::npos) << e.msg;
	era_build_free(b);
}

TEST(Builder, WritesetRefusals)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(100, 3);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 4, 100, &e), -PD_E_RANGE);
	EXPECT_NE(msg_of(e).find("writeset era 4 is greater than current_era 3"), std::string::npos) << e.msg;
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 2, 100, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 2, 100, &e), -PD_E_INVAL);
	EXPECT_NE(msg_of(e).find("writeset for era 2 given twice"), std::string::npos) << e.msg;
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 1, ERA_MAX_NR_BITS + 1u, &e), -PD_E_RANGE);
	era_build_free(b);
}

TEST(Builder, EventsOutOfPlace)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(10, 3);
	ASSERT_EQ(era_build_open(&b, &dev.d, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 1, 10, &e), -PD_E_INVAL);  // before begin
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 1, &e), -PD_E_INVAL);  // before era_array_begin
	EXPECT_STREQ(e.msg, "era out of place");
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 1, 10, &e), -PD_E_INVAL);  // after the era array
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	EXPECT_EQ(era_build_commit(b, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "end of superblock without era_array out of place");
	era_build_free(b);
}

TEST(Builder, EraEntryRefusals)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(10, 3);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 4, &e), -PD_E_RANGE);
	EXPECT_STREQ(e.msg, "era 4 of block 0 is greater than current_era 3");
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 0, 1, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 1, &e), -PD_E_ORDER);
	EXPECT_STREQ(e.msg, "era for block 0 given twice");
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_era(b, 10, 1, &e), -PD_E_RANGE);
	EXPECT_STREQ(e.msg, "era block 10 is out of range (nr_blocks 10)");
	era_build_free(b);
}

TEST(Builder, GapsRefusedWithoutTheOption)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(10, 3);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 0, 1, &e), 0);
	EXPECT_EQ(era_build_era(b, 5, 1, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "era_array: no entry for block 1");
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 0, 1, &e), 0);
	EXPECT_EQ(era_build_era_array_end(b, &e), -PD_E_INVAL);  // short at the end too
	EXPECT_STREQ(e.msg, "era_array: no entry for block 1");
	era_build_free(b);
}

TEST(Builder, GapsFilledWithTheGapEra)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(10, 6, ERA_BUILD_ALLOW_GAPS);
	p.gap_era = 5;
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 2, 1, &e), 0);
	ASSERT_EQ(era_build_era(b, 7, 2, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_stats st;
	era_build_get_stats(b, &st);
	EXPECT_EQ(st.gaps_filled, 8u);
	era_build_free(b);
	Walked w = walk(dev.path);
	EXPECT_EQ(w.eras, (std::vector<uint32_t>{5, 5, 1, 5, 5, 5, 5, 2, 5, 5}));
}

TEST(Builder, ClampErasOption)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(4, 3, ERA_BUILD_CLAMP_ERAS);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	uint8_t le[16];
	const uint32_t v[4] = {9, 3, 4, 0};
	for (int i = 0; i < 4; i++)
		pd_put32(le + 4 * i, v[i]);
	ASSERT_EQ(era_build_eras_le(b, 0, le, 4, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_stats st;
	era_build_get_stats(b, &st);
	EXPECT_EQ(st.eras_clamped, 2u);
	era_build_free(b);
	EXPECT_EQ(walk(dev.path).eras, (std::vector<uint32_t>{3, 3, 3, 0}));
}

TEST(Builder, MergeDuplicateWriteset)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(200, 5, ERA_BUILD_MERGE_DUP);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 5, 100, &e), 0);
	ASSERT_EQ(era_build_writeset_run(b, 10, 3, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	// the same era again, longer: ORed into the first, which grows
	ASSERT_EQ(era_build_writeset_begin(b, 5, 200, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 11, 1, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 150, 1, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	for (uint32_t i = 0; i < 200; i++)
		ASSERT_EQ(era_build_era(b, i, 0, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_stats st;
	era_build_get_stats(b, &st);
	EXPECT_EQ(st.writesets_merged, 1u);
	EXPECT_EQ(st.nr_writesets, 1u);
	era_build_free(b);
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].info.nr_bits, 200u);
	EXPECT_EQ(w.ws[0].set, (std::vector<uint32_t>{10, 11, 12, 150}));
}

TEST(Builder, WordsAreMaskedToNrBits)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(70, 2);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 70, &e), 0);
	uint64_t words[2] = {0x8000000000000001ull, ~0ull};  // bits past 70 must vanish
	ASSERT_EQ(era_build_writeset_words(b, words, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	for (uint32_t i = 0; i < 70; i++)
		ASSERT_EQ(era_build_era(b, i, 1, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_free(b);
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].set, (std::vector<uint32_t>{0, 63, 64, 65, 66, 67, 68, 69}));
	EXPECT_TRUE(clean(check(dev.path)));
}

TEST(Builder, NoSpaceSaysHowMuchIsNeeded)
{
	Spec s{params(50000, 3), {{1, {1, 2, 3}}, {2, {4}}}, std::vector<uint32_t>(50000, 0)};
	uint64_t need;
	{
		Dev small(8 * PD_BLOCK_SIZE);
		era_builder *b;
		pd_err e;
		EXPECT_EQ(build(small, s, &e, &b), -PD_E_NOSPC);
		EXPECT_EQ(e.code, PD_E_NOSPC);
		need = era_build_needed_bytes(b);
		EXPECT_NE(std::string(e.msg).find("output too small: the metadata needs " + std::to_string(need) + " bytes"),
			  std::string::npos) << e.msg;
		EXPECT_GE(need, era_build_min_bytes(50000));
		era_build_free(b);
		// nothing valid left behind
		EXPECT_NE(walk(small.path).rc, 0);
	}
	{
		Dev exact(need);  // exactly enough
		pd_err e;
		ASSERT_EQ(build(exact, s, &e), 0) << e.msg;
		EXPECT_TRUE(clean(check(exact.path)));
	}
	{
		Dev short_by_one(need - PD_BLOCK_SIZE);
		pd_err e;
		EXPECT_EQ(build(short_by_one, s, &e), -PD_E_NOSPC);
	}
}

TEST(Builder, DigestGuardRefusesUnsafeMetadata)
{
	// block 1: era array says 5, the only writeset marking it is era 3: the
	// kernel's digest would lower it to 3
	Dev dev(MiB);
	{
		Spec ok{params(8, 6), {}, std::vector<uint32_t>(8, 1)};
		pd_err e;
		ASSERT_EQ(build(dev, ok, &e), 0);  // a valid superblock to start from
	}
	Spec s{params(8, 6), {{3, {1}}}, {0, 5, 0, 0, 0, 0, 0, 0}};
	pd_err e;
	EXPECT_EQ(build(dev, s, &e), -PD_E_INVAL);
	EXPECT_NE(std::string(e.msg).find("block 1: era array says 5 but the newest writeset marking it is era 3"),
		  std::string::npos) << e.msg;
	// the old superblock is gone and no new one was written
	EXPECT_NE(walk(dev.path).rc, 0);
	std::vector<uint8_t> b0 = dev.block(0);
	EXPECT_EQ(b0, std::vector<uint8_t>(PD_BLOCK_SIZE, 0));
}

TEST(Builder, DigestGuardAcceptsWhatThePerBlockTestAllows)
{
	// fails the cheap test (entry 5 > oldest writeset 3) but is safe per block:
	// block 2 is marked by era 5, block 1 only by era 3 and holds 3
	Dev dev(MiB);
	Spec s{params(8, 6), {{3, {1}}, {5, {2}}}, {0, 3, 5, 0, 0, 0, 0, 0}};
	pd_err e;
	ASSERT_EQ(build(dev, s, &e), 0) << e.msg;
	era_check_result r = check(dev.path);
	EXPECT_EQ(r.nr[ERA_SEV_FATAL], 0u);
}

TEST(Builder, ResetAfterFailureBuildsAgain)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(3, 2);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 7, &e), -PD_E_RANGE);
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0) << e.msg;
	ASSERT_EQ(era_build_writeset_begin(b, 1, 3, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 2, 1, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	for (uint32_t i = 0; i < 3; i++)
		ASSERT_EQ(era_build_era(b, i, i % 2, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_stats st;
	era_build_get_stats(b, &st);
	EXPECT_EQ(st.nr_writesets, 1u);  // the failed run's counts are gone
	EXPECT_GT(era_build_blocks_used(b), 3u);
	era_build_free(b);
	Walked w = walk(dev.path);
	EXPECT_EQ(w.eras, (std::vector<uint32_t>{0, 1, 0}));
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].set, (std::vector<uint32_t>{2}));
}

TEST(Builder, BlocksUsedMatchesTheSpaceMap)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	ASSERT_EQ(build(dev, simple(), &e, &b), 0) << e.msg;
	uint64_t used = era_build_blocks_used(b);
	era_build_free(b);
	Walked w = walk(dev.path);
	EXPECT_EQ(w.sb.sm.nr_allocated, used);
	EXPECT_TRUE(clean(check(dev.path)));  // and every one of them is referenced
}

TEST(Builder, TooManyBlocksRefused)
{
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(0, 1);
	p.nr_blocks = ERA_MAX_NR_BLOCKS + 1u;
	ASSERT_EQ(era_build_open(&b, &dev.d, &e), 0);
	EXPECT_EQ(era_build_begin(b, &p, &e), -PD_E_RANGE);
	EXPECT_NE(std::string(e.msg).find("2147483648"), std::string::npos) << e.msg;
	era_build_free(b);
}

TEST(Builder, EmptyWritesetBuilds)
{
	// nr_bits 0 (found by fuzz_build: the bitset buffer was NULL)
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(4, 2);
	ASSERT_EQ(start(&b, dev, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 0, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 0, 1, &e), -PD_E_RANGE);
	era_build_reset(b);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 0, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 3, 0, &e), 0);  // a false bit inside the device
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	for (uint32_t i = 0; i < 4; i++)
		ASSERT_EQ(era_build_era(b, i, 1, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_free(b);
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].info.nr_bits, 0u);
	EXPECT_TRUE(w.ws[0].set.empty());
}

TEST(Builder, GapEraPastTheCurrentEraRefused)
{
	// found by fuzz_build: gaps were filled with an era the kernel never reached
	Dev dev(MiB);
	era_builder *b;
	pd_err e;
	era_build_params p = params(10, 0, ERA_BUILD_ALLOW_GAPS);
	p.gap_era = 5;
	ASSERT_EQ(era_build_open(&b, &dev.d, &e), 0);
	EXPECT_EQ(era_build_begin(b, &p, &e), -PD_E_RANGE);
	EXPECT_STREQ(e.msg, "gap era 5 is greater than current_era 0");
	era_build_reset(b);
	p.options = 0;  // without gaps the gap era means nothing
	EXPECT_EQ(era_build_begin(b, &p, &e), 0) << e.msg;
	era_build_free(b);
}
