/* What every tool shares: messages, version, exit codes. Logic lives in the libraries. */
#ifndef TOOLS_COMMON_H
#define TOOLS_COMMON_H
#include <stdio.h>
#include "../libpd/pd_err.h"

struct pd_bm;
struct sink;
struct pd_err;

/* Exit statuses: one table for every tool, documented identically in every
 * man page's EXIT STATUS. */
#define EXIT_OK 0          /* clean / done */
#define EXIT_DAMAGE 1      /* damaged metadata (or XML that cannot be restored) */
#define EXIT_USAGE 2       /* bad command line */
#define EXIT_IO 3          /* cannot open, read or write a file or device */
#define EXIT_NONFATAL 4    /* era_check: non-fatal findings only (leaks, notes) */
#define EXIT_ERA_AHEAD 5   /* era_invalidate: --written-since beyond the metadata's era */
#define EXIT_PIPE 141      /* output pipe closed by the reader (as if by SIGPIPE) */
#define EXIT_FAIL EXIT_DAMAGE

void tool_init(const char *argv0);
const char *tool_name(void);
void tool_version(void);
/* "prog: message" on stderr */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: PATH: block N: what" on stderr */
void tool_pd_error(const char *path, const struct pd_err *e);
/* The last message tool_error printed, without the "prog: " prefix ("" if
 * none): for a JSON error object. */
const char *tool_last_error(void);
/* The status for an error that ended a run: EXIT_IO for a failed read,
 * write or allocation of space on the output, else EXIT_DAMAGE. */
int tool_status_for(int pd_code);
/* A problem's detail in the user's terms: then, in brackets unless the
 * detail says it, the structure (era array, writeset of era N, ...) and the
 * origin blocks whose eras are lost. */
void tool_describe(const struct pd_err *r, char *buf, size_t size);
/* s as a JSON string (quoted, escaped) on stdout. */
void tool_json_str(const char *s);
/* Whether the command line asks for --format json (looked at before the
 * options are parsed, so a usage error can be said in JSON too). */
int tool_json_requested(int argc, char **argv);
/* Flushes standard output at the end of a run: EXIT_OK, EXIT_PIPE when the
 * reader has gone, or EXIT_IO after a message. */
int tool_flush_stdout(void);
/* Parses a non-negative decimal number; returns 0 on success. */
int tool_parse_u64(const char *s, unsigned long long max, unsigned long long *out);


/* The options every tool's table starts with (what -q means is the tool's). */
#define TOOL_COMMON_LONG_OPTIONS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "version", no_argument, NULL, 'V' }
/* -h (usage on stdout) or -V (the version), alike in every tool; returns
 * the tool's exit status, EXIT_OK. */
int tool_help_or_version(int opt, void (*usage)(FILE *));
/* What the command-line loop of era_dump, era_invalidate and
 * era_metadata_size hands to tool_common_option. */
struct tool_cmdline {
	void (*usage)(FILE *);
	int json;                   /* a bad option is also said for the JSON object */
	int use_snap;               /* -m, --metadata-snap[shot] [BLOCK] */
	unsigned long long snap;
	const char *out_path;       /* -o, --output FILE */
};
/* An option getopt_long returned that the tool's own cases did not take:
 * -h, -V, -q (tool_quiet), -m and -o; anything else is a usage error
 * (usage on stderr). Returns -1 to go on, else the exit status. */
int tool_common_option(struct tool_cmdline *cl, int opt, int argc, char **argv);
/* A bad option: usage on stderr and, for a JSON object, a message (getopt
 * has said what). Returns EXIT_USAGE. */
int tool_bad_option(char **argv, void (*usage)(FILE *), int json);
/* The value of --metadata-snap[shot] [BLOCK] (optarg may be NULL).
 * Returns 0, or -1 after a message (a usage error). */
int tool_snapshot_option(int argc, char **argv, const char *arg, unsigned long long *snap);
/* The one INPUT argument left after the options, or NULL after a message
 * and usage on stderr. */
const char *tool_single_input(int argc, char **argv, void (*usage)(FILE *));
/* Opens the one INPUT argument (*in) to read: with -m, through O_DIRECT (a
 * live target's snapshot) and, when no BLOCK was given, setting cl->snap to
 * the snapshot block 0 says is held. Returns 0, or the exit status after a
 * message (nothing left open). */
int tool_open_source(struct tool_cmdline *cl, int argc, char **argv, struct pd_bm **bm, const char **in);
/* Ends a run that wrote to s/fd: closed pipe, write or metadata error
 * (a -o file keeps its previous contents), or fsync, close and the rename
 * of a -o file over its target. Returns the exit status. */
int tool_finish_output(struct sink *s, int fd, const char *out_path, const char *in, int r,
		       const struct pd_err *e);

/* era_restore and era_repair: -i IN -o OUT [-q] [--force] [-h] [-V]. */
struct tool_io_opts {
	const char *in;
	const char *out;
	int quiet;
	int force;
};
/* Returns -1 to go on, else the exit status (help, version, bad usage). */
int tool_parse_io_opts(int argc, char **argv, void (*usage)(FILE *), struct tool_io_opts *io);

/* Output for -o FILE (or stdout when path is NULL or "-"). Refuses to
 * write over the input (by any alias), a device in use or holding a
 * signature, and a loop device's backing file; a regular FILE is written
 * to a temporary file that tool_finish_output renames over it. Returns
 * the fd, or minus the exit status (EXIT_IO) after a message. */
int tool_open_output(const char *in, const char *path);
/* For an option with an optional numeric value given as a separate word
 * (`--metadata-snap 123 INPUT`): takes argv[optind] if it is a number and
 * another argument follows it. Returns 1 if taken. */
int tool_optional_number(int argc, char **argv, int *optind_p, unsigned long long *out);
/* Opens metadata for reading; PD_OPEN_DIRECT falls back to buffered where
 * the file system refuses it. Prints the error (a failure is EXIT_IO). */
int tool_open_metadata(struct pd_bm **bm, const char *path, unsigned flags);
/* -q/--quiet for tools without findings of their own to hush: from here on
 * nothing reaches stderr; the exit status tells the result. */
void tool_quiet(void);
/* tool_open_output, then a sink over it: 0 with *fd and s set, or the exit
 * status after a message, with bm closed and nothing left open. */
int tool_open_sink(const char *in, const char *out_path, struct pd_bm *bm, struct sink *s, int *fd);

#endif
