#include <stdlib.h>
#include <string.h>
#include "space_map.h"

void pd_sm_root_decode(const void *raw, struct pd_sm_root *r)
{
	const struct pd_disk_sm_root *d = raw;

	r->nr_blocks = le64toh(d->nr_blocks);
	r->nr_allocated = le64toh(d->nr_allocated);
	r->bitmap_root = le64toh(d->bitmap_root);
	r->ref_count_root = le64toh(d->ref_count_root);
}

void pd_sm_root_encode(void *raw, const struct pd_sm_root *r)
{
	struct pd_disk_sm_root *d = raw;

	memset(raw, 0, PD_SM_ROOT_SIZE);
	d->nr_blocks = htole64(r->nr_blocks);
	d->nr_allocated = htole64(r->nr_allocated);
	d->bitmap_root = htole64(r->bitmap_root);
	d->ref_count_root = htole64(r->ref_count_root);
}

int pd_sm_nr_free_valid(uint32_t nr_free_recorded, uint32_t n, uint32_t used)
{
	if (n > PD_SM_ENTRIES_PER_BITMAP || used > n)
		return 0;
	return nr_free_recorded == PD_SM_ENTRIES_PER_BITMAP - used || nr_free_recorded == n - used;
}

/* Overflow counts (> 2), sorted by block because the btree walk is ordered. */
struct overflow {
	uint64_t *block;
	uint32_t *count;
	size_t nr, cap;
	uint64_t limit;           /* never more entries than the space map has blocks */
	const struct pd_sm_walker *w;
	struct pd_err *e;
};

static int damage(const struct pd_sm_walker *w, struct pd_err *d, struct pd_err *e)
{
	return pd_walk_damage(w->damage, w->ctx, d, e);
}

static int overflow_leaf(void *ctx, const struct pd_node *n)
{
	struct overflow *o = ctx;

	for (uint32_t i = 0; i < n->nr_entries; i++) {
		if (o->nr == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 256;
			uint64_t *b;
			uint32_t *c;

			if (o->nr >= o->limit) {
				/* reported like any damage, and the end of the walk:
				 * the counts are not to be trusted */
				struct pd_err d;
				int r;

				pd_fail(&d, PD_E_CORRUPT, n->block,
					"ref count tree: more entries than the space map has blocks");
				r = damage(o->w, &d, o->e);
				if (o->e)
					*o->e = d;
				return r ? r : -PD_E_CORRUPT;
			}
			b = realloc(o->block, cap * sizeof(*b));
			if (b)
				o->block = b;
			c = realloc(o->count, cap * sizeof(*c));
			if (c)
				o->count = c;
			if (!b || !c)
				return pd_fail(o->e, PD_E_NOMEM, n->block, "out of memory");
			o->cap = cap;
		}
		o->block[o->nr] = pd_node_key(n, i);
		o->count[o->nr] = pd_le32_at(n->values, i);
		o->nr++;
	}
	return 0;
}

static int overflow_damage(void *ctx, const struct pd_err *d)
{
	struct overflow *o = ctx;
	struct pd_err c = *d;

	return damage(o->w, &c, o->e);
}

static uint32_t overflow_find(const struct overflow *o, uint64_t b, size_t *hint)
{
	while (*hint < o->nr && o->block[*hint] < b)
		(*hint)++;
	if (*hint < o->nr && o->block[*hint] == b)
		return o->count[*hint];
	return 0; /* missing: the caller reports the count as 0 vs expected */
}

/* Entry k (0-31) of a bitmap word: a count 0-2, or 3 for "in the ref
 * count tree". Bit 2k is the entry's high bit, bit 2k + 1 its low bit. */
static inline uint32_t bitmap_entry(uint64_t word, unsigned k)
{
	return (uint32_t)(((word >> (2 * k)) & 1) << 1 | ((word >> (2 * k + 1)) & 1));
}

#define MAX_STRAY_LISTED 10

/* The entries of blocks whose bitmap was unreadable: nothing to compare. */
static void skip_strays(const struct overflow *o, uint64_t end, size_t *next)
{
	while (*next < o->nr && o->block[*next] < end)
		(*next)++;
}

/* Reports ref count tree entries [*next, ...) of blocks below `end` whose
 * bitmap entry (bits: the bitmap of blocks from `first`; NULL where no
 * bitmap describes them) does not send them to the tree, or that hold a
 * count the bitmap could: the tree only holds counts above 2 of blocks
 * whose bitmap entry is 3. */
static int overflow_strays(struct overflow *o, const unsigned char *bits, uint64_t first, uint64_t end,
			   size_t *next, uint64_t *nr_stray)
{
	for (; *next < o->nr && o->block[*next] < end; (*next)++) {
		uint64_t b = o->block[*next];
		uint32_t c = o->count[*next], v = 0;
		struct pd_err d;
		int r;

		if (bits && b >= first) {
			uint64_t word = pd_le64_at(bits, (b - first) / 32);
			unsigned k = (unsigned)((b - first) % 32);

			v = bitmap_entry(word, k);
			if (v == 3 && c > 2)
				continue;
		}
		if ((*nr_stray)++ >= MAX_STRAY_LISTED)
			continue;
		if (!bits || b < first)
			pd_fail(&d, PD_E_CORRUPT, b, "space map: ref count tree holds block %llu (count %u), "
				"which no bitmap describes", (unsigned long long)b, c);
		else if (v == 3)
			pd_fail(&d, PD_E_CORRUPT, b, "space map: ref count tree holds count %u for block %llu; "
				"counts below 3 belong in the bitmap", c, (unsigned long long)b);
		else
			pd_fail(&d, PD_E_CORRUPT, b, "space map: ref count tree holds block %llu (count %u), "
				"but its bitmap count is %u", (unsigned long long)b, c, v);
		r = damage(o->w, &d, o->e);
		if (r)
			return r;
	}
	return 0;
}

int pd_sm_walk(const struct pd_sm_walker *w, const struct pd_sm_root *root, struct pd_err *e)
{
	struct overflow o = { .w = w, .e = e };
	struct pd_err d;
	const void *data;
	struct { uint64_t blocknr; uint32_t nr_free; } entries[PD_SM_MAX_BITMAPS];
	uint64_t nr_bitmaps, nr_stray = 0;
	uint32_t *counts = NULL;
	size_t hint = 0, stray = 0;
	int r;

	pd_err_clear(&d);
	if (root->nr_blocks > PD_SM_MAX_BLOCKS || root->nr_blocks > pd_bm_nr_blocks(w->bm) ||
	    root->nr_allocated > root->nr_blocks) {
		pd_fail(&d, PD_E_CORRUPT, PD_NO_BLOCK,
			"space map root: nr_blocks %llu / nr_allocated %llu impossible for a device of %llu blocks",
			(unsigned long long)root->nr_blocks, (unsigned long long)root->nr_allocated,
			(unsigned long long)pd_bm_nr_blocks(w->bm));
		return damage(w, &d, e);
	}
	o.limit = root->nr_blocks;
	nr_bitmaps = (root->nr_blocks + PD_SM_ENTRIES_PER_BITMAP - 1) / PD_SM_ENTRIES_PER_BITMAP;

	/* ref count tree first, so bitmap values of 3 can be resolved */
	if (root->ref_count_root) {
		struct pd_btree_walker bw = {
			.bm = w->bm, .value_size = 4, .refs = w->refs,
			.leaf = overflow_leaf, .damage = overflow_damage, .ctx = &o,
		};
		r = pd_btree_walk(&bw, root->ref_count_root, e);
		if (r)
			goto out;
	}

	if (w->refs && pd_refs_inc(w->refs, root->bitmap_root) < 0) {
		pd_fail(&d, PD_E_RANGE, root->bitmap_root, "space map index beyond the end of the device");
		r = damage(w, &d, e);
		goto out;
	}
	r = pd_bm_get(w->bm, root->bitmap_root, &pd_sm_index_validator, &data, &d);
	if (r) {
		r = damage(w, &d, e);
		goto out;
	}
	for (uint32_t i = 0; i < PD_SM_MAX_BITMAPS; i++) { /* decoded here, once */
		const struct pd_disk_index_entry *x = &((const struct pd_disk_sm_index *)data)->index[i];

		entries[i].blocknr = le64toh(x->blocknr);
		entries[i].nr_free = le32toh(x->nr_free);
	}
	pd_bm_put(w->bm, data);

	/* Count every bitmap before comparing any: a bitmap may describe the
	 * block of a later one. */
	for (uint64_t i = 0; i < nr_bitmaps; i++) {
		uint64_t where = entries[i].blocknr;

		if (where >= root->nr_blocks) {
			pd_fail(&d, PD_E_RANGE, root->bitmap_root,
				"space map index entry %llu: bitmap block %llu beyond the end of the space map",
				(unsigned long long)i, (unsigned long long)where);
			r = damage(w, &d, e);
			if (r)
				goto out;
		} else if (w->refs) {
			pd_refs_inc(w->refs, where);
		}
	}
	counts = malloc(PD_SM_ENTRIES_PER_BITMAP * sizeof(*counts));
	if (!counts) {
		r = pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < nr_bitmaps; i++) {
		uint64_t where = entries[i].blocknr;
		uint64_t first = i * PD_SM_ENTRIES_PER_BITMAP;
		uint32_t n = (uint32_t)(root->nr_blocks - first < PD_SM_ENTRIES_PER_BITMAP
						? root->nr_blocks - first : PD_SM_ENTRIES_PER_BITMAP);
		const unsigned char *bits;

		if (where >= root->nr_blocks) {
			skip_strays(&o, first + n, &stray); /* reported above */
			continue;
		}
		r = pd_bm_get(w->bm, where, &pd_sm_bitmap_validator, &data, &d);
		if (r) {
			r = r == -PD_E_NOMEM ? r : damage(w, &d, e);
			if (r)
				goto out;
			skip_strays(&o, first + n, &stray);
			continue;
		}
		bits = (const unsigned char *)data + sizeof(struct pd_disk_bitmap_header);
		r = overflow_strays(&o, bits, first, first + n, &stray, &nr_stray);
		if (r) {
			pd_bm_put(w->bm, data);
			goto out;
		}
		for (uint32_t j = 0; j < n; j += 32) {
			uint64_t word = pd_le64_at(bits, j / 32);
			uint32_t m = n - j < 32 ? n - j : 32;

			for (uint32_t k = 0; k < m; k++) {
				uint32_t v = bitmap_entry(word, k);
				counts[j + k] = v == 3 ? overflow_find(&o, first + j + k, &hint) : v;
			}
		}
		pd_bm_put(w->bm, data);
		r = w->counts ? w->counts(w->ctx, first, counts, n, entries[i].nr_free, where) : 0;
		if (r)
			goto out;
	}
	/* entries past the last bitmap read (or of blocks past the end) */
	r = overflow_strays(&o, NULL, 0, UINT64_MAX, &stray, &nr_stray);
	if (!r && nr_stray > MAX_STRAY_LISTED) {
		pd_fail(&d, PD_E_CORRUPT, root->ref_count_root,
			"space map: %llu more ref count tree entries of blocks the bitmaps do not send there",
			(unsigned long long)(nr_stray - MAX_STRAY_LISTED));
		r = damage(w, &d, e);
	}
	if (r)
		goto out;
	r = 0;
out:
	free(counts);
	free(o.block);
	free(o.count);
	return r;
}
