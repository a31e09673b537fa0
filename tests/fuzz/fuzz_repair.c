/* libFuzzer: era_repair's library call on a mutated image (checksums fixed
 * as in fuzz_walk, but for most input sizes), into a memfd. When the repair commits, its output must
 * check clean (era_check's call: no fatal or non-fatal problem), be
 * digest-safe, and give every block a logical era at least the input's
 * readable one (clamped to the current era, as repair clamps): repair never
 * loses a write. Any broken promise aborts (a finding). */
#include "fuzz_common.h"
#include "../../format/era_check.h"
#include "../../format/era_digest.h"
#include "../../format/era_repair.h"

static int out_fd = -1;
static char out_path[64];

/* The logical era of every block: max(era array entry, eras of writesets
 * marking it), each at most the current era. */
struct logical {
	uint32_t nr_blocks, current_era;
	uint32_t *era;
	int sb_seen;
};

static void lift(struct logical *l, uint64_t b, uint32_t era)
{
	if (era > l->current_era)
		era = l->current_era;
	if (b < l->nr_blocks && era > l->era[b])
		l->era[b] = era;
}

static int lg_sb(void *ctx, const struct era_sb *sb)
{
	struct logical *l = ctx;

	l->nr_blocks = sb->nr_blocks;
	l->current_era = sb->current_era;
	l->era = calloc(sb->nr_blocks ? sb->nr_blocks : 1, 4);
	if (!l->era)
		return -PD_E_NOMEM;
	l->sb_seen = 1;
	return 0;
}

static int lg_ws(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct logical *l = ctx;

	if (ws->era > l->current_era)
		return 0; /* repair drops it: nothing written in it is the device's */
	for (uint64_t b = 0; b < ws->nr_bits && b < l->nr_blocks; b++)
		if ((words[b >> 6] >> (b & 63)) & 1)
			lift(l, b, ws->era);
	return 0;
}

static int lg_era(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	struct logical *l = ctx;

	for (uint32_t i = 0; i < n; i++)
		lift(l, first + i, pd_get32((const unsigned char *)values + 4u * i));
	return 0;
}

/* past every problem: what can be read of the rest counts too */
static int lg_problem(void *ctx, const struct pd_err *r)
{
	(void)ctx;
	(void)r;
	return 0;
}

static int logical_eras(struct pd_bm *bm, struct logical *l)
{
	struct era_visitor v = { .ctx = l, .superblock = lg_sb, .writeset = lg_ws, .era_block = lg_era,
				 .problem = lg_problem };
	struct era_walk_opts o = { 0 };
	struct pd_err e;

	memset(l, 0, sizeof(*l));
	return era_walk(bm, &o, &v, &e);
}

static void check_output(const struct logical *in)
{
	struct era_check_opts co = { 0 };
	struct era_check_result res;
	struct era_digest_result dr;
	struct logical out;
	struct pd_bm *bm;
	struct pd_err e;

	if (pd_bm_open(&bm, out_path, PD_OPEN_RDONLY, 64, &e))
		abort();
	if (era_check_metadata(bm, &co, &res, &e) || !res.sb_ok || res.walk_error || res.nr[ERA_SEV_FATAL] ||
	    res.nr[ERA_SEV_NONFATAL]) {
		fprintf(stderr, "repair output does not check clean: %u fatal, %u non-fatal\n",
			res.nr[ERA_SEV_FATAL], res.nr[ERA_SEV_NONFATAL]);
		abort();
	}
	if (era_digest_check(bm, 0, &dr, &e) || dr.nr_unsafe) {
		fprintf(stderr, "repair output is digest-unsafe (%llu blocks)\n", (unsigned long long)dr.nr_unsafe);
		abort();
	}
	if (logical_eras(bm, &out) || !out.sb_seen || out.nr_blocks != in->nr_blocks ||
	    out.current_era != in->current_era)
		abort();
	for (uint32_t b = 0; b < in->nr_blocks; b++)
		if (out.era[b] < in->era[b]) {
			fprintf(stderr, "repair lost a write: block %u era %u, was %u\n", b, out.era[b], in->era[b]);
			abort();
		}
	free(out.era);
	pd_bm_close(bm);
}

/* Repairs in into an output of `bytes`; returns the repair's result. */
static int repair(struct pd_bm *in, uint64_t bytes, uint64_t *needed)
{
	struct era_repair_opts ro = { 0 };
	struct era_repair_result res;
	struct era_builder *b;
	struct pd_bdev dev;
	struct pd_err e;
	int r;

	if (ftruncate(out_fd, 0) || ftruncate(out_fd, (off_t)bytes))
		abort();
	if (pd_bdev_open(&dev, out_path, PD_OPEN_WRITE, &e))
		abort();
	r = era_build_open(&b, &dev, &e);
	if (!r) {
		r = era_repair_metadata(in, b, &ro, &res, &e);
		*needed = era_build_needed_bytes(b);
		era_build_free(b);
	}
	pd_bdev_close(&dev);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct era_check_opts co = { 0 };
	struct era_check_result res;
	struct logical in;
	struct pd_bm *bm;
	struct pd_err e;
	uint64_t needed = 0;
	int r;

	if (size < 1 || size > (8u << 20))
		return 0;
	if (out_fd < 0) {
		out_fd = memfd_create("era-fuzz-out", MFD_CLOEXEC);
		if (out_fd < 0)
			abort();
		snprintf(out_path, sizeof(out_path), "/proc/self/fd/%d", out_fd);
	}
	/* checksums fixed for most sizes (mutations rarely keep whole blocks),
	 * left wrong for some so that damaged blocks are salvaged too */
	if (fuzz_image_write(data, size, size % 8 != 1))
		return 0;
	if (pd_bm_open(&bm, fuzz_path, PD_OPEN_RDONLY, 16, &e))
		return 0;
	/* a mutated nr_blocks can ask for gigabytes of output: keep it small */
	if (era_check_metadata(bm, &co, &res, &e) || !res.sb_ok || res.sb.nr_blocks > 65536) {
		pd_bm_close(bm);
		return 0;
	}
	/* a walk that stops early still gives a lower bound of what repair keeps */
	logical_eras(bm, &in);
	if (!in.sb_seen) {
		free(in.era);
		pd_bm_close(bm);
		return 0;
	}
	r = repair(bm, 1u << 20, &needed);
	if (r == -PD_E_NOSPC && needed && needed <= (64u << 20)) {
		r = repair(bm, needed, &needed);
		if (r == -PD_E_NOSPC) {
			fprintf(stderr, "repair: no space in an output of the size it asked for\n");
			abort();
		}
	}
	if (!r)
		check_output(&in);
	free(in.era);
	pd_bm_close(bm);
	return 0;
}
