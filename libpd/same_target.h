/* Would writing one path destroy another? The one check every tool with an
 * output makes against its input, and the one test of whether an output is
 * in use (mounted, held, or backing a loop device that is). Aliases seen:
 * the same file (dev, ino), the same block device under another node
 * (st_rdev), a partition and its disk, and a loop device and its backing
 * file, in both directions (LOOP_GET_STATUS64: the backing file's dev and
 * inode, whatever its path). */
#ifndef PD_SAME_TARGET_H
#define PD_SAME_TARGET_H
#include <sys/types.h>
#include "pd_err.h"

struct pd_target {
	dev_t dev;                /* the file or device node itself */
	ino_t ino;
	int is_blk;
	dev_t rdev;               /* a block device: which */
	dev_t whole;              /* a partition: its whole disk (else 0) */
	int has_backing;          /* a bound loop device: its backing file */
	dev_t bk_dev;
	ino_t bk_ino;
};

/* Identity of path (following symlinks) or of an open fd; -errno if it
 * cannot be stat'ed. */
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

/* Whether writing path would write under a user of it: a block device that
 * is mounted, held (holders/), or has such a partition; a regular file that
 * backs a loop device in that state, or (with any_loop) backs any bound
 * loop device at all. Fills e and returns -PD_E_BUSY if so, else 0. */
int pd_target_in_use(const char *path, int any_loop, struct pd_err *e);

#endif
