#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "pd_err.h"

int pd_vfail(struct pd_err *e, int code, uint64_t block, const char *fmt, va_list ap)
{
	if (e) {
		char msg[sizeof(e->msg)];

		/* formatted first: the arguments may be e->msg */
		vsnprintf(msg, sizeof(msg), fmt, ap);
		pd_err_clear(e);
		e->code = code;
		e->block = block;
		memcpy(e->msg, msg, sizeof(msg));
	}
	return -code;
}

int pd_fail(struct pd_err *e, int code, uint64_t block, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pd_vfail(e, code, block, fmt, ap);
	va_end(ap);
	return r;
}

void pd_err_clear(struct pd_err *e)
{
	if (e) {
		memset(e, 0, sizeof(*e));
		e->block = PD_NO_BLOCK;
		e->problem = PD_NO_PROBLEM;
	}
}

const char *pd_code_name(int code)
{
	switch (code < 0 ? -code : code) {
	case PD_OK: return "ok";
	case PD_E_IO: return "I/O error";
	case PD_E_NOMEM: return "out of memory";
	case PD_E_CSUM: return "bad checksum";
	case PD_E_BLOCKNR: return "wrong block number";
	case PD_E_RANGE: return "out of range";
	case PD_E_CORRUPT: return "corrupt";
	case PD_E_CYCLE: return "cycle";
	case PD_E_ORDER: return "keys out of order";
	case PD_E_DEPTH: return "tree too deep";
	case PD_E_NOSPC: return "no space";
	case PD_E_INVAL: return "invalid argument";
	case PD_E_BUSY: return "device busy";
	}
	return "unknown error";
}
