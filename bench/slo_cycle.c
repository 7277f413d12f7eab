/*
 * slo_cycle.c — CPU cost of one SLO evaluation cycle: N Sloth-shaped SLOs (30d period, 8 recorded
 * windows, page + ticket alerts) on synthetic data, evaluated by the rules manager (all 3·N rule
 * groups once) and then by the slo engine (window reads, bucket rings, alert states, snapshot).
 *
 * Usage: slo_cycle [-n SLOS] [-d HISTORY_DAYS] [-i SCRAPE_SECONDS] [-c CYCLES] [-m exact|sloth]
 *                  [-f FAST_MIN_WINDOW_SECONDS (0: default 1h, -1: fast path off)]
 *                  [-s REBUILD_SLICE_SECONDS (0: default 1 day, -1: no slicing)]
 *
 * Data: per SLO two counters, req_total{slo="i"} (10 req/s) and req_errors_total{slo="i"}
 * (0.1% errors with a per-SLO phase of 1%-error bursts), scraped every -i seconds for -d days;
 * plus the slo:sli_error:ratio_rate5m history the 30d Sloth rule averages (what the rules would
 * have recorded every 30 s), so the first measured cycle already reads a full period.
 *
 * Output (one line per phase, CPU seconds from CLOCK_PROCESS_CPUTIME_ID; the program is
 * single-threaded: the manual clock drives rules_manager_tick and slo_engine_evaluate):
 *   load        appending the synthetic history
 *   startup     slo_engine_new + first slo_engine_evaluate (ring rebuild over the period)
 *   cycle k     rules=<s> slo=<s> total=<s>
 *   rss         VmRSS / VmHWM (peak) of the process in MiB at each phase; the peak is reset
 *               (echo 5 > /proc/self/clear_refs) after the history load, so the "startup" peak is the
 *               SLO engine's start-up alone (compile + first evaluation), not the data load.
 *   stats       the engine's slo_engine_get_stats after start-up: steady-state bytes (rings and
 *               summaries), scratch held, the most samples one history read held, the most steps
 *               one bucket range query spanned (-s sets the slice those are bounded by).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "promql/engine.h"
#include "rules/rules.h"
#include "slo/eval.h"
#include "slo/slo.h"
#include "tsdb/tsdb.h"
#include "util/buf.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS and VmHWM of this process in MiB (-1 when /proc is not readable). */
static void rss_mib(double *rss, double *hwm)
{
	*rss = *hwm = -1;
	FILE *fp = fopen("/proc/self/status", "r");
	if (!fp)
		return;
	char line[256];
	while (fgets(line, sizeof line, fp)) {
		long kb;
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			*rss = (double)kb / 1024.0;
		else if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			*hwm = (double)kb / 1024.0;
	}
	fclose(fp);
}

static void rss_print(const char *phase)
{
	double rss, hwm;
	rss_mib(&rss, &hwm);
	printf("rss %s: VmRSS %.0f MiB, peak (VmHWM) %.0f MiB\n", phase, rss, hwm);
	fflush(stdout);
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); returns false when not possible. */
static bool rss_reset_peak(void)
{
	FILE *fp = fopen("/proc/self/clear_refs", "w");
	if (!fp)
		return false;
	bool ok = fputs("5", fp) >= 0;
	return fclose(fp) == 0 && ok;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct gen {
	size_t n;
	tsdb_ref *tot_ref, *err_ref, *rec_ref;
	double *tot, *err;
	char (*ids)[32];
} gen;

static double err_rate(size_t i, int64_t t_s)
{
	/* 0.05% errors; a 10-minute 1% burst every ~6 hours, phase-shifted per SLO */
	int64_t ph = (t_s + (int64_t)i * 977) % 21600;
	return ph < 600 ? 0.1 : 0.005;
}

static int append_step(tsdb *db, gen *g, int64_t t_ms, int64_t step_s, bool with_rec)
{
	tsdb_appender *a = tsdb_appender_new(db);
	if (!a)
		return -1;
	char slo[24];
	for (size_t i = 0; i < g->n; i++) {
		g->tot[i] += 10.0 * (double)step_s;
		g->err[i] += err_rate(i, t_ms / 1000) * (double)step_s;
		snprintf(slo, sizeof slo, "%zu", i);
		if (!g->tot_ref[i]) {
			slod_label lt[2] = {{SLOD_METRIC_NAME, "req_total"}, {"slo", slo}};
			slod_label le[2] = {{SLOD_METRIC_NAME, "req_errors_total"}, {"slo", slo}};
			slod_labels ls_t = {lt, 2}, ls_e = {le, 2};
			if (tsdb_appender_add(a, &ls_t, t_ms, g->tot[i], &g->tot_ref[i]) < 0 ||
			    tsdb_appender_add(a, &ls_e, t_ms, g->err[i], &g->err_ref[i]) < 0)
				goto fail;
		} else if (tsdb_appender_add_ref(a, g->tot_ref[i], t_ms, g->tot[i]) < 0 ||
			   tsdb_appender_add_ref(a, g->err_ref[i], t_ms, g->err[i]) < 0) {
			goto fail;
		}
		if (!with_rec)
			continue;
		/* the recorded 5m ratio, with the labels the Sloth rule writes */
		double r = err_rate(i, t_ms / 1000) / 10.0;
		if (!g->rec_ref[i]) {
			slod_label lr[5] = {{SLOD_METRIC_NAME, "slo:sli_error:ratio_rate5m"},
					    {"sloth_id", g->ids[i]},
					    {"sloth_service", "svc"},
					    {"sloth_slo", g->ids[i] + 4},
					    {"sloth_window", "5m"}};
			slod_labels ls = {lr, 5};
			if (tsdb_appender_add(a, &ls, t_ms, r, &g->rec_ref[i]) < 0)
				goto fail;
		} else if (tsdb_appender_add_ref(a, g->rec_ref[i], t_ms, r) < 0) {
			goto fail;
		}
	}
	int rc = tsdb_appender_commit(a);
	tsdb_appender_free(a);
	return rc;
fail:
	tsdb_appender_free(a);
	return -1;
}

static char *write_specs(size_t n)
{
	static char path[128];
	snprintf(path, sizeof path, "/tmp/slo_cycle_%d.yaml", (int)getpid());
	FILE *fp = fopen(path, "w");
	if (!fp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i % 100 == 0)
			fprintf(fp, "%sversion: \"prometheus/v1\"\nservice: \"svc\"\nslos:\n",
				i ? "---\n" : "");
		fprintf(fp,
			"  - name: \"s%zu\"\n"
			"    objective: 99.9\n"
			"    sli:\n"
			"      events:\n"
			"        error_query: sum(rate(req_errors_total{slo=\"%zu\"}[{{.window}}]))\n"
			"        total_query: sum(rate(req_total{slo=\"%zu\"}[{{.window}}]))\n"
			"    alerting:\n"
			"      name: Bench%zu\n",
			i, i, i, i);
	}
	fclose(fp);
	return path;
}

int main(int argc, char **argv)
{
	size_t n = 1000;
	int days = 30, scrape = 30, cycles = 5;
	int64_t fast_min = 0, slice_ms = 0;
	slo_eval_method method = SLO_EVAL_EXACT;
	int c;
	while ((c = getopt(argc, argv, "n:d:i:c:m:f:s:")) != -1) {
		switch (c) {
		case 'n': n = (size_t)atol(optarg); break;
		case 'd': days = atoi(optarg); break;
		case 'i': scrape = atoi(optarg); break;
		case 'c': cycles = atoi(optarg); break;
		case 'f': fast_min = atoll(optarg) * 1000; break;
		case 's': slice_ms = atoll(optarg) * 1000; break;
		case 'm':
			if (slo_eval_method_parse(optarg, &method) != 0) {
				fprintf(stderr, "bad -m\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: %s [-n slos] [-d days] [-i scrape_s] [-c cycles] [-m exact|sloth] [-f fast_min_s] [-s rebuild_slice_s]\n", argv[0]);
			return 2;
		}
	}
	char err[4096];
	int64_t now = 1700000000000LL / 300000 * 300000;
	slod_clock clk = slod_clock_manual(&now);
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	tsdb *db;
	if (tsdb_open(&to, &db, err, sizeof err) != 0) {
		fprintf(stderr, "tsdb: %s\n", err);
		return 1;
	}
	promql_engine *pe = promql_engine_new(NULL);
	rules_options ro = {.db = db, .engine = pe, .default_interval_ms = 30000, .clock = clk};
	rules_manager *rm;
	if (!pe || rules_manager_new(&ro, &rm, err, sizeof err) != 0) {
		fprintf(stderr, "rules: %s\n", err);
		return 1;
	}
	gen g = {.n = n};
	g.tot_ref = calloc(n, sizeof(tsdb_ref));
	g.err_ref = calloc(n, sizeof(tsdb_ref));
	g.rec_ref = calloc(n, sizeof(tsdb_ref));
	g.tot = calloc(n, sizeof(double));
	g.err = calloc(n, sizeof(double));
	g.ids = calloc(n, sizeof(*g.ids));
	for (size_t i = 0; i < n; i++) {
		snprintf(g.ids[i], sizeof g.ids[i], "svc-s%zu", i);
		g.tot[i] = 1e6;
		g.err[i] = 1e3;
	}

	/* history */
	double c0 = cpu_s(), w0 = wall_s();
	int64_t start = now - (int64_t)days * 86400000;
	for (int64_t t = start; t <= now; t += (int64_t)scrape * 1000)
		if (append_step(db, &g, t, scrape, (t - start) % 30000 == 0) != 0) {
			fprintf(stderr, "append failed at %lld\n", (long long)t);
			return 1;
		}
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	printf("load: %zu SLOs, %d days @ %ds: %llu samples, %llu series, %.1f MiB chunks, cpu %.2fs wall %.2fs\n", n,
	       days, scrape, (unsigned long long)st.samples_appended, (unsigned long long)st.series,
	       (double)st.chunk_bytes / 1048576.0, cpu_s() - c0, wall_s() - w0);
	rss_print("after load");
	if (!rss_reset_peak())
		printf("rss: cannot reset the peak (/proc/self/clear_refs); later peaks include the load\n");

	/* SLOs */
	const char *path = write_specs(n);
	slo_set *set = slo_set_new();
	if (!path || slo_load_path(set, path) != 0) {
		fprintf(stderr, "cannot load the generated specs\n");
		return 1;
	}
	slo_gen_options go = {0};
	if (slo_validate(set, &go) != 0) {
		const slo_diag *d;
		size_t nd = slo_set_diags(set, &d);
		for (size_t i = 0; i < nd && i < 5; i++) {
			slo_diag_format(&d[i], err, sizeof err);
			fprintf(stderr, "%s\n", err);
		}
		return 1;
	}
	c0 = cpu_s();
	slo_engine_options eo = {.set = set, .method = method, .rules = rm, .db = db, .engine = pe, .clock = clk,
				 .fast_min_window_ms = fast_min, .rebuild_slice_ms = slice_ms < 0 ? -1 : slice_ms};
	slo_engine *e;
	if (slo_engine_new(&eo, &e, err, sizeof err) != 0) {
		fprintf(stderr, "slo engine: %s\n", err);
		return 1;
	}
	double c_new = cpu_s() - c0;
	rss_print("after compile");
	c0 = cpu_s();
	w0 = wall_s();
	slo_engine_evaluate(e);
	printf("startup: compile+hand-over %.3fs, first evaluation (ring rebuild over %dd) %.3fs (wall %.3fs), "
	       "%zu rule groups, %zu rules on the fast path\n",
	       c_new, days, cpu_s() - c0, wall_s() - w0, slo_engine_n_groups(e), slo_engine_n_fast_rules(e));
	rss_print("after startup");
	{
		slo_engine_stats es;
		slo_engine_get_stats(e, &es);
		printf("stats: state %.1f MiB, scratch %.2f MiB, rebuild slice %llds: at most %zu samples per read, "
		       "%lld steps per range query\n",
		       (double)es.state_bytes / 1048576.0, (double)es.scratch_bytes / 1048576.0,
		       (long long)(es.rebuild_slice_ms / 1000), es.max_read_samples, (long long)es.max_query_steps);
	}

	double best_rules = 1e9, best_slo = 1e9, sum_rules = 0, sum_slo = 0;
	for (int k = 0; k <= cycles; k++) {
		int64_t next = now + 30000;
		for (int64_t t = now + (int64_t)scrape * 1000; t <= next; t += (int64_t)scrape * 1000)
			append_step(db, &g, t, scrape, true);
		now = next;
		double a = cpu_s();
		int groups = rules_manager_tick(rm);
		double b = cpu_s();
		slo_engine_evaluate(e);
		double d = cpu_s();
		if (k == 0) { /* warm-up: the first tick evaluates every group for the first time */
			printf("warm-up cycle: rules=%.3fs (%d group evaluations) slo=%.3fs\n", b - a, groups, d - b);
			continue;
		}
		printf("cycle %d: rules=%.3fs (%d group evaluations) slo=%.4fs total=%.3fs\n", k, b - a, groups, d - b,
		       d - a);
		sum_rules += b - a;
		sum_slo += d - b;
		if (b - a < best_rules)
			best_rules = b - a;
		if (d - b < best_slo)
			best_slo = d - b;
	}
	{
		/* one part of the slo engine's cycle, for the record: the rules snapshot (alert states) */
		rules_snapshot rs;
		double a = cpu_s();
		if (rules_manager_snapshot(rm, &rs) == 0) {
			double b = cpu_s();
			printf("rules_manager_snapshot: %.4fs (%zu groups)\n", b - a, rs.n_groups);
			rules_snapshot_free(&rs);
		}
	}
	if (cycles > 0)
		printf("mean over %d cycles: rules=%.3fs slo=%.4fs total=%.3fs CPU per 30 s cycle (%zu SLOs)\n", cycles,
		       sum_rules / cycles, sum_slo / cycles, (sum_rules + sum_slo) / cycles, n);
	rss_print("after cycles");
	slo_snapshot *s = slo_engine_acquire(e);
	if (s && s->n_slos) {
		const slo_status *x = &s->slos[0];
		printf("sample: %s 5m=%.6g 3d=%.6g period(%s)=%.6g sloth=%.6g remaining=%.4f\n", x->id,
		       x->windows[0].error_ratio, x->windows[x->n_windows - 1].error_ratio, slo_eval_method_name(x->method),
		       x->period_error_ratio, x->sloth_error_ratio, x->remaining);
	}
	slo_snapshot_release(s);
	slo_engine_free(e);
	rules_manager_free(rm);
	slo_set_free(set);
	unlink(path);
	promql_engine_free(pe);
	tsdb_close(db);
	free(g.tot_ref);
	free(g.err_ref);
	free(g.rec_ref);
	free(g.tot);
	free(g.err);
	free(g.ids);
	return 0;
}
