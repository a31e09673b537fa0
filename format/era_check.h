/* era_check's logic: a visitor on the walker that validates what the
 * walker itself does not (era values) and tallies problems by severity. */
#ifndef ERA_CHECK_H
#define ERA_CHECK_H
#include "era_walk.h"

struct era_check_opts {
	int super_block_only;
	/* Called for every problem found (may be NULL). */
	void (*report)(void *ctx, const struct pd_err *r);
	void *ctx;
};

struct era_check_result {
	unsigned nr[3];           /* by enum era_severity */
	struct era_sb sb;         /* valid when sb_ok */
	int sb_ok;
	int walk_error;           /* nonzero: the walk had to stop early */
};

/* Checks the metadata. Returns 0 after a complete check (problems in res),
 * or -code when the walk could not proceed (e.g. out of memory). */
int era_check_metadata(struct pd_bm *bm, const struct era_check_opts *o, struct era_check_result *res,
		       struct pd_err *e);

#endif
