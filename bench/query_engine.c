/*
 * query_engine.c — in-process PromQL latency: the queries of bench/run_query.sh evaluated by
 * slod's engine directly on an in-memory TSDB, without HTTP or JSON. It is the quick loop for
 * engine work (a few seconds to load instead of a minute of remote-write); run_query.sh remains
 * the measurement that is reported, side by side with Prometheus and VictoriaMetrics.
 *
 * Usage: query_engine [-n SERIES] [-s STEPS] [-r RUNS] [-q QUERY_ID] [-e EXPR]
 *
 * Data: rwgen's model of SERIES series (default 100,000), STEPS samples (default 360) at 60 s
 * spacing, 7.001 s off the minute grid, ending at `now`; plus 30 days of series 0 at 30 s before
 * that (as run_query.sh). Queries (T = a 15 s grid point ~30 s after the newest sample):
 *   q1 sum by (code) (rate(http_requests_total[5m])) at T
 *   q2 the same over T-6h..T, step 15 s
 *   q3 histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) at T
 *   q4 sum_over_time(series0[30d]) at T
 *   -e EXPR adds a query "qx": EXPR instant at T and "qxr": EXPR over the same range as q2
 * Output: per query the median and minimum wall milliseconds over RUNS runs, the number of
 * result series and points, and a checksum of the values (to compare builds).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/rwgen.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int to_labels(const rwgen_label *in, int n, slod_label *out)
{
	for (int k = 0; k < n; k++) {
		out[k].name = in[k].name;
		out[k].value = in[k].value;
	}
	return n;
}

static int load(tsdb *db, const rwgen_model *m, uint32_t steps, int64_t first_ms, char *s0_sel, size_t s0_cap)
{
	rwgen_values vs;
	if (rwgen_values_init(&vs, m) < 0)
		return -1;
	tsdb_ref *refs = calloc(m->n_series, sizeof *refs);
	rwgen_label rl[RWGEN_MAX_LABELS + 2];
	slod_label sl[RWGEN_MAX_LABELS + 2];
	int rc = -1;
	if (!refs)
		goto out;
	/* 30 days of series 0 at 30 s, ending one step before the load */
	int nl = rwgen_model_labels(m, 0, rl, RWGEN_MAX_LABELS + 2);
	if (nl < 0)
		goto out;
	size_t off = 0;
	off += (size_t)snprintf(s0_sel + off, s0_cap - off, "%s{", rl[0].value);
	for (int k = 1; k < nl; k++)
		off += (size_t)snprintf(s0_sel + off, s0_cap - off, "%s%s=\"%s\"", k > 1 ? "," : "", rl[k].name,
					rl[k].value);
	snprintf(s0_sel + off, s0_cap - off, "}");
	{
		slod_labels ls = {sl, (size_t)to_labels(rl, nl, sl)};
		tsdb_appender *a = tsdb_appender_new(db);
		tsdb_ref ref = 0;
		double v = 0;
		for (int64_t t = first_ms - 30LL * 86400000; t < first_ms; t += 30000) {
			v += 1.5;
			if ((ref ? tsdb_appender_add_ref(a, ref, t, v) : tsdb_appender_add(a, &ls, t, v, &ref)) < 0)
				goto out;
		}
		if (tsdb_appender_commit(a) < 0)
			goto out;
		tsdb_appender_free(a);
	}
	for (uint32_t t = 0; t < steps; t++) {
		tsdb_appender *a = tsdb_appender_new(db);
		int64_t ts = first_ms + (int64_t)t * 60000;
		for (size_t i = 0; i < m->n_series; i++) {
			double v = rwgen_values_next(&vs, m, i, t);
			if (refs[i]) {
				if (tsdb_appender_add_ref(a, refs[i], ts, v) < 0)
					goto out;
				continue;
			}
			nl = rwgen_model_labels(m, i, rl, RWGEN_MAX_LABELS + 2);
			slod_labels ls = {sl, (size_t)to_labels(rl, nl, sl)};
			if (tsdb_appender_add(a, &ls, ts, v, &refs[i]) < 0)
				goto out;
		}
		if (tsdb_appender_commit(a) < 0)
			goto out;
		tsdb_appender_free(a);
	}
	rc = 0;
out:
	free(refs);
	rwgen_values_deinit(&vs);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n_series = 100000;
	uint32_t steps = 360;
	int runs = 5;
	const char *only = NULL, *extra = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "n:s:r:q:e:")) != -1) {
		switch (opt) {
		case 'n': n_series = strtoul(optarg, NULL, 10); break;
		case 's': steps = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': runs = atoi(optarg); break;
		case 'q': only = optarg; break;
		case 'e': extra = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-n SERIES] [-s STEPS] [-r RUNS] [-q QUERY_ID] [-e EXPR]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > 1000)
		runs = 5;
	rwgen_model m;
	if (rwgen_model_init(&m, n_series, 42, RWGEN_ONLY_ALL) < 0) {
		fprintf(stderr, "model: out of memory\n");
		return 1;
	}
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 0;
	tsdb *db = NULL;
	char err[256];
	if (tsdb_open(&o, &db, err, sizeof err) < 0) {
		fprintf(stderr, "tsdb: %s\n", err);
		return 1;
	}
	int64_t now = (int64_t)time(NULL) * 1000;
	int64_t first = (now - (int64_t)steps * 60000) / 60000 * 60000 + 7001;
	char s0[1024];
	double t0 = wall_ms();
	if (load(db, &m, steps, first, s0, sizeof s0) < 0) {
		fprintf(stderr, "load failed\n");
		return 1;
	}
	int64_t newest = first + (int64_t)(steps - 1) * 60000;
	int64_t T = (newest + 30000) / 15000 * 15000;
	fprintf(stderr, "loaded %zu series x %u samples in %.0f ms\n", n_series, steps, wall_ms() - t0);

	char q4[1200];
	snprintf(q4, sizeof q4, "sum_over_time(%s[30d])", s0);
	struct {
		const char *id, *q;
		bool range;
	} qs[] = {
		{"q1", "sum by (code) (rate(http_requests_total[5m]))", false},
		{"q2", "sum by (code) (rate(http_requests_total[5m]))", true},
		{"q3", "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", false},
		{"q4", q4, false},
		{"qx", extra, false},
		{"qxr", extra, true},
	};
	promql_engine *e = promql_engine_new(NULL);
	double *ms = calloc((size_t)runs, sizeof *ms);
	for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
		if ((only && strcmp(only, qs[k].id) != 0) || !qs[k].q)
			continue;
		size_t ns = 0, np = 0;
		double sum = 0;
		for (int r = 0; r < runs; r++) {
			double a = wall_ms();
			promql_result *res = qs[k].range ? promql_query_range(e, db, qs[k].q, T - 6 * 3600000LL, T, 15000, NULL)
							 : promql_query_instant(e, db, qs[k].q, T, NULL);
			ms[r] = wall_ms() - a;
			if (res->err) {
				fprintf(stderr, "%s: %s\n", qs[k].id, res->err);
				return 1;
			}
			ns = res->n_series;
			np = 0;
			sum = 0;
			for (size_t i = 0; i < res->n_series; i++)
				for (size_t j = 0; j < res->series[i].n_points; j++, np++)
					if (isfinite(res->series[i].points[j].v))
						sum += res->series[i].points[j].v;
			promql_result_free(res);
		}
		qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
		printf("%s median %.2f ms  min %.2f ms  series %zu points %zu checksum %.17g\n", qs[k].id,
		       ms[runs / 2], ms[0], ns, np, sum);
	}
	free(ms);
	promql_engine_free(e);
	tsdb_close(db);
	rwgen_model_deinit(&m);
	return 0;
}
