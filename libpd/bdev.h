/* A file or block device addressed in 4 KiB blocks. */
#ifndef PD_BDEV_H
#define PD_BDEV_H
#include <stdint.h>
#include "pd_err.h"

enum {
	PD_OPEN_RDONLY = 0,
	PD_OPEN_WRITE = 1 << 0,   /* open read-write */
	PD_OPEN_EXCL = 1 << 1,    /* O_EXCL on block devices: refuse one in use */
	PD_OPEN_DIRECT = 1 << 2,  /* O_DIRECT: see what a live kernel wrote */
};

struct pd_bdev {
	int fd;
	int is_blockdev;
	unsigned flags;
	uint64_t size_bytes;
	uint64_t nr_blocks;       /* whole 4 KiB blocks */
	char path[4096];
};

int pd_bdev_open(struct pd_bdev *d, const char *path, unsigned flags, struct pd_err *e);
void pd_bdev_close(struct pd_bdev *d);
/* buf must be 4096-byte aligned when PD_OPEN_DIRECT is used. */
int pd_bdev_read(struct pd_bdev *d, uint64_t block, void *buf, struct pd_err *e);
int pd_bdev_write(struct pd_bdev *d, uint64_t block, const void *buf, struct pd_err *e);
int pd_bdev_sync(struct pd_bdev *d, struct pd_err *e);

#endif
