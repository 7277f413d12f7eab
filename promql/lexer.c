/*
 * lexer.c — PromQL tokenizer; see lexer.h.
 *
 * A pull lexer: promql_lexer_next() runs the scanning routine for the current state until one
 * token is produced. States mirror Prometheus's lexer so that the same input yields the same
 * tokens and the same lexical errors at the same offsets:
 *   LX_STATEMENTS   top level (operators, numbers, strings, identifiers/keywords, brackets);
 *   LX_BRACES       inside {...}: identifiers (no keywords), strings, = != =~ !~ , };
 *   LX_DURATION     right after '[' (and after ':'/operators inside it): numbers, durations,
 *                   ( ) + - * / % ^ , : and the duration keywords step/range/min_of/max_of.
 * Cost: O(1) per byte; no allocation. Error messages use Go's %q quoting of runes.
 */
#include "promql/lexer.h"

#include <stdio.h>
#include <string.h>

enum { LX_STATEMENTS, LX_BRACES, LX_DURATION };

#define LX_EOF (-1)

int promql__utf8_decode(const char *s, size_t len, uint32_t *r)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c = p[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	int n;
	uint32_t v, min;
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		v = c & 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		v = c & 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		*r = 0xFFFD;
		return 1;
	}
	if ((size_t)n > len) {
		*r = 0xFFFD;
		return 1;
	}
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*r = 0xFFFD;
			return 1;
		}
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*r = 0xFFFD;
		return 1;
	}
	*r = v;
	return n;
}

static void put_utf8(buf *out, uint32_t r)
{
	char b[4];
	if (r < 0x80) {
		b[0] = (char)r;
		buf_append(out, b, 1);
	} else if (r < 0x800) {
		b[0] = (char)(0xC0 | (r >> 6));
		b[1] = (char)(0x80 | (r & 0x3F));
		buf_append(out, b, 2);
	} else if (r < 0x10000) {
		b[0] = (char)(0xE0 | (r >> 12));
		b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[2] = (char)(0x80 | (r & 0x3F));
		buf_append(out, b, 3);
	} else {
		b[0] = (char)(0xF0 | (r >> 18));
		b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[3] = (char)(0x80 | (r & 0x3F));
		buf_append(out, b, 4);
	}
}

/* Go's unicode.IsPrint, approximated: controls, C1 controls and a few format characters are
 * not printable; everything else outside ASCII is. */
static bool rune_printable(uint32_t r)
{
	if (r < 0x20 || r == 0x7F)
		return false;
	if (r >= 0x80 && r <= 0xA0)
		return false;
	if (r == 0xAD || r == 0x2028 || r == 0x2029 || r == 0xFEFF || (r >= 0x200B && r <= 0x200F) ||
	    (r >= 0x202A && r <= 0x202E) || (r >= 0x2060 && r <= 0x2064) || (r >= 0xE000 && r <= 0xF8FF) ||
	    (r >= 0xFFF9 && r <= 0xFFFB) || r >= 0xF0000)
		return false;
	return true;
}

/* One rune of a Go-quoted literal (quote is '"' or '\''). */
static void quote_rune_body(buf *out, uint32_t r, int width, const unsigned char *raw, char quote)
{
	static const char hex[] = "0123456789abcdef";
	if (width == 1 && r == 0xFFFD) { /* invalid byte */
		char b[4] = {'\\', 'x', hex[raw[0] >> 4], hex[raw[0] & 15]};
		buf_append(out, b, 4);
		return;
	}
	if (r == (uint32_t)quote || r == '\\') {
		buf_putc(out, '\\');
		buf_putc(out, (char)r);
		return;
	}
	if (rune_printable(r)) {
		put_utf8(out, r);
		return;
	}
	switch (r) {
	case '\a': buf_puts(out, "\\a"); return;
	case '\b': buf_puts(out, "\\b"); return;
	case '\f': buf_puts(out, "\\f"); return;
	case '\n': buf_puts(out, "\\n"); return;
	case '\r': buf_puts(out, "\\r"); return;
	case '\t': buf_puts(out, "\\t"); return;
	case '\v': buf_puts(out, "\\v"); return;
	default: break;
	}
	if (r < 0x80) {
		char b[4] = {'\\', 'x', hex[r >> 4], hex[r & 15]};
		buf_append(out, b, 4);
	} else if (r < 0x10000) {
		char b[6] = {'\\', 'u', hex[(r >> 12) & 15], hex[(r >> 8) & 15], hex[(r >> 4) & 15], hex[r & 15]};
		buf_append(out, b, 6);
	} else {
		buf_puts(out, "\\U");
		for (int s = 28; s >= 0; s -= 4)
			buf_putc(out, hex[(r >> s) & 15]);
	}
}

void promql__go_quote(buf *out, const char *s, size_t len)
{
	buf_putc(out, '"');
	size_t i = 0;
	while (i < len) {
		uint32_t r;
		int w = promql__utf8_decode(s + i, len - i, &r);
		quote_rune_body(out, r, w, (const unsigned char *)s + i, '"');
		i += (size_t)w;
	}
	buf_putc(out, '"');
}

/* Go's %q of a rune: 'x'. r < 0 (end of input) quotes as U+FFFD. */
static void go_quote_rune(buf *out, long r)
{
	uint32_t u = r < 0 || r > 0x10FFFF ? 0xFFFD : (uint32_t)r;
	unsigned char raw = 0;
	buf_putc(out, '\'');
	quote_rune_body(out, u, u == 0xFFFD ? 3 : 1, &raw, '\'');
	buf_putc(out, '\'');
}

/* ---- scanning primitives ---- */

static long lx_next(promql_lexer *l, int *width)
{
	if (l->pos >= l->len) {
		*width = 0;
		return LX_EOF;
	}
	uint32_t r;
	int w = promql__utf8_decode(l->in + l->pos, l->len - l->pos, &r);
	l->pos += (size_t)w;
	*width = w;
	return (long)r;
}

static long lx_peek(promql_lexer *l)
{
	if (l->pos >= l->len)
		return LX_EOF;
	uint32_t r;
	promql__utf8_decode(l->in + l->pos, l->len - l->pos, &r);
	return (long)r;
}

static bool lx_accept(promql_lexer *l, const char *valid)
{
	long r = lx_peek(l);
	if (r > 0 && r < 0x80 && strchr(valid, (int)r)) {
		l->pos++;
		return true;
	}
	return false;
}

static bool lx_is(promql_lexer *l, const char *valid)
{
	long r = lx_peek(l);
	return r > 0 && r < 0x80 && strchr(valid, (int)r);
}

static bool is_space(long r)
{
	return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool is_alpha(long r)
{
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_digit(long r)
{
	return r >= '0' && r <= '9';
}

static bool is_alnum(long r)
{
	return is_alpha(r) || is_digit(r);
}

static promql_token lx_emit(promql_lexer *l, promql_tok t)
{
	promql_token tok = {t, (uint32_t)l->start, (uint32_t)(l->pos - l->start)};
	l->start = l->pos;
	return tok;
}

static promql_token lx_error(promql_lexer *l, const char *fmt_prefix, long rune, const char *suffix)
{
	buf b;
	buf_init(&b, sizeof(l->err) - 1);
	buf_puts(&b, fmt_prefix);
	if (rune != -2)
		go_quote_rune(&b, rune);
	if (suffix)
		buf_puts(&b, suffix);
	size_t n = b.len < sizeof(l->err) - 1 ? b.len : sizeof(l->err) - 1;
	if (b.data)
		memcpy(l->err, b.data, n);
	l->err[n] = '\0';
	buf_deinit(&b);
	l->done = true;
	promql_token tok = {PT_ERROR, (uint32_t)l->start, (uint32_t)(l->len - l->start)};
	return tok;
}

static promql_token lx_errmsg(promql_lexer *l, const char *msg)
{
	return lx_error(l, msg, -2, NULL);
}

/* ---- keywords ---- */

static const struct {
	const char *word;
	promql_tok tok;
} keywords[] = {
	{"and", PT_LAND}, {"or", PT_LOR}, {"unless", PT_LUNLESS}, {"atan2", PT_ATAN2},
	{"sum", PT_SUM}, {"avg", PT_AVG}, {"count", PT_COUNT}, {"min", PT_MIN}, {"max", PT_MAX},
	{"group", PT_GROUP}, {"stddev", PT_STDDEV}, {"stdvar", PT_STDVAR}, {"topk", PT_TOPK},
	{"bottomk", PT_BOTTOMK}, {"count_values", PT_COUNT_VALUES}, {"quantile", PT_QUANTILE},
	{"limitk", PT_LIMITK}, {"limit_ratio", PT_LIMIT_RATIO},
	{"offset", PT_OFFSET}, {"smoothed", PT_SMOOTHED}, {"anchored", PT_ANCHORED}, {"by", PT_BY},
	{"without", PT_WITHOUT}, {"on", PT_ON}, {"ignoring", PT_IGNORING}, {"group_left", PT_GROUP_LEFT},
	{"group_right", PT_GROUP_RIGHT}, {"fill", PT_FILL}, {"fill_left", PT_FILL_LEFT},
	{"fill_right", PT_FILL_RIGHT}, {"bool", PT_BOOL},
	{"start", PT_START}, {"end", PT_END}, {"step", PT_STEP}, {"range", PT_RANGE},
	{"max_of", PT_MAX_OF}, {"min_of", PT_MIN_OF},
	{"inf", PT_NUMBER}, {"nan", PT_NUMBER},
};

static bool word_ieq(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);
	if (wl != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

static int keyword_lookup(const char *s, size_t n, promql_tok *out)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (word_ieq(s, n, keywords[i].word)) {
			*out = keywords[i].tok;
			return 1;
		}
	}
	return 0;
}

/* ---- numbers and durations ---- */

/* Scans a number (decimal, hex, float with exponent, underscores). The text is not necessarily
 * a valid number; the parser converts it. */
static bool scan_number(promql_lexer *l)
{
	size_t initial = l->pos;
	const char *digits = "0123456789";
	const char *set = "0123456789._eE";
	bool hex = false;
	if (lx_accept(l, "0") && lx_accept(l, "xX")) {
		lx_accept(l, "_");
		digits = "0123456789abcdefABCDEF";
		set = "0123456789abcdefABCDEF._eE";
		hex = true;
	}
	lx_accept(l, ".");
	lx_accept(l, digits);
	bool dot = false, exp = false;
	while (lx_is(l, set)) {
		if (lx_is(l, ".") && dot) {
			lx_accept(l, ".");
			return false;
		}
		if (lx_is(l, "eE") && exp) {
			lx_accept(l, "eE");
			return false;
		}
		if (lx_accept(l, ".")) {
			dot = true;
			if (lx_accept(l, "_."))
				return false;
			if (hex)
				return false;
			continue;
		}
		if (lx_accept(l, "eE")) {
			exp = true;
			lx_accept(l, "+-");
			if (lx_accept(l, "._eE") || lx_peek(l) == LX_EOF)
				return false;
			continue;
		}
		if (lx_accept(l, "_")) {
			if (lx_accept(l, "._eE") || lx_peek(l) == LX_EOF)
				return false;
			continue;
		}
		while (lx_accept(l, digits)) {
		}
	}
	if (l->pos == initial)
		return false;
	return !is_alnum(lx_peek(l));
}

/* After a number: unit letters and more number+unit groups. Consumes one rune past the end
 * (as Prometheus's lexer does); the caller steps back on success. */
static bool accept_remaining_duration(promql_lexer *l, int *last_width)
{
	*last_width = 0;
	if (!lx_accept(l, "smhdwy"))
		return false;
	lx_accept(l, "s");
	while (lx_accept(l, "0123456789")) {
		while (lx_accept(l, "0123456789")) {
		}
		if (!lx_accept(l, "smhdw"))
			return false;
		lx_accept(l, "s");
	}
	long r = lx_next(l, last_width);
	return !is_alnum(r);
}

static promql_token lex_number_or_duration(promql_lexer *l)
{
	if (scan_number(l)) {
		l->state = LX_STATEMENTS;
		return lx_emit(l, PT_NUMBER);
	}
	int w;
	if (accept_remaining_duration(l, &w)) {
		l->pos -= (size_t)w;
		l->state = LX_STATEMENTS;
		return lx_emit(l, PT_DURATION);
	}
	buf b;
	char msg[sizeof(l->err)];
	buf_init(&b, 0);
	buf_puts(&b, "bad number or duration syntax: ");
	promql__go_quote(&b, l->in + l->start, l->pos - l->start);
	snprintf(msg, sizeof msg, "%s", b.data ? b.data : "");
	buf_deinit(&b);
	return lx_errmsg(l, msg);
}

/* ---- strings ---- */

static int digit_val(long c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return 16;
}

static void fmt_U(char *out, size_t cap, long r)
{
	/* Go's %#U: U+0071 'q' (the quoted char only when printable) */
	uint32_t u = r < 0 ? 0xFFFD : (uint32_t)r;
	buf b;
	buf_init(&b, 0);
	buf_printf(&b, "U+%04X", (unsigned)u);
	if (rune_printable(u)) {
		buf_puts(&b, " '");
		put_utf8(&b, u);
		buf_putc(&b, '\'');
	}
	snprintf(out, cap, "%s", b.data ? b.data : "");
	buf_deinit(&b);
}

/* Validates one escape; the backslash has been consumed. Returns NULL or an error message in
 * msg. */
static const char *lex_escape(promql_lexer *l, char quote, char *msg, size_t cap)
{
	int w;
	long ch = lx_next(l, &w);
	int n;
	uint32_t base, max;
	switch (ch) {
	case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
		return NULL;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		n = 3;
		base = 8;
		max = 255;
		break;
	case 'x':
		ch = lx_next(l, &w);
		n = 2;
		base = 16;
		max = 255;
		break;
	case 'u':
		ch = lx_next(l, &w);
		n = 4;
		base = 16;
		max = 0x10FFFF;
		break;
	case 'U':
		ch = lx_next(l, &w);
		n = 8;
		base = 16;
		max = 0x10FFFF;
		break;
	case LX_EOF:
		return "escape sequence not terminated";
	default:
		if (ch == quote)
			return NULL;
		{
			char u[40];
			fmt_U(u, sizeof u, ch);
			snprintf(msg, cap, "unknown escape sequence %s", u);
		}
		return msg;
	}
	uint32_t x = 0;
	while (n > 0) {
		uint32_t d = (uint32_t)digit_val(ch);
		if (d >= base) {
			if (ch == LX_EOF)
				return "escape sequence not terminated";
			char u[40];
			fmt_U(u, sizeof u, ch);
			snprintf(msg, cap, "illegal character %s in escape sequence", u);
			return msg;
		}
		x = x * base + d;
		n--;
		if (n > 0)
			ch = lx_next(l, &w);
	}
	if (x > max || (x >= 0xD800 && x < 0xE000))
		return "escape sequence is an invalid Unicode code point";
	return NULL;
}

static promql_token lex_string(promql_lexer *l, char quote)
{
	char msg[sizeof(l->err)];
	for (;;) {
		int w;
		long r = lx_next(l, &w);
		if (r == '\\') {
			const char *e = lex_escape(l, quote, msg, sizeof msg);
			if (e)
				return lx_errmsg(l, e);
			continue;
		}
		if (r == 0xFFFD && w == 1) /* an invalid byte (a literal U+FFFD is fine: it must
					    * survive printing and re-parsing) */
			return lx_errmsg(l, "invalid UTF-8 rune");
		if (r == LX_EOF || r == '\n')
			return lx_errmsg(l, "unterminated quoted string");
		if (r == quote)
			break;
	}
	return lx_emit(l, PT_STRING);
}

static promql_token lex_raw_string(promql_lexer *l)
{
	for (;;) {
		int w;
		long r = lx_next(l, &w);
		if (r == 0xFFFD && w == 1)
			return lx_errmsg(l, "invalid UTF-8 rune");
		if (r == LX_EOF)
			return lx_errmsg(l, "unterminated raw string");
		if (r == '`')
			break;
	}
	return lx_emit(l, PT_STRING);
}

/* ---- identifiers ---- */

static bool followed_by_lparen(promql_lexer *l)
{
	size_t p = l->pos;
	while (p < l->len && is_space((unsigned char)l->in[p]))
		p++;
	return p < l->len && l->in[p] == '(';
}

static promql_token lex_keyword_or_identifier(promql_lexer *l)
{
	while (l->pos < l->len && (is_alnum((unsigned char)l->in[l->pos]) || l->in[l->pos] == ':'))
		l->pos++;
	const char *w = l->in + l->start;
	size_t n = l->pos - l->start;
	promql_tok kw;
	if (keyword_lookup(w, n, &kw)) {
		if ((kw == PT_FILL || kw == PT_FILL_LEFT || kw == PT_FILL_RIGHT) && !followed_by_lparen(l))
			return lx_emit(l, PT_IDENTIFIER);
		return lx_emit(l, kw);
	}
	if (memchr(w, ':', n))
		return lx_emit(l, PT_METRIC_IDENTIFIER);
	return lx_emit(l, PT_IDENTIFIER);
}

/* Duration keywords inside brackets (step, range, max_of, min_of), case-insensitive. The first
 * letter has been consumed. Returns true and sets *t when the word is one. */
static bool scan_duration_keyword(promql_lexer *l, promql_tok *t)
{
	while (l->pos < l->len && is_alpha((unsigned char)l->in[l->pos]))
		l->pos++;
	const char *w = l->in + l->start;
	size_t n = l->pos - l->start;
	static const struct {
		const char *w;
		promql_tok t;
	} dk[] = {{"step", PT_STEP}, {"range", PT_RANGE}, {"max_of", PT_MAX_OF}, {"min_of", PT_MIN_OF}};
	for (size_t i = 0; i < 4; i++) {
		if (word_ieq(w, n, dk[i].w)) {
			*t = dk[i].t;
			return true;
		}
	}
	return false;
}

static bool is_duration_keyword_start(long r)
{
	if (r >= 'A' && r <= 'Z')
		r = r - 'A' + 'a';
	return r == 's' || r == 'r' || r == 'm';
}

static void skip_spaces(promql_lexer *l)
{
	while (l->pos < l->len && is_space((unsigned char)l->in[l->pos]))
		l->pos++;
	l->start = l->pos;
}

static promql_token lex_comment(promql_lexer *l)
{
	l->pos++; /* '#' */
	while (l->pos < l->len && l->in[l->pos] != '\n' && l->in[l->pos] != '\r')
		l->pos++;
	return lx_emit(l, PT_COMMENT);
}

/* ---- states ---- */

static promql_token lex_inside_braces(promql_lexer *l)
{
	for (;;) {
		if (l->pos < l->len && l->in[l->pos] == '#')
			return lex_comment(l);
		int w;
		long r = lx_next(l, &w);
		if (r == LX_EOF)
			return lx_errmsg(l, "unexpected end of input inside braces");
		if (is_space(r)) {
			skip_spaces(l);
			continue;
		}
		if (is_alpha(r)) {
			while (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos]))
				l->pos++;
			return lx_emit(l, PT_IDENTIFIER);
		}
		switch (r) {
		case ',':
			return lx_emit(l, PT_COMMA);
		case '"': case '\'':
			return lex_string(l, (char)r);
		case '`':
			return lex_raw_string(l);
		case '=':
			if (lx_accept(l, "~"))
				return lx_emit(l, PT_EQL_REGEX);
			return lx_emit(l, PT_EQL);
		case '!': {
			long nr = lx_next(l, &w);
			if (nr == '~')
				return lx_emit(l, PT_NEQ_REGEX);
			if (nr == '=')
				return lx_emit(l, PT_NEQ);
			return lx_error(l, "unexpected character after '!' inside braces: ", nr, NULL);
		}
		case '{':
			return lx_error(l, "unexpected left brace ", r, NULL);
		case '}':
			l->brace_open = false;
			l->state = LX_STATEMENTS;
			return lx_emit(l, PT_RIGHT_BRACE);
		default:
			return lx_error(l, "unexpected character inside braces: ", r, NULL);
		}
	}
}

static promql_token lex_duration_expr(promql_lexer *l)
{
	for (;;) {
		int w;
		long r = lx_next(l, &w);
		switch (r) {
		case LX_EOF:
			return lx_errmsg(l, "unexpected end of input in duration expression");
		case ']':
			l->bracket_open = false;
			l->got_colon = false;
			l->state = LX_STATEMENTS;
			return lx_emit(l, PT_RIGHT_BRACKET);
		case ':': {
			promql_token t = lx_emit(l, PT_COLON);
			if (!l->got_duration)
				return lx_errmsg(l, "unexpected colon before duration in duration expression");
			if (l->got_colon)
				return lx_errmsg(l, "unexpected repeated colon in duration expression");
			l->got_colon = true;
			return t;
		}
		case '(':
			l->paren_depth++;
			return lx_emit(l, PT_LEFT_PAREN);
		case ')': {
			promql_token t = lx_emit(l, PT_RIGHT_PAREN);
			l->paren_depth--;
			if (l->paren_depth < 0)
				return lx_error(l, "unexpected right parenthesis ", r, NULL);
			return t;
		}
		case '+': return lx_emit(l, PT_ADD);
		case '-': return lx_emit(l, PT_SUB);
		case '*': return lx_emit(l, PT_MUL);
		case '/': return lx_emit(l, PT_DIV);
		case '%': return lx_emit(l, PT_MOD);
		case '^': return lx_emit(l, PT_POW);
		case ',': return lx_emit(l, PT_COMMA);
		default:
			break;
		}
		if (is_space(r)) {
			skip_spaces(l);
			continue;
		}
		if (is_duration_keyword_start(r)) {
			promql_tok t;
			if (scan_duration_keyword(l, &t))
				return lx_emit(l, t);
			return lx_error(l, "unexpected character in duration expression: ", r, NULL);
		}
		if (is_digit(r) || (r == '.' && is_digit(lx_peek(l)))) {
			l->pos -= (size_t)w;
			l->got_duration = true;
			return lex_number_or_duration(l);
		}
		return lx_error(l, "unexpected character in duration expression: ", r, NULL);
	}
}

static promql_token lex_statements(promql_lexer *l)
{
	for (;;) {
		if (l->brace_open)
			return lex_inside_braces(l);
		if (l->pos < l->len && l->in[l->pos] == '#')
			return lex_comment(l);
		int w;
		long r = lx_next(l, &w);
		if (r == LX_EOF) {
			if (l->paren_depth != 0)
				return lx_errmsg(l, "unclosed left parenthesis");
			if (l->bracket_open)
				return lx_errmsg(l, "unclosed left bracket");
			l->done = true;
			return lx_emit(l, PT_EOF);
		}
		if (is_space(r)) {
			skip_spaces(l);
			continue;
		}
		switch (r) {
		case ',': return lx_emit(l, PT_COMMA);
		case '*': return lx_emit(l, PT_MUL);
		case '/': return lx_emit(l, PT_DIV);
		case '%': return lx_emit(l, PT_MOD);
		case '+': return lx_emit(l, PT_ADD);
		case '-': return lx_emit(l, PT_SUB);
		case '^': return lx_emit(l, PT_POW);
		case '@': return lx_emit(l, PT_AT);
		case '=': {
			long t = lx_peek(l);
			if (t == '=') {
				l->pos++;
				return lx_emit(l, PT_EQLC);
			}
			if (t == '~')
				return lx_error(l, "unexpected character after '=': ", t, NULL);
			return lx_emit(l, PT_EQL);
		}
		case '!': {
			long t = lx_next(l, &w);
			if (t != '=')
				return lx_error(l, "unexpected character after '!': ", t, NULL);
			return lx_emit(l, PT_NEQ);
		}
		case '<':
			if (lx_accept(l, "="))
				return lx_emit(l, PT_LTE);
			if (lx_accept(l, "/"))
				return lx_emit(l, PT_TRIM_UPPER);
			return lx_emit(l, PT_LSS);
		case '>':
			if (lx_accept(l, "="))
				return lx_emit(l, PT_GTE);
			if (lx_accept(l, "/"))
				return lx_emit(l, PT_TRIM_LOWER);
			return lx_emit(l, PT_GTR);
		case '"': case '\'':
			return lex_string(l, (char)r);
		case '`':
			return lex_raw_string(l);
		case '(':
			l->paren_depth++;
			return lx_emit(l, PT_LEFT_PAREN);
		case ')': {
			promql_token t = lx_emit(l, PT_RIGHT_PAREN);
			l->paren_depth--;
			if (l->paren_depth < 0)
				return lx_error(l, "unexpected right parenthesis ", r, NULL);
			return t;
		}
		case '{':
			l->brace_open = true;
			l->state = LX_BRACES;
			return lx_emit(l, PT_LEFT_BRACE);
		case '[': {
			if (l->bracket_open)
				return lx_error(l, "unexpected left bracket ", r, NULL);
			l->got_colon = false;
			l->got_duration = false;
			promql_token t = lx_emit(l, PT_LEFT_BRACKET);
			skip_spaces(l);
			l->bracket_open = true;
			l->state = LX_DURATION;
			return t;
		}
		case ']':
			if (!l->bracket_open)
				return lx_error(l, "unexpected right bracket ", r, NULL);
			l->bracket_open = false;
			return lx_emit(l, PT_RIGHT_BRACKET);
		default:
			break;
		}
		if (is_digit(r) || (r == '.' && is_digit(lx_peek(l)))) {
			l->pos -= (size_t)w;
			return lex_number_or_duration(l);
		}
		if (is_alpha(r) || r == ':') {
			if (!l->bracket_open) {
				l->pos -= (size_t)w;
				return lex_keyword_or_identifier(l);
			}
			if (r == ':') {
				if (l->got_colon)
					return lx_error(l, "unexpected colon ", r, NULL);
				l->got_colon = true;
				return lx_emit(l, PT_COLON);
			}
			if (is_duration_keyword_start(r)) {
				promql_tok t;
				if (scan_duration_keyword(l, &t))
					return lx_emit(l, t);
			}
			return lx_error(l, "unexpected character: ", r, ", expected ':'");
		}
		return lx_error(l, "unexpected character: ", r, NULL);
	}
}

void promql_lexer_init(promql_lexer *l, const char *in, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->in = in;
	l->len = len;
	l->state = LX_STATEMENTS;
}

promql_token promql_lexer_next(promql_lexer *l)
{
	if (l->done) {
		promql_token t = {PT_EOF, (uint32_t)l->len, 0};
		return t;
	}
	switch (l->state) {
	case LX_BRACES:
		return lex_inside_braces(l);
	case LX_DURATION:
		return lex_duration_expr(l);
	default:
		return lex_statements(l);
	}
}

bool promql_tok_is_operator(promql_tok t)
{
	return t > PT_OPS_START && t < PT_OPS_END;
}

bool promql_tok_is_aggregator(promql_tok t)
{
	return t > PT_AGGS_START && t < PT_AGGS_END;
}

bool promql_tok_is_keyword(promql_tok t)
{
	return t > PT_KEYWORDS_START && t < PT_KEYWORDS_END;
}

/* Go's fmt "%.10q": at most 10 runes, quoted. */
static void quote_trunc10(buf *out, const char *s, size_t len)
{
	size_t i = 0;
	int runes = 0;
	while (i < len && runes < 10) {
		uint32_t r;
		i += (size_t)promql__utf8_decode(s + i, len - i, &r);
		runes++;
	}
	promql__go_quote(out, s, i);
}

void promql_token_desc(const char *in, const promql_token *t, buf *out)
{
	const char *v = in + t->pos;
	size_t n = t->len;
	switch (t->type) {
	case PT_EOF:
		buf_puts(out, "end of input");
		return;
	case PT_IDENTIFIER:
		buf_puts(out, "identifier ");
		promql__go_quote(out, v, n);
		return;
	case PT_METRIC_IDENTIFIER:
		buf_puts(out, "metric identifier ");
		promql__go_quote(out, v, n);
		return;
	case PT_STRING:
	case PT_NUMBER:
	case PT_DURATION:
		buf_puts(out, t->type == PT_STRING ? "string " : t->type == PT_NUMBER ? "number " : "duration ");
		if (n > 10) {
			quote_trunc10(out, v, n);
			buf_puts(out, "...");
		} else {
			promql__go_quote(out, v, n);
		}
		return;
	case PT_COMMENT:
		buf_puts(out, "comment ");
		promql__go_quote(out, v, n);
		return;
	default:
		break;
	}
	if (promql_tok_is_operator(t->type)) {
		buf_puts(out, "<op:");
		buf_append(out, v, n);
		buf_putc(out, '>');
	} else if (promql_tok_is_aggregator(t->type)) {
		buf_puts(out, "<aggr:");
		buf_append(out, v, n);
		buf_putc(out, '>');
	} else if (promql_tok_is_keyword(t->type)) {
		buf_putc(out, '<');
		buf_append(out, v, n);
		buf_putc(out, '>');
	} else if (n > 10) {
		quote_trunc10(out, v, n);
		buf_puts(out, "...");
	} else {
		promql__go_quote(out, v, n);
	}
}

int promql__unquote(const char *s, size_t len, buf *out)
{
	if (len < 2)
		return -1;
	char q = s[0];
	const char *p = s + 1, *e = s + len - 1;
	if (q == '`') {
		for (; p < e; p++)
			if (*p != '\r' && buf_putc(out, *p) != 0)
				return -2;
		return buf_append(out, "", 0) != 0 ? -2 : 0;
	}
	while (p < e) {
		if (*p != '\\') {
			if (buf_putc(out, *p++) != 0)
				return -2;
			continue;
		}
		p++;
		if (p >= e)
			return -1;
		char c = *p++;
		switch (c) {
		case 'a': if (buf_putc(out, '\a') != 0) return -2; continue;
		case 'b': if (buf_putc(out, '\b') != 0) return -2; continue;
		case 'f': if (buf_putc(out, '\f') != 0) return -2; continue;
		case 'n': if (buf_putc(out, '\n') != 0) return -2; continue;
		case 'r': if (buf_putc(out, '\r') != 0) return -2; continue;
		case 't': if (buf_putc(out, '\t') != 0) return -2; continue;
		case 'v': if (buf_putc(out, '\v') != 0) return -2; continue;
		case '\\': if (buf_putc(out, '\\') != 0) return -2; continue;
		case '\'': case '"': if (buf_putc(out, c) != 0) return -2; continue;
		default: break;
		}
		int n, base;
		if (c >= '0' && c <= '7') {
			n = 3;
			base = 8;
			p--;
		} else if (c == 'x') {
			n = 2;
			base = 16;
		} else if (c == 'u') {
			n = 4;
			base = 16;
		} else if (c == 'U') {
			n = 8;
			base = 16;
		} else {
			return -1;
		}
		uint32_t v = 0;
		for (int i = 0; i < n; i++) {
			if (p >= e)
				return -1;
			int d = digit_val((unsigned char)*p++);
			if (d >= base)
				return -1;
			v = v * (uint32_t)base + (uint32_t)d;
		}
		if (c == 'x' || (c >= '0' && c <= '7')) {
			if (v > 255)
				return -1;
			if (buf_putc(out, (char)v) != 0)
				return -2;
		} else {
			if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
				return -1;
			size_t before = out->len;
			put_utf8(out, v);
			if (out->len == before)
				return -2; /* out of memory */
		}
	}
	return buf_append(out, "", 0) != 0 ? -2 : 0;
}
