/* libFuzzer, differential: era_restore's two-thread path against its
 * single-thread parse. Each input document is restored twice, to two
 * memfds: once in one thread, once in two threads cut at a point derived
 * from the input's bytes. The two must agree on success or failure, on
 * the error (code, place, message) and, on success, on every output byte;
 * a failed run must leave block 0 zero in both. Anything else aborts. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../libpd/bdev.h"
#include "../../xml/era_restore.h"

#define OUT_BYTES (1u << 20)

static int in_fd = -1, out_fd[2] = { -1, -1 };
static char out_path[2][64];
static unsigned long runs, both_ok, cut_ok, cut_redone, no_cut;
static unsigned char *out_buf[2];

static void stats(void)
{
	fprintf(stderr, "fuzz_restore_split: %lu runs, %lu restored: two threads kept %lu, redone in one %lu, "
		"no cut %lu; 0 differences\n", runs, both_ok, cut_ok, cut_redone, no_cut);
}

static int memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	return fd;
}

static void init(void)
{
	if (in_fd >= 0)
		return;
	in_fd = memfd("split-in");
	for (int i = 0; i < 2; i++) {
		out_fd[i] = memfd("split-out");
		snprintf(out_path[i], sizeof(out_path[i]), "/proc/self/fd/%d", out_fd[i]);
		out_buf[i] = malloc(OUT_BYTES);
		if (!out_buf[i])
			abort();
	}
	atexit(stats);
}

/* 32-bit FNV-1a: the cut follows the bytes, so mutations move it. */
static uint32_t hash(const uint8_t *d, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

struct result {
	int r;
	struct pd_err err;
	struct era_restore_report rep;
};

static void restore(int k, const struct era_restore_opts *o, struct result *res)
{
	struct era_builder *b;
	struct pd_bdev dev;
	struct pd_err e;

	memset(res, 0, sizeof(*res));
	if (ftruncate(out_fd[k], 0) || ftruncate(out_fd[k], OUT_BYTES) || lseek(in_fd, 0, SEEK_SET) != 0)
		abort();
	if (pd_bdev_open(&dev, out_path[k], PD_OPEN_WRITE, &e) || era_build_open(&b, &dev, &e)) {
		fprintf(stderr, "cannot open the output: %s\n", e.msg);
		abort();
	}
	res->r = era_xml_restore(in_fd, b, NULL, o, &res->rep, &res->err);
	era_build_free(b);
	pd_bdev_close(&dev);
	if (pread(out_fd[k], out_buf[k], OUT_BYTES, 0) != (ssize_t)OUT_BYTES)
		abort();
}

static void differ(const char *what, const struct result *a, const struct result *b)
{
	fprintf(stderr, "fuzz_restore_split: %s differ: one thread r=%d code=%d %lu:%lu '%s'; "
		"two threads (cut at %llu, status %d: %s) r=%d code=%d %lu:%lu '%s'\n", what,
		a->r, a->err.code, a->err.line, a->err.col, a->err.msg, (unsigned long long)b->rep.cut,
		b->rep.status, b->rep.why, b->r, b->err.code, b->err.line, b->err.col, b->err.msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct era_restore_opts one = { .threads = ERA_RESTORE_ONE_THREAD };
	struct era_restore_opts two = { .threads = ERA_RESTORE_TWO_THREADS };
	static struct result a, b;
	static const unsigned char zero[4096];

	init();
	if (ftruncate(in_fd, 0) || (size && pwrite(in_fd, data, size, 0) != (ssize_t)size))
		abort();
	/* anywhere in the document, the cut search going on from there */
	two.cut_at = size ? 1 + hash(data, size) % size : 1;
	restore(0, &one, &a);
	restore(1, &two, &b);
	runs++;
	if (b.rep.status == ERA_RESTORE_PAR_OK)
		cut_ok++;
	else if (b.rep.status == ERA_RESTORE_PAR_NO_CUT)
		no_cut++;
	else
		cut_redone++;
	if (a.r != b.r)
		differ("exit statuses", &a, &b);
	if (a.r && (a.err.code != b.err.code || a.err.line != b.err.line || a.err.col != b.err.col ||
		    strcmp(a.err.msg, b.err.msg)))
		differ("errors", &a, &b);
	both_ok += !a.r;
	if (!a.r && memcmp(out_buf[0], out_buf[1], OUT_BYTES))
		differ("outputs", &a, &b);
	if (a.r && (memcmp(out_buf[0], zero, sizeof(zero)) || memcmp(out_buf[1], zero, sizeof(zero))))
		differ("failed outputs (block 0 not zero)", &a, &b);
	return 0;
}
