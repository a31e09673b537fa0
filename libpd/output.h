/* Opening a metadata device or file to write new metadata to, safely:
 * it must exist (a regular file or a block device: its size is the space
 * the metadata gets), a block device is opened O_EXCL (refused when mounted
 * or held by device-mapper or another opener), and one that holds a
 * filesystem, RAID, LVM or other signature libblkid knows is refused unless
 * forced. Whatever the force, a device or file under a mounted file system
 * (pd_target_in_use) is refused. dm-era metadata has no libblkid signature,
 * so writing over old era metadata (the normal case) needs no force. */
#ifndef PD_OUTPUT_H
#define PD_OUTPUT_H
#include <stddef.h>
#include "bdev.h"
#include "same_target.h"

enum {
	PD_OUTPUT_FORCE = 1 << 0,   /* write even over a known signature */
};

/* Opens path read-write into d. On failure e says why (PD_E_BUSY for a
 * device in use or a signature found). */
int pd_output_open(struct pd_bdev *d, const char *path, unsigned flags, struct pd_err *e);

/* A signature libblkid finds at path: 0 if none, 1 with what filled
 * ("a ext4 signature (filesystem)"). */
int pd_output_signature(const char *path, char *what, size_t len);

#endif
