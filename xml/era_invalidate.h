/* era_invalidate: the blocks written since a given era, as <blocks> XML. */
#ifndef XML_ERA_INVALIDATE_H
#define XML_ERA_INVALIDATE_H
/* era_written_since() and era_bit_runs() live in format/era_since.h; it is
 * included so this header keeps declaring them as doc/api.md promises. */
#include "../format/era_since.h"
#include "sink.h"

/* Writes <blocks> to out. Returns 0, -PD_E_IO if writing failed, or another
 * -code (e filled) if the metadata could not be read; nothing is written then. */
int era_invalidate(struct pd_bm *bm, const struct era_invalidate_opts *o, struct sink *out, struct pd_err *e);

#endif
