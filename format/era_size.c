/* Metadata device size for a dm-era target: see era_size.h for the model. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include "../libpd/array_build.h"
#include "../libpd/bitset.h"
#include "../libpd/btree_build.h"
#include "../libpd/disk.h"
#include "../libpd/sm_build.h"
#include "era_size.h"

/* Index and tree nodes half full (era_size.h), through libpd's one model. */
#define ARRAY_INDEX_FILL (pd_node_max_entries(8) / 2)
#define WRITESET_TREE_FILL (ERA_WS_TREE_LEAF_ENTRIES / 2)
#define REF_COUNT_TREE_BLOCKS 1u          /* ref-count tree: one leaf in practice */
/* A fixed reserve: the superblock copy a metadata snapshot takes, ref-count
 * tree nodes for blocks shared by a snapshot, and slack for tiny devices. */
#define RESERVE_BLOCKS 16u

int era_metadata_size(const struct era_size_opts *o, struct era_size *s, struct pd_err *e)
{
	uint64_t data, m;

	if (o->nr_blocks == 0)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "the number of origin blocks must be 1 to %u",
			       ERA_MAX_NR_BLOCKS);
	if (o->nr_blocks > ERA_MAX_NR_BLOCKS)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "%llu origin blocks: " ERA_MAX_NR_BLOCKS_WHY,
			       (unsigned long long)o->nr_blocks);
	if (o->nr_writesets > ERA_SIZE_MAX_WRITESETS)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "at most %u archived writesets",
			       ERA_SIZE_MAX_WRITESETS);
	*s = (struct era_size){ 0 };
	s->superblock = 1;
	s->era_array = pd_array_total_blocks(o->nr_blocks, 4, ARRAY_INDEX_FILL);
	s->writeset = pd_array_total_blocks(pd_bitset_words(o->nr_blocks), 8, ARRAY_INDEX_FILL);
	s->writesets = s->writeset * ((uint64_t)o->nr_writesets + 1);
	s->writeset_tree = pd_btree_nodes((uint64_t)o->nr_writesets + 1, WRITESET_TREE_FILL, WRITESET_TREE_FILL);
	s->live = s->superblock + s->era_array + s->writesets + s->writeset_tree;
	s->snapshot = o->no_snapshot ? 0 : s->era_array + s->writesets + s->writeset_tree;
	s->cow = s->era_array + s->writesets + s->writeset_tree;
	s->reserve = RESERVE_BLOCKS;
	data = s->live + s->snapshot + s->cow + s->reserve;

	/* The space map describes the whole device, itself included. */
	m = data;
	for (;;) {
		/* bitmaps, index and ref-count tree, doubled for shadowing */
		s->space_map = 2 * (pd_sm_nr_bitmaps(m) + 1 + REF_COUNT_TREE_BLOCKS);
		if (data + s->space_map <= m)
			break;
		m = data + s->space_map;
	}
	s->total = m;
	s->total_bytes = m * PD_BLOCK_SIZE;
	if (m > PD_SM_MAX_BLOCKS)
		return pd_fail(e, PD_E_RANGE, PD_NO_BLOCK,
			       "%llu metadata blocks needed, more than the %u a dm-era metadata device can address",
			       (unsigned long long)m, PD_SM_MAX_BLOCKS);
	return 0;
}

int era_parse_size(const char *str, uint64_t *bytes)
{
	unsigned long long v;
	uint64_t mul = 512;
	char *end;
	int shift = 0;

	if (!str || !isdigit((unsigned char)*str))
		return -PD_E_INVAL;
	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno)
		return -PD_E_INVAL;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'b':
		mul = 1;
		end++;
		break;
	case 's':
		end++;
		break;
	case 'k': shift = 10; break;
	case 'm': shift = 20; break;
	case 'g': shift = 30; break;
	case 't': shift = 40; break;
	case 'p': shift = 50; break;
	default:
		return -PD_E_INVAL;
	}
	if (shift) {
		mul = 1ull << shift;
		end++;
		if (tolower((unsigned char)end[0]) == 'i' && tolower((unsigned char)end[1]) == 'b')
			end += 2;
		else if (tolower((unsigned char)end[0]) == 'b')
			end++;
	}
	if (*end || (v && mul > UINT64_MAX / v))
		return -PD_E_INVAL;
	*bytes = v * mul;
	return 0;
}
