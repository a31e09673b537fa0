/* libFuzzer: random event streams into the builder (format/era_build.h),
 * onto a memfd. Either an error (any call may refuse), or a commit whose
 * walk gives back exactly the events (a model kept here: merges, clamps and
 * gaps included) and checks clean and digest-safe. Never a crash.
 * Input: nr_blocks (2 bytes), current_era, options and gap era, then one
 * event per byte with its arguments from the bytes after it. */
#include "fuzz_common.h"
#include "../../libpd/bitset.h"
#include "../../format/era_build.h"
#include "../../format/era_check.h"
#include "../../format/era_digest.h"

#define MAX_NR 2048u
#define MAX_BITS (MAX_NR + 64u)
#define MAX_WS 32u

struct mws {
	uint32_t era, nr_bits;
	uint64_t bits[MAX_BITS / 64 + 1];
};

struct model {
	struct mws ws[MAX_WS];
	uint32_t nr_ws;
	uint32_t eras[MAX_NR];
	uint32_t next_era;        /* era array entries given so far */
};

static struct model m;
static struct model got;
static int out_fd = -1;
static char out_path[64];

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned next(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static int cmp_ws(const void *a, const void *b)
{
	const struct mws *x = a, *y = b;
	return x->era < y->era ? -1 : x->era > y->era;
}

static int got_ws(void *ctx, const struct era_writeset_info *ws, const uint64_t *words)
{
	struct mws *w;

	(void)ctx;
	if (got.nr_ws == MAX_WS || ws->nr_bits > MAX_BITS)
		abort();
	w = &got.ws[got.nr_ws++];
	memset(w, 0, sizeof(*w));
	w->era = ws->era;
	w->nr_bits = ws->nr_bits;
	memcpy(w->bits, words, pd_bitset_words(ws->nr_bits) * 8);
	return 0;
}

static int got_era(void *ctx, uint64_t first, const void *values, uint32_t n)
{
	(void)ctx;
	for (uint32_t i = 0; i < n; i++) {
		if (first + i >= MAX_NR)
			abort();
		got.eras[first + i] = pd_get32((const unsigned char *)values + 4u * i);
	}
	got.next_era = (uint32_t)(first + n);
	return 0;
}

static void check_commit(const struct era_build_params *p)
{
	struct era_visitor v = { .writeset = got_ws, .era_block = got_era };
	struct era_walk_opts o = { 0 };
	struct era_check_opts co = { 0 };
	struct era_check_result res;
	struct era_digest_result dr;
	struct pd_bm *bm;
	struct pd_err e;

	memset(&got, 0, sizeof(got));
	if (pd_bm_open(&bm, out_path, PD_OPEN_RDONLY, 64, &e) || era_walk(bm, &o, &v, &e))
		abort();
	if (era_check_metadata(bm, &co, &res, &e) || !res.sb_ok || res.nr[ERA_SEV_FATAL] || res.nr[ERA_SEV_NONFATAL] ||
	    res.sb.nr_blocks != p->nr_blocks || res.sb.current_era != p->current_era) {
		fprintf(stderr, "committed metadata does not check clean\n");
		abort();
	}
	if (era_digest_check(bm, 0, &dr, &e) || dr.nr_unsafe)
		abort();
	pd_bm_close(bm);
	qsort(m.ws, m.nr_ws, sizeof(m.ws[0]), cmp_ws);
	if (got.nr_ws != m.nr_ws || got.next_era != p->nr_blocks) {
		fprintf(stderr, "walk: %u writesets, %u eras; given %u, %u\n", got.nr_ws, got.next_era, m.nr_ws,
			p->nr_blocks);
		abort();
	}
	for (uint32_t i = 0; i < m.nr_ws; i++) {
		const struct mws *a = &m.ws[i], *b = &got.ws[i];
		if (a->era != b->era || a->nr_bits != b->nr_bits)
			abort();
		for (uint32_t k = 0; k < a->nr_bits; k++)
			if (pd_bit_test(a->bits, k) != pd_bit_test(b->bits, k)) {
				fprintf(stderr, "writeset era %u bit %u differs\n", a->era, k);
				abort();
			}
	}
	for (uint32_t k = 0; k < p->nr_blocks; k++)
		if (m.eras[k] != got.eras[k]) {
			fprintf(stderr, "era of block %u: %u, given %u\n", k, got.eras[k], m.eras[k]);
			abort();
		}
}

/* Runs the events; returns 0 when everything up to the commit succeeded. */
static int run(struct era_builder *b, struct era_build_params *p, struct input *in)
{
	struct mws *cur = NULL;     /* the writeset open (or pending, for a merge) */
	uint32_t given_nr_bits = 0;
	uint64_t last_bit = 0;
	int in_ws = 0, ea_begun = 0, ea_ended = 0;
	uint64_t words[MAX_BITS / 64 + 1];
	struct pd_err e;

	if (era_build_begin(b, p, &e))
		return -1;
	while (in->n) {
		unsigned op = next(in);
		uint32_t x, y;

		switch (op % 8) {
		case 0: /* writeset begin */
			x = next(in) % 20;
			y = (next(in) | next(in) << 8) % (MAX_BITS + 1);
			if (era_build_writeset_begin(b, x, y, &e))
				return -1;
			if ((p->options & ERA_BUILD_MERGE_DUP) && cur && cur->era == x) {
				if (y > cur->nr_bits)
					cur->nr_bits = y;
			} else {
				if (m.nr_ws == MAX_WS)
					return -1;
				cur = &m.ws[m.nr_ws++];
				memset(cur, 0, sizeof(*cur));
				cur->era = x;
				cur->nr_bits = y;
			}
			given_nr_bits = y;
			last_bit = 0;
			in_ws = 1;
			break;
		case 1: /* bit: a step from the last one (0: the same block again) */
			x = (uint32_t)(last_bit + next(in) % 40);
			if (era_build_writeset_bit(b, x, (op >> 3) & 1, &e))
				return -1;
			if ((op >> 3) & 1)
				pd_bit_set(cur->bits, x);
			last_bit = (uint64_t)x + 1;
			break;
		case 2: /* marked run */
			x = (uint32_t)(last_bit + next(in) % 40);
			y = next(in) % 100;
			if (era_build_writeset_run(b, x, y, &e))
				return -1;
			for (uint32_t k = x; k < x + y; k++)
				pd_bit_set(cur->bits, k);
			if (y)
				last_bit = (uint64_t)x + y;
			break;
		case 3:
			if (era_build_writeset_end(b, &e))
				return -1;
			in_ws = 0;
			break;
		case 4:
			if (era_build_era_array_begin(b, &e))
				return -1;
			ea_begun = 1;
			cur = NULL;
			break;
		case 5: /* era: usually the next block, sometimes a jump (a gap) or a repeat */
			x = m.next_era;
			y = next(in);
			if (y % 8 == 0)
				x += y % 5;
			else if (y % 8 == 1 && x)
				x--;
			y = next(in) % 20;
			if (era_build_era(b, x, y, &e))
				return -1;
			while (m.next_era < x)
				m.eras[m.next_era++] = p->gap_era;
			m.eras[m.next_era++] = y > p->current_era ? p->current_era : y;
			break;
		case 6:
			if (era_build_era_array_end(b, &e))
				return -1;
			ea_ended = 1;
			break;
		case 7: /* words */
			for (unsigned k = 0; k < sizeof(words) / 8; k++)
				words[k] = (uint64_t)next(in) * 0x0101010101010101ull & (next(in) * 0x1001001001001001ull);
			if (era_build_writeset_words(b, words, &e))
				return -1;
			for (uint32_t k = 0; k < given_nr_bits; k++)
				if (pd_bit_test(words, k))
					pd_bit_set(cur->bits, k);
			last_bit = cur->nr_bits;
			break;
		}
	}
	/* close what is open so that a commit is reached */
	if (in_ws && era_build_writeset_end(b, &e))
		return -1;
	if (!ea_begun && era_build_era_array_begin(b, &e))
		return -1;
	if (!ea_ended) {
		while (!(p->options & ERA_BUILD_ALLOW_GAPS) && m.next_era < p->nr_blocks) {
			if (era_build_era(b, m.next_era, 0, &e))
				return -1;
			m.eras[m.next_era++] = 0;
		}
		if (era_build_era_array_end(b, &e))
			return -1;
	}
	while (m.next_era < p->nr_blocks)
		m.eras[m.next_era++] = p->gap_era;
	if (era_build_commit(b, &e)) {
		if (e.code == PD_E_NOSPC)
			abort(); /* 4 MiB holds any of these */
		return -1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct era_build_params p;
	struct era_builder *b;
	struct pd_bdev dev;
	struct pd_err e;
	unsigned opt;
	int r;

	if (size < 4)
		return 0;
	if (out_fd < 0) {
		out_fd = memfd_create("era-fuzz-build", MFD_CLOEXEC);
		if (out_fd < 0)
			abort();
		snprintf(out_path, sizeof(out_path), "/proc/self/fd/%d", out_fd);
	}
	memset(&p, 0, sizeof(p));
	memset(&m, 0, sizeof(m));
	p.data_block_size = 128;
	p.nr_blocks = (next(&in) | next(&in) << 8) % (MAX_NR + 1);
	p.current_era = next(&in) % 18;
	opt = next(&in);
	p.options = opt & 7;
	p.gap_era = (opt >> 3) % 18;
	p.flags = 1;
	if (ftruncate(out_fd, 0) || ftruncate(out_fd, 4u << 20))
		abort();
	if (pd_bdev_open(&dev, out_path, PD_OPEN_WRITE, &e))
		abort();
	if (era_build_open(&b, &dev, &e))
		abort();
	r = run(b, &p, &in);
	era_build_free(b);
	pd_bdev_close(&dev);
	if (!r)
		check_commit(&p);
	return 0;
}
