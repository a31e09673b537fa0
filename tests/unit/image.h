/* Builds small metadata images block by block for the unit tests. */
#ifndef TESTS_UNIT_IMAGE_H
#define TESTS_UNIT_IMAGE_H
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>
#include "shim.h"

struct Image {
	std::vector<std::vector<uint8_t>> blocks;
	std::string path;

	explicit Image(size_t nr) : blocks(nr, std::vector<uint8_t>(PD_BLOCK_SIZE, 0))
	{
		char tmpl[] = "/tmp/era-unit-XXXXXX";
		int fd = mkstemp(tmpl);
		close(fd);
		path = tmpl;
	}
	~Image() { unlink(path.c_str()); }

	uint8_t *at(uint64_t b) { return blocks[b].data(); }

	/* A btree node with the given keys and 8-byte (or value_size) values. */
	void node(uint64_t b, uint32_t flags, const std::vector<uint64_t> &keys,
		  const std::vector<std::vector<uint8_t>> &values, uint32_t value_size, bool fix = true)
	{
		uint8_t *p = at(b);
		uint32_t max = pd_node_max_entries(value_size);
		memset(p, 0, PD_BLOCK_SIZE);
		pd_put32(p + 4, flags);
		pd_put64(p + 8, b);
		pd_put32(p + 16, (uint32_t)keys.size());
		pd_put32(p + 20, max);
		pd_put32(p + 24, value_size);
		for (size_t i = 0; i < keys.size(); i++) {
			pd_put64(p + 32 + 8 * i, keys[i]);
			memcpy(p + 32 + 8 * max + value_size * i, values[i].data(), value_size);
		}
		if (fix)
			seal(b, &pd_btree_validator);
	}
	static std::vector<uint8_t> u64(uint64_t v)
	{
		std::vector<uint8_t> r(8);
		pd_put64(r.data(), v);
		return r;
	}
	static std::vector<uint8_t> u32(uint32_t v)
	{
		std::vector<uint8_t> r(4);
		pd_put32(r.data(), v);
		return r;
	}
	void seal(uint64_t b, const pd_validator *v) { v->prepare(v, at(b), b); }

	void write()
	{
		FILE *f = fopen(path.c_str(), "wb");
		for (auto &blk : blocks)
			fwrite(blk.data(), 1, blk.size(), f);
		fclose(f);
	}
};

#endif
