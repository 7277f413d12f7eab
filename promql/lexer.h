/*
 * lexer.h — the PromQL tokenizer (internal to the promql module).
 *
 * The lexer is context sensitive exactly like Prometheus's: it tracks whether a brace block
 * ({...}: identifiers never are keywords there, only matcher operators), a bracket block ([...]:
 * durations, ':' and the duration keywords) is open, and the parenthesis depth (so that an
 * unclosed '(' is reported at the end of input). Tokens refer to the input by byte offset; the
 * lexer never allocates. An ERROR token carries its message in lexer.err; after ERROR or EOF the
 * lexer keeps returning EOF.
 */
#ifndef SLOD_PROMQL_LEXER_H
#define SLOD_PROMQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef enum promql_tok {
	PT_EOF,
	PT_ERROR,
	PT_COMMENT,
	PT_IDENTIFIER,
	PT_METRIC_IDENTIFIER,
	PT_NUMBER,
	PT_DURATION,
	PT_STRING,
	PT_LEFT_PAREN,
	PT_RIGHT_PAREN,
	PT_LEFT_BRACE,
	PT_RIGHT_BRACE,
	PT_LEFT_BRACKET,
	PT_RIGHT_BRACKET,
	PT_COMMA,
	PT_EQL,
	PT_COLON,
	/* operators */
	PT_OPS_START,
	PT_ADD,
	PT_SUB,
	PT_MUL,
	PT_DIV,
	PT_MOD,
	PT_POW,
	PT_EQLC,
	PT_NEQ,
	PT_LTE,
	PT_LSS,
	PT_GTE,
	PT_GTR,
	PT_TRIM_UPPER,
	PT_TRIM_LOWER,
	PT_EQL_REGEX,
	PT_NEQ_REGEX,
	PT_AT,
	PT_LAND,
	PT_LOR,
	PT_LUNLESS,
	PT_ATAN2,
	PT_OPS_END,
	/* aggregators */
	PT_AGGS_START,
	PT_AVG,
	PT_BOTTOMK,
	PT_COUNT,
	PT_COUNT_VALUES,
	PT_GROUP,
	PT_MAX,
	PT_MIN,
	PT_QUANTILE,
	PT_STDDEV,
	PT_STDVAR,
	PT_SUM,
	PT_TOPK,
	PT_LIMITK,
	PT_LIMIT_RATIO,
	PT_AGGS_END,
	/* keywords */
	PT_KEYWORDS_START,
	PT_BOOL,
	PT_BY,
	PT_GROUP_LEFT,
	PT_GROUP_RIGHT,
	PT_FILL,
	PT_FILL_LEFT,
	PT_FILL_RIGHT,
	PT_IGNORING,
	PT_OFFSET,
	PT_SMOOTHED,
	PT_ANCHORED,
	PT_ON,
	PT_WITHOUT,
	PT_KEYWORDS_END,
	/* preprocessors (not "keywords" for error texts) */
	PT_START,
	PT_END,
	PT_STEP,
	PT_RANGE,
	PT_MAX_OF,
	PT_MIN_OF,
} promql_tok;

typedef struct promql_token {
	promql_tok type;
	uint32_t pos; /* byte offset of the first byte */
	uint32_t len; /* bytes (0 for EOF) */
} promql_token;

typedef struct promql_lexer {
	const char *in;
	size_t len;
	size_t pos;   /* next byte to read */
	size_t start; /* start of the token being scanned */
	int paren_depth;
	bool brace_open;
	bool bracket_open;
	bool got_colon;
	bool got_duration;
	int state;    /* internal: which scanning function runs next */
	bool done;    /* EOF or ERROR returned */
	char err[200];
} promql_lexer;

/* Starts lexing in[0..len) (borrowed: must outlive the lexer; need not be NUL-terminated) in the
 * top-level state. Allocates nothing. */
void promql_lexer_init(promql_lexer *l, const char *in, size_t len);
/* Scans the next token (comments included). */
promql_token promql_lexer_next(promql_lexer *l);

/* Token classes, as Prometheus's lexer groups them (binary operators, aggregators, keywords). */
bool promql_tok_is_operator(promql_tok t);
bool promql_tok_is_aggregator(promql_tok t);
bool promql_tok_is_keyword(promql_tok t);
/* Appends Prometheus's description of a token for "unexpected ..." messages:
 * `"("`, `<op:+>`, `<aggr:sum>`, `<by>`, `identifier "foo"`, `number "1"`, `end of input`. */
void promql_token_desc(const char *in, const promql_token *t, buf *out);

/* Appends s quoted like Go's strconv.Quote / %q. */
void promql__go_quote(buf *out, const char *s, size_t len);
/* Decodes one UTF-8 rune at s[0..len); returns its width (>= 1) and the rune in *r
 * (0xFFFD with width 1 for invalid input, like Go). len must be > 0. */
int promql__utf8_decode(const char *s, size_t len, uint32_t *r);

/* Unquotes a STRING token's text (with its quotes) into out (NUL-terminated, may contain NULs).
 * The lexer has already validated the escapes. Returns 0, -1 on a bad escape or -2 when out of
 * memory (never a partial string). */
int promql__unquote(const char *s, size_t len, buf *out);

#endif
