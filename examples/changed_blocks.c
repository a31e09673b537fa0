/* changed_blocks: which blocks of a dm-era origin were written since an era.
 * An example of the era-tools C API for backup software (doc/api.md).
 *
 *   changed_blocks [--snapshot] METADATA ERA
 *
 * Prints the superblock facts as a comment line, then one line per run of
 * changed blocks, "BEGIN END" in era blocks (END exclusive), followed by
 * the same run in 512-byte sectors of the origin.
 *
 * Build against an installed era-tools:
 *   cc -o changed_blocks changed_blocks.c $(pkg-config --cflags --libs --static era-tools)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpd/bm.h>
#include <format/era_sb.h>     /* era_metadata_snap */
#include <format/era_since.h>  /* era_written_since, era_bit_runs */

struct out {
	uint32_t block_size;     /* sectors per era block */
	unsigned long long nr_runs;
};

static int print_run(void *ctx, uint64_t begin, uint64_t end)
{
	struct out *o = ctx;

	o->nr_runs++;
	if (printf("%llu %llu sectors %llu+%llu\n", (unsigned long long)begin, (unsigned long long)end,
		   (unsigned long long)begin * o->block_size,
		   (unsigned long long)(end - begin) * o->block_size) < 0)
		return -1; /* stops the walk over the runs */
	return 0;
}

static int fail(const char *path, const struct pd_err *e)
{
	if (e->block != PD_NO_BLOCK)
		fprintf(stderr, "changed_blocks: %s: block %llu: %s\n", path, (unsigned long long)e->block,
			e->msg);
	else
		fprintf(stderr, "changed_blocks: %s: %s\n", path, e->msg[0] ? e->msg : pd_code_name(e->code));
	return 1;
}

int main(int argc, char **argv)
{
	struct era_invalidate_opts opts = { 0 };
	struct out out = { 0 };
	uint64_t *marked = NULL, snap = 0;
	uint32_t nr_blocks;
	struct era_sb sb;
	struct pd_bm *bm;
	struct pd_err e;
	const char *path;
	char *end;
	int use_snap = 0, r;
	unsigned long era;

	if (argc > 1 && !strcmp(argv[1], "--snapshot")) {
		use_snap = 1;
		argc--;
		argv++;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: changed_blocks [--snapshot] METADATA ERA\n");
		return 1;
	}
	path = argv[1];
	errno = 0;
	era = strtoul(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || era > UINT32_MAX) {
		fprintf(stderr, "changed_blocks: bad era '%s'\n", argv[2]);
		return 1;
	}

	/* 1. Open the metadata read-only. A live target's metadata must be read
	 *    through a snapshot and with O_DIRECT to see what the kernel wrote. */
	if (pd_bm_open(&bm, path, use_snap ? PD_OPEN_DIRECT : PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, &e))
		return fail(path, &e);

	/* 2. Where to read: block 0, or the held metadata snapshot. */
	if (use_snap) {
		if (era_metadata_snap(bm, &snap, &e)) {
			pd_bm_close(bm);
			return fail(path, &e);
		}
		if (!snap) {
			fprintf(stderr, "changed_blocks: %s: no metadata snapshot is held\n", path);
			pd_bm_close(bm);
			return 1;
		}
	}

	/* 3. The superblock: the era block size, to turn blocks into sectors.
	 *    (The block size is only kept in block 0, not in a snapshot copy.) */
	if (era_sb_read(bm, 0, &sb, &e)) {
		pd_bm_close(bm);
		return fail(path, &e);
	}
	out.block_size = sb.data_block_size;

	/* 4. The set of blocks written in era >= ERA, one bit per block. */
	opts.written_since = (uint32_t)era;
	opts.sb_location = snap;
	if (era_written_since(bm, &opts, &marked, &nr_blocks, &e)) {
		pd_bm_close(bm);
		return fail(path, &e);
	}
	pd_bm_close(bm);

	/* 5. Runs of set bits, in ascending order. */
	printf("# nr_blocks %u block_size %u current_era %u written_since %lu\n", nr_blocks,
	       sb.data_block_size, sb.current_era, era);
	r = era_bit_runs(marked, nr_blocks, print_run, &out);
	free(marked);
	if (r || fflush(stdout)) {
		fprintf(stderr, "changed_blocks: standard output: write error\n");
		return 1;
	}
	return 0;
}
