#include <string.h>
#include "cache_sb.h"

static int sb_check(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	const struct cache_disk_sb *d = data;
	int r = pd_check_csum(v, data, where, e);

	if (r)
		return r;
	if (le64toh(d->blocknr) != where)
		return pd_fail(e, PD_E_BLOCKNR, where, "cache superblock: records location %llu",
			       (unsigned long long)le64toh(d->blocknr));
	return 0;
}

const struct pd_validator cache_sb_validator = {
	"cache superblock", CACHE_CSUM_XOR_SB, sb_check, pd_prepare_csum,
};

void cache_sb_decode(const void *block, struct cache_sb *sb)
{
	const struct cache_disk_sb *d = block;

	memset(sb, 0, sizeof(*sb));
	sb->flags = le32toh(d->flags);
	sb->blocknr = le64toh(d->blocknr);
	sb->magic = le64toh(d->magic);
	sb->version = le32toh(d->version);
	memcpy(sb->policy_name, d->policy_name, CACHE_POLICY_NAME_LEN);
	pd_sm_root_decode(d->metadata_space_map_root, &sb->sm);
	sb->mapping_root = le64toh(d->mapping_root);
	sb->hint_root = le64toh(d->hint_root);
	sb->discard_root = le64toh(d->discard_root);
	sb->discard_block_size = le64toh(d->discard_block_size);
	sb->discard_nr_blocks = le64toh(d->discard_nr_blocks);
	sb->data_block_size = le32toh(d->data_block_size);
	sb->metadata_block_size = le32toh(d->metadata_block_size);
	sb->cache_blocks = le32toh(d->cache_blocks);
	/* Version 1 superblocks leave these bytes zero; only v2 gives them meaning. */
	sb->dirty_root = sb->version >= 2 ? le64toh(d->dirty_root) : 0;
	sb->incompat_flags = le32toh(d->incompat_flags);
}

int cache_sb_read(struct pd_bm *bm, struct cache_sb *sb, void *raw, struct pd_err *e)
{
	const uint64_t where = CACHE_SUPERBLOCK_LOCATION;
	const void *data;
	uint64_t nr = pd_bm_nr_blocks(bm);
	int r;

	if (nr == 0)
		return pd_fail(e, PD_E_IO, where, "cache superblock: device is empty or smaller than one 4096-byte block");
	r = pd_bm_get(bm, where, NULL, &data, e);
	if (r)
		return r;
	cache_sb_decode(data, sb);
	if (raw)
		memcpy(raw, data, PD_BLOCK_SIZE);
	/* Magic before checksum: a foreign block should be called what it is. */
	if (sb->magic != CACHE_MAGIC) {
		pd_bm_put(bm, data);
		return pd_fail(e, PD_E_CORRUPT, where, "cache superblock: bad magic %llu (not dm-cache metadata)",
			       (unsigned long long)sb->magic);
	}
	r = cache_sb_validator.check(&cache_sb_validator, data, where, e);
	pd_bm_put(bm, data);
	if (r)
		return r;
	if (sb->version != 1 && sb->version != 2)
		return pd_fail(e, PD_E_CORRUPT, where, "cache superblock: unsupported version %u", sb->version);
	if (sb->flags & CACHE_SB_FLAG_NEEDS_CHECK)
		return pd_fail(e, PD_E_CORRUPT, where,
			       "cache superblock: needs-check flag set (run cache_check; the mappings cannot be trusted)");
	if (sb->incompat_flags)
		return pd_fail(e, PD_E_CORRUPT, where, "cache superblock: unknown incompat flags 0x%x",
			       sb->incompat_flags);
	if (sb->metadata_block_size != CACHE_METADATA_BLOCK_SECTORS)
		return pd_fail(e, PD_E_CORRUPT, where, "cache superblock: metadata_block_size %u, expected %u",
			       sb->metadata_block_size, CACHE_METADATA_BLOCK_SECTORS);
	/* cache.rst: a multiple of 64 sectors, 64 .. 2097152 */
	if (sb->data_block_size < 64 || sb->data_block_size > 2097152 || sb->data_block_size % 64)
		return pd_fail(e, PD_E_CORRUPT, where, "cache superblock: cache block size %u sectors is not a multiple of 64 in 64..2097152",
			       sb->data_block_size);
	if (sb->mapping_root >= nr || sb->mapping_root == where || sb->hint_root >= nr ||
	    sb->discard_root >= nr || sb->dirty_root >= nr || sb->sm.bitmap_root >= nr ||
	    sb->sm.ref_count_root >= nr)
		return pd_fail(e, PD_E_RANGE, where,
			       "cache superblock: a root points beyond the end of the device (%llu blocks)",
			       (unsigned long long)nr);
	/* cache_blocks sizes the result bitset: its array must fit. */
	if (pd_array_blocks(sb->cache_blocks, 8) > nr)
		return pd_fail(e, PD_E_RANGE, where,
			       "cache superblock: %u cache blocks: a mapping array that large cannot fit a device of %llu blocks",
			       sb->cache_blocks, (unsigned long long)nr);
	return 0;
}
