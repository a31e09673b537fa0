#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <string.h>
#include "bm.h"
#include "disk.h"
#include "io.h"

struct slot {
	uint64_t block;
	const struct pd_validator *checked; /* validator that passed, if any */
	uint32_t pins;
	int32_t next;                       /* hash chain */
	uint8_t used;
	uint8_t referenced;                 /* clock bit */
};

struct pd_bm {
	struct pd_bdev dev;
	unsigned nr;
	unsigned hand;
	unsigned hmask;
	struct slot *slots;
	int32_t *hash;
	unsigned char *mem;
};

static unsigned hash_block(const struct pd_bm *bm, uint64_t b)
{
	return (unsigned)((b * 0x9e3779b97f4a7c15ull) >> 32) & bm->hmask;
}

int pd_bm_open(struct pd_bm **out, const char *path, unsigned open_flags, unsigned nr_cache,
	       struct pd_err *e)
{
	struct pd_bm *bm = calloc(1, sizeof(*bm));
	unsigned hsize = 1;
	int r;

	*out = NULL;
	if (!bm)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	if (nr_cache < 16)
		nr_cache = 16;
	while (hsize < nr_cache * 2)
		hsize <<= 1;
	bm->nr = nr_cache;
	bm->hmask = hsize - 1;
	bm->slots = calloc(nr_cache, sizeof(*bm->slots));
	bm->hash = malloc(hsize * sizeof(*bm->hash));
	if (posix_memalign((void **)&bm->mem, PD_BLOCK_SIZE, (size_t)nr_cache * PD_BLOCK_SIZE))
		bm->mem = NULL;
	if (!bm->slots || !bm->hash || !bm->mem) {
		free(bm->slots);
		free(bm->hash);
		free(bm->mem);
		free(bm);
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory for the block cache");
	}
	memset(bm->hash, 0xff, hsize * sizeof(*bm->hash));
	r = pd_bdev_open(&bm->dev, path, open_flags, e);
	if (r) {
		free(bm->slots);
		free(bm->hash);
		free(bm->mem);
		free(bm);
		return r;
	}
	*out = bm;
	return 0;
}

void pd_bm_close(struct pd_bm *bm)
{
	if (!bm)
		return;
	pd_bdev_close(&bm->dev);
	free(bm->slots);
	free(bm->hash);
	free(bm->mem);
	free(bm);
}

uint64_t pd_bm_nr_blocks(const struct pd_bm *bm) { return bm->dev.nr_blocks; }
const char *pd_bm_path(const struct pd_bm *bm) { return bm->dev.path; }

static void *slot_data(struct pd_bm *bm, unsigned i)
{
	return bm->mem + (size_t)i * PD_BLOCK_SIZE;
}

static void unhash(struct pd_bm *bm, unsigned i)
{
	int32_t *pp = &bm->hash[hash_block(bm, bm->slots[i].block)];

	while (*pp >= 0) {
		if ((unsigned)*pp == i) {
			*pp = bm->slots[i].next;
			break;
		}
		pp = &bm->slots[*pp].next;
	}
	bm->slots[i].used = 0;
}

/* A free or evictable slot: its index, or -PD_E_NOMEM. */
static int find_victim(struct pd_bm *bm)
{
	for (unsigned tries = 0; tries < 2 * bm->nr + 1; tries++) {
		unsigned i = bm->hand;
		struct slot *s = &bm->slots[i];

		bm->hand = (bm->hand + 1) % bm->nr;
		if (!s->used)
			return (int)i;
		if (s->pins)
			continue;
		if (s->referenced) {
			s->referenced = 0;
			continue;
		}
		unhash(bm, i);
		return (int)i;
	}
	return -PD_E_NOMEM; /* every slot pinned */
}

int pd_bm_get(struct pd_bm *bm, uint64_t b, const struct pd_validator *v, const void **data,
	      struct pd_err *e)
{
	int32_t i = bm->hash[hash_block(bm, b)];
	struct slot *s;
	int r;

	*data = NULL;
	while (i >= 0 && bm->slots[i].block != b)
		i = bm->slots[i].next;
	if (i < 0) {
		unsigned h;

		if (b >= bm->dev.nr_blocks)
			return pd_fail(e, PD_E_RANGE, b, "block beyond the end of the device (%llu blocks)",
				       (unsigned long long)bm->dev.nr_blocks);
		i = find_victim(bm);
		if (i < 0)
			return pd_fail(e, PD_E_NOMEM, b, "block cache exhausted (too many pinned blocks)");
		r = pd_bdev_read(&bm->dev, b, slot_data(bm, (unsigned)i), e);
		if (r)
			return r;
		s = &bm->slots[i];
		s->block = b;
		s->checked = NULL;
		s->pins = 0;
		s->used = 1;
		h = hash_block(bm, b);
		s->next = bm->hash[h];
		bm->hash[h] = i;
	}
	s = &bm->slots[i];
	if (v && s->checked != v) {
		r = v->check(v, slot_data(bm, (unsigned)i), b, e);
		if (r)
			return r;
		s->checked = v;
	}
	s->pins++;
	s->referenced = 1;
	*data = slot_data(bm, (unsigned)i);
	return 0;
}

static int cached(const struct pd_bm *bm, uint64_t b)
{
	for (int32_t i = bm->hash[hash_block(bm, b)]; i >= 0; i = bm->slots[i].next)
		if (bm->slots[i].block == b)
			return 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void insert(struct pd_bm *bm, unsigned i, uint64_t b)
{
	struct slot *s = &bm->slots[i];
	unsigned h = hash_block(bm, b);

	s->block = b;
	s->checked = NULL;
	s->pins = 0;
	s->used = 1;
	s->referenced = 1;
	s->next = bm->hash[h];
	bm->hash[h] = (int32_t)i;
}

#define PREFETCH_MAX 256u

void pd_bm_prefetch(struct pd_bm *bm, const uint64_t *blocks, unsigned n)
{
	uint64_t want[PREFETCH_MAX];
	unsigned nr = 0, limit = bm->nr / 2 < PREFETCH_MAX ? bm->nr / 2 : PREFETCH_MAX;

	for (unsigned i = 0; i < n && nr < limit; i++)
		if (blocks[i] < bm->dev.nr_blocks && !cached(bm, blocks[i]))
			want[nr++] = blocks[i];
	if (nr < 2)
		return;
	qsort(want, nr, sizeof(want[0]), cmp_u64);
	for (unsigned i = 0; i < nr;) {
		struct iovec iov[PREFETCH_MAX];
		int slot[PREFETCH_MAX];
		unsigned j = i, k = 0;
		ssize_t got;

		/* a run of adjacent blocks (duplicates end it) */
		while (j < nr && (j == i || want[j] == want[j - 1] + 1)) {
			int v = find_victim(bm);
			if (v < 0)
				break;
			/* hold the slot so the next victim search skips it */
			bm->slots[v].used = 1;
			bm->slots[v].pins = 1;
			slot[k] = v;
			iov[k].iov_base = slot_data(bm, (unsigned)v);
			iov[k].iov_len = PD_BLOCK_SIZE;
			k++;
			j++;
		}
		if (!k)
			return;
		got = pd_preadv(bm->dev.fd, iov, (int)k, want[i] << PD_BLOCK_SHIFT);
		for (unsigned m = 0; m < k; m++) {
			bm->slots[slot[m]].pins = 0;
			bm->slots[slot[m]].used = 0;
			if (got >= 0 && (size_t)got >= (m + 1) * (size_t)PD_BLOCK_SIZE)
				insert(bm, (unsigned)slot[m], want[i + m]);
		}
		i = j;
		while (i < nr && i > 0 && want[i] == want[i - 1])
			i++;
	}
}

void pd_bm_put(struct pd_bm *bm, const void *data)
{
	size_t off;

	if (!data)
		return;
	off = (size_t)((const unsigned char *)data - bm->mem);
	if (off / PD_BLOCK_SIZE < bm->nr && bm->slots[off / PD_BLOCK_SIZE].pins)
		bm->slots[off / PD_BLOCK_SIZE].pins--;
}

void pd_bm_invalidate(struct pd_bm *bm)
{
	for (unsigned i = 0; i < bm->nr; i++)
		if (bm->slots[i].used && !bm->slots[i].pins)
			unhash(bm, i);
}
