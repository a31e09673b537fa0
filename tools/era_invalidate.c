/* era_invalidate: list the blocks written since an era. Never writes its input. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "../libpd/bm.h"
#include "../xml/era_dump.h"
#include "../xml/era_invalidate.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] --written-since <era> {device|file}\n"
		"List the blocks written since an era (never writes to the metadata).\n"
		"Options:\n"
		"  -h, --help                       Print this help and exit\n"
		"  -q, --quiet                      No messages: only the exit status tells\n"
		"  -V, --version                    Print version information and exit\n"
		"      --written-since ERA          Blocks written in ERA or later\n"
		"  -m, --metadata-snapshot [BLOCK]  Use the metadata snapshot (held or at BLOCK),\n"
		"                                   as for a live target\n"
		"  -o, --output FILE                Write the blocks to FILE instead of stdout\n"
		"      --format {xml|json}          Output format (default xml)\n",
		tool_name());
}

struct json_ctx {
	struct sink *s;
	unsigned n;
};

static int json_run(void *ctx, uint64_t begin, uint64_t end)
{
	struct json_ctx *j = ctx;

	sink_printf(j->s, "%s\n    {\"begin\": %llu, \"end\": %llu}", j->n++ ? "," : "",
		    (unsigned long long)begin, (unsigned long long)end);
	return j->s->err ? -1 : 0;
}

static int write_json(struct pd_bm *bm, const struct era_invalidate_opts *o, struct sink *s, struct pd_err *e)
{
	uint64_t *marked;
	uint32_t nr_blocks;
	struct json_ctx j = { s, 0 };
	int r = era_written_since(bm, o, &marked, &nr_blocks, e);

	if (r)
		return r;
	sink_printf(s, "{\n  \"written_since\": %u,\n  \"nr_blocks\": %u,\n  \"ranges\": [", o->written_since,
		    nr_blocks);
	era_bit_runs(marked, nr_blocks, json_run, &j);
	sink_printf(s, "%s]\n}\n", j.n ? "\n  " : "");
	free(marked);
	return sink_flush(s) ? pd_fail(e, PD_E_IO, PD_NO_BLOCK, "write error") : 0;
}

static int run(int argc, char **argv, int *json);

/* With --format json a failed run still prints one JSON object (on standard
 * output; an -o file is removed as on any failure), so a job that redirects
 * it never reads an empty file. */
int main(int argc, char **argv)
{
	int json = tool_json_requested(argc, argv);
	int status = run(argc, argv, &json);

	if (json && status != EXIT_OK && status != EXIT_PIPE) {
		printf("{\n  \"error\": ");
		tool_json_str(tool_last_error());
		printf(",\n  \"exit_status\": %d\n}\n", status);
		fflush(stdout);
	}
	return status;
}

static int run(int argc, char **argv, int *json_p)
{
	enum { OPT_SINCE = 256, OPT_FORMAT };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "written-since", required_argument, NULL, OPT_SINCE },
		{ "metadata-snapshot", optional_argument, NULL, 'm' },
		{ "metadata-snap", optional_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ 0 },
	};
	struct era_invalidate_opts o = { 0 };
	const char *in, *out_path = NULL;
	unsigned long long snap = 0, since = 0;
	int use_snap = 0, have_since = 0, json = 0, opt, fd, r;
	struct pd_bm *bm;
	struct pd_err e;
	struct sink s;

	tool_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "hqVm::o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'q':
			tool_quiet();
			break;
		case 'V':
			tool_version();
			return EXIT_OK;
		case OPT_SINCE:
			if (tool_parse_u64(optarg, UINT32_MAX, &since)) {
				tool_error("bad era '%s' for --written-since", optarg);
				return EXIT_USAGE;
			}
			have_since = 1;
			break;
		case 'm':
			use_snap = 1;
			if (tool_snapshot_option(argc, argv, optarg, &snap))
				return EXIT_USAGE;
			break;
		case 'o':
			out_path = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				json = *json_p = 1;
			else if (!strcmp(optarg, "xml"))
				json = *json_p = 0;
			else {
				tool_error("unknown format '%s' (xml or json)", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			usage(stderr);
			if (*json_p) /* getopt said what; the object needs it too */
				tool_error("bad command line at '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!have_since) {
		tool_error("--written-since is required");
		usage(stderr);
		return EXIT_USAGE;
	}
	in = tool_single_input(argc, argv, usage);
	if (!in)
		return EXIT_USAGE;
	r = tool_open_source(&bm, in, use_snap, &snap);
	if (r)
		return r;
	o.written_since = (uint32_t)since;
	o.sb_location = snap;
	fd = tool_open_output(in, out_path);
	if (fd < 0 || sink_init(&s, fd)) {
		pd_bm_close(bm);
		if (fd >= 0) {
			tool_error("out of memory");
			tool_discard_output(out_path);
		}
		return fd < 0 ? -fd : EXIT_FAIL;
	}
	r = json ? write_json(bm, &o, &s, &e) : era_invalidate(bm, &o, &s, &e);
	pd_bm_close(bm);
	return tool_finish_output(&s, fd, out_path, in, r, &e);
}
