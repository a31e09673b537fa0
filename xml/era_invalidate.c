#include <stdlib.h>
#include "era_emit.h"
#include "era_invalidate.h"

static int emit_run(void *ctx, uint64_t begin, uint64_t end)
{
	struct sink *s = ctx;

	era_xml_blocks_run(s, begin, end);
	return s->err ? -PD_E_IO : 0;
}

int era_invalidate(struct pd_bm *bm, const struct era_invalidate_opts *o, struct sink *out, struct pd_err *e)
{
	uint64_t *marked;
	uint32_t nr_blocks;
	int r = era_written_since(bm, o, &marked, &nr_blocks, e);

	if (r)
		return r;
	era_xml_blocks_begin(out);
	era_bit_runs(marked, nr_blocks, emit_run, out);
	era_xml_blocks_end(out);
	free(marked);
	if (sink_flush(out))
		return sink_error(e);
	return 0;
}
