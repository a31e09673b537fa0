/* dm-era on-disk structures (drivers/md/dm-era-target.c). */
#ifndef ERA_DISK_H
#define ERA_DISK_H
#include <stddef.h>
#include "../libpd/disk.h"

#define ERA_MAGIC 2126579579ull
#define ERA_VERSION 1u
#define ERA_CSUM_XOR_SB 146538381u
#define ERA_SUPERBLOCK_LOCATION 0u
#define ERA_UUID_LEN 16u
#define ERA_METADATA_BLOCK_SECTORS 8u
/* The kernel refuses a target of 2^31 blocks or more (valid_nr_blocks in
 * dm-era-target.c: its bit operations take an int index). */
#define ERA_MAX_NR_BLOCKS 0x7fffffffu
#define ERA_MAX_NR_BLOCKS_WHY "the kernel refuses 2^31 (2147483648) origin blocks or more"

struct era_disk_sb {
	le32 csum;
	le32 flags;
	le64 blocknr;
	uint8_t uuid[ERA_UUID_LEN];
	le64 magic;
	le32 version;
	uint8_t metadata_space_map_root[PD_SM_ROOT_SIZE];
	le32 data_block_size;
	le32 metadata_block_size;
	le32 nr_blocks;
	le32 current_era;
	le32 current_writeset_nr_bits;
	le64 current_writeset_root;
	le64 writeset_tree_root;
	le64 era_array_root;
	le64 metadata_snap;
} __attribute__((packed));
_Static_assert(sizeof(struct era_disk_sb) == 224, "era superblock");
_Static_assert(offsetof(struct era_disk_sb, magic) == 32, "magic");
_Static_assert(offsetof(struct era_disk_sb, version) == 40, "version");
_Static_assert(offsetof(struct era_disk_sb, metadata_space_map_root) == 44, "sm root");
_Static_assert(offsetof(struct era_disk_sb, data_block_size) == 172, "data_block_size");
_Static_assert(offsetof(struct era_disk_sb, nr_blocks) == 180, "nr_blocks");
_Static_assert(offsetof(struct era_disk_sb, current_era) == 184, "current_era");
_Static_assert(offsetof(struct era_disk_sb, current_writeset_nr_bits) == 188, "cws nr_bits");
_Static_assert(offsetof(struct era_disk_sb, current_writeset_root) == 192, "cws root");
_Static_assert(offsetof(struct era_disk_sb, writeset_tree_root) == 200, "writeset tree");
_Static_assert(offsetof(struct era_disk_sb, era_array_root) == 208, "era array");
_Static_assert(offsetof(struct era_disk_sb, metadata_snap) == 216, "metadata snap");

/* A writeset has a bit per origin block: the same limit, for reading and
 * writing. */
#define ERA_MAX_NR_BITS ERA_MAX_NR_BLOCKS

/* Writeset tree leaves: (era, writeset) entries per node. */
#define ERA_WS_TREE_LEAF_ENTRIES pd_node_max_entries(sizeof(struct era_disk_writeset))

/* Value of the writeset tree (key = era). */
struct era_disk_writeset {
	le32 nr_bits;
	le64 root;
} __attribute__((packed));
_Static_assert(sizeof(struct era_disk_writeset) == 12, "writeset value");

/* The one place a writeset tree value is read or written. */
static inline void era_disk_writeset_decode(const void *raw, uint32_t *nr_bits, uint64_t *root)
{
	const struct era_disk_writeset *d = (const struct era_disk_writeset *)raw;

	*nr_bits = le32toh(d->nr_bits);
	*root = le64toh(d->root);
}

static inline void era_disk_writeset_encode(struct era_disk_writeset *d, uint32_t nr_bits, uint64_t root)
{
	d->nr_bits = htole32(nr_bits);
	d->root = htole64(root);
}

#endif
