/* The part of a parallel build that the second thread feeds, and the join
 * that hands it to the builder (era_build.h, "Parallel building"). */
#include <stdlib.h>
#include <string.h>
#include "../libpd/grow.h"
#include "era_build_int.h"

/* What the second part of a parallel build may hold in writeset bitmaps
 * beyond two whole ones (of nr_blocks bits): more and it fails, and the
 * build is redone in one thread, which holds one at a time. */
#define PART_SLACK_BYTES (32ull << 20)

struct part_ws {
	struct wsacc acc;
	uint64_t first_bit;       /* UINT64_MAX: no bit given */
	int continued;            /* began before the part did */
};

struct era_build_part {
	struct era_builder *b;
	enum state st;
	struct era_build_params p;
	struct part_ws *ws;       /* in document order */
	uint32_t nr_ws;
	size_t cap_ws;
	struct part_ws *cur;
	int started_in_ea;
	struct eaw ea;
	uint32_t ea_max;
	uint64_t held_bytes, max_held_bytes;  /* bitmaps held (until the join) */
};

/* Takes bytes more of bitmap memory, within the part's bound. */
static int part_take(struct era_build_part *q, uint64_t bytes, struct pd_err *e);

int era_build_part_new(struct era_builder *b, struct era_build_part **out, struct pd_err *e)
{
	struct era_build_part *q;
	int r;

	if (b->st != S_SB && b->st != S_WS && b->st != S_EA)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "part out of place");
	if (b->p.options)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "no parallel build with repair options");
	q = calloc(1, sizeof(*q));
	if (!q)
		return pd_fail(e, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	q->b = b;
	q->p = b->p;
	r = eaw_init(&q->ea, b->ea.fd, b->ea.nr, b->ea.dry, e);
	if (r) {
		free(q);
		return r;
	}
	q->max_held_bytes = 2 * 8 * pd_bitset_words(b->p.nr_blocks) + PART_SLACK_BYTES;
	q->st = S_SB;
	*out = q;
	return 0;
}

void era_build_part_free(struct era_build_part *q)
{
	if (!q)
		return;
	for (uint32_t i = 0; i < q->nr_ws; i++)
		free(q->ws[i].acc.bits);
	free(q->ws);
	eaw_free(&q->ea);
	free(q);
}

static int part_fail(struct era_build_part *q, struct pd_err *e, int code, const char *msg)
{
	q->st = S_FAILED;
	return pd_fail(e, code, PD_NO_BLOCK, "%s", msg);
}

static int part_take(struct era_build_part *q, uint64_t bytes, struct pd_err *e)
{
	if (bytes > q->max_held_bytes - q->held_bytes)
		return part_fail(q, e, PD_E_NOMEM, "the second part would hold too many writeset bitmaps");
	q->held_bytes += bytes;
	return 0;
}

/* As era_build_hold_all() of the builder, within the part's bound. */
static int part_hold_all(struct era_build_part *q, struct part_ws *w, struct pd_err *e)
{
	uint64_t have = pd_bitset_words(w->acc.held_bits), words = pd_bitset_words(w->acc.nr_bits);
	int r;

	if (q->ea.dry)
		return 1;
	if ((r = part_take(q, (words - have) * 8, e)))
		return r;
	if (wsacc_hold_all(&w->acc))
		return part_fail(q, e, PD_E_NOMEM, "out of memory");
	return 0;
}

static int part_ws_add(struct era_build_part *q, uint32_t era, uint32_t nr_bits, int continued, struct pd_err *e)
{
	struct part_ws *w;
	uint64_t held;
	int r;

	if (q->st != S_SB || q->started_in_ea)
		return part_fail(q, e, PD_E_INVAL, "writeset out of place");
	if (era > q->p.current_era || nr_bits > ERA_MAX_NR_BITS)
		return part_fail(q, e, PD_E_RANGE, "writeset out of range");
	if (era_build_bitset_bytes(nr_bits) > q->b->dev->size_bytes)
		return part_fail(q, e, PD_E_NOSPC, "output too small");
	for (uint32_t i = 0; i < q->nr_ws; i++)
		if (q->ws[i].acc.era == era)
			return part_fail(q, e, PD_E_INVAL, "writeset given twice");
	w = pd_grow(q->ws, &q->cap_ws, q->nr_ws, sizeof(*w), 4);
	if (!w)
		return part_fail(q, e, PD_E_NOMEM, "out of memory");
	q->ws = w;
	w = &q->ws[q->nr_ws];
	memset(w, 0, sizeof(*w));
	held = q->ea.dry ? 0 : held_for(nr_bits, q->p.nr_blocks);
	if ((r = part_take(q, pd_bitset_words(held) * 8, e)))
		return r;
	if (wsacc_start(&w->acc, era, nr_bits, held))
		return part_fail(q, e, PD_E_NOMEM, "out of memory");
	q->nr_ws++;
	w->first_bit = UINT64_MAX;
	w->continued = continued;
	q->cur = w;
	q->st = S_WS;
	return 0;
}

int era_build_part_writeset_continue(struct era_build_part *q, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	if (q->nr_ws)
		return part_fail(q, e, PD_E_INVAL, "writeset continued out of place");
	return part_ws_add(q, era, nr_bits, 1, e);
}

int era_build_part_writeset_begin(struct era_build_part *q, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	return part_ws_add(q, era, nr_bits, 0, e);
}

static int part_check_bit(struct era_build_part *q, uint64_t block, int value, struct pd_err *e)
{
	switch (wsacc_check(&q->cur->acc, block, value, q->p.nr_blocks)) {
	case PD_E_ORDER:
		return part_fail(q, e, PD_E_ORDER, "bit out of order");
	case PD_E_RANGE:
		return part_fail(q, e, PD_E_RANGE, "bit out of range");
	}
	return 0;
}

int era_build_part_bit(struct era_build_part *q, uint32_t block, int value, struct pd_err *e)
{
	struct part_ws *w = q->cur;

	if (__builtin_expect(q->st != S_WS, 0))
		return part_fail(q, e, PD_E_INVAL, "bit out of place");
	if (__builtin_expect(block < w->acc.next_bit || block >= w->acc.held_bits || w->first_bit == UINT64_MAX, 0)) {
		int r = part_check_bit(q, block, value, e);
		if (r)
			return r;
		if (value && block >= w->acc.held_bits && (r = part_hold_all(q, w, e))) {
			if (r < 0)
				return r;
			value = 0;
		}
		if (w->first_bit == UINT64_MAX)
			w->first_bit = block;
	}
	if (value)
		pd_bit_set(w->acc.bits, block);
	w->acc.next_bit = (uint64_t)block + 1;
	return 0;
}

int era_build_part_run(struct era_build_part *q, uint32_t begin, uint32_t len, struct pd_err *e)
{
	struct part_ws *w = q->cur;
	uint64_t end = (uint64_t)begin + len;
	int r;

	if (q->st != S_WS)
		return part_fail(q, e, PD_E_INVAL, "marked out of place");
	if (!len)
		return 0;
	if ((r = part_check_bit(q, begin, 1, e)) || (r = part_check_bit(q, end - 1, 1, e)))
		return r;
	r = end > w->acc.held_bits ? part_hold_all(q, w, e) : 0;
	if (r < 0)
		return r;
	if (w->first_bit == UINT64_MAX)
		w->first_bit = begin;
	if (!r)
		wsacc_set_range(w->acc.bits, begin, end);
	w->acc.next_bit = end;
	return 0;
}

int era_build_part_writeset_end(struct era_build_part *q, struct pd_err *e)
{
	if (q->st != S_WS)
		return part_fail(q, e, PD_E_INVAL, "end of writeset out of place");
	q->st = S_SB;
	return 0;
}

int era_build_part_era_array_begin(struct era_build_part *q, struct pd_err *e)
{
	if (q->st != S_SB || q->started_in_ea)
		return part_fail(q, e, PD_E_INVAL, "era_array out of place");
	q->ea.first = 0;
	q->ea.next = 0;
	q->st = S_EA;
	return 0;
}

int era_build_part_era_array_continue(struct era_build_part *q, struct pd_err *e)
{
	if (q->st != S_SB || q->nr_ws)
		return part_fail(q, e, PD_E_INVAL, "era_array continued out of place");
	q->started_in_ea = 1;
	q->ea.next = UINT64_MAX; /* no block is that: the first entry takes the slow path */
	q->st = S_EA;
	return 0;
}

int era_build_part_era(struct era_build_part *q, uint32_t block, uint32_t era, struct pd_err *e)
{
	if (__builtin_expect(q->st != S_EA, 0))
		return part_fail(q, e, PD_E_INVAL, "era out of place");
	if (__builtin_expect(block != q->ea.next, 0)) {
		if (q->ea.first != UINT64_MAX)
			return part_fail(q, e, PD_E_ORDER, "era entries not consecutive");
		q->ea.first = q->ea.next = block;
	}
	if (__builtin_expect(block >= q->p.nr_blocks || era > q->p.current_era, 0))
		return part_fail(q, e, PD_E_RANGE, "era entry out of range");
	if (era > q->ea_max)
		q->ea_max = era;
	if (__builtin_expect(eaw_push(&q->ea, era, e) != 0, 0)) {
		q->st = S_FAILED;
		return -PD_E_IO;
	}
	return 0;
}

int era_build_part_era_array_end(struct era_build_part *q, struct pd_err *e)
{
	int r;

	if (q->st != S_EA)
		return part_fail(q, e, PD_E_INVAL, "end of era_array out of place");
	r = eaw_end(&q->ea, e);
	if (r) {
		q->st = S_FAILED;
		return r;
	}
	q->st = S_ENDED;
	return 0;
}

static int join_fail(struct era_builder *b, struct pd_err *e, const char *what)
{
	return era_build_fail(b, e, PD_E_INVAL, "parallel build: %s", what);
}

int era_build_join(struct era_builder *b, struct era_build_part *q, struct pd_err *e)
{
	struct eaw *a = &b->ea, *c = &q->ea;
	uint32_t i = 0;
	int r;

	if (q->st != S_ENDED)
		return join_fail(b, e, "the second part did not end");
	if (q->started_in_ea) {
		if (b->st != S_EA)
			return join_fail(b, e, "the first part did not end in the era array");
	} else {
		struct part_ws *w = q->nr_ws ? &q->ws[0] : NULL;

		if (!w || !w->continued || b->st != S_WS || !b->pending || b->cur.era != w->acc.era ||
		    b->cur.nr_bits != w->acc.nr_bits || (w->first_bit != UINT64_MAX && w->first_bit < b->cur.next_bit))
			return join_fail(b, e, "the parts do not meet in a writeset");
		if (w->acc.held_bits > b->cur.held_bits && (r = era_build_hold_all(b, e)))
			return r < 0 ? r : join_fail(b, e, "a dry run holds no bits");
		wsacc_or(&b->cur, &w->acc);
		if (w->first_bit != UINT64_MAX)
			b->cur.next_bit = w->acc.next_bit;
		if ((r = era_build_writeset_end(b, e)))
			return r;
		for (i = 1; i < q->nr_ws; i++) {
			w = &q->ws[i];
			if ((r = era_build_writeset_begin(b, w->acc.era, w->acc.nr_bits, e)))
				return r;
			if (w->acc.held_bits > b->cur.held_bits && (r = era_build_hold_all(b, e)))
				return r < 0 ? r : join_fail(b, e, "a dry run holds no bits");
			wsacc_or(&b->cur, &w->acc);
			b->cur.next_bit = w->acc.next_bit;
			if ((r = era_build_writeset_end(b, e)))
				return r;
		}
		if ((r = era_build_era_array_begin(b, e)))
			return r;
	}
	/* the era array: the first part's last block and the second's first */
	if (c->first != UINT64_MAX) {
		if (c->first != a->next)
			return join_fail(b, e, "the era array's parts do not meet");
		if (a->cur && a->cur_n < a->cur_cap) {
			if (!c->have_head || c->head_blk != a->cur_blk || c->next < a->cur_blk * EA_PER + a->cur_cap)
				return join_fail(b, e, "the era array's parts do not meet");
			memcpy(a->cur + a->cur_n, (uint32_t *)(void *)(c->head + sizeof(struct pd_disk_array_header)) + a->cur_n,
			       (size_t)(a->cur_cap - a->cur_n) * 4);
			a->cur_n = a->cur_cap;
		} else if (c->have_head) {
			return join_fail(b, e, "the era array's parts do not meet");
		}
		a->next = c->next;
	}
	if (q->ea_max > b->ea_max)
		b->ea_max = q->ea_max;
	return era_build_era_array_end(b, e);
}

static int part_feed_ws_begin(void *q, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	return era_build_part_writeset_begin(q, era, nr_bits, e);
}

static int part_feed_ws_continue(void *q, uint32_t era, uint32_t nr_bits, struct pd_err *e)
{
	return era_build_part_writeset_continue(q, era, nr_bits, e);
}

static int part_feed_bit(void *q, uint32_t block, int value, struct pd_err *e)
{
	return era_build_part_bit(q, block, value, e);
}

static int part_feed_marked(void *q, uint32_t begin, uint32_t len, struct pd_err *e)
{
	return era_build_part_run(q, begin, len, e);
}

static int part_feed_ws_end(void *q, struct pd_err *e)
{
	return era_build_part_writeset_end(q, e);
}

static int part_feed_ea_begin(void *q, struct pd_err *e)
{
	return era_build_part_era_array_begin(q, e);
}

static int part_feed_ea_continue(void *q, struct pd_err *e)
{
	return era_build_part_era_array_continue(q, e);
}

static int part_feed_era(void *q, uint32_t block, uint32_t era, struct pd_err *e)
{
	return era_build_part_era(q, block, era, e);
}

static int part_feed_ea_end(void *q, struct pd_err *e)
{
	return era_build_part_era_array_end(q, e);
}

struct era_feed era_build_part_feed(struct era_build_part *q)
{
	return (struct era_feed){
		.ctx = q,
		.writeset_begin = part_feed_ws_begin,
		.writeset_continue = part_feed_ws_continue,
		.bit = part_feed_bit,
		.marked = part_feed_marked,
		.writeset_end = part_feed_ws_end,
		.era_array_begin = part_feed_ea_begin,
		.era_array_continue = part_feed_ea_continue,
		.era = part_feed_era,
		.era_array_end = part_feed_ea_end,
	};
}
