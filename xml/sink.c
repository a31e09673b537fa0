#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../libpd/io.h"
#include "sink.h"

int sink_init(struct sink *s, int fd)
{
	s->fd = fd;
	s->err = 0;
	s->len = 0;
	s->written = 0;
	s->buf = malloc(SINK_BUF_SIZE + SINK_SLACK);
	return s->buf ? 0 : -PD_E_NOMEM;
}

void sink_free(struct sink *s)
{
	free(s->buf);
	s->buf = NULL;
}

int sink_flush(struct sink *s)
{
	size_t done;

	if (s->err) {
		s->len = 0;
		return -PD_E_IO;
	}
	if (pd_write_all(s->fd, s->buf, s->len, &done)) {
		s->err = errno ? errno : EIO;
		s->len = 0;
		return -PD_E_IO;
	}
	s->written += s->len;
	s->len = 0;
	return 0;
}

int sink_error(struct pd_err *e)
{
	int r = pd_fail(e, PD_E_IO, PD_NO_BLOCK, "write error");

	if (e)
		e->source = PD_SRC_OUTPUT;
	return r;
}

void sink_printf(struct sink *s, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sink_put(s, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

unsigned fmt_u64(char *p, unsigned long long v)
{
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (unsigned i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}
