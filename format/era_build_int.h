/* Internal to the builder's files (not installed, not for other callers):
 * what the era-array writer (era_build_array.c), the writeset accumulator
 * (era_build_ws.c), the sequential builder (era_build.c) and the part for
 * the second thread (era_build_part.c) share. The API is era_build.h. */
#ifndef ERA_BUILD_INT_H
#define ERA_BUILD_INT_H
#include <stdint.h>
#include "../libpd/bitset.h"
#include "../libpd/disk.h"
#include "../libpd/writer.h"
#include "era_build.h"

#define EA_PER pd_array_max_entries(4) /* era array entries per block */
#define EA_BATCH 32u                   /* era array blocks per write */

/* Writes era array blocks straight to their fixed places, block 1 + index,
 * EA_BATCH at a time. Entries come consecutively from `first`; when that is
 * not the start of a block (the second part of a parallel build) the block
 * is kept apart as the head, for the join to complete. */
struct eaw {
	int fd;
	int dry;                  /* write nothing (output too small) */
	uint64_t nr;              /* entries in the array */
	uint64_t first;           /* first entry given here; UINT64_MAX: none yet */
	uint64_t next;            /* the next entry */
	uint32_t *cur;            /* values of the block being filled; NULL: none */
	uint32_t cur_n, cur_cap;  /* entries in it so far / in all */
	uint64_t cur_blk;
	int cur_is_head;
	unsigned char *head;      /* one block */
	uint64_t head_blk;
	int have_head;
	unsigned char *batch;     /* EA_BATCH blocks */
	uint64_t batch_first;     /* array block of batch slot 0 */
	unsigned nb;              /* complete blocks in the batch */
};

static inline uint64_t ea_blocks(uint64_t nr)
{
	return pd_array_blocks(nr, 4);
}

int eaw_init(struct eaw *w, int fd, uint64_t nr, int dry, struct pd_err *e);
void eaw_free(struct eaw *w);
/* The block being filled is full (or there is none): move on to the block
 * of entry `next`. */
int eaw_advance(struct eaw *w, struct pd_err *e);
/* Writes every complete block; an incomplete last one stays (a part's end
 * that is not the array's). */
int eaw_end(struct eaw *w, struct pd_err *e);
/* The era array's index (array block i at block 1 + i), built by w. */
int eaw_build_index(struct pd_writer *w, uint64_t nr, uint64_t *root, struct pd_err *e);

/* Appends one era; the writer stores it little-endian. */
static inline int eaw_push(struct eaw *w, uint32_t era, struct pd_err *e)
{
	if (__builtin_expect(w->cur_n == w->cur_cap, 0)) {
		int r = eaw_advance(w, e);
		if (r)
			return r;
	}
	w->cur[w->cur_n++] = htole32(era);
	w->next++;
	return 0;
}

enum state { S_NEW, S_SB, S_WS, S_EA, S_ENDED, S_DONE, S_FAILED };

/* One writeset's bits as they come, the builder's and each of a part's:
 * bits [0, held_bits) are in memory, the rest are clear (only the origin's
 * blocks are held unless a bit past them is set: a writeset from before a
 * shrink; none in a dry run). */
struct wsacc {
	uint32_t era, nr_bits;
	uint64_t *bits;
	uint64_t cap_words;       /* words allocated in bits */
	uint64_t held_bits;
	uint64_t next_bit;        /* bits must ascend */
};

/* The bits a writeset of nr_bits bits holds at first. */
static inline uint64_t held_for(uint32_t nr_bits, uint32_t nr_blocks)
{
	return nr_bits < nr_blocks ? nr_bits : nr_blocks;
}

int wsacc_start(struct wsacc *a, uint32_t era, uint32_t nr_bits, uint64_t held);
int wsacc_hold_all(struct wsacc *a);
int wsacc_check(const struct wsacc *a, uint64_t block, int value, uint32_t nr_blocks);
void wsacc_or(struct wsacc *dst, const struct wsacc *src);
/* Bits [begin, end) set in words. */
void wsacc_set_range(uint64_t *words, uint64_t begin, uint64_t end);
/* Writes a's bitset: the held words, then zero words up to nr_bits. */
int wsacc_write(struct pd_writer *w, const struct wsacc *a, uint64_t *root, struct pd_err *e);

struct ws_entry {
	uint32_t era;
	uint32_t nr_bits;
	uint64_t root;
};

struct era_builder {
	struct pd_bdev *dev;
	struct pd_writer w;
	int writer_ready;
	enum state st;
	struct era_build_params p;
	/* writesets */
	struct ws_entry *ws;
	uint32_t nr_ws;
	size_t cap_ws;
	int pending;              /* cur holds a writeset not yet written */
	struct wsacc cur;
	uint32_t given_nr_bits;      /* nr_bits of the latest writeset_begin (a merge keeps the larger cur) */
	int seen_era_array;
	/* era array */
	struct eaw ea;
	uint64_t ws_root, ea_root;
	uint64_t used;            /* blocks used, after commit */
	uint64_t needed_bytes;
	struct era_build_stats stats;
	/* the digest rule's cheap test (era_digest.h), checked at commit */
	uint32_t ws_min_era, ea_max;
};

/* The builder failed (it stays so until a reset): e filled, -code. */
int era_build_fail(struct era_builder *b, struct pd_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int era_build_bad_state(struct era_builder *b, struct pd_err *e, const char *what);
/* The current writeset held whole: 0, 1 in a dry run (nothing held), or
 * a failure. */
int era_build_hold_all(struct era_builder *b, struct pd_err *e);
/* Bytes of bitset blocks (values and index) a writeset of nr_bits bits
 * takes on the output. */
uint64_t era_build_bitset_bytes(uint32_t nr_bits);

#endif
