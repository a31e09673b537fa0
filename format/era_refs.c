#include "../libpd/space_map.h"
#include "era_refs.h"

#define MAX_LISTED 10 /* space map mismatches named one by one, per kind */

#define tell(c, ...) era_report_to((c)->problem, (c)->ctx, __VA_ARGS__)

int era_refs_init(struct era_refs *c, struct pd_bm *bm, const struct era_sb *sb, struct pd_err *e)
{
	uint64_t nr = sb->sm.nr_blocks;
	int r;

	if (nr > pd_bm_nr_blocks(bm) || nr > PD_SM_MAX_BLOCKS)
		return tell(c, ERA_P_SM, ERA_SUPERBLOCK_LOCATION, "space map claims %llu blocks, the device has %llu",
			    (unsigned long long)nr, (unsigned long long)pd_bm_nr_blocks(bm));
	r = pd_refs_init(&c->refs, nr, e);
	if (r)
		return r;
	/* the superblocks the walker reads are not in its trees: counted here */
	pd_refs_inc(&c->refs, ERA_SUPERBLOCK_LOCATION);
	if (sb->metadata_snap)
		pd_refs_inc(&c->refs, sb->metadata_snap);
	c->counting = 1;
	return 0;
}

void era_refs_free(struct era_refs *c)
{
	if (c->counting)
		pd_refs_free(&c->refs);
	c->counting = 0;
}

static int sm_counts(void *ctx, uint64_t first, const uint32_t *counts, uint32_t n, uint32_t nr_free_recorded,
		     uint64_t bitmap_block)
{
	struct era_refs *c = ctx;
	uint32_t nr_free = 0;
	int r;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t b = first + i;
		uint32_t want = c->refs.count[b];

		if (counts[i])
			c->sm_allocated++;
		else
			nr_free++;
		if (counts[i] < want) {
			if (c->nr_missing++ < MAX_LISTED) {
				r = tell(c, ERA_P_SM_MISSING, b, "space map: block %llu has reference count %u but %u references",
					 (unsigned long long)b, counts[i], want);
				if (r)
					return r;
			}
		} else if (counts[i] > want) {
			if (c->nr_leaked++ < MAX_LISTED) {
				r = tell(c, ERA_P_SM_LEAK, b,
					 want ? "space map: block %llu has reference count %u but %u references"
					      : "space map: block %llu leaked (reference count %u, nothing refers to it)",
					 (unsigned long long)b, counts[i], want);
				if (r)
					return r;
			}
		}
	}
	if (!pd_sm_nr_free_valid(nr_free_recorded, n, n - nr_free) && c->nr_free_bad++ < MAX_LISTED)
		return tell(c, ERA_P_SM_NR_FREE, bitmap_block,
			    "space map: bitmap for blocks %llu.. has %u free entries, index says %u",
			    (unsigned long long)first, nr_free + (PD_SM_ENTRIES_PER_BITMAP - n), nr_free_recorded);
	return 0;
}

/* Damage in the space map itself, as the walker reports damage elsewhere. */
static int sm_damage(void *ctx, const struct pd_err *d)
{
	struct era_refs *c = ctx;

	return tell(c, ERA_P_SM, d->block, "%s", d->msg);
}

int era_refs_compare(struct era_refs *c, struct pd_bm *bm, const struct era_sb *sb, struct pd_err *e)
{
	struct pd_sm_walker sw = {
		.bm = bm, .refs = &c->refs, .counts = sm_counts, .damage = sm_damage, .ctx = c,
	};
	int r;

	r = pd_sm_walk(&sw, &sb->sm, e);
	if (r)
		return r;
	if (c->nr_missing > MAX_LISTED &&
	    (r = tell(c, ERA_P_SM_MISSING, PD_NO_BLOCK, "space map: %llu more blocks with missing references",
		      (unsigned long long)(c->nr_missing - MAX_LISTED))))
		return r;
	if (c->nr_leaked > MAX_LISTED &&
	    (r = tell(c, ERA_P_SM_LEAK, PD_NO_BLOCK, "space map: %llu more leaked blocks",
		      (unsigned long long)(c->nr_leaked - MAX_LISTED))))
		return r;
	if (c->sm_allocated != sb->sm.nr_allocated)
		return tell(c, ERA_P_SM_NR_ALLOCATED, ERA_SUPERBLOCK_LOCATION,
			    "space map: nr_allocated is %llu, the bitmaps count %llu",
			    (unsigned long long)sb->sm.nr_allocated, (unsigned long long)c->sm_allocated);
	return 0;
}
