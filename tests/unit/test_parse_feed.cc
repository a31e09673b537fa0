// The streaming XML parser (xml/era_parse.h): the events do not depend on
// how the input arrives in chunks, and errors name the line and column.
#include <gtest/gtest.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>
#include "shim.h"

namespace {

const std::string DOC =
	"<superblock uuid=\"\" block_size=\"128\" nr_blocks=\"6\" current_era=\"4\">\n"
	"  <writeset era=\"1\" nr_bits=\"6\">\n"
	"    <bit block=\"0\" value=\"true\"/>\n"
	"    <bit block=\"3\" value=\"false\"/>\n"
	"  </writeset>\n"
	"  <writeset era=\"2\" nr_bits=\"6\">\n"
	"    <marked block_begin=\"1\" len=\"4\"/>\n"
	"  </writeset>\n"
	"  <era_array>\n"
	"    <era block=\"0\" era=\"1\"/>\n"
	"    <era block=\"1\" era=\"4294967295\"/>\n"
	"  </era_array>\n"
	"</superblock>\n";

struct Rec {
	std::vector<std::string> ev;
	std::string fail_on;  // a callback that fails, with PD_E_RANGE
	int maybe_fail(const char *what, pd_err *e)
	{
		if (fail_on == what) {
			pd_fail(e, PD_E_RANGE, PD_NO_BLOCK, "%s refused", what);
			return -PD_E_RANGE;
		}
		return 0;
	}
	void add(const std::string &s) { ev.push_back(s); }
	// every callback: record "WHAT ARGS", then fail if it is fail_on
	int on(const char *what, const std::string &args, pd_err *e)
	{
		add(args.empty() ? std::string(what) : what + (" " + args));
		return maybe_fail(what, e);
	}
};

#define R(c) (*static_cast<Rec *>(c))
era_xml_events events(Rec &r)
{
	era_xml_events v{};
	v.ctx = &r;
	v.superblock_begin = [](void *c, const era_xml_superblock *sb, pd_err *e) {
		return R(c).on("sb", std::to_string(sb->block_size) + " " + std::to_string(sb->nr_blocks) + " " +
				       std::to_string(sb->current_era), e);
	};
	v.writeset_begin = [](void *c, uint32_t era, uint32_t nr_bits, pd_err *e) {
		return R(c).on("ws", std::to_string(era) + " " + std::to_string(nr_bits), e);
	};
	v.bit = [](void *c, uint32_t block, int value, pd_err *e) {
		return R(c).on("bit", std::to_string(block) + " " + std::to_string(value), e);
	};
	v.marked = [](void *c, uint32_t begin, uint32_t len, pd_err *e) {
		return R(c).on("marked", std::to_string(begin) + " " + std::to_string(len), e);
	};
	v.writeset_end = [](void *c, pd_err *e) {
		return R(c).on("/ws", "", e);
	};
	v.era_array_begin = [](void *c, pd_err *e) {
		return R(c).on("ea", "", e);
	};
	v.era = [](void *c, uint32_t block, uint32_t era, pd_err *e) {
		return R(c).on("era", std::to_string(block) + " " + std::to_string(era), e);
	};
	v.era_array_end = [](void *c, pd_err *e) {
		return R(c).on("/ea", "", e);
	};
	v.superblock_end = [](void *c, pd_err *e) {
		return R(c).on("/sb", "", e);
	};
	return v;
}

const std::vector<std::string> WANT = {
	"sb 128 6 4", "ws 1 6", "bit 0 1", "bit 3 0", "/ws", "ws 2 6", "marked 1 4", "/ws",
	"ea", "era 0 1", "era 1 4294967295", "/ea", "/sb",
};

/* Parses doc from a socket that hands each chunk to one read(). */
int parse_chunks(const std::string &doc, const std::vector<size_t> &cuts, Rec &r, pd_err *err)
{
	int sv[2];
	EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	std::thread writer([&] {
		size_t at = 0;
		for (size_t i = 0; i <= cuts.size(); i++) {
			size_t end = i < cuts.size() ? cuts[i] : doc.size();
			if (end > at) {
				EXPECT_EQ(write(sv[1], doc.data() + at, end - at), (ssize_t)(end - at));
			}
			at = end;
		}
		close(sv[1]);
	});
	era_xml_events ev = events(r);
	int rc = era_xml_parse_fd(sv[0], &ev, err);
	writer.join();
	close(sv[0]);
	return rc;
}

int parse_mem(const std::string &doc, Rec &r, pd_err *err)
{
	era_xml_events ev = events(r);
	return era_xml_parse_mem(doc.data(), doc.size(), &ev, err);
}

// DOC with the first `at` (len bytes of it) replaced by with.
std::string doc_with(const std::string &at, size_t len, const std::string &with)
{
	std::string d = DOC;

	return d.replace(d.find(at), len, with);
}

// Parses doc whole, which must be refused: the error (the events before it in r).
pd_err refused(const std::string &doc, Rec &r)
{
	pd_err err{};
	EXPECT_NE(parse_mem(doc, r, &err), 0);
	return err;
}

} // namespace

TEST(ParseFeed, WholeDocumentEvents)
{
	Rec r;
	pd_err err;
	ASSERT_EQ(parse_mem(DOC, r, &err), 0) << err.msg;
	EXPECT_EQ(r.ev, WANT);
}

TEST(ParseFeed, EverySplitPointGivesTheSameEvents)
{
	for (size_t cut = 1; cut < DOC.size(); cut++) {
		Rec r;
		pd_err err;
		ASSERT_EQ(parse_chunks(DOC, {cut}, r, &err), 0) << err.msg << " cut " << cut;
		ASSERT_EQ(r.ev, WANT) << "cut at byte " << cut;
	}
}

TEST(ParseFeed, OneByteAtATime)
{
	std::vector<size_t> cuts;
	for (size_t i = 1; i < DOC.size(); i++)
		cuts.push_back(i);
	Rec r;
	pd_err err;
	ASSERT_EQ(parse_chunks(DOC, cuts, r, &err), 0) << err.msg;
	EXPECT_EQ(r.ev, WANT);
}

TEST(ParseFeed, ErrorsAtEverySplitPointAreTheSame)
{
	// a bad number on line 10: the same message and place however it is cut
	std::string bad = doc_with("era=\"1\"/>", 7, "era=\"x1\"");
	Rec r0;
	pd_err want = refused(bad, r0);
	EXPECT_EQ(want.line, 10u);
	EXPECT_EQ(want.code, PD_E_CORRUPT);
	for (size_t cut = 1; cut < bad.size(); cut += 3) {
		Rec r;
		pd_err err;
		ASSERT_NE(parse_chunks(bad, {cut}, r, &err), 0) << "cut " << cut;
		EXPECT_EQ(err.line, want.line) << "cut " << cut;
		EXPECT_EQ(err.col, want.col) << "cut " << cut;
		EXPECT_STREQ(err.msg, want.msg) << "cut " << cut;
		EXPECT_EQ(r.ev, r0.ev) << "cut " << cut;
	}
}

TEST(ParseFeed, BadNumberNamesLineAndColumn)
{
	Rec r;
	pd_err err = refused(doc_with("block=\"3\"", 9, "block=\"-3\""), r);
	EXPECT_EQ(err.line, 4u);
	EXPECT_GT(err.col, 0u);
	EXPECT_EQ(err.code, PD_E_CORRUPT);
	EXPECT_NE(std::string(err.msg).find("block"), std::string::npos) << err.msg;
	// events stop before the bad element
	EXPECT_EQ(r.ev.back(), "bit 0 1");
}

TEST(ParseFeed, NumberTooLargeRefused)
{
	Rec r;
	pd_err err = refused(doc_with("4294967295", 10, "4294967296"), r);
	EXPECT_EQ(err.line, 11u);
	EXPECT_EQ(r.ev.back(), "era 0 1");
}

TEST(ParseFeed, CallbackErrorKeepsItsCodeAndPlace)
{
	Rec r;
	r.fail_on = "marked";
	pd_err err = refused(DOC, r);
	EXPECT_EQ(err.code, PD_E_RANGE);
	EXPECT_EQ(err.line, 7u);
	EXPECT_GT(err.col, 0u);
	EXPECT_NE(std::string(err.msg).find("marked refused"), std::string::npos) << err.msg;
	EXPECT_EQ(r.ev.back(), "marked 1 4");  // nothing after it
}

TEST(ParseFeed, ElementOutOfPlaceRefused)
{
	// an era outside the era array, a bit outside a writeset, a missing attribute
	const std::pair<std::string, std::string> cases[] = {
		{"<writeset era=\"1\" nr_bits=\"6\">", "<writeset era=\"1\" nr_bits=\"6\"><era block=\"0\" era=\"1\"/>"},
		{"  <era_array>", "  <bit block=\"0\" value=\"true\"/><era_array>"},
		{"<marked block_begin=\"1\" len=\"4\"/>", "<marked block_begin=\"1\"/>"},
	};
	for (auto &c : cases) {
		SCOPED_TRACE(c.second);
		Rec r;
		pd_err err = refused(doc_with(c.first, c.first.size(), c.second), r);
		EXPECT_GT(err.line, 1u) << c.second;
		EXPECT_EQ(err.code, PD_E_CORRUPT) << c.second;
	}
}

TEST(ParseFeed, TruncatedDocumentRefused)
{
	for (size_t len : {DOC.size() - 2, DOC.size() / 2, (size_t)10}) {
		Rec r;
		pd_err err;
		EXPECT_NE(parse_mem(DOC.substr(0, len), r, &err), 0) << len;
		EXPECT_NE(r.ev.size(), WANT.size()) << len;
	}
}
