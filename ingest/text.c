/*
 * text.c — the Prometheus text exposition format (0.0.4) for POST /api/v1/import/prometheus.
 *
 * Grammar accepted (one item per line, lines end in \n; the last may lack it; a \r before the \n
 * is tolerated; spaces and tabs separate tokens):
 *   line    := ws* ( "" | comment | sample ) ws*
 *   comment := "#" ws* "HELP" ws+ metric [ ws+ docstring ]      docstring escapes \\ \n
 *            | "#" ws* "TYPE" ws+ metric ws+ ("counter"|"gauge"|"histogram"|"summary"|"untyped")
 *            | "#" anything                                     (ignored)
 *   sample  := metric ws* [ "{" ws* [ label ( ws* "," ws* label )* ws* [","] ] ws* "}" ] ws+ value
 *              [ ws+ timestamp ]
 *   label   := name ws* "=" ws* '"' ( char | "\\" | "\"" | "\n" )* '"'
 *   metric  := [a-zA-Z_:][a-zA-Z0-9_:]*      name := [a-zA-Z_][a-zA-Z0-9_]*
 *   value   := Go ParseFloat syntax: decimal/exponent/hex floats, [+-]Inf, [+-]Infinity, NaN (any case)
 *   timestamp := [+-]?[0-9]+ milliseconds (int64)
 *
 * Two passes so that a syntax error anywhere stores nothing: pass 1 parses the whole body into a
 * list of entries in the request arena (labels unescaped into arena strings); pass 2 validates each
 * entry's label set like remote write (ingest__canonicalise) and appends. Errors carry "line L:C"
 * (1-based, C in bytes). Cost: O(body) parse, one hash and one tsdb call per sample line.
 *
 * Example: `http_requests_total{code="200",path="/a\"b"} 1027 1395066363000` →
 *   labels {__name__="http_requests_total", code="200", path="/a"b"}, v=1027, t=1395066363000.
 */
#include "ingest/ingest_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Go's math.NaN(), which Prometheus's text parser yields for "NaN". */
#define TEXT_NAN_BITS 0x7ff8000000000001ULL

enum { BAD_NONE, BAD_TOO_MANY_LABELS, BAD_NAME_LEN, BAD_VALUE_LEN };

typedef struct text_entry {
	struct text_entry *next;
	slod_label *labels; /* arena; labels[0] is __name__ */
	size_t n;
	int64_t t;
	double v;
	bool has_t;
	int bad;
	size_t line;
} text_entry;

typedef struct text_parser {
	ingest_ctx *cx;
	const char *s;
	size_t len;
	size_t pos;
	size_t line;       /* 1-based */
	size_t line_start; /* offset of the current line */
	char *err;         /* INGEST_MESSAGE_MAX bytes */
	ingest_outcome err_outcome;
	bool failed;
} text_parser;

static int perr(text_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(text_parser *p, const char *fmt, ...)
{
	if (p->failed)
		return -1;
	char what[INGEST_MESSAGE_MAX - 40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(p->err, INGEST_MESSAGE_MAX, "line %zu:%zu: %s", p->line, p->pos - p->line_start + 1, what);
	p->failed = true;
	p->err_outcome = INGEST_BAD_REQUEST;
	return -1;
}

static int nomem(text_parser *p)
{
	if (p->failed)
		return -1;
	p->failed = true;
	if (p->cx->ar_refused || !p->cx->ar_oom) {
		p->err_outcome = INGEST_TOO_LARGE;
		snprintf(p->err, INGEST_MESSAGE_MAX, "line %zu: parsed body needs more than %zu bytes (max_decode_bytes)",
			 p->line, p->cx->lim.max_decode_bytes);
	} else {
		p->err_outcome = INGEST_OVERLOADED;
		snprintf(p->err, INGEST_MESSAGE_MAX, "out of memory parsing the body");
	}
	return -1;
}

static void *palloc(text_parser *p, size_t n)
{
	void *r = arena_alloc(&p->cx->ar, n);
	if (!r) {
		arena *a = &p->cx->ar;
		size_t need = (n + 15) & ~(size_t)15;
		if (a->limit && (need > a->limit || a->used > a->limit - need))
			p->cx->ar_refused = true;
		else
			p->cx->ar_oom = true;
	}
	return r;
}

static int peek(const text_parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static bool at_eol(const text_parser *p)
{
	int c = peek(p);
	if (c == -1 || c == '\n')
		return true;
	return c == '\r' && (p->pos + 1 == p->len || p->s[p->pos + 1] == '\n');
}

static size_t skip_ws(text_parser *p)
{
	size_t n = 0;
	while (peek(p) == ' ' || peek(p) == '\t') {
		p->pos++;
		n++;
	}
	return n;
}

static bool is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Scans a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); returns its length (0 if none). */
static size_t scan_metric(text_parser *p)
{
	size_t start = p->pos;
	if (!(is_name_start(peek(p)) || peek(p) == ':'))
		return 0;
	while (is_name_char(peek(p)) || peek(p) == ':')
		p->pos++;
	return p->pos - start;
}

static size_t scan_label_name(text_parser *p)
{
	size_t start = p->pos;
	if (!is_name_start(peek(p)))
		return 0;
	while (is_name_char(peek(p)))
		p->pos++;
	return p->pos - start;
}

/* Scans a non-whitespace token; returns its length. */
static size_t scan_token(text_parser *p)
{
	size_t start = p->pos;
	while (!at_eol(p) && peek(p) != ' ' && peek(p) != '\t')
		p->pos++;
	return p->pos - start;
}

/* Go ParseFloat-compatible parse of s[0..n). */
static bool parse_value(const char *s, size_t n, double *out)
{
	char tmp[80];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	const char *q = tmp;
	int sign = 1;
	if (*q == '+' || *q == '-') {
		sign = *q == '-' ? -1 : 1;
		q++;
	}
	if (strcasecmp(q, "inf") == 0 || strcasecmp(q, "infinity") == 0) {
		*out = sign * INFINITY;
		return true;
	}
	if (strcasecmp(q, "nan") == 0) {
		if (q != tmp)
			return false;
		uint64_t bits = TEXT_NAN_BITS;
		memcpy(out, &bits, sizeof bits);
		return true;
	}
	/* digits, '.', exponent, hex; nothing strtod would read as nan()/inf */
	for (const char *c = q; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' || *c == 'E' || *c == '+' || *c == '-' ||
		      *c == 'x' || *c == 'X' || *c == 'p' || *c == 'P' || (*c >= 'a' && *c <= 'f') ||
		      (*c >= 'A' && *c <= 'F')))
			return false;
	if (!(*q >= '0' && *q <= '9') && *q != '.')
		return false;
	char *end;
	errno = 0;
	double v = strtod(tmp, &end);
	if (*end != '\0' || end == tmp)
		return false;
	if (errno == ERANGE && !isinf(v) && v != 0)
		return false;
	*out = v;
	return true;
}

static bool parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return false;
	uint64_t x = 0;
	uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (lim - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

/* Parses a quoted label value at p->pos (on the opening quote) into an arena string. */
static int parse_label_value(text_parser *p, const char **out, size_t *outlen)
{
	p->pos++; /* opening quote */
	size_t start = p->pos, n = 0;
	bool escapes = false;
	for (;;) {
		int c = peek(p);
		if (c == -1 || c == '\n')
			return perr(p, "unterminated label value");
		if (c == '\0')
			return perr(p, "NUL byte in label value");
		if (c == '"')
			break;
		if (c == '\\') {
			int e = p->pos + 1 < p->len ? (unsigned char)p->s[p->pos + 1] : -1;
			if (e != '\\' && e != '"' && e != 'n') {
				p->pos++;
				return perr(p, "invalid escape sequence in label value (only \\\\, \\\" and \\n)");
			}
			escapes = true;
			p->pos += 2;
		} else {
			p->pos++;
		}
		n++;
	}
	char *v = palloc(p, n + 1);
	if (!v)
		return nomem(p);
	if (!escapes) {
		memcpy(v, p->s + start, n);
	} else {
		size_t o = 0;
		for (size_t i = start; i < p->pos; i++) {
			char c = p->s[i];
			if (c == '\\') {
				c = p->s[++i];
				if (c == 'n')
					c = '\n';
			}
			v[o++] = c;
		}
	}
	v[n] = '\0';
	p->pos++; /* closing quote */
	*out = v;
	*outlen = n;
	return 0;
}

static int parse_comment(text_parser *p)
{
	p->pos++; /* '#' */
	skip_ws(p);
	bool help = p->len - p->pos >= 4 && memcmp(p->s + p->pos, "HELP", 4) == 0;
	bool type = p->len - p->pos >= 4 && memcmp(p->s + p->pos, "TYPE", 4) == 0;
	if (help || type) {
		size_t save = p->pos;
		p->pos += 4;
		if (skip_ws(p) == 0) {
			if (!at_eol(p)) { /* "#HELPER ..." is an ordinary comment */
				p->pos = save;
				help = type = false;
			}
		}
	}
	if (help) {
		if (scan_metric(p) == 0)
			return perr(p, "expected metric name after # HELP");
		if (!at_eol(p) && skip_ws(p) == 0)
			return perr(p, "expected whitespace after metric name in # HELP");
		while (!at_eol(p)) {
			if (peek(p) == '\\') {
				int e = p->pos + 1 < p->len ? (unsigned char)p->s[p->pos + 1] : -1;
				if (e != '\\' && e != 'n') {
					p->pos++;
					return perr(p, "invalid escape sequence in # HELP text (only \\\\ and \\n)");
				}
				p->pos++;
			}
			p->pos++;
		}
		return 0;
	}
	if (type) {
		if (scan_metric(p) == 0)
			return perr(p, "expected metric name after # TYPE");
		if (skip_ws(p) == 0)
			return perr(p, "expected whitespace and a type after metric name in # TYPE");
		size_t start = p->pos;
		size_t n = scan_token(p);
		static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
		bool ok = false;
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			ok = ok || (n == strlen(types[i]) && memcmp(p->s + start, types[i], n) == 0);
		if (!ok) {
			p->pos = start;
			return perr(p, "invalid metric type \"%.*s\"", (int)(n > 40 ? 40 : n), p->s + start);
		}
		skip_ws(p);
		if (!at_eol(p))
			return perr(p, "unexpected text after the type in # TYPE");
		return 0;
	}
	while (!at_eol(p))
		p->pos++;
	return 0;
}

static int parse_sample(text_parser *p, text_entry **tail, size_t *nsamples)
{
	ingest_ctx *cx = p->cx;
	const ingest_limits *lim = &cx->lim;
	slod_label *lab = cx->scratch;
	size_t nl = 0, name_start = p->pos;
	int bad = BAD_NONE;
	size_t mlen = scan_metric(p);
	if (mlen == 0)
		return perr(p, "expected metric name");
	char *mname = palloc(p, mlen + 1);
	if (!mname)
		return nomem(p);
	memcpy(mname, p->s + name_start, mlen);
	mname[mlen] = '\0';
	lab[nl++] = (slod_label){SLOD_METRIC_NAME, mname};
	if (mlen > lim->max_label_value_len)
		bad = BAD_VALUE_LEN;
	size_t ws = skip_ws(p);
	if (peek(p) == '{') {
		p->pos++;
		skip_ws(p);
		while (peek(p) != '}') {
			size_t ns = p->pos;
			size_t ln = scan_label_name(p);
			if (ln == 0)
				return perr(p, "expected label name or '}'");
			skip_ws(p);
			if (peek(p) != '=')
				return perr(p, "expected '=' after label name");
			p->pos++;
			skip_ws(p);
			if (peek(p) != '"')
				return perr(p, "expected '\"' to start the label value");
			const char *v = "";
			size_t vlen = 0;
			if (parse_label_value(p, &v, &vlen))
				return -1;
			if (ln > lim->max_label_name_len)
				bad = BAD_NAME_LEN;
			else if (vlen > lim->max_label_value_len)
				bad = BAD_VALUE_LEN;
			if (nl < lim->max_labels_per_series) {
				char *name = palloc(p, ln + 1);
				if (!name)
					return nomem(p);
				memcpy(name, p->s + ns, ln);
				name[ln] = '\0';
				lab[nl++] = (slod_label){name, v};
			} else {
				bad = BAD_TOO_MANY_LABELS;
			}
			skip_ws(p);
			if (peek(p) == ',') {
				p->pos++;
				skip_ws(p);
			} else if (peek(p) != '}') {
				return perr(p, "expected ',' or '}' after label value");
			}
		}
		p->pos++; /* '}' */
		ws = skip_ws(p);
	}
	if (ws == 0 || at_eol(p))
		return perr(p, at_eol(p) ? "expected a value" : "expected whitespace before the value");
	size_t vs = p->pos;
	size_t vn = scan_token(p);
	double v;
	if (!parse_value(p->s + vs, vn, &v)) {
		p->pos = vs;
		return perr(p, "invalid value \"%.*s\"", (int)(vn > 40 ? 40 : vn), p->s + vs);
	}
	int64_t t = 0;
	bool has_t = false;
	if (skip_ws(p) && !at_eol(p)) {
		size_t ts = p->pos;
		size_t tn = scan_token(p);
		if (!parse_int64(p->s + ts, tn, &t)) {
			p->pos = ts;
			return perr(p, "invalid timestamp \"%.*s\"", (int)(tn > 40 ? 40 : tn), p->s + ts);
		}
		has_t = true;
		skip_ws(p);
	}
	if (!at_eol(p))
		return perr(p, "unexpected text after the %s", has_t ? "timestamp" : "value");
	if (++*nsamples > lim->max_series) {
		p->failed = true;
		p->err_outcome = INGEST_TOO_LARGE;
		snprintf(p->err, INGEST_MESSAGE_MAX, "line %zu: more than %zu samples in one request", p->line,
			 lim->max_series);
		return -1;
	}
	text_entry *e = palloc(p, sizeof(*e));
	slod_label *copy = palloc(p, nl * sizeof(*copy));
	if (!e || !copy)
		return nomem(p);
	memcpy(copy, lab, nl * sizeof(*copy));
	*e = (text_entry){.labels = copy, .n = nl, .t = t, .v = v, .has_t = has_t, .bad = bad, .line = p->line};
	(*tail)->next = e;
	*tail = e;
	return 0;
}

/* Pass 1: parses the whole body. Returns 0 or -1 with p->err set. */
static int parse_body(text_parser *p, text_entry *head, size_t *nsamples)
{
	text_entry *tail = head;
	while (p->pos < p->len) {
		p->line_start = p->pos;
		skip_ws(p);
		int c = peek(p);
		int rc = 0;
		if (c == '#')
			rc = parse_comment(p);
		else if (!at_eol(p))
			rc = parse_sample(p, &tail, nsamples);
		if (rc)
			return -1;
		skip_ws(p);
		if (peek(p) == '\r')
			p->pos++;
		if (p->pos < p->len) {
			if (peek(p) != '\n')
				return perr(p, "unexpected character");
			p->pos++;
		}
		p->line++;
	}
	return 0;
}

ingest_outcome ingest_ctx_text(ingest_ctx *cx, const void *body, size_t len, int64_t default_ts_ms,
			       ingest_result *res)
{
	char err[INGEST_MESSAGE_MAX];
	ingest__begin(cx, res);
	if (len > cx->lim.max_body_bytes)
		return ingest__fail(cx, res, INGEST_TOO_LARGE, "body of %zu bytes exceeds the limit of %zu", len,
				    cx->lim.max_body_bytes);
	text_parser p = {.cx = cx, .s = body, .len = len, .line = 1, .err = err};
	text_entry head = {0};
	size_t nsamples = 0;
	if (parse_body(&p, &head, &nsamples))
		return ingest__fail(cx, res, p.err_outcome, "%s", err);
	res->series = nsamples;
	res->samples = nsamples;
	for (text_entry *e = head.next; e && !cx->fatal; e = e->next) {
		slod_labels ls = {e->labels, e->n};
		switch (e->bad) {
		case BAD_TOO_MANY_LABELS:
			ingest__reject_series(cx, res, &ls, 1, "line %zu: too many labels (limit %zu)", e->line,
					      cx->lim.max_labels_per_series);
			continue;
		case BAD_NAME_LEN:
			ingest__reject_series(cx, res, NULL, 1, "line %zu: label name longer than %zu bytes", e->line,
					      cx->lim.max_label_name_len);
			continue;
		case BAD_VALUE_LEN:
			ingest__reject_series(cx, res, NULL, 1, "line %zu: label value longer than %zu bytes", e->line,
					      cx->lim.max_label_value_len);
			continue;
		default:
			break;
		}
		bool utf8_ok = true;
		for (size_t i = 0; i < ls.n && utf8_ok; i++)
			utf8_ok = slod_utf8_valid(ls.v[i].value, strlen(ls.v[i].value));
		if (!utf8_ok) {
			ingest__reject_series(cx, res, &ls, 1, "line %zu: invalid UTF-8 in a label value", e->line);
			continue;
		}
		if (ingest__canonicalise(cx, &ls, 1, res))
			continue;
		ingest__series s;
		ingest__series_start(&s, &ls);
		ingest__append(cx, &s, e->has_t ? e->t : default_ts_ms, e->v, res);
	}
	return ingest__finish(cx, res);
}

ingest_outcome ingest_text(tsdb *db, const ingest_limits *lim, const void *body, size_t len, int64_t default_ts_ms,
			   ingest_result *res)
{
	slod_clock clock = slod_clock_system();
	ingest_ctx *cx = ingest_ctx_new(db, lim, &clock);
	if (!cx) {
		memset(res, 0, sizeof(*res));
		res->outcome = INGEST_OVERLOADED;
		snprintf(res->message, sizeof res->message, "out of memory");
		return res->outcome;
	}
	ingest_outcome o = ingest_ctx_text(cx, body, len, default_ts_ms, res);
	ingest_ctx_free(cx);
	return o;
}
