#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <initializer_list>
#include <string>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>
#include "shim.h"
extern "C" {
#include "libpd/same_target.h"
#include "libpd/stream_out.h"
}

static pd_target file(dev_t dev, ino_t ino)
{
	pd_target t = {};
	t.dev = dev;
	t.ino = ino;
	return t;
}

static pd_target_dev dev(dev_t rdev, dev_t whole = 0, int backing = 0, ino_t bk_ino = 0)
{
	pd_target_dev d = {};
	d.rdev = rdev;
	d.whole = whole;
	d.backing = backing;
	d.bk_dev = makedev(8, 1);
	d.bk_ino = bk_ino;
	return d;
}

static pd_target blk(dev_t rdev, dev_t whole = 0, int backing = 0, ino_t bk_ino = 0)
{
	pd_target t = file(makedev(0, 5), 1000 + minor(rdev) + 100 * major(rdev)); /* its /dev node */
	t.is_blk = 1;
	t.self = dev(rdev, whole, backing, bk_ino);
	return t;
}

static std::string why(const pd_target &in, const pd_target &out)
{
	pd_err e;

	if (!pd_target_check(&in, "IN", &out, &e))
		return "";
	EXPECT_EQ(e.code, PD_E_INVAL);
	return e.msg;
}

/* What writing over out with in as the input gets: allowed (""), refused
 * for any reason (ANY) or refused with this message. */
struct Want {
	const pd_target &in, &out;
	const char *why;
};
static const char ANY[] = "refused";
#define REFUSED "refusing to write over the input IN "

static void expect_why(std::initializer_list<Want> wants)
{
	int i = 0;

	for (const Want &w : wants) {
		std::string got = why(w.in, w.out);

		if (w.why == ANY)
			EXPECT_NE(got, "") << "case " << i;
		else
			EXPECT_EQ(got, w.why) << "case " << i;
		i++;
	}
}

TEST(SameTarget, Aliases)
{
	pd_target f = file(makedev(8, 1), 42), g = file(makedev(8, 1), 43);
	pd_target loop0 = blk(makedev(7, 0), 0, 1, 42), loop1 = blk(makedev(7, 1), 0, 1, 42);
	pd_target loop0p1 = blk(makedev(259, 0), makedev(7, 0), 2, 42);
	pd_target loop0p2 = blk(makedev(259, 1), makedev(7, 0), 2, 42);
	pd_target loop1p1 = blk(makedev(259, 2), makedev(7, 1), 2, 42);
	pd_target node2 = blk(makedev(7, 0));
	node2.ino = 7; /* another node of 7:0 */

	expect_why({
		{f, f, REFUSED "(the same file)"},
		{f, g, ""},
		{loop0, node2, REFUSED "(the same block device 7:0)"},
		{loop0, f, REFUSED "(the input is a loop device backed by this file)"},
		{f, loop0, REFUSED "(this is a loop device backed by the input)"},
		{g, loop0, ""},
		{loop0, loop1, REFUSED "(both are loop devices over the same file)"},
		{loop0p1, loop0, REFUSED "(the input is a partition of this device)"},
		{loop0, loop0p1, REFUSED "(this is a partition of the input)"},
		{loop0p1, f, REFUSED "(the input is a loop device backed by this file)"},
		/* two partitions of one loop device do not overlap; of two loop
		 * devices over one file they may */
		{loop0p1, loop0p2, ""},
		{loop0p1, loop1p1, ANY},
		{loop1, loop0p2, ANY},
	});
}

TEST(SameTarget, Stacked)
{
	pd_target f = file(makedev(8, 1), 42);
	pd_target sda = blk(makedev(8, 0)), sda2 = blk(makedev(8, 2), makedev(8, 0));
	pd_target loop0 = blk(makedev(7, 0), 0, 1, 42);
	/* dm-0: linear over loop0 (over f); dm-1, dm-2: two LVs of the PV sda2 */
	pd_target dm0 = blk(makedev(253, 0)), dm1 = blk(makedev(253, 1)), dm2 = blk(makedev(253, 2));
	dm0.lower[dm0.nr_lower++] = loop0.self;
	dm1.lower[dm1.nr_lower++] = sda2.self;
	dm2.lower[dm2.nr_lower++] = sda2.self;

	expect_why({
		{loop0, dm0, REFUSED "(this device is stacked on the input)"},
		{dm0, loop0, REFUSED "(the input is stacked on this device)"},
		{f, dm0, REFUSED "(this device is stacked on the input)"},
		{dm0, f, REFUSED "(the input is stacked on this device)"},
		{sda, dm1, ANY}, /* dm-1 lies in a partition of sda */
		{dm1, sda2, ANY},
		{dm1, dm2, ""}, /* two LVs side by side */
		{dm1, dm0, ""},
	});
}

/* The names in directory d but . and .. */
static std::vector<std::string> names(const std::string &d)
{
	std::vector<std::string> v;
	DIR *dir = opendir(d.c_str());
	while (struct dirent *de = dir ? readdir(dir) : nullptr)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			v.push_back(de->d_name);
	if (dir)
		closedir(dir);
	return v;
}

/* A temporary directory, removed with the files left in it. */
struct TmpDir {
	std::string path;

	TmpDir()
	{
		char d[] = "/tmp/pd-same-target-XXXXXX";
		EXPECT_TRUE(mkdtemp(d));
		path = d;
	}
	~TmpDir()
	{
		for (const std::string &n : names(path))
			unlink((*this / n).c_str());
		rmdir(path.c_str());
	}
	std::string operator/(const std::string &name) const { return path + "/" + name; }
};

static std::string slurp(const std::string &p)
{
	std::string s;
	char buf[256];
	int fd = open(p.c_str(), O_RDONLY);
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		s.append(buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	return s;
}

static void spit(const std::string &p, const std::string &s)
{
	int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, s.data(), s.size()), (ssize_t)s.size());
	close(fd);
}

static int entries(const std::string &d)
{
	return (int)names(d).size();
}

TEST(SameTarget, Paths)
{
	TmpDir d;
	std::string a = d / "a", b = d / "b", l = d / "l";
	pd_err e;

	spit(a, "x");
	spit(b, "x");
	ASSERT_EQ(link(a.c_str(), l.c_str()), 0);
	EXPECT_EQ(pd_same_target(a.c_str(), b.c_str(), &e), 0);
	EXPECT_EQ(pd_same_target(a.c_str(), l.c_str(), &e), -PD_E_INVAL);
	EXPECT_EQ(pd_same_target(a.c_str(), (d / "missing").c_str(), &e), 0);
	int fd = open(a.c_str(), O_RDONLY);
	EXPECT_EQ(pd_same_target_fd(fd, "standard input", l.c_str(), &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "refusing to write over the input standard input (the same file)");
	close(fd);
	EXPECT_EQ(pd_target_in_use(a.c_str(), 1, &e), 0); /* backs no loop device */
}

TEST(StreamOut, ReplaceCommitAbort)
{
	TmpDir d;
	std::string p = d / "out.xml";
	pd_stream_out o;
	pd_err e;

	spit(p, "old");
	ASSERT_EQ(pd_stream_out_open(&o, p.c_str(), &e), 0) << e.msg;
	EXPECT_TRUE(o.replace);
	ASSERT_EQ(write(o.fd, "new", 3), 3);
	EXPECT_EQ(slurp(p), "old");
	EXPECT_EQ(entries(d.path), 2); /* out.xml and the temporary file */
	pd_stream_out_abort(&o);
	EXPECT_EQ(slurp(p), "old");
	EXPECT_EQ(entries(d.path), 1);

	ASSERT_EQ(pd_stream_out_open(&o, p.c_str(), &e), 0) << e.msg;
	ASSERT_EQ(write(o.fd, "new", 3), 3);
	ASSERT_EQ(pd_stream_out_commit(&o, &e), 0) << e.msg;
	EXPECT_EQ(slurp(p), "new");
	EXPECT_EQ(entries(d.path), 1);

	std::string q = d / "fresh.xml";
	ASSERT_EQ(pd_stream_out_open(&o, q.c_str(), &e), 0) << e.msg;
	pd_stream_out_abort(&o);
	EXPECT_NE(access(q.c_str(), F_OK), 0);
	EXPECT_EQ(pd_stream_out_open(&o, d.path.c_str(), &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "is a directory");
}

TEST(Bdev, RefusesFifoWithoutBlocking)
{
	TmpDir d;
	std::string f = d / "fifo";
	pd_bdev dev;
	pd_err e;

	ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
	EXPECT_EQ(pd_bdev_open(&dev, f.c_str(), PD_OPEN_RDONLY, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "is a FIFO (named pipe), not a regular file or a block device");
	EXPECT_EQ(pd_bdev_open(&dev, "/dev/null", PD_OPEN_RDONLY, &e), -PD_E_INVAL);
	EXPECT_STREQ(e.msg, "is a character device, not a regular file or a block device");
}
