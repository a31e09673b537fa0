#include <stdlib.h>
#include <string.h>
#include "btree_build.h"
#include "disk.h"
#include "grow.h"

static int init_level(struct pd_btree_builder *b, struct pd_writer *w, uint32_t value_size, uint32_t flags,
		      struct pd_err *e)
{
	memset(b, 0, sizeof(*b));
	b->w = w;
	b->value_size = value_size;
	b->flags = flags;
	b->max = pd_node_max_entries(value_size);
	if (!value_size || b->max < 3)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "btree builder: bad value size %u", value_size);
	b->keys = malloc(sizeof(uint64_t) * 2 * b->max);
	b->values = malloc((size_t)value_size * 2 * b->max);
	if (!b->keys || !b->values) {
		pd_btree_builder_free(b);
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	}
	return 0;
}

uint64_t pd_btree_nodes(uint64_t n, uint32_t leaf_fill, uint32_t internal_fill)
{
	uint64_t total = 0, per = leaf_fill;

	for (;;) {
		uint64_t level = n <= per ? 1 : n / per + (n % per != 0);

		total += level;
		if (level == 1)
			return total;
		n = level;
		per = internal_fill;
	}
}

int pd_btree_builder_init(struct pd_btree_builder *b, struct pd_writer *w, uint32_t value_size,
			  struct pd_err *e)
{
	return init_level(b, w, value_size, PD_NODE_LEAF, e);
}

void pd_btree_builder_free(struct pd_btree_builder *b)
{
	free(b->keys);
	free(b->values);
	free(b->nodes);
	b->keys = NULL;
	b->values = NULL;
	b->nodes = NULL;
}

/* Writes the first nr buffered entries as one node. */
static int emit(struct pd_btree_builder *b, uint32_t nr, struct pd_err *e)
{
	struct pd_disk_node_header *h;
	struct pd_bnode_ref *q;
	unsigned char *data;
	uint64_t where;
	void *p;
	int r;

	q = pd_grow(b->nodes, &b->cap_nodes, b->nr_nodes, sizeof(*q), 16);
	if (!q)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	b->nodes = q;
	r = pd_writer_new(b->w, &where, &p, e);
	if (r)
		return r;
	data = p;
	h = p;
	h->flags = htole32(b->flags);
	h->blocknr = htole64(where);
	h->nr_entries = htole32(nr);
	h->max_entries = htole32(b->max);
	h->value_size = htole32(b->value_size);
	h->padding = 0;
	for (uint32_t i = 0; i < nr; i++)
		pd_put64(data + sizeof(*h) + 8u * i, b->keys[i]);
	memcpy(data + sizeof(*h) + 8u * b->max, b->values, (size_t)nr * b->value_size);
	/* zero the tail of keys and values: the writer's block is zeroed
	 * already, and keys past nr are zero in it */
	pd_writer_seal(b->w, data, where, &pd_btree_validator);
	b->nodes[b->nr_nodes++] = (struct pd_bnode_ref){ nr ? b->keys[0] : 0, where };
	b->n -= nr;
	if (b->n) {
		memmove(b->keys, b->keys + nr, sizeof(uint64_t) * b->n);
		memmove(b->values, b->values + (size_t)nr * b->value_size, (size_t)b->n * b->value_size);
	}
	return 0;
}

int pd_btree_builder_push(struct pd_btree_builder *b, uint64_t key, const void *value, struct pd_err *e)
{
	int r;

	if (b->have_last && key <= b->last_key)
		return pd_fail(e, PD_E_ORDER, PD_NO_BLOCK, "btree builder: key %llu after %llu",
			       (unsigned long long)key, (unsigned long long)b->last_key);
	/* keep at least max entries back so the last node can be balanced */
	if (b->n == 2 * b->max && (r = emit(b, b->max, e)))
		return r;
	b->keys[b->n] = key;
	memcpy(b->values + (size_t)b->n * b->value_size, value, b->value_size);
	b->n++;
	b->have_last = 1;
	b->last_key = key;
	return 0;
}

/* Writes the remaining entries: one node, or two of about equal size. */
static int complete_level(struct pd_btree_builder *b, struct pd_err *e)
{
	int r;

	if (b->n > b->max) {
		uint32_t n1 = b->n / 2;
		r = emit(b, n1, e);
		if (!r)
			r = emit(b, b->n, e);
		return r;
	}
	if (b->n || !b->nr_nodes)
		return emit(b, b->n, e);
	return 0;
}

int pd_btree_builder_finish(struct pd_btree_builder *b, uint64_t *root, struct pd_err *e)
{
	int r = complete_level(b, e);

	while (!r && b->nr_nodes > 1) {
		struct pd_btree_builder up;
		struct pd_bnode_ref *below = b->nodes;
		size_t nr_below = b->nr_nodes;

		b->nodes = NULL;
		pd_btree_builder_free(b);
		r = init_level(&up, b->w, 8, PD_NODE_INTERNAL, e);
		for (size_t i = 0; !r && i < nr_below; i++) {
			unsigned char v[8];
			pd_put64(v, below[i].block);
			r = pd_btree_builder_push(&up, below[i].key, v, e);
		}
		free(below);
		if (!r)
			r = complete_level(&up, e);
		*b = up;
	}
	if (!r)
		*root = b->nodes[0].block;
	pd_btree_builder_free(b);
	return r;
}
