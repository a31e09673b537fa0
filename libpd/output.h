/* Opening a metadata device or file to write new metadata to, safely:
 * it must exist (a regular file or a block device: its size is the space
 * the metadata gets), a block device is opened O_EXCL (refused when mounted
 * or held by device-mapper or another opener), and one that holds a
 * filesystem, RAID, LVM or other signature libblkid knows is refused unless
 * forced. dm-era metadata has no libblkid signature, so writing over old
 * era metadata (the normal case) needs no force. */
#ifndef PD_OUTPUT_H
#define PD_OUTPUT_H
#include "bdev.h"

enum {
	PD_OUTPUT_FORCE = 1 << 0,   /* write even over a known signature */
};

/* Opens path read-write into d. On failure e says why (PD_E_BUSY for a
 * device in use or a signature found). */
int pd_output_open(struct pd_bdev *d, const char *path, unsigned flags, struct pd_err *e);

/* If a and b are the same file or device, fills e and returns -PD_E_INVAL. */
int pd_same_target(const char *a, const char *b, struct pd_err *e);

#endif
