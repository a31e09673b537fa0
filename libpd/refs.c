#include <stdlib.h>
#include "refs.h"

int pd_refs_init(struct pd_refs *r, uint64_t nr_blocks, struct pd_err *e)
{
	r->nr_blocks = nr_blocks;
	r->count = calloc(nr_blocks ? nr_blocks : 1, sizeof(*r->count));
	if (!r->count)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory for %llu reference counts",
			       (unsigned long long)nr_blocks);
	return 0;
}

void pd_refs_free(struct pd_refs *r)
{
	free(r->count);
	r->count = NULL;
}

int pd_seen_init(struct pd_seen *s, uint64_t nr_blocks, struct pd_err *e)
{
	s->nr_blocks = nr_blocks;
	s->bits = calloc((nr_blocks + 63) / 64 + 1, sizeof(uint64_t));
	if (!s->bits)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	return 0;
}

void pd_seen_free(struct pd_seen *s)
{
	free(s->bits);
	s->bits = NULL;
}
