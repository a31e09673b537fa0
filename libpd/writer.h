/* The write side of a metadata device: a sequential block allocator and a
 * batching block writer. Blocks are handed out in order from a first free
 * block; each is filled by the caller and written with its neighbours in
 * large writes. Past the end of the device the writer keeps counting but
 * writes nothing ("dry"), so a caller can learn how much room was needed. */
#ifndef PD_WRITER_H
#define PD_WRITER_H
#include <stdint.h>
#include "bdev.h"
#include "validator.h"

#define PD_WRITER_BATCH 256u /* blocks per write: 1 MiB */

struct pd_writer {
	struct pd_bdev *dev;
	uint64_t limit;           /* blocks [0, limit) may be written */
	uint64_t next;            /* next block to hand out */
	uint64_t first;           /* batch holds blocks [first, first + n) */
	unsigned n;
	int dry;                  /* an allocation went past limit */
	unsigned char *buf;       /* PD_WRITER_BATCH blocks */
	unsigned char *scratch;   /* one block, for dry allocations */
	uint64_t nr_written;      /* blocks written so far */
};

/* limit: blocks that may be used (normally dev->nr_blocks); first_free: the
 * first block to hand out (1: block 0 is the superblock). */
int pd_writer_init(struct pd_writer *w, struct pd_bdev *dev, uint64_t limit, uint64_t first_free,
		   struct pd_err *e);
void pd_writer_free(struct pd_writer *w);

/* Hands out the next block: *where is its number, *data a zeroed 4 KiB
 * buffer that stays valid until the next call. Fill it completely, then
 * call pd_writer_seal(). */
int pd_writer_new(struct pd_writer *w, uint64_t *where, void **data, struct pd_err *e);
/* Sets the checksum (the caller has set the block's own location). */
static inline void pd_writer_seal(struct pd_writer *w, void *data, uint64_t where, const struct pd_validator *v)
{
	if (!w->dry)
		v->prepare(v, data, where);
}
/* Writes out what is batched. */
int pd_writer_flush(struct pd_writer *w, struct pd_err *e);
/* Blocks handed out so far, counting block 0: [0, next). */
static inline uint64_t pd_writer_used(const struct pd_writer *w) { return w->next; }

/* Writes block 0 with zeros: until a valid superblock is written last, the
 * device holds no metadata that anything would accept. With sync, waits for
 * the zeros to reach the device (needed when block 0 held a valid superblock:
 * otherwise a crash could pair it with half-overwritten blocks). */
int pd_writer_invalidate_sb(struct pd_bdev *dev, int sync, struct pd_err *e);

#endif
