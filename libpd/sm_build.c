#include <string.h>
#include "btree_build.h"
#include "disk.h"
#include "sm_build.h"

uint64_t pd_sm_min_device_blocks(uint64_t used)
{
	uint64_t s = used + 3;

	/* grow until the bitmaps for s blocks fit beside the data */
	for (int i = 0; i < 8; i++) {
		uint64_t need = used + pd_sm_nr_bitmaps(s) + 2;
		if (need <= s)
			break;
		s = need;
	}
	return s > PD_SM_MAX_BLOCKS ? UINT64_MAX : s;
}

int pd_sm_build_linear(struct pd_writer *w, uint64_t sm_nr_blocks, struct pd_sm_root *root, struct pd_err *e)
{
	uint64_t nr_bitmaps, total, where, first_bitmap, index_block, ref_root;
	struct pd_btree_builder bt;
	struct pd_disk_sm_index *idx;
	void *data;
	int r;

	if (sm_nr_blocks > PD_SM_MAX_BLOCKS)
		sm_nr_blocks = PD_SM_MAX_BLOCKS;
	nr_bitmaps = pd_sm_nr_bitmaps(sm_nr_blocks);
	first_bitmap = pd_writer_used(w);
	total = first_bitmap + nr_bitmaps + 2;

	for (uint64_t i = 0; i < nr_bitmaps; i++) {
		uint64_t base = i * PD_SM_ENTRIES_PER_BITMAP, used;
		struct pd_disk_bitmap_header *h;
		unsigned char *words;

		r = pd_writer_new(w, &where, &data, e);
		if (r)
			return r;
		h = data;
		h->blocknr = htole64(where);
		words = (unsigned char *)data + sizeof(*h);
		used = total > base ? total - base : 0;
		if (used > PD_SM_ENTRIES_PER_BITMAP)
			used = PD_SM_ENTRIES_PER_BITMAP;
		if (!w->dry) {
			/* count 1 = the low bit of each 2-bit entry: bit 2b+1 */
			uint64_t full = used / 32;
			memset(words, 0xaa, full * 8);
			if (used % 32) {
				uint64_t v = 0;
				for (uint64_t b = 0; b < used % 32; b++)
					v |= 1ull << (2 * b + 1);
				pd_put64(words + full * 8, v);
			}
		}
		pd_writer_seal(w, data, where, &pd_sm_bitmap_validator);
	}

	r = pd_btree_builder_init(&bt, w, 4, e);
	if (!r)
		r = pd_btree_builder_finish(&bt, &ref_root, e);
	if (r)
		return r;

	r = pd_writer_new(w, &index_block, &data, e);
	if (r)
		return r;
	idx = data;
	idx->blocknr = htole64(index_block);
	for (uint64_t i = 0; i < nr_bitmaps; i++) {
		uint64_t base = i * PD_SM_ENTRIES_PER_BITMAP;
		uint64_t used = total > base ? total - base : 0;

		if (used > PD_SM_ENTRIES_PER_BITMAP)
			used = PD_SM_ENTRIES_PER_BITMAP;
		idx->index[i].blocknr = htole64(first_bitmap + i);
		/* like the kernel: the whole bitmap counts, also entries past the end */
		idx->index[i].nr_free = htole32((uint32_t)(PD_SM_ENTRIES_PER_BITMAP - used));
		idx->index[i].none_free_before = htole32((uint32_t)used);
	}
	pd_writer_seal(w, data, index_block, &pd_sm_index_validator);

	if (pd_writer_used(w) != total)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "space map builder: allocated %llu blocks, expected %llu",
			       (unsigned long long)pd_writer_used(w), (unsigned long long)total);
	if (total > sm_nr_blocks || w->dry)
		return pd_fail(e, PD_E_NOSPC, PD_NO_BLOCK, "metadata needs %llu blocks, the device has %llu",
			       (unsigned long long)total, (unsigned long long)sm_nr_blocks);
	root->nr_blocks = sm_nr_blocks;
	root->nr_allocated = total;
	root->bitmap_root = index_block;
	root->ref_count_root = ref_root;
	return 0;
}
