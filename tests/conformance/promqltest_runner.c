/*
 * promqltest_runner.c — runs Prometheus's PromQL test files (promql/promqltest/testdata)
 * against slod's engine and an in-memory tsdb.
 *
 * File format (as Prometheus's promqltest reads it): lines are trimmed, `#` lines are blank;
 * commands are `clear`, `load[_with_nhcb] <interval>` followed by series lines until a blank line
 * (a later definition of the same series replaces an earlier one; `@st` start-timestamp lines are
 * skipped), and `eval[_fail|_warn|_info|_ordered] instant at <t> <expr>` / `eval[...] range from
 * <t> to <t> step <d> <expr>` followed by `expect ...` lines and expected results until a blank
 * line. Series values use the expanding notation (`a+bxN`, `a-bxN`, `axN`, `_`, `_xN`, `stale`,
 * Inf, NaN).
 *
 * Applicability: slod stores floats only, so an eval expecting a native histogram (`{{...}}`) is
 * not applicable, and an eval over series the file loads as native histograms (a mentioned
 * metric name, or a selector without a literal name while such data is loaded) counts as passed
 * when it passes and as not applicable when it fails. Core files are judged; the experimental
 * files in experimental_run[] are run with their features enabled (failures not applicable);
 * other files are not applicable. Queries using a function the parser does not enable are not
 * applicable.
 *
 * Like Prometheus's runner, an instant eval that is not expected to fail is re-run as a range
 * query from t-1m to t+1m step 1m (middle step compared), and every instant eval is re-run with
 * `@ t` added to all selectors (printed back with promql_format) at -10t, 0, t/5, t, 10t unless
 * it uses a time-dependent function (--no-at disables this).
 *
 * Output: one line per file `file: P passed, F failed, N not applicable`, failures with reasons
 * when --verbose, and a closing line `N passed, M failed`. --min-pass N makes the exit status
 * non-zero when fewer than N evals pass (the floor CI enforces); --report FILE writes the
 * markdown report (docs/conformance.md); --max-samples N sets the engine's sample limit.
 *
 * Usage: promqltest_runner [--min-pass N] [--verbose] [--report FILE] [--only NAME] [--no-at]
 *                          [--max-samples N] DIR
 */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <regex.h>

#include "promql/engine.h"
#include "promql/promql.h"
#include "tsdb/tsdb.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/fmt.h"
#include "util/labels.h"

static const char *const core_files[] = {
	"aggregators.test", "at_modifier.test", "collision.test", "functions.test",
	"histograms.test", "limit.test", "literals.test", "name_label_dropping.test",
	"operators.test", "range_queries.test", "selectors.test", "staleness.test",
	"subquery.test", "trig_functions.test",
};

/* ---- small string helpers ---- */

static char *trim(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* ---- parsed series description ---- */

typedef struct seq_value {
	double v;
	bool omitted;
	bool histogram;
} seq_value;

typedef struct series_desc {
	slod_labels ls;
	seq_value *vals;
	size_t n;
	bool has_histogram;
} series_desc;

/* Parses a quoted string ("..", '..' or `..`) at *p into the arena, Go escapes. */
static char *parse_quoted(arena *a, const char **p)
{
	const char *s = *p;
	char q = *s;
	if (q != '"' && q != '\'' && q != '`')
		return NULL;
	s++;
	buf b;
	buf_init(&b, 0);
	while (*s && *s != q) {
		if (*s == '\\' && q != '`') {
			s++;
			switch (*s) {
			case 'n': buf_putc(&b, '\n'); break;
			case 't': buf_putc(&b, '\t'); break;
			case 'r': buf_putc(&b, '\r'); break;
			case '\\': buf_putc(&b, '\\'); break;
			case '"': buf_putc(&b, '"'); break;
			case '\'': buf_putc(&b, '\''); break;
			case 'x': {
				unsigned v = 0;
				sscanf(s + 1, "%2x", &v);
				buf_putc(&b, (char)v);
				s += 2;
				break;
			}
			case 'u': case 'U': {
				int nd = *s == 'u' ? 4 : 8;
				unsigned long cp = 0;
				for (int i = 0; i < nd && isxdigit((unsigned char)s[1]); i++, s++)
					cp = cp * 16 + (unsigned long)(isdigit((unsigned char)s[1]) ? s[1] - '0' : (tolower((unsigned char)s[1]) - 'a' + 10));
				char u[4];
				int un;
				if (cp < 0x80) { u[0] = (char)cp; un = 1; }
				else if (cp < 0x800) { u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); un = 2; }
				else if (cp < 0x10000) { u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); un = 3; }
				else { u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); un = 4; }
				buf_append(&b, u, (size_t)un);
				break;
			}
			default: buf_putc(&b, *s); break;
			}
			if (*s)
				s++;
			continue;
		}
		buf_putc(&b, *s++);
	}
	if (*s != q) {
		buf_deinit(&b);
		return NULL;
	}
	*p = s + 1;
	char *out = arena_strndup(a, b.data ? b.data : "", b.len);
	buf_deinit(&b);
	return out;
}

static bool is_name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' || (!first && isdigit((unsigned char)c));
}

static const char *skip_ws(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Parses `name{l="v",...}` at *p. Returns 0 or -1. */
static int parse_metric(arena *a, const char **p, slod_labels *out)
{
	const char *s = skip_ws(*p);
	slod_label tmp[64];
	size_t n = 0;
	if (is_name_char(*s, true)) {
		const char *b = s;
		while (is_name_char(*s, false))
			s++;
		tmp[n].name = SLOD_METRIC_NAME;
		tmp[n++].value = arena_strndup(a, b, (size_t)(s - b));
	}
	if (*s == '{') {
		s++;
		for (;;) {
			s = skip_ws(s);
			if (*s == '}') {
				s++;
				break;
			}
			const char *name;
			if (*s == '"' || *s == '\'' || *s == '`') {
				name = parse_quoted(a, &s);
				if (!name)
					return -1;
				s = skip_ws(s);
				if (*s != '=') { /* a bare quoted metric name */
					if (n >= 64)
						return -1;
					tmp[n].name = SLOD_METRIC_NAME;
					tmp[n++].value = name;
					goto next;
				}
			} else {
				const char *b = s;
				while (is_name_char(*s, s == b) && *s != ':')
					s++;
				if (s == b)
					return -1;
				name = arena_strndup(a, b, (size_t)(s - b));
				s = skip_ws(s);
			}
			if (*s != '=')
				return -1;
			s = skip_ws(s + 1);
			const char *val = parse_quoted(a, &s);
			if (!val || n >= 64)
				return -1;
			tmp[n].name = name;
			tmp[n++].value = val;
		next:
			s = skip_ws(s);
			if (*s == ',') {
				s++;
				continue;
			}
			if (*s == '}') {
				s++;
				break;
			}
			return -1;
		}
	}
	/* canonical: drop empty values, sort, last duplicate wins */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (tmp[i].value[0])
			tmp[m++] = tmp[i];
	out->v = arena_alloc(a, (m ? m : 1) * sizeof(slod_label));
	memcpy(out->v, tmp, m * sizeof(slod_label));
	out->n = m;
	labels_sort(out);
	*p = s;
	return 0;
}

static bool parse_count(const char *s, uint64_t *n)
{
	if (!isdigit((unsigned char)*s))
		return false;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end)
		return false;
	*n = v;
	return true;
}

/* Parses a number token of the series notation at the start of s; *end after it. */
static bool parse_num(const char *s, const char **end, double *v)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	if (strncasecmp(p, "inf", 3) == 0) {
		*v = neg ? -INFINITY : INFINITY;
		*end = p + 3;
		return true;
	}
	if (strncasecmp(p, "nan", 3) == 0) {
		*v = NAN;
		*end = p + 3;
		return true;
	}
	if (!isdigit((unsigned char)*p) && *p != '.')
		return false;
	char *e;
	{
		/* plain decimal: stop before 'x' repeat marker */
		const char *q = p;
		while (isdigit((unsigned char)*q) || *q == '.')
			q++;
		if ((*q == 'e' || *q == 'E') && (isdigit((unsigned char)q[1]) || ((q[1] == '+' || q[1] == '-') && isdigit((unsigned char)q[2])))) {
			q += 2;
			while (isdigit((unsigned char)*q))
				q++;
		}
		char tmp[64];
		size_t len = (size_t)(q - p);
		if (len == 0 || len >= sizeof tmp)
			return false;
		memcpy(tmp, p, len);
		tmp[len] = 0;
		*v = strtod(tmp, NULL);
		e = (char *)q;
	}
	if (neg)
		*v = -*v;
	*end = e;
	return true;
}

static double stale_nan(void)
{
	uint64_t bits = TSDB_STALE_NAN_BITS;
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static bool is_stale(double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	return bits == TSDB_STALE_NAN_BITS;
}

typedef struct vals_builder {
	seq_value *v;
	size_t n, cap;
} vals_builder;

static int vb_push(vals_builder *b, double v, bool omitted, bool hist)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 16;
		seq_value *nv = realloc(b->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		b->v = nv;
		b->cap = nc;
	}
	b->v[b->n++] = (seq_value){v, omitted, hist};
	return 0;
}

/* Parses a series line `metric{...} values...`. Values are malloc'd (caller frees d->vals). */
static int parse_series(arena *a, const char *line, series_desc *d)
{
	memset(d, 0, sizeof *d);
	const char *s = line;
	if (parse_metric(a, &s, &d->ls) < 0)
		return -1;
	vals_builder b = {0};
	for (;;) {
		s = skip_ws(s);
		if (!*s)
			break;
		if (s[0] == '{' && s[1] == '{') {
			const char *e = strstr(s, "}}");
			if (!e)
				goto fail;
			s = e + 2;
			uint64_t cnt = 0;
			if (*s == 'x') {
				s++;
				while (isdigit((unsigned char)*s))
					cnt = cnt * 10 + (uint64_t)(*s++ - '0');
			} else if (*s == '+' || *s == '-') {
				/* {{...}}+{{...}}xN */
				const char *e2 = strstr(s, "}}");
				if (!e2)
					goto fail;
				s = e2 + 2;
				if (*s == 'x') {
					s++;
					while (isdigit((unsigned char)*s))
						cnt = cnt * 10 + (uint64_t)(*s++ - '0');
				}
			}
			for (uint64_t i = 0; i <= cnt; i++)
				vb_push(&b, 0, false, true);
			d->has_histogram = true;
			continue;
		}
		const char *te = s;
		while (*te && !isspace((unsigned char)*te))
			te++;
		char tok[128];
		size_t tl = (size_t)(te - s);
		if (tl >= sizeof tok)
			goto fail;
		memcpy(tok, s, tl);
		tok[tl] = 0;
		s = te;
		uint64_t cnt;
		if (strcmp(tok, "_") == 0) {
			vb_push(&b, 0, true, false);
		} else if (tok[0] == '_' && tok[1] == 'x' && parse_count(tok + 2, &cnt)) {
			for (uint64_t i = 0; i < cnt; i++)
				vb_push(&b, 0, true, false);
		} else if (strcmp(tok, "stale") == 0) {
			vb_push(&b, stale_nan(), false, false);
		} else {
			double base, inc = 0;
			const char *r;
			if (!parse_num(tok, &r, &base))
				goto fail;
			if (!*r) {
				vb_push(&b, base, false, false);
			} else if (*r == 'x' && parse_count(r + 1, &cnt)) {
				for (uint64_t i = 0; i <= cnt; i++)
					vb_push(&b, base, false, false);
			} else if (*r == '+' || *r == '-') {
				bool neg = *r == '-';
				const char *r2;
				if (!parse_num(r + 1, &r2, &inc) || *r2 != 'x' || !parse_count(r2 + 1, &cnt))
					goto fail;
				if (neg)
					inc = -inc;
				double k = base;
				for (uint64_t i = 0; i <= cnt; i++) {
					vb_push(&b, k, false, false);
					k += inc;
				}
			} else {
				goto fail;
			}
		}
	}
	d->vals = b.v;
	d->n = b.n;
	return 0;
fail:
	free(b.v);
	return -1;
}

/* ---- float comparison as Prometheus's util/almost ---- */

static bool almost_equal(double a, double b, double eps)
{
	if (isnan(a) && isnan(b))
		return is_stale(a) == is_stale(b);
	if (a == b)
		return true;
	const double min_normal = 2.2250738585072014e-308;
	double abs_sum = fabs(a) + fabs(b);
	double diff = fabs(a - b);
	if (a == 0 || b == 0 || abs_sum < min_normal)
		return diff < eps * min_normal;
	return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

/* ---- eval command ---- */

typedef struct expect_anno {
	char *msg;       /* exact message, or NULL */
	regex_t re;      /* when has_re */
	bool has_re;
} expect_anno;

typedef struct eval_cmd {
	int line;
	char *expr;
	bool is_range;
	int64_t start, end, step;
	bool fail, warn, info, ordered;
	char *fail_msg;       /* expect fail msg / expected_fail_message */
	bool fail_re_set;
	regex_t fail_re;
	expect_anno warns[8], infos[8];
	size_t n_warns, n_infos;
	bool no_warn, no_info;
	bool expect_scalar;
	double scalar;
	bool expect_string;
	char *string;
	series_desc *exp;
	size_t n_exp, cap_exp;
	bool exclude_range;
	int64_t eval_t;      /* instant query time (the end of `expect range vector`) */
	bool na;             /* not applicable (native histograms expected) */
	bool hist_data;      /* touches native histogram data: a failure counts as not applicable */
	const char *na_reason;
} eval_cmd;

typedef struct runner {
	promql_engine *eng;
	tsdb *db;
	arena a;          /* per file */
	bool verbose;
	bool at_variants; /* also run every instant eval with `@ t` (Prometheus's runner does) */
	bool experimental; /* current file is an experimental one that is run anyway */
	buf report;
	buf na_report; /* failures of evals that touch native histogram data */
	buf files;     /* per-file summary table rows */
	const char *file;
	/* metric names loaded with native histograms since the last clear */
	char **hist_names;
	size_t n_hist, cap_hist;
	long passed, failed, na;
	long f_passed, f_failed, f_na;
} runner;

static void add_hist_name(runner *r, const char *name)
{
	for (size_t i = 0; i < r->n_hist; i++)
		if (strcmp(r->hist_names[i], name) == 0)
			return;
	if (r->n_hist == r->cap_hist) {
		r->cap_hist = r->cap_hist ? r->cap_hist * 2 : 8;
		r->hist_names = realloc(r->hist_names, r->cap_hist * sizeof(char *));
	}
	r->hist_names[r->n_hist++] = strdup(name);
}

static void clear_hist_names(runner *r)
{
	for (size_t i = 0; i < r->n_hist; i++)
		free(r->hist_names[i]);
	r->n_hist = 0;
}

static int reopen_db(runner *r)
{
	tsdb_close(r->db);
	r->db = NULL;
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = NULL;
	o.retention_ms = 0;
	o.ooo_window_ms = INT64_MAX / 4;
	char err[256];
	if (tsdb_open(&o, &r->db, err, sizeof err) < 0) {
		fprintf(stderr, "tsdb_open: %s\n", err);
		return -1;
	}
	return 0;
}

static void fail_eval(runner *r, const eval_cmd *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_eval(runner *r, const eval_cmd *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf *rep = &r->report;
	if (c->hist_data || r->experimental) {
		/* the eval selects series loaded as native histograms, which slod does not store */
		r->na++;
		r->f_na++;
		rep = &r->na_report;
	} else {
		r->failed++;
		r->f_failed++;
	}
	if (r->verbose)
		printf("%s %s:%d: %s\n    %s\n", c->hist_data ? "N/A (histogram data)" : r->experimental ? "N/A (experimental)" : "FAIL", r->file, c->line,
		       c->expr, msg);
	/* markdown report line: escape pipes */
	buf_printf(rep, "| %s:%d | `", r->file, c->line);
	for (const char *p = c->expr; *p; p++)
		buf_puts(rep, *p == '|' ? "\\|" : (char[]){*p, 0});
	buf_puts(rep, "` | ");
	for (const char *p = msg; *p; p++) {
		if (*p == '|')
			buf_puts(rep, "\\|");
		else if (*p == '\n')
			buf_putc(rep, ' ');
		else
			buf_putc(rep, *p);
	}
	buf_puts(rep, " |\n");
}

static int parse_dur(const char *s, int64_t *ms)
{
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	bool neg = false;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (slod_parse_duration_ms(s, strlen(s), ms) < 0)
		return -1;
	if (neg)
		*ms = -*ms;
	return 0;
}

static bool find_label_eq(const slod_labels *ls, const series_desc *exp, size_t n, size_t *idx)
{
	for (size_t i = 0; i < n; i++)
		if (labels_equal(ls, &exp[i].ls)) {
			*idx = i;
			return true;
		}
	return false;
}

static void fmt_labels(const slod_labels *ls, char *out, size_t cap)
{
	buf b;
	buf_init(&b, 0);
	labels_format_metric(ls, &b);
	snprintf(out, cap, "%s", b.data ? b.data : "{}");
	buf_deinit(&b);
}

/* Compares a result against the expectations; returns NULL or an error message in msg. */
static bool compare_result(const eval_cmd *c, const promql_result *res, char *msg, size_t cap, bool range_mode_mid,
			   int64_t mid_t)
{
	char lb[512];
	if (res->type == PROMQL_RESULT_STRING) {
		if (!c->expect_string || strlen(c->string) != res->string_len ||
		    memcmp(c->string, res->string, res->string_len) != 0) {
			snprintf(msg, cap, "expected string \"%s\" but got \"%.*s\"", c->string ? c->string : "",
				 (int)res->string_len, res->string);
			return false;
		}
		return true;
	}
	if (res->type == PROMQL_RESULT_SCALAR) {
		if (!c->expect_scalar) {
			snprintf(msg, cap, "expected vector or matrix result, but got scalar %g", res->scalar);
			return false;
		}
		if (!almost_equal(c->scalar, res->scalar, 1e-6)) {
			snprintf(msg, cap, "expected scalar %g but got %g", c->scalar, res->scalar);
			return false;
		}
		return true;
	}
	if (res->type == PROMQL_RESULT_MATRIX && !range_mode_mid) {
		if (c->ordered) {
			snprintf(msg, cap, "expected ordered result, but query returned a matrix");
			return false;
		}
		if (c->expect_scalar) {
			snprintf(msg, cap, "expected scalar result, but got matrix");
			return false;
		}
		bool *seen = calloc(c->n_exp + 1, 1);
		for (size_t i = 0; i < res->n_series; i++) {
			const promql_series *s = &res->series[i];
			if (i > 0 && labels_cmp(&res->series[i - 1].labels, &s->labels) > 0) {
				snprintf(msg, cap, "matrix results should always be sorted by labels");
				free(seen);
				return false;
			}
			size_t k;
			if (!find_label_eq(&s->labels, c->exp, c->n_exp, &k)) {
				fmt_labels(&s->labels, lb, sizeof lb);
				snprintf(msg, cap, "unexpected metric %s in result (%zu points, first %g)", lb, s->n_points,
					 s->n_points ? s->points[0].v : 0.0);
				free(seen);
				return false;
			}
			seen[k] = true;
			const series_desc *e = &c->exp[k];
			size_t pi = 0;
			for (size_t j = 0; j < e->n; j++) {
				int64_t ts = c->start + (int64_t)j * c->step;
				if (ts > c->end) {
					snprintf(msg, cap, "expected %zu points but the query time range cannot return this many", e->n);
					free(seen);
					return false;
				}
				if (e->vals[j].omitted)
					continue;
				if (pi >= s->n_points || s->points[pi].t != ts ||
				    !almost_equal(e->vals[j].v, s->points[pi].v, 1e-6)) {
					fmt_labels(&s->labels, lb, sizeof lb);
					if (pi < s->n_points)
						snprintf(msg, cap, "%s: expected %g at t=%ld, got %g at t=%ld (%zu points)", lb,
							 e->vals[j].v, (long)ts, s->points[pi].v, (long)s->points[pi].t,
							 s->n_points);
					else
						snprintf(msg, cap, "%s: expected %g at t=%ld, result has only %zu points", lb,
							 e->vals[j].v, (long)ts, s->n_points);
					free(seen);
					return false;
				}
				pi++;
			}
			if (pi != s->n_points) {
				fmt_labels(&s->labels, lb, sizeof lb);
				snprintf(msg, cap, "%s: expected %zu points, got %zu (extra at t=%ld v=%g)", lb, pi, s->n_points,
					 (long)s->points[pi].t, s->points[pi].v);
				free(seen);
				return false;
			}
		}
		for (size_t k = 0; k < c->n_exp; k++)
			if (!seen[k]) {
				fmt_labels(&c->exp[k].ls, lb, sizeof lb);
				snprintf(msg, cap, "expected metric %s not found", lb);
				free(seen);
				return false;
			}
		free(seen);
		return true;
	}
	/* vector (or the middle step of a range re-run) */
	if (c->expect_scalar) {
		if (range_mode_mid && res->type == PROMQL_RESULT_MATRIX) {
			/* scalar instant result re-run as range: compare the middle point */
			for (size_t i = 0; i < res->n_series; i++)
				for (size_t j = 0; j < res->series[i].n_points; j++)
					if (res->series[i].points[j].t == mid_t) {
						if (!almost_equal(c->scalar, res->series[i].points[j].v, 1e-6)) {
							snprintf(msg, cap, "range mode: expected scalar %g but got %g", c->scalar,
								 res->series[i].points[j].v);
							return false;
						}
						return true;
					}
			snprintf(msg, cap, "range mode: no scalar point at t=%ld", (long)mid_t);
			return false;
		}
		snprintf(msg, cap, "expected scalar result, but got vector");
		return false;
	}
	bool *seen = calloc(c->n_exp + 1, 1);
	size_t pos = 0;
	for (size_t i = 0; i < res->n_series; i++) {
		const promql_series *s = &res->series[i];
		const promql_point *pt = NULL;
		if (range_mode_mid) {
			for (size_t j = 0; j < s->n_points; j++)
				if (s->points[j].t == mid_t)
					pt = &s->points[j];
			if (!pt)
				continue;
		} else {
			pt = s->n_points ? &s->points[0] : NULL;
		}
		pos++;
		size_t k;
		if (!find_label_eq(&s->labels, c->exp, c->n_exp, &k)) {
			fmt_labels(&s->labels, lb, sizeof lb);
			snprintf(msg, cap, "%sunexpected metric %s in result, has value %g", range_mode_mid ? "range mode: " : "",
				 lb, pt ? pt->v : 0.0);
			free(seen);
			return false;
		}
		if (c->ordered && !range_mode_mid && k + 1 != pos) {
			fmt_labels(&s->labels, lb, sizeof lb);
			snprintf(msg, cap, "expected metric %s at position %zu but was at %zu", lb, k + 1, pos);
			free(seen);
			return false;
		}
		if (c->exp[k].n < 1 || c->exp[k].vals[0].omitted) {
			snprintf(msg, cap, "bad expectation");
			free(seen);
			return false;
		}
		if (!pt || !almost_equal(c->exp[k].vals[0].v, pt->v, 1e-6)) {
			fmt_labels(&s->labels, lb, sizeof lb);
			snprintf(msg, cap, "%sexpected %g for %s but got %g", range_mode_mid ? "range mode: " : "",
				 c->exp[k].vals[0].v, lb, pt ? pt->v : NAN);
			free(seen);
			return false;
		}
		seen[k] = true;
	}
	for (size_t k = 0; k < c->n_exp; k++)
		if (!seen[k]) {
			fmt_labels(&c->exp[k].ls, lb, sizeof lb);
			snprintf(msg, cap, "%sexpected metric %s with %g not found", range_mode_mid ? "range mode: " : "", lb,
				 c->exp[k].n ? c->exp[k].vals[0].v : 0.0);
			free(seen);
			return false;
		}
	free(seen);
	return true;
}

static bool anno_match(const expect_anno *e, const char *s)
{
	if (e->has_re)
		return regexec(&e->re, s, 0, NULL, 0) == 0;
	return strcmp(e->msg, s) == 0;
}

static bool check_annos(const eval_cmd *c, const promql_result *res, char *msg, size_t cap)
{
	if (c->warn && res->n_warnings == 0) {
		snprintf(msg, cap, "expected warnings but got none");
		return false;
	}
	if (c->info && res->n_infos == 0) {
		snprintf(msg, cap, "expected info annotations but got none");
		return false;
	}
	const struct {
		const expect_anno *e;
		size_t ne;
		const char **got;
		size_t ng;
		const char *kind;
	} kinds[2] = {
		{c->warns, c->n_warns, res->warnings, res->n_warnings, "warn"},
		{c->infos, c->n_infos, res->infos, res->n_infos, "info"},
	};
	for (int k = 0; k < 2; k++) {
		if (kinds[k].ne == 0)
			continue;
		if (kinds[k].ng == 0) {
			snprintf(msg, cap, "expected %s annotations but none were found", kinds[k].kind);
			return false;
		}
		for (size_t i = 0; i < kinds[k].ne; i++) {
			bool found = false;
			for (size_t j = 0; j < kinds[k].ng && !found; j++)
				found = anno_match(&kinds[k].e[i], kinds[k].got[j]);
			if (!found) {
				snprintf(msg, cap, "expected %s annotation %s not found (got %s)", kinds[k].kind,
					 kinds[k].e[i].msg ? kinds[k].e[i].msg : "<regex>", kinds[k].got[0]);
				return false;
			}
		}
		for (size_t j = 0; j < kinds[k].ng; j++) {
			bool found = false;
			for (size_t i = 0; i < kinds[k].ne && !found; i++)
				found = anno_match(&kinds[k].e[i], kinds[k].got[j]);
			if (!found) {
				snprintf(msg, cap, "unexpected %s annotation %s", kinds[k].kind, kinds[k].got[j]);
				return false;
			}
		}
	}
	if (c->no_warn && res->n_warnings) {
		snprintf(msg, cap, "unexpected warning annotations: %s", res->warnings[0]);
		return false;
	}
	if (c->no_info && res->n_infos) {
		snprintf(msg, cap, "unexpected info annotations: %s", res->infos[0]);
		return false;
	}
	return true;
}

static bool check_fail(const eval_cmd *c, const promql_result *res, char *msg, size_t cap)
{
	if (c->fail_msg && strcmp(c->fail_msg, res->err) != 0) {
		snprintf(msg, cap, "expected error %s, got: %s", c->fail_msg, res->err);
		return false;
	}
	if (c->fail_re_set && regexec(&c->fail_re, res->err, 0, NULL, 0) != 0) {
		snprintf(msg, cap, "expected error matching regex, got: %s", res->err);
		return false;
	}
	return true;
}

static bool expr_uses_query_context(const char *e)
{
	static const char *const f[] = {"start()", "end()", "range()", "step()"};
	for (size_t i = 0; i < 4; i++) {
		const char *p = e;
		while ((p = strstr(p, f[i])) != NULL) {
			return true;
		}
	}
	return false;
}

/* Runs one query (instant at t, or the eval's range) and checks it, plus, for an instant eval that
 * is not expected to fail, the same query as a range query t-1m..t+1m (middle step compared).
 * Returns 0 on success, -1 with msg on failure, 1 when the query uses a disabled experimental
 * function. */
static int check_query(runner *r, const eval_cmd *c, const char *expr, int64_t t, char *msg, size_t cap)
{
	promql_result *res;
	if (c->is_range)
		res = promql_query_range(r->eng, r->db, expr, c->start, c->end, c->step, NULL);
	else
		res = promql_query_instant(r->eng, r->db, expr, t, NULL);
	if (!res) {
		snprintf(msg, cap, "out of memory");
		return -1;
	}
	int rc = 0;
	if (res->err_type == PROMQL_ERRTYPE_BAD_DATA && strstr(res->err, "is not enabled")) {
		/* an experimental function slod does not implement (Prometheus puts it behind
		 * --enable-feature=promql-experimental-functions) */
		rc = 1;
		goto out;
	}
	if (res->err_type != PROMQL_ERRTYPE_NONE) {
		if (!c->fail) {
			snprintf(msg, cap, "error evaluating query: %s", res->err);
			rc = -1;
		} else if (!check_fail(c, res, msg, cap)) {
			rc = -1;
		}
		goto out;
	}
	if (c->fail) {
		snprintf(msg, cap, "expected error but got none");
		rc = -1;
		goto out;
	}
	if (!check_annos(c, res, msg, cap) || !compare_result(c, res, msg, cap, false, 0)) {
		rc = -1;
		goto out;
	}
	if (!c->is_range && !c->exclude_range && !expr_uses_query_context(expr) && !c->ordered) {
		promql_result_free(res);
		res = promql_query_range(r->eng, r->db, expr, t - 60000, t + 60000, 60000, NULL);
		if (!res) {
			snprintf(msg, cap, "out of memory");
			return -1;
		}
		if (res->err_type != PROMQL_ERRTYPE_NONE) {
			snprintf(msg, cap, "error evaluating query in range mode: %s", res->err);
			rc = -1;
		} else if (!compare_result(c, res, msg, cap, true, t)) {
			rc = -1;
		}
	}
out:
	promql_result_free(res);
	return rc;
}

static const char *const at_unsafe[] = {"days_in_month", "day_of_month", "day_of_week", "day_of_year", "end",
					"hour", "minute", "month", "year", "predict_linear", "range", "start",
					"step", "time", "timestamp"};

/* Sets `@ ts` on every selector and subquery that has none, except inside subqueries (as
 * Prometheus's atModifierTestCases). *unsafe is set when a function depends on the evaluation
 * time itself. The tree belongs to the runner's own parse. */
static void set_at(promql_node *n, int64_t ts, bool under_subquery, bool *unsafe)
{
	if (!n)
		return;
	switch (n->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		if (!under_subquery && n->vs.at.kind == PROMQL_AT_NONE)
			n->vs.at = (promql_at){PROMQL_AT_TIMESTAMP, ts};
		break;
	case PROMQL_NODE_MATRIX_SELECTOR:
		set_at(n->matrix.vs, ts, under_subquery, unsafe);
		break;
	case PROMQL_NODE_SUBQUERY:
		if (!under_subquery && n->subquery.at.kind == PROMQL_AT_NONE)
			n->subquery.at = (promql_at){PROMQL_AT_TIMESTAMP, ts};
		set_at(n->subquery.expr, ts, true, unsafe);
		break;
	case PROMQL_NODE_UNARY:
		set_at(n->unary.expr, ts, under_subquery, unsafe);
		break;
	case PROMQL_NODE_PAREN:
		set_at(n->paren.expr, ts, under_subquery, unsafe);
		break;
	case PROMQL_NODE_BINARY:
		set_at(n->binary.lhs, ts, under_subquery, unsafe);
		set_at(n->binary.rhs, ts, under_subquery, unsafe);
		break;
	case PROMQL_NODE_AGGREGATE:
		set_at(n->aggregate.param, ts, under_subquery, unsafe);
		set_at(n->aggregate.expr, ts, under_subquery, unsafe);
		break;
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < sizeof at_unsafe / sizeof at_unsafe[0]; i++)
			if (strcmp(n->call.func->name, at_unsafe[i]) == 0)
				*unsafe = true;
		for (size_t i = 0; i < n->call.n_args; i++)
			set_at(n->call.args[i], ts, under_subquery, unsafe);
		break;
	default:
		break;
	}
}

/* The expression with `@ t` added (malloc'd), or NULL when not applicable. */
static char *at_variant(const char *expr, int64_t t)
{
	promql_expr *ex = NULL;
	promql_error perr;
	if (promql_parse(expr, strlen(expr), NULL, &ex, &perr) != 0)
		return NULL;
	bool unsafe = false;
	set_at(ex->root, t, false, &unsafe);
	char *out = NULL;
	if (!unsafe) {
		buf b;
		buf_init(&b, 0);
		if (promql_format(ex->root, &b) == 0)
			out = buf_steal(&b);
		buf_deinit(&b);
	}
	promql_expr_free(ex);
	return out;
}

static void run_eval(runner *r, eval_cmd *c)
{
	char msg[2048];
	int rc = check_query(r, c, c->expr, c->eval_t, msg, sizeof msg);
	if (rc == 0 && !c->is_range && r->at_variants) {
		char *ae = at_variant(c->expr, c->eval_t);
		if (ae) {
			int64_t ts = c->eval_t;
			int64_t times[5] = {-10 * ts, 0, ts / 5, ts, 10 * ts};
			size_t nt = 5;
			if (ts == 0) {
				times[0] = -1000;
				times[1] = 0;
				times[2] = 1000;
				nt = 3;
			}
			for (size_t i = 0; i < nt && rc == 0; i++) {
				char m2[1800];
				rc = check_query(r, c, ae, times[i], m2, sizeof m2);
				if (rc < 0)
					snprintf(msg, sizeof msg, "with @ modifier (%s at %ld): %s", ae, (long)times[i], m2);
			}
			free(ae);
		}
	}
	if (rc > 0) {
		r->na++;
		r->f_na++;
	} else if (rc < 0) {
		fail_eval(r, c, "%s", msg);
	} else {
		r->passed++;
		r->f_passed++;
	}
}

static void free_eval(eval_cmd *c)
{
	for (size_t i = 0; i < c->n_exp; i++)
		free(c->exp[i].vals);
	free(c->exp);
	for (size_t i = 0; i < c->n_warns; i++)
		if (c->warns[i].has_re)
			regfree(&c->warns[i].re);
	for (size_t i = 0; i < c->n_infos; i++)
		if (c->infos[i].has_re)
			regfree(&c->infos[i].re);
	if (c->fail_re_set)
		regfree(&c->fail_re);
}

/* Does the expression mention a metric name loaded as native histograms? */
static bool mentions_hist(runner *r, const char *expr)
{
	for (size_t i = 0; i < r->n_hist; i++) {
		const char *n = r->hist_names[i];
		size_t nl = strlen(n);
		for (const char *p = expr; (p = strstr(p, n)) != NULL; p++) {
			bool left = p == expr || !is_name_char(p[-1], false);
			bool right = !is_name_char(p[nl], false);
			if (left && right)
				return true;
		}
	}
	return false;
}

/* A selector without a literal metric name (`{job="x"}`, `{__name__=~"..."}`) may select series
 * loaded as native histograms. */
static bool has_nameless_selector(const char *e)
{
	if (strstr(e, "__name__"))
		return true;
	char q = 0;
	for (const char *p = e; *p; p++) {
		if (q) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == q)
				q = 0;
			continue;
		}
		if (*p == '"' || *p == '\'' || *p == '`') {
			q = *p;
			continue;
		}
		if (*p == '{') {
			const char *b = p;
			while (b > e && isspace((unsigned char)b[-1]))
				b--;
			if (b == e || !is_name_char(b[-1], false))
				return true;
		}
	}
	return false;
}

static int add_anno(arena *a, expect_anno *arr, size_t *n, const char *kind_rest)
{
	if (*n >= 8)
		return -1;
	expect_anno *e = &arr[(*n)++];
	memset(e, 0, sizeof *e);
	const char *p = skip_ws(kind_rest);
	if (starts_with(p, "msg:")) {
		e->msg = arena_strdup(a, p + 4);
		e->msg = trim(e->msg);
	} else if (starts_with(p, "regex:")) {
		char *pat = trim(arena_strdup(a, p + 6));
		/* translate Go's \( into POSIX ERE (same), [0-9]+ fine */
		if (regcomp(&e->re, pat, REG_EXTENDED | REG_NOSUB) != 0)
			return -1;
		e->has_re = true;
	} else {
		if (regcomp(&e->re, ".*", REG_EXTENDED | REG_NOSUB) != 0)
			return -1;
		e->has_re = true;
	}
	return 0;
}

static regex_t re_instant, re_range;

/* Parses an eval at lines[*i]; advances *i to the last consumed line. */
static int parse_eval(runner *r, char **lines, size_t nl, size_t *i, eval_cmd *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->line = (int)*i + 1;
	char *l = lines[*i];
	regmatch_t m[8];
	char mod[16] = "";
	if (regexec(&re_instant, l, 8, m, 0) == 0) {
		if (m[2].rm_so >= 0)
			snprintf(mod, sizeof mod, "%.*s", (int)(m[2].rm_eo - m[2].rm_so), l + m[2].rm_so);
		char at[64];
		snprintf(at, sizeof at, "%.*s", (int)(m[3].rm_eo - m[3].rm_so), l + m[3].rm_so);
		c->expr = arena_strdup(&r->a, l + m[4].rm_so);
		if (parse_dur(at, &c->start) < 0) {
			snprintf(err, errlen, "bad time %s", at);
			return -1;
		}
		c->end = c->start;
		c->eval_t = c->start;
	} else if (regexec(&re_range, l, 8, m, 0) == 0) {
		if (m[2].rm_so >= 0)
			snprintf(mod, sizeof mod, "%.*s", (int)(m[2].rm_eo - m[2].rm_so), l + m[2].rm_so);
		char f[64], t[64], s[64];
		snprintf(f, sizeof f, "%.*s", (int)(m[3].rm_eo - m[3].rm_so), l + m[3].rm_so);
		snprintf(t, sizeof t, "%.*s", (int)(m[4].rm_eo - m[4].rm_so), l + m[4].rm_so);
		snprintf(s, sizeof s, "%.*s", (int)(m[5].rm_eo - m[5].rm_so), l + m[5].rm_so);
		c->expr = arena_strdup(&r->a, l + m[6].rm_so);
		if (parse_dur(f, &c->start) < 0 || parse_dur(t, &c->end) < 0 || parse_dur(s, &c->step) < 0) {
			snprintf(err, errlen, "bad range %s %s %s", f, t, s);
			return -1;
		}
		c->is_range = true;
	} else {
		snprintf(err, errlen, "invalid eval command");
		return -1;
	}
	if (strcmp(mod, "fail") == 0)
		c->fail = true;
	else if (strcmp(mod, "warn") == 0)
		c->warn = true;
	else if (strcmp(mod, "info") == 0)
		c->info = true;
	else if (strcmp(mod, "ordered") == 0)
		c->ordered = true;

	while (*i + 1 < nl) {
		char *d = lines[*i + 1];
		if (!*d)
			break;
		(*i)++;
		if (c->fail && starts_with(d, "expected_fail_message")) {
			c->fail_msg = trim(arena_strdup(&r->a, d + strlen("expected_fail_message")));
			break;
		}
		if (c->fail && starts_with(d, "expected_fail_regexp")) {
			char *pat = trim(arena_strdup(&r->a, d + strlen("expected_fail_regexp")));
			if (regcomp(&c->fail_re, pat, REG_EXTENDED | REG_NOSUB) == 0)
				c->fail_re_set = true;
			break;
		}
		if (starts_with(d, "expect range vector")) {
			char f[64], t[64], s[64];
			if (sscanf(d, "expect range vector from %63s to %63s step %63s", f, t, s) != 3 ||
			    parse_dur(f, &c->start) < 0 || parse_dur(t, &c->end) < 0 || parse_dur(s, &c->step) < 0) {
				snprintf(err, errlen, "bad expect range vector");
				return -1;
			}
			c->exclude_range = true;
			c->eval_t = c->end;
			continue;
		}
		if (starts_with(d, "expect string")) {
			const char *p = skip_ws(d + strlen("expect string"));
			c->string = parse_quoted(&r->a, &p);
			if (!c->string) {
				snprintf(err, errlen, "bad expect string");
				return -1;
			}
			c->expect_string = true;
			c->exclude_range = true;
			continue;
		}
		if (starts_with(d, "expect ") || strcmp(d, "expect") == 0) {
			const char *p = skip_ws(d + 6);
			if (starts_with(p, "ordered")) {
				c->ordered = true;
			} else if (starts_with(p, "fail")) {
				c->fail = true;
				const char *q = skip_ws(p + 4);
				if (starts_with(q, "msg:")) {
					c->fail_msg = trim(arena_strdup(&r->a, q + 4));
				} else if (starts_with(q, "regex:")) {
					char *pat = trim(arena_strdup(&r->a, q + 6));
					if (regcomp(&c->fail_re, pat, REG_EXTENDED | REG_NOSUB) == 0)
						c->fail_re_set = true;
				}
			} else if (starts_with(p, "no_warn")) {
				c->no_warn = true;
			} else if (starts_with(p, "no_info")) {
				c->no_info = true;
			} else if (starts_with(p, "warn")) {
				if (add_anno(&r->a, c->warns, &c->n_warns, p + 4) < 0) {
					snprintf(err, errlen, "bad expect warn");
					return -1;
				}
			} else if (starts_with(p, "info")) {
				if (add_anno(&r->a, c->infos, &c->n_infos, p + 4) < 0) {
					snprintf(err, errlen, "bad expect info");
					return -1;
				}
			} else {
				snprintf(err, errlen, "invalid expect statement");
				return -1;
			}
			continue;
		}
		/* bare number? */
		{
			char *end;
			double v;
			if (strncasecmp(d, "0x", 2) == 0)
				v = (double)strtoll(d, &end, 16);
			else
				v = strtod(d, &end);
			if (end != d && *end == 0) {
				c->expect_scalar = true;
				c->scalar = v;
				break;
			}
		}
		if (strstr(d, "{{")) {
			c->na = true;
			c->na_reason = "native histogram expected";
		}
		if (c->n_exp == c->cap_exp) {
			c->cap_exp = c->cap_exp ? c->cap_exp * 2 : 8;
			c->exp = realloc(c->exp, c->cap_exp * sizeof *c->exp);
		}
		series_desc *sd = &c->exp[c->n_exp];
		if (parse_series(&r->a, d, sd) < 0) {
			snprintf(err, errlen, "bad expected series line: %s", d);
			return -1;
		}
		if (sd->has_histogram)
			c->na = true;
		/* duplicate expectation for the same labels: the later wins (Prometheus uses a map) */
		size_t k;
		if (find_label_eq(&sd->ls, c->exp, c->n_exp, &k)) {
			free(c->exp[k].vals);
			c->exp[k] = *sd;
		} else {
			c->n_exp++;
		}
	}
	if (mentions_hist(r, c->expr) || (r->n_hist && has_nameless_selector(c->expr)))
		c->hist_data = true;
	return 0;
}

static const char *hist_base_name(const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	static const char *const suf[] = {"_bucket", "_count", "_sum"};
	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(suf[i]);
		if (n > sl && strcmp(name + n - sl, suf[i]) == 0) {
			snprintf(out, cap, "%.*s", (int)(n - sl), name);
			return out;
		}
	}
	return NULL;
}

static int run_load(runner *r, char **lines, size_t nl, size_t *i, char *err, size_t errlen)
{
	char *l = lines[*i];
	bool nhcb = starts_with(l, "load_with_nhcb");
	const char *p = skip_ws(l + (nhcb ? 14 : 4));
	int64_t gap;
	if (parse_dur(p, &gap) < 0) {
		snprintf(err, errlen, "invalid step %s", p);
		return -1;
	}
	/* Like Prometheus's loadCmd (a map by label hash), a later definition of the same series
	 * replaces an earlier one. */
	series_desc *defs = NULL;
	size_t nd = 0;
	int rc = 0;
	while (*i + 1 < nl && lines[*i + 1][0]) {
		(*i)++;
		/* `metric@st <offsets>` start-timestamp lines: slod stores no start timestamps */
		const char *sp = strpbrk(lines[*i], " \t");
		if (sp && sp - lines[*i] >= 3 && strncmp(sp - 3, "@st", 3) == 0)
			continue;
		series_desc d;
		if (parse_series(&r->a, lines[*i], &d) < 0) {
			snprintf(err, errlen, "bad series line %zu: %s", *i + 1, lines[*i]);
			rc = -1;
			continue;
		}
		const char *name = labels_get(&d.ls, SLOD_METRIC_NAME);
		if (d.has_histogram && name)
			add_hist_name(r, name);
		char base[256];
		if (nhcb && name && hist_base_name(name, base, sizeof base))
			add_hist_name(r, base);
		size_t k;
		if (find_label_eq(&d.ls, defs, nd, &k)) {
			free(defs[k].vals);
			defs[k] = d;
		} else {
			defs = realloc(defs, (nd + 1) * sizeof *defs);
			defs[nd++] = d;
		}
	}
	tsdb_appender *app = tsdb_appender_new(r->db);
	if (!app) {
		snprintf(err, errlen, "appender");
		rc = -1;
		goto out;
	}
	for (size_t k = 0; k < nd; k++) {
		for (size_t j = 0; j < defs[k].n; j++) {
			if (defs[k].vals[j].omitted || defs[k].vals[j].histogram)
				continue;
			int arc = tsdb_appender_add(app, &defs[k].ls, (int64_t)j * gap, defs[k].vals[j].v, NULL);
			if (arc < 0) {
				snprintf(err, errlen, "append failed (%d)", arc);
				rc = -1;
			}
		}
	}
	if (tsdb_appender_commit(app) < 0) {
		snprintf(err, errlen, "commit failed");
		rc = -1;
	}
	tsdb_appender_free(app);
out:
	for (size_t k = 0; k < nd; k++)
		free(defs[k].vals);
	free(defs);
	return rc;
}

/* Experimental files that slod's engine runs (passes count; failures are not applicable). */
static const char *const experimental_run[] = {"duration_expression.test", "extended_vectors.test", "info.test",
					       "type_and_unit.test"};

static bool is_experimental_run(const char *file)
{
	for (size_t i = 0; i < sizeof experimental_run / sizeof experimental_run[0]; i++)
		if (strcmp(file, experimental_run[i]) == 0)
			return true;
	return false;
}

static bool is_core(const char *file)
{
	for (size_t i = 0; i < sizeof core_files / sizeof core_files[0]; i++)
		if (strcmp(file, core_files[i]) == 0)
			return true;
	return false;
}

static int run_file(runner *r, const char *dir, const char *file)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	buf content;
	buf_init(&content, 0);
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&content, chunk, got);
	fclose(f);
	if (!content.data) {
		buf_deinit(&content);
		return 0;
	}

	/* split and trim lines, comments become blank */
	size_t nl = 0, cap = 1024;
	char **lines = malloc(cap * sizeof *lines);
	char *save = NULL;
	for (char *s = content.data;; ) {
		char *e = strchr(s, '\n');
		if (e)
			*e = 0;
		if (nl == cap) {
			cap *= 2;
			lines = realloc(lines, cap * sizeof *lines);
		}
		char *t = trim(s);
		if (*t == '#')
			*t = 0;
		lines[nl++] = t;
		if (!e)
			break;
		s = e + 1;
	}
	(void)save;

	r->file = file;
	r->f_passed = r->f_failed = r->f_na = 0;
	arena_init(&r->a, 0);
	clear_hist_names(r);
	bool core = is_core(file);
	bool exp_run = is_experimental_run(file);
	r->experimental = exp_run;
	int rc = 0;
	if (reopen_db(r) < 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < nl; i++) {
		char *l = lines[i];
		if (!*l)
			continue;
		char err[512] = "";
		if (strcmp(l, "clear") == 0) {
			clear_hist_names(r);
			if (reopen_db(r) < 0) {
				rc = -1;
				goto out;
			}
		} else if (starts_with(l, "load")) {
			if (run_load(r, lines, nl, &i, err, sizeof err) < 0) {
				printf("%s:%zu: load error: %s\n", file, i + 1, err);
				/* skip to the next clear: results would be meaningless */
			}
		} else if (starts_with(l, "eval")) {
			eval_cmd c;
			if (parse_eval(r, lines, nl, &i, &c, err, sizeof err) < 0) {
				fail_eval(r, &c, "runner could not parse the eval: %s", err);
				free_eval(&c);
				continue;
			}
			if ((!core && !exp_run) || c.na) {
				r->na++;
				r->f_na++;
			} else {
				run_eval(r, &c);
			}
			free_eval(&c);
		} else {
			printf("%s:%zu: invalid command %s\n", file, i + 1, l);
		}
	}
	printf("%s: %ld passed, %ld failed, %ld not applicable\n", file, r->f_passed, r->f_failed, r->f_na);
	buf_printf(&r->files, "| %s | %s | %ld | %ld | %ld |\n", file,
		   core ? "core" : exp_run ? "experimental, run" : "non-core", r->f_passed, r->f_failed, r->f_na);
out:
	arena_deinit(&r->a);
	free(lines);
	buf_deinit(&content);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	long min_pass = 0;
	size_t max_samples = 0;
	const char *report = NULL, *only = NULL, *dir = NULL;
	runner r;
	memset(&r, 0, sizeof r);
	r.at_variants = true;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--min-pass") == 0 && i + 1 < argc)
			min_pass = atol(argv[++i]);
		else if (strcmp(argv[i], "--verbose") == 0)
			r.verbose = true;
		else if (strcmp(argv[i], "--no-at") == 0)
			r.at_variants = false;
		else if (strcmp(argv[i], "--max-samples") == 0 && i + 1 < argc)
			max_samples = (size_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
			report = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else
			dir = argv[i];
	}
	if (!dir) {
		fprintf(stderr, "usage: %s [--min-pass N] [--verbose] [--report FILE] [--only NAME] DIR\n", argv[0]);
		return 2;
	}
	if (regcomp(&re_instant, "^eval(_(fail|warn|ordered|info))?[[:space:]]+instant[[:space:]]+at[[:space:]]+([^[:space:]]+)[[:space:]]+(.+)$",
		    REG_EXTENDED) != 0 ||
	    regcomp(&re_range, "^eval(_(fail|warn|info))?[[:space:]]+range[[:space:]]+from[[:space:]]+([^[:space:]]+)[[:space:]]+to[[:space:]]+([^[:space:]]+)[[:space:]]+step[[:space:]]+([^[:space:]]+)[[:space:]]+(.+)$",
		    REG_EXTENDED) != 0) {
		fprintf(stderr, "regcomp failed\n");
		return 2;
	}
	promql_engine_opts eo;
	promql_engine_opts_default(&eo);
	eo.max_samples = max_samples;
	eo.enable_duration_expressions = true; /* Prometheus's test engine enables these too */
	eo.enable_extended_range_selectors = true;
	r.eng = promql_engine_new(&eo);
	buf_init(&r.report, 0);
	buf_init(&r.na_report, 0);
	buf_init(&r.files, 0);

	DIR *dh = opendir(dir);
	if (!dh) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 2;
	}
	char **files = NULL;
	size_t nf = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".test") == 0) {
			if (only && strcmp(only, de->d_name) != 0 && strncmp(only, de->d_name, strlen(only)) != 0)
				continue;
			files = realloc(files, (nf + 1) * sizeof *files);
			files[nf++] = strdup(de->d_name);
		}
	}
	closedir(dh);
	qsort(files, nf, sizeof *files, cmp_str);
	for (size_t i = 0; i < nf; i++) {
		run_file(&r, dir, files[i]);
		free(files[i]);
	}
	free(files);
	printf("%ld not applicable (native histograms, experimental files)\n", r.na);
	printf("%ld passed, %ld failed\n", r.passed, r.failed);
	if (report) {
		FILE *f = fopen(report, "w");
		if (f) {
			fprintf(f, "# PromQL conformance\n\n"
				   "Generated by `promqltest_runner --report docs/conformance.md <testdata dir>` (see\n"
				   "tests/conformance/promqltest.cmake; CTest runs it as `conformance.promqltest`) against\n"
				   "Prometheus's own PromQL test files (promql/promqltest/testdata, Prometheus 3.x).\n\n"
				   "Totals: **%ld passed, %ld failed**, %ld not applicable.\n\n"
				   "How an eval is judged, as Prometheus's runner does it: results are compared with a relative\n"
				   "tolerance of 1e-6 (NaN equals NaN), annotations (`expect warn/info`, `eval_warn`) and error\n"
				   "messages (`expect fail msg:`) must match; every instant eval is also re-run as a range query\n"
				   "(t-1m..t+1m step 1m, middle step compared) and, unless it uses a time-dependent function,\n"
				   "with `@ t` added to every selector at the times -10t, 0, t/5, t, 10t (or -1s, 0, 1s).\n\n"
				   "Not applicable: every eval of the non-core files that need what slod does not have\n"
				   "(native histograms, start timestamps, binary-operator fill modifiers); evals that expect a\n"
				   "native histogram (`{{...}}`); evals using an experimental function the parser does not\n"
				   "enable; and evals over data the file loads as native histograms (slod stores floats only)\n"
				   "that fail: those are listed at the end. The experimental files duration_expression,\n"
				   "extended_vectors, info and type_and_unit are run with the features enabled, as\n"
				   "Prometheus's test engine runs them; their failures would count as not applicable.\n\n"
				   "| file | kind | passed | failed | not applicable |\n|---|---|---|---|---|\n%s\n"
				   "## Failing evals\n\n| file:line | expression | reason |\n|---|---|---|\n",
				r.passed, r.failed, r.na, r.files.data ? r.files.data : "");
			fwrite(r.report.data ? r.report.data : "", 1, r.report.len, f);
			fprintf(f, "\n## Evals over native histogram data or in experimental files (counted not applicable)\n\n"
				   "These evals select series that the test file loads as native histograms (slod stores\n"
				   "floats only), or belong to an experimental file slod runs anyway. They count as passed\n"
				   "when they pass; these did not:\n\n"
				   "| file:line | expression | reason |\n|---|---|---|\n");
			fwrite(r.na_report.data ? r.na_report.data : "", 1, r.na_report.len, f);
			fclose(f);
		}
	}
	buf_deinit(&r.report);
	buf_deinit(&r.na_report);
	buf_deinit(&r.files);
	clear_hist_names(&r);
	free(r.hist_names);
	tsdb_close(r.db);
	promql_engine_free(r.eng);
	regfree(&re_instant);
	regfree(&re_range);
	if (r.passed < min_pass) {
		printf("pass count %ld is below the floor %ld\n", r.passed, min_pass);
		return 1;
	}
	return 0;
}
