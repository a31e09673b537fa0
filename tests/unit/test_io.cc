// libpd/io.h, the one place reads and writes are retried: short reads of a
// pipe are gathered, the end of the input ends a read short; and
// pd_walk_damage, the one rule for a walk's damage without a callback.
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <unistd.h>
#include "shim.h"

extern "C" {
#include "libpd/io.h"
}

TEST(Io, ReadAllGathersShortReadsOfAPipe)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	std::thread writer([&] {
		for (const char *piece : { "abc", "defg", "hij" }) {
			size_t done;
			EXPECT_EQ(pd_write_all(p[1], piece, strlen(piece), &done), 0);
			usleep(20000); // each piece its own read on the other side
		}
		close(p[1]);
	});
	char buf[8];
	size_t done = 99;
	EXPECT_EQ(pd_read_all(p[0], buf, sizeof(buf), &done), 0);
	EXPECT_EQ(done, 8u);
	EXPECT_EQ(std::string(buf, 8), "abcdefgh");
	EXPECT_EQ(pd_read_all(p[0], buf, sizeof(buf), &done), 0); // then the end: short
	EXPECT_EQ(done, 2u);
	EXPECT_EQ(std::string(buf, 2), "ij");
	EXPECT_EQ(pd_read_all(p[0], buf, sizeof(buf), &done), 0);
	EXPECT_EQ(done, 0u);
	writer.join();
	close(p[0]);
}

TEST(Io, ReadAllFailsWithErrnoOnABadFd)
{
	char buf[4];
	size_t done = 99;
	errno = 0;
	EXPECT_LT(pd_read_all(-1, buf, sizeof(buf), &done), 0); // -1, or -PD_E_IO once io.h says so
	EXPECT_EQ(errno, EBADF);
	EXPECT_EQ(done, 0u);
}

TEST(Io, PreadvReadsAtTheOffset)
{
	char tmpl[] = "/tmp/era-unit-io-XXXXXX";
	int fd = mkstemp(tmpl);
	ASSERT_GE(fd, 0);
	unlink(tmpl);
	size_t done;
	ASSERT_EQ(pd_pwrite_all(fd, "0123456789", 10, 0, &done), 0);
	char a[3], b[4];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	EXPECT_EQ(pd_preadv(fd, iov, 2, 2), 7);
	EXPECT_EQ(std::string(a, 3) + std::string(b, 4), "2345678");
	EXPECT_EQ(pd_preadv(fd, iov, 2, 8), 2); // short at the end: the caller's to see
	close(fd);
}

namespace {
int seen_code;
int keep_going(void *ctx, const pd_err *d)
{
	seen_code = d->code;
	return *static_cast<int *>(ctx);
}
} // namespace

TEST(WalkDamage, WithoutACallbackFillsTheErrorAndStops)
{
	pd_err d, e;
	pd_fail(&d, PD_E_CSUM, 7, "bad");
	pd_err_clear(&e);
	EXPECT_EQ(pd_walk_damage(nullptr, nullptr, &d, &e), -PD_E_CSUM);
	EXPECT_EQ(e.code, PD_E_CSUM);
	EXPECT_EQ(e.block, 7u);
	EXPECT_STREQ(e.msg, "bad");
	EXPECT_EQ(pd_walk_damage(nullptr, nullptr, &e, &e), -PD_E_CSUM); // e itself: left as it is
	EXPECT_STREQ(e.msg, "bad");
}

TEST(WalkDamage, TheCallbackDecides)
{
	pd_err d, e;
	pd_fail(&d, PD_E_RANGE, 3, "far");
	pd_err_clear(&e);
	int answer = 0;
	EXPECT_EQ(pd_walk_damage(keep_going, &answer, &d, &e), 0);
	EXPECT_EQ(seen_code, PD_E_RANGE);
	EXPECT_EQ(e.code, 0); // not filled: the owner heard it
	answer = -PD_E_INVAL;
	EXPECT_EQ(pd_walk_damage(keep_going, &answer, &d, &e), -PD_E_INVAL);
}
