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
		"Validate dm-era metadata (never writes to it).\n"
		"Options:\n"
		"  -h, --help                       Print this help and exit\n"
		"  -q, --quiet                      No messages: only the exit status tells\n"
		"  -V, --version                    Print version information and exit\n"
		"      --super-block-only           Only check the superblock\n"
		"      --ignore-non-fatal-errors    Exit 0 when only non-fatal errors are found\n"
		"      --format {text|json}         How findings are printed (default text)\n"
		"  -v, --verbose                    Also say how full the metadata device is\n",
		tool_name());
}

struct ctx {
	const char *path;
	int quiet;
	int json;
	unsigned nr_json;
	enum era_next_step worst; /* the most drastic next step of the findings */
};

static void report(void *p, const struct pd_err *r)
{
	struct ctx *c = p;
	const struct era_problem_def *pi = era_problem_info(r->problem);
	char msg[sizeof(r->msg) + 160], sbuf[64];

	if (pi->next > c->worst)
		c->worst = pi->next;
	if (c->quiet)
		return;
	if (c->json) {
		printf("%s\n    {\"id\": ", c->nr_json++ ? "," : "");
		tool_json_str(pi->tag);
		printf(", \"severity\": ");
		tool_json_str(era_severity_name(pi->severity));
		if (r->block != PD_NO_BLOCK)
			printf(", \"block\": %llu", (unsigned long long)r->block);
		else
			printf(", \"block\": null");
		printf(", \"structure\": ");
		tool_json_str(era_report_structure(r, sbuf, sizeof(sbuf)));
		if (r->data_end > r->data_begin)
			printf(", \"origin_blocks\": {\"begin\": %llu, \"end\": %llu}",
			       (unsigned long long)r->data_begin, (unsigned long long)r->data_end);
		printf(", \"message\": ");
		tool_json_str(r->msg);
		printf("}");
		return;
	}
	tool_describe(r, msg, sizeof(msg));
	if (r->block != PD_NO_BLOCK)
		fprintf(stderr, "%s: %s: %s: block %llu: %s\n", tool_name(), c->path,
			era_severity_name(pi->severity), (unsigned long long)r->block, msg);
	else
		fprintf(stderr, "%s: %s: %s: %s\n", tool_name(), c->path, era_severity_name(pi->severity), msg);
}

/* What to do about what was found (NULL when clean): the most drastic next
 * step of the registry's among the findings, at least what the status says. */
static const char *next_step(const struct ctx *c, int status, char *buf, size_t size)
{
	enum era_next_step step = status == EXIT_DAMAGE ? ERA_NEXT_REPAIR : ERA_NEXT_REPAIR_OPTIONAL;

	if (status == EXIT_OK)
		return NULL;
	if (c->worst > step)
		step = c->worst;
	return era_next_step_text(step, c->path, buf, (unsigned)size);
}

/* The end of a failed run's JSON object: the message and the status. */
static void json_error_end(const char *msg, int status)
{
	printf("  \"error\": ");
	tool_json_str(msg);
	printf(",\n  \"exit_status\": %d,\n  \"clean\": false\n}\n", status);
}

/* With --format json every run prints one JSON object, also when it fails
 * before the check: a monitoring job that redirects it never gets an empty
 * or half-written file. This is the object of a run that found nothing to
 * report: why, and its status. */
static int json_failure(const struct ctx *c, int status)
{
	if (c->json && !c->quiet) {
		printf("{\n  \"file\": ");
		if (c->path)
			tool_json_str(c->path);
		else
			printf("null");
		printf(",\n");
		json_error_end(tool_last_error(), status);
	}
	return status;
}

int main(int argc, char **argv)
{
	enum { OPT_SB_ONLY = 256, OPT_IGNORE_NONFATAL, OPT_FORMAT };
	static const struct option opts[] = {
		TOOL_COMMON_LONG_OPTIONS,
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
	int ignore_nonfatal = 0, verbose = 0, opt, status, flushed;
	char hint_buf[512];
	const char *hint;

	tool_init(argv[0]);
	c.json = tool_json_requested(argc, argv);
	while ((opt = getopt_long(argc, argv, "hqVv", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
		case 'V':
			return tool_help_or_version(opt, usage);
		case 'q':
			c.quiet = 1;
			break;
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
				return json_failure(&c, EXIT_USAGE);
			}
			break;
		default:
			return json_failure(&c, tool_bad_option(argv, usage, c.json));
		}
	}
	c.path = tool_single_input(argc, argv, usage);
	if (!c.path)
		return json_failure(&c, EXIT_USAGE);
	if (pd_bm_open(&bm, c.path, PD_OPEN_RDONLY, PD_BM_DEFAULT_CACHE, &e)) {
		if (!c.quiet)
			tool_pd_error(c.path, &e);
		return json_failure(&c, EXIT_IO);
	}
	if (c.json && !c.quiet) {
		printf("{\n  \"file\": ");
		tool_json_str(c.path);
		printf(",\n  \"problems\": [");
	}
	if (era_check_metadata(bm, &co, &res, &e)) {
		/* out of memory: the check could not finish; close the object */
		if (!c.quiet)
			tool_pd_error(c.path, &e);
		pd_bm_close(bm);
		if (c.json && !c.quiet) {
			printf("%s  ],\n", c.nr_json ? "\n" : "");
			json_error_end(e.msg, EXIT_FAIL);
		}
		return EXIT_FAIL;
	}
	pd_bm_close(bm);
	status = res.nr[ERA_SEV_FATAL] ? EXIT_DAMAGE
		 : res.nr[ERA_SEV_NONFATAL] && !ignore_nonfatal ? EXIT_NONFATAL : EXIT_OK;
	hint = next_step(&c, status, hint_buf, sizeof(hint_buf));
	if (hint && !c.json && !c.quiet)
		tool_error("%s: %s", c.path, hint);
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
		if (hint) {
			printf("  \"next_step\": ");
			tool_json_str(hint);
			printf(",\n");
		}
		printf("  \"errors\": %u,\n  \"non_fatal_errors\": %u,\n  \"notes\": %u,\n  \"clean\": %s\n}\n",
		       res.nr[ERA_SEV_FATAL], res.nr[ERA_SEV_NONFATAL], res.nr[ERA_SEV_INFO],
		       status ? "false" : "true");
	}
	if (verbose && !c.json && !c.quiet && res.sb_ok)
		printf("%s: metadata blocks used %llu of %llu (%.1f%%)\n", c.path,
		       (unsigned long long)res.sb.sm.nr_allocated, (unsigned long long)res.sb.sm.nr_blocks,
		       res.sb.sm.nr_blocks ? 100.0 * (double)res.sb.sm.nr_allocated / (double)res.sb.sm.nr_blocks : 0.0);
	flushed = tool_flush_stdout();
	return flushed ? flushed : status;
}
