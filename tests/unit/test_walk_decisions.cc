// The walker tells a repair what it must decide on through explicit
// callbacks (writesets_lost, bitset_damaged), each after the problem that
// says why: format/era_walk.h.
#include <gtest/gtest.h>
#include <string>
#include <vector>
#include "era_fixture.h"

namespace {

const uint64_t MiB = 1u << 20;

// What a repair hears, in order: "P<id>" a problem, "L" writesets lost,
// "B<era>" a damaged bitset, "W<era>" a writeset handed on.
struct Heard {
	std::vector<std::string> ev;

	static void on_lost(void *c) { static_cast<Heard *>(c)->ev.push_back("L"); }
	static void on_bitset(void *c, const era_writeset_info *ws)
	{
		static_cast<Heard *>(c)->ev.push_back("B" + std::to_string(ws->era));
	}
	static int on_ws(void *c, const era_writeset_info *ws, const uint64_t *)
	{
		static_cast<Heard *>(c)->ev.push_back("W" + std::to_string(ws->era));
		return 0;
	}
};

std::vector<std::string> heard(const std::string &path)
{
	Heard h;
	era_visitor v{};
	v.ctx = &h;
	v.problem = [](void *c, const auto *r) -> int {
		static_cast<Heard *>(c)->ev.push_back("P" + std::to_string(r->problem));
		return 0;
	};
	v.writeset = Heard::on_ws;
	v.writesets_lost = Heard::on_lost;
	v.bitset_damaged = Heard::on_bitset;
	pd_bm *bm;
	pd_err e;
	EXPECT_EQ(pd_bm_open(&bm, path.c_str(), PD_OPEN_RDONLY, 64, &e), 0) << e.msg;
	era_walk_opts o{};
	EXPECT_EQ(era_walk(bm, &o, &v, &e), 0) << e.msg;
	pd_bm_close(bm);
	return h.ev;
}

std::string id(era_problem_id p) { return "P" + std::to_string(p); }

Spec two_writesets()
{
	return Spec{params(100, 7), {{2, {0, 5}}, {4, {6}}}, std::vector<uint32_t>(100, 1)};
}

} // namespace

TEST(WalkDecisions, CleanMetadataCallsNeither)
{
	Dev dev(MiB);
	pd_err e;
	ASSERT_EQ(build(dev, two_writesets(), &e), 0) << e.msg;
	EXPECT_EQ(heard(dev.path), (std::vector<std::string>{ "W2", "W4" }));
}

TEST(WalkDecisions, DamagedWritesetTreeSaysWritesetsLost)
{
	Dev dev(MiB);
	pd_err e;
	ASSERT_EQ(build(dev, two_writesets(), &e), 0) << e.msg;
	dev.break_checksum(walk(dev.path).sb.writeset_tree_root);
	EXPECT_EQ(heard(dev.path), (std::vector<std::string>{ id(ERA_P_WS_TREE), "L" }));
}

TEST(WalkDecisions, DamagedBitsetNamesItsWritesetBeforeHandingItOn)
{
	Dev dev(MiB);
	pd_err e;
	ASSERT_EQ(build(dev, two_writesets(), &e), 0) << e.msg;
	Walked w = walk(dev.path);
	ASSERT_EQ(w.ws.size(), 2u);
	dev.break_checksum(w.ws[1].info.root); // era 4's bitset index
	// said twice (the index, then the array blocks it no longer reaches), each followed by B4
	EXPECT_EQ(heard(dev.path), (std::vector<std::string>{ "W2", id(ERA_P_WS_BITSET), "B4", id(ERA_P_WS_BITSET),
							       "B4", "W4" }));
}

TEST(WalkDecisions, ArchivedWritesetAfterTheCurrentEraSaysWritesetsLost)
{
	Dev dev(MiB);
	pd_err e;
	Spec s = two_writesets();
	ASSERT_EQ(build(dev, s, &e), 0) << e.msg;
	// the superblock's current era back to 3: era 4's writeset is from the future
	dev.patch(0, &era_sb_validator, [](uint8_t *p) {
		era_sb sb;
		era_sb_decode(p, 0, &sb);
		sb.current_era = 3;
		era_sb_encode(p, &sb);
	});
	EXPECT_EQ(heard(dev.path), (std::vector<std::string>{ "W2", id(ERA_P_WS_ERA_FUTURE), "L", "W4" }));
}
