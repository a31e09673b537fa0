/* era_repair: rebuild dm-era metadata from a damaged copy. Never writes its input. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "../format/era_repair.h"
#include "../libpd/output.h"
#include "../libpd/same_target.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] -i {device|file} -o {device|file}\n"
		"Copy what can be read of damaged dm-era metadata onto a new device.\n"
		"Options:\n"
		"  -h, --help                       Print this help and exit\n"
		"  -q, --quiet                      No messages: only the exit status tells\n"
		"  -V, --version                    Print version information and exit\n"
		"  -i, --input FILE                 The metadata to repair (read only)\n"
		"  -o, --output FILE                Metadata device or file to write (must exist)\n"
		"      --force                      Write over a device holding a file system\n"
		"                                   or other signature\n",
		tool_name());
}

struct ctx {
	const char *in;
	int quiet;
	int sb_failed;            /* the input's superblock stopped the repair (said once) */
};

static void report(void *p, const struct pd_err *r)
{
	struct ctx *c = p;
	/* nothing is repaired without a superblock: that one is not skipped */
	const char *what = r->problem == ERA_P_SB ? "" : " (skipped)";
	char msg[sizeof(r->msg) + 160];

	if (r->problem == ERA_P_SB)
		c->sb_failed = 1;
	if (c->quiet)
		return;
	tool_describe(r, msg, sizeof(msg));
	if (r->block != PD_NO_BLOCK)
		fprintf(stderr, "%s: %s: block %llu: %s%s\n", tool_name(), c->in,
			(unsigned long long)r->block, msg, what);
	else
		fprintf(stderr, "%s: %s: %s%s\n", tool_name(), c->in, msg, what);
}

int main(int argc, char **argv)
{
	struct tool_io_opts io;
	struct ctx c = { 0 };
	struct era_repair_opts ro = { .report = report, .ctx = &c };
	struct era_repair_result res;
	const char *out;
	struct era_builder *b;
	struct pd_bdev dev;
	struct pd_bm *bm;
	struct pd_err e;
	int force, r;

	tool_init(argv[0]);
	r = tool_parse_io_opts(argc, argv, usage, &io);
	if (r >= 0)
		return r;
	c.in = io.in;
	c.quiet = io.quiet;
	out = io.out;
	force = io.force;
	if (pd_same_target(c.in, out, &e)) {
		if (!c.quiet)
			tool_error("%s: %s", out, e.msg);
		return EXIT_IO;
	}
	if (pd_bm_open(&bm, c.in, PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, &e)) {
		if (!c.quiet)
			tool_pd_error(c.in, &e);
		return EXIT_IO;
	}
	if (pd_output_open(&dev, out, force ? PD_OUTPUT_FORCE : 0, &e)) {
		if (!c.quiet)
			tool_error("%s: %s", out, e.msg);
		pd_bm_close(bm);
		return EXIT_IO;
	}
	r = era_build_open(&b, &dev, &e);
	if (r && (e.code == PD_E_NOSPC || e.code == PD_E_IO))
		e.source = PD_SRC_OUTPUT;
	if (!r) {
		r = era_repair_metadata(bm, b, &ro, &res, &e);
		era_build_free(b);
	}
	if (r && c.sb_failed) {
		/* the input's superblock, reported above */
	} else if (r && !c.quiet) {
		if (e.source == PD_SRC_OUTPUT)
			tool_error("%s: %s", out, e.msg);
		else
			tool_pd_error(c.in, &e);
	} else if (!r && !c.quiet) {
		if (res.stats.gaps_filled)
			tool_error("%s: %llu unreadable era array entries set to the current era", out,
				   (unsigned long long)res.stats.gaps_filled);
		if (res.stats.eras_clamped)
			tool_error("%s: %llu era values above the current era clamped to it", out,
				   (unsigned long long)res.stats.eras_clamped);
		if (res.stats.writesets_merged)
			tool_error("%s: current writeset merged with the archived one of the same era", out);
		if (res.salvage.writesets_folded)
			tool_error("%s: %u archived writesets of eras up to %u folded into the era array "
				   "(the kernel's digest would have lowered the eras of %llu blocks)", out,
				   res.salvage.writesets_folded, res.salvage.fold_era,
				   (unsigned long long)res.salvage.unsafe_blocks);
	}
	pd_bdev_close(&dev);
	pd_bm_close(bm);
	return r ? tool_status_for(e.code) : EXIT_OK;
}
