/* era_repair's work: walk (possibly damaged) dm-era metadata with the
 * tolerant walker and build fresh metadata from what can be read. Damaged
 * subtrees are skipped and reported; era array entries that cannot be read
 * get the current era (so a "written since" query includes them: safe for
 * backups); era values above the current era are clamped to it; a current
 * writeset whose era the writeset tree also holds is merged into it; and
 * archived writesets the kernel's digest would use to lower eras are folded
 * into the era array (the decisions are era_salvage.h's). */
#ifndef ERA_REPAIR_H
#define ERA_REPAIR_H
#include "../libpd/bm.h"
#include "era_build.h"
#include "era_problem.h"
#include "era_salvage.h"

struct era_repair_opts {
	/* Each problem found in the input (may be NULL). */
	void (*report)(void *ctx, const struct pd_err *r);
	void *ctx;
};

struct era_repair_result {
	uint64_t nr_problems;
	struct era_build_stats stats;
	struct era_salvage_stats salvage; /* what the salvage decided (era_salvage.h) */
};

/* Returns 0 when fresh metadata was committed to b's device, or -PD_E_*
 * with e filled (nothing usable written: the output's superblock stays
 * invalid); e->source PD_SRC_OUTPUT for a write or space failure of the
 * output, PD_SRC_INPUT for a failure reading the input. */
int era_repair_metadata(struct pd_bm *in, struct era_builder *b, const struct era_repair_opts *o,
			struct era_repair_result *res, struct pd_err *e);

#endif
