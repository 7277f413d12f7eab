/*
 * functions.c — PromQL function calls, evaluated per step with Prometheus 3.x semantics
 * (functions.go, quantile.go, info.go): range-vector functions (rate/increase/delta with
 * extrapolation, or boundary values for anchored/smoothed windows; irate/idelta; deriv and
 * predict_linear by least squares with Kahan sums; changes; resets; every *_over_time;
 * double_exponential_smoothing), instant-vector math, clamp/round, time and date functions,
 * start()/end()/range()/step(), min_of/max_of, label_replace and label_join, sort*, absent*,
 * scalar/vector, histogram_quantile(s) and histogram_fraction over classic `le` buckets
 * (coalescing, monotonicity fix, +Inf handling), and info().
 *
 * Name handling: most functions mark their output for delayed __name__ removal; last_over_time,
 * first_over_time, sort*, and label_* keep it; label_replace/label_join writing __name__ clear
 * the mark. Functions over native histograms (histogram_count, ...) see no histograms in slod
 * and return nothing, as Prometheus does for float input. Cost: O(samples in window) per series
 * per step for range functions (O(n log n) for quantile_over_time and mad_over_time), O(n) for
 * instant-vector functions, O(n log n) for sort and the histogram functions, O(base x info
 * series) for info().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine_int.h"
#include "promql/extrapolate.h"
#include "promql/promql.h"
#include "promql/regex.h"
#include "util/fmt.h"

#define NAME SLOD_METRIC_NAME

static const promql_node *unparen(const promql_node *n)
{
	while (n && n->kind == PROMQL_NODE_PAREN)
		n = n->paren.expr;
	return n;
}

static int out_init(ev_ctx *c, ev_value *out, size_t cap)
{
	out->type = PROMQL_TYPE_VECTOR;
	out->vec.n = 0;
	out->vec.s = arena_alloc(c->sa, (cap ? cap : 1) * sizeof(ev_sample));
	if (!out->vec.s)
		return promql__oom(c);
	return 0;
}

static void emit(ev_value *out, slod_labels ls, double v, int64_t t, bool drop)
{
	out->vec.s[out->vec.n++] = (ev_sample){ls, v, t, drop};
}

/* ---- range-vector helpers ---- */

static double extrapolated_rate(const ev_series *s, int64_t range_end, int64_t range_ms, bool counter, bool is_rate,
				bool *ok)
{
	*ok = false;
	if (s->n < 2)
		return 0;
	const tsdb_sample *p = s->pts;
	size_t n = s->n;
	double result = p[n - 1].v - p[0].v;
	if (counter) {
		for (size_t i = 1; i < n; i++)
			if (p[i].v < p[i - 1].v)
				result += p[i - 1].v;
	}
	promql_extrap_in in = {.t_first = p[0].t,
			       .t_last = p[n - 1].t,
			       .v_first = p[0].v,
			       .delta = result,
			       .n = n,
			       .range_start = range_end - range_ms,
			       .range_end = range_end,
			       .is_counter = counter,
			       .is_rate = is_rate};
	*ok = true;
	return promql_extrapolate(&in);
}

/* Prometheus's extendedRate for anchored/smoothed windows: the difference between the values at
 * the range boundaries (the last sample at or before the start for anchored; interpolated values
 * for smoothed), corrected for counter resets inside the range. */
static double extended_rate(const ev_series *s, int64_t range_end, int64_t range_ms, bool smoothed, bool counter,
			    bool is_rate, bool *ok)
{
	*ok = false;
	const tsdb_sample *f = s->pts;
	size_t n = s->n;
	if (n == 0)
		return 0;
	int64_t rs = range_end - range_ms, re = range_end;
	size_t last = n - 1;
	size_t first = promql__upper_bound(f, last, rs);
	first = first > 0 ? first - 1 : 0;
	if (smoothed)
		last = promql__upper_bound(f, last, re - 1);
	if (f[last].t <= rs)
		return 0;
	if (smoothed && f[first].t > re)
		return 0;
	double left = smoothed && f[first].t < rs ? promql__interpolate(&f[first], &f[first + 1], rs, counter) : f[first].v;
	double right = smoothed && last > 0 && f[last].t > re ? promql__interpolate(&f[last - 1], &f[last], re, counter)
							      : f[last].v;
	double result = right - left;
	if (counter) {
		long a = (long)first, b = (long)last;
		if (f[first].t <= rs)
			a++;
		if (f[last].t >= re)
			b--;
		double corr = 0, prev = left;
		for (long k = a; k <= b; k++) {
			if (f[k].v < prev)
				corr += prev;
			prev = f[k].v;
		}
		if (right < prev)
			corr += prev;
		result += corr;
	}
	if (is_rate)
		result /= (double)range_ms / 1000;
	*ok = true;
	return result;
}

static double instant_value(const ev_series *s, bool is_rate, bool *ok)
{
	*ok = false;
	if (s->n < 2)
		return 0;
	const tsdb_sample *a = &s->pts[s->n - 2], *b = &s->pts[s->n - 1];
	int64_t dt = b->t - a->t;
	if (dt == 0)
		return 0;
	double r;
	if (is_rate && b->v < a->v)
		r = b->v; /* counter reset */
	else
		r = b->v - a->v;
	if (is_rate)
		r /= (double)dt / 1000;
	*ok = true;
	return r;
}

static void linear_regression(const tsdb_sample *p, size_t n, int64_t icept_t, double *slope, double *icept)
{
	double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
	double init = p[0].v;
	bool consty = true;
	for (size_t i = 0; i < n; i++) {
		if (consty && i > 0 && p[i].v != init)
			consty = false;
		cnt += 1;
		double x = (double)(p[i].t - icept_t) / 1e3;
		sx = promql__kahan_inc(x, sx, &cx);
		sy = promql__kahan_inc(p[i].v, sy, &cy);
		sxy = promql__kahan_inc(x * p[i].v, sxy, &cxy);
		sx2 = promql__kahan_inc(x * x, sx2, &cx2);
	}
	if (consty) {
		if (isinf(init)) {
			*slope = NAN;
			*icept = NAN;
			return;
		}
		*slope = 0;
		*icept = init;
		return;
	}
	sx += cx;
	sy += cy;
	sxy += cxy;
	sx2 += cx2;
	double cov = sxy - sx * sy / cnt;
	double var = sx2 - sx * sx / cnt;
	*slope = cov / var;
	*icept = sy / cnt - *slope * sx / cnt;
}

static double avg_over(const tsdb_sample *p, size_t n)
{
	double sum = p[0].v, count = 1, mean = 0, kc = 0;
	bool incr = false;
	for (size_t i = 1; i < n; i++) {
		double f = p[i].v;
		count = (double)(i + 1);
		if (!incr) {
			double c2 = kc;
			double ns = promql__kahan_inc(f, sum, &c2);
			if (!isinf(ns)) {
				sum = ns;
				kc = c2;
				continue;
			}
			incr = true;
			mean = sum / (count - 1);
			kc /= count - 1;
		}
		double q = (count - 1) / count;
		double c2 = q * kc;
		mean = promql__kahan_inc(f / count, q * mean, &c2);
		kc = c2;
	}
	if (incr)
		return mean + kc;
	return sum / count + kc / count;
}

static double variance_over(const tsdb_sample *p, size_t n)
{
	double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
	for (size_t i = 0; i < n; i++) {
		count++;
		double delta = p[i].v - (mean + cmean);
		mean = promql__kahan_inc(delta / count, mean, &cmean);
		aux = promql__kahan_inc(delta * (p[i].v - (mean + cmean)), aux, &caux);
	}
	return (aux + caux) / count;
}

static double trend(int i, double tf, double s0, double s1, double b)
{
	if (i == 0)
		return b;
	return tf * (s1 - s0) + (1 - tf) * b;
}

static slod_labels absent_labels(ev_ctx *c, const promql_node *arg)
{
	slod_labels out = {0};
	arg = unparen(arg);
	const promql_vector_selector *vs = NULL;
	if (arg->kind == PROMQL_NODE_VECTOR_SELECTOR)
		vs = &arg->vs;
	else if (arg->kind == PROMQL_NODE_MATRIX_SELECTOR)
		vs = &arg->matrix.vs->vs;
	if (!vs)
		return out;
	out.v = arena_alloc(c->sa, (vs->n_matchers + 1) * sizeof(slod_label));
	if (!out.v)
		return out;
	/* first equality matcher per name sets it; any other matcher for the name deletes it */
	for (size_t i = 0; i < vs->n_matchers; i++) {
		const tsdb_matcher *m = &vs->matchers[i];
		if (strcmp(m->name, NAME) == 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			if (strcmp(vs->matchers[k].name, m->name) == 0 && vs->matchers[k].type == TSDB_MATCH_EQ)
				seen = true;
		size_t j;
		for (j = 0; j < out.n; j++)
			if (strcmp(out.v[j].name, m->name) == 0)
				break;
		if (m->type == TSDB_MATCH_EQ && !seen) {
			if (j < out.n)
				out.v[j].value = m->value;
			else
				out.v[out.n++] = (slod_label){m->name, m->value};
		} else if (j < out.n) {
			out.v[j] = out.v[--out.n];
		}
	}
	/* drop empty values, sort */
	size_t k = 0;
	for (size_t i = 0; i < out.n; i++)
		if (out.v[i].value[0])
			out.v[k++] = out.v[i];
	out.n = k;
	labels_sort(&out);
	return out;
}

/* rate()/increase() gave a value for series s: the info annotation when s may not be a counter
 * (by its __type__ label with the type-and-unit feature, else by its name's suffix). */
void promql__counter_info(ev_ctx *c, const promql_node *n, const ev_series *s)
{
	if (c->type_unit) {
		const char *mn = labels_get(&s->ls, NAME);
		const char *ty = labels_get(&s->ls, "__type__");
		if (mn && *mn && (!ty || (strcmp(ty, "counter") != 0 && strcmp(ty, "histogram") != 0)))
			promql__infof(c, n->call.args[0],
				      "metric might not be a counter, __type__ label is not set to \"counter\" or \"histogram\", got \"%s\": \"%s\"",
				      ty ? ty : "", mn);
		return;
	}
	uint8_t cn = s->counter_name ? s->counter_name : promql__counter_name(&s->ls);
	if (cn == 2)
		promql__infof(c, n->call.args[0],
			      "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"%s\"",
			      labels_get(&s->ls, NAME));
}

static int eval_range_fn(ev_ctx *c, const promql_node *n, int64_t t, ev_value *args, size_t mi, ev_value *out)
{
	promql_func_id id = n->call.func->id;
	ev_matrix *m = &args[mi].mat;
	int64_t re = args[mi].range_end, rms = args[mi].range_ms;
	if (id == PROMQL_FN_ABSENT_OVER_TIME) {
		if (out_init(c, out, 1) < 0)
			return -1;
		bool any = false;
		for (size_t i = 0; i < m->n && !any; i++) {
			ev_series tmp;
			long got = m->s[i].pts || !m->s[i].ref ? (long)m->s[i].n : promql__stream(c, &args[mi], &m->s[i], &tmp);
			if (got < 0)
				return -1;
			any = got > 0;
		}
		if (!any)
			emit(out, absent_labels(c, n->call.args[0]), 1, t, false);
		return 0;
	}
	if (out_init(c, out, m->n) < 0)
		return -1;
	double sarg = mi == 0 ? (n->call.n_args > 1 ? args[1].scalar : 0) : args[0].scalar;
	uint8_t ext = args[mi].ext;
	if (ext == 1 && id != PROMQL_FN_RESETS && id != PROMQL_FN_CHANGES && id != PROMQL_FN_RATE &&
	    id != PROMQL_FN_INCREASE && id != PROMQL_FN_DELTA)
		return promql__errorf(c, "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with %s",
				      n->call.func->name);
	if (ext == 2 && id != PROMQL_FN_RATE && id != PROMQL_FN_INCREASE && id != PROMQL_FN_DELTA)
		return promql__errorf(c, "smoothed modifier can only be used with: delta, increase, rate - not with %s",
				      n->call.func->name);
	bool keep_name = id == PROMQL_FN_LAST_OVER_TIME || id == PROMQL_FN_FIRST_OVER_TIME;
	for (size_t i = 0; i < m->n; i++) {
		if ((i & 1023) == 1023 && promql__check_deadline(c) < 0)
			return -1;
		const ev_series *s = &m->s[i];
		ev_series streamed;
		if (!s->pts && s->ref) {
			long got = promql__stream(c, &args[mi], s, &streamed);
			if (got < 0)
				return -1;
			s = &streamed;
		}
		const tsdb_sample *p = s->pts;
		size_t np = s->n;
		if (np == 0)
			continue;
		/* argument checks apply once a series has samples, as in Prometheus */
		if (id == PROMQL_FN_QUANTILE_OVER_TIME) {
			double q = args[0].scalar;
			if (isnan(q) || q < 0 || q > 1) {
				char b[FMT_FLOAT_MAX];
				fmt_float_go(b, q, 'g');
				promql__warnf(c, n->call.args[0], "quantile value should be between 0 and 1, got %s", b);
			}
		}
		if (id == PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING) {
			double sf = args[1].scalar, tf = args[2].scalar;
			if (sf <= 0 || sf >= 1)
				return promql__errorf(c, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
			if (tf <= 0 || tf >= 1)
				return promql__errorf(c, "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
		}
		double v = 0;
		bool ok = true;
		if (ext == 1 && (id == PROMQL_FN_CHANGES || id == PROMQL_FN_RESETS)) {
			/* anchored: start from the last sample at or before the range start */
			size_t le = promql__upper_bound(p, np, re - rms);
			if (le >= np)
				continue;
			if (le > 0) {
				p += le - 1;
				np -= le - 1;
			}
		}
		switch (id) {
		case PROMQL_FN_RATE:
			v = ext ? extended_rate(s, re, rms, ext == 2, true, true, &ok) : extrapolated_rate(s, re, rms, true, true, &ok);
			break;
		case PROMQL_FN_INCREASE:
			v = ext ? extended_rate(s, re, rms, ext == 2, true, false, &ok)
				: extrapolated_rate(s, re, rms, true, false, &ok);
			break;
		case PROMQL_FN_DELTA:
			v = ext ? extended_rate(s, re, rms, ext == 2, false, false, &ok)
				: extrapolated_rate(s, re, rms, false, false, &ok);
			break;
		case PROMQL_FN_IRATE:
			v = instant_value(s, true, &ok);
			break;
		case PROMQL_FN_IDELTA:
			v = instant_value(s, false, &ok);
			break;
		case PROMQL_FN_DERIV: {
			if (np < 2) {
				ok = false;
				break;
			}
			double icept;
			linear_regression(p, np, p[0].t, &v, &icept);
			break;
		}
		case PROMQL_FN_PREDICT_LINEAR: {
			if (np < 2) {
				ok = false;
				break;
			}
			double slope, icept;
			linear_regression(p, np, t, &slope, &icept);
			v = slope * sarg + icept;
			break;
		}
		case PROMQL_FN_DOUBLE_EXPONENTIAL_SMOOTHING: {
			if (np < 2) {
				ok = false;
				break;
			}
			double sf = args[1].scalar, tf = args[2].scalar;
			double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
			for (size_t k = 1; k < np; k++) {
				double x = sf * p[k].v;
				b = trend((int)k - 1, tf, s0, s1, b);
				double y = (1 - sf) * (s1 + b);
				s0 = s1;
				s1 = x + y;
			}
			v = s1;
			break;
		}
		case PROMQL_FN_CHANGES: {
			double ch = 0;
			for (size_t k = 1; k < np; k++) {
				double a = p[k - 1].v, b = p[k].v;
				if (a != b && !(isnan(a) && isnan(b)))
					ch++;
			}
			v = ch;
			break;
		}
		case PROMQL_FN_RESETS: {
			double r = 0;
			for (size_t k = 1; k < np; k++)
				if (p[k].v < p[k - 1].v)
					r++;
			v = r;
			break;
		}
		case PROMQL_FN_AVG_OVER_TIME:
			v = avg_over(p, np);
			break;
		case PROMQL_FN_SUM_OVER_TIME: {
			double sum = 0, kc = 0;
			for (size_t k = 0; k < np; k++)
				sum = promql__kahan_inc(p[k].v, sum, &kc);
			v = isinf(sum) ? sum : sum + kc;
			break;
		}
		case PROMQL_FN_COUNT_OVER_TIME:
			v = (double)np;
			break;
		case PROMQL_FN_MIN_OVER_TIME:
		case PROMQL_FN_MAX_OVER_TIME:
		case PROMQL_FN_TS_OF_MIN_OVER_TIME:
		case PROMQL_FN_TS_OF_MAX_OVER_TIME: {
			double best = p[0].v;
			int64_t bt = p[0].t;
			for (size_t k = 0; k < np; k++) {
				double f = p[k].v;
				bool take;
				switch (id) {
				case PROMQL_FN_MIN_OVER_TIME: take = f < best || isnan(best); break;
				case PROMQL_FN_MAX_OVER_TIME: take = f > best || isnan(best); break;
				case PROMQL_FN_TS_OF_MIN_OVER_TIME: take = f <= best || isnan(best); break;
				default: take = f >= best || isnan(best); break;
				}
				if (take) {
					best = f;
					bt = p[k].t;
				}
			}
			v = (id == PROMQL_FN_MIN_OVER_TIME || id == PROMQL_FN_MAX_OVER_TIME) ? best : (double)bt / 1000;
			break;
		}
		case PROMQL_FN_LAST_OVER_TIME:
			v = p[np - 1].v;
			break;
		case PROMQL_FN_FIRST_OVER_TIME:
			v = p[0].v;
			break;
		case PROMQL_FN_TS_OF_LAST_OVER_TIME:
			v = (double)p[np - 1].t / 1000;
			break;
		case PROMQL_FN_TS_OF_FIRST_OVER_TIME:
			v = (double)p[0].t / 1000;
			break;
		case PROMQL_FN_PRESENT_OVER_TIME:
			v = 1;
			break;
		case PROMQL_FN_STDDEV_OVER_TIME:
			v = sqrt(variance_over(p, np));
			break;
		case PROMQL_FN_STDVAR_OVER_TIME:
			v = variance_over(p, np);
			break;
		case PROMQL_FN_QUANTILE_OVER_TIME:
		case PROMQL_FN_MAD_OVER_TIME: {
			double *vals = arena_alloc(c->sa, np * sizeof *vals);
			if (!vals)
				return promql__oom(c);
			bool has_nan = false;
			for (size_t k = 0; k < np; k++) {
				vals[k] = p[k].v;
				has_nan |= isnan(vals[k]);
			}
			if (id == PROMQL_FN_QUANTILE_OVER_TIME) {
				v = promql__quantile(args[0].scalar, vals, np);
			} else if (has_nan) {
				v = NAN;
			} else {
				double med = promql__quantile(0.5, vals, np);
				for (size_t k = 0; k < np; k++)
					vals[k] = fabs(vals[k] - med);
				v = promql__quantile(0.5, vals, np);
			}
			break;
		}
		default:
			return promql__errorf(c, "function %s is not supported", n->call.func->name);
		}
		if (!ok)
			continue;
		emit(out, s->ls, v, t, keep_name ? s->drop_name : true);
		if (id == PROMQL_FN_RATE || id == PROMQL_FN_INCREASE)
			promql__counter_info(c, n, s);
	}
	return 0;
}

/* Go's math.Min/Max: NaN wins; -0 < +0. */
static double go_min(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && b == 0)
		return signbit(a) ? a : b;
	return a < b ? a : b;
}

static double go_max(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && b == 0)
		return signbit(a) ? b : a;
	return a > b ? a : b;
}

/* ---- range functions in range queries, series by series ---- */

static ev_rowcall *find_rowcall(ev_ctx *c, const promql_node *n)
{
	for (size_t i = 0; i < c->n_rows; i++)
		if (c->rows[i].node == n)
			return &c->rows[i];
	return NULL;
}

/* Evaluates the call for every step of the query, one series at a time: the series' samples for
 * the whole query are read once, windows slide over them, and each (series, step) goes through
 * eval_range_fn with a one-series matrix (rate, increase and delta inline). Results are kept as
 * rows of values in the query arena, or, with a sink, handed to it one row at a time from one
 * reused buffer (the rowcall is then consumed). */
static int build_rows(ev_ctx *c, ev_rowcall *rc, const ev_row_sink *sink)
{
	const promql_node *n = rc->node;
	const promql_node *msel = rc->msel;
	const promql_vector_selector *vs = &msel->matrix.vs->vs;
	size_t na = n->call.n_args, mi = rc->mi;
	int64_t step = rc->g_step, range = msel->matrix.range_ms, off = vs->offset_ms;
	uint8_t ext = vs->smoothed ? 2 : vs->anchored ? 1 : 0;
	int64_t back = ext ? c->lookback : 0, fwd = ext == 2 ? c->lookback : 0;
	size_t nsteps = (size_t)((rc->g_end - rc->g_start) / step) + 1;
	rc->nsteps = nsteps;
	arena *saved = c->sa;
	arena scratch;
	arena_init(&scratch, 0);
	int ret = -1;
	double *sink_vals = NULL;
	uint8_t *sink_present = NULL;
	/* the scalar arguments at every step */
	double **sv = arena_calloc(c->qa, na, sizeof *sv);
	ev_value *args = arena_calloc(c->qa, na, sizeof *args);
	if (!sv || !args) {
		promql__oom(c);
		goto out;
	}
	for (size_t j = 0; j < na; j++) {
		if (j == mi)
			continue;
		sv[j] = arena_alloc(c->qa, nsteps * sizeof **sv);
		if (!sv[j]) {
			promql__oom(c);
			goto out;
		}
		for (size_t k = 0; k < nsteps; k++) {
			arena_reset(&scratch);
			c->sa = &scratch;
			ev_value v;
			if (promql__eval(c, n->call.args[j], rc->g_start + (int64_t)k * step, &v) < 0)
				goto out;
			sv[j][k] = v.scalar;
		}
	}
	/* argument checks that Prometheus makes before looking at data (modifier/function pairs) */
	args[mi].type = PROMQL_TYPE_MATRIX;
	args[mi].ext = ext;
	{
		arena_reset(&scratch);
		c->sa = &scratch;
		ev_value o;
		if (eval_range_fn(c, n, rc->g_start, args, mi, &o) < 0)
			goto out;
	}
	ev_selcache *sc = promql__sel(c, msel->matrix.vs);
	if (!sc)
		goto out;
	promql_func_id id = n->call.func->id;
	if (ext == 0 && (id == PROMQL_FN_RATE || id == PROMQL_FN_INCREASE || id == PROMQL_FN_DELTA)) {
		if (promql__rate_rows(c, rc, sc, sink) < 0)
			goto out;
		goto built;
	}
	if (sink) {
		sink_vals = malloc(nsteps * sizeof *sink_vals);
		sink_present = calloc(nsteps, 1);
		if (!sink_vals || !sink_present) {
			promql__oom(c);
			goto out;
		}
	} else {
		rc->ls = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->ls);
		rc->drop = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->drop);
		rc->vals = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->vals);
		rc->present = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->present);
		if (!rc->ls || !rc->drop || !rc->vals || !rc->present) {
			promql__oom(c);
			goto out;
		}
	}
	size_t total = 0;
	int64_t lo_all = rc->g_start - off - range - back, hi_all = rc->g_end - off + fwd;
	for (size_t i = 0; i < sc->n; i++) {
		if ((i & 255) == 255 && promql__check_deadline(c) < 0)
			goto out;
		long np = promql__read_series(c, sc->refs[i], lo_all, hi_all);
		if (np < 0)
			goto out;
		if (np == 0)
			continue;
		const tsdb_sample *p = c->sbuf;
		double *vals = NULL;
		uint8_t *present = NULL;
		bool drop = true;
		size_t lo = 0, hi = 0;
		arena_reset(&scratch);
		c->sa = &scratch;
		if (!sc->counter_name[i])
			sc->counter_name[i] = promql__counter_name(&sc->ls[i]);
		for (size_t k = 0; k < nsteps; k++) {
			int64_t t = rc->g_start + (int64_t)k * step, ts = t - off;
			while (lo < (size_t)np && p[lo].t <= ts - range - back)
				lo++;
			if (hi < lo)
				hi = lo;
			while (hi < (size_t)np && p[hi].t <= ts + fwd)
				hi++;
			if (hi <= lo)
				continue;
			if (hi - lo > c->max_samples) { /* Prometheus counts the window of a step */
				promql__account(c, hi - lo);
				goto out;
			}
			ev_series win = {sc->ls[i], p + lo, hi - lo, false, sc->counter_name[i], 0};
			for (size_t j = 0; j < na; j++)
				if (j != mi) {
					args[j].type = PROMQL_TYPE_SCALAR;
					args[j].scalar = sv[j][k];
				}
			args[mi].mat = (ev_matrix){&win, 1};
			args[mi].range_end = ts;
			args[mi].range_ms = range;
			ev_value o;
			if (eval_range_fn(c, n, t, args, mi, &o) < 0)
				goto out;
			if (o.vec.n == 0)
				continue;
			double v = o.vec.s[0].v;
			drop = o.vec.s[0].drop_name;
			if (!vals) {
				vals = sink ? sink_vals : arena_alloc(c->qa, nsteps * sizeof *vals);
				present = sink ? sink_present : arena_calloc(c->qa, nsteps, 1);
				if (!vals || !present) {
					promql__oom(c);
					goto out;
				}
			}
			vals[k] = v;
			present[k] = 1;
			if (++total > c->max_samples) {
				promql__account(c, total);
				goto out;
			}
		}
		if (vals && sink) {
			if (sink->fn(sink->ud, &sc->ls[i], drop, vals, present) < 0)
				goto out;
			memset(present, 0, nsteps);
		} else if (vals) {
			rc->ls[rc->nrows] = sc->ls[i];
			rc->drop[rc->nrows] = drop;
			rc->vals[rc->nrows] = vals;
			rc->present[rc->nrows++] = present;
		}
	}
built:
	rc->built = true;
	rc->consumed = sink != NULL;
	ret = 0;
out:
	c->sa = saved;
	arena_deinit(&scratch);
	free(sink_vals);
	free(sink_present);
	return ret;
}

static int serve_rows(ev_ctx *c, ev_rowcall *rc, int64_t t, ev_value *out)
{
	if (!rc->built && build_rows(c, rc, NULL) < 0)
		return -1;
	if (rc->consumed)
		return promql__errorf(c, "internal error: rows of %s already consumed", rc->node->call.func->name);
	size_t k = (size_t)((t - rc->g_start) / rc->g_step);
	if (out_init(c, out, rc->nrows) < 0)
		return -1;
	for (size_t r = 0; r < rc->nrows; r++)
		if (rc->present[r][k])
			emit(out, rc->ls[r], rc->vals[r][k], t, rc->drop[r]);
	return 0;
}

int promql__rowcall_each(ev_ctx *c, const promql_node *n, int64_t t, const ev_row_sink *sink, ev_grid *grid)
{
	ev_rowcall *rc = c->n_rows ? find_rowcall(c, n) : NULL;
	if (!rc || t < rc->g_start || t > rc->g_end || (t - rc->g_start) % rc->g_step != 0)
		return 0;
	if (rc->consumed)
		return promql__errorf(c, "internal error: rows of %s already consumed", n->call.func->name);
	*grid = (ev_grid){rc->g_start, rc->g_step, (size_t)((rc->g_end - rc->g_start) / rc->g_step) + 1};
	if (!rc->built)
		return build_rows(c, rc, sink) < 0 ? -1 : 1;
	for (size_t r = 0; r < rc->nrows; r++)
		if (sink->fn(sink->ud, &rc->ls[r], rc->drop[r], rc->vals[r], rc->present[r]) < 0)
			return -1;
	return 1;
}

/* ---- dates ---- */

static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	/* Howard Hinnant's days-from-civil inverse */
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static double date_fn(promql_func_id id, double secs_f)
{
	/* Go's int64(f) on amd64: NaN and out-of-range values become math.MinInt64 */
	int64_t secs = (isnan(secs_f) || secs_f >= 9.223372036854775807e18 || secs_f < -9.223372036854775808e18)
			       ? INT64_MIN
			       : (int64_t)secs_f;
	int64_t days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	switch (id) {
	case PROMQL_FN_DAY_OF_MONTH: return d;
	case PROMQL_FN_DAY_OF_WEEK: {
		int64_t w = (days + 4) % 7;
		return (double)(w < 0 ? w + 7 : w);
	}
	case PROMQL_FN_DAY_OF_YEAR: {
		int doy = (int)d;
		for (unsigned k = 1; k < m; k++)
			doy += mdays[k - 1] + (k == 2 && leap(y));
		return doy;
	}
	case PROMQL_FN_DAYS_IN_MONTH: return mdays[m - 1] + (m == 2 && leap(y));
	case PROMQL_FN_HOUR: return (double)(rem / 3600);
	case PROMQL_FN_MINUTE: return (double)(rem % 3600 / 60);
	case PROMQL_FN_MONTH: return m;
	case PROMQL_FN_YEAR: return (double)y;
	default: return NAN;
	}
}

/* ---- natural sort as github.com/facette/natsort ---- */

static size_t chunk(const char *s, size_t i, size_t n)
{
	bool dig = s[i] >= '0' && s[i] <= '9';
	size_t j = i;
	while (j < n && ((s[j] >= '0' && s[j] <= '9') == dig))
		j++;
	return j;
}

static bool atoi_ok(const char *s, size_t n, long long *v)
{
	if (n == 0 || n > 18)
		return false;
	long long r = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return true;
}

static bool natless(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	/* count chunks */
	size_t ia = 0, ib = 0;
	while (ia < na) {
		size_t ea = chunk(a, ia, na);
		if (ib >= nb)
			return false;
		size_t eb = chunk(b, ib, nb);
		bool lasta = ea >= na, lastb = eb >= nb;
		long long x, y;
		if (atoi_ok(a + ia, ea - ia, &x) && atoi_ok(b + ib, eb - ib, &y)) {
			if (x == y) {
				if (lasta)
					return true;
				if (lastb)
					return false;
				ia = ea;
				ib = eb;
				continue;
			}
			return x < y;
		}
		size_t la = ea - ia, lb = eb - ib;
		if (la == lb && memcmp(a + ia, b + ib, la) == 0) {
			if (lasta)
				return true;
			if (lastb)
				return false;
			ia = ea;
			ib = eb;
			continue;
		}
		int r = memcmp(a + ia, b + ib, la < lb ? la : lb);
		if (r == 0)
			return la < lb;
		return r < 0;
	}
	return false;
}

typedef struct sort_item {
	ev_sample s;
	size_t idx;
} sort_item;

static int cmp_asc(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	bool xn = isnan(x->s.v), yn = isnan(y->s.v);
	if (xn != yn)
		return xn - yn;
	if (!xn && x->s.v != y->s.v)
		return x->s.v < y->s.v ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_desc(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	bool xn = isnan(x->s.v), yn = isnan(y->s.v);
	if (xn != yn)
		return xn - yn;
	if (!xn && x->s.v != y->s.v)
		return x->s.v > y->s.v ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_by_label(const sort_item *x, const sort_item *y, const char **lb, size_t nl)
{
	for (size_t i = 0; i < nl; i++) {
		const char *a = labels_get(&x->s.ls, lb[i]), *b = labels_get(&y->s.ls, lb[i]);
		if (!a)
			a = "";
		if (!b)
			b = "";
		if (strcmp(a, b) == 0)
			continue;
		return natless(a, b) ? -1 : 1;
	}
	return labels_cmp(&x->s.ls, &y->s.ls);
}

/* Stable merge sort of it[0..n) by the labels lb (natural order), then the whole label set;
 * tmp has room for n items. O(n log n) comparisons. */
static void sort_by_label_rec(sort_item *it, sort_item *tmp, size_t n, const char **lb, size_t nl, bool desc)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_by_label_rec(it, tmp, h, lb, nl, desc);
	sort_by_label_rec(it + h, tmp, n - h, lb, nl, desc);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n) {
		int r = cmp_by_label(&it[i], &it[j], lb, nl);
		/* take from the right only when it sorts strictly before the left (stability) */
		if (desc ? r < 0 : r > 0)
			tmp[k++] = it[j++];
		else
			tmp[k++] = it[i++];
	}
	while (i < h)
		tmp[k++] = it[i++];
	while (j < n)
		tmp[k++] = it[j++];
	memcpy(it, tmp, n * sizeof *it);
}

static int sort_by_label(ev_ctx *c, sort_item *it, size_t n, const char **lb, size_t nl, bool desc)
{
	sort_item *tmp = arena_alloc(c->sa, (n ? n : 1) * sizeof *tmp);
	if (!tmp)
		return promql__oom(c);
	sort_by_label_rec(it, tmp, n, lb, nl, desc);
	return 0;
}

/* ---- label_replace / label_join ---- */

static bool valid_label_name(const char *s, size_t n)
{
	return n > 0 && slod_utf8_valid(s, n);
}

/* A small open-addressing index from label-set hash to element index (in the step arena). */
typedef struct lindex {
	uint64_t *h;
	uint32_t *v; /* index + 1; 0 empty */
	size_t cap;
} lindex;

static int lindex_init(ev_ctx *c, lindex *x, size_t n)
{
	x->cap = 16;
	while (x->cap < 2 * n + 2)
		x->cap *= 2;
	x->h = arena_alloc(c->sa, x->cap * sizeof *x->h);
	x->v = arena_calloc(c->sa, x->cap, sizeof *x->v);
	if (!x->h || !x->v)
		return promql__oom(c);
	return 0;
}

/* The slot for hash h whose element equals ls (eq(idx) decides), or the empty slot to fill. */
static uint32_t *lindex_slot(lindex *x, uint64_t h, bool (*eq)(const void *ctx, size_t idx), const void *ctx)
{
	size_t i = (size_t)(h ^ (h >> 33)) & (x->cap - 1);
	while (x->v[i]) {
		if (x->h[i] == h && eq(ctx, x->v[i] - 1))
			break;
		i = (i + 1) & (x->cap - 1);
	}
	x->h[i] = h;
	return &x->v[i];
}

typedef struct vec_eq_ctx {
	const ev_vector *v;
	const slod_labels *ls;
} vec_eq_ctx;

static bool vec_eq(const void *ctx, size_t idx)
{
	const vec_eq_ctx *e = ctx;
	return labels_equal(&e->v->s[idx].ls, e->ls);
}

static int dup_check(ev_ctx *c, const ev_vector *v)
{
	if (v->n < 2)
		return 0;
	lindex x;
	if (lindex_init(c, &x, v->n) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		vec_eq_ctx e = {v, &v->s[i].ls};
		uint32_t *slot = lindex_slot(&x, labels_hash(&v->s[i].ls), vec_eq, &e);
		if (*slot)
			return promql__errorf(c, "vector cannot contain metrics with the same labelset");
		*slot = (uint32_t)i + 1;
	}
	return 0;
}

static int expand_template(buf *b, const char *tpl, size_t tl, const promql_regex *re, const char *src, const long *ov,
			   int ng)
{
	for (size_t i = 0; i < tl; i++) {
		if (tpl[i] != '$' || i + 1 >= tl) {
			buf_putc(b, tpl[i]);
			continue;
		}
		size_t j = i + 1;
		const char *name;
		size_t nl;
		if (tpl[j] == '$') {
			buf_putc(b, '$');
			i = j;
			continue;
		}
		if (tpl[j] == '{') {
			j++;
			size_t k = j;
			while (k < tl && tpl[k] != '}')
				k++;
			if (k >= tl) {
				buf_putc(b, '$');
				continue;
			}
			name = tpl + j;
			nl = k - j;
			j = k + 1;
		} else {
			size_t k = j;
			while (k < tl && ((tpl[k] >= 'a' && tpl[k] <= 'z') || (tpl[k] >= 'A' && tpl[k] <= 'Z') ||
					  (tpl[k] >= '0' && tpl[k] <= '9') || tpl[k] == '_'))
				k++;
			name = tpl + j;
			nl = k - j;
			j = k;
		}
		if (nl == 0) {
			buf_putc(b, '$');
			continue;
		}
		bool num = true;
		long gi = 0;
		for (size_t k = 0; k < nl; k++) {
			if (name[k] < '0' || name[k] > '9') {
				num = false;
				break;
			}
			gi = gi * 10 + (name[k] - '0');
			if (gi > 100000)
				gi = 100000;
		}
		if (!num) {
			char nb[128];
			if (nl < sizeof nb) {
				memcpy(nb, name, nl);
				nb[nl] = 0;
				gi = promql_regex_group_index(re, nb);
			} else {
				gi = -1;
			}
		}
		if (gi >= 0 && gi < ng && ov[2 * gi] >= 0)
			buf_append(b, src + ov[2 * gi], (size_t)(ov[2 * gi + 1] - ov[2 * gi]));
		i = j - 1;
	}
	return 0;
}

static int label_replace(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	const promql_node *const *a = (const promql_node *const *)n->call.args;
	const char *dst = unparen(a[1])->string.value, *repl = unparen(a[2])->string.value;
	size_t repl_len = unparen(a[2])->string.len;
	const char *src = unparen(a[3])->string.value;
	const promql_node *ren = unparen(a[4]);
	promql_regex *re = promql__cache_get(c, n);
	if (!re) {
		char err[256];
		int rrc = promql_regex_compile(ren->string.value, ren->string.len, c->qa, &re, err, sizeof err);
		if (rrc == -2)
			return promql__oom(c);
		if (rrc != 0)
			return promql__errorf(c, "invalid regular expression in label_replace(): %s", ren->string.value);
		if (promql__cache_put(c, n, re) < 0)
			return -1;
	}
	if (!valid_label_name(dst, unparen(a[1])->string.len))
		return promql__errorf(c, "invalid destination label name in label_replace(): %s", dst);
	ev_value in;
	if (promql__eval(c, a[0], t, &in) < 0)
		return -1;
	if (out_init(c, out, in.vec.n) < 0)
		return -1;
	int ng = promql_regex_group_count(re) + 1;
	long *ov = arena_alloc(c->sa, (size_t)ng * 2 * sizeof *ov);
	if (!ov)
		return promql__oom(c);
	for (size_t i = 0; i < in.vec.n; i++) {
		ev_sample s = in.vec.s[i];
		const char *sv = labels_get(&s.ls, src);
		if (!sv)
			sv = "";
		int r = promql_regex_match_groups(re, sv, strlen(sv), ov, ng);
		if (r > 0) {
			buf b;
			buf_init(&b, 0);
			/* reserve the most the expansion can take (each $ref at most the whole source), so
			 * expand_template's appends cannot fail half-way and cut the value */
			size_t bound = repl_len + 1, svl = strlen(sv);
			for (size_t k = 0; k < repl_len; k++)
				if (repl[k] == '$')
					bound += svl;
			if (buf_reserve(&b, bound) != 0)
				return promql__oom(c);
			expand_template(&b, repl, repl_len, re, sv, ov, r);
			const char *val = arena_strndup(c->sa, b.data ? b.data : "", b.len);
			buf_deinit(&b);
			if (!val)
				return promql__oom(c);
			s.ls = promql__labels_set(c->sa, &s.ls, dst, val);
			if (!s.ls.v)
				return promql__oom(c);
			if (strcmp(dst, NAME) == 0)
				s.drop_name = false;
		}
		s.t = t;
		out->vec.s[out->vec.n++] = s;
	}
	return dup_check(c, &out->vec);
}

static int label_join(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	const promql_node *const *a = (const promql_node *const *)n->call.args;
	const char *dst = unparen(a[1])->string.value;
	const char *sep = unparen(a[2])->string.value;
	size_t nsrc = n->call.n_args - 3;
	for (size_t k = 0; k < nsrc; k++) {
		const promql_node *sn = unparen(a[3 + k]);
		if (!valid_label_name(sn->string.value, sn->string.len))
			return promql__errorf(c, "invalid source label name in label_join(): %s", sn->string.value);
	}
	if (!valid_label_name(dst, unparen(a[1])->string.len))
		return promql__errorf(c, "invalid destination label name in label_join(): %s", dst);
	ev_value in;
	if (promql__eval(c, a[0], t, &in) < 0)
		return -1;
	if (out_init(c, out, in.vec.n) < 0)
		return -1;
	for (size_t i = 0; i < in.vec.n; i++) {
		ev_sample s = in.vec.s[i];
		buf b;
		buf_init(&b, 0);
		int brc = 0; /* an append that fails must not leave a cut value */
		for (size_t k = 0; k < nsrc; k++) {
			if (k)
				brc |= buf_puts(&b, sep);
			const char *v = labels_get(&s.ls, unparen(a[3 + k])->string.value);
			if (v)
				brc |= buf_puts(&b, v);
		}
		const char *val = brc ? NULL : arena_strndup(c->sa, b.data ? b.data : "", b.len);
		buf_deinit(&b);
		if (!val)
			return promql__oom(c);
		s.ls = promql__labels_set(c->sa, &s.ls, dst, val);
		if (!s.ls.v)
			return promql__oom(c);
		if (strcmp(dst, NAME) == 0)
			s.drop_name = false;
		s.t = t;
		out->vec.s[out->vec.n++] = s;
	}
	return dup_check(c, &out->vec);
}

/* ---- classic histograms ---- */

typedef struct bucket {
	double ub, count;
} bucket;

typedef struct hgroup {
	slod_labels ls; /* labels without le */
	uint64_t sig;
	bucket *b;
	size_t n, cap;
} hgroup;

typedef struct hg_eq_ctx {
	const hgroup *g;
	const slod_labels *ls;
} hg_eq_ctx;

static bool hg_eq(const void *ctx, size_t idx)
{
	const hg_eq_ctx *e = ctx;
	return labels_equal(&e->g[idx].ls, e->ls);
}

static int cmp_bucket(const void *a, const void *b)
{
	double x = ((const bucket *)a)->ub, y = ((const bucket *)b)->ub;
	return (x > y) - (x < y);
}

static size_t coalesce(bucket *b, size_t n)
{
	bucket last = b[0];
	size_t i = 0;
	for (size_t k = 1; k < n; k++) {
		if (b[k].ub == last.ub) {
			last.count += b[k].count;
		} else {
			b[i++] = last;
			last = b[k];
		}
	}
	b[i++] = last;
	return i;
}

static bool almost_eq(double a, double b, double eps)
{
	if (isnan(a) && isnan(b))
		return true;
	if (a == b)
		return true;
	const double min_normal = 2.2250738585072014e-308;
	double abs_sum = fabs(a) + fabs(b), diff = fabs(a - b);
	if (a == 0 || b == 0 || abs_sum < min_normal)
		return diff < eps * min_normal;
	return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

typedef struct mono_fix {
	bool forced;
	double min_bucket, max_bucket, max_diff;
} mono_fix;

static double bucket_quantile(double q, bucket *b, size_t n, mono_fix *mf)
{
	mf->forced = false;
	mf->min_bucket = INFINITY;
	mf->max_bucket = -INFINITY;
	mf->max_diff = 0;
	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof *b, cmp_bucket);
	if (!isinf(b[n - 1].ub) || b[n - 1].ub < 0)
		return NAN;
	n = coalesce(b, n);
	double prev = b[0].count;
	for (size_t i = 1; i < n; i++) {
		double cur = b[i].count;
		if (cur == prev)
			continue;
		if (almost_eq(prev, cur, 1e-12)) {
			b[i].count = prev;
			continue;
		}
		if (cur < prev) {
			b[i].count = prev;
			mf->forced = true;
			if (b[i].ub < mf->min_bucket)
				mf->min_bucket = b[i].ub;
			if (b[i].ub > mf->max_bucket)
				mf->max_bucket = b[i].ub;
			if (prev - cur > mf->max_diff)
				mf->max_diff = prev - cur;
			continue;
		}
		prev = cur;
	}
	if (n < 2)
		return NAN;
	double obs = b[n - 1].count;
	if (obs == 0)
		return NAN;
	double rank = q * obs;
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].count >= rank)
			hi = mid;
		else
			lo = mid + 1;
	}
	size_t k = lo;
	if (k == n - 1)
		return b[n - 2].ub;
	if (k == 0 && b[0].ub <= 0)
		return b[0].ub;
	double start = 0, end = b[k].ub, count = b[k].count;
	if (k > 0) {
		start = b[k - 1].ub;
		count -= b[k - 1].count;
		rank -= b[k - 1].count;
	}
	return start + (end - start) * (rank / count);
}

static double bucket_fraction(double lower, double upper, bucket *b, size_t n)
{
	qsort(b, n, sizeof *b, cmp_bucket);
	if (!isinf(b[n - 1].ub) || b[n - 1].ub < 0)
		return NAN;
	n = coalesce(b, n);
	double count = b[n - 1].count;
	if (count == 0 || isnan(lower) || isnan(upper))
		return NAN;
	if (lower >= upper)
		return 0;
	double rank = 0, lrank = 0, urank = 0;
	bool lset = false, uset = false;
	double lb = 0;
	if (b[0].ub <= 0)
		lb = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			lb = b[i - 1].ub;
		double ub = b[i].ub;
		if (!lset && lb >= lower) {
			lrank = rank;
			lset = true;
		}
		if (!uset && lb >= upper) {
			urank = rank;
			uset = true;
		}
		if (lset && uset)
			break;
		if (!lset && lb < lower && ub > lower) {
			lrank = isinf(lb) && lb < 0 ? b[i].count : rank + (b[i].count - rank) * (lower - lb) / (ub - lb);
			lset = true;
		}
		if (!uset && lb < upper && ub > upper) {
			urank = isinf(lb) && lb < 0 ? b[i].count : rank + (b[i].count - rank) * (upper - lb) / (ub - lb);
			uset = true;
		}
		if (lset && uset)
			break;
		rank = b[i].count;
	}
	if (!lset || lrank > count)
		lrank = count;
	if (!uset || urank > count)
		urank = count;
	return (urank - lrank) / count;
}

/* FormatOpenMetricsFloat: "0.0", "1.0", "0.25", "+Inf", "NaN", integers get ".0". */
static void fmt_om_float(char *out, double f)
{
	if (isnan(f)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(f)) {
		strcpy(out, f > 0 ? "+Inf" : "-Inf");
		return;
	}
	fmt_float_go(out, f, 'g');
	if (!strpbrk(out, ".eE"))
		strcat(out, ".0");
}

/* histogram_quantile (nq == 1, qlabel NULL), histogram_quantiles (qlabel set) or
 * histogram_fraction (fraction: qs[0], qs[1] are lower, upper). */
static int classic_histogram(ev_ctx *c, const promql_node *n, int64_t t, const ev_vector *in, const double *qs,
			     size_t nq, const char *qlabel, bool fraction, const promql_node *vec_arg, ev_value *out)
{
	hgroup *g = arena_alloc(c->sa, (in->n ? in->n : 1) * sizeof *g);
	if (!g)
		return promql__oom(c);
	lindex gx;
	if (lindex_init(c, &gx, in->n) < 0)
		return -1;
	size_t ng = 0;
	const char *le_name = "le";
	for (size_t i = 0; i < in->n; i++) {
		const ev_sample *s = &in->s[i];
		const char *le = labels_get(&s->ls, le_name);
		char *end = NULL;
		double ub = 0;
		bool ok = false;
		if (le && *le) {
			if (strcasecmp(le, "+inf") == 0 || strcasecmp(le, "inf") == 0 || strcasecmp(le, "+infinity") == 0 ||
			    strcasecmp(le, "infinity") == 0) {
				ub = INFINITY;
				ok = true;
			} else if (strcasecmp(le, "-inf") == 0 || strcasecmp(le, "-infinity") == 0) {
				ub = -INFINITY;
				ok = true;
			} else if (strcasecmp(le, "nan") == 0) {
				ub = NAN;
				ok = true;
			} else {
				ub = strtod(le, &end);
				ok = end && *end == 0 && !isinf(ub) && end != le;
				if (!ok && end && *end == 0 && isinf(ub))
					ok = true; /* overflowing numbers: Go returns ±Inf with an error */
				if (isinf(ub) && strncasecmp(le, "0x", 2) != 0 && !strpbrk(le, "iI"))
					ok = false;
			}
		}
		if (!ok) {
			const char *mn = labels_get(&s->ls, NAME);
			promql__warnf(c, vec_arg, "bucket label \"le\" is missing or has a malformed value of \"%s\"%s%s%s",
				      le ? le : "", mn ? " for metric name \"" : "", mn ? mn : "", mn ? "\"" : "");
			continue;
		}
		slod_labels wo = promql__labels_without(c->sa, &s->ls, le_name);
		if (!wo.v)
			return promql__oom(c);
		uint64_t sig = labels_hash(&wo);
		hg_eq_ctx e = {g, &wo};
		uint32_t *slot = lindex_slot(&gx, sig, hg_eq, &e);
		if (!*slot) {
			g[ng] = (hgroup){wo, sig, NULL, 0, 0};
			*slot = (uint32_t)++ng;
		}
		hgroup *h = &g[*slot - 1];
		if (h->n == h->cap) {
			size_t nc = h->cap ? h->cap * 2 : 8;
			bucket *nb = arena_alloc(c->sa, nc * sizeof *nb);
			if (!nb)
				return promql__oom(c);
			if (h->n)
				memcpy(nb, h->b, h->n * sizeof *nb);
			h->b = nb;
			h->cap = nc;
		}
		h->b[h->n++] = (bucket){ub, s->v};
	}
	size_t nout = fraction ? 1 : nq;
	if (out_init(c, out, ng * nout) < 0)
		return -1;
	size_t maxb = 0;
	for (size_t k = 0; k < ng; k++)
		if (g[k].n > maxb)
			maxb = g[k].n;
	bucket *tmp = arena_alloc(c->sa, (maxb ? maxb : 1) * sizeof *tmp);
	if (!tmp)
		return promql__oom(c);
	for (size_t qi = 0; qi < nout; qi++) {
		for (size_t k = 0; k < ng; k++) {
			if (g[k].n == 0)
				continue;
			memcpy(tmp, g[k].b, g[k].n * sizeof *tmp);
			double v;
			if (fraction) {
				v = bucket_fraction(qs[0], qs[1], tmp, g[k].n);
			} else {
				mono_fix mf;
				v = bucket_quantile(qs[qi], tmp, g[k].n, &mf);
				if (mf.forced)
					promql__mono_info(c, vec_arg, labels_get(&g[k].ls, NAME), t, mf.min_bucket, mf.max_bucket,
							  mf.max_diff);
			}
			slod_labels ls = g[k].ls;
			if (qlabel) {
				char qb[FMT_FLOAT_MAX + 4];
				fmt_om_float(qb, qs[qi]);
				const char *qv = arena_strdup(c->sa, qb);
				if (!qv)
					return promql__oom(c);
				ls = promql__labels_set(c->sa, &ls, qlabel, qv);
				if (!ls.v)
					return promql__oom(c);
			}
			emit(out, ls, v, t, true);
		}
	}
	(void)n;
	return 0;
}

/* ---- info() (experimental) ---- */

static const char *const id_labels[] = {"instance", "job"};

bool promql__matcher_match(const tsdb_matcher *m, const char *v)
{
	if (!v)
		v = "";
	switch (m->type) {
	case TSDB_MATCH_EQ: return strcmp(m->value, v) == 0;
	case TSDB_MATCH_NEQ: return strcmp(m->value, v) != 0;
	case TSDB_MATCH_RE: return m->re_match(m->re, v, strlen(v));
	case TSDB_MATCH_NRE: return !m->re_match(m->re, v, strlen(v));
	}
	return false;
}

bool promql__info_at_offset(const promql_node *e, promql_at *at, int64_t *off)
{
	if (!e)
		return false;
	switch (e->kind) {
	case PROMQL_NODE_VECTOR_SELECTOR:
		*at = e->vs.at;
		*off = e->vs.offset_ms;
		return true;
	case PROMQL_NODE_MATRIX_SELECTOR:
		return promql__info_at_offset(e->matrix.vs, at, off);
	case PROMQL_NODE_SUBQUERY:
		if (!promql__info_at_offset(e->subquery.expr, at, off))
			return false;
		if (at->kind == PROMQL_AT_NONE) {
			*off += e->subquery.offset_ms;
			*at = e->subquery.at;
		}
		return true;
	case PROMQL_NODE_UNARY:
		return promql__info_at_offset(e->unary.expr, at, off);
	case PROMQL_NODE_PAREN:
		return promql__info_at_offset(e->paren.expr, at, off);
	case PROMQL_NODE_BINARY:
		return promql__info_at_offset(e->binary.lhs, at, off) || promql__info_at_offset(e->binary.rhs, at, off);
	case PROMQL_NODE_AGGREGATE:
		return promql__info_at_offset(e->aggregate.expr, at, off) ||
		       promql__info_at_offset(e->aggregate.param, at, off);
	case PROMQL_NODE_CALL:
		for (size_t i = 0; i < e->call.n_args; i++)
			if (promql__info_at_offset(e->call.args[i], at, off))
				return true;
		return false;
	default:
		return false;
	}
}

static const promql_vector_selector *info_label_selector(const promql_node *call)
{
	if (call->call.n_args < 2)
		return NULL;
	const promql_node *a = unparen(call->call.args[1]);
	return a->kind == PROMQL_NODE_VECTOR_SELECTOR ? &a->vs : NULL;
}

tsdb_matcher *promql__info_name_matchers(arena *a, const promql_node *call, size_t *n)
{
	const promql_vector_selector *ls = info_label_selector(call);
	size_t nn = 0;
	bool eq_or_re = false;
	for (size_t i = 0; ls && i < ls->n_matchers; i++)
		if (strcmp(ls->matchers[i].name, NAME) == 0) {
			nn++;
			eq_or_re |= ls->matchers[i].type == TSDB_MATCH_EQ || ls->matchers[i].type == TSDB_MATCH_RE;
		}
	tsdb_matcher *m = arena_alloc(a, (nn + 1) * sizeof *m);
	*n = 0;
	if (!m)
		return NULL;
	if (nn == 0) {
		m[0] = (tsdb_matcher){TSDB_MATCH_EQ, NAME, "target_info", NULL, NULL};
		*n = 1;
		return m;
	}
	size_t k = 0;
	if (!eq_or_re) {
		promql_regex *re;
		char err[128];
		if (promql_regex_compile(".+_info", 7, a, &re, err, sizeof err) != 0)
			return NULL;
		m[k++] = (tsdb_matcher){TSDB_MATCH_RE, NAME, ".+_info", promql_regex_match, re};
	}
	for (size_t i = 0; i < ls->n_matchers; i++)
		if (strcmp(ls->matchers[i].name, NAME) == 0)
			m[k++] = ls->matchers[i];
	*n = k;
	return m;
}

int promql__info_matchers(arena *a, const promql_node *call, tsdb_matcher **out, size_t *n)
{
	const promql_vector_selector *ls = info_label_selector(call);
	size_t nname;
	tsdb_matcher *names = promql__info_name_matchers(a, call, &nname);
	if (!names)
		return -1;
	size_t total = nname + (ls ? ls->n_matchers : 0);
	tsdb_matcher *m = arena_alloc(a, (total ? total : 1) * sizeof *m);
	if (!m)
		return -1;
	size_t k = 0;
	for (size_t i = 0; ls && i < ls->n_matchers; i++)
		if (strcmp(ls->matchers[i].name, NAME) != 0)
			m[k++] = ls->matchers[i];
	for (size_t i = 0; i < nname; i++)
		m[k++] = names[i];
	*out = m;
	*n = k;
	return 0;
}

static uint64_t str_hash(const char *v)
{
	slod_label l = {"", v};
	slod_labels ls = {&l, 1};
	return labels_hash(&ls);
}

typedef struct str_eq_ctx {
	const char **strs;
	const char *v;
} str_eq_ctx;

static bool str_eq(const void *ctx, size_t idx)
{
	const str_eq_ctx *e = ctx;
	return strcmp(e->strs[idx], e->v) == 0;
}

/* Hash of the identifying labels of ls (and its name when with_name). */
static uint64_t info_key_hash(const slod_labels *ls, bool with_name)
{
	slod_label l[3];
	size_t n = 0;
	const char *nm = labels_get(ls, NAME);
	if (with_name)
		l[n++] = (slod_label){NAME, nm ? nm : ""};
	for (size_t k = 0; k < 2; k++) {
		const char *v = labels_get(ls, id_labels[k]);
		l[n++] = (slod_label){id_labels[k], v ? v : ""};
	}
	slod_labels x = {l, n};
	return labels_hash(&x);
}

typedef struct info_eq_ctx {
	const slod_labels **info;
	const slod_labels *ls;
	bool with_name;
} info_eq_ctx;

static bool same_info_sig(const slod_labels *a, const slod_labels *b);

static bool info_eq(const void *ctx, size_t idx)
{
	const info_eq_ctx *e = ctx;
	if (!same_info_sig(e->info[idx], e->ls))
		return false;
	if (!e->with_name)
		return true;
	const char *x = labels_get(e->info[idx], NAME), *y = labels_get(e->ls, NAME);
	return strcmp(x ? x : "", y ? y : "") == 0;
}

/* The info-metric signature: name + the identifying labels of ls. */
static bool same_info_sig(const slod_labels *a, const slod_labels *b)
{
	for (size_t i = 0; i < 2; i++) {
		const char *x = labels_get(a, id_labels[i]), *y = labels_get(b, id_labels[i]);
		if (strcmp(x ? x : "", y ? y : "") != 0)
			return false;
	}
	return true;
}

static int eval_info(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	ev_value base;
	if (promql__eval(c, n->call.args[0], t, &base) < 0)
		return -1;
	const promql_vector_selector *lsel = info_label_selector(n);
	size_t nname;
	tsdb_matcher *names = promql__info_name_matchers(c->sa, n, &nname);
	if (!names)
		return promql__oom(c);
	ev_selcache *sc = promql__sel(c, n);
	if (!sc)
		return -1;
	if (out_init(c, out, base.vec.n) < 0)
		return -1;
	if (base.vec.n == 0)
		return 0;
	/* base series that are info metrics themselves are passed through */
	bool *ignore = arena_calloc(c->sa, base.vec.n, sizeof *ignore);
	if (!ignore)
		return promql__oom(c);
	bool any_id = false;
	for (size_t i = 0; i < base.vec.n; i++) {
		const char *bn = labels_get(&base.vec.s[i].ls, NAME);
		bool all = true;
		for (size_t k = 0; k < nname && all; k++)
			all = promql__matcher_match(&names[k], bn);
		ignore[i] = all;
		if (!all)
			for (size_t k = 0; k < 2; k++) {
				const char *v = labels_get(&base.vec.s[i].ls, id_labels[k]);
				any_id |= v && *v;
			}
	}
	/* identifying-label values present in the (non-info) base vector, per label */
	lindex vals[2];
	const char **vstr[2];
	size_t nv[2] = {0, 0};
	for (size_t k = 0; k < 2; k++) {
		vstr[k] = arena_alloc(c->sa, base.vec.n * sizeof *vstr[k]);
		if (!vstr[k] || lindex_init(c, &vals[k], base.vec.n) < 0)
			return promql__oom(c);
	}
	for (size_t b = 0; b < base.vec.n; b++) {
		if (ignore[b])
			continue;
		for (size_t k = 0; k < 2; k++) {
			const char *bv = labels_get(&base.vec.s[b].ls, id_labels[k]);
			if (!bv || !*bv)
				continue;
			str_eq_ctx e = {vstr[k], bv};
			uint32_t *slot = lindex_slot(&vals[k], str_hash(bv), str_eq, &e);
			if (!*slot) {
				vstr[k][nv[k]] = bv;
				*slot = (uint32_t)++nv[k];
			}
		}
	}
	/* the info samples at this step: newest per (name, identifying labels) */
	promql_at at = {0};
	int64_t off = 0;
	promql__info_at_offset(n->call.args[0], &at, &off);
	int64_t ts = (at.kind != PROMQL_AT_NONE ? promql__resolve_at(c, &at) : t) - off;
	size_t ni = 0;
	const slod_labels **info = arena_alloc(c->sa, (sc->n ? sc->n : 1) * sizeof *info);
	int64_t *info_t = arena_alloc(c->sa, (sc->n ? sc->n : 1) * sizeof *info_t);
	uint32_t *chain = arena_alloc(c->sa, (sc->n ? sc->n : 1) * sizeof *chain); /* next with same ids */
	lindex by_key, by_ids;
	if (!info || !info_t || !chain || lindex_init(c, &by_key, sc->n) < 0 || lindex_init(c, &by_ids, sc->n) < 0)
		return promql__oom(c);
	for (size_t i = 0; any_id && i < sc->n; i++) {
		const slod_labels *il = &sc->ls[i];
		/* only info series whose identifying labels occur in the base vector qualify */
		bool eligible = true;
		for (size_t k = 0; k < 2 && eligible; k++) {
			if (nv[k] == 0)
				continue;
			const char *iv = labels_get(il, id_labels[k]);
			if (!iv) {
				eligible = false;
				break;
			}
			str_eq_ctx e = {vstr[k], iv};
			eligible = *lindex_slot(&vals[k], str_hash(iv), str_eq, &e) != 0;
		}
		if (!eligible)
			continue;
		size_t kk = promql__upper_bound(sc->pts[i], sc->npts[i], ts);
		if (kk == 0)
			continue;
		const tsdb_sample *p = &sc->pts[i][kk - 1];
		if (p->t <= ts - c->lookback || promql__is_stale(p->v))
			continue;
		info_eq_ctx ke = {info, il, true};
		uint32_t *slot = lindex_slot(&by_key, info_key_hash(il, true), info_eq, &ke);
		if (*slot) {
			size_t j = *slot - 1;
			if (info_t[j] < p->t) {
				info[j] = il;
				info_t[j] = p->t;
			} else if (info_t[j] == p->t) {
				buf b1, b2;
				buf_init(&b1, 0);
				buf_init(&b2, 0);
				labels_format(info[j], &b1);
				labels_format(il, &b2);
				promql__errorf(c, "found duplicate series for info metric: existing %s @ %ld, new %s @ %ld",
					       b1.data ? b1.data : "{}", (long)info_t[j], b2.data ? b2.data : "{}", (long)p->t);
				buf_deinit(&b1);
				buf_deinit(&b2);
				return -1;
			}
			continue;
		}
		info[ni] = il;
		info_t[ni] = p->t;
		*slot = (uint32_t)ni + 1;
		/* chain the entries that share the identifying labels (one per info metric name) */
		info_eq_ctx ie = {info, il, false};
		uint32_t *head = lindex_slot(&by_ids, info_key_hash(il, false), info_eq, &ie);
		chain[ni] = *head;
		*head = (uint32_t)ni + 1;
		ni++;
	}
	/* data-label matchers without __name__ decide which labels are added */
	size_t ndl = 0;
	for (size_t k = 0; lsel && k < lsel->n_matchers; k++)
		if (strcmp(lsel->matchers[k].name, NAME) != 0)
			ndl++;
	bool all_match_empty = true;
	for (size_t k = 0; lsel && k < lsel->n_matchers; k++)
		if (strcmp(lsel->matchers[k].name, NAME) != 0 && !promql__matcher_match(&lsel->matchers[k], ""))
			all_match_empty = false;
	for (size_t b = 0; b < base.vec.n; b++) {
		ev_sample s = base.vec.s[b];
		s.t = t;
		if (ignore[b]) {
			out->vec.s[out->vec.n++] = s;
			continue;
		}
		size_t addcap = 1;
		for (uint32_t jj = ni ? *lindex_slot(&by_ids, info_key_hash(&s.ls, false), info_eq,
						      &(info_eq_ctx){info, &s.ls, false})
				      : 0;
		     jj; jj = chain[jj - 1])
			addcap += info[jj - 1]->n;
		slod_labels add = {0};
		add.v = arena_alloc(c->sa, addcap * sizeof(slod_label));
		if (!add.v)
			return promql__oom(c);
		bool seen = false;
		info_eq_ctx be = {info, &s.ls, false};
		uint32_t head = ni ? *lindex_slot(&by_ids, info_key_hash(&s.ls, false), info_eq, &be) : 0;
		for (uint32_t jj = head; jj; jj = chain[jj - 1]) {
			size_t j = jj - 1;
			seen = true;
			for (size_t l = 0; l < info[j]->n; l++) {
				const slod_label *il = &info[j]->v[l];
				if (strcmp(il->name, NAME) == 0)
					continue;
				if (ndl) {
					bool listed = false;
					for (size_t k = 0; k < lsel->n_matchers && !listed; k++)
						listed = strcmp(lsel->matchers[k].name, il->name) == 0;
					if (!listed)
						continue;
				}
				const char *have = NULL;
				for (size_t q = 0; q < add.n; q++)
					if (strcmp(add.v[q].name, il->name) == 0)
						have = add.v[q].value;
				if (have && strcmp(have, il->value) != 0)
					return promql__errorf(c, "conflicting label: %s", il->name);
				if (have || labels_get(&s.ls, il->name))
					continue;
				add.v[add.n++] = *il;
			}
		}
		if (!seen && !all_match_empty)
			continue;
		for (size_t q = 0; q < add.n; q++) {
			s.ls = promql__labels_set(c->sa, &s.ls, add.v[q].name, add.v[q].value);
			if (!s.ls.v)
				return promql__oom(c);
		}
		out->vec.s[out->vec.n++] = s;
	}
	return dup_check(c, &out->vec);
}

/* ---- dispatcher ---- */

static double simple(promql_func_id id, double v, bool *ok)
{
	*ok = true;
	switch (id) {
	case PROMQL_FN_ABS: return fabs(v);
	case PROMQL_FN_CEIL: return ceil(v);
	case PROMQL_FN_FLOOR: return floor(v);
	case PROMQL_FN_EXP: return exp(v);
	case PROMQL_FN_SQRT: return sqrt(v);
	case PROMQL_FN_LN: return log(v);
	case PROMQL_FN_LOG2: return log2(v);
	case PROMQL_FN_LOG10: return log10(v);
	case PROMQL_FN_SIN: return sin(v);
	case PROMQL_FN_COS: return cos(v);
	case PROMQL_FN_TAN: return tan(v);
	case PROMQL_FN_ASIN: return asin(v);
	case PROMQL_FN_ACOS: return acos(v);
	case PROMQL_FN_ATAN: return atan(v);
	case PROMQL_FN_SINH: return sinh(v);
	case PROMQL_FN_COSH: return cosh(v);
	case PROMQL_FN_TANH: return tanh(v);
	case PROMQL_FN_ASINH: return asinh(v);
	case PROMQL_FN_ACOSH: return acosh(v);
	case PROMQL_FN_ATANH: return atanh(v);
	case PROMQL_FN_RAD: return v * M_PI / 180;
	case PROMQL_FN_DEG: return v * 180 / M_PI;
	case PROMQL_FN_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
	default: *ok = false; return 0;
	}
}

int promql__eval_call(ev_ctx *c, const promql_node *n, int64_t t, ev_value *out)
{
	promql_func_id id = n->call.func->id;
	if (id == PROMQL_FN_LABEL_REPLACE)
		return label_replace(c, n, t, out);
	if (id == PROMQL_FN_LABEL_JOIN)
		return label_join(c, n, t, out);
	if (id == PROMQL_FN_INFO)
		return eval_info(c, n, t, out);
	if (c->n_rows) {
		ev_rowcall *rc = find_rowcall(c, n);
		if (rc && t >= rc->g_start && t <= rc->g_end && (t - rc->g_start) % rc->g_step == 0)
			return serve_rows(c, rc, t, out);
	}
	size_t na = n->call.n_args;
	ev_value *args = arena_calloc(c->sa, na ? na : 1, sizeof *args);
	if (!args)
		return promql__oom(c);
	size_t mi = (size_t)-1;
	for (size_t i = 0; i < na; i++) {
		if (promql__eval(c, n->call.args[i], t, &args[i]) < 0)
			return -1;
		if (args[i].type == PROMQL_TYPE_MATRIX && mi == (size_t)-1)
			mi = i;
	}
	if (mi != (size_t)-1)
		return eval_range_fn(c, n, t, args, mi, out);

	if ((id == PROMQL_FN_SORT || id == PROMQL_FN_SORT_DESC || id == PROMQL_FN_SORT_BY_LABEL ||
	     id == PROMQL_FN_SORT_BY_LABEL_DESC) &&
	    c->start != c->end)
		promql__warnf(c, n, "sort is ineffective for range queries since results are always ordered by labels");

	/* start(), end(), range(), step(), min_of(), max_of(): experimental scalar functions, matched
	 * by name */
	const char *fname = n->call.func->name;
	if (na == 0 && (strcmp(fname, "start") == 0 || strcmp(fname, "end") == 0 || strcmp(fname, "range") == 0 ||
			strcmp(fname, "step") == 0)) {
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = fname[0] == 's' && fname[1] == 't' && fname[2] == 'a' ? (double)c->start / 1000
			      : fname[0] == 'e'					   ? (double)c->end / 1000
			      : fname[0] == 'r' ? (double)(c->end - c->start) / 1000
						: (double)c->qstep / 1000;
		return 0;
	}
	if (na == 2 && (strcmp(fname, "min_of") == 0 || strcmp(fname, "max_of") == 0)) {
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = fname[1] == 'i' ? go_min(args[0].scalar, args[1].scalar) : go_max(args[0].scalar, args[1].scalar);
		return 0;
	}
	switch (id) {
	case PROMQL_FN_TIME:
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = (double)t / 1000;
		return 0;
	case PROMQL_FN_PI:
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = M_PI;
		return 0;
	case PROMQL_FN_SCALAR: {
		out->type = PROMQL_TYPE_SCALAR;
		out->scalar = args[0].vec.n == 1 ? args[0].vec.s[0].v : NAN;
		return 0;
	}
	case PROMQL_FN_VECTOR: {
		if (out_init(c, out, 1) < 0)
			return -1;
		emit(out, (slod_labels){0}, args[0].scalar, t, false);
		return 0;
	}
	case PROMQL_FN_ABSENT: {
		if (out_init(c, out, 1) < 0)
			return -1;
		if (args[0].vec.n == 0)
			emit(out, absent_labels(c, n->call.args[0]), 1, t, false);
		return 0;
	}
	case PROMQL_FN_TIMESTAMP: {
		bool sel = unparen(n->call.args[0])->kind == PROMQL_NODE_VECTOR_SELECTOR;
		if (out_init(c, out, args[0].vec.n) < 0)
			return -1;
		for (size_t i = 0; i < args[0].vec.n; i++) {
			const ev_sample *s = &args[0].vec.s[i];
			emit(out, s->ls, (double)(sel ? s->t : t) / 1000, t, true);
		}
		return 0;
	}
	case PROMQL_FN_DAYS_IN_MONTH:
	case PROMQL_FN_DAY_OF_MONTH:
	case PROMQL_FN_DAY_OF_WEEK:
	case PROMQL_FN_DAY_OF_YEAR:
	case PROMQL_FN_HOUR:
	case PROMQL_FN_MINUTE:
	case PROMQL_FN_MONTH:
	case PROMQL_FN_YEAR: {
		if (na == 0) {
			if (out_init(c, out, 1) < 0)
				return -1;
			emit(out, (slod_labels){0}, date_fn(id, (double)(t / 1000)), t, false);
			return 0;
		}
		if (out_init(c, out, args[0].vec.n) < 0)
			return -1;
		for (size_t i = 0; i < args[0].vec.n; i++) {
			const ev_sample *s = &args[0].vec.s[i];
			double v = s->v;
			double r = date_fn(id, v);
			emit(out, s->ls, r, t, true);
		}
		return 0;
	}
	case PROMQL_FN_CLAMP:
	case PROMQL_FN_CLAMP_MIN:
	case PROMQL_FN_CLAMP_MAX: {
		double lo = -INFINITY, hi = INFINITY;
		if (id == PROMQL_FN_CLAMP) {
			lo = args[1].scalar;
			hi = args[2].scalar;
		} else if (id == PROMQL_FN_CLAMP_MIN) {
			lo = args[1].scalar;
		} else {
			hi = args[1].scalar;
		}
		if (out_init(c, out, args[0].vec.n) < 0)
			return -1;
		if (hi < lo)
			return 0;
		for (size_t i = 0; i < args[0].vec.n; i++) {
			const ev_sample *s = &args[0].vec.s[i];
			emit(out, s->ls, go_max(lo, go_min(hi, s->v)), t, true);
		}
		return 0;
	}
	case PROMQL_FN_ROUND: {
		double to = na >= 2 ? args[1].scalar : 1;
		double inv = 1.0 / to;
		if (out_init(c, out, args[0].vec.n) < 0)
			return -1;
		for (size_t i = 0; i < args[0].vec.n; i++) {
			const ev_sample *s = &args[0].vec.s[i];
			emit(out, s->ls, floor(s->v * inv + 0.5) / inv, t, true);
		}
		return 0;
	}
	case PROMQL_FN_SORT:
	case PROMQL_FN_SORT_DESC:
	case PROMQL_FN_SORT_BY_LABEL:
	case PROMQL_FN_SORT_BY_LABEL_DESC: {
		size_t nv = args[0].vec.n;
		sort_item *it = arena_alloc(c->sa, (nv ? nv : 1) * sizeof *it);
		if (!it || out_init(c, out, nv) < 0)
			return promql__oom(c);
		for (size_t i = 0; i < nv; i++)
			it[i] = (sort_item){args[0].vec.s[i], i};
		if (id == PROMQL_FN_SORT)
			qsort(it, nv, sizeof *it, cmp_asc);
		else if (id == PROMQL_FN_SORT_DESC)
			qsort(it, nv, sizeof *it, cmp_desc);
		else {
			size_t nl = na - 1;
			const char **lb = arena_alloc(c->sa, (nl ? nl : 1) * sizeof *lb);
			if (!lb)
				return promql__oom(c);
			for (size_t k = 0; k < nl; k++)
				lb[k] = args[1 + k].str;
			if (sort_by_label(c, it, nv, lb, nl, id == PROMQL_FN_SORT_BY_LABEL_DESC) < 0)
				return -1;
		}
		for (size_t i = 0; i < nv; i++) {
			it[i].s.t = t;
			out->vec.s[out->vec.n++] = it[i].s;
		}
		return 0;
	}
	case PROMQL_FN_HISTOGRAM_QUANTILE: {
		double q = args[0].scalar;
		if (isnan(q) || q < 0 || q > 1) {
			char b[FMT_FLOAT_MAX];
			fmt_float_go(b, q, 'g');
			promql__warnf(c, n->call.args[0], "quantile value should be between 0 and 1, got %s", b);
		}
		return classic_histogram(c, n, t, &args[1].vec, &q, 1, NULL, false, n->call.args[1], out);
	}
	case PROMQL_FN_HISTOGRAM_QUANTILES: {
		size_t nq = na - 2;
		double *qs = arena_alloc(c->sa, (nq ? nq : 1) * sizeof *qs);
		if (!qs)
			return promql__oom(c);
		for (size_t k = 0; k < nq; k++) {
			qs[k] = args[2 + k].scalar;
			if (isnan(qs[k]) || qs[k] < 0 || qs[k] > 1) {
				char b[FMT_FLOAT_MAX];
				fmt_float_go(b, qs[k], 'g');
				promql__warnf(c, n->call.args[2 + k], "quantile value should be between 0 and 1, got %s", b);
			}
		}
		return classic_histogram(c, n, t, &args[0].vec, qs, nq, args[1].str, false, n->call.args[0], out);
	}
	case PROMQL_FN_HISTOGRAM_AVG:
	case PROMQL_FN_HISTOGRAM_COUNT:
	case PROMQL_FN_HISTOGRAM_SUM:
	case PROMQL_FN_HISTOGRAM_STDDEV:
	case PROMQL_FN_HISTOGRAM_STDVAR:
	case PROMQL_FN_START_TIMESTAMP:
		/* these read native histograms / start timestamps, which slod does not store: float
		 * samples are ignored as Prometheus ignores them */
		return out_init(c, out, 1);
	case PROMQL_FN_HISTOGRAM_FRACTION:
	{
		double lu[2] = {args[0].scalar, args[1].scalar};
		return classic_histogram(c, n, t, &args[2].vec, lu, 2, NULL, true, n->call.args[2], out);
	}
	default:
		break;
	}
	/* simple per-sample math */
	bool ok;
	simple(id, 0, &ok);
	if (!ok)
		return promql__errorf(c, "function %s is not supported", n->call.func->name);
	if (out_init(c, out, args[0].vec.n) < 0)
		return -1;
	for (size_t i = 0; i < args[0].vec.n; i++) {
		const ev_sample *s = &args[0].vec.s[i];
		emit(out, s->ls, simple(id, s->v, &ok), t, true);
	}
	return 0;
}
