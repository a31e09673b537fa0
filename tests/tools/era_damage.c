/* era_damage: damages a dm-era metadata image in place, in one named way,
 * for robustness tests. Blocks are found by following the roots from the
 * superblock with our own decoders, never by fixed position.
 *
 *   era_damage IMAGE KIND [--seed N]
 *
 * Prints "KIND: block N: what was done" on stdout. Exit status: 0 damaged,
 * 1 error, 2 the kind does not apply to this image (e.g. no internal node).
 * Only ever run it on a copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../libpd/btree.h"
#include "../../libpd/crc32c.h"
#include "../../libpd/disk.h"
#include "../../libpd/validator.h"
#include "../../format/era_disk.h"
#include "../../format/era_sb.h"
#include "../fuzz/fuzz_common.h"

#define MAX_ITEMS 65536

enum tree_kind { T_ERA_ARRAY, T_WS_TREE, T_BITSET };

struct node_ref {
	uint64_t block;
	uint64_t parent;          /* PD_NO_BLOCK for a root */
	uint64_t root;
	unsigned depth;
	uint32_t flags, nr_entries, value_size;
	enum tree_kind tree;
};

struct img {
	int fd;
	uint64_t nr_blocks;       /* 4 KiB blocks in the file */
	struct era_sb sb;
	struct node_ref nodes[MAX_ITEMS];
	size_t nr_nodes;
	uint64_t era_blocks[MAX_ITEMS];   /* era array blocks, in index order */
	size_t nr_era_blocks;
	uint64_t highest;         /* highest block referenced */
	unsigned char seen[];     /* one byte a block: visited */
};

static const char *kind_name;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "era_damage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void not_applicable(const char *why) __attribute__((noreturn));
static void not_applicable(const char *why)
{
	fprintf(stderr, "era_damage: %s does not apply to this image: %s\n", kind_name, why);
	exit(2);
}

static void done(uint64_t block, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void done(uint64_t block, const char *fmt, ...)
{
	va_list ap;

	printf("%s: block %llu: ", kind_name, (unsigned long long)block);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void rd(struct img *im, uint64_t b, void *buf)
{
	if (b >= im->nr_blocks || pread(im->fd, buf, PD_BLOCK_SIZE, (off_t)(b * PD_BLOCK_SIZE)) != PD_BLOCK_SIZE)
		die("cannot read block %llu", (unsigned long long)b);
}

/* Writes b; v (if not NULL) recomputes the checksum first. */
static void wr(struct img *im, uint64_t b, void *buf, const struct pd_validator *v)
{
	if (v)
		v->prepare(v, buf, b);
	if (pwrite(im->fd, buf, PD_BLOCK_SIZE, (off_t)(b * PD_BLOCK_SIZE)) != PD_BLOCK_SIZE)
		die("cannot write block %llu: %s", (unsigned long long)b, strerror(errno));
}

static int valid(const struct pd_validator *v, const void *buf, uint64_t b)
{
	struct pd_err e;
	return v->check(v, buf, b, &e) == 0;
}

static void note(struct img *im, uint64_t b)
{
	if (b > im->highest && b < im->nr_blocks)
		im->highest = b;
}

static void walk_array_blocks(struct img *im, uint64_t root, int era);

/* Depth-first over a btree; every node visited once per image. */
static void collect(struct img *im, enum tree_kind t, uint64_t root, uint64_t b, uint64_t parent, unsigned depth)
{
	unsigned char buf[PD_BLOCK_SIZE];
	struct pd_node n;

	if (depth > PD_BTREE_MAX_DEPTH || b >= im->nr_blocks || im->seen[b] || im->nr_nodes >= MAX_ITEMS)
		return;
	im->seen[b] = 1;
	note(im, b);
	rd(im, b, buf);
	if (!valid(&pd_btree_validator, buf, b))
		return;
	pd_node_decode(buf, b, &n);
	im->nodes[im->nr_nodes++] = (struct node_ref){
		.block = b, .parent = parent, .root = root, .depth = depth, .flags = n.flags,
		.nr_entries = n.nr_entries, .value_size = n.value_size, .tree = t,
	};
	for (uint32_t i = 0; i < n.nr_entries; i++) {
		const unsigned char *v = pd_node_value(&n, i);

		if (n.flags == PD_NODE_INTERNAL)
			collect(im, t, root, pd_get64(v), b, depth + 1);
		else if (t == T_WS_TREE)
			walk_array_blocks(im, pd_get64(v + 4), 0);
		else {
			uint64_t ab = pd_get64(v);
			note(im, ab);
			if (t == T_ERA_ARRAY && im->nr_era_blocks < MAX_ITEMS)
				im->era_blocks[im->nr_era_blocks++] = ab;
		}
	}
}

static void walk_array_blocks(struct img *im, uint64_t root, int era)
{
	if (root)
		collect(im, era ? T_ERA_ARRAY : T_BITSET, root, root, PD_NO_BLOCK, 0);
}

static struct img *load(const char *path, int need_sb)
{
	struct img *im;
	unsigned char buf[PD_BLOCK_SIZE];
	int fd = open(path, O_RDWR);
	off_t size;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	size = lseek(fd, 0, SEEK_END);
	if (size < (off_t)PD_BLOCK_SIZE)
		die("%s: smaller than one block", path);
	im = calloc(1, sizeof(*im) + (size_t)(size / PD_BLOCK_SIZE));
	if (!im)
		die("out of memory");
	im->fd = fd;
	im->nr_blocks = (uint64_t)size / PD_BLOCK_SIZE;
	rd(im, 0, buf);
	if (need_sb && !valid(&era_sb_validator, buf, 0))
		die("%s: block 0 is not a valid superblock", path);
	era_sb_decode(buf, 0, &im->sb);
	im->seen[0] = 1;
	/* era array first: "the first node" of a kind means one of the era array */
	walk_array_blocks(im, im->sb.era_array_root, 1);
	collect(im, T_WS_TREE, im->sb.writeset_tree_root, im->sb.writeset_tree_root, PD_NO_BLOCK, 0);
	walk_array_blocks(im, im->sb.current_writeset_root, 0);
	note(im, im->sb.sm.bitmap_root);
	note(im, im->sb.sm.ref_count_root);
	return im;
}

typedef int (*node_pred)(const struct node_ref *);

static const struct node_ref *pick_node(struct img *im, node_pred p, unsigned long long seed)
{
	size_t n = 0, k;

	for (size_t i = 0; i < im->nr_nodes; i++)
		n += p(&im->nodes[i]);
	if (!n)
		return NULL;
	k = seed % n;
	for (size_t i = 0; i < im->nr_nodes; i++)
		if (p(&im->nodes[i]) && !k--)
			return &im->nodes[i];
	return NULL;
}

static int any_node(const struct node_ref *r) { (void)r; return 1; }
static int internal_node(const struct node_ref *r) { return r->flags == PD_NODE_INTERNAL; }
static int leaf_node(const struct node_ref *r) { return r->flags == PD_NODE_LEAF; }
static int two_entries(const struct node_ref *r) { return r->nr_entries >= 2; }
static int below_root(const struct node_ref *r) { return r->depth >= 1 && r->value_size == 8; }
static int era_leaf_two(const struct node_ref *r)
{
	return r->tree == T_ERA_ARRAY && r->flags == PD_NODE_LEAF && r->nr_entries >= 2;
}

static const char *tree_name(enum tree_kind t)
{
	return t == T_ERA_ARRAY ? "era array btree" : t == T_WS_TREE ? "writeset tree" : "writeset bitset btree";
}

/* Superblock field edit with the checksum fixed. */
static void sb_edit(struct img *im, void (*fn)(struct era_disk_sb *, void *), void *arg)
{
	unsigned char buf[PD_BLOCK_SIZE];

	rd(im, 0, buf);
	fn((struct era_disk_sb *)buf, arg);
	wr(im, 0, buf, &era_sb_validator);
}

static void set_magic(struct era_disk_sb *d, void *a) { (void)a; d->magic = htole64(ERA_MAGIC ^ 0x10101); }
static void set_blocknr(struct era_disk_sb *d, void *a) { (void)a; d->blocknr = htole64(7); }
static void set_era(struct era_disk_sb *d, void *a) { d->current_era = htole32(*(uint32_t *)a); }
static void set_nr_blocks(struct era_disk_sb *d, void *a) { (void)a; d->nr_blocks = htole32(0xffffffffu); }
static void set_cws_bits(struct era_disk_sb *d, void *a) { d->current_writeset_nr_bits = htole32(*(uint32_t *)a); }
static void set_sm_huge(struct era_disk_sb *d, void *a)
{
	(void)a;
	pd_put64(d->metadata_space_map_root, 1ull << 40);
}
static void set_sm_blocks(struct era_disk_sb *d, void *a)
{
	pd_put64(d->metadata_space_map_root, *(uint64_t *)a);
}
static void add_allocated(struct era_disk_sb *d, void *a)
{
	uint64_t v = pd_get64(d->metadata_space_map_root + 8);
	pd_put64(d->metadata_space_map_root + 8, v + (uint64_t)*(int64_t *)a);
}

/* Node edits */
static void node_edit(struct img *im, uint64_t b, unsigned char *buf)
{
	rd(im, b, buf);
}

/* Space map: the 2-bit count of block b, and setting it (bitmap, index
 * nr_free and superblock nr_allocated kept consistent with each other). */
struct sm_loc {
	uint64_t bitmap;
	uint32_t index_entry;
	uint32_t bit;             /* entry within the bitmap */
};

static void sm_locate(struct img *im, uint64_t b, struct sm_loc *l)
{
	unsigned char idx[PD_BLOCK_SIZE];
	const struct pd_disk_sm_index *x = (const void *)idx;

	if (im->sb.sm.bitmap_root >= im->nr_blocks)
		die("space map index beyond the file");
	rd(im, im->sb.sm.bitmap_root, idx);
	if (!valid(&pd_sm_index_validator, idx, im->sb.sm.bitmap_root))
		die("space map index at %llu is not valid", (unsigned long long)im->sb.sm.bitmap_root);
	l->index_entry = (uint32_t)(b / PD_SM_ENTRIES_PER_BITMAP);
	l->bit = (uint32_t)(b % PD_SM_ENTRIES_PER_BITMAP);
	l->bitmap = le64toh(x->index[l->index_entry].blocknr);
}

static unsigned sm_get(struct img *im, uint64_t b)
{
	unsigned char bm[PD_BLOCK_SIZE];
	struct sm_loc l;
	uint64_t w;

	sm_locate(im, b, &l);
	rd(im, l.bitmap, bm);
	w = pd_get64(bm + 16 + (l.bit / 32) * 8);
	return (unsigned)(((w >> (2 * (l.bit % 32))) & 1) << 1 | ((w >> (2 * (l.bit % 32) + 1)) & 1));
}

static void sm_set(struct img *im, uint64_t b, unsigned v)
{
	unsigned char bm[PD_BLOCK_SIZE], idx[PD_BLOCK_SIZE];
	struct pd_disk_sm_index *x = (void *)idx;
	struct sm_loc l;
	unsigned old = sm_get(im, b), s;
	uint64_t w;
	int64_t delta;

	sm_locate(im, b, &l);
	rd(im, l.bitmap, bm);
	s = 2 * (l.bit % 32);
	w = pd_get64(bm + 16 + (l.bit / 32) * 8);
	w &= ~(3ull << s);
	w |= (uint64_t)((v >> 1) & 1) << s | (uint64_t)(v & 1) << (s + 1);
	pd_put64(bm + 16 + (l.bit / 32) * 8, w);
	wr(im, l.bitmap, bm, &pd_sm_bitmap_validator);
	delta = (v != 0) - (old != 0);
	if (delta) {
		rd(im, im->sb.sm.bitmap_root, idx);
		x->index[l.index_entry].nr_free = htole32(le32toh(x->index[l.index_entry].nr_free) - (int32_t)delta);
		wr(im, im->sb.sm.bitmap_root, idx, &pd_sm_index_validator);
		sb_edit(im, add_allocated, &delta);
	}
}

static uint32_t max_era_in_use(struct img *im)
{
	unsigned char buf[PD_BLOCK_SIZE];
	uint32_t m = 0;

	for (size_t i = 0; i < im->nr_era_blocks; i++) {
		const struct pd_disk_array_header *h = (const void *)buf;
		uint64_t b = im->era_blocks[i];

		if (b >= im->nr_blocks)
			continue;
		rd(im, b, buf);
		if (!valid(&pd_array_validator, buf, b))
			continue;
		for (uint32_t j = 0; j < le32toh(h->nr_entries); j++) {
			uint32_t e = pd_get32(buf + sizeof(*h) + 4 * j);
			if (e > m)
				m = e;
		}
	}
	for (size_t i = 0; i < im->nr_nodes; i++) {
		struct pd_node n;
		if (im->nodes[i].tree != T_WS_TREE || im->nodes[i].flags != PD_NODE_LEAF)
			continue;
		rd(im, im->nodes[i].block, buf);
		pd_node_decode(buf, im->nodes[i].block, &n);
		for (uint32_t j = 0; j < n.nr_entries; j++)
			if (pd_node_key(&n, j) > m && pd_node_key(&n, j) <= UINT32_MAX)
				m = (uint32_t)pd_node_key(&n, j);
	}
	return m;
}

/* nr_bits of an archived writeset (first tree entry), else of the current one. */
static void set_ws_nr_bits(struct img *im, uint32_t bits)
{
	unsigned char buf[PD_BLOCK_SIZE];

	for (size_t i = 0; i < im->nr_nodes; i++) {
		struct pd_node n;
		const struct node_ref *r = &im->nodes[i];

		if (r->tree != T_WS_TREE || r->flags != PD_NODE_LEAF || !r->nr_entries)
			continue;
		rd(im, r->block, buf);
		pd_node_decode(buf, r->block, &n);
		pd_put32((unsigned char *)pd_node_value(&n, 0), bits);
		wr(im, r->block, buf, &pd_btree_validator);
		done(r->block, "writeset tree leaf: writeset of era %llu now claims nr_bits %u (device %u blocks)",
		     (unsigned long long)pd_node_key(&n, 0), bits, im->sb.nr_blocks);
		return;
	}
	if (!im->sb.current_writeset_root)
		not_applicable("no writeset in the tree and no current writeset");
	sb_edit(im, set_cws_bits, &bits);
	done(0, "superblock: current writeset nr_bits now %u (device %u blocks)", bits, im->sb.nr_blocks);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: era_damage IMAGE KIND [--seed N]\n"
		"kinds: sb-csum sb-magic sb-blocknr sb-stale sb-nr-blocks node-csum node-blocknr zero-block\n"
		"       cycle-self cycle-ancestor swap-keys nr-entries-gt-max value-size era-future nr-bits\n"
		"       nr-bits-huge truncate sm-leak sm-missing sm-double-ref huge-count\n"
		"       shrink (not damage: compact a healthy image, for fuzzing seeds)\n");
	exit(1);
}

int main(int argc, char **argv)
{
	unsigned long long seed = 0;
	unsigned char buf[PD_BLOCK_SIZE];
	const struct node_ref *r;
	const char *path, *k;
	struct img *im;

	if (argc == 5 && !strcmp(argv[3], "--seed"))
		seed = strtoull(argv[4], NULL, 0);
	else if (argc != 3)
		usage();
	path = argv[1];
	k = kind_name = argv[2];

	if (!strcmp(k, "fix-csums")) {
		/* Not damage: give every block that looks like metadata a correct
		 * checksum, as the fuzz_walk target does (to replay its inputs). */
		int fd = open(path, O_RDWR);
		off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
		uint64_t nr = size > 0 ? (uint64_t)size / PD_BLOCK_SIZE : 0;
		if (fd < 0 || size % PD_BLOCK_SIZE)
			die("%s: not a whole number of blocks", path);
		for (uint64_t b = 0; b < nr; b++) {
			if (pread(fd, buf, PD_BLOCK_SIZE, (off_t)(b * PD_BLOCK_SIZE)) != PD_BLOCK_SIZE)
				die("read failed");
			fuzz_fix_csum(buf, b, nr);
			if (pwrite(fd, buf, PD_BLOCK_SIZE, (off_t)(b * PD_BLOCK_SIZE)) != PD_BLOCK_SIZE)
				die("write failed");
		}
		close(fd);
		done(0, "checksums fixed in %llu blocks", (unsigned long long)nr);
		return 0;
	}
	if (!strcmp(k, "sb-csum")) {
		im = load(path, 0);
		rd(im, 0, buf);
		buf[1000 + seed % 3000] ^= 0x5a; /* past the 224 used bytes: only the checksum breaks */
		wr(im, 0, buf, NULL);
		done(0, "superblock: flipped byte %llu, checksum left stale", 1000 + seed % 3000);
		return 0;
	}
	im = load(path, 1);
	if (!strcmp(k, "sb-magic")) {
		sb_edit(im, set_magic, NULL);
		done(0, "superblock: wrong magic, checksum fixed");
	} else if (!strcmp(k, "sb-blocknr")) {
		sb_edit(im, set_blocknr, NULL);
		done(0, "superblock: records location 7, checksum fixed");
	} else if (!strcmp(k, "sb-stale")) {
		uint32_t m = max_era_in_use(im), era;
		if (m == 0)
			not_applicable("no era in use above 0");
		era = m - 1;
		sb_edit(im, set_era, &era);
		done(0, "superblock: current_era set back from %u to %u (era %u in use)", im->sb.current_era, era, m);
	} else if (!strcmp(k, "sb-nr-blocks")) {
		sb_edit(im, set_nr_blocks, NULL);
		done(0, "superblock: nr_blocks 0xffffffff (was %u), checksum fixed", im->sb.nr_blocks);
	} else if (!strcmp(k, "shrink")) {
		/* Not damage: cut the image after its highest non-zero block and make
		 * the space map that size, checksum fixed (compact fuzzing seeds). */
		uint64_t h = 0, n;
		for (uint64_t b = 0; b < im->nr_blocks; b++) {
			rd(im, b, buf);
			for (unsigned i = 0; i < PD_BLOCK_SIZE; i++)
				if (buf[i]) {
					h = b;
					break;
				}
		}
		n = h + 1;
		if (n < im->sb.sm.nr_blocks) {
			/* bitmaps for blocks past the new end are no longer referenced */
			uint64_t keep = (n + PD_SM_ENTRIES_PER_BITMAP - 1) / PD_SM_ENTRIES_PER_BITMAP;
			struct pd_disk_sm_index *x = (void *)buf;
			for (uint64_t i = keep; i < PD_SM_MAX_BITMAPS; i++) {
				uint64_t bb;
				rd(im, im->sb.sm.bitmap_root, buf);
				bb = le64toh(x->index[i].blocknr);
				if (!bb)
					continue;
				if (bb < n && sm_get(im, bb) == 1)
					sm_set(im, bb, 0);
				rd(im, im->sb.sm.bitmap_root, buf);
				memset(&x->index[i], 0, sizeof(x->index[i]));
				wr(im, im->sb.sm.bitmap_root, buf, &pd_sm_index_validator);
			}
			sb_edit(im, set_sm_blocks, &n);
		}
		if (ftruncate(im->fd, (off_t)(n * PD_BLOCK_SIZE)))
			die("truncate: %s", strerror(errno));
		done(h, "image cut after its highest used block; space map nr_blocks %llu", (unsigned long long)n);
	} else if (!strcmp(k, "huge-count")) {
		sb_edit(im, set_sm_huge, NULL);
		done(0, "superblock: space map nr_blocks 2^40, checksum fixed");
	} else if (!strcmp(k, "node-csum") || !strcmp(k, "node-blocknr") || !strcmp(k, "nr-entries-gt-max")) {
		struct pd_disk_node_header *h = (void *)buf;
		if (!(r = pick_node(im, any_node, seed)))
			not_applicable("no btree node");
		node_edit(im, r->block, buf);
		if (k[5] == 'c') {
			buf[40 + seed % 4000] ^= 0xa5;
			wr(im, r->block, buf, NULL);
			done(r->block, "%s node: flipped byte %llu, checksum left stale", tree_name(r->tree), 40 + seed % 4000);
		} else if (k[5] == 'b') {
			h->blocknr = htole64(r->block + 1);
			wr(im, r->block, buf, &pd_btree_validator);
			done(r->block, "%s node: records location %llu, checksum fixed", tree_name(r->tree),
			     (unsigned long long)r->block + 1);
		} else {
			h->nr_entries = htole32(le32toh(h->max_entries) + 1);
			wr(im, r->block, buf, &pd_btree_validator);
			done(r->block, "%s node: nr_entries = max_entries + 1, checksum fixed", tree_name(r->tree));
		}
	} else if (!strcmp(k, "zero-block") || !strcmp(k, "era-future")) {
		uint64_t b;
		if (!im->nr_era_blocks)
			not_applicable("no era array block");
		b = im->era_blocks[seed % im->nr_era_blocks];
		if (b >= im->nr_blocks)
			die("era array block %llu beyond the file", (unsigned long long)b);
		if (k[0] == 'z') {
			memset(buf, 0, sizeof(buf));
			wr(im, b, buf, NULL);
			done(b, "era array block zeroed");
		} else {
			const struct pd_disk_array_header *h = (const void *)buf;
			uint32_t j;
			rd(im, b, buf);
			if (!le32toh(h->nr_entries))
				not_applicable("empty era array block");
			j = (uint32_t)(seed % le32toh(h->nr_entries));
			pd_put32(buf + sizeof(*h) + 4 * j, im->sb.current_era + 1 + (uint32_t)(seed % 1000));
			wr(im, b, buf, &pd_array_validator);
			done(b, "era array entry %u = %u > current era %u, checksum fixed", j,
			     im->sb.current_era + 1 + (uint32_t)(seed % 1000), im->sb.current_era);
		}
	} else if (!strcmp(k, "cycle-self")) {
		struct pd_node n;
		if ((r = pick_node(im, internal_node, seed))) {
			node_edit(im, r->block, buf);
			pd_node_decode(buf, r->block, &n);
			pd_put64((unsigned char *)pd_node_value(&n, 0), r->block);
			wr(im, r->block, buf, &pd_btree_validator);
			done(r->block, "%s internal node: first child points to the node itself", tree_name(r->tree));
		} else {
			/* no internal node: make the era array's root leaf one that names itself */
			struct pd_disk_node_header *h = (void *)buf;
			uint64_t b = im->sb.era_array_root;
			node_edit(im, b, buf);
			h->flags = htole32(PD_NODE_INTERNAL);
			h->nr_entries = htole32(1);
			pd_node_decode(buf, b, &n);
			pd_put64((unsigned char *)pd_node_value(&n, 0), b);
			wr(im, b, buf, &pd_btree_validator);
			done(b, "era array btree root turned into an internal node whose child is itself");
		}
	} else if (!strcmp(k, "cycle-ancestor")) {
		struct pd_disk_node_header *h = (void *)buf;
		struct pd_node n;
		if (!(r = pick_node(im, below_root, seed)))
			not_applicable("no btree with two levels");
		node_edit(im, r->block, buf);
		h->flags = htole32(PD_NODE_INTERNAL);
		h->nr_entries = htole32(1);
		pd_node_decode(buf, r->block, &n);
		pd_put64((unsigned char *)pd_node_value(&n, 0), r->root);
		wr(im, r->block, buf, &pd_btree_validator);
		done(r->block, "%s node at depth %u: now internal with one child, its root (block %llu)",
		     tree_name(r->tree), r->depth, (unsigned long long)r->root);
	} else if (!strcmp(k, "swap-keys")) {
		struct pd_node n;
		uint64_t a, b;
		if (!(r = pick_node(im, two_entries, seed)))
			not_applicable("no node with two entries");
		node_edit(im, r->block, buf);
		pd_node_decode(buf, r->block, &n);
		a = pd_node_key(&n, 0);
		b = pd_node_key(&n, 1);
		pd_put64((unsigned char *)n.keys, b);
		pd_put64((unsigned char *)n.keys + 8, a);
		wr(im, r->block, buf, &pd_btree_validator);
		done(r->block, "%s node: keys 0 and 1 swapped, checksum fixed", tree_name(r->tree));
	} else if (!strcmp(k, "value-size")) {
		struct pd_disk_node_header *h = (void *)buf;
		if (!(r = pick_node(im, leaf_node, seed)))
			not_applicable("no leaf");
		node_edit(im, r->block, buf);
		h->value_size = htole32(le32toh(h->value_size) - 4);
		wr(im, r->block, buf, &pd_btree_validator);
		done(r->block, "%s leaf: value_size %u instead of %u, checksum fixed", tree_name(r->tree),
		     r->value_size - 4, r->value_size);
	} else if (!strcmp(k, "nr-bits")) {
		set_ws_nr_bits(im, im->sb.nr_blocks / 2 + 1);
	} else if (!strcmp(k, "nr-bits-huge")) {
		set_ws_nr_bits(im, 0xffffffffu);
	} else if (!strcmp(k, "truncate")) {
		uint64_t cut = im->highest;
		if (cut == 0)
			not_applicable("nothing referenced past block 0");
		if (ftruncate(im->fd, (off_t)(cut * PD_BLOCK_SIZE)))
			die("truncate: %s", strerror(errno));
		done(cut, "file cut to %llu blocks: the highest referenced block is gone", (unsigned long long)cut);
	} else if (!strcmp(k, "sm-leak")) {
		uint64_t b;
		for (b = 1 + seed % 64; b < im->sb.sm.nr_blocks && b < im->nr_blocks; b++)
			if (!sm_get(im, b) && !im->seen[b])
				break;
		if (b >= im->sb.sm.nr_blocks || b >= im->nr_blocks)
			not_applicable("no free block");
		sm_set(im, b, 1);
		done(b, "space map: free block counted as used (nr_allocated and nr_free kept consistent)");
	} else if (!strcmp(k, "sm-missing")) {
		uint64_t b = im->sb.era_array_root;
		unsigned v = sm_get(im, b);
		if (v == 0 || v == 3)
			not_applicable("era array root count not 1 or 2");
		sm_set(im, b, v - 1);
		done(b, "space map: reference count of the era array root lowered from %u to %u", v, v - 1);
	} else if (!strcmp(k, "sm-double-ref")) {
		struct pd_node n;
		uint64_t a;
		if (!(r = pick_node(im, era_leaf_two, seed)))
			not_applicable("no era array leaf with two entries");
		node_edit(im, r->block, buf);
		pd_node_decode(buf, r->block, &n);
		a = pd_get64(pd_node_value(&n, 0));
		pd_put64((unsigned char *)pd_node_value(&n, 1), a);
		wr(im, r->block, buf, &pd_btree_validator);
		done(r->block, "era array leaf: entries 0 and 1 both point to array block %llu (counted once)",
		     (unsigned long long)a);
	} else {
		usage();
	}
	if (fsync(im->fd))
		die("fsync: %s", strerror(errno));
	close(im->fd);
	free(im);
	return 0;
}
