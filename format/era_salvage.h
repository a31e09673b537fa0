/* What a salvage writes: the one set of decisions era_repair (onto a
 * device) and era_dump --repair (as XML) both follow, so that the XML
 * rescue route restores to what era_repair would have written.
 *
 * A filter between the tolerant walker and a writer's visitor. The writer
 * sees clean events only:
 *  - writesets with an era after the current era are dropped (reported);
 *    such a writeset, or a damaged writeset tree, means writesets are lost,
 *    and then every era array entry gets the current era: the lost writesets
 *    held the newest writes, of blocks nobody can name now;
 *  - bits that damage hides read as set; a damaged writeset shorter than the
 *    device counts every block past its bits as marked too;
 *  - the current writeset and an archived one of the same era are merged;
 *  - the era array is complete and consecutive from block 0: entries that
 *    cannot be read get the current era, eras after it are clamped to it;
 *  - the result is digest-safe (era_digest.h): the newest writeset that the
 *    era array to be written would make unsafe, and every older one, are
 *    folded into the era array (each block marked in them gets
 *    max(entry, era of the newest of them marking it), what the kernel's
 *    digest would have given it) instead of being written as writesets.
 *
 * The decision to fold needs the era array before the writesets are
 * written, so the metadata is walked more than once: a plan walk of the era
 * array and writeset eras (no bitsets); only when its cheap test fails, a
 * walk of everything with a digest map (4 bytes + 1 bit per block); then
 * the walk that feeds the writer (with a second map of that size while
 * writesets are folded). Problems reach the writer once, in the last walk. */
#ifndef ERA_SALVAGE_H
#define ERA_SALVAGE_H
#include "../libpd/bm.h"
#include "era_walk.h"

struct era_salvage_stats {
	uint64_t gaps_filled;         /* unreadable era array entries given the current era */
	uint64_t eras_clamped;        /* era values after the current era */
	uint32_t writesets_merged;    /* current writeset merged with the archived one */
	uint32_t writesets_folded;    /* folded into the era array (digest safety) */
	uint32_t fold_era;            /* the newest of them */
	uint64_t unsafe_blocks;       /* blocks whose era the digest would have lowered */
	int writesets_lost;
};

/* Walks the metadata at sb_location (0 or a metadata snapshot) and hands
 * the salvage to out (superblock, writeset, era_array_begin, era_block,
 * era_array_end, problem; want_* are not used). Returns era_walk's result
 * of the last walk, or a nonzero return of out. */
int era_salvage_walk(struct pd_bm *bm, uint64_t sb_location, const struct era_visitor *out,
		     struct era_salvage_stats *st, struct pd_err *e);

#endif
