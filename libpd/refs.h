/* Reference counts that a walk finds, one counter per metadata block, to
 * compare with what the space map records. */
#ifndef PD_REFS_H
#define PD_REFS_H
#include <stdint.h>
#include "pd_err.h"

struct pd_refs {
	uint64_t nr_blocks;
	uint32_t *count;
};

int pd_refs_init(struct pd_refs *r, uint64_t nr_blocks, struct pd_err *e);
void pd_refs_free(struct pd_refs *r);
/* Adds one reference; returns the count before, or -PD_E_RANGE if b is out
 * of range. */
static inline int64_t pd_refs_inc(struct pd_refs *r, uint64_t b)
{
	if (b >= r->nr_blocks)
		return -PD_E_RANGE;
	return r->count[b] == UINT32_MAX ? UINT32_MAX : r->count[b]++;
}

/* A set of blocks met during one walk: cycle and duplicate detection. */
struct pd_seen {
	uint64_t nr_blocks;
	uint64_t *bits;
};

int pd_seen_init(struct pd_seen *s, uint64_t nr_blocks, struct pd_err *e);
void pd_seen_free(struct pd_seen *s);
/* Marks b; returns 1 if it was already marked. Out of range counts as marked. */
static inline int pd_seen_test_set(struct pd_seen *s, uint64_t b)
{
	uint64_t m;

	if (b >= s->nr_blocks)
		return 1;
	m = 1ull << (b & 63);
	if (s->bits[b >> 6] & m)
		return 1;
	s->bits[b >> 6] |= m;
	return 0;
}

#endif
