#include "era_emit.h"
#include "../libpd/disk.h"

/* Block numbers go up by one a line: keep them as ASCII and count in place. */
struct dec {
	unsigned len;
	char d[24];
};

static void dec_set(struct dec *c, uint64_t v)
{
	c->len = fmt_u64(c->d, v);
}

static inline void dec_inc(struct dec *c)
{
	int i = (int)c->len - 1;

	while (i >= 0 && c->d[i] == '9')
		c->d[i--] = '0';
	if (i >= 0) {
		c->d[i]++;
	} else {
		__builtin_memmove(c->d + 1, c->d, c->len);
		c->d[0] = '1';
		c->len++;
	}
}

#define PUT(p, lit) do { __builtin_memcpy(p, lit, sizeof(lit) - 1); p += sizeof(lit) - 1; } while (0)

void era_xml_superblock_begin(struct sink *s, uint32_t block_size, uint32_t nr_blocks, uint32_t current_era)
{
	sink_printf(s, "<superblock uuid=\"\" block_size=\"%u\" nr_blocks=\"%u\" current_era=\"%u\">\n",
		    block_size, nr_blocks, current_era);
}

void era_xml_superblock_end(struct sink *s)
{
	sink_puts(s, "</superblock>\n");
}

int era_xml_writeset(struct sink *s, uint32_t era, uint32_t nr_bits, const uint64_t *words, uint32_t nr_blocks)
{
	struct dec c;
	uint32_t set_limit = nr_bits < nr_blocks ? nr_bits : nr_blocks;

	sink_printf(s, "  <writeset era=\"%u\" nr_bits=\"%u\">\n", era, nr_bits);
	dec_set(&c, 0);
	for (uint32_t b = 0; b < nr_blocks; b++) {
		char *p;

		if (sink_reserve(s))
			return -PD_E_IO;
		p = s->buf + s->len;
		PUT(p, "    <bit block=\"");
		__builtin_memcpy(p, c.d, 16); /* fixed-size copy: SINK_SLACK covers it */
		p += c.len;
		if (b < set_limit && ((words[b >> 6] >> (b & 63)) & 1))
			PUT(p, "\" value=\"true\"/>\n");
		else
			PUT(p, "\" value=\"false\"/>\n");
		s->len = (size_t)(p - s->buf);
		dec_inc(&c);
	}
	sink_puts(s, "  </writeset>\n");
	return s->err ? -PD_E_IO : 0;
}

void era_xml_era_array_begin(struct sink *s)
{
	sink_puts(s, "  <era_array>\n");
}

void era_xml_era_array_end(struct sink *s)
{
	sink_puts(s, "  </era_array>\n");
}

static inline int era_line(struct sink *s, struct dec *c, uint32_t era, uint32_t *last, char *ebuf, unsigned *elen)
{
	char *p;

	if (sink_reserve(s))
		return -PD_E_IO;
	if (era != *last) {
		*last = era;
		*elen = fmt_u64(ebuf, era);
	}
	p = s->buf + s->len;
	PUT(p, "    <era block=\"");
	__builtin_memcpy(p, c->d, 16);
	p += c->len;
	PUT(p, "\" era=\"");
	__builtin_memcpy(p, ebuf, 16);
	p += *elen;
	PUT(p, "\"/>\n");
	s->len = (size_t)(p - s->buf);
	dec_inc(c);
	return 0;
}

int era_xml_eras(struct sink *s, uint64_t first, const uint32_t *eras, uint32_t n)
{
	struct dec c;
	char ebuf[24] = "0";
	unsigned elen = 1;
	uint32_t last = 0;

	dec_set(&c, first);
	for (uint32_t i = 0; i < n; i++)
		if (era_line(s, &c, eras[i], &last, ebuf, &elen))
			return -PD_E_IO;
	return 0;
}

int era_xml_eras_le(struct sink *s, uint64_t first, const void *le32_values, uint32_t n)
{
	uint32_t eras[256];

	for (uint32_t off = 0; off < n; off += 256) {
		uint32_t m = n - off < 256 ? n - off : 256;

		for (uint32_t i = 0; i < m; i++)
			eras[i] = pd_le32_at(le32_values, off + i);
		if (era_xml_eras(s, first + off, eras, m))
			return -PD_E_IO;
	}
	return 0;
}

void era_xml_blocks_begin(struct sink *s)
{
	sink_puts(s, "<blocks>\n");
}

void era_xml_blocks_run(struct sink *s, uint64_t begin, uint64_t end)
{
	char *p;

	if (sink_reserve(s))
		return;
	p = s->buf + s->len;
	if (end - begin == 1) {
		PUT(p, "  <block block=\"");
		p += fmt_u64(p, begin);
	} else {
		PUT(p, "  <range begin=\"");
		p += fmt_u64(p, begin);
		PUT(p, "\" end=\"");
		p += fmt_u64(p, end);
	}
	PUT(p, "\"/>\n");
	s->len = (size_t)(p - s->buf);
}

void era_xml_blocks_end(struct sink *s)
{
	sink_puts(s, "</blocks>\n");
}
