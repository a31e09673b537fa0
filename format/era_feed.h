/* The feed of a build: a document's writesets and era array as events, in
 * document order, one call each. The sequential builder and the second part
 * of a parallel build (era_build.h) each give one (era_build_feed,
 * era_build_part_feed), so whatever produces the events (the XML parser,
 * xml/era_parse.h; a test) does not know which it feeds. Each call returns
 * 0 or a negative PD_E_* with e filled. The ..._continue calls are for a
 * part only: the element open where its piece of the document begins. */
#ifndef ERA_FEED_H
#define ERA_FEED_H
#include <stdint.h>
#include "../libpd/pd_err.h"

struct era_feed {
	void *ctx;
	int (*writeset_begin)(void *ctx, uint32_t era, uint32_t nr_bits, struct pd_err *e);
	int (*writeset_continue)(void *ctx, uint32_t era, uint32_t nr_bits, struct pd_err *e);
	int (*bit)(void *ctx, uint32_t block, int value, struct pd_err *e);
	int (*marked)(void *ctx, uint32_t begin, uint32_t len, struct pd_err *e);
	int (*writeset_end)(void *ctx, struct pd_err *e);
	int (*era_array_begin)(void *ctx, struct pd_err *e);
	int (*era_array_continue)(void *ctx, struct pd_err *e);
	int (*era)(void *ctx, uint32_t block, uint32_t era, struct pd_err *e);
	int (*era_array_end)(void *ctx, struct pd_err *e);
};

#endif
