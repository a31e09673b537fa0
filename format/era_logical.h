/* The logical era of each origin block (era_dump --logical): the newer of
 * its era-array value and the era of the newest writeset that marks it, as
 * the kernel's digest would leave it. Fed the walker's writesets, then asked
 * for the eras of each era-array block. */
#ifndef ERA_LOGICAL_H
#define ERA_LOGICAL_H
#include <stddef.h>
#include <stdint.h>
#include "../libpd/pd_err.h"
#include "era_walk.h"

struct era_logical_ws;

struct era_logical {
	uint32_t nr_blocks;
	struct era_logical_ws *ws;   /* the writesets, oldest first */
	size_t nr_ws, cap_ws;
	uint64_t *any;               /* blocks some writeset marks */
};

int era_logical_init(struct era_logical *l, uint32_t nr_blocks, struct pd_err *e);
/* Keeps a copy of the writeset's bits inside the device; in era order. */
int era_logical_add(struct era_logical *l, const struct era_writeset_info *ws, const uint64_t *words,
		    struct pd_err *e);
/* eras[i] = the logical era of block first + i, from the little-endian
 * era-array values of blocks [first, first + n). */
void era_logical_eras(const struct era_logical *l, uint64_t first, const void *le32_values, uint32_t n,
		      uint32_t *eras);
void era_logical_free(struct era_logical *l);

#endif
