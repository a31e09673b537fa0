/* era_check: validate dm-era metadata. Never writes its input. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "../format/era_check.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] {device|file}\n"
		"Options:\n"
		"  -h, --help                  Print this help and exit\n"
		"  -q, --quiet                 Suppress output messages, return only exit code\n"
		"  -V, --version               Print version information and exit\n"
		"      --super-block-only      Only check the superblock\n"
		"      --ignore-non-fatal-errors\n"
		"                              Only return a non-zero exit code if a fatal error is found\n"
		"      --format {text|json}    How findings are printed (default text)\n"
		"  -v, --verbose               Also say how full the metadata device is\n",
		tool_name());
}

struct ctx {
	const char *path;
	int quiet;
	int json;
	unsigned nr_json;
};

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void report(void *p, const struct era_report *r)
{
	struct ctx *c = p;
	const struct era_problem_def *pi = era_problem_info(r->id);

	if (c->quiet)
		return;
	if (c->json) {
		printf("%s\n    {\"id\": ", c->nr_json++ ? "," : "");
		json_str(pi->tag);
		printf(", \"severity\": ");
		json_str(era_severity_name(pi->severity));
		if (r->block != PD_NO_BLOCK)
			printf(", \"block\": %llu", (unsigned long long)r->block);
		else
			printf(", \"block\": null");
		printf(", \"message\": ");
		json_str(r->detail);
		printf("}");
		return;
	}
	if (r->block != PD_NO_BLOCK)
		fprintf(stderr, "%s: %s: %s: block %llu: %s\n", tool_name(), c->path,
			era_severity_name(pi->severity), (unsigned long long)r->block, r->detail);
	else
		fprintf(stderr, "%s: %s: %s: %s\n", tool_name(), c->path, era_severity_name(pi->severity),
			r->detail);
}

int main(int argc, char **argv)
{
	enum { OPT_SB_ONLY = 256, OPT_IGNORE_NONFATAL, OPT_FORMAT };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "super-block-only", no_argument, NULL, OPT_SB_ONLY },
		{ "ignore-non-fatal-errors", no_argument, NULL, OPT_IGNORE_NONFATAL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	struct ctx c = { 0 };
	struct era_check_opts co = { .report = report, .ctx = &c };
	struct era_check_result res;
	struct pd_bm *bm;
	struct pd_err e;
	int ignore_nonfatal = 0, verbose = 0, opt, failed;

	tool_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "hqVv", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'q':
			c.quiet = 1;
			break;
		case 'V':
			tool_version();
			return EXIT_OK;
		case 'v':
			verbose = 1;
			break;
		case OPT_SB_ONLY:
			co.super_block_only = 1;
			break;
		case OPT_IGNORE_NONFATAL:
			ignore_nonfatal = 1;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				c.json = 1;
			else if (strcmp(optarg, "text")) {
				tool_error("unknown format '%s' (text or json)", optarg);
				return EXIT_FAIL;
			}
			break;
		default:
			usage(stderr);
			return EXIT_FAIL;
		}
	}
	c.path = tool_single_input(argc, argv, usage);
	if (!c.path)
		return EXIT_FAIL;
	if (pd_bm_open(&bm, c.path, PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, &e)) {
		if (!c.quiet)
			tool_pd_error(c.path, &e);
		return EXIT_FAIL;
	}
	if (c.json && !c.quiet)
		printf("{\n  \"file\": \"%s\",\n  \"problems\": [", c.path);
	if (era_check_metadata(bm, &co, &res, &e)) {
		if (!c.quiet)
			tool_pd_error(c.path, &e);
		pd_bm_close(bm);
		return EXIT_FAIL;
	}
	pd_bm_close(bm);
	failed = res.nr[ERA_SEV_FATAL] || (!ignore_nonfatal && res.nr[ERA_SEV_NONFATAL]);
	if (c.json && !c.quiet) {
		printf("%s  ],\n", c.nr_json ? "\n" : "");
		if (res.sb_ok)
			printf("  \"superblock\": {\"nr_blocks\": %u, \"current_era\": %u, \"data_block_size\": %u, "
			       "\"metadata_snap\": %llu},\n",
			       res.sb.nr_blocks, res.sb.current_era, res.sb.data_block_size,
			       (unsigned long long)res.sb.metadata_snap);
		/* A full metadata device stops dm-era recording writes: monitoring
		 * needs used and total (the space map's, as dmsetup status shows). */
		if (res.sb_ok)
			printf("  \"metadata_blocks\": {\"used\": %llu, \"total\": %llu},\n",
			       (unsigned long long)res.sb.sm.nr_allocated, (unsigned long long)res.sb.sm.nr_blocks);
		printf("  \"errors\": %u,\n  \"non_fatal_errors\": %u,\n  \"notes\": %u,\n  \"clean\": %s\n}\n",
		       res.nr[ERA_SEV_FATAL], res.nr[ERA_SEV_NONFATAL], res.nr[ERA_SEV_INFO],
		       failed ? "false" : "true");
	}
	if (verbose && !c.json && !c.quiet && res.sb_ok)
		printf("%s: metadata blocks used %llu of %llu (%.1f%%)\n", c.path,
		       (unsigned long long)res.sb.sm.nr_allocated, (unsigned long long)res.sb.sm.nr_blocks,
		       res.sb.sm.nr_blocks ? 100.0 * (double)res.sb.sm.nr_allocated / (double)res.sb.sm.nr_blocks : 0.0);
	return failed ? EXIT_FAIL : EXIT_OK;
}
