/* Where a tool writes a stream (era_dump's XML, era_invalidate's list):
 * a regular file is replaced atomically (a temporary file in the same
 * directory, fsynced, renamed over it, the directory fsynced), so a failed
 * run leaves the previous file byte for byte; a block device is opened
 * O_EXCL and refused when in use or holding a signature; anything else
 * (a pipe, /dev/null, a terminal) is opened as it is. */
#ifndef PD_STREAM_OUT_H
#define PD_STREAM_OUT_H
#include "pd_err.h"

struct pd_stream_out {
	int fd;
	int replace;              /* tmp is renamed over path on commit */
	char path[4096];          /* the file written (symlinks resolved) */
	char tmp[4096];           /* "" when none exists */
};

/* Opens path; on failure fills e (naming why) and leaves nothing behind. */
int pd_stream_out_open(struct pd_stream_out *o, const char *path, struct pd_err *e);
/* fsync, close and, for a file, rename over the target and fsync its
 * directory. On failure the temporary file is removed. */
int pd_stream_out_commit(struct pd_stream_out *o, struct pd_err *e);
/* Closes and removes the temporary file; the target is untouched. */
void pd_stream_out_abort(struct pd_stream_out *o);
/* Async-signal-safe: removes the temporary file (a tool killed midway). */
void pd_stream_out_unlink_tmp(const struct pd_stream_out *o);

#endif
