/* The one walker over dm-era metadata. It reads the superblock, the
 * writesets (archived, then the current one) and the era array in order and
 * hands what it finds to a visitor; check, dump, invalidate and repair differ
 * only in their visitors. */
#ifndef ERA_WALK_H
#define ERA_WALK_H
#include <stdint.h>
#include "../libpd/bm.h"
#include "../libpd/refs.h"
#include "era_problem.h"
#include "era_sb.h"

struct era_writeset_info {
	uint32_t era;
	uint32_t nr_bits;
	uint64_t root;
	int current;              /* the superblock's current writeset */
};

/* Every callback may be NULL. A nonzero return stops the walk and is
 * returned by era_walk (use negative values). */
struct era_visitor {
	void *ctx;
	int (*superblock)(void *ctx, const struct era_sb *sb);
	/* Writesets in era order; words holds pd_bitset_words(nr_bits) words,
	 * bits of damaged blocks zero. */
	int (*writeset)(void *ctx, const struct era_writeset_info *ws, const uint64_t *words);
	/* Optional filter: return 0 to skip a writeset without reading its
	 * bitset (ignored when references are being counted). */
	int (*want_writeset)(void *ctx, const struct era_writeset_info *ws);
	int (*era_array_begin)(void *ctx, uint32_t nr_blocks);
	/* Era array entries [first, first + n) as little-endian le32 values. */
	int (*era_block)(void *ctx, uint64_t first, const void *values, uint32_t n);
	int (*era_array_end)(void *ctx);
	/* A problem found: a finding (r->problem, format/era_problem.h). Return
	 * 0 to go on past it, a negative -PD_E_* to stop. */
	int (*problem)(void *ctx, const struct pd_err *r);
	/* Optional, after superblock(): set *refs to a counter (sized for the
	 * space map) to have every block of the trees the walk reaches counted
	 * in it (the superblocks are the counter owner's to count), a held
	 * metadata snapshot's trees included, whatever the flags
	 * skip (a btree node met before, in another tree, is counted but not
	 * walked again). Leave it NULL not to count. A nonzero return stops
	 * the walk. */
	int (*count_refs)(void *ctx, const struct era_sb *sb, struct pd_refs **refs);
	/* Optional: the walk stopped on an error (not out of memory) in the
	 * part `part` (e as returned), whether or not problem() heard of it. */
	void (*stopped)(void *ctx, enum era_problem_id part, const struct pd_err *e);
	/* Optional, for repair, each after the problem() that says why: the
	 * writeset tree, or an archived writeset's era or size, is damaged, so
	 * writesets may be missing; the bitset of the writeset about to be
	 * handed to writeset() (ws) had damage. (Era array entries that cannot
	 * be read show as a gap in era_block()'s first.) */
	void (*writesets_lost)(void *ctx);
	void (*bitset_damaged)(void *ctx, const struct era_writeset_info *ws);
};

enum {
	ERA_WALK_SB_ONLY = 1 << 0,       /* superblock (and space map root) only */
	ERA_WALK_NO_WRITESETS = 1 << 1,
	ERA_WALK_NO_ERA_ARRAY = 1 << 2,
	ERA_WALK_LOST_WRITTEN = 1 << 4,  /* writeset bits that damage hides read as set
	                                    (salvage: nothing written is lost) */
};

struct era_walk_opts {
	uint64_t sb_location;            /* 0, or a metadata snapshot's block */
	unsigned flags;
};

/* Returns 0 when the walk finished (problems went to the visitor), the
 * visitor's nonzero return, or -code with e filled when the metadata could
 * not be walked at all (e.g. superblock unusable, after reporting it). */
int era_walk(struct pd_bm *bm, const struct era_walk_opts *opts, const struct era_visitor *v,
	     struct pd_err *e);

#endif
