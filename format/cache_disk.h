/* dm-cache on-disk superblock and mapping entries (drivers/md/dm-cache-metadata.c).
 * Read only: era_invalidate --cache-metadata turns era blocks into cache blocks. */
#ifndef CACHE_DISK_H
#define CACHE_DISK_H
#include <stddef.h>
#include "../libpd/disk.h"

#define CACHE_MAGIC 1623043ull          /* 06142003 octal */
#define CACHE_CSUM_XOR_SB 9031977u
#define CACHE_SUPERBLOCK_LOCATION 0u
#define CACHE_METADATA_BLOCK_SECTORS 8u
#define CACHE_POLICY_NAME_LEN 16u

#define CACHE_SB_FLAG_CLEAN_SHUTDOWN (1u << 0)
#define CACHE_SB_FLAG_NEEDS_CHECK (1u << 1)

/* A mapping array entry: origin block << 16 | flags. */
#define CACHE_MAP_VALID (1u << 0)
#define CACHE_MAP_DIRTY (1u << 1)       /* version 1 only; v2 keeps a dirty bitset */
#define CACHE_MAP_FLAG_BITS 16u

struct cache_disk_sb {
	le32 csum;
	le32 flags;
	le64 blocknr;
	uint8_t uuid[16];
	le64 magic;
	le32 version;
	char policy_name[CACHE_POLICY_NAME_LEN];
	le32 policy_hint_size;
	uint8_t metadata_space_map_root[PD_SM_ROOT_SIZE];
	le64 mapping_root;
	le64 hint_root;
	le64 discard_root;
	le64 discard_block_size;
	le64 discard_nr_blocks;
	le32 data_block_size;
	le32 metadata_block_size;
	le32 cache_blocks;
	le32 compat_flags;
	le32 compat_ro_flags;
	le32 incompat_flags;
	le32 read_hits;
	le32 read_misses;
	le32 write_hits;
	le32 write_misses;
	le32 policy_version[3];
	le64 dirty_root;                /* version 2 */
} __attribute__((packed));
_Static_assert(sizeof(struct cache_disk_sb) == 292, "cache superblock");
_Static_assert(offsetof(struct cache_disk_sb, magic) == 32, "magic");
_Static_assert(offsetof(struct cache_disk_sb, version) == 40, "version");
_Static_assert(offsetof(struct cache_disk_sb, policy_name) == 44, "policy name");
_Static_assert(offsetof(struct cache_disk_sb, metadata_space_map_root) == 64, "sm root");
_Static_assert(offsetof(struct cache_disk_sb, mapping_root) == 192, "mapping root");
_Static_assert(offsetof(struct cache_disk_sb, discard_block_size) == 216, "discard block size");
_Static_assert(offsetof(struct cache_disk_sb, data_block_size) == 232, "data block size");
_Static_assert(offsetof(struct cache_disk_sb, cache_blocks) == 240, "cache blocks");
_Static_assert(offsetof(struct cache_disk_sb, read_hits) == 256, "stats");
_Static_assert(offsetof(struct cache_disk_sb, policy_version) == 272, "policy version");
_Static_assert(offsetof(struct cache_disk_sb, dirty_root) == 284, "dirty root");

#endif
