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
#include "../format/era_feed.h"
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
	/* Optional: bytes of input consumed so far, added to atomically (a
	 * progress display may read it from another thread). */
	uint64_t *bytes_read;
	/* Only for the second piece of a cut document (era_xml_parse_piece):
	 * the element open at the cut, in place of its begin event. */
	int (*writeset_continue)(void *ctx, uint32_t era, uint32_t nr_bits, struct pd_err *e);
	int (*era_array_continue)(void *ctx, struct pd_err *e);
	/* Optional: a builder's feed (format/era_feed.h). When set, the events
	 * of the elements inside <superblock> go to it, in place of the
	 * callbacks above; superblock_begin/end still get ctx. */
	const struct era_feed *feed;
};

/* Reads fd to its end. Returns 0, or -PD_E_* with err filled: err->code
 * PD_E_* of a callback's error, PD_E_CORRUPT for the XML, PD_E_IO when
 * the document cannot be read; err->source PD_SRC_DOCUMENT, with
 * err->line and err->col where the document is at fault (0 when the error
 * is not about a place in it), or PD_SRC_OUTPUT for a callback's write or
 * space failure (the callbacks build the output). */
int era_xml_parse_fd(int fd, const struct era_xml_events *ev, struct pd_err *err);
/* The same over a memory buffer (tests). */
int era_xml_parse_mem(const char *buf, size_t len, const struct era_xml_events *ev, struct pd_err *err);

/* A document cut in two at the start of a <bit>, <marked> or <era> tag, to
 * be parsed by two threads (each with its own parser):
 *  - ERA_XML_FIRST: bytes [begin, end) of fd (begin = 0), end = the cut.
 *    It succeeds only if its parser, having read them all, is where a cut
 *    may be: in the content of a <writeset> or the <era_array>, all markup
 *    before the cut parsed, only blanks pending. That is the parser's own
 *    state (the same as a parse of the whole document has there), never a
 *    marker in the text. No end events are given for the open elements.
 *  - ERA_XML_SECOND: `prefix` (the document's head up to the end of its
 *    <superblock> start tag, then the start tag open at the cut, copied from
 *    the document), then [begin, end) of fd. The start tag gets the
 *    ..._continue event. What the copied start tag says must be checked
 *    against the first piece's (era_build_join does).
 * Errors are only good for "failed": their places are not the document's
 * (a caller redoes the whole document with era_xml_parse_fd for the real
 * message). `stop` is shared by the two: a piece that fails sets it, and a
 * piece that sees it set stops (failing). Both pieces refuse at least what
 * a parse of the whole document refuses (the bounds on input, era_parse.c). */
enum { ERA_XML_FIRST = 1, ERA_XML_SECOND = 2 };
struct era_xml_piece {
	int kind;
	int fd;
	uint64_t begin, end;
	const char *prefix;
	size_t prefix_len;
	int *stop;
};
int era_xml_parse_piece(const struct era_xml_piece *pc, const struct era_xml_events *ev, struct pd_err *err);

/* Parses buf, a document's first len bytes, up to the end of the
 * <superblock> start tag. Returns the length of that head with *sb filled,
 * or 0 when there is none in buf or it is not well-formed. */
size_t era_xml_probe_head(const char *buf, size_t len, struct era_xml_superblock *sb);

#endif
