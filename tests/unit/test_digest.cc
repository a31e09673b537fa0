// The digest rule (format/era_digest.h): a per-block model of the kernel's
// digest, checked against a naive one.
#include <gtest/gtest.h>
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "shim.h"

namespace {

struct Ws {
	uint32_t era;
	uint32_t nr_bits;
	std::vector<uint64_t> words;
};

Ws make_ws(uint32_t era, uint32_t nr_bits, const std::vector<uint32_t> &marked)
{
	Ws w{era, nr_bits, std::vector<uint64_t>(pd_bitset_words(nr_bits) + 1, 0)};
	for (uint32_t b : marked)
		pd_bit_set(w.words.data(), b);
	return w;
}

std::vector<uint8_t> le_values(const std::vector<uint32_t> &eras)
{
	std::vector<uint8_t> v(eras.size() * 4 + 4);
	for (size_t i = 0; i < eras.size(); i++)
		pd_put32(&v[4 * i], eras[i]);
	return v;
}

era_digest_result check(uint32_t nr_blocks, const std::vector<Ws> &ws, const std::vector<uint32_t> &eras)
{
	era_digest_map m;
	pd_err e;
	era_digest_result res;

	memset(&res, 0, sizeof(res));
	EXPECT_EQ(era_digest_map_init(&m, nr_blocks, &e), 0);
	for (const Ws &w : ws)
		era_digest_map_add(&m, w.era, w.nr_bits, w.words.data());
	std::vector<uint8_t> v = le_values(eras);
	era_digest_compare_le(&m, 0, v.data(), (uint32_t)eras.size(), &res);
	era_digest_map_free(&m);
	return res;
}

} // namespace

TEST(Digest, CheapTest)
{
	EXPECT_TRUE(era_digest_cheap_safe(0, 0, 99));   // no archived writeset
	EXPECT_TRUE(era_digest_cheap_safe(1, 5, 5));    // kernel form: max <= oldest
	EXPECT_FALSE(era_digest_cheap_safe(1, 5, 6));
}

TEST(Digest, NewestMarkingWritesetDecides)
{
	// block 1: era 4, marked only by era 3: lowered; block 2: marked by 3 and 5,
	// era 5: kept; block 3: era 9, unmarked: kept
	std::vector<Ws> ws = {make_ws(3, 8, {1, 2}), make_ws(5, 8, {2})};
	era_digest_result r = check(8, ws, {0, 4, 5, 9, 0, 0, 0, 0});
	ASSERT_EQ(r.nr_unsafe, 1u);
	EXPECT_EQ(r.bad[0].block, 1u);
	EXPECT_EQ(r.bad[0].era, 4u);
	EXPECT_EQ(r.bad[0].newest, 3u);
	EXPECT_EQ(r.fold_era, 3u);
	char msg[240];
	era_digest_describe(&r, msg, sizeof(msg));
	EXPECT_NE(std::string(msg).find("block 1: era array says 4 but the newest writeset marking it is era 3"),
		  std::string::npos) << msg;
}

TEST(Digest, EraZeroWritesetCounts)
{
	// a writeset of era 0 marks block 0 whose era is 1: the digest writes 0
	era_digest_result r = check(4, {make_ws(0, 4, {0})}, {1, 0, 0, 0});
	ASSERT_EQ(r.nr_unsafe, 1u);
	EXPECT_EQ(r.bad[0].newest, 0u);
}

TEST(Digest, BitsPastTheDeviceIgnored)
{
	// nr_bits larger than the device (a shrunk origin): bit 100 is not a block
	era_digest_result r = check(70, {make_ws(2, 128, {69, 100})}, std::vector<uint32_t>(70, 2));
	EXPECT_EQ(r.nr_unsafe, 0u);
	r = check(70, {make_ws(2, 128, {69, 100})}, std::vector<uint32_t>(70, 3));
	EXPECT_EQ(r.nr_unsafe, 1u);
	EXPECT_EQ(r.bad[0].block, 69u);
}

TEST(Digest, CountsAllListsFirst)
{
	std::vector<uint32_t> marked;
	for (uint32_t b = 0; b < 30; b++)
		marked.push_back(b);
	era_digest_result r = check(30, {make_ws(1, 30, marked)}, std::vector<uint32_t>(30, 2));
	EXPECT_EQ(r.nr_unsafe, 30u);
	EXPECT_EQ(r.bad[ERA_DIGEST_LISTED - 1].block, (uint64_t)ERA_DIGEST_LISTED - 1);
}

TEST(Digest, MatchesNaiveModel)
{
	std::mt19937 rng(13);
	for (int round = 0; round < 200; round++) {
		uint32_t n = 1 + rng() % 300, nr_ws = rng() % 5, cur = 10;
		std::vector<Ws> ws;
		std::vector<uint32_t> newest(n, UINT32_MAX); // none
		for (uint32_t i = 0; i < nr_ws; i++) {
			uint32_t era = 2 * i + rng() % 2;
			std::vector<uint32_t> marked;
			for (uint32_t b = 0; b < n; b++) {
				if (rng() % 4 == 0) {
					marked.push_back(b);
					newest[b] = era;
				}
			}
			ws.push_back(make_ws(era, n, marked));
		}
		std::vector<uint32_t> eras(n);
		uint64_t want = 0;
		uint32_t fold = 0;
		for (uint32_t b = 0; b < n; b++) {
			eras[b] = rng() % cur;
			if (newest[b] != UINT32_MAX && eras[b] > newest[b]) {
				want++;
				fold = std::max(fold, newest[b]);
			}
		}
		era_digest_result r = check(n, ws, eras);
		ASSERT_EQ(r.nr_unsafe, want) << "round " << round;
		if (want) {
			EXPECT_EQ(r.fold_era, fold);
		}
	}
}
