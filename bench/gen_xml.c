/*
 * gen_xml - synthetic dm-era metadata XML for benchmarks, streamed.
 *
 *   gen_xml [-w WRITESETS] [-e CURRENT_ERA] [-s SEED] [-d PERCENT]
 *           [-r MEAN_RUN] [-b BLOCK_SIZE] [-o FILE] NR_BLOCKS
 *
 * Writes the exact layout era_dump prints (doc/reference-behaviour.md
 * section 1): a <superblock>, then WRITESETS writesets with the contiguous
 * eras CURRENT_ERA-WRITESETS+1 .. CURRENT_ERA (so 1.1.0's era_dump accepts
 * the restored image), each with one <bit> line per block, then an
 * <era_array> with one <era> line per block, and no newline after the final
 * </superblock>.  A dump of the restored image is therefore byte-identical to
 * this output.
 *
 * Set bits come in clustered runs, like real writes: run lengths uniform in
 * 1 .. 2*MEAN_RUN-1 (default 8), gaps sized so that about PERCENT (default 5)
 * of each writeset's bits are set.  Era array values come in runs of 1..512
 * blocks with random eras below the oldest writeset's era.  Everything is
 * deterministic from SEED.  Defaults: 2 writesets, current era WRITESETS+8.
 *
 * Nothing is held in memory: lines are formatted into a 1 MiB buffer with a
 * decimal counter that is incremented in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (1u << 20)

struct out {
	int fd;
	const char *name;
	char *buf;
	size_t len;
};

static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "gen_xml: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(1);
}

static void flush_out(struct out *o)
{
	size_t off = 0;
	while (off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				exit(1);
			die(strerror(errno), o->name);
		}
		off += (size_t)n;
	}
	o->len = 0;
}

static inline char *reserve(struct out *o, size_t n)
{
	if (o->len + n > BUF_SIZE)
		flush_out(o);
	return o->buf + o->len;
}

static void put_str(struct out *o, const char *s)
{
	size_t n = strlen(s);
	memcpy(reserve(o, n), s, n);
	o->len += n;
}

/* splitmix64: small, fast, good enough, and the same everywhere. */
static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd_next(s) % n : 0;
}

/* Decimal counter for the block number, incremented in place. */
struct counter {
	char d[24];
	unsigned len;
};

static void counter_zero(struct counter *c)
{
	c->d[0] = '0';
	c->len = 1;
}

static inline void counter_inc(struct counter *c)
{
	int i = (int)c->len - 1;
	while (i >= 0 && c->d[i] == '9')
		c->d[i--] = '0';
	if (i >= 0) {
		c->d[i]++;
	} else {
		memmove(c->d + 1, c->d, c->len);
		c->d[0] = '1';
		c->len++;
	}
}

static unsigned fmt_u64(char *p, uint64_t v)
{
	char t[24];
	unsigned n = 0, i;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		die("bad number for", what);
	return v;
}

static void usage(void)
{
	fputs("usage: gen_xml [-w WRITESETS] [-e CURRENT_ERA] [-s SEED] [-d PERCENT]\n"
	      "               [-r MEAN_RUN] [-b BLOCK_SIZE] [-o FILE] NR_BLOCKS\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t nr_ws = 2, seed = 1, percent = 5, mean_run = 8, block_size = 128;
	uint64_t cur_era = 0;
	int have_era = 0, c;
	const char *path = NULL;

	while ((c = getopt(argc, argv, "w:e:s:d:r:b:o:h")) != -1) {
		switch (c) {
		case 'w': nr_ws = parse_u64(optarg, "-w"); break;
		case 'e': cur_era = parse_u64(optarg, "-e"); have_era = 1; break;
		case 's': seed = parse_u64(optarg, "-s"); break;
		case 'd': percent = parse_u64(optarg, "-d"); break;
		case 'r': mean_run = parse_u64(optarg, "-r"); break;
		case 'b': block_size = parse_u64(optarg, "-b"); break;
		case 'o': path = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	uint64_t nr_blocks = parse_u64(argv[optind], "NR_BLOCKS");
	if (nr_blocks > UINT32_MAX)
		die("NR_BLOCKS too large", argv[optind]);
	if (!have_era)
		cur_era = nr_ws + 8;
	if (nr_ws > cur_era + 1 || cur_era > UINT32_MAX)
		die("need WRITESETS <= CURRENT_ERA + 1 and CURRENT_ERA < 2^32", NULL);
	if (percent < 1 || percent > 100 || mean_run < 1)
		die("need 1 <= PERCENT <= 100 and MEAN_RUN >= 1", NULL);
	uint64_t oldest = cur_era + 1 - nr_ws; /* first writeset era */
	/* mean gap so that run / (run + gap) = percent / 100 */
	uint64_t mean_gap = mean_run * (100 - percent) / percent;

	struct out o = { .fd = 1, .name = "stdout", .len = 0 };
	if (path) {
		o.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o.fd < 0)
			die(strerror(errno), path);
		o.name = path;
	}
	o.buf = malloc(BUF_SIZE);
	if (!o.buf)
		die("out of memory", NULL);

	char line[160];
	snprintf(line, sizeof(line),
		 "<superblock uuid=\"\" block_size=\"%" PRIu64 "\" nr_blocks=\"%" PRIu64
		 "\" current_era=\"%" PRIu64 "\">\n", block_size, nr_blocks, cur_era);
	put_str(&o, line);

	static const char bit_pre[] = "    <bit block=\"";
	static const char bit_true[] = "\" value=\"true\"/>\n";
	static const char bit_false[] = "\" value=\"false\"/>\n";
	struct counter ctr;

	for (uint64_t era = oldest; era <= cur_era && nr_ws; era++) {
		uint64_t rs = seed * 0x100000001b3ull ^ (era + 1) * 0x9e3779b97f4a7c15ull;
		snprintf(line, sizeof(line), "  <writeset era=\"%" PRIu64 "\" nr_bits=\"%" PRIu64 "\">\n",
			 era, nr_blocks);
		put_str(&o, line);
		/* alternate gap (false) and run (true) segments */
		uint64_t b = 0;
		int on = 0;
		uint64_t seg_end = rnd_below(&rs, 2 * mean_gap + 1);
		counter_zero(&ctr);
		while (b < nr_blocks) {
			uint64_t end = seg_end < nr_blocks ? seg_end : nr_blocks;
			const char *suf = on ? bit_true : bit_false;
			size_t suf_len = on ? sizeof(bit_true) - 1 : sizeof(bit_false) - 1;
			for (; b < end; b++) {
				char *p = reserve(&o, 64);
				memcpy(p, bit_pre, sizeof(bit_pre) - 1);
				p += sizeof(bit_pre) - 1;
				memcpy(p, ctr.d, ctr.len);
				p += ctr.len;
				memcpy(p, suf, suf_len);
				o.len += sizeof(bit_pre) - 1 + ctr.len + suf_len;
				counter_inc(&ctr);
			}
			on = !on;
			seg_end = b + (on ? 1 + rnd_below(&rs, 2 * mean_run - 1)
					  : rnd_below(&rs, 2 * mean_gap + 1));
		}
		put_str(&o, "  </writeset>\n");
	}

	put_str(&o, "  <era_array>\n");
	{
		static const char era_pre[] = "    <era block=\"";
		static const char era_mid[] = "\" era=\"";
		static const char era_suf[] = "\"/>\n";
		uint64_t rs = seed * 0x100000001b3ull ^ 0x5bd1e9955bd1e995ull;
		char val[24];
		unsigned val_len = 0;
		uint64_t b = 0, run_end = 0;
		counter_zero(&ctr);
		while (b < nr_blocks) {
			if (b == run_end) {
				run_end = b + 1 + rnd_below(&rs, 512);
				val_len = fmt_u64(val, rnd_below(&rs, oldest)); /* < oldest */
			}
			uint64_t end = run_end < nr_blocks ? run_end : nr_blocks;
			for (; b < end; b++) {
				char *p = reserve(&o, 80);
				memcpy(p, era_pre, sizeof(era_pre) - 1);
				p += sizeof(era_pre) - 1;
				memcpy(p, ctr.d, ctr.len);
				p += ctr.len;
				memcpy(p, era_mid, sizeof(era_mid) - 1);
				p += sizeof(era_mid) - 1;
				memcpy(p, val, val_len);
				p += val_len;
				memcpy(p, era_suf, sizeof(era_suf) - 1);
				o.len += sizeof(era_pre) - 1 + ctr.len + sizeof(era_mid) - 1 + val_len +
					 sizeof(era_suf) - 1;
				counter_inc(&ctr);
			}
		}
	}
	put_str(&o, "  </era_array>\n</superblock>");
	flush_out(&o);
	if (path && close(o.fd) != 0)
		die(strerror(errno), path);
	free(o.buf);
	return 0;
}
