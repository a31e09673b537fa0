/* Buffered output to a file descriptor. A write error (a closed pipe
 * included) is remembered and stops further writes; the caller decides. */
#ifndef XML_SINK_H
#define XML_SINK_H
#include <stddef.h>
#include <string.h>
#include "../libpd/pd_err.h"

#define SINK_BUF_SIZE (1u << 20)
#define SINK_SLACK 256u /* room a caller may always use after sink_reserve() */

struct sink {
	int fd;
	int err;            /* errno of the first failed write, 0 if none */
	size_t len;
	unsigned long long written;
	char *buf;          /* SINK_BUF_SIZE + SINK_SLACK bytes */
};

/* 0, or -PD_E_NOMEM. */
int sink_init(struct sink *s, int fd);
void sink_free(struct sink *s);
/* Writes out what is buffered; returns 0 or -PD_E_IO (s->err set). */
int sink_flush(struct sink *s);
/* A failed sink as an error: fills e (PD_E_IO, "write error", source the
 * output) and returns -PD_E_IO. */
int sink_error(struct pd_err *e);
/* Makes sure SINK_SLACK bytes can be appended at s->buf + s->len. */
static inline int sink_reserve(struct sink *s)
{
	if (s->len >= SINK_BUF_SIZE)
		return sink_flush(s);
	return s->err ? -PD_E_IO : 0;
}
static inline void sink_put(struct sink *s, const char *p, size_t n)
{
	while (n) {
		size_t room = SINK_BUF_SIZE + SINK_SLACK - s->len, k = n < room ? n : room;
		memcpy(s->buf + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (n && sink_flush(s))
			return;
	}
}
static inline void sink_puts(struct sink *s, const char *p) { sink_put(s, p, strlen(p)); }
void sink_printf(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal of v at p (no terminator); returns its length. */
unsigned fmt_u64(char *p, unsigned long long v);

#endif
