/*
 * regex.c — RE2-syntax regular expressions for PromQL on top of PCRE2; see regex.h.
 *
 * Compilation has two passes:
 *   1. rx_translate() walks the RE2 pattern once (O(n)), rejecting what RE2 (Go's regexp/syntax)
 *      rejects — lookaround, atomic groups, backreferences, possessive and nested repetition,
 *      unknown escapes, repeat counts over 1000, unbalanced parentheses and brackets — with Go's
 *      wording, and rewriting the few escapes whose meaning differs (Go's \v is a vertical tab,
 *      PCRE's a class; Go's \s excludes \v). The output is a PCRE2 pattern with the same meaning.
 *   2. PCRE2 compiles "\A(?:<translated>)\z" with DOTALL (Prometheus 3 wraps patterns in (?s:...)),
 *      UTF and MATCH_INVALID_UTF (label values need not be valid UTF-8), then JIT-compiles it.
 *
 * A promql_regex lives in the caller's arena; its pcre2_code is freed by an arena cleanup.
 * Fast paths decided at compile time (as Prometheus's FastRegexMatcher does): patterns that are
 * alternations of [.*]literal[.*] — "a|b|c", "foo.*", ".*bar", ".*baz.*", ".*" — are matched by
 * byte comparisons (equality, prefix, suffix, memmem) without PCRE2; ".+" is a length test.
 * Other patterns run the JIT with a backtracking budget and fall back to PCRE2's DFA matcher
 * when it is exhausted, so hostile patterns ("(a+)+b") cost polynomial, not exponential, time. Matching allocates one match-data block
 * per call, so a regex is safe to share between threads.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "promql/regex.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

enum { RX_PCRE, RX_ALTS, RX_NONEMPTY };

/* Literal alternations of any size stay on the simple matcher: PCRE2 (link size 2) cannot compile
 * more than 64 KiB of code, which Grafana's multi-value variables (`a|b|...`, 2,000 hosts) exceed.
 * The query length bound (64 KiB) keeps this below 32,768 alternatives. */
#define RX_MAX_ALTS 65536

/* One alternative of a simple pattern: [.*]literal[.*] */
typedef struct rx_alt {
	const char *lit;
	size_t len;
	bool any_before, any_after;
} rx_alt;

struct promql_regex {
	int kind;
	rx_alt *alts; /* RX_ALTS */
	size_t n_alts;
	pcre2_code *code;
	pcre2_match_context *mctx; /* backtracking budget for matchers (see promql_regex_match) */
	int ngroups;
};

/* Backtracking budget of one JIT/interpreter match before falling back to the DFA matcher.
 * RE2 (Prometheus) matches in linear time; PCRE2 backtracks, so "(a+)+b" on "aaaa...a" would be
 * exponential. Past this many steps the same question is answered by pcre2_dfa_match(), which
 * does not backtrack (polynomial) and is exact for our patterns: backreferences, lookaround and
 * conditionals are already refused. */
#define RX_MATCH_LIMIT 100000
#define RX_DFA_WORKSPACE 4096

#define RX_MAX_REPEAT 1000

static void rx_err(char *err, size_t errlen, const char *what, const char *p, size_t n)
{
	if (err && errlen)
		snprintf(err, errlen, "error parsing regexp: %s: `%.*s`", what, (int)n, p);
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses a {n}, {n,} or {n,m} repeat at p[i] == '{'. Returns its length, or 0 if it is not a
 * repeat (then '{' is a literal, as in Go). *bad is set when a count exceeds the maximum. */
static size_t rx_repeat_len(const char *p, size_t len, size_t i, int *bad)
{
	size_t j = i + 1;
	long n = 0, m = -1;
	*bad = 0;
	if (j >= len || !is_digit(p[j]))
		return 0;
	while (j < len && is_digit(p[j])) {
		if (n <= RX_MAX_REPEAT * 10)
			n = n * 10 + (p[j] - '0');
		j++;
	}
	if (j < len && p[j] == ',') {
		j++;
		if (j < len && is_digit(p[j])) {
			m = 0;
			while (j < len && is_digit(p[j])) {
				if (m <= RX_MAX_REPEAT * 10)
					m = m * 10 + (p[j] - '0');
				j++;
			}
		}
	} else {
		m = n;
	}
	if (j >= len || p[j] != '}')
		return 0;
	if (n > RX_MAX_REPEAT || m > RX_MAX_REPEAT || (m >= 0 && m < n))
		*bad = 1;
	return j - i + 1;
}

/* Translates one escape at p[i] == '\\' (outside or inside a class) into out. Returns the number
 * of pattern bytes consumed, or 0 after writing an error. */
static size_t rx_escape(const char *p, size_t len, size_t i, int in_class, buf *out, char *err, size_t errlen)
{
	if (i + 1 >= len) {
		rx_err(err, errlen, "trailing backslash at end of expression", "", 0);
		return 0;
	}
	char e = p[i + 1];
	switch (e) {
	case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		/* Go: a single non-zero digit would be a backreference: unsupported; with more
		 * digits it is an octal escape. */
		if (i + 2 < len && p[i + 2] >= '0' && p[i + 2] <= '7') {
			size_t j = i + 1, k = 0;
			while (j < len && k < 3 && p[j] >= '0' && p[j] <= '7') {
				j++;
				k++;
			}
			buf_puts(out, "\\o{");
			buf_append(out, p + i + 1, j - i - 1);
			buf_putc(out, '}');
			return j - i;
		}
		rx_err(err, errlen, "invalid escape sequence", p + i, 2);
		return 0;
	case '0': {
		size_t j = i + 1, k = 0;
		while (j < len && k < 3 && p[j] >= '0' && p[j] <= '7') {
			j++;
			k++;
		}
		buf_puts(out, "\\o{");
		buf_append(out, p + i + 1, j - i - 1);
		buf_putc(out, '}');
		return j - i;
	}
	case '8': case '9':
		rx_err(err, errlen, "invalid escape sequence", p + i, 2);
		return 0;
	case 'v':
		buf_puts(out, "\\x0B");
		return 2;
	case 's':
		buf_puts(out, in_class ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
		return 2;
	case 'S':
		buf_puts(out, in_class ? "\\S" : "[^\\t\\n\\f\\r ]");
		return 2;
	case 'A': case 'z': case 'b': case 'B':
		if (in_class) {
			rx_err(err, errlen, "invalid escape sequence", p + i, 2);
			return 0;
		}
		buf_append(out, p + i, 2);
		return 2;
	case 'a': case 'f': case 't': case 'n': case 'r': case 'd': case 'D': case 'w': case 'W':
		buf_append(out, p + i, 2);
		return 2;
	case 'x': {
		size_t j = i + 2;
		if (j < len && p[j] == '{') {
			size_t k = j + 1;
			while (k < len && p[k] != '}') {
				char c = p[k];
				if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
					break;
				k++;
			}
			if (k >= len || p[k] != '}' || k == j + 1) {
				rx_err(err, errlen, "invalid escape sequence", p + i, (k < len ? k + 1 : len) - i);
				return 0;
			}
			buf_append(out, p + i, k + 1 - i);
			return k + 1 - i;
		}
		for (int k = 0; k < 2; k++) {
			char c = j + (size_t)k < len ? p[j + (size_t)k] : 0;
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
				rx_err(err, errlen, "invalid escape sequence", p + i,
				       (j + (size_t)k < len ? j + (size_t)k + 1 : len) - i);
				return 0;
			}
		}
		buf_append(out, p + i, 4);
		return 4;
	}
	case 'p': case 'P': {
		size_t j = i + 2;
		if (j >= len) {
			rx_err(err, errlen, "invalid character class range", p + i, 2);
			return 0;
		}
		if (p[j] == '{') {
			size_t k = j + 1;
			while (k < len && p[k] != '}')
				k++;
			if (k >= len) {
				rx_err(err, errlen, "invalid character class range", p + i, len - i);
				return 0;
			}
			buf_append(out, p + i, k + 1 - i);
			return k + 1 - i;
		}
		buf_append(out, p + i, 3);
		return 3;
	}
	case 'Q': {
		/* literal text up to \E or the end */
		size_t j = i + 2;
		while (j < len && !(p[j] == '\\' && j + 1 < len && p[j + 1] == 'E'))
			j++;
		for (size_t k = i + 2; k < j; k++) {
			unsigned char c = (unsigned char)p[k];
			if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
				buf_putc(out, '\\');
			buf_putc(out, (char)c);
		}
		return (j < len ? j + 2 : j) - i;
	}
	default:
		/* Go allows escaping any ASCII punctuation; letters and digits not handled above
		 * are errors (\C, \K, \R, \X, \G, \Z, \h, \N, \g, \k, \e, \c, ...). */
		if ((unsigned char)e < 0x80 && !((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
						 (e >= 'A' && e <= 'Z') || e == '_')) {
			buf_append(out, p + i, 2);
			return 2;
		}
		{
			/* include a whole UTF-8 sequence in the message */
			size_t n = 2;
			while (i + n < len && ((unsigned char)p[i + n] & 0xC0) == 0x80)
				n++;
			rx_err(err, errlen, "invalid escape sequence", p + i, n);
		}
		return 0;
	}
}

/* Copies a bracket expression starting at p[i] == '['. Returns bytes consumed or 0 on error. */
static size_t rx_class(const char *p, size_t len, size_t i, buf *out, char *err, size_t errlen)
{
	size_t j = i + 1;
	buf_putc(out, '[');
	if (j < len && p[j] == '^') {
		buf_putc(out, '^');
		j++;
	}
	int first = 1;
	while (j < len) {
		char c = p[j];
		if (c == ']' && !first) {
			buf_putc(out, ']');
			return j + 1 - i;
		}
		first = 0;
		if (c == '[' && j + 1 < len && p[j + 1] == ':') {
			/* POSIX class [:alpha:] (Go and PCRE both accept these names) */
			size_t k = j + 2;
			while (k + 1 < len && !(p[k] == ':' && p[k + 1] == ']'))
				k++;
			if (k + 1 < len) {
				buf_append(out, p + j, k + 2 - j);
				j = k + 2;
				continue;
			}
		}
		if (c == '\\') {
			size_t n = rx_escape(p, len, j, 1, out, err, errlen);
			if (!n)
				return 0;
			j += n;
			continue;
		}
		if (c == '[') { /* a literal '[' inside a class must be escaped for PCRE's POSIX syntax */
			buf_puts(out, "\\[");
			j++;
			continue;
		}
		buf_putc(out, c);
		j++;
	}
	rx_err(err, errlen, "missing closing ]", p + i, len - i);
	return 0;
}

/* Group opener at p[i] == '(' and p[i+1] == '?'. Returns bytes consumed or 0 on error. */
static size_t rx_group(const char *p, size_t len, size_t i, buf *out, char *err, size_t errlen)
{
	size_t j = i + 2;
	if (j < len && (p[j] == 'P' || p[j] == '<')) {
		size_t k = j + (p[j] == 'P' ? 1 : 0);
		if (k < len && p[k] == '<' && (p[j] == 'P' || (k + 1 < len && p[k + 1] != '=' && p[k + 1] != '!'))) {
			size_t s = k + 1, e = s;
			while (e < len && p[e] != '>') {
				char c = p[e];
				if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
					break;
				e++;
			}
			if (e >= len || p[e] != '>' || e == s) {
				rx_err(err, errlen, "invalid named capture", p + i, (e < len ? e + 1 : len) - i);
				return 0;
			}
			buf_puts(out, "(?<");
			buf_append(out, p + s, e - s);
			buf_putc(out, '>');
			return e + 1 - i;
		}
	}
	/* flags: (?i) (?-s) (?i:...) */
	size_t k = j;
	int neg = 0, any = 0;
	while (k < len) {
		char c = p[k];
		if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
			any = 1;
			k++;
		} else if (c == '-' && !neg) {
			neg = 1;
			k++;
		} else {
			break;
		}
	}
	if (k < len && (p[k] == ')' || p[k] == ':') && (any || (p[k] == ':' && !neg)) &&
	    !(neg && p[k - 1] == '-')) {
		buf_append(out, p + i, k + 1 - i);
		return k + 1 - i;
	}
	size_t n = (k < len ? k + 1 : len) - i;
	rx_err(err, errlen, k >= len ? "missing closing )" : "invalid or unsupported Perl syntax", p + i, n);
	return 0;
}

/* Pass 1: validates RE2 syntax and writes the PCRE2 equivalent to out. Returns 0 or -1. */
static int rx_translate(const char *p, size_t len, buf *out, char *err, size_t errlen)
{
	size_t i = 0;
	int depth = 0;
	/* what the previous item was: 0 = nothing repeatable (start, '(' or '|'), 1 = an atom,
	 * 2 = a repetition, 3 = a lazy repetition */
	int prev = 0;
	size_t rep_start = 0;
	while (i < len) {
		char c = p[i];
		switch (c) {
		case '\\': {
			size_t n = rx_escape(p, len, i, 0, out, err, errlen);
			if (!n)
				return -1;
			i += n;
			prev = 1;
			break;
		}
		case '[': {
			size_t n = rx_class(p, len, i, out, err, errlen);
			if (!n)
				return -1;
			i += n;
			prev = 1;
			break;
		}
		case '(':
			if (i + 1 < len && p[i + 1] == '?') {
				size_t n = rx_group(p, len, i, out, err, errlen);
				if (!n)
					return -1;
				if (p[i + n - 1] == ')') { /* flag setting (?i): not a group */
					i += n;
					prev = 0;
					break;
				}
				i += n;
			} else {
				buf_putc(out, '(');
				i++;
			}
			depth++;
			prev = 0;
			break;
		case ')':
			if (depth == 0) {
				rx_err(err, errlen, "unexpected )", p, len);
				return -1;
			}
			depth--;
			buf_putc(out, ')');
			i++;
			prev = 1;
			break;
		case '|':
			buf_putc(out, '|');
			i++;
			prev = 0;
			break;
		case '*': case '+': case '?': case '{': {
			size_t n = 1;
			if (c == '{') {
				int bad;
				n = rx_repeat_len(p, len, i, &bad);
				if (n == 0) { /* literal brace */
					buf_puts(out, "\\{");
					i++;
					prev = 1;
					break;
				}
				if (bad) {
					rx_err(err, errlen, "invalid repeat count", p + i, n);
					return -1;
				}
			}
			if (prev == 2 && c == '?') { /* lazy marker */
				buf_putc(out, '?');
				i++;
				prev = 3;
				break;
			}
			if (prev >= 2) {
				rx_err(err, errlen, "invalid nested repetition operator", p + rep_start, i + n - rep_start);
				return -1;
			}
			if (prev == 0) {
				rx_err(err, errlen, "missing argument to repetition operator", p + i, n);
				return -1;
			}
			buf_append(out, p + i, n);
			rep_start = i;
			i += n;
			prev = 2;
			break;
		}
		default:
			buf_putc(out, c);
			i++;
			prev = 1;
			break;
		}
	}
	if (depth > 0) {
		rx_err(err, errlen, "missing closing )", p, len);
		return -1;
	}
	return 0;
}

static void rx_free(void *ud)
{
	pcre2_code_free((pcre2_code *)ud);
}

static void rx_free_mctx(void *ud)
{
	pcre2_match_context_free((pcre2_match_context *)ud);
}

/* Recognises "simple" patterns — top-level alternatives each of the form [.*]literal[.*], where
 * a literal is plain characters or backslash-escaped ASCII punctuation — and stores them in
 * re->alts (unescaped). Returns false for anything else (PCRE2 handles it). */
static bool rx_simple(const char *p, size_t len, arena *a, promql_regex *re)
{
	size_t nalts = 1;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '\\') {
			if (i + 1 >= len)
				return false;
			unsigned char e = (unsigned char)p[i + 1];
			if (e >= 0x80 || (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || e == '_')
				return false;
			i++;
			continue;
		}
		if (c == '|') {
			nalts++;
			continue;
		}
		if (c == '.' && i + 1 < len && p[i + 1] == '*') {
			bool at_start = i == 0 || p[i - 1] == '|';
			bool at_end = i + 2 == len || p[i + 2] == '|';
			if (!at_start && !at_end)
				return false;
			if (i > 0 && p[i - 1] == '\\')
				return false;
			i++;
			continue;
		}
		if (strchr(".+*?()[]{}^$", c) && c != '\0')
			return false;
	}
	if (nalts > RX_MAX_ALTS)
		return false;
	rx_alt *alts = arena_calloc(a, nalts, sizeof(*alts));
	char *lits = arena_alloc(a, len + 1);
	if (!alts || !lits)
		return false;
	size_t k = 0, o = 0, i = 0;
	while (k < nalts) {
		rx_alt *al = &alts[k];
		if (i + 1 < len && p[i] == '.' && p[i + 1] == '*') {
			al->any_before = true;
			i += 2;
		}
		al->lit = lits + o;
		while (i < len && p[i] != '|') {
			if (p[i] == '.' && i + 1 < len && p[i + 1] == '*') {
				al->any_after = true;
				i += 2;
				continue;
			}
			if (p[i] == '\\')
				i++;
			lits[o++] = p[i++];
		}
		al->len = (size_t)(lits + o - al->lit);
		i++; /* '|' */
		k++;
	}
	re->alts = alts;
	re->n_alts = nalts;
	return true;
}

static bool rx_alt_match(const rx_alt *al, const char *s, size_t len)
{
	if (len < al->len)
		return false;
	if (!al->any_before && !al->any_after)
		return len == al->len && memcmp(s, al->lit, len) == 0;
	if (!al->any_before)
		return memcmp(s, al->lit, al->len) == 0;
	if (!al->any_after)
		return memcmp(s + len - al->len, al->lit, al->len) == 0;
	return al->len == 0 || memmem(s, len, al->lit, al->len) != NULL;
}

static int rx_compile(const char *pattern, size_t len, arena *a, promql_regex **out, char *err, size_t errlen,
		      bool match_only)
{
	int rc = -2;
	buf b;
	buf_init(&b, 0);
	pcre2_code *code = NULL;
	*out = NULL;

	promql_regex *re = arena_calloc(a, 1, sizeof(*re));
	if (!re)
		goto out;
	if (buf_puts(&b, "\\A(?:") != 0)
		goto out;
	if (rx_translate(pattern, len, &b, err, errlen) != 0) {
		rc = -1;
		goto out;
	}
	if (buf_puts(&b, ")\\z") != 0 || !b.data)
		goto out;
	if (match_only && rx_simple(pattern, len, a, re)) {
		/* a valid RE2 pattern made of literals: no PCRE2 code needed to match it */
		re->kind = RX_ALTS;
		re->ngroups = -1;
		*out = re;
		rc = 0;
		goto out;
	}

	int ecode;
	PCRE2_SIZE eoff;
	code = pcre2_compile((PCRE2_SPTR)b.data, b.len,
			     PCRE2_DOTALL | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &ecode,
			     &eoff, NULL);
	if (!code) {
		if (ecode == PCRE2_ERROR_NOMEMORY)
			goto out;
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ecode, msg, sizeof msg);
		if (err && errlen)
			snprintf(err, errlen, "error parsing regexp: %s: `%.*s`", (const char *)msg, (int)len,
				 pattern);
		rc = -1;
		goto out;
	}
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
	uint32_t cap = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &cap);
	re->ngroups = (int)cap;
	if (arena_on_release(a, rx_free, code) != 0)
		goto out;
	re->code = code;
	code = NULL;
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->mctx || arena_on_release(a, rx_free_mctx, re->mctx) != 0) {
		if (re->mctx)
			pcre2_match_context_free(re->mctx);
		re->mctx = NULL;
		goto out;
	}
	pcre2_set_match_limit(re->mctx, RX_MATCH_LIMIT);

	re->kind = RX_PCRE;
	if (len == 2 && pattern[0] == '.' && pattern[1] == '+')
		re->kind = RX_NONEMPTY;
	else if (rx_simple(pattern, len, a, re))
		re->kind = RX_ALTS;
	*out = re;
	rc = 0;
out:
	if (code)
		pcre2_code_free(code);
	buf_deinit(&b);
	if (rc == -2 && err && errlen)
		snprintf(err, errlen, "out of memory compiling regexp");
	return rc;
}

int promql_regex_compile(const char *pattern, size_t len, arena *a, promql_regex **out, char *err,
			 size_t errlen)
{
	return rx_compile(pattern, len, a, out, err, errlen, false);
}

int promql_regex_compile_matcher(const char *pattern, size_t len, arena *a, promql_regex **out, char *err,
				 size_t errlen)
{
	return rx_compile(pattern, len, a, out, err, errlen, true);
}

bool promql_regex_match(void *rev, const char *s, size_t len)
{
	const promql_regex *re = rev;
	switch (re->kind) {
	case RX_NONEMPTY:
		return len > 0;
	case RX_ALTS:
		for (size_t i = 0; i < re->n_alts; i++)
			if (rx_alt_match(&re->alts[i], s ? s : "", len))
				return true;
		return false;
	default:
		break;
	}
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!md)
		return false;
	PCRE2_SPTR subj = (PCRE2_SPTR)(s ? s : "");
	int rc = pcre2_match(re->code, subj, len, 0, 0, md, re->mctx);
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT) {
		int *ws = malloc(RX_DFA_WORKSPACE * sizeof(int));
		rc = ws ? pcre2_dfa_match(re->code, subj, len, 0, 0, md, NULL, ws, RX_DFA_WORKSPACE) : -1;
		free(ws);
	}
	pcre2_match_data_free(md);
	return rc >= 0; /* 0: matched, ovector too small for the groups */
}

int promql_regex_match_groups(const promql_regex *re, const char *s, size_t len, long *ovec, int max_groups)
{
	if (max_groups < 1)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!md)
		return -1;
	int rc = pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), len, 0, 0, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH) {
		pcre2_match_data_free(md);
		return 0;
	}
	if (rc < 0) {
		pcre2_match_data_free(md);
		return -1;
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	int n = re->ngroups + 1;
	if (n > max_groups)
		n = max_groups;
	for (int i = 0; i < n; i++) {
		if (i < rc && ov[2 * i] != PCRE2_UNSET) {
			ovec[2 * i] = (long)ov[2 * i];
			ovec[2 * i + 1] = (long)ov[2 * i + 1];
		} else {
			ovec[2 * i] = ovec[2 * i + 1] = -1;
		}
	}
	pcre2_match_data_free(md);
	return n;
}

int promql_regex_group_count(const promql_regex *re)
{
	return re->ngroups;
}

int promql_regex_group_index(const promql_regex *re, const char *name)
{
	int n = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
	return n < 0 ? -1 : n;
}
