#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include "shim.h"

static std::string capture(void (*fn)(sink *))
{
	int p[2];
	EXPECT_EQ(pipe(p), 0);
	sink s;
	sink_init(&s, p[1]);
	fn(&s);
	sink_flush(&s);
	sink_free(&s);
	close(p[1]);
	std::string out;
	char buf[65536];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		out.append(buf, (size_t)n);
	close(p[0]);
	return out;
}

TEST(Emit, WritesetLinesAndCounterCarries)
{
	std::string out = capture([](sink *s) {
		uint64_t words[2] = { 1ull << 9 | 1ull << 10, 0 };
		era_xml_writeset(s, 3, 11, words, 12);
	});
	EXPECT_EQ(out.substr(0, 33), "  <writeset era=\"3\" nr_bits=\"11\">");
	EXPECT_NE(out.find("    <bit block=\"9\" value=\"true\"/>\n    <bit block=\"10\" value=\"true\"/>\n"
			   "    <bit block=\"11\" value=\"false\"/>\n  </writeset>\n"),
		  std::string::npos);
}

TEST(Emit, ErasAndBlocks)
{
	std::string out = capture([](sink *s) {
		uint32_t eras[3] = { 0, 7, 7 };
		era_xml_eras(s, 998, eras, 3);
		era_xml_blocks_begin(s);
		era_xml_blocks_run(s, 4, 5);
		era_xml_blocks_run(s, 6, 9);
		era_xml_blocks_end(s);
	});
	EXPECT_EQ(out, "    <era block=\"998\" era=\"0\"/>\n    <era block=\"999\" era=\"7\"/>\n"
		       "    <era block=\"1000\" era=\"7\"/>\n"
		       "<blocks>\n  <block block=\"4\"/>\n  <range begin=\"6\" end=\"9\"/>\n</blocks>\n");
}

TEST(Sink, ClosedPipeIsRemembered)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	sink s;
	ASSERT_EQ(sink_init(&s, p[1]), 0);
	sink_puts(&s, "hello");
	EXPECT_EQ(sink_flush(&s), -PD_E_IO);
	EXPECT_EQ(s.err, EPIPE);
	// and every emitter into the failed sink says so the same way
	uint64_t words[1] = {1};
	uint32_t eras[2] = {1, 2};
	EXPECT_EQ(era_xml_writeset(&s, 1, 2, words, 2), -PD_E_IO);
	EXPECT_EQ(era_xml_eras(&s, 0, eras, 2), -PD_E_IO);
	EXPECT_EQ(sink_reserve(&s), -PD_E_IO);
	sink_free(&s);
	close(p[1]);
}
