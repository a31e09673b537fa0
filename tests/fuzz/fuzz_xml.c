/* libFuzzer: the streaming XML parser of era_restore (xml/era_parse.h),
 * with callbacks that check what they are handed stays consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../xml/era_parse.h"

struct st {
	int in_sb, in_ws, in_array;
	unsigned long events;
};

static int sb_begin(void *c, const struct era_xml_superblock *sb, struct pd_err *e)
{
	struct st *s = c;
	(void)sb;
	if (s->in_sb) {
		pd_fail(e, PD_E_CORRUPT, PD_NO_BLOCK, "second superblock");
		return -PD_E_CORRUPT;
	}
	s->in_sb = 1;
	return 0;
}
static int ws_begin(void *c, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	struct st *s = c;
	(void)era; (void)nr_bits; (void)e;
	if (!s->in_sb || s->in_ws || s->in_array)
		abort();
	s->in_ws = 1;
	return 0;
}
static int bit(void *c, uint32_t block, int value, struct pd_err *e)
{
	struct st *s = c;
	(void)block; (void)e;
	if (!s->in_ws || (value != 0 && value != 1))
		abort();
	s->events++;
	return 0;
}
static int marked(void *c, uint32_t begin, uint32_t len, struct pd_err *e)
{
	struct st *s = c;
	(void)begin; (void)len; (void)e;
	if (!s->in_ws)
		abort();
	return 0;
}
static int ws_end(void *c, struct pd_err *e)
{
	struct st *s = c;
	(void)e;
	if (!s->in_ws)
		abort();
	s->in_ws = 0;
	return 0;
}
static int arr_begin(void *c, struct pd_err *e)
{
	struct st *s = c;
	(void)e;
	if (!s->in_sb || s->in_ws || s->in_array)
		abort();
	s->in_array = 1;
	return 0;
}
static int era(void *c, uint32_t block, uint32_t era_v, struct pd_err *e)
{
	struct st *s = c;
	(void)block; (void)era_v;
	if (!s->in_array)
		abort();
	/* fail now and then, to exercise the error path from a callback */
	if (++s->events % 1000 == 999) {
		pd_fail(e, PD_E_RANGE, PD_NO_BLOCK, "callback refused");
		return -PD_E_RANGE;
	}
	return 0;
}
static int arr_end(void *c, struct pd_err *e)
{
	struct st *s = c;
	(void)e;
	if (!s->in_array)
		abort();
	s->in_array = 0;
	return 0;
}
static int sb_end(void *c, struct pd_err *e)
{
	struct st *s = c;
	(void)e;
	if (!s->in_sb || s->in_ws || s->in_array)
		abort();
	s->in_sb = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st s = { 0 };
	struct era_xml_events ev = {
		.ctx = &s, .superblock_begin = sb_begin, .writeset_begin = ws_begin, .bit = bit,
		.marked = marked, .writeset_end = ws_end, .era_array_begin = arr_begin, .era = era,
		.era_array_end = arr_end, .superblock_end = sb_end,
	};
	struct pd_err err;

	memset(&err, 0, sizeof(err));
	if (era_xml_parse_mem((const char *)data, size, &ev, &err) && !memchr(err.msg, 0, sizeof(err.msg)))
		abort();
	return 0;
}
