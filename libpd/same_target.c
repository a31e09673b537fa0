#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "same_target.h"

/* Reads the first line of a small sysfs file into buf; 0 on success, or
 * -PD_E_IO. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -PD_E_IO;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -PD_E_IO;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* "major:minor": 0, or -PD_E_CORRUPT. */
static int parse_dev(const char *s, dev_t *d)
{
	unsigned ma, mi;

	if (sscanf(s, "%u:%u", &ma, &mi) != 2)
		return -PD_E_CORRUPT;
	*d = makedev(ma, mi);
	return 0;
}

/* A sysfs "dev" file: the device it names; 0, or -PD_E_IO or
 * -PD_E_CORRUPT. */
static int read_dev(const char *path, dev_t *d)
{
	char buf[32];
	int r = read_line(path, buf, sizeof(buf));

	return r ? r : parse_dev(buf, d);
}

static void sys_path(char *buf, size_t len, dev_t d, const char *leaf)
{
	snprintf(buf, len, "/sys/dev/block/%u:%u/%s", major(d), minor(d), leaf);
}

/* A bound loop device's backing file: LOOP_GET_STATUS64 on fd when given
 * (device and inode), else the path sysfs shows (which may be another
 * mount namespace's, or a deleted file's). 0, -PD_E_INVAL when d is not a
 * bound loop device, -PD_E_IO when its backing file cannot be found. */
static int loop_backing(dev_t d, int fd, dev_t *bk_dev, ino_t *bk_ino)
{
	char p[128], file[4096];
	struct loop_info64 li;
	struct stat st;

	sys_path(p, sizeof(p), d, "loop");
	if (access(p, F_OK))
		return -PD_E_INVAL; /* not a loop device, or not bound */
	if (fd >= 0 && !ioctl(fd, LOOP_GET_STATUS64, &li)) {
		*bk_dev = (dev_t)li.lo_device;
		*bk_ino = (ino_t)li.lo_inode;
		return 0;
	}
	sys_path(p, sizeof(p), d, "loop/backing_file");
	if (read_line(p, file, sizeof(file)) || stat(file, &st))
		return -PD_E_IO;
	*bk_dev = st.st_dev;
	*bk_ino = st.st_ino;
	return 0;
}

/* The whole disk of a partition, from the parent directory sysfs links. */
static dev_t whole_disk(dev_t d)
{
	char p[128];
	dev_t w;

	sys_path(p, sizeof(p), d, "partition");
	if (access(p, F_OK))
		return 0;
	sys_path(p, sizeof(p), d, "../dev");
	if (read_dev(p, &w))
		return 0;
	return w;
}

/* A node for a device: /dev/NAME when it is that device. An fd, or -1 as
 * open() gives (a sentinel: callers only skip the loop query). */
static int open_node(const char *name, dev_t d, int flags)
{
	char p[300];
	struct stat st;

	snprintf(p, sizeof(p), "/dev/%s", name);
	if (stat(p, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != d)
		return -1; /* sentinel: no fd, as open() fails */
	return open(p, flags | O_CLOEXEC | O_NONBLOCK);
}

static void fill_dev(struct pd_target_dev *t, dev_t d, int fd)
{
	t->rdev = d;
	t->whole = whole_disk(d);
	if (!loop_backing(d, fd, &t->bk_dev, &t->bk_ino))
		t->backing = 1;
	else if (t->whole && !loop_backing(t->whole, -1, &t->bk_dev, &t->bk_ino))
		t->backing = 2; /* a partition of a loop device: inside its backing file */
}

/* What d is stacked on, depth first; bounded in depth and in number. */
static void add_lower(struct pd_target *t, dev_t d, int depth)
{
	char p[128], q[512];
	struct dirent *de;
	DIR *dir;
	dev_t s;

	if (depth >= 8)
		return;
	sys_path(p, sizeof(p), d, "slaves");
	dir = opendir(p);
	if (!dir)
		return;
	while (t->nr_lower < PD_TARGET_MAX_LOWER && (de = readdir(dir))) {
		int fd;

		snprintf(q, sizeof(q), "%s/%s/dev", p, de->d_name);
		if (de->d_name[0] == '.' || read_dev(q, &s))
			continue;
		fd = open_node(de->d_name, s, O_RDONLY);
		fill_dev(&t->lower[t->nr_lower++], s, fd);
		if (fd >= 0)
			close(fd);
		add_lower(t, s, depth + 1);
	}
	closedir(dir);
}

static void fill(struct pd_target *t, const struct stat *st, int fd)
{
	memset(t, 0, sizeof(*t));
	t->dev = st->st_dev;
	t->ino = st->st_ino;
	if (!S_ISBLK(st->st_mode))
		return;
	t->is_blk = 1;
	fill_dev(&t->self, st->st_rdev, fd);
	add_lower(t, st->st_rdev, 0);
}

int pd_target_of_fd(int fd, struct pd_target *t)
{
	struct stat st;

	if (fstat(fd, &st))
		return -PD_E_IO;
	fill(t, &st, fd);
	return 0;
}

int pd_target_of_path(const char *path, struct pd_target *t)
{
	struct stat st;
	int fd = -1;

	if (stat(path, &st))
		return -PD_E_IO;
	/* only to ask a loop device for its backing file; never blocks */
	if (S_ISBLK(st.st_mode))
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	fill(t, &st, fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int refuse(struct pd_err *e, const char *in_name, const char *why)
{
	return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "refusing to write over the input %s (%s)", in_name, why);
}

enum { SAME_DEV = 1, A_IN_B, B_IN_A, SAME_FILE_LOOPS };

/* How two block devices overlap, if they do. */
static int dev_overlap(const struct pd_target_dev *a, const struct pd_target_dev *b)
{
	if (a->rdev == b->rdev)
		return SAME_DEV;
	if (a->whole && a->whole == b->rdev)
		return A_IN_B;
	if (b->whole && b->whole == a->rdev)
		return B_IN_A;
	/* two loop devices over one file; two partitions of one loop device do
	 * not overlap (their rdevs differ, checked above) */
	if (a->backing && b->backing && a->bk_dev == b->bk_dev && a->bk_ino == b->bk_ino &&
	    !(a->backing == 2 && b->backing == 2 && a->whole == b->whole))
		return SAME_FILE_LOOPS;
	return 0;
}

static int backed_by(const struct pd_target_dev *d, const struct pd_target *f)
{
	return d->backing && d->bk_dev == f->dev && d->bk_ino == f->ino;
}

/* Whether one of top's lower devices is (or holds, or lies in) t. Two
 * devices over the same lower one (two LVs of one PV) are not refused:
 * only a device stacked on the other is. */
static int stacked_on(const struct pd_target *top, const struct pd_target *t)
{
	for (unsigned i = 0; i < top->nr_lower; i++)
		if ((t->is_blk && dev_overlap(&top->lower[i], &t->self)) || backed_by(&top->lower[i], t))
			return 1;
	return 0;
}

int pd_target_check(const struct pd_target *in, const char *in_name, const struct pd_target *out,
		    struct pd_err *e)
{
	char why[64];

	if (in->dev == out->dev && in->ino == out->ino)
		return refuse(e, in_name, "the same file");
	if (in->is_blk && out->is_blk) {
		switch (dev_overlap(&in->self, &out->self)) {
		case SAME_DEV:
			snprintf(why, sizeof(why), "the same block device %u:%u", major(in->self.rdev),
				 minor(in->self.rdev));
			return refuse(e, in_name, why);
		case A_IN_B:
			return refuse(e, in_name, "the input is a partition of this device");
		case B_IN_A:
			return refuse(e, in_name, "this is a partition of the input");
		case SAME_FILE_LOOPS:
			return refuse(e, in_name, "both are loop devices over the same file");
		}
	}
	if (in->is_blk && backed_by(&in->self, out))
		return refuse(e, in_name, "the input is a loop device backed by this file");
	if (out->is_blk && backed_by(&out->self, in))
		return refuse(e, in_name, "this is a loop device backed by the input");
	if (stacked_on(out, in))
		return refuse(e, in_name, "this device is stacked on the input");
	if (stacked_on(in, out))
		return refuse(e, in_name, "the input is stacked on this device");
	return 0;
}

int pd_same_target(const char *in, const char *out, struct pd_err *e)
{
	struct pd_target a, b;

	if (pd_target_of_path(in, &a) || pd_target_of_path(out, &b))
		return 0;
	return pd_target_check(&a, in, &b, e);
}

int pd_same_target_out_fd(const char *in, int out_fd, struct pd_err *e)
{
	struct pd_target a, b;

	if (pd_target_of_path(in, &a) || pd_target_of_fd(out_fd, &b))
		return 0;
	return pd_target_check(&a, in, &b, e);
}

int pd_same_target_fd(int in_fd, const char *in_name, const char *out, struct pd_err *e)
{
	struct pd_target a, b;

	if (pd_target_of_fd(in_fd, &a) || pd_target_of_path(out, &b))
		return 0;
	return pd_target_check(&a, in_name, &b, e);
}

/* Where d is mounted, from our mount namespace's table; 0 if found, 1 if
 * not, -PD_E_IO if the table cannot be read. */
static int mounted_on(dev_t d, char *where, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[1024];
	unsigned ma, mi;
	int found = 1;

	if (!f)
		return -PD_E_IO;
	while (found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %1023s", &ma, &mi, mp) == 3 && makedev(ma, mi) == d) {
			snprintf(where, len, "%s", mp);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* The first entry of /sys/dev/block/M:m/holders (dm, md, bcache...); 0 if
 * any, 1 if none, -PD_E_IO if the directory cannot be read. */
static int held_by(dev_t d, char *who, size_t len)
{
	char p[128];
	struct dirent *de;
	DIR *dir;
	int found = 1;

	sys_path(p, sizeof(p), d, "holders");
	dir = opendir(p);
	if (!dir)
		return -PD_E_IO;
	while (found && (de = readdir(dir))) {
		if (de->d_name[0] != '.') {
			snprintf(who, len, "%s", de->d_name);
			found = 0;
		}
	}
	closedir(dir);
	return found;
}

/* Whether d, or one of its partitions, is mounted or held: fills why. */
static int dev_busy(dev_t d, char *why, size_t len)
{
	char p[128], name[256], where[1024];
	struct dirent *de;
	DIR *dir;
	dev_t part;
	int busy = 0;

	if (!mounted_on(d, where, sizeof(where))) {
		snprintf(why, len, "mounted on %s", where);
		return 1;
	}
	if (!held_by(d, name, sizeof(name))) {
		snprintf(why, len, "held by %s", name);
		return 1;
	}
	/* O_EXCL on a whole disk succeeds while a partition is mounted */
	sys_path(p, sizeof(p), d, "");
	dir = opendir(p);
	if (!dir)
		return 0;
	while (!busy && (de = readdir(dir))) {
		char q[512];

		snprintf(q, sizeof(q), "%s%s/partition", p, de->d_name);
		if (de->d_name[0] == '.' || access(q, F_OK))
			continue;
		snprintf(q, sizeof(q), "%s%s/dev", p, de->d_name);
		if (read_dev(q, &part))
			continue;
		if (!mounted_on(part, where, sizeof(where))) {
			snprintf(why, len, "its partition %s is mounted on %s", de->d_name, where);
			busy = 1;
		} else if (!held_by(part, name, sizeof(name))) {
			snprintf(why, len, "its partition %s is held by %s", de->d_name, name);
			busy = 1;
		}
	}
	closedir(dir);
	return busy;
}

/* Each bound loop device whose backing file is st: refuse when it is in
 * use (or, with any_loop, at all). */
static int file_in_use(const struct stat *st, int any_loop, struct pd_err *e)
{
	char p[300], why[1600];
	struct dirent *de;
	DIR *dir = opendir("/sys/block");
	int r = 0;

	if (!dir)
		return 0;
	while (!r && (de = readdir(dir))) {
		dev_t d, bk_dev;
		ino_t bk_ino;
		int fd, busy;

		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/dev", de->d_name);
		if (read_dev(p, &d))
			continue;
		fd = open_node(de->d_name, d, O_RDONLY);
		busy = loop_backing(d, fd, &bk_dev, &bk_ino);
		if (fd >= 0)
			close(fd);
		if (busy || bk_dev != st->st_dev || bk_ino != st->st_ino)
			continue;
		busy = dev_busy(d, why, sizeof(why));
		if (!busy) {
			/* an exclusive opener neither mountinfo nor holders shows
			 * (another namespace's mount, swap) */
			fd = open_node(de->d_name, d, O_RDONLY | O_EXCL);
			if (fd >= 0)
				close(fd);
			else if (errno == EBUSY) {
				snprintf(why, sizeof(why), "in use");
				busy = 1;
			}
		}
		if (busy)
			r = pd_fail(e, PD_E_BUSY, PD_NO_BLOCK, "is the backing file of /dev/%s, which is %s",
				    de->d_name, why);
		else if (any_loop)
			r = pd_fail(e, PD_E_BUSY, PD_NO_BLOCK, "is the backing file of loop device /dev/%s",
				    de->d_name);
	}
	closedir(dir);
	return r;
}

int pd_target_in_use(const char *path, int any_loop, struct pd_err *e)
{
	char why[1600];
	struct stat st;

	if (stat(path, &st))
		return 0;
	if (S_ISREG(st.st_mode))
		return file_in_use(&st, any_loop, e);
	if (S_ISBLK(st.st_mode) && dev_busy(st.st_rdev, why, sizeof(why)))
		return pd_fail(e, PD_E_BUSY, PD_NO_BLOCK, "device is in use: %s", why);
	return 0;
}
