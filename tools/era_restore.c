/* era_restore: write dm-era metadata from era XML. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "../libpd/output.h"
#include "../libpd/same_target.h"
#include "../xml/era_restore.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] -i {xml file|-} -o {device|file}\n"
		"Build dm-era metadata on a device from era XML.\n"
		"Options:\n"
		"  -h, --help                       Print this help and exit\n"
		"  -q, --quiet                      No messages: only the exit status tells\n"
		"  -V, --version                    Print version information and exit\n"
		"  -i, --input FILE                 The XML to restore ('-': standard input)\n"
		"  -o, --output FILE                Metadata device or file to write (must exist)\n"
		"      --force                      Write over a device holding a file system\n"
		"                                   or other signature\n",
		tool_name());
}

/* On a terminal only: how much of the input has been parsed. */
struct progress {
	pthread_t th;
	uint64_t bytes;           /* updated by the parser threads */
	uint64_t total;
	int stop;
};

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	const struct timespec tick = { 0, 250 * 1000 * 1000 };

	while (!__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
		uint64_t done = __atomic_load_n(&p->bytes, __ATOMIC_RELAXED);

		fprintf(stderr, "\r%s: %3llu%%", tool_name(),
			(unsigned long long)(done >= p->total ? 100 : done * 100 / p->total));
		nanosleep(&tick, NULL);
	}
	fputs("\r\033[K", stderr);
	return NULL;
}

/* For tests and benchmarks (never needed otherwise): ERA_RESTORE_PARALLEL_MIN
 * (bytes; 0: always two threads), ERA_RESTORE_CUT_PERMILLE (1-999) or
 * ERA_RESTORE_CUT_AT (a byte offset) say where to cut; ERA_RESTORE_DEBUG=1
 * prints one line on stderr about the two-thread run. */
static int env_u64(const char *name, uint64_t *out)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return 0;
	*out = (uint64_t)x;
	return 1;
}

static void restore_opts_from_env(struct era_restore_opts *o)
{
	uint64_t v;

	memset(o, 0, sizeof(*o));
	if (env_u64("ERA_RESTORE_PARALLEL_MIN", &v)) {
		if (v == 0)
			o->threads = ERA_RESTORE_TWO_THREADS;
		else
			o->parallel_min = v;
	}
	if (env_u64("ERA_RESTORE_CUT_PERMILLE", &v) && v < 1000)
		o->cut_permille = (unsigned)v;
	if (env_u64("ERA_RESTORE_CUT_AT", &v))
		o->cut_at = v;
}

static void debug_line(const struct era_restore_report *r)
{
	if (!r->tried || !getenv("ERA_RESTORE_DEBUG"))
		return;
	if (r->status == ERA_RESTORE_PAR_NO_CUT) {
		fprintf(stderr, "era_restore: parallel: no cut found, sequential\n");
		return;
	}
	fprintf(stderr, "era_restore: parallel, cut at byte %llu: %s%s%s; first part %.3fs (cpu %.3fs), "
		"second %.3fs (cpu %.3fs, from %+.3fs)\n", (unsigned long long)r->cut,
		r->status == ERA_RESTORE_PAR_OK ? "ok" : r->status == ERA_RESTORE_PAR_COMMIT_FAILED
			? "commit failed" : "failed, redone sequentially",
		r->why[0] ? ": " : "", r->why, r->first_s, r->first_cpu_s, r->second_s, r->second_cpu_s,
		r->second_from_s);
}

int main(int argc, char **argv)
{
	struct tool_io_opts io;
	const char *in, *out, *in_name;
	int quiet, force, fd, r;
	struct pd_err xe;
	struct era_builder *b;
	struct pd_bdev dev;
	struct pd_err e;

	tool_init(argv[0]);
	r = tool_parse_io_opts(argc, argv, usage, &io);
	if (r >= 0)
		return r;
	in = io.in;
	out = io.out;
	quiet = io.quiet;
	force = io.force;
	in_name = strcmp(in, "-") ? in : "<stdin>";
	if (strcmp(in, "-") ? pd_same_target(in, out, &e)
			    : pd_same_target_fd(STDIN_FILENO, "standard input", out, &e)) {
		if (!quiet)
			tool_error("%s: %s", out, e.msg);
		return EXIT_IO;
	}
	fd = strcmp(in, "-") ? open(in, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		if (!quiet)
			tool_error("%s: %s", in, strerror(errno));
		return EXIT_IO;
	}
	if (pd_output_open(&dev, out, force ? PD_OUTPUT_FORCE : 0, &e)) {
		if (!quiet)
			tool_error("%s: %s", out, e.msg);
		return EXIT_IO;
	}
	r = era_build_open(&b, &dev, &e);
	if (r) {
		if (!quiet)
			tool_error("%s: %s", out, e.msg);
		pd_bdev_close(&dev);
		return tool_status_for(e.code);
	}
	{
		struct progress pg = { 0 };
		struct stat st;
		int shown = !quiet && isatty(STDERR_FILENO) && !fstat(fd, &st) && S_ISREG(st.st_mode) &&
			    st.st_size > 0;

		if (shown) {
			pg.total = (uint64_t)st.st_size;
			shown = !pthread_create(&pg.th, NULL, progress_main, &pg);
		}
		struct era_restore_opts ro;
		struct era_restore_report rr;

		restore_opts_from_env(&ro);
		r = era_xml_restore(fd, b, shown ? &pg.bytes : NULL, &ro, &rr, &xe);
		debug_line(&rr);
		if (shown) {
			__atomic_store_n(&pg.stop, 1, __ATOMIC_RELAXED);
			pthread_join(pg.th, NULL);
		}
	}
	if (r && !quiet) {
		if (xe.source == PD_SRC_OUTPUT)
			tool_error("%s: %s", out, xe.msg);
		else if (xe.line)
			tool_error("%s:%lu:%lu: %s", in_name, xe.line, xe.col, xe.msg);
		else
			tool_error("%s: %s", in_name, xe.msg);
	}
	era_build_free(b);
	pd_bdev_close(&dev);
	if (fd != STDIN_FILENO)
		close(fd);
	/* the document's own read failures are I/O too; its content is not */
	return !r ? EXIT_OK : xe.source == PD_SRC_OUTPUT || xe.code == PD_E_IO ? EXIT_IO : EXIT_DAMAGE;
}
