/* The output of era_dump and era_invalidate: -o FILE or stdout. Apart from
 * common.c because it needs libblkid, which era_check.static goes without. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "common.h"
#include "../libpd/bm.h"
#include "../libpd/same_target.h"
#include "../libpd/stream_out.h"
#include "../xml/sink.h"

/* The one output a run writes (-o FILE), where a fatal signal's handler can
 * find its temporary file. */
static struct pd_stream_out output = { .fd = -1 };

static void remove_tmp_and_die(int sig)
{
	pd_stream_out_unlink_tmp(&output);
	signal(sig, SIG_DFL);
	raise(sig);
}

int tool_open_output(const char *in, const char *path)
{
	sigset_t fatal, old;
	struct pd_err e;
	int r;

	if (!path || !strcmp(path, "-")) {
		/* `era_dump IN >>IN` and `> /dev/loopN` of the input's device */
		if (in && pd_same_target_out_fd(in, STDOUT_FILENO, &e)) {
			tool_error("standard output: %s", e.msg);
			return -EXIT_IO;
		}
		return STDOUT_FILENO;
	}
	if (in && pd_same_target(in, path, &e)) {
		tool_error("%s: %s", path, e.msg);
		return -EXIT_IO;
	}
	/* held back while the temporary file's name is being written, so the
	 * handler never sees half a name */
	sigemptyset(&fatal);
	sigaddset(&fatal, SIGINT);
	sigaddset(&fatal, SIGTERM);
	sigaddset(&fatal, SIGHUP);
	sigprocmask(SIG_BLOCK, &fatal, &old);
	signal(SIGINT, remove_tmp_and_die);
	signal(SIGTERM, remove_tmp_and_die);
	signal(SIGHUP, remove_tmp_and_die);
	r = pd_stream_out_open(&output, path, &e);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r) {
		tool_error("%s: %s", path, e.msg);
		return -EXIT_IO;
	}
	return output.fd;
}

int tool_open_sink(const char *in, const char *out_path, struct pd_bm *bm, struct sink *s, int *fd)
{
	*fd = tool_open_output(in, out_path);
	if (*fd >= 0 && !sink_init(s, *fd))
		return 0;
	pd_bm_close(bm);
	if (*fd < 0)
		return -*fd;
	tool_error("out of memory");
	pd_stream_out_abort(&output);
	return EXIT_FAIL;
}

int tool_finish_output(struct sink *s, int fd, const char *out_path, const char *in, int r,
		       const struct pd_err *e)
{
	const char *name = out_path && strcmp(out_path, "-") ? out_path : "standard output";
	struct pd_err ce;
	int status = EXIT_OK;

	if (r && s->err == EPIPE) {
		pd_stream_out_abort(&output);
		sink_free(s);
		return EXIT_PIPE; /* the reader has gone: stop quietly */
	}
	if (r) {
		if (s->err) {
			tool_error("%s: %s", name, strerror(s->err));
			status = EXIT_IO;
		} else {
			tool_pd_error(in, e);
			status = tool_status_for(e->code);
		}
		pd_stream_out_abort(&output); /* a previous -o FILE stays as it was */
	} else if (fd != STDOUT_FILENO) {
		if (pd_stream_out_commit(&output, &ce)) {
			tool_error("%s: %s", name, ce.msg);
			status = EXIT_IO;
		}
	}
	sink_free(s);
	return status;
}
