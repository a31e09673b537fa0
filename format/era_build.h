/* Builds dm-era metadata on a device from a stream of events: the
 * superblock's fields, then writesets (each a bitset), then the era array,
 * then commit. era_restore feeds it from XML, era_repair from a walk of
 * damaged metadata. Memory stays flat: one writeset bitset at a time, of
 * min(nr_bits, nr_blocks) / 8 bytes (bits past nr_blocks, in a writeset
 * from before a shrink, are written clear and not held unless one is set;
 * none when the output is already known too small); a writeset whose
 * bitset the output cannot hold is refused before any memory is taken.
 * In a parallel build the second part holds its writesets' bitsets until
 * the join, up to two of nr_blocks bits plus 32 MiB, then fails (the build
 * is redone in one thread). The era array streams into array blocks.
 *
 * Layout: the era array's blocks first, at fixed places (array block i at
 * block 1 + i, so that two threads can write them at once: see the parallel
 * build below); then, in order from the block after them, each writeset's
 * bitset and its index btree in document order; the writeset tree (every
 * writeset keyed by its era); the era array's index; the space map; the
 * superblock last, with current writeset {nr_bits = nr_blocks, root 0} (no
 * current writeset: the kernel starts a new era on resume), flags 1,
 * metadata_snap 0. (1.1.0 allocates the era array after the writesets; the
 * two tools' images hold the same metadata in other places.)
 *
 * Block 0 is zeroed (and synced) before the first block is written, so a run
 * that fails leaves a device that nothing takes for valid metadata. */
#ifndef ERA_BUILD_H
#define ERA_BUILD_H
#include <stdint.h>
#include "../libpd/bdev.h"
#include "era_disk.h"
#include "era_feed.h"

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

/* Back to the state after era_build_open() (a failed parallel build is
 * redone from the start). */
void era_build_reset(struct era_builder *b);

/* Parallel building (era_restore of a large file): after era_build_begin()
 * the builder takes the events of the document's first part as usual, up to
 * a cut inside a writeset or the era array, where it stops (no end events
 * for the elements open there); a part takes, from another thread, the
 * events from the cut to the end: first the element open at the cut
 * (..._continue), then everything after it. The two touch nothing in common
 * but the output's era array blocks, each written by one of them.
 * era_build_join() then checks that the two meet (bits ascending across the
 * cut, era entries consecutive, the same writeset) and takes the part over;
 * on any failure the build must be redone from the start (era_build_reset).
 * A part checks what the builder checks, but its errors are only "failed":
 * the sequential run that follows says exactly what and where. */
struct era_build_part;
int era_build_part_new(struct era_builder *b, struct era_build_part **out, struct pd_err *e);
void era_build_part_free(struct era_build_part *q);
int era_build_part_writeset_continue(struct era_build_part *q, uint32_t era, uint32_t nr_bits, struct pd_err *e);
int era_build_part_writeset_begin(struct era_build_part *q, uint32_t era, uint32_t nr_bits, struct pd_err *e);
int era_build_part_bit(struct era_build_part *q, uint32_t block, int value, struct pd_err *e);
int era_build_part_run(struct era_build_part *q, uint32_t begin, uint32_t len, struct pd_err *e);
int era_build_part_writeset_end(struct era_build_part *q, struct pd_err *e);
int era_build_part_era_array_continue(struct era_build_part *q, struct pd_err *e);
int era_build_part_era_array_begin(struct era_build_part *q, struct pd_err *e);
int era_build_part_era(struct era_build_part *q, uint32_t block, uint32_t era, struct pd_err *e);
int era_build_part_era_array_end(struct era_build_part *q, struct pd_err *e);
/* Both threads done: the builder ends as after era_build_era_array_end(). */
int era_build_join(struct era_builder *b, struct era_build_part *q, struct pd_err *e);

/* The feeds (era_feed.h) of a builder and of a part: the calls above, for
 * a producer of events that does not know which it feeds. A builder's
 * ..._continue calls fail (only a part begins inside an element). */
struct era_feed era_build_feed(struct era_builder *b);
struct era_feed era_build_part_feed(struct era_build_part *q);

/* Lower bound of the device size (bytes) for nr_blocks origin blocks and no
 * writesets; for early size checks. */
uint64_t era_build_min_bytes(uint32_t nr_blocks);

#endif
