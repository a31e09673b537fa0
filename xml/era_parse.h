/* Streaming parser of the era XML dialect (era_dump output, era_restore
 * input), on libxml2's SAX2 push parser. It checks the document's shape
 * (elements in place, required and known attributes, decimal numbers) as it
 * goes and hands each element to an event callback; meaning (ranges, order)
 * is the callbacks' business. Schema: xml/era.rng.
 *
 *   <superblock uuid="" block_size="N" nr_blocks="N" current_era="N">
 *     <writeset era="N" nr_bits="N">            (any number)
 *       <bit block="N" value="true|false"/>     (any number)
 *       <marked block_begin="N" len="N"/>       (a run of set bits, as 1.1.0 reads)
 *     </writeset>
 *     <era_array>                               (once, after the writesets)
 *       <era block="N" era="N"/>
 *     </era_array>
 *   </superblock>
 */
#ifndef XML_ERA_PARSE_H
#define XML_ERA_PARSE_H
#include <stdint.h>
#include "../libpd/pd_err.h"

struct era_xml_superblock {
	uint32_t block_size;
	uint32_t nr_blocks;
	uint32_t current_era;
};

/* Each callback returns 0 or a negative value with e->msg filled; the parse
 * then stops and reports e->msg at the element's line and column. */
struct era_xml_events {
	void *ctx;
	int (*superblock_begin)(void *ctx, const struct era_xml_superblock *sb, struct pd_err *e);
	int (*writeset_begin)(void *ctx, uint32_t era, uint32_t nr_bits, struct pd_err *e);
	int (*bit)(void *ctx, uint32_t block, int value, struct pd_err *e);
	int (*marked)(void *ctx, uint32_t begin, uint32_t len, struct pd_err *e);
	int (*writeset_end)(void *ctx, struct pd_err *e);
	int (*era_array_begin)(void *ctx, struct pd_err *e);
	int (*era)(void *ctx, uint32_t block, uint32_t era, struct pd_err *e);
	int (*era_array_end)(void *ctx, struct pd_err *e);
	int (*superblock_end)(void *ctx, struct pd_err *e);
};

struct era_xml_error {
	unsigned long line;       /* 0 when not about a place in the document */
	unsigned long col;
	int code;                 /* PD_E_* of a callback's error, PD_E_CORRUPT for XML, PD_E_IO */
	char msg[320];
};

/* Reads fd to its end. Returns 0, or -1 with err filled. */
int era_xml_parse_fd(int fd, const struct era_xml_events *ev, struct era_xml_error *err);
/* The same over a memory buffer (tests). */
int era_xml_parse_mem(const char *buf, size_t len, const struct era_xml_events *ev, struct era_xml_error *err);

#endif
