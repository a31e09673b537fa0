#include <stdio.h>
#include <string.h>
#include "era_restore.h"

static int ev_sb(void *ctx, const struct era_xml_superblock *sb, struct pd_err *e)
{
	struct era_build_params p;

	memset(&p, 0, sizeof(p));
	p.data_block_size = sb->block_size;
	p.nr_blocks = sb->nr_blocks;
	p.current_era = sb->current_era;
	p.flags = 1;   /* as 1.1.0 writes; the kernel ignores and rewrites flags */
	return era_build_begin(ctx, &p, e);
}

static int ev_ws_begin(void *ctx, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	return era_build_writeset_begin(ctx, era, nr_bits, e);
}

static int ev_bit(void *ctx, uint32_t block, int value, struct pd_err *e)
{
	return era_build_writeset_bit(ctx, block, value, e);
}

static int ev_marked(void *ctx, uint32_t begin, uint32_t len, struct pd_err *e)
{
	return era_build_writeset_run(ctx, begin, len, e);
}

static int ev_ws_end(void *ctx, struct pd_err *e)
{
	return era_build_writeset_end(ctx, e);
}

static int ev_ea_begin(void *ctx, struct pd_err *e)
{
	return era_build_era_array_begin(ctx, e);
}

static int ev_era(void *ctx, uint32_t block, uint32_t era, struct pd_err *e)
{
	return era_build_era(ctx, block, era, e);
}

static int ev_ea_end(void *ctx, struct pd_err *e)
{
	return era_build_era_array_end(ctx, e);
}

int era_xml_restore(int fd, struct era_builder *b, struct era_xml_error *err)
{
	const struct era_xml_events ev = {
		.ctx = b,
		.superblock_begin = ev_sb,
		.writeset_begin = ev_ws_begin,
		.bit = ev_bit,
		.marked = ev_marked,
		.writeset_end = ev_ws_end,
		.era_array_begin = ev_ea_begin,
		.era = ev_era,
		.era_array_end = ev_ea_end,
	};
	struct pd_err e;

	if (era_xml_parse_fd(fd, &ev, err))
		return -1;
	memset(&e, 0, sizeof(e));
	if (era_build_commit(b, &e)) {
		memset(err, 0, sizeof(*err));
		err->code = e.code;
		snprintf(err->msg, sizeof(err->msg), "%s", e.msg);
		return -1;
	}
	return 0;
}
