/*
 * test_eval.c — slo.eval: the live SLO engine against hand-computed numbers.
 *
 * A manual clock drives everything: every 15 s the test appends one sample of two counters
 * (req_total and req_errors_total) and ticks the rules manager. Scenario (s = seconds after t0):
 *   0 ..1200   10 req/s, 0.05 err/s (ratio 0.005), counters start at 1e6 / 5e3
 *   1215, 2460 both counters reset (process restart; 7.5 s of traffic already counted): once at
 *              the first sample of a 5-minute bucket, once inside a bucket
 *   ..5400     ratio 0.005 again
 *   5400..6300 burst: every request fails (10 err/s)
 *   6300..     ratio 0.005
 * Because the error counter is proportional to the total counter outside the burst, every window
 * lying outside the burst has ratio 0.005 exactly. Around the burst, the expected values come from
 * a small reference of Prometheus's extrapolated increase over the samples the test wrote.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "promql/engine.h"
#include "rules/rules.h"
#include "slo/eval.h"
#include "slo/slo.h"
#include "tsdb/tsdb.h"

#define STEP_S 15
#define T0_MS 1700000100000LL /* a multiple of 5 minutes */
#define MAX_SAMPLES 4096

static const char spec_yaml[] =
	"version: \"prometheus/v1\"\n"
	"service: \"svc\"\n"
	"labels:\n"
	"  team: t1\n"
	"slos:\n"
	"  - name: \"avail\"\n"
	"    objective: 99\n"
	"    description: \"Availability.\"\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: sum(rate(req_errors_total[{{.window}}]))\n"
	"        total_query: sum(rate(req_total[{{.window}}]))\n"
	"    alerting:\n"
	"      name: SvcAvail\n"
	"  - name: \"rawavail\"\n"
	"    objective: 99\n"
	"    sli:\n"
	"      raw:\n"
	"        error_ratio_query: sum(rate(req_errors_total[{{.window}}])) / sum(rate(req_total[{{.window}}]))\n"
	"    alerting:\n"
	"      name: SvcRawAvail\n"
	"      ticket_alert:\n"
	"        disable: true\n";

typedef struct series {
	int64_t t[MAX_SAMPLES];
	double v[MAX_SAMPLES];
	size_t n;
} series;

typedef struct fx {
	int64_t now;
	slod_clock clock;
	tsdb *db;
	promql_engine *pe;
	rules_manager *rm;
	slo_set *set;
	slo_engine *e;
	series tot, err;
	double tot_v, err_v;
	int64_t sim_s; /* last simulated second */
	char path[256];
} fx;

static fx *F;
static int64_t fast_min; /* slo_engine_options.fast_min_window_ms of the next setup */
static int64_t ooo_ms;   /* tsdb out-of-order window of the next setup */

/* ---- reference: Prometheus's extrapolated increase over (lo, hi] of samples ---------------- */

static double ref_increase(const series *s, int64_t lo, int64_t hi, bool *ok)
{
	size_t a = 0, b = 0;
	bool found = false;
	for (size_t i = 0; i < s->n; i++) {
		if (s->t[i] <= lo || s->t[i] > hi)
			continue;
		if (!found)
			a = i;
		b = i;
		found = true;
	}
	*ok = found && b > a;
	if (!*ok)
		return NAN;
	double res = s->v[b] - s->v[a];
	for (size_t i = a + 1; i <= b; i++)
		if (s->v[i] < s->v[i - 1])
			res += s->v[i - 1];
	double sampled = (double)(s->t[b] - s->t[a]) / 1000;
	double to_start = (double)(s->t[a] - lo) / 1000, to_end = (double)(hi - s->t[b]) / 1000;
	double avg = sampled / (double)(b - a), thr = avg * 1.1;
	if (res > 0 && s->v[a] >= 0) {
		double to_zero = sampled * (s->v[a] / res);
		if (to_zero < to_start)
			to_start = to_zero;
	}
	double ext = sampled;
	ext += to_start < thr ? to_start : avg / 2;
	ext += to_end < thr ? to_end : avg / 2;
	return res * (ext / sampled);
}

static double ref_ratio(int64_t lo, int64_t hi)
{
	bool ok1, ok2;
	double e = ref_increase(&F->err, lo, hi, &ok1), t = ref_increase(&F->tot, lo, hi, &ok2);
	return ok1 && ok2 ? e / t : NAN;
}

/* ---- simulation ----------------------------------------------------------------------------- */

static double err_rate(int64_t s)
{
	return s > 5400 && s <= 6300 ? 10.0 : 0.05;
}

static void append(const char *name, int64_t t, double v)
{
	slod_label l[1] = {{SLOD_METRIC_NAME, name}};
	slod_labels ls = {l, 1};
	tsdb_appender *a = tsdb_appender_new(F->db);
	assert_non_null(a);
	assert_int_equal(tsdb_appender_add(a, &ls, t, v, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
}

static void record(series *s, int64_t t, double v)
{
	assert_true(s->n < MAX_SAMPLES);
	s->t[s->n] = t;
	s->v[s->n] = v;
	s->n++;
}

/* Simulates up to second `until` (inclusive), ticking the rules manager after every sample. */
static void sim(int64_t until)
{
	for (int64_t s = F->sim_s + STEP_S; s <= until; s += STEP_S) {
		if (s == 0) {
			F->tot_v = 1e6;
			F->err_v = 5e3;
		} else if (s == 1215 || s == 2460) {
			/* restarted 7.5 s ago; 1215 opens a 5m bucket, 2460 is inside one */
			F->tot_v = 75;
			F->err_v = 75 * 0.005;
		} else {
			F->tot_v += 10.0 * STEP_S;
			F->err_v += err_rate(s) * STEP_S;
		}
		int64_t t = T0_MS + s * 1000;
		append("req_total", t, F->tot_v);
		append("req_errors_total", t, F->err_v);
		record(&F->tot, t, F->tot_v);
		record(&F->err, t, F->err_v);
		F->now = t;
		rules_manager_tick(F->rm);
		/* as the engine's thread does: every 30 s (it records the long windows) */
		if (s % 30 == 0)
			assert_int_equal(slo_engine_evaluate(F->e), 0);
		F->sim_s = s;
	}
}

/* Timestamp and value of the newest sample of name{sloth_id=id} at or before now. */
static bool latest(const char *name, const char *id, int64_t *t, double *v)
{
	tsdb_querier *q = tsdb_querier_open(F->db, F->now - 600000, F->now);
	tsdb_matcher m[2] = {{.type = TSDB_MATCH_EQ, .name = SLOD_METRIC_NAME, .value = name},
			     {.type = TSDB_MATCH_EQ, .name = "sloth_id", .value = id}};
	tsdb_series *ss;
	size_t n;
	bool ok = false;
	tsdb_sample *sb = NULL;
	size_t cap = 0;
	if (tsdb_querier_select(q, m, 2, &ss, &n) == 0 && n == 1) {
		long k = tsdb_querier_samples(q, ss[0].ref, F->now - 600000, F->now, &sb, &cap);
		if (k > 0) {
			*t = sb[k - 1].t;
			*v = sb[k - 1].v;
			ok = true;
		}
	}
	free(sb);
	tsdb_querier_close(q);
	return ok;
}

/* Average of the recorded 5m ratios (what Sloth's period rule computes) over (now - period, t]. */
static double recorded_avg(const char *id, int64_t t, int64_t period)
{
	tsdb_querier *q = tsdb_querier_open(F->db, t - period, t);
	tsdb_matcher m[2] = {{.type = TSDB_MATCH_EQ, .name = SLOD_METRIC_NAME, .value = "slo:sli_error:ratio_rate5m"},
			     {.type = TSDB_MATCH_EQ, .name = "sloth_id", .value = id}};
	tsdb_series *ss;
	size_t n;
	tsdb_sample *sb = NULL;
	size_t cap = 0;
	double sum = 0;
	long cnt = 0;
	assert_int_equal(tsdb_querier_select(q, m, 2, &ss, &n), 0);
	assert_int_equal(n, 1);
	long k = tsdb_querier_samples(q, ss[0].ref, t - period + 1, t, &sb, &cap);
	for (long i = 0; i < k; i++)
		if (!isnan(sb[i].v)) {
			sum += sb[i].v;
			cnt++;
		}
	free(sb);
	tsdb_querier_close(q);
	return cnt ? sum / (double)cnt : NAN;
}

static void assert_close_at(double got, double want, double rel, const char *file, int line)
{
	double d = fabs(got - want), m = fabs(want) > 1e-300 ? fabs(want) : 1;
	if (isnan(want) ? !isnan(got) : !(d / m <= rel)) {
		print_error("got %.17g want %.17g (rel %.3g)\n", got, want, d / m);
		_fail(file, line);
	}
}
#define assert_close(g, w, r) assert_close_at((g), (w), (r), __FILE__, __LINE__)

static int setup(void **state)
{
	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	F->now = T0_MS - STEP_S * 1000;
	F->sim_s = -STEP_S;
	F->clock = slod_clock_manual(&F->now);
	char err[1024];
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	to.ooo_window_ms = ooo_ms;
	assert_int_equal(tsdb_open(&to, &F->db, err, sizeof err), 0);
	F->pe = promql_engine_new(NULL);
	assert_non_null(F->pe);
	rules_options ro = {.db = F->db, .engine = F->pe, .default_interval_ms = 30000, .clock = F->clock};
	assert_int_equal(rules_manager_new(&ro, &F->rm, err, sizeof err), 0);

	snprintf(F->path, sizeof F->path, "/tmp/slo_eval_test_%d.yaml", (int)getpid());
	FILE *fp = fopen(F->path, "w");
	assert_non_null(fp);
	fputs(spec_yaml, fp);
	fclose(fp);
	F->set = slo_set_new();
	assert_int_equal(slo_load_path(F->set, F->path), 0);
	slo_gen_options go = {0};
	assert_int_equal(slo_validate(F->set, &go), 0);

	slo_engine_options eo = {.set = F->set, .rules = F->rm, .db = F->db, .engine = F->pe, .clock = F->clock,
				 .fast_min_window_ms = fast_min, .bucket_delay_ms = -1};
	if (slo_engine_new(&eo, &F->e, err, sizeof err) != 0) {
		print_error("slo_engine_new: %s\n", err);
		fail();
	}
	/* 3 groups per SLO; the fast path takes 1h, 2h, 6h, 1d, 3d and 30d of the events SLO only */
	assert_int_equal(slo_engine_n_slos(F->e), 2);
	assert_int_equal(slo_engine_n_groups(F->e), 6);
	assert_int_equal(slo_engine_n_fast_rules(F->e), fast_min < 0 ? 0 : 6);
	*state = F;
	return 0;
}

static int setup_fast(void **state)
{
	fast_min = 0;
	ooo_ms = 0;
	return setup(state);
}

static int setup_fast_ooo(void **state)
{
	fast_min = 0;
	ooo_ms = 3 * 3600 * 1000;
	return setup(state);
}

static int setup_slow(void **state)
{
	fast_min = -1;
	ooo_ms = 0;
	return setup(state);
}

static int teardown(void **state)
{
	slo_engine_free(F->e);
	rules_manager_free(F->rm);
	slo_set_free(F->set);
	promql_engine_free(F->pe);
	tsdb_close(F->db);
	unlink(F->path);
	free(F);
	F = NULL;
	return 0;
}

/* ---- checks --------------------------------------------------------------------------------- */

/* Every window's ratio equals the recorded series and the reference computed at its timestamp. */
static void check_windows(const slo_status *st, double tol)
{
	static const char *const want_w[] = {"5m", "30m", "1h", "2h", "6h", "1d", "3d"};
	static const int64_t want_ms[] = {300000, 1800000, 3600000, 7200000, 21600000, 86400000, 259200000};
	assert_int_equal(st->n_windows, 7);
	int64_t t_all = 0;
	for (size_t i = 0; i < 7; i++) {
		const slo_window_status *w = &st->windows[i];
		assert_string_equal(w->window, want_w[i]);
		assert_int_equal(w->ms, want_ms[i]);
		char name[64];
		snprintf(name, sizeof name, "slo:sli_error:ratio_rate%s", w->window);
		int64_t t;
		double v;
		assert_true(latest(name, st->id, &t, &v));
		assert_true(w->has_data);
		/* every window of the SLO is recorded at its sli group's evaluation time, as Prometheus
		 * does, also those the engine records itself */
		if (i == 0)
			t_all = t;
		assert_int_equal(t, t_all);
		assert_int_equal(st->evaluated_at_ms, t);
		assert_close(w->error_ratio, v, 0);
		if (fabs(w->error_ratio - ref_ratio(t - w->ms, t)) > tol * fabs(ref_ratio(t - w->ms, t)))
			print_error("window %s at t0%+lld s\n", w->window, (long long)(t - T0_MS) / 1000);
		assert_close(w->error_ratio, ref_ratio(t - w->ms, t), tol);
		assert_close(w->burn_rate, w->error_ratio / 0.01, 1e-12);
		/* the value equals what the PromQL engine computes for the Sloth rule at t */
		if (strcmp(st->id, "svc-avail") == 0) {
			char q[256];
			snprintf(q, sizeof q, "(sum(rate(req_errors_total[%s])))\n/\n(sum(rate(req_total[%s])))\n",
				 w->window, w->window);
			promql_result *r = promql_query_instant(F->pe, F->db, q, t, NULL);
			assert_non_null(r);
			assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
			assert_int_equal(r->n_series, 1);
			assert_close(w->error_ratio, r->series[0].points[0].v, 1e-12);
			promql_result_free(r);
		}
	}
}

/* The period rule's value equals the engine's answer for Sloth's expression at its timestamp. */
static void check_period_rule(const char *id)
{
	int64_t t;
	double v;
	assert_true(latest("slo:sli_error:ratio_rate30d", id, &t, &v));
	char q[512];
	snprintf(q, sizeof q,
		 "sum_over_time(slo:sli_error:ratio_rate5m{sloth_id=\"%s\"}[30d])\n/ ignoring (sloth_window)\n"
		 "count_over_time(slo:sli_error:ratio_rate5m{sloth_id=\"%s\"}[30d])",
		 id, id);
	promql_result *r = promql_query_instant(F->pe, F->db, q, t, NULL);
	assert_non_null(r);
	assert_int_equal(r->err_type, PROMQL_ERRTYPE_NONE);
	assert_int_equal(r->n_series, 1);
	assert_close(v, r->series[0].points[0].v, 1e-12);
	promql_result_free(r);
}

/* Exact period numbers from 5-minute buckets (k·300 s, reference extrapolated increases). */
static void check_exact_period(const slo_status *st, double *ratio_out)
{
	int64_t B = 300000;
	double se = 0, stt = 0;
	for (int64_t k = T0_MS / B + 1; k * B <= F->now; k++) {
		bool ok1, ok2;
		double e = ref_increase(&F->err, k * B - B, k * B, &ok1);
		double t = ref_increase(&F->tot, k * B - B, k * B, &ok2);
		if (ok1)
			se += e;
		if (ok2)
			stt += t;
	}
	assert_true(st->events);
	assert_true(st->exact_has_data);
	assert_close(st->error_events, se, 1e-9);
	assert_close(st->total_events, stt, 1e-9);
	assert_close(st->exact_error_ratio, se / stt, 1e-9);
	assert_int_equal(st->method, SLO_EVAL_EXACT);
	assert_close(st->period_error_ratio, se / stt, 1e-9);
	assert_close(st->period_burn_rate, se / stt / 0.01, 1e-9);
	assert_close(st->consumed, se / stt / 0.01, 1e-9);
	assert_close(st->remaining, 1 - se / stt / 0.01, 1e-9);
	*ratio_out = se / stt;
}

static void test_steady_and_burst(void **state)
{
	(void)state;
	/* before any evaluation: listed, no data */
	slo_snapshot *s0 = slo_engine_acquire(F->e);
	assert_non_null(s0);
	assert_int_equal(s0->n_slos, 2);
	assert_int_equal(s0->evaluated_at_ms, 0);
	assert_false(s0->slos[0].windows[0].has_data);
	assert_true(isnan(s0->slos[0].remaining));
	slo_snapshot_release(s0);

	/* steady state with a counter reset, up to 90 minutes */
	sim(5400);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	slo_snapshot *s = slo_engine_acquire(F->e);
	assert_int_equal(s->evaluated_at_ms, F->now);
	const slo_status *st = slo_snapshot_find(s, "svc-avail");
	assert_non_null(st);
	assert_string_equal(st->service, "svc");
	assert_string_equal(st->name, "avail");
	assert_string_equal(st->period, "30d");
	assert_int_equal(st->period_ms, 30LL * 86400000);
	assert_close(st->budget_ratio, 0.01, 1e-12);
	check_windows(st, 1e-9);
	for (size_t i = 0; i < st->n_windows; i++)
		assert_close(st->windows[i].error_ratio, 0.005, 1e-9);
	double pr;
	check_exact_period(st, &pr);
	assert_close(pr, 0.005, 1e-9);
	assert_close(st->remaining, 0.5, 1e-9);
	/* forecast: remaining × period / burn; both burns are 0.5 */
	assert_close(st->exhaustion_current_s, 0.5 * 2592000 / 0.5, 1e-9);
	assert_close(st->exhaustion_period_s, 0.5 * 2592000 / 0.5, 1e-9);
	/* Sloth's number: the average of the recorded 5m ratios */
	assert_true(st->sloth_has_data);
	int64_t tp;
	double vp;
	assert_true(latest("slo:sli_error:ratio_rate30d", "svc-avail", &tp, &vp));
	assert_close(st->sloth_error_ratio, recorded_avg("svc-avail", tp, 30LL * 86400000), 1e-12);
	assert_close(st->sloth_error_ratio, 0.005, 1e-9);
	check_period_rule("svc-avail");
	/* tiers: page (1h/5m ×14.4, 6h/30m ×6), ticket (1d/2h ×3, 3d/6h ×1) */
	assert_int_equal(st->n_alerts, 4);
	static const char *const sev[] = {"page", "page", "ticket", "ticket"};
	static const char *const lw[] = {"1h", "6h", "1d", "3d"}, *const sw[] = {"5m", "30m", "2h", "6h"};
	static const double fac[] = {14.4, 6, 3, 1};
	for (size_t i = 0; i < 4; i++) {
		const slo_alert_status *a = &st->alerts[i];
		assert_string_equal(a->severity, sev[i]);
		assert_string_equal(a->name, "SvcAvail");
		assert_string_equal(a->long_window, lw[i]);
		assert_string_equal(a->short_window, sw[i]);
		assert_close(a->factor, fac[i], 1e-12);
		assert_close(a->threshold, fac[i] * 0.01, 1e-9);
		assert_int_equal(a->state, RULES_ALERT_INACTIVE);
		assert_close(a->long_burn, 0.5, 1e-9);
		assert_close(a->short_burn, 0.5, 1e-9);
	}
	/* source and spec text */
	assert_non_null(strstr(st->source, "slo_eval_test_"));
	assert_non_null(strstr(st->source, ":6"));
	assert_non_null(strstr(st->spec_text, "error_query: sum(rate(req_errors_total"));
	/* raw SLI: time average of the 5-minute ratios; no event counts; page tier only */
	const slo_status *raw = slo_snapshot_find(s, "svc-rawavail");
	assert_non_null(raw);
	assert_false(raw->events);
	assert_int_equal(raw->n_alerts, 2);
	assert_close(raw->exact_error_ratio, 0.005, 1e-9);
	slo_snapshot_release(s);

	/* 3 minutes into the burst: the 5m window alone is over 14.4x, the 1h is not: no page yet */
	sim(5580);
	s = slo_engine_acquire(F->e);
	st = slo_snapshot_find(s, "svc-avail");
	check_windows(st, 1e-9);
	assert_true(st->windows[0].error_ratio > 0.144);
	assert_true(st->windows[2].error_ratio < 0.144);
	assert_int_equal(st->alerts[0].state, RULES_ALERT_INACTIVE);
	assert_true(st->alerts[0].short_burn > 14.4 && st->alerts[0].long_burn < 14.4);
	slo_snapshot_release(s);

	/* burst: every request fails for 15 minutes */
	sim(6300);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	s = slo_engine_acquire(F->e);
	st = slo_snapshot_find(s, "svc-avail");
	check_windows(st, 1e-9);
	assert_close(st->windows[0].error_ratio, 1.0, 1e-9); /* 5m: all errors */
	assert_true(st->windows[2].error_ratio > 0.144);     /* 1h over the page threshold */
	assert_int_equal(st->alerts[0].state, RULES_ALERT_FIRING);
	assert_int_equal(st->alerts[1].state, RULES_ALERT_FIRING); /* same rule: the page tier */
	check_exact_period(st, &pr);
	/* the exact period ratio counts requests; Sloth's averages 5m ratios: they differ now */
	assert_true(latest("slo:sli_error:ratio_rate30d", "svc-avail", &tp, &vp));
	assert_close(st->sloth_error_ratio, recorded_avg("svc-avail", tp, 30LL * 86400000), 1e-12);
	assert_true(fabs(st->sloth_error_ratio - st->exact_error_ratio) > 1e-4);
	check_period_rule("svc-avail");
	/* budget: the burst burnt more than the whole budget */
	assert_true(st->remaining < 0);
	assert_true(isnan(st->exhaustion_current_s));
	assert_true(isnan(st->exhaustion_period_s));
	/* raw SLI: the mean of per-bucket ratios (reference) */
	raw = slo_snapshot_find(s, "svc-rawavail");
	{
		double sum = 0;
		int cnt = 0;
		for (int64_t k = T0_MS / 300000 + 1; k * 300000 <= F->now; k++) {
			double r = ref_ratio(k * 300000 - 300000, k * 300000);
			if (!isnan(r)) {
				sum += r;
				cnt++;
			}
		}
		assert_close(raw->exact_error_ratio, sum / cnt, 1e-9);
	}
	slo_snapshot_release(s);

	/* recovery: 35 more minutes; the page's 5m window drops, the budget stays spent */
	sim(8400);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	s = slo_engine_acquire(F->e);
	st = slo_snapshot_find(s, "svc-avail");
	check_windows(st, 1e-9);
	assert_close(st->windows[0].error_ratio, 0.005, 1e-9);
	assert_close(st->windows[1].error_ratio, 0.005, 1e-9); /* 30m lies after the burst */
	assert_int_equal(st->alerts[0].state, RULES_ALERT_INACTIVE);
	check_exact_period(st, &pr);
	double remaining_now = st->remaining;
	slo_snapshot_release(s);

	/* a second engine rebuilds its ring from stored history and gets the same exact numbers */
	char err[512];
	slo_engine_options eo = {.set = F->set, .rules = F->rm, .db = F->db, .engine = F->pe, .clock = F->clock,
				 .bucket_delay_ms = -1};
	slo_engine *e2;
	assert_int_equal(slo_engine_new(&eo, &e2, err, sizeof err), 0);
	assert_int_equal(slo_engine_evaluate(e2), 0);
	slo_snapshot *s2 = slo_engine_acquire(e2);
	const slo_status *st2 = slo_snapshot_find(s2, "svc-avail");
	assert_close(st2->remaining, remaining_now, 1e-9);
	slo_snapshot_release(s2);
	slo_engine_free(e2);

	/* the default bucket delay (1m) leaves out the bucket that ended less than a minute ago */
	{
		slo_engine_options od = eo;
		od.bucket_delay_ms = 0;
		assert_int_equal(slo_engine_new(&od, &e2, err, sizeof err), 0);
		assert_int_equal(slo_engine_evaluate(e2), 0);
		s2 = slo_engine_acquire(e2);
		st2 = slo_snapshot_find(s2, "svc-avail");
		double want = 0;
		for (int64_t k = T0_MS / 300000 + 1; k * 300000 <= F->now - 60000; k++) {
			bool ok;
			double v = ref_increase(&F->tot, k * 300000 - 300000, k * 300000, &ok);
			if (ok)
				want += v;
		}
		assert_true(F->now % 300000 < 60000); /* so a bucket is really left out */
		assert_close(st2->total_events, want, 1e-9);
		slo_snapshot_release(s2);
		slo_engine_free(e2);
	}

	/* method: sloth serves Sloth's number as the budget; both numbers stay available */
	eo.method = SLO_EVAL_SLOTH;
	assert_int_equal(slo_engine_new(&eo, &e2, err, sizeof err), 0);
	assert_int_equal(slo_engine_evaluate(e2), 0);
	s2 = slo_engine_acquire(e2);
	st2 = slo_snapshot_find(s2, "svc-avail");
	assert_int_equal(st2->method, SLO_EVAL_SLOTH);
	int64_t t30;
	double v30;
	assert_true(latest("slo:sli_error:ratio_rate30d", "svc-avail", &t30, &v30));
	assert_close(st2->sloth_error_ratio, v30, 1e-12);
	assert_close(st2->period_error_ratio, v30, 1e-12);
	assert_close(st2->remaining, 1 - v30 / 0.01, 1e-9);
	assert_close(st2->exact_error_ratio, (1 - remaining_now) * 0.01, 1e-9);
	slo_history h;
	assert_int_equal(slo_engine_history(e2, "svc-avail", F->now - 600000, F->now, 300000, &h, err, sizeof err), 0);
	assert_int_equal(h.n_points, 3);
	assert_close(h.points[2].budget_remaining, 1 - v30 / 0.01, 1e-9);
	slo_history_free(&h);
	slo_snapshot_release(s2);
	slo_engine_free(e2);
}

static void test_history(void **state)
{
	(void)state;
	sim(8400);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	slo_snapshot *s = slo_engine_acquire(F->e);
	const slo_status *st = slo_snapshot_find(s, "svc-avail");
	slo_history h;
	char err[512];
	int64_t end = F->now, start = end - 3600000;
	assert_int_equal(slo_engine_history(F->e, "svc-avail", start, end, 300000, &h, err, sizeof err), 0);
	assert_int_equal(h.n_points, 13);
	assert_int_equal(h.points[0].t, start);
	/* last point: the budget over the period ending now equals the status (same buckets) */
	assert_close(h.points[12].budget_remaining, st->remaining, 1e-9);
	/* the shortest window ratio is the recorded 5m series; steady traffic is 10 req/s */
	int64_t t;
	double v;
	assert_true(latest("slo:sli_error:ratio_rate5m", "svc-avail", &t, &v));
	assert_close(h.points[12].error_ratio, v, 1e-12);
	assert_close(h.points[12].burn_rate, v / 0.01, 1e-9);
	assert_close(h.points[12].request_rate, 10.0, 1e-9);
	/* bounds */
	slo_history bad;
	assert_int_equal(slo_engine_history(F->e, "svc-avail", 0, 11000, 1, &bad, err, sizeof err), SLO_ERR_ARG);
	assert_non_null(strstr(err, "11000"));
	assert_null(bad.points);
	assert_int_equal(slo_engine_history(F->e, "nope", start, end, 300000, &bad, err, sizeof err), SLO_ERR_INVALID);
	assert_null(bad.points);
	slo_snapshot_release(s);
	slo_history h2;
	assert_int_equal(slo_engine_history(F->e, "svc-avail", start, end, 300000, &h2, err, sizeof err), 0);
	slo_history_free(&h2);
	slo_history_free(&h);
}

/* Data that arrives after its buckets were evaluated (a backfill) still reaches the exact budget:
 * the tsdb write watch reports the oldest timestamp written and the next cycle recomputes the
 * buckets from there. History reads raw data, so it covers the backfilled past too. */
static void test_backfill(void **state)
{
	(void)state;
	F->now = T0_MS + 5400 * 1000;
	assert_int_equal(slo_engine_evaluate(F->e), 0); /* nothing stored yet: ring empty */
	slo_snapshot *s = slo_engine_acquire(F->e);
	assert_false(slo_snapshot_find(s, "svc-avail")->exact_has_data);
	slo_snapshot_release(s);
	/* the past 90 minutes arrive at once (no rule ticks in between) */
	int64_t keep = F->now;
	for (int64_t x = 0; x <= 5400; x += STEP_S) {
		double tv = 1e6 + 10.0 * (double)x, ev = 5e3 + 0.05 * (double)x;
		append("req_total", T0_MS + x * 1000, tv);
		append("req_errors_total", T0_MS + x * 1000, ev);
		record(&F->tot, T0_MS + x * 1000, tv);
		record(&F->err, T0_MS + x * 1000, ev);
	}
	F->now = keep + 1000;
	rules_manager_tick(F->rm);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	s = slo_engine_acquire(F->e);
	const slo_status *st = slo_snapshot_find(s, "svc-avail");
	assert_true(st->windows[0].has_data);
	double pr;
	check_exact_period(st, &pr);
	assert_close(pr, 0.005, 1e-9);
	slo_snapshot_release(s);
	slo_history h;
	char err[256];
	assert_int_equal(slo_engine_history(F->e, "svc-avail", F->now - 3600000, F->now, 600000, &h, err, sizeof err), 0);
	assert_int_equal(h.n_points, 7);
	for (size_t i = 0; i < h.n_points; i++) {
		assert_close(h.points[i].error_ratio, 0.005, 1e-9);
		assert_close(h.points[i].request_rate, 10.0, 1e-9);
	}
	slo_history_free(&h);
}

/* The exact-method status of st equals that of a new engine that rebuilds its ring from the stored
 * history at the same time (what a reload used to be needed for). */
static void check_like_fresh(const slo_status *st)
{
	char err[512];
	slo_engine *e2;
	slo_engine_options eo = {.set = F->set, .rules = F->rm, .db = F->db, .engine = F->pe, .clock = F->clock,
				 .fast_min_window_ms = fast_min, .bucket_delay_ms = -1};
	assert_int_equal(slo_engine_new(&eo, &e2, err, sizeof err), 0);
	assert_int_equal(slo_engine_evaluate(e2), 0);
	slo_snapshot *s2 = slo_engine_acquire(e2);
	const slo_status *f = slo_snapshot_find(s2, st->id);
	assert_true(f->exact_has_data);
	assert_close(st->total_events, f->total_events, 1e-12);
	assert_close(st->error_events, f->error_events, 1e-12);
	assert_close(st->exact_error_ratio, f->exact_error_ratio, 1e-12);
	slo_snapshot_release(s2);
	slo_engine_free(e2);
	/* the manager's groups were replaced by e2's (same rules): hand ours back */
	assert_int_equal(slo_engine_set_user_groups(F->e, NULL, 0, err, sizeof err), 0);
}

/* The fast-path windows (>= 1h) equal the PromQL engine's answer for Sloth's expression over
 * all stored samples at the SLO's evaluation time. */
static void check_fast_vs_promql(const slo_status *st)
{
	for (size_t i = 2; i < st->n_windows; i++) {
		const slo_window_status *w = &st->windows[i];
		char q[256];
		snprintf(q, sizeof q, "(sum(rate(req_errors_total[%s])))\n/\n(sum(rate(req_total[%s])))\n", w->window,
			 w->window);
		promql_result *r = promql_query_instant(F->pe, F->db, q, st->evaluated_at_ms, NULL);
		assert_non_null(r);
		assert_int_equal(r->n_series, 1);
		assert_true(w->has_data);
		assert_close(w->error_ratio, r->series[0].points[0].v, 1e-12);
		promql_result_free(r);
	}
}

/* Live traffic with a hole: the samples of (1800, 3600] s arrive late (out-of-order window), and
 * they hold an error burst (5 err/s over 2000..3000) and a counter reset (2700). Once they are
 * stored, the next cycle counts them: exact buckets (as a fresh rebuild and the reference), and
 * the fast-path windows (the reset inside the hole changes their rate). Then ten days of another
 * instance are imported into the past: the ring catches up by at most 2016 buckets per cycle,
 * oldest first, with hand-computed counts (20 req/s, 0.2 err/s, samples every minute: 6000 and
 * 60 per 5-minute bucket). */
static void test_backfill_live(void **state)
{
	(void)state;
	double tv = 1e6, ev = 5e3;
	int64_t held[600][2];
	double held_v[600][2];
	size_t nh = 0;
	for (int64_t x = 0; x <= 7200; x += STEP_S) {
		if (x == 2700) {
			tv = 75;
			ev = 0.375;
		} else if (x > 0) {
			tv += 10.0 * STEP_S;
			ev += (x > 2000 && x <= 3000 ? 5.0 : 0.05) * STEP_S;
		}
		int64_t t = T0_MS + x * 1000;
		record(&F->tot, t, tv);
		record(&F->err, t, ev);
		if (x > 1800 && x <= 3600) {
			held[nh][0] = held[nh][1] = t;
			held_v[nh][0] = tv;
			held_v[nh][1] = ev;
			nh++;
		} else {
			append("req_total", t, tv);
			append("req_errors_total", t, ev);
		}
		F->now = t;
		rules_manager_tick(F->rm);
		if (x % 30 == 0)
			assert_int_equal(slo_engine_evaluate(F->e), 0);
	}
	slo_snapshot *s = slo_engine_acquire(F->e);
	const slo_status *st = slo_snapshot_find(s, "svc-avail");
	double before_2h = st->windows[3].error_ratio, before_exact = st->exact_error_ratio;
	slo_snapshot_release(s);
	/* the hole arrives */
	for (size_t i = 0; i < nh; i++) {
		append("req_total", held[i][0], held_v[i][0]);
		append("req_errors_total", held[i][1], held_v[i][1]);
	}
	F->now += 30000;
	rules_manager_tick(F->rm);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	s = slo_engine_acquire(F->e);
	st = slo_snapshot_find(s, "svc-avail");
	double pr;
	check_exact_period(st, &pr);
	check_windows(st, 1e-9);
	assert_true(fabs(st->exact_error_ratio - before_exact) > 0.1 * before_exact);
	assert_true(fabs(st->windows[3].error_ratio - before_2h) > 0.1 * before_2h);
	check_like_fresh(st);
	double tot0 = st->total_events, err0 = st->error_events;
	slo_snapshot_release(s);

	/* ten days of instance "old" before T0, imported at once */
	slod_label l[2] = {{SLOD_METRIC_NAME, "req_total"}, {"instance", "old"}};
	slod_labels ls = {l, 2};
	tsdb_appender *a = tsdb_appender_new(F->db);
	const int64_t days10 = 10 * 86400;
	for (int64_t j = 1; j < days10 / 60; j++) {
		int64_t t = T0_MS - days10 * 1000 + j * 60000;
		l[0].value = "req_total";
		assert_int_equal(tsdb_appender_add(a, &ls, t, 1200.0 * (double)j, NULL), 0);
		l[0].value = "req_errors_total";
		assert_int_equal(tsdb_appender_add(a, &ls, t, 6.0 * (double)j, NULL), 0);
		if (j % 1000 == 0)
			assert_int_equal(tsdb_appender_commit(a), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	/* 2880 buckets of 6000 requests, 30 errors; the cycle takes the oldest 2016 */
	F->now += 30000;
	rules_manager_tick(F->rm);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	s = slo_engine_acquire(F->e);
	st = slo_snapshot_find(s, "svc-avail");
	assert_close(st->total_events - tot0, 2016 * 6000.0, 1e-9);
	assert_close(st->error_events - err0, 2016 * 30.0, 1e-9);
	check_fast_vs_promql(st);
	slo_snapshot_release(s);
	F->now += 30000;
	rules_manager_tick(F->rm);
	assert_int_equal(slo_engine_evaluate(F->e), 0);
	s = slo_engine_acquire(F->e);
	st = slo_snapshot_find(s, "svc-avail");
	assert_close(st->total_events - tot0, 2880 * 6000.0, 1e-9);
	assert_close(st->error_events - err0, 2880 * 30.0, 1e-9);
	assert_close(st->exact_error_ratio, (err0 + 2880 * 30.0) / (tot0 + 2880 * 6000.0), 1e-9);
	check_like_fresh(st);
	check_fast_vs_promql(st);
	/* history over the imported past, where no recorded series exist: the SLI from raw data (20
	 * req/s, ratio 0.005), the budget over the period ending at each point from the same buckets
	 * as the ring (0.5 left while only the old instance ran), and at now the live status */
	slo_history h;
	char err[256];
	int64_t hs = T0_MS - 9 * 86400000LL;
	assert_int_equal(slo_engine_history(F->e, "svc-avail", hs, F->now, 3600000, &h, err, sizeof err), 0);
	assert_int_equal(h.n_points, 9 * 24 + 3);
	for (size_t i = 0; i < 9 * 24; i++) {
		assert_close(h.points[i].error_ratio, 0.005, 1e-9);
		assert_close(h.points[i].burn_rate, 0.5, 1e-9);
		assert_close(h.points[i].request_rate, 20.0, 1e-9);
		assert_close(h.points[i].budget_remaining, 0.5, 1e-9);
	}
	assert_true(F->now - h.points[h.n_points - 1].t < 300000);
	assert_close(h.points[h.n_points - 1].budget_remaining, st->remaining, 1e-9);
	slo_history_free(&h);
	slo_snapshot_release(s);
}

/* Event counts do not depend on the SLI's shape: increase() queries count events per window,
 * rate() per second. Two hours of a batch counter sampled every minute, 1 job/s and 0.005
 * failed/s from 0 at T0: every 5-minute bucket (k·300 s, samples 60 s apart, extrapolated to the
 * bucket's edges) holds exactly 300 jobs and 1.5 failures, so the 24 buckets hold 7200 and 36. */
static const char shapes_yaml[] =
	"version: \"prometheus/v1\"\n"
	"service: \"batch\"\n"
	"slos:\n"
	"  - name: \"inc\"\n"
	"    objective: 99\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: sum(increase(jobs_failed_total[{{.window}}]))\n"
	"        total_query: sum(increase(jobs_total[{{.window}}]))\n"
	"    alerting:\n"
	"      page_alert:\n"
	"        disable: true\n"
	"      ticket_alert:\n"
	"        disable: true\n"
	"  - name: \"mixed\"\n"
	"    objective: 99\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: (sum(rate(jobs_failed_total[{{.window}}])) or vector(0)) * 1\n"
	"        total_query: sum by (job) (increase(jobs_total[{{.window}}]))\n"
	"    alerting:\n"
	"      page_alert:\n"
	"        disable: true\n"
	"      ticket_alert:\n"
	"        disable: true\n"
	"  - name: \"opaque\"\n"
	"    objective: 99\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: max(increase(jobs_failed_total[{{.window}}]))\n"
	"        total_query: max(increase(jobs_total[{{.window}}]))\n"
	"    alerting:\n"
	"      page_alert:\n"
	"        disable: true\n"
	"      ticket_alert:\n"
	"        disable: true\n";

static void test_increase_sli(void **state)
{
	(void)state;
	char err[1024], path[256];
	snprintf(path, sizeof path, "/tmp/slo_eval_shapes_%d.yaml", (int)getpid());
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(shapes_yaml, fp);
	fclose(fp);
	slo_set *set = slo_set_new();
	assert_int_equal(slo_load_path(set, path), 0);
	unlink(path);
	slo_gen_options go = {0};
	assert_int_equal(slo_validate(set, &go), 0);
	rules_manager *rm;
	rules_options ro = {.db = F->db, .engine = F->pe, .default_interval_ms = 30000, .clock = F->clock};
	assert_int_equal(rules_manager_new(&ro, &rm, err, sizeof err), 0);
	slo_engine *e;
	slo_engine_options eo = {.set = set, .rules = rm, .db = F->db, .engine = F->pe, .clock = F->clock,
				 .bucket_delay_ms = -1};
	assert_int_equal(slo_engine_new(&eo, &e, err, sizeof err), 0);
	for (int64_t x = 0; x <= 7200; x += 60) {
		append("jobs_total", T0_MS + x * 1000, (double)x);
		append("jobs_failed_total", T0_MS + x * 1000, 0.005 * (double)x);
	}
	F->now = T0_MS + 7200 * 1000;
	assert_int_equal(slo_engine_evaluate(e), 0);
	slo_snapshot *s = slo_engine_acquire(e);
	const char *ids[3] = {"batch-inc", "batch-mixed", "batch-opaque"};
	for (int i = 0; i < 3; i++) {
		const slo_status *st = slo_snapshot_find(s, ids[i]);
		assert_non_null(st);
		assert_true(st->events);
		assert_true(st->exact_has_data);
		assert_close(st->exact_error_ratio, 0.005, 1e-12);
		assert_close(st->remaining, 0.5, 1e-9);
		if (i < 2) {
			assert_close(st->total_events, 7200, 1e-12);
			assert_close(st->error_events, 36, 1e-12);
		} else {
			/* max(): not a count of events; the ratio holds (one series), counts are null */
			assert_true(isnan(st->total_events));
			assert_true(isnan(st->error_events));
		}
	}
	slo_snapshot_release(s);
	/* history: per-second request rate (increase over the shortest window ÷ its seconds) and
	 * the budget from the same buckets */
	slo_history h;
	assert_int_equal(slo_engine_history(e, "batch-inc", F->now - 3600000, F->now, 600000, &h, err, sizeof err), 0);
	assert_int_equal(h.n_points, 7);
	for (size_t i = 0; i < h.n_points; i++) {
		assert_close(h.points[i].request_rate, 1.0, 1e-12);
		assert_close(h.points[i].error_ratio, 0.005, 1e-12);
	}
	assert_close(h.points[6].budget_remaining, 0.5, 1e-9);
	slo_history_free(&h);
	assert_int_equal(slo_engine_history(e, "batch-opaque", F->now - 600000, F->now, 600000, &h, err, sizeof err), 0);
	assert_true(isnan(h.points[1].request_rate));
	assert_close(h.points[1].budget_remaining, 0.5, 1e-9);
	slo_history_free(&h);
	slo_engine_free(e);
	rules_manager_free(rm);
	slo_set_free(set);
}

/* User rule groups go to the rules manager together with the SLO groups, and replacing them keeps
 * the SLO groups. */
static void test_user_groups(void **state)
{
	(void)state;
	rules_rule_def r = {.kind = RULES_RECORD, .name = "user:req:rate5m", .expr = "sum(rate(req_total[5m]))"};
	rules_group_def g = {.name = "user", .file = "user.rules.yml", .rules = &r, .n_rules = 1};
	char err[512];
	assert_int_equal(slo_engine_set_user_groups(F->e, &g, 1, err, sizeof err), 0);
	rules_snapshot rs;
	assert_int_equal(rules_manager_snapshot(F->rm, &rs), 0);
	assert_int_equal(rs.n_groups, 7);
	size_t user = 0, sli = 0;
	for (size_t i = 0; i < rs.n_groups; i++) {
		user += strcmp(rs.groups[i].name, "user") == 0;
		if (strcmp(rs.groups[i].name, "sloth-slo-sli-recordings-svc-avail") == 0) {
			sli++;
			/* 5m and 30m stay with the manager; 1h..3d and 30d are the engine's */
			assert_int_equal(rs.groups[i].n_rules, 2);
		}
	}
	assert_int_equal(user, 1);
	assert_int_equal(sli, 1);
	rules_snapshot_free(&rs);
	/* a bad user rule is refused and changes nothing */
	rules_rule_def bad = {.kind = RULES_RECORD, .name = "x", .expr = "sum(("};
	rules_group_def gb = {.name = "bad", .file = "bad.yml", .rules = &bad, .n_rules = 1};
	assert_int_equal(slo_engine_set_user_groups(F->e, &gb, 1, err, sizeof err), -1);
	assert_true(err[0] != 0);
	assert_int_equal(rules_manager_snapshot(F->rm, &rs), 0);
	assert_int_equal(rs.n_groups, 7);
	rules_snapshot_free(&rs);
	/* and the user rule runs */
	sim(600);
	tsdb_querier *q = tsdb_querier_open(F->db, F->now - 60000, F->now);
	tsdb_matcher m = {.type = TSDB_MATCH_EQ, .name = SLOD_METRIC_NAME, .value = "user:req:rate5m"};
	tsdb_series *ss;
	size_t n;
	assert_int_equal(tsdb_querier_select(q, &m, 1, &ss, &n), 0);
	assert_int_equal(n, 1);
	tsdb_querier_close(q);
	assert_int_equal(slo_engine_set_user_groups(F->e, NULL, 0, err, sizeof err), 0);
	assert_int_equal(rules_manager_snapshot(F->rm, &rs), 0);
	assert_int_equal(rs.n_groups, 6);
	rules_snapshot_free(&rs);
}

/* The engine's own thread evaluates every interval; freeing the engine stops it. */
static void test_thread(void **state)
{
	(void)state;
	sim(900); /* a bit of data, evaluated by hand so far */
	F->now += 1000;
	assert_int_equal(slo_engine_start(F->e, 50), 0);
	assert_int_equal(slo_engine_start(F->e, 50), -1); /* once */
	int64_t seen = 0;
	for (int i = 0; i < 200 && seen != F->now; i++) {
		usleep(10000);
		slo_snapshot *s = slo_engine_acquire(F->e);
		seen = s->evaluated_at_ms;
		slo_snapshot_release(s);
	}
	assert_int_equal(seen, F->now); /* the thread evaluated at the clock's now */
	/* teardown frees the engine with the thread running */
}

static void test_method_parse(void **state)
{
	(void)state;
	slo_eval_method m;
	assert_int_equal(slo_eval_method_parse("sloth", &m), 0);
	assert_int_equal(m, SLO_EVAL_SLOTH);
	assert_int_equal(slo_eval_method_parse("exact", &m), 0);
	assert_int_equal(m, SLO_EVAL_EXACT);
	assert_int_equal(slo_eval_method_parse("avg", &m), -1);
	assert_string_equal(slo_eval_method_name(SLO_EVAL_SLOTH), "sloth");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_parse),
		cmocka_unit_test_setup_teardown(test_steady_and_burst, setup_fast, teardown),
		cmocka_unit_test_setup_teardown(test_steady_and_burst, setup_slow, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup_fast, teardown),
		cmocka_unit_test_setup_teardown(test_user_groups, setup_fast, teardown),
		cmocka_unit_test_setup_teardown(test_backfill, setup_fast, teardown),
		cmocka_unit_test_setup_teardown(test_backfill_live, setup_fast_ooo, teardown),
		cmocka_unit_test_setup_teardown(test_increase_sli, setup_fast, teardown),
		cmocka_unit_test_setup_teardown(test_thread, setup_fast, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
