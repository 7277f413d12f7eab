/*
 * oracle_fast.c — harness of slo.eval_promtool: computes the SLI window ratios of one Sloth SLO the
 * way slod does (fast path for 1h…3d, the PromQL engine for 5m and 30m) on a synthetic scenario,
 * and writes the same scenario as a promtool unit test so that real Prometheus evaluates the rules
 * `slod generate` exports. oracle_promtool.py compares the two (relative error ≤ 1e-9).
 *
 * The period rule (30d) averages the recorded 5m ratio; the harness records that series at every
 * rule evaluation time with slod's engine, as promtool does, so the fast period value is compared
 * too.
 *
 * Usage: slo_oracle_fast OUTDIR   → OUTDIR/rules.yml, OUTDIR/test.yml; prints "record t_ms value".
 * Scenario (s = seconds from 0, one sample every 15 s): 10 req/s with 0.5 % errors, counter resets
 * at 1215 s (first sample of a 5-minute bucket) and 2460 s (inside one), every request failing
 * from 5400 s to 6300 s.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "slo/eval_fast.h"
#include "slo/rulefile.h"
#include "slo/slo.h"
#include "tsdb/tsdb.h"
#include "util/arena.h"
#include "util/buf.h"

#define STEP_S 15
#define END_S 8400

static const char spec[] = "version: \"prometheus/v1\"\n"
			   "service: \"svc\"\n"
			   "slos:\n"
			   "  - name: \"avail\"\n"
			   "    objective: 99\n"
			   "    sli:\n"
			   "      events:\n"
			   "        error_query: sum(rate(req_errors_total[{{.window}}]))\n"
			   "        total_query: sum(rate(req_total[{{.window}}]))\n"
			   "    alerting:\n"
			   "      name: SvcAvail\n";

/* Rule evaluations every 7.001 s (from 0): never on a sample's timestamp in the scenario, so that
 * Prometheus 2's closed range windows and Prometheus 3's left-open ones select the same samples
 * for every recorded 5m ratio the period rule averages. Compared at four of those times (ms). */
#define EVAL_MS 7001
static const int64_t eval_ms[] = {772 * EVAL_MS, 815 * EVAL_MS, 901 * EVAL_MS, 1201 * EVAL_MS};

static int die(const char *what, const char *detail)
{
	fprintf(stderr, "slo_oracle_fast: %s: %s\n", what, detail ? detail : "");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return die("usage", "slo_oracle_fast OUTDIR");
	char err[2048], path[1024];
	/* the scenario */
	size_t n = END_S / STEP_S + 1;
	double *tot = calloc(n, sizeof(double)), *ev = calloc(n, sizeof(double));
	if (!tot || !ev)
		return die("oom", NULL);
	double tv = 1e6, e = 5e3;
	for (size_t i = 0; i < n; i++) {
		int64_t s = (int64_t)i * STEP_S;
		if (s == 1215 || s == 2460) {
			tv = 75;
			e = 75 * 0.005;
		} else if (s > 0) {
			tv += 10.0 * STEP_S;
			e += (s > 5400 && s <= 6300 ? 10.0 : 0.05) * STEP_S;
		}
		tot[i] = tv;
		ev[i] = e;
	}
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	tsdb *db;
	if (tsdb_open(&to, &db, err, sizeof err) != 0)
		return die("tsdb", err);
	slod_label lt[1] = {{SLOD_METRIC_NAME, "req_total"}}, le[1] = {{SLOD_METRIC_NAME, "req_errors_total"}};
	slod_labels ls_t = {lt, 1}, ls_e = {le, 1};
	tsdb_appender *app = tsdb_appender_new(db);
	for (size_t i = 0; i < n; i++) {
		int64_t t = (int64_t)i * STEP_S * 1000;
		if (tsdb_appender_add(app, &ls_t, t, tot[i], NULL) < 0 || tsdb_appender_add(app, &ls_e, t, ev[i], NULL) < 0)
			return die("append", NULL);
	}
	if (tsdb_appender_commit(app) != 0)
		return die("commit", NULL);
	tsdb_appender_free(app);

	/* the rules, as `slod generate` writes them */
	slo_set *set = slo_set_new();
	slo_gen_options go = {0};
	if (slo_load_buffer(set, "oracle.yaml", spec, sizeof spec - 1) != 0 || slo_validate(set, &go) != 0)
		return die("spec", "does not load");
	const slo_group *groups;
	slo_set_groups(set, &groups);
	buf text;
	buf_init(&text, 0);
	if (slo_generate(set, &groups[0], &go, &text, err, sizeof err) != 0)
		return die("generate", err);
	snprintf(path, sizeof path, "%s/rules.yml", argv[1]);
	FILE *fp = fopen(path, "w");
	if (!fp)
		return die("write", path);
	fwrite(text.data, 1, text.len, fp);
	fclose(fp);
	slo_rulefile *rf;
	if (slo_rulefile_parse("rules.yml", text.data, text.len, &rf, err, sizeof err) != 0)
		return die("rulefile", err);
	size_t ng;
	const rules_group_def *gd = slo_rulefile_groups(rf, &ng);
	const rules_group_def *sli = NULL;
	for (size_t i = 0; i < ng; i++)
		if (strncmp(gd[i].name, "sloth-slo-sli-recordings-", 25) == 0)
			sli = &gd[i];
	if (!sli)
		return die("rulefile", "no sli group");

	/* slod's values: the fast path for 1h..3d, the engine for the rules it leaves */
	const slo_spec *sp = &groups[0].slos[0];
	slo__fast *f = slo__fast_new(sp, 300000, 3600000, 30LL * 86400000, "slo:sli_error:ratio_rate5m");
	arena a;
	arena_init(&a, 0);
	rules_group_def kept;
	if (!f || slo__fast_take_rules(f, sli, &a, &kept) <= 0)
		return die("fast path", "not taken");
	promql_engine *pe = promql_engine_new(NULL);
	/* the 5m rule as Prometheus runs it (every 5 s from 0): the input of the period rule */
	const rules_rule_def *r5 = NULL;
	for (size_t r = 0; r < sli->n_rules; r++)
		if (strcmp(sli->rules[r].name, "slo:sli_error:ratio_rate5m") == 0)
			r5 = &sli->rules[r];
	if (!r5)
		return die("rulefile", "no 5m rule");
	slod_label l5[16];
	slod_labels ls5 = {l5, 0};
	l5[ls5.n++] = (slod_label){SLOD_METRIC_NAME, r5->name};
	for (size_t k = 0; k < r5->labels.n && ls5.n < 16; k++)
		l5[ls5.n++] = r5->labels.v[k];
	labels_sort(&ls5);
	app = tsdb_appender_new(db);
	int64_t last_eval = eval_ms[sizeof eval_ms / sizeof eval_ms[0] - 1];
	for (int64_t ts = 0; ts <= last_eval; ts += EVAL_MS) {
		promql_result *res = promql_query_instant(pe, db, r5->expr, ts, NULL);
		if (res && res->err_type == PROMQL_ERRTYPE_NONE && res->n_series == 1)
			tsdb_appender_add(app, &ls5, ts, res->series[0].points[0].v, NULL);
		promql_result_free(res);
	}
	if (tsdb_appender_commit(app) != 0)
		return die("commit", "5m");
	tsdb_appender_free(app);
	buf tests;
	buf_init(&tests, 0);
	buf_printf(&tests,
		   "rule_files: [rules.yml]\nevaluation_interval: %dms\ntests:\n  - interval: %ds\n    input_series:\n",
		   EVAL_MS, STEP_S);
	for (int k = 0; k < 2; k++) {
		buf_printf(&tests, "      - series: '%s'\n        values: '", k ? "req_errors_total" : "req_total");
		for (size_t i = 0; i < n; i++)
			buf_printf(&tests, "%s%.17g", i ? " " : "", k ? ev[i] : tot[i]);
		buf_puts(&tests, "'\n");
	}
	buf_puts(&tests, "    promql_expr_test:\n");
	for (size_t k = 0; k < sizeof eval_ms / sizeof eval_ms[0]; k++) {
		int64_t t = eval_ms[k];
		tsdb_querier *qc = tsdb_querier_open(db, 0, t), *qp = tsdb_querier_open(db, 0, t);
		app = tsdb_appender_new(db);
		if (slo__fast_eval(f, qc, qp, app, t) < 0 || tsdb_appender_commit(app) != 0)
			return die("fast eval", NULL);
		tsdb_appender_free(app);
		tsdb_querier_close(qc);
		tsdb_querier_close(qp);
		for (size_t r = 0; r < sli->n_rules; r++) {
			const rules_rule_def *rd = &sli->rules[r];
			bool fast = true;
			for (size_t j = 0; j < kept.n_rules; j++)
				if (strcmp(kept.rules[j].name, rd->name) == 0)
					fast = false;
			char q[256];
			snprintf(q, sizeof q, "%s%s", rd->name, fast ? "{sloth_id=\"svc-avail\"}" : "");
			promql_result *res = promql_query_instant(pe, db, fast ? q : rd->expr, t, NULL);
			if (!res || res->err_type != PROMQL_ERRTYPE_NONE || res->n_series != 1)
				return die("query", rd->name);
			printf("%s %lld %.17g %s\n", rd->name, (long long)t, res->series[0].points[0].v,
			       fast ? "fast" : "engine");
			promql_result_free(res);
			buf_printf(&tests,
				   "      - expr: '%s{sloth_id=\"svc-avail\"}'\n        eval_time: %lldms\n"
				   "        exp_samples:\n          - labels: '%s'\n            value: 0\n",
				   rd->name, (long long)t, rd->name);
		}
	}
	snprintf(path, sizeof path, "%s/test.yml", argv[1]);
	fp = fopen(path, "w");
	if (!fp)
		return die("write", path);
	fwrite(tests.data, 1, tests.len, fp);
	fclose(fp);
	buf_deinit(&tests);
	buf_deinit(&text);
	arena_deinit(&a);
	slo__fast_free(f);
	slo_rulefile_free(rf);
	slo_set_free(set);
	promql_engine_free(pe);
	tsdb_close(db);
	free(tot);
	free(ev);
	return 0;
}
