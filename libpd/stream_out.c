#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "output.h"
#include "same_target.h"
#include "stream_out.h"

/* The directory part of path, for the temporary file and the fsync. */
static void dir_of(const char *path, char *dir, size_t len)
{
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, len, "%s", dirname(copy));
}

/* A new file next to path; st is the file it will replace (NULL if none):
 * it keeps that file's mode and, where we may, its owner, as writing it
 * in place would have. */
static int open_replace(struct pd_stream_out *o, const char *path, const struct stat *st, struct pd_err *e)
{
	char dir[4096], copy[4096];
	const char *base;
	int tries;

	snprintf(o->path, sizeof(o->path), "%s", path);
	snprintf(copy, sizeof(copy), "%s", path);
	base = basename(copy);
	dir_of(path, dir, sizeof(dir));
	for (tries = 0; tries < 100 && o->fd < 0; tries++) {
		unsigned rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (unsigned)getpid() * 2654435761u + (unsigned)tries;
		if ((size_t)snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.%08x", dir, base, rnd) >= sizeof(o->tmp))
			return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "path too long");
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (o->fd < 0 && errno != EEXIST) {
			int err = errno;

			o->tmp[0] = 0;
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "cannot create a temporary file in %s: %s", dir,
				       strerror(err));
		}
	}
	if (o->fd < 0) {
		o->tmp[0] = 0;
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "cannot create a temporary file in %s", dir);
	}
	if (st) {
		if (fchmod(o->fd, st->st_mode & 07777) < 0) {
			int err = errno;

			pd_stream_out_abort(o);
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(err));
		}
		/* may fail (not ours to give away): the file is then the writer's, as with cp */
		if (st->st_uid != geteuid() || st->st_gid != getegid())
			(void)!fchown(o->fd, st->st_uid, st->st_gid);
	}
	o->replace = 1;
	return 0;
}

static int open_device(struct pd_stream_out *o, const char *path, struct pd_err *e)
{
	char what[200];
	int r = pd_target_in_use(path, 0, e);

	if (r)
		return r;
	o->fd = open(path, O_WRONLY | O_EXCL | O_CLOEXEC);
	if (o->fd < 0) {
		if (errno == EBUSY)
			return pd_fail(e, PD_E_BUSY, PD_NO_BLOCK,
				       "device is in use (mounted, or held by device-mapper or another program)");
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
	}
	if (pd_output_signature(path, what, sizeof(what))) {
		close(o->fd);
		o->fd = -1;
		return pd_fail(e, PD_E_BUSY, PD_NO_BLOCK, "holds %s; refusing to write over it", what);
	}
	snprintf(o->path, sizeof(o->path), "%s", path);
	return 0;
}

/* A symbolic link to a file not there yet: create that file, as open(O_CREAT)
 * would, and leave the link as it is. */
static int dangling_link(struct pd_stream_out *o, const char *path, struct pd_err *e)
{
	char cur[PATH_MAX], target[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int i;

	snprintf(cur, sizeof(cur), "%s", path);
	for (i = 0; i < 40 && !lstat(cur, &st) && S_ISLNK(st.st_mode); i++) {
		ssize_t n = readlink(cur, target, sizeof(target) - 1);

		if (n < 0)
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
		target[n] = 0;
		dir_of(cur, dir, sizeof(dir));
		if (target[0] == '/')
			snprintf(cur, sizeof(cur), "%s", target);
		else if ((size_t)snprintf(cur, sizeof(cur), "%s/%s", dir, target) >= sizeof(cur))
			return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "path too long");
	}
	if (i == 40)
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(ELOOP));
	return open_replace(o, cur, NULL, e);
}

int pd_stream_out_open(struct pd_stream_out *o, const char *path, struct pd_err *e)
{
	struct stat st;
	char real[PATH_MAX];
	int r;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (strlen(path) >= sizeof(o->path) - 16)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "path too long");
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
		if (!lstat(path, &st) && S_ISLNK(st.st_mode))
			return dangling_link(o, path, e);
		return open_replace(o, path, NULL, e);
	}
	if (S_ISDIR(st.st_mode))
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "is a directory");
	if (S_ISBLK(st.st_mode))
		return open_device(o, path, e);
	if (!S_ISREG(st.st_mode)) {
		/* a pipe, /dev/null, a terminal: nothing to replace */
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (o->fd < 0)
			return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
		snprintf(o->path, sizeof(o->path), "%s", path);
		return 0;
	}
	/* a dump never replaces a file a loop device reads its blocks from */
	r = pd_target_in_use(path, 1, e);
	if (r)
		return r;
	/* a rename needs only the directory: ask what writing in place needed */
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0)
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
	/* replace the file a symlink names, not the symlink */
	if (!realpath(path, real))
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(errno));
	return open_replace(o, real, &st, e);
}

int pd_stream_out_commit(struct pd_stream_out *o, struct pd_err *e)
{
	char dir[4096];
	int fd, err;

	if (fsync(o->fd) < 0 && errno != EINVAL) {
		err = errno;
		pd_stream_out_abort(o);
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "fsync failed: %s", strerror(err));
	}
	fd = o->fd;
	o->fd = -1;
	if (close(fd) < 0) {
		err = errno;
		pd_stream_out_abort(o);
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "%s", strerror(err));
	}
	if (!o->replace)
		return 0;
	if (rename(o->tmp, o->path) < 0) {
		err = errno;
		pd_stream_out_abort(o);
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "cannot rename the new file over it: %s", strerror(err));
	}
	o->tmp[0] = 0;
	/* the rename itself must survive a crash */
	dir_of(o->path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL)) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return pd_fail(e, PD_E_IO, PD_NO_BLOCK, "fsync of directory %s failed: %s", dir, strerror(err));
	}
	close(fd);
	return 0;
}

void pd_stream_out_abort(struct pd_stream_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = 0;
}

void pd_stream_out_unlink_tmp(const struct pd_stream_out *o)
{
	if (o->tmp[0])
		unlink(o->tmp);
}
