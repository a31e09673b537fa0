/* How big a metadata device a dm-era target needs, computed from the
 * on-disk format (era_metadata_size, docs in man8/era_metadata_size.8).
 *
 * The estimate counts, in 4 KiB metadata blocks:
 *   superblock                       1
 *   era array                        ceil(N / 1018) array blocks + index nodes
 *   writesets (current + K archived) each ceil(ceil(N / 64) / 509) bitset
 *                                    blocks + index nodes
 *   writeset tree                    nodes for K + 1 entries
 *   metadata snapshot room           a second era array and set of writesets
 *                                    (a held snapshot pins the old copies)
 *   copy-on-write headroom           all of the above again: within one
 *                                    transaction the kernel may shadow every
 *                                    block while the old copy stays allocated
 *                                    until the commit
 *   space map                        bitmaps (16320 blocks each) + index +
 *                                    ref-count tree, doubled for shadowing
 *   reserve                          16 blocks: a snapshot's superblock copy,
 *                                    ref-count tree growth, slack
 * Index nodes are assumed half full (the kernel's B-trees split nodes in
 * two), so the figure is an upper bound of what the kernel allocates. */
#ifndef ERA_SIZE_H
#define ERA_SIZE_H
#include <stdint.h>
#include "../libpd/pd_err.h"
#include "era_disk.h"

#define ERA_SIZE_DEFAULT_WRITESETS 8u
#define ERA_SIZE_MAX_WRITESETS 100000u

struct era_size_opts {
	uint64_t nr_blocks;       /* origin blocks, 1 .. ERA_MAX_NR_BLOCKS */
	uint32_t nr_writesets;    /* archived, undigested writesets to allow for */
	int no_snapshot;          /* leave out room for a held metadata snapshot */
};

struct era_size {
	uint64_t superblock;
	uint64_t era_array;       /* array blocks + their index nodes */
	uint64_t writeset;        /* one writeset: bitset blocks + index nodes */
	uint64_t writesets;       /* current + archived */
	uint64_t writeset_tree;
	uint64_t live;            /* a consistent image: superblock + the above */
	uint64_t snapshot;        /* extra room for a held metadata snapshot */
	uint64_t cow;             /* copy-on-write headroom */
	uint64_t reserve;         /* fixed: snapshot superblock copy, ref-count nodes, slack */
	uint64_t space_map;       /* bitmaps + index + ref-count tree, with headroom */
	uint64_t total;           /* metadata blocks to provide */
	uint64_t total_bytes;     /* total * 4096 */
};

/* Computes the estimate. Fails with PD_E_INVAL for nr_blocks outside
 * 1..ERA_MAX_NR_BLOCKS (what the kernel accepts) or too many writesets,
 * PD_E_RANGE if the result exceeds what one metadata space map can
 * address (255 * 16320 blocks). */
int era_metadata_size(const struct era_size_opts *o, struct era_size *out, struct pd_err *e);

/* Parses a size: a decimal number with an optional unit suffix
 * b (bytes), s (512-byte sectors), k, m, g, t, p (powers of 1024 bytes,
 * upper or lower case, optionally followed by "b" or "ib"). A number
 * without a suffix is in sectors. Returns 0 and *bytes, or -PD_E_INVAL. */
int era_parse_size(const char *s, uint64_t *bytes);

#endif
