#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <locale.h>
#include "common.h"
#include "../format/era_problem.h"

/* A tool is one process: its name (and its last message, for JSON) is the
 * state it keeps. */
static const char *prog = "era";
static char last_error[512];

void tool_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	prog = slash ? slash + 1 : (argv0 ? argv0 : prog);
	setlocale(LC_ALL, "C");
	/* Writes to a closed pipe return EPIPE, so output code can stop quietly. */
	signal(SIGPIPE, SIG_IGN);
}

const char *tool_name(void)
{
	return prog;
}

void tool_version(void)
{
	printf("%s (era-tools) %s\n", prog, ERA_TOOLS_VERSION);
}

/* The whole message goes to stderr, however long (a path may be); JSON's
 * copy keeps what fits in last_error. */
void tool_error(const char *fmt, ...)
{
	va_list ap, again;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(last_error)) {
		fprintf(stderr, "%s: %s\n", prog, last_error);
	} else {
		fprintf(stderr, "%s: ", prog);
		vfprintf(stderr, fmt, again);
		fputc('\n', stderr);
	}
	va_end(again);
}

const char *tool_last_error(void)
{
	return last_error;
}

int tool_status_for(int pd_code)
{
	return pd_code == PD_E_IO || pd_code == PD_E_NOSPC ? EXIT_IO : EXIT_DAMAGE;
}

/* A finding that stopped the tool (e->problem set) is said as era_check
 * says it, with the structure and lost origin blocks, then the registry's
 * next step, on the same line. */
void tool_pd_error(const char *path, const struct pd_err *e)
{
	char desc[sizeof(e->msg) + 160], step[400];
	const char *m = e->msg[0] ? e->msg : pd_code_name(e->code), *next = NULL;

	if (e->problem != PD_NO_PROBLEM) {
		tool_describe(e, desc, sizeof(desc));
		m = desc;
		next = era_next_step_text(era_problem_info(e->problem)->next, path, step, sizeof(step));
	}
	if (e->block != PD_NO_BLOCK)
		tool_error("%s: block %llu: %s%s%s", path, (unsigned long long)e->block, m, next ? "; " : "",
			   next ? next : "");
	else
		tool_error("%s: %s%s%s", path, m, next ? "; " : "", next ? next : "");
}

void tool_json_str(const char *s)
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

int tool_json_requested(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--format=json") ||
		    (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "json")))
			return 1;
	return 0;
}

int tool_flush_stdout(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			return EXIT_PIPE;
		tool_error("standard output: %s", strerror(errno));
		return EXIT_IO;
	}
	return EXIT_OK;
}

int tool_parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

#include <fcntl.h>
#include <unistd.h>
#include "../libpd/bm.h"

int tool_optional_number(int argc, char **argv, int *optind_p, unsigned long long *out)
{
	int i = *optind_p;

	if (i + 1 < argc && !tool_parse_u64(argv[i], ~0ull, out)) {
		*optind_p = i + 1;
		return 1;
	}
	return 0;
}

int tool_open_metadata(struct pd_bm **bm, const char *path, unsigned flags)
{
	struct pd_err e;
	int r = pd_bm_open(bm, path, flags, PD_BM_DEFAULT_CACHE, &e);

	if (r && (flags & PD_OPEN_DIRECT))
		r = pd_bm_open(bm, path, flags & ~PD_OPEN_DIRECT, PD_BM_DEFAULT_CACHE, &e);
	if (r)
		tool_pd_error(path, &e);
	return r;
}

#include <getopt.h>
#include "../format/era_sb.h"
#include "../xml/sink.h"

int tool_snapshot_option(int argc, char **argv, const char *arg, unsigned long long *snap)
{
	if (arg) {
		if (tool_parse_u64(arg, ~0ull, snap)) {
			tool_error("bad metadata snapshot block '%s'", arg);
			return -1;
		}
		return 0;
	}
	tool_optional_number(argc, argv, &optind, snap);
	return 0;
}

const char *tool_single_input(int argc, char **argv, void (*usage)(FILE *))
{
	if (optind + 1 == argc)
		return argv[optind];
	tool_error(optind >= argc ? "no input file given" : "too many arguments");
	usage(stderr);
	return NULL;
}

int tool_open_source(struct tool_cmdline *cl, int argc, char **argv, struct pd_bm **bm, const char **in)
{
	struct pd_err e;
	uint64_t held;

	int status = EXIT_DAMAGE;

	*in = tool_single_input(argc, argv, cl->usage);
	if (!*in)
		return EXIT_USAGE;
	if (tool_open_metadata(bm, *in, cl->use_snap ? PD_OPEN_DIRECT : PD_OPEN_RDONLY))
		return EXIT_IO;
	if (!cl->use_snap || cl->snap)
		return 0;
	if (era_metadata_snap(*bm, &held, &e)) {
		tool_pd_error(*in, &e);
		status = tool_status_for(e.code);
	} else if (!held) {
		tool_error("%s: no metadata snapshot is held (take one with "
			   "'dmsetup message DEVICE 0 take_metadata_snap')", *in);
	} else {
		cl->snap = held;
		return 0;
	}
	pd_bm_close(*bm);
	*bm = NULL;
	return status;
}

int tool_help_or_version(int opt, void (*usage)(FILE *))
{
	if (opt == 'h')
		usage(stdout);
	else
		tool_version();
	return EXIT_OK;
}

int tool_bad_option(char **argv, void (*usage)(FILE *), int json)
{
	usage(stderr);
	if (json)
		tool_error("bad command line at '%s'", argv[optind - 1]);
	return EXIT_USAGE;
}

int tool_common_option(struct tool_cmdline *cl, int opt, int argc, char **argv)
{
	switch (opt) {
	case 'h':
	case 'V':
		return tool_help_or_version(opt, cl->usage);
	case 'q':
		tool_quiet();
		return -1;
	case 'm':
		cl->use_snap = 1;
		return tool_snapshot_option(argc, argv, optarg, &cl->snap) ? EXIT_USAGE : -1;
	case 'o':
		cl->out_path = optarg;
		return -1;
	default:
		return tool_bad_option(argv, cl->usage, cl->json);
	}
}

int tool_parse_io_opts(int argc, char **argv, void (*usage)(FILE *), struct tool_io_opts *io)
{
	enum { OPT_FORCE = 256 };
	static const struct option opts[] = {
		TOOL_COMMON_LONG_OPTIONS,
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ 0 },
	};
	int opt;

	memset(io, 0, sizeof(*io));
	while ((opt = getopt_long(argc, argv, "hi:o:qV", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
		case 'V':
			return tool_help_or_version(opt, usage);
		case 'i':
			io->in = optarg;
			break;
		case 'o':
			io->out = optarg;
			break;
		case 'q':
			io->quiet = 1;
			break;
		case OPT_FORCE:
			io->force = 1;
			break;
		default:
			return tool_bad_option(argv, usage, 0);
		}
	}
	if (optind != argc || !io->in || !io->out) {
		tool_error(optind != argc ? "too many arguments"
			   : !io->in	  ? "no input given (-i)"
					  : "no output given (-o)");
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

void tool_quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);

	/* messages of every kind (errors, warnings, progress) go to stderr */
	if (fd >= 0 && fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* The detail in the user's terms: the structure it is in (unless the detail
 * starts with it) and the origin blocks whose eras are lost, after the
 * detail so that each message still begins with what libpd found. */
void tool_describe(const struct pd_err *r, char *buf, size_t size)
{
	const char *base = era_problem_structure(r->problem), *d = r->msg;
	char sbuf[64];
	const char *what = era_report_structure(r, sbuf, sizeof(sbuf));
	size_t len = strlen(base);
	int named = !strncmp(d, base, len) && (d[len] == ':' || d[len] == ' ');
	int lost = r->data_end > r->data_begin;

	if (named && !lost)
		snprintf(buf, size, "%s", d);
	else if (!lost)
		snprintf(buf, size, "%s [%s]", d, what);
	else
		snprintf(buf, size, "%s [%s: the eras of origin blocks %llu..%llu are lost]", d, what,
			 (unsigned long long)r->data_begin, (unsigned long long)r->data_end - 1);
}
