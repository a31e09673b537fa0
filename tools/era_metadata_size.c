/* era_metadata_size: how big a metadata device an era target needs.
 * The computation is format/era_size.c; this file parses options. */
#include <getopt.h>
#include <stdint.h>
#include <string.h>
#include "common.h"
#include "../format/era_size.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] {-n N | -s SIZE -b SIZE}\n"
		"Print the metadata device size an era target needs.\n"
		"Options:\n"
		"  -h, --help                       Print this help and exit\n"
		"  -q, --quiet                      No messages: only the exit status tells\n"
		"  -V, --version                    Print version information and exit\n"
		"  -n, --nr-blocks N                Number of origin blocks the target tracks\n"
		"  -s, --device-size SIZE           Size of the origin device\n"
		"  -b, --block-size SIZE            Era block size (a power of two, at least\n"
		"                                   8 sectors)\n"
		"  -w, --writesets K                Archived writesets awaiting digestion to\n"
		"                                   allow for (default %u)\n"
		"      --no-metadata-snapshot       Leave out room for a held metadata snapshot\n"
		"  -u, --unit {b|s|k|m|g}           Unit of the result: bytes, sectors, KiB,\n"
		"                                   MiB, GiB (default s, rounded up)\n"
		"\n"
		"SIZE is a number with an optional suffix b, s, k, m, g, t or p (bytes,\n"
		"512-byte sectors, powers of 1024); a number without a suffix is in sectors.\n",
		tool_name(), ERA_SIZE_DEFAULT_WRITESETS);
}

int main(int argc, char **argv)
{
	enum { OPT_NO_SNAP = 256 };
	static const struct option opts[] = {
		TOOL_COMMON_LONG_OPTIONS,
		{ "nr-blocks", required_argument, NULL, 'n' },
		{ "device-size", required_argument, NULL, 's' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "writesets", required_argument, NULL, 'w' },
		{ "no-metadata-snapshot", no_argument, NULL, OPT_NO_SNAP },
		{ "unit", required_argument, NULL, 'u' },
		{ 0 },
	};
	struct era_size_opts o = { .nr_writesets = ERA_SIZE_DEFAULT_WRITESETS };
	unsigned long long nr = 0, ws;
	uint64_t dev = 0, bs = 0, unit = 512, result;
	int have_nr = 0, have_dev = 0, have_bs = 0, opt, r;
	struct tool_cmdline cl = { .usage = usage };
	struct era_size s;
	struct pd_err e;

	tool_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "hqVn:s:b:w:u:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (tool_parse_u64(optarg, ~0ull, &nr) || !nr) {
				tool_error("bad number of blocks '%s' (1 to %u)", optarg, ERA_MAX_NR_BLOCKS);
				return EXIT_USAGE;
			}
			have_nr = 1;
			break;
		case 's':
			if (era_parse_size(optarg, &dev) || !dev) {
				tool_error("bad device size '%s'", optarg);
				return EXIT_USAGE;
			}
			have_dev = 1;
			break;
		case 'b':
			if (era_parse_size(optarg, &bs) || bs % 512 || bs / 512 < 8 || (bs & (bs - 1))) {
				tool_error("bad block size '%s' (a power of two, at least 8 sectors)", optarg);
				return EXIT_USAGE;
			}
			have_bs = 1;
			break;
		case 'w':
			if (tool_parse_u64(optarg, ERA_SIZE_MAX_WRITESETS, &ws)) {
				tool_error("bad number of writesets '%s' (0 to %u)", optarg, ERA_SIZE_MAX_WRITESETS);
				return EXIT_USAGE;
			}
			o.nr_writesets = (uint32_t)ws;
			break;
		case OPT_NO_SNAP:
			o.no_snapshot = 1;
			break;
		case 'u':
			if (strlen(optarg) != 1 || !strchr("bskmgBSKMG", optarg[0])) {
				tool_error("unknown unit '%s' (b, s, k, m or g)", optarg);
				return EXIT_USAGE;
			}
			switch (optarg[0] | 0x20) {
			case 'b': unit = 1; break;
			case 's': unit = 512; break;
			case 'k': unit = 1u << 10; break;
			case 'm': unit = 1u << 20; break;
			case 'g': unit = 1u << 30; break;
			}
			break;
		default:
			r = tool_common_option(&cl, opt, argc, argv);
			if (r >= 0)
				return r;
		}
	}
	if (optind != argc) {
		tool_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (have_nr == (have_dev || have_bs) || have_dev != have_bs) {
		tool_error("give either --nr-blocks, or --device-size and --block-size");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (have_dev) {
		nr = dev / bs + (dev % bs != 0);
		if (nr > ERA_MAX_NR_BLOCKS) {
			tool_error("%llu blocks: %s (use a larger block size)", nr, ERA_MAX_NR_BLOCKS_WHY);
			return EXIT_USAGE;
		}
	}
	o.nr_blocks = nr;
	if (era_metadata_size(&o, &s, &e)) {
		tool_error("%s", e.msg);
		return EXIT_USAGE;
	}
	result = s.total_bytes / unit + (s.total_bytes % unit != 0);
	printf("%llu\n", (unsigned long long)result);
	return tool_flush_stdout();
}
