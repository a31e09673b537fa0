/* dm bitset: a dm_array of le64 words, bit i = bit (i % 64) of word i / 64. */
#ifndef PD_BITSET_H
#define PD_BITSET_H
#include <stdint.h>
#include "array.h"

static inline uint64_t pd_bitset_words(uint64_t nr_bits) { return (nr_bits + 63) / 64; }
/* The valid bits of a bitset's last word (all of it when nr_bits is a
 * multiple of 64): bits past nr_bits are never counted. */
static inline uint64_t pd_bitset_last_mask(uint64_t nr_bits)
{
	return nr_bits & 63 ? (1ull << (nr_bits & 63)) - 1 : ~0ull;
}
static inline int pd_bit_test(const uint64_t *w, uint64_t i) { return (w[i >> 6] >> (i & 63)) & 1; }
static inline void pd_bit_set(uint64_t *w, uint64_t i) { w[i >> 6] |= 1ull << (i & 63); }

enum {
	/* Bits that damage made unreadable are set, not cleared: for a
	 * writeset, "maybe written" is the answer that loses nothing. */
	PD_BITSET_LOST_SET = 1 << 0,
};

/* Loads the bitset at root into words[pd_bitset_words(nr_bits)] (host order).
 * Words of damaged blocks stay zero (or become ones with PD_BITSET_LOST_SET)
 * when damage() says to go on. */
int pd_bitset_load(struct pd_bm *bm, uint64_t root, uint64_t nr_bits, uint64_t *words,
		   struct pd_refs *refs, int (*damage)(void *ctx, const struct pd_err *e), void *ctx,
		   unsigned flags, struct pd_err *e);

#endif
