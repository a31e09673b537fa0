#include <gtest/gtest.h>
#include <random>
#include <vector>
#include "shim.h"

static uint32_t standard(uint32_t (*fn)(uint32_t, const void *, size_t), const void *p, size_t n)
{
	return fn(0xffffffffu, p, n) ^ 0xffffffffu;
}

TEST(Crc32c, KnownVectors)
{
	/* RFC 3720 B.4 and the usual check value */
	const char *s = "123456789";
	EXPECT_EQ(standard(pd_crc32c_sw, s, 9), 0xe3069283u);
	std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), inc(32), dec(32);
	for (int i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	EXPECT_EQ(standard(pd_crc32c_sw, zeros.data(), 32), 0x8a9136aau);
	EXPECT_EQ(standard(pd_crc32c_sw, ones.data(), 32), 0x62a8ab43u);
	EXPECT_EQ(standard(pd_crc32c_sw, inc.data(), 32), 0x46dd794eu);
	EXPECT_EQ(standard(pd_crc32c_sw, dec.data(), 32), 0x113fdb5cu);
	EXPECT_EQ(standard(pd_crc32c, s, 9), 0xe3069283u);
}

TEST(Crc32c, HardwareMatchesTable)
{
	if (!pd_crc32c_hw_available())
		GTEST_SKIP() << "no SSE4.2 on this CPU";
	const char *s = "123456789";
	EXPECT_EQ(standard(pd_crc32c_hw, s, 9), 0xe3069283u);
	std::mt19937 rng(42);
	std::vector<uint8_t> buf(8192 + 13);
	for (auto &b : buf)
		b = (uint8_t)rng();
	for (size_t off = 0; off < 9; off++)
		for (size_t len : { 0, 1, 7, 8, 9, 63, 64, 4092, 8000 })
			ASSERT_EQ(pd_crc32c_hw(0x12345678u, buf.data() + off, len),
				  pd_crc32c_sw(0x12345678u, buf.data() + off, len))
				<< "off " << off << " len " << len;
}

TEST(Crc32c, BlockChecksumIsOverBytes4To4095)
{
	std::vector<uint8_t> blk(4096, 0);
	uint32_t a = pd_block_csum(blk.data(), 0);
	blk[0] = 0xff; /* the csum field itself does not count */
	EXPECT_EQ(pd_block_csum(blk.data(), 0), a);
	blk[4095] = 1;
	EXPECT_NE(pd_block_csum(blk.data(), 0), a);
	EXPECT_EQ(pd_block_csum(blk.data(), 121107u) ^ 121107u, pd_block_csum(blk.data(), 0));
}
