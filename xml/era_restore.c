#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libxml/parser.h>
#include "../libpd/io.h"
#include "era_restore.h"

/* Regular files of at least this many bytes are parsed by two threads
 * (struct era_restore_opts says otherwise for tests and benchmarks). The
 * cut: the first <bit>, <marked> or <era> line from a little past the
 * middle (<era> lines are shorter, so more work per byte). */
#define PARALLEL_MIN (1ull << 20)
#define CUT_PERMILLE 520
#define HEAD_MAX (64u * 1024u)       /* the <superblock> start tag must be in there */
#define SCAN (256u * 1024u)          /* window of the searches for the cut */
#define CUT_SEARCH_MAX (16ull << 20) /* how far after the target to look for a cut */
#define TAG_MAX 4096u                /* a context start tag longer than this: no cut */

/* The builder (ctx) begun with the document's superblock. */
static int build_begin(void *ctx, const struct era_xml_superblock *sb, struct pd_err *e)
{
	struct era_build_params p;

	memset(&p, 0, sizeof(p));
	p.data_block_size = sb->block_size;
	p.nr_blocks = sb->nr_blocks;
	p.current_era = sb->current_era;
	p.flags = 1;   /* as 1.1.0 writes; the kernel ignores and rewrites flags */
	return era_build_begin(ctx, &p, e);
}

/* An output too small is not about a place in the XML. */
static int restore_err(int r, struct pd_err *err)
{
	if (r < 0 && err->code == PD_E_NOSPC)
		err->line = err->col = 0;
	return r;
}

/* 0, or -PD_E_* with err filled: a commit's write and space failures are
 * the output's. */
static int commit(struct era_builder *b, struct pd_err *err)
{
	int r;

	pd_err_clear(err);
	r = era_build_commit(b, err);
	if (r && (err->code == PD_E_IO || err->code == PD_E_NOSPC))
		err->source = PD_SRC_OUTPUT;
	return r;
}

/* ---- the parallel path ---- */

/* The superblock of a piece: the head's (ctx), that the builder began with. */
static int sb_check(void *ctx, const struct era_xml_superblock *sb, struct pd_err *e)
{
	const struct era_xml_superblock *h = ctx;

	if (h->block_size != sb->block_size || h->nr_blocks != sb->nr_blocks || h->current_era != sb->current_era)
		return pd_fail(e, PD_E_INVAL, PD_NO_BLOCK, "superblock differs");
	return 0;
}

/* The first line whose (blank-led) <bit , <marked  or <era  tag starts at or
 * after `from`: the offset of its '<', or 0. */
static uint64_t find_cut(int fd, uint64_t from, uint64_t size, char *buf)
{
	uint64_t start = from > 64 ? from - 64 : 0;

	for (uint64_t at = start; at < size && at < start + CUT_SEARCH_MAX; at += SCAN - 64) {
		size_t n, i;
		const char *nl;

		if (pd_pread_all(fd, buf, SCAN, at, &n) || n < 64)
			return 0;
		for (i = 0; (nl = memchr(buf + i, '\n', n - i)); ) {
			size_t k = (size_t)(nl - buf) + 1;
			while (k < n && (buf[k] == ' ' || buf[k] == '\t'))
				k++;
			if (k + 8 > n)
				break;
			if (at + k >= from &&
			    (!memcmp(buf + k, "<bit ", 5) || !memcmp(buf + k, "<era ", 5) || !memcmp(buf + k, "<marked ", 8)))
				return at + k;
			i = (size_t)(nl - buf) + 1;
		}
		if (n < SCAN)
			return 0;
	}
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* The last "<writeset" + blank or "<era_array" + blank or '>' in buf[0, n):
 * its offset, or -1. Dumps' <bit> and <era> lines have no 'w' nor '_', so
 * searching backwards for those letters skips them quickly. */
static long last_context(const char *buf, size_t n)
{
	long best = -1;
	size_t end = n;
	const char *q;

	while (end && (q = memrchr(buf, 'w', end))) {
		size_t i = (size_t)(q - buf);
		if (i >= 1 && i + 9 <= n && !memcmp(q - 1, "<writeset", 9) && is_blank(q[8])) {
			best = (long)i - 1;
			break;
		}
		end = i;
	}
	end = n;
	while (end && (q = memrchr(buf, '_', end))) {
		size_t i = (size_t)(q - buf);
		if (i >= 4 && i + 7 <= n && !memcmp(q - 4, "<era_array", 10) && (q[6] == '>' || is_blank(q[6]))) {
			if ((long)i - 4 > best)
				best = (long)i - 4;
			break;
		}
		end = i;
	}
	return best;
}

struct second {
	pthread_t th;
	struct era_xml_superblock sb;   /* from the head, before the threads */
	struct era_feed feed;           /* the part's */
	struct era_xml_piece pc;
	struct pd_err err;
	const char *head;
	size_t head_len;
	char *prefix;
	int r;
	uint64_t *progress;
	struct timespec t0, t1, cpu;
};

/* Thread B: finds the element open at the cut (backwards from it), then
 * parses from the cut to the end. */
static void *second_main(void *arg)
{
	struct second *s = arg;
	const struct era_xml_events ev = {
		.ctx = &s->sb,
		.superblock_begin = sb_check,
		.feed = &s->feed,
		.bytes_read = s->progress,
	};
	uint64_t hi = s->pc.begin, lo;
	char *buf = malloc(SCAN + TAG_MAX);
	long at = -1;
	size_t n = 0, tag_len;
	char *gt;

	s->r = -PD_E_INVAL; /* until the piece is parsed: no cut to start from */
	if (!buf)
		goto out;
	for (; hi > s->head_len && !__atomic_load_n(s->pc.stop, __ATOMIC_RELAXED); hi = lo + 16) {
		lo = hi - s->head_len > SCAN ? hi - SCAN : s->head_len;
		if (pd_pread_all(s->pc.fd, buf, (size_t)(hi - lo), lo, &n) || n != hi - lo)
			goto out;
		if ((at = last_context(buf, n)) >= 0)
			break;
		if (lo == s->head_len)
			goto out;
	}
	if (at < 0)
		goto out;
	/* the start tag, up to its '>' */
	if (pd_pread_all(s->pc.fd, buf, TAG_MAX, lo + (uint64_t)at, &n) || !(gt = memchr(buf, '>', n)))
		goto out;
	tag_len = (size_t)(gt + 1 - buf);
	if (lo + (uint64_t)at + tag_len > s->pc.begin)
		goto out;
	s->prefix = malloc(s->head_len + tag_len);
	if (!s->prefix)
		goto out;
	memcpy(s->prefix, s->head, s->head_len);
	memcpy(s->prefix + s->head_len, buf, tag_len);
	free(buf);
	buf = NULL;
	s->pc.prefix = s->prefix;
	s->pc.prefix_len = s->head_len + tag_len;
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	s->r = era_xml_parse_piece(&s->pc, &ev, &s->err);
	clock_gettime(CLOCK_MONOTONIC, &s->t1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &s->cpu);
out:
	free(buf);
	if (s->r)
		__atomic_store_n(s->pc.stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* 0: restored and committed. 1: not done (not worth it, or something
 * failed): the caller restores sequentially from the start. Negative, a
 * -PD_E_*: the commit failed (err filled; the same as a sequential run
 * would say). */
static int restore_parallel(int fd, uint64_t size, struct era_builder *b, uint64_t *progress,
			    const struct era_restore_opts *o, struct era_restore_report *rep, struct pd_err *err)
{
	struct era_feed feed_a;
	struct era_xml_events ev_a = { .superblock_begin = sb_check, .feed = &feed_a, .bytes_read = progress };
	struct era_xml_superblock sb;
	struct era_build_part *q = NULL;
	struct pd_err err_a;
	struct second s;
	struct pd_err e = { 0 };
	char *head = malloc(SCAN);
	uint64_t target, cut, permille;
	size_t n, head_len;
	int stop = 0, r = 1, ra = 0;
	struct timespec ta0 = {0}, ta1 = {0}, tacpu = {0};

	memset(&s, 0, sizeof(s));
	s.progress = progress;
	if (!head || pd_pread_all(fd, head, HEAD_MAX, 0, &n))
		goto out_early;
	head_len = era_xml_probe_head(head, n, &sb);
	if (!head_len)
		goto out_early;
	/* where to cut: as the caller says (tests), or a little past the middle */
	permille = o && o->cut_permille ? o->cut_permille : CUT_PERMILLE;
	target = permille < 1000 ? (uint64_t)((double)size * (double)permille / 1000.0) : size / 2;
	if (o && o->cut_at)
		target = o->cut_at;
	if (target < head_len)
		target = head_len;
	{
		char *buf = malloc(SCAN);
		cut = buf ? find_cut(fd, target, size, buf) : 0;
		free(buf);
	}
	if (!cut || cut <= head_len)
		goto out_early;

	memset(&e, 0, sizeof(e));
	if (build_begin(b, &sb, &e) || era_build_part_new(b, &q, &e))
		goto out;
	feed_a = era_build_feed(b);
	ev_a.ctx = &sb;
	s.sb = sb;
	s.feed = era_build_part_feed(q);
	s.head = head;
	s.head_len = head_len;
	s.pc = (struct era_xml_piece){ .kind = ERA_XML_SECOND, .fd = fd, .begin = cut, .end = size, .stop = &stop };
	if (pthread_create(&s.th, NULL, second_main, &s))
		goto out;
	{
		const struct era_xml_piece pa = { .kind = ERA_XML_FIRST, .fd = fd, .begin = 0, .end = cut, .stop = &stop };
		clock_gettime(CLOCK_MONOTONIC, &ta0);
		ra = era_xml_parse_piece(&pa, &ev_a, &err_a);
		clock_gettime(CLOCK_MONOTONIC, &ta1);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &tacpu);
	}
	pthread_join(s.th, NULL);
	if (ra || s.r)
		goto out;
	if (era_build_join(b, q, &e))
		goto out;
	r = commit(b, err);
out:
#define TS(t) ((double)(t).tv_sec + (double)(t).tv_nsec / 1e9)
	if (rep) {
		rep->tried = 1;
		rep->status = r == 0 ? ERA_RESTORE_PAR_OK : r < 0 ? ERA_RESTORE_PAR_COMMIT_FAILED : ERA_RESTORE_PAR_REDONE;
		rep->cut = cut;
		/* the piece that failed first (the other was stopped) */
		int first = ra && !(s.r && !strcmp(err_a.msg, "stopped"));
		snprintf(rep->why, sizeof(rep->why), "%s%s", first ? "first: " : s.r ? "second: " : "",
			 first ? err_a.msg : s.r ? s.err.msg : r > 0 ? e.msg : "");
		rep->first_s = TS(ta1) - TS(ta0);
		rep->first_cpu_s = TS(tacpu);
		rep->second_s = TS(s.t1) - TS(s.t0);
		rep->second_cpu_s = TS(s.cpu);
		rep->second_from_s = TS(s.t0) - TS(ta0);
	}
	if (0) {
out_early:
		if (rep) {
			rep->tried = 1;
			rep->status = ERA_RESTORE_PAR_NO_CUT;
		}
	}
	era_build_part_free(q);
	free(s.prefix);
	free(head);
	return r;
}

int era_xml_restore(int fd, struct era_builder *b, uint64_t *progress, const struct era_restore_opts *o,
		    struct era_restore_report *rep, struct pd_err *err)
{
	const struct era_feed feed = era_build_feed(b);
	const struct era_xml_events ev = { .ctx = b, .superblock_begin = build_begin, .feed = &feed, .bytes_read = progress };
	struct stat st;
	int threads = o ? o->threads : ERA_RESTORE_AUTO;
	uint64_t min = o && o->parallel_min ? o->parallel_min : PARALLEL_MIN;
	int r;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (threads != ERA_RESTORE_ONE_THREAD && !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (threads == ERA_RESTORE_TWO_THREADS || (uint64_t)st.st_size >= min) && lseek(fd, 0, SEEK_CUR) == 0) {
		xmlInitParser();
		r = restore_parallel(fd, (uint64_t)st.st_size, b, progress, o, rep, err);
		if (r <= 0)
			return restore_err(r, err);
		if (progress)
			__atomic_store_n(progress, 0, __ATOMIC_RELAXED);
		/* redo it all in one thread: its errors are the ones to report */
		era_build_reset(b);
		if (lseek(fd, 0, SEEK_SET) != 0) {
			r = pd_fail(err, PD_E_IO, PD_NO_BLOCK, "cannot seek back to the start: %s", strerror(errno));
			err->source = PD_SRC_DOCUMENT;
			return r;
		}
	}
	r = era_xml_parse_fd(fd, &ev, err);
	if (r)
		return restore_err(r, err);
	return commit(b, err);
}
