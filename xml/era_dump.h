/* era_dump: the walker's visitor that writes the XML dialect. */
#ifndef XML_ERA_DUMP_H
#define XML_ERA_DUMP_H
#include "../format/era_walk.h"
#include "sink.h"

struct era_dump_opts {
	uint64_t sb_location;     /* 0, or a metadata snapshot */
	int logical;              /* fold writesets into the era array */
	int repair;               /* skip damage (reported), dump what can be read */
	/* Called for each problem the dump goes on past (--repair, notes); one
	 * that stops it is returned in e instead. May be NULL. */
	void (*report)(void *ctx, const struct pd_err *r);
	/* Optional: called as the dump goes, with what is being dumped and how
	 * far (done of total blocks of that part). */
	void (*progress)(void *ctx, const char *part, uint64_t done, uint64_t total);
	void *ctx;
};

/* Writes the dump to out. Returns 0 when complete; -PD_E_IO with out->err
 * set if writing failed (e->source PD_SRC_OUTPUT); another -PD_E_* (e
 * filled: the finding that stopped it, or the walk's failure) if the
 * metadata could not be dumped, in which case the closing tags are never
 * written. */
int era_dump(struct pd_bm *bm, const struct era_dump_opts *o, struct sink *out, struct pd_err *e);

#endif
