/* Builds dm-era metadata with the library's builder and reads it back with
 * the walker, for the builder, join, salvage and repair tests. */
#ifndef TESTS_UNIT_ERA_FIXTURE_H
#define TESTS_UNIT_ERA_FIXTURE_H
#include <gtest/gtest.h>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>
#include "shim.h"

/* A temporary file of a given size, open for writing as a pd_bdev. */
struct Dev {
	std::string path;
	pd_bdev d{};
	bool open = false;

	explicit Dev(uint64_t bytes)
	{
		char tmpl[] = "/tmp/era-unit-dev-XXXXXX";
		int fd = mkstemp(tmpl);
		EXPECT_GE(fd, 0);
		EXPECT_EQ(ftruncate(fd, (off_t)bytes), 0);
		close(fd);
		path = tmpl;
		pd_err e;
		EXPECT_EQ(pd_bdev_open(&d, path.c_str(), PD_OPEN_WRITE, &e), 0) << e.msg;
		open = true;
	}
	~Dev()
	{
		if (open)
			pd_bdev_close(&d);
		unlink(path.c_str());
	}
	std::vector<uint8_t> block(uint64_t b)
	{
		std::vector<uint8_t> r(PD_BLOCK_SIZE);
		EXPECT_EQ(pread(d.fd, r.data(), PD_BLOCK_SIZE, (off_t)(b * PD_BLOCK_SIZE)), (ssize_t)PD_BLOCK_SIZE);
		return r;
	}
	void put(uint64_t b, const std::vector<uint8_t> &blk)
	{
		ASSERT_EQ(pwrite(d.fd, blk.data(), PD_BLOCK_SIZE, (off_t)(b * PD_BLOCK_SIZE)), (ssize_t)PD_BLOCK_SIZE);
	}
	/* Changes a block with f, then reseals it with v (NULL: checksum left wrong). */
	template <class F> void patch(uint64_t b, const pd_validator *v, F f)
	{
		std::vector<uint8_t> blk = block(b);
		f(blk.data());
		if (v)
			v->prepare(v, blk.data(), b);
		put(b, blk);
	}
	/* Flips a payload byte of block b and leaves its checksum wrong. */
	void break_checksum(uint64_t b)
	{
		patch(b, nullptr, [](uint8_t *p) { p[200] ^= 0x55; });
	}
};

inline era_build_params params(uint32_t nr_blocks, uint32_t current_era, unsigned options = 0)
{
	era_build_params p{};
	p.data_block_size = 128;
	p.nr_blocks = nr_blocks;
	p.current_era = current_era;
	for (unsigned i = 0; i < ERA_UUID_LEN; i++)
		p.uuid[i] = (uint8_t)(0xa0 + i);
	p.flags = 1;
	p.options = options;
	p.gap_era = current_era;
	return p;
}

/* What the builder is fed: writesets as lists of set bits, then eras. */
struct Spec {
	era_build_params p;
	std::vector<std::pair<uint32_t, std::vector<uint32_t>>> ws; /* era, set bits (nr_bits = nr_blocks) */
	std::vector<uint32_t> eras;                                  /* one per block */
};

/* Feeds spec to a fresh builder on dev and commits. Returns the first error
 * (0 on success) with e filled. */
inline int build(Dev &dev, const Spec &s, pd_err *e, era_builder **keep = nullptr)
{
	era_builder *b;
	int r = era_build_open(&b, &dev.d, e);
	if (r)
		return r;
	r = era_build_begin(b, &s.p, e);
	for (size_t i = 0; !r && i < s.ws.size(); i++) {
		r = era_build_writeset_begin(b, s.ws[i].first, s.p.nr_blocks, e);
		for (size_t k = 0; !r && k < s.ws[i].second.size(); k++)
			r = era_build_writeset_bit(b, s.ws[i].second[k], 1, e);
		if (!r)
			r = era_build_writeset_end(b, e);
	}
	if (!r)
		r = era_build_era_array_begin(b, e);
	for (uint32_t i = 0; !r && i < s.eras.size(); i++)
		r = era_build_era(b, i, s.eras[i], e);
	if (!r)
		r = era_build_era_array_end(b, e);
	if (!r)
		r = era_build_commit(b, e);
	if (keep)
		*keep = b;
	else
		era_build_free(b);
	return r;
}

/* Everything a walk hands to its visitor. */
struct Walked {
	int rc = 0;
	bool have_sb = false;
	era_sb sb{};
	struct Ws {
		era_writeset_info info;
		std::vector<uint32_t> set;   /* set bits */
	};
	std::vector<Ws> ws;
	std::vector<uint32_t> eras;
	std::vector<pd_err> problems;

	static int on_sb(void *c, const era_sb *sb)
	{
		auto *w = static_cast<Walked *>(c);
		w->sb = *sb;
		w->have_sb = true;
		return 0;
	}
	static int on_ws(void *c, const era_writeset_info *ws, const uint64_t *words)
	{
		Ws x{*ws, {}};
		for (uint32_t b = 0; b < ws->nr_bits; b++)
			if ((words[b >> 6] >> (b & 63)) & 1)
				x.set.push_back(b);
		static_cast<Walked *>(c)->ws.push_back(x);
		return 0;
	}
	static int on_era(void *c, uint64_t first, const void *values, uint32_t n)
	{
		auto *w = static_cast<Walked *>(c);
		EXPECT_EQ(first, w->eras.size());
		for (uint32_t i = 0; i < n; i++)
			w->eras.push_back(pd_get32((const uint8_t *)values + 4 * i));
		return 0;
	}
	static int on_problem(void *c, const pd_err *r)
	{
		static_cast<Walked *>(c)->problems.push_back(*r);
		return 0;
	}
	era_visitor visitor()
	{
		era_visitor v{};
		v.ctx = this;
		v.superblock = on_sb;
		v.writeset = on_ws;
		v.era_block = on_era;
		v.problem = on_problem;
		return v;
	}
	bool has_problem(era_problem_id id) const
	{
		for (const pd_err &r : problems)
			if (r.problem == id)
				return true;
		return false;
	}
};

inline Walked walk(const std::string &path, unsigned flags = 0)
{
	Walked w;
	pd_bm *bm;
	pd_err e;
	if (pd_bm_open(&bm, path.c_str(), PD_OPEN_RDONLY, 64, &e)) {
		ADD_FAILURE() << e.msg;
		w.rc = -1;
		return w;
	}
	era_walk_opts o{};
	o.flags = flags;
	era_visitor v = w.visitor();
	w.rc = era_walk(bm, &o, &v, &e);
	pd_bm_close(bm);
	return w;
}

inline era_check_result check(const std::string &path)
{
	era_check_result res{};
	pd_bm *bm;
	pd_err e;
	if (pd_bm_open(&bm, path.c_str(), PD_OPEN_RDONLY, 64, &e)) {
		ADD_FAILURE() << e.msg;
		res.walk_error = 1;
		return res;
	}
	era_check_opts o{};
	EXPECT_EQ(era_check_metadata(bm, &o, &res, &e), 0) << e.msg;
	pd_bm_close(bm);
	return res;
}

inline bool clean(const era_check_result &r)
{
	return r.sb_ok && !r.walk_error && r.nr[ERA_SEV_FATAL] == 0 && r.nr[ERA_SEV_NONFATAL] == 0;
}

#endif
