/*
 * emit.c — a small YAML block emitter that writes exactly what Go's gopkg.in/yaml.v2 Marshal writes
 * for maps, sequences and strings (the style of Sloth's and Prometheus's rule files).
 *
 * Output rules reproduced (from observing yaml.v2's output, see tests/slo/test_golden.c):
 *   - block mappings "key: value"; nested mappings indent by 2; sequences inside mappings are not
 *     indented ("groups:\n- name: x"); a mapping inside a sequence starts on the "- " line;
 *     empty mappings/sequences are "{}" / "[]";
 *   - map keys sorted in yaml.v2's natural order when the map is marked sorted;
 *   - a string is written plain unless it would read back as something else (a number, bool, null,
 *     timestamp, base-60 float: then "double quoted"), or starts with an indicator, has ": " or
 *     " #", leading/trailing space etc. (then 'single quoted'), or has special characters (then
 *     "double quoted" with escapes); strings with a line break use a literal block "|" with
 *     chomping "-" (no final newline) or "+" (several);
 *   - plain and quoted scalars fold at a space once the line passes column 80 (best_width), with
 *     continuation lines indented two more than the key.
 *
 * State mirrors a YAML emitter: column, indent, and the whitespace/indention flags that decide
 * whether a separator space or a line break is needed. Cost: O(output); no allocation other than
 * the output buffer and a temporary key order array per sorted map.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slo/slo_int.h"

#define BEST_WIDTH 80
#define BEST_INDENT 2

slo__enode *slo__e_str(arena *a, const char *s)
{
	if (!s) /* the string's own allocation failed: fail here too, so the caller's put/push fails */
		return NULL;
	slo__enode *n = arena_calloc(a, 1, sizeof *n);
	if (n) {
		n->type = SLO__E_STR;
		n->str = s;
	}
	return n;
}

slo__enode *slo__e_map(arena *a, bool sorted)
{
	slo__enode *n = arena_calloc(a, 1, sizeof *n);
	if (n) {
		n->type = SLO__E_MAP;
		n->sorted = sorted;
	}
	return n;
}

slo__enode *slo__e_seq(arena *a)
{
	slo__enode *n = arena_calloc(a, 1, sizeof *n);
	if (n)
		n->type = SLO__E_SEQ;
	return n;
}

static int grow(arena *a, slo__enode *n, size_t need)
{
	if (need <= n->cap)
		return 0;
	size_t nc = n->cap ? n->cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	slo__enode **ni = arena_alloc(a, nc * sizeof *ni);
	if (!ni)
		return -1;
	if (n->items)
		memcpy(ni, n->items, n->cap * sizeof *ni);
	n->items = ni;
	n->cap = nc;
	return 0;
}

int slo__e_put(arena *a, slo__enode *map, const char *key, slo__enode *val)
{
	slo__enode *k = slo__e_str(a, key);
	if (!map || !k || !val || grow(a, map, 2 * map->n + 2) != 0) /* NULL map: its creation failed */
		return -1;
	map->items[2 * map->n] = k;
	map->items[2 * map->n + 1] = val;
	map->n++;
	return 0;
}

int slo__e_push(arena *a, slo__enode *seq, slo__enode *item)
{
	if (!seq || !item || grow(a, seq, seq->n + 1) != 0) /* NULL seq: its creation failed */
		return -1;
	seq->items[seq->n++] = item;
	return 0;
}

/* ---- key order ------------------------------------------------------------------------------ */

/* Decodes one UTF-8 code point at s (returns bytes consumed, >= 1). */
static int u8dec(const unsigned char *s, unsigned *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
		*cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
		return 2;
	}
	if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
		return 3;
	}
	if ((s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) {
		*cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
		return 4;
	}
	*cp = 0xFFFD;
	return 1;
}

static size_t runes(const char *s, unsigned *out, size_t cap)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && n < cap)
		p += u8dec(p, &out[n++]);
	return n;
}

/* Letters as unicode.IsLetter would say for the scripts that appear in label names; non-ASCII
 * code points >= 0xC0 are treated as letters (a close approximation). */
static bool is_letter(unsigned c)
{
	return (c < 0x80 && isalpha((int)c)) || c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
}

static bool is_digit(unsigned c) { return c >= '0' && c <= '9'; }

bool slo__e_key_less(const char *sa, const char *sb)
{
	unsigned ar[512], br[512];
	size_t an_ = runes(sa, ar, 512), bn_ = runes(sb, br, 512);
	for (size_t i = 0; i < an_ && i < bn_; i++) {
		if (ar[i] == br[i])
			continue;
		bool al = is_letter(ar[i]), bl = is_letter(br[i]);
		if (al && bl)
			return ar[i] < br[i];
		if (al || bl)
			return bl;
		long long an = 0, bn = 0;
		size_t ai, bi;
		if (ar[i] == '0' || br[i] == '0') {
			for (size_t j = i; j-- > 0 && is_digit(ar[j]);) {
				if (ar[j] != '0') {
					an = 1;
					bn = 1;
					break;
				}
			}
		}
		for (ai = i; ai < an_ && is_digit(ar[ai]); ai++)
			an = an * 10 + (ar[ai] - '0');
		for (bi = i; bi < bn_ && is_digit(br[bi]); bi++)
			bn = bn * 10 + (br[bi] - '0');
		if (an != bn)
			return an < bn;
		if (ai != bi)
			return ai < bi;
		return ar[i] < br[i];
	}
	return an_ < bn_;
}

/* ---- scalar analysis ------------------------------------------------------------------------ */

typedef struct em {
	buf *out;
	int column, indent;
	bool whitespace, indention, open_ended;
	int err;
} em;

static void put(em *e, char c)
{
	if (buf_putc(e->out, c) != 0)
		e->err = -1;
	e->column++;
}

static void put_break(em *e)
{
	if (buf_putc(e->out, '\n') != 0)
		e->err = -1;
	e->column = 0;
}

/* Writes one UTF-8 character from s[*i], advancing *i; one column. */
static void write_ch(em *e, const char *s, size_t len, size_t *i)
{
	unsigned cp;
	int w = u8dec((const unsigned char *)s + *i, &cp);
	if ((size_t)w > len - *i)
		w = (int)(len - *i);
	if (buf_append(e->out, s + *i, (size_t)w) != 0)
		e->err = -1;
	*i += (size_t)w;
	e->column++;
}

static void write_indent(em *e)
{
	int ind = e->indent < 0 ? 0 : e->indent;
	if (!e->indention || e->column > ind || (e->column == ind && !e->whitespace))
		put_break(e);
	while (e->column < ind)
		put(e, ' ');
	e->whitespace = true;
	e->indention = true;
}

static void write_indicator(em *e, const char *ind, bool need_ws, bool is_ws, bool is_indention)
{
	if (need_ws && !e->whitespace)
		put(e, ' ');
	for (const char *p = ind; *p; p++)
		put(e, *p);
	e->whitespace = is_ws;
	e->indention = e->indention && is_indention;
	e->open_ended = false;
}

static bool is_break_at(const char *s, size_t len, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	if (c == '\r' || c == '\n')
		return true;
	if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85)
		return true;
	if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
	    ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
		return true;
	return false;
}

/* yaml.v2's is_printable: note that it rejects NEL (U+0085) and every 4-byte UTF-8 character, so
 * strings holding them are written double-quoted with escapes. */
static bool is_printable_cp(unsigned cp)
{
	return cp == 0x0A || (cp >= 0x20 && cp <= 0x7E) || (cp >= 0xA0 && cp <= 0xD7FF) ||
	       (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF);
}

typedef struct analysis {
	bool multiline, flow_plain, block_plain, single_ok, block_ok;
} analysis;

static void analyze(const char *v, size_t len, analysis *an)
{
	an->multiline = false;
	if (len == 0) {
		an->flow_plain = false;
		an->block_plain = true;
		an->single_ok = true;
		an->block_ok = false;
		return;
	}
	bool block_ind = false, flow_ind = false, line_breaks = false, special = false;
	bool leading_space = false, leading_break = false, trailing_space = false, trailing_break = false;
	bool break_space = false, space_break = false, prev_space = false, prev_break = false;
	if (len >= 3 && ((v[0] == '-' && v[1] == '-' && v[2] == '-') || (v[0] == '.' && v[1] == '.' && v[2] == '.'))) {
		block_ind = true;
		flow_ind = true;
	}
	bool preceded_ws = true;
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		int w = u8dec((const unsigned char *)v + i, &cp);
		bool followed_ws = i + (size_t)w >= len || v[i + w] == ' ' || v[i + w] == '\t' ||
				   is_break_at(v, len, i + (size_t)w);
		char c = v[i];
		if (i == 0) {
			switch (c) {
			case '#': case ',': case '[': case ']': case '{': case '}': case '&': case '*': case '!':
			case '|': case '>': case '\'': case '"': case '%': case '@': case '`':
				flow_ind = true;
				block_ind = true;
				break;
			case '?': case ':':
				flow_ind = true;
				if (followed_ws)
					block_ind = true;
				break;
			case '-':
				if (followed_ws) {
					flow_ind = true;
					block_ind = true;
				}
				break;
			default: break;
			}
		} else {
			switch (c) {
			case ',': case '?': case '[': case ']': case '{': case '}':
				flow_ind = true;
				break;
			case ':':
				flow_ind = true;
				if (followed_ws)
					block_ind = true;
				break;
			case '#':
				if (preceded_ws) {
					flow_ind = true;
					block_ind = true;
				}
				break;
			default: break;
			}
		}
		if (!is_printable_cp(cp) || (i == 0 && cp == 0xFEFF))
			special = true;
		if (is_break_at(v, len, i))
			line_breaks = true;
		if (c == ' ') {
			if (i == 0)
				leading_space = true;
			if (i + (size_t)w == len)
				trailing_space = true;
			if (prev_break)
				break_space = true;
			prev_space = true;
			prev_break = false;
		} else if (is_break_at(v, len, i)) {
			if (i == 0)
				leading_break = true;
			if (i + (size_t)w == len)
				trailing_break = true;
			if (prev_space)
				space_break = true;
			prev_space = false;
			prev_break = true;
		} else {
			prev_space = false;
			prev_break = false;
		}
		preceded_ws = c == ' ' || c == '\t' || is_break_at(v, len, i);
		i += (size_t)w;
	}
	an->multiline = line_breaks;
	an->flow_plain = true;
	an->block_plain = true;
	an->single_ok = true;
	an->block_ok = true;
	if (leading_space || leading_break || trailing_space || trailing_break) {
		an->flow_plain = false;
		an->block_plain = false;
	}
	if (trailing_space)
		an->block_ok = false;
	if (break_space) {
		an->flow_plain = false;
		an->block_plain = false;
		an->single_ok = false;
	}
	if (space_break || special) {
		an->flow_plain = false;
		an->block_plain = false;
		an->single_ok = false;
		an->block_ok = false;
	}
	if (line_breaks) {
		an->flow_plain = false;
		an->block_plain = false;
	}
	if (flow_ind)
		an->flow_plain = false;
	if (block_ind)
		an->block_plain = false;
}

/* ---- what a plain string would resolve to (yaml.v2 resolve()) -------------------------------- */

static bool all_digits(const char *s, size_t n, int base)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = base == 2 ? (c == '0' || c == '1') : base == 8 ? (c >= '0' && c <= '7') :
		          base == 16 ? isxdigit((unsigned char)c) != 0 : isdigit((unsigned char)c) != 0;
		if (!ok)
			return false;
	}
	return true;
}

/* Go strconv.ParseInt(s, 0, 64) / ParseUint syntax (range ignored: big ints are floats anyway). */
static bool go_int(const char *s, size_t n)
{
	if (n && (s[0] == '+' || s[0] == '-')) {
		s++;
		n--;
	}
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return all_digits(s + 2, n - 2, 16);
	if (n >= 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		return all_digits(s + 2, n - 2, 2);
	if (n >= 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		return all_digits(s + 2, n - 2, 8);
	if (n >= 1 && s[0] == '0')
		return all_digits(s, n, 8);
	return all_digits(s, n, 10);
}

/* Go strconv.ParseFloat syntax: decimal or hex floats, inf/infinity/nan (any case). */
static bool go_float(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	const char *r = s + i;
	size_t rn = n - i;
	if ((rn == 3 && strncasecmp(r, "inf", 3) == 0) || (rn == 8 && strncasecmp(r, "infinity", 8) == 0))
		return true;
	if (i == 0 && rn == 3 && strncasecmp(r, "nan", 3) == 0)
		return true;
	bool hex = rn >= 2 && r[0] == '0' && (r[1] == 'x' || r[1] == 'X');
	size_t j = hex ? 2 : 0, digits = 0;
	bool dot = false;
	for (; j < rn; j++) {
		char c = r[j];
		if (hex ? isxdigit((unsigned char)c) : isdigit((unsigned char)c))
			digits++;
		else if (c == '.' && !dot)
			dot = true;
		else
			break;
	}
	if (digits == 0)
		return false;
	if (j < rn && (hex ? (r[j] == 'p' || r[j] == 'P') : (r[j] == 'e' || r[j] == 'E'))) {
		j++;
		if (j < rn && (r[j] == '+' || r[j] == '-'))
			j++;
		size_t ed = 0;
		while (j < rn && isdigit((unsigned char)r[j])) {
			j++;
			ed++;
		}
		if (ed == 0)
			return false;
	} else if (hex) {
		return false;
	}
	return j == rn;
}

static bool is_timestamp(const char *s, size_t n)
{
	/* yaml.v2 accepts "2006-1-2" and RFC3339-ish forms starting with a date. */
	size_t i = 0, d = 0;
	while (i < n && isdigit((unsigned char)s[i])) {
		i++;
		d++;
	}
	if (d != 4 || i >= n || s[i] != '-')
		return false;
	i++;
	d = 0;
	while (i < n && isdigit((unsigned char)s[i])) {
		i++;
		d++;
	}
	if (d < 1 || d > 2 || i >= n || s[i] != '-')
		return false;
	i++;
	d = 0;
	while (i < n && isdigit((unsigned char)s[i])) {
		i++;
		d++;
	}
	if (d < 1 || d > 2)
		return false;
	return i == n || s[i] == 'T' || s[i] == 't' || s[i] == ' ' || s[i] == '\t';
}

static bool is_base60(const char *s, size_t n)
{
	/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !isdigit((unsigned char)s[i]))
		return false;
	while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'))
		i++;
	int groups = 0;
	while (i < n && s[i] == ':') {
		i++;
		size_t d = 0;
		while (i < n && isdigit((unsigned char)s[i]) && d < 2) {
			i++;
			d++;
		}
		if (d == 0 || (d == 2 && s[i - 2] > '5'))
			return false;
		groups++;
	}
	if (groups == 0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '_'))
			i++;
	}
	return i == n;
}

static bool resolves_non_string(const char *s, size_t n)
{
	static const char *const words[] = {
		"", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
		".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
		"-.INF",
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
			return true;
	if (n == 0)
		return true;
	char c = s[0];
	if (!(c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')))
		return false;
	/* Numbers: underscores are dropped first, as yaml.v2 does. */
	char tmp[128];
	size_t tn = 0;
	if (n >= sizeof tmp)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			tmp[tn++] = s[i];
	if (go_int(tmp, tn))
		return true;
	/* yaml.v2 only tries floats matching its YAML float regexp. */
	{
		size_t i = 0;
		if (i < tn && (tmp[i] == '+' || tmp[i] == '-'))
			i++;
		size_t d1 = 0;
		while (i < tn && isdigit((unsigned char)tmp[i])) {
			i++;
			d1++;
		}
		bool ok = true;
		if (i < tn && tmp[i] == '.') {
			i++;
			size_t d2 = 0;
			while (i < tn && isdigit((unsigned char)tmp[i])) {
				i++;
				d2++;
			}
			if (d1 == 0 && d2 == 0)
				ok = false;
		} else if (d1 == 0) {
			ok = false;
		}
		if (ok && i < tn && (tmp[i] == 'e' || tmp[i] == 'E')) {
			i++;
			if (i < tn && (tmp[i] == '+' || tmp[i] == '-'))
				i++;
			size_t d3 = 0;
			while (i < tn && isdigit((unsigned char)tmp[i])) {
				i++;
				d3++;
			}
			if (d3 == 0)
				ok = false;
		}
		if (ok && i == tn && go_float(tmp, tn))
			return true;
	}
	if (is_timestamp(s, n))
		return true;
	return false;
}

/* ---- scalar writers ------------------------------------------------------------------------- */

static void write_plain(em *e, const char *v, size_t len, bool allow_breaks)
{
	if (!e->whitespace)
		put(e, ' ');
	bool spaces = false, breaks = false;
	size_t i = 0;
	while (i < len) {
		if (v[i] == ' ') {
			if (allow_breaks && !spaces && e->column > BEST_WIDTH && !(i + 1 < len && v[i + 1] == ' ')) {
				write_indent(e);
				i++;
			} else {
				write_ch(e, v, len, &i);
			}
			spaces = true;
		} else if (is_break_at(v, len, i)) {
			if (!breaks && v[i] == '\n')
				put_break(e);
			if (v[i] == '\n') {
				put_break(e);
				i++;
			} else {
				write_ch(e, v, len, &i);
				e->column = 0;
			}
			e->indention = true;
			breaks = true;
		} else {
			if (breaks)
				write_indent(e);
			write_ch(e, v, len, &i);
			e->indention = false;
			spaces = false;
			breaks = false;
		}
	}
	e->whitespace = false;
	e->indention = false;
}

static void write_single(em *e, const char *v, size_t len, bool allow_breaks)
{
	write_indicator(e, "'", true, false, false);
	bool spaces = false, breaks = false;
	size_t i = 0;
	while (i < len) {
		if (v[i] == ' ') {
			if (allow_breaks && !spaces && e->column > BEST_WIDTH && i != 0 && i != len - 1 &&
			    !(i + 1 < len && v[i + 1] == ' ')) {
				write_indent(e);
				i++;
			} else {
				write_ch(e, v, len, &i);
			}
			spaces = true;
		} else if (is_break_at(v, len, i)) {
			if (!breaks && v[i] == '\n')
				put_break(e);
			if (v[i] == '\n') {
				put_break(e);
				i++;
			} else {
				write_ch(e, v, len, &i);
				e->column = 0;
			}
			e->indention = true;
			breaks = true;
		} else {
			if (breaks)
				write_indent(e);
			if (v[i] == '\'')
				put(e, '\'');
			write_ch(e, v, len, &i);
			e->indention = false;
			spaces = false;
			breaks = false;
		}
	}
	write_indicator(e, "'", false, false, false);
	e->whitespace = false;
	e->indention = false;
}

static void write_double(em *e, const char *v, size_t len, bool allow_breaks)
{
	static const char hex[] = "0123456789ABCDEF";
	write_indicator(e, "\"", true, false, false);
	bool spaces = false;
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		int w = u8dec((const unsigned char *)v + i, &cp);
		if (!is_printable_cp(cp) || cp == 0xFEFF || is_break_at(v, len, i) || v[i] == '"' || v[i] == '\\') {
			put(e, '\\');
			char esc = 0;
			switch (cp) {
			case 0x00: esc = '0'; break;
			case 0x07: esc = 'a'; break;
			case 0x08: esc = 'b'; break;
			case 0x09: esc = 't'; break;
			case 0x0A: esc = 'n'; break;
			case 0x0B: esc = 'v'; break;
			case 0x0C: esc = 'f'; break;
			case 0x0D: esc = 'r'; break;
			case 0x1B: esc = 'e'; break;
			case 0x22: esc = '"'; break;
			case 0x5C: esc = '\\'; break;
			case 0x85: esc = 'N'; break;
			case 0xA0: esc = '_'; break;
			case 0x2028: esc = 'L'; break;
			case 0x2029: esc = 'P'; break;
			default: break;
			}
			if (esc) {
				put(e, esc);
			} else {
				int digits;
				if (cp <= 0xFF) {
					put(e, 'x');
					digits = 2;
				} else if (cp <= 0xFFFF) {
					put(e, 'u');
					digits = 4;
				} else {
					put(e, 'U');
					digits = 8;
				}
				for (int k = (digits - 1) * 4; k >= 0; k -= 4)
					put(e, hex[(cp >> k) & 0xF]);
			}
			i += (size_t)w;
			spaces = false;
		} else if (v[i] == ' ') {
			if (allow_breaks && !spaces && e->column > BEST_WIDTH && i != 0 && i != len - 1) {
				write_indent(e);
				if (i + 1 < len && v[i + 1] == ' ')
					put(e, '\\');
				i++;
			} else {
				write_ch(e, v, len, &i);
			}
			spaces = true;
		} else {
			write_ch(e, v, len, &i);
			spaces = false;
		}
	}
	write_indicator(e, "\"", false, false, false);
	e->whitespace = false;
	e->indention = false;
}

static void write_literal(em *e, const char *v, size_t len)
{
	write_indicator(e, "|", true, false, false);
	if (len && (v[0] == ' ' || is_break_at(v, len, 0))) {
		char hint[2] = {(char)('0' + BEST_INDENT), 0};
		write_indicator(e, hint, false, false, false);
	}
	e->open_ended = false;
	const char *chomp = NULL;
	if (len == 0) {
		chomp = "-";
	} else {
		size_t i = len - 1;
		while (i > 0 && ((unsigned char)v[i] & 0xC0) == 0x80)
			i--;
		if (!is_break_at(v, len, i)) {
			chomp = "-";
		} else if (i == 0) {
			chomp = "+";
		} else {
			i--;
			while (i > 0 && ((unsigned char)v[i] & 0xC0) == 0x80)
				i--;
			if (is_break_at(v, len, i))
				chomp = "+";
		}
	}
	if (chomp)
		write_indicator(e, chomp, false, false, false);
	if (chomp && chomp[0] == '+')
		e->open_ended = true;
	put_break(e);
	e->indention = true;
	e->whitespace = true;
	bool breaks = true;
	size_t i = 0;
	while (i < len) {
		if (is_break_at(v, len, i)) {
			if (v[i] == '\n') {
				put_break(e);
				i++;
			} else {
				write_ch(e, v, len, &i);
				e->column = 0;
			}
			e->indention = true;
			breaks = true;
		} else {
			if (breaks)
				write_indent(e);
			write_ch(e, v, len, &i);
			e->indention = false;
			breaks = false;
		}
	}
	if (chomp && chomp[0] == '+')
		e->open_ended = true;
}

/* Emits a string scalar. simple_key: it is a mapping key. */
static void emit_str(em *e, const char *v, bool simple_key)
{
	size_t len = strlen(v);
	analysis an;
	analyze(v, len, &an);
	/* yaml.v2 encoder: literal for multi-line strings, double-quoted when plain would resolve to
	 * another type, plain otherwise; the emitter then downgrades what is not allowed. */
	enum { PLAIN, SINGLE, DOUBLE, LITERAL } style;
	if (memchr(v, '\n', len))
		style = LITERAL;
	else if (resolves_non_string(v, len) || is_base60(v, len))
		style = DOUBLE;
	else
		style = PLAIN;
	if (style == PLAIN) {
		if (!an.block_plain)
			style = SINGLE;
		if (len == 0 && simple_key)
			style = SINGLE;
		if (simple_key && an.multiline)
			style = DOUBLE;
	}
	if (style == SINGLE && !an.single_ok)
		style = DOUBLE;
	if (style == LITERAL && (!an.block_ok || simple_key))
		style = DOUBLE;

	int saved = e->indent;
	e->indent = e->indent + BEST_INDENT; /* increase_indent(flow) around a scalar */
	switch (style) {
	case PLAIN: write_plain(e, v, len, !simple_key); break;
	case SINGLE: write_single(e, v, len, !simple_key); break;
	case DOUBLE: write_double(e, v, len, !simple_key); break;
	case LITERAL: write_literal(e, v, len); break;
	}
	e->indent = saved;
}

/* ---- block structure ------------------------------------------------------------------------ */

typedef struct korder {
	const char *key;
	size_t idx;
} korder;

static int korder_cmp(const void *pa, const void *pb)
{
	const korder *a = pa, *b = pb;
	if (slo__e_key_less(a->key, b->key))
		return -1;
	if (slo__e_key_less(b->key, a->key))
		return 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void emit_node(em *e, const slo__enode *n, int indent, bool in_seq_item, bool mapping_value);

static void emit_map(em *e, const slo__enode *n, int indent)
{
	korder *ord = malloc((n->n ? n->n : 1) * sizeof *ord);
	if (!ord) {
		e->err = -1;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		ord[i].key = n->items[2 * i]->str;
		ord[i].idx = i;
	}
	if (n->sorted)
		qsort(ord, n->n, sizeof *ord, korder_cmp);
	for (size_t k = 0; k < n->n && !e->err; k++) {
		size_t i = ord[k].idx;
		const char *key = n->items[2 * i]->str;
		size_t kl = strlen(key);
		analysis ka;
		analyze(key, kl, &ka);
		e->indent = indent;
		write_indent(e);
		if (!ka.multiline && kl <= 128) {
			emit_str(e, key, true);
			write_indicator(e, ":", false, false, false);
		} else {
			/* Not a simple key: "? key" on its own, then ": value". */
			write_indicator(e, "?", true, false, true);
			emit_str(e, key, false);
			e->indent = indent;
			write_indent(e);
			write_indicator(e, ":", true, false, true);
		}
		emit_node(e, n->items[2 * i + 1], indent, false, true);
	}
	free(ord);
}

static void emit_seq(em *e, const slo__enode *n, int indent)
{
	for (size_t i = 0; i < n->n && !e->err; i++) {
		e->indent = indent;
		write_indent(e);
		write_indicator(e, "-", true, false, true);
		emit_node(e, n->items[i], indent, true, false);
	}
}

/* indent: the indent of the enclosing block (mapping keys or sequence dashes). */
static void emit_node(em *e, const slo__enode *n, int indent, bool in_seq_item, bool mapping_value)
{
	switch (n->type) {
	case SLO__E_STR:
		e->indent = indent;
		emit_str(e, n->str, false);
		break;
	case SLO__E_MAP:
		if (n->n == 0) {
			write_indicator(e, "{}", true, false, false);
			break;
		}
		emit_map(e, n, (in_seq_item || mapping_value) ? indent + BEST_INDENT : indent);
		break;
	case SLO__E_SEQ:
		if (n->n == 0) {
			write_indicator(e, "[]", true, false, false);
			break;
		}
		/* Sequences as mapping values are "indentless"; nested in sequences they indent. */
		emit_seq(e, n, mapping_value ? indent : in_seq_item ? indent + BEST_INDENT : indent);
		break;
	}
}

int slo__e_emit(const slo__enode *root, buf *out)
{
	em e = {.out = out, .column = 0, .indent = -1, .whitespace = true, .indention = true};
	if (root->type == SLO__E_MAP && root->n > 0)
		emit_map(&e, root, 0);
	else if (root->type == SLO__E_SEQ && root->n > 0)
		emit_seq(&e, root, 0);
	else
		emit_node(&e, root, -1, false, false);
	if (e.column != 0 || out->len == 0)
		put_break(&e);
	return e.err;
}
