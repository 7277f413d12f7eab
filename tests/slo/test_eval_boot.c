/*
 * test_eval_boot.c — slo.eval_boot: the SLO engine's bounded start-up rebuild (slo/eval.c,
 * slo/eval_fast.c; docs/slo-eval.md "Start-up memory").
 *
 * The same synthetic history (8 days at 30 s: two pods' counters with resets and error bursts for
 * service a, one increase()-shaped service b, the recorded 5m ratios the Sloth period rule
 * averages) is loaded into a fresh tsdb once per rebuild slice: one bucket (the smallest), 7
 * minutes (rounded up to 2 buckets), the default (1 day) and none (-1: whole spans at once, the
 * behaviour before slicing). Four SLOs cover every rebuild path: a sum(rate()) SLI (fast path +
 * exact ring), an increase() SLI (exact ring only), a raw ratio SLI (time-averaged ring) and a
 * calendar-week SLI (longer ring, budget from the week's start), all with 7-day periods.
 *
 * Each run: start-up (first evaluation rebuilds rings and fast-path summaries from history), 12
 * live 30 s cycles across bucket boundaries, then a backfill (a third pod with two days of past
 * samples: late-data repair of the rings and a fast-path rebuild of the new series) and history
 * queries. Every number the engine serves (window ratios, exact and Sloth period ratios, event
 * counts, budgets, forecasts, alert states, history points) must be bit-identical across the four
 * slices. The bounds the slice promises are checked where they are observable
 * (slo_engine_get_stats): samples per raw read, steps per bucket range query, scratch kept between
 * evaluations.
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

#define STEP_MS 30000
#define B_MS 300000
#define DAY_MS 86400000LL
#define NOW0_MS (1700006400000LL / B_MS * B_MS)
#define HISTORY_MS (8 * DAY_MS)
#define MAX_VALUES 20000

static const char spec_yaml[] =
	"version: \"prometheus/v1\"\n"
	"service: \"boot\"\n"
	"slos:\n"
	"  - name: \"sa\"\n"
	"    objective: 99.5\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: sum(rate(req_errors_total{svc=\"a\"}[{{.window}}]))\n"
	"        total_query: sum(rate(req_total{svc=\"a\"}[{{.window}}]))\n"
	"    alerting:\n"
	"      name: BootA\n"
	"    slod:\n"
	"      period: 7d\n"
	"  - name: \"sb\"\n"
	"    objective: 99\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: sum(increase(req_errors_total{svc=\"b\"}[{{.window}}]))\n"
	"        total_query: sum(increase(req_total{svc=\"b\"}[{{.window}}]))\n"
	"    alerting:\n"
	"      name: BootB\n"
	"    slod:\n"
	"      period: 7d\n"
	"  - name: \"sc\"\n"
	"    objective: 99.5\n"
	"    sli:\n"
	"      raw:\n"
	"        error_ratio_query: sum(rate(req_errors_total{svc=\"a\"}[{{.window}}])) / sum(rate(req_total{svc=\"a\"}[{{.window}}]))\n"
	"    alerting:\n"
	"      name: BootC\n"
	"    slod:\n"
	"      period: 7d\n"
	"  - name: \"sw\"\n"
	"    objective: 99.5\n"
	"    sli:\n"
	"      events:\n"
	"        error_query: sum(rate(req_errors_total{svc=\"a\"}[{{.window}}]))\n"
	"        total_query: sum(rate(req_total{svc=\"a\"}[{{.window}}]))\n"
	"    alerting:\n"
	"      name: BootW\n"
	"    slod:\n"
	"      period: {calendar: week}\n";

static const char *const ids[] = {"boot-sa", "boot-sb", "boot-sc", "boot-sw"};
#define N_SLOS 4

/* The counters: index 0/1 pod p1 of service a (total, errors), 2/3 pod p2, 4/5 service b,
 * 6/7 pod p3 of service a (the backfill). */
#define N_CTR 8
static const char *const ctr_name[N_CTR] = {"req_total", "req_errors_total", "req_total", "req_errors_total",
					    "req_total", "req_errors_total", "req_total", "req_errors_total"};
static const char *const ctr_svc[N_CTR] = {"a", "a", "a", "a", "b", "b", "a", "a"};
static const char *const ctr_pod[N_CTR] = {"p1", "p1", "p2", "p2", "p1", "p1", "p3", "p3"};

typedef struct run {
	int64_t now;
	slod_clock clock;
	tsdb *db;
	promql_engine *pe;
	rules_manager *rm;
	slo_set *set;
	slo_engine *e;
	double ctr[N_CTR];
	tsdb_ref ref[N_CTR];
	char path[256];
	/* everything the engine served, in a fixed order */
	double vals[MAX_VALUES];
	size_t n_vals;
	slo_engine_stats st;
} run;

/* Requests per second of counter pair k (0: p1, 1: p2, 2: b, 3: p3) at t, and the error share. */
static void rates(int k, int64_t t, double *req, double *err)
{
	static const double base[4] = {10, 5, 2, 4};
	int64_t s = t / 1000;
	*req = base[k] * (1.0 + 0.3 * sin((double)s / 5000.0 + k));
	int64_t ph = (s + (int64_t)k * 7777) % 25200; /* a 10-minute 5% burst every 7 hours */
	*err = *req * (ph < 600 ? 0.05 : 0.004 + 0.001 * k);
}

static void append(run *r, tsdb_appender *a, int i, int64_t t, double v)
{
	if (!r->ref[i]) {
		slod_label l[3] = {{SLOD_METRIC_NAME, ctr_name[i]}, {"pod", ctr_pod[i]}, {"svc", ctr_svc[i]}};
		slod_labels ls = {l, 3};
		assert_int_equal(tsdb_appender_add(a, &ls, t, v, &r->ref[i]), 0);
	} else {
		assert_int_equal(tsdb_appender_add_ref(a, r->ref[i], t, v), 0);
	}
}

/* One scrape at t of the counter pairs [k0, k1). Pod p1's counters reset every 37 hours. */
static void scrape(run *r, tsdb_appender *a, int k0, int k1, int64_t t)
{
	for (int k = k0; k < k1; k++) {
		double req, err;
		rates(k, t, &req, &err);
		if (k == 0 && (t / 1000) % (37 * 3600) < STEP_MS / 1000) {
			r->ctr[0] = req * 7;
			r->ctr[1] = err * 7;
		} else {
			r->ctr[2 * k] += req * STEP_MS / 1000;
			r->ctr[2 * k + 1] += err * STEP_MS / 1000;
		}
		append(r, a, 2 * k, t, r->ctr[2 * k]);
		append(r, a, 2 * k + 1, t, r->ctr[2 * k + 1]);
	}
}

/* The 5m ratios the Sloth rules would have recorded for the fast-path SLOs (a, w). */
static void recorded(tsdb_appender *a, int64_t t)
{
	static const char *const slo[2] = {"sa", "sw"}, *const id[2] = {"boot-sa", "boot-sw"};
	for (int i = 0; i < 2; i++) {
		slod_label l[5] = {{SLOD_METRIC_NAME, "slo:sli_error:ratio_rate5m"},
				   {"sloth_id", id[i]},
				   {"sloth_service", "boot"},
				   {"sloth_slo", slo[i]},
				   {"sloth_window", "5m"}};
		slod_labels ls = {l, 5};
		double req, err;
		rates(i, t, &req, &err);
		assert_true(tsdb_appender_add(a, &ls, t, err / req, NULL) >= 0);
	}
}

static void run_open(run *r, int64_t slice_ms)
{
	memset(r, 0, sizeof(*r));
	r->now = NOW0_MS;
	r->clock = slod_clock_manual(&r->now);
	char err[1024];
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	assert_int_equal(tsdb_open(&to, &r->db, err, sizeof err), 0);
	r->pe = promql_engine_new(NULL);
	assert_non_null(r->pe);
	rules_options ro = {.db = r->db, .engine = r->pe, .default_interval_ms = 30000, .clock = r->clock};
	assert_int_equal(rules_manager_new(&ro, &r->rm, err, sizeof err), 0);

	for (int i = 0; i < N_CTR; i++)
		r->ctr[i] = i % 2 ? 50 : 1e4;
	for (int64_t t = NOW0_MS - HISTORY_MS; t <= NOW0_MS; t += STEP_MS) {
		tsdb_appender *a = tsdb_appender_new(r->db);
		assert_non_null(a);
		scrape(r, a, 0, 3, t);
		recorded(a, t);
		assert_int_equal(tsdb_appender_commit(a), 0);
		tsdb_appender_free(a);
	}

	snprintf(r->path, sizeof r->path, "/tmp/slo_eval_boot_%d.yaml", (int)getpid());
	FILE *fp = fopen(r->path, "w");
	assert_non_null(fp);
	fputs(spec_yaml, fp);
	fclose(fp);
	r->set = slo_set_new();
	assert_int_equal(slo_load_path(r->set, r->path), 0);
	slo_gen_options go = {0};
	if (slo_validate(r->set, &go) != 0) {
		const slo_diag *d;
		size_t nd = slo_set_diags(r->set, &d);
		for (size_t i = 0; i < nd; i++) {
			slo_diag_format(&d[i], err, sizeof err);
			print_error("%s\n", err);
		}
		fail();
	}
	slo_engine_options eo = {.set = r->set,
				 .rules = r->rm,
				 .db = r->db,
				 .engine = r->pe,
				 .clock = r->clock,
				 .rebuild_slice_ms = slice_ms};
	if (slo_engine_new(&eo, &r->e, err, sizeof err) != 0) {
		print_error("slo_engine_new: %s\n", err);
		fail();
	}
	assert_int_equal(slo_engine_n_slos(r->e), N_SLOS);
	/* a and w: 1h 2h 6h 1d 3d + the 7d period rule each */
	assert_int_equal(slo_engine_n_fast_rules(r->e), 12);
}

static void run_close(run *r)
{
	slo_engine_free(r->e);
	rules_manager_free(r->rm);
	slo_set_free(r->set);
	unlink(r->path);
	promql_engine_free(r->pe);
	tsdb_close(r->db);
}

static void put(run *r, double v)
{
	assert_true(r->n_vals < MAX_VALUES);
	r->vals[r->n_vals++] = v;
}

/* Appends every number of the current snapshot to r->vals. */
static void collect(run *r)
{
	slo_snapshot *s = slo_engine_acquire(r->e);
	assert_non_null(s);
	assert_int_equal(s->n_slos, N_SLOS);
	put(r, (double)s->evaluated_at_ms);
	for (size_t i = 0; i < s->n_slos; i++) {
		const slo_status *x = &s->slos[i];
		assert_string_equal(x->id, ids[i]);
		put(r, (double)x->evaluated_at_ms);
		for (size_t w = 0; w < x->n_windows; w++) {
			put(r, x->windows[w].has_data);
			put(r, x->windows[w].error_ratio);
			put(r, x->windows[w].burn_rate);
		}
		put(r, x->period_has_data);
		put(r, x->period_error_ratio);
		put(r, x->period_burn_rate);
		put(r, x->exact_has_data);
		put(r, x->exact_error_ratio);
		put(r, x->sloth_has_data);
		put(r, x->sloth_error_ratio);
		put(r, x->error_events);
		put(r, x->total_events);
		put(r, x->consumed);
		put(r, x->remaining);
		put(r, x->exhaustion_current_s);
		put(r, x->exhaustion_period_s);
		put(r, (double)x->period_start_ms);
		for (size_t k = 0; k < x->n_alerts; k++) {
			put(r, x->alerts[k].state);
			put(r, x->alerts[k].long_burn);
			put(r, x->alerts[k].short_burn);
		}
	}
	slo_snapshot_release(s);
}

/* The engine's stats after an evaluation: scratch kept between evaluations is small, whatever the
 * slice (a decoded period per SLO stayed allocated before). */
static void check_scratch(run *r)
{
	slo_engine_stats st;
	slo_engine_get_stats(r->e, &st);
	assert_true(st.state_bytes > 0);
	if (st.scratch_bytes > 2 * 16384 + 65536) {
		print_error("scratch held between evaluations: %zu bytes\n", st.scratch_bytes);
		fail();
	}
}

static void cycle(run *r, bool evaluate)
{
	tsdb_appender *a = tsdb_appender_new(r->db);
	assert_non_null(a);
	r->now += STEP_MS;
	scrape(r, a, 0, r->ref[6] ? 4 : 3, r->now);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	rules_manager_tick(r->rm);
	if (evaluate) {
		assert_int_equal(slo_engine_evaluate(r->e), 0);
		check_scratch(r);
	}
}

/* Start-up, live cycles, backfill and history with one rebuild slice; fills r->vals and r->st. */
static void scenario(run *r, int64_t slice_ms)
{
	run_open(r, slice_ms);
	/* start-up: the rules run once, then the first evaluation rebuilds from 8 days of history */
	rules_manager_tick(r->rm);
	assert_int_equal(slo_engine_evaluate(r->e), 0);
	check_scratch(r);
	collect(r);

	/* the numbers compared below must mean something: the rebuilt periods have data */
	slo_snapshot *s = slo_engine_acquire(r->e);
	for (size_t i = 0; i < N_SLOS; i++) {
		assert_true(s->slos[i].exact_has_data);
		assert_true(s->slos[i].exact_error_ratio > 0.003 && s->slos[i].exact_error_ratio < 0.02);
		assert_true(s->slos[i].windows[s->slos[i].n_windows - 1].has_data);
	}
	assert_true(s->slos[0].sloth_has_data); /* the fast path's 7d period rule */
	assert_true(s->slos[3].sloth_has_data);
	assert_true(s->slos[0].total_events > 1e6);
	assert_true(s->slos[1].total_events > 1e6);
	slo_snapshot_release(s);

	/* live: 6 minutes of 30 s cycles (at least one bucket boundary) */
	for (int c = 0; c < 12; c++)
		cycle(r, true);
	collect(r);

	/* backfill: a third pod of service a appears with two days of past samples */
	tsdb_appender *a = tsdb_appender_new(r->db);
	assert_non_null(a);
	r->ctr[6] = 3e3;
	r->ctr[7] = 20;
	for (int64_t t = r->now - 2 * DAY_MS; t <= r->now; t += STEP_MS)
		scrape(r, a, 3, 4, t);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	for (int c = 0; c < 4; c++) {
		cycle(r, true);
		collect(r);
	}

	/* history over the last two days, hourly, for every SLO */
	for (size_t i = 0; i < N_SLOS; i++) {
		slo_history h;
		char err[512];
		assert_int_equal(slo_engine_history(r->e, ids[i], r->now - 2 * DAY_MS, r->now, 3600000, &h, err, sizeof err), 0);
		assert_true(h.n_points == 49);
		for (size_t k = 0; k < h.n_points; k++) {
			put(r, (double)h.points[k].t);
			put(r, h.points[k].error_ratio);
			put(r, h.points[k].burn_rate);
			put(r, h.points[k].budget_remaining);
			put(r, h.points[k].request_rate);
		}
		slo_history_free(&h);
	}
	slo_engine_get_stats(r->e, &r->st);
	run_close(r);
}

static void assert_same(const run *x, const run *y, const char *what)
{
	assert_int_equal(x->n_vals, y->n_vals);
	for (size_t i = 0; i < x->n_vals; i++)
		if (memcmp(&x->vals[i], &y->vals[i], sizeof(double)) != 0) {
			print_error("%s: value %zu differs: %.17g vs %.17g\n", what, i, x->vals[i], y->vals[i]);
			fail();
		}
}

static void check_bounds(const run *r, int64_t slice_ms, const char *what)
{
	print_message("%s: slice %lld ms, max %zu samples per read, max %lld steps per range query, state %zu B\n",
		      what, (long long)r->st.rebuild_slice_ms, r->st.max_read_samples, (long long)r->st.max_query_steps,
		      r->st.state_bytes);
	assert_int_equal(r->st.rebuild_slice_ms, slice_ms);
	assert_true(r->st.max_read_samples > 0);
	assert_true(r->st.max_query_steps > 0);
	if (slice_ms > 0) {
		/* one raw read: at most one slice of one series at 30 s */
		assert_true(r->st.max_read_samples <= (size_t)(slice_ms / STEP_MS));
		assert_true(r->st.max_query_steps <= slice_ms / B_MS);
	} else {
		/* unsliced: the 7-day period series is read at once, and a range query spans a week */
		assert_true(r->st.max_read_samples >= (size_t)(7 * DAY_MS / STEP_MS));
		assert_true(r->st.max_query_steps >= 7 * DAY_MS / B_MS);
	}
}

static void test_slices_same_values(void **state)
{
	(void)state;
	static run base, other;
	scenario(&base, -1);
	check_bounds(&base, 0, "none");
	assert_true(base.n_vals > 500);

	const struct {
		int64_t opt, want;
		const char *name;
	} cases[] = {
		{B_MS, B_MS, "one bucket"},
		{7 * 60000, 2 * B_MS, "7 minutes (2 buckets)"},
		{0, DAY_MS, "default (1 day)"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		scenario(&other, cases[c].opt);
		check_bounds(&other, cases[c].want, cases[c].name);
		assert_same(&base, &other, cases[c].name);
		/* same steady state whatever the slice */
		assert_int_equal(other.st.state_bytes, base.st.state_bytes);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slices_same_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
