/* Every problem a check can find: one table of ids, severities and texts. */
#ifndef ERA_PROBLEM_H
#define ERA_PROBLEM_H
#include <stdint.h>
#include "../libpd/pd_err.h"

enum era_severity {
	ERA_SEV_FATAL,      /* metadata unusable or lying: exit 1 */
	ERA_SEV_NONFATAL,   /* e.g. leaked blocks: exit 1 unless --ignore-non-fatal-errors */
	ERA_SEV_INFO,       /* worth saying, never an error */
};

enum era_problem_id {
	ERA_P_SB,              /* superblock unusable */
	ERA_P_SNAP_SB,         /* metadata snapshot superblock unusable */
	ERA_P_WS_TREE,         /* writeset tree damaged */
	ERA_P_WS_CURRENT_DUP,  /* writeset tree holds the current era */
	ERA_P_WS_ERA_FUTURE,   /* archived writeset newer than the current era */
	ERA_P_WS_BITSET,       /* a writeset's bitset damaged */
	ERA_P_WS_TOO_LARGE,    /* nr_bits impossible for the device */
	ERA_P_WS_NR_BITS,      /* writeset size differs from nr_blocks (resize) */
	ERA_P_ERA_ARRAY,       /* era array damaged */
	ERA_P_ERA_FUTURE,      /* era array entry newer than the current era */
	ERA_P_ERA_UNDIGESTED,  /* era array entry newer than the oldest archived writeset */
	ERA_P_SM,              /* space map unreadable or inconsistent */
	ERA_P_SM_MISSING,      /* space map counts fewer references than exist */
	ERA_P_SM_LEAK,         /* space map counts more references than exist */
	ERA_P_SM_NR_ALLOCATED, /* nr_allocated disagrees with the bitmaps */
	ERA_P_SM_NR_FREE,      /* an index entry's nr_free disagrees with its bitmap */
	ERA_P_DIGEST_UNSAFE,   /* the kernel's digest would lower an era (era_digest.h) */
	ERA_P_COUNT
};

/* What the user does about a problem, from the least to the most drastic:
 * the most drastic of a run's findings is the run's next step. */
enum era_next_step {
	ERA_NEXT_NONE,            /* nothing: a note */
	ERA_NEXT_REPAIR_OPTIONAL, /* usable as it is; era_repair writes a clean copy */
	ERA_NEXT_REPAIR,          /* do not activate; era_repair onto a new device */
	ERA_NEXT_RESTORE,         /* nothing can be copied: restore a backup */
};

struct era_problem_def {
	enum era_problem_id id;
	const char *tag;          /* stable name, for JSON and tests */
	enum era_severity severity;
	const char *structure;    /* where it is, in the user's terms */
	enum era_next_step next;
	const char *text;         /* what it means, for humans */
};

const struct era_problem_def *era_problem_info(enum era_problem_id id);
const char *era_severity_name(enum era_severity s);

/* A finding is a struct pd_err (libpd/pd_err.h) whose `problem` is one of
 * these ids: `code` PD_E_CORRUPT (or the code of the failed read that found
 * it), `block` the metadata block it concerns (PD_NO_BLOCK if none), `msg`
 * the detail. Where the walker knows them: `has_key`, `key` the era of the
 * writeset it is in, and the origin blocks [data_begin, data_end) whose
 * record is lost. */

/* The structure a problem is in, in the user's terms ("era array",
 * "writeset", "space map", ...): the table's column. */
const char *era_problem_structure(enum era_problem_id id);
/* The next step's text for metadata at path, into buf (NULL for
 * ERA_NEXT_NONE). */
const char *era_next_step_text(enum era_next_step step, const char *path, char *buf, unsigned size);
/* "writeset of era N" where the era is known, else the structure: into buf. */
const char *era_report_structure(const struct pd_err *r, char *buf, unsigned size);

/* Fills r as a finding of id at block with a printf-formatted detail. */
void era_finding(struct pd_err *r, enum era_problem_id id, uint64_t block, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Hands fn a finding of id at block with a printf-formatted detail; returns
 * what fn returns. */
int era_report_to(int (*fn)(void *ctx, const struct pd_err *r), void *ctx, enum era_problem_id id,
		  uint64_t block, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A finding that stops a walk is its error: e (may be NULL) becomes r with
 * code PD_E_CORRUPT (whatever read found it). Returns -PD_E_CORRUPT. */
int era_finding_stops(const struct pd_err *r, struct pd_err *e);

#endif
