/* Blocks written since an era: the set era_invalidate reports, as a bitset,
 * and its runs. dm-era meaning only; xml/era_invalidate.h spells it as XML. */
#ifndef ERA_SINCE_H
#define ERA_SINCE_H
#include "era_walk.h"

struct era_invalidate_opts {
	uint32_t written_since;   /* report blocks whose logical era >= this */
	uint64_t sb_location;     /* 0, or a metadata snapshot */
	void (*report)(void *ctx, const struct pd_err *r);
	void *ctx;
};

/* The marked set itself, for callers that want blocks not XML (JSON, the C API).
 * *marked is malloc'd, pd_bitset_words(*nr_blocks) words. */
int era_written_since(struct pd_bm *bm, const struct era_invalidate_opts *o, uint64_t **marked,
		      uint32_t *nr_blocks, struct pd_err *e);

/* Calls fn for each maximal run [begin, end) of set bits in words[0..nr_bits). */
int era_bit_runs(const uint64_t *words, uint64_t nr_bits,
		 int (*fn)(void *ctx, uint64_t begin, uint64_t end), void *ctx);

#endif
