/* Builds a dm_array (and a dm bitset, which is an array of le64 words)
 * through a pd_writer: values are packed into array blocks as they come,
 * full blocks are written at once, the last partial block at the end, then
 * the index btree (array-block index -> block). Memory: one staging block
 * and 8 bytes per array block. */
#ifndef PD_ARRAY_BUILD_H
#define PD_ARRAY_BUILD_H
#include <stddef.h>
#include <stdint.h>
#include "writer.h"

struct pd_array_builder {
	struct pd_writer *w;
	uint32_t value_size;
	uint32_t per_block;       /* values per array block */
	uint32_t n;               /* values in the staging block */
	uint64_t nr_values;       /* pushed so far */
	unsigned char *stage;     /* 4 KiB */
	uint64_t *blocks;         /* locations of the written array blocks */
	uint64_t nr_blocks;
	size_t cap_blocks;
};

int pd_array_builder_init(struct pd_array_builder *a, struct pd_writer *w, uint32_t value_size,
			  struct pd_err *e);
void pd_array_builder_free(struct pd_array_builder *a);
/* Appends n little-endian values of value_size bytes. */
int pd_array_builder_push(struct pd_array_builder *a, const void *values, uint64_t n, struct pd_err *e);
/* Appends n copies of one value. */
int pd_array_builder_fill(struct pd_array_builder *a, const void *value, uint64_t n, struct pd_err *e);
/* Writes the last partial block and the index btree; *root is the array's
 * root. The builder is freed. */
int pd_array_builder_finish(struct pd_array_builder *a, uint64_t *root, struct pd_err *e);
/* Writes only the last partial block (1.1.0 writes it after the writeset
 * tree); pd_array_builder_finish() then writes the index. */
int pd_array_builder_flush_partial(struct pd_array_builder *a, struct pd_err *e);

/* Blocks of an array of n entries: its value blocks (pd_array_blocks) and
 * an index whose nodes hold index_fill entries (pd_btree_nodes). */
uint64_t pd_array_total_blocks(uint64_t n, uint32_t value_size, uint32_t index_fill);
/* Blocks the builder writes for an array of n entries: values and index. */
uint64_t pd_array_build_blocks(uint64_t n, uint32_t value_size);

/* Writes a bitset of nr_bits bits from host-order words; *root its root.
 * Only bits [0, held) are in words (held <= nr_bits): the rest are
 * written clear. */
int pd_bitset_build_held(struct pd_writer *w, const uint64_t *words, uint64_t held, uint64_t nr_bits,
			 uint64_t *root, struct pd_err *e);

#endif
