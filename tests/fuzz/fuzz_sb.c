/* libFuzzer: superblock decode and validation. The input is block 0 (and,
 * if longer, the blocks after it, so roots can point somewhere). Checks
 * that encode(decode(x)) decodes to the same values, and reads the
 * superblock both as given and with its checksum fixed. */
#include "fuzz_common.h"
#include "../../libpd/bm.h"

static void same(const struct era_sb *a, const struct era_sb *b)
{
	if (a->flags != b->flags || a->blocknr != b->blocknr || memcmp(a->uuid, b->uuid, sizeof(a->uuid)) ||
	    a->magic != b->magic || a->version != b->version || a->sm.nr_blocks != b->sm.nr_blocks ||
	    a->sm.nr_allocated != b->sm.nr_allocated || a->sm.bitmap_root != b->sm.bitmap_root ||
	    a->sm.ref_count_root != b->sm.ref_count_root || a->data_block_size != b->data_block_size ||
	    a->metadata_block_size != b->metadata_block_size || a->nr_blocks != b->nr_blocks ||
	    a->current_era != b->current_era || a->current_writeset_nr_bits != b->current_writeset_nr_bits ||
	    a->current_writeset_root != b->current_writeset_root || a->writeset_tree_root != b->writeset_tree_root ||
	    a->era_array_root != b->era_array_root || a->metadata_snap != b->metadata_snap)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char block[PD_BLOCK_SIZE] = { 0 }, again[PD_BLOCK_SIZE];
	struct era_sb sb, sb2, rd;
	struct pd_bm *bm;
	struct pd_err e;

	if (size > 64 * PD_BLOCK_SIZE)
		return 0;
	memcpy(block, data, size < PD_BLOCK_SIZE ? size : PD_BLOCK_SIZE);
	era_sb_decode(block, 0, &sb);
	era_sb_encode(again, &sb);
	era_sb_decode(again, 0, &sb2);
	same(&sb, &sb2);
	pd_err_clear(&e);
	if (era_sb_validator.check(&era_sb_validator, block, 0, &e) && !memchr(e.msg, 0, sizeof(e.msg)))
		abort();

	for (int fix = 0; fix < 2; fix++) {
		if (fuzz_image_write(data, size ? size : 1, fix))
			return 0;
		if (pd_bm_open(&bm, fuzz_path, PD_OPEN_RDONLY, 16, &e))
			continue;
		if (era_sb_read(bm, 0, &rd, &e) == 0) {
			/* what era_sb_read accepts must be sane for every reader */
			uint64_t nr = pd_bm_nr_blocks(bm);
			if (rd.writeset_tree_root >= nr || rd.era_array_root >= nr ||
			    (rd.nr_blocks + 1017ull) / 1018 > nr)
				abort();
		}
		pd_bm_close(bm);
	}
	return 0;
}
