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

// A builder on a fresh device: each test starts it with its own params.
class Builder : public ::testing::Test {
protected:
	Dev dev{MiB};
	era_builder *b = nullptr;
	pd_err e;
	era_build_params p;

	~Builder() override
	{
		if (b)
			era_build_free(b);
	}
	// Opens a builder on dev: 0, or what it returned.
	int open() { return era_build_open(&b, &dev.d, &e); }
	// Opens and begins it with params: 0, or what the failing step returned.
	int start(const era_build_params &params)
	{
		p = params;
		int r = open();

		return r ? r : era_build_begin(b, &p, &e);
	}
	// After a refusal: the builder reset and begun again with p.
	int again()
	{
		era_build_reset(b);
		return era_build_begin(b, &p, &e);
	}
	// The era array (entry i is era_of(i) for i < n), then the commit: 0, or
	// what the failing step returned.
	template <class F> int eras_and_commit(uint32_t n, F era_of)
	{
		int r = era_build_era_array_begin(b, &e);

		for (uint32_t i = 0; !r && i < n; i++)
			r = era_build_era(b, i, era_of(i), &e);
		if (!r)
			r = era_build_era_array_end(b, &e);
		return r ? r : era_build_commit(b, &e);
	}
	// The builder's stats now.
	era_build_stats stats()
	{
		era_build_stats st;

		era_build_get_stats(b, &st);
		return st;
	}
	// Whether the last error's message holds what.
	::testing::AssertionResult says(const std::string &what)
	{
		if (std::string(e.msg).find(what) != std::string::npos)
			return ::testing::AssertionSuccess();
		return ::testing::AssertionFailure() << "the message is \"" << e.msg << "\", not one with \"" << what << "\"";
	}
};

} // namespace

TEST_F(Builder, SuperblockFields)
{
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

TEST_F(Builder, WritesetsAndErasReadBack)
{
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

TEST_F(Builder, EraArrayBlocksAtFixedPlaces)
{
	// 3000 entries: array blocks 1, 2, 3 (1018 a block), whatever the writesets
	Spec s{params(3000, 9), {{1, {0, 2999}}}, {}};
	s.eras.resize(3000);
	for (uint32_t i = 0; i < 3000; i++)
		s.eras[i] = i % 2;
	ASSERT_EQ(build(dev, s, &e), 0) << e.msg;
	for (uint64_t blk = 1; blk <= 3; blk++) {
		std::vector<uint8_t> raw = dev.block(blk);
		EXPECT_EQ(pd_array_validator.check(&pd_array_validator, raw.data(), blk, &e), 0) << e.msg;
		EXPECT_EQ(pd_get32(&raw[12]), 4u);  // value_size: era entries
		uint32_t nr = pd_get32(&raw[8]);
		EXPECT_EQ(nr, blk < 3 ? 1018u : 3000u - 2 * 1018u) << blk;
		uint64_t first = (blk - 1) * 1018;
		EXPECT_EQ(pd_get32(&raw[sizeof(pd_disk_array_header)]), (uint32_t)(first % 2));
		EXPECT_EQ(pd_get32(&raw[sizeof(pd_disk_array_header) + 4]), (uint32_t)((first + 1) % 2));
	}
	// block 4 is the writeset's bitset (an array of 64-bit words), after the era array
	std::vector<uint8_t> b4 = dev.block(4);
	EXPECT_EQ(pd_array_validator.check(&pd_array_validator, b4.data(), 4, &e), 0) << e.msg;
	EXPECT_EQ(pd_get32(&b4[12]), 8u);
	EXPECT_EQ(pd_get64(&b4[sizeof(pd_disk_array_header)]), 1ull);  // bit 0 set
}

TEST_F(Builder, BitsMustAscend)
{
	ASSERT_EQ(start(params(100, 3)), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 100, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 10, 1, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 10, 1, &e), -PD_E_ORDER);
	EXPECT_EQ(e.code, PD_E_ORDER);
	EXPECT_TRUE(says("bit for block 10 given twice"));
	// a failed builder takes nothing more
	EXPECT_EQ(era_build_writeset_bit(b, 11, 1, &e), -PD_E_INVAL);
	EXPECT_TRUE(says("out of place"));
}

TEST_F(Builder, BitOutOfOrderAndRange)
{
	ASSERT_EQ(start(params(100, 3)), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 50, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 20, 1, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 5, 1, &e), -PD_E_ORDER);
	EXPECT_TRUE(says("out of order"));
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 50, &e), 0);
	// false bits past nr_bits are fine (dumps list every block), set ones are not
	EXPECT_EQ(era_build_writeset_bit(b, 60, 0, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 61, 1, &e), -PD_E_RANGE);
	EXPECT_TRUE(says("bit block 61 is out of range (writeset nr_bits 50)"));
}

TEST_F(Builder, WritesetRefusals)
{
	ASSERT_EQ(start(params(100, 3)), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 4, 100, &e), -PD_E_RANGE);
	EXPECT_TRUE(says("writeset era 4 is greater than current_era 3"));
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 2, 100, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 2, 100, &e), -PD_E_INVAL);
	EXPECT_TRUE(says("writeset for era 2 given twice"));
	ASSERT_EQ(again(), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 1, ERA_MAX_NR_BITS + 1u, &e), -PD_E_RANGE);
}

TEST_F(Builder, EventsOutOfPlace)
{
	p = params(10, 3);
	ASSERT_EQ(open(), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 1, 10, &e), -PD_E_INVAL);  // before begin
	ASSERT_EQ(again(), 0);
	EXPECT_EQ(era_build_era(b, 0, 1, &e), -PD_E_INVAL);  // before era_array_begin
	EXPECT_STREQ(e.msg, "era out of place");
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_writeset_begin(b, 1, 10, &e), -PD_E_INVAL);  // after the era array
	ASSERT_EQ(again(), 0);
	EXPECT_EQ(era_build_commit(b, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "end of superblock without era_array out of place");
}

TEST_F(Builder, EraEntryRefusals)
{
	ASSERT_EQ(start(params(10, 3)), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 4, &e), -PD_E_RANGE);
	EXPECT_STREQ(e.msg, "era 4 of block 0 is greater than current_era 3");
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 0, 1, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 1, &e), -PD_E_ORDER);
	EXPECT_STREQ(e.msg, "era for block 0 given twice");
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_era(b, 10, 1, &e), -PD_E_RANGE);
	EXPECT_STREQ(e.msg, "era block 10 is out of range (nr_blocks 10)");
}

TEST_F(Builder, GapsRefusedWithoutTheOption)
{
	ASSERT_EQ(start(params(10, 3)), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 0, 1, &e), 0);
	EXPECT_EQ(era_build_era(b, 5, 1, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "era_array: no entry for block 1");
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 0, 1, &e), 0);
	EXPECT_EQ(era_build_era_array_end(b, &e), -PD_E_INVAL);  // short at the end too
	EXPECT_STREQ(e.msg, "era_array: no entry for block 1");
}

TEST_F(Builder, GapsFilledWithTheGapEra)
{
	era_build_params q = params(10, 6, ERA_BUILD_ALLOW_GAPS);
	q.gap_era = 5;
	ASSERT_EQ(start(q), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	ASSERT_EQ(era_build_era(b, 2, 1, &e), 0);
	ASSERT_EQ(era_build_era(b, 7, 2, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	EXPECT_EQ(stats().gaps_filled, 8u);
	Walked w = walk(dev.path);
	EXPECT_EQ(w.eras, (std::vector<uint32_t>{5, 5, 1, 5, 5, 5, 5, 2, 5, 5}));
}

TEST_F(Builder, ClampErasOption)
{
	ASSERT_EQ(start(params(4, 3, ERA_BUILD_CLAMP_ERAS)), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	uint8_t le[16];
	const uint32_t v[4] = {9, 3, 4, 0};
	for (int i = 0; i < 4; i++)
		pd_put32(le + 4 * i, v[i]);
	ASSERT_EQ(era_build_eras_le(b, 0, le, 4, &e), 0);
	ASSERT_EQ(era_build_era_array_end(b, &e), 0);
	ASSERT_EQ(era_build_commit(b, &e), 0) << e.msg;
	EXPECT_EQ(stats().eras_clamped, 2u);
	EXPECT_EQ(walk(dev.path).eras, (std::vector<uint32_t>{3, 3, 3, 0}));
}

TEST_F(Builder, MergeDuplicateWriteset)
{
	ASSERT_EQ(start(params(200, 5, ERA_BUILD_MERGE_DUP)), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 5, 100, &e), 0);
	ASSERT_EQ(era_build_writeset_run(b, 10, 3, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	// the same era again, longer: ORed into the first, which grows
	ASSERT_EQ(era_build_writeset_begin(b, 5, 200, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 11, 1, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 150, 1, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(eras_and_commit(200, [](uint32_t) { return 0u; }), 0) << e.msg;
	era_build_stats st = stats();
	EXPECT_EQ(st.writesets_merged, 1u);
	EXPECT_EQ(st.nr_writesets, 1u);
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].info.nr_bits, 200u);
	EXPECT_EQ(w.ws[0].set, (std::vector<uint32_t>{10, 11, 12, 150}));
}

TEST_F(Builder, WordsAreMaskedToNrBits)
{
	ASSERT_EQ(start(params(70, 2)), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 70, &e), 0);
	uint64_t words[2] = {0x8000000000000001ull, ~0ull};  // bits past 70 must vanish
	ASSERT_EQ(era_build_writeset_words(b, words, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(eras_and_commit(70, [](uint32_t) { return 1u; }), 0) << e.msg;
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].set, (std::vector<uint32_t>{0, 63, 64, 65, 66, 67, 68, 69}));
	EXPECT_TRUE(clean(check(dev.path)));
}

TEST_F(Builder, NoSpaceSaysHowMuchIsNeeded)
{
	Spec s{params(50000, 3), {{1, {1, 2, 3}}, {2, {4}}}, std::vector<uint32_t>(50000, 0)};
	uint64_t need;
	{
		Dev small(8 * PD_BLOCK_SIZE);
		EXPECT_EQ(build(small, s, &e, &b), -PD_E_NOSPC);
		EXPECT_EQ(e.code, PD_E_NOSPC);
		need = era_build_needed_bytes(b);
		EXPECT_TRUE(says("output too small: the metadata needs " + std::to_string(need) + " bytes"));
		EXPECT_GE(need, era_build_min_bytes(50000));
		era_build_free(b);  // before its device goes
		b = nullptr;
		// nothing valid left behind
		EXPECT_NE(walk(small.path).rc, 0);
	}
	{
		Dev exact(need);  // exactly enough
		ASSERT_EQ(build(exact, s, &e), 0) << e.msg;
		EXPECT_TRUE(clean(check(exact.path)));
	}
	{
		Dev short_by_one(need - PD_BLOCK_SIZE);
		EXPECT_EQ(build(short_by_one, s, &e), -PD_E_NOSPC);
	}
}

TEST_F(Builder, DigestGuardRefusesUnsafeMetadata)
{
	// block 1: era array says 5, the only writeset marking it is era 3: the
	// kernel's digest would lower it to 3
	Spec ok{params(8, 6), {}, std::vector<uint32_t>(8, 1)};
	ASSERT_EQ(build(dev, ok, &e), 0);  // a valid superblock to start from
	Spec s{params(8, 6), {{3, {1}}}, {0, 5, 0, 0, 0, 0, 0, 0}};
	EXPECT_EQ(build(dev, s, &e), -PD_E_INVAL);
	EXPECT_TRUE(says("block 1: era array says 5 but the newest writeset marking it is era 3"));
	// the old superblock is gone and no new one was written
	EXPECT_NE(walk(dev.path).rc, 0);
	std::vector<uint8_t> b0 = dev.block(0);
	EXPECT_EQ(b0, std::vector<uint8_t>(PD_BLOCK_SIZE, 0));
}

TEST_F(Builder, DigestGuardAcceptsWhatThePerBlockTestAllows)
{
	// fails the cheap test (entry 5 > oldest writeset 3) but is safe per block:
	// block 2 is marked by era 5, block 1 only by era 3 and holds 3
	Spec s{params(8, 6), {{3, {1}}, {5, {2}}}, {0, 3, 5, 0, 0, 0, 0, 0}};
	ASSERT_EQ(build(dev, s, &e), 0) << e.msg;
	era_check_result r = check(dev.path);
	EXPECT_EQ(r.nr[ERA_SEV_FATAL], 0u);
}

TEST_F(Builder, ResetAfterFailureBuildsAgain)
{
	ASSERT_EQ(start(params(3, 2)), 0);
	ASSERT_EQ(era_build_era_array_begin(b, &e), 0);
	EXPECT_EQ(era_build_era(b, 0, 7, &e), -PD_E_RANGE);
	ASSERT_EQ(again(), 0) << e.msg;
	ASSERT_EQ(era_build_writeset_begin(b, 1, 3, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 2, 1, &e), 0);
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(eras_and_commit(3, [](uint32_t i) { return i % 2; }), 0) << e.msg;
	EXPECT_EQ(stats().nr_writesets, 1u);  // the failed run's counts are gone
	EXPECT_GT(era_build_blocks_used(b), 3u);
	Walked w = walk(dev.path);
	EXPECT_EQ(w.eras, (std::vector<uint32_t>{0, 1, 0}));
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].set, (std::vector<uint32_t>{2}));
}

TEST_F(Builder, BlocksUsedMatchesTheSpaceMap)
{
	ASSERT_EQ(build(dev, simple(), &e, &b), 0) << e.msg;
	uint64_t used = era_build_blocks_used(b);
	Walked w = walk(dev.path);
	EXPECT_EQ(w.sb.sm.nr_allocated, used);
	EXPECT_TRUE(clean(check(dev.path)));  // and every one of them is referenced
}

TEST_F(Builder, TooManyBlocksRefused)
{
	p = params(0, 1);
	p.nr_blocks = ERA_MAX_NR_BLOCKS + 1u;
	ASSERT_EQ(open(), 0);
	EXPECT_EQ(era_build_begin(b, &p, &e), -PD_E_RANGE);
	EXPECT_TRUE(says("2147483648"));
}

TEST_F(Builder, EmptyWritesetBuilds)
{
	// nr_bits 0 (found by fuzz_build: the bitset buffer was NULL)
	ASSERT_EQ(start(params(4, 2)), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 0, &e), 0);
	EXPECT_EQ(era_build_writeset_bit(b, 0, 1, &e), -PD_E_RANGE);
	ASSERT_EQ(again(), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, 0, &e), 0);
	ASSERT_EQ(era_build_writeset_bit(b, 3, 0, &e), 0);  // a false bit inside the device
	ASSERT_EQ(era_build_writeset_end(b, &e), 0);
	ASSERT_EQ(eras_and_commit(4, [](uint32_t) { return 1u; }), 0) << e.msg;
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 1u);
	EXPECT_EQ(w.ws[0].info.nr_bits, 0u);
	EXPECT_TRUE(w.ws[0].set.empty());
}

TEST_F(Builder, GapEraPastTheCurrentEraRefused)
{
	// found by fuzz_build: gaps were filled with an era the kernel never reached
	p = params(10, 0, ERA_BUILD_ALLOW_GAPS);
	p.gap_era = 5;
	ASSERT_EQ(open(), 0);
	EXPECT_EQ(era_build_begin(b, &p, &e), -PD_E_RANGE);
	EXPECT_STREQ(e.msg, "gap era 5 is greater than current_era 0");
	era_build_reset(b);
	p.options = 0;  // without gaps the gap era means nothing
	EXPECT_EQ(era_build_begin(b, &p, &e), 0) << e.msg;
}
