/* persistent-data on-disk structures: packed, little-endian.
 * Only the decode functions in this library read them directly. */
#ifndef PD_DISK_H
#define PD_DISK_H
#include <stddef.h>
#include <stdint.h>
#include <endian.h>

#define PD_BLOCK_SIZE 4096u
#define PD_BLOCK_SHIFT 12

typedef uint32_t le32;
typedef uint64_t le64;

/* Checksum xors, one per block type. */
#define PD_CSUM_XOR_BTREE 121107u
#define PD_CSUM_XOR_ARRAY 595846735u
#define PD_CSUM_XOR_SM_INDEX 160478u
#define PD_CSUM_XOR_SM_BITMAP 240779u

/* btree node */
#define PD_NODE_INTERNAL 1u
#define PD_NODE_LEAF 2u

struct pd_disk_node_header {
	le32 csum;
	le32 flags;
	le64 blocknr;
	le32 nr_entries;
	le32 max_entries;
	le32 value_size;
	le32 padding;
} __attribute__((packed));
_Static_assert(sizeof(struct pd_disk_node_header) == 32, "node header");
_Static_assert(offsetof(struct pd_disk_node_header, blocknr) == 8, "node blocknr");
_Static_assert(offsetof(struct pd_disk_node_header, nr_entries) == 16, "node nr_entries");
_Static_assert(offsetof(struct pd_disk_node_header, value_size) == 24, "node value_size");

/* dm_array block */
struct pd_disk_array_header {
	le32 csum;
	le32 max_entries;
	le32 nr_entries;
	le32 value_size;
	le64 blocknr;
} __attribute__((packed));
_Static_assert(sizeof(struct pd_disk_array_header) == 24, "array header");
_Static_assert(offsetof(struct pd_disk_array_header, blocknr) == 16, "array blocknr");

/* metadata space map */
#define PD_SM_MAX_BITMAPS 255u
#define PD_SM_ENTRIES_PER_BITMAP ((PD_BLOCK_SIZE - 16u) * 4u) /* 16320 */
#define PD_SM_MAX_BLOCKS (PD_SM_MAX_BITMAPS * PD_SM_ENTRIES_PER_BITMAP)

struct pd_disk_index_entry {
	le64 blocknr;
	le32 nr_free;
	le32 none_free_before;
} __attribute__((packed));
_Static_assert(sizeof(struct pd_disk_index_entry) == 16, "index entry");

struct pd_disk_sm_index {
	le32 csum;
	le32 padding;
	le64 blocknr;
	struct pd_disk_index_entry index[PD_SM_MAX_BITMAPS];
} __attribute__((packed));
_Static_assert(sizeof(struct pd_disk_sm_index) == PD_BLOCK_SIZE, "sm index");

struct pd_disk_bitmap_header {
	le32 csum;
	le32 not_used;
	le64 blocknr;
} __attribute__((packed));
_Static_assert(sizeof(struct pd_disk_bitmap_header) == 16, "bitmap header");
_Static_assert(PD_SM_ENTRIES_PER_BITMAP == (PD_BLOCK_SIZE - sizeof(struct pd_disk_bitmap_header)) * 4,
	       "2 bits a block after the bitmap header");
_Static_assert(PD_SM_MAX_BITMAPS == (PD_BLOCK_SIZE - 16) / sizeof(struct pd_disk_index_entry),
	       "index entries after the index header");

/* The space map root as it sits in a superblock (128 bytes reserved). */
#define PD_SM_ROOT_SIZE 128u
struct pd_disk_sm_root {
	le64 nr_blocks;
	le64 nr_allocated;
	le64 bitmap_root;
	le64 ref_count_root;
} __attribute__((packed));
_Static_assert(sizeof(struct pd_disk_sm_root) == 32, "sm root");

/* An array block's header, decoded; encode leaves the checksum to the
 * validator. The one place its fields are read or written. */
struct pd_array_hdr {
	uint32_t max_entries;
	uint32_t nr_entries;
	uint32_t value_size;
	uint64_t blocknr;
};

static inline void pd_array_hdr_decode(const void *blk, struct pd_array_hdr *h)
{
	const struct pd_disk_array_header *d = (const struct pd_disk_array_header *)blk;

	h->max_entries = le32toh(d->max_entries);
	h->nr_entries = le32toh(d->nr_entries);
	h->value_size = le32toh(d->value_size);
	h->blocknr = le64toh(d->blocknr);
}

static inline void pd_array_hdr_encode(void *blk, const struct pd_array_hdr *h)
{
	struct pd_disk_array_header *d = (struct pd_disk_array_header *)blk;

	d->max_entries = htole32(h->max_entries);
	d->nr_entries = htole32(h->nr_entries);
	d->value_size = htole32(h->value_size);
	d->blocknr = htole64(h->blocknr);
}

/* Max entries of a btree node for a value size, as the kernel computes it. */
static inline uint32_t pd_node_max_entries(uint32_t value_size)
{
	uint32_t n = (PD_BLOCK_SIZE - sizeof(struct pd_disk_node_header)) / (8u + value_size);
	return 3u * (n / 3u);
}

/* Entries per array block for a value size (1018 for 4 bytes, 509 for 8):
 * the one place that says it. */
static inline uint32_t pd_array_max_entries(uint32_t value_size)
{
	return (PD_BLOCK_SIZE - sizeof(struct pd_disk_array_header)) / value_size;
}

/* Array blocks (values only, no index) for n entries of a value size. */
static inline uint64_t pd_array_blocks(uint64_t n, uint32_t value_size)
{
	uint32_t per = pd_array_max_entries(value_size);
	return n / per + (n % per != 0);
}

static inline uint32_t pd_get32(const void *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return le32toh(v); }
static inline uint64_t pd_get64(const void *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return le64toh(v); }
static inline void pd_put32(void *p, uint32_t v) { v = htole32(v); __builtin_memcpy(p, &v, 4); }
static inline void pd_put64(void *p, uint64_t v) { v = htole64(v); __builtin_memcpy(p, &v, 8); }

/* Value i of a packed run of little-endian values (era-array entries,
 * bitset and space-map bitmap words, mapping entries): the one accessor the
 * hot loops over array-block payloads use. */
static inline uint32_t pd_le32_at(const void *values, uint64_t i)
{
	return pd_get32((const unsigned char *)values + 4 * i);
}
static inline uint64_t pd_le64_at(const void *values, uint64_t i)
{
	return pd_get64((const unsigned char *)values + 8 * i);
}

/* Largest of n little-endian le32 values (a loop the compiler vectorises). */
static inline uint32_t pd_le32_max(const void *values, uint32_t n)
{
	uint32_t max = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = pd_le32_at(values, i);
		max = v > max ? v : max;
	}
	return max;
}

#endif
