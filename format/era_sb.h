/* The dm-era superblock, decoded. */
#ifndef ERA_SB_H
#define ERA_SB_H
#include <stdint.h>
#include "../libpd/space_map.h"
#include "era_disk.h"

struct era_sb {
	uint64_t location;        /* where it was read (0, or the metadata snapshot) */
	uint32_t flags;
	uint64_t blocknr;
	uint8_t uuid[ERA_UUID_LEN];
	uint64_t magic;
	uint32_t version;
	struct pd_sm_root sm;
	uint32_t data_block_size;
	uint32_t metadata_block_size;
	uint32_t nr_blocks;
	uint32_t current_era;
	uint32_t current_writeset_nr_bits;
	uint64_t current_writeset_root;
	uint64_t writeset_tree_root;
	uint64_t era_array_root;
	uint64_t metadata_snap;
};

extern const struct pd_validator era_sb_validator;

void era_sb_decode(const void *block, uint64_t location, struct era_sb *sb);
void era_sb_encode(void *block, const struct era_sb *sb); /* csum left to the validator */

/* Reads and verifies the superblock at location (checksum, location, magic,
 * version, block sizes, roots within the device). */
int era_sb_read(struct pd_bm *bm, uint64_t location, struct era_sb *sb, struct pd_err *e);

/* Reads block 0 and returns its metadata_snap (0 if none) in *snap. */
int era_metadata_snap(struct pd_bm *bm, uint64_t *snap, struct pd_err *e);

#endif
