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
		"Write dm-era metadata as XML (never writes to the metadata).\n"
		"Options:\n"
		"  -h, --help                       Print this help and exit\n"
		"  -q, --quiet                      No messages: only the exit status tells\n"
		"  -V, --version                    Print version information and exit\n"
		"      --logical                    Fold the writesets into the era array\n"
		"  -r, --repair                     Tolerate damage: skip what cannot be read\n"
		"                                   and go on (changes nothing; see era_repair)\n"
		"  -m, --metadata-snapshot [BLOCK]  Dump the metadata snapshot (held or at BLOCK)\n"
		"  -o, --output FILE                Write the dump to FILE instead of stdout\n",
		tool_name());
}

static void report(void *ctx, const struct pd_err *r)
{
	const char *path = ctx;

	if (r->block != PD_NO_BLOCK)
		tool_error("%s: block %llu: %s", path, (unsigned long long)r->block, r->msg);
	else
		tool_error("%s: %s", path, r->msg);
}

/* On a terminal only: where the dump is, overwritten in place. */
static void progress(void *ctx, const char *part, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (total)
		fprintf(stderr, "\r%s: %s %3llu%%", tool_name(), part, (unsigned long long)(done * 100 / total));
	else
		fprintf(stderr, "\r%s: %s     ", tool_name(), part);
}

int main(int argc, char **argv)
{
	enum { OPT_LOGICAL = 256 };
	static const struct option opts[] = {
		TOOL_COMMON_LONG_OPTIONS,
		{ "logical", no_argument, NULL, OPT_LOGICAL },
		{ "repair", no_argument, NULL, 'r' },
		{ "metadata-snap", optional_argument, NULL, 'm' },
		{ "metadata-snapshot", optional_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct tool_cmdline cl = { .usage = usage };
	struct era_dump_opts o = { 0 };
	const char *in;
	int opt, fd, r;
	struct pd_bm *bm;
	struct pd_err e;
	struct sink s;

	tool_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "hqVrm::o:", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_LOGICAL:
			o.logical = 1;
			break;
		case 'r':
			o.repair = 1;
			break;
		default:
			r = tool_common_option(&cl, opt, argc, argv);
			if (r >= 0)
				return r;
		}
	}
	r = tool_open_source(&cl, argc, argv, &bm, &in);
	if (r)
		return r;
	o.sb_location = cl.snap;
	o.report = report;

	o.ctx = (void *)in;
	r = tool_open_sink(in, cl.out_path, bm, &s, &fd);
	if (r)
		return r;
	if (isatty(STDERR_FILENO) && !isatty(fd))
		o.progress = progress;
	r = era_dump(bm, &o, &s, &e);
	if (o.progress)
		fputs("\r\033[K", stderr);
	pd_bm_close(bm);
	return tool_finish_output(&s, fd, cl.out_path, in, r, &e);
}
