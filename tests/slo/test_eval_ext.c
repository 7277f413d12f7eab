/*
 * test_eval_ext.c — slo.eval_ext: the live engine with slod's extensions, against hand-computed
 * numbers: calendar-month budgets (UTC and a fixed +01:00 offset) count only the buckets since
 * the month began, a rolling SLO counts everything, min_events shows in the status; and
 * min_events in the live alert rules keeps a low-traffic SLO from paging (test_min_events_alert).
 *
 * Data (increase()-shaped SLIs, samples every 60 s, so each 5m bucket's extrapolated increase is
 * exact): jobs_total grows 1/s from M − 2h to M + 2h (M = 2024-03-01T00:00Z); jobs_failed_total
 * grows 0.1/s before M and 0.01/s after. At now = M + 2h:
 *   calendar month, UTC      (M, now]:        errors 72,  total 7200  -> ratio 0.01, remaining 1 − 0.01/0.05 = 0.8
 *   calendar month, +01:00   (M − 1h, now]:   errors 432, total 10800 -> ratio 0.04, remaining 0.2
 *   rolling 30d              (M − 2h, now]:   errors 792, total 14400 -> ratio 0.055, remaining −0.1
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "promql/engine.h"
#include "rules/rules.h"
#include "slo/eval.h"
#include "slo/slo.h"
#include "tsdb/tsdb.h"

#define M_MS 1709251200000LL /* 2024-03-01T00:00:00Z */

#define SLO(name, ext)                                                                                  \
	"  - name: " name "\n    objective: 95\n    sli:\n      events:\n"                                   \
	"        error_query: sum(increase(jobs_failed_total[{{.window}}]))\n"                              \
	"        total_query: sum(increase(jobs_total[{{.window}}]))\n"                                     \
	"    alerting:\n      name: Jobs\n    slod: " ext "\n"

static const char spec[] = "version: prometheus/v1\nservice: batch\nslos:\n" SLO("cal-utc", "{period: {calendar: month}}")
	SLO("cal-plus1", "{period: {calendar: month, timezone: \"+01:00\"}}") SLO("rolling", "{min_events: 10}");

static void append(tsdb *db, const char *name, int64_t t, double v)
{
	slod_label l[1] = {{SLOD_METRIC_NAME, name}};
	slod_labels ls = {l, 1};
	tsdb_appender *a = tsdb_appender_new(db);
	assert_non_null(a);
	assert_int_equal(tsdb_appender_add(a, &ls, t, v, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
}

static void assert_near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("got %.17g want %.17g\n", got, want);
		fail();
	}
}

static void test_calendar_budget(void **state)
{
	(void)state;
	char err[1024];
	int64_t now = M_MS - 7200000;
	slod_clock clock = slod_clock_manual(&now);
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	tsdb *db;
	assert_int_equal(tsdb_open(&to, &db, err, sizeof err), 0);
	promql_engine *pe = promql_engine_new(NULL);
	assert_non_null(pe);
	rules_manager *rm;
	rules_options ro = {.db = db, .engine = pe, .default_interval_ms = 30000, .clock = clock};
	assert_int_equal(rules_manager_new(&ro, &rm, err, sizeof err), 0);
	slo_set *set = slo_set_new();
	assert_int_equal(slo_load_buffer(set, "cal.yaml", spec, strlen(spec)), 0);
	slo_gen_options go = {0};
	assert_int_equal(slo_validate(set, &go), 0);
	slo_engine *e;
	slo_engine_options eo = {.set = set, .rules = rm, .db = db, .engine = pe, .clock = clock, .bucket_delay_ms = -1};
	if (slo_engine_new(&eo, &e, err, sizeof err) != 0) {
		print_error("%s\n", err);
		fail();
	}
	double tot = 1e6, bad = 1e4;
	for (int64_t t = M_MS - 7200000; t <= M_MS + 7200000; t += 60000) {
		if (t > M_MS - 7200000) {
			tot += 60;
			bad += t <= M_MS ? 6 : 0.6;
		}
		append(db, "jobs_total", t, tot);
		append(db, "jobs_failed_total", t, bad);
	}
	now = M_MS + 7200000;
	assert_int_equal(slo_engine_evaluate(e), 0);
	slo_snapshot *s = slo_engine_acquire(e);
	static const struct {
		const char *id;
		slo_calendar cal;
		int64_t start;
		double err, tot, remaining;
		int64_t min_events;
	} want[] = {
		{"batch-cal-utc", SLO_CAL_MONTH, M_MS, 72, 7200, 0.8, 0},
		{"batch-cal-plus1", SLO_CAL_MONTH, M_MS - 3600000, 432, 10800, 0.2, 0},
		{"batch-rolling", SLO_CAL_NONE, 0, 792, 14400, 1 - 0.055 / 0.05, 10},
	};
	for (size_t i = 0; i < 3; i++) {
		const slo_status *st = slo_snapshot_find(s, want[i].id);
		assert_non_null(st);
		assert_int_equal(st->calendar, want[i].cal);
		assert_int_equal(st->period_start_ms, want[i].start);
		assert_int_equal(st->min_events, want[i].min_events);
		assert_int_equal(st->period_ms, 30LL * 86400000);
		assert_true(st->exact_has_data);
		assert_near(st->error_events, want[i].err, 1e-6);
		assert_near(st->total_events, want[i].tot, 1e-6);
		assert_near(st->exact_error_ratio, want[i].err / want[i].tot, 1e-12);
		assert_near(st->remaining, want[i].remaining, 1e-9);
	}
	assert_string_equal(slo_snapshot_find(s, "batch-cal-plus1")->timezone, "+01:00");
	assert_string_equal(slo_snapshot_find(s, "batch-cal-utc")->timezone, "UTC");
	assert_null(slo_snapshot_find(s, "batch-rolling")->timezone);
	slo_snapshot_release(s);
	/* history: each point's budget counts from the start of its own month. At M − 30m (still
	 * February in UTC) the UTC SLO has 90 min of 10 % errors: remaining 1 − 0.1/0.05 = −1; at
	 * M + 1h, 1 % errors since M: remaining 0.8; the +01:00 SLO's month began at M − 1h: at M − 30m
	 * 30 min of 10 % (−1), at M + 1h (360 + 36) / 7200 = 0.055 -> 1 − 1.1 = −0.1. */
	slo_history h;
	assert_int_equal(slo_engine_history(e, "batch-cal-utc", M_MS - 1800000, M_MS + 3600000, 5400000, &h, err,
					    sizeof err), 0);
	assert_int_equal(h.n_points, 2);
	assert_near(h.points[0].budget_remaining, -1, 1e-9);
	assert_near(h.points[1].budget_remaining, 0.8, 1e-9);
	slo_history_free(&h);
	assert_int_equal(slo_engine_history(e, "batch-cal-plus1", M_MS - 1800000, M_MS + 3600000, 5400000, &h, err,
					    sizeof err), 0);
	assert_near(h.points[0].budget_remaining, -1, 1e-9);
	assert_near(h.points[1].budget_remaining, 1 - 0.055 / 0.05, 1e-9);
	slo_history_free(&h);
	slo_engine_free(e);
	rules_manager_free(rm);
	slo_set_free(set);
	promql_engine_free(pe);
	tsdb_close(db);
}

/* min_events in the live alert rules: every request fails, but at 0.01 req/s the 1h window holds
 * 36 events. The SLO without min_events pages; the one with min_events: 100 stays inactive, as its
 * compiled condition `and on() sum(sum(rate(req_total[1h]))) * 3600 >= 100` is false; at 0.1 req/s
 * (360 events an hour) both page. */
static const char spec_min[] =
	"version: prometheus/v1\nservice: web\nslos:\n"
	"  - name: plain\n    objective: 99\n    sli:\n      events:\n"
	"        error_query: sum(rate(req_failed_total[{{.window}}]))\n"
	"        total_query: sum(rate(req_total[{{.window}}]))\n"
	"    alerting: {name: WebPlain}\n"
	"  - name: guarded\n    objective: 99\n    sli:\n      events:\n"
	"        error_query: sum(rate(req_failed_total[{{.window}}]))\n"
	"        total_query: sum(rate(req_total[{{.window}}]))\n"
	"    alerting: {name: WebGuarded}\n"
	"    slod: {min_events: 100}\n";

static rules_alert_state page_state(slo_engine *e, const char *id)
{
	slo_snapshot *s = slo_engine_acquire(e);
	const slo_status *st = slo_snapshot_find(s, id);
	assert_non_null(st);
	assert_true(st->n_alerts >= 1);
	assert_string_equal(st->alerts[0].severity, "page");
	rules_alert_state r = st->alerts[0].state;
	slo_snapshot_release(s);
	return r;
}

static void run_min_events(double rps, rules_alert_state want_guarded)
{
	char err[1024];
	int64_t t0 = 1700000100000LL, now = t0;
	slod_clock clock = slod_clock_manual(&now);
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	tsdb *db;
	assert_int_equal(tsdb_open(&to, &db, err, sizeof err), 0);
	promql_engine *pe = promql_engine_new(NULL);
	rules_manager *rm;
	rules_options ro = {.db = db, .engine = pe, .default_interval_ms = 30000, .clock = clock};
	assert_int_equal(rules_manager_new(&ro, &rm, err, sizeof err), 0);
	slo_set *set = slo_set_new();
	assert_int_equal(slo_load_buffer(set, "min.yaml", spec_min, strlen(spec_min)), 0);
	slo_gen_options go = {0};
	assert_int_equal(slo_validate(set, &go), 0);
	slo_engine *e;
	slo_engine_options eo = {.set = set, .rules = rm, .db = db, .engine = pe, .clock = clock, .bucket_delay_ms = -1};
	assert_int_equal(slo_engine_new(&eo, &e, err, sizeof err), 0);
	double v = 0;
	for (int64_t s = 0; s <= 3900; s += 15) {
		now = t0 + s * 1000;
		v += rps * 15;
		append(db, "req_total", now, v);
		append(db, "req_failed_total", now, v);
		rules_manager_tick(rm);
		if (s % 30 == 0)
			assert_int_equal(slo_engine_evaluate(e), 0);
	}
	assert_int_equal(page_state(e, "web-plain"), RULES_ALERT_FIRING);
	assert_int_equal(page_state(e, "web-guarded"), want_guarded);
	slo_engine_free(e);
	rules_manager_free(rm);
	slo_set_free(set);
	promql_engine_free(pe);
	tsdb_close(db);
}

static void test_min_events_alert(void **state)
{
	(void)state;
	run_min_events(0.01, RULES_ALERT_INACTIVE);
	run_min_events(0.1, RULES_ALERT_FIRING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar_budget),
		cmocka_unit_test(test_min_events_alert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
