#include <stdarg.h>
#include <stdio.h>
#include "era_problem.h"

static const struct era_problem_def table[ERA_P_COUNT] = {
	{ ERA_P_SB, "superblock", ERA_SEV_FATAL, "superblock is unusable" },
	{ ERA_P_SNAP_SB, "metadata_snap", ERA_SEV_FATAL, "metadata snapshot superblock is unusable" },
	{ ERA_P_WS_TREE, "writeset_tree", ERA_SEV_FATAL, "writeset tree is damaged" },
	{ ERA_P_WS_CURRENT_DUP, "writeset_current_dup", ERA_SEV_FATAL,
	  "writeset tree holds an archived writeset for the current era" },
	{ ERA_P_WS_ERA_FUTURE, "writeset_future_era", ERA_SEV_FATAL,
	  "archived writeset is newer than the current era" },
	{ ERA_P_WS_BITSET, "writeset_bitset", ERA_SEV_FATAL, "writeset bitset is damaged" },
	{ ERA_P_WS_TOO_LARGE, "writeset_too_large", ERA_SEV_FATAL,
	  "writeset is larger than the metadata device could hold" },
	{ ERA_P_WS_NR_BITS, "writeset_nr_bits", ERA_SEV_INFO,
	  "writeset size differs from the device size (the origin was resized)" },
	{ ERA_P_ERA_ARRAY, "era_array", ERA_SEV_FATAL, "era array is damaged" },
	{ ERA_P_ERA_FUTURE, "era_future", ERA_SEV_FATAL, "era array holds an era newer than the current era" },
	{ ERA_P_ERA_UNDIGESTED, "era_undigested", ERA_SEV_INFO,
	  "era array holds an era newer than the oldest archived writeset (the kernel's own digest never "
	  "writes this, but the digest keeps what it means: no block's era is lowered)" },
	{ ERA_P_SM, "space_map", ERA_SEV_FATAL, "metadata space map is damaged" },
	{ ERA_P_SM_MISSING, "space_map_missing_ref", ERA_SEV_FATAL,
	  "space map counts fewer references than the metadata holds" },
	{ ERA_P_SM_LEAK, "space_map_leak", ERA_SEV_NONFATAL, "space map counts references nothing holds (leaked blocks)" },
	{ ERA_P_SM_NR_ALLOCATED, "space_map_nr_allocated", ERA_SEV_NONFATAL,
	  "space map nr_allocated disagrees with its bitmaps" },
	{ ERA_P_SM_NR_FREE, "space_map_nr_free", ERA_SEV_NONFATAL,
	  "space map index nr_free disagrees with its bitmap" },
	{ ERA_P_DIGEST_UNSAFE, "digest_unsafe", ERA_SEV_FATAL,
	  "era array holds an era newer than every archived writeset marking the block: the kernel lowers "
	  "it when it digests the writesets on activation, and writes are missed (run era_repair)" },
};

const struct era_problem_def *era_problem_info(enum era_problem_id id)
{
	return (unsigned)id < ERA_P_COUNT ? &table[id] : &table[ERA_P_SB];
}

const char *era_severity_name(enum era_severity s)
{
	switch (s) {
	case ERA_SEV_FATAL: return "error";
	case ERA_SEV_NONFATAL: return "non-fatal error";
	case ERA_SEV_INFO: return "note";
	}
	return "error";
}

const char *era_problem_structure(enum era_problem_id id)
{
	switch (id) {
	case ERA_P_SB: return "superblock";
	case ERA_P_SNAP_SB: return "metadata snapshot";
	case ERA_P_WS_TREE: return "writeset tree";
	case ERA_P_WS_CURRENT_DUP: return "writeset tree";
	case ERA_P_WS_ERA_FUTURE:
	case ERA_P_WS_BITSET:
	case ERA_P_WS_TOO_LARGE:
	case ERA_P_WS_NR_BITS: return "writeset";
	case ERA_P_ERA_ARRAY:
	case ERA_P_ERA_FUTURE:
	case ERA_P_ERA_UNDIGESTED:
	case ERA_P_DIGEST_UNSAFE: return "era array";
	case ERA_P_SM:
	case ERA_P_SM_MISSING:
	case ERA_P_SM_LEAK:
	case ERA_P_SM_NR_ALLOCATED:
	case ERA_P_SM_NR_FREE: return "space map";
	case ERA_P_COUNT: break;
	}
	return "metadata";
}

const char *era_report_structure(const struct pd_err *r, char *buf, unsigned size)
{
	if (r->has_key && era_problem_structure(r->problem)[0] == 'w' && r->problem != ERA_P_WS_TREE &&
	    r->problem != ERA_P_WS_CURRENT_DUP) {
		snprintf(buf, size, "writeset of era %llu", (unsigned long long)r->key);
		return buf;
	}
	return era_problem_structure(r->problem);
}

static void vfinding(struct pd_err *r, enum era_problem_id id, uint64_t block, const char *fmt, va_list ap)
{
	pd_vfail(r, PD_E_CORRUPT, block, fmt, ap);
	r->problem = id;
}

void era_finding(struct pd_err *r, enum era_problem_id id, uint64_t block, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfinding(r, id, block, fmt, ap);
	va_end(ap);
}

int era_report_to(int (*fn)(void *ctx, const struct pd_err *r), void *ctx, enum era_problem_id id,
		  uint64_t block, const char *fmt, ...)
{
	struct pd_err r;
	va_list ap;

	va_start(ap, fmt);
	vfinding(&r, id, block, fmt, ap);
	va_end(ap);
	return fn(ctx, &r);
}
