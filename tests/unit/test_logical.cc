#include <gtest/gtest.h>
#include <random>
#include <vector>
#include "shim.h"

/* era_dump --logical's fold (format/era_logical.h) against a direct model:
 * a block's era is the newer of its era-array value and the era of the
 * newest writeset marking it inside the device. */
TEST(Logical, MatchesModelOnRandomWritesets)
{
	std::mt19937_64 rng(11);
	for (int round = 0; round < 100; round++) {
		uint32_t nr_blocks = (uint32_t)(rng() % 3000);
		uint32_t nr_ws = (uint32_t)(rng() % 5);
		std::vector<std::vector<uint64_t>> ws_words;
		std::vector<era_writeset_info> infos;
		struct era_logical l;
		struct pd_err e;
		uint32_t era = 1 + (uint32_t)(rng() % 10);

		ASSERT_EQ(era_logical_init(&l, nr_blocks, &e), 0);
		for (uint32_t k = 0; k < nr_ws; k++) {
			/* some writesets are larger or smaller than the device (resized origin) */
			uint32_t nr_bits = nr_blocks + (uint32_t)(rng() % 200) - (nr_blocks > 100 ? 100 : 0);
			std::vector<uint64_t> words(pd_bitset_words(nr_bits) + 1);
			for (auto &w : words)
				w = rng() & rng() & rng();
			era_writeset_info info = {};
			info.era = era;
			info.nr_bits = nr_bits;
			era += 1 + (uint32_t)(rng() % 3);
			ASSERT_EQ(era_logical_add(&l, &info, words.data(), &e), 0);
			ws_words.push_back(words);
			infos.push_back(info);
		}
		std::vector<unsigned char> le(4 * (size_t)nr_blocks + 4);
		std::vector<uint32_t> array(nr_blocks);
		for (uint32_t b = 0; b < nr_blocks; b++) {
			array[b] = (uint32_t)(rng() % (era + 2));
			for (int i = 0; i < 4; i++)
				le[4 * b + i] = (unsigned char)(array[b] >> (8 * i));
		}
		std::vector<uint32_t> got(nr_blocks + 1);
		/* in array-block sized pieces, as the walker hands them over */
		for (uint32_t first = 0; first < nr_blocks; first += 1018) {
			uint32_t n = nr_blocks - first < 1018 ? nr_blocks - first : 1018;
			era_logical_eras(&l, first, le.data() + 4 * first, n, got.data() + first);
		}
		for (uint32_t b = 0; b < nr_blocks; b++) {
			uint32_t want = array[b];
			for (size_t k = infos.size(); k-- > 0;) {
				if (b < infos[k].nr_bits && pd_bit_test(ws_words[k].data(), b)) {
					if (infos[k].era > want)
						want = infos[k].era;
					break;
				}
			}
			ASSERT_EQ(got[b], want) << "round " << round << " block " << b;
		}
		era_logical_free(&l);
	}
}
