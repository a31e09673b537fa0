/* era_restore's work: parse era XML from a file descriptor into an
 * era_builder (format/era_build.h) and commit it. */
#ifndef XML_ERA_RESTORE_H
#define XML_ERA_RESTORE_H
#include "../format/era_build.h"
#include "era_parse.h"

/* Returns 0 when the metadata was written and committed; -PD_E_* with err
 * filled otherwise: err->source PD_SRC_OUTPUT for the output's write and
 * space failures (an output too small: err->code PD_E_NOSPC,
 * era_build_needed_bytes()), else the document's, err->line = 0 when the
 * error is not about a place in the XML. */
/* progress (may be NULL): bytes of the input parsed so far, updated
 * atomically as the parse goes, for a display on another thread. */
/* How to parse (tests and benchmarks choose; a caller passes NULL for the
 * defaults). Two threads: a regular file is cut in two at a <bit>,
 * <marked> or <era> start tag; the first thread's parser confirms the cut
 * (it is there in the content of the writeset or era array, nothing
 * pending) and the second's work is kept only then and when the two parts
 * meet; anything else redoes the whole restore in one thread, whose result
 * and messages are the ones given. Either way the output is the same. */
enum { ERA_RESTORE_AUTO = 0, ERA_RESTORE_ONE_THREAD = 1, ERA_RESTORE_TWO_THREADS = 2 };
struct era_restore_opts {
	int threads;              /* AUTO: two for regular files of >= parallel_min bytes */
	uint64_t parallel_min;    /* 0: 1 MiB */
	unsigned cut_permille;    /* 1-999: where to cut, by size; 0: the default */
	uint64_t cut_at;          /* nonzero: the byte offset to cut at or after */
};
/* What the two-thread path did, for a debug line. */
enum { ERA_RESTORE_PAR_OK = 1, ERA_RESTORE_PAR_REDONE, ERA_RESTORE_PAR_COMMIT_FAILED, ERA_RESTORE_PAR_NO_CUT };
struct era_restore_report {
	int tried;
	int status;               /* ERA_RESTORE_PAR_* */
	uint64_t cut;
	char why[360];            /* why it was redone */
	double first_s, first_cpu_s, second_s, second_cpu_s, second_from_s;
};
int era_xml_restore(int fd, struct era_builder *b, uint64_t *progress, const struct era_restore_opts *o,
		    struct era_restore_report *rep, struct pd_err *err);

#endif
