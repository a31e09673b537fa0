/* Errors as values: one carrier, struct pd_err, for every failure and every
 * finding of the libraries (libpd, format, xml), and one return convention.
 *
 * The convention: a library function that can fail returns 0 on success
 * (or a non-negative count or length where that is its documented
 * result) and a negative PD_E_* code on failure, having filled the
 * struct pd_err it takes, if it takes one. No bare -1: where a function
 * returns -1 as something other than an error (a "not found" index), its
 * comment says so and the line carries "sentinel"
 * (tests/integration/test_return_convention.py keeps it so).
 *
 * A plain failure (pd_fail) has a code, the metadata block it concerns and
 * a message; the other fields say "none". A finding of a checking layer
 * (format/era_problem.h) also names its problem, and, where known, the key
 * of the tree entry the damaged structure hangs under and the data blocks
 * whose record is lost. A parser's error says where in the document. */
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
#define PD_NO_PROBLEM (-1)  /* a plain failure, not a finding */

/* Which file an error is about, so a tool names the right one. */
enum pd_source {
	PD_SRC_NONE = 0,   /* not said: the file of the call */
	PD_SRC_INPUT,      /* the input metadata */
	PD_SRC_OUTPUT,     /* the output being written */
	PD_SRC_DOCUMENT,   /* the XML document read */
};

struct pd_err {
	int code;                  /* PD_E_* */
	uint64_t block;            /* metadata block, PD_NO_BLOCK when not about one */
	int source;                /* enum pd_source */
	unsigned long line, col;   /* place in a document, 0 when none */
	int problem;               /* the checking layer's problem id, or PD_NO_PROBLEM */
	int has_key;               /* the key of the tree entry the damaged */
	uint64_t key;              /* structure hangs under, when known */
	uint64_t data_begin, data_end; /* data blocks [begin, end) whose record is lost */
	char msg[320];
};

/* Fills e (if not NULL) as a plain failure (the other fields "none") and
 * returns -code so callers can `return pd_fail(...)`. The arguments may
 * point into e->msg. */
int pd_fail(struct pd_err *e, int code, uint64_t block, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with a va_list. */
int pd_vfail(struct pd_err *e, int code, uint64_t block, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void pd_err_clear(struct pd_err *e);
const char *pd_code_name(int code);

#endif
