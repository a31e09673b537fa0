/* Errors as values: a code, the block it concerns and a message. */
#ifndef PD_ERR_H
#define PD_ERR_H
#include <stdarg.h>
#include <stdint.h>

enum pd_code {
	PD_OK = 0,
	PD_E_IO = 1,       /* read/write failed or short */
	PD_E_NOMEM,
	PD_E_CSUM,         /* checksum mismatch */
	PD_E_BLOCKNR,      /* block records another location */
	PD_E_RANGE,        /* pointer beyond the device / a count out of range */
	PD_E_CORRUPT,      /* structurally wrong (header fields, sizes) */
	PD_E_CYCLE,        /* block met twice in one walk */
	PD_E_ORDER,        /* keys out of order */
	PD_E_DEPTH,        /* tree deeper than possible */
	PD_E_NOSPC,        /* allocation failed */
	PD_E_INVAL,        /* bad argument from the caller */
	PD_E_BUSY,         /* device in use */
};

#define PD_NO_BLOCK UINT64_MAX

struct pd_err {
	int code;
	uint64_t block;    /* PD_NO_BLOCK when the error is not about a block */
	char msg[240];
};

/* Fills e (if not NULL) and returns -code so callers can `return pd_fail(...)`. */
int pd_fail(struct pd_err *e, int code, uint64_t block, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with a va_list. */
int pd_vfail(struct pd_err *e, int code, uint64_t block, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void pd_err_clear(struct pd_err *e);
const char *pd_code_name(int code);

#endif
