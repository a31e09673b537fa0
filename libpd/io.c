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
			r = -1;
			break;
		}
		if (n == 0)
			break;
		d += (size_t)n;
	}
	*done = d;
	return r;
}

int pd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, size_t *done)
{
	size_t d = 0;
	int r = 0;

	while (d < len) {
		ssize_t n = pwrite(fd, (const char *)buf + d, len - d, (off_t)(off + d));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			r = -1;
			break;
		}
		d += (size_t)n;
	}
	*done = d;
	return r;
}

int pd_write_all(int fd, const void *buf, size_t len, size_t *done)
{
	size_t d = 0;
	int r = 0;

	while (d < len) {
		ssize_t n = write(fd, (const char *)buf + d, len - d);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			r = -1;
			break;
		}
		d += (size_t)n;
	}
	*done = d;
	return r;
}
