#include <stdlib.h>
#include <string.h>
#include "array_build.h"
#include "bitset.h"
#include "btree_build.h"
#include "grow.h"
#include "disk.h"

int pd_array_builder_init(struct pd_array_builder *a, struct pd_writer *w, uint32_t value_size,
			  struct pd_err *e)
{
	memset(a, 0, sizeof(*a));
	a->w = w;
	a->value_size = value_size;
	if (!value_size || value_size > PD_BLOCK_SIZE - sizeof(struct pd_disk_array_header))
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "array builder: bad value size %u", value_size);
	a->per_block = pd_array_max_entries(value_size);
	a->stage = malloc(PD_BLOCK_SIZE);
	if (!a->stage)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	return 0;
}

void pd_array_builder_free(struct pd_array_builder *a)
{
	free(a->stage);
	free(a->blocks);
	a->stage = NULL;
	a->blocks = NULL;
}

static int write_block(struct pd_array_builder *a, struct pd_err *e)
{
	uint64_t where, *p;
	void *data;
	int r;

	p = pd_grow(a->blocks, &a->cap_blocks, a->nr_blocks, sizeof(*p), 64);
	if (!p)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	a->blocks = p;
	r = pd_writer_new(a->w, &where, &data, e);
	if (r)
		return r;
	pd_array_hdr_encode(data, &(struct pd_array_hdr){ a->per_block, a->n, a->value_size, where });
	memcpy((unsigned char *)data + sizeof(struct pd_disk_array_header), a->stage, (size_t)a->n * a->value_size);
	pd_writer_seal(a->w, data, where, &pd_array_validator);
	a->blocks[a->nr_blocks++] = where;
	a->n = 0;
	return 0;
}

int pd_array_builder_push(struct pd_array_builder *a, const void *values, uint64_t n, struct pd_err *e)
{
	const unsigned char *p = values;

	while (n) {
		uint64_t k = a->per_block - a->n;
		int r;

		if (k > n)
			k = n;
		memcpy(a->stage + (size_t)a->n * a->value_size, p, (size_t)k * a->value_size);
		a->n += (uint32_t)k;
		a->nr_values += k;
		p += k * a->value_size;
		n -= k;
		if (a->n == a->per_block && (r = write_block(a, e)))
			return r;
	}
	return 0;
}

int pd_array_builder_fill(struct pd_array_builder *a, const void *value, uint64_t n, struct pd_err *e)
{
	while (n) {
		int r;

		memcpy(a->stage + (size_t)a->n * a->value_size, value, a->value_size);
		a->n++;
		a->nr_values++;
		n--;
		if (a->n == a->per_block && (r = write_block(a, e)))
			return r;
	}
	return 0;
}

int pd_array_builder_flush_partial(struct pd_array_builder *a, struct pd_err *e)
{
	return a->n ? write_block(a, e) : 0;
}

int pd_array_builder_finish(struct pd_array_builder *a, uint64_t *root, struct pd_err *e)
{
	struct pd_btree_builder bt;
	int r = pd_array_builder_flush_partial(a, e);

	if (!r)
		r = pd_btree_builder_init(&bt, a->w, 8, e);
	if (!r) {
		for (uint64_t i = 0; !r && i < a->nr_blocks; i++) {
			unsigned char v[8];
			pd_put64(v, a->blocks[i]);
			r = pd_btree_builder_push(&bt, i, v, e);
		}
		if (r)
			pd_btree_builder_free(&bt);
		else
			r = pd_btree_builder_finish(&bt, root, e);
	}
	pd_array_builder_free(a);
	return r;
}

uint64_t pd_array_total_blocks(uint64_t n, uint32_t value_size, uint32_t index_fill)
{
	uint64_t blocks = pd_array_blocks(n, value_size);

	return blocks + pd_btree_nodes(blocks, index_fill, index_fill);
}

uint64_t pd_array_build_blocks(uint64_t n, uint32_t value_size)
{
	return pd_array_total_blocks(n, value_size, pd_node_max_entries(8));
}

int pd_bitset_build_held(struct pd_writer *w, const uint64_t *words, uint64_t held, uint64_t nr_bits,
			 uint64_t *root, struct pd_err *e)
{
	static const uint64_t zero;
	struct pd_array_builder a;
	uint64_t n_held = pd_bitset_words(held), nr_words = pd_bitset_words(nr_bits);
	uint64_t buf[PD_BLOCK_SIZE / 8];
	const uint64_t per = pd_array_max_entries(8);
	int r = pd_array_builder_init(&a, w, 8, e);

	for (uint64_t i = 0; !r && i < n_held;) {
		uint64_t k = n_held - i < per ? n_held - i : per;
		for (uint64_t j = 0; j < k; j++)
			buf[j] = htole64(words[i + j]);
		/* bits past those held stay clear on disk */
		if (i + k == n_held)
			buf[k - 1] &= htole64(pd_bitset_last_mask(held));
		r = pd_array_builder_push(&a, buf, k, e);
		i += k;
	}
	if (!r && nr_words > n_held)
		r = pd_array_builder_fill(&a, &zero, nr_words - n_held, e);
	if (r) {
		pd_array_builder_free(&a);
		return r;
	}
	return pd_array_builder_finish(&a, root, e);
}
