/* Shared by the libFuzzer targets: a memfd holding the input as a metadata
 * image, and checksum fixing so mutations get past the block validators. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../libpd/disk.h"
#include "../../libpd/validator.h"
#include "../../format/era_sb.h"

static int fuzz_fd = -1;
static char fuzz_path[64];

static __attribute__((unused)) void fuzz_image_init(void)
{
	if (fuzz_fd >= 0)
		return;
	fuzz_fd = memfd_create("era-fuzz", MFD_CLOEXEC);
	if (fuzz_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
}

/* Guesses a block's type from its header and recomputes its checksum.
 * Blocks that look like nothing keep their (now wrong) checksum. */
static __attribute__((unused)) void fuzz_fix_csum(unsigned char *b, uint64_t where, uint64_t nr_blocks)
{
	const struct pd_validator *v = NULL;
	uint32_t f4 = pd_get32(b + 4);

	if (where == 0) {
		v = &era_sb_validator;
	} else if (f4 == PD_NODE_INTERNAL || f4 == PD_NODE_LEAF) {
		v = &pd_btree_validator;
	} else if (f4 == 1018 || f4 == 509) {
		v = &pd_array_validator;
	} else if (f4 == 0 && pd_get64(b + 8) == where) {
		/* space map index or bitmap: an index's first entry names a bitmap */
		uint64_t bm = pd_get64(b + 16);
		uint32_t nr_free = pd_get32(b + 24);
		v = bm && bm < nr_blocks && nr_free <= PD_SM_ENTRIES_PER_BITMAP ? &pd_sm_index_validator
									      : &pd_sm_bitmap_validator;
	}
	if (v)
		v->prepare(v, b, where);
}

/* Writes data to the memfd, padded to whole blocks. With fix_csums, every
 * block that looks like metadata gets a correct checksum. */
static __attribute__((unused)) int fuzz_image_write(const uint8_t *data, size_t size, int fix_csums)
{
	size_t nr = (size + PD_BLOCK_SIZE - 1) / PD_BLOCK_SIZE;
	unsigned char *buf;

	fuzz_image_init();
	if (nr == 0 || ftruncate(fuzz_fd, 0))
		return -1;
	buf = calloc(nr, PD_BLOCK_SIZE);
	if (!buf)
		return -1;
	memcpy(buf, data, size);
	if (fix_csums)
		for (size_t i = 0; i < nr; i++)
			fuzz_fix_csum(buf + i * PD_BLOCK_SIZE, i, nr);
	if (pwrite(fuzz_fd, buf, nr * PD_BLOCK_SIZE, 0) != (ssize_t)(nr * PD_BLOCK_SIZE)) {
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

#endif
