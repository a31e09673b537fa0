#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "era_problem.h"

/* Each problem once: id, tag, severity, structure, next step, text. */
static const struct era_problem_def table[ERA_P_COUNT] = {
	{ ERA_P_SB, "superblock", ERA_SEV_FATAL, "superblock", ERA_NEXT_RESTORE, "superblock is unusable" },
	{ ERA_P_SNAP_SB, "metadata_snap", ERA_SEV_FATAL, "metadata snapshot", ERA_NEXT_REPAIR,
	  "metadata snapshot superblock is unusable" },
	{ ERA_P_WS_TREE, "writeset_tree", ERA_SEV_FATAL, "writeset tree", ERA_NEXT_REPAIR, "writeset tree is damaged" },
	{ ERA_P_WS_CURRENT_DUP, "writeset_current_dup", ERA_SEV_FATAL, "writeset tree", ERA_NEXT_REPAIR,
	  "writeset tree holds an archived writeset for the current era" },
	{ ERA_P_WS_ERA_FUTURE, "writeset_future_era", ERA_SEV_FATAL, "writeset", ERA_NEXT_REPAIR,
	  "archived writeset is newer than the current era" },
	{ ERA_P_WS_BITSET, "writeset_bitset", ERA_SEV_FATAL, "writeset", ERA_NEXT_REPAIR, "writeset bitset is damaged" },
	{ ERA_P_WS_TOO_LARGE, "writeset_too_large", ERA_SEV_FATAL, "writeset", ERA_NEXT_REPAIR,
	  "writeset is larger than the metadata device could hold" },
	{ ERA_P_WS_NR_BITS, "writeset_nr_bits", ERA_SEV_INFO, "writeset", ERA_NEXT_NONE,
	  "writeset size differs from the device size (the origin was resized)" },
	{ ERA_P_ERA_ARRAY, "era_array", ERA_SEV_FATAL, "era array", ERA_NEXT_REPAIR, "era array is damaged" },
	{ ERA_P_ERA_FUTURE, "era_future", ERA_SEV_FATAL, "era array", ERA_NEXT_REPAIR,
	  "era array holds an era newer than the current era" },
	{ ERA_P_ERA_UNDIGESTED, "era_undigested", ERA_SEV_INFO, "era array", ERA_NEXT_NONE,
	  "era array holds an era newer than the oldest archived writeset (the kernel's own digest never "
	  "writes this, but the digest keeps what it means: no block's era is lowered)" },
	{ ERA_P_SM, "space_map", ERA_SEV_FATAL, "space map", ERA_NEXT_REPAIR, "metadata space map is damaged" },
	{ ERA_P_SM_MISSING, "space_map_missing_ref", ERA_SEV_FATAL, "space map", ERA_NEXT_REPAIR,
	  "space map counts fewer references than the metadata holds" },
	{ ERA_P_SM_LEAK, "space_map_leak", ERA_SEV_NONFATAL, "space map", ERA_NEXT_REPAIR_OPTIONAL,
	  "space map counts references nothing holds (leaked blocks)" },
	{ ERA_P_SM_NR_ALLOCATED, "space_map_nr_allocated", ERA_SEV_NONFATAL, "space map", ERA_NEXT_REPAIR_OPTIONAL,
	  "space map nr_allocated disagrees with its bitmaps" },
	{ ERA_P_SM_NR_FREE, "space_map_nr_free", ERA_SEV_NONFATAL, "space map", ERA_NEXT_REPAIR_OPTIONAL,
	  "space map index nr_free disagrees with its bitmap" },
	{ ERA_P_DIGEST_UNSAFE, "digest_unsafe", ERA_SEV_FATAL, "era array", ERA_NEXT_REPAIR,
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
	return (unsigned)id < ERA_P_COUNT ? table[id].structure : "metadata";
}

const char *era_next_step_text(enum era_next_step step, const char *path, char *buf, unsigned size)
{
	switch (step) {
	case ERA_NEXT_NONE:
		return NULL;
	case ERA_NEXT_RESTORE:
		snprintf(buf, size, "the superblock is unusable, so nothing can be copied from it: restore "
			 "the metadata from an era_dump backup with 'era_restore -i BACKUP.xml -o NEW_DEVICE'");
		break;
	case ERA_NEXT_REPAIR:
		snprintf(buf, size, "damaged metadata: do not activate it; copy what can be read onto a new "
			 "device with 'era_repair -i %s -o NEW_DEVICE' (era_repair(8))", path);
		break;
	case ERA_NEXT_REPAIR_OPTIONAL:
		snprintf(buf, size, "non-fatal findings only: the metadata can be used; 'era_repair -i %s -o "
			 "NEW_DEVICE' writes a clean copy", path);
		break;
	}
	return buf;
}

const char *era_report_structure(const struct pd_err *r, char *buf, unsigned size)
{
	/* the table's column says which problems are in one writeset */
	if (r->has_key && !strcmp(era_problem_structure(r->problem), "writeset")) {
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

int era_finding_stops(const struct pd_err *r, struct pd_err *e)
{
	if (e) {
		*e = *r;
		e->code = PD_E_CORRUPT;
	}
	return -PD_E_CORRUPT;
}
