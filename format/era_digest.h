/* The digest rule: what written metadata must keep so that the kernel's
 * digest does not change its meaning.
 *
 * On every resume dm-era archives the current writeset and then digests the
 * archived writesets OLDEST FIRST, writing each writeset's era into the era
 * array for every block it marks, whatever the entry held
 * (dm-era-target.c, metadata_digest_transcribe_writeset). So after the
 * digest a block marked by archived writesets holds the era of the NEWEST
 * one marking it. The logical era of a block (era_dump --logical,
 * era_invalidate) is max(era array entry, eras of the writesets marking it);
 * the digest keeps it iff
 *
 *   for every block marked in an archived writeset, the era array's era is
 *   <= the era of the newest archived writeset marking it.
 *
 * Metadata that breaks this is "digest-unsafe": activating it lowers eras
 * and a later "written since" query misses writes. Kernel-made metadata
 * even keeps every era array entry <= the oldest archived writeset, which
 * is the cheap test: max(era array) <= oldest archived era implies the rule.
 * Only when that fails is the per-block test needed (era_digest_map). */
#ifndef ERA_DIGEST_H
#define ERA_DIGEST_H
#include <stdint.h>
#include "../libpd/bm.h"
#include "era_walk.h"

/* The cheap test: no archived writeset, or no entry newer than the oldest. */
static inline int era_digest_cheap_safe(int have_ws, uint32_t oldest_ws_era, uint32_t max_entry)
{
	return !have_ws || max_entry <= oldest_ws_era;
}

/* Per block, the era the digest will write (the newest marking writeset's).
 * Memory: 4 bytes + 1 bit per origin block (4 MiB at 1M blocks), held only
 * by callers whose cheap test failed. */
struct era_digest_map {
	uint32_t nr_blocks;
	uint32_t *newest;
	uint64_t *marked;
};

int era_digest_map_init(struct era_digest_map *m, uint32_t nr_blocks, struct pd_err *e);
void era_digest_map_free(struct era_digest_map *m);
/* Writesets in ascending era order (as the digest takes them); bits at or
 * past nr_blocks are not the device's and are ignored. */
void era_digest_map_add(struct era_digest_map *m, uint32_t era, uint32_t nr_bits, const uint64_t *words);

static inline int era_digest_marked(const struct era_digest_map *m, uint64_t b)
{
	return (m->marked[b >> 6] >> (b & 63)) & 1;
}

#define ERA_DIGEST_LISTED 10 /* unsafe blocks named one by one */

struct era_digest_bad {
	uint64_t block;
	uint32_t era;             /* the era array's */
	uint32_t newest;          /* the newest marking writeset's */
};

struct era_digest_result {
	uint64_t nr_unsafe;
	struct era_digest_bad bad[ERA_DIGEST_LISTED];
	/* the newest era among writesets marking an unsafe block: folding that
	 * writeset and every older one into the era array makes it safe */
	uint32_t fold_era;
};

/* Compares n era array entries from first (little-endian le32) with m. */
void era_digest_compare_le(const struct era_digest_map *m, uint64_t first, const void *values, uint32_t n,
			   struct era_digest_result *res);

/* One line for res (at least its first unsafe block), for messages. */
void era_digest_describe(const struct era_digest_result *res, char *buf, size_t len);

/* The per-block test on metadata that has a superblock (era_check): walks
 * the writesets (the current one too: the kernel archives it first, with
 * the current era) and the era array again. Damage is skipped (era_check
 * reports it). Returns 0 with res filled, or -code. */
int era_digest_check(struct pd_bm *bm, uint64_t sb_location, struct era_digest_result *res, struct pd_err *e);

/* The same on what a writer built but has not yet committed (no superblock
 * yet): the writesets' roots and the era array's root on bm. ws in any
 * order; nothing of it may be damaged. */
int era_digest_check_built(struct pd_bm *bm, uint32_t nr_blocks, const struct era_writeset_info *ws, size_t nr_ws,
			   uint64_t era_array_root, struct era_digest_result *res, struct pd_err *e);

#endif
