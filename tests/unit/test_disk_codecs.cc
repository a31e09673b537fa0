// The decoders and encoders beside the on-disk structs (libpd/disk.h,
// format/era_disk.h): fields at their byte offsets, little-endian, and the
// payload accessors the hot loops use.
#include <gtest/gtest.h>
#include <cstring>
#include <vector>
#include "shim.h"

TEST(DiskCodecs, ArrayHeaderAtItsOffsets)
{
	std::vector<uint8_t> blk(PD_BLOCK_SIZE, 0xee);
	pd_array_hdr h{ 1018, 7, 4, 0x0102030405060708ull };
	pd_array_hdr_encode(blk.data(), &h);
	const uint8_t want[24] = {
		0xee, 0xee, 0xee, 0xee,                         // csum: the validator's
		0xfa, 0x03, 0, 0,                               // max_entries 1018
		7, 0, 0, 0,                                     // nr_entries
		4, 0, 0, 0,                                     // value_size
		8, 7, 6, 5, 4, 3, 2, 1,                         // blocknr
	};
	EXPECT_EQ(memcmp(blk.data(), want, sizeof(want)), 0);
	EXPECT_EQ(blk[24], 0xee); // the payload is not touched
	pd_array_hdr d{};
	pd_array_hdr_decode(blk.data(), &d);
	EXPECT_EQ(d.max_entries, 1018u);
	EXPECT_EQ(d.nr_entries, 7u);
	EXPECT_EQ(d.value_size, 4u);
	EXPECT_EQ(d.blocknr, 0x0102030405060708ull);
}

TEST(DiskCodecs, WritesetValueAtItsOffsets)
{
	era_disk_writeset v;
	era_disk_writeset_encode(&v, 0x11223344u, 0x8877665544332211ull);
	const uint8_t want[12] = { 0x44, 0x33, 0x22, 0x11, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	EXPECT_EQ(memcmp(&v, want, sizeof(want)), 0);
	uint32_t nr_bits = 0;
	uint64_t root = 0;
	era_disk_writeset_decode(want, &nr_bits, &root);
	EXPECT_EQ(nr_bits, 0x11223344u);
	EXPECT_EQ(root, 0x8877665544332211ull);
}

TEST(DiskCodecs, PayloadAccessorsReadLittleEndianAtAnyAlignment)
{
	const uint8_t raw[17] = { 0xff, 1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12, 8, 7, 6, 5, 4, 3, 2, 1 };
	EXPECT_EQ(pd_le32_at(raw + 1, 0), 1u);
	EXPECT_EQ(pd_le32_at(raw + 1, 1), 0x12345678u);
	EXPECT_EQ(pd_le64_at(raw + 9, 0), 0x0102030405060708ull);
	EXPECT_EQ(pd_le64_at(raw + 1, 0), 0x1234567800000001ull);
	EXPECT_EQ(pd_le32_max(raw + 1, 2), 0x12345678u);
}
