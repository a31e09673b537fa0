/* The reference check of era_check: every metadata block the walker reaches
 * is counted (the walker hands this counter to libpd's walkers), then the
 * counts are compared with what the space map records. */
#ifndef ERA_REFS_H
#define ERA_REFS_H
#include "../libpd/refs.h"
#include "era_problem.h"
#include "era_sb.h"

struct era_refs {
	struct pd_refs refs;
	int counting;             /* refs allocated: the space map is sized sanely */
	/* where problems go; a nonzero return stops the comparison */
	int (*problem)(void *ctx, const struct pd_err *r);
	void *ctx;
	/* the comparison's tallies */
	uint64_t sm_allocated;
	uint64_t nr_missing, nr_leaked, nr_free_bad;
};

/* Sizes the counter from the superblock's space map. A space map larger
 * than the device is reported and leaves counting off (returns 0); -code
 * (e filled) if memory runs out. */
int era_refs_init(struct era_refs *c, struct pd_bm *bm, const struct era_sb *sb, struct pd_err *e);
/* Walks the space map (its own blocks are counted too) and reports every
 * difference from the counts. */
int era_refs_compare(struct era_refs *c, struct pd_bm *bm, const struct era_sb *sb, struct pd_err *e);
void era_refs_free(struct era_refs *c);

#endif
