#include "validator.h"
#include "btree.h"
#include "crc32c.h"
#include "disk.h"

int pd_check_csum(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	uint32_t want = pd_get32(data);
	uint32_t got = pd_block_csum(data, v->csum_xor);

	if (want != got)
		return pd_fail(e, PD_E_CSUM, where, "%s: checksum mismatch (stored 0x%08x, computed 0x%08x)",
			       v->name, want, got);
	return 0;
}

void pd_prepare_csum(const struct pd_validator *v, void *data, uint64_t where)
{
	(void)where;
	pd_put32(data, pd_block_csum(data, v->csum_xor));
}

/* The checksum, then the location the block records. */
static int check_sealed(const struct pd_validator *v, const void *data, uint64_t recorded, uint64_t where,
			struct pd_err *e)
{
	int r = pd_check_csum(v, data, where, e);

	if (r)
		return r;
	if (recorded != where)
		return pd_fail(e, PD_E_BLOCKNR, where, "%s: block records location %llu (misplaced or stale block)",
			       v->name, (unsigned long long)recorded);
	return 0;
}

static int btree_check(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	const struct pd_disk_node_header *h = data;
	uint32_t flags, nr, max, vs;
	struct pd_node n;
	int r = check_sealed(v, data, le64toh(h->blocknr), where, e);

	if (r)
		return r;
	pd_node_decode(data, where, &n);
	flags = n.flags;
	nr = n.nr_entries;
	max = n.max_entries;
	vs = n.value_size;
	if (flags != PD_NODE_INTERNAL && flags != PD_NODE_LEAF)
		return pd_fail(e, PD_E_CORRUPT, where, "btree node: bad flags %u", flags);
	if (vs == 0 || vs > PD_BLOCK_SIZE)
		return pd_fail(e, PD_E_CORRUPT, where, "btree node: bad value_size %u", vs);
	if (max == 0 || sizeof(*h) + (uint64_t)max * (8u + vs) > PD_BLOCK_SIZE)
		return pd_fail(e, PD_E_CORRUPT, where, "btree node: max_entries %u too large for value_size %u",
			       max, vs);
	if (max % 3)
		return pd_fail(e, PD_E_CORRUPT, where, "btree node: max_entries %u not a multiple of 3", max);
	if (nr > max)
		return pd_fail(e, PD_E_CORRUPT, where, "btree node: nr_entries %u > max_entries %u", nr, max);
	return 0;
}

static int array_check(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	struct pd_array_hdr h;
	uint32_t nr, max, vs;
	int r;

	pd_array_hdr_decode(data, &h);
	r = check_sealed(v, data, h.blocknr, where, e);
	if (r)
		return r;
	nr = h.nr_entries;
	max = h.max_entries;
	vs = h.value_size;
	if (vs == 0 || vs > PD_BLOCK_SIZE - sizeof(struct pd_disk_array_header))
		return pd_fail(e, PD_E_CORRUPT, where, "array block: bad value_size %u", vs);
	if (max != pd_array_max_entries(vs))
		return pd_fail(e, PD_E_CORRUPT, where, "array block: max_entries %u, expected %u for value_size %u",
			       max, pd_array_max_entries(vs), vs);
	if (nr > max)
		return pd_fail(e, PD_E_CORRUPT, where, "array block: nr_entries %u > max_entries %u", nr, max);
	return 0;
}

static int sm_index_check(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	const struct pd_disk_sm_index *h = data;

	return check_sealed(v, data, le64toh(h->blocknr), where, e);
}

static int sm_bitmap_check(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e)
{
	const struct pd_disk_bitmap_header *h = data;

	return check_sealed(v, data, le64toh(h->blocknr), where, e);
}

const struct pd_validator pd_btree_validator = {
	"btree node", PD_CSUM_XOR_BTREE, btree_check, pd_prepare_csum,
};
const struct pd_validator pd_array_validator = {
	"array block", PD_CSUM_XOR_ARRAY, array_check, pd_prepare_csum,
};
const struct pd_validator pd_sm_index_validator = {
	"space map index", PD_CSUM_XOR_SM_INDEX, sm_index_check, pd_prepare_csum,
};
const struct pd_validator pd_sm_bitmap_validator = {
	"space map bitmap", PD_CSUM_XOR_SM_BITMAP, sm_bitmap_check, pd_prepare_csum,
};
