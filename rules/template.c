/*
 * template.c — the subset of Go's text/template that Prometheus alert annotations use.
 *
 * Grammar inside {{ ... }} (with optional "-" trim markers):
 *   pipeline := command ("|" command)*
 *   command  := operand | FUNC operand* 
 *   operand  := $labels.NAME | .Labels.NAME | $value | .Value | $externalLabels.NAME |
 *               .ExternalLabels.NAME | "string" | `raw` | number
 * The value of each command is piped as the last argument of the next. Values are strings or
 * floats. Functions: humanize, humanize1024, humanizePercentage, humanizeDuration, printf, toUpper,
 * toLower, title (first letter of each word).
 * Templates are re-parsed on each expansion: annotations are short and expanded once per alert per
 * evaluation, so a compiled form would not pay for itself.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "util/buf.h"
#include "util/fmt.h"

typedef struct tval {
	bool is_num;
	double num;
	char str[512];
} tval;

typedef struct tctx {
	const slod_labels *labels;
	double value;
	const slod_labels *ext;
	const char *p, *end;
	char err[160];
} tctx;

static void skip_ws(tctx *c)
{
	while (c->p < c->end && isspace((unsigned char)*c->p))
		c->p++;
}

static void val_str(tval *v, const char *s, size_t n)
{
	v->is_num = false;
	if (n >= sizeof v->str)
		n = sizeof v->str - 1;
	memcpy(v->str, s, n);
	v->str[n] = '\0';
}

static void val_print(const tval *v, char *out, size_t cap)
{
	if (v->is_num) {
		char f[FMT_FLOAT_MAX];
		fmt_float_go(f, v->num, 'g');
		snprintf(out, cap, "%s", f);
	} else {
		snprintf(out, cap, "%s", v->str);
	}
}

static double val_num(const tval *v)
{
	return v->is_num ? v->num : strtod(v->str, NULL);
}

static bool ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

static int parse_ident(tctx *c, char *out, size_t cap)
{
	size_t k = 0;
	while (c->p < c->end && ident_char(*c->p) && k + 1 < cap)
		out[k++] = *c->p++;
	out[k] = '\0';
	return k ? 0 : -1;
}

static int lookup_label(tctx *c, const slod_labels *ls, tval *v)
{
	char name[256];
	if (c->p >= c->end || *c->p != '.' || (c->p++, parse_ident(c, name, sizeof name)) != 0) {
		snprintf(c->err, sizeof c->err, "expected .NAME after labels");
		return -1;
	}
	const char *x = ls ? labels_get(ls, name) : NULL;
	val_str(v, x ? x : "", x ? strlen(x) : 0);
	return 0;
}

static int parse_operand(tctx *c, tval *v)
{
	skip_ws(c);
	if (c->p >= c->end) {
		snprintf(c->err, sizeof c->err, "missing value");
		return -1;
	}
	const char *s = c->p;
	if (*s == '"' || *s == '`') {
		char q = *s;
		char tmp[512];
		size_t k = 0;
		c->p++;
		while (c->p < c->end && *c->p != q) {
			char ch = *c->p++;
			if (q == '"' && ch == '\\' && c->p < c->end) {
				ch = *c->p++;
				ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
			}
			if (k + 1 < sizeof tmp)
				tmp[k++] = ch;
		}
		if (c->p >= c->end) {
			snprintf(c->err, sizeof c->err, "unterminated quoted string");
			return -1;
		}
		c->p++;
		val_str(v, tmp, k);
		return 0;
	}
	if (isdigit((unsigned char)*s) || (*s == '-' && s + 1 < c->end && isdigit((unsigned char)s[1]))) {
		char *e;
		v->is_num = true;
		v->num = strtod(s, &e);
		c->p = e;
		return 0;
	}
	static const struct {
		const char *prefix;
		int what; /* 0 labels, 1 value, 2 external labels */
	} vars[] = {{"$labels", 0}, {".Labels", 0}, {"$value", 1}, {".Value", 1}, {"$externalLabels", 2},
		    {".ExternalLabels", 2}};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		size_t n = strlen(vars[i].prefix);
		if ((size_t)(c->end - s) >= n && memcmp(s, vars[i].prefix, n) == 0 &&
		    (s + n == c->end || !ident_char(s[n]))) {
			c->p = s + n;
			if (vars[i].what == 1) {
				v->is_num = true;
				v->num = c->value;
				return 0;
			}
			return lookup_label(c, vars[i].what == 0 ? c->labels : c->ext, v);
		}
	}
	snprintf(c->err, sizeof c->err, "unsupported operand near \"%.20s\"", s);
	return -1;
}

static void humanize_base(double v, double base, const char *const *up, const char *const *down, char *out,
			  size_t cap)
{
	if (v == 0 || isnan(v) || isinf(v)) {
		snprintf(out, cap, "%.4g", v);
		return;
	}
	int i = 0;
	if (fabs(v) >= 1) {
		while (fabs(v) >= base && up[i + 1]) {
			v /= base;
			i++;
		}
		snprintf(out, cap, "%.4g%s", v, up[i]);
	} else if (down) {
		while (fabs(v) < 1 && down[i + 1]) {
			v *= base;
			i++;
		}
		snprintf(out, cap, "%.4g%s", v, down[i]);
	} else {
		snprintf(out, cap, "%.4g", v);
	}
}

static void humanize_duration(double v, char *out, size_t cap)
{
	if (isnan(v) || isinf(v)) {
		snprintf(out, cap, "%.4g", v);
		return;
	}
	if (v != 0 && fabs(v) < 1) {
		if (fabs(v) >= 1e-3)
			snprintf(out, cap, "%.4gms", v * 1e3);
		else if (fabs(v) >= 1e-6)
			snprintf(out, cap, "%.4gus", v * 1e6);
		else
			snprintf(out, cap, "%.4gns", v * 1e9);
		return;
	}
	const char *sign = v < 0 ? "-" : "";
	double a = fabs(v);
	long long secs = (long long)a, d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, s = secs % 60;
	size_t k = (size_t)snprintf(out, cap, "%s", sign);
	if (d)
		k += (size_t)snprintf(out + k, cap - k, "%lldd ", d);
	if (h || d)
		k += (size_t)snprintf(out + k, cap - k, "%lldh ", h);
	if (m || h || d)
		k += (size_t)snprintf(out + k, cap - k, "%lldm ", m);
	snprintf(out + k, cap - k, "%llds", s);
}

/* Go printf with one or more args: map %v to our value printing, the rest to C printf per verb. */
static int go_printf(tctx *c, const char *fmt, tval *args, size_t nargs, tval *out)
{
	char res[512];
	size_t k = 0, ai = 0;
	for (const char *f = fmt; *f && k + 1 < sizeof res; f++) {
		if (*f != '%') {
			res[k++] = *f;
			continue;
		}
		if (f[1] == '%') {
			res[k++] = '%';
			f++;
			continue;
		}
		char spec[32];
		size_t sk = 0;
		spec[sk++] = *f++;
		while (*f && strchr("0123456789.+- #", *f) && sk < sizeof spec - 3)
			spec[sk++] = *f++;
		if (!*f)
			break;
		char verb = *f;
		if (ai >= nargs) {
			k += (size_t)snprintf(res + k, sizeof res - k, "%%!%c(MISSING)", verb);
			continue;
		}
		tval *a = &args[ai++];
		char piece[600];
		if (verb == 'v' || verb == 's' || verb == 'q') {
			char tmp[512];
			val_print(a, tmp, sizeof tmp);
			if (verb == 'q')
				snprintf(piece, sizeof piece, "\"%s\"", tmp);
			else
				snprintf(piece, sizeof piece, "%s", tmp);
		} else if (verb == 'd') {
			spec[sk++] = 'l';
			spec[sk++] = 'l';
			spec[sk++] = 'd';
			spec[sk] = '\0';
			snprintf(piece, sizeof piece, spec, (long long)val_num(a));
		} else if (strchr("feEgG", verb)) {
			spec[sk++] = verb;
			spec[sk] = '\0';
			snprintf(piece, sizeof piece, spec, val_num(a));
		} else {
			snprintf(c->err, sizeof c->err, "unsupported printf verb %%%c", verb);
			return -1;
		}
		k += (size_t)snprintf(res + k, sizeof res - k, "%s", piece);
	}
	res[k < sizeof res ? k : sizeof res - 1] = '\0';
	val_str(out, res, strlen(res));
	return 0;
}

static int apply_func(tctx *c, const char *fn, tval *args, size_t nargs, tval *out)
{
	static const char *const si_up[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y", NULL};
	static const char *const si_down[] = {"", "m", "u", "n", "p", "f", "a", "z", "y", NULL};
	static const char *const bin_up[] = {"", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi", NULL};
	char tmp[512];
	if (strcmp(fn, "printf") == 0) {
		if (nargs < 1 || args[0].is_num) {
			snprintf(c->err, sizeof c->err, "printf needs a format string");
			return -1;
		}
		return go_printf(c, args[0].str, args + 1, nargs - 1, out);
	}
	if (nargs != 1) {
		snprintf(c->err, sizeof c->err, "wrong number of args for %s: want 1 got %zu", fn, nargs);
		return -1;
	}
	double v = val_num(&args[0]);
	if (strcmp(fn, "humanize") == 0)
		humanize_base(v, 1000, si_up, si_down, tmp, sizeof tmp);
	else if (strcmp(fn, "humanize1024") == 0)
		humanize_base(v, 1024, bin_up, NULL, tmp, sizeof tmp);
	else if (strcmp(fn, "humanizePercentage") == 0)
		snprintf(tmp, sizeof tmp, "%.4g%%", v * 100);
	else if (strcmp(fn, "humanizeDuration") == 0)
		humanize_duration(v, tmp, sizeof tmp);
	else if (strcmp(fn, "toUpper") == 0 || strcmp(fn, "toLower") == 0 || strcmp(fn, "title") == 0) {
		val_print(&args[0], tmp, sizeof tmp);
		bool start = true;
		for (char *p = tmp; *p; p++) {
			if (fn[2] == 'U')
				*p = (char)toupper((unsigned char)*p);
			else if (fn[2] == 'L')
				*p = (char)tolower((unsigned char)*p);
			else if (start)
				*p = (char)toupper((unsigned char)*p);
			start = isspace((unsigned char)*p);
		}
	} else {
		snprintf(c->err, sizeof c->err, "function \"%s\" not defined", fn);
		return -1;
	}
	val_str(out, tmp, strlen(tmp));
	return 0;
}

static int eval_command(tctx *c, const tval *piped, tval *out)
{
	skip_ws(c);
	if (c->p < c->end && isalpha((unsigned char)*c->p)) {
		char fn[64];
		parse_ident(c, fn, sizeof fn);
		tval args[8];
		size_t n = 0;
		for (;;) {
			skip_ws(c);
			if (c->p >= c->end || *c->p == '|' || *c->p == ')')
				break;
			if (n >= 7 || parse_operand(c, &args[n]) != 0) {
				if (!c->err[0])
					snprintf(c->err, sizeof c->err, "too many arguments");
				return -1;
			}
			n++;
		}
		if (piped)
			args[n++] = *piped;
		return apply_func(c, fn, args, n, out);
	}
	if (piped) {
		snprintf(c->err, sizeof c->err, "cannot pipe into a value");
		return -1;
	}
	return parse_operand(c, out);
}

static int eval_action(tctx *c, buf *out)
{
	tval cur, next;
	bool have = false;
	for (;;) {
		if (eval_command(c, have ? &cur : NULL, &next) != 0)
			return -1;
		cur = next;
		have = true;
		skip_ws(c);
		if (c->p < c->end && *c->p == '|') {
			c->p++;
			continue;
		}
		break;
	}
	if (c->p != c->end) {
		snprintf(c->err, sizeof c->err, "unexpected \"%.20s\" in command", c->p);
		return -1;
	}
	char s[512];
	val_print(&cur, s, sizeof s);
	return buf_puts(out, s);
}

int rules_template_expand(const char *tmpl, const slod_labels *labels, double value,
			  const slod_labels *external_labels, buf *out)
{
	const char *p = tmpl;
	size_t start = out->len;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			buf_puts(out, p);
			break;
		}
		const char *text_end = open;
		const char *act = open + 2;
		if (*act == '-' && (act[1] == ' ' || act[1] == '\t' || act[1] == '\n')) {
			act++;
			while (text_end > p && isspace((unsigned char)text_end[-1]))
				text_end--;
		}
		buf_append(out, p, (size_t)(text_end - p));
		const char *close = strstr(act, "}}");
		if (!close) {
			out->len = start;
			buf_puts(out, "<error expanding template: unclosed action>");
			return -1;
		}
		const char *act_end = close;
		const char *after = close + 2;
		if (act_end > act && act_end[-1] == '-' && act_end - 1 > act && isspace((unsigned char)act_end[-2])) {
			act_end--;
			while (*after && isspace((unsigned char)*after))
				after++;
		}
		tctx c = {.labels = labels, .value = value, .ext = external_labels, .p = act, .end = act_end};
		while (c.end > c.p && isspace((unsigned char)c.end[-1]))
			c.end--;
		skip_ws(&c);
		if (c.p < c.end && strncmp(c.p, "/*", 2) == 0) {
			/* comment action */
		} else if (eval_action(&c, out) != 0) {
			out->len = start;
			if (out->data)
				out->data[start] = '\0';
			buf_printf(out, "<error expanding template: %s>", c.err);
			return -1;
		}
		p = after;
	}
	return 0;
}
