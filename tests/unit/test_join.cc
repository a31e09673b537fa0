// The parallel build (format/era_build.h era_build_part_*, era_build_join):
// a document cut in two, built by the builder and a part, then joined, gives
// the same bytes as the sequential build; parts that do not meet are refused.
#include <gtest/gtest.h>
#include <string>
#include "era_fixture.h"

namespace {

enum Kind { WS_BEGIN, BIT, WS_END, EA_BEGIN, ERA, EA_END };
struct Ev {
	Kind k;
	uint32_t a, b;
};

const uint64_t DEV = 1u << 20;
const uint32_t NR = 2500;  // three era array blocks

std::vector<Ev> document()
{
	std::vector<Ev> d;
	d.push_back({WS_BEGIN, 1, NR});
	for (uint32_t b = 0; b < NR; b += 7)
		d.push_back({BIT, b, 1});
	d.push_back({WS_END, 0, 0});
	d.push_back({WS_BEGIN, 2, NR});
	for (uint32_t b = 3; b < NR; b += 11)
		d.push_back({BIT, b, b % 2});
	d.push_back({WS_END, 0, 0});
	d.push_back({EA_BEGIN, 0, 0});
	for (uint32_t b = 0; b < NR; b++)
		d.push_back({ERA, b, b % 2 ? 1u : 0u});
	d.push_back({EA_END, 0, 0});
	return d;
}

int feed_builder(era_builder *b, const Ev &v, pd_err *e)
{
	switch (v.k) {
	case WS_BEGIN: return era_build_writeset_begin(b, v.a, v.b, e);
	case BIT: return era_build_writeset_bit(b, v.a, (int)v.b, e);
	case WS_END: return era_build_writeset_end(b, e);
	case EA_BEGIN: return era_build_era_array_begin(b, e);
	case ERA: return era_build_era(b, v.a, v.b, e);
	case EA_END: return era_build_era_array_end(b, e);
	}
	return -1;
}

int feed_part(era_build_part *q, const Ev &v, pd_err *e)
{
	switch (v.k) {
	case WS_BEGIN: return era_build_part_writeset_begin(q, v.a, v.b, e);
	case BIT: return era_build_part_bit(q, v.a, (int)v.b, e);
	case WS_END: return era_build_part_writeset_end(q, e);
	case EA_BEGIN: return era_build_part_era_array_begin(q, e);
	case ERA: return era_build_part_era(q, v.a, v.b, e);
	case EA_END: return era_build_part_era_array_end(q, e);
	}
	return -1;
}

std::vector<uint8_t> file_bytes(Dev &d)
{
	std::vector<uint8_t> all;
	for (uint64_t b = 0; b < DEV / PD_BLOCK_SIZE; b++) {
		std::vector<uint8_t> x = d.block(b);
		all.insert(all.end(), x.begin(), x.end());
	}
	return all;
}

std::vector<uint8_t> sequential(const std::vector<Ev> &doc)
{
	Dev dev(DEV);
	era_builder *b;
	pd_err e;
	era_build_params p = params(NR, 3);
	EXPECT_EQ(era_build_open(&b, &dev.d, &e), 0);
	EXPECT_EQ(era_build_begin(b, &p, &e), 0);
	for (const Ev &v : doc)
		EXPECT_EQ(feed_builder(b, v, &e), 0) << e.msg;
	EXPECT_EQ(era_build_commit(b, &e), 0) << e.msg;
	era_build_free(b);
	return file_bytes(dev);
}

/* The element open before event `cut`: the writeset's (era, nr_bits), or
 * era = UINT32_MAX for the era array. */
std::pair<uint32_t, uint32_t> open_at(const std::vector<Ev> &doc, size_t cut)
{
	std::pair<uint32_t, uint32_t> o{0, 0};
	for (size_t i = 0; i < cut; i++) {
		if (doc[i].k == WS_BEGIN)
			o = {doc[i].a, doc[i].b};
		if (doc[i].k == EA_BEGIN)
			o = {UINT32_MAX, 0};
	}
	return o;
}

/* Builds doc cut before event `cut` (a BIT or ERA event). Returns the join's
 * result; *bytes gets the image after a commit. */
int parallel(const std::vector<Ev> &doc, size_t cut, std::vector<uint8_t> *bytes, pd_err *je,
	     std::pair<uint32_t, uint32_t> cont = {0, 0}, size_t skip = 0)
{
	Dev dev(DEV);
	era_builder *b;
	era_build_part *q;
	pd_err e;
	era_build_params p = params(NR, 3);
	EXPECT_EQ(era_build_open(&b, &dev.d, &e), 0);
	EXPECT_EQ(era_build_begin(b, &p, &e), 0);
	for (size_t i = 0; i < cut; i++)
		EXPECT_EQ(feed_builder(b, doc[i], &e), 0) << e.msg;
	EXPECT_EQ(era_build_part_new(b, &q, &e), 0) << e.msg;
	if (!cont.first && !cont.second)
		cont = open_at(doc, cut);
	if (cont.first == UINT32_MAX)
		EXPECT_EQ(era_build_part_era_array_continue(q, &e), 0);
	else
		EXPECT_EQ(era_build_part_writeset_continue(q, cont.first, cont.second, &e), 0);
	for (size_t i = cut + skip; i < doc.size(); i++)
		EXPECT_EQ(feed_part(q, doc[i], &e), 0) << e.msg << " at event " << i;
	int r = era_build_join(b, q, je);
	era_build_part_free(q);
	if (!r) {
		r = era_build_commit(b, je);
		if (!r && bytes)
			*bytes = file_bytes(dev);
	}
	era_build_free(b);
	return r;
}

size_t first_of(const std::vector<Ev> &doc, Kind k, uint32_t a)
{
	for (size_t i = 0; i < doc.size(); i++)
		if (doc[i].k == k && doc[i].a >= a)
			return i;
	return doc.size();
}

} // namespace

TEST(Join, CutInsideAWritesetGivesTheSameBytes)
{
	std::vector<Ev> doc = document();
	std::vector<uint8_t> want = sequential(doc), got;
	for (size_t cut : {first_of(doc, BIT, 0), first_of(doc, BIT, 700), first_of(doc, BIT, 2499)}) {
		pd_err e;
		ASSERT_EQ(parallel(doc, cut, &got, &e), 0) << e.msg << " cut " << cut;
		EXPECT_TRUE(got == want) << "cut " << cut;
	}
	// inside the second writeset, whose bits are true and false
	size_t second = first_of(doc, WS_BEGIN, 2);
	pd_err e;
	ASSERT_EQ(parallel(doc, second + 40, &got, &e), 0) << e.msg;
	EXPECT_TRUE(got == want);
}

TEST(Join, CutInsideTheEraArrayGivesTheSameBytes)
{
	std::vector<Ev> doc = document();
	std::vector<uint8_t> want = sequential(doc), got;
	// at the array's start, inside its first block, on a block boundary, in the last block
	for (uint32_t at : {0u, 500u, 1018u, 1019u, 2036u, 2499u}) {
		size_t cut = first_of(doc, ERA, at);
		pd_err e;
		ASSERT_EQ(parallel(doc, cut, &got, &e), 0) << e.msg << " at " << at;
		EXPECT_TRUE(got == want) << "at block " << at;
	}
}

TEST(Join, WritesetOfAnotherEraRefused)
{
	std::vector<Ev> doc = document();
	pd_err e;
	// era 3 is open in the part, era 1 in the builder; then nr_bits differ
	EXPECT_EQ(parallel(doc, first_of(doc, BIT, 700), nullptr, &e, {3, NR}), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the parts do not meet in a writeset");
	EXPECT_EQ(parallel(doc, first_of(doc, BIT, 700), nullptr, &e, {1, NR + 1}), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the parts do not meet in a writeset");
}

TEST(Join, EraArrayCutInsideAWritesetRefused)
{
	// the part says the era array was open, the builder is in a writeset
	std::vector<Ev> doc = document();
	pd_err e;
	size_t cut = first_of(doc, BIT, 700);
	size_t ea = first_of(doc, ERA, 0);
	Dev dev(DEV);
	era_builder *b;
	era_build_part *q;
	era_build_params p = params(NR, 3);
	ASSERT_EQ(era_build_open(&b, &dev.d, &e), 0);
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	for (size_t i = 0; i < cut; i++)
		ASSERT_EQ(feed_builder(b, doc[i], &e), 0);
	ASSERT_EQ(era_build_part_new(b, &q, &e), 0);
	ASSERT_EQ(era_build_part_era_array_continue(q, &e), 0);
	for (size_t i = ea; i < doc.size(); i++)
		ASSERT_EQ(feed_part(q, doc[i], &e), 0);
	EXPECT_EQ(era_build_join(b, q, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the first part did not end in the era array");
	era_build_part_free(q);
	era_build_free(b);
}

TEST(Join, EraEntriesThatDoNotMeetRefused)
{
	std::vector<Ev> doc = document();
	pd_err e;
	// the part starts one entry late (a lost line) or one early (a repeated one)
	size_t cut = first_of(doc, ERA, 500);
	EXPECT_EQ(parallel(doc, cut, nullptr, &e, {UINT32_MAX, 0}, 1), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the era array's parts do not meet");
	// on a block boundary too
	cut = first_of(doc, ERA, 1018);
	EXPECT_EQ(parallel(doc, cut, nullptr, &e, {UINT32_MAX, 0}, 1), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the era array's parts do not meet");
}

TEST(Join, BitsOverlappingTheCutRefused)
{
	// the part repeats the first part's last bit: bits must ascend across the cut
	std::vector<Ev> doc = document();
	size_t cut = first_of(doc, BIT, 700);
	std::vector<Ev> dup = doc;
	dup.insert(dup.begin() + (long)cut, doc[cut - 1]);
	pd_err e;
	EXPECT_EQ(parallel(doc, cut, nullptr, &e), 0) << e.msg;  // control: no overlap
	// now cut so that the repeated bit goes to the part
	EXPECT_EQ(parallel(dup, cut, nullptr, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the parts do not meet in a writeset");
}

TEST(Join, PartRefusals)
{
	Dev dev(DEV);
	era_builder *b;
	era_build_part *q;
	pd_err e;
	era_build_params p = params(NR, 3, ERA_BUILD_ALLOW_GAPS);
	ASSERT_EQ(era_build_open(&b, &dev.d, &e), 0);
	EXPECT_EQ(era_build_part_new(b, &q, &e), -PD_E_INVAL);  // before begin
	EXPECT_STREQ(e.msg, "part out of place");
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	EXPECT_EQ(era_build_part_new(b, &q, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "no parallel build with repair options");
	era_build_reset(b);
	p.options = 0;
	ASSERT_EQ(era_build_begin(b, &p, &e), 0);
	ASSERT_EQ(era_build_writeset_begin(b, 1, NR, &e), 0);
	ASSERT_EQ(era_build_part_new(b, &q, &e), 0);
	ASSERT_EQ(era_build_part_writeset_continue(q, 1, NR, &e), 0);
	// checks of its own: order, range, the era
	EXPECT_EQ(era_build_part_bit(q, 10, 1, &e), 0);
	EXPECT_EQ(era_build_part_bit(q, 9, 1, &e), -PD_E_ORDER);
	era_build_part_free(q);
	ASSERT_EQ(era_build_part_new(b, &q, &e), 0);
	EXPECT_EQ(era_build_part_writeset_begin(q, 4, NR, &e), -PD_E_RANGE);
	era_build_part_free(q);
	ASSERT_EQ(era_build_part_new(b, &q, &e), 0);
	ASSERT_EQ(era_build_part_writeset_continue(q, 1, NR, &e), 0);
	// a part that did not reach its end is not joined
	EXPECT_EQ(era_build_join(b, q, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "parallel build: the second part did not end");
	era_build_part_free(q);
	era_build_free(b);
}
