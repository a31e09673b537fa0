/* era_invalidate: the blocks written since a given era, as <blocks> XML. */
#ifndef XML_ERA_INVALIDATE_H
#define XML_ERA_INVALIDATE_H
#include "../format/era_walk.h"
#include "sink.h"

struct era_invalidate_opts {
	uint32_t written_since;   /* report blocks whose logical era >= this */
	uint64_t sb_location;     /* 0, or a metadata snapshot */
	void (*report)(void *ctx, const struct era_report *r);
	void *ctx;
};

/* Writes <blocks> to out. Returns 0, -PD_E_IO if writing failed, or another
 * -code (e filled) if the metadata could not be read; nothing is written then. */
int era_invalidate(struct pd_bm *bm, const struct era_invalidate_opts *o, struct sink *out, struct pd_err *e);

/* The marked set itself, for callers that want blocks not XML (JSON, the C API).
 * *marked is malloc'd, pd_bitset_words(*nr_blocks) words. */
int era_written_since(struct pd_bm *bm, const struct era_invalidate_opts *o, uint64_t **marked,
		      uint32_t *nr_blocks, struct pd_err *e);

/* Calls fn for each maximal run [begin, end) of set bits in words[0..nr_bits). */
int era_bit_runs(const uint64_t *words, uint64_t nr_bits,
		 int (*fn)(void *ctx, uint64_t begin, uint64_t end), void *ctx);

#endif
