/*
 * Tests for rules/manager.c and rules/alert.c with a manual clock: recording rules and staleness,
 * the alert state machine (pending → firing → resolved, keep_firing_for), ALERTS series, restoring
 * `for` state after a restart, atomic reload, missed evaluations, template expansion.
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

#include "rules/rules.h"

#define T0 1700000000000LL
#define SEC 1000

typedef struct fx {
	tsdb *db;
	promql_engine *eng;
	int64_t now;
	/* last on_alerts call */
	int calls;
	size_t n_alerts;
	rules_alert_state states[8];
	char summary[8][128];
	char group[256];
} fx;

static void on_alerts(void *ud, const char *group, const rules_alert *a, size_t n)
{
	fx *f = ud;
	snprintf(f->group, sizeof f->group, "%s", group);
	f->calls++;
	f->n_alerts = n;
	for (size_t i = 0; i < n && i < 8; i++) {
		f->states[i] = a[i].state;
		const char *s = labels_get(&a[i].annotations, "summary");
		snprintf(f->summary[i], sizeof f->summary[i], "%s", s ? s : "");
	}
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 0;
	char err[256];
	assert_int_equal(tsdb_open(&o, &f->db, err, sizeof err), 0);
	f->eng = promql_engine_new(NULL);
	assert_non_null(f->eng);
	f->now = T0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	promql_engine_free(f->eng);
	tsdb_close(f->db);
	free(f);
	return 0;
}

static void put(fx *f, const char *job, int64_t t, double v)
{
	slod_label l[] = {{"__name__", "x"}, {"job", job}};
	slod_labels ls = {l, 2};
	tsdb_appender *a = tsdb_appender_new(f->db);
	assert_true(tsdb_appender_add(a, &ls, t, v, NULL) >= 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
}

/* Latest sample of the one series matching name (and optional alertstate); returns count found. */
static int latest(fx *f, const char *name, const char *alertstate, double *v, int64_t *t)
{
	tsdb_matcher m[2] = {{.type = TSDB_MATCH_EQ, .name = "__name__", .value = name},
			     {.type = TSDB_MATCH_EQ, .name = "alertstate", .value = alertstate}};
	tsdb_querier *q = tsdb_querier_open(f->db, 0, INT64_MAX);
	tsdb_series *ss;
	size_t n;
	assert_int_equal(tsdb_querier_select(q, m, alertstate ? 2 : 1, &ss, &n), 0);
	if (n == 1) {
		tsdb_sample *smp = NULL;
		size_t cap = 0;
		long k = tsdb_querier_samples(q, ss[0].ref, 0, INT64_MAX, &smp, &cap);
		assert_true(k > 0);
		*v = smp[k - 1].v;
		*t = smp[k - 1].t;
		free(smp);
	}
	tsdb_querier_close(q);
	return (int)n;
}

static rules_manager *make(fx *f)
{
	rules_options o = {.db = f->db, .engine = f->eng, .default_interval_ms = 30 * SEC,
			   .on_alerts = on_alerts, .on_alerts_ud = f, .clock = slod_clock_manual(&f->now)};
	rules_manager *m = NULL;
	char err[256];
	assert_int_equal(rules_manager_new(&o, &m, err, sizeof err), 0);
	return m;
}

static int64_t last_eval(rules_manager *m)
{
	rules_snapshot s;
	assert_int_equal(rules_manager_snapshot(m, &s), 0);
	int64_t t = s.groups[0].last_eval_ms;
	rules_snapshot_free(&s);
	return t;
}

static void test_recording_and_staleness(void **state)
{
	fx *f = *state;
	for (int i = 0; i <= 10; i++)
		put(f, "a", T0 - 600 * SEC + i * 60 * SEC, 10);
	rules_manager *m = make(f);
	rules_rule_def r = {.kind = RULES_RECORD, .name = "job:x:high", .expr = "x > 5"};
	rules_group_def g = {.name = "g", .file = "t.yml", .rules = &r, .n_rules = 1};
	char err[256];
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	assert_int_equal(rules_manager_tick(m), 1);
	double v;
	int64_t t;
	assert_int_equal(latest(f, "job:x:high", NULL, &v, &t), 1);
	assert_true(v == 10.0);
	assert_int_equal(t, last_eval(m));
	/* the source drops below the threshold: the recorded series gets a stale marker */
	put(f, "a", T0 + 1 * SEC, 1);
	f->now += 30 * SEC;
	assert_int_equal(rules_manager_tick(m), 1);
	assert_int_equal(latest(f, "job:x:high", NULL, &v, &t), 1);
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	assert_true(bits == TSDB_STALE_NAN_BITS);
	rules_manager_free(m);
}

static void test_alert_lifecycle(void **state)
{
	fx *f = *state;
	put(f, "a", T0 - 60 * SEC, 10);
	rules_manager *m = make(f);
	slod_label ann[] = {{"summary", "{{ $labels.job }} at {{ $value }}"}};
	slod_label lab[] = {{"severity", "page"}};
	rules_rule_def r = {.kind = RULES_ALERT, .name = "High", .expr = "x > 5", .for_ms = 60 * SEC,
			    .labels = {lab, 1}, .annotations = {ann, 1}};
	rules_group_def g = {.name = "g", .file = "t.yml", .rules = &r, .n_rules = 1};
	char err[256];
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	rules_manager_tick(m); /* pending */
	double v;
	int64_t t;
	assert_int_equal(latest(f, "ALERTS", "pending", &v, &t), 1);
	assert_true(v == 1.0);
	int64_t active = last_eval(m);
	assert_int_equal(latest(f, "ALERTS_FOR_STATE", NULL, &v, &t), 1);
	assert_true(fabs(v - (double)active / 1000.0) < 1e-9);
	assert_int_equal(f->n_alerts, 0); /* pending alerts are not sent */
	for (int i = 0; i < 2; i++) {
		put(f, "a", f->now, 10);
		f->now += 30 * SEC;
		rules_manager_tick(m);
	}
	/* 60 s after becoming active: firing, sent with expanded annotations */
	assert_int_equal(latest(f, "ALERTS", "firing", &v, &t), 1);
	assert_int_equal(f->n_alerts, 1);
	assert_int_equal(f->states[0], RULES_ALERT_FIRING);
	assert_string_equal(f->summary[0], "a at 10");
	rules_snapshot s;
	assert_int_equal(rules_manager_snapshot(m, &s), 0);
	assert_int_equal(s.groups[0].rules[0].n_alerts, 1);
	assert_int_equal(s.groups[0].rules[0].state, RULES_ALERT_FIRING);
	assert_string_equal(labels_get(&s.groups[0].rules[0].alerts[0].labels, "alertname"), "High");
	assert_string_equal(labels_get(&s.groups[0].rules[0].alerts[0].labels, "severity"), "page");
	assert_string_equal(s.groups[0].rules[0].health, "ok");
	rules_snapshot_free(&s);
	/* the condition clears: resolved and sent as resolved; ALERTS goes stale */
	put(f, "a", f->now, 1);
	f->now += 30 * SEC;
	rules_manager_tick(m);
	assert_int_equal(f->n_alerts, 1);
	assert_int_equal(f->states[0], RULES_ALERT_RESOLVED);
	assert_int_equal(latest(f, "ALERTS", "firing", &v, &t), 1);
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	assert_true(bits == TSDB_STALE_NAN_BITS);
	rules_manager_free(m);
}

static void test_keep_firing_for(void **state)
{
	fx *f = *state;
	put(f, "a", T0 - 60 * SEC, 10);
	rules_manager *m = make(f);
	rules_rule_def r = {.kind = RULES_ALERT, .name = "K", .expr = "x > 5", .keep_firing_for_ms = 60 * SEC};
	rules_group_def g = {.name = "g", .file = "t.yml", .rules = &r, .n_rules = 1};
	char err[256];
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	rules_manager_tick(m);
	assert_int_equal(f->states[0], RULES_ALERT_FIRING); /* for = 0: fires at once */
	put(f, "a", f->now, 1);
	f->now += 30 * SEC;
	rules_manager_tick(m);
	assert_int_equal(f->states[0], RULES_ALERT_FIRING); /* kept firing */
	f->now += 30 * SEC;
	rules_manager_tick(m);
	f->now += 30 * SEC;
	rules_manager_tick(m);
	assert_int_equal(f->states[0], RULES_ALERT_RESOLVED);
	rules_manager_free(m);
}

static void test_restore_for_state(void **state)
{
	fx *f = *state;
	rules_rule_def r = {.kind = RULES_ALERT, .name = "R", .expr = "x > 5", .for_ms = 120 * SEC};
	rules_group_def g = {.name = "g", .file = "t.yml", .rules = &r, .n_rules = 1};
	char err[256];
	put(f, "a", T0 - 60 * SEC, 10);
	rules_manager *m = make(f);
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	rules_manager_tick(m);
	int64_t first = last_eval(m);
	put(f, "a", f->now, 10);
	f->now += 30 * SEC;
	rules_manager_tick(m);
	rules_manager_free(m); /* "restart" 90 s later */
	f->now += 90 * SEC;
	put(f, "a", f->now - 5 * SEC, 10);
	m = make(f);
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	rules_manager_tick(m);
	rules_snapshot s;
	assert_int_equal(rules_manager_snapshot(m, &s), 0);
	assert_int_equal(s.groups[0].rules[0].n_alerts, 1);
	assert_int_equal(s.groups[0].rules[0].alerts[0].active_at_ms, first);
	/* 120 s have passed since `first`: it fires without waiting another `for` */
	assert_int_equal(s.groups[0].rules[0].alerts[0].state, RULES_ALERT_FIRING);
	rules_snapshot_free(&s);
	rules_manager_free(m);
}

static void test_reload_is_atomic(void **state)
{
	fx *f = *state;
	rules_manager *m = make(f);
	rules_rule_def good = {.kind = RULES_RECORD, .name = "a:b", .expr = "vector(1)"};
	rules_group_def g = {.name = "g", .file = "t.yml", .rules = &good, .n_rules = 1};
	char err[256];
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	rules_rule_def bad[2] = {good, {.kind = RULES_RECORD, .name = "c:d", .expr = "sum(", .file = "t.yml",
					.line = 7}};
	rules_group_def g2 = {.name = "g2", .file = "t.yml", .rules = bad, .n_rules = 2};
	assert_int_equal(rules_manager_update(m, &g2, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "t.yml:7: rule c:d: 1:5: parse error"));
	rules_snapshot s;
	assert_int_equal(rules_manager_snapshot(m, &s), 0);
	assert_int_equal(s.n_groups, 1);
	assert_string_equal(s.groups[0].name, "g");
	rules_snapshot_free(&s);
	/* a range-vector expression is not a valid rule */
	rules_rule_def mat = {.kind = RULES_RECORD, .name = "e:f", .expr = "x[5m]"};
	rules_group_def g3 = {.name = "g3", .file = "t.yml", .rules = &mat, .n_rules = 1};
	assert_int_equal(rules_manager_update(m, &g3, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "range vector"));
	rules_manager_free(m);
}

/* A group whose alerting rules disappear in a reload hands its empty alert set to on_alerts once,
 * so the notifier can resolve what it notified; groups that keep alerting rules do not. */
static void test_reload_removing_alerts_hands_over_empty_set(void **state)
{
	fx *f = *state;
	rules_manager *m = make(f);
	rules_rule_def al = {.kind = RULES_ALERT, .name = "Always", .expr = "vector(1)"};
	rules_rule_def rec = {.kind = RULES_RECORD, .name = "a:b", .expr = "vector(1)"};
	rules_group_def gs[2] = {{.name = "ga", .file = "t.yml", .rules = &al, .n_rules = 1},
				 {.name = "gk", .file = "t.yml", .rules = &al, .n_rules = 1}};
	char err[256];
	assert_int_equal(rules_manager_update(m, gs, 2, err, sizeof err), 0);
	rules_manager_tick(m);
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->n_alerts, 1);
	assert_int_equal(f->states[0], RULES_ALERT_FIRING);
	/* same groups again: nothing handed over by the reload itself */
	assert_int_equal(rules_manager_update(m, gs, 2, err, sizeof err), 0);
	assert_int_equal(f->calls, 2);
	/* ga keeps its name but loses its alerting rule; gk stays: one empty hand-over, for ga */
	rules_group_def gs2[2] = {{.name = "ga", .file = "t.yml", .rules = &rec, .n_rules = 1}, gs[1]};
	assert_int_equal(rules_manager_update(m, gs2, 2, err, sizeof err), 0);
	assert_int_equal(f->calls, 3);
	assert_string_equal(f->group, "t.yml;ga");
	assert_int_equal(f->n_alerts, 0);
	/* gk removed: its empty set too */
	assert_int_equal(rules_manager_update(m, gs2, 1, err, sizeof err), 0);
	assert_int_equal(f->calls, 4);
	assert_string_equal(f->group, "t.yml;gk");
	assert_int_equal(f->n_alerts, 0);
	rules_manager_free(m);
}

static void test_missed_evaluations(void **state)
{
	fx *f = *state;
	rules_manager *m = make(f);
	rules_rule_def r = {.kind = RULES_RECORD, .name = "one", .expr = "vector(1)"};
	rules_group_def g = {.name = "g", .file = "t.yml", .interval_ms = 10 * SEC, .rules = &r, .n_rules = 1};
	char err[256];
	assert_int_equal(rules_manager_update(m, &g, 1, err, sizeof err), 0);
	assert_int_equal(rules_manager_tick(m), 1);
	assert_int_equal(rules_manager_tick(m), 0); /* not due again */
	f->now += 50 * SEC;
	assert_int_equal(rules_manager_tick(m), 1);
	rules_snapshot s;
	assert_int_equal(rules_manager_snapshot(m, &s), 0);
	assert_int_equal(s.groups[0].evaluations, 2);
	assert_int_equal(s.groups[0].missed_evaluations, 4);
	rules_snapshot_free(&s);
	rules_manager_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recording_and_staleness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_firing_for, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_for_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_removing_alerts_hands_over_empty_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missed_evaluations, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
