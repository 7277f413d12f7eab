/*
 * test_engine.c — unit tests of the PromQL evaluator (promql/engine.c and friends) on small
 * hand-written data in an in-memory tsdb: lookback and staleness, left-open range windows, rate
 * extrapolation, subquery step alignment, offsets and @, vector matching and its errors,
 * aggregations, delayed __name__ removal, range-query assembly, and the error types (bad_data,
 * too many samples, canceled, timeout).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "promql/engine.h"
#include "promql/promql.h"
#include "tsdb/tsdb.h"
#include "util/buf.h"
#include "util/labels.h"

typedef struct fixture {
	tsdb *db;
	promql_engine *eng;
} fixture;

#define MIN_MS (60 * 1000)

/* Appends one series: name{k=v} with values at t0, t0+step, ... (NAN_SKIP skips). */
static const double SKIP = -12345.678;

static void add_series(tsdb *db, const char *name, const char *k, const char *v, int64_t t0, int64_t step,
		       const double *vals, size_t n)
{
	slod_label lv[2];
	size_t nl = 0;
	lv[nl++] = (slod_label){SLOD_METRIC_NAME, name};
	if (k)
		lv[nl++] = (slod_label){k, v};
	slod_labels ls = {lv, nl};
	labels_sort(&ls);
	tsdb_appender *a = tsdb_appender_new(db);
	assert_non_null(a);
	for (size_t i = 0; i < n; i++) {
		if (vals[i] == SKIP)
			continue;
		assert_true(tsdb_appender_add(a, &ls, t0 + (int64_t)i * step, vals[i], NULL) >= 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
}

static double stale(void)
{
	uint64_t b = TSDB_STALE_NAN_BITS;
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

static int setup(void **state)
{
	static fixture f;
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = NULL;
	o.retention_ms = 0;
	char err[256];
	assert_int_equal(tsdb_open(&o, &f.db, err, sizeof err), 0);
	f.eng = promql_engine_new(NULL);
	assert_non_null(f.eng);
	/* counter_total{job="a"}: 0 10 20 ... every minute for 20 minutes */
	double c[21];
	for (int i = 0; i <= 20; i++)
		c[i] = 10.0 * i;
	add_series(f.db, "counter_total", "job", "a", 0, MIN_MS, c, 21);
	/* counter_total{job="b"}: 5 per minute, with a reset at 10m */
	double cb[21];
	for (int i = 0; i <= 20; i++)
		cb[i] = i < 10 ? 5.0 * i : 5.0 * (i - 10);
	add_series(f.db, "counter_total", "job", "b", 0, MIN_MS, cb, 21);
	/* gauge{job="a"}: 1 at 0, 2 at 1m, stale at 2m, 4 at 3m */
	double g[4] = {1, 2, stale(), 4};
	add_series(f.db, "gauge", "job", "a", 0, MIN_MS, g, 4);
	/* info{job="a", ...} value 1 at 0..20m */
	double one[21];
	for (int i = 0; i <= 20; i++)
		one[i] = 1;
	add_series(f.db, "up", "job", "a", 0, MIN_MS, one, 21);
	add_series(f.db, "up", "job", "b", 0, MIN_MS, one, 21);
	add_series(f.db, "dup", "job", "x", 0, MIN_MS, one, 21);
	add_series(f.db, "dup", "instance", "y", 0, MIN_MS, one, 21);
	{
		/* typed{__type__="gauge", __unit__="s"}: metadata labels go with the name */
		slod_label tv[3] = {{SLOD_METRIC_NAME, "typed"}, {"__type__", "gauge"}, {"__unit__", "s"}};
		slod_labels tls = {tv, 3};
		tsdb_appender *ta = tsdb_appender_new(f.db);
		assert_true(tsdb_appender_add(ta, &tls, 0, 3, NULL) >= 0);
		assert_int_equal(tsdb_appender_commit(ta), 0);
		tsdb_appender_free(ta);
		/* target_info{job="a", region="eu"} for info() */
		slod_label lv[3] = {{SLOD_METRIC_NAME, "target_info"}, {"job", "a"}, {"region", "eu"}};
		slod_labels ls = {lv, 3};
		tsdb_appender *a = tsdb_appender_new(f.db);
		for (int i = 0; i <= 20; i++)
			assert_true(tsdb_appender_add(a, &ls, (int64_t)i * MIN_MS, 1, NULL) >= 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
		tsdb_appender_free(a);
	}
	/* a classic histogram whose le="2" bucket is below le="1" (needs the monotonicity fix) */
	double h1[1] = {10}, h2[1] = {8}, hinf[1] = {20};
	add_series(f.db, "hist_bucket", "le", "1", 0, MIN_MS, h1, 1);
	add_series(f.db, "hist_bucket", "le", "2", 0, MIN_MS, h2, 1);
	add_series(f.db, "hist_bucket", "le", "+Inf", 0, MIN_MS, hinf, 1);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	promql_engine_free(f->eng);
	tsdb_close(f->db);
	return 0;
}

static const promql_series *find(const promql_result *r, const char *k, const char *v)
{
	for (size_t i = 0; i < r->n_series; i++) {
		const char *got = labels_get(&r->series[i].labels, k);
		if (got && strcmp(got, v) == 0)
			return &r->series[i];
	}
	return NULL;
}

static promql_result *instant(fixture *f, const char *q, int64_t t)
{
	promql_result *r = promql_query_instant(f->eng, f->db, q, t, NULL);
	assert_non_null(r);
	if (r->err)
		print_message("query %s: %s\n", q, r->err);
	return r;
}

static void test_lookback_and_staleness(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "gauge", 90 * 1000);
	assert_int_equal(r->type, PROMQL_RESULT_VECTOR);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 2);
	assert_string_equal(labels_get(&r->series[0].labels, SLOD_METRIC_NAME), "gauge");
	promql_result_free(r);
	/* the stale marker at 2m ends the series until 3m */
	r = instant(f, "gauge", 150 * 1000);
	assert_int_equal(r->n_series, 0);
	promql_result_free(r);
	r = instant(f, "gauge", 3 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 4);
	promql_result_free(r);
	/* lookback is left-open: a sample exactly 5m old is not visible */
	r = instant(f, "gauge", 8 * MIN_MS);
	assert_int_equal(r->n_series, 0);
	promql_result_free(r);
	r = instant(f, "gauge", 8 * MIN_MS - 1);
	assert_int_equal(r->n_series, 1);
	promql_result_free(r);
}

static void test_range_window_left_open(void **state)
{
	fixture *f = *state;
	/* (4m, 10m] holds samples at 5..10m: 6 samples */
	promql_result *r = instant(f, "count_over_time(counter_total{job=\"a\"}[6m])", 10 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 6);
	promql_result_free(r);
	/* a range selector alone returns the raw samples */
	r = instant(f, "counter_total{job=\"a\"}[3m]", 10 * MIN_MS);
	assert_int_equal(r->type, PROMQL_RESULT_MATRIX);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].n_points, 3);
	assert_int_equal(r->series[0].points[0].t, 8 * MIN_MS);
	promql_result_free(r);
}

static void test_rate_extrapolation_and_resets(void **state)
{
	fixture *f = *state;
	/* 10/min, samples cover the window exactly minus one interval: extrapolated to 10/60 */
	promql_result *r = instant(f, "rate(counter_total[5m])", 10 * MIN_MS);
	const promql_series *a = find(r, "job", "a");
	assert_non_null(a);
	assert_true(fabs(a->points[0].v - 10.0 / 60) < 1e-12);
	/* __name__ is dropped by rate */
	assert_null(labels_get(&a->labels, SLOD_METRIC_NAME));
	promql_result_free(r);
	/* increase over the reset at 10m: samples 35 40 0 5 10 in (7m, 12m] count 5 + 0 + 5 + 5 = 15
	 * over 4m, extrapolated by 1m to the window start (the zero point is further away): 18.75 */
	r = instant(f, "increase(counter_total{job=\"b\"}[5m])", 12 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_true(fabs(r->series[0].points[0].v - 18.75) < 1e-9);
	promql_result_free(r);
	r = instant(f, "resets(counter_total[20m])", 20 * MIN_MS);
	assert_true(find(r, "job", "b")->points[0].v == 1);
	assert_true(find(r, "job", "a")->points[0].v == 0);
	promql_result_free(r);
	/* irate uses the last two samples */
	r = instant(f, "irate(counter_total{job=\"b\"}[5m])", 10 * MIN_MS);
	assert_true(fabs(r->series[0].points[0].v - 0) < 1e-12); /* reset: 0 / 60s */
	promql_result_free(r);
	/* deriv of a perfect line */
	r = instant(f, "deriv(counter_total{job=\"a\"}[10m])", 20 * MIN_MS);
	assert_true(fabs(r->series[0].points[0].v - 10.0 / 60) < 1e-9);
	promql_result_free(r);
	r = instant(f, "predict_linear(counter_total{job=\"a\"}[10m], 60)", 20 * MIN_MS);
	assert_true(fabs(r->series[0].points[0].v - 210) < 1e-6);
	promql_result_free(r);
}

static void test_subquery_alignment(void **state)
{
	fixture *f = *state;
	/* [5m:2m] at 10m: inner steps at 6m, 8m, 10m (multiples of 2m in (5m, 10m]) */
	promql_result *r = instant(f, "count_over_time(counter_total{job=\"a\"}[5m:2m])", 10 * MIN_MS);
	assert_true(r->series[0].points[0].v == 3);
	promql_result_free(r);
	/* at 11m: (6m, 11m] holds 8m and 10m; 6m itself is excluded (left-open) */
	r = instant(f, "counter_total{job=\"a\"}[5m:2m]", 11 * MIN_MS);
	assert_int_equal(r->type, PROMQL_RESULT_MATRIX);
	assert_int_equal(r->series[0].n_points, 2);
	assert_int_equal(r->series[0].points[0].t, 8 * MIN_MS);
	assert_true(r->series[0].points[1].v == 100);
	promql_result_free(r);
	/* default step: 1m for instant queries */
	r = instant(f, "count_over_time(counter_total{job=\"a\"}[5m:])", 10 * MIN_MS);
	assert_true(r->series[0].points[0].v == 5);
	promql_result_free(r);
}

/* A range query must give, at every step, what an instant query at that time gives: checks the
 * whole-range subquery cache (small steps) and the per-step path (steps wider than the range). */
static void test_range_matches_instant(void **state)
{
	fixture *f = *state;
	const char *qs[] = {
		"max_over_time(rate(counter_total[3m])[4m:1m])",
		"sum_over_time(counter_total[5m:2m] offset 1m)",
		"avg_over_time(max_over_time(counter_total[2m:30s])[3m:1m])",
		"increase(counter_total[3m])",
		"min_over_time(counter_total[2m:1m] @ 300)",
		"sum(rate(counter_total[5m] @ 600)) + on() group_left() vector(time())",
		"counter_total @ 300 - counter_total",
		"max_over_time((counter_total @ 300)[3m:1m]) + timestamp(up @ 120)",
	};
	const int64_t steps[] = {30 * 1000, MIN_MS, 7 * MIN_MS};
	for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
		for (size_t si = 0; si < 3; si++) {
			promql_result *rr = promql_query_range(f->eng, f->db, qs[qi], 2 * MIN_MS, 20 * MIN_MS, steps[si], NULL);
			assert_int_equal(rr->err_type, PROMQL_ERRTYPE_NONE);
			for (int64_t t = 2 * MIN_MS; t <= 20 * MIN_MS; t += steps[si]) {
				promql_result *ri = instant(f, qs[qi], t);
				assert_int_equal(ri->type, PROMQL_RESULT_VECTOR);
				for (size_t k = 0; k < ri->n_series; k++) {
					const promql_series *m = NULL;
					for (size_t j = 0; j < rr->n_series; j++)
						if (labels_equal(&rr->series[j].labels, &ri->series[k].labels))
							m = &rr->series[j];
					assert_non_null(m);
					bool found = false;
					for (size_t p = 0; p < m->n_points; p++)
						if (m->points[p].t == t) {
							found = true;
							assert_true(fabs(m->points[p].v - ri->series[k].points[0].v) < 1e-9);
						}
					assert_true(found);
				}
				promql_result_free(ri);
			}
			promql_result_free(rr);
		}
	}
}

/* Range queries use dedicated paths (series-by-series rows for selectors and range functions,
 * whole-range subquery caches, step-invariant caching); instant queries evaluate one step
 * directly. On irregular data (gaps, stale markers, unaligned timestamps) both must agree at
 * every step, for many expression shapes. */
static void add_irregular(tsdb_appender *a, const char *name, const char *v, double start, double inc, int every_stale,
			  int gap, int64_t shift)
{
	slod_label lv[2] = {{SLOD_METRIC_NAME, name}, {"instance", v}};
	slod_labels ls = {lv, 2};
	double st = stale();
	for (int i = 0; i < 80; i++) {
		if (gap && i % gap == 0)
			continue;
		double x = start + inc * i;
		if (every_stale && i % every_stale == every_stale - 1)
			x = st;
		assert_true(tsdb_appender_add(a, &ls, (int64_t)i * 30000 + shift, x, NULL) >= 0);
	}
}

static void test_range_paths_differential(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = NULL;
	o.retention_ms = 0;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	add_irregular(a, "c_total", "a", 0, 5, 0, 0, 7000);
	add_irregular(a, "c_total", "b", 100, -3, 0, 7, 0);
	add_irregular(a, "g", "a", 1, 0.5, 7, 0, 0);
	add_irregular(a, "g", "b", 3, 0, 0, 5, 13000);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	promql_engine_opts eo;
	promql_engine_opts_default(&eo);
	eo.enable_extended_range_selectors = true;
	promql_engine *e = promql_engine_new(&eo);
	const char *qs[] = {
		"rate(c_total[2m])", "increase(c_total[3m] offset 1m)", "irate(c_total[1m])", "deriv(g[5m])",
		"predict_linear(g[5m], 120)", "changes(g[4m])", "resets(c_total[10m])", "avg_over_time(g[3m])",
		"quantile_over_time(0.3, g[5m])", "last_over_time(g[2m])", "g", "g offset 2m", "timestamp(g)",
		"g * 2 + c_total", "sum by (instance) (rate(c_total[2m]))", "max_over_time(rate(c_total[2m])[5m:1m])",
		"avg_over_time(g[5m:30s])", "sum_over_time(sum(g)[10m:2m])", "last_over_time(g[3m:1m] offset 1m)",
		"increase(c_total[2m] anchored)", "rate(c_total[2m] smoothed)", "g smoothed",
		"quantile_over_time(scalar(g{instance=\"b\"}) / 10, g[5m])", "count_over_time(c_total[2m] @ 600)",
		"min_over_time(max_over_time(g[2m:30s])[4m:1m])", "g and on(instance) rate(c_total[2m]) > 0",
		/* aggregations of rows, computed for all steps at once (aggregate.c rowagg) */
		"sum(rate(c_total[2m]))", "avg by (instance) (g)", "count(g)", "min(increase(c_total[3m]))",
		"max without (instance) (delta(g[4m]))", "group(g)", "stddev(g)", "stdvar(rate(c_total[2m]))",
		"sum(sum_over_time(g[3m]))", "avg(quantile_over_time(scalar(sum(g)) / 100, g[5m]))",
		"sum by (instance) (g offset 1m)", "sum_over_time(sum(rate(c_total[2m]))[10m:1m])",
		"count without () ((g))", "sum(rate(c_total[2m] anchored))",
	};
	const int64_t steps[] = {15000, 60000, 110000, 600000};
	for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
		for (size_t si = 0; si < 4; si++) {
			int64_t st = 60000, en = 2400000, step = steps[si];
			promql_result *rr = promql_query_range(e, db, qs[qi], st, en, step, NULL);
			assert_int_equal(rr->err_type, PROMQL_ERRTYPE_NONE);
			size_t rpts = 0, ipts = 0;
			for (size_t j = 0; j < rr->n_series; j++)
				rpts += rr->series[j].n_points;
			for (int64_t t = st; t <= en; t += step) {
				promql_result *ri = promql_query_instant(e, db, qs[qi], t, NULL);
				assert_int_equal(ri->err_type, PROMQL_ERRTYPE_NONE);
				for (size_t k = 0; k < ri->n_series; k++) {
					ipts++;
					const promql_series *m = NULL;
					for (size_t j = 0; j < rr->n_series; j++)
						if (labels_equal(&rr->series[j].labels, &ri->series[k].labels))
							m = &rr->series[j];
					assert_non_null(m);
					bool found = false;
					for (size_t p = 0; p < m->n_points; p++) {
						if (m->points[p].t != t)
							continue;
						found = true;
						double x = m->points[p].v, y = ri->series[k].points[0].v;
						if (!(x == y || (isnan(x) && isnan(y)) || fabs(x - y) <= 1e-9 * fabs(y)))
							fail_msg("%s step %ld t=%ld: range %g, instant %g", qs[qi], (long)step,
								 (long)t, x, y);
					}
					assert_true(found);
				}
				promql_result_free(ri);
			}
			assert_int_equal(rpts, ipts);
			promql_result_free(rr);
		}
	}
	promql_engine_free(e);
	tsdb_close(db);
}

/* Range queries split rate/increase/delta rows over threads (promql/raterows.c) once a selector
 * has more than a thousand series; every value must still equal the per-step path's (instant
 * queries at each step), bit for bit, and rows must reach aggregations in series order. The data
 * has counter resets, stale markers, gaps and unaligned timestamps, varying per series. */
static void test_rate_rows_parallel(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 0;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	char inst[16], grp[8];
	for (int s = 0; s < 3000; s++) {
		snprintf(inst, sizeof inst, "i%04d", s);
		snprintf(grp, sizeof grp, "g%d", s % 7);
		slod_label lv[3] = {{SLOD_METRIC_NAME, "req_total"}, {"grp", grp}, {"instance", inst}};
		slod_labels ls = {lv, 3};
		double v = s % 5;
		for (int i = 0; i < 60; i++) {
			if (s % 11 == 3 && i % 9 == 4)
				continue; /* gaps */
			v += (double)((s * 7 + i * 3) % 13) / 3;
			if (s % 13 == 5 && i == 30)
				v = 1; /* counter reset */
			double x = (s % 17 == 2 && i % 20 == 19) ? stale() : v;
			assert_true(tsdb_appender_add(a, &ls, (int64_t)i * 30000 + (s % 29) * 1000, x, NULL) >= 0);
		}
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	promql_engine *e = promql_engine_new(NULL);
	const char *qs[] = {"rate(req_total[2m])", "sum by (grp) (rate(req_total[2m]))", "avg(increase(req_total[3m]))",
			    "max by (grp) (delta(req_total[90s] offset 1m))"};
	for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
		int64_t st = 60000, en = 30 * MIN_MS, step = 45000;
		promql_result *rr = promql_query_range(e, db, qs[qi], st, en, step, NULL);
		assert_int_equal(rr->err_type, PROMQL_ERRTYPE_NONE);
		assert_true(rr->n_series > 0);
		size_t rpts = 0, ipts = 0;
		for (size_t j = 0; j < rr->n_series; j++)
			rpts += rr->series[j].n_points;
		for (int64_t t = st; t <= en; t += step) {
			promql_result *ri = promql_query_instant(e, db, qs[qi], t, NULL);
			assert_int_equal(ri->err_type, PROMQL_ERRTYPE_NONE);
			for (size_t k = 0; k < ri->n_series; k++) {
				const promql_series *m = NULL;
				for (size_t j = 0; j < rr->n_series && !m; j++)
					if (labels_equal(&rr->series[j].labels, &ri->series[k].labels))
						m = &rr->series[j];
				assert_non_null(m);
				size_t p = 0;
				while (p < m->n_points && m->points[p].t != t)
					p++;
				assert_true(p < m->n_points);
				double x = m->points[p].v, y = ri->series[k].points[0].v;
				if (memcmp(&x, &y, sizeof x) != 0)
					fail_msg("%s t=%ld: range %.17g, instant %.17g", qs[qi], (long)t, x, y);
				ipts++;
			}
			promql_result_free(ri);
		}
		assert_int_equal(rpts, ipts);
		promql_result_free(rr);
	}
	promql_engine_free(e);
	/* the limit hit in the middle of the pipeline: an error, no deadlock, nothing leaked */
	promql_engine_opts lo;
	promql_engine_opts_default(&lo);
	lo.max_samples = 20000;
	e = promql_engine_new(&lo);
	for (int k = 0; k < 2; k++) {
		promql_result *rr = promql_query_range(e, db, k ? "rate(req_total[2m])" : "sum by (grp) (rate(req_total[2m]))",
						       60000, 30 * MIN_MS, 15000, NULL);
		assert_int_equal(rr->err_type, PROMQL_ERRTYPE_TOO_MANY_SAMPLES);
		promql_result_free(rr);
	}
	/* a canceled query stops there too */
	volatile int cancel = 1;
	promql_query_opts qo = {0};
	qo.cancel = &cancel;
	promql_result *rr = promql_query_range(e, db, "sum(rate(req_total[2m]))", 60000, 30 * MIN_MS, 15000, &qo);
	assert_int_equal(rr->err_type, PROMQL_ERRTYPE_CANCELED);
	promql_result_free(rr);
	promql_engine_free(e);
	tsdb_close(db);
}

static void test_offset_and_at(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "counter_total{job=\"a\"} offset 5m", 10 * MIN_MS);
	assert_true(r->series[0].points[0].v == 50);
	promql_result_free(r);
	r = instant(f, "counter_total{job=\"a\"} @ 120", 10 * MIN_MS);
	assert_true(r->series[0].points[0].v == 20);
	promql_result_free(r);
	r = promql_query_range(f->eng, f->db, "counter_total{job=\"a\"} @ end()", 0, 4 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].n_points, 5);
	for (size_t i = 0; i < 5; i++)
		assert_true(r->series[0].points[i].v == 40);
	promql_result_free(r);
}

static void test_binop_matching(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "counter_total / on(job) up", 10 * MIN_MS);
	assert_int_equal(r->n_series, 2);
	assert_true(find(r, "job", "a")->points[0].v == 100);
	promql_result_free(r);
	/* comparison keeps the lhs value and name; bool drops the name */
	r = instant(f, "counter_total > 60", 10 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_string_equal(labels_get(&r->series[0].labels, SLOD_METRIC_NAME), "counter_total");
	promql_result_free(r);
	r = instant(f, "counter_total > bool 60", 10 * MIN_MS);
	assert_int_equal(r->n_series, 2);
	assert_null(labels_get(&r->series[0].labels, SLOD_METRIC_NAME));
	promql_result_free(r);
	/* many-to-many on the right side */
	r = instant(f, "up * on() dup", 10 * MIN_MS);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_EXECUTION);
	assert_non_null(strstr(r->err, "found duplicate series for the match group {} on the right hand-side"));
	assert_non_null(strstr(r->err, "many-to-many matching not allowed"));
	promql_result_free(r);
	/* set operators */
	r = instant(f, "up unless on(job) counter_total{job=\"a\"}", 10 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_string_equal(labels_get(&r->series[0].labels, "job"), "b");
	promql_result_free(r);
	/* group_left copies labels from the one side */
	r = instant(f, "up * on(job) group_left(instance) dup", 10 * MIN_MS);
	assert_int_equal(r->n_series, 0);
	promql_result_free(r);
}

static void test_aggregations(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "sum(counter_total)", 5 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 75);
	assert_int_equal(r->series[0].labels.n, 0);
	promql_result_free(r);
	r = instant(f, "avg by (job) (counter_total)", 5 * MIN_MS);
	assert_int_equal(r->n_series, 2);
	assert_true(find(r, "job", "b")->points[0].v == 25);
	promql_result_free(r);
	r = instant(f, "topk(1, counter_total)", 5 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_string_equal(labels_get(&r->series[0].labels, "job"), "a");
	promql_result_free(r);
	r = instant(f, "count_values(\"v\", up)", 5 * MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_string_equal(labels_get(&r->series[0].labels, "v"), "1");
	assert_true(r->series[0].points[0].v == 2);
	promql_result_free(r);
	r = instant(f, "quantile(0.5, counter_total)", 5 * MIN_MS);
	assert_true(r->series[0].points[0].v == 37.5);
	promql_result_free(r);
	r = instant(f, "stddev(counter_total)", 5 * MIN_MS);
	assert_true(fabs(r->series[0].points[0].v - 12.5) < 1e-12);
	promql_result_free(r);
}

static void test_functions(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "label_replace(up, \"x\", \"$1-z\", \"job\", \"(.*)\")", MIN_MS);
	assert_string_equal(labels_get(&find(r, "job", "a")->labels, "x"), "a-z");
	promql_result_free(r);
	r = instant(f, "absent(nonexistent{job=\"q\", x=~\"y\"})", MIN_MS);
	assert_int_equal(r->n_series, 1);
	assert_string_equal(labels_get(&r->series[0].labels, "job"), "q");
	assert_null(labels_get(&r->series[0].labels, "x"));
	promql_result_free(r);
	r = instant(f, "scalar(up)", MIN_MS);
	assert_int_equal(r->type, PROMQL_RESULT_SCALAR);
	assert_true(isnan(r->scalar));
	promql_result_free(r);
	r = instant(f, "hour(vector(7200)) + minute(vector(90))", MIN_MS);
	assert_true(r->series[0].points[0].v == 3);
	promql_result_free(r);
	r = instant(f, "round(vector(2.26), 0.1)", MIN_MS);
	assert_true(fabs(r->series[0].points[0].v - 2.3) < 1e-12);
	promql_result_free(r);
	/* dropping the name drops __type__ and __unit__ too (delayed and immediate removal) */
	r = instant(f, "typed * 2", 0);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].labels.n, 0);
	promql_result_free(r);
	r = instant(f, "typed + on() vector(1)", 0);
	assert_int_equal(r->series[0].labels.n, 0);
	promql_result_free(r);
	r = instant(f, "typed", 0);
	assert_int_equal(r->series[0].labels.n, 3);
	promql_result_free(r);
	/* info() adds the data labels of the matching target_info series */
	r = instant(f, "info(up)", MIN_MS);
	assert_int_equal(r->n_series, 2);
	assert_string_equal(labels_get(&find(r, "job", "a")->labels, "region"), "eu");
	assert_null(labels_get(&find(r, "job", "b")->labels, "region"));
	promql_result_free(r);
	r = instant(f, "info(up, {region=\"eu\"})", MIN_MS);
	assert_int_equal(r->n_series, 1);
	promql_result_free(r);
	r = instant(f, "\"text\"", MIN_MS);
	assert_int_equal(r->type, PROMQL_RESULT_STRING);
	assert_string_equal(r->string, "text");
	promql_result_free(r);
}

static void test_histogram_quantile(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "histogram_quantile(0.5, hist_bucket)", 0);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].labels.n, 0);
	assert_true(r->series[0].points[0].v == 1.0);
	assert_int_equal(r->n_infos, 1);
	assert_string_equal(r->infos[0],
			    "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see "
			    "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for "
			    "metric name \"hist_bucket\", from buckets 2 to 2, with a max diff of 2, over 1 samples from "
			    "1970-01-01T00:00:00Z to 1970-01-01T00:00:00Z (1:25)");
	promql_result_free(r);
	/* 0.75 of 20 observations: rank 15 in (2, +Inf] -> the largest finite bound */
	r = instant(f, "histogram_quantile(0.75, hist_bucket)", 0);
	assert_true(r->series[0].points[0].v == 2.0);
	promql_result_free(r);
	r = instant(f, "histogram_fraction(0, 1, hist_bucket)", 0);
	assert_true(r->series[0].points[0].v == 0.5);
	promql_result_free(r);
	r = instant(f, "histogram_quantile(1.5, hist_bucket)", 0);
	assert_true(isinf(r->series[0].points[0].v));
	assert_int_equal(r->n_warnings, 1);
	assert_string_equal(r->warnings[0], "PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:20)");
	promql_result_free(r);
}

static void test_extended_selectors(void **state)
{
	fixture *f = *state;
	promql_engine_opts o;
	promql_engine_opts_default(&o);
	o.enable_extended_range_selectors = true;
	promql_engine *e = promql_engine_new(&o);
	/* smoothed instant selector: interpolated between neighbours (stale markers ignored) */
	promql_result *r = promql_query_instant(e, f->db, "gauge smoothed", 30 * 1000, NULL);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 1.5);
	promql_result_free(r);
	r = promql_query_instant(e, f->db, "gauge smoothed", 150 * 1000, NULL);
	assert_true(r->series[0].points[0].v == 3.5);
	promql_result_free(r);
	/* anchored: from the last sample at or before the range start */
	r = promql_query_instant(e, f->db, "delta(gauge[1m] anchored)", 3 * MIN_MS, NULL);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 2);
	promql_result_free(r);
	/* smoothed increase: boundary values interpolated at 5m30s (55) and 10m30s (105) */
	r = promql_query_instant(e, f->db, "increase(counter_total{job=\"a\"}[5m] smoothed)", 630 * 1000, NULL);
	assert_true(fabs(r->series[0].points[0].v - 50) < 1e-9);
	promql_result_free(r);
	/* the raw window of an anchored selector gets boundary points */
	r = promql_query_instant(e, f->db, "counter_total{job=\"a\"}[2m] anchored", 630 * 1000, NULL);
	assert_int_equal(r->type, PROMQL_RESULT_MATRIX);
	assert_int_equal(r->series[0].n_points, 4);
	assert_int_equal(r->series[0].points[0].t, 510 * 1000);
	assert_true(r->series[0].points[0].v == 80);
	assert_int_equal(r->series[0].points[3].t, 630 * 1000);
	assert_true(r->series[0].points[3].v == 100);
	promql_result_free(r);
	r = promql_query_instant(e, f->db, "max_over_time(gauge[1m] anchored)", 3 * MIN_MS, NULL);
	assert_string_equal(r->err, "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with max_over_time");
	promql_result_free(r);
	promql_engine_free(e);
	/* off by default, as in Prometheus */
	r = instant(f, "gauge smoothed", 30 * 1000);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_BAD_DATA);
	promql_result_free(r);
}

static void test_range_query(void **state)
{
	fixture *f = *state;
	promql_result *r = promql_query_range(f->eng, f->db, "counter_total * 2", 0, 4 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->type, PROMQL_RESULT_MATRIX);
	assert_int_equal(r->n_series, 2);
	/* sorted by labels; names dropped by arithmetic */
	assert_string_equal(labels_get(&r->series[0].labels, "job"), "a");
	assert_null(labels_get(&r->series[0].labels, SLOD_METRIC_NAME));
	assert_int_equal(r->series[0].n_points, 5);
	assert_true(r->series[0].points[4].v == 80);
	promql_result_free(r);
	/* the stale marker leaves a gap */
	r = promql_query_range(f->eng, f->db, "gauge", 0, 3 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->series[0].n_points, 3);
	assert_int_equal(r->series[0].points[2].t, 3 * MIN_MS);
	promql_result_free(r);
	/* scalar results become one series without labels */
	r = promql_query_range(f->eng, f->db, "time()", 0, 2 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[2].v == 120);
	promql_result_free(r);
	/* too many points */
	r = promql_query_range(f->eng, f->db, "up", 0, 20000 * 1000, 1000, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_BAD_DATA);
	promql_result_free(r);
	/* range vectors are not allowed */
	r = promql_query_range(f->eng, f->db, "up[5m]", 0, MIN_MS, 1000, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_BAD_DATA);
	assert_non_null(strstr(r->err, "invalid expression type \"range vector\" for range query"));
	promql_result_free(r);
	/* instant subquery results whose series coincide after name removal merge when their
	 * timestamps do not overlap, and fail when they do */
	r = instant(f, "(-counter_total{job=\"a\"} or on(__name__) -up{job=\"a\"})[4m:1m]", 4 * MIN_MS);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_EXECUTION);
	assert_string_equal(r->err, "vector cannot contain metrics with the same labelset");
	promql_result_free(r);
	r = instant(f, "(-gauge or -up{job=\"a\"})[4m:1m]", 4 * MIN_MS);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].n_points, 4);
	assert_true(r->series[0].points[0].v == -2 && r->series[0].points[1].v == -1);
	assert_true(r->series[0].points[2].v == -4 && r->series[0].points[3].v == -4);
	promql_result_free(r);
	r = instant(f, "(-counter_total{job=\"a\"} > -30 or -up{job=\"a\"})[5m:1m]", 5 * MIN_MS);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].n_points, 5);
	assert_true(r->series[0].points[0].v == -10 && r->series[0].points[1].v == -20);
	assert_true(r->series[0].points[2].v == -1 && r->series[0].points[4].v == -1);
	promql_result_free(r);
	/* the same labelset twice after name removal */
	r = promql_query_range(f->eng, f->db, "-{job=\"a\", __name__=~\"up|counter_total\"}", 0, MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_EXECUTION);
	assert_string_equal(r->err, "vector cannot contain metrics with the same labelset");
	promql_result_free(r);
}

/* Found by integration.promql_diff: a subquery without a step uses the default evaluation
 * interval (1m) in a range query too, not the query's step (Prometheus's noStepSubqueryIntervalFn). */
static void test_stepless_subquery_in_range_query(void **state)
{
	fixture *f = *state;
	promql_result *r = promql_query_range(f->eng, f->db, "count_over_time(counter_total{job=\"a\"}[5m:])",
					      10 * MIN_MS, 12 * MIN_MS, 15 * 1000, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].n_points, 9);
	for (size_t i = 0; i < r->series[0].n_points; i++)
		assert_true(r->series[0].points[i].v == 5); /* the minutes in (t-5m, t], never 20 */
	promql_result_free(r);
	/* inner points at 8m, 9m, 10m: 80 + 90 + 100, the same as the instant query */
	r = promql_query_range(f->eng, f->db, "sum_over_time(counter_total{job=\"a\"}[3m:])", 10 * MIN_MS + 30000,
			       10 * MIN_MS + 45000, 15 * 1000, NULL);
	assert_int_equal(r->n_series, 1);
	assert_int_equal(r->series[0].n_points, 2);
	assert_true(r->series[0].points[0].v == 270 && r->series[0].points[1].v == 270);
	promql_result_free(r);
	r = instant(f, "sum_over_time(counter_total{job=\"a\"}[3m:])", 10 * MIN_MS + 30000);
	assert_int_equal(r->n_series, 1);
	assert_true(r->series[0].points[0].v == 270);
	promql_result_free(r);
}

/* Found by integration.promql_diff: count_values formats its label value like Go's
 * strconv.FormatFloat(v, 'f', -1, 64), without an exponent however large or small v is. */
static void test_count_values_full_decimal(void **state)
{
	fixture *f = *state;
	char big[400];
	snprintf(big, sizeof big, "50711602736750225%0287d", 0);
	const struct {
		const char *q, *want;
	} cases[] = {
		{"count_values(\"v\", vector(5.0711602736750225e+303))", big},
		{"count_values(\"v\", vector(-1.5e22))", "-15000000000000000000000"},
		{"count_values(\"v\", vector(1e-7))", "0.0000001"},
		{"count_values(\"v\", vector(-2.5e-10))", "-0.00000000025"},
		{"count_values(\"v\", vector(1336.945095325))", "1336.945095325"},
		{"count_values(\"v\", vector(1e21))", "1000000000000000000000"},
		{"count_values(\"v\", vector(-Inf))", "-Inf"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		promql_result *r = instant(f, cases[i].q, 0);
		assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
		assert_int_equal(r->n_series, 1);
		assert_string_equal(labels_get(&r->series[0].labels, "v"), cases[i].want);
		promql_result_free(r);
	}
}

static int64_t tick(void *ud)
{
	int64_t *p = ud;
	return *p += 1000;
}

static void test_errors_and_limits(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "sum(", MIN_MS);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_BAD_DATA);
	assert_int_equal(r->type, PROMQL_RESULT_NONE);
	promql_result_free(r);

	promql_engine_opts o;
	promql_engine_opts_default(&o);
	o.max_samples = 10;
	promql_engine *small = promql_engine_new(&o);
	r = promql_query_instant(small, f->db, "count_over_time(counter_total[20m])", 20 * MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_TOO_MANY_SAMPLES);
	assert_string_equal(r->err, "query processing would load too many samples into memory in query execution");
	promql_result_free(r);
	promql_engine_free(small);
	/* an instant query reads a range function's selector one series at a time: the limit
	 * applies to one series' window (21 samples), not to all of them (42) */
	o.max_samples = 30;
	small = promql_engine_new(&o);
	r = promql_query_instant(small, f->db, "count_over_time(counter_total[20m])", 20 * MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->n_series, 2);
	assert_true(r->series[0].points[0].v == 20);
	assert_int_equal(r->samples_loaded, 40);
	promql_result_free(r);
	/* a range query reads series by series too (21 samples each) but holds its output, 21 steps
	 * x 2 series: over 30 */
	r = promql_query_range(small, f->db, "count_over_time(counter_total[20m])", 0, 20 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_TOO_MANY_SAMPLES);
	promql_result_free(r);
	r = promql_query_range(small, f->db, "count_over_time(counter_total{job=\"a\"}[20m])", 0, 20 * MIN_MS, MIN_MS,
			       NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->series[0].n_points, 21);
	assert_true(r->series[0].points[0].v == 1 && r->series[0].points[20].v == 20);
	promql_result_free(r);
	/* a range query's instant selector keeps one value per step, not the raw samples: 3 steps of
	 * one series fit a limit of 10 although the series has 21 samples */
	o.max_samples = 10;
	promql_engine_free(small);
	small = promql_engine_new(&o);
	r = promql_query_range(small, f->db, "counter_total{job=\"a\"} * 2", 0, 20 * MIN_MS, 10 * MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->series[0].n_points, 3);
	assert_true(r->series[0].points[2].v == 400);
	promql_result_free(r);
	promql_engine_free(small);

	volatile int cancel = 1;
	promql_query_opts qo = {0};
	qo.cancel = &cancel;
	r = promql_query_range(f->eng, f->db, "up", 0, MIN_MS, MIN_MS, &qo);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_CANCELED);
	promql_result_free(r);

	/* a clock that advances 1s per reading: the 1.5s deadline passes after a step */
	int64_t now = 0;
	o.max_samples = 0;
	o.timeout_ms = 1500;
	o.clock = (slod_clock){tick, &now};
	promql_engine *slow = promql_engine_new(&o);
	r = promql_query_range(slow, f->db, "up", 0, 10 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_TIMEOUT);
	assert_string_equal(r->err, "query timed out in expression evaluation");
	promql_result_free(r);
	/* a per-query timeout shorter than the engine's */
	qo.cancel = NULL;
	qo.timeout_ms = 500;
	promql_engine_opts o2 = o;
	o2.timeout_ms = 60000;
	promql_engine *e2 = promql_engine_new(&o2);
	r = promql_query_range(e2, f->db, "up", 0, 10 * MIN_MS, MIN_MS, &qo);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_TIMEOUT);
	promql_result_free(r);
	r = promql_query_range(e2, f->db, "up", 0, 10 * MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	promql_result_free(r);
	promql_engine_free(e2);
	/* an instant query checks once: within the deadline */
	r = promql_query_instant(slow, f->db, "up", MIN_MS, NULL);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	promql_result_free(r);
	promql_engine_free(slow);
	assert_string_equal(promql_errtype_name(PROMQL_ERRTYPE_TOO_MANY_SAMPLES), "execution");
}

static void test_preparsed(void **state)
{
	fixture *f = *state;
	promql_expr *ex = NULL;
	promql_error err;
	const char *q = "sum by (job) (rate(counter_total[5m]))";
	assert_int_equal(promql_parse(q, strlen(q), NULL, &ex, &err), 0);
	for (int i = 0; i < 3; i++) {
		promql_result *r = promql_eval(f->eng, f->db, ex->root, ex->query, 10 * MIN_MS, 0, 0, NULL);
		assert_int_equal(r->type, PROMQL_RESULT_VECTOR);
		assert_int_equal(r->n_series, 2);
		promql_result_free(r);
	}
	promql_expr_free(ex);
}

static void test_annotations(void **state)
{
	fixture *f = *state;
	promql_result *r = instant(f, "rate(gauge[5m])", 3 * MIN_MS);
	assert_int_equal(r->n_infos, 1);
	assert_string_equal(r->infos[0],
			    "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"gauge\" (1:6)");
	promql_result_free(r);
	/* with type-and-unit labels, the __type__ label decides instead of the name */
	promql_engine_opts o;
	promql_engine_opts_default(&o);
	o.enable_type_and_unit_labels = true;
	promql_engine *e = promql_engine_new(&o);
	r = promql_query_instant(e, f->db, "rate(counter_total[5m])", 3 * MIN_MS, NULL);
	assert_int_equal(r->n_infos, 1);
	assert_string_equal(r->infos[0], "PromQL info: metric might not be a counter, __type__ label is not set to "
					 "\"counter\" or \"histogram\", got \"\": \"counter_total\" (1:6)");
	promql_result_free(r);
	promql_engine_free(e);
	/* the same annotation twice: one entry, with the position of the last occurrence */
	r = instant(f, "rate(gauge[5m]) + rate(gauge[4m])", 3 * MIN_MS);
	assert_int_equal(r->n_infos, 1);
	assert_non_null(strstr(r->infos[0], "\"gauge\" (1:24)"));
	promql_result_free(r);
	r = promql_query_range(f->eng, f->db, "sort(up)", 0, MIN_MS, MIN_MS, NULL);
	assert_int_equal(r->n_warnings, 1);
	assert_non_null(strstr(r->warnings[0], "sort is ineffective for range queries"));
	promql_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookback_and_staleness),
		cmocka_unit_test(test_range_window_left_open),
		cmocka_unit_test(test_rate_extrapolation_and_resets),
		cmocka_unit_test(test_subquery_alignment),
		cmocka_unit_test(test_offset_and_at),
		cmocka_unit_test(test_range_matches_instant),
		cmocka_unit_test(test_range_paths_differential),
		cmocka_unit_test(test_rate_rows_parallel),
		cmocka_unit_test(test_binop_matching),
		cmocka_unit_test(test_aggregations),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_histogram_quantile),
		cmocka_unit_test(test_extended_selectors),
		cmocka_unit_test(test_range_query),
		cmocka_unit_test(test_stepless_subquery_in_range_query),
		cmocka_unit_test(test_count_values_full_decimal),
		cmocka_unit_test(test_errors_and_limits),
		cmocka_unit_test(test_preparsed),
		cmocka_unit_test(test_annotations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
