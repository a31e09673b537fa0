#include <gtest/gtest.h>
#include <map>
#include "image.h"

namespace {

struct Collected {
	std::vector<uint64_t> keys;
	std::vector<pd_err> damage;
	bool stop_on_damage = false;
};

int leaf(void *ctx, const pd_node *n)
{
	auto *c = static_cast<Collected *>(ctx);
	for (uint32_t i = 0; i < n->nr_entries; i++)
		c->keys.push_back(pd_node_key(n, i));
	return 0;
}

int damage(void *ctx, const pd_err *e)
{
	auto *c = static_cast<Collected *>(ctx);
	c->damage.push_back(*e);
	return c->stop_on_damage ? -e->code : 0;
}

struct Walk {
	pd_bm *bm = nullptr;
	Collected c;
	int rc = 0;
	Walk(Image &img, uint64_t root, uint32_t value_size = 8)
	{
		img.write();
		pd_err e;
		EXPECT_EQ(pd_bm_open(&bm, img.path.c_str(), PD_OPEN_RDONLY, 16, &e), 0);
		pd_btree_walker w = {};
		w.bm = bm;
		w.value_size = value_size;
		w.leaf = leaf;
		w.damage = damage;
		w.ctx = &c;
		rc = pd_btree_walk(&w, root, &e);
	}
	~Walk() { pd_bm_close(bm); }
	// Exactly one damaged place, with this code (and block, if given).
	::testing::AssertionResult only_damage(int code, int64_t block = -1) const
	{
		if (c.damage.size() != 1)
			return ::testing::AssertionFailure() << c.damage.size() << " damaged places, not 1";
		const pd_err &d = c.damage[0];
		if (d.code != code || (block >= 0 && d.block != (uint64_t)block))
			return ::testing::AssertionFailure() << "damage code " << d.code << " at block " << d.block
							     << " (" << d.msg << "), not code " << code << " at " << block;
		return ::testing::AssertionSuccess();
	}
};

/* root (block 1) -> leaves 2 and 3 */
void two_level(Image &img)
{
	img.node(2, PD_NODE_LEAF, { 0, 1, 2 }, { Image::u64(10), Image::u64(11), Image::u64(12) }, 8);
	img.node(3, PD_NODE_LEAF, { 5, 9 }, { Image::u64(15), Image::u64(19) }, 8);
	img.node(1, PD_NODE_INTERNAL, { 0, 5 }, { Image::u64(2), Image::u64(3) }, 8);
}

} // namespace

TEST(Btree, WalksInKeyOrder)
{
	Image img(8);
	two_level(img);
	Walk w(img, 1);
	EXPECT_EQ(w.rc, 0);
	EXPECT_EQ(w.c.keys, (std::vector<uint64_t>{ 0, 1, 2, 5, 9 }));
	EXPECT_TRUE(w.c.damage.empty());
}

TEST(Btree, LookupFindsAndMisses)
{
	Image img(8);
	two_level(img);
	img.write();
	pd_bm *bm;
	pd_err e;
	ASSERT_EQ(pd_bm_open(&bm, img.path.c_str(), PD_OPEN_RDONLY, 16, &e), 0);
	uint8_t v[8];
	EXPECT_EQ(pd_btree_lookup(bm, 1, 9, 8, v, &e), 1);
	EXPECT_EQ(pd_get64(v), 19u);
	EXPECT_EQ(pd_btree_lookup(bm, 1, 1, 8, v, &e), 1);
	EXPECT_EQ(pd_get64(v), 11u);
	EXPECT_EQ(pd_btree_lookup(bm, 1, 4, 8, v, &e), 0);
	EXPECT_EQ(pd_btree_lookup(bm, 1, 100, 8, v, &e), 0);
	pd_bm_close(bm);
}

TEST(Btree, BadChecksumIsReportedWithBlock)
{
	Image img(8);
	two_level(img);
	img.at(3)[100] ^= 1;
	Walk w(img, 1);
	EXPECT_TRUE(w.only_damage(PD_E_CSUM, 3));
	EXPECT_EQ(w.c.keys, (std::vector<uint64_t>{ 0, 1, 2 })); /* the rest is skipped */
}

TEST(Btree, MisplacedBlockIsReported)
{
	Image img(8);
	two_level(img);
	img.blocks[4] = img.blocks[3]; /* a copy recording location 3 */
	img.node(1, PD_NODE_INTERNAL, { 0, 5 }, { Image::u64(2), Image::u64(4) }, 8);
	Walk w(img, 1);
	EXPECT_TRUE(w.only_damage(PD_E_BLOCKNR, 4));
}

TEST(Btree, SelfCycleTerminates)
{
	Image img(8);
	two_level(img);
	img.node(1, PD_NODE_INTERNAL, { 0, 5 }, { Image::u64(2), Image::u64(1) }, 8);
	Walk w(img, 1);
	ASSERT_FALSE(w.c.damage.empty());
	EXPECT_EQ(w.c.damage[0].code, PD_E_CYCLE);
	EXPECT_EQ(w.c.damage[0].block, 1u);
}

TEST(Btree, DeepChainIsBounded)
{
	/* 40 internal nodes each pointing at the next: deeper than possible */
	Image img(48);
	for (uint64_t b = 1; b < 41; b++)
		img.node(b, PD_NODE_INTERNAL, { 0 }, { Image::u64(b + 1) }, 8);
	img.node(41, PD_NODE_LEAF, { 0 }, { Image::u64(0) }, 8);
	Walk w(img, 1);
	EXPECT_TRUE(w.only_damage(PD_E_DEPTH));
}

TEST(Btree, KeysOutOfOrder)
{
	Image img(8);
	img.node(2, PD_NODE_LEAF, { 3, 1 }, { Image::u64(0), Image::u64(0) }, 8);
	Walk w(img, 2);
	EXPECT_TRUE(w.only_damage(PD_E_ORDER));
}

TEST(Btree, ChildKeysOutsideParentRange)
{
	Image img(8);
	two_level(img);
	img.node(3, PD_NODE_LEAF, { 1, 9 }, { Image::u64(15), Image::u64(19) }, 8);
	Walk w(img, 1);
	EXPECT_TRUE(w.only_damage(PD_E_ORDER, 3));
}

TEST(Btree, NrEntriesAboveMax)
{
	Image img(8);
	img.node(2, PD_NODE_LEAF, { 1 }, { Image::u64(0) }, 8, false);
	pd_put32(img.at(2) + 16, 5000);
	img.seal(2, &pd_btree_validator);
	Walk w(img, 2);
	EXPECT_TRUE(w.only_damage(PD_E_CORRUPT));
}

TEST(Btree, WrongValueSize)
{
	Image img(8);
	img.node(2, PD_NODE_LEAF, { 1 }, { Image::u32(7) }, 4);
	Walk w(img, 2, 8);
	EXPECT_TRUE(w.only_damage(PD_E_CORRUPT));
}

TEST(Btree, PointerBeyondDevice)
{
	Image img(4);
	img.node(1, PD_NODE_INTERNAL, { 0 }, { Image::u64(1ull << 40) }, 8);
	Walk w(img, 1);
	EXPECT_TRUE(w.only_damage(PD_E_RANGE));
}

TEST(Btree, SharedSubtreeCountedOnce)
{
	Image img(8);
	two_level(img);
	img.write();
	pd_bm *bm;
	pd_err e;
	pd_refs refs;
	ASSERT_EQ(pd_bm_open(&bm, img.path.c_str(), PD_OPEN_RDONLY, 16, &e), 0);
	ASSERT_EQ(pd_refs_init(&refs, 8, &e), 0);
	Collected c;
	pd_btree_walker w = {};
	w.bm = bm;
	w.value_size = 8;
	w.refs = &refs;
	w.leaf = leaf;
	w.damage = damage;
	w.ctx = &c;
	ASSERT_EQ(pd_btree_walk(&w, 1, &e), 0);
	ASSERT_EQ(pd_btree_walk(&w, 1, &e), 0); /* a second tree sharing the root */
	EXPECT_EQ(refs.count[1], 2u);
	EXPECT_EQ(refs.count[2], 1u);
	EXPECT_EQ(refs.count[3], 1u);
	EXPECT_EQ(c.keys.size(), 5u); /* the shared tree is not walked twice */
	pd_refs_free(&refs);
	pd_bm_close(bm);
}
