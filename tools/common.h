/* What every tool shares: messages, version, exit codes. Logic lives in the libraries. */
#ifndef TOOLS_COMMON_H
#define TOOLS_COMMON_H
#include <stdio.h>
#include "../libpd/pd_err.h"

/* Exit statuses, documented in every man page. */
#define EXIT_OK 0
#define EXIT_FAIL 1        /* damaged or unreadable metadata, bad usage, I/O error */
#define EXIT_PIPE 141      /* output pipe closed by the reader (as if by SIGPIPE) */

void tool_init(const char *argv0);
const char *tool_name(void);
void tool_version(void);
/* "prog: message" on stderr */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: PATH: block N: what" on stderr */
void tool_pd_error(const char *path, const struct pd_err *e);
/* Parses a non-negative decimal number; returns 0 on success. */
int tool_parse_u64(const char *s, unsigned long long max, unsigned long long *out);
/* Fails (message, returns nonzero) if in and out name the same file. */
int tool_same_file(const char *in, const char *out);

#endif
