#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bdev.h"
#include "io.h"
#include "disk.h"

int pd_bdev_open(struct pd_bdev *d, const char *path, unsigned flags, struct pd_err *e)
{
	struct stat st;
	int oflags = O_CLOEXEC | ((flags & PD_OPEN_WRITE) ? O_RDWR : O_RDONLY);

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (strlen(path) >= sizeof(d->path))
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "path too long");
	strcpy(d->path, path);
	if (stat(path, &st) < 0)
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "is a directory");
	/* metadata has a size and is read at offsets: a FIFO (whose open
	 * would wait for a writer forever), a character device or a socket
	 * cannot hold it */
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "is %s, not a regular file or a block device",
			       S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
			       : S_ISCHR(st.st_mode) ? "a character device" : "a socket or other special file");
	d->is_blockdev = S_ISBLK(st.st_mode);
	if (d->is_blockdev && (flags & PD_OPEN_EXCL))
		oflags |= O_EXCL;
	if (flags & PD_OPEN_DIRECT)
		oflags |= O_DIRECT;
	/* O_NONBLOCK: should path have become a FIFO since the stat, the open
	 * returns at once and the fstat below refuses it */
	d->fd = open(path, oflags | O_NONBLOCK);
	if (d->fd < 0) {
		int err = errno;
		if (err == EBUSY)
			return pd_fail(e, PD_E_BUSY, PD_NO_BLOCK, "device is in use (opened elsewhere)");
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(err));
	}
	if (fstat(d->fd, &st) < 0 || S_ISBLK(st.st_mode) != d->is_blockdev ||
	    (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		pd_bdev_close(d);
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "changed type while being opened");
	}
	if (fcntl(d->fd, F_SETFL, oflags & O_DIRECT) < 0) {
		int err = errno;
		pd_bdev_close(d);
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(err));
	}
	d->flags = flags;
	if (d->is_blockdev) {
		uint64_t sz = 0;
		if (ioctl(d->fd, BLKGETSIZE64, &sz) < 0) {
			int err = errno;
			pd_bdev_close(d);
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "cannot get device size: %s", strerror(err));
		}
		d->size_bytes = sz;
	} else {
		d->size_bytes = (uint64_t)st.st_size;
	}
	d->nr_blocks = d->size_bytes >> PD_BLOCK_SHIFT;
	return 0;
}

void pd_bdev_close(struct pd_bdev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int pd_bdev_read(struct pd_bdev *d, uint64_t block, void *buf, struct pd_err *e)
{
	size_t done;

	if (block >= d->nr_blocks)
		return pd_fail(e, PD_E_RANGE, block, "beyond the end of the device (%llu blocks)",
			       (unsigned long long)d->nr_blocks);
	if (pd_pread_all(d->fd, buf, PD_BLOCK_SIZE, block << PD_BLOCK_SHIFT, &done))
		return pd_fail(e, PD_E_IO, block, "read failed: %s", strerror(errno));
	if (done < PD_BLOCK_SIZE)
		return pd_fail(e, PD_E_IO, block, "short read");
	return 0;
}

int pd_bdev_write(struct pd_bdev *d, uint64_t block, const void *buf, struct pd_err *e)
{
	size_t done;

	if (block >= d->nr_blocks)
		return pd_fail(e, PD_E_RANGE, block, "beyond the end of the device");
	if (pd_pwrite_all(d->fd, buf, PD_BLOCK_SIZE, block << PD_BLOCK_SHIFT, &done))
		return pd_fail(e, PD_E_IO, block, "write failed: %s", errno ? strerror(errno) : "no progress");
	return 0;
}

int pd_bdev_sync(struct pd_bdev *d, struct pd_err *e)
{
	if (fsync(d->fd) < 0)
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "fsync failed: %s", strerror(errno));
	return 0;
}
