/* The XML dialect of era_dump and era_invalidate, written as thin-provisioning-tools
 * 1.1.0 writes it (plus a final newline). Pure formatting: no I/O decisions.
 * The int functions return 0, or -PD_E_IO once the sink has failed (s->err). */
#ifndef XML_ERA_EMIT_H
#define XML_ERA_EMIT_H
#include <stdint.h>
#include "sink.h"

struct era_sb;

void era_xml_superblock_begin(struct sink *s, uint32_t block_size, uint32_t nr_blocks, uint32_t current_era);
void era_xml_superblock_end(struct sink *s);
/* One <bit> line per block 0..nr_blocks-1; bits at or past nr_bits are false. */
int era_xml_writeset(struct sink *s, uint32_t era, uint32_t nr_bits, const uint64_t *words, uint32_t nr_blocks);
void era_xml_era_array_begin(struct sink *s);
void era_xml_era_array_end(struct sink *s);
/* <era> lines for blocks [first, first + n) with host-order eras. */
int era_xml_eras(struct sink *s, uint64_t first, const uint32_t *eras, uint32_t n);
/* The same from little-endian array block values. */
int era_xml_eras_le(struct sink *s, uint64_t first, const void *le32_values, uint32_t n);

void era_xml_blocks_begin(struct sink *s);
void era_xml_blocks_run(struct sink *s, uint64_t begin, uint64_t end); /* end exclusive */
void era_xml_blocks_end(struct sink *s);

#endif
