// One verifier per block type (libpd/validator.h, era_sb_validator):
// checksum, the block's own location, header sanity; the failing block in
// struct pd_err.
#include <gtest/gtest.h>
#include <string>
#include "image.h"

namespace {

struct Kind {
	const pd_validator *v;
	void (*fill)(uint8_t *p, uint64_t where);
};

void fill_btree(uint8_t *p, uint64_t where)
{
	pd_put32(p + 4, PD_NODE_LEAF);
	pd_put64(p + 8, where);
	pd_put32(p + 16, 1);
	pd_put32(p + 20, pd_node_max_entries(8));
	pd_put32(p + 24, 8);
}

void fill_array(uint8_t *p, uint64_t where)
{
	pd_put32(p + 4, pd_array_max_entries(4));
	pd_put32(p + 8, 3);
	pd_put32(p + 12, 4);
	pd_put64(p + 16, where);
}

void fill_sm(uint8_t *p, uint64_t where) { pd_put64(p + 8, where); }

void fill_sb(uint8_t *p, uint64_t where)
{
	pd_put64(p + offsetof(era_disk_sb, blocknr), where);
	pd_put64(p + offsetof(era_disk_sb, magic), ERA_MAGIC);
}

const Kind KINDS[] = {
	{&pd_btree_validator, fill_btree},
	{&pd_array_validator, fill_array},
	{&pd_sm_index_validator, fill_sm},
	{&pd_sm_bitmap_validator, fill_sm},
	{&era_sb_validator, fill_sb},
};

std::vector<uint8_t> sealed(const Kind &k, uint64_t where)
{
	std::vector<uint8_t> b(PD_BLOCK_SIZE, 0);
	k.fill(b.data(), where);
	k.v->prepare(k.v, b.data(), where);
	return b;
}

int check(const Kind &k, const std::vector<uint8_t> &b, uint64_t where, pd_err *e)
{
	pd_err_clear(e);
	return k.v->check(k.v, b.data(), where, e);
}

// A header field of kind k (sealed for block 3) set to value: refused as
// corrupt, naming block 3 and saying msg.
struct HeaderCase {
	size_t off;
	uint32_t value;
	const char *msg;
};

void expect_header_refused(const Kind &k, const HeaderCase &c)
{
	std::vector<uint8_t> b(PD_BLOCK_SIZE, 0);
	k.fill(b.data(), 3);
	pd_put32(&b[c.off], c.value);
	k.v->prepare(k.v, b.data(), 3);
	pd_err e;
	EXPECT_EQ(check(k, b, 3, &e), -PD_E_CORRUPT) << c.msg;
	EXPECT_EQ(e.block, 3u) << c.msg;
	EXPECT_NE(std::string(e.msg).find(c.msg), std::string::npos) << e.msg;
}

} // namespace

TEST(Validators, EachTypeAcceptsWhatItSeals)
{
	for (const Kind &k : KINDS) {
		pd_err e;
		std::vector<uint8_t> b = sealed(k, 7);
		EXPECT_EQ(check(k, b, 7, &e), 0) << k.v->name << ": " << e.msg;
		// the checksum sits in the first 4 bytes, with the type's xor
		EXPECT_EQ(pd_get32(b.data()), pd_block_csum(b.data(), k.v->csum_xor)) << k.v->name;
	}
}

TEST(Validators, ChecksumMismatchNamesTheBlock)
{
	for (const Kind &k : KINDS) {
		for (size_t at : {(size_t)4, (size_t)100, (size_t)PD_BLOCK_SIZE - 1}) {
			std::vector<uint8_t> b = sealed(k, 42);
			b[at] ^= 0x10;
			pd_err e;
			EXPECT_EQ(check(k, b, 42, &e), -PD_E_CSUM) << k.v->name << " byte " << at;
			EXPECT_EQ(e.code, PD_E_CSUM);
			EXPECT_EQ(e.block, 42u);
			EXPECT_NE(std::string(e.msg).find(std::string(k.v->name) + ": checksum mismatch"), std::string::npos)
				<< e.msg;
		}
	}
}

TEST(Validators, XorsDifferBetweenTypes)
{
	// a block sealed as one type fails every other type's checksum
	for (const Kind &a : KINDS)
		for (const Kind &b : KINDS) {
			if (a.v->csum_xor == b.v->csum_xor)
				continue;
			pd_err e;
			std::vector<uint8_t> blk = sealed(a, 5);
			EXPECT_EQ(check(b, blk, 5, &e), -PD_E_CSUM) << a.v->name << " as " << b.v->name;
		}
}

TEST(Validators, BlockElsewhereIsBlocknrError)
{
	for (const Kind &k : KINDS) {
		// sealed for block 9 (the checksum does not cover the location read at)
		std::vector<uint8_t> b = sealed(k, 9);
		pd_err e;
		EXPECT_EQ(check(k, b, 10, &e), -PD_E_BLOCKNR) << k.v->name;
		EXPECT_EQ(e.block, 10u) << k.v->name;
		EXPECT_NE(std::string(e.msg).find("location 9"), std::string::npos) << e.msg;
	}
}

TEST(Validators, BtreeHeaderSanity)
{
	const HeaderCase cases[] = {
		{4, 3, "btree node: bad flags 3"},
		{24, 0, "btree node: bad value_size 0"},
		{20, pd_node_max_entries(8) + 3, "too large for value_size 8"},
		{20, pd_node_max_entries(8) - 1, "not a multiple of 3"},
		{16, pd_node_max_entries(8) + 1, "nr_entries"},
	};
	for (const HeaderCase &c : cases)
		expect_header_refused(KINDS[0], c);
}

TEST(Validators, ArrayHeaderSanity)
{
	const HeaderCase cases[] = {
		{12, 0, "array block: bad value_size 0"},
		{4, 5, "array block: max_entries 5, expected 1018 for value_size 4"},
		{8, 1019, "array block: nr_entries 1019 > max_entries 1018"},
	};
	for (const HeaderCase &c : cases)
		expect_header_refused(KINDS[1], c);
}

TEST(Validators, SuperblockReadChecksMagicAndVersion)
{
	// era_sb_read on top of the validator: magic, version, block size
	Image img(4);
	era_sb sb{};
	sb.blocknr = 0;
	sb.magic = ERA_MAGIC;
	sb.version = ERA_VERSION;
	sb.metadata_block_size = ERA_METADATA_BLOCK_SECTORS;
	sb.data_block_size = 128;
	sb.nr_blocks = 10;
	sb.sm.nr_blocks = 4;
	struct Case {
		void (*bend)(era_sb *);
		const char *msg;
	} cases[] = {
		{[](era_sb *) {}, nullptr},
		{[](era_sb *s) { s->magic = 12345; }, "bad magic 12345"},
		{[](era_sb *s) { s->version = 2; }, "unsupported version 2"},
		{[](era_sb *s) { s->metadata_block_size = 16; }, "metadata_block_size 16, expected 8"},
	};
	for (const Case &c : cases) {
		era_sb s = sb;
		c.bend(&s);
		era_sb_encode(img.at(0), &s);
		img.seal(0, &era_sb_validator);
		img.write();
		pd_bm *bm;
		pd_err e;
		ASSERT_EQ(pd_bm_open(&bm, img.path.c_str(), PD_OPEN_RDONLY, 16, &e), 0);
		era_sb got;
		int r = era_sb_read(bm, 0, &got, &e);
		pd_bm_close(bm);
		if (!c.msg) {
			EXPECT_EQ(r, 0) << e.msg;
			EXPECT_EQ(got.nr_blocks, 10u);
			continue;
		}
		EXPECT_EQ(r, -PD_E_CORRUPT) << c.msg;
		EXPECT_EQ(e.block, 0u);
		EXPECT_NE(std::string(e.msg).find(c.msg), std::string::npos) << e.msg;
	}
}

TEST(Validators, BlockManagerDoesNotCacheAFailure)
{
	// a block that failed once fails again (and the error names it each time)
	Image img(4);
	fill_array(img.at(2), 2);
	img.seal(2, &pd_array_validator);
	img.at(2)[50] ^= 1;
	img.write();
	pd_bm *bm;
	pd_err e;
	ASSERT_EQ(pd_bm_open(&bm, img.path.c_str(), PD_OPEN_RDONLY, 16, &e), 0);
	const void *data;
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(pd_bm_get(bm, 2, &pd_array_validator, &data, &e), -PD_E_CSUM);
		EXPECT_EQ(e.block, 2u);
	}
	// without a validator the bytes are handed out as they are
	ASSERT_EQ(pd_bm_get(bm, 2, nullptr, &data, &e), 0);
	EXPECT_EQ(static_cast<const uint8_t *>(data)[50], 1);
	pd_bm_put(bm, data);
	pd_bm_close(bm);
}
