#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "../format/era_logical.h"
#include "../format/era_salvage.h"
#include "era_dump.h"
#include "era_emit.h"

struct dump {
	const struct era_dump_opts *o;
	struct sink *out;
	struct era_sb sb;
	struct pd_err *e;
	struct era_logical logical;  /* --logical: the writesets folded in */
	uint32_t eras[1024];
};

static int out_status(struct dump *d)
{
	return d->out->err ? sink_error(d->e) : 0;
}

static int on_problem(void *ctx, const struct pd_err *r)
{
	struct dump *d = ctx;
	enum era_severity sev = era_problem_info(r->problem)->severity;

	if (sev != ERA_SEV_INFO && !d->o->repair) /* stops the dump: said once, by the caller */
		return era_finding_stops(r, d->e);
	if (d->o->report)
		d->o->report(d->o->ctx, r);
	return 0;
}

static int on_sb(void *ctx, const struct era_sb *sb)
{
	struct dump *d = ctx;

	d->sb = *sb;
	era_xml_superblock_begin(d->out, sb->data_block_size, sb->nr_blocks, sb->current_era);
	if (d->o->logical && era_logical_init(&d->logical, sb->nr_blocks, d->e))
		return -PD_E_NOMEM;
	return out_status(d);
}

static int on_writeset(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct dump *d = ctx;

	if (d->o->progress)
		d->o->progress(d->o->ctx, "writesets", 0, 0);
	if (!d->o->logical) {
		if (era_xml_writeset(d->out, ws->era, ws->nr_bits, words, d->sb.nr_blocks))
			return out_status(d);
		return 0;
	}
	return era_logical_add(&d->logical, ws, words, d->e);
}

static int on_array_begin(void *ctx, uint32_t nr_blocks)
{
	struct dump *d = ctx;
	(void)nr_blocks;

	era_xml_era_array_begin(d->out);
	return out_status(d);
}

static int on_era_block(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct dump *d = ctx;

	if (d->o->progress && (first / n) % 64 == 0)
		d->o->progress(d->o->ctx, "era array", first, d->sb.nr_blocks);

	if (!d->o->logical) {
		if (era_xml_eras_le(d->out, first, values, n))
			return out_status(d);
		return 0;
	}
	for (uint32_t off = 0; off < n; off += 1024) {
		uint32_t m = n - off < 1024 ? n - off : 1024;

		era_logical_eras(&d->logical, first + off, (const char *)values + 4 * off, m, d->eras);
		if (era_xml_eras(d->out, first + off, d->eras, m))
			return out_status(d);
	}
	return 0;
}

static int on_array_end(void *ctx)
{
	struct dump *d = ctx;

	era_xml_era_array_end(d->out);
	return out_status(d);
}

static void salvage_notes(const struct era_dump_opts *o, const struct era_salvage_stats *st)
{
	struct pd_err r;

	if (st->gaps_filled) {
		era_finding(&r, ERA_P_ERA_ARRAY, PD_NO_BLOCK, "%llu unreadable era array entries dumped as the current era",
			    (unsigned long long)st->gaps_filled);
		o->report(o->ctx, &r);
	}
	if (st->eras_clamped) {
		era_finding(&r, ERA_P_ERA_FUTURE, PD_NO_BLOCK, "%llu era values above the current era dumped as the current era",
			    (unsigned long long)st->eras_clamped);
		o->report(o->ctx, &r);
	}
	if (st->writesets_folded) {
		era_finding(&r, ERA_P_DIGEST_UNSAFE, PD_NO_BLOCK,
			    "%u writesets of eras up to %u folded into the era array: the kernel's digest would "
			    "have lowered the eras of %llu blocks", st->writesets_folded, st->fold_era,
			    (unsigned long long)st->unsafe_blocks);
		o->report(o->ctx, &r);
	}
}

int era_dump(struct pd_bm *bm, const struct era_dump_opts *o, struct sink *out, struct pd_err *e)
{
	struct dump d = { .o = o, .out = out, .e = e };
	struct era_visitor v = {
		.ctx = &d, .superblock = on_sb, .writeset = on_writeset,
		.era_array_begin = on_array_begin, .era_block = on_era_block,
		.era_array_end = on_array_end, .problem = on_problem,
	};
	struct era_walk_opts wo = { .sb_location = o->sb_location };
	int r;

	if (o->repair) {
		/* era_repair's decisions, so the XML restores to what it would
		 * write (era_salvage.h): nothing written is lost, and the
		 * kernel's digest keeps what the output means */
		struct era_salvage_stats st;

		r = era_salvage_walk(bm, o->sb_location, &v, &st, e);
		if (!r && o->report)
			salvage_notes(o, &st);
	} else {
		r = era_walk(bm, &wo, &v, e);
	}
	if (!r) {
		era_xml_superblock_end(out);
		if (sink_flush(out))
			r = sink_error(e);
	} else if (!out->err) {
		sink_flush(out); /* what was dumped, without closing tags */
	}
	era_logical_free(&d.logical);
	return r;
}
