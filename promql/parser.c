/*
 * parser.c — PromQL parser: tokens (lexer.c) to the AST of ast.h, then Prometheus's type checks.
 *
 * Method: recursive descent for primaries plus precedence climbing for binary operators:
 *
 *   level  operators                 associativity
 *     1    or                        left
 *     2    and unless                left
 *     3    == != <= < >= >           left
 *     4    + -                       left
 *     5    * / % atan2, unary + -    left (unary binds like *, so -a^b is -(a^b))
 *     6    ^                         right
 *   postfix: [range] [range:step] offset @ anchored smoothed bind tighter than any operator.
 *
 * Durations inside [...] and after "offset" form a small expression language of their own
 * (numbers, durations, + - * / % ^, step(), range(), min_of, max_of, parentheses; Prometheus's
 * experimental duration expressions). A plain literal is stored as milliseconds; an expression
 * is kept (for printing) and folded when constant. "x offset 5m + 1" is (x offset 5m) + 1: after
 * "offset" only a parenthesised expression continues with operators, as in Prometheus's grammar.
 *
 * Two passes, as in Prometheus: (1) syntax, building nodes in the expression's arena and
 * stopping at the first error (lexer errors, "unexpected ..." with Prometheus's context and
 * expectation texts, and the errors Prometheus's grammar actions raise: offsets, @, ranges,
 * aggregation arity, unknown functions); (2) check_node(), a post-order walk doing
 * Prometheus's checkAST type checks. Only the first error is reported (Prometheus prints only
 * the first too).
 *
 * Bounds: input length (opt.max_len), nesting (opt.max_depth on recursion and on tree height,
 * so left-deep chains like 1+1+...+1 are bounded too), and the arena (opt.max_bytes).
 * Cost: O(n) in the input length; regexes are compiled once per matcher (PCRE2 only for
 * patterns that are not literal alternations).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promql/lexer.h"
#include "promql/promql.h"
#include "promql/regex.h"


typedef struct parser {
	promql_lexer lx;
	const char *in;
	size_t len;
	arena *a;
	promql_token tok; /* lookahead, valid when have_tok */
	bool have_tok;
	promql_error *err;
	int rc;             /* first error code, 0 while none */
	int depth;          /* recursion depth */
	int max_depth;
	const char *ctx;    /* context for generic "unexpected" errors ("aggregation" or NULL) */
	const char *dur_ctx, *dur_expected; /* the same inside duration expressions */
	bool no_experimental;
	bool dur_exprs;     /* duration expressions enabled */
	bool ext_range;     /* anchored/smoothed enabled */
	bool fill;          /* binop fill modifiers enabled */
	bool duration_vars; /* a duration expression uses step()/range() */
	uint32_t last_end;  /* end offset of the last consumed token */
} parser;

/* ---- errors ---- */

static void set_error_code(parser *p, int code, uint32_t start, uint32_t end, const char *msg)
{
	if (p->rc)
		return;
	p->rc = code;
	if (!p->err)
		return;
	promql_error *e = p->err;
	e->start = start;
	e->end = end;
	uint32_t line = 1;
	long last_nl = -1;
	for (uint32_t i = 0; i < start && i < p->len; i++) {
		if (p->in[i] == '\n') {
			line++;
			last_nl = (long)i;
		}
	}
	e->line = line;
	e->col = (uint32_t)((long)start - last_nl);
	snprintf(e->msg, sizeof e->msg, "%s", msg);
	if (p->len == 0)
		snprintf(e->text, sizeof e->text, "unknown position: parse error: %s", e->msg);
	else
		snprintf(e->text, sizeof e->text, "%u:%u: parse error: %s", e->line, e->col, e->msg);
}

static void set_error(parser *p, uint32_t start, uint32_t end, const char *msg)
{
	set_error_code(p, PROMQL_ERR_PARSE, start, end, msg);
}

static void errorf(parser *p, promql_pos_range r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errorf(parser *p, promql_pos_range r, const char *fmt, ...)
{
	char msg[PROMQL_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	set_error(p, r.start, r.end, msg);
}

static void oom(parser *p)
{
	set_error_code(p, PROMQL_ERR_NOMEM, 0, 0, "out of memory");
}

/* Appends Go's %q of s to a fixed buffer. */
static void quote_into(char *out, size_t cap, const char *s, size_t len)
{
	buf b;
	buf_init(&b, 0);
	promql__go_quote(&b, s, len);
	snprintf(out, cap, "%s", b.data ? b.data : "\"\"");
	buf_deinit(&b);
}

/* ---- tokens ---- */

static promql_token peek(parser *p)
{
	if (!p->have_tok) {
		do {
			p->tok = promql_lexer_next(&p->lx);
		} while (p->tok.type == PT_COMMENT);
		p->have_tok = true;
		if (p->tok.type == PT_ERROR)
			set_error(p, p->tok.pos, (uint32_t)p->len, p->lx.err);
	}
	return p->tok;
}

static promql_token next(parser *p)
{
	promql_token t = peek(p);
	p->have_tok = false;
	p->last_end = t.pos + t.len;
	return t;
}

/* "unexpected <token>[ in <context>][, expected <expected>]" at the lookahead. */
static void unexpected(parser *p, const char *context, const char *expected)
{
	promql_token t = peek(p);
	if (t.type == PT_ERROR || p->rc)
		return;
	buf b;
	buf_init(&b, PROMQL_ERROR_MAX - 1);
	buf_puts(&b, "unexpected ");
	promql_token_desc(p->in, &t, &b);
	if (context && *context) {
		buf_puts(&b, " in ");
		buf_puts(&b, context);
	}
	if (expected && *expected) {
		buf_puts(&b, ", expected ");
		buf_puts(&b, expected);
	}
	set_error(p, t.pos, t.pos + t.len, b.data ? b.data : "unexpected input");
	buf_deinit(&b);
}

static void unexpected_generic(parser *p)
{
	unexpected(p, p->ctx, NULL);
}

/* ---- nodes ---- */

static promql_node *new_node(parser *p, promql_node_kind kind, uint32_t start, uint32_t end)
{
	promql_node *n = arena_calloc(p->a, 1, sizeof(*n));
	if (!n) {
		oom(p);
		return NULL;
	}
	n->kind = kind;
	n->pos.start = start;
	n->pos.end = end;
	n->height = 1;
	return n;
}

static bool set_height(parser *p, promql_node *n, const promql_node *child)
{
	if (child && child->height + 1 > n->height)
		n->height = child->height + 1;
	if (n->height > (uint32_t)p->max_depth) {
		char msg[96];
		snprintf(msg, sizeof msg, "query too deeply nested (max depth %d)", p->max_depth);
		set_error_code(p, PROMQL_ERR_LIMIT, n->pos.start, n->pos.end, msg);
		return false;
	}
	return true;
}

static promql_value_type node_type(const promql_node *n)
{
	switch (n->kind) {
	case PROMQL_NODE_NUMBER:
		return PROMQL_TYPE_SCALAR;
	case PROMQL_NODE_STRING:
		return PROMQL_TYPE_STRING;
	case PROMQL_NODE_VECTOR_SELECTOR:
	case PROMQL_NODE_AGGREGATE:
		return PROMQL_TYPE_VECTOR;
	case PROMQL_NODE_MATRIX_SELECTOR:
	case PROMQL_NODE_SUBQUERY:
		return PROMQL_TYPE_MATRIX;
	/* inner nodes: from the children's stored types (O(1), no walk) */
	case PROMQL_NODE_UNARY:
		return n->unary.expr->type;
	case PROMQL_NODE_PAREN:
		return n->paren.expr->type;
	case PROMQL_NODE_BINARY:
		if (n->binary.lhs->type == PROMQL_TYPE_SCALAR && n->binary.rhs->type == PROMQL_TYPE_SCALAR)
			return PROMQL_TYPE_SCALAR;
		return PROMQL_TYPE_VECTOR;
	case PROMQL_NODE_CALL:
		return n->call.func ? n->call.func->return_type : PROMQL_TYPE_NONE;
	}
	return PROMQL_TYPE_NONE;
}

/* A growable array of pointers in the arena. */
typedef struct pvec {
	void **v;
	size_t n, cap;
} pvec;

static int pvec_push(parser *p, pvec *pv, void *x)
{
	if (pv->n == pv->cap) {
		size_t nc = pv->cap ? pv->cap * 2 : 4;
		void **nv = arena_alloc(p->a, nc * sizeof(void *));
		if (!nv) {
			oom(p);
			return -1;
		}
		if (pv->n)
			memcpy(nv, pv->v, pv->n * sizeof(void *));
		pv->v = nv;
		pv->cap = nc;
	}
	pv->v[pv->n++] = x;
	return 0;
}

static char *tok_strdup(parser *p, promql_token t)
{
	char *s = arena_strndup(p->a, p->in + t.pos, t.len);
	if (!s)
		oom(p);
	return s;
}

/* Unquotes a STRING token into the arena; *len gets the length. */
static char *tok_unquote(parser *p, promql_token t, size_t *len)
{
	buf b;
	buf_init(&b, 0);
	char *s = NULL;
	int urc = promql__unquote(p->in + t.pos, t.len, &b);
	if (urc == -2) {
		oom(p);
		goto out;
	}
	if (urc != 0) {
		char q[PROMQL_ERROR_MAX / 2];
		quote_into(q, sizeof q, p->in + t.pos, t.len);
		errorf(p, (promql_pos_range){t.pos, t.pos + t.len}, "error unquoting string %s: invalid syntax", q);
		goto out;
	}
	s = arena_strndup(p->a, b.data ? b.data : "", b.len);
	if (!s) {
		oom(p);
		goto out;
	}
	if (len)
		*len = b.len;
out:
	buf_deinit(&b);
	return s;
}

/* ---- numbers and durations ---- */

/* Go's strconv.ParseInt(s, 0, 64) then ParseFloat(s, 64), as Prometheus's parser.number(). */
static int parse_number_text(const char *s, size_t n, double *out, char *why, size_t whylen)
{
	char tmp[128];
	char *b = n + 1 <= sizeof tmp ? tmp : malloc(n + 1);
	int rc = 0;
	if (!b) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	size_t k = 0;
	bool underscore = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			underscore = true;
		else
			b[k++] = s[i];
	}
	b[k] = '\0';
	if (strcasecmp(b, "inf") == 0) {
		*out = INFINITY;
		goto out;
	}
	if (strcasecmp(b, "nan") == 0) {
		*out = NAN;
		goto out;
	}
	/* integer forms: 0x.., leading-0 octal, decimal */
	{
		const char *d = b;
		int base = 10;
		if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
			base = 16;
			d += 2;
		} else if (d[0] == '0' && d[1] != '\0') {
			base = 8;
			d += 1;
		}
		bool all = *d != '\0';
		for (const char *c = d; *c; c++) {
			int v = (*c >= '0' && *c <= '9') ? *c - '0'
				: (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
				: (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10 : 99;
			if (v >= base) {
				all = false;
				break;
			}
		}
		if (all) {
			errno = 0;
			unsigned long long v = strtoull(d, NULL, base);
			if (errno == 0 && v <= (unsigned long long)INT64_MAX) {
				*out = (double)(int64_t)v;
				goto out;
			}
		}
		if (base == 16) { /* Go's ParseFloat wants a 'p' exponent for hex mantissas */
			snprintf(why, whylen, "invalid syntax");
			rc = -1;
			goto out;
		}
	}
	/* float: decimal only (the lexer never produces hex floats) */
	{
		(void)underscore; /* Go accepts underscores between digits; the lexer enforced that */
		char *end;
		errno = 0;
		double v = strtod(b, &end);
		if (*end != '\0' || end == b) {
			snprintf(why, whylen, "invalid syntax");
			rc = -1;
			goto out;
		}
		if (errno == ERANGE && isinf(v)) {
			snprintf(why, whylen, "value out of range");
			rc = -1;
			goto out;
		}
		*out = v;
	}
out:
	if (b != tmp)
		free(b);
	return rc;
}

/* Prometheus model.ParseDuration into milliseconds. Returns 0 or -1 with a message. */
static int parse_duration_text(const char *s, size_t n, int64_t *out_ms, char *why, size_t whylen)
{
	static const struct {
		const char *u;
		int64_t ms;
		int pos;
	} units[] = {{"y", 365LL * 86400000, 1}, {"w", 7LL * 86400000, 2}, {"d", 86400000, 3},
		     {"h", 3600000, 4},          {"m", 60000, 5},             {"s", 1000, 6},
		     {"ms", 1, 7}};
	char q[64];
	quote_into(q, sizeof q, s, n);
	if (n == 1 && s[0] == '0') {
		*out_ms = 0;
		return 0;
	}
	if (n == 0) {
		snprintf(why, whylen, "empty duration string");
		return -1;
	}
	uint64_t total = 0; /* milliseconds */
	int last = 0;
	size_t i = 0;
	while (i < n) {
		if (!(s[i] >= '0' && s[i] <= '9')) {
			snprintf(why, whylen, "not a valid duration string: %s", q);
			return -1;
		}
		uint64_t v = 0;
		bool ovf = false;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				ovf = true;
			v = v * 10 + (uint64_t)(s[i] - '0');
			i++;
		}
		if (ovf) {
			snprintf(why, whylen, "not a valid duration string: %s", q);
			return -1;
		}
		size_t us = i;
		while (i < n && !(s[i] >= '0' && s[i] <= '9'))
			i++;
		if (i == us) {
			snprintf(why, whylen, "not a valid duration string: %s", q);
			return -1;
		}
		int found = -1;
		for (int k = 0; k < 7; k++)
			if (strlen(units[k].u) == i - us && memcmp(units[k].u, s + us, i - us) == 0)
				found = k;
		if (found < 0) {
			char uq[32];
			quote_into(uq, sizeof uq, s + us, i - us);
			snprintf(why, whylen, "unknown unit %s in duration %s", uq, q);
			return -1;
		}
		if (units[found].pos <= last) {
			snprintf(why, whylen, "not a valid duration string: %s", q);
			return -1;
		}
		last = units[found].pos;
		/* Prometheus works in nanoseconds: bound by 2^63 ns */
		const uint64_t max_ms = (uint64_t)INT64_MAX / 1000000;
		if (v > max_ms / (uint64_t)units[found].ms) {
			snprintf(why, whylen, "duration out of range");
			return -1;
		}
		total += v * (uint64_t)units[found].ms;
		if (total > max_ms) {
			snprintf(why, whylen, "duration out of range");
			return -1;
		}
	}
	*out_ms = (int64_t)total;
	return 0;
}

int promql_parse_duration(const char *s, size_t len, int64_t *out_ms)
{
	char why[128];
	return parse_duration_text(s, len, out_ms, why, sizeof why);
}

/* A NUMBER or DURATION token as seconds. *is_dur tells which. Returns 0 or -1 (error set). */
static int tok_number(parser *p, promql_token t, double *out, bool *is_dur)
{
	char why[200];
	promql_pos_range r = {t.pos, t.pos + t.len};
	if (t.type == PT_DURATION) {
		int64_t ms;
		if (parse_duration_text(p->in + t.pos, t.len, &ms, why, sizeof why) != 0) {
			errorf(p, r, "%s", why);
			return -1;
		}
		*out = (double)ms / 1000.0;
		if (is_dur)
			*is_dur = true;
		return 0;
	}
	if (parse_number_text(p->in + t.pos, t.len, out, why, sizeof why) != 0) {
		buf b;
		buf_init(&b, PROMQL_ERROR_MAX - 1);
		buf_puts(&b, "error parsing number: strconv.ParseFloat: parsing ");
		promql__go_quote(&b, p->in + t.pos, t.len);
		buf_puts(&b, strstr(why, "range") ? ": value out of range" : ": invalid syntax");
		set_error(p, r.start, r.end, b.data ? b.data : "error parsing number");
		buf_deinit(&b);
		return -1;
	}
	if (is_dur)
		*is_dur = false;
	return 0;
}

/* Prometheus's bound for duration literals (int64 nanoseconds). NaN is refused too: Go would
 * turn it into an arbitrary int64 offset or range. */
static bool duration_out_of_range(double secs)
{
	return isnan(secs) || secs > 9223372036.854775807 || secs < -9223372036.854775808;
}

/* ---- forward declarations ---- */

static promql_node *parse_expr(parser *p, int min_prec);

/* ---- label matchers ---- */

static bool is_match_op(promql_tok t)
{
	return t == PT_EQL || t == PT_NEQ || t == PT_EQL_REGEX || t == PT_NEQ_REGEX;
}

/* Builds a matcher; compiles regexes. Returns 0 or -1 (error set). */
static int make_matcher(parser *p, tsdb_matcher *m, const char *name, promql_tok op, const char *value,
			size_t vlen, promql_pos_range r)
{
	m->name = name;
	m->value = value;
	m->re = NULL;
	m->re_match = NULL;
	switch (op) {
	case PT_EQL: m->type = TSDB_MATCH_EQ; break;
	case PT_NEQ: m->type = TSDB_MATCH_NEQ; break;
	case PT_EQL_REGEX: m->type = TSDB_MATCH_RE; break;
	default: m->type = TSDB_MATCH_NRE; break;
	}
	if (m->type == TSDB_MATCH_RE || m->type == TSDB_MATCH_NRE) {
		promql_regex *re;
		char why[PROMQL_ERROR_MAX - 16];
		int rc = promql_regex_compile_matcher(value, vlen, p->a, &re, why, sizeof why);
		if (rc == -2) {
			oom(p);
			return -1;
		}
		if (rc != 0) {
			errorf(p, r, "%s", why);
			return -1;
		}
		m->re = re;
		m->re_match = promql_regex_match;
	}
	return 0;
}

/* Parses {...} after the '{' lookahead, appending tsdb_matcher pointers to ms (arena). Returns 0 or -1. *end receives the
 * end offset of '}'. */
static int parse_label_matchers(parser *p, pvec *ms, uint32_t *end)
{
	next(p); /* { */
	promql_token t = peek(p);
	if (t.type == PT_RIGHT_BRACE) {
		next(p);
		*end = t.pos + t.len;
		return 0;
	}
	for (;;) {
		t = peek(p);
		if (p->rc)
			return -1;
		tsdb_matcher *m = arena_calloc(p->a, 1, sizeof(*m));
		if (!m) {
			oom(p);
			return -1;
		}
		if (t.type == PT_IDENTIFIER || t.type == PT_STRING) {
			promql_token nt = next(p);
			const char *name;
			size_t name_len = nt.len;
			if (nt.type == PT_IDENTIFIER)
				name = tok_strdup(p, nt);
			else
				name = tok_unquote(p, nt, &name_len);
			if (!name)
				return -1;
			if (strlen(name) != name_len) {
				/* slod's labels are C strings: a NUL can never match, so refuse it */
				errorf(p, (promql_pos_range){nt.pos, nt.pos + nt.len}, "label name or value must not contain a NUL byte");
				return -1;
			}
			promql_token op = peek(p);
			if (!is_match_op(op.type)) {
				if (nt.type == PT_STRING) {
					/* {"metric"}: a metric name matcher */
					if (make_matcher(p, m, SLOD_METRIC_NAME, PT_EQL, name, strlen(name),
							 (promql_pos_range){nt.pos, nt.pos + nt.len}) != 0)
						return -1;
					goto added;
				}
				unexpected(p, "label matching", "label matching operator");
				return -1;
			}
			next(p);
			promql_token v = peek(p);
			if (v.type != PT_STRING) {
				unexpected(p, "label matching", "string");
				return -1;
			}
			next(p);
			size_t vlen;
			char *val = tok_unquote(p, v, &vlen);
			if (!val)
				return -1;
			if (strlen(val) != vlen) {
				errorf(p, (promql_pos_range){v.pos, v.pos + v.len}, "label name or value must not contain a NUL byte");
				return -1;
			}
			if (make_matcher(p, m, name, op.type, val, vlen, (promql_pos_range){nt.pos, v.pos + v.len}) != 0)
				return -1;
		} else {
			unexpected(p, "label matching", "identifier or \"}\"");
			return -1;
		}
added:
		if (pvec_push(p, ms, m) != 0)
			return -1;
		t = peek(p);
		if (t.type == PT_COMMA) {
			next(p);
			t = peek(p);
			if (t.type == PT_RIGHT_BRACE) {
				next(p);
				*end = t.pos + t.len;
				return 0;
			}
			continue;
		}
		if (t.type == PT_RIGHT_BRACE) {
			next(p);
			*end = t.pos + t.len;
			return 0;
		}
		unexpected(p, "label matching", "\",\" or \"}\"");
		return -1;
	}
}

/* Vector selector: optional name token already consumed (name_tok.len > 0), lookahead maybe '{'. */
static promql_node *parse_vector_selector(parser *p, const promql_token *name_tok)
{
	pvec ms = {0};
	uint32_t start = name_tok ? name_tok->pos : peek(p).pos;
	uint32_t end = name_tok ? name_tok->pos + name_tok->len : start;
	if (peek(p).type == PT_LEFT_BRACE) {
		if (parse_label_matchers(p, &ms, &end) != 0)
			return NULL;
	}
	promql_node *n = new_node(p, PROMQL_NODE_VECTOR_SELECTOR, start, end);
	if (!n)
		return NULL;
	n->type = PROMQL_TYPE_VECTOR;
	if (name_tok) {
		char *name = tok_strdup(p, *name_tok);
		tsdb_matcher *m = arena_calloc(p->a, 1, sizeof(*m));
		if (!name || !m) {
			oom(p);
			return NULL;
		}
		m->type = TSDB_MATCH_EQ;
		m->name = SLOD_METRIC_NAME;
		m->value = name;
		n->vs.name = name;
		if (pvec_push(p, &ms, m) != 0)
			return NULL;
	}
	n->vs.n_matchers = ms.n;
	n->vs.matchers = arena_calloc(p->a, ms.n ? ms.n : 1, sizeof(tsdb_matcher));
	if (!n->vs.matchers) {
		oom(p);
		return NULL;
	}
	for (size_t i = 0; i < ms.n; i++)
		n->vs.matchers[i] = *(tsdb_matcher *)ms.v[i];
	return n;
}

/* ---- grouping labels ---- */

static bool is_maybe_label(promql_tok t)
{
	if (t == PT_IDENTIFIER || t == PT_METRIC_IDENTIFIER)
		return true;
	if (promql_tok_is_aggregator(t) || promql_tok_is_keyword(t))
		return true;
	switch (t) {
	case PT_LAND: case PT_LOR: case PT_LUNLESS: case PT_ATAN2:
	case PT_START: case PT_END: case PT_STEP: case PT_RANGE: case PT_MAX_OF: case PT_MIN_OF:
		return true;
	default:
		return false;
	}
}

static bool valid_utf8(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t r;
		int w = promql__utf8_decode(s + i, n - i, &r);
		if (r == 0xFFFD && w == 1)
			return false;
		i += (size_t)w;
	}
	return true;
}

/* "(" labels ")" — lookahead must be '('. */
static int parse_grouping_labels(parser *p, const char ***out, size_t *n)
{
	pvec v = {0};
	if (peek(p).type != PT_LEFT_PAREN) {
		unexpected(p, "grouping opts", "\"(\"");
		return -1;
	}
	next(p);
	if (peek(p).type == PT_RIGHT_PAREN) {
		next(p);
		goto done;
	}
	for (;;) {
		promql_token t = peek(p);
		char *label;
		if (is_maybe_label(t.type)) {
			next(p);
			label = tok_strdup(p, t);
		} else if (t.type == PT_STRING) {
			next(p);
			size_t ln;
			label = tok_unquote(p, t, &ln);
			if (label && (ln == 0 || !valid_utf8(label, ln) || memchr(label, 0, ln))) {
				char q[PROMQL_ERROR_MAX / 2];
				quote_into(q, sizeof q, label, ln);
				errorf(p, (promql_pos_range){t.pos, t.pos + t.len}, "invalid label name for grouping: %s", q);
				return -1;
			}
		} else {
			unexpected(p, "grouping opts", "label");
			return -1;
		}
		if (!label || pvec_push(p, &v, label) != 0)
			return -1;
		t = peek(p);
		if (t.type == PT_COMMA) {
			next(p);
			if (peek(p).type == PT_RIGHT_PAREN) {
				next(p);
				break;
			}
			continue;
		}
		if (t.type == PT_RIGHT_PAREN) {
			next(p);
			break;
		}
		unexpected(p, "grouping opts", "\",\" or \")\"");
		return -1;
	}
done:
	*out = (const char **)v.v;
	*n = v.n;
	if (!*out) {
		*out = arena_calloc(p->a, 1, sizeof(char *));
		if (!*out) {
			oom(p);
			return -1;
		}
	}
	return 0;
}

/* ---- function calls and aggregations ---- */

/* "(" args ")" with the lookahead at '('. end receives the offset after ')'. */
static int parse_call_args(parser *p, pvec *args, uint32_t *end)
{
	next(p); /* ( */
	if (peek(p).type == PT_RIGHT_PAREN) {
		*end = next(p).pos + 1;
		return 0;
	}
	for (;;) {
		promql_node *e = parse_expr(p, 0);
		if (!e)
			return -1;
		if (pvec_push(p, args, e) != 0)
			return -1;
		promql_token t = peek(p);
		if (t.type == PT_COMMA) {
			next(p);
			if (peek(p).type == PT_RIGHT_PAREN) {
				errorf(p, (promql_pos_range){t.pos, t.pos + 1}, "trailing commas not allowed in function call args");
				return -1;
			}
			continue;
		}
		if (t.type == PT_RIGHT_PAREN) {
			*end = next(p).pos + 1;
			return 0;
		}
		unexpected_generic(p);
		return -1;
	}
}

static promql_node *parse_call(parser *p, promql_token name)
{
	pvec args = {0};
	uint32_t end;
	if (parse_call_args(p, &args, &end) != 0)
		return NULL;
	promql_pos_range nr = {name.pos, name.pos + name.len};
	const promql_function *f = promql_function_lookup(p->in + name.pos, name.len);
	char q[PROMQL_ERROR_MAX / 2];
	quote_into(q, sizeof q, p->in + name.pos, name.len);
	if (!f) {
		errorf(p, nr, "unknown function with name %s", q);
		return NULL;
	}
	if (f->experimental && p->no_experimental) {
		errorf(p, nr, "function %s is not enabled", q);
		return NULL;
	}
	promql_node *n = new_node(p, PROMQL_NODE_CALL, name.pos, end);
	if (!n)
		return NULL;
	n->call.func = f;
	n->call.n_args = args.n;
	n->call.args = (promql_node **)args.v;
	if (!n->call.args) {
		n->call.args = arena_calloc(p->a, 1, sizeof(promql_node *));
		if (!n->call.args) {
			oom(p);
			return NULL;
		}
	}
	for (size_t i = 0; i < args.n; i++)
		if (!set_height(p, n, n->call.args[i]))
			return NULL;
	n->type = f->return_type;
	return n;
}

static promql_aggop agg_of(promql_tok t)
{
	switch (t) {
	case PT_SUM: return PROMQL_AGG_SUM;
	case PT_AVG: return PROMQL_AGG_AVG;
	case PT_COUNT: return PROMQL_AGG_COUNT;
	case PT_MIN: return PROMQL_AGG_MIN;
	case PT_MAX: return PROMQL_AGG_MAX;
	case PT_GROUP: return PROMQL_AGG_GROUP;
	case PT_STDDEV: return PROMQL_AGG_STDDEV;
	case PT_STDVAR: return PROMQL_AGG_STDVAR;
	case PT_TOPK: return PROMQL_AGG_TOPK;
	case PT_BOTTOMK: return PROMQL_AGG_BOTTOMK;
	case PT_COUNT_VALUES: return PROMQL_AGG_COUNT_VALUES;
	case PT_QUANTILE: return PROMQL_AGG_QUANTILE;
	case PT_LIMITK: return PROMQL_AGG_LIMITK;
	default: return PROMQL_AGG_LIMIT_RATIO;
	}
}

static promql_node *parse_aggregate(parser *p, promql_token op)
{
	const char *saved_ctx = p->ctx;
	promql_node *n = NULL;
	pvec args = {0};
	const char **grouping = NULL;
	size_t n_grouping = 0;
	bool without = false, have_mod = false;
	uint32_t end;

	p->ctx = "aggregation";
	promql_token t = peek(p);
	if (t.type == PT_BY || t.type == PT_WITHOUT) {
		next(p);
		without = t.type == PT_WITHOUT;
		have_mod = true;
		if (parse_grouping_labels(p, &grouping, &n_grouping) != 0)
			goto out;
	}
	if (peek(p).type != PT_LEFT_PAREN) {
		unexpected_generic(p);
		goto out;
	}
	if (parse_call_args(p, &args, &end) != 0)
		goto out;
	if (!have_mod) {
		t = peek(p);
		if (t.type == PT_BY || t.type == PT_WITHOUT) {
			next(p);
			without = t.type == PT_WITHOUT;
			if (parse_grouping_labels(p, &grouping, &n_grouping) != 0)
				goto out;
		}
	}
	promql_pos_range r = {op.pos, end};
	promql_aggop aop = agg_of(op.type);
	if (args.n == 0) {
		errorf(p, r, "no arguments for aggregate expression provided");
		goto out;
	}
	size_t want = 1;
	if (promql_aggop_has_param(aop)) {
		if (p->no_experimental && (aop == PROMQL_AGG_LIMITK || aop == PROMQL_AGG_LIMIT_RATIO)) {
			errorf(p, r, "%s() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
			       promql_aggop_name(aop));
			goto out;
		}
		want = 2;
	}
	if (args.n != want) {
		errorf(p, r, "wrong number of arguments for aggregate expression provided, expected %zu, got %zu", want,
		       args.n);
		goto out;
	}
	n = new_node(p, PROMQL_NODE_AGGREGATE, op.pos, end);
	if (!n)
		goto out;
	n->type = PROMQL_TYPE_VECTOR;
	n->aggregate.op = aop;
	n->aggregate.expr = args.v[want - 1];
	n->aggregate.param = want == 2 ? args.v[0] : NULL;
	n->aggregate.grouping = grouping;
	n->aggregate.n_grouping = n_grouping;
	n->aggregate.without = without;
	if (!grouping) {
		n->aggregate.grouping = arena_calloc(p->a, 1, sizeof(char *));
		if (!n->aggregate.grouping) {
			oom(p);
			n = NULL;
			goto out;
		}
	}
	if (!set_height(p, n, n->aggregate.expr) || !set_height(p, n, n->aggregate.param))
		n = NULL;
out:
	p->ctx = saved_ctx;
	return n;
}

/* ---- primaries ---- */

static bool is_metric_identifier_kw(promql_tok t)
{
	switch (t) {
	case PT_BY: case PT_FILL: case PT_FILL_LEFT: case PT_FILL_RIGHT: case PT_LAND: case PT_LOR:
	case PT_LUNLESS: case PT_OFFSET: case PT_WITHOUT: case PT_START: case PT_END: case PT_STEP:
	case PT_RANGE: case PT_ANCHORED: case PT_SMOOTHED: case PT_MAX_OF: case PT_MIN_OF:
		return true;
	default:
		return false;
	}
}

static promql_node *parse_primary(parser *p)
{
	promql_token t = peek(p);
	if (p->rc)
		return NULL;
	switch (t.type) {
	case PT_NUMBER:
	case PT_DURATION: {
		next(p);
		double v;
		bool dur;
		if (tok_number(p, t, &v, &dur) != 0)
			return NULL;
		promql_node *n = new_node(p, PROMQL_NODE_NUMBER, t.pos, t.pos + t.len);
		if (!n)
			return NULL;
		n->type = PROMQL_TYPE_SCALAR;
		n->number.value = v;
		n->number.duration = dur;
		if (dur && duration_out_of_range(v)) {
			errorf(p, n->pos, "duration out of range");
			return NULL;
		}
		return n;
	}
	case PT_STRING: {
		next(p);
		size_t len;
		char *s = tok_unquote(p, t, &len);
		if (!s)
			return NULL;
		promql_node *n = new_node(p, PROMQL_NODE_STRING, t.pos, t.pos + t.len);
		if (!n)
			return NULL;
		n->type = PROMQL_TYPE_STRING;
		n->string.value = s;
		n->string.len = len;
		return n;
	}
	case PT_LEFT_PAREN: {
		next(p);
		promql_node *e = parse_expr(p, 0);
		if (!e)
			return NULL;
		promql_token c = peek(p);
		if (c.type != PT_RIGHT_PAREN) {
			unexpected_generic(p);
			return NULL;
		}
		next(p);
		promql_node *n = new_node(p, PROMQL_NODE_PAREN, t.pos, c.pos + 1);
		if (!n)
			return NULL;
		n->paren.expr = e;
		n->type = e->type;
		if (!set_height(p, n, e))
			return NULL;
		return n;
	}
	case PT_LEFT_BRACE:
		return parse_vector_selector(p, NULL);
	case PT_IDENTIFIER:
		next(p);
		if (peek(p).type == PT_LEFT_PAREN)
			return parse_call(p, t);
		return parse_vector_selector(p, &t);
	case PT_METRIC_IDENTIFIER:
		next(p);
		return parse_vector_selector(p, &t);
	default:
		break;
	}
	if (promql_tok_is_aggregator(t.type)) {
		next(p);
		promql_tok la = peek(p).type;
		if (la == PT_LEFT_PAREN || la == PT_BY || la == PT_WITHOUT)
			return parse_aggregate(p, t);
		return parse_vector_selector(p, &t);
	}
	if (is_metric_identifier_kw(t.type)) {
		next(p);
		if (peek(p).type == PT_LEFT_PAREN &&
		    (t.type == PT_START || t.type == PT_END || t.type == PT_STEP || t.type == PT_RANGE ||
		     t.type == PT_MAX_OF || t.type == PT_MIN_OF))
			return parse_call(p, t);
		return parse_vector_selector(p, &t);
	}
	unexpected_generic(p);
	return NULL;
}

/* ---- duration expressions (ranges, subquery steps, offsets) ---- */

static bool enter(parser *p);

static int64_t secs_to_ms(double s)
{
	return (int64_t)llround(s * 1000.0);
}

static promql_duration_expr *new_dur(parser *p, promql_dur_kind k, uint32_t start, uint32_t end)
{
	promql_duration_expr *d = arena_calloc(p->a, 1, sizeof(*d));
	if (!d) {
		oom(p);
		return NULL;
	}
	d->kind = k;
	d->pos.start = start;
	d->pos.end = end;
	d->height = 1;
	return d;
}

/* Sets d's height from its operands; false (error set) past the depth limit. */
static bool dur_height(parser *p, promql_duration_expr *d)
{
	uint32_t h = 0;
	if (d->lhs && d->lhs->height > h)
		h = d->lhs->height;
	if (d->rhs && d->rhs->height > h)
		h = d->rhs->height;
	d->height = h + 1;
	if (d->height > (uint32_t)p->max_depth) {
		char msg[96];
		snprintf(msg, sizeof msg, "query too deeply nested (max depth %d)", p->max_depth);
		set_error_code(p, PROMQL_ERR_LIMIT, d->pos.start, d->pos.end, msg);
		return false;
	}
	return true;
}

static bool dur_experimental(parser *p, promql_pos_range r)
{
	if (p->dur_exprs)
		return true;
	errorf(p, r, "experimental duration expression is not enabled");
	return false;
}

static bool dur_uses_vars(const promql_duration_expr *d)
{
	if (!d)
		return false;
	if (d->kind == PROMQL_DUR_STEP || d->kind == PROMQL_DUR_RANGE)
		return true;
	return dur_uses_vars(d->lhs) || dur_uses_vars(d->rhs);
}

static void dur_unexpected(parser *p)
{
	unexpected(p, p->dur_ctx, p->dur_expected);
}

static promql_duration_expr *parse_dur_expr(parser *p, int min_prec);

static promql_duration_expr *dur_number(parser *p)
{
	promql_token t = next(p);
	double v;
	bool dur;
	if (tok_number(p, t, &v, &dur) != 0)
		return NULL;
	promql_duration_expr *d = new_dur(p, PROMQL_DUR_NUMBER, t.pos, t.pos + t.len);
	if (!d)
		return NULL;
	if (duration_out_of_range(v)) {
		errorf(p, d->pos, "duration out of range");
		return NULL;
	}
	d->value = v;
	d->duration = dur;
	return d;
}

/* step() / range() / min_of(a, b) / max_of(a, b) at the lookahead. check: raise the
 * experimental error here (false when a unary wrapper does it). */
static promql_duration_expr *dur_call(parser *p, bool check)
{
	promql_token k = next(p);
	promql_dur_kind kind = k.type == PT_STEP ? PROMQL_DUR_STEP
			       : k.type == PT_RANGE ? PROMQL_DUR_RANGE
			       : k.type == PT_MIN_OF ? PROMQL_DUR_MIN_OF : PROMQL_DUR_MAX_OF;
	promql_duration_expr *lhs = NULL, *rhs = NULL;
	if (peek(p).type != PT_LEFT_PAREN) {
		dur_unexpected(p);
		return NULL;
	}
	next(p);
	if (kind == PROMQL_DUR_MIN_OF || kind == PROMQL_DUR_MAX_OF) {
		lhs = parse_dur_expr(p, 0);
		if (!lhs)
			return NULL;
		if (peek(p).type != PT_COMMA) {
			dur_unexpected(p);
			return NULL;
		}
		next(p);
		rhs = parse_dur_expr(p, 0);
		if (!rhs)
			return NULL;
	}
	promql_token c = peek(p);
	if (c.type != PT_RIGHT_PAREN) {
		dur_unexpected(p);
		return NULL;
	}
	next(p);
	promql_duration_expr *d = new_dur(p, kind, k.pos, c.pos + 1);
	if (!d)
		return NULL;
	d->lhs = lhs;
	d->rhs = rhs;
	if (!dur_height(p, d))
		return NULL;
	if (check && !dur_experimental(p, d->pos))
		return NULL;
	return d;
}

/* "(e)": Prometheus marks an expression as parenthesised; a bare number gets a unary-plus
 * wrapper to carry the parentheses. */
static promql_duration_expr *dur_wrap(parser *p, promql_duration_expr *e, uint32_t start, uint32_t end)
{
	if (e->kind != PROMQL_DUR_NUMBER) {
		e->wrapped = true;
		return e;
	}
	promql_duration_expr *w = new_dur(p, PROMQL_DUR_UNARY, start, end);
	if (!w)
		return NULL;
	w->op = PROMQL_OP_ADD;
	w->rhs = e;
	w->wrapped = true;
	return dur_height(p, w) ? w : NULL;
}

static promql_duration_expr *dur_apply_unary(parser *p, promql_token op, promql_duration_expr *e)
{
	if (e->kind == PROMQL_DUR_NUMBER) {
		if (op.type == PT_SUB)
			e->value = -e->value;
		if (duration_out_of_range(e->value)) {
			errorf(p, (promql_pos_range){op.pos, op.pos + op.len}, "duration out of range");
			return NULL;
		}
		e->pos.start = op.pos;
		return e;
	}
	if (op.type == PT_ADD)
		return e;
	promql_duration_expr *w = new_dur(p, PROMQL_DUR_UNARY, op.pos, e->pos.end);
	if (!w)
		return NULL;
	w->op = PROMQL_OP_SUB;
	w->rhs = e;
	return dur_height(p, w) ? w : NULL;
}

static promql_duration_expr *parse_dur_primary(parser *p)
{
	promql_token t = peek(p);
	if (p->rc)
		return NULL;
	switch (t.type) {
	case PT_NUMBER:
	case PT_DURATION:
		return dur_number(p);
	case PT_STEP:
	case PT_RANGE:
	case PT_MIN_OF:
	case PT_MAX_OF:
		return dur_call(p, true);
	case PT_LEFT_PAREN: {
		next(p);
		promql_duration_expr *e = parse_dur_expr(p, 0);
		if (!e)
			return NULL;
		promql_token c = peek(p);
		if (c.type != PT_RIGHT_PAREN) {
			dur_unexpected(p);
			return NULL;
		}
		next(p);
		if (!dur_experimental(p, e->pos))
			return NULL;
		return dur_wrap(p, e, t.pos, c.pos + 1);
	}
	default:
		dur_unexpected(p);
		return NULL;
	}
}

static int dur_prec(promql_tok t, promql_binop *op)
{
	switch (t) {
	case PT_ADD: *op = PROMQL_OP_ADD; return 4;
	case PT_SUB: *op = PROMQL_OP_SUB; return 4;
	case PT_MUL: *op = PROMQL_OP_MUL; return 5;
	case PT_DIV: *op = PROMQL_OP_DIV; return 5;
	case PT_MOD: *op = PROMQL_OP_MOD; return 5;
	case PT_POW: *op = PROMQL_OP_POW; return 6;
	default: return 0;
	}
}

static promql_duration_expr *parse_dur_expr(parser *p, int min_prec)
{
	promql_duration_expr *lhs = NULL;
	if (!enter(p))
		goto out;
	promql_token t = peek(p);
	if (t.type == PT_ADD || t.type == PT_SUB) {
		next(p);
		promql_duration_expr *e = parse_dur_expr(p, 6);
		if (e)
			lhs = dur_apply_unary(p, t, e);
	} else {
		lhs = parse_dur_primary(p);
	}
	while (lhs) {
		promql_token o = peek(p);
		promql_binop op;
		int prec = dur_prec(o.type, &op);
		if (prec == 0 || prec < min_prec)
			break;
		next(p);
		promql_duration_expr *rhs = parse_dur_expr(p, op == PROMQL_OP_POW ? prec : prec + 1);
		if (!rhs || !dur_experimental(p, lhs->pos)) {
			lhs = NULL;
			break;
		}
		if ((op == PROMQL_OP_DIV || op == PROMQL_OP_MOD) && rhs->kind == PROMQL_DUR_NUMBER && rhs->value == 0) {
			errorf(p, (promql_pos_range){o.pos, o.pos + o.len}, op == PROMQL_OP_DIV ? "division by zero" : "modulo by zero");
			lhs = NULL;
			break;
		}
		promql_duration_expr *b = new_dur(p, PROMQL_DUR_BINARY, lhs->pos.start, rhs->pos.end);
		if (!b) {
			lhs = NULL;
			break;
		}
		b->op = op;
		b->lhs = lhs;
		b->rhs = rhs;
		lhs = dur_height(p, b) ? b : NULL;
	}
out:
	p->depth--;
	return lhs;
}

int promql_duration_eval(const promql_duration_expr *d, int64_t step_ms, int64_t range_ms, double *out_s,
			 char *err, size_t errlen)
{
	double l = 0, r = 0;
	if (d->lhs && promql_duration_eval(d->lhs, step_ms, range_ms, &l, err, errlen) != 0)
		return -1;
	if (d->rhs && promql_duration_eval(d->rhs, step_ms, range_ms, &r, err, errlen) != 0)
		return -1;
	switch (d->kind) {
	case PROMQL_DUR_NUMBER: *out_s = d->value; return 0;
	case PROMQL_DUR_STEP: *out_s = (double)step_ms / 1000.0; return 0;
	case PROMQL_DUR_RANGE: *out_s = (double)range_ms / 1000.0; return 0;
	case PROMQL_DUR_MIN_OF: *out_s = fmin(l, r); return 0;
	case PROMQL_DUR_MAX_OF: *out_s = fmax(l, r); return 0;
	case PROMQL_DUR_UNARY: *out_s = d->op == PROMQL_OP_SUB ? -r : r; return 0;
	case PROMQL_DUR_BINARY:
		break;
	}
	switch (d->op) {
	case PROMQL_OP_ADD: *out_s = l + r; return 0;
	case PROMQL_OP_SUB: *out_s = l - r; return 0;
	case PROMQL_OP_MUL: *out_s = l * r; return 0;
	case PROMQL_OP_DIV:
	case PROMQL_OP_MOD:
		if (r == 0) {
			snprintf(err, errlen, "%u:%u: %s", d->pos.start, d->pos.end,
				 d->op == PROMQL_OP_DIV ? "division by zero" : "modulo by zero");
			return -1;
		}
		*out_s = d->op == PROMQL_OP_DIV ? l / r : fmod(l, r);
		return 0;
	case PROMQL_OP_POW: *out_s = pow(l, r); return 0;
	default:
		snprintf(err, errlen, "unexpected duration expression operator");
		return -1;
	}
}

/* Prometheus's calculateDuration: evaluates and bounds; milliseconds truncated like Go's
 * time.Duration(seconds*1000) * time.Millisecond. */
static int dur_calculate(const promql_duration_expr *d, bool allow_negative, int64_t step_ms, int64_t range_ms,
			 int64_t *out_ms, char *err, size_t errlen)
{
	double v;
	if (promql_duration_eval(d, step_ms, range_ms, &v, err, errlen) != 0)
		return -1;
	if (isnan(v) || isinf(v)) {
		snprintf(err, errlen, "%u:%u: duration is NaN or infinite", d->pos.start, d->pos.end);
		return -1;
	}
	if (v <= 0 && !allow_negative) {
		snprintf(err, errlen, "%u:%u: duration must be greater than 0", d->pos.start, d->pos.end);
		return -1;
	}
	if (duration_out_of_range(v)) {
		snprintf(err, errlen, "%u:%u: duration is out of range", d->pos.start, d->pos.end);
		return -1;
	}
	*out_ms = (int64_t)(v * 1000.0);
	return 0;
}

/* Stores a parsed range/step/offset: plain numbers directly; expressions are kept for printing
 * and folded now unless they use step()/range() or do not evaluate to a valid duration (those
 * are resolved, and fail, at evaluation time as in Prometheus). Returns 0 or -1 (error set). */
static int dur_store(parser *p, promql_duration_expr *d, bool allow_negative, int64_t *ms,
		     promql_duration_expr **slot)
{
	if (d->kind == PROMQL_DUR_NUMBER) {
		if (!allow_negative && d->value <= 0) {
			errorf(p, d->pos, "duration must be greater than 0");
			return -1;
		}
		*ms = secs_to_ms(d->value);
		return 0;
	}
	*slot = d;
	if (dur_uses_vars(d)) {
		p->duration_vars = true;
		*ms = 0;
		return 0;
	}
	char why[128];
	if (dur_calculate(d, allow_negative, 0, 0, ms, why, sizeof why) != 0) {
		/* like Prometheus, an invalid expression ("[-2^2]") is an evaluation error: leave it
		 * to promql_resolve_durations() */
		p->duration_vars = true;
		*ms = 0;
	}
	return 0;
}

static promql_node *parse_range_or_subquery(parser *p, promql_node *e)
{
	promql_token lb = next(p); /* [ */
	const char *sctx = p->dur_ctx, *sexp = p->dur_expected;
	promql_node *res = NULL;
	p->dur_ctx = "subquery or range selector";
	p->dur_expected = "number, duration, step(), or range()";
	promql_duration_expr *range = parse_dur_expr(p, 0), *step = NULL;
	if (!range)
		goto out;
	if (range->kind == PROMQL_DUR_NUMBER && range->value <= 0 &&
	    (peek(p).type == PT_RIGHT_BRACKET || peek(p).type == PT_COLON)) {
		errorf(p, range->pos, "duration must be greater than 0");
		goto out;
	}
	promql_token t = peek(p);
	if (t.type == PT_RIGHT_BRACKET) {
		next(p);
		promql_pos_range er = {lb.pos, t.pos + 1};
		if (e->kind != PROMQL_NODE_VECTOR_SELECTOR) {
			errorf(p, er, "ranges only allowed for vector selectors");
			goto out;
		}
		if (e->vs.offset_ms != 0 || e->vs.offset_expr) {
			errorf(p, er, "no offset modifiers allowed before range");
			goto out;
		}
		if (e->vs.at.kind != PROMQL_AT_NONE) {
			errorf(p, er, "no @ modifiers allowed before range");
			goto out;
		}
		promql_node *n = new_node(p, PROMQL_NODE_MATRIX_SELECTOR, e->pos.start, t.pos + 1);
		if (!n)
			goto out;
		n->type = PROMQL_TYPE_MATRIX;
		n->matrix.vs = e;
		if (dur_store(p, range, false, &n->matrix.range_ms, &n->matrix.range_expr) != 0 || !set_height(p, n, e))
			goto out;
		res = n;
		goto out;
	}
	if (t.type != PT_COLON) {
		unexpected(p, "subquery or range", "\":\" or \"]\"");
		goto out;
	}
	next(p);
	t = peek(p);
	if (t.type != PT_RIGHT_BRACKET) {
		p->dur_ctx = "subquery selector";
		p->dur_expected = "number, duration, step(), range(), or \"]\"";
		step = parse_dur_expr(p, 0);
		if (!step)
			goto out;
		t = peek(p);
		if (step->kind == PROMQL_DUR_NUMBER && step->value <= 0 && t.type == PT_RIGHT_BRACKET) {
			errorf(p, step->pos, "duration must be greater than 0");
			goto out;
		}
		if (t.type != PT_RIGHT_BRACKET) {
			unexpected(p, "subquery selector", "\"]\"");
			goto out;
		}
	}
	next(p);
	promql_node *n = new_node(p, PROMQL_NODE_SUBQUERY, e->pos.start, t.pos + 1);
	if (!n)
		goto out;
	n->type = PROMQL_TYPE_MATRIX;
	n->subquery.expr = e;
	if (dur_store(p, range, false, &n->subquery.range_ms, &n->subquery.range_expr) != 0)
		goto out;
	if (step && dur_store(p, step, false, &n->subquery.step_ms, &n->subquery.step_expr) != 0)
		goto out;
	if (set_height(p, n, e))
		res = n;
out:
	p->dur_ctx = sctx;
	p->dur_expected = sexp;
	return res;
}

/* The duration after "offset" (Prometheus's offset_duration_expr): a signed literal, step(),
 * range(), min_of/max_of, a signed parenthesised expression — none of which extend past their
 * end, so "x offset 5m + 1" is (x offset 5m) + 1 — or an expression starting with "(", which
 * does ("x offset (1m) * 2" offsets by 2m). */
static promql_duration_expr *parse_offset_duration(parser *p)
{
	promql_token t = peek(p);
	if (t.type == PT_ADD || t.type == PT_SUB) {
		promql_token op = next(p);
		promql_token t2 = peek(p);
		if (t2.type == PT_NUMBER || t2.type == PT_DURATION) {
			promql_duration_expr *d = dur_number(p);
			return d ? dur_apply_unary(p, op, d) : NULL;
		}
		if (t2.type == PT_STEP || t2.type == PT_RANGE || t2.type == PT_MIN_OF || t2.type == PT_MAX_OF) {
			promql_duration_expr *c = dur_call(p, false);
			if (!c)
				return NULL;
			promql_duration_expr *w = new_dur(p, PROMQL_DUR_UNARY, op.pos, c->pos.end);
			if (!w)
				return NULL;
			w->op = op.type == PT_SUB ? PROMQL_OP_SUB : PROMQL_OP_ADD;
			w->rhs = c;
			return dur_height(p, w) && dur_experimental(p, w->pos) ? w : NULL;
		}
		if (t2.type == PT_LEFT_PAREN) {
			next(p);
			promql_duration_expr *e = parse_dur_expr(p, 0);
			if (!e)
				return NULL;
			promql_token c = peek(p);
			if (c.type != PT_RIGHT_PAREN) {
				dur_unexpected(p);
				return NULL;
			}
			next(p);
			e = dur_wrap(p, e, t2.pos, c.pos + 1);
			return e ? dur_apply_unary(p, op, e) : NULL;
		}
		dur_unexpected(p);
		return NULL;
	}
	if (t.type == PT_NUMBER || t.type == PT_DURATION)
		return dur_number(p);
	if (t.type == PT_STEP || t.type == PT_RANGE || t.type == PT_MIN_OF || t.type == PT_MAX_OF)
		return dur_call(p, true);
	if (t.type == PT_LEFT_PAREN)
		return parse_dur_expr(p, 0);
	dur_unexpected(p);
	return NULL;
}

static promql_node *parse_offset(parser *p, promql_node *e)
{
	next(p); /* offset */
	const char *sctx = p->dur_ctx, *sexp = p->dur_expected;
	p->dur_ctx = "offset";
	p->dur_expected = "number, duration, step(), or range()";
	promql_duration_expr *d = parse_offset_duration(p);
	p->dur_ctx = sctx;
	p->dur_expected = sexp;
	if (!d)
		return NULL;
	int64_t *slot;
	promql_duration_expr **xslot;
	switch (e->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		slot = &e->vs.offset_ms;
		xslot = &e->vs.offset_expr;
		break;
	case PROMQL_NODE_MATRIX_SELECTOR:
		slot = &e->matrix.vs->vs.offset_ms;
		xslot = &e->matrix.vs->vs.offset_expr;
		break;
	case PROMQL_NODE_SUBQUERY:
		slot = &e->subquery.offset_ms;
		xslot = &e->subquery.offset_expr;
		break;
	default:
		errorf(p, e->pos,
		       "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
		return NULL;
	}
	if (*slot != 0 || *xslot) {
		errorf(p, e->pos, "offset may not be set multiple times");
		return NULL;
	}
	if (dur_store(p, d, true, slot, xslot) != 0)
		return NULL;
	e->pos.end = p->last_end;
	return e;
}

static promql_node *parse_at(parser *p, promql_node *e)
{
	next(p); /* @ */
	promql_token t = peek(p);
	promql_at at = {PROMQL_AT_NONE, 0};
	uint32_t end;
	if (t.type == PT_START || t.type == PT_END) {
		next(p);
		if (peek(p).type != PT_LEFT_PAREN) {
			unexpected(p, "@", "timestamp");
			return NULL;
		}
		next(p);
		promql_token c = peek(p);
		if (c.type != PT_RIGHT_PAREN) {
			unexpected(p, "@", "timestamp");
			return NULL;
		}
		next(p);
		end = c.pos + 1;
		at.kind = t.type == PT_START ? PROMQL_AT_START : PROMQL_AT_END;
	} else {
		double sign = 1;
		if (t.type == PT_ADD || t.type == PT_SUB) {
			next(p);
			sign = t.type == PT_SUB ? -1 : 1;
			t = peek(p);
		}
		if (t.type != PT_NUMBER && t.type != PT_DURATION) {
			unexpected(p, "@", "timestamp");
			return NULL;
		}
		next(p);
		double v;
		if (tok_number(p, t, &v, NULL) != 0)
			return NULL;
		v *= sign;
		end = t.pos + t.len;
		if (isinf(v) || isnan(v) || v >= 9223372036854775807.0 || v <= -9223372036854775808.0) {
			if (isnan(v))
				errorf(p, e->pos, "timestamp out of bounds for @ modifier: NaN");
			else if (isinf(v))
				errorf(p, e->pos, "timestamp out of bounds for @ modifier: %cInf", v > 0 ? '+' : '-');
			else
				errorf(p, e->pos, "timestamp out of bounds for @ modifier: %f", v);
			return NULL;
		}
		at.kind = PROMQL_AT_TIMESTAMP;
		double ms = round(v * 1000.0);
		at.ts_ms = ms >= 9.2233720368547758e18 ? INT64_MAX : ms <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)ms;
	}
	promql_at *slot;
	switch (e->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		slot = &e->vs.at;
		break;
	case PROMQL_NODE_MATRIX_SELECTOR:
		slot = &e->matrix.vs->vs.at;
		break;
	case PROMQL_NODE_SUBQUERY:
		slot = &e->subquery.at;
		break;
	default:
		errorf(p, e->pos,
		       "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
		return NULL;
	}
	if (slot->kind != PROMQL_AT_NONE) {
		errorf(p, e->pos, "@ <timestamp> may not be set multiple times");
		return NULL;
	}
	*slot = at;
	e->pos.end = end;
	return e;
}

/* "anchored" / "smoothed" after a selector (experimental extended range selectors). */
static promql_node *parse_extended(parser *p, promql_node *e)
{
	promql_token k = next(p);
	const char *name = k.type == PT_ANCHORED ? "anchored" : "smoothed";
	if (!p->ext_range) {
		errorf(p, e->pos, "%s modifier is experimental and not enabled", name);
		return NULL;
	}
	promql_vector_selector *vs;
	switch (e->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		vs = &e->vs;
		break;
	case PROMQL_NODE_MATRIX_SELECTOR:
		vs = &e->matrix.vs->vs;
		break;
	case PROMQL_NODE_SUBQUERY:
		errorf(p, e->pos, "%s modifier is not supported for subqueries", name);
		return NULL;
	default:
		errorf(p, e->pos, "%s modifier not implemented", name);
		return NULL;
	}
	if (k.type == PT_ANCHORED)
		vs->anchored = true;
	else
		vs->smoothed = true;
	if (vs->anchored && vs->smoothed) {
		errorf(p, e->pos, "anchored and smoothed modifiers cannot be used together");
		return NULL;
	}
	return e;
}

static promql_node *parse_postfix(parser *p, promql_node *e)
{
	while (e) {
		promql_tok t = peek(p).type;
		if (t == PT_LEFT_BRACKET)
			e = parse_range_or_subquery(p, e);
		else if (t == PT_OFFSET)
			e = parse_offset(p, e);
		else if (t == PT_AT)
			e = parse_at(p, e);
		else if (t == PT_ANCHORED || t == PT_SMOOTHED)
			e = parse_extended(p, e);
		else
			break;
	}
	return e;
}

/* ---- resolving step()/range() at evaluation time ---- */

static int resolve(promql_node *n, int64_t step_ms, int64_t range_ms, char *err, size_t errlen)
{
	switch (n->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		if (n->vs.offset_expr)
			return dur_calculate(n->vs.offset_expr, true, step_ms, range_ms, &n->vs.offset_ms, err, errlen);
		return 0;
	case PROMQL_NODE_MATRIX_SELECTOR:
		if (n->matrix.range_expr &&
		    dur_calculate(n->matrix.range_expr, false, step_ms, range_ms, &n->matrix.range_ms, err, errlen) != 0)
			return -1;
		return resolve(n->matrix.vs, step_ms, range_ms, err, errlen);
	case PROMQL_NODE_SUBQUERY:
		if (n->subquery.offset_expr &&
		    dur_calculate(n->subquery.offset_expr, true, step_ms, range_ms, &n->subquery.offset_ms, err, errlen) != 0)
			return -1;
		if (n->subquery.step_expr &&
		    dur_calculate(n->subquery.step_expr, false, step_ms, range_ms, &n->subquery.step_ms, err, errlen) != 0)
			return -1;
		if (n->subquery.range_expr &&
		    dur_calculate(n->subquery.range_expr, false, step_ms, range_ms, &n->subquery.range_ms, err, errlen) != 0)
			return -1;
		return resolve(n->subquery.expr, step_ms, range_ms, err, errlen);
	case PROMQL_NODE_UNARY:
		return resolve(n->unary.expr, step_ms, range_ms, err, errlen);
	case PROMQL_NODE_PAREN:
		return resolve(n->paren.expr, step_ms, range_ms, err, errlen);
	case PROMQL_NODE_BINARY:
		if (resolve(n->binary.lhs, step_ms, range_ms, err, errlen) != 0)
			return -1;
		return resolve(n->binary.rhs, step_ms, range_ms, err, errlen);
	case PROMQL_NODE_AGGREGATE:
		if (n->aggregate.param && resolve(n->aggregate.param, step_ms, range_ms, err, errlen) != 0)
			return -1;
		return resolve(n->aggregate.expr, step_ms, range_ms, err, errlen);
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < n->call.n_args; i++)
			if (resolve(n->call.args[i], step_ms, range_ms, err, errlen) != 0)
				return -1;
		return 0;
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		return 0;
	}
	return 0;
}

int promql_resolve_durations(promql_node *root, int64_t step_ms, int64_t range_ms, char *err, size_t errlen)
{
	return resolve(root, step_ms, range_ms, err, errlen);
}

/* ---- unary and binary ---- */

static int binop_prec(promql_tok t, promql_binop *op)
{
	switch (t) {
	case PT_LOR: *op = PROMQL_OP_OR; return 1;
	case PT_LAND: *op = PROMQL_OP_AND; return 2;
	case PT_LUNLESS: *op = PROMQL_OP_UNLESS; return 2;
	case PT_EQLC: *op = PROMQL_OP_EQLC; return 3;
	case PT_NEQ: *op = PROMQL_OP_NEQ; return 3;
	case PT_LTE: *op = PROMQL_OP_LTE; return 3;
	case PT_LSS: *op = PROMQL_OP_LSS; return 3;
	case PT_GTE: *op = PROMQL_OP_GTE; return 3;
	case PT_GTR: *op = PROMQL_OP_GTR; return 3;
	case PT_ADD: *op = PROMQL_OP_ADD; return 4;
	case PT_SUB: *op = PROMQL_OP_SUB; return 4;
	case PT_MUL: *op = PROMQL_OP_MUL; return 5;
	case PT_DIV: *op = PROMQL_OP_DIV; return 5;
	case PT_MOD: *op = PROMQL_OP_MOD; return 5;
	case PT_ATAN2: *op = PROMQL_OP_ATAN2; return 5;
	case PT_POW: *op = PROMQL_OP_POW; return 6;
	default: return 0;
	}
}

static bool enter(parser *p)
{
	if (++p->depth > p->max_depth) {
		char msg[96];
		promql_token t = peek(p);
		snprintf(msg, sizeof msg, "query too deeply nested (max depth %d)", p->max_depth);
		set_error_code(p, PROMQL_ERR_LIMIT, t.pos, t.pos + t.len, msg);
		return false;
	}
	return true;
}

static promql_node *parse_unary(parser *p)
{
	promql_node *res = NULL;
	if (!enter(p))
		goto out;
	promql_token t = peek(p);
	if (t.type == PT_ADD || t.type == PT_SUB) {
		next(p);
		promql_node *e = parse_expr(p, 6);
		if (!e)
			goto out;
		if (e->kind == PROMQL_NODE_NUMBER) {
			if (t.type == PT_SUB)
				e->number.value = -e->number.value;
			e->pos.start = t.pos;
			res = e;
			goto out;
		}
		promql_node *n = new_node(p, PROMQL_NODE_UNARY, t.pos, e->pos.end);
		if (!n)
			goto out;
		n->unary.op = t.type == PT_SUB ? PROMQL_OP_SUB : PROMQL_OP_ADD;
		n->unary.expr = e;
		n->type = e->type;
		if (set_height(p, n, e))
			res = n;
		goto out;
	}
	res = parse_postfix(p, parse_primary(p));
out:
	p->depth--;
	return res;
}

/* A fill modifier's "(" [+|-] number ")". */
static int parse_fill_value(parser *p, double *v)
{
	if (peek(p).type != PT_LEFT_PAREN) {
		unexpected_generic(p);
		return -1;
	}
	next(p);
	promql_token t = peek(p);
	double sign = 1;
	if (t.type == PT_ADD || t.type == PT_SUB) {
		next(p);
		sign = t.type == PT_SUB ? -1 : 1;
		t = peek(p);
	}
	if (t.type != PT_NUMBER && t.type != PT_DURATION) {
		unexpected_generic(p);
		return -1;
	}
	next(p);
	if (tok_number(p, t, v, NULL) != 0)
		return -1;
	*v *= sign;
	if (peek(p).type != PT_RIGHT_PAREN) {
		unexpected_generic(p);
		return -1;
	}
	next(p);
	return 0;
}

/* bool, on/ignoring(...), group_left/group_right(...), fill(...) after a binary operator. */
static int parse_bin_modifiers(parser *p, promql_node *n)
{
	promql_vector_matching *vm = arena_calloc(p->a, 1, sizeof(*vm));
	if (!vm) {
		oom(p);
		return -1;
	}
	vm->card = PROMQL_CARD_ONE_TO_ONE;
	n->binary.matching = vm;
	promql_token t = peek(p);
	if (t.type == PT_BOOL) {
		next(p);
		n->binary.return_bool = true;
		t = peek(p);
	}
	if (t.type == PT_ON || t.type == PT_IGNORING) {
		next(p);
		vm->on = t.type == PT_ON;
		if (parse_grouping_labels(p, &vm->labels, &vm->n_labels) != 0)
			return -1;
		t = peek(p);
		if (t.type == PT_GROUP_LEFT || t.type == PT_GROUP_RIGHT) {
			next(p);
			vm->card = t.type == PT_GROUP_LEFT ? PROMQL_CARD_MANY_TO_ONE : PROMQL_CARD_ONE_TO_MANY;
			if (peek(p).type == PT_LEFT_PAREN) {
				if (parse_grouping_labels(p, &vm->include, &vm->n_include) != 0)
					return -1;
			}
			t = peek(p);
		}
	}
	if (t.type == PT_FILL) {
		next(p);
		if (parse_fill_value(p, &vm->fill_lhs) != 0)
			return -1;
		vm->fill_rhs = vm->fill_lhs;
		vm->fill_lhs_set = vm->fill_rhs_set = true;
	} else if (t.type == PT_FILL_LEFT || t.type == PT_FILL_RIGHT) {
		bool left = t.type == PT_FILL_LEFT;
		next(p);
		if (parse_fill_value(p, left ? &vm->fill_lhs : &vm->fill_rhs) != 0)
			return -1;
		*(left ? &vm->fill_lhs_set : &vm->fill_rhs_set) = true;
		if (peek(p).type == (left ? PT_FILL_RIGHT : PT_FILL_LEFT)) {
			next(p);
			if (parse_fill_value(p, left ? &vm->fill_rhs : &vm->fill_lhs) != 0)
				return -1;
			*(left ? &vm->fill_rhs_set : &vm->fill_lhs_set) = true;
		}
	}
	return 0;
}

static promql_node *parse_expr(parser *p, int min_prec)
{
	promql_node *lhs = NULL;
	if (!enter(p))
		goto out;
	lhs = parse_unary(p);
	while (lhs) {
		promql_token t = peek(p);
		promql_binop op;
		int prec = binop_prec(t.type, &op);
		if (prec == 0 || prec < min_prec)
			break;
		next(p);
		promql_node *n = new_node(p, PROMQL_NODE_BINARY, lhs->pos.start, 0);
		if (!n) {
			lhs = NULL;
			break;
		}
		n->binary.op = op;
		n->binary.lhs = lhs;
		if (parse_bin_modifiers(p, n) != 0) {
			lhs = NULL;
			break;
		}
		promql_node *rhs = parse_expr(p, op == PROMQL_OP_POW ? prec : prec + 1);
		if (!rhs) {
			lhs = NULL;
			break;
		}
		n->binary.rhs = rhs;
		n->pos.end = rhs->pos.end;
		n->type = node_type(n);
		if ((n->binary.matching->fill_lhs_set || n->binary.matching->fill_rhs_set) && !p->fill) {
			errorf(p, n->pos, "binop fill modifiers are experimental and not enabled");
			lhs = NULL;
			break;
		}
		if (!set_height(p, n, lhs) || !set_height(p, n, rhs)) {
			lhs = NULL;
			break;
		}
		lhs = n;
	}
out:
	p->depth--;
	return lhs;
}

/* ---- type checks (Prometheus's checkAST) ---- */

static promql_value_type check_node(parser *p, promql_node *n);

static void expect_type(parser *p, promql_node *n, promql_value_type want, const char *context)
{
	promql_value_type t = check_node(p, n);
	if (!p->rc && t != want)
		errorf(p, n->pos, "expected type %s in %s, got %s", promql_value_type_name(want), context,
		       promql_value_type_name(t));
}

static const char *raw_type_name(promql_value_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR: return "scalar";
	case PROMQL_TYPE_VECTOR: return "vector";
	case PROMQL_TYPE_MATRIX: return "matrix";
	case PROMQL_TYPE_STRING: return "string";
	default: return "none";
	}
}

static bool is_space_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static promql_pos_range op_range(parser *p, const promql_node *n)
{
	promql_pos_range r;
	r.start = n->binary.lhs->pos.end;
	while (r.start < p->len && is_space_byte(p->in[r.start]))
		r.start++;
	r.end = n->binary.rhs->pos.start;
	while (r.end > r.start && is_space_byte(p->in[r.end - 1]))
		r.end--;
	return r;
}

static void check_binary(parser *p, promql_node *n)
{
	promql_value_type lt = check_node(p, n->binary.lhs);
	if (p->rc)
		return;
	promql_value_type rt = check_node(p, n->binary.rhs);
	if (p->rc)
		return;
	promql_binop op = n->binary.op;
	promql_vector_matching *vm = n->binary.matching;
	const char *opname = promql_binop_name(op);
	if (n->binary.return_bool && !promql_binop_is_comparison(op)) {
		errorf(p, op_range(p, n), "bool modifier can only be used on comparison operators");
		return;
	}
	if (promql_binop_is_comparison(op) && !n->binary.return_bool && lt == PROMQL_TYPE_SCALAR &&
	    rt == PROMQL_TYPE_SCALAR) {
		errorf(p, op_range(p, n), "comparisons between scalars must use BOOL modifier");
		return;
	}
	if (promql_binop_is_set(op) && vm->card == PROMQL_CARD_ONE_TO_ONE)
		vm->card = PROMQL_CARD_MANY_TO_MANY;
	if (vm->on) {
		for (size_t i = 0; i < vm->n_labels; i++)
			for (size_t j = 0; j < vm->n_include; j++)
				if (strcmp(vm->labels[i], vm->include[j]) == 0) {
					char q[PROMQL_ERROR_MAX / 2];
					quote_into(q, sizeof q, vm->labels[i], strlen(vm->labels[i]));
					errorf(p, op_range(p, n), "label %s must not occur in ON and GROUP clause at once", q);
					return;
				}
	}
	if (lt != PROMQL_TYPE_SCALAR && lt != PROMQL_TYPE_VECTOR) {
		errorf(p, n->binary.lhs->pos, "binary expression must contain only scalar and instant vector types");
		return;
	}
	if (rt != PROMQL_TYPE_SCALAR && rt != PROMQL_TYPE_VECTOR) {
		errorf(p, n->binary.rhs->pos, "binary expression must contain only scalar and instant vector types");
		return;
	}
	bool fill = vm->fill_lhs_set || vm->fill_rhs_set;
	if (lt != PROMQL_TYPE_VECTOR || rt != PROMQL_TYPE_VECTOR) {
		if (vm->n_labels > 0) {
			errorf(p, n->pos, "vector matching only allowed between instant vectors");
			return;
		}
		if (fill) {
			errorf(p, n->pos, "filling in missing series only allowed between instant vectors");
			return;
		}
		n->binary.matching = NULL;
	} else if (promql_binop_is_set(op)) {
		if (vm->card == PROMQL_CARD_ONE_TO_MANY || vm->card == PROMQL_CARD_MANY_TO_ONE) {
			errorf(p, n->pos, "no grouping allowed for \"%s\" operation", opname);
			return;
		}
		if (fill) {
			errorf(p, n->pos, "filling in missing series not allowed for set operators");
			return;
		}
	}
	if ((lt == PROMQL_TYPE_SCALAR || rt == PROMQL_TYPE_SCALAR) && promql_binop_is_set(op)) {
		errorf(p, n->pos, "set operator \"%s\" not allowed in binary scalar expression", opname);
		return;
	}
}

static void check_call(parser *p, promql_node *n)
{
	const promql_function *f = n->call.func;
	int nargs = f->n_arg_types;
	int got = (int)n->call.n_args;
	if (f->variadic == 0) {
		if (nargs != got) {
			errorf(p, n->pos, "expected %d argument(s) in call to \"%s\", got %d", nargs, f->name, got);
			return;
		}
	} else {
		int na = nargs - 1;
		if (na > got) {
			errorf(p, n->pos, "expected at least %d argument(s) in call to \"%s\", got %d", na, f->name, got);
			return;
		}
		if (f->variadic > 0 && na + f->variadic < got) {
			errorf(p, n->pos, "expected at most %d argument(s) in call to \"%s\", got %d", na + f->variadic,
			       f->name, got);
			return;
		}
	}
	if (f->id == PROMQL_FN_INFO && got > 1) {
		promql_node *a1 = n->call.args[1];
		if (node_type(a1) != PROMQL_TYPE_VECTOR) {
			errorf(p, n->pos, "expected type instant vector in call to function \"info\", got %s",
			       promql_value_type_name(node_type(a1)));
			return;
		}
		if (a1->kind == PROMQL_NODE_VECTOR_SELECTOR && a1->vs.name) {
			errorf(p, a1->pos, "expected label selectors only, got vector selector instead");
			return;
		}
		if (a1->kind != PROMQL_NODE_VECTOR_SELECTOR) {
			errorf(p, a1->pos, "expected label selectors only");
			return;
		}
	}
	for (int i = 0; i < got; i++) {
		int k = i;
		if (k >= nargs) {
			if (f->variadic == 0)
				break;
			k = nargs - 1;
		}
		promql_node *arg = n->call.args[i];
		promql_value_type t;
		if (f->id == PROMQL_FN_INFO && i == 1 && arg->kind == PROMQL_NODE_VECTOR_SELECTOR)
			t = PROMQL_TYPE_VECTOR; /* label selectors only: the empty-matcher check is bypassed */
		else
			t = check_node(p, arg);
		if (p->rc)
			return;
		if (t != f->arg_types[k]) {
			errorf(p, arg->pos, "expected type %s in call to function \"%s\", got %s",
			       promql_value_type_name(f->arg_types[k]), f->name, promql_value_type_name(t));
			return;
		}
	}
}

static void check_vector_selector(parser *p, promql_node *n)
{
	promql_vector_selector *vs = &n->vs;
	if (vs->name) {
		for (size_t i = 0; i + 1 < vs->n_matchers; i++) {
			if (strcmp(vs->matchers[i].name, SLOD_METRIC_NAME) == 0) {
				char q1[PROMQL_ERROR_MAX / 3], q2[PROMQL_ERROR_MAX / 3];
				quote_into(q1, sizeof q1, vs->name, strlen(vs->name));
				quote_into(q2, sizeof q2, vs->matchers[i].value, strlen(vs->matchers[i].value));
				errorf(p, n->pos, "metric name must not be set twice: %s or %s", q1, q2);
				return;
			}
		}
		return;
	}
	for (size_t i = 0; i < vs->n_matchers; i++) {
		const tsdb_matcher *m = &vs->matchers[i];
		bool matches_empty;
		switch (m->type) {
		case TSDB_MATCH_EQ: matches_empty = m->value[0] == '\0'; break;
		case TSDB_MATCH_NEQ: matches_empty = m->value[0] != '\0'; break;
		case TSDB_MATCH_RE: matches_empty = m->re_match(m->re, "", 0); break;
		default: matches_empty = !m->re_match(m->re, "", 0); break;
		}
		if (!matches_empty)
			return;
	}
	errorf(p, n->pos, "vector selector must contain at least one non-empty matcher");
}

static promql_value_type check_node(parser *p, promql_node *n)
{
	if (p->rc)
		return PROMQL_TYPE_NONE;
	switch (n->kind) {
	case PROMQL_NODE_AGGREGATE:
		expect_type(p, n->aggregate.expr, PROMQL_TYPE_VECTOR, "aggregation expression");
		if (p->rc)
			break;
		switch (n->aggregate.op) {
		case PROMQL_AGG_TOPK: case PROMQL_AGG_BOTTOMK: case PROMQL_AGG_QUANTILE: case PROMQL_AGG_LIMITK:
		case PROMQL_AGG_LIMIT_RATIO:
			expect_type(p, n->aggregate.param, PROMQL_TYPE_SCALAR, "aggregation parameter");
			break;
		case PROMQL_AGG_COUNT_VALUES:
			expect_type(p, n->aggregate.param, PROMQL_TYPE_STRING, "aggregation parameter");
			break;
		default:
			break;
		}
		break;
	case PROMQL_NODE_BINARY:
		check_binary(p, n);
		break;
	case PROMQL_NODE_CALL:
		check_call(p, n);
		break;
	case PROMQL_NODE_PAREN:
		check_node(p, n->paren.expr);
		break;
	case PROMQL_NODE_UNARY: {
		promql_value_type t = check_node(p, n->unary.expr);
		if (!p->rc && t != PROMQL_TYPE_SCALAR && t != PROMQL_TYPE_VECTOR)
			errorf(p, n->pos,
			       "unary expression only allowed on expressions of type scalar or instant vector, got \"%s\"",
			       promql_value_type_name(t));
		break;
	}
	case PROMQL_NODE_SUBQUERY: {
		promql_value_type t = check_node(p, n->subquery.expr);
		if (!p->rc && t != PROMQL_TYPE_VECTOR)
			errorf(p, n->pos, "subquery is only allowed on instant vector, got %s instead", raw_type_name(t));
		break;
	}
	case PROMQL_NODE_MATRIX_SELECTOR:
		check_node(p, n->matrix.vs);
		break;
	case PROMQL_NODE_VECTOR_SELECTOR:
		check_vector_selector(p, n);
		break;
	case PROMQL_NODE_NUMBER:
	case PROMQL_NODE_STRING:
		break;
	}
	return node_type(n);
}

/* ---- names ---- */

const char *promql_value_type_name(promql_value_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR: return "scalar";
	case PROMQL_TYPE_VECTOR: return "instant vector";
	case PROMQL_TYPE_MATRIX: return "range vector";
	case PROMQL_TYPE_STRING: return "string";
	default: return "none";
	}
}

const char *promql_binop_name(promql_binop op)
{
	static const char *names[] = {"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", "<=", "<", ">=", ">",
				      "and", "or", "unless"};
	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

bool promql_binop_is_comparison(promql_binop op)
{
	return op >= PROMQL_OP_EQLC && op <= PROMQL_OP_GTR;
}

bool promql_binop_is_set(promql_binop op)
{
	return op == PROMQL_OP_AND || op == PROMQL_OP_OR || op == PROMQL_OP_UNLESS;
}

const char *promql_aggop_name(promql_aggop op)
{
	static const char *names[] = {"sum",     "avg",     "count",        "min",      "max",
				      "group",   "stddev",  "stdvar",       "topk",     "bottomk",
				      "count_values", "quantile", "limitk", "limit_ratio"};
	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

bool promql_aggop_has_param(promql_aggop op)
{
	return op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_COUNT_VALUES ||
	       op == PROMQL_AGG_QUANTILE || op == PROMQL_AGG_LIMITK || op == PROMQL_AGG_LIMIT_RATIO;
}

/* ---- entry points ---- */

static void parser_init(parser *p, const char *in, size_t len, arena *a, promql_error *err,
			const promql_parse_options *opt)
{
	memset(p, 0, sizeof(*p));
	promql_lexer_init(&p->lx, in, len);
	p->in = in;
	p->len = len;
	p->a = a;
	p->err = err;
	p->max_depth = opt && opt->max_depth > 0 ? opt->max_depth : PROMQL_MAX_DEPTH;
	p->no_experimental = opt && opt->no_experimental_functions;
	p->dur_exprs = opt && opt->enable_duration_expressions;
	p->ext_range = opt && opt->enable_extended_range_selectors;
	p->fill = opt && opt->enable_binop_fill_modifiers;
	if (err)
		memset(err, 0, sizeof(*err));
}

static bool check_len(parser *p, size_t max)
{
	if (p->len > max) {
		char msg[128];
		snprintf(msg, sizeof msg, "query too long (%zu bytes, at most %zu allowed)", p->len, max);
		set_error_code(p, PROMQL_ERR_LIMIT, 0, 0, msg);
		return false;
	}
	return true;
}

int promql_parse(const char *query, size_t len, const promql_parse_options *opt, promql_expr **out,
		 promql_error *err)
{
	parser p;
	promql_expr *e = calloc(1, sizeof(*e));
	*out = NULL;
	if (!e) {
		if (err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->msg, sizeof err->msg, "out of memory");
			snprintf(err->text, sizeof err->text, "out of memory");
		}
		return PROMQL_ERR_NOMEM;
	}
	arena_init(&e->arena, opt && opt->max_bytes ? opt->max_bytes : PROMQL_MAX_PARSE_BYTES);
	char *q = arena_strndup(&e->arena, query ? query : "", query ? len : 0);
	parser_init(&p, q ? q : "", q ? len : 0, &e->arena, err, opt);
	if (!q) {
		oom(&p);
		goto fail;
	}
	e->query = q;
	e->query_len = len;
	size_t max_len = opt && opt->max_len ? opt->max_len : PROMQL_MAX_QUERY_LEN;
	if (max_len > UINT32_MAX / 2) /* positions are 32-bit */
		max_len = UINT32_MAX / 2;
	if (!check_len(&p, max_len))
		goto fail;
	promql_token t = peek(&p);
	if (p.rc)
		goto fail;
	if (t.type == PT_EOF) {
		set_error(&p, 0, 0, "no expression found in input");
		goto fail;
	}
	promql_node *root = parse_expr(&p, 0);
	if (!root)
		goto fail;
	if (peek(&p).type != PT_EOF) {
		unexpected(&p, NULL, NULL);
		goto fail;
	}
	check_node(&p, root);
	if (p.rc)
		goto fail;
	e->root = root;
	e->duration_vars = p.duration_vars;
	*out = e;
	return 0;
fail:
	if (!p.rc)
		set_error(&p, 0, 0, "unexpected error");
	promql_expr_free(e);
	return p.rc;
}

void promql_expr_free(promql_expr *e)
{
	if (!e)
		return;
	arena_deinit(&e->arena);
	free(e);
}

int promql_parse_selector(const char *sel, size_t len, arena *a, tsdb_matcher **out, size_t *n,
			  promql_error *err)
{
	parser p;
	*out = NULL;
	*n = 0;
	parser_init(&p, sel ? sel : "", sel ? len : 0, a, err, NULL);
	if (!check_len(&p, PROMQL_MAX_QUERY_LEN))
		return p.rc;
	promql_token t = peek(&p);
	if (p.rc)
		return p.rc;
	promql_node *vs = NULL;
	if (t.type == PT_IDENTIFIER || t.type == PT_METRIC_IDENTIFIER || promql_tok_is_aggregator(t.type) ||
	    is_metric_identifier_kw(t.type)) {
		next(&p);
		vs = parse_vector_selector(&p, &t);
	} else if (t.type == PT_LEFT_BRACE) {
		vs = parse_vector_selector(&p, NULL);
	} else {
		unexpected(&p, NULL, NULL);
		return p.rc;
	}
	if (!vs)
		return p.rc ? p.rc : PROMQL_ERR_PARSE;
	if (peek(&p).type != PT_EOF) {
		unexpected(&p, NULL, NULL);
		return p.rc;
	}
	*out = vs->vs.matchers;
	*n = vs->vs.n_matchers;
	return 0;
}

bool promql_matchers_match_empty(const tsdb_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool me;
		switch (m[i].type) {
		case TSDB_MATCH_EQ: me = m[i].value[0] == '\0'; break;
		case TSDB_MATCH_NEQ: me = m[i].value[0] != '\0'; break;
		case TSDB_MATCH_RE: me = m[i].re_match(m[i].re, "", 0); break;
		default: me = !m[i].re_match(m[i].re, "", 0); break;
		}
		if (!me)
			return false;
	}
	return true;
}
