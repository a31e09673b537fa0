#include <stdlib.h>
#include <string.h>
#include "../libpd/bitset.h"
#include "../libpd/grow.h"
#include "era_logical.h"

struct era_logical_ws {
	uint32_t era;
	uint32_t nr_bits;
	uint64_t *words;
};

int era_logical_init(struct era_logical *l, uint32_t nr_blocks, struct pd_err *e)
{
	memset(l, 0, sizeof(*l));
	l->nr_blocks = nr_blocks;
	l->any = calloc(pd_bitset_words(nr_blocks) + 1, 8);
	if (!l->any)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	return 0;
}

int era_logical_add(struct era_logical *l, const struct era_writeset_info *ws, const uint64_t *words,
		    struct pd_err *e)
{
	struct era_logical_ws *k, *p;
	uint64_t n, nw;

	/* Keep only the bits that fall inside the device. */
	n = ws->nr_bits < l->nr_blocks ? ws->nr_bits : l->nr_blocks;
	nw = pd_bitset_words(n);
	p = pd_grow(l->ws, &l->cap_ws, l->nr_ws, sizeof(*p), 8);
	if (!p)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	l->ws = p;
	k = &l->ws[l->nr_ws];
	k->era = ws->era;
	k->nr_bits = (uint32_t)n;
	k->words = malloc(nw ? nw * 8 : 8);
	if (!k->words)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	memcpy(k->words, words, nw * 8);
	if (n & 63)
		k->words[nw - 1] &= pd_bitset_last_mask(n);
	for (uint64_t i = 0; i < nw; i++)
		l->any[i] |= k->words[i];
	l->nr_ws++;
	return 0;
}

void era_logical_eras(const struct era_logical *l, uint64_t first, const void *le32_values, uint32_t n,
		      uint32_t *eras)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t b = first + i;
		uint32_t era = pd_le32_at(le32_values, i);

		if (pd_bit_test(l->any, b)) {
			/* newest writeset with the bit wins, unless the era array
			 * is newer still (digest-unsafe metadata, which era_check
			 * reports): the newer era loses no write */
			for (size_t j = l->nr_ws; j-- > 0;) {
				if (b < l->ws[j].nr_bits && pd_bit_test(l->ws[j].words, b)) {
					if (l->ws[j].era > era)
						era = l->ws[j].era;
					break;
				}
			}
		}
		eras[i] = era;
	}
}

void era_logical_free(struct era_logical *l)
{
	for (size_t i = 0; i < l->nr_ws; i++)
		free(l->ws[i].words);
	free(l->ws);
	free(l->any);
	memset(l, 0, sizeof(*l));
}
