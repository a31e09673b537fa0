#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "../libpd/io.h"
#include "era_parse.h"

#define CHUNK (64u * 1024u)
#define PIECE_CHUNK (256u * 1024u)
/* Bounds that keep libxml2's push parser linear on any input (it rescans
 * an unfinished start tag, comment or text run on every chunk, and checks
 * attribute names pairwise). Input is handed over in pieces that end at
 * multiples of FEED bytes of the document (and at the cut of a parallel
 * parse), so what is refused does not depend on how reads return: after
 * each piece, at most PENDING_MAX bytes may wait unparsed (a markup or
 * text run longer than PENDING_MAX + FEED is always refused, one shorter
 * than PENDING_MAX never; an era XML line is ~40 bytes). Between two '<'
 * (comments and processing instructions aside) at most EQ_MAX '=': an
 * element has at most 4 attributes. */
#define EQ_MAX 16u
/* (smaller in the fuzz build, so that small inputs cross many pieces) */
#ifdef ERA_XML_FEED
#define FEED ERA_XML_FEED
#define PENDING_MAX ERA_XML_FEED
#else
#define FEED CHUNK
#define PENDING_MAX (64u * 1024u)
#endif
_Static_assert(CHUNK % FEED == 0 && PIECE_CHUNK % FEED == 0, "pieces end at multiples of FEED");

enum state { ST_TOP, ST_SB, ST_WS, ST_EA, ST_LEAF, ST_DONE };

/* The byte scanner in front of the parser (see EQ_MAX). */
enum lex_state { L_SEG, L_LT, L_BANG, L_BANG_D, L_COMMENT, L_PI };
struct lex {
	enum lex_state st;
	unsigned run;             /* L_COMMENT: '-' just seen; L_PI: '?' just seen */
	uint64_t eq;              /* '=' since the last '<' */
};

enum name {
	N_SUPERBLOCK, N_WRITESET, N_BIT, N_MARKED, N_ERA_ARRAY, N_ERA,
	N_UUID, N_BLOCK_SIZE, N_NR_BLOCKS, N_CURRENT_ERA, N_NR_BITS, N_BLOCK, N_VALUE,
	N_BLOCK_BEGIN, N_LEN,
	N_COUNT
};

static const char *const names[N_COUNT] = {
	"superblock", "writeset", "bit", "marked", "era_array", "era",
	"uuid", "block_size", "nr_blocks", "current_era", "nr_bits", "block", "value",
	"block_begin", "len",
};

struct parser {
	xmlParserCtxtPtr ctxt;
	const struct era_xml_events *ev; /* the element events: the caller's, or `own` */
	struct era_xml_events own;       /* the caller's with its feed's element events */
	void *sb_ctx;                    /* the caller's ctx, for superblock_begin/end */
	struct pd_err *err;
	const xmlChar *iname[N_COUNT];   /* names interned in the parser's dictionary */
	enum state st;
	enum state leaf_parent;           /* where an empty element returns to */
	int seen_era_array;
	int kind;                         /* 0, ERA_XML_FIRST or ERA_XML_SECOND */
	int continue_pending;             /* SECOND: the next writeset/era_array is the one open at the cut */
	struct lex lex;
	int *stop;
	int failed;
	struct pd_err e;
};

static void fail_at(struct parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(struct parser *p, int code, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	p->err->code = code;
	p->err->source = PD_SRC_DOCUMENT;
	p->err->line = (unsigned long)xmlSAX2GetLineNumber(p->ctxt);
	p->err->col = (unsigned long)xmlSAX2GetColumnNumber(p->ctxt);
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	if (p->stop)
		__atomic_store_n(p->stop, 1, __ATOMIC_RELAXED);
	xmlStopParser(p->ctxt);
}

static void callback_failed(struct parser *p, int r)
{
	fail_at(p, p->e.code ? p->e.code : (r < 0 ? -r : PD_E_INVAL), "%s",
		p->e.msg[0] ? p->e.msg : "rejected");
	p->err->block = p->e.block;
	/* the callbacks build the output: their I/O and space failures are its */
	if (p->err->code == PD_E_IO || p->err->code == PD_E_NOSPC)
		p->err->source = PD_SRC_OUTPUT;
}

static int name_is(const struct parser *p, const xmlChar *s, enum name n)
{
	return s == p->iname[n] || !strcmp((const char *)s, names[n]);
}

/* The index of s in allowed, or -1 (a sentinel, not an error: not there). */
static int which(const struct parser *p, const xmlChar *s, const enum name *allowed, int nr)
{
	for (int i = 0; i < nr; i++)
		if (s == p->iname[allowed[i]])
			return i;
	for (int i = 0; i < nr; i++)
		if (!strcmp((const char *)s, names[allowed[i]]))
			return i;
	return -1; /* sentinel: not allowed */
}

/* Decimal digits only, at most 2^32 - 1. */
static int parse_u32(const xmlChar *s, const xmlChar *end, uint32_t *out)
{
	uint64_t v = 0;

	if (s == end || end - s > 10)
		return -PD_E_CORRUPT;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -PD_E_CORRUPT;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > UINT32_MAX)
		return -PD_E_CORRUPT;
	*out = (uint32_t)v;
	return 0;
}

/* Reads the attributes of element `el`: numeric ones into vals[] (in the
 * order of `want`), `value`/`uuid` handled as text. Returns 0 or fails. */
static int get_attrs(struct parser *p, enum name el, const enum name *want, int nr_want, uint32_t *vals,
		     int *boolval, int nb_attributes, const xmlChar **attrs)
{
	unsigned seen = 0;

	for (int i = 0; i < nb_attributes; i++) {
		const xmlChar *name = attrs[5 * i], *v = attrs[5 * i + 3], *end = attrs[5 * i + 4];
		int k = attrs[5 * i + 1] ? -1 : which(p, name, want, nr_want);

		if (k < 0) {
			fail_at(p, PD_E_CORRUPT, "unknown attribute '%s%s%s' in <%s>",
				attrs[5 * i + 1] ? (const char *)attrs[5 * i + 1] : "", attrs[5 * i + 1] ? ":" : "",
				(const char *)name, names[el]);
			return -PD_E_CORRUPT;
		}
		seen |= 1u << k;
		if (want[k] == N_UUID)
			continue;
		if (want[k] == N_VALUE) {
			size_t len = (size_t)(end - v);
			if (len == 4 && !memcmp(v, "true", 4))
				*boolval = 1;
			else if (len == 5 && !memcmp(v, "false", 5))
				*boolval = 0;
			else {
				fail_at(p, PD_E_CORRUPT, "attribute 'value' of <%s> is '%.*s', not true or false",
					names[el], (int)(len > 40 ? 40 : len), (const char *)v);
				return -PD_E_CORRUPT;
			}
			continue;
		}
		if (parse_u32(v, end, &vals[k])) {
			size_t len = (size_t)(end - v);
			fail_at(p, PD_E_CORRUPT, "attribute '%s' of <%s> is '%.*s', not a number from 0 to 4294967295",
				names[want[k]], names[el], (int)(len > 40 ? 40 : len), (const char *)v);
			return -PD_E_CORRUPT;
		}
	}
	if (seen != (1u << nr_want) - 1) {
		for (int k = 0; k < nr_want; k++)
			if (!(seen & (1u << k))) {
				fail_at(p, PD_E_CORRUPT, "missing attribute '%s' in <%s>", names[want[k]], names[el]);
				return -PD_E_CORRUPT;
			}
	}
	return 0;
}

static const char *state_place(enum state st)
{
	switch (st) {
	case ST_TOP: return "at the top level";
	case ST_SB: return "in <superblock>";
	case ST_WS: return "in <writeset>";
	case ST_EA: return "in <era_array>";
	case ST_LEAF: return "inside <bit>, <marked> or <era>";
	default: return "after </superblock>";
	}
}

static void start_el(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
		     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
		     const xmlChar **attrs)
{
	struct parser *p = ctx;
	uint32_t v[3];
	int bv = 0, r;
	(void)URI; (void)nb_namespaces; (void)namespaces; (void)nb_defaulted;

	if (p->failed)
		return;
	if (prefix)
		goto unexpected;
	/* the hot elements first */
	if (p->st == ST_EA && localname == p->iname[N_ERA]) {
		static const enum name w[] = { N_BLOCK, N_ERA };
era:
		if (nb_attributes == 2 && attrs[0] == p->iname[N_BLOCK] && attrs[5] == p->iname[N_ERA] &&
		    !attrs[1] && !attrs[6]) {
			/* the common case: dump order, no lookups */
			if (parse_u32(attrs[3], attrs[4], &v[0]) || parse_u32(attrs[8], attrs[9], &v[1])) {
				if (get_attrs(p, N_ERA, w, 2, v, &bv, nb_attributes, attrs))
					return;
			}
		} else if (get_attrs(p, N_ERA, w, 2, v, &bv, nb_attributes, attrs))
			return;
		if ((r = p->ev->era(p->ev->ctx, v[0], v[1], &p->e)))
			return callback_failed(p, r);
		p->leaf_parent = ST_EA;
		p->st = ST_LEAF;
		return;
	}
	if (p->st == ST_WS && localname == p->iname[N_BIT]) {
		static const enum name w[] = { N_BLOCK, N_VALUE };
bit:
		if (nb_attributes == 2 && attrs[0] == p->iname[N_BLOCK] && attrs[5] == p->iname[N_VALUE] &&
		    !attrs[1] && !attrs[6] && !parse_u32(attrs[3], attrs[4], &v[0])) {
			size_t len = (size_t)(attrs[9] - attrs[8]);
			if (len == 4 && !memcmp(attrs[8], "true", 4))
				bv = 1;
			else if (!(len == 5 && !memcmp(attrs[8], "false", 5)) &&
				 get_attrs(p, N_BIT, w, 2, v, &bv, nb_attributes, attrs))
				return;
		} else if (get_attrs(p, N_BIT, w, 2, v, &bv, nb_attributes, attrs))
			return;
		if ((r = p->ev->bit(p->ev->ctx, v[0], bv, &p->e)))
			return callback_failed(p, r);
		p->leaf_parent = ST_WS;
		p->st = ST_LEAF;
		return;
	}
	switch (p->st) {
	case ST_TOP:
		if (name_is(p, localname, N_SUPERBLOCK)) {
			static const enum name w[] = { N_BLOCK_SIZE, N_NR_BLOCKS, N_CURRENT_ERA, N_UUID };
			struct era_xml_superblock sb;
			if (get_attrs(p, N_SUPERBLOCK, w, 4, v, &bv, nb_attributes, attrs))
				return;
			sb.block_size = v[0];
			sb.nr_blocks = v[1];
			sb.current_era = v[2];
			if (p->ev->superblock_begin && (r = p->ev->superblock_begin(p->sb_ctx, &sb, &p->e)))
				return callback_failed(p, r);
			p->st = ST_SB;
			return;
		}
		break;
	case ST_SB:
		if (name_is(p, localname, N_WRITESET)) {
			static const enum name w[] = { N_ERA, N_NR_BITS };
			if (p->seen_era_array) {
				fail_at(p, PD_E_CORRUPT, "<writeset> after <era_array> (writesets come first)");
				return;
			}
			if (get_attrs(p, N_WRITESET, w, 2, v, &bv, nb_attributes, attrs))
				return;
			if (p->continue_pending) {
				p->continue_pending = 0;
				r = p->ev->writeset_continue(p->ev->ctx, v[0], v[1], &p->e);
			} else {
				r = p->ev->writeset_begin(p->ev->ctx, v[0], v[1], &p->e);
			}
			if (r)
				return callback_failed(p, r);
			p->st = ST_WS;
			return;
		}
		if (name_is(p, localname, N_ERA_ARRAY)) {
			if (p->seen_era_array) {
				fail_at(p, PD_E_CORRUPT, "second <era_array>");
				return;
			}
			if (get_attrs(p, N_ERA_ARRAY, NULL, 0, v, &bv, nb_attributes, attrs))
				return;
			p->seen_era_array = 1;
			if (p->continue_pending) {
				p->continue_pending = 0;
				r = p->ev->era_array_continue(p->ev->ctx, &p->e);
			} else {
				r = p->ev->era_array_begin(p->ev->ctx, &p->e);
			}
			if (r)
				return callback_failed(p, r);
			p->st = ST_EA;
			return;
		}
		break;
	case ST_WS:
		if (name_is(p, localname, N_BIT))
			goto bit;	/* a name libxml2 did not intern: the hot code too */
		if (name_is(p, localname, N_MARKED)) {
			static const enum name w[] = { N_BLOCK_BEGIN, N_LEN };
			if (get_attrs(p, N_MARKED, w, 2, v, &bv, nb_attributes, attrs))
				return;
			if ((r = p->ev->marked(p->ev->ctx, v[0], v[1], &p->e)))
				return callback_failed(p, r);
			p->leaf_parent = ST_WS;
			p->st = ST_LEAF;
			return;
		}
		break;
	case ST_EA:
		if (name_is(p, localname, N_ERA))
			goto era;
		break;
	default:
		break;
	}
unexpected:
	{
		int known = 0;
		for (int i = 0; i < N_UUID; i++)
			known |= name_is(p, localname, (enum name)i);
		fail_at(p, PD_E_CORRUPT, "%s element <%s%s%s> %s", known ? "misplaced" : "unknown",
			prefix ? (const char *)prefix : "", prefix ? ":" : "", (const char *)localname,
			state_place(p->st));
	}
}

static void end_el(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI)
{
	struct parser *p = ctx;
	int r = 0;
	(void)localname; (void)prefix; (void)URI;

	if (p->failed)
		return;
	/* libxml2 has checked that the end tag matches its start tag */
	switch (p->st) {
	case ST_LEAF:
		p->st = p->leaf_parent;
		return;
	case ST_WS:
		r = p->ev->writeset_end(p->ev->ctx, &p->e);
		p->st = ST_SB;
		break;
	case ST_EA:
		r = p->ev->era_array_end(p->ev->ctx, &p->e);
		p->st = ST_SB;
		break;
	case ST_SB:
		if (!p->seen_era_array) {
			fail_at(p, PD_E_CORRUPT, "<superblock> has no <era_array>");
			return;
		}
		if (p->ev->superblock_end)
			r = p->ev->superblock_end(p->sb_ctx, &p->e);
		p->st = ST_DONE;
		break;
	default:
		break;
	}
	if (r)
		callback_failed(p, r);
}

static void characters(void *ctx, const xmlChar *ch, int len)
{
	struct parser *p = ctx;

	for (int i = 0; i < len; i++) {
		if (ch[i] != ' ' && ch[i] != '\n' && ch[i] != '\t' && ch[i] != '\r') {
			int n = 0;
			while (i + n < len && n < 20 && ch[i + n] > ' ')
				n++;
			fail_at(p, PD_E_CORRUPT, "unexpected text '%.*s' %s", n, (const char *)ch + i,
				state_place(p->st));
			return;
		}
	}
}

static void cdata(void *ctx, const xmlChar *ch, int len)
{
	struct parser *p = ctx;
	(void)ch; (void)len;
	fail_at(p, PD_E_CORRUPT, "unexpected CDATA section %s", state_place(p->st));
}

static void internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	struct parser *p = ctx;
	(void)name; (void)ext; (void)sys;
	fail_at(p, PD_E_CORRUPT, "a DOCTYPE declaration is not allowed");
}

static void xml_error(void *ctx, xmlErrorPtr x)
{
	struct parser *p = ctx;
	size_t n;

	if (p->failed || !x || x->level < XML_ERR_ERROR)
		return;
	p->failed = 1;
	p->err->code = PD_E_CORRUPT;
	p->err->source = PD_SRC_DOCUMENT;
	p->err->line = x->line > 0 ? (unsigned long)x->line : 0;
	p->err->col = x->int2 > 0 ? (unsigned long)x->int2 : 0;
	if (x->code == XML_ERR_DOCUMENT_END && p->st != ST_DONE)
		/* libxml2's push parser calls an unfinished document "extra content" */
		snprintf(p->err->msg, sizeof(p->err->msg), "truncated document: it ends %s", state_place(p->st));
	else
		snprintf(p->err->msg, sizeof(p->err->msg), "%s", x->message ? x->message : "XML error");
	n = strlen(p->err->msg);
	while (n && (p->err->msg[n - 1] == '\n' || p->err->msg[n - 1] == ' '))
		p->err->msg[--n] = 0;
}

static int setup(struct parser *p, const struct era_xml_events *ev, struct pd_err *err,
		 xmlSAXHandler *sax)
{
	memset(p, 0, sizeof(*p));
	pd_err_clear(err);
	memset(sax, 0, sizeof(*sax));
	p->ev = ev;
	p->sb_ctx = ev->ctx;
	if (ev->feed) {
		const struct era_feed *f = ev->feed;

		p->own = *ev;
		p->own.ctx = f->ctx;
		p->own.writeset_begin = f->writeset_begin;
		p->own.writeset_continue = f->writeset_continue;
		p->own.bit = f->bit;
		p->own.marked = f->marked;
		p->own.writeset_end = f->writeset_end;
		p->own.era_array_begin = f->era_array_begin;
		p->own.era_array_continue = f->era_array_continue;
		p->own.era = f->era;
		p->own.era_array_end = f->era_array_end;
		p->ev = &p->own;
	}
	p->err = err;
	sax->initialized = XML_SAX2_MAGIC;
	sax->startElementNs = start_el;
	sax->endElementNs = end_el;
	sax->characters = characters;
	sax->cdataBlock = cdata;
	sax->internalSubset = internal_subset;
	sax->serror = xml_error;
	/* errors libxml2 raises without a parser context (input conversion
	 * of a declared encoding) go to this thread's structured handler, or
	 * else are printed: make them this parse's error */
	xmlSetStructuredErrorFunc(p, xml_error);
	p->ctxt = xmlCreatePushParserCtxt(sax, p, NULL, 0, NULL);
	if (!p->ctxt) {
		xmlSetStructuredErrorFunc(NULL, NULL);
		return pd_fail(err, PD_E_NOMEM, PD_NO_BLOCK, "cannot create the XML parser");
	}
	/* no XML_PARSE_HUGE: libxml2's own limits on names, text and lookahead stay */
	xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	for (int i = 0; i < N_COUNT; i++)
		p->iname[i] = xmlDictLookup(p->ctxt->dict, (const xmlChar *)names[i], -1);
	return 0;
}

/* The parser freed, the thread's error handler back to libxml2's. */
static void release(struct parser *p)
{
	xmlFreeParserCtxt(p->ctxt);
	xmlSetStructuredErrorFunc(NULL, NULL);
}

/* 0, or the failure's -PD_E_* (err filled). */
static int parse_status(const struct parser *p)
{
	return !p->failed ? 0 : p->err->code > 0 ? -p->err->code : -PD_E_CORRUPT;
}

static int finish(struct parser *p)
{
	if (!p->failed) {
		xmlParseChunk(p->ctxt, NULL, 0, 1);
		if (!p->failed && p->st != ST_DONE) {
			/* libxml2 says nothing of an empty or unfinished stream in some
			 * versions: say it ourselves */
			p->failed = 1;
			p->err->code = PD_E_CORRUPT;
			p->err->source = PD_SRC_DOCUMENT;
			p->err->line = (unsigned long)xmlSAX2GetLineNumber(p->ctxt);
			p->err->col = (unsigned long)xmlSAX2GetColumnNumber(p->ctxt);
			snprintf(p->err->msg, sizeof(p->err->msg), "truncated document: %s",
				 p->st == ST_TOP ? "no <superblock>" : "no </superblock>");
		}
	}
	release(p);
	return parse_status(p);
}

/* The read buffer of a parse; NULL with err filled when there is no memory. */
static char *chunk_buffer(size_t size, struct pd_err *err)
{
	char *buf = malloc(size);

	if (!buf)
		pd_fail(err, PD_E_NOMEM, PD_NO_BLOCK, "out of memory");
	return buf;
}

#if defined(__SSE2__)
/* Bits set in a 16-bit mask (no popcnt instruction in the baseline ISA). */
static inline unsigned pop16(unsigned x)
{
	x = x - ((x >> 1) & 0x5555u);
	x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
	x = (x + (x >> 4)) & 0x0f0fu;
	return (x + (x >> 8)) & 0x1fu;
}
#endif

/* Scans bytes before the parser sees them: n, or where a stretch between
 * two '<' comes to hold more than EQ_MAX '='. (Not instrumented by the
 * fuzzers' coverage: it is a per-byte loop that only bounds.) */
#if defined(__clang__)
__attribute__((no_sanitize("coverage")))
#endif
static size_t lex_scan(struct lex *l, const unsigned char *s, size_t n)
{
	/* in locals: stores through l could alias s */
	enum lex_state st = l->st;
	unsigned run = l->run;
	uint64_t eq = l->eq;
	size_t i = 0;

	while (i < n) {
		unsigned c;

		if (st == L_SEG) {
			/* the hot loop: tags and the blanks between them */
#if defined(__SSE2__)
			const __m128i lt = _mm_set1_epi8('<'), is = _mm_set1_epi8('=');
			for (; i + 16 <= n; i += 16) {
				__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
				unsigned m_lt = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lt));
				unsigned m_eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, is));

				if (m_lt) {
					unsigned k = (unsigned)__builtin_ctz(m_lt);
					eq += pop16(m_eq & ((1u << k) - 1));
					i += k;
					break;
				}
				eq += pop16(m_eq);
			}
#endif
			for (; i < n && s[i] != '<'; i++)
				eq += s[i] == '=';
			if (eq > EQ_MAX) {
				/* back to the (EQ_MAX + 1)th: it is in this piece */
				while (eq-- > EQ_MAX)
					while (s[--i] != '=')
						;
				l->st = st;
				return i;
			}
			if (i < n) {
				st = L_LT;
				eq = 0;
				i++;
			}
			continue;
		}
		c = s[i];
		switch (st) {
		case L_LT:
			if (c == '!') {
				st = L_BANG;
				i++;
				continue;
			}
			if (c == '?') {
				st = L_PI;
				run = 0;
				i++;
				continue;
			}
			break;
		case L_BANG:
			if (c == '-') {
				st = L_BANG_D;
				i++;
				continue;
			}
			break;
		case L_BANG_D:
			if (c == '-') {
				st = L_COMMENT;
				run = 0;
				i++;
				continue;
			}
			break;
		case L_COMMENT:
			/* ends at the first "-->", as in libxml2 */
			if (c == '>' && run >= 2)
				st = L_SEG;
			run = c == '-' ? run + 1 : 0;
			i++;
			continue;
		case L_PI:
			if (c == '>' && run)
				st = L_SEG;
			run = c == '?';
			i++;
			continue;
		case L_SEG:
			break;
		}
		/* the byte after "<", "<!" or "<!-" that makes it a tag: scanned
		 * as part of it */
		st = L_SEG;
	}
	l->st = st;
	l->run = run;
	l->eq = eq;
	return n;
}

/* Bytes the parser holds unparsed (an unfinished tag, comment or text run). */
static size_t pending(const struct parser *p)
{
	const xmlParserInputPtr in = p->ctxt->input;
	return in && in->cur && in->end > in->cur ? (size_t)(in->end - in->cur) : 0;
}

/* bytes_read: the progress counter to add n to, or NULL */
static void feed_one(struct parser *p, uint64_t *bytes_read, const char *buf, size_t n, uint64_t at)
{
	size_t bad = lex_scan(&p->lex, (const unsigned char *)buf, n);

	if (bad < n) {
		/* the parser has not seen these bytes: name the byte */
		fail_at(p, PD_E_CORRUPT, "more than %u '=' in one tag at byte %llu (an era XML element has at most 4 attributes)",
			EQ_MAX, (unsigned long long)(at + bad));
		p->err->line = p->err->col = 0;
		return;
	}
	xmlParseChunk(p->ctxt, buf, (int)n, 0);
	if (bytes_read)
		__atomic_add_fetch(bytes_read, (uint64_t)n, __ATOMIC_RELAXED);
	if (!p->failed && pending(p) > PENDING_MAX)
		fail_at(p, PD_E_CORRUPT, "a tag, comment or text run of more than %u bytes (an era XML line has ~40)",
			PENDING_MAX);
}

/* Hands n bytes of input, found at byte `at` of the document, to the
 * parser, in pieces that end at multiples of FEED (see PENDING_MAX), and
 * counts them for a progress display. */
static void feed(struct parser *p, uint64_t *bytes_read, const char *buf, size_t n, uint64_t at)
{
	while (n && !p->failed) {
		size_t k = FEED - (size_t)(at % FEED);

		if (k > n)
			k = n;
		feed_one(p, bytes_read, buf, k, at);
		buf += k;
		n -= k;
		at += k;
	}
}

int era_xml_parse_fd(int fd, const struct era_xml_events *ev, struct pd_err *err)
{
	struct parser p;
	xmlSAXHandler sax;
	char *buf = chunk_buffer(CHUNK, err);
	uint64_t at = 0;

	if (!buf)
		return -PD_E_NOMEM;
	if (setup(&p, ev, err, &sax)) {
		free(buf);
		return -PD_E_NOMEM;
	}
	/* whole CHUNKs (short reads of pipes gathered): the same pieces
	 * whatever the input is */
	while (!p.failed) {
		size_t n;
		if (pd_read_all(fd, buf, CHUNK, &n)) {
			p.failed = 1;
			pd_fail(err, PD_E_IO, PD_NO_BLOCK, "read failed: %s", strerror(errno));
			err->source = PD_SRC_DOCUMENT;
			break;
		}
		if (n) {
			feed(&p, ev->bytes_read, buf, n, at);
			at += n;
		}
		if (n < CHUNK)
			break;
	}
	free(buf);
	return finish(&p);
}

static void piece_fail(struct parser *p, int code, const char *msg)
{
	if (p->failed)
		return;
	p->failed = 1;
	p->err->code = code;
	p->err->source = PD_SRC_DOCUMENT;
	snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
	if (p->stop)
		__atomic_store_n(p->stop, 1, __ATOMIC_RELAXED);
}

/* FIRST, all of its bytes given: is the parser where a cut may be? In the
 * content of the <writeset> or <era_array> in the <superblock>, with all
 * markup parsed (only blanks wait: the next byte, the cut's '<', starts a
 * tag). This is the parser's own state, which no text of the document can
 * fake; the piece's bytes are the document's, so a single parse of the
 * whole document is in the same state there. */
static int at_cut(const struct parser *p)
{
	const xmlParserCtxtPtr c = p->ctxt;
	const xmlParserInputPtr in = c->input;

	if ((p->st != ST_WS && p->st != ST_EA) || c->instate != XML_PARSER_CONTENT || c->inputNr != 1 ||
	    c->nameNr != 2 || !in || !in->buf || in->buf->encoder || !in->cur)
		return 0;
	for (const xmlChar *q = in->cur; q < in->end; q++)
		if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
			return 0;
	return 1;
}

int era_xml_parse_piece(const struct era_xml_piece *pc, const struct era_xml_events *ev, struct pd_err *err)
{
	struct parser p;
	xmlSAXHandler sax;
	uint64_t off = pc->begin;
	char *buf = chunk_buffer(PIECE_CHUNK, err);

	if (!buf)
		return -PD_E_NOMEM;
	if (setup(&p, ev, err, &sax)) {
		free(buf);
		return -PD_E_NOMEM;
	}
	p.kind = pc->kind;
	p.stop = pc->stop;
	if (pc->kind == ERA_XML_SECOND) {
		p.continue_pending = 1;
		/* the prefix is not the input's: not counted as read */
		feed_one(&p, NULL, pc->prefix, pc->prefix_len, 0);
	}
	while (!p.failed && off < pc->end) {
		size_t want = pc->end - off < PIECE_CHUNK ? (size_t)(pc->end - off) : PIECE_CHUNK;
		size_t n;

		if (__atomic_load_n(pc->stop, __ATOMIC_RELAXED)) {
			piece_fail(&p, PD_E_INVAL, "stopped");
			break;
		}
		if (pd_pread_all(pc->fd, buf, want, off, &n)) {
			piece_fail(&p, PD_E_IO, strerror(errno));
			break;
		}
		if (n == 0) {
			piece_fail(&p, PD_E_IO, "short read");
			break;
		}
		feed(&p, ev->bytes_read, buf, n, off);
		off += (uint64_t)n;
	}
	free(buf);
	if (pc->kind == ERA_XML_FIRST) {
		if (!p.failed && !at_cut(&p))
			piece_fail(&p, PD_E_CORRUPT, "bad cut");
		/* not finished: the document goes on in the second piece */
		release(&p);
		return parse_status(&p);
	}
	if (!p.failed && p.continue_pending)
		piece_fail(&p, PD_E_CORRUPT, "bad cut");
	return finish(&p);
}

struct probe {
	struct era_xml_superblock sb;
	int got;
};

static int probe_sb(void *ctx, const struct era_xml_superblock *sb, struct pd_err *e)
{
	struct probe *pr = ctx;
	(void)e;
	pr->sb = *sb;
	pr->got = 1;
	return 0;
}

size_t era_xml_probe_head(const char *buf, size_t len, struct era_xml_superblock *sb)
{
	static const char tag[] = "<superblock";
	struct probe pr = { .got = 0 };
	struct era_xml_events ev = { .ctx = &pr, .superblock_begin = probe_sb };
	const char *s = memmem(buf, len, tag, sizeof(tag) - 1), *gt;
	struct pd_err err;
	struct parser p;
	xmlSAXHandler sax;
	size_t head;

	if (!s || !(gt = memchr(s, '>', len - (size_t)(s - buf))))
		return 0;
	head = (size_t)(gt + 1 - buf);
	if (head > INT32_MAX)
		return 0;
	if (setup(&p, &ev, &err, &sax))
		return 0;
	xmlParseChunk(p.ctxt, buf, (int)head, 0);
	if (p.failed || !pr.got || p.st != ST_SB)
		head = 0;
	release(&p);
	if (head)
		*sb = pr.sb;
	return head;
}

int era_xml_parse_mem(const char *buf, size_t len, const struct era_xml_events *ev, struct pd_err *err)
{
	struct parser p;
	xmlSAXHandler sax;

	if (setup(&p, ev, err, &sax))
		return -PD_E_NOMEM;
	feed(&p, ev->bytes_read, buf, len, 0);
	return finish(&p);
}
