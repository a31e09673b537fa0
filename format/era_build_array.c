/* The era-array writer of the builder (era_build_int.h): era array blocks
 * written straight to their fixed places, and the array's index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../libpd/btree_build.h"
#include "../libpd/io.h"
#include "../libpd/validator.h"
#include "era_build_int.h"

static uint32_t ea_entries_in(const struct eaw *w, uint64_t blk)
{
	uint64_t left = w->nr - blk * EA_PER;
	return left < EA_PER ? (uint32_t)left : EA_PER;
}

int eaw_init(struct eaw *w, int fd, uint64_t nr, int dry, struct pd_err *e)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->dry = dry;
	w->nr = nr;
	w->first = UINT64_MAX;
	if (posix_memalign((void **)&w->batch, PD_BLOCK_SIZE, (size_t)EA_BATCH * PD_BLOCK_SIZE) ||
	    posix_memalign((void **)&w->head, PD_BLOCK_SIZE, PD_BLOCK_SIZE)) {
		free(w->batch);
		w->batch = NULL;
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	}
	memset(w->head, 0, PD_BLOCK_SIZE);
	return 0;
}

static void eaw_seal(const struct eaw *w, unsigned char *blk, uint64_t idx)
{
	const size_t hs = sizeof(struct pd_disk_array_header);
	uint32_t n = ea_entries_in(w, idx);

	pd_array_hdr_encode(blk, &(struct pd_array_hdr){ EA_PER, n, 4, 1 + idx });
	memset(blk + hs + 4u * n, 0, (size_t)(EA_PER - n) * 4u + (PD_BLOCK_SIZE - hs - 4u * EA_PER));
	pd_array_validator.prepare(&pd_array_validator, blk, 1 + idx);
}

static int eaw_write(const struct eaw *w, const unsigned char *buf, uint64_t idx, unsigned n, struct pd_err *e)
{
	size_t done;

	if (w->dry)
		return 0;
	if (pd_pwrite_all(w->fd, buf, (size_t)n * PD_BLOCK_SIZE, (1 + idx) << PD_BLOCK_SHIFT, &done))
		return pd_fail(e, PD_E_IO, 1 + idx + done / PD_BLOCK_SIZE, "write failed: %s",
			       errno ? strerror(errno) : "no progress");
	return 0;
}

static int eaw_flush(struct eaw *w, struct pd_err *e)
{
	int r;

	if (!w->nb)
		return 0;
	if (!w->dry)
		for (unsigned i = 0; i < w->nb; i++)
			eaw_seal(w, w->batch + (size_t)i * PD_BLOCK_SIZE, w->batch_first + i);
	r = eaw_write(w, w->batch, w->batch_first, w->nb, e);
	w->nb = 0;
	return r;
}

int eaw_advance(struct eaw *w, struct pd_err *e)
{
	uint64_t blk = w->next / EA_PER;
	uint32_t off = (uint32_t)(w->next % EA_PER);

	if (w->cur && !w->cur_is_head && ++w->nb == EA_BATCH) {
		int r = eaw_flush(w, e);
		if (r)
			return r;
	}
	if (w->next >= w->nr)
		return pd_fail(e, PD_E_RANGE, PD_NO_BLOCK, "era block %llu is out of range", (unsigned long long)w->next);
	if (off) {
		/* only the first block of a part can start inside */
		w->cur = (uint32_t *)(void *)(w->head + sizeof(struct pd_disk_array_header));
		w->cur_is_head = 1;
		w->head_blk = blk;
		w->have_head = 1;
	} else {
		if (!w->nb)
			w->batch_first = blk;
		w->cur = (uint32_t *)(void *)(w->batch + (size_t)w->nb * PD_BLOCK_SIZE + sizeof(struct pd_disk_array_header));
		w->cur_is_head = 0;
	}
	w->cur_blk = blk;
	w->cur_n = off;
	w->cur_cap = ea_entries_in(w, blk);
	return 0;
}

int eaw_end(struct eaw *w, struct pd_err *e)
{
	if (w->cur && !w->cur_is_head && w->cur_n == w->cur_cap) {
		w->nb++;
		w->cur = NULL;
		w->cur_n = w->cur_cap = 0;
	}
	return eaw_flush(w, e);
}

void eaw_free(struct eaw *w)
{
	free(w->head);
	free(w->batch);
	w->head = NULL;
	w->batch = NULL;
}

int eaw_build_index(struct pd_writer *w, uint64_t nr, uint64_t *root, struct pd_err *e)
{
	struct pd_btree_builder bt;
	uint64_t n = ea_blocks(nr);
	int r = pd_btree_builder_init(&bt, w, 8, e);

	if (r)
		return r;
	for (uint64_t i = 0; i < n; i++) {
		unsigned char v[8];
		pd_put64(v, 1 + i);
		r = pd_btree_builder_push(&bt, i, v, e);
		if (r) {
			pd_btree_builder_free(&bt);
			return r;
		}
	}
	return pd_btree_builder_finish(&bt, root, e);
}
