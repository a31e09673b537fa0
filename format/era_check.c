#include <stdio.h>
#include <string.h>
#include "era_check.h"
#include "era_digest.h"
#include "era_refs.h"

#define MAX_ERA_LISTED 10

struct check {
	const struct era_check_opts *o;
	struct era_check_result *res;
	uint32_t current_era;
	uint32_t oldest_archived;  /* UINT32_MAX: none */
	int kernel_written;        /* flags 0: last written by the kernel */
	uint32_t max_era;          /* largest era array value */
	uint64_t max_era_block;
	uint64_t nr_future;
	struct pd_bm *bm;
	struct pd_err *e;
	struct era_refs refs;      /* references counted, for the space map */
	uint64_t nr_said;          /* walk and space map problems above notes */
	enum era_problem_id stopped_in; /* the part a walk stopped in, on an error */
};

static int tally(void *ctx, const struct pd_err *r)
{
	struct check *c = ctx;

	c->res->nr[era_problem_info(r->problem)->severity]++;
	if (c->o->report)
		c->o->report(c->o->ctx, r);
	return 0;
}

/* What the walk and the space map comparison find. */
static int on_problem(void *ctx, const struct pd_err *r)
{
	struct check *c = ctx;

	if (era_problem_info(r->problem)->severity != ERA_SEV_INFO)
		c->nr_said++;
	tally(c, r);
	return 0; /* a check goes on to find everything it can */
}

static int on_count_refs(void *ctx, const struct era_sb *sb, struct pd_refs **refs)
{
	struct check *c = ctx;
	int r = era_refs_init(&c->refs, c->bm, sb, c->e);

	if (!r && c->refs.counting)
		*refs = &c->refs.refs;
	return r;
}

static void on_stopped(void *ctx, enum era_problem_id part, const struct pd_err *e)
{
	struct check *c = ctx;

	c->stopped_in = part;
}

static int on_sb(void *ctx, const struct era_sb *sb)
{
	struct check *c = ctx;

	c->res->sb = *sb;
	c->res->sb_ok = 1;
	c->current_era = sb->current_era;
	c->kernel_written = sb->flags == 0;
	return 0;
}

static int on_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct check *c = ctx;
	(void)words;

	if (!ws->current && ws->era < c->oldest_archived)
		c->oldest_archived = ws->era;
	return 0;
}

static int on_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct check *c = ctx;
	uint32_t max = pd_le32_max(values, n);

	if (max > c->max_era) {
		c->max_era = max;
		for (uint32_t i = 0; i < n; i++)
			if (pd_le32_at(values, i) == max) {
				c->max_era_block = first + i;
				break;
			}
	}
	if (max <= c->current_era)
		return 0; /* the usual case, found without a branch a value */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t era = pd_le32_at(values, i);

		if (era > c->current_era && c->nr_future++ < MAX_ERA_LISTED) {
			era_report_to(tally, c, ERA_P_ERA_FUTURE, PD_NO_BLOCK,
				      "era array: origin block %llu has era %u, current era is %u",
				      (unsigned long long)(first + i), era, c->current_era);
		}
	}
	return 0;
}

int era_check_metadata(struct pd_bm *bm, const struct era_check_opts *o, struct era_check_result *res,
		       struct pd_err *e)
{
	struct check c = { .o = o, .res = res, .oldest_archived = UINT32_MAX, .bm = bm, .e = e };
	uint64_t nr_unsafe = 0;
	int cheap_safe;
	struct era_visitor v = {
		.ctx = &c, .superblock = on_sb, .writeset = on_writeset, .era_block = on_era_block,
		.problem = on_problem, .count_refs = on_count_refs, .stopped = on_stopped,
	};
	struct era_walk_opts wo = {
		.sb_location = ERA_SUPERBLOCK_LOCATION,
		.flags = o->super_block_only ? ERA_WALK_SB_ONLY : 0,
	};
	int r;

	memset(res, 0, sizeof(*res));
	c.refs.problem = on_problem;
	c.refs.ctx = &c;
	r = era_walk(bm, &wo, &v, e);
	if (!r && c.refs.counting) {
		r = era_refs_compare(&c.refs, bm, &res->sb, e);
		c.stopped_in = ERA_P_SM;
	}
	/* Stopped by damage nothing has said (the visitor never stops the
	 * walk, so the error is the walk's own; an error, not out of memory,
	 * as the walker's stopped() is told): say it, once. */
	if (r && r != -PD_E_NOMEM && e && e->code && c.refs.counting && !c.nr_said) {
		struct pd_err rep = *e;

		rep.problem = c.stopped_in;
		on_problem(&c, &rep);
	}
	era_refs_free(&c.refs);
	if (c.nr_future > MAX_ERA_LISTED) {
		era_report_to(tally, &c, ERA_P_ERA_FUTURE, PD_NO_BLOCK,
			      "era array: %llu more origin blocks with eras after the current era",
			      (unsigned long long)(c.nr_future - MAX_ERA_LISTED));
	}
	/* The digest rule (era_digest.h): the cheap test first; only when it
	 * fails, a second walk with a per-block map. */
	cheap_safe = era_digest_cheap_safe(c.oldest_archived != UINT32_MAX, c.oldest_archived, c.max_era);
	if (!r && !cheap_safe) {
		struct era_digest_result dr;

		r = era_digest_check(bm, ERA_SUPERBLOCK_LOCATION, &dr, e);
		if (r && e && e->code == PD_E_NOMEM)
			return r;
		r = 0; /* damage that stops it was reported by the walk above */
		nr_unsafe = dr.nr_unsafe;
		for (uint64_t i = 0; i < dr.nr_unsafe && i < ERA_DIGEST_LISTED; i++) {
			era_report_to(tally, &c, ERA_P_DIGEST_UNSAFE, PD_NO_BLOCK,
				      "era array: block %llu has era %u but the newest writeset marking it is era %u: "
				      "the kernel will lower it to %u when it digests the writesets on activation "
				      "(era_repair writes a safe copy)",
				      (unsigned long long)dr.bad[i].block, dr.bad[i].era, dr.bad[i].newest, dr.bad[i].newest);
		}
		if (dr.nr_unsafe > ERA_DIGEST_LISTED) {
			era_report_to(tally, &c, ERA_P_DIGEST_UNSAFE, PD_NO_BLOCK,
				      "era array: %llu more blocks whose era the kernel's digest will lower",
				      (unsigned long long)(dr.nr_unsafe - ERA_DIGEST_LISTED));
		}
	}
	/* not the kernel's own form, but its digest keeps the meaning */
	if (!r && !nr_unsafe && c.kernel_written && !cheap_safe && c.max_era <= c.current_era) {
		era_report_to(tally, &c, ERA_P_ERA_UNDIGESTED, PD_NO_BLOCK,
			      "era array: origin block %llu has era %u, newer than the oldest archived writeset (era %u)",
			      (unsigned long long)c.max_era_block, c.max_era, c.oldest_archived);
	}
	if (r && !res->sb_ok)
		return 0; /* the superblock problem was reported */
	if (r) {
		res->walk_error = r;
		if (e && e->code == PD_E_NOMEM)
			return r;
		if (!res->nr[ERA_SEV_FATAL])
			res->nr[ERA_SEV_FATAL]++;
	}
	return 0;
}
