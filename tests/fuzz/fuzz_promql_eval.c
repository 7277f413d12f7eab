/*
 * fuzz_promql_eval.c — libFuzzer target for the PromQL evaluator: any query that parses is
 * evaluated as an instant and as a range query against a small fixed in-memory tsdb (counters,
 * gauges with stale markers, classic histogram buckets, NaN/Inf values, colliding label sets),
 * with small sample and time limits. Nothing may crash, leak or trip UBSan; results are freed.
 * The database is built once per process (the harness's only state).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/tsdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tsdb *g_db;
static promql_engine *g_eng;

static void add(tsdb_appender *a, const char *name, const char *k, const char *v, double start, double inc,
		int every_stale)
{
	slod_label lv[3] = {{SLOD_METRIC_NAME, name}, {"job", "j"}, {k, v}};
	slod_labels ls = {lv, 3};
	labels_sort(&ls);
	uint64_t sb = TSDB_STALE_NAN_BITS;
	double stale;
	memcpy(&stale, &sb, sizeof stale);
	for (int i = 0; i < 40; i++) {
		double x = start + inc * i;
		if (every_stale && i % every_stale == every_stale - 1)
			x = stale;
		tsdb_appender_add(a, &ls, (int64_t)i * 30000, x, NULL);
	}
}

static void setup(void)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = NULL;
	o.retention_ms = 0;
	char err[128];
	if (tsdb_open(&o, &g_db, err, sizeof err) != 0)
		abort();
	tsdb_appender *a = tsdb_appender_new(g_db);
	add(a, "c_total", "instance", "a", 0, 5, 0);
	add(a, "c_total", "instance", "b", 100, -3, 0);
	add(a, "g", "instance", "a", 1, 0.5, 7);
	add(a, "g", "instance", "b", NAN, 0, 0);
	add(a, "g", "instance", "c", INFINITY, -1, 0);
	add(a, "h_bucket", "le", "0.1", 0, 1, 0);
	add(a, "h_bucket", "le", "1", 0, 3, 0);
	add(a, "h_bucket", "le", "+Inf", 0, 4, 0);
	add(a, "h_bucket", "le", "bad", 0, 4, 0);
	add(a, "up", "instance", "a", 1, 0, 0);
	add(a, "up", "instance", "b", 0, 0, 0);
	if (tsdb_appender_commit(a) != 0)
		abort();
	tsdb_appender_free(a);
	promql_engine_opts eo;
	promql_engine_opts_default(&eo);
	eo.max_samples = 200000;
	eo.timeout_ms = 2000;
	eo.enable_duration_expressions = true;
	eo.enable_extended_range_selectors = true;
	g_eng = promql_engine_new(&eo);
	if (!g_eng)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_db)
		setup();
	if (size > 4096)
		return 0;
	char *q = malloc(size + 1);
	if (!q)
		return 0;
	memcpy(q, data, size);
	q[size] = 0;
	promql_result *r = promql_query_instant(g_eng, g_db, q, 600000, NULL);
	if (r) {
		if (r->err_type == PROMQL_ERRTYPE_NONE && r->err)
			abort();
		promql_result_free(r);
	}
	r = promql_query_range(g_eng, g_db, q, 0, 1200000, 60000, NULL);
	if (r) {
		for (size_t i = 1; r->type == PROMQL_RESULT_MATRIX && i < r->n_series; i++)
			if (labels_cmp(&r->series[i - 1].labels, &r->series[i].labels) >= 0)
				abort(); /* a range result is sorted and has unique label sets */
		promql_result_free(r);
	}
	free(q);
	return 0;
}
