/*
 * promql.h — PromQL parsing and printing (the parse half of the promql module; the evaluator's
 * API is in engine.h).
 *
 * promql_parse() turns a query into a tree of promql_node (ast.h) owned by a promql_expr: one
 * arena holds every node, string and matcher array; compiled regexes are released with it. The
 * grammar, type checks and error messages follow Prometheus 3.x. Errors carry the byte range of
 * the offending text and the message Prometheus prints ("1:17: parse error: unexpected ...").
 *
 * Untrusted input is bounded: the query length (PROMQL_MAX_QUERY_LEN by default) and the nesting
 * depth of the tree (PROMQL_MAX_DEPTH) fail with PROMQL_ERR_LIMIT, the arena size
 * (PROMQL_MAX_PARSE_BYTES) with PROMQL_ERR_NOMEM; promql_error explains either.
 *
 * Feature switches (promql_parse_options): experimental functions are accepted unless refused
 * (Prometheus's own test suite relies on them); duration expressions, anchored/smoothed and
 * binop fill modifiers are refused unless enabled, as in Prometheus 3.x.
 *
 * Printing: promql_format() is Prometheus's Expr.String(), promql_format_pretty() its Pretty()
 * (what /api/v1/format_query returns), promql_ast_json() the /api/v1/parse_query tree.
 *
 * Thread-safety: parsing has no shared state; a parsed tree is read-only (except for
 * promql_resolve_durations(), which fills in step()/range()-dependent durations) and may be read
 * by any number of threads (regex matching is reentrant).
 */
#ifndef SLOD_PROMQL_H
#define SLOD_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"
#include "tsdb/tsdb.h"
#include "util/arena.h"
#include "util/buf.h"

#define PROMQL_MAX_QUERY_LEN (64 * 1024)
#define PROMQL_MAX_DEPTH 1000
#define PROMQL_ERROR_MAX 512
#define PROMQL_MAX_PARSE_BYTES (64u * 1024 * 1024)

/* Error codes (negative). */
enum {
	PROMQL_OK = 0,
	PROMQL_ERR_PARSE = -1, /* syntax or type error; see promql_error */
	PROMQL_ERR_NOMEM = -2,
	PROMQL_ERR_LIMIT = -3, /* query too long, too deep, too large */
};

typedef struct promql_error {
	uint32_t start, end;             /* byte range in the query, end exclusive */
	uint32_t line, col;              /* 1-based line and column (bytes) of start */
	char msg[PROMQL_ERROR_MAX];      /* bare message: `unexpected "}" in label matching, ...` */
	char text[PROMQL_ERROR_MAX + 48]; /* as Prometheus prints it: "1:17: parse error: <msg>" */
} promql_error;

typedef struct promql_parse_options {
	size_t max_len;              /* 0: PROMQL_MAX_QUERY_LEN */
	int max_depth;               /* 0: PROMQL_MAX_DEPTH */
	bool no_experimental_functions; /* reject functions marked experimental (Prometheus's default
	                                   without --enable-feature=promql-experimental-functions) */
	bool enable_duration_expressions;     /* --enable-feature=promql-duration-expr */
	bool enable_extended_range_selectors; /* anchored/smoothed (promql-extended-range-selectors) */
	bool enable_binop_fill_modifiers;     /* fill()/fill_left()/fill_right() after operators */
	size_t max_bytes;            /* 0: PROMQL_MAX_PARSE_BYTES; bound of the tree's arena */
} promql_parse_options;

/* A parse result: the tree and the arena it lives in. */
typedef struct promql_expr {
	arena arena;        /* owns every node, string, matcher; regexes are freed with it */
	promql_node *root;
	const char *query;  /* copy of the query text (NUL-terminated) the positions refer to */
	size_t query_len;
	bool duration_vars; /* a duration expression uses step()/range() (or is invalid, like
	                       [-2^2]): call promql_resolve_durations() before evaluating */
} promql_expr;

/* Parses query[0..len) (need not be NUL-terminated). opt may be NULL (defaults).
 * Returns 0 and an owned *out (free with promql_expr_free), or a negative code with *out NULL and
 * err (if not NULL) filled. */
int promql_parse(const char *query, size_t len, const promql_parse_options *opt, promql_expr **out,
		 promql_error *err);
/* Frees the tree, its arena and its regexes. NULL is a no-op. */
void promql_expr_free(promql_expr *e);

/* Evaluates a duration expression (ast.h) in seconds with the given query step and range
 * (milliseconds). Returns 0, or -1 with a message in err (division/modulo by zero). */
int promql_duration_eval(const promql_duration_expr *d, int64_t step_ms, int64_t range_ms, double *out_s,
			 char *err, size_t errlen);
/* Computes every range/step/offset written as a duration expression in the tree from root and
 * stores it in the corresponding *_ms field (mutates the tree: call it once per evaluation of a
 * query whose promql_expr.duration_vars is set; instant queries pass step 0 and range 0).
 * Errors as Prometheus's: "duration must be greater than 0", "duration is NaN or infinite",
 * "duration is out of range", "division by zero" (prefixed by "start:end: " byte offsets).
 * Returns 0 or -1 with err filled. */
int promql_resolve_durations(promql_node *root, int64_t step_ms, int64_t range_ms, char *err, size_t errlen);

/* Parses a series selector as used in the HTTP API's match[] (`up`, `up{job="x"}`,
 * `{__name__=~"a.*"}`, `{"utf8.name"}`): a vector selector without offset, @ or range. The
 * matchers (incl. __name__ for a written metric name) are allocated in a, as are their strings
 * and compiled regexes (released by arena_deinit/arena_reset of a). Error messages as for
 * promql_parse. Returns 0, PROMQL_ERR_PARSE, PROMQL_ERR_NOMEM or PROMQL_ERR_LIMIT; on failure
 * *out is NULL and *n is 0 (memory already taken from a stays there). */
int promql_parse_selector(const char *sel, size_t len, arena *a, tsdb_matcher **out, size_t *n,
			  promql_error *err);

/* True if every matcher matches the empty string (such a selector would select every series;
 * Prometheus refuses it in queries and in the API's match[]). */
bool promql_matchers_match_empty(const tsdb_matcher *m, size_t n);

/* Appends the canonical PromQL text of node (Prometheus's String()) to out.
 * parse(format(parse(q))) yields the same tree as parse(q). Returns 0 or -1 (out full/OOM). */
int promql_format(const promql_node *node, buf *out);
/* Prometheus's Pretty() as served by /api/v1/format_query: String(), except that a subtree
 * whose String() is longer than 100 bytes is split over lines with two-space indentation
 * (aggregations, calls, parentheses and binary operators one operand per line). The result
 * parses to the same tree. Returns 0 or -1. */
int promql_format_pretty(const promql_node *node, buf *out);
/* Appends the tree as the JSON object Prometheus's /api/v1/parse_query returns as "data" (the
 * UI's tree view): {"type":"binaryExpr","op":"+","lhs":{...},...}. Returns 0 or -1. */
int promql_ast_json(const promql_node *node, buf *out);
/* promql_format() into a NUL-terminated string allocated in a (NULL on OOM). */
char *promql_format_arena(const promql_node *node, arena *a);

/* Appends a label value or name quoted like Go's strconv.Quote ("a\"b\n"). Returns 0 or -1. */
int promql_quote(buf *out, const char *s, size_t len);
/* True if s is a valid legacy metric name [a-zA-Z_:][a-zA-Z0-9_:]* / label name [a-zA-Z_][a-zA-Z0-9_]*. */
bool promql_is_legacy_metric_name(const char *s, size_t len);
bool promql_is_legacy_label_name(const char *s, size_t len);

/* Parses a Prometheus duration literal as the lexer does ("1h30m", "5m", "1.5" is not one);
 * returns 0 and milliseconds, or -1. */
int promql_parse_duration(const char *s, size_t len, int64_t *out_ms);

#endif
