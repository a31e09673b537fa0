/* Would writing one path destroy another? The one check every tool with an
 * output makes against its input, and the one test of whether an output is
 * in use (mounted, held, or backing a loop device that is). Aliases seen:
 * the same file (dev, ino), the same block device under another node
 * (st_rdev), a partition and its disk, a device stacked on another (a
 * device-mapper table over a loop device), and a loop device and its
 * backing file, in both directions (LOOP_GET_STATUS64: the backing file's dev and
 * inode, whatever its path). */
#ifndef PD_SAME_TARGET_H
#define PD_SAME_TARGET_H
#include <sys/types.h>
#include "pd_err.h"

/* A block device as far as overlap goes. */
struct pd_target_dev {
	dev_t rdev;
	dev_t whole;              /* a partition: its whole disk (else 0) */
	int backing;              /* 1: a bound loop device, 2: a partition of one */
	dev_t bk_dev;             /* ... whose backing file this is */
	ino_t bk_ino;
};

#define PD_TARGET_MAX_LOWER 16

struct pd_target {
	dev_t dev;                /* the file or device node itself */
	ino_t ino;
	int is_blk;
	struct pd_target_dev self;
	/* the devices a block device is stacked on (device-mapper, md: sysfs
	 * slaves/, to any depth within the bound) */
	unsigned nr_lower;
	struct pd_target_dev lower[PD_TARGET_MAX_LOWER];
};

/* Identity of path (following symlinks) or of an open fd; -PD_E_IO (errno
 * set) if it cannot be stat'ed. */
int pd_target_of_path(const char *path, struct pd_target *t);
int pd_target_of_fd(int fd, struct pd_target *t);

/* If writing out would write over in, fills e with why (naming in_name)
 * and returns -PD_E_INVAL; else 0. */
int pd_target_check(const struct pd_target *in, const char *in_name, const struct pd_target *out,
		    struct pd_err *e);

/* The same for two paths; a path that does not exist aliases nothing. */
int pd_same_target(const char *in, const char *out, struct pd_err *e);

/* The same for an open input (standard input) and a path. */
int pd_same_target_fd(int in_fd, const char *in_name, const char *out, struct pd_err *e);

/* The same for a path and an open output (standard output). */
int pd_same_target_out_fd(const char *in, int out_fd, struct pd_err *e);

/* Whether writing path would write under a user of it: a block device that
 * is mounted, held (holders/), or has such a partition; a regular file that
 * backs a loop device in that state, or (with any_loop) backs any bound
 * loop device at all. Fills e and returns -PD_E_BUSY if so, else 0. */
int pd_target_in_use(const char *path, int any_loop, struct pd_err *e);

#endif
