/* era_invalidate: list the blocks written since an era. Never writes its input. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "../libpd/bm.h"
#include "../format/cache_inval.h"
#include "../format/era_since.h"
#include "../xml/era_dump.h"
#include "../xml/era_emit.h"
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
		"      --format {xml|json|cblocks}  Output format (default xml; cblocks: the\n"
		"                                   arguments of dmsetup message CACHE 0\n"
		"                                   invalidate_cblocks)\n"
		"      --cache-metadata CACHE_META  List the blocks of this dm-cache (live, in\n"
		"                                   passthrough) holding data written since ERA\n",
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
	return j->s->err ? -PD_E_IO : 0;
}

/* What the superblock read tells the caller beyond the blocks. */
struct inval_info {
	uint32_t block_size;          /* sectors per listed block */
	uint32_t next_written_since;
};

static int write_json(struct pd_bm *bm, const struct era_invalidate_opts *o, const struct inval_info *info,
		      struct sink *s, struct pd_err *e)
{
	uint64_t *marked;
	uint32_t nr_blocks;
	struct json_ctx j = { s, 0 };
	int r = era_written_since(bm, o, &marked, &nr_blocks, e);

	if (r)
		return r;
	sink_printf(s, "{\n  \"written_since\": %u,\n  \"nr_blocks\": %u,\n  \"block_size\": %u,\n"
		    "  \"next_written_since\": %u,\n  \"ranges\": [", o->written_since, nr_blocks, info->block_size,
		    info->next_written_since);
	era_bit_runs(marked, nr_blocks, json_run, &j);
	sink_printf(s, "%s]\n}\n", j.n ? "\n  " : "");
	free(marked);
	return sink_flush(s) ? pd_fail(e, PD_E_IO, PD_NO_BLOCK, "write error") : 0;
}

/* --cache-metadata: era blocks written since E become cache blocks. */
#define CBLOCKS_LINE_MAX 4000 /* bytes of arguments per message: well inside one ioctl buffer */

struct cache_out {
	struct sink *s;
	int format;                   /* FMT_XML, FMT_JSON, FMT_CBLOCKS */
	unsigned n;                   /* runs written */
	size_t line;                  /* bytes on the current cblocks line */
};

enum { FMT_XML, FMT_JSON, FMT_CBLOCKS };

static int cache_run(void *ctx, uint64_t begin, uint64_t end)
{
	struct cache_out *c = ctx;
	char arg[48];
	int len;

	switch (c->format) {
	case FMT_XML:
		era_xml_blocks_run(c->s, begin, end);
		break;
	case FMT_JSON:
		json_run(&(struct json_ctx){ c->s, c->n }, begin, end);
		break;
	default:
		/* invalidate_cblocks: B or B-E, E exclusive */
		len = end - begin == 1 ? snprintf(arg, sizeof(arg), "%llu", (unsigned long long)begin)
				       : snprintf(arg, sizeof(arg), "%llu-%llu", (unsigned long long)begin,
						  (unsigned long long)end);
		if (c->line && c->line + 1 + (size_t)len > CBLOCKS_LINE_MAX) {
			sink_printf(c->s, "\n");
			c->line = 0;
		}
		sink_printf(c->s, "%s%s", c->line ? " " : "", arg);
		c->line += (c->line ? 1 : 0) + (size_t)len;
	}
	c->n++;
	return c->s->err ? -PD_E_IO : 0;
}

/* Returns 0, or -code with e filled; *which says whose metadata failed. */
static int write_cache(struct pd_bm *bm, const char *cache_path, const struct era_invalidate_opts *o,
		       const struct inval_info *info, int format, struct sink *s, const char **which,
		       struct pd_err *e)
{
	struct cache_inval_out co;
	struct cache_out c = { s, format, 0, 0 };
	struct pd_bm *cbm;
	uint64_t *marked;
	uint32_t nr_blocks;
	int r = era_written_since(bm, o, &marked, &nr_blocks, e);

	if (r)
		return r;
	/* The kernel holds the cache metadata open (no O_EXCL) and may have
	 * written blocks the page cache holds stale copies of (O_DIRECT). */
	r = pd_bm_open(&cbm, cache_path, PD_OPEN_DIRECT, PD_BM_DEFAULT_CACHE, e);
	if (r)
		r = pd_bm_open(&cbm, cache_path, PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, e);
	if (!r) {
		struct cache_inval_in ci = {
			.era_marked = marked, .era_nr_blocks = nr_blocks,
			.era_block_size = info->block_size, .max_attempts = 10,
		};
		r = cache_invalidation(cbm, &ci, &co, e);
		pd_bm_close(cbm);
	}
	free(marked);
	if (r) {
		*which = cache_path;
		return r;
	}
	if (format == FMT_XML)
		era_xml_blocks_begin(s);
	else if (format == FMT_JSON)
		sink_printf(s, "{\n  \"written_since\": %u,\n  \"nr_blocks\": %u,\n  \"block_size\": %u,\n"
			    "  \"next_written_since\": %u,\n  \"cache_metadata_version\": %u,\n"
			    "  \"era_block_size\": %u,\n  \"mapped\": %llu,\n  \"invalidate\": %llu,\n"
			    "  \"reads\": %u,\n  \"ranges\": [", o->written_since, co.nr_cblocks, co.cache_block_size,
			    info->next_written_since, co.version, info->block_size,
			    (unsigned long long)co.nr_mapped, (unsigned long long)co.nr_marked, co.attempts);
	era_bit_runs(co.marked, co.nr_cblocks, cache_run, &c);
	if (format == FMT_XML)
		era_xml_blocks_end(s);
	else if (format == FMT_JSON)
		sink_printf(s, "%s]\n}\n", c.n ? "\n  " : "");
	else if (c.line)
		sink_printf(s, "\n");
	free(co.marked);
	return sink_flush(s) ? pd_fail(e, PD_E_IO, PD_NO_BLOCK, "write error") : 0;
}

/* The era metadata read (live superblock or snapshot): --written-since past
 * its next era cannot be a real increment (a recreated or wrong device). */
static int read_info(struct pd_bm *bm, const char *in, const struct era_invalidate_opts *o,
		     struct inval_info *info)
{
	struct era_sb sb;
	struct pd_err e;

	if (era_sb_read(bm, o->sb_location, &sb, &e))
		return 0; /* the walk reports it */
	info->block_size = sb.data_block_size;
	/* take_metadata_snap rolls the era over before copying the superblock:
	 * the snapshot's current_era is N + 1, and a write in flight then was
	 * marked in era N (the era current before the snapshot). The next
	 * increment must include era N. Metadata read offline has no write in
	 * flight: its current era is where the next writes are recorded. */
	info->next_written_since = o->sb_location && sb.current_era ? sb.current_era - 1 : sb.current_era;
	if ((uint64_t)o->written_since > (uint64_t)sb.current_era + 1) {
		tool_error("%s: --written-since %u is ahead of the metadata, whose current era is %u "
			   "(at most %llu makes sense): wrong or recreated metadata device?",
			   in, o->written_since, sb.current_era, (unsigned long long)sb.current_era + 1);
		return -1;
	}
	return 0;
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
	enum { OPT_SINCE = 256, OPT_FORMAT, OPT_CACHE };
	static const struct option opts[] = {
		TOOL_COMMON_LONG_OPTIONS,
		{ "written-since", required_argument, NULL, OPT_SINCE },
		{ "metadata-snapshot", optional_argument, NULL, 'm' },
		{ "metadata-snap", optional_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "cache-metadata", required_argument, NULL, OPT_CACHE },
		{ 0 },
	};
	struct tool_cmdline cl = { .usage = usage };
	struct era_invalidate_opts o = { 0 };
	const char *in, *cache_path = NULL, *which;
	struct inval_info info = { 0 };
	unsigned long long since = 0;
	int have_since = 0, format = FMT_XML, opt, fd, r;
	struct pd_bm *bm;
	struct pd_err e;
	struct sink s;

	tool_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "hqVm::o:", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SINCE:
			if (tool_parse_u64(optarg, UINT32_MAX, &since)) {
				tool_error("bad era '%s' for --written-since", optarg);
				return EXIT_USAGE;
			}
			have_since = 1;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				format = FMT_JSON;
			else if (!strcmp(optarg, "cblocks"))
				format = FMT_CBLOCKS;
			else if (!strcmp(optarg, "xml"))
				format = FMT_XML;
			else {
				tool_error("unknown format '%s' (xml, json or cblocks)", optarg);
				return EXIT_USAGE;
			}
			*json_p = format == FMT_JSON;
			break;
		case OPT_CACHE:
			cache_path = optarg;
			break;
		default:
			cl.json = *json_p;
			r = tool_common_option(&cl, opt, argc, argv);
			if (r >= 0)
				return r;
		}
	}
	if (!have_since) {
		tool_error("--written-since is required");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (format == FMT_CBLOCKS && !cache_path) {
		tool_error("--format cblocks needs --cache-metadata");
		return EXIT_USAGE;
	}
	r = tool_open_source(&cl, argc, argv, &bm, &in);
	if (r)
		return r;
	o.written_since = (uint32_t)since;
	o.sb_location = cl.snap;
	if (read_info(bm, in, &o, &info)) {
		pd_bm_close(bm);
		return EXIT_ERA_AHEAD;
	}
	r = tool_open_sink(in, cl.out_path, bm, &s, &fd);
	if (r)
		return r;
	which = in;
	if (cache_path)
		r = write_cache(bm, cache_path, &o, &info, format, &s, &which, &e);
	else
		r = format == FMT_JSON ? write_json(bm, &o, &info, &s, &e) : era_invalidate(bm, &o, &s, &e);
	pd_bm_close(bm);
	return tool_finish_output(&s, fd, cl.out_path, which, r, &e);
}
