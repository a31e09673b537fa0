/* persistent-data B-trees: decoding, lookup and bounded ordered walks. */
#ifndef PD_BTREE_H
#define PD_BTREE_H
#include <stdint.h>
#include "bm.h"
#include "disk.h"
#include "refs.h"

/* A decoded view of a validated node; pointers point into the cached block. */
struct pd_node {
	uint64_t block;
	uint32_t flags;
	uint32_t nr_entries;
	uint32_t max_entries;
	uint32_t value_size;
	const unsigned char *keys;
	const unsigned char *values;
};

void pd_node_decode(const void *data, uint64_t block, struct pd_node *n);
static inline uint64_t pd_node_key(const struct pd_node *n, uint32_t i)
{
	return pd_get64(n->keys + 8u * i);
}
static inline const void *pd_node_value(const struct pd_node *n, uint32_t i)
{
	return n->values + (uint64_t)n->value_size * i;
}

#define PD_BTREE_MAX_DEPTH 16u

/* Damage a walk found goes to the owner's callback; without one it fills e
 * and its -code stops the walk. The one rule of the btree, array and
 * space-map walkers. */
static inline int pd_walk_damage(int (*damage)(void *ctx, const struct pd_err *e), void *ctx,
				 const struct pd_err *d, struct pd_err *e)
{
	if (!damage) {
		if (e && e != d)
			*e = *d;
		return -d->code;
	}
	return damage(ctx, d);
}

struct pd_btree_walker {
	struct pd_bm *bm;
	uint32_t value_size;        /* of leaf values */
	struct pd_refs *refs;       /* optional: count every reference; a node met
	                               before (shared with an earlier tree) is
	                               counted but not walked again */
	/* Every leaf, in key order. Nonzero return stops the walk with that value. */
	int (*leaf)(void *ctx, const struct pd_node *leaf);
	/* Damage found. Return 0 to skip the damaged subtree and go on, or a
	 * negative value to stop the walk with it. NULL: stop. */
	int (*damage)(void *ctx, const struct pd_err *e);
	/* Optional: a subtree covering keys [lo, hi) (hi = UINT64_MAX: no bound)
	 * was skipped because refs showed it shared with an earlier tree. */
	void (*shared)(void *ctx, uint64_t lo, uint64_t hi);
	void *ctx;
};

/* Walks the tree at root. Returns 0, the first nonzero leaf/damage return,
 * or -code for an error that stops the walk (e filled). */
int pd_btree_walk(const struct pd_btree_walker *w, uint64_t root, struct pd_err *e);

/* Looks key up. Returns 1 and copies the value if found, 0 if absent, -code on error. */
int pd_btree_lookup(struct pd_bm *bm, uint64_t root, uint64_t key, uint32_t value_size,
		    void *value, struct pd_err *e);

#endif
