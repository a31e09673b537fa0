/* Whole reads and writes at an offset: pread/pwrite again after EINTR and
 * short transfers, the one loop every reader and writer uses. */
#ifndef PD_IO_H
#define PD_IO_H
#include <sys/types.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>
#include "pd_err.h"

/* Reads len bytes at off into buf, or up to the end of the file. Returns
 * 0 with *done the bytes read (less than len only at the end of the file),
 * or -PD_E_IO with errno and *done the bytes read before the error. */
int pd_pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *done);
/* Writes len bytes of buf at off. Returns 0, or -PD_E_IO with *done the bytes
 * written and errno (0 when a write made no progress). */
int pd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, size_t *done);
/* The same at the file's position (pipes, streams). */
int pd_write_all(int fd, const void *buf, size_t len, size_t *done);

/* Reads like pd_pread_all at the file's position (pipes, streams). */
int pd_read_all(int fd, void *buf, size_t len, size_t *done);
/* One preadv, again after EINTR only: a short count is the caller's. */
ssize_t pd_preadv(int fd, const struct iovec *iov, int n, uint64_t off);

#endif
