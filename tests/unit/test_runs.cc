#include <gtest/gtest.h>
#include <random>
#include <utility>
#include <vector>
#include "shim.h"

static int collect(void *ctx, uint64_t b, uint64_t e)
{
	static_cast<std::vector<std::pair<uint64_t, uint64_t>> *>(ctx)->emplace_back(b, e);
	return 0;
}

static std::vector<std::pair<uint64_t, uint64_t>> naive(const std::vector<bool> &bits)
{
	std::vector<std::pair<uint64_t, uint64_t>> r;
	for (uint64_t i = 0; i < bits.size();) {
		if (!bits[i]) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < bits.size() && bits[j])
			j++;
		r.emplace_back(i, j);
		i = j;
	}
	return r;
}

TEST(BitRuns, MatchesNaiveOnRandomPatterns)
{
	std::mt19937_64 rng(7);
	for (int round = 0; round < 300; round++) {
		uint64_t n = rng() % 700;
		std::vector<bool> bits(n);
		std::vector<uint64_t> words(pd_bitset_words(n) + 1, 0);
		int density = (int)(rng() % 4);
		for (uint64_t i = 0; i < n; i++) {
			bool v = density == 0 ? false : density == 3 ? true : (rng() % (density * 3)) == 0;
			if (round % 5 == 0)
				v = (i / 64) % 2; /* whole words */
			bits[i] = v;
			if (v)
				pd_bit_set(words.data(), i);
		}
		/* garbage past nr_bits must be ignored */
		if (n % 64)
			words[n / 64] |= ~0ull << (n % 64);
		std::vector<std::pair<uint64_t, uint64_t>> got;
		era_bit_runs(words.data(), n, collect, &got);
		ASSERT_EQ(got, naive(bits)) << "round " << round << " n " << n;
	}
}

TEST(Format, U64)
{
	char buf[32];
	for (unsigned long long v : { 0ull, 9ull, 10ull, 4294967295ull, 18446744073709551615ull }) {
		unsigned n = fmt_u64(buf, v);
		buf[n] = 0;
		EXPECT_EQ(std::string(buf), std::to_string(v));
	}
}
