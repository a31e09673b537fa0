/* Builds a persistent-data btree bottom-up from (key, value) pairs pushed in
 * ascending key order, through a pd_writer. Leaves are written full while
 * more values follow; the last values are split over two nodes of about
 * equal size so that every node of a multi-node level is at least half full
 * (what the kernel's own insert/remove keep). Internal levels are built the
 * same way over the (first key, block) of the level below. A tree with no
 * values is one empty leaf. Every node is referenced once. */
#ifndef PD_BTREE_BUILD_H
#define PD_BTREE_BUILD_H
#include <stddef.h>
#include <stdint.h>
#include "writer.h"

struct pd_bnode_ref {
	uint64_t key;    /* lowest key in the node */
	uint64_t block;
};

struct pd_btree_builder {
	struct pd_writer *w;
	uint32_t value_size;
	uint32_t max;             /* entries per node */
	uint32_t flags;           /* PD_NODE_LEAF or PD_NODE_INTERNAL */
	uint64_t *keys;           /* up to 2 * max buffered entries */
	unsigned char *values;
	uint32_t n;
	int have_last;
	uint64_t last_key;
	struct pd_bnode_ref *nodes; /* nodes written at this level */
	size_t nr_nodes, cap_nodes;
};

/* The one node-count model: nodes (all levels, at least one leaf) of a
 * btree of n entries when a leaf holds leaf_fill entries and an internal
 * node internal_fill. The builder fills nodes; era_metadata_size assumes
 * them half full, as the kernel's splits leave them. */
uint64_t pd_btree_nodes(uint64_t n, uint32_t leaf_fill, uint32_t internal_fill);
int pd_btree_builder_init(struct pd_btree_builder *b, struct pd_writer *w, uint32_t value_size,
			  struct pd_err *e);
void pd_btree_builder_free(struct pd_btree_builder *b);
/* value: value_size bytes, already little-endian. Keys strictly ascending. */
int pd_btree_builder_push(struct pd_btree_builder *b, uint64_t key, const void *value, struct pd_err *e);
/* Writes what is left and the internal levels; *root is the tree's root.
 * The builder is freed. */
int pd_btree_builder_finish(struct pd_btree_builder *b, uint64_t *root, struct pd_err *e);

#endif
