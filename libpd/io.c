#include <errno.h>
#include <unistd.h>
#include "io.h"

int pd_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *done)
{
	size_t d = 0;
	int r = 0;

	while (d < len) {
		ssize_t n = pread(fd, (char *)buf + d, len - d, (off_t)(off + d));
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
