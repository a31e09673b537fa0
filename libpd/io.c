#include <errno.h>
#include <unistd.h>
#include "io.h"

/* off < 0: at the file's position. */
static int read_loop(int fd, void *buf, size_t len, int64_t off, size_t *done)
{
	size_t d = 0;
	int r = 0;

	while (d < len) {
		char *p = (char *)buf + d;
		ssize_t n = off < 0 ? read(fd, p, len - d) : pread(fd, p, len - d, (off_t)((uint64_t)off + d));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -PD_E_IO;
			break;
		}
		if (n == 0)
			break;
		d += (size_t)n;
	}
	*done = d;
	return r;
}

int pd_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *done)
{
	return read_loop(fd, buf, len, (int64_t)off, done);
}

int pd_read_all(int fd, void *buf, size_t len, size_t *done)
{
	return read_loop(fd, buf, len, -1, done);
}

ssize_t pd_preadv(int fd, const struct iovec *iov, int n, uint64_t off)
{
	ssize_t got;

	do
		got = preadv(fd, iov, n, (off_t)off);
	while (got < 0 && errno == EINTR);
	return got;
}

/* off < 0: at the file's position. */
static int write_loop(int fd, const void *buf, size_t len, int64_t off, size_t *done)
{
	size_t d = 0;
	int r = 0;

	while (d < len) {
		const char *p = (const char *)buf + d;
		ssize_t n = off < 0 ? write(fd, p, len - d) : pwrite(fd, p, len - d, (off_t)((uint64_t)off + d));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			r = -PD_E_IO;
			break;
		}
		d += (size_t)n;
	}
	*done = d;
	return r;
}

int pd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, size_t *done)
{
	return write_loop(fd, buf, len, (int64_t)off, done);
}

int pd_write_all(int fd, const void *buf, size_t len, size_t *done)
{
	return write_loop(fd, buf, len, -1, done);
}
