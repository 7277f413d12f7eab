/*
 * test_torture.c — promql.torture: the PromQL parser and engine under a fault-injecting allocator
 * (tests/util/test_torture_alloc.h). For N = 1, 2, ... the Nth allocation of promql_parse / a
 * query fails, until one run completes without reaching N. Every run must end cleanly: the parser
 * returns PROMQL_ERR_NOMEM (never a parse error, never a crash), a query returns NULL or an error
 * result, and a query that reports success must equal the reference answer computed without
 * faults. Under ASan (SLOD_SANITIZE builds, where every arena allocation is a real malloc) a leak
 * on any of these paths fails the run at exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "promql/engine.h"
#include "promql/promql.h"
#include "test_torture_alloc.h"
#include "tsdb/tsdb.h"

#define T0 1700000000000LL
#define MAX_RUNS 200000UL

static const char *const queries[] = {
	"sum by (job) (rate(http_requests_total{job=~\"api|db\", code!~\"5..\"}[5m])) / on(job) group_left "
	"count(up) > 0.5",
	"histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))",
	"max_over_time(label_replace(http_requests_total, \"x\", \"$1\", \"instance\", \"(.*):.*\")[10m:1m] "
	"offset 1m @ 1700000600)",
	"topk(2, http_requests_total) or on() vector(time()) unless absent(nope{a=\"b\"})",
	"sort_desc(count_values(\"v\", round(http_requests_total / 10)))",
	"label_join(quantile_over_time(0.5, up[10m]), \"j\", \"-\", \"job\", \"instance\")",
	"\"a string\"",
};

static tsdb *open_db(void)
{
	tsdb_options o;
	tsdb_options_default(&o);
	tsdb *db = NULL;
	char err[256];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	assert_non_null(a);
	static const char *const jobs[] = {"api", "db"};
	for (int s = 0; s < 6; s++) {
		char inst[32], code[8];
		snprintf(inst, sizeof inst, "host%d:9100", s);
		snprintf(code, sizeof code, "%d", s % 3 == 0 ? 500 : 200);
		slod_label l1[] = {{"__name__", "http_requests_total"}, {"code", code}, {"instance", inst},
				   {"job", jobs[s % 2]}};
		slod_label l2[] = {{"__name__", "up"}, {"instance", inst}, {"job", jobs[s % 2]}};
		char le[16];
		snprintf(le, sizeof le, "%g", s == 5 ? INFINITY : 0.1 * (s + 1));
		if (s == 5)
			snprintf(le, sizeof le, "+Inf");
		slod_label l3[] = {{"__name__", "lat_bucket"}, {"le", le}};
		slod_labels ls1 = {l1, 4}, ls2 = {l2, 3}, ls3 = {l3, 2};
		for (int k = 0; k < 60; k++) {
			int64_t t = T0 + k * 15000;
			assert_int_equal(tsdb_appender_add(a, &ls1, t, k * (s + 1), NULL), 0);
			assert_int_equal(tsdb_appender_add(a, &ls2, t, 1, NULL), 0);
			assert_int_equal(tsdb_appender_add(a, &ls3, t, k * (s + 1), NULL), 0);
		}
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	return db;
}

/* Same result shape and values (NaN == NaN). */
static void assert_same(const promql_result *a, const promql_result *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->n_series, b->n_series);
	if (a->type == PROMQL_RESULT_SCALAR)
		assert_true(a->scalar == b->scalar || (isnan(a->scalar) && isnan(b->scalar)));
	if (a->type == PROMQL_RESULT_STRING)
		assert_memory_equal(a->string, b->string, a->string_len);
	for (size_t i = 0; i < a->n_series; i++) {
		assert_true(labels_equal(&a->series[i].labels, &b->series[i].labels));
		assert_int_equal(a->series[i].n_points, b->series[i].n_points);
		for (size_t k = 0; k < a->series[i].n_points; k++) {
			double x = a->series[i].points[k].v, y = b->series[i].points[k].v;
			assert_int_equal(a->series[i].points[k].t, b->series[i].points[k].t);
			assert_true(x == y || (isnan(x) && isnan(y)));
		}
	}
}

static void test_parse_oom(void **state)
{
	(void)state;
	for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
		const char *q = queries[qi];
		unsigned long n;
		for (n = 1; n < MAX_RUNS; n++) {
			promql_expr *e = NULL;
			promql_error err;
			torture_fail_nth(n);
			int rc = promql_parse(q, strlen(q), NULL, &e, &err);
			bool failed = torture_disarm();
			if (!failed) {
				assert_int_equal(rc, 0);
				promql_expr_free(e);
				break;
			}
			if (rc == 0) { /* the failed allocation had a fallback */
				promql_expr_free(e);
				continue;
			}
			if (rc != PROMQL_ERR_NOMEM)
				print_error("query %zu, allocation %lu failed: rc %d, %s\n", qi, n, rc, err.text);
			assert_int_equal(rc, PROMQL_ERR_NOMEM);
			assert_null(e);
			assert_true(err.text[0] != '\0');
		}
		assert_true(n < MAX_RUNS);
		print_message("parse %zu: %lu allocations failed one by one\n", qi, n - 1);
	}
	/* the selector parser of the metadata routes */
	const char *sel = "{__name__=~\"http_.*\", job!=\"x\", instance=~\"host[0-9]+:.*\"}";
	unsigned long n;
	for (n = 1; n < MAX_RUNS; n++) {
		arena a;
		arena_init(&a, 0);
		tsdb_matcher *m = NULL;
		size_t nm = 0;
		promql_error err;
		torture_fail_nth(n);
		int rc = promql_parse_selector(sel, strlen(sel), &a, &m, &nm, &err);
		bool failed = torture_disarm();
		if (rc == 0)
			assert_int_equal(nm, 3);
		else
			assert_int_equal(rc, PROMQL_ERR_NOMEM);
		arena_deinit(&a);
		if (!failed)
			break;
	}
	assert_true(n < MAX_RUNS);
}

static void run_eval(tsdb *db, promql_engine *eng, const char *q, bool range)
{
	promql_result *ref = range ? promql_query_range(eng, db, q, T0 + 300000, T0 + 840000, 60000, NULL)
				   : promql_query_instant(eng, db, q, T0 + 600000, NULL);
	assert_non_null(ref);
	if (ref->err_type != PROMQL_ERRTYPE_NONE) { /* e.g. a string in a range query */
		promql_result_free(ref);
		return;
	}
	unsigned long n, errors = 0;
	for (n = 1; n < MAX_RUNS; n++) {
		torture_fail_nth(n);
		promql_result *r = range ? promql_query_range(eng, db, q, T0 + 300000, T0 + 840000, 60000, NULL)
					 : promql_query_instant(eng, db, q, T0 + 600000, NULL);
		bool failed = torture_disarm();
		if (r && r->err_type == PROMQL_ERRTYPE_NONE) {
			if (r->type != ref->type || r->n_series != ref->n_series)
				print_error("%s, allocation %lu failed: success with type %d and %zu series, want %d and %zu\n",
					    q, n, r->type, r->n_series, ref->type, ref->n_series);
			assert_same(r, ref);
		} /* success under faults must still be the right answer */
		else if (r) {
			/* out of memory is an internal error, never a wrong parse or execution error */
			if (r->err_type != PROMQL_ERRTYPE_INTERNAL)
				print_error("%s, allocation %lu failed: type %d, %s\n", q, n, r->err_type, r->err);
			assert_int_equal(r->err_type, PROMQL_ERRTYPE_INTERNAL);
			assert_non_null(r->err);
			errors++;
		} else {
			errors++;
		}
		promql_result_free(r);
		if (!failed)
			break;
	}
	assert_true(n < MAX_RUNS);
	print_message("%s %.40s: %lu runs, %lu clean errors\n", range ? "range" : "instant", q, n, errors);
	promql_result_free(ref);
}

static void test_eval_oom(void **state)
{
	(void)state;
	tsdb *db = open_db();
	promql_engine *eng = promql_engine_new(NULL);
	assert_non_null(eng);
	for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
		run_eval(db, eng, queries[qi], false);
		run_eval(db, eng, queries[qi], true);
	}
	promql_engine_free(eng);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_oom),
		cmocka_unit_test(test_eval_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
