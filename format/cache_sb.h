/* The dm-cache superblock, decoded and checked. */
#ifndef CACHE_SB_H
#define CACHE_SB_H
#include <stdint.h>
#include "../libpd/bm.h"
#include "../libpd/space_map.h"
#include "cache_disk.h"

struct cache_sb {
	uint32_t flags;
	uint64_t blocknr;
	uint64_t magic;
	uint32_t version;
	char policy_name[CACHE_POLICY_NAME_LEN + 1];
	struct pd_sm_root sm;
	uint64_t mapping_root;
	uint64_t hint_root;
	uint64_t discard_root;
	uint64_t discard_block_size;    /* sectors */
	uint64_t discard_nr_blocks;
	uint32_t data_block_size;       /* sectors: the cache block size */
	uint32_t metadata_block_size;
	uint32_t cache_blocks;          /* entries in the mapping array */
	uint64_t dirty_root;            /* version 2 */
	uint32_t incompat_flags;
};

extern const struct pd_validator cache_sb_validator;

void cache_sb_decode(const void *block, struct cache_sb *sb);

/* Reads block 0 and checks it: magic, checksum, location, version 1 or 2,
 * metadata block size, cache block size (a multiple of 64 sectors), roots
 * within the device, a mapping array that fits the device, and neither the
 * needs-check flag nor unknown incompat flags. raw (4096 bytes, may be NULL)
 * receives the block as read. */
int cache_sb_read(struct pd_bm *bm, struct cache_sb *sb, void *raw, struct pd_err *e);

#endif
