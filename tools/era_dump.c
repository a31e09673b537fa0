/* era_dump: write dm-era metadata as XML. Never writes its input. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "../libpd/bm.h"
#include "../xml/era_dump.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] {device|file}\n"
		"Options:\n"
		"  -h, --help                  Print this help and exit\n"
		"  -V, --version               Print version information and exit\n"
		"      --logical               Fold any unprocessed write sets into the final era array\n"
		"  -r, --repair                Repair the metadata whilst dumping it\n"
		"  -m, --metadata-snap [BLOCK] Dump the metadata snapshot (held, or at BLOCK)\n"
		"  -o, --output FILE           Write the dump to FILE instead of stdout\n",
		tool_name());
}

static void report(void *ctx, const struct era_report *r)
{
	const char *path = ctx;

	if (r->block != PD_NO_BLOCK)
		tool_error("%s: block %llu: %s", path, (unsigned long long)r->block, r->detail);
	else
		tool_error("%s: %s", path, r->detail);
}

int main(int argc, char **argv)
{
	enum { OPT_LOGICAL = 256 };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "logical", no_argument, NULL, OPT_LOGICAL },
		{ "repair", no_argument, NULL, 'r' },
		{ "metadata-snap", optional_argument, NULL, 'm' },
		{ "metadata-snapshot", optional_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct era_dump_opts o = { 0 };
	const char *in, *out_path = NULL;
	unsigned long long snap = 0;
	int use_snap = 0, opt, fd, r;
	struct pd_bm *bm;
	struct pd_err e;
	struct sink s;

	tool_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "hVrm::o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			tool_version();
			return EXIT_OK;
		case OPT_LOGICAL:
			o.logical = 1;
			break;
		case 'r':
			o.repair = 1;
			break;
		case 'm':
			use_snap = 1;
			if (optarg && tool_parse_u64(optarg, ~0ull, &snap)) {
				tool_error("bad metadata snapshot block '%s'", optarg);
				return EXIT_FAIL;
			}
			if (!optarg)
				tool_optional_number(argc, argv, &optind, &snap);
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			usage(stderr);
			return EXIT_FAIL;
		}
	}
	if (optind + 1 != argc) {
		tool_error(optind >= argc ? "no input file given" : "too many arguments");
		usage(stderr);
		return EXIT_FAIL;
	}
	in = argv[optind];
	if (tool_open_metadata(&bm, in, use_snap ? PD_OPEN_DIRECT : PD_OPEN_RDONLY))
		return EXIT_FAIL;
	if (use_snap && !snap) {
		uint64_t held;
		if (era_metadata_snap(bm, &held, &e)) {
			tool_pd_error(in, &e);
			pd_bm_close(bm);
			return EXIT_FAIL;
		}
		if (!held) {
			tool_error("%s: no metadata snapshot is held", in);
			pd_bm_close(bm);
			return EXIT_FAIL;
		}
		snap = held;
	}
	o.sb_location = snap;
	o.report = report;
	o.ctx = (void *)in;
	fd = tool_open_output(in, out_path);
	if (fd < 0 || sink_init(&s, fd)) {
		pd_bm_close(bm);
		return EXIT_FAIL;
	}
	r = era_dump(bm, &o, &s, &e);
	pd_bm_close(bm);
	if (r && s.err == EPIPE) {
		sink_free(&s);
		return EXIT_PIPE;
	}
	if (r) {
		if (s.err)
			tool_error("%s: %s", out_path ? out_path : "standard output", strerror(s.err));
		else
			tool_pd_error(in, &e);
		tool_discard_output(out_path);
	} else if (fd != STDOUT_FILENO && (fsync(fd) < 0 && errno != EINVAL)) {
		tool_error("%s: %s", out_path, strerror(errno));
		r = -1;
	}
	if (fd != STDOUT_FILENO && close(fd) < 0 && !r) {
		tool_error("%s: %s", out_path, strerror(errno));
		r = -1;
	}
	sink_free(&s);
	return r ? EXIT_FAIL : EXIT_OK;
}
