/* libFuzzer: a whole metadata image through every reader: era_check's walk
 * (with the space map), era_dump (plain, --logical, --repair, the held
 * snapshot) and era_invalidate. Input = the image; when its size is a whole
 * number of blocks, checksums are fixed first so the readers see the
 * mutations, otherwise they are left as they are. */
#include "fuzz_common.h"
#include "../../format/era_check.h"
#include "../../xml/era_dump.h"
#include "../../xml/era_invalidate.h"

static struct sink out;
static int devnull = -1;

static void run_dump(struct pd_bm *bm, uint64_t loc, int logical, int repair)
{
	struct era_dump_opts o = { .sb_location = loc, .logical = logical, .repair = repair };
	struct pd_err e;

	out.err = 0;
	out.len = 0;
	era_dump(bm, &o, &out, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct era_check_opts co = { 0 };
	struct era_check_result res;
	struct era_invalidate_opts io = { 0 };
	struct pd_bm *bm;
	struct pd_err e;
	uint64_t snap = 0;

	if (size < 1 || size > (8u << 20))
		return 0;
	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull < 0 || sink_init(&out, devnull))
			abort();
	}
	if (fuzz_image_write(data, size, size % PD_BLOCK_SIZE == 0))
		return 0;
	/* a small cache, so eviction and pinning are exercised too */
	if (pd_bm_open(&bm, fuzz_path, PD_OPEN_RDONLY, 16, &e))
		return 0;
	era_check_metadata(bm, &co, &res, &e);
	/* The XML emitter is tested elsewhere; a mutated nr_blocks can make a
	 * dump millions of lines, so dump only small devices and keep the
	 * executions fast enough for coverage to grow. */
	if (res.sb_ok && res.sb.nr_blocks <= 8192) {
		run_dump(bm, 0, 0, 0);
		run_dump(bm, 0, 1, 0);
		run_dump(bm, 0, 0, 1);
		if (!era_metadata_snap(bm, &snap, &e) && snap)
			run_dump(bm, snap, 0, 0);
	}
	out.err = 0;
	out.len = 0;
	era_invalidate(bm, &io, &out, &e);
	if (res.sb_ok && res.sb.current_era) {
		io.written_since = res.sb.current_era;
		out.err = 0;
		out.len = 0;
		era_invalidate(bm, &io, &out, &e);
	}
	pd_bm_close(bm);
	return 0;
}
