/* The writeset accumulator of the builder and of the part (struct wsacc,
 * era_build_int.h): one writeset's bits in memory, then on the output. */
#include <stdlib.h>
#include <string.h>
#include "../libpd/array_build.h"
#include "era_build_int.h"

void wsacc_set_range(uint64_t *w, uint64_t begin, uint64_t end)
{
	uint64_t i = begin;

	for (; i < end && (i & 63); i++)
		pd_bit_set(w, i);
	for (; i + 64 <= end; i += 64)
		w[i >> 6] = ~0ull;
	for (; i < end; i++)
		pd_bit_set(w, i);
}

/* A new writeset in a: `held` bits held, all clear. 0 or -PD_E_NOMEM. */
int wsacc_start(struct wsacc *a, uint32_t era, uint32_t nr_bits, uint64_t held)
{
	uint64_t words = pd_bitset_words(held);

	if (words > a->cap_words || !a->bits) {
		free(a->bits);
		a->bits = malloc(words ? words * 8 : 8);
		a->cap_words = a->bits ? (words ? words : 1) : 0;   /* at least one word is there */
		if (!a->bits)
			return -PD_E_NOMEM;
	}
	memset(a->bits, 0, words * 8);
	a->era = era;
	a->nr_bits = nr_bits;
	a->held_bits = held;
	a->next_bit = 0;
	return 0;
}

/* All nr_bits bits held (a bit at or past held_bits is set, or a merge
 * made the writeset larger). 0 or -PD_E_NOMEM. */
int wsacc_hold_all(struct wsacc *a)
{
	uint64_t have = pd_bitset_words(a->held_bits), words = pd_bitset_words(a->nr_bits);

	if (words > a->cap_words) {
		uint64_t *q = realloc(a->bits, words * 8);
		if (!q)
			return -PD_E_NOMEM;
		a->bits = q;
		a->cap_words = words;
	}
	memset(a->bits + have, 0, (words - have) * 8);
	a->held_bits = a->nr_bits;
	return 0;
}

/* What is wrong with the next bit: 0, PD_E_ORDER or PD_E_RANGE (a clear
 * bit past nr_bits but below nr_blocks is fine: dumps list every block). */
int wsacc_check(const struct wsacc *a, uint64_t block, int value, uint32_t nr_blocks)
{
	if (block < a->next_bit)
		return PD_E_ORDER;
	if (block >= a->nr_bits && (value || block >= nr_blocks))
		return PD_E_RANGE;
	return 0;
}

/* ORs src's held bits into dst, which holds at least as many. */
void wsacc_or(struct wsacc *dst, const struct wsacc *src)
{
	uint64_t n = pd_bitset_words(src->held_bits);

	for (uint64_t k = 0; k < n; k++)
		dst->bits[k] |= src->bits[k];
}

int wsacc_write(struct pd_writer *w, const struct wsacc *a, uint64_t *root, struct pd_err *e)
{
	return pd_bitset_build_held(w, a->bits, a->held_bits, a->nr_bits, root, e);
}
