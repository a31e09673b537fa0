/* dm_array: a btree from block index to array blocks of fixed-size values. */
#ifndef PD_ARRAY_H
#define PD_ARRAY_H
#include <stdint.h>
#include "btree.h"

struct pd_array_walker {
	struct pd_bm *bm;
	uint32_t value_size;
	uint64_t nr_entries;        /* what the owner says the array holds */
	struct pd_refs *refs;       /* optional, as for pd_btree_walk */
	/* Each array block in index order: entries [first, first + n). values
	 * points at n packed little-endian values. Nonzero return stops. */
	int (*block)(void *ctx, uint64_t first, const void *values, uint32_t n, uint64_t where);
	/* Damage: return 0 to skip (the entries stay unreported) or negative to stop. */
	int (*damage)(void *ctx, const struct pd_err *e);
	/* Optional: entries [first, first + n) that damage kept from being
	 * reported (after damage() said to go on). */
	void (*lost)(void *ctx, uint64_t first, uint64_t n);
	void *ctx;
};

int pd_array_walk(const struct pd_array_walker *w, uint64_t root, struct pd_err *e);

#endif
