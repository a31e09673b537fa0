/* One verifier per block type: checksum (with the type's xor), the block's
 * own location, and header sanity. */
#ifndef PD_VALIDATOR_H
#define PD_VALIDATOR_H
#include <stdint.h>
#include "pd_err.h"

struct pd_validator {
	const char *name;
	uint32_t csum_xor;
	/* Returns 0 or -code with e filled (block = where). */
	int (*check)(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e);
	/* Sets csum (and anything else derived) before a write. */
	void (*prepare)(const struct pd_validator *v, void *data, uint64_t where);
};

extern const struct pd_validator pd_btree_validator;
extern const struct pd_validator pd_array_validator;
extern const struct pd_validator pd_sm_index_validator;
extern const struct pd_validator pd_sm_bitmap_validator;

/* Shared helpers for validators defined elsewhere (e.g. superblocks). */
int pd_check_csum(const struct pd_validator *v, const void *data, uint64_t where, struct pd_err *e);
void pd_prepare_csum(const struct pd_validator *v, void *data, uint64_t where);

#endif
