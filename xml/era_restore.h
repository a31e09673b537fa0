/* era_restore's work: parse era XML from a file descriptor into an
 * era_builder (format/era_build.h) and commit it. */
#ifndef XML_ERA_RESTORE_H
#define XML_ERA_RESTORE_H
#include "../format/era_build.h"
#include "era_parse.h"

/* Returns 0 when the metadata was written and committed; -1 with err filled
 * otherwise (err->line = 0 when the error is not about a place in the XML,
 * e.g. an output too small: err->code PD_E_NOSPC, era_build_needed_bytes()). */
/* progress (may be NULL): bytes of the input parsed so far, updated
 * atomically as the parse goes, for a display on another thread. */
int era_xml_restore(int fd, struct era_builder *b, uint64_t *progress, struct era_xml_error *err);

#endif
