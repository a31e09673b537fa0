/* Block manager: validated, cached, read access to a metadata device.
 * The cache holds at most a fixed number of blocks chosen by the caller. */
#ifndef PD_BM_H
#define PD_BM_H
#include <stdint.h>
#include "bdev.h"
#include "validator.h"

struct pd_bm;

#define PD_BM_DEFAULT_CACHE 256u /* blocks: 1 MiB; walks pin at most a tree path */

/* Opens path; nr_cache is the number of 4 KiB blocks kept (>= 16). */
int pd_bm_open(struct pd_bm **out, const char *path, unsigned open_flags, unsigned nr_cache,
	       struct pd_err *e);
void pd_bm_close(struct pd_bm *bm);
uint64_t pd_bm_nr_blocks(const struct pd_bm *bm);
const char *pd_bm_path(const struct pd_bm *bm);

/* Reads block b and runs v on it (NULL: no check). The data stays valid
 * until pd_bm_put(). A block that fails v is not cached as valid. */
int pd_bm_get(struct pd_bm *bm, uint64_t b, const struct pd_validator *v, const void **data,
	      struct pd_err *e);
void pd_bm_put(struct pd_bm *bm, const void *data);

/* Reads the blocks not yet cached with as few system calls as possible
 * (runs of adjacent blocks in one preadv). A hint: errors are left for
 * pd_bm_get() to find. At most half the cache is used. */
void pd_bm_prefetch(struct pd_bm *bm, const uint64_t *blocks, unsigned n);

/* Drops every unpinned cached block (e.g. after the device was written). */
void pd_bm_invalidate(struct pd_bm *bm);

#endif
