/* Builds dm-era metadata on a device from a stream of events: the
 * superblock's fields, then writesets (each a bitset), then the era array,
 * then commit. era_restore feeds it from XML, era_repair from a walk of
 * damaged metadata. Memory stays flat: one writeset bitset (nr_bits / 8
 * bytes) at a time, and the era array streams into array blocks.
 *
 * Layout (the one thin-provisioning-tools 1.1.0 era_restore writes, so the
 * two tools' images can be compared block for block): blocks are used in
 * order from 1; each writeset's bitset and its index btree; the writeset
 * tree (every writeset keyed by its era); the era array blocks and index;
 * the space map; the superblock last, with current writeset {nr_bits =
 * nr_blocks, root 0} (no current writeset: the kernel starts a new era on
 * resume), flags 1, metadata_snap 0.
 *
 * Block 0 is zeroed (and synced) before the first block is written, so a run
 * that fails leaves a device that nothing takes for valid metadata. */
#ifndef ERA_BUILD_H
#define ERA_BUILD_H
#include <stdint.h>
#include "../libpd/bdev.h"
#include "era_disk.h"

struct era_builder;

enum {
	/* era array entries that are not given get gap_era (repair) instead
	 * of failing */
	ERA_BUILD_ALLOW_GAPS = 1 << 0,
	/* a writeset for the era of the one just given is ORed into it
	 * (repair: the current writeset duplicating the tree's newest) */
	ERA_BUILD_MERGE_DUP = 1 << 1,
	/* era values above current_era become current_era (repair) */
	ERA_BUILD_CLAMP_ERAS = 1 << 2,
};

struct era_build_params {
	uint32_t data_block_size;  /* sectors */
	uint32_t nr_blocks;
	uint32_t current_era;
	uint8_t uuid[ERA_UUID_LEN];
	uint32_t flags;            /* superblock flags (1.1.0 writes 1) */
	unsigned options;          /* ERA_BUILD_* */
	uint32_t gap_era;          /* with ERA_BUILD_ALLOW_GAPS */
};

/* dev must be open for writing. Nothing is written until era_build_begin(). */
int era_build_open(struct era_builder **out, struct pd_bdev *dev, struct pd_err *e);
void era_build_free(struct era_builder *b);

int era_build_begin(struct era_builder *b, const struct era_build_params *p, struct pd_err *e);
int era_build_writeset_begin(struct era_builder *b, uint32_t era, uint32_t nr_bits, struct pd_err *e);
/* One bit; blocks strictly ascending. A false bit at or past nr_bits (but
 * below nr_blocks) is accepted: dumps list every block. */
int era_build_writeset_bit(struct era_builder *b, uint32_t block, int value, struct pd_err *e);
/* Bits [begin, begin + len) set; ascending like single bits. */
int era_build_writeset_run(struct era_builder *b, uint32_t begin, uint32_t len, struct pd_err *e);
/* ORs host-order words (pd_bitset_words(nr_bits) of them) in. */
int era_build_writeset_words(struct era_builder *b, const uint64_t *words, struct pd_err *e);
int era_build_writeset_end(struct era_builder *b, struct pd_err *e);
int era_build_era_array_begin(struct era_builder *b, struct pd_err *e);
/* Entries strictly ascending by block. */
int era_build_era(struct era_builder *b, uint32_t block, uint32_t era, struct pd_err *e);
/* n entries from first, little-endian le32 values (a walker's array block). */
int era_build_eras_le(struct era_builder *b, uint64_t first, const void *values, uint32_t n, struct pd_err *e);
int era_build_era_array_end(struct era_builder *b, struct pd_err *e);
/* Space map, superblock, sync. PD_E_NOSPC: see era_build_needed_bytes(). */
int era_build_commit(struct era_builder *b, struct pd_err *e);

/* Bytes the device needs for what was built so far (exact after a commit
 * that failed with PD_E_NOSPC; a lower bound before). */
uint64_t era_build_needed_bytes(const struct era_builder *b);
/* Metadata blocks used (valid after a successful commit). */
uint64_t era_build_blocks_used(const struct era_builder *b);
/* Gaps filled with ERA_BUILD_ALLOW_GAPS, eras clamped, writesets merged. */
struct era_build_stats {
	uint64_t gaps_filled;
	uint64_t eras_clamped;
	uint32_t writesets_merged;
	uint32_t nr_writesets;
};
void era_build_get_stats(const struct era_builder *b, struct era_build_stats *s);

/* Lower bound of the device size (bytes) for nr_blocks origin blocks and no
 * writesets; for early size checks. */
uint64_t era_build_min_bytes(uint32_t nr_blocks);

#endif
