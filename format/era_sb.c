#include <string.h>
#include "era_sb.h"

static int sb_check(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	const struct era_disk_sb *d = data;
	int r = pd_check_csum(v, data, where, e);

	if (r)
		return r;
	if (le64toh(d->blocknr) != where)
		return pd_fail(e, PD_E_BLOCKNR, where, "superblock: records location %llu",
			       (unsigned long long)le64toh(d->blocknr));
	return 0;
}

const struct pd_validator era_sb_validator = {
	"superblock", ERA_CSUM_XOR_SB, sb_check, pd_prepare_csum,
};

void era_sb_decode(const void *block, uint64_t location, struct era_sb *sb)
{
	const struct era_disk_sb *d = block;

	sb->location = location;
	sb->flags = le32toh(d->flags);
	sb->blocknr = le64toh(d->blocknr);
	memcpy(sb->uuid, d->uuid, ERA_UUID_LEN);
	sb->magic = le64toh(d->magic);
	sb->version = le32toh(d->version);
	pd_sm_root_decode(d->metadata_space_map_root, &sb->sm);
	sb->data_block_size = le32toh(d->data_block_size);
	sb->metadata_block_size = le32toh(d->metadata_block_size);
	sb->nr_blocks = le32toh(d->nr_blocks);
	sb->current_era = le32toh(d->current_era);
	sb->current_writeset_nr_bits = le32toh(d->current_writeset_nr_bits);
	sb->current_writeset_root = le64toh(d->current_writeset_root);
	sb->writeset_tree_root = le64toh(d->writeset_tree_root);
	sb->era_array_root = le64toh(d->era_array_root);
	sb->metadata_snap = le64toh(d->metadata_snap);
}

void era_sb_encode(void *block, const struct era_sb *sb)
{
	struct era_disk_sb *d = block;

	memset(block, 0, PD_BLOCK_SIZE);
	d->flags = htole32(sb->flags);
	d->blocknr = htole64(sb->blocknr);
	memcpy(d->uuid, sb->uuid, ERA_UUID_LEN);
	d->magic = htole64(sb->magic);
	d->version = htole32(sb->version);
	pd_sm_root_encode(d->metadata_space_map_root, &sb->sm);
	d->data_block_size = htole32(sb->data_block_size);
	d->metadata_block_size = htole32(sb->metadata_block_size);
	d->nr_blocks = htole32(sb->nr_blocks);
	d->current_era = htole32(sb->current_era);
	d->current_writeset_nr_bits = htole32(sb->current_writeset_nr_bits);
	d->current_writeset_root = htole64(sb->current_writeset_root);
	d->writeset_tree_root = htole64(sb->writeset_tree_root);
	d->era_array_root = htole64(sb->era_array_root);
	d->metadata_snap = htole64(sb->metadata_snap);
}

/* An era XML dump (or any XML) given where metadata is expected: optional
 * UTF-8 byte order mark and white space, then '<' and a tag, '?' or '!'. */
static int looks_like_xml(const unsigned char *p)
{
	size_t i = 0;

	if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < 256 && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i < 256 && p[i] == '<' &&
	       (p[i + 1] == '?' || p[i + 1] == '!' || ((p[i + 1] | 0x20) >= 'a' && (p[i + 1] | 0x20) <= 'z'));
}

int era_sb_read(struct pd_bm *bm, uint64_t location, struct era_sb *sb, struct pd_err *e)
{
	const void *data;
	uint64_t nr = pd_bm_nr_blocks(bm);
	int r;

	if (nr == 0)
		return pd_fail(e, PD_E_RANGE, location, "superblock: device is empty or smaller than one 4096-byte block");
	r = pd_bm_get(bm, location, NULL, &data, e);
	if (r)
		return r;
	era_sb_decode(data, location, sb);
	/* Magic before checksum: a foreign block should be called what it is. */
	if (sb->magic != ERA_MAGIC) {
		int xml = looks_like_xml(data);

		pd_bm_put(bm, data);
		if (xml)
			return pd_fail(e, PD_E_CORRUPT, location,
				       "superblock: this looks like XML: did you mean era_restore -i %s?", pd_bm_path(bm));
		return pd_fail(e, PD_E_CORRUPT, location, "superblock: bad magic %llu (not dm-era metadata)",
			       (unsigned long long)sb->magic);
	}
	r = era_sb_validator.check(&era_sb_validator, data, location, e);
	pd_bm_put(bm, data);
	if (r)
		return r;
	if (sb->version != ERA_VERSION)
		return pd_fail(e, PD_E_CORRUPT, location, "superblock: unsupported version %u", sb->version);
	if (sb->metadata_block_size != ERA_METADATA_BLOCK_SECTORS)
		return pd_fail(e, PD_E_CORRUPT, location, "superblock: metadata_block_size %u, expected %u",
			       sb->metadata_block_size, ERA_METADATA_BLOCK_SECTORS);
#define ROOT_OK(x) ((x) < nr)
	if (!ROOT_OK(sb->writeset_tree_root) || !ROOT_OK(sb->era_array_root) ||
	    (location == ERA_SUPERBLOCK_LOCATION &&
	     (!ROOT_OK(sb->current_writeset_root) || !ROOT_OK(sb->metadata_snap) ||
	      !ROOT_OK(sb->sm.bitmap_root) || !ROOT_OK(sb->sm.ref_count_root))))
		return pd_fail(e, PD_E_RANGE, location,
			       "superblock: a root points beyond the end of the device (%llu blocks)",
			       (unsigned long long)nr);
#undef ROOT_OK
	if (sb->nr_blocks > ERA_MAX_NR_BLOCKS)
		return pd_fail(e, PD_E_RANGE, location, "superblock: nr_blocks %u: " ERA_MAX_NR_BLOCKS_WHY,
			       sb->nr_blocks);
	/* nr_blocks sizes every per-block allocation and output line: an era
	 * array of that many entries must fit the device. */
	if (pd_array_blocks(sb->nr_blocks, 4) > nr)
		return pd_fail(e, PD_E_RANGE, location,
			       "superblock: nr_blocks %u: an era array that large cannot fit a device of %llu blocks",
			       sb->nr_blocks, (unsigned long long)nr);
	return 0;
}

int era_metadata_snap(struct pd_bm *bm, uint64_t *snap, struct pd_err *e)
{
	struct era_sb sb;
	int r = era_sb_read(bm, ERA_SUPERBLOCK_LOCATION, &sb, e);

	if (r)
		return r;
	*snap = sb.metadata_snap;
	return 0;
}
