#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "disk.h"
#include "io.h"
#include "writer.h"

int pd_writer_init(struct pd_writer *w, struct pd_bdev *dev, uint64_t limit, uint64_t first_free,
		   struct pd_err *e)
{
	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->limit = limit < dev->nr_blocks ? limit : dev->nr_blocks;
	w->next = first_free;
	w->first = first_free;
	if (posix_memalign((void **)&w->buf, PD_BLOCK_SIZE, (size_t)PD_WRITER_BATCH * PD_BLOCK_SIZE) ||
	    posix_memalign((void **)&w->scratch, PD_BLOCK_SIZE, PD_BLOCK_SIZE)) {
		free(w->buf);
		w->buf = NULL;
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory for the write buffer");
	}
	return 0;
}

void pd_writer_free(struct pd_writer *w)
{
	free(w->buf);
	free(w->scratch);
	w->buf = w->scratch = NULL;
}

int pd_writer_flush(struct pd_writer *w, struct pd_err *e)
{
	size_t done;

	if (pd_pwrite_all(w->dev->fd, w->buf, (size_t)w->n * PD_BLOCK_SIZE, w->first << PD_BLOCK_SHIFT, &done))
		return pd_fail(e, PD_E_IO, w->first + done / PD_BLOCK_SIZE, "write failed: %s",
			       errno ? strerror(errno) : "no progress");
	w->nr_written += w->n;
	w->first += w->n;
	w->n = 0;
	return 0;
}

int pd_writer_new(struct pd_writer *w, uint64_t *where, void **data, struct pd_err *e)
{
	uint64_t b = w->next++;
	int r;

	*where = b;
	if (w->dry || b >= w->limit) {
		if (!w->dry) {
			r = pd_writer_flush(w, e);
			if (r)
				return r;
			w->dry = 1;
		}
		*data = w->scratch;
		return 0;
	}
	if (w->n == PD_WRITER_BATCH) {
		r = pd_writer_flush(w, e);
		if (r)
			return r;
	}
	*data = w->buf + (size_t)w->n * PD_BLOCK_SIZE;
	memset(*data, 0, PD_BLOCK_SIZE);
	w->n++;
	return 0;
}

int pd_writer_invalidate_sb(struct pd_bdev *dev, int sync, struct pd_err *e)
{
	static const unsigned char zero[PD_BLOCK_SIZE];
	int r = pd_bdev_write(dev, 0, zero, e);

	return r || !sync ? r : pd_bdev_sync(dev, e);
}
