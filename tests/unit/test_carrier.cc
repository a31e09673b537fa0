// The one error carrier (struct pd_err, libpd/pd_err.h) and the one return
// convention: plain failures, parser errors, the output's failures and the
// walker's findings all travel in it, and functions return -PD_E_*.
#include <gtest/gtest.h>
#include <cerrno>
#include <csignal>
#include <string>
#include <thread>
#include <unistd.h>
#include "era_fixture.h"

namespace {

const uint64_t MiB = 1u << 20;

const std::string DOC =
	"<superblock uuid=\"\" block_size=\"128\" nr_blocks=\"4\" current_era=\"6\">\n"
	"  <writeset era=\"3\" nr_bits=\"4\">\n"
	"    <marked block_begin=\"1\" len=\"2\"/>\n"
	"  </writeset>\n"
	"  <era_array>\n"
	"    <era block=\"0\" era=\"2\"/>\n"
	"    <era block=\"1\" era=\"2\"/>\n"
	"    <era block=\"2\" era=\"2\"/>\n"
	"    <era block=\"3\" era=\"2\"/>\n"
	"  </era_array>\n"
	"</superblock>\n";

/* A temporary file holding s, open for reading at its start. */
struct Doc {
	std::string path;
	int fd = -1;
	explicit Doc(const std::string &s)
	{
		char tmpl[] = "/tmp/era-unit-doc-XXXXXX";
		fd = mkstemp(tmpl);
		EXPECT_GE(fd, 0);
		path = tmpl;
		EXPECT_EQ(write(fd, s.data(), s.size()), (ssize_t)s.size());
		EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
	}
	~Doc()
	{
		close(fd);
		unlink(path.c_str());
	}
};

/* Events that accept everything (the parser calls each one). */
era_xml_events accept_all()
{
	era_xml_events v{};
	v.superblock_begin = [](void *, const era_xml_superblock *, pd_err *) { return 0; };
	v.writeset_begin = [](void *, uint32_t, uint32_t, pd_err *) { return 0; };
	v.bit = [](void *, uint32_t, int, pd_err *) { return 0; };
	v.marked = [](void *, uint32_t, uint32_t, pd_err *) { return 0; };
	v.writeset_end = [](void *, pd_err *) { return 0; };
	v.era_array_begin = [](void *, pd_err *) { return 0; };
	v.era = [](void *, uint32_t, uint32_t, pd_err *) { return 0; };
	v.era_array_end = [](void *, pd_err *) { return 0; };
	v.superblock_end = [](void *, pd_err *) { return 0; };
	return v;
}

/* 3000 blocks, current era 6; writesets 3 {1, 2} and 5 {2, 4}. */
Spec base()
{
	Spec s{params(3000, 6), {{3, {1, 2}}, {5, {2, 4}}}, std::vector<uint32_t>(3000, 0)};
	return s;
}

/* The findings of a walk of path (the walk goes on past each). */
std::vector<pd_err> findings(const std::string &path)
{
	std::vector<pd_err> got;
	pd_bm *bm;
	pd_err e;
	EXPECT_EQ(pd_bm_open(&bm, path.c_str(), PD_OPEN_RDONLY, 64, &e), 0) << e.msg;
	era_visitor v{};
	v.ctx = &got;
	v.problem = [](void *c, const pd_err *r) {
		static_cast<std::vector<pd_err> *>(c)->push_back(*r);
		return 0;
	};
	era_walk_opts o{};
	era_walk(bm, &o, &v, &e);
	pd_bm_close(bm);
	return got;
}

/* The last of got's findings of problem id, or nullptr. */
const pd_err *last_of(const std::vector<pd_err> &got, int id)
{
	const pd_err *f = nullptr;
	for (const pd_err &p : got)
		if (p.problem == id)
			f = &p;
	return f;
}

} // namespace

TEST(Carrier, PlainFailureSaysNoneOfTheRest)
{
	pd_err e;
	era_finding(&e, ERA_P_WS_BITSET, 9, "a finding");
	e.has_key = 1;
	e.key = 3;
	e.data_begin = 1;
	e.data_end = 2;
	e.source = PD_SRC_OUTPUT;
	e.line = 4;
	// a plain failure over it: only code, block and message, the arguments
	// may be its own message
	EXPECT_EQ(pd_fail(&e, PD_E_RANGE, 7, "%s, then more", e.msg), -PD_E_RANGE);
	EXPECT_EQ(e.code, PD_E_RANGE);
	EXPECT_EQ(e.block, 7u);
	EXPECT_STREQ(e.msg, "a finding, then more");
	EXPECT_EQ(e.problem, PD_NO_PROBLEM);
	EXPECT_EQ(e.source, PD_SRC_NONE);
	EXPECT_EQ(e.has_key, 0);
	EXPECT_EQ(e.line, 0u);
	EXPECT_EQ(e.col, 0u);
	EXPECT_EQ(e.data_begin, e.data_end);
	pd_err_clear(&e);
	EXPECT_EQ(e.code, PD_OK);
	EXPECT_EQ(e.block, PD_NO_BLOCK);
	EXPECT_EQ(e.problem, PD_NO_PROBLEM);
	EXPECT_STREQ(e.msg, "");
}

TEST(Carrier, MessageHoldsTheLongestOfToday)
{
	pd_err e;
	std::string s(400, 'x');
	pd_fail(&e, PD_E_CORRUPT, PD_NO_BLOCK, "%s", s.c_str());
	EXPECT_EQ(std::string(e.msg).size(), sizeof(e.msg) - 1);
	EXPECT_GE(sizeof(e.msg), 320u);  // era_xml_error's, the largest carrier before
}

TEST(Carrier, FindingFromTheRegistry)
{
	pd_err r;
	char buf[64];
	era_finding(&r, ERA_P_WS_BITSET, 12, "bitset: checksum %s", "mismatch");
	EXPECT_EQ(r.problem, ERA_P_WS_BITSET);
	EXPECT_EQ(r.code, PD_E_CORRUPT);
	EXPECT_EQ(r.block, 12u);
	EXPECT_STREQ(r.msg, "bitset: checksum mismatch");
	EXPECT_EQ(r.source, PD_SRC_NONE);
	EXPECT_STREQ(era_report_structure(&r, buf, sizeof(buf)), "writeset");
	r.has_key = 1;
	r.key = 8;
	EXPECT_STREQ(era_report_structure(&r, buf, sizeof(buf)), "writeset of era 8");
	EXPECT_EQ(era_problem_info((era_problem_id)r.problem)->severity, ERA_SEV_FATAL);
}

TEST(Carrier, ParserErrorIsTheDocumentsWithLineAndColumn)
{
	std::string bad = DOC;
	bad.replace(bad.find("era=\"2\""), 7, "era=\"-2\"");
	era_xml_events ev = accept_all();
	pd_err err;
	EXPECT_EQ(era_xml_parse_mem(bad.data(), bad.size(), &ev, &err), -PD_E_CORRUPT);
	EXPECT_EQ(err.code, PD_E_CORRUPT);
	EXPECT_EQ(err.source, PD_SRC_DOCUMENT);
	EXPECT_EQ(err.line, 6u);
	EXPECT_GT(err.col, 0u);
	EXPECT_EQ(err.problem, PD_NO_PROBLEM);
	EXPECT_NE(std::string(err.msg).find("'era'"), std::string::npos) << err.msg;
}

TEST(Carrier, TruncatedDocumentIsTheDocuments)
{
	era_xml_events ev = accept_all();
	pd_err err;
	EXPECT_EQ(era_xml_parse_mem(DOC.data(), DOC.find("  </writeset>"), &ev, &err), -PD_E_CORRUPT);
	EXPECT_EQ(err.source, PD_SRC_DOCUMENT);
	EXPECT_NE(std::string(err.msg).find("truncated"), std::string::npos) << err.msg;
}

TEST(Carrier, CallbackWriteFailureIsTheOutputsOtherFailuresTheDocuments)
{
	for (int code : {PD_E_IO, PD_E_NOSPC, PD_E_RANGE}) {
		era_xml_events ev = accept_all();
		ev.ctx = &code;
		ev.writeset_begin = [](void *c, uint32_t, uint32_t, pd_err *e) {
			return pd_fail(e, *static_cast<int *>(c), 5, "refused");
		};
		pd_err err;
		EXPECT_EQ(era_xml_parse_mem(DOC.data(), DOC.size(), &ev, &err), -code);
		EXPECT_EQ(err.code, code);
		EXPECT_EQ(err.source, code == PD_E_RANGE ? PD_SRC_DOCUMENT : PD_SRC_OUTPUT) << code;
		EXPECT_EQ(err.line, 2u);  // the element's place, whoever is at fault
		EXPECT_EQ(err.block, 5u); // the callback's block kept
		EXPECT_STREQ(err.msg, "refused");
	}
}

TEST(Carrier, RestoreToATooSmallOutputIsTheOutputs)
{
	Doc doc(DOC);
	Dev out(8 * 1024);  // two blocks: less than the metadata needs
	era_builder *b;
	pd_err err;
	ASSERT_EQ(era_build_open(&b, &out.d, &err), 0) << err.msg;
	era_restore_opts o{};
	o.threads = ERA_RESTORE_ONE_THREAD;
	int r = era_xml_restore(doc.fd, b, nullptr, &o, nullptr, &err);
	era_build_free(b);
	EXPECT_EQ(r, -PD_E_NOSPC);
	EXPECT_EQ(err.code, PD_E_NOSPC);
	EXPECT_EQ(err.source, PD_SRC_OUTPUT);
	EXPECT_EQ(err.line, 0u);  // not a place in the XML
	EXPECT_NE(std::string(err.msg).find("output too small"), std::string::npos) << err.msg;
}

TEST(Carrier, RestoreOfABadDocumentIsTheDocuments)
{
	std::string bad = DOC;
	bad.replace(bad.find("len=\"2\""), 7, "len=\"x\"");
	Doc doc(bad);
	Dev out(MiB);
	era_builder *b;
	pd_err err;
	ASSERT_EQ(era_build_open(&b, &out.d, &err), 0) << err.msg;
	int r = era_xml_restore(doc.fd, b, nullptr, nullptr, nullptr, &err);
	era_build_free(b);
	EXPECT_EQ(r, -PD_E_CORRUPT);
	EXPECT_EQ(err.source, PD_SRC_DOCUMENT);
	EXPECT_EQ(err.line, 3u);
}

TEST(Carrier, RepairNamesTheOutputForItsSpaceAndTheInputForItsDamage)
{
	Dev in(MiB), small(16 * 1024), out(MiB);
	pd_err e;
	ASSERT_EQ(build(in, base(), &e), 0) << e.msg;
	for (int bad_input = 0; bad_input < 2; bad_input++) {
		if (bad_input)
			in.break_checksum(0);
		Dev &o = bad_input ? out : small;
		pd_bm *bm;
		era_builder *b;
		era_repair_result res{};
		era_repair_opts ro{};
		ASSERT_EQ(pd_bm_open(&bm, in.path.c_str(), PD_OPEN_RDONLY, 64, &e), 0);
		ASSERT_EQ(era_build_open(&b, &o.d, &e), 0);
		int r = era_repair_metadata(bm, b, &ro, &res, &e);
		era_build_free(b);
		pd_bm_close(bm);
		EXPECT_EQ(r, bad_input ? -PD_E_CSUM : -PD_E_NOSPC) << e.msg;
		EXPECT_EQ(e.source, bad_input ? PD_SRC_INPUT : PD_SRC_OUTPUT) << e.msg;
	}
}

TEST(Carrier, WalkerFindingCarriesProblemCodeAndLostOriginBlocks)
{
	Dev d(MiB);
	pd_err e;
	ASSERT_EQ(build(d, base(), &e), 0) << e.msg;
	d.break_checksum(2);  // the era array's second block: entries 1018 .. 2035
	std::vector<pd_err> got = findings(d.path);
	const pd_err *f = last_of(got, ERA_P_ERA_ARRAY);
	ASSERT_NE(f, nullptr);
	EXPECT_EQ(f->code, PD_E_CSUM);  // the failed read's code, kept
	EXPECT_EQ(f->block, 2u);
	EXPECT_EQ(f->data_begin, 1018u);
	EXPECT_EQ(f->data_end, 2036u);
	EXPECT_EQ(f->has_key, 0);
	EXPECT_EQ(f->source, PD_SRC_NONE);
}

TEST(Carrier, WalkerFindingInAWritesetCarriesItsEraAsKey)
{
	Dev d(MiB);
	pd_err e;
	ASSERT_EQ(build(d, base(), &e), 0) << e.msg;
	Walked before = walk(d.path);
	ASSERT_EQ(before.ws.size(), 2u);
	ASSERT_EQ(before.ws[1].info.era, 5u);
	d.break_checksum(before.ws[1].info.root);  // era 5's bitset
	std::vector<pd_err> got = findings(d.path);
	const pd_err *f = last_of(got, ERA_P_WS_BITSET);
	ASSERT_NE(f, nullptr);
	EXPECT_EQ(f->has_key, 1);
	EXPECT_EQ(f->key, 5u);
	EXPECT_EQ(f->block, before.ws[1].info.root);
	char buf[64];
	EXPECT_STREQ(era_report_structure(f, buf, sizeof(buf)), "writeset of era 5");
}

TEST(Convention, SizeParserReturnsInval)
{
	uint64_t v = 0;
	EXPECT_EQ(era_parse_size("12x", &v), -PD_E_INVAL);
	EXPECT_EQ(era_parse_size("", &v), -PD_E_INVAL);
	EXPECT_EQ(era_parse_size("99999999999999999999", &v), -PD_E_INVAL);
	EXPECT_EQ(era_parse_size("4k", &v), 0);
	EXPECT_EQ(v, 4096u);
}

TEST(Convention, WholeReadsAndWritesReturnIoWithErrno)
{
	char buf[8] = {0};
	size_t done = 99;
	errno = 0;
	EXPECT_EQ(pd_pread_all(-1, buf, sizeof(buf), 0, &done), -PD_E_IO);
	EXPECT_EQ(errno, EBADF);
	EXPECT_EQ(done, 0u);
	EXPECT_EQ(pd_pwrite_all(-1, buf, sizeof(buf), 0, &done), -PD_E_IO);
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	EXPECT_EQ(pd_write_all(p[1], buf, sizeof(buf), &done), -PD_E_IO);
	EXPECT_EQ(errno, EPIPE);
	close(p[1]);
}

TEST(Convention, RefCountOutOfRangeIsRange)
{
	pd_refs r;
	pd_err e;
	ASSERT_EQ(pd_refs_init(&r, 4, &e), 0);
	EXPECT_EQ(pd_refs_inc(&r, 3), 0);
	EXPECT_EQ(pd_refs_inc(&r, 3), 1);
	EXPECT_EQ(pd_refs_inc(&r, 4), -PD_E_RANGE);
	pd_refs_free(&r);
}

TEST(Convention, TargetOfAMissingPathIsIo)
{
	pd_target t;
	errno = 0;
	EXPECT_EQ(pd_target_of_path("/nonexistent/era-unit", &t), -PD_E_IO);
	EXPECT_EQ(errno, ENOENT);
	EXPECT_EQ(pd_target_of_fd(-1, &t), -PD_E_IO);
}

TEST(Carrier, SinkFailureIsTheOutputs)
{
	pd_err e;
	EXPECT_EQ(sink_error(&e), -PD_E_IO);
	EXPECT_EQ(e.code, PD_E_IO);
	EXPECT_EQ(e.source, PD_SRC_OUTPUT);
	EXPECT_STREQ(e.msg, "write error");
	EXPECT_EQ(sink_error(nullptr), -PD_E_IO);
}

TEST(Carrier, DumpStoppedByAFindingReturnsIt)
{
	Dev d(MiB);
	pd_err e;
	ASSERT_EQ(build(d, base(), &e), 0) << e.msg;
	d.break_checksum(2);
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	pd_bm *bm;
	ASSERT_EQ(pd_bm_open(&bm, d.path.c_str(), PD_OPEN_RDONLY, 64, &e), 0);
	sink s;
	ASSERT_EQ(sink_init(&s, p[1]), 0);
	era_dump_opts o{};
	std::thread reader([&] {
		char buf[4096];
		while (read(p[0], buf, sizeof(buf)) > 0) {
		}
	});
	EXPECT_EQ(era_dump(bm, &o, &s, &e), -PD_E_CORRUPT);
	close(p[1]);
	reader.join();
	close(p[0]);
	EXPECT_EQ(e.code, PD_E_CORRUPT);
	EXPECT_EQ(e.problem, ERA_P_ERA_ARRAY);
	EXPECT_EQ(e.block, 2u);
	EXPECT_EQ(e.data_begin, 1018u);
	EXPECT_EQ(e.data_end, 2036u);
	sink_free(&s);
	pd_bm_close(bm);
}

TEST(Carrier, DumpWriteFailureIsTheOutputs)
{
	Dev d(MiB);
	pd_err e;
	ASSERT_EQ(build(d, base(), &e), 0) << e.msg;
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	pd_bm *bm;
	ASSERT_EQ(pd_bm_open(&bm, d.path.c_str(), PD_OPEN_RDONLY, 64, &e), 0);
	sink s;
	ASSERT_EQ(sink_init(&s, p[1]), 0);
	era_dump_opts o{};
	EXPECT_EQ(era_dump(bm, &o, &s, &e), -PD_E_IO);
	EXPECT_EQ(s.err, EPIPE);
	EXPECT_EQ(e.source, PD_SRC_OUTPUT);
	EXPECT_EQ(e.code, PD_E_IO);
	sink_free(&s);
	pd_bm_close(bm);
	close(p[1]);
}
